/* What the instruction tests give the translator as a machine: no devices
 * (any port I/O or MMIO is counted as unexpected), and a SIGSEGV handler
 * that lets the translator resolve its own faults first. */
#ifndef TPVM_TESTS_STRICT_HOST_H
#define TPVM_TESTS_STRICT_HOST_H

#include "bt/bt.h"

struct strict_host {
    struct bt_host host;
    unsigned unexpected; /* port I/O or MMIO seen since the last reset */
};

void strict_host_init(struct strict_host *s);
/* prog names the test binary in the message of an unclaimed fault. */
void strict_host_install_segv(const char *prog);

#endif
