/* Templates for data movement and the rest of the non-branching integer
 * set: mov (moffs too), movzx/movsx, lea, xchg/xadd/cmpxchg(8b), bswap,
 * cmovcc, setcc, conversions, flag instructions, xlat, nops, cpuid, rdtsc
 * and the string instructions with their rep prefixes. */
#include <string.h>

#include "bt/cpu.h"
#include "tests/diff/templates.h"
#include "tests/diff/undefined.h"

#define BIT(r) ((uint8_t)(1u << (r)))

static const ZydisMnemonic cmov_mn[16] = {
    MN(CMOVO), MN(CMOVNO), MN(CMOVB), MN(CMOVNB), MN(CMOVZ), MN(CMOVNZ),
    MN(CMOVBE), MN(CMOVNBE), MN(CMOVS), MN(CMOVNS), MN(CMOVP), MN(CMOVNP),
    MN(CMOVL), MN(CMOVNL), MN(CMOVLE), MN(CMOVNLE),
};
static const ZydisMnemonic set_mn[16] = {
    MN(SETO), MN(SETNO), MN(SETB), MN(SETNB), MN(SETZ), MN(SETNZ),
    MN(SETBE), MN(SETNBE), MN(SETS), MN(SETNS), MN(SETP), MN(SETNP),
    MN(SETL), MN(SETNL), MN(SETLE), MN(SETNLE),
};

static void effect(struct gen *g, ZydisMnemonic mn)
{
    struct flag_effect e = flags_of(mn);
    flags_set(g, e.defined, e.undefined);
}

/* [disp32] with no base or index: mov to/from the accumulator uses the
 * moffs encodings (A0-A3). */
static struct mem mem_moffs(struct gen *g, int size)
{
    struct mem m;
    memset(&m, 0, sizeof m);
    m.op.type = ZYDIS_OPERAND_TYPE_MEMORY;
    m.op.mem.size = (ZyanU16)size;
    m.ea = pick_ea(g, size, 16);
    m.in_data = true;
    m.op.mem.displacement = m.ea;
    if (chance(g, 10))
        m.seg = chance(g, 50) ? ZYDIS_ATTRIB_HAS_SEGMENT_ES : ZYDIS_ATTRIB_HAS_SEGMENT_SS;
    return m;
}

void tpl_mov(struct gen *g)
{
    int size = rand_size(g);
    switch (rnd(g, 6)) {
    case 0: { /* r/m <- r */
        struct rm d = rm_pick(g, size, 0, 60);
        E(g, MOV, rm_prefixes(g, &d, false), d.op, op_r(size, pick_src(g)));
        rm_written(g, &d);
        break;
    }
    case 1: { /* r <- r/m */
        int r = pick_reg(g, size, 0);
        struct rm s = rm_pick(g, size, 0, 60);
        E(g, MOV, rm_prefixes(g, &s, false), op_r(size, r), s.op);
        reg_written(g, full_reg(size, r));
        break;
    }
    case 2: { /* r <- imm */
        int r = pick_reg(g, size, 0);
        uint32_t v = rand_value(g) & size_mask(size);
        E(g, MOV, 0, op_r(size, r), op_i(size, v));
        if (size == 4)
            reg_const(g, r, v);
        else
            reg_written(g, full_reg(size, r));
        break;
    }
    case 3: { /* r/m <- imm, memory form */
        struct rm d = rm_pick(g, size, 0, 100);
        E(g, MOV, rm_prefixes(g, &d, false), d.op, op_i(size, rand_value(g)));
        break;
    }
    case 4: { /* acc <- moffs */
        struct mem m = mem_moffs(g, size);
        E(g, MOV, m.seg, op_r(size, R_EAX), m.op);
        reg_written(g, R_EAX);
        break;
    }
    default: { /* moffs <- acc */
        struct mem m = mem_moffs(g, size);
        E(g, MOV, m.seg, m.op, op_r(size, R_EAX));
        break;
    }
    }
}

void tpl_movx(struct gen *g)
{
    ZydisMnemonic mn = chance(g, 50) ? MN(MOVZX) : MN(MOVSX);
    int ssize = chance(g, 60) ? 1 : 2;
    int dsize = ssize == 2 || chance(g, 70) ? 4 : 2;
    int r = pick_reg(g, dsize, 0);
    struct rm s = rm_pick(g, ssize, 0, 50);
    EV(g, mn, rm_prefixes(g, &s, false), op_r(dsize, r), s.op);
    reg_written(g, r);
}

