/* Unit tests for the Linux bzImage loader (vmm/loader_linux.c) and its
 * entry in the loader table: a synthetic bzImage lands at 1 MiB with a
 * zero page, command line, initrd, GDT and registers as boot.rst's 32-bit
 * boot protocol asks; every refused file gets its own error and leaves
 * guest memory alone. Offsets are written from boot.rst, not taken from
 * the loader, so the two are checked against each other. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bt/cpu.h"
#include "vmm/exit_status.h"
#include "vmm/loader.h"
#include "vmm/loader_linux.h"
#include "vmm/loader_multiboot.h"
#include "vmm/options.h"

#define RAM_SIZE (16u << 20)
#define RAM_END (RAM_SIZE - 0x20000u) /* below SeaBIOS's reserved tables */
#define POISON 0x55

/* The good kernel: 4 setup sectors after the boot sector, then a 0x3000
 * byte "protected-mode kernel" that must run at 4 MiB (pref_address) and
 * needs 3 MiB there (init_size). */
#define SETUP_SECTS 4
#define SETUP_SIZE ((SETUP_SECTS + 1) * 512)
#define PAYLOAD_SIZE 0x3000
#define PREF_ADDRESS 0x400000u
#define INIT_SIZE 0x300000u
#define KERNEL_END (PREF_ADDRESS + INIT_SIZE)
#define HDR_END 0x26c /* 0x202 + the jump's offset byte 0x6a */

/* boot_params / setup header offsets (Documentation/x86/boot.rst,
 * arch/x86/include/uapi/asm/bootparam.h). */
enum {
    O_EXT_MEM_K = 0x002, O_VIDEO_LINES = 0x00e, O_ISVGA = 0x00f,
    O_ALT_MEM_K = 0x1e0, O_E820_ENTRIES = 0x1e8, O_SENTINEL = 0x1ef,
    O_SETUP_SECTS = 0x1f1, O_SYSSIZE = 0x1f4, O_VID_MODE = 0x1fa,
    O_ROOT_DEV = 0x1fc, O_BOOT_FLAG = 0x1fe, O_JUMP = 0x200, O_MAGIC = 0x202,
    O_VERSION = 0x206, O_TYPE_OF_LOADER = 0x210, O_LOADFLAGS = 0x211,
    O_CODE32_START = 0x214, O_RAMDISK_IMAGE = 0x218, O_RAMDISK_SIZE = 0x21c,
    O_HEAP_END_PTR = 0x224, O_CMD_LINE_PTR = 0x228, O_INITRD_ADDR_MAX = 0x22c,
    O_KERNEL_ALIGNMENT = 0x230, O_RELOCATABLE = 0x234, O_CMDLINE_SIZE = 0x238,
    O_PREF_ADDRESS = 0x258, O_INIT_SIZE = 0x260, O_E820_TABLE = 0x2d0,
};

struct image {
    uint8_t *bytes;
    size_t size;
};

struct fixture {
    struct image img;
    struct image initrd;
    bool with_initrd;          /* pass initrd as --initrd */
    uint8_t *ram;
    struct cpu *cpu;
    char path[64], initrd_path[64];
};

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static struct image good_image(void)
{
    struct image im = { calloc(1, SETUP_SIZE + PAYLOAD_SIZE),
                        SETUP_SIZE + PAYLOAD_SIZE };
    uint8_t *b = im.bytes;

    b[O_SENTINEL] = 0xff;               /* as in every real bzImage */
    b[O_SETUP_SECTS] = SETUP_SECTS;
    put32(b + O_SYSSIZE, PAYLOAD_SIZE / 16);
    put16(b + O_VID_MODE, 0xffff);
    put16(b + O_ROOT_DEV, 0x0801);
    put16(b + O_BOOT_FLAG, 0xaa55);
    b[O_JUMP] = 0xeb;                   /* jmp short: header ends at */
    b[O_JUMP + 1] = HDR_END - 0x202;    /* 0x202 + this byte */
    memcpy(b + O_MAGIC, "HdrS", 4);
    put16(b + O_VERSION, 0x020f);
    b[O_LOADFLAGS] = 0x01;              /* LOADED_HIGH */
    put32(b + O_CODE32_START, 0x100000);
    put32(b + O_INITRD_ADDR_MAX, 0x7fffffff);
    put32(b + O_KERNEL_ALIGNMENT, 0x200000);
    b[O_RELOCATABLE] = 1;
    put32(b + O_CMDLINE_SIZE, 0x7ff);
    put64(b + O_PREF_ADDRESS, PREF_ADDRESS);
    put32(b + O_INIT_SIZE, INIT_SIZE);
    b[HDR_END] = 0xee;                  /* past the header: never copied */
    for (size_t i = 0; i < PAYLOAD_SIZE; i++)
        b[SETUP_SIZE + i] = (uint8_t)(i * 7 + 3);
    return im;
}

