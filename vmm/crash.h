/* Host crash reports: fatal signals print a backtrace and exit 6. */
#ifndef TPVM_VMM_CRASH_H
#define TPVM_VMM_CRASH_H

/* Install handlers for SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGABRT on an
 * alternate stack (so a blown stack still gets a report). Per process;
 * call once from the main thread. Returns 0 or -errno. */
int crash_install(void);

#endif
