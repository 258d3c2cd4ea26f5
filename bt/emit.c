/* Host code emission: thin wrappers over ZydisEncoderEncodeInstruction,
 * memoized because translation re-encodes the same few hundred host
 * instruction shapes (probe sequences, register moves) over and over.
 *
 * The memo holds templates: bytes Zydis produced for a request whose
 * displacement and immediate were replaced by their size class, plus where
 * those fields sit in the bytes (learned by decoding them once). A hit
 * copies the bytes and patches the fields, like a linker relocation.
 * Zydis picks its encoding form from the size class of each value (see
 * vclass), so every value of a class gets the same bytes but the field. */
#include "bt/emit.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "bt/internal.h"

/* A Linux boot uses ~4000 keys; ways keep two hot keys that share a
 * bucket from evicting each other on every block. */
#define MEMO_BITS 12
#define MEMO_WAYS 4

/* Header with prefixes, one word per operand, then the exact values. */
#define NOPS ZYDIS_ENCODER_MAX_OPERANDS
#define KEY_MAX (1 + 2 * NOPS)

/* Every prefix Zydis accepts fits 16 bits of the header word. */
#define PREFIX_SHIFT 27
_Static_assert((ZYDIS_ENCODABLE_PREFIXES & ~(0xffffull << PREFIX_SHIFT)) == 0,
               "encodable prefixes moved");

/* A request packed into the fields Zydis reads: words [0, nt) name the
 * template (values as size classes), [nt, ne) append the values. */
struct key {
    uint64_t w[KEY_MAX];
    unsigned nt, ne;
    unsigned nvar;          /* values: displacements and immediates */
    int64_t var[NOPS];
    bool var_imm[NOPS];     /* else a displacement */
    bool templ_ok;          /* no shape where patching is doubtful */
};

enum { SPACE_TEMPLATE, SPACE_EXACT };

/* Laid out so a hit on a key of up to 5 words reads one cache line (the
 * alignment on its own declaration: on "space, klen" it moved klen to the
 * next line, and every hit read two). */
struct memo_entry {
    _Alignas(64) uint8_t space;
    uint8_t klen;
    bool patch;    /* template space: bytes patchable; else look up exact */
    uint8_t len;
    uint8_t off[2], size[2]; /* field of each value; size 0: implied */
    uint8_t bytes[16];
    uint64_t key[KEY_MAX];
};

/* The memo is a pure cache of encoder output, identical for every
 * translator instance, so one process-wide table is correct. Hashes
 * sit apart from entries so probing a bucket touches one line. */
struct memo_table {
    uint64_t hash[1u << MEMO_BITS][MEMO_WAYS]; /* 0: empty way */
    uint8_t victim[1u << MEMO_BITS]; /* way to replace when full */
    struct memo_entry e[1u << MEMO_BITS][MEMO_WAYS];
};
static struct memo_table *memo_tab;
#define memo_hash (memo_tab->hash)
#define memo_victim (memo_tab->victim)
#define memo (memo_tab->e)
_Static_assert(offsetof(struct memo_entry, key) + 5 * sizeof(uint64_t) <= 64,
               "a 5-word key's entry spans two cache lines");

/* Built in place (padding is never read: the memo keys on fields), as a
 * local then copied out cost store-forwarding stalls on every operand. */
eop R(ZydisRegister r)
{
    return (eop){ .type = ZYDIS_OPERAND_TYPE_REGISTER, .reg.value = r };
}

eop I(int64_t v)
{
    return (eop){ .type = ZYDIS_OPERAND_TYPE_IMMEDIATE, .imm.s = v };
}

eop M(ZydisRegister base, ZydisRegister index, uint8_t scale, int64_t disp,
      uint16_t size)
{
    return (eop){ .type = ZYDIS_OPERAND_TYPE_MEMORY,
                  .mem = { .base = base, .index = index,
                           .scale = index == ZYDIS_REGISTER_NONE ? 0 : scale,
                           .displacement = disp, .size = size } };
}

eop MC(int64_t off, uint16_t size)
{
    return M(ZYDIS_REGISTER_R15, ZYDIS_REGISTER_NONE, 0, off, size);
}

/* On huge pages: ~4,000 keys of a Linux boot spread over 2 MiB of
 * entries, a host TLB miss per lookup with 4 KiB pages. */
