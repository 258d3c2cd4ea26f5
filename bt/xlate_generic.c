/* The common case: a guest integer instruction whose semantics the host
 * executes identically. It is re-encoded with guest registers renamed to
 * their host homes and its memory operand, if any, replaced by [r10]
 * after the TLB probe. Flags are produced and consumed in host EFLAGS.
 *
 * Two encoding limits of x86-64 shape this file: guest ECX lives in r12,
 * so instructions that name CH or use ECX implicitly (shift by CL,
 * CMPXCHG8B) run with guest ECX copied into rcx ("ECX-in-RCX" form); and
 * AH/BH/CH/DH cannot share an instruction with a REX prefix, so a memory
 * access next to them borrows a legacy register for the address. */
#include <string.h>

#include "bt/regs.h"
#include "bt/xlate.h"

struct rm_info {
    int mem;            /* index of the memory access operand, or -1 */
    bool ecx_in_rcx;
    bool ecx_written;
    bool high8;
    bool uses_ecx;
    bool ok;
    uint32_t used_legacy; /* host legacy registers named (bit per reg) */
};

static int legacy_bit(ZydisRegister r)
{
    ZydisRegister l = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, r);
    switch (l) {
    case RAX: return 0; case RCX: return 1; case RDX: return 2;
    case RBX: return 3; case RBP: return 5; case RSI: return 6;
    case RDI: return 7;
    default: return -1;
    }
}

static void classify(const struct insn *in, struct rm_info *ri)
{
    memset(ri, 0, sizeof *ri);
    ri->mem = -1;
    ri->ok = true;
    for (unsigned i = 0; i < in->d.operand_count; i++) {
        const ZydisDecodedOperand *op = &in->ops[i];
        if (op->type == ZYDIS_OPERAND_TYPE_REGISTER) {
            ZydisRegister r = op->reg.value;
            if (r == ZYDIS_REGISTER_EFLAGS || r == ZYDIS_REGISTER_FLAGS)
                continue;
            bool h;
            int g = guest_reg_num(r, &h);
            if (g < 0) {
                ri->ok = false;
                continue;
            }
            if (h)
                ri->high8 = true;
            if (g == R_ECX && (h || op->visibility != ZYDIS_OPERAND_VISIBILITY_EXPLICIT))
                ri->ecx_in_rcx = true;
            if (g == R_ECX && (op->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE))
                ri->ecx_written = true;
            if (g == R_ECX)
                ri->uses_ecx = true;
            if (g != R_ESP && g != R_ECX)
                ri->used_legacy |= 1u << legacy_bit(r);
        } else if (op->type == ZYDIS_OPERAND_TYPE_MEMORY &&
                   op->mem.type == ZYDIS_MEMOP_TYPE_MEM) {
            if (op->visibility != ZYDIS_OPERAND_VISIBILITY_EXPLICIT || ri->mem >= 0)
                ri->ok = false;
            ri->mem = (int)i;
            int b;
            if (op->mem.base != NOREG && (b = legacy_bit(op->mem.base)) >= 0)
                ri->used_legacy |= 1u << b;
            if (op->mem.index != NOREG && (b = legacy_bit(op->mem.index)) >= 0)
                ri->used_legacy |= 1u << b;
        }
    }
    /* CL next to AH..BH: r12b would need a REX prefix they cannot have */
    if (ri->high8 && ri->uses_ecx)
        ri->ecx_in_rcx = true;
}

static ZydisRegister pick_borrow(uint32_t used)
{
    static const ZydisRegister cand[] = {RBX, RBP, RSI, RDI, RDX, RAX};
    static const int bit[] = {3, 5, 6, 7, 2, 0};
    for (unsigned i = 0; i < 6; i++)
        if (!(used & (1u << bit[i])))
            return cand[i];
    return NOREG;
}

/* Emit the instruction itself (the "core"), with [mem] at host address
 * register `addr` (R10 normally). */
