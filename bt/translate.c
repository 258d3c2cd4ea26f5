/* Block translation: decode guest instructions from cpu->eip with Zydis,
 * hand each to its handler (xlate_table.c), then lay out the block.
 *
 * Layout of one block in the code cache:
 *     stub:  mov [cpu.eip], EIP ; jmp exit_request   (run flag cleared)
 *     entry: mov ecx, [cpu.run] ; jrcxz stub         (flag-free check)
 *     body:  one sequence per guest instruction      (chains from blocks
 *                                                     at lower EIPs enter here)
 *            direct exits: jmp/jcc rel32, later patched to chain
 *            TLB-miss paths (copies of the accesses)
 *            exit stubs: mov [cpu.eip], target ; chain_from ; jmp exit_chain
 * A block ends at a branch, at a helper that may change control or mode,
 * at a page boundary, or after BT_MAX_BLOCK_INSNS instructions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bt/regs.h"
#include "bt/xlate.h"

void helper_raise_ud(struct cpu *cpu, uint32_t arg, uint32_t next);
void helper_exec_bp(struct cpu *cpu, uint32_t arg, uint32_t next);

/* Is an enabled DR0-DR3 execution breakpoint at this linear address? */
static bool exec_breakpoint(const struct cpu *cpu, uint32_t pc)
{
    for (int i = 0; i < 4; i++)
        if (dr7_exec_bp(cpu->dr[7], i) && cpu->dr[i] == pc)
            return true;
    return false;
}

void x_exit_indirect(struct tctx *t)
{
    struct emit *e = &t->e;
    if (t->mode & (MODE_DEBUG | MODE_ONE)) {
        /* the run loop checks for #DB (or an interrupt) after the instruction */
        E(e, ZYDIS_MNEMONIC_MOV, 2, MC(OFF(eip), 4), R(R9D));
        E_jmp_abs(e, t->bt->rt.exit_indirect);
        return;
    }
    E(e, ZYDIS_MNEMONIC_MOVZX, 2, R(R11D), R(ZYDIS_REGISTER_R9W));
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(RCX), M(R15, R11, 8, OFF(jc[t->user].tag), 8));
    E(e, ZYDIS_MNEMONIC_LEA, 2, R(RCX), M(RCX, R9, 1, 0, 8));
    /* entries carry the mode they were translated in: a hit is a block
     * of this block's mode (the mode cannot change inside a block) */
    uint64_t mtag = jc_mode_tag(t->mode);
    if (mtag) {
        E(e, ZYDIS_MNEMONIC_MOV, 2, R(R10), I((int64_t)mtag));
        E(e, ZYDIS_MNEMONIC_LEA, 2, R(RCX), M(RCX, R10, 1, 0, 8));
    }
    uint8_t *jr = E_branch(e, ZYDIS_MNEMONIC_JRCXZ, e->p, ZYDIS_BRANCH_WIDTH_8);
    E(e, ZYDIS_MNEMONIC_MOV, 2, MC(OFF(eip), 4), R(R9D));
    E_jmp_abs(e, t->bt->rt.exit_indirect);
    patch_rel8(jr, e->p);
    E(e, ZYDIS_MNEMONIC_JMP, 1, M(R15, R11, 8, OFF(jc[t->user].code), 8));
}

ZydisMnemonic x_invert_jcc(ZydisMnemonic m)
{
    switch (m) {
    case ZYDIS_MNEMONIC_JB: return ZYDIS_MNEMONIC_JNB;
    case ZYDIS_MNEMONIC_JNB: return ZYDIS_MNEMONIC_JB;
    case ZYDIS_MNEMONIC_JBE: return ZYDIS_MNEMONIC_JNBE;
    case ZYDIS_MNEMONIC_JNBE: return ZYDIS_MNEMONIC_JBE;
    case ZYDIS_MNEMONIC_JL: return ZYDIS_MNEMONIC_JNL;
    case ZYDIS_MNEMONIC_JNL: return ZYDIS_MNEMONIC_JL;
    case ZYDIS_MNEMONIC_JLE: return ZYDIS_MNEMONIC_JNLE;
    case ZYDIS_MNEMONIC_JNLE: return ZYDIS_MNEMONIC_JLE;
    case ZYDIS_MNEMONIC_JO: return ZYDIS_MNEMONIC_JNO;
    case ZYDIS_MNEMONIC_JNO: return ZYDIS_MNEMONIC_JO;
    case ZYDIS_MNEMONIC_JP: return ZYDIS_MNEMONIC_JNP;
    case ZYDIS_MNEMONIC_JNP: return ZYDIS_MNEMONIC_JP;
    case ZYDIS_MNEMONIC_JS: return ZYDIS_MNEMONIC_JNS;
    case ZYDIS_MNEMONIC_JNS: return ZYDIS_MNEMONIC_JS;
    case ZYDIS_MNEMONIC_JZ: return ZYDIS_MNEMONIC_JNZ;
    case ZYDIS_MNEMONIC_JNZ: return ZYDIS_MNEMONIC_JZ;
    default: return ZYDIS_MNEMONIC_INVALID;
    }
}

