/* minios: the ring-3 programs the benchmarks run (user.c). Each starts
 * with its two arguments in EAX and EDX, reports (check, cycles) with
 * SYS_RESULT and ends with SYS_EXIT. */
#ifndef MINIOS_USER_H
#define MINIOS_USER_H

#include <stdint.h>

#define USER_ENTRY __attribute__((regparm(2), noreturn, noinline))

USER_ENTRY void u_null_syscall(uint32_t n, uint32_t unused);
USER_ENTRY void u_yield(uint32_t n, uint32_t salt);
USER_ENTRY void u_pagefault(uint32_t pages, uint32_t rounds);
USER_ENTRY void u_mmap_churn(uint32_t n, uint32_t pages);
USER_ENTRY void u_fork(uint32_t n, uint32_t unused);
USER_ENTRY void u_ping(uint32_t peer, uint32_t n);
USER_ENTRY void u_pong(uint32_t peer, uint32_t n);
USER_ENTRY void u_console(uint32_t lines, uint32_t width);
USER_ENTRY void u_remap_a(uint32_t next, uint32_t rounds_salt);
USER_ENTRY void u_remap_c(uint32_t next, uint32_t rounds_salt);
USER_ENTRY void u_remap_b(uint32_t peers, uint32_t rounds_salt);

#endif
