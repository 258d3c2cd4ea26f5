/* x87 behaviour that tpvm defines itself or that Unicorn cannot judge:
 * #NM/#UD under CR0.TS/EM/MP, guest-unmasked exceptions that must never
 * reach the host as SIGFPE, the guest's control word kept apart from the
 * host's, #GP and #PF on state images with the guest state left as it
 * was, and the x87 state of each CPU kept in its struct cpu between
 * runs, #MF for exceptions the guest unmasks. Every case runs with
 * direct RAM and with the soft TLB. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "bt/cpu.h"
#include "tests/fpu/check.h"
#include "tests/fpu/groups.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void expect_fault(const struct fpu_result *r, int vector, uint32_t eip)
{
    if (r->kind != OUT_FAULT)
        fail_msg("expected vector %d at %#x, got %s %s", vector, eip,
                 r->kind == OUT_HLT ? "hlt" : "other", r->note);
    assert_int_equal(r->vector, vector);
    assert_int_equal(r->fault_eip, eip);
}

static void expect_hlt(const struct fpu_result *r)
{
    if (r->kind != OUT_HLT)
        fail_msg("expected the final hlt, got %s (vector %d at %#x) %s",
                 r->kind == OUT_FAULT ? "fault" : "other", r->vector, r->fault_eip,
                 r->note);
}

/* The case under both tpvm engines, with extra bits set in CR0. */
static void run_with_cr0(void **state, struct fpu_case c, uint32_t cr0,
                         struct fpu_result *r)
{
    c.cr0_set = cr0;
    tpvm_case(*state, &c, r);
}

/* ---- CR0.TS / CR0.EM / CR0.MP ---- */

static const uint8_t nm_code[] = {
    0xb8, 0x01, 0x00, 0x00, 0x00,            /* mov eax, 1 */
    0xd9, 0xe8,                              /* fld1 */
    0xf4,                                    /* hlt */
};

static void x87_under_ts_or_em_raises_nm_at_the_instruction(void **state)
{
    struct input in;
    in_init(&in);
    struct fpu_result r;
    run_with_cr0(state, CASE(nm_code, &in), CR0_TS, &r);
    expect_fault(&r, EXC_NM, CODE_ADDR + 5);
    assert_int_equal(r.regs[R_EAX], 1); /* the instruction before it ran */
    run_with_cr0(state, CASE(nm_code, &in), CR0_EM, &r);
    expect_fault(&r, EXC_NM, CODE_ADDR + 5);
    run_with_cr0(state, CASE(nm_code, &in), CR0_MP, &r);
    expect_hlt(&r);
}

static const uint8_t nm_fninit_code[] = {
    0xdb, 0xe3,                              /* fninit */
    0xf4,                                    /* hlt */
};

static const uint8_t nm_fnstsw_ax_code[] = {
    0xdf, 0xe0,                              /* fnstsw ax */
    0xf4,                                    /* hlt */
};

static const uint8_t nm_fnstcw_code[] = {
    0xd9, 0x3d, 0x00, 0x21, 0x00, 0x00,      /* fnstcw word ptr [0x2100] */
    0xf4,                                    /* hlt */
};

static const uint8_t nm_fldcw_code[] = {
    0xd9, 0x2d, 0x00, 0x21, 0x00, 0x00,      /* fldcw word ptr [0x2100] */
    0xf4,                                    /* hlt */
};

static const uint8_t nm_fnsave_code[] = {
    0xdd, 0x35, 0x00, 0x24, 0x00, 0x00,      /* fnsave [0x2400] */
    0xf4,                                    /* hlt */
};

static const uint8_t nm_fnclex_code[] = {
    0xdb, 0xe2,                              /* fnclex */
    0xf4,                                    /* hlt */
};

static const uint8_t nm_fstp_m64_code[] = {
    0xdd, 0x1d, 0x00, 0x21, 0x00, 0x00,      /* fstp qword ptr [0x2100] */
    0xf4,                                    /* hlt */
};

static const uint8_t nm_fxch_code[] = {
    0xd9, 0xc9,                              /* fxch st(1) */
    0xf4,                                    /* hlt */
};

static void every_x87_form_raises_nm_under_ts(void **state)
{
    struct input in;
    in_init(&in);
    const struct fpu_case cases[] = {
        CASE(nm_fninit_code, &in), CASE(nm_fnstsw_ax_code, &in),
        CASE(nm_fnstcw_code, &in), CASE(nm_fldcw_code, &in),
        CASE(nm_fnsave_code, &in), CASE(nm_fnclex_code, &in),
        CASE(nm_fstp_m64_code, &in), CASE(nm_fxch_code, &in),
    };
    for (size_t i = 0; i < N(cases); i++) {
        struct fpu_result r;
        run_with_cr0(state, cases[i], CR0_TS, &r);
        expect_fault(&r, EXC_NM, CODE_ADDR);
    }
}

