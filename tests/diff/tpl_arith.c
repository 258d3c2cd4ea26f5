/* Templates for integer arithmetic: ALU ops in every form, inc/dec/neg/not,
 * multiplies, divides (with #DE cases), shifts and rotates, double shifts,
 * bit tests, bit scans, BCD adjusts and multi-word carry chains. */
#include "bt/cpu.h"
#include "tests/diff/templates.h"
#include "tests/diff/undefined.h"

#define BIT(r) ((uint8_t)(1u << (r)))

static void effect(struct gen *g, struct flag_effect e)
{
    flags_set(g, e.defined, e.undefined);
}

static int size16_32(struct gen *g)
{
    return chance(g, 30) ? 2 : 4;
}

/* An immediate that does not fit a sign-extended imm8, so the encoder
 * has to use the full-width form. */
static uint32_t wide_imm(struct gen *g, int size)
{
    uint32_t v = rand_value(g) & size_mask(size);
    int32_t s = size == 2 ? (int16_t)v : (int32_t)v;
    if (size > 1 && s >= -128 && s <= 127)
        v ^= 0x100u << rnd(g, (unsigned)size * 8 - 9);
    return v;
}

void tpl_alu(struct gen *g)
{
    static const ZydisMnemonic ops[] = {
        MN(ADD), MN(ADC), MN(SUB), MN(SBB), MN(AND), MN(OR), MN(XOR), MN(CMP), MN(TEST),
    };
    ZydisMnemonic mn = ops[rnd(g, 9)];
    int size = rand_size(g);
    bool writes = mn != MN(CMP) && mn != MN(TEST);
    if (mn == MN(ADC) || mn == MN(SBB))
        flags_need(g, FL_CF);
    /* 0 r/m,r  1 r,r/m  2 r/m,imm8 (sign-extended)  3 r/m,imm  4 acc,imm */
    unsigned form = rnd(g, 5);
    if (mn == MN(TEST) && (form == 1 || form == 2))
        form = form == 1 ? 0 : 3;
    switch (form) {
    case 0: {
        struct rm d = rm_pick(g, size, 0, 50);
        EV(g, mn, rm_prefixes(g, &d, writes), d.op, op_r(size, pick_src(g)));
        if (writes)
            rm_written(g, &d);
        break;
    }
    case 1: {
        int r = pick_reg(g, size, 0);
        struct rm s = rm_pick(g, size, 0, 50);
        EV(g, mn, rm_prefixes(g, &s, false), op_r(size, r), s.op);
        if (writes)
            reg_written(g, full_reg(size, r));
        break;
    }
    case 2:
    case 3: {
        struct rm d = rm_pick(g, size, 0, 50);
        uint32_t v = form == 2 ? (uint32_t)(int8_t)rnd32(g) : wide_imm(g, size);
        EV(g, mn, rm_prefixes(g, &d, writes), d.op, op_i(size, v));
        if (writes)
            rm_written(g, &d);
        break;
    }
    default:
        EV(g, mn, 0, op_r(size, R_EAX), op_i(size, wide_imm(g, size)));
        if (writes)
            reg_written(g, R_EAX);
        break;
    }
    effect(g, flags_of(mn));
}

void tpl_unary(struct gen *g)
{
    static const ZydisMnemonic ops[] = {MN(INC), MN(DEC), MN(NEG), MN(NOT)};
    ZydisMnemonic mn = ops[rnd(g, 4)];
    int size = rand_size(g);
    struct rm d = rm_pick(g, size, 0, 45);
    ZydisInstructionAttributes pfx = rm_prefixes(g, &d, true);
    EV(g, mn, pfx, d.op);
    rm_written(g, &d);
    effect(g, flags_of(mn));
    /* Oracle quirk: Unicorn 2.0.1 computes SF ZF PF of LOCK NEG from the
     * old value (checked against the host CPU); they are not compared. */
    if (mn == MN(NEG) && (pfx & ZYDIS_ATTRIB_HAS_LOCK))
        flags_set(g, 0, FL_SF | FL_ZF | FL_PF);
}

