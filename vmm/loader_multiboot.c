/* Multiboot v1 loader: validates the whole (untrusted) file first, then
 * copies segments into guest RAM, writes the boot information and sets
 * the CPU as QEMU's -kernel leaves it. */
#include "vmm/loader_multiboot.h"
#include "vmm/le.h"

#include <elf.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "bt/bt.h"

#define LOW_LIMIT 0x1000u           /* nothing loads into the first page */
#define EBDA_START 0x9fc00u
#define LOW_MEMORY_END 0xa0000u
#define BIOS_START 0xf0000u
#define HIGH_MEMORY 0x100000u
#define BIOS_ROM_MIRROR 0xfffc0000u
#define FIRMWARE_TABLES_SIZE 0x20000u  /* top of RAM, reserved as by SeaBIOS */

/* One contiguous range of the image to place in guest memory. All
 * quantities are 64-bit so sums of 32-bit file fields cannot wrap. */
struct segment {
    unsigned index;                 /* program header number (messages) */
    uint64_t addr, memsz;           /* guest-physical destination */
    uint64_t offset, filesz;        /* source bytes in the file */
};

struct plan {
    struct segment *segs;
    unsigned nsegs;
    uint64_t entry;
};

static size_t search_limit(const struct kernel_image *img)
{
    return img->size < MULTIBOOT_SEARCH_LIMIT ? img->size
                                              : MULTIBOOT_SEARCH_LIMIT;
}

bool multiboot_probe(const struct kernel_image *img)
{
    for (size_t i = 0; i + 4 <= search_limit(img); i += 4)
        if (rd32(img->data + i) == MULTIBOOT_HEADER_MAGIC)
            return true;
    return false;
}

/* The first header whose magic + flags + checksum sum to 0, as QEMU. */
static int find_header(const struct kernel_image *img, size_t *off,
                       struct load_error *err)
{
    size_t limit = search_limit(img);
    long bad = -1;

    for (size_t i = 0; i + 4 <= limit; i += 4) {
        if (rd32(img->data + i) != MULTIBOOT_HEADER_MAGIC)
            continue;
        if (i + 12 > limit) {
            if (bad < 0)
                return load_fail(err, LOAD_ERR_MB_HEADER,
                                 "%s: multiboot header at offset %#zx is cut "
                                 "off", img->path, i);
            break;
        }
        uint32_t sum = MULTIBOOT_HEADER_MAGIC + rd32(img->data + i + 4) +
                       rd32(img->data + i + 8);
        if (sum == 0) {
            *off = i;
            return 0;
        }
        if (bad < 0)
            bad = (long)i;
    }
    if (bad >= 0)
        return load_fail(err, LOAD_ERR_MB_CHECKSUM,
                         "%s: multiboot header at offset %#lx has a bad "
                         "checksum", img->path, bad);
    return load_fail(err, LOAD_ERR_FORMAT,
                     "%s: no multiboot header in the first 8192 bytes",
                     img->path);
}

/* ---- where the bytes come from: ELF program headers ... ---- */

static int plan_elf(const struct kernel_image *img, struct plan *p,
                    struct load_error *err)
{
    Elf32_Ehdr eh;

    if (img->size < EI_NIDENT || memcmp(img->data, ELFMAG, SELFMAG) != 0)
        return load_fail(err, LOAD_ERR_NOT_ELF,
                         "%s: not an ELF file (and its multiboot header gives "
                         "no load addresses)", img->path);
    if (img->data[EI_CLASS] != ELFCLASS32)
        return load_fail(err, LOAD_ERR_ELF_KIND,
                         "%s: not a 32-bit ELF file (ELF class %u); tpvm "
                         "boots ELF32 i386 kernels", img->path,
                         img->data[EI_CLASS]);
    if (img->size < sizeof(eh))
        return load_fail(err, LOAD_ERR_ELF_KIND,
                         "%s: ELF header cut off (file is %zu bytes)",
                         img->path, img->size);
    memcpy(&eh, img->data, sizeof(eh));
    if (eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_386)
        return load_fail(err, LOAD_ERR_ELF_KIND,
                         "%s: not an i386 ELF file (machine %u, data "
                         "encoding %u)", img->path, eh.e_machine,
                         eh.e_ident[EI_DATA]);
    if (eh.e_type != ET_EXEC)
        return load_fail(err, LOAD_ERR_ELF_KIND,
                         "%s: not an ELF executable (type %u)", img->path,
                         eh.e_type);
    if (eh.e_phnum == 0 || eh.e_phentsize != sizeof(Elf32_Phdr))
        return load_fail(err, LOAD_ERR_ELF_PHDRS,
                         "%s: no usable program headers (%u of size %u)",
                         img->path, eh.e_phnum, eh.e_phentsize);
    if ((uint64_t)eh.e_phoff + (uint64_t)eh.e_phnum * sizeof(Elf32_Phdr) >
        img->size)
        return load_fail(err, LOAD_ERR_ELF_PHDRS,
                         "%s: program headers at offset %#" PRIx32
                         " run past the end of the file", img->path,
                         eh.e_phoff);

