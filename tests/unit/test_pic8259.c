/* Unit tests for vmm/dev/pic8259.c: the 8259A pair, ELCR and the CPU's
 * INTR/INTA, driven through ports 0x20/0x21, 0xa0/0xa1, 0x4d0/0x4d1. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_machine.h"

#define M_CMD 0x20
#define M_DATA 0x21
#define S_CMD 0xa0
#define S_DATA 0xa1
#define ELCR0 0x4d0
#define ELCR1 0x4d1
#define OCW2_EOI 0x20
#define OCW2_SPECIFIC_EOI 0x60
#define OCW2_ROTATE_EOI 0xa0
#define OCW3_READ_IRR 0x0a
#define OCW3_READ_ISR 0x0b
#define OCW3_POLL 0x0c
#define OCW3_SET_SMM 0x68
#define MBASE 0x20
#define SBASE 0x28

static int setup(void **state)
{
    *state = fake_machine_new(1000, 0);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    fake_machine_free(*state);
    return 0;
}

/* ICW1 (edge, cascade, ICW4) .. ICW4 (8086) on both, as Linux does, then
 * the masks. */
static void init_pair(struct fake_machine *m, uint8_t mmask, uint8_t smask,
                      uint8_t icw4)
{
    outb_(m, M_CMD, 0x11);
    outb_(m, M_DATA, MBASE);
    outb_(m, M_DATA, 0x04); /* slave on IRQ 2 */
    outb_(m, M_DATA, icw4);
    outb_(m, S_CMD, 0x11);
    outb_(m, S_DATA, SBASE);
    outb_(m, S_DATA, 0x02); /* cascade identity */
    outb_(m, S_DATA, icw4);
    outb_(m, M_DATA, mmask);
    outb_(m, S_DATA, smask);
}

static void irq_pulse(struct fake_machine *m, unsigned irq)
{
    pic_set_irq(fake_pic(m), irq, true);
    pic_set_irq(fake_pic(m), irq, false);
}

static uint8_t read_isr(struct fake_machine *m, uint16_t cmd)
{
    outb_(m, cmd, OCW3_READ_ISR);
    uint8_t v = inb_(m, cmd);
    outb_(m, cmd, OCW3_READ_IRR);
    return v;
}

static uint32_t intr(struct fake_machine *m)
{
    return m->vm->cpu->irq_pending;
}

static void firmware_state_is_what_seabios_leaves(void **state)
{
    struct fake_machine *m = *state;
    assert_int_equal(inb_(m, M_DATA), 0xb8);
    assert_int_equal(inb_(m, S_DATA), 0x8e);
    assert_int_equal(inb_(m, ELCR0), 0x00);
    assert_int_equal(inb_(m, ELCR1), 0x0c);
    /* Vector base 0x08: IRQ 0 comes as vector 8. */
    pic_set_irq(fake_pic(m), 0, true);
    assert_int_equal(pic_intack(fake_pic(m)), 0x08);
}

static void icw_sequence_sets_vectors_and_ocw1_masks(void **state)
{
    struct fake_machine *m = *state;
    init_pair(m, 0xfb, 0xff, 0x01);
    assert_int_equal(inb_(m, M_DATA), 0xfb);
    assert_int_equal(inb_(m, S_DATA), 0xff);
    outb_(m, M_DATA, 0xf7); /* unmask IRQ 3 only */
    irq_pulse(m, 3);
    assert_true(intr(m));
    assert_int_equal(pic_intack(fake_pic(m)), MBASE + 3);
}

static void icw1_clears_the_mask(void **state)
{
    struct fake_machine *m = *state;
    outb_(m, M_CMD, 0x11);
    assert_int_equal(inb_(m, M_DATA), 0x00);
}

static void rising_intr_sets_irq_pending_and_stops_the_cpu(void **state)
{
    struct fake_machine *m = *state;
    init_pair(m, 0xfe, 0xff, 0x01);
    assert_false(intr(m));
    assert_int_equal(m->vm->cpu->run, 1);
    pic_set_irq(fake_pic(m), 0, true);
    assert_true(intr(m));
    assert_int_equal(m->vm->cpu->run, 0); /* leave chained code now */
    pic_intack(fake_pic(m));
    assert_false(intr(m)); /* taken: in service, no new request */
}

static void edge_input_latches_once_per_rising_edge(void **state)
{
    struct fake_machine *m = *state;
    init_pair(m, 0x00, 0xff, 0x01);
    pic_set_irq(fake_pic(m), 3, true);
    assert_int_equal(pic_intack(fake_pic(m)), MBASE + 3);
    outb_(m, M_CMD, OCW2_EOI);
    pic_set_irq(fake_pic(m), 3, true); /* still high: no edge */
    assert_false(intr(m));
    pic_set_irq(fake_pic(m), 3, false);
    pic_set_irq(fake_pic(m), 3, true);
    assert_true(intr(m));
    assert_int_equal(m->vm->stats.irq3_raised, 2);
}

