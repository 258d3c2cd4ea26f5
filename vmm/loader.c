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

#include "vmm/loader_linux.h"
#include "vmm/loader_multiboot.h"

struct kernel_format {
    const char *name;
    /* Claims the file (it carries this format's signature). */
    bool (*probe)(const struct kernel_image *img);
    /* One of the two: formats that take an initrd get it (or NULL). */
    int (*load)(const struct kernel_image *img, const char *append,
                const struct boot_target *t, struct load_error *err);
    int (*load_initrd)(const struct kernel_image *img,
                       const struct initrd_image *initrd, const char *append,
                       const struct boot_target *t, struct load_error *err);
};

/* Tried in order. Linux goes before Multiboot, as in QEMU, whose -kernel
 * looks for the "HdrS" signature first. */
static const struct kernel_format kernel_formats[] = {
    { "Linux bzImage", linux_probe, NULL, linux_load },
    { "Multiboot", multiboot_probe, multiboot_load, NULL },
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

/* what: "" for the kernel, "initrd " for --initrd (starts the message). */
static int read_file(const char *what, const char *path, uint8_t **data,
                     size_t *size, struct load_error *err)
{
    struct stat st;
    uint8_t *buf;
    size_t done = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return load_fail(err, LOAD_ERR_OPEN, "%s%s: cannot open: %s", what,
                         path, strerror(errno));
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return load_fail(err, LOAD_ERR_OPEN, "%s%s: not a regular file", what,
                         path);
    }
    if ((uint64_t)st.st_size > KERNEL_FILE_MAX) {
        close(fd);
        return load_fail(err, LOAD_ERR_TOO_BIG,
                         "%s%s: file too large (%lld bytes)", what, path,
                         (long long)st.st_size);
    }
    buf = malloc(st.st_size ? (size_t)st.st_size : 1);
    if (!buf) {
        close(fd);
        return load_fail(err, LOAD_ERR_OPEN, "%s%s: out of memory", what, path);
    }
    while (done < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + done, (size_t)st.st_size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            free(buf);
            close(fd);
            return load_fail(err, LOAD_ERR_OPEN, "%s%s: cannot read: %s", what,
                             path, strerror(e));
        }
        done += (size_t)n;
    }
    close(fd);
    *data = buf;
    *size = done;
    return 0;
}

/* Hand the kernel (and initrd) to the format that claims the kernel. */
static int load_image(const struct kernel_format *fmt,
                      const struct kernel_image *img,
                      const struct boot_files *files,
                      const struct boot_target *t, struct load_error *err)
{
    if (!fmt->load_initrd) {
        if (files->initrd)
            return load_fail(err, LOAD_ERR_INITRD,
                             "%s: --initrd is for Linux kernels; this is a "
                             "%s kernel", img->path, fmt->name);
        return fmt->load(img, files->append, t, err);
    }
    if (!files->initrd)
        return fmt->load_initrd(img, NULL, files->append, t, err);

    uint8_t *data = NULL;
    size_t size = 0;
    if (read_file("initrd ", files->initrd, &data, &size, err) < 0)
        return -1;
    struct initrd_image initrd = {
        .path = files->initrd, .data = data, .size = size,
    };
    int ret = fmt->load_initrd(img, &initrd, files->append, t, err);
    free(data);
    return ret;
}

int loader_boot(const struct boot_files *files, const struct boot_target *t,
                struct load_error *err)
{
    const char *path = files->kernel;
    uint8_t *data = NULL;
    size_t size = 0;
    int ret = -1;

    err->status = LOAD_OK;
    err->msg[0] = 0;
    if (read_file("", path, &data, &size, err) < 0)
        return -1;
    struct kernel_image img = { .path = path, .data = data, .size = size };
    size_t i;
    for (i = 0; i < sizeof(kernel_formats) / sizeof(kernel_formats[0]); i++) {
        if (kernel_formats[i].probe(&img)) {
            ret = load_image(&kernel_formats[i], &img, files, t, err);
            break;
        }
    }
    if (i == sizeof(kernel_formats) / sizeof(kernel_formats[0]))
        load_fail(err, LOAD_ERR_FORMAT,
                  "%s: not a Linux bzImage (no \"HdrS\" at 0x202) nor a "
                  "Multiboot kernel (no multiboot header in the first 8192 "
                  "bytes)", path);
    free(data);
    return ret;
}

int loader_load(const char *path, const char *append,
                const struct boot_target *t, struct load_error *err)
{
    const struct boot_files files = {
        .kernel = path, .initrd = NULL, .append = append,
    };
    return loader_boot(&files, t, err);
}
