"""IOSQE_IO_DRAIN ordering and IOSQE_CQE_SKIP_SUCCESS (liburing: link_drain, skip-cqe),
including a skipped success inside a failing link chain."""
import errno
import os

import pytest

from ioring import liburing as L
from helpers import reap


def queue(ring, prep, *args, user_data, flags=0):
    sqe = L.io_uring_get_sqe(ring)
    prep(sqe, *args)
    L.io_uring_sqe_set_data64(sqe, user_data)
    L.io_uring_sqe_set_flags(sqe, flags)
    return sqe


def test_drain_waits_for_everything_before_it(ring, pipe):
    r, w = pipe
    buf = bytearray(4)
    queue(ring, L.io_uring_prep_read, r, buf, 4, -1, user_data=1)      # blocks until written
    queue(ring, L.io_uring_prep_nop, user_data=2, flags=L.IOSQE_IO_DRAIN)
    queue(ring, L.io_uring_prep_nop, user_data=3)
    L.io_uring_submit(ring)
    assert L.io_uring_wait_cqe_timeout(ring, L.kernel_timespec(0, 50_000_000)) is None
    os.write(w, b"done")
    order = [ud for ud, _, _ in reap(ring, 3)]
    assert order.index(1) < order.index(2) < order.index(3)


def test_skip_success_posts_nothing_on_success(ring):
    queue(ring, L.io_uring_prep_nop, user_data=1, flags=L.IOSQE_CQE_SKIP_SUCCESS)
    queue(ring, L.io_uring_prep_nop, user_data=2)
    L.io_uring_submit(ring)
    assert reap(ring, 1) == [(2, 0, 0)]
    assert L.io_uring_wait_cqe_timeout(ring, L.kernel_timespec(0, 20_000_000)) is None


def test_skip_success_still_reports_failure(ring):
    buf = bytearray(4)
    queue(ring, L.io_uring_prep_read, 9999, buf, 4, 0, user_data=1, flags=L.IOSQE_CQE_SKIP_SUCCESS)
    L.io_uring_submit(ring)
    assert reap(ring, 1) == [(1, -errno.EBADF, 0)]


@pytest.mark.parametrize("failing_flags, expected", [
    # The failing request reports; the cancelled tail does too...
    (L.IOSQE_IO_LINK, {2: -errno.EBADF, 3: -errno.ECANCELED}),
    # ...unless the failing request itself asked to skip success CQEs: then the kernel
    # skips the CQEs of the links it cancels as well.
    (L.IOSQE_IO_LINK | L.IOSQE_CQE_SKIP_SUCCESS, {2: -errno.EBADF}),
])
def test_skip_success_in_a_failed_link_chain(ring, failing_flags, expected):
    """A chain whose head succeeds silently, whose middle fails, and whose tail is cancelled."""
    buf = bytearray(4)
    queue(ring, L.io_uring_prep_nop, user_data=1, flags=L.IOSQE_IO_LINK | L.IOSQE_CQE_SKIP_SUCCESS)
    queue(ring, L.io_uring_prep_read, 9999, buf, 4, 0, user_data=2, flags=failing_flags)
    queue(ring, L.io_uring_prep_nop, user_data=3, flags=L.IOSQE_CQE_SKIP_SUCCESS)
    L.io_uring_submit(ring)
    got = dict((ud, res) for ud, res, _ in reap(ring, len(expected)))
    assert got == expected
    assert L.io_uring_wait_cqe_timeout(ring, L.kernel_timespec(0, 20_000_000)) is None


def test_pins_of_a_skipped_success_are_released_at_exit(pipe):
    """The documented limit: no CQE means no release until io_uring_queue_exit, never before."""
    from helpers import make_ring
    r, w = pipe
    ring = make_ring(8)
    os.write(w, b"abcd")
    buf = bytearray(4)
    queue(ring, L.io_uring_prep_read, r, buf, 4, -1, user_data=1, flags=L.IOSQE_CQE_SKIP_SUCCESS)
    queue(ring, L.io_uring_prep_nop, user_data=2)
    L.io_uring_submit(ring)
    reap(ring, 1)
    assert buf == b"abcd"
    with pytest.raises(BufferError):
        buf.append(0)
    L.io_uring_queue_exit(ring)
    buf.append(0)
