/* Short names for host registers and the guest-to-host register map of
 * translated code (see the convention in bt/internal.h). */
#ifndef TPVM_BT_REGS_H
#define TPVM_BT_REGS_H

#include <Zydis/Zydis.h>

#define RAX ZYDIS_REGISTER_RAX
#define RCX ZYDIS_REGISTER_RCX
#define RDX ZYDIS_REGISTER_RDX
#define RBX ZYDIS_REGISTER_RBX
#define RSP ZYDIS_REGISTER_RSP
#define RBP ZYDIS_REGISTER_RBP
#define RSI ZYDIS_REGISTER_RSI
#define RDI ZYDIS_REGISTER_RDI
#define R8 ZYDIS_REGISTER_R8
#define R9 ZYDIS_REGISTER_R9
#define R10 ZYDIS_REGISTER_R10
#define R11 ZYDIS_REGISTER_R11
#define R12 ZYDIS_REGISTER_R12
#define R13 ZYDIS_REGISTER_R13
#define R14 ZYDIS_REGISTER_R14
#define R15 ZYDIS_REGISTER_R15
#define EAX ZYDIS_REGISTER_EAX
#define ECX ZYDIS_REGISTER_ECX
#define EDX ZYDIS_REGISTER_EDX
#define EBX ZYDIS_REGISTER_EBX
#define ESP ZYDIS_REGISTER_ESP
#define EBP ZYDIS_REGISTER_EBP
#define ESI ZYDIS_REGISTER_ESI
#define EDI ZYDIS_REGISTER_EDI
#define R8D ZYDIS_REGISTER_R8D
#define R9D ZYDIS_REGISTER_R9D
#define R10D ZYDIS_REGISTER_R10D
#define R11D ZYDIS_REGISTER_R11D
#define R12D ZYDIS_REGISTER_R12D
#define R13D ZYDIS_REGISTER_R13D
#define R14D ZYDIS_REGISTER_R14D
#define NOREG ZYDIS_REGISTER_NONE

/* Host 64-bit register holding guest register i (R_EAX..R_EDI). */
static const ZydisRegister guest_host64[8] = {RAX, R12, RDX, RBX,
                                              R14, RBP, RSI, RDI};
static const ZydisRegister guest_host32[8] = {EAX, R12D, EDX, EBX,
                                              R14D, EBP, ESI, EDI};
static const ZydisRegister guest_host16[8] = {
    ZYDIS_REGISTER_AX, ZYDIS_REGISTER_R12W, ZYDIS_REGISTER_DX, ZYDIS_REGISTER_BX,
    ZYDIS_REGISTER_R14W, ZYDIS_REGISTER_BP, ZYDIS_REGISTER_SI, ZYDIS_REGISTER_DI};

#endif
