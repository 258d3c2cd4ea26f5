/* Shared state and building blocks of block translation: one decoded guest
 * instruction, the per-block context, and the emitters every handler uses
 * (effective address, TLB probe, exits, helper calls). */
#ifndef TPVM_BT_XLATE_H
#define TPVM_BT_XLATE_H

#include <Zydis/Zydis.h>

#include "bt/emit.h"
#include "bt/internal.h"

struct insn {
    ZydisDecodedInstruction d;
    ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
    uint32_t eip;
    uint8_t len;
    uint8_t bytes[16];
};

#define MAX_SLOW_STUBS (BT_MAX_BLOCK_INSNS * 3)
#define AHEAD_INSNS 64
#define MAX_LOCAL_EXITS 4

/* A TLB probe whose miss path is emitted after the block body. */
struct slow_stub {
    uint8_t *miss_field;  /* rel32 field end of the probe's jmp-to-stub */
    uint8_t *core;        /* host bytes of the access, copied into the stub */
    unsigned core_len;
    uint8_t *back;        /* where the stub resumes */
    uint32_t acc;
    uint32_t eip, next_eip;
    bool direct;          /* no inline probe: a fault site instead */
    uint8_t *stub_addr;
    /* a direct access folded into [r15 + reg + disp] (x_probe): the stub
     * computes r10d itself and runs `alt`, the core addressed by r10 */
    ZydisRegister fold_reg32;
    int32_t fold_disp;
    uint8_t alt_len;
    uint8_t alt[48];
};

/* A direct exit whose stub is emitted after the block body. */
struct pending_exit {
    uint8_t *field;       /* rel32 field end of the jmp/jcc */
    uint32_t target;
};

struct tctx {
    struct bt *bt;
    struct cpu *cpu;
    struct emit e;
    struct block *b;
    uint32_t mode;
    int user;             /* TLB / branch-cache half: 1 for CPL 3 */
    const struct insn *in;
    uint32_t next_eip;
    bool ended;           /* the current instruction ended the block */
    struct slow_stub stubs[MAX_SLOW_STUBS];
    int n_stubs;
    struct pending_exit exits[MAX_LOCAL_EXITS];
    int n_exits;
    int pending_probe;    /* stub index of the probe awaiting its core, or -1 */
    bool direct;          /* block uses direct addressing (MODE_DIRECT) */
    bool cur_direct;      /* the pending access is direct */
    bool force_probe;     /* next access must use the TLB probe */
    /* x_ea's last address was [reg + disp] in a flat segment: the lea at
     * fold_lea..fold_end, if nothing follows it, can fold into a direct
     * access (x_probe, cur_fold) */
    uint8_t *fold_lea, *fold_end;
    ZydisRegister fold_reg32;
    int32_t fold_disp;
    bool cur_fold;
    unsigned seg_check_size; /* size of the access whose limit is checked */
    /* the last MOV Sreg, r32/r16 done inline (xlate_seg.c): segment, the
     * guest register, and the EIP after it (0: none) */
    int sreg_last_seg, sreg_last_reg;
    uint32_t sreg_last_next;
    unsigned insns_left;  /* instructions the block may still take */
    /* the frame region (xlate_region.c): its base register (-1: none),
     * span and last access; r8 holds its pointer; an access to it is
     * pending (x_ea to x_probe) or being emitted (x_probe to x_probe_end),
     * region_disp bytes into the span */
    int region_base;
    int32_t region_lo, region_hi, region_disp;
    uint32_t region_last;
    bool region_pending, cur_region;
    /* a self-loop whose frame region spans the whole block: its back edge
     * checks the run flag and re-enters here, past the region's probe */
    uint8_t *loop_body;
    uint8_t *req_stub;    /* the block's exit for a cleared run flag */
    int noscan_base;      /* a scan for this base found too few accesses */
    uint32_t noscan_until; /* up to this EIP */
    /* instructions after the current one, decoded once for region scans
     * (consecutive from ahead[0], on the block's page, at physical
     * address ahead_phys of ahead[0]); the block loop takes them too */
    struct insn ahead[AHEAD_INSNS];
    unsigned n_ahead;
    uint32_t ahead_phys;
};

typedef void (*xlate_fn)(struct tctx *t);

/* xlate_table.c */
xlate_fn xlate_lookup(ZydisMnemonic m);
/* Translated by the generic path, LEA or a plain MOV: no helper call, no
 * exit, at most one access through x_ea / x_probe. */
bool xlate_is_plain(const struct insn *in);

/* translate.c: the decoded instruction at eip from t->ahead, or NULL */
const struct insn *x_ahead(const struct tctx *t, uint32_t eip);
/* Decode the instructions after the current one into t->ahead (once per
 * stretch of the block), up to the first one that may end the block. */
void x_fill_ahead(struct tctx *t);
/* The block surely goes on after in (plain, or PUSH/POP). */
bool x_continues_block(const struct insn *in);

/* xlate_flags.c: the guest's arithmetic flags are dead before the
 * current instruction: it or a later one in the block overwrites each of
 * them before anything reads it, so the probe may use host flags. */
bool x_flags_dead(struct tctx *t);

/* xlate_region.c */
/* Before each instruction: end the frame region after its last access,
 * start one (with its probe) if the instruction begins one. */
void x_region_begin_insn(struct tctx *t);
/* From x_ea: op is an access of the region (then nothing is emitted). */
bool x_region_ea(struct tctx *t, const ZydisDecodedOperand *op);
/* From x_probe for such an access: the access goes through r8. */
void x_region_probe(struct tctx *t);

