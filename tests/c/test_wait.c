/* Waiting: timeouts on the wait itself (IORING_ENTER_EXT_ARG), timeout and link-timeout SQEs,
 * peek on an empty ring, completions held back as task work, signals, and the SQPOLL wake-up
 * path after the poller went to sleep. Exit status: 0 pass, 77 skip (no io_uring), 1 failure. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "ioring/ioring.h"

#include "harness.h"

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

static struct ioring_kernel_timespec ms_ts(int64_t ms)
{
    struct ioring_kernel_timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000LL;
    return ts;
}

static int init_flags(struct ioring *ring, unsigned flags)
{
    int ret = ioring_queue_init(8, ring, flags);
    if (ret == -EINVAL && flags)
        SKIP("kernel refuses setup flags 0x%x", flags);
    CHECK_EQ(ret, 0);
    return T_PASS;
}

/* Wait for one CQE with a guard timeout (a broken wait must fail the test, not hang it). */
static int wait_one(struct ioring *ring, struct io_uring_cqe **cqe, int64_t guard_ms)
{
    struct ioring_kernel_timespec ts = ms_ts(guard_ms);
    int ret = ioring_wait_cqes_timeout(ring, cqe, 0, 1, &ts, NULL);
    CHECK_EQ(ret, 0);
    CHECK(*cqe != NULL);
    return T_PASS;
}

static int empty_timeout(unsigned flags)
{
    struct ioring ring;
    struct io_uring_cqe *cqe = (struct io_uring_cqe *)&ring;
    struct ioring_kernel_timespec ts = ms_ts(10);
    int64_t t0, dt;
    int ret;

    if ((ret = init_flags(&ring, flags)) != T_PASS)
        return ret;
    if (!(ring.features & IORING_FEAT_EXT_ARG))
        SKIP("no IORING_FEAT_EXT_ARG (kernel < 5.11)");
    for (int i = 0; i < 3; i++) {
        t0 = now_ns();
        ret = ioring_wait_cqes_timeout(&ring, &cqe, 0, 1, &ts, NULL);
        dt = now_ns() - t0;
        CHECK_EQ(ret, -ETIME);
        CHECK(cqe == NULL);
        if (dt < 9000000 || dt > 1000000000) {
            fprintf(stderr, "    10 ms timeout took %.3f ms\n", dt / 1e6);
            return T_FAIL;
        }
    }
    /* wait_nr 0: nothing to wait for, returns at once. */
    t0 = now_ns();
    CHECK_EQ(ioring_wait_cqes_timeout(&ring, &cqe, 0, 0, &ts, NULL), -EAGAIN);
    CHECK(now_ns() - t0 < 5000000);
    /* A ready CQE is returned without waiting; the timespec is untouched. */
    {
        struct io_uring_sqe *sqe = ioring_get_sqe(&ring);
        struct ioring_kernel_timespec big = ms_ts(5000);
        unsigned n;
        ioring_prep_nop(sqe);
        sqe->user_data = 77;
        n = ioring_flush_sq(&ring);
        CHECK_EQ(n, 1);
        t0 = now_ns();
        ret = ioring_wait_cqes_timeout(&ring, &cqe, n, 1, &big, NULL);
        CHECK(ret >= 0); /* 0, or the count submitted by the enter */
        CHECK(cqe != NULL);
        CHECK_EQ(cqe->user_data, 77);
        CHECK(now_ns() - t0 < 1000000000);
        CHECK_EQ(big.tv_sec, 5);
        ioring_cq_advance(&ring, 1);
        t0 = now_ns();
        CHECK_EQ(ioring_wait_cqes_timeout(&ring, &cqe, 0, 1, &ts, NULL), -ETIME);
        CHECK(now_ns() - t0 >= 9000000);
    }
    ioring_queue_exit(&ring);
    return T_PASS;
}

static int t_wait_timeout_plain(void) { return empty_timeout(0); }
static int t_wait_timeout_defer(void)
{
    return empty_timeout(IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN);
}

