/* minios: the clock tick. The 8259 PICs are remapped to vectors 0x20-0x2f
 * with only IRQ 0 open; IRQ 0 comes from the 8254 PIT on the native path
 * or from a periodic VMI alarm (wired to IRQ 0) when the ROM offers the
 * timer calls, with the PIT then silenced as Linux did. */
#include "minios.h"
#include "pvops.h"
#include "vmi_abi.h"

#define HZ 100
#define PIT_HZ 1193182u
#define PIC1 0x20
#define PIC2 0xa0
#define PIT_CH0 0x40
#define PIT_MODE 0x43

volatile uint32_t timer_ticks;

/* Port writes with the pv io_delay between them, as Linux's outb_p. */
static void outb_p(uint16_t port, uint8_t v)
{
    outb(port, v);
    io_delay();
}

static void pic_init(void)
{
    outb_p(PIC1, 0x11);          /* ICW1: edge, cascade, ICW4 */
    outb_p(PIC2, 0x11);
    outb_p(PIC1 + 1, VEC_IRQ0);  /* ICW2: vector base */
    outb_p(PIC2 + 1, VEC_IRQ0 + 8);
    outb_p(PIC1 + 1, 0x04);      /* ICW3: slave on IRQ 2 */
    outb_p(PIC2 + 1, 0x02);
    outb_p(PIC1 + 1, 0x01);      /* ICW4: 8086 mode */
    outb_p(PIC2 + 1, 0x01);
    outb_p(PIC1 + 1, 0xfe);      /* only IRQ 0 */
    outb_p(PIC2 + 1, 0xff);
}

void pic_eoi(unsigned irq)
{
    if (irq >= 8)
        outb(PIC2, 0x20);
    outb(PIC1, 0x20);
}

void timer_init(void)
{
    pic_init();
    if (pv_ops.set_alarm) {
        outb(PIT_MODE, 0x3a);    /* channel 0 one-shot, never started */
        uint64_t hz = pv_ops.cycle_frequency();
        uint64_t period = hz / HZ;
        uint64_t now = pv_ops.cycle_counter(VMI_CYCLES_REAL);
        pv_ops.set_alarm(VMI_ALARM_IS_PERIODIC | VMI_CYCLES_REAL |
                             VMI_ALARM_WIRED_IRQ0, now + period, period);
        printf("minios: timer: VMI alarm every %llu cycles (%u Hz)\n",
               (unsigned long long)period, HZ);
    } else {
        uint32_t div = (PIT_HZ + HZ / 2) / HZ;
        outb(PIT_MODE, 0x34);    /* channel 0, lo/hi, rate generator */
        outb(PIT_CH0, div & 0xff);
        outb(PIT_CH0, div >> 8);
        printf("minios: timer: PIT at %u Hz\n", HZ);
    }
}

/* A tick: count it; preempt a ring-3 task if another one could run. */
void timer_irq(struct trap_frame *tf)
{
    timer_ticks++;
    pic_eoi(0);
    if (from_user(tf) && task_others_runnable())
        need_resched = true;
}
