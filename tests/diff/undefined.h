/* Which arithmetic flags an instruction defines and which the Intel SDM
 * leaves undefined (those are masked out of the comparison). */
#ifndef TPVM_TESTS_DIFF_UNDEFINED_H
#define TPVM_TESTS_DIFF_UNDEFINED_H

#include <stdint.h>

#include <Zydis/Zydis.h>

struct flag_effect {
    uint32_t defined;   /* written with an architecturally defined value */
    uint32_t undefined; /* written with a value the SDM does not define */
};

/* For instructions whose effect does not depend on operand values. */
struct flag_effect flags_of(ZydisMnemonic mn);

/* SHL SHR SAR ROL ROR RCL RCR by `count` (the raw count before masking)
 * on an operand of `size` bytes. */
struct flag_effect flags_of_shift(ZydisMnemonic mn, int size, unsigned count);

/* SHLD/SHRD; result_undefined is set when the destination is undefined
 * too (count & 31 greater than the operand size). */
struct flag_effect flags_of_double_shift(int size, unsigned count,
                                         int *result_undefined);

/* Flags a condition code (0..15, x86 order O NO B AE E NE BE A S NS P NP
 * L GE LE G) reads. */
uint32_t cc_flags(int cc);

#endif