static void memo_alloc(void)
{
    memo_tab = map_aligned(sizeof *memo_tab, PROT_READ | PROT_WRITE, 0);
    if (memo_tab) {
        madvise(memo_tab, sizeof *memo_tab, MADV_HUGEPAGE);
        return;
    }
    memo_tab = calloc(1, sizeof *memo_tab);
    if (!memo_tab) {
        fprintf(stderr, "tpvm: out of memory for the encoder memo\n");
        exit(6);
    }
}

void emit_init(struct emit *e, uint8_t *p, uint8_t *end)
{
    if (!memo_tab)
        memo_alloc();
    memset(e, 0, sizeof *e);
    e->start = e->p = p;
    e->end = end;
}

/* Everything Zydis 4 asks of a displacement or immediate value: its
 * smallest signed and unsigned widths, zero (no disp field unless base
 * is rbp/r13), one (shift-by-1 forms) and <= 15 (is4 immediates). */
static uint64_t vclass(int64_t v)
{
    uint64_t u = (uint64_t)v;
    unsigned s = v == (int8_t)v ? 0 : v == (int16_t)v ? 1 : v == (int32_t)v ? 2 : 3;
    unsigned z = u <= 0xff ? 0 : u <= 0xffff ? 1 : u <= 0xffffffff ? 2 : 3;
    return s | z << 2 | (uint64_t)(u == 0) << 4 | (uint64_t)(u == 1) << 5 |
           (uint64_t)(u <= 15) << 6;
}

static bool fits(uint64_t v, unsigned bits) { return v < (1ull << bits); }

/* Pack req into k; false when a field does not fit the packing (then
 * the request bypasses the memo and Zydis judges it alone). */
static bool make_key(const ZydisEncoderRequest *req, bool plain, struct key *k)
{
    if (!plain &&
        (req->evex.broadcast || req->evex.rounding || req->evex.sae ||
         req->evex.zeroing_mask || req->mvex.broadcast || req->mvex.conversion ||
         req->mvex.rounding || req->mvex.swizzle || req->mvex.sae ||
         req->mvex.eviction_hint))
        return false;
    if (!fits(req->mnemonic, 16) || !fits(req->machine_mode, 4) ||
        !fits(req->allowed_encodings, 8) || !fits(req->branch_type, 2) ||
        !fits(req->branch_width, 3) || !fits(req->address_size_hint, 2) ||
        !fits(req->operand_size_hint, 3) || req->operand_count > NOPS ||
        (req->prefixes & ~(uint64_t)ZYDIS_ENCODABLE_PREFIXES))
        return false;
    k->w[0] = (uint64_t)req->mnemonic | (uint64_t)req->machine_mode << 16 |
              (uint64_t)req->allowed_encodings << 20 |
              (uint64_t)req->branch_type << 28 | (uint64_t)req->branch_width << 30 |
              (uint64_t)req->address_size_hint << 33 |
              (uint64_t)req->operand_size_hint << 35 |
              (uint64_t)req->operand_count << 38 |
              (uint64_t)req->prefixes >> PREFIX_SHIFT << 41;
    k->nt = 1 + req->operand_count;
    k->nvar = 0;
    k->templ_ok = req->machine_mode == ZYDIS_MACHINE_MODE_LONG_64;
    unsigned ndisp = 0, nimm = 0;
    for (unsigned i = 0; i < req->operand_count; i++) {
        const ZydisEncoderOperand *o = &req->operands[i];
        uint64_t w = (uint64_t)o->type;
        switch (o->type) {
        case ZYDIS_OPERAND_TYPE_REGISTER:
            if (!fits(o->reg.value, 12))
                return false;
            w |= (uint64_t)o->reg.value << 4 | (uint64_t)o->reg.is4 << 16;
            break;
        case ZYDIS_OPERAND_TYPE_MEMORY:
            if (!fits(o->mem.base, 12) || !fits(o->mem.index, 12))
                return false;
            w |= (uint64_t)o->mem.base << 4 | (uint64_t)o->mem.index << 16 |
                 (uint64_t)o->mem.scale << 28 | (uint64_t)o->mem.size << 36 |
                 vclass(o->mem.displacement) << 52;
            if (o->mem.base == ZYDIS_REGISTER_RIP || o->mem.base == ZYDIS_REGISTER_EIP)
                k->templ_ok = false;
            ndisp++;
            k->var_imm[k->nvar] = false;
            k->var[k->nvar++] = o->mem.displacement;
            break;
        case ZYDIS_OPERAND_TYPE_POINTER:
            w |= (uint64_t)o->ptr.segment << 4 | (uint64_t)o->ptr.offset << 20;
            break;
        case ZYDIS_OPERAND_TYPE_IMMEDIATE:
            w |= vclass(o->imm.s) << 52;
            nimm++;
            k->var_imm[k->nvar] = true;
            k->var[k->nvar++] = o->imm.s;
            break;
        default:
            return false;
        }
        k->w[1 + i] = w;
    }
    /* One field of each kind is what the decoder tells apart. */
    if (ndisp > 1 || nimm > 1 || k->nvar > 2)
        k->templ_ok = false;
    for (unsigned i = 0; i < k->nvar; i++)
        k->w[k->nt + i] = (uint64_t)k->var[i];
    k->ne = k->nt + k->nvar;
    return true;
}