static struct image make_initrd(size_t size)
{
    struct image im = { malloc(size ? size : 1), size };
    for (size_t i = 0; i < size; i++)
        im.bytes[i] = (uint8_t)(i ^ 0xa5);
    return im;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->img = good_image();
    f->ram = malloc(RAM_SIZE);
    memset(f->ram, POISON, RAM_SIZE);
    f->cpu = calloc(1, sizeof(*f->cpu));
    strcpy(f->path, "/tmp/tpvm-bzimage-XXXXXX");
    strcpy(f->initrd_path, "/tmp/tpvm-initrd-XXXXXX");
    int fd = mkstemp(f->path), fd2 = mkstemp(f->initrd_path);
    if (fd < 0 || fd2 < 0)
        return -1;
    close(fd);
    close(fd2);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    unlink(f->path);
    unlink(f->initrd_path);
    free(f->img.bytes);
    free(f->initrd.bytes);
    free(f->ram);
    free(f->cpu);
    free(f);
    return 0;
}

static void write_file(const char *path, const struct image *im)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(im->bytes, 1, im->size, fp), im->size);
    fclose(fp);
}

/* Through the front door (loader_boot), from files, as tpvm does. */
static int load(struct fixture *f, const char *append, struct load_error *err)
{
    write_file(f->path, &f->img);
    if (f->with_initrd)
        write_file(f->initrd_path, &f->initrd);
    struct boot_target t = { .ram = f->ram, .ram_size = RAM_SIZE,
                             .cpu = f->cpu };
    struct boot_files files = {
        .kernel = f->path,
        .initrd = f->with_initrd ? f->initrd_path : NULL,
        .append = append,
    };
    return loader_boot(&files, &t, err);
}

static void with_initrd(struct fixture *f, size_t size)
{
    free(f->initrd.bytes);
    f->initrd = make_initrd(size);
    f->with_initrd = true;
}

static void ram_untouched(struct fixture *f)
{
    for (size_t i = 0; i < RAM_SIZE; i++)
        if (f->ram[i] != POISON)
            fail_msg("guest RAM written at %#zx by a refused kernel", i);
}

/* The load fails with status; the one-line message starts with prefix
 * (the file at fault) and contains fragment; guest memory is untouched. */
static void expect_error_from(struct fixture *f, const char *append,
                              enum load_status status, const char *prefix,
                              const char *fragment)
{
    struct load_error err;
    assert_int_equal(load(f, append, &err), -1);
    if (err.status != status)
        fail_msg("expected status %d, got %d: %s", status, err.status, err.msg);
    if (!strstr(err.msg, fragment))
        fail_msg("message \"%s\" lacks \"%s\"", err.msg, fragment);
    if (strncmp(err.msg, prefix, strlen(prefix)) != 0)
        fail_msg("message \"%s\" does not start with \"%s\"", err.msg, prefix);
    assert_null(strchr(err.msg, '\n'));
    ram_untouched(f);
}

static void expect_error(struct fixture *f, enum load_status status,
                         const char *fragment)
{
    expect_error_from(f, "", status, f->path, fragment);
}

static uint16_t ram16(struct fixture *f, uint32_t a)
{
    uint16_t v;
    memcpy(&v, f->ram + a, 2);
    return v;
}

static uint32_t ram32(struct fixture *f, uint32_t a)
{
    uint32_t v;
    memcpy(&v, f->ram + a, 4);
    return v;
}

