/* Lays a differential test case out in guest RAM (both models get the
 * same bytes through this one function). */
#include <string.h>

#include "tests/diff/case.h"

/* Each aligned 8-byte word of DATA/STACK is a hash of (seed, address), so
 * any range can be recomputed without filling the rest. */
static uint64_t fill_word(uint64_t seed, uint32_t addr8)
{
    uint64_t z = seed ^ ((uint64_t)addr8 * 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void fill_area(uint64_t seed, uint8_t *ram, uint32_t base, uint32_t len)
{
    for (uint32_t a = base; a < base + len; a += 8) {
        uint64_t w = fill_word(seed, a >> 3);
        memcpy(ram + a, &w, 8);
    }
}

void case_fill_bytes(const struct dcase *c, uint32_t addr, uint8_t *out,
                     uint32_t len)
{
    for (uint32_t i = 0; i < len; i++) {
        uint32_t a = addr + i;
        uint64_t w = fill_word(c->fill_seed, a >> 3);
        out[i] = (uint8_t)(w >> (8 * (a & 7)));
    }
}

void case_load_memory(const struct dcase *c, uint8_t *ram)
{
    fill_area(c->fill_seed, ram, DATA_BASE, DATA_SIZE);
    fill_area(c->fill_seed, ram, STACK_BASE, STACK_SIZE);
    for (unsigned i = 0; i < c->n_patches; i++) {
        const struct patch *p = &c->patches[i];
        memcpy(ram + p->addr, c->patch_bytes + p->off, p->len);
    }
    memcpy(ram + c->code_addr, c->code, c->code_len);
    ram[c->code_addr + c->code_len] = 0xf4; /* hlt */
}
