/* Host crash reports: on a fatal signal, print the signal and a libunwind
 * backtrace of tpvm itself, then exit 6. Only async-signal-safe calls
 * (write, _exit) plus libunwind's local unwinder, which is designed for
 * use in signal handlers. */
#include "vmm/crash.h"

#include "bt/bt.h"
#include "vmm/console.h"

#define UNW_LOCAL_ONLY
#include <errno.h>
#include <libunwind.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/exit_status.h"

#define CRASH_MAX_FRAMES 64

static const int fatal_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };

/* A line assembled without stdio (not async-signal-safe). */
struct line {
    char buf[320];
    size_t len;
};

static void put_str(struct line *l, const char *s)
{
    while (*s && l->len < sizeof(l->buf) - 1)
        l->buf[l->len++] = *s++;
}

static void put_num(struct line *l, uint64_t v, unsigned base)
{
    char tmp[24];
    int n = 0;

    do {
        tmp[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    if (base == 16)
        put_str(l, "0x");
    while (n > 0 && l->len < sizeof(l->buf) - 1)
        l->buf[l->len++] = tmp[--n];
}

static void flush_line(struct line *l)
{
    size_t done = 0;

    l->buf[l->len++] = '\n';
    while (done < l->len) {
        ssize_t n = write(STDERR_FILENO, l->buf + done, l->len - done);
        if (n <= 0 && errno != EINTR)
            break;
        if (n > 0)
            done += (size_t)n;
    }
    l->len = 0;
}

static const char *signal_name(int sig)
{
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGILL: return "SIGILL";
    case SIGFPE: return "SIGFPE";
    case SIGABRT: return "SIGABRT";
    default: return "?";
    }
}

static void print_backtrace(void)
{
    unw_context_t ctx;
    unw_cursor_t cur;
    struct line l = { .len = 0 };

    put_str(&l, "tpvm: host backtrace:");
    flush_line(&l);
    if (unw_getcontext(&ctx) != 0 || unw_init_local(&cur, &ctx) != 0) {
        put_str(&l, "  (libunwind cannot start)");
        flush_line(&l);
        return;
    }
    /* The first frame is this handler; the walk passes through the
     * kernel's signal frame into the code that faulted. */
    for (int n = 0; n < CRASH_MAX_FRAMES && unw_step(&cur) > 0; n++) {
        unw_word_t ip = 0, off = 0;
        char name[192];

        unw_get_reg(&cur, UNW_REG_IP, &ip);
        put_str(&l, "  #");
        put_num(&l, (uint64_t)n, 10);
        put_str(&l, " ");
        put_num(&l, ip, 16);
        if (unw_get_proc_name(&cur, name, sizeof(name), &off) == 0) {
            put_str(&l, " ");
            put_str(&l, name);
            put_str(&l, "+");
            put_num(&l, off, 16);
        } else {
            put_str(&l, " ?");
        }
        flush_line(&l);
    }
}

static void crash_handler(int sig, siginfo_t *si, void *uctx)
{
    struct line l = { .len = 0 };

    /* Guest accesses beyond RAM or onto translated code pages arrive
     * here first; the translator resolves them. */
    if (sig == SIGSEGV && bt_handle_segv(si->si_addr, uctx))
        return;
    static volatile sig_atomic_t in_report;
    if (in_report)
        _exit(TPVM_EXIT_INTERNAL);
    in_report = 1;
    console_restore();
    put_str(&l, "tpvm: fatal signal ");
    put_num(&l, (uint64_t)sig, 10);
    put_str(&l, " (");
    put_str(&l, signal_name(sig));
    put_str(&l, ")");
    if (sig == SIGSEGV || sig == SIGBUS) {
        put_str(&l, " at address ");
        put_num(&l, (uint64_t)(uintptr_t)si->si_addr, 16);
    }
    put_str(&l, ": this is a bug in tpvm");
    flush_line(&l);
    print_backtrace();
    _exit(TPVM_EXIT_INTERNAL);
}

int crash_install(void)
{
    stack_t ss = { .ss_size = 64 * 1024 };
    struct sigaction sa;

    /* Mapped for the whole process: the handler may run at any time. */
    ss.ss_sp = mmap(NULL, ss.ss_size, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (ss.ss_sp == MAP_FAILED)
        return -ENOMEM;
    if (sigaltstack(&ss, NULL) < 0)
        return -errno;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = crash_handler;
    /* No SA_RESETHAND: guest faults resolved by the translator arrive here
     * again and again; a fault inside the report itself is caught by the
     * in_report flag instead. */
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigfillset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]);
         i++)
        if (sigaction(fatal_signals[i], &sa, NULL) < 0)
            return -errno;
    return 0;
}
