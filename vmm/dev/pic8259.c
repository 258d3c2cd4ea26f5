/* The 8259A pair: priorities, masks, EOI, cascade on IRQ 2, the CPU's
 * INTR and INTA; ELCR as on the PIIX. QEMU's i8259 is the reference. */
#include "vmm/dev/pic8259.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/ioport.h"
#include "vmm/vm.h"

#define PIC_MASTER_BASE 0x20
#define PIC_SLAVE_BASE 0xa0
#define PIC_PORTS 2
#define ELCR_BASE 0x4d0
#define ELCR_PORTS 2
#define CASCADE_IRQ 2

/* Command port writes. */
#define ICW1 0x10      /* bit 4: initialization */
#define ICW1_IC4 0x01
#define ICW1_SNGL 0x02
#define ICW1_LTIM 0x08
#define OCW3 0x08      /* bit 3 with bit 4 clear */
#define OCW3_RR 0x02   /* read register command: RIS in bit 0 */
#define OCW3_POLL 0x04
#define OCW3_ESMM 0x40 /* special mask: SMM in bit 5 */
#define ICW4_AEOI 0x02
#define ICW4_SFNM 0x10

static uint8_t level_mask(const struct pic_chip *c)
{
    return c->ltim ? 0xff : c->elcr;
}

/* Priority (0 = highest) of the best input in mask, 8 if none. */
static unsigned best_priority(const struct pic_chip *c, uint8_t mask)
{
    if (!mask)
        return 8;
    unsigned p = 0;
    while (!(mask & (1u << ((p + c->priority_add) & 7))))
        p++;
    return p;
}

/* The input this chip would interrupt with, -1 if none beats what is in
 * service. */
static int chip_pending(const struct pic_chip *c)
{
    unsigned req = best_priority(c, c->irr & ~c->imr);
    if (req == 8)
        return -1;
    uint8_t busy = c->isr;
    if (c->special_mask)
        busy &= ~c->imr; /* masked in-service levels do not block */
    if (c->sfnm && c->is_master)
        busy &= ~(1u << CASCADE_IRQ); /* the slave may nest */
    if (req < best_priority(c, busy))
        return (int)((req + c->priority_add) & 7);
    return -1;
}

static void chip_set_input(struct pic_chip *c, unsigned line, bool level)
{
    uint8_t bit = (uint8_t)(1u << line);

    if (level_mask(c) & bit) {
        if (level)
            c->irr |= bit;
        else
            c->irr &= ~bit;
    } else if (level && !(c->last_level & bit)) {
        c->irr |= bit; /* rising edge */
    }
    if (level)
        c->last_level |= bit;
    else
        c->last_level &= ~bit;
}

/* Recompute the slave's INT into master IRQ 2, then the master's INT into
 * the CPU. Called after anything that may change either. */
static void update(struct pic8259 *pic)
{
    chip_set_input(&pic->chip[0], CASCADE_IRQ, chip_pending(&pic->chip[1]) >= 0);
    bool intr = chip_pending(&pic->chip[0]) >= 0;
    struct cpu *cpu = pic->vm->cpu;

    if (intr == pic->intr)
        return;
    pic->intr = intr;
    cpu->irq_pending = intr;
    /* Leave chained translated code so the CPU looks at INTR now. */
    if (intr)
        bt_request_exit(cpu);
}

/* The --stats counter of rising edges on irq (adjacent fields). */
static uint64_t *irq_counter(struct vm *vm, unsigned irq)
{
    char *base = (char *)&vm->stats + offsetof(struct vm_stats, irq0_raised);
    return (uint64_t *)(base + irq * sizeof(uint64_t));
}

void pic_set_irq(struct pic8259 *pic, unsigned irq, bool level)
{
    struct pic_chip *c = &pic->chip[(irq >> 3) & 1];
    unsigned line = irq & 7;

    if (level && !(c->last_level & (1u << line)))
        (*irq_counter(pic->vm, irq & 15))++;
    chip_set_input(c, line, level);
    update(pic);
}

/* INTA on one chip for input line: in service (unless automatic EOI),
 * request consumed (unless level-triggered and still high). */
static void chip_ack(struct pic_chip *c, unsigned line)
{
    uint8_t bit = (uint8_t)(1u << line);

    if (c->auto_eoi) {
        if (c->rotate_on_aeoi)
            c->priority_add = (uint8_t)((line + 1) & 7);
    } else {
        c->isr |= bit;
    }
    if (!(level_mask(c) & bit))
        c->irr &= ~bit;
}

