/* Runs a case in Unicorn (the instruction-semantics oracle). */
#ifndef TPVM_TESTS_DIFF_ORACLE_UNICORN_H
#define TPVM_TESTS_DIFF_ORACLE_UNICORN_H

#include <stdbool.h>
#include <stdint.h>

#include "tests/diff/case.h"

struct uc_oracle;

/* ram: RAM_SIZE bytes, page aligned, mapped into Unicorn as guest RAM.
 * check_bounds: also fail a case whose accesses leave DATA and STACK
 * (slower; validates the generator). */
struct uc_oracle *uco_create(uint8_t *ram, bool check_bounds);
void uco_destroy(struct uc_oracle *o);

/* Run case c, whose memory the caller has already loaded into ram. */
void uco_run(struct uc_oracle *o, const struct dcase *c, struct outcome *out);

#endif
