/* The run loop: call the translator, decide what each exit means. */
#include "vmm/run.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "vmm/diagnose.h"
#include "vmm/exit_status.h"
#include "vmm/vm.h"

static uint64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Something could still raise an interrupt: a device deadline is armed,
 * or serial input may come. */
static bool interrupt_can_arrive(struct vm *vm)
{
    return timers_armed(&vm->timers) || !chardev_input_ended(&vm->serial) ||
           chardev_input_pending(&vm->serial);
}

/* Exception delivery through the IDT arrives in a later milestone. When
 * it does, this pushes the frame and moves EIP to the handler and returns
 * true; a fault while delivering becomes #DF, and a fault during #DF a
 * triple fault (returns false). */
static bool deliver_exception(struct vm *vm)
{
    (void)vm;
    return false;
}

static int guest_died(struct vm *vm, const char *reason, bool exception)
{
    vm_diagnose(vm, reason, exception, stderr);
    return TPVM_EXIT_GUEST_DIED;
}

/* HLT with IF=1: sleep (no busy wait) until a device deadline passes or
 * input arrives, run the device timers, and go back to the guest once the
 * PIC asserts INTR. Returns -1 to run the guest, or an exit status. */
static int idle_until_interrupt(struct vm *vm)
{
    for (;;) {
        timers_run_due(&vm->timers);
        if (vm->exit_requested || vm->cpu->irq_pending)
            return -1;
        if (!interrupt_can_arrive(vm))
            return guest_died(vm, "guest halted waiting for an interrupt "
                                  "that no device can raise any more (EIP "
                                  "is past the HLT)", false);
        uint64_t t0 = now_us();
        timers_idle_wait(&vm->timers);
        vm->stats.idle_waits++;
        vm->stats.idle_time_us += now_us() - t0;
    }
}

/* What to do after bt_run returned why. Returns an exit status, or -1 to
 * run the guest again. */
static int handle_exit(struct vm *vm, int why)
{
    struct cpu *cpu = vm->cpu;

    switch (why) {
    case BT_EXIT_REQUEST:
        return -1; /* a request that did not end the VM: just go on */
    case BT_EXIT_HLT:
        if (!(cpu->eflags & FL_IF))
            return guest_died(vm, "guest halted with interrupts disabled "
                                  "(EIP is past the HLT)", false);
        return idle_until_interrupt(vm);
    case BT_EXIT_EXCEPTION:
        if (deliver_exception(vm))
            return -1;
        return guest_died(vm, cpu->idtr.limit == 0
                                  ? "unhandled exception with no IDT loaded "
                                    "(a real CPU would triple-fault)"
                                  : "unhandled exception (delivery through "
                                    "the IDT is not implemented yet)",
                          true);
    case BT_EXIT_SHUTDOWN:
        /* The CPU could not deliver an exception, nor the double fault
         * that followed: a real machine resets. Linux reboots this way
         * (reboot=t); with --no-reboot that ends the run cleanly, as
         * QEMU's -no-reboot does. */
        if (vm->opts->no_reboot) {
            fprintf(stderr, "tpvm: the guest reset the machine (triple "
                            "fault); --no-reboot: exiting\n");
            return 0;
        }
        return guest_died(vm, cpu->idtr.limit == 0
                                  ? "triple fault: exception with no IDT loaded"
                                  : "triple fault: the exception below could "
                                    "not be delivered, nor the double fault",
                          true);
    case BT_EXIT_INTERNAL:
        vm_diagnose(vm, "internal error in the translator", false, stderr);
        return TPVM_EXIT_INTERNAL;
    default:
        vm_diagnose(vm, "the translator returned an unknown exit reason",
                    false, stderr);
        return TPVM_EXIT_INTERNAL;
    }
}

static void count_exit(struct vm *vm, int why)
{
    vm->stats.run_loop_iterations++;
    switch (why) {
    case BT_EXIT_REQUEST: vm->stats.exits_request++; break;
    case BT_EXIT_HLT: vm->stats.exits_hlt++; break;
    case BT_EXIT_EXCEPTION: vm->stats.exits_exception++; break;
    case BT_EXIT_INTERNAL: vm->stats.exits_internal++; break;
    }
}

int vm_run(struct vm *vm)
{
    uint64_t start = now_us();
    int status = -1;
    int ret = timers_start_thread(&vm->timers);

    if (ret < 0) {
        fprintf(stderr, "tpvm: cannot start the timer thread: %s\n",
                strerror(-ret));
        return TPVM_EXIT_INTERNAL;
    }
    while (status < 0 && !vm->exit_requested) {
        /* Re-arm: the previous stop request has been handled. */
        __atomic_store_n(&vm->cpu->run, 1, __ATOMIC_RELEASE);
        /* Device work: the timers that are due raise their IRQs now. This
         * comes after the store above, so a kick that the store erased
         * (deadline passed meanwhile) is not lost. */
        timers_run_due(&vm->timers);
        if (vm->exit_requested)
            break;
        int why = bt_run(vm->cpu);
        count_exit(vm, why);
        /* The guest stopped: show its output before any diagnosis. */
        vm_flush_devices(vm);
        if (vm->exit_requested) {
            /* A device ended the VM; whatever the CPU did after that
             * (HLT, a fault) no longer matters, as under QEMU where the
             * process is gone by then. */
            break;
        }
        status = handle_exit(vm, why);
    }
    timers_stop_thread(&vm->timers);
    if (vm->exit_requested)
        status = vm->exit_status;
    vm->stats.run_time_us += now_us() - start;
    vm->stats.timer_kicks = __atomic_load_n(&vm->timers.kicks, __ATOMIC_RELAXED);
    vm->stats.timer_callbacks = vm->timers.callbacks;
    vm->stats.input_posts = __atomic_load_n(&vm->timers.posts, __ATOMIC_RELAXED);
    return status;
}
