/* Unit tests for vmm/dev/acpi_pm.c: the PM timer's rate and 24-bit wrap,
 * TMR_STS, PM1_EN, PM1_CNT and S5 power-off, odd access sizes, on a
 * clock the test moves (ports 0x600-0x60b). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_machine.h"
#include "vmm/dev/acpi_pm.h"

#define STS ACPI_PM1_EVT_BLK
#define EN (ACPI_PM1_EVT_BLK + 2)
#define CNT ACPI_PM1_CNT_BLK
#define TMR ACPI_PM_TMR_BLK

#define START_NS 7000000000ull
#define TICKS_23 (1ull << 23) /* TMR_STS period */

static int setup(void **state)
{
    struct fake_machine *m = fake_machine_new(START_NS, 0);
    *state = m;
    return m && fake_machine_add(m, &acpi_pm_device) ? 0 : -1;
}

static int teardown(void **state)
{
    fake_machine_free(*state);
    return 0;
}

/* Guest nanoseconds from start until n timer ticks have passed. */
static uint64_t ticks_ns(uint64_t n)
{
    return (n * 1000000000ull + ACPI_PM_TIMER_HZ - 1) / ACPI_PM_TIMER_HZ;
}

static uint32_t in_(struct fake_machine *m, uint16_t port, unsigned size)
{
    return ioport_in(&m->vm->io, port, size);
}

static void out_(struct fake_machine *m, uint16_t port, unsigned size,
                 uint32_t v)
{
    ioport_out(&m->vm->io, port, size, v);
}

static void at(struct fake_machine *m, uint64_t ticks)
{
    m->now_ns = START_NS + ticks_ns(ticks);
}

static void timer_starts_at_zero_and_counts_at_3_579545_mhz(void **state)
{
    struct fake_machine *m = *state;
    assert_int_equal(in_(m, TMR, 4), 0);
    m->now_ns = START_NS + 1000000; /* 1 ms */
    assert_int_equal(in_(m, TMR, 4), 3579);
    m->now_ns = START_NS + 1000000000ull; /* 1 s */
    assert_int_equal(in_(m, TMR, 4), ACPI_PM_TIMER_HZ);
    at(m, 123456);
    assert_int_equal(in_(m, TMR, 4), 123456);
    m->now_ns -= 1; /* the tick has not begun a nanosecond earlier */
    assert_int_equal(in_(m, TMR, 4), 123455);
}

static void timer_wraps_at_24_bits(void **state)
{
    struct fake_machine *m = *state;
    at(m, ACPI_PM_TIMER_MASK);
    assert_int_equal(in_(m, TMR, 4), 0xffffff);
    at(m, ACPI_PM_TIMER_MASK + 1ull);
    assert_int_equal(in_(m, TMR, 4), 0); /* bits 24-31 always 0 */
    at(m, 5ull * (ACPI_PM_TIMER_MASK + 1ull) + 77);
    assert_int_equal(in_(m, TMR, 4), 77);
}

static void timer_reads_by_bytes_and_words(void **state)
{
    struct fake_machine *m = *state;
    at(m, 0xabcdef);
    assert_int_equal(in_(m, TMR, 1), 0xef);
    assert_int_equal(in_(m, TMR + 1, 1), 0xcd);
    assert_int_equal(in_(m, TMR + 2, 1), 0xab);
    assert_int_equal(in_(m, TMR + 3, 1), 0x00);
    assert_int_equal(in_(m, TMR, 2), 0xcdef);
    assert_int_equal(in_(m, TMR + 2, 2), 0x00ab);
    /* a dword at 0x60a runs past the block: those bytes float */
    assert_int_equal(in_(m, TMR + 2, 4), 0xffff00ab);
}

static void timer_ignores_writes(void **state)
{
    struct fake_machine *m = *state;
    at(m, 1000);
    out_(m, TMR, 4, 0x12345678);
    out_(m, TMR + 3, 1, 0xff);
    assert_int_equal(in_(m, TMR, 4), 1000);
}

static void tmr_sts_sets_when_bit_23_changes(void **state)
{
    struct fake_machine *m = *state;
    assert_int_equal(in_(m, STS, 2), 0);
    at(m, TICKS_23 - 1);
    assert_int_equal(in_(m, STS, 2), 0);
    at(m, TICKS_23); /* bit 23 rises */
    assert_int_equal(in_(m, STS, 2), ACPI_PM1_TMR);
    at(m, 2 * TICKS_23 + 10); /* and falls: still set, not counted */
    assert_int_equal(in_(m, STS, 2), ACPI_PM1_TMR);
}

