/* Direct addressing with paging off (bt/xlate_mem.c): an access
 * [reg + disp] runs as [r15 + reg + disp + BT_RAM_OFFSET] with no 32-bit
 * address computed first. Where the guest's 32-bit sum wraps, past 4 GiB
 * or below 0, the 64-bit host address lands in an inaccessible guard, and
 * the access must still reach the wrapped guest address: RAM at the bottom
 * of memory, or the machine's MMIO at the top. The same translated code
 * runs once without wrapping and once with, so both its fast path and its
 * miss path are checked. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bt/bt.h"
#include "bt/cpu.h"

#define RAM_SIZE (4u << 20)
#define CODE 0x1000u

struct fx {
    struct cpu *cpu;
    struct bt *bt;
    struct bt_host host;
    unsigned mmio_reads, mmio_writes;
    uint32_t gpa, size, val;
};

static uint32_t fx_io_in(void *o, uint16_t port, unsigned size)
{
    (void)o, (void)port, (void)size;
    return 0xffffffffu;
}

static void fx_io_out(void *o, uint16_t port, unsigned size, uint32_t val)
{
    (void)o, (void)port, (void)size, (void)val;
}

static uint32_t fx_mmio_read(void *o, uint32_t gpa, unsigned size)
{
    struct fx *f = o;
    f->mmio_reads++;
    f->gpa = gpa;
    f->size = size;
    return 0xCAFEF00Du;
}

static void fx_mmio_write(void *o, uint32_t gpa, unsigned size, uint32_t val)
{
    struct fx *f = o;
    f->mmio_writes++;
    f->gpa = gpa;
    f->size = size;
    f->val = val;
}

static void on_segv(int sig, siginfo_t *info, void *uctx)
{
    if (bt_handle_segv(info->si_addr, uctx))
        return;
    signal(sig, SIG_DFL);
    raise(sig);
}

/* The wrapped accesses fault on purpose; cmocka puts its own SIGSEGV
 * handler in place around each test, so each test sets this one. */
static void catch_guest_faults(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->cpu = bt_cpu_alloc(RAM_SIZE);
    f->bt = bt_create(NULL);
    if (!f->cpu || !f->bt)
        return -1;
    bt_cpu_reset_flat(f->cpu);
    f->host = (struct bt_host){
        .opaque = f, .io_in = fx_io_in, .io_out = fx_io_out,
        .mmio_read = fx_mmio_read, .mmio_write = fx_mmio_write,
    };
    bt_attach(f->bt, f->cpu, &f->host);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    bt_destroy(f->bt);
    bt_cpu_free(f->cpu);
    free(f);
    return 0;
}

static void put32(struct fx *f, uint32_t addr, uint32_t v)
{
    memcpy(f->cpu->ram + addr, &v, 4);
}

static uint32_t get32(struct fx *f, uint32_t addr)
{
    uint32_t v;
    memcpy(&v, f->cpu->ram + addr, 4);
    return v;
}

/* Put one instruction (then HLT) at CODE, once per test. */
static void load(struct fx *f, const uint8_t *insn, size_t len)
{
    catch_guest_faults();
    memcpy(f->cpu->ram + CODE, insn, len);
    f->cpu->ram[CODE + len] = 0xF4;
    bt_invalidate_phys(f->bt, CODE, (uint32_t)len + 1);
}

/* Run from CODE with ebx = base (eax, ecx as given) to the HLT. */
static void run(struct fx *f, uint32_t ebx, uint32_t eax, uint32_t ecx)
{
    struct cpu *cpu = f->cpu;
    cpu->regs[R_EAX] = eax;
    cpu->regs[R_EBX] = ebx;
    cpu->regs[R_ECX] = ecx;
    cpu->regs[R_ESP] = 0x8000;
    cpu->eip = CODE;
    cpu->run = 1;
    int why = bt_run(cpu);
    if (why != BT_EXIT_HLT)
        fprintf(stderr, "bt_run: exit %d, vector %d at %#x\n", why,
                cpu->exc_vector, cpu->exc_eip);
    assert_int_equal(why, BT_EXIT_HLT);
}

