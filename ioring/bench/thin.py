"""The ``thin`` workload of ``python -m ioring bench``: the per-operation loop of ``ioring.liburing``
against the same loop written for the PyPI ``liburing`` package (YoSTEALTH's), in one run.

Both packages mirror liburing's C API, so the loop is the same line for line; only the spelling
of a CQE differs (the PyPI package fills a ``Cqe`` holder and ``cqe[0]`` is the entry). Points:

========== =========================================================================================
point      one step of the loop
========== =========================================================================================
nop B      B x (get_sqe, prep_nop, set_data64), submit_and_wait(B), every CQE checked, cq_advance
read QD    submit_and_wait(1), every ready CQE checked (res == 4096), cq_advance, then one new
           4 KiB read at a random block (get_sqe, prep_read, set_data64) per completion: QD
           requests in flight, page cache (a 64 MiB file read once before)
fixed QD   the same reads into registered buffers (io_uring_register_buffers, then
           io_uring_prep_read_fixed): no buffer export per request in either package; no target,
           it tells how much of the read loop is the buffer argument
========== =========================================================================================

Two ways of reaping, each measured for both packages (``SHAPES``): ``advance`` iterates the
ready CQEs (``io_uring_for_each_cqe``; the PyPI package's ``CqeIter``) and consumes them with one
``io_uring_cq_advance``; ``seen`` takes each with ``io_uring_peek_cqe`` while
``io_uring_cq_ready`` says there is one, and consumes it with ``io_uring_cqe_seen``.

And the cost of a bare call, ``io_uring_sq_ready(ring)``, timed with ``timeit`` (CPU time) next to
``len(())`` (a call of a C builtin: the floor of any call from Python).

The process is pinned to one CPU for the run (``cpu``; the affinity is restored after). Every
point is measured ``reps`` times; in each repetition both packages' loops (and the C loop over
ioring's core doing the same work, ``ioring._bench``: what is left of a loop without Python)
are set up side by side and run ``seconds`` each in SLICES alternating slices (so that the
machine's drift hits them alike), and medians over the repetitions are reported; a ratio is the
median of the per-repetition ratios (ioring.liburing ops/s over the PyPI package's). Rates are
per CPU-second of the measuring thread (every request of these loops completes inline, in that
thread), so that other processes given the same CPU by the scheduler do not count; wall-clock
rates and ratios are reported next to them.

``call_costs()`` times single calls of both packages (what one call of each function costs,
in a Python loop of 256 calls; ``bench/bench_thin.py --calls`` prints it).
"""
from __future__ import annotations

import functools
import itertools
import os
import shutil
import statistics
import tempfile
import time
import timeit
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from ioring.bench._runner import (BLOCK, Report, Result, Skip, _bad, _default_dir, _offsets, _si,
                                  filesystem_of, header, machine_info, make_file)
from ioring.bench.peers import _import_pypi_liburing

WORKLOADS = ("thin",)
IMPLS = {"ioring": "ioring.liburing, per-op loop", "liburing": "liburing (PyPI), per-op loop",
         "c": "C loop over ioring's core (ioring._bench)"}
REFERENCE = "liburing"
POINTS = (("nop", 1), ("nop", 32), ("read", 1), ("read", 32), ("fixed", 1), ("fixed", 32))
#: the points of a run with other bindings (``run(extra=...)``; bench/bench_thin.py --limit)
LIMIT_POINTS = tuple(p for p in POINTS if p[0] in ("nop", "read"))
#: the points the issue-18 targets are about (``fixed``, reads into registered buffers, is there
#: to tell what a read's buffer costs: no export per request in the PyPI package either)
TARGET_OPS = ("nop", "read")
_POINT_NAMES = {"nop": "nop batch", "read": "read QD", "fixed": "read_fixed QD"}
SHAPES = ("advance", "seen")
DEFAULT_REPS = 5
DEFAULT_SECONDS = 0.3
DEFAULT_SIZE_MIB = 64
#: the issue-18 targets: each loop at least this many times the PyPI package's ops/s ...
TARGET_RATIO = 1.15
#: ... and a bare ring call at most this many ns (timeit, this machine)
TARGET_CALL_NS = 35.0
_CALL_NUMBER = 200_000


def import_pypi_liburing():
    """The PyPI ``liburing`` module, or ``Skip`` saying why it cannot be measured."""
    return _import_pypi_liburing()


# ---- the loops, once per package ----------------------------------------------------------------

def _ioring_nop(batch: int, shape: str, L=None):
    """``L``: another binding spelled as ioring.liburing (the ideal binding of ``--limit``)."""
    if L is None:
        from ioring import liburing as L
    ring = L.io_uring()
    L.io_uring_queue_init(max(batch, 1), ring, 0)
    get_sqe, prep_nop, set_data64 = L.io_uring_get_sqe, L.io_uring_prep_nop, L.io_uring_sqe_set_data64
    submit_and_wait, cq_advance = L.io_uring_submit_and_wait, L.io_uring_cq_advance
    for_each_cqe, peek_cqe, cqe_seen, cq_ready = (L.io_uring_for_each_cqe, L.io_uring_peek_cqe,
                                                  L.io_uring_cqe_seen, L.io_uring_cq_ready)
    rng = range(batch)
    seq = 0

    def step_advance():
        nonlocal seq
        for i in rng:
            sqe = get_sqe(ring)
            prep_nop(sqe)
            set_data64(sqe, seq + i)
        submit_and_wait(ring, batch)
        n = 0
        for cqe in for_each_cqe(ring):
            if cqe.user_data != seq + n or cqe.res != 0:
                raise _bad("bad NOP completion", cqe.user_data, cqe.res, "expected", seq + n)
            n += 1
        cq_advance(ring, n)
        seq += n
        return n

    def step_seen():
        nonlocal seq
        for i in rng:
            sqe = get_sqe(ring)
            prep_nop(sqe)
            set_data64(sqe, seq + i)
        submit_and_wait(ring, batch)
        n = 0
        while cq_ready(ring):
            cqe = peek_cqe(ring)
            if cqe.user_data != seq + n or cqe.res != 0:
                raise _bad("bad NOP completion", cqe.user_data, cqe.res, "expected", seq + n)
            n += 1
            cqe_seen(ring, cqe)
        seq += n
        return n

    return (step_advance if shape == "advance" else step_seen), lambda: L.io_uring_queue_exit(ring)


