/* systest: paging checks: turning it on, 4 MiB pages, accessed and dirty
 * bits, TLB invalidation (INVLPG, CR3, CR4.PGE), remapping data and code,
 * and the page faults a kernel handles, with their CR2 and error code. */
#include "systest.h"
#include "probes.h"

#define PF_P 0x1 /* error code: protection (not not-present) */
#define PF_W 0x2
#define PF_U 0x4

static uint32_t frame(unsigned i)
{
    return ADDR(test_frames[i]);
}

static void fill_frame(unsigned i, uint32_t v)
{
    uint32_t *w = (uint32_t *)test_frames[i];
    for (unsigned k = 0; k < PAGE_SIZE / 4; k++)
        w[k] = v + k;
}

static void map(unsigned page, uint32_t phys, uint32_t flags)
{
    *test_pte(page) = phys | flags;
    invlpg(test_page(page));
}

static uint32_t peek(const void *p)
{
    return *(const volatile uint32_t *)p;
}

static void poke(void *p, uint32_t v)
{
    *(volatile uint32_t *)p = v;
}

void check_pg_enable(struct result *r)
{
    static volatile uint32_t marker = 0x1dea1dea;

    paging_on();
    if (expect_eq(r, "CR0.PG", read_cr0() & CR0_PG, CR0_PG) &&
        expect_eq(r, "CR3", read_cr3(), ADDR(page_dir)))
        expect_eq(r, "identity-mapped data", marker, 0x1dea1dea);
    paging_off();
}

void check_pg_pse(struct result *r)
{
    static volatile uint32_t marker = 0x4d1b4d1b;
    volatile uint32_t *alias =
        (volatile uint32_t *)(PSE_ALIAS + ADDR(&marker));

    paging_on();
    if (expect_eq(r, "read through the 4 MiB alias", *alias, 0x4d1b4d1b)) {
        *alias = 0x600d;
        expect_eq(r, "write through the alias seen directly", marker, 0x600d);
    }
    paging_off();
}

void check_pg_accessed_dirty(struct result *r)
{
    const uint32_t pde = TEST_LINEAR >> 22;

    fill_frame(0, 0xad000000);
    page_dir[pde] &= ~(uint32_t)PTE_A;
    *test_pte(0) = frame(0) | PTE_P | PTE_W;
    paging_on();
    uint32_t v = peek(test_page(0));
    uint32_t after_read = *test_pte(0);
    poke(test_page(0), v + 1);
    uint32_t after_write = *test_pte(0);
    paging_off();
    if (expect_eq(r, "value read", v, 0xad000000) &&
        expect_eq(r, "PTE A,D after a read", after_read & (PTE_A | PTE_D),
                  PTE_A) &&
        expect_eq(r, "PTE A,D after a write", after_write & (PTE_A | PTE_D),
                  PTE_A | PTE_D))
        expect_eq(r, "PDE A", page_dir[pde] & PTE_A, PTE_A);
}

/* Maps page 0 to frame 0, reads it (filling the TLB), points the PTE at
 * frame 1 and runs flush; the next read must see frame 1. */
static void expect_flush_shows(struct result *r, uint32_t flags,
                               void (*flush)(void))
{
    fill_frame(0, 0xaaaa0000);
    fill_frame(1, 0xbbbb0000);
    paging_on();
    map(0, frame(0), flags);
    uint32_t before = peek(test_page(0));
    *test_pte(0) = frame(1) | flags;
    flush();
    uint32_t after = peek(test_page(0));
    paging_off();
    if (expect_eq(r, "before the change", before, 0xaaaa0000))
        expect_eq(r, "after the change and the flush", after, 0xbbbb0000);
}

static void flush_invlpg(void)
{
    invlpg(test_page(0));
}

static void flush_cr3(void)
{
    write_cr3(read_cr3());
}

static void flush_pge_toggle(void)
{
    write_cr4(read_cr4() & ~CR4_PGE);
    write_cr4(read_cr4() | CR4_PGE);
}

void check_pg_invlpg(struct result *r)
{
    expect_flush_shows(r, PTE_P | PTE_W, flush_invlpg);
}

void check_pg_cr3_reload(struct result *r)
{
    expect_flush_shows(r, PTE_P | PTE_W, flush_cr3);
}