void x_exit_direct(struct tctx *t, ZydisMnemonic m, uint32_t target)
{
    struct emit *e = &t->e;
    /* With paging, a jump to another linear page may land on another
     * physical page after a remap: look it up through the branch cache
     * instead of chaining. */
    if ((t->mode & MODE_PAGING) && (target >> 12) != (t->b->eip >> 12)) {
        uint8_t *skip = NULL;
        if (m != ZYDIS_MNEMONIC_JMP)
            skip = E_branch(e, x_invert_jcc(m), e->p, ZYDIS_BRANCH_WIDTH_8);
        E(e, ZYDIS_MNEMONIC_MOV, 2, R(R9D), I32(target));
        x_exit_indirect(t);
        if (skip)
            patch_rel8(skip, e->p);
        return;
    }
    if (t->loop_body && target == t->b->eip) {
        /* back into the loop past its region's probe (x_region_begin_insn):
         * flag-free run check, as at the block's entry */
        uint8_t *skip = NULL;
        if (m != ZYDIS_MNEMONIC_JMP)
            skip = E_branch(e, x_invert_jcc(m), e->p, ZYDIS_BRANCH_WIDTH_8);
        E(e, ZYDIS_MNEMONIC_MOV, 2, R(ECX), MC(OFF(run), 4));
        uint8_t *stop = E_branch(e, ZYDIS_MNEMONIC_JRCXZ, e->p, ZYDIS_BRANCH_WIDTH_8);
        E_branch(e, ZYDIS_MNEMONIC_JMP, t->loop_body, ZYDIS_BRANCH_WIDTH_32);
        patch_rel8(stop, e->p);
        E_branch(e, ZYDIS_MNEMONIC_JMP, t->req_stub, ZYDIS_BRANCH_WIDTH_32);
        if (skip)
            patch_rel8(skip, e->p);
        return;
    }
    if (t->n_exits == MAX_LOCAL_EXITS) {
        e->failed = true;
        snprintf(e->failed_what, sizeof e->failed_what, "too many exits");
        return;
    }
    uint8_t *field = E_branch(e, m, e->p, ZYDIS_BRANCH_WIDTH_32);
    t->exits[t->n_exits].field = field;
    t->exits[t->n_exits].target = target;
    t->n_exits++;
}

static void emit_helper_call(struct tctx *t, void *fn, uint32_t arg)
{
    struct emit *e = &t->e;
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(R11), I((int64_t)(uintptr_t)fn));
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(ECX), I32(t->in->eip));
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(R9D), I32(arg));
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(R10D), I32(t->next_eip));
    E_call_abs(e, t->bt->rt.call_helper);
}

void x_call_helper(struct tctx *t, void *fn, uint32_t arg)
{
    emit_helper_call(t, fn, arg);
}

void x_call_helper_end(struct tctx *t, void *fn, uint32_t arg)
{
    emit_helper_call(t, fn, arg);
    x_exit_direct(t, ZYDIS_MNEMONIC_JMP, t->next_eip);
    t->ended = true;
}

/* mov [cpu.eip], target; mov r11, ex; mov [cpu.chain_from], r11: an
 * exit stub's prologue (an E_seq template) */