def _pypi_nop(batch: int, shape: str):
    U = import_pypi_liburing()
    ring, holder = U.Ring(), U.Cqe()
    U.io_uring_queue_init(max(batch, 1), ring)
    get_sqe, prep_nop, set_data64 = U.io_uring_get_sqe, U.io_uring_prep_nop, U.io_uring_sqe_set_data64
    submit_and_wait, cq_advance = U.io_uring_submit_and_wait, U.io_uring_cq_advance
    CqeIter, peek_cqe, cqe_seen, cq_ready = U.CqeIter, U.io_uring_peek_cqe, U.io_uring_cqe_seen, U.io_uring_cq_ready
    rng = range(batch)
    seq = 0

    def step_advance():
        nonlocal seq
        for i in rng:
            sqe = get_sqe(ring)
            prep_nop(sqe)
            set_data64(sqe, seq + i)
        submit_and_wait(ring, batch)
        n = 0
        for _ in CqeIter(ring, holder):
            cqe = holder[0]
            if cqe.user_data != seq + n or cqe.res != 0:
                raise _bad("bad NOP completion", cqe.user_data, cqe.res, "expected", seq + n)
            n += 1
        cq_advance(ring, n)
        seq += n
        return n

    def step_seen():
        nonlocal seq
        for i in rng:
            sqe = get_sqe(ring)
            prep_nop(sqe)
            set_data64(sqe, seq + i)
        submit_and_wait(ring, batch)
        n = 0
        while cq_ready(ring):
            peek_cqe(ring, holder)
            cqe = holder[0]
            if cqe.user_data != seq + n or cqe.res != 0:
                raise _bad("bad NOP completion", cqe.user_data, cqe.res, "expected", seq + n)
            n += 1
            cqe_seen(ring, cqe)
        seq += n
        return n

    return (step_advance if shape == "advance" else step_seen), lambda: U.io_uring_queue_exit(ring)


def _ioring_read(fd: int, offsets, qd: int, shape: str, L=None):
    """``L``: another binding spelled as ioring.liburing (the ideal binding of ``--limit``, which
    pins nothing: its reads in flight are reaped before the bytearrays may go)."""
    pins = L is None
    if L is None:
        from ioring import liburing as L
    ring = L.io_uring()
    L.io_uring_queue_init(qd, ring, 0)
    bufs = [bytearray(BLOCK) for _ in range(qd)]
    get_sqe, prep_read, set_data64 = L.io_uring_get_sqe, L.io_uring_prep_read, L.io_uring_sqe_set_data64
    submit_and_wait, cq_advance = L.io_uring_submit_and_wait, L.io_uring_cq_advance
    for_each_cqe, peek_cqe, cqe_seen, cq_ready = (L.io_uring_for_each_cqe, L.io_uring_peek_cqe,
                                                  L.io_uring_cqe_seen, L.io_uring_cq_ready)
    next_off = itertools.cycle(offsets).__next__
    for slot in range(qd):
        sqe = get_sqe(ring)
        prep_read(sqe, fd, bufs[slot], BLOCK, next_off())
        set_data64(sqe, slot)

    def step_advance():
        submit_and_wait(ring, 1)
        done = []
        for cqe in for_each_cqe(ring):
            if cqe.res != BLOCK:
                raise _bad("bad read completion", cqe.user_data, cqe.res)
            done.append(cqe.user_data)
        cq_advance(ring, len(done))
        for slot in done:
            sqe = get_sqe(ring)
            prep_read(sqe, fd, bufs[slot], BLOCK, next_off())
            set_data64(sqe, slot)
        return len(done)

    def step_seen():
        submit_and_wait(ring, 1)
        n = 0
        while cq_ready(ring):
            cqe = peek_cqe(ring)
            slot = cqe.user_data
            if cqe.res != BLOCK:
                raise _bad("bad read completion", slot, cqe.res)
            cqe_seen(ring, cqe)
            sqe = get_sqe(ring)
            prep_read(sqe, fd, bufs[slot], BLOCK, next_off())
            set_data64(sqe, slot)
            n += 1
        return n

    def close():
        if not pins:            # the qd reads prepared by the last step: submit and reap them
            L.io_uring_submit_and_wait(ring, qd)
            L.io_uring_cq_advance(ring, L.io_uring_cq_ready(ring))
        L.io_uring_queue_exit(ring)
        bufs.clear()

    return (step_advance if shape == "advance" else step_seen), close


def _pypi_read(fd: int, offsets, qd: int, shape: str):
    U = import_pypi_liburing()
    ring, holder = U.Ring(), U.Cqe()
    U.io_uring_queue_init(qd, ring)
    bufs = [bytearray(BLOCK) for _ in range(qd)]
    get_sqe, prep_read, set_data64 = U.io_uring_get_sqe, U.io_uring_prep_read, U.io_uring_sqe_set_data64
    submit_and_wait, cq_advance = U.io_uring_submit_and_wait, U.io_uring_cq_advance
    CqeIter, peek_cqe, cqe_seen, cq_ready = U.CqeIter, U.io_uring_peek_cqe, U.io_uring_cqe_seen, U.io_uring_cq_ready
    next_off = itertools.cycle(offsets).__next__
    for slot in range(qd):
        sqe = get_sqe(ring)
        prep_read(sqe, fd, bufs[slot], next_off())
        set_data64(sqe, slot)

    def step_advance():
        submit_and_wait(ring, 1)
        done = []
        for _ in CqeIter(ring, holder):
            cqe = holder[0]
            if cqe.res != BLOCK:
                raise _bad("bad read completion", cqe.user_data, cqe.res)
            done.append(cqe.user_data)
        cq_advance(ring, len(done))
        for slot in done:
            sqe = get_sqe(ring)
            prep_read(sqe, fd, bufs[slot], next_off())
            set_data64(sqe, slot)
        return len(done)

    def step_seen():
        submit_and_wait(ring, 1)
        n = 0
        while cq_ready(ring):
            peek_cqe(ring, holder)
            cqe = holder[0]
            slot = cqe.user_data
            if cqe.res != BLOCK:
                raise _bad("bad read completion", slot, cqe.res)
            cqe_seen(ring, cqe)
            sqe = get_sqe(ring)
            prep_read(sqe, fd, bufs[slot], next_off())
            set_data64(sqe, slot)
            n += 1
        return n

    def close():
        # The PyPI package pins nothing: reap every read in flight before the bytearrays go.
        U.io_uring_submit(ring)
        left = qd - U.io_uring_cq_ready(ring)
        if left > 0:
            U.io_uring_wait_cqe_nr(ring, holder, left)
        U.io_uring_cq_advance(ring, U.io_uring_cq_ready(ring))
        U.io_uring_queue_exit(ring)
        bufs.clear()

    return (step_advance if shape == "advance" else step_seen), close


