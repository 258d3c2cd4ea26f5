/* The compute kernels, in portable C (no libc) so this one file is both the
 * i386 compute guest's workload and perf/'s native x86-64 program. Each is
 * sized to take about 20-80 ms natively on the reference host. Checksums
 * use uint32_t arithmetic only, so they match across the two builds. Each
 * calls compute_mark() every ~10-50 us of native time, at points fixed by
 * its work, outside its innermost loops (kernels.h says why). */
#include <stddef.h>

#include "kernels.h"

/* One input generator for every kernel (the Numerical Recipes LCG); the
 * output is folded because an LCG's low bits are weak. */
static uint32_t lcg_next(uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    return *state ^ (*state >> 16);
}

/* Folds one value into a running checksum (FNV-1a step plus a shift so
 * every input bit reaches the low bits). */
static uint32_t mix(uint32_t h, uint32_t v)
{
    h = (h ^ v) * 0x01000193u;
    return h ^ (h >> 15);
}

/* ---- timing marks (see struct compute_result) ---- */

/* The run being timed, or NULL: the kernels run untimed. */
static struct seg_log {
    uint64_t (*clock)(void);
    uint32_t marks;   /* compute_mark calls so far */
    uint32_t n;       /* entries in end[] */
    uint32_t stride;  /* marks per entry: doubles each time end[] fills */
    uint32_t pending; /* marks since the last entry */
    uint64_t end[COMPUTE_MAX_SEGS]; /* clock at each segment's end */
} seg_run, *seg_log;

/* Two neighbours become one segment, so end[] has room again. */
static void seg_merge(struct seg_log *l)
{
    for (uint32_t i = 0; i < COMPUTE_MAX_SEGS / 2; i++)
        l->end[i] = l->end[2 * i + 1];
    l->n = COMPUTE_MAX_SEGS / 2;
    l->stride *= 2;
}

/* Ends a segment. The kernels call it at points that depend only on the
 * work done, so every run is cut in the same places. */
static void compute_mark(void)
{
    struct seg_log *l = seg_log;

    if (!l)
        return;
    l->marks++;
    if (++l->pending < l->stride)
        return;
    l->pending = 0;
    if (l->n == COMPUTE_MAX_SEGS) {
        /* This mark was an odd entry at the old stride: it now falls
         * inside a merged segment, which ends half a stride later. */
        seg_merge(l);
        l->pending = l->stride / 2;
        return;
    }
    l->end[l->n++] = l->clock();
}

/* Where a segment of a loop over [.., limit) that starts at i ends. The
 * segmented loops count in size_t, which cannot wrap: x86-64 then keeps
 * one induction variable, as in the loop without segments. */
static size_t seg_end(size_t i, size_t len, size_t limit)
{
    return limit - i < len ? limit : i + len;
}

/* ---- crc32: table-driven CRC-32 (IEEE) over 1 MiB, chained passes ---- */

#define CRC_BYTES (1u << 20)
#define CRC_PASSES 12
#define CRC_SEG_BYTES (8u << 10) /* per timing mark; divides CRC_BYTES */

static uint8_t crc_buf[CRC_BYTES];
static uint32_t crc_table[256];

static void crc_make_table(void)
{
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[n] = c;
    }
}

