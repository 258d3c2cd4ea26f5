/* Unit tests for the VMI option ROM (vmi-rom/vmi.S) and the monitor's back
 * end (vmm/vmi.c): the image as Linux parses it, then the ROM's own code
 * (Init, get_reloc, routines) run by the translator with the back end as
 * its hypercall, then the back end's checks called directly. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bt/bt.h"
#include "vmi-rom/vmi_abi.h"
#include "vmm/vmi.h"
#include "vmi_rom_offsets.h" /* generated: VMI_ROM_SYM_<symbol> offsets */

#ifndef VMI_ROM_TEST_FILE
#error "rom.mk passes the path of the built ROM"
#endif

/* Guest layout of the translator fixture: a hlt the ROM returns to, a
 * stack, a GDT (selectors as bt_cpu_init_flat: CS 0x10, data 0x18, plus a
 * TSS at 0x20 and an LDT at 0x28), the TSS, a page-table area. */
#define RAM_SIZE (2u << 20)
#define HLT_ADDR 0x8000u
#define STACK_TOP 0xA000u  /* caller's [ESP+4]; not on the hlt's page */
#define GDT_ADDR 0x7000u
#define TSS_ADDR 0x7400u
#define LDT_ADDR 0x7600u
#define PT_ADDR 0x10000u
#define ROM_BASE VMI_ROM_LOAD_ADDR

/* ---- the image as a file ---- */

static uint8_t rom[VMI_ROM_MAX_SIZE];
static size_t rom_size;

static int load_rom_file(void **state)
{
    (void)state;
    FILE *f = fopen(VMI_ROM_TEST_FILE, "rb");
    if (!f)
        return -1;
    rom_size = fread(rom, 1, sizeof rom, f);
    fclose(f);
    return rom_size > VMI_ROM_HEADER_SIZE ? 0 : -1;
}

static const struct vmi_rom_header *hdr(void)
{
    return (const struct vmi_rom_header *)rom;
}

static uint8_t sum8(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    while (n--)
        s = (uint8_t)(s + *p++);
    return s;
}

static void image_starts_55aa_and_is_rom_length_blocks(void **state)
{
    (void)state;
    assert_int_equal(rom[0], 0x55);
    assert_int_equal(rom[1], 0xAA);
    assert_true(hdr()->rom_length > 0);
    assert_int_equal(rom_size, hdr()->rom_length * 512u);
}

static void image_bytes_sum_to_zero(void **state)
{
    (void)state;
    assert_int_equal(sum8(rom, hdr()->rom_length * 512u), 0);
}

static void header_is_cvmi_api_3_0_reserving_nothing(void **state)
{
    (void)state;
    assert_memory_equal(rom + 8, "cVmi", 4);
    assert_int_equal(hdr()->vrom_signature, VMI_SIGNATURE);
    assert_int_equal(hdr()->api_version_maj, 3);
    assert_int_equal(hdr()->api_version_min, 0);
    assert_int_equal(hdr()->virtual_top, 0);
}

static void pci_data_names_vmware_vmi_device(void **state)
{
    (void)state;
    uint16_t off = hdr()->pci_header_offs;
    assert_true(off >= VMI_ROM_HEADER_SIZE);
    assert_true(off + sizeof(struct vmi_pci_header) <= rom_size);
    const struct vmi_pci_header *pci = (const void *)(rom + off);
    assert_memory_equal(pci->signature, "PCIR", 4);
    assert_int_equal(pci->vendor_id, 0x15AD);
    assert_int_equal(pci->device_id, 0x0801);
    assert_int_equal(pci->length, 24);
    assert_int_equal(pci->image_length, hdr()->rom_length);
    assert_int_equal(pci->rom_version_maj, 1);
    assert_int_equal(pci->rom_version_min, 0);
    assert_int_equal(pci->indicator & 0x80, 0x80);
}

static void pnp_header_names_tpvm_and_sums_to_zero(void **state)
{
    (void)state;
    uint16_t off = hdr()->pnp_header_offs;
    assert_true(off >= VMI_ROM_HEADER_SIZE);
    const struct vmi_pnp_header *pnp = (const void *)(rom + off);
    assert_memory_equal(pnp->signature, "$PnP", 4);
    assert_int_equal(sum8(rom + off, pnp->length * 16u), 0);
    assert_string_equal((const char *)rom + pnp->manufacturer_offs, "tpvm");
    assert_string_equal((const char *)rom + pnp->product_offs, "VMI ROM");
}

static void license_is_gpl_v2(void **state)
{
    (void)state;
    assert_int_not_equal(hdr()->license_offs, 0);
    assert_string_equal((const char *)rom + hdr()->license_offs, "GPL v2");
}

/* 0x80: E9 rel32 to Init; 0x88: E9 rel32 to get_reloc. */
static void entry_slots_hold_jumps_at_0x80_and_0x88(void **state)
{
    (void)state;
    assert_int_equal(VMI_ROM_SYM_vmi_init_entry, VMI_ROM_OFF_INIT);
    assert_int_equal(VMI_ROM_SYM_vmi_get_reloc_entry, VMI_ROM_OFF_GET_RELOC);
    assert_int_equal(rom[0x80], 0xE9);
    assert_int_equal(rom[0x88], 0xE9);
    int32_t rel;
    memcpy(&rel, rom + 0x89, 4);
    assert_true(0x8d + rel > VMI_ROM_HEADER_SIZE && 0x8d + rel < (int32_t)rom_size);
}

/* The table the ROM encodes: API 3.0 calls 0..73, each 8 bytes. */
static void reloc_table_covers_every_call_with_known_types(void **state)
{
    (void)state;
    const uint8_t *t = rom + VMI_ROM_SYM_reloc_table;
    for (unsigned i = 0; i < VMI_CALL_COUNT; i++) {
        uint32_t off;
        memcpy(&off, t + i * 8, 4);
        uint8_t type = t[i * 8 + 4];
        assert_true(type <= VMI_RELOCATION_NOP);
        if (type != VMI_RELOCATION_NONE)
            assert_true(off > VMI_ROM_HEADER_SIZE && off < rom_size);
    }
}

