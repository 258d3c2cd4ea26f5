/* Transfers of control between privilege levels: interrupt and exception
 * delivery through IDT gates (with the TSS stack switch), IRET, far JMP,
 * CALL and RET (with call gates), SYSENTER and SYSEXIT. Protected mode
 * only; task gates and virtual-8086 mode are not modelled and raise #GP.
 *
 * Every transfer first reads and checks everything (gate, target code
 * descriptor, new stack, the frame's pages), then commits; a fault in the
 * middle leaves the CPU as before the instruction or event. */
#include <string.h>

#include "bt/cpu_sys.h"
#include "bt/internal.h"

struct stack {
    uint32_t base;   /* SS base */
    uint32_t esp;
    unsigned acc;    /* ACC_SUPER when written for ring 0-2 */
};

/* Push n values (vals[0] first, so highest) of `size` bytes as one
 * frame: every page is checked before anything is written. */
static void stack_push_frame(struct cpu *cpu, struct stack *st, unsigned size,
                             const uint32_t *vals, unsigned n)
{
    uint32_t esp = st->esp - n * size, lin = st->base + esp;
    uint8_t buf[8 * 4];
    uint8_t *h = mmu_tlb_hit(cpu, lin, n * size, st->acc | ACC_WRITE);
    uint8_t *p = h ? h : buf;
    for (unsigned i = 0; i < n; i++) {
        uint8_t *q = p + (n - 1 - i) * size;
        if (size == 4) {
            memcpy(q, &vals[i], 4);
        } else {
            uint16_t v = (uint16_t)vals[i];
            memcpy(q, &v, 2);
        }
    }
    if (!h)
        mmu_write_block_slow(cpu, lin, buf, n * size, st->acc);
    st->esp = esp;
}

/* n values of `size` bytes from [base + esp], lowest first. */
static void stack_read_frame(struct cpu *cpu, uint32_t base, uint32_t esp,
                             unsigned size, uint32_t *vals, unsigned n)
{
    uint32_t lin = base + esp;
    uint8_t buf[8 * 4];
    const uint8_t *h = mmu_tlb_hit(cpu, lin, n * size, 0);
    if (!h) {
        mmu_read_block_slow(cpu, lin, buf, n * size, 0);
        h = buf;
    }
    for (unsigned i = 0; i < n; i++) {
        if (size == 4) {
            memcpy(&vals[i], h + 4 * i, 4);
        } else {
            uint16_t v;
            memcpy(&v, h + 2 * i, 2);
            vals[i] = v;
        }
    }
}

static void stack_check(struct cpu *cpu, const struct stack *st, unsigned bytes)
{
    mmu_translate(cpu, st->base + st->esp - bytes, ACC_WRITE | st->acc | 1);
    mmu_translate(cpu, st->base + st->esp - 1, ACC_WRITE | st->acc | 1);
}

static void stack_push(struct cpu *cpu, struct stack *st, unsigned size, uint32_t v)
{
    st->esp -= size;
    mmu_write_acc(cpu, st->base + st->esp, size, v, st->acc);
}

static uint32_t stack_read(struct cpu *cpu, uint32_t base, uint32_t esp,
                           unsigned size)
{
    return mmu_read(cpu, base + esp, size);
}

/* The ring-n stack from the current 32-bit TSS, checked as for a stack
 * switch (#TS on a bad SS). */
static void tss_stack(struct cpu *cpu, unsigned n, uint32_t ext, uint16_t *ss,
                      uint32_t *esp, struct desc *ssd)
{
    const struct seg *tr = &cpu->seg[S_TR];
    bool tss32 = DA_TYPE(tr->attr) & 8;
    uint32_t off = tss32 ? 4 + n * 8 : 2 + n * 4;
    if (off + (tss32 ? 5 : 3) > tr->limit)
        bt_raise(cpu, EXC_TS, (tr->sel & 0xfffcu) | ext, true);
    uint8_t w[6];
    if (tss32) {
        uint32_t e32;
        mmu_read_block(cpu, tr->base + off, w, 6, ACC_SUPER);
        memcpy(&e32, w, 4);
        memcpy(ss, w + 4, 2);
        *esp = e32;
    } else {
        uint16_t e16;
        mmu_read_block(cpu, tr->base + off, w, 4, ACC_SUPER);
        memcpy(&e16, w, 2);
        memcpy(ss, w + 2, 2);
        *esp = e16;
    }
    if ((*ss & 0xfffc) == 0)
        bt_raise(cpu, EXC_TS, ext, true);
    if ((*ss & 3u) != n)
        bt_raise(cpu, EXC_TS, (*ss & 0xfffcu) | ext, true);
    desc_fetch(cpu, *ss, ssd, EXC_TS, ext);
    uint32_t a = desc_attr(ssd);
    if (!(a & DA_S) || (DA_TYPE(a) & DA_CODE) || !(DA_TYPE(a) & DA_RW) ||
        DA_DPL(a) != n)
        bt_raise(cpu, EXC_TS, (*ss & 0xfffcu) | ext, true);
    if (!(a & DA_P))
        bt_raise(cpu, EXC_SS, (*ss & 0xfffcu) | ext, true);
}

