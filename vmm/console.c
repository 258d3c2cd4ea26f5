/* Host terminal handling for --serial stdio (see console.h). */
#include "vmm/console.h"

#include <signal.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

/* The process has one controlling terminal; its saved state must be
 * reachable from atexit and signal handlers, hence file scope. */
static struct termios saved;
static int saved_fd = -1;

void console_restore(void)
{
    if (saved_fd >= 0) {
        tcsetattr(saved_fd, TCSANOW, &saved);
        saved_fd = -1;
    }
}

static void on_signal(int sig)
{
    console_restore();
    signal(sig, SIG_DFL);
    raise(sig);
}

bool console_raw_enter(int fd)
{
    if (!isatty(fd) || tcgetattr(fd, &saved) < 0)
        return false;
    struct termios raw = saved;
    cfmakeraw(&raw);
    raw.c_oflag |= OPOST; /* as QEMU: output keeps its newline mapping */
    if (tcsetattr(fd, TCSANOW, &raw) < 0)
        return false;
    saved_fd = fd;
    atexit(console_restore);
    /* SIGINT no longer comes from the keyboard, but from kill it may */
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);
    signal(SIGINT, on_signal);
    return true;
}

size_t console_filter(struct console_escape *e, uint8_t *buf, size_t n,
                      bool *quit)
{
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t b = buf[i];
        if (e->pending) {
            e->pending = false;
            if (b == 'x' || b == 'X') {
                *quit = true;
                return out;
            }
            if (b == 0x01)
                buf[out++] = 0x01; /* Ctrl-A Ctrl-A: a literal Ctrl-A */
            /* other escapes are ignored, as unknown ones are in QEMU */
            continue;
        }
        if (b == 0x01) {
            e->pending = true;
            continue;
        }
        buf[out++] = b;
    }
    return out;
}
