/* 8254 PIT: three counters clocked at 1.193182 MHz of host time, IRQ 0
 * from channel 0, and system control port B (0x61) with channel 2's gate
 * and OUT. Nothing counts in the background: a count or OUT is computed
 * from the host clock when the guest looks, and channel 0 arms a host
 * timer for its next rising OUT edge only. */
#include "vmm/dev/pit8254.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/dev/pic8259.h"
#include "vmm/ioport.h"
#include "vmm/timer.h"
#include "vmm/vm.h"

#define PIT_BASE 0x40
#define PIT_PORTS 4
#define PORT61 0x61
#define PIT_IRQ 0
#define NS_PER_S 1000000000u
#define NEVER UINT64_MAX
/* DRAM refresh request toggles port 0x61 bit 4 every 15.085 us. */
#define REFRESH_NS 15085u

#define P61_GATE2 0x01
#define P61_SPEAKER 0x02
#define P61_CHECKS 0x0c /* parity and channel check enables: stored only */
#define P61_REFRESH 0x10
#define P61_OUT2 0x20

/* ---- time ---- */

static uint64_t ns_to_ticks(uint64_t ns)
{
    return (uint64_t)((unsigned __int128)ns * PIT_HZ / NS_PER_S);
}

/* The first nanosecond at which tick has begun. */
static uint64_t ticks_to_ns(uint64_t ticks)
{
    return (uint64_t)(((unsigned __int128)ticks * NS_PER_S + PIT_HZ - 1) /
                      PIT_HZ);
}

static uint32_t modulus(const struct pit_channel *c)
{
    return c->bcd ? 10000u : 0x10000u;
}

/* Is the counter decrementing (count loaded, gate allows, triggered)? */
static bool counting(const struct pit_channel *c)
{
    return c->armed && !c->paused;
}

/* Clock ticks since counting began. */
static uint64_t elapsed(const struct pit_channel *c, uint64_t now)
{
    if (!c->armed)
        return 0;
    if (c->paused)
        return c->paused_ticks;
    return now > c->start_ns ? ns_to_ticks(now - c->start_ns) : 0;
}

/* Modes 2 and 3 with the gate low hold OUT high and stop. */
static bool stopped_by_gate(const struct pit_channel *c)
{
    return !c->gate && (c->mode == 2 || c->mode == 3);
}

static uint32_t counter_value(const struct pit_channel *c, uint64_t now)
{
    uint64_t d = elapsed(c, now);
    uint32_t n = c->count, m = modulus(c);

    if (!c->armed)
        return n % m;
    switch (c->mode) {
    case 2:
        return (uint32_t)(n - d % n) % m;
    case 3:
        return (uint32_t)(n - (2 * d) % n) % m;
    default: /* 0, 1, 4, 5: one pass, then the counter wraps on */
        return (uint32_t)((n + (uint64_t)m * (d / m + 1) - d) % m);
    }
}

static bool out_level(const struct pit_channel *c, uint64_t now)
{
    uint64_t d = elapsed(c, now);
    uint32_t n = c->count;

    if (!c->armed)
        return c->mode != 0; /* mode 0 drops OUT at the control word */
    switch (c->mode) {
    case 0:
        return d >= n;
    case 1:
        return d >= n;
    case 2:
        return stopped_by_gate(c) || d % n != n - 1u;
    case 3:
        return stopped_by_gate(c) || d % n < (n + 1u) / 2;
    default: /* 4, 5: one tick low at terminal count */
        return d != n;
    }
}

/* The next tick after d at which OUT rises, NEVER if none is coming. */
static uint64_t next_rising_edge(const struct pit_channel *c, uint64_t d)
{
    uint32_t n = c->count;

    if (!counting(c) || stopped_by_gate(c))
        return NEVER;
    switch (c->mode) {
    case 0:
    case 1:
        return d < n ? n : NEVER;
    case 2:
    case 3:
        return (d / n + 1) * n;
    default:
        return d < n + 1u ? n + 1u : NEVER;
    }
}

