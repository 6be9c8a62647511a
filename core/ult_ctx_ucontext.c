/*
 * Context switch through ucontext, for machines without an assembly version. Portable
 * and correct, but each switch saves and restores the signal mask with a system call.
 */
#include <stdint.h>
#include <stdlib.h>
#include <ucontext.h>

#include "core/ult_ctx.h"
#include "core/pe.h"

typedef struct {
    ucontext_t uc;
    void (*fn)(void *);
    void *arg;
} ctx_impl_t;

/* makecontext passes int arguments only: the pointer travels in two halves. */
static void ctx_start(unsigned hi, unsigned lo)
{
    ctx_impl_t *c = (ctx_impl_t *)(((uintptr_t)hi << 32) | (uintptr_t)lo);
    c->fn(c->arg);
    abort();
}

static ctx_impl_t *impl_of(core_ctx_t *ctx)
{
    if (!ctx->impl && !(ctx->impl = calloc(1, sizeof(ctx_impl_t))))
        tern_abort("out of memory for a coroutine context");
    return ctx->impl;
}

void core_ctx_make(core_ctx_t *ctx, void *stack, size_t size, void (*fn)(void *), void *arg)
{
    ctx_impl_t *c = impl_of(ctx);
    if (getcontext(&c->uc) != 0)
        tern_abort("getcontext failed making a coroutine");
    c->uc.uc_stack.ss_sp = stack;
    c->uc.uc_stack.ss_size = size;
    c->uc.uc_link = NULL;
    c->fn = fn;
    c->arg = arg;
    uintptr_t p = (uintptr_t)c;
    makecontext(&c->uc, (void (*)(void))ctx_start, 2, (unsigned)(p >> 32),
                (unsigned)(p & 0xffffffffu));
}

void core_ctx_switch(core_ctx_t *from, core_ctx_t *to)
{
    swapcontext(&impl_of(from)->uc, &impl_of(to)->uc);
}

void core_ctx_release(core_ctx_t *ctx)
{
    free(ctx->impl);
    ctx->impl = NULL;
}
