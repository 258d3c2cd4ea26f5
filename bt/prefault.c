/* Populating the translator's growing memory ahead of use, on a helper
 * thread: the code cache and the block array are anonymous memory that
 * the translator writes front to back, and each new page (or 2 MiB huge
 * page) costs the translating thread a fault and the host kernel's
 * zeroing of it, ~9% of translation time in a Linux boot. The helper
 * asks the kernel for the next stretch (MADV_POPULATE_WRITE, which
 * leaves bytes already there alone) while the guest runs. It also
 * populates ranges of guest RAM the loader knows the guest will write
 * (bt_prefault: the Linux kernel's decompression area), 2 MiB at a time,
 * after the translator's areas. Where the host
 * has no such advice, or the thread cannot start, nothing changes but
 * who takes the faults. */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "bt/internal.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define PREFAULT_STEP (4u << 20)    /* bytes populated ahead of the writer */
#define PREFAULT_CHUNK (256u << 10) /* bytes per madvise call */
#define PREFAULT_RANGES 4           /* guest RAM ranges queued at once */
#define PREFAULT_RANGE_STEP (2u << 20) /* one huge page per madvise call */

struct prefault_area {
    uint8_t *base;
    size_t size;
    size_t done;   /* populated (or asked for) up to here */
    size_t wanted; /* the writer wants up to here populated */
};

struct prefault {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stop, broken;
    struct prefault_area area[PREFAULT_AREAS];
    struct { uint8_t *base, *end; } range[PREFAULT_RANGES];
    unsigned n_ranges;
};

/* The next step of the first queued range (lock held), or false. */
static bool next_range_step(struct prefault *p, uint8_t **from, size_t *len)
{
    if (p->n_ranges == 0)
        return false;
    *from = p->range[0].base;
    size_t left = (size_t)(p->range[0].end - *from);
    *len = left < PREFAULT_RANGE_STEP ? left : PREFAULT_RANGE_STEP;
    p->range[0].base += *len;
    if (p->range[0].base == p->range[0].end) {
        p->n_ranges--;
        for (unsigned i = 0; i < p->n_ranges; i++)
            p->range[i] = p->range[i + 1];
    }
    return true;
}

static void *prefault_main(void *arg)
{
    struct prefault *p = arg;
    pthread_mutex_lock(&p->lock);
    while (!p->stop) {
        struct prefault_area *a = NULL;
        for (int i = 0; i < PREFAULT_AREAS && !a; i++)
            if (p->area[i].done < p->area[i].wanted)
                a = &p->area[i];
        uint8_t *from;
        size_t len;
        if (a) {
            from = a->base + a->done;
            len = a->wanted - a->done;
            a->done = a->wanted;
        } else if (!next_range_step(p, &from, &len)) {
            pthread_cond_wait(&p->wake, &p->lock);
            continue;
        }
        pthread_mutex_unlock(&p->lock);
        /* madvise wants a page boundary; where the writer got to (the
         * next block, the cache pointer) need not be one */
        uint8_t *page = (uint8_t *)((uintptr_t)from & ~(uintptr_t)0xfff);
        uint8_t *end = from + len;
        int r = 0;
        /* a populate holds the host's mmap lock, and the translating
         * thread's mprotect of a new code page waits for it: small steps */
        for (; page < end && r == 0; page += PREFAULT_CHUNK) {
            size_t n = (size_t)(end - page) < PREFAULT_CHUNK ? (size_t)(end - page)
                                                              : PREFAULT_CHUNK;
            r = madvise(page, n, MADV_POPULATE_WRITE);
        }
        pthread_mutex_lock(&p->lock);
        if (r < 0) /* an older host: stop asking */
            __atomic_store_n(&p->broken, true, __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

void prefault_start(struct bt *bt)
{
    struct prefault *p = calloc(1, sizeof *p);
    if (!p)
        return;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    p->area[PREFAULT_CODE] = (struct prefault_area){ bt->cache, bt->cache_size, 0, 0 };
    p->area[PREFAULT_BLOCKS] = (struct prefault_area){
        (uint8_t *)bt->blocks, bt->max_blocks * sizeof *bt->blocks, 0, 0 };
    /* the helper takes no signals: they stay with the threads that
     * handle them */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int err = pthread_create(&p->thread, NULL, prefault_main, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err != 0) {
        free(p);
        return;
    }
    bt->prefault = p;
}

void prefault_stop(struct bt *bt)
{
    struct prefault *p = bt->prefault;
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->wake);
    free(p);
    bt->prefault = NULL;
}

void bt_prefault(struct bt *bt, void *host, size_t len)
{
    struct prefault *p = bt->prefault;
    if (!p || len == 0 || __atomic_load_n(&p->broken, __ATOMIC_RELAXED))
        return;
    /* whole pages: the range is inside a mapping of whole pages */
    uint8_t *base = (uint8_t *)((uintptr_t)host & ~(uintptr_t)0xfff);
    uint8_t *end = (uint8_t *)(((uintptr_t)host + len + 0xfff) & ~(uintptr_t)0xfff);
    pthread_mutex_lock(&p->lock);
    if (p->n_ranges < PREFAULT_RANGES) {
        p->range[p->n_ranges].base = base;
        p->range[p->n_ranges].end = end;
        p->n_ranges++;
        pthread_cond_signal(&p->wake);
    }
    pthread_mutex_unlock(&p->lock);
}

void prefault_reached(struct bt *bt, int which, const void *at)
{
    struct prefault *p = bt->prefault;
    if (!p || __atomic_load_n(&p->broken, __ATOMIC_RELAXED))
        return;
    struct prefault_area *a = &p->area[which];
    size_t used = (size_t)((const uint8_t *)at - a->base);
    /* the common case, no lock: the helper is a step ahead */
    if (used + PREFAULT_STEP / 2 <= __atomic_load_n(&a->wanted, __ATOMIC_RELAXED))
        return;
    pthread_mutex_lock(&p->lock);
    size_t want = (used + PREFAULT_STEP + PREFAULT_STEP - 1) / PREFAULT_STEP * PREFAULT_STEP;
    if (want > a->size)
        want = a->size;
    if (want > a->wanted) {
        __atomic_store_n(&a->wanted, want, __ATOMIC_RELAXED);
        pthread_cond_signal(&p->wake);
    }
    pthread_mutex_unlock(&p->lock);
}
