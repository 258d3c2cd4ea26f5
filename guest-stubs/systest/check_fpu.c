/* systest: x87 checks: the state after FNINIT, exact arithmetic results
 * (double and 80-bit), compares, integer stores under each rounding mode,
 * FNSAVE/FRSTOR and FXSAVE/FXRSTOR images, masked and unmasked exceptions,
 * and CR0.EM. Results are compared as bit patterns, never with the FPU. */
#include "systest.h"
#include "probes.h"

#define FCW_DEFAULT 0x037f
#define FSW_IE 0x01
#define FSW_ZE 0x04
#define FSW_TOP_6 0x3000 /* two registers pushed */

/* An 80-bit register image. */
struct ext {
    uint64_t mantissa;
    uint16_t sign_exp;
} __attribute__((packed));

static const double one_and_half = 1.5, two_and_quarter = 2.25, four = 4.0,
                    two = 2.0, half = 0.5, three = 3.0, sixteen = 16.0,
                    zero = 0.0, minus_one = -1.0;

static bool expect_bits(struct result *r, const char *what, uint64_t got,
                        uint64_t want)
{
    if (got == want)
        return true;
    fail(r, "%s: 0x%08x%08x, want 0x%08x%08x", what, (uint32_t)(got >> 32),
         (uint32_t)got, (uint32_t)(want >> 32), (uint32_t)want);
    return false;
}

static bool expect_ext(struct result *r, const char *what, const struct ext *e,
                       uint16_t sign_exp, uint64_t mantissa)
{
    return expect_eq(r, what, e->sign_exp, sign_exp) &&
           expect_bits(r, what, e->mantissa, mantissa);
}

static uint16_t fnstsw(void)
{
    uint16_t sw;
    __asm__ volatile("fnstsw %0" : "=m"(sw));
    return sw;
}

void check_fpu_init_state(struct result *r)
{
    uint16_t sw = 0xffff, cw = 0;
    uint32_t env[7];

    __asm__ volatile("fninit; fnstsw %0; fnstcw %1; fnstenv %2"
                     : "=m"(sw), "=m"(cw), "=m"(env));
    if (expect_eq(r, "FSW after FNINIT", sw, 0) &&
        expect_eq(r, "FCW after FNINIT", cw, FCW_DEFAULT))
        expect_eq(r, "tag word after FNINIT", env[2] & 0xffff, 0xffff);
}

void check_fpu_arith(struct result *r)
{
    uint64_t sum, prod, quot, diff;

    __asm__ volatile("fninit\n\t"
                     "fldl %4\n\t"
                     "faddl %5\n\t"
                     "fstl %0\n\t"
                     "fmull %6\n\t"
                     "fstl %1\n\t"
                     "fdivl %7\n\t"
                     "fstl %2\n\t"
                     "fsubl %8\n\t"
                     "fstpl %3"
                     : "=m"(sum), "=m"(prod), "=m"(quot), "=m"(diff)
                     : "m"(one_and_half), "m"(two_and_quarter), "m"(four),
                       "m"(two), "m"(half));
    if (expect_bits(r, "1.5 + 2.25", sum, 0x400e000000000000ull) &&
        expect_bits(r, "3.75 * 4", prod, 0x402e000000000000ull) &&
        expect_bits(r, "15 / 2", quot, 0x401e000000000000ull))
        expect_bits(r, "7.5 - 0.5", diff, 0x401c000000000000ull);
}

void check_fpu_divide_precision(struct result *r)
{
    struct ext third;
    uint64_t third_double;

    __asm__ volatile("fninit; fld1; fdivl %2; fstl %1; fstpt %0"
                     : "=m"(third), "=m"(third_double) : "m"(three));
    if (expect_ext(r, "1/3 in 80 bits", &third, 0x3ffd, 0xaaaaaaaaaaaaaaabull))
        expect_bits(r, "1/3 stored as double", third_double,
                    0x3fd5555555555555ull);
}

void check_fpu_sqrt(struct result *r)
{
    struct ext root2;
    uint64_t root2_double, root16;

    __asm__ volatile("fninit\n\t"
                     "fldl %3\n\t"
                     "fsqrt\n\t"
                     "fstl %1\n\t"
                     "fstpt %0\n\t"
                     "fldl %4\n\t"
                     "fsqrt\n\t"
                     "fstpl %2"
                     : "=m"(root2), "=m"(root2_double), "=m"(root16)
                     : "m"(two), "m"(sixteen));
    if (expect_ext(r, "sqrt(2) in 80 bits", &root2, 0x3fff,
                   0xb504f333f9de6484ull) &&
        expect_bits(r, "sqrt(2) as double", root2_double,
                    0x3ff6a09e667f3bcdull))
        expect_bits(r, "sqrt(16)", root16, 0x4010000000000000ull);
}

