/*
 * Payloads from 0 bytes to 64 MiB, checked byte for byte: sent point to point from PE 0
 * to a chare on the last PE (the same PE in a 1-PE job) one after another, as several
 * segments, handed over with tern_send_msg, and broadcast to a group.
 *
 *     mp_payload [max_bytes]
 */
#include <stdlib.h>
#include <string.h>

#include "mp_check.h"

static tern_type_t T_SINK, T_DRIVER;
static tern_ep_t EP_ONE, EP_SEGS, EP_BCAST, EP_ACK, EP_START;

static const size_t sizes[] = {
    0, 1, 7, 8, 15, 16, 17, 100, 1000, 4095, 4096, 16383, 16384, 16385, 65536,
    (1u << 20) + 3, 8u << 20, 64u << 20,
};
#define NSIZES (sizeof sizes / sizeof sizes[0])

typedef struct {
    tern_proxy_t sink, group;
    size_t max;
    int step;      /* which phase and size comes next */
    int acks;      /* acks still awaited for the current step */
    unsigned char *buf;
} driver_t;

typedef struct {
    tern_proxy_t driver;
} sink_t;

static void fill(unsigned char *p, size_t n, uint64_t tag)
{
    for (size_t i = 0; i < n; i++)
        p[i] = mp_pattern(tag, i);
}

static void verify(const unsigned char *p, size_t n, uint64_t tag, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != mp_pattern(tag, i))
            tern_abort("%s: byte %zu of %zu (tag %llu) is wrong", what, i, n,
                       (unsigned long long)tag);
}

static void ack(sink_t *s)
{
    CHECK_OK(tern_send(&s->driver, EP_ACK, NULL, 0, NULL));
}

static void sink_ctor(void *self, const tern_msg_t *m)
{
    memcpy(&((sink_t *)self)->driver, tern_msg_data(m), sizeof(tern_proxy_t));
}

/* One segment whose bytes follow the pattern named by its size, or no segment at all. */
static void sink_one(void *self, const tern_msg_t *m)
{
    if (tern_msg_nsegs(m) == 0) {
        CHECK_EQ(tern_msg_size(m), 0);
        CHECK(tern_msg_data(m) == NULL);
        ack(self);
        return;
    }
    CHECK_EQ(tern_msg_nsegs(m), 1);
    size_t n = tern_msg_size(m);
    const unsigned char *d = tern_msg_data(m);
    CHECK_EQ(((uintptr_t)d) % 16, 0);
    verify(d, n, n, "one segment");
    ack(self);
}

static void sink_segs(void *self, const tern_msg_t *m)
{
    int ns = tern_msg_nsegs(m);
    CHECK_EQ(ns, 4);
    const uint64_t *lens = tern_msg_seg(m, 0, NULL);
    for (int i = 1; i < ns; i++) {
        size_t n;
        const unsigned char *d = tern_msg_seg(m, i, &n);
        CHECK_EQ(n, lens[i - 1]);
        CHECK_EQ(((uintptr_t)d) % 16, 0);
        verify(d, n, 1000 + (uint64_t)i, "segments");
    }
    CHECK(tern_msg_seg(m, ns, NULL) == NULL);
    ack(self);
}

static void sink_bcast(void *self, const tern_msg_t *m)
{
    size_t n = tern_msg_size(m);
    verify(tern_msg_data(m), n, 77, "broadcast");
    ack(self);
}

static void send_one(driver_t *d, size_t n)
{
    if (n == 0) {
        CHECK_OK(tern_send(&d->sink, EP_ONE, NULL, 0, NULL));
        return;
    }
    fill(d->buf, n, n);
    tern_iov_t iov = {d->buf, n};
    CHECK_OK(tern_send(&d->sink, EP_ONE, &iov, 1, NULL));
    /* The buffer is the caller's again as soon as tern_send returns. */
    memset(d->buf, 0xee, n);
}

