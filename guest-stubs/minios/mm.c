/* minios: physical frames and 2-level address spaces. Every page-table
 * change goes through set_pte with the VMI flags Linux gave (pte_flags),
 * every page-table page is registered with alloc_page/release_page, and
 * batches run in lazy MMU mode, so that on the VMI path the monitor hears
 * of each change as Linux told VMware's. */
#include "minios.h"
#include "pvops.h"
#include "vmi_abi.h"

extern char __image_end[];

struct aspace kernel_as;

static uint32_t free_head; /* each free frame holds the next one's address */
static uint32_t nfree;

uint32_t frames_free(void)
{
    return nfree;
}

uint32_t frame_alloc(void)
{
    uint32_t pa = free_head;
    if (!pa)
        panic("out of frames");
    free_head = *(uint32_t *)pa;
    nfree--;
    memset((void *)pa, 0, PAGE_SIZE);
    return pa;
}

void frame_free(uint32_t pa)
{
    *(uint32_t *)pa = free_head;
    free_head = pa;
    nfree++;
}

/* What CR3 holds, kept here so that no CR3 read is needed. */
static const struct aspace *loaded;

void aspace_load(const struct aspace *as)
{
    loaded = as;
    write_cr3((uint32_t)as->pd);
}

/* The VMI flags of a page-table entry of as mapping va, as Linux's
 * vmi_flags_addr: CURRENT_AS and the VA when the loaded space sees the
 * change, which is also the case for the kernel's entries (its tables are
 * in every space, like init_mm's); otherwise the level alone. */
static uint32_t pte_flags(const struct aspace *as, uint32_t va)
{
    if (as == loaded || as == &kernel_as)
        return VMI_PAGE_PT | VMI_PAGE_CURRENT_AS | (va & VMI_PAGE_VA_MASK);
    return VMI_PAGE_PT;
}

/* The page table for va, created (and registered) when create is set. */
static uint32_t *page_table(const struct aspace *as, uint32_t va, bool create)
{
    uint32_t *pde = &as->pd[va >> 22];
    if (!(*pde & PTE_P)) {
        if (!create)
            return NULL;
        uint32_t pt = frame_alloc();
        pv_ops.alloc_page(pt >> PAGE_SHIFT, VMI_PAGE_L1, 0, 0, 0);
        /* as Linux's set_pmd: the level alone (an entry that was not
         * present is in no TLB, so nothing needs flushing) */
        set_pte(pde, pt | PTE_P | PTE_W | PTE_U, VMI_PAGE_PD);
    }
    return (uint32_t *)(*pde & PTE_FRAME);
}

static void map(const struct aspace *as, uint32_t va, uint32_t pa, uint32_t prot)
{
    uint32_t *pt = page_table(as, va, true);
    set_pte(&pt[(va >> PAGE_SHIFT) & 1023], pa | prot,
            pte_flags(as, va));
}

/* The kernel's identity map: supervisor read/write, except the user
 * programs' text (user.c), which ring 3 may read and execute. Page 0 is
 * left out to catch null pointers. */
void mm_init(uint32_t ram_end)
{
    uint32_t first = page_round_up((uint32_t)__image_end);
    uint32_t end = ram_end < KERNEL_MAP_END ? ram_end : KERNEL_MAP_END;
    if (end < first + (4u << 20))
        panic("needs at least %u MiB of RAM", (first >> 20) + 4);
    for (uint32_t pa = end - PAGE_SIZE; pa >= first; pa -= PAGE_SIZE)
        frame_free(pa);

    kernel_as.pd = (uint32_t *)frame_alloc();
    pv_ops.alloc_page((uint32_t)kernel_as.pd >> PAGE_SHIFT, VMI_PAGE_L2, 0, 0, 0);
    lazy_mode(VMI_LAZY_MODE_MMU_UPDATES);
    for (uint32_t pa = PAGE_SIZE; pa < KERNEL_MAP_END; pa += PAGE_SIZE) {
        bool user = pa >= (uint32_t)user_text_start && pa < (uint32_t)user_text_end;
        map(&kernel_as, pa, pa, PTE_P | (user ? PTE_U : PTE_W));
    }
    lazy_mode(VMI_LAZY_MODE_OFF);
    pv_ops.set_linear_mapping(0, 0, KERNEL_MAP_END >> PAGE_SHIFT, 0);
    aspace_load(&kernel_as);
    write_cr0(read_cr0() | CR0_PG | CR0_WP);
}

/* A new directory shares the kernel's tables (entries copied, as Linux
 * does, and announced with CLONE). */
void aspace_create(struct aspace *as)
{
    as->pd = (uint32_t *)frame_alloc();
    memcpy(as->pd, kernel_as.pd, KERNEL_PDES * 4);
    pv_ops.alloc_page((uint32_t)as->pd >> PAGE_SHIFT, VMI_PAGE_L2 | VMI_PAGE_CLONE,
                      (uint32_t)kernel_as.pd >> PAGE_SHIFT, 0, KERNEL_PDES);
}

