/* systest: exception entry stubs for all 256 vectors, the guard that lets a
 * check fault on purpose and come back, the ring-3 trampoline, and the
 * call-gate and SYSENTER entry points. */
#include "layout.h"

/* Vectors for which the CPU pushes an error code. */
#define HAS_ERROR(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || \
                      (v) == 21 || (v) == 29 || (v) == 30)

	.text
/* One stub per vector: make the frame uniform (error code, vector). */
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
/* Frame for trap_dispatch (struct trap_frame in trap.c): GS FS ES DS,
 * PUSHA, vector, error, then what the CPU pushed. */
trap_common:
	pushal
	pushl %ds
	pushl %es
	pushl %fs
	pushl %gs
	movl $SEL_KDATA, %eax
	movl %eax, %ds
	movl %eax, %es
	cld
	pushl %esp
	call trap_dispatch
	addl $4, %esp
	popl %gs
	popl %fs
	popl %es
	popl %ds
	popal
	addl $8, %esp
	iretl

/* The guard record lives on the stack at current_guard: prev, info. */
	.data
	.balign 4
	.globl current_guard
current_guard:
	.long 0

	.text
/* int guarded(void (*fn)(void *), void *arg, struct trap_info *t) */
	.globl guarded
	.type guarded, @function
guarded:
	pushl %ebp
	movl %esp, %ebp
	pushl %ebx
	pushl %esi
	pushl %edi
	pushfl
	pushl 16(%ebp)
	pushl current_guard
	movl %esp, current_guard
	pushl 12(%ebp)
	call *8(%ebp)
	addl $4, %esp
	movl $NO_TRAP, %eax
/* ESP points at this call's guard record; EAX holds the result. */
guard_return:
	popl current_guard
	addl $4, %esp
	popfl
	popl %edi
	popl %esi
	popl %ebx
	popl %ebp
	ret
	.size guarded, . - guarded

/* void guard_unwind(int result): back to the innermost guarded call. */
	.globl guard_unwind
	.type guard_unwind, @function
guard_unwind:
	movl 4(%esp), %eax
	movl current_guard, %edx
	movl $SEL_KDATA, %ecx
	movl %ecx, %ss
	movl %edx, %esp
	movl %ecx, %ds
	movl %ecx, %es
	movl %ecx, %fs
	movl %ecx, %gs
	jmp guard_return
	.size guard_unwind, . - guard_unwind

/* int guarded_user(void (*fn)(void *), void *arg, uint32_t eflags,
 *                  struct trap_info *t): fn runs at ring 3 on user_stack,
 * then leaves through INT VEC_USER_EXIT, which unwinds to here. */
	.globl guarded_user
	.type guarded_user, @function
guarded_user:
	pushl %ebp
	movl %esp, %ebp
	pushl %ebx
	pushl %esi
	pushl %edi
	pushfl
	pushl 20(%ebp)
	pushl current_guard
	movl %esp, current_guard
	movl $user_stack_top, %eax
	movl 12(%ebp), %ecx
	movl %ecx, -4(%eax)
	movl 8(%ebp), %ecx
	movl %ecx, -8(%eax)
	subl $8, %eax
	movl $SEL_UDATA, %ecx
	movl %ecx, %ds
	movl %ecx, %es
	movl %ecx, %fs
	movl %ecx, %gs
	pushl $SEL_UDATA
	pushl %eax
	movl 16(%ebp), %ecx
	orl $EFLAGS_FIXED, %ecx
	pushl %ecx
	pushl $SEL_UCODE
	pushl $user_entry
	iretl
	.size guarded_user, . - guarded_user

/* Ring 3: ESP points at fn, then its argument. */
	.globl user_entry
user_entry:
	popl %eax
	call *%eax
	int $VEC_USER_EXIT
	ud2

/* Reached from ring 3 through SEL_CALLGATE: records where it came from
 * and what stack it runs on, then returns with a far RET. */
	.globl callgate_entry, callgate_seen
callgate_entry:
	movl %esp, callgate_seen + 0
	movl %ss, %eax
	movl %eax, callgate_seen + 4
	movl %cs, %eax
	movl %eax, callgate_seen + 8
	movl 0(%esp), %eax
	movl %eax, callgate_seen + 12
	movl 4(%esp), %eax
	movl %eax, callgate_seen + 16
	movl 8(%esp), %eax
	movl %eax, callgate_seen + 20
	movl 12(%esp), %eax
	movl %eax, callgate_seen + 24
	movl $0x600d6a7e, %eax
	lret

/* SYSENTER lands here at ring 0: record CS, SS, ESP and EFLAGS, then
 * SYSEXIT to EDX with ESP = ECX. */
	.globl sysenter_entry, sysenter_seen
sysenter_entry:
	movl %esp, sysenter_seen + 0
	movl %ss, %eax
	movl %eax, sysenter_seen + 4
	movl %cs, %eax
	movl %eax, sysenter_seen + 8
	pushfl
	popl %eax
	movl %eax, sysenter_seen + 12
	movl %edx, sysenter_seen + 16
	movl %ecx, sysenter_seen + 20
	movl $0x5e5e5e5e, %eax
	sysexit

	.data
	.balign 4
/* esp, ss, cs, then the frame: eip, cs, esp, ss */
callgate_seen:
	.fill 7, 4, 0
/* esp, ss, cs, eflags, edx, ecx */
sysenter_seen:
	.fill 6, 4, 0

	.bss
	.balign 16
	.globl tss_stack_top, user_stack_top, sysenter_stack_top
	.skip 8192
tss_stack_top:
	.skip 8192
user_stack_top:
	.skip 4096
sysenter_stack_top:

	.section .note.GNU-stack, "", @progbits
