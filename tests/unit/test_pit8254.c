/* Unit tests for vmm/dev/pit8254.c: counts, OUT, IRQ 0 and port 0x61 on a
 * clock the test moves (ports 0x40-0x43, 0x61). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_machine.h"
#include "vmm/dev/pit8254.h"

#define CH0 0x40
#define CH2 0x42
#define MODE 0x43
#define P61 0x61
#define P61_GATE2 0x01
#define P61_SPEAKER 0x02
#define P61_REFRESH 0x10
#define P61_OUT2 0x20

#define START_NS 5000000000ull

struct pit_fixture {
    struct fake_machine *m;
    struct pit8254 *pit;
};

static int setup(void **state)
{
    struct pit_fixture *f = calloc(1, sizeof(*f));
    f->m = fake_machine_new(START_NS, 0);
    f->pit = fake_machine_add(f->m, &pit_device);
    /* IRQ 0 unmasked, vector base as firmware left it. */
    outb_(f->m, 0x21, 0xfe);
    *state = f;
    return f->pit ? 0 : -1;
}

static int teardown(void **state)
{
    struct pit_fixture *f = *state;
    fake_machine_free(f->m);
    free(f);
    return 0;
}

/* Host nanoseconds from now until n PIT ticks have passed. */
static uint64_t ticks_ns(uint64_t n)
{
    return (n * 1000000000ull + PIT_HZ - 1) / PIT_HZ;
}

static void program(struct fake_machine *m, unsigned ch, uint8_t control,
                    uint16_t count)
{
    outb_(m, MODE, control);
    outb_(m, (uint16_t)(CH0 + ch), (uint8_t)count);
    outb_(m, (uint16_t)(CH0 + ch), (uint8_t)(count >> 8));
}

static uint16_t latched_count(struct fake_machine *m, unsigned ch)
{
    outb_(m, MODE, (uint8_t)(ch << 6)); /* counter latch command */
    uint16_t v = inb_(m, (uint16_t)(CH0 + ch));
    return (uint16_t)(v | inb_(m, (uint16_t)(CH0 + ch)) << 8);
}

static uint64_t irq0_edges(struct fake_machine *m)
{
    return m->vm->stats.irq0_raised;
}

static void mode2_count_follows_host_time(void **state)
{
    struct pit_fixture *f = *state;
    program(f->m, 0, 0x34, 1000); /* ch0, LSB/MSB, mode 2 */
    assert_int_equal(latched_count(f->m, 0), 1000);
    f->m->now_ns += ticks_ns(100);
    assert_int_equal(latched_count(f->m, 0), 900);
    f->m->now_ns += ticks_ns(950);
    assert_int_equal(latched_count(f->m, 0), 950); /* reloaded at 1000 */
}

static void mode2_irq0_once_per_period(void **state)
{
    struct pit_fixture *f = *state;
    program(f->m, 0, 0x34, 1193); /* about 1 kHz */
    uint64_t before = irq0_edges(f->m);
    /* Due at tick 1193, not before. */
    assert_int_equal(timers_next_deadline(&f->m->vm->timers),
                     f->m->now_ns + ticks_ns(1193));
    fake_machine_advance(f->m, ticks_ns(1192));
    assert_int_equal(irq0_edges(f->m), before);
    fake_machine_advance(f->m, ticks_ns(1193) - ticks_ns(1192));
    assert_int_equal(irq0_edges(f->m), before + 1);
    assert_true(f->m->vm->cpu->irq_pending);
    assert_int_equal(pic_intack(fake_pic(f->m)), 0x08);
    outb_(f->m, 0x20, 0x20);
    fake_machine_advance(f->m, ticks_ns(1193));
    assert_int_equal(irq0_edges(f->m), before + 2);
}

static void late_host_timer_gives_one_edge_and_keeps_the_phase(void **state)
{
    struct pit_fixture *f = *state;
    uint64_t t0 = f->m->now_ns;
    program(f->m, 0, 0x34, 1000);
    uint64_t before = irq0_edges(f->m);
    fake_machine_advance(f->m, ticks_ns(5500)); /* 5 periods late */
    assert_int_equal(irq0_edges(f->m), before + 1);
    assert_int_equal(timers_next_deadline(&f->m->vm->timers),
                     t0 + ticks_ns(6000));
}

