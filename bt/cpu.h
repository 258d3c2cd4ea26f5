/* Guest IA-32 CPU state: the one struct shared by the translator (bt/) and
 * the monitor (vmm/). Translated code reaches it through a host register,
 * so the hot fields sit first and their offsets are taken with offsetof. */
#ifndef TPVM_BT_CPU_H
#define TPVM_BT_CPU_H

#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>

enum { R_EAX, R_ECX, R_EDX, R_EBX, R_ESP, R_EBP, R_ESI, R_EDI };
enum { S_ES, S_CS, S_SS, S_DS, S_FS, S_GS, S_LDTR, S_TR, S_COUNT };

/* EFLAGS bits. */
#define FL_CF 0x0001u
#define FL_PF 0x0004u
#define FL_AF 0x0010u
#define FL_ZF 0x0040u
#define FL_SF 0x0080u
#define FL_TF 0x0100u
#define FL_IF 0x0200u
#define FL_DF 0x0400u
#define FL_OF 0x0800u
#define FL_IOPL 0x3000u
#define FL_NT 0x4000u
#define FL_RF 0x10000u
#define FL_VM 0x20000u
#define FL_AC 0x40000u
#define FL_ID 0x200000u
#define FL_ARITH (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)

/* CR0 / CR4 bits that matter to translation and paging. */
#define CR0_PE 0x00000001u
#define CR0_MP 0x00000002u
#define CR0_EM 0x00000004u
#define CR0_TS 0x00000008u
#define CR0_ET 0x00000010u
#define CR0_NE 0x00000020u
#define CR0_WP 0x00010000u
#define CR0_AM 0x00040000u
#define CR0_NW 0x20000000u
#define CR0_CD 0x40000000u
#define CR0_PG 0x80000000u
#define CR4_VME 0x0001u
#define CR4_PVI 0x0002u
#define CR4_TSD 0x0004u
#define CR4_DE 0x0008u
#define CR4_PSE 0x0010u
#define CR4_PAE 0x0020u
#define CR4_PGE 0x0080u
#define CR4_OSFXSR 0x0200u
#define CR4_OSXMMEXCPT 0x0400u

/* Exception vectors. */
enum {
    EXC_DE = 0, EXC_DB = 1, EXC_NMI = 2, EXC_BP = 3, EXC_OF = 4, EXC_BR = 5,
    EXC_UD = 6, EXC_NM = 7, EXC_DF = 8, EXC_TS = 10, EXC_NP = 11, EXC_SS = 12,
    EXC_GP = 13, EXC_PF = 14, EXC_MF = 16, EXC_AC = 17, EXC_MC = 18, EXC_XM = 19,
};

/* Soft TLB: direct mapped, indexed by linear page number & TLB_MASK
 * (the low 16 bits: 256 MiB of reach). Fills are logged so a flush resets
 * only the entries in use.
 * Tags hold the *negated* page number (or TLB_TAG_INVALID) so translated
 * code can compare without touching host EFLAGS (lea + jrcxz); see
 * bt/emit_mem.c for the probe sequence. addend = host pointer - linear. */
#define TLB_BITS 16
#define TLB_SIZE (1u << TLB_BITS)
#define TLB_MASK (TLB_SIZE - 1)
#define TLB_LOG_SIZE 16384
#define TLB_LOG_GLOBAL 0x80000000u /* in tlb_log/jc_log: a global page */
#define TLB_TAG_INVALID 0x00100000u /* never the negation of a 20-bit page */

/* Indirect-branch cache: guest EIP -> host code, probed inline. */
#define JC_BITS 16 /* index = low 16 bits of the guest EIP (movzx) */
#define JC_SIZE (1u << JC_BITS)
#define JC_LOG_SIZE (2 * JC_SIZE) /* each (half, index) is logged once */
#define JC_PAGE_LOG 65536         /* linear code pages noted for INVLPG */

/* With bt_cpu_alloc(), guest-physical 0 sits at this offset from the
 * struct cpu, followed by a reservation covering all 4 GiB: paging-off
 * code then addresses guest memory as [r15 + linear + BT_RAM_OFFSET]. */
