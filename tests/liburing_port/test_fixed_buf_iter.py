"""liburing test/fixed-buf-iter.c: READ_FIXED from /dev/urandom and WRITE_FIXED to /dev/zero
with a registered buffer (fixed buffers on files that do not take iov_iters)."""
import os

from ioring.liburing import *

from .conftest import T_EXIT_FAIL, T_EXIT_PASS, T_EXIT_SKIP, T_SETUP_SKIP, exit_status, t_create_ring

BUF_SIZE = 4096
BUFFERS = 1
IN_FD = "/dev/urandom"
OUT_FD = "/dev/zero"


def test(ring):
    fd_in = os.open(IN_FD, os.O_RDONLY, 0o644)
    fd_out = os.open(OUT_FD, os.O_RDWR, 0o644)
    try:
        iov = [bytearray(BUF_SIZE) for i in range(BUFFERS)]

        io_uring_register_buffers(ring, iov, BUFFERS)

        sqe = io_uring_get_sqe(ring)
        assert sqe is not None, "Could not get SQE."

        io_uring_prep_read_fixed(sqe, fd_in, iov[0], BUF_SIZE, 0, 0)
        io_uring_submit(ring)

        cqe = io_uring_wait_cqe(ring)
        assert cqe.res >= 0, f"Error in async operation: {os.strerror(-cqe.res)}"
        io_uring_cqe_seen(ring, cqe)

        sqe = io_uring_get_sqe(ring)
        assert sqe is not None, "Could not get SQE."
        io_uring_prep_write_fixed(sqe, fd_out, iov[0], BUF_SIZE, 0, 0)
        io_uring_submit(ring)

        cqe = io_uring_wait_cqe(ring)
        assert cqe.res >= 0, f"Error in async operation: {os.strerror(-cqe.res)}"
        io_uring_cqe_seen(ring, cqe)
    finally:
        os.close(fd_in)
        os.close(fd_out)
    return 0


def main():
    ring = io_uring()
    ret = t_create_ring(8, ring, 0)
    if ret == T_SETUP_SKIP:
        return T_EXIT_SKIP
    elif ret < 0:
        return T_EXIT_FAIL

    try:
        assert test(ring) == 0, "Test failed"
    finally:
        io_uring_queue_exit(ring)
    return T_EXIT_PASS


def test_main():
    exit_status(main())
