/* The machine: guest RAM, the CPU, the translator, port dispatch and the
 * devices, created in one place (vm_create). */
#ifndef TPVM_VMM_VM_H
#define TPVM_VMM_VM_H

#define VM_HAS_VMI 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bt/bt.h"
#include "bt/cpu.h"
#include "vmm/chardev.h"
#include "vmm/device.h"
#include "vmm/ioport.h"
#include "vmm/options.h"
#include "vmm/timer.h"

/* Monitor counters, one X-macro list (--stats). */
#define VM_STATS(X)                                                      \
    X(run_loop_iterations, "returns from bt_run")                        \
    X(exits_request, "bt_run exits: stop requested")                     \
    X(exits_hlt, "bt_run exits: HLT")                                    \
    X(exits_exception, "bt_run exits: guest exception")                  \
    X(exits_internal, "bt_run exits: translator internal error")         \
    X(mmio_reads, "guest reads outside RAM (open bus, all ones)")        \
    X(mmio_writes, "guest writes outside RAM (discarded)")               \
    X(run_time_us, "wall-clock time in the run loop (microseconds)")     \
    X(idle_waits, "HLT with IF=1: sleeps until an event")                \
    X(idle_time_us, "time asleep in HLT (microseconds)")                 \
    X(timer_kicks, "CPU stopped because a device deadline passed")       \
    X(timer_callbacks, "device timer callbacks run")                     \
    X(input_posts, "CPU woken by serial input")                          \
    X(irqs_acked, "interrupt acknowledge cycles (INTA)")                 \
    X(irqs_spurious, "spurious interrupts (IRQ 7 / IRQ 15)")             \
    VM_IRQ_STATS(X)

/* Rising edges per PIC input; they stay adjacent (pic8259.c indexes
 * them from irq0_raised). */
#define VM_IRQ_STATS(X)                                                  \
    X(irq0_raised, "IRQ 0 rising edges (PIT channel 0)")                 \
    X(irq1_raised, "IRQ 1 rising edges (i8042 keyboard)")                \
    X(irq2_raised, "IRQ 2 rising edges")                                 \
    X(irq3_raised, "IRQ 3 rising edges")                                 \
    X(irq4_raised, "IRQ 4 rising edges (COM1)")                          \
    X(irq5_raised, "IRQ 5 rising edges")                                 \
    X(irq6_raised, "IRQ 6 rising edges")                                 \
    X(irq7_raised, "IRQ 7 rising edges")                                 \
    X(irq8_raised, "IRQ 8 rising edges (RTC)")                           \
    X(irq9_raised, "IRQ 9 rising edges")                                 \
    X(irq10_raised, "IRQ 10 rising edges")                               \
    X(irq11_raised, "IRQ 11 rising edges")                               \
    X(irq12_raised, "IRQ 12 rising edges")                               \
    X(irq13_raised, "IRQ 13 rising edges")                               \
    X(irq14_raised, "IRQ 14 rising edges")                               \
    X(irq15_raised, "IRQ 15 rising edges")

struct vm_stats {
#define X(name, desc) uint64_t name;
    VM_STATS(X)
#undef X
};

_Static_assert(offsetof(struct vm_stats, irq15_raised) -
                   offsetof(struct vm_stats, irq0_raised) ==
               15 * sizeof(uint64_t),
               "IRQ counters must stay adjacent");

#define VM_MAX_DEVICES 16

struct pic8259;

struct vm {
    struct cpu *cpu;           /* with its RAM, from bt_cpu_alloc() */
    struct vmi *vmi;           /* the VMI back end (--mode pv/auto), or NULL */
    int vmi_timer;
    struct bt *bt;
    FILE *perf_map;          /* --perf-map file, or NULL */
    struct bt_host host;       /* callbacks bt uses to reach io and mmio */

    uint8_t *ram;              /* guest-physical 0 .. ram_size-1 */
    uint32_t ram_size;

    struct ioport_table io;
    struct timers timers;      /* device deadlines on host time */
    bool timers_open;
    struct pic8259 *pic;       /* where devices raise IRQs (set by the PIC) */
    struct chardev serial;     /* host end of COM1 */
    bool serial_open;
    struct {
        const struct device_ops *ops;
        void *state;
    } devices[VM_MAX_DEVICES];
    unsigned ndevices;

    const struct options *opts;

    /* Set once, by the first device that ends the VM (debug-exit). */
    bool exit_requested;
    int exit_status;
    bool reset_requested;      /* ... and why, when it was a reset */

    struct vm_stats stats;
};

/* Build the machine described by opts (RAM, translator, devices). On
 * failure returns NULL, with one line (without "tpvm: ") in err and the
 * exit status to use in *status. */
struct vm *vm_create(const struct options *opts, char *err, size_t errlen,
                     int *status);

/* Bind the CPU to the translator once the loader has set its state. */
void vm_attach_cpu(struct vm *vm);

/* Push every device's buffered output to the host. */
void vm_flush_devices(struct vm *vm);

/* Flushes and frees everything; vm may be NULL. */
void vm_destroy(struct vm *vm);

/* A device ends the VM with this exit status; the CPU leaves translated
 * code at its next block. The first request wins, as in QEMU where the
 * first one exits the process. */
static inline void vm_request_exit(struct vm *vm, int status)
{
    if (!vm->exit_requested) {
        vm->exit_status = status;
        vm->exit_requested = true;
    }
    bt_request_exit(vm->cpu);
}

/* A device resets the machine (i8042, port 0x92, 0xcf9). For now this
 * ends the VM with status 0 and no message, like QEMU's -no-reboot. */
static inline void vm_request_reset(struct vm *vm)
{
    if (!vm->exit_requested)
        vm->reset_requested = true;
    vm_request_exit(vm, 0);
}

/* The A20 gate (i8042 output port, port 0x92): with it off, guest-physical
 * address bit 20 reads as 0. Last writer wins, as in QEMU. */
void vm_set_a20(struct vm *vm, bool enabled);

/* --stats: translator, port I/O and monitor counters. */
void vm_print_stats(const struct vm *vm, FILE *out);

#endif
