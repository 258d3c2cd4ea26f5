/* systest: privilege checks: IRET to ring 3, system calls through DPL-3
 * gates with the TSS stack switch, what ring 3 may not do (at IOPL 0 and
 * 3, with the TSS I/O bitmap), call gates and SYSENTER/SYSEXIT. */
#include "systest.h"
#include "probes.h"

/* Ring 3 runs with only the fixed EFLAGS bit unless a check says. */
#define USER_EFLAGS EFLAGS_FIXED
/* A ring-3 -> ring-0 frame without error code: SS ESP EFLAGS CS EIP. */
#define FRAME_FROM_RING3 20

void check_ring_iret_to_user(struct result *r)
{
    struct trap_info t;
    uint32_t sel[4] = {0};

    if (!expect_no_trap(r, guarded_user(probe_user_selectors, sel, USER_EFLAGS,
                                        &t), &t))
        return;
    if (expect_eq(r, "CS at ring 3", sel[0] & 0xffff, SEL_UCODE) &&
        expect_eq(r, "SS at ring 3", sel[1] & 0xffff, SEL_UDATA) &&
        expect_eq(r, "DS at ring 3", sel[2] & 0xffff, SEL_UDATA))
        expect_eq(r, "ES at ring 3", sel[3] & 0xffff, SEL_UDATA);
}

/* arg: EAX in, ESP at the INT, EAX out. */
static bool user_syscall(struct result *r, void (*probe)(void *),
                         uint32_t eflags, uint32_t arg[3])
{
    struct trap_info t;
    unsigned before = syscall_seen.count;

    arg[0] = 0x1233;
    if (!expect_no_trap(r, guarded_user(probe, arg, eflags, &t), &t))
        return false;
    return expect_eq(r, "system calls seen", syscall_seen.count - before, 1);
}

void check_ring_syscall_stack(struct result *r)
{
    uint32_t arg[3];

    if (user_syscall(r, probe_user_syscall, USER_EFLAGS, arg) &&
        expect_eq(r, "handler SS", syscall_seen.t.handler_ss, SEL_KDATA))
        expect_eq(r, "frame address (TSS ESP0 - 20)", syscall_seen.t.frame,
                  tss.esp0 - FRAME_FROM_RING3);
}

void check_ring_syscall_frame(struct result *r)
{
    uint32_t arg[3];
    const struct trap_info *t = &syscall_seen.t;

    if (user_syscall(r, probe_user_syscall, USER_EFLAGS, arg) &&
        expect_eq(r, "frame EIP (after INT)", t->eip,
                  ADDR(probe_user_syscall_ret)) &&
        expect_eq(r, "frame CS", t->cs, SEL_UCODE) &&
        expect_eq(r, "frame EFLAGS", t->eflags, USER_EFLAGS) &&
        expect_eq(r, "frame ESP", t->esp, arg[1]) &&
        expect_eq(r, "frame SS", t->ss, SEL_UDATA))
        expect_eq(r, "EAX seen by the handler", syscall_seen.eax, 0x1233);
}

void check_ring_syscall_return(struct result *r)
{
    uint32_t arg[3];

    if (user_syscall(r, probe_user_syscall, USER_EFLAGS, arg))
        expect_eq(r, "EAX back in ring 3", arg[2], 0x1234);
}

void check_ring_gate_if(struct result *r)
{
    uint32_t arg[3];

    /* Every IRQ is masked at the PIC, so IF=1 in ring 3 is quiet. */
    if (!user_syscall(r, probe_user_syscall, USER_EFLAGS | EFLAGS_IF, arg))
        return;
    if (!(syscall_seen.handler_eflags & EFLAGS_IF)) {
        fail(r, "IF clear in a trap-gate handler");
        return;
    }
    if (!user_syscall(r, probe_user_syscall_intr, USER_EFLAGS | EFLAGS_IF, arg))
        return;
    if (syscall_seen.handler_eflags & EFLAGS_IF)
        fail(r, "IF set in an interrupt-gate handler");
    else
        expect_eq(r, "EAX back through the interrupt gate", arg[2], 0x1234);
}

void check_ring_int_dpl0_gate(struct result *r)
{
    struct trap_info t;

    expect_trap(r, guarded_user(probe_user_int_kernel_only, 0, USER_EFLAGS, &t),
                &t, 13, VEC_KERNEL_ONLY << 3 | 2,
                ADDR(probe_user_int_kernel_only_insn));
}

