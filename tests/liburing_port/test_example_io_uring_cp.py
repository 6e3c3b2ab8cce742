"""liburing examples/io_uring-cp.c: copy a file with up to QD reads and writes in flight,
each io_data object the user data of its read and then of its write (io_uring_sqe_set_data /
io_uring_cqe_get_data), short reads and writes requeued for their rest."""
import errno
import os

from ioring.liburing import *

QD = 64
BS = 32 * 1024

infd = outfd = -1


class io_data:
    def __init__(self, size, offset):
        self.read = 1
        self.offset = self.first_offset = offset
        self.buf = bytearray(size)          # the memory after the struct (data + 1)
        self.iov = memoryview(self.buf)
        self.first_len = size


def setup_context(entries, ring):
    io_uring_queue_init(entries, ring, 0)
    return 0


def get_file_size(fd):
    return os.fstat(fd).st_size             # C also asks a block device (BLKGETSIZE64)


def queue_prepped(ring, data):
    sqe = io_uring_get_sqe(ring)
    assert sqe is not None

    if data.read:
        io_uring_prep_readv(sqe, infd, [data.iov], 1, data.offset)
    else:
        io_uring_prep_writev(sqe, outfd, [data.iov], 1, data.offset)

    io_uring_sqe_set_data(sqe, data)


def queue_read(ring, size, offset):
    data = io_data(size, offset)

    sqe = io_uring_get_sqe(ring)
    if sqe is None:
        return 1

    io_uring_prep_readv(sqe, infd, [data.iov], 1, offset)
    io_uring_sqe_set_data(sqe, data)
    return 0


def queue_write(ring, data):
    data.read = 0
    data.offset = data.first_offset

    data.iov = memoryview(data.buf)[:data.first_len]

    queue_prepped(ring, data)
    io_uring_submit(ring)


def copy_file(ring, insize):
    write_left = insize
    writes = reads = offset = 0

    while insize or write_left:
        # Queue up as many reads as we can
        had_reads = reads
        while insize:
            this_size = insize

            if reads + writes >= QD:
                break
            if this_size > BS:
                this_size = BS
            elif not this_size:
                break

            if queue_read(ring, this_size, offset):
                break

            insize -= this_size
            offset += this_size
            reads += 1

        if had_reads != reads:
            io_uring_submit(ring)

        # Queue is full at this point. Find at least one completion.
        got_comp = 0
        while write_left:
            if not got_comp:
                cqe = io_uring_wait_cqe(ring)
                got_comp = 1
            else:
                cqe = io_uring_peek_cqe(ring)   # -EAGAIN is None
            if cqe is None:
                break

            data = io_uring_cqe_get_data(cqe)
            if cqe.res < 0:
                if cqe.res == -errno.EAGAIN:
                    queue_prepped(ring, data)
                    io_uring_submit(ring)
                    io_uring_cqe_seen(ring, cqe)
                    continue
                print(f"cqe failed: {os.strerror(-cqe.res)}")
                return 1
            elif cqe.res != len(data.iov):
                # Short read/write, adjust and requeue
                data.iov = data.iov[cqe.res:]
                data.offset += cqe.res
                queue_prepped(ring, data)
                io_uring_submit(ring)
                io_uring_cqe_seen(ring, cqe)
                continue

            # All done. if write, nothing else to do. if read, queue up corresponding write.
            if data.read:
                queue_write(ring, data)
                write_left -= data.first_len
                reads -= 1
                writes += 1
            else:
                writes -= 1
            io_uring_cqe_seen(ring, cqe)

    # wait out pending writes
    while writes:
        cqe = io_uring_wait_cqe(ring)
        assert cqe.res >= 0, f"write res={cqe.res}"
        data = io_uring_cqe_get_data(cqe)
        writes -= 1
        io_uring_cqe_seen(ring, cqe)
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
    data = os.urandom(5 * 1024 * 1024 + 777)   # more than QD blocks in flight, and a tail
    with open("io_uring-cp.in", "wb") as f:
        f.write(data)
    assert main(["io_uring-cp", "io_uring-cp.in", "io_uring-cp.out"]) == 0
    with open("io_uring-cp.out", "rb") as f:
        assert f.read() == data
