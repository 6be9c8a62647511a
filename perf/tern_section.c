/*
 * Section multicast and section reduction against the same operation written as a
 * whole-collection broadcast and as point-to-point sends.
 *
 * k = 8 elements a PE. X is an array of k elements; S is a section of k elements of an
 * array B of 2k (every other one, so the same number of members on each PE as X). One
 * operation: PE 0's main function sends, every member answers a completion (tern_call,
 * TERN_CALL_DONE), and the main function waits for all k:
 *   bcast    tern_call to X (a broadcast down the tree of all PEs)
 *   section  tern_call to S (a multicast down the tree of the PEs holding members)
 *   p2p      k tern_call_elem to the members of S, one by one
 * Reductions (each member contributes 8 bytes to a sum whose callback is a future):
 *   red_array    over X (tern_contribute)
 *   red_section  over S (tern_section_contribute)
 *
 *   tern_section [-iters N] [-reps R] [-per-pe K]
 *
 * RESULT <op> <PEs> <us per operation> us  (median of the repetitions)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tern/tern.h>

#include "bench_tern.h"

static tern_type_t T_EL;
static tern_ep_t EP_NOP, EP_RED, EP_SRED;

typedef struct {
    int64_t v;
} el_t;

#define OK(call) bench_tern_check("tern_section", #call, (call))

static void el_nop(void *self, const tern_msg_t *msg)
{
    (void)self;
    (void)msg;
}

/* red: contribute to a sum over the whole array; sred: over the section given. */
static void el_red(void *self, const tern_msg_t *msg)
{
    el_t *e = self;
    tern_future_t f;
    memcpy(&f, tern_msg_data(msg), sizeof f);
    tern_callback_t cb = tern_cb_future(&f);
    OK(tern_contribute(self, &e->v, sizeof e->v, TERN_REDUCER(TERN_OP_SUM, TERN_DT_INT64), &cb));
}

static void el_sred(void *self, const tern_msg_t *msg)
{
    el_t *e = self;
    struct {
        tern_proxy_t sec;
        tern_future_t f;
    } a;
    memcpy(&a, tern_msg_data(msg), sizeof a);
    tern_callback_t cb = tern_cb_future(&a.f);
    OK(tern_section_contribute(self, &a.sec, &e->v, sizeof e->v,
                               TERN_REDUCER(TERN_OP_SUM, TERN_DT_INT64), &cb));
}

static int every_other(const int32_t *idx, int ndims, void *arg)
{
    (void)ndims;
    (void)arg;
    return idx[0] % 2 == 0 ? 0 : -1;
}

static void start(int argc, char **argv)
{
    int iters = 200, reps = 5, per_pe = 8;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "-iters") == 0)
            iters = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "-reps") == 0)
            reps = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "-per-pe") == 0)
            per_pe = atoi(argv[i + 1]);
    }
    if (iters < 1 || reps < 1 || reps > 50 || per_pe < 1) {
        fprintf(stderr, "tern_section: bad arguments\n");
        tern_exit(2);
        return;
    }
    int np = tern_num_pes();
    int32_t k = per_pe * np;
    tern_proxy_t X, B, S;
    OK(tern_array_create(T_EL, 1, TERN_IDX(k), NULL, 0, &X));
    OK(tern_array_create(T_EL, 1, TERN_IDX(2 * k), NULL, 0, &B));
    OK(tern_section_split(&B, 1, every_other, NULL, &S));
    OK(tern_await_created(&X, 1));
    OK(tern_await_created(&B, 1));
    static const char *names[] = {"bcast", "section", "p2p", "red_array", "red_section"};
    for (int op = 0; op < 5; op++) {
        double t[50];
        for (int r = 0; r < reps; r++) {
            for (int warm = 1; warm >= 0; warm--) {
                int n = warm ? iters / 10 + 1 : iters;
                double t0 = tern_wall_time();
                for (int it = 0; it < n; it++) {
                    tern_future_t f = {0, 0, 0};
                    if (op == 0) {
                        OK(tern_call(&X, EP_NOP, NULL, 0, TERN_CALL_DONE, NULL, &f));
                        OK(tern_future_get(&f, NULL, 0, NULL));
                    } else if (op == 1) {
                        OK(tern_call(&S, EP_NOP, NULL, 0, TERN_CALL_DONE, NULL, &f));
                        OK(tern_future_get(&f, NULL, 0, NULL));
                    } else if (op == 2) {
                        /* k calls, a completion each */
                        tern_future_t *fs = malloc((size_t)k * sizeof *fs);
                        for (int32_t i = 0; i < k; i++) {
                            int32_t idx = 2 * i;
                            OK(tern_call_elem(&B, &idx, EP_NOP, NULL, 0, TERN_CALL_DONE,
                                              &fs[i]));
                        }
                        OK(tern_future_wait_all(fs, k));
                        for (int32_t i = 0; i < k; i++)
                            tern_future_free(&fs[i]);
                        free(fs);
                    } else if (op == 3) {
                        OK(tern_future_create(1, &f));
                        OK(tern_send_buf(&X, EP_RED, &f, sizeof f));
                        int64_t sum;
                        OK(tern_future_get(&f, &sum, sizeof sum, NULL));
                    } else {
                        struct {
                            tern_proxy_t sec;
                            tern_future_t f;
                        } a = {S, {0, 0, 0}};
                        OK(tern_future_create(1, &a.f));
                        OK(tern_send_buf(&S, EP_SRED, &a, sizeof a));
                        int64_t sum;
                        OK(tern_future_get(&a.f, &sum, sizeof sum, NULL));
                    }
                }
                if (!warm)
                    t[r] = (tern_wall_time() - t0) / n * 1e6;
            }
        }
        printf("RESULT %s %d %.6g us\n", names[op], np, bench_median(t, reps));
        fflush(stdout);
    }
    tern_exit(0);
}

int main(int argc, char **argv)
{
    const tern_ep_def_t eps[] = {{"nop", el_nop, 0, &EP_NOP},
                                 {"red", el_red, 0, &EP_RED},
                                 {"sred", el_sred, 0, &EP_SRED},
                                 {0}};
    OK(tern_type_define("El", sizeof(el_t), NULL, NULL, eps, &T_EL));
    return tern_run(argc, argv, start);
}
