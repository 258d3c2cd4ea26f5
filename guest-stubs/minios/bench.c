/* minios: the lmbench-style workloads. The kernel task spawns ring-3
 * programs (user.c), waits for them and prints one line per workload:
 *   RESULT name=<n> ops=<count> per_op_cycles=<rdtsc cycles per op> check=<hex>
 * check= depends only on what the programs computed, never on timing
 * (preemption may reorder work, not change it). The compute kernels of
 * guest-stubs/compute run in the kernel, with paging on. */
#include "kernels.h"
#include "minios.h"
#include "pvops.h"
#include "user.h"

#define NULL_SYSCALLS 20000
#define CTXSW_YIELDS 2000      /* per task; two tasks */
#define PF_PAGES 256
#define PF_ROUNDS 4
#define MMAP_ROUNDS 200
#define MMAP_PAGES 16
#define FORKS 64
#define PINGPONGS 2000
#define CONSOLE_LINES 16
#define CONSOLE_WIDTH 64
#define TIMER_TICKS 5
#define REMAP_GROUPS 4
#define REMAP_ROUNDS 64

static void report(const char *name, uint32_t ops, uint64_t cycles,
                   uint32_t check)
{
    printf("RESULT name=%s ops=%u per_op_cycles=%llu check=%08x\n", name, ops,
           (unsigned long long)(cycles / ops), check);
}

/* Reap every child: the sum of their checks, the longest measured time. */
static void wait_all(uint32_t *check, uint64_t *cycles)
{
    struct task_result r;
    *check = 0;
    *cycles = 0;
    while (task_wait(&r)) {
        if (!r.reported || r.exit_code != 0)
            panic("task %d ended with %d before reporting", r.tid, r.exit_code);
        *check += r.check; /* tasks may end in any order */
        if (r.cycles > *cycles)
            *cycles = r.cycles;
    }
}

static void run_user(const char *name, uint32_t ops, user_entry_fn *entry,
                     uint32_t a0, uint32_t a1)
{
    uint32_t check;
    uint64_t cycles;
    task_spawn(entry, a0, a1);
    wait_all(&check, &cycles);
    report(name, ops, cycles, check);
}

static void run_ctxsw(void)
{
    uint32_t check;
    uint64_t cycles;
    task_spawn(u_yield, CTXSW_YIELDS, 1);
    task_spawn(u_yield, CTXSW_YIELDS, 2);
    wait_all(&check, &cycles);
    report("ctxsw", 2 * CTXSW_YIELDS, cycles, check);
}

static void run_pingpong(void)
{
    uint32_t check;
    uint64_t cycles;
    struct task *a = task_spawn(u_ping, 0, PINGPONGS);
    struct task *b = task_spawn(u_pong, (uint32_t)task_tid(a), PINGPONGS);
    task_set_args(a, (uint32_t)task_tid(b), PINGPONGS);
    wait_all(&check, &cycles);
    report("pingpong", PINGPONGS, cycles, check);
}

/* TLB coherence, not speed: groups of three tasks, one of whose page
 * tables change while it is switched out (user.c); each group reuses the
 * frames the one before freed. One op is a round. */
static void run_remap(void)
{
    uint32_t check_sum = 0;
    uint64_t cycles_sum = 0;
    for (uint32_t group = 0; group < REMAP_GROUPS; group++) {
        uint32_t check;
        uint64_t cycles;
        uint32_t arg = (group + 1) << 16 | REMAP_ROUNDS;
        struct task *a = task_spawn(u_remap_a, 0, arg);
        struct task *b = task_spawn(u_remap_b, 0, arg);
        struct task *c = task_spawn(u_remap_c, (uint32_t)task_tid(b), arg);
        task_set_args(a, (uint32_t)task_tid(c), arg);
        task_set_args(b, (uint32_t)(task_tid(a) | task_tid(c) << 16), arg);
        wait_all(&check, &cycles);
        check_sum = (check_sum << 7 | check_sum >> 25) ^ check;
        cycles_sum += cycles;
    }
    report("remap", REMAP_GROUPS * REMAP_ROUNDS, cycles_sum, check_sum);
}

static void run_compute(void)
{
    for (unsigned i = 0; i < compute_kernel_count; i++) {
        const struct compute_kernel *k = &compute_kernels[i];
        uint64_t t0 = rdtsc();
        uint32_t check = k->run();
        report(k->name, 1, rdtsc() - t0, check);
    }
}

/* The clock: sleep until TIMER_TICKS ticks have passed. */
static void run_timer(void)
{
    uint32_t start = timer_ticks;
    uint64_t t0 = rdtsc();
    while (timer_ticks - start < TIMER_TICKS) {
        safe_halt();
        irq_disable();
    }
    report("timer", TIMER_TICKS, rdtsc() - t0, timer_ticks - start);
}

/* Ring 3 can run only the pages of user.c (mm.c); its build flags keep
 * the functions between the markers, and this checks that they did. */
static void check_user_text(void)
{
    static user_entry_fn *const entries[] = {
        u_null_syscall, u_yield, u_pagefault, u_mmap_churn, u_fork, u_ping,
        u_pong, u_console, u_remap_a, u_remap_b, u_remap_c,
    };
    for (unsigned i = 0; i < sizeof entries / sizeof entries[0]; i++)
        if ((const char *)entries[i] < user_text_start ||
            (const char *)entries[i] >= user_text_end)
            panic("user program %u at %p is outside the user text", i,
                  (void *)entries[i]);
}

void bench_run_all(void)
{
    check_user_text();
    uint32_t frames = frames_free();
    run_user("null_syscall", NULL_SYSCALLS, u_null_syscall, NULL_SYSCALLS, 0);
    run_ctxsw();
    run_user("pagefault", PF_PAGES * PF_ROUNDS, u_pagefault, PF_PAGES, PF_ROUNDS);
    run_user("mmap_churn", MMAP_ROUNDS, u_mmap_churn, MMAP_ROUNDS, MMAP_PAGES);
    run_user("fork", FORKS, u_fork, FORKS, 0);
    run_pingpong();
    run_remap();
    run_user("console", CONSOLE_LINES * CONSOLE_WIDTH, u_console, CONSOLE_LINES,
             CONSOLE_WIDTH);
    if (frames_free() != frames)
        panic("the workloads leaked %d frames", (int)(frames - frames_free()));
    run_compute();
    run_timer();
}