static int t_timeout_sqe(void)
{
    struct ioring ring;
    struct io_uring_sqe *sqe;
    struct io_uring_cqe *cqe;
    struct ioring_kernel_timespec ts = ms_ts(20), long_ts = ms_ts(10000);
    int64_t t0, dt;
    int res[8] = {0};

    CHECK_EQ(ioring_queue_init(8, &ring, 0), 0);

    /* A relative timeout fires with -ETIME. */
    sqe = ioring_get_sqe(&ring);
    ioring_prep_timeout(sqe, &ts, 0, 0);
    CHECK_EQ(sqe->opcode, IORING_OP_TIMEOUT);
    CHECK_EQ(sqe->len, 1);
    sqe->user_data = 1;
    t0 = now_ns();
    CHECK_EQ(ioring_submit(&ring), 1);
    if (wait_one(&ring, &cqe, 5000) != T_PASS)
        return T_FAIL;
    dt = now_ns() - t0;
    CHECK_EQ(cqe->user_data, 1);
    CHECK_EQ(cqe->res, -ETIME);
    CHECK(dt >= 15000000 && dt < 2000000000);
    ioring_cq_advance(&ring, 1);

    /* A count timeout completes with 0 once that many other completions were posted. */
    sqe = ioring_get_sqe(&ring);
    ioring_prep_timeout(sqe, &long_ts, 2, 0);
    sqe->user_data = 2;
    CHECK_EQ(ioring_submit(&ring), 1);
    for (int i = 0; i < 2; i++) {
        sqe = ioring_get_sqe(&ring);
        ioring_prep_nop(sqe);
        sqe->user_data = 3 + i;
    }
    t0 = now_ns();
    CHECK_EQ(ioring_submit(&ring), 2);
    for (int i = 0; i < 3; i++) {
        if (wait_one(&ring, &cqe, 5000) != T_PASS)
            return T_FAIL;
        CHECK(cqe->user_data >= 2 && cqe->user_data <= 4);
        res[cqe->user_data] = cqe->res;
        ioring_cq_advance(&ring, 1);
    }
    CHECK(now_ns() - t0 < 5000000000LL);
    CHECK_EQ(res[2], 0);
    CHECK_EQ(res[3], 0);
    CHECK_EQ(res[4], 0);

    /* timeout_remove cancels a pending timeout. */
    sqe = ioring_get_sqe(&ring);
    ioring_prep_timeout(sqe, &long_ts, 0, 0);
    sqe->user_data = 5;
    sqe = ioring_get_sqe(&ring);
    ioring_prep_timeout_remove(sqe, 5, 0);
    sqe->user_data = 6;
    CHECK_EQ(ioring_submit(&ring), 2);
    for (int i = 0; i < 2; i++) {
        if (wait_one(&ring, &cqe, 5000) != T_PASS)
            return T_FAIL;
        CHECK(cqe->user_data == 5 || cqe->user_data == 6);
        res[cqe->user_data] = cqe->res;
        ioring_cq_advance(&ring, 1);
    }
    CHECK_EQ(res[5], -ECANCELED);
    CHECK_EQ(res[6], 0);

    /* Removing a timeout that does not exist. */
    sqe = ioring_get_sqe(&ring);
    ioring_prep_timeout_remove(sqe, 12345, 0);
    sqe->user_data = 7;
    CHECK_EQ(ioring_submit(&ring), 1);
    if (wait_one(&ring, &cqe, 5000) != T_PASS)
        return T_FAIL;
    CHECK_EQ(cqe->res, -ENOENT);
    ioring_cq_advance(&ring, 1);
    ioring_queue_exit(&ring);
    return T_PASS;
}

/* read of an empty pipe, linked to a link timeout. */
static int pipe_read_with_link_timeout(struct ioring *ring, int rfd, char *buf, unsigned len,
                                       struct ioring_kernel_timespec *ts, int *res)
{
    struct io_uring_sqe *sqe;
    struct io_uring_cqe *cqe;

    sqe = ioring_get_sqe(ring);
    ioring_prep_read(sqe, rfd, buf, len, (uint64_t)-1);
    sqe->flags |= IOSQE_IO_LINK;
    sqe->user_data = 1;
    sqe = ioring_get_sqe(ring);
    ioring_prep_link_timeout(sqe, ts, 0);
    CHECK_EQ(sqe->opcode, IORING_OP_LINK_TIMEOUT);
    sqe->user_data = 2;
    CHECK_EQ(ioring_submit(ring), 2);
    res[1] = res[2] = 1;
    for (int i = 0; i < 2; i++) {
        if (wait_one(ring, &cqe, 5000) != T_PASS)
            return T_FAIL;
        CHECK(cqe->user_data == 1 || cqe->user_data == 2);
        CHECK_EQ(res[cqe->user_data], 1); /* once each */
        res[cqe->user_data] = cqe->res;
        ioring_cq_advance(ring, 1);
    }
    return T_PASS;
}

