/* The flag table of the differential test: for each instruction the
 * arithmetic flags it defines and those the Intel SDM (vol. 2, "Flags
 * Affected") leaves undefined. Undefined flags are not compared, because
 * tpvm runs guest code on the host CPU while Unicorn computes flags in
 * software; where the SDM defines a result both must agree exactly.
 * tests/diff/README.md repeats this table in prose. */
#include <stdio.h>
#include <stdlib.h>

#include "bt/cpu.h"
#include "tests/diff/undefined.h"

#define ALL FL_ARITH
#define SZP (FL_SF | FL_ZF | FL_PF)

struct rule {
    ZydisMnemonic mn;
    uint32_t defined;
    uint32_t undefined;
    /* why (only where something is undefined): */
    const char *why;
};

static const struct rule rules[] = {
    {ZYDIS_MNEMONIC_ADD, ALL, 0, NULL},
    {ZYDIS_MNEMONIC_ADC, ALL, 0, NULL},
    {ZYDIS_MNEMONIC_SUB, ALL, 0, NULL},
    {ZYDIS_MNEMONIC_SBB, ALL, 0, NULL},
    {ZYDIS_MNEMONIC_CMP, ALL, 0, NULL},
    {ZYDIS_MNEMONIC_NEG, ALL, 0, NULL},
    {ZYDIS_MNEMONIC_XADD, ALL, 0, NULL},
    {ZYDIS_MNEMONIC_CMPXCHG, ALL, 0, NULL},
    {ZYDIS_MNEMONIC_CMPSB, ALL, 0, NULL},
    {ZYDIS_MNEMONIC_CMPSW, ALL, 0, NULL},
    {ZYDIS_MNEMONIC_CMPSD, ALL, 0, NULL},
    {ZYDIS_MNEMONIC_SCASB, ALL, 0, NULL},
    {ZYDIS_MNEMONIC_SCASW, ALL, 0, NULL},
    {ZYDIS_MNEMONIC_SCASD, ALL, 0, NULL},
    {ZYDIS_MNEMONIC_INC, ALL & ~FL_CF, 0, NULL}, /* CF is preserved */
    {ZYDIS_MNEMONIC_DEC, ALL & ~FL_CF, 0, NULL},
    {ZYDIS_MNEMONIC_AND, FL_CF | FL_OF | SZP, FL_AF, "AND/OR/XOR/TEST: AF undefined"},
    {ZYDIS_MNEMONIC_OR, FL_CF | FL_OF | SZP, FL_AF, "AND/OR/XOR/TEST: AF undefined"},
    {ZYDIS_MNEMONIC_XOR, FL_CF | FL_OF | SZP, FL_AF, "AND/OR/XOR/TEST: AF undefined"},
    {ZYDIS_MNEMONIC_TEST, FL_CF | FL_OF | SZP, FL_AF, "AND/OR/XOR/TEST: AF undefined"},
    {ZYDIS_MNEMONIC_MUL, FL_CF | FL_OF, SZP | FL_AF, "MUL: SF ZF AF PF undefined"},
    {ZYDIS_MNEMONIC_IMUL, FL_CF | FL_OF, SZP | FL_AF, "IMUL (all forms): SF ZF AF PF undefined"},
    {ZYDIS_MNEMONIC_DIV, 0, ALL, "DIV: all six undefined"},
    {ZYDIS_MNEMONIC_IDIV, 0, ALL, "IDIV: all six undefined"},
    {ZYDIS_MNEMONIC_BSF, FL_ZF, ALL & ~FL_ZF, "BSF: CF OF SF AF PF undefined"},
    {ZYDIS_MNEMONIC_BSR, FL_ZF, ALL & ~FL_ZF, "BSR: CF OF SF AF PF undefined"},
    /* ZF is unaffected by the bit tests. */
    {ZYDIS_MNEMONIC_BT, FL_CF, FL_OF | FL_SF | FL_AF | FL_PF, "BT*: OF SF AF PF undefined"},
    {ZYDIS_MNEMONIC_BTS, FL_CF, FL_OF | FL_SF | FL_AF | FL_PF, "BT*: OF SF AF PF undefined"},
    {ZYDIS_MNEMONIC_BTR, FL_CF, FL_OF | FL_SF | FL_AF | FL_PF, "BT*: OF SF AF PF undefined"},
    {ZYDIS_MNEMONIC_BTC, FL_CF, FL_OF | FL_SF | FL_AF | FL_PF, "BT*: OF SF AF PF undefined"},
    {ZYDIS_MNEMONIC_AAA, FL_AF | FL_CF, FL_OF | SZP, "AAA: OF SF ZF PF undefined"},
    {ZYDIS_MNEMONIC_AAS, FL_AF | FL_CF, FL_OF | SZP, "AAS: OF SF ZF PF undefined"},
    {ZYDIS_MNEMONIC_DAA, ALL & ~FL_OF, FL_OF, "DAA: OF undefined"},
    {ZYDIS_MNEMONIC_DAS, ALL & ~FL_OF, FL_OF, "DAS: OF undefined"},
    {ZYDIS_MNEMONIC_AAM, SZP, FL_OF | FL_AF | FL_CF, "AAM: OF AF CF undefined"},
    {ZYDIS_MNEMONIC_AAD, SZP, FL_OF | FL_AF | FL_CF, "AAD: OF AF CF undefined"},
    {ZYDIS_MNEMONIC_CMPXCHG8B, FL_ZF, 0, NULL},
    {ZYDIS_MNEMONIC_SAHF, FL_SF | FL_ZF | FL_AF | FL_PF | FL_CF, 0, NULL},
    {ZYDIS_MNEMONIC_POPF, ALL, 0, NULL},
    {ZYDIS_MNEMONIC_POPFD, ALL, 0, NULL},
    {ZYDIS_MNEMONIC_CLC, FL_CF, 0, NULL},
    {ZYDIS_MNEMONIC_STC, FL_CF, 0, NULL},
    {ZYDIS_MNEMONIC_CMC, FL_CF, 0, NULL},
};

