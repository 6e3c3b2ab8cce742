"""liburing test/socket.c: IORING_OP_SOCKET: a UDP socket made through io_uring (plain, into
a direct descriptor slot, into an allocated slot), connected and sent from, received by a
thread's ring (SQPOLL, registered files); an unknown family fails with -EAFNOSUPPORT."""
import errno
import os
import socket

from ioring.liburing import *

from .conftest import (T_SETUP_SKIP, exit_status, recv_data, t_bind_ephemeral_port,
                       t_create_ring_params, t_run_receiver_and_send)

str_ = b"This is a test of send and recv over io_uring!\0"    # static char str[] (with its NUL)

MAX_MSG = 128

HOST = "127.0.0.1"

no_socket = 0
g_port = 0


def recv_prep(ring, iov, registerfiles):
    global g_port
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, 0)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sockfd = sock.detach()

    ret, saddr = t_bind_ephemeral_port(sockfd, ("0.0.0.0", 0))
    assert ret == 0, "bind"
    g_port = saddr[1]

    if registerfiles:
        io_uring_register_files(ring, [sockfd], 1)
        use_fd = 0
    else:
        use_fd = sockfd

    sqe = io_uring_get_sqe(ring)
    io_uring_prep_recv(sqe, use_fd, iov, len(iov), 0)
    if registerfiles:
        sqe.flags |= IOSQE_FIXED_FILE
    sqe.user_data = 2

    ret = io_uring_submit(ring)
    assert ret > 0, f"submit failed: {ret}"
    return 0, sockfd


def do_recv(ring, iov):
    cqe = io_uring_wait_cqe(ring)
    if cqe.res == -errno.EINVAL:
        return 0                            # recv not supported, skipping
    assert cqe.res >= 0, f"failed cqe: {cqe.res}"

    assert cqe.res - 1 == len(str_) - 1, f"got wrong length: {cqe.res}/{len(str_)}"

    assert bytes(iov[:len(str_)]) == str_, "string mismatch"
    return 0


def recv_fn(rd):
    buf = bytearray(MAX_MSG + 1)
    iov = memoryview(buf)[:MAX_MSG]
    p = io_uring_params()
    ring = io_uring()

    if rd.use_sqthread:
        p.flags = IORING_SETUP_SQPOLL
    ret = t_create_ring_params(1, ring, p)
    if ret == T_SETUP_SKIP or ret < 0:
        rd.ret = 0 if ret == T_SETUP_SKIP else ret
        rd.mutex.release()
        return

    try:
        if rd.use_sqthread and not rd.registerfiles:
            if not (p.features & IORING_FEAT_SQPOLL_NONFIXED):
                rd.ret = 0                  # Non-registered SQPOLL not available, skipping
                rd.mutex.release()
                return

        ret, sock = recv_prep(ring, iov, rd.registerfiles)
        rd.mutex.release()
        rd.ret = do_recv(ring, iov)

        os.close(sock)
    finally:
        io_uring_queue_exit(ring)


def fallback_send(ring, saddr):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, 0)
    try:
        sock.connect(saddr)

        sqe = io_uring_get_sqe(ring)
        io_uring_prep_send(sqe, sock.fileno(), str_, len(str_), 0)
        sqe.user_data = 1

        ret = io_uring_submit(ring)
        assert ret > 0, f"submit failed: {ret}"

        cqe = io_uring_wait_cqe(ring)
        if cqe.res == -errno.EINVAL:
            return 0                        # send not supported, skipping
        assert cqe.res == len(str_), f"failed cqe: {cqe.res}"
        io_uring_cqe_seen(ring, cqe)
    finally:
        sock.close()
    return 0