void tpl_lea(struct gen *g)
{
    int size = chance(g, 15) ? 2 : 4;
    int r = pick_reg(g, size, 0);
    struct mem m = mem_any(g); /* no access: any registers and displacement */
    E(g, LEA, 0, op_r(size, r), m.op);
    reg_written(g, r);
}

/* Put `v` into register id of `size` (sub-registers included). */
static void want_subreg(struct gen *g, int size, int id, uint32_t v)
{
    int shift = (size == 1 && id >= 4) ? 8 : 0;
    uint32_t m = size_mask(size) << shift;
    int full = full_reg(size, id);
    uint32_t base = (g->known & BIT(full)) ? g->val[full] : rnd32(g);
    reg_want_exact(g, full, (base & ~m) | ((v << shift) & m));
}

void tpl_exchange(struct gen *g)
{
    int size = rand_size(g);
    uint32_t m = size_mask(size);
    switch (rnd(g, 5)) {
    case 0: { /* xchg r, r (and the one-byte xchg eax, r) */
        int a = chance(g, 35) ? R_EAX : pick_reg(g, size, 0);
        int b = pick_reg(g, size, BIT(full_reg(size, a)));
        if (chance(g, 50))
            E(g, XCHG, 0, op_r(size, a), op_r(size, b));
        else
            E(g, XCHG, 0, op_r(size, b), op_r(size, a));
        reg_written(g, full_reg(size, a));
        reg_written(g, full_reg(size, b));
        break;
    }
    case 1: { /* xchg r, m: locked by the hardware even without a prefix */
        int r = pick_reg(g, size, 0);
        struct rm d = rm_pick(g, size, 0, 100);
        /* (Zydis encodes the memory-first order only; it is one opcode) */
        E(g, XCHG, rm_prefixes(g, &d, true), d.op, op_r(size, r));
        reg_written(g, full_reg(size, r));
        break;
    }
    case 2: { /* xadd r/m, r */
        struct rm d = rm_pick(g, size, 0, 50);
        int r = pick_reg(g, size, 0);
        E(g, XADD, rm_prefixes(g, &d, true), d.op, op_r(size, r));
        rm_written(g, &d);
        reg_written(g, full_reg(size, r));
        effect(g, MN(XADD));
        break;
    }
    case 3: { /* cmpxchg r/m, r; half the time the accumulator matches */
        struct rm d = rm_pick(g, size, 0, 50);
        int r = pick_reg(g, size, 0);
        bool equal = chance(g, 50) && (g->known & BIT(R_EAX));
        if (equal) {
            uint32_t acc = reg_value(g, R_EAX) & m;
            if (d.is_mem && d.m.in_data && !g->data_dirty)
                patch(g, d.m.ea, &acc, (unsigned)size);
            else if (!d.is_mem && full_reg(size, d.id) != R_EAX)
                want_subreg(g, size, d.id, acc);
        }
        E(g, CMPXCHG, rm_prefixes(g, &d, true), d.op, op_r(size, r));
        rm_written(g, &d);
        reg_written(g, R_EAX);
        effect(g, MN(CMPXCHG));
        break;
    }
    default: { /* cmpxchg8b m64, with and without lock */
        struct mem d = mem_data(g, 8, 16, 0);
        if (chance(g, 50) && !g->data_dirty &&
            (g->known & BIT(R_EAX)) && (g->known & BIT(R_EDX))) {
            uint32_t v[2] = {reg_value(g, R_EAX), reg_value(g, R_EDX)};
            patch(g, d.ea, v, 8);
        }
        ZydisInstructionAttributes p = d.seg | (chance(g, 50) ? ZYDIS_ATTRIB_HAS_LOCK : 0);
        /* Unicorn 2.0.1 computes the flags CMPXCHG8B preserves from a
         * stale cc_op when a flag-setting instruction precedes it in the
         * same translation block; jmp $+2 starts a new block. */
        int next = label_new(g);
        emit_branch(g, MN(JMP), 1, next);
        label_here(g, next);
        E(g, CMPXCHG8B, p, d.op);
        reg_written(g, R_EAX);
        reg_written(g, R_EDX);
        effect(g, MN(CMPXCHG8B));
        break;
    }
    }
}

void tpl_bswap(struct gen *g)
{
    int r = pick_reg(g, 4, 0);
    E(g, BSWAP, 0, op_r(4, r));
    reg_written(g, r);
}

