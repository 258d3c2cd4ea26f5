/* ACPI fixed hardware of a PIIX4-class chipset: the PM1a event and
 * control blocks and the 24-bit PM timer, on guest time. */
#ifndef TPVM_VMM_DEV_ACPI_PM_H
#define TPVM_VMM_DEV_ACPI_PM_H

#include <stdint.h>

#include "vmm/device.h"

/* Where the blocks are (QEMU's PIIX4 PM base 0x600); the FADT
 * (vmm/acpi_tables.c) publishes the same numbers. */
#define ACPI_PM_BASE 0x600u
#define ACPI_PM1_EVT_BLK (ACPI_PM_BASE + 0x0) /* PM1_STS, then PM1_EN */
#define ACPI_PM1_EVT_LEN 4u
#define ACPI_PM1_CNT_BLK (ACPI_PM_BASE + 0x4)
#define ACPI_PM1_CNT_LEN 2u
#define ACPI_PM_TMR_BLK (ACPI_PM_BASE + 0x8)
#define ACPI_PM_TMR_LEN 4u
#define ACPI_SCI_IRQ 9u /* published, never raised */

#define ACPI_PM_TIMER_HZ 3579545u
#define ACPI_PM_TIMER_MASK 0xffffffu /* 24 bits: FADT TMR_VAL_EXT clear */

/* PM1_STS (write 1 to clear) and PM1_EN bits. */
#define ACPI_PM1_TMR 0x0001u    /* timer MSB (bit 23) changed */
#define ACPI_PM1_GBL 0x0020u
#define ACPI_PM1_PWRBTN 0x0100u
#define ACPI_PM1_RTC 0x0400u
#define ACPI_PM1_WAK 0x8000u    /* status only */
#define ACPI_PM1_EN_MASK \
    (ACPI_PM1_TMR | ACPI_PM1_GBL | ACPI_PM1_PWRBTN | ACPI_PM1_RTC)

/* PM1_CNT bits. */
#define ACPI_PM1_SCI_EN 0x0001u /* always 1: there is no legacy mode */
#define ACPI_PM1_BM_RLD 0x0002u
#define ACPI_PM1_GBL_RLS 0x0004u /* write-only, reads 0 */
#define ACPI_PM1_SLP_TYP 0x1c00u
#define ACPI_PM1_SLP_TYP_SHIFT 10
#define ACPI_PM1_SLP_EN 0x2000u  /* write-only, reads 0 */
/* PIIX4's SLP_TYP for soft off; the DSDT's \_S5 package says so. */
#define ACPI_SLP_TYP_S5 0u

struct vm;

struct acpi_pm {
    struct vm *vm;
    uint64_t start_ns;   /* guest time at which the timer read 0 */
    uint64_t tmr_period; /* TMR_STS is set while timer ticks >> 23 differ */
    uint16_t en;         /* PM1_EN */
    uint16_t cnt;        /* PM1_CNT, the readable bits */
};

/* The timer's 24-bit value at guest time now (tests, and port 0x608). */
uint32_t acpi_pm_timer(const struct acpi_pm *pm, uint64_t now);

/* Ports 0x600-0x603, 0x604-0x605 and 0x608-0x60b. */
extern const struct device_ops acpi_pm_device;

#endif
