/* System instructions: their operands are gathered inline (memory operand
 * linear address into cpu->sys_lin, far pointers into sys_imm/sys_sel)
 * and one helper, helper_sys, executes them in C. They end the block:
 * most of them change CPL, segments, paging or EIP. Loads of DS, ES, FS
 * and GS try the segment-load cache first (xlate_seg.c) and do not. */
#include <stdio.h>

#include "bt/helpers.h"
#include "bt/regs.h"
#include "bt/xlate.h"

static int sreg_num(ZydisRegister r)
{
    switch (r) {
    case ZYDIS_REGISTER_ES: return S_ES;
    case ZYDIS_REGISTER_CS: return S_CS;
    case ZYDIS_REGISTER_SS: return S_SS;
    case ZYDIS_REGISTER_DS: return S_DS;
    case ZYDIS_REGISTER_FS: return S_FS;
    case ZYDIS_REGISTER_GS: return S_GS;
    default: return -1;
    }
}

static int cr_num(ZydisRegister r)
{
    if (r >= ZYDIS_REGISTER_CR0 && r <= ZYDIS_REGISTER_CR15)
        return (int)(r - ZYDIS_REGISTER_CR0);
    if (r >= ZYDIS_REGISTER_DR0 && r <= ZYDIS_REGISTER_DR15)
        return (int)(r - ZYDIS_REGISTER_DR0);
    return -1;
}

static uint32_t reg_bits(ZydisRegister r, int slot)
{
    bool h;
    int g = guest_reg_num(r, &h);
    return g < 0 ? 0 : (uint32_t)g << (slot ? 24 : 8);
}

