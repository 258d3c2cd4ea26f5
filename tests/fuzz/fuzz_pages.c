/* Robustness fuzzer: random code pages run in ring 0 (paging off) and in
 * ring 3 (paging on) with a GDT, IDT and TSS whose handlers halt. Each
 * page runs until it halts, shuts down, or a watchdog stops it; tpvm must
 * never crash, hang or touch host memory outside the guest (the guest's
 * RAM sits in a reservation whose rest is inaccessible, so a stray host
 * access would be a SIGSEGV, reported by the crash handler below).
 *
 * usage: fuzz-pages [PAGES] (default 10000; TPVM_SEED=N for the seed) */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bt/bt.h"

#define RAM (16u << 20)
#define GDT 0x1000u
#define IDT 0x2000u
#define HANDLER 0x3000u
#define TSS 0x4000u
#define PD 0x5000u
#define PT 0x6000u
#define KSTACK 0x9000u
#define CODE 0x10000u
#define DATA 0x20000u
#define USTACK 0x40000u

static uint32_t io_in(void *o, uint16_t port, unsigned size)
{
    (void)o; (void)port; (void)size;
    return 0xffffffffu;
}

static void io_out(void *o, uint16_t port, unsigned size, uint32_t v)
{
    (void)o; (void)port; (void)size; (void)v;
}

static uint64_t rng_state;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)rng_state;
}

static void put32(uint8_t *ram, uint32_t a, uint32_t v) { memcpy(ram + a, &v, 4); }

static void gdt_entry(uint8_t *ram, int i, uint32_t base, uint32_t limit, uint32_t type_dpl_p, uint32_t flags)
{
    uint32_t lo = (limit & 0xffff) | (base << 16);
    uint32_t hi = ((base >> 16) & 0xff) | (type_dpl_p << 8) | (limit & 0xf0000) | (flags << 20) | (base & 0xff000000);
    put32(ram, GDT + i * 8, lo);
    put32(ram, GDT + i * 8 + 4, hi);
}

/* The system area every page starts from. */
static void build_template(uint8_t *ram)
{
    memset(ram, 0, 0x10000);
    gdt_entry(ram, 1, 0, 0xfffff, 0x9a, 0xc);  /* 0x08 ring-0 code */
    gdt_entry(ram, 2, 0, 0xfffff, 0x92, 0xc);  /* 0x10 ring-0 data */
    gdt_entry(ram, 3, 0, 0xfffff, 0xfa, 0xc);  /* 0x1b ring-3 code */
    gdt_entry(ram, 4, 0, 0xfffff, 0xf2, 0xc);  /* 0x23 ring-3 data */
    gdt_entry(ram, 5, TSS, 0x67, 0x89, 0);     /* 0x28 TSS */
    for (int v = 0; v < 256; v++) {
        /* DPL-3 interrupt gates to the halting handler */
        put32(ram, IDT + v * 8, (0x08u << 16) | (HANDLER & 0xffff));
        put32(ram, IDT + v * 8 + 4, (HANDLER & 0xffff0000u) | 0xee00u);
    }
    ram[HANDLER] = 0xf4;     /* hlt */
    ram[HANDLER + 1] = 0xeb; /* jmp $-3 */
    ram[HANDLER + 2] = 0xfd;
    put32(ram, TSS + 4, KSTACK);
    put32(ram, TSS + 8, 0x10);
    put32(ram, TSS + 0x66, 0x68 << 16); /* no I/O bitmap */
    /* identity map of 4 MiB: system pages supervisor, the rest user */
    put32(ram, PD, PT | 0x7);
    for (uint32_t p = 0; p < 1024; p++)
        put32(ram, PT + p * 4, (p << 12) | (p >= 0x10 ? 0x7u : 0x3u));
}

static struct cpu *cpu;
static volatile uint64_t iteration;
static volatile int running;

/* Stops a page that runs too long (an endless loop is legal guest code). */
static void *watchdog(void *arg)
{
    (void)arg;
    uint64_t last = (uint64_t)-1;
    int stuck = 0;
    for (;;) {
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
        if (!running)
            continue;
        if (iteration == last) {
            bt_request_exit(cpu);
            if (++stuck > 400) { /* 2 s without bt_run returning */
                fprintf(stderr, "fuzz: HANG at page %llu\n", (unsigned long long)iteration);
                _exit(1);
            }
        } else {
            stuck = 0;
        }
        last = iteration;
    }
    return NULL;
}

