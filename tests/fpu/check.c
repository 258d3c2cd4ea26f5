/* Test inputs and the differential comparison: Unicorn is the reference,
 * tpvm with direct RAM and with the soft TLB must match it. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bt/cpu.h"
#include "tests/fpu/check.h"

void in_init(struct input *in)
{
    memset(in->bytes, DATA_FILL, sizeof in->bytes);
    in->len = 0;
}

void in_bytes(struct input *in, uint32_t addr, const void *p, size_t n)
{
    assert_true(addr >= DATA_ADDR && addr - DATA_ADDR + n <= DATA_SIZE);
    memcpy(in->bytes + (addr - DATA_ADDR), p, n);
    if (addr - DATA_ADDR + n > in->len)
        in->len = addr - DATA_ADDR + n;
}

void in_f64(struct input *in, uint32_t addr, double v) { in_bytes(in, addr, &v, 8); }
void in_f32(struct input *in, uint32_t addr, float v) { in_bytes(in, addr, &v, 4); }
void in_i16(struct input *in, uint32_t addr, int16_t v) { in_bytes(in, addr, &v, 2); }
void in_i32(struct input *in, uint32_t addr, int32_t v) { in_bytes(in, addr, &v, 4); }
void in_i64(struct input *in, uint32_t addr, int64_t v) { in_bytes(in, addr, &v, 8); }

void in_f80(struct input *in, uint32_t addr, bool neg, uint16_t exp, uint64_t mant)
{
    uint8_t b[10];
    memcpy(b, &mant, 8);
    uint16_t se = (uint16_t)((neg ? 0x8000u : 0) | (exp & 0x7fffu));
    memcpy(b + 8, &se, 2);
    in_bytes(in, addr, b, 10);
}

uint16_t out_u16(const struct fpu_result *r, uint32_t addr)
{
    uint16_t v;
    memcpy(&v, r->data + (addr - DATA_ADDR), 2);
    return v;
}

uint32_t out_u32(const struct fpu_result *r, uint32_t addr)
{
    uint32_t v;
    memcpy(&v, r->data + (addr - DATA_ADDR), 4);
    return v;
}

double out_f64(const struct fpu_result *r, uint32_t addr)
{
    double v;
    memcpy(&v, r->data + (addr - DATA_ADDR), 8);
    return v;
}

int engines_setup(void **state)
{
    struct engines *en = calloc(1, sizeof *en);
    if (!en)
        return -1;
    en->uc = runner_create(ENGINE_UNICORN);
    en->direct = runner_create(ENGINE_TPVM_DIRECT);
    en->tlb = runner_create(ENGINE_TPVM_TLB);
    *state = en;
    return en->uc && en->direct && en->tlb ? 0 : -1;
}

int engines_teardown(void **state)
{
    struct engines *en = *state;
    if (en) {
        runner_destroy(en->uc);
        runner_destroy(en->direct);
        runner_destroy(en->tlb);
        free(en);
    }
    return 0;
}

static bool skipped(const struct diff_spec *s, uint32_t addr)
{
    for (size_t i = 0; s && i < s->n_fields; i++)
        if (addr >= s->fields[i].addr && addr < s->fields[i].addr + 2)
            return true;
    for (size_t i = 0; s && i < s->n_skip; i++)
        if (addr >= s->skip[i].addr && addr < s->skip[i].addr + s->skip[i].len)
            return true;
    for (size_t i = 0; s && i < s->n_approx; i++)
        if (addr >= s->approx[i] && addr < s->approx[i] + 8)
            return true;
    return false;
}

static const char *kind_name(enum fpu_outcome k)
{
    return k == OUT_HLT ? "hlt" : k == OUT_FAULT ? "fault" : "other";
}

/* Count (and print) the differences between reference and candidate. */
static unsigned compare(const char *what, const char *name, const struct fpu_result *ref,
                        const struct fpu_result *got, const struct diff_spec *s)
{
    unsigned bad = 0;
    if (ref->kind != got->kind || ref->vector != got->vector ||
        (ref->kind == OUT_HLT && ref->eip != got->eip) ||
        (ref->kind == OUT_FAULT && ref->fault_eip != got->fault_eip)) {
        print_message("%s, %s: ended %s (vector %d, eip %#x) %s; unicorn: %s (vector %d, eip %#x) %s\n",
                      what, name, kind_name(got->kind), got->vector,
                      got->kind == OUT_FAULT ? got->fault_eip : got->eip, got->note,
                      kind_name(ref->kind), ref->vector,
                      ref->kind == OUT_FAULT ? ref->fault_eip : ref->eip, ref->note);
        return 1;
    }
    for (int i = 0; i < 8; i++) {
        uint32_t m = i == R_EAX && s && s->eax_mask ? s->eax_mask : 0xffffffffu;
        if ((ref->regs[i] & m) != (got->regs[i] & m)) {
            print_message("%s, %s: reg %d = %#x, unicorn %#x\n", what, name, i,
                          got->regs[i], ref->regs[i]);
            bad++;
        }
    }
    if ((ref->eflags & FL_ARITH) != (got->eflags & FL_ARITH)) {
        print_message("%s, %s: eflags %#x, unicorn %#x\n", what, name, got->eflags,
                      ref->eflags);
        bad++;
    }
    for (uint32_t off = 0; off < DATA_SIZE; off++) {
        uint32_t a = DATA_ADDR + off;
        if (ref->data[off] != got->data[off] && !skipped(s, a)) {
            if (bad < 24)
                print_message("%s, %s: byte %#x = %02x, unicorn %02x\n", what, name, a,
                              got->data[off], ref->data[off]);
            bad++;
        }
    }
    for (size_t i = 0; s && i < s->n_fields; i++) {
        const struct field *f = &s->fields[i];
        uint16_t r = out_u16(ref, f->addr), g = out_u16(got, f->addr);
        if ((r & f->mask) != (g & f->mask)) {
            print_message("%s, %s: word at %#x = %#06x, unicorn %#06x (compared under %#06x)\n",
                          what, name, f->addr, g, r, f->mask);
            bad++;
        }
    }
    for (size_t i = 0; s && i < s->n_approx; i++) {
        double r = out_f64(ref, s->approx[i]), g = out_f64(got, s->approx[i]);
        bool same = r == g || (isnan(r) && isnan(g)) ||
                    fabs(g - r) <= s->rel_tol * fabs(r);
        if (!same) {
            print_message("%s, %s: double at %#x = %.17g, unicorn %.17g\n", what, name,
                          s->approx[i], g, r);
            bad++;
        }
    }
    return bad;
}

