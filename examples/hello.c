/*
 * hello: the first example of the Charm4py documentation, in C.
 *
 * main (on PE 0) creates a group (one member per PE) and a 1-D array of 16 elements,
 * then broadcasts sayHello to both with a small payload. Every member reports to a
 * single "Main" chare, which ends the job when all have said hello.
 *
 *     ternrun -n 8 ./hello
 */
#include <stdio.h>
#include <string.h>

#include <tern/tern.h>

#define ARRAY_SIZE 16

static tern_type_t T_MAIN, T_HELLO;
static tern_ep_t EP_DONE, EP_SAY_HELLO;

/* The main chare: counts the greetings, then ends the job. */
typedef struct {
    int expected;
    int seen;
} main_state_t;

static void main_ctor(void *self, const tern_msg_t *args)
{
    main_state_t *s = self;
    memcpy(&s->expected, tern_msg_data(args), sizeof s->expected);
}

static void main_done(void *self, const tern_msg_t *msg)
{
    (void)msg;
    main_state_t *s = self;
    if (++s->seen == s->expected) {
        printf("All %d greetings received; exiting.\n", s->seen);
        tern_exit(0);
    }
}

/* The greeter: one type used both as a group member and as an array element. */
typedef struct {
    tern_proxy_t main;
} hello_state_t;

static void hello_ctor(void *self, const tern_msg_t *args)
{
    hello_state_t *s = self;
    memcpy(&s->main, tern_msg_data(args), sizeof s->main);
}

static void say_hello(void *self, const tern_msg_t *msg)
{
    hello_state_t *s = self;
    tern_proxy_t me = tern_self_proxy(self);
    const char *what = tern_msg_seg(msg, 1, NULL);
    size_t n;
    const int *numbers = tern_msg_seg(msg, 0, &n);
    printf("Hello from %s element %d on PE %d: [%d %d %d] \"%s\"\n",
           me.kind == TERN_PROXY_GROUP_ELEM ? "group" : "array", tern_self_index(self)[0],
           tern_my_pe(), numbers[0], numbers[1], numbers[2], what);
    tern_send(&s->main, EP_DONE, NULL, 0, NULL);
}

static void start(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    int expected = tern_num_pes() + ARRAY_SIZE;
    tern_proxy_t main_chare, group, array;
    tern_iov_t margs = {&expected, sizeof expected};
    tern_chare_create(T_MAIN, 0, &margs, 1, &main_chare);

    tern_iov_t hargs = {&main_chare, sizeof main_chare};
    tern_group_create(T_HELLO, &hargs, 1, NULL, &group);
    int dims[1] = {ARRAY_SIZE};
    tern_array_create(T_HELLO, 1, dims, &hargs, 1, &array);

    int g[3] = {1, 2, 3}, a[3] = {4, 5, 6};
    const char *gs = "test group", *as = "test array";
    tern_iov_t gpay[2] = {{g, sizeof g}, {gs, strlen(gs) + 1}};
    tern_iov_t apay[2] = {{a, sizeof a}, {as, strlen(as) + 1}};
    tern_send(&group, EP_SAY_HELLO, gpay, 2, NULL);
    tern_send(&array, EP_SAY_HELLO, apay, 2, NULL);
}

int main(int argc, char **argv)
{
    if (tern_type_register("Main", sizeof(main_state_t), main_ctor, NULL, &T_MAIN) ||
        tern_ep_register(T_MAIN, "done", main_done, &EP_DONE) ||
        tern_type_register("Hello", sizeof(hello_state_t), hello_ctor, NULL, &T_HELLO) ||
        tern_ep_register(T_HELLO, "sayHello", say_hello, &EP_SAY_HELLO))
        return 1;
    return tern_run(argc, argv, start);
}
