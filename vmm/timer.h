/* Host-time deadlines for the device models: devices arm absolute
 * deadlines on one clock, a host thread sleeps until the earliest and
 * stops the CPU, and the run loop runs the callbacks that are due. */
#ifndef TPVM_VMM_TIMER_H
#define TPVM_VMM_TIMER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define TIMER_NEVER UINT64_MAX
#define TIMERS_MAX 8

/* The clock every device reads: nanoseconds, monotonic. Tests put a fake
 * one in its place (timers_set_clock). */
typedef uint64_t (*timers_clock_fn)(void *opaque);

/* Runs on the CPU thread with no lock held; now is the clock when the
 * run started. A timer fires once per arm: re-arm from here to repeat. */
typedef void (*timer_fn)(void *opaque, uint64_t now);

struct timer {
    uint64_t deadline;   /* TIMER_NEVER when not armed */
    timer_fn fn;
    void *opaque;
    const char *name;
};

struct timers {
    timers_clock_fn clock;
    void *clock_opaque;
    /* Host time the guest did not see (translation, struct cpu
     * paused_ns), read atomically; NULL: none. The default clock is host
     * CLOCK_MONOTONIC minus this, and sleeps add it back. */
    const uint64_t *paused_ns;
    /* Time of day (UTC, ns since 1970) = clock + wall_offset_ns. */
    int64_t wall_offset_ns;

    pthread_mutex_t lock;       /* guards everything below */
    pthread_cond_t thread_cond; /* wakes the timer thread */
    pthread_cond_t idle_cond;   /* wakes a CPU waiting in HLT */
    struct timer t[TIMERS_MAX];
    unsigned count;
    uint64_t gen;               /* bumped by every change of the set */
    uint64_t kicked_gen;        /* gen when the thread last kicked */
    uint64_t thread_deadline;   /* what the thread sleeps until */

    /* Stops the CPU (bt_request_exit); called from any thread. */
    void (*kick)(void *opaque);
    void *kick_opaque;
    pthread_t thread;
    bool thread_running, stop;

    /* Counters (updated with atomics: several threads). */
    uint64_t kicks;             /* CPU stopped because a deadline passed */
    uint64_t callbacks;         /* timer callbacks run */
    uint64_t posts;             /* timer_post from other threads */
};

/* Host CLOCK_MONOTONIC; the wall offset from CLOCK_REALTIME. */
int timers_init(struct timers *t);
void timers_destroy(struct timers *t);

/* Make the default clock skip the host time *paused_ns counts (before
 * the thread starts). */
void timers_set_paused(struct timers *t, const uint64_t *paused_ns);

/* Replace the clock (before any timer is armed; tests). */
void timers_set_clock(struct timers *t, timers_clock_fn clock, void *opaque,
                      int64_t wall_offset_ns);

/* kick is called whenever a deadline has passed (and by timer_post).
 * Starting the thread is optional: without it nobody watches deadlines,
 * which unit tests use. Returns 0 or -errno. */
void timers_set_kick(struct timers *t, void (*kick)(void *), void *opaque);
int timers_start_thread(struct timers *t);
void timers_stop_thread(struct timers *t);

/* Returns the timer's id, or -ENOSPC. */
int timer_add(struct timers *t, const char *name, timer_fn fn, void *opaque);
/* Absolute deadline on the timers' clock; TIMER_NEVER disarms. */
void timer_arm(struct timers *t, int id, uint64_t deadline);
void timer_cancel(struct timers *t, int id);
/* From any thread: make the timer due now and stop the CPU (input
 * arrived). */
void timer_post(struct timers *t, int id);

static inline uint64_t timers_now(const struct timers *t)
{
    return t->clock(t->clock_opaque);
}

static inline int64_t timers_wall_ns(const struct timers *t)
{
    return (int64_t)timers_now(t) + t->wall_offset_ns;
}

/* CPU thread: run every callback whose deadline has passed. Returns how
 * many ran. */
unsigned timers_run_due(struct timers *t);
/* Whether some deadline has passed / some timer is armed. */
bool timers_due(struct timers *t);
bool timers_armed(struct timers *t);
/* The earliest deadline, TIMER_NEVER if none. */
uint64_t timers_next_deadline(struct timers *t);

/* CPU thread, guest halted: sleep until a deadline passes or a timer is
 * posted (no busy wait). Returns at once if one is already due. */
void timers_idle_wait(struct timers *t);

#endif
