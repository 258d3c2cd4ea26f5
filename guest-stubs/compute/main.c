/* compute: runs every compute kernel COMPUTE_REPS times, round robin, and
 * reports per kernel its TSC cycles and its checksum; perf/ compares the
 * lines across QEMU, tpvm and native. The cycles are not one run's but the
 * sum over the kernel's ~10-50 us segments of each one's fewest cycles
 * (kernels.h): this shared host slows a core ~2x for most of any run
 * longer than a millisecond, but rarely for all of a short stretch five
 * times over, and slowing can only add cycles. */
#include "guest.h"
#include "kernels.h"

static uint64_t tsc(void)
{
    return rdtsc();
}

/* Ends the earlier rounds' output unit (see struct compute_report). */
static void last_round(void)
{
    printf("compute: %d rounds done, one to go\n", COMPUTE_REPS - 1);
}

static void result(const struct compute_kernel *k,
                   const struct compute_result *r)
{
    switch (r->differs) {
    case COMPUTE_SAME:
        printf("RESULT name=%s cycles=%llu check=%08x\n", k->name,
               (unsigned long long)r->cycles, r->check);
        break;
    case COMPUTE_CHECK_DIFFERS:
        printf("compute: %s: checksum %08x, then %08x\n", k->name, r->first,
               r->then);
        break;
    case COMPUTE_MARKS_DIFFER:
        printf("compute: %s: %u timing marks, then %u\n", k->name, r->first,
               r->then);
        break;
    }
}

int guest_main(uint32_t magic, struct multiboot_info *mbi)
{
    static const struct compute_report report = {last_round, result};

    (void)magic;
    (void)mbi;
    if (!compute_run_all(tsc, &report))
        return 1;
    printf("compute: done\n");
    return 0;
}
