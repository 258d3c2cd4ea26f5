/* Case builder: encodes with Zydis (and decodes each instruction back to
 * check it), tracks register/flag knowledge, places memory operands inside
 * DATA, resolves labels, and turns a group's template into a case. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bt/cpu.h"
#include "tests/diff/gen.h"
#include "tests/diff/templates.h"

#define BIT(r) ((uint8_t)(1u << (r)))

/* ---- random numbers ---- */

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rnd64(struct gen *g)
{
    g->rng += 0x9e3779b97f4a7c15ull;
    return mix64(g->rng);
}

uint32_t rnd32(struct gen *g)
{
    return (uint32_t)(rnd64(g) >> 32);
}

uint32_t rnd(struct gen *g, uint32_t n)
{
    return (uint32_t)(((uint64_t)rnd32(g) * n) >> 32);
}

bool chance(struct gen *g, unsigned percent)
{
    return rnd(g, 100) < percent;
}

int32_t rnd_range(struct gen *g, int32_t lo, int32_t hi)
{
    return (int32_t)((uint32_t)lo + rnd(g, (uint32_t)hi - (uint32_t)lo + 1));
}

uint32_t rand_value(struct gen *g)
{
    static const uint32_t edges[] = {
        0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000,
        0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0xffffffff,
    };
    switch (rnd(g, 8)) {
    case 0: return edges[rnd(g, sizeof edges / sizeof edges[0])];
    case 1: return rnd(g, 64);
    case 2: return (uint32_t)(int32_t)(int8_t)rnd32(g);
    case 3: return (uint32_t)(int32_t)(int16_t)rnd32(g) ^ (rnd32(g) & 0xffff0000u);
    default: return rnd32(g);
    }
}

int rand_size(struct gen *g)
{
    static const int sizes[] = {1, 2, 4, 4};
    return sizes[rnd(g, 4)];
}

/* ---- registers ---- */

ZydisRegister zreg(int size, int id)
{
    static const ZydisRegister r8[] = {
        ZYDIS_REGISTER_AL, ZYDIS_REGISTER_CL, ZYDIS_REGISTER_DL, ZYDIS_REGISTER_BL,
        ZYDIS_REGISTER_AH, ZYDIS_REGISTER_CH, ZYDIS_REGISTER_DH, ZYDIS_REGISTER_BH,
    };
    static const ZydisRegister r16[] = {
        ZYDIS_REGISTER_AX, ZYDIS_REGISTER_CX, ZYDIS_REGISTER_DX, ZYDIS_REGISTER_BX,
        ZYDIS_REGISTER_SP, ZYDIS_REGISTER_BP, ZYDIS_REGISTER_SI, ZYDIS_REGISTER_DI,
    };
    static const ZydisRegister r32[] = {
        ZYDIS_REGISTER_EAX, ZYDIS_REGISTER_ECX, ZYDIS_REGISTER_EDX, ZYDIS_REGISTER_EBX,
        ZYDIS_REGISTER_ESP, ZYDIS_REGISTER_EBP, ZYDIS_REGISTER_ESI, ZYDIS_REGISTER_EDI,
    };
    return size == 1 ? r8[id & 7] : size == 2 ? r16[id & 7] : r32[id & 7];
}

int full_reg(int size, int id)
{
    return size == 1 ? (id & 3) : id;
}

int pick_reg(struct gen *g, int size, uint8_t avoid)
{
    int cand[8], n = 0;
    for (int id = 0; id < 8; id++) {
        if (size != 1 && id == R_ESP)
            continue;
        if (avoid & BIT(full_reg(size, id)))
            continue;
        cand[n++] = id;
    }
    if (n == 0) {
        g->failed = true;
        return 0;
    }
    return cand[rnd(g, (uint32_t)n)];
}

bool reg_free(const struct gen *g, int r)
{
    return r != R_ESP && (g->initial & ~g->fixed & BIT(r));
}

static void set_initial(struct gen *g, int r, uint32_t v)
{
    g->c->regs[r] = v;
    g->val[r] = v;
    g->fixed |= BIT(r);
}

uint32_t reg_value(struct gen *g, int r)
{
    if (!(g->known & BIT(r))) {
        fprintf(stderr, "diff gen: template read unknown register %d\n", r);
        abort();
    }
    g->fixed |= BIT(r);
    return g->val[r];
}

void reg_written(struct gen *g, int r)
{
    g->known &= (uint8_t)~BIT(r);
    g->initial &= (uint8_t)~BIT(r);
}