def _ioring_fixed(fd: int, offsets, qd: int, shape: str):
    """The read loop into registered buffers (io_uring_prep_read_fixed; slot i is buffer i)."""
    from ioring import liburing as L
    ring = L.io_uring()
    L.io_uring_queue_init(qd, ring, 0)
    bufs = [bytearray(BLOCK) for _ in range(qd)]
    L.io_uring_register_buffers(ring, bufs)
    get_sqe, prep_read_fixed, set_data64 = L.io_uring_get_sqe, L.io_uring_prep_read_fixed, L.io_uring_sqe_set_data64
    submit_and_wait, cq_advance = L.io_uring_submit_and_wait, L.io_uring_cq_advance
    for_each_cqe, peek_cqe, cqe_seen, cq_ready = (L.io_uring_for_each_cqe, L.io_uring_peek_cqe,
                                                  L.io_uring_cqe_seen, L.io_uring_cq_ready)
    next_off = itertools.cycle(offsets).__next__
    for slot in range(qd):
        sqe = get_sqe(ring)
        prep_read_fixed(sqe, fd, bufs[slot], BLOCK, next_off(), slot)
        set_data64(sqe, slot)

    def step_advance():
        submit_and_wait(ring, 1)
        done = []
        for cqe in for_each_cqe(ring):
            if cqe.res != BLOCK:
                raise _bad("bad read completion", cqe.user_data, cqe.res)
            done.append(cqe.user_data)
        cq_advance(ring, len(done))
        for slot in done:
            sqe = get_sqe(ring)
            prep_read_fixed(sqe, fd, bufs[slot], BLOCK, next_off(), slot)
            set_data64(sqe, slot)
        return len(done)

    def step_seen():
        submit_and_wait(ring, 1)
        n = 0
        while cq_ready(ring):
            cqe = peek_cqe(ring)
            slot = cqe.user_data
            if cqe.res != BLOCK:
                raise _bad("bad read completion", slot, cqe.res)
            cqe_seen(ring, cqe)
            sqe = get_sqe(ring)
            prep_read_fixed(sqe, fd, bufs[slot], BLOCK, next_off(), slot)
            set_data64(sqe, slot)
            n += 1
        return n

    return (step_advance if shape == "advance" else step_seen), lambda: L.io_uring_queue_exit(ring)


def _pypi_fixed(fd: int, offsets, qd: int, shape: str):
    U = import_pypi_liburing()
    ring, holder = U.Ring(), U.Cqe()
    U.io_uring_queue_init(qd, ring)
    bufs = [bytearray(BLOCK) for _ in range(qd)]
    iovecs = U.Iovec(bufs)
    U.io_uring_register_buffers(ring, iovecs)
    get_sqe, prep_read_fixed, set_data64 = U.io_uring_get_sqe, U.io_uring_prep_read_fixed, U.io_uring_sqe_set_data64
    submit_and_wait, cq_advance = U.io_uring_submit_and_wait, U.io_uring_cq_advance
    CqeIter, peek_cqe, cqe_seen, cq_ready = U.CqeIter, U.io_uring_peek_cqe, U.io_uring_cqe_seen, U.io_uring_cq_ready
    next_off = itertools.cycle(offsets).__next__
    # The PyPI package's argument order: (sqe, fd, buf, buf_index, offset).
    for slot in range(qd):
        sqe = get_sqe(ring)
        prep_read_fixed(sqe, fd, bufs[slot], slot, next_off())
        set_data64(sqe, slot)

    def step_advance():
        submit_and_wait(ring, 1)
        done = []
        for _ in CqeIter(ring, holder):
            cqe = holder[0]
            if cqe.res != BLOCK:
                raise _bad("bad read completion", cqe.user_data, cqe.res)
            done.append(cqe.user_data)
        cq_advance(ring, len(done))
        for slot in done:
            sqe = get_sqe(ring)
            prep_read_fixed(sqe, fd, bufs[slot], slot, next_off())
            set_data64(sqe, slot)
        return len(done)

    def step_seen():
        submit_and_wait(ring, 1)
        n = 0
        while cq_ready(ring):
            peek_cqe(ring, holder)
            cqe = holder[0]
            slot = cqe.user_data
            if cqe.res != BLOCK:
                raise _bad("bad read completion", slot, cqe.res)
            cqe_seen(ring, cqe)
            sqe = get_sqe(ring)
            prep_read_fixed(sqe, fd, bufs[slot], slot, next_off())
            set_data64(sqe, slot)
            n += 1
        return n

    def close():
        U.io_uring_submit(ring)
        left = qd - U.io_uring_cq_ready(ring)
        if left > 0:
            U.io_uring_wait_cqe_nr(ring, holder, left)
        U.io_uring_cq_advance(ring, U.io_uring_cq_ready(ring))
        U.io_uring_queue_exit(ring)
        bufs.clear()

    return (step_advance if shape == "advance" else step_seen), close


def _timed_c(run: Callable[[float], Tuple[int, float]]):
    """A C reference measurement as (ops, wall seconds, CPU seconds): the C loop times its own
    measured part (after its warm-up); its CPU time is that share of the call's CPU time."""
    def measure(seconds):
        w0, c0 = time.perf_counter(), time.thread_time()
        ops, secs = run(seconds)
        wall, cpu = time.perf_counter() - w0, time.thread_time() - c0
        return ops, secs, secs * (cpu / wall if wall > 0 else 1.0)
    return measure


def _c_nop(batch: int, shape: str):
    from ioring import _bench
    return _timed_c(lambda seconds: _bench.nop(batch, seconds)), None


def _c_read(fd: int, offsets, qd: int, shape: str):
    from ioring import _bench
    nblocks = os.fstat(fd).st_size // BLOCK
    return _timed_c(lambda seconds: _bench.read(fd, qd, seconds, verify=False, nblocks=nblocks)), None


def _c_fixed(fd: int, offsets, qd: int, shape: str):
    from ioring import _bench
    nblocks = os.fstat(fd).st_size // BLOCK
    return _timed_c(lambda seconds: _bench.read(fd, qd, seconds, fixed_buffers=True, verify=False,
                                                nblocks=nblocks)), None


_LOOPS = {("nop", "ioring"): _ioring_nop, ("nop", "liburing"): _pypi_nop, ("nop", "c"): _c_nop,
          ("read", "ioring"): _ioring_read, ("read", "liburing"): _pypi_read, ("read", "c"): _c_read,
          ("fixed", "ioring"): _ioring_fixed, ("fixed", "liburing"): _pypi_fixed, ("fixed", "c"): _c_fixed}


SLICES = 12    # each repetition alternates the packages this many times (drift hits both alike)


def _run_for(step: Callable[[], int], seconds: float) -> Tuple[int, float, float]:
    """Call ``step`` (it returns the operations done) for ``seconds``: (ops, wall seconds, CPU
    seconds of this thread: the loops complete their requests inline, in this thread)."""
    clock = time.perf_counter
    ops = 0
    c0 = time.thread_time()
    t0 = clock()
    end = t0 + seconds
    while True:
        for _ in range(16):
            ops += step()
        now = clock()
        if now >= end:
            return ops, now - t0, time.thread_time() - c0


