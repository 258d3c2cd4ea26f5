/* The monitor's side of the VMI ROM: the hypercall back end (VMCALL from
 * vmi-rom/vmi.S, convention in vmi-rom/vmi_abi.h), loading the ROM image
 * into guest RAM, and the one-shot/periodic alarms the machine's timer
 * code must serve. Uses the CPU only through bt/bt.h and bt/cpu.h.
 *
 * Wiring (vm.c / run.c, owned by the machine):
 *   - vm_create: vm->vmi = vmi_create(ram_size, &ops); the bt_host gets
 *     .hypercall = a 2-line trampoline calling vmi_hypercall(vm->vmi, cpu);
 *     in --mode pv/auto: vmi_rom_load(opts->rom, vm->ram, vm->ram_size, ...)
 *     before the CPU runs.
 *   - the alarm: one machine timer (vmm/timer.h). ops.alarm_changed arms
 *     it at vmi_alarm_deadline_ns(); its callback calls vmi_alarm_fire()
 *     and pulses IRQ 0 (VMI_FIRED_IRQ0; LVTT needs a local APIC), then
 *     re-arms. A halted CPU then sleeps in the run loop's idle wait
 *     until the deadline, as for any device timer: no polling.
 *   The exact code is in vmi-rom/README.md ("Wiring into the machine").
 *
 * Choices:
 *   - Interrupt-flag calls (29-32), IRET, SYSEXIT, Halt and CPUID run in
 *     the ROM as the native instructions (it runs at CPL 0 and the
 *     translator virtualises them inline); they never reach this file.
 *     Halt is `sti; hlt`, so the run loop sees an ordinary HLT exit.
 *   - Page-table writes go to guest memory at once; only TLB invalidation
 *     is batched (lazy MMU mode, VMI_PAGE_DEFER) and applied when the
 *     guest leaves lazy mode, flushes, invalidates a page or loads CR3.
 *     Without VMI_PAGE_CURRENT_AS the live TLB is left to the guest's
 *     flushes, as x86 wants.
 *   - SetCR3 keeps translations (bt_tlb_switch_as): TLB and branch-cache
 *     entries under directory entries both spaces hold stay live, the
 *     others are saved for the space left and come back when it is
 *     entered again. That relies on the guest reporting every page-table
 *     write, as the VMI contract says: each SetPxE/UpdatePxE, whatever its
 *     flags, drops the saved entries that came from that entry
 *     (bt_tlb_pte_written: its PTE, or the 4 MiB under a PDE, in every
 *     saved set, since tables may be shared); AllocatePage and
 *     ReleasePage forget everything saved from the page
 *     (bt_tlb_table_reset); CR0.PG/WP/PE and CR4.PSE/PGE changes drop all
 *     saved sets.
 *   - Counters: REAL = AVAILABLE = the guest TSC (one vCPU, no stolen
 *     time accounted); STOLEN reads 0.
 */
#ifndef TPVM_VMM_VMI_H
#define TPVM_VMM_VMI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bt/bt.h"
#include "bt/cpu.h"
#include "vmi-rom/vmi_abi.h"

/* Counters, one X-macro list (--stats). Per-call counts are kept apart. */
#define VMI_STATS(X)                                                       \
    X(hypercalls, "VMI hypercalls")                                        \
    X(errors, "hypercalls answered with an error status")                 \
    X(unimplemented, "hypercalls for calls tpvm does not provide")        \
    X(rom_init, "ROM Init calls accepted")                                 \
    X(set_pxe, "SetPxE: page-table entries written")                      \
    X(update_pxe, "UpdatePxE: in-place entry changes reported")           \
    X(allocate_page, "AllocatePage: pages registered as PT/PD")           \
    X(release_page, "ReleasePage: PT/PD pages released")                  \
    X(clone_entries, "PD entries copied by AllocatePage(CLONE)")          \
    X(set_linear_mapping, "SetLinearMapping calls")                       \
    X(flush_tlb, "FlushTLB: full soft-TLB flushes asked")                 \
    X(inval_page, "InvalPage: single-page invalidations asked")           \
    X(set_cr3, "SetCR3: address-space switches")                          \
    X(lazy_enter, "SetLazyMode: lazy mode entered")                       \
    X(lazy_leave, "SetLazyMode: lazy mode left or lowered")               \
    X(lazy_queued, "TLB invalidations queued (lazy MMU or DEFER)")        \
    X(lazy_applied, "queued invalidations applied")                       \
    X(lazy_overflows, "lazy queue overflows (became a full flush)")       \
    X(descriptor_writes, "Write{GDT,LDT,IDT}Entry")                       \
    X(kernel_stack_updates, "UpdateKernelStack")                          \
    X(alarms_set, "SetAlarm")                                             \
    X(alarms_cancelled, "CancelAlarm")                                    \
    X(alarms_fired, "alarm expiries delivered to the machine")