void tpl_mul(struct gen *g)
{
    switch (rnd(g, 3)) {
    case 0: { /* mul/imul r/m: EDX:EAX (or AX) = EAX * r/m */
        ZydisMnemonic mn = chance(g, 50) ? MN(MUL) : MN(IMUL);
        int size = rand_size(g);
        struct rm s = rm_pick(g, size, 0, 45);
        EV(g, mn, rm_prefixes(g, &s, false), s.op);
        reg_written(g, R_EAX);
        if (size > 1)
            reg_written(g, R_EDX);
        effect(g, flags_of(mn));
        return;
    }
    case 1: { /* imul r, r/m */
        int size = size16_32(g);
        int r = pick_reg(g, size, 0);
        struct rm s = rm_pick(g, size, 0, 45);
        E(g, IMUL, rm_prefixes(g, &s, false), op_r(size, r), s.op);
        reg_written(g, r);
        break;
    }
    default: { /* imul r, r/m, imm8 or imm */
        int size = size16_32(g);
        int r = pick_reg(g, size, 0);
        struct rm s = rm_pick(g, size, 0, 45);
        uint32_t v = chance(g, 50) ? (uint32_t)(int8_t)rnd32(g) : wide_imm(g, size);
        E(g, IMUL, rm_prefixes(g, &s, false), op_r(size, r), s.op, op_i(size, v));
        reg_written(g, r);
        break;
    }
    }
    effect(g, flags_of(MN(IMUL)));
}

/* ---- divide ---- */

enum { DIV_OK, DIV_BY_ZERO, DIV_OVERFLOW };

static __int128 sext(uint64_t v, int bits)
{
    return bits == 64 ? (__int128)(int64_t)v
                      : (__int128)(int64_t)(v << (64 - bits)) >> (64 - bits);
}

/* What the hardware does with dividend (2n bits) / divisor (n bits). */
static int div_outcome(bool sgn, int n, uint64_t dividend, uint32_t divisor)
{
    if (divisor == 0)
        return DIV_BY_ZERO;
    if (!sgn) {
        uint64_t q = dividend / divisor;
        return (n < 64 && q >> n) ? DIV_OVERFLOW : DIV_OK;
    }
    __int128 q = sext(dividend, 2 * n) / sext(divisor, n);
    __int128 lim = (__int128)1 << (n - 1);
    return (q < -lim || q >= lim) ? DIV_OVERFLOW : DIV_OK;
}

static uint64_t rnd64v(struct gen *g)
{
    return ((uint64_t)rnd32(g) << 32) | rnd32(g);
}

/* Pick dividend and divisor that produce `want`. */
static void div_operands(struct gen *g, bool sgn, int n, int want,
                         uint64_t *dividend, uint32_t *divisor)
{
    const uint64_t nmask = n == 32 ? 0xffffffffull : (1ull << n) - 1;
    const uint64_t wmask = n == 32 ? ~0ull : (1ull << (2 * n)) - 1;
    for (;;) {
        uint64_t a;
        uint32_t d = (uint32_t)(rand_value(g) & nmask);
        if (want == DIV_BY_ZERO) {
            d = 0;
            a = rnd64v(g) & wmask;
        } else if (d == 0) {
            continue;
        } else if (want == DIV_OVERFLOW) {
            if (sgn && chance(g, 30)) { /* the most negative value / -1 */
                a = (uint64_t)(-((__int128)1 << (n - 1))) & wmask;
                d = (uint32_t)nmask;
            } else if (!sgn && chance(g, 30)) {
                /* the smallest overflow: high half equal to the divisor */
                a = (((uint64_t)d << n) | (rnd64v(g) & nmask)) & wmask;
            } else {
                a = rnd64v(g) & wmask;
            }
        } else if (!sgn) {
            /* sometimes the largest quotient: high half just below the
             * divisor, the last dividend that does not overflow */
            uint64_t q = chance(g, 20) ? nmask : rnd64v(g) & nmask;
            a = q * d + rnd64v(g) % d;
        } else {
            /* quotient in range; remainder smaller than the divisor and
             * with the dividend's sign, as truncating division gives */
            __int128 q = sext(rnd64v(g) & nmask, n), sd = sext(d, n);
            if (chance(g, 50))
                q = sext(rnd32(g) & 0xff, 8);
            __int128 mag = sd < 0 ? -sd : sd;
            __int128 r = (__int128)(rnd64v(g) % (uint64_t)mag);
            __int128 prod = q * sd;
            if (prod < 0 || (prod == 0 && chance(g, 50)))
                r = -r;
            a = (uint64_t)(prod + r) & wmask;
        }
        if (div_outcome(sgn, n, a, d) == want) {
            *dividend = a;
            *divisor = d;
            return;
        }
    }
}

