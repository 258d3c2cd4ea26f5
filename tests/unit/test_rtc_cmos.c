/* Unit tests for vmm/dev/rtc_cmos.c: time of day, formats, UIP, SET,
 * periodic/update/alarm interrupts on IRQ 8, CMOS memory (ports 0x70/0x71)
 * on a clock the test moves. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_machine.h"
#include "vmm/dev/rtc_cmos.h"

#define NS 1000000000ull
#define START_NS (1000 * NS)
/* At START_NS the host's UTC is 2024-02-29 23:59:58.5 (a Thursday). */
#define START_UTC_S 1709251198ll
#define WALL_OFFSET ((int64_t)(START_UTC_S * NS + NS / 2) - (int64_t)START_NS)

struct rtc_fixture {
    struct fake_machine *m;
    struct rtc_cmos *rtc;
};

static struct rtc_fixture *fixture_with_ram(uint32_t ram)
{
    struct rtc_fixture *f = calloc(1, sizeof(*f));
    f->m = fake_machine_new(START_NS, WALL_OFFSET);
    f->m->vm->ram_size = ram;
    f->rtc = fake_machine_add(f->m, &rtc_device);
    return f;
}

static int setup(void **state)
{
    struct rtc_fixture *f = fixture_with_ram(128u << 20);
    *state = f;
    return f->rtc ? 0 : -1;
}

static int teardown(void **state)
{
    struct rtc_fixture *f = *state;
    fake_machine_free(f->m);
    free(f);
    return 0;
}

static uint8_t cmos_read(struct rtc_fixture *f, uint8_t reg)
{
    outb_(f->m, 0x70, reg);
    return inb_(f->m, 0x71);
}

static void cmos_write(struct rtc_fixture *f, uint8_t reg, uint8_t val)
{
    outb_(f->m, 0x70, reg);
    outb_(f->m, 0x71, val);
}

static uint64_t irq8_edges(struct rtc_fixture *f)
{
    return f->m->vm->stats.irq8_raised;
}

static void time_reads_as_bcd_24_hour(void **state)
{
    struct rtc_fixture *f = *state;
    assert_int_equal(cmos_read(f, RTC_SEC), 0x58);
    assert_int_equal(cmos_read(f, RTC_MIN), 0x59);
    assert_int_equal(cmos_read(f, RTC_HOUR), 0x23);
    assert_int_equal(cmos_read(f, RTC_WDAY), 5); /* Sunday is 1 */
    assert_int_equal(cmos_read(f, RTC_MDAY), 0x29);
    assert_int_equal(cmos_read(f, RTC_MONTH), 0x02);
    assert_int_equal(cmos_read(f, RTC_YEAR), 0x24);
    assert_int_equal(cmos_read(f, RTC_CENTURY), 0x20);
    assert_int_equal(cmos_read(f, RTC_REG_A), 0x26);
    assert_int_equal(cmos_read(f, RTC_REG_B), 0x02);
    assert_int_equal(cmos_read(f, RTC_REG_D), 0x80);
}

static void time_follows_the_host_clock_over_a_leap_day(void **state)
{
    struct rtc_fixture *f = *state;
    f->m->now_ns += NS + NS / 2;
    assert_int_equal(cmos_read(f, RTC_SEC), 0x00);
    assert_int_equal(cmos_read(f, RTC_HOUR), 0x00);
    assert_int_equal(cmos_read(f, RTC_MDAY), 0x01);
    assert_int_equal(cmos_read(f, RTC_MONTH), 0x03);
    assert_int_equal(cmos_read(f, RTC_WDAY), 6);
}

static void binary_mode_per_register_b(void **state)
{
    struct rtc_fixture *f = *state;
    cmos_write(f, RTC_REG_B, RTC_B_24H | RTC_B_BINARY);
    assert_int_equal(cmos_read(f, RTC_SEC), 58);
    assert_int_equal(cmos_read(f, RTC_HOUR), 23);
    assert_int_equal(cmos_read(f, RTC_YEAR), 24);
    assert_int_equal(cmos_read(f, RTC_CENTURY), 20);
}

