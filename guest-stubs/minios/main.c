/* minios: boot. Find the VMI ROM first (before any pv-op runs), then set
 * up descriptors, paging, tasks and the clock through the pv-ops, run
 * the workloads and leave through isa-debug-exit.
 * Command line: "probe-only" stops after the path line. */
#include "minios.h"
#include "pvops.h"

void panic(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("minios: PANIC: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    guest_exit(3);
}

/* Is w one of the space-separated words of s? */
static bool has_word(const char *s, const char *w)
{
    for (const char *p = s; *p; p++) {
        if (p != s && p[-1] != ' ')
            continue;
        size_t i = 0;
        while (w[i] && p[i] == w[i])
            i++;
        if (!w[i] && (p[i] == '\0' || p[i] == ' '))
            return true;
    }
    return false;
}

int guest_main(uint32_t magic, struct multiboot_info *mbi)
{
    if (magic != MULTIBOOT_BOOTLOADER_MAGIC || !(mbi->flags & MULTIBOOT_INFO_MEMORY))
        panic("not booted by a Multiboot loader with memory information");
    /* everything from the boot information is read before paging */
    uint32_t ram_end = 0x100000 + mbi->mem_upper * 1024;
    bool probe_only = (mbi->flags & MULTIBOOT_INFO_CMDLINE) &&
                      has_word((const char *)mbi->cmdline, "probe-only");

    printf("minios: booting, %u MiB of RAM\n", ram_end >> 20);
    bool vmi = vmi_probe_and_bind();
    if (probe_only)
        return 0;

    irq_disable();
    desc_init();
    mm_init(ram_end);
    task_init();
    timer_init();
    printf("minios: paging on, %u frames free\n", frames_free());
    bench_run_all();
    printf("minios: done (%s path, %u page faults, %u ticks)\n",
           vmi ? "vmi" : "native", page_faults, timer_ticks);
    return 0;
}
