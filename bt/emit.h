/* Host x86-64 code emission through the Zydis encoder, with a memo of
 * encoded requests so that repeated sequences cost a hash, not an encode. */
#ifndef TPVM_BT_EMIT_H
#define TPVM_BT_EMIT_H

#include <stdbool.h>
#include <stdint.h>

#include <Zydis/Zydis.h>

struct emit {
    uint8_t *start, *p, *end;
    bool full;   /* ran out of room: the caller flushes and retries */
    bool failed; /* the encoder refused a request: a translator bug */
    char failed_what[96];
};

typedef ZydisEncoderOperand eop;

eop R(ZydisRegister r);
eop I(int64_t v);
/* 32-bit immediate given as an unsigned guest value (EIP, address) */
static inline eop I32(uint32_t v) { return I((int32_t)v); }
/* [base + index*scale + disp], size in bytes (0 for lea-style) */
eop M(ZydisRegister base, ZydisRegister index, uint8_t scale, int64_t disp,
      uint16_t size);
/* [r15 + off]: a field of struct cpu */
eop MC(int64_t off, uint16_t size);

void emit_init(struct emit *e, uint8_t *p, uint8_t *end);
/* Encode mnemonic with n operands (eop by value). */
void E(struct emit *e, ZydisMnemonic m, int n, ...);
/* Encode a full request (prefixes, hints); memoized. */
void E_req(struct emit *e, ZydisEncoderRequest *req);
/* Relative branch to an absolute target; width 8 or 32. Returns the
 * address just past the instruction (rel field ends there). */
uint8_t *E_branch(struct emit *e, ZydisMnemonic m, const void *target,
                  ZydisBranchWidth w);
/* call/jmp to a host function anywhere (via r11 if out of rel32 range) */
void E_call_abs(struct emit *e, const void *fn);
void E_jmp_abs(struct emit *e, const void *fn);
void E_bytes(struct emit *e, const void *bytes, unsigned n);

/* A fixed run of instructions whose only variable parts are immediates
 * of fixed width (stub prologues): `build` emits it through E() with the
 * values v[0..n). E_seq runs it once with sentinel values, finds each
 * sentinel's field (sizes[i]: 4 or 8 bytes) in the bytes, and from then
 * on copies them and patches the values in. A value must take its
 * sentinel's form: 4-byte fields any value, 8-byte ones a value outside
 * int32 (movabs); for others, and if the fields cannot be found, `build`
 * emits the run itself. */
#define SEQ_TPL_FIELDS 3
#define SEQ_TPL_MAX 48
struct seq_tpl {
    bool ready, broken;
    uint8_t len, n;
    uint8_t off[SEQ_TPL_FIELDS], size[SEQ_TPL_FIELDS];
    uint8_t bytes[SEQ_TPL_MAX];
};
typedef void (*seq_build_fn)(struct emit *e, const uint64_t *v);
/* The first use: learn t (t->ready, else t->broken). */
void seq_learn(struct seq_tpl *t, seq_build_fn build, const uint8_t *sizes,
               unsigned n);
void seq_patch(uint8_t *p, const struct seq_tpl *t, const uint64_t *vals);

static inline void E_seq(struct emit *e, struct seq_tpl *t, seq_build_fn build,
                         const uint8_t *sizes, unsigned n, const uint64_t *vals)
{
    if (!t->ready && !t->broken)
        seq_learn(t, build, sizes, n);
    bool fits = t->ready;
    for (unsigned i = 0; i < n && fits; i++)
        fits = sizes[i] != 8 || (int64_t)vals[i] != (int32_t)vals[i];
    if (!fits) {
        build(e, vals);
        return;
    }
    uint8_t *p = e->p;
    E_bytes(e, t->bytes, t->len);
    if (!e->full && !e->failed)
        seq_patch(p, t, vals);
}

/* Retarget the rel32 that ends at field_end to target. */
void patch_rel32(uint8_t *field_end, const void *target);
void patch_rel8(uint8_t *field_end, const void *target);

/* A decoder of host (x86-64) code, shared: translated code read back. */
const ZydisDecoder *emit_decoder64(void);
/* Whether a host instruction runs the same from a copy elsewhere (the
 * slow paths replay copies of access code): no branch, call, return or
 * RIP-relative operand. */
bool emit_position_free(const ZydisDecodedInstruction *d);

#endif
