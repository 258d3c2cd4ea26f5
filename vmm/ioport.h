/* Port-I/O dispatch: one interval table of port ranges -> device callbacks. */
#ifndef TPVM_VMM_IOPORT_H
#define TPVM_VMM_IOPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* offset is relative to the range's base; size is 1, 2 or 4. */
typedef uint32_t (*ioport_read_fn)(void *opaque, uint16_t offset, unsigned size);
typedef void (*ioport_write_fn)(void *opaque, uint16_t offset, unsigned size,
                                uint32_t val);

/* Range flags. */
#define IOPORT_BYTE_ONLY 0x1u /* wider accesses are split into byte accesses,
                                 each dispatched on its own (like an 8-bit
                                 ISA device on a 16-bit bus) */

struct ioport_range {
    uint16_t base;
    uint16_t len;         /* ports base .. base+len-1 */
    unsigned flags;
    const char *name;     /* for --stats; static storage */
    void *opaque;
    ioport_read_fn read;  /* NULL: reads float (all ones) */
    ioport_write_fn write; /* NULL: writes are ignored */
    uint64_t reads, writes;
};

#define IOPORT_MAX_RANGES 32

/* Sorted by base, never overlapping. Accesses to no range are counted
 * as "unassigned". */
struct ioport_table {
    struct ioport_range ranges[IOPORT_MAX_RANGES];
    unsigned count;
    uint64_t unassigned_reads, unassigned_writes;
};

void ioport_table_init(struct ioport_table *t);

/* Claim [base, base+len). Returns 0, -EBUSY if it overlaps a claimed
 * range, -EINVAL for an empty or wrapping range, -ENOSPC when full. */
int ioport_register(struct ioport_table *t, uint16_t base, uint16_t len,
                    unsigned flags, const char *name, void *opaque,
                    ioport_read_fn read, ioport_write_fn write);

/* Guest IN/OUT. Unassigned ports read all ones and ignore writes. */
uint32_t ioport_in(struct ioport_table *t, uint16_t port, unsigned size);
void ioport_out(struct ioport_table *t, uint16_t port, unsigned size,
                uint32_t val);

/* One line per range with its access counts, for --stats. */
void ioport_print_stats(const struct ioport_table *t, FILE *out);

#endif
