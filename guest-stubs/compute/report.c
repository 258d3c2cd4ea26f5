/* The lines the compute guest and its native build (perf/native_compute.c)
 * both print, which perf/ parses: one source, so they cannot drift. Each
 * side links its own printf (the guest runtime's, or libc's). */
#include "kernels.h"

int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

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
               (unsigned long long)r->cycles, (unsigned)r->check);
        break;
    case COMPUTE_CHECK_DIFFERS:
        printf("compute: %s: checksum %08x, then %08x\n", k->name,
               (unsigned)r->first, (unsigned)r->then);
        break;
    case COMPUTE_MARKS_DIFFER:
        printf("compute: %s: %u timing marks, then %u\n", k->name,
               (unsigned)r->first, (unsigned)r->then);
        break;
    }
}

const struct compute_report compute_report_lines = {last_round, result};
