/* helper_sys: executes the system instruction that x_sys described (see
 * the argument layout in helpers.h), with privilege checks first. */
#include "bt/cpu_sys.h"
#include "bt/helpers.h"
#include "bt/internal.h"
#include "bt/runtime.h"

static void need_cpl0(struct cpu *cpu)
{
    if (cpu->cpl != 0)
        bt_raise(cpu, EXC_GP, 0, true);
}

static uint32_t reg1(const struct cpu *cpu, uint32_t arg)
{
    return cpu->regs[(arg >> 8) & 7u];
}

/* The 16-bit source operand (register or memory) of LLDT/LTR/... */
static uint16_t src16(struct cpu *cpu, uint32_t arg)
{
    if (arg & SA_MEM)
        return (uint16_t)mmu_read(cpu, cpu->sys_lin, 2);
    return (uint16_t)reg1(cpu, arg);
}

/* Store a result to the r/m destination: memory or register 1. */
static void dst_store(struct cpu *cpu, uint32_t arg, unsigned size, uint32_t v)
{
    if (arg & SA_MEM)
        mmu_write(cpu, cpu->sys_lin, size, v);
    else
        helper_set_reg(cpu, (int)((arg >> 8) & 7u), size, false, v);
}

static void set_zf(struct cpu *cpu, bool z)
{
    cpu->eflags = z ? cpu->eflags | FL_ZF : cpu->eflags & ~FL_ZF;
}

/* The instruction moved EIP (or changed CS): continue at cpu->eip,
 * through the dispatcher unless bt_fast_resume finds the block; then the
 * helper returns at once (cpu->resume_code tells the thunk where to go). */
#define RESUME(cpu)                        \
    do {                                   \
        if (bt_fast_resume(cpu))           \
            return;                        \
        bt_leave((cpu), EXIT_R_RESUME);    \
    } while (0)

HELPER(helper_pop_sreg)
{
    HELPER_COUNT(cpu, pop_sreg);
    uint32_t mode = bt_mode(cpu);
    unsigned size = arg & 0xffu;
    int seg = (int)((arg >> 20) & 0xfu);
    uint32_t v = mmu_read(cpu, cpu->seg[S_SS].base + cpu->regs[R_ESP], size);
    seg_load(cpu, seg, (uint16_t)v);
    cpu->regs[R_ESP] += size;
    if (bt_mode(cpu) != mode) {
        cpu->eip = next;
        RESUME(cpu);
    }
}

static void sys_op(struct cpu *cpu, uint32_t arg, uint32_t next);

/* A system instruction may change the translation mode (CR0, segments,
 * DR7...): then the block's chained exit must not be taken. */
HELPER(helper_sys)
{
    HELPER_COUNT(cpu, sys);
    unsigned op = arg & 0xffu;
    /* these move EIP and always go on elsewhere (RESUME) */
    if (op == SYS_IRET || op == SYS_SYSENTER || op == SYS_SYSEXIT ||
        op == SYS_JMPF || op == SYS_CALLF || op == SYS_RETF) {
        sys_op(cpu, arg, next);
        return;
    }
    uint32_t mode = bt_mode(cpu);
    sys_op(cpu, arg, next);
    if (bt_mode(cpu) != mode) {
        cpu->eip = next;
        RESUME(cpu);
    }
}

