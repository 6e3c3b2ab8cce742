"""liburing test/futex.c: futex wait / wake / waitv through io_uring: waits woken by threads
racing a cancel (plain, SQPOLL, DEFER_TASKRUN, COOP_TASKRUN rings; inline and IOSQE_ASYNC),
wake order, waking several waiters, waking zero, and invalid futex flags (-EINVAL)."""
import array
import errno
import threading

from ioring.liburing import *

from .conftest import T_EXIT_PASS, T_EXIT_SKIP, exit_status, zeroed_sync_cancel_reg

# C loops 500 times per ring configuration (with up to 8 waker threads, each with a ring of
# its own); 25 keeps the port directory fast in CI.
LOOPS = 25
NFUTEX = 8

no_futex = 0


def futex_array(n):
    """unsigned int *futex = calloc(n, sizeof(*futex)): the words, and a view of each."""
    words = array.array("I", [0] * n)
    raw = memoryview(words).cast("B")
    return words, [raw[4 * i:4 * i + 4] for i in range(n)]


def fwake(words, i, futex):
    ring = io_uring()
    io_uring_queue_init(1, ring, 0)

    words[i] = 1                            # *futex = 1
    sqe = io_uring_get_sqe(ring)
    io_uring_prep_futex_wake(sqe, futex, 1, FUTEX_BITSET_MATCH_ANY, FUTEX2_SIZE_U32, 0)
    sqe.user_data = 3

    io_uring_submit(ring)

    cqe = io_uring_wait_cqe(ring)
    io_uring_cqe_seen(ring, cqe)
    io_uring_queue_exit(ring)


def __test(ring, vectored, is_async, async_cancel):
    global no_futex
    nfutex = NFUTEX
    if not vectored:
        nfutex = 1

    words, futex = futex_array(nfutex)
    fw = [futex_waitv(0, futex[i], FUTEX2_SIZE_U32) for i in range(nfutex)]

    sqe = io_uring_get_sqe(ring)
    if vectored:
        io_uring_prep_futex_waitv(sqe, fw, nfutex, 0)
    else:
        io_uring_prep_futex_wait(sqe, futex[0], 0, FUTEX_BITSET_MATCH_ANY, FUTEX2_SIZE_U32, 0)
    if is_async:
        sqe.flags |= IOSQE_ASYNC
    sqe.user_data = 1

    io_uring_submit(ring)

    threads = [threading.Thread(target=fwake, args=(words, i, futex[i])) for i in range(nfutex)]
    for t in threads:
        t.start()

    try:
        sqe = io_uring_get_sqe(ring)
        io_uring_prep_cancel64(sqe, 1, 0)
        if async_cancel:
            sqe.flags |= IOSQE_ASYNC
        sqe.user_data = 2

        io_uring_submit(ring)

        for i in range(2):
            cqe = io_uring_wait_cqe(ring)
            if cqe.res in (-errno.EINVAL, -errno.EOPNOTSUPP):
                no_futex = 1
                io_uring_cqe_seen(ring, cqe)
                return 0
            io_uring_cqe_seen(ring, cqe)

        cqe = io_uring_peek_cqe(ring)
        assert cqe is None, "peek found cqe!"
    finally:
        for t in threads:
            t.join()
    return 0


def test(flags, vectored):
    ring = io_uring()
    io_uring_queue_init(8, ring, flags)

    try:
        for i in range(LOOPS):
            async_cancel = not (i % 2)
            async_wait = not (i % 3)
            ret = __test(ring, vectored, async_wait, async_cancel)
            assert ret == 0, f"flags={flags:x}, failed={i}"
            if no_futex:
                break
    finally:
        io_uring_queue_exit(ring)
    return 0


def _two_waits(ring, vectored, futex, fw):
    """Submit two futex waits (user_data 1 and 2)."""
    for ud in (1, 2):
        sqe = io_uring_get_sqe(ring)
        if not vectored:
            io_uring_prep_futex_wait(sqe, futex, 0, FUTEX_BITSET_MATCH_ANY, FUTEX2_SIZE_U32, 0)
        else:
            io_uring_prep_futex_waitv(sqe, [fw], 1, 0)
        sqe.user_data = ud

    io_uring_submit(ring)


def test_order(vectored, is_async):
    reg = zeroed_sync_cancel_reg()

    ring = io_uring()
    io_uring_queue_init(8, ring, 0)
    try:
        words, (futex,) = futex_array(1)
        fw = futex_waitv(0, futex, FUTEX2_SIZE_U32)

        _two_waits(ring, vectored, futex, fw)

        # Now submit wake for just one futex
        words[0] = 1
        sqe = io_uring_get_sqe(ring)
        io_uring_prep_futex_wake(sqe, futex, 1, FUTEX_BITSET_MATCH_ANY, FUTEX2_SIZE_U32, 0)
        sqe.user_data = 100
        if is_async:
            sqe.flags |= IOSQE_ASYNC

        io_uring_submit(ring)

        # We expect to find completions for the first futex wait, and the futex wake. We
        # should not see the last futex wait.
        for i in range(2):
            cqe = io_uring_wait_cqe(ring)
            assert cqe.user_data in (1, 100), f"unexpected cqe {cqe.user_data}, res {cqe.res}"
            io_uring_cqe_seen(ring, cqe)

        cqe = io_uring_peek_cqe(ring)
        assert cqe is None, f"Unexpected cqe available: {cqe.res}"

        reg.addr = 2
        ret = io_uring_register_sync_cancel(ring, reg)
        assert ret == 1, f"Failed to cancel pending futex wait: {ret}"
    finally:
        io_uring_queue_exit(ring)
    return 0