static void masked_request_waits_in_irr(void **state)
{
    struct fake_machine *m = *state;
    init_pair(m, 0xff, 0xff, 0x01);
    irq_pulse(m, 5);
    assert_false(intr(m));
    outb_(m, M_CMD, OCW3_READ_IRR);
    assert_int_equal(inb_(m, M_CMD), 0x20);
    outb_(m, M_DATA, 0xdf);
    assert_true(intr(m));
    assert_int_equal(pic_intack(fake_pic(m)), MBASE + 5);
}

static void lower_priority_waits_for_eoi_higher_nests(void **state)
{
    struct fake_machine *m = *state;
    init_pair(m, 0x00, 0xff, 0x01);
    irq_pulse(m, 5);
    assert_int_equal(pic_intack(fake_pic(m)), MBASE + 5);
    irq_pulse(m, 6);
    assert_false(intr(m)); /* IRQ 6 < IRQ 5 in priority */
    irq_pulse(m, 3);
    assert_true(intr(m)); /* IRQ 3 nests */
    assert_int_equal(pic_intack(fake_pic(m)), MBASE + 3);
    assert_int_equal(read_isr(m, M_CMD), 0x28);
    outb_(m, M_CMD, OCW2_EOI); /* ends IRQ 3, the highest in service */
    assert_int_equal(read_isr(m, M_CMD), 0x20);
    assert_false(intr(m));
    outb_(m, M_CMD, OCW2_EOI);
    assert_true(intr(m));
    assert_int_equal(pic_intack(fake_pic(m)), MBASE + 6);
}

static void specific_eoi_clears_the_named_level(void **state)
{
    struct fake_machine *m = *state;
    init_pair(m, 0x00, 0xff, 0x01);
    irq_pulse(m, 5);
    pic_intack(fake_pic(m));
    irq_pulse(m, 1);
    pic_intack(fake_pic(m));
    assert_int_equal(read_isr(m, M_CMD), 0x22);
    outb_(m, M_CMD, OCW2_SPECIFIC_EOI | 5);
    assert_int_equal(read_isr(m, M_CMD), 0x02);
}

static void auto_eoi_leaves_isr_clear(void **state)
{
    struct fake_machine *m = *state;
    init_pair(m, 0x00, 0xff, 0x03); /* 8086 + AEOI */
    irq_pulse(m, 4);
    assert_int_equal(pic_intack(fake_pic(m)), MBASE + 4);
    assert_int_equal(read_isr(m, M_CMD), 0x00);
    irq_pulse(m, 7);
    assert_true(intr(m)); /* nothing in service blocks it */
}

static void rotate_on_eoi_makes_the_served_level_lowest(void **state)
{
    struct fake_machine *m = *state;
    init_pair(m, 0x00, 0xff, 0x01);
    irq_pulse(m, 1);
    assert_int_equal(pic_intack(fake_pic(m)), MBASE + 1);
    outb_(m, M_CMD, OCW2_ROTATE_EOI); /* IRQ 1 now lowest, IRQ 2 highest */
    irq_pulse(m, 0);
    irq_pulse(m, 3);
    assert_int_equal(pic_intack(fake_pic(m)), MBASE + 3);
}

static void ocw3_selects_irr_or_isr(void **state)
{
    struct fake_machine *m = *state;
    init_pair(m, 0x00, 0xff, 0x01);
    irq_pulse(m, 6);
    outb_(m, M_CMD, OCW3_READ_IRR);
    assert_int_equal(inb_(m, M_CMD), 0x40);
    pic_intack(fake_pic(m));
    assert_int_equal(inb_(m, M_CMD), 0x00); /* IRR again: taken */
    outb_(m, M_CMD, OCW3_READ_ISR);
    assert_int_equal(inb_(m, M_CMD), 0x40);
    assert_int_equal(inb_(m, M_CMD), 0x40); /* the choice sticks */
}

static void poll_reads_and_acknowledges_the_best_request(void **state)
{
    struct fake_machine *m = *state;
    init_pair(m, 0x00, 0xff, 0x01);
    irq_pulse(m, 6);
    irq_pulse(m, 4);
    outb_(m, M_CMD, OCW3_POLL);
    assert_int_equal(inb_(m, M_CMD), 0x84);
    assert_int_equal(read_isr(m, M_CMD), 0x10);
    outb_(m, M_CMD, OCW2_EOI);
    outb_(m, M_CMD, OCW3_POLL);
    assert_int_equal(inb_(m, M_CMD), 0x86);
    outb_(m, M_CMD, OCW2_EOI);
    outb_(m, M_CMD, OCW3_POLL);
    assert_int_equal(inb_(m, M_CMD), 0x00); /* nothing left */
}

static void cascade_gives_slave_vector_and_both_isr_bits(void **state)
{
    struct fake_machine *m = *state;
    init_pair(m, 0xfb, 0xfe, 0x01);
    pic_set_irq(fake_pic(m), 8, true);
    assert_true(intr(m));
    assert_int_equal(pic_intack(fake_pic(m)), SBASE + 0);
    assert_int_equal(read_isr(m, M_CMD), 0x04);
    assert_int_equal(read_isr(m, S_CMD), 0x01);
    outb_(m, S_CMD, OCW2_EOI);
    outb_(m, M_CMD, OCW2_EOI);
    assert_int_equal(read_isr(m, M_CMD), 0x00);
    assert_int_equal(read_isr(m, S_CMD), 0x00);
}

