/* systest: the system test kernel. Runs every check of checks.inc in
 * order, each from the same baseline machine state and under a guard, and
 * reports them as TAP on COM1; exits with code 0 only if all passed. */
#include "systest.h"

#define CHECK(fn, name) void fn(struct result *r);
#include "checks.inc"
#undef CHECK

struct check {
    void (*run)(struct result *r);
    const char *name;
};

static const struct check checks[] = {
#define CHECK(fn, name) {fn, name},
#include "checks.inc"
#undef CHECK
};

#define N_CHECKS (sizeof(checks) / sizeof(checks[0]))

static uint32_t boot_cr0;

void fail(struct result *r, const char *fmt, ...)
{
    if (r->failed)
        return;
    r->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
    va_end(ap);
}

bool expect_eq(struct result *r, const char *what, uint32_t got, uint32_t want)
{
    if (got == want)
        return true;
    fail(r, "%s: got 0x%x, want 0x%x", what, got, want);
    return false;
}

static const char *const vector_names[32] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
    "#DF", "CSO", "#TS", "#NP", "#SS", "#GP", "#PF", "v15",
    "#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "v22", "v23",
    "v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31",
};

/* "#GP", "no exception" or "vector 0x80" into buf[16]. */
static void describe_vector(char buf[16], int vector)
{
    if (vector == NO_TRAP)
        snprintf(buf, 16, "no exception");
    else if (vector >= 0 && vector < 32)
        snprintf(buf, 16, "%s", vector_names[vector]);
    else
        snprintf(buf, 16, "vector 0x%x", (unsigned)vector);
}

bool expect_trap(struct result *r, int got, const struct trap_info *t,
                 int vector, uint32_t error, uint32_t eip)
{
    char got_name[16], want_name[16];

    describe_vector(got_name, got);
    describe_vector(want_name, vector);
    if (got != vector) {
        if (got == NO_TRAP)
            fail(r, "got no exception, want %s", want_name);
        else
            fail(r, "got %s(0x%x) at 0x%x, want %s", got_name, t->error,
                 t->eip, want_name);
        return false;
    }
    if (error != NO_ERROR && t->error != error) {
        fail(r, "%s error code 0x%x, want 0x%x", got_name, t->error, error);
        return false;
    }
    if (eip && t->eip != eip) {
        fail(r, "%s at EIP 0x%x, want 0x%x", got_name, t->eip, eip);
        return false;
    }
    return true;
}

bool expect_no_trap(struct result *r, int got, const struct trap_info *t)
{
    return expect_trap(r, got, t, NO_TRAP, NO_ERROR, 0);
}

/* The state every check starts from: flat ring-0 segments, our tables,
 * paging off, FPU initialised and usable, every IRQ masked, no debug
 * breakpoints, the console UART as the runtime set it up. EFLAGS comes
 * back through the guard. */
static void baseline(void)
{
    cli();
    desc_init(); /* first: from here on a fault reaches our handler */
    write_cr0(boot_cr0 & ~CR0_PG);
    write_cr4(0);
    __asm__ volatile("mov %0, %%dr7" : : "r"(0));
    __asm__ volatile("mov %0, %%dr6" : : "r"(DR6_CLEAR));
    paging_build();
    pic_init(0xff, 0xff);
    rtc_periodic(false);
    irq_no_eoi = 0;
    resume_vector = -1;
    resume_fixup = 0;
    trap_budget = TRAP_BUDGET;
    serial_init();
    __asm__ volatile("clts; fninit");
}

static void run_check(void *arg)
{
    const struct check *c = ((const struct check **)arg)[0];
    struct result *r = ((struct result **)arg)[1];
    c->run(r);
}

int guest_main(uint32_t magic, struct multiboot_info *mbi)
{
    unsigned failed = 0;

    (void)magic;
    (void)mbi;
    /* Multiboot hands over with PE (and ET) set; keep no other bit. */
    boot_cr0 = (read_cr0() & (CR0_PE | CR0_ET)) | CR0_PE;
    /* The plan first: if setting up the baseline fails, the "Bail out!"
     * from the trap handler still follows a valid TAP header. */
    printf("TAP version 13\n1..%u\n", (unsigned)N_CHECKS);
    for (unsigned i = 0; i < N_CHECKS; i++) {
        struct result r = {0};
        struct trap_info t = {0};
        const void *arg[2] = {&checks[i], &r};

        baseline();
        int v = guarded(run_check, (void *)arg, &t);
        baseline();
        if (v != NO_TRAP) {
            char name[16];
            describe_vector(name, v);
            fail(&r, "unexpected %s(0x%x) at %x:%x, CR2 0x%x", name,
                 t.error, t.cs, t.eip, t.cr2);
        }
        if (r.failed) {
            failed++;
            printf("not ok %u - %s # %s\n", i + 1, checks[i].name, r.detail);
        } else {
            printf("ok %u - %s\n", i + 1, checks[i].name);
        }
    }
    printf("# %u of %u checks failed\n", failed, (unsigned)N_CHECKS);
    return failed ? 1 : 0;
}
