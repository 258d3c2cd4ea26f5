/* tpvm's process exit statuses (docs/exit-status.md). The guest's
 * debug-exit statuses are (v << 1) | 1, always odd, so these are even. */
#ifndef TPVM_VMM_EXIT_STATUS_H
#define TPVM_VMM_EXIT_STATUS_H

enum tpvm_exit {
    TPVM_EXIT_POWEROFF = 0,   /* guest powered off cleanly */
    TPVM_EXIT_USAGE = 2,      /* bad command line or input file */
    TPVM_EXIT_GUEST_DIED = 4, /* guest cannot go on; diagnosis on stderr */
    TPVM_EXIT_INTERNAL = 6,   /* tpvm itself failed (bug or host fault) */
};

#endif
