/* minios: the ring-3 programs. This file's code is the only kernel-image
 * text ring 3 may execute (mm.c maps [user_text_start, user_text_end) with
 * the U bit), so it is built with -fno-toplevel-reorder (the page-aligned
 * markers stay around the functions), no jump tables, no cold sections and
 * no library calls (so no 64-bit division), and it touches no kernel data:
 * everything lives in registers, on the user stack or in user memory.
 *
 * Timing: a program times its ops in chunks, a fixed number of consecutive
 * ops (the *_CHUNK constants) lasting some 20-50 us under tpvm, and
 * reports the fewest cycles per op of any chunk times all its ops. The
 * shared hosts we measure on alternate between full speed and about 2.2x
 * slower every few hundred microseconds, sometimes for seconds; noise only
 * adds time, so the fastest short chunk is the work's own cost (bench.c
 * takes the fewest again over rounds spread through the run; lmbench
 * reports minimums too). Where two or three tasks cooperate, the one that
 * starts each exchange times it and the others report 0 cycles. */
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

/* Consecutive ops timed together (see the top of this file), and the
 * cycles an op took under tpvm --mode bt at full speed: a chunk lasts
 * some 20-50 us at 2.4 GHz, longer on a slow host or under QEMU. */
#define NULL_SYSCALL_CHUNK 100 /* 500 */
#define YIELD_CHUNK 16         /* loop turns, two switches each: 3400 */
#define PAGEFAULT_CHUNK 32     /* 1600 */
#define MMAP_CHUNK 4           /* 15000 */
#define FORK_CHUNK 2           /* 31000 */
#define PING_CHUNK 8           /* 8700 */
#define REMAP_CHUNK 1          /* 46000 */
#define CONSOLE_CHUNK 4        /* lines of 64 bytes, 260 a byte */

#define NO_CHUNK 0xffffffffu /* the best per-op cycles before any chunk */

/* The end of the chunk of size ops that starts at op i of n (the last one
 * may be short). */
static inline uint32_t chunk_end(uint32_t i, uint32_t n, uint32_t size)
{
    return n - i < size ? n : i + size;
}

/* The fewer of best and the cycles per op of the chunk of ops that began
 * at t0. */
static inline uint32_t fewest(uint32_t best, uint64_t t0, uint32_t ops)
{
    uint64_t cycles = rdtsc() - t0;
    uint32_t per_op = cycles >> 32 ? NO_CHUNK : (uint32_t)cycles / ops;
    return per_op < best ? per_op : best;
}

/* Report the fastest chunk's cycles per op, times all ops. */
__attribute__((noreturn)) static inline void finish_best(uint32_t check,
                                                         uint32_t best,
                                                         uint32_t ops)
{
    finish(check, (uint64_t)best * ops);
}

/* lmbench lat_syscall null: the cheapest kernel entry and exit. tid is
 * our own, as bench.c knows it: the check counts right answers, the same
 * in every round (in round 1, tid 1, it is the sum of the answers). */
USER_ENTRY void u_null_syscall(uint32_t n, uint32_t tid)
{
    uint32_t check = 0, best = NO_CHUNK;
    for (uint32_t c = 0; c < n; c += NULL_SYSCALL_CHUNK) {
        uint32_t end = chunk_end(c, n, NULL_SYSCALL_CHUNK);
        uint64_t t0 = rdtsc();
        for (uint32_t i = c; i < end; i++)
            check += sys(SYS_GETTID, 0, 0, 0) - tid + 1;
        best = fewest(best, t0, end - c);
    }
    finish_best(check, best, n);
}

/* lat_ctx: two of these yield to each other, each switch changes the
 * address space. An op is a switch: a turn of the loop is two, ours and
 * the other task's. The first task (salt 1) times them, but not in its
 * last chunk: a tick can preempt either task, which shifts the two
 * counts, so the other may have ended and our yields return at once. */
USER_ENTRY void u_yield(uint32_t n, uint32_t salt)
{
    uint32_t check = salt, best = NO_CHUNK;
    for (uint32_t c = 0; c < n; c += YIELD_CHUNK) {
        uint32_t end = chunk_end(c, n, YIELD_CHUNK);
        uint64_t t0 = rdtsc();
        for (uint32_t i = c; i < end; i++)
            check = check * 31 + sys(SYS_YIELD, 0, 0, 0) + i;
        if (end < n)
            best = fewest(best, t0, 2 * (end - c));
    }
    finish_best(check, salt == 1 ? best : 0, 2 * n);
}

