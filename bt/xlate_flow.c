/* Control flow: direct and indirect jumps, conditional jumps, calls and
 * returns, LOOP/JECXZ. Direct targets become chainable exits; indirect
 * ones go through the inline branch cache (x_exit_indirect). Every guest
 * register update happens after the memory accesses of the instruction,
 * so a fault leaves the state of the instruction's start. */
#include "bt/regs.h"
#include "bt/xlate.h"

static uint32_t rel_target(const struct tctx *t)
{
    const ZydisDecodedOperand *op = &t->in->ops[0];
    uint32_t target = t->next_eip + (uint32_t)op->imm.value.s;
    if (t->in->d.operand_width == 16)
        target &= 0xffffu;
    return target;
}

/* Target of an r/m operand into r8d (register or memory). */
static void rm_target(struct tctx *t)
{
    const ZydisDecodedOperand *op = &t->in->ops[0];
    struct emit *e = &t->e;
    unsigned size = op->size / 8;
    if (op->type == ZYDIS_OPERAND_TYPE_REGISTER) {
        ZydisRegister h = host_reg(op->reg.value, false);
        if (size == 2)
            E(e, ZYDIS_MNEMONIC_MOVZX, 2, R(R8D), R(h));
        else
            E(e, ZYDIS_MNEMONIC_MOV, 2, R(R8D), R(h));
        return;
    }
    x_ea(t, op, 0);
    x_probe(t, size, ACC_READ);
    if (size == 2)
        E(e, ZYDIS_MNEMONIC_MOVZX, 2, R(R8D), x_mem(t, 2));
    else
        E(e, ZYDIS_MNEMONIC_MOV, 2, R(R8D), x_mem(t, 4));
    x_probe_end(t);
}

void x_jmp(struct tctx *t)
{
    const ZydisDecodedOperand *op = &t->in->ops[0];
    t->ended = true;
    if (op->type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
        x_exit_direct(t, ZYDIS_MNEMONIC_JMP, rel_target(t));
        return;
    }
    rm_target(t);
    E(&t->e, ZYDIS_MNEMONIC_MOV, 2, R(R9D), R(R8D));
    x_exit_indirect(t);
}

void x_jcc(struct tctx *t)
{
    t->ended = true;
    x_exit_direct(t, t->in->d.mnemonic, rel_target(t));
    x_exit_direct(t, ZYDIS_MNEMONIC_JMP, t->next_eip);
}

/* Push the 32- or 16-bit value `val` (register or imm) at [ESP - size]. */
static void push_value(struct tctx *t, eop val, unsigned size)
{
    struct emit *e = &t->e;
    x_stack_ea(t, -(int32_t)size);
    x_probe(t, size, ACC_WRITE);
    E(e, ZYDIS_MNEMONIC_MOV, 2, x_mem(t, size), val);
    /* in the core: a store that hits translated code leaves after it */
    E(e, ZYDIS_MNEMONIC_LEA, 2, R(R14D), M(R14, NOREG, 0, -(int32_t)size, 4));
    x_probe_end(t);
}

void x_call(struct tctx *t)
{
    const ZydisDecodedOperand *op = &t->in->ops[0];
    unsigned size = t->in->d.operand_width == 16 ? 2 : 4;
    t->ended = true;
    uint32_t ret = t->next_eip;
    if (op->type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
        push_value(t, I(size == 2 ? (int16_t)ret : (int32_t)ret), size);
        x_exit_direct(t, ZYDIS_MNEMONIC_JMP, rel_target(t));
        return;
    }
    rm_target(t); /* target in r8d: the push below may still fault */
    push_value(t, I(size == 2 ? (int16_t)ret : (int32_t)ret), size);
    E(&t->e, ZYDIS_MNEMONIC_MOV, 2, R(R9D), R(R8D));
    x_exit_indirect(t);
}

void x_ret(struct tctx *t)
{
    struct emit *e = &t->e;
    unsigned size = t->in->d.operand_width == 16 ? 2 : 4;
    uint32_t extra = 0;
    if (t->in->d.operand_count_visible > 0 &&
        t->in->ops[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE)
        extra = (uint16_t)t->in->ops[0].imm.value.u;
    t->ended = true;
    x_stack_ea(t, 0);
    x_probe(t, size, ACC_READ);
    if (size == 2)
        E(e, ZYDIS_MNEMONIC_MOVZX, 2, R(R8D), x_mem(t, 2));
    else
        E(e, ZYDIS_MNEMONIC_MOV, 2, R(R8D), x_mem(t, 4));
    x_probe_end(t);
    E(e, ZYDIS_MNEMONIC_LEA, 2, R(R14D), M(R14, NOREG, 0, (int32_t)(size + extra), 4));
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(R9D), R(R8D));
    x_exit_indirect(t);
}

/* LOOP/LOOPE/LOOPNE/JECXZ, flag-free: the count is tested with jrcxz on
 * a copy of guest ECX (or CX with a 16-bit address size). */
void x_loop(struct tctx *t)
{
    struct emit *e = &t->e;
    ZydisMnemonic m = t->in->d.mnemonic;
    bool cx16 = t->in->d.address_width == 16;
    t->ended = true;
    if (m != ZYDIS_MNEMONIC_JECXZ && m != ZYDIS_MNEMONIC_JCXZ) {
        if (cx16) {
            E(e, ZYDIS_MNEMONIC_LEA, 2, R(R9D), M(R12, NOREG, 0, -1, 4));
            E(e, ZYDIS_MNEMONIC_MOV, 2, R(ZYDIS_REGISTER_R12W), R(ZYDIS_REGISTER_R9W));
        } else {
            E(e, ZYDIS_MNEMONIC_LEA, 2, R(R12D), M(R12, NOREG, 0, -1, 4));
        }
    }
    if (cx16)
        E(e, ZYDIS_MNEMONIC_MOVZX, 2, R(ECX), R(ZYDIS_REGISTER_R12W));
    else
        E(e, ZYDIS_MNEMONIC_MOV, 2, R(ECX), R(R12D));
    uint32_t target = rel_target(t);
    if (m == ZYDIS_MNEMONIC_JECXZ || m == ZYDIS_MNEMONIC_JCXZ) {
        uint8_t *jz = E_branch(e, ZYDIS_MNEMONIC_JRCXZ, e->p, ZYDIS_BRANCH_WIDTH_8);
        x_exit_direct(t, ZYDIS_MNEMONIC_JMP, t->next_eip);
        patch_rel8(jz, e->p);
        x_exit_direct(t, ZYDIS_MNEMONIC_JMP, target);
        return;
    }
    /* fall through when the count reached zero or the ZF test fails */
    uint8_t *zero = E_branch(e, ZYDIS_MNEMONIC_JRCXZ, e->p, ZYDIS_BRANCH_WIDTH_8);
    uint8_t *cond = NULL;
    if (m == ZYDIS_MNEMONIC_LOOPE)
        cond = E_branch(e, ZYDIS_MNEMONIC_JNZ, e->p, ZYDIS_BRANCH_WIDTH_8);
    else if (m == ZYDIS_MNEMONIC_LOOPNE)
        cond = E_branch(e, ZYDIS_MNEMONIC_JZ, e->p, ZYDIS_BRANCH_WIDTH_8);
    x_exit_direct(t, ZYDIS_MNEMONIC_JMP, target);
    patch_rel8(zero, e->p);
    if (cond)
        patch_rel8(cond, e->p);
    x_exit_direct(t, ZYDIS_MNEMONIC_JMP, t->next_eip);
}