#define BT_RAM_OFFSET (8u << 20)
/* The reservation goes on this far past 4 GiB, inaccessible: an access
 * [reg + disp] with |disp| < BT_FOLD_MAX computed in 64 bits lands there
 * when the guest's 32-bit sum wraps past 4 GiB, or (disp < 0) below guest
 * address 0, between the struct cpu and BT_RAM_OFFSET (inaccessible too),
 * and faults to its slow path like an access beyond RAM. */
#define BT_GUARD_SIZE (1u << 20)
#define BT_FOLD_MAX (BT_GUARD_SIZE / 2)

struct seg {
    uint32_t base;
    uint32_t limit;    /* byte granular, already scaled by G */
    uint32_t attr;     /* descriptor bits 40..55 (type, S, DPL, P, AVL, D/B, G) >> 8 */
    uint16_t sel;
    uint16_t pad;
};

struct dtr {
    uint32_t base;
    uint32_t limit;
};

/* Segment-load cache: data-segment loads into DS, ES, FS or GS that
 * succeeded at CPL 0 (half 0) or CPL 3 (half 1), indexed by the low byte
 * of the selector. Translated code (bt/xlate_seg.c) reuses an entry when
 * the same selector is loaded again, the descriptor table (base and
 * limit) is the same and the 8 descriptor bytes in guest memory, read
 * through the soft TLB, still equal the cached ones (with the accessed
 * bit set, so the CPU would write nothing). Only loads that keep the
 * translation mode are cached: present, limit 4 GiB, expand-up. Arrays
 * rather than records, so code indexes each with a scaled register; the
 * compared fields are negated (lea + jrcxz); a zero key is an empty
 * entry. Filled by seg_load (bt/cpu_desc.c). */
#define SEGC_SIZE 256
struct segc {
    uint32_t neg_key[SEGC_SIZE];   /* -(selector + 1); 0 when empty */
    uint32_t table_off[SEGC_SIZE]; /* offsetof(struct cpu, gdtr or seg[S_LDTR]) */
    uint32_t desc_lin[SEGC_SIZE];  /* linear address of the descriptor */
    uint64_t neg_table[SEGC_SIZE]; /* -(table base | limit << 32) */
    uint64_t neg_desc[SEGC_SIZE];  /* -(descriptor, accessed bit set) */
    uint64_t seg_lo[SEGC_SIZE];    /* the struct seg the load sets: base, limit */
    uint64_t seg_hi[SEGC_SIZE];    /* attr, sel, pad */
};

/* x87/SSE state in FXSAVE layout, kept by the host FPU format. */
struct fpu_state {
    uint8_t fx[512] __attribute__((aligned(16)));
};

struct bt_host;  /* callbacks into the monitor, bt/bt.h */
struct bt;       /* the translator instance, opaque */

struct cpu {
    /* ---- hot: touched by translated code ---- */
    uint32_t run;                  /* 0 = leave translated code at next block entry */
    uint32_t irq_pending;          /* set by the monitor: the PIC's INTR line */
    struct tlb {
        int32_t rtag[TLB_SIZE];    /* -(page) for readable entries */
        int32_t wtag[TLB_SIZE];    /* -(page) for writable, dirty, code-free */
        uint64_t addend[TLB_SIZE]; /* host - linear */
    } tlb[2];                      /* [0] supervisor accesses, [1] CPL 3 */
    uint32_t tlb_log_n;            /* entries filled since the last flush */
    uint32_t tlb_log_global;       /* this many first entries are global (flush_nonglobal kept them) */
    uint32_t tlb_log[TLB_LOG_SIZE];/* (half << 16) | index of each fill */
    struct jc {
        int64_t tag[JC_SIZE];      /* -(eip), or 1 when empty */
        uint64_t code[JC_SIZE];    /* host entry of that block */
    } jc[2];                       /* [0] CPL 0-2 blocks, [1] CPL 3 blocks */
    /* Branch-cache bookkeeping, so that clears touch only filled
     * entries: one log for entries of global code (kept across CR3
     * loads), one for the rest; each (half << 16) | index at most once
     * per log (jc_logged bits 0 and 1 say which logs hold it). */
    uint32_t jc_nlog_n, jc_glog_n;
    uint32_t jc_nlog[JC_LOG_SIZE];
    uint32_t jc_glog[JC_LOG_SIZE];
    uint8_t jc_logged[2][JC_SIZE];
    /* Linear pages that may have entries (bitmap plus a log of set
     * bits), so INVLPG of a page without code costs one bit test. */
    uint8_t jc_page_bits[(1u << 20) / 8];
    uint32_t jc_pages_n;           /* > JC_PAGE_LOG: log overflowed */
    uint32_t jc_pages[JC_PAGE_LOG];

