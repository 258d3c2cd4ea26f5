/* The two cascaded 8259A interrupt controllers (IRQ 0-15) and the PIIX
 * edge/level control registers. */
#ifndef TPVM_VMM_DEV_PIC8259_H
#define TPVM_VMM_DEV_PIC8259_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/device.h"

struct vm;

/* One 8259A. */
struct pic_chip {
    uint8_t irr;          /* interrupt request register */
    uint8_t isr;          /* in-service register */
    uint8_t imr;          /* mask (OCW1) */
    uint8_t last_level;   /* input levels, for edge detection */
    uint8_t elcr;         /* level-triggered inputs (PIIX ELCR) */
    uint8_t elcr_mask;    /* ELCR bits that exist */
    uint8_t priority_add; /* the input with the highest priority */
    uint8_t vector_base;  /* ICW2 & 0xf8 */
    uint8_t init_step;    /* 0: ready; 1-3: ICW2-ICW4 expected next */
    bool init4;           /* ICW1: ICW4 follows */
    bool single;          /* ICW1: no cascade (no ICW3) */
    bool ltim;            /* ICW1: every input level-triggered */
    bool auto_eoi;        /* ICW4 */
    bool sfnm;            /* ICW4: special fully nested mode */
    bool rotate_on_aeoi;  /* OCW2 rotate in automatic EOI mode */
    bool read_isr;        /* OCW3: the command port reads ISR (else IRR) */
    bool poll;            /* OCW3: the next read is a poll */
    bool special_mask;    /* OCW3: special mask mode */
    bool is_master;
};

struct pic8259 {
    struct vm *vm;
    struct pic_chip chip[2]; /* [0] master (IRQ 0-7), [1] slave (IRQ 8-15) */
    bool intr;               /* the master's INT output (the CPU's INTR) */
};

/* Drive input irq (0-15) to level. Edge-triggered inputs latch a request
 * on a rising edge; level-triggered ones request while high. Updates the
 * CPU's INTR (cpu->irq_pending) and stops the CPU when INTR rises. */
void pic_set_irq(struct pic8259 *pic, unsigned irq, bool level);

/* The CPU's interrupt acknowledge cycle: the vector, with the PIC's
 * in-service state updated. With no request left it answers the spurious
 * IRQ 7 (vector base + 7) without setting ISR bit 7, as the 8259A does;
 * a request that went away on the slave gives IRQ 15 (master ISR bit 2
 * set). */
int pic_intack(struct pic8259 *pic);

/* Both 8259As (0x20-0x21, 0xa0-0xa1) and ELCR (0x4d0-0x4d1), left as a
 * PC BIOS leaves them (vectors 0x08 and 0x70, the firmware's masks).
 * Sets vm->pic. */
extern const struct device_ops pic_device;

#endif
