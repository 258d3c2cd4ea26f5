/* start.S: the Multiboot v1 header and the entry point every guest shares. */
#include "multiboot.h"

#define STACK_BYTES 0x10000

/* guest.ld puts this section first so it lies in the first 8 KiB of the
 * file, as the Multiboot spec requires. */
	.section .multiboot, "a"
	.balign 4
	.long MULTIBOOT_HEADER_MAGIC
	.long MULTIBOOT_HEADER_FLAGS
	.long -(MULTIBOOT_HEADER_MAGIC + MULTIBOOT_HEADER_FLAGS)

	.text
	.globl _start
	.type _start, @function
_start:
	movl $stack_top, %esp
	/* Multiboot only promises IF=0 and VM=0; C code assumes DF=0 too. */
	pushl $0
	popfl
	/* EAX (magic) and EBX (info) survive serial_init in callee-saved regs. */
	movl %eax, %esi
	movl %ebx, %edi
	call serial_init
	/* Two arguments plus 8 bytes of padding: ESP is 16-aligned at the call. */
	subl $8, %esp
	pushl %edi
	pushl %esi
	call guest_main
	movl %eax, (%esp)
	call guest_exit
1:	cli
	hlt
	jmp 1b
	.size _start, . - _start

	.bss
	.balign 16
	.globl stack_bottom, stack_top
stack_bottom:
	.skip STACK_BYTES
stack_top:

	.section .note.GNU-stack, "", @progbits
