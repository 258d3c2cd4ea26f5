/* minios: finding the VMI ROM exactly as Linux 2.6.21-2.6.36 did
 * (shared/docs/vmi-abi.md §1), calling its Init, and binding the pv-ops
 * to the routines get_reloc names (§3): pointers filled, recorded call
 * sites patched into direct calls/jumps or NOPs, native code kept for
 * NONE. Runs first, with paging off (the ROM is read at its physical
 * address). */
#include "minios.h"
#include "pvops.h"
#include "vmi_abi.h"

void pv_nop(void); /* native.S */

/* How each pv-op may be bound. */
enum pv_kind {
    PV_CALL,      /* called (site or pointer); CALL_REL, NOP or NONE */
    PV_CALL_RET,  /* the same, but has a result: NOP is not usable */
    PV_JUMP,      /* iret: reached by jmp; CALL_REL or JUMP_REL required */
    PV_TIMER,     /* the timer group: all CALL_REL, or not used at all */
};

static const struct {
    const char *name;
    uint16_t offset;
    uint8_t call;
    uint8_t kind;
} ops[] = {
#define OP(member, vmi, kind) \
    {#member, __builtin_offsetof(struct pv_ops, member), VMI_CALL_##vmi, kind}
    OP(iret, IRET, PV_JUMP),
    OP(irq_disable, DisableInterrupts, PV_CALL),
    OP(irq_enable, EnableInterrupts, PV_CALL),
    OP(save_fl, GetInterruptMask, PV_CALL_RET),
    OP(restore_fl, SetInterruptMask, PV_CALL),
    OP(safe_halt, Halt, PV_CALL),
    OP(read_cr0, GetCR0, PV_CALL_RET),
    OP(read_cr2, GetCR2, PV_CALL_RET),
    OP(read_cr3, GetCR3, PV_CALL_RET),
    OP(write_cr0, SetCR0, PV_CALL),
    OP(write_cr3, SetCR3, PV_CALL),
    OP(set_pte, SetPxE, PV_CALL),
    OP(flush_tlb, FlushTLB, PV_CALL),
    OP(invlpg, InvalPage, PV_CALL),
    OP(load_esp0, UpdateKernelStack, PV_CALL),
    OP(lazy_mode, SetLazyMode, PV_CALL),
    OP(io_delay, IODelay, PV_CALL),
    OP(load_gdt, SetGDT, PV_CALL),
    OP(load_idt, SetIDT, PV_CALL),
    OP(load_tr, SetTR, PV_CALL),
    OP(write_gdt_entry, WriteGDTEntry, PV_CALL),
    OP(write_idt_entry, WriteIDTEntry, PV_CALL),
    OP(alloc_page, AllocatePage, PV_CALL),
    OP(release_page, ReleasePage, PV_CALL),
    OP(set_linear_mapping, SetLinearMapping, PV_CALL),
    OP(cycle_frequency, GetCycleFrequency, PV_TIMER),
    OP(cycle_counter, GetCycleCounter, PV_TIMER),
    OP(set_alarm, SetAlarm, PV_TIMER),
    OP(cancel_alarm, CancelAlarm, PV_TIMER),
    OP(wallclock, GetWallclockTime, PV_TIMER),
#undef OP
};
#define NOPS (sizeof ops / sizeof ops[0])

typedef uint32_t rom_init_fn(void);
typedef __attribute__((regparm(1))) uint64_t rom_get_reloc_fn(uint32_t call);

extern const uint32_t __start_pvsites[], __stop_pvsites[];

static int streq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

/* Linux's acceptance tests, in order, with its messages. */
static bool rom_acceptable(const uint8_t *rom)
{
    const struct vmi_rom_header *h = (const void *)rom;
    const char *manufacturer = "UNKNOWN", *product = "UNKNOWN";
    const char *license = "unspecified";

    if (h->rom_signature != VMI_ROM_SIGNATURE || h->vrom_signature != VMI_SIGNATURE)
        return false;
    if (h->api_version_maj != VMI_API_REV_MAJOR) {
        printf("minios: VMI: found mismatched rom version %u.%u\n",
               h->api_version_maj, h->api_version_min);
        return false;
    }
    if (!h->pci_header_offs) {
        printf("minios: VMI: ROM does not contain PCI header\n");
        return false;
    }
    const struct vmi_pci_header *pci = (const void *)(rom + h->pci_header_offs);
    if (pci->vendor_id != VMI_PCI_VENDOR_VMWARE ||
        pci->device_id != VMI_PCI_DEVICE_VMI)
        printf("minios: VMI: ROM from unknown manufacturer\n"); /* still used */
    if (h->pnp_header_offs) {
        const struct vmi_pnp_header *pnp = (const void *)(rom + h->pnp_header_offs);
        if (pnp->manufacturer_offs)
            manufacturer = (const char *)rom + pnp->manufacturer_offs;
        if (pnp->product_offs)
            product = (const char *)rom + pnp->product_offs;
    }
    if (h->license_offs)
        license = (const char *)rom + h->license_offs;
    printf("minios: VMI: found %s %s, API version %u.%u, ROM version %u.%u\n",
           manufacturer, product, h->api_version_maj, h->api_version_min,
           pci->rom_version_maj, pci->rom_version_min);
    if (!streq(license, "GPL") && !streq(license, "GPL v2")) {
        printf("minios: VMI: non GPL license `%s' found for ROM, not used\n",
               license);
        return false;
    }
    return true;
}

static const uint8_t *rom_find(void)
{
    for (uint32_t a = VMI_ROM_SCAN_START; a < VMI_ROM_SCAN_END; a += VMI_ROM_SCAN_STEP)
        if (rom_acceptable((const uint8_t *)a))
            return (const uint8_t *)a;
    return NULL;
}

static int op_by_offset(uint32_t offset)
{
    for (unsigned i = 0; i < NOPS; i++)
        if (ops[i].offset == offset)
            return (int)i;
    return -1;
}

static void **slot(unsigned i)
{
    return (void **)((uint8_t *)&pv_ops + ops[i].offset);
}

/* Rewrite one 6-byte `call/jmp *abs32` site. */
static void patch_site(uint8_t *site, uint8_t type, uint32_t eip,
                       struct pv_bind_stats *st)
{
    switch (type) {
    case VMI_RELOCATION_NONE:
        st->native++;
        return;
    case VMI_RELOCATION_NOP:
        for (int i = 0; i < 6; i++)
            site[i] = 0x90;
        st->nops++;
        return;
    case VMI_RELOCATION_CALL_REL:
    case VMI_RELOCATION_JUMP_REL: {
        uint32_t rel = eip - ((uint32_t)site + 5);
        site[0] = type == VMI_RELOCATION_CALL_REL ? 0xE8 : 0xE9;
        memcpy(site + 1, &rel, 4);
        site[5] = 0x90;
        if (type == VMI_RELOCATION_CALL_REL)
            st->calls++;
        else
            st->jumps++;
        return;
    }
    }
}

/* Ask get_reloc about every op and check each answer fits before
 * changing anything: a ROM that does not fit is not used at all (Linux
 * would BUG()). */
static bool bind(const uint8_t *rom, struct pv_bind_stats *st)
{
    rom_get_reloc_fn *get_reloc = (rom_get_reloc_fn *)(rom + VMI_ROM_OFF_GET_RELOC);
    struct vmi_relocation_info rel[NOPS];
    bool timer = true;

    for (unsigned i = 0; i < NOPS; i++) {
        uint64_t r = get_reloc(ops[i].call);
        rel[i].eip = (uint32_t)r;
        rel[i].type = (uint8_t)(r >> 32);
        uint8_t t = rel[i].type;
        bool ok = t <= VMI_RELOCATION_NOP;
        switch (ops[i].kind) {
        case PV_CALL:
            ok = ok && t != VMI_RELOCATION_JUMP_REL;
            break;
        case PV_CALL_RET:
            ok = ok && (t == VMI_RELOCATION_NONE || t == VMI_RELOCATION_CALL_REL);
            break;
        case PV_JUMP:
            ok = t == VMI_RELOCATION_CALL_REL || t == VMI_RELOCATION_JUMP_REL;
            break;
        case PV_TIMER:
            timer = timer && t == VMI_RELOCATION_CALL_REL;
            break;
        }
        if (!ok) {
            printf("minios: VMI: get_reloc(%u) for %s answers type %u, not "
                   "usable here\n", ops[i].call, ops[i].name, t);
            return false;
        }
    }

    /* Recorded sites first, while every slot still holds its native
     * pointer: that is how a site is recognised. */
    for (const uint32_t *s = __start_pvsites; s < __stop_pvsites; s++) {
        uint8_t *site = (uint8_t *)*s;
        uint32_t abs;
        memcpy(&abs, site + 2, 4);
        int i = op_by_offset(abs - (uint32_t)&pv_ops);
        if (site[0] != 0xFF || (site[1] != 0x15 && site[1] != 0x25) || i < 0)
            panic("pv-op site %p is not `call/jmp *pv_ops+n'", site);
        st->sites++;
        patch_site(site, rel[i].type, rel[i].eip, st);
    }
    for (unsigned i = 0; i < NOPS; i++) {
        uint8_t t = rel[i].type;
        if (ops[i].kind == PV_TIMER && !timer)
            continue;
        if (t == VMI_RELOCATION_NOP) {
            *slot(i) = (void *)pv_nop;
            st->filled++;
        } else if (t == VMI_RELOCATION_JUMP_REL ||
                   (t == VMI_RELOCATION_CALL_REL && ops[i].kind != PV_JUMP)) {
            *slot(i) = (void *)rel[i].eip;
            st->filled++;
        }
    }
    if (!timer)
        printf("minios: VMI: no timer calls, the PIT stays in use\n");
    return true;
}

bool vmi_probe_and_bind(void)
{
    const uint8_t *rom = rom_find();
    if (rom) {
        rom_init_fn *init = (rom_init_fn *)(rom + VMI_ROM_OFF_INIT);
        uint32_t status = init();
        uint16_t cs;
        __asm__ volatile("mov %%cs, %0" : "=r"(cs));
        struct pv_bind_stats st = {0};
        const struct vmi_rom_header *h = (const void *)rom;
        const struct vmi_pci_header *pci = (const void *)(rom + h->pci_header_offs);
        if (status != 0) {
            printf("minios: VMI: ROM failed to initialize (%d)\n", (int)status);
        } else if (cs & 3) {
            /* this kernel does not run deprivileged */
            panic("VMI ROM Init left the kernel at RPL %u", cs & 3);
        } else if (bind(rom, &st)) {
            printf("minios: VMI: ROM at %p: %u sites (%u calls, %u jumps, %u "
                   "nops, %u native), %u pv-ops filled\n", rom, st.sites,
                   st.calls, st.jumps, st.nops, st.native, st.filled);
            printf("minios: path=vmi rom=%u.%u\n", pci->rom_version_maj,
                   pci->rom_version_min);
            return true;
        }
    }
    printf("minios: path=native\n");
    return false;
}
