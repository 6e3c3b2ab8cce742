"""liburing test/openat2.c: openat2 by absolute and relative path, into a direct descriptor
slot (and the slot checks: no table, out of bounds, u16 overflow, reinstall over a pipe),
and a bad path or open_how address completing with -EFAULT."""
import errno
import os

import pytest

from ioring.liburing import *

from .conftest import T_EXIT_SKIP, exit_status, raw_address, t_create_file


def test_openat2(ring, path, dfd, direct, fixed_index, bad_how):
    if bad_how:
        how = 0x1234                            # (struct open_how *) 0x1234
    else:
        how = open_how()

    sqe = io_uring_get_sqe(ring)
    assert sqe is not None, "get sqe failed"
    if not bad_how:
        how.flags = os.O_RDWR

    if not direct:
        io_uring_prep_openat2(sqe, dfd, path, how)
    else:
        io_uring_prep_openat2_direct(sqe, dfd, path, how, fixed_index)

    ret = io_uring_submit(ring)
    assert ret > 0, f"sqe submit failed: {ret}"

    cqe = io_uring_wait_cqe(ring)
    ret = cqe.res
    io_uring_cqe_seen(ring, cqe)

    if direct and ret > 0:
        os.close(ret)
        return -errno.EINVAL
    return ret


def test_open_fixed(path, dfd):
    pattern = bytes([0xac])
    buffer = bytearray(2)
    fd = -1

    ring = io_uring()
    io_uring_queue_init(8, ring, 0)
    try:
        try:
            io_uring_register_files(ring, [fd], 1)
        except OSError as exc:
            if exc.errno in (errno.EINVAL, errno.EBADF):
                return 0
            raise

        ret = test_openat2(ring, path, dfd, True, 0, 0)
        if ret == -errno.EINVAL:
            return 1                            # fixed open isn't supported
        assert ret == 0, f"direct open failed {ret}"

        sqe = io_uring_get_sqe(ring)
        io_uring_prep_write(sqe, 0, pattern, 1, 0)
        sqe.user_data = 1
        sqe.flags |= IOSQE_FIXED_FILE | IOSQE_IO_LINK

        sqe = io_uring_get_sqe(ring)
        io_uring_prep_read(sqe, 0, buffer, 1, 0)
        sqe.user_data = 2
        sqe.flags |= IOSQE_FIXED_FILE

        ret = io_uring_submit(ring)
        assert ret == 2, f"test_open_fixed: got {ret}, wanted 2"

        for i in range(2):
            cqe = io_uring_wait_cqe(ring)
            assert cqe.res == 1, f"unexpectetd ret {cqe.res}"
            io_uring_cqe_seen(ring, cqe)
        assert buffer[:1] == pattern, "buf validation failed"
    finally:
        io_uring_queue_exit(ring)
    return 0


def test_open_fixed_fail(path, dfd):
    fd = -1

    ring = io_uring()
    io_uring_queue_init(8, ring, 0)
    try:
        ret = test_openat2(ring, path, dfd, True, 0, 0)
        assert ret == -errno.ENXIO, f"install into not existing table, {ret}"

        try:
            io_uring_register_files(ring, [fd], 1)
        except OSError as exc:
            if exc.errno in (errno.EINVAL, errno.EBADF):
                return 0
            raise

        ret = test_openat2(ring, path, dfd, True, 1, 0)
        assert ret == -errno.EINVAL, f"install out of bounds, {ret}"

        ret = test_openat2(ring, path, dfd, True, (1 << 16), 0)
        assert ret == -errno.EINVAL, f"install out of bounds or u16 overflow, {ret}"

        ret = test_openat2(ring, path, dfd, True, (1 << 16) + 1, 0)
        assert ret == -errno.EINVAL, f"install out of bounds or u16 overflow, {ret}"
    finally:
        io_uring_queue_exit(ring)
    return 0


def test_direct_reinstall(path, dfd):
    buf = bytearray([0xfa])

    pipe_fds = os.pipe2(os.O_NONBLOCK)
    ring = io_uring()
    io_uring_queue_init(8, ring, 0)
    try:
        io_uring_register_files(ring, pipe_fds, 2)

        # reinstall into the second slot
        ret = test_openat2(ring, path, dfd, True, 1, 0)
        assert ret == 0, f"reinstall failed, {ret}"

        # verify it's reinstalled, first write into the slot...
        sqe = io_uring_get_sqe(ring)
        io_uring_prep_write(sqe, 1, buf, len(buf), 0)
        sqe.flags |= IOSQE_FIXED_FILE

        ret = io_uring_submit(ring)
        assert ret == 1, f"sqe submit failed: {ret}"
        cqe = io_uring_wait_cqe(ring)
        ret = cqe.res
        io_uring_cqe_seen(ring, cqe)
        assert ret == 1, f"invalid write {ret}"

        # ... and make sure nothing has been written to the pipe
        try:
            ret2 = os.read(pipe_fds[0], 1)
            assert ret2 == b"", f"invalid pipe read, {ret2!r}"
        except BlockingIOError:
            pass
    finally:
        os.close(pipe_fds[0])
        os.close(pipe_fds[1])
        io_uring_queue_exit(ring)
    return 0


RING = ("io_uring", 8)          # the conftest ring fixture: io_uring_queue_init(8, &ring, 0)


@pytest.fixture
def paths():
    # C uses /tmp/.open.at2 and ./.open.at2; the port's temporary directory is the cwd.
    path = os.path.abspath(".open.at2.abs")
    path_rel = ".open.at2"
    t_create_file(path, 4096)
    t_create_file(path_rel, 4096)
    return path, path_rel


def main(ring, path, path_rel):
    ret = test_openat2(ring, path, -1, False, 0, 0)
    if ret < 0:
        if ret == -errno.EINVAL:
            return 0                            # openat2 not supported, skipping
        if ret in (-errno.EPERM, -errno.EACCES):
            return T_EXIT_SKIP
        raise AssertionError(f"test_openat2 absolute failed: {ret}")
    os.close(ret)

    ret = test_openat2(ring, path_rel, AT_FDCWD, False, 0, 0)
    if ret < 0:
        if ret in (-errno.EPERM, -errno.EACCES):
            return T_EXIT_SKIP
        raise AssertionError(f"test_openat2 relative failed: {ret}")
    os.close(ret)

    ret = test_open_fixed(path, -1)
    if ret > 0:
        return 0
    assert ret == 0, "test_open_fixed failed"
    ret = test_open_fixed_fail(path, -1)
    assert ret == 0, "test_open_fixed_fail failed"

    ret = test_direct_reinstall(path, -1)
    assert ret == 0, "test_direct_reinstall failed"
    return 0


def test_main(ring, paths):
    """main() up to its two raw-address cases (test_main_bad_* below)."""
    exit_status(main(ring, *paths))


@raw_address
def test_main_bad_address(ring):
    ret = test_openat2(ring, 0x1234, AT_FDCWD, False, 0, 0)
    assert ret == -errno.EFAULT, f"test_openat2 bad address failed: {ret}"


@raw_address
def test_main_bad_how(ring, paths):
    ret = test_openat2(ring, paths[1], AT_FDCWD, False, 0, 1)
    assert ret == -errno.EFAULT, f"test_openat2 bad how failed: {ret}"
