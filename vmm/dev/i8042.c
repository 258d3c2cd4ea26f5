/* 8042 keyboard controller: status, command byte, self and interface
 * tests, output port (A20, reset), and a PS/2 keyboard that answers the
 * commands an OS probes with. There is no host keyboard and no AUX
 * (mouse) port: the AUX test reports a stuck clock line and the AUX
 * commands are refused, which an OS takes as "no AUX port". QEMU's
 * pckbd.c and ps2.c are the reference. */
#include "vmm/dev/i8042.h"

#include <stdio.h>
#include <stdlib.h>

#include "vmm/dev/pic8259.h"
#include "vmm/ioport.h"
#include "vmm/vm.h"

#define I8042_DATA 0x60
#define I8042_CMD 0x64
#define KBD_IRQ 1

/* Controller commands. */
#define CCMD_READ_CTR 0x20
#define CCMD_WRITE_CTR 0x60
#define CCMD_AUX_DISABLE 0xa7
#define CCMD_AUX_ENABLE 0xa8
#define CCMD_AUX_TEST 0xa9
#define CCMD_SELF_TEST 0xaa
#define CCMD_KBD_TEST 0xab
#define CCMD_KBD_DISABLE 0xad
#define CCMD_KBD_ENABLE 0xae
#define CCMD_READ_INPORT 0xc0
#define CCMD_READ_OUTPORT 0xd0
#define CCMD_WRITE_OUTPORT 0xd1
#define CCMD_WRITE_KBD_OBUF 0xd2
#define CCMD_WRITE_AUX_DEV 0xd4
#define CCMD_DISABLE_A20 0xdd
#define CCMD_ENABLE_A20 0xdf
#define CCMD_PULSE 0xf0 /* 0xf0-0xff: pulse output port bits 3-0 low */

#define SELF_TEST_OK 0x55
#define INTERFACE_OK 0x00
#define AUX_CLOCK_STUCK_LOW 0x01
#define INPORT_UNLOCKED 0x80

/* Keyboard commands and replies. */
#define KCMD_SET_LEDS 0xed
#define KCMD_ECHO 0xee
#define KCMD_SCANCODE 0xf0
#define KCMD_GET_ID 0xf2
#define KCMD_SET_RATE 0xf3
#define KCMD_ENABLE 0xf4
#define KCMD_DISABLE 0xf5
#define KCMD_DEFAULTS 0xf6
#define KCMD_RESET 0xff
#define KBD_ACK 0xfa
#define KBD_RESEND 0xfe
#define KBD_SELF_TEST_OK 0xaa
#define KBD_ID 0xab

/* ---- output buffer and IRQ 1 ---- */

/* IRQ 1 while keyboard-side data waits, the interrupt is enabled and the
 * interface is not disabled (QEMU's rule). */
static void update_irq(struct i8042 *k)
{
    bool level = k->qcount && (k->ctr & I8042_CTR_KBDINT) &&
                 !(k->ctr & I8042_CTR_KBDDIS);

    if (level != k->irq1_level) {
        k->irq1_level = level;
        if (k->vm->pic)
            pic_set_irq(k->vm->pic, KBD_IRQ, level);
    }
}

static void queue_byte(struct i8042 *k, uint8_t b)
{
    if (k->qcount == I8042_QUEUE)
        return; /* the guest is not reading: drop, as a keyboard would */
    k->queue[(k->qhead + k->qcount) % I8042_QUEUE] = b;
    k->qcount++;
    update_irq(k);
}

static uint8_t read_data(struct i8042 *k)
{
    if (k->qcount) {
        k->last_read = k->queue[k->qhead];
        k->qhead = (k->qhead + 1) % I8042_QUEUE;
        k->qcount--;
        /* Reading drops IRQ 1; a byte behind it raises it again, so the
         * edge-triggered PIC sees one interrupt per byte. */
        if (k->irq1_level) {
            k->irq1_level = false;
            if (k->vm->pic)
                pic_set_irq(k->vm->pic, KBD_IRQ, false);
        }
        update_irq(k);
    }
    return k->last_read;
}

static uint8_t read_status(const struct i8042 *k)
{
    return (uint8_t)((k->status & ~(I8042_STR_OBF | I8042_STR_IBF |
                                    I8042_STR_AUXOBF)) |
                     (k->qcount ? I8042_STR_OBF : 0));
}

