/* systest: the system test kernel's shared declarations: selectors, vectors,
 * the fault-catching API, the check API and small instruction wrappers. */
#ifndef SYSTEST_SYSTEST_H
#define SYSTEST_SYSTEST_H

#include "layout.h"

#ifndef __ASSEMBLER__
#include <stdbool.h>

#include "guest.h"

/* ---- What an exception looked like (filled by the trap handler). ---- */
struct trap_info {
    uint32_t vector, error, cr2;
    uint32_t eip, cs, eflags; /* from the frame */
    uint32_t esp, ss;         /* from the frame; only for ring 3 -> ring 0 */
    uint32_t frame;           /* linear address of the frame's EIP slot */
    uint32_t handler_ss;      /* SS while the handler ran */
    uint32_t dr6;             /* for #DB only */
};

/* Runs fn(arg) at ring 0. Returns NO_TRAP when fn returned, otherwise the
 * vector of the first exception it raised, with its details in *t. Either
 * way EFLAGS, ESP, the callee-saved registers and DS/ES/FS/GS/SS are what
 * they were at the call. Guards nest. */
int guarded(void (*fn)(void *), void *arg, struct trap_info *t);
/* The same with fn running at ring 3 (CS=SEL_UCODE, SS/DS/ES=SEL_UDATA,
 * stack user_stack) and EFLAGS = eflags; fn returning counts as NO_TRAP. */
int guarded_user(void (*fn)(void *), void *arg, uint32_t eflags,
                 struct trap_info *t);
/* Back to the innermost guard, which returns result. For the handler. */
__attribute__((noreturn)) void guard_unwind(int result);
extern void *current_guard;

/* One vector whose exceptions are recorded and then returned from (IRET
 * to the frame) instead of unwinding: for traps such as INT3 and #DB, and
 * for faults that resume_fixup (when set) repairs before the instruction
 * runs again. */
extern volatile int resume_vector;
extern void (*volatile resume_fixup)(void);
extern volatile unsigned resumed_count;
extern struct trap_info resumed;

/* Resumed traps and IRQs a check may take before the handler stops
 * resuming (and masks all IRQs): a bound on trap and interrupt storms. */
extern volatile unsigned trap_budget;
#define TRAP_BUDGET 100000

/* What the INT 0x80 / 0x81 handler saw; it returns EAX + 1. */
struct syscall_record {
    struct trap_info t;
    uint32_t eax;
    uint32_t handler_eflags;
    unsigned count;
};
extern struct syscall_record syscall_seen;

/* Hardware interrupts, per IRQ line. */
extern volatile unsigned irq_count[16];
extern volatile uint32_t irq_first_eip; /* EIP of the first IRQ after a
                                          * check zeroed it */
extern volatile uint16_t irq_no_eoi; /* bit n: the handler skips IRQ n's EOI */

/* ---- Descriptor tables (desc.c). ---- */
struct tss {
    uint16_t link, r0;
    uint32_t esp0;
    uint16_t ss0, r1;
    uint32_t esp1;
    uint16_t ss1, r2;
    uint32_t esp2;
    uint16_t ss2, r3;
    uint32_t cr3, eip, eflags, eax, ecx, edx, ebx, esp, ebp, esi, edi;
    uint16_t es, r4, cs, r5, ss, r6, ds, r7, fs, r8, gs, r9, ldt, r10;
    uint16_t trap, iomap_base;
    uint8_t iomap[IOMAP_PORTS / 8 + 1]; /* + the all-ones end byte */
} __attribute__((packed));

struct table_ptr {
    uint16_t limit;
    uint32_t base;
} __attribute__((packed));

extern uint64_t gdt[GDT_ENTRIES];
extern uint64_t ldt[LDT_ENTRIES];
extern uint64_t idt[256];
extern struct tss tss;
extern uint8_t small_window[SMALL_LIMIT + 1]; /* SEL_SMALL's bytes */
extern uint8_t ldt_window[64];                /* SEL_LDT_DATA's bytes */
extern uint8_t tss_stack_top[], user_stack_top[], sysenter_stack_top[];
extern const uint32_t trap_stubs[256]; /* entry.S: each vector's entry */

uint64_t seg_desc(uint32_t base, uint32_t limit, uint8_t access,
                  uint8_t flags);
uint64_t gate_desc(uint16_t sel, uint32_t offset, uint8_t access);
/* Rebuilds and reloads GDT, LDT, TSS, IDT and every segment register. */
void desc_init(void);
void set_idt_gate(unsigned vector, uint8_t access);

/* ---- Checks (main.c). ---- */
struct result {
    bool failed;
    char detail[160];
};