/* The request as the key sees it: fields of other operand types zeroed,
 * so the bytes memoized under a key do not depend on what was left in
 * them (Zydis peeks at operands[1].imm of a MOV whatever its type). */
static void canonical(const ZydisEncoderRequest *req, ZydisEncoderRequest *c)
{
    memset(c, 0, sizeof *c);
    c->machine_mode = req->machine_mode;
    c->allowed_encodings = req->allowed_encodings;
    c->mnemonic = req->mnemonic;
    c->prefixes = req->prefixes;
    c->branch_type = req->branch_type;
    c->branch_width = req->branch_width;
    c->address_size_hint = req->address_size_hint;
    c->operand_size_hint = req->operand_size_hint;
    c->operand_count = req->operand_count;
    for (unsigned i = 0; i < req->operand_count; i++) {
        const ZydisEncoderOperand *o = &req->operands[i];
        ZydisEncoderOperand *d = &c->operands[i];
        d->type = o->type;
        switch (o->type) {
        case ZYDIS_OPERAND_TYPE_REGISTER: d->reg = o->reg; break;
        case ZYDIS_OPERAND_TYPE_MEMORY: d->mem = o->mem; break;
        case ZYDIS_OPERAND_TYPE_POINTER: d->ptr = o->ptr; break;
        case ZYDIS_OPERAND_TYPE_IMMEDIATE: d->imm = o->imm; break;
        default: break;
        }
    }
}

static uint64_t hash_words(const uint64_t *w, unsigned n, unsigned space)
{
    uint64_t h = 0x9e3779b97f4a7c15ull + space;
    for (unsigned i = 0; i < n; i++)
        h = (h ^ w[i]) * 0xff51afd7ed558ccdull;
    /* The low bits index the memo: fold the high bits (size classes sit
     * there) down into them. */
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h | 1;
}

static unsigned bucket(uint64_t h) { return h & ((1u << MEMO_BITS) - 1); }

/* The hash picks candidates; the key, compared whole, decides. */
static struct memo_entry *lookup(uint64_t h, unsigned space, const uint64_t *w,
                                 unsigned n)
{
    unsigned b = bucket(h);
    for (unsigned i = 0; i < MEMO_WAYS; i++) {
        struct memo_entry *m = &memo[b][i];
        if (memo_hash[b][i] != h || m->space != space || m->klen != n)
            continue;
        unsigned j = 0;
        while (j < n && m->key[j] == w[j])
            j++;
        if (j == n)
            return m;
    }
    return NULL;
}

static struct memo_entry *store(uint64_t h, unsigned space, const uint64_t *w,
                                unsigned n, const uint8_t *bytes, size_t len)
{
    unsigned b = bucket(h);
    unsigned i = 0;
    while (i < MEMO_WAYS && memo_hash[b][i] != 0)
        i++;
    if (i == MEMO_WAYS)
        i = memo_victim[b]++ % MEMO_WAYS;
    memo_hash[b][i] = h;
    struct memo_entry *m = &memo[b][i];
    m->space = (uint8_t)space;
    m->klen = (uint8_t)n;
    m->patch = false;
    m->len = (uint8_t)len;
    memcpy(m->bytes, bytes, len);
    memcpy(m->key, w, n * sizeof *w);
    return m;
}