/* ---- the machine side ---- */

static void write_outport(struct i8042 *k, uint8_t val)
{
    k->outport = val;
    vm_set_a20(k->vm, val & I8042_OUT_A20);
    if (!(val & I8042_OUT_RESET))
        vm_request_reset(k->vm);
}

/* ---- the keyboard ---- */

static void kbd_defaults(struct i8042 *k)
{
    k->scancode_set = 2;
    k->kbd_pending = 0;
}

static uint8_t translated_set(const struct i8042 *k)
{
    static const uint8_t xlate[4] = { 0, 0x43, 0x41, 0x3f };

    if (k->ctr & I8042_CTR_XLATE)
        return xlate[k->scancode_set & 3];
    return k->scancode_set;
}

static void kbd_parameter(struct i8042 *k, uint8_t cmd, uint8_t val)
{
    queue_byte(k, KBD_ACK);
    if (cmd == KCMD_SCANCODE) {
        if (val == 0)
            queue_byte(k, translated_set(k));
        else if (val <= 3)
            k->scancode_set = val;
    }
    /* LEDs and typematic rate: nothing to show them on. */
}

static void kbd_write(struct i8042 *k, uint8_t val)
{
    if (k->kbd_pending) {
        uint8_t cmd = k->kbd_pending;
        k->kbd_pending = 0;
        kbd_parameter(k, cmd, val);
        return;
    }
    switch (val) {
    case KCMD_SET_LEDS:
    case KCMD_SCANCODE:
    case KCMD_SET_RATE:
        k->kbd_pending = val;
        queue_byte(k, KBD_ACK);
        break;
    case KCMD_ECHO:
        queue_byte(k, KCMD_ECHO);
        break;
    case KCMD_GET_ID: /* an MF2 keyboard */
        queue_byte(k, KBD_ACK);
        queue_byte(k, KBD_ID);
        queue_byte(k, k->ctr & I8042_CTR_XLATE ? 0x41 : 0x83);
        break;
    case KCMD_ENABLE:
        k->scanning = true;
        queue_byte(k, KBD_ACK);
        break;
    case KCMD_DISABLE:
        kbd_defaults(k);
        k->scanning = false;
        queue_byte(k, KBD_ACK);
        break;
    case KCMD_DEFAULTS:
        kbd_defaults(k);
        queue_byte(k, KBD_ACK);
        break;
    case KCMD_RESET:
        kbd_defaults(k);
        k->scanning = true;
        queue_byte(k, KBD_ACK);
        queue_byte(k, KBD_SELF_TEST_OK);
        break;
    case 0x00:
    case 0xf7: case 0xf8: case 0xf9: case 0xfa: case 0xfb: case 0xfc:
    case 0xfd: /* set-3 key modes: accepted, meaningless here */
        queue_byte(k, KBD_ACK);
        break;
    default:
        queue_byte(k, KBD_RESEND);
        break;
    }
}

/* ---- the controller ---- */

static void controller_command(struct i8042 *k, uint8_t cmd)
{
    if (cmd >= CCMD_PULSE) {
        if (!(cmd & 1)) /* bit 0 pulsed low: the CPU's reset line */
            vm_request_reset(k->vm);
        return;
    }
    switch (cmd) {
    case CCMD_READ_CTR:
        queue_byte(k, k->ctr);
        break;
    case CCMD_WRITE_CTR:
    case CCMD_WRITE_OUTPORT:
    case CCMD_WRITE_KBD_OBUF:
    case CCMD_WRITE_AUX_DEV:
        k->ctl_pending = cmd;
        break;
    case CCMD_AUX_DISABLE:
        k->ctr |= I8042_CTR_AUXDIS;
        break;
    case CCMD_AUX_ENABLE:
        k->ctr &= ~I8042_CTR_AUXDIS;
        break;
    case CCMD_AUX_TEST:
        queue_byte(k, AUX_CLOCK_STUCK_LOW); /* no AUX port */
        break;
    case CCMD_SELF_TEST:
        k->status |= I8042_STR_SYS;
        queue_byte(k, SELF_TEST_OK);
        break;
    case CCMD_KBD_TEST:
        queue_byte(k, INTERFACE_OK);
        break;
    case CCMD_KBD_DISABLE:
        k->ctr |= I8042_CTR_KBDDIS;
        update_irq(k);
        break;
    case CCMD_KBD_ENABLE:
        k->ctr &= ~I8042_CTR_KBDDIS;
        update_irq(k);
        break;
    case CCMD_READ_INPORT:
        queue_byte(k, INPORT_UNLOCKED);
        break;
    case CCMD_READ_OUTPORT:
        queue_byte(k, (uint8_t)((k->outport & ~I8042_OUT_OBF) |
                                (k->qcount ? I8042_OUT_OBF : 0)));
        break;
    case CCMD_DISABLE_A20:
        write_outport(k, k->outport & ~I8042_OUT_A20);
        break;
    case CCMD_ENABLE_A20:
        write_outport(k, k->outport | I8042_OUT_A20);
        break;
    default:
        break; /* unknown (and 0xd3, write AUX output buffer): ignored */
    }
}