static void builtin_rom_is_the_built_file(void **state)
{
    (void)state;
    uint8_t *ram = calloc(1, RAM_SIZE);
    char err[200];
    assert_non_null(ram);
    assert_int_equal(vmi_rom_load(NULL, ram, RAM_SIZE, err, sizeof err), 0);
    assert_memory_equal(ram + VMI_ROM_LOAD_ADDR, rom, rom_size);
    free(ram);
}

static void rom_load_refuses_missing_file_and_small_ram(void **state)
{
    (void)state;
    uint8_t *ram = calloc(1, RAM_SIZE);
    char err[200];
    assert_non_null(ram);
    assert_int_equal(vmi_rom_load("/nonexistent/vmi.rom", ram, RAM_SIZE, err,
                                  sizeof err), -ENOENT);
    assert_non_null(strstr(err, "/nonexistent/vmi.rom"));
    assert_int_equal(vmi_rom_load(NULL, ram, VMI_ROM_LOAD_ADDR + 256, err,
                                  sizeof err), -ENOSPC);
    assert_int_equal(vmi_rom_load(VMI_ROM_TEST_FILE, ram, RAM_SIZE, err,
                                  sizeof err), 0);
    assert_memory_equal(ram + VMI_ROM_LOAD_ADDR, rom, rom_size);
    free(ram);
}

/* ---- the ROM's code run by the translator ---- */

struct fx {
    struct cpu *cpu;
    uint8_t *ram;
    struct bt *bt;
    struct vmi *vmi;
    struct bt_host host;
    unsigned shutdowns;
};

static uint32_t fx_io_in(void *o, uint16_t port, unsigned size)
{
    (void)o, (void)port, (void)size;
    return 0xffffffffu;
}

static void fx_io_out(void *o, uint16_t port, unsigned size, uint32_t val)
{
    (void)o, (void)port, (void)size, (void)val;
}

static uint32_t fx_mmio_read(void *o, uint32_t gpa, unsigned size)
{
    (void)o, (void)gpa, (void)size;
    return 0xffffffffu;
}

static void fx_mmio_write(void *o, uint32_t gpa, unsigned size, uint32_t val)
{
    (void)o, (void)gpa, (void)size, (void)val;
}

static void fx_hypercall(void *o, struct cpu *cpu)
{
    struct fx *f = o;
    vmi_hypercall(f->vmi, cpu);
}

static void fx_shutdown(void *o)
{
    struct fx *f = o;
    f->shutdowns++;
}

static void on_segv(int sig, siginfo_t *info, void *uctx)
{
    if (bt_handle_segv(info->si_addr, uctx))
        return;
    signal(sig, SIG_DFL);
    raise(sig);
}

static void put32(uint8_t *ram, uint32_t addr, uint32_t v)
{
    memcpy(ram + addr, &v, 4);
}

static uint32_t get32(const uint8_t *ram, uint32_t addr)
{
    uint32_t v;
    memcpy(&v, ram + addr, 4);
    return v;
}

/* Flat 4 GiB descriptor: type byte (0x9a code, 0x92 data, 0x89 TSS, 0x82
 * LDT); system segments get a byte-granular limit. */
static void put_desc(uint8_t *ram, unsigned index, uint32_t base,
                     uint32_t limit, uint8_t type, bool page_gran)
{
    uint32_t lo = (limit & 0xffffu) | base << 16;
    uint32_t hi = ((base >> 16) & 0xffu) | (uint32_t)type << 8 |
                  (limit & 0xf0000u) | (page_gran ? 0xc00000u : 0) |
                  (base & 0xff000000u);
    put32(ram, GDT_ADDR + index * 8, lo);
    put32(ram, GDT_ADDR + index * 8 + 4, hi);
}

static int fx_setup(void **state)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);

    struct fx *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->cpu = aligned_alloc(64, (sizeof *f->cpu + 63) & ~(size_t)63);
    f->ram = aligned_alloc(4096, RAM_SIZE);
    if (!f->cpu || !f->ram)
        return -1;
    memset(f->cpu, 0, sizeof *f->cpu);
    memset(f->ram, 0, RAM_SIZE);
    bt_cpu_init_flat(f->cpu, f->ram, RAM_SIZE);
    struct vmi_machine_ops ops = {.opaque = f, .shutdown = fx_shutdown};
    f->vmi = vmi_create(RAM_SIZE, &ops);
    f->bt = bt_create(NULL);
    if (!f->vmi || !f->bt)
        return -1;
    f->host = (struct bt_host){
        .opaque = f, .io_in = fx_io_in, .io_out = fx_io_out,
        .mmio_read = fx_mmio_read, .mmio_write = fx_mmio_write,
        .hypercall = fx_hypercall,
    };
    bt_attach(f->bt, f->cpu, &f->host);

    char err[200];
    if (vmi_rom_load(NULL, f->ram, RAM_SIZE, err, sizeof err))
        return -1;
    f->ram[HLT_ADDR] = 0xF4;
    put_desc(f->ram, 2, 0, 0xfffff, 0x9a, true);
    put_desc(f->ram, 3, 0, 0xfffff, 0x92, true);
    put_desc(f->ram, 4, TSS_ADDR, 0x67, 0x89, false);
    put_desc(f->ram, 5, LDT_ADDR, 0xf, 0x82, false);
    f->cpu->gdtr = (struct dtr){GDT_ADDR, 6 * 8 - 1};
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    bt_destroy(f->bt);
    vmi_destroy(f->vmi);
    free(f->cpu);
    free(f->ram);
    free(f);
    return 0;
}

