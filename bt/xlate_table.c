/* One table from guest mnemonic to handler: which instructions are copied
 * (generic), rewritten (flow, stack, LEA...), or sent to a C helper. */
#include <stddef.h>

#include "bt/helpers.h"
#include "bt/regs.h"
#include "bt/xlate.h"

void x_generic(struct tctx *t);
void x_lea(struct tctx *t);
void x_bt_mem_reg(struct tctx *t);
void x_xlat(struct tctx *t);
void x_nop(struct tctx *t);
void x_cld(struct tctx *t);
void x_std(struct tctx *t);
void x_jmp(struct tctx *t);
void x_jcc(struct tctx *t);
void x_call(struct tctx *t);
void x_ret(struct tctx *t);
void x_loop(struct tctx *t);
void x_push(struct tctx *t);
void x_pop(struct tctx *t);
void x_leave(struct tctx *t);
void x_pusha(struct tctx *t);
void x_popa(struct tctx *t);
void x_pushf(struct tctx *t);
void x_popf(struct tctx *t);
void x_fpu(struct tctx *t);

void x_sys(struct tctx *t);

static bool is_special_reg(ZydisRegister r)
{
    ZydisRegisterClass c = ZydisRegisterGetClass(r);
    return c == ZYDIS_REGCLASS_SEGMENT || c == ZYDIS_REGCLASS_CONTROL ||
           c == ZYDIS_REGCLASS_DEBUG;
}

void x_sys(struct tctx *t);

bool xlate_is_plain(const struct insn *in)
{
    xlate_fn fn = xlate_lookup(in->d.mnemonic);
    if (fn == x_generic || fn == x_lea)
        return true;
    if (in->d.mnemonic != ZYDIS_MNEMONIC_MOV)
        return false;
    for (unsigned i = 0; i < in->d.operand_count_visible; i++)
        if (in->ops[i].type == ZYDIS_OPERAND_TYPE_REGISTER &&
            is_special_reg(in->ops[i].reg.value))
            return false;
    return true;
}

/* MOV is generic unless it names a segment, control or debug register. */
static void x_mov(struct tctx *t)
{
    for (unsigned i = 0; i < t->in->d.operand_count_visible; i++)
        if (t->in->ops[i].type == ZYDIS_OPERAND_TYPE_REGISTER &&
            is_special_reg(t->in->ops[i].reg.value)) {
            x_sys(t);
            return;
        }
    if (!x_mov_run(t))
        x_generic(t);
}

/* 32-bit unsigned DIV inline when it cannot fault: divisor nonzero and
 * EDX below it (so the quotient fits), both tested flag-free; else, and
 * for the other sizes and IDIV, helper_div raises #DE or divides. The
 * guest's flags (undefined after DIV) stay as they were, as with the
 * helper. Compiled 64-by-32 division (do_div, udiv_qrnnd) is this form. */
static void x_div(struct tctx *t)
{
    struct emit *e = &t->e;
    const ZydisDecodedOperand *op = &t->in->ops[0];
    uint32_t arg = x_rm_to_helper(t, op);
    if (t->in->d.mnemonic == ZYDIS_MNEMONIC_IDIV)
        arg |= HA_X(1);
    if (t->in->d.mnemonic != ZYDIS_MNEMONIC_DIV || op->size != 32) {
        x_call_helper(t, (void *)helper_div, arg);
        return;
    }
    ZydisRegister src = (arg & HA_MEM) ? R8D : host_reg(op->reg.value, false);
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(ECX), R(src));
    uint8_t *zero = E_branch(e, ZYDIS_MNEMONIC_JRCXZ, e->p, ZYDIS_BRANCH_WIDTH_8);
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(R9D), R(ECX));
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(R11D), R(EDX));
    /* rcx = EDX - divisor as 64-bit; its high half is 0 when EDX >= it */
    E(e, ZYDIS_MNEMONIC_NOT, 1, R(RCX));
    E(e, ZYDIS_MNEMONIC_LEA, 2, R(RCX), M(R11, RCX, 1, 1, 8));
    E(e, ZYDIS_MNEMONIC_RORX, 3, R(RCX), R(RCX), I(32));
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(ECX), R(ECX));
    uint8_t *overflow = E_branch(e, ZYDIS_MNEMONIC_JRCXZ, e->p, ZYDIS_BRANCH_WIDTH_8);
    E(e, ZYDIS_MNEMONIC_PUSHFQ, 0);
    E(e, ZYDIS_MNEMONIC_DIV, 1, R(R9D));
    E(e, ZYDIS_MNEMONIC_POPFQ, 0);
    uint8_t *done = E_branch(e, ZYDIS_MNEMONIC_JMP, e->p, ZYDIS_BRANCH_WIDTH_32);
    patch_rel8(zero, e->p);
    patch_rel8(overflow, e->p);
    x_call_helper(t, (void *)helper_div, arg);
    patch_rel32(done, e->p);
}

