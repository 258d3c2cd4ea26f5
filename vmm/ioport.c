/* Port-I/O dispatch: one sorted interval table of device ranges. */
#include "vmm/ioport.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

static uint32_t all_ones(unsigned size)
{
    return size >= 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
}

void ioport_table_init(struct ioport_table *t)
{
    memset(t, 0, sizeof(*t));
}

int ioport_register(struct ioport_table *t, uint16_t base, uint16_t len,
                    unsigned flags, const char *name, void *opaque,
                    ioport_read_fn read, ioport_write_fn write)
{
    uint32_t end = (uint32_t)base + len; /* exclusive */
    unsigned i;

    if (len == 0 || end > 0x10000)
        return -EINVAL;
    if (t->count == IOPORT_MAX_RANGES)
        return -ENOSPC;
    /* Find the insertion point and refuse to overlap either neighbour. */
    for (i = 0; i < t->count && t->ranges[i].base < base; i++)
        ;
    if (i > 0) {
        const struct ioport_range *prev = &t->ranges[i - 1];
        if ((uint32_t)prev->base + prev->len > base)
            return -EBUSY;
    }
    if (i < t->count && t->ranges[i].base < end)
        return -EBUSY;
    memmove(&t->ranges[i + 1], &t->ranges[i],
            (t->count - i) * sizeof(t->ranges[0]));
    t->ranges[i] = (struct ioport_range){
        .base = base, .len = len, .flags = flags, .name = name,
        .opaque = opaque, .read = read, .write = write,
    };
    t->count++;
    return 0;
}

static struct ioport_range *find_range(struct ioport_table *t, uint16_t port)
{
    unsigned lo = 0, hi = t->count;

    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        struct ioport_range *r = &t->ranges[mid];
        if (port < r->base)
            hi = mid;
        else if (port >= (uint32_t)r->base + r->len)
            lo = mid + 1;
        else
            return r;
    }
    return NULL;
}

uint32_t ioport_in(struct ioport_table *t, uint16_t port, unsigned size)
{
    struct ioport_range *r = find_range(t, port);

    if (!r) {
        t->unassigned_reads++;
        return all_ones(size);
    }
    if (size > 1 && (r->flags & IOPORT_BYTE_ONLY)) {
        uint32_t val = 0;
        for (unsigned i = 0; i < size; i++)
            val |= (ioport_in(t, (uint16_t)(port + i), 1) & 0xff) << (8 * i);
        return val;
    }
    r->reads++;
    if (!r->read)
        return all_ones(size);
    return r->read(r->opaque, (uint16_t)(port - r->base), size) &
           all_ones(size);
}

void ioport_out(struct ioport_table *t, uint16_t port, unsigned size,
                uint32_t val)
{
    struct ioport_range *r = find_range(t, port);

    if (!r) {
        t->unassigned_writes++;
        return;
    }
    if (size > 1 && (r->flags & IOPORT_BYTE_ONLY)) {
        for (unsigned i = 0; i < size; i++)
            ioport_out(t, (uint16_t)(port + i), 1, (val >> (8 * i)) & 0xff);
        return;
    }
    r->writes++;
    if (r->write)
        r->write(r->opaque, (uint16_t)(port - r->base), size,
                 val & all_ones(size));
}

void ioport_print_stats(const struct ioport_table *t, FILE *out)
{
    for (unsigned i = 0; i < t->count; i++) {
        const struct ioport_range *r = &t->ranges[i];
        fprintf(out, "  io %-12s %#06x-%#06x %12" PRIu64 " in %12" PRIu64
                " out\n", r->name, r->base, r->base + r->len - 1, r->reads,
                r->writes);
    }
    fprintf(out, "  io %-12s %-13s %12" PRIu64 " in %12" PRIu64 " out\n",
            "unassigned", "", t->unassigned_reads, t->unassigned_writes);
}
