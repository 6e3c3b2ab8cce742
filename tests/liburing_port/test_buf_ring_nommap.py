"""liburing test/buf-ring-nommap.c: a kernel-allocated buffer ring (IOU_PBUF_RING_MMAP) on a
ring set up without mmap'ing its SQ/CQ arrays (IORING_SETUP_NO_MMAP, io_uring_queue_init_mem):
a read with IOSQE_BUFFER_SELECT picks the one buffer, bid 89."""
import errno
import mmap
import os

from ioring.liburing import *

from .conftest import T_EXIT_PASS, T_EXIT_SKIP, exit_status

bgid = 5
bid = 89


def main():
    p = io_uring_params()
    buf = bytearray(32)

    ring_mem = mmap.mmap(-1, 16384)         # posix_memalign(&ring_mem, 16384, 16384), zeroed

    p.flags = IORING_SETUP_NO_MMAP
    ring = io_uring()
    try:
        io_uring_queue_init_mem(1, ring, p, ring_mem)
    except OSError as exc:
        if exc.errno in (errno.EINVAL, errno.ENOMEM):
            return T_EXIT_SKIP
        raise

    fds = os.pipe()
    try:
        ring_mask = io_uring_buf_ring_mask(1)

        reg = io_uring_buf_reg(None, 1, bgid, IOU_PBUF_RING_MMAP)
        try:
            io_uring_register_buf_ring(ring, reg, 0)
        except OSError as exc:
            if exc.errno == errno.EINVAL:
                return T_EXIT_SKIP
            raise

        # C mmaps IORING_OFF_PBUF_RING | bgid << IORING_OFF_PBUF_SHIFT of the ring fd itself;
        # ioring maps the kernel's ring at registration and hands it out as reg.br.
        br = reg.br

        io_uring_buf_ring_add(br, buf, len(buf), bid, ring_mask, 0)
        io_uring_buf_ring_advance(br, 1)

        sqe = io_uring_get_sqe(ring)
        io_uring_prep_read(sqe, fds[0], None, 0, 0)
        sqe.flags |= IOSQE_BUFFER_SELECT
        sqe.buf_group = bgid

        io_uring_submit(ring)

        ret = os.write(fds[1], b"Hello")
        assert ret == 5, f"short write {ret}"

        cqe = io_uring_wait_cqe(ring)
        assert cqe.res >= 0, f"cqe res {cqe.res}"
        assert cqe.flags & IORING_CQE_F_BUFFER, "buffer not selected in cqe"
        assert (cqe.flags >> IORING_CQE_BUFFER_SHIFT) == bid, "wrong buffer id returned"

        io_uring_cqe_seen(ring, cqe)
    finally:
        io_uring_queue_exit(ring)
        os.close(fds[0])
        os.close(fds[1])
    return T_EXIT_PASS


def test_main():
    exit_status(main())