static int link_timeout(unsigned flags)
{
    struct ioring ring;
    struct ioring_kernel_timespec ts = ms_ts(20), long_ts = ms_ts(10000);
    int fds[2], res[3], ret;
    char buf[16];
    int64_t t0, dt;

    if ((ret = init_flags(&ring, flags)) != T_PASS)
        return ret;
    CHECK_EQ(pipe(fds), 0);

    /* Nothing to read: the link timeout fires and cancels the read. */
    t0 = now_ns();
    if (pipe_read_with_link_timeout(&ring, fds[0], buf, sizeof(buf), &ts, res) != T_PASS)
        return T_FAIL;
    dt = now_ns() - t0;
    CHECK_EQ(res[1], -ECANCELED);
    CHECK_EQ(res[2], -ETIME);
    CHECK(dt >= 15000000 && dt < 2000000000);

    /* Data present: the read completes, the link timeout is cancelled. */
    CHECK_EQ(write(fds[1], "hello", 5), 5);
    t0 = now_ns();
    if (pipe_read_with_link_timeout(&ring, fds[0], buf, sizeof(buf), &long_ts, res) != T_PASS)
        return T_FAIL;
    CHECK_EQ(res[1], 5);
    CHECK(memcmp(buf, "hello", 5) == 0);
    CHECK_EQ(res[2], -ECANCELED);
    CHECK(now_ns() - t0 < 5000000000LL);
    CHECK_EQ(ioring_cq_ready(&ring), 0);
    close(fds[0]);
    close(fds[1]);
    ioring_queue_exit(&ring);
    return T_PASS;
}

static int t_link_timeout_plain(void) { return link_timeout(0); }
static int t_link_timeout_defer(void)
{
    return link_timeout(IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN);
}

static int peek_empty(unsigned flags)
{
    struct ioring ring;
    struct io_uring_cqe *cqe = (struct io_uring_cqe *)&ring, *batch[4];
    int ret;
    int64_t t0;

    if (flags & IORING_SETUP_SQPOLL) {
        ret = ioring_queue_init(8, &ring, flags);
        if (ret == -EPERM)
            SKIP("SQPOLL not permitted (EPERM)");
        CHECK_EQ(ret, 0);
    } else if ((ret = init_flags(&ring, flags)) != T_PASS) {
        return ret;
    }
    t0 = now_ns();
    CHECK_EQ(ioring_peek_cqe(&ring, &cqe), -EAGAIN);
    CHECK(cqe == NULL);
    CHECK_EQ(ioring_peek_batch_cqe(&ring, batch, 4), 0);
    CHECK(now_ns() - t0 < 100000000); /* never waits */

    /* One NOP later it is there, and gone again once advanced past. */
    {
        struct io_uring_sqe *sqe = ioring_get_sqe(&ring);
        ioring_prep_nop(sqe);
        sqe->user_data = 9;
        CHECK_EQ(ioring_submit_and_wait(&ring, 1), 1);
    }
    CHECK_EQ(ioring_peek_cqe(&ring, &cqe), 0);
    CHECK_EQ(cqe->user_data, 9);
    CHECK_EQ(ioring_peek_cqe(&ring, &cqe), 0); /* peek does not consume */
    CHECK_EQ(cqe->user_data, 9);
    CHECK_EQ(ioring_peek_batch_cqe(&ring, batch, 4), 1);
    CHECK(batch[0] == cqe);
    ioring_cq_advance(&ring, 1);
    CHECK_EQ(ioring_peek_cqe(&ring, &cqe), -EAGAIN);
    CHECK(cqe == NULL);
    ioring_queue_exit(&ring);
    return T_PASS;
}

static int t_peek_empty_plain(void) { return peek_empty(0); }
static int t_peek_empty_defer(void)
{
    return peek_empty(IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN);
}
static int t_peek_empty_sqpoll(void) { return peek_empty(IORING_SETUP_SQPOLL); }

/* A pipe read that completes through task work: with DEFER_TASKRUN the CQE only appears when
 * the ring is entered with GETEVENTS. With TASKRUN_FLAG the kernel says so in the SQ flags, and
 * peek must flush; without it, wait_cqe must still get it. */