void reg_const(struct gen *g, int r, uint32_t v)
{
    g->known |= BIT(r);
    g->initial &= (uint8_t)~BIT(r);
    g->fixed |= BIT(r);
    g->val[r] = v;
}

uint32_t reg_want(struct gen *g, int r, uint32_t lo, uint32_t hi)
{
    uint32_t v = (lo == 0 && hi == UINT32_MAX) ? rnd32(g) : lo + rnd(g, hi - lo + 1);
    if (reg_free(g, r)) {
        set_initial(g, r, v);
        return v;
    }
    if ((g->known & BIT(r)) && g->val[r] >= lo && g->val[r] <= hi)
        return reg_value(g, r);
    E(g, MOV, 0, op_r(4, r), op_i(4, v));
    reg_const(g, r, v);
    return v;
}

void reg_want_exact(struct gen *g, int r, uint32_t v)
{
    reg_want(g, r, v, v);
}

/* ---- flags ---- */

void flags_need(struct gen *g, uint32_t mask)
{
    if (!(g->undef & mask))
        return;
    /* cmp defines all six arithmetic flags and writes no register. */
    E(g, CMP, 0, op_r(4, (int)rnd(g, 8)), op_r(4, (int)rnd(g, 8)));
    flags_set(g, FL_ARITH, 0);
}

void flags_set(struct gen *g, uint32_t defined, uint32_t undefined)
{
    g->undef = (g->undef & ~defined) | undefined;
    /* Unicorn's lazy flags are sound again after an instruction that
     * computes CF SF ZF PF afresh; ones that merge flags into the old image
     * (inc/dec keep CF; rotates, bt, clc, cmpxchg8b...) carry the garbage. */
    const uint32_t fresh = FL_CF | FL_SF | FL_ZF | FL_PF;
    if (defined && ((defined | undefined) & fresh) == fresh)
        g->flags_garbage = false;
}

/* ---- operands ---- */

ZydisEncoderOperand op_r(int size, int id)
{
    ZydisEncoderOperand o;
    memset(&o, 0, sizeof o);
    o.type = ZYDIS_OPERAND_TYPE_REGISTER;
    o.reg.value = zreg(size, id);
    return o;
}

ZydisEncoderOperand op_i(int size, uint32_t v)
{
    ZydisEncoderOperand o;
    memset(&o, 0, sizeof o);
    o.type = ZYDIS_OPERAND_TYPE_IMMEDIATE;
    o.imm.s = size == 1 ? (int8_t)v : size == 2 ? (int16_t)v : (int32_t)v;
    return o;
}

ZydisEncoderOperand op_u(uint32_t v)
{
    ZydisEncoderOperand o;
    memset(&o, 0, sizeof o);
    o.type = ZYDIS_OPERAND_TYPE_IMMEDIATE;
    o.imm.u = v;
    return o;
}

uint32_t pick_ea(struct gen *g, int size, uint32_t margin)
{
    const uint32_t lo = DATA_BASE + margin;
    const uint32_t hi = DATA_BASE + DATA_SIZE - margin - (uint32_t)size;
    const uint32_t page = DATA_BASE + 0x1000;
    uint32_t ea;
    switch (rnd(g, 4)) {
    case 0: /* straddles the page boundary */
        ea = size > 1 ? page - (uint32_t)size + 1 + rnd(g, (uint32_t)size - 1)
                      : page - 1 + rnd(g, 2);
        break;
    case 1: /* near it, any alignment */
        ea = page - 64 + rnd(g, 128);
        break;
    default:
        ea = lo + rnd(g, hi - lo + 1);
        break;
    }
    return ea < lo ? lo : ea > hi ? hi : ea;
}

/* A register usable in an address: its value is known (free ones first:
 * their initial value can still be chosen). */
static int pick_addr_reg(struct gen *g, uint8_t avoid, bool want_free)
{
    int any[8], free_[8], na = 0, nf = 0;
    for (int r = 0; r < 8; r++) {
        if (r == R_ESP || (avoid & BIT(r)) || !(g->known & BIT(r)))
            continue;
        any[na++] = r;
        if (reg_free(g, r))
            free_[nf++] = r;
    }
    if (want_free && nf)
        return free_[rnd(g, (uint32_t)nf)];
    return na ? any[rnd(g, (uint32_t)na)] : -1;
}

