/* Host-native x86-64 build of the compute guest's kernels: prints the same
 * lines as the guest so perf/bench.sh treats it as one more path. */
#include <stdint.h>
#include <stdio.h>
#include <x86intrin.h>

#include "kernels.h"

/* Plain RDTSC, as the guest reads it, so the counts compare; the same
 * estimator as the guest's (compute_run_all). */
static uint64_t tsc(void)
{
    return __rdtsc();
}

int main(void)
{
    /* A write per line, as the guest's serial line gives: the callgrind
     * mode of perf/bench.sh splits the run's cost at each write. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!compute_run_all(tsc, &compute_report_lines))
        return 1;
    puts("compute: done");
    return fflush(stdout) == 0 ? 0 : 1;
}
