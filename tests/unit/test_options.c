/* Unit tests for vmm/options.c: the tpvm command line. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/exit_status.h"
#include "vmm/options.h"

/* Parse a NULL-terminated argument list; capture what goes to out/err. */
struct parsed {
    struct options o;
    int status;
    char out[4096];
    char err[1024];
};

static struct parsed *parse(const char *first, ...)
{
    static struct parsed p;
    char *argv[32];
    int argc = 0;
    va_list ap;
    FILE *out = fmemopen(p.out, sizeof(p.out), "w");
    FILE *err = fmemopen(p.err, sizeof(p.err), "w");

    memset(&p, 0, sizeof(p));
    argv[argc++] = (char *)"tpvm";
    va_start(ap, first);
    for (const char *a = first; a; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    p.status = options_parse(&p.o, argc, argv, out, err);
    fclose(out);
    fclose(err);
    return &p;
}

static uint64_t ram_of(const char *m)
{
    struct parsed *p = parse("-m", m, "k.elf", NULL);
    assert_int_equal(p->status, -1);
    return p->o.ram_size;
}

static void defaults_boot_the_kernel_in_128m_on_stdio(void **state)
{
    struct parsed *p = parse("k.elf", NULL);
    (void)state;
    assert_int_equal(p->status, -1);
    assert_string_equal(p->o.kernel, "k.elf");
    assert_int_equal(p->o.ram_size, 128ull << 20);
    assert_string_equal(p->o.append, "");
    assert_string_equal(p->o.serial, "stdio");
    assert_int_equal(p->o.mode, VM_MODE_AUTO);
    assert_false(p->o.stats);
    assert_false(p->o.trace);
}

static void memory_sizes_read_like_qemu(void **state)
{
    (void)state;
    assert_int_equal(ram_of("128"), 128ull << 20);
    assert_int_equal(ram_of("128M"), 128ull << 20);
    assert_int_equal(ram_of("64m"), 64ull << 20);
    assert_int_equal(ram_of("1G"), 1ull << 30);
    assert_int_equal(ram_of("2048K"), 2ull << 20);
    assert_int_equal(ram_of("1.5G"), 3ull << 29);
    assert_int_equal(ram_of("3G"), 3ull << 30);
    assert_int_equal(ram_of("2M"), 2ull << 20);
    assert_int_equal(ram_of("4194304B"), 4ull << 20);
    /* Partial pages round up to whole ones. */
    assert_int_equal(ram_of("2097153B"), (2ull << 20) + 4096);
}

static void memory_size_out_of_range_is_one_line_and_status_2(void **state)
{
    const char *bad[] = { "512K", "1", "0", "3073M", "4G", "1T" };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct parsed *p = parse("-m", bad[i], "k.elf", NULL);
        assert_int_equal(p->status, TPVM_EXIT_USAGE);
        assert_non_null(strstr(p->err, "between 2M and 3G"));
        assert_int_equal(strchr(p->err, '\n') - p->err, strlen(p->err) - 1);
    }
}

static void memory_size_garbage_is_refused(void **state)
{
    const char *bad[] = { "", "abc", "12X", "-5", "0x100", "1.5.3G", "M",
                          "12MB", " 12" };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct parsed *p = parse("-m", bad[i], "k.elf", NULL);
        assert_int_equal(p->status, TPVM_EXIT_USAGE);
        assert_non_null(strstr(p->err, "not a size"));
    }
}

static void parse_size_does_not_overflow(void **state)
{
    uint64_t b;
    (void)state;
    assert_int_equal(parse_size_mib("99999999999999999999T", &b), -1);
    assert_int_equal(parse_size_mib("16777215T", &b), 0);
}

static void options_are_recorded(void **state)
{
    struct parsed *p = parse("--append", "console=ttyS0 x", "--serial",
                             "file:/tmp/out", "--mode", "bt", "--stats",
                             "--trace", "k.elf", NULL);
    (void)state;
    assert_int_equal(p->status, -1);
    assert_string_equal(p->o.append, "console=ttyS0 x");
    assert_string_equal(p->o.serial, "file:/tmp/out");
    assert_int_equal(p->o.mode, VM_MODE_BT);
    assert_true(p->o.stats);
    assert_true(p->o.trace);
    p = parse("k.elf", "--mode=auto", "--append=", NULL);
    assert_int_equal(p->status, -1);
    assert_int_equal(p->o.mode, VM_MODE_AUTO);
    assert_string_equal(p->o.append, "");
}

