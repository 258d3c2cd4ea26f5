/* Unit tests for the kernel loader (vmm/loader.c, vmm/loader_multiboot.c):
 * a good Multiboot ELF lands at the right addresses with the right boot
 * information and registers; every broken file gets its own error; random
 * mutations of a good file never crash the loader. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bt/cpu.h"
#include "vmm/loader.h"
#include "vmm/loader_multiboot.h"

#define RAM_SIZE (4u << 20)
#define POISON 0x55

/* The good kernel, laid out by hand:
 *   0x000 ELF header            0x034 two program headers
 *   0x100 segment 0 (text, 0x40 bytes at 0x100000): multiboot header, code
 *   0x140 segment 1 (data, 0x10 bytes of file, 0x1000 of memory at 0x101000)
 */
#define TEXT_OFF 0x100
#define TEXT_SIZE 0x40
#define TEXT_ADDR 0x100000u
#define DATA_OFF 0x140
#define DATA_FILE 0x10
#define DATA_MEM 0x1000
#define DATA_ADDR 0x101000u
#define ENTRY (TEXT_ADDR + 12)
#define GOOD_SIZE (DATA_OFF + DATA_FILE)

struct image {
    uint8_t *bytes;
    size_t size;
};

struct fixture {
    struct image img;
    uint8_t *ram;
    struct cpu *cpu;
    char path[64];
};

static Elf32_Ehdr *ehdr(struct image *im) { return (Elf32_Ehdr *)im->bytes; }

static Elf32_Phdr *phdr(struct image *im, int i)
{
    return (Elf32_Phdr *)(im->bytes + sizeof(Elf32_Ehdr)) + i;
}

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

static void set_mb_header(uint8_t *p, uint32_t flags)
{
    put32(p, MULTIBOOT_HEADER_MAGIC);
    put32(p + 4, flags);
    put32(p + 8, -(MULTIBOOT_HEADER_MAGIC + flags));
}

static struct image good_image(size_t size)
{
    struct image im = { calloc(1, size), size };
    Elf32_Ehdr *e = ehdr(&im);

    memcpy(e->e_ident, ELFMAG, SELFMAG);
    e->e_ident[EI_CLASS] = ELFCLASS32;
    e->e_ident[EI_DATA] = ELFDATA2LSB;
    e->e_ident[EI_VERSION] = EV_CURRENT;
    e->e_type = ET_EXEC;
    e->e_machine = EM_386;
    e->e_version = EV_CURRENT;
    e->e_entry = ENTRY;
    e->e_phoff = sizeof(Elf32_Ehdr);
    e->e_ehsize = sizeof(Elf32_Ehdr);
    e->e_phentsize = sizeof(Elf32_Phdr);
    e->e_phnum = 2;
    *phdr(&im, 0) = (Elf32_Phdr){
        .p_type = PT_LOAD, .p_offset = TEXT_OFF, .p_vaddr = TEXT_ADDR,
        .p_paddr = TEXT_ADDR, .p_filesz = TEXT_SIZE, .p_memsz = TEXT_SIZE,
        .p_flags = PF_R | PF_X, .p_align = 0x1000,
    };
    *phdr(&im, 1) = (Elf32_Phdr){
        .p_type = PT_LOAD, .p_offset = DATA_OFF, .p_vaddr = DATA_ADDR,
        .p_paddr = DATA_ADDR, .p_filesz = DATA_FILE, .p_memsz = DATA_MEM,
        .p_flags = PF_R | PF_W, .p_align = 0x1000,
    };
    set_mb_header(im.bytes + TEXT_OFF, 0x00000003); /* page align, mem info */
    /* Code at the entry: cli; hlt; then a recognisable pattern. */
    im.bytes[TEXT_OFF + 12] = 0xfa;
    im.bytes[TEXT_OFF + 13] = 0xf4;
    for (int i = 14; i < TEXT_SIZE; i++)
        im.bytes[TEXT_OFF + i] = (uint8_t)(0x80 + i);
    for (int i = 0; i < DATA_FILE; i++)
        im.bytes[DATA_OFF + i] = (uint8_t)(0xd0 + i);
    return im;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->img = good_image(GOOD_SIZE);
    f->ram = malloc(RAM_SIZE);
    memset(f->ram, POISON, RAM_SIZE);
    f->cpu = calloc(1, sizeof(*f->cpu));
    strcpy(f->path, "/tmp/tpvm-kernel-XXXXXX");
    int fd = mkstemp(f->path);
    if (fd < 0)
        return -1;
    close(fd);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    unlink(f->path);
    free(f->img.bytes);
    free(f->ram);
    free(f->cpu);
    free(f);
    return 0;
}

