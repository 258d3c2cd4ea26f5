/* Runs of 32-bit MOVs through one base register as one access. Compiled
 * code reads and writes its frame and its structures a field after the
 * other: MOV ECX,[EBP-0x10]; MOV EAX,[EBP-0x28]; MOV [ESP+4],EDX ... Such
 * a run (same base, no index, the base unchanged until its last
 * instruction, all fields within 64 bytes) gets one TLB probe of the
 * span, then the moves.
 *
 * As for stack runs (xlate_stack_run.c), the slow path serves the run only
 * when its pages are plain RAM and replays it one instruction at a time
 * otherwise, so faults stay precise. Runs are formed only with paging on
 * (direct addressing could fault in the middle of the moves, after a load
 * changed a register), flat DS/SS, no single-stepping or breakpoints, and
 * within the block's page. */
#include <stdio.h>
#include "bt/regs.h"
#include "bt/xlate.h"

#define RUN_MAX_INSNS 8
#define RUN_MAX_SPAN 64 /* the slow path's bounce buffer */

struct mov_op {
    uint8_t len;
    bool store;
    bool imm;
    int32_t disp;
    int32_t value;     /* the immediate */
    ZydisRegister reg; /* guest register loaded or stored */
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
    *op = (struct mov_op){ .len = d->length, .store = m == 0,
                           .disp = mem->mem.disp.has_displacement
                                       ? (int32_t)mem->mem.disp.value : 0 };
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
    *lo = ops[0].disp;
    *hi = ops[0].disp + 4;
    if (!ops[0].store && ops[0].reg == *base)
        return 1; /* the base changes right away */
    uint32_t pc = in->eip + in->len;
    uint32_t page_end = (t->b->eip | 0xfffu) + 1;
    if (pc >= page_end || pc < in->eip)
        return 1;
    uint8_t buf[RUN_MAX_INSNS * 15];
    uint32_t ph;
    size_t avail = mmu_fetch_code(t->cpu, pc, buf, sizeof buf, &ph);
    if (avail > page_end - pc)
        avail = page_end - pc;
    unsigned n = 1;
    size_t off = 0;
    while (n < RUN_MAX_INSNS && off < avail) {
        ZydisDecodedInstruction d;
        ZydisDecodedOperand dops[ZYDIS_MAX_OPERAND_COUNT];
        if (ZYAN_FAILED(ZydisDecoderDecodeFull(t->bt->decoder, buf + off,
                                               avail - off, &d, dops)) ||
            !parse_mov(&d, dops, base, &ops[n]))
            break;
        int32_t l = ops[n].disp < *lo ? ops[n].disp : *lo;
        int32_t h = ops[n].disp + 4 > *hi ? ops[n].disp + 4 : *hi;
        if ((int64_t)h - l > RUN_MAX_SPAN)
            break;
        *lo = l;
        *hi = h;
        off += ops[n].len;
        bool last = !ops[n].store && ops[n].reg == *base;
        n++;
        if (last)
            break; /* it changes the base */
    }
    if (n < 2)
        return n;
    t->b->phys_last = ph + (uint32_t)off - 1;
    t->next_eip = pc + (uint32_t)off;
    t->bt->stats.fused_mov_runs++;
    if (t->bt->cfg.trace) {
        uint32_t eip = pc;
        for (unsigned i = 1; i < n; i++) {
            char text[96];
            if (bt_disasm(buf + (eip - pc), ops[i].len, eip, text, sizeof text) <= 0)
                snprintf(text, sizeof text, "(bad)");
            fprintf(t->bt->cfg.trace, "%08x: %s\n", eip, text);
            eip += ops[i].len;
        }
    }
    return n;
}

bool x_mov_run(struct tctx *t)
{
    struct emit *e = &t->e;
    struct mov_op ops[RUN_MAX_INSNS];
    ZydisRegister base;
    int32_t lo, hi;
    unsigned n = scan_run(t, ops, &base, &lo, &hi);
    if (n < 2)
        return false;
    bool writes = false;
    for (unsigned i = 0; i < n; i++)
        writes |= ops[i].store;
    E(e, ZYDIS_MNEMONIC_LEA, 2, R(R10D), M(host_reg(base, false), NOREG, 0, lo, 4));
    /* a run with stores reads its span too: the bounce buffer is filled
     * before the moves, so bytes between the fields are written back as
     * they were */
    x_probe(t, (unsigned)(hi - lo),
            ACC_READ | (writes ? ACC_WRITE : 0) | ACC_FUSED | ACC_FUSED_N(n));
    for (unsigned i = 0; i < n; i++) {
        eop mem = x_mem_disp(t, 4, ops[i].disp - lo);
        if (!ops[i].store)
            E(e, ZYDIS_MNEMONIC_MOV, 2, R(host_reg(ops[i].reg, false)), mem);
        else if (ops[i].imm)
            E(e, ZYDIS_MNEMONIC_MOV, 2, mem, I(ops[i].value));
        else
            E(e, ZYDIS_MNEMONIC_MOV, 2, mem, R(host_reg(ops[i].reg, false)));
    }
    x_probe_end(t);
    return true;
}
