/* Control and debug registers, MSRs, the TSC and the I/O permission
 * check. Writes that change how addresses translate flush the soft TLB
 * exactly when x86 requires it. */
#include <x86intrin.h>

#include "bt/cpu_sys.h"
#include "bt/internal.h"

#define CR4_SUPPORTED (CR4_TSD | CR4_DE | CR4_PSE | CR4_PGE | CR4_OSFXSR | CR4_OSXMMEXCPT)

void cpu_write_cr(struct cpu *cpu, int n, uint32_t v)
{
    switch (n) {
    case 0: {
        if ((v & CR0_PG) && !(v & CR0_PE))
            bt_raise(cpu, EXC_GP, 0, true);
        if ((v & CR0_NW) && !(v & CR0_CD))
            bt_raise(cpu, EXC_GP, 0, true);
        v |= CR0_ET; /* hard-wired on P6 */
        uint32_t old = cpu->cr0;
        cpu->cr0 = v;
        if ((old ^ v) & (CR0_PG | CR0_WP | CR0_PE))
            bt_tlb_flush(cpu);
        if (!(v & CR0_PE)) {
            fprintf(stderr, "tpvm: the guest left protected mode; real mode "
                            "is not supported\n");
            bt_leave(cpu, BT_EXIT_INTERNAL);
        }
        return;
    }
    case 2:
        cpu->cr2 = v;
        return;
    case 3:
        cpu->cr3 = v;
        bt_tlb_flush_nonglobal(cpu);
        return;
    case 4: {
        if (v & ~CR4_SUPPORTED)
            bt_raise(cpu, EXC_GP, 0, true);
        uint32_t old = cpu->cr4;
        cpu->cr4 = v;
        if ((old ^ v) & (CR4_PSE | CR4_PGE | CR4_PAE))
            bt_tlb_flush(cpu);
        return;
    }
    default:
        bt_raise(cpu, EXC_UD, 0, false);
    }
}

uint32_t cpu_read_cr(struct cpu *cpu, int n)
{
    switch (n) {
    case 0: return cpu->cr0;
    case 2: return cpu->cr2;
    case 3: return cpu->cr3;
    case 4: return cpu->cr4;
    default: bt_raise(cpu, EXC_UD, 0, false);
    }
}

static int dr_index(struct cpu *cpu, int n)
{
    if (n == 4 || n == 5) {
        if (cpu->cr4 & CR4_DE)
            bt_raise(cpu, EXC_UD, 0, false);
        return n + 2; /* aliases of DR6/DR7 */
    }
    return n;
}

void cpu_write_dr(struct cpu *cpu, int n, uint32_t v)
{
    n = dr_index(cpu, n);
    if (n == 6)
        v = (v & 0x0000e00fu) | 0xffff0ff0u;
    else if (n == 7)
        v = (v & 0xffff2fffu) | 0x400u;
    uint32_t old7 = cpu->dr[7], old = cpu->dr[n];
    cpu->dr[n] = v;
    /* Execution breakpoints are checked when code is translated, so the
     * cache goes when the set of them changes; other writes leave it
     * (Linux clears DR0-DR3 and DR7 at each CPU's init: five flushes of
     * everything translated so far, for nothing). */
    bool changed = false;
    for (int i = 0; i < 4; i++) {
        bool was = dr7_exec_bp(old7, i), is = dr7_exec_bp(cpu->dr[7], i);
        uint32_t was_at = i == n ? old : cpu->dr[i];
        changed = changed || was != is || (is && was_at != cpu->dr[i]);
    }
    if (changed)
        bt_flush_code(cpu->bt);
}

uint32_t cpu_read_dr(struct cpu *cpu, int n)
{
    n = dr_index(cpu, n);
    if (n == 6 && cpu->dr[6] == 0)
        return 0xffff0ff0u;
    if (n == 7 && cpu->dr[7] == 0)
        return 0x400u;
    return cpu->dr[n];
}

uint64_t cpu_rdtsc(struct cpu *cpu)
{
    return __rdtsc() + cpu->tsc_offset;
}

/* The MSRs a 32-bit kernel touches on the P6 model of cpuid.c; the rest
 * #GP(0) as on hardware. */
#define MSR_TSC 0x10u
#define MSR_PLATFORM_ID 0x17u
#define MSR_BIOS_SIGN_ID 0x8bu
#define MSR_SYSENTER_CS 0x174u
#define MSR_SYSENTER_ESP 0x175u
#define MSR_SYSENTER_EIP 0x176u

void cpu_rdmsr(struct cpu *cpu)
{
    uint64_t v;
    switch (cpu->regs[R_ECX]) {
    case MSR_TSC: v = cpu_rdtsc(cpu); break;
    case MSR_PLATFORM_ID: v = 0; break;
    case MSR_BIOS_SIGN_ID: v = 0; break; /* no microcode update loaded */
    case MSR_SYSENTER_CS: v = cpu->sysenter_cs; break;
    case MSR_SYSENTER_ESP: v = cpu->sysenter_esp; break;
    case MSR_SYSENTER_EIP: v = cpu->sysenter_eip; break;
    default: bt_raise(cpu, EXC_GP, 0, true);
    }
    cpu->regs[R_EAX] = (uint32_t)v;
    cpu->regs[R_EDX] = (uint32_t)(v >> 32);
}

void cpu_wrmsr(struct cpu *cpu)
{
    uint64_t v = ((uint64_t)cpu->regs[R_EDX] << 32) | cpu->regs[R_EAX];
    switch (cpu->regs[R_ECX]) {
    case MSR_TSC: cpu->tsc_offset = v - __rdtsc(); break;
    case MSR_BIOS_SIGN_ID: break;
    case MSR_SYSENTER_CS: cpu->sysenter_cs = (uint32_t)v & 0xffffu; break;
    case MSR_SYSENTER_ESP: cpu->sysenter_esp = (uint32_t)v; break;
    case MSR_SYSENTER_EIP: cpu->sysenter_eip = (uint32_t)v; break;
    default: bt_raise(cpu, EXC_GP, 0, true);
    }
}

bool cpu_io_allowed(struct cpu *cpu, uint16_t port, unsigned size)
{
    uint32_t iopl = (cpu->eflags & FL_IOPL) >> 12;
    if (cpu->cpl <= iopl)
        return true;
    const struct seg *tr = &cpu->seg[S_TR];
    if (!(DA_TYPE(tr->attr) & 8) || tr->limit < 0x67)
        return false;
    uint32_t map = mmu_read_acc(cpu, tr->base + 0x66, 2, ACC_SUPER);
    uint32_t byte = map + port / 8u;
    if (byte + 1 > tr->limit)
        return false;
    uint32_t bits = mmu_read_acc(cpu, tr->base + byte, 2, ACC_SUPER);
    uint32_t mask = ((1u << size) - 1) << (port & 7u);
    return (bits & mask) == 0;
}