static const uint8_t fxsave_code[] = {
    0x0f, 0xae, 0x05, 0x00, 0x24, 0x00, 0x00, /* fxsave [0x2400] */
    0xf4,                                    /* hlt */
};

static const uint8_t fxrstor_code[] = {
    0x0f, 0xae, 0x0d, 0x00, 0x24, 0x00, 0x00, /* fxrstor [0x2400] */
    0xf4,                                    /* hlt */
};

static void fxsave_fxrstor_raise_ud_under_em_and_nm_under_ts(void **state)
{
    struct input in;
    in_init(&in);
    const struct fpu_case cases[] = {CASE(fxsave_code, &in), CASE(fxrstor_code, &in)};
    for (size_t i = 0; i < N(cases); i++) {
        struct fpu_result r;
        run_with_cr0(state, cases[i], CR0_EM, &r);
        expect_fault(&r, EXC_UD, CODE_ADDR);
        run_with_cr0(state, cases[i], CR0_EM | CR0_TS, &r);
        expect_fault(&r, EXC_UD, CODE_ADDR);
        run_with_cr0(state, cases[i], CR0_TS, &r);
        expect_fault(&r, EXC_NM, CODE_ADDR);
    }
}

static const uint8_t fwait_code[] = {
    0x9b,                                    /* fwait */
    0xf4,                                    /* hlt */
};

static void fwait_raises_nm_only_with_ts_and_mp(void **state)
{
    struct input in;
    in_init(&in);
    struct fpu_case c = CASE(fwait_code, &in);
    static const struct {
        uint32_t cr0;
        bool nm;
    } v[] = {{CR0_TS, false}, {CR0_TS | CR0_MP, true}, {CR0_EM, false},
             {CR0_EM | CR0_MP, false}, {CR0_EM | CR0_TS | CR0_MP, true}};
    for (size_t i = 0; i < N(v); i++) {
        struct fpu_result r;
        run_with_cr0(state, c, v[i].cr0, &r);
        if (v[i].nm)
            expect_fault(&r, EXC_NM, CODE_ADDR);
        else
            expect_hlt(&r);
    }
}

/* ---- status flags ---- */

static const uint8_t flags_code[] = {
    0xdb, 0xe3,                              /* fninit */
    0xd9, 0xe8,                              /* fld1 */
    0xdc, 0x35, 0x00, 0x20, 0x00, 0x00,      /* fdiv qword ptr [0x2000] */
    0xdd, 0x3d, 0x00, 0x21, 0x00, 0x00,      /* fnstsw word ptr [0x2100] */
    0xdd, 0xd8,                              /* fstp st(0) */
    0xdb, 0xe2,                              /* fnclex */
    0xd9, 0xe8,                              /* fld1 */
    0xdc, 0x35, 0x08, 0x20, 0x00, 0x00,      /* fdiv qword ptr [0x2008] */
    0xdd, 0x3d, 0x02, 0x21, 0x00, 0x00,      /* fnstsw word ptr [0x2102] */
    0xdd, 0xd8,                              /* fstp st(0) */
    0xdb, 0xe2,                              /* fnclex */
    0xdd, 0x05, 0x10, 0x20, 0x00, 0x00,      /* fld qword ptr [0x2010] */
    0xd9, 0xfa,                              /* fsqrt */
    0xdd, 0x3d, 0x04, 0x21, 0x00, 0x00,      /* fnstsw word ptr [0x2104] */
    0xdd, 0xd8,                              /* fstp st(0) */
    0xdb, 0xe2,                              /* fnclex */
    0xdd, 0x05, 0x18, 0x20, 0x00, 0x00,      /* fld qword ptr [0x2018] */
    0xd9, 0xe8,                              /* fld1 */
    0xdd, 0xe1,                              /* fucom st(1) */
    0xdd, 0x3d, 0x06, 0x21, 0x00, 0x00,      /* fnstsw word ptr [0x2106] */
    0xd8, 0xd1,                              /* fcom st(1) */
    0xdd, 0x3d, 0x08, 0x21, 0x00, 0x00,      /* fnstsw word ptr [0x2108] */
    0xdd, 0xd8,                              /* fstp st(0) */
    0xdd, 0xd8,                              /* fstp st(0) */
    0xdb, 0xe2,                              /* fnclex */
    0xdb, 0x2d, 0x20, 0x20, 0x00, 0x00,      /* fld tbyte ptr [0x2020] */
    0xd8, 0xc8,                              /* fmul st, st(0) */
    0xdd, 0x3d, 0x0a, 0x21, 0x00, 0x00,      /* fnstsw word ptr [0x210a] */
    0xdd, 0xd8,                              /* fstp st(0) */
    0xdb, 0xe2,                              /* fnclex */
    0xdb, 0x2d, 0x30, 0x20, 0x00, 0x00,      /* fld tbyte ptr [0x2030] */
    0xd8, 0xc8,                              /* fmul st, st(0) */
    0xdd, 0x3d, 0x0c, 0x21, 0x00, 0x00,      /* fnstsw word ptr [0x210c] */
    0xdd, 0xd8,                              /* fstp st(0) */
    0xdb, 0xe2,                              /* fnclex */
    0xdb, 0x2d, 0x40, 0x20, 0x00, 0x00,      /* fld tbyte ptr [0x2040] */
    0xd8, 0xc0,                              /* fadd st, st(0) */
    0xdd, 0x3d, 0x0e, 0x21, 0x00, 0x00,      /* fnstsw word ptr [0x210e] */
    0xdd, 0xd8,                              /* fstp st(0) */
    0xdb, 0xe2,                              /* fnclex */
    0xd9, 0xe8,                              /* fld1 */
    0xd9, 0xe8,                              /* fld1 */
    0xd9, 0xe8,                              /* fld1 */
    0xd9, 0xe8,                              /* fld1 */
    0xd9, 0xe8,                              /* fld1 */
    0xd9, 0xe8,                              /* fld1 */
    0xd9, 0xe8,                              /* fld1 */
    0xd9, 0xe8,                              /* fld1 */
    0xd9, 0xe8,                              /* fld1 */
    0xdd, 0x3d, 0x10, 0x21, 0x00, 0x00,      /* fnstsw word ptr [0x2110] */
    0xdb, 0xe3,                              /* fninit */
    0xdd, 0xd8,                              /* fstp st(0) */
    0xdd, 0x3d, 0x12, 0x21, 0x00, 0x00,      /* fnstsw word ptr [0x2112] */
    0xf4,                                    /* hlt */
};

