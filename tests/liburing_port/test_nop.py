"""liburing test/nop.c: run various nop tests (single, drained barrier, injected result) on
every test ring configuration, with and without IOSQE_ASYNC."""
import errno

import pytest

from ioring.liburing import *

from .conftest import io_uring_test_configs

seq = 0


def _next_seq():
    global seq
    seq += 1
    return seq


def test_nop_inject(ring, req_flags):
    sqe = io_uring_get_sqe(ring)
    assert sqe is not None, "get sqe failed"

    io_uring_prep_nop(sqe)
    sqe.user_data = _next_seq()
    sqe.nop_flags = IORING_NOP_INJECT_RESULT
    sqe.flags |= req_flags
    sqe.len = -errno.EFAULT

    ret = io_uring_submit(ring)
    assert ret > 0, f"sqe submit failed: {ret}"

    cqe = io_uring_wait_cqe(ring)
    assert cqe.res in (-errno.EINVAL, -errno.EFAULT), f"expected injected result, got {cqe.res}"
    io_uring_cqe_seen(ring, cqe)


def test_single_nop(ring, req_flags):
    cqe32 = ring.flags & IORING_SETUP_CQE32

    sqe = io_uring_get_sqe(ring)
    assert sqe is not None, "get sqe failed"

    io_uring_prep_nop(sqe)
    sqe.user_data = _next_seq()
    sqe.flags |= req_flags

    ret = io_uring_submit(ring)
    assert ret > 0, f"sqe submit failed: {ret}"

    cqe = io_uring_wait_cqe(ring)
    assert cqe.user_data, f"Unexpected 0 user_data: {cqe.user_data}"
    if cqe32:
        assert cqe.big_cqe[0] == 0, "Unexpected extra1"
        assert cqe.big_cqe[1] == 0, "Unexpected extra2"
    io_uring_cqe_seen(ring, cqe)


def test_barrier_nop(ring, req_flags):
    cqe32 = ring.flags & IORING_SETUP_CQE32

    for i in range(8):
        sqe = io_uring_get_sqe(ring)
        assert sqe is not None, "get sqe failed"

        io_uring_prep_nop(sqe)
        if i == 4:
            sqe.flags = IOSQE_IO_DRAIN
        sqe.user_data = _next_seq()
        sqe.flags |= req_flags

    ret = io_uring_submit(ring)
    assert ret >= 8, f"Submitted only {ret}"

    for i in range(8):
        cqe = io_uring_wait_cqe(ring)
        assert cqe.user_data, f"Unexpected 0 user_data: {cqe.user_data}"
        if cqe32:
            assert cqe.big_cqe[0] == 0, "Unexpected extra1"
            assert cqe.big_cqe[1] == 0, "Unexpected extra2"
        io_uring_cqe_seen(ring, cqe)


LOOPS = 1000


def test_ring(flags):
    p = io_uring_params()
    p.flags = flags
    ring = io_uring()
    try:
        io_uring_queue_init_params(8, ring, p)
    except OSError as exc:
        if exc.errno == errno.EINVAL:
            return 0
        raise

    try:
        for i in range(LOOPS):
            req_flags = IOSQE_ASYNC if (i & 1) else 0

            test_single_nop(ring, req_flags)
            test_barrier_nop(ring, req_flags)
            test_nop_inject(ring, req_flags)
    finally:
        io_uring_queue_exit(ring)
    return 0


@pytest.mark.parametrize("flags", [f for f, _ in io_uring_test_configs],
                         ids=[d for _, d in io_uring_test_configs])
def test_main(flags):
    assert test_ring(flags) == 0