    p->segs = calloc(eh.e_phnum, sizeof(*p->segs));
    if (!p->segs)
        return load_fail(err, LOAD_ERR_OPEN, "%s: out of memory", img->path);
    p->entry = eh.e_entry;
    bool entry_translated = false;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf32_Phdr ph;
        memcpy(&ph, img->data + eh.e_phoff + (size_t)i * sizeof(ph),
               sizeof(ph));
        if (ph.p_type != PT_LOAD || (ph.p_memsz == 0 && ph.p_filesz == 0))
            continue;
        p->segs[p->nsegs++] = (struct segment){
            .index = i, .addr = ph.p_paddr, .memsz = ph.p_memsz,
            .offset = ph.p_offset, .filesz = ph.p_filesz,
        };
        /* e_entry is virtual; when a code segment is linked away from
         * where it loads, move the entry with it (as QEMU's ELF loader). */
        if (!entry_translated && ph.p_vaddr != ph.p_paddr &&
            (ph.p_flags & PF_X) && eh.e_entry >= ph.p_vaddr &&
            (uint64_t)eh.e_entry < (uint64_t)ph.p_vaddr + ph.p_filesz) {
            p->entry = (uint64_t)eh.e_entry - ph.p_vaddr + ph.p_paddr;
            entry_translated = true;
        }
    }
    if (p->nsegs == 0)
        return load_fail(err, LOAD_ERR_NO_SEGMENTS,
                         "%s: no loadable (PT_LOAD) segments", img->path);
    return 0;
}

/* ---- ... or from the a.out kludge fields of the multiboot header ---- */

static int plan_aout(const struct kernel_image *img, size_t hdr, struct plan *p,
                     struct load_error *err)
{
    if (hdr + 32 > img->size)
        return load_fail(err, LOAD_ERR_MB_HEADER,
                         "%s: multiboot header at offset %#zx is cut off "
                         "before its load addresses", img->path, hdr);
    uint64_t header_addr = rd32(img->data + hdr + 12);
    uint64_t load_addr = rd32(img->data + hdr + 16);
    uint64_t load_end = rd32(img->data + hdr + 20);
    uint64_t bss_end = rd32(img->data + hdr + 24);
    uint64_t offset, load_size, mem_size;

    /* The header's own address fixes where the file starts loading. */
    if (header_addr < load_addr || header_addr - load_addr > hdr)
        return load_fail(err, LOAD_ERR_AOUT_ADDRS,
                         "%s: multiboot header_addr %#" PRIx64 " and "
                         "load_addr %#" PRIx64 " do not match the header's "
                         "file offset %#zx", img->path, header_addr,
                         load_addr, hdr);
    offset = hdr - (header_addr - load_addr);
    if (load_end == 0) {
        load_size = img->size - offset;
    } else if (load_end < load_addr) {
        return load_fail(err, LOAD_ERR_AOUT_ADDRS,
                         "%s: multiboot load_end_addr %#" PRIx64 " is below "
                         "load_addr %#" PRIx64, img->path, load_end,
                         load_addr);
    } else {
        load_size = load_end - load_addr;
    }
    if (bss_end == 0) {
        mem_size = load_size;
    } else if (bss_end < load_addr + load_size) {
        return load_fail(err, LOAD_ERR_AOUT_ADDRS,
                         "%s: multiboot bss_end_addr %#" PRIx64 " is below "
                         "the end of the loaded image", img->path, bss_end);
    } else {
        mem_size = bss_end - load_addr;
    }
    p->segs = calloc(1, sizeof(*p->segs));
    if (!p->segs)
        return load_fail(err, LOAD_ERR_OPEN, "%s: out of memory", img->path);
    p->segs[0] = (struct segment){
        .index = 0, .addr = load_addr, .memsz = mem_size,
        .offset = offset, .filesz = load_size,
    };
    p->nsegs = 1;
    p->entry = rd32(img->data + hdr + 28);
    return 0;
}