static void twelve_hour_mode_sets_the_pm_bit(void **state)
{
    struct rtc_fixture *f = *state;
    cmos_write(f, RTC_REG_B, 0);
    assert_int_equal(cmos_read(f, RTC_HOUR), 0x80 | 0x11);
    f->m->now_ns += 2 * NS; /* midnight is 12 AM */
    assert_int_equal(cmos_read(f, RTC_HOUR), 0x12);
}

static void uip_is_up_for_the_last_244_us_of_each_second(void **state)
{
    struct rtc_fixture *f = *state;
    uint64_t to_edge = NS / 2; /* the next second starts this far away */
    f->m->now_ns += to_edge - RTC_UIP_NS - 1;
    assert_false(cmos_read(f, RTC_REG_A) & RTC_A_UIP);
    f->m->now_ns += 1;
    assert_true(cmos_read(f, RTC_REG_A) & RTC_A_UIP);
    assert_int_equal(cmos_read(f, RTC_SEC), 0x58); /* not yet updated */
    f->m->now_ns += RTC_UIP_NS - 1;
    assert_true(cmos_read(f, RTC_REG_A) & RTC_A_UIP);
    f->m->now_ns += 1;
    assert_false(cmos_read(f, RTC_REG_A) & RTC_A_UIP);
    assert_int_equal(cmos_read(f, RTC_SEC), 0x59);
}

static void set_bit_freezes_and_the_written_time_applies(void **state)
{
    struct rtc_fixture *f = *state;
    cmos_write(f, RTC_REG_B, RTC_B_24H | RTC_B_SET);
    f->m->now_ns += 5 * NS;
    assert_int_equal(cmos_read(f, RTC_SEC), 0x58); /* frozen */
    assert_false(cmos_read(f, RTC_REG_A) & RTC_A_UIP);
    cmos_write(f, RTC_HOUR, 0x12);
    cmos_write(f, RTC_MIN, 0x34);
    cmos_write(f, RTC_SEC, 0x56);
    cmos_write(f, RTC_MDAY, 0x15);
    cmos_write(f, RTC_MONTH, 0x07);
    cmos_write(f, RTC_YEAR, 0x99);
    cmos_write(f, RTC_CENTURY, 0x19);
    cmos_write(f, RTC_REG_B, RTC_B_24H);
    assert_int_equal(cmos_read(f, RTC_SEC), 0x56);
    assert_int_equal(cmos_read(f, RTC_YEAR), 0x99);
    f->m->now_ns += NS;
    assert_int_equal(cmos_read(f, RTC_SEC), 0x57);
    assert_int_equal(cmos_read(f, RTC_MIN), 0x34);
    assert_int_equal(cmos_read(f, RTC_CENTURY), 0x19);
}

static void field_written_to_a_running_clock_applies(void **state)
{
    struct rtc_fixture *f = *state;
    cmos_write(f, RTC_MIN, 0x10);
    assert_int_equal(cmos_read(f, RTC_MIN), 0x10);
    assert_int_equal(cmos_read(f, RTC_HOUR), 0x23);
    f->m->now_ns += NS;
    assert_int_equal(cmos_read(f, RTC_SEC), 0x59);
}

/* Linux's mc146818_set_time: SET, divider reset, write, clear SET, then
 * restore the divider; the first update comes 500 ms later. */
static void divider_reset_restarts_half_a_second_from_update(void **state)
{
    struct rtc_fixture *f = *state;
    cmos_write(f, RTC_REG_B, RTC_B_24H | RTC_B_SET);
    cmos_write(f, RTC_REG_A, 0x70 | 0x06);
    cmos_write(f, RTC_SEC, 0x30);
    cmos_write(f, RTC_REG_B, RTC_B_24H);
    f->m->now_ns += 3 * NS;
    assert_int_equal(cmos_read(f, RTC_SEC), 0x30); /* divider held */
    cmos_write(f, RTC_REG_A, 0x26);
    f->m->now_ns += NS / 2 - 1;
    assert_int_equal(cmos_read(f, RTC_SEC), 0x30);
    f->m->now_ns += 1;
    assert_int_equal(cmos_read(f, RTC_SEC), 0x31);
}

