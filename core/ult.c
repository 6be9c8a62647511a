#include "core/ult.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "util/log.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define fiber_start(fake, bottom, size) __sanitizer_start_switch_fiber(fake, bottom, size)
#define fiber_finish(fake, bottom, size) __sanitizer_finish_switch_fiber(fake, bottom, size)
#else
/* AddressSanitizer must be told of every stack switch; without it these are nothing. */
#define fiber_start(fake, bottom, size) ((void)(fake), (void)(bottom), (void)(size))
#define fiber_finish(fake, bottom, size) ((void)(fake), (void)(bottom), (void)(size))
#endif

#define FREE_STACKS_MAX 1024
#define ALT_STACK_SIZE (64 * 1024)
/* PROT_NONE address space below each stack. A frame larger than what is left of its stack
 * moves the stack pointer below the stack in one step, and its first store lands that far
 * down: with a single guard page, in whatever is mapped there (often another coroutine's
 * stack, silently), or in nothing. Frames up to this size fault here instead. */
#define GUARD_SIZE (16L * 1024 * 1024)
/* How far below the running coroutine's stack an interrupted stack pointer still counts as
 * that stack's overflow (a frame of that size), and not as some other stack in use. */
#define SP_REACH (256L * 1024 * 1024)

/* The coroutines of this thread's PE, for the SIGSEGV handler. */
static _Thread_local core_ults_t *tls_ults;
static _Thread_local void *alt_stack;
static struct sigaction prev_segv;
static int segv_installed;

static inline unsigned char *stack_bottom(const core_ults_t *u, const core_ult_t *t)
{
    return t->map + u->guard;
}

/* The stack pointer when the fault happened; 0 where we cannot read it (then only the
 * fault address is checked). */
static uintptr_t fault_sp(const void *uctx)
{
#if defined(__x86_64__)
    return (uintptr_t)((const ucontext_t *)uctx)->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
    return (uintptr_t)((const ucontext_t *)uctx)->uc_mcontext.sp;
#else
    (void)uctx;
    return 0;
#endif
}

/* `by_sp`: found by the stack pointer, else by the address in the guard region. */
static void overflowed(const core_ults_t *u, int by_sp, size_t below)
    __attribute__((noreturn));

static void overflowed(const core_ults_t *u, int by_sp, size_t below)
{
    tern_abort("a coroutine overflowed its stack of %zu bytes (%s %zu bytes below its end); "
               "raise TERN_ULT_STACK_SIZE or keep large arrays off the stack", u->stack_size,
               by_sp ? "a frame took the stack pointer" : "it touched the guard region",
               below);
}

/* A fault in any stack's guard region, or one whose stack pointer is below the running
 * coroutine's stack (a frame too big for what was left of it, whatever it touched). */
static void check_overflow(const core_ults_t *u, const siginfo_t *si, const void *uctx)
{
    uintptr_t addr = (uintptr_t)si->si_addr, sp = fault_sp(uctx);
    for (const core_ult_t *t = u->all; t; t = t->all_next) {
        uintptr_t bottom = (uintptr_t)stack_bottom(u, t);
        if (addr >= (uintptr_t)t->map && addr < bottom)
            overflowed(u, 0, bottom - addr);
    }
    const core_ult_t *cur = u->cur;
    if (cur && sp) {
        uintptr_t bottom = (uintptr_t)stack_bottom(u, cur);
        if (sp < bottom && bottom - sp <= (uintptr_t)SP_REACH)
            overflowed(u, 1, bottom - sp);
    }
}

static void on_segv(int sig, siginfo_t *si, void *uctx)
{
    /* A previous handler that chains back to this one (UCX's restores the handler it
     * found when it was loaded, then raises again) must not make a loop: once a fault is
     * not ours, the next one goes to the default action. */
    static _Thread_local int inside;
    if (inside) {
        signal(sig, SIG_DFL);
        return;
    }
    inside = 1;
    if (tls_ults)
        check_overflow(tls_ults, si, uctx);
    /* Not ours: let the fault take its usual course. */
    sigaction(sig, &prev_segv, NULL);
    if (!(prev_segv.sa_flags & SA_SIGINFO) && prev_segv.sa_handler != SIG_DFL &&
        prev_segv.sa_handler != SIG_IGN)
        prev_segv.sa_handler(sig);
    else if ((prev_segv.sa_flags & SA_SIGINFO) && prev_segv.sa_sigaction)
        prev_segv.sa_sigaction(sig, si, uctx);
}