/* Not inlined: its loop compiles as before there were timing marks. */
__attribute__((noinline)) static uint32_t crc_update(uint32_t crc,
                                                     const uint8_t *p,
                                                     uint32_t len)
{
    crc = ~crc;
    while (len--)
        crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

static uint32_t run_crc32(void)
{
    uint32_t seed = 1;

    crc_make_table();
    for (size_t seg = 0; seg < CRC_BYTES; seg += 2 * CRC_SEG_BYTES) {
        for (size_t i = seg; i < seg + 2 * CRC_SEG_BYTES; i++)
            crc_buf[i] = (uint8_t)(lcg_next(&seed) >> 8);
        compute_mark();
    }
    /* Each pass continues the previous CRC, so no pass can be skipped;
     * CRCs of consecutive blocks chain to the CRC of the whole. */
    uint32_t crc = 0;
    for (int pass = 0; pass < CRC_PASSES; pass++) {
        for (uint32_t seg = 0; seg < CRC_BYTES; seg += CRC_SEG_BYTES) {
            crc = crc_update(crc, crc_buf + seg, CRC_SEG_BYTES);
            compute_mark();
        }
    }
    return crc;
}

/* ---- sieve: Eratosthenes up to 4M, limit shifted a little per rep ---- */

#define SIEVE_LIMIT (4u << 20)
#define SIEVE_REPS 3
/* Per timing mark: bytes cleared, composites marked (whatever the
 * stride, a store costs about the same), numbers counted. */
#define SIEVE_SEG_CLEAR (16u << 10)
#define SIEVE_SEG_MARKS (16u << 10)
#define SIEVE_SEG_COUNT (16u << 10)

static uint8_t sieve_composite[SIEVE_LIMIT];

static uint32_t run_sieve(void)
{
    uint32_t h = 0;

    for (uint32_t rep = 0; rep < SIEVE_REPS; rep++) {
        uint32_t limit = SIEVE_LIMIT - rep * 1000;
        /* Whole segments, then the rest: with a constant count the
         * compiler clears a word at a time (x86-64 did so before the
         * marks; i386, which cleared bytes, now does too). */
        size_t seg = 0;
        for (; limit - seg >= SIEVE_SEG_CLEAR; seg += SIEVE_SEG_CLEAR) {
            uint8_t *p = sieve_composite + seg;
            for (size_t i = 0; i < SIEVE_SEG_CLEAR; i++)
                p[i] = 0;
            compute_mark();
        }
        for (size_t i = seg; i < limit; i++)
            sieve_composite[i] = 0;
        /* A mark after every SIEVE_SEG_MARKS stores, across primes. */
        uint32_t budget = SIEVE_SEG_MARKS;
        for (uint32_t i = 2; i * i < limit; i++) {
            if (sieve_composite[i])
                continue;
            for (uint32_t j = i * i; j < limit;) {
                uint32_t left = (limit - j + i - 1) / i; /* stores to go */
                uint32_t n = left < budget ? left : budget;
                for (uint32_t end = j + n * i; j < end; j += i)
                    sieve_composite[j] = 1;
                budget -= n;
                if (budget == 0) {
                    compute_mark();
                    budget = SIEVE_SEG_MARKS;
                }
            }
        }
        uint32_t count = 0, sum = 0;
        for (size_t seg = 2; seg < limit; seg += SIEVE_SEG_COUNT) {
            size_t end = seg_end(seg, SIEVE_SEG_COUNT, limit);
            for (size_t i = seg; i < end; i++) {
                if (!sieve_composite[i]) {
                    count++;
                    sum += (uint32_t)i;
                }
            }
            compute_mark();
        }
        h = mix(mix(h, count), sum);
    }
    return h;
}

/* ---- quicksort: 1M random uint32, median-of-3 Hoare partitioning ---- */

#define SORT_COUNT (1u << 20)
#define SORT_SMALL 16 /* below this, insertion sort */
/* Per timing mark: elements generated or hashed; elements scanned by the
 * partitions and insertion sorts. */
#define SORT_SEG_FILL (16u << 10)
#define SORT_SEG_SCAN (4u << 10)

static uint32_t sort_data[SORT_COUNT];
static uint32_t sort_scanned; /* since the last mark */

/* n more elements sorted or scanned: a mark if a segment's worth. */
static void sort_account(uint32_t n)
{
    sort_scanned += n;
    if (sort_scanned >= SORT_SEG_SCAN) {
        compute_mark();
        sort_scanned = 0;
    }
}

static void insertion_sort(uint32_t *a, uint32_t n)
{
    for (uint32_t i = 1; i < n; i++) {
        uint32_t v = a[i], j = i;
        for (; j > 0 && a[j - 1] > v; j--)
            a[j] = a[j - 1];
        a[j] = v;
    }
}

static void swap_u32(uint32_t *a, uint32_t *b)
{
    uint32_t t = *a;
    *a = *b;
    *b = t;
}

/* Hoare partition of a[0..n-1] (a[0] <= pivot <= a[n-1]): returns j such
 * that a[0..j] <= pivot <= a[j+1..n-1]. Inlined twice, with and without
 * timing marks inside, so that the short partitions keep the plain loop. */
__attribute__((always_inline)) static inline uint32_t
partition(uint32_t *a, uint32_t n, uint32_t pivot, bool marks)
{
    uint32_t i = 0, j = n - 1;

    if (!marks) {
        for (;;) {
            do
                i++;
            while (a[i] < pivot);
            do
                j--;
            while (a[j] > pivot);
            if (i >= j)
                break;
            swap_u32(&a[i], &a[j]);
        }
        sort_account(n);
        return j;
    }
    /* i - j grows by one per element scanned, from 1 - n to >= 0 when
     * the scans cross, so one compare per swap both ends the loop and
     * finds the marks: the segment began where i - j was base, it ends
     * SORT_SEG_SCAN elements on (or at the crossing, if sooner). */
    int32_t base = 1 - (int32_t)n - (int32_t)sort_scanned;
    int32_t next = base + (int32_t)SORT_SEG_SCAN;
    if (next > 0)
        next = 0;
    for (;;) {
        do
            i++;
        while (a[i] < pivot);
        do
            j--;
        while (a[j] > pivot);
        if ((int32_t)i - (int32_t)j >= next) {
            if (i >= j)
                break;
            compute_mark();
            base = (int32_t)i - (int32_t)j;
            next = base + (int32_t)SORT_SEG_SCAN;
            if (next > 0)
                next = 0;
        }
        swap_u32(&a[i], &a[j]);
    }
    sort_scanned = 0;
    sort_account((uint32_t)((int32_t)i - (int32_t)j - base));
    return j;
}

/* Recurses into the smaller side and loops on the larger, so the stack
 * stays O(log n) deep whatever the input. */
static void quick_sort(uint32_t *a, uint32_t n)
{
    while (n > SORT_SMALL) {
        uint32_t mid = n / 2;
        /* Order a[0] <= a[mid] <= a[n-1]: both ends then stop the scans. */
        if (a[mid] < a[0])
            swap_u32(&a[mid], &a[0]);
        if (a[n - 1] < a[0])
            swap_u32(&a[n - 1], &a[0]);
        if (a[n - 1] < a[mid])
            swap_u32(&a[n - 1], &a[mid]);
        uint32_t pivot = a[mid];
        /* Only a partition longer than a segment needs marks inside. */
        uint32_t j = n > SORT_SEG_SCAN ? partition(a, n, pivot, true)
                                       : partition(a, n, pivot, false);
        /* a[0..j] <= pivot <= a[j+1..n-1], both sides non-empty. */
        uint32_t left = j + 1, right = n - left;
        if (left < right) {
            quick_sort(a, left);
            a += left;
            n = right;
        } else {
            quick_sort(a + left, right);
            n = left;
        }
    }
    insertion_sort(a, n);
    sort_account(n);
}

static uint32_t run_quicksort(void)
{
    uint32_t seed = 12345;

    for (size_t seg = 0; seg < SORT_COUNT; seg += SORT_SEG_FILL) {
        for (size_t i = seg; i < seg + SORT_SEG_FILL; i++)
            sort_data[i] = lcg_next(&seed);
        compute_mark();
    }
    sort_scanned = 0;
    quick_sort(sort_data, SORT_COUNT);

    uint32_t h = 0, out_of_order = 0;
    for (size_t seg = 0; seg < SORT_COUNT; seg += SORT_SEG_FILL) {
        for (size_t i = seg; i < seg + SORT_SEG_FILL; i++) {
            if (i > 0 && sort_data[i - 1] > sort_data[i])
                out_of_order++;
            h = mix(h, sort_data[i]);
        }
        compute_mark();
    }
    /* A sorting bug changes the checksum even if the hash were to collide. */
    return h ^ out_of_order * 0x9E3779B9u;
}

/* ---- matmul: 160x160 uint32 matrix product (wrapping), a few reps ---- */

#define MAT_N 160
#define MAT_REPS 48
/* Rows per timing mark: of the product; set up or hashed (cheaper). */
#define MAT_SEG_ROWS 4
#define MAT_SEG_ROWS_CHEAP 32

static uint32_t mat_a[MAT_N][MAT_N], mat_b[MAT_N][MAT_N], mat_c[MAT_N][MAT_N];

static uint32_t run_matmul(void)
{
    uint32_t seed = 777, h = 0;

    for (int i = 0; i < MAT_N; i++) {
        for (int j = 0; j < MAT_N; j++) {
            mat_a[i][j] = lcg_next(&seed) & 0xffff;
            mat_b[i][j] = lcg_next(&seed) & 0xffff;
        }
        if (i % MAT_SEG_ROWS_CHEAP == MAT_SEG_ROWS_CHEAP - 1)
            compute_mark();
    }
    for (int rep = 0; rep < MAT_REPS; rep++) {
        mat_a[rep][rep] += (uint32_t)rep + 1; /* each rep computes anew */
        for (int i = 0; i < MAT_N; i++) {
            for (int j = 0; j < MAT_N; j++)
                mat_c[i][j] = 0;
            for (int k = 0; k < MAT_N; k++) {
                uint32_t aik = mat_a[i][k];
                for (int j = 0; j < MAT_N; j++)
                    mat_c[i][j] += aik * mat_b[k][j];
            }
            if (i % MAT_SEG_ROWS == MAT_SEG_ROWS - 1)
                compute_mark();
        }
        for (int i = 0; i < MAT_N; i++) {
            for (int j = 0; j < MAT_N; j++)
                h = mix(h, mat_c[i][j]);
            if (i % MAT_SEG_ROWS_CHEAP == MAT_SEG_ROWS_CHEAP - 1)
                compute_mark();
        }
    }
    return h;
}

/* ---- string: rep movs / rep stos / repe cmps over varied blocks ---- */

/* The string instructions themselves are the workload, so they are
 * written out. The operands are pointer-sized registers ("D", "S", "c"),
 * which the same text names EDI/ESI/ECX on i386 and RDI/RSI/RCX on
 * x86-64; other targets get C loops doing the same work. */
#if defined(__i386__) || defined(__x86_64__)
static void copy_bytes(uint8_t *dst, const uint8_t *src, size_t n)
{
    __asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
}

static void copy_dwords(uint8_t *dst, const uint8_t *src, size_t ndwords)
{
    __asm__ volatile("rep movsl"
                     : "+D"(dst), "+S"(src), "+c"(ndwords) : : "memory");
}

static void fill_dwords(uint8_t *dst, uint32_t v, size_t ndwords)
{
    __asm__ volatile("rep stosl" : "+D"(dst), "+c"(ndwords) : "a"(v) : "memory");
}

/* Index of the first differing byte, or n if the blocks are equal. */
static size_t first_difference(const uint8_t *a, const uint8_t *b, size_t n)
{
    size_t left = n;
    _Bool differ;

    if (n == 0)
        return 0;
    __asm__ volatile("repe cmpsb"
                     : "+S"(a), "+D"(b), "+c"(left), "=@ccne"(differ)
                     :
                     : "memory");
    /* On a mismatch the count has already stepped past the bad byte. */
    return differ ? n - left - 1 : n;
}
#else
static void copy_bytes(uint8_t *dst, const uint8_t *src, size_t n)
{
    while (n--)
        *dst++ = *src++;
}

static void copy_dwords(uint8_t *dst, const uint8_t *src, size_t ndwords)
{
    copy_bytes(dst, src, ndwords * 4);
}

static void fill_dwords(uint8_t *dst, uint32_t v, size_t ndwords)
{
    for (; ndwords; ndwords--, dst += 4) {
        dst[0] = (uint8_t)v; /* little-endian, as rep stosl stores */
        dst[1] = (uint8_t)(v >> 8);
        dst[2] = (uint8_t)(v >> 16);
        dst[3] = (uint8_t)(v >> 24);
    }
}

static size_t first_difference(const uint8_t *a, const uint8_t *b, size_t n)
{
    size_t i = 0;
    while (i < n && a[i] == b[i])
        i++;
    return i;
}
#endif

#define STR_MAX_LEN (64u << 10)
#define STR_SLACK 64 /* room for the misalignment offsets */
#define STR_ITERS 2500
#define STR_SEG_BYTES (8u << 10) /* generated or hashed per timing mark */

static uint8_t str_src[STR_MAX_LEN + STR_SLACK];
static uint8_t str_dst[STR_MAX_LEN + STR_SLACK];

static uint32_t run_string(void)
{
    uint32_t seed = 4242, h = 0, since_mark = 0;

    for (size_t seg = 0; seg < sizeof(str_src); seg += STR_SEG_BYTES) {
        size_t end = seg_end(seg, STR_SEG_BYTES, sizeof(str_src));
        for (size_t i = seg; i < end; i++)
            str_src[i] = (uint8_t)(lcg_next(&seed) >> 8);
        compute_mark();
    }
    for (uint32_t iter = 0; iter < STR_ITERS; iter++) {
        uint32_t r = lcg_next(&seed);
        /* Mostly large blocks, one in four short (setup-dominated). */
        uint32_t len = (r & 3) == 0 ? (r >> 8) % 256 + 1
                                    : (r >> 8) % STR_MAX_LEN + 1;
        uint32_t src_off = (r >> 2) & 15, dst_off = (r >> 6) & 15;
        uint8_t *dst = str_dst + dst_off;
        const uint8_t *src = str_src + src_off;

        /* One dword more than the copy overwrites, so dst[len] is fill. */
        fill_dwords(dst, r, len / 4 + 1);
        if (iter & 1) {
            copy_dwords(dst, src, len / 4);
            copy_bytes(dst + (len & ~3u), src + (len & ~3u), len & 3);
        } else {
            copy_bytes(dst, src, len);
        }
        /* Plant one difference; the compare must scan up to it. */
        uint32_t pos = lcg_next(&seed) % len;
        dst[pos] ^= 0x5a;
        uint32_t found = (uint32_t)first_difference(src, dst, len);
        h = mix(mix(h, found), dst[len / 2]);
        h = mix(h, dst[len]);
        /* A mark per STR_SEG_BYTES or more of blocks (a short one takes
         * a fraction of a microsecond). */
        since_mark += len;
        if (since_mark >= STR_SEG_BYTES) {
            compute_mark();
            since_mark = 0;
        }
    }
    for (size_t seg = 0; seg < sizeof(str_dst); seg += STR_SEG_BYTES) {
        size_t end = seg_end(seg, STR_SEG_BYTES, sizeof(str_dst));
        for (size_t i = seg; i < end; i++)
            h = mix(h, str_dst[i]);
        compute_mark();
    }
    return h;
}

/* ---- interp: a switch-dispatched bytecode machine running Collatz ---- */

enum interp_op {
    OP_LOADI, /* r[a] = imm */
    OP_MOV,   /* r[a] = r[b] */
    OP_ADD,   /* r[a] = r[b] + r[c] */
    OP_ADDI,  /* r[a] = r[b] + imm */
    OP_MULI,  /* r[a] = r[b] * imm */
    OP_ANDI,  /* r[a] = r[b] & imm */
    OP_SHRI,  /* r[a] = r[b] >> imm */
    OP_JMP,   /* pc = imm */
    OP_JZ,    /* if r[a] == 0: pc = imm */
    OP_JEQ,   /* if r[a] == r[b]: pc = imm */
    OP_JLT,   /* if r[a] < r[b]: pc = imm */
    OP_HALT,
};

struct interp_insn {
    uint8_t op, a, b, c;
    uint32_t imm;
};

#define INTERP_LIMIT 30000 /* Collatz trajectories of 1 .. LIMIT-1 */

/* Total Collatz steps of every n below LIMIT (r3), and a running hash of
 * the per-n totals (r5). Not const: the program is data to the machine. */
static struct interp_insn interp_program[] = {
    /*  0 */ {OP_LOADI, 0, 0, 0, 1},           /* n = 1 */
    /*  1 */ {OP_LOADI, 1, 0, 0, INTERP_LIMIT}, /* limit */
    /*  2 */ {OP_LOADI, 3, 0, 0, 0},           /* steps = 0 */
    /*  3 */ {OP_LOADI, 6, 0, 0, 1},           /* one = 1 */
    /*  4 */ {OP_MOV, 2, 0, 0, 0},             /* outer: x = n */
    /*  5 */ {OP_JEQ, 2, 6, 0, 14},            /* inner: x == 1: next n */
    /*  6 */ {OP_ANDI, 4, 2, 0, 1},            /* odd = x & 1 */
    /*  7 */ {OP_ADDI, 3, 3, 0, 1},            /* steps++ */
    /*  8 */ {OP_JZ, 4, 0, 0, 12},             /* even: halve */
    /*  9 */ {OP_MULI, 2, 2, 0, 3},            /* x = 3x + 1 */
    /* 10 */ {OP_ADDI, 2, 2, 0, 1},
    /* 11 */ {OP_JMP, 0, 0, 0, 5},
    /* 12 */ {OP_SHRI, 2, 2, 0, 1},            /* x >>= 1 */
    /* 13 */ {OP_JMP, 0, 0, 0, 5},
    /* 14 */ {OP_MULI, 5, 5, 0, 31},           /* hash = hash * 31 + steps */
    /* 15 */ {OP_ADD, 5, 5, 3, 0},
    /* 16 */ {OP_ADDI, 0, 0, 0, 1},            /* n++ */
    /* 17 */ {OP_JLT, 0, 1, 0, 4},             /* n < limit: outer */
    /* 18 */ {OP_HALT, 0, 0, 0, 0},
};

#define INTERP_REGS 8
/* Instructions per timing mark, at least: the first taken JLT (the outer
 * loop's back edge, one per n) after as many ends a segment. */
#define INTERP_SEG_INSNS 12000

/* Runs from *pc until HALT (sets *halted) or a taken JLT after
 * INTERP_SEG_INSNS (sets *pc to go on from); returns the number of
 * instructions executed. Returning there, not calling compute_mark, keeps
 * the dispatch loop's code as it was without marks (a call in the switch
 * costs an instruction per dispatch on i386). */
static uint32_t interp_execute(const struct interp_insn *prog, uint32_t *r,
                               uint32_t *pc_io, bool *halted)
{
    uint32_t pc = *pc_io, executed = 0;

    for (;;) {
        const struct interp_insn *in = &prog[pc++];
        executed++;
        switch (in->op) {
        case OP_LOADI: r[in->a] = in->imm; break;
        case OP_MOV: r[in->a] = r[in->b]; break;
        case OP_ADD: r[in->a] = r[in->b] + r[in->c]; break;
        case OP_ADDI: r[in->a] = r[in->b] + in->imm; break;
        case OP_MULI: r[in->a] = r[in->b] * in->imm; break;
        case OP_ANDI: r[in->a] = r[in->b] & in->imm; break;
        case OP_SHRI: r[in->a] = r[in->b] >> (in->imm & 31); break;
        case OP_JMP: pc = in->imm; break;
        case OP_JZ: if (r[in->a] == 0) pc = in->imm; break;
        case OP_JEQ: if (r[in->a] == r[in->b]) pc = in->imm; break;
        case OP_JLT:
            if (r[in->a] < r[in->b]) {
                pc = in->imm;
                if (executed >= INTERP_SEG_INSNS) {
                    *pc_io = pc;
                    return executed;
                }
            }
            break;
        case OP_HALT:
            *halted = true;
            return executed;
        default: /* cannot happen */
            *halted = true;
            return executed ^ 0xdead0000u;
        }
    }
}

static uint32_t run_interp(void)
{
    uint32_t r[INTERP_REGS] = {0};
    uint32_t pc = 0, executed = 0;
    bool halted = false;
    while (!halted) {
        executed += interp_execute(interp_program, r, &pc, &halted);
        compute_mark();
    }
    return mix(mix(mix(0, executed), r[3]), r[5]);
}

/* ---- bignum: chained Montgomery products of 1024-bit numbers ----
 * The shape of what dominates a Linux boot's kernel time under tpvm and
 * QEMU alike: the RSA and DH self-tests, whose limb loops are generic C
 * (i386 Linux's mpi has no asm multiply), a 32x32->64 product taken as
 * four 16x16 ones, and more live values than i386 has registers, so the
 * loop counter and operands sit in stack slots. */

#define BN_LIMBS 32
#define BN_ROUNDS 3000

/* *hi:*lo = u * v from 16-bit halves, with no 64-bit type. */
static inline void bn_mul_halves(uint32_t u, uint32_t v, uint32_t *hi,
                                 uint32_t *lo)
{
    uint32_t ul = u & 0xffff, uh = u >> 16, vl = v & 0xffff, vh = v >> 16;
    uint32_t x0 = ul * vl, x1 = ul * vh, x2 = uh * vl, x3 = uh * vh;
    x1 += x0 >> 16;
    x1 += x2;
    if (x1 < x2)
        x3 += 0x10000;
    *hi = x3 + (x1 >> 16);
    *lo = (x1 << 16) + (x0 & 0xffff);
}

/* The limb loops count a negative index up to zero over pointers to the
 * ends, as Linux's do; not inlined, each is one loop as there. */
#define BN_LOOP __attribute__((noipa, optimize("no-omit-frame-pointer")))

/* r[0..n) += s[0..n) * v; returns the carry out. */
BN_LOOP static uint32_t bn_addmul(uint32_t *r, const uint32_t *s, size_t n,
                                  uint32_t v)
{
    uint32_t carry = 0;
    ptrdiff_t j = -(ptrdiff_t)n;
    r += n;
    s += n;
    do {
        uint32_t hi, lo;
        bn_mul_halves(s[j], v, &hi, &lo);
        lo += carry;
        carry = (lo < carry) + hi;
        uint32_t x = r[j];
        lo += x;
        carry += lo < x;
        r[j] = lo;
    } while (++j);
    return carry;
}

/* r[0..n) -= s[0..n) * v; returns the borrow out. */
BN_LOOP static uint32_t bn_submul(uint32_t *r, const uint32_t *s, size_t n,
                                  uint32_t v)
{
    uint32_t borrow = 0;
    ptrdiff_t j = -(ptrdiff_t)n;
    r += n;
    s += n;
    do {
        uint32_t hi, lo;
        bn_mul_halves(s[j], v, &hi, &lo);
        lo += borrow;
        borrow = (lo < borrow) + hi;
        uint32_t x = r[j];
        uint32_t d = x - lo;
        borrow += d > x;
        r[j] = d;
    } while (++j);
    return borrow;
}

/* The limb count, not a constant to the compiler: Linux's loops take it
 * as an argument. */
size_t bn_limbs = BN_LIMBS;

static uint32_t bn_m[BN_LIMBS], bn_x[BN_LIMBS], bn_y[BN_LIMBS];
static uint32_t bn_t[2 * BN_LIMBS + 1];

/* res[0..n] (n + 1 limbs) >= m? */
static bool bn_not_below_m(const uint32_t *res, size_t n)
{
    if (res[n])
        return true;
    for (size_t i = n; i-- > 0;)
        if (res[i] != bn_m[i])
            return res[i] > bn_m[i];
    return true;
}

/* x = x * y / 2^(32n) mod m (Montgomery); minv = -1/m mod 2^32. */
static void bn_mont_mul(uint32_t minv)
{
    const size_t n = bn_limbs;
    for (size_t i = 0; i < 2 * n + 1; i++)
        bn_t[i] = 0;
    for (size_t i = 0; i < n; i++)
        bn_t[i + n] = bn_addmul(bn_t + i, bn_x, n, bn_y[i]);
    for (size_t i = 0; i < n; i++) {
        uint32_t c = bn_addmul(bn_t + i, bn_m, n, bn_t[i] * minv);
        for (size_t j = i + n; c && j < 2 * n + 1; j++) {
            bn_t[j] += c;
            c = bn_t[j] < c;
        }
    }
    /* the result, below 2m, loses one m when it is not below m */
    uint32_t *res = bn_t + n;
    if (bn_not_below_m(res, n))
        res[n] -= bn_submul(res, bn_m, n, 1);
    for (size_t i = 0; i < n; i++)
        bn_x[i] = res[i];
}

static uint32_t run_bignum(void)
{
    uint32_t seed = 2024, h = 0;
    for (size_t i = 0; i < BN_LIMBS; i++) {
        bn_m[i] = lcg_next(&seed);
        bn_x[i] = lcg_next(&seed);
        bn_y[i] = lcg_next(&seed);
    }
    bn_m[0] |= 1;                   /* odd: Montgomery needs it */
    bn_m[BN_LIMBS - 1] |= 1u << 31; /* full size */
    bn_x[BN_LIMBS - 1] >>= 1;       /* x, y below m */
    bn_y[BN_LIMBS - 1] >>= 1;
    uint32_t inv = bn_m[0]; /* Newton: each step doubles the good bits */
    for (int k = 0; k < 5; k++)
        inv *= 2 - bn_m[0] * inv;
    for (int round = 0; round < BN_ROUNDS; round++) {
        bn_mont_mul(0u - inv);
        h = mix(h, bn_x[round % BN_LIMBS]);
        compute_mark();
    }
    for (size_t i = 0; i < BN_LIMBS; i++)
        h = mix(h, bn_x[i]);
    return h;
}

const struct compute_kernel compute_kernels[] = {
    {"crc32", run_crc32},
    {"sieve", run_sieve},
    {"quicksort", run_quicksort},
    {"matmul", run_matmul},
    {"string", run_string},
    {"interp", run_interp},
    {"bignum", run_bignum},
};

const unsigned compute_kernel_count = COMPUTE_KERNELS;

_Static_assert(sizeof(compute_kernels) / sizeof(compute_kernels[0]) ==
                   COMPUTE_KERNELS,
               "COMPUTE_KERNELS counts compute_kernels[]");

/* Per kernel: each segment's fewest cycles so far, the marks of a run. */
static uint64_t seg_best[COMPUTE_KERNELS][COMPUTE_MAX_SEGS];
static uint32_t seg_marks[COMPUTE_KERNELS];

/* Run rep of kernel ki, timed: its segments' cycles lower seg_best[ki]
 * (the first run sets it). False if the run differed from the first. */
static bool run_timed(unsigned ki, unsigned rep, uint64_t (*clock)(void),
                      struct compute_result *r)
{
    struct seg_log *l = &seg_run;
    uint64_t *best = seg_best[ki];

    l->clock = clock;
    l->marks = l->n = l->pending = 0;
    l->stride = 1;
    seg_log = l;
    uint64_t start = clock();
    uint32_t check = compute_kernels[ki].run();
    uint64_t stop = clock();
    seg_log = NULL;
    if (l->n == COMPUTE_MAX_SEGS)
        seg_merge(l);
    l->end[l->n++] = stop; /* the rest of the run is the last segment */

    if (rep == 0) {
        r->check = check;
        r->segments = l->n;
        r->differs = COMPUTE_SAME;
        seg_marks[ki] = l->marks;
    } else if (check != r->check) {
        r->differs = COMPUTE_CHECK_DIFFERS;
        r->first = r->check;
        r->then = check;
        return false;
    } else if (l->marks != seg_marks[ki]) {
        r->differs = COMPUTE_MARKS_DIFFER; /* the segments do not match */
        r->first = seg_marks[ki];
        r->then = l->marks;
        return false;
    }
    for (uint32_t s = 0; s < l->n; s++) {
        uint64_t spent = l->end[s] - (s ? l->end[s - 1] : start);
        if (rep == 0 || spent < best[s])
            best[s] = spent;
    }
    return true;
}

bool compute_run_all(uint64_t (*clock)(void),
                     const struct compute_report *report)
{
    static struct compute_result results[COMPUTE_KERNELS];

    for (unsigned rep = 0; rep < COMPUTE_REPS; rep++) {
        bool last = rep == COMPUTE_REPS - 1;
        if (last && report->last_round)
            report->last_round();
        for (unsigned ki = 0; ki < COMPUTE_KERNELS; ki++) {
            struct compute_result *r = &results[ki];
            if (!run_timed(ki, rep, clock, r)) {
                report->result(&compute_kernels[ki], r);
                return false;
            }
            if (last) {
                r->cycles = 0;
                for (uint32_t s = 0; s < r->segments; s++)
                    r->cycles += seg_best[ki][s];
                report->result(&compute_kernels[ki], r);
            }
        }
    }
    return true;
}
