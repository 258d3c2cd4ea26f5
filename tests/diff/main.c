/* diff-unicorn: the differential instruction test. Generates cases (fixed
 * seed), runs each in Unicorn and under tpvm's translator, and compares
 * registers, EIP, EFLAGS and memory. Prints TAP per instruction group and
 * a final "N passed, N failed" line; exits nonzero on any mismatch.
 *
 *   diff-unicorn              compare tpvm with Unicorn
 *   diff-unicorn --self-check check the Unicorn side alone (known answers,
 *                             every case run twice, accesses bounded)
 * Environment: TPVM_SEED (default 1), TPVM_DIFF_CASES (default 200000),
 * TPVM_DIFF_ONLY=<case> (run one case, print it), TPVM_DIFF_SHOW (how many
 * mismatches to print in full, default 5), TPVM_DIFF_TRACE=1 (translator
 * trace on stderr), TPVM_DIFF_LAYOUT=direct|tlb|both (default both),
 * TPVM_DIFF_LIST=1 (print every case's code). */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/diff/compare.h"
#include "tests/diff/gen.h"
#include "tests/diff/known_answers.h"
#include "tests/diff/model.h"
#include "tests/diff/oracle_unicorn.h"
#include "tests/diff/run_tpvm.h"
#include "tests/diff/templates.h"

#define MAX_MODELS 3

struct options {
    uint64_t seed;
    uint64_t cases;
    int64_t only;       /* -1: all */
    unsigned show;
    bool self_check;
    bool trace;
    bool list;          /* print every case's code */
    bool direct, tlb;
};

struct group_count {
    uint64_t cases, failed;
};

/* Notices a case that never finishes and says which one it was. */
struct watchdog {
    atomic_uint_fast64_t heartbeat;
    atomic_uint_fast64_t current_case;
    _Atomic(struct tpvm_runner *) current_tpvm;
    atomic_bool stop;
    pthread_t thread;
};

static uint64_t env_u64(const char *name, uint64_t def)
{
    const char *s = getenv(name);
    return s && *s ? strtoull(s, NULL, 0) : def;
}

static void parse_options(int argc, char **argv, struct options *o)
{
    o->seed = env_u64("TPVM_SEED", 1);
    o->cases = env_u64("TPVM_DIFF_CASES", 200000);
    const char *only = getenv("TPVM_DIFF_ONLY");
    o->only = only && *only ? (int64_t)strtoll(only, NULL, 0) : -1;
    o->show = (unsigned)env_u64("TPVM_DIFF_SHOW", 5);
    o->trace = env_u64("TPVM_DIFF_TRACE", 0) != 0;
    o->list = env_u64("TPVM_DIFF_LIST", 0) != 0;
    const char *layout = getenv("TPVM_DIFF_LAYOUT");
    o->direct = !layout || !strcmp(layout, "both") || !strcmp(layout, "direct");
    o->tlb = !layout || !strcmp(layout, "both") || !strcmp(layout, "tlb");
    o->self_check = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--self-check")) {
            o->self_check = true;
        } else {
            fprintf(stderr,
                    "usage: %s [--self-check]\n"
                    "  env: TPVM_SEED TPVM_DIFF_CASES TPVM_DIFF_ONLY TPVM_DIFF_SHOW\n"
                    "       TPVM_DIFF_TRACE TPVM_DIFF_LAYOUT=direct|tlb|both TPVM_DIFF_LIST\n",
                    argv[0]);
            exit(2);
        }
    }
}

static void *watchdog_main(void *arg)
{
    struct watchdog *w = arg;
    uint64_t last = UINT64_MAX;
    unsigned still = 0;
    while (!atomic_load(&w->stop)) {
        sleep(1);
        uint64_t beat = atomic_load(&w->heartbeat);
        if (beat != last) {
            last = beat;
            still = 0;
            continue;
        }
        still++;
        if (still == 20) {
            fprintf(stderr, "# case %" PRIu64 " has run for 20 s: asking tpvm to stop\n",
                    (uint64_t)atomic_load(&w->current_case));
            struct tpvm_runner *t = atomic_load(&w->current_tpvm);
            if (t)
                tpr_request_exit(t);
        } else if (still == 30) {
            fprintf(stderr, "# case %" PRIu64 " hangs; giving up\n",
                    (uint64_t)atomic_load(&w->current_case));
            _exit(3);
        }
    }
    return NULL;
}

