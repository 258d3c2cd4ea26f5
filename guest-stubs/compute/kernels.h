/* The compute kernels: one portable C source built as the i386 compute
 * guest and, by perf/, as a native x86-64 program. */
#ifndef GUEST_COMPUTE_KERNELS_H
#define GUEST_COMPUTE_KERNELS_H

#include <stdbool.h>
#include <stdint.h>

/* run() does the whole workload and returns a checksum of all of it; the
 * checksum is the same on i386 and x86-64. */
struct compute_kernel {
    const char *name;
    uint32_t (*run)(void);
};

/* Back-to-back runs per kernel; the fewest cycles is reported. */
#define COMPUTE_REPS 3

extern const struct compute_kernel compute_kernels[];

/* Run k COMPUTE_REPS times, timed by clock (a TSC read): *cycles = the
 * fewest, *check = its checksum. Returns false if the checksum changed
 * between runs (*check the first, *other the next). */
bool compute_run_best(const struct compute_kernel *k, uint64_t (*clock)(void),
                      uint64_t *cycles, uint32_t *check, uint32_t *other);
extern const unsigned compute_kernel_count;

#endif
