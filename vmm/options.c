/* The tpvm command line: parsing, validation and --help. */
#include "vmm/options.h"

#include <ctype.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/exit_status.h"

/* Build identity; the build passes both with -D (see config.mk). */
#ifndef TPVM_VERSION
#define TPVM_VERSION "unknown"
#endif
#ifndef TPVM_GIT_COMMIT
#define TPVM_GIT_COMMIT "unknown"
#endif

const char tpvm_version[] = TPVM_VERSION;
const char tpvm_git_commit[] = TPVM_GIT_COMMIT;

int parse_size_mib(const char *s, uint64_t *bytes)
{
    const char *p = s;
    unsigned shift = 20; /* a plain number means MiB, as in QEMU's -m */
    size_t digits = 0;

    while (isdigit((unsigned char)*p))
        p++, digits++;
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p))
            p++, digits++;
    }
    if (digits == 0)
        return -1;
    const char *number_end = p;
    if (*p) {
        switch (toupper((unsigned char)*p)) {
        case 'B': shift = 0; break;
        case 'K': shift = 10; break;
        case 'M': shift = 20; break;
        case 'G': shift = 30; break;
        case 'T': shift = 40; break;
        default: return -1;
        }
        if (*++p)
            return -1;
    }
    char num[64];
    size_t len = (size_t)(number_end - s);
    if (len >= sizeof(num))
        return -1;
    memcpy(num, s, len);
    num[len] = 0;
    long double v = strtold(num, NULL) * (long double)(1ull << shift);
    if (v >= 18446744073709551616.0L) /* 2^64 */
        return -1;
    *bytes = (uint64_t)v;
    return 0;
}

void options_print_help(FILE *out, const char *argv0)
{
    fprintf(out,
"usage: %s [options] KERNEL\n"
"\n"
"Run a 32-bit x86 kernel (Linux bzImage, or Multiboot v1 ELF32) by binary\n"
"translation.\n"
"\n"
"options:\n"
"  -m SIZE               guest RAM: a number of MiB (128) or a size with a\n"
"                        suffix B, K, M, G (512K, 128M, 1G, 1.5G); 2M to 3G;\n"
"                        default 128M\n"
"  --append STR          kernel command line; a Multiboot guest sees\n"
"                        \"KERNEL STR\", a Linux guest STR, as under QEMU's\n"
"                        -kernel/-append\n"
"  --initrd FILE         initial ramdisk for a Linux kernel (QEMU's -initrd)\n"
"  --no-reboot           exit (status 0) when the guest resets the machine\n"
"                        instead of rebooting it (QEMU's -no-reboot)\n"
"  --serial stdio|file:PATH\n"
"                        where COM1 goes: stdout (input from stdin, default)\n"
"                        or the file PATH (truncated; no input)\n"
"  --mode bt|pv|auto     bt: binary translation, no ROM; pv and auto\n"
"                        (default): also map the VMI ROM at 0xC0000, which\n"
"                        a VMI-aware guest finds and uses (paravirtual)\n"
"  --rom FILE            map FILE instead of the built-in VMI ROM\n"
"  --stats[=text|json][:PATH]\n"
"                        print translator, device and monitor counters at\n"
"                        exit: as text (default) or as one JSON object, to\n"
"                        stderr or to the file PATH (--stats=json:out.json)\n"
"  --trace               disassemble guest code to stderr as it is translated\n"
"  --perf-map            write /tmp/perf-PID.map naming each translated block\n"
"                        guest_EIP, so 'perf report' attributes host time to\n"
"                        guest code (perf/guest-profile.sh resolves symbols)\n"
"  -h, --help            print this help and exit\n"
"  --version             print the version and exit\n"
"\n"
"exit status:\n"
"  odd N    the guest wrote v to the debug-exit port (0xf4): N = (v << 1) | 1\n"
"           (low 8 bits), as QEMU's isa-debug-exit\n"
"  0        the guest powered off cleanly, or reset the machine under\n"
"           --no-reboot\n"
"  2        bad command line or input file\n"
"  4        the guest died (unhandled exception, triple fault, or halted\n"
"           with nothing to wake it); a diagnosis goes to stderr\n"
"  6        internal error in tpvm\n",
            argv0);
}

enum { OPT_APPEND = 256, OPT_SERIAL, OPT_MODE, OPT_STATS, OPT_TRACE,
       OPT_VERSION, OPT_INITRD, OPT_NO_REBOOT, OPT_ROM, OPT_PERF_MAP };

static const struct option long_options[] = {
    { "append", required_argument, NULL, OPT_APPEND },
    { "initrd", required_argument, NULL, OPT_INITRD },
    { "no-reboot", no_argument, NULL, OPT_NO_REBOOT },
    { "serial", required_argument, NULL, OPT_SERIAL },
    { "mode", required_argument, NULL, OPT_MODE },
    { "rom", required_argument, NULL, OPT_ROM },
    { "stats", optional_argument, NULL, OPT_STATS },
    { "trace", no_argument, NULL, OPT_TRACE },
    { "perf-map", no_argument, NULL, OPT_PERF_MAP },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, OPT_VERSION },
    { NULL, 0, NULL, 0 },
};