static ZydisInstructionAttributes rand_seg(struct gen *g)
{
    static const ZydisInstructionAttributes segs[] = {
        ZYDIS_ATTRIB_HAS_SEGMENT_DS, ZYDIS_ATTRIB_HAS_SEGMENT_ES,
        ZYDIS_ATTRIB_HAS_SEGMENT_SS, ZYDIS_ATTRIB_HAS_SEGMENT_FS,
        ZYDIS_ATTRIB_HAS_SEGMENT_GS,
    };
    return chance(g, 6) ? segs[rnd(g, 5)] : 0;
}

struct mem mem_at(struct gen *g, int size, uint32_t ea, uint8_t avoid)
{
    struct mem m;
    memset(&m, 0, sizeof m);
    m.op.type = ZYDIS_OPERAND_TYPE_MEMORY;
    m.op.mem.size = (ZyanU16)size;
    m.ea = ea;
    m.in_data = true;
    m.seg = rand_seg(g);

    /* 0 [d32]  1 [b]  2 [b+d8]  3 [b+d32]  4 [b+i*s]  5 [b+i*s+d8]
     * 6 [b+i*s+d32]  7 [i*s+d32] */
    int form = (int)rnd(g, 8);
    int base = -1, index = -1, scale = 0;
    uint32_t rest = ea; /* what base + disp must add up to */
    if (form >= 4) {
        index = pick_addr_reg(g, avoid, chance(g, 80));
        if (index < 0) {
            form = 0;
        } else {
            scale = 1 << rnd(g, 4);
            if (reg_free(g, index))
                set_initial(g, index, chance(g, 12) ? rnd32(g)
                                                   : (uint32_t)rnd_range(g, -300, 300));
            rest -= reg_value(g, index) * (uint32_t)scale;
        }
    }
    if (form >= 1 && form <= 6) {
        base = pick_addr_reg(g, avoid | (index >= 0 ? BIT(index) : 0), chance(g, 85));
        if (base < 0)
            form = index >= 0 ? 7 : 0;
    }
    int32_t disp;
    if (base >= 0 && reg_free(g, base)) {
        if (form == 1 || form == 4)
            disp = 0;
        else if (form == 2 || form == 5)
            disp = rnd_range(g, -128, 127);
        else
            disp = chance(g, 50) ? rnd_range(g, -100000, 100000) : (int32_t)rnd32(g);
        set_initial(g, base, rest - (uint32_t)disp);
    } else if (base >= 0) {
        disp = (int32_t)(rest - reg_value(g, base));
    } else {
        disp = (int32_t)rest;
    }
    m.op.mem.base = base >= 0 ? zreg(4, base) : ZYDIS_REGISTER_NONE;
    m.op.mem.index = index >= 0 ? zreg(4, index) : ZYDIS_REGISTER_NONE;
    m.op.mem.scale = (ZyanU8)(index >= 0 ? scale : 0);
    m.op.mem.displacement = disp;
    return m;
}

struct mem mem_data(struct gen *g, int size, uint32_t margin, uint8_t avoid)
{
    return mem_at(g, size, pick_ea(g, size, margin), avoid);
}

struct mem mem_stack(struct gen *g, int size)
{
    struct mem m;
    memset(&m, 0, sizeof m);
    m.op.type = ZYDIS_OPERAND_TYPE_MEMORY;
    m.op.mem.size = (ZyanU16)size;
    m.op.mem.base = ZYDIS_REGISTER_ESP;
    m.op.mem.displacement = chance(g, 30) ? 0 : rnd_range(g, -16, 120);
    m.seg = rand_seg(g);
    return m;
}

struct mem mem_any(struct gen *g)
{
    struct mem m;
    memset(&m, 0, sizeof m);
    m.op.type = ZYDIS_OPERAND_TYPE_MEMORY;
    m.op.mem.size = 4;
    if (chance(g, 85))
        m.op.mem.base = zreg(4, (int)rnd(g, 8));
    if (chance(g, 50)) {
        int i = (int)rnd(g, 7);
        m.op.mem.index = zreg(4, i >= R_ESP ? i + 1 : i);
        m.op.mem.scale = (ZyanU8)(1 << rnd(g, 4));
    }
    switch (rnd(g, 3)) {
    case 0: m.op.mem.displacement = 0; break;
    case 1: m.op.mem.displacement = rnd_range(g, -128, 127); break;
    default: m.op.mem.displacement = (int32_t)rnd32(g); break;
    }
    if (m.op.mem.base == ZYDIS_REGISTER_NONE && m.op.mem.index == ZYDIS_REGISTER_NONE)
        m.op.mem.displacement = (int32_t)rnd32(g);
    return m;
}

