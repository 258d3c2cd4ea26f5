/* systest: vsnprintf for the failure details, which are written into the
 * verdict line only once the check has finished: %s %c %d %u %x with a
 * width and the '0' flag. */
#include "systest.h"

struct out {
    char *buf;
    size_t size, len;
};

static void put(struct out *o, char c)
{
    if (o->len + 1 < o->size)
        o->buf[o->len] = c;
    o->len++;
}

static void put_number(struct out *o, uint32_t v, unsigned base, bool neg,
                       unsigned width, char pad)
{
    char digits[12];
    unsigned n = 0;

    do {
        digits[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    if (neg)
        digits[n++] = '-';
    for (; width > n; width--)
        put(o, pad);
    while (n)
        put(o, digits[--n]);
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct out o = {buf, size, 0};

    for (const char *p = fmt; *p; p++) {
        if (*p != '%') {
            put(&o, *p);
            continue;
        }
        char pad = ' ';
        unsigned width = 0;
        if (*++p == '0')
            pad = '0';
        while (*p >= '0' && *p <= '9')
            width = width * 10 + (unsigned)(*p++ - '0');
        switch (*p) {
        case 'd': {
            int v = va_arg(ap, int);
            put_number(&o, v < 0 ? 0u - (uint32_t)v : (uint32_t)v, 10, v < 0,
                       width, pad);
            break;
        }
        case 'u':
            put_number(&o, va_arg(ap, unsigned), 10, false, width, pad);
            break;
        case 'x':
            put_number(&o, va_arg(ap, unsigned), 16, false, width, pad);
            break;
        case 'c':
            put(&o, (char)va_arg(ap, int));
            break;
        case 's':
            for (const char *s = va_arg(ap, const char *); *s; s++)
                put(&o, *s);
            break;
        case '\0':
            p--;
            break;
        default:
            put(&o, *p);
            break;
        }
    }
    if (size)
        buf[o.len < size ? o.len : size - 1] = '\0';
    return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