void check_pg_global(struct result *r)
{
    /* Only the deterministic side: whatever a CR3 reload keeps, toggling
     * CR4.PGE and INVLPG must drop a global entry. */
    write_cr4(read_cr4() | CR4_PGE);
    if (!expect_eq(r, "CR4.PGE", read_cr4() & CR4_PGE, CR4_PGE))
        return;
    expect_flush_shows(r, PTE_P | PTE_W | PTE_G, flush_pge_toggle);
    if (r->failed)
        return;
    write_cr4(read_cr4() | CR4_PGE);
    expect_flush_shows(r, PTE_P | PTE_W | PTE_G, flush_invlpg);
}

void check_pg_shared_frame(struct result *r)
{
    fill_frame(2, 0);
    paging_on();
    map(0, frame(2), PTE_P | PTE_W);
    map(1, frame(2), PTE_P | PTE_W);
    poke((char *)test_page(0) + 0x40, 0x5ca1ab1e);
    uint32_t v = peek((char *)test_page(1) + 0x40);
    paging_off();
    if (expect_eq(r, "read through the second mapping", v, 0x5ca1ab1e))
        expect_eq(r, "the frame itself", peek(test_frames[2] + 0x40),
                  0x5ca1ab1e);
}

/* mov $value, %eax; ret; as single byte stores of translated code (a
 * memcpy might be a string instruction, which tpvm runs in C) */
static void write_code(uint8_t *p, uint32_t value)
{
    volatile uint8_t *q = p;
    q[0] = 0xb8;
    for (int i = 0; i < 4; i++)
        q[1 + i] = (uint8_t)(value >> (8 * i));
    q[5] = 0xc3;
}

static bool call_page(struct result *r, unsigned page, uint32_t want,
                      const char *what)
{
    struct trap_info t;
    uint32_t arg[2] = {ADDR(test_page(page)), 0};

    if (!expect_no_trap(r, guarded(probe_call, arg, &t), &t))
        return false;
    return expect_eq(r, what, arg[1], want);
}

void check_pg_code_remap(struct result *r)
{
    write_code(test_frames[3], 0x1111);
    write_code(test_frames[4], 0x2222);
    paging_on();
    map(2, frame(3), PTE_P | PTE_W);
    if (call_page(r, 2, 0x1111, "code in the first frame")) {
        map(2, frame(4), PTE_P | PTE_W);
        call_page(r, 2, 0x2222, "code after remapping the page");
    }
    paging_off();
}

void check_pg_code_alias_write(struct result *r)
{
    write_code(test_frames[3], 0x3333);
    paging_on();
    map(2, frame(3), PTE_P | PTE_W);
    if (call_page(r, 2, 0x3333, "code before the write")) {
        /* New code written through the identity mapping of the frame. */
        write_code(test_frames[3], 0x4444);
        call_page(r, 2, 0x4444, "code after writing it through an alias");
    }
    paging_off();
}

/* Paging off: the store that rewrites the code is the only sign of it. */
void check_code_rewrite_paging_off(struct result *r)
{
    write_code(test_frames[5], 0x5555);
    uint32_t arg[2] = {frame(5), 0};
    struct trap_info t;
    if (!expect_no_trap(r, guarded(probe_call, arg, &t), &t) ||
        !expect_eq(r, "code before the write", arg[1], 0x5555))
        return;
    write_code(test_frames[5], 0x6666);
    arg[1] = 0;
    if (expect_no_trap(r, guarded(probe_call, arg, &t), &t))
        expect_eq(r, "code after the write", arg[1], 0x6666);
}

/* Code run with paging on, rewritten after paging is turned off (through
 * no mapping), then run with paging on again. */
void check_pg_code_rewrite_across_paging_off(struct result *r)
{
    write_code(test_frames[4], 0x7777);
    paging_on();
    map(2, frame(4), PTE_P | PTE_W);
    bool ok = call_page(r, 2, 0x7777, "code before the write");
    paging_off();
    if (!ok)
        return;
    write_code(test_frames[4], 0x8888);
    paging_on();
    map(2, frame(4), PTE_P | PTE_W);
    call_page(r, 2, 0x8888, "code written with paging off");
    paging_off();
}

/* ---- Page faults. ---- */

/* probe (at ring 3 when user) on addr must raise #PF(error) at insn with
 * CR2 = addr. */
