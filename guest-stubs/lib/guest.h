/* The guest runtime's interface: console, printf, exit, string functions.
 * A guest defines guest_main(); start.S calls it with the Multiboot
 * registers and passes its return value to guest_exit(). */
#ifndef GUEST_GUEST_H
#define GUEST_GUEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "io.h"
#include "multiboot.h"

/* Written by each guest. magic is EAX at entry, mbi is EBX. */
int guest_main(uint32_t magic, struct multiboot_info *mbi);

/* COM1, polled. start.S calls serial_init before guest_main. */
void serial_init(void);
void serial_putc(char c);
int serial_getc(void);     /* waits for a byte */
int serial_try_getc(void); /* -1 when nothing has arrived */

/* %s %c %d %i %u %x %X %p %%, with l/ll, width, '0' and '-' flags. */
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
int puts(const char *s);

/* Writes code to the isa-debug-exit port (QEMU then exits with
 * (code << 1) | 1), then halts with interrupts off for good. */
__attribute__((noreturn)) void guest_exit(uint32_t code);

/* gcc emits calls to these even in freestanding code. */
void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

#endif