/* lat_pagefault on anonymous memory: every first touch is a demand-zero
 * fault; munmap between rounds makes the pages absent again. */
USER_ENTRY void u_pagefault(uint32_t pages, uint32_t rounds)
{
    uint32_t check = 0, best = NO_CHUNK;
    for (uint32_t r = 0; r < rounds; r++) {
        for (uint32_t c = 0; c < pages; c += PAGEFAULT_CHUNK) {
            uint32_t end = chunk_end(c, pages, PAGEFAULT_CHUNK);
            uint64_t t0 = rdtsc();
            for (uint32_t p = c; p < end; p++) {
                volatile uint32_t *w = (volatile uint32_t *)(
                    USER_HEAP + p * PAGE_SIZE + (p * 68 & 0xffc));
                check += *w; /* 0: the page is fresh */
                *w = p ^ r;
                check = check * 33 + *w;
            }
            best = fewest(best, t0, end - c);
        }
        check += sys(SYS_MUNMAP, USER_HEAP, pages, 0);
    }
    finish_best(check, best, pages * rounds);
}

/* mmap/munmap of a small region: page-table updates in batches. */
USER_ENTRY void u_mmap_churn(uint32_t n, uint32_t pages)
{
    uint32_t check = 0, best = NO_CHUNK;
    volatile uint32_t *first = (volatile uint32_t *)USER_MMAP_AREA;
    volatile uint32_t *last =
        (volatile uint32_t *)(USER_MMAP_AREA + (pages - 1) * PAGE_SIZE);
    for (uint32_t c = 0; c < n; c += MMAP_CHUNK) {
        uint32_t end = chunk_end(c, n, MMAP_CHUNK);
        uint64_t t0 = rdtsc();
        for (uint32_t i = c; i < end; i++) {
            check += sys(SYS_MMAP, USER_MMAP_AREA, pages, 0);
            check += *first + *last;
            *first = i;
            *last = i * 7;
            check = check * 31 + *first + *last;
            check += sys(SYS_MUNMAP, USER_MMAP_AREA, pages, 0);
        }
        best = fewest(best, t0, end - c);
    }
    finish_best(check, best, n);
}

/* lat_proc fork: fork, the child exits at once, the parent waits. */
USER_ENTRY void u_fork(uint32_t n, uint32_t unused)
{
    (void)unused;
    uint32_t check = 0, best = NO_CHUNK;
    for (uint32_t c = 0; c < n; c += FORK_CHUNK) {
        uint32_t end = chunk_end(c, n, FORK_CHUNK);
        uint64_t t0 = rdtsc();
        for (uint32_t i = c; i < end; i++) {
            uint32_t pid = sys(SYS_FORK, 0, 0, 0);
            if (pid == 0)
                sys(SYS_EXIT, i & 0x7f, 0, 0);
            check = check * 31 + sys(SYS_WAIT, 0, 0, 0) +
                    (pid != (uint32_t)-1);
        }
        best = fewest(best, t0, end - c);
    }
    finish_best(check, best, n);
}

/* lat_pipe-like message round trips between two address spaces; ping,
 * who starts each one, times them. */
USER_ENTRY void u_ping(uint32_t peer, uint32_t n)
{
    uint32_t check = 0, best = NO_CHUNK;
    for (uint32_t c = 0; c < n; c += PING_CHUNK) {
        uint32_t end = chunk_end(c, n, PING_CHUNK);
        uint64_t t0 = rdtsc();
        for (uint32_t i = c; i < end; i++) {
            sys(SYS_SEND, peer, i, 0);
            check = check * 31 + sys(SYS_RECV, 0, 0, 0);
        }
        best = fewest(best, t0, end - c);
    }
    finish_best(check, best, n);
}

