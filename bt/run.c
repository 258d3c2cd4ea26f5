/* The translator's run loop: find or translate the block at EIP, enter
 * translated code, and on its way back chain the exit it took, fill the
 * branch cache, or return to the monitor. Exceptions and other exits
 * raised from C leave through one longjmp to here. */
#include <stdlib.h>
#include <sys/mman.h>
#include <x86intrin.h>
#include <string.h>
#include <time.h>

#include <Zydis/Zydis.h>

#include "bt/cpu_sys.h"
#include "bt/internal.h"
#include "bt/xlate.h"

typedef int (*enter_fn)(struct cpu *cpu, void *code);

static uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct bt *bt_create(const struct bt_config *cfg)
{
    struct bt *bt = calloc(1, sizeof *bt);
    ZydisDecoder *dec = calloc(1, sizeof *dec);
    bt->tctx = calloc(1, sizeof *bt->tctx);
    if (!bt || !dec || !bt->tctx) {
        fprintf(stderr, "tpvm: out of memory\n");
        exit(6);
    }
    if (cfg)
        bt->cfg = *cfg;
    bt->start_tsc = __rdtsc();
    bt->start_ns = monotonic_ns();
    const char *th = getenv("TPVM_TRACE_HOST");
    bt->trace_host = bt->cfg.trace && th && *th == '1';
    ZydisDecoderInit(dec, ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32);
    bt->decoder = dec;
    cache_init(bt);
    runtime_emit(bt);
    if (bt->cfg.prefault)
        prefault_start(bt);
    registry_add(bt);
    return bt;
}

void bt_destroy(struct bt *bt)
{
    if (!bt)
        return;
    registry_remove(bt);
    prefault_stop(bt);
    free(bt->as_slots);
    free(bt->sites);
    if (bt->blocks)
        munmap(bt->blocks, bt->blocks_bytes);
    free(bt->hash);
    free(bt->page_blocks);
    free(bt->page_has_code);
    free(bt->page_wmapped);
    free(bt->tctx);
    free(bt->decoder);
    free(bt);
}

void bt_cpu_reset_flat(struct cpu *cpu)
{
    bt_cpu_init_flat(cpu, cpu->ram, cpu->ram_size);
}

void bt_cpu_init_flat(struct cpu *cpu, uint8_t *ram, uint32_t ram_size)
{
    const struct bt_host *host = cpu->host;
    struct bt *bt = cpu->bt;
    bool direct = cpu->ram_direct && ram == cpu->ram;
    memset(cpu, 0, sizeof *cpu);
    cpu->host = host;
    cpu->bt = bt;
    cpu->ram = ram;
    cpu->ram_size = ram_size;
    cpu->ram_direct = direct;
    cpu->run = 1;
    cpu->eflags = 2;
    cpu->cr0 = CR0_PE | CR0_ET;
    cpu->a20_mask = 0xffffffffu;
    cpu->exc_vector = -1;
    fpu_reset(cpu);
    for (int s = 0; s < S_LDTR; s++) {
        cpu->seg[s].base = 0;
        cpu->seg[s].limit = 0xffffffffu;
        /* present, S=1, DPL 0, G=1, D/B=1; code for CS, data otherwise */
        cpu->seg[s].attr = (s == S_CS ? 0x9b : 0x93) | 0xc000;
        cpu->seg[s].sel = s == S_CS ? 0x10 : 0x18;
    }
    cpu->seg[S_LDTR].attr = 0x82;
    cpu->seg[S_TR].attr = 0x8b;
    for (int u = 0; u < 2; u++)
        for (unsigned i = 0; i < TLB_SIZE; i++)
            cpu->tlb[u].rtag[i] = cpu->tlb[u].wtag[i] = (int32_t)TLB_TAG_INVALID;
    cache_jc_init(cpu);
}

