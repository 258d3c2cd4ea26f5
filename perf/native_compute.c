/* Host-native x86-64 build of the compute guest's kernels: prints the same
 * lines as the guest so perf/bench.sh treats it as one more path. */
#include <inttypes.h>
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

static void last_round(void)
{
    printf("compute: %d rounds done, one to go\n", COMPUTE_REPS - 1);
}

static void result(const struct compute_kernel *k,
                   const struct compute_result *r)
{
    switch (r->differs) {
    case COMPUTE_SAME:
        printf("RESULT name=%s cycles=%" PRIu64 " check=%08" PRIx32 "\n",
               k->name, r->cycles, r->check);
        break;
    case COMPUTE_CHECK_DIFFERS:
        printf("compute: %s: checksum %08" PRIx32 ", then %08" PRIx32 "\n",
               k->name, r->first, r->then);
        break;
    case COMPUTE_MARKS_DIFFER:
        printf("compute: %s: %" PRIu32 " timing marks, then %" PRIu32 "\n",
               k->name, r->first, r->then);
        break;
    }
}

int main(void)
{
    static const struct compute_report report = {last_round, result};

    /* A write per line, as the guest's serial line gives: the callgrind
     * mode of perf/bench.sh splits the run's cost at each write. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!compute_run_all(tsc, &report))
        return 1;
    puts("compute: done");
    return fflush(stdout) == 0 ? 0 : 1;
}
