/* host-speed: how fast is this host's CPU right now? perf/bench.sh runs it
 * before and after each measured run (its host-speed gate).
 *
 * On the shared 2-core VM the bench runs on, the physical core under our
 * vCPU alternates between full speed and ~2.2x slower (another tenant on the
 * sibling hyperthread), in phases of 0.1-2 ms, and for 0.5-10 s stretches
 * stays mostly slow. Neither thread CPU time nor steal time shows it. A
 * fixed register-only loop timed in short chunks does: the fastest chunk
 * is near full speed in nearly every window, and the MEDIAN chunk says how
 * much of the time the host runs at it (~1.07x full speed in fast
 * stretches, ~2.3x in slow ones). bench.sh compares each median with the
 * fastest median it has seen.
 *
 * The work is fixed (CHUNKS chunks of ITERS iterations each), so chunk
 * times compare across calls; by default about 60 us a chunk and 30 ms in
 * all at full speed on the bench host. Prints one line:
 *   min_ns=<fastest chunk> p10_ns=<10th percentile> median_ns=<median chunk>
 *   max_ns=<slowest> chunks=<n> iters=<n>
 * and exits 0; 2 on a usage error. */
#define _POSIX_C_SOURCE 199309L
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_CHUNKS 480
#define DEFAULT_ITERS 25000
#define MAX_CHUNKS 1000000

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Two independent xorshift chains: register-only integer work (shifts,
 * xors, adds) that the compiler cannot fold away (the empty asm hides the
 * values from it) and whose cost does not depend on memory. */
static uint64_t spin(uint64_t iters, uint64_t *state)
{
    uint64_t a = state[0], b = state[1];
    for (uint64_t i = 0; i < iters; i++) {
        a ^= a << 13;
        a ^= a >> 7;
        a ^= a << 17;
        b += a ^ (b >> 11);
        b ^= b << 5;
        __asm__ volatile("" : "+r"(a), "+r"(b));
    }
    state[0] = a;
    state[1] = b;
    return a ^ b;
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

static int number(const char *s, unsigned long *out)
{
    char *end;
    if (s == NULL || *s < '0' || *s > '9')
        return 0;
    *out = strtoul(s, &end, 10);
    return *end == '\0' && *out > 0;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: host-speed [-n CHUNKS] [-i ITERS]\n"
            "Times CHUNKS chunks (default %d) of ITERS iterations (default %d)\n"
            "of a register-only loop; prints min_ns=<fastest chunk>\n"
            "p10_ns=<10th percentile> median_ns=<median chunk> max_ns=<slowest>\n"
            "chunks=<n> iters=<n>\n",
            DEFAULT_CHUNKS, DEFAULT_ITERS);
    return 2;
}

int main(int argc, char **argv)
{
    unsigned long chunks = DEFAULT_CHUNKS, iters = DEFAULT_ITERS;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
            if (!number(argv[++i], &chunks) || chunks > MAX_CHUNKS)
                return usage();
        } else if (strcmp(argv[i], "-i") == 0 && i + 1 < argc) {
            if (!number(argv[++i], &iters))
                return usage();
        } else {
            return usage();
        }
    }
    uint64_t *t = malloc(chunks * sizeof *t);
    if (t == NULL) {
        perror("host-speed");
        return 1;
    }
    uint64_t state[2] = {0x9e3779b97f4a7c15u, 1};
    uint64_t sink = spin(iters, state); /* warm-up, not timed */
    for (unsigned long c = 0; c < chunks; c++) {
        uint64_t t0 = now_ns();
        sink += spin(iters, state);
        t[c] = now_ns() - t0;
    }
    qsort(t, chunks, sizeof *t, cmp_u64);
    printf("min_ns=%" PRIu64 " p10_ns=%" PRIu64 " median_ns=%" PRIu64
           " max_ns=%" PRIu64 " chunks=%lu iters=%lu\n",
           t[0], t[chunks / 10], t[chunks / 2], t[chunks - 1], chunks, iters);
    free(t);
    __asm__ volatile("" : : "r"(sink)); /* keeps the loop's result live */
    return fflush(stdout) == 0 ? 0 : 1;
}