/* Near-call eip with the registers given; the routine returns to a hlt.
 * Stack arguments (if any) are already at STACK_TOP. */
static void call_rom(struct fx *f, uint32_t eip, uint32_t eax, uint32_t edx,
                     uint32_t ecx)
{
    struct cpu *cpu = f->cpu;
    cpu->regs[R_EAX] = eax;
    cpu->regs[R_EDX] = edx;
    cpu->regs[R_ECX] = ecx;
    cpu->regs[R_EBX] = 0xB0B0B0B0u;
    cpu->regs[R_ESI] = 0x51515151u;
    cpu->regs[R_EDI] = 0xD1D1D1D1u;
    cpu->regs[R_EBP] = 0xBEBEBEBEu;
    cpu->regs[R_ESP] = STACK_TOP - 4;
    put32(f->ram, STACK_TOP - 4, HLT_ADDR);
    cpu->eip = eip;
    cpu->run = 1;
    int why = bt_run(cpu);
    if (why != BT_EXIT_HLT)
        fprintf(stderr, "bt_run: exit %d, vector %d error %#x at %#x\n", why,
                cpu->exc_vector, cpu->exc_error, cpu->exc_eip);
    assert_int_equal(why, BT_EXIT_HLT);
    assert_int_equal(cpu->eip, HLT_ADDR + 1);
    assert_int_equal(cpu->regs[R_ESP], STACK_TOP);
}

static void assert_callee_saved_kept(const struct cpu *cpu)
{
    assert_int_equal(cpu->regs[R_EBX], 0xB0B0B0B0u);
    assert_int_equal(cpu->regs[R_ESI], 0x51515151u);
    assert_int_equal(cpu->regs[R_EDI], 0xD1D1D1D1u);
    assert_int_equal(cpu->regs[R_EBP], 0xBEBEBEBEu);
}

static struct vmi_relocation_info get_reloc(struct fx *f, uint32_t call)
{
    call_rom(f, ROM_BASE + VMI_ROM_OFF_GET_RELOC, call, 0x5a5a5a5a, 0);
    assert_callee_saved_kept(f->cpu);
    struct vmi_relocation_info r = {.eip = f->cpu->regs[R_EAX]};
    assert_int_equal(f->cpu->regs[R_EDX] & ~0xffu, 0); /* reserved bytes */
    r.type = (uint8_t)f->cpu->regs[R_EDX];
    return r;
}

static uint32_t rom_routine(struct fx *f, uint32_t call)
{
    struct vmi_relocation_info r = get_reloc(f, call);
    assert_int_equal(r.type, VMI_RELOCATION_CALL_REL);
    return r.eip;
}

static void init_returns_0_through_the_monitor(void **state)
{
    struct fx *f = *state;
    assert_false(vmi_rom_active(f->vmi));
    call_rom(f, ROM_BASE + VMI_ROM_OFF_INIT, 0x1234, 0, 0);
    assert_int_equal(f->cpu->regs[R_EAX], 0);
    assert_callee_saved_kept(f->cpu);
    assert_int_equal(f->cpu->cpl, 0);
    assert_true(vmi_rom_active(f->vmi));
}

static void get_reloc_gives_call_rel_to_the_routine(void **state)
{
    struct fx *f = *state;
    static const struct { uint32_t call, sym; } cases[] = {
        {VMI_CALL_SetCR3, VMI_ROM_SYM_vmi_SetCR3},
        {VMI_CALL_SetPxE, VMI_ROM_SYM_vmi_SetPxE},
        {VMI_CALL_DisableInterrupts, VMI_ROM_SYM_vmi_DisableInterrupts},
        {VMI_CALL_GetCycleFrequency, VMI_ROM_SYM_vmi_GetCycleFrequency},
        {VMI_CALL_SetLazyMode, VMI_ROM_SYM_vmi_SetLazyMode},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct vmi_relocation_info r = get_reloc(f, cases[i].call);
        assert_int_equal(r.type, VMI_RELOCATION_CALL_REL);
        assert_int_equal(r.eip, ROM_BASE + cases[i].sym);
    }
}

static void get_reloc_gives_jump_rel_for_iret_and_sysexit(void **state)
{
    struct fx *f = *state;
    struct vmi_relocation_info r = get_reloc(f, VMI_CALL_IRET);
    assert_int_equal(r.type, VMI_RELOCATION_JUMP_REL);
    assert_int_equal(r.eip, ROM_BASE + VMI_ROM_SYM_vmi_IRET);
    assert_int_equal(f->ram[r.eip], 0xCF); /* iret */
    r = get_reloc(f, VMI_CALL_SYSEXIT);
    assert_int_equal(r.type, VMI_RELOCATION_JUMP_REL);
    assert_int_equal(f->ram[r.eip], 0xFB); /* sti, then sysexit */
    assert_int_equal(f->ram[r.eip + 1], 0x0F);
    assert_int_equal(f->ram[r.eip + 2], 0x35);
}

static void get_reloc_gives_nop_for_iodelay(void **state)
{
    struct fx *f = *state;
    assert_int_equal(get_reloc(f, VMI_CALL_IODelay).type, VMI_RELOCATION_NOP);
}

static void get_reloc_gives_none_for_unprovided_and_unknown_calls(void **state)
{
    struct fx *f = *state;
    static const uint32_t calls[] = {
        VMI_CALL_WRMSR, VMI_CALL_RDMSR, VMI_CALL_SetPxELong, VMI_CALL_INB,
        VMI_CALL_SetInitialAPState, VMI_CALL_APICWrite, VMI_CALL_SetCallbacks,
        VMI_CALL_COUNT, 0x80000000u, 0xffffffffu,
    };
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        struct vmi_relocation_info r = get_reloc(f, calls[i]);
        assert_int_equal(r.type, VMI_RELOCATION_NONE);
        assert_int_equal(r.eip, 0);
    }
}