static void expect_pf(struct result *r, bool user, void (*probe)(void *),
                      const char *insn, uint32_t addr, uint32_t error)
{
    struct trap_info t;
    uint32_t arg[2] = {addr, 0x1234};

    paging_on();
    int v = user ? guarded_user(probe, arg, EFLAGS_FIXED, &t)
                 : guarded(probe, arg, &t);
    paging_off();
    if (expect_trap(r, v, &t, 14, error, ADDR(insn)))
        expect_eq(r, "CR2", t.cr2, addr);
}

#define PF_ADDR (TEST_LINEAR + PAGE_SIZE + 0x10)

void check_pf_not_present_read(struct result *r)
{
    *test_pte(1) = 0;
    expect_pf(r, false, probe_read32, probe_read32_insn, PF_ADDR, 0);
}

void check_pf_not_present_write(struct result *r)
{
    *test_pte(1) = frame(0) | PTE_W | PTE_U; /* all but P */
    expect_pf(r, false, probe_write32, probe_write32_insn, PF_ADDR, PF_W);
}

void check_pf_user_not_present(struct result *r)
{
    *test_pte(1) = 0;
    expect_pf(r, true, probe_read32, probe_read32_insn, PF_ADDR, PF_U);
}

void check_pf_user_supervisor_page(struct result *r)
{
    *test_pte(1) = frame(0) | PTE_P | PTE_W;
    expect_pf(r, true, probe_read32, probe_read32_insn, PF_ADDR, PF_U | PF_P);
}

void check_pf_user_supervisor_pde(struct result *r)
{
    /* A user PTE under a supervisor PDE is a supervisor page. */
    page_dir[TEST_LINEAR >> 22] &= ~(uint32_t)PTE_U;
    *test_pte(1) = frame(0) | PTE_P | PTE_W | PTE_U;
    expect_pf(r, true, probe_read32, probe_read32_insn, PF_ADDR, PF_U | PF_P);
}

void check_pf_kernel_write_wp(struct result *r)
{
    *test_pte(1) = frame(0) | PTE_P | PTE_U;
    write_cr0(read_cr0() | CR0_WP);
    expect_pf(r, false, probe_write32, probe_write32_insn, PF_ADDR,
              PF_W | PF_P);
}

void check_pf_kernel_write_no_wp(struct result *r)
{
    struct trap_info t;
    uint32_t arg[2] = {PF_ADDR, 0x77777777};

    fill_frame(0, 0);
    *test_pte(1) = frame(0) | PTE_P | PTE_U;
    write_cr0(read_cr0() & ~CR0_WP);
    paging_on();
    int v = guarded(probe_write32, arg, &t);
    paging_off();
    if (expect_no_trap(r, v, &t))
        expect_eq(r, "value in the read-only page", peek(test_frames[0] + 0x10),
                  0x77777777);
}

void check_pf_user_write_readonly(struct result *r)
{
    fill_frame(0, 0);
    *test_pte(1) = frame(0) | PTE_P | PTE_U;
    write_cr0(read_cr0() & ~CR0_WP); /* WP does not matter at ring 3 */
    expect_pf(r, true, probe_write32, probe_write32_insn, PF_ADDR,
              PF_U | PF_W | PF_P);
    if (!r->failed)
        expect_eq(r, "read-only page after the write", peek(test_frames[0] + 0x10),
                  0x10 / 4);
}

void check_pf_no_page_table(struct result *r)
{
    /* 0xc0000000: its PDE is not present. */
    expect_pf(r, false, probe_write32, probe_write32_insn, 0xc0000008, PF_W);
}

static void map_faulting_page(void)
{
    *test_pte(1) = frame(5) | PTE_P | PTE_W;
    invlpg((void *)read_cr2());
}

void check_pf_demand_paging(struct result *r)
{
    struct trap_info t;
    uint32_t arg[2] = {PF_ADDR, 0};
    unsigned before = resumed_count;

    fill_frame(5, 0xde000000);
    *test_pte(1) = 0;
    resume_vector = 14;
    resume_fixup = map_faulting_page;
    paging_on();
    int v = guarded(probe_read32, arg, &t);
    paging_off();
    resume_vector = -1;
    resume_fixup = 0;
    if (expect_no_trap(r, v, &t) &&
        expect_eq(r, "#PF taken", resumed_count - before, 1) &&
        expect_eq(r, "#PF EIP", resumed.eip, ADDR(probe_read32_insn)) &&
        expect_eq(r, "CR2", resumed.cr2, PF_ADDR))
        expect_eq(r, "value read after the handler mapped the page", arg[1],
                  0xde000000 + 0x10 / 4);
}