/* ---- emission ---- */

static void dump_request(const ZydisEncoderRequest *r)
{
    fprintf(stderr, "diff gen: cannot encode %s with %u operands:\n",
            ZydisMnemonicGetString(r->mnemonic), r->operand_count);
    for (unsigned i = 0; i < r->operand_count; i++) {
        const ZydisEncoderOperand *o = &r->operands[i];
        switch (o->type) {
        case ZYDIS_OPERAND_TYPE_REGISTER:
            fprintf(stderr, "  reg %s\n", ZydisRegisterGetString(o->reg.value));
            break;
        case ZYDIS_OPERAND_TYPE_IMMEDIATE:
            fprintf(stderr, "  imm %" PRId64 "\n", (int64_t)o->imm.s);
            break;
        default:
            fprintf(stderr, "  mem%u [%s + %s*%u + %" PRId64 "]\n", o->mem.size,
                    ZydisRegisterGetString(o->mem.base),
                    ZydisRegisterGetString(o->mem.index), o->mem.scale,
                    (int64_t)o->mem.displacement);
            break;
        }
    }
}

/* Decode what was just encoded: the same length and mnemonic, and note
 * whether it may write DATA (patched values are trusted only before). */
static void check_encoding(struct gen *g, const struct insn_rec *rec)
{
    ZydisDecodedInstruction di;
    ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
    ZyanStatus s = ZydisDecoderDecodeFull(g->dec, g->c->code + rec->off, rec->len,
                                          &di, ops);
    if (!ZYAN_SUCCESS(s) || di.length != rec->len || di.mnemonic != rec->mnemonic) {
        fprintf(stderr, "diff gen: encoded %s (%u bytes) decodes as %s (%u bytes):",
                ZydisMnemonicGetString(rec->mnemonic), rec->len,
                ZYAN_SUCCESS(s) ? ZydisMnemonicGetString(di.mnemonic) : "garbage",
                ZYAN_SUCCESS(s) ? di.length : 0);
        for (unsigned i = 0; i < rec->len; i++)
            fprintf(stderr, " %02x", g->c->code[rec->off + i]);
        fprintf(stderr, "\n");
        abort();
    }
    for (unsigned i = 0; i < di.operand_count; i++) {
        if (ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY &&
            (ops[i].actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) &&
            ops[i].mem.base != ZYDIS_REGISTER_ESP)
            g->data_dirty = true;
    }
}

static int record(struct gen *g, unsigned len, ZydisMnemonic mn)
{
    struct dcase *c = g->c;
    if (c->n_insns >= CASE_MAX_INSNS) {
        g->failed = true;
        return -1;
    }
    struct insn_rec *rec = &c->insns[c->n_insns];
    rec->off = (uint8_t)c->code_len;
    rec->len = (uint8_t)len;
    rec->mnemonic = (uint16_t)mn;
    c->code_len = (uint16_t)(c->code_len + len);
    check_encoding(g, rec);
    return c->n_insns++;
}

int emit_full(struct gen *g, ZydisMnemonic mn, const struct emit_opts *o,
              const ZydisEncoderOperand *ops, int n)
{
    if (g->ended) {
        fprintf(stderr, "diff gen: %s emitted after the case ended\n",
                ZydisMnemonicGetString(mn));
        abort();
    }
    if (g->failed)
        return -1;
    ZydisEncoderRequest req;
    memset(&req, 0, sizeof req);
    req.machine_mode = ZYDIS_MACHINE_MODE_LEGACY_32;
    req.mnemonic = mn;
    req.operand_count = (ZyanU8)n;
    for (int i = 0; i < n; i++)
        req.operands[i] = ops[i];
    if (o) {
        req.prefixes = o->prefixes;
        req.operand_size_hint = o->size_hint;
        req.branch_width = o->branch_width;
        if (o->branch_width == ZYDIS_BRANCH_WIDTH_8)
            req.branch_type = ZYDIS_BRANCH_TYPE_SHORT;
        else if (o->branch_width != ZYDIS_BRANCH_WIDTH_NONE)
            req.branch_type = ZYDIS_BRANCH_TYPE_NEAR;
    }
    uint8_t buf[ZYDIS_MAX_INSTRUCTION_LENGTH];
    ZyanUSize len = sizeof buf;
    if (!ZYAN_SUCCESS(ZydisEncoderEncodeInstruction(&req, buf, &len))) {
        dump_request(&req);
        abort();
    }
    if (g->c->code_len + len + 1 > SLOT_SIZE) {
        g->failed = true;
        return -1;
    }
    memcpy(g->c->code + g->c->code_len, buf, len);
    return record(g, (unsigned)len, mn);
}