static void on_segv(int sig, siginfo_t *si, void *uc)
{
    if (sig == SIGSEGV && bt_handle_segv(si->si_addr, uc))
        return;
    fprintf(stderr, "fuzz: HOST CRASH (signal %d) at page %llu\n", sig,
            (unsigned long long)iteration);
    _exit(1);
}

int main(int argc, char **argv)
{
    unsigned long pages = argc > 1 ? strtoul(argv[1], NULL, 0) : 10000;
    const char *seed = getenv("TPVM_SEED");
    rng_state = seed ? strtoull(seed, NULL, 0) * 2654435761u + 1 : 0x9e3779b97f4a7c15ull;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGILL, &sa, NULL);
    sigaction(SIGFPE, &sa, NULL);

    cpu = bt_cpu_alloc(RAM);
    struct bt *bt = bt_create(&(struct bt_config){0});
    static struct bt_host host = {.io_in = io_in, .io_out = io_out};
    if (!cpu || !bt) {
        fprintf(stderr, "fuzz: cannot create the machine\n");
        return 1;
    }
    bt_attach(bt, cpu, &host);
    static uint8_t tmpl[0x10000];
    build_template(tmpl);
    pthread_t wd;
    pthread_create(&wd, NULL, watchdog, NULL);

    unsigned long counts[8] = {0};
    for (unsigned long i = 0; i < pages; i++) {
        bool user = i & 1;
        memcpy(cpu->ram, tmpl, sizeof tmpl);
        memset(cpu->ram + DATA, 0, USTACK + 0x1000 - DATA);
        for (uint32_t a = 0; a < 0x2000; a += 4)
            put32(cpu->ram, CODE + a, rnd());
        bt_invalidate_phys(bt, 0, USTACK + 0x1000);
        bt_cpu_reset_flat(cpu);
        bt_tlb_flush(cpu);
        cpu->gdtr = (struct dtr){GDT, 6 * 8 - 1};
        cpu->idtr = (struct dtr){IDT, 256 * 8 - 1};
        cpu->seg[S_CS].sel = 0x08;
        for (int s = 0; s < 6; s++)
            if (s != S_CS)
                cpu->seg[s].sel = 0x10;
        cpu->seg[S_TR] = (struct seg){.base = TSS, .limit = 0x67, .attr = 0x8b, .sel = 0x28};
        for (int r = 0; r < 8; r++)
            cpu->regs[r] = (rnd() & 1) ? DATA + (rnd() & 0xffff) : rnd();
        cpu->regs[R_ESP] = user ? USTACK + 0x800 : KSTACK - 0x100;
        cpu->eflags = 2 | (rnd() & 0x8d5);
        cpu->eip = CODE;
        if (user) {
            cpu->cr3 = PD;
            cpu->cr0 |= CR0_PG;
            cpu->cpl = 3;
            cpu->seg[S_CS] = (struct seg){0, 0xffffffffu, 0xc0fb, 0x1b, 0};
            for (int s = 0; s < 6; s++)
                if (s != S_CS)
                    cpu->seg[s] = (struct seg){0, 0xffffffffu, 0xc0f3, 0x23, 0};
            cpu->eflags |= FL_IF;
        }
        running = 1;
        cpu->run = 1;
        int r = bt_run(cpu);
        running = 0;
        iteration++;
        counts[r & 7]++;
    }
    running = 0;
    printf("fuzz: %lu pages: %lu halted, %lu stopped by the watchdog, %lu "
           "shut down, %lu internal\n", pages, counts[BT_EXIT_HLT],
           counts[BT_EXIT_REQUEST], counts[BT_EXIT_SHUTDOWN], counts[BT_EXIT_INTERNAL]);
    const struct bt_stats *st = bt_get_stats(bt);
    printf("fuzz: %llu exceptions delivered, %llu blocks translated, %llu "
           "accesses outside RAM\n", (unsigned long long)st->exceptions_delivered,
           (unsigned long long)st->blocks_translated,
           (unsigned long long)st->mmio_accesses);
    /* the fuzzer only means something if faults were really delivered */
    if (st->exceptions_delivered < pages / 4) {
        printf("not ok - too few exceptions delivered\n0 passed, 1 failed\n");
        return 1;
    }
    printf("1 passed, 0 failed\n");
    return 0;
}
