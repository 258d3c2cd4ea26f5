/* The C side of x87 support (the inline side is bt/xlate_fpu.c): the
 * #NM/#UD checks of CR0.TS/EM/MP, the #MF check and the ES/B bits for
 * exceptions the guest unmasked, the environment and state images
 * (FNSTENV/FLDENV, FNSAVE/FRSTOR, FXSAVE/FXRSTOR) with the guest's
 * control word in place of the host's, and moving the guest's x87 state
 * between cpu->fpu and the host FPU around bt_run.
 *
 * cpu->fpu.fx is the guest's x87/SSE state in FXSAVE layout. Its FCW,
 * MXCSR and XMM fields are always current; the other x87 fields are live
 * in the host FPU while translated code runs (fpu_enter .. fpu_leave).
 * The host control word is the guest's with all six exception masks set,
 * so nothing the guest loads can make the host raise SIGFPE. Every image
 * is checked against the page tables before any state changes, so a #PF
 * leaves guest memory and FPU state as they were. */
#include <string.h>

#include "bt/helpers.h"
#include "bt/internal.h"

/* FXSAVE image (the 32-bit form, which is also what the host's FXSAVE
 * without REX.W writes). */
enum {
    FX_FCW = 0, FX_FSW = 2, FX_FTW = 4, FX_FOP = 6, FX_FIP = 8, FX_FDS = 20,
    FX_MXCSR = 24, FX_MXCSR_MASK = 28, FX_ST = 32, FX_XMM = 160,
    FX_XMM_END = 288, FX_SIZE = 512,
};
/* FNSTENV/FNSAVE protected-mode images: the environment (7 dwords, or 7
 * words for 16-bit operand size), then ST0..ST7 as 10-byte reals. */
enum {
    ENV_CW = 0, ENV_SW = 4, ENV_TW = 8, ENV_FIP = 12, ENV_FDS = 24,
    ENV32_SIZE = 28, ENV16_SIZE = 14, SAVE_REGS = 80,
    SAVE32_SIZE = ENV32_SIZE + SAVE_REGS,
};

#define FNINIT_CW 0x037fu
#define CW_MASKS 0x003fu
#define SW_ES 0x0080u /* an unmasked exception is pending */
#define SW_B 0x8000u  /* busy: a copy of ES */

#define MXCSR_DEFAULT 0x1f80u
#define MXCSR_MASK 0x0000ffffu /* the bits FXRSTOR accepts (DAZ included) */

static uint16_t get16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

static uint16_t guest_cw(const struct cpu *cpu) { return get16(cpu->fpu.fx + FX_FCW); }
static void set_guest_cw(struct cpu *cpu, uint16_t cw) { put16(cpu->fpu.fx + FX_FCW, cw); }

bool fpu_exceptions_unmasked(const struct cpu *cpu)
{
    return (guest_cw(cpu) & CW_MASKS) != CW_MASKS;
}

/* The status word as the guest sees it: the host's, plus ES and B when
 * a flag is set whose exception the guest's word unmasks. */
static uint16_t guest_sw(const struct cpu *cpu, uint16_t host_sw)
{
    if (host_sw & ~guest_cw(cpu) & CW_MASKS)
        host_sw |= SW_ES | SW_B;
    return host_sw;
}

/* After the guest's control word changed: translations are specialised
 * on whether any exception is unmasked (MODE_FPU_MF), so when that
 * changed, go on at the next instruction through the dispatcher, with no
 * branch-cache entry left that could lead back into the old kind. */
static void mode_sync(struct cpu *cpu, uint32_t next, bool block_mf)
{
    if (fpu_exceptions_unmasked(cpu) == block_mf)
        return;
    cache_jc_clear(cpu);
    cpu->smc_hit = 0; /* a store that hit code is handled by resuming too */
    cpu->eip = next;
    bt_leave(cpu, EXIT_R_RESUME);
}

/* ---- the host FPU ---- */

static uint16_t host_fnstsw(void)
{
    uint16_t sw;
    __asm__ volatile("fnstsw %0" : "=m"(sw));
    return sw;
}

static void host_fnstenv(uint8_t env[ENV32_SIZE])
{
    __asm__ volatile("fnstenv %0" : "=m"(*(uint8_t(*)[ENV32_SIZE])env));
}

static void host_fldenv(const uint8_t env[ENV32_SIZE])
{
    __asm__ volatile("fldenv %0" : : "m"(*(const uint8_t(*)[ENV32_SIZE])env));
}

static void host_fnsave(uint8_t img[SAVE32_SIZE])
{
    __asm__ volatile("fnsave %0" : "=m"(*(uint8_t(*)[SAVE32_SIZE])img));
}