struct vmi_stats {
#define X(name, desc) uint64_t name;
    VMI_STATS(X)
#undef X
    uint64_t calls[VMI_CALL_COUNT]; /* hypercalls per VMI call number */
};

/* What the back end may ask of the machine. NULL members: the call
 * answers VMI_ERR_UNIMPLEMENTED. */
struct vmi_machine_ops {
    void *opaque;
    void (*shutdown)(void *opaque);           /* VMI Shutdown: power off */
    void (*reboot)(void *opaque, bool hard);  /* VMI Reboot: 0 soft, 1 hard */
    /* SetAlarm/CancelAlarm changed vmi_alarm_deadline(): re-arm the
     * machine's timer (called on the CPU thread, inside the hypercall). */
    void (*alarm_changed)(void *opaque);
};

struct vmi;

/* One VMI back end per machine (one vCPU). ram_size sizes the table of
 * registered page-table pages. NULL on out of memory. */
struct vmi *vmi_create(uint32_t ram_size, const struct vmi_machine_ops *ops);
void vmi_destroy(struct vmi *vmi); /* NULL is fine */

/* The body of bt_host.hypercall: decode cpu->regs per vmi_abi.h, do the
 * call, write results and status back. Never raises a guest exception. */
void vmi_hypercall(struct vmi *vmi, struct cpu *cpu);

/* Copy the ROM into guest RAM at VMI_ROM_LOAD_ADDR: the file at
 * path_or_null, or the image built into tpvm (vmi-rom/vmi.rom) when NULL.
 * The contents are not checked (the bad-ROM tests load broken ROMs on
 * purpose); only the size must fit 0xC0000-0xDFFFF and RAM. Call before
 * the CPU runs (or bt_invalidate_phys the range). Returns 0, or a
 * negative errno with one line in err. */
int vmi_rom_load(const char *path_or_null, uint8_t *ram, uint32_t ram_size,
                 char *err, size_t errlen);

/* ---- timer hook ---- */

#define VMI_NO_DEADLINE UINT64_MAX
#define VMI_FIRED_IRQ0 0x1u /* raise IRQ 0, as the PIT would */
#define VMI_FIRED_LVTT 0x2u /* raise the local-APIC timer (LVTT) vector */

/* The REAL (and AVAILABLE) cycle counter: the guest's TSC. */
uint64_t vmi_cycles_now(const struct cpu *cpu);
/* Its rate in Hz (the host TSC rate, measured once, ~10 ms). */
uint64_t vmi_cycle_frequency(struct vmi *vmi);
/* Earliest expiry of an armed alarm on the vmi_cycles_now() scale, or
 * VMI_NO_DEADLINE. */
uint64_t vmi_alarm_deadline(const struct vmi *vmi);
/* The same deadline on a nanosecond clock that reads now_ns at this
 * moment (the machine's timer clock): UINT64_MAX when no alarm is armed,
 * now_ns when it is already due. */
uint64_t vmi_alarm_deadline_ns(struct vmi *vmi, const struct cpu *cpu,
                               uint64_t now_ns);
/* Fire every alarm due at now: one-shots disarm, periodic ones move to
 * their first expiry after now (no catch-up bursts). Returns the
 * VMI_FIRED_* lines to raise (0: nothing was due). */
unsigned vmi_alarm_fire(struct vmi *vmi, uint64_t now);

/* True once the guest's ROM Init has run (the guest took the PV path). */
bool vmi_rom_active(const struct vmi *vmi);

const struct vmi_stats *vmi_get_stats(const struct vmi *vmi);
void vmi_print_stats(const struct vmi *vmi, FILE *out);

#endif
