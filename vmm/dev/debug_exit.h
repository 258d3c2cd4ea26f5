/* QEMU's isa-debug-exit: a guest write ends the run with a chosen status. */
#ifndef TPVM_VMM_DEV_DEBUG_EXIT_H
#define TPVM_VMM_DEV_DEBUG_EXIT_H

#include <stdint.h>

#include "vmm/device.h"

/* The process exit status for a write of v: (v << 1) | 1, as QEMU. */
static inline int debug_exit_status(uint32_t v)
{
    return (int)((v << 1) | 1);
}

/* Ports 0xf4-0xf7 (QEMU's default iobase 0xf4, iosize 4). */
extern const struct device_ops debug_exit_device;

#endif