const ZydisDecoder *emit_decoder64(void)
{
    static ZydisDecoder d;
    static bool ready;
    if (!ready) {
        ZydisDecoderInit(&d, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
        ready = true;
    }
    return &d;
}

bool emit_position_free(const ZydisDecodedInstruction *d)
{
    return !(d->attributes & ZYDIS_ATTRIB_IS_RELATIVE) &&
           d->meta.category != ZYDIS_CATEGORY_CALL &&
           d->meta.category != ZYDIS_CATEGORY_UNCOND_BR &&
           d->meta.category != ZYDIS_CATEGORY_COND_BR &&
           d->meta.category != ZYDIS_CATEGORY_RET;
}

/* Find each value's field in bytes Zydis produced for k; false when the
 * decode does not account for every value unambiguously. */
static bool find_fields(const struct key *k, const uint8_t *buf, size_t len,
                        struct memo_entry *m)
{
    if (k->nvar == 0)
        return true;
    if (!k->templ_ok)
        return false;
    ZydisDecodedInstruction d;
    if (ZYAN_FAILED(ZydisDecoderDecodeInstruction(emit_decoder64(), NULL, buf, len, &d)) ||
        d.length != len || d.raw.imm[1].size != 0)
        return false;
    /* EVEX compresses disp8 by a scale the class does not capture. */
    if (d.encoding != ZYDIS_INSTRUCTION_ENCODING_LEGACY &&
        d.encoding != ZYDIS_INSTRUCTION_ENCODING_VEX)
        return false;
    for (unsigned i = 0; i < k->nvar; i++) {
        unsigned off = k->var_imm[i] ? d.raw.imm[0].offset : d.raw.disp.offset;
        unsigned size = (k->var_imm[i] ? d.raw.imm[0].size : d.raw.disp.size) / 8;
        uint64_t v = (uint64_t)k->var[i];
        if (size == 0) {
            /* No field: only a one-value class (0, 1) can be implied. */
            if (v > 1)
                return false;
        } else if ((size != 1 && size != 2 && size != 4 && size != 8) ||
                   off + size > len || memcmp(buf + off, &v, size) != 0) {
            return false;
        }
        m->off[i] = (uint8_t)off;
        m->size[i] = (uint8_t)size;
    }
    if (k->nvar == 2 && m->size[0] && m->size[1] &&
        m->off[0] < m->off[1] + m->size[1] && m->off[1] < m->off[0] + m->size[0])
        return false;
    return true;
}

static void fail(struct emit *e, ZydisMnemonic m, unsigned n)
{
    if (!e->failed) {
        e->failed = true;
        snprintf(e->failed_what, sizeof e->failed_what,
                 "encoder refused %s with %u operands", ZydisMnemonicGetString(m), n);
    }
}

/* Room for n more bytes, else mark the buffer full. */
static bool room(struct emit *e, size_t n)
{
    if ((size_t)(e->end - e->p) < n) {
        e->full = true;
        return false;
    }
    return true;
}

/* n <= 16 bytes as two overlapping fixed-size moves, no library call. */
static void copy_small(uint8_t *d, const uint8_t *s, size_t n)
{
    if (n >= 8) {
        memcpy(d, s, 8);
        memcpy(d + n - 8, s + n - 8, 8);
    } else if (n >= 4) {
        memcpy(d, s, 4);
        memcpy(d + n - 4, s + n - 4, 4);
    } else {
        for (size_t i = 0; i < n; i++)
            d[i] = s[i];
    }
}

static void put(struct emit *e, const uint8_t *bytes, size_t n)
{
    if (!room(e, n))
        return;
    copy_small(e->p, bytes, n);
    e->p += n;
}

/* Store the low size bytes of v at p (little-endian, like Zydis). */
static void patch_field(uint8_t *p, uint64_t v, unsigned size)
{
    switch (size) {
    case 1: *p = (uint8_t)v; break;
    case 2: memcpy(p, &v, 2); break;
    case 4: memcpy(p, &v, 4); break;
    case 8: memcpy(p, &v, 8); break;
    default: break; /* 0: implied by the class */
    }
}

static bool encode(struct emit *e, const ZydisEncoderRequest *req, uint8_t *buf,
                   ZyanUSize *len)
{
    *len = ZYDIS_MAX_INSTRUCTION_LENGTH;
    if (ZYAN_FAILED(ZydisEncoderEncodeInstruction(req, buf, len))) {
        fail(e, req->mnemonic, req->operand_count);
        return false;
    }
    return true;
}

/* Zydis wants an LEA's memory size to be its address size. */
static void fix_lea(ZydisEncoderRequest *req)
{
    if (req->mnemonic != ZYDIS_MNEMONIC_LEA || req->operand_count != 2)
        return;
    ZydisEncoderOperand *m = &req->operands[1];
    ZydisRegister r = m->mem.base != ZYDIS_REGISTER_NONE ? m->mem.base : m->mem.index;
    if (r != ZYDIS_REGISTER_NONE)
        m->mem.size = ZydisRegisterGetWidth(ZYDIS_MACHINE_MODE_LONG_64, r) / 8;
}

/* Shapes that cannot be templated: memoized with their exact values. */
static void emit_exact(struct emit *e, const ZydisEncoderRequest *req,
                       const struct key *k)
{
    uint64_t h = hash_words(k->w, k->ne, SPACE_EXACT);
    struct memo_entry *m = lookup(h, SPACE_EXACT, k->w, k->ne);
    if (m) {
        put(e, m->bytes, m->len);
        return;
    }
    ZydisEncoderRequest c;
    canonical(req, &c);
    uint8_t buf[ZYDIS_MAX_INSTRUCTION_LENGTH];
    ZyanUSize len;
    if (!encode(e, &c, buf, &len))
        return;
    store(h, SPACE_EXACT, k->w, k->ne, buf, len);
    put(e, buf, len);
}

/* plain: the caller knows the EVEX/MVEX fields are clear, so they are
 * not reloaded right after being stored (a store-forwarding stall). */
static void emit_req(struct emit *e, ZydisEncoderRequest *req, bool plain)
{
    if (e->full || e->failed)
        return;
    fix_lea(req);
    struct key k;
    uint8_t buf[ZYDIS_MAX_INSTRUCTION_LENGTH];
    ZyanUSize len;
    if (!make_key(req, plain, &k)) {
        if (encode(e, req, buf, &len))
            put(e, buf, len);
        return;
    }
    uint64_t h = hash_words(k.w, k.nt, SPACE_TEMPLATE);
    struct memo_entry *m = lookup(h, SPACE_TEMPLATE, k.w, k.nt);
    if (m) {
        if (!m->patch) {
            emit_exact(e, req, &k);
            return;
        }
        if (!room(e, m->len))
            return;
        copy_small(e->p, m->bytes, m->len);
        for (unsigned i = 0; i < k.nvar; i++)
            patch_field(e->p + m->off[i], (uint64_t)k.var[i], m->size[i]);
        e->p += m->len;
        return;
    }
    ZydisEncoderRequest c;
    canonical(req, &c);
    if (!encode(e, &c, buf, &len))
        return;
    m = store(h, SPACE_TEMPLATE, k.w, k.nt, buf, len);
    m->patch = find_fields(&k, buf, len, m);
    /* The unpatchable marker sends later requests of this shape to the
     * exact memo. */
    if (!m->patch)
        store(hash_words(k.w, k.ne, SPACE_EXACT), SPACE_EXACT, k.w, k.ne, buf, len);
    put(e, buf, len);
}

void E_req(struct emit *e, ZydisEncoderRequest *req) { emit_req(e, req, false); }

/* Only the fields E_req and Zydis read for n operands are set: clearing
 * all 400 bytes cost more than the memo lookup. */
void E(struct emit *e, ZydisMnemonic m, int n, ...)
{
    ZydisEncoderRequest req;
    memset(&req, 0, offsetof(ZydisEncoderRequest, operands));
    memset(&req.evex, 0, sizeof req.evex);
    memset(&req.mvex, 0, sizeof req.mvex);
    req.machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
    req.mnemonic = m;
    req.operand_count = (ZyanU8)n;
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n && i < NOPS; i++)
        req.operands[i] = va_arg(ap, eop);
    va_end(ap);
    emit_req(e, &req, true);
}

