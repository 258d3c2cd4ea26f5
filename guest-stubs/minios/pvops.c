/* minios: the native implementations of the pv-ops and the table that
 * starts out pointing at them (the native path; rom.c rebinds it). */
#include "minios.h"
#include "pvops.h"
#include "vmi_abi.h"

/* native.S: register-preserving ones. */
void native_irq_disable(void);
void native_irq_enable(void);
void native_save_fl(void);
void native_restore_fl(void);
void native_iret(void);
PVCALL void native_safe_halt(void);

static PVCALL uint32_t native_read_cr0(void)
{
    uint32_t v;
    __asm__ volatile("mov %%cr0, %0" : "=r"(v));
    return v;
}

static PVCALL uint32_t native_read_cr2(void)
{
    uint32_t v;
    __asm__ volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}

static PVCALL uint32_t native_read_cr3(void)
{
    uint32_t v;
    __asm__ volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}

static PVCALL void native_write_cr0(uint32_t v)
{
    __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory");
}

static PVCALL void native_write_cr3(uint32_t v)
{
    __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}

static PVCALL void native_set_pte(uint32_t val, uint32_t *ptep, uint32_t flags)
{
    (void)flags;
    *(volatile uint32_t *)ptep = val;
}

/* No global pages are used, so reloading CR3 flushes everything. */
static PVCALL void native_flush_tlb(uint32_t flags)
{
    (void)flags;
    native_write_cr3(native_read_cr3());
}

static PVCALL void native_invlpg(uint32_t va)
{
    __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

static PVCALL void native_load_esp0(uint32_t ss0, uint32_t esp0)
{
    tss_set_esp0(ss0, esp0);
}

static PVCALL void native_lazy_mode(uint32_t mode)
{
    (void)mode;
}

/* An ISA bus cycle, as Linux's outb_p. */
static PVCALL void native_io_delay(void)
{
    outb(0x80, 0);
}

static PVCALL void native_load_gdt(const struct dtr_ptr *p)
{
    __asm__ volatile("lgdt %0" : : "m"(*p) : "memory");
}

static PVCALL void native_load_idt(const struct dtr_ptr *p)
{
    __asm__ volatile("lidt %0" : : "m"(*p) : "memory");
}

static PVCALL void native_load_tr(uint32_t sel)
{
    __asm__ volatile("ltr %w0" : : "r"(sel) : "memory");
}

static PVCALL void native_write_desc(void *table, uint32_t index, uint32_t lo,
                                     uint32_t hi)
{
    volatile uint32_t *d = (uint32_t *)table + 2 * index;
    d[0] = lo;
    d[1] = hi;
}

/* Page-table registration and the linear-mapping hint mean nothing to
 * hardware. */
static PVCALL void native_alloc_page(uint32_t pfn, uint32_t flags,
                                     uint32_t clone_pfn, uint32_t start,
                                     uint32_t count)
{
    (void)pfn, (void)flags, (void)clone_pfn, (void)start, (void)count;
}

static PVCALL void native_release_page(uint32_t pfn, uint32_t flags)
{
    (void)pfn, (void)flags;
}

static PVCALL void native_set_linear_mapping(uint32_t slot, uint32_t va,
                                             uint32_t pages, uint32_t pfn)
{
    (void)slot, (void)va, (void)pages, (void)pfn;
}

struct pv_ops pv_ops = {
    .iret = (void *)native_iret,
    .irq_disable = (void *)native_irq_disable,
    .irq_enable = (void *)native_irq_enable,
    .save_fl = (void *)native_save_fl,
    .restore_fl = (void *)native_restore_fl,
    .safe_halt = native_safe_halt,
    .read_cr0 = native_read_cr0,
    .read_cr2 = native_read_cr2,
    .read_cr3 = native_read_cr3,
    .write_cr0 = native_write_cr0,
    .write_cr3 = native_write_cr3,
    .set_pte = native_set_pte,
    .flush_tlb = native_flush_tlb,
    .invlpg = native_invlpg,
    .load_esp0 = native_load_esp0,
    .lazy_mode = native_lazy_mode,
    .io_delay = native_io_delay,
    .load_gdt = native_load_gdt,
    .load_idt = native_load_idt,
    .load_tr = native_load_tr,
    .write_gdt_entry = native_write_desc,
    .write_idt_entry = native_write_desc,
    .alloc_page = native_alloc_page,
    .release_page = native_release_page,
    .set_linear_mapping = native_set_linear_mapping,
};

_Static_assert(__builtin_offsetof(struct pv_ops, iret) == PVOP_IRET_OFFSET,
               "entry.S jumps through pv_ops + PVOP_IRET_OFFSET");
