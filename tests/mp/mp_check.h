/*
 * Checks for multi-process tests: a failed check aborts the whole job with the file, line
 * and expression, so ternrun (and ctest) see a non-zero exit naming the PE.
 */
#ifndef TERN_TESTS_MP_CHECK_H
#define TERN_TESTS_MP_CHECK_H

#include <stdint.h>
#include <time.h>

#include <tern/tern.h>

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (!(cond))                                                                    \
            tern_abort("%s:%d: check failed: %s", __FILE__, __LINE__, #cond);           \
    } while (0)

#define CHECK_EQ(a, b)                                                                  \
    do {                                                                                \
        long long va_ = (long long)(a), vb_ = (long long)(b);                           \
        if (va_ != vb_)                                                                 \
            tern_abort("%s:%d: check failed: %s == %s (%lld != %lld)", __FILE__,        \
                       __LINE__, #a, #b, va_, vb_);                                     \
    } while (0)

#define CHECK_OK(call) CHECK_EQ((call), TERN_OK)

/* A small deterministic generator, so that a failure reproduces. */
static inline uint64_t mp_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* The byte at `off` of test payload number `n`. */
static inline unsigned char mp_pattern(uint64_t n, uint64_t off)
{
    uint64_t x = (off + 1) * 0x9e3779b97f4a7c15ULL ^ (n + 1) * 0xbf58476d1ce4e5b9ULL;
    return (unsigned char)(x >> 56);
}

/* Monotonic seconds, comparable between processes of one machine. */
static inline double mp_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#endif
