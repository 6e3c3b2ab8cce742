"""The benchmark runner behind ``python -m ioring bench``.

Every workload is measured several ways in the same run, and every figure is divided by a
reference measured in that run too (never by stored numbers: these machines are noisy):

========== ======================================================================================
workload   what one operation is
========== ======================================================================================
nop        one IORING_OP_NOP round trip (prep, submit, reap), in batches of B: the ring's own cost
read       one 4 KiB read at a random 4 KiB block of a file, QD in flight (page cache by default,
           ``direct=True``: O_DIRECT, the device)
write      one 4 KiB write at a random block, QD in flight (page cache, or O_DIRECT)
small-files create + write + close of one small file (``ioring.files.write_files`` vs a loop)
unzip      one member of a zip archive extracted (``ioring.files.extract_zip`` vs zipfile)
========== ======================================================================================

Implementations (``IMPLS``): the C reference (``ioring._bench``: the loop in C over our core, the
GIL released), the thin layer (``ioring.liburing`` driven by a per-operation Python loop, a line
by line transcription of the C loop), the batch layer (``Ring.nop_many`` / ``read_many`` /
``read_fixed_many`` / ``write_many``: one call into C per batch), an ``os.pread``/``os.pwrite``
loop, a thread pool of QD workers, and the other Python io_uring packages when importable
(``liburing`` from PyPI, ``pyuring``). nop/read/write ratios are to the C reference of the same
workload and configuration; small-files and unzip ratios are to the plain-Python way.

Use from Python::

    from ioring import bench
    report = bench.run(["nop", "read"], seconds=0.2)
    print(bench.format_report(report))
"""
from __future__ import annotations

import array
import collections
import concurrent.futures
import errno
import itertools
import mmap
import os
import platform
import random
import shutil
import struct
import tempfile
import time
import zipfile
from dataclasses import asdict, dataclass, field
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

BLOCK = 4096
WORKLOADS = ("nop", "read", "write", "small-files", "unzip")
DEFAULT_BATCHES = (1, 8, 32, 128)
DEFAULT_QDS = (1, 8, 32, 128)
DEFAULT_SIZE_MIB = 256
DEFAULT_SECONDS = 0.4
DEFAULT_FILES = 1000
DEFAULT_FILE_BYTES = 4096

#: implementation key -> label shown in the table
IMPLS = {
    "c": "C reference (ioring._bench)",
    "thin": "thin layer, per-op loop",
    "batch": "batch layer (Ring.*_many)",
    "sync": "os.pread/os.pwrite loop",     # shown as os.pread / os.pwrite / os.preadv loop
    "threads": "thread pool (QD workers)",
    "liburing": "liburing (PyPI), per-op loop",
    "pyuring": "pyuring (PyPI)",
    "py-loop": "Python loop (os.open/write/close)",
    "files": "ioring.files.write_files",
    "zipfile": "zipfile.extractall",
    "extract_zip": "ioring.files.extract_zip",
}

#: the implementation every ratio of a workload is relative to
_REFERENCE = {"nop": "c", "read": "c", "write": "c", "small-files": "py-loop", "unzip": "zipfile"}

#: The performance targets: (key, description, workload, param value, config or None for the
#: run's plain configuration, implementation, reference implementation or None for the C
#: reference, minimum ratio).
TARGETS = (
    ("thin-nop-1", "thin-layer NOP, batch 1", "nop", 1, "", "thin", None, 0.6),
    ("thin-nop-32", "thin-layer NOP, batch 32", "nop", 32, "", "thin", None, 0.5),
    ("batch-nop-32", "batch-layer NOP (nop_many), batch 32", "nop", 32, "", "batch", None, 0.8),
    ("batch-read-32", "batch-layer reads (read_many), QD 32", "read", 32, "plain", "batch",
     None, 0.9),
    ("batch-fixed-read-32", "batch-layer registered reads (read_fixed_many), QD 32",
     "read", 32, "registered", "batch", "sync", 1.15),
)


class Skip(Exception):
    """An implementation that cannot run here: ``status`` ("not installed", "n/a", "skipped")
    and the reason."""

    def __init__(self, status: str, note: str):
        super().__init__(note)
        self.status = status
        self.note = note


