/* PUSH, POP, PUSHA, POPA and LEAVE, inline: probe the stack slot (for
 * PUSHA/POPA the whole frame at once), move the values, and only then
 * update guest ESP (r14). POP [mem] computes its address with ESP already
 * incremented, as the SDM specifies. */
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
    if (x_stack_run(t))
        return;
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
        int s = sreg_index(op->reg.value);
        uint32_t arg = HA_SIZE(size) | HA_X(s);
        if (x_seg_inline_ok(t, s)) {
            /* the selector, then a load the cache may know (xlate_seg.c) */
            x_stack_ea(t, 0);
            x_probe(t, size, ACC_READ);
            E(e, ZYDIS_MNEMONIC_MOVZX, 2, R(R8D), x_mem(t, 2));
            x_probe_end(t);
            x_seg_load(t, s, size, (void *)helper_pop_sreg, arg);
            return;
        }
        /* segment loads check descriptors: a helper, and the block ends
         * because the mode may change */
        x_call_helper_end(t, (void *)helper_pop_sreg, arg);
        return;
    }
    if (x_stack_run(t))
        return;
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
    if (x_stack_run(t))
        return;
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

/* PUSHA/PUSHAD: the 16- or 32-byte frame is probed as one access (a
 * frame that crosses a page, or misses the TLB, takes the slow path with
 * both pages checked before anything is written, like the helper did).
 * EAX goes highest, EDI lowest; the ESP slot gets ESP before the
 * instruction. The core is the eight stores and the ESP update, and can
 * be run again from its start. */
void x_pusha(struct tctx *t)
{
    struct emit *e = &t->e;
    unsigned size = t->in->d.operand_width == 16 ? 2 : 4;
    unsigned frame = 8 * size;
    x_stack_ea_size(t, -(int32_t)frame, frame);
    x_probe(t, frame, ACC_WRITE);
    for (int i = 0; i < 8; i++)
        E(e, ZYDIS_MNEMONIC_MOV, 2, x_mem_disp(t, size, (7 - i) * (int32_t)size),
          R(size == 2 ? guest_host16[i] : guest_host32[i]));
    E(e, ZYDIS_MNEMONIC_LEA, 2, R(R14D), M(R14, NOREG, 0, -(int32_t)frame, 4));
    x_probe_end(t);
}

/* POPA/POPAD: one probe of the frame, the seven loads (the ESP slot is
 * skipped), then ESP moves past the frame. */
void x_popa(struct tctx *t)
{
    struct emit *e = &t->e;
    unsigned size = t->in->d.operand_width == 16 ? 2 : 4;
    unsigned frame = 8 * size;
    x_stack_ea_size(t, 0, frame);
    x_probe(t, frame, ACC_READ);
    for (int i = 0; i < 8; i++)
        if (i != R_ESP)
            E(e, ZYDIS_MNEMONIC_MOV, 2, R(size == 2 ? guest_host16[i] : guest_host32[i]),
              x_mem_disp(t, size, (7 - i) * (int32_t)size));
    x_probe_end(t);
    E(e, ZYDIS_MNEMONIC_LEA, 2, R(R14D), M(R14, NOREG, 0, (int32_t)frame, 4));
}

/* The guest's arithmetic flags, which live in host EFLAGS, into r8w
 * without changing them: AH = SF ZF - AF - PF - CF (LAHF), AL = OF. */
static void flags_save_r8(struct emit *e)
{
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(R9D), R(EAX));
    E(e, ZYDIS_MNEMONIC_LAHF, 0);
    E(e, ZYDIS_MNEMONIC_SETO, 1, R(ZYDIS_REGISTER_AL));
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(R8D), R(EAX));
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(EAX), R(R9D));
}

/* Host EFLAGS from an image in AH (SF ZF AF PF CF) and AL (OF as 0/1);
 * clobbers eax: the caller keeps guest EAX elsewhere. 0x7f + 1
 * overflows, 0x7f + 0 does not; SAHF then sets the other five. */
