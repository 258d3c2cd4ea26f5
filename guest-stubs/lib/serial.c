/* COM1 (a 16550 UART at 0x3f8), polled: the console of every guest. */
#include "guest.h"

#define COM1 0x3f8
#define UART_DATA 0 /* THR on write, RBR on read; DLL when DLAB=1 */
#define UART_IER 1  /* DLM when DLAB=1 */
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5

#define LCR_8N1 0x03
#define LCR_DLAB 0x80
#define FCR_ENABLE_AND_CLEAR 0x07
#define MCR_DTR_RTS 0x03
#define LSR_DATA_READY 0x01
#define LSR_THR_EMPTY 0x20

/* What a BIOS leaves behind: 115200 baud (divisor 1), 8N1, FIFOs on,
 * interrupts off (we poll). */
void serial_init(void)
{
    outb(COM1 + UART_IER, 0);
    outb(COM1 + UART_LCR, LCR_DLAB);
    outb(COM1 + UART_DATA, 1); /* divisor low: 115200 / 1 */
    outb(COM1 + UART_IER, 0);  /* divisor high */
    outb(COM1 + UART_LCR, LCR_8N1);
    outb(COM1 + UART_FCR, FCR_ENABLE_AND_CLEAR);
    outb(COM1 + UART_MCR, MCR_DTR_RTS);
}

void serial_putc(char c)
{
    while (!(inb(COM1 + UART_LSR) & LSR_THR_EMPTY))
        ;
    outb(COM1 + UART_DATA, (uint8_t)c);
}

int serial_try_getc(void)
{
    if (!(inb(COM1 + UART_LSR) & LSR_DATA_READY))
        return -1;
    return inb(COM1 + UART_DATA);
}

int serial_getc(void)
{
    int c;
    while ((c = serial_try_getc()) < 0)
        ;
    return c;
}
