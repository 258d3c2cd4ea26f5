/* The VMI hypercall back end: what the ROM's VMCALL stubs reach (calls and
 * register convention in vmi-rom/vmi_abi.h, design notes in vmm/vmi.h). */
#include "vmm/vmi.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>

#define PAGE_SIZE 4096u
#define LAZY_QUEUE 32 /* page invalidations kept before a full flush */
#define GDT_MAX_INDEX 8191u
#define IDT_MAX_INDEX 255u
#define TSS_ESP0 4u
#define TSS_SS0 8u

/* CR bits a guest may set: what bt/cpu_ctrl.c accepts (no PAE). */
#define CR0_VALID (CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | \
                   CR0_WP | CR0_AM | CR0_NW | CR0_CD | CR0_PG)
#define CR4_VALID (CR4_TSD | CR4_DE | CR4_PSE | CR4_PGE | CR4_OSFXSR | \
                   CR4_OSXMMEXCPT)
#define ALARM_FLAGS_VALID (VMI_ALARM_COUNTER_MASK | VMI_ALARM_IS_PERIODIC | \
                           VMI_ALARM_WIRED_LVTT)

struct vmi_alarm {
    bool armed;
    bool lvtt;       /* wired to the local-APIC timer, else IRQ 0 */
    uint64_t expiry; /* absolute, on the vmi_cycles_now() scale */
    uint64_t period; /* 0: one-shot */
};

struct vmi {
    struct vmi_machine_ops ops;
    uint32_t ram_pages;
    uint8_t *page_level;   /* per guest frame: VMI_PAGE_PT/PD if registered */
    bool rom_active;

    unsigned lazy_mode;    /* VMI_LAZY_MODE_* */
    unsigned lazy_n;
    bool lazy_flush_all;
    uint32_t lazy_va[LAZY_QUEUE];

    struct {
        uint32_t va, pages, pfn;
        bool set;
    } linear[VMI_LINEAR_MAPPING_SLOTS];

    struct vmi_alarm alarm[2]; /* [VMI_CYCLES_REAL], [VMI_CYCLES_AVAILABLE] */
    uint64_t cycle_hz;

    struct vmi_stats stats;
};

/* One decoded hypercall: arguments per vmi_abi.h, results to return. */
struct hc {
    uint32_t a1, a2, a3; /* the VMI call's EAX, EDX, ECX */
    uint32_t stack;      /* linear address of its first stack argument */
    uint64_t result;
};

typedef int (*hc_fn)(struct vmi *v, struct cpu *cpu, struct hc *h);

/* ---- helpers ---- */

static int read_stack(struct cpu *cpu, const struct hc *h, unsigned index,
                      uint32_t *out)
{
    return bt_guest_read(cpu, h->stack + 4 * index, out, 4) ? VMI_ERR_BAD_ADDRESS
                                                            : VMI_OK;
}

static void lazy_apply(struct vmi *v, struct cpu *cpu)
{
    if (v->lazy_flush_all)
        bt_tlb_flush(cpu);
    else
        for (unsigned i = 0; i < v->lazy_n; i++)
            bt_tlb_flush_page(cpu, v->lazy_va[i]);
    if (v->lazy_flush_all || v->lazy_n)
        v->stats.lazy_applied++;
    v->lazy_n = 0;
    v->lazy_flush_all = false;
}

/* A full flush makes every queued invalidation moot. */
static void flush_all(struct vmi *v, struct cpu *cpu)
{
    v->lazy_n = 0;
    v->lazy_flush_all = false;
    bt_tlb_flush(cpu);
}

/* CR0/CR4 bits that change what a walk gives: saved sets go too. */
static void paging_mode_changed(struct vmi *v, struct cpu *cpu)
{
    flush_all(v, cpu);
    bt_tlb_drop_saved(cpu);
}

/* A page-table entry at linear address ptr changed (flags of a PxE call).
 * Saved TLB sets of other address spaces lose the entries that came from
 * it, whatever the flags say (kernel tables are shared by every space).
 * Entries of the current address space get their TLB entry dropped, now
 * or, in lazy MMU mode and for DEFER, at the next flush point; without
 * CURRENT_AS the guest flushes as x86 requires. */
static void pxe_changed(struct vmi *v, struct cpu *cpu, uint32_t ptr,
                        uint32_t flags)
{
    bt_tlb_pte_written(cpu, ptr);
    if (!(flags & VMI_PAGE_CURRENT_AS))
        return;
    v->stats.lazy_queued++;
    if (flags & VMI_PAGE_PD) {
        v->lazy_flush_all = true; /* a PDE covers 4 MiB */
    } else if (!v->lazy_flush_all) {
        if (v->lazy_n == LAZY_QUEUE) {
            v->lazy_flush_all = true;
            v->stats.lazy_overflows++;
        } else {
            v->lazy_va[v->lazy_n++] = flags & VMI_PAGE_VA_MASK;
        }
    }
    if (v->lazy_mode != VMI_LAZY_MODE_MMU_UPDATES && !(flags & VMI_PAGE_DEFER))
        lazy_apply(v, cpu);
}

