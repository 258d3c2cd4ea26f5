/* systest: probes for the exception checks. Faults must report the
 * labelled instruction itself, traps the label after it. */
#include "layout.h"

	.text
#define PROBE(name) .globl name; .type name, @function; name:
#define LABEL(name) .globl name; name:

PROBE(probe_div0)
	xorl %ecx, %ecx
	xorl %edx, %edx
	movl $1, %eax
LABEL(probe_div0_insn)
	divl %ecx
	ret

/* 0x2_0000_0000 / 1 does not fit in 32 bits. */
PROBE(probe_div_overflow)
	movl $2, %edx
	xorl %eax, %eax
	movl $1, %ecx
LABEL(probe_div_overflow_insn)
	divl %ecx
	ret

/* INT_MIN / -1 does not fit either. */
PROBE(probe_idiv_overflow)
	movl $0x80000000, %eax
	cltd
	movl $-1, %ecx
LABEL(probe_idiv_overflow_insn)
	idivl %ecx
	ret

/* POPF sets TF; the instruction after it runs, then #DB. */
PROBE(probe_single_step)
	pushfl
	orl $EFLAGS_TF, (%esp)
	popfl
	movl $1, %eax
LABEL(probe_single_step_after)
	nop
	nop
	ret

/* MOV SS holds the single-step trap back by one more instruction. */
PROBE(probe_mov_ss_step)
	movl %ss, %eax
	pushfl
	orl $EFLAGS_TF, (%esp)
	popfl
	movl %eax, %ss
	nop
LABEL(probe_mov_ss_step_after)
	nop
	nop
	ret

PROBE(probe_int3)
	int3
LABEL(probe_int3_after)
	ret

PROBE(probe_into_overflow)
	movl $0x7fffffff, %eax
	addl $1, %eax
	into
LABEL(probe_into_overflow_after)
	ret

PROBE(probe_into_no_overflow)
	xorl %eax, %eax
	into
	ret

/* arg[0] = index, arg[1..2] = lower and upper bound. */
PROBE(probe_bound)
	movl 4(%esp), %edx
	movl (%edx), %eax
LABEL(probe_bound_insn)
	boundl %eax, 4(%edx)
	ret

PROBE(probe_ud2)
LABEL(probe_ud2_insn)
	ud2
	ret

/* FE /7 has no meaning. */
PROBE(probe_bad_opcode)
LABEL(probe_bad_opcode_insn)
	.byte 0xfe, 0xf8
	ret

/* LOCK on an instruction without a memory destination. */
PROBE(probe_lock_register)
LABEL(probe_lock_register_insn)
	.byte 0xf0, 0x01, 0xc0 /* lock addl %eax, %eax */
	ret

PROBE(probe_fld1)
LABEL(probe_fld1_insn)
	fld1
	fstp %st(0)
	ret

PROBE(probe_fwait)
LABEL(probe_fwait_insn)
	fwait
	ret

/* The instruction DR0 points at. */
PROBE(probe_hw_breakpoint)
	nop
LABEL(probe_hw_breakpoint_insn)
	movl $1, %eax
	ret

	.section .note.GNU-stack, "", @progbits
