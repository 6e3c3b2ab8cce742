"""liburing test/sendzc-bug.c: a zero-copy sendmsg from a registered buffer
(IORING_RECVSEND_FIXED_BUF set in sqe->ioprio, sqe->buf_index after the prep); the buffers are
then unregistered and the memory unmapped before the notification is reaped, and the peer
reads the data. The kernel must tie the buffer's lifetime to the notification.

The C program unmaps (munmap) the memory the kernel may still read; ioring keeps a buffer
handed to a request exported until the request's completions are consumed, so the unmap
(mmap.close) raises BufferError there: a strict xfail, listed in the repository README."""
import errno
import mmap
import os
import socket

import pytest

from ioring.liburing import *

from .conftest import T_EXIT_PASS, T_EXIT_SKIP, exit_status

BUF_SIZE = 1024 * 1024
read_buffer = bytearray(BUF_SIZE)
SO_ZEROCOPY = getattr(socket, "SO_ZEROCOPY", 60)


def tcp_socketpair():
    """Creates a pair of connected TCP sockets."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 0)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    s0 = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 0)
    s0.connect(listener.getsockname())
    s1, _ = listener.accept()
    listener.close()
    return [s0.detach(), s1.detach()]


def main():
    sockets = tcp_socketpair()
    ring = io_uring()
    try:
        s0 = socket.socket(fileno=sockets[0])
        s0.setsockopt(socket.SOL_SOCKET, SO_ZEROCOPY, 1)
        s0.detach()

        io_uring_queue_init(1, ring, 0)

        # mmap send_buffer so we can unmap it later.
        send_buffer = mmap.mmap(-1, BUF_SIZE, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)

        iov_reg = send_buffer
        io_uring_register_buffers(ring, [iov_reg], 1)

        sqe = io_uring_get_sqe(ring)

        send_iov = send_buffer
        msg = msghdr(msg_iov=[send_iov])

        io_uring_prep_sendmsg_zc(sqe, sockets[0], msg, 0)
        sqe.ioprio = IORING_RECVSEND_FIXED_BUF
        sqe.buf_index = 0

        send_buffer[:] = b"B" * BUF_SIZE    # memset(send_buffer, 'B', BUF_SIZE)

        io_uring_submit(ring)

        cqe = io_uring_wait_cqe(ring)
        if cqe.res < 0:
            if cqe.res == -errno.EINVAL:
                return T_EXIT_SKIP
            raise AssertionError(f"readv failed: {os.strerror(-cqe.res)}")

        io_uring_cqe_seen(ring, cqe)

        io_uring_unregister_buffers(ring)
        del msg, send_iov, iov_reg          # C's iovecs are plain memory: no references left
        send_buffer.close()                 # munmap(send_buffer, BUF_SIZE)

        got = os.readv(sockets[1], [read_buffer])
        assert got > 0
    finally:
        io_uring_queue_exit(ring)
        os.close(sockets[0])
        os.close(sockets[1])
    return T_EXIT_PASS


@pytest.mark.xfail(strict=True, raises=BufferError,
                   reason="unmaps memory a zero-copy send may still read before its notification is "
                          "reaped: ioring keeps it exported (BufferError) until the completions are "
                          "consumed (memory safety)")
def test_main():
    exit_status(main())
