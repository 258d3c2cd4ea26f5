/* The tpvm command line. */
#ifndef TPVM_VMM_OPTIONS_H
#define TPVM_VMM_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum vm_mode { VM_MODE_AUTO, VM_MODE_BT, VM_MODE_PV };

#define RAM_SIZE_DEFAULT (128ull << 20)
#define RAM_SIZE_MIN (2ull << 20)
#define RAM_SIZE_MAX (3ull << 30)

struct options {
    uint64_t ram_size;     /* bytes, page aligned, within MIN..MAX */
    const char *append;    /* kernel command line after the path; "" if none */
    const char *serial;    /* --serial spec, see chardev_open */
    enum vm_mode mode;
    const char *rom;           /* --rom FILE, NULL: the built-in VMI ROM */
    bool stats;            /* --stats in any form: counters at exit */
    bool stats_json;       /* --stats=json[:PATH]: one JSON object */
    const char *stats_path; /* --stats=FORMAT:PATH; NULL: stderr */
    bool trace;
    bool perf_map;         /* --perf-map: /tmp/perf-PID.map for perf */
    const char *kernel;
    const char *initrd;    /* --initrd FILE (Linux), NULL if none */
    /* --no-reboot: a guest reset (triple fault, reset request to a
     * device) ends tpvm with status 0, as QEMU's -no-reboot. */
    bool no_reboot;
};

/* Build identity (configure's VERSION and GIT_COMMIT), for --version
 * and the --stats JSON. */
extern const char tpvm_version[];
extern const char tpvm_git_commit[];

/* Parse argv into o. Returns -1 to go on and boot, or the exit status to
 * leave with (0 after --help/--version, 2 on a bad command line, with one
 * line on err). */
int options_parse(struct options *o, int argc, char **argv, FILE *out,
                  FILE *err);

/* QEMU-style size: "128" (MiB), "128M", "1G", "512K", "1.5G", "4096B".
 * Returns 0 or -1 if the text is not a size (range is not checked). */
int parse_size_mib(const char *s, uint64_t *bytes);

void options_print_help(FILE *out, const char *argv0);

#endif
