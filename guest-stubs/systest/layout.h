/* systest: numbers shared by the C and assembly files: the GDT layout,
 * the vectors, EFLAGS/CR bits and the test page area. */
#ifndef SYSTEST_LAYOUT_H
#define SYSTEST_LAYOUT_H

/* GDT. Kernel code, kernel data, user code, user data are consecutive
 * because SYSENTER/SYSEXIT derive the last three from the first. */
#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UCODE 0x1b /* index 3, RPL 3 */
#define SEL_UDATA 0x23 /* index 4, RPL 3 */
#define SEL_TSS 0x28
#define SEL_CALLGATE 0x30 /* DPL-3 call gate to callgate_entry */
#define SEL_SMALL 0x38    /* data, base small_window, limit SMALL_LIMIT */
#define SEL_NOTPRESENT 0x40
#define SEL_LDT 0x48
#define SEL_KCODE_ALIAS 0x50 /* a second flat ring-0 code segment */
#define SEL_RODATA 0x58      /* flat read-only data */
#define SEL_XOCODE 0x60      /* flat execute-only code */
#define GDT_ENTRIES 13
#define SEL_BEYOND_GDT 0x100 /* index past the GDT limit */
#define SEL_LDT_DATA 0x04    /* LDT index 0, TI=1, RPL 0 */
#define LDT_ENTRIES 2
#define SMALL_LIMIT 15

/* IDT. */
#define VEC_IRQ0 0x20
#define VEC_SYSCALL 0x80      /* DPL-3 trap gate */
#define VEC_SYSCALL_INTR 0x81 /* DPL-3 interrupt gate, same handler */
#define VEC_USER_EXIT 0x82    /* DPL-3: ring-3 code is done */
#define VEC_KERNEL_ONLY 0x83  /* DPL-0 interrupt gate */
#define VEC_ABSENT 0x90       /* gate not present */

/* The TSS I/O bitmap covers ports 0..IOMAP_PORTS-1; the only port it
 * allows is IOMAP_ALLOWED_PORT (COM1's scratch register). */
#define IOMAP_PORTS 0x400
#define IOMAP_ALLOWED_PORT 0x3ff

#define NO_TRAP (-1)
#define NO_ERROR 0xffffffffu

#define EFLAGS_CF 0x1
#define EFLAGS_FIXED 0x2
#define EFLAGS_ZF 0x40
#define EFLAGS_TF 0x100
#define EFLAGS_IF 0x200
#define EFLAGS_DF 0x400
#define EFLAGS_OF 0x800
#define EFLAGS_IOPL3 0x3000
#define EFLAGS_NT 0x4000
#define EFLAGS_RF 0x10000
#define EFLAGS_AC 0x40000

#define CR0_PE 0x1
#define CR0_MP 0x2
#define CR0_EM 0x4
#define CR0_TS 0x8
#define CR0_ET 0x10
#define CR0_NE 0x20
#define CR0_WP 0x10000
#define CR0_AM 0x40000
#define CR0_PG 0x80000000

#define DR6_CLEAR 0xffff0ff0 /* DR6 with no status bit set */
#define DR6_B0 0x1
#define DR6_B1 0x2
#define DR6_BS 0x4000

#define CR4_TSD 0x4
#define CR4_DE 0x8
#define CR4_PSE 0x10
#define CR4_PGE 0x80
#define CR4_OSFXSR 0x200

#define PTE_P 0x1
#define PTE_W 0x2
#define PTE_U 0x4
#define PTE_PWT 0x8
#define PTE_PCD 0x10
#define PTE_A 0x20
#define PTE_D 0x40
#define PTE_PS 0x80
#define PTE_G 0x100

#define PAGE_SIZE 4096
#define TEST_LINEAR 0x40000000 /* 4 KiB test pages, page_table_test */
#define PSE_ALIAS 0x80000000   /* a 4 MiB page onto physical 0 */
#define TEST_FRAMES 6

#define MSR_TSC 0x10
#define MSR_SYSENTER_CS 0x174
#define MSR_SYSENTER_ESP 0x175
#define MSR_SYSENTER_EIP 0x176

#endif
