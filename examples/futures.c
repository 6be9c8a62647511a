/*
 * futures: entry methods that answer, and coroutines that wait for the answers.
 *
 * The main function runs on a coroutine, so it may wait. It creates a 1-D array of
 * workers, then
 *   1. calls square() on every element with TERN_CALL_RET, one future per call, and takes
 *      the answers in whatever order they come (tern_future_iter_*);
 *   2. calls times() on the whole array at once: one future with one value per element,
 *      in element order;
 *   3. calls square() with a bad argument: the method fails with tern_raise() and the
 *      future brings the error back instead of a value;
 *   4. calls sumWithNext(), a coroutine entry method, which itself calls square() on its
 *      neighbour and waits for it (tern_future_wait_all over several such calls).
 * It checks every answer and ends the job with exit code 0 only if all were right.
 * A future of one value is released when tern_future_get() takes the value; one of
 * several values (step 2) is released with tern_future_free().
 *
 *     ternrun -n 4 ./futures
 */
#include <stdio.h>

#include <tern/tern.h>

#define NWORKERS 8

static tern_type_t T_WORKER;
static tern_ep_t EP_SQUARE, EP_TIMES, EP_SUM_WITH_NEXT;

/* square(x): answers x * x; fails for a negative x. */
static void square(void *self, const tern_msg_t *msg)
{
    int x = *(const int *)tern_msg_data(msg);
    if (x < 0) {
        /* The caller's future gets this message instead of a value. */
        tern_raise("worker %d: square(%d): negative input", tern_self_index(self)[0], x);
        return;
    }
    int r = x * x;
    tern_return(&r, sizeof r);
}

/* times(k): answers k times this element's index. */
static void times(void *self, const tern_msg_t *msg)
{
    int r = *(const int *)tern_msg_data(msg) * tern_self_index(self)[0];
    tern_return(&r, sizeof r);
}

/* sumWithNext(): a coroutine. Asks the next element for the square of its index, waits
 * for it (the PE runs other messages meanwhile), and answers my square plus that one. */
static void sum_with_next(void *self, const tern_msg_t *msg)
{
    (void)msg;
    int me = tern_self_index(self)[0];
    int next = (me + 1) % NWORKERS;
    tern_proxy_t workers = tern_self_collection(self);
    tern_future_t f;
    tern_call_elem(&workers, TERN_IDX(next), EP_SQUARE, &next, sizeof next, TERN_CALL_RET,
                   &f);
    int theirs = 0;
    tern_future_get(&f, &theirs, sizeof theirs, NULL); /* waits, then releases f */

    int r = me * me + theirs;
    tern_return(&r, sizeof r);
}

static int failures;

static void expect(int ok, const char *what)
{
    if (!ok) {
        printf("WRONG: %s\n", what);
        failures++;
    }
}

static void start(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    tern_proxy_t workers;
    tern_array_create(T_WORKER, 1, TERN_IDX(NWORKERS), NULL, 0, &workers);

    /* 1. One call per element; take the answers as they come. */
    tern_future_t fs[NWORKERS];
    int args[NWORKERS];
    for (int i = 0; i < NWORKERS; i++) {
        args[i] = i + 10;
        tern_call_elem(&workers, TERN_IDX(i), EP_SQUARE, &args[i], sizeof args[i],
                       TERN_CALL_RET, &fs[i]);
    }
    tern_future_iter_t it;
    tern_future_iter_init(&it, fs, NWORKERS);
    for (int i; (i = tern_future_iter_next(&it)) >= 0;) {
        int r = 0;
        tern_future_get(&fs[i], &r, sizeof r, NULL); /* done: takes it at once */
        printf("square(%d) = %d\n", args[i], r);
        expect(r == args[i] * args[i], "square");
    }
    tern_future_iter_fini(&it);

    /* 2. One call to the whole array: one value per element, in index order. */
    int k = 3;
    tern_iov_t karg = {&k, sizeof k};
    tern_future_t all;
    tern_call(&workers, EP_TIMES, &karg, 1, TERN_CALL_RET, NULL, &all);
    tern_future_wait(&all);
    printf("times(%d) on the array:", k);
    for (int i = 0; i < tern_future_count(&all); i++) {
        const int *v = tern_future_value(&all, i, NULL);
        printf(" %d", *v);
        expect(*v == k * i, "times");
    }
    printf("\n");
    expect(tern_future_count(&all) == NWORKERS, "one value per element");
    tern_future_free(&all);

    /* 3. A call that fails: the error comes back in the future, and stays readable
     *    after tern_future_get has released it. */
    int bad = -5, pe = -1;
    tern_future_t f;
    tern_call_elem(&workers, TERN_IDX(3), EP_SQUARE, &bad, sizeof bad, TERN_CALL_RET, &f);
    tern_status_t st = tern_future_get(&f, NULL, 0, NULL);
    const char *err = tern_future_error(&f, &pe);
    printf("square(%d): %s: \"%s\" (raised on PE %d)\n", bad, tern_strerror(st),
           err ? err : "", pe);
    expect(st == TERN_ERR_REMOTE && err != NULL, "the error comes back");

    /* 4. Coroutine entry methods that wait themselves; wait for all of them. */
    for (int i = 0; i < NWORKERS; i++)
        tern_call_elem(&workers, TERN_IDX(i), EP_SUM_WITH_NEXT, NULL, 0, TERN_CALL_RET,
                       &fs[i]);
    tern_future_wait_all(fs, NWORKERS);
    for (int i = 0; i < NWORKERS; i++) {
        int r = 0, next = (i + 1) % NWORKERS;
        tern_future_get(&fs[i], &r, sizeof r, NULL);
        expect(r == i * i + next * next, "sumWithNext");
    }
    printf("sumWithNext: %d coroutines each waited for their neighbour\n", NWORKERS);

    if (failures)
        printf("%d answers were WRONG\n", failures);
    else
        printf("all answers right\n");
    tern_exit(failures ? 1 : 0);
}

int main(int argc, char **argv)
{
    const tern_ep_def_t eps[] = {
        {"square", square, 0, &EP_SQUARE},
        {"times", times, 0, &EP_TIMES},
        {"sumWithNext", sum_with_next, TERN_EP_COROUTINE, &EP_SUM_WITH_NEXT},
        {0},
    };
    if (tern_type_define("Worker", 0, NULL, NULL, eps, &T_WORKER))
        return 1;
    return tern_run(argc, argv, start);
}