static uint64_t ram64(struct fixture *f, uint32_t a)
{
    uint64_t v;
    memcpy(&v, f->ram + a, 8);
    return v;
}

static uint32_t bp(uint32_t off) { return LINUX_BOOT_PARAMS_ADDR + off; }

static void load_ok(struct fixture *f, const char *append)
{
    struct load_error err;
    if (load(f, append, &err) != 0)
        fail_msg("load failed: %s", err.msg);
}

/* ---- the good kernel ---- */

static void good_kernel_protected_mode_part_lands_at_1mib(void **state)
{
    struct fixture *f = *state;
    load_ok(f, "");
    assert_memory_equal(f->ram + 0x100000, f->img.bytes + SETUP_SIZE,
                        PAYLOAD_SIZE);
    assert_int_equal(f->ram[0x100000 - 1], POISON);
    assert_int_equal(f->ram[0x100000 + PAYLOAD_SIZE], POISON);
}

static void good_kernel_zero_page_has_the_file_header_and_loader_fields(
    void **state)
{
    struct fixture *f = *state;
    load_ok(f, "console=ttyS0 panic=-1");
    /* Header copied from 0x1f1 to its end, nothing after it. */
    assert_memory_equal(f->ram + bp(O_SETUP_SECTS),
                        f->img.bytes + O_SETUP_SECTS,
                        O_TYPE_OF_LOADER - O_SETUP_SECTS);
    assert_int_equal(ram16(f, bp(O_ROOT_DEV)), 0x0801);
    assert_int_equal(ram16(f, bp(O_VERSION)), 0x020f);
    assert_memory_equal(f->ram + bp(O_MAGIC), "HdrS", 4);
    assert_int_equal(f->ram[bp(HDR_END)], 0);
    /* The file's sentinel would make the kernel wipe the page. */
    assert_int_equal(f->ram[bp(O_SENTINEL)], 0);
    /* Set by the loader. */
    assert_int_equal(f->ram[bp(O_TYPE_OF_LOADER)], 0xff);
    /* LOADED_HIGH | CAN_USE_HEAP */
    assert_int_equal(f->ram[bp(O_LOADFLAGS)], 0x81);
    assert_int_equal(ram16(f, bp(O_HEAP_END_PTR)), 0xfe00);
    assert_int_equal(ram32(f, bp(O_CODE32_START)), 0x100000);
    assert_int_equal(ram32(f, bp(O_CMD_LINE_PTR)), LINUX_CMDLINE_ADDR);
    assert_string_equal((char *)f->ram + LINUX_CMDLINE_ADDR,
                        "console=ttyS0 panic=-1");
    assert_true(LINUX_CMDLINE_ADDR + 0x800 <= 0xa0000);
    /* No initrd. */
    assert_int_equal(ram32(f, bp(O_RAMDISK_IMAGE)), 0);
    assert_int_equal(ram32(f, bp(O_RAMDISK_SIZE)), 0);
    /* No text console: 0 lines keeps the kernel's vgacon off. */
    assert_int_equal(f->ram[bp(O_VIDEO_LINES)], 0);
    assert_int_equal(f->ram[bp(O_ISVGA)], 0);
    /* Memory above 1 MiB in KiB, up to the reserved tables. */
    assert_int_equal(ram32(f, bp(O_ALT_MEM_K)), (RAM_END - 0x100000) / 1024);
    assert_int_equal(ram16(f, bp(O_EXT_MEM_K)), (RAM_END - 0x100000) / 1024);
    /* The rest of the page is zero (e.g. ACPI RSDP address, EDD). */
    assert_int_equal(ram64(f, bp(0x070)), 0);
    assert_int_equal(f->ram[bp(0x1e9)], 0);
}

