/*
 * channels: each element of a ring talks to its two neighbours over channels, as in
 * Charm4py's channel example: the channels are opened in the constructor; a coroutine
 * sends on both every iteration and takes the answers as they come (tern_channel_wait_any,
 * Charm4py's charm.iwait). The values carry the iteration, so each element checks that
 * what it gets is its neighbours' values of this iteration, in order.
 *
 *     ternrun -n 4 ./channels
 */
#include <stdio.h>

#include <tern/tern.h>

#define NUM_ITER 100

static tern_type_t T_A;
static tern_ep_t EP_WORK;

typedef struct {
    int numchares, bad;
    tern_channel_t channels[2]; /* to my right and left neighbours */
} a_t;

static void a_init(void *self, const tern_msg_t *args)
{
    a_t *a = self;
    a->numchares = *(const int *)tern_msg_data(args);
    int myidx = tern_self_index(self)[0];
    int nb[2] = {(myidx + 1) % a->numchares, (myidx - 1 + a->numchares) % a->numchares};
    for (int i = 0; i < 2; i++) {
        tern_proxy_t me = tern_self_proxy(self), p;
        tern_proxy_elem(&me, &nb[i], &p);
        tern_channel_open(self, &p, &a->channels[i]);
    }
}

/* work (a coroutine): NUM_ITER rounds of send to both, receive from both as they come. */
static void a_work(void *self, const tern_msg_t *msg)
{
    (void)msg;
    a_t *a = self;
    int myidx = tern_self_index(self)[0];
    for (int i = 0; i < NUM_ITER; i++) {
        int x[3] = {i, myidx, i * myidx};
        for (int c = 0; c < 2; c++)
            tern_channel_send(self, &a->channels[c], x, sizeof x);
        int got[2] = {0, 0};
        for (int n = 0; n < 2; n++) {
            /* wait on the channels still owed this round */
            tern_channel_t owed[2];
            int which[2], k = 0;
            for (int c = 0; c < 2; c++)
                if (!got[c]) {
                    owed[k] = a->channels[c];
                    which[k++] = c;
                }
            int c = which[tern_channel_wait_any(self, owed, k)];
            int y[3];
            tern_channel_recv(self, &a->channels[c], y, sizeof y, NULL);
            got[c] = 1;
            int from = c == 0 ? (myidx + 1) % a->numchares
                              : (myidx - 1 + a->numchares) % a->numchares;
            if (y[0] != i || y[1] != from || y[2] != i * from)
                a->bad++;
        }
    }
    tern_return(&a->bad, sizeof a->bad);
}

static void start(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    int numchares = tern_num_pes() * 8;
    tern_iov_t args = {&numchares, sizeof numchares};
    tern_proxy_t array;
    tern_array_create(T_A, 1, TERN_IDX(numchares), &args, 1, &array);
    tern_future_t f;
    tern_call(&array, EP_WORK, NULL, 0, TERN_CALL_RET, NULL, &f);
    tern_future_wait(&f);
    int bad = 0;
    for (int i = 0; i < numchares; i++)
        bad += *(const int *)tern_future_value(&f, i, NULL);
    tern_future_free(&f);
    printf("%d chares exchanged %d rounds over channels: %s\n", numchares, NUM_ITER,
           bad ? "WRONG" : "all in order");
    tern_exit(bad ? 1 : 0);
}

int main(int argc, char **argv)
{
    static const tern_ep_def_t eps[] = {{"work", a_work, TERN_EP_COROUTINE, &EP_WORK}, {0}};
    tern_type_define("A", sizeof(a_t), a_init, NULL, eps, &T_A);
    return tern_run(argc, argv, start);
}
