/* A small printf to COM1: %s %c %d %i %u %x %X %p %%, the l and ll length
 * modifiers, a field width and the '0' and '-' flags. */
#include <stdbool.h>

#include "guest.h"

struct field {
    unsigned width;
    bool zero_pad;
    bool left;
};

static void put_repeat(char c, unsigned n)
{
    while (n--)
        serial_putc(c);
}

/* Prints sign then digits (len chars) padded to the field; returns the
 * number of characters written. Zeros go between sign and digits. */
static int put_field(const struct field *f, const char *sign, const char *s,
                     unsigned len)
{
    unsigned sign_len = (unsigned)strlen(sign);
    unsigned used = sign_len + len;
    unsigned pad = f->width > used ? f->width - used : 0;

    if (!f->left && !f->zero_pad)
        put_repeat(' ', pad);
    for (const char *p = sign; *p; p++)
        serial_putc(*p);
    if (!f->left && f->zero_pad)
        put_repeat('0', pad);
    for (unsigned i = 0; i < len; i++)
        serial_putc(s[i]);
    if (f->left)
        put_repeat(' ', pad);
    return (int)(used + pad);
}

static int put_unsigned(const struct field *f, const char *sign,
                        unsigned long long v, unsigned base, bool upper)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char buf[24];
    unsigned i = sizeof(buf);

    do {
        buf[--i] = digits[v % base];
        v /= base;
    } while (v);
    return put_field(f, sign, buf + i, sizeof(buf) - i);
}

int vprintf(const char *fmt, va_list ap)
{
    int count = 0;

    for (const char *p = fmt; *p; p++) {
        if (*p != '%') {
            serial_putc(*p);
            count++;
            continue;
        }
        struct field f = {0};
        for (p++;; p++) {
            if (*p == '0')
                f.zero_pad = true;
            else if (*p == '-')
                f.left = true;
            else
                break;
        }
        while (*p >= '0' && *p <= '9')
            f.width = f.width * 10 + (unsigned)(*p++ - '0');
        unsigned longs = 0;
        while (*p == 'l') {
            longs++;
            p++;
        }

        switch (*p) {
        case 'd':
        case 'i': {
            long long v = longs >= 2 ? va_arg(ap, long long)
                        : longs ? va_arg(ap, long) : va_arg(ap, int);
            /* Negate as unsigned so LLONG_MIN works. */
            unsigned long long mag = v < 0 ? 0ULL - (unsigned long long)v
                                           : (unsigned long long)v;
            count += put_unsigned(&f, v < 0 ? "-" : "", mag, 10, false);
            break;
        }
        case 'u':
        case 'x':
        case 'X': {
            unsigned long long v = longs >= 2 ? va_arg(ap, unsigned long long)
                                 : longs ? va_arg(ap, unsigned long)
                                         : va_arg(ap, unsigned);
            count += put_unsigned(&f, "", v, *p == 'u' ? 10 : 16, *p == 'X');
            break;
        }
        case 'p': {
            /* Always 0x and 8 digits: guest addresses are 32 bits. */
            struct field pf = {.width = 10, .zero_pad = true};
            count += put_unsigned(&pf, "0x", (uintptr_t)va_arg(ap, void *),
                                  16, false);
            break;
        }
        case 'c': {
            char c = (char)va_arg(ap, int);
            count += put_field(&f, "", &c, 1);
            break;
        }
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            count += put_field(&f, "", s, (unsigned)strlen(s));
            break;
        }
        case '%':
            serial_putc('%');
            count++;
            break;
        case '\0': /* a lone '%' at the end */
            return count;
        default: /* unknown: print it as written so the mistake shows */
            serial_putc('%');
            serial_putc(*p);
            count += 2;
            break;
        }
    }
    return count;
}

int printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vprintf(fmt, ap);
    va_end(ap);
    return n;
}

int puts(const char *s)
{
    int n = 0;
    for (; s[n]; n++)
        serial_putc(s[n]);
    serial_putc('\n');
    return n + 1;
}