/* Non-PAE entries: exactly one level, PT or PD. */
static bool pxe_level_ok(uint32_t flags)
{
    uint32_t level = flags & (VMI_PAGE_PT | VMI_PAGE_PD | VMI_PAGE_PDP |
                              VMI_PAGE_PML4);
    return level == VMI_PAGE_PT || level == VMI_PAGE_PD;
}

static uint32_t desc_base(uint32_t lo, uint32_t hi)
{
    return (lo >> 16) | ((hi & 0xffu) << 16) | (hi & 0xff000000u);
}

static uint32_t desc_limit(uint32_t lo, uint32_t hi)
{
    uint32_t l = (lo & 0xffffu) | (hi & 0x000f0000u);
    return (hi & 0x00800000u) ? (l << 12) | 0xfffu : l;
}

/* The GDT descriptor of a system segment (LDT, TSS): selector checks,
 * then type (S = 0 and type) and presence. lin gets its address. */
static int gdt_system_desc(struct cpu *cpu, uint32_t sel, unsigned type,
                           uint32_t d[2], uint32_t *lin)
{
    if ((sel & ~0xffffu) || (sel & 4) || (sel & ~7u) == 0)
        return VMI_ERR_INVALID;
    uint32_t off = sel & ~7u;
    if (off + 7 > cpu->gdtr.limit)
        return VMI_ERR_INVALID;
    *lin = cpu->gdtr.base + off;
    if (bt_guest_read(cpu, *lin, d, 8))
        return VMI_ERR_BAD_ADDRESS;
    if (((d[1] >> 8) & 0x1fu) != type || !(d[1] & 0x8000u))
        return VMI_ERR_INVALID;
    return VMI_OK;
}

static void seg_from_desc(struct seg *s, uint32_t sel, const uint32_t d[2])
{
    s->sel = (uint16_t)sel;
    s->base = desc_base(d[0], d[1]);
    s->limit = desc_limit(d[0], d[1]);
    s->attr = (d[1] >> 8) & 0xf0ffu;
}

static bool frame_in_ram(const struct vmi *v, uint32_t pfn)
{
    return pfn < v->ram_pages;
}

/* ---- descriptor tables ---- */

static int dtr_load(struct cpu *cpu, uint32_t ptr, struct dtr *dtr)
{
    uint8_t b[6];
    if (bt_guest_read(cpu, ptr, b, sizeof b))
        return VMI_ERR_BAD_ADDRESS;
    dtr->limit = (uint32_t)(b[0] | b[1] << 8);
    dtr->base = (uint32_t)b[2] | (uint32_t)b[3] << 8 | (uint32_t)b[4] << 16 |
                (uint32_t)b[5] << 24;
    return VMI_OK;
}

static int dtr_store(struct cpu *cpu, uint32_t ptr, const struct dtr *dtr)
{
    uint8_t b[6] = {
        (uint8_t)dtr->limit, (uint8_t)(dtr->limit >> 8), (uint8_t)dtr->base,
        (uint8_t)(dtr->base >> 8), (uint8_t)(dtr->base >> 16),
        (uint8_t)(dtr->base >> 24),
    };
    return bt_guest_write(cpu, ptr, b, sizeof b) ? VMI_ERR_BAD_ADDRESS : VMI_OK;
}

static int hc_set_gdt(struct vmi *v, struct cpu *cpu, struct hc *h)
{
    (void)v;
    return dtr_load(cpu, h->a1, &cpu->gdtr);
}

static int hc_set_idt(struct vmi *v, struct cpu *cpu, struct hc *h)
{
    (void)v;
    return dtr_load(cpu, h->a1, &cpu->idtr);
}

static int hc_get_gdt(struct vmi *v, struct cpu *cpu, struct hc *h)
{
    (void)v;
    return dtr_store(cpu, h->a1, &cpu->gdtr);
}

static int hc_get_idt(struct vmi *v, struct cpu *cpu, struct hc *h)
{
    (void)v;
    return dtr_store(cpu, h->a1, &cpu->idtr);
}

/* lldt: selector 0 leaves no LDT. */
static int hc_set_ldt(struct vmi *v, struct cpu *cpu, struct hc *h)
{
    (void)v;
    uint32_t d[2], lin;
    if ((h->a1 & ~3u) == 0) {
        cpu->seg[S_LDTR] = (struct seg){.sel = (uint16_t)h->a1};
        return VMI_OK;
    }
    int st = gdt_system_desc(cpu, h->a1, 0x02, d, &lin);
    if (st)
        return st;
    seg_from_desc(&cpu->seg[S_LDTR], h->a1, d);
    return VMI_OK;
}

