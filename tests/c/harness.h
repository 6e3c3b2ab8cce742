/* The tiny harness the C tests of the ring core share: CHECK macros, a runner that prints one
 * line per case, and a skip (exit 77) when this machine has no usable io_uring. */
#ifndef IORING_TEST_HARNESS_H
#define IORING_TEST_HARNESS_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ioring/ioring.h"

#define T_PASS 0
#define T_FAIL 1
#define T_SKIP 77
#define CHECK(cond)                                                                            \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "    %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);      \
            return T_FAIL;                                                                     \
        }                                                                                      \
    } while (0)
#define CHECK_EQ(a, b)                                                                         \
    do {                                                                                       \
        long long a_ = (long long)(a), b_ = (long long)(b);                                    \
        if (a_ != b_) {                                                                        \
            fprintf(stderr, "    %s:%d: check failed: %s == %s (%lld != %lld)\n", __FILE__,   \
                    __LINE__, #a, #b, a_, b_);                                                 \
            return T_FAIL;                                                                     \
        }                                                                                      \
    } while (0)
#define SKIP(...)                                                                              \
    do {                                                                                       \
        fprintf(stderr, "    skip: " __VA_ARGS__);                                            \
        fputc('\n', stderr);                                                                   \
        return T_SKIP;                                                                         \
    } while (0)

struct t_case {
    const char *name;
    int (*fn)(void);
};

static int run_tests(const char *prog, const struct t_case *t, size_t n)
{
    int failed = 0, passed = 0;
    for (size_t i = 0; i < n; i++) {
        int r = t[i].fn();
        printf("%s %s\n", r == T_PASS ? "ok  " : r == T_SKIP ? "skip" : "FAIL", t[i].name);
        fflush(stdout);
        if (r == T_PASS)
            passed++;
        else if (r != T_SKIP)
            failed++;
    }
    printf("%s: %d passed, %d failed, %zu skipped\n", prog, passed, failed,
           n - (size_t)passed - (size_t)failed);
    return failed ? T_FAIL : passed ? T_PASS : T_SKIP;
}

/* Exit 77 when this machine has no usable io_uring (old kernel, seccomp, io_uring_disabled). */
static void require_io_uring(void)
{
    struct ioring ring;
    int ret = ioring_queue_init(4, &ring, 0);
    if (ret == -ENOSYS || ret == -EPERM || ret == -EACCES) {
        printf("skip: io_uring unavailable: %s\n", strerror(-ret));
        exit(T_SKIP);
    }
    if (ret < 0) {
        printf("FAIL: ioring_queue_init(4): %s\n", strerror(-ret));
        exit(T_FAIL);
    }
    ioring_queue_exit(&ring);
}

#endif /* IORING_TEST_HARNESS_H */