def _measure_pair(op: str, value: int, shape: str, impls: Sequence[str], seconds: float,
                  fd: int, offsets, first: int,
                  extra: Optional[Dict[str, Tuple[str, object]]] = None) -> Dict[str, Tuple[int, float, float]]:
    """Each implementation's loop for ``seconds`` in all, in SLICES slices alternating between
    them (``first`` starts), after a warm-up: {impl: (ops, wall seconds, CPU seconds)}. The C
    reference ("c") measures its own slices (its loop warms up in each)."""
    made = {}
    try:
        for impl in impls:
            if extra and impl in extra:         # another binding, in ioring.liburing's loops
                make = functools.partial(_LOOPS[(op, "ioring")], L=extra[impl][1])
            else:
                make = _LOOPS[(op, impl)]
            step, close = make(value, shape) if op == "nop" else make(fd, offsets, value, shape)
            if close is None:                       # the C reference: a measuring function
                made[impl] = (step, None)
            else:
                made[impl] = ((lambda secs, step=step: _run_for(step, secs)), close)
        for impl in impls:
            if made[impl][1] is not None:
                made[impl][0](min(seconds / 10, 0.05))
        total = {impl: [0, 0.0, 0.0] for impl in impls}
        order = list(impls[first:]) + list(impls[:first])
        for k in range(SLICES):
            for impl in (order if k % 2 == 0 else order[::-1]):
                ops, wall, cpu = made[impl][0](seconds / SLICES)
                total[impl][0] += ops
                total[impl][1] += wall
                total[impl][2] += cpu
        return {impl: (t[0], t[1], t[2]) for impl, t in total.items()}
    finally:
        for _, close in made.values():
            if close is not None:
                close()


# ---- the cost of one call -----------------------------------------------------------------------

def bare_call_ns(fn, arg, number: int = _CALL_NUMBER) -> float:
    """ns of CPU time per ``fn(arg)`` with timeit (best of 3), the name lookups included as in
    any call."""
    t = timeit.Timer("f(a)", timer=time.thread_time, globals={"f": fn, "a": arg})
    return min(t.repeat(3, number)) / number * 1e9


def floor_call_ns(number: int = _CALL_NUMBER) -> float:
    """ns of CPU time per ``len(())`` with timeit (best of 3): a C builtin's call, the floor of
    any call."""
    t = timeit.Timer("len(())", timer=time.thread_time)
    return min(t.repeat(3, number)) / number * 1e9


def _pinned(cpu: Optional[int]):
    """Pin the process to ``cpu`` (default: the last CPU it may run on); returns the old
    affinity (None when pinning is impossible here)."""
    try:
        old = os.sched_getaffinity(0)
    except (AttributeError, OSError):
        return None
    target = max(old) if cpu is None else cpu
    try:
        os.sched_setaffinity(0, {target})
    except OSError:
        return None
    return old


def _warm_file(path: str) -> int:
    """Read the whole file once (into the page cache); returns its blocks."""
    fd = os.open(path, os.O_RDONLY)
    try:
        n = 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            n += len(chunk)
    finally:
        os.close(fd)
    return n // BLOCK


def run(*, seconds: float = DEFAULT_SECONDS, reps: int = DEFAULT_REPS,
        size_mib: int = DEFAULT_SIZE_MIB, directory: Optional[str] = None,
        cpu: Optional[int] = None, shapes: Sequence[str] = SHAPES,
        points: Sequence[Tuple[str, int]] = POINTS,
        progress: Optional[Callable[[int, int, str], None]] = None,
        extra: Optional[Dict[str, Tuple[str, object]]] = None) -> Report:
    """Measure the loops and the bare call for both packages, interleaved, ``reps`` times;
    return a ``Report`` (workload ``thin``; a point's ``config`` is ``<op> <shape>``, the bare
    call's is ``call``). When the PyPI package is missing, only ioring.liburing is measured
    and the report says so.

    ``extra``: {impl: (label, module)}, more bindings spelled as ioring.liburing, run in the
    very same loop functions (nop and read points only) in the same slices, with their ratio to
    the PyPI package (bench/bench_thin.py --limit: the ideal binding)."""
    if not seconds > 0 or reps < 1:
        raise ValueError("seconds must be > 0 and reps >= 1")
    for s in shapes:
        if s not in SHAPES:
            raise ValueError(f"unknown shape {s!r} (choose from {', '.join(SHAPES)})")
    extra = dict(extra or {})
    if extra and any(op not in ("nop", "read") for op, _ in points):
        raise ValueError("another binding runs the nop and read points only")
    try:
        import_pypi_liburing()
        pypi_skip = None
    except Skip as skip:
        pypi_skip = skip
    impls = ["ioring"] + ([] if pypi_skip else ["liburing"])
    looped = impls + list(extra) + ["c"]   # the C loop: what is left of a loop without Python
    tmp = tempfile.mkdtemp(prefix="ioring-bench-thin-", dir=directory or _default_dir())
    old_affinity = _pinned(cpu)
    settings = {"workloads": ["thin"], "seconds": seconds, "reps": reps, "size_mib": size_mib,
                "shapes": list(shapes), "points": [list(p) for p in points],
                "extra": {impl: label for impl, (label, _) in extra.items()},
                "cpu": (sorted(os.sched_getaffinity(0)) if old_affinity is not None else None)}
    report = Report(machine_info(tmp), settings)
    fd = -1
    try:
        offsets = None
        if any(op != "nop" for op, _ in points):
            path = os.path.join(tmp, "data.bin")
            make_file(path, size_mib << 20)
            nblocks = _warm_file(path)
            offsets = _offsets(nblocks)
            fd = os.open(path, os.O_RDONLY)
            settings["filesystem"] = filesystem_of(path)
        samples: Dict[Tuple[str, int, str, str], List[Tuple[int, float, float]]] = {}
        calls: Dict[str, List[float]] = {"floor": [], "ioring": [], "liburing": []}
        total = reps * (len(points) * len(shapes) + 1)
        done = 0
        for rep in range(reps):
            order = impls if rep % 2 == 0 else impls[::-1]
            for op, value in points:
                for shape in shapes:
                    if progress:
                        progress(done, total, f"thin {op} {value} {shape} (rep {rep + 1})")
                    got = _measure_pair(op, value, shape, looped, seconds, fd, offsets, rep % 2, extra)
                    for impl in looped:
                        samples.setdefault((op, value, shape, impl), []).append(got[impl])
                    done += 1
            if progress:
                progress(done, total, f"thin bare call (rep {rep + 1})")
            calls["floor"].append(floor_call_ns())
            for impl in order:
                calls[impl].append(_bare_call(impl))
            done += 1
        if progress:
            progress(total, total, "done")
    finally:
        if fd >= 0:
            os.close(fd)
        shutil.rmtree(tmp, ignore_errors=True)
        if old_affinity is not None:
            os.sched_setaffinity(0, old_affinity)
    _fill(report, samples, calls, impls, pypi_skip, points, shapes, extra)
    return report


def _bare_call(impl: str) -> float:
    if impl == "ioring":
        from ioring import liburing as L
        ring = L.io_uring()
        L.io_uring_queue_init(8, ring, 0)
        try:
            return bare_call_ns(L.io_uring_sq_ready, ring)
        finally:
            L.io_uring_queue_exit(ring)
    U = import_pypi_liburing()
    ring = U.Ring()
    U.io_uring_queue_init(8, ring)
    try:
        return bare_call_ns(U.io_uring_sq_ready, ring)
    finally:
        U.io_uring_queue_exit(ring)


