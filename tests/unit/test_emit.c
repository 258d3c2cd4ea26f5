/* Unit tests for bt/emit.c: the memoized, templated encoder must emit
 * exactly what Zydis emits for the same request, for every value of every
 * displacement and immediate, and fail exactly where Zydis refuses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "bt/emit.h"

static uint64_t rng_state = 0x243f6a8885a308d3ull;

static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static unsigned pick(unsigned n) { return (unsigned)(rnd() % n); }

/* Values at every edge of Zydis' size classes, and then random ones of
 * each width so a template is patched with values it was not made from. */
static const int64_t edges[] = {
    0, 1, 2, 15, 16, 127, 128, -1, -2, -128, -129, 255, 256, 32767, 32768,
    -32768, -32769, 65535, 65536, INT32_MAX, INT32_MIN, (int64_t)INT32_MIN - 1,
    0x80000000ll, 0xffffffffll, 0x100000000ll, INT64_MAX, INT64_MIN,
    -0x80000001ll, 0x7fffffffffffll, (int64_t)0xffffffff80000000ull,
};

static int64_t value(void)
{
    switch (pick(8)) {
    case 0: case 1: return edges[pick(sizeof edges / sizeof *edges)];
    case 2: return (int8_t)rnd();
    case 3: return (uint8_t)rnd();
    case 4: return (int16_t)rnd();
    case 5: return (int32_t)rnd();
    case 6: return (uint32_t)rnd();
    default: return (int64_t)rnd();
    }
}

/* A displacement: mostly what the translator uses (struct cpu offsets,
 * small and 32-bit), sometimes beyond 32 bits (refused). */
static int64_t disp(void)
{
    switch (pick(6)) {
    case 0: return 0;
    case 1: return (int8_t)rnd();
    case 2: return (int16_t)rnd() & 0xfff;
    case 3: return (int32_t)rnd();
    case 4: return edges[pick(sizeof edges / sizeof *edges)];
    default: return (int64_t)(rnd() % 512) - 256;
    }
}

/* General register idx (0..15) of width bits. */
static ZydisRegister gpr(unsigned bits, unsigned idx)
{
    switch (bits) {
    case 64: return ZYDIS_REGISTER_RAX + idx;
    case 32: return ZYDIS_REGISTER_EAX + idx;
    case 16: return ZYDIS_REGISTER_AX + idx;
    default:
        if (idx < 4)
            return ZYDIS_REGISTER_AL + idx;
        return idx < 8 ? ZYDIS_REGISTER_SPL + idx - 4 : ZYDIS_REGISTER_R8B + idx - 8;
    }
}

static unsigned width(void)
{
    static const unsigned w[] = { 8, 16, 32, 64 };
    return w[pick(4)];
}

static ZydisRegister reg(unsigned bits)
{
    if (bits == 8 && pick(16) == 0)
        return ZYDIS_REGISTER_AH + pick(4);
    return gpr(bits, pick(16));
}

/* [base + index*scale + disp]; rbp/r13 bases (no disp0 form), rsp/r12
 * (SIB), no base, and 32-bit addressing are all here. */
static eop mem(uint16_t size)
{
    unsigned abits = pick(8) ? 64 : 32;
    ZydisRegister base = pick(8) ? gpr(abits, pick(16)) : ZYDIS_REGISTER_NONE;
    if (pick(4) == 0)
        base = gpr(abits, pick(2) ? 5 : 13);
    ZydisRegister index = ZYDIS_REGISTER_NONE;
    if (pick(3) == 0) {
        unsigned i = pick(16);
        index = gpr(abits, i == 4 ? 5 : i);
    }
    static const uint8_t scales[] = { 1, 2, 4, 8 };
    return M(base, index, scales[pick(4)], disp(), size);
}

