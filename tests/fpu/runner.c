/* Runs an x87 test case under tpvm (bt_run on a flat 32-bit CPU, with a
 * GDT and an IDT whose handlers are single hlt instructions, so a
 * delivered exception is seen as a hlt at HANDLER_ADDR + vector) or
 * under Unicorn (a fresh engine per case; exceptions stop it through
 * UC_HOOK_INTR). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <unicorn/unicorn.h>

#include "bt/bt.h"
#include "tests/common/strict_host.h"
#include "tests/fpu/runner.h"

#define CASE_MEM_SIZE (PT_ADDR + 0x1000u) /* laid out per case; what Unicorn maps */

struct runner {
    enum fpu_engine engine;
    struct bt *bt;
    struct cpu *cpu;
    uint8_t *ram;
    struct strict_host sh; /* the device-less machine */
    uint8_t *uc_ram;     /* Unicorn: its guest memory */
};

void runner_install_fault_handler(void)
{
    strict_host_install_segv("fpu-unicorn");
}

struct runner *runner_create(enum fpu_engine engine)
{
    struct runner *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->engine = engine;
    if (engine == ENGINE_UNICORN) {
        r->uc_ram = malloc(CASE_MEM_SIZE);
        if (!r->uc_ram)
            goto fail;
        return r;
    }
    if (engine == ENGINE_TPVM_DIRECT) {
        r->cpu = bt_cpu_alloc(FPU_RAM_SIZE);
        if (!r->cpu)
            goto fail;
        bt_cpu_reset_flat(r->cpu);
        r->ram = r->cpu->ram;
    } else {
        r->cpu = aligned_alloc(64, (sizeof *r->cpu + 63) & ~(size_t)63);
        r->ram = aligned_alloc(4096, FPU_RAM_SIZE);
        if (!r->cpu || !r->ram)
            goto fail;
        memset(r->cpu, 0, sizeof *r->cpu);
        memset(r->ram, 0, FPU_RAM_SIZE);
        bt_cpu_init_flat(r->cpu, r->ram, FPU_RAM_SIZE);
    }
    strict_host_init(&r->sh);
    r->bt = bt_create(NULL);
    bt_attach(r->bt, r->cpu, &r->sh.host);
    return r;
fail:
    runner_destroy(r);
    return NULL;
}

void runner_destroy(struct runner *r)
{
    if (!r)
        return;
    if (r->bt)
        bt_destroy(r->bt);
    if (r->engine == ENGINE_TPVM_DIRECT) {
        bt_cpu_free(r->cpu);
    } else if (r->engine == ENGINE_TPVM_TLB) {
        free(r->cpu);
        free(r->ram);
    }
    free(r->uc_ram);
    free(r);
}

const char *runner_name(const struct runner *r)
{
    switch (r->engine) {
    case ENGINE_UNICORN: return "unicorn";
    case ENGINE_TPVM_DIRECT: return "tpvm (direct RAM)";
    default: return "tpvm (soft TLB)";
    }
}

struct cpu *runner_cpu(struct runner *r)
{
    return r->cpu;
}

static void put32(uint8_t *ram, uint32_t addr, uint32_t v)
{
    memcpy(ram + addr, &v, 4);
}

static uint32_t get32(const uint8_t *ram, uint32_t addr)
{
    uint32_t v;
    memcpy(&v, ram + addr, 4);
    return v;
}

/* Code, data (over a DATA_FILL background), and for tpvm the GDT, IDT,
 * handlers and page tables. */
static void lay_out(uint8_t *ram, const struct fpu_case *c, bool tables)
{
    memset(ram, 0, CASE_MEM_SIZE);
    memcpy(ram + CODE_ADDR, c->code, c->code_len);
    memset(ram + DATA_ADDR, DATA_FILL, DATA_SIZE);
    if (c->data_len)
        memcpy(ram + DATA_ADDR, c->data, c->data_len);
    if (!tables)
        return;
    static const uint64_t gdt[4] = {0, 0, 0x00cf9a000000ffffull, 0x00cf92000000ffffull};
    memcpy(ram + GDT_ADDR, gdt, sizeof gdt);
    for (uint32_t v = 0; v < 32; v++) {
        uint32_t h = HANDLER_ADDR + v;
        put32(ram, IDT_ADDR + 8 * v, (0x10u << 16) | (h & 0xffffu));
        put32(ram, IDT_ADDR + 8 * v + 4, (h & 0xffff0000u) | 0x8e00u);
        ram[h] = 0xf4; /* hlt */
    }
    if (c->unmapped_page) {
        put32(ram, PD_ADDR, PT_ADDR | 0x3);
        for (uint32_t p = 0; p < 1024; p++)
            put32(ram, PT_ADDR + 4 * p,
                  p << 12 == c->unmapped_page ? 0 : (p << 12) | 0x3);
    }
}