void tpl_div(struct gen *g)
{
    bool sgn = chance(g, 50);
    ZydisMnemonic mn = sgn ? MN(IDIV) : MN(DIV);
    int size = rand_size(g), n = size * 8;
    int want = DIV_OK;
    if (may_fault(g)) {
        unsigned r = rnd(g, 100);
        want = r < 10 ? DIV_BY_ZERO : r < 25 ? DIV_OVERFLOW : DIV_OK;
    }
    uint64_t dividend;
    uint32_t divisor;
    div_operands(g, sgn, n, want, &dividend, &divisor);

    if (size == 1) {
        reg_want_exact(g, R_EAX, (rnd32(g) & 0xffff0000u) | (uint32_t)(dividend & 0xffff));
    } else {
        uint32_t m = size_mask(size), keep = ~m & rnd32(g);
        reg_want_exact(g, R_EAX, keep | (uint32_t)(dividend & m));
        reg_want_exact(g, R_EDX, (~m & rnd32(g)) | (uint32_t)((dividend >> n) & m));
    }
    ZydisEncoderOperand src;
    ZydisInstructionAttributes pfx = 0;
    if (!g->data_dirty && chance(g, 45)) {
        struct mem m = mem_data(g, size, 16, 0);
        patch(g, m.ea, &divisor, (unsigned)size);
        src = m.op;
        pfx = m.seg;
    } else {
        uint8_t avoid = size == 1 ? BIT(R_EAX) : BIT(R_EAX) | BIT(R_EDX);
        int id = pick_reg(g, size, avoid);
        int shift = (size == 1 && id >= 4) ? 8 : 0;
        uint32_t m = size_mask(size) << shift;
        reg_want_exact(g, full_reg(size, id), (rnd32(g) & ~m) | (divisor << shift));
        src = op_r(size, id);
    }
    emit_ops(g, mn, pfx, &src, 1);
    if (want != DIV_OK) {
        g->c->expect = EXPECT_DE;
        end_case(g);
        return;
    }
    reg_written(g, R_EAX);
    if (size > 1)
        reg_written(g, R_EDX);
    effect(g, flags_of(mn));
}

/* ---- shifts ---- */

static uint32_t rand_count(struct gen *g)
{
    return chance(g, 75) ? rnd(g, 34) : rnd(g, 256);
}

void tpl_shift(struct gen *g)
{
    static const ZydisMnemonic ops[] = {
        MN(SHL), MN(SHR), MN(SAR), MN(ROL), MN(ROR), MN(RCL), MN(RCR),
    };
    ZydisMnemonic mn = ops[rnd(g, 7)];
    int size = rand_size(g);
    if (mn == MN(RCL) || mn == MN(RCR))
        flags_need(g, FL_CF);
    uint32_t count;
    ZydisEncoderOperand cnt;
    switch (rnd(g, 3)) {
    case 0: count = 1; cnt = op_u(1); break;                /* D0/D1 */
    case 1: count = rand_count(g); cnt = op_u(count); break; /* C0/C1 ib */
    default: count = want_cl(g, rand_count(g), false); cnt = op_r(1, R_ECX); break;
    }
    struct rm d = rm_pick(g, size, 0, 40);
    EV(g, mn, rm_prefixes(g, &d, false), d.op, cnt);
    rm_written(g, &d);
    effect(g, flags_of_shift(mn, size, count));
}

