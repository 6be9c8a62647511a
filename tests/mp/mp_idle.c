/*
 * Idle PEs sleep: once every group member has answered main (so the paths to PE 0 are
 * made), no PE has anything to do while main sleeps for IDLE seconds; then every member
 * reports the share of a CPU its process used during that stretch, and main checks that
 * none used more than 10%. A PE spinning on its transports instead of
 * sleeping (in the kernel, on a futex or a descriptor) uses the whole stretch.
 *
 *     ternrun -n N ./mp_idle [IDLE_SECONDS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "mp_check.h"

static tern_type_t T_MEMBER;
static tern_ep_t EP_MARK, EP_REPORT;

static double cpu_now(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

typedef struct {
    tern_future_t marks, reports;
    double cpu0, wall0;
} member_t;

static void member_ctor(void *self, const tern_msg_t *args)
{
    member_t *m = self;
    memcpy(&m->marks, tern_msg_seg(args, 0, NULL), sizeof m->marks);
    memcpy(&m->reports, tern_msg_seg(args, 1, NULL), sizeof m->reports);
}

/* The start of the idle stretch (this message also made every path to PE 0). */
static void member_mark(void *self, const tern_msg_t *msg)
{
    (void)msg;
    member_t *m = self;
    m->cpu0 = cpu_now();
    m->wall0 = mp_now();
    CHECK_OK(tern_future_set(&m->marks, NULL, 0));
}

/* Its end: the share of a CPU this process used meanwhile. */
static void member_report(void *self, const tern_msg_t *msg)
{
    (void)msg;
    member_t *m = self;
    double share[2] = {(cpu_now() - m->cpu0) / (mp_now() - m->wall0), tern_my_pe()};
    CHECK_OK(tern_future_set(&m->reports, share, sizeof share));
}

static void start(int argc, char **argv)
{
    double idle = argc > 1 ? atof(argv[1]) : 1.0;
    int npes = tern_num_pes();
    tern_future_t marks, reports;
    CHECK_OK(tern_future_create(npes, &marks));
    CHECK_OK(tern_future_create(npes, &reports));
    tern_iov_t args[2] = {{&marks, sizeof marks}, {&reports, sizeof reports}};
    tern_proxy_t group;
    CHECK_OK(tern_group_create(T_MEMBER, args, 2, NULL, &group));
    CHECK_OK(tern_send(&group, EP_MARK, NULL, 0, NULL));
    CHECK_OK(tern_future_wait(&marks));
    CHECK_OK(tern_sleep(idle));
    CHECK_OK(tern_send(&group, EP_REPORT, NULL, 0, NULL));
    CHECK_OK(tern_future_wait(&reports));
    double worst = -1;
    int worst_pe = -1;
    for (int i = 0; i < npes; i++) {
        size_t len;
        const double *v = tern_future_value(&reports, i, &len);
        CHECK(v && len == 2 * sizeof(double));
        if (v[0] > worst) {
            worst = v[0];
            worst_pe = (int)v[1];
        }
    }
    printf("mp_idle: %d PEs idle for %.1f s; the busiest used %.1f%% of a CPU (PE %d)\n", npes,
           idle, 100 * worst, worst_pe);
    if (worst > 0.10)
        tern_abort("PE %d used %.0f%% of a CPU while idle", worst_pe, 100 * worst);
    tern_future_free(&marks);
    tern_future_free(&reports);
    tern_exit(0);
}

int main(int argc, char **argv)
{
    if (tern_type_register("Member", sizeof(member_t), member_ctor, NULL, &T_MEMBER) ||
        tern_ep_register(T_MEMBER, "mark", member_mark, &EP_MARK) ||
        tern_ep_register(T_MEMBER, "report", member_report, &EP_REPORT))
        return 1;
    return tern_run(argc, argv, start);
}
