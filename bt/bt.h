/* The translator's front door: the only bt/ header vmm/ includes (besides
 * the shared guest-state struct in bt/cpu.h). The translator instance is
 * opaque; the monitor reaches devices and system state through bt_host. */
#ifndef TPVM_BT_BT_H
#define TPVM_BT_BT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bt/cpu.h"

/* Callbacks into the monitor. All take the monitor's opaque pointer. */
struct bt_host {
    void *opaque;
    /* port I/O; size is 1, 2 or 4 */
    uint32_t (*io_in)(void *opaque, uint16_t port, unsigned size);
    void (*io_out)(void *opaque, uint16_t port, unsigned size, uint32_t val);
    /* guest-physical accesses that are not RAM (MMIO or open bus) */
    uint32_t (*mmio_read)(void *opaque, uint32_t gpa, unsigned size);
    void (*mmio_write)(void *opaque, uint32_t gpa, unsigned size, uint32_t val);
    /* optional (NULL = not provided) */
    /* override the built-in CPU model (bt/cpuid.c) */
    void (*cpuid)(void *opaque, uint32_t leaf, uint32_t subleaf, uint32_t out[4]);
    /* Interrupt acknowledge: called when cpu->irq_pending is set and the
     * CPU can take an interrupt; returns the vector (the PIC's INTA
     * cycle), or -1 if the request went away. */
    int (*irq_ack)(void *opaque);
    /* The VMI ROM's hypercall: the instruction VMCALL (0F 01 C1), which
     * the translator turns into a direct call of this function (no trip
     * through the run loop). It reads and writes cpu->regs and may use
     * bt_guest_read/bt_guest_write and the TLB calls below. NULL: VMCALL
     * raises #UD as on a CPU without VMX. */
    void (*hypercall)(void *opaque, struct cpu *cpu);
};

/* Why bt_run returned. */
enum bt_exit {
    BT_EXIT_REQUEST = 1, /* cpu->run was cleared (device, timer, signal) */
    BT_EXIT_HLT,         /* guest executed HLT; cpu->eip is past it */
    BT_EXIT_EXCEPTION,   /* cpu->exc_vector/exc_error set, eip at the fault */
    BT_EXIT_INTERNAL,    /* translator could not go on (bug, code cache) */
    BT_EXIT_SHUTDOWN,    /* triple fault: cpu->exc_* hold the first fault */
};

struct bt_config {
    size_t code_cache_size; /* bytes; 0 = default */
    bool prefault;          /* populate cache memory ahead on a helper thread */
    FILE *trace;            /* non-NULL: disassemble guest code as translated */
    FILE *perf_map;         /* non-NULL: one "host-addr size name" line per
                             * block, perf's JIT map format */
};

/* Counters, one X-macro list: --stats, JSON and perf/ all read it. */
#define BT_STATS(X)                                                   \
    X(blocks_translated, "guest blocks translated")                   \
    X(insns_translated, "guest instructions translated")              \
    X(code_bytes, "host code bytes emitted")                          \
    X(translate_cycles, "host TSC cycles spent translating")           \
    X(cache_flushes, "code cache flushes (cache full)")               \
    X(chain_links, "direct block exits chained")                      \
    X(dispatch_lookups, "block lookups in the dispatcher")            \
    X(jc_fills, "indirect-branch cache fills")                        \
    X(tlb_fills, "soft-TLB fills")                                    \
    X(tlb_flushes, "soft-TLB full flushes")                           \
    X(tlb_page_flushes, "soft-TLB single-page flushes")               \
    X(tlb_as_switches, "PV address-space switches keeping TLB entries") \
    X(tlb_as_restored, "TLB entries PV switches kept or brought back") \
    X(jc_as_restored, "branch-cache entries PV switches kept or brought back") \
    X(mmio_accesses, "accesses outside RAM")                          \
    X(smc_invalidations, "blocks invalidated by self-modifying code") \
    X(fused_stack_runs, "PUSH/POP runs translated as one access")   \
    X(fused_mov_runs, "MOV runs through one base translated as one access") \
    X(unfused_runs, "fused runs replayed one instruction at a time") \
    X(frame_regions, "frame regions: accesses through one base, one probe") \
    X(loop_regions, "frame regions of self-loops, probed once before the loop") \
    X(region_fallbacks, "frame regions replayed unfused, then dropped") \
    X(flag_probes, "TLB probes using the guest's dead flags")         \
    X(exits_to_loop, "exits from translated code to the run loop")    \
    X(fast_resumes, "mode changes continued without the dispatcher")  \
    X(helper_calls, "helper calls from translated code")              \
    X(string_ops, "string instructions executed by helper")           \
    X(exceptions, "guest exceptions raised")                        \
    X(exceptions_delivered, "exceptions delivered through the IDT")   \
    X(interrupts_delivered, "external interrupts delivered")           \
    X(hypercalls, "VMI hypercalls (VMCALL)")

/* Helper calls by kind (the C helpers translated code calls). */
#define BT_HELPER_KINDS(X)                                                \
    X(div) X(bcd) X(string) X(cpuid) X(hlt) X(io) X(int) X(popf)         \
    X(enter) X(pop_sreg) X(cli_sti) X(sys) X(seg_check) X(hypercall)     \
    X(fpu) X(ud)