void tpl_double_shift(struct gen *g)
{
    ZydisMnemonic mn = chance(g, 50) ? MN(SHLD) : MN(SHRD);
    int size = size16_32(g);
    uint32_t count = chance(g, 70) ? rnd(g, (unsigned)size * 8 + 2) : rnd(g, 256);
    bool by_cl = chance(g, 50);
    if (!may_end(g) && (count & 31) > (unsigned)size * 8)
        count = (unsigned)size * 8;
    if (by_cl)
        count = want_cl(g, count, !may_end(g));
    int result_undefined;
    struct flag_effect e = flags_of_double_shift(size, count, &result_undefined);

    struct rm d;
    if (result_undefined) { /* need its address to mask it */
        d = (struct rm){.size = size};
        if (chance(g, 40)) {
            d.is_mem = true;
            d.m = mem_data(g, size, 16, 0);
            d.op = d.m.op;
        } else {
            d.id = pick_reg(g, size, 0);
            d.op = op_r(size, d.id);
        }
    } else {
        d = rm_pick(g, size, 0, 40);
    }
    ZydisEncoderOperand cnt = by_cl ? op_r(1, R_ECX) : op_u(count);
    EV(g, mn, rm_prefixes(g, &d, false), d.op, op_r(size, pick_src(g)), cnt);
    rm_written(g, &d);
    effect(g, e);
    if (result_undefined) { /* SDM: count > operand size leaves DEST undefined */
        if (d.is_mem)
            mask_mem(g, d.m.ea, (uint32_t)size);
        else
            mask_reg(g, full_reg(size, d.id));
        end_case(g);
    }
}

/* ---- bit tests and scans ---- */

void tpl_bit_test(struct gen *g)
{
    static const ZydisMnemonic ops[] = {MN(BT), MN(BTS), MN(BTR), MN(BTC)};
    ZydisMnemonic mn = ops[rnd(g, 4)];
    bool writes = mn != MN(BT);
    int size = size16_32(g);
    switch (rnd(g, 4)) {
    case 0: { /* reg, reg: offset taken modulo the operand size */
        int d = pick_reg(g, size, 0);
        EV(g, mn, 0, op_r(size, d), op_r(size, pick_src(g)));
        if (writes)
            reg_written(g, d);
        break;
    }
    case 1: { /* reg, imm8 */
        int d = pick_reg(g, size, 0);
        EV(g, mn, 0, op_r(size, d), op_u(rnd(g, 256)));
        if (writes)
            reg_written(g, d);
        break;
    }
    case 2: { /* mem, imm8 */
        struct rm d = rm_pick(g, size, 0, 100);
        EV(g, mn, rm_prefixes(g, &d, writes), d.op, op_u(rnd(g, 256)));
        break;
    }
    default: { /* mem, reg: a bit string, the signed offset reaches far */
        int o = pick_reg(g, size, 0);
        int32_t off = chance(g, 30) ? rnd_range(g, -64, 64) : rnd_range(g, -8000, 8000);
        uint32_t v = size == 4 ? (uint32_t)off
                               : (rnd32(g) & 0xffff0000u) | ((uint32_t)off & 0xffff);
        reg_want_exact(g, o, v);
        struct rm d = {.size = size, .is_mem = true};
        d.m = mem_data(g, size, 1100, BIT(o));
        d.op = d.m.op;
        EV(g, mn, rm_prefixes(g, &d, writes), d.op, op_r(size, o));
        break;
    }
    }
    effect(g, flags_of(mn));
}

void tpl_bit_scan(struct gen *g)
{
    ZydisMnemonic mn = chance(g, 50) ? MN(BSF) : MN(BSR);
    int size = size16_32(g);
    uint32_t m = size_mask(size);
    bool zero = may_end(g) && chance(g, 20);
    uint32_t v = rand_value(g) & m;
    if (zero)
        v = 0;
    else if (v == 0)
        v = 1u << rnd(g, (unsigned)size * 8);
    int d = pick_reg(g, size, 0);
    if (!g->data_dirty && chance(g, 45)) {
        struct mem s = mem_data(g, size, 16, 0);
        patch(g, s.ea, &v, (unsigned)size);
        EV(g, mn, s.seg, op_r(size, d), s.op);
    } else {
        int s = pick_reg(g, size, 0);
        reg_want_exact(g, s, (rnd32(g) & ~m) | v);
        EV(g, mn, 0, op_r(size, d), op_r(size, s));
    }
    reg_written(g, d);
    effect(g, flags_of(mn));
    if (zero) { /* SDM: DEST is undefined when the source is 0 */
        mask_reg(g, d);
        end_case(g);
    }
}

/* ---- BCD ---- */

