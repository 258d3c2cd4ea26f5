/* PUSH, POP and LEAVE, inline: probe the stack slot, move the value, and
 * only then update guest ESP (r14). POP [mem] computes its address with
 * ESP already incremented, as the SDM specifies. */
#include "bt/regs.h"
#include "bt/xlate.h"

static int sreg_index(ZydisRegister r)
{
    switch (r) {
    case ZYDIS_REGISTER_ES: return S_ES;
    case ZYDIS_REGISTER_CS: return S_CS;
    case ZYDIS_REGISTER_SS: return S_SS;
    case ZYDIS_REGISTER_DS: return S_DS;
    case ZYDIS_REGISTER_FS: return S_FS;
    case ZYDIS_REGISTER_GS: return S_GS;
    default: return -1;
    }
}

static ZydisRegister r8_sized(unsigned size)
{
    return size == 2 ? ZYDIS_REGISTER_R8W : R8D;
}

static void load_r8(struct tctx *t, const ZydisDecodedOperand *op, unsigned size)
{
    x_ea(t, op, 0);
    x_probe(t, size, ACC_READ);
    E(&t->e, ZYDIS_MNEMONIC_MOV, 2, R(r8_sized(size)), x_mem(t, size));
    x_probe_end(t);
}

void x_push(struct tctx *t)
{
    struct emit *e = &t->e;
    const ZydisDecodedOperand *op = &t->in->ops[0];
    unsigned size = t->in->d.operand_width == 16 ? 2 : 4;
    eop val;
    if (op->type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
        val = I(size == 2 ? (int16_t)op->imm.value.s : (int32_t)op->imm.value.s);
    } else if (op->type == ZYDIS_OPERAND_TYPE_MEMORY) {
        load_r8(t, op, size);
        val = R(r8_sized(size));
    } else if (sreg_index(op->reg.value) >= 0) {
        E(e, ZYDIS_MNEMONIC_MOVZX, 2, R(R8D),
          MC(OFF(seg[sreg_index(op->reg.value)].sel), 2));
        val = R(r8_sized(size));
    } else {
        val = R(host_reg(op->reg.value, false));
    }
    x_stack_ea(t, -(int32_t)size);
    x_probe(t, size, ACC_WRITE);
    E(e, ZYDIS_MNEMONIC_MOV, 2, x_mem(t, size), val);
    /* the ESP update is part of the core: a store that hits translated
     * code leaves the block right after the whole instruction */
    E(e, ZYDIS_MNEMONIC_LEA, 2, R(R14D), M(R14, NOREG, 0, -(int32_t)size, 4));
    x_probe_end(t);
}

void helper_pop_sreg(struct cpu *cpu, uint32_t arg, uint32_t next);

void x_pop(struct tctx *t)
{
    struct emit *e = &t->e;
    const ZydisDecodedOperand *op = &t->in->ops[0];
    unsigned size = t->in->d.operand_width == 16 ? 2 : 4;
    if (op->type == ZYDIS_OPERAND_TYPE_REGISTER && sreg_index(op->reg.value) >= 0) {
        /* segment loads check descriptors: a helper, and the block ends
         * because the mode may change */
        x_call_helper_end(t, (void *)helper_pop_sreg,
                          HA_SIZE(size) | HA_X(sreg_index(op->reg.value)));
        return;
    }
    x_stack_ea(t, 0);
    x_probe(t, size, ACC_READ);
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(r8_sized(size)), x_mem(t, size));
    x_probe_end(t);
    if (op->type == ZYDIS_OPERAND_TYPE_MEMORY) {
        x_ea(t, op, (int32_t)size);
        x_probe(t, size, ACC_WRITE);
        E(e, ZYDIS_MNEMONIC_MOV, 2, x_mem(t, size), R(r8_sized(size)));
        E(e, ZYDIS_MNEMONIC_LEA, 2, R(R14D), M(R14, NOREG, 0, (int32_t)size, 4));
        x_probe_end(t);
        return;
    }
    ZydisRegister h = host_reg(op->reg.value, false);
    if (h != R14D)
        E(e, ZYDIS_MNEMONIC_LEA, 2, R(R14D), M(R14, NOREG, 0, (int32_t)size, 4));
    else if (size == 2) /* POP SP: SP = value, after the increment */
        E(e, ZYDIS_MNEMONIC_LEA, 2, R(R14D), M(R14, NOREG, 0, 2, 4));
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(h), R(r8_sized(size)));
}

void x_leave(struct tctx *t)
{
    struct emit *e = &t->e;
    unsigned size = t->in->d.operand_width == 16 ? 2 : 4;
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(R10D), R(EBP));
    ZydisDecodedOperand ss;
    (void)ss;
    if (!(t->mode & MODE_FLAT)) {
        E(e, ZYDIS_MNEMONIC_MOV, 2, R(R9D), MC(OFF(seg[S_SS].base), 4));
        E(e, ZYDIS_MNEMONIC_LEA, 2, R(R10D), M(R10, R9, 1, 0, 4));
    }
    x_probe(t, size, ACC_READ);
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(r8_sized(size)), x_mem(t, size));
    x_probe_end(t);
    E(e, ZYDIS_MNEMONIC_LEA, 2, R(R14D), M(RBP, NOREG, 0, (int32_t)size, 4));
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(size == 2 ? ZYDIS_REGISTER_BP : EBP),
      R(r8_sized(size)));
}