/* The code answers what the table in the image says, for every call. */
static void get_reloc_agrees_with_the_encoded_table(void **state)
{
    struct fx *f = *state;
    const uint8_t *t = rom + VMI_ROM_SYM_reloc_table;
    for (uint32_t i = 0; i < VMI_CALL_COUNT; i++) {
        struct vmi_relocation_info r = get_reloc(f, i);
        assert_int_equal(r.type, t[i * 8 + 4]);
        if (r.type != VMI_RELOCATION_NONE)
            assert_int_equal(r.eip, ROM_BASE + get32(t, i * 8));
    }
}

/* The guest picks the address (Linux: PAGE_OFFSET + phys). */
static void get_reloc_follows_the_rom_to_another_address(void **state)
{
    struct fx *f = *state;
    const uint32_t base = 0xD0000;
    memcpy(f->ram + base, rom, rom_size);
    bt_invalidate_phys(f->bt, base, (uint32_t)rom_size);
    call_rom(f, base + VMI_ROM_OFF_GET_RELOC, VMI_CALL_SetCR0, 0, 0);
    assert_int_equal(f->cpu->regs[R_EAX], base + VMI_ROM_SYM_vmi_SetCR0);
    assert_int_equal(f->cpu->regs[R_EDX], VMI_RELOCATION_CALL_REL);
}

static void set_cr3_routine_loads_cr3_and_counts(void **state)
{
    struct fx *f = *state;
    uint32_t eip = rom_routine(f, VMI_CALL_SetCR3);
    call_rom(f, eip, 0x5000, 0, 0);
    assert_int_equal(f->cpu->cr3, 0x5000);
    assert_int_equal(f->cpu->regs[R_EAX], VMI_OK);
    assert_int_equal(f->cpu->regs[R_ECX], VMI_OK);
    assert_callee_saved_kept(f->cpu);
    assert_int_equal(vmi_get_stats(f->vmi)->calls[VMI_CALL_SetCR3], 1);
    assert_int_equal(vmi_get_stats(f->vmi)->set_cr3, 1);

    eip = rom_routine(f, VMI_CALL_GetCR3);
    call_rom(f, eip, 0, 0, 0);
    assert_int_equal(f->cpu->regs[R_EAX], 0x5000);
}

static void set_cr3_outside_ram_is_refused(void **state)
{
    struct fx *f = *state;
    call_rom(f, rom_routine(f, VMI_CALL_SetCR3), 0xfffff000u, 0, 0);
    assert_int_equal((int32_t)f->cpu->regs[R_EAX], VMI_ERR_BAD_ADDRESS);
    assert_int_equal((int32_t)f->cpu->regs[R_ECX], VMI_ERR_BAD_ADDRESS);
    assert_int_equal(f->cpu->cr3, 0);
    assert_int_equal(vmi_get_stats(f->vmi)->errors, 1);
}

static void set_pxe_routine_writes_the_entry(void **state)
{
    struct fx *f = *state;
    uint32_t eip = rom_routine(f, VMI_CALL_SetPxE);
    call_rom(f, eip, 0x00123067u, PT_ADDR + 8, VMI_PAGE_PT);
    assert_int_equal(f->cpu->regs[R_EAX], VMI_OK);
    assert_int_equal(get32(f->ram, PT_ADDR + 8), 0x00123067u);
    assert_callee_saved_kept(f->cpu);
    assert_int_equal(vmi_get_stats(f->vmi)->set_pxe, 1);
}

static void set_pxe_misaligned_or_outside_ram_is_refused(void **state)
{
    struct fx *f = *state;
    uint32_t eip = rom_routine(f, VMI_CALL_SetPxE);
    call_rom(f, eip, 0x1067, PT_ADDR + 2, VMI_PAGE_PT);
    assert_int_equal((int32_t)f->cpu->regs[R_EAX], VMI_ERR_ALIGN);
    assert_int_equal(get32(f->ram, PT_ADDR), 0);
    call_rom(f, eip, 0x1067, RAM_SIZE + 0x1000, VMI_PAGE_PT);
    assert_int_equal((int32_t)f->cpu->regs[R_EAX], VMI_ERR_BAD_ADDRESS);
    call_rom(f, eip, 0x1067, PT_ADDR, VMI_PAGE_PDP);
    assert_int_equal((int32_t)f->cpu->regs[R_EAX], VMI_ERR_INVALID);
    assert_int_equal(vmi_get_stats(f->vmi)->set_pxe, 0);
}

/* WriteGDTEntry: EAX base, EDX index, ECX low, [ESP+4] high. */
static void write_gdt_entry_takes_the_high_dword_from_the_stack(void **state)
{
    struct fx *f = *state;
    put32(f->ram, STACK_TOP, 0x00cf9300u);
    call_rom(f, rom_routine(f, VMI_CALL_WriteGDTEntry), 0x6000, 7, 0x0000ffffu);
    assert_int_equal(f->cpu->regs[R_EAX], VMI_OK);
    assert_int_equal(get32(f->ram, 0x6000 + 7 * 8), 0x0000ffffu);
    assert_int_equal(get32(f->ram, 0x6000 + 7 * 8 + 4), 0x00cf9300u);
    assert_callee_saved_kept(f->cpu);
}

