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

The package: this module is the runner (``run``, ``plan``) and the report (``format_report``,
``write_json``, ``plot``); ``_runner`` the ground every workload stands on (``Result``,
``Report``, ``Skip``, ``make_file``, the timed loop, the watchdog); one module per workload
(``nop``, ``rw``, ``small_files``, ``unzip``, ``wheel``; ``storage`` and ``thin`` have runs and
reports of their own); ``peers`` the adapters for the other Python io_uring packages.

Use from Python::

    from ioring import bench
    report = bench.run(["nop", "read"], seconds=0.2)
    print(bench.format_report(report))
"""
from __future__ import annotations

import errno
import os
import shutil
import tempfile
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, List, Optional, Sequence

from ioring.bench import wheel as _bench_wheel
from ioring.bench._runner import (BLOCK, DEFAULT_BATCHES, DEFAULT_FILE_BYTES, DEFAULT_FILES,
                                  DEFAULT_QDS, DEFAULT_SECONDS, DEFAULT_SIZE_MIB, WORKLOADS,
                                  BenchError, Report, Result, Skip, Stalled, _default_dir,
                                  _offsets, _ratios, _Runner, _si, _Watchdog, filesystem_of,
                                  pyplot, save_figure, style_qd_axis, table_rows,
                                  header, is_stamped, machine_info, make_file,
                                  timed)  # noqa: F401 (Stalled, timed: re-exported)
from ioring.bench.nop import NOP_IMPLS
from ioring.bench.rw import RW_IMPLS, RW_PLAIN_ONLY, RW_QD1_ONLY, RWSetup
from ioring.bench.small_files import _IoringFiles, _PyLoopFiles
from ioring.bench.unzip import _IoringUnzip, _ZipfileUnzip, make_zip

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


# ---- the run --------------------------------------------------------------------------------------

@dataclass
class _Point:
    workload: str
    param: str
    value: int
    config: str
    impl: str
    make: Callable[[], _Runner]


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
    with every tool (default: a wheel built in the run; ioring/bench/wheel.py)."""
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


# ---- output --------------------------------------------------------------------------------------

def format_report(report: Report) -> str:
    """The table: ops/s, µs/op (1/throughput: wall time / operations, not a latency; the storage
    workloads of ``ioring.bench.storage`` measure latencies) and the ratio to the reference,
    then the targets."""
    lines = [header(report),
             f"{report.settings['seconds']:g} s per point; ratios are to the C reference of the same "
             "point (small-files, unzip: to the plain-Python way), all measured in this run", ""]
    rows = [("workload", "point", "config", "implementation", "ops/s", "µs/op (1/throughput)", "ratio")]
    rows += table_rows(
        report.results,
        lambda r, ratio: (r.workload, f"{r.param} {r.value}", r.config, r.label, _si(r.ops_per_sec),
                          f"{r.us_per_op:.3f}", f"{ratio:<6} {r.note}" if r.note else ratio),
        lambda r, note: (r.workload, f"{r.param} {r.value}", r.config, r.label, r.status, "", note))
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
    plt = pyplot()
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
        style_qd_axis(ax, "ops/s", f"4 KiB random {wl}s, {mode}, {config}")
    save_figure(fig, report, path)


# Real wheels unpacked and installed by every tool (unzip): ioring/bench/wheel.py.
IMPLS.update(_bench_wheel.IMPLS)
