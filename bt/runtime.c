/* The fixed host routines at the start of the code cache: entering
 * translated code, the exits back to the dispatcher, and the thunks that
 * call C (helpers, the soft-MMU slow path) with the guest state synced. */
#include <stddef.h>

#include "bt/emit.h"
#include "bt/internal.h"
#include "bt/regs.h"
#include "bt/runtime.h"

#define OFF(f) ((int64_t)offsetof(struct cpu, f))
#define REG(i) (OFF(regs) + 4 * (i))

/* Store guest registers, r8 and the merged EFLAGS image into struct cpu.
 * Called with `call`; clobbers rcx, r9 and host EFLAGS. */
static uint8_t *emit_save_state(struct emit *e)
{
    uint8_t *start = e->p;
    E(e, ZYDIS_MNEMONIC_PUSHFQ, 0);
    for (int i = 0; i < 8; i++)
        E(e, ZYDIS_MNEMONIC_MOV, 2, MC(REG(i), 4), R(guest_host32[i]));
    E(e, ZYDIS_MNEMONIC_MOV, 2, MC(OFF(save_r8), 8), R(R8));
    E(e, ZYDIS_MNEMONIC_POP, 1, R(RCX));
    E(e, ZYDIS_MNEMONIC_AND, 2, R(ECX), I(FL_ARITH));
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(R9D), MC(OFF(eflags), 4));
    E(e, ZYDIS_MNEMONIC_AND, 2, R(R9D), I((int32_t) ~(FL_ARITH | FL_DF | FL_IF)));
    E(e, ZYDIS_MNEMONIC_OR, 2, R(R9D), R(ECX));
    E(e, ZYDIS_MNEMONIC_OR, 2, R(R9D), MC(OFF(if_flag), 4));
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(ECX), MC(OFF(df), 4));
    E(e, ZYDIS_MNEMONIC_SHL, 2, R(ECX), I(10));
    E(e, ZYDIS_MNEMONIC_OR, 2, R(R9D), R(ECX));
    E(e, ZYDIS_MNEMONIC_MOV, 2, MC(OFF(eflags), 4), R(R9D));
    E(e, ZYDIS_MNEMONIC_RET, 0);
    return start;
}

void emit_split_df_if(struct emit *e)
{
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(R9D), R(ECX));
    E(e, ZYDIS_MNEMONIC_SHR, 2, R(R9D), I(10));
    E(e, ZYDIS_MNEMONIC_AND, 2, R(R9D), I(1));
    E(e, ZYDIS_MNEMONIC_MOV, 2, MC(OFF(df), 4), R(R9D));
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(R9D), R(ECX));
    E(e, ZYDIS_MNEMONIC_AND, 2, R(R9D), I(FL_IF));
}

/* Reload guest registers, r8 and host EFLAGS from struct cpu (helpers may
 * have changed any of them). Called with `call`; clobbers rcx, r9. */
static uint8_t *emit_load_state(struct emit *e)
{
    uint8_t *start = e->p;
    for (int i = 0; i < 8; i++)
        E(e, ZYDIS_MNEMONIC_MOV, 2, R(guest_host32[i]), MC(REG(i), 4));
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(R8), MC(OFF(save_r8), 8));
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(ECX), MC(OFF(eflags), 4));
    emit_split_df_if(e);
    E(e, ZYDIS_MNEMONIC_MOV, 2, MC(OFF(if_flag), 4), R(R9D));
    E(e, ZYDIS_MNEMONIC_AND, 2, R(ECX), I(FL_ARITH));
    E(e, ZYDIS_MNEMONIC_OR, 2, R(ECX), I(2));
    E(e, ZYDIS_MNEMONIC_PUSH, 1, R(RCX));
    E(e, ZYDIS_MNEMONIC_POPFQ, 0);
    E(e, ZYDIS_MNEMONIC_RET, 0);
    return start;
}

static const ZydisRegister callee_saved[] = {RBX, RBP, R12, R13, R14, R15};

/* Back to the caller of enter() with eax = reason; state already saved. */
static uint8_t *emit_leave(struct emit *e)
{
    uint8_t *start = e->p;
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(RSP), MC(OFF(host_rsp), 8));
    E(e, ZYDIS_MNEMONIC_ADD, 2, R(RSP), I(8));
    for (int i = 5; i >= 0; i--)
        E(e, ZYDIS_MNEMONIC_POP, 1, R(callee_saved[i]));
    E(e, ZYDIS_MNEMONIC_RET, 0);
    return start;
}

