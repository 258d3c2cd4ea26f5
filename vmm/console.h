/* The host terminal when COM1 is on stdio: raw mode while the guest runs
 * (keystrokes go to the guest, Ctrl-C included), restored on every way
 * out, and QEMU's escape: Ctrl-A x quits, Ctrl-A Ctrl-A sends Ctrl-A. */
#ifndef TPVM_VMM_CONSOLE_H
#define TPVM_VMM_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Put fd's terminal in raw mode if it is one; true if it was. */
bool console_raw_enter(int fd);
/* Restore the terminal; async-signal safe, idempotent. */
void console_restore(void);

/* Ctrl-A escape decoder: filters buf in place, returns the bytes to pass
 * to the guest; *quit is set on Ctrl-A x. */
struct console_escape {
    bool pending; /* the previous byte was Ctrl-A */
};
size_t console_filter(struct console_escape *e, uint8_t *buf, size_t n,
                      bool *quit);

#endif
