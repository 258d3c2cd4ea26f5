/* minios pv-ops: every privileged operation is a call through one table
 * of function pointers, as in Linux's paravirt_ops. Each pointer has the
 * signature and register convention of its VMI call (regparm(3): EAX,
 * EDX, ECX, then the stack), so binding to the ROM is storing the ROM's
 * eip ("fill"). The hot operations are also called from recorded sites
 * ("patch"): a 6-byte `call *pv_ops+slot` (or `jmp *` for iret) listed in
 * the pvsites section, which rom.c rewrites into a direct call or jump to
 * the ROM routine, or into NOPs, as get_reloc answers. */
#ifndef MINIOS_PVOPS_H
#define MINIOS_PVOPS_H

#include <stdint.h>

#define PVCALL __attribute__((regparm(3)))

struct dtr_ptr {
    uint16_t limit;
    uint32_t base;
} __attribute__((packed));

typedef PVCALL void pv_void_fn(void);
typedef PVCALL uint32_t pv_get_fn(void);
typedef PVCALL void pv_set_fn(uint32_t);
typedef PVCALL uint64_t pv_get64_fn(void);

struct pv_ops {
    /* entry.S jumps through offset 0 (PVOP_IRET_OFFSET) */
    void *iret;
    /* These keep every register but EFLAGS (and EAX for save_fl); they
     * are called from inline asm only. */
    void *irq_disable, *irq_enable, *save_fl, *restore_fl;

    pv_void_fn *safe_halt; /* sti; hlt */
    pv_get_fn *read_cr0, *read_cr2, *read_cr3;
    pv_set_fn *write_cr0, *write_cr3;
    PVCALL void (*set_pte)(uint32_t val, uint32_t *ptep, uint32_t flags);
    pv_set_fn *flush_tlb;  /* VMI_FLUSH_* */
    pv_set_fn *invlpg;
    PVCALL void (*load_esp0)(uint32_t ss0, uint32_t esp0);
    pv_set_fn *lazy_mode;  /* VMI_LAZY_MODE_* */
    pv_void_fn *io_delay;

    /* fill only (called from C through the pointer) */
    PVCALL void (*load_gdt)(const struct dtr_ptr *);
    PVCALL void (*load_idt)(const struct dtr_ptr *);
    pv_set_fn *load_tr;
    PVCALL void (*write_gdt_entry)(void *table, uint32_t index, uint32_t lo,
                                   uint32_t hi);
    PVCALL void (*write_idt_entry)(void *table, uint32_t index, uint32_t lo,
                                   uint32_t hi);
    PVCALL void (*alloc_page)(uint32_t pfn, uint32_t flags, uint32_t clone_pfn,
                              uint32_t start, uint32_t count);
    PVCALL void (*release_page)(uint32_t pfn, uint32_t flags);
    PVCALL void (*set_linear_mapping)(uint32_t slot, uint32_t va,
                                      uint32_t pages, uint32_t pfn);

    /* VMI timer (NULL on the native path: the PIT is used) */
    pv_get64_fn *cycle_frequency;
    PVCALL uint64_t (*cycle_counter)(uint32_t counter);
    PVCALL void (*set_alarm)(uint32_t flags, uint64_t expiry, uint64_t period);
    PVCALL uint32_t (*cancel_alarm)(uint32_t flags);
    pv_get64_fn *wallclock;
};

#define PVOP_IRET_OFFSET 0

extern struct pv_ops pv_ops;

/* A call site: 771 is the instruction, its address goes to pvsites. */
#define PV_SITE(insn)                                                     \
    "771: " insn " *%c[slot]\n\t"                                          \
    ".pushsection pvsites, \"aw\"\n\t.balign 4\n\t.long 771b\n\t.popsection"

/* Register-preserving operations (the sites of Linux's irq ops). */
static inline void irq_disable(void)
{
    __asm__ volatile(PV_SITE("call") : : [slot] "i"(&pv_ops.irq_disable)
                     : "memory", "cc");
}

static inline void irq_enable(void)
{
    __asm__ volatile(PV_SITE("call") : : [slot] "i"(&pv_ops.irq_enable)
                     : "memory", "cc");
}

static inline uint32_t save_fl(void)
{
    uint32_t f;
    __asm__ volatile(PV_SITE("call") : "=a"(f) : [slot] "i"(&pv_ops.save_fl)
                     : "memory", "cc");
    return f;
}

static inline void restore_fl(uint32_t f)
{
    __asm__ volatile(PV_SITE("call") : : "a"(f), [slot] "i"(&pv_ops.restore_fl)
                     : "memory", "cc");
}

/* C-convention operations: arguments in EAX, EDX, ECX, which the callee
 * may clobber. */
#define PV_CALL0(member)                                                  \
    ({                                                                    \
        uint32_t a_, c_, d_;                                              \
        __asm__ volatile(PV_SITE("call")                                  \
                         : "=a"(a_), "=c"(c_), "=d"(d_)                   \
                         : [slot] "i"(&pv_ops.member)                     \
                         : "memory", "cc");                               \
        (void)c_, (void)d_;                                               \
        a_;                                                               \
    })
#define PV_CALL3(member, x, y, z)                                         \
    do {                                                                  \
        uint32_t a_ = (x), d_ = (y), c_ = (z);                            \
        __asm__ volatile(PV_SITE("call")                                  \
                         : "+a"(a_), "+d"(d_), "+c"(c_)                   \
                         : [slot] "i"(&pv_ops.member)                     \
                         : "memory", "cc");                               \
    } while (0)

static inline void safe_halt(void) { (void)PV_CALL0(safe_halt); }
static inline void io_delay(void) { (void)PV_CALL0(io_delay); }
static inline uint32_t read_cr0(void) { return PV_CALL0(read_cr0); }
static inline uint32_t read_cr2(void) { return PV_CALL0(read_cr2); }
static inline uint32_t read_cr3(void) { return PV_CALL0(read_cr3); }
static inline void write_cr0(uint32_t v) { PV_CALL3(write_cr0, v, 0, 0); }
static inline void write_cr3(uint32_t v) { PV_CALL3(write_cr3, v, 0, 0); }
static inline void flush_tlb(uint32_t flags) { PV_CALL3(flush_tlb, flags, 0, 0); }
static inline void invlpg(uint32_t va) { PV_CALL3(invlpg, va, 0, 0); }
static inline void lazy_mode(uint32_t mode) { PV_CALL3(lazy_mode, mode, 0, 0); }

static inline void set_pte(uint32_t *ptep, uint32_t val, uint32_t flags)
{
    PV_CALL3(set_pte, val, (uint32_t)ptep, flags);
}

static inline void load_esp0(uint32_t ss0, uint32_t esp0)
{
    PV_CALL3(load_esp0, ss0, esp0, 0);
}

/* Binding statistics, for the boot log (rom.c). */
struct pv_bind_stats {
    unsigned sites, calls, jumps, nops, native;
    unsigned filled;
};

#endif
