/* One differential test case: guest memory layout, the case itself (code,
 * initial state, what may differ), and the outcome a CPU model reports. */
#ifndef TPVM_TESTS_DIFF_CASE_H
#define TPVM_TESTS_DIFF_CASE_H

#include <stdbool.h>
#include <stdint.h>

/* Guest RAM as both models see it. Cases only touch DATA and STACK (and
 * fetch from their code slot); both areas are compared byte for byte. */
#define RAM_SIZE (4u << 20)
#define DATA_BASE 0x20000u
#define DATA_SIZE 0x2000u  /* a page boundary at DATA_BASE + 0x1000 */
#define STACK_BASE 0x30000u
#define STACK_SIZE 0x2000u
#define STACK_MID (STACK_BASE + 0x1000u) /* initial ESP lies near here */
#define CODE_BASE 0x100000u
#define SLOT_SIZE 256u     /* one case's code, hlt included */
#define N_SLOTS 2048u      /* slots are reused round-robin */

#define CASE_MAX_INSNS 48
#define CASE_MAX_PATCHES 8
#define CASE_PATCH_BYTES 512
#define CASE_MAX_MEMMASK 2

/* One instruction of the case, as generated (checked by decoding). */
struct insn_rec {
    uint8_t off;
    uint8_t len;
    uint16_t mnemonic; /* ZydisMnemonic the encoder was asked for */
};

/* Bytes written over the random data/stack fill before the case runs. */
struct patch {
    uint32_t addr;
    uint16_t len;
    uint16_t off; /* into dcase.patch_bytes */
};

struct mem_range {
    uint32_t addr;
    uint32_t len;
};

enum expect { EXPECT_HLT, EXPECT_DE };

struct dcase {
    uint64_t index;     /* case number: (seed, index) regenerates it */
    uint8_t group;      /* index into the template group table */
    uint8_t expect;     /* what the generator meant to happen */
    uint32_t code_addr; /* guest address of code[0] */
    uint16_t code_len;  /* bytes before the final hlt */
    uint8_t code[SLOT_SIZE];
    uint8_t n_insns;
    struct insn_rec insns[CASE_MAX_INSNS];

    uint32_t regs[8];   /* initial GPRs, R_EAX.. order */
    uint32_t eflags;    /* initial EFLAGS (bit 1 set, IF/TF/IOPL clear) */
    uint64_t fill_seed; /* random content of DATA and STACK */
    uint8_t n_patches;
    uint16_t patch_used;
    struct patch patches[CASE_MAX_PATCHES];
    uint8_t patch_bytes[CASE_PATCH_BYTES];

    /* What the Intel SDM leaves undefined at the end of the case. */
    uint32_t undef_flags;
    uint8_t undef_regs; /* bit per GPR */
    uint8_t n_memmask;
    struct mem_range memmask[CASE_MAX_MEMMASK];
};

enum outcome_kind { OUT_HLT, OUT_EXCEPTION, OUT_OTHER };

/* Architectural state after a case; memory stays in the model's RAM. */
struct outcome {
    int kind;
    int vector;       /* OUT_EXCEPTION */
    uint32_t regs[8];
    uint32_t eip;     /* past the hlt, or the faulting instruction */
    uint32_t eflags;
    char note[96];    /* OUT_OTHER: what went wrong */
};

/* Write the case's data/stack contents and code (with its hlt) into ram. */
void case_load_memory(const struct dcase *c, uint8_t *ram);

/* The random bytes case_load_memory puts at [addr, addr+len) before
 * patches; lets the generator know what a memory operand will read. */
void case_fill_bytes(const struct dcase *c, uint32_t addr, uint8_t *out,
                     uint32_t len);

#endif
