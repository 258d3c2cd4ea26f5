/* What a device file exports so the machine can list it in one table. */
#ifndef TPVM_VMM_DEVICE_H
#define TPVM_VMM_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/ioport.h"

struct vm;

struct device_ops {
    const char *name;
    /* Allocate the device, claim its ports in vm->io. Returns the device
     * state, or NULL with one line (without "tpvm: ") in err. */
    void *(*create)(struct vm *vm, char *err, size_t errlen);
    /* Push buffered output to the host; called whenever the guest stops
     * and before exit. May be NULL. */
    void (*flush)(void *dev);
    void (*destroy)(void *dev);
};

/* One port range a device claims: the arguments of ioport_register. */
struct port_claim {
    uint16_t base, len;
    unsigned flags;        /* IOPORT_* */
    const char *label;     /* the range's name in --stats; static storage */
    void *opaque;
    ioport_read_fn read;   /* NULL: reads float */
    ioport_write_fn write; /* NULL: writes are ignored */
};

/* Claim each range in vm->io, in order. On the first failure writes
 * "NAME: cannot claim port BASE (LABEL)" into err and returns -1; the
 * ranges already claimed stay (the caller frees its state and vm_create
 * tears the machine down). */
int device_claim_ports(struct vm *vm, const char *name,
                       const struct port_claim *claims, size_t n, char *err,
                       size_t errlen);

#endif
