/* The report printed when the guest dies: why, and the whole CPU state. */
#ifndef TPVM_VMM_DIAGNOSE_H
#define TPVM_VMM_DIAGNOSE_H

#include <stdbool.h>
#include <stdio.h>

struct vm;

/* Reason line, the pending exception (when exception is true: vector,
 * error code, faulting EIP, CR2 for #PF), registers, EFLAGS decoded,
 * segments, control registers and the instruction at EIP. */
void vm_diagnose(struct vm *vm, const char *reason, bool exception,
                 FILE *out);

/* "#GP" / "general protection" for a vector; "?" / "reserved" if unknown. */
const char *exception_mnemonic(int vector);
const char *exception_name(int vector);

#endif
