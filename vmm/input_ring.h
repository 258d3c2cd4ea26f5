/* A locked byte ring between a host reader thread and the guest's CPU thread. */
#ifndef TPVM_VMM_INPUT_RING_H
#define TPVM_VMM_INPUT_RING_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INPUT_RING_SIZE 4096

struct input_ring {
    pthread_mutex_t lock;
    pthread_cond_t space; /* signalled when bytes are taken or on close */
    uint8_t buf[INPUT_RING_SIZE];
    size_t head;          /* index of the oldest byte */
    size_t count;
    bool closed;
};

void input_ring_init(struct input_ring *r);
void input_ring_destroy(struct input_ring *r);

/* Append what fits; returns the number of bytes taken (never blocks). */
size_t input_ring_push(struct input_ring *r, const uint8_t *data, size_t len);

/* Append all of data, waiting for room (so piped input is never dropped).
 * Returns false if the ring was closed before everything fit. */
bool input_ring_push_all(struct input_ring *r, const uint8_t *data, size_t len);

/* Take the oldest byte; false if the ring is empty. */
bool input_ring_pop(struct input_ring *r, uint8_t *byte);

size_t input_ring_count(struct input_ring *r);

/* Wake and refuse writers (used to stop the reader thread). */
void input_ring_close(struct input_ring *r);

#endif
