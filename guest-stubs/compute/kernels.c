/* The compute kernels, in portable C (no libc) so this one file is both the
 * i386 compute guest's workload and perf/'s native x86-64 program. Each is
 * sized to take about 20-80 ms natively on the reference host. Checksums
 * use uint32_t arithmetic only, so they match across the two builds. */
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

/* ---- crc32: table-driven CRC-32 (IEEE) over 1 MiB, chained passes ---- */

#define CRC_BYTES (1u << 20)
#define CRC_PASSES 12

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

static uint32_t crc_update(uint32_t crc, const uint8_t *p, uint32_t len)
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
    for (uint32_t i = 0; i < CRC_BYTES; i++)
        crc_buf[i] = (uint8_t)(lcg_next(&seed) >> 8);
    /* Each pass continues the previous CRC, so no pass can be skipped. */
    uint32_t crc = 0;
    for (int pass = 0; pass < CRC_PASSES; pass++)
        crc = crc_update(crc, crc_buf, CRC_BYTES);
    return crc;
}

/* ---- sieve: Eratosthenes up to 4M, limit shifted a little per rep ---- */

#define SIEVE_LIMIT (4u << 20)
#define SIEVE_REPS 3

static uint8_t sieve_composite[SIEVE_LIMIT];

static uint32_t run_sieve(void)
{
    uint32_t h = 0;

    for (uint32_t rep = 0; rep < SIEVE_REPS; rep++) {
        uint32_t limit = SIEVE_LIMIT - rep * 1000;
        for (uint32_t i = 0; i < limit; i++)
            sieve_composite[i] = 0;
        for (uint32_t i = 2; i * i < limit; i++) {
            if (sieve_composite[i])
                continue;
            for (uint32_t j = i * i; j < limit; j += i)
                sieve_composite[j] = 1;
        }
        uint32_t count = 0, sum = 0;
        for (uint32_t i = 2; i < limit; i++) {
            if (!sieve_composite[i]) {
                count++;
                sum += i;
            }
        }
        h = mix(mix(h, count), sum);
    }
    return h;
}

/* ---- quicksort: 1M random uint32, median-of-3 Hoare partitioning ---- */

#define SORT_COUNT (1u << 20)
#define SORT_SMALL 16 /* below this, insertion sort */

static uint32_t sort_data[SORT_COUNT];

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
        uint32_t i = 0, j = n - 1;
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
}

static uint32_t run_quicksort(void)
{
    uint32_t seed = 12345;

    for (uint32_t i = 0; i < SORT_COUNT; i++)
        sort_data[i] = lcg_next(&seed);
    quick_sort(sort_data, SORT_COUNT);

    uint32_t h = 0, out_of_order = 0;
    for (uint32_t i = 0; i < SORT_COUNT; i++) {
        if (i > 0 && sort_data[i - 1] > sort_data[i])
            out_of_order++;
        h = mix(h, sort_data[i]);
    }
    /* A sorting bug changes the checksum even if the hash were to collide. */
    return h ^ out_of_order * 0x9E3779B9u;
}

/* ---- matmul: 160x160 uint32 matrix product (wrapping), a few reps ---- */

#define MAT_N 160
#define MAT_REPS 48

static uint32_t mat_a[MAT_N][MAT_N], mat_b[MAT_N][MAT_N], mat_c[MAT_N][MAT_N];

static uint32_t run_matmul(void)
{
    uint32_t seed = 777, h = 0;

    for (int i = 0; i < MAT_N; i++) {
        for (int j = 0; j < MAT_N; j++) {
            mat_a[i][j] = lcg_next(&seed) & 0xffff;
            mat_b[i][j] = lcg_next(&seed) & 0xffff;
        }
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
        }
        for (int i = 0; i < MAT_N; i++)
            for (int j = 0; j < MAT_N; j++)
                h = mix(h, mat_c[i][j]);
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

static uint8_t str_src[STR_MAX_LEN + STR_SLACK];
static uint8_t str_dst[STR_MAX_LEN + STR_SLACK];

static uint32_t run_string(void)
{
    uint32_t seed = 4242, h = 0;

    for (uint32_t i = 0; i < sizeof(str_src); i++)
        str_src[i] = (uint8_t)(lcg_next(&seed) >> 8);
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
    }
    for (uint32_t i = 0; i < sizeof(str_dst); i++)
        h = mix(h, str_dst[i]);
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

/* Runs until HALT; returns the number of instructions executed. */
static uint32_t interp_execute(const struct interp_insn *prog, uint32_t *r)
{
    uint32_t pc = 0, executed = 0;

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
        case OP_JLT: if (r[in->a] < r[in->b]) pc = in->imm; break;
        case OP_HALT: return executed;
        default: return executed ^ 0xdead0000u; /* cannot happen */
        }
    }
}

static uint32_t run_interp(void)
{
    uint32_t r[INTERP_REGS] = {0};
    uint32_t executed = interp_execute(interp_program, r);
    return mix(mix(mix(0, executed), r[3]), r[5]);
}

const struct compute_kernel compute_kernels[] = {
    {"crc32", run_crc32},
    {"sieve", run_sieve},
    {"quicksort", run_quicksort},
    {"matmul", run_matmul},
    {"string", run_string},
    {"interp", run_interp},
};

const unsigned compute_kernel_count =
    sizeof(compute_kernels) / sizeof(compute_kernels[0]);

bool compute_run_best(const struct compute_kernel *k, uint64_t (*clock)(void),
                      uint64_t *cycles, uint32_t *check, uint32_t *other)
{
    uint64_t best = UINT64_MAX;
    for (unsigned r = 0; r < COMPUTE_REPS; r++) {
        uint64_t start = clock();
        uint32_t c = k->run();
        uint64_t spent = clock() - start;
        if (r > 0 && c != *check) {
            *other = c;
            return false;
        }
        *check = c;
        if (spent < best)
            best = spent;
    }
    *cycles = best;
    return true;
}
