/* The soft-MMU slow path: x86 2-level page walks (4 KiB and PSE 4 MiB
 * pages, A/D bits, U/S, R/W with CR0.WP), soft-TLB fills and flushes, and
 * the checked guest-memory accessors that helpers use. Every guest access
 * ends in guest RAM, in the monitor's MMIO dispatch, or in a guest #PF. */
#include <stdlib.h>
#include <string.h>

#include "bt/internal.h"
#include "bt/runtime.h"

#define PTE_P 0x001u
#define PTE_W 0x002u
#define PTE_U 0x004u
#define PTE_A 0x020u
#define PTE_D 0x040u
#define PTE_PS 0x080u
#define PTE_G 0x100u

#define PF_P 0x1u
#define PF_W 0x2u
#define PF_U 0x4u

/* MODE_SEGCHK: a segment with a real limit (or none usable). Helpers
 * that may load segments ask for the mode before and after, so the common
 * case (present, 4 GiB, expand-up) is decided first. */
static inline bool seg_needs_check(const struct seg *g, int s)
{
    uint32_t a = g->attr;
    bool expand_down = (a & 0x1cu) == 0x14u; /* data (S, not code), E */
    if (g->limit == 0xffffffffu && (a & 0x80u) && !expand_down)
        return false;
    /* A null selector in DS/ES/FS/GS is not checked on use (QEMU does
     * not either): user FS/GS are null under Linux, and checking would
     * make every kernel entry change the mode. */
    bool null_sel = (g->sel & 0xfffc) == 0 && s != S_SS && s != S_CS;
    return (!(a & 0x80u) && !null_sel) ||
           (!null_sel && g->limit != 0xffffffffu) || expand_down;
}

uint32_t bt_mode(const struct cpu *cpu)
{
    uint32_t m = 0, cr0 = cpu->cr0;
    if (cr0 & CR0_PG)
        m |= MODE_PAGING;
    if (cpu->cpl == 3)
        m |= MODE_CPL3;
    if (cpu->cpl == 0)
        m |= MODE_CPL0;
    const struct seg *sg = cpu->seg;
    if ((sg[S_CS].base | sg[S_DS].base | sg[S_ES].base | sg[S_SS].base) == 0 &&
        (sg[S_CS].limit & sg[S_DS].limit & sg[S_ES].limit & sg[S_SS].limit) ==
            0xffffffffu)
        m |= MODE_FLAT;
    if (cpu->ram_direct && !(cr0 & CR0_PG) && cpu->a20_mask == 0xffffffffu)
        m |= MODE_DIRECT;
    if (cr0 & (CR0_TS | CR0_EM))
        m |= MODE_FPU_NM;
    if (fpu_exceptions_unmasked(cpu))
        m |= MODE_FPU_MF;
    if ((cpu->eflags & FL_TF) || (cpu->dr[7] & 0xffu))
        m |= MODE_DEBUG;
    if (cpu->eflags & FL_TF)
        m |= MODE_TF;
    /* usually every segment is present, 4 GiB and expand-up: one test
     * (an attribute with 0x14 in bits 2-4 is expand-down data) */
    _Static_assert(S_ES == 0 && S_GS == 5, "segment order");
    uint32_t lim = sg[0].limit & sg[1].limit & sg[2].limit & sg[3].limit &
                   sg[4].limit & sg[5].limit;
    uint32_t pres = sg[0].attr & sg[1].attr & sg[2].attr & sg[3].attr &
                    sg[4].attr & sg[5].attr & 0x80u;
    bool expdown = !((sg[0].attr ^ 0x14u) & 0x1cu) | !((sg[1].attr ^ 0x14u) & 0x1cu) |
                   !((sg[2].attr ^ 0x14u) & 0x1cu) | !((sg[3].attr ^ 0x14u) & 0x1cu) |
                   !((sg[4].attr ^ 0x14u) & 0x1cu) | !((sg[5].attr ^ 0x14u) & 0x1cu);
    if (lim != 0xffffffffu || !pres || expdown)
        for (int s = S_ES; s <= S_GS; s++)
            if (seg_needs_check(&sg[s], s))
                m |= MODE_SEGCHK(s);
    return m;
}

static void smc_check(struct cpu *cpu, uint32_t phys);

static bool phys_in_ram(const struct cpu *cpu, uint32_t phys, uint32_t len)
{
    return phys < cpu->ram_size && cpu->ram_size - phys >= len;
}

/* Read or update a page-table entry in guest RAM. Page tables outside RAM
 * read as not present (all-zero) rather than reaching host memory. */
static uint32_t pte_read(struct cpu *cpu, uint32_t phys)
{
    uint32_t v = 0;
    if (phys_in_ram(cpu, phys, 4))
        memcpy(&v, cpu->ram + phys, 4);
    return v;
}

static void pte_set_bits(struct cpu *cpu, uint32_t phys, uint32_t bits)
{
    if (phys_in_ram(cpu, phys, 4)) {
        uint32_t v;
        memcpy(&v, cpu->ram + phys, 4);
        if ((v & bits) != bits) {
            v |= bits;
            smc_check(cpu, phys);
            memcpy(cpu->ram + phys, &v, 4);
        }
    }
}

struct walk {
    uint32_t phys;      /* physical address of the access */
    bool writable;      /* a write at this privilege would succeed */
    bool dirty;         /* D already set, so writes need no walk */
    bool global;
};

/* Walk the guest page tables for one access. Returns 0 or a #PF error
 * code with bit 31 set (so 0 error codes stay distinguishable). */
static uint32_t walk(struct cpu *cpu, uint32_t lin, unsigned acc, bool user,
                     struct walk *w)
{
    bool is_write = acc & ACC_WRITE;
    uint32_t err = (is_write ? PF_W : 0) | (user ? PF_U : 0);

    if (!(cpu->cr0 & CR0_PG)) {
        w->phys = lin & cpu->a20_mask;
        w->writable = w->dirty = true;
        w->global = false;
        return 0;
    }
    uint32_t pde_addr = (cpu->cr3 & 0xfffff000u) | ((lin >> 20) & 0xffcu);
    uint32_t pde = pte_read(cpu, pde_addr);
    if (!(pde & PTE_P))
        return 0x80000000u | err;
    bool wp = cpu->cr0 & CR0_WP;
    if ((pde & PTE_PS) && (cpu->cr4 & CR4_PSE)) {
        bool ok_u = !user || (pde & PTE_U);
        bool ok_w = (pde & PTE_W) || (!user && !wp);
        if (!ok_u || (is_write && !ok_w))
            return 0x80000000u | err | PF_P;
        pte_set_bits(cpu, pde_addr, PTE_A | (is_write ? PTE_D : 0));
        w->phys = ((pde & 0xffc00000u) | (lin & 0x003fffffu)) & cpu->a20_mask;
        w->writable = ok_w;
        w->dirty = is_write || (pde & PTE_D);
        w->global = (pde & PTE_G) && (cpu->cr4 & CR4_PGE);
        return 0;
    }
    uint32_t pte_addr = (pde & 0xfffff000u) | ((lin >> 10) & 0xffcu);
    uint32_t pte = pte_read(cpu, pte_addr);
    if (!(pte & PTE_P))
        return 0x80000000u | err;
    uint32_t both = pde & pte;
    bool ok_u = !user || (both & PTE_U);
    bool ok_w = (both & PTE_W) || (!user && !wp);
    if (!ok_u || (is_write && !ok_w))
        return 0x80000000u | err | PF_P;
    pte_set_bits(cpu, pde_addr, PTE_A);
    pte_set_bits(cpu, pte_addr, PTE_A | (is_write ? PTE_D : 0));
    w->phys = ((pte & 0xfffff000u) | (lin & 0xfffu)) & cpu->a20_mask;
    w->writable = ok_w;
    w->dirty = is_write || (pte & PTE_D);
    w->global = (pte & PTE_G) && (cpu->cr4 & CR4_PGE);
    return 0;
}

