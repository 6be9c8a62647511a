/*
 * Minimal assertions for the single-process unit tests.
 *
 * Every CHECK* macro is an expression that yields 1 when the check passed and 0 when it
 * failed, so a loop can stop at its first failure:  if (!CHECK_EQ(a, b)) break;
 * A failure prints file:line, the expression and the values, and is counted; the first
 * CHECK_MAX_REPORTS failures are printed, later ones only counted. check_finish() prints
 * the summary line and returns the exit status for main (0 when everything passed).
 *
 * Also: a small deterministic PRNG (xorshift64*), so a failure reproduces from the seed.
 */
#ifndef TERN_TESTS_UNIT_CHECK_H
#define TERN_TESTS_UNIT_CHECK_H

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define CHECK_MAX_REPORTS 20

static unsigned long check_passed_;
static unsigned long check_failed_;
static double check_t0_;

static inline double check_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Call first thing in main. */
static inline void check_start(void) { check_t0_ = check_now(); }

static inline int check_fail_head_(const char *file, int line)
{
    check_failed_++;
    if (check_failed_ > CHECK_MAX_REPORTS) {
        if (check_failed_ == CHECK_MAX_REPORTS + 1)
            fprintf(stderr, "(further failures are counted but not printed)\n");
        return 0;
    }
    fprintf(stderr, "%s:%d: check failed: ", file, line);
    return 1;
}

static inline int check_true_(int ok, const char *expr, const char *file, int line)
{
    if (ok) {
        check_passed_++;
        return 1;
    }
    if (check_fail_head_(file, line))
        fprintf(stderr, "%s\n", expr);
    return 0;
}

static inline int check_eq_i_(long long a, long long b, const char *ea, const char *eb,
                              const char *file, int line)
{
    if (a == b) {
        check_passed_++;
        return 1;
    }
    if (check_fail_head_(file, line))
        fprintf(stderr, "%s == %s (%lld != %lld)\n", ea, eb, a, b);
    return 0;
}

static inline int check_eq_u_(uint64_t a, uint64_t b, const char *ea, const char *eb,
                              const char *file, int line)
{
    if (a == b) {
        check_passed_++;
        return 1;
    }
    if (check_fail_head_(file, line))
        fprintf(stderr, "%s == %s (%" PRIu64 " [0x%" PRIx64 "] != %" PRIu64 " [0x%" PRIx64 "])\n",
                ea, eb, a, a, b, b);
    return 0;
}

static inline int check_eq_p_(const void *a, const void *b, const char *ea, const char *eb,
                              const char *file, int line)
{
    if (a == b) {
        check_passed_++;
        return 1;
    }
    if (check_fail_head_(file, line))
        fprintf(stderr, "%s == %s (%p != %p)\n", ea, eb, a, b);
    return 0;
}

static inline int check_mem_(const void *a, const void *b, size_t n, const char *ea,
                             const char *eb, const char *file, int line)
{
    const unsigned char *x = a, *y = b;
    if (n == 0 || memcmp(x, y, n) == 0) {
        check_passed_++;
        return 1;
    }
    size_t i = 0;
    while (x[i] == y[i])
        i++;
    if (check_fail_head_(file, line))
        fprintf(stderr, "%s and %s differ at byte %zu of %zu (0x%02x != 0x%02x)\n", ea, eb, i,
                n, x[i], y[i]);
    return 0;
}

#define CHECK(cond) check_true_((cond) ? 1 : 0, #cond, __FILE__, __LINE__)
/* Signed comparison (values converted to long long). */
#define CHECK_EQ(a, b) check_eq_i_((long long)(a), (long long)(b), #a, #b, __FILE__, __LINE__)
/* Unsigned 64-bit comparison, printed in decimal and hex. */
#define CHECK_EQ_U(a, b) \
    check_eq_u_((uint64_t)(a), (uint64_t)(b), #a, #b, __FILE__, __LINE__)
#define CHECK_EQ_PTR(a, b) check_eq_p_((a), (b), #a, #b, __FILE__, __LINE__)
/* n bytes at a and b are equal. */
#define CHECK_MEM(a, b, n) check_mem_((a), (b), (n), #a, #b, __FILE__, __LINE__)

/* Print the summary line; returns main's exit status. */
static inline int check_finish(const char *name)
{
    double dt = check_now() - check_t0_;
    printf("%s: %s: %lu checks passed, %lu failed (%.2f s)\n", name,
           check_failed_ ? "FAILED" : "ok", check_passed_, check_failed_, dt);
    fflush(stdout);
    return check_failed_ ? 1 : 0;
}

static inline unsigned long check_failures(void) { return check_failed_; }

/* ---- deterministic PRNG (xorshift64*) ---- */

typedef struct {
    uint64_t s;
} test_rng_t;

static inline void rng_seed(test_rng_t *r, uint64_t seed)
{
    /* Any nonzero state works; mix the seed so small seeds are not similar streams. */
    r->s = seed * 0x9e3779b97f4a7c15ULL + 0x2545f4914f6cdd1dULL;
    if (r->s == 0)
        r->s = 1;
}

static inline uint64_t rng_next(test_rng_t *r)
{
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545f4914f6cdd1dULL;
}

/* Uniform in [0, n), n > 0 (the modulo bias is irrelevant here). */
static inline uint64_t rng_below(test_rng_t *r, uint64_t n) { return rng_next(r) % n; }

/* Uniform in [lo, hi], lo <= hi. */
static inline int64_t rng_range(test_rng_t *r, int64_t lo, int64_t hi)
{
    return lo + (int64_t)rng_below(r, (uint64_t)(hi - lo) + 1);
}

/* 1 with probability num/den. */
static inline int rng_chance(test_rng_t *r, unsigned num, unsigned den)
{
    return rng_below(r, den) < num;
}

/* Fisher-Yates shuffle of n uint64 values. */
static inline void rng_shuffle_u64(test_rng_t *r, uint64_t *a, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)rng_below(r, i);
        uint64_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

#endif
