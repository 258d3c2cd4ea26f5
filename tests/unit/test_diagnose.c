/* Unit tests for vmm/diagnose.c: the report printed when the guest dies. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/diagnose.h"
#include "vmm/vm.h"

#define RAM_SIZE (4u << 20)

static int setup(void **state)
{
    struct vm *vm = calloc(1, sizeof(*vm));
    vm->ram = calloc(1, RAM_SIZE);
    vm->ram_size = RAM_SIZE;
    vm->cpu = calloc(1, sizeof(*vm->cpu));
    vm->cpu->cr0 = CR0_PE | CR0_ET;
    vm->cpu->seg[S_CS] = (struct seg){ .sel = 0x08, .limit = 0xffffffffu };
    vm->cpu->eip = 0x100000;
    vm->ram[0x100000] = 0xf4; /* hlt */
    *state = vm;
    return 0;
}

static int teardown(void **state)
{
    struct vm *vm = *state;
    free(vm->ram);
    free(vm->cpu);
    free(vm);
    return 0;
}

static char *report(struct vm *vm, const char *reason, bool exception)
{
    static char buf[8192];
    FILE *f = fmemopen(buf, sizeof(buf), "w");
    vm_diagnose(vm, reason, exception, f);
    fclose(f);
    return buf;
}

static void contains(const char *text, const char *want)
{
    if (!strstr(text, want))
        fail_msg("report lacks \"%s\":\n%s", want, text);
}

static void report_names_reason_registers_and_disassembles_eip(void **state)
{
    struct vm *vm = *state;
    vm->cpu->regs[R_EAX] = 0x2badb002;
    vm->cpu->regs[R_ESP] = 0x7000;
    vm->cpu->eflags = 0x246;
    vm->cpu->cr3 = 0x5000;
    char *r = report(vm, "guest halted with interrupts disabled", false);
    contains(r, "tpvm: guest died: guest halted with interrupts disabled\n");
    contains(r, "eax=2badb002");
    contains(r, "esp=00007000");
    contains(r, "eip=00100000");
    contains(r, "eflags=00000246 [PF ZF IF] iopl=0");
    contains(r, "cs  =0008 base=00000000 limit=ffffffff");
    contains(r, "cr0=00000011 cr2=00000000 cr3=00005000 cr4=00000000");
    contains(r, "code: 00100000: f4  hlt");
    assert_null(strstr(r, "exception"));
}

static void exception_line_has_vector_name_error_code_and_cr2(void **state)
{
    struct vm *vm = *state;
    vm->cpu->exc_vector = EXC_PF;
    vm->cpu->exc_error = 0x2;
    vm->cpu->exc_has_error = true;
    vm->cpu->exc_eip = 0x100000;
    vm->cpu->cr2 = 0xdeadb000;
    char *r = report(vm, "unhandled exception", true);
    contains(r, "exception 14 #PF (page fault), error code 0x2, at eip "
                "00100000, address deadb000");
}

static void exception_without_error_code_omits_it(void **state)
{
    struct vm *vm = *state;
    vm->cpu->exc_vector = EXC_UD;
    vm->cpu->exc_has_error = false;
    char *r = report(vm, "unhandled exception", true);
    contains(r, "exception 6 #UD (invalid opcode), at eip");
    assert_null(strstr(r, "error code"));
}

static void code_is_found_through_guest_page_tables(void **state)
{
    struct vm *vm = *state;
    /* PDE for 0xc0000000 -> page table at 0x6000; PTE 0x100 -> 0x100000. */
    uint32_t pde = 0x6000 | 1, pte = 0x100000 | 1;
    memcpy(vm->ram + 0x5000 + (0xc0000000u >> 22) * 4, &pde, 4);
    memcpy(vm->ram + 0x6000 + 0x100 * 4, &pte, 4);
    vm->cpu->cr0 |= CR0_PG;
    vm->cpu->cr3 = 0x5000;
    vm->cpu->eip = 0xc0100000u;
    char *r = report(vm, "x", false);
    contains(r, "code: c0100000: f4  hlt");
    vm->cpu->eip = 0xc0400000u; /* its PDE is empty */
    r = report(vm, "x", false);
    contains(r, "code: linear c0400000 is not mapped");
}

static void code_outside_ram_is_said_so(void **state)
{
    struct vm *vm = *state;
    vm->cpu->eip = 0xfffffff0u;
    char *r = report(vm, "x", false);
    contains(r, "code: physical fffffff0 is outside RAM");
}

static void exception_names_cover_the_architected_vectors(void **state)
{
    (void)state;
    assert_string_equal(exception_mnemonic(EXC_GP), "#GP");
    assert_string_equal(exception_name(EXC_DF), "double fault");
    assert_string_equal(exception_name(EXC_DE), "divide error");
    assert_string_equal(exception_mnemonic(15), "?");
    assert_string_equal(exception_mnemonic(-1), "?");
    assert_string_equal(exception_name(200), "reserved");
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(report_names_reason_registers_and_disassembles_eip),
        T(exception_line_has_vector_name_error_code_and_cr2),
        T(exception_without_error_code_omits_it),
        T(code_is_found_through_guest_page_tables),
        T(code_outside_ram_is_said_so),
        cmocka_unit_test(exception_names_cover_the_architected_vectors),
    };
    return cmocka_run_group_tests_name("diagnose", tests, NULL, NULL);
}