static void x_bcd(struct tctx *t)
{
    unsigned op;
    switch (t->in->d.mnemonic) {
    case ZYDIS_MNEMONIC_AAA: op = BCD_AAA; break;
    case ZYDIS_MNEMONIC_AAS: op = BCD_AAS; break;
    case ZYDIS_MNEMONIC_DAA: op = BCD_DAA; break;
    case ZYDIS_MNEMONIC_DAS: op = BCD_DAS; break;
    case ZYDIS_MNEMONIC_AAM: op = BCD_AAM; break;
    default: op = BCD_AAD; break;
    }
    uint32_t imm = 10;
    for (unsigned i = 0; i < t->in->d.operand_count; i++)
        if (t->in->ops[i].type == ZYDIS_OPERAND_TYPE_IMMEDIATE)
            imm = (uint32_t)t->in->ops[i].imm.value.u & 0xff;
    x_call_helper(t, (void *)helper_bcd, HA_X(op) | (imm << 24));
}

static void x_cpuid(struct tctx *t) { x_call_helper(t, (void *)helper_cpuid, 0); }
static void x_hlt(struct tctx *t) { x_call_helper_end(t, (void *)helper_hlt, 0); }

static void x_io(struct tctx *t)
{
    const ZydisDecodedInstruction *d = &t->in->d;
    bool in = d->mnemonic == ZYDIS_MNEMONIC_IN;
    unsigned size = 1;
    uint32_t arg = in ? HA_X(1) : 0;
    for (unsigned i = 0; i < d->operand_count_visible; i++) {
        const ZydisDecodedOperand *o = &t->in->ops[i];
        if (o->type == ZYDIS_OPERAND_TYPE_IMMEDIATE)
            arg |= HA_X(2) | ((uint32_t)(o->imm.value.u & 0xff) << 24);
        if (o->type == ZYDIS_OPERAND_TYPE_REGISTER && o->reg.value != ZYDIS_REGISTER_DX)
            size = o->size / 8;
    }
    /* a device may stop the CPU: end the block so the request is seen */
    x_call_helper_end(t, (void *)helper_io, arg | HA_SIZE(size));
}

static void x_int(struct tctx *t)
{
    ZydisMnemonic m = t->in->d.mnemonic;
    uint32_t kind = m == ZYDIS_MNEMONIC_INT3 ? INT_3 : m == ZYDIS_MNEMONIC_INTO ? INT_O : INT_N;
    uint32_t vec = 0;
    if (kind == INT_N)
        vec = (uint32_t)t->in->ops[0].imm.value.u & 0xff;
    x_call_helper_end(t, (void *)helper_int, HA_X(kind) | (vec << 24));
}

static unsigned opsize(const struct tctx *t)
{
    return t->in->d.operand_width == 16 ? 2 : 4;
}

static void x_enter(struct tctx *t)
{
    uint32_t alloc = (uint32_t)t->in->ops[0].imm.value.u & 0xffff;
    uint32_t level = (uint32_t)t->in->ops[1].imm.value.u & 0x1f;
    x_call_helper(t, (void *)helper_enter, opsize(t) | (level << 4) | (alloc << 16));
}

/* CLI/STI at CPL 0 are one store to the virtual IF; elsewhere IOPL
 * decides, in a helper. STI ends the block; if an interrupt is already
 * pending it stops the CPU, whose run loop delivers it after the next
 * instruction (the STI shadow, which `sti; hlt` relies on). */
static void x_cli(struct tctx *t)
{
    if (t->mode & MODE_CPL0)
        E(&t->e, ZYDIS_MNEMONIC_MOV, 2, MC(OFF(if_flag), 4), I(0));
    else
        x_call_helper(t, (void *)helper_cli_sti, 0);
}