/* fn(arg) at ring 3 with paging on (see guarded_user). */
static int user_paged(void (*fn)(void *), void *arg, struct trap_info *t)
{
    paging_on();
    int v = guarded_user(fn, arg, EFLAGS_FIXED, t);
    paging_off();
    return v;
}

/* PUSHA/POPA frames that straddle test pages 0 and 1, at ring 3 (so a
 * fault switches to the TSS stack). The 32-bit word at linear lin of the
 * test pages, with page i mapped to frame i. */
static uint32_t test_word(uint32_t lin)
{
    uint32_t off = lin - TEST_LINEAR;
    return *(const volatile uint32_t *)&test_frames[off / PAGE_SIZE][off % PAGE_SIZE];
}

static void set_test_word(uint32_t lin, uint32_t v)
{
    uint32_t off = lin - TEST_LINEAR;
    *(volatile uint32_t *)&test_frames[off / PAGE_SIZE][off % PAGE_SIZE] = v;
}

#define PAGE1 (TEST_LINEAR + PAGE_SIZE)

/* Both test pages present and zeroed; the push probe runs with arg:
 * ESP = arg[0] (esp). ESP after it (arg[2]) must be esp - 4n and the n
 * words below esp want[] (lowest first). */
static bool pushed_across(struct result *r, void (*probe)(void *),
                          uint32_t *arg, const uint32_t *want, unsigned n,
                          const char *esp_what, const char *word_what)
{
    struct trap_info t;
    uint32_t esp = arg[0];
    fill_frame(0, 0);
    fill_frame(1, 0);
    *test_pte(0) = frame(0) | PTE_P | PTE_W | PTE_U;
    *test_pte(1) = frame(1) | PTE_P | PTE_W | PTE_U;
    int v = user_paged(probe, arg, &t);
    if (!expect_no_trap(r, v, &t) ||
        !expect_eq(r, esp_what, arg[2], esp - 4 * n))
        return false;
    for (unsigned i = 0; i < n; i++)
        if (test_word(esp - 4 * n + 4 * i) != want[i]) {
            fail(r, "%s %u: 0x%x, want 0x%x", word_what, i,
                 test_word(esp - 4 * n + 4 * i), want[i]);
            return false;
        }
    return true;
}

/* The pop probe runs with ESP = from over n words first + i * 0x01010101;
 * it leaves what it loaded in seen[0..n-1] (all compared but seen[skip],
 * skip < n only for POPAD, which skips ESP) and ESP after it in seen[n]. */
static void popped_across(struct result *r, void (*probe)(void *),
                          uint32_t from, uint32_t first, unsigned n,
                          const uint32_t *seen, unsigned skip,
                          const char *esp_what, const char *word_what)
{
    struct trap_info t;
    uint32_t arg[1] = {from};
    for (unsigned i = 0; i < n; i++)
        set_test_word(from + 4 * i, first + i * 0x01010101u);
    int v = user_paged(probe, arg, &t);
    if (!expect_no_trap(r, v, &t) ||
        !expect_eq(r, esp_what, seen[n], from + 4 * n))
        return;
    for (unsigned i = 0; i < n; i++)
        if (i != skip && seen[i] != first + i * 0x01010101u) {
            fail(r, "%s %u: 0x%x, want 0x%x", word_what, i, seen[i],
                 first + i * 0x01010101u);
            return;
        }
}

void check_pg_pusha_popa_straddle(struct result *r)
{
    uint32_t esp = PAGE1 + 12, arg[3] = {esp, 0, 0};
    /* what PUSHAD stores, lowest first: EDI ESI EBP ESP EBX EDX ECX EAX
     * (EDX holds the probe's argument pointer) */
    const uint32_t want[8] = {0xd1d2d3d4, 0x51525354, 0xe1e2e3e4, esp,
                              0xb1b2b3b4, ADDR(arg), 0xc1c2c3c4, 0xa1a2a3a4};
    if (pushed_across(r, probe_pusha_at, arg, want, 8, "ESP after PUSHAD",
                      "PUSHAD frame word"))
        /* POPAD of a frame across the same boundary */
        popped_across(r, probe_popa_at, PAGE1 - 8, 0x70000000u, 8, popa_seen,
                      3, "ESP after POPAD", "POPAD register");
}