static void mode0_out_rises_once_at_terminal_count(void **state)
{
    struct pit_fixture *f = *state;
    program(f->m, 0, 0x30, 500); /* mode 0 */
    uint64_t before = irq0_edges(f->m);
    assert_false(pit_out(f->pit, 0, f->m->now_ns));
    fake_machine_advance(f->m, ticks_ns(499));
    assert_int_equal(irq0_edges(f->m), before);
    assert_false(pit_out(f->pit, 0, f->m->now_ns));
    fake_machine_advance(f->m, ticks_ns(500) - ticks_ns(499));
    assert_int_equal(irq0_edges(f->m), before + 1);
    assert_true(pit_out(f->pit, 0, f->m->now_ns));
    /* One shot: nothing more is scheduled, and the counter wraps on. */
    assert_false(timers_armed(&f->m->vm->timers));
    f->m->now_ns += ticks_ns(10);
    assert_int_equal(latched_count(f->m, 0), 0xffff - 9);
}

static void mode3_square_wave_on_port61_bit5(void **state)
{
    struct pit_fixture *f = *state;
    outb_(f->m, P61, P61_GATE2);
    program(f->m, 2, 0xb6, 100); /* ch2, LSB/MSB, mode 3 */
    assert_true(inb_(f->m, P61) & P61_OUT2);
    f->m->now_ns += ticks_ns(49);
    assert_true(inb_(f->m, P61) & P61_OUT2);
    f->m->now_ns += ticks_ns(50) - ticks_ns(49);
    assert_false(inb_(f->m, P61) & P61_OUT2);
    f->m->now_ns += ticks_ns(100) - ticks_ns(50);
    assert_true(inb_(f->m, P61) & P61_OUT2);
}

/* Linux's pit_calibrate_tsc: gate on, speaker off, mode 0 on channel 2,
 * then poll port 0x61 bit 5 until the count runs out. */
static void channel2_mode0_calibration_like_linux(void **state)
{
    struct pit_fixture *f = *state;
    const uint16_t latch = 59659; /* 50 ms */
    outb_(f->m, P61, (uint8_t)((inb_(f->m, P61) & ~P61_SPEAKER) | P61_GATE2));
    outb_(f->m, MODE, 0xb0);
    outb_(f->m, CH2, latch & 0xff);
    outb_(f->m, CH2, latch >> 8);
    unsigned polls = 0;
    uint64_t start = f->m->now_ns;
    while (!(inb_(f->m, P61) & P61_OUT2) && polls < 100000) {
        f->m->now_ns += 1000; /* each poll takes 1 us of host time */
        polls++;
    }
    uint64_t took = f->m->now_ns - start;
    assert_true(took >= ticks_ns(latch) && took < ticks_ns(latch) + 2000);
    assert_true(inb_(f->m, P61) & P61_GATE2);
}

/* quick_pit_calibrate reads LSB then MSB of a free-running mode-0 count
 * and expects the MSB to step down every 256 ticks. */
static void channel2_msb_steps_down_every_256_ticks(void **state)
{
    struct pit_fixture *f = *state;
    outb_(f->m, P61, P61_GATE2);
    program(f->m, 2, 0xb0, 0xffff);
    for (unsigned i = 0; i < 10; i++) {
        f->m->now_ns = START_NS + ticks_ns(256 * i + 128);
        inb_(f->m, CH2);
        assert_int_equal(inb_(f->m, CH2), 0xff - i);
    }
}

static void gate_low_holds_a_mode0_count(void **state)
{
    struct pit_fixture *f = *state;
    outb_(f->m, P61, P61_GATE2);
    program(f->m, 2, 0xb0, 1000);
    f->m->now_ns += ticks_ns(100);
    outb_(f->m, P61, 0);
    f->m->now_ns += ticks_ns(5000);
    assert_int_equal(latched_count(f->m, 2), 900);
    assert_false(inb_(f->m, P61) & P61_OUT2);
    outb_(f->m, P61, P61_GATE2);
    f->m->now_ns += ticks_ns(50);
    assert_int_equal(latched_count(f->m, 2), 850);
}

static void gate_rising_edge_restarts_mode2(void **state)
{
    struct pit_fixture *f = *state;
    outb_(f->m, P61, P61_GATE2);
    program(f->m, 2, 0xb4, 1000);
    f->m->now_ns += ticks_ns(300);
    outb_(f->m, P61, 0);
    assert_true(inb_(f->m, P61) & P61_OUT2); /* gate low forces OUT high */
    outb_(f->m, P61, P61_GATE2);
    assert_int_equal(latched_count(f->m, 2), 1000);
}

static void latched_count_stays_until_read(void **state)
{
    struct pit_fixture *f = *state;
    program(f->m, 0, 0x34, 5000);
    f->m->now_ns += ticks_ns(1000);
    outb_(f->m, MODE, 0x00);
    f->m->now_ns += ticks_ns(1000);
    outb_(f->m, MODE, 0x00); /* a second latch does not overwrite */
    uint16_t v = inb_(f->m, CH0);
    v |= (uint16_t)(inb_(f->m, CH0) << 8);
    assert_int_equal(v, 4000);
    v = inb_(f->m, CH0); /* live again: 3000 now */
    v |= (uint16_t)(inb_(f->m, CH0) << 8);
    assert_int_equal(v, 3000);
}

