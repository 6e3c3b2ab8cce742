/* What the C loops share besides the ring (stream.h, step_loop.h): the monotonic clock in ns
 * and the xorshift64* generator that picks their random blocks. No ring here, so bench/c's
 * liburing build includes it too. */
#ifndef IORING_LOOP_CLOCK_H
#define IORING_LOOP_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t ioring_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* xorshift64*: the state must not be 0. */
static inline uint64_t ioring_xorshift64s(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545f4914f6cdd1dull;
}

#endif /* IORING_LOOP_CLOCK_H */
