/* minios: the lmbench-style workloads. The kernel task spawns ring-3
 * programs (user.c), waits for them and prints one line per workload:
 *   RESULT name=<n> ops=<count> per_op_cycles=<rdtsc cycles per op> check=<hex>
 * check= depends only on what the programs computed, never on timing
 * (preemption may reorder work, not change it). The compute kernels of
 * guest-stubs/compute run in the kernel, with paging on.
 *
 * per_op_cycles of a ring-3 workload is a minimum, as lmbench reports:
 * the shared hosts we measure on alternate between full speed and about
 * 2.2x slower every few hundred microseconds, and sometimes stay slow for
 * seconds, so the time of a whole workload (10-100 ms) varies up to 2x
 * between runs. Noise can only add time, so the fewest cycles over short
 * chunks spread over the run is the work's own cost: each program times
 * its ops in chunks of some 20-50 us and reports the fastest chunk's
 * cycles per op (user.c), and the workloads run ROUNDS times round robin,
 * half the rounds before the compute kernels and half after, so that
 * their chunks spread over seconds. Each workload reports its fewest
 * cycles per op over the rounds once, in the last round; ops= is the ops
 * of one round. */
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
#define ROUNDS 4 /* of the ring-3 workloads; check= must not change */

static void report(const char *name, uint32_t ops, uint64_t cycles,
                   uint32_t check)
{
    printf("RESULT name=%s ops=%u per_op_cycles=%llu check=%08x\n", name, ops,
           (unsigned long long)(cycles / ops), check);
}

/* Reap every child: the sum of their checks, the most cycles any reported
 * (a task that does not time reports 0). */
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

/* A ring-3 workload: run runs it once with the arguments a0 and a1,
 * returns its check and sets *cycles, for ops ops. */
struct workload {
    const char *name;
    uint32_t ops;
    uint32_t (*run)(const struct workload *w, uint64_t *cycles);
    user_entry_fn *entry; /* the program, where there is one */
    uint32_t a0, a1;
};

static uint32_t run_user(const struct workload *w, uint64_t *cycles)
{
    uint32_t check;
    task_spawn(w->entry, w->a0, w->a1);
    wait_all(&check, cycles);
    return check;
}

/* u_null_syscall gets its own tid, to keep its check the same whatever
 * tid it has. */
static uint32_t run_null_syscall(const struct workload *w, uint64_t *cycles)
{
    uint32_t check;
    struct task *t = task_spawn(w->entry, w->a0, 0);
    task_set_args(t, w->a0, (uint32_t)task_tid(t));
    wait_all(&check, cycles);
    return check;
}

/* a0 yields per task; the first task times the switches. */
static uint32_t run_ctxsw(const struct workload *w, uint64_t *cycles)
{
    uint32_t check;
    task_spawn(w->entry, w->a0, 1);
    task_spawn(w->entry, w->a0, 2);
    wait_all(&check, cycles);
    return check;
}

/* a0 round trips; ping times them. */
static uint32_t run_pingpong(const struct workload *w, uint64_t *cycles)
{
    uint32_t check;
    struct task *a = task_spawn(u_ping, 0, w->a0);
    struct task *b = task_spawn(u_pong, (uint32_t)task_tid(a), w->a0);
    task_set_args(a, (uint32_t)task_tid(b), w->a0);
    wait_all(&check, cycles);
    return check;
}

/* TLB coherence, not speed: a0 groups of three tasks, one of whose page
 * tables change while it is switched out (user.c), a1 rounds each; each
 * group reuses the frames the one before freed. One op is a round; the
 * groups do the same work, so *cycles is at the fastest group's rate. */
static uint32_t run_remap(const struct workload *w, uint64_t *cycles)
{
    uint32_t check_sum = 0;
    *cycles = UINT64_MAX;
    for (uint32_t group = 0; group < w->a0; group++) {
        uint32_t check;
        uint64_t group_cycles;
        uint32_t arg = (group + 1) << 16 | w->a1;
        struct task *a = task_spawn(u_remap_a, 0, arg);
        struct task *b = task_spawn(u_remap_b, 0, arg);
        struct task *c = task_spawn(u_remap_c, (uint32_t)task_tid(b), arg);
        task_set_args(a, (uint32_t)task_tid(c), arg);
        task_set_args(b, (uint32_t)(task_tid(a) | task_tid(c) << 16), arg);
        wait_all(&check, &group_cycles);
        check_sum = (check_sum << 7 | check_sum >> 25) ^ check;
        if (group_cycles * w->a0 < *cycles)
            *cycles = group_cycles * w->a0;
    }
    return check_sum;
}