/* Write the (possibly broken) image to the temp file and load it. */
static int load(struct fixture *f, const char *append, struct load_error *err)
{
    FILE *fp = fopen(f->path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(f->img.bytes, 1, f->img.size, fp), f->img.size);
    fclose(fp);
    struct boot_target t = { .ram = f->ram, .ram_size = RAM_SIZE, .cpu = f->cpu };
    return loader_load(f->path, append, &t, err);
}

static void ram_untouched(struct fixture *f)
{
    for (size_t i = 0; i < RAM_SIZE; i++)
        if (f->ram[i] != POISON)
            fail_msg("guest RAM written at %#zx by a refused kernel", i);
}

/* Loads f's image expecting status; the message names the file and is one
 * line; nothing reached guest memory. */
static void expect_error(struct fixture *f, enum load_status status,
                         const char *fragment)
{
    struct load_error err;
    assert_int_equal(load(f, "", &err), -1);
    if (err.status != status)
        fail_msg("expected status %d, got %d: %s", status, err.status, err.msg);
    if (!strstr(err.msg, fragment))
        fail_msg("message \"%s\" lacks \"%s\"", err.msg, fragment);
    assert_int_equal(strncmp(err.msg, f->path, strlen(f->path)), 0);
    assert_null(strchr(err.msg, '\n'));
    ram_untouched(f);
}

static uint32_t ram32(struct fixture *f, uint32_t addr)
{
    uint32_t v;
    memcpy(&v, f->ram + addr, 4);
    return v;
}

static uint64_t ram64(struct fixture *f, uint32_t addr)
{
    uint64_t v;
    memcpy(&v, f->ram + addr, 8);
    return v;
}

/* ---- the good kernel ---- */

static void good_kernel_segments_land_at_their_physical_addresses(void **state)
{
    struct fixture *f = *state;
    struct load_error err;
    assert_int_equal(load(f, "", &err), 0);
    assert_memory_equal(f->ram + TEXT_ADDR, f->img.bytes + TEXT_OFF, TEXT_SIZE);
    assert_memory_equal(f->ram + DATA_ADDR, f->img.bytes + DATA_OFF, DATA_FILE);
    /* bss: the rest of segment 1 is zeroed ... */
    for (uint32_t a = DATA_ADDR + DATA_FILE; a < DATA_ADDR + DATA_MEM; a++)
        assert_int_equal(f->ram[a], 0);
    /* ... and nothing around the segments is touched. */
    assert_int_equal(f->ram[TEXT_ADDR - 1], POISON);
    assert_int_equal(f->ram[TEXT_ADDR + TEXT_SIZE], POISON);
    assert_int_equal(f->ram[DATA_ADDR + DATA_MEM], POISON);
}

static void good_kernel_starts_with_multiboot_registers(void **state)
{
    struct fixture *f = *state;
    struct load_error err;
    assert_int_equal(load(f, "", &err), 0);
    assert_int_equal(f->cpu->eip, ENTRY);
    assert_int_equal(f->cpu->regs[R_EAX], 0x2badb002);
    assert_int_equal(f->cpu->regs[R_EBX], MB_INFO_ADDR);
    /* bt_cpu_init_flat: flat protected mode, paging off, IF clear. */
    assert_int_equal(f->cpu->cr0 & (CR0_PE | CR0_PG), CR0_PE);
    assert_int_equal(f->cpu->eflags & FL_IF, 0);
    assert_int_equal(f->cpu->seg[S_CS].base, 0);
    assert_int_equal(f->cpu->seg[S_DS].limit, 0xffffffffu);
    assert_ptr_equal(f->cpu->ram, f->ram);
    assert_int_equal(f->cpu->ram_size, RAM_SIZE);
}

