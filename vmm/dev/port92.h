/* System control port A (0x92): fast A20 gate and fast reset. */
#ifndef TPVM_VMM_DEV_PORT92_H
#define TPVM_VMM_DEV_PORT92_H

#include <stdint.h>

#include "vmm/device.h"

#define PORT92_RESET 0x01 /* 0 -> 1: reset the CPU */
#define PORT92_A20 0x02

struct vm;

struct port92 {
    struct vm *vm;
    uint8_t value; /* reads back what was written (QEMU) */
};

/* Port 0x92, A20 on as firmware leaves it. */
extern const struct device_ops port92_device;

#endif