static void modes_and_rom_are_parsed(void **state)
{
    struct parsed *p = parse("--mode", "pv", "--rom", "x.rom", "k.elf", NULL);
    (void)state;
    assert_int_equal(p->status, -1);
    assert_int_equal(p->o.mode, VM_MODE_PV);
    assert_string_equal(p->o.rom, "x.rom");
    p = parse("--mode", "bt", "k.elf", NULL);
    assert_int_equal(p->o.mode, VM_MODE_BT);
    assert_null(p->o.rom);
    p = parse("--mode", "kvm", "k.elf", NULL);
    assert_int_equal(p->status, 2);
    assert_string_equal(p->err, "tpvm: --mode kvm: expected bt, pv or auto\n");
}

static void serial_spec_is_checked(void **state)
{
    (void)state;
    assert_int_equal(parse("--serial", "tcp:1", "k.elf", NULL)->status, 2);
    assert_int_equal(parse("--serial", "file:", "k.elf", NULL)->status, 2);
    assert_int_equal(parse("--serial", "stdio", "k.elf", NULL)->status, -1);
}

static void command_line_mistakes_give_status_2(void **state)
{
    struct parsed *p;
    (void)state;
    p = parse(NULL);
    assert_int_equal(p->status, 2);
    assert_non_null(strstr(p->err, "no kernel"));
    p = parse("a.elf", "b.elf", NULL);
    assert_int_equal(p->status, 2);
    assert_non_null(strstr(p->err, "one kernel"));
    p = parse("--frobnicate", "k.elf", NULL);
    assert_int_equal(p->status, 2);
    assert_non_null(strstr(p->err, "'--frobnicate'"));
    p = parse("-z", "k.elf", NULL);
    assert_int_equal(p->status, 2);
    assert_non_null(strstr(p->err, "'-z'"));
    p = parse("k.elf", "-m", NULL);
    assert_int_equal(p->status, 2);
    assert_non_null(strstr(p->err, "needs a value"));
}

static void help_lists_every_option_and_exit_status(void **state)
{
    const char *must[] = {
        "usage: tpvm [options] KERNEL", "-m SIZE", "--append STR",
        "--serial stdio|file:PATH", "--mode bt|pv|auto", "--stats",
        "--trace", "--help", "--version", "(v << 1) | 1", "\n  0 ",
        "\n  2 ", "\n  4 ", "\n  6 ",
    };
    struct parsed *p = parse("--help", NULL);
    (void)state;
    assert_int_equal(p->status, 0);
    for (size_t i = 0; i < sizeof(must) / sizeof(must[0]); i++)
        if (!strstr(p->out, must[i]))
            fail_msg("--help lacks \"%s\"", must[i]);
    assert_string_equal(p->err, "");
    assert_int_equal(parse("-h", NULL)->status, 0);
}

static void version_names_version_and_commit(void **state)
{
    struct parsed *p = parse("--version", NULL);
    (void)state;
    assert_int_equal(p->status, 0);
    assert_int_equal(strncmp(p->out, "tpvm ", 5), 0);
    assert_non_null(strstr(p->out, " (commit "));
    assert_int_equal(p->out[strlen(p->out) - 2], ')');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_boot_the_kernel_in_128m_on_stdio),
        cmocka_unit_test(memory_sizes_read_like_qemu),
        cmocka_unit_test(memory_size_out_of_range_is_one_line_and_status_2),
        cmocka_unit_test(memory_size_garbage_is_refused),
        cmocka_unit_test(parse_size_does_not_overflow),
        cmocka_unit_test(options_are_recorded),
        cmocka_unit_test(modes_and_rom_are_parsed),
        cmocka_unit_test(serial_spec_is_checked),
        cmocka_unit_test(command_line_mistakes_give_status_2),
        cmocka_unit_test(help_lists_every_option_and_exit_status),
        cmocka_unit_test(version_names_version_and_commit),
    };
    return cmocka_run_group_tests_name("options", tests, NULL, NULL);
}
