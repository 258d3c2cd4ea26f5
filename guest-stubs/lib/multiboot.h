/* Multiboot v1 constants and the boot information a loader hands a guest. */
#ifndef GUEST_MULTIBOOT_H
#define GUEST_MULTIBOOT_H

/* In the guest's header (start.S). */
#define MULTIBOOT_HEADER_MAGIC 0x1BADB002
#define MULTIBOOT_PAGE_ALIGN 0x00000001
#define MULTIBOOT_MEMORY_INFO 0x00000002
/* Only memory info: the loaders read our ELF program headers, not the
 * a.out kludge (bit 16), and we load no modules. */
#define MULTIBOOT_HEADER_FLAGS MULTIBOOT_MEMORY_INFO

/* In EAX at entry. */
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002

/* Bits of multiboot_info.flags saying which fields are valid. */
#define MULTIBOOT_INFO_MEMORY 0x00000001
#define MULTIBOOT_INFO_BOOTDEV 0x00000002
#define MULTIBOOT_INFO_CMDLINE 0x00000004
#define MULTIBOOT_INFO_MODS 0x00000008
#define MULTIBOOT_INFO_AOUT_SYMS 0x00000010
#define MULTIBOOT_INFO_ELF_SHDR 0x00000020
#define MULTIBOOT_INFO_MEM_MAP 0x00000040
#define MULTIBOOT_INFO_DRIVE_INFO 0x00000080
#define MULTIBOOT_INFO_CONFIG_TABLE 0x00000100
#define MULTIBOOT_INFO_BOOT_LOADER_NAME 0x00000200

#define MULTIBOOT_MEMORY_AVAILABLE 1

#ifndef __ASSEMBLER__
#include <stdint.h>

/* All addresses are guest-physical; the guests run with paging off and
 * flat segments, so they are also pointers. */
struct multiboot_info {
    uint32_t flags;
    uint32_t mem_lower; /* KiB below 1 MiB */
    uint32_t mem_upper; /* KiB from 1 MiB to the first hole */
    uint32_t boot_device;
    uint32_t cmdline; /* NUL-terminated string */
    uint32_t mods_count;
    uint32_t mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length; /* bytes of multiboot_mmap_entry records */
    uint32_t mmap_addr;
    uint32_t drives_length;
    uint32_t drives_addr;
    uint32_t config_table;
    uint32_t boot_loader_name;
    uint32_t apm_table;
    uint32_t vbe_control_info;
    uint32_t vbe_mode_info;
    uint16_t vbe_mode;
    uint16_t vbe_interface_seg;
    uint16_t vbe_interface_off;
    uint16_t vbe_interface_len;
};

/* `size` does not count itself: the next entry is at (char *)e + e->size + 4. */
struct multiboot_mmap_entry {
    uint32_t size;
    uint64_t addr;
    uint64_t len;
    uint32_t type;
} __attribute__((packed));

struct multiboot_module {
    uint32_t mod_start;
    uint32_t mod_end;
    uint32_t cmdline;
    uint32_t reserved;
};
#endif /* __ASSEMBLER__ */

#endif
