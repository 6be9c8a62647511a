/*
 * Machine contexts for coroutines: make a context that will run fn(arg) on a given stack,
 * and switch from one context to another. One implementation per file, chosen by CMake:
 * a few instructions of assembly on x86-64 (callee-saved registers, the stack pointer and
 * the floating-point control words: nothing else is live across a call), ucontext where
 * there is no such file (it costs a system call per switch for the signal mask).
 */
#ifndef TERN_CORE_ULT_CTX_H
#define TERN_CORE_ULT_CTX_H

#include <stddef.h>

typedef struct core_ctx {
    void *sp;   /* x86-64: the saved stack pointer */
    void *impl; /* ucontext: the saved ucontext_t */
} core_ctx_t;

/* Prepare `ctx` so that the first switch to it runs fn(arg) on [stack, stack + size).
 * fn must never return: it ends by switching away for good. */
void core_ctx_make(core_ctx_t *ctx, void *stack, size_t size, void (*fn)(void *), void *arg);
/* Save the running context in `from` and continue `to`. Returns when something switches
 * back to `from`. */
void core_ctx_switch(core_ctx_t *from, core_ctx_t *to);
/* Free what core_ctx_make allocated (nothing on x86-64). */
void core_ctx_release(core_ctx_t *ctx);

#endif
