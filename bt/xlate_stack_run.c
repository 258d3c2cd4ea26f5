/* Runs of stack instructions as one access. Prologues and epilogues are
 * runs: PUSH EBP; MOV EBP,ESP; PUSH EDI; PUSH ESI; PUSH EBX, and
 * POP EBX; POP ESI; POP EDI; POP EBP; RET (or LEAVE; RET). Each run is
 * translated with one TLB probe of its whole frame, the moves, and one ESP
 * update, instead of a probe per instruction.
 *
 * The slow path serves a run only when its frame is one plain RAM page
 * (softmmu.c: no fault, no page boundary, no MMIO, no translated code, no
 * watchpoint); otherwise it replays the run one instruction at a time
 * (cpu->unfuse_steps), so a fault reports the instruction that faulted,
 * its ESP and its address, with the instructions before it done. Runs are
 * formed only on flat 32-bit stacks, never under single-stepping or
 * breakpoints, and never across the block's page. */
#include "bt/regs.h"
#include "bt/xlate.h"

#define RUN_MAX_SLOTS 16 /* stack words per run: 64 bytes */
#define RUN_MAX_INSNS 20

enum run_kind {
    K_PUSH_REG,
    K_PUSH_IMM,
    K_MOV_EBP_ESP, /* inside a push run: EBP = ESP at that point */
    K_POP_REG,
    K_LEAVE,       /* first of a pop run: the frame starts at EBP */
    K_RET,         /* last of a pop run: ends the block */
};

struct run_op {
    enum run_kind kind;
    uint8_t len;
    int8_t reg;    /* guest register of PUSH/POP */
    int32_t imm;   /* PUSH imm, or RET imm16 */
};

