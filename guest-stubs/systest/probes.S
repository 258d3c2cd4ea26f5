/* systest: small probes that touch memory or segment registers in one
 * labelled instruction, so a check knows exactly which EIP a fault must
 * report. Each is void probe(uint32_t *arg) and runs at ring 0 or 3. */
#include "layout.h"

	.text
#define PROBE(name) .globl name; .type name, @function; name:
#define LABEL(name) .globl name; name:

/* The stack probes below run on a stack at a linear address arg[0]. */

/* Save the registers; EDX = arg; arg[1] = our ESP; ESP = arg[0]. */
.macro STACK_AT_ARG
	pushal
	movl 36(%esp), %edx
	movl %esp, 4(%edx)
	movl 0(%edx), %esp
.endm

/* arg[2] = ESP now; back on our stack, registers restored; return. */
.macro STACK_BACK
	movl %esp, 8(%edx)
	movl 4(%edx), %esp
	popal
	ret
.endm

/* The known values the push probes store. */
.macro KNOWN_REGS
	movl $0xa1a2a3a4, %eax
	movl $0xc1c2c3c4, %ecx
	movl $0xb1b2b3b4, %ebx
	movl $0xe1e2e3e4, %ebp
.endm

/* For probes that pop into EDX too: save the registers, EDX = arg, our
 * ESP into the word at saved. */
.macro SAVE_STACK saved
	pushal
	movl 36(%esp), %edx
	movl %esp, \saved
.endm

/* ESP now into the word at after, then back on the stack saved. */
.macro RESTORE_STACK after, saved
	movl %esp, \after
	movl \saved, %esp
.endm

/* arg[1] = *(uint32_t *)arg[0] */
PROBE(probe_read32)
	movl 4(%esp), %edx
	movl 0(%edx), %ecx
LABEL(probe_read32_insn)
	movl (%ecx), %eax
	movl %eax, 4(%edx)
	ret

/* *(uint32_t *)arg[0] = arg[1] */
PROBE(probe_write32)
	movl 4(%esp), %edx
	movl 0(%edx), %ecx
	movl 4(%edx), %eax
LABEL(probe_write32_insn)
	movl %eax, (%ecx)
LABEL(probe_write32_after)
	nop
	ret

/* FS = arg[0]; arg[2] = FS:arg[1]; FS = DS */
PROBE(probe_seg_read32)
	movl 4(%esp), %edx
	movl 0(%edx), %eax
	movl %eax, %fs
	movl 4(%edx), %ecx
LABEL(probe_seg_read32_insn)
	movl %fs:(%ecx), %eax
	movl %eax, 8(%edx)
	movl %ds, %eax
	movl %eax, %fs
	ret

/* FS = arg[0]; FS:arg[1] = arg[2]; FS = DS */
PROBE(probe_seg_write32)
	movl 4(%esp), %edx
	movl 0(%edx), %eax
	movl %eax, %fs
	movl 4(%edx), %ecx
	movl 8(%edx), %eax
LABEL(probe_seg_write32_insn)
	movl %eax, %fs:(%ecx)
	movl %ds, %eax
	movl %eax, %fs
	ret

/* DS = arg[0]; arg[1] = DS as read back; DS = SS's selector's twin
 * (SEL_KDATA at ring 0, SEL_UDATA at ring 3, whose stack SS is). */
PROBE(probe_load_ds)
	movl 4(%esp), %edx
	movl 0(%edx), %eax
	movl %ss, %ecx
LABEL(probe_load_ds_insn)
	movl %eax, %ds
	movl %ds, %eax
	movl %ecx, %ds
	movl %eax, 4(%edx)
	ret

/* SS = arg[0] and straight back. */
PROBE(probe_load_ss)
	movl 4(%esp), %edx
	movl 0(%edx), %eax
	movl %ss, %ecx
LABEL(probe_load_ss_insn)
	movl %eax, %ss
	movl %ecx, %ss
	ret

/* DS = 0 is allowed; reading through it (arg[0] = *arg[0]) is not. */
PROBE(probe_null_ds_use)
	movl 4(%esp), %edx
	movl (%edx), %eax
	pushl %ds
	xorl %ecx, %ecx
LABEL(probe_null_ds_load_insn)
	movl %ecx, %ds
LABEL(probe_null_ds_use_insn)
	movl (%eax), %eax
	popl %ds
	movl %eax, (%edx)
	ret

