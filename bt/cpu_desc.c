/* Descriptor tables and segment registers: GDT/LDT lookups, segment
 * loads with the SDM's protection checks, LGDT/LIDT/LLDT/LTR and their
 * stores, LAR/LSL/VERR/VERW. */
#include <stddef.h>
#include <string.h>

#include "bt/cpu_sys.h"
#include "bt/internal.h"

void desc_fetch(struct cpu *cpu, uint16_t sel, struct desc *d, int vector,
                uint32_t ext)
{
    uint32_t base, limit;
    if (sel & 4) {
        const struct seg *ldt = &cpu->seg[S_LDTR];
        if (!(ldt->attr & DA_P) || (ldt->sel & 0xfffc) == 0)
            bt_raise(cpu, vector, (sel & 0xfffcu) | ext, true);
        base = ldt->base;
        limit = ldt->limit;
    } else {
        base = cpu->gdtr.base;
        limit = cpu->gdtr.limit;
    }
    uint32_t off = sel & 0xfff8u;
    if (off + 7 > limit)
        bt_raise(cpu, vector, (sel & 0xfffcu) | ext, true);
    uint32_t w[2];
    mmu_read_block(cpu, base + off, w, 8, ACC_SUPER);
    d->lo = w[0];
    d->hi = w[1];
}

/* Segment loads set the accessed bit in the descriptor, as hardware. */
void desc_set_accessed(struct cpu *cpu, uint16_t sel, struct desc *d)
{
    if (d->hi & 0x100u)
        return;
    d->hi |= 0x100u;
    uint32_t base = (sel & 4) ? cpu->seg[S_LDTR].base : cpu->gdtr.base;
    mmu_write_acc(cpu, base + (sel & 0xfff8u) + 4, 4, d->hi, ACC_SUPER);
}

void seg_set(struct cpu *cpu, int s, uint16_t sel, const struct desc *d)
{
    struct seg *g = &cpu->seg[s];
    g->sel = sel;
    g->base = desc_base(d);
    g->limit = desc_limit(d);
    g->attr = desc_attr(d);
}

void seg_set_flat(struct cpu *cpu, int s, uint16_t sel, unsigned dpl, bool code)
{
    struct seg *g = &cpu->seg[s];
    g->sel = sel;
    g->base = 0;
    g->limit = 0xffffffffu;
    g->attr = (code ? 0x9bu : 0x93u) | (dpl << 5) | DA_DB | DA_G;
}

void seg_set_null(struct cpu *cpu, int s, uint16_t sel)
{
    struct seg *g = &cpu->seg[s];
    g->sel = sel;
    g->base = 0;
    g->limit = 0;
    g->attr = 0; /* not present: any use faults */
}

/* Remember a data-segment load that translated code may repeat without
 * C (struct segc in bt/cpu.h): one into DS, ES, FS or GS at CPL 0 or 3
 * whose segment keeps the translation mode (present, 4 GiB, expand-up).
 * d is the descriptor as now in memory (accessed bit set). */
static void segc_fill(struct cpu *cpu, int s, uint16_t sel, const struct desc *d)
{
    if (s == S_SS || s == S_CS || (cpu->cpl != 0 && cpu->cpl != 3))
        return;
    const struct seg *g = &cpu->seg[s];
    bool code = DA_TYPE(g->attr) & DA_CODE;
    if (g->limit != 0xffffffffu || !(g->attr & DA_P) ||
        (!code && (DA_TYPE(g->attr) & DA_EXPDOWN)))
        return;
    uint32_t base, limit, off;
    if (sel & 4) {
        base = cpu->seg[S_LDTR].base;
        limit = cpu->seg[S_LDTR].limit;
        off = (uint32_t)offsetof(struct cpu, seg[S_LDTR]);
    } else {
        base = cpu->gdtr.base;
        limit = cpu->gdtr.limit;
        off = (uint32_t)offsetof(struct cpu, gdtr);
    }
    struct segc *c = &cpu->segc[cpu->cpl == 3];
    unsigned i = sel & 0xffu;
    uint64_t lo, hi;
    memcpy(&lo, g, 8);
    memcpy(&hi, (const uint8_t *)g + 8, 8);
    c->neg_key[i] = 0u - ((uint32_t)sel + 1u);
    c->table_off[i] = off;
    c->desc_lin[i] = base + (sel & 0xfff8u);
    c->neg_table[i] = 0u - ((uint64_t)base | (uint64_t)limit << 32);
    c->neg_desc[i] = 0u - ((uint64_t)d->lo | (uint64_t)d->hi << 32);
    c->seg_lo[i] = lo;
    c->seg_hi[i] = hi;
}