static void set_tr_marks_busy_and_kernel_stack_goes_to_the_tss(void **state)
{
    struct fx *f = *state;
    call_rom(f, rom_routine(f, VMI_CALL_SetTR), 0x20, 0, 0);
    assert_int_equal(f->cpu->regs[R_EAX], VMI_OK);
    assert_int_equal(f->cpu->seg[S_TR].sel, 0x20);
    assert_int_equal(f->cpu->seg[S_TR].base, TSS_ADDR);
    assert_int_equal(f->cpu->seg[S_TR].limit, 0x67);
    assert_int_equal((f->ram[GDT_ADDR + 4 * 8 + 5]) & 0xf, 0xB); /* busy */

    call_rom(f, rom_routine(f, VMI_CALL_UpdateKernelStack), 0x18, 0x00123450, 0);
    assert_int_equal(f->cpu->regs[R_EAX], VMI_OK);
    assert_int_equal(get32(f->ram, TSS_ADDR + 4), 0x00123450);
    assert_int_equal(get32(f->ram, TSS_ADDR + 8) & 0xffff, 0x18);

    /* busy now: LTR would #GP, SetTR refuses */
    call_rom(f, rom_routine(f, VMI_CALL_SetTR), 0x20, 0, 0);
    assert_int_equal((int32_t)f->cpu->regs[R_EAX], VMI_ERR_INVALID);
    call_rom(f, rom_routine(f, VMI_CALL_GetTR), 0, 0, 0);
    assert_int_equal(f->cpu->regs[R_EAX], 0x20);
}

static void set_ldt_loads_ldt_descriptors_only(void **state)
{
    struct fx *f = *state;
    uint32_t eip = rom_routine(f, VMI_CALL_SetLDT);
    call_rom(f, eip, 0x28, 0, 0);
    assert_int_equal(f->cpu->regs[R_EAX], VMI_OK);
    assert_int_equal(f->cpu->seg[S_LDTR].base, LDT_ADDR);
    assert_int_equal(f->cpu->seg[S_LDTR].limit, 0xf);
    call_rom(f, eip, 0x18, 0, 0); /* a data segment */
    assert_int_equal((int32_t)f->cpu->regs[R_EAX], VMI_ERR_INVALID);
    call_rom(f, eip, 0x400, 0, 0); /* beyond the GDT limit */
    assert_int_equal((int32_t)f->cpu->regs[R_EAX], VMI_ERR_INVALID);
    call_rom(f, eip, 0, 0, 0);
    assert_int_equal(f->cpu->regs[R_EAX], VMI_OK);
    assert_int_equal(f->cpu->seg[S_LDTR].sel, 0);
}

static void set_and_get_gdt_round_trip(void **state)
{
    struct fx *f = *state;
    uint8_t want[6] = {0x7f, 0x00, 0x00, 0x30, 0x01, 0x00}; /* 0x7f @0x13000 */
    memcpy(f->ram + 0x5000, want, 6);
    call_rom(f, rom_routine(f, VMI_CALL_SetIDT), 0x5000, 0, 0);
    assert_int_equal(f->cpu->idtr.base, 0x13000);
    assert_int_equal(f->cpu->idtr.limit, 0x7f);
    call_rom(f, rom_routine(f, VMI_CALL_GetIDT), 0x5100, 0, 0);
    assert_memory_equal(f->ram + 0x5100, want, 6);
}

/* IF calls are the native instructions, and keep every register. */
static void interrupt_mask_routines_keep_all_registers(void **state)
{
    struct fx *f = *state;
    call_rom(f, rom_routine(f, VMI_CALL_EnableInterrupts), 0x11, 0x22, 0x33);
    assert_true(f->cpu->eflags & FL_IF);
    assert_int_equal(f->cpu->regs[R_EAX], 0x11);
    assert_int_equal(f->cpu->regs[R_EDX], 0x22);
    assert_int_equal(f->cpu->regs[R_ECX], 0x33);
    assert_callee_saved_kept(f->cpu);
    call_rom(f, rom_routine(f, VMI_CALL_GetInterruptMask), 0, 0x22, 0x33);
    assert_int_equal(f->cpu->regs[R_EAX] & FL_IF, FL_IF);
    call_rom(f, rom_routine(f, VMI_CALL_DisableInterrupts), 0x11, 0x22, 0x33);
    assert_false(f->cpu->eflags & FL_IF);
    assert_int_equal(f->cpu->regs[R_EAX], 0x11);
    call_rom(f, rom_routine(f, VMI_CALL_SetInterruptMask), 0x202, 0x22, 0x33);
    assert_true(f->cpu->eflags & FL_IF);
    assert_int_equal(f->cpu->regs[R_EDX], 0x22);
}

/* JUMP_REL IRET: the frame is at [ESP]. */
static void iret_routine_returns_through_the_frame(void **state)
{
    struct fx *f = *state;
    struct cpu *cpu = f->cpu;
    uint32_t eip = get_reloc(f, VMI_CALL_IRET).eip;
    put32(f->ram, STACK_TOP - 12, HLT_ADDR);
    put32(f->ram, STACK_TOP - 8, 0x10);
    put32(f->ram, STACK_TOP - 4, 0x202);
    cpu->regs[R_ESP] = STACK_TOP - 12;
    cpu->eip = eip;
    cpu->run = 1;
    assert_int_equal(bt_run(cpu), BT_EXIT_HLT);
    assert_int_equal(cpu->eip, HLT_ADDR + 1);
    assert_int_equal(cpu->regs[R_ESP], STACK_TOP);
    assert_true(cpu->eflags & FL_IF);
}

static void halt_routine_enables_interrupts_and_halts(void **state)
{
    struct fx *f = *state;
    struct cpu *cpu = f->cpu;
    uint32_t eip = rom_routine(f, VMI_CALL_Halt);
    cpu->eflags &= ~FL_IF;
    cpu->regs[R_ESP] = STACK_TOP - 4;
    put32(f->ram, STACK_TOP - 4, HLT_ADDR);
    cpu->eip = eip;
    cpu->run = 1;
    assert_int_equal(bt_run(cpu), BT_EXIT_HLT);
    assert_int_equal(cpu->eip, eip + 2); /* past sti; hlt */
    assert_true(cpu->eflags & FL_IF);
}

