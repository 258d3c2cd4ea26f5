/* systest: device checks: the CMOS RTC (time, status, periodic IRQ8,
 * RAM), the i8042 and port 0x92, the 16550's scratch register and
 * loopback, PCI configuration mechanism 1 and an unassigned port. */
#include "systest.h"

#define RTC_SEC 0x00
#define RTC_MIN 0x02
#define RTC_HOUR 0x04
#define RTC_WDAY 0x06
#define RTC_MDAY 0x07
#define RTC_MONTH 0x08
#define RTC_YEAR 0x09
#define RTC_A 0x0a
#define RTC_B 0x0b
#define RTC_C 0x0c
#define RTC_D 0x0d
#define RTC_CENTURY 0x32
#define RTC_A_UIP 0x80
#define RTC_B_SET 0x80
#define RTC_B_PIE 0x40
#define RTC_B_BINARY 0x04
#define RTC_B_24H 0x02
#define RTC_C_IRQF 0x80
#define RTC_D_VRT 0x80
#define CMOS_SPARE 0x3f /* a byte of CMOS RAM no time register uses */

#define I8042_DATA 0x60
#define I8042_STATUS 0x64
#define I8042_OBF 0x01
#define I8042_SYS 0x04
#define I8042_READ_CONFIG 0x20
#define PORT_92 0x92
#define PORT_92_A20 0x02

#define COM1 0x3f8
#define UART_DATA 0
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCRATCH 7
#define MCR_LOOP 0x10
#define LSR_DR 0x01
#define LSR_THRE 0x20

#define PCI_ADDR 0xcf8
#define PCI_DATA 0xcfc
#define PCI_ENABLE 0x80000000u

#define UNUSED_PORT 0x1e0
#define MAX_POLLS 20000000u

static bool bcd_in(uint8_t v, unsigned lo, unsigned hi)
{
    if ((v & 0xf) > 9 || (v >> 4) > 9)
        return false;
    unsigned n = (v >> 4) * 10 + (v & 0xf);
    return n >= lo && n <= hi;
}

struct rtc_time {
    uint8_t sec, min, hour, wday, mday, month, year, century;
};

static bool rtc_wait_not_updating(void)
{
    for (unsigned i = 0; i < MAX_POLLS; i++)
        if (!(cmos_read(RTC_A) & RTC_A_UIP))
            return true;
    return false;
}

static void rtc_read_time(struct rtc_time *t)
{
    t->sec = cmos_read(RTC_SEC);
    t->min = cmos_read(RTC_MIN);
    t->hour = cmos_read(RTC_HOUR);
    t->wday = cmos_read(RTC_WDAY);
    t->mday = cmos_read(RTC_MDAY);
    t->month = cmos_read(RTC_MONTH);
    t->year = cmos_read(RTC_YEAR);
    t->century = cmos_read(RTC_CENTURY);
}

void check_rtc_time_bcd(struct result *r)
{
    struct rtc_time a, b;
    uint8_t reg_b = cmos_read(RTC_B);

    if (reg_b & RTC_B_BINARY) {
        fail(r, "register B 0x%x says binary, want BCD", reg_b);
        return;
    }
    /* UIP clear, then the same time twice: not in the middle of an update. */
    for (int tries = 0;; tries++) {
        if (tries == 5 || !rtc_wait_not_updating()) {
            fail(r, "no stable time read after %d tries", tries);
            return;
        }
        rtc_read_time(&a);
        rtc_read_time(&b);
        if (!memcmp(&a, &b, sizeof(a)))
            break;
    }
    bool hour_ok = reg_b & RTC_B_24H ? bcd_in(a.hour, 0, 23)
                                     : bcd_in(a.hour & 0x7f, 1, 12);
    if (!bcd_in(a.sec, 0, 59) || !bcd_in(a.min, 0, 59) || !hour_ok ||
        !bcd_in(a.wday, 1, 7) || !bcd_in(a.mday, 1, 31) ||
        !bcd_in(a.month, 1, 12) || !bcd_in(a.year, 0, 99) ||
        !bcd_in(a.century, 19, 21))
        fail(r, "not valid BCD: %02x%02x-%02x-%02x (wday %x) %02x:%02x:%02x",
             a.century, a.year, a.month, a.mday, a.wday, a.hour, a.min, a.sec);
}

void check_rtc_status(struct result *r)
{
    uint8_t a = cmos_read(RTC_A), b = cmos_read(RTC_B);
    uint8_t c = cmos_read(RTC_C), d = cmos_read(RTC_D);

    if (!expect_eq(r, "register A divider (32.768 kHz)", a & 0x70, 0x20) ||
        !expect_eq(r, "register B SET and PIE", b & (RTC_B_SET | RTC_B_PIE), 0) ||
        !expect_eq(r, "register C IRQF with no interrupt enabled", c & RTC_C_IRQF,
                   0))
        return;
    expect_eq(r, "register D", d, RTC_D_VRT);
}

void check_rtc_periodic(struct result *r)
{
    unsigned start = irq_count[8];

    /* Register A's rate as the firmware left it (QEMU: 1024 Hz). */
    rtc_periodic(true);
    pic_init(0xfb, 0xfe); /* IRQ2 (cascade) and IRQ8 */
    sti();
    bool came = wait_irq(8, start + 2, MAX_POLLS);
    cli();
    rtc_periodic(false);
    pic_init(0xfb, 0xfe); /* forget a request latched before PIE went off */
    unsigned after_off = irq_count[8];
    sti();
    for (volatile int i = 0; i < 100000; i++)
        ;
    cli();
    if (!came)
        fail(r, "%u IRQ8 with register B.PIE, want 3", irq_count[8] - start);
    else
        expect_eq(r, "IRQ8 after clearing PIE", irq_count[8] - after_off, 0);
}