static void sys_op(struct cpu *cpu, uint32_t arg, uint32_t next)
{
    unsigned op = arg & 0xffu;
    unsigned size = (arg >> 16) & 0xfu;
    unsigned x = (arg >> 20) & 0xfu;
    int r2 = (int)((arg >> 24) & 7u);
    uint32_t v;
    switch (op) {
    case SYS_MOV_TO_SREG:
        if (x == S_CS)
            bt_raise(cpu, EXC_UD, 0, false);
        seg_load(cpu, (int)x, src16(cpu, arg));
        return;
    case SYS_MOV_FROM_SREG:
        dst_store(cpu, arg, size, cpu->seg[x].sel);
        return;
    case SYS_MOV_TO_CR:
        need_cpl0(cpu);
        cpu_write_cr(cpu, (int)x, reg1(cpu, arg));
        return;
    case SYS_MOV_FROM_CR:
        need_cpl0(cpu);
        cpu->regs[(arg >> 8) & 7u] = cpu_read_cr(cpu, (int)x);
        return;
    case SYS_MOV_TO_DR:
        need_cpl0(cpu);
        cpu_write_dr(cpu, (int)x, reg1(cpu, arg));
        return;
    case SYS_MOV_FROM_DR:
        need_cpl0(cpu);
        cpu->regs[(arg >> 8) & 7u] = cpu_read_dr(cpu, (int)x);
        return;
    case SYS_LGDT:
    case SYS_LIDT:
        need_cpl0(cpu);
        sys_lgdt_lidt(cpu, op == SYS_LIDT, cpu->sys_lin, size);
        return;
    case SYS_SGDT:
    case SYS_SIDT:
        sys_sgdt_sidt(cpu, op == SYS_SIDT, cpu->sys_lin);
        return;
    case SYS_LLDT:
        need_cpl0(cpu);
        sys_lldt(cpu, src16(cpu, arg));
        return;
    case SYS_LTR:
        need_cpl0(cpu);
        sys_ltr(cpu, src16(cpu, arg));
        return;
    case SYS_SLDT:
        dst_store(cpu, arg, size, cpu->seg[S_LDTR].sel);
        return;
    case SYS_STR:
        dst_store(cpu, arg, size, cpu->seg[S_TR].sel);
        return;
    case SYS_SMSW:
        dst_store(cpu, arg, size, cpu->cr0);
        return;
    case SYS_LMSW: {
        need_cpl0(cpu);
        uint32_t w = src16(cpu, arg) & 0xfu;
        /* LMSW sets PE but never clears it */
        cpu_write_cr(cpu, 0, (cpu->cr0 & ~0xeu) | w | (cpu->cr0 & CR0_PE));
        return;
    }
    case SYS_CLTS:
        need_cpl0(cpu);
        cpu->cr0 &= ~CR0_TS;
        return;
    case SYS_INVLPG:
        need_cpl0(cpu);
        bt_tlb_flush_page(cpu, cpu->sys_lin);
        return;
    case SYS_WBINVD:
        need_cpl0(cpu);
        return;
    case SYS_RDMSR:
        need_cpl0(cpu);
        cpu_rdmsr(cpu);
        return;
    case SYS_WRMSR:
        need_cpl0(cpu);
        cpu_wrmsr(cpu);
        return;
    case SYS_RDPMC:
        /* no performance counters are modelled */
        bt_raise(cpu, EXC_GP, 0, true);
    case SYS_RDTSC: {
        if ((cpu->cr4 & CR4_TSD) && cpu->cpl != 0)
            bt_raise(cpu, EXC_GP, 0, true);
        uint64_t t = cpu_rdtsc(cpu);
        cpu->regs[R_EAX] = (uint32_t)t;
        cpu->regs[R_EDX] = (uint32_t)(t >> 32);
        return;
    }
    /* These end any STI / MOV SS shadow they ran in (they are the
     * instruction it covered, or later) and start none. */
    case SYS_SYSENTER:
        cpu_sysenter(cpu);
        cpu->inhibit_irq = 0;
        RESUME(cpu);
    case SYS_SYSEXIT:
        cpu_sysexit(cpu);
        cpu->inhibit_irq = 0;
        RESUME(cpu);
    case SYS_IRET:
        cpu_iret(cpu, size);
        cpu->inhibit_irq = 0;
        RESUME(cpu);
    case SYS_LAR:
    case SYS_LSL: {
        uint16_t sel = src16(cpu, arg);
        bool ok = sys_lar_lsl(cpu, sel, op == SYS_LSL, &v);
        set_zf(cpu, ok);
        if (ok)
            helper_set_reg(cpu, r2, size, false, v);
        return;
    }
    case SYS_VERR:
    case SYS_VERW:
        set_zf(cpu, sys_verr_verw(cpu, src16(cpu, arg), op == SYS_VERW));
        return;
    case SYS_ARPL: {
        uint16_t dst = src16(cpu, arg);
        uint16_t src = (uint16_t)cpu->regs[r2];
        if ((dst & 3u) < (src & 3u)) {
            dst_store(cpu, arg, 2, (dst & 0xfffcu) | (src & 3u));
            set_zf(cpu, true);
        } else {
            set_zf(cpu, false);
        }
        return;
    }
    case SYS_BOUND: {
        int32_t idx = (int32_t)cpu->regs[r2];
        int32_t lo = (int32_t)mmu_read(cpu, cpu->sys_lin, size);
        int32_t hi = (int32_t)mmu_read(cpu, cpu->sys_lin + size, size);
        if (size == 2) {
            idx = (int16_t)idx;
            lo = (int16_t)lo;
            hi = (int16_t)hi;
        }
        if (idx < lo || idx > hi)
            bt_raise(cpu, EXC_BR, 0, false);
        return;
    }
    case SYS_LXS: {
        uint32_t off = mmu_read(cpu, cpu->sys_lin, size);
        uint16_t sel = (uint16_t)mmu_read(cpu, cpu->sys_lin + size, 2);
        seg_load(cpu, (int)x, sel);
        helper_set_reg(cpu, r2, size, false, off);
        return;
    }
    case SYS_JMPF:
    case SYS_CALLF: {
        uint32_t off;
        uint16_t sel;
        if (arg & SA_PTR) {
            off = cpu->sys_imm;
            sel = (uint16_t)cpu->sys_sel;
        } else {
            off = mmu_read(cpu, cpu->sys_lin, size);
            sel = (uint16_t)mmu_read(cpu, cpu->sys_lin + size, 2);
        }
        if (op == SYS_JMPF)
            cpu_far_jmp(cpu, sel, off, size);
        else
            cpu_far_call(cpu, sel, off, size, next);
        RESUME(cpu);
    }
    case SYS_RETF:
        cpu_far_ret(cpu, size, (uint16_t)cpu->sys_imm);
        RESUME(cpu);
    default:
        bt_raise(cpu, EXC_UD, 0, false);
    }
}