/* SetAlarm: EAX flags, EDX:ECX expiry, [ESP+4]:[ESP+8] period. */
static void periodic_alarm_fires_and_moves_past_now(void **state)
{
    struct fx *f = *state;
    assert_int_equal(vmi_alarm_deadline(f->vmi), VMI_NO_DEADLINE);
    put32(f->ram, STACK_TOP, 1000);
    put32(f->ram, STACK_TOP + 4, 0);
    call_rom(f, rom_routine(f, VMI_CALL_SetAlarm),
             VMI_ALARM_IS_PERIODIC | VMI_CYCLES_REAL, 0x5000, 0x1);
    assert_int_equal(f->cpu->regs[R_EAX], VMI_OK);
    assert_int_equal(vmi_alarm_deadline(f->vmi), 0x100005000ull);
    assert_int_equal(vmi_alarm_fire(f->vmi, 0x100004fffull), 0);
    assert_int_equal(vmi_alarm_fire(f->vmi, 0x100005000ull + 2500),
                     VMI_FIRED_IRQ0);
    assert_int_equal(vmi_alarm_deadline(f->vmi), 0x100005000ull + 3000);

    call_rom(f, rom_routine(f, VMI_CALL_CancelAlarm), VMI_CYCLES_REAL, 0, 0);
    assert_int_equal(f->cpu->regs[R_EAX], 1);
    assert_int_equal(vmi_alarm_deadline(f->vmi), VMI_NO_DEADLINE);
    call_rom(f, rom_routine(f, VMI_CALL_CancelAlarm), VMI_CYCLES_REAL, 0, 0);
    assert_int_equal(f->cpu->regs[R_EAX], 0);
}

static void oneshot_lvtt_alarm_fires_once(void **state)
{
    struct fx *f = *state;
    put32(f->ram, STACK_TOP, 777); /* a period, ignored without PERIODIC */
    put32(f->ram, STACK_TOP + 4, 0);
    call_rom(f, rom_routine(f, VMI_CALL_SetAlarm),
             VMI_ALARM_WIRED_LVTT | VMI_CYCLES_AVAILABLE, 100, 0);
    assert_int_equal(vmi_alarm_fire(f->vmi, 100), VMI_FIRED_LVTT);
    assert_int_equal(vmi_alarm_deadline(f->vmi), VMI_NO_DEADLINE);
    assert_int_equal(vmi_alarm_fire(f->vmi, 10000), 0);
    assert_int_equal(vmi_get_stats(f->vmi)->alarms_fired, 1);
}

static void cycle_counter_and_frequency_are_consistent(void **state)
{
    struct fx *f = *state;
    call_rom(f, rom_routine(f, VMI_CALL_GetCycleFrequency), 0, 0, 0);
    uint64_t hz = (uint64_t)f->cpu->regs[R_EDX] << 32 | f->cpu->regs[R_EAX];
    assert_true(hz >= 100000000ull && hz <= 10000000000ull);
    call_rom(f, rom_routine(f, VMI_CALL_GetCycleCounter), VMI_CYCLES_REAL, 0, 0);
    uint64_t c0 = (uint64_t)f->cpu->regs[R_EDX] << 32 | f->cpu->regs[R_EAX];
    call_rom(f, rom_routine(f, VMI_CALL_RDTSC), 0, 0, 0);
    uint64_t c1 = (uint64_t)f->cpu->regs[R_EDX] << 32 | f->cpu->regs[R_EAX];
    assert_true(c1 > c0);
    call_rom(f, rom_routine(f, VMI_CALL_GetCycleCounter), VMI_CYCLES_STOLEN, 0, 0);
    assert_int_equal(f->cpu->regs[R_EAX], 0);
    assert_int_equal(f->cpu->regs[R_EDX], 0);
    call_rom(f, rom_routine(f, VMI_CALL_GetCycleCounter), 7, 0, 0);
    assert_int_equal(f->cpu->regs[R_EAX], 0);
    assert_int_equal((int32_t)f->cpu->regs[R_ECX], VMI_ERR_INVALID);
}

/* ---- the back end called directly (hypercall registers per vmi_abi.h) ---- */

static void hypercall(struct fx *f, uint32_t nr, uint32_t a1, uint32_t a2,
                      uint32_t a3, uint32_t stack)
{
    struct cpu *cpu = f->cpu;
    cpu->regs[R_EAX] = nr;
    cpu->regs[R_EDX] = a1;
    cpu->regs[R_ECX] = a2;
    cpu->regs[R_EBX] = a3;
    cpu->regs[R_ESI] = stack;
    cpu->regs[R_EDI] = 0xD1D1D1D1u;
    vmi_hypercall(f->vmi, cpu);
    assert_int_equal(cpu->regs[R_EBX], a3);
    assert_int_equal(cpu->regs[R_ESI], stack);
    assert_int_equal(cpu->regs[R_EDI], 0xD1D1D1D1u);
}

static void unknown_or_unprovided_calls_answer_unimplemented(void **state)
{
    struct fx *f = *state;
    static const uint32_t nrs[] = {
        VMI_CALL_WRMSR, VMI_CALL_SetPxELong, VMI_CALL_Halt, VMI_CALL_IRET,
        VMI_CALL_COUNT, 0xdeadbeefu,
    };
    for (size_t i = 0; i < sizeof nrs / sizeof nrs[0]; i++) {
        hypercall(f, nrs[i], 1, 2, 3, 4);
        assert_int_equal((int32_t)f->cpu->regs[R_EAX], VMI_ERR_UNIMPLEMENTED);
        assert_int_equal((int32_t)f->cpu->regs[R_ECX], VMI_ERR_UNIMPLEMENTED);
    }
    /* CPUID needs a CPU model from the machine; this fixture has none */
    hypercall(f, VMI_CALL_CPUID, 0, 0, 0, 0);
    assert_int_equal((int32_t)f->cpu->regs[R_EAX], VMI_ERR_UNIMPLEMENTED);
    assert_int_equal(vmi_get_stats(f->vmi)->unimplemented, 7);
    /* Reboot without a machine callback */
    hypercall(f, VMI_CALL_Reboot, 1, 0, 0, 0);
    assert_int_equal((int32_t)f->cpu->regs[R_EAX], VMI_ERR_UNIMPLEMENTED);
}

