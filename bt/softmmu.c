/* The soft-MMU slow path: x86 2-level page walks (4 KiB and PSE 4 MiB
 * pages, A/D bits, U/S, R/W with CR0.WP), soft-TLB fills and flushes, and
 * the checked guest-memory accessors that helpers use. Every guest access
 * ends in guest RAM, in the monitor's MMIO dispatch, or in a guest #PF. */
#include <stdlib.h>
#include <string.h>

#include "bt/internal.h"

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

uint32_t bt_mode(const struct cpu *cpu)
{
    uint32_t m = 0;
    if (cpu->cr0 & CR0_PG)
        m |= MODE_PAGING;
    if (cpu->cpl == 3)
        m |= MODE_CPL3;
    if (cpu->cpl == 0)
        m |= MODE_CPL0;
    static const int flat_segs[] = {S_CS, S_DS, S_ES, S_SS};
    bool flat = true;
    for (unsigned i = 0; i < 4; i++) {
        const struct seg *s = &cpu->seg[flat_segs[i]];
        if (s->base != 0 || s->limit != 0xffffffffu)
            flat = false;
    }
    if (flat)
        m |= MODE_FLAT;
    if (cpu->ram_direct && !(cpu->cr0 & CR0_PG) && cpu->a20_mask == 0xffffffffu)
        m |= MODE_DIRECT;
    if (cpu->cr0 & (CR0_TS | CR0_EM))
        m |= MODE_FPU_NM;
    if (fpu_exceptions_unmasked(cpu))
        m |= MODE_FPU_MF;
    if ((cpu->eflags & FL_TF) || (cpu->dr[7] & 0xffu))
        m |= MODE_DEBUG;
    if (cpu->eflags & FL_TF)
        m |= MODE_TF;
    for (int s = S_ES; s <= S_GS; s++) {
        const struct seg *g = &cpu->seg[s];
        bool expand_down = (g->attr & 0x10) && !(g->attr & 0x8) && (g->attr & 0x4);
        /* A null selector in DS/ES/FS/GS is not checked on use (QEMU does
         * not either): user FS/GS are null under Linux, and checking would
         * make every kernel entry change the mode. */
        bool null_sel = (g->sel & 0xfffc) == 0 && s != S_SS && s != S_CS;
        if ((!(g->attr & 0x80) && !null_sel) ||
            (!null_sel && g->limit != 0xffffffffu) || expand_down)
            m |= MODE_SEGCHK(s);
    }
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
    if (cpu->tlb_log_n == TLB_LOG_SIZE) {
        /* the log is full: start over rather than let flushes and code
         * page protection scan the whole table */
        tlb_clear(&cpu->tlb[0]);
        tlb_clear(&cpu->tlb[1]);
        cpu->tlb_log_n = 0;
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

static uint8_t *slow_path(struct cpu *cpu, uint32_t lin, uint32_t acc)
{
    unsigned size = acc & ACC_SIZE_MASK;
    bool user = access_user(cpu, acc);
    struct walk w1, w2;
    uint32_t err = walk(cpu, lin, acc, user, &w1);
    if (err) {
        cpu->cr2 = lin;
        bt_raise(cpu, EXC_PF, err & 0x7fffffffu, true);
    }
    uint32_t off = lin & 0xfffu;
    bool crossing = off + size > 0x1000u;
    if (crossing) {
        uint32_t lin2 = (lin | 0xfffu) + 1;
        err = walk(cpu, lin2, acc, user, &w2);
        if (err) {
            cpu->cr2 = lin2;
            bt_raise(cpu, EXC_PF, err & 0x7fffffffu, true);
        }
    }
    if (cpu->dr[7] & 0xffu)
        watchpoints(cpu, lin, size, acc);
    if (!crossing && phys_in_ram(cpu, w1.phys, size)) {
        if (acc & ACC_WRITE)
            smc_check(cpu, w1.phys);
        /* with breakpoints armed, every access comes back here */
        if (!(cpu->dr[7] & 0xffu))
            tlb_fill(cpu, lin, &w1, user);
        return cpu->ram + w1.phys;
    }
    /* Bounce: gather the bytes, let the instruction work on the copy. */
    uint32_t first = crossing ? 0x1000u - off : size;
    memset(cpu->bounce, 0, sizeof cpu->bounce);
    if (acc & ACC_READ) {
        if (!crossing && w1.phys >= cpu->ram_size && size <= 4 &&
            (size & (size - 1)) == 0) {
            uint32_t v = mmio_read(cpu, w1.phys, size);
            memcpy(cpu->bounce, &v, size);
        } else {
            for (uint32_t i = 0; i < size; i++)
                cpu->bounce[i] = phys_read8(
                    cpu, i < first ? w1.phys + i : w2.phys + (i - first));
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

/* C-side accesses: one translation per page touched (system structures
 * and stack frames are read and written here on every interrupt). */
uint32_t mmu_read_acc(struct cpu *cpu, uint32_t lin, unsigned size, unsigned acc)
{
    uint32_t first = 0x1000u - (lin & 0xfffu);
    if (first >= size) {
        uint32_t phys = mmu_translate(cpu, lin, acc | ACC_READ | size);
        if (phys_in_ram(cpu, phys, size)) {
            uint32_t v = 0;
            memcpy(&v, cpu->ram + phys, size);
            return v;
        }
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
    uint32_t first = 0x1000u - (lin & 0xfffu);
    if (first >= size) {
        uint32_t phys = mmu_translate(cpu, lin, acc | ACC_WRITE | size);
        if (phys_in_ram(cpu, phys, size)) {
            smc_check(cpu, phys);
            memcpy(cpu->ram + phys, &val, size);
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
    if (cpu->tlb_log_n <= TLB_LOG_SIZE) {
        for (uint32_t i = 0; i < cpu->tlb_log_n; i++)
            tlb_invalidate_entry(cpu, cpu->tlb_log[i]);
    } else {
        tlb_clear(&cpu->tlb[0]);
        tlb_clear(&cpu->tlb[1]);
    }
    cpu->tlb_log_n = 0;
    /* The branch cache is keyed by linear EIP: a new mapping may put other
     * code there. */
    cache_jc_clear(cpu);
    if (cpu->bt)
        cpu->bt->stats.tlb_flushes++;
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
    uint32_t kept = 0;
    for (uint32_t i = 0; i < cpu->tlb_log_n; i++) {
        uint32_t e = cpu->tlb_log[i];
        if (e & TLB_LOG_GLOBAL)
            cpu->tlb_log[kept++] = e;
        else
            tlb_invalidate_entry(cpu, e);
    }
    cpu->tlb_log_n = kept;
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

/* Walk without raising, for monitor code (hypercalls). */
static int lin_to_phys_quiet(struct cpu *cpu, uint32_t lin, bool write,
                             uint32_t *phys)
{
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

void bt_tlb_drop_saved(struct cpu *cpu)
{
    struct bt *bt = cpu->bt;
    if (bt && bt->as_slots)
        for (int i = 0; i < AS_SLOTS; i++)
            bt->as_slots[i].cr3 = 0;
}

void bt_tlb_switch_as(struct cpu *cpu, uint32_t old_cr3, uint32_t new_cr3)
{
    struct bt *bt = cpu->bt;
    if (!bt || cpu->tlb_log_n > TLB_LOG_SIZE) {
        bt_tlb_flush(cpu);
        return;
    }
    if (!bt->as_slots) {
        bt->as_slots = calloc(AS_SLOTS, sizeof *bt->as_slots);
        if (!bt->as_slots) {
            bt_tlb_flush_nonglobal(cpu);
            return;
        }
    }
    /* keep the old space's non-global entries in a slot (LRU) */
    struct as_slot *save = NULL;
    for (int i = 0; i < AS_SLOTS && old_cr3; i++)
        if (bt->as_slots[i].cr3 == old_cr3)
            save = &bt->as_slots[i];
    for (int i = 0; i < AS_SLOTS && !save && old_cr3; i++)
        if (!save || bt->as_slots[i].used < save->used)
            save = &bt->as_slots[i];
    if (save) {
        save->cr3 = old_cr3;
        save->used = ++bt->as_clock;
        save->n = 0;
    }
    uint32_t kept = 0;
    for (uint32_t i = 0; i < cpu->tlb_log_n; i++) {
        uint32_t e = cpu->tlb_log[i];
        if (e & TLB_LOG_GLOBAL) {
            cpu->tlb_log[kept++] = e;
            continue;
        }
        struct tlb *t = &cpu->tlb[(e >> 16) & 1u];
        uint32_t idx = e & TLB_MASK;
        if (save && save->n < AS_SLOT_ENTRIES &&
            t->rtag[idx] != (int32_t)TLB_TAG_INVALID) {
            save->e[save->n].logged = e;
            save->e[save->n].rtag = t->rtag[idx];
            save->e[save->n].wtag = t->wtag[idx];
            save->e[save->n].addend = t->addend[idx];
            save->n++;
        }
        t->rtag[idx] = t->wtag[idx] = (int32_t)TLB_TAG_INVALID;
    }
    cpu->tlb_log_n = kept;
    cache_jc_clear_nonglobal(cpu);
    bt->stats.tlb_as_switches++;
    /* bring back the new space's entries */
    for (int i = 0; i < AS_SLOTS; i++) {
        struct as_slot *sl = &bt->as_slots[i];
        if (sl->cr3 != new_cr3 || !new_cr3)
            continue;
        for (uint32_t k = 0; k < sl->n && cpu->tlb_log_n < TLB_LOG_SIZE; k++) {
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
            t->addend[idx] = sl->e[k].addend;
            cpu->tlb_log[cpu->tlb_log_n++] = e;
        }
        bt->stats.tlb_as_restored += sl->n;
        sl->cr3 = 0; /* live again: the slot is free */
        break;
    }
}
