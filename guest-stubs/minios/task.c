/* minios: tasks, the round-robin scheduler and the system calls. Task 0
 * is the kernel's boot thread (ring 0, kernel address space); the others
 * are ring-3 tasks, each with its own page directory and kernel stack.
 * The kernel is not preemptible: switches happen when a task blocks or
 * yields, or on the way back to ring 3 after a timer tick. */
#include "minios.h"
#include "pvops.h"
#include "vmi_abi.h"

enum task_state { T_FREE, T_RUNNABLE, T_BLOCKED, T_ZOMBIE };
enum wait_kind { W_NONE, W_CHILD, W_RECV, W_SEND };

struct task {
    enum task_state state;
    int tid;
    struct aspace *as;
    struct aspace own_as;
    uint32_t ksp;           /* saved kernel ESP while not running */
    struct task *parent;
    enum wait_kind wait;
    int wait_tid;
    bool mbox_full;
    uint32_t mbox;
    struct task_result result;
};

static struct task tasks[MAX_TASKS];
static uint8_t kstacks[MAX_TASKS][KSTACK_SIZE] __attribute__((aligned(PAGE_SIZE)));
static struct task *current;
static int next_tid = 1;
bool need_resched;

static uint32_t kstack_top(const struct task *t)
{
    return (uint32_t)kstacks[t - tasks] + KSTACK_SIZE;
}

void task_init(void)
{
    current = &tasks[0];
    current->state = T_RUNNABLE;
    current->tid = 0;
    current->as = &kernel_as;
}

struct aspace *current_aspace(void)
{
    return current->as;
}

int task_tid(const struct task *t)
{
    return t->tid;
}

static struct task *task_by_tid(int tid)
{
    for (unsigned i = 0; i < MAX_TASKS; i++)
        if (tasks[i].state != T_FREE && tasks[i].tid == tid)
            return &tasks[i];
    return NULL;
}

static struct task *task_alloc(void)
{
    for (unsigned i = 1; i < MAX_TASKS; i++) {
        if (tasks[i].state == T_FREE) {
            struct task *t = &tasks[i];
            *t = (struct task){.tid = next_tid++, .parent = current,
                               .as = &t->own_as};
            t->result.tid = t->tid;
            return t;
        }
    }
    panic("no free task slot");
}

/* The new task's kernel stack: its first trap frame, below it what
 * switch_stack pops (four registers and trap_return as return address). */
static void task_start_frame(struct task *t, const struct trap_frame *tf)
{
    uint32_t sp = kstack_top(t) - sizeof *tf;
    memcpy((void *)sp, tf, sizeof *tf);
    sp -= 4;
    *(uint32_t *)sp = (uint32_t)trap_return;
    sp -= 16;
    memset((void *)sp, 0, 16);
    t->ksp = sp;
}

static struct trap_frame *task_first_frame(struct task *t)
{
    return (struct trap_frame *)(kstack_top(t) - sizeof(struct trap_frame));
}

struct task *task_spawn(user_entry_fn *entry, uint32_t a0, uint32_t a1)
{
    struct task *t = task_alloc();
    aspace_create(t->as);
    struct trap_frame tf = {
        .gs = SEL_UDATA, .fs = SEL_UDATA, .es = SEL_UDATA, .ds = SEL_UDATA,
        .eax = a0, .edx = a1,
        .eip = (uint32_t)entry, .cs = SEL_UCODE, .eflags = 0x2 | EFLAGS_IF,
        .esp = USER_STACK_TOP - 16, .ss = SEL_UDATA,
    };
    task_start_frame(t, &tf);
    t->state = T_RUNNABLE;
    return t;
}

void task_set_args(struct task *t, uint32_t a0, uint32_t a1)
{
    task_first_frame(t)->eax = a0;
    task_first_frame(t)->edx = a1;
}

