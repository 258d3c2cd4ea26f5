/* Unit tests for vmm/dev/i8042.c: the keyboard controller at 0x60/0x64
 * (tests, command byte, output port, A20, reset, keyboard replies). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_machine.h"
#include "vmm/dev/i8042.h"

#define DATA 0x60
#define CMD 0x64

static int setup(void **state)
{
    struct fake_machine *m = fake_machine_new(1000, 0);
    *state = m;
    return fake_machine_add(m, &i8042_device) ? 0 : -1;
}

static int teardown(void **state)
{
    fake_machine_free(*state);
    return 0;
}

static uint8_t status(struct fake_machine *m)
{
    return inb_(m, CMD);
}

/* A controller command and the byte it answers with. */
static int command_reply(struct fake_machine *m, uint8_t cmd)
{
    outb_(m, CMD, cmd);
    if (!(status(m) & I8042_STR_OBF))
        return -1;
    return inb_(m, DATA);
}

static void flush(struct fake_machine *m)
{
    while (status(m) & I8042_STR_OBF)
        inb_(m, DATA);
}

static void status_after_firmware_has_sys_and_no_data(void **state)
{
    struct fake_machine *m = *state;
    uint8_t s = status(m);
    assert_true(s & I8042_STR_SYS);
    assert_true(s & I8042_STR_UNLOCKED);
    assert_false(s & (I8042_STR_OBF | I8042_STR_IBF | I8042_STR_AUXOBF));
    assert_int_equal(command_reply(m, 0x20), 0x61);
}

static void self_test_answers_0x55_and_read_empties_the_buffer(void **state)
{
    struct fake_machine *m = *state;
    assert_int_equal(command_reply(m, 0xaa), 0x55);
    assert_false(status(m) & I8042_STR_OBF);
    assert_true(status(m) & I8042_STR_SYS);
    assert_true(status(m) & I8042_STR_CMD); /* the last write was 0x64 */
}

static void keyboard_interface_test_answers_0(void **state)
{
    struct fake_machine *m = *state;
    assert_int_equal(command_reply(m, 0xab), 0x00);
}

static void command_byte_write_reads_back_and_drives_sys(void **state)
{
    struct fake_machine *m = *state;
    outb_(m, CMD, 0x60);
    outb_(m, DATA, 0x45);
    assert_false(status(m) & I8042_STR_CMD);
    assert_int_equal(command_reply(m, 0x20), 0x45);
    outb_(m, CMD, 0x60);
    outb_(m, DATA, 0x41);
    assert_false(status(m) & I8042_STR_SYS);
}

static void disable_and_enable_bits_of_the_command_byte(void **state)
{
    struct fake_machine *m = *state;
    outb_(m, CMD, 0xad);
    outb_(m, CMD, 0xa8);
    assert_int_equal(command_reply(m, 0x20) & 0x30, I8042_CTR_KBDDIS);
    outb_(m, CMD, 0xae);
    outb_(m, CMD, 0xa7);
    assert_int_equal(command_reply(m, 0x20) & 0x30, I8042_CTR_AUXDIS);
}

static void output_port_a20_bit_gates_address_line_20(void **state)
{
    struct fake_machine *m = *state;
    assert_int_equal(command_reply(m, 0xd0) & 0x03, 0x03);
    outb_(m, CMD, 0xd1);
    outb_(m, DATA, 0xcd); /* A20 off, reset line high */
    assert_int_equal(m->vm->cpu->a20_mask, ~0x100000u);
    assert_int_equal(command_reply(m, 0xd0) & 0x03, 0x01);
    assert_false(m->vm->exit_requested);
    outb_(m, CMD, 0xdf);
    assert_int_equal(m->vm->cpu->a20_mask, 0xffffffffu);
    outb_(m, CMD, 0xdd);
    assert_int_equal(m->vm->cpu->a20_mask, ~0x100000u);
}

static void output_port_reset_bit_low_resets(void **state)
{
    struct fake_machine *m = *state;
    outb_(m, CMD, 0xd1);
    outb_(m, DATA, 0xce);
    assert_true(m->vm->exit_requested);
    assert_true(m->vm->reset_requested);
    assert_int_equal(m->vm->exit_status, 0);
    assert_int_equal(m->vm->cpu->run, 0);
}

static void pulse_0xfe_resets_0xff_does_not(void **state)
{
    struct fake_machine *m = *state;
    outb_(m, CMD, 0xff);
    assert_false(m->vm->exit_requested);
    outb_(m, CMD, 0xfe);
    assert_true(m->vm->reset_requested);
    assert_int_equal(m->vm->exit_status, 0);
}

