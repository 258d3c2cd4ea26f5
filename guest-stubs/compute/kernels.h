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

#define COMPUTE_KERNELS 7
/* Runs per kernel, round robin across the kernels. */
#define COMPUTE_REPS 5
/* Timed segments per run at most: past this, neighbours are merged. */
#define COMPUTE_MAX_SEGS 8192

extern const struct compute_kernel compute_kernels[COMPUTE_KERNELS];
extern const unsigned compute_kernel_count;

/* Why a kernel's figure is the sum of per-segment minima: the shared host
 * this is measured on runs a core at full speed for well under a
 * millisecond at a time, between phases ~2x slower, and sometimes slow for
 * seconds; a 100 ms run is never clean, and its best of a few runs still
 * varies 2x. Each kernel therefore marks deterministic points of its work
 * (every ~10-50 us natively), cutting a run into the same segments every
 * time. Each segment's fewest cycles over COMPUTE_REPS runs spread over the
 * whole program is usually a full-speed one, and noise can only add time,
 * so their sum is what one undisturbed run takes (unless all of the
 * program ran in one of the slow stretches: nothing inside it can tell). */
struct compute_result {
    uint64_t cycles;   /* sum over segments of each one's fewest cycles */
    uint32_t check;    /* the checksum */
    uint32_t segments; /* timed segments per run */
    /* A run that differed from the first: in what, and the two values. */
    enum { COMPUTE_SAME, COMPUTE_CHECK_DIFFERS, COMPUTE_MARKS_DIFFER } differs;
    uint32_t first, then;
};

/* What compute_run_all tells its caller, which prints each line at once:
 * perf/'s callgrind mode, which charges the work before a line to that
 * line, then charges each RESULT line with its kernel's last run, and the
 * earlier rounds with the line printed before the last round. */
struct compute_report {
    void (*last_round)(void); /* just before the last round */
    /* As k's last run ends, or at the first run that differed from k's
     * first (r->differs set; compute_run_all then stops). */
    void (*result)(const struct compute_kernel *k,
                   const struct compute_result *r);
};

/* Runs every kernel COMPUTE_REPS times, round robin (run 1 of each, then
 * run 2 of each, ...: each kernel's runs spread over the whole program),
 * timed by clock (a TSC read). Returns false if a run differed. */
bool compute_run_all(uint64_t (*clock)(void),
                     const struct compute_report *report);

/* The RESULT and progress lines of the compute guest and of its native
 * build (report.c). */
extern const struct compute_report compute_report_lines;

#endif