int emit_ops(struct gen *g, ZydisMnemonic mn, ZydisInstructionAttributes pfx,
             const ZydisEncoderOperand *ops, int n)
{
    struct emit_opts o = {.prefixes = pfx};
    return emit_full(g, mn, &o, ops, n);
}

void emit_nop_fill(struct gen *g, unsigned len)
{
    struct dcase *c = g->c;
    if (g->failed)
        return;
    if (c->code_len + len + 1 > SLOT_SIZE) {
        g->failed = true;
        return;
    }
    const unsigned end = c->code_len + len;
    if (!ZYAN_SUCCESS(ZydisEncoderNopFill(c->code + c->code_len, len)))
        abort();
    /* NopFill may use several instructions; record each one. */
    while (c->code_len < end && !g->failed) {
        ZydisDecodedInstruction di;
        if (!ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(g->dec, NULL, c->code + c->code_len,
                                                        end - c->code_len, &di)))
            abort();
        record(g, di.length, di.mnemonic);
    }
}

/* ---- labels ---- */

int label_new(struct gen *g)
{
    if (g->n_labels >= GEN_MAX_LABELS) {
        g->failed = true;
        return 0;
    }
    g->label_off[g->n_labels] = -1;
    return g->n_labels++;
}

void label_here(struct gen *g, int l)
{
    g->label_off[l] = (int16_t)g->c->code_len;
}

static void add_fixup(struct gen *g, enum fixup_kind kind, int l, int width,
                      int insn, unsigned pos)
{
    if (g->n_fixups >= GEN_MAX_FIXUPS) {
        g->failed = true;
        return;
    }
    g->fixups[g->n_fixups++] = (struct fixup){
        .kind = (uint8_t)kind, .label = (uint8_t)l, .width = (uint8_t)width,
        .insn = (uint8_t)insn, .pos = (uint16_t)pos,
    };
}

void emit_branch(struct gen *g, ZydisMnemonic mn, int width, int l)
{
    struct emit_opts o = {
        .branch_width = width == 1 ? ZYDIS_BRANCH_WIDTH_8 : ZYDIS_BRANCH_WIDTH_32,
    };
    ZydisEncoderOperand target = op_u(0);
    int i = emit_full(g, mn, &o, &target, 1);
    if (i >= 0) {
        const struct insn_rec *rec = &g->c->insns[i];
        add_fixup(g, FX_REL, l, width, i, rec->off + rec->len - (unsigned)width);
    }
}

void emit_push_label(struct gen *g, int l)
{
    int i = E(g, PUSH, 0, op_i(4, 0x7fffffff)); /* forces the imm32 form */
    if (i >= 0) {
        const struct insn_rec *rec = &g->c->insns[i];
        add_fixup(g, FX_ABS_CODE, l, 4, i, rec->off + rec->len - 4u);
    }
}

void patch_label(struct gen *g, uint32_t addr, int l)
{
    unsigned pos = g->c->patch_used;
    patch32(g, addr, 0);
    add_fixup(g, FX_ABS_PATCH, l, 4, 0, pos);
}

bool reg_label(struct gen *g, int r, int l)
{
    if (!reg_free(g, r))
        return false;
    set_initial(g, r, 0);
    g->known &= (uint8_t)~BIT(r); /* its value is settled only at the end */
    add_fixup(g, FX_ABS_REG, l, 4, 0, (unsigned)r);
    return true;
}

/* ---- memory contents and masks ---- */

void patch(struct gen *g, uint32_t addr, const void *bytes, unsigned len)
{
    struct dcase *c = g->c;
    if (c->n_patches >= CASE_MAX_PATCHES || c->patch_used + len > CASE_PATCH_BYTES) {
        g->failed = true;
        return;
    }
    /* Each patch is a value some instruction relies on (a jump target, a
     * divisor...): a later one must not overwrite it. */
    for (unsigned i = 0; i < c->n_patches; i++) {
        const struct patch *p = &c->patches[i];
        if (addr < p->addr + p->len && p->addr < addr + len) {
            g->failed = true;
            return;
        }
    }
    c->patches[c->n_patches++] = (struct patch){
        .addr = addr, .len = (uint16_t)len, .off = c->patch_used,
    };
    memcpy(c->patch_bytes + c->patch_used, bytes, len);
    c->patch_used = (uint16_t)(c->patch_used + len);
}

