/* Hand-computed cases with their expected results, worked out from the
 * Intel SDM: they check the harness (how registers, EFLAGS, faults and
 * memory reach the comparison) on Unicorn and on tpvm alike. */
#include <string.h>

#include "bt/cpu.h"
#include "tests/diff/known_answers.h"

#define KA_BASE (CODE_BASE + N_SLOTS * SLOT_SIZE) /* beyond generated slots */

struct reg_value {
    int8_t r; /* -1 ends the list */
    uint32_t v;
};

struct bytes {
    uint32_t addr;
    uint8_t len;
    uint8_t b[8];
};

struct known {
    const char *text;
    uint8_t len;
    uint8_t code[15];
    struct reg_value in[5];  /* others 0, ESP = STACK_MID */
    uint32_t eflags_in;
    struct bytes mem_in;
    int vector;              /* -1: runs to the hlt */
    struct reg_value out[4]; /* registers that change; the rest must not */
    uint32_t eflags_out;
    uint32_t flags_ignore;   /* undefined by the SDM */
    struct bytes mem_out;
};

#define END {-1, 0}

static const struct known answers[] = {
    {"add eax, ebx: signed overflow", 2, {0x01, 0xd8},
     {{R_EAX, 0x7fffffff}, {R_EBX, 1}, END}, 0x2, {0}, -1,
     {{R_EAX, 0x80000000}, END}, 0x2 | FL_OF | FL_SF | FL_AF | FL_PF, 0, {0}},
    {"sub al, 1: borrow", 2, {0x2c, 0x01},
     {{R_EAX, 0x12345600}, END}, 0x2, {0}, -1,
     {{R_EAX, 0x123456ff}, END}, 0x2 | FL_CF | FL_AF | FL_SF | FL_PF, 0, {0}},
    {"div ecx by zero: #DE, state as before", 2, {0xf7, 0xf1},
     {{R_EAX, 5}, {R_ECX, 0}, END}, 0x2 | FL_CF, {0}, EXC_DE,
     {END}, 0x2 | FL_CF, 0, {0}},
    {"idiv ecx: quotient overflow", 2, {0xf7, 0xf9},
     {{R_EAX, 0x80000000}, {R_EDX, 0xffffffff}, {R_ECX, 0xffffffff}, END}, 0x2,
     {0}, EXC_DE, {END}, 0x2, 0, {0}},
    {"aam 0: #DE", 2, {0xd4, 0x00}, {{R_EAX, 0x1234}, END}, 0x2, {0}, EXC_DE,
     {END}, 0x2, 0, {0}},
    {"push 0x11223344; pop ebx", 6, {0x68, 0x44, 0x33, 0x22, 0x11, 0x5b},
     {END}, 0x2, {0}, -1, {{R_EBX, 0x11223344}, END}, 0x2, 0,
     {STACK_MID - 4, 4, {0x44, 0x33, 0x22, 0x11}}},
    {"rep movsb, 3 bytes forward", 2, {0xf3, 0xa4},
     {{R_ESI, DATA_BASE + 0x100}, {R_EDI, DATA_BASE + 0x200}, {R_ECX, 3}, END}, 0x2,
     {DATA_BASE + 0x100, 3, {'a', 'b', 'c'}}, -1,
     {{R_ECX, 0}, {R_ESI, DATA_BASE + 0x103}, {R_EDI, DATA_BASE + 0x203}, END}, 0x2, 0,
     {DATA_BASE + 0x200, 3, {'a', 'b', 'c'}}},
    {"std; rep stosw, 2 words backward", 4, {0xfd, 0xf3, 0x66, 0xab},
     {{R_EAX, 0xbeef}, {R_EDI, DATA_BASE + 0x300}, {R_ECX, 2}, END}, 0x2, {0}, -1,
     {{R_ECX, 0}, {R_EDI, DATA_BASE + 0x2fc}, END}, 0x2 | FL_DF, 0,
     {DATA_BASE + 0x2fe, 4, {0xef, 0xbe, 0xef, 0xbe}}},
    {"shl eax, 1: CF and OF from the top bit", 2, {0xd1, 0xe0},
     {{R_EAX, 0x80000001}, END}, 0x2, {0}, -1,
     {{R_EAX, 2}, END}, 0x2 | FL_CF | FL_OF, FL_AF, {0}},
    {"call next; pop eax", 6, {0xe8, 0, 0, 0, 0, 0x58},
     {END}, 0x2, {0}, -1, {{R_EAX, 0 /* code + 5, filled in */}, END}, 0x2, 0,
     {0}},
    {"bsr eax, ecx", 3, {0x0f, 0xbd, 0xc1},
     {{R_ECX, 0x00010000}, END}, 0x2 | FL_ZF, {0}, -1,
     {{R_EAX, 16}, END}, 0x2, FL_ARITH & ~FL_ZF, {0}},
    {"lock cmpxchg8b [edi]: equal", 4, {0xf0, 0x0f, 0xc7, 0x0f},
     {{R_EAX, 0x22222222}, {R_EDX, 0x11111111}, {R_EBX, 0x44444444},
      {R_ECX, 0x33333333}, {R_EDI, DATA_BASE + 0x400}},
     0x2, {DATA_BASE + 0x400, 8, {0x22, 0x22, 0x22, 0x22, 0x11, 0x11, 0x11, 0x11}}, -1,
     {END}, 0x2 | FL_ZF, 0,
     {DATA_BASE + 0x400, 8, {0x44, 0x44, 0x44, 0x44, 0x33, 0x33, 0x33, 0x33}}},
    {"jz over inc eax (taken); inc eax", 4, {0x74, 0x01, 0x40, 0x40},
     {{R_EAX, 7}, END}, 0x2 | FL_ZF, {0}, -1,
     {{R_EAX, 8}, END}, 0x2, 0, {0}},
    {"daa after 0x9a", 1, {0x27}, {{R_EAX, 0x9a}, END}, 0x2, {0}, -1,
     {{R_EAX, 0x00}, END}, 0x2 | FL_CF | FL_PF | FL_AF | FL_ZF, FL_OF, {0}},
    {"bt [ebx], ecx with ecx = -1: bit 7 of the byte below", 3, {0x0f, 0xa3, 0x0b},
     {{R_EBX, DATA_BASE + 0x800}, {R_ECX, 0xffffffff}, END}, 0x2 | FL_ZF,
     {DATA_BASE + 0x7fc, 4, {0, 0, 0, 0x80}}, -1,
     {END}, 0x2 | FL_ZF | FL_CF, FL_OF | FL_SF | FL_AF | FL_PF, {0}},
    {"mov ecx, 3; L: inc eax; loop L", 8, {0xb9, 3, 0, 0, 0, 0x40, 0xe2, 0xfd},
     {END}, 0x2, {0}, -1, {{R_EAX, 3}, {R_ECX, 0}, END}, 0x2 | FL_PF, 0, {0}},
    {"pushfd; pop eax", 2, {0x9c, 0x58},
     {END}, 0x2 | FL_ARITH, {0}, -1, {{R_EAX, 0x2 | FL_ARITH}, END}, 0x2 | FL_ARITH, 0,
     {0}},
    {"popfd ignores reserved bits", 6, {0x68, 0xff, 0x8c, 0, 0, 0x9d},
     {END}, 0x2, {0}, -1, {END}, 0x2 | FL_ARITH | FL_DF, 0, {0}},
};

