/* tpvm's VMI option ROM (API 3.0, vmi-abi.md): the header Linux probes,
 * Init and GetRelocationInfo, and one routine per provided call. The code
 * is position independent (Linux runs it at PAGE_OFFSET + 0xC0000, the
 * mini-OS at 0xC0000) and the image is read-only: all state lives in the
 * monitor, reached through VMCALL (convention in vmi_abi.h).
 *
 * Build-time variants for the bad-ROM tests (one -D each):
 *   VMI_ROM_BAD_SIGNATURE  "cVmi" misspelt     -> ignored silently
 *   VMI_ROM_BAD_MAJOR      API 2.0             -> "mismatched rom version"
 *   VMI_ROM_NO_PCI         pci_header_offs = 0 -> "no PCI header"
 *   VMI_ROM_NON_GPL        license "BSD"       -> "Non GPL license"
 *   VMI_ROM_UNKNOWN_VENDOR PCI vendor 0x1234   -> warning, still used
 *   VMI_ROM_INIT_FAIL      Init returns -1     -> "failed to initialize"
 */
#include "vmi_abi.h"

#ifndef VMI_ROM_VERSION_MAJ
#define VMI_ROM_VERSION_MAJ 1
#endif
#ifndef VMI_ROM_VERSION_MIN
#define VMI_ROM_VERSION_MIN 0
#endif

#ifdef VMI_ROM_BAD_SIGNATURE
#define ROM_VSIG 0x696D5643 /* "CVmi" */
#else
#define ROM_VSIG VMI_SIGNATURE
#endif
#ifdef VMI_ROM_BAD_MAJOR
#define ROM_API_MAJ 2
#else
#define ROM_API_MAJ VMI_API_REV_MAJOR
#endif
#ifdef VMI_ROM_UNKNOWN_VENDOR
#define ROM_PCI_VENDOR 0x1234
#else
#define ROM_PCI_VENDOR VMI_PCI_VENDOR_VMWARE
#endif

	.code32
	.text /* one section: .org and symbol differences stay assembler-local */
	.globl rom_start
rom_start:
	.word VMI_ROM_SIGNATURE
	.byte rom_blocks                 /* from rom.ld: image size / 512 */
	/* BIOS POST far-calls offset 3 in real mode: nothing to set up. */
	.byte 0xCB, 0x90, 0x90, 0x90     /* retf; nop; nop; nop */
	.byte 0                          /* rom_pad0 */
	.long ROM_VSIG
	.byte VMI_API_REV_MINOR
	.byte ROM_API_MAJ
	.byte 0                          /* jump_slots: unused in API 3.0 */
	.byte 0                          /* reserved1 */
	.long 0                          /* virtual_top: reserve nothing */
	.word 0                          /* reserved2 */
	.word license - rom_start
#ifdef VMI_ROM_NO_PCI
	.word 0
#else
	.word pci_header - rom_start
#endif
	.word pnp_header - rom_start
	.long 0                          /* rom_pad3 */

	.org VMI_ROM_OFF_INIT
	.globl vmi_init_entry
vmi_init_entry:
	jmp vmi_init                     /* 5 bytes; the slot is 8 */
	.org VMI_ROM_OFF_GET_RELOC
	.globl vmi_get_reloc_entry
vmi_get_reloc_entry:
	jmp vmi_get_reloc
	.org VMI_ROM_HEADER_SIZE

/* PCI data structure, as Linux and PCI firmware read it. */
	.balign 4, 0
pci_header:
	.ascii "PCIR"
	.word ROM_PCI_VENDOR
	.word VMI_PCI_DEVICE_VMI
	.word 0                          /* no vital product data */
	.word 24                         /* structure length */
	.byte 0                          /* structure revision */
	.byte 0x00, 0x80, 0x08           /* class 0x088000: other system peripheral */
	.word rom_blocks                 /* image length, 512-byte units */
	.byte VMI_ROM_VERSION_MIN
	.byte VMI_ROM_VERSION_MAJ
	.byte 0                          /* code type: x86 */
	.byte 0x80                       /* last image */
	.word 0

/* PnP expansion header: only its strings reach Linux's log. The checksum
 * byte is set by rom_fix, like the ROM checksum. */
	.balign 16, 0
	.globl pnp_header
