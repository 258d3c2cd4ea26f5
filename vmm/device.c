/* What every device's create function shares. */
#include "vmm/device.h"

#include <stdio.h>

#include "vmm/vm.h"

int device_claim_ports(struct vm *vm, const char *name,
                       const struct port_claim *claims, size_t n, char *err,
                       size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        const struct port_claim *c = &claims[i];

        if (ioport_register(&vm->io, c->base, c->len, c->flags, c->label,
                            c->opaque, c->read, c->write) < 0) {
            snprintf(err, errlen, "%s: cannot claim port %#x (%s)", name,
                     c->base, c->label);
            return -1;
        }
    }
    return 0;
}
