/* Building x87 test inputs (doubles, 80-bit reals, integers, packed BCD
 * at guest addresses) and comparing tpvm's runs with Unicorn's. */
#ifndef TPVM_TESTS_FPU_CHECK_H
#define TPVM_TESTS_FPU_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tests/fpu/runner.h"

/* Inputs: a DATA_ADDR-based image; `addr` is the guest address. */
struct input {
    uint8_t bytes[DATA_SIZE];
    size_t len; /* highest byte written + 1 */
};

void in_init(struct input *in);
void in_f64(struct input *in, uint32_t addr, double v);
void in_f32(struct input *in, uint32_t addr, float v);
void in_i16(struct input *in, uint32_t addr, int16_t v);
void in_i32(struct input *in, uint32_t addr, int32_t v);
void in_i64(struct input *in, uint32_t addr, int64_t v);
/* 80-bit real: sign, 15-bit biased exponent, 64-bit significand (J bit
 * included) */
void in_f80(struct input *in, uint32_t addr, bool neg, uint16_t exp, uint64_t mant);
void in_bytes(struct input *in, uint32_t addr, const void *p, size_t n);

/* Reading results back out of a run. */
uint16_t out_u16(const struct fpu_result *r, uint32_t addr);
uint32_t out_u32(const struct fpu_result *r, uint32_t addr);
double out_f64(const struct fpu_result *r, uint32_t addr);

/* What a differential comparison leaves out or relaxes. */
struct span {
    uint32_t addr, len;
};
/* A 16-bit field compared under a mask: status words, whose exception
 * flags (bits 0-7) and C1 "rounded up" Unicorn (QEMU 5) does not set. */
struct field {
    uint32_t addr;
    uint16_t mask;
};
#define SW_MASK 0xfd00u      /* C3 TOP C2 C0 B: arithmetic status */
#define SW_MASK_C1 0xff00u   /* with C1: compares, FXAM, FPREM */
#define SW_MASK_TOP 0xb800u  /* TOP and B: C0-C3 undefined by then */

struct diff_spec {
    const struct span *skip;  /* data bytes not compared (fields Unicorn */
    size_t n_skip;            /* does not model like hardware) */
    const struct field *fields;
    size_t n_fields;
    uint32_t eax_mask;        /* 0: compare EAX fully (else FNSTSW AX) */
    const uint32_t *approx;   /* doubles compared within rel_tol */
    size_t n_approx;
    double rel_tol;
};

/* Unicorn and both tpvm engines, created once per test group. */
struct engines {
    struct runner *uc, *direct, *tlb;
};
int engines_setup(void **state);
int engines_teardown(void **state);

/* Run the case under Unicorn and both tpvm engines; fail the current
 * test on any difference (the tpvm results are returned for further
 * checks; `tpvm` may be NULL). */
void diff_case(struct engines *en, const char *what, const struct fpu_case *c,
               const struct diff_spec *spec, struct fpu_result *tpvm);

/* The case under both tpvm engines only; fails unless both agree on the
 * outcome and the data. */
void tpvm_case(struct engines *en, const struct fpu_case *c, struct fpu_result *out);

#define CASE(code_, in_) \
    ((struct fpu_case){.code = (code_), .code_len = sizeof(code_), \
                       .data = (in_)->bytes, .data_len = (in_)->len})

#endif