/* Unicorn (QEMU 5) does not set the x87 exception flags; these are the
 * SDM's, as the host FPU sets them for tpvm. */
static void exception_flags_are_the_hardware_ones(void **state)
{
    struct input in;
    in_init(&in);
    in_f64(&in, 0x2000, 3.0);
    in_f64(&in, 0x2008, 0.0);
    in_f64(&in, 0x2010, -1.0);
    in_f64(&in, 0x2018, __builtin_nan(""));
    in_f80(&in, 0x2020, false, 0x7ffe, 0xffffffffffffffffull); /* largest */
    in_f80(&in, 0x2030, false, 0x0001, 0x8000000000000000ull); /* smallest normal */
    in_f80(&in, 0x2040, false, 0x0000, 0x0000000000000001ull); /* denormal */
    struct fpu_result r;
    tpvm_case(*state, &CASE(flags_code, &in), &r);
    expect_hlt(&r);
    static const struct {
        uint32_t addr;
        uint16_t mask, want;
    } v[] = {
        {0x2100, 0x3f, 0x20},     /* 1/3: precision */
        {0x2102, 0x3f, 0x04},     /* 1/0: zero divide */
        {0x2104, 0x3f, 0x01},     /* sqrt(-1): invalid */
        {0x2106, 0x3f, 0x00},     /* FUCOM with a QNaN: quiet */
        {0x2108, 0x3f, 0x01},     /* FCOM with a QNaN: invalid */
        {0x210a, 0x3f, 0x28},     /* overflow and precision */
        {0x210c, 0x3f, 0x30},     /* underflow and precision */
        {0x210e, 0x3f, 0x02},     /* denormal operand */
        {0x2110, 0x2ff, 0x241},   /* stack overflow: SF, IE, C1 = 1 */
        {0x2112, 0x2ff, 0x041},   /* stack underflow: SF, IE, C1 = 0 */
    };
    for (size_t i = 0; i < N(v); i++)
        assert_int_equal(out_u16(&r, v[i].addr) & v[i].mask, v[i].want);
}

/* ---- exceptions the guest unmasks stay masked on the host ---- */

static const uint8_t unmasked_code[] = {
    0xdb, 0xe3,                              /* fninit */
    0xd9, 0x2d, 0x00, 0x20, 0x00, 0x00,      /* fldcw word ptr [0x2000] */
    0xd9, 0xe8,                              /* fld1 */
    0xd9, 0xee,                              /* fldz */
    0xde, 0xf9,                              /* fdivp st(1), st */
    0xdd, 0x1d, 0x00, 0x21, 0x00, 0x00,      /* fstp qword ptr [0x2100] */
    0xdd, 0x05, 0x08, 0x20, 0x00, 0x00,      /* fld qword ptr [0x2008] */
    0xd9, 0xfa,                              /* fsqrt */
    0xdd, 0x1d, 0x10, 0x21, 0x00, 0x00,      /* fstp qword ptr [0x2110] */
    0xd9, 0xe8,                              /* fld1 */
    0xd9, 0xe8,                              /* fld1 */
    0xd9, 0xe8,                              /* fld1 */
    0xd9, 0xe8,                              /* fld1 */
    0xd9, 0xe8,                              /* fld1 */
    0xd9, 0xe8,                              /* fld1 */
    0xd9, 0xe8,                              /* fld1 */
    0xd9, 0xe8,                              /* fld1 */
    0xd9, 0xe8,                              /* fld1 */
    0xd9, 0x3d, 0x08, 0x21, 0x00, 0x00,      /* fnstcw word ptr [0x2108] */
    0xdd, 0x3d, 0x0a, 0x21, 0x00, 0x00,      /* fnstsw word ptr [0x210a] */
    0xdb, 0xe3,                              /* fninit */
    0xf4,                                    /* hlt */
};

