/* Host code emission: thin wrappers over ZydisEncoderEncodeInstruction,
 * memoized because translation re-encodes the same few hundred host
 * instructions (probe sequences, register moves) over and over. */
#include "bt/emit.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MEMO_BITS 14
#define MEMO_SIZE (1u << MEMO_BITS)

struct memo_entry {
    uint64_t hash;
    uint8_t len;
    uint8_t bytes[15];
};

/* The memo is a pure cache of encoder output, identical for every
 * translator instance, so one process-wide table is correct. */
static struct memo_entry memo[MEMO_SIZE];

eop R(ZydisRegister r)
{
    eop o;
    memset(&o, 0, sizeof o);
    o.type = ZYDIS_OPERAND_TYPE_REGISTER;
    o.reg.value = r;
    return o;
}

eop I(int64_t v)
{
    eop o;
    memset(&o, 0, sizeof o);
    o.type = ZYDIS_OPERAND_TYPE_IMMEDIATE;
    o.imm.s = v;
    return o;
}

eop M(ZydisRegister base, ZydisRegister index, uint8_t scale, int64_t disp,
      uint16_t size)
{
    eop o;
    memset(&o, 0, sizeof o);
    o.type = ZYDIS_OPERAND_TYPE_MEMORY;
    o.mem.base = base;
    o.mem.index = index;
    o.mem.scale = index == ZYDIS_REGISTER_NONE ? 0 : scale;
    o.mem.displacement = disp;
    o.mem.size = size;
    return o;
}

eop MC(int64_t off, uint16_t size)
{
    return M(ZYDIS_REGISTER_R15, ZYDIS_REGISTER_NONE, 0, off, size);
}

void emit_init(struct emit *e, uint8_t *p, uint8_t *end)
{
    memset(e, 0, sizeof *e);
    e->start = e->p = p;
    e->end = end;
}

/* The request is zero-filled before use, so its 400 bytes hash as words;
 * only the used prefix varies much, but all of it is covered. */
static uint64_t hash_bytes(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t h = 0x9e3779b97f4a7c15ull;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, b + i, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 29;
    }
    for (; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h | 1; /* 0 marks an empty slot */
}

static void fail(struct emit *e, const ZydisEncoderRequest *req)
{
    if (!e->failed) {
        e->failed = true;
        snprintf(e->failed_what, sizeof e->failed_what,
                 "encoder refused %s with %u operands",
                 ZydisMnemonicGetString(req->mnemonic), req->operand_count);
    }
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

void E_req(struct emit *e, ZydisEncoderRequest *req)
{
    if (e->full || e->failed)
        return;
    fix_lea(req);
    uint64_t h = hash_bytes(req, sizeof *req);
    struct memo_entry *m = &memo[h & (MEMO_SIZE - 1)];
    if (m->hash == h) {
        if (e->end - e->p < m->len) {
            e->full = true;
            return;
        }
        memcpy(e->p, m->bytes, m->len);
        e->p += m->len;
        return;
    }
    uint8_t buf[ZYDIS_MAX_INSTRUCTION_LENGTH];
    ZyanUSize len = sizeof buf;
    if (ZYAN_FAILED(ZydisEncoderEncodeInstruction(req, buf, &len))) {
        fail(e, req);
        return;
    }
    if ((size_t)(e->end - e->p) < len) {
        e->full = true;
        return;
    }
    memcpy(e->p, buf, len);
    e->p += len;
    m->hash = h;
    m->len = (uint8_t)len;
    memcpy(m->bytes, buf, len);
}

void E(struct emit *e, ZydisMnemonic m, int n, ...)
{
    ZydisEncoderRequest req;
    memset(&req, 0, sizeof req);
    req.machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
    req.mnemonic = m;
    req.operand_count = (ZyanU8)n;
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        req.operands[i] = va_arg(ap, eop);
    va_end(ap);
    E_req(e, &req);
}

uint8_t *E_branch(struct emit *e, ZydisMnemonic m, const void *target,
                  ZydisBranchWidth w)
{
    if (e->full || e->failed)
        return e->p;
    ZydisEncoderRequest req;
    memset(&req, 0, sizeof req);
    req.machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
    req.mnemonic = m;
    req.branch_width = w;
    req.operand_count = 1;
    req.operands[0] = I((int64_t)(uintptr_t)target);
    uint8_t buf[ZYDIS_MAX_INSTRUCTION_LENGTH];
    ZyanUSize len = sizeof buf;
    if (ZYAN_FAILED(ZydisEncoderEncodeInstructionAbsolute(
            &req, buf, &len, (ZyanU64)(uintptr_t)e->p))) {
        fail(e, &req);
        return e->p;
    }
    if ((size_t)(e->end - e->p) < len) {
        e->full = true;
        return e->p;
    }
    memcpy(e->p, buf, len);
    e->p += len;
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