void check_rtc_cmos_ram(struct result *r)
{
    uint8_t old = cmos_read(CMOS_SPARE);

    cmos_write(CMOS_SPARE, 0x5a);
    uint8_t first = cmos_read(CMOS_SPARE);
    cmos_write(CMOS_SPARE, 0xa5);
    uint8_t second = cmos_read(CMOS_SPARE);
    cmos_write(CMOS_SPARE, old);
    if (expect_eq(r, "CMOS byte", first, 0x5a))
        expect_eq(r, "CMOS byte", second, 0xa5);
}

void check_dev_i8042(struct result *r)
{
    uint8_t status = inb(I8042_STATUS);

    if (status == 0xff) {
        fail(r, "status port reads 0xff (no controller)");
        return;
    }
    if (!(status & I8042_SYS)) {
        fail(r, "status 0x%x: system flag clear after POST", status);
        return;
    }
    while (inb(I8042_STATUS) & I8042_OBF) /* stale keyboard bytes */
        inb(I8042_DATA);
    outb(I8042_STATUS, I8042_READ_CONFIG);
    for (unsigned i = 0; i < MAX_POLLS; i++) {
        /* Any byte: what the firmware configured is its business. */
        if (inb(I8042_STATUS) & I8042_OBF) {
            inb(I8042_DATA);
            return;
        }
    }
    fail(r, "no reply to command 0x20");
}

void check_dev_port92(struct result *r)
{
    uint8_t v = inb(PORT_92);

    if (v == 0xff)
        fail(r, "port 0x92 reads 0xff");
    else
        expect_eq(r, "port 0x92 A20 bit", v & PORT_92_A20, PORT_92_A20);
}

void check_dev_uart_scratch(struct result *r)
{
    outb(COM1 + UART_SCRATCH, 0x5a);
    uint8_t a = inb(COM1 + UART_SCRATCH);
    outb(COM1 + UART_SCRATCH, 0xa5);
    uint8_t b = inb(COM1 + UART_SCRATCH);
    if (expect_eq(r, "scratch", a, 0x5a))
        expect_eq(r, "scratch", b, 0xa5);
}

void check_dev_uart_loopback(struct result *r)
{
    /* In loopback DTR, RTS, OUT1, OUT2 come back as DSR, CTS, RI, DCD. */
    outb(COM1 + UART_MCR, MCR_LOOP | 0x0f);
    uint8_t all = inb(COM1 + UART_MSR) & 0xf0;
    outb(COM1 + UART_MCR, MCR_LOOP | 0x02);
    uint8_t rts = inb(COM1 + UART_MSR) & 0xf0;
    for (unsigned i = 0; i < 64 && (inb(COM1 + UART_LSR) & LSR_DR); i++)
        inb(COM1 + UART_DATA);
    for (unsigned i = 0; i < MAX_POLLS && !(inb(COM1 + UART_LSR) & LSR_THRE); i++)
        ;
    outb(COM1 + UART_DATA, 0xa5);
    int echo = -1;
    for (unsigned i = 0; i < MAX_POLLS; i++) {
        if (inb(COM1 + UART_LSR) & LSR_DR) {
            echo = inb(COM1 + UART_DATA);
            break;
        }
    }
    outb(COM1 + UART_MCR, 0x03);
    if (expect_eq(r, "MSR with DTR RTS OUT1 OUT2", all, 0xf0) &&
        expect_eq(r, "MSR with RTS only (CTS)", rts, 0x10))
        expect_eq(r, "byte echoed in loopback", (uint32_t)echo, 0xa5);
}

static uint32_t pci_read(unsigned bus, unsigned dev, unsigned fn, unsigned reg)
{
    outl(PCI_ADDR, PCI_ENABLE | bus << 16 | dev << 11 | fn << 8 | reg);
    uint32_t v = inl(PCI_DATA);
    outl(PCI_ADDR, 0);
    return v;
}

void check_dev_pci_host_bridge(struct result *r)
{
    uint32_t id = pci_read(0, 0, 0, 0);
    uint32_t class = pci_read(0, 0, 0, 8);

    if ((id & 0xffff) == 0xffff || (id & 0xffff) == 0 || id >> 16 == 0xffff)
        fail(r, "0:0.0 vendor/device 0x%x", id);
    else
        expect_eq(r, "0:0.0 class/subclass (host bridge)", class >> 16, 0x0600);
}

void check_dev_pci_absent(struct result *r)
{
    if (expect_eq(r, "0:31.0 vendor/device", pci_read(0, 31, 0, 0), 0xffffffff))
        expect_eq(r, "7:0.0 vendor/device", pci_read(7, 0, 0, 0), 0xffffffff);
}

void check_dev_pci_address_readback(struct result *r)
{
    const uint32_t addr = PCI_ENABLE | 0 << 16 | 1 << 11 | 0 << 8 | 0x10;

    outl(PCI_ADDR, addr);
    uint32_t v = inl(PCI_ADDR);
    outl(PCI_ADDR, 0);
    expect_eq(r, "0xcf8 read back", v, addr);
}

void check_dev_unassigned_port(struct result *r)
{
    if (expect_eq(r, "IN byte from 0x1e0", inb(UNUSED_PORT), 0xff))
        expect_eq(r, "IN word from 0x1e0", inw(UNUSED_PORT), 0xffff);
}
