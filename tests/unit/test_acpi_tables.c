/* Unit tests for vmm/acpi_tables.c: the tables are found the way Linux
 * finds them (RSDP scan of 0xE0000-0xFFFFF), every signature, length,
 * revision and checksum is right, the pointers lead from one table to
 * the next, the FADT matches vmm/dev/acpi_pm.h, the DSDT's AML is well
 * formed, and nothing is written outside the BIOS area. */
#include <stdarg.h>
#include <errno.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/acpi_tables.h"
#include "vmm/dev/acpi_pm.h"

#define RAM_SIZE (2u << 20)
#define FILL 0xa5u
#define SCAN_START 0xe0000u
#define SCAN_END 0x100000u

struct fixture {
    uint8_t *ram;
    int used;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->ram = malloc(RAM_SIZE);
    memset(f->ram, FILL, RAM_SIZE);
    f->used = acpi_tables_build(f->ram, RAM_SIZE);
    *state = f;
    return f->used > 0 ? 0 : -1;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    free(f->ram);
    free(f);
    return 0;
}

static uint32_t rd16(const uint8_t *p) { return (uint32_t)p[0] | p[1] << 8; }

static uint32_t rd32(const uint8_t *p)
{
    return rd16(p) | rd16(p + 2) << 16;
}

static uint64_t rd64(const uint8_t *p)
{
    return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    while (n--)
        s = (uint8_t)(s + *p++);
    return s;
}

/* Linux's acpi_find_root_pointer: 16-byte steps, signature and checksum
 * of the first 20 bytes. */
static uint32_t find_rsdp(const uint8_t *ram)
{
    for (uint32_t a = SCAN_START; a < SCAN_END; a += 16)
        if (!memcmp(ram + a, "RSD PTR ", 8) && sum(ram + a, 20) == 0)
            return a;
    return 0;
}

/* A table with a standard header at addr: signature, length, checksum,
 * inside the BIOS area; returns it. */
static const uint8_t *table(const struct fixture *f, uint32_t addr,
                            const char *sig, uint32_t min_len)
{
    assert_true(addr >= ACPI_TABLES_ADDR && addr < ACPI_TABLES_END);
    const uint8_t *t = f->ram + addr;
    assert_memory_equal(t, sig, 4);
    uint32_t len = rd32(t + 4);
    assert_true(len >= min_len);
    assert_true(addr + len <= ACPI_TABLES_END);
    assert_int_equal(sum(t, len), 0);
    assert_memory_equal(t + 10, "TPVM  ", 6);
    return t;
}

static const uint8_t *fadt(const struct fixture *f)
{
    const uint8_t *rsdt = table(f, rd32(f->ram + find_rsdp(f->ram) + 16),
                                "RSDT", ACPI_HEADER_SIZE);
    return table(f, rd32(rsdt + ACPI_HEADER_SIZE), "FACP", ACPI_FADT_SIZE);
}

static void rsdp_is_acpi_1_0_and_found_by_the_scan(void **state)
{
    struct fixture *f = *state;
    uint32_t a = find_rsdp(f->ram);
    assert_int_equal(a, ACPI_RSDP_ADDR);
    assert_int_equal(a % 16, 0);
    assert_int_equal(f->ram[a + 15], 0); /* revision 0: no XSDT */
    assert_memory_equal(f->ram + a + 9, "TPVM  ", 6);
}

static void rsdt_lists_only_the_fadt(void **state)
{
    struct fixture *f = *state;
    const uint8_t *rsdt = table(f, rd32(f->ram + ACPI_RSDP_ADDR + 16), "RSDT",
                                ACPI_HEADER_SIZE);
    assert_int_equal(rd32(rsdt + 4), ACPI_HEADER_SIZE + 4);
    assert_int_equal(rsdt[8], 1);
    table(f, rd32(rsdt + ACPI_HEADER_SIZE), "FACP", ACPI_FADT_SIZE);
}