/* xlate_mem.c */
/* Guest linear address of memory operand `op` into r10d. `adjust` is
 * added when the base or index is ESP (POP [ESP+x] sees ESP after pop). */
void x_ea(struct tctx *t, const ZydisDecodedOperand *op, int32_t esp_adjust);
/* Linear address for a stack slot [ESP + disp] into r10d. */
void x_stack_ea(struct tctx *t, int32_t disp);
/* The same for a `size`-byte stack range (its limit check, if any). */
void x_stack_ea_size(struct tctx *t, int32_t disp, unsigned size);
/* TLB probe of r10d for `size` bytes; leaves the host pointer in r10.
 * The caller then emits the access ("core") and calls x_probe_end. A
 * store's core must hold every register update of its instruction that
 * follows the store, and be restartable from its first byte (the slow path
 * runs a copy of it, and leaves after it when the store hit code). */
void x_probe(struct tctx *t, unsigned size, unsigned acc);
void x_probe_end(struct tctx *t);
/* The memory operand of the pending access, `size` bytes. */
eop x_mem(struct tctx *t, unsigned size);
/* The same, `disp` bytes further (within the probed range). */
eop x_mem_disp(struct tctx *t, unsigned size, int32_t disp);
void x_emit_slow_stubs(struct tctx *t);

/* xlate_stack_run.c */
/* At a PUSH, POP or LEAVE: translate it and the stack instructions after
 * it as one access if they form a run; false if they do not. */
bool x_stack_run(struct tctx *t);

/* xlate_mov_run.c */
/* At a MOV: translate it and the MOVs through the same base after it as
 * one access if they form a run; false if they do not. */
bool x_mov_run(struct tctx *t);

/* translate.c */
/* Decode the instruction at buf (avail bytes), guest address eip. */
bool x_decode(struct tctx *t, const uint8_t *buf, size_t avail, uint32_t eip,
              struct insn *in);
/* For an instruction that takes the ones after it along (a run): the
 * guest bytes after the current instruction, up to the end of the block's
 * page, at most size; returns their count, *phys the first one's. */
size_t x_fetch_following(struct tctx *t, uint8_t *buf, size_t size,
                         uint32_t *phys);
/* The current instruction took the len bytes after it (whole
 * instructions, fetched by x_fetch_following at phys): the block goes on
 * after them, and --trace lists them. */
void x_absorb_following(struct tctx *t, const uint8_t *buf, uint32_t len,
                        uint32_t phys);
/* The same for the len bytes after the current instruction, whole
 * instructions decoded into t->ahead (x_fill_ahead). */
void x_absorb_ahead(struct tctx *t, uint32_t len);
/* The opposite condition of Jcc m; ZYDIS_MNEMONIC_INVALID if m is no Jcc. */
ZydisMnemonic x_invert_jcc(ZydisMnemonic m);
/* Direct jump (or jcc) to a guest EIP: a chainable exit. */
void x_exit_direct(struct tctx *t, ZydisMnemonic jmp_or_jcc, uint32_t target);
/* Indirect jump to the guest EIP in r9d through the branch cache. */
void x_exit_indirect(struct tctx *t);
/* Call fn(cpu, arg, next_eip) with the guest state synced to struct cpu. */
void x_call_helper(struct tctx *t, void *fn, uint32_t arg);
/* Helper that never returns into this block (it leaves via bt_leave). */
void x_call_helper_end(struct tctx *t, void *fn, uint32_t arg);

/* xlate_string.c: MOVS STOS LODS CMPS SCAS INS OUTS */
void x_string(struct tctx *t);

/* helpers: argument packing for r/m operands */
#define HA_SIZE(s) ((uint32_t)(s) & 0xffu)
#define HA_MEM 0x100u          /* operand value was loaded into r8 */
#define HA_REG(r) ((uint32_t)(r) << 12)
#define HA_HIGH8 0x10000u
#define HA_GET_REG(a) (((a) >> 12) & 7u)
#define HA_X(v) ((uint32_t)(v) << 20) /* handler-specific bits */

/* Guest register number (R_EAX..) of a Zydis register, or -1. */
int guest_reg_num(ZydisRegister r, bool *high8);
/* Host register for a guest general register of any width; NONE if it
 * cannot be named directly (CH..., which needs the ECX-in-RCX form). */
ZydisRegister host_reg(ZydisRegister guest, bool ecx_in_rcx);

/* Load an r/m operand's value (zero-extended) into r8 for a helper and
 * return the HA_ argument bits describing it. */
uint32_t x_rm_to_helper(struct tctx *t, const ZydisDecodedOperand *op);

/* xlate_seg.c: MOV/POP to DS, ES, FS, GS from the segment-load cache.
 * x_seg_load: selector in r8d; a hit loads segment s (and adds esp_add
 * to ESP), a miss calls fn(arg) for the whole instruction; either way
 * the block goes on. Only where x_seg_inline_ok says so. */
bool x_seg_inline_ok(const struct tctx *t, int s);
void x_seg_load(struct tctx *t, int s, unsigned esp_add, void *fn, uint32_t arg);
/* MOV Sreg, reg right after a MOV Sreg' from the same register: a copy
 * of Sreg' when that keeps the mode; false: not applicable. */
bool x_seg_load_same(struct tctx *t, int s, int guest_reg);
void x_seg_note_load(struct tctx *t, int s, int guest_reg);

#define OFF(f) ((int64_t)offsetof(struct cpu, f))

#endif
