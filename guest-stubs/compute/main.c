/* compute: runs every compute kernel COMPUTE_REPS times in a row and
 * reports its fewest TSC cycles and its checksum; perf/ compares the lines
 * across QEMU, tpvm and native. The minimum of a few back-to-back runs is
 * what lmbench reports too: a host that steals the CPU for a while (this
 * shared 2-core machine does) can only make a run slower. */
#include "guest.h"
#include "kernels.h"

static uint64_t tsc(void)
{
    return rdtsc();
}

int guest_main(uint32_t magic, struct multiboot_info *mbi)
{
    (void)magic;
    (void)mbi;
    for (unsigned i = 0; i < compute_kernel_count; i++) {
        const struct compute_kernel *k = &compute_kernels[i];
        uint64_t best;
        uint32_t check, other;
        if (!compute_run_best(k, tsc, &best, &check, &other)) {
            printf("compute: %s: checksum %08x, then %08x\n", k->name, check, other);
            return 1;
        }
        printf("RESULT name=%s cycles=%llu check=%08x\n", k->name,
               (unsigned long long)best, check);
    }
    printf("compute: done\n");
    return 0;
}