int pic_intack(struct pic8259 *pic)
{
    struct pic_chip *m = &pic->chip[0], *s = &pic->chip[1];
    int line = chip_pending(m);
    int vector;

    pic->vm->stats.irqs_acked++;
    if (line < 0) {
        pic->vm->stats.irqs_spurious++;
        vector = m->vector_base + 7;
    } else if (line == CASCADE_IRQ) {
        int sl = chip_pending(s);
        if (sl >= 0) {
            chip_ack(s, (unsigned)sl);
        } else {
            pic->vm->stats.irqs_spurious++;
            sl = 7;
        }
        vector = s->vector_base + sl;
        /* The slave's INT may have dropped: refresh IRQ 2 before the
         * master consumes its edge. */
        chip_set_input(m, CASCADE_IRQ, chip_pending(s) >= 0);
        chip_ack(m, CASCADE_IRQ);
    } else {
        vector = m->vector_base + line;
        chip_ack(m, (unsigned)line);
    }
    update(pic);
    return vector;
}

/* ICW1: everything but ELCR and the input levels goes back to reset. */
static void chip_icw1(struct pic_chip *c, uint8_t val)
{
    c->irr &= c->elcr; /* level requests still stand */
    c->isr = 0;
    c->imr = 0;
    c->priority_add = 0;
    c->vector_base = 0;
    c->read_isr = false;
    c->poll = false;
    c->special_mask = false;
    c->auto_eoi = false;
    c->rotate_on_aeoi = false;
    c->sfnm = false;
    c->last_level = 0; /* edge detection starts afresh */
    c->init4 = val & ICW1_IC4;
    c->single = val & ICW1_SNGL;
    c->ltim = val & ICW1_LTIM;
    c->init_step = 1;
}

/* OCW2: the EOI and rotation commands (R SL EOI in bits 7-5). */
static void chip_ocw2(struct pic_chip *c, uint8_t val)
{
    unsigned cmd = val >> 5, line = val & 7, p;

    switch (cmd) {
    case 0: /* rotate in automatic EOI mode: clear */
    case 4: /* set */
        c->rotate_on_aeoi = cmd == 4;
        break;
    case 1: /* non-specific EOI */
    case 5: /* rotate on non-specific EOI */
        p = best_priority(c, c->isr);
        if (p == 8)
            break;
        line = (p + c->priority_add) & 7;
        c->isr &= (uint8_t)~(1u << line);
        if (cmd == 5)
            c->priority_add = (uint8_t)((line + 1) & 7);
        break;
    case 3: /* specific EOI */
        c->isr &= (uint8_t)~(1u << line);
        break;
    case 6: /* set priority: line becomes the lowest */
        c->priority_add = (uint8_t)((line + 1) & 7);
        break;
    case 7: /* rotate on specific EOI */
        c->isr &= (uint8_t)~(1u << line);
        c->priority_add = (uint8_t)((line + 1) & 7);
        break;
    default: /* 2: no operation */
        break;
    }
}

static void chip_write(struct pic_chip *c, unsigned port, uint8_t val)
{
    if (port == 0) {
        if (val & ICW1)
            chip_icw1(c, val);
        else if (val & OCW3) {
            if (val & OCW3_POLL)
                c->poll = true;
            if (val & OCW3_RR)
                c->read_isr = val & 1;
            if (val & OCW3_ESMM)
                c->special_mask = (val >> 5) & 1;
        } else {
            chip_ocw2(c, val);
        }
        return;
    }
    switch (c->init_step) {
    case 0: /* OCW1 */
        c->imr = val;
        break;
    case 1: /* ICW2 */
        c->vector_base = val & 0xf8;
        c->init_step = c->single ? (c->init4 ? 3 : 0) : 2;
        break;
    case 2: /* ICW3: the cascade wiring is fixed on a PC */
        c->init_step = c->init4 ? 3 : 0;
        break;
    case 3: /* ICW4; 8086 mode is the only one a PC uses */
        c->auto_eoi = val & ICW4_AEOI;
        c->sfnm = val & ICW4_SFNM;
        c->init_step = 0;
        break;
    }
}

