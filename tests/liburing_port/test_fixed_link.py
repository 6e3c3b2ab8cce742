"""liburing test/fixed-link.c: two READ_FIXED from /dev/zero into registered buffers, linked,
each carrying a string object as its user data (io_uring_sqe_set_data)."""
import os

from ioring.liburing import *

from .conftest import T_EXIT_PASS, exit_status, t_malloc

IOVECS_LEN = 2


def main():
    fd = os.open("/dev/zero", os.O_RDONLY)
    ring = io_uring()
    io_uring_queue_init(32, ring, 0)

    try:
        iovecs = [t_malloc(64) for i in range(IOVECS_LEN)]
        io_uring_register_buffers(ring, iovecs, IOVECS_LEN)

        lengths = [64] * IOVECS_LEN
        for i in range(IOVECS_LEN):
            sqe = io_uring_get_sqe(ring)
            s = "#include <errno.h>"

            lengths[i] = len(s)             # iovecs[i].iov_len = strlen(str)
            io_uring_prep_read_fixed(sqe, fd, iovecs[i], len(s), 0, i)
            if i == 0:
                io_uring_sqe_set_flags(sqe, IOSQE_IO_LINK)
            io_uring_sqe_set_data(sqe, s)

        ret = io_uring_submit_and_wait(ring, IOVECS_LEN)
        assert ret >= 2, f"Submitted {ret}, wanted {IOVECS_LEN}"

        for i in range(IOVECS_LEN):
            cqe = io_uring_wait_cqe(ring)
            assert cqe.res == lengths[i], f"read: wanted {lengths[i]}, got {cqe.res}"
            assert io_uring_cqe_get_data(cqe) == "#include <errno.h>"   # (the port also checks it)
            io_uring_cqe_seen(ring, cqe)
    finally:
        os.close(fd)
        io_uring_queue_exit(ring)
    return T_EXIT_PASS


def test_main():
    exit_status(main())
