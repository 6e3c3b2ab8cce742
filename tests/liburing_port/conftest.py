"""Helpers shared by the transcriptions of liburing's test programs: liburing's test/helpers.c
and test/test.h, written against ioring.liburing.

The ports import these as ``from .conftest import ...`` (this directory is a package, so its
conftest does not shadow tests/conftest.py). Each helper keeps the C helper's name and shape,
with out-parameters returned, so that a transcription reads like its C original.
"""
import errno
import fcntl
import mmap
import os
import socket
import threading
import time

import pytest

from ioring.liburing import (IORING_SETUP_CQE32, IORING_SETUP_DEFER_TASKRUN, IORING_SETUP_SINGLE_ISSUER,
                             IORING_SETUP_SQ_REWIND, IORING_SETUP_SQE128, IORING_SETUP_SQPOLL, io_uring,
                             io_uring_get_probe, io_uring_opcode_supported, io_uring_params,
                             io_uring_queue_exit, io_uring_queue_init, io_uring_queue_init_params,
                             io_uring_register_buffers, io_uring_submit, io_uring_sync_cancel_reg,
                             io_uring_wait_cqe, kernel_timespec)

# enum t_setup_ret / enum t_test_result
T_SETUP_OK = 0
T_SETUP_SKIP = 1
T_EXIT_PASS = 0
T_EXIT_FAIL = 1
T_EXIT_SKIP = 77

# test/test.h: io_uring_test_configs, FOR_ALL_TEST_CONFIGS
io_uring_test_configs = [
    (0, "default"),
    (IORING_SETUP_SQE128, "large SQE"),
    (IORING_SETUP_CQE32, "large CQE"),
    (IORING_SETUP_SQE128 | IORING_SETUP_CQE32, "large SQE/CQE"),
    (IORING_SETUP_SQ_REWIND, "rewind SQ"),
    (IORING_SETUP_SQ_REWIND | IORING_SETUP_SQE128, "large rewind SQ"),
]

PAGE_SIZE = mmap.PAGESIZE


def pytest_pycollect_makeitem(collector, name, obj):
    """Only main() and its parts (functions named test_main*) are pytest tests here: the C
    sub-tests keep their C names (test_single_nop, ...) and are called by main, with the C
    arguments."""
    if name.startswith("test") and not name.startswith("test_main") and callable(obj):
        return []
    return None


@pytest.fixture(autouse=True)
def _run_in_tmp_path(tmp_path, monkeypatch):
    """liburing's tests create their files in the current directory: give each its own."""
    monkeypatch.chdir(tmp_path)


def exit_status(ret):
    """main()'s return value, as the test runner reads it: 0 passes, 77 skips, else fails."""
    if ret == T_EXIT_SKIP:
        pytest.skip("the C program's own skip (T_EXIT_SKIP)")
    assert ret == T_EXIT_PASS, f"the program failed with {ret}"


def t_create_ring_params(depth, ring, p):
    """T_SETUP_OK, T_SETUP_SKIP (-EINVAL, or SQPOLL refused to a regular user) or -errno."""
    try:
        io_uring_queue_init_params(depth, ring, p)
        return T_SETUP_OK
    except OSError as exc:
        ret = -exc.errno
    if (p.flags & IORING_SETUP_SQPOLL) and ret == -errno.EPERM and os.geteuid():
        return T_SETUP_SKIP
    if ret == -errno.EINVAL:
        return T_SETUP_SKIP
    return ret


def t_create_ring(depth, ring, flags):
    p = io_uring_params()
    p.flags = flags
    return t_create_ring_params(depth, ring, p)


def t_register_buffers(ring, iovecs, nr_iovecs=None):
    try:
        io_uring_register_buffers(ring, iovecs, nr_iovecs)
        return T_SETUP_OK
    except OSError as exc:
        if exc.errno in (errno.EPERM, errno.ENOMEM) and os.geteuid():
            return T_SETUP_SKIP
        return -exc.errno


def t_probe_defer_taskrun():
    ring = io_uring()
    try:
        io_uring_queue_init(1, ring, IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN)
    except OSError:
        return False
    io_uring_queue_exit(ring)
    return True


def t_opcode_supported(op):
    """Whether the kernel's probe lists ``op`` (the C tests find out from -EINVAL instead)."""
    return io_uring_opcode_supported(io_uring_get_probe(), op)


def t_aligned_alloc(alignment, size):
    """posix_memalign: anonymous memory is page-aligned, which covers every alignment the
    tests ask for (up to a page)."""
    assert alignment <= PAGE_SIZE
    return mmap.mmap(-1, max(size, 1))


def t_malloc(size):
    return bytearray(size)


def t_create_buffers(buf_num, buf_size):
    """A list of ``buf_num`` aligned, writable buffers of ``buf_size`` bytes (the iovecs)."""
    return [memoryview(mmap.mmap(-1, buf_size)) for _ in range(buf_num)]