void diff_case(struct engines *en, const char *what, const struct fpu_case *c,
               const struct diff_spec *spec, struct fpu_result *tpvm)
{
    struct fpu_result ref, d, t;
    runner_run(en->uc, c, &ref);
    runner_run(en->direct, c, &d);
    runner_run(en->tlb, c, &t);
    if (ref.kind != OUT_HLT)
        fail_msg("%s: unicorn did not reach the hlt: %s (vector %d at %#x) %s", what,
                 kind_name(ref.kind), ref.vector, ref.fault_eip, ref.note);
    unsigned bad = compare(what, runner_name(en->direct), &ref, &d, spec) +
                   compare(what, runner_name(en->tlb), &ref, &t, spec);
    if (tpvm)
        *tpvm = d;
    if (bad)
        fail_msg("%s: %u differences from unicorn", what, bad);
}

void tpvm_case(struct engines *en, const struct fpu_case *c, struct fpu_result *out)
{
    struct fpu_result t;
    runner_run(en->direct, c, out);
    runner_run(en->tlb, c, &t);
    if (out->kind != t.kind || out->vector != t.vector ||
        out->fault_eip != t.fault_eip || memcmp(out->data, t.data, DATA_SIZE) ||
        memcmp(out->regs, t.regs, sizeof t.regs))
        fail_msg("direct RAM and soft TLB runs differ (%s vs %s)", kind_name(out->kind),
                 kind_name(t.kind));
}