void seg_load(struct cpu *cpu, int s, uint16_t sel)
{
    unsigned cpl = cpu->cpl, rpl = sel & 3u;
    struct desc d;
    if ((sel & 0xfffc) == 0) {
        if (s == S_SS)
            bt_raise(cpu, EXC_GP, 0, true);
        seg_set_null(cpu, s, sel);
        return;
    }
    desc_fetch(cpu, sel, &d, EXC_GP, 0);
    uint32_t a = desc_attr(&d);
    uint32_t err = sel & 0xfffcu;
    if (!(a & DA_S))
        bt_raise(cpu, EXC_GP, err, true);
    bool code = DA_TYPE(a) & DA_CODE;
    if (s == S_SS) {
        if (rpl != cpl || DA_DPL(a) != cpl || code || !(DA_TYPE(a) & DA_RW))
            bt_raise(cpu, EXC_GP, err, true);
        if (!(a & DA_P))
            bt_raise(cpu, EXC_SS, err, true);
        cpu->inhibit_irq = 1; /* MOV SS / POP SS shadow */
    } else {
        if (code && !(DA_TYPE(a) & DA_RW))
            bt_raise(cpu, EXC_GP, err, true);
        bool conforming_code = code && (DA_TYPE(a) & DA_CONF);
        if (!conforming_code && (rpl > DA_DPL(a) || cpl > DA_DPL(a)))
            bt_raise(cpu, EXC_GP, err, true);
        if (!(a & DA_P))
            bt_raise(cpu, EXC_NP, err, true);
    }
    desc_set_accessed(cpu, sel, &d);
    seg_set(cpu, s, sel, &d);
    segc_fill(cpu, s, sel, &d);
}

void seg_validate_outer(struct cpu *cpu)
{
    static const int segs[] = {S_ES, S_DS, S_FS, S_GS};
    for (unsigned i = 0; i < 4; i++) {
        struct seg *g = &cpu->seg[segs[i]];
        uint32_t a = g->attr;
        bool conforming_code = (DA_TYPE(a) & DA_CODE) && (DA_TYPE(a) & DA_CONF);
        if ((g->sel & 0xfffc) && !conforming_code && DA_DPL(a) < cpu->cpl)
            seg_set_null(cpu, segs[i], 0);
    }
}

void sys_lgdt_lidt(struct cpu *cpu, bool idt, uint32_t lin, unsigned opsize)
{
    uint32_t limit = mmu_read(cpu, lin, 2);
    uint32_t base = mmu_read(cpu, lin + 2, 4);
    if (opsize == 2)
        base &= 0x00ffffffu;
    struct dtr *t = idt ? &cpu->idtr : &cpu->gdtr;
    t->base = base;
    t->limit = limit;
}

void sys_sgdt_sidt(struct cpu *cpu, bool idt, uint32_t lin)
{
    const struct dtr *t = idt ? &cpu->idtr : &cpu->gdtr;
    /* check both parts before writing either */
    mmu_translate(cpu, lin, ACC_WRITE | 1);
    mmu_translate(cpu, lin + 5, ACC_WRITE | 1);
    mmu_write(cpu, lin, 2, t->limit);
    mmu_write(cpu, lin + 2, 4, t->base);
}