static tern_status_t install_segv(void)
{
    /* The handler needs a stack of its own: the faulting one is the overflowed stack. */
    if (!alt_stack) {
        /* Mapped, not allocated: only the kernel holds it, which a leak checker that does
         * not read thread-local variables would take for a leak. */
        void *p = mmap(NULL, ALT_STACK_SIZE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        stack_t ss = {.ss_sp = p == MAP_FAILED ? NULL : p, .ss_size = ALT_STACK_SIZE};
        if (!ss.ss_sp || sigaltstack(&ss, NULL) != 0) {
            if (ss.ss_sp)
                munmap(ss.ss_sp, ALT_STACK_SIZE);
            return TERN_ERR_IO;
        }
        alt_stack = ss.ss_sp;
    }
    if (segv_installed) {
        /* Still ours, unless a library opened since replaced it (or core/signals.c reset
         * a library's that had): then install it again, over whatever is there now. */
        struct sigaction now;
        if (sigaction(SIGSEGV, NULL, &now) == 0 && (now.sa_flags & SA_SIGINFO) &&
            now.sa_sigaction == on_segv)
            return TERN_OK;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, &prev_segv) != 0)
        return TERN_ERR_IO;
    segv_installed = 1;
    return TERN_OK;
}

tern_status_t core_ults_rearm(void)
{
    if (install_segv() != TERN_OK) {
        util_log_error("tern_run: cannot install the coroutine stack overflow handler");
        return TERN_ERR_IO;
    }
    return TERN_OK;
}

tern_status_t core_ults_init(core_ults_t *u, size_t stack_size)
{
    memset(u, 0, sizeof *u);
    u->page = (size_t)sysconf(_SC_PAGESIZE);
    u->stack_size = (stack_size + u->page - 1) & ~(u->page - 1);
    u->guard = (GUARD_SIZE + u->page - 1) & ~(u->page - 1);
    tls_ults = u;
    if (install_segv() != TERN_OK) {
        util_log_error("tern_run: cannot install the coroutine stack overflow handler");
        return TERN_ERR_IO;
    }
    return TERN_OK;
}

void core_ults_fini(core_ults_t *u)
{
    for (core_ult_t *t = u->all; t;) {
        core_ult_t *next = t->all_next;
        core_ctx_release(&t->ctx);
        munmap(t->map, t->map_len);
        free(t);
        t = next;
    }
    u->all = u->free = u->ready_head = u->ready_tail = NULL;
    core_ctx_release(&u->sched);
    if (tls_ults == u) {
        tls_ults = NULL;
        stack_t off = {.ss_flags = SS_DISABLE};
        if (alt_stack && sigaltstack(&off, NULL) == 0) {
            munmap(alt_stack, ALT_STACK_SIZE);
            alt_stack = NULL;
        }
    }
}

