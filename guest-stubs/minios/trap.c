/* minios: where every interrupt, exception and system call lands. Page
 * faults on absent user pages map a zeroed frame (demand-zero); other
 * faults end a ring-3 task, or the kernel. */
#include "minios.h"
#include "pvops.h"

uint32_t page_faults;

static const char *const exception_names[20] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO",
    "#TS", "#NP", "#SS", "#GP", "#PF", "15", "#MF", "#AC", "#MC", "#XM",
};

static void fatal(const struct trap_frame *tf, uint32_t cr2)
{
    const char *name = tf->vector < 20 ? exception_names[tf->vector] : "vector";
    if (from_user(tf)) {
        printf("minios: task killed: %s (%u) error %x at %x, cr2 %x\n", name,
               tf->vector, tf->error, tf->eip, cr2);
        task_exit(-1);
    }
    panic("%s (%u) in the kernel: error %x at %x, cr2 %x", name, tf->vector,
          tf->error, tf->eip, cr2);
}

/* Not-present faults in user space, from ring 3 or from the kernel
 * reading a user buffer: a fresh zeroed page. */
static void page_fault(struct trap_frame *tf)
{
    uint32_t cr2 = read_cr2();
    if (!(tf->error & PTE_P) && cr2 >= USER_BASE && cr2 < USER_END &&
        aspace_map_zero(current_aspace(), cr2 & ~(PAGE_SIZE - 1))) {
        page_faults++;
        return;
    }
    fatal(tf, cr2);
}

void trap_dispatch(struct trap_frame *tf)
{
    if (tf->vector == VEC_SYSCALL)
        syscall_dispatch(tf);
    else if (tf->vector == VEC_PF)
        page_fault(tf);
    else if (tf->vector == VEC_IRQ0)
        timer_irq(tf);
    else if (tf->vector > VEC_IRQ0 && tf->vector < VEC_IRQ0 + 16)
        pic_eoi(tf->vector - VEC_IRQ0); /* masked; spurious IRQ 7/15 */
    else
        fatal(tf, 0);
    /* preemption point: only on the way back to ring 3 */
    if (from_user(tf) && need_resched)
        schedule();
}