void sys_lldt(struct cpu *cpu, uint16_t sel)
{
    if ((sel & 0xfffc) == 0) {
        seg_set_null(cpu, S_LDTR, sel);
        return;
    }
    if (sel & 4)
        bt_raise(cpu, EXC_GP, sel & 0xfffcu, true);
    struct desc d;
    desc_fetch(cpu, sel, &d, EXC_GP, 0);
    uint32_t a = desc_attr(&d);
    if ((a & DA_S) || DA_TYPE(a) != 2)
        bt_raise(cpu, EXC_GP, sel & 0xfffcu, true);
    if (!(a & DA_P))
        bt_raise(cpu, EXC_NP, sel & 0xfffcu, true);
    seg_set(cpu, S_LDTR, sel, &d);
}

void sys_ltr(struct cpu *cpu, uint16_t sel)
{
    if ((sel & 0xfffc) == 0 || (sel & 4))
        bt_raise(cpu, EXC_GP, sel & 0xfffcu, true);
    struct desc d;
    desc_fetch(cpu, sel, &d, EXC_GP, 0);
    uint32_t a = desc_attr(&d);
    /* an available 16- or 32-bit TSS */
    if ((a & DA_S) || (DA_TYPE(a) != 1 && DA_TYPE(a) != 9))
        bt_raise(cpu, EXC_GP, sel & 0xfffcu, true);
    if (!(a & DA_P))
        bt_raise(cpu, EXC_NP, sel & 0xfffcu, true);
    d.hi |= 0x200u; /* busy */
    mmu_write_acc(cpu, cpu->gdtr.base + (sel & 0xfff8u) + 4, 4, d.hi, ACC_SUPER);
    seg_set(cpu, S_TR, sel, &d);
}

/* Whether sel names a descriptor the current privilege may inspect. */
static bool visible(struct cpu *cpu, uint16_t sel, struct desc *d)
{
    if ((sel & 0xfffc) == 0)
        return false;
    uint32_t base, limit;
    if (sel & 4) {
        base = cpu->seg[S_LDTR].base;
        limit = cpu->seg[S_LDTR].limit;
        if ((cpu->seg[S_LDTR].sel & 0xfffc) == 0)
            return false;
    } else {
        base = cpu->gdtr.base;
        limit = cpu->gdtr.limit;
    }
    if ((sel & 0xfff8u) + 7u > limit)
        return false;
    d->lo = mmu_read_acc(cpu, base + (sel & 0xfff8u), 4, ACC_SUPER);
    d->hi = mmu_read_acc(cpu, base + (sel & 0xfff8u) + 4, 4, ACC_SUPER);
    uint32_t a = desc_attr(d);
    bool conforming_code = (a & DA_S) && (DA_TYPE(a) & DA_CODE) && (DA_TYPE(a) & DA_CONF);
    if (!conforming_code && (DA_DPL(a) < cpu->cpl || DA_DPL(a) < (sel & 3u)))
        return false;
    return true;
}

bool sys_lar_lsl(struct cpu *cpu, uint16_t sel, bool lsl, uint32_t *out)
{
    struct desc d;
    if (!visible(cpu, sel, &d))
        return false;
    uint32_t a = desc_attr(&d);
    if (!(a & DA_S)) {
        /* system types LAR accepts: TSS, LDT, call/task gates; LSL: no gates */
        static const bool lar_ok[16] = {0, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0, 1, 1, 0, 0, 0};
        static const bool lsl_ok[16] = {0, 1, 1, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0};
        if (!(lsl ? lsl_ok : lar_ok)[DA_TYPE(a)])
            return false;
    }
    *out = lsl ? desc_limit(&d) : (d.hi & 0x00f0ff00u);
    return true;
}

bool sys_verr_verw(struct cpu *cpu, uint16_t sel, bool write)
{
    struct desc d;
    if (!visible(cpu, sel, &d))
        return false;
    uint32_t a = desc_attr(&d);
    if (!(a & DA_S))
        return false;
    bool code = DA_TYPE(a) & DA_CODE;
    if (write)
        return !code && (DA_TYPE(a) & DA_RW);
    return !code || (DA_TYPE(a) & DA_RW);
}
