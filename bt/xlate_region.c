/* Frame regions: the accesses of a block through one base register that
 * the block does not change get one TLB probe between them. Compiled
 * code keeps its locals at [EBP-x] and reaches them between accesses
 * through other pointers; the i386 kernel's bignum loops (RSA self-tests
 * at boot) do eleven frame accesses an iteration around three indexed
 * ones, which end a MOV run (xlate_mov_run.c) every time.
 *
 * At the first access [B+d] of a plain instruction (generic or MOV, see
 * xlate_is_plain), the instructions after it in the block are decoded
 * until one is not plain or writes B; the span [B+lo, B+hi) of their
 * accesses through B is probed once, and the host pointer kept in r8,
 * which plain instructions leave alone and the C calls of their slow
 * paths save and restore. Each access through B in the region is then
 * one instruction on [r8 + d - lo]; other accesses probe as usual.
 *
 * The probe is served only on one page of plain RAM (ACC_NO_BOUNCE): the
 * region's accesses interleave with others, so a bounce copy could miss
 * their writes. Otherwise the region is replayed one instruction at a
 * time, precisely (no instruction of it has run: the probe comes first),
 * its EIP is marked and its page's blocks dropped, so a region that does
 * not fit (a frame across a page boundary) costs one replay, not one per
 * loop turn. Like a fused run, a region with a store sets the page's
 * dirty bit at its probe, before the store itself. Regions are formed
 * with paging on, flat DS/SS, and no single-stepping or breakpoints. */
#include "bt/regs.h"
#include "bt/xlate.h"

#define REGION_MAX_SPAN 128
#define REGION_SCAN_INSNS AHEAD_INSNS
#define REGION_MIN_ACCESSES 3

/* [B + disp] through guest register *b, no index, default segment, a
 * 32-bit address; not next to AH..BH (the generic path borrows a register
 * for those and takes the TLB path). */
static bool base_access(const struct insn *in, const ZydisDecodedOperand *op,
                        int *b, int32_t *disp)
{
    if (op->type != ZYDIS_OPERAND_TYPE_MEMORY || op->visibility == ZYDIS_OPERAND_VISIBILITY_HIDDEN ||
        in->d.address_width != 32 || op->mem.index != ZYDIS_REGISTER_NONE ||
        op->mem.base == ZYDIS_REGISTER_NONE || op->size == 0)
        return false;
    bool ss = op->mem.base == ZYDIS_REGISTER_EBP || op->mem.base == ZYDIS_REGISTER_ESP;
    if (op->mem.segment != (ss ? ZYDIS_REGISTER_SS : ZYDIS_REGISTER_DS))
        return false;
    bool high;
    int g = guest_reg_num(op->mem.base, &high);
    if (g < 0 || high || g == R_ESP)
        return false;
    for (unsigned i = 0; i < in->d.operand_count_visible; i++) {
        const ZydisDecodedOperand *o = &in->ops[i];
        if (o->type == ZYDIS_OPERAND_TYPE_REGISTER &&
            guest_reg_num(o->reg.value, &high) >= 0 && high)
            return false;
    }
    *b = g;
    *disp = op->mem.disp.has_displacement ? (int32_t)op->mem.disp.value : 0;
    return true;
}

/* The one memory operand of a plain instruction, or NULL. */
static const ZydisDecodedOperand *mem_operand(const struct insn *in)
{
    for (unsigned i = 0; i < in->d.operand_count_visible; i++)
        if (in->ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY &&
            in->d.mnemonic != ZYDIS_MNEMONIC_LEA)
            return &in->ops[i];
    return NULL;
}

static bool writes_reg(const struct insn *in, int g)
{
    for (unsigned i = 0; i < in->d.operand_count; i++) {
        const ZydisDecodedOperand *o = &in->ops[i];
        bool high;
        if (o->type == ZYDIS_OPERAND_TYPE_REGISTER &&
            (o->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) &&
            guest_reg_num(o->reg.value, &high) == g)
            return true;
    }
    return false;
}

struct span {
    int base;
    int32_t lo, hi;
    unsigned accesses, insns;
    bool writes;
    uint32_t last_eip;
    uint32_t scanned; /* EIP of the last instruction looked at */
    const struct insn *stop; /* the first not plain, if the scan ended there */
};

/* Add in's access through s->base, if any; false if it does not fit. */
static bool take(struct span *s, const struct insn *in)
{
    const ZydisDecodedOperand *m = mem_operand(in);
    int b;
    int32_t d;
    if (!m || !base_access(in, m, &b, &d) || b != s->base)
        return true;
    int32_t lo = d < s->lo ? d : s->lo;
    int64_t end = (int64_t)d + m->size / 8;
    int64_t hi = end > s->hi ? end : s->hi;
    if (hi - lo > REGION_MAX_SPAN)
        return false;
    s->lo = lo;
    s->hi = (int32_t)hi;
    s->accesses++;
    s->writes |= (m->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) != 0;
    s->last_eip = in->eip;
    return true;
}