static core_ult_t *ult_get(core_ults_t *u)
{
    core_ult_t *t = u->free;
    if (t) {
        u->free = t->next;
        u->nfree--;
        return t;
    }
    t = calloc(1, sizeof *t);
    if (!t)
        tern_abort("out of memory creating a coroutine");
    /* Reserved inaccessible, then the stack opened: the guard costs address space only. */
    t->map_len = u->guard + u->stack_size;
    t->map = mmap(NULL, t->map_len, PROT_NONE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
    if (t->map == MAP_FAILED)
        tern_abort("cannot map a coroutine stack of %zu bytes (TERN_ULT_STACK_SIZE)",
                   u->stack_size);
    if (mprotect(stack_bottom(u, t), u->stack_size, PROT_READ | PROT_WRITE) != 0)
        tern_abort("cannot map a coroutine stack of %zu bytes (TERN_ULT_STACK_SIZE): "
                   "mprotect: %s", u->stack_size, strerror(errno));
    t->owner = u;
    t->all_next = u->all;
    t->all_prev = NULL;
    if (u->all)
        u->all->all_prev = t;
    u->all = t;
    return t;
}

static void ult_put(core_ults_t *u, core_ult_t *t)
{
    t->state = CORE_ULT_FREE;
    t->local = NULL;
    if (u->nfree >= FREE_STACKS_MAX) {
        if (t->all_prev)
            t->all_prev->all_next = t->all_next;
        else
            u->all = t->all_next;
        if (t->all_next)
            t->all_next->all_prev = t->all_prev;
        core_ctx_release(&t->ctx);
        munmap(t->map, t->map_len);
        free(t);
        return;
    }
    t->next = u->free;
    u->free = t;
    u->nfree++;
}

static void ult_main(void *arg)
{
    core_ult_t *t = arg;
    core_ults_t *u = t->owner;
    fiber_finish(NULL, &u->sched_bottom, &u->sched_size);
    t->fn(t->arg);
    t->state = CORE_ULT_DONE;
    /* A dying fiber passes NULL: AddressSanitizer may drop its fake stack. */
    fiber_start(NULL, u->sched_bottom, u->sched_size);
    core_ctx_switch(&t->ctx, &u->sched);
    abort(); /* never resumed */
}

/* From the scheduler: run t until it suspends or ends. */
static void ult_enter(core_ults_t *u, core_ult_t *t)
{
    u->cur = t;
    t->state = CORE_ULT_RUNNING;
    fiber_start(&u->sched_fake, stack_bottom(u, t), u->stack_size);
    core_ctx_switch(&u->sched, &t->ctx);
    fiber_finish(u->sched_fake, NULL, NULL);
    u->cur = NULL;
    if (t->state == CORE_ULT_DONE) {
        u->live--;
        ult_put(u, t);
    }
}

static void ready_push(core_ults_t *u, core_ult_t *t)
{
    t->state = CORE_ULT_READY;
    t->next = NULL;
    if (u->ready_tail)
        u->ready_tail->next = t;
    else
        u->ready_head = t;
    u->ready_tail = t;
}

void core_ult_start(core_ults_t *u, core_ult_fn fn, void *arg, void *local)
{
    core_ult_t *t = ult_get(u);
    t->fn = fn;
    t->arg = arg;
    t->local = local;
    core_ctx_make(&t->ctx, stack_bottom(u, t), u->stack_size, ult_main, t);
    u->live++;
    u->started++;
    if (u->cur)
        ready_push(u, t);
    else
        ult_enter(u, t);
}

void core_ult_suspend(core_ults_t *u)
{
    core_ult_t *t = u->cur;
    if (t->state == CORE_ULT_RUNNING)
        t->state = CORE_ULT_WAITING;
    fiber_start(&t->asan_fake, u->sched_bottom, u->sched_size);
    core_ctx_switch(&t->ctx, &u->sched);
    fiber_finish(t->asan_fake, NULL, NULL);
}

void core_ult_yield(core_ults_t *u)
{
    ready_push(u, u->cur);
    core_ult_suspend(u);
}

void core_ult_wake(core_ults_t *u, core_ult_t *t)
{
    if (t->state == CORE_ULT_WAITING)
        ready_push(u, t);
}

int core_ult_run_ready(core_ults_t *u, int max)
{
    /* Only those ready now: one that yields goes behind the queued messages, not round
     * again in this call. */
    core_ult_t *last = u->ready_tail;
    int n = 0;
    while (n < max && u->ready_head) {
        core_ult_t *t = u->ready_head;
        u->ready_head = t->next;
        if (!u->ready_head)
            u->ready_tail = NULL;
        int was_last = t == last; /* t may be gone once it has run */
        ult_enter(u, t);
        n++;
        if (was_last)
            break;
    }
    return n;
}
