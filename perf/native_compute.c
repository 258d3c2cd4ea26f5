/* Host-native x86-64 build of the compute guest's kernels: prints the same
 * RESULT lines as the guest so perf/bench.sh treats it as one more path. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <x86intrin.h>

#include "kernels.h"

static uint64_t tsc(void)
{
    return __rdtsc();
}

int main(void)
{
    /* A write per line, as the guest's serial line gives: the callgrind
     * mode of perf/bench.sh splits the run's cost at each write. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (unsigned i = 0; i < compute_kernel_count; i++) {
        const struct compute_kernel *k = &compute_kernels[i];
        /* Plain RDTSC on both sides, as the guest does, so the counts
         * compare; the fewest of COMPUTE_REPS runs, as the guest does. */
        uint64_t best;
        uint32_t check, other;
        if (!compute_run_best(k, tsc, &best, &check, &other)) {
            printf("compute: %s: checksum %08" PRIx32 ", then %08" PRIx32 "\n",
                   k->name, check, other);
            return 1;
        }
        printf("RESULT name=%s cycles=%" PRIu64 " check=%08" PRIx32 "\n",
               k->name, best, check);
    }
    puts("compute: done");
    return fflush(stdout) == 0 ? 0 : 1;
}
