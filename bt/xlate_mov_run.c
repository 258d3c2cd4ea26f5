/* Runs of 32-bit MOVs through one base register as one access. Compiled
 * code reads and writes its frame and its structures a field after the
 * other, with register arithmetic in between: MOV ECX,[EBP-0x10];
 * MOV EAX,[EBP-0x28]; IMUL EAX,ECX; MOV [EBP-0x14],EAX ... Such a run
 * (same base, no index, all fields within 64 bytes, the base unchanged
 * until the last access) gets one TLB probe of the span; the register-only
 * instructions between its accesses are translated as usual inside it.
 *
 * As for stack runs (xlate_stack_run.c), the slow path serves the run only
 * when its pages are plain RAM and replays it one instruction at a time
 * otherwise, so faults stay precise. The slow path runs a copy of the
 * run's code, so what goes inside must be straight-line host code: plain
 * register instructions the generic translator re-encodes, checked after
 * emission. Runs are formed only with paging on (direct addressing could
 * fault in the middle, after a load changed a register), flat DS/SS, no
 * single-stepping or breakpoints, and within the block's page. */
#include <stdio.h>
#include "bt/regs.h"
#include "bt/xlate.h"

#define RUN_MAX_INSNS 16
#define RUN_MAX_SPAN 64 /* the slow path's bounce buffer */

void x_generic(struct tctx *t);

struct mov_op {
    bool mem;          /* an access of the run; else a register instruction */
    bool store;
    bool imm;
    int32_t disp;
    int32_t value;     /* the immediate */
    ZydisRegister reg; /* guest register loaded or stored */
    struct insn in;    /* the instruction itself */
};

/* A MOV r32,[base+disp] / MOV [base+disp],r32|imm32 with the default
 * segment and no index; *base is set by the first and must match after. */
static bool parse_mov(const ZydisDecodedInstruction *d,
                      const ZydisDecodedOperand *ops, ZydisRegister *base,
                      struct mov_op *op)
{
    if (d->mnemonic != ZYDIS_MNEMONIC_MOV || d->operand_width != 32 ||
        d->address_width != 32 || d->operand_count_visible != 2)
        return false;
    int m = ops[0].type == ZYDIS_OPERAND_TYPE_MEMORY ? 0
            : ops[1].type == ZYDIS_OPERAND_TYPE_MEMORY ? 1 : -1;
    if (m < 0)
        return false;
    const ZydisDecodedOperand *mem = &ops[m], *other = &ops[1 - m];
    ZydisRegister b = mem->mem.base;
    bool ss_default = b == ZYDIS_REGISTER_ESP || b == ZYDIS_REGISTER_EBP;
    if (b == ZYDIS_REGISTER_NONE || mem->mem.index != ZYDIS_REGISTER_NONE ||
        mem->mem.segment != (ss_default ? ZYDIS_REGISTER_SS : ZYDIS_REGISTER_DS) ||
        (*base != ZYDIS_REGISTER_NONE && b != *base) ||
        guest_reg_num(b, &(bool){false}) < 0)
        return false;
    op->mem = true;
    op->store = m == 0;
    op->imm = false;
    op->disp = mem->mem.disp.has_displacement ? (int32_t)mem->mem.disp.value : 0;
    if (other->type == ZYDIS_OPERAND_TYPE_IMMEDIATE && m == 0) {
        op->imm = true;
        op->value = (int32_t)other->imm.value.s;
    } else if (other->type == ZYDIS_OPERAND_TYPE_REGISTER) {
        bool high;
        if (guest_reg_num(other->reg.value, &high) < 0 || high)
            return false;
        op->reg = other->reg.value;
        /* a load into ESP would move the stack under a run based on it */
        if (!op->store && op->reg == ZYDIS_REGISTER_ESP)
            return false;
    } else {
        return false;
    }
    *base = b;
    return true;
}

/* A register-only instruction the generic translator re-encodes, which
 * leaves the base and ESP alone: it may sit between the run's accesses. */
static bool register_only(const struct insn *in, ZydisRegister base)
{
    if (xlate_lookup(in->d.mnemonic) != x_generic ||
        (in->d.attributes & (ZYDIS_ATTRIB_HAS_LOCK | ZYDIS_ATTRIB_HAS_REP |
                             ZYDIS_ATTRIB_HAS_REPE | ZYDIS_ATTRIB_HAS_REPNE)))
        return false;
    bool h;
    int b = guest_reg_num(base, &h);
    for (unsigned i = 0; i < in->d.operand_count; i++) {
        const ZydisDecodedOperand *op = &in->ops[i];
        if (op->type == ZYDIS_OPERAND_TYPE_IMMEDIATE)
            continue;
        if (op->type != ZYDIS_OPERAND_TYPE_REGISTER)
            return false;
        ZydisRegister r = op->reg.value;
        if (r == ZYDIS_REGISTER_EFLAGS || r == ZYDIS_REGISTER_FLAGS)
            continue;
        int g = guest_reg_num(r, &h);
        if (g < 0)
            return false;
        if ((op->actions & ZYDIS_OPERAND_ACTION_MASK_WRITE) &&
            (g == b || g == R_ESP))
            return false;
    }
    return true;
}

