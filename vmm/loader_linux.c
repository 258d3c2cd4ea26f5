/* Linux bzImage loader (32-bit boot protocol): validates the setup header,
 * plans where the kernel, the command line and the initrd go, then fills
 * the zero page and sets the CPU as Documentation/x86/boot.rst asks. */
#include "vmm/loader_linux.h"
#include "vmm/le.h"

#include <inttypes.h>
#include <string.h>

#include "bt/bt.h"

/* Offsets in the file's first sector and in struct boot_params (the
 * setup header sits at the same offsets in both). */
enum {
    BP_EXT_MEM_K = 0x002,        /* screen_info.ext_mem_k (u16) */
    BP_ORIG_VIDEO_LINES = 0x00e, /* screen_info: 0 lines = no text console */
    BP_ORIG_VIDEO_ISVGA = 0x00f,
    BP_ALT_MEM_K = 0x1e0,        /* u32 */
    BP_E820_ENTRIES = 0x1e8,     /* u8 */
    BP_SENTINEL = 0x1ef,         /* must be 0, else the kernel wipes fields */
    HDR_START = 0x1f1,           /* struct setup_header */
    HDR_SETUP_SECTS = 0x1f1,     /* u8 */
    HDR_SYSSIZE = 0x1f4,         /* u32, 16-byte units */
    HDR_BOOT_FLAG = 0x1fe,       /* u16 0xaa55 */
    HDR_JUMP = 0x200,            /* u16; its second byte gives the length */
    HDR_MAGIC = 0x202,           /* "HdrS" */
    HDR_VERSION = 0x206,         /* u16 */
    HDR_TYPE_OF_LOADER = 0x210,  /* u8 */
    HDR_LOADFLAGS = 0x211,       /* u8 */
    HDR_CODE32_START = 0x214,    /* u32 */
    HDR_RAMDISK_IMAGE = 0x218,   /* u32 */
    HDR_RAMDISK_SIZE = 0x21c,    /* u32 */
    HDR_HEAP_END_PTR = 0x224,    /* u16 */
    HDR_CMD_LINE_PTR = 0x228,    /* u32 */
    HDR_INITRD_ADDR_MAX = 0x22c, /* u32 */
    HDR_KERNEL_ALIGNMENT = 0x230,/* u32 */
    HDR_RELOCATABLE = 0x234,     /* u8 */
    HDR_CMDLINE_SIZE = 0x238,    /* u32, 2.06+ */
    HDR_PREF_ADDRESS = 0x258,    /* u64, 2.10+ */
    HDR_INIT_SIZE = 0x260,       /* u32, 2.10+ */
    HDR_MAX_END = 0x290,         /* struct boot_params.edd_mbr_sig_buffer */
    BP_E820_TABLE = 0x2d0,       /* 128 entries of 20 bytes */
    BOOT_PARAMS_SIZE = 0x1000,
};

#define HDR_MAGIC_VALUE 0x53726448u /* "HdrS" */
#define BOOT_FLAG_VALUE 0xaa55u
#define LOADED_HIGH 0x01u
#define CAN_USE_HEAP 0x80u
/* The setup code's heap would end just below the command line, where
 * QEMU puts it (only the real-mode setup code uses it). */
#define HEAP_END_PTR (LINUX_CMDLINE_ADDR - LINUX_BOOT_PARAMS_ADDR - 0x200u)
#define SETUP_SECTS_DEFAULT 4u     /* setup_sects 0 means 4 */
#define SECTOR 512u
#define PAGE 4096u
#define MIB (1u << 20)

/* The memory map SeaBIOS reports under QEMU (docs/linux-guest.md), so the
 * kernel sizes memory the same way on both. */
#define EBDA_START 0x9fc00u
#define LOW_MEMORY_END 0xa0000u
#define BIOS_START 0xf0000u
#define HIGH_MEMORY 0x100000u
#define FIRMWARE_TABLES_SIZE 0x20000u  /* top of RAM, reserved as by SeaBIOS */
#define BIOS_ROM_MIRROR 0xfffc0000u
#define E820_RAM 1u
#define E820_RESERVED 2u
#define E820_ENTRY_SIZE 20u

/* Flat 4 GiB descriptors for __BOOT_CS / __BOOT_DS, accessed bit set
 * (as the cached state bt_cpu_init_flat gives them). */
#define GDT_CODE 0x00cf9b000000ffffull
#define GDT_DATA 0x00cf93000000ffffull
#define GDT_ENTRIES 4u

/* Everything decided before guest memory is written. All 64-bit so sums
 * of 32-bit header fields cannot wrap. */
