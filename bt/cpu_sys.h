/* The IA-32 system architecture as helpers execute it: descriptors and
 * segment loads, interrupt and exception delivery, IRET and far
 * transfers, control registers and MSRs. All of it runs in C from a
 * helper or the run loop, with the guest state synced into struct cpu;
 * faults leave through bt_raise, so a failing instruction changes
 * nothing (values are read and checked before anything is committed). */
#ifndef TPVM_BT_CPU_SYS_H
#define TPVM_BT_CPU_SYS_H

#include <stdbool.h>
#include <stdint.h>

#include "bt/cpu.h"

struct desc {
    uint32_t lo, hi;
};

/* Descriptor attribute bits, as kept in struct seg.attr (bits 40..55 of
 * the descriptor shifted down by 40): type 0-3, S 4, DPL 5-6, P 7,
 * AVL 12, D/B 14, G 15. */
#define DA_TYPE(a) ((a) & 0xfu)
#define DA_S 0x10u
#define DA_DPL(a) (((a) >> 5) & 3u)
#define DA_P 0x80u
#define DA_DB 0x4000u
#define DA_G 0x8000u
#define DA_CODE 0x8u   /* within type, with S */
#define DA_CONF 0x4u   /* code: conforming */
#define DA_RW 0x2u     /* code: readable, data: writable */
#define DA_EXPDOWN 0x4u /* data: expand-down */

static inline uint32_t desc_attr(const struct desc *d) { return (d->hi >> 8) & 0xf0ffu; }
static inline uint32_t desc_base(const struct desc *d)
{
    return (d->lo >> 16) | ((d->hi & 0xffu) << 16) | (d->hi & 0xff000000u);
}
static inline uint32_t desc_limit(const struct desc *d)
{
    uint32_t l = (d->lo & 0xffffu) | (d->hi & 0x000f0000u);
    return (d->hi & 0x00800000u) ? (l << 12) | 0xfffu : l;
}

/* Event sources, which decide the EXT bit and the privilege check. */
enum { EV_EXC, EV_SOFT, EV_EXT };

/* cpu_desc.c */
/* Read the descriptor for sel from the GDT or LDT; raises vector(sel|ext)
 * when the selector points outside its table. */
void desc_fetch(struct cpu *cpu, uint16_t sel, struct desc *d, int vector,
                uint32_t ext);
void desc_set_accessed(struct cpu *cpu, uint16_t sel, struct desc *d);
void seg_set(struct cpu *cpu, int s, uint16_t sel, const struct desc *d);
void seg_set_flat(struct cpu *cpu, int s, uint16_t sel, unsigned dpl, bool code);
void seg_set_null(struct cpu *cpu, int s, uint16_t sel);
/* MOV/POP/LxS to DS ES FS GS SS, with all protection checks. */
void seg_load(struct cpu *cpu, int s, uint16_t sel);
void sys_lgdt_lidt(struct cpu *cpu, bool idt, uint32_t lin, unsigned opsize);
void sys_sgdt_sidt(struct cpu *cpu, bool idt, uint32_t lin);
void sys_lldt(struct cpu *cpu, uint16_t sel);
void sys_ltr(struct cpu *cpu, uint16_t sel);
/* LAR/LSL/VERR/VERW: returns true (ZF=1) when valid; *out gets the value */
bool sys_lar_lsl(struct cpu *cpu, uint16_t sel, bool lsl, uint32_t *out);
bool sys_verr_verw(struct cpu *cpu, uint16_t sel, bool write);
/* After a return to an outer ring: null data segments the new CPL may
 * not use. */
void seg_validate_outer(struct cpu *cpu);

/* cpu_intr.c */
/* Deliver vector through the IDT (protected mode). cpu->eip is the
 * return address to push. Raises on failure (the run loop turns nested
 * faults into #DF and triple faults). */
void cpu_deliver(struct cpu *cpu, int vector, int source, bool has_error,
                 uint32_t error);
void cpu_iret(struct cpu *cpu, unsigned opsize);
void cpu_far_jmp(struct cpu *cpu, uint16_t sel, uint32_t off, unsigned opsize);
void cpu_far_call(struct cpu *cpu, uint16_t sel, uint32_t off,
                  unsigned opsize, uint32_t ret_eip);
void cpu_far_ret(struct cpu *cpu, unsigned opsize, uint16_t imm);
void cpu_sysenter(struct cpu *cpu);
void cpu_sysexit(struct cpu *cpu);

/* cpu_ctrl.c */
void cpu_write_cr(struct cpu *cpu, int n, uint32_t v);
uint32_t cpu_read_cr(struct cpu *cpu, int n);
void cpu_write_dr(struct cpu *cpu, int n, uint32_t v);
uint32_t cpu_read_dr(struct cpu *cpu, int n);
void cpu_rdmsr(struct cpu *cpu);
void cpu_wrmsr(struct cpu *cpu);
/* IN/OUT permission: CPL <= IOPL, else the TSS I/O bitmap. */
bool cpu_io_allowed(struct cpu *cpu, uint16_t port, unsigned size);
uint64_t cpu_rdtsc(struct cpu *cpu);

/* cpuid.c */
void cpuid_model(uint32_t leaf, uint32_t subleaf, uint32_t out[4]);

#endif
