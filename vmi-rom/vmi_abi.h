/* The VMI ABI shared by the option ROM (vmi-rom/vmi.S), the guests
 * (guest-stubs/minios) and the monitor (vmm/vmi.c): VMware VMI API 3.0 as
 * Linux 2.6.21-2.6.36 consumed it (shared/docs/vmi-abi.md), plus tpvm's
 * hypercall convention. Self-contained C99; the #defines also serve GNU as
 * (everything C-only sits under !__ASSEMBLER__). Call numbers and argument
 * layouts exist only here. */
#ifndef TPVM_VMI_ABI_H
#define TPVM_VMI_ABI_H

/* ---- the ROM and how a guest finds it (vmi-abi.md §1, §2) ---- */

#define VMI_API_REV_MAJOR 3
#define VMI_API_REV_MINOR 0
#define VMI_ROM_SIGNATURE 0xAA55      /* u16 at offset 0 */
#define VMI_SIGNATURE 0x696D5663      /* "cVmi", u32 at offset 8 */
#define VMI_ROM_SCAN_START 0xC0000u   /* Linux scans [START, END) */
#define VMI_ROM_SCAN_END 0xE0000u
#define VMI_ROM_SCAN_STEP 0x800u      /* 2 KiB */
#define VMI_ROM_LOAD_ADDR 0xC0000u    /* where tpvm maps its ROM */
#define VMI_ROM_MAX_SIZE (VMI_ROM_SCAN_END - VMI_ROM_LOAD_ADDR)
#define VMI_ROM_BLOCK 512u            /* rom_length unit */

#define VMI_PCI_VENDOR_VMWARE 0x15AD
#define VMI_PCI_DEVICE_VMI 0x0801

/* Header field offsets (the header is packed, little-endian). */
#define VMI_ROM_OFF_ROM_LENGTH 0x02
#define VMI_ROM_OFF_ROM_ENTRY 0x03
#define VMI_ROM_OFF_VROM_SIGNATURE 0x08
#define VMI_ROM_OFF_API_MIN 0x0C
#define VMI_ROM_OFF_API_MAJ 0x0D
#define VMI_ROM_OFF_JUMP_SLOTS 0x0E
#define VMI_ROM_OFF_VIRTUAL_TOP 0x10
#define VMI_ROM_OFF_LICENSE 0x16
#define VMI_ROM_OFF_PCI_HEADER 0x18
#define VMI_ROM_OFF_PNP_HEADER 0x1A
#define VMI_ROM_OFF_INIT 0x80         /* code: Init, entered by a near call */
#define VMI_ROM_OFF_GET_RELOC 0x88    /* code: GetRelocationInfo */
#define VMI_ROM_HEADER_SIZE 0x90

/* ---- call numbers, API 3.0 (vmi-abi.md §4) ---- */

#define VMI_CALL_CPUID 0
#define VMI_CALL_WRMSR 1
#define VMI_CALL_RDMSR 2
#define VMI_CALL_SetGDT 3
#define VMI_CALL_SetLDT 4
#define VMI_CALL_SetIDT 5
#define VMI_CALL_SetTR 6
#define VMI_CALL_GetGDT 7
#define VMI_CALL_GetLDT 8
#define VMI_CALL_GetIDT 9
#define VMI_CALL_GetTR 10
#define VMI_CALL_WriteGDTEntry 11
#define VMI_CALL_WriteLDTEntry 12
#define VMI_CALL_WriteIDTEntry 13
#define VMI_CALL_UpdateKernelStack 14
#define VMI_CALL_SetCR0 15
#define VMI_CALL_SetCR2 16
#define VMI_CALL_SetCR3 17
#define VMI_CALL_SetCR4 18
#define VMI_CALL_GetCR0 19
#define VMI_CALL_GetCR2 20
#define VMI_CALL_GetCR3 21
#define VMI_CALL_GetCR4 22
#define VMI_CALL_WBINVD 23
#define VMI_CALL_SetDR 24
#define VMI_CALL_GetDR 25
#define VMI_CALL_RDPMC 26
#define VMI_CALL_RDTSC 27
#define VMI_CALL_CLTS 28
#define VMI_CALL_EnableInterrupts 29
#define VMI_CALL_DisableInterrupts 30
#define VMI_CALL_GetInterruptMask 31
#define VMI_CALL_SetInterruptMask 32
#define VMI_CALL_IRET 33
#define VMI_CALL_SYSEXIT 34
#define VMI_CALL_Halt 35
#define VMI_CALL_Reboot 36
#define VMI_CALL_Shutdown 37
#define VMI_CALL_SetPxE 38
#define VMI_CALL_SetPxELong 39
#define VMI_CALL_UpdatePxE 40
#define VMI_CALL_UpdatePxELong 41
#define VMI_CALL_MachineToPhysical 42
#define VMI_CALL_PhysicalToMachine 43
#define VMI_CALL_AllocatePage 44
#define VMI_CALL_ReleasePage 45
#define VMI_CALL_InvalPage 46
#define VMI_CALL_FlushTLB 47
#define VMI_CALL_SetLinearMapping 48
#define VMI_CALL_INL 49
#define VMI_CALL_INB 50
#define VMI_CALL_INW 51
#define VMI_CALL_INSL 52
#define VMI_CALL_INSB 53
#define VMI_CALL_INSW 54
#define VMI_CALL_OUTL 55
#define VMI_CALL_OUTB 56
#define VMI_CALL_OUTW 57
#define VMI_CALL_OUTSL 58
#define VMI_CALL_OUTSB 59
#define VMI_CALL_OUTSW 60
#define VMI_CALL_SetIOPLMask 61
#define VMI_CALL_SetInitialAPState 62
#define VMI_CALL_APICWrite 63
#define VMI_CALL_APICRead 64
#define VMI_CALL_IODelay 65
#define VMI_CALL_GetCycleFrequency 66
#define VMI_CALL_GetCycleCounter 67
#define VMI_CALL_SetAlarm 68
#define VMI_CALL_CancelAlarm 69
#define VMI_CALL_GetWallclockTime 70
#define VMI_CALL_WallclockUpdated 71
#define VMI_CALL_SetCallbacks 72
#define VMI_CALL_SetLazyMode 73
#define VMI_CALL_COUNT 74