struct linux_plan {
    uint32_t version;
    uint64_t setup_size;       /* real-mode part of the file, not loaded */
    uint64_t payload_size;     /* protected-mode kernel, loaded at 1 MiB */
    uint64_t entry;            /* code32_start */
    uint64_t kernel_end;       /* end of the memory the kernel needs */
    uint64_t run, init_size;   /* where it decompresses and runs, how much */
    uint64_t ram_end;          /* end of usable RAM (below the tables) */
    uint64_t cmdline_len;
    uint64_t initrd_addr, initrd_size;
    size_t hdr_end;            /* setup header bytes to copy end here */
};

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return a ? (v + a - 1) / a * a : v;
}

/* -m that would do: the memory needed plus the firmware tables, in MiB. */
static uint64_t mib_needed(uint64_t end)
{
    return (end + FIRMWARE_TABLES_SIZE + MIB - 1) / MIB;
}

bool linux_probe(const struct kernel_image *img)
{
    return img->size >= HDR_MAGIC + 4 &&
           rd32(img->data + HDR_MAGIC) == HDR_MAGIC_VALUE;
}

static int check_header(const struct kernel_image *img, struct linux_plan *p,
                        struct load_error *err)
{
    const uint8_t *d = img->data;

    if (img->size < HDR_JUMP + 2 || rd16(d + HDR_BOOT_FLAG) != BOOT_FLAG_VALUE)
        return load_fail(err, LOAD_ERR_LINUX_HEADER,
                         "%s: \"HdrS\" signature but no boot flag 0xaa55 at "
                         "0x1fe: not a bzImage", img->path);
    p->hdr_end = HDR_MAGIC + (size_t)d[HDR_JUMP + 1];
    if (p->hdr_end > HDR_MAX_END)
        p->hdr_end = HDR_MAX_END;
    if (img->size < HDR_VERSION + 2)
        return load_fail(err, LOAD_ERR_LINUX_HEADER,
                         "%s: setup header cut off (file is %zu bytes)",
                         img->path, img->size);
    p->version = rd16(d + HDR_VERSION);
    if (p->version < LINUX_MIN_PROTOCOL)
        return load_fail(err, LOAD_ERR_LINUX_VERSION,
                         "%s: boot protocol %u.%02u; tpvm needs 2.06 or later "
                         "(Linux 2.6.22+)", img->path, p->version >> 8,
                         p->version & 0xff);
    /* The fields we read must be inside the header and the file. */
    size_t need = p->version >= 0x020a ? HDR_INIT_SIZE + 4
                                       : HDR_CMDLINE_SIZE + 4;
    if (p->hdr_end < need || img->size < need)
        return load_fail(err, LOAD_ERR_LINUX_HEADER,
                         "%s: setup header of protocol %u.%02u cut off at "
                         "%#zx (needs %#zx)", img->path, p->version >> 8,
                         p->version & 0xff,
                         p->hdr_end < img->size ? p->hdr_end : img->size,
                         need);
    if (!(d[HDR_LOADFLAGS] & LOADED_HIGH))
        return load_fail(err, LOAD_ERR_LINUX_VERSION,
                         "%s: a zImage (loaded low, loadflags %#x); tpvm "
                         "boots bzImages only", img->path, d[HDR_LOADFLAGS]);

    unsigned sects = d[HDR_SETUP_SECTS] ? d[HDR_SETUP_SECTS]
                                        : SETUP_SECTS_DEFAULT;
    p->setup_size = (uint64_t)(sects + 1) * SECTOR;
    uint64_t syssize = (uint64_t)rd32(d + HDR_SYSSIZE) * 16;
    if (img->size <= p->setup_size || img->size - p->setup_size < syssize)
        return load_fail(err, LOAD_ERR_LINUX_TRUNCATED,
                         "%s: truncated bzImage: %" PRIu64 " bytes of setup "
                         "and %" PRIu64 " of kernel expected, file has %zu",
                         img->path, p->setup_size, syssize, img->size);
    p->payload_size = img->size - p->setup_size;
    p->entry = rd32(d + HDR_CODE32_START);
    if (p->entry < LINUX_LOAD_ADDR ||
        p->entry >= LINUX_LOAD_ADDR + p->payload_size)
        return load_fail(err, LOAD_ERR_LINUX_HEADER,
                         "%s: code32_start %#" PRIx64 " is not inside the "
                         "kernel loaded at %#x", img->path, p->entry,
                         LINUX_LOAD_ADDR);
    return 0;
}

/* Where the kernel runs once decompressed: a relocatable kernel loaded at
 * 1 MiB moves up to its alignment, and never below pref_address (the head
 * code of arch/x86/boot/compressed does exactly this); it then needs
 * init_size bytes from there. */
