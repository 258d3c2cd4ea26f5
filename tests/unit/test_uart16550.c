/* Unit tests for the 16550A model (vmm/dev/uart16550.c) and the serial
 * host end it talks to (vmm/chardev.c, vmm/input_ring.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vmm/chardev.h"
#include "vmm/dev/uart16550.h"
#include "vmm/input_ring.h"

/* Each test gets a UART whose output goes into a pipe we can read back. */
struct fixture {
    struct uart16550 uart;
    struct chardev chr;
    int out[2]; /* pipe: [0] read end for the test */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f || pipe2(f->out, O_NONBLOCK) < 0)
        return -1;
    if (chardev_open_fds(&f->chr, f->out[1], -1) < 0)
        return -1;
    uart16550_init(&f->uart, &f->chr);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    chardev_close(&f->chr);
    close(f->out[0]);
    close(f->out[1]);
    free(f);
    return 0;
}

/* What reached the host so far (NUL-terminated). */
static const char *host_output(struct fixture *f)
{
    static char buf[256];
    ssize_t n = read(f->out[0], buf, sizeof(buf) - 1);
    buf[n > 0 ? n : 0] = 0;
    return buf;
}

static uint8_t rd(struct fixture *f, unsigned reg)
{
    return uart16550_read(&f->uart, reg);
}

static void wr(struct fixture *f, unsigned reg, uint8_t val)
{
    uart16550_write(&f->uart, reg, val);
}

