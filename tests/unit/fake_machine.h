/* Unit-test fixture for device models: a machine with a port table, a
 * CPU struct, timers on a clock the test moves by hand, and a PIC, with
 * no translator and no threads. Included by tests/unit/test_*.c. */
#ifndef TPVM_TESTS_UNIT_FAKE_MACHINE_H
#define TPVM_TESTS_UNIT_FAKE_MACHINE_H

#include <stdlib.h>

#include "vmm/dev/pic8259.h"
#include "vmm/ioport.h"
#include "vmm/timer.h"
#include "vmm/vm.h"

#define FAKE_MAX_DEVICES 4

struct fake_machine {
    struct vm *vm;
    uint64_t now_ns;               /* the clock every device reads */
    void *dev[FAKE_MAX_DEVICES];
    const struct device_ops *ops[FAKE_MAX_DEVICES];
    unsigned ndev;
};

static uint64_t fake_clock(void *opaque)
{
    return ((struct fake_machine *)opaque)->now_ns;
}

/* A machine at host-clock time start_ns whose time of day is
 * wall_offset_ns later (the RTC's UTC = clock + offset), with the PIC. */
static inline struct fake_machine *fake_machine_new(uint64_t start_ns,
                                                    int64_t wall_offset_ns)
{
    struct fake_machine *m = calloc(1, sizeof(*m));
    char err[128];

    m->vm = calloc(1, sizeof(*m->vm));
    m->vm->cpu = calloc(1, sizeof(*m->vm->cpu));
    m->vm->cpu->run = 1;
    m->vm->cpu->a20_mask = 0xffffffffu;
    m->vm->ram_size = 128u << 20;
    m->now_ns = start_ns;
    ioport_table_init(&m->vm->io);
    timers_init(&m->vm->timers);
    timers_set_clock(&m->vm->timers, fake_clock, m, wall_offset_ns);
    m->vm->timers_open = true;
    m->ops[0] = &pic_device;
    m->dev[0] = pic_device.create(m->vm, err, sizeof(err));
    m->ndev = 1;
    return m->dev[0] ? m : NULL;
}

/* Create one more device; returns its state. */
static inline void *fake_machine_add(struct fake_machine *m,
                                     const struct device_ops *ops)
{
    char err[128];
    void *dev = ops->create(m->vm, err, sizeof(err));

    if (dev) {
        m->ops[m->ndev] = ops;
        m->dev[m->ndev++] = dev;
    }
    return dev;
}

static inline void fake_machine_free(struct fake_machine *m)
{
    while (m->ndev > 0) {
        m->ndev--;
        m->ops[m->ndev]->destroy(m->dev[m->ndev]);
    }
    timers_destroy(&m->vm->timers);
    free(m->vm->cpu);
    free(m->vm);
    free(m);
}

/* Move the clock and run what became due, as the run loop does. */
static inline unsigned fake_machine_advance(struct fake_machine *m,
                                            uint64_t ns)
{
    m->now_ns += ns;
    return timers_run_due(&m->vm->timers);
}

static inline uint8_t inb_(struct fake_machine *m, uint16_t port)
{
    return (uint8_t)ioport_in(&m->vm->io, port, 1);
}

static inline void outb_(struct fake_machine *m, uint16_t port, uint8_t val)
{
    ioport_out(&m->vm->io, port, 1, val);
}

static inline struct pic8259 *fake_pic(struct fake_machine *m)
{
    return m->vm->pic;
}

#endif
