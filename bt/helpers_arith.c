/* Division (with #DE exactly where hardware raises it) and the BCD
 * adjustments, which have no 64-bit encoding. */
#include <stdbool.h>

#include "bt/helpers.h"
#include "bt/internal.h"
#include "bt/xlate.h"

uint32_t parity_flag(uint32_t v)
{
    return (__builtin_popcount(v & 0xffu) & 1) ? 0 : FL_PF;
}

uint32_t helper_operand(struct cpu *cpu, uint32_t arg)
{
    unsigned size = arg & 0xffu;
    uint32_t v;
    if (arg & HA_MEM) {
        v = (uint32_t)cpu->save_r8;
    } else {
        v = cpu->regs[HA_GET_REG(arg)];
        if (arg & HA_HIGH8)
            v >>= 8;
    }
    if (size == 1)
        v &= 0xffu;
    else if (size == 2)
        v &= 0xffffu;
    return v;
}

void helper_set_reg(struct cpu *cpu, int reg, unsigned size, bool high8,
                    uint32_t val)
{
    uint32_t *r = &cpu->regs[reg];
    if (size == 4)
        *r = val;
    else if (size == 2)
        *r = (*r & 0xffff0000u) | (val & 0xffffu);
    else if (high8)
        *r = (*r & 0xffff00ffu) | ((val & 0xffu) << 8);
    else
        *r = (*r & 0xffffff00u) | (val & 0xffu);
}

HELPER(helper_div)
{
    HELPER_COUNT(cpu, div);
    (void)next;
    unsigned size = arg & 0xffu;
    bool is_signed = arg & HA_X(1);
    uint32_t src = helper_operand(cpu, arg);
    uint32_t *eax = &cpu->regs[R_EAX], *edx = &cpu->regs[R_EDX];
    if (src == 0)
        bt_raise(cpu, EXC_DE, 0, false);
    if (!is_signed) {
        uint64_t dividend, q, r, max;
        if (size == 1)
            dividend = *eax & 0xffffu, max = 0xff;
        else if (size == 2)
            dividend = ((*edx & 0xffffu) << 16) | (*eax & 0xffffu), max = 0xffff;
        else
            dividend = ((uint64_t)*edx << 32) | *eax, max = 0xffffffffu;
        q = dividend / src;
        r = dividend % src;
        if (q > max)
            bt_raise(cpu, EXC_DE, 0, false);
        if (size == 1) {
            *eax = (*eax & 0xffff0000u) | ((uint32_t)r << 8) | (uint32_t)q;
        } else if (size == 2) {
            helper_set_reg(cpu, R_EAX, 2, false, (uint32_t)q);
            helper_set_reg(cpu, R_EDX, 2, false, (uint32_t)r);
        } else {
            *eax = (uint32_t)q;
            *edx = (uint32_t)r;
        }
        return;
    }
    int64_t dividend, divisor, q, r, lo, hi;
    if (size == 1) {
        dividend = (int16_t)(*eax & 0xffffu);
        divisor = (int8_t)src;
        lo = -128, hi = 127;
    } else if (size == 2) {
        dividend = (int32_t)(((*edx & 0xffffu) << 16) | (*eax & 0xffffu));
        divisor = (int16_t)src;
        lo = -32768, hi = 32767;
    } else {
        dividend = (int64_t)(((uint64_t)*edx << 32) | *eax);
        divisor = (int32_t)src;
        lo = INT32_MIN, hi = INT32_MAX;
    }
    if (divisor == -1 && dividend == INT64_MIN)
        bt_raise(cpu, EXC_DE, 0, false); /* would trap the host too */
    q = dividend / divisor;
    r = dividend % divisor;
    if (q < lo || q > hi)
        bt_raise(cpu, EXC_DE, 0, false);
    if (size == 1) {
        *eax = (*eax & 0xffff0000u) | (((uint32_t)r & 0xffu) << 8) |
               ((uint32_t)q & 0xffu);
    } else if (size == 2) {
        helper_set_reg(cpu, R_EAX, 2, false, (uint32_t)q);
        helper_set_reg(cpu, R_EDX, 2, false, (uint32_t)r);
    } else {
        *eax = (uint32_t)q;
        *edx = (uint32_t)r;
    }
}

static void set_szp(struct cpu *cpu, uint8_t v)
{
    cpu->eflags &= ~(FL_SF | FL_ZF | FL_PF);
    if (v == 0)
        cpu->eflags |= FL_ZF;
    if (v & 0x80)
        cpu->eflags |= FL_SF;
    cpu->eflags |= parity_flag(v);
}

/* SDM pseudo-code for AAA AAS DAA DAS AAM AAD; flags the SDM leaves
 * undefined are computed as QEMU computes them where that is simple. */
HELPER(helper_bcd)
{
    HELPER_COUNT(cpu, bcd);
    (void)next;
    uint32_t *eax = &cpu->regs[R_EAX];
    uint8_t al = *eax & 0xffu, ah = (*eax >> 8) & 0xffu;
    bool af = cpu->eflags & FL_AF, cf = cpu->eflags & FL_CF;
    unsigned op = (arg >> 20) & 0xfu;
    uint8_t imm = (arg >> 24) & 0xffu;
    switch (op) {
    case BCD_AAA:
    case BCD_AAS:
        if ((al & 0xf) > 9 || af) {
            if (op == BCD_AAA) {
                uint16_t ax = (uint16_t)((*eax & 0xffffu) + 0x106);
                al = ax & 0xff;
                ah = ax >> 8;
            } else {
                uint16_t ax = (uint16_t)((*eax & 0xffffu) - 6);
                al = ax & 0xff;
                ah = (uint8_t)((ax >> 8) - 1);
            }
            af = cf = true;
        } else {
            af = cf = false;
        }
        al &= 0xf;
        *eax = (*eax & 0xffff0000u) | ((uint32_t)ah << 8) | al;
        cpu->eflags &= ~(FL_AF | FL_CF);
        cpu->eflags |= (af ? FL_AF : 0) | (cf ? FL_CF : 0);
        return;
    case BCD_DAA:
    case BCD_DAS: {
        uint8_t old_al = al;
        bool old_cf = cf;
        cf = false;
        if ((al & 0xf) > 9 || af) {
            if (op == BCD_DAA) {
                cf = old_cf || al > 0xf9;
                al = (uint8_t)(al + 6);
            } else {
                cf = old_cf || al < 6;
                al = (uint8_t)(al - 6);
            }
            af = true;
        } else {
            af = false;
        }
        if (old_al > 0x99 || old_cf) {
            al = (uint8_t)(op == BCD_DAA ? al + 0x60 : al - 0x60);
            cf = true;
        } else if (op == BCD_DAA) {
            cf = false;
        }
        *eax = (*eax & 0xffffff00u) | al;
        cpu->eflags &= ~(FL_AF | FL_CF);
        cpu->eflags |= (af ? FL_AF : 0) | (cf ? FL_CF : 0);
        set_szp(cpu, al);
        return;
    }
    case BCD_AAM:
        if (imm == 0)
            bt_raise(cpu, EXC_DE, 0, false);
        ah = al / imm;
        al = al % imm;
        *eax = (*eax & 0xffff0000u) | ((uint32_t)ah << 8) | al;
        set_szp(cpu, al);
        return;
    case BCD_AAD:
        al = (uint8_t)(al + ah * imm);
        *eax = (*eax & 0xffff0000u) | al;
        set_szp(cpu, al);
        return;
    }
}