static bool pushes_error(int v)
{
    return v == 8 || (v >= 10 && v <= 14) || v == 17;
}

static void tpvm_finish(struct runner *r, int why, struct fpu_result *out)
{
    struct cpu *cpu = r->cpu;
    memcpy(out->regs, cpu->regs, sizeof out->regs);
    out->eflags = cpu->eflags;
    out->cr2 = cpu->cr2;
    memcpy(out->data, r->ram + DATA_ADDR, DATA_SIZE);
    memcpy(out->fx, cpu->fpu.fx, sizeof out->fx);
    out->note[0] = 0;
    out->vector = -1;
    uint32_t at = cpu->eip - 1;
    if (why == BT_EXIT_EXCEPTION) {
        /* the translator hands the fault to its caller */
        out->kind = OUT_FAULT;
        out->vector = cpu->exc_vector;
        out->fault_eip = cpu->exc_eip;
        out->error = cpu->exc_error;
    } else if (why == BT_EXIT_HLT && at >= HANDLER_ADDR && at < HANDLER_ADDR + 32) {
        /* delivered through the IDT: the frame says where */
        out->kind = OUT_FAULT;
        out->vector = (int)(at - HANDLER_ADDR);
        uint32_t esp = cpu->regs[R_ESP];
        if (pushes_error(out->vector)) {
            out->error = get32(r->ram, esp);
            esp += 4;
        }
        out->fault_eip = get32(r->ram, esp);
    } else if (why == BT_EXIT_HLT) {
        out->kind = OUT_HLT;
        out->eip = at;
    } else {
        out->kind = OUT_OTHER;
        snprintf(out->note, sizeof out->note, "bt_run returned %d (vector %d at %#x)",
                 why, cpu->exc_vector, cpu->exc_eip);
    }
    if (r->sh.unexpected) {
        out->kind = OUT_OTHER;
        snprintf(out->note, sizeof out->note, "%u unexpected I/O or MMIO accesses",
                 r->sh.unexpected);
    }
}

static void tpvm_run(struct runner *r, const struct fpu_case *c, struct fpu_result *out)
{
    struct cpu *cpu = r->cpu;
    /* cmocka installs its own SIGSEGV handler around each test */
    runner_install_fault_handler();
    /* forget translations (and unprotect code pages) before rewriting RAM */
    bt_invalidate_phys(r->bt, 0, CASE_MEM_SIZE);
    if (r->engine == ENGINE_TPVM_DIRECT)
        bt_cpu_reset_flat(cpu);
    else
        bt_cpu_init_flat(cpu, r->ram, FPU_RAM_SIZE);
    lay_out(r->ram, c, true);
    cpu->gdtr = (struct dtr){GDT_ADDR, 4 * 8 - 1};
    cpu->idtr = (struct dtr){IDT_ADDR, 32 * 8 - 1};
    cpu->regs[R_EAX] = c->eax;
    cpu->regs[R_EBX] = c->ebx;
    cpu->regs[R_ESP] = STACK_TOP;
    cpu->cr0 |= c->cr0_set;
    cpu->cr4 |= c->cr4_set;
    if (c->unmapped_page) {
        cpu->cr3 = PD_ADDR;
        cpu->cr0 |= CR0_PG;
    }
    bt_tlb_flush(cpu);
    cpu->eip = CODE_ADDR;
    cpu->run = 1;
    r->sh.unexpected = 0;
    tpvm_finish(r, bt_run(cpu), out);
}