static void host_frstor(const uint8_t img[SAVE32_SIZE])
{
    __asm__ volatile("frstor %0" : : "m"(*(const uint8_t(*)[SAVE32_SIZE])img));
}

static void host_fxsave(uint8_t img[FX_SIZE])
{
    __asm__ volatile("fxsave %0" : "=m"(*(uint8_t(*)[FX_SIZE])img));
}

/* Also reloads MXCSR and XMM0-15: callers pass an image whose SSE part
 * is the host's own, taken by host_fxsave just before. */
static void host_fxrstor(const uint8_t img[FX_SIZE])
{
    __asm__ volatile("fxrstor %0"
                     :
                     : "m"(*(const uint8_t(*)[FX_SIZE])img)
                     : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6",
                       "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",
                       "xmm13", "xmm14", "xmm15");
}

/* ---- guest memory, whole images ---- */

/* Both pages of [lin, lin + len) (len <= 4096) must allow the access;
 * a fault on the second reports its first byte in CR2, as hardware
 * and the inline slow path do. */
static void guest_check(struct cpu *cpu, uint32_t lin, uint32_t len, unsigned acc)
{
    mmu_translate(cpu, lin, acc | 1);
    uint32_t next = (lin | 0xfffu) + 1;
    if (len > next - lin)
        mmu_translate(cpu, next, acc | 1);
}

static void guest_copy(struct cpu *cpu, uint32_t lin, uint8_t *buf,
                       uint32_t len, bool write)
{
    while (len) {
        uint32_t n = 0x1000u - (lin & 0xfffu);
        if (n > len)
            n = len;
        uint8_t *p = mmu_host_ptr(cpu, lin, n, write ? ACC_WRITE : ACC_READ);
        if (p && write)
            memcpy(p, buf, n);
        else if (p)
            memcpy(buf, p, n);
        else /* not RAM: byte by byte through MMIO dispatch */
            for (uint32_t i = 0; i < n; i++) {
                if (write)
                    mmu_write(cpu, lin + i, 1, buf[i]);
                else
                    buf[i] = (uint8_t)mmu_read(cpu, lin + i, 1);
            }
        lin += n;
        buf += n;
        len -= n;
    }
}

static void guest_read(struct cpu *cpu, uint32_t lin, uint8_t *buf, uint32_t len)
{
    guest_copy(cpu, lin, buf, len, false);
}

static void guest_write(struct cpu *cpu, uint32_t lin, const uint8_t *buf,
                        uint32_t len)
{
    guest_copy(cpu, lin, (uint8_t *)buf, len, true);
}

/* ---- #NM / #UD (blocks translated under CR0.TS or CR0.EM) ---- */

HELPER(helper_fpu_nm)
{
    (void)arg, (void)next;
    HELPER_COUNT(cpu, fpu);
    if (cpu->cr0 & (CR0_EM | CR0_TS))
        bt_raise(cpu, EXC_NM, 0, false);
}

/* WAIT/FWAIT ignores EM and faults only when TS and MP are both set. */
HELPER(helper_fwait_nm)
{
    (void)arg, (void)next;
    HELPER_COUNT(cpu, fpu);
    if ((cpu->cr0 & (CR0_TS | CR0_MP)) == (CR0_TS | CR0_MP))
        bt_raise(cpu, EXC_NM, 0, false);
}

HELPER(helper_fxsr_nm)
{
    (void)arg, (void)next;
    HELPER_COUNT(cpu, fpu);
    if (cpu->cr0 & CR0_EM)
        bt_raise(cpu, EXC_UD, 0, false);
    if (cpu->cr0 & CR0_TS)
        bt_raise(cpu, EXC_NM, 0, false);
}

/* ---- unmasked exceptions (blocks translated under MODE_FPU_MF) ---- */

/* Before a waiting x87 instruction: report a pending unmasked exception.
 * Without CR0.NE the PC would signal FERR# to the PIC (IRQ 13), which is
 * not modelled: the exception then stays pending, visible in ES. */
HELPER(helper_fpu_mf)
{
    (void)arg, (void)next;
    HELPER_COUNT(cpu, fpu);
    if ((cpu->cr0 & CR0_NE) && (guest_sw(cpu, host_fnstsw()) & SW_ES))
        bt_raise(cpu, EXC_MF, 0, false);
}

/* After FLDCW or FNINIT changed the control word (arg: FPU_ARG_MF when
 * the block checks for #MF). */
HELPER(helper_fpu_mode)
{
    HELPER_COUNT(cpu, fpu);
    mode_sync(cpu, next, arg & FPU_ARG_MF);
}

/* FNSTSW with ES and B; arg 1: to memory at the linear address in r8,
 * 0: to AX. */
