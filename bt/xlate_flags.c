/* Liveness of the guest's arithmetic flags inside a block.
 *
 * Guest EFLAGS live in host EFLAGS, so the TLB probe is built from
 * flag-free instructions (LEA, SHRX, JRCXZ) at a cost: more instructions
 * and a taken branch on every hit. Most accesses in compiled code sit
 * where the flags are dead: the instruction itself or one soon after
 * overwrites all six before anything reads them (a CMP or TEST opens
 * nearly every JCC pair). There the probe may compare with ADD/JNZ.
 *
 * The walk stays inside the block (its end counts as a read) and stops at
 * the first instruction that may end it. What it trades away: at a fault
 * of an access between the probe and the overwriting instruction, the
 * exception frame holds the probe's flags in place of dead ones; the
 * guest restarts the instruction and overwrites them, so only a handler
 * that resumes elsewhere and reads flags there could tell. An instruction
 * that faults by itself (DIV's #DE) does not count as overwriting, so its
 * frame stays exact. Single-step and breakpoint blocks (MODE_DEBUG) and
 * one-instruction blocks keep the flag-free probe. */
#include "bt/xlate.h"

#define ARITH_FLAGS                                                            \
    (ZYDIS_CPUFLAG_CF | ZYDIS_CPUFLAG_PF | ZYDIS_CPUFLAG_AF | ZYDIS_CPUFLAG_ZF | \
     ZYDIS_CPUFLAG_SF | ZYDIS_CPUFLAG_OF)

/* Shifts and rotates leave every flag alone when the masked count is 0:
 * they overwrite only with an immediate count that is not. */
static bool count_may_be_zero(const struct insn *in)
{
    switch (in->d.mnemonic) {
    case ZYDIS_MNEMONIC_SHL: case ZYDIS_MNEMONIC_SHR: case ZYDIS_MNEMONIC_SAR:
    case ZYDIS_MNEMONIC_ROL: case ZYDIS_MNEMONIC_ROR: case ZYDIS_MNEMONIC_RCL:
    case ZYDIS_MNEMONIC_RCR: case ZYDIS_MNEMONIC_SHLD: case ZYDIS_MNEMONIC_SHRD: {
        const ZydisDecodedOperand *c = &in->ops[in->d.operand_count_visible - 1];
        return c->type != ZYDIS_OPERAND_TYPE_IMMEDIATE || (c->imm.value.u & 31) == 0;
    }
    default:
        return false;
    }
}

/* Raises an exception of its own (#DE, #BR) with the flags untouched:
 * its "undefined" flags are not a write to count on. */
static bool faults_after_access(const struct insn *in)
{
    switch (in->d.mnemonic) {
    case ZYDIS_MNEMONIC_DIV: case ZYDIS_MNEMONIC_IDIV:
    case ZYDIS_MNEMONIC_AAM: case ZYDIS_MNEMONIC_BOUND:
        return true;
    default:
        return false;
    }
}

/* The arithmetic flags in reads; those it surely overwrites in writes
 * (an undefined result counts: nothing may read it). */
static void flag_effect(const struct insn *in, uint32_t *reads, uint32_t *writes)
{
    const ZydisAccessedFlags *f = in->d.cpu_flags;
    *reads = f ? f->tested & ARITH_FLAGS : 0;
    *writes = f ? (f->modified | f->set_0 | f->set_1 | f->undefined) & ARITH_FLAGS : 0;
    /* a repeated string instruction with ECX = 0 does nothing */
    if (in->d.attributes & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE |
                            ZYDIS_ATTRIB_HAS_REPNE))
        *writes = 0;
    if (count_may_be_zero(in) || faults_after_access(in))
        *writes = 0;
}

/* How in leaves the flags still live: 1 all overwritten (dead), -1 one of
 * them read, or in may end the block (live), 0 not decided yet. */
static int flags_step(const struct insn *in, uint32_t *live)
{
    uint32_t reads, writes;
    flag_effect(in, &reads, &writes);
    if (reads & *live)
        return -1;
    *live &= ~writes;
    if (!*live)
        return 1;
    return x_continues_block(in) ? 0 : -1;
}

bool x_flags_dead(struct tctx *t)
{
    if (t->mode & (MODE_DEBUG | MODE_ONE))
        return false;
    uint32_t live = ARITH_FLAGS;
    int r = flags_step(t->in, &live);
    if (r)
        return r > 0;
    x_fill_ahead(t);
    const struct insn *next = x_ahead(t, t->in->eip + t->in->len);
    const struct insn *end = t->ahead + t->n_ahead;
    unsigned room = t->insns_left > 1 ? t->insns_left - 1 : 0;
    for (; next && next < end && room--; next++)
        if ((r = flags_step(next, &live)) != 0)
            return r > 0;
    return false;
}
