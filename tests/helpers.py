"""Helpers shared by the test files (``from helpers import ...``): ring construction, SQE and
completion helpers of the thin layer, buffer probes. The fixtures are in conftest.py."""
import argparse
import asyncio
import ctypes
import errno
import os
import socket
import struct
import time

import pytest

from ioring import _cli_files
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
    mv = memoryview(buf).cast("B")
    c = (ctypes.c_char * len(mv)).from_buffer(mv)
    try:
        return ctypes.addressof(c)
    finally:
        del c
        mv.release()


def resizable(buf):
    """Whether a bytearray can be resized now (it cannot while a buffer export pins it)."""
    try:
        buf.append(0)
    except BufferError:
        return False
    buf.pop()
    return True


# ---- fds and processes ------------------------------------------------------------------------

def open_fds():
    return sorted(os.listdir("/proc/self/fd"))


def occupied_slots(ring):
    """The direct descriptors installed in ``ring``'s file table, as the kernel lists them in
    the ring's fdinfo ("UserFiles:" then one "  slot: path" line each)."""
    with open(f"/proc/self/fdinfo/{ring.fd}") as f:
        lines = f.read().splitlines()
    out, inside = [], False
    for line in lines:
        if line.startswith("UserFiles:"):
            inside = True
        elif inside and line.startswith((" ", "\t")):
            out.append(line.strip())
        elif inside:
            break
    return out


def fifo_has_reader(path):
    """A FIFO opened for writing without blocking fails with ENXIO when nobody reads it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as exc:
        assert exc.errno == errno.ENXIO
        return False
    os.close(fd)
    return True


IS_ROOT = os.geteuid() == 0
NOBODY = 65534


def run_unprivileged(fn):
    """Run ``fn()`` in a forked child that, when we are root, first drops to uid/gid 65534
    (nobody) so that permission checks apply to it as they do to any user. Returns
    ``("ok", value)`` or ``("raised", type name, errno, filename, strerror, [(filename,
    errno) of .errors])``."""
    import codecs
    import pickle
    # The child cannot import what is not imported yet when the interpreter's files are
    # unreadable for uid 65534 (a pyenv under /root): load the lazily imported codecs first.
    codecs.lookup("cp437")                          # zipfile's member names
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:                                    # pragma: no cover - the child
        code = 1
        try:
            os.close(r)
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
            try:
                out = ("ok", fn())
            except BaseException as exc:
                out = ("raised", type(exc).__name__, getattr(exc, "errno", None),
                       getattr(exc, "filename", None), getattr(exc, "strerror", None),
                       [(e.filename, e.errno) for e in getattr(exc, "errors", [])])
            os.write(w, pickle.dumps(out))
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    chunks = []
    while True:
        b = os.read(r, 1 << 16)
        if not b:
            break
        chunks.append(b)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the unprivileged child failed"
    return pickle.loads(b"".join(chunks))


def run_cli(argv):
    parser = argparse.ArgumentParser(prog="python -m ioring")
    _cli_files.add_subcommands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


async def until(pred, timeout=5.0):
    """Await until ``pred()`` is true (an AssertionError after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "condition never became true"
        await asyncio.sleep(0.002)


def reset_socket(sock):
    """Close ``sock`` so that the peer gets a RST (SO_LINGER 0), not a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()