static void controller_data(struct i8042 *k, uint8_t val)
{
    uint8_t cmd = k->ctl_pending;

    k->ctl_pending = 0;
    switch (cmd) {
    case CCMD_WRITE_CTR:
        k->ctr = val;
        /* The system flag of the status register follows the byte. */
        k->status = (uint8_t)((k->status & ~I8042_STR_SYS) |
                              (val & I8042_CTR_SYS ? I8042_STR_SYS : 0));
        update_irq(k);
        break;
    case CCMD_WRITE_OUTPORT:
        write_outport(k, val);
        break;
    case CCMD_WRITE_KBD_OBUF:
        queue_byte(k, val);
        break;
    case CCMD_WRITE_AUX_DEV:
        break; /* nothing on the AUX port to take it */
    default:
        /* Sending to the keyboard re-enables its interface. */
        k->ctr &= ~I8042_CTR_KBDDIS;
        kbd_write(k, val);
        update_irq(k);
        break;
    }
}

/* ---- ports ---- */

static uint32_t data_io_read(void *opaque, uint16_t offset, unsigned size)
{
    (void)offset, (void)size;
    return read_data(opaque);
}

static void data_io_write(void *opaque, uint16_t offset, unsigned size,
                          uint32_t val)
{
    struct i8042 *k = opaque;

    (void)offset, (void)size;
    k->status &= ~I8042_STR_CMD;
    controller_data(k, (uint8_t)val);
}

static uint32_t status_io_read(void *opaque, uint16_t offset, unsigned size)
{
    (void)offset, (void)size;
    return read_status(opaque);
}

static void cmd_io_write(void *opaque, uint16_t offset, unsigned size,
                         uint32_t val)
{
    struct i8042 *k = opaque;

    (void)offset, (void)size;
    k->status |= I8042_STR_CMD;
    controller_command(k, (uint8_t)val);
}

static void *i8042_create(struct vm *vm, char *err, size_t errlen)
{
    struct i8042 *k = calloc(1, sizeof(*k));

    if (!k) {
        snprintf(err, errlen, "i8042: out of memory");
        return NULL;
    }
    k->vm = vm;
    k->status = I8042_STR_SYS | I8042_STR_CMD | I8042_STR_UNLOCKED;
    k->ctr = I8042_CTR_KBDINT | I8042_CTR_AUXDIS | I8042_CTR_XLATE;
    k->outport = 0xcf; /* reset high, A20 on, unused bits high (QEMU) */
    k->scanning = true;
    kbd_defaults(k);
    /* Two single ports (0x61-0x63 belong to others). */
    const struct port_claim ports[] = {
        { I8042_DATA, 1, IOPORT_BYTE_ONLY, "i8042-data", k, data_io_read,
          data_io_write },
        { I8042_CMD, 1, IOPORT_BYTE_ONLY, "i8042-cmd", k, status_io_read,
          cmd_io_write },
    };
    if (device_claim_ports(vm, "i8042", ports,
                           sizeof(ports) / sizeof(ports[0]), err,
                           errlen) < 0) {
        free(k);
        return NULL;
    }
    return k;
}

static void i8042_destroy(void *dev)
{
    free(dev);
}

const struct device_ops i8042_device = {
    .name = "i8042",
    .create = i8042_create,
    .destroy = i8042_destroy,
};