static void emit_core(struct tctx *t, const struct rm_info *ri)
{
    const struct insn *in = t->in;
    struct emit *e = &t->e;
    ZydisEncoderRequest req;
    memset(&req, 0, sizeof req);
    if (ZYAN_FAILED(ZydisEncoderDecodedInstructionToEncoderRequest(
            &in->d, in->ops, in->d.operand_count_visible, &req))) {
        e->failed = true;
        snprintf(e->failed_what, sizeof e->failed_what,
                 "cannot re-encode %s", ZydisMnemonicGetString(in->d.mnemonic));
        return;
    }
    ZydisRegister borrow = NOREG;
    eop mem = x_mem(t, 0);
    if (ri->ecx_in_rcx)
        E(e, ZYDIS_MNEMONIC_MOV, 2, R(ECX), R(R12D));
    if (ri->mem >= 0 && ri->high8) {
        borrow = pick_borrow(ri->used_legacy | (ri->ecx_in_rcx ? 2u : 0u));
        E(e, ZYDIS_MNEMONIC_MOV, 2, R(R9), R(borrow));
        E(e, ZYDIS_MNEMONIC_MOV, 2, R(borrow), R(R10));
    }
    req.machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
    req.prefixes &= ~(ZyanU64)ZYDIS_ATTRIB_HAS_SEGMENT;
    req.address_size_hint = ZYDIS_ADDRESS_SIZE_HINT_NONE;
    for (unsigned i = 0; i < req.operand_count; i++) {
        ZydisEncoderOperand *o = &req.operands[i];
        if (o->type == ZYDIS_OPERAND_TYPE_REGISTER) {
            ZydisRegister h = host_reg(o->reg.value, ri->ecx_in_rcx);
            if (h == NOREG) {
                e->failed = true;
                snprintf(e->failed_what, sizeof e->failed_what,
                         "unmapped register in %s",
                         ZydisMnemonicGetString(in->d.mnemonic));
                return;
            }
            o->reg.value = h;
        } else if (o->type == ZYDIS_OPERAND_TYPE_MEMORY) {
            if (borrow != NOREG) {
                o->mem.base = borrow;
                o->mem.index = NOREG;
                o->mem.scale = 0;
                o->mem.displacement = 0;
            } else {
                o->mem.base = mem.mem.base;
                o->mem.index = mem.mem.index;
                o->mem.scale = mem.mem.scale;
                o->mem.displacement = mem.mem.displacement;
            }
        }
    }
    E_req(e, &req);
    if (borrow != NOREG)
        E(e, ZYDIS_MNEMONIC_MOV, 2, R(borrow), R(R9));
    if (ri->ecx_in_rcx && ri->ecx_written)
        E(e, ZYDIS_MNEMONIC_MOV, 2, R(R12D), R(ECX));
}

void x_generic(struct tctx *t)
{
    struct rm_info ri;
    classify(t->in, &ri);
    if (!ri.ok) {
        t->e.failed = true;
        snprintf(t->e.failed_what, sizeof t->e.failed_what,
                 "%s has operands the generic path cannot map",
                 ZydisMnemonicGetString(t->in->d.mnemonic));
        return;
    }
    if (ri.mem >= 0) {
        const ZydisDecodedOperand *op = &t->in->ops[ri.mem];
        unsigned acc = 0;
        if (op->actions & ZYDIS_OPERAND_ACTION_MASK_READ)
            acc |= ACC_READ;
        if (op->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE)
            acc |= ACC_WRITE;
        x_ea(t, op, 0);
        /* the register borrowed next to AH..BH would be live at a fault:
         * those take the TLB path */
        t->force_probe = ri.high8;
        x_probe(t, op->size / 8, acc);
        emit_core(t, &ri);
        x_probe_end(t);
    } else {
        emit_core(t, &ri);
    }
}

/* LEA: address arithmetic only, no access and no segment. */
void x_lea(struct tctx *t)
{
    const ZydisDecodedOperand *dst = &t->in->ops[0], *src = &t->in->ops[1];
    struct emit *e = &t->e;
    ZydisRegister hd = host_reg(dst->reg.value, false);
    if (t->in->d.address_width == 16 || hd == NOREG) {
        /* rare: compute like a memory operand, then copy */
        ZydisDecodedOperand tmp = *src;
        tmp.mem.segment = ZYDIS_REGISTER_DS;
        uint32_t saved = t->mode;
        t->mode = (t->mode | MODE_FLAT) & ~(MODE_SEGCHK(S_ES) * 0x3fu);
        x_ea(t, &tmp, 0);
        t->mode = saved;
        if (dst->size == 16)
            E(e, ZYDIS_MNEMONIC_MOV, 2, R(hd), R(ZYDIS_REGISTER_R10W));
        else
            E(e, ZYDIS_MNEMONIC_MOV, 2, R(hd), R(R10D));
        return;
    }
    ZydisRegister b = src->mem.base != NOREG ? host_reg(src->mem.base, false) : NOREG;
    ZydisRegister x = src->mem.index != NOREG ? host_reg(src->mem.index, false) : NOREG;
    int64_t disp = src->mem.disp.has_displacement ? (int32_t)src->mem.disp.value : 0;
    if (b == NOREG && x == NOREG) {
        if (dst->size == 16)
            E(e, ZYDIS_MNEMONIC_MOV, 2, R(hd), I((int16_t)disp));
        else
            E(e, ZYDIS_MNEMONIC_MOV, 2, R(hd), I32((uint32_t)disp));
        return;
    }
    E(e, ZYDIS_MNEMONIC_LEA, 2, R(hd),
      M(b, x, src->mem.scale ? src->mem.scale : 1, disp, dst->size / 8));
}

