/* String instructions (MOVS STOS LODS CMPS SCAS INS OUTS). One element
 * without a REP prefix, with DF clear, is translated inline: a probe per
 * access, the access, then the ESI/EDI steps inside the access's core (so
 * a slow-path write that hits translated code resumes after the whole
 * instruction). Compiled string code runs millions of these: strcmp's
 * LODSB/SCASB loop, strlen, memcpy tails. REP MOVS and REP STOS of at
 * most a page on each side run the host's REP MOVS/STOS on host pointers
 * (memcpy, memset, copy_to_user). Everything else (DF set, the other REP
 * forms, 16-bit addressing, port I/O, a TLB miss or a page boundary) goes
 * to helper_string (helpers_string.c). */
#include <stddef.h>
#include <string.h>

#include "bt/helpers.h"
#include "bt/regs.h"
#include "bt/xlate.h"

static uint32_t arg_of(unsigned size, unsigned op, unsigned rep,
                       unsigned src_seg, const ZydisDecodedInstruction *d)
{
    return HA_SIZE(size) | ((uint32_t)op << 20) | ((uint32_t)rep << 24) |
           ((uint32_t)src_seg << 26) | ((uint32_t)(d->address_width == 16) << 29);
}

static ZydisRegister sized(unsigned size, ZydisRegister r8, ZydisRegister r16,
                           ZydisRegister r32)
{
    return size == 1 ? r8 : size == 2 ? r16 : r32;
}

/* ESI and/or EDI += size (flag-free, 32-bit wrap); DF is clear here. */
static void step(struct tctx *t, unsigned size, bool si, bool di)
{
    if (si)
        E(&t->e, ZYDIS_MNEMONIC_LEA, 2, R(ESI), M(RSI, NOREG, 0, size, 4));
    if (di)
        E(&t->e, ZYDIS_MNEMONIC_LEA, 2, R(EDI), M(RDI, NOREG, 0, size, 4));
}

/* At run time, DF set: call helper_string with arg and go on after the
 * instruction (*done: the rel32 to patch to its end); DF clear: fall
 * into the inline code emitted next. Returns the helper call's address,
 * for the inline code's own way out. */
static uint8_t *df_set_calls_helper(struct tctx *t, uint32_t arg, uint8_t **done)
{
    struct emit *e = &t->e;
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(ECX), MC(OFF(df), 4));
    uint8_t *fast = E_branch(e, ZYDIS_MNEMONIC_JRCXZ, e->p, ZYDIS_BRANCH_WIDTH_8);
    uint8_t *helper = e->p;
    x_call_helper(t, (void *)helper_string, arg);
    *done = E_branch(e, ZYDIS_MNEMONIC_JMP, e->p, ZYDIS_BRANCH_WIDTH_32);
    patch_rel8(fast, e->p);
    return helper;
}

/* One access of an element: mn with the register reg and the memory
 * operand m (first when the element is stored), then the index steps,
 * all inside the access's core. */
static void element(struct tctx *t, const ZydisDecodedOperand *m, unsigned size,
                    unsigned acc, ZydisMnemonic mn, ZydisRegister reg, bool si,
                    bool di)
{
    x_ea(t, m, 0);
    x_probe(t, size, acc);
    if (acc & ACC_WRITE)
        E(&t->e, mn, 2, x_mem(t, size), R(reg));
    else
        E(&t->e, mn, 2, R(reg), x_mem(t, size));
    step(t, size, si, di);
    x_probe_end(t);
}

/* Inline one element: if DF is set at run time, call the helper instead
 * (arg is its argument). False: not a form translated here. */
