"""The storage workloads of ``python -m ioring bench``: fio's jobs, measured four ways in one run.

========== =========================================================================================
workload   fio job (``--rw``)
========== =========================================================================================
randread   ``randread``: uniformly random ``bs``-aligned blocks of the file
randwrite  ``randwrite``
seqread    ``read`` (sequential; ``read``/``write`` already name the QD sweeps of ``ioring.bench``)
seqwrite   ``write``
randrw     ``randrw`` with ``rwmixread`` percent reads
========== =========================================================================================

Implementations, each keeping QD requests in flight on the same file with the same bs, O_DIRECT or
not, registered buffers and file or not, and the same ring flags as fio's
(IORING_SETUP_SINGLE_ISSUER | DEFER_TASKRUN | COOP_TASKRUN where the kernel has them):

* ``c``: the C reference: ``ioring._bench.storage``, the loop of include/ioring/stream.h on a
  private ring, the GIL released from setup to teardown, no signal polling;
* ``stream``: ``Ring.run_stream``, the same loop over a ``Ring`` (Ctrl-C polled, waits bounded);
* ``thin``: ``ioring.liburing`` driven by a per-operation Python loop, the same rounds (one
  submit_and_wait(1) per round, then peek_cqe/cqe_seen/refill per completion);
* ``fio``: ``fio --ioengine=io_uring`` in a subprocess, parsed from ``--output-format=json``
  (``--fixedbufs --registerfiles`` with registered buffers, ``--norandommap``, ``--invalidate=0``
  so the page cache keeps the file, ``--unified_rw_reporting=mixed``), when fio is installed.

Latency is from the submission of a request to the reaping of its completion: the clock is read
just before the io_uring_enter that submits it and just after the one that returns its CQE (the
thin loop reads it around submit_and_wait). fio's counterpart is its total latency ``lat``
(``slat`` + ``clat``); its ``clat`` (from after the submit syscall) is kept as ``clat_us``.

Every point is measured ``reps`` times, the implementations interleaved (c, stream, thin, fio, c,
stream...), and the median of each figure is reported; each repetition starts with a warm-up of a
tenth of the time (at most 0.2 s: fio's ``--ramp_time``). A file is never written unless the
workload writes and the file was created by this run or ``allow_write`` is given.
"""
from __future__ import annotations

import array
import errno
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

from ioring.bench._runner import (BLOCK, BenchError, DEFAULT_QDS, DEFAULT_SECONDS, DEFAULT_SIZE_MIB,
                                  Report, Result, Skip, _Watchdog, _aligned, _default_dir, _ratios,
                                  _si, filesystem_of, header, machine_info, make_file, pyplot,
                                  save_figure, style_qd_axis, table_rows)

WORKLOADS = ("randread", "randwrite", "seqread", "seqwrite", "randrw")
#: workload -> rw of Ring.run_stream (fio's --rw)
RW = {"randread": "randread", "randwrite": "randwrite", "seqread": "read", "seqwrite": "write",
      "randrw": "randrw"}
IMPLS = {"c": "C reference (stream.h, private ring)", "stream": "stream (Ring.run_stream)",
         "thin": "thin layer, per-op loop", "fio": "fio (io_uring engine)"}
REFERENCE = "c"
DEFAULT_REPS = 3
DEFAULT_BS = 4096
DEFAULT_RWMIXREAD = 50
PERCENTILES = (50.0, 90.0, 99.0, 99.9)
SEED = 0x10A1


def _pkey(p: float) -> str:
    return f"p{p:g}"


# ---- what one measurement needs ---------------------------------------------------------------

@dataclass
class Job:
    """One repetition of one point: the file, the fio-like parameters, the ring flags."""
    workload: str
    path: str
    fd: int
    size: int                   # bytes of the file used (from offset 0), a multiple of bs
    bs: int
    qd: int
    direct: bool
    fixed: bool
    rwmixread: int
    seconds: float
    ramp: float
    setup_flags: int
    seed: int = SEED

    @property
    def rw(self) -> str:
        return RW[self.workload]


