/* 16550A UART register model (the guest console on COM1). */
#ifndef TPVM_VMM_DEV_UART16550_H
#define TPVM_VMM_DEV_UART16550_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/device.h"

struct chardev;

/* Register offsets from the base port. */
enum {
    UART_RBR_THR_DLL = 0, UART_IER_DLM = 1, UART_IIR_FCR = 2, UART_LCR = 3,
    UART_MCR = 4, UART_LSR = 5, UART_MSR = 6, UART_SCR = 7,
};

#define UART_IER_RDI 0x01
#define UART_IER_THRI 0x02
#define UART_IER_RLSI 0x04
#define UART_IER_MSI 0x08

#define UART_IIR_NO_INT 0x01
#define UART_IIR_MSI 0x00
#define UART_IIR_THRI 0x02
#define UART_IIR_RDI 0x04
#define UART_IIR_RLSI 0x06
#define UART_IIR_FIFO_ENABLED 0xc0

#define UART_FCR_ENABLE 0x01
#define UART_FCR_CLEAR_RX 0x02
#define UART_FCR_CLEAR_TX 0x04

#define UART_LCR_DLAB 0x80

#define UART_MCR_DTR 0x01
#define UART_MCR_RTS 0x02
#define UART_MCR_OUT1 0x04
#define UART_MCR_OUT2 0x08
#define UART_MCR_LOOP 0x10

#define UART_LSR_DR 0x01
#define UART_LSR_OE 0x02
#define UART_LSR_PE 0x04
#define UART_LSR_FE 0x08
#define UART_LSR_BI 0x10
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40
#define UART_LSR_ERRORS (UART_LSR_OE | UART_LSR_PE | UART_LSR_FE | UART_LSR_BI)

#define UART_MSR_DCTS 0x01
#define UART_MSR_DDSR 0x02
#define UART_MSR_TERI 0x04
#define UART_MSR_DDCD 0x08
#define UART_MSR_DELTAS 0x0f
#define UART_MSR_CTS 0x10
#define UART_MSR_DSR 0x20
#define UART_MSR_RI 0x40
#define UART_MSR_DCD 0x80

#define UART_FIFO_SIZE 16

struct uart16550 {
    struct chardev *chr;  /* output sink and input source */

    /* Interrupt line (INTR gated by OUT2): called with the new level when
     * it changes. NULL: not wired. */
    void (*irq_raise)(void *opaque, bool level);
    void *irq_opaque;
    bool irq_level;

    uint8_t ier, lcr, mcr, lsr, msr, scr, fcr;
    uint16_t divisor;
    uint8_t rbr;           /* last byte read, returned again on empty reads */
    bool thr_ipending;     /* "THR empty" interrupt not yet acknowledged */

    /* Receive FIFO (depth 1 when FIFOs are disabled). */
    uint8_t rx[UART_FIFO_SIZE];
    unsigned rx_head, rx_count;
};

/* Reset state as QEMU leaves it: THR empty, divisor 12 (9600 baud),
 * MCR = OUT2, modem lines DCD/DSR/CTS up, FIFOs off. */
void uart16550_init(struct uart16550 *u, struct chardev *chr);

uint8_t uart16550_read(struct uart16550 *u, unsigned reg);
void uart16550_write(struct uart16550 *u, unsigned reg, uint8_t val);

/* Take what the host end has queued into the receiver (as far as it has
 * room) and update the interrupt line. */
void uart16550_poll_input(struct uart16550 *u);

/* The machine's COM1 (0x3f8-0x3ff, IRQ 4), attached to vm->serial; the
 * serial reader thread's input raises the receive interrupt. */
extern const struct device_ops com1_device;

#endif
