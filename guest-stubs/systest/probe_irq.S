/* systest: the probe for the STI interrupt shadow: with an interrupt
 * already pending, STI lets exactly one more instruction run first. */
#include "layout.h"

	.text
	.globl probe_sti_shadow, probe_sti_shadow_second
	.type probe_sti_shadow, @function
probe_sti_shadow:
	sti
	movl $1, %eax
probe_sti_shadow_second:
	movl $2, %eax
	nop
	nop
	cli
	ret

	.section .note.GNU-stack, "", @progbits