/* User-mode access: CPL 3, unless the CPU itself reads or writes a
 * system structure (GDT, IDT, TSS, the ring-0 stack of a delivery). */
static bool access_user(const struct cpu *cpu, unsigned acc)
{
    return cpu->cpl == 3 && !(acc & ACC_SUPER);
}

static void tlb_clear(struct tlb *t);
static void tlb_fill(struct cpu *cpu, uint32_t lin, const struct walk *w,
                     bool user);
static void as_stable_forget(struct cpu *cpu);

/* C-side translation (helpers, interrupt delivery) through the same soft
 * TLB as translated code: a hit costs no page walk. */
uint32_t mmu_translate(struct cpu *cpu, uint32_t lin, unsigned acc)
{
    bool user = access_user(cpu, acc);
    uint32_t page = lin >> 12, idx = page & TLB_MASK;
    const struct tlb *t = &cpu->tlb[user];
    int32_t tag = (acc & ACC_WRITE) ? t->wtag[idx] : t->rtag[idx];
    if (tag == -(int32_t)page && !(cpu->dr[7] & 0xffu)) {
        uintptr_t host = (uintptr_t)(t->addend[idx] + lin);
        return (uint32_t)(host - (uintptr_t)cpu->ram);
    }
    struct walk w;
    uint32_t err = walk(cpu, lin, acc, user, &w);
    if (err) {
        cpu->cr2 = lin;
        bt_raise(cpu, EXC_PF, err & 0x7fffffffu, true);
    }
    if ((cpu->cr0 & CR0_PG) && phys_in_ram(cpu, w.phys & ~0xfffu, 0x1000) &&
        !(cpu->dr[7] & 0xffu))
        tlb_fill(cpu, lin, &w, user);
    return w.phys;
}

/* A TLB write entry (half u, index idx) now maps physical page phys. */
static void note_wmapped(struct bt *bt, uint32_t phys, uint32_t u, uint32_t idx)
{
    if ((phys >> 12) >= bt->n_pages)
        return;
    uint32_t *wm = &bt->page_wmapped[phys >> 12], one = 1 + (u << 16 | idx);
    *wm = *wm == 0 || *wm == one ? one : WMAPPED_MANY;
}

static void tlb_fill(struct cpu *cpu, uint32_t lin, const struct walk *w,
                     bool user)
{
    uint32_t page = lin >> 12;
    uint32_t idx = page & TLB_MASK;
    struct tlb *t = &cpu->tlb[user];
    t->rtag[idx] = -(int32_t)page;
    bool code = cache_page_has_code(cpu->bt, w->phys);
    t->wtag[idx] = (w->writable && w->dirty && !code) ? -(int32_t)page
                                                       : (int32_t)TLB_TAG_INVALID;
    t->addend[idx] = (uint64_t)(uintptr_t)(cpu->ram + (w->phys & ~0xfffu)) -
                     (uint64_t)(lin & ~0xfffu);
    if (t->wtag[idx] != (int32_t)TLB_TAG_INVALID)
        note_wmapped(cpu->bt, w->phys, user, idx);
    if (cpu->tlb_log_n == TLB_LOG_SIZE) {
        /* the log is full: start over rather than let flushes and code
         * page protection scan the whole table */
        as_stable_forget(cpu);
        tlb_clear(&cpu->tlb[0]);
        tlb_clear(&cpu->tlb[1]);
        cpu->tlb_log_n = cpu->tlb_log_global = 0;
        t->rtag[idx] = -(int32_t)page;
        t->wtag[idx] = (w->writable && w->dirty && !code) ? -(int32_t)page
                                                           : (int32_t)TLB_TAG_INVALID;
    }
    cpu->tlb_log[cpu->tlb_log_n++] = ((uint32_t)user << 16) | idx |
                                     (w->global ? TLB_LOG_GLOBAL : 0);
    cpu->bt->stats.tlb_fills++;
}

/* A write is about to land on physical page `phys`: drop translations. */
static void smc_check(struct cpu *cpu, uint32_t phys)
{
    if (cache_page_has_code(cpu->bt, phys)) {
        cache_invalidate_page(cpu->bt, phys & ~0xfffu);
        cpu->smc_hit = 1;
    }
}

static uint32_t mmio_read(struct cpu *cpu, uint32_t phys, unsigned size)
{
    cpu->bt->stats.mmio_accesses++;
    if (cpu->host && cpu->host->mmio_read)
        return cpu->host->mmio_read(cpu->host->opaque, phys, size);
    return 0xffffffffu;
}

static void mmio_write(struct cpu *cpu, uint32_t phys, unsigned size,
                       uint32_t val)
{
    cpu->bt->stats.mmio_accesses++;
    if (cpu->host && cpu->host->mmio_write)
        cpu->host->mmio_write(cpu->host->opaque, phys, size, val);
}

/* Byte-wise physical access used for the rare cases (page-crossing,
 * MMIO, bounce buffers). */
static uint8_t phys_read8(struct cpu *cpu, uint32_t phys)
{
    if (phys < cpu->ram_size)
        return cpu->ram[phys];
    return (uint8_t)mmio_read(cpu, phys, 1);
}

static void phys_write8(struct cpu *cpu, uint32_t phys, uint8_t v)
{
    if (phys < cpu->ram_size) {
        smc_check(cpu, phys);
        cpu->ram[phys] = v;
    } else {
        mmio_write(cpu, phys, 1, v);
    }
}

/*
 * Called from translated code on a TLB miss (tag mismatch). Returns the
 * host address the instruction should access. Cases:
 *  - RAM, within one page: fill the TLB and return the RAM pointer;
 *  - a write to a page holding translated code: invalidate it first
 *    (mem_post then leaves the block so the new code is seen);
 *  - outside RAM, or crossing into a page that is not host-contiguous:
 *    hand out cpu->bounce, filled by reading first; mmu_slow_post writes
 *    it back after the instruction ran.
 * Both pages of a crossing access are translated before anything is
 * written, so a #PF leaves the guest state untouched.
 */
static uint8_t *slow_path(struct cpu *cpu, uint32_t lin, uint32_t acc);

/* DR0-DR3 data breakpoints (R/W 01 write, 11 read/write) hit by an
 * access: noted in db_pending; the run loop raises the #DB trap after the
 * instruction. */
static void watchpoints(struct cpu *cpu, uint32_t lin, unsigned size, uint32_t acc)
{
    uint32_t dr7 = cpu->dr[7];
    for (int i = 0; i < 4; i++) {
        if (!((dr7 >> (2 * i)) & 3u))
            continue;
        uint32_t rw = (dr7 >> (16 + 4 * i)) & 3u;
        uint32_t len = ((dr7 >> (18 + 4 * i)) & 3u) + 1;
        if (len == 3)
            len = 8;
        if (rw == 0 || rw == 2)
            continue; /* execution or I/O */
        if (rw == 1 && !(acc & ACC_WRITE))
            continue;
        uint32_t a = cpu->dr[i] & ~(len - 1);
        if (lin < a + len && a < lin + size)
            cpu->db_pending |= 1u << i;
    }
}