unsigned known_answer_count(void)
{
    return sizeof answers / sizeof answers[0];
}

static const struct reg_value *find(const struct reg_value *l, unsigned n, int r)
{
    for (unsigned i = 0; i < n && l[i].r >= 0; i++)
        if (l[i].r == r)
            return &l[i];
    return NULL;
}

int run_known_answers(const struct model *m, FILE *out)
{
    int failures = 0;
    for (unsigned i = 0; i < known_answer_count(); i++) {
        const struct known *k = &answers[i];
        struct dcase c;
        memset(&c, 0, sizeof c);
        c.index = i;
        c.code_addr = KA_BASE + i * SLOT_SIZE;
        c.code_len = k->len;
        memcpy(c.code, k->code, k->len);
        c.code[k->len] = 0xf4; /* hlt */
        c.regs[R_ESP] = STACK_MID;
        for (unsigned j = 0; j < 5 && k->in[j].r >= 0; j++)
            c.regs[k->in[j].r] = k->in[j].v;
        c.eflags = k->eflags_in;
        c.fill_seed = 0x5eed0000 + i;
        if (k->mem_in.len) {
            c.n_patches = 1;
            c.patches[0] = (struct patch){k->mem_in.addr, k->mem_in.len, 0};
            memcpy(c.patch_bytes, k->mem_in.b, k->mem_in.len);
        }

        struct outcome o;
        model_run(m, &c, &o);

        char why[160] = "";
        if (k->vector < 0 && o.kind != OUT_HLT)
            snprintf(why, sizeof why, "expected to reach the hlt (%s)", o.note);
        else if (k->vector >= 0 && (o.kind != OUT_EXCEPTION || o.vector != k->vector))
            snprintf(why, sizeof why, "expected exception %d (%s)", k->vector, o.note);
        uint32_t want_eip = c.code_addr + (k->vector < 0 ? k->len + 1u : 0u);
        if (!why[0] && o.eip != want_eip)
            snprintf(why, sizeof why, "eip %#x, expected %#x", o.eip, want_eip);
        for (int r = 0; r < 8 && !why[0]; r++) {
            const struct reg_value *rv = find(k->out, 4, r);
            uint32_t want = rv ? rv->v : c.regs[r];
            if (i == 9 && r == R_EAX) /* call next; pop eax */
                want = c.code_addr + 5;
            if (o.regs[r] != want)
                snprintf(why, sizeof why, "register %d = %#x, expected %#x", r, o.regs[r], want);
        }
        if (!why[0] && ((o.eflags ^ k->eflags_out) & ~k->flags_ignore))
            snprintf(why, sizeof why, "eflags %#x, expected %#x (ignoring %#x)", o.eflags,
                     k->eflags_out, k->flags_ignore);
        if (!why[0] && k->mem_out.len &&
            memcmp(m->ram + k->mem_out.addr, k->mem_out.b, k->mem_out.len))
            snprintf(why, sizeof why, "memory at %#x differs", k->mem_out.addr);
        if (why[0]) {
            fprintf(out, "#   %s: known answer \"%s\": %s\n", m->name, k->text, why);
            failures++;
        }
    }
    return failures;
}
