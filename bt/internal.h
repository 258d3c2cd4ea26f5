/* Private layout of the translator: blocks, exits, the code cache and the
 * register convention of translated code. Only bt/ includes this. */
#ifndef TPVM_BT_INTERNAL_H
#define TPVM_BT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bt/bt.h"
#include "bt/runtime.h"

/*
 * Register convention inside translated code (host x86-64):
 *   guest EAX EDX EBX EBP ESI EDI live in host rax rdx rbx rbp rsi rdi,
 *   guest ECX lives in r12 and guest ESP in r14, so that host rcx is free
 *   for the flag-free compares (lea + jrcxz) of the TLB probe, the branch
 *   cache and the exit check, and rsp stays the host stack.
 *   r15 = struct cpu *, r13 = 12 (shift count for shrx). rcx r9 r10 r11
 *   are scratch; r8 carries a value across a second memory access and is
 *   preserved across C calls.
 *   Guest arithmetic flags live in host EFLAGS, across chained blocks too;
 *   nothing on a fast path touches host EFLAGS. Guest DF and IF live in
 *   cpu->df and cpu->if_flag (host DF stays clear for C), so CLI/STI/CLD
 *   are single flag-free stores; the exits merge them into cpu->eflags.
 *   Host rsp is 16-byte aligned in translated code.
 */

#define BT_MAX_BLOCK_INSNS 64
#define BT_MAX_EXITS 4

struct block;

/* One direct exit of a block: a patchable jmp/jcc rel32. */
struct exit {
    uint8_t *patch;        /* address of the rel32 field */
    uint8_t *stub;         /* out-of-line stub that leaves to the dispatcher */
    uint32_t target_eip;
    struct block *target;  /* chained block, or NULL */
    struct exit *next_in;  /* next exit chained into the same target */
    struct block *owner;
};

struct block {
    /* the lookup's fields first: a walk of a hash chain reads one cache
     * line per block */
    struct block *hash_next;
    uint32_t eip;          /* guest linear start */
    uint32_t phys;         /* guest physical of eip */
    uint32_t phys_last;    /* physical page of the last byte, may differ */
    uint32_t mode;         /* translation-relevant mode bits (see bt_mode) */
    uint32_t guest_len;    /* guest bytes covered */
    bool global;           /* code on a global page (survives CR3 loads) */
    uint8_t *code;         /* host entry point */
    uint8_t *body;         /* past the entry's run check (see cache_chain) */
    uint32_t code_len;
    uint32_t n_insns;
    bool valid;
    struct exit exits[BT_MAX_EXITS];
    int n_exits;
    struct exit *incoming; /* exits of other blocks chained to this one */
    struct block *page_next[2]; /* per physical page lists (first, last page) */
};

/* Mode bits a block is translated under. */
#define MODE_PAGING 0x1u
#define MODE_FLAT 0x2u   /* CS/DS/ES/SS base 0, limit 4 GiB */
#define MODE_CPL3 0x4u
#define MODE_DIRECT 0x8u /* paging off, RAM at r15 + BT_RAM_OFFSET */
#define MODE_CPL0 0x20u /* privileged instructions can be inlined */
#define MODE_FPU_NM 0x10u
/* EFLAGS.TF or DR7 breakpoints: one-instruction blocks, never chained,
 * every access through the C slow path; the run loop raises #DB */
#define MODE_DEBUG 0x80u
#define MODE_TF 0x4000u
#define MODE_FPU_MF 0x8000u
#define MODE_ONE 0x10000u /* one instruction, then back to the run loop */ /* an x87 exception is unmasked: waiting x87 insns check #MF */ /* single-step: #DB (DR6.BS) after each instruction */ /* guest wrote the TSC: RDTSC needs the offset */
/* bits 8..13: segments (S_ES..S_GS) whose limit must be checked: not
 * 4 GiB, expand-down, or unusable (null) */
#define MODE_SEGCHK(s) (0x100u << (s)) /* CR0.TS or CR0.EM: x87/FXSAVE raise #NM (or #UD) */