static void guest_unmasked_exceptions_never_trap_the_host(void **state)
{
    struct input in;
    in_init(&in);
    in_i16(&in, 0x2000, 0x0340); /* every exception unmasked */
    in_f64(&in, 0x2008, -1.0);
    struct fpu_result r;
    /* zero divide, invalid (sqrt -1) and stack overflow: on the host
     * each would be SIGFPE if its mask were clear */
    tpvm_case(*state, &CASE(unmasked_code, &in), &r);
    expect_hlt(&r);
    assert_true(out_f64(&r, 0x2100) == __builtin_inf());
    assert_int_equal(out_u16(&r, 0x2108), 0x0340); /* read back as written */
    assert_int_equal(out_u16(&r, 0x210a) & 0x0045, 0x0045); /* SF, ZE, IE */
}

static const uint8_t fldenv_code[] = {
    0xd9, 0x25, 0x00, 0x24, 0x00, 0x00,      /* fldenv [0x2400] */
    0xd9, 0xe8,                              /* fld1 */
    0xd8, 0xc0,                              /* fadd st, st(0) */
    0xd9, 0x3d, 0x00, 0x21, 0x00, 0x00,      /* fnstcw word ptr [0x2100] */
    0xdd, 0x1d, 0x08, 0x21, 0x00, 0x00,      /* fstp qword ptr [0x2108] */
    0xf4,                                    /* hlt */
};

static const uint8_t frstor_code[] = {
    0xdd, 0x25, 0x00, 0x24, 0x00, 0x00,      /* frstor [0x2400] */
    0xd9, 0xe8,                              /* fld1 */
    0xd8, 0xc0,                              /* fadd st, st(0) */
    0xd9, 0x3d, 0x00, 0x21, 0x00, 0x00,      /* fnstcw word ptr [0x2100] */
    0xdd, 0x1d, 0x08, 0x21, 0x00, 0x00,      /* fstp qword ptr [0x2108] */
    0xf4,                                    /* hlt */
};

static const uint8_t fxrstor_pending_code[] = {
    0x0f, 0xae, 0x0d, 0x00, 0x24, 0x00, 0x00, /* fxrstor [0x2400] */
    0xd9, 0xe8,                              /* fld1 */
    0xd8, 0xc0,                              /* fadd st, st(0) */
    0xd9, 0x3d, 0x00, 0x21, 0x00, 0x00,      /* fnstcw word ptr [0x2100] */
    0xdd, 0x1d, 0x08, 0x21, 0x00, 0x00,      /* fstp qword ptr [0x2108] */
    0xf4,                                    /* hlt */
};

static void loaded_images_with_unmasked_pending_exceptions_trap_only_the_guest(void **state)
{
    struct input in;
    in_init(&in);
    /* 32-bit environment: CW all unmasked, SW with every flag, ES and B
     * set, all registers empty (FNSAVE adds 80 bytes of zeros) */
    static const uint32_t env[7] = {0xffff0340, 0xffff80bf, 0xffffffff, 0, 0, 0, 0};
    in_bytes(&in, 0x2400, env, sizeof env);
    static const uint8_t zeros[80];
    in_bytes(&in, 0x2400 + sizeof env, zeros, sizeof zeros);
    const struct fpu_case cases[] = {CASE(fldenv_code, &in), CASE(frstor_code, &in)};
    for (size_t i = 0; i < N(cases); i++) {
        struct fpu_result r;
        tpvm_case(*state, &cases[i], &r);
        expect_hlt(&r);
        assert_int_equal(out_u16(&r, 0x2100), 0x0340);
        assert_true(out_f64(&r, 0x2108) == 2.0);
        /* with CR0.NE the guest gets its #MF at the first waiting one */
        run_with_cr0(state, cases[i], CR0_NE, &r);
        expect_fault(&r, EXC_MF, CODE_ADDR + 6);
    }
    /* FXSAVE image: FCW, FSW, abridged FTW (all empty) */
    struct input fx;
    in_init(&fx);
    static const uint8_t fx_head[32] = {0x40, 0x03, 0xbf, 0x80, 0x00};
    in_bytes(&fx, 0x2400, fx_head, sizeof fx_head);
    static const uint8_t fx_regs[128];
    in_bytes(&fx, 0x2420, fx_regs, sizeof fx_regs);
    struct fpu_result r;
    tpvm_case(*state, &CASE(fxrstor_pending_code, &fx), &r);
    expect_hlt(&r);
    assert_int_equal(out_u16(&r, 0x2100), 0x0340);
    assert_true(out_f64(&r, 0x2108) == 2.0);
    run_with_cr0(state, CASE(fxrstor_pending_code, &fx), CR0_NE, &r);
    expect_fault(&r, EXC_MF, CODE_ADDR + 7);
}