void check_pf_pusha_straddle(struct result *r)
{
    struct trap_info t;
    uint32_t esp = PAGE1 + 16, arg[3] = {esp, 0, 0};

    *test_pte(0) = 0;
    *test_pte(1) = frame(1) | PTE_P | PTE_W | PTE_U;
    int v = user_paged(probe_pusha_at, arg, &t);
    if (expect_trap(r, v, &t, 14, PF_U | PF_W, ADDR(probe_pusha_insn)) &&
        expect_eq(r, "CR2", t.cr2, esp - 32))
        expect_eq(r, "ring-3 ESP in the frame", t.esp, esp);
}

void check_pf_popa_straddle(struct result *r)
{
    struct trap_info t;
    uint32_t esp = PAGE1 - 8, arg[1] = {esp};

    *test_pte(0) = frame(0) | PTE_P | PTE_W | PTE_U;
    *test_pte(1) = 0;
    int v = user_paged(probe_popa_at, arg, &t);
    if (expect_trap(r, v, &t, 14, PF_U, ADDR(probe_popa_insn)) &&
        expect_eq(r, "CR2", t.cr2, PAGE1))
        expect_eq(r, "ring-3 ESP in the frame", t.esp, esp);
}

/* Runs of PUSH/POP instructions (a prologue, an epilogue): each is its own
 * instruction, so a fault in the middle leaves the earlier ones done and
 * reports the one that faulted, with its ESP and address. */
void check_pg_push_pop_run_straddle(struct result *r)
{
    uint32_t esp = PAGE1 + 12, arg[3] = {esp, 0, 0};
    /* lowest first: EBP, -5, EBX, the immediate, ECX, EAX */
    const uint32_t want[6] = {0xe1e2e3e4, 0xfffffffb, 0xb1b2b3b4,
                              0x12345678, 0xc1c2c3c4, 0xa1a2a3a4};
    if (pushed_across(r, probe_push_run_at, arg, want, 6,
                      "ESP after the pushes", "pushed word"))
        popped_across(r, probe_pop_run_at, PAGE1 - 8, 0x60000000u, 5,
                      popr_seen, 5, "ESP after the pops", "popped value");
}

void check_pf_push_run_partial(struct result *r)
{
    struct trap_info t;
    uint32_t esp = PAGE1 + 8, arg[3] = {esp, 0, 0};

    fill_frame(1, 0);
    *test_pte(0) = 0;
    *test_pte(1) = frame(1) | PTE_P | PTE_W | PTE_U;
    int v = user_paged(probe_push_run_at, arg, &t);
    if (expect_trap(r, v, &t, 14, PF_U | PF_W, ADDR(probe_push_run_third)) &&
        expect_eq(r, "CR2", t.cr2, PAGE1 - 4) &&
        expect_eq(r, "ring-3 ESP in the frame", t.esp, PAGE1) &&
        expect_eq(r, "first push", test_word(PAGE1 + 4), 0xa1a2a3a4))
        expect_eq(r, "second push", test_word(PAGE1), 0xc1c2c3c4);
}

void check_pf_pop_run_partial(struct result *r)
{
    struct trap_info t;
    uint32_t esp = PAGE1 - 8, arg[1] = {esp};

    *test_pte(0) = frame(0) | PTE_P | PTE_W | PTE_U;
    *test_pte(1) = 0;
    int v = user_paged(probe_pop_run_at, arg, &t);
    if (expect_trap(r, v, &t, 14, PF_U, ADDR(probe_pop_run_third)) &&
        expect_eq(r, "CR2", t.cr2, PAGE1))
        expect_eq(r, "ring-3 ESP in the frame", t.esp, PAGE1);
}

/* POP EBX; RET or LEAVE; RET with the two words at lin: returns the
 * trap, popr_seen holds what the probe saw. */