#define AS_STABLE_REGIONS 8 /* 4 MiB regions a PV switch may skip (softmmu.c) */
#define NO_REGION_SLOTS 1024
#define WMAPPED_MANY 0xffffffffu

struct bt {
    struct bt_config cfg;
    struct cpu *cpu;
    struct bt_stats stats;

    /* code cache */
    uint8_t *cache;
    size_t cache_size;
    uint8_t *cache_ptr;    /* next free byte */
    uint8_t *cache_blocks; /* first byte after the runtime stubs */

    /* fixed routines, emitted at the start of the cache (runtime.c) */
    struct runtime rt;

    /* blocks */
    struct block *blocks;
    size_t blocks_bytes;   /* its mapping (huge-page aligned) */
    size_t n_blocks, max_blocks;
    struct block **hash;
    size_t hash_size;
    struct block **page_blocks; /* per physical page of RAM: blocks on it */
    uint32_t *page_has_code;    /* per physical page: blocks translated on it */
    /* per physical page, the TLB write entries filled for it since it
     * last held code: 0 none, WMAPPED_MANY several, else 1 + the one's
     * (half << 16 | index) (softmmu.c, tlb_protect_code_page) */
    uint32_t *page_wmapped;
    uint32_t n_pages;
    /* the host pages of guest RAM that hold code are write-protected:
     * while paging is off (cache_code_wp_sync) */
    bool code_wp;

    struct tctx *tctx; /* translation scratch */
    struct prefault *prefault; /* helper populating cache and blocks ahead */
    struct as_slot *as_slots; /* saved TLB sets of PV address spaces */
    uint32_t as_clock;
    bool as_dirty; /* a page-table write was reported since the last switch */
    /* the TLB log's first as_stable_n entries stayed at the last PV switch
     * (as_mark: a bit for each); they lie under the directory entries of
     * regions as_stable[] */
    uint32_t as_stable_n, as_stable_regions;
    uint16_t as_stable[AS_STABLE_REGIONS];
    uint8_t *as_mark;
    struct fault_site *sites; /* sorted by address (the cache only grows) */
    size_t n_sites, max_sites;
    uint64_t flush_gen; /* bumped by every cache flush */
    bool flush_pending; /* bt_flush_code() waits for the next dispatch */
    uint32_t cache_optional; /* MODE_OPTIONAL bits of every cached block */
    uint64_t start_tsc, start_ns; /* host TSC rate since start: pauses */
    /* The event being delivered through the IDT (run loop, or a helper
     * delivering INT n itself): a fault meanwhile becomes #DF or a
     * shutdown by the SDM's rules, reported against the first event. */
    struct delivery {
        int vector;               /* being delivered, or -1 */
        int first_vector;         /* for the shutdown diagnosis */
        uint32_t first_error, first_eip;
        bool first_has_error;
        uint32_t restart_eip;     /* EIP to report if delivery faults */
    } dlv;
    void *decoder; /* ZydisDecoder */
    /* EIPs whose frame region could not be served (it straddled a page,
     * or was not plain RAM): translated without a region from then on */
    uint32_t no_region[NO_REGION_SLOTS];
    bool trace_host; /* TPVM_TRACE_HOST=1 with --trace: host code too */
};

/* Access descriptor passed to the slow path (r9d). */
#define ACC_SIZE_MASK 0xffu
#define ACC_WRITE 0x100u    /* the instruction writes */
#define ACC_READ 0x200u     /* the instruction reads */
#define ACC_FETCH 0x400u
#define ACC_DIRECT 0x800u   /* return host - (cpu + BT_RAM_OFFSET) */
#define ACC_SUPER 0x1000u   /* implicit supervisor access (GDT, IDT, TSS) */
/* a fused run (xlate_stack_run.c, xlate_mov_run.c): the slow path
 * serves it when its pages are plain RAM, else replays it unfused */