struct flag_effect flags_of(ZydisMnemonic mn)
{
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        if (rules[i].mn == mn)
            return (struct flag_effect){rules[i].defined, rules[i].undefined};
    /* Everything else the generator emits leaves the arithmetic flags
     * alone (mov, lea, push, jcc, setcc, not, bswap, xchg, cpuid, ...). */
    return (struct flag_effect){0, 0};
}

/* SDM, SAL/SAR/SHL/SHR, ROL/ROR/RCL/RCR: the count is masked to 5 bits;
 * a masked count of 0 changes no flag. Otherwise:
 *  - SHL/SHR/SAR: SF ZF PF defined, AF undefined, OF defined only for a
 *    count of 1; CF is the last bit shifted out, undefined for SHL/SHR
 *    when the count is >= the operand size (8- and 16-bit operands).
 *  - ROL/ROR: CF defined, OF defined only for a count of 1; SF ZF AF PF
 *    are not affected.
 *  - RCL/RCR: CF defined (the rotate goes through it; a count that is a
 *    multiple of 9 or 17 rotates nothing), OF only for a count of 1. */
struct flag_effect flags_of_shift(ZydisMnemonic mn, int size, unsigned count)
{
    unsigned c = count & 31;
    unsigned bits = (unsigned)size * 8;
    struct flag_effect e = {0, 0};
    if (c == 0)
        return e;
    uint32_t of = c == 1 ? FL_OF : 0;
    switch (mn) {
    case ZYDIS_MNEMONIC_SHL:
    case ZYDIS_MNEMONIC_SHR:
    case ZYDIS_MNEMONIC_SAR: {
        bool cf_undef = mn != ZYDIS_MNEMONIC_SAR && c >= bits;
        e.defined = SZP | of | (cf_undef ? 0 : FL_CF);
        e.undefined = FL_AF | (of ? 0 : FL_OF) | (cf_undef ? FL_CF : 0);
        return e;
    }
    case ZYDIS_MNEMONIC_ROL:
    case ZYDIS_MNEMONIC_ROR:
    case ZYDIS_MNEMONIC_RCL:
    case ZYDIS_MNEMONIC_RCR:
        e.defined = FL_CF | of;
        e.undefined = of ? 0 : FL_OF;
        return e;
    default:
        fprintf(stderr, "flags_of_shift: %s is not a shift\n", ZydisMnemonicGetString(mn));
        abort();
    }
}

/* SDM, SHLD/SHRD: count masked to 5 bits; 0 changes nothing. CF is the
 * last bit shifted out, SF ZF PF follow the result, OF is defined only for
 * a count of 1, AF is undefined. If the count exceeds the operand size
 * (only possible for 16-bit operands) the result and all flags are
 * undefined. */
struct flag_effect flags_of_double_shift(int size, unsigned count,
                                         int *result_undefined)
{
    unsigned c = count & 31;
    *result_undefined = 0;
    if (c == 0)
        return (struct flag_effect){0, 0};
    if (c > (unsigned)size * 8) {
        *result_undefined = 1;
        return (struct flag_effect){0, ALL};
    }
    uint32_t of = c == 1 ? FL_OF : 0;
    return (struct flag_effect){FL_CF | SZP | of, FL_AF | (of ? 0 : FL_OF)};
}

uint32_t cc_flags(int cc)
{
    static const uint32_t reads[16] = {
        FL_OF, FL_OF, FL_CF, FL_CF, FL_ZF, FL_ZF, FL_CF | FL_ZF, FL_CF | FL_ZF,
        FL_SF, FL_SF, FL_PF, FL_PF, FL_SF | FL_OF, FL_SF | FL_OF,
        FL_ZF | FL_SF | FL_OF, FL_ZF | FL_SF | FL_OF,
    };
    return reads[cc & 15];
}
