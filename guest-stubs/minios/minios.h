/* minios: a small paged, multitasking kernel whose privileged operations go
 * through a pv-ops table (Linux paravirt_ops style), bound to the VMI ROM
 * when one is found. Layout constants and the interfaces between files. */
#ifndef MINIOS_H
#define MINIOS_H

#include "layout.h"

#ifndef __ASSEMBLER__
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest.h"

/* ---- trap frame: what entry.S builds (segment pushes, PUSHA, vector,
 * error code, then what the CPU pushed; esp/ss only from ring 3) ---- */
struct trap_frame {
    uint32_t gs, fs, es, ds;
    uint32_t edi, esi, ebp, esp_pusha, ebx, edx, ecx, eax;
    uint32_t vector, error;
    uint32_t eip, cs, eflags;
    uint32_t esp, ss;
};

static inline bool from_user(const struct trap_frame *tf)
{
    return (tf->cs & 3) == 3;
}

__attribute__((noreturn, format(printf, 1, 2))) void panic(const char *fmt, ...);

/* ---- rom.c: finding and binding the VMI ROM ---- */
/* Scan for the ROM as Linux did; on success bind the pv-ops to it.
 * Returns true when the VMI path is active. Prints the path line. */
bool vmi_probe_and_bind(void);

/* ---- desc.c ---- */
void desc_init(void);
void tss_set_esp0(uint32_t ss0, uint32_t esp0); /* the native load_esp0 */

/* ---- mm.c: frames and address spaces ---- */
struct aspace {
    uint32_t *pd; /* page directory; physical == kernel virtual */
};
extern struct aspace kernel_as;

void mm_init(uint32_t ram_end);
uint32_t frame_alloc(void); /* a zeroed frame, or panics */
void frame_free(uint32_t pa);
uint32_t frames_free(void);
void aspace_create(struct aspace *as);
void aspace_load(const struct aspace *as); /* into CR3 */
void aspace_destroy(struct aspace *as);     /* must not be loaded in CR3 */
void aspace_clone(struct aspace *dst, const struct aspace *src);
/* Map a fresh zeroed frame at va (user, writable). False if mapped. */
bool aspace_map_zero(struct aspace *as, uint32_t va);
/* Unmap [va, va + n pages); returns how many were mapped. */
uint32_t aspace_unmap(struct aspace *as, uint32_t va, uint32_t n);
bool aspace_is_mapped(const struct aspace *as, uint32_t va);
/* Present entries changed in place (the remap workload). remap: a fresh
 * frame holding value at va, the old one freed. swap_tables: va's 4 MiB
 * and the next trade their page tables. share: as uses owner's page
 * table for va's 4 MiB (false: owner has none, or as has one); unshare
 * must undo it before either space is destroyed. poke: write value at
 * va through the kernel's map of the frame (false: not mapped). */
void aspace_remap(struct aspace *as, uint32_t va, uint32_t value);
void aspace_swap_tables(struct aspace *as, uint32_t va);
bool aspace_poke(struct aspace *as, uint32_t va, uint32_t value);
bool aspace_share(struct aspace *as, const struct aspace *owner, uint32_t va);
void aspace_unshare(struct aspace *as, uint32_t va);

/* ---- task.c: tasks, scheduler, system calls ---- */
struct task_result {
    int tid;
    int exit_code;
    bool reported;
    uint32_t check;
    uint64_t cycles;
};

typedef __attribute__((regparm(2))) void user_entry_fn(uint32_t a0,
                                                     uint32_t a1);
struct task;

void task_init(void);
/* A ring-3 task in a new address space, started at entry(a0, a1) with
 * an empty demand-zero stack. It runs once the caller blocks. */
struct task *task_spawn(user_entry_fn *entry, uint32_t a0, uint32_t a1);
int task_tid(const struct task *t);
void task_set_args(struct task *t, uint32_t a0, uint32_t a1);
/* Wait for a child of the current task to exit: returns false when it
 * has none. */
bool task_wait(struct task_result *out);
void schedule(void);
struct aspace *current_aspace(void);
void syscall_dispatch(struct trap_frame *tf);
__attribute__((noreturn)) void task_exit(int code);
bool task_others_runnable(void);
extern bool need_resched;

/* ---- timer.c ---- */
extern volatile uint32_t timer_ticks;
void timer_init(void);
void timer_irq(struct trap_frame *tf);
void pic_eoi(unsigned irq);

/* ---- trap.c ---- */
void trap_dispatch(struct trap_frame *tf);
extern uint32_t page_faults;

/* ---- entry.S ---- */
extern const uint32_t trap_stubs[256];
void trap_return(void);
void switch_stack(uint32_t *save_esp, uint32_t new_esp);

/* ---- user.c: ring-3 programs (see user.h) ---- */
extern const char user_text_start[], user_text_end[];

/* ---- bench.c ---- */
void bench_run_all(void);

/* ---- small helpers ---- */
static inline uint32_t page_round_up(uint32_t x)
{
    return (x + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
}

#endif /* !__ASSEMBLER__ */
#endif