def t_create_file_pattern(file, size, pattern):
    fd = os.open(file, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        assert os.write(fd, bytes([pattern]) * size) == size
        os.fsync(fd)
    finally:
        os.close(fd)


def t_create_file(file, size):
    t_create_file_pattern(file, size, 0xaa)


def t_bind_ephemeral_port(fd, addr):
    """Bind to addr's host with port 0: (0, (host, port)) or (-errno, None)."""
    sock = socket.socket(fileno=fd)
    try:
        sock.bind((addr[0], 0))
        bound = sock.getsockname()
    except OSError as exc:
        return -exc.errno, None
    finally:
        sock.detach()
    assert bound[1] != 0
    return 0, bound


def t_create_socket_pair(stream):
    """(0, [fd0, fd1]): a connected pair of AF_INET sockets over 127.0.0.1 (fd[0] the
    accepted side), raw fds owned by the caller, as C's t_create_socket_pair."""
    kind = socket.SOCK_STREAM if stream else socket.SOCK_DGRAM
    s0 = socket.socket(socket.AF_INET, kind | socket.SOCK_CLOEXEC)
    s1 = socket.socket(socket.AF_INET, kind | socket.SOCK_CLOEXEC)
    s0.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s0.bind(("127.0.0.1", 0))
    if stream:
        s0.listen(16)
    s1.connect(s0.getsockname())
    if not stream:
        s0.connect(s1.getsockname())
        return 0, [s0.detach(), s1.detach()]
    conn, _ = s0.accept()
    s0.close()
    return 0, [conn.detach(), s1.detach()]


def t_create_socketpair_ip(ipv6, client_connect, msg_zc, tcp, name):
    """(0, addr, sock_client, sock_server): addr the server's (host, port) as Python sockets
    spell it; raw fds owned by the caller."""
    family = socket.AF_INET6 if ipv6 else socket.AF_INET
    if tcp:
        server = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    else:
        server = socket.socket(family, socket.SOCK_DGRAM, 0)
    server.bind(("::" if ipv6 else "0.0.0.0", 0))
    port = server.getsockname()[1]
    if tcp:
        server.listen(128)
    addr = (name, port)
    if tcp:
        client = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        assert client_connect
    else:
        client = socket.socket(family, socket.SOCK_DGRAM, 0)
    if client_connect:
        client.connect(addr)
    if msg_zc:
        client.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_ZEROCOPY", 60), 1)
    if tcp:
        conn, _ = server.accept()
        server.close()
        server = conn
    return 0, addr, client.detach(), server.detach()


def t_set_nonblock(fd):
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)


def t_clear_nonblock(fd):
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)


def t_submit_and_wait_single(ring):
    """Submit, then wait for one completion: (0, cqe) or (-1, None)."""
    ret = io_uring_submit(ring)
    if ret <= 0:
        return -1, None
    return 0, io_uring_wait_cqe(ring)


def gettimeofday():
    return time.monotonic()


def mtime_since_now(tv):
    return int((time.monotonic() - tv) * 1000)


def utime_since_now(tv):
    return int((time.monotonic() - tv) * 1_000_000)


def t_compare_data_iovec(iov_src, iov_dst):
    """0 when the bytes of the two iovec lists agree over the shorter total, else -EINVAL."""
    src = b"".join(bytes(v) for v in iov_src)
    dst = b"".join(bytes(v) for v in iov_dst)
    n = min(len(src), len(dst))
    return 0 if src[:n] == dst[:n] else -errno.EINVAL


# Where a C test hands the kernel a raw address or NULL to provoke EFAULT, the transcription
# writes the same call; ioring refuses it before the kernel sees it (README, Safety), so the case
# is a strict xfail: it must keep failing with that refusal.
raw_address = pytest.mark.xfail(
    strict=True, raises=(TypeError, ValueError),
    reason="needs a raw address or NULL to provoke EFAULT: ioring refuses raw addresses on "
           "purpose (memory safety, README 'Where a transcription differs')")


class recv_data:
    """struct recv_data of the send/recv tests: the receiver thread's parameters, its result,
    and the mutex the sender waits on until the receive is armed."""

    def __init__(self, **params):
        self.mutex = threading.Lock()
        self.__dict__.update(params)
        self.ret = None


def t_run_receiver_and_send(rd, recv_fn, send_fn):
    """C's pthread dance: lock rd.mutex, start recv_fn(rd) (which unlocks it once its receive
    is armed, and stores its result in rd.ret), lock again, send_fn(), join; returns rd.ret.
    An exception in the receiver unlocks the mutex and is re-raised here."""
    errors = []

    def run():
        try:
            recv_fn(rd)
        except BaseException as exc:
            errors.append(exc)
            if rd.mutex.locked():
                rd.mutex.release()

    rd.mutex.acquire()
    # A daemon: if the sender fails, the receiver may wait forever for what never comes.
    recv_thread = threading.Thread(target=run, daemon=True)
    recv_thread.start()
    assert rd.mutex.acquire(timeout=30), "the receiver never got ready"
    if not errors:
        try:
            send_fn()
        except BaseException:
            recv_thread.join(1)
            raise
    recv_thread.join(30)
    assert not recv_thread.is_alive(), "the receiver never completed"
    if errors:
        raise errors[0]
    return rd.ret


def zeroed_sync_cancel_reg():
    """C's `struct io_uring_sync_cancel_reg reg = { };` (every field zero, the timeout too:
    ioring's constructor defaults to fd -1 and an endless timeout instead)."""
    return io_uring_sync_cancel_reg(fd=0, timeout=kernel_timespec(0, 0))