static void build_exit_movs(struct emit *e, const uint64_t *v)
{
    E(e, ZYDIS_MNEMONIC_MOV, 2, MC(OFF(eip), 4), I32((uint32_t)v[0]));
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(R11), I((int64_t)v[1]));
    E(e, ZYDIS_MNEMONIC_MOV, 2, MC(OFF(chain_from), 8), R(R11));
}

static void emit_exit_stubs(struct tctx *t)
{
    struct emit *e = &t->e;
    struct block *b = t->b;
    b->n_exits = 0;
    for (int i = 0; i < t->n_exits; i++) {
        struct exit *ex = &b->exits[b->n_exits++];
        ex->owner = b;
        ex->patch = t->exits[i].field;
        ex->target_eip = t->exits[i].target;
        ex->stub = e->p;
        static struct seq_tpl tpl;
        E_seq(e, &tpl, build_exit_movs, (const uint8_t[]){4, 8}, 2,
              (const uint64_t[]){ex->target_eip, (uint64_t)(uintptr_t)ex});
        E_jmp_abs(e, t->bt->rt.exit_chain);
        if (!e->full && !e->failed)
            patch_rel32(ex->patch, ex->stub);
    }
}

bool x_decode(struct tctx *t, const uint8_t *buf, size_t avail, uint32_t eip,
              struct insn *in)
{
    if (ZYAN_FAILED(ZydisDecoderDecodeFull(t->bt->decoder, buf, avail, &in->d,
                                           in->ops)))
        return false;
    in->eip = eip;
    in->len = in->d.length;
    memcpy(in->bytes, buf, in->len);
    return true;
}

size_t x_fetch_following(struct tctx *t, uint8_t *buf, size_t size,
                         uint32_t *phys)
{
    uint32_t pc = t->in->eip + t->in->len;
    uint32_t page_end = (t->b->eip | 0xfffu) + 1;
    if (pc >= page_end || pc < t->in->eip)
        return 0;
    size_t n = mmu_fetch_code(t->cpu, pc, buf, size, phys);
    return n < page_end - pc ? n : page_end - pc;
}

void x_absorb_following(struct tctx *t, const uint8_t *buf, uint32_t len,
                        uint32_t phys)
{
    uint32_t pc = t->in->eip + t->in->len;
    t->b->phys_last = phys + len - 1;
    t->next_eip = pc + len;
    for (uint32_t off = 0; t->bt->cfg.trace && off < len;) {
        char text[128];
        int n = bt_disasm(buf + off, len - off, pc + off, text, sizeof text);
        if (n <= 0)
            break;
        fprintf(t->bt->cfg.trace, "%08x: %s\n", pc + off, text);
        off += (uint32_t)n;
    }
}

static void trace_insn(struct bt *bt, const struct insn *in);

void x_absorb_ahead(struct tctx *t, uint32_t len)
{
    uint32_t pc = t->in->eip + t->in->len;
    t->b->phys_last = t->ahead_phys + (pc - t->ahead[0].eip) + len - 1;
    t->next_eip = pc + len;
    for (const struct insn *a = x_ahead(t, pc); t->bt->cfg.trace && a &&
                                                a < t->ahead + t->n_ahead &&
                                                a->eip < pc + len;
         a++)
        trace_insn(t->bt, a);
}

/* Fetch and decode one instruction at pc. Returns false on a fetch
 * fault (pc not mapped or not RAM). *invalid is set for undecodable
 * bytes. */
const struct insn *x_ahead(const struct tctx *t, uint32_t eip)
{
    for (unsigned i = 0; i < t->n_ahead; i++)
        if (t->ahead[i].eip == eip)
            return &t->ahead[i];
    return NULL;
}

/* PUSH and POP of a general register, memory or an immediate: not plain
 * (their own handlers), but they never end a block or touch the flags. */
static bool is_stack_move(const struct insn *in)
{
    if (in->d.mnemonic != ZYDIS_MNEMONIC_PUSH && in->d.mnemonic != ZYDIS_MNEMONIC_POP)
        return false;
    const ZydisDecodedOperand *op = &in->ops[0];
    return op->type != ZYDIS_OPERAND_TYPE_REGISTER ||
           ZydisRegisterGetClass(op->reg.value) == ZYDIS_REGCLASS_GPR32 ||
           ZydisRegisterGetClass(op->reg.value) == ZYDIS_REGCLASS_GPR16;
}

