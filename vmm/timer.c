/* Host-time deadlines: one watcher thread, callbacks on the CPU thread.
 *
 * The devices live on the CPU thread and are never touched by another
 * one. What crosses threads is only this table of deadlines, under one
 * mutex. The watcher sleeps until the earliest deadline, then stops the
 * CPU (kick) once per state of the table (gen), so it does not kick again
 * while the CPU has not yet run the callbacks. An arm earlier than what
 * the watcher sleeps until wakes it. A CPU waiting in HLT sleeps on its
 * own condition variable until the earliest deadline or a post from
 * another thread (serial input). */
#include "vmm/timer.h"

#include <errno.h>
#include <string.h>
#include <time.h>

static uint64_t host_monotonic_ns(void *opaque)
{
    struct timespec ts;

    (void)opaque;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t paused(const struct timers *t)
{
    return t->paused_ns ? __atomic_load_n(t->paused_ns, __ATOMIC_RELAXED) : 0;
}

/* The guest's clock: host time minus what the guest did not see. */
static uint64_t guest_ns(void *opaque)
{
    return host_monotonic_ns(NULL) - paused(opaque);
}

void timers_set_paused(struct timers *t, const uint64_t *paused_ns)
{
    t->paused_ns = paused_ns;
}

/* Sleeps are on host CLOCK_MONOTONIC: a deadline on the default clock
 * lies later on the host's by the paused time so far (a pause during the
 * sleep only makes it end early and look again). */
static struct timespec host_deadline(const struct timers *t, uint64_t d)
{
    if (t->clock == guest_ns)
        d += paused(t);
    return (struct timespec){
        .tv_sec = (time_t)(d / 1000000000u),
        .tv_nsec = (long)(d % 1000000000u),
    };
}

int timers_init(struct timers *t)
{
    pthread_condattr_t attr;
    struct timespec real;
    int err;

    memset(t, 0, sizeof(*t));
    t->clock = guest_ns;
    t->clock_opaque = t;
    clock_gettime(CLOCK_REALTIME, &real);
    t->wall_offset_ns = (int64_t)real.tv_sec * 1000000000 + real.tv_nsec -
                        (int64_t)host_monotonic_ns(NULL);
    t->thread_deadline = TIMER_NEVER;
    pthread_mutex_init(&t->lock, NULL);
    /* Deadlines are CLOCK_MONOTONIC: sleep on that clock, so setting the
     * host's time of day does not move them. */
    pthread_condattr_init(&attr);
    err = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (!err)
        err = pthread_cond_init(&t->thread_cond, &attr);
    if (!err)
        err = pthread_cond_init(&t->idle_cond, &attr);
    pthread_condattr_destroy(&attr);
    return -err;
}

void timers_destroy(struct timers *t)
{
    timers_stop_thread(t);
    pthread_cond_destroy(&t->thread_cond);
    pthread_cond_destroy(&t->idle_cond);
    pthread_mutex_destroy(&t->lock);
}

void timers_set_clock(struct timers *t, timers_clock_fn clock, void *opaque,
                      int64_t wall_offset_ns)
{
    t->clock = clock;
    t->clock_opaque = opaque;
    t->wall_offset_ns = wall_offset_ns;
}

void timers_set_kick(struct timers *t, void (*kick)(void *), void *opaque)
{
    t->kick = kick;
    t->kick_opaque = opaque;
}

static void kick(struct timers *t)
{
    if (t->kick)
        t->kick(t->kick_opaque);
}

static uint64_t earliest_locked(const struct timers *t)
{
    uint64_t d = TIMER_NEVER;

    for (unsigned i = 0; i < t->count; i++)
        if (t->t[i].deadline < d)
            d = t->t[i].deadline;
    return d;
}

/* The table changed: wake the watcher if it sleeps past the new earliest
 * deadline (or sleeps for good after a kick). */
static void changed_locked(struct timers *t)
{
    t->gen++;
    if (earliest_locked(t) < t->thread_deadline)
        pthread_cond_signal(&t->thread_cond);
}

/* After a kick the watcher looks again after this long, doubling up to
 * the maximum while the CPU has not run the callbacks. Polling, rather
 * than waiting to be told, keeps a thread wake-up (an IPI, several
 * microseconds on this host) off the CPU thread's path: its re-arm is
 * later than the watcher's next look, so it signals nobody. */
#define RECHECK_MIN_NS 20000u
#define RECHECK_MAX_NS 10000000u

static void *watcher_main(void *arg)
{
    struct timers *t = arg;
    uint64_t recheck = RECHECK_MIN_NS;
    bool rechecking = false;

    pthread_mutex_lock(&t->lock);
    while (!t->stop) {
        uint64_t d = earliest_locked(t), now = timers_now(t);
        if (d <= now) {
            if (t->kicked_gen != t->gen || rechecking) {
                if (t->kicked_gen != t->gen)
                    recheck = RECHECK_MIN_NS;
                t->kicked_gen = t->gen;
                rechecking = false;
                pthread_mutex_unlock(&t->lock);
                kick(t);
                __atomic_add_fetch(&t->kicks, 1, __ATOMIC_RELAXED);
                pthread_mutex_lock(&t->lock);
                continue;
            }
            /* Kicked already: look again once the CPU has had time to
             * run the callbacks. */
            d = now + recheck;
            rechecking = true;
            if (recheck < RECHECK_MAX_NS)
                recheck *= 2;
        } else {
            recheck = RECHECK_MIN_NS;
            rechecking = false;
        }
        t->thread_deadline = d;
        if (d == TIMER_NEVER) {
            pthread_cond_wait(&t->thread_cond, &t->lock);
        } else {
            struct timespec ts = host_deadline(t, d);
            pthread_cond_timedwait(&t->thread_cond, &t->lock, &ts);
        }
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

int timers_start_thread(struct timers *t)
{
    int err = pthread_create(&t->thread, NULL, watcher_main, t);

    if (err)
        return -err;
    t->thread_running = true;
    return 0;
}

void timers_stop_thread(struct timers *t)
{
    if (!t->thread_running)
        return;
    pthread_mutex_lock(&t->lock);
    t->stop = true;
    pthread_cond_signal(&t->thread_cond);
    pthread_mutex_unlock(&t->lock);
    pthread_join(t->thread, NULL);
    t->thread_running = false;
}

int timer_add(struct timers *t, const char *name, timer_fn fn, void *opaque)
{
    int id;

    pthread_mutex_lock(&t->lock);
    if (t->count == TIMERS_MAX) {
        pthread_mutex_unlock(&t->lock);
        return -ENOSPC;
    }
    id = (int)t->count++;
    t->t[id] = (struct timer){
        .deadline = TIMER_NEVER, .fn = fn, .opaque = opaque, .name = name,
    };
    pthread_mutex_unlock(&t->lock);
    return id;
}

void timer_arm(struct timers *t, int id, uint64_t deadline)
{
    pthread_mutex_lock(&t->lock);
    if (t->t[id].deadline != deadline) {
        t->t[id].deadline = deadline;
        changed_locked(t);
    }
    pthread_mutex_unlock(&t->lock);
}

void timer_cancel(struct timers *t, int id)
{
    timer_arm(t, id, TIMER_NEVER);
}

void timer_post(struct timers *t, int id)
{
    pthread_mutex_lock(&t->lock);
    t->t[id].deadline = 0;
    changed_locked(t);
    pthread_cond_signal(&t->idle_cond);
    pthread_mutex_unlock(&t->lock);
    __atomic_add_fetch(&t->posts, 1, __ATOMIC_RELAXED);
    kick(t);
}

unsigned timers_run_due(struct timers *t)
{
    unsigned fire[TIMERS_MAX], n = 0;
    uint64_t now;

    pthread_mutex_lock(&t->lock);
    now = timers_now(t);
    for (unsigned i = 0; i < t->count; i++) {
        if (t->t[i].deadline <= now) {
            t->t[i].deadline = TIMER_NEVER;
            fire[n++] = i;
        }
    }
    if (n)
        changed_locked(t);
    pthread_mutex_unlock(&t->lock);
    /* The callbacks run unlocked: they re-arm, and they may raise IRQs. */
    for (unsigned i = 0; i < n; i++)
        t->t[fire[i]].fn(t->t[fire[i]].opaque, now);
    if (n)
        __atomic_add_fetch(&t->callbacks, n, __ATOMIC_RELAXED);
    return n;
}

bool timers_due(struct timers *t)
{
    bool due;

    pthread_mutex_lock(&t->lock);
    due = earliest_locked(t) <= timers_now(t);
    pthread_mutex_unlock(&t->lock);
    return due;
}

uint64_t timers_next_deadline(struct timers *t)
{
    uint64_t d;

    pthread_mutex_lock(&t->lock);
    d = earliest_locked(t);
    pthread_mutex_unlock(&t->lock);
    return d;
}

bool timers_armed(struct timers *t)
{
    return timers_next_deadline(t) != TIMER_NEVER;
}

void timers_idle_wait(struct timers *t)
{
    pthread_mutex_lock(&t->lock);
    for (;;) {
        uint64_t d = earliest_locked(t);
        if (d <= timers_now(t))
            break;
        if (d == TIMER_NEVER) {
            pthread_cond_wait(&t->idle_cond, &t->lock);
        } else {
            struct timespec ts = host_deadline(t, d);
            pthread_cond_timedwait(&t->idle_cond, &t->lock, &ts);
        }
    }
    pthread_mutex_unlock(&t->lock);
}
