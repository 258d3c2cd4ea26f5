/* Templates for the stack: push/pop in every operand form and width,
 * pusha/popa, pushf/popf (only arithmetic flags and DF vary), and
 * enter/leave. */
#include <string.h>

#include "bt/cpu.h"
#include "tests/diff/templates.h"
#include "tests/diff/undefined.h"

#define BIT(r) ((uint8_t)(1u << (r)))

static void emit_sized(struct gen *g, ZydisMnemonic mn, ZydisInstructionAttributes pfx,
                       int size, ZydisEncoderOperand op)
{
    struct emit_opts o = {
        .prefixes = pfx,
        .size_hint = size == 2 ? ZYDIS_OPERAND_SIZE_HINT_16 : ZYDIS_OPERAND_SIZE_HINT_32,
    };
    emit_full(g, mn, &o, &op, 1);
}

/* A memory operand in DATA or relative to ESP. */
static struct mem stack_or_data(struct gen *g, int size)
{
    return chance(g, 40) ? mem_stack(g, size) : mem_data(g, size, 16, 0);
}

void tpl_push_pop(struct gen *g)
{
    int size = chance(g, 30) ? 2 : 4;
    switch (rnd(g, 8)) {
    case 0: /* push r (ESP included: pushes the old value) */
        E(g, PUSH, 0, op_r(size, pick_src(g)));
        return;
    case 1: /* push imm8, sign-extended */
        emit_sized(g, MN(PUSH), 0, size, op_i(size, (uint32_t)(int8_t)rnd32(g)));
        return;
    case 2: { /* push imm16/imm32 */
        uint32_t v = rand_value(g) | 0x100u;
        emit_sized(g, MN(PUSH), 0, size, op_i(size, v));
        return;
    }
    case 3: { /* push m */
        struct mem m = stack_or_data(g, size);
        E(g, PUSH, m.seg, m.op);
        return;
    }
    case 4:
    case 5: { /* pop r */
        int r = pick_reg(g, size, 0);
        E(g, POP, 0, op_r(size, r));
        reg_written(g, r);
        return;
    }
    default: { /* pop m: with an ESP base the address uses the new ESP */
        struct mem m = stack_or_data(g, size);
        E(g, POP, m.seg, m.op);
        return;
    }
    }
}

/* lea esp, [esp + d] */
static void move_esp(struct gen *g, int32_t d)
{
    ZydisEncoderOperand m;
    memset(&m, 0, sizeof m);
    m.type = ZYDIS_OPERAND_TYPE_MEMORY;
    m.mem.size = 4;
    m.mem.base = ZYDIS_REGISTER_ESP;
    m.mem.displacement = d;
    E(g, LEA, 0, op_r(4, R_ESP), m);
}

void tpl_pusha_popa(struct gen *g)
{
    /* tpvm probes the whole 16- or 32-byte frame at once: at the start of
     * a case, where ESP is still known, sometimes place the frame across
     * the page boundary in the middle of STACK (or just against it) */
    if (g->c->n_insns == 0 && g->depth == 0 && g->call_depth == 0 && chance(g, 40)) {
        bool wide = chance(g, 60), pop = chance(g, 40), both = chance(g, 30);
        int32_t frame = wide ? 32 : 16;
        int32_t off = rnd_range(g, 0, frame);
        uint32_t target = pop ? STACK_MID - (uint32_t)off : STACK_MID + (uint32_t)off;
        move_esp(g, (int32_t)(target - g->c->regs[R_ESP]));
        if (pop) {
            emit_ops(g, wide ? ZYDIS_MNEMONIC_POPAD : ZYDIS_MNEMONIC_POPA, 0, NULL, 0);
        } else {
            emit_ops(g, wide ? ZYDIS_MNEMONIC_PUSHAD : ZYDIS_MNEMONIC_PUSHA, 0, NULL, 0);
            if (both) /* and back: the values pushed, ESP unchanged */
                emit_ops(g, wide ? ZYDIS_MNEMONIC_POPAD : ZYDIS_MNEMONIC_POPA, 0, NULL, 0);
        }
        if (pop || both)
            for (int r = 0; r < 8; r++)
                if (r != R_ESP)
                    reg_written(g, r);
        return;
    }
    switch (rnd(g, 4)) {
    case 0: E0(g, PUSHAD, 0); return;
    case 1: E0(g, PUSHA, 0); return;
    case 2: E0(g, POPAD, 0); break;
    default: E0(g, POPA, 0); break;
    }
    for (int r = 0; r < 8; r++) /* all but ESP come off the stack */
        if (r != R_ESP)
            reg_written(g, r);
}

void tpl_pushf_popf(struct gen *g)
{
    switch (rnd(g, 4)) {
    case 0:
        flags_need(g, FL_ARITH);
        E0(g, PUSHFD, 0);
        return;
    case 1:
        flags_need(g, FL_ARITH);
        E0(g, PUSHF, 0);
        return;
    default: {
        /* Only the arithmetic flags and DF vary; IF TF IOPL NT AC stay 0.
         * Reserved bits 3, 5 and 15 are sometimes set and bit 1 sometimes
         * clear in the image: POPF must ignore them. */
        uint32_t v = 0x2 | (rnd32(g) & (FL_ARITH | FL_DF));
        if (chance(g, 25))
            v |= rnd32(g) & 0x8028u;
        if (chance(g, 15))
            v &= ~0x2u;
        if (chance(g, 50)) {
            E(g, PUSH, 0, op_i(4, v));
            E0(g, POPFD, 0);
        } else {
            emit_sized(g, MN(PUSH), 0, 2, op_i(2, v));
            E0(g, POPF, 0);
        }
        flags_set(g, FL_ARITH, 0);
        g->df_known = true;
        g->df = (v & FL_DF) != 0;
        return;
    }
    }
}

void tpl_enter_leave(struct gen *g)
{
    if (chance(g, 25)) { /* leave on its own: EBP points into the stack */
        reg_want(g, R_EBP, STACK_MID - 256, STACK_MID + 256);
        E0(g, LEAVE, 0);
        reg_written(g, R_EBP);
        return;
    }
    /* enter N, 0|1; a few frame accesses; leave. EBP comes back as it was,
     * so the generator's knowledge of it stays valid. */
    uint32_t frame = chance(g, 50) ? 4 * rnd(g, 5) : rnd(g, 65);
    E(g, ENTER, 0, op_u(frame), op_u(rnd(g, 2)));
    unsigned n = rnd(g, 3);
    for (unsigned i = 0; i < n; i++) {
        ZydisEncoderOperand m;
        memset(&m, 0, sizeof m);
        m.type = ZYDIS_OPERAND_TYPE_MEMORY;
        m.mem.size = 4;
        m.mem.base = ZYDIS_REGISTER_EBP;
        /* never [ebp, ebp+4): that is the saved EBP leave restores */
        m.mem.displacement = chance(g, 60) ? rnd_range(g, -16, -4) : rnd_range(g, 4, 12);
        switch (rnd(g, 3)) {
        case 0: E(g, MOV, 0, m, op_r(4, pick_src(g))); break;
        case 1: E(g, PUSH, 0, m); break;
        default: {
            int r = pick_reg(g, 4, BIT(R_EBP));
            E(g, ADD, 0, op_r(4, r), m);
            reg_written(g, r);
            flags_set(g, FL_ARITH, 0);
            break;
        }
        }
    }
    E0(g, LEAVE, 0);
}
