/* systest: x87 probes whose faults must point at a known instruction. */
#include "layout.h"

	.text
#define PROBE(name) .globl name; .type name, @function; name:
#define LABEL(name) .globl name; name:

/* With control word *arg (zero-divide unmasked): 1/0 leaves the
 * exception pending; the next waiting instruction reports #MF. */
PROBE(probe_x87_pending_zero_divide)
	movl 4(%esp), %edx
	fninit
	fldcw (%edx)
	fld1
	fdivl zero_double
LABEL(probe_x87_pending_zero_divide_insn)
	fwait
	ret

	.section .rodata
	.balign 8
zero_double:
	.double 0.0

	.section .note.GNU-stack, "", @progbits
