/* systest: declarations of the assembly probes (probes.S and probe_*.S):
 * each is void probe(uint32_t *arg), and its labels mark the instructions
 * whose EIP a fault or trap must report. */
#ifndef SYSTEST_PROBES_H
#define SYSTEST_PROBES_H

#include <stdint.h>

#define PROBE(name) void name(void *arg)
#define LABEL(name) extern const char name[]

/* probes.S */
PROBE(probe_read32);
LABEL(probe_read32_insn);
PROBE(probe_write32);
LABEL(probe_write32_insn);
LABEL(probe_write32_after);
PROBE(probe_seg_read32);
LABEL(probe_seg_read32_insn);
PROBE(probe_seg_write32);
LABEL(probe_seg_write32_insn);
PROBE(probe_load_ds);
LABEL(probe_load_ds_insn);
PROBE(probe_load_ss);
LABEL(probe_load_ss_insn);
PROBE(probe_null_ds_use);
LABEL(probe_null_ds_load_insn);
LABEL(probe_null_ds_use_insn);
PROBE(probe_call);
PROBE(probe_pusha_at);
LABEL(probe_pusha_insn);
PROBE(probe_popa_at);
LABEL(probe_popa_insn);
extern uint32_t popa_seen[10];
PROBE(probe_push_run_at);
LABEL(probe_push_run_third);
PROBE(probe_pop_run_at);
LABEL(probe_pop_run_third);
extern uint32_t popr_seen[7];
PROBE(probe_pop_ret_at);
LABEL(probe_pop_ret_insn);
LABEL(probe_pop_ret_back);
PROBE(probe_leave_ret_at);
PROBE(probe_mov_run_at);
LABEL(probe_mov_run_third);
LABEL(probe_leave_ret_insn);
LABEL(probe_leave_ret_back);

/* probe_seg.S: they return the CS they saw in the alias segment. */
uint32_t probe_far_jmp(void);
uint32_t probe_far_call(void);
uint32_t probe_retf(void);
PROBE(probe_far_jmp_data);
LABEL(probe_far_jmp_data_insn);

/* probe_ring.S */
PROBE(probe_user_selectors);
PROBE(probe_user_syscall);
LABEL(probe_user_syscall_ret);
PROBE(probe_user_syscall_intr);
PROBE(probe_user_int_kernel_only);
LABEL(probe_user_int_kernel_only_insn);
PROBE(probe_int_absent);
LABEL(probe_int_absent_insn);
PROBE(probe_user_cli);
LABEL(probe_user_cli_insn);
PROBE(probe_user_sti);
LABEL(probe_user_sti_insn);
PROBE(probe_user_hlt);
LABEL(probe_user_hlt_insn);
PROBE(probe_user_read_cr0);
LABEL(probe_user_read_cr0_insn);
PROBE(probe_user_write_cr3);
LABEL(probe_user_write_cr3_insn);
PROBE(probe_user_rdtsc);
LABEL(probe_user_rdtsc_insn);
PROBE(probe_user_wbinvd);
LABEL(probe_user_wbinvd_insn);
PROBE(probe_user_lidt);
LABEL(probe_user_lidt_insn);
PROBE(probe_user_in);
LABEL(probe_user_in_insn);
PROBE(probe_user_out);
LABEL(probe_user_out_insn);
PROBE(probe_user_iopl3);
PROBE(probe_user_iomap_allowed);
PROBE(probe_user_iomap_denied);
LABEL(probe_user_iomap_denied_insn);
PROBE(probe_user_popf);
PROBE(probe_user_ud2);
LABEL(probe_user_ud2_insn);
PROBE(probe_user_callgate);
LABEL(probe_user_callgate_ret);
PROBE(probe_user_sysenter);
LABEL(probe_user_sysenter_ret);
extern char sysenter_entry[];
extern uint32_t callgate_seen[7], sysenter_seen[6];

/* probe_exc.S */
PROBE(probe_div0);
LABEL(probe_div0_insn);
PROBE(probe_div_overflow);
LABEL(probe_div_overflow_insn);
PROBE(probe_idiv_overflow);
LABEL(probe_idiv_overflow_insn);
PROBE(probe_bound);
LABEL(probe_bound_insn);
PROBE(probe_ud2);
LABEL(probe_ud2_insn);
PROBE(probe_bad_opcode);
LABEL(probe_bad_opcode_insn);
PROBE(probe_lock_register);
LABEL(probe_lock_register_insn);
PROBE(probe_fld1);
LABEL(probe_fld1_insn);
PROBE(probe_fwait);
LABEL(probe_fwait_insn);
PROBE(probe_hw_breakpoint);
LABEL(probe_hw_breakpoint_insn);
PROBE(probe_single_step);
LABEL(probe_single_step_after);
PROBE(probe_mov_ss_step);
LABEL(probe_mov_ss_step_after);
PROBE(probe_int3);
LABEL(probe_int3_after);
PROBE(probe_into_overflow);
LABEL(probe_into_overflow_after);
PROBE(probe_into_no_overflow);

/* probe_sys.S */
PROBE(probe_iret_ring0);
PROBE(probe_rdmsr);
LABEL(probe_rdmsr_insn);
PROBE(probe_wbinvd_invd);

/* probe_irq.S */
PROBE(probe_sti_shadow);
LABEL(probe_sti_shadow_second);

/* probe_fpu.S */
PROBE(probe_x87_pending_zero_divide);
LABEL(probe_x87_pending_zero_divide_insn);

#endif