bool x_continues_block(const struct insn *in)
{
    return xlate_is_plain(in) || is_stack_move(in);
}

/* The instructions after the current one up to the first that may end
 * the block (inclusive), decoded into t->ahead unless an earlier scan in
 * the block decoded them already: each access may start a scan, and
 * decoding the rest of the block for each would cost the square of its
 * length. */
void x_fill_ahead(struct tctx *t)
{
    uint32_t pc = t->in->eip + t->in->len;
    if (x_ahead(t, pc))
        return;
    uint8_t buf[AHEAD_INSNS * 15];
    uint32_t ph;
    size_t avail = x_fetch_following(t, buf, sizeof buf, &ph), off = 0;
    t->n_ahead = 0;
    t->ahead_phys = ph;
    while (off < avail && t->n_ahead < AHEAD_INSNS) {
        struct insn *in = &t->ahead[t->n_ahead];
        if (!x_decode(t, buf + off, avail - off, pc + (uint32_t)off, in))
            break;
        t->n_ahead++;
        off += in->len;
        if (!x_continues_block(in))
            break;
    }
}

static bool fetch_decode(struct tctx *t, uint32_t pc, struct insn *in,
                         bool *invalid, uint32_t *phys_last)
{
    const struct insn *a = x_ahead(t, pc);
    if (a) { /* decoded by a region scan, on the block's page */
        *in = *a;
        *invalid = false;
        *phys_last = t->ahead_phys + (pc - t->ahead[0].eip) + in->len - 1;
        return true;
    }
    uint8_t buf[16];
    uint32_t ph;
    size_t n = mmu_fetch_code(t->cpu, pc, buf, sizeof buf, &ph);
    if (n == 0)
        return false;
    size_t got = n;
    if (n < sizeof buf) {
        /* may straddle into the next page: fetch it too if mapped */
        uint32_t ph2;
        size_t m = mmu_fetch_code(t->cpu, pc + (uint32_t)n, buf + n,
                                  sizeof buf - n, &ph2);
        got += m;
        if (m)
            *phys_last = ph2;
    }
    *invalid = false;
    if (!x_decode(t, buf, got, pc, in)) {
        *invalid = true;
        in->len = 1;
        return true;
    }
    if (in->len <= n)
        *phys_last = ph + in->len - 1;
    return true;
}

static void trace_insn(struct bt *bt, const struct insn *in)
{
    char text[128];
    if (bt_disasm(in->bytes, in->len, in->eip, text, sizeof text) <= 0)
        snprintf(text, sizeof text, "(bad)");
    fprintf(bt->cfg.trace, "%08x: %s\n", in->eip, text);
}