#define ACC_FUSED 0x2000u
#define ACC_FUSED_N(n) ((uint32_t)(n) << 16)
#define ACC_FUSED_GET_N(acc) (((acc) >> 16) & 0xffu)
/* A fused access that is served only when it lies on one page of RAM:
 * the frame region's probe (xlate_region.c), whose accesses go on
 * through the pointer with other accesses in between, so a bounce copy
 * could miss their writes. Else the region is replayed unfused and its
 * EIP never gets a region again. */
#define ACC_NO_BOUNCE 0x4000u

/* A direct-addressing access in translated code: if its host instruction
 * faults (guard page, write-protected code page), the SIGSEGV handler
 * resumes at the access's slow path. */
struct fault_site {
    uintptr_t start, end; /* host code of the access */
    uintptr_t stub;       /* its slow path */
};

/* Saved TLB and branch-cache entries of one PV address space (softmmu.c).
 * Each remembers the physical address of the page-table entry it came
 * from (leaf: the PTE, or the PDE of a 4 MiB page), so that a reported
 * page-table write drops exactly the entries it makes stale. */
#define AS_SLOTS 8
#define AS_SLOT_ENTRIES 1024
#define AS_SLOT_JC 512
#define AS_SLOT_TABLES 16
struct as_slot {
    uint32_t cr3;       /* directory page | 1; 0: empty */
    uint32_t used;      /* LRU clock */
    uint32_t checked;   /* CR0.PG/WP, CR4.PSE the entries were checked under */
    uint32_t a20_mask;
    uint64_t flush_gen; /* bt->flush_gen when the jc blocks were saved */
    uint32_t n, n_jc;
    uint32_t n_tables;  /* > AS_SLOT_TABLES: too many to list */
    uint32_t tables[AS_SLOT_TABLES]; /* frames holding the leaf entries */
    struct {
        uint32_t logged;
        int32_t rtag, wtag;
        uint32_t leaf;
        uint64_t addend;
    } e[AS_SLOT_ENTRIES];
    struct {
        struct block *b; /* its branch-cache entry: b->eip -> b->code */
        uint32_t leaf;
    } jc[AS_SLOT_JC];
};

/* prefault.c: with bt_config.prefault, a helper thread populates the
 * code cache and the block array a few MiB ahead of the translator */
enum { PREFAULT_CODE, PREFAULT_BLOCKS, PREFAULT_AREAS };
void prefault_start(struct bt *bt);
void prefault_stop(struct bt *bt);
/* The translator has written area `which` up to `at`. */
void prefault_reached(struct bt *bt, int which, const void *at);

/* faults.c */
void sites_add(struct bt *bt, uintptr_t start, uintptr_t end, uintptr_t stub);
void code_page_protect(struct bt *bt, uint32_t phys_page, bool protect);
/* faults.c: an anonymous mapping on a 2 MiB boundary (huge pages), or NULL */
void *map_aligned(size_t size, int prot, int flags);
void registry_add(struct bt *bt);
void registry_remove(struct bt *bt);

/* Mode bits that change rarely (segments with real limits, CR0.TS, x87
 * exceptions unmasked): the code cache is flushed when they change, so all
 * blocks in the cache share them and the branch cache need not be tagged. */
#define MODE_OPTIONAL (MODE_SEGCHK(S_ES) * 0x3fu | MODE_FPU_NM | MODE_FPU_MF)

/* DR7 arms DR slot i as an execution breakpoint (enabled, R/W = 00). */
static inline bool dr7_exec_bp(uint32_t dr7, int i)
{
    return ((dr7 >> (2 * i)) & 3u) && ((dr7 >> (16 + 4 * i)) & 3u) == 0;
}

/* The mode bits a branch-cache entry is tagged with (the CPL is told by
 * which half of the cache it sits in), as the high half of the tag. The
 * optional bits are not in the tag: the cache is emptied when they change. */
static inline uint64_t jc_mode_tag(uint32_t mode)
{
    return (uint64_t)(mode & ~(MODE_CPL3 | MODE_CPL0 | MODE_OPTIONAL)) << 32;
}