static void good_kernel_e820_map_matches_seabios(void **state)
{
    struct fixture *f = *state;
    static const struct { uint64_t addr, size; uint32_t type; } want[] = {
        { 0, 0x9fc00, 1 },
        { 0x9fc00, 0x400, 2 },
        { 0xf0000, 0x10000, 2 },
        { 0x100000, RAM_END - 0x100000, 1 },
        { RAM_END, 0x20000, 2 },
        { 0xfffc0000, 0x40000, 2 },
    };
    load_ok(f, "");
    assert_int_equal(f->ram[bp(O_E820_ENTRIES)], 6);
    for (unsigned i = 0; i < 6; i++) {
        uint32_t e = bp(O_E820_TABLE) + 20 * i;
        assert_int_equal(ram64(f, e), want[i].addr);
        assert_int_equal(ram64(f, e + 8), want[i].size);
        assert_int_equal(ram32(f, e + 16), want[i].type);
    }
    assert_int_equal(ram64(f, bp(O_E820_TABLE) + 20 * 6), 0);
}

static void good_kernel_starts_at_code32_start_with_boot_protocol_state(
    void **state)
{
    struct fixture *f = *state;
    load_ok(f, "");
    struct cpu *c = f->cpu;
    assert_int_equal(c->eip, 0x100000);
    assert_int_equal(c->regs[R_ESI], LINUX_BOOT_PARAMS_ADDR);
    assert_int_equal(c->regs[R_EBX], 0);
    assert_int_equal(c->regs[R_EBP], 0);
    assert_int_equal(c->regs[R_EDI], 0);
    assert_int_equal(c->eflags & FL_IF, 0);
    assert_int_equal(c->cr0 & (CR0_PE | CR0_PG), CR0_PE);
    assert_int_equal(c->seg[S_CS].sel, 0x10);
    assert_int_equal(c->seg[S_DS].sel, 0x18);
    assert_int_equal(c->seg[S_ES].sel, 0x18);
    assert_int_equal(c->seg[S_SS].sel, 0x18);
    for (int s = S_ES; s <= S_GS; s++) {
        assert_int_equal(c->seg[s].base, 0);
        assert_int_equal(c->seg[s].limit, 0xffffffffu);
    }
    assert_int_equal(c->gdtr.base, LINUX_GDT_ADDR);
    assert_true(c->gdtr.limit >= 0x1f);
}

/* The GDT in guest memory must agree with the cached segments: the
 * kernel's first segment loads read it. */
static void good_kernel_gdt_has_flat_boot_cs_and_ds(void **state)
{
    struct fixture *f = *state;
    load_ok(f, "");
    uint64_t cs = ram64(f, LINUX_GDT_ADDR + 0x10);
    uint64_t ds = ram64(f, LINUX_GDT_ADDR + 0x18);
    assert_int_equal(ram64(f, LINUX_GDT_ADDR), 0);
    for (int i = 0; i < 2; i++) {
        uint64_t d = i ? ds : cs;
        uint32_t base = (uint32_t)((d >> 16) & 0xffffff) |
                        (uint32_t)((d >> 56) & 0xff) << 24;
        uint32_t limit = (uint32_t)(d & 0xffff) |
                         (uint32_t)((d >> 48) & 0xf) << 16;
        assert_int_equal(base, 0);
        assert_int_equal(limit, 0xfffff);
        assert_int_equal((d >> 55) & 1, 1); /* G: 4 GiB */
        assert_int_equal((d >> 54) & 1, 1); /* D/B: 32-bit */
        assert_int_equal((d >> 47) & 1, 1); /* present */
        assert_int_equal((d >> 45) & 3, 0); /* DPL 0 */
    }
    assert_int_equal((cs >> 40) & 0x1e, 0x1a); /* code, execute/read */
    assert_int_equal((ds >> 40) & 0x1e, 0x12); /* data, read/write */
    assert_int_equal((cs >> 40) & 0xff, f->cpu->seg[S_CS].attr & 0xff);
    assert_int_equal((ds >> 40) & 0xff, f->cpu->seg[S_DS].attr & 0xff);
}

static void initrd_goes_page_aligned_to_the_top_of_usable_ram(void **state)
{
    struct fixture *f = *state;
    with_initrd(f, 0x12345);
    load_ok(f, "");
    uint32_t addr = (RAM_END - 0x12345) & ~0xfffu;
    assert_int_equal(ram32(f, bp(O_RAMDISK_IMAGE)), addr);
    assert_int_equal(ram32(f, bp(O_RAMDISK_SIZE)), 0x12345);
    assert_memory_equal(f->ram + addr, f->initrd.bytes, 0x12345);
    assert_int_equal(f->ram[addr - 1], POISON);
    assert_int_equal(f->ram[addr + 0x12345], POISON);
}