static int deferred_completion(unsigned flags, int use_peek)
{
    struct ioring ring;
    struct io_uring_sqe *sqe;
    struct io_uring_cqe *cqe, *batch[2];
    int fds[2], ret;
    char buf[8];

    if ((ret = init_flags(&ring, flags)) != T_PASS)
        return ret;
    CHECK_EQ(pipe(fds), 0);
    sqe = ioring_get_sqe(&ring);
    ioring_prep_read(sqe, fds[0], buf, sizeof(buf), (uint64_t)-1);
    sqe->user_data = 11;
    CHECK_EQ(ioring_submit(&ring), 1);
    CHECK_EQ(ioring_peek_cqe(&ring, &cqe), -EAGAIN); /* blocked on the empty pipe */
    CHECK_EQ(write(fds[1], "abc", 3), 3);
    if (use_peek) {
        if (flags & IORING_SETUP_DEFER_TASKRUN) {
            /* The completion is held back as task work, and flagged. */
            CHECK_EQ(ioring_cq_ready(&ring), 0);
            CHECK(ioring_read_once(ring.sq.kflags) & IORING_SQ_TASKRUN);
        }
        if (use_peek == 2) {
            CHECK_EQ(ioring_peek_batch_cqe(&ring, batch, 2), 1);
            cqe = batch[0];
        } else {
            CHECK_EQ(ioring_peek_cqe(&ring, &cqe), 0);
        }
    } else {
        if (wait_one(&ring, &cqe, 5000) != T_PASS)
            return T_FAIL;
    }
    CHECK_EQ(cqe->user_data, 11);
    CHECK_EQ(cqe->res, 3);
    CHECK(memcmp(buf, "abc", 3) == 0);
    ioring_cq_advance(&ring, 1);
    CHECK(!(ioring_read_once(ring.sq.kflags) & IORING_SQ_TASKRUN));
    close(fds[0]);
    close(fds[1]);
    ioring_queue_exit(&ring);
    return T_PASS;
}

#define DEFER (IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN)
static int t_defer_wait(void) { return deferred_completion(DEFER, 0); }
static int t_defer_flag_peek(void) { return deferred_completion(DEFER | IORING_SETUP_TASKRUN_FLAG, 1); }
static int t_defer_flag_peek_batch(void)
{
    return deferred_completion(DEFER | IORING_SETUP_TASKRUN_FLAG, 2);
}
static int t_coop_flag_peek(void)
{
    return deferred_completion(IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG, 1);
}

static int t_wait_nr(void)
{
    struct ioring ring;
    struct io_uring_cqe *cqe;
    CHECK_EQ(ioring_queue_init(8, &ring, 0), 0);
    for (int i = 0; i < 4; i++) {
        struct io_uring_sqe *sqe = ioring_get_sqe(&ring);
        ioring_prep_nop(sqe);
        sqe->user_data = 20 + i;
    }
    CHECK_EQ(ioring_submit(&ring), 4);
    CHECK_EQ(ioring_wait_cqe_nr(&ring, &cqe, 4), 0);
    CHECK_EQ(cqe->user_data, 20);
    CHECK_EQ(ioring_cq_ready(&ring), 4);
    ioring_cq_advance(&ring, 4);
    ioring_queue_exit(&ring);
    return T_PASS;
}

static volatile sig_atomic_t got_alarm;
static void on_alarm(int sig)
{
    (void)sig;
    got_alarm = 1;
}

/* A signal interrupts a wait with -EINTR (what lets Ctrl-C stop a Python wait). */
static int t_signal_interrupts_wait(void)
{
    struct ioring ring;
    struct io_uring_cqe *cqe;
    struct ioring_kernel_timespec ts = ms_ts(3000);
    struct sigaction sa, old;
    struct itimerval it;
    int64_t t0, dt;
    int ret;

    CHECK_EQ(ioring_queue_init(8, &ring, 0), 0);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm; /* no SA_RESTART */
    sigemptyset(&sa.sa_mask);
    CHECK_EQ(sigaction(SIGALRM, &sa, &old), 0);
    memset(&it, 0, sizeof(it));
    it.it_value.tv_usec = 20000;
    got_alarm = 0;
    CHECK_EQ(setitimer(ITIMER_REAL, &it, NULL), 0);
    t0 = now_ns();
    ret = ioring_wait_cqes_timeout(&ring, &cqe, 0, 1, &ts, NULL);
    dt = now_ns() - t0;
    sigaction(SIGALRM, &old, NULL);
    CHECK_EQ(ret, -EINTR);
    CHECK(got_alarm);
    CHECK(dt < 2000000000LL);

    /* Same without a timeout (plain GETEVENTS wait). */
    CHECK_EQ(sigaction(SIGALRM, &sa, &old), 0);
    got_alarm = 0;
    CHECK_EQ(setitimer(ITIMER_REAL, &it, NULL), 0);
    ret = ioring_wait_cqe(&ring, &cqe);
    sigaction(SIGALRM, &old, NULL);
    CHECK_EQ(ret, -EINTR);
    CHECK(got_alarm);
    ioring_queue_exit(&ring);
    return T_PASS;
}

