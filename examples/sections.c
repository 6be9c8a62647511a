/*
 * sections: the three examples of Charm4py's "Sections: Split, Slice and Combine
 * Collections", in C.
 *   1. A group, and a section of the members on even PEs, made by a split with a function
 *      and again by a slice; a call to each completes once per member.
 *   2. A 4 x 4 array split into 4 sections by the first index; section 0 reduces (a sum of
 *      ones: 4).
 *   3. Two 4 x 4 arrays combined into one section; a broadcast to it reaches 32 elements;
 *      then 4 sections across both arrays (by the first index), a call to each.
 *
 *     ternrun -n 4 ./sections
 */
#include <stdio.h>

#include <tern/tern.h>

static tern_type_t T_TEST, T_GTEST;
static tern_ep_t EP_SAYHI, EP_GSAYHI, EP_DOREDUCTION;

typedef struct {
    int hi;
} test_t;

static void say_hi(void *self, const tern_msg_t *msg)
{
    (void)msg;
    ((test_t *)self)->hi++;
}

/* doreduction(section, future): contribute 1 to a sum over the section. */
typedef struct {
    tern_proxy_t section;
    tern_future_t future;
} red_args_t;

static void doreduction(void *self, const tern_msg_t *msg)
{
    const red_args_t *a = tern_msg_data(msg);
    int one = 1;
    tern_callback_t cb = tern_cb_future(&a->future);
    tern_section_contribute(self, &a->section, &one, sizeof one,
                            TERN_REDUCER(TERN_OP_SUM, TERN_DT_INT32), &cb);
}

static int even_pe(const int32_t *idx, int ndims, void *arg)
{
    (void)ndims;
    (void)arg;
    return idx[0] % 2 == 0 ? 0 : -1;
}

static int section_no(const int32_t *idx, int ndims, void *arg)
{
    (void)ndims;
    (void)arg;
    return idx[0]; /* the first index determines the section */
}

static int wait_call(const tern_proxy_t *p, tern_ep_t ep)
{
    tern_future_t f;
    if (tern_call(p, ep, NULL, 0, TERN_CALL_DONE, NULL, &f) != TERN_OK)
        return 1;
    return tern_future_get(&f, NULL, 0, NULL) != TERN_OK;
}

static void start(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    int wrong = 0;

    /* 1. a group section on even-numbered PEs, by split and by slice */
    tern_proxy_t g, sec, sec2;
    tern_group_create(T_GTEST, NULL, 0, NULL, &g);
    tern_section_split(&g, 1, even_pe, NULL, &sec);
    tern_slice_t every_other = {0, tern_num_pes(), 2};
    tern_section_slice(&g, &every_other, 1, &sec2);
    wrong |= wait_call(&sec, EP_GSAYHI) | wait_call(&sec2, EP_GSAYHI);
    wrong |= sec.dims[0] != (tern_num_pes() + 1) / 2 || sec2.dims[0] != sec.dims[0];
    printf("1. a section of %d group members on even PEs, by split and by slice\n",
           sec.dims[0]);

    /* 2. a 4 x 4 array split into 4 sections; section 0 reduces */
    tern_proxy_t a, secs[4];
    tern_array_create(T_TEST, 2, TERN_IDX(4, 4), NULL, 0, &a);
    tern_section_split(&a, 4, section_no, NULL, secs);
    red_args_t ra = {secs[0], {0, 0, 0}};
    tern_future_create(1, &ra.future);
    tern_send_buf(&secs[0], EP_DOREDUCTION, &ra, sizeof ra);
    int sum = 0;
    tern_future_get(&ra.future, &sum, sizeof sum, NULL);
    wrong |= sum != 4;
    printf("2. section 0 of a 4 x 4 array reduced: %d\n", sum);

    /* 3. two arrays combined; 4 sections across both */
    tern_proxy_t arrays[2], combined, cross[4];
    tern_array_create(T_TEST, 2, TERN_IDX(4, 4), NULL, 0, &arrays[0]);
    tern_array_create(T_TEST, 2, TERN_IDX(4, 4), NULL, 0, &arrays[1]);
    tern_section_combine(arrays, 2, &combined);
    wrong |= wait_call(&combined, EP_SAYHI) || combined.dims[0] != 32;
    tern_section_split(&combined, 4, section_no, NULL, cross);
    tern_future_t fs[4];
    for (int i = 0; i < 4; i++) {
        tern_call(&cross[i], EP_SAYHI, NULL, 0, TERN_CALL_DONE, NULL, &fs[i]);
        wrong |= cross[i].dims[0] != 8;
    }
    wrong |= tern_future_wait_all(fs, 4) != TERN_OK;
    for (int i = 0; i < 4; i++)
        tern_future_free(&fs[i]);
    printf("3. a broadcast to 2 combined arrays (%d members), then to 4 sections across "
           "them (8 each)%s\n", combined.dims[0], wrong ? ": WRONG" : "");
    tern_exit(wrong);
}

int main(int argc, char **argv)
{
    static const tern_ep_def_t eps[] = {{"sayHi", say_hi, 0, &EP_SAYHI},
                                        {"doreduction", doreduction, 0, &EP_DOREDUCTION},
                                        {0}};
    static const tern_ep_def_t geps[] = {{"sayHi", say_hi, 0, &EP_GSAYHI}, {0}};
    tern_type_define("Test", sizeof(test_t), NULL, NULL, eps, &T_TEST);
    tern_type_define("GTest", sizeof(test_t), NULL, NULL, geps, &T_GTEST);
    return tern_run(argc, argv, start);
}