/* BT/BTS/BTR/BTC m, r: the register offset selects a dword (or word)
 * anywhere relative to the operand, so fold it into the address and run
 * the register form on a copy. */
void x_bt_mem_reg(struct tctx *t)
{
    const ZydisDecodedOperand *m = &t->in->ops[0], *r = &t->in->ops[1];
    if (m->type != ZYDIS_OPERAND_TYPE_MEMORY ||
        r->type != ZYDIS_OPERAND_TYPE_REGISTER) {
        x_generic(t);
        return;
    }
    struct emit *e = &t->e;
    unsigned size = m->size / 8;
    ZydisRegister hr = host_reg(r->reg.value, false);
    ZydisRegister hr32 = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LEGACY_32, r->reg.value);
    hr32 = host_reg(hr32, false);
    x_ea(t, m, 0);
    /* r10d += (offset >> log2(bits)) * size, arithmetic shift, no flags */
    if (size == 4) {
        E(e, ZYDIS_MNEMONIC_MOV, 2, R(ECX), I(5));
        E(e, ZYDIS_MNEMONIC_SARX, 3, R(R9D), R(hr32), R(ECX));
        E(e, ZYDIS_MNEMONIC_LEA, 2, R(R10D), M(R10, R9, 4, 0, 4));
    } else {
        E(e, ZYDIS_MNEMONIC_MOVSX, 2, R(R9D), R(hr));
        E(e, ZYDIS_MNEMONIC_MOV, 2, R(ECX), I(4));
        E(e, ZYDIS_MNEMONIC_SARX, 3, R(R9D), R(R9D), R(ECX));
        E(e, ZYDIS_MNEMONIC_LEA, 2, R(R10D), M(R10, R9, 2, 0, 4));
    }
    bool writes = t->in->d.mnemonic != ZYDIS_MNEMONIC_BT;
    x_probe(t, size, ACC_READ | (writes ? ACC_WRITE : 0));
    ZydisRegister tmp = size == 4 ? R8D : ZYDIS_REGISTER_R8W;
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(tmp), x_mem(t, size));
    E(e, t->in->d.mnemonic, 2, R(tmp), R(hr));
    if (writes)
        E(e, ZYDIS_MNEMONIC_MOV, 2, x_mem(t, size), R(tmp));
    x_probe_end(t);
}

/* XLAT: AL = [seg:EBX + zero-extended AL] */
void x_xlat(struct tctx *t)
{
    struct emit *e = &t->e;
    ZydisDecodedOperand op = t->in->ops[1];
    for (unsigned i = 0; i < t->in->d.operand_count; i++)
        if (t->in->ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY)
            op = t->in->ops[i];
    E(e, ZYDIS_MNEMONIC_MOVZX, 2, R(R10D), R(ZYDIS_REGISTER_AL));
    if (t->in->d.address_width == 16) {
        E(e, ZYDIS_MNEMONIC_LEA, 2, R(R10D), M(RBX, R10, 1, 0, 4));
        E(e, ZYDIS_MNEMONIC_MOVZX, 2, R(R10D), R(ZYDIS_REGISTER_R10W));
    } else {
        E(e, ZYDIS_MNEMONIC_LEA, 2, R(R10D), M(RBX, R10, 1, 0, 4));
    }
    /* segment base, if any, through the common path */
    ZydisDecodedOperand z;
    memset(&z, 0, sizeof z);
    z.mem.segment = op.mem.segment;
    (void)z;
    if (!(t->mode & MODE_FLAT) || op.mem.segment == ZYDIS_REGISTER_FS ||
        op.mem.segment == ZYDIS_REGISTER_GS) {
        int s = op.mem.segment == ZYDIS_REGISTER_FS ? S_FS
              : op.mem.segment == ZYDIS_REGISTER_GS ? S_GS
              : op.mem.segment == ZYDIS_REGISTER_ES ? S_ES
              : op.mem.segment == ZYDIS_REGISTER_SS ? S_SS
              : op.mem.segment == ZYDIS_REGISTER_CS ? S_CS : S_DS;
        E(e, ZYDIS_MNEMONIC_MOV, 2, R(R9D), MC(OFF(seg[s].base), 4));
        E(e, ZYDIS_MNEMONIC_LEA, 2, R(R10D), M(R10, R9, 1, 0, 4));
    }
    x_probe(t, 1, ACC_READ);
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(ZYDIS_REGISTER_AL), x_mem(t, 1));
    x_probe_end(t);
}

void x_nop(struct tctx *t)
{
    (void)t;
}

void x_cld(struct tctx *t)
{
    E(&t->e, ZYDIS_MNEMONIC_MOV, 2, MC(OFF(df), 4), I(0));
}

void x_std(struct tctx *t)
{
    E(&t->e, ZYDIS_MNEMONIC_MOV, 2, MC(OFF(df), 4), I(1));
}
