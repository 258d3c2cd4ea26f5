/* x87 instructions, run on the host's own x87 unit.
 *
 * tpvm's C code never uses x87 (x86-64 C computes with SSE), so the host
 * x87 registers, tag and status words hold the guest's while translated
 * code runs (helpers_fpu.c moves them in and out at the edges of bt_run).
 * An x87 instruction is therefore copied: register forms byte for byte,
 * memory forms re-encoded on the TLB-probed host pointer. No helper call
 * and no bookkeeping for ordinary x87 code.
 *
 * The one piece of state that is not the host's is the control word: the
 * host's keeps all six exception masks set, so a guest that unmasks an
 * exception can never make the host raise SIGFPE. The guest's control
 * word, as written, lives in the FCW field of cpu->fpu.fx; FLDCW, FNSTCW
 * and FNINIT keep the two in step inline, the environment and state
 * images (FNSTENV, FLDENV, FNSAVE, FRSTOR, FXSAVE, FXRSTOR: up to 512
 * bytes, more than the probe's bounce buffer) go to helpers.
 *
 * Unmasked exceptions: while the guest's word unmasks any exception,
 * blocks are translated under MODE_FPU_MF, where each waiting x87
 * instruction first asks a helper whether an unmasked exception is
 * pending (#MF, with CR0.NE) and FNSTSW adds the ES and B bits the host
 * never sets. Every instruction that loads a control word leaves the
 * block when the answer to "anything unmasked?" changes, so code
 * translated without the checks never runs with exceptions unmasked.
 * Limitation: the operation that raises an unmasked exception still
 * stores the masked response (the host computed it masked).
 *
 * Under CR0.TS or CR0.EM (MODE_FPU_NM) each x87 instruction first calls
 * a helper that raises #NM (or #UD for FXSAVE/FXRSTOR under EM). */
#include <string.h>

#include "bt/helpers.h"
#include "bt/regs.h"
#include "bt/xlate.h"

/* The guest's control word: the FCW field of the FXSAVE-layout image. */
#define GUEST_CW OFF(fpu.fx[0])
#define FNINIT_CW 0x037f
/* Host control word low byte: every exception masked (bit 6 reads 1). */
#define HOST_CW_LOW 0x7f

static const ZydisDecodedOperand *mem_operand(const struct insn *in)
{
    for (unsigned i = 0; i < in->d.operand_count_visible; i++)
        if (in->ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY)
            return &in->ops[i];
    return NULL;
}

static void fail(struct tctx *t, const char *why)
{
    t->e.failed = true;
    snprintf(t->e.failed_what, sizeof t->e.failed_what, "%s %s",
             ZydisMnemonicGetString(t->in->d.mnemonic), why);
}

/* The guest instruction with its memory operand on the probed pointer. */
static void emit_mem_core(struct tctx *t)
{
    const struct insn *in = t->in;
    ZydisEncoderRequest req;
    memset(&req, 0, sizeof req);
    if (ZYAN_FAILED(ZydisEncoderDecodedInstructionToEncoderRequest(
            &in->d, in->ops, in->d.operand_count_visible, &req))) {
        fail(t, "cannot be re-encoded");
        return;
    }
    req.machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
    req.prefixes &= ~(ZyanU64)ZYDIS_ATTRIB_HAS_SEGMENT;
    req.address_size_hint = ZYDIS_ADDRESS_SIZE_HINT_NONE;
    eop mem = x_mem(t, 0);
    for (unsigned i = 0; i < req.operand_count; i++) {
        ZydisEncoderOperand *o = &req.operands[i];
        if (o->type != ZYDIS_OPERAND_TYPE_MEMORY)
            continue;
        o->mem.base = mem.mem.base;
        o->mem.index = mem.mem.index;
        o->mem.scale = mem.mem.scale;
        o->mem.displacement = mem.mem.displacement;
    }
    E_req(&t->e, &req);
}

