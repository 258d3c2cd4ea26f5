/* Addresses of the fixed routines emitted by runtime.c. */
#ifndef TPVM_BT_RUNTIME_H
#define TPVM_BT_RUNTIME_H

#include <stdint.h>

/* Reasons enter() returns besides the public enum bt_exit. */
#define EXIT_R_CHAIN 100    /* direct exit: cpu->eip, cpu->chain_from */
#define EXIT_R_INDIRECT 101 /* indirect branch missed the branch cache */
#define EXIT_R_RESUME 102   /* translated code changed under us: look up eip */

struct runtime {
    uint8_t *save_state, *load_state, *leave;
    uint8_t *enter;
    uint8_t *exit_request, *exit_chain, *exit_indirect;
    uint8_t *call_helper, *mem_slow, *mem_post;
};

struct emit;
/* From an EFLAGS image in ecx: store its DF bit to cpu->df and leave its
 * IF bit in r9d (the caller decides when cpu->if_flag takes it). Flags of
 * the host are clobbered. */
void emit_split_df_if(struct emit *e);

#endif