/* ---- checks common to both ---- */

static int by_addr(const void *a, const void *b)
{
    const struct segment *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int check_plan(const struct kernel_image *img, struct plan *p,
                      uint32_t ram_size, uint64_t info_end,
                      struct load_error *err)
{
    for (unsigned i = 0; i < p->nsegs; i++) {
        const struct segment *s = &p->segs[i];
        uint64_t end = s->addr + s->memsz;

        if (s->filesz > s->memsz)
            return load_fail(err, LOAD_ERR_SEG_SIZE,
                             "%s: segment %u: file size %#" PRIx64 " is larger "
                             "than its memory size %#" PRIx64, img->path,
                             s->index, s->filesz, s->memsz);
        if (s->offset > img->size || s->filesz > img->size - s->offset)
            return load_fail(err, LOAD_ERR_SEG_TRUNCATED,
                             "%s: segment %u: file bytes %#" PRIx64 "+%#" PRIx64
                             " run past the end of the file (%zu bytes); "
                             "truncated file?", img->path, s->index, s->offset,
                             s->filesz, img->size);
        if (end > 0x100000000ull)
            return load_fail(err, LOAD_ERR_SEG_OVERFLOW,
                             "%s: segment %u: %#" PRIx64 "+%#" PRIx64
                             " runs past 4 GiB", img->path, s->index, s->addr,
                             s->memsz);
        if (s->addr < LOW_LIMIT)
            return load_fail(err, LOAD_ERR_SEG_LOW,
                             "%s: segment %u: loads at %#" PRIx64 ", below "
                             "4 KiB", img->path, s->index, s->addr);
        if (end > ram_size)
            return load_fail(err, LOAD_ERR_SEG_OUTSIDE_RAM,
                             "%s: segment %u: %#" PRIx64 "-%#" PRIx64 " is "
                             "outside guest RAM (%u MiB; try a larger -m)",
                             img->path, s->index, s->addr, end - 1,
                             ram_size >> 20);
        if (s->addr < info_end && end > MB_MMAP_ADDR)
            return load_fail(err, LOAD_ERR_SEG_OVERLAP,
                             "%s: segment %u: %#" PRIx64 "-%#" PRIx64
                             " overlaps the boot information at %#x-%#" PRIx64,
                             img->path, s->index, s->addr, end - 1,
                             MB_MMAP_ADDR, info_end - 1);
    }
    qsort(p->segs, p->nsegs, sizeof(*p->segs), by_addr);
    for (unsigned i = 0; i + 1 < p->nsegs; i++) {
        const struct segment *a = &p->segs[i], *b = &p->segs[i + 1];
        if (a->addr + a->memsz > b->addr)
            return load_fail(err, LOAD_ERR_SEG_OVERLAP,
                             "%s: segments %u and %u overlap in memory",
                             img->path, a->index, b->index);
    }
    for (unsigned i = 0; i < p->nsegs; i++)
        if (p->entry >= p->segs[i].addr &&
            p->entry < p->segs[i].addr + p->segs[i].memsz)
            return 0;
    return load_fail(err, LOAD_ERR_ENTRY,
                     "%s: entry point %#" PRIx64 " is not inside a loaded "
                     "segment", img->path, p->entry);
}

/* ---- writing guest memory (only after every check passed) ---- */

/* The memory map QEMU 7.2 (with SeaBIOS) hands a Multiboot kernel, so a
 * guest sees the same numbers under both: SeaBIOS keeps the top 128 KiB of
 * RAM for its tables and the BIOS ROM is mirrored below 4 GiB. */
static uint32_t write_memory_map(uint8_t *ram, uint32_t ram_size)
{
    const struct { uint64_t start, end; uint32_t type; } map[] = {
        { 0, EBDA_START, MB_MEM_AVAILABLE },
        { EBDA_START, LOW_MEMORY_END, MB_MEM_RESERVED },
        { BIOS_START, HIGH_MEMORY, MB_MEM_RESERVED },
        { HIGH_MEMORY, ram_size - FIRMWARE_TABLES_SIZE, MB_MEM_AVAILABLE },
        { ram_size - FIRMWARE_TABLES_SIZE, ram_size, MB_MEM_RESERVED },
        { BIOS_ROM_MIRROR, 0x100000000ull, MB_MEM_RESERVED },
    };
    uint32_t n = sizeof(map) / sizeof(map[0]);

    for (uint32_t i = 0; i < n; i++) {
        uint8_t *e = ram + MB_MMAP_ADDR + MB_MMAP_ENTRY_SIZE * i;
        wr32(e, MB_MMAP_ENTRY_SIZE - 4); /* size does not count itself */
        wr64(e + 4, map[i].start);
        wr64(e + 12, map[i].end - map[i].start);
        wr32(e + 20, map[i].type);
    }
    return n * MB_MMAP_ENTRY_SIZE;
}

static void write_boot_info(const struct boot_target *t, const char *path,
                            const char *append)
{
    uint8_t *ram = t->ram;
    uint32_t mmap_length = write_memory_map(ram, t->ram_size);

    /* QEMU passes "<kernel path> <append>", even when append is empty. */
    uint32_t cmdline = MB_STRINGS_ADDR;
    int len = sprintf((char *)ram + cmdline, "%s %s", path, append);
    uint32_t name = cmdline + (uint32_t)len + 1;
    strcpy((char *)ram + name, MB_LOADER_NAME);

    uint8_t *info = ram + MB_INFO_ADDR;
    memset(info, 0, MB_INFO_SIZE);
    wr32(info + MBI_FLAGS, MB_INFO_FLAGS);
    wr32(info + MBI_MEM_LOWER, EBDA_START / 1024);
    wr32(info + MBI_MEM_UPPER,
         (t->ram_size - FIRMWARE_TABLES_SIZE - HIGH_MEMORY) / 1024);
    wr32(info + MBI_BOOT_DEVICE, MB_BOOT_DEVICE_NONE);
    wr32(info + MBI_CMDLINE, cmdline);
    wr32(info + MBI_MODS_COUNT, 0);
    wr32(info + MBI_MODS_ADDR, MB_INFO_ADDR + MB_INFO_SIZE); /* empty list */
    wr32(info + MBI_MMAP_LENGTH, mmap_length);
    wr32(info + MBI_MMAP_ADDR, MB_MMAP_ADDR);
    wr32(info + MBI_BOOT_LOADER_NAME, name);
}

int multiboot_load(const struct kernel_image *img, const char *append,
                   const struct boot_target *t, struct load_error *err)
{
    struct plan p = { 0 };
    size_t hdr = 0;
    int ret;

    if (find_header(img, &hdr, err) < 0)
        return -1;

    /* The strings decide how much of the boot area is used. */
    uint64_t strings = (uint64_t)strlen(img->path) + 1 + strlen(append) + 1 +
                       sizeof(MB_LOADER_NAME);
    if (strings > MB_AREA_END - MB_STRINGS_ADDR)
        return load_fail(err, LOAD_ERR_CMDLINE,
                         "%s: kernel command line too long (%" PRIu64 " bytes;"
                         " at most %u)", img->path, strings,
                         MB_AREA_END - MB_STRINGS_ADDR);
    uint64_t info_end = MB_STRINGS_ADDR + strings;

    if (rd32(img->data + hdr + 4) & MULTIBOOT_HDR_AOUT_KLUDGE)
        ret = plan_aout(img, hdr, &p, err);
    else
        ret = plan_elf(img, &p, err);
    if (ret == 0)
        ret = check_plan(img, &p, t->ram_size, info_end, err);
    if (ret < 0) {
        free(p.segs);
        return -1;
    }

    for (unsigned i = 0; i < p.nsegs; i++) {
        const struct segment *s = &p.segs[i];
        memcpy(t->ram + s->addr, img->data + s->offset, s->filesz);
        memset(t->ram + s->addr + s->filesz, 0, s->memsz - s->filesz);
    }
    write_boot_info(t, img->path, append);

    bt_cpu_init_flat(t->cpu, t->ram, t->ram_size);
    t->cpu->regs[R_EAX] = MULTIBOOT_BOOT_MAGIC;
    t->cpu->regs[R_EBX] = MB_INFO_ADDR;
    t->cpu->eip = (uint32_t)p.entry;
    free(p.segs);
    return 0;
}
