/* The CPU tpvm presents: one consistent P6-class processor, a Pentium III
 * (family 6, model 8) as a 686 kernel expects, reporting only features
 * the translator really implements: x87 FPU, PSE, TSC, MSR, CX8,
 * SYSENTER/SYSEXIT, PGE, CMOV and FXSAVE/FXRSTOR. No local APIC (so
 * Linux needs no "nolapic"), no PAE, MTRR, MCE or PAT, and no MMX/SSE:
 * a guest that finds no bit never takes a path tpvm cannot run. */
#include <string.h>

#include "bt/cpu_sys.h"

#define F_FPU (1u << 0)
#define F_PSE (1u << 3)
#define F_TSC (1u << 4)
#define F_MSR (1u << 5)
#define F_CX8 (1u << 8)
#define F_SEP (1u << 11)
#define F_PGE (1u << 13)
#define F_CMOV (1u << 15)
#define F_FXSR (1u << 24)

void cpuid_model(uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
    (void)subleaf;
    memset(out, 0, 4 * sizeof out[0]);
    switch (leaf) {
    case 0:
        out[0] = 2;
        memcpy(&out[1], "Genu", 4); /* EBX EDX ECX = "GenuineIntel" */
        memcpy(&out[3], "ineI", 4);
        memcpy(&out[2], "ntel", 4);
        return;
    case 1:
        out[0] = 0x00000683; /* family 6, model 8, stepping 3 */
        out[3] = F_FPU | F_PSE | F_TSC | F_MSR | F_CX8 | F_SEP | F_PGE |
                 F_CMOV | F_FXSR;
        return;
    case 2:
        /* cache descriptors of a Pentium III: 16K L1 I/D, 256K L2, TLBs */
        out[0] = 0x03020101;
        out[3] = 0x0c040882;
        return;
    case 0x80000000:
        out[0] = 0; /* no extended leaves, like a Pentium III */
        return;
    default:
        /* above the maximum basic leaf: Intel returns the highest leaf */
        if (leaf < 0x80000000u)
            cpuid_model(2, 0, out);
        return;
    }
}