/* Calls the code at arg[0]; arg[1] = what it returned in EAX. */
PROBE(probe_call)
	movl 4(%esp), %edx
	pushl %edx
	call *(%edx)
	popl %edx
	movl %eax, 4(%edx)
	ret

/* With ESP = arg[0] and known values in the other registers, PUSHAL;
 * arg[1] keeps the caller's ESP, arg[2] = ESP after the PUSHAL. */
PROBE(probe_pusha_at)
	STACK_AT_ARG
	KNOWN_REGS
	movl $0x51525354, %esi
	movl $0xd1d2d3d4, %edi
LABEL(probe_pusha_insn)
	pushal
	STACK_BACK

/* With ESP = arg[0], POPAL; popa_seen = what it loaded (EDI ESI EBP -
 * EBX EDX ECX EAX, as in the frame), then ESP after it. */
PROBE(probe_popa_at)
	SAVE_STACK popa_seen + 36
	movl 0(%edx), %esp
LABEL(probe_popa_insn)
	popal
	RESTORE_STACK popa_seen + 32, popa_seen + 36
	movl %edi, popa_seen + 0
	movl %esi, popa_seen + 4
	movl %ebp, popa_seen + 8
	movl %ebx, popa_seen + 16
	movl %edx, popa_seen + 20
	movl %ecx, popa_seen + 24
	movl %eax, popa_seen + 28
	popal
	ret

/* With ESP = arg[0] and known values in the registers, six pushes of
 * registers and immediates in a row (tpvm translates such a run as one
 * access); arg[1] keeps the caller's ESP, arg[2] = ESP after the run. */
PROBE(probe_push_run_at)
	STACK_AT_ARG
	KNOWN_REGS
	pushl %eax
	pushl %ecx
LABEL(probe_push_run_third)
	pushl $0x12345678
	pushl %ebx
	pushl $-5
	pushl %ebp
	STACK_BACK

/* With ESP = arg[0], five pops in a row (one run for tpvm); popr_seen =
 * what EAX ECX EBX EBP EDI got, then ESP after them. */
PROBE(probe_pop_run_at)
	SAVE_STACK popr_seen + 24
	movl 0(%edx), %esp
	popl %eax
	popl %ecx
LABEL(probe_pop_run_third)
	popl %ebx
	popl %ebp
	popl %edi
	RESTORE_STACK popr_seen + 20, popr_seen + 24
	movl %eax, popr_seen + 0
	movl %ecx, popr_seen + 4
	movl %ebx, popr_seen + 8
	movl %ebp, popr_seen + 12
	movl %edi, popr_seen + 16
	popal
	ret

/* With ESP = arg[0]: POP EBX, then RET to the next word (the check puts
 * probe_pop_ret_back there); popr_seen = EBX, -, -, -, -, ESP after. */
PROBE(probe_pop_ret_at)
	SAVE_STACK popr_seen + 24
	movl 0(%edx), %esp
	popl %ebx
LABEL(probe_pop_ret_insn)
	ret
LABEL(probe_pop_ret_back)
	RESTORE_STACK popr_seen + 20, popr_seen + 24
	movl %ebx, popr_seen + 0
	popal
	ret

/* The same with EBP = arg[0] and LEAVE; RET: popr_seen = EBP, -, -, -, -,
 * ESP after. */
PROBE(probe_leave_ret_at)
	SAVE_STACK popr_seen + 24
	movl 0(%edx), %ebp
	leave
LABEL(probe_leave_ret_insn)
	ret
LABEL(probe_leave_ret_back)
	RESTORE_STACK popr_seen + 20, popr_seen + 24
	movl %ebp, popr_seen + 0
	popal
	ret

/* With EBX = arg[0], four MOVs through EBX in a row (tpvm translates the
 * run as one access): load, store ECX, load, store an immediate;
 * arg[1] = the first load, arg[2] = the second. */
PROBE(probe_mov_run_at)
	pushal
	movl 36(%esp), %esi
	movl 0(%esi), %ebx
	movl $0xc1c2c3c4, %ecx
	movl (%ebx), %eax
	movl %ecx, 4(%ebx)
LABEL(probe_mov_run_third)
	movl 0x14(%ebx), %edx
	movl $0x77665544, 0x1c(%ebx)
	movl %eax, 4(%esi)
	movl %edx, 8(%esi)
	popal
	ret

	.data
	.balign 4
	.globl popa_seen
popa_seen:
	.space 40
	.globl popr_seen
popr_seen:
	.space 28

	.section .note.GNU-stack, "", @progbits
