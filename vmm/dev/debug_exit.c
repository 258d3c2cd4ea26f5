/* QEMU's isa-debug-exit at 0xf4: a write of v ends the VM with (v << 1) | 1. */
#include "vmm/dev/debug_exit.h"

#include <stdio.h>
#include <stdlib.h>

#include "vmm/vm.h"

#define DEBUG_EXIT_BASE 0xf4
#define DEBUG_EXIT_PORTS 4

struct debug_exit {
    struct vm *vm;
};

/* Reads give 0, as in QEMU (a guest can tell the port from open bus). */
static uint32_t debug_exit_io_read(void *opaque, uint16_t offset, unsigned size)
{
    (void)opaque, (void)offset, (void)size;
    return 0;
}

/* Any width, any of the four ports: QEMU accepts them all alike. */
static void debug_exit_io_write(void *opaque, uint16_t offset, unsigned size,
                                uint32_t val)
{
    struct debug_exit *d = opaque;
    (void)offset, (void)size;
    vm_request_exit(d->vm, debug_exit_status(val));
}

static void *debug_exit_create(struct vm *vm, char *err, size_t errlen)
{
    struct debug_exit *d = malloc(sizeof(*d));

    if (!d) {
        snprintf(err, errlen, "debug-exit: out of memory");
        return NULL;
    }
    d->vm = vm;
    const struct port_claim ports[] = {
        { DEBUG_EXIT_BASE, DEBUG_EXIT_PORTS, 0, "debug-exit", d,
          debug_exit_io_read, debug_exit_io_write },
    };
    if (device_claim_ports(vm, "debug-exit", ports,
                           sizeof(ports) / sizeof(ports[0]), err,
                           errlen) < 0) {
        free(d);
        return NULL;
    }
    return d;
}

static void debug_exit_destroy(void *dev)
{
    free(dev);
}

const struct device_ops debug_exit_device = {
    .name = "debug-exit",
    .create = debug_exit_create,
    .destroy = debug_exit_destroy,
};