/* An exit path: save state, eax = reason, leave. */
static uint8_t *emit_exit(struct emit *e, uint8_t *save, uint8_t *leave,
                          int reason)
{
    uint8_t *start = e->p;
    E_call_abs(e, save);
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(EAX), I(reason));
    E_jmp_abs(e, leave);
    return start;
}

void runtime_emit(struct bt *bt)
{
    struct emit e;
    emit_init(&e, bt->cache, bt->cache + bt->cache_size);
    struct runtime *rt = &bt->rt;

    rt->save_state = emit_save_state(&e);
    rt->load_state = emit_load_state(&e);
    rt->leave = emit_leave(&e);

    /* enter(cpu = rdi, code = rsi): keep host callee-saved registers, load
     * the guest state and jump into the block. */
    rt->enter = e.p;
    for (int i = 0; i < 6; i++)
        E(&e, ZYDIS_MNEMONIC_PUSH, 1, R(callee_saved[i]));
    E(&e, ZYDIS_MNEMONIC_SUB, 2, R(RSP), I(8));
    E(&e, ZYDIS_MNEMONIC_MOV, 2, R(R15), R(RDI));
    E(&e, ZYDIS_MNEMONIC_MOV, 2, MC(OFF(host_rsp), 8), R(RSP));
    E(&e, ZYDIS_MNEMONIC_MOV, 2, R(R13D), I(12));
    E(&e, ZYDIS_MNEMONIC_PUSH, 1, R(RSI));
    E_call_abs(&e, rt->load_state);
    E(&e, ZYDIS_MNEMONIC_POP, 1, R(R11));
    E(&e, ZYDIS_MNEMONIC_JMP, 1, R(R11));

    rt->exit_request = emit_exit(&e, rt->save_state, rt->leave, BT_EXIT_REQUEST);
    rt->exit_chain = emit_exit(&e, rt->save_state, rt->leave, EXIT_R_CHAIN);
    rt->exit_indirect = emit_exit(&e, rt->save_state, rt->leave, EXIT_R_INDIRECT);

    /* After C reported that a write hit translated code: the state is in
     * struct cpu; resume at helper_next through the dispatcher. */
    uint8_t *smc_exit = e.p;
    E(&e, ZYDIS_MNEMONIC_MOV, 2, MC(OFF(smc_hit), 4), I(0));
    E(&e, ZYDIS_MNEMONIC_MOV, 2, R(ECX), MC(OFF(helper_next), 4));
    E(&e, ZYDIS_MNEMONIC_MOV, 2, MC(OFF(eip), 4), R(ECX));
    E(&e, ZYDIS_MNEMONIC_MOV, 2, R(EAX), I(EXIT_R_RESUME));
    E_jmp_abs(&e, rt->leave);

    /* A helper set resume_code (bt_fast_resume): reload the state, drop
     * the return address into the calling block and go there. Flag-free
     * after load_state, which put the guest's flags in host EFLAGS. */
    uint8_t *resume_exit = e.p;
    E_call_abs(&e, rt->load_state);
    E(&e, ZYDIS_MNEMONIC_MOV, 2, R(R11), MC(OFF(resume_code), 8));
    E(&e, ZYDIS_MNEMONIC_MOV, 2, MC(OFF(resume_code), 8), I(0));
    E(&e, ZYDIS_MNEMONIC_LEA, 2, R(RSP), M(RSP, ZYDIS_REGISTER_NONE, 0, 8, 8));
    E(&e, ZYDIS_MNEMONIC_JMP, 1, R(R11));

    /* call_helper: r11 = fn(cpu, arg, next_eip), ecx = eip, r9d = arg,
     * r10d = next eip (r8 may carry a loaded operand). Entered by call
     * (rsp = 8 mod 16). */
    rt->call_helper = e.p;
    E(&e, ZYDIS_MNEMONIC_MOV, 2, MC(OFF(eip), 4), R(ECX));
    E(&e, ZYDIS_MNEMONIC_MOV, 2, MC(OFF(helper_arg), 4), R(R9D));
    E(&e, ZYDIS_MNEMONIC_MOV, 2, MC(OFF(helper_next), 4), R(R10D));
    E(&e, ZYDIS_MNEMONIC_MOV, 2, MC(OFF(helper_fn), 8), R(R11));
    E_call_abs(&e, rt->save_state);
    E(&e, ZYDIS_MNEMONIC_INC, 1, MC(OFF(n_helper_calls), 8));
    E(&e, ZYDIS_MNEMONIC_MOV, 2, R(RDI), R(R15));
    E(&e, ZYDIS_MNEMONIC_MOV, 2, R(ESI), MC(OFF(helper_arg), 4));
    E(&e, ZYDIS_MNEMONIC_MOV, 2, R(EDX), MC(OFF(helper_next), 4));
    E(&e, ZYDIS_MNEMONIC_SUB, 2, R(RSP), I(8));
    E(&e, ZYDIS_MNEMONIC_CALL, 1, MC(OFF(helper_fn), 8));
    E(&e, ZYDIS_MNEMONIC_ADD, 2, R(RSP), I(8));
    E(&e, ZYDIS_MNEMONIC_CMP, 2, MC(OFF(smc_hit), 4), I(0));
    E_branch(&e, ZYDIS_MNEMONIC_JNZ, smc_exit, ZYDIS_BRANCH_WIDTH_32);
    E(&e, ZYDIS_MNEMONIC_CMP, 2, MC(OFF(resume_code), 8), I(0));
    E_branch(&e, ZYDIS_MNEMONIC_JNZ, resume_exit, ZYDIS_BRANCH_WIDTH_32);
    E_call_abs(&e, rt->load_state);
    E(&e, ZYDIS_MNEMONIC_RET, 0);

    /* mem_slow: r10d = linear, r9d = access, ecx = eip. Returns the host
     * pointer in r10 with the guest state (and flags) as on entry. */
    rt->mem_slow = e.p;
    E(&e, ZYDIS_MNEMONIC_MOV, 2, MC(OFF(eip), 4), R(ECX));
    E(&e, ZYDIS_MNEMONIC_MOV, 2, MC(OFF(slow_lin), 4), R(R10D));
    E(&e, ZYDIS_MNEMONIC_MOV, 2, MC(OFF(slow_acc), 4), R(R9D));
    E_call_abs(&e, rt->save_state);
    E(&e, ZYDIS_MNEMONIC_MOV, 2, R(RDI), R(R15));
    E(&e, ZYDIS_MNEMONIC_MOV, 2, R(ESI), MC(OFF(slow_lin), 4));
    E(&e, ZYDIS_MNEMONIC_MOV, 2, R(EDX), MC(OFF(slow_acc), 4));
    E(&e, ZYDIS_MNEMONIC_SUB, 2, R(RSP), I(8));
    E_call_abs(&e, (void *)mmu_slow_path);
    E(&e, ZYDIS_MNEMONIC_ADD, 2, R(RSP), I(8));
    E(&e, ZYDIS_MNEMONIC_MOV, 2, R(R10), R(RAX));
    E_call_abs(&e, rt->load_state);
    E(&e, ZYDIS_MNEMONIC_RET, 0);

    /* mem_post: after a slow-path write, r9d = next eip. Writes back the
     * bounce buffer, and leaves if the write hit translated code: the
     * instruction is complete here, since an access's "core" includes every
     * register update that follows the store (see x_probe_end). */
    rt->mem_post = e.p;
    E(&e, ZYDIS_MNEMONIC_MOV, 2, MC(OFF(helper_next), 4), R(R9D));
    E_call_abs(&e, rt->save_state);
    E(&e, ZYDIS_MNEMONIC_MOV, 2, R(RDI), R(R15));
    E(&e, ZYDIS_MNEMONIC_SUB, 2, R(RSP), I(8));
    E_call_abs(&e, (void *)mmu_slow_post);
    E(&e, ZYDIS_MNEMONIC_ADD, 2, R(RSP), I(8));
    E(&e, ZYDIS_MNEMONIC_CMP, 2, MC(OFF(smc_hit), 4), I(0));
    E_branch(&e, ZYDIS_MNEMONIC_JNZ, smc_exit, ZYDIS_BRANCH_WIDTH_32);
    E_call_abs(&e, rt->load_state);
    E(&e, ZYDIS_MNEMONIC_RET, 0);

    if (e.full || e.failed) {
        fprintf(stderr, "tpvm: cannot emit the runtime stubs: %s\n",
                e.failed ? e.failed_what : "cache too small");
        abort();
    }
    /* blocks start on a fresh cache line */
    uintptr_t p = ((uintptr_t)e.p + 63) & ~(uintptr_t)63;
    bt->cache_blocks = bt->cache_ptr = (uint8_t *)p;
}
