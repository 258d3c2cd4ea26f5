/* PCI configuration mechanism 1: the address register at 0xcf8, the data
 * window at 0xcfc-0xcff (byte, word and dword), one host bridge. */
#include "vmm/dev/pci_host.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/ioport.h"
#include "vmm/vm.h"

#define PCI_HOST_BASE 0xcf8
#define PCI_HOST_PORTS 8
#define CONFIG_DATA_OFFSET 4 /* 0xcfc */
#define RCR_OFFSET 1         /* 0xcf9 */
#define RCR_SYS_RST 0x02
#define RCR_RST_CPU 0x04

static void put16(uint8_t *c, unsigned at, uint16_t v)
{
    c[at] = (uint8_t)v;
    c[at + 1] = (uint8_t)(v >> 8);
}

/* The 82441FX header as QEMU shows it after SeaBIOS: IDs, command (I/O,
 * memory, SERR), class 06/00 revision 2, QEMU's subsystem IDs, the PAM
 * registers (0x59-0x5f) and SMRAM (0x72). */
static void host_bridge_header(struct pci_host *h)
{
    static const uint8_t pam[] = { 0x10, 0x11, 0x11, 0x11, 0x11, 0x11, 0x33 };
    uint8_t *c = h->config;

    memset(c, 0, sizeof(h->config));
    put16(c, 0x00, 0x8086); /* vendor: Intel */
    put16(c, 0x02, 0x1237); /* device: 82441FX PMC */
    put16(c, 0x04, 0x0103); /* command */
    c[0x08] = 0x02;         /* revision */
    c[0x0a] = 0x00;         /* subclass: host bridge */
    c[0x0b] = 0x06;         /* class: bridge */
    put16(c, 0x2c, 0x1af4); /* subsystem vendor */
    put16(c, 0x2e, 0x1100); /* subsystem */
    c[0x57] = 0x10;
    memcpy(&c[0x59], pam, sizeof(pam));
    c[0x72] = 0x0a;
    memset(h->wmask, 0, sizeof(h->wmask));
    put16(h->wmask, 0x04, 0x0147);           /* I/O, mem, master, parity, SERR */
    h->wmask[0x0d] = 0xff;                   /* latency timer */
    memset(&h->wmask[0x50], 0xff, 0x30);     /* chipset registers */
}

/* Config offset for a data-window access, -1 when no function answers. */
static int config_offset(const struct pci_host *h, unsigned port)
{
    uint32_t a = h->address;

    if (!(a & PCI_CONFIG_ENABLE))
        return -1;
    if (((a >> 16) & 0xff) != 0 || ((a >> 11) & 0x1f) != 0 ||
        ((a >> 8) & 7) != 0)
        return -1; /* only 00:00.0 exists */
    return (int)((a & 0xfc) | (port & 3));
}

static uint32_t pci_io_read(void *opaque, uint16_t offset, unsigned size)
{
    struct pci_host *h = opaque;

    if (offset < CONFIG_DATA_OFFSET) {
        if (offset == 0 && size == 4)
            return h->address;
        if (offset == RCR_OFFSET && size == 1)
            return h->rcr;
        return 0xffffffffu;
    }
    int at = config_offset(h, offset);
    if (at < 0)
        return 0xffffffffu;
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (unsigned)(at + i < 256 ? h->config[at + i] : 0xff) << (8 * i);
    return v;
}

static void pci_io_write(void *opaque, uint16_t offset, unsigned size,
                         uint32_t val)
{
    struct pci_host *h = opaque;

    if (offset < CONFIG_DATA_OFFSET) {
        if (offset == 0 && size == 4) {
            h->address = val;
        } else if (offset == RCR_OFFSET && size == 1) {
            h->rcr = val & RCR_SYS_RST;
            if (val & RCR_RST_CPU)
                vm_request_reset(h->vm);
        }
        return;
    }
    int at = config_offset(h, offset);
    if (at < 0)
        return;
    for (unsigned i = 0; i < size && at + i < 256; i++) {
        uint8_t m = h->wmask[at + i], b = (uint8_t)(val >> (8 * i));
        h->config[at + i] = (uint8_t)((h->config[at + i] & ~m) | (b & m));
    }
}

static void *pci_host_create(struct vm *vm, char *err, size_t errlen)
{
    struct pci_host *h = calloc(1, sizeof(*h));

    if (!h) {
        snprintf(err, errlen, "pci: out of memory");
        return NULL;
    }
    h->vm = vm;
    host_bridge_header(h);
    const struct port_claim ports[] = {
        { PCI_HOST_BASE, PCI_HOST_PORTS, 0, "pci-host", h, pci_io_read,
          pci_io_write },
    };
    if (device_claim_ports(vm, "pci", ports, sizeof(ports) / sizeof(ports[0]),
                           err, errlen) < 0) {
        free(h);
        return NULL;
    }
    return h;
}

static void pci_host_destroy(void *dev)
{
    free(dev);
}

const struct device_ops pci_host_device = {
    .name = "pci-host",
    .create = pci_host_create,
    .destroy = pci_host_destroy,
};
