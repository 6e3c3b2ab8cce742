"""liburing test/hardlink.c: linkat through io_uring (AT_EMPTY_PATH on an fd, by path,
following a symlink) and its errors (-EEXIST, -ENOENT)."""
import errno
import os

from ioring.liburing import *

from .conftest import T_EXIT_FAIL, T_EXIT_PASS, T_EXIT_SKIP, exit_status


def do_linkat(ring, olddirfd, oldname, newname, flags):
    sqe = io_uring_get_sqe(ring)
    assert sqe is not None, "sqe get failed"
    io_uring_prep_linkat(sqe, olddirfd, oldname, AT_FDCWD, newname, flags)

    ret = io_uring_submit(ring)
    assert ret == 1, f"submit failed: {ret}"

    cqe = io_uring_wait_cqes(ring, 1, None, None)
    assert cqe is not None, "wait_cqe failed"
    ret = cqe.res
    io_uring_cqe_seen(ring, cqe)
    return ret


def files_linked_ok(fn1, fn2):
    s1 = os.stat(fn1)
    s2 = os.stat(fn2)
    if s1.st_dev != s2.st_dev or s1.st_ino != s2.st_ino:
        print("linked files have different device / inode numbers")
        return 0
    if s1.st_nlink != 2 or s2.st_nlink != 2:
        print("linked files have unexpected links count")
        return 0
    return 1


def _unlinkat(name):
    try:
        os.unlink(name)
    except FileNotFoundError:
        pass


def main():
    target = "io_uring-linkat-test-target"
    emptyname = "io_uring-linkat-test-empty"
    linkname = "io_uring-linkat-test-link"
    symlinkname = "io_uring-linkat-test-symlink"
    exit_status = T_EXIT_FAIL

    ring = io_uring()
    io_uring_queue_init(8, ring, 0)

    try:
        fd = os.open(target, os.O_CREAT | os.O_RDWR | os.O_EXCL, 0o600)
        if os.write(fd, b"linktest") != 8:
            os.close(fd)
            return exit_status
        if os.geteuid():
            print("not root, skipping AT_EMPTY_PATH test")
        else:
            ret = do_linkat(ring, fd, "", emptyname, AT_EMPTY_PATH)
            if ret < 0:
                if ret in (-errno.EBADF, -errno.EINVAL):
                    return T_EXIT_SKIP          # linkat not supported, skipping
                raise AssertionError(f"linkat: {os.strerror(-ret)}")
            if not files_linked_ok(emptyname, target):
                return exit_status
            os.unlink(emptyname)
        os.close(fd)

        os.symlink(target, symlinkname)

        ret = do_linkat(ring, AT_FDCWD, target, linkname, 0)
        if ret < 0:
            if ret in (-errno.EBADF, -errno.EINVAL):
                return T_EXIT_SKIP
            raise AssertionError(f"linkat: {os.strerror(-ret)}")

        if not files_linked_ok(linkname, target):
            return exit_status

        os.unlink(linkname)

        ret = do_linkat(ring, AT_FDCWD, symlinkname, linkname, AT_SYMLINK_FOLLOW)
        assert ret == 0, f"linkat: {os.strerror(-ret)}"

        if not files_linked_ok(symlinkname, target):
            return exit_status

        ret = do_linkat(ring, AT_FDCWD, target, linkname, 0)
        assert ret == -errno.EEXIST, f"test_linkat linkname already exists failed: {ret}"

        ret = do_linkat(ring, AT_FDCWD, target, "surely/this/does/not/exist", 0)
        assert ret == -errno.ENOENT, f"test_linkat no parent failed: {ret}"
        exit_status = T_EXIT_PASS
    finally:
        for name in (symlinkname, linkname, emptyname, target):
            _unlinkat(name)
        io_uring_queue_exit(ring)
    return exit_status


def test_main():
    exit_status(main())