static int pop_ret_at(void (*probe)(void *), uint32_t lin, uint32_t value,
                      struct trap_info *t)
{
    uint32_t arg[1] = {lin};
    bool leave = probe == probe_leave_ret_at;
    set_test_word(lin, value);
    set_test_word(lin + 4, leave ? ADDR(probe_leave_ret_back)
                                 : ADDR(probe_pop_ret_back));
    return user_paged(probe, arg, t);
}

void check_pg_pop_ret_leave_ret(struct result *r)
{
    static const uint32_t at[2] = {PAGE1 + 16, PAGE1 - 4};
    struct trap_info t;
    *test_pte(0) = frame(0) | PTE_P | PTE_W | PTE_U;
    *test_pte(1) = frame(1) | PTE_P | PTE_W | PTE_U;
    for (unsigned k = 0; k < 4; k++) {
        void (*probe)(void *) = k & 1 ? probe_leave_ret_at : probe_pop_ret_at;
        uint32_t lin = at[k >> 1], value = 0x5a000000u + k;
        int v = pop_ret_at(probe, lin, value, &t);
        const char *what = k & 1 ? "LEAVE;RET" : "POP;RET";
        if (!expect_no_trap(r, v, &t))
            return;
        if (popr_seen[0] != value || popr_seen[5] != lin + 8) {
            fail(r, "%s at 0x%x: register 0x%x, ESP 0x%x; want 0x%x, 0x%x",
                 what, lin, popr_seen[0], popr_seen[5], value, lin + 8);
            return;
        }
    }
}

void check_pf_pop_ret_leave_ret(struct result *r)
{
    struct trap_info t;
    *test_pte(0) = frame(0) | PTE_P | PTE_W | PTE_U;
    *test_pte(1) = 0;
    int v = pop_ret_at(probe_pop_ret_at, PAGE1 - 4, 1, &t);
    if (!expect_trap(r, v, &t, 14, PF_U, ADDR(probe_pop_ret_insn)) ||
        !expect_eq(r, "CR2", t.cr2, PAGE1) ||
        !expect_eq(r, "ring-3 ESP in the frame", t.esp, PAGE1))
        return;
    v = pop_ret_at(probe_leave_ret_at, PAGE1 - 4, 2, &t);
    if (expect_trap(r, v, &t, 14, PF_U, ADDR(probe_leave_ret_insn)) &&
        expect_eq(r, "CR2 after LEAVE", t.cr2, PAGE1))
        expect_eq(r, "ring-3 ESP in the frame after LEAVE", t.esp, PAGE1);
}

void check_pg_mov_run_straddle(struct result *r)
{
    struct trap_info t;
    uint32_t base = PAGE1 - 8, arg[3] = {base, 0, 0};
    *test_pte(0) = frame(0) | PTE_P | PTE_W | PTE_U;
    *test_pte(1) = frame(1) | PTE_P | PTE_W | PTE_U;
    for (unsigned i = 0; i < 10; i++)
        set_test_word(base + 4 * i, 0x30000000u + i);
    int v = user_paged(probe_mov_run_at, arg, &t);
    if (!expect_no_trap(r, v, &t) ||
        !expect_eq(r, "first load", arg[1], 0x30000000u) ||
        !expect_eq(r, "second load", arg[2], 0x30000005u) ||
        !expect_eq(r, "stored ECX", test_word(base + 4), 0xc1c2c3c4) ||
        !expect_eq(r, "stored immediate", test_word(base + 0x1c), 0x77665544))
        return;
    for (unsigned i = 2; i < 10; i++)
        if (i != 7 && test_word(base + 4 * i) != 0x30000000u + i) {
            fail(r, "word %u changed to 0x%x", i, test_word(base + 4 * i));
            return;
        }
}

void check_pf_mov_run_partial(struct result *r)
{
    struct trap_info t;
    uint32_t base = PAGE1 - 8, arg[3] = {base, 0, 0};
    *test_pte(0) = frame(0) | PTE_P | PTE_W | PTE_U;
    *test_pte(1) = 0;
    set_test_word(base + 4, 0);
    int v = user_paged(probe_mov_run_at, arg, &t);
    if (expect_trap(r, v, &t, 14, PF_U, ADDR(probe_mov_run_third)) &&
        expect_eq(r, "CR2", t.cr2, base + 0x14))
        expect_eq(r, "the store before the fault", test_word(base + 4), 0xc1c2c3c4);
}