static void readback_gives_status_then_count(void **state)
{
    struct pit_fixture *f = *state;
    program(f->m, 0, 0x34, 2000);
    f->m->now_ns += ticks_ns(10);
    outb_(f->m, MODE, 0xc2); /* read-back: count and status of ch0 */
    uint8_t status = inb_(f->m, CH0);
    assert_int_equal(status, 0x80 | 0x34); /* OUT high, LSB/MSB, mode 2 */
    uint16_t v = inb_(f->m, CH0);
    v |= (uint16_t)(inb_(f->m, CH0) << 8);
    assert_int_equal(v, 1990);
    /* Status only, after a control word: null count, OUT low (mode 0). */
    outb_(f->m, MODE, 0x30);
    outb_(f->m, MODE, 0xe2);
    assert_int_equal(inb_(f->m, CH0), 0x40 | 0x30);
}

static void lsb_only_and_msb_only_access(void **state)
{
    struct pit_fixture *f = *state;
    outb_(f->m, MODE, 0x14); /* ch0 LSB only, mode 2 */
    outb_(f->m, CH0, 200);
    f->m->now_ns += ticks_ns(50);
    assert_int_equal(inb_(f->m, CH0), 150);
    outb_(f->m, MODE, 0x24); /* MSB only: count 0x0300 */
    outb_(f->m, CH0, 0x03);
    f->m->now_ns += ticks_ns(0x100);
    assert_int_equal(inb_(f->m, CH0), 0x02);
}

static void mode4_out_low_for_one_tick(void **state)
{
    struct pit_fixture *f = *state;
    outb_(f->m, P61, P61_GATE2);
    program(f->m, 2, 0xb8, 300); /* mode 4 */
    f->m->now_ns += ticks_ns(299);
    assert_true(inb_(f->m, P61) & P61_OUT2);
    f->m->now_ns = START_NS + ticks_ns(300);
    assert_false(inb_(f->m, P61) & P61_OUT2);
    f->m->now_ns = START_NS + ticks_ns(301);
    assert_true(inb_(f->m, P61) & P61_OUT2);
}

static void bcd_counts_in_decimal(void **state)
{
    struct pit_fixture *f = *state;
    program(f->m, 0, 0x35, 0x1000); /* BCD 1000 */
    f->m->now_ns += ticks_ns(1);
    assert_int_equal(latched_count(f->m, 0), 0x0999);
}

static void port61_refresh_bit_toggles_and_gate_reads_back(void **state)
{
    struct pit_fixture *f = *state;
    f->m->now_ns = 15085ull * 1000;
    uint8_t a = inb_(f->m, P61);
    f->m->now_ns += 15085;
    uint8_t b = inb_(f->m, P61);
    assert_int_equal((a ^ b) & P61_REFRESH, P61_REFRESH);
    outb_(f->m, P61, P61_GATE2 | P61_SPEAKER);
    assert_int_equal(inb_(f->m, P61) & 3, 3);
}

static void firmware_state_ticks_18_hz_on_irq0(void **state)
{
    struct pit_fixture *f = *state;
    uint64_t before = irq0_edges(f->m);
    fake_machine_advance(f->m, ticks_ns(65536));
    assert_int_equal(irq0_edges(f->m), before + 1);
    outb_(f->m, MODE, 0xe2);
    assert_int_equal(inb_(f->m, CH0) & 0x3f, 0x34);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(mode2_count_follows_host_time),
        T(mode2_irq0_once_per_period),
        T(late_host_timer_gives_one_edge_and_keeps_the_phase),
        T(mode0_out_rises_once_at_terminal_count),
        T(mode3_square_wave_on_port61_bit5),
        T(channel2_mode0_calibration_like_linux),
        T(channel2_msb_steps_down_every_256_ticks),
        T(gate_low_holds_a_mode0_count),
        T(gate_rising_edge_restarts_mode2),
        T(latched_count_stays_until_read),
        T(readback_gives_status_then_count),
        T(lsb_only_and_msb_only_access),
        T(mode4_out_low_for_one_tick),
        T(bcd_counts_in_decimal),
        T(port61_refresh_bit_toggles_and_gate_reads_back),
        T(firmware_state_ticks_18_hz_on_irq0),
    };
    return cmocka_run_group_tests_name("pit8254", tests, NULL, NULL);
}
