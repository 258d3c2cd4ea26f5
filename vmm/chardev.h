/* The host end of a serial line: buffered output to a file descriptor and
 * input from a reader thread through a locked ring. */
#ifndef TPVM_VMM_CHARDEV_H
#define TPVM_VMM_CHARDEV_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/input_ring.h"

#define CHARDEV_OUT_BUF 4096

struct chardev {
    int out_fd;            /* -1: output is discarded */
    bool own_out_fd;       /* opened by us, closed by chardev_close */
    bool out_failed;       /* a write failed; later output is dropped */
    size_t out_len;
    uint8_t out_buf[CHARDEV_OUT_BUF];

    struct input_ring in;
    int in_fd;             /* -1: no input */
    int stop_pipe[2];      /* wakes the reader's poll() on close */
    bool reader_running;
    bool input_ended;      /* the reader saw EOF or an error (atomic) */
    pthread_t reader;
    /* Called by the reader thread after it queued input, and once when
     * input ends; under notify_lock, so it can be unset safely. */
    pthread_mutex_t notify_lock;
    void (*notify)(void *opaque);
    void *notify_opaque;

    uint64_t bytes_out, bytes_in;

    /* stdio on a terminal: raw mode and the Ctrl-A escape (console.c) */
    bool console;
    void (*quit)(void *opaque); /* Ctrl-A x */
    void *quit_opaque;
};

/* Open from a --serial spec: "stdio" (stdout, input from stdin) or
 * "file:PATH" (output to PATH, truncated; no input). On failure returns
 * -errno and writes one line (without "tpvm: ") into err. */
int chardev_open(struct chardev *c, const char *spec, char *err, size_t errlen);
/* Called (on the reader thread) when the user types Ctrl-A x. */
void chardev_set_quit(struct chardev *c, void (*fn)(void *), void *opaque);

/* Lower level, for tests: out_fd/in_fd may be -1; in_fd is read by a
 * reader thread until EOF or close. The fds are not closed by us. */
int chardev_open_fds(struct chardev *c, int out_fd, int in_fd);

/* Output is flushed at each newline, when full, and by chardev_flush. */
void chardev_putc(struct chardev *c, uint8_t byte);
void chardev_flush(struct chardev *c);

/* Non-blocking input: false when nothing is queued. */
bool chardev_getc(struct chardev *c, uint8_t *byte);
bool chardev_input_pending(struct chardev *c);

/* fn(opaque) runs on the reader thread whenever input was queued and
 * when input ends; it must only wake the CPU thread. NULL to stop. */
void chardev_set_input_notify(struct chardev *c, void (*fn)(void *),
                              void *opaque);

/* No more input will come (no input, or the reader saw EOF). */
bool chardev_input_ended(struct chardev *c);

/* Flush, stop the reader thread and release everything. */
void chardev_close(struct chardev *c);

#endif
