/* Port 0x80, the POST diagnostic code port. */
#ifndef TPVM_VMM_DEV_POST80_H
#define TPVM_VMM_DEV_POST80_H

#include <stdint.h>

#include "vmm/device.h"

struct post80 {
    uint8_t last_code; /* the last byte written */
};

/* Port 0x80: writes are kept (OSes also write it as an I/O delay), reads
 * float like QEMU's. */
extern const struct device_ops post80_device;

#endif
