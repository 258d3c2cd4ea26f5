/* systest: exception checks: each vector a kernel meets, with the EIP the
 * CPU pushes (the faulting instruction for faults, the next one for traps),
 * the error code, the debug registers' breakpoints, #AC and #DF. */
#include "systest.h"
#include "probes.h"

void check_exc_de_div0(struct result *r)
{
    struct trap_info t;

    expect_trap(r, guarded(probe_div0, 0, &t), &t, 0, NO_ERROR,
                ADDR(probe_div0_insn));
}

void check_exc_de_overflow(struct result *r)
{
    struct trap_info t;

    if (expect_trap(r, guarded(probe_div_overflow, 0, &t), &t, 0, NO_ERROR,
                    ADDR(probe_div_overflow_insn)))
        expect_trap(r, guarded(probe_idiv_overflow, 0, &t), &t, 0, NO_ERROR,
                    ADDR(probe_idiv_overflow_insn));
}

/* Runs probe with trap vector resumed; it must be raised once at after. */
static void expect_one_trap(struct result *r, int vector, void (*probe)(void *),
                            const char *after)
{
    struct trap_info t;
    unsigned before = resumed_count;

    resume_vector = vector;
    int v = guarded(probe, 0, &t);
    resume_vector = -1;
    if (expect_no_trap(r, v, &t) &&
        expect_eq(r, "traps taken", resumed_count - before, 1) &&
        expect_eq(r, "vector", resumed.vector, (uint32_t)vector))
        expect_eq(r, "EIP pushed (the next instruction)", resumed.eip,
                  ADDR(after));
}

void check_exc_db_single_step(struct result *r)
{
    expect_one_trap(r, 1, probe_single_step, probe_single_step_after);
    if (!r->failed && !(resumed.dr6 & DR6_BS))
        fail(r, "DR6 0x%x lacks BS", resumed.dr6);
}

void check_exc_db_mov_ss(struct result *r)
{
    expect_one_trap(r, 1, probe_mov_ss_step, probe_mov_ss_step_after);
}

void check_exc_bp_int3(struct result *r)
{
    expect_one_trap(r, 3, probe_int3, probe_int3_after);
}

void check_exc_of_into(struct result *r)
{
    struct trap_info t;

    expect_one_trap(r, 4, probe_into_overflow, probe_into_overflow_after);
    if (r->failed)
        return;
    unsigned before = resumed_count;
    resume_vector = 4;
    int v = guarded(probe_into_no_overflow, 0, &t);
    resume_vector = -1;
    if (expect_no_trap(r, v, &t))
        expect_eq(r, "#OF with OF clear", resumed_count - before, 0);
}

void check_exc_br_bound(struct result *r)
{
    struct trap_info t;
    int32_t inside[3] = {20, 10, 20}, above[3] = {21, 10, 20},
            below[3] = {9, 10, 20};

    if (expect_no_trap(r, guarded(probe_bound, inside, &t), &t) &&
        expect_trap(r, guarded(probe_bound, above, &t), &t, 5, NO_ERROR,
                    ADDR(probe_bound_insn)))
        expect_trap(r, guarded(probe_bound, below, &t), &t, 5, NO_ERROR,
                    ADDR(probe_bound_insn));
}

void check_exc_ud_ud2(struct result *r)
{
    struct trap_info t;

    expect_trap(r, guarded(probe_ud2, 0, &t), &t, 6, NO_ERROR,
                ADDR(probe_ud2_insn));
}

void check_exc_ud_invalid(struct result *r)
{
    struct trap_info t;

    if (expect_trap(r, guarded(probe_bad_opcode, 0, &t), &t, 6, NO_ERROR,
                    ADDR(probe_bad_opcode_insn)))
        expect_trap(r, guarded(probe_lock_register, 0, &t), &t, 6, NO_ERROR,
                    ADDR(probe_lock_register_insn));
}

void check_exc_nm_ts(struct result *r)
{
    struct trap_info t;

    write_cr0(read_cr0() | CR0_TS);
    if (!expect_trap(r, guarded(probe_fld1, 0, &t), &t, 7, NO_ERROR,
                     ADDR(probe_fld1_insn)))
        return;
    __asm__ volatile("clts");
    if (read_cr0() & CR0_TS)
        fail(r, "CLTS left CR0.TS set");
    else
        expect_no_trap(r, guarded(probe_fld1, 0, &t), &t);
}

void check_exc_nm_wait(struct result *r)
{
    struct trap_info t;

    /* WAIT faults on TS only when MP says the FPU is shared. */
    write_cr0((read_cr0() | CR0_TS) & ~CR0_MP);
    if (!expect_no_trap(r, guarded(probe_fwait, 0, &t), &t))
        return;
    write_cr0(read_cr0() | CR0_TS | CR0_MP);
    expect_trap(r, guarded(probe_fwait, 0, &t), &t, 7, NO_ERROR,
                ADDR(probe_fwait_insn));
}

static void clear_ts(void)
{
    __asm__ volatile("clts");
}

void check_exc_nm_restart(struct result *r)
{
    struct trap_info t;
    unsigned before = resumed_count;

    /* The lazy-FPU pattern: the #NM handler clears TS and returns. */
    write_cr0(read_cr0() | CR0_TS);
    resume_vector = 7;
    resume_fixup = clear_ts;
    int v = guarded(probe_fld1, 0, &t);
    resume_vector = -1;
    resume_fixup = 0;
    if (expect_no_trap(r, v, &t) &&
        expect_eq(r, "#NM taken", resumed_count - before, 1))
        expect_eq(r, "#NM EIP (the FPU instruction)", resumed.eip,
                  ADDR(probe_fld1_insn));
}