static void fadt_points_at_the_pm_blocks(void **state)
{
    struct fixture *f = *state;
    const uint8_t *t = fadt(f);
    assert_int_equal(rd32(t + 4), ACPI_FADT_SIZE);
    assert_int_equal(t[8], ACPI_FADT_REVISION);
    assert_int_equal(rd16(t + FADT_SCI_INT), 9);
    assert_int_equal(rd32(t + FADT_SMI_CMD), 0);
    assert_int_equal(rd32(t + FADT_PM1A_EVT_BLK), 0x600);
    assert_int_equal(rd32(t + FADT_PM1A_CNT_BLK), 0x604);
    assert_int_equal(rd32(t + FADT_PM_TMR_BLK), 0x608);
    assert_int_equal(t[FADT_PM1_EVT_LEN], 4);
    assert_int_equal(t[FADT_PM1_CNT_LEN], 2);
    assert_int_equal(t[FADT_PM_TMR_LEN], 4);
    assert_int_equal(rd32(t + FADT_PM1A_EVT_BLK), ACPI_PM1_EVT_BLK);
    assert_int_equal(rd32(t + FADT_PM1A_CNT_BLK), ACPI_PM1_CNT_BLK);
    assert_int_equal(rd32(t + FADT_PM_TMR_BLK), ACPI_PM_TMR_BLK);
    /* no PM1b, PM2 or GPE blocks */
    for (unsigned off = 60; off < 88; off += 4)
        if (off != FADT_PM1A_CNT_BLK && off != FADT_PM_TMR_BLK)
            assert_int_equal(rd32(t + off), 0);
    assert_int_equal(t[90] | t[92] | t[93], 0);
    assert_true(rd16(t + FADT_P_LVL2_LAT) > 100);  /* no C2 */
    assert_true(rd16(t + FADT_P_LVL3_LAT) > 1000); /* no C3 */
    assert_int_equal(t[FADT_CENTURY], 0x32);
}

static void fadt_says_legacy_pc_with_8042_and_24_bit_timer(void **state)
{
    struct fixture *f = *state;
    const uint8_t *t = fadt(f);
    assert_int_equal(rd16(t + FADT_IAPC_BOOT_ARCH),
                     ACPI_BOOT_LEGACY_DEVICES | ACPI_BOOT_8042);
    uint32_t flags = rd32(t + FADT_FLAGS);
    assert_true(flags & ACPI_FADT_WBINVD);
    assert_false(flags & 0x100);  /* TMR_VAL_EXT: 24 bits */
    assert_false(flags & 0x400);  /* no RESET_REG */
    assert_int_equal(rd64(t + 116 + 4), 0);
}

/* The 64-bit fields must agree with the 32-bit ones, or ACPICA warns. */
static void fadt_x_fields_repeat_the_32_bit_ones(void **state)
{
    struct fixture *f = *state;
    const uint8_t *t = fadt(f);
    assert_int_equal(rd64(t + FADT_X_FIRMWARE_CTRL), 0);
    assert_int_equal(rd64(t + FADT_X_DSDT), rd32(t + FADT_DSDT));
    const struct { unsigned x, legacy, len; } g[] = {
        { FADT_X_PM1A_EVT_BLK, FADT_PM1A_EVT_BLK, FADT_PM1_EVT_LEN },
        { FADT_X_PM1A_CNT_BLK, FADT_PM1A_CNT_BLK, FADT_PM1_CNT_LEN },
        { FADT_X_PM_TMR_BLK, FADT_PM_TMR_BLK, FADT_PM_TMR_LEN },
    };
    for (unsigned i = 0; i < 3; i++) {
        const uint8_t *gas = t + g[i].x;
        assert_int_equal(gas[0], 1); /* system I/O */
        assert_int_equal(gas[1], t[g[i].len] * 8);
        assert_int_equal(gas[2], 0);
        assert_int_equal(rd64(gas + 4), rd32(t + g[i].legacy));
    }
    /* the other X blocks (PM1b, PM2, GPE0, GPE1) are empty */
    for (unsigned off = FADT_X_PM1A_EVT_BLK + 12; off < ACPI_FADT_SIZE;
         off += 12)
        if (off != FADT_X_PM1A_CNT_BLK && off != FADT_X_PM_TMR_BLK)
            assert_int_equal(rd64(t + off + 4) | t[off], 0);
}

