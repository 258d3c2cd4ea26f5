/* The test groups of the x87 suite (tests/fpu/main.c runs them all). */
#ifndef TPVM_TESTS_FPU_GROUPS_H
#define TPVM_TESTS_FPU_GROUPS_H

int run_diff_tests(void);   /* test_diff.c: against Unicorn */
int run_system_tests(void); /* test_system.c: tpvm-defined behaviour */

#endif