pnp_header:
	.ascii "$PnP"
	.byte 1                          /* revision */
	.byte 2                          /* length: 2 x 16 bytes */
	.word 0                          /* no next header */
	.byte 0
	.globl pnp_checksum
pnp_checksum:
	.byte 0
	.long 0                          /* device id */
	.word manufacturer - rom_start
	.word product - rom_start
	.byte 0x00, 0x80, 0x08           /* device type, as the PCI class */
	.byte 0                          /* device indicators */
	.word 0, 0, 0, 0, 0              /* BCV, DV, BEV, reserved, resources */

manufacturer:
	.asciz "tpvm"
product:
	.asciz "VMI ROM"
license:
#ifdef VMI_ROM_NON_GPL
	.asciz "BSD"
#else
	.asciz "GPL v2"
#endif

/* ---- relocation table: one 8-byte entry per call, index = call number.
 * .org places each entry at its index (and refuses to go backwards), so
 * the calls not listed read as zero: VMI_RELOCATION_NONE. */
	.balign 8, 0
	.globl reloc_table
reloc_table:
#define RELOC(call, type, routine)                              \
	.org reloc_table + VMI_CALL_##call * 8;                 \
	.long routine - rom_start;                              \
	.byte type, 0, 0, 0
#define CALL_REL(call) RELOC(call, VMI_RELOCATION_CALL_REL, vmi_##call)
#define JUMP_REL(call) RELOC(call, VMI_RELOCATION_JUMP_REL, vmi_##call)
#define NOP(call) RELOC(call, VMI_RELOCATION_NOP, vmi_nop)
	CALL_REL(CPUID)
	CALL_REL(SetGDT)
	CALL_REL(SetLDT)
	CALL_REL(SetIDT)
	CALL_REL(SetTR)
	CALL_REL(GetGDT)
	CALL_REL(GetLDT)
	CALL_REL(GetIDT)
	CALL_REL(GetTR)
	CALL_REL(WriteGDTEntry)
	CALL_REL(WriteLDTEntry)
	CALL_REL(WriteIDTEntry)
	CALL_REL(UpdateKernelStack)
	CALL_REL(SetCR0)
	CALL_REL(SetCR2)
	CALL_REL(SetCR3)
	CALL_REL(SetCR4)
	CALL_REL(GetCR0)
	CALL_REL(GetCR2)
	CALL_REL(GetCR3)
	CALL_REL(GetCR4)
	CALL_REL(WBINVD)
	CALL_REL(RDTSC)
	CALL_REL(CLTS)
	CALL_REL(EnableInterrupts)
	CALL_REL(DisableInterrupts)
	CALL_REL(GetInterruptMask)
	CALL_REL(SetInterruptMask)
	JUMP_REL(IRET)
	JUMP_REL(SYSEXIT)
	CALL_REL(Halt)
	CALL_REL(Reboot)
	CALL_REL(Shutdown)
	CALL_REL(SetPxE)
	CALL_REL(UpdatePxE)
	CALL_REL(AllocatePage)
	CALL_REL(ReleasePage)
	CALL_REL(InvalPage)
	CALL_REL(FlushTLB)
	CALL_REL(SetLinearMapping)
	NOP(IODelay)
	CALL_REL(GetCycleFrequency)
	CALL_REL(GetCycleCounter)
	CALL_REL(SetAlarm)
	CALL_REL(CancelAlarm)
	CALL_REL(GetWallclockTime)
	CALL_REL(WallclockUpdated)
	CALL_REL(SetLazyMode)
	.org reloc_table + VMI_CALL_COUNT * 8

/* Init: no arguments, EAX = 0 on success. The monitor decides (it may
 * refuse, e.g. when it cannot serve the ROM); the privilege level is left
 * as it is, so Linux keeps running at CPL 0. */
	.type vmi_init, @function
vmi_init:
#ifdef VMI_ROM_INIT_FAIL
	movl $-1, %eax
#else
	movl $VMI_HC_INIT, %eax
	vmcall
#endif
	ret
	.size vmi_init, . - vmi_init

/* GetRelocationInfo: EAX = call number -> EAX = absolute eip, DL = type
 * (EDX[31:8] = 0). Finds the ROM's own address at run time, since the
 * guest decides where it maps the ROM. Clobbers ECX. */
	.type vmi_get_reloc, @function
vmi_get_reloc:
	cmpl $VMI_CALL_COUNT, %eax
	jae 2f
	call 1f