static int plan_kernel(const struct kernel_image *img, struct linux_plan *p,
                       uint32_t ram_size, struct load_error *err)
{
    const uint8_t *d = img->data;
    uint64_t run = LINUX_LOAD_ADDR, init_size = 0;

    p->ram_end = ram_size > HIGH_MEMORY + FIRMWARE_TABLES_SIZE
                     ? ram_size - FIRMWARE_TABLES_SIZE
                     : HIGH_MEMORY;
    if (p->version >= 0x020a) { /* older headers say nothing about this */
        uint64_t pref = rd64(d + HDR_PREF_ADDRESS);
        init_size = rd32(d + HDR_INIT_SIZE);
        run = pref;
        if (d[HDR_RELOCATABLE]) {
            run = align_up(LINUX_LOAD_ADDR, rd32(d + HDR_KERNEL_ALIGNMENT));
            if (run < pref)
                run = pref;
        } else if (pref + init_size > p->ram_end) {
            return load_fail(err, LOAD_ERR_LINUX_MEMORY,
                             "%s: kernel is not relocatable and must run at "
                             "%#" PRIx64 "-%#" PRIx64 " (pref_address + "
                             "init_size), beyond the %" PRIu32 " MiB of RAM; "
                             "use -m %" PRIu64 " or more", img->path, pref,
                             pref + init_size, ram_size >> 20,
                             mib_needed(pref + init_size));
        }
    }
    p->run = run;
    p->init_size = init_size;
    p->kernel_end = LINUX_LOAD_ADDR + p->payload_size;
    if (run + init_size > p->kernel_end)
        p->kernel_end = run + init_size;
    if (p->kernel_end > p->ram_end)
        return load_fail(err, LOAD_ERR_LINUX_MEMORY,
                         "%s: kernel needs memory up to %#" PRIx64 " (%"
                         PRIu64 " bytes loaded at %#x, init_size %#" PRIx64
                         " from %#" PRIx64 "), more than the %" PRIu32
                         " MiB of RAM give; use -m %" PRIu64 " or more",
                         img->path, p->kernel_end, p->payload_size,
                         LINUX_LOAD_ADDR, init_size, run, ram_size >> 20,
                         mib_needed(p->kernel_end));
    return 0;
}

/* The initrd goes as high as it can: page aligned, below both the end of
 * usable RAM and initrd_addr_max, above everything the kernel needs. */
static int plan_initrd(const struct kernel_image *img,
                       const struct initrd_image *initrd,
                       struct linux_plan *p, struct load_error *err)
{
    if (!initrd)
        return 0;
    uint64_t limit = (uint64_t)rd32(img->data + HDR_INITRD_ADDR_MAX) + 1;
    if (limit > p->ram_end)
        limit = p->ram_end;
    p->initrd_size = initrd->size;
    if (initrd->size <= limit &&
        ((limit - initrd->size) & ~(uint64_t)(PAGE - 1)) >= p->kernel_end) {
        p->initrd_addr = (limit - initrd->size) & ~(uint64_t)(PAGE - 1);
        return 0;
    }
    return load_fail(err, LOAD_ERR_INITRD,
                     "%s: initrd %s (%zu bytes) does not fit between the "
                     "kernel (up to %#" PRIx64 ") and %#" PRIx64 " (end of "
                     "RAM or initrd_addr_max); use -m %" PRIu64 " or more",
                     img->path, initrd->path, initrd->size, p->kernel_end,
                     limit,
                     mib_needed(align_up(p->kernel_end + initrd->size, PAGE)));
}

static uint32_t write_e820(uint8_t *bp, uint32_t ram_size)
{
    const struct { uint64_t start, end; uint32_t type; } map[] = {
        { 0, EBDA_START, E820_RAM },
        { EBDA_START, LOW_MEMORY_END, E820_RESERVED },
        { BIOS_START, HIGH_MEMORY, E820_RESERVED },
        { HIGH_MEMORY, ram_size - FIRMWARE_TABLES_SIZE, E820_RAM },
        { ram_size - FIRMWARE_TABLES_SIZE, ram_size, E820_RESERVED },
        { BIOS_ROM_MIRROR, 0x100000000ull, E820_RESERVED },
    };
    uint32_t n = sizeof(map) / sizeof(map[0]);

    for (uint32_t i = 0; i < n; i++) {
        uint8_t *e = bp + BP_E820_TABLE + E820_ENTRY_SIZE * i;
        wr64(e, map[i].start);
        wr64(e + 8, map[i].end - map[i].start);
        wr32(e + 16, map[i].type);
    }
    bp[BP_E820_ENTRIES] = (uint8_t)n;
    return n;
}

/* The zero page as the real-mode setup code would leave it, minus what
 * needs a BIOS we do not have: no video mode (0 lines: the kernel keeps
 * off VGA), no EDD, no APM, no IST. */
