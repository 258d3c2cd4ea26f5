/* PCI configuration mechanism 1 (0xcf8/0xcfc) with an i440FX host bridge
 * as the only device. */
#ifndef TPVM_VMM_DEV_PCI_HOST_H
#define TPVM_VMM_DEV_PCI_HOST_H

#include <stdint.h>

#include "vmm/device.h"

#define PCI_CONFIG_ENABLE 0x80000000u

struct vm;

struct pci_host {
    struct vm *vm;
    uint32_t address;      /* CONFIG_ADDRESS (0xcf8), as written */
    uint8_t rcr;           /* reset control register (0xcf9) */
    uint8_t config[256];   /* 00:00.0, the host bridge */
    uint8_t wmask[256];    /* its writable bits */
};

/* Ports 0xcf8-0xcff: bus 0 device 0 function 0 is an Intel 440FX
 * (8086:1237, class 0600) with the header SeaBIOS leaves; every other
 * function reads all ones. 0xcf9 is the PIIX reset control register:
 * setting bit 2 resets (ends the VM like QEMU's -no-reboot). */
extern const struct device_ops pci_host_device;

#endif