static void periodic_interrupt_on_irq8_at_the_rate_of_register_a(void **state)
{
    struct rtc_fixture *f = *state;
    const uint64_t period = NS / 1024; /* rate 6 */
    cmos_read(f, RTC_REG_C);
    cmos_write(f, RTC_REG_B, RTC_B_24H | RTC_B_PIE);
    uint64_t due = timers_next_deadline(&f->m->vm->timers);
    assert_true(due > f->m->now_ns && due <= f->m->now_ns + period + 1);
    f->m->now_ns = due - 1;
    timers_run_due(&f->m->vm->timers);
    assert_int_equal(irq8_edges(f), 0);
    f->m->now_ns = due;
    timers_run_due(&f->m->vm->timers);
    assert_int_equal(irq8_edges(f), 1);
    /* Through the cascade: slave IRQ 0 as firmware set it up (0x70). */
    assert_true(f->m->vm->cpu->irq_pending);
    assert_int_equal(pic_intack(fake_pic(f->m)), 0x70);
    /* No second edge until register C is read. */
    fake_machine_advance(f->m, 3 * period);
    assert_int_equal(irq8_edges(f), 1);
    assert_int_equal(cmos_read(f, RTC_REG_C), RTC_C_IRQF | RTC_C_PF);
    assert_int_equal(cmos_read(f, RTC_REG_C), 0);
    fake_machine_advance(f->m, period);
    assert_int_equal(irq8_edges(f), 2);
    /* PIE off: no more. */
    cmos_write(f, RTC_REG_B, RTC_B_24H);
    cmos_read(f, RTC_REG_C);
    fake_machine_advance(f->m, 10 * period);
    assert_int_equal(irq8_edges(f), 2);
    assert_false(timers_armed(&f->m->vm->timers));
}

static void pf_is_set_without_pie_but_raises_nothing(void **state)
{
    struct rtc_fixture *f = *state;
    cmos_read(f, RTC_REG_C);
    f->m->now_ns += NS / 100;
    assert_int_equal(cmos_read(f, RTC_REG_C), RTC_C_PF);
    assert_int_equal(irq8_edges(f), 0);
}

static void update_ended_interrupt_each_second(void **state)
{
    struct rtc_fixture *f = *state;
    cmos_read(f, RTC_REG_C);
    cmos_write(f, RTC_REG_B, RTC_B_24H | RTC_B_UIE);
    assert_int_equal(timers_next_deadline(&f->m->vm->timers),
                     f->m->now_ns + NS / 2);
    fake_machine_advance(f->m, NS / 2);
    assert_int_equal(irq8_edges(f), 1);
    assert_int_equal(cmos_read(f, RTC_REG_C) & ~RTC_C_PF,
                     RTC_C_IRQF | RTC_C_UF);
    fake_machine_advance(f->m, NS);
    assert_int_equal(irq8_edges(f), 2);
}

static void alarm_interrupt_at_the_alarm_time(void **state)
{
    struct rtc_fixture *f = *state;
    cmos_write(f, RTC_SEC_ALARM, 0x00);
    cmos_write(f, RTC_MIN_ALARM, 0x00);
    cmos_write(f, RTC_HOUR_ALARM, 0xc0); /* any hour */
    cmos_read(f, RTC_REG_C);
    cmos_write(f, RTC_REG_B, RTC_B_24H | RTC_B_AIE);
    fake_machine_advance(f->m, NS / 2); /* 23:59:59: no match */
    assert_int_equal(irq8_edges(f), 0);
    fake_machine_advance(f->m, NS); /* 00:00:00 */
    assert_int_equal(irq8_edges(f), 1);
    assert_int_equal(cmos_read(f, RTC_REG_C) & (RTC_C_IRQF | RTC_C_AF),
                     RTC_C_IRQF | RTC_C_AF);
}

