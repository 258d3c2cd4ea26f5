/* Unit tests for vmm/ioport.c: the port interval table and its dispatch. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <cmocka.h>

#include "vmm/ioport.h"

/* A fake device that records the last access and answers base + offset. */
struct probe {
    unsigned reads, writes;
    uint16_t last_offset;
    unsigned last_size;
    uint32_t last_val;
    uint32_t answer;
};

static uint32_t probe_read(void *opaque, uint16_t offset, unsigned size)
{
    struct probe *p = opaque;
    p->reads++;
    p->last_offset = offset;
    p->last_size = size;
    return p->answer + offset;
}

static void probe_write(void *opaque, uint16_t offset, unsigned size,
                        uint32_t val)
{
    struct probe *p = opaque;
    p->writes++;
    p->last_offset = offset;
    p->last_size = size;
    p->last_val = val;
}

static void unassigned_ports_read_all_ones_by_size(void **state)
{
    struct ioport_table t;
    (void)state;
    ioport_table_init(&t);
    assert_int_equal(ioport_in(&t, 0x80, 1), 0xff);
    assert_int_equal(ioport_in(&t, 0x80, 2), 0xffff);
    assert_int_equal(ioport_in(&t, 0x80, 4), 0xffffffffu);
    assert_int_equal(t.unassigned_reads, 3);
}

static void unassigned_writes_are_ignored_and_counted(void **state)
{
    struct ioport_table t;
    (void)state;
    ioport_table_init(&t);
    ioport_out(&t, 0x80, 1, 0x12);
    ioport_out(&t, 0xffff, 4, 0x12345678);
    assert_int_equal(t.unassigned_writes, 2);
    assert_int_equal(t.count, 0);
}

static void access_reaches_device_with_offset_from_base(void **state)
{
    struct ioport_table t;
    struct probe p = { .answer = 0x40 };
    (void)state;
    ioport_table_init(&t);
    assert_int_equal(ioport_register(&t, 0x100, 8, 0, "probe", &p,
                                     probe_read, probe_write), 0);
    assert_int_equal(ioport_in(&t, 0x103, 2), 0x43);
    assert_int_equal(p.last_offset, 3);
    assert_int_equal(p.last_size, 2);
    ioport_out(&t, 0x107, 4, 0xcafebabe);
    assert_int_equal(p.last_offset, 7);
    assert_int_equal(p.last_val, 0xcafebabe);
    assert_int_equal(t.ranges[0].reads, 1);
    assert_int_equal(t.ranges[0].writes, 1);
    /* One past the end is not the device's. */
    assert_int_equal(ioport_in(&t, 0x108, 1), 0xff);
    assert_int_equal(p.reads, 1);
}

static void read_result_is_cut_to_access_size(void **state)
{
    struct ioport_table t;
    struct probe p = { .answer = 0x12345600 };
    (void)state;
    ioport_table_init(&t);
    ioport_register(&t, 0x60, 1, 0, "probe", &p, probe_read, probe_write);
    assert_int_equal(ioport_in(&t, 0x60, 1), 0x00);
    assert_int_equal(ioport_in(&t, 0x60, 2), 0x5600);
}

static void missing_callbacks_float_and_ignore(void **state)
{
    struct ioport_table t;
    (void)state;
    ioport_table_init(&t);
    assert_int_equal(ioport_register(&t, 0x70, 2, 0, "mute", NULL, NULL, NULL),
                     0);
    assert_int_equal(ioport_in(&t, 0x70, 1), 0xff);
    ioport_out(&t, 0x71, 1, 5);
    assert_int_equal(t.ranges[0].reads, 1);
    assert_int_equal(t.ranges[0].writes, 1);
    assert_int_equal(t.unassigned_reads, 0);
}

static void overlapping_ranges_are_refused(void **state)
{
    struct ioport_table t;
    (void)state;
    ioport_table_init(&t);
    assert_int_equal(ioport_register(&t, 0x3f8, 8, 0, "a", NULL, NULL, NULL), 0);
    assert_int_equal(ioport_register(&t, 0x3f0, 9, 0, "b", NULL, NULL, NULL),
                     -EBUSY); /* tail overlaps */
    assert_int_equal(ioport_register(&t, 0x3ff, 1, 0, "c", NULL, NULL, NULL),
                     -EBUSY); /* inside */
    assert_int_equal(ioport_register(&t, 0x3f0, 0x20, 0, "d", NULL, NULL, NULL),
                     -EBUSY); /* covers */
    assert_int_equal(ioport_register(&t, 0x3f0, 8, 0, "e", NULL, NULL, NULL), 0);
    assert_int_equal(ioport_register(&t, 0x400, 1, 0, "f", NULL, NULL, NULL), 0);
    assert_int_equal(t.count, 3);
}