/* ltr: an available 32-bit TSS, which becomes busy as with LTR. */
static int hc_set_tr(struct vmi *v, struct cpu *cpu, struct hc *h)
{
    (void)v;
    uint32_t d[2], lin;
    int st = gdt_system_desc(cpu, h->a1, 0x09, d, &lin);
    if (st)
        return st;
    if (desc_limit(d[0], d[1]) < 0x67)
        return VMI_ERR_INVALID;
    d[1] |= 0x200u; /* busy */
    if (bt_guest_write(cpu, lin + 4, &d[1], 4))
        return VMI_ERR_BAD_ADDRESS;
    seg_from_desc(&cpu->seg[S_TR], h->a1, d);
    return VMI_OK;
}

static int hc_get_ldt(struct vmi *v, struct cpu *cpu, struct hc *h)
{
    (void)v;
    h->result = cpu->seg[S_LDTR].sel;
    return VMI_OK;
}

static int hc_get_tr(struct vmi *v, struct cpu *cpu, struct hc *h)
{
    (void)v;
    h->result = cpu->seg[S_TR].sel;
    return VMI_OK;
}

/* Write{GDT,LDT,IDT}Entry: EAX table base, EDX index, ECX low dword,
 * [ESP+4] high dword. The table need not be loaded yet. */
static int write_entry(struct vmi *v, struct cpu *cpu, struct hc *h,
                       uint32_t max_index)
{
    uint32_t d[2] = {h->a3, 0};
    if (h->a2 > max_index)
        return VMI_ERR_INVALID;
    int st = read_stack(cpu, h, 0, &d[1]);
    if (st)
        return st;
    uint32_t lin = h->a1 + h->a2 * 8;
    if (lin < h->a1 || lin + 7 < lin)
        return VMI_ERR_BAD_ADDRESS;
    if (bt_guest_write(cpu, lin, d, 8))
        return VMI_ERR_BAD_ADDRESS;
    v->stats.descriptor_writes++;
    return VMI_OK;
}

static int hc_write_gdt_entry(struct vmi *v, struct cpu *cpu, struct hc *h)
{
    return write_entry(v, cpu, h, GDT_MAX_INDEX);
}

static int hc_write_ldt_entry(struct vmi *v, struct cpu *cpu, struct hc *h)
{
    return write_entry(v, cpu, h, GDT_MAX_INDEX);
}

static int hc_write_idt_entry(struct vmi *v, struct cpu *cpu, struct hc *h)
{
    return write_entry(v, cpu, h, IDT_MAX_INDEX);
}

/* EAX = SS0 selector (Linux passes __KERNEL_DS), EDX = ESP0: stored in
 * the loaded TSS, where interrupt delivery reads them. */
static int hc_update_kernel_stack(struct vmi *v, struct cpu *cpu, struct hc *h)
{
    const struct seg *tr = &cpu->seg[S_TR];
    uint16_t ss0 = (uint16_t)h->a1;
    if ((h->a1 & ~0xffffu) || (ss0 & 3) || (ss0 & ~7u) == 0)
        return VMI_ERR_INVALID;
    if ((tr->sel & ~7u) == 0 || tr->limit < TSS_SS0 + 1)
        return VMI_ERR_INVALID;
    if (bt_guest_write(cpu, tr->base + TSS_ESP0, &h->a2, 4) ||
        bt_guest_write(cpu, tr->base + TSS_SS0, &ss0, 2))
        return VMI_ERR_BAD_ADDRESS;
    v->stats.kernel_stack_updates++;
    return VMI_OK;
}

/* ---- control registers ---- */

static bool cr3_in_ram(const struct cpu *cpu, uint32_t cr3)
{
    uint32_t pd = cr3 & ~(PAGE_SIZE - 1);
    return pd < cpu->ram_size && cpu->ram_size - pd >= PAGE_SIZE;
}

static int hc_set_cr0(struct vmi *v, struct cpu *cpu, struct hc *h)
{
    uint32_t val = h->a1 | CR0_ET; /* hard-wired on P6 */
    /* tpvm has no real mode; PG needs PE; NW needs CD */
    if ((val & ~CR0_VALID) || !(val & CR0_PE) ||
        ((val & CR0_NW) && !(val & CR0_CD)))
        return VMI_ERR_INVALID;
    if ((val & CR0_PG) && !(cpu->cr0 & CR0_PG) && !cr3_in_ram(cpu, cpu->cr3))
        return VMI_ERR_BAD_ADDRESS;
    uint32_t old = cpu->cr0;
    cpu->cr0 = val;
    if ((old ^ val) & (CR0_PG | CR0_WP | CR0_PE))
        paging_mode_changed(v, cpu);
    return VMI_OK;
}

static int hc_set_cr2(struct vmi *v, struct cpu *cpu, struct hc *h)
{
    (void)v;
    cpu->cr2 = h->a1;
    return VMI_OK;
}

/* Loading CR3. A VMI guest reports every page-table change, so the TLB
 * and branch-cache entries of the address space being left are kept
 * (shared tables) or set aside, and those of the one being entered come
 * back (bt_tlb_switch_as), where a native CR3 load must drop them all.
 * Queued updates are applied first. */
