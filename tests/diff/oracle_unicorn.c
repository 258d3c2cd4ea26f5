/* Runs a case in Unicorn: same RAM image, registers and EFLAGS as tpvm,
 * emulation stops at the case's final hlt (not executed) or at the first
 * exception, which UC_HOOK_INTR reports with the faulting EIP. */
#include <stdio.h>
#include <stdlib.h>

#include <unicorn/unicorn.h>

#include "tests/diff/oracle_unicorn.h"

struct uc_oracle {
    uc_engine *uc;
    uc_context *clean; /* CPU state before any case ran */
    uint8_t *ram;
    int vector;         /* exception seen in this run, -1 if none */
    uint32_t fault_eip;
    bool check_bounds;
    uint32_t bad_addr;  /* first access outside DATA/STACK */
    bool bad;
};

static const int gpr_ids[8] = {
    UC_X86_REG_EAX, UC_X86_REG_ECX, UC_X86_REG_EDX, UC_X86_REG_EBX,
    UC_X86_REG_ESP, UC_X86_REG_EBP, UC_X86_REG_ESI, UC_X86_REG_EDI,
};

static void on_interrupt(uc_engine *uc, uint32_t intno, void *opaque)
{
    struct uc_oracle *o = opaque;
    o->vector = (int)intno;
    uc_reg_read(uc, UC_X86_REG_EIP, &o->fault_eip);
    uc_emu_stop(uc); /* a fault would otherwise restart the instruction */
}

static bool inside(uint64_t a, int size, uint32_t base, uint32_t len)
{
    return a >= base && a + (uint64_t)size <= (uint64_t)base + len;
}

static void on_access(uc_engine *uc, uc_mem_type type, uint64_t addr, int size,
                      int64_t value, void *opaque)
{
    struct uc_oracle *o = opaque;
    (void)uc, (void)type, (void)value;
    if (inside(addr, size, DATA_BASE, DATA_SIZE) ||
        inside(addr, size, STACK_BASE, STACK_SIZE) || o->bad)
        return;
    o->bad = true;
    o->bad_addr = (uint32_t)addr;
}

static void check(uc_err e, const char *what)
{
    if (e != UC_ERR_OK) {
        fprintf(stderr, "unicorn: %s: %s\n", what, uc_strerror(e));
        exit(2);
    }
}

struct uc_oracle *uco_create(uint8_t *ram, bool check_bounds)
{
    struct uc_oracle *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->ram = ram;
    o->check_bounds = check_bounds;
    check(uc_open(UC_ARCH_X86, UC_MODE_32, &o->uc), "uc_open");
    check(uc_mem_map_ptr(o->uc, 0, RAM_SIZE, UC_PROT_ALL, ram), "map RAM");
    uc_hook h;
    check(uc_hook_add(o->uc, &h, UC_HOOK_INTR, (void *)on_interrupt, o, 1, 0),
          "interrupt hook");
    /* A fault stops emulation inside the hook, before delivery; QEMU then
     * still remembers it and would turn the next fault into #DF. A clean
     * context restored after each fault forgets it. */
    check(uc_context_alloc(o->uc, &o->clean), "context");
    check(uc_context_save(o->uc, o->clean), "save context");
    if (check_bounds)
        check(uc_hook_add(o->uc, &h, UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE,
                          (void *)on_access, o, 1, 0),
              "memory hook");
    return o;
}

void uco_destroy(struct uc_oracle *o)
{
    if (!o)
        return;
    uc_context_free(o->clean);
    uc_close(o->uc);
    free(o);
}

void uco_run(struct uc_oracle *o, const struct dcase *c, struct outcome *out)
{
    /* RAM is mapped from our buffer: Unicorn cannot see that the slot's
     * code changed, so drop its translations of the slot. */
    uc_ctl_remove_cache(o->uc, c->code_addr, c->code_addr + SLOT_SIZE);

    uint32_t regs[8], eip = c->code_addr, eflags = c->eflags;
    for (int i = 0; i < 8; i++)
        regs[i] = c->regs[i];
    int ids[10];
    void *vals[10];
    for (int i = 0; i < 8; i++) {
        ids[i] = gpr_ids[i];
        vals[i] = &regs[i];
    }
    ids[8] = UC_X86_REG_EIP;
    vals[8] = &eip;
    ids[9] = UC_X86_REG_EFLAGS;
    vals[9] = &eflags;
    check(uc_reg_write_batch(o->uc, ids, vals, 10), "write registers");

    o->vector = -1;
    o->bad = false;
    const uint32_t until = c->code_addr + c->code_len; /* the hlt */
    uc_err e = uc_emu_start(o->uc, c->code_addr, until, 0, 0);

    check(uc_reg_read_batch(o->uc, ids, vals, 10), "read registers");
    for (int i = 0; i < 8; i++)
        out->regs[i] = regs[i];
    out->eflags = eflags;
    out->vector = -1;
    out->note[0] = 0;
    if (o->vector >= 0) {
        check(uc_context_restore(o->uc, o->clean), "restore context");
        out->kind = OUT_EXCEPTION;
        out->vector = o->vector;
        out->eip = o->fault_eip;
    } else if (e != UC_ERR_OK) {
        out->kind = OUT_OTHER;
        out->eip = eip;
        snprintf(out->note, sizeof out->note, "unicorn error: %s", uc_strerror(e));
    } else if (eip != until) {
        out->kind = OUT_OTHER;
        out->eip = eip;
        snprintf(out->note, sizeof out->note, "unicorn stopped at %#x, not at the hlt", eip);
    } else {
        out->kind = OUT_HLT;
        out->eip = until + 1; /* where tpvm's eip is after executing hlt */
    }
    if (o->bad) {
        out->kind = OUT_OTHER;
        snprintf(out->note, sizeof out->note,
                 "access at %#x outside DATA and STACK (generator bug)", o->bad_addr);
    }
}
