/* The ACPI tables a PC firmware would leave for the OS: just enough for
 * Linux to find the PM timer (vmm/dev/acpi_pm.c) and use it as the
 * watchdog of its TSC clocksource. RSDP (ACPI 1.0) -> RSDT -> FADT ->
 * FACS and DSDT, in the BIOS area the memory maps mark reserved. */
#ifndef TPVM_VMM_ACPI_TABLES_H
#define TPVM_VMM_ACPI_TABLES_H

#include <stdint.h>

/* 0xF0000-0xFFFFF is reserved in tpvm's e820 and Multiboot maps and
 * nothing else lives there (the VMI ROM is at 0xC0000); Linux looks for
 * the RSDP on 16-byte boundaries in 0xE0000-0xFFFFF. */
#define ACPI_TABLES_ADDR 0xf0000u
#define ACPI_TABLES_END 0x100000u
#define ACPI_RSDP_ADDR ACPI_TABLES_ADDR

#define ACPI_RSDP_SIZE 20u      /* revision 0 */
#define ACPI_HEADER_SIZE 36u    /* every table but the RSDP and the FACS */
#define ACPI_FACS_SIZE 64u
#define ACPI_FADT_SIZE 244u     /* revision 3 (ACPI 2.0 layout) */
#define ACPI_FADT_REVISION 3u

/* FADT offsets the tests (and the docs) refer to. */
enum {
    FADT_FIRMWARE_CTRL = 36,
    FADT_DSDT = 40,
    FADT_SCI_INT = 46,
    FADT_SMI_CMD = 48,
    FADT_PM1A_EVT_BLK = 56,
    FADT_PM1A_CNT_BLK = 64,
    FADT_PM_TMR_BLK = 76,
    FADT_PM1_EVT_LEN = 88,
    FADT_PM1_CNT_LEN = 89,
    FADT_PM_TMR_LEN = 91,
    FADT_P_LVL2_LAT = 96,
    FADT_P_LVL3_LAT = 98,
    FADT_CENTURY = 108,
    FADT_IAPC_BOOT_ARCH = 109,
    FADT_FLAGS = 112,
    FADT_X_FIRMWARE_CTRL = 132,
    FADT_X_DSDT = 140,
    FADT_X_PM1A_EVT_BLK = 148, /* generic address structures, 12 bytes */
    FADT_X_PM1A_CNT_BLK = 172,
    FADT_X_PM_TMR_BLK = 208,
};

/* IAPC_BOOT_ARCH: an ISA PC with an 8042. */
#define ACPI_BOOT_LEGACY_DEVICES 0x0001u
#define ACPI_BOOT_8042 0x0002u

/* FADT flags. */
#define ACPI_FADT_WBINVD 0x0001u
#define ACPI_FADT_PROC_C1 0x0004u    /* HLT works */
#define ACPI_FADT_PWR_BUTTON 0x0010u /* no fixed power button */
#define ACPI_FADT_SLP_BUTTON 0x0020u /* no fixed sleep button */

/* Write the tables into guest RAM (ram[0] is guest-physical 0) at
 * ACPI_TABLES_ADDR. Returns the bytes used from there, or -ENOSPC when
 * RAM does not reach ACPI_TABLES_END. */
int acpi_tables_build(uint8_t *ram, uint32_t ram_size);

#endif