static void x_sti(struct tctx *t)
{
    struct emit *e = &t->e;
    if (!(t->mode & MODE_CPL0)) {
        x_call_helper_end(t, (void *)helper_cli_sti, HA_X(1));
        return;
    }
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(ECX), MC(OFF(if_flag), 4));
    uint8_t *was_on = E_branch(e, ZYDIS_MNEMONIC_JRCXZ, e->p, ZYDIS_BRANCH_WIDTH_8);
    uint8_t *skip_all = E_branch(e, ZYDIS_MNEMONIC_JMP, e->p, ZYDIS_BRANCH_WIDTH_8);
    patch_rel8(was_on, e->p);
    E(e, ZYDIS_MNEMONIC_MOV, 2, MC(OFF(if_flag), 4), I(FL_IF));
    E(e, ZYDIS_MNEMONIC_MOV, 2, MC(OFF(inhibit_irq), 4), I(1));
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(ECX), MC(OFF(irq_pending), 4));
    uint8_t *none = E_branch(e, ZYDIS_MNEMONIC_JRCXZ, e->p, ZYDIS_BRANCH_WIDTH_8);
    E(e, ZYDIS_MNEMONIC_MOV, 2, MC(OFF(run), 4), I(0));
    patch_rel8(none, e->p);
    patch_rel8(skip_all, e->p);
    x_exit_direct(t, ZYDIS_MNEMONIC_JMP, t->next_eip);
    t->ended = true;
}
/* The hypercall may change anything (CR3, IF, page tables): end the
 * block after it. */
static void x_vmcall(struct tctx *t) { x_call_helper_end(t, (void *)helper_hypercall, 0); }
static void x_ud(struct tctx *t) { x_call_helper_end(t, (void *)helper_raise_ud, 0); }

void x_sys(struct tctx *t);

/* RDTSC is inline at CPL 0 (elsewhere CR4.TSD may forbid it): the host
 * TSC plus cpu->tsc_offset, which a WRMSR sets and translation time
 * lowers (the guest's clocks stop while tpvm translates). Flag-free: the
 * guest flags live in the host EFLAGS. */
static void x_rdtsc(struct tctx *t)
{
    if (t->mode & MODE_CPL3) {
        x_sys(t);
        return;
    }
    struct emit *e = &t->e;
    E(e, ZYDIS_MNEMONIC_RDTSC, 0);
    E(e, ZYDIS_MNEMONIC_RORX, 3, R(RDX), R(RDX), I(32)); /* edx << 32 */
    E(e, ZYDIS_MNEMONIC_LEA, 2, R(RAX), M(RAX, RDX, 1, 0, 8));
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(RCX), MC(OFF(tsc_offset), 8));
    E(e, ZYDIS_MNEMONIC_LEA, 2, R(RAX), M(RAX, RCX, 1, 0, 8));
    E(e, ZYDIS_MNEMONIC_RORX, 3, R(RDX), R(RAX), I(32));
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(EAX), R(EAX));
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(EDX), R(EDX));
}

/* JMP/CALL/RET far go to the system helper. */
static void x_jmp_any(struct tctx *t)
{
    if (t->in->d.meta.branch_type == ZYDIS_BRANCH_TYPE_FAR)
        x_sys(t);
    else
        x_jmp(t);
}

static void x_call_any(struct tctx *t)
{
    if (t->in->d.meta.branch_type == ZYDIS_BRANCH_TYPE_FAR)
        x_sys(t);
    else
        x_call(t);
}

static void x_ret_any(struct tctx *t)
{
    if (t->in->d.meta.branch_type == ZYDIS_BRANCH_TYPE_FAR)
        x_sys(t);
    else
        x_ret(t);
}

/* TZCNT/LZCNT encodings are REP BSF / REP BSR on a P6-class CPU. */
static void x_bsf_compat(struct tctx *t)
{
    struct insn copy = *t->in;
    copy.d.mnemonic = t->in->d.mnemonic == ZYDIS_MNEMONIC_TZCNT ? ZYDIS_MNEMONIC_BSF
                                                                 : ZYDIS_MNEMONIC_BSR;
    copy.d.attributes &= ~(ZydisInstructionAttributes)ZYDIS_ATTRIB_HAS_REP;
    const struct insn *saved = t->in;
    t->in = &copy;
    x_generic(t);
    t->in = saved;
}

