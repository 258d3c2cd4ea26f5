/* minios: the interrupt/exception entry stubs, the common trap path whose
 * return goes through the iret pv-op (a patchable site), and the kernel
 * stack switch used by the scheduler. */
#include "layout.h"

/* Vectors for which the CPU pushes an error code. */
#define HAS_ERROR(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17)

	.text
	.balign 16
trap_stub_base:
	.set vec, 0
	.rept 256
	.balign 16
	.if HAS_ERROR(vec)
	pushl $vec
	.else
	pushl $0
	pushl $vec
	.endif
	jmp trap_common
	.set vec, vec + 1
	.endr

	.section .rodata
	.balign 4
	.globl trap_stubs
trap_stubs:
	.set vec, 0
	.rept 256
	.long trap_stub_base + vec * 16
	.set vec, vec + 1
	.endr

	.text
/* Builds struct trap_frame (minios.h) and calls trap_dispatch(frame). */
trap_common:
	pushal
	pushl %ds
	pushl %es
	pushl %fs
	pushl %gs
	movl $SEL_KDATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %fs
	movl %eax, %gs
	cld
	pushl %esp
	call trap_dispatch
	addl $4, %esp
/* Also where a new task starts: switch_stack "returns" here with its
 * first trap frame on the stack. */
	.globl trap_return
trap_return:
	popl %gs
	popl %fs
	popl %es
	popl %ds
	popal
	addl $8, %esp
	/* jmp *pv_ops+PVOP_IRET_OFFSET, recorded for patching */
771:	jmp *pv_ops
	.pushsection pvsites, "aw"
	.balign 4
	.long 771b
	.popsection

/* void switch_stack(uint32_t *save_esp, uint32_t new_esp): saves the
 * callee-saved registers on this stack, its ESP in *save_esp, and resumes
 * the stack at new_esp (which was saved the same way, or built by
 * task_spawn). */
	.globl switch_stack
	.type switch_stack, @function
switch_stack:
	movl 4(%esp), %eax
	movl 8(%esp), %edx
	pushl %ebp
	pushl %ebx
	pushl %esi
	pushl %edi
	movl %esp, (%eax)
	movl %edx, %esp
	popl %edi
	popl %esi
	popl %ebx
	popl %ebp
	ret

	.section .note.GNU-stack, "", @progbits
