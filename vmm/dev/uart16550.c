/* 16550A UART: the register model and its place on COM1. */
#include "vmm/dev/uart16550.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/chardev.h"
#include "vmm/dev/pic8259.h"
#include "vmm/ioport.h"
#include "vmm/timer.h"
#include "vmm/vm.h"

#define COM1_BASE 0x3f8
#define COM1_PORTS 8
#define COM1_IRQ 4

void uart16550_init(struct uart16550 *u, struct chardev *chr)
{
    memset(u, 0, sizeof(*u));
    u->chr = chr;
    u->divisor = 12;
    u->mcr = UART_MCR_OUT2;
    u->lsr = UART_LSR_THRE | UART_LSR_TEMT;
    u->msr = UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
}

static bool fifo_enabled(const struct uart16550 *u)
{
    return u->fcr & UART_FCR_ENABLE;
}

static bool loopback(const struct uart16550 *u)
{
    return u->mcr & UART_MCR_LOOP;
}

static unsigned rx_capacity(const struct uart16550 *u)
{
    return fifo_enabled(u) ? UART_FIFO_SIZE : 1;
}

static void rx_clear(struct uart16550 *u)
{
    u->rx_head = u->rx_count = 0;
    u->lsr &= ~UART_LSR_DR;
}

/* A byte arrives at the receiver (from the host or looped back). */
static void rx_push(struct uart16550 *u, uint8_t byte)
{
    if (u->rx_count == rx_capacity(u)) {
        u->lsr |= UART_LSR_OE;
        if (fifo_enabled(u))
            return; /* the FIFO keeps its bytes; the new one is lost */
        u->rx_count = 0; /* without FIFO the holding register is overwritten */
    }
    u->rx[(u->rx_head + u->rx_count) % UART_FIFO_SIZE] = byte;
    u->rx_count++;
    u->lsr |= UART_LSR_DR;
}

/* Move host input into the receiver while it has room: when the guest
 * looks at the UART, and when the host end says input arrived. */
static void rx_poll_host(struct uart16550 *u)
{
    uint8_t byte;

    if (loopback(u) || !u->chr)
        return;
    while (u->rx_count < rx_capacity(u) && chardev_getc(u->chr, &byte))
        rx_push(u, byte);
}

static uint8_t compute_iir(const struct uart16550 *u)
{
    if ((u->ier & UART_IER_RLSI) && (u->lsr & UART_LSR_ERRORS))
        return UART_IIR_RLSI;
    if ((u->ier & UART_IER_RDI) && (u->lsr & UART_LSR_DR))
        return UART_IIR_RDI;
    if ((u->ier & UART_IER_THRI) && u->thr_ipending)
        return UART_IIR_THRI;
    if ((u->ier & UART_IER_MSI) && (u->msr & UART_MSR_DELTAS))
        return UART_IIR_MSI;
    return UART_IIR_NO_INT;
}

/* On a PC the INTR pin reaches the PIC through a buffer enabled by the
 * OUT2 pin; in loopback the modem pins are forced inactive, so no IRQ. */
static bool irq_gate_open(const struct uart16550 *u)
{
    return (u->mcr & UART_MCR_OUT2) && !loopback(u);
}

static void update_irq(struct uart16550 *u)
{
    bool level = !(compute_iir(u) & UART_IIR_NO_INT) && irq_gate_open(u);

    if (level != u->irq_level) {
        u->irq_level = level;
        if (u->irq_raise)
            u->irq_raise(u->irq_opaque, level);
    }
}

/* In loopback the modem outputs drive the inputs: DTR->DSR, RTS->CTS,
 * OUT1->RI, OUT2->DCD. */
static uint8_t loopback_msr(const struct uart16550 *u)
{
    return (uint8_t)(((u->mcr & (UART_MCR_OUT1 | UART_MCR_OUT2)) << 4) |
                     ((u->mcr & UART_MCR_RTS) << 3) |
                     ((u->mcr & UART_MCR_DTR) << 5));
}

static void transmit(struct uart16550 *u, uint8_t byte)
{
    if (loopback(u))
        rx_push(u, byte);
    else if (u->chr)
        chardev_putc(u->chr, byte);
    /* The byte leaves at once: the holding register is empty again. */
    u->lsr |= UART_LSR_THRE | UART_LSR_TEMT;
    u->thr_ipending = true;
}

uint8_t uart16550_read(struct uart16550 *u, unsigned reg)
{
    uint8_t val = 0xff;

    switch (reg & 7) {
    case UART_RBR_THR_DLL:
        if (u->lcr & UART_LCR_DLAB)
            return (uint8_t)u->divisor;
        rx_poll_host(u);
        if (u->rx_count) {
            u->rbr = u->rx[u->rx_head];
            u->rx_head = (u->rx_head + 1) % UART_FIFO_SIZE;
            u->rx_count--;
        }
        rx_poll_host(u);
        if (!u->rx_count)
            u->lsr &= ~UART_LSR_DR;
        val = u->rbr;
        break;
    case UART_IER_DLM:
        if (u->lcr & UART_LCR_DLAB)
            return (uint8_t)(u->divisor >> 8);
        val = u->ier;
        break;
    case UART_IIR_FCR:
        rx_poll_host(u);
        val = compute_iir(u);
        if (val == UART_IIR_THRI)
            u->thr_ipending = false; /* reading IIR acknowledges THRE */
        if (fifo_enabled(u))
            val |= UART_IIR_FIFO_ENABLED;
        break;
    case UART_LCR:
        val = u->lcr;
        break;
    case UART_MCR:
        val = u->mcr;
        break;
    case UART_LSR:
        rx_poll_host(u);
        val = u->lsr;
        u->lsr &= ~UART_LSR_ERRORS; /* error bits clear on read */
        break;
    case UART_MSR:
        if (loopback(u))
            return loopback_msr(u);
        val = u->msr;
        u->msr &= ~UART_MSR_DELTAS;
        break;
    case UART_SCR:
        val = u->scr;
        break;
    }
    update_irq(u);
    return val;
}