static uint16_t to_bcd(uint32_t v)
{
    return (uint16_t)((v / 1000 % 10) << 12 | (v / 100 % 10) << 8 |
                      (v / 10 % 10) << 4 | v % 10);
}

static uint32_t from_bcd(uint32_t v)
{
    return (v >> 12 & 0xf) * 1000 + (v >> 8 & 0xf) * 100 +
           (v >> 4 & 0xf) * 10 + (v & 0xf);
}

uint16_t pit_read_count(struct pit8254 *pit, unsigned ch, uint64_t now)
{
    const struct pit_channel *c = &pit->ch[ch];
    uint32_t v = counter_value(c, now);

    return c->bcd ? to_bcd(v) : (uint16_t)v;
}

bool pit_out(struct pit8254 *pit, unsigned ch, uint64_t now)
{
    return out_level(&pit->ch[ch], now);
}

/* ---- channel 0 on IRQ 0 ---- */

static uint64_t pit_now(struct pit8254 *pit)
{
    return timers_now(&pit->vm->timers);
}

/* Arm the host timer for channel 0's next rising edge after now. */
static void schedule_irq(struct pit8254 *pit, uint64_t now)
{
    struct pit_channel *c = &pit->ch[0];
    uint64_t edge = next_rising_edge(c, elapsed(c, now));

    pit->irq_due_tick = edge;
    timer_arm(&pit->vm->timers, pit->timer,
              edge == NEVER ? TIMER_NEVER : c->start_ns + ticks_to_ns(edge));
}

static void pit_irq_fire(void *opaque, uint64_t now)
{
    struct pit8254 *pit = opaque;
    struct pit_channel *c = &pit->ch[0];

    if (pit->irq_due_tick != NEVER && elapsed(c, now) >= pit->irq_due_tick) {
        /* One edge however late we are: ticks the host missed are lost,
         * as on a real PIC, and the guest's clocksource catches up. */
        if (pit->vm->pic) {
            pic_set_irq(pit->vm->pic, PIT_IRQ, false);
            pic_set_irq(pit->vm->pic, PIT_IRQ, true);
        }
    }
    schedule_irq(pit, now);
}

/* Channel 0's state changed: OUT onto IRQ 0, and a new next edge. */
static void channel0_changed(struct pit8254 *pit, uint64_t now)
{
    if (pit->vm->pic)
        pic_set_irq(pit->vm->pic, PIT_IRQ, out_level(&pit->ch[0], now));
    schedule_irq(pit, now);
}

static void channel_changed(struct pit8254 *pit, unsigned ch, uint64_t now)
{
    if (ch == 0)
        channel0_changed(pit, now);
}

/* ---- programming ---- */

static void start_counting(struct pit_channel *c, uint64_t now)
{
    c->start_ns = now;
    c->paused = false;
    c->paused_ticks = 0;
}

/* A complete count arrived: load it (modes 1 and 5 wait for a gate
 * edge; 0 and 4 wait for the gate to be high). */
static void load_count(struct pit_channel *c, uint32_t raw, uint64_t now)
{
    uint32_t v = c->bcd ? from_bcd(raw) : raw;

    c->count = v ? v : modulus(c);
    c->null_count = false;
    if (c->mode == 1 || c->mode == 5) {
        c->armed = false; /* until the trigger */
        return;
    }
    c->armed = true;
    start_counting(c, now);
    if (!c->gate) {
        c->paused = true; /* counts once the gate rises */
        c->paused_ticks = 0;
    }
}