static int hc_set_cr3(struct vmi *v, struct cpu *cpu, struct hc *h)
{
    if (!cr3_in_ram(cpu, h->a1))
        return VMI_ERR_BAD_ADDRESS;
    lazy_apply(v, cpu);
    uint32_t old = cpu->cr3;
    cpu->cr3 = h->a1;
    bt_tlb_switch_as(cpu, old, h->a1);
    v->stats.set_cr3++;
    return VMI_OK;
}

static int hc_set_cr4(struct vmi *v, struct cpu *cpu, struct hc *h)
{
    if (h->a1 & ~CR4_VALID)
        return VMI_ERR_INVALID;
    uint32_t old = cpu->cr4;
    cpu->cr4 = h->a1;
    if ((old ^ h->a1) & (CR4_PSE | CR4_PGE))
        paging_mode_changed(v, cpu);
    return VMI_OK;
}

#define GET_CR(n)                                                           \
    static int hc_get_cr##n(struct vmi *v, struct cpu *cpu, struct hc *h)   \
    {                                                                       \
        (void)v;                                                            \
        h->result = cpu->cr##n;                                             \
        return VMI_OK;                                                      \
    }
GET_CR(0)
GET_CR(2)
GET_CR(3)
GET_CR(4)

static int hc_clts(struct vmi *v, struct cpu *cpu, struct hc *h)
{
    (void)v, (void)h;
    cpu->cr0 &= ~CR0_TS;
    return VMI_OK;
}

/* Guest memory has no cache of its own to write back. */
static int hc_wbinvd(struct vmi *v, struct cpu *cpu, struct hc *h)
{
    (void)v, (void)cpu, (void)h;
    return VMI_OK;
}

static int hc_rdtsc(struct vmi *v, struct cpu *cpu, struct hc *h)
{
    (void)v;
    h->result = vmi_cycles_now(cpu);
    return VMI_OK;
}

/* Only with a CPU model from the machine: bt/'s own model is not
 * reachable from here, and the ROM runs the native CPUID anyway. */
static int hc_cpuid(struct vmi *v, struct cpu *cpu, struct hc *h)
{
    (void)v;
    uint32_t out[4];
    if (!cpu->host || !cpu->host->cpuid)
        return VMI_ERR_UNIMPLEMENTED;
    cpu->host->cpuid(cpu->host->opaque, h->a1, h->a2, out);
    cpu->regs[R_EAX] = out[0];
    cpu->regs[R_EBX] = out[1];
    cpu->regs[R_ECX] = out[2];
    cpu->regs[R_EDX] = out[3];
    return VMI_OK;
}

/* ---- machine ---- */

static int hc_reboot(struct vmi *v, struct cpu *cpu, struct hc *h)
{
    (void)cpu;
    if (h->a1 > 1)
        return VMI_ERR_INVALID;
    if (!v->ops.reboot)
        return VMI_ERR_UNIMPLEMENTED;
    v->ops.reboot(v->ops.opaque, h->a1 == 1);
    return VMI_OK;
}

static int hc_shutdown(struct vmi *v, struct cpu *cpu, struct hc *h)
{
    (void)cpu, (void)h;
    if (!v->ops.shutdown)
        return VMI_ERR_UNIMPLEMENTED;
    v->ops.shutdown(v->ops.opaque);
    return VMI_OK;
}

/* ---- MMU ---- */

/* EAX value, EDX entry pointer (linear), ECX flags: the ROM stores the
 * entry, then notifies. */
static int hc_set_pxe(struct vmi *v, struct cpu *cpu, struct hc *h)
{
    uint32_t val = h->a1, ptr = h->a2, flags = h->a3;
    if (ptr & 3)
        return VMI_ERR_ALIGN;
    if (!pxe_level_ok(flags))
        return VMI_ERR_INVALID;
    if (bt_guest_write(cpu, ptr, &val, 4))
        return VMI_ERR_BAD_ADDRESS;
    v->stats.set_pxe++;
    pxe_changed(v, cpu, ptr, flags);
    return VMI_OK;
}

/* EAX entry pointer, EDX flags: the guest changed the entry itself. */
static int hc_update_pxe(struct vmi *v, struct cpu *cpu, struct hc *h)
{
    uint32_t ptr = h->a1, flags = h->a2, val;
    if (ptr & 3)
        return VMI_ERR_ALIGN;
    if (!pxe_level_ok(flags))
        return VMI_ERR_INVALID;
    if (bt_guest_read(cpu, ptr, &val, 4))
        return VMI_ERR_BAD_ADDRESS;
    v->stats.update_pxe++;
    pxe_changed(v, cpu, ptr, flags);
    return VMI_OK;
}

/* EAX pfn, EDX flags, ECX clone-source pfn, [ESP+4] start, [ESP+8]
 * count. CLONE copies PD entries [start, start+count) from the source
 * (Linux has copied them already; copying again is harmless). */