/* Direct-addressing code indexes from cpu + BT_RAM_OFFSET: hand back the
 * pointer in that frame. */
uint8_t *mmu_slow_path(struct cpu *cpu, uint32_t lin, uint32_t acc)
{
    uint8_t *p = slow_path(cpu, lin, acc);
    if (acc & ACC_DIRECT)
        return (uint8_t *)(uintptr_t)((uintptr_t)p - ((uintptr_t)cpu + BT_RAM_OFFSET));
    return p;
}

/* A fused run (xlate_stack_run.c, xlate_mov_run.c) is served here as one
 * access when each page of its span is present RAM without translated
 * code (for writes) and no watchpoint is armed; a span across two such
 * pages goes through the bounce buffer. Anything else (a fault, MMIO,
 * code) replays the run one instruction at a time, so the exception, CR2
 * and ESP are those of the instruction that faulted. The check does not
 * fault, sets A/D bits only on pages the run accesses, and leaves the
 * walks in w[] for the access. */
static bool fused_run_servable(struct cpu *cpu, uint32_t lin, uint32_t acc,
                               bool user, struct walk w[2])
{
    unsigned size = acc & ACC_SIZE_MASK;
    if ((cpu->dr[7] & 0xffu) || size > sizeof cpu->bounce)
        return false;
    uint32_t off = lin & 0xfffu;
    uint32_t first = off + size > 0x1000u ? 0x1000u - off : size;
    uint32_t pages[2] = {lin, (lin | 0xfffu) + 1}, bytes[2] = {first, size - first};
    for (int i = 0; i < 2 && bytes[i]; i++)
        if (walk(cpu, pages[i], acc, user, &w[i]) ||
            !phys_in_ram(cpu, w[i].phys, bytes[i]) ||
            ((acc & ACC_WRITE) && cache_page_has_code(cpu->bt, w[i].phys)))
            return false;
    return true;
}

/* A frame region's span: on one page of plain RAM, accessible as acc
 * asks and, for writes, free of translated code. */
static bool region_servable(struct cpu *cpu, uint32_t lin, uint32_t acc,
                            bool user, struct walk *w)
{
    unsigned size = acc & ACC_SIZE_MASK;
    return !(cpu->dr[7] & 0xffu) && (lin & 0xfffu) + size <= 0x1000u &&
           !walk(cpu, lin, acc, user, w) && phys_in_ram(cpu, w->phys, size) &&
           !((acc & ACC_WRITE) && cache_page_has_code(cpu->bt, w->phys));
}

/* The region starting at eip could not be served: remember not to form
 * it again and drop the blocks holding it, so the next run translates it
 * with a probe per access (a frame that straddles a page stays put for
 * the whole loop that uses it). */
static void region_drop(struct cpu *cpu, uint32_t eip)
{
    struct bt *bt = cpu->bt;
    bt->no_region[eip % NO_REGION_SLOTS] = eip;
    struct walk w;
    if (!walk(cpu, eip, ACC_FETCH | ACC_READ | 1, cpu->cpl == 3, &w))
        cache_invalidate_at(bt, w.phys, eip);
}

/* Walk the page of lin, and of lin + size - 1 if that is the next one,
 * raising #PF at the first that faults. */
static void walk_or_fault(struct cpu *cpu, uint32_t lin, uint32_t acc,
                          bool user, struct walk w[2])
{
    unsigned size = acc & ACC_SIZE_MASK;
    uint32_t pages[2] = {lin, (lin | 0xfffu) + 1};
    for (int i = 0; i < 1 + ((lin & 0xfffu) + size > 0x1000u); i++) {
        uint32_t err = walk(cpu, pages[i], acc, user, &w[i]);
        if (err) {
            cpu->cr2 = pages[i];
            bt_raise(cpu, EXC_PF, err & 0x7fffffffu, true);
        }
    }
}

static uint8_t *slow_path(struct cpu *cpu, uint32_t lin, uint32_t acc)
{
    unsigned size = acc & ACC_SIZE_MASK;
    bool user = access_user(cpu, acc);
    struct walk w[2];
    if (!(acc & ACC_FUSED)) {
        walk_or_fault(cpu, lin, acc, user, w);
    } else if (acc & ACC_NO_BOUNCE) {
        if (!region_servable(cpu, lin, acc, user, &w[0])) {
            region_drop(cpu, cpu->eip);
            cpu->unfuse_steps = ACC_FUSED_GET_N(acc);
            cpu->bt->stats.unfused_runs++;
            cpu->bt->stats.region_fallbacks++;
            bt_leave(cpu, EXIT_R_RESUME);
        }
    } else if (!fused_run_servable(cpu, lin, acc, user, w)) {
        /* the guest state is that before the run (mem_slow saved it) */
        cpu->unfuse_steps = ACC_FUSED_GET_N(acc);
        cpu->bt->stats.unfused_runs++;
        bt_leave(cpu, EXIT_R_RESUME);
    }
    uint32_t off = lin & 0xfffu;
    bool crossing = off + size > 0x1000u;
    if (cpu->dr[7] & 0xffu)
        watchpoints(cpu, lin, size, acc);
    if (!crossing && phys_in_ram(cpu, w[0].phys, size)) {
        if (acc & ACC_WRITE)
            smc_check(cpu, w[0].phys);
        /* with breakpoints armed, every access comes back here */
        if (!(cpu->dr[7] & 0xffu))
            tlb_fill(cpu, lin, &w[0], user);
        return cpu->ram + w[0].phys;
    }
    /* Bounce: gather the bytes, let the instruction work on the copy. */
    uint32_t first = crossing ? 0x1000u - off : size;
    memset(cpu->bounce, 0, sizeof cpu->bounce);
    if (acc & ACC_READ) {
        if (!crossing && w[0].phys >= cpu->ram_size && size <= 4 &&
            (size & (size - 1)) == 0) {
            uint32_t v = mmio_read(cpu, w[0].phys, size);
            memcpy(cpu->bounce, &v, size);
        } else {
            for (uint32_t i = 0; i < size; i++)
                cpu->bounce[i] = phys_read8(
                    cpu, i < first ? w[0].phys + i : w[1].phys + (i - first));
        }
    }
    cpu->bounce_pending = (acc & ACC_WRITE) != 0;
    cpu->bounce_lin = lin;
    cpu->bounce_acc = acc;
    return cpu->bounce;
}

/* After the instruction ran on the bounce buffer: write it back. */
static void bounce_write_back(struct cpu *cpu);

void mmu_slow_post(struct cpu *cpu)
{
    bounce_write_back(cpu);
}

static void bounce_write_back(struct cpu *cpu)
{
    if (!cpu->bounce_pending)
        return;
    cpu->bounce_pending = 0;
    uint32_t lin = cpu->bounce_lin;
    unsigned acc = cpu->bounce_acc;
    unsigned size = acc & ACC_SIZE_MASK;
    bool user = access_user(cpu, acc);
    struct walk w1, w2;
    /* Already checked by mmu_slow_path; these walks cannot fault. */
    walk(cpu, lin, acc, user, &w1);
    uint32_t off = lin & 0xfffu;
    bool crossing = off + size > 0x1000u;
    uint32_t first = crossing ? 0x1000u - off : size;
    if (crossing)
        walk(cpu, (lin | 0xfffu) + 1, acc, user, &w2);
    if (!crossing && w1.phys >= cpu->ram_size && size <= 4 &&
        (size & (size - 1)) == 0) {
        uint32_t v = 0;
        memcpy(&v, cpu->bounce, size);
        mmio_write(cpu, w1.phys, size, v);
        return;
    }
    for (uint32_t i = 0; i < size; i++)
        phys_write8(cpu, i < first ? w1.phys + i : w2.phys + (i - first),
                    cpu->bounce[i]);
}

