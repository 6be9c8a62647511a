/*
 * master_worker: the main function, a coroutine, hands out tasks to a group of workers
 * (one per PE), keeps at most K tasks in flight per worker, and takes the answers in the
 * order they come: each answer gives its worker the next task at once.
 *
 * Task t counts the primes in the t-th of TASKS equal slices of [0, LIMIT) by trial
 * division: the slices cost more the higher they lie, so answers come back out of
 * order and the workers' shares even out by themselves. Main checks every answer
 * against a sieve of Eratosthenes, prints the total and how many tasks each worker did,
 * and exits with 1 if an answer was wrong.
 *
 *     ternrun -n 4 ./master_worker [LIMIT [TASKS [K]]]      (defaults: 1000000 100 2)
 */
#include <stdio.h>
#include <stdlib.h>

#include <tern/tern.h>

static tern_type_t T_WORKER;
static tern_ep_t EP_COUNT;

typedef struct {
    int64_t lo, hi;
} range_t;

static int is_prime(int64_t x)
{
    if (x < 2 || (x > 2 && x % 2 == 0))
        return 0;
    for (int64_t d = 3; d * d <= x; d += 2)
        if (x % d == 0)
            return 0;
    return 1;
}

/* count(range): the number of primes in it. */
static void count(void *self, const tern_msg_t *msg)
{
    (void)self;
    const range_t *r = tern_msg_data(msg);
    int64_t n = 0;
    for (int64_t x = r->lo; x < r->hi; x++)
        n += is_prime(x);
    tern_return(&n, sizeof n);
}

/* The job as main read it from its arguments (on PE 0: only main uses them). */
static int64_t limit;
static int ntasks;

static range_t slice(int t)
{
    return (range_t){limit * t / ntasks, limit * (t + 1) / ntasks};
}

/* Hand task t to worker w; its answer will come to *f. */
static void give(const tern_proxy_t *workers, int w, int t, tern_future_t *f)
{
    range_t r = slice(t);
    tern_call_elem(workers, TERN_IDX(w), EP_COUNT, &r, sizeof r, TERN_CALL_RET, f);
}

static void start(int argc, char **argv)
{
    limit = argc > 1 ? atoll(argv[1]) : 1000000;
    ntasks = argc > 2 ? atoi(argv[2]) : 100;
    int k = argc > 3 ? atoi(argv[3]) : 2;
    if (limit < 1 || ntasks < 1 || k < 1) {
        fprintf(stderr, "usage: master_worker [LIMIT [TASKS [K]]] (all >= 1)\n");
        tern_exit(2);
        return;
    }
    int nworkers = tern_num_pes();
    tern_proxy_t workers;
    tern_group_create(T_WORKER, NULL, 0, NULL, &workers);

    /* The master's check: a sieve, a different method from the workers'. */
    char *composite = calloc((size_t)limit + 1, 1);
    int *done_by = calloc((size_t)nworkers, sizeof *done_by);
    /* Slot s holds a call in flight: its future, and the task and worker it is for. */
    int nslots = nworkers * k < ntasks ? nworkers * k : ntasks;
    tern_future_t *fs = malloc((size_t)nslots * sizeof *fs);
    struct { int task, worker; } *slot = malloc((size_t)nslots * sizeof *slot);
    if (!composite || !done_by || !fs || !slot)
        tern_abort("master_worker: out of memory");
    for (int64_t p = 2; p * p < limit; p++)
        for (int64_t q = p * p; !composite[p] && q < limit; q += p)
            composite[q] = 1;

    double t0 = tern_wall_time();
    int next = 0, wrong = 0;
    int64_t total = 0;
    for (int s = 0; s < nslots; s++) {
        slot[s].task = next++;
        slot[s].worker = s % nworkers;
        give(&workers, slot[s].worker, slot[s].task, &fs[s]);
    }
    /* Taking an answer releases its future, which tern_future_wait_any then passes over
     * unless the slot gets a new task. */
    for (int s; (s = tern_future_wait_any(fs, nslots)) >= 0;) {
        int64_t got = -1, want = 0;
        tern_future_get(&fs[s], &got, sizeof got, NULL);
        range_t r = slice(slot[s].task);
        for (int64_t x = r.lo < 2 ? 2 : r.lo; x < r.hi; x++)
            want += !composite[x];
        if (got != want) {
            fprintf(stderr, "master_worker: WRONG: task %d, primes in [%lld, %lld): %lld, "
                    "not %lld\n", slot[s].task, (long long)r.lo, (long long)r.hi,
                    (long long)got, (long long)want);
            wrong++;
        }
        total += got;
        done_by[slot[s].worker]++;

        if (next < ntasks) { /* the same worker, so it never has more than k */
            slot[s].task = next++;
            give(&workers, slot[s].worker, slot[s].task, &fs[s]);
        }
    }
    printf("master_worker: %d tasks on %d workers, at most %d in flight each: %lld primes "
           "below %lld%s (%.3f s)\ntasks per worker:", ntasks, nworkers, k,
           (long long)total, (long long)limit, wrong ? ", WRONG" : "", tern_wall_time() - t0);
    for (int w = 0; w < nworkers; w++)
        printf(" %d", done_by[w]);
    printf("\n");
    free(composite);
    free(done_by);
    free(fs);
    free(slot);
    tern_exit(wrong ? 1 : 0);
}

int main(int argc, char **argv)
{
    const tern_ep_def_t eps[] = {{"count", count, 0, &EP_COUNT}, {0}};
    if (tern_type_define("Worker", 0, NULL, NULL, eps, &T_WORKER))
        return 1;
    return tern_run(argc, argv, start);
}