static void set_gate(struct pit_channel *c, bool gate, uint64_t now)
{
    bool rising = gate && !c->gate;

    if (gate == c->gate)
        return;
    switch (c->mode) {
    case 0:
    case 4:
        /* Low: hold the count; high: go on from where it stopped. */
        if (!c->armed)
            break;
        if (!gate) {
            c->paused_ticks = elapsed(c, now);
            c->paused = true;
        } else {
            c->start_ns = now - ticks_to_ns(c->paused_ticks);
            c->paused = false;
        }
        break;
    case 1:
    case 5:
        if (rising && c->count) {
            c->armed = true;
            start_counting(c, now);
        }
        break;
    default: /* 2, 3: low stops; the rising edge reloads */
        if (c->armed) {
            if (rising)
                start_counting(c, now);
            else {
                c->paused = true;
                c->paused_ticks = 0;
            }
        }
        break;
    }
    c->gate = gate;
}

static uint8_t status_byte(const struct pit_channel *c, uint64_t now)
{
    return (uint8_t)(out_level(c, now) << 7 | c->null_count << 6 | c->rw << 4 |
                     c->mode << 1 | c->bcd);
}

static void latch_count(struct pit8254 *pit, unsigned ch, uint64_t now)
{
    struct pit_channel *c = &pit->ch[ch];

    if (c->count_latched)
        return; /* the first latch holds until it is read */
    c->latched_count = pit_read_count(pit, ch, now);
    c->count_latched = true;
    c->latched_bytes = c->rw == 3 ? 2 : 1;
}

static void control_word(struct pit8254 *pit, uint8_t val, uint64_t now)
{
    unsigned sc = val >> 6, rw = (val >> 4) & 3;

    if (sc == 3) { /* read-back: bits 5/4 low latch count/status */
        for (unsigned ch = 0; ch < 3; ch++) {
            struct pit_channel *c = &pit->ch[ch];
            if (!(val & (2u << ch)))
                continue;
            if (!(val & 0x20))
                latch_count(pit, ch, now);
            if (!(val & 0x10) && !c->status_latched) {
                c->latched_status = status_byte(c, now);
                c->status_latched = true;
            }
        }
        return;
    }
    if (rw == 0) {
        latch_count(pit, sc, now);
        return;
    }
    struct pit_channel *c = &pit->ch[sc];
    unsigned mode = (val >> 1) & 7;
    c->mode = (uint8_t)(mode > 5 ? mode - 4 : mode); /* 6, 7 are 2, 3 */
    c->rw = (uint8_t)rw;
    c->bcd = val & 1;
    c->armed = false;
    c->paused = false;
    c->null_count = true;
    c->read_msb_next = c->write_msb_next = false;
    c->count_latched = c->status_latched = false;
    channel_changed(pit, sc, now);
}

static void write_count(struct pit8254 *pit, unsigned ch, uint8_t val,
                        uint64_t now)
{
    struct pit_channel *c = &pit->ch[ch];

    switch (c->rw) {
    case 1:
        load_count(c, val, now);
        break;
    case 2:
        load_count(c, (uint32_t)val << 8, now);
        break;
    case 3:
        if (!c->write_msb_next) {
            c->write_lsb = val;
            c->write_msb_next = true;
            return;
        }
        c->write_msb_next = false;
        load_count(c, c->write_lsb | (uint32_t)val << 8, now);
        break;
    default:
        return; /* no access mode programmed yet */
    }
    channel_changed(pit, ch, now);
}

static uint8_t read_counter(struct pit8254 *pit, unsigned ch, uint64_t now)
{
    struct pit_channel *c = &pit->ch[ch];

    if (c->status_latched) {
        c->status_latched = false;
        return c->latched_status;
    }
    if (c->count_latched) {
        uint8_t v;
        if (c->rw == 2)
            v = (uint8_t)(c->latched_count >> 8);
        else if (c->rw == 3 && c->latched_bytes == 1)
            v = (uint8_t)(c->latched_count >> 8);
        else
            v = (uint8_t)c->latched_count;
        if (--c->latched_bytes == 0 || c->rw != 3)
            c->count_latched = false;
        return v;
    }
    uint16_t count = pit_read_count(pit, ch, now);
    switch (c->rw) {
    case 2:
        return (uint8_t)(count >> 8);
    case 3:
        c->read_msb_next = !c->read_msb_next;
        return (uint8_t)(c->read_msb_next ? count : count >> 8);
    default:
        return (uint8_t)count;
    }
}

