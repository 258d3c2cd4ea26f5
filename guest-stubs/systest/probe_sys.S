/* systest: probes for the system-instruction checks. */
#include "layout.h"

	.text
#define PROBE(name) .globl name; .type name, @function; name:
#define LABEL(name) .globl name; name:

/* IRET at ring 0 to the alias code segment with EFLAGS arg[0];
 * arg[1] = EFLAGS and arg[2] = CS where it lands. */
PROBE(probe_iret_ring0)
	movl 4(%esp), %edx
	pushl 0(%edx)
	pushl $SEL_KCODE_ALIAS
	pushl $1f
	iretl
1:	pushfl
	popl %eax
	movl %eax, 4(%edx)
	movl %cs, %eax
	movl %eax, 8(%edx)
	ljmp $SEL_KCODE, $2f
2:	ret

/* RDMSR of MSR arg[0]; arg[1..2] = EDX:EAX. */
PROBE(probe_rdmsr)
	movl 4(%esp), %ecx
	pushl %ecx
	movl (%ecx), %ecx
LABEL(probe_rdmsr_insn)
	rdmsr
	popl %ecx
	movl %eax, 4(%ecx)
	movl %edx, 8(%ecx)
	ret

PROBE(probe_wbinvd_invd)
	wbinvd
	invd
	ret

	.section .note.GNU-stack, "", @progbits
