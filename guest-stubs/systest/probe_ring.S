/* systest: probes for the privilege checks. Most run at ring 3 under
 * guarded_user(); the label of each marks the instruction whose EIP the
 * expected fault or the handler's frame must hold. */
#include "layout.h"

	.text
#define PROBE(name) .globl name; .type name, @function; name:
#define LABEL(name) .globl name; name:
/* A probe that is one instruction, labelled name##_insn. */
#define ONE_INSN(name, ...) PROBE(name) LABEL(name##_insn) __VA_ARGS__; ret

#define UNUSED_PORT 0x1e0

/* arg[0..3] = CS, SS, DS, ES */
PROBE(probe_user_selectors)
	movl 4(%esp), %edx
	movl %cs, %eax
	movl %eax, 0(%edx)
	movl %ss, %eax
	movl %eax, 4(%edx)
	movl %ds, %eax
	movl %eax, 8(%edx)
	movl %es, %eax
	movl %eax, 12(%edx)
	ret

/* EAX = arg[0]; arg[1] = ESP at the INT; INT 0x80; arg[2] = EAX after */
PROBE(probe_user_syscall)
	movl 4(%esp), %edx
	movl 0(%edx), %eax
	movl %esp, 4(%edx)
	int $VEC_SYSCALL
LABEL(probe_user_syscall_ret)
	movl %eax, 8(%edx)
	ret

/* The same through the interrupt gate, INT 0x81. */
PROBE(probe_user_syscall_intr)
	movl 4(%esp), %edx
	movl 0(%edx), %eax
	movl %esp, 4(%edx)
	int $VEC_SYSCALL_INTR
	movl %eax, 8(%edx)
	ret

ONE_INSN(probe_user_int_kernel_only, int $VEC_KERNEL_ONLY)
ONE_INSN(probe_int_absent, int $VEC_ABSENT)
ONE_INSN(probe_user_cli, cli)
ONE_INSN(probe_user_sti, sti)
ONE_INSN(probe_user_hlt, hlt)
ONE_INSN(probe_user_read_cr0, movl %cr0, %eax)
ONE_INSN(probe_user_write_cr3, movl %eax, %cr3)
ONE_INSN(probe_user_rdtsc, rdtsc)
ONE_INSN(probe_user_wbinvd, wbinvd)

PROBE(probe_user_lidt)
	movl 4(%esp), %edx
LABEL(probe_user_lidt_insn)
	lidt (%edx)
	ret

PROBE(probe_user_in)
	movl $UNUSED_PORT, %edx
LABEL(probe_user_in_insn)
	inb %dx, %al
	ret

PROBE(probe_user_out)
	movl $UNUSED_PORT, %edx
LABEL(probe_user_out_insn)
	outb %al, %dx
	ret

/* With IOPL 3 all of these are allowed; arg[0] = what IN read. */
PROBE(probe_user_iopl3)
	movl $UNUSED_PORT, %edx
	movb $0, %al
	outb %al, %dx
	inb %dx, %al
	movzbl %al, %eax
	movl 4(%esp), %edx
	movl %eax, (%edx)
	cli
	sti
	cli
	ret

/* The I/O bitmap's one open port: write arg[0], read it back to arg[1]. */
PROBE(probe_user_iomap_allowed)
	movl 4(%esp), %ecx
	movl $IOMAP_ALLOWED_PORT, %edx
	movl 0(%ecx), %eax
	outb %al, %dx
	inb %dx, %al
	movzbl %al, %eax
	movl %eax, 4(%ecx)
	ret

PROBE(probe_user_iomap_denied)
	movl $(IOMAP_ALLOWED_PORT - 1), %edx
LABEL(probe_user_iomap_denied_insn)
	inb %dx, %al
	ret

/* arg[0] = EFLAGS; POPF with IF, IOPL 3 and AC set; arg[1] = EFLAGS. */
PROBE(probe_user_popf)
	movl 4(%esp), %edx
	pushfl
	popl %eax
	movl %eax, 0(%edx)
	orl $(EFLAGS_IF | EFLAGS_IOPL3 | EFLAGS_AC), %eax
	pushl %eax
	popfl
	pushfl
	popl %eax
	movl %eax, 4(%edx)
	ret

/* arg[0] = ESP at the UD2. */
PROBE(probe_user_ud2)
	movl 4(%esp), %edx
	movl %esp, (%edx)
LABEL(probe_user_ud2_insn)
	ud2
	ret

/* arg[0] = ESP at the call; far CALL through the call gate;
 * arg[1] = EAX it returned, arg[2] = CS after. */
PROBE(probe_user_callgate)
	movl 4(%esp), %edx
	movl %esp, 0(%edx)
	lcall $(SEL_CALLGATE | 3), $0
LABEL(probe_user_callgate_ret)
	movl %eax, 4(%edx)
	movl %cs, %eax
	movl %eax, 8(%edx)
	ret

/* arg[0] = ESP at SYSENTER; SYSEXIT comes back at the label with
 * ESP = ECX; arg[1] = EAX, arg[2] = CS, arg[3] = SS, arg[4] = ESP. */
PROBE(probe_user_sysenter)
	pushl %esi
	movl 8(%esp), %esi
	movl %esp, %ecx
	movl %ecx, 0(%esi)
	movl $probe_user_sysenter_ret, %edx
	sysenter
LABEL(probe_user_sysenter_ret)
	movl %eax, 4(%esi)
	movl %cs, %eax
	movl %eax, 8(%esi)
	movl %ss, %eax
	movl %eax, 12(%esi)
	movl %esp, 16(%esi)
	popl %esi
	ret

	.section .note.GNU-stack, "", @progbits
