"""liburing test/eventfd.c: an eventfd registered with the ring is signalled by a NOP's
completion, which wakes a linked poll -> readv chain on that same eventfd."""
import os
import select

from ioring.liburing import *

from .conftest import T_EXIT_PASS, T_EXIT_SKIP, exit_status


def main():
    p = io_uring_params()
    ptr = bytearray(8)              # uint64_t ptr; struct iovec vec = { &ptr, sizeof(ptr) }
    vec = [ptr]

    ring = io_uring()
    io_uring_queue_init_params(8, ring, p)
    if not (p.features & IORING_FEAT_CUR_PERSONALITY):
        io_uring_queue_exit(ring)
        return T_EXIT_SKIP

    evfd = os.eventfd(0, os.EFD_CLOEXEC)
    try:
        ret = io_uring_register_eventfd(ring, evfd)
        assert ret == 0, f"failed to register evfd: {ret}"

        sqe = io_uring_get_sqe(ring)
        io_uring_prep_poll_add(sqe, evfd, select.POLLIN)
        sqe.flags |= IOSQE_IO_LINK
        sqe.user_data = 1

        sqe = io_uring_get_sqe(ring)
        io_uring_prep_readv(sqe, evfd, vec, 1, 0)
        sqe.user_data = 2

        ret = io_uring_submit(ring)
        assert ret == 2, f"submit: {ret}"

        sqe = io_uring_get_sqe(ring)
        io_uring_prep_nop(sqe)
        sqe.user_data = 3

        ret = io_uring_submit(ring)
        assert ret == 1, f"submit: {ret}"

        for i in range(3):
            cqe = io_uring_wait_cqe(ring)
            if cqe.user_data == 1:
                # POLLIN
                assert cqe.res == 1, f"poll: {cqe.res}"
            elif cqe.user_data == 2:
                assert cqe.res == len(ptr), f"read: {cqe.res}"
            elif cqe.user_data == 3:
                assert cqe.res == 0, f"nop: {cqe.res}"
            io_uring_cqe_seen(ring, cqe)
    finally:
        io_uring_queue_exit(ring)
        os.close(evfd)

    return T_EXIT_PASS


def test_main():
    exit_status(main())
