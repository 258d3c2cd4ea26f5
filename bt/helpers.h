/* C helpers called from translated code for the rare and the complex.
 * All share one signature: the guest state is synced into struct cpu
 * (regs, eflags, eip = this instruction) before the call and reloaded
 * after it; arg packs operand details (HA_* in bt/xlate.h); next is the
 * EIP of the following instruction. A helper leaves the block only
 * through bt_raise or bt_leave. */
#ifndef TPVM_BT_HELPERS_H
#define TPVM_BT_HELPERS_H

#include <stdbool.h>
#include <stdint.h>

#include "bt/bt.h"

struct cpu;

#define HELPER(name) void name(struct cpu *cpu, uint32_t arg, uint32_t next)
/* count one call of a helper kind (struct bt_stats.helper_by_kind) */
#define HELPER_COUNT(cpu, kind) ((cpu)->bt ? (void)(bt_helper_count((cpu)->bt, BT_HK_##kind)) : (void)0)
void bt_helper_count(struct bt *bt, int kind);

HELPER(helper_raise_ud);
HELPER(helper_div);
HELPER(helper_bcd);
HELPER(helper_string);
HELPER(helper_cpuid);
HELPER(helper_hlt);
HELPER(helper_io);
HELPER(helper_int);
HELPER(helper_popf);
HELPER(helper_enter);
HELPER(helper_pop_sreg);
HELPER(helper_sys);
HELPER(helper_cli_sti);
HELPER(helper_hypercall);
/* x87 (helpers_fpu.c): #NM/#UD checks under CR0.TS/EM; the image helpers
 * take the operand's linear address in r8 (cpu->save_r8), arg = operand
 * size in bits */
HELPER(helper_fpu_nm);
HELPER(helper_fwait_nm);
HELPER(helper_fxsr_nm);
HELPER(helper_fnstenv);
HELPER(helper_fldenv);
HELPER(helper_fnsave);
HELPER(helper_frstor);
HELPER(helper_fxsave);
HELPER(helper_fxrstor);
HELPER(helper_fpu_mf);
HELPER(helper_fpu_mode);
HELPER(helper_fnstsw);
/* x87 helper argument: the calling block checks for #MF */
#define FPU_ARG_MF (1u << 20)

/* helper_bcd operations (HA_X) */
enum { BCD_AAA, BCD_AAS, BCD_DAA, BCD_DAS, BCD_AAM, BCD_AAD };
/* helper_string operations (HA_X bits 0-3), rep kinds (bits 4-5) */
enum { STR_MOVS, STR_STOS, STR_LODS, STR_CMPS, STR_SCAS, STR_INS, STR_OUTS };
enum { REP_NONE = 0, REP_REP = 1, REP_REPE = 2, REP_REPNE = 3 };
/* helper_int kinds */
enum { INT_N, INT_3, INT_O };

/* helper_sys: op in bits 0-7, first register 8-11, SA_MEM (operand at
 * cpu->sys_lin), SA_PTR (far pointer in sys_sel:sys_imm), operand size
 * 16-19, extra (CR/DR/segment number) 20-23, second register 24-27. */
enum {
    SYS_NONE, SYS_MOV_TO_SREG, SYS_MOV_FROM_SREG, SYS_LGDT, SYS_LIDT,
    SYS_SGDT, SYS_SIDT, SYS_LLDT, SYS_SLDT, SYS_LTR, SYS_STR, SYS_LMSW,
    SYS_SMSW, SYS_CLTS, SYS_INVLPG, SYS_WBINVD, SYS_RDMSR, SYS_WRMSR,
    SYS_RDPMC, SYS_RDTSC, SYS_SYSENTER, SYS_SYSEXIT, SYS_IRET, SYS_LAR,
    SYS_LSL, SYS_VERR, SYS_VERW, SYS_ARPL, SYS_BOUND, SYS_LXS, SYS_JMPF,
    SYS_CALLF, SYS_RETF,
    /* from here the first register slot is decided by the handler */
    SYS_MOV_TO_CR, SYS_MOV_FROM_CR, SYS_MOV_TO_DR, SYS_MOV_FROM_DR,
};
#define SA_MEM 0x1000u
#define SA_PTR 0x2000u
#define SA_SIZE(s) ((uint32_t)(s) << 16)
#define SA_X(x) ((uint32_t)(x) << 20)

/* Read an r/m operand described by HA_ bits. */
uint32_t helper_operand(struct cpu *cpu, uint32_t arg);
/* Write a general register of the given size (1, 2, 4; high8 for AH..) */
void helper_set_reg(struct cpu *cpu, int reg, unsigned size, bool high8,
                    uint32_t val);
/* Parity flag of the low byte. */
uint32_t parity_flag(uint32_t v);

#endif
