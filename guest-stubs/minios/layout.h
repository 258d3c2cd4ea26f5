/* minios: numbers shared by C and assembly: selectors, vectors, the
 * memory layout, system call numbers. */
#ifndef MINIOS_LAYOUT_H
#define MINIOS_LAYOUT_H

/* GDT: null, kernel code/data, user code/data, TSS. */
#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UCODE 0x1b /* index 3, RPL 3 */
#define SEL_UDATA 0x23 /* index 4, RPL 3 */
#define SEL_TSS 0x28
#define GDT_ENTRIES 6

#define VEC_PF 14
#define VEC_IRQ0 0x20 /* the PIC is remapped to 0x20-0x2f */
#define VEC_SYSCALL 0x80

#define PAGE_SIZE 0x1000u
#define PAGE_SHIFT 12
/* The kernel (image, frames, ROM area) is identity-mapped in every
 * address space by the first KERNEL_PDES directory entries. */
#define KERNEL_MAP_END 0x02000000u /* 32 MiB */
#define KERNEL_PDES (KERNEL_MAP_END >> 22)
/* User space: demand-zero anywhere in [USER_BASE, USER_END). */
#define USER_BASE 0x40000000u
#define USER_END 0x80000000u
#define USER_HEAP USER_BASE
#define USER_MMAP_AREA 0x50000000u
#define USER_STACK_TOP USER_END

#define PTE_P 0x001u
#define PTE_W 0x002u
#define PTE_U 0x004u
#define PTE_A 0x020u
#define PTE_FRAME 0xfffff000u

#define EFLAGS_IF 0x200
#define CR0_WP 0x00010000u
#define CR0_PG 0x80000000u

#define MAX_TASKS 8
#define KSTACK_SIZE 0x2000u

/* System calls: int 0x80, EAX = number, EBX/ECX/EDX = arguments,
 * EAX = result. */
#define SYS_GETTID 0
#define SYS_YIELD 1
#define SYS_EXIT 2    /* EBX code */
#define SYS_WRITE 3   /* EBX buffer, ECX length -> bytes written */
#define SYS_MMAP 4    /* EBX address, ECX pages -> 0, or -1 */
#define SYS_MUNMAP 5  /* EBX address, ECX pages -> pages that were mapped */
#define SYS_FORK 6    /* -> child tid in the parent, 0 in the child */
#define SYS_WAIT 7    /* -> exit code of a child, -1 if none */
#define SYS_SEND 8    /* EBX tid, ECX message -> 0, or -1 */
#define SYS_RECV 9    /* -> the message */
#define SYS_RESULT 10 /* EBX check, ECX cycles low, EDX cycles high */
/* For the remap workload: page tables changed behind a task's back.
 * EBX tid (0: the caller), ECX address, EDX value -> 0, or -1 */
#define SYS_REMAP 11   /* a fresh page holding value at the address */
#define SYS_SWAPTABLES 12 /* its 4 MiB and the next trade page tables */
#define SYS_SHARE 13   /* use tid's page table for the address's 4 MiB */
#define SYS_UNSHARE 14 /* ECX address: stop using a shared page table */
#define SYS_POKE 15    /* write value at the address, in tid's memory */

#endif