static void run_unicorn(void *impl, const struct dcase *c, struct outcome *out)
{
    uco_run(impl, c, out);
}

static void run_tpvm(void *impl, const struct dcase *c, struct outcome *out)
{
    tpr_run(impl, c, out);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *outcome_name(int kind)
{
    return kind == OUT_HLT ? "hlt" : kind == OUT_EXCEPTION ? "exception" : "error";
}

/* The generator meant a case to end at the hlt or with #DE; Unicorn must
 * agree, or the case (not tpvm) is wrong. */
static bool meets_intent(const struct dcase *c, const struct outcome *o)
{
    if (c->expect == EXPECT_DE)
        return o->kind == OUT_EXCEPTION && o->vector == 0;
    return o->kind == OUT_HLT;
}

struct run {
    struct options opt;
    struct gen_ctx gen;
    struct model models[MAX_MODELS]; /* [0] is the reference */
    unsigned n_models;
    struct reporter *rep;
    struct group_count groups[64];
    uint64_t passed, failed;
    unsigned shown;
    struct watchdog wd;
    uint8_t *snapshot; /* self-check: DATA+STACK after the first run */
};

static void show(struct run *r, const struct dcase *c, const struct side *a,
                 const struct side *b, const struct diff *d, const char *why)
{
    if (r->shown++ < r->opt.show || r->opt.only >= 0)
        report_mismatch(r->rep, c, diff_groups[c->group].name, a, b, d, why);
}

/* One generated case through every model; false if anything differs. */
static bool run_case(struct run *r, uint64_t index)
{
    struct dcase c;
    uint32_t slot = (uint32_t)(index % N_SLOTS);
    gen_case(&r->gen, index, CODE_BASE + slot * SLOT_SIZE, &c);
    atomic_store(&r->wd.current_case, index);
    if (r->opt.list) {
        printf("# case %" PRIu64 " (group %s)\n", index, diff_groups[c.group].name);
        report_code(r->rep, &c);
    }

    struct outcome ref;
    const struct model *m0 = &r->models[0];
    model_run(m0, &c, &ref);
    struct side a = {m0->name, &ref, m0->ram};
    bool ok = true;
    struct diff d;
    if (ref.kind == OUT_OTHER || !meets_intent(&c, &ref)) {
        memset(&d, 0, sizeof d);
        d.note = true;
        char why[96];
        snprintf(why, sizeof why, "reference ended with %s, generator meant %s",
                 outcome_name(ref.kind), c.expect == EXPECT_DE ? "#DE" : "hlt");
        show(r, &c, &a, &a, &d, why);
        ok = false;
    }

    if (r->opt.self_check) {
        /* the same case again from scratch must give the same result */
        memcpy(r->snapshot, m0->ram + DATA_BASE, DATA_SIZE);
        memcpy(r->snapshot + DATA_SIZE, m0->ram + STACK_BASE, STACK_SIZE);
        struct outcome again;
        model_run(m0, &c, &again);
        uint8_t *ram2 = m0->ram; /* compare against the snapshot */
        struct side b = {"unicorn again", &again, ram2};
        bool same = memcmp(r->snapshot, ram2 + DATA_BASE, DATA_SIZE) == 0 &&
                    memcmp(r->snapshot + DATA_SIZE, ram2 + STACK_BASE, STACK_SIZE) == 0;
        struct diff d2;
        if (!compare_outcomes(&c, &a, &b, &d2) || !same) {
            if (!same)
                d2.mem_bytes = 1;
            show(r, &c, &a, &b, &d2, "unicorn disagrees with itself");
            ok = false;
        }
    }

    for (unsigned i = 1; i < r->n_models; i++) {
        const struct model *m = &r->models[i];
        struct outcome out;
        atomic_store(&r->wd.current_tpvm, m->impl);
        model_run(m, &c, &out);
        atomic_store(&r->wd.current_tpvm, NULL);
        struct side b = {m->name, &out, m->ram};
        if (!compare_outcomes(&c, &a, &b, &d)) {
            show(r, &c, &a, &b, &d, "mismatch");
            ok = false;
        }
    }
    atomic_fetch_add(&r->wd.heartbeat, 1);
    if (r->opt.only >= 0 && ok) {
        fprintf(stdout, "# case %" PRIu64 " (group %s) agrees:\n", index,
                diff_groups[c.group].name);
        report_code(r->rep, &c);
    }
    struct group_count *g = &r->groups[c.group];
    g->cases++;
    if (ok)
        r->passed++;
    else
        g->failed++, r->failed++;
    return ok;
}

static int setup_models(struct run *r)
{
    uint8_t *uc_ram = aligned_alloc(4096, RAM_SIZE);
    if (!uc_ram)
        return -1;
    memset(uc_ram, 0, RAM_SIZE);
    struct uc_oracle *uc = uco_create(uc_ram, r->opt.self_check);
    if (!uc)
        return -1;
    r->models[r->n_models++] = (struct model){"unicorn", uc_ram, uc, run_unicorn};
    if (r->opt.self_check)
        return 0;
    tpr_install_fault_handler();
    FILE *trace = r->opt.trace ? stderr : NULL;
    if (r->opt.direct) {
        struct tpvm_runner *t = tpr_create(true, trace);
        if (!t)
            return -1;
        r->models[r->n_models++] = (struct model){tpr_name(t), tpr_ram(t), t, run_tpvm};
    }
    if (r->opt.tlb) {
        struct tpvm_runner *t = tpr_create(false, trace);
        if (!t)
            return -1;
        r->models[r->n_models++] = (struct model){tpr_name(t), tpr_ram(t), t, run_tpvm};
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct run *r = calloc(1, sizeof *r);
    if (!r)
        return 2;
    if (diff_n_groups > sizeof r->groups / sizeof r->groups[0]) {
        fprintf(stderr, "diff-unicorn: too many groups\n");
        return 2;
    }
    parse_options(argc, argv, &r->opt);
    setvbuf(stdout, NULL, _IOLBF, 0);
    gen_init(&r->gen, r->opt.seed);
    r->rep = reporter_create(stdout, r->opt.seed);
    r->snapshot = malloc(DATA_SIZE + STACK_SIZE);
    if (!r->rep || !r->snapshot || setup_models(r) < 0) {
        fprintf(stderr, "diff-unicorn: setup failed\n");
        return 2;
    }
    pthread_create(&r->wd.thread, NULL, watchdog_main, &r->wd);

    printf("TAP version 13\n");
    unsigned n_tests = r->n_models + (r->opt.only >= 0 ? 0 : diff_n_groups);
    printf("1..%u\n", n_tests);
    printf("# seed %" PRIu64 ", %s, models:", r->opt.seed,
           r->opt.self_check ? "self-check of the Unicorn side" : "tpvm against Unicorn");
    for (unsigned i = 0; i < r->n_models; i++)
        printf(" [%s]", r->models[i].name);
    printf("\n");

    unsigned t = 0;
    for (unsigned i = 0; i < r->n_models; i++) {
        int bad = run_known_answers(&r->models[i], stdout);
        printf("%s %u - known answers on %s: %u cases%s\n", bad ? "not ok" : "ok", ++t,
               r->models[i].name, known_answer_count(), bad ? ", some wrong" : "");
        r->failed += (uint64_t)bad;
        r->passed += known_answer_count() - (uint64_t)bad;
    }

    double t0 = now();
    if (r->opt.only >= 0) {
        run_case(r, (uint64_t)r->opt.only);
    } else {
        for (uint64_t i = 0; i < r->opt.cases; i++)
            run_case(r, i);
        for (unsigned g = 0; g < diff_n_groups; g++) {
            const struct group_count *gc = &r->groups[g];
            if (gc->failed)
                printf("not ok %u - %s: %" PRIu64 " of %" PRIu64 " cases differ\n", ++t,
                       diff_groups[g].name, gc->failed, gc->cases);
            else
                printf("ok %u - %s: %" PRIu64 " cases\n", ++t, diff_groups[g].name,
                       gc->cases);
        }
    }
    double secs = now() - t0;
    for (unsigned i = 1; i < r->n_models; i++)
        tpr_print_stats(r->models[i].impl, stdout);
    if (r->shown > r->opt.show && r->opt.only < 0)
        printf("# %u more mismatches not shown (TPVM_DIFF_SHOW)\n", r->shown - r->opt.show);
    printf("# %.1f s for %" PRIu64 " generated cases\n", secs,
           r->opt.only >= 0 ? 1 : r->opt.cases);
    printf("%" PRIu64 " passed, %" PRIu64 " failed\n", r->passed, r->failed);

    atomic_store(&r->wd.stop, true);
    pthread_join(r->wd.thread, NULL);
    return r->failed ? 1 : 0;
}