void uart16550_poll_input(struct uart16550 *u)
{
    rx_poll_host(u);
    update_irq(u);
}

void uart16550_write(struct uart16550 *u, unsigned reg, uint8_t val)
{
    switch (reg & 7) {
    case UART_RBR_THR_DLL:
        if (u->lcr & UART_LCR_DLAB) {
            u->divisor = (uint16_t)((u->divisor & 0xff00) | val);
            return;
        }
        u->thr_ipending = false;
        transmit(u, val);
        break;
    case UART_IER_DLM: {
        if (u->lcr & UART_LCR_DLAB) {
            u->divisor = (uint16_t)((u->divisor & 0x00ff) | (val << 8));
            return;
        }
        uint8_t enabled = (uint8_t)(val & 0x0f & ~u->ier);
        u->ier = val & 0x0f;
        /* Input that came before the notifier was set must interrupt too. */
        if (enabled & UART_IER_RDI)
            rx_poll_host(u);
        /* Enabling THRI while THR is empty raises it again. */
        if ((enabled & UART_IER_THRI) && (u->lsr & UART_LSR_THRE))
            u->thr_ipending = true;
        break;
    }
    case UART_IIR_FCR:
        /* Switching the FIFOs on or off empties them. */
        if ((val ^ u->fcr) & UART_FCR_ENABLE)
            rx_clear(u);
        if (val & UART_FCR_CLEAR_RX)
            rx_clear(u);
        /* TX is never queued: CLEAR_TX has nothing to drop. */
        u->fcr = val & 0xc9; /* enable, DMA mode, trigger level */
        break;
    case UART_LCR:
        u->lcr = val;
        break;
    case UART_MCR:
        u->mcr = val & 0x1f;
        break;
    case UART_LSR:
    case UART_MSR:
        break; /* read-only (factory test registers) */
    case UART_SCR:
        u->scr = val;
        break;
    }
    update_irq(u);
}

/* ---- COM1 on the machine ---- */

struct com1 {
    struct uart16550 uart;
    struct vm *vm;
    int rx_timer; /* posted by the serial reader thread */
};

static uint32_t com1_io_read(void *opaque, uint16_t offset, unsigned size)
{
    struct com1 *c = opaque;

    (void)size; /* byte-only range: always 1 */
    return uart16550_read(&c->uart, offset);
}

static void com1_io_write(void *opaque, uint16_t offset, unsigned size,
                          uint32_t val)
{
    struct com1 *c = opaque;

    (void)size;
    uart16550_write(&c->uart, offset, (uint8_t)val);
}

static void com1_irq(void *opaque, bool level)
{
    struct com1 *c = opaque;

    if (c->vm->pic)
        pic_set_irq(c->vm->pic, COM1_IRQ, level);
}

/* CPU thread, after the reader thread posted: take the new bytes (and
 * raise the receive interrupt if enabled). */
static void com1_rx_timer(void *opaque, uint64_t now)
{
    struct com1 *c = opaque;

    (void)now;
    uart16550_poll_input(&c->uart);
}

/* Reader thread: input arrived (or ended). */
static void com1_input_notify(void *opaque)
{
    struct com1 *c = opaque;

    timer_post(&c->vm->timers, c->rx_timer);
}

static void *com1_create(struct vm *vm, char *err, size_t errlen)
{
    struct com1 *c = malloc(sizeof(*c));

    if (!c) {
        snprintf(err, errlen, "com1: out of memory");
        return NULL;
    }
    uart16550_init(&c->uart, &vm->serial);
    c->vm = vm;
    c->uart.irq_raise = com1_irq;
    c->uart.irq_opaque = c;
    c->rx_timer = timer_add(&vm->timers, "com1-rx", com1_rx_timer, c);
    if (c->rx_timer < 0) {
        snprintf(err, errlen, "com1: cannot add a timer");
        free(c);
        return NULL;
    }
    const struct port_claim ports[] = {
        { COM1_BASE, COM1_PORTS, IOPORT_BYTE_ONLY, "com1", c, com1_io_read,
          com1_io_write },
    };
    if (device_claim_ports(vm, "com1", ports, sizeof(ports) / sizeof(ports[0]),
                           err, errlen) < 0) {
        free(c);
        return NULL;
    }
    chardev_set_input_notify(&vm->serial, com1_input_notify, c);
    return c;
}

static void com1_flush(void *dev)
{
    struct com1 *c = dev;

    if (c->uart.chr)
        chardev_flush(c->uart.chr);
}

static void com1_destroy(void *dev)
{
    struct com1 *c = dev;

    chardev_set_input_notify(&c->vm->serial, NULL, NULL);
    free(c);
}

const struct device_ops com1_device = {
    .name = "com1",
    .create = com1_create,
    .flush = com1_flush,
    .destroy = com1_destroy,
};
