/* Unit tests for vmm/timer.c: deadlines and callbacks on a fake clock,
 * and the watcher thread and idle wait on the host clock. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "vmm/timer.h"

struct fixture {
    struct timers t;
    uint64_t now;
    unsigned fired[4];
    uint64_t fired_at[4];
    int id[4];
    unsigned kicks;
    uint64_t period; /* > 0: callback 0 re-arms itself */
};

static uint64_t fake_now(void *opaque)
{
    return ((struct fixture *)opaque)->now;
}

static void record(struct fixture *f, unsigned i, uint64_t now)
{
    f->fired[i]++;
    f->fired_at[i] = now;
}

static void cb0(void *opaque, uint64_t now)
{
    struct fixture *f = opaque;
    record(f, 0, now);
    if (f->period)
        timer_arm(&f->t, f->id[0], now + f->period);
}

static void cb1(void *opaque, uint64_t now)
{
    record(opaque, 1, now);
}

static void count_kick(void *opaque)
{
    struct fixture *f = opaque;
    __atomic_add_fetch(&f->kicks, 1, __ATOMIC_SEQ_CST);
}

static int setup_fake(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (timers_init(&f->t) < 0)
        return -1;
    timers_set_clock(&f->t, fake_now, f, 0);
    timers_set_kick(&f->t, count_kick, f);
    f->now = 1000;
    f->id[0] = timer_add(&f->t, "a", cb0, f);
    f->id[1] = timer_add(&f->t, "b", cb1, f);
    *state = f;
    return 0;
}