static void flags_load_ax(struct emit *e)
{
    E(e, ZYDIS_MNEMONIC_ADD, 2, R(ZYDIS_REGISTER_AL), I(0x7f));
    E(e, ZYDIS_MNEMONIC_SAHF, 0);
}

/* PUSHF/PUSHFD: the EFLAGS image is built inline: the arithmetic flags
 * from host EFLAGS (saved with LAHF/SETO and put back with ADD/SAHF, no
 * POPF), DF and IF from cpu->df and cpu->if_flag, the rest from
 * cpu->eflags, with VM and RF read as 0. Then an ordinary push. */
void x_pushf(struct tctx *t)
{
    struct emit *e = &t->e;
    unsigned size = t->in->d.operand_width == 16 ? 2 : 4;
    flags_save_r8(e);
    /* host flags are free until flags_load_ax */
    E(e, ZYDIS_MNEMONIC_MOVZX, 2, R(ECX), R(ZYDIS_REGISTER_R8B));
    E(e, ZYDIS_MNEMONIC_SHL, 2, R(ECX), I(11));
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(R9D), R(R8D));
    E(e, ZYDIS_MNEMONIC_SHR, 2, R(R9D), I(8));
    E(e, ZYDIS_MNEMONIC_AND, 2, R(R9D), I(FL_ARITH & 0xffu));
    E(e, ZYDIS_MNEMONIC_OR, 2, R(ECX), R(R9D));
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(R9D), MC(OFF(eflags), 4));
    E(e, ZYDIS_MNEMONIC_AND, 2, R(R9D),
      I((int32_t) ~(FL_ARITH | FL_DF | FL_IF | FL_RF | FL_VM)));
    E(e, ZYDIS_MNEMONIC_OR, 2, R(ECX), R(R9D));
    E(e, ZYDIS_MNEMONIC_OR, 2, R(ECX), MC(OFF(if_flag), 4));
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(R9D), MC(OFF(df), 4));
    E(e, ZYDIS_MNEMONIC_SHL, 2, R(R9D), I(10));
    E(e, ZYDIS_MNEMONIC_OR, 2, R(ECX), R(R9D));
    E(e, ZYDIS_MNEMONIC_OR, 2, R(ECX), I(2));
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(R9D), R(EAX));
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(EAX), R(R8D));
    flags_load_ax(e);
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(EAX), R(R9D));
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(R8D), R(ECX));
    x_stack_ea(t, -(int32_t)size);
    x_probe(t, size, ACC_WRITE);
    E(e, ZYDIS_MNEMONIC_MOV, 2, x_mem(t, size), R(r8_sized(size)));
    E(e, ZYDIS_MNEMONIC_LEA, 2, R(R14D), M(R14, NOREG, 0, -(int32_t)size, 4));
    x_probe_end(t);
}

void helper_popf(struct cpu *cpu, uint32_t arg, uint32_t next);

/* POPF/POPFD. At CPL 0 (outside single-stepping) inline: every flag
 * POPF may change there (arithmetic, DF, IF, IOPL, NT, AC, ID) but TF,
 * whose setting changes the translation mode, so a popped TF takes the
 * helper. IF going on with an interrupt pending stops the CPU, like STI,
 * and the block ends after the instruction, as with the helper. */
