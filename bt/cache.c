/* The code cache: block storage, lookup by (EIP, physical address, mode),
 * direct-exit chaining, invalidation of the blocks on a written page, and
 * the wholesale flush when the cache is full. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "bt/emit.h"
#include "bt/internal.h"

#define DEFAULT_CACHE_SIZE (64u << 20)
#define HASH_BITS 16

void cache_init(struct bt *bt)
{
    bt->cache_size = bt->cfg.code_cache_size ? bt->cfg.code_cache_size
                                             : DEFAULT_CACHE_SIZE;
    bt->cache = map_aligned(bt->cache_size, PROT_READ | PROT_WRITE | PROT_EXEC, 0);
    if (!bt->cache) {
        perror("tpvm: mmap of the code cache");
        exit(6);
    }
    /* No huge pages here: bt/prefault.c populates the cache ahead of use
     * in small steps, and a huge page's fault would hold the host's mmap
     * lock (and the translator's mprotects) for the 2 MiB it zeroes. */
    /* A block needs at least ~64 bytes of host code. */
    bt->max_blocks = bt->cache_size / 64;
    /* Huge pages: a dispatch or branch-cache fill reads a block picked
     * by the guest's jumps, anywhere in tens of MiB of block array, and
     * with 4 KiB pages that is a host TLB miss too (cache_lookup's share
     * of a Linux boot: 1.7% -> 1.1%). */
    bt->blocks_bytes = ((size_t)bt->max_blocks * sizeof *bt->blocks + (2u << 20) - 1) &
                       ~(size_t)((2u << 20) - 1);
    bt->blocks = map_aligned(bt->blocks_bytes, PROT_READ | PROT_WRITE, 0);
    if (bt->blocks)
        madvise(bt->blocks, bt->blocks_bytes, MADV_HUGEPAGE);
    bt->hash_size = 1u << HASH_BITS;
    bt->hash = calloc(bt->hash_size, sizeof *bt->hash);
    if (!bt->blocks || !bt->hash) {
        fprintf(stderr, "tpvm: out of memory for the code cache\n");
        exit(6);
    }
}

static size_t hash_of(uint32_t eip, uint32_t phys)
{
    uint32_t h = (eip * 0x9e3779b1u) ^ (phys >> 12);
    return (h >> (32 - HASH_BITS)) & ((1u << HASH_BITS) - 1);
}

struct block *cache_lookup(struct bt *bt, uint32_t eip, uint32_t phys,
                           uint32_t mode)
{
    for (struct block *b = bt->hash[hash_of(eip, phys)]; b; b = b->hash_next)
        if (b->eip == eip && b->phys == phys && b->mode == mode)
            return b;
    return NULL;
}

struct block *cache_alloc_block(struct bt *bt)
{
    if (bt->n_blocks == bt->max_blocks)
        return NULL;
    struct block *b = &bt->blocks[bt->n_blocks++];
    memset(b, 0, sizeof *b);
    return b;
}

bool cache_page_has_code(struct bt *bt, uint32_t phys)
{
    uint32_t pg = phys >> 12;
    return pg < bt->n_pages && bt->page_has_code[pg];
}

static void page_add(struct bt *bt, struct block *b, int which, uint32_t pg)
{
    if (pg >= bt->n_pages)
        return;
    b->page_next[which] = bt->page_blocks[pg];
    bt->page_blocks[pg] = b;
    if (bt->page_has_code[pg]++ == 0 && bt->cpu) {
        tlb_protect_code_page(bt->cpu, pg << 12);
        if (bt->code_wp)
            code_page_protect(bt, pg << 12, true);
    }
}

void cache_insert(struct bt *bt, struct block *b)
{
    size_t h = hash_of(b->eip, b->phys);
    b->hash_next = bt->hash[h];
    bt->hash[h] = b;
    b->valid = true;
    page_add(bt, b, 0, b->phys >> 12);
    if ((b->phys_last >> 12) != (b->phys >> 12))
        page_add(bt, b, 1, b->phys_last >> 12);
}