HELPER(helper_fnstsw)
{
    (void)next;
    HELPER_COUNT(cpu, fpu);
    uint16_t sw = guest_sw(cpu, host_fnstsw());
    if (arg & 1)
        mmu_write(cpu, (uint32_t)cpu->save_r8, 2, sw);
    else
        cpu->regs[R_EAX] = (cpu->regs[R_EAX] & 0xffff0000u) | sw;
}

/* ---- FNSTENV / FNSAVE ---- */

/* The instruction and operand pointers (FIP, FCS, FOP, FDP, FDS) are
 * stored as 0, as QEMU does: tpvm does not track the last x87
 * instruction. The reserved upper halves of the 32-bit image are what
 * the host FPU writes. */
static void store_env(struct cpu *cpu, uint32_t lin, uint32_t arg, uint32_t next,
                      bool save)
{
    bool o16 = (arg & 0xff) == 16;
    uint32_t env = o16 ? ENV16_SIZE : ENV32_SIZE;
    uint32_t len = env + (save ? SAVE_REGS : 0);
    guest_check(cpu, lin, len, ACC_WRITE);
    uint8_t host[SAVE32_SIZE], out[SAVE32_SIZE];
    uint16_t cw = guest_cw(cpu);
    if (save)
        host_fnsave(host); /* and FNINIT: the host word is 0x037f again */
    else
        host_fnstenv(host);
    uint16_t sw = guest_sw(cpu, get16(host + ENV_SW));
    if (o16) {
        memset(out, 0, ENV16_SIZE);
        put16(out + 0, cw);
        put16(out + 2, sw);
        put16(out + 4, get16(host + ENV_TW));
    } else {
        memcpy(out, host, ENV32_SIZE);
        put16(out + ENV_CW, cw);
        put16(out + ENV_SW, sw);
        memset(out + ENV_FIP, 0, ENV_FDS + 2 - ENV_FIP);
    }
    if (save)
        memcpy(out + env, host + ENV32_SIZE, SAVE_REGS);
    /* FNSAVE re-initializes; FNSTENV masks every exception */
    set_guest_cw(cpu, save ? FNINIT_CW : (uint16_t)(cw | CW_MASKS));
    guest_write(cpu, lin, out, len);
    mode_sync(cpu, next, arg & FPU_ARG_MF);
}

static void load_env(struct cpu *cpu, uint32_t lin, uint32_t arg, uint32_t next,
                     bool restore)
{
    bool o16 = (arg & 0xff) == 16;
    uint32_t env = o16 ? ENV16_SIZE : ENV32_SIZE;
    uint32_t len = env + (restore ? SAVE_REGS : 0);
    guest_check(cpu, lin, len, ACC_READ);
    uint8_t in[SAVE32_SIZE], host[SAVE32_SIZE];
    guest_read(cpu, lin, in, len);
    memset(host, 0, sizeof host);
    if (o16) {
        put16(host + ENV_CW, get16(in + 0));
        put16(host + ENV_SW, get16(in + 2));
        put16(host + ENV_TW, get16(in + 4));
    } else {
        memcpy(host, in, ENV32_SIZE);
    }
    if (restore)
        memcpy(host + ENV32_SIZE, in + env, SAVE_REGS);
    uint16_t cw = get16(host + ENV_CW);
    set_guest_cw(cpu, cw);
    put16(host + ENV_CW, (uint16_t)(cw | CW_MASKS));
    if (restore)
        host_frstor(host);
    else
        host_fldenv(host);
    mode_sync(cpu, next, arg & FPU_ARG_MF);
}

/* The image helpers: the operand's linear address is in cpu->save_r8;
 * arg is the operand size in bits (16 or 32), plus FPU_ARG_MF. */
static uint32_t operand_lin(const struct cpu *cpu) { return (uint32_t)cpu->save_r8; }

HELPER(helper_fnstenv)
{
    HELPER_COUNT(cpu, fpu);
    store_env(cpu, operand_lin(cpu), arg, next, false);
}

HELPER(helper_fnsave)
{
    HELPER_COUNT(cpu, fpu);
    store_env(cpu, operand_lin(cpu), arg, next, true);
}

HELPER(helper_fldenv)
{
    HELPER_COUNT(cpu, fpu);
    load_env(cpu, operand_lin(cpu), arg, next, false);
}

HELPER(helper_frstor)
{
    HELPER_COUNT(cpu, fpu);
    load_env(cpu, operand_lin(cpu), arg, next, true);
}

/* ---- FXSAVE / FXRSTOR ---- */

/* MXCSR and XMM0-7 are saved and restored only under CR4.OSFXSR (as on
 * QEMU); FOP and the pointers are stored as 0; bytes 288-511 are never
 * written. */
