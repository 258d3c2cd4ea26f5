/* hello: the smallest guest. Proves boot, the Multiboot handoff and COM1,
 * then leaves through the debug-exit port with code 0. */
#include "guest.h"

int guest_main(uint32_t magic, struct multiboot_info *mbi)
{
    printf("Hello from a tpvm guest!\n");
    printf("multiboot magic: 0x%08x\n", magic);
    if (magic != MULTIBOOT_BOOTLOADER_MAGIC) {
        /* EBX means nothing without the magic: do not read it. */
        printf("hello: not started by a Multiboot loader\n");
        return 1;
    }
    if (mbi->flags & MULTIBOOT_INFO_MEMORY)
        printf("memory: lower %u KiB, upper %u KiB\n", mbi->mem_lower,
               mbi->mem_upper);
    else
        printf("memory: not reported\n");
    /* Quoted, so a trailing space is visible in a diff. */
    if (mbi->flags & MULTIBOOT_INFO_CMDLINE)
        printf("cmdline: \"%s\"\n", (const char *)(uintptr_t)mbi->cmdline);
    return 0;
}
