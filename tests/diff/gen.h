/* The case builder: instruction templates describe what to emit through
 * this API, which encodes with Zydis, tracks what the generator knows about
 * registers and flags, and keeps every memory access inside DATA/STACK. */
#ifndef TPVM_TESTS_DIFF_GEN_H
#define TPVM_TESTS_DIFF_GEN_H

#include <stdbool.h>
#include <stdint.h>

#include <Zydis/Zydis.h>

#include "tests/diff/case.h"

#define GEN_MAX_LABELS 12
#define GEN_MAX_FIXUPS 16

enum fixup_kind { FX_REL, FX_ABS_CODE, FX_ABS_PATCH, FX_ABS_REG };

struct fixup {
    uint8_t kind;
    uint8_t label;
    uint8_t width; /* FX_REL: 1 or 4 bytes */
    uint8_t insn;  /* FX_REL: index into dcase.insns */
    uint16_t pos;  /* code offset, patch_bytes offset or register */
};

struct gen {
    uint64_t rng;
    struct dcase *c;
    const ZydisDecoder *dec;

    /* What the generator knows about each GPR at the current point. */
    uint32_t val[8];
    uint8_t known;   /* val[r] is the value r holds here */
    uint8_t fixed;   /* a decision depends on val[r]; do not re-pick it */
    uint8_t initial; /* r still holds its initial value (c->regs[r]) */
    uint32_t undef;  /* arithmetic flags undefined at this point */
    bool flags_garbage; /* Unicorn's whole EFLAGS image is unreliable here */
    bool df_known;
    bool df;

    int depth;       /* > 0 inside a body that may not run: no faults, no end */
    int call_depth;  /* > 0 inside a subroutine: [esp] holds a return address */
    bool ended;      /* a fault or undefined result: nothing may follow */
    bool data_dirty; /* DATA was written: patched values may be gone */
    bool failed;     /* out of space or constraints: regenerate the case */

    uint8_t n_labels;
    int16_t label_off[GEN_MAX_LABELS];
    uint8_t n_fixups;
    struct fixup fixups[GEN_MAX_FIXUPS];
};

/* A memory operand with the linear address the generator aimed it at. */
struct mem {
    ZydisEncoderOperand op;
    uint32_t ea;   /* valid when in_data */
    bool in_data;
    ZydisInstructionAttributes seg; /* segment-override prefix, or 0 */
};

/* ---- random numbers ---- */
uint32_t rnd(struct gen *g, uint32_t n);          /* [0, n) */
uint32_t rnd32(struct gen *g);
bool chance(struct gen *g, unsigned percent);
int32_t rnd_range(struct gen *g, int32_t lo, int32_t hi); /* inclusive */
uint32_t rand_value(struct gen *g); /* biased towards edge values */
int rand_size(struct gen *g);       /* 1, 2 or 4 bytes, 32-bit most often */

/* ---- registers (ids follow R_EAX..R_EDI; 8-bit ids are AL..BH) ---- */
ZydisRegister zreg(int size, int id);
int full_reg(int size, int id);               /* GPR holding the id */
int pick_reg(struct gen *g, int size, uint8_t avoid); /* never ESP/SP */
bool reg_free(const struct gen *g, int r);    /* its initial value may change */
uint32_t reg_value(struct gen *g, int r);     /* must be known; fixes it */
void reg_written(struct gen *g, int r);       /* value no longer known */
void reg_const(struct gen *g, int r, uint32_t v); /* after mov r, imm */
/* Make r hold a value in [lo, hi] (choosing its initial value or emitting
 * mov r, imm) and return it. */
uint32_t reg_want(struct gen *g, int r, uint32_t lo, uint32_t hi);
void reg_want_exact(struct gen *g, int r, uint32_t v);

/* ---- flags ---- */
/* The next instruction reads these flags: make sure they are defined. */
void flags_need(struct gen *g, uint32_t mask);
/* An instruction wrote `defined` and left `undefined` undefined. */
void flags_set(struct gen *g, uint32_t defined, uint32_t undefined);