static ZydisEncoderRequest request(ZydisMnemonic m, unsigned n, const eop *ops)
{
    ZydisEncoderRequest r;
    memset(&r, 0, sizeof r);
    r.machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
    r.mnemonic = m;
    r.operand_count = (ZyanU8)n;
    for (unsigned i = 0; i < n; i++)
        r.operands[i] = ops[i];
    return r;
}

/* A random request of one of the shapes the translator emits. */
static ZydisEncoderRequest shape(void)
{
    static const ZydisMnemonic alu[] = {
        ZYDIS_MNEMONIC_ADD, ZYDIS_MNEMONIC_SUB, ZYDIS_MNEMONIC_AND, ZYDIS_MNEMONIC_OR,
        ZYDIS_MNEMONIC_XOR, ZYDIS_MNEMONIC_CMP, ZYDIS_MNEMONIC_ADC, ZYDIS_MNEMONIC_SBB,
        ZYDIS_MNEMONIC_TEST, ZYDIS_MNEMONIC_MOV,
    };
    static const ZydisMnemonic shifts[] = {
        ZYDIS_MNEMONIC_SHL, ZYDIS_MNEMONIC_SHR, ZYDIS_MNEMONIC_SAR, ZYDIS_MNEMONIC_ROL,
        ZYDIS_MNEMONIC_ROR, ZYDIS_MNEMONIC_RCL, ZYDIS_MNEMONIC_RCR,
    };
    static const ZydisMnemonic bmi[] = {
        ZYDIS_MNEMONIC_SHRX, ZYDIS_MNEMONIC_SARX, ZYDIS_MNEMONIC_SHLX,
    };
    static const ZydisMnemonic bits[] = {
        ZYDIS_MNEMONIC_BT, ZYDIS_MNEMONIC_BTS, ZYDIS_MNEMONIC_BTR, ZYDIS_MNEMONIC_BTC,
    };
    static const ZydisMnemonic bare[] = {
        ZYDIS_MNEMONIC_RET, ZYDIS_MNEMONIC_RDTSC, ZYDIS_MNEMONIC_PUSHFQ,
        ZYDIS_MNEMONIC_POPFQ, ZYDIS_MNEMONIC_CPUID, ZYDIS_MNEMONIC_FWAIT,
    };
    static const ZydisMnemonic fpu[] = {
        ZYDIS_MNEMONIC_FLD, ZYDIS_MNEMONIC_FSTP, ZYDIS_MNEMONIC_FILD, ZYDIS_MNEMONIC_FIADD,
        ZYDIS_MNEMONIC_FNSTSW, ZYDIS_MNEMONIC_FLDCW, ZYDIS_MNEMONIC_FNSTCW,
        ZYDIS_MNEMONIC_FXSAVE, ZYDIS_MNEMONIC_FXRSTOR,
    };
    static const uint16_t fpu_sizes[] = { 2, 4, 8, 10, 512 };
    unsigned w = width(), s = w / 8;
    eop o[3];
    switch (pick(18)) {
    case 0: /* mov/alu r, r */
        o[0] = R(reg(w)), o[1] = R(reg(w));
        return request(alu[pick(10)], 2, o);
    case 1: /* mov/alu r, imm */
        o[0] = R(reg(w)), o[1] = I(value());
        return request(alu[pick(10)], 2, o);
    case 2: /* mov/alu r, [m] and [m], r */
        o[0] = R(reg(w)), o[1] = mem((uint16_t)s);
        if (pick(2))
            o[2] = o[0], o[0] = o[1], o[1] = o[2];
        return request(alu[pick(10)], 2, o);
    case 3: /* mov/alu [m], imm */
        o[0] = mem((uint16_t)s), o[1] = I(value());
        return request(alu[pick(10)], 2, o);
    case 4: /* lea, the way E() gets it (size 0) or already sized */
        o[0] = R(reg(pick(2) ? 64 : 32)), o[1] = mem(pick(2) ? 0 : (uint16_t)s);
        return request(ZYDIS_MNEMONIC_LEA, 2, o);
    case 5: /* movzx/movsx */
        o[0] = R(reg(pick(2) ? 64 : 32));
        o[1] = pick(2) ? R(reg(pick(2) ? 8 : 16)) : mem(pick(2) ? 1 : 2);
        return request(pick(2) ? ZYDIS_MNEMONIC_MOVZX : ZYDIS_MNEMONIC_MOVSX, 2, o);
    case 6: /* rorx r, r/m, imm8 */
        w = pick(2) ? 64 : 32;
        o[0] = R(reg(w)), o[1] = pick(2) ? R(reg(w)) : mem((uint16_t)(w / 8));
        o[2] = I(pick(2) ? (int64_t)pick(64) : value());
        return request(ZYDIS_MNEMONIC_RORX, 3, o);
    case 7: /* shrx/sarx/shlx r, r/m, r */
        w = pick(2) ? 64 : 32;
        o[0] = R(reg(w)), o[1] = pick(2) ? R(reg(w)) : mem((uint16_t)(w / 8));
        o[2] = R(reg(w));
        return request(bmi[pick(3)], 3, o);
    case 8: /* imul r, r/m, imm */
        if (w == 8)
            w = 32;
        o[0] = R(reg(w)), o[1] = pick(2) ? R(reg(w)) : mem((uint16_t)(w / 8));
        o[2] = I(value());
        return request(ZYDIS_MNEMONIC_IMUL, 3, o);
    case 9: /* shifts by imm (1 has its own form) or cl */
        o[0] = pick(2) ? R(reg(w)) : mem((uint16_t)s);
        o[1] = pick(4) == 0 ? R(ZYDIS_REGISTER_CL)
                            : I(pick(3) ? (int64_t)pick(4) : value());
        return request(shifts[pick(7)], 2, o);
    case 10: /* push/pop/call/jmp r or [m] */
        o[0] = pick(2) ? R(reg(pick(4) ? 64 : 16)) : mem(pick(4) ? 8 : 2);
        {
            static const ZydisMnemonic m[] = { ZYDIS_MNEMONIC_PUSH, ZYDIS_MNEMONIC_POP,
                                               ZYDIS_MNEMONIC_CALL, ZYDIS_MNEMONIC_JMP };
            return request(m[pick(4)], 1, o);
        }
    case 11: /* push imm */
        o[0] = I(value());
        return request(ZYDIS_MNEMONIC_PUSH, 1, o);
    case 12: /* bt r/m, imm8 or r */
        if (w == 8)
            w = 32;
        o[0] = pick(2) ? R(reg(w)) : mem((uint16_t)(w / 8));
        o[1] = pick(2) ? R(reg(w)) : I(pick(2) ? (int64_t)pick(64) : value());
        return request(bits[pick(4)], 2, o);
    case 13: /* no operands */
        return request(bare[pick(6)], 0, o);
    case 14: /* x87 memory forms */
        o[0] = mem(fpu_sizes[pick(5)]);
        return request(fpu[pick(9)], 1, o);
    case 15: { /* VEX is4 register operand, and is4 with a 4-bit immediate */
        eop v[5];
        /* few registers, so the same shape recurs with is4 flipped */
        for (unsigned i = 0; i < 4; i++)
            v[i] = R(ZYDIS_REGISTER_XMM0 + pick(2) * 9);
        if (pick(2))
            v[2] = mem(16);
        v[3].reg.is4 = pick(4) != 0;
        v[4] = I(pick(2) ? (int64_t)pick(20) : value());
        ZydisEncoderRequest r;
        memset(&r, 0, sizeof r);
        r.machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
        r.mnemonic = pick(2) ? ZYDIS_MNEMONIC_VBLENDVPS : ZYDIS_MNEMONIC_VPERMIL2PS;
        r.operand_count = r.mnemonic == ZYDIS_MNEMONIC_VBLENDVPS ? 4 : 5;
        memcpy(r.operands, v, sizeof v);
        return r;
    }
    case 16: { /* size hints: push/ret imm and push r */
        ZydisEncoderRequest r;
        o[0] = pick(4) ? I(pick(2) ? (int64_t)pick(300) : value()) : R(reg(pick(2) ? 64 : 16));
        r = request(pick(4) ? ZYDIS_MNEMONIC_PUSH : ZYDIS_MNEMONIC_RET, 1, o);
        r.operand_size_hint = (ZydisOperandSizeHint)pick(ZYDIS_OPERAND_SIZE_HINT_MAX_VALUE + 1);
        return r;
    }
    default: { /* prefixes and hints, as DecodedInstructionToEncoderRequest sets */
        ZydisEncoderRequest r;
        if (pick(2)) {
            o[0] = mem((uint16_t)s), o[1] = R(reg(w));
            r = request(alu[pick(9)], 2, o);
            r.prefixes = ZYDIS_ATTRIB_HAS_LOCK;
        } else {
            static const ZydisMnemonic str[] = { ZYDIS_MNEMONIC_STOSB, ZYDIS_MNEMONIC_STOSD,
                                                 ZYDIS_MNEMONIC_MOVSB, ZYDIS_MNEMONIC_MOVSD };
            r = request(str[pick(4)], 0, o);
            r.prefixes = ZYDIS_ATTRIB_HAS_REP;
        }
        if (pick(4) == 0)
            r.operand_size_hint = ZYDIS_OPERAND_SIZE_HINT_32;
        return r;
    }
    }
}