@dataclass
class Result:
    """One measured (or skipped) point."""
    workload: str
    param: str                  # "batch", "qd", "files" or "members"
    value: int
    config: str                 # "" for nop; "plain"/"registered" for read and write
    impl: str                   # a key of IMPLS
    label: str
    status: str = "ok"          # ok, not installed, n/a, skipped, error
    ops: int = 0
    seconds: float = 0.0
    note: str = ""
    ratio: Optional[float] = None
    reference: str = ""         # the impl key the ratio is relative to

    @property
    def ops_per_sec(self) -> Optional[float]:
        return self.ops / self.seconds if self.status == "ok" and self.seconds > 0 else None

    @property
    def us_per_op(self) -> Optional[float]:
        return self.seconds / self.ops * 1e6 if self.status == "ok" and self.ops else None

    def as_dict(self) -> dict:
        d = asdict(self)
        d["ops_per_sec"] = self.ops_per_sec
        d["us_per_op"] = self.us_per_op
        return d


@dataclass
class Report:
    """What ``run`` returns: the machine, the settings, every point and the targets."""
    machine: dict
    settings: dict
    results: List[Result] = field(default_factory=list)
    targets: List[dict] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"machine": self.machine, "settings": self.settings,
                "results": [r.as_dict() for r in self.results], "targets": self.targets,
                "notes": self.notes}


# ---- machine and files --------------------------------------------------------------------------

def machine_info(path: Optional[str] = None) -> dict:
    """CPU model and cores, kernel, Python, ioring version (and the filesystem of ``path``)."""
    import ioring
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info = {"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
            "arch": platform.machine(),
            "python": f"{platform.python_implementation()} {platform.python_version()}",
            "ioring": ioring.__version__}
    if path:
        info["filesystem"] = filesystem_of(path)
    return info


def filesystem_of(path: str) -> str:
    """The type of the filesystem holding ``path`` (longest mount point prefix), or "?"."""
    path = os.path.realpath(path)
    best, kind = "", "?"
    try:
        with open("/proc/mounts") as f:
            for line in f:
                parts = line.split()
                if len(parts) < 3:
                    continue
                mnt = parts[1].replace("\\040", " ")
                if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best):
                    best, kind = mnt, parts[2]
    except OSError:
        pass
    return kind