static const struct workload workloads[] = {
    {"null_syscall", NULL_SYSCALLS, run_null_syscall, u_null_syscall,
     NULL_SYSCALLS, 0},
    {"ctxsw", 2 * CTXSW_YIELDS, run_ctxsw, u_yield, CTXSW_YIELDS, 0},
    {"pagefault", PF_PAGES * PF_ROUNDS, run_user, u_pagefault, PF_PAGES,
     PF_ROUNDS},
    {"mmap_churn", MMAP_ROUNDS, run_user, u_mmap_churn, MMAP_ROUNDS,
     MMAP_PAGES},
    {"fork", FORKS, run_user, u_fork, FORKS, 0},
    {"pingpong", PINGPONGS, run_pingpong, NULL, PINGPONGS, 0},
    {"remap", REMAP_GROUPS * REMAP_ROUNDS, run_remap, NULL, REMAP_GROUPS,
     REMAP_ROUNDS},
    {"console", CONSOLE_LINES * CONSOLE_WIDTH, run_user, u_console,
     CONSOLE_LINES, CONSOLE_WIDTH},
};
#define WORKLOADS (sizeof workloads / sizeof workloads[0])

/* A workload's check and fewest cycles over the rounds so far. */
struct tally {
    uint32_t check;
    uint64_t best;
};

/* Rounds first..last (of ROUNDS) of the ring-3 workloads, round robin.
 * Each must compute the same check in every round and give back every
 * frame. The last round reports each workload as it ends, its fewest
 * cycles of any round; the line before it ends what perf/'s callgrind
 * mode charges to the earlier rounds (it charges a RESULT line with the
 * work since the line before). */
static void run_rounds(struct tally *tally, unsigned first, unsigned last)
{
    for (unsigned round = first; round <= last; round++) {
        if (round == ROUNDS)
            printf("minios: workloads: %d rounds done, one to go\n",
                   ROUNDS - 1);
        for (unsigned i = 0; i < WORKLOADS; i++) {
            const struct workload *w = &workloads[i];
            struct tally *t = &tally[i];
            uint32_t frames = frames_free();
            uint64_t cycles;
            uint32_t check = w->run(w, &cycles);
            if (frames_free() != frames)
                panic("%s leaked %d frames in round %u", w->name,
                      (int)(frames - frames_free()), round);
            if (round == 1)
                *t = (struct tally){.check = check, .best = cycles};
            else if (check != t->check)
                panic("%s: check=%08x in round %u, %08x in round 1", w->name,
                      check, round, t->check);
            else if (cycles < t->best)
                t->best = cycles;
            if (round == ROUNDS)
                report(w->name, w->ops, t->best, t->check);
        }
    }
}

/* Ends the earlier rounds' output unit (see struct compute_report). */
static void compute_last_round(void)
{
    printf("minios: compute: %d rounds done, one to go\n", COMPUTE_REPS - 1);
}

static void compute_result(const struct compute_kernel *k,
                           const struct compute_result *r)
{
    if (r->differs == COMPUTE_CHECK_DIFFERS)
        panic("compute: %s: checksum %08x, then %08x", k->name, r->first,
              r->then);
    if (r->differs == COMPUTE_MARKS_DIFFER)
        panic("compute: %s: %u timing marks, then %u", k->name, r->first,
              r->then);
    report(k->name, 1, r->cycles, r->check);
}

/* Timed as the compute guest times them: each kernel runs COMPUTE_REPS
 * times, round robin, and its cycles are the sum over its segments of
 * each one's fewest (kernels.h). */
static void run_compute(void)
{
    static const struct compute_report rep = {compute_last_round,
                                              compute_result};
    compute_run_all(rdtsc, &rep);
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
    struct tally tally[WORKLOADS];
    check_user_text();
    /* The compute kernels between the workloads' rounds spread these over
     * a second or more: the host can stay slow for longer than all the
     * rounds take. */
    run_rounds(tally, 1, ROUNDS / 2);
    run_compute();
    run_rounds(tally, ROUNDS / 2 + 1, ROUNDS);
    run_timer();
}
