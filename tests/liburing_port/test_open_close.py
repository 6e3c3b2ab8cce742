"""liburing test/open-close.c: openat by absolute and relative path, IORING_OP_CLOSE of a
plain fd, of the ring's own fd (-EBADF), of direct descriptors (no table, bad slot, empty
slot, a read after the close), of a file whose close flushes, and a direct open with
O_CLOEXEC (-EINVAL)."""
import errno
import os

from ioring.liburing import *

from .conftest import T_EXIT_SKIP, exit_status, t_create_file


def __io_uring_set_target_fixed_file(sqe, file_index):
    """liburing.h's inline helper: a direct descriptor is slot + 1 in sqe->file_index."""
    sqe.file_index = file_index + 1


def submit_wait(ring):
    ret = io_uring_submit(ring)
    assert ret > 0, f"sqe submit failed: {ret}"
    cqe = io_uring_wait_cqe(ring)
    ret = cqe.res
    io_uring_cqe_seen(ring, cqe)
    return ret


def test_close_flush():
    buf = "/sys/kernel/debug/tracing/per_cpu/cpu0/trace_pipe_raw"
    try:
        fd = os.open(buf, os.O_RDONLY)
    except OSError:
        return 0

    ring = io_uring()
    io_uring_queue_init(8, ring, 0)
    try:
        sqe = io_uring_get_sqe(ring)
        io_uring_prep_close(sqe, fd)
        ret = submit_wait(ring)
        assert ret == 0, f"closefailed {ret}"
    finally:
        io_uring_queue_exit(ring)
    return 0


def try_close(ring, fd, slot):
    sqe = io_uring_get_sqe(ring)
    io_uring_prep_close(sqe, fd)
    __io_uring_set_target_fixed_file(sqe, slot)
    return submit_wait(ring)


def test_close_fixed():
    buf = bytearray(1)

    ring = io_uring()
    io_uring_queue_init(8, ring, 0)
    fds = os.pipe()
    try:
        ret = try_close(ring, 0, 0)
        if ret == -errno.EINVAL:
            return 0                        # close for fixed files is not supported
        assert ret == -errno.ENXIO, f"no table failed {ret}"

        ret = try_close(ring, 1, 0)
        assert ret == -errno.EINVAL, f"set fd failed {ret}"

        io_uring_register_files(ring, fds, 2)

        ret = try_close(ring, 0, 2)
        assert ret == -errno.EINVAL, f"out of table failed {ret}"

        ret = try_close(ring, 0, 0)
        assert ret == 0, f"close failed {ret}"

        sqe = io_uring_get_sqe(ring)
        io_uring_prep_read(sqe, 0, buf, len(buf), 0)
        sqe.flags |= IOSQE_FIXED_FILE
        ret = submit_wait(ring)
        assert ret == -errno.EBADF, f"read failed {ret}"

        ret = try_close(ring, 0, 1)
        assert ret == 0, f"close 2 failed {ret}"

        ret = try_close(ring, 0, 0)
        assert ret == -errno.EBADF, f"empty slot failed {ret}"
    finally:
        os.close(fds[0])
        os.close(fds[1])
        io_uring_queue_exit(ring)
    return 0


def test_close(ring, fd, is_ring_fd):
    sqe = io_uring_get_sqe(ring)
    assert sqe is not None, "get sqe failed"
    io_uring_prep_close(sqe, fd)

    ret = io_uring_submit(ring)
    assert ret > 0, f"sqe submit failed: {ret}"

    try:
        cqe = io_uring_wait_cqe(ring)
    except OSError as exc:
        assert is_ring_fd and exc.errno == errno.EBADF, f"wait completion {-exc.errno}"
        return -exc.errno
    ret = cqe.res
    io_uring_cqe_seen(ring, cqe)
    return ret


def test_openat(ring, path, dfd):
    sqe = io_uring_get_sqe(ring)
    assert sqe is not None, "get sqe failed"
    io_uring_prep_openat(sqe, dfd, path, os.O_RDONLY, 0)

    ret = io_uring_submit(ring)
    assert ret > 0, f"sqe submit failed: {ret}"

    cqe = io_uring_wait_cqe(ring)
    ret = cqe.res
    io_uring_cqe_seen(ring, cqe)
    return ret


def test_open_direct_cloexec(ring, path, dfd):
    sqe = io_uring_get_sqe(ring)
    assert sqe is not None, "get sqe failed"
    io_uring_prep_openat(sqe, dfd, path, os.O_RDONLY | os.O_CLOEXEC, 0)
    sqe.file_index = 1

    ret = io_uring_submit(ring)
    assert ret > 0, f"sqe submit failed: {ret}"

    cqe = io_uring_wait_cqe(ring)
    if cqe.res != -errno.EINVAL:
        return 1
    io_uring_cqe_seen(ring, cqe)
    return 0


def main():
    ring = io_uring()
    io_uring_queue_init(8, ring, 0)

    # C uses /tmp/.open.close and ./.open.close; the port's temporary directory is the cwd.
    path = os.path.abspath(".open.close.abs")
    path_rel = ".open.close"
    t_create_file(path, 4096)
    t_create_file(path_rel, 4096)

    try:
        ret = test_openat(ring, path, -1)
        if ret < 0:
            if ret == -errno.EINVAL:
                return 0                    # Open not supported, skipping
            if ret in (-errno.EPERM, -errno.EACCES):
                return T_EXIT_SKIP
            raise AssertionError(f"test_openat absolute failed: {ret}")
        os.close(ret)                       # C leaves this one open

        ret = test_openat(ring, path_rel, AT_FDCWD)
        if ret < 0:
            if ret in (-errno.EPERM, -errno.EACCES):
                return T_EXIT_SKIP
            raise AssertionError(f"test_openat relative failed: {ret}")

        ret = test_close(ring, ret, 0)
        assert ret == 0, "test_close normal failed"

        ret = test_close(ring, ring.ring_fd, 1)
        assert ret == -errno.EBADF, "test_close ring_fd failed"

        assert test_close_fixed() == 0, "test_close_fixed failed"
        assert test_close_flush() == 0, "test_close_flush failed"
        assert test_open_direct_cloexec(ring, path, -1) == 0, "test_open_direct_cloexex failed"
    finally:
        io_uring_queue_exit(ring)
    return 0


def test_main():
    exit_status(main())
