"""liburing test/sync-cancel.c: io_uring_register_sync_cancel() of blocked pipe reads by
user_data, by fd, all of them, inline or on io-wq (IOSQE_ASYNC), and by opcode with a timeout
that may expire (-ETIME)."""
import errno
import os
import time

from ioring.liburing import *

from .conftest import (T_EXIT_PASS, T_EXIT_SKIP, T_SETUP_OK, T_SETUP_SKIP, exit_status, t_create_ring,
                       zeroed_sync_cancel_reg)

no_sync_cancel = 0
no_sync_cancel_op = 0


def _register_sync_cancel(ring, reg):
    """io_uring_register_sync_cancel's C return: 0 / count, or -errno."""
    try:
        return io_uring_register_sync_cancel(ring, reg)
    except OSError as exc:
        return -exc.errno


def test_sync_cancel_timeout(ring, fds, is_async, by_op):
    global no_sync_cancel_op
    reg = zeroed_sync_cancel_reg()
    buf = bytearray(32)

    to_prep = 1
    sqe = io_uring_get_sqe(ring)
    io_uring_prep_read(sqe, fds[0], buf, len(buf), 0)
    sqe.user_data = 0x89
    if is_async:
        sqe.flags |= IOSQE_ASYNC

    ret = io_uring_submit(ring)
    assert ret == to_prep, f"submit={ret}"

    time.sleep(0.01)

    reg.flags = IORING_ASYNC_CANCEL_OP
    reg.opcode = IORING_OP_READ
    reg.timeout.tv_nsec = 1
    ret = _register_sync_cancel(ring, reg)
    # earlier kernels had sync cancel, but not per-op
    if ret == -errno.EINVAL:
        no_sync_cancel_op = 1
        return 0
    if is_async:
        # we expect -ETIME here, but can race and get 0
        assert ret in (-errno.ETIME, 0), f"sync_cancel={ret}"
    else:
        assert ret >= 0, f"sync_cancel={ret}"

    # we could _almost_ use peek_cqe() here, but there is still a small gap where io-wq is
    # done with the request and on its way to posting a completion, but hasn't done it just yet.
    cqe = io_uring_wait_cqe(ring)
    assert cqe.res < 0, f"cqe->res={cqe.res}"
    io_uring_cqe_seen(ring, cqe)
    return 0


def test_sync_cancel(ring, fds, is_async, nr_all, use_fd, by_op):
    global no_sync_cancel
    reg = zeroed_sync_cancel_reg()
    buf = bytearray(32)

    to_prep = 1
    if nr_all:
        to_prep = 4
    for i in range(to_prep):
        sqe = io_uring_get_sqe(ring)
        io_uring_prep_read(sqe, fds[0], buf, len(buf), 0)
        sqe.user_data = 0x89
        if is_async:
            sqe.flags |= IOSQE_ASYNC

    ret = io_uring_submit(ring)
    assert ret == to_prep, f"submit={ret}"

    time.sleep(0.01)

    if not use_fd:
        reg.addr = 0x89
    else:
        reg.fd = fds[0]
    reg.timeout.tv_sec = 200
    if nr_all:
        reg.flags |= IORING_ASYNC_CANCEL_ALL
    if use_fd:
        reg.flags |= IORING_ASYNC_CANCEL_FD
    ret = _register_sync_cancel(ring, reg)
    if ret < 0:
        if ret == -errno.EINVAL and not no_sync_cancel:
            no_sync_cancel = 1
            return 0
        raise AssertionError(f"sync_cancel={ret}")

    for i in range(to_prep):
        # C waits without a bound; a cancelled request that never completes must fail the
        # test here, not hang CI.
        cqe = io_uring_wait_cqe_timeout(ring, kernel_timespec(20, 0))
        assert cqe is not None, f"request {i} of {to_prep} never completed after its cancel"
        assert cqe.res < 0, f"cqe->res={cqe.res}"
        io_uring_cqe_seen(ring, cqe)
    return 0


def main(fds):
    ring = io_uring()
    ret = t_create_ring(7, ring, 0)
    if ret == T_SETUP_SKIP:
        return T_EXIT_SKIP
    assert ret == T_SETUP_OK, ret

    try:
        assert test_sync_cancel(ring, fds(), 0, 0, 0, 0) == 0, "test_sync_cancel 0 0 0 failed"
        if no_sync_cancel:
            return T_EXIT_SKIP
        for args in [(0, 0, 0, 1), (1, 0, 0, 0), (1, 0, 0, 1), (0, 1, 0, 0), (0, 1, 0, 1),
                     (1, 1, 0, 0), (0, 0, 1, 0), (1, 0, 1, 0), (0, 1, 1, 0), (1, 1, 1, 0)]:
            assert test_sync_cancel(ring, fds(), *args) == 0, f"test_sync_cancel {args} failed"

        assert test_sync_cancel_timeout(ring, fds(), 0, 0) == 0, "test_sync_cancel_timeout 0 0"
        if no_sync_cancel_op:
            return T_EXIT_PASS

        assert test_sync_cancel_timeout(ring, fds(), 0, 1) == 0, "test_sync_cancel_timeout 0 1"

        # must be last, leaves request
        assert test_sync_cancel_timeout(ring, fds(), 1, 0) == 0, "test_sync_cancel_timeout 1"
    finally:
        io_uring_queue_exit(ring)
    return T_EXIT_PASS


def test_main():
    pipes = []

    def fds():
        # C leaks each sub-test's pipe; they are closed here once the ring is gone.
        pipes.append(os.pipe())
        return pipes[-1]

    try:
        exit_status(main(fds))
    finally:
        for r, w in pipes:
            os.close(r)
            os.close(w)
