/* systest: interrupt checks: the 8259 pair, the 8254 timer driving IRQ0
 * (ticks, HLT, rate against PIT channel 2, masking, EOI, IRR), and the
 * STI shadow. Every wait is bounded by a number of port polls. */
#include "systest.h"
#include "probes.h"

#define PIC1_DATA 0x21
#define PIC2_DATA 0xa1
#define PIC1_CMD 0x20
#define PIC_EOI 0x20
#define PIT_MODE 0x43
#define PIT_CH0 0x40
#define PIT_LATCH_CH0 0x00

#define PIT_HZ 1193182u
#define TICK_COUNT 1193u /* channel 0: about 1 kHz */
#define MS(n) (PIT_HZ / 1000 * (n))
/* Polls of a port: a 50 ms wait takes about 1M under QEMU (some 50 ns a
 * poll), so this leaves room for a much faster poll, and still ends in
 * about a second under QEMU when an interrupt or a timer output never
 * comes. */
#define MAX_POLLS 20000000u

/* Timer ticking at 1 kHz on IRQ0, everything else masked, IF as it was. */
static void start_ticks(void)
{
    pic_init(0xfe, 0xff);
    pit_start_ch0(TICK_COUNT);
}

/* HLT only ever waits with the PIT known to tick and with the RTC's
 * periodic interrupt (IRQ8, about 1 kHz) armed as a second way to wake
 * up: it cannot block for good unless both devices stop. */
static void arm_rtc_wakeup(void)
{
    rtc_periodic(true);
    pic_set_mask(0xfa, 0xfe); /* IRQ0, IRQ2 (cascade), IRQ8 */
}

/* Ticks seen while PIT channel 2 counts ms milliseconds; -1 if channel 2
 * never finished. */
static int ticks_during(unsigned ms)
{
    unsigned start = irq_count[0];
    pit_start_ch2((uint16_t)MS(ms));
    if (!pit_wait_ch2(MAX_POLLS))
        return -1;
    return (int)(irq_count[0] - start);
}

void check_irq_pic_init(struct result *r)
{
    pic_init(0xfe, 0xff);
    if (!expect_eq(r, "master IMR", inb(PIC1_DATA), 0xfe) ||
        !expect_eq(r, "slave IMR", inb(PIC2_DATA), 0xff))
        return;
    pic_set_mask(0xa5, 0x5a);
    if (expect_eq(r, "master IMR", inb(PIC1_DATA), 0xa5) &&
        expect_eq(r, "slave IMR", inb(PIC2_DATA), 0x5a) &&
        expect_eq(r, "master ISR", pic_read_isr(false), 0))
        expect_eq(r, "slave ISR", pic_read_isr(true), 0);
}

void check_irq_timer_ticks(struct result *r)
{
    unsigned start = irq_count[0];

    start_ticks();
    sti();
    bool ticked = wait_irq(0, start + 2, MAX_POLLS);
    cli();
    if (!ticked)
        fail(r, "%u IRQ0 ticks within %u polls, want 3", irq_count[0] - start,
             MAX_POLLS);
}

void check_irq_hlt(struct result *r)
{
    unsigned start = irq_count[0];

    start_ticks();
    sti();
    /* HLT only once the timer is known to tick: it could not end else. */
    if (!wait_irq(0, start, MAX_POLLS)) {
        cli();
        fail(r, "no IRQ0 while polling; HLT not tried");
        return;
    }
    arm_rtc_wakeup();
    unsigned before = irq_count[0], halts = 0;
    while (irq_count[0] == before && halts < 1000) {
        hlt();
        halts++;
    }
    cli();
    if (irq_count[0] == before)
        fail(r, "no IRQ0 after %u HLTs", halts);
}

/* Ticks while PIT channel 2 counts ms milliseconds, waiting in HLT
 * between ticks (busy polling a port starves QEMU's timer thread); -1 if
 * channel 2 never finished. Only with the timer known to tick. */
static int ticks_halting(unsigned ms)
{
    unsigned start = irq_count[0];
    pit_start_ch2((uint16_t)MS(ms));
    for (unsigned halts = 0; halts < 20 * ms + 1000; halts++) {
        if (inb(0x61) & 0x20)
            return (int)(irq_count[0] - start);
        hlt();
    }
    return -1;
}

void check_irq_tick_rate(struct result *r)
{
    int ticks = 0;

    start_ticks();
    sti();
    if (!wait_irq(0, irq_count[0], MAX_POLLS)) {
        cli();
        fail(r, "no IRQ0 at all");
        return;
    }
    arm_rtc_wakeup();
    /* About 50 at 1 kHz. QEMU drops ticks when its threads are starved,
     * so the bounds are wide and a low count gets two more tries; a timer
     * an order of magnitude off, or a channel 2 that ends at once, still
     * fails. */
    for (int attempt = 0; attempt < 3; attempt++) {
        ticks = ticks_halting(50);
        if (ticks < 0 || ticks >= 10)
            break;
    }
    cli();
    if (ticks < 0)
        fail(r, "PIT channel 2 never finished its 50 ms count");
    else if (ticks < 10 || ticks > 100)
        fail(r, "%d IRQ0 ticks in 50 ms of PIT channel 2, want 10..100",
             ticks);
}

