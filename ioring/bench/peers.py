"""The other Python io_uring packages measured by ``ioring.bench``, when importable: ``liburing``
(PyPI, YoSTEALTH's) and ``pyuring``, each driving the same loop as ioring's thin layer in its own API."""
from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from ioring.bench._runner import BLOCK, Skip, _bad, _Runner

if TYPE_CHECKING:
    from ioring.bench.rw import RWSetup


def _import_pypi_liburing():
    try:
        import liburing
    except ImportError:
        raise Skip("not installed", "pip install liburing") from None
    if not hasattr(liburing, "Cqe"):
        raise Skip("n/a", "only the Zig-era liburing API (Ring/Cqe, 2026+) is benchmarked")
    return liburing


class _LiburingNop(_Runner):
    """YoSTEALTH's liburing (PyPI): the same per-op loop in its API."""

    def __init__(self, batch: int):
        U = self.U = _import_pypi_liburing()
        self.ring, cqe = U.Ring(), U.Cqe()
        U.io_uring_queue_init(batch, self.ring)
        ring = self.ring
        get_sqe, prep_nop = U.io_uring_get_sqe, U.io_uring_prep_nop
        submit_and_wait, wait_cqe, cqe_seen = U.io_uring_submit_and_wait, U.io_uring_wait_cqe, U.io_uring_cqe_seen
        rng = range(batch)
        seq = 1

        def step():
            nonlocal seq
            for i in rng:
                sqe = get_sqe(ring)
                prep_nop(sqe)
                sqe.user_data = seq + i
            submit_and_wait(ring, batch)
            for _ in rng:
                wait_cqe(ring, cqe)
                c = cqe[0]
                if c.user_data != seq or c.res != 0:
                    raise _bad("bad NOP completion", c.user_data, c.res, "expected", seq)
                seq += 1
                cqe_seen(ring, c)
            return batch
        self.step = step

    def close(self):
        self.U.io_uring_queue_exit(self.ring)


def _import_pyuring():
    try:
        import pyuring
    except ImportError:
        raise Skip("not installed", "pip install pyuring (builds against liburing >= 2.5 "
                                    "headers; fails with Debian 12's 2.3)") from None
    return pyuring


class _PyuringNop(_Runner):
    """pyuring: ``UringCtx.nop()`` is a synchronous submit-and-wait of one NOP (ctypes)."""

    def __init__(self, batch: int):
        pyuring = _import_pyuring()
        if batch != 1:
            raise Skip("n/a", "pyuring has no batched NOP (UringCtx.nop() is one round trip)")
        self.ctx = pyuring.UringCtx(entries=8)
        nop = self.ctx.nop

        def step():
            nop()
            return 1
        self.step = step

    def close(self):
        self.ctx.close()


class _LiburingRW(_Runner):
    """YoSTEALTH's liburing (PyPI), the thin layer's loop in its API (bytearray buffers;
    registered buffers through Iovec, registered files through FileIndex)."""

    def __init__(self, s: RWSetup):
        U = self.U = _import_pypi_liburing()
        if s.direct:
            raise Skip("n/a", "its prep_read/prep_write take only bytes/bytearray, never "
                              "aligned memory, which O_DIRECT needs")
        self.ring, cqe = ring, cqe = U.Ring(), U.Cqe()
        self.qd = s.qd
        U.io_uring_queue_init(s.qd, ring)
        try:
            bufs = [bytearray(BLOCK) for _ in range(s.qd)]
            fd, flags = s.fd, 0
            if s.fixed:
                self.iov = U.Iovec(bufs)
                U.io_uring_register_buffers(ring, self.iov)
                self.files = U.FileIndex([s.fd])
                U.io_uring_register_files(ring, self.files)
                fd, flags = 0, U.IOSQE_FIXED_FILE
            get_sqe, submit_and_wait = U.io_uring_get_sqe, U.io_uring_submit_and_wait
            wait_cqe, cqe_seen, cq_ready = U.io_uring_wait_cqe, U.io_uring_cqe_seen, U.io_uring_cq_ready
            next_off = itertools.cycle(s.offsets).__next__
            if s.fixed:
                prep = U.io_uring_prep_write_fixed if s.write else U.io_uring_prep_read_fixed

                def queue(slot):
                    sqe = get_sqe(ring)
                    prep(sqe, fd, bufs[slot], slot, next_off())
                    sqe.flags = flags
                    sqe.user_data = slot + 1
            else:
                prep = U.io_uring_prep_write if s.write else U.io_uring_prep_read

                def queue(slot):
                    sqe = get_sqe(ring)
                    prep(sqe, fd, bufs[slot], next_off())
                    sqe.user_data = slot + 1

            for slot in range(s.qd):
                queue(slot)

            def step():
                submit_and_wait(ring, 1)
                n = 0
                while cq_ready(ring):
                    wait_cqe(ring, cqe)
                    c = cqe[0]
                    slot = c.user_data - 1
                    if c.res != BLOCK:
                        raise _bad("bad completion", slot, c.res)
                    cqe_seen(ring, c)
                    queue(slot)
                    n += 1
                return n
            self.step = step
        except BaseException:
            U.io_uring_queue_exit(ring)
            raise

    def close(self):
        U, ring, cqe = self.U, self.ring, self.U.Cqe()
        # Every slot has a request in flight: reap them before the bytearrays can go away.
        U.io_uring_submit(ring)
        for _ in range(self.qd):
            U.io_uring_wait_cqe(ring, cqe)
            U.io_uring_cqe_seen(ring, cqe[0])
        U.io_uring_queue_exit(ring)


class _PyuringRW(_Runner):
    """pyuring's asynchronous API (ctypes): read_async/write_async per request, submit,
    wait_completion per completion."""

    def __init__(self, s: RWSetup):
        pyuring = _import_pyuring()
        if s.fixed or s.direct:
            raise Skip("n/a", "only plain page-cache requests are benchmarked with pyuring")
        self.ctx = ctx = pyuring.UringCtx(entries=max(8, s.qd))
        self.qd = s.qd
        bufs = [bytearray(BLOCK) for _ in range(s.qd)]
        next_off, fd = itertools.cycle(s.offsets).__next__, s.fd
        op = ctx.write_async if s.write else ctx.read_async
        for slot in range(s.qd):
            op(fd, bufs[slot], next_off(), slot + 1)
        ctx.submit()
        wait, submit = ctx.wait_completion, ctx.submit

        def step():
            ud, res = wait()
            if res != BLOCK:
                raise _bad("bad completion", ud, res)
            op(fd, bufs[ud - 1], next_off(), ud)
            submit()
            return 1
        self.step = step

    def close(self):
        for _ in range(self.qd):
            self.ctx.wait_completion()
        self.ctx.close()