#define G(m) [ZYDIS_MNEMONIC_##m] = x_generic
static const xlate_fn table[ZYDIS_MNEMONIC_MAX_VALUE + 1] = {
    G(ADD), G(ADC), G(SUB), G(SBB), G(AND), G(OR), G(XOR), G(CMP), G(TEST),
    G(INC), G(DEC), G(NEG), G(NOT), G(MUL), G(IMUL),
    G(SHL), G(SHR), G(SAR), G(ROL), G(ROR), G(RCL), G(RCR), G(SHLD), G(SHRD),
    G(BSF), G(BSR), G(BSWAP), G(XCHG), G(XADD), G(CMPXCHG), G(CMPXCHG8B),
    G(CMOVB), G(CMOVBE), G(CMOVL), G(CMOVLE), G(CMOVNB), G(CMOVNBE), G(CMOVNL),
    G(CMOVNLE), G(CMOVNO), G(CMOVNP), G(CMOVNS), G(CMOVNZ), G(CMOVO), G(CMOVP),
    G(CMOVS), G(CMOVZ),
    G(SETB), G(SETBE), G(SETL), G(SETLE), G(SETNB), G(SETNBE), G(SETNL),
    G(SETNLE), G(SETNO), G(SETNP), G(SETNS), G(SETNZ), G(SETO), G(SETP),
    G(SETS), G(SETZ),
    G(MOVZX), G(MOVSX), G(CBW), G(CWDE), G(CWD), G(CDQ), G(LAHF), G(SAHF),
    G(CLC), G(STC), G(CMC),
    [ZYDIS_MNEMONIC_RDTSC] = x_rdtsc,
    [ZYDIS_MNEMONIC_MOV] = x_mov,
    [ZYDIS_MNEMONIC_BT] = x_bt_mem_reg, [ZYDIS_MNEMONIC_BTS] = x_bt_mem_reg,
    [ZYDIS_MNEMONIC_BTR] = x_bt_mem_reg, [ZYDIS_MNEMONIC_BTC] = x_bt_mem_reg,
    [ZYDIS_MNEMONIC_TZCNT] = x_bsf_compat, [ZYDIS_MNEMONIC_LZCNT] = x_bsf_compat,
    [ZYDIS_MNEMONIC_LEA] = x_lea, [ZYDIS_MNEMONIC_XLAT] = x_xlat,
    [ZYDIS_MNEMONIC_NOP] = x_nop, [ZYDIS_MNEMONIC_PAUSE] = x_nop,
    [ZYDIS_MNEMONIC_ENDBR32] = x_nop, [ZYDIS_MNEMONIC_ENDBR64] = x_nop,
    [ZYDIS_MNEMONIC_PREFETCHNTA] = x_nop, [ZYDIS_MNEMONIC_PREFETCHT0] = x_nop,
    [ZYDIS_MNEMONIC_PREFETCHT1] = x_nop, [ZYDIS_MNEMONIC_PREFETCHT2] = x_nop,
    [ZYDIS_MNEMONIC_CLD] = x_cld, [ZYDIS_MNEMONIC_STD] = x_std,
    [ZYDIS_MNEMONIC_JMP] = x_jmp_any, [ZYDIS_MNEMONIC_CALL] = x_call_any,
    [ZYDIS_MNEMONIC_RET] = x_ret_any,
    [ZYDIS_MNEMONIC_JB] = x_jcc, [ZYDIS_MNEMONIC_JBE] = x_jcc, [ZYDIS_MNEMONIC_JL] = x_jcc,
    [ZYDIS_MNEMONIC_JLE] = x_jcc, [ZYDIS_MNEMONIC_JNB] = x_jcc, [ZYDIS_MNEMONIC_JNBE] = x_jcc,
    [ZYDIS_MNEMONIC_JNL] = x_jcc, [ZYDIS_MNEMONIC_JNLE] = x_jcc, [ZYDIS_MNEMONIC_JNO] = x_jcc,
    [ZYDIS_MNEMONIC_JNP] = x_jcc, [ZYDIS_MNEMONIC_JNS] = x_jcc, [ZYDIS_MNEMONIC_JNZ] = x_jcc,
    [ZYDIS_MNEMONIC_JO] = x_jcc, [ZYDIS_MNEMONIC_JP] = x_jcc, [ZYDIS_MNEMONIC_JS] = x_jcc,
    [ZYDIS_MNEMONIC_JZ] = x_jcc,
    [ZYDIS_MNEMONIC_LOOP] = x_loop, [ZYDIS_MNEMONIC_LOOPE] = x_loop,
    [ZYDIS_MNEMONIC_LOOPNE] = x_loop, [ZYDIS_MNEMONIC_JECXZ] = x_loop,
    [ZYDIS_MNEMONIC_JCXZ] = x_loop,
    [ZYDIS_MNEMONIC_PUSH] = x_push, [ZYDIS_MNEMONIC_POP] = x_pop,
    [ZYDIS_MNEMONIC_LEAVE] = x_leave,
    [ZYDIS_MNEMONIC_DIV] = x_div, [ZYDIS_MNEMONIC_IDIV] = x_div,
    [ZYDIS_MNEMONIC_AAA] = x_bcd, [ZYDIS_MNEMONIC_AAS] = x_bcd, [ZYDIS_MNEMONIC_DAA] = x_bcd,
    [ZYDIS_MNEMONIC_DAS] = x_bcd, [ZYDIS_MNEMONIC_AAM] = x_bcd, [ZYDIS_MNEMONIC_AAD] = x_bcd,
    [ZYDIS_MNEMONIC_MOVSB] = x_string, [ZYDIS_MNEMONIC_MOVSW] = x_string,
    [ZYDIS_MNEMONIC_MOVSD] = x_string, [ZYDIS_MNEMONIC_STOSB] = x_string,
    [ZYDIS_MNEMONIC_STOSW] = x_string, [ZYDIS_MNEMONIC_STOSD] = x_string,
    [ZYDIS_MNEMONIC_LODSB] = x_string, [ZYDIS_MNEMONIC_LODSW] = x_string,
    [ZYDIS_MNEMONIC_LODSD] = x_string, [ZYDIS_MNEMONIC_CMPSB] = x_string,
    [ZYDIS_MNEMONIC_CMPSW] = x_string, [ZYDIS_MNEMONIC_CMPSD] = x_string,
    [ZYDIS_MNEMONIC_SCASB] = x_string, [ZYDIS_MNEMONIC_SCASW] = x_string,
    [ZYDIS_MNEMONIC_SCASD] = x_string, [ZYDIS_MNEMONIC_INSB] = x_string,
    [ZYDIS_MNEMONIC_INSW] = x_string, [ZYDIS_MNEMONIC_INSD] = x_string,
    [ZYDIS_MNEMONIC_OUTSB] = x_string, [ZYDIS_MNEMONIC_OUTSW] = x_string,
    [ZYDIS_MNEMONIC_OUTSD] = x_string,
    [ZYDIS_MNEMONIC_CPUID] = x_cpuid, [ZYDIS_MNEMONIC_HLT] = x_hlt,
    [ZYDIS_MNEMONIC_IN] = x_io, [ZYDIS_MNEMONIC_OUT] = x_io,
    [ZYDIS_MNEMONIC_INT] = x_int, [ZYDIS_MNEMONIC_INT3] = x_int,
    [ZYDIS_MNEMONIC_INTO] = x_int,
    [ZYDIS_MNEMONIC_PUSHFD] = x_pushf, [ZYDIS_MNEMONIC_PUSHF] = x_pushf,
    [ZYDIS_MNEMONIC_POPFD] = x_popf, [ZYDIS_MNEMONIC_POPF] = x_popf,
    [ZYDIS_MNEMONIC_PUSHAD] = x_pusha, [ZYDIS_MNEMONIC_PUSHA] = x_pusha,
    [ZYDIS_MNEMONIC_POPAD] = x_popa, [ZYDIS_MNEMONIC_POPA] = x_popa,
    [ZYDIS_MNEMONIC_ENTER] = x_enter,
    [ZYDIS_MNEMONIC_CLI] = x_cli, [ZYDIS_MNEMONIC_STI] = x_sti,
#define S(m) [ZYDIS_MNEMONIC_##m] = x_sys
    S(LGDT), S(LIDT), S(SGDT), S(SIDT), S(LLDT), S(SLDT), S(LTR), S(STR),
    S(LMSW), S(SMSW), S(CLTS), S(INVLPG), S(WBINVD), S(INVD), S(RDMSR),
    S(WRMSR), S(RDPMC), S(SYSENTER), S(SYSEXIT), S(IRET), S(IRETD), S(LAR),
    S(LSL), S(VERR), S(VERW), S(ARPL), S(BOUND), S(LDS), S(LES), S(LFS),
    S(LGS), S(LSS),
    [ZYDIS_MNEMONIC_VMCALL] = x_vmcall,
    [ZYDIS_MNEMONIC_UD0] = x_ud, [ZYDIS_MNEMONIC_UD1] = x_ud, [ZYDIS_MNEMONIC_UD2] = x_ud,
    [ZYDIS_MNEMONIC_F2XM1] = x_fpu,
    [ZYDIS_MNEMONIC_FABS] = x_fpu,
    [ZYDIS_MNEMONIC_FADD] = x_fpu,
    [ZYDIS_MNEMONIC_FADDP] = x_fpu,
    [ZYDIS_MNEMONIC_FBLD] = x_fpu,
    [ZYDIS_MNEMONIC_FBSTP] = x_fpu,
    [ZYDIS_MNEMONIC_FCHS] = x_fpu,
    [ZYDIS_MNEMONIC_FCMOVB] = x_fpu,
    [ZYDIS_MNEMONIC_FCMOVBE] = x_fpu,
    [ZYDIS_MNEMONIC_FCMOVE] = x_fpu,
    [ZYDIS_MNEMONIC_FCMOVNB] = x_fpu,
    [ZYDIS_MNEMONIC_FCMOVNBE] = x_fpu,
    [ZYDIS_MNEMONIC_FCMOVNE] = x_fpu,
    [ZYDIS_MNEMONIC_FCMOVNU] = x_fpu,
    [ZYDIS_MNEMONIC_FCMOVU] = x_fpu,
    [ZYDIS_MNEMONIC_FCOM] = x_fpu,
    [ZYDIS_MNEMONIC_FCOMI] = x_fpu,
    [ZYDIS_MNEMONIC_FCOMIP] = x_fpu,
    [ZYDIS_MNEMONIC_FCOMP] = x_fpu,
    [ZYDIS_MNEMONIC_FCOMPP] = x_fpu,
    [ZYDIS_MNEMONIC_FCOS] = x_fpu,
    [ZYDIS_MNEMONIC_FDECSTP] = x_fpu,
    [ZYDIS_MNEMONIC_FDISI8087_NOP] = x_fpu,
    [ZYDIS_MNEMONIC_FDIV] = x_fpu,
    [ZYDIS_MNEMONIC_FDIVP] = x_fpu,
    [ZYDIS_MNEMONIC_FDIVR] = x_fpu,
    [ZYDIS_MNEMONIC_FDIVRP] = x_fpu,
    [ZYDIS_MNEMONIC_FENI8087_NOP] = x_fpu,
    [ZYDIS_MNEMONIC_FFREE] = x_fpu,
    [ZYDIS_MNEMONIC_FFREEP] = x_fpu,
    [ZYDIS_MNEMONIC_FIADD] = x_fpu,
    [ZYDIS_MNEMONIC_FICOM] = x_fpu,
    [ZYDIS_MNEMONIC_FICOMP] = x_fpu,
    [ZYDIS_MNEMONIC_FIDIV] = x_fpu,
    [ZYDIS_MNEMONIC_FIDIVR] = x_fpu,
    [ZYDIS_MNEMONIC_FILD] = x_fpu,
    [ZYDIS_MNEMONIC_FIMUL] = x_fpu,
    [ZYDIS_MNEMONIC_FINCSTP] = x_fpu,
    [ZYDIS_MNEMONIC_FIST] = x_fpu,
    [ZYDIS_MNEMONIC_FISTP] = x_fpu,
    [ZYDIS_MNEMONIC_FISTTP] = x_fpu,
    [ZYDIS_MNEMONIC_FISUB] = x_fpu,
    [ZYDIS_MNEMONIC_FISUBR] = x_fpu,
    [ZYDIS_MNEMONIC_FLD] = x_fpu,
    [ZYDIS_MNEMONIC_FLD1] = x_fpu,
    [ZYDIS_MNEMONIC_FLDCW] = x_fpu,
    [ZYDIS_MNEMONIC_FLDENV] = x_fpu,
    [ZYDIS_MNEMONIC_FLDL2E] = x_fpu,
    [ZYDIS_MNEMONIC_FLDL2T] = x_fpu,
    [ZYDIS_MNEMONIC_FLDLG2] = x_fpu,
    [ZYDIS_MNEMONIC_FLDLN2] = x_fpu,
    [ZYDIS_MNEMONIC_FLDPI] = x_fpu,
    [ZYDIS_MNEMONIC_FLDZ] = x_fpu,
    [ZYDIS_MNEMONIC_FMUL] = x_fpu,
    [ZYDIS_MNEMONIC_FMULP] = x_fpu,
    [ZYDIS_MNEMONIC_FNCLEX] = x_fpu,
    [ZYDIS_MNEMONIC_FNINIT] = x_fpu,
    [ZYDIS_MNEMONIC_FNOP] = x_fpu,
    [ZYDIS_MNEMONIC_FNSAVE] = x_fpu,
    [ZYDIS_MNEMONIC_FNSTCW] = x_fpu,
    [ZYDIS_MNEMONIC_FNSTENV] = x_fpu,
    [ZYDIS_MNEMONIC_FNSTSW] = x_fpu,
    [ZYDIS_MNEMONIC_FPATAN] = x_fpu,
    [ZYDIS_MNEMONIC_FPREM] = x_fpu,
    [ZYDIS_MNEMONIC_FPREM1] = x_fpu,
    [ZYDIS_MNEMONIC_FPTAN] = x_fpu,
    [ZYDIS_MNEMONIC_FRNDINT] = x_fpu,
    [ZYDIS_MNEMONIC_FRSTOR] = x_fpu,
    [ZYDIS_MNEMONIC_FSCALE] = x_fpu,
    [ZYDIS_MNEMONIC_FSETPM287_NOP] = x_fpu,
    [ZYDIS_MNEMONIC_FSIN] = x_fpu,
    [ZYDIS_MNEMONIC_FSINCOS] = x_fpu,
    [ZYDIS_MNEMONIC_FSQRT] = x_fpu,
    [ZYDIS_MNEMONIC_FST] = x_fpu,
    [ZYDIS_MNEMONIC_FSTP] = x_fpu,
    [ZYDIS_MNEMONIC_FSTPNCE] = x_fpu,
    [ZYDIS_MNEMONIC_FSUB] = x_fpu,
    [ZYDIS_MNEMONIC_FSUBP] = x_fpu,
    [ZYDIS_MNEMONIC_FSUBR] = x_fpu,
    [ZYDIS_MNEMONIC_FSUBRP] = x_fpu,
    [ZYDIS_MNEMONIC_FTST] = x_fpu,
    [ZYDIS_MNEMONIC_FUCOM] = x_fpu,
    [ZYDIS_MNEMONIC_FUCOMI] = x_fpu,
    [ZYDIS_MNEMONIC_FUCOMIP] = x_fpu,
    [ZYDIS_MNEMONIC_FUCOMP] = x_fpu,
    [ZYDIS_MNEMONIC_FUCOMPP] = x_fpu,
    [ZYDIS_MNEMONIC_FWAIT] = x_fpu,
    [ZYDIS_MNEMONIC_FXAM] = x_fpu,
    [ZYDIS_MNEMONIC_FXCH] = x_fpu,
    [ZYDIS_MNEMONIC_FXRSTOR] = x_fpu,
    [ZYDIS_MNEMONIC_FXSAVE] = x_fpu,
    [ZYDIS_MNEMONIC_FXTRACT] = x_fpu,
    [ZYDIS_MNEMONIC_FYL2X] = x_fpu,
    [ZYDIS_MNEMONIC_FYL2XP1] = x_fpu,
};

xlate_fn xlate_lookup(ZydisMnemonic m)
{
    if ((unsigned)m > ZYDIS_MNEMONIC_MAX_VALUE)
        return NULL;
    return table[m];
}
