/* compute: runs every compute kernel COMPUTE_REPS times in a row and
 * reports its fewest TSC cycles and its checksum; perf/ compares the lines
 * across QEMU, tpvm and native. The minimum of a few back-to-back runs is
 * what lmbench reports too: a host that steals the CPU for a while (this
 * shared 2-core machine does) can only make a run slower. */
#include "guest.h"
#include "kernels.h"

int guest_main(uint32_t magic, struct multiboot_info *mbi)
{
    (void)magic;
    (void)mbi;
    for (unsigned i = 0; i < compute_kernel_count; i++) {
        const struct compute_kernel *k = &compute_kernels[i];
        uint64_t best = UINT64_MAX;
        uint32_t check = 0;
        for (unsigned r = 0; r < COMPUTE_REPS; r++) {
            uint64_t start = rdtsc();
            uint32_t c = k->run();
            uint64_t cycles = rdtsc() - start;
            if (r > 0 && c != check) {
                printf("compute: %s: checksum %08x, then %08x\n", k->name, check, c);
                return 1;
            }
            check = c;
            if (cycles < best)
                best = cycles;
        }
        printf("RESULT name=%s cycles=%llu check=%08x\n", k->name,
               (unsigned long long)best, check);
    }
    printf("compute: done\n");
    return 0;
}