static void boot_info_reports_memory_like_qemu(void **state)
{
    struct fixture *f = *state;
    struct load_error err;
    assert_int_equal(load(f, "", &err), 0);
    uint32_t mbi = MB_INFO_ADDR;
    assert_int_equal(ram32(f, mbi + MBI_FLAGS), 0x24f);
    assert_int_equal(ram32(f, mbi + MBI_MEM_LOWER), 639);
    /* QEMU+SeaBIOS keep the top 128 KiB: 4 MiB - 1 MiB - 128 KiB. */
    assert_int_equal(ram32(f, mbi + MBI_MEM_UPPER), 3072 - 128);
    assert_int_equal(ram32(f, mbi + MBI_BOOT_DEVICE), 0x8000ffff);
    assert_int_equal(ram32(f, mbi + MBI_MODS_COUNT), 0);
    assert_int_equal(ram32(f, mbi + MBI_MMAP_ADDR), MB_MMAP_ADDR);
    assert_int_equal(ram32(f, mbi + MBI_MMAP_LENGTH), 6 * 24);

    static const struct { uint64_t base, len; uint32_t type; } want[] = {
        { 0, 0x9fc00, 1 },
        { 0x9fc00, 0x400, 2 },
        { 0xf0000, 0x10000, 2 },
        { 0x100000, RAM_SIZE - 0x100000 - 0x20000, 1 },
        { RAM_SIZE - 0x20000, 0x20000, 2 },
        { 0xfffc0000, 0x40000, 2 },
    };
    for (uint32_t i = 0; i < 6; i++) {
        uint32_t e = MB_MMAP_ADDR + 24 * i;
        assert_int_equal(ram32(f, e), 20);
        assert_int_equal(ram64(f, e + 4), want[i].base);
        assert_int_equal(ram64(f, e + 12), want[i].len);
        assert_int_equal(ram32(f, e + 20), want[i].type);
    }
}

static void cmdline_is_path_space_append_and_loader_is_tpvm(void **state)
{
    struct fixture *f = *state;
    struct load_error err;
    char want[128];
    assert_int_equal(load(f, "console=ttyS0 quiet", &err), 0);
    snprintf(want, sizeof(want), "%s console=ttyS0 quiet", f->path);
    assert_string_equal((char *)f->ram + ram32(f, MB_INFO_ADDR + MBI_CMDLINE),
                        want);
    assert_string_equal(
        (char *)f->ram + ram32(f, MB_INFO_ADDR + MBI_BOOT_LOADER_NAME), "tpvm");
}

static void empty_append_leaves_trailing_space_like_qemu(void **state)
{
    struct fixture *f = *state;
    struct load_error err;
    char want[128];
    assert_int_equal(load(f, "", &err), 0);
    snprintf(want, sizeof(want), "%s ", f->path);
    assert_string_equal((char *)f->ram + ram32(f, MB_INFO_ADDR + MBI_CMDLINE),
                        want);
}

static void virtual_entry_moves_with_its_code_segment(void **state)
{
    struct fixture *f = *state;
    struct load_error err;
    /* Linked at 3 GiB, loaded at 1 MiB: entry is virtual. */
    phdr(&f->img, 0)->p_vaddr = 0xc0000000u + TEXT_ADDR;
    ehdr(&f->img)->e_entry = 0xc0000000u + ENTRY;
    assert_int_equal(load(f, "", &err), 0);
    assert_int_equal(f->cpu->eip, ENTRY);
}

static void aout_kludge_loads_from_header_addresses(void **state)
{
    struct fixture *f = *state;
    struct load_error err;
    /* A flat binary: header at file offset 0x20, loaded at 0x200000. */
    uint8_t *b = calloc(1, 0x100);
    for (int i = 0; i < 0x100; i++)
        b[i] = (uint8_t)i;
    set_mb_header(b + 0x20, MULTIBOOT_HDR_AOUT_KLUDGE);
    put32(b + 0x2c, 0x200020);      /* header_addr */
    put32(b + 0x30, 0x200000);      /* load_addr */
    put32(b + 0x34, 0x200080);      /* load_end_addr: 0x80 bytes */
    put32(b + 0x38, 0x200200);      /* bss_end_addr */
    put32(b + 0x3c, 0x200040);      /* entry */
    free(f->img.bytes);
    f->img = (struct image){ b, 0x100 };
    assert_int_equal(load(f, "", &err), 0);
    assert_memory_equal(f->ram + 0x200000, b, 0x80);
    for (uint32_t a = 0x200080; a < 0x200200; a++)
        assert_int_equal(f->ram[a], 0);
    assert_int_equal(f->ram[0x200200], POISON);
    assert_int_equal(f->cpu->eip, 0x200040);
}

/* ---- every refusal has its own status ---- */

