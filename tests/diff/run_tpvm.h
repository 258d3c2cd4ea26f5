/* Runs a case under tpvm's translator, through bt/bt.h only. */
#ifndef TPVM_TESTS_DIFF_RUN_TPVM_H
#define TPVM_TESTS_DIFF_RUN_TPVM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "tests/diff/case.h"

struct tpvm_runner;

/* direct: the monitor's layout (bt_cpu_alloc: RAM at a fixed offset from
 * struct cpu, translated code addresses it directly); otherwise a plain
 * buffer handed to bt_cpu_init_flat (the soft-TLB path). trace: if not
 * NULL, the translator disassembles what it translates there. */
struct tpvm_runner *tpr_create(bool direct, FILE *trace);
void tpr_destroy(struct tpvm_runner *t);
uint8_t *tpr_ram(struct tpvm_runner *t);
const char *tpr_name(const struct tpvm_runner *t);

/* Run case c, whose memory the caller has already loaded into tpr_ram()
 * (the code slot is invalidated here, after that write). */
void tpr_run(struct tpvm_runner *t, const struct dcase *c, struct outcome *out);

/* One comment line of translator counters (shows the cases really ran
 * translated). */
void tpr_print_stats(const struct tpvm_runner *t, FILE *f);

/* Async-safe: make a running case leave bt_run (watchdog). */
void tpr_request_exit(struct tpvm_runner *t);

/* Install the process SIGSEGV handler the translator relies on (code
 * pages are write-protected in the direct layout). */
void tpr_install_fault_handler(void);

#endif