static void load_cs(struct cpu *cpu, uint16_t sel, const struct desc *d,
                    unsigned cpl)
{
    seg_set(cpu, S_CS, (uint16_t)((sel & 0xfffc) | cpl), d);
    cpu->cpl = cpl;
}

/* Check the code segment a gate or far transfer targets. */
static uint32_t code_target(struct cpu *cpu, uint16_t sel, struct desc *d,
                            uint32_t ext)
{
    if ((sel & 0xfffc) == 0)
        bt_raise(cpu, EXC_GP, ext, true);
    desc_fetch(cpu, sel, d, EXC_GP, ext);
    uint32_t a = desc_attr(d);
    if (!(a & DA_S) || !(DA_TYPE(a) & DA_CODE))
        bt_raise(cpu, EXC_GP, (sel & 0xfffcu) | ext, true);
    return a;
}

void cpu_deliver(struct cpu *cpu, int vector, int source, bool has_error,
                 uint32_t error)
{
    uint32_t ext = source == EV_SOFT ? 0 : 1;
    uint32_t idt_err = (uint32_t)vector * 8 + 2 + ext;
    if ((uint32_t)vector * 8 + 7 > cpu->idtr.limit)
        bt_raise(cpu, EXC_GP, idt_err, true);
    struct desc gate;
    uint32_t gw[2];
    mmu_read_block(cpu, cpu->idtr.base + (uint32_t)vector * 8, gw, 8, ACC_SUPER);
    gate.lo = gw[0];
    gate.hi = gw[1];
    uint32_t ga = desc_attr(&gate);
    unsigned type = DA_TYPE(ga);
    if ((ga & DA_S) || (type != 6 && type != 7 && type != 14 && type != 15))
        bt_raise(cpu, EXC_GP, idt_err, true); /* task gates: not modelled */
    if (source == EV_SOFT && DA_DPL(ga) < cpu->cpl)
        bt_raise(cpu, EXC_GP, idt_err, true);
    if (!(ga & DA_P))
        bt_raise(cpu, EXC_NP, idt_err, true);

    uint16_t sel = (uint16_t)(gate.lo >> 16);
    uint32_t off = type & 8 ? (gate.lo & 0xffffu) | (gate.hi & 0xffff0000u)
                            : gate.lo & 0xffffu;
    unsigned size = type & 8 ? 4 : 2;
    struct desc cd;
    uint32_t ca = code_target(cpu, sel, &cd, ext);
    if (DA_DPL(ca) > cpu->cpl)
        bt_raise(cpu, EXC_GP, (sel & 0xfffcu) | ext, true);
    if (!(ca & DA_P))
        bt_raise(cpu, EXC_NP, (sel & 0xfffcu) | ext, true);
    if (cpu->eflags & FL_VM)
        bt_raise(cpu, EXC_GP, (sel & 0xfffcu) | ext, true);

    unsigned new_cpl = (DA_TYPE(ca) & DA_CONF) ? cpu->cpl : DA_DPL(ca);
    uint32_t old_eflags = cpu->eflags;
    uint16_t old_cs = cpu->seg[S_CS].sel, old_ss = cpu->seg[S_SS].sel;
    uint32_t old_esp = cpu->regs[R_ESP];
    struct stack st;
    uint16_t new_ss = 0;
    struct desc ssd;
    bool switch_stack = new_cpl < cpu->cpl;
    if (switch_stack) {
        uint32_t esp;
        tss_stack(cpu, new_cpl, ext, &new_ss, &esp, &ssd);
        st = (struct stack){desc_base(&ssd), esp, new_cpl < 3 ? ACC_SUPER : 0};
    } else {
        st = (struct stack){cpu->seg[S_SS].base, old_esp, new_cpl < 3 ? ACC_SUPER : 0};
    }
    uint32_t frame[6];
    unsigned k = 0;
    if (switch_stack) {
        frame[k++] = old_ss;
        frame[k++] = old_esp;
    }
    frame[k++] = old_eflags;
    frame[k++] = old_cs;
    frame[k++] = cpu->eip;
    if (has_error)
        frame[k++] = error;
    /* the frame's pages are all checked before it is written */
    stack_push_frame(cpu, &st, size, frame, k);

    /* commit */
    if (switch_stack)
        seg_set(cpu, S_SS, new_ss, &ssd);
    cpu->regs[R_ESP] = st.esp;
    load_cs(cpu, sel, &cd, new_cpl);
    cpu->eip = off;
    cpu->eflags &= ~(FL_TF | FL_NT | FL_RF | FL_VM);
    if (!(type & 1))
        cpu->eflags &= ~FL_IF;
}

