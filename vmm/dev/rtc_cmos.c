/* MC146818 RTC on the host's time of day: time registers, UIP, and the
 * periodic, update-ended and alarm interrupts on IRQ 8; CMOS memory with
 * the memory sizes a PC BIOS leaves there.
 *
 * The time is never counted: it is host UTC plus the offset the guest
 * set, read when the guest looks. The flags of register C are counted
 * lazily from the host clock (what happened since they were last
 * counted); a host timer is armed only while an enabled interrupt can
 * still raise IRQ 8. */
#include "vmm/dev/rtc_cmos.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmm/dev/pic8259.h"
#include "vmm/ioport.h"
#include "vmm/timer.h"
#include "vmm/vm.h"

#define RTC_BASE 0x70
#define RTC_PORTS 2
#define RTC_IRQ 8
#define NS_PER_S 1000000000ll
#define NEVER UINT64_MAX

/* CMOS memory bytes (the IBM PC/AT layout QEMU and SeaBIOS use). */
#define CMOS_EQUIPMENT 0x14
#define CMOS_BASE_MEM_LO 0x15
#define CMOS_EXT_MEM_LO 0x17
#define CMOS_EXT_MEM2_LO 0x30
#define CMOS_MEM_ABOVE_16M_LO 0x34
#define CMOS_MEM_ABOVE_4G 0x5b
#define CMOS_EQUIPMENT_FPU 0x02

static uint64_t rtc_now(struct rtc_cmos *rtc)
{
    return timers_now(&rtc->vm->timers);
}

static uint8_t reg_a(const struct rtc_cmos *rtc)
{
    return rtc->cmos[RTC_REG_A];
}

static uint8_t reg_b(const struct rtc_cmos *rtc)
{
    return rtc->cmos[RTC_REG_B];
}

static bool divider_runs(const struct rtc_cmos *rtc)
{
    return (reg_a(rtc) & RTC_A_DIV_MASK) == RTC_A_DIV_32K;
}

/* The time advances (else the registers hold a frozen time). */
static bool clock_runs(const struct rtc_cmos *rtc)
{
    return divider_runs(rtc) && !(reg_b(rtc) & RTC_B_SET);
}

int64_t rtc_time_ns(struct rtc_cmos *rtc, uint64_t now)
{
    return (int64_t)now + rtc->vm->timers.wall_offset_ns + rtc->delta_ns;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b < 0);
}

/* ---- register formats ---- */

static uint8_t encode(const struct rtc_cmos *rtc, unsigned v)
{
    if (reg_b(rtc) & RTC_B_BINARY)
        return (uint8_t)v;
    return (uint8_t)((v / 10) << 4 | v % 10);
}

static unsigned decode(const struct rtc_cmos *rtc, uint8_t v)
{
    if (reg_b(rtc) & RTC_B_BINARY)
        return v;
    return (v >> 4) * 10u + (v & 0xf);
}

static uint8_t encode_hour(const struct rtc_cmos *rtc, unsigned h)
{
    if (reg_b(rtc) & RTC_B_24H)
        return encode(rtc, h);
    unsigned h12 = h % 12 ? h % 12 : 12;
    return (uint8_t)(encode(rtc, h12) | (h >= 12 ? 0x80 : 0));
}

static unsigned decode_hour(const struct rtc_cmos *rtc, uint8_t v)
{
    if (reg_b(rtc) & RTC_B_24H)
        return decode(rtc, v);
    return decode(rtc, v & 0x7f) % 12 + (v & 0x80 ? 12 : 0);
}

static bool is_time_register(unsigned reg)
{
    return reg == RTC_SEC || reg == RTC_MIN || reg == RTC_HOUR ||
           (reg >= RTC_WDAY && reg <= RTC_YEAR) || reg == RTC_CENTURY;
}

/* The time registers for second s (UTC), in the current format. */
static void time_to_regs(const struct rtc_cmos *rtc, int64_t s, uint8_t out[128])
{
    time_t t = (time_t)s;
    struct tm tm;

    gmtime_r(&t, &tm);
    unsigned year = (unsigned)tm.tm_year + 1900;
    out[RTC_SEC] = encode(rtc, (unsigned)tm.tm_sec);
    out[RTC_MIN] = encode(rtc, (unsigned)tm.tm_min);
    out[RTC_HOUR] = encode_hour(rtc, (unsigned)tm.tm_hour);
    out[RTC_WDAY] = encode(rtc, (unsigned)tm.tm_wday + 1);
    out[RTC_MDAY] = encode(rtc, (unsigned)tm.tm_mday);
    out[RTC_MONTH] = encode(rtc, (unsigned)tm.tm_mon + 1);
    out[RTC_YEAR] = encode(rtc, year % 100);
    out[RTC_CENTURY] = encode(rtc, year / 100);
}

