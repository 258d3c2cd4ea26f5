/* ACPI tables for the machine of vmm/vm.c: RSDP, RSDT, FADT, FACS and a
 * DSDT with \_S5 and the PCI host bridge. They describe what tpvm has
 * (the PM1a blocks and PM timer of vmm/dev/acpi_pm.c, SCI on IRQ 9, the
 * CMOS century byte, an 8042, the i440FX) and nothing it does not: no
 * MADT (no APIC, so Linux keeps the 8259), no HPET, no GPE block, no SMI
 * command port (the chipset is in ACPI mode from reset). */
#include "vmm/acpi_tables.h"
#include "vmm/le.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "vmm/dev/acpi_pm.h"

#define OEM_ID "TPVM  "       /* 6 bytes */
#define OEM_TABLE_ID "TPVMPC  " /* 8 bytes */
#define OEM_REVISION 1u
#define CREATOR_ID "TPVM"
#define CREATOR_REVISION 1u
#define CMOS_CENTURY 0x32u    /* rtc_cmos.c keeps the century there */

/* PM_LVL latencies that say "no C2, no C3" (> 100 and > 1000 us). */
#define NO_C2_LATENCY 0x0fffu
#define NO_C3_LATENCY 0xffffu

#define GAS_SYSTEM_IO 1u

/* AML opcodes (ACPI 2.0 section 16). */
#define AML_ZERO 0x00u
#define AML_ONE 0x01u
#define AML_NAME 0x08u
#define AML_BYTE_PREFIX 0x0au
#define AML_DWORD_PREFIX 0x0cu
#define AML_BUFFER 0x11u
#define AML_PACKAGE 0x12u
#define AML_DUAL_NAME 0x2eu
#define AML_EXT_PREFIX 0x5bu
#define AML_DEVICE 0x82u /* after AML_EXT_PREFIX */
#define AML_ROOT '\\'
#define ACPI_DSDT_AML_MAX 128u /* what the DSDT body may grow to */

/* The byte that makes len bytes at p sum to 0 (mod 256). */
static uint8_t checksum(const uint8_t *p, size_t len)
{
    uint8_t sum = 0;
    for (size_t i = 0; i < len; i++)
        sum = (uint8_t)(sum + p[i]);
    return (uint8_t)-sum;
}

/* ---- placing tables in guest memory ---- */

struct acpi_area {
    uint8_t *ram;
    uint32_t next; /* guest-physical address of the first free byte */
};

/* Reserve len bytes aligned to align; returns their address. They and
 * the padding before them are zeroed: the result must not depend on
 * what RAM held. */
static uint32_t take(struct acpi_area *a, uint32_t len, uint32_t align)
{
    uint32_t addr = (a->next + align - 1) & ~(align - 1);
    memset(a->ram + a->next, 0, addr + len - a->next);
    a->next = addr + len;
    return addr;
}

/* The standard header; the checksum is filled by finish(). */
static void header(uint8_t *t, const char sig[4], uint32_t len, uint8_t rev)
{
    memcpy(t, sig, 4);
    wr32(t + 4, len);
    t[8] = rev;
    memcpy(t + 10, OEM_ID, 6);
    memcpy(t + 16, OEM_TABLE_ID, 8);
    wr32(t + 24, OEM_REVISION);
    memcpy(t + 28, CREATOR_ID, 4);
    wr32(t + 32, CREATOR_REVISION);
}

static void finish(uint8_t *t)
{
    uint32_t len = (uint32_t)t[4] | (uint32_t)t[5] << 8 |
                   (uint32_t)t[6] << 16 | (uint32_t)t[7] << 24;
    t[9] = 0;
    t[9] = checksum(t, len);
}

/* A generic address structure for an I/O port block of len bytes. */
static void gas_io(uint8_t *g, uint32_t port, uint32_t len)
{
    g[0] = GAS_SYSTEM_IO;
    g[1] = (uint8_t)(len * 8); /* must match the 32-bit field's length */
    g[2] = 0;                  /* bit offset */
    g[3] = 0;                  /* access size: ACPI 2.0 reserved */
    wr64(g + 4, port);
}

/* ---- the tables ---- */

/* A little AML (ACPI 2.0 section 16), appended to a buffer. */
struct aml {
    uint8_t b[ACPI_DSDT_AML_MAX];
    size_t len;
};

static void aml_put(struct aml *a, const void *p, size_t n)
{
    assert(a->len + n <= sizeof(a->b)); /* fixed content: a tpvm bug */
    memcpy(a->b + a->len, p, n);
    a->len += n;
}

static void aml_u8(struct aml *a, uint8_t v) { aml_put(a, &v, 1); }

/* An integer that fits a byte. */
static void aml_byte(struct aml *a, uint8_t v)
{
    if (v == 0 || v == 1) {
        aml_u8(a, v ? AML_ONE : AML_ZERO);
        return;
    }
    aml_u8(a, AML_BYTE_PREFIX);
    aml_u8(a, v);
}

