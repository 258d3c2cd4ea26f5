/* tpvm: parse the command line, build the machine, load the kernel, run. */
#include <signal.h>
#include <stdio.h>

#include "vmm/crash.h"
#include "vmm/exit_status.h"
#include "vmm/loader.h"
#include "vmm/options.h"
#include "vmm/run.h"
#include "vmm/vm.h"

int main(int argc, char **argv)
{
    struct options opts;
    struct load_error lerr;
    char err[512];
    int status;

    if (crash_install() < 0)
        fprintf(stderr, "tpvm: warning: no crash handler installed\n");
    /* A closed stdout must not kill us before the guest is done, and a
     * background job reading its terminal gets EIO, not a stop. */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTTIN, SIG_IGN);

    status = options_parse(&opts, argc, argv, stdout, stderr);
    if (status >= 0)
        return status;

    struct vm *vm = vm_create(&opts, err, sizeof(err), &status);
    if (!vm) {
        fprintf(stderr, "tpvm: %s\n", err);
        return status;
    }
    struct boot_target target = {
        .ram = vm->ram, .ram_size = vm->ram_size, .cpu = vm->cpu, .bt = vm->bt,
    };
    struct boot_files files = {
        .kernel = opts.kernel, .initrd = opts.initrd, .append = opts.append,
    };
    if (loader_boot(&files, &target, &lerr) < 0) {
        fprintf(stderr, "tpvm: %s\n", lerr.msg);
        vm_destroy(vm);
        return TPVM_EXIT_USAGE;
    }
    vm_attach_cpu(vm);

    status = vm_run(vm);

    vm_flush_devices(vm);
    if (opts.stats)
        vm_print_stats(vm, stderr);
    vm_destroy(vm);
    return status;
}
