/* Kernel loading: read the file, recognise its format, hand it to the
 * loader for that format (Linux bzImage, Multiboot v1). */
#ifndef TPVM_VMM_LOADER_H
#define TPVM_VMM_LOADER_H

#include <stddef.h>
#include <stdint.h>

struct cpu;

/* Every way a kernel can be refused; tests match on these. */
enum load_status {
    LOAD_OK = 0,
    LOAD_ERR_OPEN,           /* missing, unreadable or not a regular file */
    LOAD_ERR_TOO_BIG,        /* file larger than any kernel we take */
    LOAD_ERR_FORMAT,         /* no known format (no multiboot header) */
    LOAD_ERR_MB_CHECKSUM,    /* multiboot magic with a bad checksum */
    LOAD_ERR_MB_HEADER,      /* multiboot header cut off by the end of file */
    LOAD_ERR_NOT_ELF,
    LOAD_ERR_ELF_KIND,       /* not a little-endian ELF32 i386 executable */
    LOAD_ERR_ELF_PHDRS,      /* program headers missing or truncated */
    LOAD_ERR_NO_SEGMENTS,    /* nothing to load */
    LOAD_ERR_SEG_SIZE,       /* file size larger than memory size */
    LOAD_ERR_SEG_TRUNCATED,  /* segment data beyond the end of the file */
    LOAD_ERR_SEG_OVERFLOW,   /* address + size wraps past 4 GiB */
    LOAD_ERR_SEG_LOW,        /* loads below 4 KiB */
    LOAD_ERR_SEG_OUTSIDE_RAM,
    LOAD_ERR_SEG_OVERLAP,    /* with another segment or the boot information */
    LOAD_ERR_ENTRY,          /* entry point not inside a loaded segment */
    LOAD_ERR_AOUT_ADDRS,     /* inconsistent multiboot a.out kludge addresses */
    LOAD_ERR_CMDLINE,        /* command line does not fit */
    LOAD_ERR_LINUX_HEADER,   /* bzImage setup header cut off or malformed */
    LOAD_ERR_LINUX_VERSION,  /* boot protocol too old, or not loaded high */
    LOAD_ERR_LINUX_TRUNCATED,/* less kernel in the file than syssize says */
    LOAD_ERR_LINUX_MEMORY,   /* kernel needs more memory than -m gives */
    LOAD_ERR_INITRD,         /* --initrd does not fit, or not for this kernel */
};

struct load_error {
    enum load_status status;
    char msg[512];           /* one line, "PATH: what is wrong" */
};

/* The kernel file, read whole into memory (untrusted). */
struct kernel_image {
    const char *path;
    const uint8_t *data;
    size_t size;
};

/* The --initrd file, read whole into memory. */
struct initrd_image {
    const char *path;
    const uint8_t *data;
    size_t size;
};

/* What to boot (QEMU's -kernel, -initrd, -append). */
struct boot_files {
    const char *kernel;
    const char *initrd;      /* NULL: none */
    const char *append;      /* "" if none */
};

/* Guest memory and CPU the kernel is loaded into. */
struct boot_target {
    uint8_t *ram;
    uint32_t ram_size;
    struct cpu *cpu;
    struct bt *bt; /* optional: its helper populates RAM the guest will write */
};

#define KERNEL_FILE_MAX (1ull << 30)

/* Load the kernel at path with the command-line tail append into t, and
 * leave the CPU ready to run it. Returns 0, or -1 with err filled in.
 * Nothing is written to guest memory unless the whole file is valid. */
int loader_load(const char *path, const char *append,
                const struct boot_target *t, struct load_error *err);

/* The same with an optional initrd (Linux kernels only). */
int loader_boot(const struct boot_files *files, const struct boot_target *t,
                struct load_error *err);

/* For format loaders: fill err and return -1. */
int load_fail(struct load_error *err, enum load_status status,
              const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