static void facs_is_64_bytes_on_a_64_byte_boundary(void **state)
{
    struct fixture *f = *state;
    uint32_t a = rd32(fadt(f) + FADT_FIRMWARE_CTRL);
    assert_true(a >= ACPI_TABLES_ADDR && a + 64 <= ACPI_TABLES_END);
    assert_int_equal(a % 64, 0);
    assert_memory_equal(f->ram + a, "FACS", 4);
    assert_int_equal(rd32(f->ram + a + 4), ACPI_FACS_SIZE);
    assert_int_equal(rd32(f->ram + a + 12), 0); /* waking vector */
    assert_int_equal(rd32(f->ram + a + 16), 0); /* global lock */
}

/* PkgLength at p: its value, and how many bytes it took. */
static size_t pkglength(const uint8_t *p, size_t *bytes)
{
    unsigned follow = p[0] >> 6;
    size_t v = follow ? p[0] & 0x0f : p[0] & 0x3f;
    for (unsigned i = 0; i < follow; i++)
        v |= (size_t)p[1 + i] << (4 + 8 * i);
    *bytes = 1 + follow;
    return v;
}

/* The AML is \_S5 (a package of 4) then Device(\_SB.PCI0), each object's
 * length ending exactly where the next begins and the last at the end
 * of the table. */
static void dsdt_aml_is_well_formed(void **state)
{
    struct fixture *f = *state;
    const uint8_t *t = table(f, rd32(fadt(f) + FADT_DSDT), "DSDT",
                             ACPI_HEADER_SIZE);
    size_t len = rd32(t + 4), n;
    const uint8_t *p = t + ACPI_HEADER_SIZE, *end = t + len;
    assert_int_equal(t[8], 1);

    static const uint8_t s5[] = { 0x08, '\\', '_', 'S', '5', '_', 0x12 };
    assert_memory_equal(p, s5, sizeof(s5));
    p += sizeof(s5);
    size_t pkg = pkglength(p, &n);
    const uint8_t *pkg_end = p + pkg;
    assert_int_equal(p[n], 4); /* NumElements */
    /* SLP_TYPa and SLP_TYPb are what acpi_pm.c powers off on */
    assert_int_equal(p[n + 1], ACPI_SLP_TYP_S5);
    assert_int_equal(p[n + 2], ACPI_SLP_TYP_S5);
    p = pkg_end;

    static const uint8_t dev[] = { 0x5b, 0x82 };
    assert_memory_equal(p, dev, 2);
    p += 2;
    size_t dlen = pkglength(p, &n);
    assert_ptr_equal(p + dlen, end);
    p += n;
    static const uint8_t name[] = { '\\', 0x2e, '_', 'S', 'B', '_',
                                    'P', 'C', 'I', '0' };
    assert_memory_equal(p, name, sizeof(name));
    p += sizeof(name);
    static const uint8_t hid[] = { 0x08, '_', 'H', 'I', 'D', 0x0c,
                                   0x41, 0xd0, 0x0a, 0x03 }; /* PNP0A03 */
    assert_memory_equal(p, hid, sizeof(hid));
    p += sizeof(hid);
    static const uint8_t uid[] = { 0x08, '_', 'U', 'I', 'D', 0x00 };
    assert_memory_equal(p, uid, sizeof(uid));
    p += sizeof(uid);
    static const uint8_t crs[] = { 0x08, '_', 'C', 'R', 'S', 0x11 };
    assert_memory_equal(p, crs, sizeof(crs));
    p += sizeof(crs);
    size_t blen = pkglength(p, &n);
    assert_ptr_equal(p + blen, end);
    p += n;
    assert_int_equal(p[0], 0x0a); /* BufferSize */
    size_t bsize = p[1];
    p += 2;
    assert_ptr_equal(p + bsize, end);
    /* one word bus-number descriptor 0-255, then the end tag */
    assert_int_equal(p[0], 0x88);
    assert_int_equal(rd16(p + 1), 13);
    assert_int_equal(p[3], 2);
    assert_int_equal(rd16(p + 8), 0);
    assert_int_equal(rd16(p + 10), 0xff);
    assert_int_equal(rd16(p + 14), 0x100);
    assert_int_equal(p[16], 0x79);
    assert_int_equal(bsize, 18);
}