static int64_t regs_to_time(const struct rtc_cmos *rtc)
{
    const uint8_t *c = rtc->cmos;
    struct tm tm = {
        .tm_sec = (int)decode(rtc, c[RTC_SEC]),
        .tm_min = (int)decode(rtc, c[RTC_MIN]),
        .tm_hour = (int)decode_hour(rtc, c[RTC_HOUR]),
        .tm_mday = (int)decode(rtc, c[RTC_MDAY]),
        .tm_mon = (int)decode(rtc, c[RTC_MONTH]) - 1,
        .tm_year = (int)(decode(rtc, c[RTC_CENTURY]) * 100 +
                         decode(rtc, c[RTC_YEAR])) - 1900,
    };
    return (int64_t)timegm(&tm);
}

/* Freeze: the registers take the time of now. */
static void latch_time(struct rtc_cmos *rtc, uint64_t now)
{
    time_to_regs(rtc, floor_div(rtc_time_ns(rtc, now), NS_PER_S), rtc->cmos);
}

/* The registers become the time at now (+ frac ns into that second). */
static void set_time(struct rtc_cmos *rtc, uint64_t now, int64_t frac)
{
    int64_t t = regs_to_time(rtc) * NS_PER_S + frac;
    rtc->delta_ns = t - ((int64_t)now + rtc->vm->timers.wall_offset_ns);
    rtc->acct_ns = now; /* no update happened in between */
}

/* ---- interrupts ---- */

/* Periodic rate of register A, in 32.768 kHz ticks; 0 if off. */
static uint32_t periodic_ticks(const struct rtc_cmos *rtc)
{
    unsigned rate = reg_a(rtc) & RTC_A_RATE_MASK;

    if (!rate || !divider_runs(rtc))
        return 0;
    if (rate <= 2)
        rate += 7; /* rates 1 and 2 repeat 8 and 9 on the MC146818 */
    return 1u << (rate - 1);
}

static uint64_t tick32k(uint64_t ns)
{
    return (uint64_t)((unsigned __int128)ns * 32768 / NS_PER_S);
}

static uint64_t tick32k_to_ns(uint64_t t)
{
    return (uint64_t)(((unsigned __int128)t * NS_PER_S + 32767) / 32768);
}

static bool alarm_matches(const struct rtc_cmos *rtc, int64_t s)
{
    uint8_t now[128];
    static const unsigned pairs[3][2] = {
        { RTC_SEC_ALARM, RTC_SEC },
        { RTC_MIN_ALARM, RTC_MIN },
        { RTC_HOUR_ALARM, RTC_HOUR },
    };

    time_to_regs(rtc, s, now);
    for (unsigned i = 0; i < 3; i++) {
        uint8_t a = rtc->cmos[pairs[i][0]];
        if (a < 0xc0 && a != now[pairs[i][1]]) /* 0xc0-0xff: any */
            return false;
    }
    return true;
}

/* Set C's flags for what happened between acct_ns and now. */
static void account(struct rtc_cmos *rtc, uint64_t now)
{
    uint64_t from = rtc->acct_ns;
    uint32_t period = periodic_ticks(rtc);

    if (now <= from)
        return;
    rtc->acct_ns = now;
    if (period && tick32k(now) / period > tick32k(from) / period)
        rtc->cmos[RTC_REG_C] |= RTC_C_PF;
    if (!clock_runs(rtc))
        return;
    int64_t s0 = floor_div(rtc_time_ns(rtc, from), NS_PER_S);
    int64_t s1 = floor_div(rtc_time_ns(rtc, now), NS_PER_S);
    if (s1 <= s0)
        return;
    rtc->cmos[RTC_REG_C] |= RTC_C_UF;
    /* Each update compares the alarm; a day covers every match. */
    for (int64_t s = s1 - 86400 > s0 ? s1 - 86400 + 1 : s0 + 1; s <= s1; s++) {
        if (alarm_matches(rtc, s)) {
            rtc->cmos[RTC_REG_C] |= RTC_C_AF;
            break;
        }
    }
}