void aspace_destroy(struct aspace *as)
{
    if (as == loaded)
        panic("destroying the loaded address space");
    for (unsigned i = KERNEL_PDES; i < 1024; i++) {
        if (!(as->pd[i] & PTE_P))
            continue;
        uint32_t *pt = (uint32_t *)(as->pd[i] & PTE_FRAME);
        for (unsigned j = 0; j < 1024; j++)
            if (pt[j] & PTE_P)
                frame_free(pt[j] & PTE_FRAME);
        pv_ops.release_page((uint32_t)pt >> PAGE_SHIFT, VMI_PAGE_L1);
        frame_free((uint32_t)pt);
    }
    pv_ops.release_page((uint32_t)as->pd >> PAGE_SHIFT, VMI_PAGE_L2);
    frame_free((uint32_t)as->pd);
    as->pd = NULL;
}

/* fork: a private copy of every user page. */
void aspace_clone(struct aspace *dst, const struct aspace *src)
{
    aspace_create(dst);
    lazy_mode(VMI_LAZY_MODE_MMU_UPDATES);
    for (unsigned i = KERNEL_PDES; i < 1024; i++) {
        if (!(src->pd[i] & PTE_P))
            continue;
        const uint32_t *pt = (const uint32_t *)(src->pd[i] & PTE_FRAME);
        for (unsigned j = 0; j < 1024; j++) {
            if (!(pt[j] & PTE_P))
                continue;
            uint32_t copy = frame_alloc();
            memcpy((void *)copy, (const void *)(pt[j] & PTE_FRAME), PAGE_SIZE);
            map(dst, i << 22 | j << PAGE_SHIFT, copy, pt[j] & ~PTE_FRAME);
        }
    }
    lazy_mode(VMI_LAZY_MODE_OFF);
}

bool aspace_is_mapped(const struct aspace *as, uint32_t va)
{
    const uint32_t *pt = page_table(as, va, false);
    return pt && (pt[(va >> PAGE_SHIFT) & 1023] & PTE_P);
}

bool aspace_map_zero(struct aspace *as, uint32_t va)
{
    if (aspace_is_mapped(as, va))
        return false;
    map(as, va, frame_alloc(), PTE_P | PTE_W | PTE_U);
    return true;
}

uint32_t aspace_unmap(struct aspace *as, uint32_t va, uint32_t n)
{
    uint32_t done = 0;
    lazy_mode(VMI_LAZY_MODE_MMU_UPDATES);
    for (uint32_t k = 0; k < n; k++, va += PAGE_SIZE) {
        uint32_t *pt = page_table(as, va, false);
        uint32_t *pte = pt ? &pt[(va >> PAGE_SHIFT) & 1023] : NULL;
        if (!pte || !(*pte & PTE_P))
            continue;
        frame_free(*pte & PTE_FRAME);
        set_pte(pte, 0, pte_flags(as, va));
        done++;
    }
    lazy_mode(VMI_LAZY_MODE_OFF);
    if (done && as == loaded)
        flush_tlb(VMI_FLUSH_TLB);
    return done;
}

/* ---- entries changed in place, for the remap workload: each change is
 * reported with the flags above, and flushed as x86 wants when the
 * loaded space sees it ---- */

void aspace_remap(struct aspace *as, uint32_t va, uint32_t value)
{
    va &= ~(PAGE_SIZE - 1);
    uint32_t *pte = &page_table(as, va, true)[(va >> PAGE_SHIFT) & 1023];
    uint32_t old = *pte, fresh = frame_alloc();
    *(uint32_t *)fresh = value;
    set_pte(pte, fresh | PTE_P | PTE_W | PTE_U, pte_flags(as, va));
    if (old & PTE_P) {
        if (as == loaded)
            invlpg(va);
        frame_free(old & PTE_FRAME);
    }
}

/* Both directory entries are written (two 4 MiB regions trade their
 * tables). */
void aspace_swap_tables(struct aspace *as, uint32_t va)
{
    uint32_t *pde = &as->pd[va >> 22], first = pde[0], second = pde[1];
    set_pte(&pde[0], second, VMI_PAGE_PD);
    set_pte(&pde[1], first, VMI_PAGE_PD);
    if (as == loaded)
        flush_tlb(VMI_FLUSH_TLB); /* present directory entries changed */
}

/* Through the kernel's map of the frame, as a driver would write a page
 * of another task (false: not mapped, or crossing the page). */
bool aspace_poke(struct aspace *as, uint32_t va, uint32_t value)
{
    const uint32_t *pt = page_table(as, va, false);
    uint32_t pte = pt ? pt[(va >> PAGE_SHIFT) & 1023] : 0;
    if (!(pte & PTE_P) || (va & (PAGE_SIZE - 1)) > PAGE_SIZE - 4)
        return false;
    memcpy((void *)((pte & PTE_FRAME) | (va & (PAGE_SIZE - 1))), &value, 4);
    return true;
}

/* The directory entry is copied with A clear: this space has not walked
 * it yet. */
bool aspace_share(struct aspace *as, const struct aspace *owner, uint32_t va)
{
    uint32_t i = va >> 22;
    if (!(owner->pd[i] & PTE_P) || (as->pd[i] & PTE_P))
        return false;
    set_pte(&as->pd[i], owner->pd[i] & ~PTE_A, VMI_PAGE_PD);
    return true;
}

void aspace_unshare(struct aspace *as, uint32_t va)
{
    set_pte(&as->pd[va >> 22], 0, VMI_PAGE_PD);
    if (as == loaded)
        flush_tlb(VMI_FLUSH_TLB);
}