static void keyboard_reset_acks_passes_and_raises_irq1_per_byte(void **state)
{
    struct fake_machine *m = *state;
    uint64_t before = m->vm->stats.irq1_raised;
    outb_(m, DATA, 0xff);
    assert_int_equal(m->vm->stats.irq1_raised, before + 1);
    assert_int_equal(inb_(m, DATA), 0xfa);
    assert_int_equal(m->vm->stats.irq1_raised, before + 2);
    assert_int_equal(inb_(m, DATA), 0xaa);
    assert_false(status(m) & I8042_STR_OBF);
    assert_int_equal(m->vm->stats.irq1_raised, before + 2);
}

static void no_irq1_with_the_keyboard_interrupt_off(void **state)
{
    struct fake_machine *m = *state;
    outb_(m, CMD, 0x60);
    outb_(m, DATA, 0x60); /* translate, AUX off, no interrupts */
    uint64_t before = m->vm->stats.irq1_raised;
    assert_int_equal(command_reply(m, 0xaa), 0x55);
    assert_int_equal(m->vm->stats.irq1_raised, before);
}

static void keyboard_id_and_parameter_commands(void **state)
{
    struct fake_machine *m = *state;
    outb_(m, DATA, 0xf2);
    assert_int_equal(inb_(m, DATA), 0xfa);
    assert_int_equal(inb_(m, DATA), 0xab);
    assert_int_equal(inb_(m, DATA), 0x41); /* translated MF2 */
    outb_(m, DATA, 0xed);
    assert_int_equal(inb_(m, DATA), 0xfa);
    outb_(m, DATA, 0x07); /* LED bits, not a command */
    assert_int_equal(inb_(m, DATA), 0xfa);
    assert_false(status(m) & I8042_STR_OBF);
    outb_(m, DATA, 0xee);
    assert_int_equal(inb_(m, DATA), 0xee);
    outb_(m, DATA, 0xf4);
    assert_int_equal(inb_(m, DATA), 0xfa);
    outb_(m, DATA, 0x42); /* not a command */
    assert_int_equal(inb_(m, DATA), 0xfe);
}

/* What Linux's i8042_check_aux concludes "no AUX port" from, quickly. */
static void aux_loop_and_test_say_there_is_no_aux_port(void **state)
{
    struct fake_machine *m = *state;
    outb_(m, CMD, 0xd3); /* AUX loop: refused */
    outb_(m, DATA, 0x5a);
    uint8_t s = status(m);
    assert_true(s & I8042_STR_OBF);
    assert_false(s & I8042_STR_AUXOBF); /* the answer is not AUX data */
    flush(m);
    int r = command_reply(m, 0xa9);
    assert_true(r != 0x00 && r != 0xfa && r != 0xff && r != -1);
}

static void linux_probe_sequence_finishes(void **state)
{
    struct fake_machine *m = *state;
    flush(m);
    assert_int_equal(command_reply(m, 0xaa), 0x55);
    int ctr = command_reply(m, 0x20);
    assert_int_equal(command_reply(m, 0x20), ctr);
    outb_(m, CMD, 0x60);
    outb_(m, DATA, (uint8_t)((ctr & ~I8042_CTR_KBDDIS) | I8042_CTR_KBDINT));
    assert_int_equal(command_reply(m, 0xab), 0x00);
    outb_(m, DATA, 0xf2);
    assert_int_equal(inb_(m, DATA), 0xfa);
    flush(m);
    assert_false(status(m) & I8042_STR_OBF);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(status_after_firmware_has_sys_and_no_data),
        T(self_test_answers_0x55_and_read_empties_the_buffer),
        T(keyboard_interface_test_answers_0),
        T(command_byte_write_reads_back_and_drives_sys),
        T(disable_and_enable_bits_of_the_command_byte),
        T(output_port_a20_bit_gates_address_line_20),
        T(output_port_reset_bit_low_resets),
        T(pulse_0xfe_resets_0xff_does_not),
        T(keyboard_reset_acks_passes_and_raises_irq1_per_byte),
        T(no_irq1_with_the_keyboard_interrupt_off),
        T(keyboard_id_and_parameter_commands),
        T(aux_loop_and_test_say_there_is_no_aux_port),
        T(linux_probe_sequence_finishes),
    };
    return cmocka_run_group_tests_name("i8042", tests, NULL, NULL);
}
