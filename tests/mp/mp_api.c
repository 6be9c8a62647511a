/*
 * The short forms of the API: tern_type_define (a type and its entry methods from a
 * table), tern_send_buf, tern_send_elem (from a whole-collection or an element proxy),
 * tern_self_send (Charm4py's self.thisProxy[i, j]), tern_call_elem, tern_timer_send (a
 * chare's timer is a message to itself), TERN_IDX; and their errors, which name the call.
 *
 * A 2-D array of G x G cells: every cell sends its index to its right and lower
 * neighbours (wrapping) with tern_self_send; each cell checks it hears from exactly its
 * left and upper neighbours, then arms a timer to itself that reports to main.
 */
#include <stdio.h>
#include <string.h>

#include "mp_check.h"

#define G 5

static tern_type_t T_CELL, T_MAIN;
static tern_ep_t EP_GO, EP_NEIGH, EP_TICK, EP_ECHO, EP_REPORT;

typedef struct {
    tern_proxy_t main;
    int heard;
    int32_t from[2][2];
    double armed;
} cell_t;

typedef struct {
    int reports;
} main_t;

static void cell_ctor(void *self, const tern_msg_t *m)
{
    memcpy(&((cell_t *)self)->main, tern_msg_data(m), sizeof(tern_proxy_t));
}

static void cell_go(void *self, const tern_msg_t *m)
{
    (void)m;
    const int32_t *ix = tern_self_index(self);
    CHECK_OK(tern_self_send(self, TERN_IDX((ix[0] + 1) % G, ix[1]), EP_NEIGH, ix,
                            2 * sizeof *ix));
    CHECK_OK(tern_self_send(self, TERN_IDX(ix[0], (ix[1] + 1) % G), EP_NEIGH, ix,
                            2 * sizeof *ix));
    /* Errors name the call and change nothing. */
    CHECK_EQ(tern_self_send(self, TERN_IDX(G, 0), EP_NEIGH, ix, 8), TERN_ERR_RANGE);
    CHECK_EQ(tern_self_send(self, TERN_IDX(0, 0), EP_REPORT, ix, 8), TERN_ERR_TYPE);
}

static void cell_neigh(void *self, const tern_msg_t *m)
{
    cell_t *c = self;
    const int32_t *ix = tern_self_index(self);
    const int32_t *from = tern_msg_data(m);
    CHECK_EQ(tern_msg_size(m), 2 * sizeof(int32_t));
    int up = from[1] == ix[1] && from[0] == (ix[0] + G - 1) % G;
    int left = from[0] == ix[0] && from[1] == (ix[1] + G - 1) % G;
    CHECK(up || left);
    c->from[c->heard][0] = from[0];
    c->from[c->heard][1] = from[1];
    if (++c->heard == 2) {
        CHECK(memcmp(c->from[0], c->from[1], sizeof c->from[0]) != 0);
        tern_proxy_t me = tern_self_proxy(self);
        c->armed = tern_wall_time();
        double delay = 0.01;
        CHECK_OK(tern_timer_send(0.05, &me, EP_TICK, &delay, sizeof delay));
    }
}

static void cell_tick(void *self, const tern_msg_t *m)
{
    cell_t *c = self;
    CHECK_EQ(tern_msg_size(m), sizeof(double));
    CHECK(tern_wall_time() - c->armed >= 0.05);
    const int32_t *ix = tern_self_index(self);
    int32_t lin = ix[0] * G + ix[1];
    CHECK_OK(tern_send_buf(&c->main, EP_REPORT, &lin, sizeof lin));
}

static void cell_echo(void *self, const tern_msg_t *m)
{
    (void)self;
    tern_return(tern_msg_data(m), tern_msg_size(m));
}

static void main_report(void *self, const tern_msg_t *m)
{
    main_t *s = self;
    CHECK_EQ(tern_msg_size(m), sizeof(int32_t));
    if (++s->reports == G * G) {
        printf("mp_api: all %d cells reported\n", G * G);
        tern_exit(0);
    }
}

static void start(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    tern_proxy_t main_chare, cells, el, el2;
    CHECK_OK(tern_chare_create(T_MAIN, 0, NULL, 0, &main_chare));
    tern_iov_t args = {&main_chare, sizeof main_chare};
    CHECK_OK(tern_array_create(T_CELL, 2, TERN_IDX(G, G), &args, 1, &cells));

    /* tern_call_elem, and tern_proxy_elem from an element proxy. */
    CHECK_OK(tern_proxy_elem(&cells, TERN_IDX(1, 2), &el));
    CHECK_OK(tern_proxy_elem(&el, TERN_IDX(3, 4), &el2));
    CHECK_EQ(el2.idx[0], 3);
    CHECK_EQ(el2.idx[1], 4);
    int64_t x = 1234567, y = 0;
    tern_future_t f;
    CHECK_OK(tern_call_elem(&el, TERN_IDX(G - 1, G - 1), EP_ECHO, &x, sizeof x,
                            TERN_CALL_RET, &f));
    CHECK_OK(tern_future_get(&f, &y, sizeof y, NULL));
    CHECK_EQ(y, x);
    CHECK_EQ(tern_call_elem(&cells, TERN_IDX(0, G), EP_ECHO, &x, sizeof x, TERN_CALL_RET, &f),
             TERN_ERR_RANGE);
    CHECK_EQ(tern_send_elem(&cells, TERN_IDX(-1, 0), EP_ECHO, NULL, 0), TERN_ERR_RANGE);
    CHECK_EQ(tern_send_elem(&main_chare, TERN_IDX(0), EP_ECHO, NULL, 0), TERN_ERR_INVALID);
    CHECK_EQ(tern_send_buf(&cells, EP_ECHO, NULL, 5), TERN_ERR_INVALID);
    CHECK_EQ(tern_timer_send(-1, &cells, EP_TICK, NULL, 0), TERN_ERR_INVALID);
    CHECK_EQ(tern_timer_send(1, &cells, EP_REPORT, NULL, 0), TERN_ERR_TYPE);

    /* Start the cells by a broadcast, as one element send and the rest. */
    CHECK_OK(tern_send_buf(&cells, EP_GO, NULL, 0));
}

static tern_status_t dup_status;

int main(int argc, char **argv)
{
    static const tern_ep_def_t cell_eps[] = {
        {"go", cell_go, 0, &EP_GO},
        {"neigh", cell_neigh, 0, &EP_NEIGH},
        {"tick", cell_tick, 0, &EP_TICK},
        {"echo", cell_echo, 0, &EP_ECHO},
        {0},
    };
    static const tern_ep_def_t main_eps[] = {{"report", main_report, 0, &EP_REPORT}, {0}};
    if (tern_type_define("Cell", sizeof(cell_t), cell_ctor, NULL, cell_eps, &T_CELL) ||
        tern_type_define("Main", sizeof(main_t), NULL, NULL, main_eps, &T_MAIN))
        return 1;
    /* A table that repeats a name stops at it. */
    static tern_ep_t a, b;
    static const tern_ep_def_t dup[] = {{"x", cell_go, 0, &a}, {"x", cell_go, 0, &b}, {0}};
    tern_type_t t;
    dup_status = tern_type_define("Dup", 0, NULL, NULL, dup, &t);
    if (dup_status != TERN_ERR_EXISTS)
        return 2;
    return tern_run(argc, argv, start);
}