static const uint8_t fnstenv_masks_code[] = {
    0xdb, 0xe3,                              /* fninit */
    0xd9, 0x2d, 0x00, 0x20, 0x00, 0x00,      /* fldcw word ptr [0x2000] */
    0xd9, 0x35, 0x00, 0x24, 0x00, 0x00,      /* fnstenv [0x2400] */
    0xd9, 0x3d, 0x00, 0x21, 0x00, 0x00,      /* fnstcw word ptr [0x2100] */
    0xf4,                                    /* hlt */
};

/* Unicorn (QEMU 5) leaves the control word alone here; the SDM and the
 * hardware mask all exceptions after FNSTENV. */
static void fnstenv_stores_the_guest_word_then_masks_exceptions(void **state)
{
    struct input in;
    in_init(&in);
    in_i16(&in, 0x2000, 0x0360);
    struct fpu_result r;
    tpvm_case(*state, &CASE(fnstenv_masks_code, &in), &r);
    expect_hlt(&r);
    assert_int_equal(out_u16(&r, 0x2400), 0x0360);
    assert_int_equal(out_u16(&r, 0x2100), 0x037f);
}

/* ---- unmasked exceptions: #MF at the next waiting instruction ---- */

static const uint8_t mf_fwait_code[] = {
    0xdb, 0xe3,                              /* fninit */
    0xd9, 0x2d, 0x00, 0x20, 0x00, 0x00,      /* fldcw word ptr [0x2000] */
    0xd9, 0xe8,                              /* fld1 */
    0xdc, 0x35, 0x08, 0x20, 0x00, 0x00,      /* fdiv qword ptr [0x2008] */
    0x9b,                                    /* fwait */
    0xdd, 0x3d, 0x00, 0x21, 0x00, 0x00,      /* fnstsw word ptr [0x2100] */
    0xf4,                                    /* hlt */
};

static const uint8_t mf_unmask_pending_code[] = {
    0xdb, 0xe3,                              /* fninit */
    0xd9, 0xe8,                              /* fld1 */
    0xdc, 0x35, 0x08, 0x20, 0x00, 0x00,      /* fdiv qword ptr [0x2008] */
    0xd9, 0x2d, 0x00, 0x20, 0x00, 0x00,      /* fldcw word ptr [0x2000] */
    0xd9, 0xe8,                              /* fld1 */
    0xf4,                                    /* hlt */
};

static const uint8_t mf_fnstsw_ax_code[] = {
    0xdb, 0xe3,                              /* fninit */
    0xd9, 0x2d, 0x00, 0x20, 0x00, 0x00,      /* fldcw word ptr [0x2000] */
    0xd9, 0xe8,                              /* fld1 */
    0xdc, 0x35, 0x08, 0x20, 0x00, 0x00,      /* fdiv qword ptr [0x2008] */
    0xdf, 0xe0,                              /* fnstsw ax */
    0xd9, 0x35, 0x00, 0x24, 0x00, 0x00,      /* fnstenv [0x2400] */
    0x9b,                                    /* fwait */
    0xd9, 0x3d, 0x00, 0x21, 0x00, 0x00,      /* fnstcw word ptr [0x2100] */
    0xf4,                                    /* hlt */
};

static const uint8_t mf_fnsave_code[] = {
    0xdb, 0xe3,                              /* fninit */
    0xd9, 0x2d, 0x00, 0x20, 0x00, 0x00,      /* fldcw word ptr [0x2000] */
    0xd9, 0xe8,                              /* fld1 */
    0xdc, 0x35, 0x08, 0x20, 0x00, 0x00,      /* fdiv qword ptr [0x2008] */
    0xdd, 0x35, 0x00, 0x24, 0x00, 0x00,      /* fnsave [0x2400] */
    0x9b,                                    /* fwait */
    0xdd, 0x3d, 0x00, 0x21, 0x00, 0x00,      /* fnstsw word ptr [0x2100] */
    0xf4,                                    /* hlt */
};

static const uint8_t mf_handler_code[] = {
    0xdd, 0x3d, 0x00, 0x21, 0x00, 0x00,      /* fnstsw word ptr [0x2100] */
    0xdb, 0xe2,                              /* fnclex */
    0xdd, 0x3d, 0x02, 0x21, 0x00, 0x00,      /* fnstsw word ptr [0x2102] */
    0x9b,                                    /* fwait */
    0xd9, 0xe8,                              /* fld1 */
    0xdd, 0xd8,                              /* fstp st(0) */
    0xf4,                                    /* hlt */
};


/* Zero divide unmasked (FCW 0x037b), then 1/0. */
static void mf_inputs(struct input *in)
{
    in_init(in);
    in_i16(in, 0x2000, 0x037b);
    in_f64(in, 0x2008, 0.0);
}