static void hypercall_from_ring_3_changes_nothing(void **state)
{
    struct fx *f = *state;
    f->cpu->cpl = 3;
    hypercall(f, VMI_CALL_SetCR3, 0x3000, 0, 0, 0);
    f->cpu->cpl = 0;
    assert_int_equal((int32_t)f->cpu->regs[R_EAX], VMI_ERR_PRIVILEGE);
    assert_int_equal(f->cpu->cr3, 0);
    hypercall(f, VMI_CALL_Shutdown, 0, 0, 0, 0);
    assert_int_equal(f->cpu->regs[R_EAX], VMI_OK);
    assert_int_equal(f->shutdowns, 1);
}

static void set_cr0_checks_like_mov_to_cr0(void **state)
{
    struct fx *f = *state;
    hypercall(f, VMI_CALL_SetCR0, CR0_PG, 0, 0, 0); /* PG without PE */
    assert_int_equal((int32_t)f->cpu->regs[R_EAX], VMI_ERR_INVALID);
    hypercall(f, VMI_CALL_SetCR0, 0, 0, 0, 0); /* real mode */
    assert_int_equal((int32_t)f->cpu->regs[R_EAX], VMI_ERR_INVALID);
    f->cpu->cr3 = 0xfff00000u;
    hypercall(f, VMI_CALL_SetCR0, CR0_PE | CR0_PG, 0, 0, 0); /* PD not RAM */
    assert_int_equal((int32_t)f->cpu->regs[R_EAX], VMI_ERR_BAD_ADDRESS);
    assert_int_equal(f->cpu->cr0, CR0_PE | CR0_ET);
    hypercall(f, VMI_CALL_SetCR0, CR0_PE | CR0_TS, 0, 0, 0);
    assert_int_equal(f->cpu->cr0, CR0_PE | CR0_ET | CR0_TS);
    hypercall(f, VMI_CALL_CLTS, 0, 0, 0, 0);
    assert_int_equal(f->cpu->cr0, CR0_PE | CR0_ET);
    hypercall(f, VMI_CALL_SetCR4, CR4_PAE, 0, 0, 0);
    assert_int_equal((int32_t)f->cpu->regs[R_EAX], VMI_ERR_INVALID);
    hypercall(f, VMI_CALL_SetCR4, CR4_PSE, 0, 0, 0);
    assert_int_equal(f->cpu->cr4, CR4_PSE);
}

/* In lazy MMU mode, invalidations wait until the mode is left. */
static void lazy_mmu_mode_queues_until_left(void **state)
{
    struct fx *f = *state;
    const struct vmi_stats *s = vmi_get_stats(f->vmi);
    hypercall(f, VMI_CALL_SetLazyMode, VMI_LAZY_MODE_MMU_UPDATES, 0, 0, 0);
    for (uint32_t i = 0; i < 3; i++)
        hypercall(f, VMI_CALL_SetPxE, 0, PT_ADDR + 4 * i,
                  VMI_PAGE_PT | VMI_PAGE_CURRENT_AS | (0x400000u + i * 4096), 0);
    assert_int_equal(s->lazy_queued, 3);
    assert_int_equal(s->lazy_applied, 0);
    hypercall(f, VMI_CALL_SetLazyMode, VMI_LAZY_MODE_OFF, 0, 0, 0);
    assert_int_equal(s->lazy_applied, 1);
    assert_int_equal(s->lazy_enter, 1);
    assert_int_equal(s->lazy_leave, 1);
    /* outside lazy mode a current-AS update applies at once */
    hypercall(f, VMI_CALL_SetPxE, 0, PT_ADDR, VMI_PAGE_PT | VMI_PAGE_CURRENT_AS, 0);
    assert_int_equal(s->lazy_applied, 2);
    /* DEFER waits for the next flush */
    hypercall(f, VMI_CALL_SetPxE, 0, PT_ADDR,
              VMI_PAGE_PT | VMI_PAGE_CURRENT_AS | VMI_PAGE_DEFER, 0);
    assert_int_equal(s->lazy_applied, 2);
    hypercall(f, VMI_CALL_InvalPage, 0x400000, 0, 0, 0);
    assert_int_equal(s->lazy_applied, 3);
    hypercall(f, VMI_CALL_SetLazyMode, 3, 0, 0, 0);
    assert_int_equal((int32_t)f->cpu->regs[R_EAX], VMI_ERR_INVALID);
}

