/* The report printed when the guest dies: why, and the whole CPU state. */
#include "vmm/diagnose.h"

#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "vmm/vm.h"

static const struct {
    const char *mnemonic, *name;
} exceptions[] = {
    [EXC_DE] = { "#DE", "divide error" },
    [EXC_DB] = { "#DB", "debug" },
    [EXC_NMI] = { "NMI", "non-maskable interrupt" },
    [EXC_BP] = { "#BP", "breakpoint" },
    [EXC_OF] = { "#OF", "overflow" },
    [EXC_BR] = { "#BR", "BOUND range exceeded" },
    [EXC_UD] = { "#UD", "invalid opcode" },
    [EXC_NM] = { "#NM", "device not available" },
    [EXC_DF] = { "#DF", "double fault" },
    [9] = { "#CSO", "coprocessor segment overrun" },
    [EXC_TS] = { "#TS", "invalid TSS" },
    [EXC_NP] = { "#NP", "segment not present" },
    [EXC_SS] = { "#SS", "stack-segment fault" },
    [EXC_GP] = { "#GP", "general protection" },
    [EXC_PF] = { "#PF", "page fault" },
    [EXC_MF] = { "#MF", "x87 floating-point error" },
    [EXC_AC] = { "#AC", "alignment check" },
    [EXC_MC] = { "#MC", "machine check" },
    [EXC_XM] = { "#XM", "SIMD floating-point exception" },
};

#define NEXC ((int)(sizeof(exceptions) / sizeof(exceptions[0])))

const char *exception_mnemonic(int v)
{
    return v >= 0 && v < NEXC && exceptions[v].mnemonic ? exceptions[v].mnemonic
                                                        : "?";
}

const char *exception_name(int v)
{
    return v >= 0 && v < NEXC && exceptions[v].name ? exceptions[v].name
                                                    : "reserved";
}

static uint32_t ram_rd32(const struct vm *vm, uint32_t pa, bool *ok)
{
    uint32_t v;

    if (pa > vm->ram_size || vm->ram_size - pa < 4) {
        *ok = false;
        return 0;
    }
    memcpy(&v, vm->ram + pa, 4);
    return v;
}

/* Linear -> physical through the guest's 2-level page tables, read-only
 * and without touching A/D bits: this is for the report, not execution.
 * *page_left is how many bytes stay contiguous from the address. */
static bool linear_to_phys(const struct vm *vm, uint32_t lin, uint32_t *pa,
                           uint32_t *page_left)
{
    const struct cpu *c = vm->cpu;
    bool ok = true;

    if (!(c->cr0 & CR0_PG)) {
        *pa = lin;
        *page_left = 0xffffffffu; /* the RAM bound applies later */
        return true;
    }
    uint32_t pde = ram_rd32(vm, (c->cr3 & ~0xfffu) + (lin >> 22) * 4, &ok);
    if (!ok || !(pde & 1))
        return false;
    if ((pde & 0x80) && (c->cr4 & CR4_PSE)) {
        *pa = (pde & 0xffc00000u) | (lin & 0x3fffffu);
        *page_left = 0x400000u - (lin & 0x3fffffu);
        return true;
    }
    uint32_t pte = ram_rd32(vm, (pde & ~0xfffu) + ((lin >> 12) & 0x3ff) * 4, &ok);
    if (!ok || !(pte & 1))
        return false;
    *pa = (pte & ~0xfffu) | (lin & 0xfffu);
    *page_left = 0x1000u - (lin & 0xfffu);
    return true;
}