/* A rel8/rel32 branch form: fixed bytes, the rel field last. */
struct branch_tmpl {
    uint16_t mnemonic;
    uint8_t width;
    uint8_t len, rel_size; /* rel_size 0: slot empty */
    uint8_t bytes[ZYDIS_MAX_INSTRUCTION_LENGTH];
};

static struct branch_tmpl branch_memo[256];

/* A relative branch m of width w to target (absolute or, encoded
 * without a runtime address, the rel itself). */
static void branch_request(ZydisEncoderRequest *req, ZydisMnemonic m,
                           ZydisBranchWidth w, int64_t target)
{
    memset(req, 0, sizeof *req);
    req->machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
    req->mnemonic = m;
    req->branch_width = w;
    req->operand_count = 1;
    req->operands[0] = I(target);
}

/* Encode (m, w) once with rel 0 and learn where its rel field is. */
static bool branch_template(ZydisMnemonic m, ZydisBranchWidth w, struct branch_tmpl *b)
{
    ZydisEncoderRequest req;
    branch_request(&req, m, w, 0);
    uint8_t buf[ZYDIS_MAX_INSTRUCTION_LENGTH];
    ZyanUSize len = sizeof buf;
    if (ZYAN_FAILED(ZydisEncoderEncodeInstruction(&req, buf, &len)))
        return false;
    ZydisDecodedInstruction d;
    unsigned size = w == ZYDIS_BRANCH_WIDTH_8 ? 1 : 4;
    if (ZYAN_FAILED(ZydisDecoderDecodeInstruction(emit_decoder64(), NULL, buf, len, &d)) ||
        d.length != len || !d.raw.imm[0].is_relative || d.raw.imm[0].size != size * 8 ||
        d.raw.imm[0].offset + size != len || d.raw.imm[1].size != 0)
        return false;
    b->mnemonic = (uint16_t)m;
    b->width = (uint8_t)w;
    b->len = (uint8_t)len;
    b->rel_size = (uint8_t)size;
    memcpy(b->bytes, buf, len);
    return true;
}