/* FLD m, FSTP m, FIADD m, FNSTSW m ...: probe, then the instruction. */
static void x_fpu_mem(struct tctx *t, const ZydisDecodedOperand *op)
{
    unsigned acc = 0;
    if (op->actions & ZYDIS_OPERAND_ACTION_MASK_READ)
        acc |= ACC_READ;
    if (op->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE)
        acc |= ACC_WRITE;
    unsigned size = op->size / 8;
    if (size == 0 || size > sizeof t->cpu->bounce) {
        fail(t, "memory operand size out of range");
        return;
    }
    x_ea(t, op, 0);
    x_probe(t, size, acc);
    emit_mem_core(t);
    x_probe_end(t);
}

/* FLDCW m16: remember the guest's word, load it with all exceptions
 * masked. The core only loads (scratch registers do not survive the
 * miss path); the host word goes through the red zone, which signal
 * delivery skips, as one 16-bit store so the load is forwarded. */
static void x_fldcw(struct tctx *t, const ZydisDecodedOperand *op)
{
    struct emit *e = &t->e;
    eop scratch = M(RSP, NOREG, 0, -8, 2);
    x_ea(t, op, 0);
    x_probe(t, 2, ACC_READ);
    E(e, ZYDIS_MNEMONIC_MOVZX, 2, R(R9D), x_mem(t, 2));
    x_probe_end(t);
    E(e, ZYDIS_MNEMONIC_MOV, 2, MC(GUEST_CW, 2), R(ZYDIS_REGISTER_R9W));
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(ECX), R(R9D));
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(ZYDIS_REGISTER_R9B), I(HOST_CW_LOW));
    E(e, ZYDIS_MNEMONIC_MOV, 2, scratch, R(ZYDIS_REGISTER_R9W));
    E(e, ZYDIS_MNEMONIC_FLDCW, 1, scratch);
    if (t->mode & MODE_FPU_MF) {
        x_call_helper(t, (void *)helper_fpu_mode, FPU_ARG_MF);
        return;
    }
    /* rcx = the guest's six mask bits inverted, shifted to the top: 0
     * when all exceptions stay masked (the usual case: no call) */
    E(e, ZYDIS_MNEMONIC_NOT, 1, R(ECX));
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(R11D), I(26));
    E(e, ZYDIS_MNEMONIC_SHLX, 3, R(ECX), R(ECX), R(R11D));
    uint8_t *masked = E_branch(e, ZYDIS_MNEMONIC_JRCXZ, e->p, ZYDIS_BRANCH_WIDTH_8);
    x_call_helper(t, (void *)helper_fpu_mode, 0);
    patch_rel8(masked, e->p);
}

/* FNSTCW m16: the guest's word, exactly as it was written. */
static void x_fnstcw(struct tctx *t, const ZydisDecodedOperand *op)
{
    struct emit *e = &t->e;
    x_ea(t, op, 0);
    x_probe(t, 2, ACC_WRITE);
    E(e, ZYDIS_MNEMONIC_MOVZX, 2, R(R9D), MC(GUEST_CW, 2));
    E(e, ZYDIS_MNEMONIC_MOV, 2, x_mem(t, 2), R(ZYDIS_REGISTER_R9W));
    x_probe_end(t);
}

/* The state images go to a helper with the operand's linear address in
 * r8 (kept across the call and handed over as cpu->save_r8) and the
 * operand size in bits as the argument. */
static void x_fpu_image(struct tctx *t, const ZydisDecodedOperand *op,
                        void *fn, bool o16)
{
    x_ea(t, op, 0);
    E(&t->e, ZYDIS_MNEMONIC_MOV, 2, R(R8D), R(R10D));
    x_call_helper(t, fn, (o16 ? 16u : 32u) | (t->mode & MODE_FPU_MF ? FPU_ARG_MF : 0));
}

/* FNSTSW under MODE_FPU_MF: the helper adds ES and B (arg 1: to memory
 * at r8, else AX). */
static void x_fnstsw_mf(struct tctx *t, const ZydisDecodedOperand *op)
{
    if (op) {
        x_ea(t, op, 0);
        E(&t->e, ZYDIS_MNEMONIC_MOV, 2, R(R8D), R(R10D));
    }
    x_call_helper(t, (void *)helper_fnstsw, op ? 1 : 0);
}

/* The instructions that never report a pending exception: the no-wait
 * forms, and the loads of control state (their SDM pages list no #MF;
 * an exception they unmask is reported by the next waiting one). */
