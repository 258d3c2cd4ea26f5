/* MC146818 CMOS real-time clock and its 128 bytes of CMOS memory. */
#ifndef TPVM_VMM_DEV_RTC_CMOS_H
#define TPVM_VMM_DEV_RTC_CMOS_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/device.h"

struct vm;

/* Register numbers. */
enum {
    RTC_SEC = 0x00, RTC_SEC_ALARM = 0x01, RTC_MIN = 0x02, RTC_MIN_ALARM = 0x03,
    RTC_HOUR = 0x04, RTC_HOUR_ALARM = 0x05, RTC_WDAY = 0x06, RTC_MDAY = 0x07,
    RTC_MONTH = 0x08, RTC_YEAR = 0x09, RTC_REG_A = 0x0a, RTC_REG_B = 0x0b,
    RTC_REG_C = 0x0c, RTC_REG_D = 0x0d, RTC_CENTURY = 0x32,
};

#define RTC_A_UIP 0x80
#define RTC_A_DIV_MASK 0x70
#define RTC_A_DIV_32K 0x20  /* the only divider with a running clock */
#define RTC_A_RATE_MASK 0x0f
#define RTC_B_SET 0x80
#define RTC_B_PIE 0x40
#define RTC_B_AIE 0x20
#define RTC_B_UIE 0x10
#define RTC_B_BINARY 0x04
#define RTC_B_24H 0x02
#define RTC_C_IRQF 0x80
#define RTC_C_PF 0x40
#define RTC_C_AF 0x20
#define RTC_C_UF 0x10
#define RTC_D_VRT 0x80

/* UIP is up for this long before each second begins. */
#define RTC_UIP_NS 244000u

struct rtc_cmos {
    struct vm *vm;
    uint8_t index;
    uint8_t cmos[128];     /* time registers are live only when frozen */
    int64_t delta_ns;      /* RTC time = host UTC + delta (set by guest) */
    uint64_t acct_ns;      /* host clock up to which C's flags are counted */
    int timer;             /* next periodic tick or update, for IRQ 8 */
    bool irq_level;
};

/* The guest-visible clock: host UTC + delta, in ns since 1970. */
int64_t rtc_time_ns(struct rtc_cmos *rtc, uint64_t now);

/* Ports 0x70-0x71, IRQ 8. Holds the host's UTC time of day, BCD and
 * 24-hour like a PC BIOS leaves it, and QEMU's memory-size bytes. */
extern const struct device_ops rtc_device;

#endif
