/* Runs a case under tpvm: one struct bt reused for all cases, the case's
 * code written to its slot and invalidated with bt_invalidate_phys, the
 * registers and EFLAGS set, then bt_run until the final hlt or a fault. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bt/bt.h"
#include "tests/common/strict_host.h"
#include "tests/diff/run_tpvm.h"

struct tpvm_runner {
    struct cpu *cpu;
    struct bt *bt;
    struct strict_host sh; /* the device-less machine */
    uint8_t *ram;
    bool direct;
};

void tpr_install_fault_handler(void)
{
    strict_host_install_segv("diff-unicorn");
}

struct tpvm_runner *tpr_create(bool direct, FILE *trace)
{
    struct tpvm_runner *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->direct = direct;
    if (direct) {
        t->cpu = bt_cpu_alloc(RAM_SIZE);
        if (!t->cpu)
            goto fail;
        bt_cpu_reset_flat(t->cpu);
        t->ram = t->cpu->ram;
    } else {
        t->cpu = aligned_alloc(64, (sizeof *t->cpu + 63) & ~(size_t)63);
        t->ram = aligned_alloc(4096, RAM_SIZE);
        if (!t->cpu || !t->ram)
            goto fail;
        memset(t->cpu, 0, sizeof *t->cpu);
        memset(t->ram, 0, RAM_SIZE);
        bt_cpu_init_flat(t->cpu, t->ram, RAM_SIZE);
    }
    strict_host_init(&t->sh);
    struct bt_config cfg = {.trace = trace};
    t->bt = bt_create(&cfg);
    bt_attach(t->bt, t->cpu, &t->sh.host);
    return t;
fail:
    tpr_destroy(t);
    return NULL;
}

void tpr_destroy(struct tpvm_runner *t)
{
    if (!t)
        return;
    if (t->bt)
        bt_destroy(t->bt);
    if (t->direct) {
        bt_cpu_free(t->cpu);
    } else {
        free(t->cpu);
        free(t->ram);
    }
    free(t);
}

uint8_t *tpr_ram(struct tpvm_runner *t)
{
    return t->ram;
}

void tpr_print_stats(const struct tpvm_runner *t, FILE *f)
{
    const struct bt_stats *st = bt_get_stats(t->bt);
    fprintf(f, "# %s: %llu blocks and %llu instructions translated, %llu helper calls, "
               "%llu guest exceptions, %llu frame regions (%llu replayed, "
               "%llu around self-loops)\n",
            tpr_name(t), (unsigned long long)st->blocks_translated,
            (unsigned long long)st->insns_translated, (unsigned long long)st->helper_calls,
            (unsigned long long)st->exceptions, (unsigned long long)st->frame_regions,
            (unsigned long long)st->region_fallbacks, (unsigned long long)st->loop_regions);
}

void tpr_request_exit(struct tpvm_runner *t)
{
    bt_request_exit(t->cpu);
}

const char *tpr_name(const struct tpvm_runner *t)
{
    return t->direct ? "tpvm (direct RAM)" : "tpvm (soft TLB)";
}

void tpr_run(struct tpvm_runner *t, const struct dcase *c, struct outcome *out)
{
    struct cpu *cpu = t->cpu;
    /* the host just rewrote the slot: the translator must forget it */
    bt_invalidate_phys(t->bt, c->code_addr, (uint32_t)c->code_len + 1);

    memcpy(cpu->regs, c->regs, sizeof cpu->regs);
    cpu->eip = c->code_addr;
    cpu->eflags = c->eflags;
    cpu->df = (c->eflags & FL_DF) ? 1 : 0; /* bt/cpu.h: DF as 0/1 */
    cpu->run = 1;
    cpu->exc_vector = -1;
    t->sh.unexpected = 0;

    int r = bt_run(cpu);

    memcpy(out->regs, cpu->regs, sizeof out->regs);
    out->eflags = cpu->eflags;
    out->eip = cpu->eip;
    out->vector = -1;
    out->note[0] = 0;
    switch (r) {
    case BT_EXIT_HLT:
        out->kind = OUT_HLT;
        break;
    case BT_EXIT_SHUTDOWN:
        /* The test CPU has no IDT (bt_cpu_init_flat), so a fault is
         * delivered into a triple fault, as on hardware; cpu->exc_* keep
         * the first fault and the state is that before the instruction. */
    case BT_EXIT_EXCEPTION:
        out->kind = OUT_EXCEPTION;
        out->vector = cpu->exc_vector;
        out->eip = cpu->exc_eip;
        if (cpu->eip != cpu->exc_eip) {
            out->kind = OUT_OTHER;
            snprintf(out->note, sizeof out->note,
                     "exception %d: cpu->eip %#x but exc_eip %#x", cpu->exc_vector,
                     cpu->eip, cpu->exc_eip);
        }
        break;
    default:
        out->kind = OUT_OTHER;
        snprintf(out->note, sizeof out->note, "bt_run returned %d (vector %d)", r,
                 cpu->exc_vector);
        break;
    }
    if (t->sh.unexpected) {
        out->kind = OUT_OTHER;
        snprintf(out->note, sizeof out->note, "%u unexpected I/O or MMIO accesses",
                 t->sh.unexpected);
    }
}
