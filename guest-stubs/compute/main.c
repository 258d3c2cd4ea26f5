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

int guest_main(uint32_t magic, struct multiboot_info *mbi)
{
    (void)magic;
    (void)mbi;
    if (!compute_run_all(tsc, &compute_report_lines))
        return 1;
    printf("compute: done\n");
    return 0;
}