void tpl_cmov(struct gen *g)
{
    int cc = (int)rnd(g, 16);
    int size = chance(g, 30) ? 2 : 4;
    int r = pick_reg(g, size, 0);
    struct rm s = rm_pick(g, size, 0, 45);
    flags_need(g, cc_flags(cc));
    EV(g, cmov_mn[cc], rm_prefixes(g, &s, false), op_r(size, r), s.op);
    reg_written(g, r);
}

void tpl_setcc(struct gen *g)
{
    int cc = (int)rnd(g, 16);
    struct rm d = rm_pick(g, 1, 0, 40);
    flags_need(g, cc_flags(cc));
    EV(g, set_mn[cc], rm_prefixes(g, &d, false), d.op);
    rm_written(g, &d);
}

void tpl_convert(struct gen *g)
{
    switch (rnd(g, 4)) {
    case 0: E0(g, CBW, 0); reg_written(g, R_EAX); break;
    case 1: E0(g, CWDE, 0); reg_written(g, R_EAX); break;
    case 2: E0(g, CWD, 0); reg_written(g, R_EDX); break;
    default: E0(g, CDQ, 0); reg_written(g, R_EDX); break;
    }
}

void tpl_flag_ops(struct gen *g)
{
    switch (rnd(g, 7)) {
    case 0:
        flags_need(g, FL_SF | FL_ZF | FL_AF | FL_PF | FL_CF);
        E0(g, LAHF, 0);
        reg_written(g, R_EAX);
        return;
    case 1: E0(g, SAHF, 0); effect(g, MN(SAHF)); return;
    case 2: E0(g, CLC, 0); effect(g, MN(CLC)); return;
    case 3: E0(g, STC, 0); effect(g, MN(STC)); return;
    case 4: flags_need(g, FL_CF); E0(g, CMC, 0); effect(g, MN(CMC)); return;
    case 5: E0(g, CLD, 0); g->df_known = true; g->df = false; return;
    default: E0(g, STD, 0); g->df_known = true; g->df = true; return;
    }
}

void tpl_xlat(struct gen *g)
{
    /* table at EBX, 256 bytes, sometimes across the page boundary */
    uint32_t lo = DATA_BASE + 16, hi = DATA_BASE + DATA_SIZE - 16 - 256;
    if (chance(g, 40))
        lo = DATA_BASE + 0x1000 - 255, hi = DATA_BASE + 0x1000 - 1;
    reg_want(g, R_EBX, lo, hi);
    static const ZydisInstructionAttributes segs[] = {
        0, 0, 0, ZYDIS_ATTRIB_HAS_SEGMENT_ES, ZYDIS_ATTRIB_HAS_SEGMENT_SS,
    };
    E0(g, XLAT, segs[rnd(g, 5)]);
    reg_written(g, R_EAX);
}

void tpl_nop(struct gen *g)
{
    switch (rnd(g, 3)) {
    case 0: E0(g, NOP, 0); break;
    case 1: emit_nop_fill(g, 2 + rnd(g, 8)); break; /* 66 90, 0F 1F /0 ... */
    default: {
        struct mem m = mem_any(g); /* hint nop 0F 18 /4: no access */
        if (chance(g, 30))
            m.op.mem.size = 2;
        E(g, NOP, 0, m.op);
        break;
    }
    }
}

void tpl_cpuid(struct gen *g)
{
    static const uint32_t leaves[] = {
        0, 1, 2, 4, 7, 0x80000000u, 0x80000001u, 0x80000008u,
    };
    if (!may_end(g)) {
        tpl_nop(g);
        return;
    }
    reg_want_exact(g, R_EAX, chance(g, 80) ? leaves[rnd(g, 8)] : rand_value(g));
    E0(g, CPUID, 0);
    /* tpvm's CPUID model differs from Unicorn's: only check it runs. */
    mask_reg(g, R_EAX);
    mask_reg(g, R_EBX);
    mask_reg(g, R_ECX);
    mask_reg(g, R_EDX);
    end_case(g);
}

void tpl_rdtsc(struct gen *g)
{
    if (!may_end(g)) {
        tpl_nop(g);
        return;
    }
    E0(g, RDTSC, 0);
    mask_reg(g, R_EAX); /* time differs */
    mask_reg(g, R_EDX);
    end_case(g);
}

/* ---- string instructions ---- */

enum { S_MOVS, S_STOS, S_LODS, S_CMPS, S_SCAS };

