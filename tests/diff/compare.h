/* Compares two models' outcomes of a case (registers, EIP, EFLAGS, DATA
 * and STACK bytes) minus what the case marks undefined, and prints a
 * mismatch in full. */
#ifndef TPVM_TESTS_DIFF_COMPARE_H
#define TPVM_TESTS_DIFF_COMPARE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "tests/diff/case.h"

/* One side of a comparison. */
struct side {
    const char *name;
    const struct outcome *out;
    const uint8_t *ram;
};

struct diff {
    bool kind, vector, eip, flags, note;
    uint8_t regs;       /* bit per GPR */
    uint32_t flag_bits; /* differing EFLAGS bits (compared ones) */
    unsigned mem_bytes; /* differing bytes in DATA/STACK */
    uint32_t mem_first;
};

/* True if the outcomes agree. */
bool compare_outcomes(const struct dcase *c, const struct side *a,
                      const struct side *b, struct diff *d);

struct reporter;
struct reporter *reporter_create(FILE *f, uint64_t seed);
void reporter_destroy(struct reporter *r);
/* Disassembled code, initial state, both outcomes and what differs. */
void report_mismatch(struct reporter *r, const struct dcase *c, const char *group,
                     const struct side *a, const struct side *b,
                     const struct diff *d, const char *why);
void report_code(struct reporter *r, const struct dcase *c);

#endif