static int32_t le32(const uint8_t *p)
{
    return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 |
                     (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
}

/* One instruction of a push run (push) or a pop run, without prefixes. */
static bool parse_op(const uint8_t *p, size_t avail, bool push, bool first,
                     struct run_op *op)
{
    if (avail < 1)
        return false;
    uint8_t b = p[0];
    if (push) {
        if (b >= 0x50 && b < 0x58 && b != 0x50 + R_ESP) {
            *op = (struct run_op){ K_PUSH_REG, 1, (int8_t)(b - 0x50), 0 };
            return true;
        }
        if (b == 0x6a && avail >= 2) {
            *op = (struct run_op){ K_PUSH_IMM, 2, -1, (int8_t)p[1] };
            return true;
        }
        if (b == 0x68 && avail >= 5) {
            *op = (struct run_op){ K_PUSH_IMM, 5, -1, le32(p + 1) };
            return true;
        }
        if (!first && avail >= 2 && ((b == 0x89 && p[1] == 0xe5) ||
                                     (b == 0x8b && p[1] == 0xec))) {
            *op = (struct run_op){ K_MOV_EBP_ESP, 2, -1, 0 };
            return true;
        }
        return false;
    }
    if (b >= 0x58 && b < 0x60 && b != 0x58 + R_ESP) {
        *op = (struct run_op){ K_POP_REG, 1, (int8_t)(b - 0x58), 0 };
        return true;
    }
    if (first && b == 0xc9) {
        *op = (struct run_op){ K_LEAVE, 1, -1, 0 };
        return true;
    }
    if (!first && b == 0xc3) {
        *op = (struct run_op){ K_RET, 1, -1, 0 };
        return true;
    }
    if (!first && b == 0xc2 && avail >= 3) {
        *op = (struct run_op){ K_RET, 3, -1, (int32_t)(p[1] | p[2] << 8) };
        return true;
    }
    return false;
}

static bool uses_slot(enum run_kind k)
{
    return k != K_MOV_EBP_ESP;
}

/* The run starting at the current instruction: its length in
 * instructions (below 2: no run). */
static unsigned scan_run(struct tctx *t, bool push, struct run_op *ops)
{
    if (!(t->mode & MODE_FLAT) || (t->mode & (MODE_DEBUG | MODE_ONE)) ||
        (t->mode & MODE_SEGCHK(S_SS)))
        return 0;
    const struct insn *in = t->in;
    if (!parse_op(in->bytes, in->len, push, true, &ops[0]) ||
        ops[0].len != in->len)
        return 0;
    uint8_t buf[RUN_MAX_INSNS * 5];
    uint32_t ph;
    size_t avail = x_fetch_following(t, buf, sizeof buf, &ph);
    unsigned n = 1, slots = 1, movs = 0;
    size_t off = 0;
    while (n < RUN_MAX_INSNS &&
           parse_op(buf + off, avail - off, push, false, &ops[n])) {
        if (uses_slot(ops[n].kind) && slots == RUN_MAX_SLOTS)
            break;
        if (ops[n].kind == K_MOV_EBP_ESP && movs++)
            break; /* one EBP copy per run */
        /* LEAVE's EBP is loaded last (below): no second POP EBP */
        if (ops[0].kind == K_LEAVE && ops[n].kind == K_POP_REG &&
            ops[n].reg == R_EBP)
            break;
        slots += uses_slot(ops[n].kind);
        off += ops[n].len;
        if (ops[n++].kind == K_RET)
            break;
    }
    /* a run that ends in MOV EBP,ESP is a shorter run plus that MOV */
    if (n > 1 && ops[n - 1].kind == K_MOV_EBP_ESP)
        off -= ops[--n].len;
    if (n < 2)
        return n;
    x_absorb_following(t, buf, (uint32_t)off, ph);
    t->bt->stats.fused_stack_runs++;
    return n;
}

static void push_run(struct tctx *t, const struct run_op *ops, unsigned n)
{
    struct emit *e = &t->e;
    unsigned slots = 0;
    bool ebp_copied = false;
    for (unsigned i = 0; i < n; i++) {
        if (ops[i].kind == K_MOV_EBP_ESP) {
            /* EBP's new value, kept in r8 (the slow path preserves it)
             * until the core's end, so the core can run again */
            E(e, ZYDIS_MNEMONIC_LEA, 2, R(R8D),
              M(R14, NOREG, 0, -4 * (int32_t)slots, 4));
            ebp_copied = true;
        } else {
            slots++;
        }
    }
    int32_t frame = 4 * (int32_t)slots;
    x_stack_ea_size(t, -frame, (unsigned)frame);
    x_probe(t, (unsigned)frame, ACC_WRITE | ACC_FUSED | ACC_FUSED_N(n));
    bool moved = false;
    unsigned slot = 0;
    for (unsigned i = 0; i < n; i++) {
        if (ops[i].kind == K_MOV_EBP_ESP) {
            moved = true;
            continue;
        }
        /* the first push goes highest */
        eop dst = x_mem_disp(t, 4, frame - 4 * (int32_t)++slot);
        if (ops[i].kind == K_PUSH_IMM)
            E(e, ZYDIS_MNEMONIC_MOV, 2, dst, I(ops[i].imm));
        else if (ops[i].reg == R_EBP && moved)
            E(e, ZYDIS_MNEMONIC_MOV, 2, dst, R(R8D));
        else
            E(e, ZYDIS_MNEMONIC_MOV, 2, dst, R(guest_host32[ops[i].reg]));
    }
    E(e, ZYDIS_MNEMONIC_LEA, 2, R(R14D), M(R14, NOREG, 0, -frame, 4));
    if (ebp_copied)
        E(e, ZYDIS_MNEMONIC_MOV, 2, R(EBP), R(R8D));
    x_probe_end(t);
}

static void pop_run(struct tctx *t, const struct run_op *ops, unsigned n)
{
    struct emit *e = &t->e;
    bool leave = ops[0].kind == K_LEAVE, ret = ops[n - 1].kind == K_RET;
    int32_t frame = 4 * (int32_t)n;
    int32_t extra = ret ? ops[n - 1].imm : 0;
    if (leave) {
        /* ESP = EBP, then the pops: ESP's final value before EBP is
         * reloaded, in r8 (kept across the slow path) */
        E(e, ZYDIS_MNEMONIC_LEA, 2, R(R8D), M(RBP, NOREG, 0, frame + extra, 4));
        E(e, ZYDIS_MNEMONIC_MOV, 2, R(R10D), R(EBP));
        t->seg_check_size = (unsigned)frame;
    } else {
        x_stack_ea_size(t, 0, (unsigned)frame);
    }
    x_probe(t, (unsigned)frame, ACC_READ | ACC_FUSED | ACC_FUSED_N(n));
    /* in order (POP ECX; POP ECX leaves the second value), LEAVE's EBP
     * last: a direct-addressing fault in the middle runs the core again
     * from the start, and the frame's address came from EBP */
    for (unsigned i = leave; i < n; i++) {
        eop src = x_mem_disp(t, 4, 4 * (int32_t)i);
        if (ops[i].kind == K_RET)
            E(e, ZYDIS_MNEMONIC_MOV, 2, R(R9D), src);
        else
            E(e, ZYDIS_MNEMONIC_MOV, 2, R(guest_host32[ops[i].reg]), src);
    }
    if (leave)
        E(e, ZYDIS_MNEMONIC_MOV, 2, R(EBP), x_mem_disp(t, 4, 0));
    x_probe_end(t);
    if (leave)
        E(e, ZYDIS_MNEMONIC_MOV, 2, R(R14D), R(R8D));
    else
        E(e, ZYDIS_MNEMONIC_LEA, 2, R(R14D), M(R14, NOREG, 0, frame + extra, 4));
    if (ret) {
        t->ended = true;
        x_exit_indirect(t);
    }
}

bool x_stack_run(struct tctx *t)
{
    struct run_op ops[RUN_MAX_INSNS];
    ZydisMnemonic m = t->in->d.mnemonic;
    bool push = m == ZYDIS_MNEMONIC_PUSH;
    unsigned n = scan_run(t, push, ops);
    if (n < 2)
        return false;
    if (push)
        push_run(t, ops, n);
    else
        pop_run(t, ops, n);
    return true;
}
