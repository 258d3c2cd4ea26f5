/* --stats: every counter list (translator, port I/O, monitor) as text or as
 * one JSON object (--stats=json, read by perf/bench.sh). */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>
#include <sys/resource.h>

#include "vmm/vm.h"

#ifdef VM_HAS_VMI
#include "vmm/vmi.h"
#endif

static void print_text(const struct vm *vm, FILE *out)
{
    const struct bt_stats *bs = vm->bt ? bt_get_stats(vm->bt) : NULL;

    fprintf(out, "tpvm stats:\n");
    if (bs) {
#define X(name, desc) \
        fprintf(out, "  bt  %-22s %14" PRIu64 "  %s\n", #name, bs->name, desc);
        BT_STATS(X)
#undef X
        for (int v = 0; v < 32; v++)
            if (bs->exc_by_vector[v])
                fprintf(out, "  bt  exception vector %-3d %14" PRIu64 "  delivered\n",
                        v, bs->exc_by_vector[v]);
        for (int v = 0; v < 256; v++)
            if (bs->int_by_vector[v])
                fprintf(out, "  bt  interrupt vector %-3d %14" PRIu64 "  delivered\n",
                        v, bs->int_by_vector[v]);
        for (int k = 0; k < BT_HK_COUNT; k++)
            if (bs->helper_by_kind[k])
                fprintf(out, "  bt  helper %-15s %14" PRIu64 "  calls\n",
                        bt_helper_kind_name(k), bs->helper_by_kind[k]);
    }
#define X(name, desc) \
    fprintf(out, "  vmm %-22s %14" PRIu64 "  %s\n", #name, vm->stats.name, desc);
    VM_STATS(X)
#undef X
    fprintf(out, "  vmm %-22s %14" PRIu64 "  %s\n", "serial_bytes_out",
            vm->serial.bytes_out, "bytes the guest sent to COM1");
    fprintf(out, "  vmm %-22s %14" PRIu64 "  %s\n", "serial_bytes_in",
            __atomic_load_n(&vm->serial.bytes_in, __ATOMIC_RELAXED),
            "bytes read from the host for COM1");
#ifdef VM_HAS_VMI
    if (vm->vmi)
        vmi_print_stats(vm->vmi, out);
#endif
    ioport_print_stats(&vm->io, out);
}

/* ---- JSON: pretty-printed, one member per line, so that line tools
 * (perf/json_flatten.awk, grep) read it as easily as a JSON parser. */

#define JSON_MAX_DEPTH 8

struct json {
    FILE *f;
    int depth;
    bool has_members[JSON_MAX_DEPTH]; /* a comma is due before the next */
};

/* Starts a member (key may be NULL inside an array). */
static void json_member(struct json *j, const char *key)
{
    fprintf(j->f, "%s\n%*s", j->has_members[j->depth] ? "," : "",
            2 * j->depth, "");
    j->has_members[j->depth] = true;
    if (key)
        fprintf(j->f, "\"%s\": ", key); /* keys are C identifiers */
}

static void json_open(struct json *j, const char *key, char bracket)
{
    if (j->depth > 0 || key)
        json_member(j, key);
    fputc(bracket, j->f);
    j->depth++;
    j->has_members[j->depth] = false;
}

static void json_close(struct json *j, char bracket)
{
    bool empty = !j->has_members[j->depth];
    j->depth--;
    if (!empty)
        fprintf(j->f, "\n%*s", 2 * j->depth, "");
    fputc(bracket, j->f);
}

static void json_u64(struct json *j, const char *key, uint64_t v)
{
    json_member(j, key);
    fprintf(j->f, "%" PRIu64, v);
}

static void json_str(struct json *j, const char *key, const char *s)
{
    json_member(j, key);
    fputc('"', j->f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(j->f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(j->f, "\\u%04x", *p);
        else
            fputc(*p, j->f);
    }
    fputc('"', j->f);
}

/* {"3": n, ...} over the nonzero entries of counts[0..n-1]. */
static void json_by_index(struct json *j, const char *key,
                          const uint64_t *counts, int n)
{
    char idx[16];
    json_open(j, key, '{');
    for (int i = 0; i < n; i++) {
        if (counts[i]) {
            snprintf(idx, sizeof(idx), "%d", i);
            json_u64(j, idx, counts[i]);
        }
    }
    json_close(j, '}');
}

static void json_bt(struct json *j, const struct bt_stats *bs)
{
    json_open(j, "bt", '{');
#define X(name, desc) json_u64(j, #name, bs->name);
    BT_STATS(X)
#undef X
    json_by_index(j, "exc_by_vector", bs->exc_by_vector, 32);
    json_by_index(j, "int_by_vector", bs->int_by_vector, 256);
    json_open(j, "helper_by_kind", '{');
    for (int k = 0; k < BT_HK_COUNT; k++)
        json_u64(j, bt_helper_kind_name(k), bs->helper_by_kind[k]);
    json_close(j, '}');
    json_close(j, '}');
}

static void json_vmm(struct json *j, const struct vm *vm)
{
    json_open(j, "vmm", '{');
#define X(name, desc) json_u64(j, #name, vm->stats.name);
    VM_STATS(X)
#undef X
    json_u64(j, "serial_bytes_out", vm->serial.bytes_out);
    json_u64(j, "serial_bytes_in",
             __atomic_load_n(&vm->serial.bytes_in, __ATOMIC_RELAXED));
    json_close(j, '}');
}

/* Port I/O per device range, as an array: names need not be unique. */
static void json_io(struct json *j, const struct ioport_table *t)
{
    json_open(j, "io", '[');
    for (unsigned i = 0; i < t->count; i++) {
        const struct ioport_range *r = &t->ranges[i];
        json_open(j, NULL, '{');
        json_str(j, "name", r->name ? r->name : "?");
        json_u64(j, "first_port", r->base);
        json_u64(j, "last_port", (uint64_t)r->base + r->len - 1);
        json_u64(j, "reads", r->reads);
        json_u64(j, "writes", r->writes);
        json_close(j, '}');
    }
    json_open(j, NULL, '{');
    json_str(j, "name", "unassigned");
    json_u64(j, "reads", t->unassigned_reads);
    json_u64(j, "writes", t->unassigned_writes);
    json_close(j, '}');
    json_close(j, ']');
}

#ifdef VM_HAS_VMI
static void json_vmi(struct json *j, const struct vmi_stats *s)
{
    static const char *const names[VMI_CALL_COUNT] = {
#define X(n) [VMI_CALL_##n] = #n,
        VMI_CALLS(X)
#undef X
    };
    json_open(j, "vmi", '{');
#define X(name, desc) json_u64(j, #name, s->name);
    VMI_STATS(X)
#undef X
    json_open(j, "calls", '{');
    for (int i = 0; i < VMI_CALL_COUNT; i++)
        if (s->calls[i] && names[i])
            json_u64(j, names[i], s->calls[i]);
    json_close(j, '}');
    json_close(j, '}');
}
#endif

/* The tpvm process's own cost, beside the guest's counters. */
static void json_host(struct json *j)
{
    struct rusage ru;
    json_open(j, "host", '{');
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        json_u64(j, "user_us", (uint64_t)ru.ru_utime.tv_sec * 1000000 +
                                   (uint64_t)ru.ru_utime.tv_usec);
        json_u64(j, "sys_us", (uint64_t)ru.ru_stime.tv_sec * 1000000 +
                                  (uint64_t)ru.ru_stime.tv_usec);
        json_u64(j, "max_rss_kib", (uint64_t)ru.ru_maxrss);
        json_u64(j, "minor_faults", (uint64_t)ru.ru_minflt);
        json_u64(j, "major_faults", (uint64_t)ru.ru_majflt);
        json_u64(j, "voluntary_switches", (uint64_t)ru.ru_nvcsw);
        json_u64(j, "involuntary_switches", (uint64_t)ru.ru_nivcsw);
    }
    json_close(j, '}');
}

static const char *mode_name(const struct options *o)
{
    if (!o)
        return "unknown";
    switch (o->mode) {
    case VM_MODE_BT: return "bt";
    case VM_MODE_PV: return "pv";
    case VM_MODE_AUTO: return "auto";
    }
    return "unknown";
}

static void print_json(const struct vm *vm, FILE *out)
{
    struct json j = { .f = out };

    json_open(&j, NULL, '{');
    json_u64(&j, "schema", 1); /* bumped when a member changes meaning */
    json_str(&j, "version", tpvm_version);
    json_str(&j, "commit", tpvm_git_commit);
    json_str(&j, "mode", mode_name(vm->opts));
    json_u64(&j, "run_time_us", vm->stats.run_time_us);
    json_host(&j);
    if (vm->bt)
        json_bt(&j, bt_get_stats(vm->bt));
    json_vmm(&j, vm);
#ifdef VM_HAS_VMI
    if (vm->vmi)
        json_vmi(&j, vmi_get_stats(vm->vmi));
#endif
    json_io(&j, &vm->io);
    json_close(&j, '}');
    fputc('\n', out);
}

/* Prints to out, unless --stats=FORMAT:PATH named a file; in the format
 * --stats asked for (text unless --stats=json). */
void vm_print_stats(const struct vm *vm, FILE *out)
{
    const struct options *o = vm->opts;
    FILE *file = NULL;

    if (o && o->stats_path) {
        file = fopen(o->stats_path, "w");
        if (!file) {
            fprintf(stderr, "tpvm: --stats: cannot write %s: %s\n",
                    o->stats_path, strerror(errno));
            return;
        }
        out = file;
    }
    if (o && o->stats_json)
        print_json(vm, out);
    else
        print_text(vm, out);
    if (file && fclose(file) != 0)
        fprintf(stderr, "tpvm: --stats: cannot write %s: %s\n",
                o->stats_path, strerror(errno));
}
