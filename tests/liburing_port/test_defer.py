"""liburing test/defer.c: drained and linked requests: a long linked chain of NOPs completing
in order on an IOPOLL ring, a failing head cancelling a 100-long chain (SQPOLL+IOPOLL),
drained timeouts with linked timeouts, drains after a CQ overflow (without
IORING_FEAT_NODROP) and after the SQ's dropped counter was bumped."""
import errno

import pytest

from ioring.liburing import *

from .conftest import T_EXIT_FAIL, T_EXIT_PASS, T_EXIT_SKIP, T_SETUP_SKIP, exit_status, t_create_ring

RING_SIZE = 128
OP_NOP = 0
OP_REMOVE_BUFFERS = 1


class test_context:
    def __init__(self):
        self.ring = None
        self.sqes = []
        self.cqes = []
        self.nr = 0


def init_context(ctx, ring, nr, op):
    ctx.nr = nr
    ctx.ring = ring
    ctx.sqes = [None] * nr
    ctx.cqes = [None] * nr

    for i in range(nr):
        sqe = io_uring_get_sqe(ring)
        assert sqe is not None, "init context failed"
        if op == OP_NOP:
            io_uring_prep_nop(sqe)
        elif op == OP_REMOVE_BUFFERS:
            io_uring_prep_remove_buffers(sqe, 10, 1)
        sqe.user_data = i
        ctx.sqes[i] = sqe
    return 0


def wait_cqes(ctx):
    for i in range(ctx.nr):
        cqe = io_uring_wait_cqe(ctx.ring)
        ctx.cqes[i] = cqe                   # a copy, as C's memcpy
        io_uring_cqe_seen(ctx.ring, cqe)
    return 0


def test_canceled_userdata(ring):
    ctx = test_context()
    nr = 100
    init_context(ctx, ring, nr, OP_NOP)

    for i in range(nr - 1):
        ctx.sqes[i].flags |= IOSQE_IO_LINK

    ret = io_uring_submit(ring)
    assert ret > 0, f"sqe submit failed: {ret}"

    wait_cqes(ctx)

    for i in range(nr):
        assert i == ctx.cqes[i].user_data, "invalid user data"
    return 0


def test_thread_link_cancel(ring):
    ctx = test_context()
    nr = 100
    init_context(ctx, ring, nr, OP_REMOVE_BUFFERS)

    for i in range(nr - 1):
        ctx.sqes[i].flags |= IOSQE_IO_LINK

    ret = io_uring_submit(ring)
    assert ret > 0, f"sqe submit failed: {ret}"

    wait_cqes(ctx)

    for i in range(nr):
        if i == 0:
            fail = ctx.cqes[i].res != -errno.ENOENT
        else:
            fail = ctx.cqes[i].res != -errno.ECANCELED
        assert not fail, f"invalid status {ctx.cqes[i].res}"
    return 0


def test_drain_with_linked_timeout(ring):
    nr = 3
    # C: 1 s; the three drained timeouts run one after the other, 300 ms each keeps it short.
    ts = kernel_timespec(0, 300000000)
    ctx = test_context()
    init_context(ctx, ring, nr * 2, OP_NOP)

    for i in range(nr):
        io_uring_prep_timeout(ctx.sqes[2 * i], ts, 0, 0)
        ctx.sqes[2 * i].flags |= IOSQE_IO_LINK | IOSQE_IO_DRAIN
        io_uring_prep_link_timeout(ctx.sqes[2 * i + 1], ts, 0)

    ret = io_uring_submit(ring)
    assert ret > 0, f"sqe submit failed: {ret}"

    wait_cqes(ctx)
    return 0


def run_drained(ring, nr):
    ctx = test_context()
    init_context(ctx, ring, nr, OP_NOP)

    for i in range(nr):
        ctx.sqes[i].flags |= IOSQE_IO_DRAIN

    ret = io_uring_submit(ring)
    assert ret > 0, f"sqe submit failed: {ret}"

    wait_cqes(ctx)
    return 0


def test_overflow_hung(ring):
    nr = 10

    while ring.cq.koverflow != 1000:
        sqe = io_uring_get_sqe(ring)
        assert sqe is not None, "get sqe failed"

        io_uring_prep_nop(sqe)
        ret = io_uring_submit(ring)
        assert ret > 0, f"sqe submit failed: {ret}"

    return run_drained(ring, nr)


def test_dropped_hung(ring):
    nr = 10

    ring.sq.kdropped = 1000                 # *ring->sq.kdropped = 1000
    return run_drained(ring, nr)


def _rings():
    p = io_uring_params()
    ring = io_uring()
    io_uring_queue_init_params(RING_SIZE, ring, p)
    return p, ring


def main():
    p, ring = _rings()
    poll_ring = io_uring()
    io_uring_queue_init(RING_SIZE, poll_ring, IORING_SETUP_IOPOLL)
    sqthread_ring = io_uring()
    try:
        assert test_canceled_userdata(poll_ring) == 0, "test_canceled_userdata failed"

        if not (p.features & IORING_FEAT_NODROP):
            assert test_overflow_hung(ring) == 0, "test_overflow_hung failed"

        # test_dropped_hung comes here in C: test_main_dropped_hung below.

        assert test_drain_with_linked_timeout(ring) == 0, "test_drain_with_linked_timeout failed"

        ret = t_create_ring(RING_SIZE, sqthread_ring, IORING_SETUP_SQPOLL | IORING_SETUP_IOPOLL)
        if ret == T_SETUP_SKIP:
            return T_EXIT_SKIP
        elif ret < 0:
            return T_EXIT_FAIL

        assert test_thread_link_cancel(sqthread_ring) == 0, "test_thread_link_cancel failed"
    finally:
        for r in (ring, poll_ring, sqthread_ring):
            if r.ring_fd is not None:
                io_uring_queue_exit(r)
    return T_EXIT_PASS


def test_main():
    exit_status(main())


@pytest.mark.xfail(strict=True, raises=AttributeError,
                   reason="writes the kernel's SQ dropped counter (*ring->sq.kdropped = 1000): "
                          "ioring exposes ring->sq and ring->cq read-only, the ring's shared "
                          "memory is the kernel's to write")
def test_main_dropped_hung():
    p, ring = _rings()
    try:
        assert test_dropped_hung(ring) == 0, "test_dropped_hung failed"
    finally:
        io_uring_queue_exit(ring)
