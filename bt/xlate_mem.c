/* Guest memory operands in translated code: effective address, segment
 * base, and the inline soft-TLB probe with its out-of-line miss path.
 *
 * The probe leaves host EFLAGS alone (guest flags live there):
 *     rorx  r11d, r10d, 12          ; page number in the low bits
 *     movzx r11d, r11w              ; TLB index
 *     lea   ecx, [r10 + size-1]     ; last byte (skipped for size 1)
 *     shrx  ecx, ecx, r13d          ; its page (r13 = 12)
 *     mov   r9d, [r15 + tag + r11*4]; -(page) when the entry is valid
 *     lea   ecx, [rcx + r9]         ; 0 iff same page (and not crossing)
 *     jrcxz hit
 *     jmp   miss                    ; out of line: C fills the TLB
 * hit:
 *     mov   rcx, [r15 + addend + r11*8]
 *     lea   r10, [r10 + rcx]        ; host pointer
 * Where the guest's flags are dead (xlate_flags.c), the six from the
 * tag load on are
 *     add   ecx, [r15 + tag + r11*4]
 *     jnz   miss
 *     add   r10, [r15 + addend + r11*8]
 * (the Linux workloads: context switches ~1.8x faster, fork+exec ~1.4x).
 * The miss path calls mmu_slow_path, runs a copy of the access on the
 * pointer it returns, and jumps back behind the access. */
#include <string.h>

#include "bt/regs.h"
#include "bt/xlate.h"

int guest_reg_num(ZydisRegister r, bool *high8)
{
    *high8 = false;
    switch (r) {
    case ZYDIS_REGISTER_EAX: case ZYDIS_REGISTER_AX: case ZYDIS_REGISTER_AL:
        return R_EAX;
    case ZYDIS_REGISTER_ECX: case ZYDIS_REGISTER_CX: case ZYDIS_REGISTER_CL:
        return R_ECX;
    case ZYDIS_REGISTER_EDX: case ZYDIS_REGISTER_DX: case ZYDIS_REGISTER_DL:
        return R_EDX;
    case ZYDIS_REGISTER_EBX: case ZYDIS_REGISTER_BX: case ZYDIS_REGISTER_BL:
        return R_EBX;
    case ZYDIS_REGISTER_ESP: case ZYDIS_REGISTER_SP:
        return R_ESP;
    case ZYDIS_REGISTER_EBP: case ZYDIS_REGISTER_BP:
        return R_EBP;
    case ZYDIS_REGISTER_ESI: case ZYDIS_REGISTER_SI:
        return R_ESI;
    case ZYDIS_REGISTER_EDI: case ZYDIS_REGISTER_DI:
        return R_EDI;
    case ZYDIS_REGISTER_AH: *high8 = true; return R_EAX;
    case ZYDIS_REGISTER_CH: *high8 = true; return R_ECX;
    case ZYDIS_REGISTER_DH: *high8 = true; return R_EDX;
    case ZYDIS_REGISTER_BH: *high8 = true; return R_EBX;
    default:
        return -1;
    }
}

ZydisRegister host_reg(ZydisRegister g, bool ecx_in_rcx)
{
    switch (g) {
    case ZYDIS_REGISTER_ECX: return ecx_in_rcx ? g : ZYDIS_REGISTER_R12D;
    case ZYDIS_REGISTER_CX: return ecx_in_rcx ? g : ZYDIS_REGISTER_R12W;
    case ZYDIS_REGISTER_CL: return ecx_in_rcx ? g : ZYDIS_REGISTER_R12B;
    case ZYDIS_REGISTER_CH: return ecx_in_rcx ? g : ZYDIS_REGISTER_NONE;
    case ZYDIS_REGISTER_ESP: return ZYDIS_REGISTER_R14D;
    case ZYDIS_REGISTER_SP: return ZYDIS_REGISTER_R14W;
    default: {
        bool h;
        return guest_reg_num(g, &h) >= 0 ? g : ZYDIS_REGISTER_NONE;
    }
    }
}