static void reset_state_matches_qemu(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(rd(f, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
    assert_int_equal(rd(f, UART_IIR_FCR), UART_IIR_NO_INT);
    assert_int_equal(rd(f, UART_MSR),
                     UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS);
    assert_int_equal(rd(f, UART_MCR), UART_MCR_OUT2);
    assert_int_equal(rd(f, UART_IER_DLM), 0);
    assert_int_equal(rd(f, UART_LCR), 0);
}

static void thr_output_is_buffered_until_newline(void **state)
{
    struct fixture *f = *state;
    wr(f, UART_RBR_THR_DLL, 'o');
    wr(f, UART_RBR_THR_DLL, 'k');
    assert_string_equal(host_output(f), "");
    wr(f, UART_RBR_THR_DLL, '\n');
    assert_string_equal(host_output(f), "ok\n");
}

static void partial_line_is_written_by_flush(void **state)
{
    struct fixture *f = *state;
    wr(f, UART_RBR_THR_DLL, '$');
    assert_string_equal(host_output(f), "");
    chardev_flush(&f->chr);
    assert_string_equal(host_output(f), "$");
}

static void lsr_reports_thr_empty_after_every_write(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 100; i++) {
        wr(f, UART_RBR_THR_DLL, 'x');
        assert_int_equal(rd(f, UART_LSR) & (UART_LSR_THRE | UART_LSR_TEMT),
                         UART_LSR_THRE | UART_LSR_TEMT);
    }
}

static void dlab_exposes_divisor_latch(void **state)
{
    struct fixture *f = *state;
    wr(f, UART_IER_DLM, UART_IER_RDI);
    wr(f, UART_LCR, UART_LCR_DLAB | 0x03);
    assert_int_equal(rd(f, UART_RBR_THR_DLL), 12); /* reset: 9600 baud */
    assert_int_equal(rd(f, UART_IER_DLM), 0);
    wr(f, UART_RBR_THR_DLL, 0x01); /* 115200 baud */
    wr(f, UART_IER_DLM, 0x00);
    assert_int_equal(f->uart.divisor, 1);
    assert_int_equal(rd(f, UART_RBR_THR_DLL), 0x01);
    assert_int_equal(rd(f, UART_LCR), UART_LCR_DLAB | 0x03);
    /* Latch writes did not transmit or touch IER. */
    chardev_flush(&f->chr);
    assert_string_equal(host_output(f), "");
    wr(f, UART_LCR, 0x03);
    assert_int_equal(rd(f, UART_IER_DLM), UART_IER_RDI);
    assert_int_equal(f->uart.divisor, 1);
}

static void scratch_register_keeps_its_value(void **state)
{
    struct fixture *f = *state;
    wr(f, UART_SCR, 0x5a);
    assert_int_equal(rd(f, UART_SCR), 0x5a);
    wr(f, UART_SCR, 0xa5);
    assert_int_equal(rd(f, UART_SCR), 0xa5);
}

static void loopback_returns_written_bytes_without_output(void **state)
{
    struct fixture *f = *state;
    wr(f, UART_MCR, UART_MCR_LOOP);
    assert_int_equal(rd(f, UART_LSR) & UART_LSR_DR, 0);
    wr(f, UART_RBR_THR_DLL, 0xae);
    assert_int_equal(rd(f, UART_LSR) & UART_LSR_DR, UART_LSR_DR);
    assert_int_equal(rd(f, UART_RBR_THR_DLL), 0xae);
    assert_int_equal(rd(f, UART_LSR) & UART_LSR_DR, 0);
    chardev_flush(&f->chr);
    assert_string_equal(host_output(f), "");
}

static void loopback_routes_modem_outputs_to_inputs(void **state)
{
    struct fixture *f = *state;
    wr(f, UART_MCR, UART_MCR_LOOP | UART_MCR_DTR);
    assert_int_equal(rd(f, UART_MSR), UART_MSR_DSR);
    wr(f, UART_MCR, UART_MCR_LOOP | UART_MCR_RTS);
    assert_int_equal(rd(f, UART_MSR), UART_MSR_CTS);
    wr(f, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT1);
    assert_int_equal(rd(f, UART_MSR), UART_MSR_RI);
    wr(f, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2);
    assert_int_equal(rd(f, UART_MSR), UART_MSR_DCD);
    wr(f, UART_MCR, 0x1f);
    assert_int_equal(rd(f, UART_MSR), 0xf0);
    wr(f, UART_MCR, 0);
    assert_int_equal(rd(f, UART_MSR),
                     UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS);
}

static void loopback_ignores_host_input(void **state)
{
    struct fixture *f = *state;
    input_ring_push(&f->chr.in, (const uint8_t *)"h", 1);
    wr(f, UART_MCR, UART_MCR_LOOP);
    assert_int_equal(rd(f, UART_LSR) & UART_LSR_DR, 0);
    wr(f, UART_MCR, 0);
    assert_int_equal(rd(f, UART_LSR) & UART_LSR_DR, UART_LSR_DR);
    assert_int_equal(rd(f, UART_RBR_THR_DLL), 'h');
}

static void fifo_enable_shows_in_iir_bits_6_7(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(rd(f, UART_IIR_FCR) & 0xc0, 0);
    wr(f, UART_IIR_FCR, UART_FCR_ENABLE | UART_FCR_CLEAR_RX | UART_FCR_CLEAR_TX);
    assert_int_equal(rd(f, UART_IIR_FCR), UART_IIR_FIFO_ENABLED | UART_IIR_NO_INT);
    wr(f, UART_IIR_FCR, 0);
    assert_int_equal(rd(f, UART_IIR_FCR), UART_IIR_NO_INT);
}

static void fifo_holds_sixteen_bytes_then_overruns(void **state)
{
    struct fixture *f = *state;
    wr(f, UART_IIR_FCR, UART_FCR_ENABLE);
    wr(f, UART_MCR, UART_MCR_LOOP);
    for (int i = 0; i < 17; i++)
        wr(f, UART_RBR_THR_DLL, (uint8_t)('a' + i));
    uint8_t lsr = rd(f, UART_LSR);
    assert_int_equal(lsr & (UART_LSR_DR | UART_LSR_OE), UART_LSR_DR | UART_LSR_OE);
    assert_int_equal(rd(f, UART_LSR) & UART_LSR_OE, 0); /* cleared by reading */
    for (int i = 0; i < 16; i++)
        assert_int_equal(rd(f, UART_RBR_THR_DLL), 'a' + i);
    assert_int_equal(rd(f, UART_LSR) & UART_LSR_DR, 0);
}

static void without_fifo_a_second_byte_overruns_the_first(void **state)
{
    struct fixture *f = *state;
    wr(f, UART_MCR, UART_MCR_LOOP);
    wr(f, UART_RBR_THR_DLL, '1');
    wr(f, UART_RBR_THR_DLL, '2');
    assert_int_equal(rd(f, UART_LSR) & UART_LSR_OE, UART_LSR_OE);
    assert_int_equal(rd(f, UART_RBR_THR_DLL), '2');
    assert_int_equal(rd(f, UART_LSR) & UART_LSR_DR, 0);
}

static void fcr_clear_rx_drops_received_bytes(void **state)
{
    struct fixture *f = *state;
    wr(f, UART_IIR_FCR, UART_FCR_ENABLE);
    wr(f, UART_MCR, UART_MCR_LOOP);
    wr(f, UART_RBR_THR_DLL, 'z');
    wr(f, UART_IIR_FCR, UART_FCR_ENABLE | UART_FCR_CLEAR_RX);
    assert_int_equal(rd(f, UART_LSR) & UART_LSR_DR, 0);
}

static void host_input_sets_dr_and_reads_in_order(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(rd(f, UART_LSR) & UART_LSR_DR, 0);
    assert_int_equal(input_ring_push(&f->chr.in, (const uint8_t *)"hi", 2), 2);
    assert_int_equal(rd(f, UART_LSR) & UART_LSR_DR, UART_LSR_DR);
    assert_int_equal(rd(f, UART_RBR_THR_DLL), 'h');
    assert_int_equal(rd(f, UART_LSR) & UART_LSR_DR, UART_LSR_DR);
    assert_int_equal(rd(f, UART_RBR_THR_DLL), 'i');
    assert_int_equal(rd(f, UART_LSR) & UART_LSR_DR, 0);
}

static void iir_reports_thre_once_until_acknowledged(void **state)
{
    struct fixture *f = *state;
    wr(f, UART_IER_DLM, UART_IER_THRI);
    assert_int_equal(rd(f, UART_IIR_FCR), UART_IIR_THRI);
    assert_int_equal(rd(f, UART_IIR_FCR), UART_IIR_NO_INT);
    wr(f, UART_RBR_THR_DLL, 'x'); /* sent at once: THR empty again */
    assert_int_equal(rd(f, UART_IIR_FCR), UART_IIR_THRI);
}

static void iir_received_data_outranks_thre(void **state)
{
    struct fixture *f = *state;
    wr(f, UART_IER_DLM, UART_IER_THRI | UART_IER_RDI);
    input_ring_push(&f->chr.in, (const uint8_t *)"q", 1);
    assert_int_equal(rd(f, UART_IIR_FCR), UART_IIR_RDI);
    rd(f, UART_RBR_THR_DLL);
    assert_int_equal(rd(f, UART_IIR_FCR), UART_IIR_THRI);
}

static unsigned irq_changes;
static bool irq_line;

static void record_irq(void *opaque, bool level)
{
    (void)opaque;
    irq_changes++;
    irq_line = level;
}

static void irq_hook_follows_pending_interrupts(void **state)
{
    struct fixture *f = *state;
    irq_changes = 0;
    f->uart.irq_raise = record_irq;
    wr(f, UART_IER_DLM, UART_IER_THRI);
    assert_true(irq_line);
    rd(f, UART_IIR_FCR); /* acknowledges THRE */
    assert_false(irq_line);
    assert_int_equal(irq_changes, 2);
}

static void out2_low_keeps_the_irq_line_down(void **state)
{
    struct fixture *f = *state;
    irq_changes = 0;
    irq_line = false;
    f->uart.irq_raise = record_irq;
    wr(f, UART_MCR, UART_MCR_DTR | UART_MCR_RTS); /* OUT2 off */
    wr(f, UART_IER_DLM, UART_IER_THRI);
    assert_int_equal(rd(f, UART_IIR_FCR) & 0x0f, UART_IIR_THRI);
    assert_false(irq_line); /* pending, but the PC's gate is closed */
    wr(f, UART_RBR_THR_DLL, 'x');
    wr(f, UART_MCR, UART_MCR_OUT2);
    assert_true(irq_line);
}

static void loopback_raises_no_irq(void **state)
{
    struct fixture *f = *state;
    irq_changes = 0;
    irq_line = false;
    f->uart.irq_raise = record_irq;
    wr(f, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2);
    wr(f, UART_IER_DLM, UART_IER_RDI);
    wr(f, UART_RBR_THR_DLL, 'x');
    assert_true(rd(f, UART_LSR) & UART_LSR_DR);
    assert_false(irq_line);
    assert_int_equal(irq_changes, 0);
}

/* Input queued by the host end raises the receive interrupt when the
 * machine polls (what the reader thread's post leads to). */
static void polled_host_input_raises_the_rx_irq(void **state)
{
    struct fixture *f = *state;
    irq_line = false;
    f->uart.irq_raise = record_irq;
    wr(f, UART_IER_DLM, UART_IER_RDI);
    assert_false(irq_line);
    input_ring_push(&f->chr.in, (const uint8_t *)"k", 1);
    uart16550_poll_input(&f->uart);
    assert_true(irq_line);
    assert_int_equal(rd(f, UART_IIR_FCR) & 0x0f, UART_IIR_RDI);
    assert_int_equal(rd(f, UART_RBR_THR_DLL), 'k');
    assert_false(irq_line);
}

static void notify_count(void *opaque)
{
    __atomic_add_fetch((unsigned *)opaque, 1, __ATOMIC_SEQ_CST);
}

/* The reader thread calls the notifier per chunk and once at EOF. */
static void reader_thread_notifies_input_and_its_end(void **state)
{
    struct chardev chr;
    unsigned calls = 0;
    int in[2];
    (void)state;
    assert_int_equal(pipe(in), 0);
    assert_int_equal(chardev_open_fds(&chr, -1, in[0]), 0);
    chardev_set_input_notify(&chr, notify_count, &calls);
    assert_false(chardev_input_ended(&chr));
    assert_int_equal(write(in[1], "ab", 2), 2);
    close(in[1]);
    for (int i = 0; i < 2000 && !chardev_input_ended(&chr); i++)
        usleep(1000);
    assert_true(chardev_input_ended(&chr));
    unsigned n = __atomic_load_n(&calls, __ATOMIC_SEQ_CST);
    assert_true(n >= 2); /* data, then the end */
    assert_true(chardev_input_pending(&chr));
    chardev_close(&chr);
    close(in[0]);
}

static void input_ring_takes_what_fits_and_refuses_after_close(void **state)
{
    static struct input_ring r;
    static uint8_t big[INPUT_RING_SIZE + 100];
    uint8_t b;
    (void)state;
    input_ring_init(&r);
    memset(big, 'x', sizeof(big));
    assert_int_equal(input_ring_push(&r, big, sizeof(big)), INPUT_RING_SIZE);
    assert_int_equal(input_ring_count(&r), INPUT_RING_SIZE);
    assert_true(input_ring_pop(&r, &b));
    assert_int_equal(input_ring_push(&r, (const uint8_t *)"y", 1), 1);
    /* Wraps around: the newest byte comes out last. */
    for (size_t i = 0; i < INPUT_RING_SIZE - 1; i++)
        assert_true(input_ring_pop(&r, &b));
    assert_true(input_ring_pop(&r, &b));
    assert_int_equal(b, 'y');
    assert_false(input_ring_pop(&r, &b));
    input_ring_close(&r);
    assert_int_equal(input_ring_push(&r, (const uint8_t *)"z", 1), 0);
    assert_false(input_ring_push_all(&r, (const uint8_t *)"z", 1));
    input_ring_destroy(&r);
}

/* The reader thread moves piped input (larger than the ring) to the UART
 * without losing a byte. */
static void reader_thread_delivers_all_piped_input(void **state)
{
    struct chardev chr;
    struct uart16550 u;
    int in[2];
    enum { N = INPUT_RING_SIZE * 3 };
    static uint8_t data[N];
    (void)state;

    for (size_t i = 0; i < N; i++)
        data[i] = (uint8_t)(i * 7);
    assert_int_equal(pipe(in), 0);
    assert_int_equal(chardev_open_fds(&chr, -1, in[0]), 0);
    uart16550_init(&u, &chr);
    size_t written = 0, got = 0;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    fcntl(in[1], F_SETFL, O_NONBLOCK);
    while (got < N) {
        if (written < N) {
            ssize_t n = write(in[1], data + written, N - written);
            if (n > 0)
                written += (size_t)n;
            if (written == N)
                close(in[1]);
        }
        if (uart16550_read(&u, UART_LSR) & UART_LSR_DR) {
            assert_int_equal(uart16550_read(&u, UART_RBR_THR_DLL), data[got]);
            got++;
        }
        clock_gettime(CLOCK_MONOTONIC, &t);
        assert_true(t.tv_sec - t0.tv_sec < 10);
    }
    assert_int_equal(chr.bytes_in, N);
    chardev_close(&chr);
    close(in[0]);
}

static void chardev_open_rejects_unknown_spec_with_one_line(void **state)
{
    struct chardev chr;
    char err[200];
    (void)state;
    assert_true(chardev_open(&chr, "tcp:1234", err, sizeof(err)) < 0);
    assert_non_null(strstr(err, "tcp:1234"));
    assert_null(strchr(err, '\n'));
    assert_true(chardev_open(&chr, "file:/nonexistent-dir/x", err,
                             sizeof(err)) < 0);
    assert_non_null(strstr(err, "cannot open"));
}

static void chardev_file_sink_gets_everything_at_close(void **state)
{
    struct chardev chr;
    char err[200], path[] = "/tmp/tpvm-uart-XXXXXX", buf[64] = { 0 };
    (void)state;
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    char spec[64];
    snprintf(spec, sizeof(spec), "file:%s", path);
    assert_int_equal(chardev_open(&chr, spec, err, sizeof(err)), 0);
    for (const char *s = "line\ntail"; *s; s++)
        chardev_putc(&chr, (uint8_t)*s);
    chardev_close(&chr);
    fd = open(path, O_RDONLY);
    assert_int_equal(read(fd, buf, sizeof(buf) - 1), 9);
    close(fd);
    unlink(path);
    assert_string_equal(buf, "line\ntail");
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(reset_state_matches_qemu),
        T(thr_output_is_buffered_until_newline),
        T(partial_line_is_written_by_flush),
        T(lsr_reports_thr_empty_after_every_write),
        T(dlab_exposes_divisor_latch),
        T(scratch_register_keeps_its_value),
        T(loopback_returns_written_bytes_without_output),
        T(loopback_routes_modem_outputs_to_inputs),
        T(loopback_ignores_host_input),
        T(fifo_enable_shows_in_iir_bits_6_7),
        T(fifo_holds_sixteen_bytes_then_overruns),
        T(without_fifo_a_second_byte_overruns_the_first),
        T(fcr_clear_rx_drops_received_bytes),
        T(host_input_sets_dr_and_reads_in_order),
        T(iir_reports_thre_once_until_acknowledged),
        T(iir_received_data_outranks_thre),
        T(irq_hook_follows_pending_interrupts),
        T(out2_low_keeps_the_irq_line_down),
        T(loopback_raises_no_irq),
        T(polled_host_input_raises_the_rx_irq),
        cmocka_unit_test(reader_thread_notifies_input_and_its_end),
        cmocka_unit_test(input_ring_takes_what_fits_and_refuses_after_close),
        cmocka_unit_test(reader_thread_delivers_all_piped_input),
        cmocka_unit_test(chardev_open_rejects_unknown_spec_with_one_line),
        cmocka_unit_test(chardev_file_sink_gets_everything_at_close),
    };
    return cmocka_run_group_tests_name("uart16550", tests, NULL, NULL);
}
