/* --stats: every counter list (translator, port I/O, monitor) on one page. */
#include <inttypes.h>

#include "vmm/vm.h"

void vm_print_stats(const struct vm *vm, FILE *out)
{
    const struct bt_stats *bs = vm->bt ? bt_get_stats(vm->bt) : NULL;

    fprintf(out, "tpvm stats:\n");
    if (bs) {
#define X(name, desc) \
        fprintf(out, "  bt  %-22s %14" PRIu64 "  %s\n", #name, bs->name, desc);
        BT_STATS(X)
#undef X
        for (int v = 0; v < 32; v++)
            if (bs->exc_by_vector[v])
                fprintf(out, "  bt  exception vector %-3d %14" PRIu64 "  delivered\n",
                        v, bs->exc_by_vector[v]);
        for (int v = 0; v < 256; v++)
            if (bs->int_by_vector[v])
                fprintf(out, "  bt  interrupt vector %-3d %14" PRIu64 "  delivered\n",
                        v, bs->int_by_vector[v]);
        for (int k = 0; k < BT_HK_COUNT; k++)
            if (bs->helper_by_kind[k])
                fprintf(out, "  bt  helper %-15s %14" PRIu64 "  calls\n",
                        bt_helper_kind_name(k), bs->helper_by_kind[k]);
    }
#define X(name, desc) \
    fprintf(out, "  vmm %-22s %14" PRIu64 "  %s\n", #name, vm->stats.name, desc);
    VM_STATS(X)
#undef X
    fprintf(out, "  vmm %-22s %14" PRIu64 "  %s\n", "serial_bytes_out",
            vm->serial.bytes_out, "bytes the guest sent to COM1");
    fprintf(out, "  vmm %-22s %14" PRIu64 "  %s\n", "serial_bytes_in",
            __atomic_load_n(&vm->serial.bytes_in, __ATOMIC_RELAXED),
            "bytes read from the host for COM1");
    ioport_print_stats(&vm->io, out);
}
