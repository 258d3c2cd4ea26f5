/* systest: probes for the segment checks: far transfers that change CS
 * and come back to SEL_KCODE. Each returns in EAX the CS it saw. */
#include "layout.h"

	.text
#define PROBE(name) .globl name; .type name, @function; name:

/* Far JMP to the alias code segment, read CS there, far JMP back. */
PROBE(probe_far_jmp)
	ljmp $SEL_KCODE_ALIAS, $1f
1:	movl %cs, %eax
	ljmp $SEL_KCODE, $2f
2:	ret

/* Far CALL into the alias segment; the callee returns with RETF. */
PROBE(probe_far_call)
	lcall $SEL_KCODE_ALIAS, $far_callee
	ret
far_callee:
	movl %cs, %eax
	lret

/* RETF to a pushed CS:EIP, then a far JMP home. */
PROBE(probe_retf)
	pushl $SEL_KCODE_ALIAS
	pushl $1f
	lret
1:	movl %cs, %eax
	ljmp $SEL_KCODE, $2f
2:	ret

/* Far JMP to a data selector: #GP(selector). */
PROBE(probe_far_jmp_data)
	.globl probe_far_jmp_data_insn
probe_far_jmp_data_insn:
	ljmp $SEL_KDATA, $0
	ret

	.section .note.GNU-stack, "", @progbits