void check_exc_df(struct result *r)
{
    struct trap_info t;
    uint32_t arg[2] = {SEL_BEYOND_GDT, 0};

    /* #GP meets a not-present #GP gate: #NP while delivering #GP, two
     * contributory exceptions, so #DF with error code 0. */
    set_idt_gate(13, 0x0e);
    int v = guarded(probe_load_ds, arg, &t);
    set_idt_gate(13, 0x8e);
    expect_trap(r, v, &t, 8, 0, 0);
}

void check_exc_db_hw_exec(struct result *r)
{
    struct trap_info t;

    /* DR0 = the instruction, DR7.L0, R/W0 = LEN0 = 0 (execute). */
    __asm__ volatile("mov %0, %%dr0" : : "r"(ADDR(probe_hw_breakpoint_insn)));
    __asm__ volatile("mov %0, %%dr7" : : "r"(0x401u));
    int v = guarded(probe_hw_breakpoint, 0, &t);
    __asm__ volatile("mov %0, %%dr7" : : "r"(0x400u));
    if (expect_trap(r, v, &t, 1, NO_ERROR, ADDR(probe_hw_breakpoint_insn)) &&
        !(t.dr6 & DR6_B0))
        fail(r, "DR6 0x%x lacks B0", t.dr6);
}

/* An armed breakpoint moved by a DR0 write alone (DR7 untouched) is
 * taken at its new address; writes to unarmed DR1-DR3 leave it; clearing
 * DR7 ends it. A translator that bakes breakpoints into translated code
 * must notice each of these, and only these. */
void check_exc_db_hw_exec_moved(struct result *r)
{
    struct trap_info t;

    __asm__ volatile("mov %0, %%dr0" : : "r"(ADDR(probe_hw_breakpoint_insn)));
    __asm__ volatile("mov %0, %%dr7" : : "r"(0x401u));
    int v = guarded(probe_hw_breakpoint, 0, &t);
    if (!expect_trap(r, v, &t, 1, NO_ERROR, ADDR(probe_hw_breakpoint_insn)))
        goto out;
    __asm__ volatile("mov %0, %%dr0" : : "r"(ADDR(probe_hw_breakpoint)));
    v = guarded(probe_hw_breakpoint, 0, &t);
    if (!expect_trap(r, v, &t, 1, NO_ERROR, ADDR(probe_hw_breakpoint)))
        goto out;
    __asm__ volatile("mov %0, %%dr1" : : "r"(ADDR(probe_hw_breakpoint_insn)));
    __asm__ volatile("mov %0, %%dr2" : : "r"(0u));
    __asm__ volatile("mov %0, %%dr3" : : "r"(ADDR(probe_hw_breakpoint_insn)));
    v = guarded(probe_hw_breakpoint, 0, &t);
    if (!expect_trap(r, v, &t, 1, NO_ERROR, ADDR(probe_hw_breakpoint)))
        goto out;
    __asm__ volatile("mov %0, %%dr7" : : "r"(0x400u));
    v = guarded(probe_hw_breakpoint, 0, &t);
    expect_no_trap(r, v, &t);
out:
    __asm__ volatile("mov %0, %%dr7" : : "r"(0x400u));
}

void check_exc_db_hw_write(struct result *r)
{
    struct trap_info t;
    static volatile uint32_t watched;
    uint32_t arg[2] = {ADDR(&watched), 0xfeed};

    /* DR1 = watched, DR7.L1, R/W1 = 01 (writes), LEN1 = 11 (4 bytes). */
    watched = 0;
    __asm__ volatile("mov %0, %%dr1" : : "r"(ADDR(&watched)));
    __asm__ volatile("mov %0, %%dr7" : : "r"(0x400u | 1u << 2 | 0xdu << 20));
    int v = guarded(probe_write32, arg, &t);
    __asm__ volatile("mov %0, %%dr7" : : "r"(0x400u));
    if (!expect_trap(r, v, &t, 1, NO_ERROR, ADDR(probe_write32_after)))
        return;
    if (!(t.dr6 & DR6_B1))
        fail(r, "DR6 0x%x lacks B1", t.dr6);
    else
        expect_eq(r, "the watched write happened", watched, 0xfeed);
}

void check_exc_ac(struct result *r)
{
    struct trap_info t;
    static uint8_t bytes[8] __attribute__((aligned(4))) = {1, 2, 3, 4, 5, 6, 7, 8};
    uint32_t arg[2] = {ADDR(bytes + 1), 0};

    /* Aligned first: AM and AC alone must not fault. */
    write_cr0(read_cr0() | CR0_AM);
    uint32_t aligned[2] = {ADDR(bytes), 0};
    if (!expect_no_trap(r, guarded_user(probe_read32, aligned,
                                        EFLAGS_FIXED | EFLAGS_AC, &t), &t))
        return;
    /* Hardware raises #AC(0) at the misaligned load. QEMU's TCG does not
     * implement alignment checking and performs the load, so either is
     * accepted; anything else (or a wrong value) is not. */
    int v = guarded_user(probe_read32, arg, EFLAGS_FIXED | EFLAGS_AC, &t);
    if (v == NO_TRAP)
        expect_eq(r, "misaligned load without #AC", arg[1], 0x05040302);
    else
        expect_trap(r, v, &t, 17, 0, ADDR(probe_read32_insn));
}