static inline uint32_t load_le(const uint8_t *p, unsigned size)
{
    uint32_t v = 0;
    switch (size) {
    case 4: memcpy(&v, p, 4); break;
    case 2: { uint16_t h; memcpy(&h, p, 2); v = h; break; }
    case 1: v = *p; break;
    default: memcpy(&v, p, size < 4 ? size : 4); break;
    }
    return v;
}

static inline void store_le(uint8_t *p, unsigned size, uint32_t v)
{
    switch (size) {
    case 4: memcpy(p, &v, 4); break;
    case 2: { uint16_t h = (uint16_t)v; memcpy(p, &h, 2); break; }
    case 1: *p = (uint8_t)v; break;
    default: memcpy(p, &v, size < 4 ? size : 4); break;
    }
}

/* C-side accesses: one translation per page touched (system structures
 * and stack frames are read and written here on every interrupt). */
uint32_t mmu_read_acc(struct cpu *cpu, uint32_t lin, unsigned size, unsigned acc)
{
    const uint8_t *h = mmu_tlb_hit(cpu, lin, size, acc & ~ACC_WRITE);
    if (h)
        return load_le(h, size);
    uint32_t first = 0x1000u - (lin & 0xfffu);
    if (first >= size) {
        uint32_t phys = mmu_translate(cpu, lin, acc | ACC_READ | size);
        if (phys_in_ram(cpu, phys, size))
            return load_le(cpu->ram + phys, size);
    }
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++) {
        uint32_t phys = mmu_translate(cpu, lin + i, acc | ACC_READ | 1);
        v |= (uint32_t)phys_read8(cpu, phys) << (8 * i);
    }
    return v;
}

void mmu_write_acc(struct cpu *cpu, uint32_t lin, unsigned size, uint32_t val,
                   unsigned acc)
{
    uint8_t *h = mmu_tlb_hit(cpu, lin, size, acc | ACC_WRITE);
    if (h) {
        store_le(h, size, val);
        return;
    }
    uint32_t first = 0x1000u - (lin & 0xfffu);
    if (first >= size) {
        uint32_t phys = mmu_translate(cpu, lin, acc | ACC_WRITE | size);
        if (phys_in_ram(cpu, phys, size)) {
            smc_check(cpu, phys);
            store_le(cpu->ram + phys, size, val);
            return;
        }
    }
    /* Check every page first so a fault writes nothing. */
    uint32_t phys[4];
    for (unsigned i = 0; i < size; i++)
        phys[i] = mmu_translate(cpu, lin + i, acc | ACC_WRITE | 1);
    for (unsigned i = 0; i < size; i++)
        phys_write8(cpu, phys[i], (uint8_t)(val >> (8 * i)));
}

/* The slow paths of mmu_read_block and mmu_write_block (internal.h). */
void mmu_read_block_slow(struct cpu *cpu, uint32_t lin, void *buf, unsigned len,
                         unsigned acc)
{
    uint32_t first = 0x1000u - (lin & 0xfffu);
    if (first > len)
        first = len;
    uint32_t p1 = mmu_translate(cpu, lin, acc | ACC_READ | 1);
    uint32_t p2 = first < len ? mmu_translate(cpu, lin + first, acc | ACC_READ | 1) : 0;
    uint8_t *out = buf;
    if (phys_in_ram(cpu, p1, first) && (first == len || phys_in_ram(cpu, p2, len - first))) {
        memcpy(out, cpu->ram + p1, first);
        memcpy(out + first, cpu->ram + p2, len - first);
        return;
    }
    for (unsigned i = 0; i < len; i++)
        out[i] = phys_read8(cpu, i < first ? p1 + i : p2 + (i - first));
}

void mmu_write_block_slow(struct cpu *cpu, uint32_t lin, const void *buf,
                          unsigned len, unsigned acc)
{
    uint32_t first = 0x1000u - (lin & 0xfffu);
    if (first > len)
        first = len;
    uint32_t p1 = mmu_translate(cpu, lin, acc | ACC_WRITE | 1);
    uint32_t p2 = first < len ? mmu_translate(cpu, lin + first, acc | ACC_WRITE | 1) : 0;
    const uint8_t *in = buf;
    for (unsigned i = 0; i < len; i++)
        phys_write8(cpu, i < first ? p1 + i : p2 + (i - first), in[i]);
}

uint32_t mmu_read(struct cpu *cpu, uint32_t lin, unsigned size)
{
    return mmu_read_acc(cpu, lin, size, 0);
}

void mmu_write(struct cpu *cpu, uint32_t lin, unsigned size, uint32_t val)
{
    mmu_write_acc(cpu, lin, size, val, 0);
}

uint8_t *mmu_host_ptr(struct cpu *cpu, uint32_t lin, uint32_t len,
                      unsigned acc)
{
    if (len == 0 || ((lin & 0xfffu) + len) > 0x1000u)
        return NULL;
    uint32_t phys = mmu_translate(cpu, lin, acc);
    if (!phys_in_ram(cpu, phys, len))
        return NULL;
    if (acc & ACC_WRITE)
        smc_check(cpu, phys);
    return cpu->ram + phys;
}

size_t mmu_fetch_code(struct cpu *cpu, uint32_t lin, uint8_t *buf,
                      size_t len, uint32_t *phys_out)
{
    struct walk w;
    if (walk(cpu, lin, ACC_FETCH | ACC_READ, cpu->cpl == 3, &w))
        return 0;
    cpu->fetch_global = w.global;
    size_t n = 0x1000u - (lin & 0xfffu);
    if (n > len)
        n = len;
    if (phys_out)
        *phys_out = w.phys;
    if (!phys_in_ram(cpu, w.phys, (uint32_t)n))
        return 0; /* executing outside RAM: treated as a fetch fault */
    memcpy(buf, cpu->ram + w.phys, n);
    return n;
}

static void tlb_clear(struct tlb *t)
{
    for (unsigned i = 0; i < TLB_SIZE; i++) {
        t->rtag[i] = (int32_t)TLB_TAG_INVALID;
        t->wtag[i] = (int32_t)TLB_TAG_INVALID;
    }
}

static void tlb_invalidate_entry(struct cpu *cpu, uint32_t logged)
{
    struct tlb *t = &cpu->tlb[(logged >> 16) & 1u];
    uint32_t idx = logged & TLB_MASK;
    t->rtag[idx] = (int32_t)TLB_TAG_INVALID;
    t->wtag[idx] = (int32_t)TLB_TAG_INVALID;
}

void bt_tlb_flush(struct cpu *cpu)
{
    as_stable_forget(cpu);
    if (cpu->tlb_log_n <= TLB_LOG_SIZE) {
        for (uint32_t i = 0; i < cpu->tlb_log_n; i++)
            tlb_invalidate_entry(cpu, cpu->tlb_log[i]);
    } else {
        tlb_clear(&cpu->tlb[0]);
        tlb_clear(&cpu->tlb[1]);
    }
    cpu->tlb_log_n = cpu->tlb_log_global = 0;
    /* The branch cache is keyed by linear EIP: a new mapping may put other
     * code there. */
    cache_jc_clear(cpu);
    if (cpu->bt) {
        cache_code_wp_sync(cpu->bt); /* CR0.PG changes flush */
        cpu->bt->stats.tlb_flushes++;
    }
}

