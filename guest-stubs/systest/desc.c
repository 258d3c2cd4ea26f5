/* systest: the GDT, LDT, TSS and IDT this kernel runs with, and the code
 * that (re)builds and loads them. */
#include "systest.h"

uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(8)));
uint64_t ldt[LDT_ENTRIES] __attribute__((aligned(8)));
uint64_t idt[256] __attribute__((aligned(8)));
struct tss tss __attribute__((aligned(128)));
uint8_t small_window[SMALL_LIMIT + 1];
uint8_t ldt_window[64];

extern char callgate_entry[];

/* access: P DPL S type; flags: G D/B L AVL in the high nibble. */
uint64_t seg_desc(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
    return (uint64_t)(limit & 0xffff) | (uint64_t)(base & 0xffffff) << 16 |
           (uint64_t)access << 40 | (uint64_t)((limit >> 16) & 0xf) << 48 |
           (uint64_t)(flags & 0xf0) << 48 | (uint64_t)(base >> 24) << 56;
}

uint64_t gate_desc(uint16_t sel, uint32_t offset, uint8_t access)
{
    return (uint64_t)(offset & 0xffff) | (uint64_t)sel << 16 |
           (uint64_t)access << 40 | (uint64_t)(offset >> 16) << 48;
}

#define FLAT 0xfffff
#define PAGES_32BIT 0xc0 /* G=1, D/B=1 */
#define BYTES_32BIT 0x40

void set_idt_gate(unsigned vector, uint8_t access)
{
    idt[vector] = gate_desc(SEL_KCODE, trap_stubs[vector], access);
}

static void build_tables(void)
{
    gdt[0] = 0;
    gdt[SEL_KCODE >> 3] = seg_desc(0, FLAT, 0x9a, PAGES_32BIT);
    gdt[SEL_KDATA >> 3] = seg_desc(0, FLAT, 0x92, PAGES_32BIT);
    gdt[SEL_UCODE >> 3] = seg_desc(0, FLAT, 0xfa, PAGES_32BIT);
    gdt[SEL_UDATA >> 3] = seg_desc(0, FLAT, 0xf2, PAGES_32BIT);
    gdt[SEL_TSS >> 3] = seg_desc(ADDR(&tss), sizeof(tss) - 1, 0x89, 0);
    gdt[SEL_CALLGATE >> 3] =
        gate_desc(SEL_KCODE, ADDR(callgate_entry), 0xec);
    gdt[SEL_SMALL >> 3] =
        seg_desc(ADDR(small_window), SMALL_LIMIT, 0x92, BYTES_32BIT);
    /* Writable data, P=0. */
    gdt[SEL_NOTPRESENT >> 3] = seg_desc(0, FLAT, 0x12, PAGES_32BIT);
    gdt[SEL_LDT >> 3] = seg_desc(ADDR(ldt), sizeof(ldt) - 1, 0x82, 0);
    gdt[SEL_KCODE_ALIAS >> 3] = seg_desc(0, FLAT, 0x9a, PAGES_32BIT);
    gdt[SEL_RODATA >> 3] = seg_desc(0, FLAT, 0x90, PAGES_32BIT);
    gdt[SEL_XOCODE >> 3] = seg_desc(0, FLAT, 0x98, PAGES_32BIT);

    ldt[0] = seg_desc(ADDR(ldt_window), sizeof(ldt_window) - 1, 0x92,
                      BYTES_32BIT);
    ldt[1] = 0;

    memset(&tss, 0, sizeof(tss));
    tss.esp0 = ADDR(tss_stack_top);
    tss.ss0 = SEL_KDATA;
    tss.iomap_base = (uint16_t)__builtin_offsetof(struct tss, iomap);
    memset(tss.iomap, 0xff, sizeof(tss.iomap));
    tss.iomap[IOMAP_ALLOWED_PORT / 8] &= (uint8_t)~(1u << (IOMAP_ALLOWED_PORT % 8));

    memset(idt, 0, sizeof(idt));
    for (unsigned v = 0; v < 32; v++)
        set_idt_gate(v, 0x8e);
    for (unsigned v = VEC_IRQ0; v < VEC_IRQ0 + 16; v++)
        set_idt_gate(v, 0x8e);
    set_idt_gate(VEC_SYSCALL, 0xef);
    set_idt_gate(VEC_SYSCALL_INTR, 0xee);
    set_idt_gate(VEC_USER_EXIT, 0xee);
    set_idt_gate(VEC_KERNEL_ONLY, 0x8e);
    /* A valid interrupt gate with P=0 (an all-zero entry is #GP). */
    set_idt_gate(VEC_ABSENT, 0x0e);
}

void desc_init(void)
{
    static struct table_ptr gdtr, idtr;

    build_tables();
    gdtr.limit = sizeof(gdt) - 1;
    gdtr.base = ADDR(gdt);
    idtr.limit = sizeof(idt) - 1;
    idtr.base = ADDR(idt);
    __asm__ volatile("lgdt %0\n\t"
                     "lidt %1\n\t"
                     "ljmp %2, $1f\n"
                     "1:\n\t"
                     "mov %3, %%ds\n\t"
                     "mov %3, %%es\n\t"
                     "mov %3, %%fs\n\t"
                     "mov %3, %%gs\n\t"
                     "mov %3, %%ss\n\t"
                     "lldt %w4\n\t"
                     "ltr %w5"
                     :
                     : "m"(gdtr), "m"(idtr), "i"(SEL_KCODE), "r"(SEL_KDATA),
                       "r"(SEL_LDT), "r"(SEL_TSS)
                     : "memory");
}
