/* Helpers for the remaining user-level instructions that need C: CPUID,
 * HLT, port I/O, INT n / INT3 / INTO, POPF outside ring 0, ENTER, and
 * the #UD raised for what tpvm does not translate. Privilege checks that
 * depend on CPL and IOPL live here too, so the monitor sees only events
 * that really happen. */
#include <string.h>

#include "bt/cpu_sys.h"
#include "bt/helpers.h"
#include "bt/internal.h"
#include "bt/runtime.h"
#include "bt/xlate.h"

HELPER(helper_raise_ud)
{
    HELPER_COUNT(cpu, ud);
    (void)arg;
    (void)next;
    bt_raise(cpu, EXC_UD, 0, false);
}

HELPER(helper_cpuid)
{
    HELPER_COUNT(cpu, cpuid);
    (void)arg;
    (void)next;
    uint32_t out[4] = {0, 0, 0, 0};
    uint32_t leaf = cpu->regs[R_EAX], sub = cpu->regs[R_ECX];
    if (cpu->host && cpu->host->cpuid)
        cpu->host->cpuid(cpu->host->opaque, leaf, sub, out);
    else
        cpuid_model(leaf, sub, out);
    cpu->regs[R_EAX] = out[0];
    cpu->regs[R_EBX] = out[1];
    cpu->regs[R_ECX] = out[2];
    cpu->regs[R_EDX] = out[3];
}

static bool io_allowed(const struct cpu *cpu)
{
    uint32_t iopl = (cpu->eflags & FL_IOPL) >> 12;
    return cpu->cpl <= iopl;
}

HELPER(helper_hlt)
{
    HELPER_COUNT(cpu, hlt);
    (void)arg;
    if (cpu->cpl != 0)
        bt_raise(cpu, EXC_GP, 0, true);
    cpu->eip = next;
    bt_leave(cpu, BT_EXIT_HLT);
}

/* arg: size, HA_X(1) = IN (else OUT), HA_X(2) = port in bits 24..31 is
 * an immediate (else DX) */
HELPER(helper_io)
{
    HELPER_COUNT(cpu, io);
    (void)next;
    unsigned size = arg & 0xffu;
    bool is_in = arg & HA_X(1);
    uint16_t port = (arg & HA_X(2)) ? (uint16_t)((arg >> 24) & 0xffu)
                                    : (uint16_t)(cpu->regs[R_EDX] & 0xffffu);
    if (!cpu_io_allowed(cpu, port, size))
        bt_raise(cpu, EXC_GP, 0, true);
    if (is_in) {
        uint32_t v = cpu->host->io_in(cpu->host->opaque, port, size);
        helper_set_reg(cpu, R_EAX, size, false, v);
    } else {
        cpu->host->io_out(cpu->host->opaque, port, size, cpu->regs[R_EAX]);
    }
    /* a device may have asked the CPU to stop (debug exit, interrupt) */
}

/* Software interrupts leave to the monitor, which delivers them through
 * the IDT; the return address is the next instruction. */
HELPER(helper_int)
{
    HELPER_COUNT(cpu, int);
    unsigned kind = (arg >> 20) & 0xfu;
    int vector = (int)((arg >> 24) & 0xffu);
    if (kind == INT_O) {
        if (!(cpu->eflags & FL_OF))
            return;
        vector = EXC_OF;
    } else if (kind == INT_3) {
        vector = EXC_BP;
    }
    cpu->exc_vector = vector;
    cpu->exc_error = 0;
    cpu->exc_has_error = false;
    cpu->exc_soft = true;
    cpu->exc_eip = cpu->eip;
    cpu->eip = next;
    cpu->bt->stats.exceptions++;
    /* Protected mode without single-stepping (the common system call):
     * through the IDT here, then on in translated code if the handler's
     * block is at hand; otherwise the run loop does it. */
    if (!(cpu->cr0 & CR0_PE) || (cpu->eflags & FL_TF) || (cpu->dr[7] & 0xffu))
        bt_leave(cpu, BT_EXIT_EXCEPTION);
    bt_deliver_soft_int(cpu, vector);
    if (bt_fast_resume(cpu))
        return;
    bt_leave(cpu, EXIT_R_RESUME);
}

static uint32_t pop(struct cpu *cpu, unsigned size)
{
    uint32_t v = mmu_read(cpu, cpu->seg[S_SS].base + cpu->regs[R_ESP], size);
    cpu->regs[R_ESP] += size;
    return v;
}

HELPER(helper_popf)
{
    HELPER_COUNT(cpu, popf);
    unsigned size = arg & 0xffu;
    uint32_t v = pop(cpu, size);
    uint32_t mask = FL_ARITH | FL_TF | FL_DF | FL_NT | FL_AC | FL_ID;
    uint32_t iopl = (cpu->eflags & FL_IOPL) >> 12;
    if (cpu->cpl == 0)
        mask |= FL_IOPL;
    if (cpu->cpl <= iopl)
        mask |= FL_IF;
    if (size == 2)
        mask &= 0xffffu;
    uint32_t old = cpu->eflags;
    uint32_t mode = bt_mode(cpu);
    cpu->eflags = (old & ~mask) | (v & mask) | 2u;
    if (bt_mode(cpu) != mode) { /* TF changed: leave through the dispatcher */
        cpu->eip = next;
        bt_leave(cpu, EXIT_R_RESUME);
    }
    if (!(old & FL_IF) && (cpu->eflags & FL_IF) && cpu->irq_pending)
        bt_request_exit(cpu);
}