static void unmasked_exception_raises_mf_at_the_next_waiting_instruction(void **state)
{
    struct engines *en = *state;
    struct input in;
    mf_inputs(&in);
    struct runner *rs[] = {en->direct, en->tlb};
    for (size_t k = 0; k < N(rs); k++) {
        struct fpu_case c = CASE(mf_fwait_code, &in);
        c.cr0_set = CR0_NE;
        struct fpu_result r;
        runner_run(rs[k], &c, &r);
        expect_fault(&r, EXC_MF, CODE_ADDR + 0x10); /* the fwait, not the fdiv */
        /* what a handler sees: ES and B with ZE, cleared by FNCLEX */
        runner_continue(rs[k], 0x1800, mf_handler_code, sizeof mf_handler_code, &r);
        expect_hlt(&r);
        assert_int_equal(out_u16(&r, 0x2100) & 0x80ff, 0x8084);
        assert_int_equal(out_u16(&r, 0x2102) & 0x80ff, 0);
    }
    /* without CR0.NE (FERR# and IRQ 13 are not modelled) the exception
     * stays pending, visible in ES */
    struct fpu_result r;
    tpvm_case(*state, &CASE(mf_fwait_code, &in), &r);
    expect_hlt(&r);
    assert_int_equal(out_u16(&r, 0x2100) & 0x80ff, 0x8084);
}

static void fldcw_unmasking_a_set_flag_raises_mf_at_the_next_waiting_instruction(void **state)
{
    struct input in;
    mf_inputs(&in);
    struct fpu_result r;
    run_with_cr0(state, CASE(mf_unmask_pending_code, &in), CR0_NE, &r);
    expect_fault(&r, EXC_MF, CODE_ADDR + 0x10); /* the fld1 after the fldcw */
}

static void fnstsw_and_images_show_es_and_no_wait_forms_do_not_fault(void **state)
{
    struct input in;
    mf_inputs(&in);
    struct fpu_result r;
    run_with_cr0(state, CASE(mf_fnstsw_ax_code, &in), CR0_NE, &r);
    expect_hlt(&r); /* FNSTSW and FNSTENV do not wait; FNSTENV masks, so FWAIT passes */
    assert_int_equal(r.regs[R_EAX] & 0x80ff, 0x8084);
    assert_int_equal(out_u16(&r, 0x2404) & 0x80ff, 0x8084);
    assert_int_equal(out_u16(&r, 0x2100), 0x037f);
    run_with_cr0(state, CASE(mf_fnsave_code, &in), CR0_NE, &r);
    expect_hlt(&r); /* FNSAVE does not wait and re-initializes */
    assert_int_equal(out_u16(&r, 0x2404) & 0x80ff, 0x8084);
    assert_int_equal(out_u16(&r, 0x2100), 0);
}

/* ---- faults on the state images ---- */

static const uint8_t fxsave_misaligned_code[] = {
    0xdb, 0xe3,                              /* fninit */
    0x0f, 0xae, 0x05, 0x08, 0x24, 0x00, 0x00, /* fxsave [0x2408] */
    0xf4,                                    /* hlt */
};

static const uint8_t fxrstor_misaligned_code[] = {
    0xdb, 0xe3,                              /* fninit */
    0x0f, 0xae, 0x0d, 0x08, 0x24, 0x00, 0x00, /* fxrstor [0x2408] */
    0xf4,                                    /* hlt */
};

static void fxsave_fxrstor_need_16_byte_alignment(void **state)
{
    struct input in;
    in_init(&in);
    struct fpu_result r;
    tpvm_case(*state, &CASE(fxsave_misaligned_code, &in), &r);
    expect_fault(&r, EXC_GP, CODE_ADDR + 2);
    assert_int_equal(r.error, 0);
    tpvm_case(*state, &CASE(fxrstor_misaligned_code, &in), &r);
    expect_fault(&r, EXC_GP, CODE_ADDR + 2);
}

static const uint8_t pf_fnsave_code[] = {
    0xdb, 0xe3,                              /* fninit */
    0xd9, 0xe8,                              /* fld1 */
    0xd9, 0xeb,                              /* fldpi */
    0xdd, 0x35, 0xa0, 0x2f, 0x00, 0x00,      /* fnsave [0x2fa0] */
    0xf4,                                    /* hlt */
};

static const uint8_t pf_fxsave_code[] = {
    0xdb, 0xe3,                              /* fninit */
    0xd9, 0xe8,                              /* fld1 */
    0xd9, 0xeb,                              /* fldpi */
    0x0f, 0xae, 0x05, 0x00, 0x2f, 0x00, 0x00, /* fxsave [0x2f00] */
    0xf4,                                    /* hlt */
};

static const uint8_t pf_fstp_code[] = {
    0xdb, 0xe3,                              /* fninit */
    0xd9, 0xe8,                              /* fld1 */
    0xd9, 0xeb,                              /* fldpi */
    0xdb, 0x3d, 0xfa, 0x2f, 0x00, 0x00,      /* fstp tbyte ptr [0x2ffa] */
    0xf4,                                    /* hlt */
};

