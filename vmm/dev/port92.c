/* Port 0x92 ("PS/2 system control port A"): bit 1 gates A20, a rising
 * bit 0 resets the machine, which ends the VM like QEMU's -no-reboot. */
#include "vmm/dev/port92.h"

#include <stdio.h>
#include <stdlib.h>

#include "vmm/ioport.h"
#include "vmm/vm.h"

#define PORT92 0x92

static uint32_t port92_io_read(void *opaque, uint16_t offset, unsigned size)
{
    struct port92 *p = opaque;

    (void)offset, (void)size;
    return p->value;
}

static void port92_io_write(void *opaque, uint16_t offset, unsigned size,
                            uint32_t val)
{
    struct port92 *p = opaque;
    uint8_t old = p->value;

    (void)offset, (void)size;
    p->value = (uint8_t)val;
    vm_set_a20(p->vm, val & PORT92_A20);
    if ((val & PORT92_RESET) && !(old & PORT92_RESET))
        vm_request_reset(p->vm);
}

static void *port92_create(struct vm *vm, char *err, size_t errlen)
{
    struct port92 *p = calloc(1, sizeof(*p));

    if (!p) {
        snprintf(err, errlen, "port92: out of memory");
        return NULL;
    }
    p->vm = vm;
    p->value = PORT92_A20;
    const struct port_claim ports[] = {
        { PORT92, 1, IOPORT_BYTE_ONLY, "port92", p, port92_io_read,
          port92_io_write },
    };
    if (device_claim_ports(vm, "port92", ports,
                           sizeof(ports) / sizeof(ports[0]), err,
                           errlen) < 0) {
        free(p);
        return NULL;
    }
    return p;
}

static void port92_destroy(void *dev)
{
    free(dev);
}

const struct device_ops port92_device = {
    .name = "port92",
    .create = port92_create,
    .destroy = port92_destroy,
};