/* The stack segment an IRET or far RET to an outer ring loads: a writable
 * data segment at the new privilege level. */
static void outer_ss(struct cpu *cpu, uint16_t ss, unsigned rpl, struct desc *ssd)
{
    if ((ss & 0xfffc) == 0 || (ss & 3u) != rpl)
        bt_raise(cpu, EXC_GP, ss & 0xfffcu, true);
    desc_fetch(cpu, ss, ssd, EXC_GP, 0);
    uint32_t sa = desc_attr(ssd);
    if (!(sa & DA_S) || (DA_TYPE(sa) & DA_CODE) || !(DA_TYPE(sa) & DA_RW) ||
        DA_DPL(sa) != rpl)
        bt_raise(cpu, EXC_GP, ss & 0xfffcu, true);
    if (!(sa & DA_P))
        bt_raise(cpu, EXC_SS, ss & 0xfffcu, true);
}

void cpu_iret(struct cpu *cpu, unsigned size)
{
    if (cpu->eflags & (FL_NT | FL_VM))
        bt_raise(cpu, EXC_GP, 0, true); /* task return / v86: not modelled */
    uint32_t ssb = cpu->seg[S_SS].base, esp = cpu->regs[R_ESP];
    uint32_t f[3];
    stack_read_frame(cpu, ssb, esp, size, f, 3);
    uint32_t eip = f[0];
    uint16_t cs = (uint16_t)f[1];
    uint32_t fl = f[2];
    if (size == 4 && (fl & FL_VM) && cpu->cpl == 0)
        bt_raise(cpu, EXC_GP, 0, true);
    unsigned rpl = cs & 3u;
    if (rpl < cpu->cpl)
        bt_raise(cpu, EXC_GP, cs & 0xfffcu, true);
    struct desc cd;
    uint32_t ca = code_target(cpu, cs, &cd, 0);
    if ((DA_TYPE(ca) & DA_CONF) ? DA_DPL(ca) > rpl : DA_DPL(ca) != rpl)
        bt_raise(cpu, EXC_GP, cs & 0xfffcu, true);
    if (!(ca & DA_P))
        bt_raise(cpu, EXC_NP, cs & 0xfffcu, true);

    uint32_t new_esp = esp + 3 * size;
    uint16_t ss = 0;
    struct desc ssd;
    bool outer = rpl > cpu->cpl;
    if (outer) {
        stack_read_frame(cpu, ssb, esp + 3 * size, size, f, 2);
        new_esp = f[0];
        ss = (uint16_t)f[1];
        outer_ss(cpu, ss, rpl, &ssd);
    }
    /* EFLAGS: IOPL only at CPL 0, IF only when CPL <= IOPL (old CPL) */
    uint32_t mask = FL_ARITH | FL_TF | FL_DF | FL_NT | FL_RF | FL_AC | FL_ID;
    uint32_t iopl = (cpu->eflags & FL_IOPL) >> 12;
    if (cpu->cpl == 0)
        mask |= FL_IOPL;
    if (cpu->cpl <= iopl)
        mask |= FL_IF;
    if (size == 2)
        mask &= 0xffffu;
    cpu->eflags = (cpu->eflags & ~mask) | (fl & mask) | 2u;
    load_cs(cpu, cs, &cd, rpl);
    cpu->eip = size == 2 ? eip & 0xffffu : eip;
    if (outer) {
        seg_set(cpu, S_SS, ss, &ssd);
        cpu->regs[R_ESP] = new_esp;
        seg_validate_outer(cpu);
    } else {
        cpu->regs[R_ESP] = new_esp;
    }
}