/* An entry's tag is -(eip + jc_mode_tag(mode)) (cache_jc_fill), or this
 * when empty (no EIP and mode give it). jc_tag_eip and jc_tag_mode read a
 * live tag back: the EIP, and the mode bits jc_mode_tag keeps. */
#define JC_TAG_EMPTY 1
static inline uint32_t jc_tag_eip(int64_t tag)
{
    return (uint32_t)-(uint64_t)tag;
}
static inline uint32_t jc_tag_mode(int64_t tag)
{
    return (uint32_t)(-(uint64_t)tag >> 32);
}

/* run.c: after a helper changed the mode (CPL, CR0...), find the block
 * for cpu->eip without leaving to the dispatcher when nothing else needs
 * the run loop; true: cpu->resume_code is set, the helper just returns. */
bool bt_fast_resume(struct cpu *cpu);
/* INT n from a helper: deliver it through the IDT there and then (a fault
 * meanwhile leaves to the run loop, which applies the #DF rules). */
void bt_deliver_soft_int(struct cpu *cpu, int vector);

/* cache.c */
void cache_init(struct bt *bt);
struct block *cache_lookup(struct bt *bt, uint32_t eip, uint32_t phys,
                           uint32_t mode);
struct block *cache_alloc_block(struct bt *bt);
void cache_insert(struct bt *bt, struct block *b);
void cache_chain(struct bt *bt, struct exit *from, struct block *to);
void cache_invalidate_page(struct bt *bt, uint32_t phys_page);
/* Drop the blocks on phys's page whose guest code holds eip. */
void cache_invalidate_at(struct bt *bt, uint32_t phys, uint32_t eip);
void cache_flush(struct bt *bt);
/* Write-protect the host pages of RAM that hold code exactly while the
 * guest runs with paging off (bt->code_wp); called where paging may have
 * been switched (TLB flush, dispatch). */
void cache_code_wp_sync(struct bt *bt);
/* Whether they should be now: translated code stores to RAM directly. */
static inline bool code_wp_wanted(const struct cpu *cpu)
{
    return cpu && cpu->ram_direct && !(cpu->cr0 & CR0_PG);
}
bool cache_page_has_code(struct bt *bt, uint32_t phys);
void cache_jc_init(struct cpu *cpu);
void cache_jc_clear(struct cpu *cpu);
void cache_jc_fill(struct cpu *cpu, struct block *b);
void cache_jc_clear_nonglobal(struct cpu *cpu);
void cache_jc_clear_page(struct cpu *cpu, uint32_t linear);
/* for softmmu.c's PV address-space switch */
bool cache_jc_pages(const struct cpu *cpu, const uint32_t **pages,
                    uint32_t *n);
uint32_t cache_jc_nonglobal_count(const struct cpu *cpu);
void cache_jc_filter_nonglobal(struct cpu *cpu,
                               bool (*keep)(void *ctx, uint32_t user,
                                            uint32_t idx, uint32_t eip),
                               void *ctx);

/* runtime.c */
void runtime_emit(struct bt *bt);

/* translate.c: translate the block at cpu->eip; NULL if out of space. */
struct block *translate_block(struct bt *bt, uint32_t eip, uint32_t phys,
                              uint32_t mode);

/* softmmu.c */
uint32_t bt_mode(const struct cpu *cpu);
/* Translate a linear address for an access from C; raises #PF on failure. */
uint32_t mmu_translate(struct cpu *cpu, uint32_t lin, unsigned acc);
/* C-side guest memory accessors used by helpers (raise guest faults). */
uint32_t mmu_read(struct cpu *cpu, uint32_t lin, unsigned size);
void mmu_write(struct cpu *cpu, uint32_t lin, unsigned size, uint32_t val);
uint32_t mmu_read_acc(struct cpu *cpu, uint32_t lin, unsigned size, unsigned acc);
void mmu_write_acc(struct cpu *cpu, uint32_t lin, unsigned size, uint32_t val,
                   unsigned acc);
