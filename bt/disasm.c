/* Human-readable guest disassembly with Capstone, for --trace and crash
 * reports. */
#include <stdio.h>

#include <capstone/capstone.h>

#include "bt/bt.h"

int bt_disasm(const uint8_t *code, size_t avail, uint32_t eip, char *buf,
              size_t bufsize)
{
    csh h;
    if (cs_open(CS_ARCH_X86, CS_MODE_32, &h) != CS_ERR_OK)
        return 0;
    cs_insn *insn;
    int len = 0;
    size_t n = cs_disasm(h, code, avail, eip, 1, &insn);
    if (n > 0) {
        snprintf(buf, bufsize, "%s %s", insn[0].mnemonic, insn[0].op_str);
        len = insn[0].size;
        cs_free(insn, n);
    }
    cs_close(&h);
    return len;
}

/* Host code of one block, for TPVM_TRACE_HOST=1 (translator debugging). */
void bt_disasm_host(FILE *out, const uint8_t *code, size_t len)
{
    csh h;
    if (cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK)
        return;
    cs_insn *insn;
    size_t n = cs_disasm(h, code, len, (uint64_t)(uintptr_t)code, 0, &insn);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "    %012lx  %s %s\n", (unsigned long)insn[i].address,
                insn[i].mnemonic, insn[i].op_str);
    if (n)
        cs_free(insn, n);
    cs_close(&h);
}