void cache_chain(struct bt *bt, struct exit *from, struct block *to)
{
    if (from->target)
        return;
    /* A chain to a block further on skips its run check: every cycle of
     * chained blocks has an edge that does not go forward, and that edge
     * checks, so a stop request still ends any loop. */
    patch_rel32(from->patch, to->eip > from->owner->eip ? to->body : to->code);
    from->target = to;
    from->next_in = to->incoming;
    to->incoming = from;
    bt->stats.chain_links++;
}

static uint32_t jc_index(uint32_t eip)
{
    return eip & (JC_SIZE - 1);
}

/* Every entry empty, no bookkeeping: at CPU reset. */
void cache_jc_init(struct cpu *cpu)
{
    for (int u = 0; u < 2; u++)
        for (unsigned i = 0; i < JC_SIZE; i++)
            cpu->jc[u].tag[i] = JC_TAG_EMPTY;
    memset(cpu->jc_logged, 0, sizeof cpu->jc_logged);
    memset(cpu->jc_page_bits, 0, sizeof cpu->jc_page_bits);
    cpu->jc_nlog_n = cpu->jc_glog_n = cpu->jc_pages_n = 0;
}

static void clear_logged(struct cpu *cpu, uint32_t *log, uint32_t n,
                         uint8_t bit)
{
    for (uint32_t i = 0; i < n; i++) {
        uint32_t u = (log[i] >> 16) & 1u, idx = log[i] & (JC_SIZE - 1);
        cpu->jc[u].tag[idx] = JC_TAG_EMPTY;
        cpu->jc_logged[u][idx] &= (uint8_t)~bit;
    }
}

/* Fills are logged, so a clear (on every TLB flush) touches only the
 * entries in use. */
void cache_jc_clear(struct cpu *cpu)
{
    clear_logged(cpu, cpu->jc_nlog, cpu->jc_nlog_n, 1);
    clear_logged(cpu, cpu->jc_glog, cpu->jc_glog_n, 2);
    cpu->jc_nlog_n = cpu->jc_glog_n = 0;
    if (cpu->jc_pages_n > JC_PAGE_LOG) {
        memset(cpu->jc_page_bits, 0, sizeof cpu->jc_page_bits);
    } else {
        for (uint32_t i = 0; i < cpu->jc_pages_n; i++)
            cpu->jc_page_bits[cpu->jc_pages[i] >> 3] = 0;
    }
    cpu->jc_pages_n = 0;
}

static void note_page(struct cpu *cpu, uint32_t eip)
{
    uint32_t pg = eip >> 12;
    uint8_t m = (uint8_t)(1u << (pg & 7));
    if (cpu->jc_page_bits[pg >> 3] & m)
        return;
    cpu->jc_page_bits[pg >> 3] |= m;
    if (cpu->jc_pages_n < JC_PAGE_LOG)
        cpu->jc_pages[cpu->jc_pages_n] = pg;
    if (cpu->jc_pages_n <= JC_PAGE_LOG)
        cpu->jc_pages_n++;
}

void cache_jc_fill(struct cpu *cpu, struct block *b)
{
    uint32_t u = (b->mode & MODE_CPL3) != 0;
    uint32_t i = jc_index(b->eip);
    cpu->jc[u].tag[i] = -(int64_t)(b->eip + jc_mode_tag(b->mode));
    cpu->jc[u].code[i] = (uint64_t)(uintptr_t)b->code;
    uint8_t bit = b->global ? 2 : 1;
    if (!(cpu->jc_logged[u][i] & bit)) {
        cpu->jc_logged[u][i] |= bit;
        if (b->global)
            cpu->jc_glog[cpu->jc_glog_n++] = (u << 16) | i;
        else
            cpu->jc_nlog[cpu->jc_nlog_n++] = (u << 16) | i;
    }
    note_page(cpu, b->eip);
}

/* CR3 load: entries of code on global pages stay. An index refilled
 * with global code after it was logged here is cleared too: a miss. */
