/* systest: polled helpers for the PC devices the checks drive: the 8259
 * pair, the 8254 channels 0 and 2, and the CMOS RTC. */
#include "systest.h"

#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xa0
#define PIC2_DATA 0xa1
#define ICW1_INIT_ICW4 0x11
#define ICW4_8086 0x01
#define OCW3_READ_IRR 0x0a
#define OCW3_READ_ISR 0x0b

#define PIT_CH0 0x40
#define PIT_CH2 0x42
#define PIT_MODE 0x43
#define PIT_CH0_LOHI_MODE2 0x34
#define PIT_CH2_LOHI_MODE0 0xb0
#define PORT_61 0x61
#define P61_GATE2 0x01
#define P61_SPEAKER 0x02
#define P61_OUT2 0x20

#define CMOS_INDEX 0x70
#define CMOS_DATA 0x71
#define RTC_B 0x0b
#define RTC_C 0x0c
#define RTC_B_PIE 0x40

/* ICW1-ICW4 on both chips: edge triggered, cascaded on IRQ2, vectors at
 * VEC_IRQ0 and VEC_IRQ0 + 8, 8086 mode, normal EOI. */
void pic_init(uint8_t master_mask, uint8_t slave_mask)
{
    outb(PIC1_CMD, ICW1_INIT_ICW4);
    outb(PIC2_CMD, ICW1_INIT_ICW4);
    outb(PIC1_DATA, VEC_IRQ0);
    outb(PIC2_DATA, VEC_IRQ0 + 8);
    outb(PIC1_DATA, 1 << 2); /* slave on IRQ2 */
    outb(PIC2_DATA, 2);      /* cascade identity */
    outb(PIC1_DATA, ICW4_8086);
    outb(PIC2_DATA, ICW4_8086);
    pic_set_mask(master_mask, slave_mask);
}

void pic_set_mask(uint8_t master_mask, uint8_t slave_mask)
{
    outb(PIC1_DATA, master_mask);
    outb(PIC2_DATA, slave_mask);
}

uint8_t pic_read_isr(bool slave)
{
    uint16_t cmd = slave ? PIC2_CMD : PIC1_CMD;
    outb(cmd, OCW3_READ_ISR);
    uint8_t v = inb(cmd);
    outb(cmd, OCW3_READ_IRR); /* the power-on default read */
    return v;
}

uint8_t pic_read_irr(bool slave)
{
    uint16_t cmd = slave ? PIC2_CMD : PIC1_CMD;
    outb(cmd, OCW3_READ_IRR);
    return inb(cmd);
}

void pit_start_ch0(uint16_t count)
{
    outb(PIT_MODE, PIT_CH0_LOHI_MODE2);
    outb(PIT_CH0, (uint8_t)count);
    outb(PIT_CH0, (uint8_t)(count >> 8));
}

void pit_start_ch2(uint16_t count)
{
    /* Gate low while programming, so counting starts on the rising gate
     * edge or the count write, whichever the model uses; both start now. */
    outb(PORT_61, (uint8_t)(inb(PORT_61) & ~(P61_GATE2 | P61_SPEAKER)));
    outb(PIT_MODE, PIT_CH2_LOHI_MODE0);
    outb(PIT_CH2, (uint8_t)count);
    outb(PIT_CH2, (uint8_t)(count >> 8));
    outb(PORT_61, (uint8_t)((inb(PORT_61) & ~P61_SPEAKER) | P61_GATE2));
}

bool pit_wait_ch2(unsigned max_polls)
{
    while (max_polls--)
        if (inb(PORT_61) & P61_OUT2)
            return true;
    return false;
}

uint8_t cmos_read(uint8_t reg)
{
    outb(CMOS_INDEX, reg);
    return inb(CMOS_DATA);
}

void cmos_write(uint8_t reg, uint8_t val)
{
    outb(CMOS_INDEX, reg);
    outb(CMOS_DATA, val);
}

void rtc_periodic(bool on)
{
    uint8_t b = cmos_read(RTC_B);
    cmos_write(RTC_B, (uint8_t)(on ? b | RTC_B_PIE : b & ~RTC_B_PIE));
    cmos_read(RTC_C); /* drop a pending flag */
}

bool wait_irq(unsigned line, unsigned start, unsigned max_polls)
{
    while (max_polls--) {
        if (irq_count[line] > start)
            return true;
        /* A port read: cheap everywhere, and a VM exit where that helps. */
        inb(PORT_61);
    }
    return irq_count[line] > start;
}
