/* systest: segmentation checks: far transfers, base and limit, the faults
 * of segment register loads, the LDT, and the descriptor-inspecting
 * instructions (SGDT, SIDT, SLDT, STR, LAR, LSL, VERR, VERW, ARPL). */
#include "probes.h"
#include "systest.h"

void check_seg_far_jmp(struct result *r)
{
    uint32_t seen = probe_far_jmp() & 0xffff;
    if (expect_eq(r, "CS after far JMP", seen, SEL_KCODE_ALIAS))
        expect_eq(r, "CS after far JMP back", read_cs(), SEL_KCODE);
}

void check_seg_far_call(struct result *r)
{
    uint32_t seen = probe_far_call() & 0xffff;
    if (expect_eq(r, "CS in far-called code", seen, SEL_KCODE_ALIAS))
        expect_eq(r, "CS after RETF", read_cs(), SEL_KCODE);
}

void check_seg_retf(struct result *r)
{
    uint32_t seen = probe_retf() & 0xffff;
    expect_eq(r, "CS after RETF to pushed CS:EIP", seen, SEL_KCODE_ALIAS);
}

static void fill_window(void)
{
    for (unsigned i = 0; i < sizeof(small_window); i++)
        small_window[i] = (uint8_t)(0x11 * i + 3);
}

static uint32_t window_dword(unsigned off)
{
    uint32_t v;
    memcpy(&v, small_window + off, 4);
    return v;
}

void check_seg_base(struct result *r)
{
    struct trap_info t;
    uint32_t arg[3] = {SEL_SMALL, 4, 0};

    fill_window();
    if (expect_no_trap(r, guarded(probe_seg_read32, arg, &t), &t))
        expect_eq(r, "FS:4 with base small_window", arg[2], window_dword(4));
}

void check_seg_limit_last_dword(struct result *r)
{
    struct trap_info t;
    uint32_t arg[3] = {SEL_SMALL, SMALL_LIMIT - 3, 0};

    fill_window();
    if (expect_no_trap(r, guarded(probe_seg_read32, arg, &t), &t))
        expect_eq(r, "last dword inside the limit", arg[2],
                  window_dword(SMALL_LIMIT - 3));
}

/* QEMU's TCG (our reference) checks neither the limit, the write
 * permission nor the null-ness of a data segment on an ordinary access: it
 * only adds the base. Hardware raises #GP(0). The next three checks accept
 * either, but nothing else: no other fault, no fault elsewhere, and when
 * the access goes through, the bytes at base + offset. */
static bool expect_gp0_or_done(struct result *r, int got,
                               const struct trap_info *t, uint32_t eip)
{
    if (got == NO_TRAP)
        return true;
    return expect_trap(r, got, t, 13, 0, eip);
}

void check_seg_limit_gp(struct result *r)
{
    struct trap_info t;
    /* One dword straddling the limit, one wholly past it. */
    uint32_t straddle[3] = {SEL_SMALL, SMALL_LIMIT - 2, 0};
    uint32_t past[3] = {SEL_SMALL, SMALL_LIMIT + 1, 0};
    uint32_t want_straddle, want_past;

    fill_window();
    memcpy(&want_straddle, small_window + SMALL_LIMIT - 2, 4);
    memcpy(&want_past, small_window + SMALL_LIMIT + 1, 4);
    int v = guarded(probe_seg_read32, straddle, &t);
    if (!expect_gp0_or_done(r, v, &t, ADDR(probe_seg_read32_insn)))
        return;
    if (v == NO_TRAP &&
        !expect_eq(r, "straddling read without #GP", straddle[2], want_straddle))
        return;
    v = guarded(probe_seg_read32, past, &t);
    if (expect_gp0_or_done(r, v, &t, ADDR(probe_seg_read32_insn)) &&
        v == NO_TRAP)
        expect_eq(r, "read past the limit without #GP", past[2], want_past);
}

void check_seg_readonly_write(struct result *r)
{
    struct trap_info t;
    uint32_t target = 0x5a5a5a5a;
    uint32_t arg[3] = {SEL_RODATA, ADDR(&target), 1};

    int v = guarded(probe_seg_write32, arg, &t);
    if (!expect_gp0_or_done(r, v, &t, ADDR(probe_seg_write32_insn)))
        return;
    expect_eq(r, "memory after the write", target, v == NO_TRAP ? 1 : 0x5a5a5a5a);
}

void check_seg_null_ds(struct result *r)
{
    struct trap_info t;
    uint32_t word[2] = {ADDR(&word[1]), 0x77};

    /* Through the null DS (base 0 where it is not refused). */
    int v = guarded(probe_null_ds_use, word, &t);
    if (expect_gp0_or_done(r, v, &t, ADDR(probe_null_ds_use_insn)) &&
        v == NO_TRAP)
        expect_eq(r, "read through null DS without #GP", word[0], 0x77);
}