/* Segment base must be added unless the block runs with flat CS/DS/ES/SS;
 * FS and GS always carry their base. */
void helper_seg_check(struct cpu *cpu, uint32_t arg, uint32_t next);

static void add_seg_base(struct tctx *t, ZydisRegister seg)
{
    int s;
    switch (seg) {
    case ZYDIS_REGISTER_ES: s = S_ES; break;
    case ZYDIS_REGISTER_CS: s = S_CS; break;
    case ZYDIS_REGISTER_SS: s = S_SS; break;
    case ZYDIS_REGISTER_FS: s = S_FS; break;
    case ZYDIS_REGISTER_GS: s = S_GS; break;
    default: s = S_DS; break;
    }
    struct emit *e = &t->e;
    if (t->mode & MODE_SEGCHK(s)) {
        /* a segment with a real limit (or none usable): check the offset
         * in C before adding the base; rare outside test kernels */
        E(e, ZYDIS_MNEMONIC_MOV, 2, MC(OFF(sys_lin), 4), R(R10D));
        x_call_helper(t, (void *)helper_seg_check,
                      (uint32_t)s | ((uint32_t)t->seg_check_size << 8));
        E(e, ZYDIS_MNEMONIC_MOV, 2, R(R10D), MC(OFF(sys_lin), 4));
    }
    if ((t->mode & MODE_FLAT) && s != S_FS && s != S_GS)
        return;
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(R9D), MC(OFF(seg[s].base), 4));
    E(e, ZYDIS_MNEMONIC_LEA, 2, R(R10D), M(R10, R9, 1, 0, 4));
}

static ZydisRegister ea_reg32(ZydisRegister g)
{
    /* 16-bit address registers: use the full host register; the sum is
     * truncated to 16 bits afterwards. */
    static const struct { ZydisRegister r16, r32; } w[] = {
        {ZYDIS_REGISTER_AX, ZYDIS_REGISTER_EAX}, {ZYDIS_REGISTER_CX, ZYDIS_REGISTER_ECX},
        {ZYDIS_REGISTER_DX, ZYDIS_REGISTER_EDX}, {ZYDIS_REGISTER_BX, ZYDIS_REGISTER_EBX},
        {ZYDIS_REGISTER_SP, ZYDIS_REGISTER_ESP}, {ZYDIS_REGISTER_BP, ZYDIS_REGISTER_EBP},
        {ZYDIS_REGISTER_SI, ZYDIS_REGISTER_ESI}, {ZYDIS_REGISTER_DI, ZYDIS_REGISTER_EDI},
    };
    for (unsigned i = 0; i < 8; i++)
        if (w[i].r16 == g)
            g = w[i].r32;
    return host_reg(g, false);
}

void x_ea(struct tctx *t, const ZydisDecodedOperand *op, int32_t esp_adjust)
{
    struct emit *e = &t->e;
    t->seg_check_size = op->size ? op->size / 8 : 1;
    t->fold_lea = NULL;
    if (x_region_ea(t, op))
        return; /* r8 is the region's pointer */
    ZydisRegister base = op->mem.base, index = op->mem.index;
    int64_t disp = op->mem.disp.has_displacement ? op->mem.disp.value : 0;
    if (base == ZYDIS_REGISTER_ESP || base == ZYDIS_REGISTER_SP ||
        index == ZYDIS_REGISTER_ESP)
        disp += esp_adjust;
    ZydisRegister hb = base != NOREG ? ea_reg32(base) : NOREG;
    ZydisRegister hi = index != NOREG ? ea_reg32(index) : NOREG;
    disp = (int32_t)(uint32_t)disp;
    uint8_t *start = e->p;
    if (hb == NOREG && hi == NOREG) {
        E(e, ZYDIS_MNEMONIC_MOV, 2, R(R10D), I32((uint32_t)disp));
    } else if (hi == NOREG && disp == 0) {
        E(e, ZYDIS_MNEMONIC_MOV, 2, R(R10D), R(hb));
    } else {
        /* 32-bit address arithmetic (addr32 prefix): wraps like the guest */
        E(e, ZYDIS_MNEMONIC_LEA, 2, R(R10D),
          M(hb, hi, op->mem.scale ? op->mem.scale : 1, disp, 4));
    }
    uint8_t *end = e->p;
    if (t->in->d.address_width == 16)
        E(e, ZYDIS_MNEMONIC_MOVZX, 2, R(R10D), R(ZYDIS_REGISTER_R10W));
    add_seg_base(t, op->mem.segment);
    /* [reg + small disp] and nothing added after: x_probe may fold it */
    bool foldable = hb != NOREG && hi == NOREG && disp > -(int64_t)BT_FOLD_MAX &&
                    disp < BT_FOLD_MAX && e->p == end;
    t->fold_lea = foldable ? start : NULL;
    t->fold_end = end;
    t->fold_reg32 = hb;
    t->fold_disp = (int32_t)disp;
}

