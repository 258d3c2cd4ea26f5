/* minios: the GDT, the IDT and the TSS, written and loaded through the
 * pv-ops (WriteGDTEntry/WriteIDTEntry/SetGDT/SetIDT/SetTR on the ROM). */
#include "minios.h"
#include "pvops.h"

struct tss {
    uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
    uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
    uint32_t es, cs, ss, ds, fs, gs, ldt;
    uint16_t trap, iomap_base;
} __attribute__((packed));
_Static_assert(sizeof(struct tss) == 104, "32-bit TSS");

static uint32_t gdt[GDT_ENTRIES * 2] __attribute__((aligned(8)));
static uint32_t idt[256 * 2] __attribute__((aligned(8)));
static struct tss tss __attribute__((aligned(128)));

/* Only through the native load_esp0 pv-op: the ROM's UpdateKernelStack
 * writes the same fields through the monitor. */
void tss_set_esp0(uint32_t ss0, uint32_t esp0)
{
    tss.ss0 = ss0;
    tss.esp0 = esp0;
}

/* type: the access byte (P, DPL, S, type); flags: G and D/B nibble. */
static void gdt_set(unsigned index, uint32_t base, uint32_t limit,
                    uint32_t access, uint32_t flags)
{
    uint32_t lo = (limit & 0xffffu) | (base & 0xffffu) << 16;
    uint32_t hi = ((base >> 16) & 0xffu) | access << 8 | (limit & 0xf0000u) |
                  flags << 20 | (base & 0xff000000u);
    pv_ops.write_gdt_entry(gdt, index, lo, hi);
}

static void idt_set(unsigned vector, uint32_t handler, unsigned dpl)
{
    uint32_t lo = (handler & 0xffffu) | (uint32_t)SEL_KCODE << 16;
    uint32_t hi = (handler & 0xffff0000u) | 0x8e00u | dpl << 13; /* intr gate */
    pv_ops.write_idt_entry(idt, vector, lo, hi);
}

void desc_init(void)
{
    gdt_set(0, 0, 0, 0, 0);
    gdt_set(SEL_KCODE >> 3, 0, 0xfffff, 0x9a, 0xc);
    gdt_set(SEL_KDATA >> 3, 0, 0xfffff, 0x92, 0xc);
    gdt_set(SEL_UCODE >> 3, 0, 0xfffff, 0xfa, 0xc);
    gdt_set(SEL_UDATA >> 3, 0, 0xfffff, 0xf2, 0xc);
    tss.ss0 = SEL_KDATA;
    tss.iomap_base = sizeof tss; /* no I/O bitmap: ring 3 has no ports */
    gdt_set(SEL_TSS >> 3, (uint32_t)&tss, sizeof tss - 1, 0x89, 0);

    struct dtr_ptr g = {sizeof gdt - 1, (uint32_t)gdt};
    pv_ops.load_gdt(&g);
    __asm__ volatile("ljmp %0, $1f\n1:\n\t"
                     "mov %1, %%ds\n\tmov %1, %%es\n\tmov %1, %%ss\n\t"
                     "mov %1, %%fs\n\tmov %1, %%gs"
                     : : "i"(SEL_KCODE), "r"(SEL_KDATA) : "memory");
    pv_ops.load_tr(SEL_TSS);

    /* Every vector has a stub; only the system call is reachable from
     * ring 3 by INT. Interrupt gates: the kernel runs with IF clear. */
    for (unsigned v = 0; v < 256; v++)
        idt_set(v, trap_stubs[v], v == VEC_SYSCALL ? 3 : 0);
    struct dtr_ptr i = {sizeof idt - 1, (uint32_t)idt};
    pv_ops.load_idt(&i);
}
