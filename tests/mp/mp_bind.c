/*
 * What bindings need from the C API: data kept with a type and an entry method and handed
 * back (the constructor finds its type from self; a method finds the entry method of its
 * message, for point-to-point sends, broadcasts and section multicasts), a reducer with
 * data of its own, the version, and a hook that gets the runtime's log lines.
 *
 *   mp_bind
 */
#include <stdio.h>
#include <string.h>

#include "mp_check.h"

static tern_type_t T_B;
static tern_ep_t EP_HIT, EP_OTHER, EP_WHERE;
static int type_tag, hit_tag, other_tag;
static int64_t modulus = 1000003;
static tern_reducer_t R_MODSUM;
static tern_map_t MAP_SHIFT;
static int shift_by = 1, map_calls_bad;

typedef struct {
    int ctor_saw_data;
    int64_t hits;
} b_t;

static void b_ctor(void *self, const tern_msg_t *args)
{
    (void)args;
    b_t *b = self;
    CHECK_EQ(tern_self_type(self), T_B);
    b->ctor_saw_data = tern_type_data(tern_self_type(self)) == &type_tag;
}

/* A map with data (a binding's map object): element i on PE (i + shift) mod PEs. */
static int shift_map(const int32_t *idx, int ndims, const int32_t *dims, int num_pes,
                     void *data)
{
    (void)dims;
    if (data != &shift_by || ndims != 1)
        map_calls_bad++;
    return (idx[0] + *(int *)data) % num_pes;
}

static void b_where(void *self, const tern_msg_t *msg)
{
    (void)msg;
    int pe = tern_my_pe(), want = (tern_self_index(self)[0] + shift_by) % tern_num_pes();
    CHECK_EQ(pe, want);
    tern_return(&pe, sizeof pe);
}

/* hit(future): check what a binding would look up, then a modular sum to the future. */
static void b_hit(void *self, const tern_msg_t *msg)
{
    b_t *b = self;
    CHECK(b->ctor_saw_data);
    CHECK_EQ(tern_msg_ep(msg), EP_HIT);
    CHECK(tern_ep_data(tern_msg_ep(msg)) == &hit_tag);
    b->hits++;
    tern_future_t f;
    memcpy(&f, tern_msg_data(msg), sizeof f);
    int64_t v = 999999 + tern_self_index(self)[0];
    tern_callback_t cb = tern_cb_future(&f);
    CHECK_OK(tern_contribute(self, &v, sizeof v, R_MODSUM, &cb));
}

static void b_other(void *self, const tern_msg_t *msg)
{
    (void)self;
    CHECK_EQ(tern_msg_ep(msg), EP_OTHER);
    CHECK(tern_ep_data(EP_OTHER) == &other_tag);
}

static void modsum(void *inout, const void *in, size_t len, void *data)
{
    int64_t m = *(const int64_t *)data, *a = inout;
    const int64_t *b = in;
    for (size_t i = 0; i < len / sizeof *a; i++)
        a[i] = (a[i] + b[i]) % m;
}

static char hooked[512];
static int hooked_level = -1, hooked_lines;
static void hook(int level, const char *line, void *arg)
{
    CHECK(arg == &hooked_lines);
    hooked_level = level;
    hooked_lines++;
    snprintf(hooked, sizeof hooked, "%s", line);
}

static void start(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    int ma, mi, pa;
    tern_version(&ma, &mi, &pa);
    CHECK(ma == TERN_VERSION_MAJOR && mi == TERN_VERSION_MINOR && pa == TERN_VERSION_PATCH);
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", ma, mi, pa);
    CHECK(strcmp(tern_version_string(), want) == 0);

    int n = 3 * tern_num_pes() + 1;
    tern_proxy_t arr;
    CHECK_OK(tern_array_create(T_B, 1, TERN_IDX(n), NULL, 0, &arr));
    /* a broadcast, point to point, a section multicast */
    tern_future_t f;
    int64_t sum, want_sum = 0;
    for (int i = 0; i < n; i++)
        want_sum = (want_sum + 999999 + i) % modulus;
    CHECK_OK(tern_future_create(1, &f));
    CHECK_OK(tern_send_buf(&arr, EP_HIT, &f, sizeof f));
    CHECK_OK(tern_future_get(&f, &sum, sizeof sum, NULL));
    CHECK_EQ(sum, want_sum);
    tern_future_t g;
    CHECK_OK(tern_call_elem(&arr, TERN_IDX(n - 1), EP_OTHER, NULL, 0, TERN_CALL_DONE, &g));
    CHECK_OK(tern_future_wait(&g));
    tern_future_free(&g);
    tern_proxy_t sec;
    CHECK_OK(tern_section_slice(&arr, (tern_slice_t[]){{0, n, 2}}, 1, &sec));
    CHECK_OK(tern_call(&sec, EP_OTHER, NULL, 0, TERN_CALL_DONE, NULL, &g));
    CHECK_OK(tern_future_wait(&g));
    tern_future_free(&g);

    /* the log hook: a failing call's line comes to it, not to stderr; then back */
    tern_set_log_hook(hook, &hooked_lines);
    CHECK_EQ(tern_send_buf(&arr, 12345, NULL, 0), TERN_ERR_INVALID);
    tern_set_log_hook(NULL, NULL);
    CHECK_EQ(hooked_lines, 1);
    CHECK_EQ(hooked_level, TERN_LOG_ERROR);
    CHECK(strstr(hooked, "tern_send") && strstr(hooked, "12345"));
    CHECK(hooked[strlen(hooked) - 1] != '\n');
    printf("hooked: %s\n", hooked);
    CHECK_EQ(tern_msg_ep(NULL), TERN_EP_NONE);
    CHECK(tern_type_data(9999) == NULL && tern_ep_data(9999) == NULL);
    /* an array placed by a map registered with data */
    tern_array_opts_t o = {.map = MAP_SHIFT};
    tern_proxy_t mapped;
    CHECK_OK(tern_array_create_opts(T_B, 1, TERN_IDX(n), NULL, 0, &o, &mapped));
    for (int i = 0; i < n; i++) {
        int pe;
        CHECK_OK(tern_call_elem(&mapped, TERN_IDX(i), EP_WHERE, NULL, 0, TERN_CALL_RET, &g));
        CHECK_OK(tern_future_get(&g, &pe, sizeof pe, NULL));
        CHECK_EQ(pe, (i + shift_by) % tern_num_pes());
    }
    CHECK_EQ(map_calls_bad, 0);
    printf("mp_bind: ok\n");
    tern_exit(0);
}

int main(int argc, char **argv)
{
    const tern_ep_def_t eps[] = {
        {"hit", b_hit, 0, &EP_HIT},
        {"other", b_other, 0, &EP_OTHER},
        {"where", b_where, 0, &EP_WHERE},
        {0},
    };
    if (tern_type_define("B", sizeof(b_t), b_ctor, NULL, eps, &T_B) ||
        tern_type_set_data(T_B, &type_tag) || tern_ep_set_data(EP_HIT, &hit_tag) ||
        tern_ep_set_data(EP_OTHER, &other_tag) ||
        tern_reducer_register_data("modsum", modsum, &modulus, &R_MODSUM) ||
        tern_map_register_data("shift", shift_map, &shift_by, &MAP_SHIFT))
        return 1;
    CHECK_EQ(tern_type_set_data(777, NULL), TERN_ERR_INVALID);
    return tern_run(argc, argv, start);
}
