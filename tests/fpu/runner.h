/* Runs one x87 test case (guest code ending in hlt, plus input data)
 * under tpvm's translator (direct RAM or soft TLB) or under Unicorn, and
 * reports what a test compares: the data area, registers, EFLAGS, the
 * exception taken, and tpvm's saved x87 image. */
#ifndef TPVM_TESTS_FPU_RUNNER_H
#define TPVM_TESTS_FPU_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Guest memory map (linear = physical unless a case turns paging on). */
#define FPU_RAM_SIZE 0x400000u
#define GDT_ADDR 0x0400u     /* 0x10 flat code, 0x18 flat data */
#define IDT_ADDR 0x0500u     /* 32 interrupt gates */
#define HANDLER_ADDR 0x0700u /* vector v: a hlt at HANDLER_ADDR + v */
#define CODE_ADDR 0x1000u
#define DATA_ADDR 0x2000u
#define DATA_SIZE 0x6000u    /* 0x2000-0x7fff: page boundaries to cross */
#define DATA_FILL 0xaa       /* bytes no case wrote */
#define STACK_TOP 0x9000u
#define PD_ADDR 0x10000u     /* page tables of cases with paging */
#define PT_ADDR 0x11000u

struct fpu_case {
    const uint8_t *code;     /* ends with hlt */
    size_t code_len;
    const void *data;        /* copied to DATA_ADDR */
    size_t data_len;
    uint32_t eax, ebx;
    uint32_t cr0_set;        /* ORed into CR0 (TS, EM, MP) */
    uint32_t cr4_set;        /* ORed into CR4 (OSFXSR) */
    uint32_t unmapped_page;  /* nonzero: paging on, identity map but this page */
};

enum fpu_outcome { OUT_HLT, OUT_FAULT, OUT_OTHER };

struct fpu_result {
    enum fpu_outcome kind;
    int vector;              /* OUT_FAULT */
    uint32_t fault_eip;      /* EIP of the faulting instruction */
    uint32_t error;          /* error code, for vectors that push one */
    uint32_t regs[8];
    uint32_t eflags;
    uint32_t eip;            /* OUT_HLT: address of the final hlt */
    uint32_t cr2;
    uint8_t data[DATA_SIZE];
    uint8_t fx[512];         /* tpvm: cpu->fpu.fx after bt_run */
    char note[160];
};

enum fpu_engine { ENGINE_UNICORN, ENGINE_TPVM_DIRECT, ENGINE_TPVM_TLB };

struct runner;
struct cpu;

/* SIGSEGV to bt_handle_segv first (direct RAM needs it); the tpvm runs
 * install it again each time, as cmocka replaces it around each test. */
void runner_install_fault_handler(void);
struct runner *runner_create(enum fpu_engine engine);
void runner_destroy(struct runner *r);
const char *runner_name(const struct runner *r);
/* Fresh CPU state and memory, then run the case to its hlt or a fault. */
void runner_run(struct runner *r, const struct fpu_case *c, struct fpu_result *out);
/* tpvm engines: run the same CPU on from where it stopped, on new code
 * placed at `code_addr` (memory and x87 state are kept). */
void runner_continue(struct runner *r, uint32_t code_addr, const uint8_t *code,
                     size_t len, struct fpu_result *out);
struct cpu *runner_cpu(struct runner *r); /* NULL for Unicorn */

#endif
