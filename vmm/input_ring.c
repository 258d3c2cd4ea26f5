/* A locked byte ring between a host reader thread and the guest's CPU thread. */
#include "vmm/input_ring.h"

#include <string.h>

void input_ring_init(struct input_ring *r)
{
    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->space, NULL);
}

void input_ring_destroy(struct input_ring *r)
{
    pthread_cond_destroy(&r->space);
    pthread_mutex_destroy(&r->lock);
}

/* Caller holds the lock. */
static size_t push_locked(struct input_ring *r, const uint8_t *data, size_t len)
{
    size_t n = 0;

    while (n < len && r->count < INPUT_RING_SIZE) {
        r->buf[(r->head + r->count) % INPUT_RING_SIZE] = data[n++];
        r->count++;
    }
    return n;
}

size_t input_ring_push(struct input_ring *r, const uint8_t *data, size_t len)
{
    size_t n;

    pthread_mutex_lock(&r->lock);
    n = r->closed ? 0 : push_locked(r, data, len);
    pthread_mutex_unlock(&r->lock);
    return n;
}

bool input_ring_push_all(struct input_ring *r, const uint8_t *data, size_t len)
{
    size_t done = 0;

    pthread_mutex_lock(&r->lock);
    while (!r->closed) {
        done += push_locked(r, data + done, len - done);
        if (done == len)
            break;
        pthread_cond_wait(&r->space, &r->lock);
    }
    pthread_mutex_unlock(&r->lock);
    return done == len;
}

bool input_ring_pop(struct input_ring *r, uint8_t *byte)
{
    bool got = false;

    pthread_mutex_lock(&r->lock);
    if (r->count) {
        *byte = r->buf[r->head];
        r->head = (r->head + 1) % INPUT_RING_SIZE;
        r->count--;
        got = true;
        pthread_cond_signal(&r->space);
    }
    pthread_mutex_unlock(&r->lock);
    return got;
}

size_t input_ring_count(struct input_ring *r)
{
    size_t n;

    pthread_mutex_lock(&r->lock);
    n = r->count;
    pthread_mutex_unlock(&r->lock);
    return n;
}

void input_ring_close(struct input_ring *r)
{
    pthread_mutex_lock(&r->lock);
    r->closed = true;
    pthread_cond_broadcast(&r->space);
    pthread_mutex_unlock(&r->lock);
}
