/* Templates for control flow inside a case: jcc (all conditions, short and
 * near, forward and backward), loop/loope/loopne/jecxz and counted loops,
 * call/ret/ret imm16 (direct, through a register, through memory), jmp in
 * every form, and multi-instruction sequences. Every branch target lies
 * inside the case, and every loop is bounded. */
#include <string.h>

#include "bt/cpu.h"
#include "tests/diff/templates.h"
#include "tests/diff/undefined.h"

#define BIT(r) ((uint8_t)(1u << (r)))

static const ZydisMnemonic jcc_mn[16] = {
    MN(JO), MN(JNO), MN(JB), MN(JNB), MN(JZ), MN(JNZ), MN(JBE), MN(JNBE),
    MN(JS), MN(JNS), MN(JP), MN(JNP), MN(JL), MN(JNL), MN(JLE), MN(JNLE),
};

static int rand_width(struct gen *g)
{
    return chance(g, 50) ? 1 : 4;
}

/* A body that may or may not run: knowledge afterwards is what holds on
 * both paths. */
static void maybe_body(struct gen *g, unsigned max)
{
    struct path_state s;
    path_save(g, &s);
    emit_steps(g, G_BODY, max);
    path_merge(g, &s);
}

/* Oracle quirk: when LOOPE/LOOPNE end because ECX reached 0, Unicorn
 * 2.0.1 leaves its lazy-flags state stale (QEMU updates cc_op only on the
 * condition path), so EFLAGS read afterwards are garbage (often the value
 * of the compared register). The flags are not compared after them. */
static void loopcc_quirk(struct gen *g, ZydisMnemonic mn)
{
    if (mn == MN(LOOPE) || mn == MN(LOOPNE)) {
        flags_set(g, 0, FL_ARITH);
        g->flags_garbage = true; /* until an instruction writes flags */
    }
}

static ZydisEncoderOperand mem_op_base(ZydisRegister base, int32_t disp, int size)
{
    ZydisEncoderOperand m;
    memset(&m, 0, sizeof m);
    m.type = ZYDIS_OPERAND_TYPE_MEMORY;
    m.mem.size = (ZyanU16)size;
    m.mem.base = base;
    m.mem.displacement = disp;
    return m;
}

void tpl_jcc(struct gen *g)
{
    int cc = (int)rnd(g, 16);
    int width = rand_width(g);
    flags_need(g, cc_flags(cc));
    if (chance(g, 75)) { /* jcc over a few instructions */
        int l = label_new(g);
        emit_branch(g, jcc_mn[cc], width, l);
        maybe_body(g, 3);
        label_here(g, l);
        return;
    }
    /* backward: jmp L2; L1: body; jmp L3; L2: jcc L1; L3: */
    int l1 = label_new(g), l2 = label_new(g), l3 = label_new(g);
    emit_branch(g, MN(JMP), rand_width(g), l2);
    label_here(g, l1);
    struct path_state s;
    path_save(g, &s);
    emit_steps(g, G_BODY, 2);
    emit_branch(g, MN(JMP), rand_width(g), l3);
    label_here(g, l2);
    emit_branch(g, jcc_mn[cc], width, l1);
    path_merge(g, &s);
    label_here(g, l3);
}