static int hc_allocate_page(struct vmi *v, struct cpu *cpu, struct hc *h)
{
    uint32_t pfn = h->a1, flags = h->a2, src = h->a3, start, count;
    if (!frame_in_ram(v, pfn))
        return VMI_ERR_BAD_ADDRESS;
    if ((flags & VMI_PAGE_PAE) || !pxe_level_ok(flags))
        return VMI_ERR_INVALID;
    uint8_t level = (uint8_t)(flags & (VMI_PAGE_PT | VMI_PAGE_PD));
    if (flags & VMI_PAGE_CLONE) {
        int st = read_stack(cpu, h, 0, &start);
        if (!st)
            st = read_stack(cpu, h, 1, &count);
        if (st)
            return st;
        if (level != VMI_PAGE_PD || start > 1024 || count > 1024 - start)
            return VMI_ERR_INVALID;
        if (!frame_in_ram(v, src))
            return VMI_ERR_BAD_ADDRESS;
        uint32_t dst = pfn * PAGE_SIZE + start * 4;
        memmove(cpu->ram + dst, cpu->ram + src * PAGE_SIZE + start * 4,
                count * 4);
        if (count)
            bt_invalidate_phys(cpu->bt, dst, count * 4);
        v->stats.clone_entries += count;
    }
    /* its old contents were written without notification */
    bt_tlb_table_reset(cpu, pfn * PAGE_SIZE);
    v->page_level[pfn] = level;
    v->stats.allocate_page++;
    return VMI_OK;
}

/* EAX pfn, EDX flags: must match how the page was registered. */
static int hc_release_page(struct vmi *v, struct cpu *cpu, struct hc *h)
{
    uint32_t pfn = h->a1;
    if (!frame_in_ram(v, pfn))
        return VMI_ERR_BAD_ADDRESS;
    if ((h->a2 & VMI_PAGE_PAE) || !pxe_level_ok(h->a2) ||
        v->page_level[pfn] != (h->a2 & (VMI_PAGE_PT | VMI_PAGE_PD)))
        return VMI_ERR_INVALID;
    /* it may be reused as anything, even as another directory */
    bt_tlb_table_reset(cpu, pfn * PAGE_SIZE);
    v->page_level[pfn] = 0;
    v->stats.release_page++;
    return VMI_OK;
}

static int hc_inval_page(struct vmi *v, struct cpu *cpu, struct hc *h)
{
    lazy_apply(v, cpu);
    bt_tlb_flush_page(cpu, h->a1);
    v->stats.inval_page++;
    return VMI_OK;
}

static int hc_flush_tlb(struct vmi *v, struct cpu *cpu, struct hc *h)
{
    if (h->a1 & ~(uint32_t)(VMI_FLUSH_TLB | VMI_FLUSH_GLOBAL))
        return VMI_ERR_INVALID;
    flush_all(v, cpu);
    v->stats.flush_tlb++;
    return VMI_OK;
}

/* EAX slot, EDX VA, ECX pages, [ESP+4] first pfn. Recorded (a hint for
 * turning entry pointers into frames; the soft MMU walks anyway). */
static int hc_set_linear_mapping(struct vmi *v, struct cpu *cpu, struct hc *h)
{
    uint32_t slot = h->a1, va = h->a2, pages = h->a3, pfn;
    if (slot >= VMI_LINEAR_MAPPING_SLOTS)
        return VMI_ERR_INVALID;
    if (va & (PAGE_SIZE - 1))
        return VMI_ERR_ALIGN;
    int st = read_stack(cpu, h, 0, &pfn);
    if (st)
        return st;
    if (pfn > v->ram_pages || pages > v->ram_pages - pfn)
        return VMI_ERR_BAD_ADDRESS;
    v->linear[slot].va = va;
    v->linear[slot].pages = pages;
    v->linear[slot].pfn = pfn;
    v->linear[slot].set = true;
    v->stats.set_linear_mapping++;
    return VMI_OK;
}

/* Entering is a hint; leaving or lowering applies what was queued. */
static int hc_set_lazy_mode(struct vmi *v, struct cpu *cpu, struct hc *h)
{
    uint32_t mode = h->a1;
    if (mode > VMI_LAZY_MODE_CPU_STATE)
        return VMI_ERR_INVALID;
    if (mode < v->lazy_mode || mode == VMI_LAZY_MODE_OFF) {
        lazy_apply(v, cpu);
        v->stats.lazy_leave++;
    } else if (mode != v->lazy_mode) {
        v->stats.lazy_enter++;
    }
    v->lazy_mode = mode;
    return VMI_OK;
}

/* ---- time ---- */

uint64_t vmi_cycles_now(const struct cpu *cpu)
{
    return __rdtsc() + cpu->tsc_offset; /* what the guest's RDTSC reads */
}

