/* Unit tests for vmm/dev/pci_host.c: configuration mechanism 1 at
 * 0xcf8/0xcfc with the i440FX host bridge. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fake_machine.h"
#include "vmm/dev/pci_host.h"

#define ADDR 0xcf8
#define DATA 0xcfc

static int setup(void **state)
{
    struct fake_machine *m = fake_machine_new(1000, 0);
    *state = m;
    return fake_machine_add(m, &pci_host_device) ? 0 : -1;
}

static int teardown(void **state)
{
    fake_machine_free(*state);
    return 0;
}

static uint32_t cfg_addr(unsigned bus, unsigned dev, unsigned fn, unsigned reg)
{
    return PCI_CONFIG_ENABLE | bus << 16 | dev << 11 | fn << 8 | reg;
}

static uint32_t cfg_read(struct fake_machine *m, uint32_t addr, unsigned off,
                         unsigned size)
{
    ioport_out(&m->vm->io, ADDR, 4, addr);
    return ioport_in(&m->vm->io, (uint16_t)(DATA + off), size);
}

static void host_bridge_is_intel_440fx(void **state)
{
    struct fake_machine *m = *state;
    assert_int_equal(cfg_read(m, cfg_addr(0, 0, 0, 0), 0, 4), 0x12378086);
    assert_int_equal(cfg_read(m, cfg_addr(0, 0, 0, 8), 0, 4) >> 8, 0x060000);
    assert_int_equal(cfg_read(m, cfg_addr(0, 0, 0, 0xc), 2, 1), 0x00);
}

static void byte_and_word_reads_of_the_data_window(void **state)
{
    struct fake_machine *m = *state;
    uint32_t a = cfg_addr(0, 0, 0, 0);
    assert_int_equal(cfg_read(m, a, 0, 2), 0x8086);
    assert_int_equal(cfg_read(m, a, 2, 2), 0x1237);
    assert_int_equal(cfg_read(m, a, 1, 1), 0x80);
    assert_int_equal(cfg_read(m, a, 3, 1), 0x12);
}

static void absent_functions_read_all_ones(void **state)
{
    struct fake_machine *m = *state;
    assert_int_equal(cfg_read(m, cfg_addr(0, 1, 0, 0), 0, 4), 0xffffffff);
    assert_int_equal(cfg_read(m, cfg_addr(0, 31, 0, 0), 0, 4), 0xffffffff);
    assert_int_equal(cfg_read(m, cfg_addr(0, 0, 1, 0), 0, 4), 0xffffffff);
    assert_int_equal(cfg_read(m, cfg_addr(7, 0, 0, 0), 0, 2), 0xffff);
}

static void disabled_address_reads_all_ones(void **state)
{
    struct fake_machine *m = *state;
    assert_int_equal(cfg_read(m, 0x00000000, 0, 4), 0xffffffff);
}

static void address_register_reads_back(void **state)
{
    struct fake_machine *m = *state;
    uint32_t a = cfg_addr(0, 1, 0, 0x10);
    ioport_out(&m->vm->io, ADDR, 4, a);
    assert_int_equal(ioport_in(&m->vm->io, ADDR, 4), a);
    /* A byte write to 0xcf8 is not the address register. */
    ioport_out(&m->vm->io, ADDR, 1, 0);
    assert_int_equal(ioport_in(&m->vm->io, ADDR, 4), a);
}

static void only_writable_bits_change(void **state)
{
    struct fake_machine *m = *state;
    uint32_t id = cfg_addr(0, 0, 0, 0), pam = cfg_addr(0, 0, 0, 0x58);
    ioport_out(&m->vm->io, ADDR, 4, id);
    ioport_out(&m->vm->io, DATA, 4, 0);
    assert_int_equal(cfg_read(m, id, 0, 4), 0x12378086);
    ioport_out(&m->vm->io, ADDR, 4, pam);
    ioport_out(&m->vm->io, DATA + 1, 1, 0x33);
    assert_int_equal(cfg_read(m, pam, 1, 1), 0x33);
    /* Writes to absent functions go nowhere. */
    ioport_out(&m->vm->io, ADDR, 4, cfg_addr(0, 2, 0, 0));
    ioport_out(&m->vm->io, DATA, 4, 0);
    assert_int_equal(cfg_read(m, cfg_addr(0, 2, 0, 0), 0, 4), 0xffffffff);
}

static void reset_control_register_resets_on_bit2(void **state)
{
    struct fake_machine *m = *state;
    ioport_out(&m->vm->io, 0xcf9, 1, 0x02);
    assert_false(m->vm->exit_requested);
    assert_int_equal(ioport_in(&m->vm->io, 0xcf9, 1), 0x02);
    ioport_out(&m->vm->io, 0xcf9, 1, 0x06);
    assert_true(m->vm->reset_requested);
    assert_int_equal(m->vm->exit_status, 0);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(host_bridge_is_intel_440fx),
        T(byte_and_word_reads_of_the_data_window),
        T(absent_functions_read_all_ones),
        T(disabled_address_reads_all_ones),
        T(address_register_reads_back),
        T(only_writable_bits_change),
        T(reset_control_register_resets_on_bit2),
    };
    return cmocka_run_group_tests_name("pci_host", tests, NULL, NULL);
}
