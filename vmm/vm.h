/* The machine: guest RAM, the CPU, the translator, port dispatch and the
 * devices, created in one place (vm_create). */
#ifndef TPVM_VMM_VM_H
#define TPVM_VMM_VM_H

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

/* Monitor counters, one X-macro list (--stats). */
#define VM_STATS(X)                                                      \
    X(run_loop_iterations, "returns from bt_run")                        \
    X(exits_request, "bt_run exits: stop requested")                     \
    X(exits_hlt, "bt_run exits: HLT")                                    \
    X(exits_exception, "bt_run exits: guest exception")                  \
    X(exits_internal, "bt_run exits: translator internal error")         \
    X(mmio_reads, "guest reads outside RAM (open bus, all ones)")        \
    X(mmio_writes, "guest writes outside RAM (discarded)")               \
    X(run_time_us, "wall-clock time in the run loop (microseconds)")

struct vm_stats {
#define X(name, desc) uint64_t name;
    VM_STATS(X)
#undef X
};

#define VM_MAX_DEVICES 16

struct vm {
    struct cpu *cpu;           /* with its RAM, from bt_cpu_alloc() */
    struct bt *bt;
    struct bt_host host;       /* callbacks bt uses to reach io and mmio */

    uint8_t *ram;              /* guest-physical 0 .. ram_size-1 */
    uint32_t ram_size;

    struct ioport_table io;
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

/* --stats: translator, port I/O and monitor counters. */
void vm_print_stats(const struct vm *vm, FILE *out);

#endif