static void initrd_stays_below_initrd_addr_max(void **state)
{
    struct fixture *f = *state;
    put32(f->img.bytes + O_INITRD_ADDR_MAX, 0x9fffff); /* last usable byte */
    with_initrd(f, 0x2000);
    load_ok(f, "");
    assert_int_equal(ram32(f, bp(O_RAMDISK_IMAGE)), 0xa00000 - 0x2000);
}

static void setup_sects_zero_means_four(void **state)
{
    struct fixture *f = *state;
    f->img.bytes[O_SETUP_SECTS] = 0; /* same layout: 4 setup sectors */
    load_ok(f, "");
    assert_memory_equal(f->ram + 0x100000, f->img.bytes + SETUP_SIZE,
                        PAYLOAD_SIZE);
}

/* ---- refused files ---- */

static void truncated_bzimage_is_refused(void **state)
{
    struct fixture *f = *state;
    f->img.size -= 0x100; /* syssize promises more than is there */
    expect_error(f, LOAD_ERR_LINUX_TRUNCATED, "truncated bzImage");
}

static void bzimage_cut_inside_the_setup_header_is_refused(void **state)
{
    struct fixture *f = *state;
    f->img.size = 0x240; /* has "HdrS", lacks init_size */
    expect_error(f, LOAD_ERR_LINUX_HEADER, "cut off");
}

static void missing_boot_flag_is_refused(void **state)
{
    struct fixture *f = *state;
    put16(f->img.bytes + O_BOOT_FLAG, 0);
    expect_error(f, LOAD_ERR_LINUX_HEADER, "0xaa55");
}

static void boot_protocol_2_05_is_refused(void **state)
{
    struct fixture *f = *state;
    put16(f->img.bytes + O_VERSION, 0x0205);
    expect_error(f, LOAD_ERR_LINUX_VERSION, "protocol 2.05");
}

static void zimage_loaded_low_is_refused(void **state)
{
    struct fixture *f = *state;
    f->img.bytes[O_LOADFLAGS] = 0;
    expect_error(f, LOAD_ERR_LINUX_VERSION, "zImage");
}

static void kernel_needing_more_than_ram_is_refused(void **state)
{
    struct fixture *f = *state;
    put32(f->img.bytes + O_INIT_SIZE, RAM_SIZE); /* from 4 MiB: 20 MiB */
    expect_error(f, LOAD_ERR_LINUX_MEMORY, "use -m 21 or more");
}

static void non_relocatable_kernel_beyond_ram_is_refused(void **state)
{
    struct fixture *f = *state;
    f->img.bytes[O_RELOCATABLE] = 0;
    put64(f->img.bytes + O_PREF_ADDRESS, 0xf00000); /* + 3 MiB > 16 MiB */
    expect_error(f, LOAD_ERR_LINUX_MEMORY, "not relocatable");
}

static void relocatable_kernel_runs_no_lower_than_its_alignment(void **state)
{
    struct fixture *f = *state;
    /* Loaded at 1 MiB, 8 MiB aligned: runs at 8 MiB although pref is 4. */
    put32(f->img.bytes + O_KERNEL_ALIGNMENT, 0x800000);
    put32(f->img.bytes + O_INIT_SIZE, RAM_END - 0x800000 + 0x1000);
    expect_error(f, LOAD_ERR_LINUX_MEMORY, "from 0x800000");
}

static void initrd_too_large_for_ram_is_refused(void **state)
{
    struct fixture *f = *state;
    with_initrd(f, RAM_END - KERNEL_END + 1); /* would overlap the kernel */
    expect_error(f, LOAD_ERR_INITRD, "does not fit");
}