/* The same request with its disp and imm values drawn again. */
static void revalue(ZydisEncoderRequest *r)
{
    for (unsigned i = 0; i < r->operand_count; i++) {
        ZydisEncoderOperand *o = &r->operands[i];
        if (o->type == ZYDIS_OPERAND_TYPE_MEMORY)
            o->mem.displacement = disp();
        else if (o->type == ZYDIS_OPERAND_TYPE_IMMEDIATE)
            o->imm.s = pick(2) ? value() : (int64_t)pick(300) - 150;
    }
}

static void dump(const char *what, const uint8_t *b, size_t n)
{
    fprintf(stderr, "  %s:", what);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, " %02x", b[i]);
    fprintf(stderr, "\n");
}

static unsigned n_checked, n_refused;

/* E_req (through E when the request is plain) against Zydis itself. */
static void check(const ZydisEncoderRequest *r)
{
    ZydisEncoderRequest a = *r;
    uint8_t out[32];
    struct emit e;
    emit_init(&e, out, out + sizeof out);
    bool plain = !a.prefixes && !a.operand_size_hint && a.operand_count <= 3;
    if (plain && pick(2)) {
        if (a.mnemonic == ZYDIS_MNEMONIC_LEA) /* E_req sizes an LEA itself */
            a.operands[1].mem.size = 0;
        switch (a.operand_count) {
        case 0: E(&e, a.mnemonic, 0); break;
        case 1: E(&e, a.mnemonic, 1, a.operands[0]); break;
        case 2: E(&e, a.mnemonic, 2, a.operands[0], a.operands[1]); break;
        default:
            E(&e, a.mnemonic, 3, a.operands[0], a.operands[1], a.operands[2]);
            break;
        }
        a = *r;
        if (a.mnemonic == ZYDIS_MNEMONIC_LEA) {
            ZydisRegister b = a.operands[1].mem.base != ZYDIS_REGISTER_NONE
                                  ? a.operands[1].mem.base : a.operands[1].mem.index;
            if (b != ZYDIS_REGISTER_NONE)
                a.operands[1].mem.size =
                    ZydisRegisterGetWidth(ZYDIS_MACHINE_MODE_LONG_64, b) / 8;
            else
                a.operands[1].mem.size = 0;
        }
    } else {
        E_req(&e, &a); /* leaves a as encoded (an LEA sized) */
    }
    uint8_t ref[ZYDIS_MAX_INSTRUCTION_LENGTH];
    ZyanUSize n = sizeof ref;
    bool ok = ZYAN_SUCCESS(ZydisEncoderEncodeInstruction(&a, ref, &n));
    size_t got = (size_t)(e.p - out);
    if (ok != !e.failed || (ok && (got != n || memcmp(out, ref, n) != 0))) {
        fprintf(stderr, "mismatch: %s, %u operands, zydis %s, emit %s\n",
                ZydisMnemonicGetString(a.mnemonic), a.operand_count,
                ok ? "ok" : "refused", e.failed ? "failed" : "ok");
        for (unsigned i = 0; i < a.operand_count; i++) {
            const ZydisEncoderOperand *o = &a.operands[i];
            fprintf(stderr, "  op%u type %d reg %s base %s index %s scale %u "
                    "disp %lld size %u imm %lld\n", i, o->type,
                    ZydisRegisterGetString(o->reg.value),
                    ZydisRegisterGetString(o->mem.base),
                    ZydisRegisterGetString(o->mem.index), o->mem.scale,
                    (long long)o->mem.displacement, o->mem.size, (long long)o->imm.s);
        }
        if (ok)
            dump("zydis", ref, n);
        dump("emit ", out, got);
        fail();
    }
    if (e.failed)
        assert_true(e.failed_what[0] != '\0' && e.p == out);
    n_checked++;
    n_refused += !ok;
}