/* FCOM a with b, FNSTSW AX, SAHF: EFLAGS' CF, PF, ZF. */
static uint32_t fcom_flags(const double *a, const double *b)
{
    uint32_t flags;
    __asm__ volatile("fninit\n\t"
                     "fldl %1\n\t"
                     "fcompl %2\n\t"
                     "fnstsw %%ax\n\t"
                     "sahf\n\t"
                     "pushfl\n\t"
                     "popl %0"
                     : "=r"(flags) : "m"(*a), "m"(*b) : "eax", "cc");
    return flags & (EFLAGS_CF | 0x4 | EFLAGS_ZF);
}

static uint32_t fcomi_flags(const double *a, const double *b)
{
    uint32_t flags;
    __asm__ volatile("fninit\n\t"
                     "fldl %2\n\t"
                     "fldl %1\n\t"
                     "fcomip %%st(1), %%st\n\t"
                     "fstp %%st(0)\n\t"
                     "pushfl\n\t"
                     "popl %0"
                     : "=r"(flags) : "m"(*a), "m"(*b) : "cc");
    return flags & (EFLAGS_CF | 0x4 | EFLAGS_ZF);
}

static void expect_compares(struct result *r,
                            uint32_t (*compare)(const double *, const double *))
{
    static const uint64_t nan_bits = 0x7ff8000000000000ull;
    double nan;
    memcpy(&nan, &nan_bits, sizeof(nan));

    if (expect_eq(r, "0.5 vs 2: CF PF ZF", compare(&half, &two), EFLAGS_CF) &&
        expect_eq(r, "2 vs 2: CF PF ZF", compare(&two, &two), EFLAGS_ZF) &&
        expect_eq(r, "4 vs 2: CF PF ZF", compare(&four, &two), 0))
        expect_eq(r, "NaN vs 2: CF PF ZF", compare(&nan, &two),
                  EFLAGS_CF | 0x4 | EFLAGS_ZF);
}

void check_fpu_fcom_sahf(struct result *r)
{
    expect_compares(r, fcom_flags);
}

void check_fpu_fcomi(struct result *r)
{
    expect_compares(r, fcomi_flags);
}

/* FISTP of v with control word cw: the 32-bit integer stored. */
static int32_t fistp32(double v, uint16_t cw)
{
    int32_t out;
    __asm__ volatile("fninit; fldcw %2; fldl %1; fistpl %0"
                     : "=m"(out) : "m"(v), "m"(cw));
    return out;
}

void check_fpu_fist(struct result *r)
{
    static const struct {
        double v;
        uint16_t cw;
        int32_t want;
    } cases[] = {
        {2.5, 0x037f, 2},   {3.5, 0x037f, 4},    {-2.5, 0x037f, -2},
        {2.7, 0x0f7f, 2},   {-2.7, 0x0f7f, -2},  /* truncate */
        {-2.5, 0x077f, -3}, {2.5, 0x077f, 2},    /* down */
        {2.1, 0x0b7f, 3},   {-2.9, 0x0b7f, -2},  /* up */
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int32_t got = fistp32(cases[i].v, cases[i].cw);
        if (got != cases[i].want) {
            fail(r, "case %u (FCW 0x%x): FISTP gave %d, want %d", i,
                 cases[i].cw, got, cases[i].want);
            return;
        }
    }
    /* FIST (no pop) of a 16-bit integer, FPU stack left as it was. */
    int16_t word = 0;
    uint16_t sw;
    __asm__ volatile("fninit; fldl %2; fists %0; fnstsw %1; fstp %%st(0)"
                     : "=m"(word), "=m"(sw) : "m"(sixteen));
    if (expect_eq(r, "FIST m16", (uint32_t)word, 16))
        expect_eq(r, "TOP after FIST", sw >> 11 & 7, 7);
}