/* CR3 load: entries of global pages (PTE.G with CR4.PGE) may survive, as
 * on hardware; so may branch-cache entries of code on global pages. This
 * keeps the kernel's translations across context switches. */
void bt_tlb_flush_nonglobal(struct cpu *cpu)
{
    if (!(cpu->cr4 & CR4_PGE) || cpu->tlb_log_n > TLB_LOG_SIZE) {
        bt_tlb_flush(cpu);
        return;
    }
    as_stable_forget(cpu);
    /* the entries the last such flush kept are global still: a CR3 load
     * (each context switch) walks only what was filled since */
    uint32_t kept = cpu->tlb_log_global <= cpu->tlb_log_n ? cpu->tlb_log_global : 0;
    for (uint32_t i = kept; i < cpu->tlb_log_n; i++) {
        uint32_t e = cpu->tlb_log[i];
        if (e & TLB_LOG_GLOBAL)
            cpu->tlb_log[kept++] = e;
        else
            tlb_invalidate_entry(cpu, e);
    }
    cpu->tlb_log_n = cpu->tlb_log_global = kept;
    cache_jc_clear_nonglobal(cpu);
    if (cpu->bt)
        cpu->bt->stats.tlb_flushes++;
}

void bt_tlb_flush_page(struct cpu *cpu, uint32_t linear)
{
    uint32_t page = linear >> 12;
    uint32_t idx = page & TLB_MASK;
    for (int u = 0; u < 2; u++) {
        if (cpu->tlb[u].rtag[idx] == -(int32_t)page)
            cpu->tlb[u].rtag[idx] = (int32_t)TLB_TAG_INVALID;
        if (cpu->tlb[u].wtag[idx] == -(int32_t)page)
            cpu->tlb[u].wtag[idx] = (int32_t)TLB_TAG_INVALID;
    }
    cache_jc_clear_page(cpu, linear);
    if (cpu->bt)
        cpu->bt->stats.tlb_page_flushes++;
}

/* Writes to a page that now holds code must go through the slow path. */
static void protect_entry(struct cpu *cpu, int u, uint32_t i, uint32_t phys_page)
{
    struct tlb *t = &cpu->tlb[u];
    if (t->wtag[i] == (int32_t)TLB_TAG_INVALID)
        return;
    uint32_t lin_page = (uint32_t)(-t->wtag[i]) << 12;
    uint64_t host = t->addend[i] + lin_page;
    if (host == (uint64_t)(uintptr_t)(cpu->ram + phys_page))
        t->wtag[i] = (int32_t)TLB_TAG_INVALID;
}

void tlb_protect_code_page(struct cpu *cpu, uint32_t phys_page)
{
    /* Most pages that gain code were never written through the TLB (the
     * kernel's text: loaded, decompressed with paging off), or through
     * one entry only: page_wmapped names it, and only several send the
     * walk through the log. None is left after, and none is added while
     * the page holds code. */
    struct bt *bt = cpu->bt;
    if ((phys_page >> 12) < bt->n_pages) {
        uint32_t wm = bt->page_wmapped[phys_page >> 12];
        bt->page_wmapped[phys_page >> 12] = 0;
        if (wm != WMAPPED_MANY) {
            if (wm)
                protect_entry(cpu, (int)((wm - 1) >> 16), (wm - 1) & TLB_MASK, phys_page);
            return;
        }
    }
    if (cpu->tlb_log_n <= TLB_LOG_SIZE) {
        for (uint32_t i = 0; i < cpu->tlb_log_n; i++)
            protect_entry(cpu, (int)((cpu->tlb_log[i] >> 16) & 1u),
                          cpu->tlb_log[i] & TLB_MASK, phys_page);
        return;
    }
    for (int u = 0; u < 2; u++)
        for (uint32_t i = 0; i < TLB_SIZE; i++)
            protect_entry(cpu, u, i, phys_page);
}

/* Walk without raising, for monitor code (hypercalls): through the
 * supervisor half of the soft TLB when it holds the page (a write tag
 * also says the page is dirty and free of code), else by a page walk. */
static int lin_to_phys_quiet(struct cpu *cpu, uint32_t lin, bool write,
                             uint32_t *phys)
{
    uint32_t page = lin >> 12, idx = page & TLB_MASK;
    const struct tlb *t = &cpu->tlb[0];
    if ((cpu->cr0 & CR0_PG) &&
        (write ? t->wtag[idx] : t->rtag[idx]) == -(int32_t)page) {
        *phys = (uint32_t)((uintptr_t)(t->addend[idx] + lin) -
                           (uintptr_t)cpu->ram);
        return 0;
    }
    struct walk w;
    if (walk(cpu, lin, (write ? ACC_WRITE : ACC_READ) | ACC_SUPER, false, &w))
        return -1;
    if (w.phys >= cpu->ram_size)
        return -1;
    *phys = w.phys;
    return 0;
}

int bt_guest_read(struct cpu *cpu, uint32_t linear, void *buf, uint32_t len)
{
    uint8_t *out = buf;
    for (uint32_t done = 0; done < len;) {
        uint32_t phys, lin = linear + done;
        if (lin_to_phys_quiet(cpu, lin, false, &phys))
            return -1;
        uint32_t n = 0x1000u - (lin & 0xfffu);
        if (n > len - done)
            n = len - done;
        if (!phys_in_ram(cpu, phys, n))
            return -1;
        memcpy(out + done, cpu->ram + phys, n);
        done += n;
    }
    return 0;
}

int bt_guest_write(struct cpu *cpu, uint32_t linear, const void *buf,
                   uint32_t len)
{
    const uint8_t *in = buf;
    /* check every page before writing any */
    for (uint32_t done = 0; done < len;) {
        uint32_t phys, lin = linear + done;
        if (lin_to_phys_quiet(cpu, lin, true, &phys))
            return -1;
        uint32_t n = 0x1000u - (lin & 0xfffu);
        if (n > len - done)
            n = len - done;
        if (!phys_in_ram(cpu, phys, n))
            return -1;
        done += n;
    }
    for (uint32_t done = 0; done < len;) {
        uint32_t phys = 0, lin = linear + done;
        lin_to_phys_quiet(cpu, lin, true, &phys); /* checked above */
        uint32_t n = 0x1000u - (lin & 0xfffu);
        if (n > len - done)
            n = len - done;
        smc_check(cpu, phys);
        memcpy(cpu->ram + phys, in + done, n);
        done += n;
    }
    return 0;
}

/* ---- address-space switches (PV) ----
 * A VMI guest reports every page-table write, so a CR3 switch need not
 * throw away the TLB and branch-cache entries of the space it leaves:
 *  - entries under a directory entry both spaces hold (the kernel's page
 *    tables are in every space) translate the same in both: they stay;
 *  - the others go to a slot of the space left, and come back when it is
 *    entered again.
 * A saved entry remembers the page-table entry it came from (its leaf:
 * the PTE, or the PDE of a 4 MiB page); a reported write drops exactly the
 * saved entries it makes stale, in every slot. A live entry is what the
 * tables say, unless a write was reported since the last switch (one the
 * guest may leave to the CR3 load to flush): then each is checked against
 * the tables before it stays or is saved. */

/* A slot's key: the directory's page, with bit 0 so that 0 means empty. */
static uint32_t as_key(uint32_t cr3)
{
    return (cr3 & 0xfffff000u) | 1u;
}

