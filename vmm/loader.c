/* Kernel loading: read the file and dispatch on its format. */
#include "vmm/loader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/loader_multiboot.h"

struct kernel_format {
    const char *name;
    /* Claims the file (it carries this format's signature). */
    bool (*probe)(const struct kernel_image *img);
    int (*load)(const struct kernel_image *img, const char *append,
                const struct boot_target *t, struct load_error *err);
};

/* Tried in order. A Linux bzImage loader goes before Multiboot (as in
 * QEMU, whose -kernel looks for the "HdrS" signature first). */
static const struct kernel_format kernel_formats[] = {
    { "multiboot", multiboot_probe, multiboot_load },
};

int load_fail(struct load_error *err, enum load_status status,
              const char *fmt, ...)
{
    va_list ap;

    err->status = status;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return -1;
}

static int read_file(const char *path, uint8_t **data, size_t *size,
                     struct load_error *err)
{
    struct stat st;
    uint8_t *buf;
    size_t done = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return load_fail(err, LOAD_ERR_OPEN, "%s: cannot open: %s", path,
                         strerror(errno));
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return load_fail(err, LOAD_ERR_OPEN, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > KERNEL_FILE_MAX) {
        close(fd);
        return load_fail(err, LOAD_ERR_TOO_BIG,
                         "%s: file too large for a kernel (%lld bytes)", path,
                         (long long)st.st_size);
    }
    buf = malloc(st.st_size ? (size_t)st.st_size : 1);
    if (!buf) {
        close(fd);
        return load_fail(err, LOAD_ERR_OPEN, "%s: out of memory", path);
    }
    while (done < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + done, (size_t)st.st_size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            free(buf);
            close(fd);
            return load_fail(err, LOAD_ERR_OPEN, "%s: cannot read: %s", path,
                             strerror(e));
        }
        done += (size_t)n;
    }
    close(fd);
    *data = buf;
    *size = done;
    return 0;
}

int loader_load(const char *path, const char *append,
                const struct boot_target *t, struct load_error *err)
{
    uint8_t *data = NULL;
    size_t size = 0;
    int ret = -1;

    err->status = LOAD_OK;
    err->msg[0] = 0;
    if (read_file(path, &data, &size, err) < 0)
        return -1;
    struct kernel_image img = { .path = path, .data = data, .size = size };
    size_t i;
    for (i = 0; i < sizeof(kernel_formats) / sizeof(kernel_formats[0]); i++) {
        if (kernel_formats[i].probe(&img)) {
            ret = kernel_formats[i].load(&img, append, t, err);
            break;
        }
    }
    if (i == sizeof(kernel_formats) / sizeof(kernel_formats[0]))
        load_fail(err, LOAD_ERR_FORMAT,
                  "%s: not a Multiboot kernel (no multiboot header in the "
                  "first 8192 bytes)", path);
    free(data);
    return ret;
}