/* ENTER imm16, imm8: arg = size | HA_X(level) | alloc << 8 in bits 8..? */
HELPER(helper_enter)
{
    HELPER_COUNT(cpu, enter);
    (void)next;
    unsigned size = arg & 0xfu;
    unsigned level = (arg >> 4) & 0x1fu;
    uint32_t alloc = arg >> 16;
    uint32_t base = cpu->seg[S_SS].base;
    uint32_t esp = cpu->regs[R_ESP], ebp = cpu->regs[R_EBP];
    /* compute everything on copies; commit at the end */
    uint32_t sp = esp - size;
    mmu_write(cpu, base + sp, size, ebp);
    uint32_t frame = sp;
    for (unsigned i = 1; i < level; i++) {
        ebp -= size;
        uint32_t v = mmu_read(cpu, base + ebp, size);
        sp -= size;
        mmu_write(cpu, base + sp, size, v);
    }
    if (level > 0) {
        sp -= size;
        mmu_write(cpu, base + sp, size, frame);
    }
    sp -= alloc;
    /* the new stack top must be writable, as the SDM checks */
    if (alloc)
        mmu_translate(cpu, base + sp, ACC_WRITE | 1);
    helper_set_reg(cpu, R_EBP, size, false, frame);
    cpu->regs[R_ESP] = sp;
}


/* CLI/STI: arg HA_X(1) = STI. Allowed when CPL <= IOPL. STI delays
 * interrupts by one instruction (the shadow). */
HELPER(helper_cli_sti)
{
    HELPER_COUNT(cpu, cli_sti);
    (void)next;
    if (!io_allowed(cpu))
        bt_raise(cpu, EXC_GP, 0, true);
    if (arg & HA_X(1)) {
        if (!(cpu->eflags & FL_IF)) {
            cpu->eflags |= FL_IF;
            cpu->inhibit_irq = 1;
            if (cpu->irq_pending)
                bt_request_exit(cpu);
        }
    } else {
        cpu->eflags &= ~FL_IF;
    }
}

/* VMCALL: the VMI ROM's hypercall into the monitor. */
HELPER(helper_hypercall)
{
    HELPER_COUNT(cpu, hypercall);
    (void)arg;
    if (!cpu->host || !cpu->host->hypercall)
        bt_raise(cpu, EXC_UD, 0, false);
    cpu->bt->stats.hypercalls++;
    uint32_t mode = bt_mode(cpu);
    cpu->host->hypercall(cpu->host->opaque, cpu);
    /* SetCR0, SetGDT... may change how code translates: then do not
     * take the block's chained exit */
    if (bt_mode(cpu) != mode) {
        cpu->eip = next;
        if (bt_fast_resume(cpu))
            return;
        bt_leave(cpu, EXIT_R_RESUME);
    }
}

/* Segment limit check for segments that are not flat 4 GiB: offset in
 * cpu->sys_lin, arg = segment | size << 8. #SS for the stack, else #GP. */
HELPER(helper_seg_check)
{
    HELPER_COUNT(cpu, seg_check);
    (void)next;
    int s = (int)(arg & 0xffu);
    unsigned size = (arg >> 8) & 0xffu;
    const struct seg *g = &cpu->seg[s];
    uint32_t off = cpu->sys_lin, last = off + (size ? size - 1 : 0);
    int vec = s == S_SS ? EXC_SS : EXC_GP;
    if (!(g->attr & 0x80))
        bt_raise(cpu, vec, 0, true);
    bool expand_down = (g->attr & 0x10) && !(g->attr & 0x8) && (g->attr & 0x4);
    if (expand_down) {
        uint32_t top = (g->attr & 0x4000) ? 0xffffffffu : 0xffffu;
        if (off <= g->limit || last > top || last < off)
            bt_raise(cpu, vec, 0, true);
    } else if (last > g->limit || last < off) {
        bt_raise(cpu, vec, 0, true);
    }
}

/* DR0-DR3 execution breakpoint before this instruction: a #DB fault,
 * unless EFLAGS.RF says the handler asked to resume past it once. */
HELPER(helper_exec_bp)
{
    (void)arg;
    (void)next;
    if (cpu->eflags & FL_RF) {
        cpu->eflags &= ~FL_RF;
        return;
    }
    uint32_t bits = 0;
    for (int i = 0; i < 4; i++)
        if (dr7_exec_bp(cpu->dr[7], i) && cpu->dr[i] == cpu->eip)
            bits |= 1u << i;
    cpu->dr[6] = (cpu->dr[6] & ~0x400fu) | 0xffff0ff0u | bits;
    bt_raise(cpu, EXC_DB, 0, false);
}
