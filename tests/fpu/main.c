/* The x87 suite: tpvm's translator running guest x87 code on the host
 * FPU, compared with Unicorn and checked against the SDM's rules. */
#include "tests/fpu/groups.h"
#include "tests/fpu/runner.h"

int main(void)
{
    runner_install_fault_handler();
    int failed = run_diff_tests();
    failed += run_system_tests();
    return failed ? 1 : 0;
}