void x_stack_ea_size(struct tctx *t, int32_t disp, unsigned size)
{
    struct emit *e = &t->e;
    if (disp)
        E(e, ZYDIS_MNEMONIC_LEA, 2, R(R10D), M(R14, NOREG, 0, disp, 4));
    else
        E(e, ZYDIS_MNEMONIC_MOV, 2, R(R10D), R(R14D));
    t->seg_check_size = size;
    add_seg_base(t, ZYDIS_REGISTER_SS);
}

void x_stack_ea(struct tctx *t, int32_t disp)
{
    x_stack_ea_size(t, disp, 4);
}

eop x_mem_disp(struct tctx *t, unsigned size, int32_t disp)
{
    if (t->cur_region)
        return M(R8, NOREG, 0, (int64_t)t->region_disp + disp, (uint16_t)size);
    if (t->cur_fold)
        return M(R15, ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64,
                                                       t->fold_reg32),
                 1, (int64_t)BT_RAM_OFFSET + t->fold_disp + disp, (uint16_t)size);
    if (t->cur_direct)
        return M(R15, R10, 1, (int64_t)BT_RAM_OFFSET + disp, (uint16_t)size);
    return M(R10, NOREG, 0, disp, (uint16_t)size);
}

eop x_mem(struct tctx *t, unsigned size)
{
    return x_mem_disp(t, size, 0);
}

static void add_stub(struct tctx *t, uint8_t *miss, unsigned size, unsigned acc)
{
    if (t->n_stubs == MAX_SLOW_STUBS) {
        t->e.failed = true;
        return;
    }
    struct slow_stub *s = &t->stubs[t->n_stubs];
    s->miss_field = miss;
    s->core = t->e.p;
    s->acc = acc | size;
    s->eip = t->in->eip;
    s->next_eip = t->next_eip;
    s->direct = miss == NULL;
    s->fold_reg32 = NOREG;
    s->alt_len = 0;
    t->pending_probe = t->n_stubs++;
}

/* Whether the tag at r15 + tag + r11*4 (r11 = the TLB index) is r10d's
 * page for all `size` bytes: falls through on a hit; returns the rel32
 * field of the jump taken otherwise. Where the guest's flags are dead
 * (xlate_flags.c) an ADD/JNZ compares; else ecx = 0 on a hit and JRCXZ
 * skips the jump. */
