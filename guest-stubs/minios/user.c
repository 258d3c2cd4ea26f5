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

/* The remap workload (TLB coherence): a, c and b pass a message round;
 * while a waits, b changes a's page tables behind its back: a PTE of a's
 * own table, two of a's directory entries, and a PTE of a table both
 * share (in b's space, or in a's). a must then read what the tables say.
 * c maps the shared address privately and runs right after a, who did
 * not touch a page table; b remaps that page of c's too. Each task runs
 * code of its own at the same address, called indirectly, and b has the
 * kernel rewrite a's and c's.
 * Values depend on the round and on salt, so a translation kept from an
 * earlier round, from the other task, or from an earlier task whose
 * frames these reuse, shows in the check. */
#define REMAP_PTE 0x48000000u    /* a's own table: b remaps the page */
#define REMAP_PDE 0x4c000000u    /* b swaps the tables of this 4 MiB and the next */
#define REMAP_SHARED 0x60000000u /* a's table, which b uses too */
#define REMAP_CODE 0x44000000u   /* each task's own code */

/* The remap check: every bit of v reaches every bit of the result
 * (check * 31 + v would lose differences in the top bits). */
static inline uint32_t mix(uint32_t h, uint32_t v)
{
    h = (h ^ v) * 0x01000193u;
    return h ^ (h >> 15);
}

/* mov eax, imm32; ret */
static inline void put_code(uint32_t imm)
{
    volatile uint8_t *c = (volatile uint8_t *)REMAP_CODE;
    c[0] = 0xb8;
    for (int i = 0; i < 4; i++)
        c[1 + i] = (uint8_t)(imm >> (8 * i));
    c[5] = 0xc3;
}

static inline uint32_t call_code(void)
{
    uint32_t (*volatile fn)(void) = (uint32_t (*)(void))REMAP_CODE;
    return fn(); /* indirect: through the branch cache */
}

USER_ENTRY void u_remap_a(uint32_t next, uint32_t rounds_salt)
{
    uint32_t rounds = rounds_salt & 0xffff, salt = rounds_salt >> 16, check = 0;
    volatile uint32_t *p = (volatile uint32_t *)REMAP_PTE;
    volatile uint32_t *q = (volatile uint32_t *)REMAP_PDE;
    volatile uint32_t *q2 = (volatile uint32_t *)(REMAP_PDE + (4u << 20));
    volatile uint32_t *s = (volatile uint32_t *)REMAP_SHARED;
    uint64_t t0 = rdtsc();
    put_code(0xa00000a1u | salt << 8);
    for (uint32_t r = 0; r < rounds; r++) {
        uint32_t v = (salt << 16) | (r << 8);
        *p = v | 0xa1;
        *q = v | 0xa3;
        *q2 = v | 0xa4;
        if (!(r & 1))
            *s = v | 0x51; /* odd rounds only read: no fresh TLB entry */
        check = mix(mix(mix(mix(mix(check, *p), *q), *q2), *s), call_code());
        sys(SYS_SEND, next, r, 0);
        sys(SYS_RECV, 0, 0, 0); /* b has changed all of them */
        check = mix(check, *p);
        check = mix(check, *q);
        check = mix(check, *q2);
        check = mix(check, *s);
        check = mix(check, call_code());
    }
    finish(check, rdtsc() - t0);
}

USER_ENTRY void u_remap_c(uint32_t next, uint32_t rounds_salt)
{
    uint32_t rounds = rounds_salt & 0xffff, salt = rounds_salt >> 16, check = 0;
    volatile uint32_t *s = (volatile uint32_t *)REMAP_SHARED;
    uint64_t t0 = rdtsc();
    put_code(0xc00000c3u | salt << 8);
    for (uint32_t r = 0; r < rounds; r++) {
        check = mix(check, sys(SYS_RECV, 0, 0, 0));
        check = mix(check, *s);          /* c's own page, as b remapped it */
        check = mix(check, call_code()); /* c's own code, as b rewrote it */
        sys(SYS_SEND, next, r, 0);
    }
    finish(check, rdtsc() - t0);
}

/* peers: a's tid | c's tid << 16 */
USER_ENTRY void u_remap_b(uint32_t peers, uint32_t rounds_salt)
{
    uint32_t rounds = rounds_salt & 0xffff, salt = rounds_salt >> 16, check = 0;
    uint32_t peer = peers & 0xffff, c = peers >> 16;
    volatile uint32_t *s = (volatile uint32_t *)REMAP_SHARED;
    uint64_t t0 = rdtsc();
    put_code(0xb00000b2u | salt << 8);
    for (uint32_t r = 0; r < rounds; r++) {
        uint32_t v = (salt << 16) | (r << 8);
        check = mix(mix(check, sys(SYS_RECV, 0, 0, 0)), call_code());
        if (r == 0)
            check = mix(check, sys(SYS_SHARE, peer, REMAP_SHARED, 0));
        check = mix(check, *s);
        if (r & 1) {
            /* through a's space: not flagged as ours, and not flushed
             * here (x86 lets the CR3 load do it), so b must not look */
            check = mix(check, sys(SYS_REMAP, peer, REMAP_SHARED, v | 0x52));
        } else {
            check = mix(check, sys(SYS_REMAP, 0, REMAP_SHARED, v | 0x52));
            check = mix(check, *s);
        }
        check = mix(check, sys(SYS_REMAP, peer, REMAP_PTE, v | 0xa2));
        check = mix(check, sys(SYS_SWAPTABLES, peer, REMAP_PDE, 0));
        check = mix(check, sys(SYS_POKE, peer, REMAP_CODE + 1,
                               0xa00000a1u | r << 16 | salt << 8));
        check = mix(check, sys(SYS_REMAP, c, REMAP_SHARED, v | 0xc6));
        check = mix(check, sys(SYS_POKE, c, REMAP_CODE + 1,
                               0xc00000c3u | r << 16 | salt << 8));
        if (r == rounds - 1)
            check = mix(check, sys(SYS_UNSHARE, 0, REMAP_SHARED, 0));
        sys(SYS_SEND, peer, r, 0);
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