static void requests_encode_as_zydis_does(void **state)
{
    (void)state;
    for (unsigned i = 0; i < 6000; i++) {
        ZydisEncoderRequest r = shape();
        /* Same shape, many values: the first makes a template, the
         * others patch it (or are refused by class). */
        for (unsigned j = 0; j < 8; j++) {
            check(&r);
            revalue(&r);
        }
    }
    /* A generator Zydis mostly refuses would test nothing. */
    fprintf(stderr, "%u requests, %u refused\n", n_checked, n_refused);
    assert_true(n_refused * 3 < n_checked);
}

/* Requests the way the generic translator builds them: a decoded 32-bit
 * guest instruction turned back into a request for 64-bit mode, its
 * memory operand moved to a host address, prefixes and hints kept. */
static void guest_requests_encode_as_zydis_does(void **state)
{
    (void)state;
    ZydisDecoder dec;
    ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32);
    unsigned n_conv = 0, checked0 = n_checked, refused0 = n_refused;
    for (unsigned i = 0; i < 20000; i++) {
        uint8_t code[16];
        for (unsigned j = 0; j < sizeof code; j += 8) {
            uint64_t r = rnd();
            memcpy(code + j, &r, 8);
        }
        ZydisDecodedInstruction d;
        ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
        ZydisEncoderRequest r;
        memset(&r, 0, sizeof r);
        if (ZYAN_FAILED(ZydisDecoderDecodeFull(&dec, code, sizeof code, &d, ops)) ||
            ZYAN_FAILED(ZydisEncoderDecodedInstructionToEncoderRequest(
                &d, ops, d.operand_count_visible, &r)))
            continue;
        r.machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
        r.prefixes &= ~(ZyanU64)ZYDIS_ATTRIB_HAS_SEGMENT;
        r.address_size_hint = ZYDIS_ADDRESS_SIZE_HINT_NONE;
        for (unsigned j = 0; j < r.operand_count; j++) {
            ZydisEncoderOperand *o = &r.operands[j];
            if (o->type == ZYDIS_OPERAND_TYPE_MEMORY) {
                eop m = mem(o->mem.size);
                o->mem.base = m.mem.base;
                o->mem.index = m.mem.index;
                o->mem.scale = m.mem.scale;
                o->mem.displacement = m.mem.displacement;
            }
        }
        n_conv++;
        for (unsigned j = 0; j < 4; j++) {
            check(&r);
            revalue(&r);
        }
    }
    unsigned checked = n_checked - checked0, refused = n_refused - refused0;
    fprintf(stderr, "%u guest requests, %u refused\n", checked, refused);
    assert_true(n_conv > 5000 && refused * 3 < checked);
}