static void missing_file_is_refused(void **state)
{
    struct fixture *f = *state;
    struct load_error err;
    struct boot_target t = { .ram = f->ram, .ram_size = RAM_SIZE, .cpu = f->cpu };
    assert_int_equal(loader_load("/nonexistent/kernel.elf", "", &t, &err), -1);
    assert_int_equal(err.status, LOAD_ERR_OPEN);
    assert_non_null(strstr(err.msg, "/nonexistent/kernel.elf: cannot open"));
    assert_int_equal(loader_load("/tmp", "", &t, &err), -1);
    assert_int_equal(err.status, LOAD_ERR_OPEN);
    assert_non_null(strstr(err.msg, "not a regular file"));
}

static void file_without_multiboot_header_is_refused(void **state)
{
    struct fixture *f = *state;
    memset(f->img.bytes + TEXT_OFF, 0, 12);
    expect_error(f, LOAD_ERR_FORMAT, "no multiboot header");
}

static void empty_file_is_refused(void **state)
{
    struct fixture *f = *state;
    f->img.size = 0;
    expect_error(f, LOAD_ERR_FORMAT, "no multiboot header");
}

static void header_past_8192_bytes_is_not_found(void **state)
{
    struct fixture *f = *state;
    uint8_t *b = calloc(1, 0x2100);
    memcpy(b, f->img.bytes, GOOD_SIZE);
    memset(b + TEXT_OFF, 0, 12);
    set_mb_header(b + 0x2000, 0);
    free(f->img.bytes);
    f->img = (struct image){ b, 0x2100 };
    expect_error(f, LOAD_ERR_FORMAT, "first 8192 bytes");
}

static void header_cut_by_the_8192_byte_limit_is_refused(void **state)
{
    struct fixture *f = *state;
    uint8_t *b = calloc(1, 0x2100);
    memcpy(b, f->img.bytes, GOOD_SIZE);
    memset(b + TEXT_OFF, 0, 12);
    set_mb_header(b + 0x1ffc, 0); /* magic fits, flags and checksum do not */
    free(f->img.bytes);
    f->img = (struct image){ b, 0x2100 };
    expect_error(f, LOAD_ERR_MB_HEADER, "cut off");
}

static void misaligned_header_is_not_found(void **state)
{
    struct fixture *f = *state;
    uint8_t hdr[12];
    memcpy(hdr, f->img.bytes + TEXT_OFF, 12);
    memset(f->img.bytes + TEXT_OFF, 0, 12);
    memcpy(f->img.bytes + TEXT_OFF + 2, hdr, 12);
    expect_error(f, LOAD_ERR_FORMAT, "no multiboot header");
}

static void bad_checksum_is_refused(void **state)
{
    struct fixture *f = *state;
    f->img.bytes[TEXT_OFF + 8] ^= 1;
    expect_error(f, LOAD_ERR_MB_CHECKSUM, "bad checksum");
}

static void non_elf_without_aout_kludge_is_refused(void **state)
{
    struct fixture *f = *state;
    f->img.bytes[1] = 'X';
    expect_error(f, LOAD_ERR_NOT_ELF, "not an ELF file");
}

static void elf64_is_refused(void **state)
{
    struct fixture *f = *state;
    f->img.bytes[EI_CLASS] = ELFCLASS64;
    expect_error(f, LOAD_ERR_ELF_KIND, "not a 32-bit ELF");
}

static void non_i386_machine_is_refused(void **state)
{
    struct fixture *f = *state;
    ehdr(&f->img)->e_machine = EM_X86_64;
    expect_error(f, LOAD_ERR_ELF_KIND, "not an i386 ELF");
}

static void big_endian_is_refused(void **state)
{
    struct fixture *f = *state;
    f->img.bytes[EI_DATA] = ELFDATA2MSB;
    expect_error(f, LOAD_ERR_ELF_KIND, "not an i386 ELF");
}

static void shared_object_is_refused(void **state)
{
    struct fixture *f = *state;
    ehdr(&f->img)->e_type = ET_DYN;
    expect_error(f, LOAD_ERR_ELF_KIND, "not an ELF executable");
}

static void missing_program_headers_are_refused(void **state)
{
    struct fixture *f = *state;
    ehdr(&f->img)->e_phnum = 0;
    expect_error(f, LOAD_ERR_ELF_PHDRS, "no usable program headers");
}

static void program_headers_past_end_of_file_are_refused(void **state)
{
    struct fixture *f = *state;
    ehdr(&f->img)->e_phoff = 0xfffffff0u;
    expect_error(f, LOAD_ERR_ELF_PHDRS, "past the end of the file");
}