/* DS = sel must fault with vector and error code error at the load. */
static void expect_ds_load_fault(struct result *r, uint32_t sel, int vector,
                                 uint32_t error)
{
    struct trap_info t;
    uint32_t arg[2] = {sel, 0};

    expect_trap(r, guarded(probe_load_ds, arg, &t), &t, vector, error,
                ADDR(probe_load_ds_insn));
}

void check_seg_beyond_gdt(struct result *r)
{
    expect_ds_load_fault(r, SEL_BEYOND_GDT, 13, SEL_BEYOND_GDT);
}

void check_seg_execute_only_ds(struct result *r)
{
    struct trap_info t;
    uint32_t readable[2] = {SEL_KCODE, 0};

    /* Readable code may go in DS; execute-only code may not. */
    if (expect_no_trap(r, guarded(probe_load_ds, readable, &t), &t) &&
        expect_eq(r, "DS after loading readable code", readable[1] & 0xffff,
                  SEL_KCODE))
        expect_ds_load_fault(r, SEL_XOCODE, 13, SEL_XOCODE);
}

void check_seg_not_present(struct result *r)
{
    expect_ds_load_fault(r, SEL_NOTPRESENT, 11, SEL_NOTPRESENT);
}

static void expect_ss_load_fault(struct result *r, uint32_t sel, int vector,
                                 uint32_t error)
{
    struct trap_info t;
    uint32_t arg[1] = {sel};

    expect_trap(r, guarded(probe_load_ss, arg, &t), &t, vector, error,
                ADDR(probe_load_ss_insn));
}

void check_seg_ss_rpl(struct result *r)
{
    /* RPL 3 at CPL 0 (SDM MOV: #GP(selector)). */
    expect_ss_load_fault(r, SEL_KDATA | 3, 13, SEL_KDATA);
}

void check_seg_ss_readonly(struct result *r)
{
    expect_ss_load_fault(r, SEL_RODATA, 13, SEL_RODATA);
}

void check_seg_ss_not_present(struct result *r)
{
    /* A not-present stack segment is #SS(selector), not #NP. */
    expect_ss_load_fault(r, SEL_NOTPRESENT, 12, SEL_NOTPRESENT);
}

void check_seg_ss_null(struct result *r)
{
    expect_ss_load_fault(r, 0, 13, 0);
}

void check_seg_ldt(struct result *r)
{
    struct trap_info t;
    uint32_t arg[3] = {SEL_LDT_DATA, 8, 0};
    uint32_t want;

    for (unsigned i = 0; i < sizeof(ldt_window); i++)
        ldt_window[i] = (uint8_t)(0xc3 ^ (i * 7));
    memcpy(&want, ldt_window + 8, 4);
    if (expect_no_trap(r, guarded(probe_seg_read32, arg, &t), &t))
        expect_eq(r, "LDT segment at offset 8", arg[2], want);
}

void check_seg_ldt_limit(struct result *r)
{
    /* Index 2 is past the two-entry LDT. */
    expect_ds_load_fault(r, 2 << 3 | 4, 13, 2 << 3 | 4);
}

void check_seg_accessed_bit(struct result *r)
{
    struct trap_info t;
    uint32_t arg[3] = {SEL_SMALL, 0, 0};
    const uint64_t accessed = 1ull << 40;

    gdt[SEL_SMALL >> 3] &= ~accessed;
    if (expect_no_trap(r, guarded(probe_seg_read32, arg, &t), &t) &&
        !(gdt[SEL_SMALL >> 3] & accessed))
        fail(r, "descriptor's accessed bit still clear after the load");
}

void check_seg_sgdt_sidt(struct result *r)
{
    struct table_ptr g, i;

    __asm__ volatile("sgdt %0; sidt %1" : "=m"(g), "=m"(i));
    if (expect_eq(r, "SGDT base", g.base, ADDR(gdt)) &&
        expect_eq(r, "SGDT limit", g.limit, sizeof(gdt) - 1) &&
        expect_eq(r, "SIDT base", i.base, ADDR(idt)))
        expect_eq(r, "SIDT limit", i.limit, sizeof(idt) - 1);
}

void check_seg_sldt_str(struct result *r)
{
    uint32_t ldtr = 0xdead0000, tr = 0xdead0000;

    /* The register forms write all 32 bits (zero-extended). */
    __asm__ volatile("sldt %0; str %1" : "+r"(ldtr), "+r"(tr));
    if (expect_eq(r, "SLDT", ldtr, SEL_LDT))
        expect_eq(r, "STR", tr, SEL_TSS);
}