static bool no_wait(ZydisMnemonic m)
{
    switch (m) {
    case ZYDIS_MNEMONIC_FNINIT: case ZYDIS_MNEMONIC_FNCLEX:
    case ZYDIS_MNEMONIC_FNSTSW: case ZYDIS_MNEMONIC_FNSTCW:
    case ZYDIS_MNEMONIC_FNSTENV: case ZYDIS_MNEMONIC_FNSAVE:
    case ZYDIS_MNEMONIC_FXSAVE: case ZYDIS_MNEMONIC_FXRSTOR:
    case ZYDIS_MNEMONIC_FLDCW: case ZYDIS_MNEMONIC_FLDENV:
    case ZYDIS_MNEMONIC_FRSTOR:
        return true;
    default:
        return false;
    }
}

void x_fpu(struct tctx *t)
{
    const struct insn *in = t->in;
    struct emit *e = &t->e;
    ZydisMnemonic m = in->d.mnemonic;
    bool o16 = in->d.operand_width == 16;
    const ZydisDecodedOperand *op = mem_operand(in);

    if (t->mode & MODE_FPU_NM) {
        /* CR0 may differ between runs of the block (TS vs EM vs MP):
         * the helper decides and returns when nothing is raised */
        void *check = m == ZYDIS_MNEMONIC_FWAIT ? (void *)helper_fwait_nm
                    : (m == ZYDIS_MNEMONIC_FXSAVE || m == ZYDIS_MNEMONIC_FXRSTOR)
                        ? (void *)helper_fxsr_nm
                        : (void *)helper_fpu_nm;
        x_call_helper(t, check, 0);
    }
    /* #NM comes before #MF */
    if ((t->mode & MODE_FPU_MF) && !no_wait(m))
        x_call_helper(t, (void *)helper_fpu_mf, 0);

    switch (m) {
    case ZYDIS_MNEMONIC_FWAIT:
        return; /* only the checks above */
    case ZYDIS_MNEMONIC_FNINIT: {
        static const uint8_t fninit[] = {0xdb, 0xe3};
        E_bytes(e, fninit, sizeof fninit);
        E(e, ZYDIS_MNEMONIC_MOV, 2, MC(GUEST_CW, 2), I(FNINIT_CW));
        if (t->mode & MODE_FPU_MF) /* everything masked again */
            x_call_helper(t, (void *)helper_fpu_mode, FPU_ARG_MF);
        return;
    }
    case ZYDIS_MNEMONIC_FNSTSW:
        if (t->mode & MODE_FPU_MF) {
            x_fnstsw_mf(t, op);
            return;
        }
        break;
    case ZYDIS_MNEMONIC_FLDCW:
        x_fldcw(t, op);
        return;
    case ZYDIS_MNEMONIC_FNSTCW:
        x_fnstcw(t, op);
        return;
    case ZYDIS_MNEMONIC_FNSTENV:
        x_fpu_image(t, op, (void *)helper_fnstenv, o16);
        return;
    case ZYDIS_MNEMONIC_FLDENV:
        x_fpu_image(t, op, (void *)helper_fldenv, o16);
        return;
    case ZYDIS_MNEMONIC_FNSAVE:
        x_fpu_image(t, op, (void *)helper_fnsave, o16);
        return;
    case ZYDIS_MNEMONIC_FRSTOR:
        x_fpu_image(t, op, (void *)helper_frstor, o16);
        return;
    case ZYDIS_MNEMONIC_FXSAVE:
        x_fpu_image(t, op, (void *)helper_fxsave, false);
        return;
    case ZYDIS_MNEMONIC_FXRSTOR:
        x_fpu_image(t, op, (void *)helper_fxrstor, false);
        return;
    default:
        break;
    }
    if (op) {
        x_fpu_mem(t, op);
        return;
    }
    /* Register forms mean the same in 64-bit mode (no x87 opcode takes a
     * REX prefix, and 0x40-0x4f are not prefixes in 32-bit code). FNSTSW
     * AX writes host AX, which is guest AX; FCOMI and FCMOVcc use host
     * EFLAGS, which hold the guest's arithmetic flags. */
    E_bytes(e, in->bytes, in->len);
}