/* The state the saved entries' permissions were checked under. */
static uint32_t as_checked(const struct cpu *cpu)
{
    return (cpu->cr0 & (CR0_PG | CR0_WP)) | (cpu->cr4 & CR4_PSE);
}

/* The two spaces' directory entries for 4 MiB regions, read once per
 * region while a switch goes through the entries (which come in fill
 * order, so a few regions alternate). */
#define PDE_MEMO 4
struct pde_pair {
    uint32_t index; /* of the region; 1024: none read yet */
    uint32_t old_pde, new_pde;
};

struct pde_memo {
    uint32_t old_cr3, new_cr3;
    struct pde_pair e[PDE_MEMO];
};

static void pde_memo_init(struct pde_memo *m, uint32_t old_cr3,
                          uint32_t new_cr3)
{
    m->old_cr3 = old_cr3 & 0xfffff000u;
    m->new_cr3 = new_cr3 & 0xfffff000u;
    for (unsigned i = 0; i < PDE_MEMO; i++)
        m->e[i].index = 1024;
}

static inline const struct pde_pair *pde_pair_read(struct cpu *cpu,
                                                   struct pde_memo *m,
                                                   uint32_t lin)
{
    uint32_t i = lin >> 22;
    struct pde_pair *pp = &m->e[i % PDE_MEMO];
    if (pp->index != i) {
        pp->index = i;
        pp->old_pde = pte_read(cpu, m->old_cr3 | i * 4);
        pp->new_pde = pte_read(cpu, m->new_cr3 | i * 4);
    }
    return pp;
}

/* Where the translation of lin under directory entry pde (of the
 * directory of cr3) comes from: the PTE, or the PDE of a 4 MiB page. */
static uint32_t as_leaf(const struct cpu *cpu, uint32_t cr3, uint32_t pde,
                        uint32_t lin)
{
    if ((pde & PTE_PS) && (cpu->cr4 & CR4_PSE))
        return (cr3 & 0xfffff000u) | ((lin >> 20) & 0xffcu);
    return (pde & 0xfffff000u) | ((lin >> 10) & 0xffcu);
}

struct as_probe {
    uint32_t phys; /* page frame */
    uint32_t leaf;
    bool wd;       /* writable at this privilege, and dirty */
};

/* What the tables say about lin now, without setting A/D bits: false if
 * a walk would fault or would have to set an A bit (a native TLB could
 * not hold the page then). */
static bool as_probe(struct cpu *cpu, uint32_t cr3, uint32_t pde,
                     uint32_t lin, bool user, struct as_probe *p)
{
    if ((pde & (PTE_P | PTE_A)) != (PTE_P | PTE_A))
        return false;
    uint32_t leaf = pde, both = pde, frame;
    p->leaf = as_leaf(cpu, cr3, pde, lin);
    if ((pde & PTE_PS) && (cpu->cr4 & CR4_PSE)) {
        frame = (pde & 0xffc00000u) | (lin & 0x003ff000u);
    } else {
        leaf = pte_read(cpu, p->leaf);
        if ((leaf & (PTE_P | PTE_A)) != (PTE_P | PTE_A))
            return false;
        both &= leaf;
        frame = leaf & 0xfffff000u;
    }
    if (user && !(both & PTE_U))
        return false;
    p->wd = ((both & PTE_W) || (!user && !(cpu->cr0 & CR0_WP))) &&
            (leaf & PTE_D);
    p->phys = frame & cpu->a20_mask;
    return true;
}

/* The frames holding a slot's leaves: writes elsewhere skip the slot. */
static void slot_note_table(struct as_slot *s, uint32_t leaf)
{
    uint32_t frame = leaf & 0xfffff000u;
    if (s->n_tables > AS_SLOT_TABLES)
        return;
    for (uint32_t i = s->n_tables; i-- > 0;)
        if (s->tables[i] == frame)
            return;
    if (s->n_tables < AS_SLOT_TABLES)
        s->tables[s->n_tables] = frame;
    s->n_tables++; /* past AS_SLOT_TABLES: every write looks */
}

static bool slot_uses_table(const struct as_slot *s, uint32_t frame)
{
    if (s->n_tables > AS_SLOT_TABLES)
        return true;
    for (uint32_t i = 0; i < s->n_tables; i++)
        if (s->tables[i] == frame)
            return true;
    return false;
}

/* Page-table entries at physical [lo, lo + len) changed (len 4: one
 * entry; 4096: the whole page). Drop what that makes stale in s. */
static void slot_forget(struct as_slot *s, uint32_t lo, uint32_t len)
{
    uint32_t pd = s->cr3 & 0xfffff000u;
    bool pd_hit = (lo & 0xfffff000u) == pd;
    if (pd_hit && len > 4) {
        s->cr3 = 0; /* its directory is no longer one */
        return;
    }
    if (!pd_hit && !slot_uses_table(s, lo & 0xfffff000u))
        return;
    uint32_t pde = (lo & 0xfffu) >> 2; /* with pd_hit: the 4 MiB written */
    for (uint32_t k = 0; k < s->n;) {
        uint32_t lin = (uint32_t)(-s->e[k].rtag) << 12;
        if (s->e[k].leaf - lo < len || (pd_hit && lin >> 22 == pde))
            s->e[k] = s->e[--s->n];
        else
            k++;
    }
    for (uint32_t k = 0; k < s->n_jc;) {
        if (s->jc[k].leaf - lo < len || (pd_hit && s->jc[k].b->eip >> 22 == pde))
            s->jc[k] = s->jc[--s->n_jc];
        else
            k++;
    }
}

void bt_tlb_drop_saved(struct cpu *cpu)
{
    struct bt *bt = cpu->bt;
    if (bt && bt->as_slots)
        for (int i = 0; i < AS_SLOTS; i++)
            bt->as_slots[i].cr3 = 0;
}

void bt_tlb_pte_written(struct cpu *cpu, uint32_t entry_lin)
{
    struct bt *bt = cpu->bt;
    uint32_t phys;
    if (!bt)
        return;
    bt->as_dirty = true;
    if (!bt->as_slots)
        return;
    if (lin_to_phys_quiet(cpu, entry_lin, false, &phys)) {
        bt_tlb_drop_saved(cpu); /* cannot tell which entry: forget all */
        return;
    }
    for (int i = 0; i < AS_SLOTS; i++)
        if (bt->as_slots[i].cr3)
            slot_forget(&bt->as_slots[i], phys & ~3u, 4);
}

void bt_tlb_table_reset(struct cpu *cpu, uint32_t phys_page)
{
    struct bt *bt = cpu->bt;
    if (!bt)
        return;
    bt->as_dirty = true;
    if (!bt->as_slots)
        return;
    for (int i = 0; i < AS_SLOTS; i++)
        if (bt->as_slots[i].cr3)
            slot_forget(&bt->as_slots[i], phys_page & 0xfffff000u, 0x1000u);
}

/* The slot holding cr3's space, or NULL. */
static struct as_slot *slot_find(struct bt *bt, uint32_t cr3)
{
    for (int i = 0; i < AS_SLOTS; i++)
        if (bt->as_slots[i].cr3 == as_key(cr3))
            return &bt->as_slots[i];
    return NULL;
}

/* A slot to save cr3's space in: its own, else an empty one, else the
 * least recently used. */
