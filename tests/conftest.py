"""Shared fixtures: rings in the configurations the ring-mechanics tests run under."""
import errno
import os

import pytest

from ioring import liburing as L

# name -> IORING_SETUP_* flags. Every configuration must work on the CI kernel (6.x);
# a configuration the kernel refuses is skipped with the kernel's errno as the reason.
RING_CONFIGS = {
    "plain": 0,
    "sqpoll": L.IORING_SETUP_SQPOLL,
    "single_issuer_defer_taskrun": L.IORING_SETUP_SINGLE_ISSUER | L.IORING_SETUP_DEFER_TASKRUN,
    "cqe32": L.IORING_SETUP_CQE32,
}


def make_ring(entries=64, flags=0):
    ring = L.io_uring()
    try:
        L.io_uring_queue_init(entries, ring, flags)
    except OSError as exc:
        if exc.errno in (errno.EPERM, errno.EINVAL, errno.EOPNOTSUPP):
            pytest.skip(f"kernel refused IORING_SETUP flags {flags:#x}: {exc}")
        raise
    return ring


@pytest.fixture
def ring():
    r = make_ring(64)
    yield r
    if r.ring_fd is not None:
        L.io_uring_queue_exit(r)


@pytest.fixture(params=list(RING_CONFIGS), ids=list(RING_CONFIGS))
def any_ring(request):
    r = make_ring(16, RING_CONFIGS[request.param])
    yield r
    if r.ring_fd is not None:
        L.io_uring_queue_exit(r)


def reap(ring, count, timeout=5.0):
    """Wait for ``count`` completions; returns them in CQ order as (user_data, res, flags)."""
    out = []
    ts = L.kernel_timespec(int(timeout), int((timeout % 1) * 1e9))
    while len(out) < count:
        cqe = L.io_uring_wait_cqe_timeout(ring, ts)
        assert cqe is not None, f"timed out after {len(out)} of {count} completions"
        out.append((cqe.user_data, cqe.res, cqe.flags))
        L.io_uring_cqe_seen(ring, cqe)
    return out


def get_sqe(ring, timeout=5.0):
    """An SQE, submitting what is queued when the SQ is full (under SQPOLL the kernel thread
    frees SQ space asynchronously, so this may have to wait a little)."""
    import time
    deadline = time.monotonic() + timeout
    while True:
        sqe = L.io_uring_get_sqe(ring)
        if sqe is not None:
            return sqe
        assert time.monotonic() < deadline, "the SQ never drained"
        L.io_uring_submit(ring)
        time.sleep(0.0005)


def wait_one(ring, timeout=5.0):
    """The next completion (consumed) as (user_data, res, flags), failing instead of hanging."""
    cqe = L.io_uring_wait_cqe_timeout(ring, L.kernel_timespec(int(timeout), int((timeout % 1) * 1e9)))
    assert cqe is not None, f"no completion within {timeout}s"
    out = (cqe.user_data, cqe.res, cqe.flags)
    L.io_uring_cqe_seen(ring, cqe)
    return out


def assert_no_completion(ring, wait=0.1):
    cqe = L.io_uring_wait_cqe_timeout(ring, L.kernel_timespec(0, int(wait * 1e9)))
    assert cqe is None, f"unexpected completion {cqe!r}"


def sqe_for(ring, user_data, flags=None):
    """An SQE with its user_data (and IOSQE flags) set."""
    sqe = L.io_uring_get_sqe(ring)
    assert sqe is not None
    L.io_uring_sqe_set_data64(sqe, user_data)
    if flags is not None:
        L.io_uring_sqe_set_flags(sqe, flags)
    return sqe


def reap_dict(ring, count, timeout=5.0):
    """Wait for ``count`` completions with distinct user_data: {user_data: res}."""
    out = {}
    for _ in range(count):
        ud, res, _flags = wait_one(ring, timeout)
        assert ud not in out, f"two completions for user_data {ud}"
        out[ud] = res
    return out


def submit_and_reap(ring, count=1, timeout=5.0):
    """Submit what is queued, then reap ``count`` completions: {user_data: res}."""
    assert L.io_uring_submit(ring) >= 1
    return reap_dict(ring, count, timeout)


def address_of(buf):
    """The address of a writable buffer's first byte (the export is released on return)."""
    import ctypes
    mv = memoryview(buf).cast("B")
    c = (ctypes.c_char * len(mv)).from_buffer(mv)
    try:
        return ctypes.addressof(c)
    finally:
        del c
        mv.release()


@pytest.fixture
def ring32():
    """A 32-entry ring, the size the per-operation test files were written against."""
    r = make_ring(32)
    yield r
    if r.ring_fd is not None:
        L.io_uring_queue_exit(r)


@pytest.fixture
def pipe():
    r, w = os.pipe()
    yield r, w
    for fd in (r, w):
        try:
            os.close(fd)
        except OSError:
            pass


def resizable(buf):
    """Whether a bytearray can be resized now (it cannot while a buffer export pins it)."""
    try:
        buf.append(0)
    except BufferError:
        return False
    buf.pop()
    return True