static void next_step(driver_t *d)
{
    int npes = tern_num_pes();
    for (;;) {
        int s = d->step++;
        if (s < (int)NSIZES) {
            if (sizes[s] > d->max)
                continue;
            d->acks = 1;
            send_one(d, sizes[s]);
            return;
        }
        s -= (int)NSIZES;
        if (s == 0) { /* four segments, one of them empty */
            size_t l[3] = {5, 0, d->max < 70000 ? d->max : 70000};
            unsigned char *a = malloc(l[0] + 1), *c = malloc(l[2] + 1);
            fill(a, l[0], 1001);
            fill(c, l[2], 1003);
            uint64_t lens[3] = {l[0], l[1], l[2]};
            tern_iov_t iov[4] = {{lens, sizeof lens}, {a, l[0]}, {"", 0}, {c, l[2]}};
            d->acks = 1;
            CHECK_OK(tern_send(&d->sink, EP_SEGS, iov, 4, NULL));
            free(a);
            free(c);
            return;
        }
        if (s == 1 || s == 2) { /* handed over without copy: small, then large */
            size_t n = s == 1 ? 64 : (d->max < (4u << 20) ? d->max : (4u << 20));
            tern_msg_t *m = tern_msg_alloc(n);
            CHECK(m != NULL);
            fill(tern_msg_buf(m), n, n);
            d->acks = 1;
            CHECK_OK(tern_send_msg(&d->sink, EP_ONE, m, NULL));
            return;
        }
        if (s == 3) { /* a large broadcast goes down the tree through every PE */
            size_t n = d->max < (3u << 20) ? d->max : (3u << 20);
            fill(d->buf, n, 77);
            tern_iov_t iov = {d->buf, n};
            d->acks = npes;
            CHECK_OK(tern_send(&d->group, EP_BCAST, &iov, 1, NULL));
            return;
        }
        free(d->buf);
        tern_exit(0);
        return;
    }
}

static void driver_start(void *self, const tern_msg_t *m)
{
    driver_t *d = self;
    memcpy(d, tern_msg_data(m), sizeof *d);
    d->buf = malloc(d->max < 8 ? 8 : d->max);
    CHECK(d->buf);
    next_step(d);
}

static void driver_ack(void *self, const tern_msg_t *m)
{
    (void)m;
    driver_t *d = self;
    if (--d->acks == 0)
        next_step(d);
}

static void start(int argc, char **argv)
{
    driver_t d;
    memset(&d, 0, sizeof d);
    d.max = argc > 1 ? strtoull(argv[1], NULL, 0) : (64u << 20);
    tern_proxy_t driver;
    CHECK_OK(tern_chare_create(T_DRIVER, 0, NULL, 0, &driver));
    tern_iov_t div = {&driver, sizeof driver};
    CHECK_OK(tern_chare_create(T_SINK, tern_num_pes() - 1, &div, 1, &d.sink));
    CHECK_OK(tern_group_create(T_SINK, &div, 1, NULL, &d.group));
    tern_iov_t iov = {&d, sizeof d};
    CHECK_OK(tern_send(&driver, EP_START, &iov, 1, NULL));
}

int main(int argc, char **argv)
{
    if (tern_type_register("Sink", sizeof(sink_t), sink_ctor, NULL, &T_SINK) ||
        tern_ep_register(T_SINK, "one", sink_one, &EP_ONE) ||
        tern_ep_register(T_SINK, "segs", sink_segs, &EP_SEGS) ||
        tern_ep_register(T_SINK, "bcast", sink_bcast, &EP_BCAST) ||
        tern_type_register("Driver", sizeof(driver_t), NULL, NULL, &T_DRIVER) ||
        tern_ep_register(T_DRIVER, "ack", driver_ack, &EP_ACK) ||
        tern_ep_register(T_DRIVER, "start", driver_start, &EP_START))
        return 1;
    return tern_run(argc, argv, start);
}
