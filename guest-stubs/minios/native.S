/* minios: the native pv-ops that must keep every register (the callers
 * are inline-asm sites that declare no clobbers), and the native iret. */
	.text
#define NATIVE(name) .globl name; .type name, @function; name:

NATIVE(native_irq_disable)
	cli
	ret
NATIVE(native_irq_enable)
	sti
	ret
NATIVE(native_save_fl)
	pushfl
	popl %eax
	ret
NATIVE(native_restore_fl)
	pushl %eax
	popfl
	ret
/* Reached by `jmp *pv_ops` with the IRET frame at [ESP]. */
NATIVE(native_iret)
	iret
/* sti's one-instruction shadow covers the hlt: no wake-up is lost. */
NATIVE(native_safe_halt)
	sti
	hlt
	ret
/* The target of pv-ops the ROM answers NOP for. */
NATIVE(pv_nop)
	ret

	.section .note.GNU-stack, "", @progbits
