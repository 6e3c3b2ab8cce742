"""The ``read`` and ``write`` workloads: one 4 KiB request at a random block of a file, QD in
flight (page cache, or O_DIRECT)."""
from __future__ import annotations

import array
import collections
import concurrent.futures
import itertools
import os
from dataclasses import dataclass

from ioring.bench._runner import BLOCK, _aligned, _bad, _Runner
from ioring.bench.peers import _LiburingRW, _PyuringRW


@dataclass
class RWSetup:
    """What one read/write point needs: the fd (O_DIRECT or not), the file's blocks, the
    queue depth, registered buffers/files or not, and the shared random offsets."""
    fd: int
    nblocks: int
    qd: int
    write: bool
    fixed: bool
    direct: bool
    verify: bool
    offsets: array.array


class _CRW(_Runner):
    def __init__(self, s: RWSetup):
        from ioring import _bench
        self._bench, self.s = _bench, s

    def measure(self, seconds):
        s = self.s
        if s.write:
            return self._bench.write(s.fd, s.qd, seconds, fixed_buffers=s.fixed,
                                     fixed_files=s.fixed, nblocks=s.nblocks)
        return self._bench.read(s.fd, s.qd, seconds, fixed_buffers=s.fixed, fixed_files=s.fixed,
                                verify=s.verify, nblocks=s.nblocks)


class _ThinRW(_Runner):
    """The thin layer, a transcription of bench_read.c: qd requests primed, then each step is
    submit_and_wait(1) and, for every CQE available (peek_cqe), a check, cqe_seen and a new
    request in the same slot (get_sqe, prep_read/prep_read_fixed, user_data)."""

    def __init__(self, s: RWSetup):
        from ioring import liburing as L
        self.L = L
        self.ring = ring = L.io_uring()
        L.io_uring_queue_init(s.qd, ring, 0)
        try:
            self.mem, bufs = _aligned(s.qd)
            fd, flags = s.fd, 0
            if s.fixed:
                L.io_uring_register_buffers(ring, bufs)
                L.io_uring_register_files(ring, [s.fd])
                fd, flags = 0, L.IOSQE_FIXED_FILE
            if s.write:
                for b in bufs:
                    b[:] = bytes(BLOCK)
            prep = {(False, False): L.io_uring_prep_read, (False, True): L.io_uring_prep_read_fixed,
                    (True, False): L.io_uring_prep_write, (True, True): L.io_uring_prep_write_fixed}[
                        (s.write, s.fixed)]
            get_sqe, submit_and_wait = L.io_uring_get_sqe, L.io_uring_submit_and_wait
            peek_cqe, cqe_seen = L.io_uring_peek_cqe, L.io_uring_cqe_seen
            next_off = itertools.cycle(s.offsets).__next__
            fixed = s.fixed

            def queue(slot):
                sqe = get_sqe(ring)
                if fixed:
                    prep(sqe, fd, bufs[slot], BLOCK, next_off(), slot)
                    sqe.flags = flags
                else:
                    prep(sqe, fd, bufs[slot], BLOCK, next_off())
                sqe.user_data = slot

            for slot in range(s.qd):
                queue(slot)

            def step():
                submit_and_wait(ring, 1)
                n = 0
                cqe = peek_cqe(ring)
                while cqe is not None:
                    slot = cqe.user_data
                    if cqe.res != BLOCK:
                        raise _bad("bad completion", slot, cqe.res)
                    cqe_seen(ring, cqe)
                    queue(slot)
                    n += 1
                    cqe = peek_cqe(ring)
                return n
            self.step = step
        except BaseException:
            L.io_uring_queue_exit(ring)
            raise

    def close(self):
        self.L.io_uring_queue_exit(self.ring)      # waits for what is in flight