/* IRQF is the OR of the enabled flags; IRQ 8 follows it. */
static void update_irq(struct rtc_cmos *rtc)
{
    uint8_t *c = &rtc->cmos[RTC_REG_C];
    bool level = *c & reg_b(rtc) & (RTC_C_PF | RTC_C_AF | RTC_C_UF);

    *c = (uint8_t)((*c & ~RTC_C_IRQF) | (level ? RTC_C_IRQF : 0));
    if (level != rtc->irq_level) {
        rtc->irq_level = level;
        if (rtc->vm->pic)
            pic_set_irq(rtc->vm->pic, RTC_IRQ, level);
    }
}

/* Arm the timer for the next event that could raise IRQ 8. While IRQF
 * stays set nothing more can: reading C re-arms. */
static void schedule(struct rtc_cmos *rtc, uint64_t now)
{
    uint64_t next = NEVER;
    uint32_t period = periodic_ticks(rtc);

    if (!rtc->irq_level) {
        if ((reg_b(rtc) & RTC_B_PIE) && period)
            next = tick32k_to_ns((tick32k(now) / period + 1) * period);
        if ((reg_b(rtc) & (RTC_B_UIE | RTC_B_AIE)) && clock_runs(rtc)) {
            int64_t t = rtc_time_ns(rtc, now);
            int64_t to_next_second = (floor_div(t, NS_PER_S) + 1) * NS_PER_S - t;
            uint64_t at = now + (uint64_t)to_next_second;
            if (at < next)
                next = at;
        }
    }
    timer_arm(&rtc->vm->timers, rtc->timer, next == NEVER ? TIMER_NEVER : next);
}

static void rtc_timer_fire(void *opaque, uint64_t now)
{
    struct rtc_cmos *rtc = opaque;

    account(rtc, now);
    update_irq(rtc);
    schedule(rtc, now);
}

/* ---- registers ---- */

static uint8_t rtc_read(struct rtc_cmos *rtc, unsigned reg, uint64_t now)
{
    uint8_t v;

    if (is_time_register(reg) && clock_runs(rtc)) {
        uint8_t regs[128];
        time_to_regs(rtc, floor_div(rtc_time_ns(rtc, now), NS_PER_S), regs);
        return regs[reg];
    }
    switch (reg) {
    case RTC_REG_A:
        v = reg_a(rtc) & ~RTC_A_UIP;
        if (clock_runs(rtc) &&
            rtc_time_ns(rtc, now) % NS_PER_S >= NS_PER_S - RTC_UIP_NS)
            v |= RTC_A_UIP;
        return v;
    case RTC_REG_C:
        account(rtc, now);
        update_irq(rtc);
        v = rtc->cmos[RTC_REG_C];
        rtc->cmos[RTC_REG_C] = 0; /* reading clears the flags and IRQ 8 */
        update_irq(rtc);
        schedule(rtc, now);
        return v;
    default:
        return rtc->cmos[reg];
    }
}

/* A write to A or B may stop or restart the clock. */
static void write_control(struct rtc_cmos *rtc, unsigned reg, uint8_t val,
                          uint64_t now)
{
    bool ran = clock_runs(rtc), divider_ran = divider_runs(rtc);

    account(rtc, now); /* flags under the old settings */
    if (reg == RTC_REG_A) {
        rtc->cmos[RTC_REG_A] = val & ~RTC_A_UIP;
    } else {
        if (val & RTC_B_SET)
            val &= ~RTC_B_UIE; /* SET clears UIE on the MC146818 */
        rtc->cmos[RTC_REG_B] = val;
    }
    bool runs = clock_runs(rtc);
    if (ran && !runs)
        latch_time(rtc, now);
    else if (!ran && runs) /* out of divider reset: first update in 500 ms */
        set_time(rtc, now, divider_ran ? 0 : NS_PER_S / 2);
    update_irq(rtc);
    schedule(rtc, now);
}

static void rtc_write(struct rtc_cmos *rtc, unsigned reg, uint8_t val,
                      uint64_t now)
{
    if (is_time_register(reg) && clock_runs(rtc)) {
        /* Setting one field of a running clock: QEMU applies it at once. */
        account(rtc, now);
        latch_time(rtc, now);
        rtc->cmos[reg] = val;
        set_time(rtc, now, 0);
        schedule(rtc, now);
        return;
    }
    switch (reg) {
    case RTC_REG_A:
    case RTC_REG_B:
        write_control(rtc, reg, val, now);
        break;
    case RTC_REG_C:
    case RTC_REG_D:
        break; /* read-only */
    default:
        rtc->cmos[reg] = val;
        break;
    }
}

