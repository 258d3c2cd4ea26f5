/* The device-less host of the instruction tests (strict_host.h). */
#include "tests/common/strict_host.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

static uint32_t io_in(void *opaque, uint16_t port, unsigned size)
{
    (void)port, (void)size;
    ((struct strict_host *)opaque)->unexpected++;
    return 0xffffffffu;
}

static void io_out(void *opaque, uint16_t port, unsigned size, uint32_t val)
{
    (void)port, (void)size, (void)val;
    ((struct strict_host *)opaque)->unexpected++;
}

static uint32_t mmio_read(void *opaque, uint32_t gpa, unsigned size)
{
    (void)gpa, (void)size;
    ((struct strict_host *)opaque)->unexpected++;
    return 0xffffffffu;
}

static void mmio_write(void *opaque, uint32_t gpa, unsigned size, uint32_t val)
{
    (void)gpa, (void)size, (void)val;
    ((struct strict_host *)opaque)->unexpected++;
}

void strict_host_init(struct strict_host *s)
{
    s->unexpected = 0;
    s->host = (struct bt_host){
        .opaque = s, .io_in = io_in, .io_out = io_out,
        .mmio_read = mmio_read, .mmio_write = mmio_write,
    };
}

/* The program name for the message; set once, before the handler. */
static const char *segv_prog = "test";

static void on_segv(int sig, siginfo_t *info, void *uctx)
{
    if (bt_handle_segv(info->si_addr, uctx))
        return;
    static const char msg[] = ": SIGSEGV not claimed by the translator\n";
    ssize_t r = write(2, segv_prog, strlen(segv_prog));
    r = write(2, msg, sizeof msg - 1);
    (void)r;
    signal(sig, SIG_DFL); /* returning re-faults and dumps core */
}

void strict_host_install_segv(const char *prog)
{
    struct sigaction sa;
    segv_prog = prog;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);
}
