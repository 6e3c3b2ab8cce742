"""liburing test/send_recv.c: send and recv of a UDP datagram through io_uring, the receiver
on its own ring in a thread (SQPOLL, registered files, IOSQE_ASYNC, an empty provided-buffer
group: -ENOBUFS), the sender with plain and vectorized sends (IORING_SEND_VECTORIZED, 2 and
32 iovecs); sendmsg/recvmsg with a NULL msghdr fail with -EFAULT."""
import array
import errno
import os
import socket

from ioring.liburing import *

from .conftest import (T_EXIT_PASS, T_EXIT_SKIP, T_SETUP_SKIP, exit_status, raw_address, recv_data,
                       t_create_ring, t_create_ring_params, t_create_socket_pair, t_run_receiver_and_send)

MAX_MSG = 4096

str_ = array.array("Q", [0] * (MAX_MSG // 8))     # static uint64_t str[MAX_MSG / 8]

# C binds the fixed port 10202; the port's receiver binds an ephemeral port and the sender
# uses it, so that parallel runs never meet.
PORT = 0
HOST = "127.0.0.1"

no_send_vec = 0


def recv_prep(ring, iov, registerfiles, is_async, provide):
    """(0, sockfd) with the recv submitted, or (1, None)."""
    global PORT
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, 0)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("0.0.0.0", PORT))
    PORT = sock.getsockname()[1]
    sockfd = sock.detach()

    if registerfiles:
        io_uring_register_files(ring, [sockfd], 1)
        use_fd = 0
    else:
        use_fd = sockfd

    sqe = io_uring_get_sqe(ring)
    io_uring_prep_recv(sqe, use_fd, iov, len(iov), 0)
    if registerfiles:
        sqe.flags |= IOSQE_FIXED_FILE
    if is_async:
        sqe.flags |= IOSQE_ASYNC
    if provide:
        sqe.flags |= IOSQE_BUFFER_SELECT
    sqe.user_data = 2

    ret = io_uring_submit(ring)
    assert ret > 0, f"submit failed: {ret}"
    return 0, sockfd