def do_send(socket_direct, alloc):
    global no_socket
    fd = -1

    ring = io_uring()
    io_uring_queue_init(1, ring, 0)
    try:
        if socket_direct:
            io_uring_register_files(ring, [fd], 1)

        assert g_port != 0
        saddr = (HOST, g_port)

        sqe = io_uring_get_sqe(ring)
        if socket_direct:
            file_index = 0
            if alloc:
                file_index = IORING_FILE_INDEX_ALLOC - 1
            io_uring_prep_socket_direct(sqe, socket.AF_INET, socket.SOCK_DGRAM, 0, file_index, 0)
        else:
            io_uring_prep_socket(sqe, socket.AF_INET, socket.SOCK_DGRAM, 0, 0)
        ret = io_uring_submit(ring)
        assert ret == 1, f"socket submit: {ret}"
        cqe = io_uring_wait_cqe(ring)
        if cqe.res < 0:
            if cqe.res == -errno.EINVAL:
                no_socket = 1
                io_uring_cqe_seen(ring, cqe)
                return fallback_send(ring, saddr)
            raise AssertionError(f"socket res: {cqe.res}")

        sockfd = cqe.res
        if socket_direct and not alloc:
            sockfd = 0
        io_uring_cqe_seen(ring, cqe)

        sqe = io_uring_get_sqe(ring)
        io_uring_prep_connect(sqe, sockfd, sockaddr(socket.AF_INET, saddr))
        if socket_direct:
            sqe.flags |= IOSQE_FIXED_FILE
        ret = io_uring_submit(ring)
        assert ret == 1, f"connect submit: {ret}"
        cqe = io_uring_wait_cqe(ring)
        assert cqe.res >= 0, f"connect res: {cqe.res}"
        io_uring_cqe_seen(ring, cqe)

        sqe = io_uring_get_sqe(ring)
        io_uring_prep_send(sqe, sockfd, str_, len(str_), 0)
        sqe.user_data = 1
        if socket_direct:
            sqe.flags |= IOSQE_FIXED_FILE

        try:
            ret = io_uring_submit(ring)
            assert ret > 0, f"submit failed: {ret}"

            cqe = io_uring_wait_cqe(ring)
            if cqe.res == -errno.EINVAL:
                return 0                    # send not supported, skipping
            assert cqe.res == len(str_), f"failed cqe: {cqe.res}"
            io_uring_cqe_seen(ring, cqe)
        finally:
            # C closes sockfd even when it is a slot index; only a real fd is closed here.
            if not socket_direct:
                os.close(sockfd)
    finally:
        io_uring_queue_exit(ring)
    return 0


def test(use_sqthread, regfiles, socket_direct, alloc):
    rd = recv_data(use_sqthread=use_sqthread, registerfiles=regfiles)
    return t_run_receiver_and_send(rd, recv_fn, lambda: do_send(socket_direct, alloc))


def test_bad_socket():
    ring = io_uring()
    io_uring_queue_init(1, ring, 0)
    try:
        sqe = io_uring_get_sqe(ring)
        io_uring_prep_socket(sqe, -1, socket.SOCK_DGRAM, 0, 0)
        ret = io_uring_submit(ring)
        assert ret == 1, f"socket submit: {ret}"
        cqe = io_uring_wait_cqe(ring)
        assert cqe.res == -errno.EAFNOSUPPORT, f"socket res: {cqe.res}"
        io_uring_cqe_seen(ring, cqe)
    finally:
        io_uring_queue_exit(ring)
    return 0


def main():
    assert test(0, 0, 0, 0) == 0, "test sqthread=0 failed"
    if no_socket:
        return 0

    assert test(1, 1, 0, 0) == 0, "test sqthread=1 reg=1 failed"
    assert test(1, 0, 0, 0) == 0, "test sqthread=1 reg=0 failed"
    assert test(0, 0, 1, 0) == 0, "test sqthread=0 direct=1 failed"
    assert test(0, 0, 1, 1) == 0, "test sqthread=0 direct=alloc failed"
    assert test_bad_socket() == 0, "test bad socket failed"
    return 0


def test_main():
    exit_status(main())