/* Keeps the first failure's description. */
void fail(struct result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* false (and a failure naming what) when got != want. */
bool expect_eq(struct result *r, const char *what, uint32_t got,
               uint32_t want);
/* The guarded run must have raised vector with error code error (ignored
 * for vectors without one when error is NO_ERROR) at EIP eip (0: any). */
bool expect_trap(struct result *r, int got, const struct trap_info *t,
                 int vector, uint32_t error, uint32_t eip);
/* The guarded run must have finished without an exception. */
bool expect_no_trap(struct result *r, int got, const struct trap_info *t);
/* format.c: %s %c %d %u %x, width, '0'. */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- Devices (hw.c). ---- */
void pic_init(uint8_t master_mask, uint8_t slave_mask);
void pic_set_mask(uint8_t master_mask, uint8_t slave_mask);
uint8_t pic_read_isr(bool slave);
uint8_t pic_read_irr(bool slave);
void pit_start_ch0(uint16_t count);
/* Starts channel 2 counting count ticks of 1.193182 MHz in mode 0, gated
 * on, speaker off; OUT2 (port 0x61 bit 5) rises at the end. */
void pit_start_ch2(uint16_t count);
/* Polls OUT2 at most max_polls times; true when it rose. */
bool pit_wait_ch2(unsigned max_polls);
uint8_t cmos_read(uint8_t reg);
void cmos_write(uint8_t reg, uint8_t val);
/* RTC register B.PIE on or off (IRQ8 at the rate register A sets). */
void rtc_periodic(bool on);
/* Spins with interrupts as they are until irq_count[irq] > start or
 * max_polls rounds pass; true on the former. */
bool wait_irq(unsigned irq, unsigned start, unsigned max_polls);

/* ---- Paging (paging.c). Test pages live at TEST_LINEAR. ---- */
extern uint32_t page_dir[1024];
extern uint32_t page_table_low[1024];  /* identity 0-4 MiB, 4 KiB pages */
extern uint32_t page_table_test[1024]; /* TEST_LINEAR.. */
extern uint8_t test_frames[TEST_FRAMES][PAGE_SIZE];
void paging_build(void);
void paging_on(void);  /* CR3 = page_dir, CR4.PSE, CR0.PG */
void paging_off(void); /* CR0.PG off, CR4 PSE/PGE off */
/* The PTE of test page i (TEST_LINEAR + i pages), and its address. */
static inline uint32_t *test_pte(unsigned i)
{
    return &page_table_test[i];
}
static inline void *test_page(unsigned i)
{
    return (void *)(TEST_LINEAR + i * PAGE_SIZE);
}

/* ---- Instruction wrappers. ---- */
static inline uint32_t read_cr0(void)
{
    uint32_t v;
    __asm__ volatile("mov %%cr0, %0" : "=r"(v));
    return v;
}
static inline void write_cr0(uint32_t v)
{
    __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory");
}
static inline uint32_t read_cr2(void)
{
    uint32_t v;
    __asm__ volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}
static inline void write_cr2(uint32_t v)
{
    __asm__ volatile("mov %0, %%cr2" : : "r"(v));
}
static inline uint32_t read_cr3(void)
{
    uint32_t v;
    __asm__ volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}
static inline void write_cr3(uint32_t v)
{
    __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}
static inline uint32_t read_cr4(void)
{
    uint32_t v;
    __asm__ volatile("mov %%cr4, %0" : "=r"(v));
    return v;
}
static inline void write_cr4(uint32_t v)
{
    __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory");
}
static inline uint32_t read_eflags(void)
{
    uint32_t v;
    __asm__ volatile("pushfl; popl %0" : "=r"(v));
    return v;
}
static inline void write_eflags(uint32_t v)
{
    __asm__ volatile("pushl %0; popfl" : : "r"(v) : "memory", "cc");
}
static inline void sti(void)
{
    __asm__ volatile("sti" : : : "memory");
}
static inline void invlpg(const void *p)
{
    __asm__ volatile("invlpg (%0)" : : "r"(p) : "memory");
}
static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (uint64_t)hi << 32 | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr"
                     :
                     : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}
static inline void cpuid(uint32_t leaf, uint32_t r[4])
{
    __asm__ volatile("cpuid"
                     : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
                     : "a"(leaf), "c"(0));
}
static inline uint16_t read_cs(void)
{
    uint16_t v;
    __asm__ volatile("mov %%cs, %0" : "=r"(v));
    return v;
}
static inline uint16_t read_ss(void)
{
    uint16_t v;
    __asm__ volatile("mov %%ss, %0" : "=r"(v));
    return v;
}
static inline void outw(uint16_t port, uint16_t val)
{
    __asm__ volatile("outw %0, %1" : : "a"(val), "Nd"(port));
}
static inline uint16_t inw(uint16_t port)
{
    uint16_t v;
    __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
/* An address as the 32-bit number the frames and tables hold. */
#define ADDR(p) ((uint32_t)(uintptr_t)(p))

#endif /* __ASSEMBLER__ */
#endif
