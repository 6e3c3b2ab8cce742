"""The common ground of every workload of ``ioring.bench``: the result and report types, the
measured-file helpers, the timed loop, the runner base classes and the watchdog."""
from __future__ import annotations

import array
import mmap
import os
import platform
import random
import shutil
import struct
import tempfile
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, List, Optional, Tuple

BLOCK = 4096
WORKLOADS = ("nop", "read", "write", "small-files", "unzip")
DEFAULT_BATCHES = (1, 8, 32, 128)
DEFAULT_QDS = (1, 8, 32, 128)
DEFAULT_SIZE_MIB = 256
DEFAULT_SECONDS = 0.4
DEFAULT_FILES = 1000
DEFAULT_FILE_BYTES = 4096


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


class _Runner:
    """One implementation set up for one point: ``step()`` -> ops, ``close()``. The C reference
    overrides ``measure``."""

    def step(self) -> int:                     # pragma: no cover - overridden
        raise NotImplementedError

    def measure(self, seconds: float) -> Tuple[int, float]:
        return timed(self.step, seconds)

    def close(self) -> None:
        pass


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


def _default_dir() -> str:
    """A temporary directory on a disk-backed filesystem (tmpfs would make O_DIRECT and the
    page-cache numbers meaningless)."""
    d = tempfile.gettempdir()
    if filesystem_of(d) in ("tmpfs", "ramfs") and os.path.isdir("/var/tmp") \
            and filesystem_of("/var/tmp") not in ("tmpfs", "ramfs"):
        return "/var/tmp"
    return d


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


# ---- output ---------------------------------------------------------------------------------------

def _si(v: Optional[float]) -> str:
    if v is None:
        return "-"
    for div, suffix in ((1e9, " G"), (1e6, " M"), (1e3, " K")):
        if v >= div:
            return f"{v / div:.2f}{suffix}"
    return f"{v:.0f}"


def table_rows(results: List[Result], ok_row: Callable, failed_row: Callable) -> list:
    """The rows of a report's table, None between points (workload, value, config):
    ``ok_row(result, ratio)`` for a result measured (ratio "ref" for the reference, "1.23x" or
    "-"), ``failed_row(result, note)`` for one that did not run (its reason shown once per
    implementation, status and reason)."""
    rows: list = []
    last, seen = None, set()
    for r in results:
        key = (r.workload, r.value, r.config)
        if last is not None and key != last:
            rows.append(None)
        last = key
        if r.status != "ok":
            note = "" if (r.impl, r.status, r.note) in seen else r.note
            seen.add((r.impl, r.status, r.note))
            rows.append(failed_row(r, note))
        else:
            ratio = "ref" if r.impl == r.reference else (f"{r.ratio:.2f}x" if r.ratio is not None else "-")
            rows.append(ok_row(r, ratio))
    return rows


def header(report: Report) -> str:
    m = report.machine
    return (f"ioring {m['ioring']} | {m['cpu']}, {m['cores']} cores | Linux {m['kernel']} "
            f"{m['arch']} | {m['python']}")


def pyplot():
    """matplotlib.pyplot on the Agg backend (the plots of --plot), or RuntimeError saying how to
    install it."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise RuntimeError("--plot needs matplotlib: pip install 'ioring[bench]' "
                           "(or pip install matplotlib)") from None
    return plt


def style_qd_axis(ax, ylabel: str, title: str) -> None:
    """An axis of a plot against queue depth: log-log, labelled, gridded, with its legend."""
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("queue depth")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")


def save_figure(fig, report: Report, path: str) -> None:
    """Title ``fig`` with the run's header, write it to ``path`` (PNG) and free it."""
    plt = pyplot()
    fig.suptitle(header(report), fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