void runner_continue(struct runner *r, uint32_t code_addr, const uint8_t *code,
                     size_t len, struct fpu_result *out)
{
    bt_invalidate_phys(r->bt, code_addr, (uint32_t)len);
    memcpy(r->ram + code_addr, code, len);
    runner_install_fault_handler();
    r->cpu->eip = code_addr;
    r->cpu->run = 1;
    r->sh.unexpected = 0;
    tpvm_finish(r, bt_run(r->cpu), out);
}

/* ---- Unicorn ---- */

struct uc_stop {
    int vector;
    uint32_t eip;
};

static void on_interrupt(uc_engine *uc, uint32_t intno, void *opaque)
{
    struct uc_stop *s = opaque;
    s->vector = (int)intno;
    uc_reg_read(uc, UC_X86_REG_EIP, &s->eip);
    uc_emu_stop(uc);
}

static void uc_check(uc_err e, const char *what)
{
    if (e != UC_ERR_OK) {
        fprintf(stderr, "unicorn: %s: %s\n", what, uc_strerror(e));
        exit(2);
    }
}

static const int uc_gpr[8] = {
    UC_X86_REG_EAX, UC_X86_REG_ECX, UC_X86_REG_EDX, UC_X86_REG_EBX,
    UC_X86_REG_ESP, UC_X86_REG_EBP, UC_X86_REG_ESI, UC_X86_REG_EDI,
};

static void unicorn_run(uint8_t *ram, const struct fpu_case *c, struct fpu_result *out)
{
    uc_engine *uc;
    uc_check(uc_open(UC_ARCH_X86, UC_MODE_32, &uc), "uc_open");
    lay_out(ram, c, false);
    uc_check(uc_mem_map_ptr(uc, 0, CASE_MEM_SIZE, UC_PROT_ALL, ram), "map");
    struct uc_stop stop = {-1, 0};
    uc_hook h;
    uc_check(uc_hook_add(uc, &h, UC_HOOK_INTR, (void *)on_interrupt, &stop, 1, 0),
             "hook");
    uint32_t regs[8] = {0};
    regs[R_EAX] = c->eax;
    regs[R_EBX] = c->ebx;
    regs[R_ESP] = STACK_TOP;
    for (int i = 0; i < 8; i++)
        uc_check(uc_reg_write(uc, uc_gpr[i], &regs[i]), "write reg");
    uint32_t eflags = 2;
    uc_check(uc_reg_write(uc, UC_X86_REG_EFLAGS, &eflags), "eflags");
    if (c->cr4_set) {
        uint64_t cr4 = 0;
        uc_check(uc_reg_read(uc, UC_X86_REG_CR4, &cr4), "read cr4");
        cr4 |= c->cr4_set;
        uc_check(uc_reg_write(uc, UC_X86_REG_CR4, &cr4), "write cr4");
    }
    const uint32_t until = CODE_ADDR + (uint32_t)c->code_len - 1; /* the hlt */
    uc_err e = uc_emu_start(uc, CODE_ADDR, until, 0, 0);
    uint32_t eip = 0;
    for (int i = 0; i < 8; i++)
        uc_check(uc_reg_read(uc, uc_gpr[i], &out->regs[i]), "read reg");
    uc_check(uc_reg_read(uc, UC_X86_REG_EFLAGS, &out->eflags), "read eflags");
    uc_check(uc_reg_read(uc, UC_X86_REG_EIP, &eip), "read eip");
    memcpy(out->data, ram + DATA_ADDR, DATA_SIZE);
    memset(out->fx, 0, sizeof out->fx);
    out->note[0] = 0;
    out->vector = -1;
    if (stop.vector >= 0) {
        out->kind = OUT_FAULT;
        out->vector = stop.vector;
        out->fault_eip = stop.eip;
    } else if (e != UC_ERR_OK || eip != until) {
        out->kind = OUT_OTHER;
        snprintf(out->note, sizeof out->note, "unicorn stopped at %#x: %s", eip,
                 uc_strerror(e));
    } else {
        out->kind = OUT_HLT;
        out->eip = eip;
    }
    uc_close(uc);
}

void runner_run(struct runner *r, const struct fpu_case *c, struct fpu_result *out)
{
    memset(out, 0, sizeof *out);
    if (r->engine == ENGINE_UNICORN)
        unicorn_run(r->uc_ram, c, out);
    else
        tpvm_run(r, c, out);
}