void check_irq_mask_stops(struct result *r)
{
    start_ticks();
    sti();
    if (!wait_irq(0, irq_count[0], MAX_POLLS)) {
        cli();
        fail(r, "no IRQ0 before masking");
        return;
    }
    pic_set_mask(0xff, 0xff);
    int masked = ticks_during(10);
    pic_set_mask(0xfe, 0xff);
    bool resumed = wait_irq(0, irq_count[0], MAX_POLLS);
    cli();
    if (masked != 0)
        fail(r, "%d IRQ0 ticks in 10 ms with IRQ0 masked", masked);
    else if (!resumed)
        fail(r, "no IRQ0 after unmasking");
}

void check_irq_eoi(struct result *r)
{
    unsigned start = irq_count[0];

    irq_no_eoi = 1;
    start_ticks();
    sti();
    bool first = wait_irq(0, start, MAX_POLLS);
    int more = ticks_during(10);
    uint8_t isr = pic_read_isr(false);
    irq_no_eoi = 0;
    outb(PIC1_CMD, PIC_EOI);
    bool after_eoi = wait_irq(0, irq_count[0], MAX_POLLS);
    cli();
    uint8_t isr_after = pic_read_isr(false);
    if (!first)
        fail(r, "no first IRQ0");
    else if (more != 0)
        fail(r, "%d more IRQ0 ticks in 10 ms without an EOI", more);
    else if (!(isr & 1))
        fail(r, "ISR 0x%x without EOI, want bit 0", isr);
    else if (!after_eoi)
        fail(r, "no IRQ0 after the EOI");
    else
        expect_eq(r, "ISR bit 0 after EOIs", isr_after & 1, 0);
}

/* Polls the master IRR until IRQ0 is pending (interrupts off). */
static bool wait_irr0(void)
{
    for (unsigned i = 0; i < MAX_POLLS; i++)
        if (pic_read_irr(false) & 1)
            return true;
    return false;
}

/* Start the ticks with IF=0 and wait until one is pending in the IRR,
 * none taken. */
static bool tick_pending_with_if0(struct result *r, unsigned start)
{
    start_ticks(); /* IF stays 0 */
    if (!wait_irr0()) {
        fail(r, "IRR bit 0 never set with IRQ0 unmasked and IF=0");
        return false;
    }
    return expect_eq(r, "ticks taken with IF=0", irq_count[0] - start, 0);
}

void check_irq_irr_pending(struct result *r)
{
    unsigned start = irq_count[0];

    if (!tick_pending_with_if0(r, start))
        return;
    sti();
    __asm__ volatile("nop; nop");
    cli();
    /* A second tick may follow if the host stalled us in the handler. */
    if (irq_count[0] == start)
        fail(r, "no tick once IF=1");
}

void check_irq_popf_if(struct result *r)
{
    unsigned start = irq_count[0];

    if (!tick_pending_with_if0(r, start))
        return;
    write_eflags(EFLAGS_FIXED | EFLAGS_IF); /* POPF, not STI */
    __asm__ volatile("nop; nop");
    cli();
    if (irq_count[0] == start)
        fail(r, "no tick once POPF set IF");
}

void check_irq_sti_shadow(struct result *r)
{
    start_ticks();
    if (!wait_irr0()) {
        fail(r, "IRR bit 0 never set");
        return;
    }
    irq_first_eip = 0;
    probe_sti_shadow(0);
    /* The interrupt comes after the instruction that follows STI. */
    expect_eq(r, "EIP of the interrupt", irq_first_eip,
              ADDR(probe_sti_shadow_second));
}

void check_irq_pit_latch(struct result *r)
{
    uint16_t first = 0, v = 0;

    pit_start_ch0(TICK_COUNT);
    for (unsigned i = 0; i < 100000; i++) {
        outb(PIT_MODE, PIT_LATCH_CH0);
        v = inb(PIT_CH0);
        v |= (uint16_t)(inb(PIT_CH0) << 8);
        if (v > TICK_COUNT) {
            fail(r, "latched count %u above the reload value %u", v,
                 TICK_COUNT);
            return;
        }
        if (i == 0)
            first = v;
        else if (v != first)
            return;
    }
    fail(r, "latched count stuck at %u", first);
}

void check_irq_pit_ch2_out(struct result *r)
{
    pit_start_ch2((uint16_t)MS(5));
    uint8_t at_start = inb(0x61);
    if (at_start & 0x20)
        fail(r, "OUT2 high right after starting a 5 ms count (0x61=0x%x)",
             at_start);
    else if (!pit_wait_ch2(MAX_POLLS))
        fail(r, "OUT2 still low after %u polls", MAX_POLLS);
}