/* Start address for a run of `span` bytes in direction df; a third of the
 * runs cross the page boundary in the middle of DATA. */
static uint32_t string_start(struct gen *g, uint32_t span, bool df)
{
    const uint32_t page = DATA_BASE + 0x1000;
    if (chance(g, 33) && span > 1) {
        uint32_t into = 1 + rnd(g, span - 1); /* bytes before the boundary */
        return df ? page + span - into - 1 : page - into;
    }
    return DATA_BASE + 256 + rnd(g, DATA_SIZE - 512);
}

/* Element i of a run from `start` going in direction df. */
static uint32_t elem(uint32_t start, int size, bool df, uint32_t i)
{
    return df ? start - i * (uint32_t)size : start + i * (uint32_t)size;
}

void tpl_string(struct gen *g)
{
    static const ZydisMnemonic mn_tab[5][3] = {
        {MN(MOVSB), MN(MOVSW), MN(MOVSD)}, {MN(STOSB), MN(STOSW), MN(STOSD)},
        {MN(LODSB), MN(LODSW), MN(LODSD)}, {MN(CMPSB), MN(CMPSW), MN(CMPSD)},
        {MN(SCASB), MN(SCASW), MN(SCASD)},
    };
    int op = (int)rnd(g, 5), szi = (int)rnd(g, 3), size = 1 << szi;
    ZydisMnemonic mn = mn_tab[op][szi];
    bool compares = op == S_CMPS || op == S_SCAS;
    ZydisInstructionAttributes rep = 0;
    switch (rnd(g, 3)) {
    case 0: break;
    case 1: rep = compares ? ZYDIS_ATTRIB_HAS_REPE : ZYDIS_ATTRIB_HAS_REP; break;
    default: rep = compares ? ZYDIS_ATTRIB_HAS_REPNE : ZYDIS_ATTRIB_HAS_REP; break;
    }
    if (!g->df_known || chance(g, 35)) {
        bool df = chance(g, 50);
        if (df)
            E0(g, STD, 0);
        else
            E0(g, CLD, 0);
        g->df_known = true;
        g->df = df;
    }
    bool df = g->df;
    uint32_t count = rep ? (chance(g, 10) ? 0 : rnd(g, 41)) : 1;
    uint32_t n = count ? count : 1;
    uint32_t span = n * (uint32_t)size;
    bool uses_si = op == S_MOVS || op == S_LODS || op == S_CMPS;
    bool uses_di = op != S_LODS;
    if (rep)
        reg_want_exact(g, R_ECX, count);

    uint32_t si = 0, di = 0;
    if (uses_si)
        si = string_start(g, span, df);
    if (uses_di) {
        di = string_start(g, span, df);
        if (uses_si && chance(g, 25)) /* overlapping runs */
            di = si + (uint32_t)rnd_range(g, -8, 8);
    }
    if (uses_si)
        reg_want_exact(g, R_ESI, si);
    if (uses_di)
        reg_want_exact(g, R_EDI, di);

    /* Make repe/repne runs go on for a while: the first k elements equal
     * (repe) or element k matching (repne). */
    if (rep && compares && !g->data_dirty && count && (g->known & BIT(R_EAX))) {
        uint32_t k = rnd(g, count + 1);
        bool repe = rep == ZYDIS_ATTRIB_HAS_REPE;
        uint8_t run[41 * 4];
        uint32_t acc = reg_value(g, R_EAX);
        for (uint32_t i = 0; i < (k + 1) * (uint32_t)size; i++)
            run[i] = op == S_SCAS ? (uint8_t)(acc >> (8 * (i % (uint32_t)size)))
                                  : (uint8_t)rnd32(g);
        if (repe && k) { /* lowest address of the k-element run */
            uint32_t len = k * (uint32_t)size;
            if (op == S_CMPS)
                patch(g, df ? elem(si, size, df, k - 1) : si, run, len);
            patch(g, df ? elem(di, size, df, k - 1) : di, run, len);
        } else if (!repe && k < count) {
            if (op == S_CMPS)
                patch(g, elem(si, size, df, k), run, (unsigned)size);
            patch(g, elem(di, size, df, k), run, (unsigned)size);
        }
    }

    ZydisInstructionAttributes seg = 0;
    if (uses_si && chance(g, 10)) /* DS source can be overridden */
        seg = chance(g, 50) ? ZYDIS_ATTRIB_HAS_SEGMENT_ES : ZYDIS_ATTRIB_HAS_SEGMENT_SS;
    emit_ops(g, mn, rep | seg, NULL, 0);

    if (uses_si)
        reg_written(g, R_ESI);
    if (uses_di)
        reg_written(g, R_EDI);
    if (rep)
        reg_written(g, R_ECX);
    if (op == S_LODS)
        reg_written(g, R_EAX);
    if (compares && count)
        effect(g, mn);
}

