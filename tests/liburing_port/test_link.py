"""liburing test/link.c: linked SQEs: single and double dependencies, two independent chains,
a failing head cancelling its dependent (-ECANCELED) on an IOPOLL ring, hard links that
survive a timeout's -ETIME, and an early failure while waiting."""
import errno

from ioring.liburing import *

from .conftest import T_EXIT_FAIL, T_EXIT_PASS, T_EXIT_SKIP, exit_status

no_hardlink = 0


def test_single_hardlink(ring):
    """Timer with single nop"""
    global no_hardlink
    sqe = io_uring_get_sqe(ring)
    assert sqe is not None, "get sqe failed"
    ts = kernel_timespec()
    ts.tv_sec = 0
    ts.tv_nsec = 10000000
    io_uring_prep_timeout(sqe, ts, 0, 0)
    sqe.flags |= IOSQE_IO_LINK | IOSQE_IO_HARDLINK
    sqe.user_data = 1

    sqe = io_uring_get_sqe(ring)
    assert sqe is not None, "get sqe failed"
    io_uring_prep_nop(sqe)
    sqe.user_data = 2

    ret = io_uring_submit(ring)
    assert ret > 0, f"sqe submit failed: {ret}"

    for i in range(2):
        cqe = io_uring_wait_cqe(ring)
        assert cqe is not None, "failed to get cqe"
        if not no_hardlink:
            if cqe.user_data == 1 and cqe.res == -errno.EINVAL:
                no_hardlink = 1             # Hard links not supported, skipping
            else:
                assert not (cqe.user_data == 1 and cqe.res != -errno.ETIME), f"timeout failed with {cqe.res}"
                assert not (cqe.user_data == 2 and cqe.res), f"nop failed with {cqe.res}"
        io_uring_cqe_seen(ring, cqe)
    return 0


def test_double_hardlink(ring):
    """Timer -> timer -> nop"""
    if no_hardlink:
        return 0

    sqe = io_uring_get_sqe(ring)
    assert sqe is not None, "get sqe failed"
    ts1 = kernel_timespec()
    ts1.tv_sec = 0
    ts1.tv_nsec = 10000000
    io_uring_prep_timeout(sqe, ts1, 0, 0)
    sqe.flags |= IOSQE_IO_LINK | IOSQE_IO_HARDLINK
    sqe.user_data = 1

    sqe = io_uring_get_sqe(ring)
    assert sqe is not None, "get sqe failed"
    ts2 = kernel_timespec()
    ts2.tv_sec = 0
    ts2.tv_nsec = 15000000
    io_uring_prep_timeout(sqe, ts2, 0, 0)
    sqe.flags |= IOSQE_IO_LINK | IOSQE_IO_HARDLINK
    sqe.user_data = 2

    sqe = io_uring_get_sqe(ring)
    assert sqe is not None, "get sqe failed"
    io_uring_prep_nop(sqe)
    sqe.user_data = 3

    ret = io_uring_submit(ring)
    assert ret > 0, f"sqe submit failed: {ret}"

    for i in range(3):
        cqe = io_uring_wait_cqe(ring)
        assert cqe is not None, "failed to get cqe"
        assert not (cqe.user_data == 1 and cqe.res != -errno.ETIME), f"timeout failed with {cqe.res}"
        assert not (cqe.user_data == 2 and cqe.res != -errno.ETIME), f"timeout failed with {cqe.res}"
        assert not (cqe.user_data == 3 and cqe.res), f"nop failed with {cqe.res}"
        io_uring_cqe_seen(ring, cqe)
    return 0


def test_single_link_fail(ring):
    """Test failing head of chain, and dependent getting -ECANCELED"""
    sqe = io_uring_get_sqe(ring)
    assert sqe is not None, "get sqe failed"

    io_uring_prep_remove_buffers(sqe, 10, 1)
    sqe.flags |= IOSQE_IO_LINK

    sqe = io_uring_get_sqe(ring)
    assert sqe is not None, "get sqe failed"

    io_uring_prep_nop(sqe)

    ret = io_uring_submit(ring)
    assert ret > 0, f"sqe submit failed: {ret}"

    for i in range(2):
        cqe = io_uring_peek_cqe(ring)
        assert cqe is not None, "failed to get cqe"
        assert not (i == 0 and cqe.res != -errno.ENOENT), f"sqe0 failed with {cqe.res}, wanted -ENOENT"
        assert not (i == 1 and cqe.res != -errno.ECANCELED), f"sqe1 failed with {cqe.res}, wanted -ECANCELED"
        io_uring_cqe_seen(ring, cqe)
    return 0


def _nops(ring, flags):
    for f in flags:
        sqe = io_uring_get_sqe(ring)
        assert sqe is not None, "get sqe failed"
        io_uring_prep_nop(sqe)
        sqe.flags |= f


def _submit_and_reap(ring, n):
    ret = io_uring_submit(ring)
    assert ret > 0, f"sqe submit failed: {ret}"
    for i in range(n):
        cqe = io_uring_wait_cqe(ring)
        io_uring_cqe_seen(ring, cqe)


def test_double_chain(ring):
    """Test two independent chains"""
    _nops(ring, [IOSQE_IO_LINK, 0, IOSQE_IO_LINK, 0])
    _submit_and_reap(ring, 4)
    return 0


def test_double_link(ring):
    """Test multiple dependents"""
    _nops(ring, [IOSQE_IO_LINK, IOSQE_IO_LINK, 0])
    _submit_and_reap(ring, 3)
    return 0


def test_single_link(ring):
    """Test single dependency"""
    _nops(ring, [IOSQE_IO_LINK, 0])
    _submit_and_reap(ring, 2)
    return 0


def test_early_fail_and_wait():
    invalid_fd = 42
    iov = bytearray(0)                      # struct iovec iov = { .iov_base = NULL, .iov_len = 0 }

    # create a new ring as it leaves it dirty
    ring = io_uring()
    io_uring_queue_init(8, ring, 0)
    try:
        sqe = io_uring_get_sqe(ring)
        assert sqe is not None, "get sqe failed"

        io_uring_prep_readv(sqe, invalid_fd, [iov], 1, 0)
        sqe.flags |= IOSQE_IO_LINK

        sqe = io_uring_get_sqe(ring)
        assert sqe is not None, "get sqe failed"

        io_uring_prep_nop(sqe)

        try:
            ret = io_uring_submit_and_wait(ring, 2)
            assert ret > 0, f"sqe submit failed: {ret}"
        except BlockingIOError:             # -EAGAIN is accepted
            pass
    finally:
        io_uring_queue_exit(ring)
    return 0


def main():
    ring = io_uring()
    io_uring_queue_init(8, ring, 0)
    poll_ring = io_uring()
    io_uring_queue_init(8, poll_ring, IORING_SETUP_IOPOLL)

    try:
        assert test_single_link(ring) == 0, "test_single_link failed"
        assert test_double_link(ring) == 0, "test_double_link failed"
        assert test_double_chain(ring) == 0, "test_double_chain failed"
        assert test_single_link_fail(poll_ring) == 0, "test_single_link_fail failed"
        assert test_single_hardlink(ring) == 0, "test_single_hardlink"
        assert test_double_hardlink(ring) == 0, "test_double_hardlink"
        assert test_early_fail_and_wait() == 0, "test_early_fail_and_wait"
    finally:
        io_uring_queue_exit(ring)
        io_uring_queue_exit(poll_ring)
    return T_EXIT_PASS


def test_main():
    exit_status(main())