void x_popf(struct tctx *t)
{
    struct emit *e = &t->e;
    unsigned size = t->in->d.operand_width == 16 ? 2 : 4;
    if (!(t->mode & MODE_CPL0) || (t->mode & MODE_DEBUG)) {
        x_call_helper_end(t, (void *)helper_popf, size);
        return;
    }
    uint32_t mask = FL_ARITH | FL_TF | FL_DF | FL_NT | FL_AC | FL_ID | FL_IOPL | FL_IF;
    if (size == 2)
        mask &= 0xffffu;
    x_stack_ea(t, 0);
    x_probe(t, size, ACC_READ);
    E(e, size == 2 ? ZYDIS_MNEMONIC_MOVZX : ZYDIS_MNEMONIC_MOV, 2, R(R8D),
      x_mem(t, size));
    x_probe_end(t);
    /* TF in the popped image: the helper (flags are still the guest's) */
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(R9D), I(31));
    E(e, ZYDIS_MNEMONIC_RORX, 3, R(ECX), R(R8D), I(8));
    E(e, ZYDIS_MNEMONIC_SHLX, 3, R(ECX), R(ECX), R(R9D));
    uint8_t *no_tf = E_branch(e, ZYDIS_MNEMONIC_JRCXZ, e->p, ZYDIS_BRANCH_WIDTH_8);
    uint8_t *to_slow = E_branch(e, ZYDIS_MNEMONIC_JMP, e->p, ZYDIS_BRANCH_WIDTH_32);
    patch_rel8(no_tf, e->p);
    /* the popped value replaces the arithmetic flags: host flags are free */
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(ECX), MC(OFF(eflags), 4));
    E(e, ZYDIS_MNEMONIC_AND, 2, R(ECX), I((int32_t)~mask));
    E(e, ZYDIS_MNEMONIC_AND, 2, R(R8D), I((int32_t)mask));
    E(e, ZYDIS_MNEMONIC_OR, 2, R(ECX), R(R8D));
    E(e, ZYDIS_MNEMONIC_MOV, 2, MC(OFF(eflags), 4), R(ECX));
    emit_split_df_if(e);
    /* IF 0 -> 1 with an interrupt pending: stop at the next block */
    E(e, ZYDIS_MNEMONIC_CMP, 2, MC(OFF(if_flag), 4), I(0));
    uint8_t *was_on = E_branch(e, ZYDIS_MNEMONIC_JNZ, e->p, ZYDIS_BRANCH_WIDTH_8);
    E(e, ZYDIS_MNEMONIC_TEST, 2, R(R9D), R(R9D));
    uint8_t *stays_off = E_branch(e, ZYDIS_MNEMONIC_JZ, e->p, ZYDIS_BRANCH_WIDTH_8);
    E(e, ZYDIS_MNEMONIC_CMP, 2, MC(OFF(irq_pending), 4), I(0));
    uint8_t *none = E_branch(e, ZYDIS_MNEMONIC_JZ, e->p, ZYDIS_BRANCH_WIDTH_8);
    E(e, ZYDIS_MNEMONIC_MOV, 2, MC(OFF(run), 4), I(0));
    patch_rel8(was_on, e->p);
    patch_rel8(stays_off, e->p);
    patch_rel8(none, e->p);
    E(e, ZYDIS_MNEMONIC_MOV, 2, MC(OFF(if_flag), 4), R(R9D));
    /* host flags from the image: AH = its low byte, AL = OF */
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(R9D), R(EAX));
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(R10D), R(ECX));
    E(e, ZYDIS_MNEMONIC_SHR, 2, R(R10D), I(11));
    E(e, ZYDIS_MNEMONIC_AND, 2, R(R10D), I(1));
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(EAX), R(ECX));
    E(e, ZYDIS_MNEMONIC_SHL, 2, R(EAX), I(8));
    E(e, ZYDIS_MNEMONIC_OR, 2, R(EAX), R(R10D));
    flags_load_ax(e);
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(EAX), R(R9D));
    E(e, ZYDIS_MNEMONIC_LEA, 2, R(R14D), M(R14, NOREG, 0, (int32_t)size, 4));
    uint8_t *done = E_branch(e, ZYDIS_MNEMONIC_JMP, e->p, ZYDIS_BRANCH_WIDTH_32);
    patch_rel32(to_slow, e->p);
    x_call_helper(t, (void *)helper_popf, size);
    patch_rel32(done, e->p);
    x_exit_direct(t, ZYDIS_MNEMONIC_JMP, t->next_eip);
    t->ended = true;
}