static bool string_one_inline(struct tctx *t, unsigned op, unsigned size,
                              const ZydisDecodedOperand *src,
                              const ZydisDecodedOperand *dst, uint32_t arg)
{
    if (op > STR_SCAS || (size != 1 && size != 2 && size != 4) ||
        ((op == STR_MOVS || op == STR_LODS || op == STR_CMPS) && !src) ||
        (op != STR_LODS && !dst))
        return false;
    uint8_t *done;
    df_set_calls_helper(t, arg, &done);
    ZydisRegister acc = sized(size, ZYDIS_REGISTER_AL, ZYDIS_REGISTER_AX, EAX);
    ZydisRegister tmp = sized(size, ZYDIS_REGISTER_R8B, ZYDIS_REGISTER_R8W, R8D);
    switch (op) {
    case STR_LODS:
        element(t, src, size, ACC_READ, ZYDIS_MNEMONIC_MOV, acc, true, false);
        break;
    case STR_STOS:
        element(t, dst, size, ACC_WRITE, ZYDIS_MNEMONIC_MOV, acc, false, true);
        break;
    case STR_SCAS: /* flags of AL/AX/EAX - ES:[EDI], as CMP sets them */
        element(t, dst, size, ACC_READ, ZYDIS_MNEMONIC_CMP, acc, false, true);
        break;
    case STR_MOVS: /* [ESI] into r8 first, as for a helper */
        x_rm_to_helper(t, src);
        element(t, dst, size, ACC_WRITE, ZYDIS_MNEMONIC_MOV, tmp, true, true);
        break;
    default: /* CMPS: flags of [ESI] - ES:[EDI] */
        x_rm_to_helper(t, src);
        element(t, dst, size, ACC_READ, ZYDIS_MNEMONIC_CMP, tmp, true, true);
        break;
    }
    patch_rel32(done, t->e.p);
    return true;
}

static int seg_of(ZydisRegister r)
{
    switch (r) {
    case ZYDIS_REGISTER_ES: return S_ES;
    case ZYDIS_REGISTER_CS: return S_CS;
    case ZYDIS_REGISTER_SS: return S_SS;
    case ZYDIS_REGISTER_FS: return S_FS;
    case ZYDIS_REGISTER_GS: return S_GS;
    default: return S_DS;
    }
}

/* The TLB entry of the page at r10d, if it holds all r9 bytes from r10d
 * (1 to 4096) for acc: else to helper (a rel32 jump). Leaves the host
 * address in r10. Clobbers rcx, r8, r11. */
static void probe_bytes(struct tctx *t, unsigned acc, uint8_t *helper)
{
    struct emit *e = &t->e;
    int64_t tag = (acc & ACC_WRITE) ? OFF(tlb[t->user].wtag) : OFF(tlb[t->user].rtag);
    E(e, ZYDIS_MNEMONIC_RORX, 3, R(R11D), R(R10D), I(12));
    E(e, ZYDIS_MNEMONIC_MOVZX, 2, R(R11D), R(ZYDIS_REGISTER_R11W));
    /* 64-bit end page: a range past 4 GiB matches no tag */
    E(e, ZYDIS_MNEMONIC_LEA, 2, R(RCX), M(R10, R9, 1, -1, 8));
    E(e, ZYDIS_MNEMONIC_SHRX, 3, R(RCX), R(RCX), R(R13));
    E(e, ZYDIS_MNEMONIC_MOVSXD, 2, R(R8), M(R15, R11, 4, tag, 4));
    E(e, ZYDIS_MNEMONIC_LEA, 2, R(RCX), M(RCX, R8, 1, 0, 8));
    uint8_t *hit = E_branch(e, ZYDIS_MNEMONIC_JRCXZ, e->p, ZYDIS_BRANCH_WIDTH_8);
    E_branch(e, ZYDIS_MNEMONIC_JMP, helper, ZYDIS_BRANCH_WIDTH_32);
    patch_rel8(hit, e->p);
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(RCX), M(R15, R11, 8, OFF(tlb[t->user].addend), 8));
    E(e, ZYDIS_MNEMONIC_LEA, 2, R(R10), M(R10, RCX, 1, 0, 8));
}