static struct as_slot *slot_claim(struct cpu *cpu, uint32_t cr3)
{
    struct bt *bt = cpu->bt;
    struct as_slot *s = slot_find(bt, cr3);
    for (int i = 0; i < AS_SLOTS && !s; i++)
        if (!bt->as_slots[i].cr3)
            s = &bt->as_slots[i];
    for (int i = 0; i < AS_SLOTS && !s; i++)
        if (i == 0 || bt->as_slots[i].used < s->used)
            s = &bt->as_slots[i];
    s->cr3 = as_key(cr3);
    s->used = ++bt->as_clock;
    s->checked = as_checked(cpu);
    s->a20_mask = cpu->a20_mask;
    s->flush_gen = bt->flush_gen;
    s->n = s->n_jc = s->n_tables = 0;
    return s;
}

/* One bit per TLB entry (half, index), set while the log's stable
 * prefix lists it: a later copy of it in the log is then known. */
#define AS_MARK_BYTES (2 * TLB_SIZE / 8)

static bool as_mark_set(struct bt *bt, uint32_t logged)
{
    uint32_t k = logged & 0x1ffffu;
    uint8_t m = (uint8_t)(1u << (k & 7)), was = bt->as_mark[k >> 3] & m;
    bt->as_mark[k >> 3] |= m;
    return was;
}

/* The log is about to change (every change of it in this file calls
 * this first): no prefix of it is known to stay. */
static void as_stable_forget(struct cpu *cpu)
{
    struct bt *bt = cpu->bt;
    if (!bt || !bt->as_stable_n)
        return;
    if (bt->as_stable_n > cpu->tlb_log_n) {
        memset(bt->as_mark, 0, AS_MARK_BYTES); /* cannot tell which */
    } else {
        for (uint32_t i = 0; i < bt->as_stable_n; i++) {
            uint32_t k = cpu->tlb_log[i] & 0x1ffffu;
            bt->as_mark[k >> 3] &= (uint8_t)~(1u << (k & 7));
        }
    }
    bt->as_stable_n = 0;
}

/* How much of the log's front can stay unseen at this switch: the entries
 * that stayed at the last one, if both spaces hold the directory entries
 * over all of them. */
static uint32_t as_stable_prefix(struct cpu *cpu, struct pde_memo *memo)
{
    struct bt *bt = cpu->bt;
    if (bt->as_stable_regions > AS_STABLE_REGIONS ||
        bt->as_stable_n > cpu->tlb_log_n)
        return 0;
    for (uint32_t r = 0; r < bt->as_stable_regions; r++) {
        const struct pde_pair *pp =
            pde_pair_read(cpu, memo, (uint32_t)bt->as_stable[r] << 22);
        if (pp->new_pde != pp->old_pde ||
            (pp->old_pde & (PTE_P | PTE_A)) != (PTE_P | PTE_A))
            return 0;
    }
    return bt->as_stable_n;
}

/* The region of an entry that stays goes into the list for the next
 * switch (past AS_STABLE_REGIONS: unknown, nothing is skipped). */
static void as_stable_note(struct bt *bt, uint32_t lin)
{
    uint16_t r = (uint16_t)(lin >> 22);
    for (uint32_t i = 0; i < bt->as_stable_regions; i++)
        if (bt->as_stable[i] == r)
            return;
    if (bt->as_stable_regions < AS_STABLE_REGIONS)
        bt->as_stable[bt->as_stable_regions] = r;
    if (bt->as_stable_regions <= AS_STABLE_REGIONS)
        bt->as_stable_regions++;
}

/* The live TLB at a switch from old_cr3 to new_cr3: entries under a
 * directory entry both spaces hold stay, the others are saved in *s
 * (claimed on first use). check: match each against the tables first. */
static void switch_tlb(struct cpu *cpu, uint32_t old_cr3, uint32_t new_cr3,
                       bool check, struct as_slot **s)
{
    struct bt *bt = cpu->bt;
    struct pde_memo memo;
    pde_memo_init(&memo, old_cr3, new_cr3);
    uint32_t n = cpu->tlb_log_n, same = 0;
    uint32_t prefix = check ? 0 : as_stable_prefix(cpu, &memo), kept = prefix;
    if (!prefix) {
        as_stable_forget(cpu);
        bt->as_stable_regions = 0;
    }
    /* an entry that stays is listed once (a refill after INVLPG logs it
     * again): the marks find the copies */
    for (uint32_t i = prefix; i < n; i++) {
        uint32_t e = cpu->tlb_log[i];
        if (e & TLB_LOG_GLOBAL) {
            if (!as_mark_set(bt, e))
                cpu->tlb_log[kept++] = e;
            continue;
        }
        struct tlb *t = &cpu->tlb[(e >> 16) & 1u];
        uint32_t idx = e & TLB_MASK;
        int32_t rtag = t->rtag[idx];
        if (rtag == (int32_t)TLB_TAG_INVALID)
            continue;
        uint32_t lin = (uint32_t)(-rtag) << 12;
        const struct pde_pair *pp = pde_pair_read(cpu, &memo, lin);
        bool ok = (pp->old_pde & (PTE_P | PTE_A)) == (PTE_P | PTE_A);
        struct as_probe p;
        if (check) {
            uintptr_t host = (uintptr_t)(t->addend[idx] + lin);
            ok = as_probe(cpu, old_cr3, pp->old_pde, lin, (e >> 16) & 1u, &p) &&
                 host == (uintptr_t)(cpu->ram + p.phys);
            if (ok && !p.wd)
                t->wtag[idx] = (int32_t)TLB_TAG_INVALID;
        }
        if (ok && pp->new_pde == pp->old_pde) {
            if (!as_mark_set(bt, e))
                cpu->tlb_log[kept++] = e;
            same++;
            as_stable_note(bt, lin);
            continue;
        }
        if (ok && !*s)
            *s = slot_claim(cpu, old_cr3);
        if (ok && (*s)->n < AS_SLOT_ENTRIES) {
            struct as_slot *sl = *s;
            uint32_t leaf = as_leaf(cpu, old_cr3, pp->old_pde, lin);
            sl->e[sl->n].logged = e;
            sl->e[sl->n].rtag = rtag;
            sl->e[sl->n].wtag = t->wtag[idx];
            sl->e[sl->n].leaf = leaf;
            sl->e[sl->n].addend = t->addend[idx];
            sl->n++;
            slot_note_table(sl, leaf);
        }
        t->rtag[idx] = t->wtag[idx] = (int32_t)TLB_TAG_INVALID;
    }
    cpu->tlb_log_n = kept;
    cpu->tlb_log_global = 0; /* kept: globals and entries that stayed */
    bt->as_stable_n = kept; /* and as_mark holds exactly these */
    bt->stats.tlb_as_restored += same + prefix;
}

/* The block a live branch-cache entry leads to, if the tables of cr3
 * (directory entry pde for it) still lead there; p gets its leaf.
 * optional: the MODE_OPTIONAL bits of bt_mode(). */
static struct block *jc_entry_block(struct cpu *cpu, uint32_t cr3, uint32_t pde,
                                    uint32_t user, uint32_t idx,
                                    uint32_t optional, struct as_probe *p)
{
    /* the tag has no CPL and no optional bits (those of every block in
     * the cache) */
    int64_t tag = cpu->jc[user].tag[idx];
    uint32_t eip = jc_tag_eip(tag);
    uint32_t mode = jc_tag_mode(tag) | optional;
    if (!as_probe(cpu, cr3, pde, eip, user, p))
        return NULL;
    uint32_t phys = p->phys | (eip & 0xfffu);
    struct block *b = cache_lookup(cpu->bt, eip, phys,
                                   mode | (user ? MODE_CPL3 : MODE_CPL0));
    if (!b && !user)
        b = cache_lookup(cpu->bt, eip, phys, mode); /* CPL 1 or 2 */
    /* the same block, and one whose bytes all lie on eip's page */
    if (!b || (uint64_t)(uintptr_t)b->code != cpu->jc[user].code[idx] ||
        (b->phys_last >> 12) != (b->phys >> 12))
        return NULL;
    return b;
}

