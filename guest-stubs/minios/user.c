/* minios: the ring-3 programs. This file's code is the only kernel-image
 * text ring 3 may execute (mm.c maps [user_text_start, user_text_end) with
 * the U bit), so it is built with -fno-toplevel-reorder (the page-aligned
 * markers stay around the functions), no jump tables, no cold sections and
 * no library calls, and it touches no kernel data: everything lives in
 * registers, on the user stack or in user memory. */
#include <stdint.h>

#include "io.h"
#include "layout.h"
#include "user.h"

__asm__(".text\n\t.balign 4096\n\t.globl user_text_start\nuser_text_start:");

static inline uint32_t sys(uint32_t n, uint32_t b, uint32_t c, uint32_t d)
{
    uint32_t r;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(n), "b"(b), "c"(c), "d"(d)
                     : "memory");
    return r;
}

__attribute__((noreturn)) static inline void finish(uint32_t check,
                                                    uint64_t cycles)
{
    sys(SYS_RESULT, check, (uint32_t)cycles, (uint32_t)(cycles >> 32));
    sys(SYS_EXIT, 0, 0, 0);
    for (;;)
        ;
}

/* lmbench lat_syscall null: the cheapest kernel entry and exit. */
USER_ENTRY void u_null_syscall(uint32_t n, uint32_t unused)
{
    (void)unused;
    uint32_t check = 0;
    uint64_t t0 = rdtsc();
    for (uint32_t i = 0; i < n; i++)
        check += sys(SYS_GETTID, 0, 0, 0);
    finish(check, rdtsc() - t0);
}

/* lat_ctx: two of these yield to each other, each switch changes the
 * address space. */
USER_ENTRY void u_yield(uint32_t n, uint32_t salt)
{
    uint32_t check = salt;
    uint64_t t0 = rdtsc();
    for (uint32_t i = 0; i < n; i++)
        check = check * 31 + sys(SYS_YIELD, 0, 0, 0) + i;
    finish(check, rdtsc() - t0);
}

/* lat_pagefault on anonymous memory: every first touch is a demand-zero
 * fault; munmap between rounds makes the pages absent again. */
USER_ENTRY void u_pagefault(uint32_t pages, uint32_t rounds)
{
    uint32_t check = 0;
    uint64_t cycles = 0;
    for (uint32_t r = 0; r < rounds; r++) {
        uint64_t t0 = rdtsc();
        for (uint32_t p = 0; p < pages; p++) {
            volatile uint32_t *w =
                (volatile uint32_t *)(USER_HEAP + p * PAGE_SIZE + (p * 68 & 0xffc));
            check += *w; /* 0: the page is fresh */
            *w = p ^ r;
            check = check * 33 + *w;
        }
        cycles += rdtsc() - t0;
        check += sys(SYS_MUNMAP, USER_HEAP, pages, 0);
    }
    finish(check, cycles);
}

/* mmap/munmap of a small region: page-table updates in batches. */
USER_ENTRY void u_mmap_churn(uint32_t n, uint32_t pages)
{
    uint32_t check = 0;
    uint64_t t0 = rdtsc();
    for (uint32_t i = 0; i < n; i++) {
        check += sys(SYS_MMAP, USER_MMAP_AREA, pages, 0);
        volatile uint32_t *first = (volatile uint32_t *)USER_MMAP_AREA;
        volatile uint32_t *last =
            (volatile uint32_t *)(USER_MMAP_AREA + (pages - 1) * PAGE_SIZE);
        check += *first + *last;
        *first = i;
        *last = i * 7;
        check = check * 31 + *first + *last;
        check += sys(SYS_MUNMAP, USER_MMAP_AREA, pages, 0);
    }
    finish(check, rdtsc() - t0);
}

/* lat_proc fork: fork, the child exits at once, the parent waits. */
USER_ENTRY void u_fork(uint32_t n, uint32_t unused)
{
    (void)unused;
    uint32_t check = 0;
    uint64_t t0 = rdtsc();
    for (uint32_t i = 0; i < n; i++) {
        uint32_t pid = sys(SYS_FORK, 0, 0, 0);
        if (pid == 0)
            sys(SYS_EXIT, i & 0x7f, 0, 0);
        check = check * 31 + sys(SYS_WAIT, 0, 0, 0) + (pid != (uint32_t)-1);
    }
    finish(check, rdtsc() - t0);
}

/* lat_pipe-like message round trips between two address spaces. */
USER_ENTRY void u_ping(uint32_t peer, uint32_t n)
{
    uint32_t check = 0;
    uint64_t t0 = rdtsc();
    for (uint32_t i = 0; i < n; i++) {
        sys(SYS_SEND, peer, i, 0);
        check = check * 31 + sys(SYS_RECV, 0, 0, 0);
    }
    finish(check, rdtsc() - t0);
}

USER_ENTRY void u_pong(uint32_t peer, uint32_t n)
{
    uint32_t check = 0;
    uint64_t t0 = rdtsc();
    for (uint32_t i = 0; i < n; i++) {
        uint32_t m = sys(SYS_RECV, 0, 0, 0);
        check += m;
        sys(SYS_SEND, peer, m * 3 + 1, 0);
    }
    finish(check, rdtsc() - t0);
}

/* Console throughput: lines of printable text through SYS_WRITE. */
USER_ENTRY void u_console(uint32_t lines, uint32_t width)
{
    char buf[128];
    uint32_t check = 0;
    if (width > sizeof buf)
        width = sizeof buf;
    uint64_t t0 = rdtsc();
    for (uint32_t l = 0; l < lines; l++) {
        buf[0] = 'c', buf[1] = 'o', buf[2] = 'n', buf[3] = 's';
        buf[4] = 'o', buf[5] = 'l', buf[6] = 'e', buf[7] = ' ';
        for (uint32_t i = 8; i < width - 1; i++)
            buf[i] = (char)('a' + (l + i) % 26);
        buf[width - 1] = '\n';
        for (uint32_t i = 0; i < width; i++)
            check = check * 31 + (uint8_t)buf[i];
        check += sys(SYS_WRITE, (uint32_t)buf, width, 0);
    }
    finish(check, rdtsc() - t0);
}

__asm__(".text\n\t.balign 4096\n\t.globl user_text_end\nuser_text_end:");
