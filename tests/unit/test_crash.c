/* Unit tests for vmm/crash.c: fatal host signals give a report and exit 6. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vmm/crash.h"
#include "vmm/exit_status.h"

/* noinline + a named frame, so the backtrace has something to show. */
__attribute__((noinline)) static void crash_here_on_purpose(int sig)
{
    if (sig == SIGSEGV) {
        volatile int *volatile p = NULL;
        *p = 1;
    } else if (sig == SIGABRT) {
        abort();
    } else {
        raise(sig);
    }
}

/* Runs a child that installs the handler and dies by sig; returns its
 * exit status and its stderr in buf. */
static int run_crashing_child(int sig, char *buf, size_t len)
{
    int pfd[2], status;
    size_t got = 0;
    ssize_t n;

    assert_int_equal(pipe(pfd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(pfd[1], STDERR_FILENO);
        close(pfd[0]);
        if (crash_install() != 0)
            _exit(99);
        crash_here_on_purpose(sig);
        _exit(98);
    }
    close(pfd[1]);
    while (got < len - 1 && (n = read(pfd[0], buf + got, len - 1 - got)) > 0)
        got += (size_t)n;
    buf[got] = 0;
    close(pfd[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void segv_prints_signal_and_backtrace_and_exits_6(void **state)
{
    static char out[8192];
    (void)state;
    assert_int_equal(run_crashing_child(SIGSEGV, out, sizeof(out)),
                     TPVM_EXIT_INTERNAL);
    assert_non_null(strstr(out, "tpvm: fatal signal 11 (SIGSEGV) at address 0x0"));
    assert_non_null(strstr(out, "tpvm: host backtrace:"));
    assert_non_null(strstr(out, "  #0 0x"));
    /* The unwinder walked through the signal frame into our code. */
    assert_non_null(strstr(out, "crash_here_on_purpose+0x"));
}

static void abort_is_reported_too(void **state)
{
    static char out[8192];
    (void)state;
    assert_int_equal(run_crashing_child(SIGABRT, out, sizeof(out)),
                     TPVM_EXIT_INTERNAL);
    assert_non_null(strstr(out, "tpvm: fatal signal 6 (SIGABRT)"));
}

static void bus_ill_fpe_are_reported(void **state)
{
    static char out[8192];
    const int sigs[] = { SIGBUS, SIGILL, SIGFPE };
    (void)state;
    for (size_t i = 0; i < 3; i++) {
        char want[64];
        assert_int_equal(run_crashing_child(sigs[i], out, sizeof(out)),
                         TPVM_EXIT_INTERNAL);
        snprintf(want, sizeof(want), "tpvm: fatal signal %d (", sigs[i]);
        assert_non_null(strstr(out, want));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(segv_prints_signal_and_backtrace_and_exits_6),
        cmocka_unit_test(abort_is_reported_too),
        cmocka_unit_test(bus_ill_fpe_are_reported),
    };
    return cmocka_run_group_tests_name("crash", tests, NULL, NULL);
}