/* REP MOVS / REP STOS with DF clear whose bytes (at most a page) lie on
 * one page on each side, found in the TLB (writable and code-free for
 * the destination): the host's own REP MOVS/STOS on host pointers, which
 * repeats an overlapping copy element by element as the guest's does.
 * Anything else (DF set, ECX 0, more than a page, a page boundary, a TLB
 * miss, translated code) calls helper_string, which serves every case. */
static bool string_rep_inline(struct tctx *t, unsigned op, unsigned size,
                              uint32_t arg)
{
    if ((op != STR_MOVS && op != STR_STOS) || t->direct ||
        !(t->mode & MODE_FLAT) ||
        (t->mode & (MODE_DEBUG | MODE_SEGCHK(S_DS) | MODE_SEGCHK(S_ES))))
        return false;
    struct emit *e = &t->e;
    uint8_t *done, *helper = df_set_calls_helper(t, arg, &done);
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(ECX), R(R12D));
    E_branch(e, ZYDIS_MNEMONIC_JRCXZ, helper, ZYDIS_BRANCH_WIDTH_8);
    /* r9 = bytes; at most a page */
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(R9D), R(R12D));
    if (size > 1)
        E(e, ZYDIS_MNEMONIC_LEA, 2, R(R9), M(NOREG, R9, (uint8_t)size, 0, 8));
    E(e, ZYDIS_MNEMONIC_LEA, 2, R(RCX), M(R9, NOREG, 0, -1, 8));
    E(e, ZYDIS_MNEMONIC_SHRX, 3, R(RCX), R(RCX), R(R13));
    uint8_t *small = E_branch(e, ZYDIS_MNEMONIC_JRCXZ, e->p, ZYDIS_BRANCH_WIDTH_8);
    E_branch(e, ZYDIS_MNEMONIC_JMP, helper, ZYDIS_BRANCH_WIDTH_32);
    patch_rel8(small, e->p);
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(R10D), R(EDI));
    probe_bytes(t, ACC_WRITE, helper);
    ZydisMnemonic m = op == STR_STOS ? (size == 1 ? ZYDIS_MNEMONIC_STOSB
                                       : size == 2 ? ZYDIS_MNEMONIC_STOSW
                                                   : ZYDIS_MNEMONIC_STOSD)
                                     : (size == 1 ? ZYDIS_MNEMONIC_MOVSB
                                       : size == 2 ? ZYDIS_MNEMONIC_MOVSW
                                                   : ZYDIS_MNEMONIC_MOVSD);
    ZydisEncoderRequest req;
    memset(&req, 0, sizeof req);
    req.machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
    req.mnemonic = m;
    req.prefixes = ZYDIS_ATTRIB_HAS_REP;
    if (op == STR_MOVS) {
        E(e, ZYDIS_MNEMONIC_MOV, 2, MC(OFF(movs_dst), 8), R(R10)); /* host dst */
        E(e, ZYDIS_MNEMONIC_MOV, 2, R(R10D), R(ESI));
        probe_bytes(t, ACC_READ, helper);
        E(e, ZYDIS_MNEMONIC_MOV, 2, R(R11), R(RDI));
        E(e, ZYDIS_MNEMONIC_MOV, 2, R(RDI), MC(OFF(movs_dst), 8));
        E(e, ZYDIS_MNEMONIC_MOV, 2, R(R8), R(RSI));
        E(e, ZYDIS_MNEMONIC_MOV, 2, R(RSI), R(R10));
        E(e, ZYDIS_MNEMONIC_MOV, 2, R(ECX), R(R12D));
        E_req(e, &req);
        E(e, ZYDIS_MNEMONIC_LEA, 2, R(ESI), M(R8, R9, 1, 0, 4));
    } else {
        E(e, ZYDIS_MNEMONIC_MOV, 2, R(R11), R(RDI));
        E(e, ZYDIS_MNEMONIC_MOV, 2, R(RDI), R(R10));
        E(e, ZYDIS_MNEMONIC_MOV, 2, R(ECX), R(R12D));
        E_req(e, &req);
    }
    E(e, ZYDIS_MNEMONIC_LEA, 2, R(EDI), M(R11, R9, 1, 0, 4));
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(R12D), I(0));
    patch_rel32(done, e->p);
    return true;
}

