/*
 * Bad input gets a clear error and loses nothing: each wrong call below must fail with
 * the right status (its message, naming the call, is checked by the test script), and the
 * good calls around them must still deliver every message.
 */
#include <stdlib.h>
#include <string.h>

#include "mp_check.h"

static tern_type_t T_A, T_B, T_CHECKER;
static tern_ep_t EP_A_HIT, EP_B_HIT, EP_DONE;
static tern_status_t dup_type_status, dup_ep_status, empty_name_status;

typedef struct {
    int expected, got;
} checker_t;

typedef struct {
    tern_proxy_t checker;
} a_t;

static void checker_ctor(void *self, const tern_msg_t *m)
{
    ((checker_t *)self)->expected = *(const int *)tern_msg_data(m);
}

static void checker_done(void *self, const tern_msg_t *m)
{
    (void)m;
    checker_t *c = self;
    if (++c->got == c->expected)
        tern_exit(0);
}

/* A destructor runs once the job ends: what it tries fails, and says so (once). */
static void checker_dtor(void *self)
{
    tern_proxy_t me = tern_self_proxy(self);
    if (tern_send_buf(&me, EP_DONE, NULL, 0) != TERN_ERR_STATE)
        tern_abort("a send from a destructor did not fail");
    tern_future_t f = {0, 1, 1};
    if (tern_future_set(&f, NULL, 0) != TERN_ERR_STATE)
        tern_abort("a future set from a destructor did not fail");
    tern_exit(3);
}

static void a_ctor(void *self, const tern_msg_t *m)
{
    memcpy(&((a_t *)self)->checker, tern_msg_data(m), sizeof(tern_proxy_t));
}

static void a_hit(void *self, const tern_msg_t *m)
{
    (void)m;
    CHECK_OK(tern_send(&((a_t *)self)->checker, EP_DONE, NULL, 0, NULL));
}

static void b_hit(void *self, const tern_msg_t *m)
{
    (void)self;
    (void)m;
    tern_abort("B.hit must never run");
}

static void noop_ctor(void *self, const tern_msg_t *m)
{
    (void)self;
    (void)m;
}

