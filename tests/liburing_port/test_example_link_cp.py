"""liburing examples/link-cp.c: copy a file with linked readv -> writev pairs, each pair
sharing one io_data object as its user data (io_uring_sqe_set_data / io_uring_cqe_get_data);
a pair cancelled by a short read is queued again."""
import errno
import os

from ioring.liburing import *

QD = 64
BS = 32 * 1024


class io_data:
    def __init__(self, size, offset):
        self.index = 0
        self.offset = offset
        self.iov = bytearray(size)          # data->iov.iov_base = data + 1, iov_len = size


infd = outfd = -1
inflight = 0


def setup_context(entries, ring):
    io_uring_queue_init(entries, ring, 0)
    return 0


def get_file_size(fd):
    st = os.fstat(fd)
    return st.st_size                       # C also asks a block device its size (BLKGETSIZE64)


def queue_rw_pair(ring, size, offset):
    data = io_data(size, offset)

    sqe = io_uring_get_sqe(ring)
    io_uring_prep_readv(sqe, infd, [data.iov], 1, offset)
    sqe.flags |= IOSQE_IO_LINK
    io_uring_sqe_set_data(sqe, data)

    sqe = io_uring_get_sqe(ring)
    io_uring_prep_writev(sqe, outfd, [data.iov], 1, offset)
    io_uring_sqe_set_data(sqe, data)


def handle_cqe(ring, cqe):
    global inflight
    data = io_uring_cqe_get_data(cqe)
    ret = 0

    data.index += 1

    if cqe.res < 0:
        if cqe.res == -errno.ECANCELED:
            queue_rw_pair(ring, len(data.iov), data.offset)
            inflight += 2
        else:
            print(f"cqe error: {os.strerror(-cqe.res)}")
            ret = 1

    io_uring_cqe_seen(ring, cqe)
    return ret


def copy_file(ring, insize):
    global inflight
    offset = 0
    while insize:
        has_inflight = inflight

        while insize and inflight < QD:
            this_size = min(BS, insize)
            queue_rw_pair(ring, this_size, offset)
            offset += this_size
            insize -= this_size
            inflight += 2

        if has_inflight != inflight:
            io_uring_submit(ring)

        depth = QD if insize else 1
        while inflight >= depth:
            cqe = io_uring_wait_cqe(ring)
            if handle_cqe(ring, cqe):
                return 1
            inflight -= 1
    return 0


def main(argv):
    global infd, outfd
    infd = os.open(argv[1], os.O_RDONLY)
    outfd = os.open(argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)

    ring = io_uring()
    setup_context(QD, ring)
    insize = get_file_size(infd)

    try:
        ret = copy_file(ring, insize)
    finally:
        os.close(infd)
        os.close(outfd)
        io_uring_queue_exit(ring)
    return ret


def test_main():
    data = os.urandom(3 * 1024 * 1024 + 12345)     # many pairs, more than QD in flight, a tail
    with open("link-cp.in", "wb") as f:
        f.write(data)
    assert main(["link-cp", "link-cp.in", "link-cp.out"]) == 0
    with open("link-cp.out", "rb") as f:
        assert f.read() == data
