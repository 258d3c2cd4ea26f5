/* Port 0x80: a POST card's display. Linux writes it for I/O delays. */
#include "vmm/dev/post80.h"

#include <stdio.h>
#include <stdlib.h>

#include "vmm/ioport.h"
#include "vmm/vm.h"

#define POST_PORT 0x80

static void post80_io_write(void *opaque, uint16_t offset, unsigned size,
                            uint32_t val)
{
    struct post80 *p = opaque;

    (void)offset, (void)size;
    p->last_code = (uint8_t)val;
}

static void *post80_create(struct vm *vm, char *err, size_t errlen)
{
    struct post80 *p = calloc(1, sizeof(*p));

    if (!p) {
        snprintf(err, errlen, "post80: out of memory");
        return NULL;
    }
    /* No read callback: reads give all ones, as under QEMU. */
    const struct port_claim ports[] = {
        { POST_PORT, 1, IOPORT_BYTE_ONLY, "post80", p, NULL, post80_io_write },
    };
    if (device_claim_ports(vm, "post80", ports,
                           sizeof(ports) / sizeof(ports[0]), err,
                           errlen) < 0) {
        free(p);
        return NULL;
    }
    return p;
}

static void post80_destroy(void *dev)
{
    free(dev);
}

const struct device_ops post80_device = {
    .name = "post80",
    .create = post80_create,
    .destroy = post80_destroy,
};
