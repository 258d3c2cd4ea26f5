/* Hand-computed cases that pin down the harness itself: register and
 * EFLAGS plumbing, exception reporting, memory, control flow. */
#ifndef TPVM_TESTS_DIFF_KNOWN_ANSWERS_H
#define TPVM_TESTS_DIFF_KNOWN_ANSWERS_H

#include <stdio.h>

#include "tests/diff/model.h"

/* Runs every known answer on m; prints a TAP comment per failure and
 * returns the number of failures. */
int run_known_answers(const struct model *m, FILE *out);
unsigned known_answer_count(void);

#endif