void x_string(struct tctx *t)
{
    const ZydisDecodedInstruction *d = &t->in->d;
    unsigned op, size = d->operand_width / 8, src_seg = S_DS;
    const ZydisDecodedOperand *src = NULL, *dst = NULL;
    switch (d->mnemonic) {
    case ZYDIS_MNEMONIC_MOVSB: case ZYDIS_MNEMONIC_MOVSW: case ZYDIS_MNEMONIC_MOVSD:
        op = STR_MOVS; break;
    case ZYDIS_MNEMONIC_STOSB: case ZYDIS_MNEMONIC_STOSW: case ZYDIS_MNEMONIC_STOSD:
        op = STR_STOS; break;
    case ZYDIS_MNEMONIC_LODSB: case ZYDIS_MNEMONIC_LODSW: case ZYDIS_MNEMONIC_LODSD:
        op = STR_LODS; break;
    case ZYDIS_MNEMONIC_CMPSB: case ZYDIS_MNEMONIC_CMPSW: case ZYDIS_MNEMONIC_CMPSD:
        op = STR_CMPS; break;
    case ZYDIS_MNEMONIC_SCASB: case ZYDIS_MNEMONIC_SCASW: case ZYDIS_MNEMONIC_SCASD:
        op = STR_SCAS; break;
    case ZYDIS_MNEMONIC_INSB: case ZYDIS_MNEMONIC_INSW: case ZYDIS_MNEMONIC_INSD:
        op = STR_INS; break;
    default:
        op = STR_OUTS; break;
    }
    /* the source operand (DS:ESI, overridable) is the memory operand
     * based on ESI */
    for (unsigned i = 0; i < d->operand_count; i++) {
        const ZydisDecodedOperand *o = &t->in->ops[i];
        if (o->type == ZYDIS_OPERAND_TYPE_MEMORY &&
            (o->mem.base == ZYDIS_REGISTER_ESI || o->mem.base == ZYDIS_REGISTER_SI)) {
            src_seg = (unsigned)seg_of(o->mem.segment);
            size = o->size / 8;
            src = o;
        }
        if (o->type == ZYDIS_OPERAND_TYPE_MEMORY &&
            (o->mem.base == ZYDIS_REGISTER_EDI || o->mem.base == ZYDIS_REGISTER_DI)) {
            size = o->size / 8;
            dst = o;
        }
    }
    unsigned rep = REP_NONE;
    if (d->attributes & ZYDIS_ATTRIB_HAS_REPNE)
        rep = REP_REPNE;
    else if (d->attributes & ZYDIS_ATTRIB_HAS_REPE)
        rep = (op == STR_CMPS || op == STR_SCAS) ? REP_REPE : REP_REP;
    else if (d->attributes & ZYDIS_ATTRIB_HAS_REP)
        rep = REP_REP;
    if (rep == REP_REPNE && op != STR_CMPS && op != STR_SCAS)
        rep = REP_REP; /* F2 on MOVS/STOS acts as REP */
    if (rep == REP_NONE && d->address_width == 32 &&
        string_one_inline(t, op, size, src, dst, arg_of(size, op, rep, src_seg, d)))
        return;
    if (rep == REP_REP && d->address_width == 32 && src_seg == S_DS &&
        string_rep_inline(t, op, size, arg_of(size, op, rep, src_seg, d)))
        return;
    x_call_helper(t, (void *)helper_string, arg_of(size, op, rep, src_seg, d));
}

