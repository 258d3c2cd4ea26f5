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
 * Limitation: unmasked exceptions are not delivered as #MF, and the
 * status word's ES/B bits then read 0.
 *
 * Under CR0.TS or CR0.EM (MODE_FPU_NM) each x87 instruction first calls
 * a helper that raises #NM (or #UD for FXSAVE/FXRSTOR under EM). */
#include <string.h>

#include "bt/helpers.h"
#include "bt/regs.h"
#include "bt/xlate.h"

/* bt/helpers_fpu.c */
HELPER(helper_fpu_nm);
HELPER(helper_fwait_nm);
HELPER(helper_fxsr_nm);
HELPER(helper_fnstenv);
HELPER(helper_fnstenv16);
HELPER(helper_fldenv);
HELPER(helper_fldenv16);
HELPER(helper_fnsave);
HELPER(helper_fnsave16);
HELPER(helper_frstor);
HELPER(helper_frstor16);
HELPER(helper_fxsave);
HELPER(helper_fxrstor);

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
 * miss path); the host word is built in the red zone, which signal
 * delivery skips. */
static void x_fldcw(struct tctx *t, const ZydisDecodedOperand *op)
{
    struct emit *e = &t->e;
    eop scratch = M(RSP, NOREG, 0, -8, 2);
    x_ea(t, op, 0);
    x_probe(t, 2, ACC_READ);
    E(e, ZYDIS_MNEMONIC_MOVZX, 2, R(R9D), x_mem(t, 2));
    x_probe_end(t);
    E(e, ZYDIS_MNEMONIC_MOV, 2, MC(GUEST_CW, 2), R(ZYDIS_REGISTER_R9W));
    E(e, ZYDIS_MNEMONIC_MOV, 2, scratch, R(ZYDIS_REGISTER_R9W));
    E(e, ZYDIS_MNEMONIC_MOV, 2, M(RSP, NOREG, 0, -8, 1), I(HOST_CW_LOW));
    E(e, ZYDIS_MNEMONIC_FLDCW, 1, scratch);
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

/* Call fn(cpu, linear address of the operand, next eip): the address is
 * the helper argument (rt.call_helper: r11 = fn, r8d = eip, r9d = arg,
 * r10d = next eip). */
static void x_fpu_image(struct tctx *t, const ZydisDecodedOperand *op,
                        void *fn)
{
    struct emit *e = &t->e;
    x_ea(t, op, 0);
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(R9D), R(R10D));
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(R11), I((int64_t)(uintptr_t)fn));
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(R8D), I32(t->in->eip));
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(R10D), I32(t->next_eip));
    E_call_abs(e, t->bt->rt.call_helper);
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

    switch (m) {
    case ZYDIS_MNEMONIC_FWAIT:
        return; /* no #MF: pending exceptions are never unmasked on the host */
    case ZYDIS_MNEMONIC_FNINIT: {
        static const uint8_t fninit[] = {0xdb, 0xe3};
        E_bytes(e, fninit, sizeof fninit);
        E(e, ZYDIS_MNEMONIC_MOV, 2, MC(GUEST_CW, 2), I(FNINIT_CW));
        return;
    }
    case ZYDIS_MNEMONIC_FLDCW:
        x_fldcw(t, op);
        return;
    case ZYDIS_MNEMONIC_FNSTCW:
        x_fnstcw(t, op);
        return;
    case ZYDIS_MNEMONIC_FNSTENV:
        x_fpu_image(t, op, o16 ? (void *)helper_fnstenv16 : (void *)helper_fnstenv);
        return;
    case ZYDIS_MNEMONIC_FLDENV:
        x_fpu_image(t, op, o16 ? (void *)helper_fldenv16 : (void *)helper_fldenv);
        return;
    case ZYDIS_MNEMONIC_FNSAVE:
        x_fpu_image(t, op, o16 ? (void *)helper_fnsave16 : (void *)helper_fnsave);
        return;
    case ZYDIS_MNEMONIC_FRSTOR:
        x_fpu_image(t, op, o16 ? (void *)helper_frstor16 : (void *)helper_frstor);
        return;
    case ZYDIS_MNEMONIC_FXSAVE:
        x_fpu_image(t, op, (void *)helper_fxsave);
        return;
    case ZYDIS_MNEMONIC_FXRSTOR:
        x_fpu_image(t, op, (void *)helper_fxrstor);
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