static int parse_ram(struct options *o, const char *arg, FILE *err)
{
    uint64_t bytes;

    if (parse_size_mib(arg, &bytes) < 0) {
        fprintf(err, "tpvm: -m %s: not a size (examples: 128, 512M, 1G)\n",
                arg);
        return -1;
    }
    if (bytes < RAM_SIZE_MIN || bytes > RAM_SIZE_MAX) {
        fprintf(err, "tpvm: -m %s: guest RAM must be between 2M and 3G\n",
                arg);
        return -1;
    }
    o->ram_size = (bytes + 4095) & ~4095ull; /* whole pages */
    return 0;
}

/* --stats, --stats=text|json, --stats=text|json:PATH. */
static int parse_stats(struct options *o, const char *arg, FILE *err)
{
    o->stats = true;
    if (!arg)
        return 0;
    const char *colon = strchr(arg, ':');
    size_t len = colon ? (size_t)(colon - arg) : strlen(arg);
    if (len == 4 && strncmp(arg, "json", 4) == 0) {
        o->stats_json = true;
    } else if (!(len == 4 && strncmp(arg, "text", 4) == 0)) {
        fprintf(err, "tpvm: --stats=%s: expected text or json, optionally "
                     "with :PATH\n", arg);
        return -1;
    }
    if (colon) {
        if (!colon[1]) {
            fprintf(err, "tpvm: --stats=%s: the file name after ':' is "
                         "missing\n", arg);
            return -1;
        }
        o->stats_path = colon + 1;
    }
    return 0;
}

static int parse_mode(struct options *o, const char *arg, FILE *err)
{
    if (strcmp(arg, "bt") == 0) {
        o->mode = VM_MODE_BT;
    } else if (strcmp(arg, "auto") == 0) {
        o->mode = VM_MODE_AUTO;
    } else if (strcmp(arg, "pv") == 0) {
        o->mode = VM_MODE_PV;
    } else {
        fprintf(err, "tpvm: --mode %s: expected bt, pv or auto\n", arg);
        return -1;
    }
    return 0;
}

int options_parse(struct options *o, int argc, char **argv, FILE *out,
                  FILE *err)
{
    const char *argv0 = argc > 0 ? argv[0] : "tpvm";
    int c;

    *o = (struct options){
        .ram_size = RAM_SIZE_DEFAULT,
        .append = "",
        .serial = "stdio",
        .mode = VM_MODE_AUTO,
    };
    optind = 0; /* full re-initialisation, so tests can parse twice */
    opterr = 0; /* our own messages, on err */
    while ((c = getopt_long(argc, argv, ":m:h", long_options, NULL)) != -1) {
        switch (c) {
        case 'm':
            if (parse_ram(o, optarg, err) < 0)
                return TPVM_EXIT_USAGE;
            break;
        case OPT_APPEND:
            o->append = optarg;
            break;
        case OPT_INITRD:
            if (!*optarg) {
                fprintf(err, "tpvm: --initrd needs a file name\n");
                return TPVM_EXIT_USAGE;
            }
            o->initrd = optarg;
            break;
        case OPT_NO_REBOOT:
            o->no_reboot = true;
            break;
        case OPT_SERIAL:
            if (strcmp(optarg, "stdio") != 0 &&
                !(strncmp(optarg, "file:", 5) == 0 && optarg[5])) {
                fprintf(err, "tpvm: --serial %s: expected stdio or "
                             "file:PATH\n", optarg);
                return TPVM_EXIT_USAGE;
            }
            o->serial = optarg;
            break;
        case OPT_ROM:
            o->rom = optarg;
            break;
        case OPT_MODE:
            if (parse_mode(o, optarg, err) < 0)
                return TPVM_EXIT_USAGE;
            break;
        case OPT_STATS:
            if (parse_stats(o, optarg, err) < 0)
                return TPVM_EXIT_USAGE;
            break;
        case OPT_TRACE:
            o->trace = true;
            break;
        case OPT_PERF_MAP:
            o->perf_map = true;
            break;
        case 'h':
            options_print_help(out, argv0);
            return 0;
        case OPT_VERSION:
            fprintf(out, "tpvm %s (commit %s)\n", tpvm_version,
                    tpvm_git_commit);
            return 0;
        case ':':
            fprintf(err, "tpvm: option '%s' needs a value (try --help)\n",
                    argv[optind - 1]);
            return TPVM_EXIT_USAGE;
        default:
            /* optopt names an unknown short option; for a long one
             * getopt leaves it 0 and has stepped past the argument. */
            if (optopt)
                fprintf(err, "tpvm: unknown option '-%c' (try --help)\n",
                        optopt);
            else
                fprintf(err, "tpvm: unknown option '%s' (try --help)\n",
                        argv[optind - 1]);
            return TPVM_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(err, "tpvm: no kernel given (usage: tpvm [options] KERNEL; "
                     "try --help)\n");
        return TPVM_EXIT_USAGE;
    }
    if (optind + 1 < argc) {
        fprintf(err, "tpvm: one kernel expected, got '%s' and '%s'\n",
                argv[optind], argv[optind + 1]);
        return TPVM_EXIT_USAGE;
    }
    o->kernel = argv[optind];
    return -1;
}