/* Counted loops running 1..8 times, each a different idiom. */
static void counted_loop(struct gen *g)
{
    uint32_t n = 1 + rnd(g, 8);
    int width = rand_width(g);
    int l = label_new(g);
    switch (rnd(g, 6)) {
    case 0: { /* L: mov [edi], r; add edi, size; dec ecx; jnz L */
        int size = rand_size(g);
        reg_want_exact(g, R_ECX, n);
        reg_want(g, R_EDI, DATA_BASE + 0x1000 - 40, DATA_BASE + 0x1000 + 8);
        int r = pick_src(g);
        label_here(g, l);
        E(g, MOV, 0, mem_op_base(ZYDIS_REGISTER_EDI, 0, size), op_r(size, r));
        bool add = chance(g, 50);
        if (add)
            E(g, ADD, 0, op_r(4, R_EDI), op_i(4, (uint32_t)size));
        else
            E(g, LEA, 0, op_r(4, R_EDI), mem_op_base(ZYDIS_REGISTER_EDI, size, 4));
        E(g, DEC, 0, op_r(4, R_ECX));
        emit_branch(g, MN(JNZ), width, l);
        reg_written(g, R_EDI);
        flags_set(g, add ? FL_ARITH : FL_ARITH & ~FL_CF, 0); /* lea, dec keep CF */
        break;
    }
    case 1: { /* L: add r1, [esi]; adc r2, 0; add esi, 4; loop L */
        reg_want_exact(g, R_ECX, n);
        reg_want(g, R_ESI, DATA_BASE + 0x1000 - 36, DATA_BASE + 0x1000);
        int r1 = pick_reg(g, 4, BIT(R_ECX) | BIT(R_ESI));
        int r2 = pick_reg(g, 4, BIT(R_ECX) | BIT(R_ESI) | BIT(r1));
        label_here(g, l);
        E(g, ADD, 0, op_r(4, r1), mem_op_base(ZYDIS_REGISTER_ESI, 0, 4));
        E(g, ADC, 0, op_r(4, r2), op_i(4, 0));
        E(g, ADD, 0, op_r(4, R_ESI), op_i(4, 4));
        emit_branch(g, MN(LOOP), 1, l);
        reg_written(g, r1);
        reg_written(g, r2);
        reg_written(g, R_ESI);
        flags_set(g, FL_ARITH, 0);
        break;
    }
    case 2: { /* L: cmp [esi], r8; lea esi, [esi+1]; loopne L (a byte scan) */
        reg_want_exact(g, R_ECX, n);
        uint32_t si = reg_want(g, R_ESI, DATA_BASE + 0x1000 - 8, DATA_BASE + 0x1000);
        int r = (int)rnd(g, 8);
        if (!g->data_dirty && (g->known & BIT(full_reg(1, r))) && chance(g, 50)) {
            uint32_t v = reg_value(g, full_reg(1, r));
            uint8_t b = (uint8_t)(r >= 4 ? v >> 8 : v);
            patch(g, si + rnd(g, n), &b, 1);
        }
        label_here(g, l);
        E(g, CMP, 0, mem_op_base(ZYDIS_REGISTER_ESI, 0, 1), op_r(1, r));
        E(g, LEA, 0, op_r(4, R_ESI), mem_op_base(ZYDIS_REGISTER_ESI, 1, 4));
        emit_branch(g, MN(LOOPNE), 1, l);
        reg_written(g, R_ESI);
        loopcc_quirk(g, MN(LOOPNE));
        break;
    }
    case 3: { /* L: cmp [esi], r; lea esi, [esi+4]; loope L */
        reg_want_exact(g, R_ECX, n);
        uint32_t si = reg_want(g, R_ESI, DATA_BASE + 0x1000 - 34, DATA_BASE + 0x1000);
        int r = pick_reg(g, 4, BIT(R_ECX) | BIT(R_ESI));
        if (!g->data_dirty && (g->known & BIT(r))) {
            uint32_t v = reg_value(g, r);
            for (uint32_t i = 0, k = rnd(g, n + 1); i < k && i < 4; i++)
                patch32(g, si + 4 * i, v);
        }
        label_here(g, l);
        E(g, CMP, 0, mem_op_base(ZYDIS_REGISTER_ESI, 0, 4), op_r(4, r));
        E(g, LEA, 0, op_r(4, R_ESI), mem_op_base(ZYDIS_REGISTER_ESI, 4, 4));
        emit_branch(g, MN(LOOPE), 1, l);
        reg_written(g, R_ESI);
        loopcc_quirk(g, MN(LOOPE));
        break;
    }
    case 4: { /* L: alu r1, r2; dec ecx; jnz/jg/jns L */
        static const ZydisMnemonic ops[] = {MN(ADD), MN(XOR), MN(SUB), MN(IMUL)};
        static const ZydisMnemonic back[] = {MN(JNZ), MN(JNLE), MN(JNS)};
        reg_want_exact(g, R_ECX, n);
        int r1 = pick_reg(g, 4, BIT(R_ECX));
        label_here(g, l);
        EV(g, ops[rnd(g, 4)], 0, op_r(4, r1), op_r(4, pick_src(g)));
        E(g, DEC, 0, op_r(4, R_ECX));
        emit_branch(g, back[rnd(g, 3)], width, l);
        reg_written(g, r1);
        flags_set(g, FL_ARITH, 0);
        break;
    }
    default: { /* L: adc r1, r2; loop L: CF carried from one pass to the next */
        reg_want_exact(g, R_ECX, n);
        int r1 = pick_reg(g, 4, BIT(R_ECX));
        flags_need(g, FL_CF);
        label_here(g, l);
        E(g, ADC, 0, op_r(4, r1), op_r(4, pick_src(g)));
        emit_branch(g, MN(LOOP), 1, l);
        reg_written(g, r1);
        flags_set(g, FL_ARITH, 0);
        break;
    }
    }
    reg_written(g, R_ECX);
}

void tpl_loop(struct gen *g)
{
    switch (rnd(g, 4)) {
    case 0: { /* loop/loope/loopne forward, any ECX (0 wraps, so taken) */
        static const ZydisMnemonic ops[] = {MN(LOOP), MN(LOOPE), MN(LOOPNE)};
        ZydisMnemonic mn = ops[rnd(g, 3)];
        if (mn != MN(LOOP))
            flags_need(g, FL_ZF);
        if (chance(g, 40))
            reg_want_exact(g, R_ECX, rnd(g, 3));
        int l = label_new(g);
        emit_branch(g, mn, 1, l);
        reg_written(g, R_ECX);
        loopcc_quirk(g, mn);
        maybe_body(g, 3);
        label_here(g, l);
        return;
    }
    case 1: { /* jecxz forward, taken about half the time */
        reg_want_exact(g, R_ECX, chance(g, 50) ? 0 : rand_value(g));
        int l = label_new(g);
        emit_branch(g, MN(JECXZ), 1, l);
        maybe_body(g, 3);
        label_here(g, l);
        return;
    }
    default:
        counted_loop(g);
        return;
    }
}