/* ---- ports ---- */

static uint32_t rtc_io_read(void *opaque, uint16_t offset, unsigned size)
{
    struct rtc_cmos *rtc = opaque;

    (void)size;
    if (offset == 0)
        return 0xff; /* the index register is write-only */
    return rtc_read(rtc, rtc->index, rtc_now(rtc));
}

static void rtc_io_write(void *opaque, uint16_t offset, unsigned size,
                         uint32_t val)
{
    struct rtc_cmos *rtc = opaque;

    (void)size;
    if (offset == 0)
        rtc->index = val & 0x7f; /* bit 7 masks NMI: no NMI source here */
    else
        rtc_write(rtc, rtc->index, (uint8_t)val, rtc_now(rtc));
}

static void set_word(uint8_t *cmos, unsigned at, uint32_t v)
{
    cmos[at] = (uint8_t)v;
    cmos[at + 1] = (uint8_t)(v >> 8);
}

/* What QEMU's pc_cmos_init writes for a machine with this much RAM and no
 * disk or floppy (sizes in KiB and 64 KiB units, capped at 0xffff). */
static void cmos_memory_sizes(uint8_t *cmos, uint64_t ram)
{
    uint64_t below_4g = ram < (4ull << 30) ? ram : 4ull << 30;
    uint64_t kib = below_4g >> 10, v;

    set_word(cmos, CMOS_BASE_MEM_LO, kib < 640 ? (uint32_t)kib : 640);
    v = kib > 1024 ? kib - 1024 : 0;
    v = v > 0xffff ? 0xffff : v;
    set_word(cmos, CMOS_EXT_MEM_LO, (uint32_t)v);
    set_word(cmos, CMOS_EXT_MEM2_LO, (uint32_t)v);
    v = below_4g > (16u << 20) ? (below_4g - (16u << 20)) >> 16 : 0;
    v = v > 0xffff ? 0xffff : v;
    set_word(cmos, CMOS_MEM_ABOVE_16M_LO, (uint32_t)v);
    v = (ram - below_4g) >> 16;
    cmos[CMOS_MEM_ABOVE_4G] = (uint8_t)v;
    cmos[CMOS_MEM_ABOVE_4G + 1] = (uint8_t)(v >> 8);
    cmos[CMOS_MEM_ABOVE_4G + 2] = (uint8_t)(v >> 16);
    cmos[CMOS_EQUIPMENT] = CMOS_EQUIPMENT_FPU;
}

static void *rtc_create(struct vm *vm, char *err, size_t errlen)
{
    struct rtc_cmos *rtc = calloc(1, sizeof(*rtc));

    if (!rtc) {
        snprintf(err, errlen, "rtc: out of memory");
        return NULL;
    }
    rtc->vm = vm;
    rtc->timer = timer_add(&vm->timers, "rtc", rtc_timer_fire, rtc);
    if (rtc->timer < 0) {
        snprintf(err, errlen, "rtc: cannot add a timer");
        free(rtc);
        return NULL;
    }
    const struct port_claim ports[] = {
        { RTC_BASE, RTC_PORTS, IOPORT_BYTE_ONLY, "rtc", rtc, rtc_io_read,
          rtc_io_write },
    };
    if (device_claim_ports(vm, "rtc", ports, sizeof(ports) / sizeof(ports[0]),
                           err, errlen) < 0) {
        free(rtc);
        return NULL;
    }
    /* As SeaBIOS leaves it: 32.768 kHz divider, 1024 Hz rate, BCD,
     * 24-hour, no interrupt enabled; valid RAM and time. */
    rtc->cmos[RTC_REG_A] = RTC_A_DIV_32K | 0x06;
    rtc->cmos[RTC_REG_B] = RTC_B_24H;
    rtc->cmos[RTC_REG_D] = RTC_D_VRT;
    cmos_memory_sizes(rtc->cmos, vm->ram_size);
    rtc->acct_ns = rtc_now(rtc);
    return rtc;
}

static void rtc_destroy(void *dev)
{
    free(dev);
}

const struct device_ops rtc_device = {
    .name = "rtc",
    .create = rtc_create,
    .destroy = rtc_destroy,
};
