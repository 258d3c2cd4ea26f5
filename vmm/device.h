/* What a device file exports so the machine can list it in one table. */
#ifndef TPVM_VMM_DEVICE_H
#define TPVM_VMM_DEVICE_H

#include <stddef.h>

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

#endif