/* ---- frame walks ---- */

static ZydisEncoderOperand op_frame(int base, int32_t disp, int size)
{
    ZydisEncoderOperand o;
    memset(&o, 0, sizeof o);
    o.type = ZYDIS_OPERAND_TYPE_MEMORY;
    o.mem.base = zreg(4, base);
    o.mem.displacement = disp;
    o.mem.size = (ZyanU16)size;
    return o;
}

/* One step of a frame walk through base b: a frame load, store, ALU or
 * CMOV on the frame, or an access or IMUL between them. It writes no
 * register of `keep` and addresses other memory through none of `addr`.
 * False when it loaded the base (the walk ends). */
static bool frame_step(struct gen *g, int b, uint8_t keep, uint8_t addr,
                       bool may_end, bool cmov)
{
    int size = chance(g, 75) ? 4 : rand_size(g);
    int32_t d = rnd_range(g, -48, 44);
    ZydisEncoderOperand f = op_frame(b, d, size);
    int r = pick_reg(g, size, keep);
    switch (rnd(g, 9)) {
    case 0:
    case 1:
        E(g, MOV, 0, op_r(size, r), f);
        reg_written(g, full_reg(size, r));
        break;
    case 2:
        E(g, MOV, 0, f, op_r(size, pick_src(g)));
        g->data_dirty = true;
        break;
    case 3: {
        static const ZydisMnemonic ops[] = {MN(ADD), MN(SUB), MN(XOR), MN(CMP), MN(AND)};
        ZydisMnemonic mn = ops[rnd(g, 5)];
        if (chance(g, 50)) {
            EV(g, mn, 0, op_r(size, r), f);
            if (mn != MN(CMP))
                reg_written(g, full_reg(size, r));
        } else {
            EV(g, mn, 0, f, op_r(size, r));
            g->data_dirty |= mn != MN(CMP);
        }
        effect(g, mn);
        break;
    }
    case 4: {
        if (!cmov)
            break;
        int cc = (int)rnd(g, 16);
        r = pick_reg(g, 4, keep);
        flags_need(g, cc_flags(cc));
        EV(g, cmov_mn[cc], 0, op_r(4, r), op_frame(b, d, 4));
        reg_written(g, r);
        break;
    }
    case 5: { /* a load through other registers */
        struct rm s = rm_pick(g, size, addr, 100);
        E(g, MOV, rm_prefixes(g, &s, false), op_r(size, r), s.op);
        reg_written(g, full_reg(size, r));
        break;
    }
    case 6: { /* a store through other registers */
        struct rm dst = rm_pick(g, size, addr, 100);
        E(g, MOV, rm_prefixes(g, &dst, false), dst.op, op_r(size, pick_src(g)));
        rm_written(g, &dst);
        break;
    }
    case 7:
        r = pick_reg(g, 4, keep);
        E(g, IMUL, 0, op_r(4, r), op_r(4, pick_src(g)));
        reg_written(g, r);
        effect(g, MN(IMUL));
        break;
    default:
        if (may_end && chance(g, 30)) { /* the base changes: the region ends */
            E(g, MOV, 0, op_r(4, b), op_frame(b, d, 4));
            reg_written(g, b);
            return false;
        }
        E(g, MOV, 0, op_r(size, r), f);
        reg_written(g, full_reg(size, r));
        break;
    }
    return true;
}

/* Where a frame walk's base points: in a quarter of the cases the
 * accesses straddle DATA's middle page boundary (the region cannot be
 * served: it is replayed one instruction at a time, then translated
 * without a region). */
static uint32_t frame_at(struct gen *g)
{
    return chance(g, 25) ? DATA_BASE + 0x1000u + (uint32_t)rnd_range(g, -40, 40)
                         : DATA_BASE + 128u + rnd(g, DATA_SIZE - 256u);
}

/* Accesses through one base register with other accesses and register
 * work between them, as compiled code reaches its locals: what
 * bt/xlate_region.c serves with one probe; sometimes the walk ends by
 * loading the base. */
