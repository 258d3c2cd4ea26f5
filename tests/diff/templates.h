/* Instruction templates: one function per instruction group, each emitting
 * one randomly chosen form of its group through the case builder. */
#ifndef TPVM_TESTS_DIFF_TEMPLATES_H
#define TPVM_TESTS_DIFF_TEMPLATES_H

#include "tests/diff/gen.h"

#define G_SEQ 1u  /* may be one step of a multi-instruction sequence */
#define G_BODY 2u /* may sit in a body that runs at most once (jcc over it) */
#define G_NEUTRAL 4u /* leaves ESP as it found it (fits inside a call) */

struct group {
    const char *name;
    unsigned weight;
    unsigned flags;
    void (*fn)(struct gen *g);
};

extern const struct group diff_groups[];
extern const unsigned diff_n_groups;

int pick_group(struct gen *g);
/* Emit 1..max steps from groups carrying `flags` (a body when G_BODY:
 * nothing in it may fault or end the case). */
void emit_steps(struct gen *g, unsigned flags, unsigned max);

/* Knowledge before a body that may or may not run; merging keeps only
 * what holds on both paths. */
struct path_state {
    uint32_t val[8];
    uint8_t known;
    uint32_t undef;
    bool df_known, df, flags_garbage;
};
void path_save(const struct gen *g, struct path_state *s);
void path_merge(struct gen *g, const struct path_state *s);

/* Make CL hold `count` (exact) or accept whatever known value it has;
 * returns the count CL will hold. */
uint32_t want_cl(struct gen *g, uint32_t count, bool exact);
/* Any register id as a source, ESP included. */
int pick_src(struct gen *g);
uint32_t size_mask(int size);

/* A register or memory operand. */
struct rm {
    ZydisEncoderOperand op;
    bool is_mem;
    int size;
    int id;     /* register id when !is_mem */
    struct mem m;
};
struct rm rm_pick(struct gen *g, int size, uint8_t avoid, unsigned mem_percent);
void rm_written(struct gen *g, const struct rm *x);
ZydisInstructionAttributes rm_prefixes(struct gen *g, const struct rm *x,
                                       bool lockable);

/* tpl_arith.c */
void tpl_alu(struct gen *g);
void tpl_unary(struct gen *g);
void tpl_mul(struct gen *g);
void tpl_div(struct gen *g);
void tpl_shift(struct gen *g);
void tpl_double_shift(struct gen *g);
void tpl_bit_test(struct gen *g);
void tpl_bit_scan(struct gen *g);
void tpl_bcd(struct gen *g);
void tpl_carry_chain(struct gen *g);

/* tpl_data.c */
void tpl_mov(struct gen *g);
void tpl_movx(struct gen *g);
void tpl_lea(struct gen *g);
void tpl_exchange(struct gen *g);
void tpl_bswap(struct gen *g);
void tpl_cmov(struct gen *g);
void tpl_frame(struct gen *g);
void tpl_frame_loop(struct gen *g);
void tpl_wrap(struct gen *g);
void tpl_setcc(struct gen *g);
void tpl_convert(struct gen *g);
void tpl_flag_ops(struct gen *g);
void tpl_xlat(struct gen *g);
void tpl_nop(struct gen *g);
void tpl_cpuid(struct gen *g);
void tpl_rdtsc(struct gen *g);
void tpl_string(struct gen *g);

/* tpl_stack.c */
void tpl_push_pop(struct gen *g);
void tpl_pusha_popa(struct gen *g);
void tpl_pushf_popf(struct gen *g);
void tpl_enter_leave(struct gen *g);

/* tpl_flow.c */
void tpl_jcc(struct gen *g);
void tpl_loop(struct gen *g);
void tpl_call_ret(struct gen *g);
void tpl_jmp(struct gen *g);
void tpl_sequence(struct gen *g);

#endif
