/* The 8254 programmable interval timer (channel 0 on IRQ 0, channel 2
 * behind port 0x61) on host time. */
#ifndef TPVM_VMM_DEV_PIT8254_H
#define TPVM_VMM_DEV_PIT8254_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/device.h"

#define PIT_HZ 1193182u

struct vm;

struct pit_channel {
    uint8_t mode;          /* 0-5 */
    uint8_t rw;            /* 1 LSB, 2 MSB, 3 LSB then MSB */
    bool bcd;
    bool gate;
    bool armed;            /* a count was written (modes 1 and 5: and the
                              gate has triggered) */
    bool null_count;       /* count written, not yet in the counter */
    uint32_t count;        /* initial count, 1..0x10000 */
    uint64_t start_ns;     /* when counting started (tick 0) */
    uint64_t paused_ticks; /* modes 0/4 with the gate low: ticks done */
    bool paused;

    /* Access state: a word is LSB first, then MSB. */
    bool read_msb_next, write_msb_next;
    uint8_t write_lsb;
    /* Latch command / read-back. */
    bool count_latched, status_latched;
    uint16_t latched_count;
    uint8_t latched_bytes;   /* bytes of latched_count left to read */
    uint8_t latched_status;
};

struct pit8254 {
    struct vm *vm;
    struct pit_channel ch[3];
    int timer;               /* channel 0's next IRQ 0 edge */
    uint64_t irq_due_tick;   /* that edge, in ticks from ch[0].start_ns */
    bool speaker_data;       /* port 0x61 bit 1 */
    uint8_t port61_rw;       /* bits 2-3: parity/channel check enables */
};

/* Count and OUT of a channel at host time now (for tests and 0x61). */
uint16_t pit_read_count(struct pit8254 *pit, unsigned ch, uint64_t now);
bool pit_out(struct pit8254 *pit, unsigned ch, uint64_t now);

/* Channels at 0x40-0x43 and system control port B at 0x61; channel 0
 * as SeaBIOS leaves it (mode 2, count 65536: 18.2 Hz on IRQ 0). */
extern const struct device_ops pit_device;

#endif
