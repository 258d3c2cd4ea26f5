/* ACPI PM1a event/control blocks and PM timer (PIIX4 function 3 as QEMU
 * places it at 0x600). The timer is what Linux wants from this: a
 * clocksource (acpi_pm) good enough to watch the TSC with. It is never
 * counted: its value is computed from the guest clock when read, so it
 * stops with that clock while tpvm translates, as the TSC does.
 *
 * No SCI is ever raised: nothing here generates events (no buttons, no
 * GPEs) and TMR_STS is only a status bit. Writing SLP_EN with SLP_TYP
 * for S5 powers the machine off (exit status 0). */
#include "vmm/dev/acpi_pm.h"

#include <stdio.h>
#include <stdlib.h>

#include "vmm/ioport.h"
#include "vmm/timer.h"
#include "vmm/vm.h"

#define NS_PER_S 1000000000u
#define TMR_STS_SHIFT 23 /* TMR_STS: bit 23 of the timer changed */
#define FLOAT_BYTE 0xffu /* bytes of an access past a block's end */

/* Timer ticks since start (64 bits: never wraps). */
static uint64_t pm_ticks(const struct acpi_pm *pm, uint64_t now)
{
    uint64_t ns = now > pm->start_ns ? now - pm->start_ns : 0;
    return (uint64_t)((unsigned __int128)ns * ACPI_PM_TIMER_HZ / NS_PER_S);
}

uint32_t acpi_pm_timer(const struct acpi_pm *pm, uint64_t now)
{
    return (uint32_t)pm_ticks(pm, now) & ACPI_PM_TIMER_MASK;
}

static uint64_t pm_now(const struct acpi_pm *pm)
{
    return timers_now(&pm->vm->timers);
}

/* ---- byte lanes: any size at any offset, as a guest may do ---- */

/* The bytes [offset, offset + size) of a register block of width bytes
 * holding reg; bytes past its end float. */
static uint32_t lanes_read(uint32_t reg, unsigned width, uint16_t offset,
                           unsigned size)
{
    uint32_t val = 0;

    for (unsigned i = 0; i < size; i++) {
        unsigned b = offset + i;
        uint32_t byte = b < width ? (reg >> (8 * b)) & 0xff : FLOAT_BYTE;
        val |= byte << (8 * i);
    }
    return val;
}

/* Place val's bytes at the block's offset: *mask gets the bits written. */
static uint32_t lanes_write(unsigned width, uint16_t offset, unsigned size,
                            uint32_t val, uint32_t *mask)
{
    uint32_t v = 0;

    *mask = 0;
    for (unsigned i = 0; i < size; i++) {
        unsigned b = offset + i;
        if (b >= width)
            break;
        v |= ((val >> (8 * i)) & 0xff) << (8 * b);
        *mask |= 0xffu << (8 * b);
    }
    return v;
}

/* ---- PM1a event block: PM1_STS (W1C) then PM1_EN ---- */

static uint16_t pm1_sts(const struct acpi_pm *pm, uint64_t now)
{
    return (pm_ticks(pm, now) >> TMR_STS_SHIFT) != pm->tmr_period
               ? ACPI_PM1_TMR
               : 0;
}

static uint32_t evt_read(void *opaque, uint16_t offset, unsigned size)
{
    struct acpi_pm *pm = opaque;
    uint32_t reg = pm1_sts(pm, pm_now(pm)) | (uint32_t)pm->en << 16;

    return lanes_read(reg, ACPI_PM1_EVT_LEN, offset, size);
}

static void evt_write(void *opaque, uint16_t offset, unsigned size,
                      uint32_t val)
{
    struct acpi_pm *pm = opaque;
    uint32_t mask, v = lanes_write(ACPI_PM1_EVT_LEN, offset, size, val, &mask);

    if (v & mask & ACPI_PM1_TMR) /* clears until bit 23 changes again */
        pm->tmr_period = pm_ticks(pm, pm_now(pm)) >> TMR_STS_SHIFT;
    /* Other status bits are never set: nothing to clear. */
    uint16_t en_mask = (uint16_t)(mask >> 16) & ACPI_PM1_EN_MASK;
    pm->en = (uint16_t)((pm->en & ~en_mask) | ((v >> 16) & en_mask));
}

/* ---- PM1a control block ---- */

static uint32_t cnt_read(void *opaque, uint16_t offset, unsigned size)
{
    struct acpi_pm *pm = opaque;
    return lanes_read(pm->cnt, ACPI_PM1_CNT_LEN, offset, size);
}

static void cnt_write(void *opaque, uint16_t offset, unsigned size,
                      uint32_t val)
{
    struct acpi_pm *pm = opaque;
    uint32_t mask, v = lanes_write(ACPI_PM1_CNT_LEN, offset, size, val, &mask);
    uint16_t rw = (uint16_t)mask & (ACPI_PM1_BM_RLD | ACPI_PM1_SLP_TYP);

    pm->cnt = (uint16_t)((pm->cnt & ~rw) | (v & rw) | ACPI_PM1_SCI_EN);
    /* GBL_RLS would signal the (absent) BIOS: ignored. */
    if ((v & mask & ACPI_PM1_SLP_EN) &&
        (pm->cnt & ACPI_PM1_SLP_TYP) >> ACPI_PM1_SLP_TYP_SHIFT ==
            ACPI_SLP_TYP_S5)
        vm_request_exit(pm->vm, 0); /* soft off, as QEMU exits */
    /* Other sleep types (S1-S4) are not offered by the DSDT: ignored. */
}

/* ---- PM timer: read-only ---- */

static uint32_t tmr_read(void *opaque, uint16_t offset, unsigned size)
{
    struct acpi_pm *pm = opaque;
    return lanes_read(acpi_pm_timer(pm, pm_now(pm)), ACPI_PM_TMR_LEN, offset,
                      size);
}

/* ---- life cycle ---- */

static void *acpi_pm_create(struct vm *vm, char *err, size_t errlen)
{
    struct acpi_pm *pm = calloc(1, sizeof(*pm));

    if (!pm) {
        snprintf(err, errlen, "acpi-pm: out of memory");
        return NULL;
    }
    pm->vm = vm;
    pm->start_ns = timers_now(&vm->timers);
    pm->cnt = ACPI_PM1_SCI_EN; /* ACPI mode from reset: no SMI_CMD */
    const struct port_claim ports[] = {
        { ACPI_PM1_EVT_BLK, ACPI_PM1_EVT_LEN, 0, "acpi-evt", pm, evt_read,
          evt_write },
        { ACPI_PM1_CNT_BLK, ACPI_PM1_CNT_LEN, 0, "acpi-cnt", pm, cnt_read,
          cnt_write },
        { ACPI_PM_TMR_BLK, ACPI_PM_TMR_LEN, 0, "acpi-tmr", pm, tmr_read,
          NULL },
    };
    if (device_claim_ports(vm, "acpi-pm", ports,
                           sizeof(ports) / sizeof(ports[0]), err,
                           errlen) < 0) {
        free(pm);
        return NULL;
    }
    return pm;
}

static void acpi_pm_destroy(void *dev)
{
    free(dev);
}

const struct device_ops acpi_pm_device = {
    .name = "acpi-pm",
    .create = acpi_pm_create,
    .destroy = acpi_pm_destroy,
};
