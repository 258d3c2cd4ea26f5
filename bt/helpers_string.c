/* String instructions (MOVS STOS LODS CMPS SCAS INS OUTS) with REP,
 * REPE and REPNE, both directions and all three sizes. Registers are
 * updated after every completed chunk, so a fault part way leaves a
 * restartable state, as on hardware. Runs of elements within one page
 * are moved with memmove/memset instead of element by element. */
#include <string.h>

#include "bt/cpu_sys.h"
#include "bt/helpers.h"
#include "bt/internal.h"
#include "bt/runtime.h"
#include "bt/xlate.h"

/* arg layout: bits 0-7 size, HA_X: op (4 bits), rep (2 bits),
 * source segment (3 bits), 16-bit addressing (1 bit) */
#define S_OP(a) (((a) >> 20) & 0xfu)
#define S_REP(a) (((a) >> 24) & 0x3u)
#define S_SEG(a) (((a) >> 26) & 0x7u)
#define S_A16(a) (((a) >> 29) & 0x1u)

static uint32_t cmp_flags(uint32_t a, uint32_t b, unsigned size)
{
    unsigned bits = size * 8;
    uint32_t mask = bits == 32 ? 0xffffffffu : (1u << bits) - 1;
    a &= mask;
    b &= mask;
    uint32_t r = (a - b) & mask;
    uint32_t f = 0;
    if (a < b)
        f |= FL_CF;
    if (r == 0)
        f |= FL_ZF;
    if (r >> (bits - 1))
        f |= FL_SF;
    if ((((a ^ b) & (a ^ r)) >> (bits - 1)) & 1)
        f |= FL_OF;
    if ((a ^ b ^ r) & 0x10)
        f |= FL_AF;
    f |= parity_flag(r);
    return f;
}

struct sregs {
    uint32_t si, di, cx;
    uint32_t amask; /* 0xffff for 16-bit addressing */
};

static void load_sregs(struct cpu *cpu, uint32_t arg, struct sregs *s)
{
    s->amask = S_A16(arg) ? 0xffffu : 0xffffffffu;
    s->si = cpu->regs[R_ESI] & s->amask;
    s->di = cpu->regs[R_EDI] & s->amask;
    s->cx = cpu->regs[R_ECX] & s->amask;
}

static void store_reg(uint32_t *r, uint32_t v, uint32_t amask)
{
    *r = (*r & ~amask) | (v & amask);
}

static void store_sregs(struct cpu *cpu, const struct sregs *s)
{
    store_reg(&cpu->regs[R_ESI], s->si, s->amask);
    store_reg(&cpu->regs[R_EDI], s->di, s->amask);
    store_reg(&cpu->regs[R_ECX], s->cx, s->amask);
}

/* How many elements from address a (stepping by d*size) stay on its page. */
static uint32_t run_in_page(uint32_t a, int d, unsigned size)
{
    uint32_t off = a & 0xfffu;
    uint32_t room = d > 0 ? (0x1000u - off) / size : (off / size) + 1;
    return room;
}

static uint8_t *chunk_ptr(struct cpu *cpu, uint32_t lin, uint32_t n,
                          unsigned size, int d, unsigned acc)
{
    uint32_t bytes = n * size;
    uint32_t lo = d > 0 ? lin : lin - (n - 1) * size;
    uint8_t *p = mmu_host_ptr(cpu, lo, bytes, acc | size);
    return p ? (d > 0 ? p : p + (n - 1) * size) : NULL;
}