static void allocate_page_clone_copies_and_release_must_match(void **state)
{
    struct fx *f = *state;
    const uint32_t src = 0x20, dst = 0x21;
    for (uint32_t i = 0; i < 1024; i++)
        put32(f->ram, src * 4096 + i * 4, 0x1000u * i | 0x63);
    put32(f->ram, STACK_TOP, 768);      /* start */
    put32(f->ram, STACK_TOP + 4, 256);  /* count */
    hypercall(f, VMI_CALL_AllocatePage, dst, VMI_PAGE_L2 | VMI_PAGE_CLONE, src,
              STACK_TOP);
    assert_int_equal(f->cpu->regs[R_EAX], VMI_OK);
    assert_int_equal(get32(f->ram, dst * 4096 + 767 * 4), 0);
    assert_int_equal(get32(f->ram, dst * 4096 + 768 * 4), 0x300063u);
    assert_int_equal(get32(f->ram, dst * 4096 + 1023 * 4), 0x3ff063u);
    assert_int_equal(vmi_get_stats(f->vmi)->clone_entries, 256);

    hypercall(f, VMI_CALL_ReleasePage, dst, VMI_PAGE_L1, 0, 0);
    assert_int_equal((int32_t)f->cpu->regs[R_EAX], VMI_ERR_INVALID);
    hypercall(f, VMI_CALL_ReleasePage, dst, VMI_PAGE_L2, 0, 0);
    assert_int_equal(f->cpu->regs[R_EAX], VMI_OK);
    hypercall(f, VMI_CALL_ReleasePage, dst, VMI_PAGE_L2, 0, 0);
    assert_int_equal((int32_t)f->cpu->regs[R_EAX], VMI_ERR_INVALID);

    hypercall(f, VMI_CALL_AllocatePage, RAM_SIZE / 4096, VMI_PAGE_L1, 0, 0);
    assert_int_equal((int32_t)f->cpu->regs[R_EAX], VMI_ERR_BAD_ADDRESS);
    put32(f->ram, STACK_TOP, 1000);
    put32(f->ram, STACK_TOP + 4, 100); /* past entry 1023 */
    hypercall(f, VMI_CALL_AllocatePage, dst, VMI_PAGE_L2 | VMI_PAGE_CLONE, src,
              STACK_TOP);
    assert_int_equal((int32_t)f->cpu->regs[R_EAX], VMI_ERR_INVALID);
    hypercall(f, VMI_CALL_AllocatePage, dst, VMI_PAGE_L2 | VMI_PAGE_CLONE, src,
              0xfffffff0u); /* stack arguments not in RAM */
    assert_int_equal((int32_t)f->cpu->regs[R_EAX], VMI_ERR_BAD_ADDRESS);
}

static void linear_mapping_checks_slot_alignment_and_frames(void **state)
{
    struct fx *f = *state;
    put32(f->ram, STACK_TOP, 0);
    hypercall(f, VMI_CALL_SetLinearMapping, 0, 0xC0000000u, RAM_SIZE / 4096,
              STACK_TOP);
    assert_int_equal(f->cpu->regs[R_EAX], VMI_OK);
    hypercall(f, VMI_CALL_SetLinearMapping, 4, 0, 1, STACK_TOP);
    assert_int_equal((int32_t)f->cpu->regs[R_EAX], VMI_ERR_INVALID);
    hypercall(f, VMI_CALL_SetLinearMapping, 1, 0x1234, 1, STACK_TOP);
    assert_int_equal((int32_t)f->cpu->regs[R_EAX], VMI_ERR_ALIGN);
    hypercall(f, VMI_CALL_SetLinearMapping, 1, 0, RAM_SIZE / 4096 + 1,
              STACK_TOP);
    assert_int_equal((int32_t)f->cpu->regs[R_EAX], VMI_ERR_BAD_ADDRESS);
}

int main(void)
{
    const struct CMUnitTest image[] = {
        cmocka_unit_test(image_starts_55aa_and_is_rom_length_blocks),
        cmocka_unit_test(image_bytes_sum_to_zero),
        cmocka_unit_test(header_is_cvmi_api_3_0_reserving_nothing),
        cmocka_unit_test(pci_data_names_vmware_vmi_device),
        cmocka_unit_test(pnp_header_names_tpvm_and_sums_to_zero),
        cmocka_unit_test(license_is_gpl_v2),
        cmocka_unit_test(entry_slots_hold_jumps_at_0x80_and_0x88),
        cmocka_unit_test(reloc_table_covers_every_call_with_known_types),
        cmocka_unit_test(builtin_rom_is_the_built_file),
        cmocka_unit_test(rom_load_refuses_missing_file_and_small_ram),
    };
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
    const struct CMUnitTest rom_code[] = {
        T(init_returns_0_through_the_monitor),
        T(get_reloc_gives_call_rel_to_the_routine),
        T(get_reloc_gives_jump_rel_for_iret_and_sysexit),
        T(get_reloc_gives_nop_for_iodelay),
        T(get_reloc_gives_none_for_unprovided_and_unknown_calls),
        T(get_reloc_agrees_with_the_encoded_table),
        T(get_reloc_follows_the_rom_to_another_address),
        T(set_cr3_routine_loads_cr3_and_counts),
        T(set_cr3_outside_ram_is_refused),
        T(set_pxe_routine_writes_the_entry),
        T(set_pxe_misaligned_or_outside_ram_is_refused),
        T(write_gdt_entry_takes_the_high_dword_from_the_stack),
        T(set_tr_marks_busy_and_kernel_stack_goes_to_the_tss),
        T(set_ldt_loads_ldt_descriptors_only),
        T(set_and_get_gdt_round_trip),
        T(interrupt_mask_routines_keep_all_registers),
        T(iret_routine_returns_through_the_frame),
        T(halt_routine_enables_interrupts_and_halts),
        T(periodic_alarm_fires_and_moves_past_now),
        T(oneshot_lvtt_alarm_fires_once),
        T(cycle_counter_and_frequency_are_consistent),
    };
    const struct CMUnitTest backend[] = {
        T(unknown_or_unprovided_calls_answer_unimplemented),
        T(hypercall_from_ring_3_changes_nothing),
        T(set_cr0_checks_like_mov_to_cr0),
        T(lazy_mmu_mode_queues_until_left),
        T(allocate_page_clone_copies_and_release_must_match),
        T(linear_mapping_checks_slot_alignment_and_frames),
    };
#undef T
    int failed = cmocka_run_group_tests_name("vmi_rom_image", image,
                                             load_rom_file, NULL);
    failed += cmocka_run_group_tests_name("vmi_rom_code", rom_code,
                                          load_rom_file, NULL);
    failed += cmocka_run_group_tests_name("vmi_backend", backend, NULL, NULL);
    return failed ? 1 : 0;
}