void check_ring_int_absent_gate(struct result *r)
{
    struct trap_info t;

    expect_trap(r, guarded(probe_int_absent, 0, &t), &t, 11,
                VEC_ABSENT << 3 | 2, ADDR(probe_int_absent_insn));
}

/* probe must raise #GP(0) at insn when run at ring 3 with eflags. */
static void expect_user_gp0(struct result *r, void (*probe)(void *),
                            const char *insn, uint32_t eflags)
{
    struct trap_info t;

    expect_trap(r, guarded_user(probe, 0, eflags, &t), &t, 13, 0, ADDR(insn));
}

void check_ring_cli(struct result *r)
{
    expect_user_gp0(r, probe_user_cli, probe_user_cli_insn, USER_EFLAGS);
}

void check_ring_sti(struct result *r)
{
    expect_user_gp0(r, probe_user_sti, probe_user_sti_insn, USER_EFLAGS);
}

void check_ring_in(struct result *r)
{
    expect_user_gp0(r, probe_user_in, probe_user_in_insn, USER_EFLAGS);
}

void check_ring_out(struct result *r)
{
    expect_user_gp0(r, probe_user_out, probe_user_out_insn, USER_EFLAGS);
}

void check_ring_hlt(struct result *r)
{
    expect_user_gp0(r, probe_user_hlt, probe_user_hlt_insn, USER_EFLAGS);
}

void check_ring_mov_cr(struct result *r)
{
    struct trap_info t;

    if (expect_trap(r, guarded_user(probe_user_read_cr0, 0, USER_EFLAGS, &t),
                    &t, 13, 0, ADDR(probe_user_read_cr0_insn)))
        expect_trap(r, guarded_user(probe_user_write_cr3, 0, USER_EFLAGS, &t),
                    &t, 13, 0, ADDR(probe_user_write_cr3_insn));
}

void check_ring_lidt_wbinvd(struct result *r)
{
    struct trap_info t;
    struct table_ptr bogus = {0, 0};

    if (expect_trap(r, guarded_user(probe_user_lidt, &bogus, USER_EFLAGS, &t),
                    &t, 13, 0, ADDR(probe_user_lidt_insn)))
        expect_user_gp0(r, probe_user_wbinvd, probe_user_wbinvd_insn,
                        USER_EFLAGS);
}

void check_ring_iopl3(struct result *r)
{
    struct trap_info t;
    uint32_t in = 0;

    if (expect_no_trap(r, guarded_user(probe_user_iopl3, &in,
                                       USER_EFLAGS | EFLAGS_IOPL3, &t), &t))
        expect_eq(r, "IN from an unassigned port", in, 0xff);
}

void check_ring_io_bitmap(struct result *r)
{
    struct trap_info t;
    uint32_t arg[2] = {0xa7, 0};

    if (expect_no_trap(r, guarded_user(probe_user_iomap_allowed, arg,
                                       USER_EFLAGS, &t), &t) &&
        expect_eq(r, "scratch register through the bitmap", arg[1], 0xa7))
        expect_user_gp0(r, probe_user_iomap_denied,
                        probe_user_iomap_denied_insn, USER_EFLAGS);
}

void check_ring_popf(struct result *r)
{
    struct trap_info t;
    uint32_t fl[2] = {0};

    if (!expect_no_trap(r, guarded_user(probe_user_popf, fl, USER_EFLAGS, &t),
                        &t))
        return;
    if (fl[1] & (EFLAGS_IF | EFLAGS_IOPL3))
        fail(r, "POPF at ring 3, IOPL 0 changed IF or IOPL: 0x%x -> 0x%x",
             fl[0], fl[1]);
    else if (!(fl[1] & EFLAGS_AC))
        fail(r, "POPF at ring 3 did not set AC: 0x%x -> 0x%x", fl[0], fl[1]);
}

void check_ring_fault_frame(struct result *r)
{
    struct trap_info t;
    uint32_t esp = 0;

    if (expect_trap(r, guarded_user(probe_user_ud2, &esp, USER_EFLAGS, &t), &t,
                    6, NO_ERROR, ADDR(probe_user_ud2_insn)) &&
        expect_eq(r, "frame CS", t.cs, SEL_UCODE) &&
        expect_eq(r, "frame SS", t.ss, SEL_UDATA) &&
        expect_eq(r, "frame ESP", t.esp, esp) &&
        expect_eq(r, "handler SS", t.handler_ss, SEL_KDATA))
        expect_eq(r, "frame address", t.frame, tss.esp0 - FRAME_FROM_RING3);
}