/* The PkgLength of a body of n bytes: it counts its own bytes too. */
static void aml_pkglength(struct aml *a, size_t n)
{
    if (n + 1 < 0x40) {
        aml_u8(a, (uint8_t)(n + 1));
        return;
    }
    size_t total = n + 2; /* two bytes reach 4095 */
    aml_u8(a, (uint8_t)(0x40 | (total & 0x0f)));
    aml_u8(a, (uint8_t)(total >> 4));
}

/* Name(name, EisaId(id)): the 7-character ID compressed to a dword. */
static void aml_name_eisaid(struct aml *a, const char name[4], const char *id)
{
    uint32_t v = (uint32_t)(id[0] - '@') << 26 | (uint32_t)(id[1] - '@') << 21 |
                 (uint32_t)(id[2] - '@') << 16;
    for (int i = 3; i < 7; i++) {
        unsigned d = id[i] <= '9' ? (unsigned)(id[i] - '0')
                                  : (unsigned)(id[i] - 'A' + 10);
        v |= d << (4 * (6 - i));
    }
    uint8_t be[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
                      (uint8_t)(v >> 8), (uint8_t)v };
    aml_u8(a, AML_NAME);
    aml_put(a, name, 4);
    aml_u8(a, AML_DWORD_PREFIX);
    aml_put(a, be, 4); /* stored big-endian, as ASL compilers do */
}

static void aml_name_byte(struct aml *a, const char name[4], uint8_t v)
{
    aml_u8(a, AML_NAME);
    aml_put(a, name, 4);
    aml_byte(a, v);
}

/* Name(path, <op> { body }) for a Package or Buffer: the object's
 * length goes before its body. path: a name, "\\" first for the root. */
static void aml_name_pkg(struct aml *a, const char *path, uint8_t op,
                         const struct aml *body)
{
    aml_u8(a, AML_NAME);
    aml_put(a, path, strlen(path));
    aml_u8(a, op);
    aml_pkglength(a, body->len);
    aml_put(a, body->b, body->len);
}

/* Name(\_S5, Package(4) {SLP_TYPa, SLP_TYPb, 0, 0}): what Linux needs to
 * offer power-off, with the PIIX4 value acpi_pm.c acts on. */
static void aml_s5(struct aml *a)
{
    struct aml pkg = { .len = 0 };

    aml_u8(&pkg, 4); /* NumElements */
    aml_byte(&pkg, ACPI_SLP_TYP_S5);
    aml_byte(&pkg, ACPI_SLP_TYP_S5);
    aml_byte(&pkg, 0);
    aml_byte(&pkg, 0);
    aml_name_pkg(a, "\\_S5_", AML_PACKAGE, &pkg);
}

/* Name(_CRS, ResourceTemplate() {WordBusNumber(ResourceProducer,
 * MinFixed, MaxFixed, PosDecode, 0, 0, 0xFF, 0, 0x100)}): the bus range
 * Linux asks for; no I/O or memory window, so Linux keeps the default
 * resources for the bus, as the legacy probe did. */
static void aml_crs_bus_range(struct aml *a)
{
    static const uint8_t res[] = {
        0x88, 13, 0,        /* word address space descriptor, 13 bytes */
        0x02,               /* bus number range */
        0x0c,               /* producer, min and max fixed, positive decode */
        0x00,
        0x00, 0x00,         /* granularity */
        0x00, 0x00,         /* minimum: bus 0 */
        0xff, 0x00,         /* maximum: bus 255 */
        0x00, 0x00,         /* translation */
        0x00, 0x01,         /* length: 256 buses */
        0x79, 0x00,         /* end tag, checksum 0 (= ignore) */
    };
    struct aml buf = { .len = 0 };

    aml_u8(&buf, AML_BYTE_PREFIX); /* BufferSize */
    aml_u8(&buf, sizeof(res));
    aml_put(&buf, res, sizeof(res));
    aml_name_pkg(a, "_CRS", AML_BUFFER, &buf);
}

/* Device(\_SB.PCI0) with _HID PNP0A03 (no _ADR: a device has one or the
 * other): with ACPI on, Linux finds PCI host bridges only in the
 * namespace, so without it the i440FX of pci_host.c would vanish. */
static void aml_pci0(struct aml *a)
{
    struct aml dev = { .len = 0 };

    aml_u8(&dev, AML_ROOT);
    aml_u8(&dev, AML_DUAL_NAME);
    aml_put(&dev, "_SB_PCI0", 8);
    aml_name_eisaid(&dev, "_HID", "PNP0A03");
    aml_name_byte(&dev, "_UID", 0);
    aml_crs_bus_range(&dev);
    aml_u8(a, AML_EXT_PREFIX);
    aml_u8(a, AML_DEVICE);
    aml_pkglength(a, dev.len);
    aml_put(a, dev.b, dev.len);
}

static uint32_t build_dsdt(struct acpi_area *a)
{
    struct aml aml = { .len = 0 };

    aml_s5(&aml);
    aml_pci0(&aml);
    uint32_t len = ACPI_HEADER_SIZE + (uint32_t)aml.len;
    uint32_t addr = take(a, len, 16);
    uint8_t *t = a->ram + addr;

    header(t, "DSDT", len, 1); /* revision 1: 32-bit AML integers */
    memcpy(t + ACPI_HEADER_SIZE, aml.b, aml.len);
    finish(t);
    return addr;
}