def make_file(path: str, size: int, *, sync: bool = False) -> int:
    """Create (or overwrite) ``path`` with ``size`` bytes (rounded down to 4 KiB blocks, at
    least one) in the benchmark format: block ``b`` starts with ``b`` as a little-endian
    uint64, the rest is a fixed pattern. ``sync``: fsync it (before O_DIRECT use). Returns the
    number of blocks. Written with plain writes, so the file is in the page cache afterwards."""
    nblocks = max(1, size // BLOCK)
    per_chunk = 256                                     # 1 MiB
    chunk = bytearray(bytes(range(256)) * (per_chunk * BLOCK // 256))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for start in range(0, nblocks, per_chunk):
            k = min(per_chunk, nblocks - start)
            for j in range(k):
                struct.pack_into("<Q", chunk, j * BLOCK, start + j)
            view = memoryview(chunk)[:k * BLOCK]
            done = 0
            while done < len(view):
                done += os.pwrite(fd, view[done:], start * BLOCK + done)
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)
    return nblocks


def is_stamped(fd: int, nblocks: int) -> bool:
    """True if the first, a middle and the last block carry their block numbers."""
    for b in {0, nblocks // 2, nblocks - 1}:
        head = os.pread(fd, 8, b * BLOCK)
        if len(head) != 8 or struct.unpack("<Q", head)[0] != b:
            return False
    return True


def _aligned(count: int, size: int = BLOCK):
    """``count`` page-aligned buffers of ``size`` bytes (O_DIRECT-ready): (mmap, [views])."""
    m = mmap.mmap(-1, count * size)
    view = memoryview(m)
    return m, [view[i * size:(i + 1) * size] for i in range(count)]


def _offsets(nblocks: int, count: int = 1 << 16, seed: int = 0x10A1) -> array.array:
    """``count`` byte offsets of uniformly random blocks, the same for every Python
    implementation (the C reference draws its own with xorshift64*)."""
    rnd = random.Random(seed)
    return array.array("q", (rnd.randrange(nblocks) * BLOCK for _ in range(count)))


# ---- the timed loop -------------------------------------------------------------------------------

def timed(step: Callable[[], int], seconds: float, *, every: int = 16) -> Tuple[int, float]:
    """The C reference's timed loop in Python: warm up for a tenth of ``seconds`` (at most
    0.2 s), then call ``step()`` (which returns the operations it completed) for ``seconds``,
    reading the clock every ``every`` steps. Returns (ops, seconds)."""
    clock = time.perf_counter
    rng = range(every)
    end = clock() + min(seconds / 10, 0.2)
    while clock() < end:
        for _ in rng:
            step()
    ops = 0
    t0 = clock()
    end = t0 + seconds
    while True:
        for _ in rng:
            ops += step()
        now = clock()
        if now >= end:
            return ops, now - t0


class BenchError(RuntimeError):
    """A wrong completion (result, user_data or data) during a measurement."""


def _bad(what, *values):
    return BenchError(f"{what}: " + " ".join(str(v) for v in values))


# ---- NOP ------------------------------------------------------------------------------------------

class _Runner:
    """One implementation set up for one point: ``step()`` -> ops, ``close()``. The C reference
    overrides ``measure``."""

    def step(self) -> int:                     # pragma: no cover - overridden
        raise NotImplementedError

    def measure(self, seconds: float) -> Tuple[int, float]:
        return timed(self.step, seconds)

    def close(self) -> None:
        pass


class _CNop(_Runner):
    def __init__(self, batch: int):
        from ioring import _bench
        self._bench, self.batch = _bench, batch

    def measure(self, seconds):
        return self._bench.nop(self.batch, seconds)


def _thin_nop_step(ring, batch: int) -> Callable[[], int]:
    """The thin layer's NOP loop, a transcription of bench_nop.c's step: batch x (get_sqe,
    prep_nop, user_data), submit_and_wait(batch), then wait_cqe/check/cqe_seen per NOP."""
    from ioring import liburing as L
    get_sqe, prep_nop = L.io_uring_get_sqe, L.io_uring_prep_nop
    submit_and_wait, wait_cqe, cqe_seen = L.io_uring_submit_and_wait, L.io_uring_wait_cqe, L.io_uring_cqe_seen
    seq = 0
    rng = range(batch)

    def step():
        nonlocal seq
        for i in rng:
            sqe = get_sqe(ring)
            prep_nop(sqe)
            sqe.user_data = seq + i
        submit_and_wait(ring, batch)
        for _ in rng:
            cqe = wait_cqe(ring)
            if cqe.user_data != seq or cqe.res != 0:
                raise _bad("bad NOP completion", cqe.user_data, cqe.res, "expected", seq)
            seq += 1
            cqe_seen(ring, cqe)
        return batch
    return step


class _ThinNop(_Runner):
    def __init__(self, batch: int):
        from ioring import liburing as L
        self.L = L
        self.ring = L.io_uring()
        L.io_uring_queue_init(batch, self.ring, 0)
        self.step = _thin_nop_step(self.ring, batch)

    def close(self):
        self.L.io_uring_queue_exit(self.ring)


class _BatchNop(_Runner):
    def __init__(self, batch: int):
        import ioring
        self.ring = ioring.Ring(batch)
        nop_many = self.ring.nop_many

        def step():
            return nop_many(batch)
        self.step = step

    def close(self):
        self.ring.close()


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


NOP_IMPLS = {"c": _CNop, "thin": _ThinNop, "batch": _BatchNop, "liburing": _LiburingNop,
             "pyuring": _PyuringNop}


# ---- reads and writes -----------------------------------------------------------------------------

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


RW_IMPLS = {"c": _CRW, "thin": _ThinRW, "batch": _BatchRW, "sync": _SyncRW,
            "threads": _ThreadsRW, "liburing": _LiburingRW, "pyuring": _PyuringRW}
#: implementations that have no registered-buffer variant: measured in the plain config only
RW_PLAIN_ONLY = ("sync", "threads")
#: implementations measured once per configuration, not per queue depth (inherently QD 1)
RW_QD1_ONLY = ("sync",)


# ---- many small files -----------------------------------------------------------------------------

def _files_module():
    try:
        from ioring import files
    except ImportError as exc:
        if getattr(exc, "name", None) in ("ioring.files", None) and "files" in str(exc):
            raise Skip("skipped", "ioring.files is not available in this build") from None
        raise
    return files


class _Rounds(_Runner):
    """A workload whose step is a whole round (N files) in a fresh directory; the clean-up
    between rounds is not timed."""

    def __init__(self, base: str, count: int):
        self.base, self.count, self.round = base, count, 0

    def one(self, dest: str) -> None:          # pragma: no cover - overridden
        raise NotImplementedError

    def check(self, dest: str) -> None:
        names = os.listdir(dest)
        if len(names) != self.count:
            raise _bad("files created", len(names), "expected", self.count)

    def measure(self, seconds):
        total_ops, total, warmed = 0, 0.0, False
        while True:
            dest = os.path.join(self.base, f"round-{self.round}")
            self.round += 1
            os.mkdir(dest)
            t0 = time.perf_counter()
            self.one(dest)
            dt = time.perf_counter() - t0
            self.check(dest)
            shutil.rmtree(dest)
            if not warmed:              # the first round is the warm-up
                warmed = True
                continue
            total_ops += self.count
            total += dt
            if total >= seconds:
                return total_ops, total


def _small_payloads(count: int, size: int) -> List[bytes]:
    rnd = random.Random(7)
    return [rnd.randbytes(size) for _ in range(min(count, 16))]


class _PyLoopFiles(_Rounds):
    """The plain way: os.open(O_CREAT|O_WRONLY|O_TRUNC), os.write, os.close per file."""

    def __init__(self, base, count, size):
        super().__init__(base, count)
        self.payloads = _small_payloads(count, size)

    def one(self, dest):
        payloads, n = self.payloads, len(self.payloads)
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
        for i in range(self.count):
            fd = os.open(os.path.join(dest, f"f{i:06d}"), flags, 0o644)
            try:
                data = payloads[i % n]
                if os.write(fd, data) != len(data):
                    raise _bad("short write")
            finally:
                os.close(fd)


class _IoringFiles(_Rounds):
    """ioring.files.write_files: the same files through io_uring (openat, write, close)."""

    def __init__(self, base, count, size):
        super().__init__(base, count)
        self.files = _files_module()
        if not hasattr(self.files, "write_files"):
            raise Skip("skipped", "ioring.files has no write_files")
        self.payloads = _small_payloads(count, size)

    def one(self, dest):
        payloads, n = self.payloads, len(self.payloads)
        items = {os.path.join(dest, f"f{i:06d}"): payloads[i % n] for i in range(self.count)}
        self.files.write_files(items)


def make_zip(path: str, members: int, *, seed: int = 11) -> int:
    """A deflated zip of ``members`` text-like files of 1-16 KiB (compressible, as source trees
    and documents are); returns the total uncompressed size."""
    rnd = random.Random(seed)
    words = [bytes(rnd.choices(b"abcdefghijklmnopqrstuvwxyz", k=rnd.randint(2, 9)))
             for _ in range(512)]
    total = 0
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(members):
            size = rnd.randint(1024, 16384)
            data = bytearray()
            while len(data) < size:
                data += b" ".join(rnd.choices(words, k=12)) + b"\n"
            z.writestr(f"pkg/mod{i // 100:03d}/file{i:05d}.txt", bytes(data[:size]))
            total += size
    return total


class _ZipRounds(_Rounds):
    def __init__(self, base, count, archive):
        super().__init__(base, count)
        self.archive = archive

    def check(self, dest):
        n = sum(len(f) for _, _, f in os.walk(dest))
        if n != self.count:
            raise _bad("members extracted", n, "expected", self.count)


class _ZipfileUnzip(_ZipRounds):
    """zipfile.ZipFile(archive).extractall(dest)."""

    def one(self, dest):
        with zipfile.ZipFile(self.archive) as z:
            z.extractall(dest)


class _IoringUnzip(_ZipRounds):
    """ioring.files.extract_zip(archive, dest)."""

    def __init__(self, base, count, archive):
        super().__init__(base, count, archive)
        self.files = _files_module()
        if not hasattr(self.files, "extract_zip"):
            raise Skip("skipped", "ioring.files has no extract_zip")

    def one(self, dest):
        self.files.extract_zip(self.archive, dest)


# ---- the run --------------------------------------------------------------------------------------

@dataclass
class _Point:
    workload: str
    param: str
    value: int
    config: str
    impl: str
    make: Callable[[], _Runner]


def _default_dir() -> str:
    """A temporary directory on a disk-backed filesystem (tmpfs would make O_DIRECT and the
    page-cache numbers meaningless)."""
    d = tempfile.gettempdir()
    if filesystem_of(d) in ("tmpfs", "ramfs") and os.path.isdir("/var/tmp") \
            and filesystem_of("/var/tmp") not in ("tmpfs", "ramfs"):
        return "/var/tmp"
    return d


class _Workspace:
    """The files of a run: the read/write file (created or given), the small-files area and
    the zip archive, all removed at the end except a ``--file`` the user named."""

    def __init__(self, directory, file, size_mib, direct):
        self.tmp = tempfile.mkdtemp(prefix="ioring-bench-", dir=directory or _default_dir())
        self.file, self.size_mib, self.direct = file, size_mib, direct
        self.created = False
        self.nblocks = 0
        self.verify = False
        self.fds: Dict[bool, int] = {}
        self.offsets = None
        self.archive = None
        self.rw_skip: Optional[Skip] = None

    def prepare_rw(self) -> None:
        if self.nblocks or self.rw_skip:
            return
        path = self.file or os.path.join(self.tmp, "data.bin")
        try:
            if self.file and os.path.exists(path):
                size = os.path.getsize(path)
                if size < BLOCK:
                    raise Skip("skipped", f"--file {path} is smaller than 4 KiB")
                self.nblocks = size // BLOCK
            else:
                need = self.size_mib << 20
                free = shutil.disk_usage(os.path.dirname(os.path.abspath(path))).free
                if free < need + (64 << 20):
                    raise Skip("skipped", f"not enough free space for a {self.size_mib} MiB file "
                                          f"in {os.path.dirname(path)}")
                self.nblocks = make_file(path, need, sync=self.direct)
                self.created = True
            self.path = path
            flags = os.O_DIRECT if self.direct else 0
            try:
                self.fds[False] = os.open(path, os.O_RDONLY | flags)
                if self.created:
                    self.fds[True] = os.open(path, os.O_RDWR | flags)
            except OSError as exc:
                if self.direct and exc.errno == errno.EINVAL:
                    raise Skip("skipped", f"O_DIRECT refused on {filesystem_of(path)} "
                                          f"({path})") from None
                raise
            probe = os.open(path, os.O_RDONLY)      # O_DIRECT would refuse the 8-byte reads
            try:
                self.verify = is_stamped(probe, self.nblocks)
            finally:
                os.close(probe)
            self.offsets = _offsets(self.nblocks)
        except Skip as skip:
            self.rw_skip = skip
            self.nblocks = 0

    def rw_setup(self, write: bool, qd: int, fixed: bool) -> RWSetup:
        self.prepare_rw()
        if self.rw_skip:
            raise self.rw_skip
        if write and write not in self.fds:
            raise Skip("skipped", f"refusing to write into --file {self.path}, which this run "
                                  "did not create")
        return RWSetup(self.fds[write], self.nblocks, qd, write, fixed, self.direct,
                       self.verify, self.offsets)

    def small_files_dir(self) -> str:
        d = os.path.join(self.tmp, "small-files")
        os.makedirs(d, exist_ok=True)
        return d

    def zip_archive(self, members: int) -> str:
        if self.archive is None:
            self.archive = os.path.join(self.tmp, "archive.zip")
            make_zip(self.archive, members)
        return self.archive

    def close(self) -> None:
        for fd in set(self.fds.values()):
            os.close(fd)
        self.fds = {}
        shutil.rmtree(self.tmp, ignore_errors=True)


def plan(workloads: Sequence[str], ws: _Workspace, *, batches, qds, fixed, files, file_bytes,
         impls=None, wheels=None) -> List[_Point]:
    """Every point of a run, in the order measured: the implementations of one
    (workload, point, config) one after the other, so that drift hits them alike."""
    points: List[_Point] = []
    references = set(_REFERENCE.values())
    want = (lambda k: True) if not impls else (lambda k: k in references or k in impls)

    def add(workload, param, value, config, impl, make):
        if want(impl):
            points.append(_Point(workload, param, value, config, impl, make))

    for wl in WORKLOADS:
        if wl not in workloads:
            continue
        if wl == "nop":
            for b in batches:
                for key, cls in NOP_IMPLS.items():
                    add(wl, "batch", b, "", key, lambda cls=cls, b=b: cls(b))
        elif wl in ("read", "write"):
            configs = ["plain", "registered"] if fixed is None else (["registered"] if fixed else ["plain"])
            write = wl == "write"
            for config in configs:
                for qd in qds:
                    for key, cls in RW_IMPLS.items():
                        value, cfg = qd, config
                        if key in RW_QD1_ONLY:
                            # Inherently QD 1, plain: once per run, with the first point.
                            if qd != qds[0] or config != configs[0]:
                                continue
                            value, cfg = 1, "plain"
                        elif key in RW_PLAIN_ONLY and config != "plain":
                            continue

                        def make(cls=cls, qd=value, fx=(cfg == "registered"), write=write):
                            return cls(ws.rw_setup(write, qd, fx))
                        add(wl, "qd", value, cfg, key, make)
        elif wl == "small-files":
            add(wl, "files", files, "", "py-loop",
                lambda: _PyLoopFiles(ws.small_files_dir(), files, file_bytes))
            add(wl, "files", files, "", "files",
                lambda: _IoringFiles(ws.small_files_dir(), files, file_bytes))
        elif wl == "unzip":
            add(wl, "members", files, "", "zipfile",
                lambda: _ZipfileUnzip(ws.small_files_dir(), files, ws.zip_archive(files)))
            add(wl, "members", files, "", "extract_zip",
                lambda: _IoringUnzip(ws.small_files_dir(), files, ws.zip_archive(files)))
            for point in _bench_wheel.points(ws.tmp, wheels, files):     # real wheels
                add(*point)
    return points


class Stalled(BenchError):
    """A measurement that went on far longer than asked: something waits for a completion
    that never comes."""


class _Watchdog:
    """SIGALRM after ``limit`` seconds raises Stalled in the main thread; a wait in
    io_uring_enter is interrupted (EINTR) and the layers re-check signals, so a lost
    completion fails the point instead of hanging the run. Inactive outside the main thread."""

    def __init__(self, limit: float):
        import signal
        import threading
        self.signal = signal
        self.limit = limit
        self.active = threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")

    def _fire(self, signum, frame):
        raise Stalled(f"no result after {self.limit:g} s: a completion was lost or never came")

    def __enter__(self):
        if self.active:
            self.old = self.signal.signal(self.signal.SIGALRM, self._fire)
            self.signal.setitimer(self.signal.ITIMER_REAL, self.limit)
        return self

    def __exit__(self, *exc):
        if self.active:
            self.signal.setitimer(self.signal.ITIMER_REAL, 0)
            self.signal.signal(self.signal.SIGALRM, self.old)
        return False


def _label(impl: str, workload: str, direct: bool) -> str:
    if impl == "sync":
        if workload == "write":
            return "os.pwrite loop"
        return "os.preadv loop (O_DIRECT)" if direct else "os.pread loop"
    return IMPLS[impl]


def _measure(point: _Point, seconds: float, direct: bool = False) -> Result:
    r = Result(point.workload, point.param, point.value, point.config, point.impl,
               _label(point.impl, point.workload, direct), reference=_REFERENCE[point.workload])
    runner = None
    try:
        with _Watchdog(10 + 5 * seconds):
            runner = point.make()
            r.ops, r.seconds = runner.measure(seconds)
            r.note = getattr(runner, "note", "")
        if r.ops <= 0:
            r.status, r.note = "error", "no operation completed"
    except Skip as skip:
        r.status, r.note = skip.status, skip.note
    except (BenchError, OSError, RuntimeError, ValueError) as exc:
        r.status, r.note = "error", f"{type(exc).__name__}: {exc}"
    finally:
        if runner is not None:
            try:
                with _Watchdog(30):
                    runner.close()
            except Exception as exc:        # a failed teardown must not hide the figure
                r.note = (r.note + "; " if r.note else "") + f"close: {exc}"
    return r


def _ratios(results: List[Result]) -> None:
    """Each ok result divided by the reference of its workload at the same point and config
    (the sync loop, which runs once at QD 1, by the C reference at QD 1)."""
    index = {(r.workload, r.value, r.config, r.impl): r for r in results if r.status == "ok"}
    for r in results:
        if r.status != "ok":
            continue
        ref = index.get((r.workload, r.value, r.config, r.reference))
        if ref is not None and ref.ops_per_sec:
            r.ratio = r.ops_per_sec / ref.ops_per_sec
        elif not r.note:
            r.note = f"no {r.reference} reference at this point in this run"


def evaluate_targets(results: List[Result]) -> List[dict]:
    """The performance targets against this run's results: measured ratio, met or missed (or
    not measured when the run did not include the points)."""
    ok = [r for r in results if r.status == "ok"]
    out = []
    for key, desc, wl, value, config, impl, ref, minimum in TARGETS:
        mine = next((r for r in ok if (r.workload, r.value, r.config, r.impl) == (wl, value, config, impl)), None)
        if ref is None:
            base = next((r for r in ok if (r.workload, r.value, r.config, r.impl) == (wl, value, config, "c")), None)
            ref_label = "C"
        else:
            base = next((r for r in ok if r.workload == wl and r.impl == ref), None)
            ref_label = base.label if base is not None else _label(ref, wl, False)
        entry = {"key": key, "description": desc, "minimum": minimum, "reference": ref_label,
                 "ratio": None, "met": None}
        if mine is not None and base is not None and base.ops_per_sec:
            entry["ratio"] = mine.ops_per_sec / base.ops_per_sec
            entry["met"] = entry["ratio"] >= minimum
        out.append(entry)
    return out


def run(workloads: Optional[Iterable[str]] = None, *, seconds: float = DEFAULT_SECONDS,
        batches: Sequence[int] = DEFAULT_BATCHES, qds: Sequence[int] = DEFAULT_QDS,
        file: Optional[str] = None, size_mib: int = DEFAULT_SIZE_MIB,
        directory: Optional[str] = None, direct: bool = False, fixed: Optional[bool] = None,
        files: int = DEFAULT_FILES, file_bytes: int = DEFAULT_FILE_BYTES,
        impls: Optional[Sequence[str]] = None,
        progress: Optional[Callable[[int, int, str], None]] = None,
        wheels: Optional[Sequence[str]] = None) -> Report:
    """Measure ``workloads`` (default: all of WORKLOADS) and return a Report.

    ``seconds`` per point; ``batches`` (nop) and ``qds`` (read, write); the read/write file is
    ``file`` (used as is if it exists; never written unless this run created it) or a new
    ``size_mib`` MiB file in a temporary directory under ``directory``; ``direct``: O_DIRECT;
    ``fixed``: None measures plain and registered buffers/files, True only registered, False
    only plain; ``files`` and ``file_bytes`` size small-files and unzip; ``impls`` restricts
    the implementations (the references always run: C, the Python loop, zipfile);
    ``progress(done, total, label)``; ``wheels``: .whl paths unzip also unpacks and installs
    with every tool (default: a wheel built in the run; ioring/_bench_wheel.py)."""
    workloads = list(WORKLOADS if not workloads else workloads)
    for w in workloads:
        if w not in WORKLOADS:
            raise ValueError(f"unknown workload {w!r} (choose from {', '.join(WORKLOADS)})")
    if not seconds > 0:
        raise ValueError("seconds must be > 0")
    qds = list(qds)
    ws = _Workspace(directory, file, size_mib, direct)
    settings = {"workloads": workloads, "seconds": seconds, "batches": list(batches),
                "qds": qds, "direct": direct,
                "fixed": "both" if fixed is None else ("registered" if fixed else "plain"),
                "files": files, "file_bytes": file_bytes, "size_mib": size_mib,
                "file": file, "directory": os.path.dirname(ws.tmp), "wheels": list(wheels or [])}
    try:
        report = Report(machine_info(ws.tmp), settings)
        points = plan(workloads, ws, batches=batches, qds=qds, fixed=fixed, files=files,
                      file_bytes=file_bytes, impls=impls, wheels=wheels)
        stalled = set()
        for i, p in enumerate(points):
            if progress:
                progress(i, len(points), f"{p.workload} {p.param}={p.value} {p.config} {p.impl}".replace("  ", " "))
            if (p.workload, p.impl) in stalled:
                # Once an implementation lost a completion, each further point would only
                # wait for the watchdog again.
                report.results.append(Result(p.workload, p.param, p.value, p.config, p.impl,
                                             _label(p.impl, p.workload, direct), "error", note="not run: stalled at "
                                             "an earlier point of this workload",
                                             reference=_REFERENCE[p.workload]))
                continue
            r = _measure(p, seconds, direct)
            if r.status == "error" and r.note.startswith("Stalled"):
                stalled.add((p.workload, p.impl))
            report.results.append(r)
        if progress:
            progress(len(points), len(points), "done")
        if ws.nblocks:
            settings["file_mib"] = ws.nblocks * BLOCK / (1 << 20)
            settings["filesystem"] = filesystem_of(ws.path)
            settings["verify"] = ws.verify
    finally:
        ws.close()
    _ratios(report.results)
    report.targets = evaluate_targets(report.results)
    report.notes = _notes(report)
    return report


def _notes(report: Report) -> List[str]:
    s, notes = report.settings, []
    wl = s["workloads"]
    if "read" in wl or "write" in wl:
        mode = "O_DIRECT (the device)" if s["direct"] else "the page cache (memcpy-bound: the file was just written)"
        notes.append(f"read/write: 4 KiB at uniformly random blocks of a {s.get('file_mib', s['size_mib']):g} MiB "
                     f"file on {s.get('filesystem', '?')}, served by {mode}.")
        notes.append("registered = registered buffers and the fd registered (IOSQE_FIXED_FILE), except "
                     "the batch layer (read_fixed_many has registered buffers only) and the liburing "
                     "package (both).")
        notes.append("the C reference checks every completion and, for reads, the block number stamped "
                     "in each block; the Python loops check each result.")
        if "write" in wl and not s["direct"]:
            notes.append("buffered io_uring writes on a filesystem without non-blocking buffered writes "
                         "(ext4) run in io-wq kernel workers: each is a hand-off to a kernel thread, "
                         "so QD 1 varies with the CPUs' idle state; os.pwrite writes inline.")
    if "unzip" in wl:
        notes.append(_bench_wheel.NOTE)
    return notes


# ---- output ---------------------------------------------------------------------------------------

def _si(v: Optional[float]) -> str:
    if v is None:
        return "-"
    for div, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " K")):
        if v >= div:
            return f"{v / div:.2f}{suffix}"
    return f"{v:.0f}"


def header(report: Report) -> str:
    m = report.machine
    return (f"ioring {m['ioring']} | {m['cpu']}, {m['cores']} cores | Linux {m['kernel']} "
            f"{m['arch']} | {m['python']}")


def format_report(report: Report) -> str:
    """The table: ops/s, µs/op (1/throughput: wall time / operations, not a latency; the storage
    workloads of ``ioring._bench_storage`` measure latencies) and the ratio to the reference,
    then the targets."""
    lines = [header(report),
             f"{report.settings['seconds']:g} s per point; ratios are to the C reference of the same "
             "point (small-files, unzip: to the plain-Python way), all measured in this run", ""]
    rows = [("workload", "point", "config", "implementation", "ops/s", "µs/op (1/throughput)", "ratio")]
    last, seen = None, set()
    for r in report.results:
        key = (r.workload, r.value, r.config)
        if last is not None and key != last:
            rows.append(None)
        last = key
        point = f"{r.param} {r.value}"
        if r.status != "ok":
            # The same reason for every point of an implementation is shown once.
            note = "" if (r.impl, r.status, r.note) in seen else r.note
            seen.add((r.impl, r.status, r.note))
            rows.append((r.workload, point, r.config, r.label, r.status, "", note))
            continue
        ratio = "ref" if r.impl == r.reference else (f"{r.ratio:.2f}x" if r.ratio is not None else "-")
        rows.append((r.workload, point, r.config, r.label, _si(r.ops_per_sec),
                     f"{r.us_per_op:.3f}", f"{ratio:<6} {r.note}" if r.note else ratio))
    widths = [max(len(row[i]) for row in rows if row is not None and i < 6) for i in range(6)]
    for row in rows:
        if row is None:
            lines.append("")
            continue
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1]), row[2].ljust(widths[2]),
                 row[3].ljust(widths[3]), row[4].rjust(widths[4]) if row[5] else row[4],
                 row[5].rjust(widths[5]) if row[5] else "", row[6]]
        lines.append("  ".join(cells).rstrip())
    if report.targets:
        lines += ["", "targets (ratios measured in this run)"]
        w = max(len(t["description"]) for t in report.targets)
        for t in report.targets:
            want = f">= {t['minimum']:.2f}x {t['reference']}"
            if t["ratio"] is None:
                got, verdict = "-", "not measured"
            else:
                got, verdict = f"{t['ratio']:.2f}x", "met" if t["met"] else "MISSED"
            lines.append(f"  {t['description'].ljust(w)}  {want:<24} {got:>7}  {verdict}")
    if report.notes:
        lines += [""] + [f"note: {n}" for n in report.notes]
    return "\n".join(lines)