def _median_result(op, value, shape, impl, runs, label: Optional[str] = None) -> Result:
    """The median ops per CPU-second of ``runs`` [(ops, wall, cpu)]; the wall-clock rate in the
    note."""
    rates = [ops / cpu for ops, wall, cpu in runs]
    walls = [ops / wall for ops, wall, cpu in runs]
    med = statistics.median(rates)
    r = Result("thin", "batch" if op == "nop" else "qd", value, f"{op} {shape}", impl,
                 label or IMPLS[impl], ops=round(med * 1e6), seconds=1e6, reference=REFERENCE,
                 note=f"median of {len(runs)} (min {min(rates) / 1e3:.0f}K, max {max(rates) / 1e3:.0f}K); "
                      f"wall clock {statistics.median(walls) / 1e3:.0f}K/s")
    return r


def _ratio(mine, theirs, index: int) -> float:
    """The median of the per-repetition ratios of ops per second (index 1: wall, 2: CPU)."""
    return statistics.median((a[0] / a[index]) / (b[0] / b[index]) for a, b in zip(mine, theirs))


def _fill(report: Report, samples, calls, impls, pypi_skip, points, shapes, extra=None) -> None:
    reps = report.settings["reps"]
    for op, value in points:
        for shape in shapes:
            mine = samples[(op, value, shape, "ioring")]
            r = _median_result(op, value, shape, "ioring", mine)
            report.results.append(r)
            if pypi_skip is not None:
                report.results.append(Result("thin", r.param, value, r.config, "liburing",
                                               IMPLS["liburing"], pypi_skip.status, note=pypi_skip.note,
                                               reference=REFERENCE))
                r.note += "; no PyPI liburing to compare with"
            c_ref = _median_result(op, value, shape, "c", samples[(op, value, shape, "c")])
            c_ref.note = "the same work without Python: " + c_ref.note
            if pypi_skip is not None:
                report.results.append(c_ref)
                continue
            theirs = samples[(op, value, shape, "liburing")]
            report.results.append(_median_result(op, value, shape, "liburing", theirs))
            for impl, (label, _) in (extra or {}).items():
                other = samples[(op, value, shape, impl)]
                o = _median_result(op, value, shape, impl, other, label)
                o.ratio = _ratio(other, theirs, 2)
                o.note += (f"; wall-clock ratio {_ratio(other, theirs, 1):.2f}x; "
                           f"ioring.liburing / this: {_ratio(mine, other, 2):.2f}x")
                report.results.append(o)
            report.results.append(c_ref)
            r.ratio = _ratio(mine, theirs, 2)
            wall_ratio = _ratio(mine, theirs, 1)
            r.note += f"; wall-clock ratio {wall_ratio:.2f}x"
            if op not in TARGET_OPS:
                continue
            target = {
                "key": f"thin-{op}-{value}-{shape}",
                "description": f"{op} {'batch' if op == 'nop' else 'QD'} {value}, {shape} loop",
                "minimum": TARGET_RATIO, "reference": IMPLS["liburing"],
                "ratio": r.ratio, "wall_ratio": wall_ratio, "met": r.ratio >= TARGET_RATIO}
            if extra:       # what the other bindings reach on the same point (the limit)
                target["others"] = {impl: _ratio(samples[(op, value, shape, impl)], theirs, 2)
                                    for impl in extra}
            report.targets.append(target)
    floor = statistics.median(calls["floor"])
    for impl in impls:
        ns = statistics.median(calls[impl])
        report.results.append(Result("thin", "call", 0, "call", impl,
                                       f"{'ioring.liburing' if impl == 'ioring' else 'liburing (PyPI)'}"
                                       ".io_uring_sq_ready(ring)", ops=_CALL_NUMBER,
                                       seconds=ns * _CALL_NUMBER / 1e9, reference=REFERENCE,
                                       note=f"{ns - floor:+.1f} ns over len(())"))
    mine_ns = statistics.median(calls["ioring"])
    report.targets.append({"key": "thin-bare-call", "description": "bare call io_uring_sq_ready(ring)",
                           "maximum_ns": TARGET_CALL_NS, "ns": mine_ns, "floor_ns": floor,
                           "met": mine_ns <= TARGET_CALL_NS})
    report.settings["floor_ns"] = floor
    report.notes.append(f"pinned to CPU {report.settings['cpu']}; {reps} repetitions, each alternating the "
                        f"packages and the C loop in {SLICES} slices; medians; ratio = median of the "
                        "per-repetition ratios ioring.liburing / liburing (PyPI).")
    report.notes.append("ops/s are per CPU-second of this thread (every request completes inline, "
                        "in it), so that other processes sharing the CPU do not count; the wall-clock "
                        "rates and ratios are in the JSON notes and the targets (wall_ratio).")
    if pypi_skip is not None:
        report.notes.append(f"liburing (PyPI) {pypi_skip.status}: {pypi_skip.note}; only "
                            "ioring.liburing was measured, no ratio.")
    report.notes.append(f"bare call: timeit on CPU time, best of 3 x {_CALL_NUMBER} calls per repetition; "
                        f"len(()) = {floor:.1f} ns (the floor of a call from Python) in this run.")