void bt_attach(struct bt *bt, struct cpu *cpu, const struct bt_host *host)
{
    bt->cpu = cpu;
    cpu->bt = bt;
    cpu->host = host;
    bt->n_pages = (cpu->ram_size + 0xfffu) >> 12;
    free(bt->page_blocks);
    free(bt->page_has_code);
    free(bt->page_wmapped);
    bt->page_blocks = calloc(bt->n_pages ? bt->n_pages : 1, sizeof *bt->page_blocks);
    bt->page_has_code = calloc(bt->n_pages ? bt->n_pages : 1, sizeof *bt->page_has_code);
    bt->page_wmapped = calloc(bt->n_pages ? bt->n_pages : 1, sizeof *bt->page_wmapped);
    if (!bt->page_blocks || !bt->page_has_code || !bt->page_wmapped) {
        fprintf(stderr, "tpvm: out of memory\n");
        exit(6);
    }
    cache_flush(bt);
    bt->stats.cache_flushes = 0;
    bt_tlb_flush(cpu);
    bt->stats.tlb_flushes = 0;
}

const struct bt_stats *bt_get_stats(const struct bt *bt)
{
    struct bt *m = (struct bt *)bt;
    if (m->cpu)
        m->stats.helper_calls = m->cpu->n_helper_calls;
    return &bt->stats;
}

void bt_helper_count(struct bt *bt, int kind)
{
    bt->stats.helper_by_kind[kind]++;
}

const char *bt_helper_kind_name(int kind)
{
    static const char *names[] = {
#define X(k) #k,
        BT_HELPER_KINDS(X)
#undef X
    };
    return kind >= 0 && kind < BT_HK_COUNT ? names[kind] : "?";
}

_Noreturn void bt_leave(struct cpu *cpu, int reason)
{
    cpu->exit_reason = reason;
    longjmp(cpu->exit_jmp, 1);
}

_Noreturn void bt_raise(struct cpu *cpu, int vector, uint32_t error,
                        bool has_error)
{
    cpu->exc_vector = vector;
    cpu->exc_error = error;
    cpu->exc_has_error = has_error;
    cpu->exc_soft = false;
    cpu->exc_eip = cpu->eip;
    if (cpu->bt)
        cpu->bt->stats.exceptions++;
    bt_leave(cpu, BT_EXIT_EXCEPTION);
}

_Noreturn void bt_guest_fault(struct cpu *cpu, int vector, uint32_t error,
                              bool has_error)
{
    bt_raise(cpu, vector, error, has_error);
}

/* Physical address of the code at eip, through the TLB when it hits. */
static uint32_t code_phys(struct cpu *cpu, uint32_t eip)
{
    if (!(cpu->cr0 & CR0_PG))
        return eip & cpu->a20_mask;
    int u = cpu->cpl == 3;
    uint32_t page = eip >> 12, idx = page & TLB_MASK;
    if (cpu->tlb[u].rtag[idx] == -(int32_t)page) {
        uint8_t *host = (uint8_t *)(uintptr_t)(cpu->tlb[u].addend[idx] + eip);
        return (uint32_t)(host - cpu->ram);
    }
    return mmu_translate(cpu, eip, ACC_FETCH | ACC_READ | 1);
}

/* The block for cpu->eip in translation mode `mode` (from bt_mode). */
static struct block *find_block_mode(struct bt *bt, struct cpu *cpu,
                                     uint32_t mode)
{
    uint32_t eip = cpu->eip;
    uint32_t phys = code_phys(cpu, eip);
    bt->stats.dispatch_lookups++;
    if (bt->code_wp != code_wp_wanted(cpu))
        cache_code_wp_sync(bt); /* CR0 set without a flush (reset) */
    struct block *b = cache_lookup(bt, eip, phys, mode);
    if (b)
        return b;
    uint64_t c0 = __rdtsc();
    b = translate_block(bt, eip, phys, mode);
    if (!b) {
        cache_flush(bt);
        b = translate_block(bt, eip, phys, mode);
        if (!b) {
            fprintf(stderr, "tpvm: code cache too small for one block\n");
            bt_leave(cpu, BT_EXIT_INTERNAL);
        }
    }
    uint64_t c1 = __rdtsc(), dc = c1 - c0;
    bt->stats.translate_cycles += dc;
    /* The guest's clocks stand still while its code is translated: the
     * TSC and the device clock by the same span, one measurement (TSC)
     * converted at the host TSC's rate since start, so they stay within
     * ppm of each other (two separate reads per translation drifted by
     * ~150 ns each, 1200 ppm over a boot: Linux's clocksource watchdog
     * noticed). */
    uint64_t n1 = monotonic_ns();
    double ns_per_cycle = c1 > bt->start_tsc && n1 > bt->start_ns
                              ? (double)(n1 - bt->start_ns) / (double)(c1 - bt->start_tsc)
                              : 0.4;
    cpu->tsc_offset -= dc;
    __atomic_store_n(&cpu->paused_ns,
                     cpu->paused_ns + (uint64_t)((double)dc * ns_per_cycle),
                     __ATOMIC_RELAXED);
    return b;
}