HELPER(helper_string)
{
    HELPER_COUNT(cpu, string);
    (void)next;
    unsigned size = arg & 0xffu;
    unsigned op = S_OP(arg), rep = S_REP(arg);
    int d = (cpu->eflags & FL_DF) ? -1 : 1;
    int32_t step = d * (int32_t)size;
    uint32_t src_base = cpu->seg[S_SEG(arg)].base;
    uint32_t dst_base = cpu->seg[S_ES].base;
    struct sregs s;
    load_sregs(cpu, arg, &s);
    cpu->bt->stats.string_ops++;

    if (rep != REP_NONE && s.cx == 0)
        return;
    uint32_t todo = rep != REP_NONE ? s.cx : 1;
    while (todo) {
        /* a long REP yields to a stop request; EIP still names this
         * instruction, which resumes where the registers say */
        if (!__atomic_load_n(&cpu->run, __ATOMIC_RELAXED))
            bt_leave(cpu, EXIT_R_RESUME);
        uint32_t src = src_base + s.si, dst = dst_base + s.di;
        uint32_t n = todo;
        /* Fast runs: MOVS/STOS within one page on each side, not wrapping
         * the 16-bit address space. */
        if ((op == STR_MOVS || op == STR_STOS) && n > 1 && s.amask == 0xffffffffu) {
            uint32_t m = run_in_page(dst, d, size);
            if (op == STR_MOVS && run_in_page(src, d, size) < m)
                m = run_in_page(src, d, size);
            if (m < n)
                n = m;
            if (n > 1) {
                uint8_t *pd = chunk_ptr(cpu, dst, n, size, d, ACC_WRITE);
                uint8_t *ps = op == STR_MOVS
                                  ? chunk_ptr(cpu, src, n, size, d, ACC_READ)
                                  : NULL;
                if (pd && (op == STR_STOS || ps)) {
                    uint32_t bytes = n * size;
                    uint8_t *lo_d = d > 0 ? pd : pd - (n - 1) * size;
                    if (op == STR_STOS) {
                        uint32_t v = cpu->regs[R_EAX];
                        if (size == 1) {
                            memset(lo_d, (int)(v & 0xff), bytes);
                        } else {
                            for (uint32_t i = 0; i < n; i++)
                                memcpy(lo_d + i * size, &v, size);
                        }
                    } else {
                        uint8_t *lo_s = d > 0 ? ps : ps - (n - 1) * size;
                        bool forward_overlap = d > 0 && pd > ps && pd < ps + bytes;
                        bool backward_overlap = d < 0 && pd < ps && pd + bytes > ps;
                        if (forward_overlap || backward_overlap) {
                            /* element by element, as the CPU does */
                            for (uint32_t i = 0; i < n; i++)
                                memmove(pd + (int32_t)i * step,
                                        ps + (int32_t)i * step, size);
                        } else {
                            memmove(lo_d, lo_s, bytes);
                        }
                    }
                    s.di += (uint32_t)(step * (int32_t)n);
                    if (op == STR_MOVS)
                        s.si += (uint32_t)(step * (int32_t)n);
                    if (rep != REP_NONE)
                        s.cx -= n;
                    todo -= n;
                    store_sregs(cpu, &s);
                    continue;
                }
            }
        }
        /* REPE/REPNE CMPS and SCAS: compare a page-bounded run on host
         * pointers, stop at the first element that ends the repeat */
        if ((op == STR_CMPS || op == STR_SCAS) && rep >= REP_REPE && n > 1 &&
            s.amask == 0xffffffffu) {
            uint32_t m = run_in_page(dst, d, size);
            if (op == STR_CMPS && run_in_page(src, d, size) < m)
                m = run_in_page(src, d, size);
            if (m < n)
                n = m;
            uint8_t *pd = chunk_ptr(cpu, dst, n, size, d, ACC_READ);
            uint8_t *ps = op == STR_CMPS ? chunk_ptr(cpu, src, n, size, d, ACC_READ)
                                         : NULL;
            if (n > 1 && pd && (op == STR_SCAS || ps)) {
                uint32_t k = 0, a = 0, b = 0;
                bool stop = false;
                if (op == STR_CMPS && rep == REP_REPE && d > 0) {
                    /* skip the equal prefix a word at a time */
                    uint32_t bytes = n * size, i = 0;
                    while (i + 8 <= bytes) {
                        uint64_t x, y;
                        memcpy(&x, ps + i, 8);
                        memcpy(&y, pd + i, 8);
                        if (x != y)
                            break;
                        i += 8;
                    }
                    k = i / size;
                    if (k == n)
                        k = n - 1; /* the last element sets the flags */
                }
                while (k < n && !stop) {
                    b = 0;
                    memcpy(&b, pd + (int32_t)k * step, size);
                    if (op == STR_CMPS) {
                        a = 0;
                        memcpy(&a, ps + (int32_t)k * step, size);
                    } else {
                        a = cpu->regs[R_EAX];
                    }
                    uint32_t mask = size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
                    bool equal = ((a ^ b) & mask) == 0;
                    stop = rep == REP_REPE ? !equal : equal;
                    k++;
                }
                cpu->eflags = (cpu->eflags & ~FL_ARITH) | cmp_flags(a, b, size);
                s.di += (uint32_t)(step * (int32_t)k);
                if (op == STR_CMPS)
                    s.si += (uint32_t)(step * (int32_t)k);
                s.cx -= k;
                todo -= k;
                store_sregs(cpu, &s);
                if (stop)
                    break;
                continue;
            }
            n = todo;
        }
        /* one element through the checked accessors */
        uint32_t v, a;
        switch (op) {
        case STR_MOVS:
            v = mmu_read(cpu, src, size);
            mmu_write(cpu, dst, size, v);
            s.si += (uint32_t)step;
            s.di += (uint32_t)step;
            break;
        case STR_STOS:
            mmu_write(cpu, dst, size, cpu->regs[R_EAX]);
            s.di += (uint32_t)step;
            break;
        case STR_LODS:
            v = mmu_read(cpu, src, size);
            helper_set_reg(cpu, R_EAX, size, false, v);
            s.si += (uint32_t)step;
            break;
        case STR_CMPS:
            a = mmu_read(cpu, src, size);
            v = mmu_read(cpu, dst, size);
            cpu->eflags = (cpu->eflags & ~FL_ARITH) | cmp_flags(a, v, size);
            s.si += (uint32_t)step;
            s.di += (uint32_t)step;
            break;
        case STR_SCAS:
            v = mmu_read(cpu, dst, size);
            cpu->eflags = (cpu->eflags & ~FL_ARITH) |
                          cmp_flags(cpu->regs[R_EAX], v, size);
            s.di += (uint32_t)step;
            break;
        case STR_INS: {
            uint16_t port = cpu->regs[R_EDX] & 0xffffu;
            if (!cpu_io_allowed(cpu, port, size))
                bt_raise(cpu, EXC_GP, 0, true);
            /* check the destination before the port read has effects */
            mmu_translate(cpu, dst, ACC_WRITE | size);
            v = cpu->host->io_in(cpu->host->opaque, port, size);
            mmu_write(cpu, dst, size, v);
            s.di += (uint32_t)step;
            break;
        }
        case STR_OUTS: {
            uint16_t port = cpu->regs[R_EDX] & 0xffffu;
            if (!cpu_io_allowed(cpu, port, size))
                bt_raise(cpu, EXC_GP, 0, true);
            v = mmu_read(cpu, src, size);
            cpu->host->io_out(cpu->host->opaque, port, size, v);
            s.si += (uint32_t)step;
            break;
        }
        }
        s.si &= s.amask;
        s.di &= s.amask;
        todo--;
        if (rep != REP_NONE)
            s.cx = (s.cx - 1) & s.amask;
        store_sregs(cpu, &s);
        if ((op == STR_CMPS || op == STR_SCAS) && rep != REP_NONE) {
            bool zf = cpu->eflags & FL_ZF;
            if ((rep == REP_REPE && !zf) || (rep == REP_REPNE && zf))
                break;
        }
    }
}