static void register_c_read_lowers_irq8(void **state)
{
    struct rtc_fixture *f = *state;
    cmos_read(f, RTC_REG_C);
    cmos_write(f, RTC_REG_B, RTC_B_24H | RTC_B_PIE);
    fake_machine_advance(f->m, NS / 1024 + 1);
    pic_intack(fake_pic(f->m));
    outb_(f->m, 0xa0, 0x20);
    outb_(f->m, 0x20, 0x20);
    assert_false(f->m->vm->cpu->irq_pending);
    cmos_read(f, RTC_REG_C);
    outb_(f->m, 0xa0, 0x0a);
    assert_int_equal(inb_(f->m, 0xa0) & 1, 0); /* IRR: nothing new */
    assert_false(f->rtc->irq_level);
}

static void index_bit7_nmi_mask_is_ignored(void **state)
{
    struct rtc_fixture *f = *state;
    outb_(f->m, 0x70, 0x80 | RTC_REG_D);
    assert_int_equal(inb_(f->m, 0x71), RTC_D_VRT);
    assert_int_equal(inb_(f->m, 0x70), 0xff);
}

static void cmos_ram_keeps_bytes_and_c_d_are_read_only(void **state)
{
    struct rtc_fixture *f = *state;
    cmos_write(f, 0x3f, 0x5a);
    cmos_write(f, 0x7f, 0xa5);
    assert_int_equal(cmos_read(f, 0x3f), 0x5a);
    assert_int_equal(cmos_read(f, 0x7f), 0xa5);
    cmos_write(f, RTC_REG_D, 0x00);
    assert_int_equal(cmos_read(f, RTC_REG_D), RTC_D_VRT);
    cmos_write(f, RTC_REG_A, 0xa6); /* UIP is read-only */
    assert_int_equal(cmos_read(f, RTC_REG_A), 0x26);
}

static void memory_sizes_like_qemu_for_128m(void **state)
{
    struct rtc_fixture *f = *state;
    assert_int_equal(cmos_read(f, 0x15) | cmos_read(f, 0x16) << 8, 640);
    assert_int_equal(cmos_read(f, 0x17) | cmos_read(f, 0x18) << 8, 0xffff);
    assert_int_equal(cmos_read(f, 0x30) | cmos_read(f, 0x31) << 8, 0xffff);
    assert_int_equal(cmos_read(f, 0x34) | cmos_read(f, 0x35) << 8,
                     (128 - 16) * 16);
}

static void memory_sizes_for_8m_and_3g(void **state)
{
    (void)state;
    struct rtc_fixture *f = fixture_with_ram(8u << 20);
    assert_int_equal(cmos_read(f, 0x17) | cmos_read(f, 0x18) << 8, 7 * 1024);
    assert_int_equal(cmos_read(f, 0x30) | cmos_read(f, 0x31) << 8, 7 * 1024);
    assert_int_equal(cmos_read(f, 0x34) | cmos_read(f, 0x35) << 8, 0);
    fake_machine_free(f->m);
    free(f);
    f = fixture_with_ram(3u << 30);
    assert_int_equal(cmos_read(f, 0x34) | cmos_read(f, 0x35) << 8,
                     (3072 - 16) * 16);
    assert_int_equal(cmos_read(f, 0x5b), 0);
    fake_machine_free(f->m);
    free(f);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(time_reads_as_bcd_24_hour),
        T(time_follows_the_host_clock_over_a_leap_day),
        T(binary_mode_per_register_b),
        T(twelve_hour_mode_sets_the_pm_bit),
        T(uip_is_up_for_the_last_244_us_of_each_second),
        T(set_bit_freezes_and_the_written_time_applies),
        T(field_written_to_a_running_clock_applies),
        T(divider_reset_restarts_half_a_second_from_update),
        T(periodic_interrupt_on_irq8_at_the_rate_of_register_a),
        T(pf_is_set_without_pie_but_raises_nothing),
        T(update_ended_interrupt_each_second),
        T(alarm_interrupt_at_the_alarm_time),
        T(register_c_read_lowers_irq8),
        T(index_bit7_nmi_mask_is_ignored),
        T(cmos_ram_keeps_bytes_and_c_d_are_read_only),
        T(memory_sizes_like_qemu_for_128m),
        cmocka_unit_test(memory_sizes_for_8m_and_3g),
    };
    return cmocka_run_group_tests_name("rtc_cmos", tests, NULL, NULL);
}
