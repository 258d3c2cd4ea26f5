/* Leaving the machine through the isa-debug-exit port (QEMU's convention,
 * which tpvm follows): the VMM exits with status (code << 1) | 1. */
#include "guest.h"

#define DEBUG_EXIT_PORT 0xf4

void guest_exit(uint32_t code)
{
    outl(DEBUG_EXIT_PORT, code);
    /* No debug-exit device: stop here rather than run off into memory. */
    for (;;) {
        cli();
        hlt();
    }
}
