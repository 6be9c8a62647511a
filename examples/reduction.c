/*
 * reduction: the members of a collection combine their values.
 *
 * Each element i of a 1-D array of NELEMS holds x_i = i * i. The main function
 *   1. asks every element to contribute x_i with a built-in reducer (sum of int64) and
 *      x_i again to a gather (every contribution, in index order), each reduction
 *      delivering its result to a future that main waits on;
 *   2. calls a coroutine entry method on the whole array, in which the elements compute
 *      the mean and the largest deviation from it together: two tern_allreduce() calls,
 *      whose result every element gets back, and a tern_barrier() before they answer.
 * Every result is checked against the formula; the exit code is 1 if one is wrong.
 *
 *     ternrun -n 4 ./reduction
 */
#include <stdint.h>
#include <stdio.h>

#include <tern/tern.h>

#define NELEMS 10

static tern_type_t T_ELEM;
static tern_ep_t EP_CONTRIBUTE, EP_STATS;

static int64_t value_of(int i) { return (int64_t)i * i; }

/* The two futures main waits on, sent to every element. */
typedef struct {
    tern_future_t sum, gather;
} targets_t;

/* contribute(targets): my value to a sum and to a gather. */
static void contribute(void *self, const tern_msg_t *msg)
{
    const targets_t *t = tern_msg_data(msg);
    int64_t x = value_of(tern_self_index(self)[0]);

    tern_callback_t to_sum = tern_cb_future(&t->sum);
    tern_contribute(self, &x, sizeof x, TERN_REDUCER(TERN_OP_SUM, TERN_DT_INT64), &to_sum);

    tern_callback_t to_gather = tern_cb_future(&t->gather);
    tern_contribute(self, &x, sizeof x, TERN_REDUCER_GATHER, &to_gather);
}

/* stats(): a coroutine. Mean and largest deviation, computed by all elements together. */
static void stats(void *self, const tern_msg_t *msg)
{
    (void)msg;
    int me = tern_self_index(self)[0];
    double x = (double)value_of(me), sum = 0, maxdev = 0;

    /* Every element waits here until all have contributed, then gets the sum. */
    tern_allreduce(self, &x, sizeof x, TERN_REDUCER(TERN_OP_SUM, TERN_DT_DOUBLE), &sum,
                   sizeof sum, NULL);
    double mean = sum / NELEMS;
    double dev = x > mean ? x - mean : mean - x;
    tern_allreduce(self, &dev, sizeof dev, TERN_REDUCER(TERN_OP_MAX, TERN_DT_DOUBLE),
                   &maxdev, sizeof maxdev, NULL);
    if (me == 0)
        printf("allreduce: mean %.2f, largest deviation %.2f\n", mean, maxdev);

    /* No element answers before every element got here. */
    tern_barrier(self);

    double ans[2] = {mean, maxdev};
    tern_return(ans, sizeof ans);
}

static void start(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    int wrong = 0;
    tern_proxy_t elems;
    tern_array_create(T_ELEM, 1, TERN_IDX(NELEMS), NULL, 0, &elems);

    /* What the formulas say. */
    int64_t want_sum = 0;
    for (int i = 0; i < NELEMS; i++)
        want_sum += value_of(i);
    double want_mean = (double)want_sum / NELEMS;
    double want_maxdev = (double)value_of(NELEMS - 1) - want_mean; /* the last is farthest */

    /* 1. Reductions to futures: each delivers one value, its result. */
    targets_t t;
    tern_future_create(1, &t.sum);
    tern_future_create(1, &t.gather);
    tern_send_buf(&elems, EP_CONTRIBUTE, &t, sizeof t);

    int64_t sum = 0;
    tern_future_get(&t.sum, &sum, sizeof sum, NULL);
    printf("sum of i*i for i < %d: %lld\n", NELEMS, (long long)sum);
    wrong += sum != want_sum;

    int64_t all[NELEMS];
    size_t len = 0;
    tern_future_get(&t.gather, all, sizeof all, &len);
    printf("gather:");
    for (int i = 0; i < NELEMS; i++) {
        printf(" %lld", (long long)all[i]);
        wrong += all[i] != value_of(i);
    }
    printf("\n");
    wrong += len != sizeof all;

    /* 2. Allreduce and barrier inside a coroutine entry method of every element. */
    tern_future_t f; /* one value per element: freed by hand below */
    tern_call(&elems, EP_STATS, NULL, 0, TERN_CALL_RET, NULL, &f);
    tern_future_wait(&f);
    for (int i = 0; i < NELEMS; i++) {
        const double *ans = tern_future_value(&f, i, NULL);
        wrong += !ans || ans[0] != want_mean || ans[1] != want_maxdev;
    }
    tern_future_free(&f);

    printf("%s\n", wrong ? "WRONG results" : "all results right");
    tern_exit(wrong ? 1 : 0);
}

int main(int argc, char **argv)
{
    const tern_ep_def_t eps[] = {
        {"contribute", contribute, 0, &EP_CONTRIBUTE},
        {"stats", stats, TERN_EP_COROUTINE, &EP_STATS},
        {0},
    };
    if (tern_type_define("Elem", 0, NULL, NULL, eps, &T_ELEM))
        return 1;
    return tern_run(argc, argv, start);
}