def format_report(report: Report) -> str:
    """Ops/s per point, shape and package, the ratio, the bare-call costs and the targets."""
    s = report.settings
    lines = [header(report),
             f"{s['seconds']:g} s per repetition, medians of {s['reps']}; ratio: ioring.liburing / "
             "liburing (PyPI), same loop, same run; ops/s and µs/op per CPU-second", ""]
    rows = [("point", "loop", "implementation", "ops/s", "µs/op", "ratio")]
    for r in report.results:
        if r.param == "call":
            continue
        point = f"{_POINT_NAMES[r.config.split()[0]]} {r.value}"
        shape = r.config.split()[1]
        if r.status != "ok":
            rows.append((point, shape, r.label, r.status, "", r.note))
            continue
        ratio = "ref" if r.impl == REFERENCE else (f"{r.ratio:.2f}x" if r.ratio is not None else "")
        rows.append((point, shape, r.label, _si(r.ops_per_sec), f"{r.us_per_op:.3f}", ratio))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for row in rows:
        lines.append("  ".join([row[0].ljust(widths[0]), row[1].ljust(widths[1]), row[2].ljust(widths[2]),
                                row[3].rjust(widths[3]), row[4].rjust(widths[4]), row[5]]).rstrip())
    asks = _python_shares(report)
    others = list(s.get("extra") or {})
    if asks:
        lines += ["", "what 1.15x asks: the Python part of a loop is its time minus the C loop's (same "
                  "kernel work); PyPI's loop must lose 13% of its time, all of it from its Python part",
                  f"  {'point':<13} {'loop':<8} {'PyPI µs':>8} {'C µs':>7} {'PyPI Python':>12} "
                  f"{'cut needed':>11} {'cut made':>9}" + "".join(f" {'by ' + o:>10}" for o in others)]
        for point, shape, tp, tc, need, made, by_other in asks:
            lines.append(f"  {point:<13} {shape:<8} {tp:8.3f} {tc:7.3f} {tp - tc:9.3f} µs "
                         f"{need:10.0%} {made:9.0%}" + "".join(f" {by_other[o]:10.0%}" for o in others))
    lines += ["", f"bare call (timeit, CPU time; len(()) = {s.get('floor_ns', 0):.1f} ns)"]
    for r in report.results:
        if r.param == "call":
            lines.append(f"  {r.label:<45} {r.us_per_op * 1e3:6.1f} ns  ({r.note})")
    if report.targets:
        lines += ["", "targets (issue 18)"]
        for t in report.targets:
            if "maximum_ns" in t:
                want, got = f"<= {t['maximum_ns']:.0f} ns", f"{t['ns']:.1f} ns"
            else:
                want, got = f">= {t['minimum']:.2f}x PyPI", f"{t['ratio']:.2f}x"
                got += f" (wall {t['wall_ratio']:.2f}x)"
            lines.append(f"  {t['description']:<32} {want:<14} {got:>9}  {'met' if t['met'] else 'MISSED'}")
        for o, label in (s.get("extra") or {}).items():
            lines += ["", f"the limit: {label} / PyPI on the same points (bench/ideal_binding.c: "
                      f"the cheapest functions for these loops over this core)"]
            for t in report.targets:
                if o in t.get("others", {}):
                    r = t["others"][o]
                    lines.append(f"  {t['description']:<32} {r:.2f}x  "
                                 f"{'reaches' if r >= t['minimum'] else 'BELOW'} {t['minimum']:.2f}x; "
                                 f"ioring.liburing at {t['ratio'] / r:.0%} of it")
    if report.notes:
        lines += [""] + [f"note: {n}" for n in report.notes]
    return "\n".join(lines)


def _python_shares(report: Report):
    """Per point and loop: PyPI's and the C loop's µs/op, the share of PyPI's Python part (its
    time minus the C loop's) a 1.15x ratio needs removed, the share ioring.liburing removed, and
    {other binding: the share it removed}."""
    by = {(r.config, r.value, r.impl): r for r in report.results if r.param != "call" and r.status == "ok"}
    out = []
    for r in report.results:
        if r.param == "call" or r.impl != "ioring" or r.status != "ok":
            continue
        theirs, c_ref = by.get((r.config, r.value, "liburing")), by.get((r.config, r.value, "c"))
        if theirs is None or c_ref is None:
            continue
        tp, tc, to = theirs.us_per_op, c_ref.us_per_op, r.us_per_op
        python = tp - tc
        if python <= 0:
            continue
        op, shape = r.config.split()
        by_other = {o: (tp - by[(r.config, r.value, o)].us_per_op) / python
                    for o in (report.settings.get("extra") or {}) if (r.config, r.value, o) in by}
        out.append((f"{_POINT_NAMES[op]} {r.value}", shape, tp, tc,
                    (tp - tp / TARGET_RATIO) / python, (tp - to) / python, by_other))
    return out


# ---- per-call micro-timers (bench/bench_thin.py --calls) ----------------------------------------

_K = 256        # calls per timed loop (the ring's size)


def _best(fn: Callable[[], float], rounds: int) -> float:
    return min(fn() for _ in range(rounds))