/* A far JMP or CALL names either a code segment or a call gate. Resolves
 * to the code segment, offset and (for gates) parameter count. */
struct far_target {
    uint16_t sel;
    uint32_t off;
    struct desc cd;
    unsigned new_cpl;
    bool via_gate;
    unsigned gate_size, params;
};

static void far_resolve(struct cpu *cpu, uint16_t sel, uint32_t off,
                        bool is_call, struct far_target *t)
{
    unsigned cpl = cpu->cpl, rpl = sel & 3u;
    if ((sel & 0xfffc) == 0)
        bt_raise(cpu, EXC_GP, 0, true);
    struct desc d;
    desc_fetch(cpu, sel, &d, EXC_GP, 0);
    uint32_t a = desc_attr(&d);
    uint32_t err = sel & 0xfffcu;
    t->via_gate = false;
    t->params = 0;
    if (a & DA_S) {
        if (!(DA_TYPE(a) & DA_CODE))
            bt_raise(cpu, EXC_GP, err, true);
        if (DA_TYPE(a) & DA_CONF) {
            if (DA_DPL(a) > cpl)
                bt_raise(cpu, EXC_GP, err, true);
        } else if (rpl > cpl || DA_DPL(a) != cpl) {
            bt_raise(cpu, EXC_GP, err, true);
        }
        if (!(a & DA_P))
            bt_raise(cpu, EXC_NP, err, true);
        t->sel = sel;
        t->off = off;
        t->cd = d;
        t->new_cpl = cpl;
        return;
    }
    /* call gate (16-bit type 4, 32-bit type 12) */
    if (DA_TYPE(a) != 4 && DA_TYPE(a) != 12)
        bt_raise(cpu, EXC_GP, err, true); /* task switches: not modelled */
    if (DA_DPL(a) < cpl || DA_DPL(a) < rpl)
        bt_raise(cpu, EXC_GP, err, true);
    if (!(a & DA_P))
        bt_raise(cpu, EXC_NP, err, true);
    uint16_t csel = (uint16_t)(d.lo >> 16);
    struct desc cd;
    uint32_t ca = code_target(cpu, csel, &cd, 0);
    if (DA_DPL(ca) > cpl)
        bt_raise(cpu, EXC_GP, csel & 0xfffcu, true);
    if (!is_call && !(DA_TYPE(ca) & DA_CONF) && DA_DPL(ca) != cpl)
        bt_raise(cpu, EXC_GP, csel & 0xfffcu, true);
    if (!(ca & DA_P))
        bt_raise(cpu, EXC_NP, csel & 0xfffcu, true);
    t->sel = csel;
    t->gate_size = DA_TYPE(a) == 12 ? 4 : 2;
    t->off = t->gate_size == 4 ? (d.lo & 0xffffu) | (d.hi & 0xffff0000u) : d.lo & 0xffffu;
    t->cd = cd;
    t->new_cpl = (DA_TYPE(ca) & DA_CONF) ? cpl : DA_DPL(ca);
    t->via_gate = true;
    t->params = d.hi & 0x1fu;
}

void cpu_far_jmp(struct cpu *cpu, uint16_t sel, uint32_t off, unsigned opsize)
{
    struct far_target t;
    far_resolve(cpu, sel, off, false, &t);
    if (!t.via_gate && opsize == 2)
        t.off &= 0xffffu;
    load_cs(cpu, t.sel, &t.cd, cpu->cpl);
    cpu->eip = t.off;
}

