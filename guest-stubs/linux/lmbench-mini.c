/* lmbench-mini: a few lmbench-style kernel micro-benchmarks for the Linux
 * guest (static i386, run from /init). Prints RESULT lines whose check=
 * values are counts, so they are the same on every machine. */
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
static void lat_syscall(unsigned n)
{
    pid_t parent = getppid();
    unsigned same = 0;
    uint64_t t0 = now_us();

    for (unsigned i = 0; i < n; i++)
        same += syscall(SYS_getppid) == parent;
    report("lat_syscall", now_us() - t0, same, n);
}

/* Page faults: first touch of each page of fresh anonymous memory. */
static void lat_pagefault(unsigned pages, unsigned rounds)
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
    report("lat_pagefault", us, touched, (uint64_t)pages * rounds);
}

/* Context switches: one byte bounced between two processes over two
 * pipes; each round trip is two switches. check = round trips done. */
static void lat_ctxsw(unsigned n)
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
    report("lat_ctxsw", us, done, 2ull * n);
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "all";

    if (strcmp(what, "now") == 0) {
        /* for /init's timings: microseconds of CLOCK_MONOTONIC */
        printf("%llu\n", (unsigned long long)now_us());
        return 0;
    }
    if (strcmp(what, "all") == 0 || strcmp(what, "syscall") == 0)
        lat_syscall(100000);
    if (strcmp(what, "all") == 0 || strcmp(what, "pagefault") == 0)
        lat_pagefault(2048, 4);
    if (strcmp(what, "all") == 0 || strcmp(what, "ctxsw") == 0)
        lat_ctxsw(5000);
    return 0;
}
