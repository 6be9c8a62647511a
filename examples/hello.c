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
    int seen;
} main_state_t;

static void main_done(void *self, const tern_msg_t *msg)
{
    (void)msg;
    main_state_t *s = self;
    if (++s->seen == tern_num_pes() + ARRAY_SIZE) {
        printf("All %d greetings received; exiting.\n", s->seen);
        tern_exit(0);
    }
}

/* The greeter: one type used both as a group member and as an array element. */
typedef struct {
    tern_proxy_t main;
} hello_state_t;

typedef struct {
    int numbers[3];
    char what[16];
} greeting_t;

static void hello_ctor(void *self, const tern_msg_t *args)
{
    hello_state_t *s = self;
    memcpy(&s->main, tern_msg_data(args), sizeof s->main);
}

static void say_hello(void *self, const tern_msg_t *msg)
{
    hello_state_t *s = self;
    const greeting_t *g = tern_msg_data(msg); /* payloads are aligned for any type */
    printf("Hello from %s element %d on PE %d: [%d %d %d] \"%s\"\n",
           tern_self_proxy(self).kind == TERN_PROXY_GROUP_ELEM ? "group" : "array",
           tern_self_index(self)[0], tern_my_pe(), g->numbers[0], g->numbers[1],
           g->numbers[2], g->what);
    tern_send_buf(&s->main, EP_DONE, NULL, 0);
}

static void start(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    tern_proxy_t main_chare, group, array;
    tern_chare_create(T_MAIN, 0, NULL, 0, &main_chare);

    /* Creation returns at once: messages to members not built yet wait for them. */
    tern_iov_t hargs = {&main_chare, sizeof main_chare};
    tern_group_create(T_HELLO, &hargs, 1, NULL, &group);
    tern_array_create(T_HELLO, 1, TERN_IDX(ARRAY_SIZE), &hargs, 1, &array);

    greeting_t g = {{1, 2, 3}, "test group"}, a = {{4, 5, 6}, "test array"};
    tern_send_buf(&group, EP_SAY_HELLO, &g, sizeof g);
    tern_send_buf(&array, EP_SAY_HELLO, &a, sizeof a);
}

int main(int argc, char **argv)
{
    const tern_ep_def_t main_eps[] = {{"done", main_done, 0, &EP_DONE}, {0}};
    const tern_ep_def_t hello_eps[] = {{"sayHello", say_hello, 0, &EP_SAY_HELLO}, {0}};
    if (tern_type_define("Main", sizeof(main_state_t), NULL, NULL, main_eps, &T_MAIN) ||
        tern_type_define("Hello", sizeof(hello_state_t), hello_ctor, NULL, hello_eps,
                         &T_HELLO))
        return 1;
    return tern_run(argc, argv, start);
}