static void no_pt_load_is_refused(void **state)
{
    struct fixture *f = *state;
    phdr(&f->img, 0)->p_type = PT_NOTE;
    phdr(&f->img, 1)->p_type = PT_GNU_STACK;
    expect_error(f, LOAD_ERR_NO_SEGMENTS, "no loadable");
}

static void filesz_larger_than_memsz_is_refused(void **state)
{
    struct fixture *f = *state;
    phdr(&f->img, 1)->p_memsz = DATA_FILE - 1;
    expect_error(f, LOAD_ERR_SEG_SIZE, "segment 1: file size");
}

static void truncated_file_is_refused(void **state)
{
    struct fixture *f = *state;
    f->img.size = GOOD_SIZE - 1;
    expect_error(f, LOAD_ERR_SEG_TRUNCATED, "segment 1: file bytes");
}

static void segment_offset_near_4g_does_not_wrap(void **state)
{
    struct fixture *f = *state;
    phdr(&f->img, 1)->p_offset = 0xfffffff8u;
    expect_error(f, LOAD_ERR_SEG_TRUNCATED, "past the end of the file");
}

static void segment_wrapping_past_4g_is_refused(void **state)
{
    struct fixture *f = *state;
    phdr(&f->img, 1)->p_paddr = 0xfffff000u;
    phdr(&f->img, 1)->p_memsz = 0x2000;
    expect_error(f, LOAD_ERR_SEG_OVERFLOW, "past 4 GiB");
}

static void segment_below_4k_is_refused(void **state)
{
    struct fixture *f = *state;
    phdr(&f->img, 1)->p_paddr = 0x800;
    expect_error(f, LOAD_ERR_SEG_LOW, "below 4 KiB");
}

static void segment_outside_ram_is_refused(void **state)
{
    struct fixture *f = *state;
    phdr(&f->img, 1)->p_paddr = RAM_SIZE - 0x800; /* memsz 0x1000 */
    expect_error(f, LOAD_ERR_SEG_OUTSIDE_RAM, "outside guest RAM");
}

static void overlapping_segments_are_refused(void **state)
{
    struct fixture *f = *state;
    phdr(&f->img, 1)->p_paddr = TEXT_ADDR + TEXT_SIZE - 1;
    expect_error(f, LOAD_ERR_SEG_OVERLAP, "segments 0 and 1 overlap");
}

static void segment_over_boot_information_is_refused(void **state)
{
    struct fixture *f = *state;
    phdr(&f->img, 1)->p_paddr = 0x8800; /* 0x8800-0x97ff covers 0x9000 */
    expect_error(f, LOAD_ERR_SEG_OVERLAP, "boot information");
}

static void entry_outside_segments_is_refused(void **state)
{
    struct fixture *f = *state;
    ehdr(&f->img)->e_entry = 0x200000;
    expect_error(f, LOAD_ERR_ENTRY, "entry point 0x200000");
}

static void inconsistent_aout_addresses_are_refused(void **state)
{
    struct fixture *f = *state;
    uint8_t *b = calloc(1, 0x100);
    set_mb_header(b + 0x20, MULTIBOOT_HDR_AOUT_KLUDGE);
    put32(b + 0x2c, 0x200000);      /* header_addr below load_addr */
    put32(b + 0x30, 0x200020);
    put32(b + 0x3c, 0x200040);
    free(f->img.bytes);
    f->img = (struct image){ b, 0x100 };
    expect_error(f, LOAD_ERR_AOUT_ADDRS, "header_addr");
}

static void overlong_command_line_is_refused(void **state)
{
    struct fixture *f = *state;
    struct load_error err;
    size_t n = MB_AREA_END - MB_STRINGS_ADDR;
    char *append = malloc(n + 1);
    memset(append, 'a', n);
    append[n] = 0;
    assert_int_equal(load(f, append, &err), -1);
    assert_int_equal(err.status, LOAD_ERR_CMDLINE);
    ram_untouched(f);
    /* The longest that fits still boots. */
    append[n - strlen(f->path) - 2 - sizeof(MB_LOADER_NAME)] = 0;
    assert_int_equal(load(f, append, &err), 0);
    free(append);
}

/* ---- robustness: the file is untrusted ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

/* 10,000 mutants of the good kernel (bit flips, interesting values in the
 * header fields, truncation) go straight to the Multiboot loader. Under
 * ASan/UBSan this also proves every access stays in bounds. Each must load
 * or be refused with a status; loaded ones must start inside RAM. */