static void empty_wrapping_and_too_many_ranges_are_refused(void **state)
{
    struct ioport_table t;
    (void)state;
    ioport_table_init(&t);
    assert_int_equal(ioport_register(&t, 0x10, 0, 0, "z", NULL, NULL, NULL),
                     -EINVAL);
    assert_int_equal(ioport_register(&t, 0xfffe, 4, 0, "w", NULL, NULL, NULL),
                     -EINVAL);
    assert_int_equal(ioport_register(&t, 0xfffe, 2, 0, "top", NULL, NULL, NULL),
                     0);
    for (unsigned i = 1; i < IOPORT_MAX_RANGES; i++)
        assert_int_equal(ioport_register(&t, (uint16_t)(i * 4), 2, 0, "n",
                                         NULL, NULL, NULL), 0);
    assert_int_equal(ioport_register(&t, 0x1000, 1, 0, "x", NULL, NULL, NULL),
                     -ENOSPC);
}

static void lookup_finds_each_of_many_ranges(void **state)
{
    struct ioport_table t;
    struct probe p[10];
    (void)state;
    ioport_table_init(&t);
    /* Registered out of order; the table keeps them sorted. */
    for (int i = 9; i >= 0; i--) {
        p[i] = (struct probe){ .answer = (uint32_t)i << 4 };
        assert_int_equal(ioport_register(&t, (uint16_t)(0x1000 + i * 0x10), 4,
                                         0, "p", &p[i], probe_read, probe_write),
                         0);
    }
    for (int i = 0; i < 10; i++) {
        assert_int_equal(ioport_in(&t, (uint16_t)(0x1000 + i * 0x10 + 3), 1),
                         (i << 4) + 3);
        assert_int_equal(ioport_in(&t, (uint16_t)(0x1000 + i * 0x10 + 4), 1),
                         0xff); /* the gap after each range */
    }
}

static void byte_only_range_splits_wide_reads_little_endian(void **state)
{
    struct ioport_table t;
    struct probe p = { .answer = 0x10 };
    (void)state;
    ioport_table_init(&t);
    ioport_register(&t, 0x3f8, 8, IOPORT_BYTE_ONLY, "uart", &p, probe_read,
                    probe_write);
    assert_int_equal(ioport_in(&t, 0x3f8, 2), 0x1110);
    assert_int_equal(ioport_in(&t, 0x3fc, 4), 0x17161514);
    assert_int_equal(p.reads, 6);
    assert_int_equal(p.last_size, 1);
    /* The byte past the range is open bus. */
    assert_int_equal(ioport_in(&t, 0x3ff, 2), 0xff17);
}

static void byte_only_range_splits_wide_writes(void **state)
{
    struct ioport_table t;
    struct probe p = { 0 };
    (void)state;
    ioport_table_init(&t);
    ioport_register(&t, 0x3f8, 8, IOPORT_BYTE_ONLY, "uart", &p, probe_read,
                    probe_write);
    ioport_out(&t, 0x3fa, 2, 0xa55a);
    assert_int_equal(p.writes, 2);
    assert_int_equal(p.last_offset, 3);
    assert_int_equal(p.last_val, 0xa5);
    assert_int_equal(p.last_size, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unassigned_ports_read_all_ones_by_size),
        cmocka_unit_test(unassigned_writes_are_ignored_and_counted),
        cmocka_unit_test(access_reaches_device_with_offset_from_base),
        cmocka_unit_test(read_result_is_cut_to_access_size),
        cmocka_unit_test(missing_callbacks_float_and_ignore),
        cmocka_unit_test(overlapping_ranges_are_refused),
        cmocka_unit_test(empty_wrapping_and_too_many_ranges_are_refused),
        cmocka_unit_test(lookup_finds_each_of_many_ranges),
        cmocka_unit_test(byte_only_range_splits_wide_reads_little_endian),
        cmocka_unit_test(byte_only_range_splits_wide_writes),
    };
    return cmocka_run_group_tests_name("ioport", tests, NULL, NULL);
}