@dataclass
class Sample:
    """One repetition's figures."""
    ops: int
    seconds: float
    bytes: int
    lat_us: Dict[str, Optional[float]]
    clat_us: Optional[Dict[str, Optional[float]]] = None

    @property
    def ops_per_sec(self) -> float:
        return self.ops / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict:
        d = {"ops": self.ops, "seconds": self.seconds, "bytes": self.bytes,
             "ops_per_sec": self.ops_per_sec, "lat_us": self.lat_us}
        if self.clat_us is not None:
            d["clat_us"] = self.clat_us
        return d


@dataclass
class StorageResult(Result):
    """A point of a storage workload: the medians over its repetitions (``reps``)."""
    bytes: int = 0
    lat_us: Optional[Dict[str, Optional[float]]] = None
    clat_us: Optional[Dict[str, Optional[float]]] = None
    reps: List[dict] = field(default_factory=list)

    @property
    def mb_per_sec(self) -> Optional[float]:
        return self.bytes / self.seconds / 1e6 if self.status == "ok" and self.seconds > 0 else None

    def as_dict(self) -> dict:
        d = super().as_dict()
        d["mb_per_sec"] = self.mb_per_sec
        return d


def _us(values_ns: Dict[float, Optional[float]]) -> Dict[str, Optional[float]]:
    return {_pkey(p): (None if v is None else v / 1000.0) for p, v in values_ns.items()}


def fio_setup_flags() -> int:
    """The ring flags fio's io_uring engine asks for, minus those this kernel refuses:
    SINGLE_ISSUER | DEFER_TASKRUN (6.1), COOP_TASKRUN (5.19)."""
    from ioring import liburing as L
    for flags in (L.IORING_SETUP_SINGLE_ISSUER | L.IORING_SETUP_DEFER_TASKRUN | L.IORING_SETUP_COOP_TASKRUN,
                  L.IORING_SETUP_COOP_TASKRUN, 0):
        ring = L.io_uring()
        try:
            L.io_uring_queue_init(2, ring, flags)
        except OSError:
            continue
        L.io_uring_queue_exit(ring)
        return flags
    return 0


# ---- the implementations ----------------------------------------------------------------------

def _check_errors(errors: int, first) -> None:
    if errors:
        raise BenchError(f"{errors} request(s) failed, the first: {first}")


def submit_batch(job: Job) -> int:
    """Requests per io_uring_enter at most, for the C reference and the stream alike: what
    Ring.run_stream chooses for the job's file (8 for O_DIRECT or a registered file)."""
    from ioring import _stream
    return _stream.DEVICE_SUBMIT_BATCH if job.direct or job.fixed else 0


def measure_c(job: Job) -> Sample:
    from ioring import _bench
    r = _bench.storage(job.fd, job.rw, job.bs, job.qd, job.seconds, size=job.size,
                       rwmixread=job.rwmixread, fixed=job.fixed, setup_flags=job.setup_flags,
                       ramp_seconds=job.ramp, seed=job.seed, submit_batch=submit_batch(job))
    _check_errors(r["errors"], r["first_error"])
    return Sample(r["ops"], r["seconds"], r["bytes"], _us(r["lat_ns"]))


def measure_stream(job: Job) -> Sample:
    import ioring
    with ioring.Ring(job.qd, flags=job.setup_flags) as ring:
        fd = job.fd
        if job.fixed:
            ring.register_files([job.fd])
            fd = 0
        r = ring.run_stream(fd, rw=job.rw, bs=job.bs, iodepth=job.qd, size=job.size,
                            seconds=job.seconds, ramp_seconds=job.ramp, rwmixread=job.rwmixread,
                            fixed_buffers=job.fixed, fixed_file=job.fixed, seed=job.seed,
                            iodepth_batch_submit=submit_batch(job))
    _check_errors(r.errors, r.first_error)
    return Sample(r.ios, r.seconds, r.bytes_read + r.bytes_written, r.lat.percentiles_us(PERCENTILES))


def _nearest_rank(sorted_values, p: float) -> Optional[float]:
    if not sorted_values:
        return None
    k = max(1, math.ceil(p / 100 * len(sorted_values)))
    return float(sorted_values[k - 1])