/* Round robin from the task after current; current itself last. */
static struct task *pick_next(void)
{
    unsigned me = (unsigned)(current - tasks);
    for (unsigned k = 1; k <= MAX_TASKS; k++) {
        struct task *t = &tasks[(me + k) % MAX_TASKS];
        if (t->state == T_RUNNABLE)
            return t;
    }
    return NULL;
}

bool task_others_runnable(void)
{
    struct task *t = pick_next();
    return t && t != current;
}

void schedule(void)
{
    need_resched = false;
    struct task *prev = current, *next = pick_next();
    if (!next)
        panic("every task is blocked");
    if (next == prev)
        return;
    if (next->as != prev->as)
        aspace_load(next->as);
    if (next != &tasks[0])
        load_esp0(SEL_KDATA, kstack_top(next));
    current = next;
    switch_stack(&prev->ksp, next->ksp);
}

static void block(enum wait_kind w, int tid)
{
    current->state = T_BLOCKED;
    current->wait = w;
    current->wait_tid = tid;
    schedule();
    current->wait = W_NONE;
}

static void wake(struct task *t, enum wait_kind w)
{
    if (t->state == T_BLOCKED && t->wait == w)
        t->state = T_RUNNABLE;
}

void task_exit(int code)
{
    struct task *t = current;
    if (t == &tasks[0])
        panic("the kernel task exited");
    t->result.exit_code = code;
    t->state = T_ZOMBIE;
    wake(t->parent, W_CHILD);
    schedule();
    panic("a zombie ran");
}

/* Reap one exited child, blocking until there is one. */
bool task_wait(struct task_result *out)
{
    for (;;) {
        bool children = false;
        for (unsigned i = 1; i < MAX_TASKS; i++) {
            struct task *t = &tasks[i];
            if (t->state == T_FREE || t->parent != current)
                continue;
            children = true;
            if (t->state != T_ZOMBIE)
                continue;
            /* the child's directory is not loaded: we are running */
            *out = t->result;
            aspace_destroy(t->as);
            for (unsigned j = 1; j < MAX_TASKS; j++)
                if (tasks[j].parent == t)
                    tasks[j].parent = &tasks[0];
            t->state = T_FREE;
            return true;
        }
        if (!children)
            return false;
        block(W_CHILD, 0);
    }
}

/* ---- system calls ---- */

static bool user_range_ok(uint32_t addr, uint32_t len)
{
    return addr >= USER_BASE && addr < USER_END && len <= USER_END - addr;
}

static uint32_t sys_write(uint32_t buf, uint32_t len)
{
    if (!user_range_ok(buf, len))
        return (uint32_t)-1;
    /* as a console driver under a spinlock: flags saved, IRQs off */
    uint32_t flags = save_fl();
    irq_disable();
    for (uint32_t i = 0; i < len; i++)
        serial_putc(((const char *)buf)[i]);
    restore_fl(flags);
    return len;
}

static uint32_t sys_mmap(uint32_t addr, uint32_t pages)
{
    if ((addr & (PAGE_SIZE - 1)) || pages > 1024 ||
        !user_range_ok(addr, pages * PAGE_SIZE))
        return (uint32_t)-1;
    for (uint32_t k = 0; k < pages; k++)
        if (aspace_is_mapped(current->as, addr + k * PAGE_SIZE))
            return (uint32_t)-1;
    lazy_mode(VMI_LAZY_MODE_MMU_UPDATES);
    for (uint32_t k = 0; k < pages; k++)
        aspace_map_zero(current->as, addr + k * PAGE_SIZE);
    lazy_mode(VMI_LAZY_MODE_OFF);
    return 0;
}

static uint32_t sys_munmap(uint32_t addr, uint32_t pages)
{
    if ((addr & (PAGE_SIZE - 1)) || pages > 1024 ||
        !user_range_ok(addr, pages * PAGE_SIZE))
        return (uint32_t)-1;
    return aspace_unmap(current->as, addr, pages);
}