static void start(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    int npes = tern_num_pes();
    CHECK_EQ(dup_type_status, TERN_ERR_EXISTS);
    CHECK_EQ(dup_ep_status, TERN_ERR_EXISTS);
    CHECK_EQ(empty_name_status, TERN_ERR_INVALID);

    /* registration after start */
    tern_type_t t;
    tern_ep_t e;
    CHECK_EQ(tern_type_register("Late", 8, NULL, NULL, &t), TERN_ERR_STATE);
    CHECK_EQ(tern_ep_register(T_A, "late", a_hit, &e), TERN_ERR_STATE);

    int dims[2] = {4, 3};
    int expected = 4 * 3 + 1;
    tern_proxy_t checker, arr, single;
    tern_iov_t civ = {&expected, sizeof expected};
    CHECK_OK(tern_chare_create(T_CHECKER, 0, &civ, 1, &checker));
    tern_iov_t aiv = {&checker, sizeof checker};
    CHECK_OK(tern_array_create(T_A, 2, dims, &aiv, 1, &arr));

    /* wrong PE */
    CHECK_EQ(tern_chare_create(T_A, npes, &aiv, 1, &single), TERN_ERR_RANGE);
    CHECK_EQ(tern_chare_create(T_A, -5, &aiv, 1, &single), TERN_ERR_RANGE);
    CHECK_EQ(tern_chare_create(999, 0, &aiv, 1, &single), TERN_ERR_INVALID);
    CHECK_OK(tern_chare_create(T_A, npes - 1, &aiv, 1, &single));
    tern_proxy_t g, gel;
    CHECK_OK(tern_group_create(T_B, NULL, 0, NULL, &g));
    CHECK_EQ(tern_proxy_elem(&g, &npes, &gel), TERN_ERR_RANGE);

    /* bad array shapes */
    int bad_dims[2] = {4, 0};
    tern_proxy_t bad;
    CHECK_EQ(tern_array_create(T_A, 2, bad_dims, &aiv, 1, &bad), TERN_ERR_INVALID);
    CHECK_EQ(tern_array_create(T_A, 7, dims, &aiv, 1, &bad), TERN_ERR_INVALID);

    /* index out of range, through tern_proxy_elem and through a hand-made proxy */
    int out_idx[2] = {4, 0};
    tern_proxy_t el;
    CHECK_EQ(tern_proxy_elem(&arr, out_idx, &el), TERN_ERR_RANGE);
    int ok_idx[2] = {3, 2};
    CHECK_OK(tern_proxy_elem(&arr, ok_idx, &el));
    tern_proxy_t forged = el;
    forged.idx[1] = 3;
    CHECK_EQ(tern_send(&forged, EP_A_HIT, NULL, 0, NULL), TERN_ERR_RANGE);
    CHECK_EQ(tern_proxy_elem(&single, ok_idx, &el), TERN_ERR_INVALID);

    /* unknown entry method, and one of another chare type */
    CHECK_EQ(tern_send(&arr, 12345, NULL, 0, NULL), TERN_ERR_INVALID);
    CHECK_EQ(tern_send(&arr, EP_B_HIT, NULL, 0, NULL), TERN_ERR_TYPE);
    CHECK_EQ(tern_send(&single, EP_B_HIT, NULL, 0, NULL), TERN_ERR_TYPE);
    CHECK_EQ(tern_send(NULL, EP_A_HIT, NULL, 0, NULL), TERN_ERR_INVALID);
    tern_iov_t nulbuf = {NULL, 10};
    CHECK_EQ(tern_send(&single, EP_A_HIT, &nulbuf, 1, NULL), TERN_ERR_INVALID);
    CHECK_EQ(tern_send(&single, EP_A_HIT, NULL, -1, NULL), TERN_ERR_INVALID);
    /* Constructor arguments: a NULL buffer with a length, for every kind of creation. */
    tern_iov_t nularg = {NULL, 5};
    tern_proxy_t none;
    CHECK_EQ(tern_chare_create(T_A, 0, &nularg, 1, &none), TERN_ERR_INVALID);
    CHECK_EQ(tern_group_create(T_B, &nularg, 1, NULL, &none), TERN_ERR_INVALID);
    CHECK_EQ(tern_array_create(T_A, 2, dims, &nularg, 1, &none), TERN_ERR_INVALID);
    CHECK_EQ(tern_array_create(T_A, 2, dims, &aiv, TERN_MAX_IOV + 1, &none), TERN_ERR_INVALID);
    /* Lengths that add up past SIZE_MAX (or past any message) must not wrap around. */
    static char big[16];
    tern_iov_t huge[2] = {{big, SIZE_MAX - 8}, {big, 16}};
    tern_iov_t halves[2] = {{big, (size_t)1 << 45}, {big, ((size_t)1 << 45) + 16}};
    CHECK_EQ(tern_send(&single, EP_A_HIT, halves, 2, NULL), TERN_ERR_INVALID);
    CHECK_EQ(tern_send(&single, EP_A_HIT, huge, 2, NULL), TERN_ERR_INVALID);
    CHECK_EQ(tern_chare_create(T_A, 0, huge, 2, &none), TERN_ERR_INVALID);
    tern_iov_t huge1 = {big, SIZE_MAX};
    CHECK_EQ(tern_send(&single, EP_A_HIT, &huge1, 1, NULL), TERN_ERR_INVALID);
    tern_future_t tf;
    CHECK_EQ(tern_call(&single, EP_A_HIT, huge, 2, TERN_CALL_DONE, NULL, &tf), TERN_ERR_INVALID);

    tern_msg_t *m = tern_msg_alloc(16);
    CHECK_EQ(tern_send_msg(&arr, EP_B_HIT, m, NULL), TERN_ERR_TYPE); /* consumed anyway */

    /* and the good calls all arrive */
    CHECK_OK(tern_send(&arr, EP_A_HIT, NULL, 0, NULL));
    CHECK_OK(tern_send(&single, EP_A_HIT, NULL, 0, NULL));
}

int main(int argc, char **argv)
{
    if (tern_type_register("A", sizeof(a_t), a_ctor, NULL, &T_A) ||
        tern_ep_register(T_A, "hit", a_hit, &EP_A_HIT) ||
        tern_type_register("B", 0, noop_ctor, NULL, &T_B) ||
        tern_ep_register(T_B, "hit", b_hit, &EP_B_HIT) ||
        tern_type_register("Checker", sizeof(checker_t), checker_ctor, checker_dtor,
                           &T_CHECKER) ||
        tern_ep_register(T_CHECKER, "done", checker_done, &EP_DONE))
        return 1;
    tern_type_t t;
    tern_ep_t e;
    dup_type_status = tern_type_register("A", 4, NULL, NULL, &t);
    dup_ep_status = tern_ep_register(T_A, "hit", a_hit, &e);
    empty_name_status = tern_type_register("", 4, NULL, NULL, &t);
    return tern_run(argc, argv, start);
}