class _BatchRW(_Runner):
    """The batch layer: one ``read_many``/``write_many`` (or the ``_fixed_`` variants over a
    BufferPool) of qd requests per step; the results are checked with array.count."""

    def __init__(self, s: RWSetup):
        import ioring
        self.ring = ring = ioring.Ring(s.qd)
        try:
            if s.fixed:
                self.pool = ioring.BufferPool(ring, s.qd, BLOCK)
                bufs = [self.pool[i] for i in range(s.qd)]
                idx = list(range(s.qd))
                many = ring.write_fixed_many if s.write else ring.read_fixed_many
            else:
                self.mem, bufs = _aligned(s.qd)
                many = ring.write_many if s.write else ring.read_many
            if s.write:
                for b in bufs:
                    b[:] = bytes(BLOCK)
            # Offsets as array('q') chunks (one memcpy in the batch call) and the results
            # compared with an array of BLOCKs (memcmp): the check costs what the C loop's does.
            offs = array.array("q", s.offsets)
            chunks = [offs[i:i + s.qd] for i in range(0, len(offs) - s.qd + 1, s.qd)]
            next_chunk = itertools.cycle(chunks).__next__
            fd, qd = s.fd, s.qd
            expected = array.array("q", [BLOCK] * qd)

            if s.fixed:
                def step():
                    res = many(fd, bufs, next_chunk(), idx)
                    if res != expected:
                        raise _bad("bad batch results", list(res))
                    return qd
            else:
                def step():
                    res = many(fd, bufs, next_chunk())
                    if res != expected:
                        raise _bad("bad batch results", list(res))
                    return qd
            self.step = step
        except BaseException:
            ring.close()
            raise

    def close(self):
        self.ring.close()


class _SyncRW(_Runner):
    """``os.pread(fd, 4096, off)`` per read (``os.preadv`` into an aligned buffer under
    O_DIRECT: os.pread's own bytes object is not aligned), ``os.pwrite`` per write."""

    def __init__(self, s: RWSetup):
        self.mem, (buf,) = _aligned(1)
        next_off, fd = itertools.cycle(s.offsets).__next__, s.fd
        if s.write:
            pwrite = os.pwrite

            def step():
                if pwrite(fd, buf, next_off()) != BLOCK:
                    raise _bad("short pwrite")
                return 1
        elif s.direct:
            preadv, bl = os.preadv, [buf]

            def step():
                if preadv(fd, bl, next_off()) != BLOCK:
                    raise _bad("short preadv")
                return 1
        else:
            pread = os.pread

            def step():
                if len(pread(fd, BLOCK, next_off())) != BLOCK:
                    raise _bad("short pread")
                return 1
        self.step = step


class _ThreadsRW(_Runner):
    """concurrent.futures.ThreadPoolExecutor with qd workers, qd requests in flight: each
    step waits for the oldest future and submits a new request in its slot."""

    def __init__(self, s: RWSetup):
        self.mem, bufs = _aligned(s.qd)
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=s.qd,
                                                          thread_name_prefix="ioring-bench")
        fd = s.fd
        if s.write:
            pwrite = os.pwrite

            def op(slot, off):
                return slot, pwrite(fd, bufs[slot], off)
        elif s.direct:
            preadv = os.preadv
            lists = [[b] for b in bufs]

            def op(slot, off):
                return slot, preadv(fd, lists[slot], off)
        else:
            pread = os.pread

            def op(slot, off):
                return slot, len(pread(fd, BLOCK, off))
        next_off = itertools.cycle(s.offsets).__next__
        submit = self.pool.submit
        futs = self.futs = collections.deque(submit(op, slot, next_off()) for slot in range(s.qd))
        popleft, append = futs.popleft, futs.append

        def step():
            slot, n = popleft().result()
            if n != BLOCK:
                raise _bad("short transfer", n)
            append(submit(op, slot, next_off()))
            return 1
        self.step = step

    def close(self):
        for f in self.futs:
            f.cancel()
        self.pool.shutdown(wait=True)


RW_IMPLS = {"c": _CRW, "thin": _ThinRW, "batch": _BatchRW, "sync": _SyncRW,
            "threads": _ThreadsRW, "liburing": _LiburingRW, "pyuring": _PyuringRW}
#: implementations that have no registered-buffer variant: measured in the plain config only
RW_PLAIN_ONLY = ("sync", "threads")
#: implementations measured once per configuration, not per queue depth (inherently QD 1)
RW_QD1_ONLY = ("sync",)
