/* Segment-register loads (MOV Sreg, POP Sreg) in translated code: a
 * load that repeats one the CPU model already checked (struct segc in
 * bt/cpu.h) is done inline; anything else calls the helper, which runs
 * every protection check in C and fills the cache.
 *
 * With the selector in r8d, the inline check is flag-free (the guest's
 * flags live in host EFLAGS) and touches no guest register:
 *     movzx r11d, r8b                   ; entry
 *     mov   r9d, [segc.neg_key + r11*4]
 *     lea   ecx, [r8 + r9 + 1]          ; same selector?
 *     jrcxz 1f ; jmp slow ; 1:
 *     mov   ecx, [segc.table_off + r11*4]
 *     mov   rcx, [r15 + rcx]            ; GDTR (or LDTR) base | limit << 32
 *     mov   r9, [segc.neg_table + r11*8]
 *     lea   rcx, [rcx + r9]             ; same table?
 *     jrcxz 1f ; jmp slow ; 1:
 *     (DS, ES: the cached base must be 0, or the block's FLAT mode ends)
 *     mov   r10d, [segc.desc_lin + r11*4]
 *     soft-TLB probe of r10 (supervisor read, 8 bytes; a miss: slow)
 *     mov   rcx, [r10]                  ; the descriptor now in memory
 *     mov   r9, [segc.neg_desc + r11*8]
 *     lea   rcx, [rcx + r9]             ; unchanged, accessed bit set?
 *     jrcxz 1f ; jmp slow ; 1:
 *     copy segc.seg_lo/seg_hi into cpu->seg[s]
 * The cached loads keep the block's mode (present, 4 GiB, expand-up; for
 * DS and ES also base 0), so the block goes on after them; so it does
 * after the helper, which resumes elsewhere itself if the mode changed. */
#include "bt/helpers.h"
#include "bt/regs.h"
#include "bt/xlate.h"

bool x_seg_inline_ok(const struct tctx *t, int s)
{
    uint32_t m = t->mode;
    if (s != S_ES && s != S_DS && s != S_FS && s != S_GS)
        return false;
    /* CPL 1 and 2 have no cache half; without paging (or with debug
     * registers armed) the soft TLB holds nothing to probe */
    if (!(m & (MODE_CPL0 | MODE_CPL3)) || !(m & MODE_PAGING) ||
        (m & (MODE_DEBUG | MODE_DIRECT)))
        return false;
    if (m & MODE_SEGCHK(s))
        return false;
    if ((s == S_DS || s == S_ES) && !(m & MODE_FLAT))
        return false;
    return true;
}

#define MAX_TO_SLOW 8

struct seg_emit {
    struct emit *e;
    uint8_t *to_slow[MAX_TO_SLOW];
    int n;
};

/* jrcxz over a jmp to the slow path: rcx must be 0 to go on */
static void zero_or_slow(struct seg_emit *se)
{
    struct emit *e = se->e;
    uint8_t *ok = E_branch(e, ZYDIS_MNEMONIC_JRCXZ, e->p, ZYDIS_BRANCH_WIDTH_8);
    se->to_slow[se->n++] =
        E_branch(e, ZYDIS_MNEMONIC_JMP, e->p, ZYDIS_BRANCH_WIDTH_32);
    patch_rel8(ok, e->p);
}