/* mov eax, [ebx + 0x20] with ebx + 0x20 past 4 GiB: RAM at 0x10. */
static void load_wrapping_past_4g_reads_low_ram(void **state)
{
    struct fx *f = *state;
    static const uint8_t insn[] = {0x8B, 0x43, 0x20};
    load(f, insn, sizeof insn);
    put32(f, 0x30, 0x01020304);
    run(f, 0x10, 0, 0); /* no wrap: 0x30 */
    assert_int_equal(f->cpu->regs[R_EAX], 0x01020304);
    put32(f, 0x10, 0x11223344);
    run(f, 0xFFFFFFF0u, 0, 0);
    assert_int_equal(f->cpu->regs[R_EAX], 0x11223344);
    assert_int_equal(f->mmio_reads, 0);
}

/* mov eax, [ebx - 0x10] with ebx < 0x10: the top of the address space,
 * which is not RAM. */
static void load_wrapping_below_0_reads_mmio(void **state)
{
    struct fx *f = *state;
    static const uint8_t insn[] = {0x8B, 0x43, 0xF0};
    load(f, insn, sizeof insn);
    put32(f, 0x100, 0x0A0B0C0D);
    run(f, 0x110, 0, 0);
    assert_int_equal(f->cpu->regs[R_EAX], 0x0A0B0C0D);
    assert_int_equal(f->mmio_reads, 0);
    run(f, 8, 0, 0);
    assert_int_equal(f->mmio_reads, 1);
    assert_int_equal(f->gpa, 0xFFFFFFF8u);
    assert_int_equal(f->size, 4);
    assert_int_equal(f->cpu->regs[R_EAX], 0xCAFEF00Du);
}

/* mov [ebx - 0x10], ecx wrapping below 0: an MMIO write; RAM stays. */
static void store_wrapping_below_0_writes_mmio(void **state)
{
    struct fx *f = *state;
    static const uint8_t insn[] = {0x89, 0x4B, 0xF0};
    load(f, insn, sizeof insn);
    run(f, 0x210, 0, 0x99887766);
    assert_int_equal(get32(f, 0x200), 0x99887766);
    run(f, 4, 0, 0x55667788);
    assert_int_equal(f->mmio_writes, 1);
    assert_int_equal(f->gpa, 0xFFFFFFF4u);
    assert_int_equal(f->val, 0x55667788);
    assert_int_equal(get32(f, 0), 0);
}

/* add [ebx + 4], eax at the end of RAM: beyond it is MMIO, read then
 * written back with the sum. */
static void read_modify_write_beyond_ram_goes_to_mmio(void **state)
{
    struct fx *f = *state;
    static const uint8_t insn[] = {0x01, 0x43, 0x04};
    load(f, insn, sizeof insn);
    put32(f, RAM_SIZE - 4, 40);
    run(f, RAM_SIZE - 8, 2, 0);
    assert_int_equal(get32(f, RAM_SIZE - 4), 42);
    run(f, RAM_SIZE, 1, 0);
    assert_int_equal(f->mmio_reads, 1);
    assert_int_equal(f->mmio_writes, 1);
    assert_int_equal(f->gpa, RAM_SIZE + 4);
    assert_int_equal(f->val, 0xCAFEF00Du + 1);
}

/* mov ebx, [ebx + 0x20]: the base is also the destination, and the miss
 * path must use the address from before the load. */
static void load_into_its_own_base_wraps_too(void **state)
{
    struct fx *f = *state;
    static const uint8_t insn[] = {0x8B, 0x5B, 0x20};
    load(f, insn, sizeof insn);
    put32(f, 0x40, 0x12345678);
    run(f, 0x20, 0, 0);
    assert_int_equal(f->cpu->regs[R_EBX], 0x12345678);
    put32(f, 0x18, 0x87654321);
    run(f, 0xFFFFFFF8u, 0, 0);
    assert_int_equal(f->cpu->regs[R_EBX], 0x87654321);
    assert_int_equal(f->mmio_reads, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(load_wrapping_past_4g_reads_low_ram, setup, teardown),
        cmocka_unit_test_setup_teardown(load_wrapping_below_0_reads_mmio, setup, teardown),
        cmocka_unit_test_setup_teardown(store_wrapping_below_0_writes_mmio, setup, teardown),
        cmocka_unit_test_setup_teardown(read_modify_write_beyond_ram_goes_to_mmio, setup, teardown),
        cmocka_unit_test_setup_teardown(load_into_its_own_base_wraps_too, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