USER_ENTRY void u_pong(uint32_t peer, uint32_t n)
{
    uint32_t check = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t m = sys(SYS_RECV, 0, 0, 0);
        check += m;
        sys(SYS_SEND, peer, m * 3 + 1, 0);
    }
    finish(check, 0);
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
 * frames these reuse, shows in the check. a, who starts each round,
 * times them. */
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
    uint32_t best = NO_CHUNK;
    put_code(0xa00000a1u | salt << 8);
    for (uint32_t c = 0; c < rounds; c += REMAP_CHUNK) {
        uint32_t end = chunk_end(c, rounds, REMAP_CHUNK);
        uint64_t t0 = rdtsc();
        for (uint32_t r = c; r < end; r++) {
            uint32_t v = (salt << 16) | (r << 8);
            *p = v | 0xa1;
            *q = v | 0xa3;
            *q2 = v | 0xa4;
            if (!(r & 1))
                *s = v | 0x51; /* odd rounds only read: no fresh TLB entry */
            check = mix(mix(mix(mix(mix(check, *p), *q), *q2), *s),
                        call_code());
            sys(SYS_SEND, next, r, 0);
            sys(SYS_RECV, 0, 0, 0); /* b has changed all of them */
            check = mix(check, *p);
            check = mix(check, *q);
            check = mix(check, *q2);
            check = mix(check, *s);
            check = mix(check, call_code());
        }
        best = fewest(best, t0, end - c);
    }
    finish_best(check, best, rounds);
}

USER_ENTRY void u_remap_c(uint32_t next, uint32_t rounds_salt)
{
    uint32_t rounds = rounds_salt & 0xffff, salt = rounds_salt >> 16, check = 0;
    volatile uint32_t *s = (volatile uint32_t *)REMAP_SHARED;
    put_code(0xc00000c3u | salt << 8);
    for (uint32_t r = 0; r < rounds; r++) {
        check = mix(check, sys(SYS_RECV, 0, 0, 0));
        check = mix(check, *s);          /* c's own page, as b remapped it */
        check = mix(check, call_code()); /* c's own code, as b rewrote it */
        sys(SYS_SEND, next, r, 0);
    }
    finish(check, 0);
}

/* peers: a's tid | c's tid << 16 */
USER_ENTRY void u_remap_b(uint32_t peers, uint32_t rounds_salt)
{
    uint32_t rounds = rounds_salt & 0xffff, salt = rounds_salt >> 16, check = 0;
    uint32_t peer = peers & 0xffff, c = peers >> 16;
    volatile uint32_t *s = (volatile uint32_t *)REMAP_SHARED;
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
        if (r < rounds - 1) {
            check = mix(check, sys(SYS_REMAP, c, REMAP_SHARED, v | 0xc6));
            check = mix(check, sys(SYS_POKE, c, REMAP_CODE + 1,
                                   0xc00000c3u | r << 16 | salt << 8));
        } else {
            /* c has sent its last message and exits without blocking,
             * so these calls would fail (-1), unless a tick switched
             * from c to us in between: mix in the -1 without calling */
            check = mix(mix(check, (uint32_t)-1), (uint32_t)-1);
        }
        if (r == rounds - 1)
            check = mix(check, sys(SYS_UNSHARE, 0, REMAP_SHARED, 0));
        sys(SYS_SEND, peer, r, 0);
    }
    finish(check, 0);
}

/* Console throughput: lines of printable text through SYS_WRITE. */
USER_ENTRY void u_console(uint32_t lines, uint32_t width)
{
    char buf[128];
    uint32_t check = 0, best = NO_CHUNK;
    if (width > sizeof buf)
        width = sizeof buf;
    for (uint32_t c = 0; c < lines; c += CONSOLE_CHUNK) {
        uint32_t end = chunk_end(c, lines, CONSOLE_CHUNK);
        uint64_t t0 = rdtsc();
        for (uint32_t l = c; l < end; l++) {
            buf[0] = 'c', buf[1] = 'o', buf[2] = 'n', buf[3] = 's';
            buf[4] = 'o', buf[5] = 'l', buf[6] = 'e', buf[7] = ' ';
            for (uint32_t i = 8; i < width - 1; i++)
                buf[i] = (char)('a' + (l + i) % 26);
            buf[width - 1] = '\n';
            for (uint32_t i = 0; i < width; i++)
                check = check * 31 + (uint8_t)buf[i];
            check += sys(SYS_WRITE, (uint32_t)buf, width, 0);
        }
        best = fewest(best, t0, (end - c) * width);
    }
    finish_best(check, best, lines * width);
}

__asm__(".text\n\t.balign 4096\n\t.globl user_text_end\nuser_text_end:");