def test_multi_wake(vectored):
    ring = io_uring()
    io_uring_queue_init(8, ring, 0)
    try:
        words, (futex,) = futex_array(1)
        fw = futex_waitv(0, futex, FUTEX2_SIZE_U32)

        _two_waits(ring, vectored, futex, fw)

        # Now submit wake for both futexes
        words[0] = 1
        sqe = io_uring_get_sqe(ring)
        io_uring_prep_futex_wake(sqe, futex, 2, FUTEX_BITSET_MATCH_ANY, FUTEX2_SIZE_U32, 0)
        sqe.user_data = 100

        io_uring_submit(ring)

        # We expect to find completions for the both futex waits, and the futex wake.
        for i in range(3):
            cqe = io_uring_wait_cqe(ring)
            assert cqe.res >= 0, f"cqe error {cqe.res}"
            io_uring_cqe_seen(ring, cqe)

        cqe = io_uring_peek_cqe(ring)
        assert cqe is None, "peek found cqe!"
    finally:
        io_uring_queue_exit(ring)
    return 0


def test_wake_zero():
    """Test that waking 0 futexes returns 0"""
    ring = io_uring()
    io_uring_queue_init(8, ring, 0)
    try:
        words, (futex,) = futex_array(1)

        sqe = io_uring_get_sqe(ring)
        sqe.user_data = 1
        io_uring_prep_futex_wait(sqe, futex, 0, FUTEX_BITSET_MATCH_ANY, FUTEX2_SIZE_U32, 0)

        io_uring_submit(ring)

        sqe = io_uring_get_sqe(ring)
        sqe.user_data = 2
        io_uring_prep_futex_wake(sqe, futex, 0, FUTEX_BITSET_MATCH_ANY, FUTEX2_SIZE_U32, 0)

        io_uring_submit(ring)

        cqe = io_uring_wait_cqe(ring)

        # Should get zero res and it should be the wake
        assert not (cqe.res or cqe.user_data != 2), f"cqe res {cqe.res}, data {cqe.user_data}"
        io_uring_cqe_seen(ring, cqe)

        # Should not have the wait complete
        cqe = io_uring_peek_cqe(ring)
        assert cqe is None, "peek found cqe!"
    finally:
        io_uring_queue_exit(ring)
    return 0


def test_invalid():
    """Test invalid wait/wake/waitv flags"""
    ring = io_uring()
    io_uring_queue_init(8, ring, 0)
    try:
        words, (futex,) = futex_array(1)

        sqe = io_uring_get_sqe(ring)
        sqe.user_data = 1
        io_uring_prep_futex_wait(sqe, futex, 0, FUTEX_BITSET_MATCH_ANY, 0x1000, 0)

        io_uring_submit(ring)

        cqe = io_uring_wait_cqe(ring)
        assert cqe.res == -errno.EINVAL, f"wait cqe res {cqe.res}"
        io_uring_cqe_seen(ring, cqe)

        sqe = io_uring_get_sqe(ring)
        sqe.user_data = 1
        io_uring_prep_futex_wake(sqe, futex, 0, FUTEX_BITSET_MATCH_ANY, 0x1000, 0)

        io_uring_submit(ring)

        cqe = io_uring_wait_cqe(ring)
        assert cqe.res == -errno.EINVAL, f"wake cqe res {cqe.res}"
        io_uring_cqe_seen(ring, cqe)

        fw = futex_waitv(0, futex, FUTEX2_SIZE_U32 | 0x1000)

        sqe = io_uring_get_sqe(ring)
        sqe.user_data = 1
        io_uring_prep_futex_waitv(sqe, [fw], 1, 0)

        io_uring_submit(ring)

        cqe = io_uring_wait_cqe(ring)
        assert cqe.res == -errno.EINVAL, f"waitv cqe res {cqe.res}"
        io_uring_cqe_seen(ring, cqe)
    finally:
        io_uring_queue_exit(ring)
    return 0


def main():
    assert test(0, 0) == 0, "test 0 0 failed"
    if no_futex:
        return T_EXIT_SKIP

    assert test(0, 1) == 0, "test 0 1 failed"
    assert test_wake_zero() == 0, "wake 0 failed"
    assert test_invalid() == 0, "test invalid failed"
    for flags in (IORING_SETUP_SQPOLL, IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
                  IORING_SETUP_COOP_TASKRUN):
        assert test(flags, 0) == 0, f"test {flags:#x} 0 failed"
        assert test(flags, 1) == 0, f"test {flags:#x} 1 failed"
    for vectored, is_async in ((0, 0), (1, 0), (0, 1), (1, 1)):
        assert test_order(vectored, is_async) == 0, f"test_order {vectored} {is_async} failed"
    assert test_multi_wake(0) == 0, "multi_wake 0 failed"
    assert test_multi_wake(1) == 0, "multi_wake 1 failed"
    return T_EXIT_PASS


def test_main():
    exit_status(main())