/* Whether the run loop has something to do before the next block (bt_run
 * does each of these between blocks, in this order): a stop request, a
 * pending flush, an interrupt the guest may take (or a shadow that holds
 * one back), a fused run to replay, a change of the mode bits the branch
 * cache is not tagged with, or single-stepping. */
static bool loop_has_work(const struct cpu *cpu, uint32_t mode)
{
    const struct bt *bt = cpu->bt;
    return !__atomic_load_n(&cpu->run, __ATOMIC_ACQUIRE) || bt->flush_pending ||
           (cpu->irq_pending && (cpu->eflags & FL_IF)) || cpu->inhibit_irq ||
           cpu->unfuse_steps || (mode & MODE_OPTIONAL) != bt->cache_optional ||
           (mode & MODE_DEBUG);
}

bool bt_fast_resume(struct cpu *cpu)
{
    struct bt *bt = cpu->bt;
    /* CPL 1 and 2 share the branch cache's supervisor half with CPL 0 */
    if (cpu->cpl == 1 || cpu->cpl == 2)
        return false;
    uint32_t mode = bt_mode(cpu);
    if (loop_has_work(cpu, mode))
        return false;
    uint32_t u = (mode & MODE_CPL3) != 0, i = cpu->eip & (JC_SIZE - 1);
    if (cpu->jc[u].tag[i] == -(int64_t)(cpu->eip + jc_mode_tag(mode))) {
        cpu->resume_code = cpu->jc[u].code[i];
    } else {
        struct block *b = find_block_mode(bt, cpu, mode);
        cache_jc_fill(cpu, b);
        bt->stats.jc_fills++;
        cpu->resume_code = (uint64_t)(uintptr_t)b->code;
    }
    bt->stats.fast_resumes++;
    return true;
}

void bt_deliver_soft_int(struct cpu *cpu, int vector)
{
    struct bt *bt = cpu->bt;
    struct delivery *dl = &bt->dlv;
    dl->vector = dl->first_vector = vector;
    dl->first_error = 0;
    dl->first_has_error = false;
    dl->first_eip = dl->restart_eip = cpu->exc_eip; /* INT n itself */
    cpu->exc_soft = false;
    cpu_deliver(cpu, vector, EV_SOFT, false, 0);
    dl->vector = -1;
    bt->stats.int_by_vector[vector & 0xff]++;
    bt->stats.exceptions_delivered++;
}

static bool may_chain(const struct exit *ex, const struct block *to)
{
    if (!ex->owner->valid || !to->valid)
        return false;
    if (to->mode & (MODE_DEBUG | MODE_ONE))
        return false;
    if (ex->owner->mode != to->mode)
        return false;
    /* with paging, stay within the source block's linear page */
    if ((to->mode & MODE_PAGING) && (to->eip >> 12) != (ex->owner->eip >> 12))
        return false;
    return true;
}

/* Exception classes for the double-fault rules (SDM Table 6-5). */
static bool contributory(int v)
{
    return v == EXC_DE || v == EXC_TS || v == EXC_NP || v == EXC_SS || v == EXC_GP;
}

static bool has_error_code(int v)
{
    return v == EXC_DF || v == EXC_TS || v == EXC_NP || v == EXC_SS ||
           v == EXC_GP || v == EXC_PF || v == EXC_AC;
}