static void request_gone_before_inta_gives_spurious_irq7(void **state)
{
    struct fake_machine *m = *state;
    init_pair(m, 0x00, 0xff, 0x01);
    outb_(m, ELCR0, 0x08); /* IRQ 3 level-triggered */
    pic_set_irq(fake_pic(m), 3, true);
    assert_true(intr(m));
    pic_set_irq(fake_pic(m), 3, false); /* the device drops it */
    assert_false(intr(m));
    assert_int_equal(pic_intack(fake_pic(m)), MBASE + 7);
    assert_int_equal(read_isr(m, M_CMD), 0x00); /* no ISR bit 7 */
    assert_int_equal(m->vm->stats.irqs_spurious, 1);
}

static void slave_request_gone_gives_irq15_with_master_isr2(void **state)
{
    struct fake_machine *m = *state;
    init_pair(m, 0x00, 0x00, 0x01);
    outb_(m, ELCR1, 0x08); /* IRQ 11 level-triggered */
    pic_set_irq(fake_pic(m), 11, true);
    pic_set_irq(fake_pic(m), 11, false);
    /* The master latched the cascade edge: INTA still runs. */
    assert_true(intr(m));
    assert_int_equal(pic_intack(fake_pic(m)), SBASE + 7);
    assert_int_equal(read_isr(m, M_CMD), 0x04);
    assert_int_equal(read_isr(m, S_CMD), 0x00);
}

static void level_input_requests_until_lowered(void **state)
{
    struct fake_machine *m = *state;
    init_pair(m, 0x00, 0xff, 0x01);
    outb_(m, ELCR0, 0x20); /* IRQ 5 */
    pic_set_irq(fake_pic(m), 5, true);
    assert_int_equal(pic_intack(fake_pic(m)), MBASE + 5);
    outb_(m, M_CMD, OCW2_EOI);
    assert_true(intr(m)); /* still high: requests again */
    pic_set_irq(fake_pic(m), 5, false);
    assert_false(intr(m));
}

static void elcr_cannot_make_irq0_1_2_8_13_level(void **state)
{
    struct fake_machine *m = *state;
    outb_(m, ELCR0, 0xff);
    outb_(m, ELCR1, 0xff);
    assert_int_equal(inb_(m, ELCR0), 0xf8);
    assert_int_equal(inb_(m, ELCR1), 0xde);
}

static void icw1_ltim_makes_every_input_level(void **state)
{
    struct fake_machine *m = *state;
    outb_(m, M_CMD, 0x19); /* LTIM */
    outb_(m, M_DATA, MBASE);
    outb_(m, M_DATA, 0x04);
    outb_(m, M_DATA, 0x01);
    outb_(m, M_DATA, 0x00);
    pic_set_irq(fake_pic(m), 0, true);
    pic_intack(fake_pic(m));
    outb_(m, M_CMD, OCW2_EOI);
    assert_true(intr(m));
}

static void special_mask_mode_lets_lower_levels_in(void **state)
{
    struct fake_machine *m = *state;
    init_pair(m, 0x00, 0xff, 0x01);
    irq_pulse(m, 3);
    pic_intack(fake_pic(m));
    irq_pulse(m, 6);
    assert_false(intr(m));
    outb_(m, M_DATA, 0x08);         /* mask the level in service */
    outb_(m, M_CMD, OCW3_SET_SMM);
    assert_true(intr(m));
    assert_int_equal(pic_intack(fake_pic(m)), MBASE + 6);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(firmware_state_is_what_seabios_leaves),
        T(icw_sequence_sets_vectors_and_ocw1_masks),
        T(icw1_clears_the_mask),
        T(rising_intr_sets_irq_pending_and_stops_the_cpu),
        T(edge_input_latches_once_per_rising_edge),
        T(masked_request_waits_in_irr),
        T(lower_priority_waits_for_eoi_higher_nests),
        T(specific_eoi_clears_the_named_level),
        T(auto_eoi_leaves_isr_clear),
        T(rotate_on_eoi_makes_the_served_level_lowest),
        T(ocw3_selects_irr_or_isr),
        T(poll_reads_and_acknowledges_the_best_request),
        T(cascade_gives_slave_vector_and_both_isr_bits),
        T(request_gone_before_inta_gives_spurious_irq7),
        T(slave_request_gone_gives_irq15_with_master_isr2),
        T(level_input_requests_until_lowered),
        T(elcr_cannot_make_irq0_1_2_8_13_level),
        T(icw1_ltim_makes_every_input_level),
        T(special_mask_mode_lets_lower_levels_in),
    };
    return cmocka_run_group_tests_name("pic8259", tests, NULL, NULL);
}
