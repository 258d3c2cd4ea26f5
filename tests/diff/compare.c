/* Outcome comparison and mismatch reports (code disassembled with
 * Capstone). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <capstone/capstone.h>

#include "bt/cpu.h"
#include "tests/diff/compare.h"

static const char *const reg_names[8] = {
    "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi",
};

static bool masked(const struct dcase *c, uint32_t addr)
{
    for (unsigned i = 0; i < c->n_memmask; i++)
        if (addr - c->memmask[i].addr < c->memmask[i].len)
            return true;
    return false;
}

static void compare_area(const struct dcase *c, const uint8_t *a, const uint8_t *b,
                         uint32_t base, uint32_t len, struct diff *d)
{
    if (!memcmp(a + base, b + base, len))
        return;
    for (uint32_t addr = base; addr < base + len; addr++) {
        if (a[addr] == b[addr] || masked(c, addr))
            continue;
        if (!d->mem_bytes)
            d->mem_first = addr;
        d->mem_bytes++;
    }
}

bool compare_outcomes(const struct dcase *c, const struct side *a,
                      const struct side *b, struct diff *d)
{
    const struct outcome *x = a->out, *y = b->out;
    memset(d, 0, sizeof *d);
    d->note = x->kind == OUT_OTHER || y->kind == OUT_OTHER;
    d->kind = x->kind != y->kind;
    d->vector = x->kind == OUT_EXCEPTION && y->kind == OUT_EXCEPTION &&
                x->vector != y->vector;
    d->eip = x->eip != y->eip;
    for (int r = 0; r < 8; r++)
        if (!(c->undef_regs & (1u << r)) && x->regs[r] != y->regs[r])
            d->regs |= (uint8_t)(1u << r);
    d->flag_bits = (x->eflags ^ y->eflags) & ~c->undef_flags;
    d->flags = d->flag_bits != 0;
    compare_area(c, a->ram, b->ram, DATA_BASE, DATA_SIZE, d);
    compare_area(c, a->ram, b->ram, STACK_BASE, STACK_SIZE, d);
    return !(d->note || d->kind || d->vector || d->eip || d->regs || d->flags ||
             d->mem_bytes);
}

struct reporter {
    FILE *f;
    csh cs;
    uint64_t seed;
};

struct reporter *reporter_create(FILE *f, uint64_t seed)
{
    struct reporter *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->f = f;
    r->seed = seed;
    if (cs_open(CS_ARCH_X86, CS_MODE_32, &r->cs) != CS_ERR_OK)
        r->cs = 0;
    return r;
}

void reporter_destroy(struct reporter *r)
{
    if (!r)
        return;
    if (r->cs)
        cs_close(&r->cs);
    free(r);
}

static void flag_names(char *buf, size_t n, uint32_t bits)
{
    static const struct { uint32_t bit; const char *name; } names[] = {
        {FL_CF, "CF"}, {FL_PF, "PF"}, {FL_AF, "AF"}, {FL_ZF, "ZF"}, {FL_SF, "SF"},
        {FL_TF, "TF"}, {FL_IF, "IF"}, {FL_DF, "DF"}, {FL_OF, "OF"},
    };
    size_t used = 0;
    buf[0] = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!(bits & names[i].bit))
            continue;
        used += (size_t)snprintf(buf + used, n > used ? n - used : 0, "%s%s",
                                 used ? " " : "", names[i].name);
        bits &= ~names[i].bit;
    }
    if (bits)
        snprintf(buf + used, n > used ? n - used : 0, "%sother %#x", used ? " " : "", bits);
    if (!buf[0])
        snprintf(buf, n, "-");
}

void report_code(struct reporter *r, const struct dcase *c)
{
    cs_insn *insn = NULL;
    size_t n = r->cs ? cs_disasm(r->cs, c->code, (size_t)c->code_len + 1, c->code_addr, 0, &insn) : 0;
    for (size_t i = 0; i < n; i++) {
        char hex[64] = "";
        for (unsigned k = 0, u = 0; k < insn[i].size && u + 4 < sizeof hex; k++)
            u += (unsigned)snprintf(hex + u, sizeof hex - u, "%02x ", insn[i].bytes[k]);
        fprintf(r->f, "#     %08" PRIx64 ": %-30s %s %s\n", insn[i].address, hex,
                insn[i].mnemonic, insn[i].op_str);
    }
    if (n)
        cs_free(insn, n);
    else
        fprintf(r->f, "#     (capstone could not disassemble the code)\n");
}

static void print_state(FILE *f, const char *label, const uint32_t regs[8],
                        uint32_t eip, uint32_t eflags)
{
    fprintf(f, "#   %-18s", label);
    for (int i = 0; i < 8; i++)
        fprintf(f, " %s=%08x", reg_names[i], regs[i]);
    fprintf(f, " eip=%08x eflags=%08x\n", eip, eflags);
}

static void print_outcome(FILE *f, const struct side *s)
{
    const struct outcome *o = s->out;
    char label[64];
    switch (o->kind) {
    case OUT_HLT: snprintf(label, sizeof label, "%s: hlt", s->name); break;
    case OUT_EXCEPTION: snprintf(label, sizeof label, "%s: #%d", s->name, o->vector); break;
    default: snprintf(label, sizeof label, "%s: ??", s->name); break;
    }
    print_state(f, label, o->regs, o->eip, o->eflags);
    if (o->note[0])
        fprintf(f, "#     note: %s\n", o->note);
}

void report_mismatch(struct reporter *r, const struct dcase *c, const char *group,
                     const struct side *a, const struct side *b,
                     const struct diff *d, const char *why)
{
    FILE *f = r->f;
    fprintf(f, "# ---- case %" PRIu64 " (group %s): %s\n", c->index, group, why);
    fprintf(f, "#   code at %#x:\n", c->code_addr);
    report_code(r, c);
    print_state(f, "before:", c->regs, c->code_addr, c->eflags);
    for (unsigned i = 0; i < c->n_patches; i++) {
        const struct patch *p = &c->patches[i];
        fprintf(f, "#   memory %#x:", p->addr);
        for (unsigned k = 0; k < p->len && k < 16; k++)
            fprintf(f, " %02x", c->patch_bytes[p->off + k]);
        fprintf(f, "%s\n", p->len > 16 ? " ..." : "");
    }
    print_outcome(f, a);
    print_outcome(f, b);
    char fl[96];
    fprintf(f, "#   differs:");
    if (d->kind)
        fprintf(f, " outcome");
    if (d->vector)
        fprintf(f, " vector");
    if (d->eip)
        fprintf(f, " eip");
    for (int i = 0; i < 8; i++)
        if (d->regs & (1u << i))
            fprintf(f, " %s", reg_names[i]);
    if (d->flags) {
        flag_names(fl, sizeof fl, d->flag_bits);
        fprintf(f, " eflags(%s)", fl);
    }
    if (d->mem_bytes) {
        uint32_t m = d->mem_first;
        fprintf(f, " memory(%u bytes, first at %#x: %s %02x, %s %02x)", d->mem_bytes, m,
                a->name, a->ram[m], b->name, b->ram[m]);
    }
    fprintf(f, "\n");
    flag_names(fl, sizeof fl, c->undef_flags);
    fprintf(f, "#   not compared (undefined): eflags(%s)", fl);
    for (int i = 0; i < 8; i++)
        if (c->undef_regs & (1u << i))
            fprintf(f, " %s", reg_names[i]);
    for (unsigned i = 0; i < c->n_memmask; i++)
        fprintf(f, " memory %#x+%u", c->memmask[i].addr, c->memmask[i].len);
    fprintf(f, "\n#   rerun alone: TPVM_SEED=%" PRIu64 " TPVM_DIFF_ONLY=%" PRIu64
               " build/tests/diff-unicorn\n", r->seed, c->index);
}