static uint8_t *tag_check(struct tctx *t, unsigned size, int64_t tag, bool flags)
{
    struct emit *e = &t->e;
    if (size > 1) {
        E(e, ZYDIS_MNEMONIC_LEA, 2, R(ECX), M(R10, NOREG, 0, size - 1, 4));
        E(e, ZYDIS_MNEMONIC_SHRX, 3, R(ECX), R(ECX), R(R13D));
    } else {
        E(e, ZYDIS_MNEMONIC_SHRX, 3, R(ECX), R(R10D), R(R13D));
    }
    if (flags) {
        E(e, ZYDIS_MNEMONIC_ADD, 2, R(ECX), M(R15, R11, 4, tag, 4));
        return E_branch(e, ZYDIS_MNEMONIC_JNZ, e->p, ZYDIS_BRANCH_WIDTH_32);
    }
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(R9D), M(R15, R11, 4, tag, 4));
    E(e, ZYDIS_MNEMONIC_LEA, 2, R(ECX), M(RCX, R9, 1, 0, 4));
    uint8_t *jr = E_branch(e, ZYDIS_MNEMONIC_JRCXZ, e->p, ZYDIS_BRANCH_WIDTH_8);
    uint8_t *other = E_branch(e, ZYDIS_MNEMONIC_JMP, e->p, ZYDIS_BRANCH_WIDTH_32);
    patch_rel8(jr, e->p);
    return other;
}

/* r10 += the entry's addend: the host pointer of an ordinary hit. */
static void add_addend(struct tctx *t, bool flags)
{
    int64_t addend = OFF(tlb[t->user].addend);
    if (flags) {
        E(&t->e, ZYDIS_MNEMONIC_ADD, 2, R(R10), M(R15, R11, 8, addend, 8));
        return;
    }
    E(&t->e, ZYDIS_MNEMONIC_MOV, 2, R(RCX), M(R15, R11, 8, addend, 8));
    E(&t->e, ZYDIS_MNEMONIC_LEA, 2, R(R10), M(R10, RCX, 1, 0, 8));
}

/* The probe's bytes depend only on the flag form, the TLB half, read or
 * write and the size (nothing in them is position-dependent but the miss
 * jump, patched later): each shape is encoded once and then copied, as
 * one block emits several probes and a boot ~200,000. Process-wide, like
 * the encoder's memo (emit.c): the bytes are the same for every
 * translator. */
#define PROBE_TPL_SIZES 129 /* frame regions span up to 128 bytes */
#define PROBE_TPL_MAX 64
static struct probe_tpl {
    uint8_t len;  /* 0: not recorded yet */
    uint8_t miss; /* end of the miss jump's rel32 field */
    uint8_t bytes[PROBE_TPL_MAX];
} probe_tpl[2][2][2][PROBE_TPL_SIZES];

static uint8_t *emit_probe(struct tctx *t, unsigned size, int64_t tag, bool flags)
{
    struct emit *e = &t->e;
    E(e, ZYDIS_MNEMONIC_RORX, 3, R(R11D), R(R10D), I(12));
    E(e, ZYDIS_MNEMONIC_MOVZX, 2, R(R11D), R(ZYDIS_REGISTER_R11W));
    uint8_t *miss = tag_check(t, size, tag, flags);
    add_addend(t, flags);
    return miss;
}

void x_probe(struct tctx *t, unsigned size, unsigned acc)
{
    struct emit *e = &t->e;
    if (t->region_pending) {
        t->region_pending = false;
        if (!t->force_probe) {
            x_region_probe(t);
            return;
        }
        /* the generic path wants the TLB path here: the address after all */
        E(e, ZYDIS_MNEMONIC_LEA, 2, R(R10D),
          M(guest_host64[t->region_base], NOREG, 0,
            (int64_t)t->region_lo + t->region_disp, 4));
    }
    uint8_t *fold = t->fold_lea;
    t->fold_lea = NULL;
    if (t->direct && !t->force_probe && !(t->mode & MODE_DEBUG)) {
        /* paging off: [r15 + linear + BT_RAM_OFFSET] is the guest byte;
         * beyond RAM or on write-protected code the access faults and
         * resumes at its slow path */
        t->cur_direct = true;
        add_stub(t, NULL, size, acc | ACC_DIRECT);
        if (fold && !e->failed && t->fold_end == e->p && size < BT_FOLD_MAX) {
            /* [r15 + reg + disp + BT_RAM_OFFSET] instead of lea + access:
             * the guest register's upper half is zero, so only a sum that
             * wraps (past 4 GiB, below 0) differs, and lands in a guard */
            e->p = fold;
            t->cur_fold = true;
            t->stubs[t->pending_probe].core = e->p;
            t->stubs[t->pending_probe].fold_reg32 = t->fold_reg32;
            t->stubs[t->pending_probe].fold_disp = t->fold_disp;
        }
        return;
    }
    t->cur_direct = false;
    int64_t tag = (acc & ACC_WRITE) ? OFF(tlb[t->user].wtag)
                                    : OFF(tlb[t->user].rtag);
    bool flags = x_flags_dead(t);
    t->bt->stats.flag_probes += flags;
    struct probe_tpl *tp = size < PROBE_TPL_SIZES
                               ? &probe_tpl[flags][t->user][(acc & ACC_WRITE) != 0][size]
                               : NULL;
    uint8_t *start = e->p, *miss;
    if (tp && tp->len) {
        E_bytes(e, tp->bytes, tp->len);
        miss = start + tp->miss;
    } else {
        miss = emit_probe(t, size, tag, flags);
        size_t len = (size_t)(e->p - start);
        if (tp && !e->full && !e->failed && len <= PROBE_TPL_MAX) {
            memcpy(tp->bytes, start, len);
            tp->miss = (uint8_t)(miss - start);
            tp->len = (uint8_t)len;
        }
    }
    add_stub(t, miss, size, acc);
}

