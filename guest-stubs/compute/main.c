/* compute: runs every compute kernel once and reports its TSC cycles and
 * checksum; perf/ compares the lines across QEMU, tpvm and native. */
#include "guest.h"
#include "kernels.h"

int guest_main(uint32_t magic, struct multiboot_info *mbi)
{
    (void)magic;
    (void)mbi;
    for (unsigned i = 0; i < compute_kernel_count; i++) {
        const struct compute_kernel *k = &compute_kernels[i];
        uint64_t start = rdtsc();
        uint32_t check = k->run();
        uint64_t end = rdtsc();
        printf("RESULT name=%s cycles=%llu check=%08x\n", k->name,
               (unsigned long long)(end - start), check);
    }
    printf("compute: done\n");
    return 0;
}
