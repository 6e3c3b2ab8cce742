"""Multishot timeouts and the SQPOLL wakeup path (liburing: timeout multishot, sqpoll-sleep)."""
import errno
import time

import pytest

from ioring import liburing as L
from helpers import reap


def test_multishot_timeout_fires_count_times_with_more(ring):
    sqe = L.io_uring_get_sqe(ring)
    L.io_uring_prep_timeout(sqe, L.kernel_timespec(0, 5_000_000), 3, L.IORING_TIMEOUT_MULTISHOT)
    L.io_uring_sqe_set_data64(sqe, 8)
    L.io_uring_submit(ring)
    got = reap(ring, 3)
    assert [(ud, res) for ud, res, _ in got] == [(8, -errno.ETIME)] * 3
    assert [bool(flags & L.IORING_CQE_F_MORE) for _, _, flags in got] == [True, True, False]


def test_endless_multishot_timeout_ends_when_removed(ring):
    sqe = L.io_uring_get_sqe(ring)
    L.io_uring_prep_timeout(sqe, L.kernel_timespec(0, 2_000_000), 0, L.IORING_TIMEOUT_MULTISHOT)
    L.io_uring_sqe_set_data64(sqe, 1)
    L.io_uring_submit(ring)
    ticks = reap(ring, 2)
    assert all(flags & L.IORING_CQE_F_MORE for _, _, flags in ticks)
    sqe = L.io_uring_get_sqe(ring)
    L.io_uring_prep_timeout_remove(sqe, 1, 0)
    L.io_uring_sqe_set_data64(sqe, 2)
    L.io_uring_submit(ring)
    final = None
    deadline = time.monotonic() + 5
    while final is None and time.monotonic() < deadline:
        (ud, res, flags), = reap(ring, 1)
        if ud == 1 and not flags & L.IORING_CQE_F_MORE:
            final = res
    assert final == -errno.ECANCELED
    # The timespec was pinned until that final CQE; nothing more arrives.
    rest = []
    while (cqe := L.io_uring_wait_cqe_timeout(ring, L.kernel_timespec(0, 20_000_000))) is not None:
        rest.append((cqe.user_data, cqe.flags & L.IORING_CQE_F_MORE))
        L.io_uring_cqe_seen(ring, cqe)
    assert all(ud == 2 for ud, _ in rest)


def test_sqpoll_thread_is_woken_after_it_went_idle():
    ring = L.io_uring()
    p = L.io_uring_params(flags=L.IORING_SETUP_SQPOLL, sq_thread_idle=5)   # ms
    try:
        L.io_uring_queue_init_params(8, ring, p)
    except OSError as exc:
        pytest.skip(f"kernel refused SQPOLL: {exc}")
    try:
        for round_ in range(3):
            time.sleep(0.05)               # the poller sleeps and sets IORING_SQ_NEED_WAKEUP
            sqe = L.io_uring_get_sqe(ring)
            L.io_uring_prep_nop(sqe)
            L.io_uring_sqe_set_data64(sqe, round_)
            L.io_uring_submit(ring)        # must enter with IORING_ENTER_SQ_WAKEUP
            assert reap(ring, 1) == [(round_, 0, 0)]
    finally:
        L.io_uring_queue_exit(ring)