HELPER(helper_fxsave)
{
    (void)arg, (void)next; /* FXSAVE leaves the control word alone */
    HELPER_COUNT(cpu, fpu);
    uint32_t lin = operand_lin(cpu);
    if (lin & 15)
        bt_raise(cpu, EXC_GP, 0, true);
    guest_check(cpu, lin, FX_SIZE, ACC_WRITE);
    uint8_t img[FX_SIZE] __attribute__((aligned(16)));
    host_fxsave(img);
    put16(img + FX_FCW, guest_cw(cpu));
    put16(img + FX_FSW, guest_sw(cpu, get16(img + FX_FSW)));
    img[FX_FTW + 1] = 0;
    memset(img + FX_FOP, 0, FX_MXCSR - FX_FOP);
    if (cpu->cr4 & CR4_OSFXSR) {
        memcpy(img + FX_MXCSR, cpu->fpu.fx + FX_MXCSR, 4);
        put32(img + FX_MXCSR_MASK, MXCSR_MASK);
        memcpy(img + FX_XMM, cpu->fpu.fx + FX_XMM, FX_XMM_END - FX_XMM);
        guest_write(cpu, lin, img, FX_XMM_END);
    } else {
        guest_write(cpu, lin, img, FX_MXCSR);
        guest_write(cpu, lin + FX_ST, img + FX_ST, FX_XMM - FX_ST);
    }
}

HELPER(helper_fxrstor)
{
    HELPER_COUNT(cpu, fpu);
    uint32_t lin = operand_lin(cpu);
    bool sse = cpu->cr4 & CR4_OSFXSR;
    if (lin & 15)
        bt_raise(cpu, EXC_GP, 0, true);
    guest_check(cpu, lin, FX_SIZE, ACC_READ);
    uint8_t in[FX_XMM_END];
    guest_read(cpu, lin, in, sse ? FX_XMM_END : FX_XMM);
    if (sse && (get32(in + FX_MXCSR) & ~MXCSR_MASK))
        bt_raise(cpu, EXC_GP, 0, true);
    uint8_t img[FX_SIZE] __attribute__((aligned(16)));
    host_fxsave(img); /* keeps the host's MXCSR and XMM registers */
    memcpy(img, in, FX_MXCSR);
    memcpy(img + FX_ST, in + FX_ST, FX_XMM - FX_ST);
    uint16_t cw = get16(in + FX_FCW);
    put16(img + FX_FCW, (uint16_t)(cw | CW_MASKS));
    host_fxrstor(img);
    set_guest_cw(cpu, cw);
    if (sse) {
        memcpy(cpu->fpu.fx + FX_MXCSR, in + FX_MXCSR, 4);
        memcpy(cpu->fpu.fx + FX_XMM, in + FX_XMM, FX_XMM_END - FX_XMM);
    }
    mode_sync(cpu, next, arg & FPU_ARG_MF);
}

/* ---- around bt_run ---- */

/* The state FNINIT leaves (and QEMU's reset): control word 0x037f, all
 * registers empty, MXCSR at its default. */
void fpu_reset(struct cpu *cpu)
{
    memset(cpu->fpu.fx, 0, sizeof cpu->fpu.fx);
    set_guest_cw(cpu, FNINIT_CW);
    put32(cpu->fpu.fx + FX_MXCSR, MXCSR_DEFAULT);
}

/* Load the guest's x87 state into the host FPU (host MXCSR and XMM
 * registers stay the host's). */
void fpu_enter(struct cpu *cpu)
{
    uint8_t img[FX_SIZE] __attribute__((aligned(16)));
    host_fxsave(img);
    memcpy(img, cpu->fpu.fx, FX_MXCSR);
    memcpy(img + FX_ST, cpu->fpu.fx + FX_ST, FX_XMM - FX_ST);
    put16(img + FX_FCW, (uint16_t)(guest_cw(cpu) | CW_MASKS));
    host_fxrstor(img);
}

/* Store the guest's x87 state back into cpu->fpu (FCW is already there)
 * and leave the host FPU as the ABI expects it: initialized and empty. */
void fpu_leave(struct cpu *cpu)
{
    uint8_t img[FX_SIZE] __attribute__((aligned(16)));
    host_fxsave(img);
    memcpy(cpu->fpu.fx + FX_FSW, img + FX_FSW, FX_MXCSR - FX_FSW);
    put16(cpu->fpu.fx + FX_FSW, guest_sw(cpu, get16(img + FX_FSW)));
    memcpy(cpu->fpu.fx + FX_ST, img + FX_ST, FX_XMM - FX_ST);
    __asm__ volatile("fninit");
}
