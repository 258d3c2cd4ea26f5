/* Linux bzImage kernels, booted through the 32-bit boot protocol
 * (Documentation/x86/boot.rst): no real-mode setup code runs; the loader
 * builds the zero page (struct boot_params) that the setup code would. */
#ifndef TPVM_VMM_LOADER_LINUX_H
#define TPVM_VMM_LOADER_LINUX_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/loader.h"

/* Where things go in guest memory. The zero page and the command line sit
 * where QEMU's -kernel puts the real-mode part and the command line; the
 * GDT goes right after the zero page. The kernel copies what it needs
 * before it reuses any of this memory. */
#define LINUX_BOOT_PARAMS_ADDR 0x10000u  /* 4 KiB zero page; ESI at entry */
#define LINUX_GDT_ADDR 0x11000u          /* 4 descriptors */
#define LINUX_CMDLINE_ADDR 0x20000u      /* NUL-terminated --append */
#define LINUX_LOAD_ADDR 0x100000u        /* protected-mode kernel */
#define LINUX_BOOT_CS 0x10u              /* __BOOT_CS */
#define LINUX_BOOT_DS 0x18u              /* __BOOT_DS */
#define LINUX_MIN_PROTOCOL 0x0206u       /* cmdline_size appears in 2.06 */
#define LINUX_TYPE_OF_LOADER 0xffu       /* "undefined": tpvm has no ID */

/* The file carries the setup header signature "HdrS" at 0x202 (the rest
 * is checked by linux_load, to report it). */
bool linux_probe(const struct kernel_image *img);

/* Load img with the command line append and the optional initrd (NULL
 * for none) into t; leave the CPU at the 32-bit entry point. Returns 0,
 * or -1 with err filled in and guest memory untouched. */
int linux_load(const struct kernel_image *img,
               const struct initrd_image *initrd, const char *append,
               const struct boot_target *t, struct load_error *err);

#endif
