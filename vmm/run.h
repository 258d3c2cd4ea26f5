/* The run loop: drive the translator until the VM ends. */
#ifndef TPVM_VMM_RUN_H
#define TPVM_VMM_RUN_H

struct vm;

/* Runs the attached CPU until a device ends the VM or the guest dies.
 * Returns the process exit status (see vmm/exit_status.h). */
int vm_run(struct vm *vm);

#endif