/* ---- GetRelocationInfo answers (vmi-abi.md §3): EAX = eip, DL = type ---- */

#define VMI_RELOCATION_NONE 0     /* not provided: keep the native code */
#define VMI_RELOCATION_CALL_REL 1 /* near CALL eip; the routine returns */
#define VMI_RELOCATION_JUMP_REL 2 /* near JMP eip; no return to the site */
#define VMI_RELOCATION_NOP 3      /* the operation is a no-op */

/* ---- flags (vmi-abi.md §5, §6, §7) ---- */

#define VMI_PAGE_PT 0x01
#define VMI_PAGE_PD 0x02
#define VMI_PAGE_PDP 0x04
#define VMI_PAGE_PML4 0x08
#define VMI_PAGE_PAE 0x10          /* Allocate/ReleasePage */
#define VMI_PAGE_CLONE 0x20        /* AllocatePage */
#define VMI_PAGE_ZEROED 0x40       /* AllocatePage: a hint only */
#define VMI_PAGE_CURRENT_AS 0x10   /* PxE calls: VA field valid */
#define VMI_PAGE_DEFER 0x20        /* PxE calls: may wait for the next flush */
#define VMI_PAGE_VA_MASK 0xFFFFF000u
#define VMI_PAGE_L1 (VMI_PAGE_PT | VMI_PAGE_ZEROED)
#define VMI_PAGE_L2 (VMI_PAGE_PD | VMI_PAGE_ZEROED)

#define VMI_FLUSH_TLB 0x01
#define VMI_FLUSH_GLOBAL 0x02

#define VMI_LAZY_MODE_OFF 0
#define VMI_LAZY_MODE_MMU_UPDATES 1
#define VMI_LAZY_MODE_CPU_STATE 2

#define VMI_CYCLES_REAL 0
#define VMI_CYCLES_AVAILABLE 1
#define VMI_CYCLES_STOLEN 2
#define VMI_ALARM_COUNTER_MASK 0xFF
#define VMI_ALARM_IS_ONESHOT 0x000
#define VMI_ALARM_IS_PERIODIC 0x100
#define VMI_ALARM_WIRED_IRQ0 0x00000
#define VMI_ALARM_WIRED_LVTT 0x10000

#define VMI_LINEAR_MAPPING_SLOTS 4 /* SetLinearMapping slots 0..3 */

/* ---- tpvm's hypercall: how ROM routines reach the monitor ----
 *
 * Instruction: VMCALL (0F 01 C1), executed by ROM code at CPL 0. The
 * translator turns it into a direct call of the monitor; at CPL > 0 the
 * monitor refuses (VMI_ERR_PRIVILEGE) and changes nothing else.
 *
 * In:  EAX = VMI call number (VMI_CALL_*) or a tpvm call (VMI_HC_*)
 *      EDX = argument 1, ECX = argument 2, EBX = argument 3 (the VMI
 *            call's own EAX, EDX, ECX under its regparm(3) convention)
 *      ESI = guest linear address of the call's first stack argument
 *            (the caller's [ESP+4] at the ROM routine's entry)
 * Out: EAX (EDX:EAX for 64-bit results) = the result; for calls without a
 *      result EAX = the status. ECX = the status: VMI_OK, or a VMI_ERR_*
 *      (negative); on failure a result reads 0. No other register changes.
 *      Exception: CPUID returns the leaf in EAX, EBX, ECX, EDX.
 */
#define VMI_HYPERCALL_BYTES 0x0F, 0x01, 0xC1

#define VMI_OK 0
#define VMI_ERR_UNIMPLEMENTED (-1) /* unknown call, or not provided by tpvm */
#define VMI_ERR_PRIVILEGE (-2)     /* hypercall from CPL > 0 */
#define VMI_ERR_BAD_ADDRESS (-3)   /* unmapped guest address, frame not RAM */
#define VMI_ERR_ALIGN (-4)         /* misaligned pointer */
#define VMI_ERR_INVALID (-5)       /* bad selector, value, flags or index */

