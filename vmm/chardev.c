/* The host end of a serial line: buffered output, threaded input. */
#include "vmm/chardev.h"
#include "vmm/console.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void notify_input(struct chardev *c)
{
    pthread_mutex_lock(&c->notify_lock);
    if (c->notify)
        c->notify(c->notify_opaque);
    pthread_mutex_unlock(&c->notify_lock);
}

/* Reads in_fd into the ring until EOF, an error or chardev_close. Waiting
 * for room in the ring (instead of dropping) keeps piped input intact. */
static void *reader_main(void *arg)
{
    struct chardev *c = arg;
    struct pollfd fds[2] = {
        { .fd = c->in_fd, .events = POLLIN },
        { .fd = c->stop_pipe[0], .events = POLLIN },
    };
    uint8_t buf[256];
    struct console_escape esc = { .pending = false };

    for (;;) {
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (fds[1].revents)
            break;
        ssize_t n = read(c->in_fd, buf, sizeof(buf));
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0) /* EOF, or EIO when a background job reads its tty */
            break;
        if (c->console) {
            bool quit = false;
            n = (ssize_t)console_filter(&esc, buf, (size_t)n, &quit);
            if (quit) {
                console_restore();
                pthread_mutex_lock(&c->notify_lock);
                if (c->quit)
                    c->quit(c->quit_opaque);
                pthread_mutex_unlock(&c->notify_lock);
                break;
            }
            if (n == 0)
                continue;
        }
        __atomic_add_fetch(&c->bytes_in, (uint64_t)n, __ATOMIC_RELAXED);
        if (!input_ring_push_all(&c->in, buf, (size_t)n))
            break;
        notify_input(c);
    }
    __atomic_store_n(&c->input_ended, true, __ATOMIC_RELEASE);
    notify_input(c);
    return NULL;
}

static int open_fds(struct chardev *c, int out_fd, int in_fd, bool console);

int chardev_open_fds(struct chardev *c, int out_fd, int in_fd)
{
    return open_fds(c, out_fd, in_fd, false);
}

static int open_fds(struct chardev *c, int out_fd, int in_fd, bool console)
{
    int err;

    memset(c, 0, sizeof(*c));
    c->console = console;
    c->out_fd = out_fd;
    c->in_fd = in_fd;
    c->stop_pipe[0] = c->stop_pipe[1] = -1;
    input_ring_init(&c->in);
    pthread_mutex_init(&c->notify_lock, NULL);
    if (in_fd < 0) {
        c->input_ended = true;
        return 0;
    }
    if (pipe2(c->stop_pipe, O_CLOEXEC) < 0) {
        err = errno;
        goto fail;
    }
    err = pthread_create(&c->reader, NULL, reader_main, c);
    if (err) {
        close(c->stop_pipe[0]);
        close(c->stop_pipe[1]);
        goto fail;
    }
    c->reader_running = true;
    return 0;

fail:
    pthread_mutex_destroy(&c->notify_lock);
    input_ring_destroy(&c->in);
    return -err;
}

int chardev_open(struct chardev *c, const char *spec, char *err, size_t errlen)
{
    int ret;

    if (strcmp(spec, "stdio") == 0) {
        /* on a terminal: raw, so keystrokes reach the guest as typed */
        ret = open_fds(c, STDOUT_FILENO, STDIN_FILENO,
                       console_raw_enter(STDIN_FILENO));
        if (ret < 0)
            snprintf(err, errlen, "--serial stdio: cannot start input: %s",
                     strerror(-ret));
        return ret;
    }
    if (strncmp(spec, "file:", 5) == 0 && spec[5]) {
        int fd = open(spec + 5, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
            ret = -errno;
            snprintf(err, errlen, "--serial %s: cannot open: %s", spec,
                     strerror(errno));
            return ret;
        }
        ret = chardev_open_fds(c, fd, -1);
        c->own_out_fd = true;
        return ret;
    }
    snprintf(err, errlen,
             "--serial %s: expected 'stdio' or 'file:PATH'", spec);
    return -EINVAL;
}

void chardev_flush(struct chardev *c)
{
    size_t done = 0;

    while (done < c->out_len && c->out_fd >= 0 && !c->out_failed) {
        ssize_t n = write(c->out_fd, c->out_buf + done, c->out_len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            c->out_failed = true; /* e.g. EPIPE: the reader went away */
            break;
        }
        done += (size_t)n;
    }
    c->out_len = 0;
}

void chardev_putc(struct chardev *c, uint8_t byte)
{
    c->bytes_out++;
    c->out_buf[c->out_len++] = byte;
    if (byte == '\n' || c->out_len == CHARDEV_OUT_BUF)
        chardev_flush(c);
}

bool chardev_getc(struct chardev *c, uint8_t *byte)
{
    return input_ring_pop(&c->in, byte);
}

bool chardev_input_pending(struct chardev *c)
{
    return input_ring_count(&c->in) != 0;
}

void chardev_set_input_notify(struct chardev *c, void (*fn)(void *),
                              void *opaque)
{
    /* Once this returns, the old function is not running nor called. */
    pthread_mutex_lock(&c->notify_lock);
    c->notify = fn;
    c->notify_opaque = opaque;
    pthread_mutex_unlock(&c->notify_lock);
}

bool chardev_input_ended(struct chardev *c)
{
    return __atomic_load_n(&c->input_ended, __ATOMIC_ACQUIRE);
}

void chardev_close(struct chardev *c)
{
    chardev_flush(c);
    input_ring_close(&c->in);
    if (c->reader_running) {
        ssize_t n;
        do
            n = write(c->stop_pipe[1], "", 1);
        while (n < 0 && errno == EINTR);
        pthread_join(c->reader, NULL);
        c->reader_running = false;
    }
    for (int i = 0; i < 2; i++)
        if (c->stop_pipe[i] >= 0)
            close(c->stop_pipe[i]);
    c->stop_pipe[0] = c->stop_pipe[1] = -1;
    if (c->own_out_fd && c->out_fd >= 0)
        close(c->out_fd);
    c->out_fd = -1;
    pthread_mutex_destroy(&c->notify_lock);
    input_ring_destroy(&c->in);
}

void chardev_set_quit(struct chardev *c, void (*fn)(void *), void *opaque)
{
    pthread_mutex_lock(&c->notify_lock);
    c->quit = fn;
    c->quit_opaque = opaque;
    pthread_mutex_unlock(&c->notify_lock);
}