static int setup_host(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (timers_init(&f->t) < 0)
        return -1;
    timers_set_kick(&f->t, count_kick, f);
    f->id[0] = timer_add(&f->t, "a", cb0, f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    timers_destroy(&f->t);
    free(f);
    return 0;
}

static uint64_t host_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void only_expired_timers_run_once(void **state)
{
    struct fixture *f = *state;
    timer_arm(&f->t, f->id[0], 1100);
    timer_arm(&f->t, f->id[1], 1200);
    assert_int_equal(timers_next_deadline(&f->t), 1100);
    assert_int_equal(timers_run_due(&f->t), 0);
    f->now = 1150;
    assert_true(timers_due(&f->t));
    assert_int_equal(timers_run_due(&f->t), 1);
    assert_int_equal(f->fired[0], 1);
    assert_int_equal(f->fired_at[0], 1150);
    assert_int_equal(f->fired[1], 0);
    assert_int_equal(timers_run_due(&f->t), 0); /* one shot */
    assert_int_equal(timers_next_deadline(&f->t), 1200);
}

static void a_callback_can_rearm_itself(void **state)
{
    struct fixture *f = *state;
    f->period = 100;
    timer_arm(&f->t, f->id[0], 1100);
    for (unsigned i = 0; i < 5; i++) {
        f->now += 100;
        timers_run_due(&f->t);
    }
    assert_int_equal(f->fired[0], 5);
    assert_int_equal(timers_next_deadline(&f->t), f->now + 100);
}

static void cancel_disarms(void **state)
{
    struct fixture *f = *state;
    timer_arm(&f->t, f->id[1], 1001);
    timer_cancel(&f->t, f->id[1]);
    assert_false(timers_armed(&f->t));
    f->now = 5000;
    assert_int_equal(timers_run_due(&f->t), 0);
}

static void post_makes_a_timer_due_now_and_kicks(void **state)
{
    struct fixture *f = *state;
    timer_post(&f->t, f->id[1]);
    assert_int_equal(f->kicks, 1);
    assert_true(timers_due(&f->t));
    assert_int_equal(timers_run_due(&f->t), 1);
    assert_int_equal(f->fired[1], 1);
}

static void thread_kicks_when_a_deadline_passes(void **state)
{
    struct fixture *f = *state;
    uint64_t t0 = host_ns();
    assert_int_equal(timers_start_thread(&f->t), 0);
    timer_arm(&f->t, f->id[0], t0 + 2000000);
    while (!__atomic_load_n(&f->kicks, __ATOMIC_SEQ_CST) &&
           host_ns() - t0 < 2000000000u)
        usleep(100);
    uint64_t took = host_ns() - t0;
    assert_true(f->kicks >= 1);
    assert_true(took >= 2000000);
    /* While nobody runs the callbacks the watcher kicks again, backing off
     * (20 us doubling to 10 ms): a kick can reach the CPU before the
     * deadline is due on its clock (the guest clock stops while code is
     * translated), and must not be the last one. No storm, though. */
    usleep(20000);
    unsigned k = __atomic_load_n(&f->kicks, __ATOMIC_SEQ_CST);
    assert_true(k >= 2 && k <= 16);
    assert_int_equal(timers_run_due(&f->t), 1);
    /* Nothing due: no more kicks. */
    usleep(30000);
    k = __atomic_load_n(&f->kicks, __ATOMIC_SEQ_CST);
    usleep(30000);
    assert_int_equal(__atomic_load_n(&f->kicks, __ATOMIC_SEQ_CST), k);
    /* A new deadline, a new kick. */
    timer_arm(&f->t, f->id[0], host_ns() + 1000000);
    t0 = host_ns();
    while (__atomic_load_n(&f->kicks, __ATOMIC_SEQ_CST) <= k &&
           host_ns() - t0 < 2000000000u)
        usleep(100);
    assert_true(f->kicks > k);
    timers_stop_thread(&f->t);
}

static void idle_wait_sleeps_until_the_deadline(void **state)
{
    struct fixture *f = *state;
    uint64_t t0 = host_ns();
    timer_arm(&f->t, f->id[0], t0 + 5000000);
    timers_idle_wait(&f->t);
    uint64_t took = host_ns() - t0;
    assert_true(took >= 5000000 && took < 1000000000u);
    assert_int_equal(timers_run_due(&f->t), 1);
}

/* Translation time is hidden from the guest: the clock runs behind the
 * host's by the paused time, and a sleep to a deadline on that clock
 * lasts as long as the deadline is ahead of it, not ahead of the host. */
static void paused_time_is_not_guest_time(void **state)
{
    struct fixture *f = *state;
    uint64_t paused = 0;
    timers_set_paused(&f->t, &paused);
    uint64_t g0 = timers_now(&f->t);
    paused = 2000000000u; /* the guest missed 2 s */
    uint64_t g1 = timers_now(&f->t), h1 = host_ns();
    assert_true(g1 < g0);
    assert_true(h1 - g1 >= 2000000000u && h1 - g1 < 2100000000u);
    struct timespec c0, c1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
    timer_arm(&f->t, f->id[0], g1 + 50000000);
    timers_idle_wait(&f->t);
    uint64_t took = host_ns() - h1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
    uint64_t cpu = (uint64_t)(c1.tv_sec - c0.tv_sec) * 1000000000u +
                   (uint64_t)c1.tv_nsec - (uint64_t)c0.tv_nsec;
    assert_true(took >= 45000000 && took < 1000000000u);
    assert_true(cpu < 20000000); /* slept, did not spin */
    assert_int_equal(timers_run_due(&f->t), 1);
}

static void *post_later(void *arg)
{
    struct fixture *f = arg;
    usleep(10000);
    timer_post(&f->t, f->id[0]);
    return NULL;
}

static void idle_wait_ends_when_another_thread_posts(void **state)
{
    struct fixture *f = *state;
    pthread_t th;
    uint64_t t0 = host_ns();
    assert_false(timers_armed(&f->t));
    assert_int_equal(pthread_create(&th, NULL, post_later, f), 0);
    timers_idle_wait(&f->t); /* nothing armed: only the post ends it */
    uint64_t took = host_ns() - t0;
    pthread_join(th, NULL);
    assert_true(took >= 10000000 && took < 2000000000u);
    assert_int_equal(timers_run_due(&f->t), 1);
}

#define F(name) cmocka_unit_test_setup_teardown(name, setup_fake, teardown)
#define H(name) cmocka_unit_test_setup_teardown(name, setup_host, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        F(only_expired_timers_run_once),
        F(a_callback_can_rearm_itself),
        F(cancel_disarms),
        F(post_makes_a_timer_due_now_and_kicks),
        H(thread_kicks_when_a_deadline_passes),
        H(idle_wait_sleeps_until_the_deadline),
        H(paused_time_is_not_guest_time),
        H(idle_wait_ends_when_another_thread_posts),
    };
    return cmocka_run_group_tests_name("timer", tests, NULL, NULL);
}