static uint64_t now_ns(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The TSC against the monotonic clock over ~10 ms, rounded to kHz. */
uint64_t vmi_cycle_frequency(struct vmi *v)
{
    if (v->cycle_hz)
        return v->cycle_hz;
    struct timespec nap = {0, 10 * 1000 * 1000};
    uint64_t t0 = now_ns(CLOCK_MONOTONIC_RAW), c0 = __rdtsc();
    nanosleep(&nap, NULL);
    uint64_t t1 = now_ns(CLOCK_MONOTONIC_RAW), c1 = __rdtsc();
    uint64_t hz = t1 > t0 ? (uint64_t)((double)(c1 - c0) * 1e9 / (double)(t1 - t0))
                          : 0;
    hz = (hz + 500) / 1000 * 1000;
    v->cycle_hz = hz ? hz : 1000000000u;
    return v->cycle_hz;
}

static int hc_get_cycle_frequency(struct vmi *v, struct cpu *cpu, struct hc *h)
{
    (void)cpu;
    h->result = vmi_cycle_frequency(v);
    return VMI_OK;
}

/* An unknown counter reads 0 (as the spec says) and reports INVALID. */
static int hc_get_cycle_counter(struct vmi *v, struct cpu *cpu, struct hc *h)
{
    (void)v;
    switch (h->a1) {
    case VMI_CYCLES_REAL:
    case VMI_CYCLES_AVAILABLE:
        h->result = vmi_cycles_now(cpu);
        return VMI_OK;
    case VMI_CYCLES_STOLEN:
        h->result = 0;
        return VMI_OK;
    default:
        return VMI_ERR_INVALID;
    }
}

/* EAX flags, EDX:ECX expiry, [ESP+4]/[ESP+8] period. One alarm per
 * counter; STOLEN and unknown counters make it a no-op. */
static int hc_set_alarm(struct vmi *v, struct cpu *cpu, struct hc *h)
{
    uint32_t flags = h->a1, plo, phi;
    if (flags & ~(uint32_t)ALARM_FLAGS_VALID)
        return VMI_ERR_INVALID;
    int st = read_stack(cpu, h, 0, &plo);
    if (!st)
        st = read_stack(cpu, h, 1, &phi);
    if (st)
        return st;
    v->stats.alarms_set++;
    unsigned counter = flags & VMI_ALARM_COUNTER_MASK;
    if (counter > VMI_CYCLES_AVAILABLE)
        return VMI_OK;
    uint64_t period = (uint64_t)phi << 32 | plo;
    v->alarm[counter] = (struct vmi_alarm){
        .armed = true,
        .lvtt = flags & VMI_ALARM_WIRED_LVTT,
        .expiry = (uint64_t)h->a3 << 32 | h->a2,
        .period = (flags & VMI_ALARM_IS_PERIODIC) ? period : 0,
    };
    if (v->ops.alarm_changed)
        v->ops.alarm_changed(v->ops.opaque);
    return VMI_OK;
}

/* EAX flags -> EAX 1 if the alarm was armed (a one-shot not yet fired,
 * or periodic), else 0. */
static int hc_cancel_alarm(struct vmi *v, struct cpu *cpu, struct hc *h)
{
    (void)cpu;
    unsigned counter = h->a1 & VMI_ALARM_COUNTER_MASK;
    v->stats.alarms_cancelled++;
    h->result = 0;
    if (counter > VMI_CYCLES_AVAILABLE)
        return VMI_OK;
    h->result = v->alarm[counter].armed;
    v->alarm[counter].armed = false;
    if (h->result && v->ops.alarm_changed)
        v->ops.alarm_changed(v->ops.opaque);
    return VMI_OK;
}

static int hc_get_wallclock_time(struct vmi *v, struct cpu *cpu, struct hc *h)
{
    (void)v, (void)cpu;
    h->result = now_ns(CLOCK_REALTIME);
    return VMI_OK;
}

/* tpvm never suspends, so the wallclock never jumps against REAL. */
static int hc_wallclock_updated(struct vmi *v, struct cpu *cpu, struct hc *h)
{
    (void)v, (void)cpu;
    h->result = 0;
    return VMI_OK;
}

uint64_t vmi_alarm_deadline(const struct vmi *v)
{
    uint64_t d = VMI_NO_DEADLINE;
    for (unsigned i = 0; i < 2; i++)
        if (v->alarm[i].armed && v->alarm[i].expiry < d)
            d = v->alarm[i].expiry;
    return d;
}

uint64_t vmi_alarm_deadline_ns(struct vmi *v, const struct cpu *cpu,
                               uint64_t now_ns)
{
    uint64_t d = vmi_alarm_deadline(v);
    if (d == VMI_NO_DEADLINE)
        return UINT64_MAX;
    uint64_t now = vmi_cycles_now(cpu);
    if (d <= now)
        return now_ns;
    double ns = (double)(d - now) * 1e9 / (double)vmi_cycle_frequency(v);
    return ns >= (double)(UINT64_MAX - now_ns) ? UINT64_MAX - 1
                                                : now_ns + (uint64_t)ns;
}

unsigned vmi_alarm_fire(struct vmi *v, uint64_t now)
{
    unsigned lines = 0;
    for (unsigned i = 0; i < 2; i++) {
        struct vmi_alarm *a = &v->alarm[i];
        if (!a->armed || a->expiry > now)
            continue;
        lines |= a->lvtt ? VMI_FIRED_LVTT : VMI_FIRED_IRQ0;
        v->stats.alarms_fired++;
        if (a->period)
            a->expiry += ((now - a->expiry) / a->period + 1) * a->period;
        else
            a->armed = false;
    }
    return lines;
}

/* ---- dispatch ---- */

enum hc_result { RES_VOID, RES_32, RES_64, RES_REGS };

static const struct {
    hc_fn fn;
    enum hc_result res;
} calls[VMI_CALL_COUNT] = {
    [VMI_CALL_CPUID] = {hc_cpuid, RES_REGS},
    [VMI_CALL_SetGDT] = {hc_set_gdt, RES_VOID},
    [VMI_CALL_SetLDT] = {hc_set_ldt, RES_VOID},
    [VMI_CALL_SetIDT] = {hc_set_idt, RES_VOID},
    [VMI_CALL_SetTR] = {hc_set_tr, RES_VOID},
    [VMI_CALL_GetGDT] = {hc_get_gdt, RES_VOID},
    [VMI_CALL_GetLDT] = {hc_get_ldt, RES_32},
    [VMI_CALL_GetIDT] = {hc_get_idt, RES_VOID},
    [VMI_CALL_GetTR] = {hc_get_tr, RES_32},
    [VMI_CALL_WriteGDTEntry] = {hc_write_gdt_entry, RES_VOID},
    [VMI_CALL_WriteLDTEntry] = {hc_write_ldt_entry, RES_VOID},
    [VMI_CALL_WriteIDTEntry] = {hc_write_idt_entry, RES_VOID},
    [VMI_CALL_UpdateKernelStack] = {hc_update_kernel_stack, RES_VOID},
    [VMI_CALL_SetCR0] = {hc_set_cr0, RES_VOID},
    [VMI_CALL_SetCR2] = {hc_set_cr2, RES_VOID},
    [VMI_CALL_SetCR3] = {hc_set_cr3, RES_VOID},
    [VMI_CALL_SetCR4] = {hc_set_cr4, RES_VOID},
    [VMI_CALL_GetCR0] = {hc_get_cr0, RES_32},
    [VMI_CALL_GetCR2] = {hc_get_cr2, RES_32},
    [VMI_CALL_GetCR3] = {hc_get_cr3, RES_32},
    [VMI_CALL_GetCR4] = {hc_get_cr4, RES_32},
    [VMI_CALL_WBINVD] = {hc_wbinvd, RES_VOID},
    [VMI_CALL_RDTSC] = {hc_rdtsc, RES_64},
    [VMI_CALL_CLTS] = {hc_clts, RES_VOID},
    [VMI_CALL_Reboot] = {hc_reboot, RES_VOID},
    [VMI_CALL_Shutdown] = {hc_shutdown, RES_VOID},
    [VMI_CALL_SetPxE] = {hc_set_pxe, RES_VOID},
    [VMI_CALL_UpdatePxE] = {hc_update_pxe, RES_VOID},
    [VMI_CALL_AllocatePage] = {hc_allocate_page, RES_VOID},
    [VMI_CALL_ReleasePage] = {hc_release_page, RES_VOID},
    [VMI_CALL_InvalPage] = {hc_inval_page, RES_VOID},
    [VMI_CALL_FlushTLB] = {hc_flush_tlb, RES_VOID},
    [VMI_CALL_SetLinearMapping] = {hc_set_linear_mapping, RES_VOID},
    [VMI_CALL_GetCycleFrequency] = {hc_get_cycle_frequency, RES_64},
    [VMI_CALL_GetCycleCounter] = {hc_get_cycle_counter, RES_64},
    [VMI_CALL_SetAlarm] = {hc_set_alarm, RES_VOID},
    [VMI_CALL_CancelAlarm] = {hc_cancel_alarm, RES_32},
    [VMI_CALL_GetWallclockTime] = {hc_get_wallclock_time, RES_64},
    [VMI_CALL_WallclockUpdated] = {hc_wallclock_updated, RES_32},
    [VMI_CALL_SetLazyMode] = {hc_set_lazy_mode, RES_VOID},
};

static int hc_init(struct vmi *v)
{
    v->rom_active = true;
    v->stats.rom_init++;
    return VMI_OK;
}

void vmi_hypercall(struct vmi *v, struct cpu *cpu)
{
    uint32_t nr = cpu->regs[R_EAX];
    struct hc h = {
        .a1 = cpu->regs[R_EDX],
        .a2 = cpu->regs[R_ECX],
        .a3 = cpu->regs[R_EBX],
        .stack = cpu->regs[R_ESI],
    };
    enum hc_result res = RES_VOID;
    int st;

    v->stats.hypercalls++;
    if (cpu->cpl != 0) {
        st = VMI_ERR_PRIVILEGE;
    } else if (nr == VMI_HC_INIT) {
        st = hc_init(v);
    } else if (nr < VMI_CALL_COUNT && calls[nr].fn) {
        v->stats.calls[nr]++;
        res = calls[nr].res;
        st = calls[nr].fn(v, cpu, &h);
    } else {
        st = VMI_ERR_UNIMPLEMENTED;
    }
    if (st == VMI_ERR_UNIMPLEMENTED)
        v->stats.unimplemented++;
    if (st != VMI_OK) {
        v->stats.errors++;
        h.result = 0;
        if (res == RES_REGS)
            res = RES_VOID; /* no leaf: report like a void call */
    }
    switch (res) {
    case RES_REGS:
        return; /* the handler set EAX..EDX */
    case RES_VOID:
        cpu->regs[R_EAX] = (uint32_t)st;
        break;
    case RES_32:
        cpu->regs[R_EAX] = (uint32_t)h.result;
        break;
    case RES_64:
        cpu->regs[R_EAX] = (uint32_t)h.result;
        cpu->regs[R_EDX] = (uint32_t)(h.result >> 32);
        break;
    }
    cpu->regs[R_ECX] = (uint32_t)st;
}

/* ---- life cycle, ROM, stats ---- */

struct vmi *vmi_create(uint32_t ram_size, const struct vmi_machine_ops *ops)
{
    struct vmi *v = calloc(1, sizeof *v);
    if (!v)
        return NULL;
    v->ram_pages = ram_size / PAGE_SIZE;
    v->page_level = calloc(v->ram_pages ? v->ram_pages : 1, 1);
    if (!v->page_level) {
        free(v);
        return NULL;
    }
    if (ops)
        v->ops = *ops;
    return v;
}

void vmi_destroy(struct vmi *v)
{
    if (!v)
        return;
    free(v->page_level);
    free(v);
}

bool vmi_rom_active(const struct vmi *v)
{
    return v->rom_active;
}

const struct vmi_stats *vmi_get_stats(const struct vmi *v)
{
    return &v->stats;
}

static const char *const call_names[VMI_CALL_COUNT] = {
#define X(name) [VMI_CALL_##name] = #name,
    VMI_CALLS(X)
#undef X
};

void vmi_print_stats(const struct vmi *v, FILE *out)
{
#define X(name, desc) \
    fprintf(out, "  vmi %-22s %14" PRIu64 "  %s\n", #name, v->stats.name, desc);
    VMI_STATS(X)
#undef X
    for (unsigned i = 0; i < VMI_CALL_COUNT; i++)
        if (v->stats.calls[i])
            fprintf(out, "  vmi call %-17s %14" PRIu64 "\n", call_names[i],
                    v->stats.calls[i]);
}

/* The ROM built with tpvm (rom.mk passes its path). */
#ifdef TPVM_VMI_ROM_FILE
__asm__(".pushsection .rodata, \"a\"\n"
        ".balign 16\n"
        ".globl vmi_builtin_rom, vmi_builtin_rom_end\n"
        ".hidden vmi_builtin_rom, vmi_builtin_rom_end\n"
        "vmi_builtin_rom:\n"
        ".incbin \"" TPVM_VMI_ROM_FILE "\"\n"
        "vmi_builtin_rom_end:\n"
        ".popsection\n");
extern const uint8_t vmi_builtin_rom[], vmi_builtin_rom_end[];
#endif

static int rom_place(const uint8_t *img, size_t size, uint8_t *ram,
                     uint32_t ram_size, const char *what, char *err,
                     size_t errlen)
{
    if (size == 0 || size > VMI_ROM_MAX_SIZE) {
        snprintf(err, errlen, "%s: a VMI ROM must be 1 to %u bytes, not %zu",
                 what, VMI_ROM_MAX_SIZE, size);
        return -EINVAL;
    }
    if (ram_size < VMI_ROM_LOAD_ADDR + size) {
        snprintf(err, errlen, "%s: guest RAM too small to map the VMI ROM at "
                              "0x%x", what, VMI_ROM_LOAD_ADDR);
        return -ENOSPC;
    }
    memcpy(ram + VMI_ROM_LOAD_ADDR, img, size);
    return 0;
}

int vmi_rom_load(const char *path, uint8_t *ram, uint32_t ram_size, char *err,
                 size_t errlen)
{
    if (!path) {
#ifdef TPVM_VMI_ROM_FILE
        return rom_place(vmi_builtin_rom,
                         (size_t)(vmi_builtin_rom_end - vmi_builtin_rom), ram,
                         ram_size, "built-in ROM", err, errlen);
#else
        snprintf(err, errlen, "tpvm was built without a VMI ROM");
        return -ENOENT;
#endif
    }
    uint8_t *buf = malloc(VMI_ROM_MAX_SIZE + 1);
    if (!buf) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -ENOMEM;
    }
    int ret;
    FILE *f = fopen(path, "rb");
    if (!f) {
        ret = -errno;
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto out;
    }
    size_t n = fread(buf, 1, VMI_ROM_MAX_SIZE + 1, f);
    if (ferror(f)) {
        ret = -EIO;
        snprintf(err, errlen, "%s: read error", path);
    } else {
        ret = rom_place(buf, n, ram, ram_size, path, err, errlen);
    }
    fclose(f);
out:
    free(buf);
    return ret;
}