/* Any other branch: Zydis places it at e->p itself. */
static uint8_t *branch_direct(struct emit *e, ZydisMnemonic m, const void *target,
                              ZydisBranchWidth w)
{
    ZydisEncoderRequest req;
    branch_request(&req, m, w, (int64_t)(uintptr_t)target);
    uint8_t buf[ZYDIS_MAX_INSTRUCTION_LENGTH];
    ZyanUSize len = sizeof buf;
    if (ZYAN_FAILED(ZydisEncoderEncodeInstructionAbsolute(
            &req, buf, &len, (ZyanU64)(uintptr_t)e->p))) {
        fail(e, m, 1);
        return e->p;
    }
    put(e, buf, len);
    return e->p;
}

uint8_t *E_branch(struct emit *e, ZydisMnemonic m, const void *target,
                  ZydisBranchWidth w)
{
    if (e->full || e->failed)
        return e->p;
    if (w != ZYDIS_BRANCH_WIDTH_8 && w != ZYDIS_BRANCH_WIDTH_32)
        return branch_direct(e, m, target, w);
    /* Jcc mnemonics are consecutive, so they never share a slot. */
    struct branch_tmpl *b = &branch_memo[((unsigned)m * 2 + (w == ZYDIS_BRANCH_WIDTH_32)) %
                                         (sizeof branch_memo / sizeof *branch_memo)];
    if ((b->rel_size == 0 || b->mnemonic != m || b->width != w) &&
        !branch_template(m, w, b))
        return branch_direct(e, m, target, w);
    int64_t rel = (int64_t)((uintptr_t)target - ((uintptr_t)e->p + b->len));
    if (b->rel_size == 1 ? rel != (int8_t)rel : rel != (int32_t)rel) {
        fail(e, m, 1); /* what Zydis says when the rel does not reach */
        return e->p;
    }
    if (!room(e, b->len))
        return e->p;
    copy_small(e->p, b->bytes, b->len);
    patch_field(e->p + b->len - b->rel_size, (uint64_t)rel, b->rel_size);
    e->p += b->len;
    return e->p;
}