/* A C-side access of [lin, lin + len) that hits the soft TLB within one
 * page: its host pointer, else NULL (then mmu_translate walks the page
 * tables). With data breakpoints armed nothing hits, as for translated
 * code. A write hit needs no code check: write tags are withheld from
 * pages with translated code (tlb_fill, tlb_protect_code_page). */
static inline uint8_t *mmu_tlb_hit(struct cpu *cpu, uint32_t lin, unsigned len,
                                   unsigned acc)
{
    if ((lin & 0xfffu) + len > 0x1000u || (cpu->dr[7] & 0xffu))
        return NULL;
    /* user half: CPL 3, unless the CPU itself reads a system structure */
    const struct tlb *t = &cpu->tlb[cpu->cpl == 3 && !(acc & ACC_SUPER)];
    uint32_t page = lin >> 12, idx = page & TLB_MASK;
    int32_t tag = (acc & ACC_WRITE) ? t->wtag[idx] : t->rtag[idx];
    if (tag != -(int32_t)page)
        return NULL;
    return (uint8_t *)(uintptr_t)(t->addend[idx] + lin);
}

/* len (<= 4096) bytes at lin, with every page checked before any byte
 * is copied (descriptors, interrupt and IRET frames): a fault is the one
 * the first access of a byte-wise copy would raise, and leaves memory
 * as it was. Inline for the TLB hit, so constant lengths copy inline. */
void mmu_read_block_slow(struct cpu *cpu, uint32_t lin, void *buf, unsigned len,
                         unsigned acc);
void mmu_write_block_slow(struct cpu *cpu, uint32_t lin, const void *buf,
                          unsigned len, unsigned acc);
static inline void mmu_read_block(struct cpu *cpu, uint32_t lin, void *buf,
                                  unsigned len, unsigned acc)
{
    const uint8_t *h = mmu_tlb_hit(cpu, lin, len, acc & ~ACC_WRITE);
    if (h)
        __builtin_memcpy(buf, h, len);
    else
        mmu_read_block_slow(cpu, lin, buf, len, acc);
}
static inline void mmu_write_block(struct cpu *cpu, uint32_t lin, const void *buf,
                                   unsigned len, unsigned acc)
{
    uint8_t *h = mmu_tlb_hit(cpu, lin, len, acc | ACC_WRITE);
    if (h)
        __builtin_memcpy(h, buf, len);
    else
        mmu_write_block_slow(cpu, lin, buf, len, acc);
}
/* Host pointer for [lin, lin+len) when it is one RAM page run, else NULL. */
uint8_t *mmu_host_ptr(struct cpu *cpu, uint32_t lin, uint32_t len,
                      unsigned acc);
/* Called by translated code on a TLB miss; returns the host pointer. */
uint8_t *mmu_slow_path(struct cpu *cpu, uint32_t lin, uint32_t acc);
void mmu_slow_post(struct cpu *cpu);
/* Fetch code bytes for the translator; returns bytes read (0 on fault). */
void tlb_protect_code_page(struct cpu *cpu, uint32_t phys_page);
size_t mmu_fetch_code(struct cpu *cpu, uint32_t lin, uint8_t *buf,
                      size_t len, uint32_t *phys_out);

void bt_disasm_host(FILE *out, const uint8_t *code, size_t len);

/* exceptions: leave translated code to the run loop. */
_Noreturn void bt_raise(struct cpu *cpu, int vector, uint32_t error,
                        bool has_error);
_Noreturn void bt_leave(struct cpu *cpu, int reason);

/* helpers_fpu.c: cpu->fpu holds the guest's x87 state; between
 * fpu_enter and fpu_leave (bt_run) most of it is live in the host FPU. */
void fpu_reset(struct cpu *cpu); /* FNINIT state, for CPU reset */
void fpu_enter(struct cpu *cpu);
void fpu_leave(struct cpu *cpu);
/* the guest's control word unmasks an exception (MODE_FPU_MF) */
bool fpu_exceptions_unmasked(const struct cpu *cpu);

#endif