static void write_boot_params(const struct kernel_image *img,
                              const struct linux_plan *p,
                              const struct boot_target *t)
{
    uint8_t *bp = t->ram + LINUX_BOOT_PARAMS_ADDR;
    uint32_t high_k = (uint32_t)((p->ram_end - HIGH_MEMORY) / 1024);

    memset(bp, 0, BOOT_PARAMS_SIZE);
    /* Only the setup header: the file's byte at 0x1ef is a nonzero
     * sentinel that would make the kernel distrust the whole page. */
    memcpy(bp + HDR_START, img->data + HDR_START, p->hdr_end - HDR_START);
    bp[BP_SENTINEL] = 0;

    /* KiB above 1 MiB, as INT 15h AH=88h (capped) and AX=E801h report */
    wr16(bp + BP_EXT_MEM_K, high_k < 0xfc00 ? high_k : 0xfc00);
    wr32(bp + BP_ALT_MEM_K, high_k);
    bp[BP_ORIG_VIDEO_LINES] = 0;
    bp[BP_ORIG_VIDEO_ISVGA] = 0;
    write_e820(bp, t->ram_size);

    bp[HDR_TYPE_OF_LOADER] = LINUX_TYPE_OF_LOADER;
    bp[HDR_LOADFLAGS] |= CAN_USE_HEAP;
    wr16(bp + HDR_HEAP_END_PTR, HEAP_END_PTR);
    wr32(bp + HDR_CMD_LINE_PTR, LINUX_CMDLINE_ADDR);
    wr32(bp + HDR_RAMDISK_IMAGE, (uint32_t)p->initrd_addr);
    wr32(bp + HDR_RAMDISK_SIZE, (uint32_t)p->initrd_size);
}

static void write_gdt(uint8_t *ram)
{
    uint8_t *gdt = ram + LINUX_GDT_ADDR;

    memset(gdt, 0, GDT_ENTRIES * 8);
    wr64(gdt + LINUX_BOOT_CS, GDT_CODE);
    wr64(gdt + LINUX_BOOT_DS, GDT_DATA);
}

int linux_load(const struct kernel_image *img,
               const struct initrd_image *initrd, const char *append,
               const struct boot_target *t, struct load_error *err)
{
    struct linux_plan p = { 0 };

    if (check_header(img, &p, err) < 0 ||
        plan_kernel(img, &p, t->ram_size, err) < 0 ||
        plan_initrd(img, initrd, &p, err) < 0)
        return -1;
    p.cmdline_len = strlen(append);
    uint32_t cmdline_size = rd32(img->data + HDR_CMDLINE_SIZE);
    if (p.cmdline_len > cmdline_size ||
        p.cmdline_len >= EBDA_START - LINUX_CMDLINE_ADDR)
        return load_fail(err, LOAD_ERR_CMDLINE,
                         "%s: kernel command line too long (%" PRIu64
                         " bytes; this kernel takes at most %" PRIu32 ")",
                         img->path, p.cmdline_len, cmdline_size);

    /* what the initrd's copy and the kernel's decompressor will write:
     * populated on the translator's helper thread meanwhile */
    if (t->bt && initrd && initrd->size)
        bt_prefault(t->bt, t->ram + p.initrd_addr, initrd->size);
    if (t->bt && p.init_size)
        bt_prefault(t->bt, t->ram + p.run, p.init_size);
    memcpy(t->ram + LINUX_LOAD_ADDR, img->data + p.setup_size,
           p.payload_size);
    memcpy(t->ram + LINUX_CMDLINE_ADDR, append, p.cmdline_len + 1);
    if (initrd && initrd->size)
        memcpy(t->ram + p.initrd_addr, initrd->data, initrd->size);
    write_boot_params(img, &p, t);
    write_gdt(t->ram);

    /* 32-bit boot protocol: flat protected mode, paging and interrupts
     * off, CS = __BOOT_CS, DS = ES = SS = __BOOT_DS (FS, GS too) with
     * our GDT loaded, ESI = zero page, EBP = EDI = EBX = 0. */
    struct cpu *cpu = t->cpu;
    bt_cpu_init_flat(cpu, t->ram, t->ram_size);
    cpu->gdtr.base = LINUX_GDT_ADDR;
    cpu->gdtr.limit = GDT_ENTRIES * 8 - 1;
    cpu->seg[S_CS].sel = LINUX_BOOT_CS;
    cpu->seg[S_DS].sel = cpu->seg[S_ES].sel = cpu->seg[S_SS].sel =
        LINUX_BOOT_DS;
    cpu->seg[S_FS].sel = cpu->seg[S_GS].sel = LINUX_BOOT_DS;
    cpu->eflags &= ~FL_IF;
    cpu->regs[R_ESI] = LINUX_BOOT_PARAMS_ADDR;
    cpu->regs[R_EBP] = cpu->regs[R_EDI] = cpu->regs[R_EBX] = 0;
    cpu->eip = (uint32_t)p.entry;
    return 0;
}
