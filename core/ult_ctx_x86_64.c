/*
 * Context switch for x86-64 (System V ABI). A suspended context is its stack pointer; the
 * stack holds, from the top: the return address, rbp, rbx, r12-r15, then MXCSR and the
 * x87 control word (both callee-saved by the ABI). A new context's frame returns into
 * ctx_start, which calls fn(arg) with fn in r13 and arg in r12.
 */
#include <stdint.h>
#include <string.h>

#include "core/ult_ctx.h"

void core_ctx_swap(void **save_sp, void *new_sp);
void core_ctx_start(void);

__asm__(".text\n"
        ".globl core_ctx_swap\n"
        ".hidden core_ctx_swap\n"
        ".type core_ctx_swap,@function\n"
        "core_ctx_swap:\n"
        "    .cfi_startproc\n"
        "    pushq %rbp\n"
        "    pushq %rbx\n"
        "    pushq %r12\n"
        "    pushq %r13\n"
        "    pushq %r14\n"
        "    pushq %r15\n"
        "    subq $8, %rsp\n"
        "    stmxcsr (%rsp)\n"
        "    fnstcw 4(%rsp)\n"
        "    movq %rsp, (%rdi)\n"
        "    movq %rsi, %rsp\n"
        "    ldmxcsr (%rsp)\n"
        "    fldcw 4(%rsp)\n"
        "    addq $8, %rsp\n"
        "    popq %r15\n"
        "    popq %r14\n"
        "    popq %r13\n"
        "    popq %r12\n"
        "    popq %rbx\n"
        "    popq %rbp\n"
        "    ret\n"
        "    .cfi_endproc\n"
        ".size core_ctx_swap, .-core_ctx_swap\n"
        ".globl core_ctx_start\n"
        ".hidden core_ctx_start\n"
        ".type core_ctx_start,@function\n"
        "core_ctx_start:\n"
        "    .cfi_startproc\n"
        "    .cfi_undefined rip\n"
        "    movq %r12, %rdi\n"
        "    callq *%r13\n"
        "    ud2\n"
        "    .cfi_endproc\n"
        ".size core_ctx_start, .-core_ctx_start\n");

void core_ctx_make(core_ctx_t *ctx, void *stack, size_t size, void (*fn)(void *), void *arg)
{
    uintptr_t top = ((uintptr_t)stack + size) & ~(uintptr_t)15;
    /* After `ret` into core_ctx_start the stack pointer must be 16-byte aligned, so that
     * its call gives fn the alignment the ABI promises. */
    uint64_t *ret = (uint64_t *)(top - 24);
    uint64_t *frame = ret - 7;
    uint32_t csr[2];
    __asm__ volatile("stmxcsr %0" : "=m"(csr[0]));
    __asm__ volatile("fnstcw %0" : "=m"(csr[1]));
    memset((void *)(top - 24), 0, 24);
    memcpy(&frame[0], csr, sizeof csr);
    frame[1] = 0;                 /* r15 */
    frame[2] = 0;                 /* r14 */
    frame[3] = (uint64_t)(uintptr_t)fn;  /* r13 */
    frame[4] = (uint64_t)(uintptr_t)arg; /* r12 */
    frame[5] = 0;                 /* rbx */
    frame[6] = 0;                 /* rbp */
    *ret = (uint64_t)(uintptr_t)core_ctx_start;
    ctx->sp = frame;
    ctx->impl = NULL;
}

void core_ctx_switch(core_ctx_t *from, core_ctx_t *to) { core_ctx_swap(&from->sp, to->sp); }

void core_ctx_release(core_ctx_t *ctx) { (void)ctx; }
