/* Host faults that are guest events: with direct addressing, an access
 * beyond RAM lands in the reserved guard area and a write to a page that
 * holds translated code hits a write-protected host page. Both arrive as
 * SIGSEGV; the handler resumes the access at its slow path, which
 * dispatches MMIO or invalidates the stale code. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "bt/internal.h"

/* A signal handler cannot be handed the machine, so live translators are
 * listed here (one per vCPU; tpvm runs one). */
#define MAX_BTS 8
static struct bt *registry[MAX_BTS];

void registry_add(struct bt *bt)
{
    for (int i = 0; i < MAX_BTS; i++)
        if (!registry[i]) {
            registry[i] = bt;
            return;
        }
}

void registry_remove(struct bt *bt)
{
    for (int i = 0; i < MAX_BTS; i++)
        if (registry[i] == bt)
            registry[i] = NULL;
}

void sites_add(struct bt *bt, uintptr_t start, uintptr_t end, uintptr_t stub)
{
    if (bt->n_sites == bt->max_sites) {
        size_t n = bt->max_sites ? bt->max_sites * 2 : 4096;
        struct fault_site *s = realloc(bt->sites, n * sizeof *s);
        if (!s) {
            fprintf(stderr, "tpvm: out of memory\n");
            exit(6);
        }
        bt->sites = s;
        bt->max_sites = n;
    }
    bt->sites[bt->n_sites++] = (struct fault_site){start, end, stub};
}

static const struct fault_site *site_find(const struct bt *bt, uintptr_t rip)
{
    size_t lo = 0, hi = bt->n_sites;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const struct fault_site *s = &bt->sites[mid];
        if (rip < s->start)
            hi = mid;
        else if (rip >= s->end)
            lo = mid + 1;
        else
            return s;
    }
    return NULL;
}

void code_page_protect(struct bt *bt, uint32_t phys_page, bool protect)
{
    struct cpu *cpu = bt->cpu;
    if (!cpu || !cpu->ram_direct || phys_page >= cpu->ram_size)
        return;
    mprotect(cpu->ram + phys_page, 0x1000,
             protect ? PROT_READ : PROT_READ | PROT_WRITE);
}

bool bt_handle_segv(void *fault_addr, void *ucontext)
{
    ucontext_t *uc = ucontext;
    uintptr_t rip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    uintptr_t addr = (uintptr_t)fault_addr;
    for (int i = 0; i < MAX_BTS; i++) {
        struct bt *bt = registry[i];
        if (!bt)
            continue;
        if (rip >= (uintptr_t)bt->cache && rip < (uintptr_t)bt->cache + bt->cache_size) {
            const struct fault_site *s = site_find(bt, rip);
            if (s) {
                uc->uc_mcontext.gregs[REG_RIP] = (greg_t)s->stub;
                return true;
            }
            /* a TLB-path store that raced a code-page protection: drop
             * the stale code and let the store go through */
        }
        /* C code (a helper, the page walker) wrote a code page */
        struct cpu *cpu = bt->cpu;
        if (cpu && cpu->ram_direct && addr >= (uintptr_t)cpu->ram &&
            addr < (uintptr_t)cpu->ram + cpu->ram_size) {
            uint32_t phys = (uint32_t)(addr - (uintptr_t)cpu->ram);
            if (cache_page_has_code(bt, phys)) {
                cache_invalidate_page(bt, phys & ~0xfffu);
                cpu->smc_hit = 1;
                return true;
            }
        }
    }
    return false;
}

/* An anonymous mapping of `size` bytes starting on a 2 MiB boundary, so
 * transparent huge pages can back it from its first byte; NULL on
 * failure. */
void *map_aligned(size_t size, int prot, int flags)
{
    const size_t huge = 2u << 20;
    uint8_t *p = mmap(NULL, size + huge, prot, MAP_PRIVATE | MAP_ANONYMOUS | flags,
                      -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    uint8_t *a = (uint8_t *)(((uintptr_t)p + huge - 1) & ~(uintptr_t)(huge - 1));
    if (a > p)
        munmap(p, (size_t)(a - p));
    munmap(a + size, (size_t)(p + huge - a));
    return a;
}

struct cpu *bt_cpu_alloc(uint32_t ram_size)
{
    _Static_assert(sizeof(struct cpu) < BT_RAM_OFFSET, "struct cpu too big");
    /* a folded access below guest address 0 must land past the struct */
    _Static_assert(((sizeof(struct cpu) + 0xfff) & ~(size_t)0xfff) + BT_FOLD_MAX + 16 <=
                       BT_RAM_OFFSET,
                   "no inaccessible gap under guest memory for folded accesses");
    /* cpu, then 4 GiB of guest-physical space, then a guard for accesses
     * that straddle the top */
    size_t total = (size_t)BT_RAM_OFFSET + (4ull << 30) + BT_GUARD_SIZE;
    uint8_t *base = map_aligned(total, PROT_NONE, MAP_NORESERVE);
    if (!base)
        return NULL;
    size_t cpu_bytes = (sizeof(struct cpu) + 0xfffu) & ~(size_t)0xfff;
    if (mprotect(base, cpu_bytes, PROT_READ | PROT_WRITE) < 0 ||
        mprotect(base + BT_RAM_OFFSET, ram_size, PROT_READ | PROT_WRITE) < 0) {
        munmap(base, total);
        return NULL;
    }
    /* Huge pages for the soft TLB and guest RAM: a boot touches tens of
     * MiB of each, so 4 KiB pages cost ~25,000 host page faults and host
     * TLB misses on most guest accesses. Advice only: where the host
     * has no transparent huge pages nothing changes. */
    madvise(base, cpu_bytes, MADV_HUGEPAGE);
    madvise(base + BT_RAM_OFFSET, ram_size, MADV_HUGEPAGE);
    struct cpu *cpu = (struct cpu *)base;
    cpu->ram = base + BT_RAM_OFFSET;
    cpu->ram_size = ram_size;
    cpu->ram_direct = true;
    return cpu;
}

void bt_cpu_free(struct cpu *cpu)
{
    if (cpu && cpu->ram_direct)
        munmap(cpu, (size_t)BT_RAM_OFFSET + (4ull << 30) + BT_GUARD_SIZE);
}