/* The folded core (p .. end) with [r15 + reg + D] addressed by r10
 * instead, [r15 + r10 + D - disp], encoded into out. Returns its length;
 * 0 when `strict` and a folded access follows a write of reg in the core
 * (a copy run after the fault would see the new value); -1 when the core
 * cannot be re-encoded or moved (emit_position_free), or needs more than
 * cap bytes. */
static int unfold_core(const uint8_t *p, const uint8_t *end, ZydisRegister reg64,
                       int32_t disp, uint8_t *out, size_t cap, bool strict)
{
    struct emit o;
    emit_init(&o, out, out + cap);
    bool written = false;
    while (p < end) {
        ZydisDecodedInstruction d;
        ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
        ZydisEncoderRequest req;
        if (ZYAN_FAILED(ZydisDecoderDecodeFull(emit_decoder64(), p, (size_t)(end - p),
                                               &d, ops)) ||
            !emit_position_free(&d) ||
            ZYAN_FAILED(ZydisEncoderDecodedInstructionToEncoderRequest(
                &d, ops, d.operand_count_visible, &req)))
            return -1;
        bool uses = false;
        for (unsigned i = 0; i < req.operand_count; i++) {
            ZydisEncoderOperand *m = &req.operands[i];
            if (m->type == ZYDIS_OPERAND_TYPE_MEMORY && m->mem.base == R15 &&
                m->mem.index == reg64 && m->mem.scale == 1) {
                m->mem.index = R10;
                m->mem.displacement -= disp;
                uses = true;
            }
        }
        if (strict && uses && written)
            return 0;
        for (unsigned i = 0; i < d.operand_count; i++)
            if (ops[i].type == ZYDIS_OPERAND_TYPE_REGISTER &&
                (ops[i].actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) &&
                ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64,
                                                 ops[i].reg.value) == reg64)
                written = true;
        E_req(&o, &req);
        if (o.failed || o.full)
            return -1;
        p += d.length;
    }
    return (int)(o.p - out);
}

/* A folded access's miss path runs the core addressed by r10: a copy
 * kept for the stub (alt); where a copy cannot do (the core writes the
 * register before a later folded access, or the copy is long), the core
 * itself goes back to lea + r10. */
