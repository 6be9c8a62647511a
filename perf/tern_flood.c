/*
 * A flood toward a slow receiver: `tern_flood N SIZE SLEEP LIMIT_MB` makes every PE but 0
 * send N messages of SIZE bytes (at least 8) to PE 0 from one entry method, while PE 0
 * sleeps SLEEP seconds inside an entry method of its own before it receives any. Every
 * message must arrive once and in order, and the peak memory of each PE during the flood
 * (VmHWM after resetting it, minus the resident size before) must stay under LIMIT_MB
 * megabytes: what waits should wait at the sender, in about the message's own size.
 * PE 0 prints each PE's peak and the bytes it cost per message sent to it, and RESULT
 * lines for perf/run.py (the largest sender's and the receiver's bytes per message).
 * The test suite runs it as mp_flood with a limit; mpi_flood.c is its MPI twin.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../tests/mp/mp_check.h"
#include "flood_mem.h"

static tern_type_t T_FLOOD;
static tern_ep_t EP_START, EP_RECV, EP_REPORT;

typedef struct {
    long n;
    long size;
    double sleep_s;
    long limit_mb;
    tern_future_t done; /* PE 0's main waits for the gathered reports */
} args_t;

typedef struct {
    args_t a;
    tern_proxy_t group;
    long base_kb;   /* resident size before the flood */
    long peak_kb;   /* peak of the flood, once measured */
    uint64_t *next; /* receiver: next sequence number expected from each PE */
    long got;
} flood_t;

typedef struct {
    int32_t pe;
    int32_t pad;
    int64_t peak_kb;
} report_t;

static void flood_ctor(void *self, const tern_msg_t *m)
{
    flood_t *s = self;
    memcpy(&s->a, tern_msg_data(m), sizeof s->a);
    s->group = tern_self_collection(self);
    if (tern_my_pe() == 0) {
        s->next = calloc((size_t)tern_num_pes(), sizeof *s->next);
        CHECK(s->next);
    }
}

static void flood_dtor(void *self)
{
    free(((flood_t *)self)->next);
}

static void flood_start(void *self, const tern_msg_t *m)
{
    (void)m;
    flood_t *s = self;
    s->base_kb = flood_measure_start();
    if (tern_my_pe() == 0) {
        /* Slow to receive: the PE does nothing else meanwhile. */
        struct timespec ts = {(time_t)s->a.sleep_s,
                              (long)((s->a.sleep_s - (double)(time_t)s->a.sleep_s) * 1e9)};
        nanosleep(&ts, NULL);
        return;
    }
    tern_proxy_t to;
    int zero = 0;
    CHECK_OK(tern_proxy_elem(&s->group, &zero, &to));
    unsigned char *buf = calloc(1, (size_t)s->a.size);
    CHECK(buf);
    tern_iov_t iov = {buf, (size_t)s->a.size};
    for (long i = 0; i < s->a.n; i++) {
        uint64_t seq = (uint64_t)i;
        memcpy(buf, &seq, sizeof seq);
        CHECK_OK(tern_send(&to, EP_RECV, &iov, 1, NULL));
    }
    free(buf);
    /* Everything sent is now queued somewhere: here, in the transport, or at PE 0. */
    s->peak_kb = flood_status_kb("VmHWM") - s->base_kb;
}

static void flood_recv(void *self, const tern_msg_t *m)
{
    flood_t *s = self;
    int src = tern_msg_src_pe(m);
    uint64_t seq;
    CHECK_EQ(tern_msg_size(m), s->a.size);
    memcpy(&seq, tern_msg_data(m), sizeof seq);
    if (seq != s->next[src])
        tern_abort("message %llu from PE %d came when %llu was due", (unsigned long long)seq,
                   src, (unsigned long long)s->next[src]);
    s->next[src]++;
    if (++s->got == s->a.n * (tern_num_pes() - 1)) {
        s->peak_kb = flood_status_kb("VmHWM") - s->base_kb;
        CHECK_OK(tern_send(&s->group, EP_REPORT, NULL, 0, NULL));
    }
}

static void flood_report(void *self, const tern_msg_t *m)
{
    (void)m;
    flood_t *s = self;
    report_t r = {tern_my_pe(), 0, s->peak_kb};
    tern_callback_t cb = tern_cb_future(&s->a.done);
    CHECK_OK(tern_contribute(self, &r, sizeof r, TERN_REDUCER_GATHER, &cb));
}

static void start(int argc, char **argv)
{
    args_t a = {argc > 1 ? atol(argv[1]) : 1000000, argc > 2 ? atol(argv[2]) : 16,
                argc > 3 ? atof(argv[3]) : 2.0, argc > 4 ? atol(argv[4]) : 200, {0, 0, 0}};
    CHECK(a.n > 0 && a.size >= 8);
    int npes = tern_num_pes();
    if (npes == 1) {
        printf("flood: one PE, nobody to flood\n");
        tern_exit(0);
        return;
    }
    CHECK_OK(tern_future_create(1, &a.done));
    tern_proxy_t g;
    tern_iov_t iov = {&a, sizeof a};
    CHECK_OK(tern_group_create(T_FLOOD, &iov, 1, NULL, &g));
    CHECK_OK(tern_await_created(&g, 1));
    double t0 = tern_wall_time();
    CHECK_OK(tern_send(&g, EP_START, NULL, 0, NULL));
    report_t *all = calloc((size_t)npes, sizeof *all);
    size_t len;
    CHECK_OK(tern_future_get(&a.done, all, (size_t)npes * sizeof *all, &len));
    CHECK_EQ(len, (size_t)npes * sizeof *all);
    int over = 0;
    for (int p = 0; p < npes; p++) {
        double mb = (double)all[p].peak_kb / 1024.0;
        double per = npes > 1 ? (double)all[p].peak_kb * 1024.0 / (double)a.n : 0;
        printf("flood: PE %d %s: peak +%.1f MB (%.0f bytes per message %s)\n", p,
               p ? "sender" : "receiver", mb, p ? per : per / (npes - 1 ? npes - 1 : 1),
               p ? "sent" : "received");
        if (mb > (double)a.limit_mb) {
            printf("flood: PE %d went over the limit of %ld MB\n", p, a.limit_mb);
            over = 1;
        }
    }
    printf("flood: %ld messages of %ld bytes from each of %d PEs in %.2f s\n", a.n, a.size,
           npes - 1, tern_wall_time() - t0);
    int64_t worst = 0;
    for (int p = 1; p < npes; p++)
        worst = all[p].peak_kb > worst ? all[p].peak_kb : worst;
    bench_result("flood_sender", (double)a.size, (double)worst * 1024.0 / (double)a.n, "B/msg");
    bench_result("flood_receiver", (double)a.size,
                 (double)all[0].peak_kb * 1024.0 / (double)a.n / (npes - 1), "B/msg");
    free(all);
    tern_exit(over);
}

int main(int argc, char **argv)
{
    if (tern_type_register("Flood", sizeof(flood_t), flood_ctor, flood_dtor, &T_FLOOD) ||
        tern_ep_register(T_FLOOD, "start", flood_start, &EP_START) ||
        tern_ep_register(T_FLOOD, "recv", flood_recv, &EP_RECV) ||
        tern_ep_register(T_FLOOD, "report", flood_report, &EP_REPORT))
        return 1;
    return tern_run(argc, argv, start);
}