static void print_code(struct vm *vm, FILE *out)
{
    const struct cpu *c = vm->cpu;
    uint32_t lin = c->seg[S_CS].base + c->eip;
    uint32_t pa, left;
    char text[128];

    if (!linear_to_phys(vm, lin, &pa, &left)) {
        fprintf(out, "  code: linear %08" PRIx32 " is not mapped\n", lin);
        return;
    }
    if (pa >= vm->ram_size) {
        fprintf(out, "  code: physical %08" PRIx32 " is outside RAM\n", pa);
        return;
    }
    size_t avail = vm->ram_size - pa;
    if (avail > left)
        avail = left;
    if (avail > 15)
        avail = 15;
    int len = bt_disasm(vm->ram + pa, avail, c->eip, text, sizeof(text));
    fprintf(out, "  code: %08" PRIx32 ":", c->eip);
    for (int i = 0; i < (len > 0 ? len : (int)avail); i++)
        fprintf(out, " %02x", vm->ram[pa + i]);
    fprintf(out, "  %s\n", len > 0 ? text : "(cannot disassemble)");
}

static void print_eflags(uint32_t fl, FILE *out)
{
    static const struct { uint32_t bit; const char *name; } bits[] = {
        { FL_CF, "CF" }, { FL_PF, "PF" }, { FL_AF, "AF" }, { FL_ZF, "ZF" },
        { FL_SF, "SF" }, { FL_TF, "TF" }, { FL_IF, "IF" }, { FL_DF, "DF" },
        { FL_OF, "OF" }, { FL_NT, "NT" }, { FL_RF, "RF" }, { FL_VM, "VM" },
        { FL_AC, "AC" }, { FL_ID, "ID" },
    };

    fprintf(out, "  eflags=%08" PRIx32 " [", fl);
    const char *sep = "";
    for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
        if (fl & bits[i].bit) {
            fprintf(out, "%s%s", sep, bits[i].name);
            sep = " ";
        }
    fprintf(out, "] iopl=%u\n", (fl & FL_IOPL) >> 12);
}

void vm_diagnose(struct vm *vm, const char *reason, bool exception,
                 FILE *out)
{
    static const char *const seg_names[S_COUNT] = {
        "es", "cs", "ss", "ds", "fs", "gs", "ldtr", "tr",
    };
    const struct cpu *c = vm->cpu;
    const uint32_t *r = c->regs;

    fprintf(out, "tpvm: guest died: %s\n", reason);
    if (exception) {
        fprintf(out, "  exception %d %s (%s)", c->exc_vector,
                exception_mnemonic(c->exc_vector),
                exception_name(c->exc_vector));
        if (c->exc_has_error)
            fprintf(out, ", error code %#" PRIx32, c->exc_error);
        fprintf(out, ", at eip %08" PRIx32, c->exc_eip);
        if (c->exc_vector == EXC_PF)
            fprintf(out, ", address %08" PRIx32, c->cr2);
        fprintf(out, "\n");
    }
    fprintf(out, "  eax=%08" PRIx32 " ebx=%08" PRIx32 " ecx=%08" PRIx32
            " edx=%08" PRIx32 "\n", r[R_EAX], r[R_EBX], r[R_ECX], r[R_EDX]);
    fprintf(out, "  esi=%08" PRIx32 " edi=%08" PRIx32 " ebp=%08" PRIx32
            " esp=%08" PRIx32 "\n", r[R_ESI], r[R_EDI], r[R_EBP], r[R_ESP]);
    fprintf(out, "  eip=%08" PRIx32 " cpl=%" PRIu32 "\n", c->eip, c->cpl);
    print_eflags(c->eflags, out);
    for (int s = 0; s < S_COUNT; s++)
        fprintf(out, "  %-4s=%04x base=%08" PRIx32 " limit=%08" PRIx32
                " attr=%04" PRIx32 "\n", seg_names[s], c->seg[s].sel,
                c->seg[s].base, c->seg[s].limit, c->seg[s].attr);
    fprintf(out, "  gdt base=%08" PRIx32 " limit=%04" PRIx32
            "  idt base=%08" PRIx32 " limit=%04" PRIx32 "\n", c->gdtr.base,
            c->gdtr.limit, c->idtr.base, c->idtr.limit);
    fprintf(out, "  cr0=%08" PRIx32 " cr2=%08" PRIx32 " cr3=%08" PRIx32
            " cr4=%08" PRIx32 "\n", c->cr0, c->cr2, c->cr3, c->cr4);
    print_code(vm, out);
}