struct block *translate_block(struct bt *bt, uint32_t eip, uint32_t phys,
                              uint32_t mode)
{
    struct cpu *cpu = bt->cpu;
    struct block *b = cache_alloc_block(bt);
    if (!b)
        return NULL;
    struct tctx *t = bt->tctx;
    t->bt = bt;
    t->cpu = cpu;
    t->b = b;
    t->mode = mode;
    t->user = (mode & MODE_CPL3) != 0;
    t->n_stubs = 0;
    t->n_exits = 0;
    t->pending_probe = -1;
    t->ended = false;
    t->direct = (mode & MODE_DIRECT) != 0;
    t->cur_direct = t->force_probe = t->cur_fold = false;
    t->fold_lea = NULL;
    t->sreg_last_next = 0;
    t->region_base = t->noscan_base = -1;
    t->n_ahead = 0;
    t->region_pending = t->cur_region = false;
    t->loop_body = NULL;
    b->eip = eip;
    b->phys = phys;
    b->phys_last = phys;
    b->mode = mode;
    emit_init(&t->e, bt->cache_ptr, bt->cache + bt->cache_size);
    struct emit *e = &t->e;

    uint8_t *req_stub = t->req_stub = e->p;
    E(e, ZYDIS_MNEMONIC_MOV, 2, MC(OFF(eip), 4), I32(eip));
    E_jmp_abs(e, bt->rt.exit_request);
    b->code = e->p;
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(ECX), MC(OFF(run), 4));
    E_branch(e, ZYDIS_MNEMONIC_JRCXZ, req_stub, ZYDIS_BRANCH_WIDTH_8);
    b->body = e->p;

    struct insn in;
    uint32_t pc = eip;
    unsigned n = 0;
    cpu->fetch_global = false;
    bool global = true;
    while (!t->ended) {
        bool invalid;
        uint32_t last = b->phys_last;
        if (!fetch_decode(t, pc, &in, &invalid, &last)) {
            if (n == 0) {
                /* nothing to run: the fetch itself faults */
                bt->n_blocks--;
                mmu_translate(cpu, pc, ACC_FETCH | ACC_READ);
                /* mapped but not RAM: executing MMIO is not supported */
                cpu->cr2 = pc;
                bt_raise(cpu, EXC_PF, 0, true);
            }
            x_exit_direct(t, ZYDIS_MNEMONIC_JMP, pc);
            break;
        }
        b->phys_last = last;
        global = global && cpu->fetch_global;
        t->in = &in;
        in.eip = pc;
        t->next_eip = pc + in.len;
        if (invalid) {
            in.len = 1;
            x_call_helper_end(t, (void *)helper_raise_ud, 0);
            n++;
            break;
        }
        if (bt->cfg.trace)
            trace_insn(bt, &in);
        if ((mode & MODE_DEBUG) && exec_breakpoint(cpu, pc))
            x_call_helper(t, (void *)helper_exec_bp, 0);
        t->insns_left = BT_MAX_BLOCK_INSNS - n;
        x_region_begin_insn(t);
        xlate_fn fn = xlate_lookup(in.d.mnemonic);
        if (!fn)
            x_call_helper_end(t, (void *)helper_raise_ud, 0);
        else
            fn(t);
        n++;
        pc = t->next_eip;
        if (t->ended)
            break;
        if (n >= BT_MAX_BLOCK_INSNS || (pc >> 12) != (eip >> 12) ||
            (mode & (MODE_DEBUG | MODE_ONE))) {
            x_exit_direct(t, ZYDIS_MNEMONIC_JMP, pc);
            break;
        }
        if (e->full || e->failed)
            break;
    }
    x_emit_slow_stubs(t);
    emit_exit_stubs(t);

    if (e->full) {
        bt->n_blocks--;
        return NULL;
    }
    if (e->failed) {
        char text[128] = "?";
        bt_disasm(in.bytes, in.len, in.eip, text, sizeof text);
        fprintf(stderr, "tpvm: translator error at guest %08x (%s): %s\n",
                in.eip, text, e->failed_what);
        bt->n_blocks--;
        cpu->exit_reason = BT_EXIT_INTERNAL;
        bt_leave(cpu, BT_EXIT_INTERNAL);
    }
    for (int i = 0; i < t->n_stubs; i++)
        if (t->stubs[i].direct)
            sites_add(bt, (uintptr_t)t->stubs[i].core,
                      (uintptr_t)t->stubs[i].back, (uintptr_t)t->stubs[i].stub_addr);
    b->global = global && n > 0 && (mode & MODE_PAGING);
    b->guest_len = pc - eip;
    b->n_insns = n;
    b->code_len = (uint32_t)(e->p - b->code);
    /* the next block on a cache line of its own: where a hot loop lands
     * in the line moved the compute kernels' sieve by 20% (the same host
     * code 16 bytes further) */
    bt->cache_ptr = (uint8_t *)(((uintptr_t)e->p + 63) & ~(uintptr_t)63);
    prefault_reached(bt, PREFAULT_CODE, bt->cache_ptr);
    prefault_reached(bt, PREFAULT_BLOCKS, b + 1);
    bt->stats.blocks_translated++;
    bt->stats.insns_translated += n;
    bt->stats.code_bytes += (uint64_t)(e->p - req_stub);
    cache_insert(bt, b);
    if (bt->cfg.perf_map)
        fprintf(bt->cfg.perf_map, "%lx %lx guest_%08x\n",
                (unsigned long)(uintptr_t)req_stub,
                (unsigned long)(e->p - req_stub), eip);
    if (bt->trace_host) {
        fprintf(bt->cfg.trace, "  host code of block %08x:\n", eip);
        bt_disasm_host(bt->cfg.trace, req_stub, (size_t)(e->p - req_stub));
    }
    return b;
}