/* ---- ports ---- */

static uint32_t pit_io_read(void *opaque, uint16_t offset, unsigned size)
{
    struct pit8254 *pit = opaque;

    (void)size;
    if (offset == 3)
        return 0xff; /* the control word register is write-only */
    return read_counter(pit, offset, pit_now(pit));
}

static void pit_io_write(void *opaque, uint16_t offset, unsigned size,
                         uint32_t val)
{
    struct pit8254 *pit = opaque;
    uint64_t now = pit_now(pit);

    (void)size;
    if (offset == 3)
        control_word(pit, (uint8_t)val, now);
    else
        write_count(pit, offset, (uint8_t)val, now);
}

static uint32_t port61_io_read(void *opaque, uint16_t offset, unsigned size)
{
    struct pit8254 *pit = opaque;
    uint64_t now = pit_now(pit);

    (void)offset, (void)size;
    return (pit->ch[2].gate ? P61_GATE2 : 0) |
           (pit->speaker_data ? P61_SPEAKER : 0) | pit->port61_rw |
           ((now / REFRESH_NS) & 1 ? P61_REFRESH : 0) |
           (out_level(&pit->ch[2], now) ? P61_OUT2 : 0);
}

static void port61_io_write(void *opaque, uint16_t offset, unsigned size,
                            uint32_t val)
{
    struct pit8254 *pit = opaque;

    (void)offset, (void)size;
    set_gate(&pit->ch[2], val & P61_GATE2, pit_now(pit));
    pit->speaker_data = val & P61_SPEAKER; /* no sound: just remembered */
    pit->port61_rw = val & P61_CHECKS;
}

/* QEMU's reset state of the counters (mode 3, count 65536, channel 2's
 * gate low), then channel 0 as SeaBIOS programs it: mode 2, LSB/MSB,
 * count 65536. */
static void pit_firmware_state(struct pit8254 *pit, uint64_t now)
{
    memset(pit->ch, 0, sizeof(pit->ch));
    for (unsigned i = 0; i < 3; i++) {
        struct pit_channel *c = &pit->ch[i];
        c->mode = 3;
        c->gate = i != 2;
        load_count(c, 0, now);
    }
    pit->ch[0].mode = 2;
    pit->ch[0].rw = 3;
}

static void *pit_create(struct vm *vm, char *err, size_t errlen)
{
    struct pit8254 *pit = calloc(1, sizeof(*pit));

    if (!pit) {
        snprintf(err, errlen, "pit: out of memory");
        return NULL;
    }
    pit->vm = vm;
    pit->timer = timer_add(&vm->timers, "pit", pit_irq_fire, pit);
    if (pit->timer < 0) {
        snprintf(err, errlen, "pit: cannot add a timer");
        free(pit);
        return NULL;
    }
    const struct port_claim ports[] = {
        { PIT_BASE, PIT_PORTS, IOPORT_BYTE_ONLY, "pit", pit, pit_io_read,
          pit_io_write },
        { PORT61, 1, IOPORT_BYTE_ONLY, "port61", pit, port61_io_read,
          port61_io_write },
    };
    if (device_claim_ports(vm, "pit", ports, sizeof(ports) / sizeof(ports[0]),
                           err, errlen) < 0) {
        free(pit);
        return NULL;
    }
    uint64_t now = pit_now(pit);
    pit_firmware_state(pit, now);
    schedule_irq(pit, now); /* IRQ 0 starts low: the first edge latches */
    return pit;
}

static void pit_destroy(void *dev)
{
    free(dev);
}

const struct device_ops pit_device = {
    .name = "pit",
    .create = pit_create,
    .destroy = pit_destroy,
};
