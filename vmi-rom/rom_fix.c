/* rom_fix: the last step of the VMI ROM build. Checks that the raw image
 * from objcopy is rom_length * 512 bytes, sets the PnP header checksum and
 * the ROM checksum byte (the image's last byte) so that both sums are 0.
 * usage: rom_fix IN OUT */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmi-rom/vmi_abi.h"

static int fail(const char *what, const char *path)
{
    fprintf(stderr, "rom_fix: %s: %s\n", path, what);
    return 1;
}

static uint8_t sum8(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    while (n--)
        s = (uint8_t)(s + *p++);
    return s;
}

int main(int argc, char **argv)
{
    static uint8_t rom[VMI_ROM_MAX_SIZE + 1];

    if (argc != 3) {
        fprintf(stderr, "usage: rom_fix IN OUT\n");
        return 2;
    }
    FILE *in = fopen(argv[1], "rb");
    if (!in)
        return fail(strerror(errno), argv[1]);
    size_t n = fread(rom, 1, sizeof rom, in);
    fclose(in);
    if (n < VMI_ROM_HEADER_SIZE || n > VMI_ROM_MAX_SIZE)
        return fail("size out of range", argv[1]);
    if (n % VMI_ROM_BLOCK != 0 || n != rom[VMI_ROM_OFF_ROM_LENGTH] * VMI_ROM_BLOCK)
        return fail("size is not rom_length * 512", argv[1]);
    if (rom[n - 1] != 0)
        return fail("the checksum byte is not free", argv[1]);

    uint16_t pnp = (uint16_t)(rom[VMI_ROM_OFF_PNP_HEADER] |
                              rom[VMI_ROM_OFF_PNP_HEADER + 1] << 8);
    if (pnp) {
        if (pnp + sizeof(struct vmi_pnp_header) > n ||
            memcmp(rom + pnp, "$PnP", 4) != 0)
            return fail("bad PnP header", argv[1]);
        struct vmi_pnp_header *h = (struct vmi_pnp_header *)(rom + pnp);
        size_t len = (size_t)h->length * 16;
        if (len < sizeof *h || pnp + len > n)
            return fail("bad PnP header length", argv[1]);
        h->checksum = 0;
        h->checksum = (uint8_t)-sum8(rom + pnp, len);
    }
    rom[n - 1] = (uint8_t)-sum8(rom, n - 1);

    FILE *out = fopen(argv[2], "wb");
    if (!out)
        return fail(strerror(errno), argv[2]);
    if (fwrite(rom, 1, n, out) != n || fclose(out) != 0) {
        remove(argv[2]);
        return fail("write failed", argv[2]);
    }
    return 0;
}