/* The block is a loop around the region: it starts with the region, and
 * the scan (so no write of the base, nothing but plain instructions) ran
 * up to its last instruction, a near JMP or Jcc back to its start. */
static bool self_loop(const struct tctx *t, const struct span *s)
{
    const struct insn *j = s->stop;
    if (!j || t->in->eip != t->b->eip || j->d.operand_width != 32 ||
        j->ops[0].type != ZYDIS_OPERAND_TYPE_IMMEDIATE)
        return false;
    bool jmp = j->d.mnemonic == ZYDIS_MNEMONIC_JMP &&
               j->d.meta.branch_type != ZYDIS_BRANCH_TYPE_FAR;
    if (!jmp && x_invert_jcc(j->d.mnemonic) == ZYDIS_MNEMONIC_INVALID)
        return false;
    return j->eip + j->len + (uint32_t)j->ops[0].imm.value.s == t->b->eip;
}

/* The region starting at the current instruction, if one pays. */
static bool scan(struct tctx *t, struct span *s)
{
    const struct insn *in = t->in;
    const ZydisDecodedOperand *m = mem_operand(in);
    int32_t d;
    s->base = -1;
    s->scanned = 0;
    s->stop = NULL;
    if (!m || !xlate_is_plain(in) || !base_access(in, m, &s->base, &d))
        return false;
    if (s->base == t->noscan_base && in->eip <= t->noscan_until) {
        s->scanned = t->noscan_until;
        return false;
    }
    s->lo = d;
    s->hi = d;
    s->accesses = 0;
    s->writes = false;
    if (!take(s, in))
        return false;
    s->insns = 1;
    s->scanned = in->eip;
    unsigned taken = 1;
    if (!writes_reg(in, s->base)) {
        x_fill_ahead(t);
        const struct insn *next = x_ahead(t, in->eip + in->len);
        const struct insn *end = t->ahead + t->n_ahead;
        unsigned room = t->insns_left > 1 ? t->insns_left - 1 : 0;
        for (; next && next < end && room-- && taken < REGION_SCAN_INSNS; next++) {
            if (!xlate_is_plain(next)) {
                s->stop = next;
                break;
            }
            unsigned before = s->accesses;
            s->scanned = next->eip;
            if (!take(s, next))
                break;
            taken++;
            if (s->accesses != before)
                s->insns = taken;
            if (writes_reg(next, s->base))
                break;
        }
    }
    /* around a loop, one access already pays: it is probed once */
    return s->accesses >= REGION_MIN_ACCESSES || self_loop(t, s);
}

void x_region_begin_insn(struct tctx *t)
{
    if (t->region_base >= 0 && t->in->eip > t->region_last)
        t->region_base = -1;
    if (t->region_base >= 0 || t->direct ||
        !(t->mode & MODE_FLAT) ||
        (t->mode & (MODE_DEBUG | MODE_ONE | MODE_SEGCHK(S_DS) | MODE_SEGCHK(S_SS))) ||
        t->bt->no_region[t->in->eip % NO_REGION_SLOTS] == t->in->eip)
        return;
    struct span s;
    /* a later access through the same base within a scan that found too
     * few would find fewer */
    if (!scan(t, &s)) {
        if (s.base >= 0) {
            t->noscan_base = s.base;
            t->noscan_until = s.scanned;
        }
        return;
    }
    struct emit *e = &t->e;
    E(e, ZYDIS_MNEMONIC_LEA, 2, R(R10D), M(guest_host64[s.base], NOREG, 0, s.lo, 4));
    x_probe(t, (unsigned)(s.hi - s.lo),
            ACC_READ | (s.writes ? ACC_WRITE : 0) | ACC_FUSED |
                ACC_FUSED_N(s.insns) | ACC_NO_BOUNCE);
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(R8), R(R10));
    x_probe_end(t);
    if (self_loop(t, &s)) {
        t->loop_body = e->p;
        t->bt->stats.loop_regions++;
    }
    t->region_base = s.base;
    t->region_lo = s.lo;
    t->region_hi = s.hi;
    t->region_last = s.last_eip;
    t->bt->stats.frame_regions++;
}

bool x_region_ea(struct tctx *t, const ZydisDecodedOperand *op)
{
    int b;
    int32_t d;
    if (t->region_base < 0 || t->in->d.mnemonic == ZYDIS_MNEMONIC_LEA ||
        !base_access(t->in, op, &b, &d) ||
        b != t->region_base || d < t->region_lo ||
        (int64_t)d + op->size / 8 > t->region_hi)
        return false;
    t->region_pending = true;
    t->region_disp = d - t->region_lo;
    return true;
}

void x_region_probe(struct tctx *t)
{
    t->region_pending = false;
    t->cur_region = true;
}