/*
 * The run loop. Guest exceptions, software interrupts and external
 * interrupts are delivered here, through the IDT, without leaving to the
 * monitor: the monitor only sees stop requests, HLT, shutdown (triple
 * fault) and internal errors. A fault while delivering an event becomes
 * #DF when the SDM says so, and a fault while delivering #DF a shutdown;
 * cpu->exc_* then keep the first event, for the diagnosis.
 */
static int run_loop(struct cpu *cpu)
{
    struct bt *bt = cpu->bt;
    enter_fn enter = (enter_fn)(void *)bt->rt.enter;
    struct delivery *dl = &bt->dlv;
    *dl = (struct delivery){ .vector = -1, .first_vector = -1 };
    bt->cache_optional = bt_mode(cpu) & MODE_OPTIONAL;
    struct block *next = NULL; /* found by the last exit, for the next entry */
    uint64_t next_gen = 0;

    for (;;) {
        if (setjmp(cpu->exit_jmp)) {
            next = NULL; /* indeterminate after longjmp: forget it */
            int reason = cpu->exit_reason;
            if (reason == EXIT_R_RESUME)
                continue;
            cpu->unfuse_steps = 0; /* an event ends a replay */
            if (reason != BT_EXIT_EXCEPTION) {
                bt->stats.exits_to_loop++;
                return reason;
            }
            int vec = cpu->exc_vector;
            bool has_err = cpu->exc_has_error;
            uint32_t err = cpu->exc_error;
            int source = cpu->exc_soft ? EV_SOFT : EV_EXC;
            if (dl->vector >= 0) {
                /* a fault while delivering an earlier event */
                int d = dl->vector;
                bool df = d == EXC_DF ? false
                          : (contributory(d) && contributory(vec)) ||
                            (d == EXC_PF && (contributory(vec) || vec == EXC_PF));
                if (d == EXC_DF) {
                    cpu->exc_vector = dl->first_vector;
                    cpu->exc_error = dl->first_error;
                    cpu->exc_has_error = dl->first_has_error;
                    cpu->exc_eip = dl->first_eip;
                    cpu->eip = dl->first_eip;
                    bt->stats.exits_to_loop++;
                    return BT_EXIT_SHUTDOWN;
                }
                if (df) {
                    vec = EXC_DF;
                    has_err = true;
                    err = 0;
                }
                source = EV_EXC;
                /* the fault belongs to the instruction (or interrupted
                 * point) whose event was being delivered */
                cpu->eip = dl->restart_eip;
            } else {
                dl->first_vector = vec;
                dl->first_error = err;
                dl->first_has_error = has_err;
                dl->first_eip = cpu->exc_eip;
            }
            if (!(cpu->cr0 & CR0_PE)) {
                bt->stats.exits_to_loop++;
                return BT_EXIT_SHUTDOWN;
            }
            dl->vector = vec;
            if (source == EV_SOFT)
                dl->restart_eip = cpu->exc_eip; /* INT n itself, not past it */
            else if (dl->vector == vec && vec != EXC_DF)
                dl->restart_eip = cpu->eip;
            cpu->exc_soft = false;
            cpu_deliver(cpu, vec, source, has_err && has_error_code(vec), err);
            dl->vector = -1;
            if (source == EV_SOFT)
                bt->stats.int_by_vector[vec & 0xff]++;
            else
                bt->stats.exc_by_vector[vec & 31]++;
            bt->stats.exceptions_delivered++;
            continue;
        }
        /* Between blocks; bt_fast_resume skips this loop only when
         * loop_has_work says none of it is due. */
        for (;;) {
            if (!__atomic_load_n(&cpu->run, __ATOMIC_ACQUIRE))
                return BT_EXIT_REQUEST;
            if (bt->flush_pending) {
                bt->flush_pending = false;
                cache_flush(bt);
            }
            if (cpu->irq_pending && (cpu->eflags & FL_IF) && !cpu->inhibit_irq &&
                cpu->host && cpu->host->irq_ack) {
                int vec = cpu->host->irq_ack(cpu->host->opaque);
                if (vec >= 0) {
                    dl->vector = vec;
                    dl->restart_eip = cpu->eip;
                    dl->first_vector = vec;
                    dl->first_has_error = false;
                    dl->first_eip = cpu->eip;
                    cpu_deliver(cpu, vec, EV_EXT, false, 0);
                    dl->vector = -1;
                    bt->stats.int_by_vector[vec & 0xff]++;
                    bt->stats.interrupts_delivered++;
                }
            }
            uint32_t shadow = cpu->inhibit_irq;
            cpu->inhibit_irq = 0;
            /* The rarely changing mode bits (segment limits, CR0.TS, TSC
             * offset) are not in the branch-cache tags and would split the
             * cache in two if they were in the block keys of code that does
             * not care: when they change, translate everything afresh. */
            uint32_t mode = bt_mode(cpu);
            uint32_t optional = mode & MODE_OPTIONAL;
            if (optional != bt->cache_optional) {
                cache_flush(bt);
                bt->cache_optional = optional;
            }
            /* An interrupt waits behind the STI / MOV SS shadow: run just
             * the next instruction, then come back to deliver it. */
            uint32_t one = (shadow && cpu->irq_pending &&
                            (cpu->eflags & FL_IF)) ? MODE_ONE : 0;
            /* a fused PUSH/POP run left its slow path: replay it unfused */
            if (cpu->unfuse_steps) {
                cpu->unfuse_steps--;
                one = MODE_ONE;
            }
            /* the block the last exit looked up, if still the one to run */
            struct block *b = next;
            next = NULL;
            if (!b || b->eip != cpu->eip || b->mode != (mode | one) ||
                next_gen != bt->flush_gen || !b->valid)
                b = find_block_mode(bt, cpu, mode | one);
            uint64_t gen = bt->flush_gen;
            int r = enter(cpu, b->code);
            if ((b->mode & MODE_DEBUG) && r >= EXIT_R_CHAIN) {
                /* one instruction ran: single-step and data breakpoints */
                uint32_t bits = cpu->db_pending;
                cpu->db_pending = 0;
                if ((b->mode & MODE_TF) && !cpu->inhibit_irq)
                    bits |= 0x4000u; /* DR6.BS */
                if (bits) {
                    cpu->dr[6] = (cpu->dr[6] & ~0x400fu) | 0xffff0ff0u | bits;
                    cpu->exc_vector = EXC_DB;
                    cpu->exc_has_error = false;
                    cpu->exc_soft = false;
                    cpu->exc_eip = cpu->eip;
                    bt_leave(cpu, BT_EXIT_EXCEPTION);
                }
            }
            if (r == EXIT_R_CHAIN) {
                struct exit *ex = (struct exit *)(uintptr_t)cpu->chain_from;
                if (!__atomic_load_n(&cpu->run, __ATOMIC_ACQUIRE))
                    return BT_EXIT_REQUEST;
                if (bt->flush_pending || gen != bt->flush_gen)
                    continue;
                /* the mode cannot change inside a block (helpers that
                 * change it leave through EXIT_R_RESUME) */
                struct block *nb = find_block_mode(bt, cpu, b->mode & ~MODE_ONE);
                if (gen == bt->flush_gen && may_chain(ex, nb))
                    cache_chain(bt, ex, nb);
                next = nb;
                next_gen = bt->flush_gen;
                continue;
            }
            if (r == EXIT_R_INDIRECT) {
                if (bt->flush_pending)
                    continue;
                /* the mode cannot change inside a block (helpers that
                 * change it leave through EXIT_R_RESUME) */
                struct block *nb = find_block_mode(bt, cpu, b->mode & ~MODE_ONE);
                cache_jc_fill(cpu, nb);
                bt->stats.jc_fills++;
                next = nb;
                next_gen = bt->flush_gen;
                continue;
            }
            if (r == EXIT_R_RESUME)
                continue;
            bt->stats.exits_to_loop++;
            return r;
        }
    }
}

/* The guest's x87 state is in the host FPU only while translated code
 * runs (bt/helpers_fpu.c). */
int bt_run(struct cpu *cpu)
{
    fpu_enter(cpu);
    int r = run_loop(cpu);
    fpu_leave(cpu);
    return r;
}