class _Calls:
    """One package's single calls, each timed in a Python loop of _K calls (ns per iteration),
    set up and cleaned up outside the timed loop."""

    def __init__(self, impl: str, fd: int, module=None):
        """``module``: another binding spelled as ioring.liburing (``impl`` names it); it
        times the calls that are not in ``_SAFE_ONLY``."""
        self.impl, self.fd = impl, fd
        self.buf = bytearray(BLOCK)
        self.view = memoryview(bytearray(BLOCK))
        self.fixed = bytearray(BLOCK)           # registered buffer 0 (read_fixed)
        if module is not None:
            self.M = module
            self.ring = module.io_uring()
            module.io_uring_queue_init(_K, self.ring, 0)
            self.impl = "ioring"                # its spelling
        elif impl == "ioring":
            from ioring import liburing as L
            self.M = L
            self.ring = L.io_uring()
            L.io_uring_queue_init(_K, self.ring, 0)
            L.io_uring_register_buffers(self.ring, [self.fixed])
        else:
            U = self.M = import_pypi_liburing()
            self.ring, self.holder = U.Ring(), U.Cqe()
            U.io_uring_queue_init(_K, self.ring)
            self.iovecs = U.Iovec([self.fixed])
            U.io_uring_register_buffers(self.ring, self.iovecs)

    def close(self):
        self.M.io_uring_queue_exit(self.ring)

    # helpers (untimed)
    def _sqes(self, n=_K):
        M, ring = self.M, self.ring
        return [M.io_uring_get_sqe(ring) for _ in range(n)]

    def _flush_nops(self, sqes):
        M, ring = self.M, self.ring
        for s in sqes:
            M.io_uring_prep_nop(s)
        M.io_uring_submit_and_wait(ring, len(sqes))
        M.io_uring_cq_advance(ring, M.io_uring_cq_ready(ring))

    def _ready(self, n=_K):
        """n NOP completions waiting in the CQ."""
        M, ring = self.M, self.ring
        for i in range(n):
            s = M.io_uring_get_sqe(ring)
            M.io_uring_prep_nop(s)
            M.io_uring_sqe_set_data64(s, i + 1)
        M.io_uring_submit_and_wait(ring, n)

    def _drain(self):
        M, ring = self.M, self.ring
        M.io_uring_cq_advance(ring, M.io_uring_cq_ready(ring))

    def _ready_reads(self, n=_K):
        """n completed 4 KiB reads (each pinned ``buf``) waiting in the CQ."""
        M, ring, fd, buf = self.M, self.ring, self.fd, self.buf
        for i in range(n):
            s = M.io_uring_get_sqe(ring)
            if self.impl == "ioring":
                M.io_uring_prep_read(s, fd, buf, BLOCK, 0)
            else:
                M.io_uring_prep_read(s, fd, buf, 0)
            M.io_uring_sqe_set_data64(s, i + 1)
        M.io_uring_submit_and_wait(ring, n)

    def _flush_reads(self):
        M, ring = self.M, self.ring
        M.io_uring_submit_and_wait(ring, _K)
        M.io_uring_cq_advance(ring, M.io_uring_cq_ready(ring))

    # the timers: each returns ns per iteration of its loop
    def floor(self):
        rng = range(_K)
        t0 = time.perf_counter_ns()
        for _ in rng:
            len(())
        return (time.perf_counter_ns() - t0) / _K

    def sq_ready(self):
        f, ring, rng = self.M.io_uring_sq_ready, self.ring, range(_K)
        t0 = time.perf_counter_ns()
        for _ in rng:
            f(ring)
        return (time.perf_counter_ns() - t0) / _K

    def get_sqe(self):
        f, ring, out = self.M.io_uring_get_sqe, self.ring, [None] * _K
        rng = range(_K)
        t0 = time.perf_counter_ns()
        for i in rng:
            out[i] = f(ring)
        t = (time.perf_counter_ns() - t0) / _K
        self._flush_nops(out)
        return t

    def prep_nop(self):
        sqes, f = self._sqes(), self.M.io_uring_prep_nop
        t0 = time.perf_counter_ns()
        for s in sqes:
            f(s)
        t = (time.perf_counter_ns() - t0) / _K
        self._flush_nops(sqes)
        return t

    def prep_read(self):
        sqes, f, fd, buf = self._sqes(), self.M.io_uring_prep_read, self.fd, self.buf
        t0 = time.perf_counter_ns()
        if self.impl == "ioring":
            for s in sqes:
                f(s, fd, buf, BLOCK, 0)
        else:
            for s in sqes:
                f(s, fd, buf, 0)
        t = (time.perf_counter_ns() - t0) / _K
        self._flush_reads()
        return t

    def prep_read_view(self):
        """ioring only: the PyPI package takes a bytearray, not a memoryview."""
        sqes, f, fd, view = self._sqes(), self.M.io_uring_prep_read, self.fd, self.view
        t0 = time.perf_counter_ns()
        for s in sqes:
            f(s, fd, view, BLOCK, 0)
        t = (time.perf_counter_ns() - t0) / _K
        self._flush_reads()
        return t

    def prep_read_unpinned(self):
        """ioring only: buf None (C's NULL, for a provided buffer): nothing exported or pinned,
        so the difference to prep_read is what the pin costs in the prep (the kernel answers
        -EFAULT without IOSQE_BUFFER_SELECT)."""
        sqes, f, fd = self._sqes(), self.M.io_uring_prep_read, self.fd
        t0 = time.perf_counter_ns()
        for s in sqes:
            f(s, fd, None, BLOCK, 0)
        t = (time.perf_counter_ns() - t0) / _K
        self._flush_reads()
        return t

    def prep_read_fixed(self):
        sqes, f, fd, buf = self._sqes(), self.M.io_uring_prep_read_fixed, self.fd, self.fixed
        t0 = time.perf_counter_ns()
        if self.impl == "ioring":
            for s in sqes:
                f(s, fd, buf, BLOCK, 0, 0)
        else:
            for s in sqes:
                f(s, fd, buf, 0, 0)         # (sqe, fd, buf, buf_index, offset)
        t = (time.perf_counter_ns() - t0) / _K
        self._flush_reads()
        return t

    def set_data64(self):
        sqes, f = self._sqes(), self.M.io_uring_sqe_set_data64
        t0 = time.perf_counter_ns()
        for s in sqes:
            f(s, 7)
        t = (time.perf_counter_ns() - t0) / _K
        self._flush_nops(sqes)
        return t

    def user_data_set(self):
        sqes = self._sqes()
        t0 = time.perf_counter_ns()
        for s in sqes:
            s.user_data = 7
        t = (time.perf_counter_ns() - t0) / _K
        self._flush_nops(sqes)
        return t

    def submit_empty(self):
        f, ring, rng = self.M.io_uring_submit, self.ring, range(_K)
        t0 = time.perf_counter_ns()
        for _ in rng:
            f(ring)
        return (time.perf_counter_ns() - t0) / _K

    def peek_cqe(self):
        self._ready(1)
        ring, rng = self.ring, range(_K)
        if self.impl == "ioring":
            f = self.M.io_uring_peek_cqe
            t0 = time.perf_counter_ns()
            for _ in rng:
                f(ring)
            t = time.perf_counter_ns() - t0
        else:
            f, h = self.M.io_uring_peek_cqe, self.holder
            t0 = time.perf_counter_ns()
            for _ in rng:
                f(ring, h)
                h[0]
            t = time.perf_counter_ns() - t0
        self._drain()
        return t / _K

    def cqe_field(self):
        self._ready(1)
        if self.impl == "ioring":
            cqe = self.M.io_uring_peek_cqe(self.ring)
        else:
            self.M.io_uring_peek_cqe(self.ring, self.holder)
            cqe = self.holder[0]
        rng = range(_K)
        t0 = time.perf_counter_ns()
        for _ in rng:
            cqe.res
        t = time.perf_counter_ns() - t0
        del cqe
        self._drain()
        return t / _K

    def peek_seen(self):
        self._ready()
        return self._peek_seen_timed()

    def _peek_seen_timed(self):
        ring, rng = self.ring, range(_K)
        seen = self.M.io_uring_cqe_seen
        if self.impl == "ioring":
            f = self.M.io_uring_peek_cqe
            t0 = time.perf_counter_ns()
            for _ in rng:
                seen(ring, f(ring))
            t = time.perf_counter_ns() - t0
        else:
            f, h = self.M.io_uring_peek_cqe, self.holder
            t0 = time.perf_counter_ns()
            for _ in rng:
                f(ring, h)
                seen(ring, h[0])
            t = time.perf_counter_ns() - t0
        self._drain()
        return t / _K

    def cq_advance(self):
        self._ready()
        f, ring, rng = self.M.io_uring_cq_advance, self.ring, range(_K)
        t0 = time.perf_counter_ns()
        for _ in rng:
            f(ring, 1)
        return (time.perf_counter_ns() - t0) / _K

    def cq_advance_read(self):
        self._ready_reads()
        f, ring, rng = self.M.io_uring_cq_advance, self.ring, range(_K)
        t0 = time.perf_counter_ns()
        for _ in rng:
            f(ring, 1)
        return (time.perf_counter_ns() - t0) / _K

    def cq_advance_all_read(self):
        """One io_uring_cq_advance(ring, 256) of 256 read CQEs, per CQE."""
        self._ready_reads()
        f, ring = self.M.io_uring_cq_advance, self.ring
        t0 = time.perf_counter_ns()
        f(ring, _K)
        return (time.perf_counter_ns() - t0) / _K

    def cq_advance_all_nop(self):
        """One io_uring_cq_advance(ring, 256) of 256 NOP CQEs, per CQE."""
        self._ready()
        f, ring = self.M.io_uring_cq_advance, self.ring
        t0 = time.perf_counter_ns()
        f(ring, _K)
        return (time.perf_counter_ns() - t0) / _K

    def peek_seen_read(self):
        self._ready_reads()
        return self._peek_seen_timed()

    def for_each_read(self):
        self._ready_reads()
        return self._for_each_timed()

    def for_each_cqe(self):
        self._ready()
        return self._for_each_timed()

    def _for_each_timed(self):
        ring = self.ring
        if self.impl == "ioring":
            each = self.M.io_uring_for_each_cqe
            t0 = time.perf_counter_ns()
            for cqe in each(ring):
                pass
            t = time.perf_counter_ns() - t0
        else:
            it, h = self.M.CqeIter, self.holder
            t0 = time.perf_counter_ns()
            for _ in it(ring, h):
                h[0]
            t = time.perf_counter_ns() - t0
        self._drain()
        return t / _K


