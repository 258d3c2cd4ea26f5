/* The machine: RAM, CPU, translator, port dispatch and the device list. */
#include "vmm/vm.h"
#include "vmm/vmi.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/acpi_tables.h"
#include "vmm/dev/acpi_pm.h"
#include "vmm/dev/debug_exit.h"
#include "vmm/dev/i8042.h"
#include "vmm/dev/pci_host.h"
#include "vmm/dev/pic8259.h"
#include "vmm/dev/pit8254.h"
#include "vmm/dev/port92.h"
#include "vmm/dev/post80.h"
#include "vmm/dev/rtc_cmos.h"
#include "vmm/dev/uart16550.h"
#include "vmm/exit_status.h"

/* The devices of the machine, created in this order (the PIC first: the
 * others raise IRQs through it). */
static const struct device_ops *const machine_devices[] = {
    &pic_device,        /* 8259A pair + ELCR: IRQ 0-15 to the CPU's INTR */
    &pit_device,        /* 8254 PIT on IRQ 0, port 0x61 (channel 2 gate) */
    &rtc_device,        /* MC146818 RTC + CMOS memory on IRQ 8 */
    &i8042_device,      /* keyboard controller on IRQ 1: A20, reset */
    &port92_device,     /* system control port A: fast A20, fast reset */
    &post80_device,     /* POST code port 0x80 */
    &pci_host_device,   /* PCI configuration mechanism 1, i440FX bridge */
    &acpi_pm_device,    /* ACPI PM1a blocks and PM timer (0x600) */
    &com1_device,       /* 16550A UART on COM1 (IRQ 4): the guest console */
    &debug_exit_device, /* QEMU's isa-debug-exit: the guest sets our status */
};

_Static_assert(sizeof(machine_devices) / sizeof(machine_devices[0]) <=
                   VM_MAX_DEVICES,
               "raise VM_MAX_DEVICES");

/* ---- what the translator calls for anything that is not RAM ---- */

static uint32_t vm_io_in(void *opaque, uint16_t port, unsigned size)
{
    struct vm *vm = opaque;
    return ioport_in(&vm->io, port, size);
}

static void vm_io_out(void *opaque, uint16_t port, unsigned size, uint32_t val)
{
    struct vm *vm = opaque;
    ioport_out(&vm->io, port, size, val);
}

/* Nothing is mapped outside RAM yet: open bus. */
static uint32_t vm_mmio_read(void *opaque, uint32_t gpa, unsigned size)
{
    struct vm *vm = opaque;
    (void)gpa;
    vm->stats.mmio_reads++;
    return size >= 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
}

static void vm_mmio_write(void *opaque, uint32_t gpa, unsigned size,
                          uint32_t val)
{
    struct vm *vm = opaque;
    (void)gpa, (void)size, (void)val;
    vm->stats.mmio_writes++;
}

/* The CPU takes an interrupt: the PIC's INTA cycle. */
static int vm_irq_ack(void *opaque)
{
    struct vm *vm = opaque;
    return vm->pic ? pic_intack(vm->pic) : -1;
}

/* Ctrl-A x on the console: end the run as QEMU does (status 0). */
static void vm_console_quit(void *opaque)
{
    struct vm *vm = opaque;
    fprintf(stderr, "\r\ntpvm: terminated (Ctrl-A x)\r\n");
    vm_request_exit(vm, 0);
}

/* A device deadline passed (timer thread) or input arrived (reader). */
static void vm_kick_cpu(void *opaque)
{
    struct vm *vm = opaque;
    bt_request_exit(vm->cpu);
}

void vm_set_a20(struct vm *vm, bool enabled)
{
    uint32_t mask = enabled ? 0xffffffffu : ~0x100000u;

    if (vm->cpu->a20_mask == mask)
        return;
    vm->cpu->a20_mask = mask;
    /* Every cached translation of a physical address is now wrong. */
    bt_tlb_flush(vm->cpu);
    if (vm->bt)
        bt_flush_code(vm->bt);
}

/* ---- the VMI back end (vmm/vmi.c) and its ROM ---- */

static void vm_hypercall(void *opaque, struct cpu *cpu)
{
    struct vm *vm = opaque;
    vmi_hypercall(vm->vmi, cpu);
}

static void vm_vmi_shutdown(void *opaque) { vm_request_exit(opaque, 0); }

static void vm_vmi_reboot(void *opaque, bool hard)
{
    (void)hard;
    vm_request_reset(opaque);
}

/* SetAlarm/CancelAlarm moved the deadline. */
static void vm_vmi_alarm_changed(void *opaque)
{
    struct vm *vm = opaque;
    timer_arm(&vm->timers, vm->vmi_timer,
              vmi_alarm_deadline_ns(vm->vmi, vm->cpu, timers_now(&vm->timers)));
}

/* The alarm's deadline passed: an IRQ 0 edge, as the PIT gives. */
static void vm_vmi_alarm_fire(void *opaque, uint64_t now)
{
    struct vm *vm = opaque;
    (void)now;
    if (vmi_alarm_fire(vm->vmi, vmi_cycles_now(vm->cpu)) & VMI_FIRED_IRQ0) {
        pic_set_irq(vm->pic, 0, false);
        pic_set_irq(vm->pic, 0, true);
    }
    vm_vmi_alarm_changed(vm);
}