/* ZF from LAR/LSL/VERR/VERW: whether the selector passed. */
static bool lar(uint32_t sel, uint32_t *out)
{
    uint8_t ok;
    __asm__ volatile("lar %2, %0; setz %1" : "+r"(*out), "=q"(ok) : "r"(sel)
                     : "cc");
    return ok;
}

static bool lsl(uint32_t sel, uint32_t *out)
{
    uint8_t ok;
    __asm__ volatile("lsl %2, %0; setz %1" : "+r"(*out), "=q"(ok) : "r"(sel)
                     : "cc");
    return ok;
}

static bool verr(uint16_t sel)
{
    uint8_t ok;
    __asm__ volatile("verr %1; setz %0" : "=q"(ok) : "r"(sel) : "cc");
    return ok;
}

static bool verw(uint16_t sel)
{
    uint8_t ok;
    __asm__ volatile("verw %1; setz %0" : "=q"(ok) : "r"(sel) : "cc");
    return ok;
}

void check_seg_lar(struct result *r)
{
    /* Bits 19:16 are undefined, the accessed bit of code and data depends
     * on history, and a gate's bits 31:16 are its offset. */
    const uint32_t seg = 0x00f0fe00, sys = 0x00f0ff00, gate = 0x0000ff00;
    static const struct {
        uint16_t sel;
        uint32_t rights, mask;
    } valid[] = {
        {SEL_KCODE, 0x00c09a00, seg},
        {SEL_UDATA, 0x00c0f200, seg},
        {SEL_SMALL, 0x00409200, seg},
        {SEL_TSS, 0x00008b00, sys}, /* busy since LTR */
        {SEL_LDT, 0x00008200, sys},
        {SEL_CALLGATE, 0x0000ec00, gate},
    };
    for (unsigned i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
        uint32_t v = 0;
        if (!lar(valid[i].sel, &v)) {
            fail(r, "LAR 0x%x: ZF clear", valid[i].sel);
            return;
        }
        if ((v & valid[i].mask) != valid[i].rights) {
            fail(r, "LAR 0x%x = 0x%x, want 0x%x under mask 0x%x",
                 valid[i].sel, v, valid[i].rights, valid[i].mask);
            return;
        }
    }
    uint32_t v = 0x1234;
    if (lar(0, &v) || v != 0x1234)
        fail(r, "LAR of the null selector: ZF set or destination written");
    else if (lar(SEL_BEYOND_GDT, &v))
        fail(r, "LAR of a selector past the GDT limit: ZF set");
}

void check_seg_lsl(struct result *r)
{
    uint32_t v = 0;

    if (!lsl(SEL_SMALL, &v) || v != SMALL_LIMIT)
        fail(r, "LSL small segment = 0x%x, want 0x%x", v, SMALL_LIMIT);
    else if (!lsl(SEL_KDATA, &v) || v != 0xffffffff)
        fail(r, "LSL page-granular flat segment = 0x%x, want 0xffffffff", v);
    else if (!lsl(SEL_TSS, &v) || v != sizeof(tss) - 1)
        fail(r, "LSL TSS = 0x%x, want 0x%x", v, (unsigned)sizeof(tss) - 1);
    else if (lsl(0, &v))
        fail(r, "LSL of the null selector set ZF");
}

void check_seg_verr_verw(struct result *r)
{
    if (!verr(SEL_KCODE))
        fail(r, "VERR readable code: not readable");
    else if (verr(SEL_XOCODE))
        fail(r, "VERR execute-only code: readable");
    else if (!verr(SEL_KDATA))
        fail(r, "VERR data: not readable");
    else if (!verw(SEL_KDATA))
        fail(r, "VERW writable data: not writable");
    else if (verw(SEL_RODATA))
        fail(r, "VERW read-only data: writable");
    else if (verw(SEL_KCODE))
        fail(r, "VERW code: writable");
    else if (verr(0) || verw(0))
        fail(r, "VERR/VERW null selector: passed");
}

void check_seg_arpl(struct result *r)
{
    uint16_t dest = SEL_KDATA;
    uint8_t zf;

    __asm__ volatile("arpl %2, %0; setz %1"
                     : "+r"(dest), "=q"(zf) : "r"((uint16_t)SEL_UDATA) : "cc");
    if (!zf || dest != (SEL_KDATA | 3)) {
        fail(r, "ARPL raising RPL: dest 0x%x ZF %u, want 0x%x ZF 1", dest, zf,
             SEL_KDATA | 3);
        return;
    }
    __asm__ volatile("arpl %2, %0; setz %1"
                     : "+r"(dest), "=q"(zf) : "r"((uint16_t)SEL_KCODE) : "cc");
    if (zf || dest != (SEL_KDATA | 3))
        fail(r, "ARPL with a lower source RPL: dest 0x%x ZF %u, want 0x%x ZF 0",
             dest, zf, SEL_KDATA | 3);
}

