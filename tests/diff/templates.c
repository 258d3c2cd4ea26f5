/* The group table (names reported per group, weights of the case mix)
 * and the helpers templates share. */
#include "bt/cpu.h"
#include "tests/diff/templates.h"

const struct group diff_groups[] = {
    {"alu", 28, G_SEQ | G_BODY | G_NEUTRAL, tpl_alu},
    {"inc/dec/neg/not", 8, G_SEQ | G_BODY | G_NEUTRAL, tpl_unary},
    {"mul/imul", 10, G_SEQ | G_BODY | G_NEUTRAL, tpl_mul},
    {"div/idiv", 10, G_SEQ | G_BODY | G_NEUTRAL, tpl_div},
    {"shift/rotate", 18, G_SEQ | G_BODY | G_NEUTRAL, tpl_shift},
    {"shld/shrd", 8, G_SEQ | G_BODY | G_NEUTRAL, tpl_double_shift},
    {"bt/bts/btr/btc", 10, G_SEQ | G_BODY | G_NEUTRAL, tpl_bit_test},
    {"bsf/bsr", 6, G_SEQ | G_BODY | G_NEUTRAL, tpl_bit_scan},
    {"aaa/aas/daa/das/aam/aad", 6, G_SEQ | G_BODY | G_NEUTRAL, tpl_bcd},
    {"carry chain", 6, G_SEQ | G_NEUTRAL, tpl_carry_chain},
    {"mov", 10, G_SEQ | G_BODY | G_NEUTRAL, tpl_mov},
    {"movzx/movsx", 4, G_SEQ | G_BODY | G_NEUTRAL, tpl_movx},
    {"lea", 6, G_SEQ | G_BODY | G_NEUTRAL, tpl_lea},
    {"xchg/xadd/cmpxchg/cmpxchg8b", 10, G_SEQ | G_BODY | G_NEUTRAL, tpl_exchange},
    {"bswap", 2, G_SEQ | G_BODY | G_NEUTRAL, tpl_bswap},
    {"cmovcc", 6, G_SEQ | G_BODY | G_NEUTRAL, tpl_cmov},
    {"setcc", 6, G_SEQ | G_BODY | G_NEUTRAL, tpl_setcc},
    {"cbw/cwde/cwd/cdq", 2, G_SEQ | G_BODY | G_NEUTRAL, tpl_convert},
    {"lahf/sahf/clc/stc/cmc/cld/std", 4, G_SEQ | G_BODY | G_NEUTRAL, tpl_flag_ops},
    {"xlat", 2, G_SEQ | G_BODY | G_NEUTRAL, tpl_xlat},
    {"nop", 2, G_SEQ | G_BODY | G_NEUTRAL, tpl_nop},
    {"cpuid", 1, G_SEQ, tpl_cpuid},
    {"rdtsc", 1, G_SEQ, tpl_rdtsc},
    {"string", 16, G_SEQ | G_BODY | G_NEUTRAL, tpl_string},
    {"frame", 12, G_SEQ | G_BODY | G_NEUTRAL, tpl_frame},
    {"frame loop", 6, G_SEQ | G_NEUTRAL, tpl_frame_loop},
    {"wrapped address", 3, G_SEQ | G_BODY | G_NEUTRAL, tpl_wrap},
    {"push/pop", 8, G_SEQ | G_BODY, tpl_push_pop},
    {"pusha/popa", 2, G_SEQ | G_BODY, tpl_pusha_popa},
    {"pushf/popf", 4, G_SEQ | G_BODY, tpl_pushf_popf},
    {"enter/leave", 4, G_SEQ | G_BODY, tpl_enter_leave},
    {"jcc", 12, G_SEQ, tpl_jcc},
    {"loop/jecxz", 8, G_SEQ, tpl_loop},
    {"call/ret", 8, G_SEQ, tpl_call_ret},
    {"jmp", 6, G_SEQ, tpl_jmp},
    {"sequence", 50, 0, tpl_sequence},
};
const unsigned diff_n_groups = sizeof diff_groups / sizeof diff_groups[0];

static int pick_weighted(struct gen *g, unsigned flags)
{
    unsigned total = 0;
    for (unsigned i = 0; i < diff_n_groups; i++)
        if ((diff_groups[i].flags & flags) == flags)
            total += diff_groups[i].weight;
    unsigned x = rnd(g, total);
    for (unsigned i = 0; i < diff_n_groups; i++) {
        if ((diff_groups[i].flags & flags) != flags)
            continue;
        if (x < diff_groups[i].weight)
            return (int)i;
        x -= diff_groups[i].weight;
    }
    return 0;
}

int pick_group(struct gen *g)
{
    return pick_weighted(g, 0);
}

void emit_steps(struct gen *g, unsigned flags, unsigned max)
{
    unsigned n = 1 + rnd(g, max);
    if (flags & G_BODY)
        g->depth++;
    for (unsigned i = 0; i < n && !g->ended && !g->failed; i++)
        diff_groups[pick_weighted(g, flags)].fn(g);
    if (flags & G_BODY)
        g->depth--;
}

struct rm rm_pick(struct gen *g, int size, uint8_t avoid, unsigned mem_percent)
{
    struct rm x = {.size = size};
    if (chance(g, mem_percent)) {
        x.is_mem = true;
        bool stack = chance(g, 10) && !g->call_depth;
        x.m = stack ? mem_stack(g, size) : mem_data(g, size, 16, avoid);
        x.op = x.m.op;
    } else {
        x.id = pick_reg(g, size, avoid);
        x.op = op_r(size, x.id);
    }
    return x;
}

void rm_written(struct gen *g, const struct rm *x)
{
    if (!x->is_mem)
        reg_written(g, full_reg(x->size, x->id));
}

ZydisInstructionAttributes rm_prefixes(struct gen *g, const struct rm *x,
                                       bool lockable)
{
    if (!x->is_mem)
        return 0;
    ZydisInstructionAttributes p = x->m.seg;
    if (lockable && chance(g, 12))
        p |= ZYDIS_ATTRIB_HAS_LOCK;
    return p;
}

void path_save(const struct gen *g, struct path_state *s)
{
    for (int r = 0; r < 8; r++)
        s->val[r] = g->val[r];
    s->known = g->known;
    s->undef = g->undef;
    s->df_known = g->df_known;
    s->df = g->df;
    s->flags_garbage = g->flags_garbage;
}

void path_merge(struct gen *g, const struct path_state *s)
{
    for (int r = 0; r < 8; r++)
        if (!(s->known & (1u << r)) || s->val[r] != g->val[r])
            g->known &= (uint8_t)~(1u << r);
    g->undef |= s->undef;
    g->flags_garbage |= s->flags_garbage;
    if (!s->df_known || s->df != g->df)
        g->df_known = false;
}

uint32_t want_cl(struct gen *g, uint32_t count, bool exact)
{
    count &= 0xff;
    if (!reg_free(g, R_ECX) && (g->known & (1u << R_ECX)) &&
        (!exact || (g->val[R_ECX] & 0xff) == count))
        return reg_value(g, R_ECX) & 0xff;
    reg_want_exact(g, R_ECX, (rnd32(g) & ~0xffu) | count);
    return count;
}

int pick_src(struct gen *g)
{
    return (int)rnd(g, 8);
}

uint32_t size_mask(int size)
{
    return size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
}