/* Tables do not overlap, and every byte outside them is untouched. */
static void tables_stay_inside_their_area(void **state)
{
    struct fixture *f = *state;
    const uint8_t *t = fadt(f);
    struct { uint32_t addr, len; } r[5] = {
        { ACPI_RSDP_ADDR, ACPI_RSDP_SIZE },
        { rd32(f->ram + ACPI_RSDP_ADDR + 16), 0 },
        { (uint32_t)(t - f->ram), ACPI_FADT_SIZE },
        { rd32(t + FADT_FIRMWARE_CTRL), ACPI_FACS_SIZE },
        { rd32(t + FADT_DSDT), 0 },
    };
    r[1].len = rd32(f->ram + r[1].addr + 4);
    r[4].len = rd32(f->ram + r[4].addr + 4);
    for (unsigned i = 0; i < 5; i++) {
        assert_true(r[i].addr >= ACPI_TABLES_ADDR);
        assert_true(r[i].addr + r[i].len <=
                    ACPI_TABLES_ADDR + (uint32_t)f->used);
        for (unsigned j = 0; j < i; j++)
            assert_true(r[i].addr + r[i].len <= r[j].addr ||
                        r[j].addr + r[j].len <= r[i].addr);
    }
    for (uint32_t a = 0; a < RAM_SIZE; a++)
        if (a < ACPI_TABLES_ADDR ||
            a >= ACPI_TABLES_ADDR + (uint32_t)f->used)
            assert_int_equal(f->ram[a], FILL);
    /* and nothing else in the scanned range looks like an RSDP */
    for (uint32_t a = SCAN_START; a < SCAN_END; a += 16)
        if (a != ACPI_RSDP_ADDR)
            assert_memory_not_equal(f->ram + a, "RSD PTR ", 8);
}

static void building_twice_gives_the_same_bytes(void **state)
{
    struct fixture *f = *state;
    uint8_t *again = malloc(RAM_SIZE);
    memset(again, 0, RAM_SIZE);
    assert_int_equal(acpi_tables_build(again, RAM_SIZE), f->used);
    assert_memory_equal(again + ACPI_TABLES_ADDR, f->ram + ACPI_TABLES_ADDR,
                        (size_t)f->used);
    free(again);
}

static void refuses_ram_below_1_mib(void **state)
{
    (void)state;
    uint8_t *small = calloc(1, ACPI_TABLES_END - 1);
    assert_int_equal(acpi_tables_build(small, ACPI_TABLES_END - 1), -ENOSPC);
    free(small);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(rsdp_is_acpi_1_0_and_found_by_the_scan),
        T(rsdt_lists_only_the_fadt),
        T(fadt_points_at_the_pm_blocks),
        T(fadt_says_legacy_pc_with_8042_and_24_bit_timer),
        T(fadt_x_fields_repeat_the_32_bit_ones),
        T(facs_is_64_bytes_on_a_64_byte_boundary),
        T(dsdt_aml_is_well_formed),
        T(tables_stay_inside_their_area),
        T(building_twice_gives_the_same_bytes),
        T(refuses_ram_below_1_mib),
    };
    return cmocka_run_group_tests_name("acpi_tables", tests, NULL, NULL);
}