static void missing_initrd_file_is_refused(void **state)
{
    struct fixture *f = *state;
    write_file(f->path, &f->img);
    struct load_error err;
    struct boot_target t = { .ram = f->ram, .ram_size = RAM_SIZE,
                             .cpu = f->cpu };
    struct boot_files files = { .kernel = f->path,
                                .initrd = "/nonexistent/tpvm-initrd",
                                .append = "" };
    assert_int_equal(loader_boot(&files, &t, &err), -1);
    assert_int_equal(err.status, LOAD_ERR_OPEN);
    assert_string_equal(err.msg, "initrd /nonexistent/tpvm-initrd: cannot "
                                 "open: No such file or directory");
    ram_untouched(f);
}

static void command_line_longer_than_cmdline_size_is_refused(void **state)
{
    struct fixture *f = *state;
    put32(f->img.bytes + O_CMDLINE_SIZE, 8);
    expect_error_from(f, "123456789", LOAD_ERR_CMDLINE, f->path,
                      "at most 8");
}

static void command_line_of_exactly_cmdline_size_is_taken(void **state)
{
    struct fixture *f = *state;
    put32(f->img.bytes + O_CMDLINE_SIZE, 8);
    load_ok(f, "12345678");
    assert_string_equal((char *)f->ram + LINUX_CMDLINE_ADDR, "12345678");
}

static void initrd_with_a_multiboot_kernel_is_refused(void **state)
{
    struct fixture *f = *state;
    /* A file that only a Multiboot loader would claim. */
    memset(f->img.bytes, 0, f->img.size);
    put32(f->img.bytes, MULTIBOOT_HEADER_MAGIC);
    with_initrd(f, 16);
    expect_error(f, LOAD_ERR_INITRD, "--initrd is for Linux kernels");
}

/* ---- the command line that selects all this ---- */

static void options_take_initrd_and_no_reboot(void **state)
{
    (void)state;
    char *argv[] = { "tpvm", "--initrd", "rd.img", "--no-reboot",
                     "--append", "console=ttyS0", "vmlinuz", NULL };
    struct options o;
    FILE *null = fopen("/dev/null", "w");
    assert_int_equal(options_parse(&o, 7, argv, null, null), -1);
    assert_string_equal(o.initrd, "rd.img");
    assert_true(o.no_reboot);
    assert_string_equal(o.kernel, "vmlinuz");
    char *argv2[] = { "tpvm", "vmlinuz", NULL };
    assert_int_equal(options_parse(&o, 2, argv2, null, null), -1);
    assert_null(o.initrd);
    assert_false(o.no_reboot);
    char *argv3[] = { "tpvm", "--initrd", "", "vmlinuz", NULL };
    assert_int_equal(options_parse(&o, 4, argv3, null, null),
                     TPVM_EXIT_USAGE);
    fclose(null);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(good_kernel_protected_mode_part_lands_at_1mib),
        T(good_kernel_zero_page_has_the_file_header_and_loader_fields),
        T(good_kernel_e820_map_matches_seabios),
        T(good_kernel_starts_at_code32_start_with_boot_protocol_state),
        T(good_kernel_gdt_has_flat_boot_cs_and_ds),
        T(initrd_goes_page_aligned_to_the_top_of_usable_ram),
        T(initrd_stays_below_initrd_addr_max),
        T(setup_sects_zero_means_four),
        T(truncated_bzimage_is_refused),
        T(bzimage_cut_inside_the_setup_header_is_refused),
        T(missing_boot_flag_is_refused),
        T(boot_protocol_2_05_is_refused),
        T(zimage_loaded_low_is_refused),
        T(kernel_needing_more_than_ram_is_refused),
        T(non_relocatable_kernel_beyond_ram_is_refused),
        T(relocatable_kernel_runs_no_lower_than_its_alignment),
        T(initrd_too_large_for_ram_is_refused),
        T(missing_initrd_file_is_refused),
        T(command_line_longer_than_cmdline_size_is_refused),
        T(command_line_of_exactly_cmdline_size_is_taken),
        T(initrd_with_a_multiboot_kernel_is_refused),
        cmocka_unit_test(options_take_initrd_and_no_reboot),
    };
    return cmocka_run_group_tests_name("loader_linux", tests, NULL, NULL);
}
