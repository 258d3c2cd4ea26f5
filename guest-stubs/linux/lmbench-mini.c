/* lmbench-mini: a few lmbench-style kernel micro-benchmarks for the Linux
 * guest (static i386, run from /init). Prints RESULT lines whose check=
 * values are counts, so they are the same on every machine. Each runs
 * REPS times; the fewest microseconds are reported (as lmbench does: a
 * host that steals the CPU can only make a repetition slower). */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

#define REPS 3

static void report(const char *name, uint64_t us, uint64_t check,
                   uint64_t ops)
{
    /* op_us as integer nanoseconds: no floating point in the guest output */
    uint64_t op_ns = ops ? us * 1000u / ops : 0;

    printf("RESULT name=%s time_us=%llu check=%llu op_us=%llu.%03llu\n", name,
           (unsigned long long)us, (unsigned long long)check,
           (unsigned long long)(op_ns / 1000u),
           (unsigned long long)(op_ns % 1000u));
    fflush(stdout);
}

/* Null system call: getppid through syscall() (glibc caches nothing). */
static uint64_t lat_syscall(unsigned n, uint64_t *check)
{
    pid_t parent = getppid();
    unsigned same = 0;
    uint64_t t0 = now_us();

    for (unsigned i = 0; i < n; i++)
        same += syscall(SYS_getppid) == parent;
    *check = same;
    return now_us() - t0;
}

/* Page faults: first touch of each page of fresh anonymous memory. */
static uint64_t lat_pagefault(unsigned pages, unsigned rounds, uint64_t *check)
{
    const size_t page = 4096;
    uint64_t touched = 0, us = 0;

    for (unsigned r = 0; r < rounds; r++) {
        uint8_t *m = mmap(NULL, pages * page, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) {
            perror("lmbench-mini: mmap");
            exit(1);
        }
        uint64_t t0 = now_us();
        for (unsigned i = 0; i < pages; i++)
            m[i * page] = (uint8_t)i;
        us += now_us() - t0;
        for (unsigned i = 0; i < pages; i++)
            touched += m[i * page] == (uint8_t)i;
        munmap(m, pages * page);
    }
    *check = touched;
    return us;
}

/* Context switches: one byte bounced between two processes over two
 * pipes; each round trip is two switches. check = round trips done. */
static uint64_t lat_ctxsw(unsigned n, uint64_t *check)
{
    int ping[2], pong[2];
    char c = 0;

    if (pipe(ping) < 0 || pipe(pong) < 0) {
        perror("lmbench-mini: pipe");
        exit(1);
    }
    pid_t child = fork();
    if (child < 0) {
        perror("lmbench-mini: fork");
        exit(1);
    }
    if (child == 0) {
        close(ping[1]);
        close(pong[0]);
        while (read(ping[0], &c, 1) == 1) {
            c++;
            if (write(pong[1], &c, 1) != 1)
                _exit(1);
        }
        _exit(0);
    }
    close(ping[0]);
    close(pong[1]);
    unsigned done = 0;
    uint64_t t0 = now_us();
    for (unsigned i = 0; i < n; i++) {
        char sent = (char)i, got;
        if (write(ping[1], &sent, 1) != 1 || read(pong[0], &got, 1) != 1)
            break;
        done += got == (char)(sent + 1);
    }
    uint64_t us = now_us() - t0;
    close(ping[1]);
    waitpid(child, NULL, 0);
    *check = done;
    return us;
}

/* The best of REPS runs; a check value that changes between runs is
 * reported as 0 (and on stderr), which no machine should print. */
#define BEST(name, ops, call)                                            \
    do {                                                                 \
        uint64_t best = UINT64_MAX, first = 0;                           \
        for (int r_ = 0; r_ < REPS; r_++) {                              \
            uint64_t check_;                                             \
            uint64_t us_ = call;                                         \
            if (r_ == 0)                                                 \
                first = check_;                                          \
            else if (check_ != first) {                                  \
                fprintf(stderr, "lmbench-mini: %s: check changed\n", name); \
                first = 0;                                               \
            }                                                            \
            if (us_ < best)                                              \
                best = us_;                                              \
        }                                                                \
        report(name, best, first, ops);                                  \
    } while (0)

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "all";

    if (strcmp(what, "now") == 0) {
        /* for /init's timings: microseconds of CLOCK_MONOTONIC */
        printf("%llu\n", (unsigned long long)now_us());
        return 0;
    }
    if (strcmp(what, "all") == 0 || strcmp(what, "syscall") == 0)
        BEST("lat_syscall", 100000, lat_syscall(100000, &check_));
    if (strcmp(what, "all") == 0 || strcmp(what, "pagefault") == 0)
        BEST("lat_pagefault", 2048 * 4, lat_pagefault(2048, 4, &check_));
    if (strcmp(what, "all") == 0 || strcmp(what, "ctxsw") == 0)
        BEST("lat_ctxsw", 2 * 5000, lat_ctxsw(5000, &check_));
    return 0;
}