void x_sys(struct tctx *t)
{
    const struct insn *in = t->in;
    const ZydisDecodedInstruction *d = &in->d;
    struct emit *e = &t->e;
    uint32_t op = SYS_NONE, arg = 0;
    unsigned opsize = d->operand_width == 16 ? 2 : 4;
    const ZydisDecodedOperand *o0 = &in->ops[0], *o1 = &in->ops[1];
    int mem = -1;
    for (unsigned i = 0; i < d->operand_count_visible; i++)
        if (in->ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY &&
            in->ops[i].mem.type == ZYDIS_MEMOP_TYPE_MEM)
            mem = (int)i;
    bool far = d->meta.branch_type == ZYDIS_BRANCH_TYPE_FAR;

    switch (d->mnemonic) {
    case ZYDIS_MNEMONIC_MOV: {
        int s0 = o0->type == ZYDIS_OPERAND_TYPE_REGISTER ? sreg_num(o0->reg.value) : -1;
        int s1 = o1->type == ZYDIS_OPERAND_TYPE_REGISTER ? sreg_num(o1->reg.value) : -1;
        int c0 = o0->type == ZYDIS_OPERAND_TYPE_REGISTER ? cr_num(o0->reg.value) : -1;
        int c1 = o1->type == ZYDIS_OPERAND_TYPE_REGISTER ? cr_num(o1->reg.value) : -1;
        bool dr0 = c0 >= 0 && o0->reg.value >= ZYDIS_REGISTER_DR0;
        bool dr1 = c1 >= 0 && o1->reg.value >= ZYDIS_REGISTER_DR0;
        if (s0 >= 0) {
            op = SYS_MOV_TO_SREG;
            arg = SA_X(s0);
            if (o1->type == ZYDIS_OPERAND_TYPE_REGISTER)
                arg |= reg_bits(o1->reg.value, 0);
        } else if (s1 >= 0) {
            op = SYS_MOV_FROM_SREG;
            arg = SA_X(s1);
            if (o0->type == ZYDIS_OPERAND_TYPE_REGISTER)
                arg |= reg_bits(o0->reg.value, 0);
        } else if (c0 >= 0) {
            op = dr0 ? SYS_MOV_TO_DR : SYS_MOV_TO_CR;
            arg = SA_X(c0) | reg_bits(o1->reg.value, 0);
        } else if (c1 >= 0) {
            op = dr1 ? SYS_MOV_FROM_DR : SYS_MOV_FROM_CR;
            arg = SA_X(c1) | reg_bits(o0->reg.value, 0);
        }
        break;
    }
    case ZYDIS_MNEMONIC_LGDT: op = SYS_LGDT; break;
    case ZYDIS_MNEMONIC_LIDT: op = SYS_LIDT; break;
    case ZYDIS_MNEMONIC_SGDT: op = SYS_SGDT; break;
    case ZYDIS_MNEMONIC_SIDT: op = SYS_SIDT; break;
    case ZYDIS_MNEMONIC_LLDT: op = SYS_LLDT; break;
    case ZYDIS_MNEMONIC_SLDT: op = SYS_SLDT; break;
    case ZYDIS_MNEMONIC_LTR: op = SYS_LTR; break;
    case ZYDIS_MNEMONIC_STR: op = SYS_STR; break;
    case ZYDIS_MNEMONIC_LMSW: op = SYS_LMSW; break;
    case ZYDIS_MNEMONIC_SMSW: op = SYS_SMSW; break;
    case ZYDIS_MNEMONIC_CLTS: op = SYS_CLTS; break;
    case ZYDIS_MNEMONIC_INVLPG: op = SYS_INVLPG; break;
    case ZYDIS_MNEMONIC_WBINVD: case ZYDIS_MNEMONIC_INVD: op = SYS_WBINVD; break;
    case ZYDIS_MNEMONIC_RDMSR: op = SYS_RDMSR; break;
    case ZYDIS_MNEMONIC_WRMSR: op = SYS_WRMSR; break;
    case ZYDIS_MNEMONIC_RDPMC: op = SYS_RDPMC; break;
    case ZYDIS_MNEMONIC_RDTSC: op = SYS_RDTSC; break;
    case ZYDIS_MNEMONIC_SYSENTER: op = SYS_SYSENTER; break;
    case ZYDIS_MNEMONIC_SYSEXIT: op = SYS_SYSEXIT; break;
    case ZYDIS_MNEMONIC_IRET: case ZYDIS_MNEMONIC_IRETD: op = SYS_IRET; break;
    case ZYDIS_MNEMONIC_LAR: op = SYS_LAR; break;
    case ZYDIS_MNEMONIC_LSL: op = SYS_LSL; break;
    case ZYDIS_MNEMONIC_VERR: op = SYS_VERR; break;
    case ZYDIS_MNEMONIC_VERW: op = SYS_VERW; break;
    case ZYDIS_MNEMONIC_ARPL: op = SYS_ARPL; break;
    case ZYDIS_MNEMONIC_BOUND: op = SYS_BOUND; break;
    case ZYDIS_MNEMONIC_LDS: op = SYS_LXS; arg = SA_X(S_DS); break;
    case ZYDIS_MNEMONIC_LES: op = SYS_LXS; arg = SA_X(S_ES); break;
    case ZYDIS_MNEMONIC_LFS: op = SYS_LXS; arg = SA_X(S_FS); break;
    case ZYDIS_MNEMONIC_LGS: op = SYS_LXS; arg = SA_X(S_GS); break;
    case ZYDIS_MNEMONIC_LSS: op = SYS_LXS; arg = SA_X(S_SS); break;
    case ZYDIS_MNEMONIC_JMP: if (far) op = SYS_JMPF; break;
    case ZYDIS_MNEMONIC_CALL: if (far) op = SYS_CALLF; break;
    case ZYDIS_MNEMONIC_RET: if (far) op = SYS_RETF; break;
    default: break;
    }
    if (op == SYS_NONE) {
        x_call_helper_end(t, (void *)helper_raise_ud, 0);
        return;
    }
    /* register operands: first (destination or only) and second */
    if (op == SYS_LAR || op == SYS_LSL || op == SYS_BOUND || op == SYS_LXS) {
        arg |= reg_bits(o0->reg.value, 1);
        if (o1->type == ZYDIS_OPERAND_TYPE_REGISTER)
            arg |= reg_bits(o1->reg.value, 0);
    } else if (op == SYS_ARPL) {
        if (o0->type == ZYDIS_OPERAND_TYPE_REGISTER)
            arg |= reg_bits(o0->reg.value, 0);
        arg |= reg_bits(o1->reg.value, 1);
    } else if (op != SYS_MOV_TO_SREG && op != SYS_MOV_FROM_SREG &&
               op < SYS_MOV_TO_CR && d->operand_count_visible > 0 &&
               o0->type == ZYDIS_OPERAND_TYPE_REGISTER) {
        arg |= reg_bits(o0->reg.value, 0);
    }
    if (mem >= 0) {
        x_ea(t, &in->ops[mem], 0);
        E(e, ZYDIS_MNEMONIC_MOV, 2, MC(OFF(sys_lin), 4), R(R10D));
        arg |= SA_MEM;
    }
    /* far pointer immediates (JMP/CALL ptr16:32) */
    for (unsigned i = 0; i < d->operand_count_visible; i++) {
        if (in->ops[i].type == ZYDIS_OPERAND_TYPE_POINTER) {
            E(e, ZYDIS_MNEMONIC_MOV, 2, MC(OFF(sys_imm), 4), I32(in->ops[i].ptr.offset));
            E(e, ZYDIS_MNEMONIC_MOV, 2, MC(OFF(sys_sel), 4), I32(in->ops[i].ptr.segment));
            arg |= SA_PTR;
        } else if (in->ops[i].type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
            E(e, ZYDIS_MNEMONIC_MOV, 2, MC(OFF(sys_imm), 4),
              I32((uint32_t)in->ops[i].imm.value.u));
        }
    }
    if (op == SYS_RETF && !(d->operand_count_visible > 0 &&
                            o0->type == ZYDIS_OPERAND_TYPE_IMMEDIATE))
        E(e, ZYDIS_MNEMONIC_MOV, 2, MC(OFF(sys_imm), 4), I(0));
    unsigned osz = opsize;
    if (mem >= 0 && (op == SYS_MOV_FROM_SREG || op == SYS_SLDT || op == SYS_STR ||
                     op == SYS_SMSW))
        osz = 2; /* stores to memory are 16-bit */
    int sreg = (int)((arg >> 20) & 0xfu);
    if (op == SYS_MOV_TO_SREG && x_seg_inline_ok(t, sreg)) {
        /* the selector into r8d (from memory: r10d still holds its
         * linear address, which sys_lin keeps for the helper), then a
         * load the segment-load cache may know (xlate_seg.c) */
        if (mem >= 0) {
            x_probe(t, 2, ACC_READ);
            E(e, ZYDIS_MNEMONIC_MOVZX, 2, R(R8D), x_mem(t, 2));
            x_probe_end(t);
            x_seg_load(t, sreg, 0, (void *)helper_sys, arg | op | SA_SIZE(osz));
            return;
        }
        bool h;
        int g = guest_reg_num(o1->reg.value, &h);
        if (g < 0 || h) {
            e->failed = true;
            snprintf(e->failed_what, sizeof e->failed_what,
                     "segment load from an unexpected register");
            return;
        }
        if (x_seg_load_same(t, sreg, g))
            return;
        E(e, ZYDIS_MNEMONIC_MOVZX, 2, R(R8D), R(guest_host16[g]));
        x_seg_load(t, sreg, 0, (void *)helper_sys, arg | op | SA_SIZE(osz));
        x_seg_note_load(t, sreg, g);
        return;
    }
    x_call_helper_end(t, (void *)helper_sys, arg | op | SA_SIZE(osz));
}