static void random_mutations_never_crash(void **state)
{
    struct fixture *f = *state;
    static const uint32_t interesting[] = {
        0, 1, 0x7f, 0x80, 0xff, 0x1000, 0x7fffffff, 0x80000000u,
        0xfffffff0u, 0xffffffffu, RAM_SIZE, RAM_SIZE - 1, 0x9000, 0x100000,
    };
    uint8_t *buf = malloc(GOOD_SIZE + 64);
    unsigned loaded = 0, refused = 0;
    struct boot_target t = { .ram = f->ram, .ram_size = RAM_SIZE, .cpu = f->cpu };

    for (int iter = 0; iter < 10000; iter++) {
        size_t size = GOOD_SIZE;
        memcpy(buf, f->img.bytes, GOOD_SIZE);
        int edits = 1 + (int)(rnd() % 6);
        for (int e = 0; e < edits; e++) {
            switch (rnd() % 4) {
            case 0: /* flip a bit anywhere */
                if (size)
                    buf[rnd() % size] ^= (uint8_t)(1u << (rnd() % 8));
                break;
            case 1: /* an interesting 32-bit value at an aligned offset of
                       the headers (ELF, program headers, multiboot) */
                put32(buf + 4 * (rnd() % ((TEXT_OFF + 12) / 4)),
                      interesting[rnd() % (sizeof(interesting) /
                                           sizeof(interesting[0]))]);
                break;
            case 2: /* truncate */
                size = rnd() % (size + 1);
                break;
            case 3: /* keep the multiboot checksum valid after edits */
                if (size >= TEXT_OFF + 12) {
                    uint32_t flags;
                    memcpy(&flags, buf + TEXT_OFF + 4, 4);
                    put32(buf + TEXT_OFF + 8,
                          -(MULTIBOOT_HEADER_MAGIC + flags));
                }
                break;
            }
        }
        struct kernel_image img = { "fuzz.elf", buf, size };
        struct load_error err = { 0 };
        if (!multiboot_probe(&img)) {
            refused++;
            continue;
        }
        if (multiboot_load(&img, "fuzz", &t, &err) == 0) {
            loaded++;
            assert_true(f->cpu->eip < RAM_SIZE);
            assert_int_equal(err.status, LOAD_OK);
        } else {
            refused++;
            assert_true(err.status > LOAD_OK &&
                        err.status <= LOAD_ERR_CMDLINE);
            assert_true(err.msg[0] != 0);
        }
    }
    free(buf);
    /* The mutator must exercise both outcomes to mean anything. */
    assert_true(loaded > 100);
    assert_true(refused > 1000);
    print_message("fuzz: %u loaded, %u refused\n", loaded, refused);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(good_kernel_segments_land_at_their_physical_addresses),
        T(good_kernel_starts_with_multiboot_registers),
        T(boot_info_reports_memory_like_qemu),
        T(cmdline_is_path_space_append_and_loader_is_tpvm),
        T(empty_append_leaves_trailing_space_like_qemu),
        T(virtual_entry_moves_with_its_code_segment),
        T(aout_kludge_loads_from_header_addresses),
        T(missing_file_is_refused),
        T(file_without_multiboot_header_is_refused),
        T(empty_file_is_refused),
        T(header_past_8192_bytes_is_not_found),
        T(header_cut_by_the_8192_byte_limit_is_refused),
        T(misaligned_header_is_not_found),
        T(bad_checksum_is_refused),
        T(non_elf_without_aout_kludge_is_refused),
        T(elf64_is_refused),
        T(non_i386_machine_is_refused),
        T(big_endian_is_refused),
        T(shared_object_is_refused),
        T(missing_program_headers_are_refused),
        T(program_headers_past_end_of_file_are_refused),
        T(no_pt_load_is_refused),
        T(filesz_larger_than_memsz_is_refused),
        T(truncated_file_is_refused),
        T(segment_offset_near_4g_does_not_wrap),
        T(segment_wrapping_past_4g_is_refused),
        T(segment_below_4k_is_refused),
        T(segment_outside_ram_is_refused),
        T(overlapping_segments_are_refused),
        T(segment_over_boot_information_is_refused),
        T(entry_outside_segments_is_refused),
        T(inconsistent_aout_addresses_are_refused),
        T(overlong_command_line_is_refused),
        T(random_mutations_never_crash),
    };
    return cmocka_run_group_tests_name("loader_multiboot", tests, NULL, NULL);
}
