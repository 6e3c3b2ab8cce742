"""liburing test/link_drain.c: IOSQE_IO_DRAIN inside linked chains: completions arrive in
submission order behind a write, on a plain ring and a DEFER_TASKRUN one."""
import os

from ioring.liburing import *

from .conftest import T_EXIT_PASS, exit_status, t_malloc, t_probe_defer_taskrun

# C repeats each test 1000 times per ring; 100 keeps the port directory fast in CI.
LOOPS = 100


def _prep(sqe, kind, fd, iovecs, off, flags, user_data):
    if kind == "writev":
        io_uring_prep_writev(sqe, fd, [iovecs], 1, off)
    else:
        io_uring_prep_nop(sqe)
    sqe.flags |= flags
    sqe.user_data = user_data


def _submit_and_collect(ring, n):
    ret = io_uring_submit(ring)
    assert ret >= n, f"Submitted only {ret}"

    data = []
    for i in range(n):
        cqe = io_uring_wait_cqe(ring)
        data.append(cqe.user_data)
        io_uring_cqe_seen(ring, cqe)
    return data


def test_link_drain_one(ring):
    off = 0
    expect = [0, 1, 2, 3, 4]

    fd = os.open("testfile", os.O_WRONLY | os.O_CREAT, 0o644)
    iovecs = t_malloc(4096)
    try:
        sqe = [io_uring_get_sqe(ring) for i in range(5)]
        assert None not in sqe, "get sqe failed"

        _prep(sqe[0], "writev", fd, iovecs, off, 0, 0)                 # normal heavy io
        _prep(sqe[1], "nop", fd, iovecs, off, IOSQE_IO_LINK, 1)        # link io
        _prep(sqe[2], "nop", fd, iovecs, off, IOSQE_IO_LINK | IOSQE_IO_DRAIN, 2)   # link drain io
        _prep(sqe[3], "nop", fd, iovecs, off, 0, 3)                    # link io
        _prep(sqe[4], "nop", fd, iovecs, off, 0, 4)                    # normal nop io

        data = _submit_and_collect(ring, 5)
        assert data == expect, f"completion order {data}"
    finally:
        os.close(fd)
        os.unlink("testfile")
    return 0


def test_link_drain_multi(ring):
    off = 0
    expect = [0, 1, 2, 3, 4, 5, 6, 7, 8]

    fd = os.open("testfile", os.O_WRONLY | os.O_CREAT, 0o644)
    os.unlink("testfile")
    iovecs = t_malloc(4096)
    try:
        sqe = [io_uring_get_sqe(ring) for i in range(9)]
        assert None not in sqe, "get sqe failed"

        _prep(sqe[0], "writev", fd, iovecs, off, 0, 0)                 # normal heavy io
        _prep(sqe[1], "nop", fd, iovecs, off, IOSQE_IO_LINK, 1)        # link1 io head
        _prep(sqe[2], "nop", fd, iovecs, off, IOSQE_IO_LINK | IOSQE_IO_DRAIN, 2)   # link1 drain io
        _prep(sqe[3], "nop", fd, iovecs, off, 0, 3)                    # link1 io end
        _prep(sqe[4], "nop", fd, iovecs, off, IOSQE_IO_LINK, 4)        # link2 io head
        _prep(sqe[5], "nop", fd, iovecs, off, IOSQE_IO_LINK, 5)        # link2 io
        _prep(sqe[6], "writev", fd, iovecs, off, IOSQE_IO_LINK | IOSQE_IO_DRAIN, 6)  # link2 drain io
        _prep(sqe[7], "nop", fd, iovecs, off, 0, 7)                    # link2 io end
        _prep(sqe[8], "nop", fd, iovecs, off, 0, 8)                    # normal io

        data = _submit_and_collect(ring, 9)
        assert data == expect, f"completion order {data}"
    finally:
        os.close(fd)
    return 0


def test_drain(defer):
    flags = 0
    if defer:
        flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN

    ring = io_uring()
    io_uring_queue_init(100, ring, flags)
    try:
        for i in range(LOOPS):
            assert test_link_drain_one(ring) == 0, "test_link_drain_one failed"
            assert test_link_drain_multi(ring) == 0, "test_link_drain_multi failed"
    finally:
        io_uring_queue_exit(ring)     # C leaves its rings to process exit
    return 0


def main():
    assert test_drain(False) == 0, "test_drain(false) failed"

    if t_probe_defer_taskrun():
        assert test_drain(True) == 0, "test_drain(true) failed"
    return T_EXIT_PASS


def test_main():
    exit_status(main())