static bool in_rel32(const uint8_t *from, const void *to)
{
    int64_t d = (int64_t)((uintptr_t)to - (uintptr_t)from);
    return d > INT32_MIN + 64 && d < INT32_MAX - 64;
}

void E_call_abs(struct emit *e, const void *fn)
{
    if (in_rel32(e->p, fn)) {
        E_branch(e, ZYDIS_MNEMONIC_CALL, fn, ZYDIS_BRANCH_WIDTH_32);
    } else {
        E(e, ZYDIS_MNEMONIC_MOV, 2, R(ZYDIS_REGISTER_R11),
          I((int64_t)(uintptr_t)fn));
        E(e, ZYDIS_MNEMONIC_CALL, 1, R(ZYDIS_REGISTER_R11));
    }
}

void E_jmp_abs(struct emit *e, const void *fn)
{
    if (in_rel32(e->p, fn)) {
        E_branch(e, ZYDIS_MNEMONIC_JMP, fn, ZYDIS_BRANCH_WIDTH_32);
    } else {
        E(e, ZYDIS_MNEMONIC_MOV, 2, R(ZYDIS_REGISTER_R11),
          I((int64_t)(uintptr_t)fn));
        E(e, ZYDIS_MNEMONIC_JMP, 1, R(ZYDIS_REGISTER_R11));
    }
}

void E_bytes(struct emit *e, const void *bytes, unsigned n)
{
    if (e->full || e->failed)
        return;
    if ((size_t)(e->end - e->p) < n) {
        e->full = true;
        return;
    }
    memcpy(e->p, bytes, n);
    e->p += n;
}

void patch_rel32(uint8_t *field_end, const void *target)
{
    int32_t rel = (int32_t)((intptr_t)target - (intptr_t)field_end);
    memcpy(field_end - 4, &rel, 4);
}

void patch_rel8(uint8_t *field_end, const void *target)
{
    intptr_t rel = (intptr_t)target - (intptr_t)field_end;
    field_end[-1] = (uint8_t)(int8_t)rel;
}

/* bytes that no opcode, ModRM or displacement here produces */
static uint64_t seq_sentinel(unsigned i, unsigned size)
{
    return size == 8 ? 0x7e5ac1d37e5ac100ull + i : 0x5ac1d300u + i;
}

/* Learn t from bytes built with the sentinels; false when one is missing
 * or not unique. */
static bool seq_record(struct seq_tpl *t, const uint8_t *bytes, size_t len,
                       const uint8_t *sizes, unsigned n)
{
    if (len > SEQ_TPL_MAX)
        return false;
    for (unsigned i = 0; i < n; i++) {
        uint64_t v = seq_sentinel(i, sizes[i]);
        int found = -1;
        for (size_t at = 0; at + sizes[i] <= len; at++) {
            if (memcmp(bytes + at, &v, sizes[i]) != 0)
                continue;
            if (found >= 0)
                return false; /* twice: ambiguous */
            found = (int)at;
        }
        if (found < 0)
            return false;
        t->off[i] = (uint8_t)found;
        t->size[i] = sizes[i];
    }
    memcpy(t->bytes, bytes, len);
    t->len = (uint8_t)len;
    t->n = (uint8_t)n;
    return true;
}

void seq_learn(struct seq_tpl *t, seq_build_fn build, const uint8_t *sizes,
               unsigned n)
{
    uint8_t buf[SEQ_TPL_MAX];
    uint64_t sent[SEQ_TPL_FIELDS];
    struct emit s;
    emit_init(&s, buf, buf + sizeof buf);
    for (unsigned i = 0; i < n && i < SEQ_TPL_FIELDS; i++)
        sent[i] = seq_sentinel(i, sizes[i]);
    if (n <= SEQ_TPL_FIELDS)
        build(&s, sent);
    t->ready = n <= SEQ_TPL_FIELDS && !s.full && !s.failed &&
               seq_record(t, buf, (size_t)(s.p - buf), sizes, n);
    t->broken = !t->ready;
}

void seq_patch(uint8_t *p, const struct seq_tpl *t, const uint64_t *vals)
{
    for (unsigned i = 0; i < t->n; i++)
        patch_field(p + t->off[i], vals[i], t->size[i]);
}