static int vm_vmi_attach(struct vm *vm, const char *rom, char *err,
                         size_t errlen)
{
    struct vmi_machine_ops ops = {
        .opaque = vm, .shutdown = vm_vmi_shutdown, .reboot = vm_vmi_reboot,
        .alarm_changed = vm_vmi_alarm_changed,
    };
    vm->vmi = vmi_create(vm->ram_size, &ops);
    if (!vm->vmi) {
        snprintf(err, errlen, "out of memory for the VMI back end");
        return -ENOMEM;
    }
    int ret = vmi_rom_load(rom, vm->ram, vm->ram_size, err, errlen);
    if (ret < 0)
        return ret;
    vm->vmi_timer = timer_add(&vm->timers, "vmi-alarm", vm_vmi_alarm_fire, vm);
    if (vm->vmi_timer < 0) {
        snprintf(err, errlen, "no timer left for the VMI alarm");
        return vm->vmi_timer;
    }
    vm->host.hypercall = vm_hypercall;
    return 0;
}

/* ---- life cycle ---- */

struct vm *vm_create(const struct options *opts, char *err, size_t errlen,
                     int *status)
{
    struct vm *vm = calloc(1, sizeof(*vm));
    int ret;

    *status = TPVM_EXIT_INTERNAL;
    if (!vm) {
        snprintf(err, errlen, "out of memory for the machine");
        return NULL;
    }
    vm->opts = opts;
    vm->ram_size = (uint32_t)opts->ram_size;
    ioport_table_init(&vm->io);
    ret = timers_init(&vm->timers);
    if (ret < 0) {
        snprintf(err, errlen, "cannot set up timers: %s", strerror(-ret));
        goto fail;
    }
    vm->timers_open = true;

    /* The CPU and guest RAM come together: RAM sits at a fixed offset
     * from the CPU state so paging-off code addresses it directly. RAM is
     * anonymous and demand-zero, so -m 3G costs what the guest touches. */
    vm->cpu = bt_cpu_alloc(vm->ram_size);
    if (!vm->cpu) {
        snprintf(err, errlen, "cannot allocate %u MiB of guest RAM: %s",
                 vm->ram_size >> 20, strerror(errno));
        *status = TPVM_EXIT_USAGE;
        goto fail;
    }
    vm->ram = vm->cpu->ram;
    timers_set_paused(&vm->timers, &vm->cpu->paused_ns);

    if (opts->perf_map) {
        char path[64];
        snprintf(path, sizeof path, "/tmp/perf-%d.map", (int)getpid());
        vm->perf_map = fopen(path, "w");
        if (!vm->perf_map) {
            snprintf(err, errlen, "--perf-map: %s: %s", path, strerror(errno));
            *status = TPVM_EXIT_USAGE;
            goto fail;
        }
    }
    struct bt_config cfg = {
        .code_cache_size = 0,
        .prefault = true,
        .trace = opts->trace ? stderr : NULL,
        .perf_map = vm->perf_map,
    };
    vm->bt = bt_create(&cfg);
    if (!vm->bt) {
        snprintf(err, errlen, "cannot create the translator");
        goto fail;
    }
    vm->host = (struct bt_host){
        .opaque = vm,
        .io_in = vm_io_in,
        .io_out = vm_io_out,
        .mmio_read = vm_mmio_read,
        .mmio_write = vm_mmio_write,
        .irq_ack = vm_irq_ack,
    };
    timers_set_kick(&vm->timers, vm_kick_cpu, vm);

    ret = chardev_open(&vm->serial, opts->serial, err, errlen);
    if (ret < 0) {
        *status = TPVM_EXIT_USAGE;
        goto fail;
    }
    vm->serial_open = true;
    chardev_set_quit(&vm->serial, vm_console_quit, vm);

    for (size_t i = 0; i < sizeof(machine_devices) / sizeof(machine_devices[0]);
         i++) {
        void *state = machine_devices[i]->create(vm, err, errlen);
        if (!state)
            goto fail;
        vm->devices[vm->ndevices].ops = machine_devices[i];
        vm->devices[vm->ndevices].state = state;
        vm->ndevices++;
    }
    /* The firmware tables the OS finds the PM timer by (acpi_tables.c);
     * a kernel loaded over them later wins. */
    if (acpi_tables_build(vm->ram, vm->ram_size) < 0) {
        snprintf(err, errlen, "no room for the ACPI tables below 1 MiB");
        goto fail;
    }
    /* pv and auto map the VMI ROM; the guest decides whether to use it */
    if (opts->mode != VM_MODE_BT &&
        vm_vmi_attach(vm, opts->rom, err, errlen) < 0) {
        *status = TPVM_EXIT_USAGE;
        goto fail;
    }
    *status = 0;
    return vm;

fail:
    vm_destroy(vm);
    return NULL;
}

void vm_attach_cpu(struct vm *vm)
{
    bt_attach(vm->bt, vm->cpu, &vm->host);
}

void vm_flush_devices(struct vm *vm)
{
    for (unsigned i = 0; i < vm->ndevices; i++)
        if (vm->devices[i].ops->flush)
            vm->devices[i].ops->flush(vm->devices[i].state);
}

void vm_destroy(struct vm *vm)
{
    if (!vm)
        return;
    vm_flush_devices(vm);
    while (vm->ndevices > 0) {
        vm->ndevices--;
        vm->devices[vm->ndevices].ops->destroy(vm->devices[vm->ndevices].state);
    }
    if (vm->timers_open)
        timers_destroy(&vm->timers); /* stops the thread */
    if (vm->serial_open)
        chardev_close(&vm->serial);
    if (vm->vmi)
        vmi_destroy(vm->vmi);
    if (vm->bt)
        bt_destroy(vm->bt);
    if (vm->perf_map)
        fclose(vm->perf_map);
    bt_cpu_free(vm->cpu);
    free(vm);
}