void tpl_frame(struct gen *g)
{
    int b = pick_reg(g, 4, 0);
    reg_want_exact(g, b, frame_at(g));
    uint8_t keep = (uint8_t)(1u << b);
    unsigned n = 3 + rnd(g, 9);
    for (unsigned i = 0; i < n && !g->ended && !g->failed; i++)
        if (!frame_step(g, b, keep, keep, true, true))
            return;
}

/* A counted loop whose body is a frame walk, as the kernel's bignum
 * loops are: the region is probed once before the loop and the back edge
 * re-enters past the probe (bt/xlate_region.c, self_loop), unless the
 * body moves the base at its end (then each pass probes). The body
 * writes only one or two other registers, never used in its addresses;
 * it starts with an ALU op
 * on the frame, so every pass starts from freshly computed flags, and has
 * no CMOV (flags from the previous pass). */
void tpl_frame_loop(struct gen *g)
{
    static const ZydisMnemonic first[] = {MN(ADD), MN(SUB), MN(CMP)};
    static const ZydisMnemonic back[] = {MN(JNZ), MN(JNLE), MN(JNS)};
    int b = pick_reg(g, 4, BIT(R_ECX));
    reg_want_exact(g, b, frame_at(g));
    reg_want_exact(g, R_ECX, 1 + rnd(g, 6));
    uint8_t fixed = (uint8_t)(BIT(b) | BIT(R_ECX) | BIT(R_ESP));
    uint8_t dst = (uint8_t)BIT(pick_reg(g, 4, fixed));
    if (chance(g, 50))
        dst |= (uint8_t)BIT(pick_reg(g, 4, fixed | dst));
    uint8_t keep = (uint8_t)~dst, addr = (uint8_t)(dst | BIT(b) | BIT(R_ECX));
    int l = label_new(g);
    label_here(g, l);
    ZydisMnemonic mn = first[rnd(g, 3)];
    int r = pick_reg(g, 4, keep);
    EV(g, mn, 0, op_r(4, r), op_frame(b, rnd_range(g, -48, 44), 4));
    if (mn != MN(CMP))
        reg_written(g, r);
    effect(g, mn);
    unsigned n = 2 + rnd(g, 7);
    for (unsigned i = 0; i < n && !g->ended && !g->failed; i++)
        frame_step(g, b, keep, addr, false, false);
    bool walks = chance(g, 30); /* a pointer walk: no region across passes */
    if (walks)
        E(g, LEA, 0, op_r(4, b), op_frame(b, 4, 4));
    E(g, DEC, 0, op_r(4, R_ECX));
    emit_branch(g, back[rnd(g, 3)], chance(g, 50) ? 1 : 4, l);
    reg_written(g, R_ECX);
    if (walks)
        reg_written(g, b);
    flags_set(g, FL_ARITH, 0);
}

/* [base + disp] whose 32-bit sum wraps past 4 GiB into DATA: with paging
 * off tpvm folds such an address (0 <= disp < BT_FOLD_MAX) into the
 * access, where the 64-bit sum lands in the guard above guest memory and
 * the slow path wraps it (bt/xlate_mem.c). Loads, stores, read-modify-
 * write, a load into the base itself and xchg, which writes both. */
void tpl_wrap(struct gen *g)
{
    int size = rand_size(g);
    uint32_t ea = pick_ea(g, size, 0);
    int32_t disp = (int32_t)(ea + 1 + rnd(g, BT_FOLD_MAX - 16 - ea));
    int b = pick_reg(g, 4, 0);
    reg_want_exact(g, b, ea - (uint32_t)disp);
    ZydisEncoderOperand m = op_frame(b, disp, size);
    int r = pick_reg(g, size, BIT(b));
    switch (rnd(g, 5)) {
    case 0:
        E(g, MOV, 0, op_r(size, r), m);
        reg_written(g, full_reg(size, r));
        break;
    case 1:
        E(g, MOV, 0, m, op_r(size, pick_src(g)));
        g->data_dirty = true;
        break;
    case 2:
        flags_need(g, FL_ARITH);
        E(g, ADC, 0, m, op_r(size, r));
        effect(g, MN(ADC));
        g->data_dirty = true;
        break;
    case 3:
        E(g, MOV, 0, op_r(4, b), op_frame(b, disp, 4));
        reg_written(g, b);
        break;
    default:
        E(g, XCHG, 0, m, op_r(size, r));
        reg_written(g, full_reg(size, r));
        g->data_dirty = true;
        break;
    }
}