/* SQPOLL: once the poller has been idle for sq_thread_idle it sleeps and sets
 * IORING_SQ_NEED_WAKEUP; submit must then wake it (IORING_ENTER_SQ_WAKEUP) or the NOP never runs. */
static int t_sqpoll_wakeup(void)
{
    struct io_uring_params p;
    struct ioring ring;
    int ret, woke = 0;

    memset(&p, 0, sizeof(p));
    p.flags = IORING_SETUP_SQPOLL;
    p.sq_thread_idle = 10;
    ret = ioring_queue_init_params(8, &ring, &p);
    if (ret == -EPERM)
        SKIP("SQPOLL not permitted (EPERM)");
    CHECK_EQ(ret, 0);

    for (int round = 0; round < 4; round++) {
        struct io_uring_sqe *sqe;
        struct io_uring_cqe *cqe;
        unsigned kflags;

        sleep_ms(50);
        kflags = ioring_load_acquire(ring.sq.kflags);
        if (kflags & IORING_SQ_NEED_WAKEUP)
            woke++;
        sqe = ioring_get_sqe(&ring);
        CHECK(sqe != NULL);
        ioring_prep_nop(sqe);
        sqe->user_data = 100 + round;
        CHECK_EQ(ioring_submit(&ring), 1);
        if (wait_one(&ring, &cqe, 2000) != T_PASS) {
            fprintf(stderr, "    round %d: NOP not completed (SQ flags were %#x)\n", round, kflags);
            return T_FAIL;
        }
        CHECK_EQ(cqe->user_data, 100 + round);
        CHECK_EQ(cqe->res, 0);
        ioring_cq_advance(&ring, 1);

        /* While the poller is awake, submissions need no wake-up and still complete. */
        for (int i = 0; i < 3; i++) {
            sqe = ioring_get_sqe(&ring);
            while (!sqe) {
                CHECK(ioring_enter(&ring, 0, 0, IORING_ENTER_SQ_WAIT, NULL, 0) >= 0);
                sqe = ioring_get_sqe(&ring);
            }
            ioring_prep_nop(sqe);
            sqe->user_data = 200 + i;
            CHECK(ioring_submit(&ring) >= 1);
            if (wait_one(&ring, &cqe, 2000) != T_PASS)
                return T_FAIL;
            CHECK_EQ(cqe->user_data, 200 + i);
            ioring_cq_advance(&ring, 1);
        }
    }
    /* The poller did go to sleep at least once, so the wake-up path was exercised. */
    CHECK(woke >= 1);
    printf("    poller asleep (NEED_WAKEUP) before %d of 4 submissions\n", woke);
    ioring_queue_exit(&ring);
    return T_PASS;
}

int main(void)
{
    static const struct t_case tests[] = {
        {"wait: 10 ms timeout on an empty ring", t_wait_timeout_plain},
        {"wait: 10 ms timeout, DEFER_TASKRUN ring", t_wait_timeout_defer},
        {"wait: timeout SQE, count timeout, timeout_remove", t_timeout_sqe},
        {"wait: link timeout cancels a blocked pipe read", t_link_timeout_plain},
        {"wait: link timeout, DEFER_TASKRUN ring", t_link_timeout_defer},
        {"wait: peek_cqe on an empty ring", t_peek_empty_plain},
        {"wait: peek_cqe on an empty DEFER_TASKRUN ring", t_peek_empty_defer},
        {"wait: peek_cqe on an empty SQPOLL ring", t_peek_empty_sqpoll},
        {"wait: DEFER_TASKRUN completion reaped by wait_cqe", t_defer_wait},
        {"wait: DEFER_TASKRUN|TASKRUN_FLAG completion reaped by peek_cqe", t_defer_flag_peek},
        {"wait: DEFER_TASKRUN|TASKRUN_FLAG completion reaped by peek_batch_cqe",
         t_defer_flag_peek_batch},
        {"wait: COOP_TASKRUN|TASKRUN_FLAG completion reaped by peek_cqe", t_coop_flag_peek},
        {"wait: wait_cqe_nr", t_wait_nr},
        {"wait: a signal interrupts a wait with -EINTR", t_signal_interrupts_wait},
        {"wait: SQPOLL NEED_WAKEUP path after the poller slept", t_sqpoll_wakeup},
    };
    setvbuf(stdout, NULL, _IOLBF, 0);
    require_io_uring();
    return run_tests("test_wait", tests, sizeof(tests) / sizeof(tests[0]));
}