static unsigned scan_run(struct tctx *t, struct mov_op *ops, ZydisRegister *base,
                         int32_t *lo, int32_t *hi)
{
    if (t->direct || !(t->mode & MODE_FLAT) ||
        (t->mode & (MODE_DEBUG | MODE_ONE | MODE_SEGCHK(S_DS) | MODE_SEGCHK(S_SS))))
        return 0;
    const struct insn *in = t->in;
    *base = ZYDIS_REGISTER_NONE;
    if (!parse_mov(&in->d, in->ops, base, &ops[0]))
        return 0;
    /* a frame region's base is the region's (xlate_region.c); a run on
     * another base may sit inside the region: what it takes along
     * touches no memory but its own base, and if it writes the region's
     * base, the region's accesses all came before */
    bool high;
    if (t->region_base >= 0 && guest_reg_num(*base, &high) == t->region_base)
        return 0;
    ops[0].in = *in;
    *lo = ops[0].disp;
    *hi = ops[0].disp + 4;
    if (!ops[0].store && ops[0].reg == *base)
        return 1; /* the base changes right away */
    /* the instructions after it: from those decoded once for every scan
     * of the block (t->ahead), decoding here only past their end */
    uint32_t pc = in->eip + in->len;
    x_fill_ahead(t);
    const struct insn *a = x_ahead(t, pc);
    const struct insn *end = t->ahead + t->n_ahead;
    uint8_t buf[RUN_MAX_INSNS * 15];
    uint32_t ph = 0;
    size_t avail = 0;
    bool fetched = false;
    /* n: instructions taken; last: one past the run's last access */
    unsigned n = 1, last = 1, accesses = 1;
    uint32_t off = 0, off_last = 0;
    while (n < RUN_MAX_INSNS) {
        struct mov_op *op = &ops[n];
        ZydisRegister b = *base;
        if (a && a < end && a->eip == pc + off) {
            op->in = *a++;
        } else {
            if (!fetched) {
                avail = x_fetch_following(t, buf, sizeof buf, &ph);
                fetched = true;
            }
            if (off >= avail || !x_decode(t, buf + off, avail - off, pc + off, &op->in))
                break;
        }
        if (parse_mov(&op->in.d, op->in.ops, &b, op)) {
            int32_t l = op->disp < *lo ? op->disp : *lo;
            int32_t h = op->disp + 4 > *hi ? op->disp + 4 : *hi;
            if ((int64_t)h - l > RUN_MAX_SPAN)
                break;
            *lo = l;
            *hi = h;
            off += op->in.len;
            n++;
            last = n;
            off_last = off;
            accesses++;
            if (!op->store && op->reg == *base)
                break; /* it changes the base */
        } else if (register_only(&op->in, *base)) {
            op->mem = false;
            off += op->in.len;
            n++;
        } else {
            break;
        }
    }
    /* register instructions after the last access are not part of it */
    n = last;
    off = off_last;
    if (accesses < 2)
        return 1;
    if (fetched)
        x_absorb_following(t, buf, off, ph);
    else
        x_absorb_ahead(t, off);
    t->bt->stats.fused_mov_runs++;
    return n;
}

/* The slow path runs a copy of the run's host code: it must not hold
 * anything position-dependent (a branch, a call, a RIP-relative operand). */
static bool straight_line(const uint8_t *p, const uint8_t *end)
{
    while (p < end) {
        ZydisDecodedInstruction d;
        if (ZYAN_FAILED(ZydisDecoderDecodeInstruction(emit_decoder64(), NULL, p,
                                                      (size_t)(end - p), &d)) ||
            !emit_position_free(&d))
            return false;
        p += d.length;
    }
    return true;
}

bool x_mov_run(struct tctx *t)
{
    struct emit *e = &t->e;
    static struct mov_op ops[RUN_MAX_INSNS]; /* big: the decoded insns */
    ZydisRegister base;
    int32_t lo, hi;
    unsigned n = scan_run(t, ops, &base, &lo, &hi);
    if (n < 2)
        return false;
    bool writes = false;
    for (unsigned i = 0; i < n; i++)
        writes |= ops[i].mem && ops[i].store;
    E(e, ZYDIS_MNEMONIC_LEA, 2, R(R10D), M(host_reg(base, false), NOREG, 0, lo, 4));
    /* a run with stores reads its span too: the bounce buffer is filled
     * before the moves, so bytes between the fields are written back as
     * they were */
    x_probe(t, (unsigned)(hi - lo),
            ACC_READ | (writes ? ACC_WRITE : 0) | ACC_FUSED | ACC_FUSED_N(n));
    const struct insn *saved_in = t->in;
    uint32_t saved_next = t->next_eip;
    for (unsigned i = 0; i < n; i++) {
        struct mov_op *op = &ops[i];
        if (!op->mem) {
            const uint8_t *start = e->p;
            t->in = &op->in;
            t->next_eip = op->in.eip + op->in.len;
            x_generic(t);
            if (!e->full && !e->failed && !straight_line(start, e->p)) {
                e->failed = true;
                snprintf(e->failed_what, sizeof e->failed_what,
                         "a register instruction in a MOV run is not straight-line code");
            }
            continue;
        }
        eop mem = x_mem_disp(t, 4, op->disp - lo);
        if (!op->store)
            E(e, ZYDIS_MNEMONIC_MOV, 2, R(host_reg(op->reg, false)), mem);
        else if (op->imm)
            E(e, ZYDIS_MNEMONIC_MOV, 2, mem, I(op->value));
        else
            E(e, ZYDIS_MNEMONIC_MOV, 2, mem, R(host_reg(op->reg, false)));
    }
    t->in = saved_in;
    t->next_eip = saved_next;
    x_probe_end(t);
    return true;
}