void x_seg_load(struct tctx *t, int s, unsigned esp_add, void *fn, uint32_t arg)
{
    struct emit *e = &t->e;
    struct seg_emit se = {.e = e, .n = 0};
    int u = t->user;
    int64_t seg = OFF(seg[s]);
    uint8_t *done[2];
    int n_done = 0;

    if (s == S_FS || s == S_GS) {
        /* a null selector (0; RPL 1-3 take the helper) in FS or GS: an
         * unusable segment, which changes no mode bit */
        E(e, ZYDIS_MNEMONIC_MOV, 2, R(ECX), R(R8D));
        uint8_t *is_null = E_branch(e, ZYDIS_MNEMONIC_JRCXZ, e->p, ZYDIS_BRANCH_WIDTH_8);
        uint8_t *not_null = E_branch(e, ZYDIS_MNEMONIC_JMP, e->p, ZYDIS_BRANCH_WIDTH_8);
        patch_rel8(is_null, e->p);
        E(e, ZYDIS_MNEMONIC_MOV, 2, MC(seg, 8), I(0));
        E(e, ZYDIS_MNEMONIC_MOV, 2, MC(seg + 8, 8), I(0));
        if (esp_add)
            E(e, ZYDIS_MNEMONIC_LEA, 2, R(R14D), M(R14, NOREG, 0, (int32_t)esp_add, 4));
        done[n_done++] = E_branch(e, ZYDIS_MNEMONIC_JMP, e->p, ZYDIS_BRANCH_WIDTH_32);
        patch_rel8(not_null, e->p);
    }
    E(e, ZYDIS_MNEMONIC_MOVZX, 2, R(R11D), R(ZYDIS_REGISTER_R8B));
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(R9D), M(R15, R11, 4, OFF(segc[u].neg_key), 4));
    E(e, ZYDIS_MNEMONIC_LEA, 2, R(ECX), M(R8, R9, 1, 1, 4));
    zero_or_slow(&se);
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(ECX), M(R15, R11, 4, OFF(segc[u].table_off), 4));
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(RCX), M(R15, RCX, 1, 0, 8));
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(R9), M(R15, R11, 8, OFF(segc[u].neg_table), 8));
    E(e, ZYDIS_MNEMONIC_LEA, 2, R(RCX), M(RCX, R9, 1, 0, 8));
    zero_or_slow(&se);
    if (s == S_DS || s == S_ES) {
        E(e, ZYDIS_MNEMONIC_MOV, 2, R(ECX), M(R15, R11, 8, OFF(segc[u].seg_lo), 4));
        zero_or_slow(&se);
    }
    /* the descriptor through the supervisor half of the soft TLB */
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(R10D), M(R15, R11, 4, OFF(segc[u].desc_lin), 4));
    E(e, ZYDIS_MNEMONIC_RORX, 3, R(R8D), R(R10D), I(12));
    E(e, ZYDIS_MNEMONIC_MOVZX, 2, R(R8D), R(ZYDIS_REGISTER_R8W));
    E(e, ZYDIS_MNEMONIC_LEA, 2, R(ECX), M(R10, NOREG, 0, 7, 4));
    E(e, ZYDIS_MNEMONIC_SHRX, 3, R(ECX), R(ECX), R(R13D));
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(R9D), M(R15, R8, 4, OFF(tlb[0].rtag), 4));
    E(e, ZYDIS_MNEMONIC_LEA, 2, R(ECX), M(RCX, R9, 1, 0, 4));
    zero_or_slow(&se);
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(RCX), M(R15, R8, 8, OFF(tlb[0].addend), 8));
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(RCX), M(R10, RCX, 1, 0, 8));
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(R9), M(R15, R11, 8, OFF(segc[u].neg_desc), 8));
    E(e, ZYDIS_MNEMONIC_LEA, 2, R(RCX), M(RCX, R9, 1, 0, 8));
    zero_or_slow(&se);
    /* hit: the segment register as the checked load left it */
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(RCX), M(R15, R11, 8, OFF(segc[u].seg_lo), 8));
    E(e, ZYDIS_MNEMONIC_MOV, 2, MC(seg, 8), R(RCX));
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(RCX), M(R15, R11, 8, OFF(segc[u].seg_hi), 8));
    E(e, ZYDIS_MNEMONIC_MOV, 2, MC(seg + 8, 8), R(RCX));
    if (esp_add)
        E(e, ZYDIS_MNEMONIC_LEA, 2, R(R14D), M(R14, NOREG, 0, (int32_t)esp_add, 4));
    done[n_done++] = E_branch(e, ZYDIS_MNEMONIC_JMP, e->p, ZYDIS_BRANCH_WIDTH_32);

    /* miss: the whole instruction in C */
    for (int i = 0; i < se.n; i++)
        patch_rel32(se.to_slow[i], e->p);
    x_call_helper(t, fn, arg);
    for (int i = 0; i < n_done; i++)
        patch_rel32(done[i], e->p);
}

/* `mov ds, ax; mov es, ax; mov fs, ax`: the checks of a data-segment load
 * are the same for DS, ES, FS and GS, and nothing ran in between, so the
 * second load gives what the first gave. The first either kept the
 * block's mode (then its segment is present, 4 GiB, expand-up, and for
 * DS or ES also base 0; FS or GS may also be null), or its helper went
 * on elsewhere. So a copy keeps the mode too unless it would put an FS
 * or GS segment, whose base may be anything, in DS or ES. */
bool x_seg_load_same(struct tctx *t, int s, int guest_reg)
{
    int from = t->sreg_last_seg;
    if (!t->sreg_last_next || t->sreg_last_next != t->in->eip ||
        t->sreg_last_reg != guest_reg || !x_seg_inline_ok(t, s) ||
        ((s == S_DS || s == S_ES) && from != S_DS && from != S_ES))
        return false;
    struct emit *e = &t->e;
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(RCX), MC(OFF(seg[from]), 8));
    E(e, ZYDIS_MNEMONIC_MOV, 2, MC(OFF(seg[s]), 8), R(RCX));
    E(e, ZYDIS_MNEMONIC_MOV, 2, R(RCX), MC(OFF(seg[from]) + 8, 8));
    E(e, ZYDIS_MNEMONIC_MOV, 2, MC(OFF(seg[s]) + 8, 8), R(RCX));
    x_seg_note_load(t, s, guest_reg);
    return true;
}

void x_seg_note_load(struct tctx *t, int s, int guest_reg)
{
    t->sreg_last_seg = s;
    t->sreg_last_reg = guest_reg;
    t->sreg_last_next = t->next_eip;
}