/* ---- operands ---- */
ZydisEncoderOperand op_r(int size, int id);
ZydisEncoderOperand op_i(int size, uint32_t v); /* sign-extended from size */
ZydisEncoderOperand op_u(uint32_t v);           /* raw unsigned immediate */
/* A memory operand into DATA, `margin` bytes clear on both sides, using
 * no register in `avoid` for the address. */
struct mem mem_data(struct gen *g, int size, uint32_t margin, uint8_t avoid);
struct mem mem_at(struct gen *g, int size, uint32_t ea, uint8_t avoid);
struct mem mem_stack(struct gen *g, int size); /* [esp+disp] */
struct mem mem_any(struct gen *g);             /* any form, for lea/nop */
uint32_t pick_ea(struct gen *g, int size, uint32_t margin);

/* ---- emission ---- */
struct emit_opts {
    ZydisInstructionAttributes prefixes;
    ZydisBranchWidth branch_width;
    ZydisOperandSizeHint size_hint;
};
/* Encode one instruction; returns its index in c->insns or -1. */
int emit_full(struct gen *g, ZydisMnemonic mn, const struct emit_opts *o,
              const ZydisEncoderOperand *ops, int n);
int emit_ops(struct gen *g, ZydisMnemonic mn, ZydisInstructionAttributes pfx,
             const ZydisEncoderOperand *ops, int n);
#define E(g, mn, pfx, ...)                                                   \
    emit_ops(g, ZYDIS_MNEMONIC_##mn, pfx, (ZydisEncoderOperand[]){__VA_ARGS__}, \
             (int)(sizeof((ZydisEncoderOperand[]){__VA_ARGS__}) /          \
                   sizeof(ZydisEncoderOperand)))
/* The same with a mnemonic held in a variable. */
#define EV(g, mn, pfx, ...)                                                  \
    emit_ops(g, mn, pfx, (ZydisEncoderOperand[]){__VA_ARGS__},               \
             (int)(sizeof((ZydisEncoderOperand[]){__VA_ARGS__}) /          \
                   sizeof(ZydisEncoderOperand)))
#define MN(x) ZYDIS_MNEMONIC_##x
#define E0(g, mn, pfx) emit_ops(g, ZYDIS_MNEMONIC_##mn, pfx, NULL, 0)
void emit_nop_fill(struct gen *g, unsigned len); /* Zydis multi-byte nop */

/* ---- labels and branches inside the case ---- */
int label_new(struct gen *g);
void label_here(struct gen *g, int l);
/* jcc/jmp/call/loop/jecxz to a label; width 1 (short) or 4 (near). */
void emit_branch(struct gen *g, ZydisMnemonic mn, int width, int l);
void emit_push_label(struct gen *g, int l);      /* push imm32 address */
void patch_label(struct gen *g, uint32_t addr, int l); /* dword = address */
bool reg_label(struct gen *g, int r, int l);     /* initial r = address */

/* ---- memory contents and masks ---- */
void patch(struct gen *g, uint32_t addr, const void *bytes, unsigned len);
void patch32(struct gen *g, uint32_t addr, uint32_t v);
void mask_reg(struct gen *g, int r);
void mask_mem(struct gen *g, uint32_t addr, uint32_t len);
void end_case(struct gen *g); /* nothing may follow */
bool may_fault(const struct gen *g);
bool may_end(const struct gen *g);

/* ---- whole cases ---- */
struct gen_ctx {
    ZydisDecoder decoder;
    uint64_t seed;
};
void gen_init(struct gen_ctx *ctx, uint64_t seed);
/* Generate case `index` (deterministic in seed and index) at code_addr. */
void gen_case(struct gen_ctx *ctx, uint64_t index, uint32_t code_addr,
              struct dcase *c);

#endif