/* tpvm's own calls, outside the VMI numbering. */
#define VMI_HC_INIT 0x100 /* the ROM's Init asks the monitor; EAX 0 = go */

#ifndef __ASSEMBLER__
#include <stdint.h>

/* Header of an API 3.0 ROM (offsets above), as Linux reads it. */
struct vmi_rom_header {
    uint16_t rom_signature;
    uint8_t rom_length;
    uint8_t rom_entry[4];
    uint8_t rom_pad0;
    uint32_t vrom_signature;
    uint8_t api_version_min;
    uint8_t api_version_maj;
    uint8_t jump_slots;
    uint8_t reserved1;
    uint32_t virtual_top;
    uint16_t reserved2;
    uint16_t license_offs;
    uint16_t pci_header_offs;
    uint16_t pnp_header_offs;
    uint32_t rom_pad3;
    uint8_t reserved[96];
    uint8_t vmi_init[8];
    uint8_t get_reloc[8];
} __attribute__((packed));

/* PCI data structure ("PCIR"), 24 bytes. */
struct vmi_pci_header {
    char signature[4];
    uint16_t vendor_id;
    uint16_t device_id;
    uint16_t vpd_offs;
    uint16_t length;
    uint8_t revision;
    uint8_t class_code[3]; /* prog-if, subclass, base class */
    uint16_t image_length; /* 512-byte units */
    uint8_t rom_version_min;
    uint8_t rom_version_maj;
    uint8_t code_type;
    uint8_t indicator;     /* bit 7: last image */
    uint16_t reserved;
} __attribute__((packed));

/* PnP expansion header ("$PnP"), 32 bytes. */
struct vmi_pnp_header {
    char signature[4];
    uint8_t revision;
    uint8_t length;        /* 16-byte units */
    uint16_t next_offs;
    uint8_t reserved;
    uint8_t checksum;      /* header bytes sum to 0 */
    uint32_t device_id;
    uint16_t manufacturer_offs;
    uint16_t product_offs;
    uint8_t device_type[3];
    uint8_t device_indicators;
    uint16_t bcv, dv, bev, reserved2, static_resource;
} __attribute__((packed));

/* What GetRelocationInfo returns in EDX:EAX. */
struct vmi_relocation_info {
    uint32_t eip;
    uint8_t type;
    uint8_t reserved[3];
} __attribute__((packed));

/* C99 has no _Static_assert: a negative array size fails instead. */
#define VMI_ABI_STATIC_ASSERT(c, name) typedef char vmi_abi_assert_##name[(c) ? 1 : -1]
VMI_ABI_STATIC_ASSERT(sizeof(struct vmi_rom_header) == VMI_ROM_HEADER_SIZE,
                      rom_header_is_0x90_bytes);
VMI_ABI_STATIC_ASSERT(sizeof(struct vmi_pci_header) == 24, pci_data_is_24_bytes);
VMI_ABI_STATIC_ASSERT(sizeof(struct vmi_pnp_header) == 32, pnp_header_is_32_bytes);
VMI_ABI_STATIC_ASSERT(sizeof(struct vmi_relocation_info) == 8, reloc_is_64_bits);

/* Every call by name, for tables and --stats: X(name). The numbers are
 * the VMI_CALL_<name> defines above. */
#define VMI_CALLS(X)                                                        \
    X(CPUID) X(WRMSR) X(RDMSR) X(SetGDT) X(SetLDT) X(SetIDT) X(SetTR)       \
    X(GetGDT) X(GetLDT) X(GetIDT) X(GetTR) X(WriteGDTEntry)                 \
    X(WriteLDTEntry) X(WriteIDTEntry) X(UpdateKernelStack) X(SetCR0)        \
    X(SetCR2) X(SetCR3) X(SetCR4) X(GetCR0) X(GetCR2) X(GetCR3) X(GetCR4)   \
    X(WBINVD) X(SetDR) X(GetDR) X(RDPMC) X(RDTSC) X(CLTS)                   \
    X(EnableInterrupts) X(DisableInterrupts) X(GetInterruptMask)            \
    X(SetInterruptMask) X(IRET) X(SYSEXIT) X(Halt) X(Reboot) X(Shutdown)    \
    X(SetPxE) X(SetPxELong) X(UpdatePxE) X(UpdatePxELong)                   \
    X(MachineToPhysical) X(PhysicalToMachine) X(AllocatePage)               \
    X(ReleasePage) X(InvalPage) X(FlushTLB) X(SetLinearMapping) X(INL)      \
    X(INB) X(INW) X(INSL) X(INSB) X(INSW) X(OUTL) X(OUTB) X(OUTW) X(OUTSL)  \
    X(OUTSB) X(OUTSW) X(SetIOPLMask) X(SetInitialAPState) X(APICWrite)      \
    X(APICRead) X(IODelay) X(GetCycleFrequency) X(GetCycleCounter)          \
    X(SetAlarm) X(CancelAlarm) X(GetWallclockTime) X(WallclockUpdated)      \
    X(SetCallbacks) X(SetLazyMode)

#endif /* !__ASSEMBLER__ */
#endif
