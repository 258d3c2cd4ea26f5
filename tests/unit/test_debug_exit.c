/* Unit tests for vmm/dev/debug_exit.c: QEMU's isa-debug-exit. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "vmm/dev/debug_exit.h"
#include "vmm/vm.h"

/* Just enough machine for one device: its port table and its CPU. */
struct fixture {
    struct vm *vm;
    void *dev;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char err[128];

    f->vm = calloc(1, sizeof(*f->vm));
    f->vm->cpu = calloc(1, sizeof(*f->vm->cpu));
    ioport_table_init(&f->vm->io);
    f->vm->cpu->run = 1;
    f->dev = debug_exit_device.create(f->vm, err, sizeof(err));
    *state = f;
    return f->dev ? 0 : -1;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    debug_exit_device.destroy(f->dev);
    free(f->vm->cpu);
    free(f->vm);
    free(f);
    return 0;
}

static void byte_write_to_0xf4_exits_with_v_shl_1_or_1(void **state)
{
    struct fixture *f = *state;
    ioport_out(&f->vm->io, 0xf4, 1, 0x10);
    assert_true(f->vm->exit_requested);
    assert_int_equal(f->vm->exit_status, 0x21);
    assert_int_equal(f->vm->cpu->run, 0); /* the CPU leaves translated code */
}

static void zero_gives_status_1(void **state)
{
    struct fixture *f = *state;
    ioport_out(&f->vm->io, 0xf4, 1, 0);
    assert_int_equal(f->vm->exit_status, 1);
}

static void dword_write_and_other_ports_of_the_range_count(void **state)
{
    struct fixture *f = *state;
    ioport_out(&f->vm->io, 0xf7, 4, 0x42);
    assert_true(f->vm->exit_requested);
    assert_int_equal(f->vm->exit_status, 0x85);
}

static void first_write_wins(void **state)
{
    struct fixture *f = *state;
    ioport_out(&f->vm->io, 0xf4, 2, 3);
    ioport_out(&f->vm->io, 0xf4, 1, 5);
    assert_int_equal(f->vm->exit_status, 7);
}

static void reads_give_zero_and_do_not_exit(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(ioport_in(&f->vm->io, 0xf4, 1), 0);
    assert_int_equal(ioport_in(&f->vm->io, 0xf4, 4), 0);
    assert_false(f->vm->exit_requested);
    assert_int_equal(f->vm->cpu->run, 1);
    /* Neighbours are not the device's. */
    assert_int_equal(ioport_in(&f->vm->io, 0xf3, 1), 0xff);
    assert_int_equal(ioport_in(&f->vm->io, 0xf8, 1), 0xff);
}

static void status_is_always_odd(void **state)
{
    (void)state;
    for (uint32_t v = 0; v < 300; v++)
        assert_int_equal(debug_exit_status(v) & 1, 1);
    assert_int_equal(debug_exit_status(0x7f), 0xff);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(byte_write_to_0xf4_exits_with_v_shl_1_or_1),
        T(zero_gives_status_1),
        T(dword_write_and_other_ports_of_the_range_count),
        T(first_write_wins),
        T(reads_give_zero_and_do_not_exit),
        cmocka_unit_test(status_is_always_odd),
    };
    return cmocka_run_group_tests_name("debug_exit", tests, NULL, NULL);
}