void check_seg_far_jmp_data(struct result *r)
{
    struct trap_info t;

    expect_trap(r, guarded(probe_far_jmp_data, 0, &t), &t, 13, SEL_KDATA,
                ADDR(probe_far_jmp_data_insn));
}

/* With paging on, a translator may repeat a segment load it has checked
 * before without checking again (tpvm does, while the selector, the
 * table and the descriptor's bytes are unchanged). These change one of
 * them between two loads of the same selector. */
static void lgdt_limit(uint16_t limit)
{
    struct table_ptr p = {limit, ADDR(gdt)};
    __asm__ volatile("lgdt %0" : : "m"(p));
}

void check_seg_reload_changed(struct result *r)
{
    struct trap_info t;
    uint32_t arg[2] = {SEL_RODATA, 0};
    const uint64_t present = 1ull << 47, accessed = 1ull << 40;
    uint64_t *d = &gdt[SEL_RODATA >> 3];
    int v[4];

    paging_on();
    v[0] = guarded(probe_load_ds, arg, &t);
    v[1] = guarded(probe_load_ds, arg, &t);
    *d &= ~accessed;
    v[2] = guarded(probe_load_ds, arg, &t);
    uint64_t after = *d;
    *d &= ~present;
    v[3] = guarded(probe_load_ds, arg, &t);
    *d |= present;
    paging_off();
    for (int i = 0; i < 3; i++)
        if (v[i] != NO_TRAP) {
            fail(r, "load %d of a valid selector raised vector %d", i + 1, v[i]);
            return;
        }
    if (!(after & accessed))
        fail(r, "accessed bit cleared between two loads is not set again");
    else
        expect_trap(r, v[3], &t, 11, SEL_RODATA, ADDR(probe_load_ds_insn));
}

void check_seg_reload_gdt_limit(struct result *r)
{
    struct trap_info t;
    uint32_t arg[2] = {SEL_RODATA, 0};

    paging_on();
    int v0 = guarded(probe_load_ds, arg, &t);
    int v1 = guarded(probe_load_ds, arg, &t);
    lgdt_limit(SEL_RODATA - 1); /* the handler's selectors stay inside */
    int v2 = guarded(probe_load_ds, arg, &t);
    lgdt_limit(sizeof(gdt) - 1);
    paging_off();
    if (v0 != NO_TRAP || v1 != NO_TRAP)
        fail(r, "loads inside the GDT raised vectors %d, %d", v0, v1);
    else
        expect_trap(r, v2, &t, 13, SEL_RODATA, ADDR(probe_load_ds_insn));
}

void check_seg_reload_user_dpl(struct result *r)
{
    struct trap_info t;
    uint32_t arg[2] = {SEL_RODATA | 3, 0};
    uint64_t *d = &gdt[SEL_RODATA >> 3];

    /* a DPL-3 read-only segment in the spare slot, loaded twice at ring 3 */
    *d = seg_desc(0, 0xfffff, 0xf0, 0xc0);
    paging_on();
    int v0 = guarded_user(probe_load_ds, arg, EFLAGS_FIXED, &t);
    int v1 = guarded_user(probe_load_ds, arg, EFLAGS_FIXED, &t);
    uint32_t seen = arg[1];
    *d = seg_desc(0, 0xfffff, 0x90, 0xc0); /* now DPL 0 */
    int v2 = guarded_user(probe_load_ds, arg, EFLAGS_FIXED, &t);
    uint32_t kdata[2] = {SEL_KDATA, 0};
    struct trap_info tk;
    /* SEL_KDATA was loaded at ring 0 all along */
    int v3 = guarded_user(probe_load_ds, kdata, EFLAGS_FIXED, &tk);
    paging_off();
    if (v0 != NO_TRAP || v1 != NO_TRAP) {
        fail(r, "ring-3 loads of a DPL-3 selector raised vectors %d, %d", v0, v1);
        return;
    }
    if (expect_eq(r, "DS read back at ring 3", seen & 0xffff, SEL_RODATA | 3) &&
        expect_trap(r, v2, &t, 13, SEL_RODATA, ADDR(probe_load_ds_insn)))
        expect_trap(r, v3, &tk, 13, SEL_KDATA, ADDR(probe_load_ds_insn));
}