/* Poll command: the read acknowledges the best request like INTA does;
 * bit 7 says whether there was one. */
static uint8_t chip_poll(struct pic_chip *c)
{
    int line = chip_pending(c);

    if (line < 0)
        return 0;
    chip_ack(c, (unsigned)line);
    return (uint8_t)(0x80 | line);
}

static uint8_t chip_read(struct pic_chip *c, unsigned port)
{
    if (c->poll) {
        c->poll = false;
        return chip_poll(c);
    }
    if (port == 0)
        return c->read_isr ? c->isr : c->irr;
    return c->imr;
}

/* ---- the machine's PIC pair ---- */

struct pic_port {
    struct pic8259 *pic;
    unsigned chip;
};

struct pic_dev {
    struct pic8259 pic;
    struct pic_port port[2];
};

static uint32_t pic_io_read(void *opaque, uint16_t offset, unsigned size)
{
    struct pic_port *p = opaque;
    uint8_t v = chip_read(&p->pic->chip[p->chip], offset);

    (void)size;
    update(p->pic); /* a poll acknowledges */
    return v;
}

static void pic_io_write(void *opaque, uint16_t offset, unsigned size,
                         uint32_t val)
{
    struct pic_port *p = opaque;

    (void)size;
    chip_write(&p->pic->chip[p->chip], offset, (uint8_t)val);
    update(p->pic);
}

static uint32_t elcr_io_read(void *opaque, uint16_t offset, unsigned size)
{
    struct pic8259 *pic = opaque;

    (void)size;
    return pic->chip[offset].elcr;
}

/* Takes effect for later input changes, as on the PIIX. */
static void elcr_io_write(void *opaque, uint16_t offset, unsigned size,
                          uint32_t val)
{
    struct pic8259 *pic = opaque;
    struct pic_chip *c = &pic->chip[offset];

    (void)size;
    c->elcr = (uint8_t)val & c->elcr_mask;
}

/* The state SeaBIOS leaves (what a Multiboot kernel sees under QEMU):
 * both chips initialised, edge-triggered, cascaded, 8086 mode; master
 * vectors 0x08, slave 0x70; IRQ 0, 1, 2, 6 and 8, 12, 13, 14 unmasked;
 * IRQ 10 and 11 (PCI) level-triggered in ELCR. */
static void pic_firmware_state(struct pic8259 *pic)
{
    struct pic_chip *m = &pic->chip[0], *s = &pic->chip[1];

    memset(pic->chip, 0, sizeof(pic->chip));
    m->is_master = true;
    m->vector_base = 0x08;
    s->vector_base = 0x70;
    m->init4 = s->init4 = true;
    m->imr = 0xb8;
    s->imr = 0x8e;
    /* IRQ 0-2 and 8 and 13 are always edge-triggered on the PIIX. */
    m->elcr_mask = 0xf8;
    s->elcr_mask = 0xde;
    s->elcr = 0x0c;
}

static void *pic_create(struct vm *vm, char *err, size_t errlen)
{
    struct pic_dev *d = calloc(1, sizeof(*d));

    if (!d) {
        snprintf(err, errlen, "pic: out of memory");
        return NULL;
    }
    d->pic.vm = vm;
    pic_firmware_state(&d->pic);
    for (unsigned i = 0; i < 2; i++)
        d->port[i] = (struct pic_port){ .pic = &d->pic, .chip = i };
    const struct port_claim ports[] = {
        { PIC_MASTER_BASE, PIC_PORTS, IOPORT_BYTE_ONLY, "pic-master",
          &d->port[0], pic_io_read, pic_io_write },
        { PIC_SLAVE_BASE, PIC_PORTS, IOPORT_BYTE_ONLY, "pic-slave",
          &d->port[1], pic_io_read, pic_io_write },
        { ELCR_BASE, ELCR_PORTS, IOPORT_BYTE_ONLY, "elcr", &d->pic,
          elcr_io_read, elcr_io_write },
    };
    if (device_claim_ports(vm, "pic", ports, sizeof(ports) / sizeof(ports[0]),
                           err, errlen) < 0) {
        free(d);
        return NULL;
    }
    vm->pic = &d->pic;
    return d;
}

static void pic_destroy(void *dev)
{
    free(dev);
}

const struct device_ops pic_device = {
    .name = "pic",
    .create = pic_create,
    .destroy = pic_destroy,
};
