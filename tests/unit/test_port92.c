/* Unit tests for vmm/dev/port92.c (fast A20 and reset) and
 * vmm/dev/post80.c (the POST code port). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_machine.h"
#include "vmm/dev/port92.h"
#include "vmm/dev/post80.h"

static int setup(void **state)
{
    struct fake_machine *m = fake_machine_new(1000, 0);
    *state = m;
    return fake_machine_add(m, &port92_device) &&
                   fake_machine_add(m, &post80_device)
               ? 0
               : -1;
}

static int teardown(void **state)
{
    fake_machine_free(*state);
    return 0;
}

static void a20_is_on_after_firmware(void **state)
{
    struct fake_machine *m = *state;
    assert_int_equal(inb_(m, 0x92), PORT92_A20);
}

static void bit1_gates_address_line_20(void **state)
{
    struct fake_machine *m = *state;
    outb_(m, 0x92, 0x00);
    assert_int_equal(m->vm->cpu->a20_mask, ~0x100000u);
    assert_int_equal(inb_(m, 0x92), 0x00);
    outb_(m, 0x92, PORT92_A20);
    assert_int_equal(m->vm->cpu->a20_mask, 0xffffffffu);
    assert_false(m->vm->exit_requested);
}

static void rising_bit0_resets(void **state)
{
    struct fake_machine *m = *state;
    outb_(m, 0x92, PORT92_A20 | PORT92_RESET);
    assert_true(m->vm->reset_requested);
    assert_int_equal(m->vm->exit_status, 0);
    assert_int_equal(m->vm->cpu->run, 0);
}

static void bit0_already_set_does_not_reset_again(void **state)
{
    struct fake_machine *m = *state;
    struct port92 *p = m->dev[1];
    p->value = PORT92_A20 | PORT92_RESET;
    outb_(m, 0x92, PORT92_A20 | PORT92_RESET);
    assert_false(m->vm->exit_requested);
}

static void post_code_is_kept_and_reads_float(void **state)
{
    struct fake_machine *m = *state;
    struct post80 *p = m->dev[2];
    outb_(m, 0x80, 0x42);
    assert_int_equal(p->last_code, 0x42);
    assert_int_equal(inb_(m, 0x80), 0xff);
}

/* A second device on claimed ports fails before any guest code runs,
 * naming the range and its label (device_claim_ports). */
static void second_claim_of_a_port_fails_with_its_name(void **state)
{
    struct fake_machine *m = *state;
    char err[128] = "";
    assert_null(post80_device.create(m->vm, err, sizeof(err)));
    assert_string_equal(err, "post80: cannot claim port 0x80 (post80)");
    /* the first owner still answers */
    outb_(m, 0x80, 0x17);
    assert_int_equal(((struct post80 *)m->dev[2])->last_code, 0x17);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(a20_is_on_after_firmware),
        T(bit1_gates_address_line_20),
        T(rising_bit0_resets),
        T(bit0_already_set_does_not_reset_again),
        T(post_code_is_kept_and_reads_float),
        T(second_claim_of_a_port_fails_with_its_name),
    };
    return cmocka_run_group_tests_name("port92_post80", tests, NULL, NULL);
}