void tpl_bcd(struct gen *g)
{
    static const ZydisMnemonic ops[] = {
        MN(AAA), MN(AAS), MN(DAA), MN(DAS), MN(AAM), MN(AAD),
    };
    ZydisMnemonic mn = ops[rnd(g, 6)];
    if (mn == MN(AAM) || mn == MN(AAD)) {
        uint32_t base = chance(g, 50) ? 10 : rnd(g, 256);
        if (mn == MN(AAM) && base == 0 && !may_fault(g))
            base = 10;
        if (mn == MN(AAM) && may_fault(g) && chance(g, 12))
            base = 0;
        EV(g, mn, 0, op_u(base));
        if (mn == MN(AAM) && base == 0) { /* AAM 0 divides by zero */
            g->c->expect = EXPECT_DE;
            end_case(g);
            return;
        }
    } else {
        flags_need(g, FL_AF | FL_CF);
        emit_ops(g, mn, 0, NULL, 0);
    }
    reg_written(g, R_EAX);
    effect(g, flags_of(mn));
}

/* ---- flags flowing through several instructions ---- */

void tpl_carry_chain(struct gen *g)
{
    int size = size16_32(g);
    ZydisMnemonic lo = chance(g, 50) ? MN(ADD) : MN(SUB);
    ZydisMnemonic hi = lo == MN(ADD) ? MN(ADC) : MN(SBB);
    switch (rnd(g, 6)) {
    case 0: { /* add [m], r; adc [m+size], r: flags cross two accesses */
        struct mem a = mem_data(g, size, 16, 0);
        struct mem b = mem_at(g, size, a.ea + (uint32_t)size, 0);
        EV(g, lo, a.seg, a.op, op_r(size, pick_src(g)));
        EV(g, hi, b.seg, b.op, op_r(size, pick_src(g)));
        break;
    }
    case 1: { /* add r, [m]; adc r, [m+size] */
        int r1 = pick_reg(g, size, 0), r2 = pick_reg(g, size, BIT(r1));
        struct mem a = mem_data(g, size, 16, 0);
        EV(g, lo, a.seg, op_r(size, r1), a.op);
        reg_written(g, r1); /* before b picks its address registers */
        struct mem b = mem_at(g, size, a.ea + (uint32_t)size, 0);
        EV(g, hi, b.seg, op_r(size, r2), b.op);
        reg_written(g, r2);
        break;
    }
    case 2: { /* three-word add in registers */
        int r1 = pick_reg(g, size, 0), r2 = pick_reg(g, size, 0), r3 = pick_reg(g, size, 0);
        EV(g, lo, 0, op_r(size, r1), op_r(size, pick_src(g)));
        reg_written(g, r1);
        EV(g, hi, 0, op_r(size, r2), op_r(size, pick_src(g)));
        reg_written(g, r2);
        EV(g, hi, 0, op_r(size, r3), op_i(size, (uint32_t)(int8_t)rnd32(g)));
        reg_written(g, r3);
        break;
    }
    case 3: { /* double-word shift through CF */
        int r1 = pick_reg(g, size, 0), r2 = pick_reg(g, size, BIT(r1));
        if (chance(g, 50)) {
            E(g, SHL, 0, op_r(size, r1), op_u(1));
            E(g, RCL, 0, op_r(size, r2), op_u(1));
        } else {
            EV(g, chance(g, 50) ? MN(SHR) : MN(SAR), 0, op_r(size, r2), op_u(1));
            E(g, RCR, 0, op_r(size, r1), op_u(1));
        }
        reg_written(g, r1);
        reg_written(g, r2);
        effect(g, flags_of_shift(MN(SHL), size, 1));
        effect(g, flags_of_shift(MN(RCL), size, 1));
        return;
    }
    case 4: { /* neg lo; adc hi, 0; neg hi: negate a double word */
        int r1 = pick_reg(g, size, 0), r2 = pick_reg(g, size, BIT(r1));
        E(g, NEG, 0, op_r(size, r1));
        E(g, ADC, 0, op_r(size, r2), op_i(size, 0));
        E(g, NEG, 0, op_r(size, r2));
        reg_written(g, r1);
        reg_written(g, r2);
        break;
    }
    default: { /* cmp r, r/m; sbb r, r: materialise CF */
        int r = pick_reg(g, size, 0);
        struct rm s = rm_pick(g, size, 0, 50);
        E(g, CMP, rm_prefixes(g, &s, false), op_r(size, pick_src(g)), s.op);
        E(g, SBB, 0, op_r(size, r), op_r(size, r));
        reg_written(g, r);
        break;
    }
    }
    flags_set(g, FL_ARITH, 0);
}
