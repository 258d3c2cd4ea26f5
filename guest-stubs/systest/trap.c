/* systest: the C half of every exception and interrupt: records what the
 * CPU pushed, serves IRQs and the INT 0x80 system call, and sends faults
 * back to the guard of the check that expected them. */
#include "systest.h"

/* Built by trap_common in entry.S. */
struct trap_frame {
    uint32_t gs, fs, es, ds;
    uint32_t edi, esi, ebp, pusha_esp, ebx, edx, ecx, eax;
    uint32_t vector, error;
    uint32_t eip, cs, eflags;
    uint32_t user_esp, user_ss; /* pushed only on a change to ring 0 */
};

volatile int resume_vector = -1;
void (*volatile resume_fixup)(void);
volatile unsigned resumed_count;
struct trap_info resumed;
struct syscall_record syscall_seen;
volatile unsigned irq_count[16];
volatile uint32_t irq_first_eip;
volatile uint16_t irq_no_eoi;
volatile unsigned trap_budget;

#define PIC_MASTER_DATA 0x21
#define PIC_SLAVE_DATA 0xa1

#define PIC_MASTER_CMD 0x20
#define PIC_SLAVE_CMD 0xa0
#define PIC_EOI 0x20
#define CMOS_INDEX 0x70
#define CMOS_DATA 0x71
#define RTC_REG_C 0x0c
#define IRQ_RTC 8

static void describe(const struct trap_frame *f, struct trap_info *t)
{
    t->vector = f->vector;
    t->error = f->error;
    t->cr2 = read_cr2();
    t->eip = f->eip;
    t->cs = f->cs & 0xffff;
    t->eflags = f->eflags;
    if (t->cs & 3) {
        t->esp = f->user_esp;
        t->ss = f->user_ss & 0xffff;
    } else {
        t->esp = 0;
        t->ss = 0;
    }
    t->frame = ADDR(&f->eip);
    t->handler_ss = read_ss();
    t->dr6 = 0;
    if (f->vector == 1) {
        uint32_t dr6;
        __asm__ volatile("mov %%dr6, %0" : "=r"(dr6));
        t->dr6 = dr6;
        /* The next #DB must not see this one's status bits. */
        __asm__ volatile("mov %0, %%dr6" : : "r"(DR6_CLEAR));
    }
}

static void irq(const struct trap_frame *f)
{
    unsigned line = f->vector - VEC_IRQ0;

    irq_count[line]++;
    /* An interrupt storm must not stop the run: past the budget, mask
     * every line (the check then sees too few or too many). */
    if (trap_budget && !--trap_budget) {
        outb(PIC_MASTER_DATA, 0xff);
        outb(PIC_SLAVE_DATA, 0xff);
    }
    if (!irq_first_eip)
        irq_first_eip = f->eip;
    if (line == IRQ_RTC) {
        /* Reading register C acknowledges the RTC's interrupt. */
        outb(CMOS_INDEX, RTC_REG_C);
        inb(CMOS_DATA);
    }
    if (irq_no_eoi & (1u << line))
        return;
    if (line >= 8)
        outb(PIC_SLAVE_CMD, PIC_EOI);
    outb(PIC_MASTER_CMD, PIC_EOI);
}

/* INT 0x80 (trap gate) and INT 0x81 (interrupt gate): returns EAX + 1. */
static void system_call(struct trap_frame *f)
{
    describe(f, &syscall_seen.t);
    syscall_seen.eax = f->eax;
    syscall_seen.handler_eflags = read_eflags();
    syscall_seen.count++;
    f->eax++;
}

void trap_dispatch(struct trap_frame *f);
void trap_dispatch(struct trap_frame *f)
{
    if (f->vector >= VEC_IRQ0 && f->vector < VEC_IRQ0 + 16) {
        irq(f);
        return;
    }
    if (f->vector == VEC_SYSCALL || f->vector == VEC_SYSCALL_INTR) {
        system_call(f);
        return;
    }
    if (f->vector == VEC_USER_EXIT)
        guard_unwind(NO_TRAP);
    /* A fault that its fixup does not repair would come back forever:
     * past the budget it unwinds like any other. */
    if ((int)f->vector == resume_vector && trap_budget && --trap_budget) {
        describe(f, &resumed);
        if (f->vector == 1)
            f->eflags &= ~(uint32_t)EFLAGS_TF; /* one step is enough */
        if (resume_fixup)
            resume_fixup();
        resumed_count++;
        return;
    }
    if (!current_guard) {
        printf("Bail out! exception %u error 0x%x at %x:%x outside a check\n",
               f->vector, f->error, f->cs, f->eip);
        guest_exit(1);
    }
    /* The guard record's second word is where the caller wants details. */
    struct trap_info *t = ((struct trap_info **)current_guard)[1];
    describe(f, t);
    guard_unwind((int)f->vector);
}