def write_json(report: Report, path: str) -> None:
    import json
    with open(path, "w") as f:
        json.dump(report.as_dict(), f, indent=2)
        f.write("\n")


def plot(report: Report, path: str) -> None:
    """A PNG of the QD sweeps (ops/s against queue depth, one line per implementation, one
    panel per read/write configuration). Needs matplotlib (``pip install ioring[bench]``)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise RuntimeError("--plot needs matplotlib: pip install 'ioring[bench]' "
                           "(or pip install matplotlib)") from None
    panels = {}
    for r in report.results:
        if r.workload in ("read", "write") and r.status == "ok" and r.impl not in RW_QD1_ONLY:
            panels.setdefault((r.workload, r.config), {}).setdefault((r.impl, r.label), []).append(
                (r.value, r.ops_per_sec))
    colors = {key: f"C{i % 10}" for i, key in enumerate(IMPLS)}
    flat = {}
    for r in report.results:
        if r.workload in ("read", "write") and r.status == "ok" and r.impl in RW_QD1_ONLY:
            flat[r.workload] = (r.label, r.ops_per_sec)
    if not panels:
        raise RuntimeError("--plot: no read/write QD sweep in this run")
    ncols = min(2, len(panels))
    nrows = (len(panels) + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(6.5 * ncols, 4.6 * nrows), squeeze=False)
    mode = "O_DIRECT" if report.settings["direct"] else "page cache"
    flat_axes = [ax for row in axes for ax in row]
    for ax in flat_axes[len(panels):]:
        ax.set_visible(False)
    for ax, ((wl, config), lines) in zip(flat_axes, sorted(panels.items())):
        for (impl, label), pts in lines.items():
            pts.sort()
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=label,
                    color=colors[impl])
        if wl in flat:
            ax.axhline(flat[wl][1], linestyle="--", color=colors["sync"], label=flat[wl][0] + " (QD 1)")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("queue depth")
        ax.set_ylabel("ops/s")
        ax.set_title(f"4 KiB random {wl}s, {mode}, {config}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize="small")
    fig.suptitle(header(report), fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# Real wheels unpacked and installed by every tool (unzip): ioring/_bench_wheel.py, imported last
# (it subclasses _Runner) and adding its implementations to IMPLS.
from ioring import _bench_wheel  # noqa: E402

IMPLS.update(_bench_wheel.IMPLS)