void check_fpu_fnsave_frstor(struct result *r)
{
    uint32_t image[27]; /* 108 bytes */
    uint16_t sw_after_save, cw_after_save;
    uint64_t top, next;

    __asm__ volatile("fninit; fld1; fldpi; fnsave %0; fnstsw %1; fnstcw %2"
                     : "=m"(image), "=m"(sw_after_save), "=m"(cw_after_save));
    struct ext st0;
    memcpy(&st0, (uint8_t *)image + 28, sizeof(st0));
    if (!expect_eq(r, "saved FCW", image[0] & 0xffff, FCW_DEFAULT) ||
        !expect_eq(r, "saved FSW", image[1] & 0xffff, FSW_TOP_6) ||
        !expect_eq(r, "saved tag word", image[2] & 0xffff, 0x0fff) ||
        !expect_ext(r, "saved ST0 (pi)", &st0, 0x4000, 0xc90fdaa22168c235ull) ||
        !expect_eq(r, "FSW after FNSAVE (reinitialised)", sw_after_save, 0) ||
        !expect_eq(r, "FCW after FNSAVE", cw_after_save, FCW_DEFAULT))
        return;
    __asm__ volatile("frstor %2; fstpl %0; fstpl %1"
                     : "=m"(top), "=m"(next) : "m"(image));
    if (expect_bits(r, "ST0 after FRSTOR", top, 0x400921fb54442d18ull))
        expect_bits(r, "ST1 after FRSTOR", next, 0x3ff0000000000000ull);
}

void check_fpu_fxsave_fxrstor(struct result *r)
{
    static uint8_t area[512] __attribute__((aligned(16)));
    uint32_t id[4];
    uint64_t top, next;

    cpuid(1, id);
    if (!(id[3] >> 24 & 1)) {
        fail(r, "CPUID.1:EDX.FXSR is clear");
        return;
    }
    write_cr4(read_cr4() | CR4_OSFXSR);
    memset(area, 0xcc, sizeof(area));
    __asm__ volatile("fninit; fld1; fldpi; fxsave %0" : "=m"(area));
    struct ext st0;
    uint16_t fcw, fsw;
    memcpy(&fcw, area + 0, 2);
    memcpy(&fsw, area + 2, 2);
    memcpy(&st0, area + 32, sizeof(st0));
    if (!expect_eq(r, "FXSAVE FCW", fcw, FCW_DEFAULT) ||
        !expect_eq(r, "FXSAVE FSW", fsw, FSW_TOP_6) ||
        !expect_eq(r, "FXSAVE abridged tag", area[4], 0xc0) ||
        !expect_ext(r, "FXSAVE ST0 (pi)", &st0, 0x4000, 0xc90fdaa22168c235ull))
        return;
    __asm__ volatile("fninit; fxrstor %2; fstpl %0; fstpl %1"
                     : "=m"(top), "=m"(next) : "m"(area));
    if (expect_bits(r, "ST0 after FXRSTOR", top, 0x400921fb54442d18ull))
        expect_bits(r, "ST1 after FXRSTOR", next, 0x3ff0000000000000ull);
}

void check_fpu_masked_exceptions(struct result *r)
{
    uint64_t inf, nan;
    uint16_t sw_div, sw_sqrt;

    __asm__ volatile("fninit; fld1; fdivl %2; fstpl %0; fnstsw %1"
                     : "=m"(inf), "=m"(sw_div) : "m"(zero));
    __asm__ volatile("fninit; fldl %2; fsqrt; fstpl %0; fnstsw %1"
                     : "=m"(nan), "=m"(sw_sqrt) : "m"(minus_one));
    if (expect_bits(r, "1/0 masked", inf, 0x7ff0000000000000ull) &&
        expect_eq(r, "FSW.ZE after 1/0", sw_div & FSW_ZE, FSW_ZE) &&
        expect_bits(r, "sqrt(-1) masked (default NaN)", nan,
                    0xfff8000000000000ull))
        expect_eq(r, "FSW.IE after sqrt(-1)", sw_sqrt & FSW_IE, FSW_IE);
}

void check_fpu_mf(struct result *r)
{
    struct trap_info t;
    uint16_t cw = FCW_DEFAULT & ~FSW_ZE; /* ZM is bit 2 of FCW too */

    write_cr0(read_cr0() | CR0_NE);
    int v = guarded(probe_x87_pending_zero_divide, &cw, &t);
    uint16_t sw = fnstsw();
    __asm__ volatile("fninit");
    if (expect_trap(r, v, &t, 16, NO_ERROR,
                    ADDR(probe_x87_pending_zero_divide_insn)))
        expect_eq(r, "FSW ES and ZE at #MF", sw & 0x84, 0x84);
}

void check_fpu_em(struct result *r)
{
    struct trap_info t;

    write_cr0(read_cr0() | CR0_EM);
    int v = guarded(probe_fld1, 0, &t);
    write_cr0(read_cr0() & ~CR0_EM);
    if (expect_trap(r, v, &t, 7, NO_ERROR, ADDR(probe_fld1_insn)))
        expect_no_trap(r, guarded(probe_fld1, 0, &t), &t);
}