static void tmr_sts_is_write_one_to_clear(void **state)
{
    struct fake_machine *m = *state;
    at(m, TICKS_23 + 5);
    out_(m, STS, 2, 0); /* writing 0 changes nothing */
    assert_int_equal(in_(m, STS, 2), ACPI_PM1_TMR);
    out_(m, STS, 2, 0xffff); /* ACPICA clears everything this way */
    assert_int_equal(in_(m, STS, 2), 0);
    at(m, 2 * TICKS_23 - 1);
    assert_int_equal(in_(m, STS, 2), 0);
    at(m, 2 * TICKS_23); /* bit 23 falls: set again */
    assert_int_equal(in_(m, STS, 1), ACPI_PM1_TMR);
    out_(m, STS, 1, ACPI_PM1_TMR); /* a byte write clears it too */
    assert_int_equal(in_(m, STS, 2), 0);
}

static void pm1_en_keeps_the_defined_bits(void **state)
{
    struct fake_machine *m = *state;
    assert_int_equal(in_(m, EN, 2), 0);
    out_(m, EN, 2, 0xffff);
    assert_int_equal(in_(m, EN, 2), ACPI_PM1_EN_MASK);
    out_(m, EN + 1, 1, 0); /* high byte alone: PWRBTN_EN, RTC_EN off */
    assert_int_equal(in_(m, EN, 2), ACPI_PM1_TMR | ACPI_PM1_GBL);
    /* one dword over STS and EN: clears status, sets enables */
    at(m, TICKS_23);
    out_(m, STS, 4, (uint32_t)ACPI_PM1_RTC << 16 | ACPI_PM1_TMR);
    assert_int_equal(in_(m, STS, 4), (uint32_t)ACPI_PM1_RTC << 16);
}

static void pm1_cnt_reset_state_is_acpi_mode(void **state)
{
    struct fake_machine *m = *state;
    assert_int_equal(in_(m, CNT, 2), ACPI_PM1_SCI_EN);
    out_(m, CNT, 2, 0); /* no legacy mode to go back to */
    assert_int_equal(in_(m, CNT, 2), ACPI_PM1_SCI_EN);
    out_(m, CNT, 2, ACPI_PM1_BM_RLD | ACPI_PM1_GBL_RLS | 3u << 10);
    assert_int_equal(in_(m, CNT, 2),
                     ACPI_PM1_SCI_EN | ACPI_PM1_BM_RLD | 3u << 10);
    /* bytes 0x606-0x607 are not ours */
    assert_int_equal(in_(m, CNT, 4) >> 16, 0xffff);
    assert_false(m->vm->exit_requested);
}

static void slp_en_with_other_types_does_nothing(void **state)
{
    struct fake_machine *m = *state;
    out_(m, CNT, 2, ACPI_PM1_SCI_EN | 1u << 10 | ACPI_PM1_SLP_EN); /* S1 */
    assert_false(m->vm->exit_requested);
    assert_int_equal(in_(m, CNT, 2), ACPI_PM1_SCI_EN | 1u << 10);
}

static void slp_typ_s5_without_slp_en_does_nothing(void **state)
{
    struct fake_machine *m = *state;
    out_(m, CNT, 2, 5u << 10);
    out_(m, CNT, 2, ACPI_SLP_TYP_S5 << 10 | ACPI_PM1_SCI_EN);
    assert_false(m->vm->exit_requested);
}

static void slp_en_with_s5_powers_off(void **state)
{
    struct fake_machine *m = *state;
    /* ACPICA writes SLP_TYP first, then SLP_TYP | SLP_EN */
    out_(m, CNT, 2, ACPI_SLP_TYP_S5 << 10 | ACPI_PM1_SCI_EN);
    out_(m, CNT, 2, ACPI_SLP_TYP_S5 << 10 | ACPI_PM1_SLP_EN | 1);
    assert_true(m->vm->exit_requested);
    assert_int_equal(m->vm->exit_status, 0);
    assert_false(m->vm->reset_requested);
    assert_int_equal(m->vm->cpu->run, 0);
}

static void slp_en_by_a_high_byte_write_powers_off(void **state)
{
    struct fake_machine *m = *state;
    out_(m, CNT + 1, 1, (ACPI_PM1_SLP_EN | ACPI_SLP_TYP_S5 << 10) >> 8);
    assert_true(m->vm->exit_requested);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(timer_starts_at_zero_and_counts_at_3_579545_mhz),
        T(timer_wraps_at_24_bits),
        T(timer_reads_by_bytes_and_words),
        T(timer_ignores_writes),
        T(tmr_sts_sets_when_bit_23_changes),
        T(tmr_sts_is_write_one_to_clear),
        T(pm1_en_keeps_the_defined_bits),
        T(pm1_cnt_reset_state_is_acpi_mode),
        T(slp_en_with_other_types_does_nothing),
        T(slp_typ_s5_without_slp_en_does_nothing),
        T(slp_en_with_s5_powers_off),
        T(slp_en_by_a_high_byte_write_powers_off),
    };
    return cmocka_run_group_tests_name("acpi_pm", tests, NULL, NULL);
}
