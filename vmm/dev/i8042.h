/* The 8042 keyboard controller with a PS/2 keyboard and no AUX port. */
#ifndef TPVM_VMM_DEV_I8042_H
#define TPVM_VMM_DEV_I8042_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/device.h"

struct vm;

/* Status register (port 0x64 reads). */
#define I8042_STR_OBF 0x01
#define I8042_STR_IBF 0x02
#define I8042_STR_SYS 0x04
#define I8042_STR_CMD 0x08
#define I8042_STR_UNLOCKED 0x10
#define I8042_STR_AUXOBF 0x20

/* Controller configuration byte ("command byte", 0x20/0x60). */
#define I8042_CTR_KBDINT 0x01
#define I8042_CTR_AUXINT 0x02
#define I8042_CTR_SYS 0x04
#define I8042_CTR_KBDDIS 0x10
#define I8042_CTR_AUXDIS 0x20
#define I8042_CTR_XLATE 0x40

/* Output port (0xd0/0xd1). */
#define I8042_OUT_RESET 0x01 /* low: the CPU is held in reset */
#define I8042_OUT_A20 0x02
#define I8042_OUT_OBF 0x10

#define I8042_QUEUE 16

struct i8042 {
    struct vm *vm;
    uint8_t status;      /* SYS, CMD, UNLOCKED; OBF follows the queue */
    uint8_t ctr;
    uint8_t outport;
    uint8_t ctl_pending; /* controller command waiting for its data byte */
    uint8_t kbd_pending; /* keyboard command waiting for its parameter */
    uint8_t scancode_set;
    bool scanning;
    /* Bytes for the guest; the first one is in the output buffer. */
    uint8_t queue[I8042_QUEUE];
    unsigned qhead, qcount;
    uint8_t last_read;   /* what 0x60 reads when the buffer is empty */
    bool irq1_level;
};

/* Ports 0x60 and 0x64, IRQ 1; as SeaBIOS leaves it (configuration 0x61:
 * keyboard interrupt and translation on, AUX disabled; system flag set).
 * The output port's A20 bit drives the A20 gate; pulsing or clearing its
 * reset bit ends the VM like QEMU's -no-reboot. */
extern const struct device_ops i8042_device;

#endif