/* Whether every live branch-cache entry lies under a directory entry the
 * two spaces share (and off the last page of its 4 MiB), judged from
 * cache.c's list of linear pages that may hold entries: then they all
 * stay without a look at each. */
static bool jc_all_shared(struct cpu *cpu, uint32_t old_cr3, uint32_t new_cr3)
{
    const uint32_t *pages;
    uint32_t n;
    if (!cache_jc_pages(cpu, &pages, &n))
        return false; /* the list overflowed */
    struct pde_memo memo;
    pde_memo_init(&memo, old_cr3, new_cr3);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t pg = pages[i];
        const struct pde_pair *pp = pde_pair_read(cpu, &memo, pg << 12);
        if (pp->new_pde != pp->old_pde ||
            (pp->old_pde & (PTE_P | PTE_A)) != (PTE_P | PTE_A) ||
            (pg & 1023u) == 1023u)
            return false;
    }
    return true;
}

/* switch_jc's state for its cache_jc_filter_nonglobal callback */
struct jc_switch {
    struct cpu *cpu;
    struct pde_memo memo;
    uint32_t old_cr3, optional;
    bool check;
    struct as_slot **s;
};

/* Whether the live entry (user, idx) for eip stays: only under a
 * directory entry both spaces hold. One that goes has its block noted
 * in *s if the tables of old_cr3 still lead there. */
static bool jc_switch_keep(void *ctx, uint32_t user, uint32_t idx,
                           uint32_t eip)
{
    struct jc_switch *js = ctx;
    struct cpu *cpu = js->cpu;
    struct as_slot **s = js->s;
    const struct pde_pair *pp = pde_pair_read(cpu, &js->memo, eip);
    bool shared = pp->new_pde == pp->old_pde &&
                  (pp->old_pde & (PTE_P | PTE_A)) == (PTE_P | PTE_A) &&
                  ((eip >> 12) & 1023u) != 1023u;
    struct as_probe p;
    struct block *b = NULL;
    if (js->check || !shared)
        b = jc_entry_block(cpu, js->old_cr3, pp->old_pde, user, idx,
                           js->optional, &p);
    if (shared && (b || !js->check)) {
        cpu->bt->stats.jc_as_restored++;
        return true;
    }
    if (b && !*s)
        *s = slot_claim(cpu, js->old_cr3);
    if (b && (*s)->n_jc < AS_SLOT_JC) {
        (*s)->jc[(*s)->n_jc].b = b;
        (*s)->jc[(*s)->n_jc].leaf = p.leaf;
        (*s)->n_jc++;
        slot_note_table(*s, p.leaf);
    }
    return false;
}

/* The live non-global branch-cache entries at a switch. What
 * cache_jc_clear_nonglobal does to all of them happens only to those
 * jc_switch_keep lets go; their blocks go to *s if the tables of old_cr3
 * still lead there. An entry on the last page of a 4 MiB region may have
 * a block that reaches into the next region: it never stays. */
static void switch_jc(struct cpu *cpu, uint32_t old_cr3, uint32_t new_cr3,
                      bool check, struct as_slot **s)
{
    if (!check && jc_all_shared(cpu, old_cr3, new_cr3)) {
        cpu->bt->stats.jc_as_restored += cache_jc_nonglobal_count(cpu);
        return;
    }
    struct jc_switch js = {
        .cpu = cpu,
        .old_cr3 = old_cr3,
        .optional = bt_mode(cpu) & MODE_OPTIONAL,
        .check = check,
        .s = s,
    };
    pde_memo_init(&js.memo, old_cr3, new_cr3);
    cache_jc_filter_nonglobal(cpu, jc_switch_keep, &js);
}

static void restore(struct cpu *cpu, struct as_slot *sl)
{
    struct bt *bt = cpu->bt;
    uint32_t k;
    for (k = 0; k < sl->n && cpu->tlb_log_n < TLB_LOG_SIZE; k++) {
        uint32_t e = sl->e[k].logged;
        struct tlb *t = &cpu->tlb[(e >> 16) & 1u];
        uint32_t idx = e & TLB_MASK;
        t->rtag[idx] = sl->e[k].rtag;
        /* a page may have gained translated code meanwhile */
        uint32_t lin_page = (uint32_t)(-sl->e[k].rtag) << 12;
        uint32_t phys = (uint32_t)((uintptr_t)(sl->e[k].addend + lin_page) -
                                   (uintptr_t)cpu->ram);
        t->wtag[idx] = cache_page_has_code(bt, phys) ? (int32_t)TLB_TAG_INVALID
                                                     : sl->e[k].wtag;
        if (t->wtag[idx] != (int32_t)TLB_TAG_INVALID)
            note_wmapped(bt, phys, (e >> 16) & 1u, idx);
        t->addend[idx] = sl->e[k].addend;
        cpu->tlb_log[cpu->tlb_log_n++] = e;
    }
    bt->stats.tlb_as_restored += k;
    /* blocks survive unless invalidated (valid) or the cache was flushed */
    if (sl->flush_gen != bt->flush_gen)
        return;
    for (k = 0; k < sl->n_jc; k++) {
        if (sl->jc[k].b->valid) {
            cache_jc_fill(cpu, sl->jc[k].b);
            bt->stats.jc_as_restored++;
        }
    }
}

void bt_tlb_switch_as(struct cpu *cpu, uint32_t old_cr3, uint32_t new_cr3)
{
    struct bt *bt = cpu->bt;
    if (!bt || cpu->tlb_log_n > TLB_LOG_SIZE) {
        bt_tlb_flush(cpu);
        return;
    }
    if (!(cpu->cr0 & CR0_PG)) {
        bt_tlb_flush_nonglobal(cpu); /* no tables to compare yet */
        return;
    }
    if (!bt->as_slots) {
        /* one block (bt_destroy frees as_slots): the slots, then the marks */
        bt->as_slots = calloc(1, AS_SLOTS * sizeof *bt->as_slots + AS_MARK_BYTES);
        if (!bt->as_slots) {
            bt_tlb_flush_nonglobal(cpu);
            return;
        }
        bt->as_mark = (uint8_t *)(bt->as_slots + AS_SLOTS);
    }
    /* the live entries supersede whatever was saved for old_cr3 */
    struct as_slot *save = slot_find(bt, old_cr3);
    if (save)
        save->cr3 = 0;
    save = NULL;
    bool check = bt->as_dirty;
    bt->as_dirty = false;
    switch_tlb(cpu, old_cr3, new_cr3, check, &save);
    switch_jc(cpu, old_cr3, new_cr3, check, &save);
    bt->stats.tlb_as_switches++;
    struct as_slot *sl = slot_find(bt, new_cr3);
    if (sl && sl != save) {
        /* entries checked under other CR0.WP/CR4.PSE/A20 are not trusted */
        if (sl->checked == as_checked(cpu) && sl->a20_mask == cpu->a20_mask)
            restore(cpu, sl);
        sl->cr3 = 0; /* live again: the slot is free */
    }
}