def measure_thin(job: Job) -> Sample:
    """The thin layer's loop: a transcription of stream.h's rounds in Python (per request:
    get_sqe, prep_read/_write(_fixed), user_data; per round: submit_and_wait(1), then per CQE:
    peek_cqe, check, cqe_seen, refill), timed with perf_counter_ns around submit_and_wait."""
    from ioring import liburing as L
    qd, bs = job.qd, job.bs
    stride = (bs + 4095) & ~4095
    ring = L.io_uring()
    L.io_uring_queue_init_params(qd, ring, L.io_uring_params(flags=job.setup_flags))
    try:
        mem, views = _aligned(qd, stride)
        bufs = [v[:bs] for v in views]
        pattern = bytes(range(256)) * (stride // 256)
        for v in views:
            v[:] = pattern
        fd, sqe_flags = job.fd, 0
        if job.fixed:
            L.io_uring_register_buffers(ring, bufs)
            L.io_uring_register_files(ring, [job.fd])
            fd, sqe_flags = 0, L.IOSQE_FIXED_FILE
        nblocks = job.size // bs
        rnd = random.Random(job.seed)
        if job.workload.startswith("rand"):
            offsets = array.array("q", (rnd.randrange(nblocks) * bs for _ in range(1 << 16)))
        else:
            offsets = array.array("q", (b * bs for b in range(min(nblocks, 1 << 20))))
        pct = {"randread": 100, "seqread": 100, "randwrite": 0, "seqwrite": 0}.get(job.workload, job.rwmixread)
        writes = [rnd.random() * 100 >= pct for _ in range(1 << 12)]
        n_off, n_mix = len(offsets), len(writes)
        get_sqe, submit_and_wait = L.io_uring_get_sqe, L.io_uring_submit_and_wait
        peek_cqe, cqe_seen = L.io_uring_peek_cqe, L.io_uring_cqe_seen
        if job.fixed:
            prep_r, prep_w = L.io_uring_prep_read_fixed, L.io_uring_prep_write_fixed
        else:
            prep_r, prep_w = L.io_uring_prep_read, L.io_uring_prep_write
        fixed = job.fixed
        clock = time.perf_counter_ns
        t_sub = [0] * qd
        pending: List[int] = []
        lat = array.array("q")
        state = {"issued": 0}

        def queue(slot: int) -> None:
            i = state["issued"]
            state["issued"] = i + 1
            off = offsets[i % n_off]
            prep = prep_w if writes[i % n_mix] else prep_r
            sqe = get_sqe(ring)
            if fixed:
                prep(sqe, fd, bufs[slot], bs, off, slot)
                sqe.flags = sqe_flags
            else:
                prep(sqe, fd, bufs[slot], bs, off)
            sqe.user_data = slot
            pending.append(slot)

        for slot in range(qd):
            queue(slot)
        inflight = qd
        start = clock()
        t_measure = start + int(job.ramp * 1e9)
        t_stop = t_measure + int(job.seconds * 1e9)
        measuring = job.ramp <= 0
        stopping = False
        ops = nbytes = 0
        last = start
        while inflight:
            t = clock()
            for slot in pending:
                t_sub[slot] = t
            pending.clear()
            submit_and_wait(ring, 1)
            now = clock()
            if not measuring and now >= t_measure:
                measuring, t_measure = True, now
            if now >= t_stop:
                stopping = True
            cqe = peek_cqe(ring)
            while cqe is not None:
                slot, res = cqe.user_data, cqe.res
                cqe_seen(ring, cqe)
                if res != bs:
                    raise BenchError(f"request in slot {slot} returned {res} "
                                       f"({os.strerror(-res) if res < 0 else 'short'})")
                inflight -= 1
                if measuring:
                    lat.append(now - t_sub[slot])
                    ops += 1
                    nbytes += res
                    last = now
                if not stopping:
                    queue(slot)
                    inflight += 1
                cqe = peek_cqe(ring)
        lat_sorted = sorted(lat)
        return Sample(ops, (last - t_measure) / 1e9, nbytes,
                      _us({p: _nearest_rank(lat_sorted, p) for p in PERCENTILES}))
    finally:
        L.io_uring_queue_exit(ring)


def fio_command(job: Job) -> List[str]:
    """The fio command line of a job (``fio`` found on PATH)."""
    cmd = [shutil.which("fio") or "fio", "--name=ioring-bench", f"--filename={job.path}",
           f"--rw={RW[job.workload]}", f"--bs={job.bs}", f"--iodepth={job.qd}",
           f"--direct={1 if job.direct else 0}", "--ioengine=io_uring", f"--size={job.size}",
           f"--runtime={max(1, round(job.seconds * 1000))}ms", "--time_based",
           f"--ramp_time={round(job.ramp * 1000)}ms", "--norandommap", "--invalidate=0",
           "--unified_rw_reporting=mixed", "--output-format=json", "--lat_percentiles=1",
           "--clat_percentiles=1", "--percentile_list=" + ":".join(f"{p:g}" for p in PERCENTILES)]
    if job.workload == "randrw":
        cmd.append(f"--rwmixread={job.rwmixread}")
    if job.fixed:
        cmd += ["--fixedbufs", "--registerfiles"]
    return cmd


def parse_fio(text: str) -> Sample:
    """A Sample from fio's --output-format=json (with --unified_rw_reporting=mixed)."""
    start = text.find("{")
    if start < 0:
        raise BenchError(f"no JSON in fio's output: {text[:200]!r}")
    data = json.loads(text[start:])
    j = data["jobs"][0]
    if j.get("error"):
        raise BenchError(f"fio: error {j['error']} ({os.strerror(j['error'])})")
    m = j["mixed"]

    def pct(section: str) -> Dict[str, Optional[float]]:
        table = m.get(section, {}).get("percentile", {})
        return {_pkey(p): (table[f"{p:.6f}"] / 1000.0 if f"{p:.6f}" in table else None)
                for p in PERCENTILES}
    seconds = m["runtime"] / 1000.0
    return Sample(int(m["total_ios"]), seconds, int(m["io_bytes"]), pct("lat_ns"), pct("clat_ns"))


def measure_fio(job: Job) -> Sample:
    if shutil.which("fio") is None:
        raise Skip("not installed", "fio is not installed (Debian/Ubuntu: apt-get install fio)")
    out = subprocess.run(fio_command(job), capture_output=True, text=True,
                         timeout=60 + 3 * (job.seconds + job.ramp))
    if out.returncode != 0:
        raise BenchError(f"fio exited with {out.returncode}: {(out.stderr or out.stdout)[-500:]}")
    return parse_fio(out.stdout)


MEASURE: Dict[str, Callable[[Job], Sample]] = {
    "c": measure_c, "stream": measure_stream, "thin": measure_thin, "fio": measure_fio}


# ---- the file -------------------------------------------------------------------------------------

class Target:
    """The file of a run: ``file`` (used as is; written only with ``allow_write``) or a new
    ``size_mib`` file in a temporary directory, removed at the end."""

    def __init__(self, file: Optional[str], size_mib: int, directory: Optional[str], direct: bool,
                 allow_write: bool):
        from ioring import _stream
        self.tmp = None
        self.fds: Dict[bool, int] = {}
        self.direct = direct
        self.created = False
        flags = os.O_DIRECT if direct else 0
        try:
            if file and os.path.exists(file):
                self.path = file
                probe = os.open(file, os.O_RDONLY)
                try:
                    self.size = _stream.file_size(probe)
                finally:
                    os.close(probe)
                if self.size < BLOCK:
                    raise Skip("skipped", f"--file {file} is smaller than 4 KiB (or not a file "
                                            "or a block device)")
                writable = allow_write
            else:
                if file:
                    self.path = file
                else:
                    self.tmp = tempfile.mkdtemp(prefix="ioring-bench-", dir=directory or _default_dir())
                    self.path = os.path.join(self.tmp, "data.bin")
                need = size_mib << 20
                free = shutil.disk_usage(os.path.dirname(os.path.abspath(self.path))).free
                if free < need + (64 << 20):
                    raise Skip("skipped", f"not enough free space for a {size_mib} MiB file in "
                                            f"{os.path.dirname(self.path)}")
                self.size = make_file(self.path, need, sync=direct) * BLOCK
                self.created = writable = True
            try:
                self.fds[False] = os.open(self.path, os.O_RDONLY | flags)
                if writable:
                    self.fds[True] = os.open(self.path, os.O_RDWR | flags)
            except OSError as exc:
                if direct and exc.errno == errno.EINVAL:
                    raise Skip("skipped", f"O_DIRECT refused on {filesystem_of(self.path)} "
                                            f"({self.path})") from None
                raise
        except BaseException:
            self.close()
            raise

    def fd(self, write: bool) -> int:
        if write and True not in self.fds:
            raise Skip("skipped", f"refusing to write into {self.path}, which this run did not "
                                    "create (--allow-write to permit it)")
        return self.fds[write]

    def warm_page_cache(self) -> None:
        """Read the file once, so that page-cache points measure the cache."""
        fd = os.open(self.path, os.O_RDONLY)
        try:
            chunk = 1 << 20
            for off in range(0, self.size, chunk):
                if not os.pread(fd, chunk, off):
                    break
        finally:
            os.close(fd)

    def close(self) -> None:
        for fd in set(self.fds.values()):
            os.close(fd)
        self.fds = {}
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None
        elif self.created and os.path.exists(self.path):
            os.unlink(self.path)        # a --file path that did not exist: created here


# ---- the run ----------------------------------------------------------------------------------

def _median_sample(samples: List[Sample]) -> Sample:
    """The median of every figure over the repetitions (each figure on its own)."""
    def med(values):
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else None
    rate = med([s.ops_per_sec for s in samples])
    bw = med([s.bytes / s.seconds for s in samples if s.seconds > 0])
    seconds = med([s.seconds for s in samples])
    keys = samples[0].lat_us.keys()
    lat = {k: med([s.lat_us.get(k) for s in samples]) for k in keys}
    clat = None
    if samples[0].clat_us is not None:
        clat = {k: med([(s.clat_us or {}).get(k) for s in samples]) for k in keys}
    # ops and bytes scaled to the median seconds, so that ops/seconds is the median rate
    return Sample(round(rate * seconds), seconds, round((bw or 0) * seconds), lat, clat)


def _label(impl: str) -> str:
    return IMPLS[impl]


def run(workloads: Sequence[str], *, seconds: float = DEFAULT_SECONDS,
        qds: Sequence[int] = DEFAULT_QDS, bs: int = DEFAULT_BS, file: Optional[str] = None,
        size_mib: int = DEFAULT_SIZE_MIB, directory: Optional[str] = None, direct: bool = False,
        fixed: Optional[bool] = None, reps: int = DEFAULT_REPS, rwmixread: int = DEFAULT_RWMIXREAD,
        allow_write: bool = False, impls: Optional[Sequence[str]] = None,
        progress: Optional[Callable[[int, int, str], None]] = None) -> Report:
    """Measure the storage ``workloads`` (of WORKLOADS) and return a Report of StorageResults.

    ``qds`` queue depths, ``bs`` bytes per request, ``seconds`` per repetition (after a warm-up
    of a tenth of it, at most 0.2 s), ``reps`` repetitions per point (medians reported);
    ``file`` (used as is: written only with ``allow_write``) or a new ``size_mib`` MiB file under
    ``directory``; ``direct``: O_DIRECT; ``fixed``: None both plain and registered buffers/file,
    True registered only, False plain only; ``impls`` restricts the implementations (the C
    reference always runs)."""
    for w in workloads:
        if w not in WORKLOADS:
            raise ValueError(f"unknown storage workload {w!r} (choose from {', '.join(WORKLOADS)})")
    if not seconds > 0 or reps < 1 or bs < 1:
        raise ValueError("seconds must be > 0, reps and bs >= 1")
    if not 0 <= rwmixread <= 100:
        raise ValueError("rwmixread is a percentage (0..100)")
    chosen = [k for k in IMPLS if not impls or k in impls or k == REFERENCE]
    configs = ["plain", "registered"] if fixed is None else (["registered"] if fixed else ["plain"])
    ramp = min(seconds / 10, 0.2)
    flags = fio_setup_flags()
    settings = {"workloads": list(workloads), "seconds": seconds, "ramp_seconds": ramp,
                "qds": list(qds), "bs": bs, "direct": direct, "reps": reps,
                "fixed": "both" if fixed is None else ("registered" if fixed else "plain"),
                "rwmixread": rwmixread, "size_mib": size_mib, "file": file,
                "allow_write": allow_write, "setup_flags": flags,
                "fio": _fio_version()}
    report = Report(machine_info(directory or _default_dir()), settings)
    skip: Optional[Skip] = None
    target = None
    try:
        target = Target(file, size_mib, directory, direct, allow_write)
    except Skip as exc:
        skip = exc
    try:
        if target is not None:
            settings["file_mib"] = target.size / (1 << 20)
            settings["filesystem"] = filesystem_of(target.path)
            settings["path"] = target.path
            if not direct:
                target.warm_page_cache()
        points = [(wl, qd, cfg) for wl in workloads for cfg in configs for qd in qds]
        total, done = len(points) * reps * len(chosen), 0
        for wl, qd, cfg in points:
            write = wl in ("randwrite", "seqwrite", "randrw")
            samples: Dict[str, List[Sample]] = {k: [] for k in chosen}
            failed: Dict[str, Skip | str] = {}
            job = None
            point_skip = skip
            if point_skip is None:
                try:
                    size = (target.size // bs) * bs
                    if size < bs:
                        raise Skip("skipped", f"the file is smaller than bs={bs}")
                    job = Job(wl, target.path, target.fd(write), size, bs, qd, direct,
                              cfg == "registered", rwmixread, seconds, ramp, flags)
                except Skip as exc:
                    point_skip = exc
            for rep in range(reps):
                for impl in chosen:
                    if progress:
                        progress(done, total, f"{wl} qd={qd} {cfg} {impl} rep {rep + 1}/{reps}")
                    done += 1
                    if point_skip is not None or impl in failed:
                        continue
                    try:
                        with _Watchdog(30 + 5 * (seconds + ramp)):
                            samples[impl].append(MEASURE[impl](job))
                    except Skip as exc:
                        failed[impl] = exc
                    except (BenchError, OSError, RuntimeError, ValueError) as exc:
                        failed[impl] = f"{type(exc).__name__}: {exc}"
            for impl in chosen:
                r = StorageResult(wl, "qd", qd, cfg, impl, _label(impl), reference=REFERENCE)
                if point_skip is not None:
                    r.status, r.note = point_skip.status, point_skip.note
                elif isinstance(failed.get(impl), Skip):
                    r.status, r.note = failed[impl].status, failed[impl].note
                elif impl in failed:
                    r.status, r.note = "error", failed[impl]
                else:
                    m = _median_sample(samples[impl])
                    r.ops, r.seconds, r.bytes = m.ops, m.seconds, m.bytes
                    r.lat_us, r.clat_us = m.lat_us, m.clat_us
                    r.reps = [s.as_dict() for s in samples[impl]]
                    if r.ops <= 0:
                        r.status, r.note = "error", "no request completed"
                report.results.append(r)
        if progress:
            progress(total, total, "done")
    finally:
        if target is not None:
            target.close()
    _ratios(report.results)
    report.notes = _notes(report)
    return report


def _fio_version() -> Optional[str]:
    exe = shutil.which("fio")
    if exe is None:
        return None
    try:
        return subprocess.run([exe, "--version"], capture_output=True, text=True,
                              timeout=30).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _notes(report: Report) -> List[str]:
    s = report.settings
    mode = "O_DIRECT" if s["direct"] else "the page cache (the file was read once first)"
    notes = [f"storage: {s['bs']} B requests on a {s.get('file_mib', s['size_mib']):g} MiB file on "
             f"{s.get('filesystem', '?')}, served by {mode}; medians of {s['reps']} interleaved "
             f"repetitions of {s['seconds']:g} s after a {s['ramp_seconds']:g} s warm-up.",
             "latency: submission to reaping of each request (fio: its total latency, lat = slat "
             "+ clat); registered = registered buffers and the fd registered (fio: --fixedbufs "
             "--registerfiles); ring flags as fio's: "
             f"{s['setup_flags']:#x}; the C reference and the stream hand over at most 8 requests per "
             "io_uring_enter with O_DIRECT or a registered file, else a round's refills in one "
             "(fio: 1 per enter, its iodepth_batch_submit)."]
    if s.get("fio") is None:
        notes.append("fio is not installed: apt-get install fio to compare with it.")
    return notes


# ---- output ---------------------------------------------------------------------------------------

def _fmt_us(v: Optional[float]) -> str:
    if v is None:
        return "-"
    return f"{v:.0f}" if v >= 1000 else f"{v:.1f}"


def format_report(report: Report) -> str:
    """The table: IOPS, MB/s, latency percentiles (µs) and the IOPS ratio to the C reference."""
    lines = [header(report),
             f"{report.settings['seconds']:g} s per repetition, medians of {report.settings['reps']}; "
             "ratio: IOPS / the C reference's at the same point, in this run", ""]
    pk = [_pkey(p) for p in PERCENTILES]
    head = ("workload", "qd", "config", "implementation", "IOPS", "MB/s") + tuple(f"{k} µs" for k in pk) + ("ratio",)
    rows: List[Optional[tuple]] = [head]
    rows += table_rows(
        report.results,
        lambda r, ratio: ((r.workload, str(r.value), r.config, r.label, _si(r.ops_per_sec),
                           f"{r.mb_per_sec:.1f}")
                          + tuple(_fmt_us((r.lat_us or {}).get(k)) for k in pk) + (ratio,)),
        lambda r, note: (r.workload, str(r.value), r.config, r.label, r.status, note))
    ncol = len(head)
    widths = [max(len(row[i]) for row in rows if row is not None and len(row) == ncol) for i in range(ncol)]
    for row in rows:
        if row is None:
            lines.append("")
        elif len(row) != ncol:
            lines.append("  ".join([row[0].ljust(widths[0]), row[1].ljust(widths[1]),
                                    row[2].ljust(widths[2]), row[3].ljust(widths[3]), row[4], row[5]]).rstrip())
        else:
            cells = [c.ljust(widths[i]) if i < 4 else c.rjust(widths[i]) for i, c in enumerate(row)]
            lines.append("  ".join(cells).rstrip())
    if report.notes:
        lines += [""] + [f"note: {n}" for n in report.notes]
    return "\n".join(lines)


def plot(report: Report, path: str) -> None:
    """A PNG: IOPS and p99 latency against queue depth, one line per implementation, one row of
    two panels per (workload, config). Needs matplotlib."""
    plt = pyplot()
    panels: Dict[tuple, Dict[str, list]] = {}
    for r in report.results:
        if isinstance(r, StorageResult) and r.status == "ok":
            panels.setdefault((r.workload, r.config), {}).setdefault(r.impl, []).append(
                (r.value, r.ops_per_sec, (r.lat_us or {}).get("p99")))
    if not panels:
        raise RuntimeError("--plot: no storage result in this run")
    colors = {k: f"C{i}" for i, k in enumerate(IMPLS)}
    mode = "O_DIRECT" if report.settings["direct"] else "page cache"
    fig, axes = plt.subplots(len(panels), 2, figsize=(12, 4.2 * len(panels)), squeeze=False)
    for (ax_iops, ax_lat), ((wl, config), lines) in zip(axes, sorted(panels.items())):
        for impl, pts in lines.items():
            pts.sort()
            qd = [p[0] for p in pts]
            ax_iops.plot(qd, [p[1] for p in pts], marker="o", label=IMPLS[impl], color=colors[impl])
            lat = [(q, p[2]) for q, p in zip(qd, pts) if p[2] is not None]
            ax_lat.plot([x[0] for x in lat], [x[1] for x in lat], marker="o", label=IMPLS[impl],
                        color=colors[impl])
        for ax, what in ((ax_iops, "IOPS"), (ax_lat, "p99 latency (µs)")):
            style_qd_axis(ax, what, f"{wl}, {report.settings['bs']} B, {mode}, {config}: {what}")
    save_figure(fig, report, path)