def do_recv(ring, iov, enobufs):
    cqe = io_uring_wait_cqe(ring)
    try:
        if cqe.res == -errno.EINVAL:
            return 0                        # recv not supported, skipping
        if cqe.res == -errno.ENOBUFS and enobufs:
            assert not (cqe.flags & IORING_CQE_F_SOCK_NONEMPTY), "NONEMPTY set on -ENOBUFS"
            return 0
        assert cqe.res >= 0, f"failed cqe: {cqe.res}"

        assert cqe.res == MAX_MSG, f"got wrong length: {cqe.res}/{MAX_MSG}"

        ptr = memoryview(iov).cast("Q")
        for i in range(MAX_MSG // 8):
            assert ptr[i] == str_[i], f"data mismatch at {i}: {ptr[i]}"
        return 0
    finally:
        io_uring_cqe_seen(ring, cqe)


def recv_fn(rd):
    buf = bytearray(MAX_MSG + 1)
    iov = memoryview(buf)[:MAX_MSG]
    p = io_uring_params()
    ring = io_uring()

    if rd.use_sqthread:
        p.flags = IORING_SETUP_SQPOLL
    ret = t_create_ring_params(1, ring, p)
    if ret == T_SETUP_SKIP:
        rd.mutex.release()
        rd.ret = 0
        return
    elif ret < 0:
        rd.mutex.release()
        rd.ret = ret
        return

    try:
        if rd.use_sqthread and not rd.registerfiles:
            if not (p.features & IORING_FEAT_SQPOLL_NONFIXED):
                rd.mutex.release()          # Non-registered SQPOLL not available, skipping
                rd.ret = 0
                return

        ret, sock = recv_prep(ring, iov, rd.registerfiles, rd.is_async, rd.provide)
        rd.mutex.release()
        rd.ret = do_recv(ring, iov, rd.provide)

        os.close(sock)
    finally:
        io_uring_queue_exit(ring)


def do_send(is_async, vec, big_vec):
    global no_send_vec
    ring = io_uring()
    io_uring_queue_init(1, ring, 0)

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, 0)
    try:
        sock.connect((HOST, PORT))
        sockfd = sock.fileno()
        raw = memoryview(str_).cast("B")

        while True:                         # retry:
            sqe = io_uring_get_sqe(ring)
            if vec:
                total = MAX_MSG
                if not big_vec:
                    vecs = [raw[0:MAX_MSG // 2], raw[256 * 8:256 * 8 + MAX_MSG // 2]]
                    nvecs = 2
                else:
                    total //= 32
                    vecs = [raw[i * total:(i + 1) * total] for i in range(32)]
                    nvecs = 32

                io_uring_prep_send(sqe, sockfd, vecs, nvecs, 0)
                sqe.ioprio = (1 << 5)
            else:
                io_uring_prep_send(sqe, sockfd, str_, len(raw), 0)
            if is_async:
                sqe.flags |= IOSQE_ASYNC
            sqe.user_data = 1

            ret = io_uring_submit(ring)
            assert ret > 0, f"submit failed: {ret}"

            cqe = io_uring_wait_cqe(ring)
            if cqe.res == -errno.EINVAL:
                if vec:
                    vec = 0
                    no_send_vec = 1
                    io_uring_cqe_seen(ring, cqe)
                    continue
                return 1                    # send not supported, skipping
            assert cqe.res == len(raw), f"failed cqe: {cqe.res}"
            io_uring_cqe_seen(ring, cqe)
            return 0
    finally:
        sock.close()
        io_uring_queue_exit(ring)


def test(use_sqthread, regfiles, is_async, provide, vec, big_vec):
    if vec and no_send_vec:
        return T_EXIT_SKIP

    rd = recv_data(use_sqthread=use_sqthread, registerfiles=regfiles, is_async=is_async,
                   provide=provide)
    return t_run_receiver_and_send(rd, recv_fn, lambda: do_send(is_async, vec, big_vec))


def test_invalid():
    ring = io_uring()
    ret = t_create_ring(8, ring, IORING_SETUP_SUBMIT_ALL)
    if ret:
        return 0 if ret in (-errno.EINVAL, T_SETUP_SKIP) else ret

    ret, fds = t_create_socket_pair(True)
    assert ret == 0
    try:
        sqe = io_uring_get_sqe(ring)
        io_uring_prep_sendmsg(sqe, fds[0], None, socket.MSG_WAITALL)
        sqe.flags |= IOSQE_ASYNC

        sqe = io_uring_get_sqe(ring)
        io_uring_prep_recvmsg(sqe, fds[1], None, 0)
        sqe.flags |= IOSQE_ASYNC

        ret = io_uring_submit_and_wait(ring, 2)
        if ret != 2:
            return ret

        for i in range(2):
            cqe = io_uring_peek_cqe(ring)
            if cqe is None or cqe.res != -errno.EFAULT:
                return -1
            io_uring_cqe_seen(ring, cqe)
    finally:
        io_uring_queue_exit(ring)
        os.close(fds[0])
        os.close(fds[1])
    return 0


def _fill_str():
    for i in range(MAX_MSG // 8):
        str_[i] = i + 1


@raw_address
def test_main_invalid():
    assert test_invalid() == 0, "test_invalid failed"


def test_main():
    """main() after test_invalid (test_main_invalid above)."""
    _fill_str()
    for args in [(0, 0, 1, 1, 0, 0), (1, 1, 1, 1, 0, 0), (1, 0, 1, 1, 0, 0), (0, 0, 0, 1, 0, 0),
                 (1, 1, 0, 1, 0, 0), (1, 0, 0, 1, 0, 0), (0, 0, 1, 0, 0, 0), (1, 1, 1, 0, 0, 0),
                 (1, 0, 1, 0, 0, 0), (0, 0, 0, 0, 0, 0), (1, 1, 0, 0, 0, 0), (1, 0, 0, 0, 0, 0)]:
        ret = test(*args)
        assert ret == 0, f"test {args} failed"

    ret = test(0, 0, 0, 0, 1, 0)
    assert ret == 0, "test small vec sync failed"
    if no_send_vec:
        return

    assert test(0, 0, 1, 0, 1, 0) == 0, "test small vec async failed"
    assert test(0, 0, 0, 0, 1, 1) == 0, "test big vec sync failed"
    assert test(0, 0, 1, 0, 1, 1) == 0, "test big vec async failed"
    exit_status(T_EXIT_PASS)