/* Requests Zydis refuses fail the emit, also after the same shape with
 * another value was memoized, and stop it. */
static void refused_requests_mark_failed(void **state)
{
    (void)state;
    struct { ZydisMnemonic m; eop a, b; } cases[] = {
        { ZYDIS_MNEMONIC_MOV, R(ZYDIS_REGISTER_EAX), R(ZYDIS_REGISTER_RBX) },
        { ZYDIS_MNEMONIC_MOV, M(ZYDIS_REGISTER_RAX, ZYDIS_REGISTER_RSP, 2, 0, 4),
          R(ZYDIS_REGISTER_EAX) },
        { ZYDIS_MNEMONIC_MOV, R(ZYDIS_REGISTER_RAX),
          M(ZYDIS_REGISTER_RAX, ZYDIS_REGISTER_NONE, 0, 0x100000000ll, 8) },
        { ZYDIS_MNEMONIC_MOV, MC(8, 8), I(0x100000000ll) },
        { ZYDIS_MNEMONIC_ADD, R(ZYDIS_REGISTER_EAX), I(0x100000000ll) },
        { ZYDIS_MNEMONIC_MOV, R(ZYDIS_REGISTER_AH), R(ZYDIS_REGISTER_SIL) },
        { ZYDIS_MNEMONIC_LEA, R(ZYDIS_REGISTER_RAX), R(ZYDIS_REGISTER_RBX) },
    };
    /* Make the accepted neighbours of some of them templates first. */
    uint8_t out[64];
    struct emit e;
    emit_init(&e, out, out + sizeof out);
    E(&e, ZYDIS_MNEMONIC_MOV, 2, MC(8, 8), I(5));
    E(&e, ZYDIS_MNEMONIC_MOV, 2, MC(8, 8), I(0x7fffffff));
    E(&e, ZYDIS_MNEMONIC_ADD, 2, R(ZYDIS_REGISTER_EAX), I(0x7fffffff));
    E(&e, ZYDIS_MNEMONIC_MOV, 2, R(ZYDIS_REGISTER_RAX),
      M(ZYDIS_REGISTER_RAX, ZYDIS_REGISTER_NONE, 0, 0x7fffffff, 8));
    assert_false(e.failed);
    for (unsigned i = 0; i < sizeof cases / sizeof *cases; i++) {
        for (unsigned twice = 0; twice < 2; twice++) {
            emit_init(&e, out, out + sizeof out);
            E(&e, cases[i].m, 2, cases[i].a, cases[i].b);
            assert_true(e.failed);
            assert_ptr_equal(e.p, out);
            assert_non_null(strstr(e.failed_what, ZydisMnemonicGetString(cases[i].m)));
            /* A failed emit stays failed and writes nothing. */
            E(&e, ZYDIS_MNEMONIC_RET, 0);
            assert_ptr_equal(e.p, out);
        }
    }
    emit_init(&e, out, out + sizeof out);
    ZydisEncoderRequest r = request(ZYDIS_MNEMONIC_INVALID, 0, NULL);
    E_req(&e, &r);
    assert_true(e.failed);
}