/* The subroutine for call templates: a stack-neutral body, then ret. */
static void subroutine(struct gen *g, int entry, uint32_t ret_imm, bool has_imm)
{
    label_here(g, entry);
    g->call_depth++;
    emit_steps(g, G_BODY | G_NEUTRAL, 2);
    g->call_depth--;
    if (has_imm)
        E(g, RET, 0, op_u(ret_imm));
    else
        E0(g, RET, 0);
}

void tpl_call_ret(struct gen *g)
{
    int sub = label_new(g), after = label_new(g);
    bool has_imm = false;
    uint32_t ret_imm = 0;
    switch (rnd(g, 6)) {
    case 0: /* call rel32 */
        emit_branch(g, MN(CALL), 4, sub);
        break;
    case 1: { /* push args; call rel32; ret imm16 pops them */
        unsigned args = 1 + rnd(g, 3);
        for (unsigned i = 0; i < args; i++)
            E(g, PUSH, 0, op_r(4, pick_src(g)));
        has_imm = true;
        ret_imm = chance(g, 80) ? 4 * args : rnd(g, 4 * args + 1);
        emit_branch(g, MN(CALL), 4, sub);
        break;
    }
    case 2: { /* call r32 */
        int r = pick_reg(g, 4, 0);
        if (reg_label(g, r, sub)) {
            E(g, CALL, 0, op_r(4, r));
            break;
        }
        emit_branch(g, MN(CALL), 4, sub);
        break;
    }
    case 3: /* call [m32] */
        if (!g->data_dirty) {
            struct mem m = mem_data(g, 4, 16, 0);
            patch_label(g, m.ea, sub);
            E(g, CALL, m.seg, m.op);
            break;
        }
        emit_branch(g, MN(CALL), 4, sub);
        break;
    case 4: { /* call next; pop r: the position-independent-code idiom */
        int r = pick_reg(g, 4, 0);
        emit_branch(g, MN(CALL), 4, sub);
        label_here(g, sub);
        E(g, POP, 0, op_r(4, r));
        reg_written(g, r);
        label_here(g, after);
        return;
    }
    default: { /* nested: call A; A: call B; ret; B: ret */
        int inner = label_new(g);
        emit_branch(g, MN(CALL), 4, sub);
        emit_branch(g, MN(JMP), rand_width(g), after);
        label_here(g, sub);
        emit_branch(g, MN(CALL), 4, inner);
        E0(g, RET, 0);
        label_here(g, inner);
        g->call_depth++;
        emit_steps(g, G_BODY | G_NEUTRAL, 1);
        g->call_depth--;
        E0(g, RET, 0);
        label_here(g, after);
        return;
    }
    }
    emit_branch(g, MN(JMP), rand_width(g), after);
    subroutine(g, sub, ret_imm, has_imm);
    label_here(g, after);
}

void tpl_jmp(struct gen *g)
{
    int target = label_new(g);
    switch (rnd(g, 5)) {
    case 0: /* jmp rel8/rel32 */
        emit_branch(g, MN(JMP), rand_width(g), target);
        break;
    case 1: { /* jmp r32 */
        int r = pick_reg(g, 4, 0);
        if (reg_label(g, r, target))
            E(g, JMP, 0, op_r(4, r));
        else
            emit_branch(g, MN(JMP), rand_width(g), target);
        break;
    }
    case 2: /* jmp [m32] */
        if (!g->data_dirty) {
            struct mem m = mem_data(g, 4, 16, 0);
            patch_label(g, m.ea, target);
            E(g, JMP, m.seg, m.op);
        } else {
            emit_branch(g, MN(JMP), rand_width(g), target);
        }
        break;
    case 3: /* push imm32; ret: a return used as a jump */
        emit_push_label(g, target);
        E0(g, RET, 0);
        break;
    default: { /* backward: jmp L2; L1: body; jmp L3; L2: jmp L1; L3: */
        int l2 = label_new(g), l3 = label_new(g);
        emit_branch(g, MN(JMP), rand_width(g), l2);
        label_here(g, target);
        emit_steps(g, G_BODY, 2);
        emit_branch(g, MN(JMP), rand_width(g), l3);
        label_here(g, l2);
        emit_branch(g, MN(JMP), rand_width(g), target);
        label_here(g, l3);
        return;
    }
    }
    /* code jumped over never runs; knowledge is unchanged by it */
    maybe_body(g, 2);
    label_here(g, target);
}

void tpl_sequence(struct gen *g)
{
    unsigned n = 2 + rnd(g, 5);
    for (unsigned i = 0; i < n && !g->ended && !g->failed; i++) {
        int grp;
        do
            grp = pick_group(g);
        while (!(diff_groups[grp].flags & G_SEQ));
        diff_groups[grp].fn(g);
    }
}