static uint32_t sys_fork(const struct trap_frame *tf)
{
    struct task *t = task_alloc();
    aspace_clone(t->as, current->as);
    struct trap_frame child = *tf;
    child.eax = 0;
    task_start_frame(t, &child);
    t->state = T_RUNNABLE;
    return (uint32_t)t->tid;
}

static uint32_t sys_wait(void)
{
    struct task_result r;
    return task_wait(&r) ? (uint32_t)r.exit_code : (uint32_t)-1;
}

static uint32_t sys_send(int tid, uint32_t msg)
{
    struct task *t = task_by_tid(tid);
    if (!t || t == current || t->state == T_ZOMBIE)
        return (uint32_t)-1;
    while (t->mbox_full)
        block(W_SEND, tid);
    t->mbox = msg;
    t->mbox_full = true;
    wake(t, W_RECV);
    return 0;
}

static uint32_t sys_recv(void)
{
    while (!current->mbox_full)
        block(W_RECV, 0);
    uint32_t msg = current->mbox;
    current->mbox_full = false;
    for (unsigned i = 0; i < MAX_TASKS; i++)
        if (tasks[i].wait == W_SEND && tasks[i].wait_tid == current->tid)
            wake(&tasks[i], W_SEND);
    return msg;
}

/* The remap workload's calls: tid 0 is the caller. */
static struct aspace *target_aspace(int tid, uint32_t va)
{
    struct task *t = tid ? task_by_tid(tid) : current;
    if (!t || t == &tasks[0] || t->state == T_ZOMBIE ||
        !user_range_ok(va, PAGE_SIZE))
        return NULL;
    return t->as;
}

static uint32_t sys_remap(unsigned nr, int tid, uint32_t va, uint32_t value)
{
    struct aspace *as = target_aspace(tid, va);
    if (!as)
        return (uint32_t)-1;
    switch (nr) {
    case SYS_REMAP:
        aspace_remap(as, va, value);
        return 0;
    case SYS_SWAPTABLES:
        if (va >= USER_END - (4u << 20))
            return (uint32_t)-1;
        aspace_swap_tables(as, va);
        return 0;
    case SYS_POKE:
        return aspace_poke(as, va, value) ? 0 : (uint32_t)-1;
    case SYS_SHARE:
        return as != current->as && aspace_share(current->as, as, va)
                   ? 0 : (uint32_t)-1;
    default: /* SYS_UNSHARE, of the caller's own space */
        if (as != current->as)
            return (uint32_t)-1;
        aspace_unshare(as, va);
        return 0;
    }
}

void syscall_dispatch(struct trap_frame *tf)
{
    uint32_t b = tf->ebx, c = tf->ecx, d = tf->edx, r;
    switch (tf->eax) {
    case SYS_GETTID: r = (uint32_t)current->tid; break;
    case SYS_YIELD: schedule(); r = 0; break;
    case SYS_EXIT: task_exit((int)b);
    case SYS_WRITE: r = sys_write(b, c); break;
    case SYS_MMAP: r = sys_mmap(b, c); break;
    case SYS_MUNMAP: r = sys_munmap(b, c); break;
    case SYS_FORK: r = sys_fork(tf); break;
    case SYS_WAIT: r = sys_wait(); break;
    case SYS_SEND: r = sys_send((int)b, c); break;
    case SYS_RECV: r = sys_recv(); break;
    case SYS_REMAP:
    case SYS_SWAPTABLES:
    case SYS_SHARE:
    case SYS_UNSHARE:
    case SYS_POKE:
        r = sys_remap(tf->eax, (int)b, c, d);
        break;
    case SYS_RESULT:
        current->result.reported = true;
        current->result.check = b;
        current->result.cycles = (uint64_t)d << 32 | c;
        r = 0;
        break;
    default: r = (uint32_t)-1; break;
    }
    tf->eax = r;
}