static void finish_fold(struct tctx *t, struct slow_stub *s)
{
    struct emit *e = &t->e;
    t->cur_fold = false;
    if (e->full || e->failed)
        return;
    ZydisRegister reg64 = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64,
                                                          s->fold_reg32);
    uint8_t buf[128];
    int n = unfold_core(s->core, e->p, reg64, s->fold_disp, buf, sizeof buf, true);
    if (n > 0 && (size_t)n <= sizeof s->alt) {
        memcpy(s->alt, buf, (size_t)n);
        s->alt_len = (uint8_t)n;
        return;
    }
    if (n >= 0)
        n = unfold_core(s->core, e->p, reg64, s->fold_disp, buf, sizeof buf, false);
    if (n <= 0) {
        e->failed = true;
        snprintf(e->failed_what, sizeof e->failed_what, "cannot unfold a direct access");
        return;
    }
    e->p = s->core;
    E(e, ZYDIS_MNEMONIC_LEA, 2, R(R10D), M(s->fold_reg32, NOREG, 0, s->fold_disp, 4));
    s->core = e->p;
    E_bytes(e, buf, (unsigned)n);
    s->fold_reg32 = NOREG;
}

void x_probe_end(struct tctx *t)
{
    if (t->cur_region) {
        t->cur_region = false;
        t->force_probe = false;
        return;
    }
    struct slow_stub *s = &t->stubs[t->pending_probe];
    if (t->cur_fold)
        finish_fold(t, s);
    s->core_len = (unsigned)(t->e.p - s->core);
    s->back = t->e.p;
    t->pending_probe = -1;
    t->cur_direct = false;
    t->force_probe = false;
}

/* The prologues of a miss path (E_seq templates): mov r9d, acc; mov ecx,
 * eip before the slow path, mov r9d, next before the post. */
static void build_slow_call(struct emit *e, const uint64_t *v)
{
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(R9D), I32((uint32_t)v[0]));
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(ECX), I32((uint32_t)v[1]));
}

static void build_post_call(struct emit *e, const uint64_t *v)
{
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(R9D), I32((uint32_t)v[0]));
}

void x_emit_slow_stubs(struct tctx *t)
{
    struct emit *e = &t->e;
    for (int i = 0; i < t->n_stubs; i++) {
        struct slow_stub *s = &t->stubs[i];
        if (e->full || e->failed)
            return;
        s->stub_addr = e->p;
        if (s->miss_field)
            patch_rel32(s->miss_field, e->p);
        if (s->fold_reg32 != NOREG) /* the address the access folded */
            E(e, ZYDIS_MNEMONIC_LEA, 2, R(R10D), M(s->fold_reg32, NOREG, 0, s->fold_disp, 4));
        static struct seq_tpl slow_tpl, post_tpl;
        E_seq(e, &slow_tpl, build_slow_call, (const uint8_t[]){4, 4}, 2,
              (const uint64_t[]){s->acc, s->eip});
        E_call_abs(e, t->bt->rt.mem_slow);
        if (s->fold_reg32 != NOREG)
            E_bytes(e, s->alt, s->alt_len);
        else
            E_bytes(e, s->core, s->core_len);
        if (s->acc & ACC_WRITE) {
            E_seq(e, &post_tpl, build_post_call, (const uint8_t[]){4}, 1,
                  (const uint64_t[]){s->next_eip});
            E_call_abs(e, t->bt->rt.mem_post);
        }
        E_branch(e, ZYDIS_MNEMONIC_JMP, s->back, ZYDIS_BRANCH_WIDTH_32);
    }
}

uint32_t x_rm_to_helper(struct tctx *t, const ZydisDecodedOperand *op)
{
    unsigned size = op->size / 8;
    if (op->type == ZYDIS_OPERAND_TYPE_MEMORY) {
        x_ea(t, op, 0);
        x_probe(t, size, ACC_READ);
        if (size == 4)
            E(&t->e, ZYDIS_MNEMONIC_MOV, 2, R(R8D), x_mem(t, 4));
        else
            E(&t->e, ZYDIS_MNEMONIC_MOVZX, 2, R(R8D), x_mem(t, size));
        x_probe_end(t);
        return HA_SIZE(size) | HA_MEM;
    }
    bool h;
    int r = guest_reg_num(op->reg.value, &h);
    return HA_SIZE(size) | HA_REG(r < 0 ? 0 : r) | (h ? HA_HIGH8 : 0);
}