void cpu_far_call(struct cpu *cpu, uint16_t sel, uint32_t off,
                  unsigned opsize, uint32_t ret_eip)
{
    struct far_target t;
    far_resolve(cpu, sel, off, true, &t);
    uint16_t old_cs = cpu->seg[S_CS].sel;
    if (t.via_gate && t.new_cpl < cpu->cpl) {
        /* more privileged: switch to the TSS stack, copy parameters */
        uint16_t ss;
        uint32_t esp;
        struct desc ssd;
        tss_stack(cpu, t.new_cpl, 0, &ss, &esp, &ssd);
        unsigned size = t.gate_size;
        struct stack st = {desc_base(&ssd), esp, ACC_SUPER};
        stack_check(cpu, &st, (4 + t.params) * size);
        uint32_t old_ssb = cpu->seg[S_SS].base, old_esp = cpu->regs[R_ESP];
        uint32_t params[32];
        for (unsigned i = 0; i < t.params; i++)
            params[i] = stack_read(cpu, old_ssb, old_esp + i * size, size);
        stack_push(cpu, &st, size, cpu->seg[S_SS].sel);
        stack_push(cpu, &st, size, old_esp);
        for (unsigned i = t.params; i-- > 0;)
            stack_push(cpu, &st, size, params[i]);
        stack_push(cpu, &st, size, old_cs);
        stack_push(cpu, &st, size, ret_eip);
        seg_set(cpu, S_SS, ss, &ssd);
        cpu->regs[R_ESP] = st.esp;
        load_cs(cpu, t.sel, &t.cd, t.new_cpl);
        cpu->eip = t.off;
        return;
    }
    unsigned size = t.via_gate ? t.gate_size : opsize;
    struct stack st = {cpu->seg[S_SS].base, cpu->regs[R_ESP],
                       cpu->cpl < 3 ? ACC_SUPER : 0};
    stack_check(cpu, &st, 2 * size);
    stack_push(cpu, &st, size, old_cs);
    stack_push(cpu, &st, size, ret_eip);
    cpu->regs[R_ESP] = st.esp;
    load_cs(cpu, t.sel, &t.cd, cpu->cpl);
    cpu->eip = (!t.via_gate && size == 2) ? t.off & 0xffffu : t.off;
}

void cpu_far_ret(struct cpu *cpu, unsigned size, uint16_t imm)
{
    uint32_t ssb = cpu->seg[S_SS].base, esp = cpu->regs[R_ESP];
    uint32_t eip = stack_read(cpu, ssb, esp, size);
    uint16_t cs = (uint16_t)stack_read(cpu, ssb, esp + size, size);
    unsigned rpl = cs & 3u;
    if (rpl < cpu->cpl)
        bt_raise(cpu, EXC_GP, cs & 0xfffcu, true);
    struct desc cd;
    uint32_t ca = code_target(cpu, cs, &cd, 0);
    if ((DA_TYPE(ca) & DA_CONF) ? DA_DPL(ca) > rpl : DA_DPL(ca) != rpl)
        bt_raise(cpu, EXC_GP, cs & 0xfffcu, true);
    if (!(ca & DA_P))
        bt_raise(cpu, EXC_NP, cs & 0xfffcu, true);
    if (rpl == cpu->cpl) {
        load_cs(cpu, cs, &cd, rpl);
        cpu->eip = size == 2 ? eip & 0xffffu : eip;
        cpu->regs[R_ESP] = esp + 2 * size + imm;
        return;
    }
    uint32_t new_esp = stack_read(cpu, ssb, esp + 2 * size + imm, size);
    uint16_t ss = (uint16_t)stack_read(cpu, ssb, esp + 3 * size + imm, size);
    struct desc ssd;
    outer_ss(cpu, ss, rpl, &ssd);
    load_cs(cpu, cs, &cd, rpl);
    cpu->eip = size == 2 ? eip & 0xffffu : eip;
    seg_set(cpu, S_SS, ss, &ssd);
    cpu->regs[R_ESP] = new_esp + imm;
    seg_validate_outer(cpu);
}

void cpu_sysenter(struct cpu *cpu)
{
    uint16_t cs = (uint16_t)cpu->sysenter_cs;
    if ((cs & 0xfffc) == 0)
        bt_raise(cpu, EXC_GP, 0, true);
    cpu->eflags &= ~(FL_VM | FL_IF | FL_RF);
    seg_set_flat(cpu, S_CS, cs & 0xfffc, 0, true);
    seg_set_flat(cpu, S_SS, (uint16_t)((cs & 0xfffc) + 8), 0, false);
    cpu->cpl = 0;
    cpu->regs[R_ESP] = cpu->sysenter_esp;
    cpu->eip = cpu->sysenter_eip;
}

void cpu_sysexit(struct cpu *cpu)
{
    uint16_t cs = (uint16_t)cpu->sysenter_cs;
    if ((cs & 0xfffc) == 0 || cpu->cpl != 0)
        bt_raise(cpu, EXC_GP, 0, true);
    seg_set_flat(cpu, S_CS, (uint16_t)(((cs & 0xfffc) + 16) | 3), 3, true);
    seg_set_flat(cpu, S_SS, (uint16_t)(((cs & 0xfffc) + 24) | 3), 3, false);
    cpu->cpl = 3;
    cpu->regs[R_ESP] = cpu->regs[R_ECX];
    cpu->eip = cpu->regs[R_EDX];
}