void cache_jc_clear_nonglobal(struct cpu *cpu)
{
    clear_logged(cpu, cpu->jc_nlog, cpu->jc_nlog_n, 1);
    cpu->jc_nlog_n = 0;
}

/* For softmmu.c's PV address-space switch, which keeps the entries the
 * two spaces share instead of clearing them all: the linear pages that
 * may hold entries, or false when that list overflowed (any page may). */
bool cache_jc_pages(const struct cpu *cpu, const uint32_t **pages,
                    uint32_t *n)
{
    if (cpu->jc_pages_n > JC_PAGE_LOG)
        return false;
    *pages = cpu->jc_pages;
    *n = cpu->jc_pages_n;
    return true;
}

/* Logged non-global entries, empty ones (cleared since) included. */
uint32_t cache_jc_nonglobal_count(const struct cpu *cpu)
{
    return cpu->jc_nlog_n;
}

/* cache_jc_clear_nonglobal, but sparing the live entries keep() accepts
 * (visited in log order; they stay logged, in that order). Empty ones
 * are dropped without a call. */
void cache_jc_filter_nonglobal(struct cpu *cpu,
                               bool (*keep)(void *ctx, uint32_t user,
                                            uint32_t idx, uint32_t eip),
                               void *ctx)
{
    uint32_t kept = 0;
    for (uint32_t i = 0; i < cpu->jc_nlog_n; i++) {
        uint32_t e = cpu->jc_nlog[i];
        uint32_t user = (e >> 16) & 1u, idx = e & (JC_SIZE - 1);
        int64_t tag = cpu->jc[user].tag[idx];
        if (tag != JC_TAG_EMPTY && keep(ctx, user, idx, jc_tag_eip(tag))) {
            cpu->jc_nlog[kept++] = e;
            continue;
        }
        cpu->jc[user].tag[idx] = JC_TAG_EMPTY;
        cpu->jc_logged[user][idx] &= (uint8_t)~1u;
    }
    cpu->jc_nlog_n = kept;
}

/* INVLPG: only entries for code in that linear page. Their indices are
 * the page's 4096 consecutive slots in each half (index = EIP's low 16
 * bits), scanned only if the page ever had an entry. */
void cache_jc_clear_page(struct cpu *cpu, uint32_t linear)
{
    uint32_t pg = linear >> 12;
    uint8_t m = (uint8_t)(1u << (pg & 7));
    if (!(cpu->jc_page_bits[pg >> 3] & m))
        return;
    cpu->jc_page_bits[pg >> 3] &= (uint8_t)~m;
    uint32_t first = jc_index(pg << 12);
    for (int u = 0; u < 2; u++)
        for (uint32_t i = first; i < first + 4096; i++) {
            int64_t tag = cpu->jc[u].tag[i];
            if (tag != JC_TAG_EMPTY && jc_tag_eip(tag) >> 12 == pg)
                cpu->jc[u].tag[i] = JC_TAG_EMPTY;
        }
}

static void unlink_from(struct block *target, struct exit *ex)
{
    for (struct exit **pp = &target->incoming; *pp; pp = &(*pp)->next_in) {
        if (*pp == ex) {
            *pp = ex->next_in;
            return;
        }
    }
}

static void page_remove(struct bt *bt, struct block *b, uint32_t pg)
{
    if (pg >= bt->n_pages)
        return;
    for (struct block **pp = &bt->page_blocks[pg]; *pp;) {
        struct block *c = *pp;
        int which = (c->phys >> 12) == pg ? 0 : 1;
        if (c == b) {
            *pp = c->page_next[which];
            if (--bt->page_has_code[pg] == 0 && bt->code_wp)
                code_page_protect(bt, pg << 12, false);
            return;
        }
        pp = &c->page_next[which];
    }
}