void patch32(struct gen *g, uint32_t addr, uint32_t v)
{
    patch(g, addr, &v, 4);
}

void mask_reg(struct gen *g, int r)
{
    g->c->undef_regs |= BIT(r);
}

void mask_mem(struct gen *g, uint32_t addr, uint32_t len)
{
    struct dcase *c = g->c;
    if (c->n_memmask >= CASE_MAX_MEMMASK) {
        g->failed = true;
        return;
    }
    c->memmask[c->n_memmask++] = (struct mem_range){addr, len};
}

void end_case(struct gen *g)
{
    g->ended = true;
}

bool may_fault(const struct gen *g)
{
    return g->depth == 0;
}

bool may_end(const struct gen *g)
{
    return g->depth == 0;
}

/* ---- whole cases ---- */

void gen_init(struct gen_ctx *ctx, uint64_t seed)
{
    ZydisDecoderInit(&ctx->decoder, ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32);
    ctx->seed = seed;
}

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

/* Resolve labels, then check every branch lands where it was meant to. */
static bool finalize(struct gen_ctx *ctx, struct gen *g)
{
    struct dcase *c = g->c;
    for (unsigned i = 0; i < g->n_fixups; i++) {
        const struct fixup *f = &g->fixups[i];
        int off = g->label_off[f->label];
        if (off < 0) {
            fprintf(stderr, "diff gen: label %u never placed\n", f->label);
            abort();
        }
        uint32_t target = c->code_addr + (uint32_t)off;
        switch (f->kind) {
        case FX_REL: {
            const struct insn_rec *rec = &c->insns[f->insn];
            int32_t rel = off - (rec->off + rec->len);
            if (f->width == 1) {
                if (rel < -128 || rel > 127)
                    return false;
                c->code[f->pos] = (uint8_t)rel;
            } else {
                put32(c->code + f->pos, (uint32_t)rel);
            }
            ZydisDecodedInstruction di;
            ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
            ZyanU64 abs = 0;
            if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&ctx->decoder, c->code + rec->off,
                                                     rec->len, &di, ops)) ||
                !ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&di, &ops[0],
                                                       c->code_addr + rec->off, &abs)) ||
                (uint32_t)abs != target) {
                fprintf(stderr, "diff gen: branch at +%u does not reach +%d\n",
                        rec->off, off);
                abort();
            }
            break;
        }
        case FX_ABS_CODE: put32(c->code + f->pos, target); break;
        case FX_ABS_PATCH: put32(c->patch_bytes + f->pos, target); break;
        case FX_ABS_REG: c->regs[f->pos] = target; break;
        }
    }
    c->undef_flags = g->flags_garbage ? 0xffffffffu : g->undef;
    c->code[c->code_len] = 0xf4; /* the hlt every case ends with */
    return true;
}

void gen_case(struct gen_ctx *ctx, uint64_t index, uint32_t code_addr,
              struct dcase *c)
{
    for (uint64_t attempt = 0;; attempt++) {
        struct gen g;
        memset(&g, 0, sizeof g);
        memset(c, 0, sizeof *c);
        g.c = c;
        g.dec = &ctx->decoder;
        g.rng = mix64(ctx->seed * 0x2545f4914f6cdd1dull + mix64(index) + attempt * 0x9e37ull);
        c->index = index;
        c->code_addr = code_addr;
        c->fill_seed = rnd64(&g);
        for (int r = 0; r < 8; r++)
            c->regs[r] = g.val[r] = rand_value(&g);
        c->regs[R_ESP] = STACK_MID - 512 + (rnd(&g, 1024) & (chance(&g, 10) ? ~0u : ~3u));
        g.df = chance(&g, 50);
        c->eflags = 0x2 | (rnd32(&g) & FL_ARITH) | (g.df ? FL_DF : 0);
        g.df_known = true;
        g.known = 0xff & (uint8_t)~BIT(R_ESP); /* ESP drifts with the stack */
        g.initial = 0xff;
        g.fixed = BIT(R_ESP);

        c->group = (uint8_t)pick_group(&g);
        diff_groups[c->group].fn(&g);
        if (!g.failed && finalize(ctx, &g))
            return;
    }
}