static const uint8_t pf_fld_code[] = {
    0xdb, 0xe3,                              /* fninit */
    0xd9, 0xe8,                              /* fld1 */
    0xd9, 0xeb,                              /* fldpi */
    0xdb, 0x2d, 0xfa, 0x2f, 0x00, 0x00,      /* fld tbyte ptr [0x2ffa] */
    0xf4,                                    /* hlt */
};

static const uint8_t pf_frstor_code[] = {
    0xdb, 0xe3,                              /* fninit */
    0xd9, 0xe8,                              /* fld1 */
    0xd9, 0xeb,                              /* fldpi */
    0xdd, 0x25, 0xa0, 0x2f, 0x00, 0x00,      /* frstor [0x2fa0] */
    0xf4,                                    /* hlt */
};

static const uint8_t after_pf_code[] = {
    0xd9, 0x3d, 0x00, 0x21, 0x00, 0x00,      /* fnstcw word ptr [0x2100] */
    0xdb, 0x3d, 0x10, 0x21, 0x00, 0x00,      /* fstp tbyte ptr [0x2110] */
    0xdb, 0x3d, 0x1a, 0x21, 0x00, 0x00,      /* fstp tbyte ptr [0x211a] */
    0xdd, 0x3d, 0x24, 0x21, 0x00, 0x00,      /* fnstsw word ptr [0x2124] */
    0xf4,                                    /* hlt */
};

/* With 0x3000 not present, each access that reaches into it faults
 * before anything changed: no byte of 0x2000-0x2fff is written, and the
 * registers (1, pi) and control word are still there afterwards. */
static void page_fault_on_an_operand_leaves_x87_state_unchanged(void **state)
{
    struct engines *en = *state;
    struct input in;
    in_init(&in);
    static const struct {
        const char *what;
        const uint8_t *code;
        size_t len;
        uint32_t insn;      /* offset of the faulting instruction */
        uint32_t error;     /* #PF error code: write, not present */
    } v[] = {
        {"fnsave", pf_fnsave_code, sizeof pf_fnsave_code, 6, 2},
        {"fxsave", pf_fxsave_code, sizeof pf_fxsave_code, 6, 2},
        {"fstp m80", pf_fstp_code, sizeof pf_fstp_code, 6, 2},
        {"fld m80", pf_fld_code, sizeof pf_fld_code, 6, 0},
        {"frstor", pf_frstor_code, sizeof pf_frstor_code, 6, 0},
    };
    struct runner *rs[] = {en->direct, en->tlb};
    for (size_t i = 0; i < N(v); i++)
        for (size_t k = 0; k < N(rs); k++) {
            struct fpu_case c = {.code = v[i].code, .code_len = v[i].len,
                                 .data = in.bytes, .data_len = in.len,
                                 .unmapped_page = 0x3000};
            struct fpu_result r;
            runner_run(rs[k], &c, &r);
            if (r.kind != OUT_FAULT || r.vector != EXC_PF ||
                r.fault_eip != CODE_ADDR + v[i].insn || r.error != v[i].error ||
                r.cr2 != 0x3000)
                fail_msg("%s, %s: vector %d at %#x, error %#x, cr2 %#x %s", v[i].what,
                         runner_name(rs[k]), r.vector, r.fault_eip, r.error, r.cr2, r.note);
            for (uint32_t a = 0x2f00; a < 0x3000; a++)
                assert_int_equal(r.data[a - DATA_ADDR], DATA_FILL);
            runner_continue(rs[k], 0x1800, after_pf_code, sizeof after_pf_code, &r);
            expect_hlt(&r);
            assert_int_equal(out_u16(&r, 0x2100), 0x037f);
            assert_int_equal(out_u16(&r, 0x2118), 0x4000);  /* pi: exponent */
            assert_int_equal(out_u16(&r, 0x2122), 0x3fff);  /* 1.0: exponent */
            assert_int_equal(out_u16(&r, 0x2124) & 0x3800, 0); /* stack empty again */
        }
}

/* ---- each CPU's x87 state is its own ---- */

static const uint8_t reset_code[] = {
    0xd9, 0x3d, 0x00, 0x21, 0x00, 0x00,      /* fnstcw word ptr [0x2100] */
    0xdd, 0x3d, 0x02, 0x21, 0x00, 0x00,      /* fnstsw word ptr [0x2102] */
    0xd9, 0x35, 0x10, 0x21, 0x00, 0x00,      /* fnstenv [0x2110] */
    0xf4,                                    /* hlt */
};

static void a_reset_cpu_has_the_fninit_state(void **state)
{
    struct input in;
    in_init(&in);
    struct fpu_result r;
    tpvm_case(*state, &CASE(reset_code, &in), &r);
    expect_hlt(&r);
    assert_int_equal(out_u16(&r, 0x2100), 0x037f);
    assert_int_equal(out_u16(&r, 0x2102), 0);
    assert_int_equal(out_u16(&r, 0x2110 + 8), 0xffff); /* all registers empty */
}

