"""liburing test/short-read.c: a readv of a 4096-byte iovec from a 1024-byte file completes
with the file's size."""
import os

from ioring.liburing import *

from .conftest import t_create_file, t_malloc

BUF_SIZE = 4096
FILE_SIZE = 1024


def main():
    vec = t_malloc(BUF_SIZE)

    t_create_file(".short-read", FILE_SIZE)

    fd = os.open(".short-read", os.O_RDONLY)
    os.unlink(".short-read")

    ring = io_uring()
    io_uring_queue_init(32, ring, 0)

    sqe = io_uring_get_sqe(ring)
    assert sqe is not None, "sqe get failed"
    io_uring_prep_readv(sqe, fd, [vec], 1, 0)

    ret = io_uring_submit(ring)
    assert ret == 1, f"submit failed: {ret}"

    cqe = io_uring_wait_cqes(ring, 1, None, None)
    assert cqe is not None, "wait_cqe failed"

    assert cqe.res == FILE_SIZE, f"Read failed: {cqe.res}"

    io_uring_cqe_seen(ring, cqe)
    # C leaks the ring and the fd at exit; close them so the test process stays clean.
    io_uring_queue_exit(ring)
    os.close(fd)
    return 0


def test_main():
    assert main() == 0