/* E_branch against ZydisEncoderEncodeInstructionAbsolute at the same
 * address, for targets around every rel8/rel32 edge. */
static void branches_encode_as_zydis_does(void **state)
{
    (void)state;
    static const ZydisMnemonic ms[] = {
        ZYDIS_MNEMONIC_JMP, ZYDIS_MNEMONIC_CALL, ZYDIS_MNEMONIC_JZ, ZYDIS_MNEMONIC_JNZ,
        ZYDIS_MNEMONIC_JB, ZYDIS_MNEMONIC_JNBE, ZYDIS_MNEMONIC_JL, ZYDIS_MNEMONIC_JNLE,
        ZYDIS_MNEMONIC_JS, ZYDIS_MNEMONIC_JO, ZYDIS_MNEMONIC_JP, ZYDIS_MNEMONIC_JRCXZ,
        ZYDIS_MNEMONIC_LOOP,
    };
    static uint8_t buf[4096];
    unsigned n_ok = 0, n_fail = 0;
    for (unsigned i = 0; i < 40000; i++) {
        ZydisMnemonic m = ms[pick(sizeof ms / sizeof *ms)];
        ZydisBranchWidth w = pick(2) ? ZYDIS_BRANCH_WIDTH_8 : ZYDIS_BRANCH_WIDTH_32;
        uint8_t *at = buf + pick(2048);
        int64_t d;
        switch (pick(4)) {
        case 0: d = (int64_t)pick(300) - 150; break;
        case 1: d = (int64_t)pick(16) - 8 + (pick(2) ? 127 : -128); break;
        case 2: d = (int32_t)rnd(); break;
        default: d = (int64_t)pick(32) - 16 + (pick(2) ? INT32_MAX : INT32_MIN); break;
        }
        const void *target = (const void *)((uintptr_t)at + (uint64_t)d);
        struct emit e;
        emit_init(&e, at, buf + sizeof buf);
        uint8_t *end = E_branch(&e, m, target, w);

        eop t = I((int64_t)(uintptr_t)target);
        ZydisEncoderRequest r = request(m, 1, &t);
        r.branch_width = w;
        uint8_t ref[ZYDIS_MAX_INSTRUCTION_LENGTH];
        ZyanUSize n = sizeof ref;
        bool ok = ZYAN_SUCCESS(
            ZydisEncoderEncodeInstructionAbsolute(&r, ref, &n, (ZyanU64)(uintptr_t)at));
        if (ok != !e.failed || (ok && (e.p != at + n || memcmp(at, ref, n) != 0))) {
            fprintf(stderr, "branch mismatch: %s width %d rel %lld: zydis %s, emit %s\n",
                    ZydisMnemonicGetString(m), w, (long long)d, ok ? "ok" : "refused",
                    e.failed ? "failed" : "ok");
            if (ok)
                dump("zydis", ref, n);
            dump("emit ", at, (size_t)(e.p - at));
            fail();
        }
        assert_ptr_equal(end, e.p);
        if (e.failed)
            assert_non_null(strstr(e.failed_what, ZydisMnemonicGetString(m)));
        n_ok += ok;
        n_fail += !ok;
    }
    assert_true(n_ok > 10000 && n_fail > 1000);
}

/* Out of room: full, nothing written, the caller retries elsewhere. */
static void full_buffer_writes_nothing(void **state)
{
    (void)state;
    uint8_t out[8];
    struct emit e;
    memset(out, 0xcc, sizeof out);
    emit_init(&e, out, out + 4);
    E(&e, ZYDIS_MNEMONIC_MOV, 2, R(ZYDIS_REGISTER_RAX), I(0x123456789ll));
    assert_true(e.full);
    assert_ptr_equal(e.p, out);
    emit_init(&e, out, out + 4);
    assert_ptr_equal(E_branch(&e, ZYDIS_MNEMONIC_JNZ, out, ZYDIS_BRANCH_WIDTH_32), out);
    assert_true(e.full);
    assert_false(e.failed);
    for (unsigned i = 0; i < sizeof out; i++)
        assert_int_equal(out[i], 0xcc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(requests_encode_as_zydis_does),
        cmocka_unit_test(guest_requests_encode_as_zydis_does),
        cmocka_unit_test(refused_requests_mark_failed),
        cmocka_unit_test(branches_encode_as_zydis_does),
        cmocka_unit_test(full_buffer_writes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
