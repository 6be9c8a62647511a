/*
 * tern_micro: Google Benchmark micro-benchmarks of Tern's hot paths, each beside a
 * baseline measured in the same binary and the same run.
 *
 * Names come in pairs, `tern/<what>/<arg>` and `base/<what>/<arg>`: a driver pairs them by
 * swapping the prefix and prints tern/base. Every timed operation is one out-of-line call
 * into micro_ops.c (C, because the internal headers are C11 only), with the same shape on
 * both sides, so the call overhead cancels out. Each run checks afterwards that the work
 * was really done (messages in order, payload intact, receiver ran once per iteration)
 * and reports an error otherwise.
 *
 *   sched_fifo/<depth>  core_sched_push + core_sched_pop of one priority-0 message, with
 *                       <depth> messages already queued. Baseline: the same push + pop on
 *                       a plain intrusive singly-linked FIFO, through the same messages'
 *                       `next` links. Fair because priority-0 traffic needs exactly a
 *                       FIFO; the difference is what the scheduler adds on top (sequence
 *                       numbers, count, the heap check, an out-of-line library call).
 *   sched_prio/64       64 messages queued with random non-zero priorities (all in the
 *                       binary heap); each iteration gives one message a new priority,
 *                       pushes it and pops the smallest. Baseline: the same on the plain
 *                       FIFO (which ignores the priority). The ratio is the whole price
 *                       of priority ordering against not having it.
 *   msg/<body>          core_msg_alloc + core_msg_release on a per-PE pool (core_pool_t)
 *                       for a body of <body> bytes. Baseline: malloc + free of the same
 *                       total size (sizeof(tern_msg_t) + body): what the pool replaces.
 *                       A 64 KiB body with its header falls in the largest size
 *                       class (128 KiB).
 *   ring/<len>          one record of <len> bytes through the shared-memory SPSC ring
 *                       (shm_ring_reserve, memcpy in, commit, peek, memcpy out, pop), one
 *                       thread, in a ring of the transport's default size (256 KiB).
 *                       Baseline: memcpy of the same bytes into a buffer and back out.
 *                       Both copy twice, so the difference is the ring's bookkeeping and
 *                       its walk through ring memory (a fixed buffer stays in L1).
 *   send_local/<len>    tern_send of a <len>-byte payload to a chare on this PE, then
 *                       what the PE's loop does: core_sched_pop and core_dispatch, which
 *                       runs the entry method (it reads the payload's first byte).
 *                       Baseline: memcpy of the payload into a stack buffer and an
 *                       indirect call through a function pointer to a receiver doing the
 *                       same read: what a plain C program does to hand a copy of a value
 *                       to a function chosen at run time. Tern also copies once.
 *   send_local_msg/<len> the zero-copy variant: tern_msg_alloc, write the byte the
 *                       receiver reads, tern_send_msg, pop, dispatch. Baseline: write the
 *                       same byte into a buffer and make the same indirect call with a
 *                       pointer to it (no copy on either side, so neither pays for one).
 *   ult_yield/<n>       one round trip between the scheduler and a coroutine, with <n>
 *                       coroutines taking turns: core_ult_run_ready(u, 1) resumes the next
 *                       ready one, which counts its turn and core_ult_yield()s back (two
 *                       switches; the counter `switch` gives the time per switch). The
 *                       coroutines live in a core_ults_t of the benchmark's own, stacks of
 *                       TERN_ULT_STACK_SIZE's default (256 KiB). Baseline: the same round
 *                       trip with ucontext, swapcontext to the next coroutine and back,
 *                       what a portable runtime would use (it saves and restores the
 *                       signal mask, a system call per switch). Afterwards every
 *                       coroutine must have been resumed iters/<n> times, give or take
 *                       one.
 *   ult_start           core_ult_start of a coroutine running a short function (it counts
 *                       its run) from the scheduler: it runs at once and ends, and its
 *                       stack goes back to the per-PE pool for the next one. Baseline: an
 *                       indirect call of the same function. The ratio is the price of
 *                       running a piece of work as a coroutine rather than as a call.
 *
 * The send_local pairs need a running runtime: main() parses the benchmark flags, then
 * starts a 1-PE Tern job (TERN_BOOT=single unless set); a chare's entry method runs all
 * the benchmarks and ends the job with tern_exit(0). The other pairs need no runtime but
 * run inside it all the same.
 *
 * Run: build/perf/micro/tern_micro [Google Benchmark flags], e.g.
 *   --benchmark_filter=send_local --benchmark_repetitions=5
 *   --benchmark_report_aggregates_only=true --benchmark_format=json
 */
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>

#include "perf/micro/micro_ops.h"

namespace {

void run_side(benchmark::State &state, const micro_pair_t *p, long arg, bool tern)
{
    if (p->needs_runtime && !micro_runtime_ready()) {
        state.SkipWithError("needs the running Tern job");
        return;
    }
    const char *err = nullptr;
    void *ctx = p->make(arg, &err);
    if (!ctx) {
        state.SkipWithError(err ? err : "set-up failed");
        return;
    }
    const micro_op_fn op = tern ? p->tern_op : p->base_op;
    for (auto _ : state)
        benchmark::DoNotOptimize(op(ctx));
    const uint64_t iters = static_cast<uint64_t>(state.iterations());
    if (p->part) // seconds per part: the inverse of parts per second
        state.counters[p->part] = benchmark::Counter(
            p->nparts, benchmark::Counter::kIsIterationInvariantRate |
                           benchmark::Counter::kInvert);
    if (const char *e = p->finish(ctx, iters))
        state.SkipWithError(e);
}

void register_all()
{
    for (int i = 0; i < micro_npairs; i++) {
        const micro_pair_t *p = &micro_pairs[i];
        for (int a = 0; a < (p->nargs ? p->nargs : 1); a++) {
            const long arg = p->nargs ? p->args[a] : 0;
            const std::string tail =
                std::string(p->what) + (p->nargs ? "/" + std::to_string(arg) : "");
            benchmark::RegisterBenchmark(("tern/" + tail).c_str(),
                                         [p, arg](benchmark::State &st) {
                                             run_side(st, p, arg, true);
                                         });
            benchmark::RegisterBenchmark(("base/" + tail).c_str(),
                                         [p, arg](benchmark::State &st) {
                                             run_side(st, p, arg, false);
                                         });
        }
    }
}

/* Called from the benchmark chare's entry method, inside the Tern job. */
int run_benchmarks(void *)
{
    benchmark::RunSpecifiedBenchmarks();
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    register_all();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;
    const int rc = micro_runtime_main(argc, argv, run_benchmarks, nullptr);
    benchmark::Shutdown();
    return rc;
}