static void invalidate_block(struct bt *bt, struct block *b)
{
    if (!b->valid)
        return;
    b->valid = false;
    size_t h = hash_of(b->eip, b->phys);
    for (struct block **pp = &bt->hash[h]; *pp; pp = &(*pp)->hash_next) {
        if (*pp == b) {
            *pp = b->hash_next;
            break;
        }
    }
    /* Exits of other blocks that jump here go back to their stubs. */
    for (struct exit *ex = b->incoming; ex; ex = ex->next_in) {
        patch_rel32(ex->patch, ex->stub);
        ex->target = NULL;
    }
    b->incoming = NULL;
    for (int i = 0; i < b->n_exits; i++)
        if (b->exits[i].target)
            unlink_from(b->exits[i].target, &b->exits[i]);
    if (bt->cpu) {
        int u = (b->mode & MODE_CPL3) != 0;
        uint32_t i = jc_index(b->eip);
        if (bt->cpu->jc[u].code[i] == (uint64_t)(uintptr_t)b->code)
            bt->cpu->jc[u].tag[i] = JC_TAG_EMPTY;
    }
    page_remove(bt, b, b->phys >> 12);
    if ((b->phys_last >> 12) != (b->phys >> 12))
        page_remove(bt, b, b->phys_last >> 12);
}

void cache_invalidate_page(struct bt *bt, uint32_t phys_page)
{
    uint32_t pg = phys_page >> 12;
    if (pg >= bt->n_pages)
        return;
    while (bt->page_blocks[pg]) {
        invalidate_block(bt, bt->page_blocks[pg]);
        bt->stats.smc_invalidations++;
    }
}

void cache_invalidate_at(struct bt *bt, uint32_t phys, uint32_t eip)
{
    uint32_t pg = phys >> 12;
    if (pg >= bt->n_pages)
        return;
    for (struct block *b = bt->page_blocks[pg], *next; b; b = next) {
        next = b->page_next[(b->phys >> 12) == pg ? 0 : 1];
        if (eip - b->eip < b->guest_len)
            invalidate_block(bt, b);
    }
}

void bt_invalidate_phys(struct bt *bt, uint32_t gpa, uint32_t len)
{
    if (len == 0)
        return;
    uint64_t end = (uint64_t)gpa + len;
    for (uint64_t a = gpa & ~0xfffull; a < end; a += 0x1000)
        cache_invalidate_page(bt, (uint32_t)a);
}

/* Paging off, translated code stores to guest RAM directly ([r15 + linear
 * + BT_RAM_OFFSET]): only the host page protection catches a store to a
 * page with code. With paging on, every store to such a page takes a
 * checked path (the TLB withholds its write entries; the slow paths,
 * fused runs, regions and monitor writers check or refuse it), so its
 * pages stay writable: thousands of mprotect calls fewer over a Linux
 * boot, and guest RAM keeps its huge pages around the kernel's text. */
static void protect_code_pages(struct bt *bt, bool protect)
{
    for (uint32_t pg = 0; pg < bt->n_pages; pg++)
        if (bt->page_has_code[pg])
            code_page_protect(bt, pg << 12, protect);
}

void cache_code_wp_sync(struct bt *bt)
{
    bool want = code_wp_wanted(bt->cpu);
    if (want == bt->code_wp)
        return;
    bt->code_wp = want;
    protect_code_pages(bt, want);
}

void cache_flush(struct bt *bt)
{
    if (bt->code_wp)
        protect_code_pages(bt, false);
    bt->n_sites = 0;
    bt->n_blocks = 0;
    memset(bt->hash, 0, bt->hash_size * sizeof *bt->hash);
    if (bt->n_pages) {
        memset(bt->page_blocks, 0, bt->n_pages * sizeof *bt->page_blocks);
        memset(bt->page_has_code, 0, bt->n_pages * sizeof *bt->page_has_code);
    }
    bt->cache_ptr = bt->cache_blocks;
    if (bt->cpu)
        cache_jc_clear(bt->cpu);
    bt->stats.cache_flushes++;
    bt->flush_gen++;
}

/* May be called from a helper while a block runs: the flush happens at
 * the next dispatch, so the running code stays intact until it exits. */
void bt_flush_code(struct bt *bt)
{
    bt->flush_pending = true;
    if (bt->cpu)
        bt_request_exit(bt->cpu);
}