void check_ring_kernel_data_from_user(struct result *r)
{
    struct trap_info t;
    uint32_t arg[2] = {SEL_KDATA, 0};

    expect_trap(r, guarded_user(probe_load_ds, arg, USER_EFLAGS, &t), &t, 13,
                SEL_KDATA, ADDR(probe_load_ds_insn));
}

void check_ring_callgate(struct result *r)
{
    struct trap_info t;
    uint32_t arg[3] = {0};
    const uint32_t *seen = callgate_seen; /* esp ss cs eip cs esp ss */

    memset(callgate_seen, 0, sizeof(callgate_seen));
    if (!expect_no_trap(r, guarded_user(probe_user_callgate, arg, USER_EFLAGS,
                                        &t), &t))
        return;
    /* A far CALL to ring 0 pushes SS, ESP, CS, EIP on the TSS stack. */
    if (expect_eq(r, "ESP in ring 0", seen[0], tss.esp0 - 16) &&
        expect_eq(r, "SS in ring 0", seen[1] & 0xffff, SEL_KDATA) &&
        expect_eq(r, "CS in ring 0", seen[2] & 0xffff, SEL_KCODE) &&
        expect_eq(r, "pushed EIP", seen[3], ADDR(probe_user_callgate_ret)) &&
        expect_eq(r, "pushed CS", seen[4] & 0xffff, SEL_UCODE) &&
        expect_eq(r, "pushed ESP", seen[5], arg[0]) &&
        expect_eq(r, "pushed SS", seen[6] & 0xffff, SEL_UDATA) &&
        expect_eq(r, "EAX after RETF", arg[1], 0x600d6a7e))
        expect_eq(r, "CS after RETF", arg[2] & 0xffff, SEL_UCODE);
}

static void sysenter_setup(void)
{
    wrmsr(MSR_SYSENTER_CS, SEL_KCODE);
    wrmsr(MSR_SYSENTER_ESP, ADDR(sysenter_stack_top));
    wrmsr(MSR_SYSENTER_EIP, ADDR(sysenter_entry));
    memset(sysenter_seen, 0, sizeof(sysenter_seen));
}

void check_ring_sysenter(struct result *r)
{
    struct trap_info t;
    uint32_t arg[5] = {0};
    const uint32_t *seen = sysenter_seen; /* esp ss cs eflags edx ecx */

    sysenter_setup();
    if (!expect_no_trap(r, guarded_user(probe_user_sysenter, arg,
                                        USER_EFLAGS | EFLAGS_IF, &t), &t))
        return;
    if (expect_eq(r, "ESP after SYSENTER", seen[0], ADDR(sysenter_stack_top)) &&
        expect_eq(r, "SS after SYSENTER", seen[1] & 0xffff, SEL_KDATA) &&
        expect_eq(r, "CS after SYSENTER", seen[2] & 0xffff, SEL_KCODE) &&
        expect_eq(r, "EDX kept", seen[4], ADDR(probe_user_sysenter_ret)) &&
        expect_eq(r, "ECX kept", seen[5], arg[0]))
        expect_eq(r, "IF after SYSENTER", seen[3] & EFLAGS_IF, 0);
}

void check_ring_sysexit(struct result *r)
{
    struct trap_info t;
    uint32_t arg[5] = {0};

    sysenter_setup();
    if (expect_no_trap(r, guarded_user(probe_user_sysenter, arg, USER_EFLAGS,
                                       &t), &t) &&
        expect_eq(r, "EAX set in ring 0", arg[1], 0x5e5e5e5e) &&
        expect_eq(r, "CS after SYSEXIT", arg[2] & 0xffff, SEL_UCODE) &&
        expect_eq(r, "SS after SYSEXIT", arg[3] & 0xffff, SEL_UDATA))
        expect_eq(r, "ESP after SYSEXIT (ECX)", arg[4], arg[0]);
}

void check_ring_rdtsc_tsd(struct result *r)
{
    struct trap_info t;

    if (!expect_no_trap(r, guarded_user(probe_user_rdtsc, 0, USER_EFLAGS, &t),
                        &t))
        return;
    write_cr4(read_cr4() | CR4_TSD);
    expect_user_gp0(r, probe_user_rdtsc, probe_user_rdtsc_insn, USER_EFLAGS);
    write_cr4(read_cr4() & ~CR4_TSD);
}