static uint32_t build_facs(struct acpi_area *a)
{
    uint32_t addr = take(a, ACPI_FACS_SIZE, 64); /* must be 64-aligned */
    uint8_t *t = a->ram + addr;

    memcpy(t, "FACS", 4);
    wr32(t + 4, ACPI_FACS_SIZE);
    /* hardware signature, waking vector, global lock, flags: all 0; no
     * checksum in this one */
    return addr;
}

static uint32_t build_fadt(struct acpi_area *a, uint32_t facs, uint32_t dsdt)
{
    uint32_t addr = take(a, ACPI_FADT_SIZE, 16);
    uint8_t *t = a->ram + addr;

    /* Revision 3 (ACPI 2.0 layout) rather than QEMU's 1.0 one: only from
     * revision 2 on does the OS read IAPC_BOOT_ARCH (ACPICA clears it in
     * shorter FADTs) and the century byte. */
    header(t, "FACP", ACPI_FADT_SIZE, ACPI_FADT_REVISION);
    wr32(t + FADT_FIRMWARE_CTRL, facs);
    wr32(t + FADT_DSDT, dsdt);
    wr16(t + FADT_SCI_INT, ACPI_SCI_IRQ);
    wr32(t + FADT_SMI_CMD, 0); /* no SMM: ACPI mode from reset (SCI_EN) */
    wr32(t + FADT_PM1A_EVT_BLK, ACPI_PM1_EVT_BLK);
    wr32(t + FADT_PM1A_CNT_BLK, ACPI_PM1_CNT_BLK);
    wr32(t + FADT_PM_TMR_BLK, ACPI_PM_TMR_BLK);
    t[FADT_PM1_EVT_LEN] = ACPI_PM1_EVT_LEN;
    t[FADT_PM1_CNT_LEN] = ACPI_PM1_CNT_LEN;
    t[FADT_PM_TMR_LEN] = ACPI_PM_TMR_LEN;
    /* GPE0/GPE1 blocks: none (lengths 0). */
    wr16(t + FADT_P_LVL2_LAT, NO_C2_LATENCY);
    wr16(t + FADT_P_LVL3_LAT, NO_C3_LATENCY);
    t[FADT_CENTURY] = CMOS_CENTURY;
    wr16(t + FADT_IAPC_BOOT_ARCH, ACPI_BOOT_LEGACY_DEVICES | ACPI_BOOT_8042);
    /* TMR_VAL_EXT clear: a 24-bit timer. No RESET_REG. */
    wr32(t + FADT_FLAGS, ACPI_FADT_WBINVD | ACPI_FADT_PROC_C1 |
                             ACPI_FADT_PWR_BUTTON | ACPI_FADT_SLP_BUTTON);
    /* The 64-bit fields repeat the 32-bit ones exactly (ACPICA warns on
     * any mismatch); X_FIRMWARE_CTRL stays 0 so the FACS is found once. */
    wr64(t + FADT_X_DSDT, dsdt);
    gas_io(t + FADT_X_PM1A_EVT_BLK, ACPI_PM1_EVT_BLK, ACPI_PM1_EVT_LEN);
    gas_io(t + FADT_X_PM1A_CNT_BLK, ACPI_PM1_CNT_BLK, ACPI_PM1_CNT_LEN);
    gas_io(t + FADT_X_PM_TMR_BLK, ACPI_PM_TMR_BLK, ACPI_PM_TMR_LEN);
    finish(t);
    return addr;
}

static uint32_t build_rsdt(struct acpi_area *a, uint32_t fadt)
{
    uint32_t len = ACPI_HEADER_SIZE + 4;
    uint32_t addr = take(a, len, 16);
    uint8_t *t = a->ram + addr;

    header(t, "RSDT", len, 1);
    wr32(t + ACPI_HEADER_SIZE, fadt);
    finish(t);
    return addr;
}

static void build_rsdp(uint8_t *p, uint32_t rsdt)
{
    memcpy(p, "RSD PTR ", 8);
    memcpy(p + 9, OEM_ID, 6);
    p[15] = 0; /* revision 0: ACPI 1.0, RSDT only */
    wr32(p + 16, rsdt);
    p[8] = checksum(p, ACPI_RSDP_SIZE);
}

int acpi_tables_build(uint8_t *ram, uint32_t ram_size)
{
    if (ram_size < ACPI_TABLES_END)
        return -ENOSPC;
    struct acpi_area a = { .ram = ram, .next = ACPI_TABLES_ADDR };
    uint32_t rsdp = take(&a, ACPI_RSDP_SIZE, 16);
    uint32_t facs = build_facs(&a);
    uint32_t dsdt = build_dsdt(&a);
    uint32_t fadt = build_fadt(&a, facs, dsdt);
    uint32_t rsdt = build_rsdt(&a, fadt);

    build_rsdp(ram + rsdp, rsdt);
    return (int)(a.next - ACPI_TABLES_ADDR);
}
