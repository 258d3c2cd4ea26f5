/* Multiboot v1 kernels (ELF32, or a.out-kludge addresses), booted the way
 * QEMU's -kernel boots them. */
#ifndef TPVM_VMM_LOADER_MULTIBOOT_H
#define TPVM_VMM_LOADER_MULTIBOOT_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/loader.h"

#define MULTIBOOT_HEADER_MAGIC 0x1badb002u
#define MULTIBOOT_BOOT_MAGIC 0x2badb002u   /* EAX at kernel entry */
#define MULTIBOOT_SEARCH_LIMIT 8192        /* header lies in these bytes */

/* Header flags. */
#define MULTIBOOT_HDR_AOUT_KLUDGE 0x00010000u

/* Info flags. We set the same ones as QEMU, so a guest that prints them
 * sees no difference. */
#define MULTIBOOT_INFO_MEMORY 0x001u
#define MULTIBOOT_INFO_BOOTDEV 0x002u
#define MULTIBOOT_INFO_CMDLINE 0x004u
#define MULTIBOOT_INFO_MODS 0x008u
#define MULTIBOOT_INFO_MEM_MAP 0x040u
#define MULTIBOOT_INFO_BOOT_LOADER_NAME 0x200u
#define MB_INFO_FLAGS                                                   \
    (MULTIBOOT_INFO_MEMORY | MULTIBOOT_INFO_BOOTDEV | MULTIBOOT_INFO_CMDLINE | \
     MULTIBOOT_INFO_MODS | MULTIBOOT_INFO_MEM_MAP |                     \
     MULTIBOOT_INFO_BOOT_LOADER_NAME)
#define MB_BOOT_DEVICE_NONE 0x8000ffffu  /* what QEMU reports */
#define MB_MEM_AVAILABLE 1u
#define MB_MEM_RESERVED 2u
#define MB_MMAP_ENTRY_SIZE 24u

/* Where the boot information goes: the same low-memory page as QEMU
 * (memory map at 0x9000, info at 0x9500), strings after the info; the
 * whole of it stays below the EBDA at 0x9fc00. */
#define MB_MMAP_ADDR 0x9000u
#define MB_INFO_ADDR 0x9500u
#define MB_STRINGS_ADDR 0x9600u
#define MB_AREA_END 0x9fc00u
#define MB_INFO_SIZE 88u
#define MB_LOADER_NAME "tpvm"

/* Byte offsets inside the info structure. */
enum {
    MBI_FLAGS = 0, MBI_MEM_LOWER = 4, MBI_MEM_UPPER = 8, MBI_BOOT_DEVICE = 12,
    MBI_CMDLINE = 16, MBI_MODS_COUNT = 20, MBI_MODS_ADDR = 24,
    MBI_MMAP_LENGTH = 44, MBI_MMAP_ADDR = 48, MBI_BOOT_LOADER_NAME = 64,
};

/* The file has the multiboot magic, 4-aligned, in its first 8192 bytes
 * (the checksum is checked by multiboot_load, to report it). */
bool multiboot_probe(const struct kernel_image *img);

int multiboot_load(const struct kernel_image *img, const char *append,
                   const struct boot_target *t, struct load_error *err);

#endif
