"""liburing test/file-update.c: file table updates: the same table registered and updated on
three rings (with and without unregistering), IORING_OP_FILES_UPDATE clearing 10 slots, and
an update with offset -1 (IORING_FILE_INDEX_ALLOC) on a ring without a usable table."""
import array
import errno
import os

from ioring.liburing import *

from .conftest import T_EXIT_FAIL, T_EXIT_PASS, T_EXIT_SKIP, T_SETUP_OK, T_SETUP_SKIP, exit_status, t_create_ring


def close_files(files, nr_files, add):
    for i in range(nr_files):
        if files:
            os.close(files[i])
        fname = f".reg.{i}" if not add else f".add.{i + add}"
        os.unlink(fname)


def open_files(nr_files, extra, add):
    files = [0] * (nr_files + extra)
    for i in range(nr_files):
        fname = f".reg.{i}" if not add else f".add.{i + add}"
        files[i] = os.open(fname, os.O_RDWR | os.O_CREAT, 0o644)
    for i in range(nr_files, nr_files + extra):
        files[i] = -1
    return files


def test_update_multiring(r1, r2, r3, do_unreg):
    fds = open_files(10, 0, 0)
    newfds = open_files(10, 0, 1)
    try:
        for r in (r1, r2, r3):
            assert io_uring_register_files(r, fds, 10) == 0, "test_update_multiring: register files failed"

        for r in (r1, r2, r3):
            assert io_uring_register_files_update(r, 0, newfds, 10) == 10, \
                "test_update_multiring: update files failed"

        if do_unreg:
            for r in (r1, r2, r3):
                assert io_uring_unregister_files(r) == 0, "test_update_multiring: unregister files failed"
    finally:
        close_files(fds, 10, 0)
        close_files(newfds, 10, 1)
    return 0


def test_sqe_update(ring):
    fds = [-1] * 10

    sqe = io_uring_get_sqe(ring)
    io_uring_prep_files_update(sqe, fds, 10, 0)
    ret = io_uring_submit(ring)
    assert ret == 1, f"submit: {ret}"

    cqe = io_uring_wait_cqe(ring)

    ret = cqe.res
    io_uring_cqe_seen(ring, cqe)
    if ret == -errno.EINVAL:
        return T_EXIT_SKIP                  # IORING_OP_FILES_UPDATE not supported
    return ret != 10


def test_update_no_table():
    fds = [-1, 0, 1, 4]

    ring = io_uring()
    ret = t_create_ring(2, ring, 0)
    if ret == T_SETUP_SKIP:
        return T_EXIT_SKIP
    assert ret == T_SETUP_OK, ret

    try:
        try:
            io_uring_register_files(ring, fds, 4)
        except OSError as exc:
            # ignore other failures
            assert exc.errno == errno.EBADF, f"Failed registering file table: {-exc.errno}"

        sqe = io_uring_get_sqe(ring)
        # int up_fd = ring.ring_fd, passed as &up_fd: offset -1 is IORING_FILE_INDEX_ALLOC, and
        # the kernel writes the allocated slot back there, so it is a writable int array.
        up_fd = array.array("i", [ring.ring_fd])
        io_uring_prep_files_update(sqe, up_fd, 1, -1)   # offset = -1
        ret = io_uring_submit(ring)
        assert ret == 1, f"Failed submit: {ret}"

        cqe = io_uring_wait_cqe(ring)
        ret = cqe.res
        io_uring_cqe_seen(ring, cqe)
        assert ret in (-errno.EMFILE, -errno.EINVAL, -errno.EOVERFLOW, -errno.ENXIO, -errno.EBADF), \
            f"Bad cqe res: {ret}"
    finally:
        io_uring_queue_exit(ring)
    return T_EXIT_PASS


def main():
    r1, r2, r3 = io_uring(), io_uring(), io_uring()
    for r in (r1, r2, r3):
        io_uring_queue_init(8, r, 0)

    try:
        assert test_update_multiring(r1, r2, r3, 1) == 0, "test_update_multiring w/unreg"
        assert test_update_multiring(r1, r2, r3, 0) == 0, "test_update_multiring wo/unreg"

        ret = test_sqe_update(r1)
        if ret:
            return ret

        ret = test_update_no_table()
        if ret:
            return ret
    finally:
        for r in (r1, r2, r3):
            io_uring_queue_exit(r)
    return T_EXIT_PASS


def test_main():
    exit_status(main())