    struct segc segc[2];           /* [0] CPL 0 loads, [1] CPL 3 */

    /* guest registers; live in host registers while translated code runs */
    uint32_t regs[8];
    uint32_t eip;
    uint32_t eflags;               /* full image, authoritative outside bt_run() */
    uint32_t df;                   /* bt/ internal: DF as 0/1 while code runs */
    uint32_t if_flag;              /* bt/ internal: IF (0 or FL_IF) while code runs */

    /* ---- system state ---- */
    struct seg seg[S_COUNT];
    struct dtr gdtr, idtr;
    uint32_t cr0, cr2, cr3, cr4;
    uint32_t dr[8];
    uint32_t cpl;
    uint32_t a20_mask;             /* 0xffffffff or ~0x100000 */
    uint64_t tsc_offset;
    /* Host time spent translating, hidden from the guest: its TSC (via
     * tsc_offset) and the monitor's device clock stop meanwhile, so the
     * first run of new code costs it no guest time. Written by the CPU
     * thread, read by the monitor's timer thread (atomics). */
    uint64_t paused_ns;
    uint32_t sysenter_cs, sysenter_esp, sysenter_eip;
    uint32_t inhibit_irq;          /* STI / MOV SS shadow: one instruction */
    uint32_t unfuse_steps;         /* replay a fused PUSH/POP run one by one */
    uint32_t db_pending;           /* DR6 B0-B3 bits hit by data accesses */
    bool fetch_global;             /* bt/: last code fetch was a global page */
    uint64_t apic_base;
    struct fpu_state fpu;

    /* ---- where translated code and helpers leave to ---- */
    jmp_buf exit_jmp;
    int exit_reason;               /* enum bt_exit */
    int exc_vector;                /* pending exception, -1 if none */
    uint32_t exc_error;            /* error code, if the vector takes one */
    bool exc_has_error;
    bool exc_soft;                 /* INT n / INT3 / INTO: eip is past it */
    uint32_t exc_eip;              /* EIP of the instruction that raised it */
    uint64_t host_rsp;             /* host stack at block entry (for helpers) */

    /* ---- bt/ scratch ---- */
    uint64_t chain_from;           /* struct exit * of the direct exit taken */
    uint64_t resume_code;          /* set by a helper: continue there */
    uint32_t smc_hit;              /* a write invalidated translated code */
    uint32_t bounce_pending;       /* slow path handed out the bounce buffer */
    uint32_t bounce_lin, bounce_acc;
    uint8_t bounce[64];            /* PUSHA/POPA frames, stack runs */
    uint64_t movs_dst;             /* REP MOVS's inline path parks its host
                                    * destination here */
    uint64_t save_r8;              /* translated-code scratch across C calls */
    uint64_t helper_fn;
    uint32_t helper_arg, helper_next;
    uint32_t slow_lin, slow_acc;
    uint32_t sys_lin;              /* memory operand of a system instruction */
    uint32_t sys_imm;              /* far pointer offset / immediate */
    uint32_t sys_sel;              /* far pointer selector */
    uint64_t n_helper_calls;

    /* guest physical memory (RAM only; everything else is dispatched) */
    uint8_t *ram;
    uint32_t ram_size;
    bool ram_direct;               /* ram == (uint8_t *)cpu + BT_RAM_OFFSET,
                                      inside a 4 GiB reservation */

    const struct bt_host *host;
    struct bt *bt;
};

#endif