enum bt_helper_kind {
#define X(k) BT_HK_##k,
    BT_HELPER_KINDS(X)
#undef X
    BT_HK_COUNT
};

struct bt_stats {
#define X(name, desc) uint64_t name;
    BT_STATS(X)
#undef X
    uint64_t exc_by_vector[32];     /* exceptions delivered, by vector */
    uint64_t int_by_vector[256];    /* software + external interrupts */
    uint64_t helper_by_kind[BT_HK_COUNT];
};

/* Name of a helper kind, for --stats. */
const char *bt_helper_kind_name(int kind);

struct bt *bt_create(const struct bt_config *cfg);
void bt_destroy(struct bt *bt);

/* With bt_config.prefault: have the helper thread populate [host,
 * host + len) (guest RAM the caller knows will be written soon), so the
 * host's first-touch faults and zeroing happen off the running thread.
 * Advice only: ignored without a helper or when too many are queued. */
void bt_prefault(struct bt *bt, void *host, size_t len);

/* Allocate a CPU with its guest RAM placed for direct addressing
 * (see BT_RAM_OFFSET): the fastest layout, used by the monitor. Returns
 * NULL if the address space cannot be reserved. cpu->ram, cpu->ram_size
 * and cpu->ram_direct are set; the rest is zero. */
struct cpu *bt_cpu_alloc(uint32_t ram_size);
void bt_cpu_free(struct cpu *cpu);

/* To be called first from the process's SIGSEGV handler: returns true
 * when the fault was a guest access that the translator resolved (the
 * context was updated; return from the handler to go on). */
bool bt_handle_segv(void *fault_addr, void *ucontext);

/* Power-on state of a flat 32-bit protected-mode CPU as QEMU's -kernel
 * leaves it for Multiboot: CS/DS/ES/FS/GS/SS base 0, limit 4 GiB, CPL 0,
 * CR0 = PE|ET, paging off, EFLAGS = 2, all other registers 0. */
void bt_cpu_init_flat(struct cpu *cpu, uint8_t *ram, uint32_t ram_size);
/* The same, keeping the RAM that bt_cpu_alloc() placed. */
void bt_cpu_reset_flat(struct cpu *cpu);

/* Bind a CPU to the translator; resets its TLB and branch cache. */
void bt_attach(struct bt *bt, struct cpu *cpu, const struct bt_host *host);

/* Run translated guest code from cpu->eip until something needs the
 * monitor. Returns an enum bt_exit. */
int bt_run(struct cpu *cpu);

/* Async-signal safe: ask the running CPU to leave at its next block. */
static inline void bt_request_exit(struct cpu *cpu)
{
    __atomic_store_n(&cpu->run, 0, __ATOMIC_RELEASE);
}

/* For monitor callbacks running inside bt_run: raise a guest exception
 * at the current instruction (leaves bt_run with BT_EXIT_EXCEPTION). */
_Noreturn void bt_guest_fault(struct cpu *cpu, int vector, uint32_t error,
                              bool has_error);

/* Guest memory by linear address, for monitor code running inside a
 * hypercall or device callback: never raises; returns 0, or -1 if some
 * byte is not mapped / not RAM (nothing is written then). Writes keep
 * translated code coherent. */
int bt_guest_read(struct cpu *cpu, uint32_t linear, void *buf, uint32_t len);
int bt_guest_write(struct cpu *cpu, uint32_t linear, const void *buf,
                   uint32_t len);

/* Soft-MMU maintenance, called when x86 rules say the TLB changes. */
void bt_tlb_flush(struct cpu *cpu);
void bt_tlb_flush_page(struct cpu *cpu, uint32_t linear);
/* A CR3 load: drops all but global-page entries (when CR4.PGE is on). */
void bt_tlb_flush_nonglobal(struct cpu *cpu);

/* Paravirtual address-space switch (a VMI guest reports every page-table
 * change): TLB and branch-cache entries under directory entries both
 * spaces hold stay live; the current space's others are kept aside under
 * its CR3, and those saved for new_cr3 come back, instead of refilling
 * them by page walks and dispatcher lookups. A saved entry stays valid
 * until a reported write to the page-table entry it came from:
 * bt_tlb_pte_written() (entry_lin: the linear address of the PTE or PDE,
 * in the current address space; any flags) drops those entries in every
 * saved set, bt_tlb_table_reset() all those of a page that becomes or
 * stops being a page table or directory (and the set whose directory it
 * was), bt_tlb_drop_saved() every saved set (paging mode changes). */
void bt_tlb_switch_as(struct cpu *cpu, uint32_t old_cr3, uint32_t new_cr3);
void bt_tlb_pte_written(struct cpu *cpu, uint32_t entry_lin);
void bt_tlb_table_reset(struct cpu *cpu, uint32_t phys_page);
void bt_tlb_drop_saved(struct cpu *cpu);

/* Guest memory was written behind the translator's back (loader, DMA). */
void bt_invalidate_phys(struct bt *bt, uint32_t gpa, uint32_t len);

/* Drop every translation (for instance when translation-relevant mode
 * bits change). */
void bt_flush_code(struct bt *bt);

const struct bt_stats *bt_get_stats(const struct bt *bt);

/* Disassemble one guest instruction with Capstone into buf (for crash
 * reports). Returns the instruction length or 0. */
int bt_disasm(const uint8_t *code, size_t avail, uint32_t eip, char *buf,
              size_t bufsize);

#endif
