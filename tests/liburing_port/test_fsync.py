"""liburing test/fsync.c: IORING_OP_FSYNC of a file, a drained DATASYNC fsync completing after
four writes, and IORING_OP_SYNC_FILE_RANGE."""
import errno
import os
import tempfile

from ioring.liburing import *

from .conftest import T_EXIT_PASS, exit_status, t_create_file, t_malloc

FILE_SIZE = 1024


def test_single_fsync(ring):
    fd, buf = tempfile.mkstemp(dir=".")     # mkstemp("./XXXXXX")
    try:
        sqe = io_uring_get_sqe(ring)
        assert sqe is not None, "get sqe failed"

        io_uring_prep_fsync(sqe, fd, 0)

        ret = io_uring_submit(ring)
        assert ret > 0, f"sqe submit failed: {ret}"

        cqe = io_uring_wait_cqe(ring)
        io_uring_cqe_seen(ring, cqe)
    finally:
        os.unlink(buf)
        os.close(fd)                        # C leaves it open
    return 0


def test_barrier_fsync(ring):
    fd = os.open("fsync-testfile", os.O_WRONLY | os.O_CREAT, 0o644)
    os.unlink("fsync-testfile")
    try:
        iovecs = [t_malloc(4096) for i in range(4)]

        off = 0
        for i in range(4):
            sqe = io_uring_get_sqe(ring)
            assert sqe is not None, "get sqe failed"

            io_uring_prep_writev(sqe, fd, iovecs[i:i + 1], 1, off)
            sqe.user_data = 0
            off += 4096

        sqe = io_uring_get_sqe(ring)
        assert sqe is not None, "get sqe failed"

        io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC)
        sqe.user_data = 1
        io_uring_sqe_set_flags(sqe, IOSQE_IO_DRAIN)

        ret = io_uring_submit(ring)
        assert ret >= 5, f"Submitted only {ret}"

        for i in range(5):
            cqe = io_uring_wait_cqe(ring)
            # kernel doesn't support IOSQE_IO_DRAIN
            if cqe.res == -errno.EINVAL:
                break
            if i <= 3:
                assert not cqe.user_data, "Got fsync early?"
            else:
                assert cqe.user_data, "Got write late?"
            io_uring_cqe_seen(ring, cqe)
    finally:
        os.close(fd)                        # C leaves it open
    return 0


def test_sync_file_range(ring):
    t_create_file(".sync_file_range", FILE_SIZE)

    fd = os.open(".sync_file_range", os.O_RDWR)
    os.unlink(".sync_file_range")
    try:
        sqe = io_uring_get_sqe(ring)
        assert sqe is not None, "sqe get failed"
        io_uring_prep_sync_file_range(sqe, fd, 0, 0, 0)
        sqe.user_data = 1

        ret = io_uring_submit(ring)
        assert ret == 1, f"submit failed: {ret}"
        cqe = io_uring_wait_cqe(ring)
        assert cqe.res == 0, f"sfr failed: {cqe.res}"

        io_uring_cqe_seen(ring, cqe)
    finally:
        os.close(fd)
    return 0


def main():
    ring = io_uring()
    io_uring_queue_init(8, ring, 0)
    try:
        assert test_single_fsync(ring) == 0, "test_single_fsync failed"
        assert test_barrier_fsync(ring) == 0, "test_barrier_fsync failed"
        assert test_sync_file_range(ring) == 0, "test_sync_file_range failed"
    finally:
        io_uring_queue_exit(ring)
    return T_EXIT_PASS


def test_main():
    exit_status(main())