1:	popl %ecx
	subl $(1b - rom_start), %ecx     /* ECX = ROM base */
	movzbl reloc_table - rom_start + 4(%ecx,%eax,8), %edx
	testl %edx, %edx
	jz 2f
	movl reloc_table - rom_start(%ecx,%eax,8), %eax
	addl %ecx, %eax
	ret
2:	xorl %eax, %eax                  /* NONE, eip 0 */
	xorl %edx, %edx
	ret
	.size vmi_get_reloc, . - vmi_get_reloc

/* ---- routines executed in the guest ----
 * The interrupt flag, IRET/SYSEXIT, HLT and CPUID run as the native
 * instructions: the ROM runs at CPL 0 and the translator already
 * virtualises them (inline virtual IF), so a hypercall would only add a
 * trip into C. These must keep every register but their outputs. */
#define ROUTINE(name) .globl vmi_##name; .type vmi_##name, @function; vmi_##name:

ROUTINE(CPUID)              /* EAX leaf, ECX subleaf -> EAX EBX ECX EDX */
	cpuid
	ret
ROUTINE(EnableInterrupts)
	sti
	ret
ROUTINE(DisableInterrupts)
	cli
	ret
ROUTINE(GetInterruptMask)   /* EAX = EFLAGS image, IF = bit 9 */
	pushfl
	popl %eax
	ret
ROUTINE(SetInterruptMask)   /* EAX = EFLAGS image to restore */
	pushl %eax
	popfl
	ret
ROUTINE(IRET)               /* JUMP_REL: the frame is at [ESP] */
	iret
ROUTINE(SYSEXIT)            /* JUMP_REL: EDX = user EIP, ECX = user ESP */
	sti
	sysexit
ROUTINE(Halt)               /* safe halt: sti's shadow covers the hlt */
	sti
	hlt
	ret
ROUTINE(nop)                /* eip given for NOP answers */
	ret

/* Hypercall stubs. HC2: at most two register arguments (EAX, EDX) and no
 * stack arguments; EBX and ESI are not passed. HC: three register
 * arguments and/or stack arguments; EBX and ESI are callee-saved, so they
 * are kept. */
#define HC2(name)                                               \
	ROUTINE(name)                                           \
	movl %edx, %ecx;                                        \
	movl %eax, %edx;                                        \
	movl $VMI_CALL_##name, %eax;                            \
	vmcall;                                                 \
	ret

/* EBX, ESI saved; ESI = [ESP+4] at entry: past ESI, EBX, return address */
#define HC(name)                                                \
	ROUTINE(name)                                           \
	pushl %ebx;                                             \
	pushl %esi;                                             \
	leal 12(%esp), %esi;                                    \
	movl %ecx, %ebx;                                        \
	movl %edx, %ecx;                                        \
	movl %eax, %edx;                                        \
	movl $VMI_CALL_##name, %eax;                            \
	vmcall;                                                 \
	popl %esi;                                              \
	popl %ebx;                                              \
	ret

	HC2(SetGDT)
	HC2(SetLDT)
	HC2(SetIDT)
	HC2(SetTR)
	HC2(GetGDT)
	HC2(GetLDT)
	HC2(GetIDT)
	HC2(GetTR)
	HC(WriteGDTEntry)
	HC(WriteLDTEntry)
	HC(WriteIDTEntry)
	HC2(UpdateKernelStack)
	HC2(SetCR0)
	HC2(SetCR2)
	HC2(SetCR3)
	HC2(SetCR4)
	HC2(GetCR0)
	HC2(GetCR2)
	HC2(GetCR3)
	HC2(GetCR4)
	HC2(WBINVD)
	HC2(RDTSC)
	HC2(CLTS)
	HC2(Reboot)
	HC2(Shutdown)
	HC(SetPxE)
	HC2(UpdatePxE)
	HC(AllocatePage)
	HC2(ReleasePage)
	HC2(InvalPage)
	HC2(FlushTLB)
	HC(SetLinearMapping)
	HC2(GetCycleFrequency)
	HC2(GetCycleCounter)
	HC(SetAlarm)
	HC2(CancelAlarm)
	HC2(GetWallclockTime)
	HC2(WallclockUpdated)
	HC2(SetLazyMode)

	.section .note.GNU-stack, "", @progbits