static const uint8_t push_one_code[] = {
    0xdb, 0xe3,                              /* fninit */
    0xd9, 0xe8,                              /* fld1 */
    0xf4,                                    /* hlt */
};

static const uint8_t push_pi_code[] = {
    0xdb, 0xe3,                              /* fninit */
    0xd9, 0xeb,                              /* fldpi */
    0xd9, 0xeb,                              /* fldpi */
    0xd9, 0x2d, 0x00, 0x20, 0x00, 0x00,      /* fldcw word ptr [0x2000] */
    0xf4,                                    /* hlt */
};

static const uint8_t pop_one_code[] = {
    0xdb, 0x3d, 0x00, 0x21, 0x00, 0x00,      /* fstp tbyte ptr [0x2100] */
    0xdd, 0x3d, 0x0a, 0x21, 0x00, 0x00,      /* fnstsw word ptr [0x210a] */
    0xd9, 0x3d, 0x0c, 0x21, 0x00, 0x00,      /* fnstcw word ptr [0x210c] */
    0xf4,                                    /* hlt */
};

static const uint8_t pop_two_code[] = {
    0xdb, 0x3d, 0x00, 0x21, 0x00, 0x00,      /* fstp tbyte ptr [0x2100] */
    0xdb, 0x3d, 0x0a, 0x21, 0x00, 0x00,      /* fstp tbyte ptr [0x210a] */
    0xdd, 0x3d, 0x14, 0x21, 0x00, 0x00,      /* fnstsw word ptr [0x2114] */
    0xd9, 0x3d, 0x16, 0x21, 0x00, 0x00,      /* fnstcw word ptr [0x2116] */
    0xf4,                                    /* hlt */
};

static void two_cpus_keep_their_own_x87_state(void **state)
{
    struct engines *en = *state;
    struct input in;
    in_init(&in);
    in_i16(&in, 0x2000, 0x0f7f); /* chop: B's own control word */
    struct fpu_result a, b;
    runner_run(en->direct, &CASE(push_one_code, &in), &a);
    expect_hlt(&a);
    runner_run(en->tlb, &CASE(push_pi_code, &in), &b);
    expect_hlt(&b);
    /* between runs the state sits in struct cpu; the host FPU is clean */
    uint16_t host_cw, host_env[14];
    __asm__ volatile("fnstcw %0" : "=m"(host_cw));
    __asm__ volatile("fnstenv %0" : "=m"(host_env));
    assert_int_equal(host_cw, 0x037f);
    assert_int_equal(host_env[4], 0xffff); /* host tag word: all empty */
    assert_int_equal(b.fx[0] | b.fx[1] << 8, 0x0f7f); /* FCW in the image */
    assert_int_equal((b.fx[2] | b.fx[3] << 8) & 0x3800, 6 << 11); /* TOP = 6 */

    runner_continue(en->direct, 0x1800, pop_one_code, sizeof pop_one_code, &a);
    expect_hlt(&a);
    assert_int_equal(out_u16(&a, 0x2108), 0x3fff); /* 1.0 */
    assert_int_equal(out_u16(&a, 0x210c), 0x037f);
    runner_continue(en->tlb, 0x1800, pop_two_code, sizeof pop_two_code, &b);
    expect_hlt(&b);
    assert_int_equal(out_u16(&b, 0x2108), 0x4000); /* pi */
    assert_int_equal(out_u16(&b, 0x2112), 0x4000); /* pi */
    assert_int_equal(out_u16(&b, 0x2116), 0x0f7f);
}

int run_system_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(x87_under_ts_or_em_raises_nm_at_the_instruction),
        cmocka_unit_test(every_x87_form_raises_nm_under_ts),
        cmocka_unit_test(fxsave_fxrstor_raise_ud_under_em_and_nm_under_ts),
        cmocka_unit_test(fwait_raises_nm_only_with_ts_and_mp),
        cmocka_unit_test(exception_flags_are_the_hardware_ones),
        cmocka_unit_test(guest_unmasked_exceptions_never_trap_the_host),
        cmocka_unit_test(loaded_images_with_unmasked_pending_exceptions_trap_only_the_guest),
        cmocka_unit_test(fnstenv_stores_the_guest_word_then_masks_exceptions),
        cmocka_unit_test(unmasked_exception_raises_mf_at_the_next_waiting_instruction),
        cmocka_unit_test(fldcw_unmasking_a_set_flag_raises_mf_at_the_next_waiting_instruction),
        cmocka_unit_test(fnstsw_and_images_show_es_and_no_wait_forms_do_not_fault),
        cmocka_unit_test(fxsave_fxrstor_need_16_byte_alignment),
        cmocka_unit_test(page_fault_on_an_operand_leaves_x87_state_unchanged),
        cmocka_unit_test(a_reset_cpu_has_the_fninit_state),
        cmocka_unit_test(two_cpus_keep_their_own_x87_state),
    };
    return cmocka_run_group_tests_name("x87 system behaviour", tests, engines_setup,
                                       engines_teardown);
}