#: (timer, what one iteration does: ioring.liburing's spelling / the PyPI package's)
CALLS = (
    ("floor", "len(()) (loop floor)", "len(())"),
    ("sq_ready", "io_uring_sq_ready(ring)", "io_uring_sq_ready(ring)"),
    ("get_sqe", "io_uring_get_sqe(ring)", "io_uring_get_sqe(ring)"),
    ("prep_nop", "io_uring_prep_nop(sqe)", "io_uring_prep_nop(sqe)"),
    ("prep_read", "io_uring_prep_read(sqe, fd, buf, 4096, 0)", "io_uring_prep_read(sqe, fd, buf, 0)"),
    ("set_data64", "io_uring_sqe_set_data64(sqe, 7)", "io_uring_sqe_set_data64(sqe, 7)"),
    ("user_data_set", "sqe.user_data = 7", "sqe.user_data = 7"),
    ("submit_empty", "io_uring_submit(ring), nothing queued", "io_uring_submit(ring)"),
    ("peek_cqe", "io_uring_peek_cqe(ring)", "io_uring_peek_cqe(ring, cqe); cqe[0]"),
    ("cqe_field", "cqe.res", "cqe.res"),
    ("peek_seen", "io_uring_cqe_seen(ring, io_uring_peek_cqe(ring))", "peek_cqe(ring, cqe); cqe_seen(ring, cqe[0])"),
    ("cq_advance", "io_uring_cq_advance(ring, 1)", "io_uring_cq_advance(ring, 1)"),
    ("for_each_cqe", "for cqe in io_uring_for_each_cqe(ring) (per CQE)", "for _ in CqeIter(ring, cqe): cqe[0]"),
    # what a read adds over a NOP
    ("prep_read_unpinned", "io_uring_prep_read(sqe, fd, None, 4096, 0): no pin", None),
    ("prep_read_view", "io_uring_prep_read(sqe, fd, memoryview, 4096, 0)", None),
    ("prep_read_fixed", "io_uring_prep_read_fixed(sqe, fd, buf, 4096, 0, 0)",
     "io_uring_prep_read_fixed(sqe, fd, buf, 0, 0)"),
    ("cq_advance_read", "io_uring_cq_advance(ring, 1), read CQEs", "io_uring_cq_advance(ring, 1), read CQEs"),
    ("cq_advance_all_nop", "io_uring_cq_advance(ring, 256) per CQE, NOPs", "the same"),
    ("cq_advance_all_read", "io_uring_cq_advance(ring, 256) per CQE, reads", "the same"),
    ("peek_seen_read", "cqe_seen(ring, peek_cqe(ring)), read CQEs", "the same, read CQEs"),
    ("for_each_read", "for cqe in io_uring_for_each_cqe(ring), reads", "CqeIter, read CQEs"),
)


#: the calls another binding (``extra``: the ideal binding, which checks nothing) is not given:
#: a None or memoryview buffer, registered buffers, an SQE attribute
_SAFE_ONLY = frozenset({"prep_read_unpinned", "prep_read_view", "prep_read_fixed", "user_data_set"})


def call_costs(*, reps: int = DEFAULT_REPS, rounds: int = 200, cpu: Optional[int] = None,
               directory: Optional[str] = None,
               extra: Optional[Dict[str, Tuple[str, object]]] = None) -> dict:
    """ns per call of each of ``CALLS`` for both packages (the PyPI one when installed): the
    best of ``rounds`` loops of 256 calls, the median over ``reps`` repetitions, the packages
    interleaved. Returns {"calls": [(key, ours, theirs, ns_ours, ns_theirs or None)], ...};
    with ``extra`` ({impl: (label, module)}, bindings spelled as ioring.liburing), also
    "others": {impl: {key: ns}} and "labels": {impl: label}."""
    try:
        import_pypi_liburing()
        impls = ["ioring", "liburing"]
        skip = None
    except Skip as s:
        impls, skip = ["ioring"], s
    extra = dict(extra or {})
    impls += list(extra)
    tmp = tempfile.mkdtemp(prefix="ioring-bench-calls-", dir=directory or _default_dir())
    old = _pinned(cpu)
    out: Dict[Tuple[str, str], List[float]] = {}
    try:
        path = os.path.join(tmp, "data.bin")
        make_file(path, 1 << 20)
        fd = os.open(path, os.O_RDONLY)
        try:
            for rep in range(reps):
                for impl in (impls if rep % 2 == 0 else impls[::-1]):
                    calls = _Calls(impl, fd, extra[impl][1] if impl in extra else None)
                    try:
                        for key, _, theirs in CALLS:
                            if impl in extra and key in _SAFE_ONLY:
                                continue
                            if impl != "liburing" or theirs is not None:
                                out.setdefault((key, impl), []).append(_best(getattr(calls, key), rounds))
                    finally:
                        calls.close()
        finally:
            os.close(fd)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            os.sched_setaffinity(0, old)
    rows = []
    for key, ours, theirs in CALLS:
        mine = statistics.median(out[(key, "ioring")])
        other = statistics.median(out[(key, "liburing")]) if (key, "liburing") in out else None
        rows.append((key, ours, theirs or "(no such spelling)", mine, other))
    others = {impl: {key: statistics.median(out[(key, impl)]) for key, _, _ in CALLS if (key, impl) in out}
              for impl in extra}
    return {"calls": rows, "reps": reps, "rounds": rounds, "others": others,
            "labels": {impl: label for impl, (label, _) in extra.items()},
            "pypi": None if skip else "liburing (PyPI)", "note": skip.note if skip else ""}


def format_call_costs(costs: dict) -> str:
    others = costs.get("others") or {}
    lines = [f"ns per loop iteration (one call + the Python loop around it), best of "
             f"{costs['rounds']} loops of {_K}, median of {costs['reps']} interleaved repetitions",
             f"{'call (ioring.liburing)':<52} {'ioring':>8} {'PyPI':>8} {'diff':>7}"
             + "".join(f" {impl:>8} {'ours-it':>7}" for impl in others) + "   PyPI spelling"]
    for key, ours, theirs, mine, other in costs["calls"]:
        o = f"{other:8.1f}" if other is not None else "       -"
        d = f"{mine - other:+7.1f}" if other is not None else "      -"
        more = ""
        for impl, ns in others.items():
            more += f" {ns[key]:8.1f} {mine - ns[key]:+7.1f}" if key in ns else f" {'-':>8} {'-':>7}"
        lines.append(f"{ours:<52} {mine:8.1f} {o} {d}{more}   {theirs}")
    for impl, label in (costs.get("labels") or {}).items():
        lines.append(f"{impl}: {label}")
    if costs["note"]:
        lines.append(f"liburing (PyPI): {costs['note']}")
    return "\n".join(lines)

