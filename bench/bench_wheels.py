"""Issue 16's "done when" table: real wheels unpacked by ioring, zipfile and uv, installed by
ioring and pip, on tmpfs and on the disk, a fresh process per measurement.

    python bench/bench_wheels.py [--reps 5] [--fs /dev/shm /tmp] [--torch WHEEL]
                                 [--wheels torch numpy pandas] [--wheels-dir DIR]
                                 [--skip-install] [--json FILE]

What is measured, each a new process timed from spawn to exit (interpreter start-up and imports
count, as for a user), repetitions interleaved (rep 1 of every tool, then rep 2, ..., each round starting with the
next tool) so that a
noisy neighbour hurts them alike, medians reported, after one untimed warm-up round of each tool
(the wheel and the tools in the page cache):

- unpack: ``ioring.files.extract_zip`` vs ``zipfile.ZipFile.extractall`` vs ``uv pip install
  --no-deps --target`` (uv's ``UV_CACHE_DIR`` and ``TMPDIR`` on the target's filesystem and
  emptied before each round, so uv unpacks every time and never copies across devices), for
  the torch CPU wheel (``--torch``, default /opt/wheels/torch-*.whl or ``pip download``),
  numpy's and pandas' (``pip download``, cached in ``--wheels-dir``);
- install: ``ioring.files.install_wheel`` vs ``pip install --no-deps --no-compile --target``;
- for each: the peak RSS of the process (``wait4``'s ru_maxrss) and its CPU time (user + system,
  io-wq kernel workers included: they are threads of the process) per MB inflated;
- the physical limit: the CPU time of inflating every member once, one thread, with the inflater
  ioring uses (no writes), and the inflate-only time of the largest member - the critical path
  when the other CPUs take everything else;
- correctness: after the warm-up, ioring's tree must be identical to zipfile's (every path,
  every byte); uv's package files (its .dist-info aside) are compared too.

Targets (issue 16): torch >= 2.5x zipfile and >= 1.25x uv; numpy and pandas >= 2x zipfile;
install_wheel >= 2x pip; peak memory independent of member size.
"""
import argparse
import glob
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import _checkout  # noqa: E402
_checkout.use()
ROOT = _checkout.ROOT

from ioring.bench import wheel as W   # noqa: E402
from ioring import _inflate            # noqa: E402
from bench_trees import wait_for_fast_creates   # noqa: E402  (bench/ is sys.path[0])

UNPACK = ("extract_zip", "zipfile", "uv")
INSTALL = ("install_wheel", "pip")
LABELS = {"extract_zip": "ioring extract_zip", "zipfile": "zipfile.extractall",
          "uv": "uv pip install --target", "install_wheel": "ioring install_wheel",
          "pip": "pip install --target"}

# The inflater alone: every member once (one thread, 1 MiB output chunks as ioring streams), then
# the largest member alone; prints CPU seconds of each and the bytes inflated.
_INFLATE_ONLY = r"""
import os, sys, time, zipfile, struct
from ioring import _inflate
path = sys.argv[1]
z = zipfile.ZipFile(path)
fd = os.open(path, os.O_RDONLY)
H = struct.Struct("<4s5H3L2H")
def inflate(info):
    h = H.unpack(os.pread(fd, 30, info.header_offset))
    raw = os.pread(fd, info.compress_size, info.header_offset + 30 + h[9] + h[10])
    if info.compress_type != 8:
        return len(raw)
    d = _inflate.decompressobj(); n = pos = 0; tail = b""; view = memoryview(raw)
    while True:
        if not tail and pos < len(raw):
            tail = view[pos:pos + (256 << 10)]; pos += 256 << 10
        out = d.decompress(tail, 1 << 20); tail = d.unconsumed_tail; n += len(out)
        if d.eof or (not out and not tail and pos >= len(raw)):
            return n
infos = [i for i in z.infolist() if not i.is_dir()]
t = time.process_time(); total = sum(inflate(i) for i in infos); all_cpu = time.process_time() - t
big = max(infos, key=lambda i: i.file_size)
t = time.process_time(); inflate(big); big_cpu = time.process_time() - t
print(all_cpu, total, big_cpu, big.file_size, big.filename)
"""

# The writer alone: the wheel's members inflated in memory first (not timed), then written into a
# fresh directory with os.makedirs and os.open/os.write/os.close (writes of at most the engine's
# _WRITE_MAX, see ioring._unzip._write_max), by 1 thread and by N threads taking members
# largest first; prints "threads wall cpu" per configuration and repetition.
_WRITE_ONLY = r"""
import os, resource, sys, threading, time, zipfile
sys.path[:0] = [sys.argv[4]] if sys.argv[4] else []
from ioring.bench.wheel import clear_round
from ioring._unzip import _WRITE_MAX as WRITE_MAX
path, base, reps, keep = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[5] == "1"
z = zipfile.ZipFile(path)
members = [(i.filename, z.read(i)) for i in z.infolist() if not i.is_dir()]
members.sort(key=lambda m: len(m[1]), reverse=True)
dirs = sorted({os.path.dirname(n) for n, _ in members} - {""}, key=lambda d: d.count("/"))
FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
def write_all(dest, nthreads):
    os.mkdir(dest)
    for d in dirs:
        os.makedirs(os.path.join(dest, d), exist_ok=True)
    take = iter(range(len(members))).__next__
    lock = threading.Lock()
    def work():
        while True:
            with lock:
                try:
                    i = take()
                except StopIteration:
                    return
            name, data = members[i]
            fd = os.open(os.path.join(dest, name), FLAGS, 0o644)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view[:WRITE_MAX]):]
            os.close(fd)
    threads = [threading.Thread(target=work) for _ in range(nthreads - 1)]
    for t in threads:
        t.start()
    work()
    for t in threads:
        t.join()
n = len(os.sched_getaffinity(0))
for rep in range(reps):
    for nthreads in sorted({1, n}):
        dest = os.path.join(base, f"w{nthreads}-{rep}")
        c, t = cpu(), time.perf_counter()
        write_all(dest, nthreads)
        print(nthreads, time.perf_counter() - t, cpu() - c, flush=True)
        clear_round(dest, keep)
"""


def tree_digest(root):
    """relative path -> SHA-256 of every file, None for every directory."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        for d in dirnames:
            out[os.path.normpath(os.path.join(rel, d))] = None
        for name in filenames:
            h = hashlib.sha256()
            with open(os.path.join(dirpath, name), "rb") as f:
                while chunk := f.read(1 << 22):
                    h.update(chunk)
            out[os.path.normpath(os.path.join(rel, name))] = h.digest()
    return out


def get_wheels(args):
    wheels = {}
    want = set(args.wheels)
    torch = args.torch or next(iter(sorted(glob.glob("/opt/wheels/torch-*.whl"))), None)
    os.makedirs(args.wheels_dir, exist_ok=True)
    specs = [("numpy", "numpy"), ("pandas", "pandas")]
    if torch is None:
        specs.insert(0, ("torch", "torch==2.13.0+cpu"))
    else:
        wheels["torch"] = torch
    specs = [(k, s) for k, s in specs if k in want]
    wheels = {k: v for k, v in wheels.items() if k in want}
    for key, spec in specs:
        have = sorted(glob.glob(os.path.join(args.wheels_dir, f"{key}-*.whl")))
        if not have:
            subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                            "--only-binary", ":all:", "-d", args.wheels_dir, spec], check=True)
            have = sorted(glob.glob(os.path.join(args.wheels_dir, f"{key}-*.whl")))
        wheels[key] = have[-1]
    return wheels


def inflate_only(wheel):
    env = _checkout.child_env()
    out = subprocess.run([sys.executable, "-c", _INFLATE_ONLY, wheel], capture_output=True,
                         text=True, env=env, check=True).stdout.split()
    return {"cpu": float(out[0]), "bytes": int(out[1]), "largest_cpu": float(out[2]),
            "largest_bytes": int(out[3]), "largest": out[4]}


def write_only(wheel, base, reps, keep_inodes):
    """The writer alone on ``base``'s filesystem: {threads: {"wall", "cpu"}} (medians)."""
    r = subprocess.run([sys.executable, "-c", _WRITE_ONLY, wheel, base, str(reps), _checkout.IMPORT_PATH,
                        "1" if keep_inodes else "0"], capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"the writer alone failed: {r.stderr.strip()[-2000:]}")
    out = r.stdout.split("\n")
    runs = {}
    for line in filter(None, out):
        n, wall, cpu = line.split()
        runs.setdefault(int(n), []).append((float(wall), float(cpu)))
    return {n: {"wall": statistics.median(w for w, _ in v),
                "cpu": statistics.median(c for _, c in v)} for n, v in runs.items()}


def memory_probe(mb):
    """Milliseconds per MB of touching ``mb`` MB of fresh anonymous memory, twice (unmapped in
    between), and what the kernel's free page reporting says (present in this VM's kernel):
    pages the guest frees are reported to the host, which may reclaim them; the next touch of
    such a page costs a fault in the host (~20 us a page here against ~1 us)."""
    import mmap
    chunk = b"\1" * (1 << 20)
    passes = []
    for _ in range(2):
        m = mmap.mmap(-1, mb << 20)
        t = time.perf_counter()
        for _ in range(mb):
            m.write(chunk)
        passes.append(1000 * (time.perf_counter() - t) / mb)
        m.close()
    params = {}
    pdir = "/sys/module/page_reporting/parameters"
    if os.path.isdir(pdir):
        for name in sorted(os.listdir(pdir)):
            try:
                with open(os.path.join(pdir, name)) as f:
                    params[name] = f.read().strip()
            except OSError:
                pass
    return {"mb": mb, "ms_per_mb": passes, "page_reporting": params}


def write_probe(directory, mib=256):
    """CPU seconds of writing ``mib`` MiB to a new file in ``directory`` in writes of 64 KiB
    and of 1 MiB (medians of 2; each file truncated afterwards, its inode kept): where the
    kernel reports free memory to the hypervisor in small blocks, the large page-cache folios
    that big writes get on ext4 cost a fault in the host each (ioring._unzip._write_max)."""
    import resource

    def cpu():
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime
    buf = memoryview(b"\1" * (1 << 20))
    out = {}
    for rep in range(2):
        for size in (64 << 10, 1 << 20):
            path = os.path.join(directory, f"write-probe-{size}-{rep}")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            c = cpu()
            for _ in range((mib << 20) // size):
                os.write(fd, buf[:size])
            out.setdefault(size, []).append(cpu() - c)
            os.close(fd)
            os.truncate(path, 0)
    return {f"{size >> 10} KiB": statistics.median(v) for size, v in out.items()}


def journal(path):
    """'yes'/'no' for an ext3/ext4 file system (whether jbd2 runs for its device), else None."""
    try:
        with open("/proc/self/mountinfo") as f:
            best, dev, kind = "", None, None
            real = os.path.realpath(path)
            for line in f:
                fields = line.split()
                mount = fields[4]
                tail = fields[fields.index("-") + 1:]
                if (real == mount or real.startswith(mount.rstrip("/") + "/")) and \
                        len(mount) >= len(best):
                    best, kind, dev = mount, tail[0], tail[1]
    except (OSError, ValueError, IndexError):
        return None
    if kind not in ("ext3", "ext4") or not dev:
        return None
    name = os.path.basename(dev)
    return "yes" if glob.glob(f"/proc/fs/jbd2/{name}-*") else "no"


def measure_once(impl, wheel, base, rnd):
    tmp = tempfile.mkdtemp(prefix=f"{impl}-{rnd}-", dir=base)
    dest = os.path.join(tmp, "dest")
    cmd, env = W.command(impl, wheel, dest, tmp)       # PYTHONPATH: this checkout's ioring
    wall, cpu, rss, inner = W.run_child(cmd, env)
    return {"wall": wall, "cpu": cpu, "rss": rss, "inner": inner}, dest, tmp


def run(args):
    wheels = get_wheels(args)
    report = {"machine": {"cpu": platform.processor() or platform.machine(),
                          "cpus": os.cpu_count(), "kernel": platform.release(),
                          "python": platform.python_version(),
                          "inflater": f"{_inflate.NAME} {_inflate.VERSION}",
                          "load": os.getloadavg()},
              "command": " ".join([os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:]),
              "wheels": {k: os.path.basename(v) for k, v in wheels.items()},
              "byte_compiled": W.byte_compile_package(),
              "memory": memory_probe(256),
              "inflate_only": {}, "write_only": {}, "filesystems": {}, "results": {},
              "identical": {}}
    uv = shutil.which("uv") is not None
    for key, wheel in wheels.items():
        report["inflate_only"][key] = inflate_only(wheel)
    for fs in args.fs:
        kind = W.filesystem_of(os.path.abspath(fs))
        keep = kind not in ("tmpfs", "ramfs")          # see W.clear_round
        base = tempfile.mkdtemp(prefix="ioring-wheels-", dir=fs)
        info = report["filesystems"][kind] = {"dir": fs, "journal": journal(base)}
        try:
            if keep:
                info["create_us"] = wait_for_fast_creates(os.path.join(base, "probe"),
                                                          args.settle)
            info["write_256mib_cpu"] = write_probe(base)
            for key, wheel in wheels.items():
                report["write_only"][f"{kind} {key}"] = write_only(
                    wheel, tempfile.mkdtemp(prefix="writer-", dir=base), 3, keep)
                impls = [i for i in UNPACK if i != "uv" or uv]
                if not args.skip_install:
                    impls += list(INSTALL)
                samples = {i: [] for i in impls}
                ref = os.path.join(base, f"zipfile-reference-{key}")
                for rnd in range(args.reps + 1):        # round 0: warm-up (and the checks)
                    # Each round starts with the next tool: a tool that always ran right after
                    # the same one would always inherit its after-effects (uv's 35 MiB and the
                    # tree just removed: the kernel frees and reports those pages meanwhile).
                    shift = rnd % len(impls)
                    for impl in impls[shift:] + impls[:shift]:
                        s, dest, tmp = measure_once(impl, wheel, base, rnd)
                        if rnd == 0 and impl in ("extract_zip", "uv"):
                            if not os.path.exists(ref):
                                zipfile.ZipFile(wheel).extractall(ref)
                            mine, theirs = tree_digest(dest), tree_digest(ref)
                            if impl == "uv":      # uv adds bin/, .lock and its own .dist-info
                                same = all(mine.get(k) == v for k, v in theirs.items()
                                           if ".dist-info" not in k)
                            else:
                                same = mine == theirs
                            report["identical"][f"{kind} {key} {impl}"] = same
                            if not same:
                                print(f"!! {impl}'s tree of {key} differs from zipfile's",
                                      file=sys.stderr)
                        W.clear_round(tmp, keep)
                        if rnd:
                            samples[impl].append(s)
                    if rnd == 0 and os.path.exists(ref):
                        W.clear_round(ref, keep)
                    print(f"{kind} {key}: round {rnd} done", file=sys.stderr)
                mb = report["inflate_only"][key]["bytes"] / 1e6
                report["results"][f"{kind} {key}"] = {
                    impl: {"wall": statistics.median(x["wall"] for x in v),
                           "cpu": statistics.median(x["cpu"] for x in v),
                           "inner": (statistics.median(x["inner"] for x in v)
                                     if v[0]["inner"] is not None else None),
                           "rss_mib": max(x["rss"] for x in v) / 2**20,
                           "cpu_ms_per_mb": 1000 * statistics.median(x["cpu"] for x in v) / mb,
                           "walls": [round(x["wall"], 3) for x in v]}
                    for impl, v in samples.items()}
        finally:
            shutil.rmtree(base, ignore_errors=True)
    return report


def table(report):
    lines = [f"command: `python {report['command']}`",
             f"machine: {report['machine']['cpus']} CPUs, Linux {report['machine']['kernel']}, "
             f"Python {report['machine']['python']}, inflater {report['machine']['inflater']}, "
             f"load average at start {', '.join(f'{x:.1f}' for x in report['machine']['load'])}",
             f"ioring's modules byte-compiled beforehand (as an installed package's are): "
             f"{'yes' if report.get('byte_compiled') else 'no'}"]
    mem = report.get("memory")
    if mem:
        pr = mem["page_reporting"]
        lines.append(f"memory: touching {mem['mb']} MB of fresh anonymous memory costs "
                     + ", then ".join(f"{x:.2f}" for x in mem["ms_per_mb"]) + " ms/MB"
                     + (f" (free page reporting on: order {pr.get('page_reporting_order')}, "
                        f"{int(pr.get('reported_kib', 0)) >> 20} GiB reported to the host "
                        "since boot)" if pr else ""))
    for kind, info in report.get("filesystems", {}).items():
        extra = []
        if info.get("journal"):
            extra.append(f"journal: {info['journal']}")
        if "create_us" in info:
            extra.append(f"creating a file there before the run: {info['create_us']:.0f} us")
        if info.get("write_256mib_cpu"):
            extra.append("writing 256 MiB to a new file: " + ", ".join(
                f"{v:.2f} s of CPU in writes of {k}" for k, v in info["write_256mib_cpu"].items()))
        lines.append(f"{kind}: {info['dir']}" + (f" ({'; '.join(extra)})" if extra else ""))
    lines += ["", "Medians; \"process\": spawn to exit; \"in-process\": the call, library import "
             "included, interpreter start-up not (pip and uv: process only).", "",
             "| filesystem, wheel | tool | process s | in-process s | ratio (process) "
             "| ratio (in-process) | peak RSS MiB | CPU s | CPU ms/MB |",
             "|---|---|---|---|---|---|---|---|---|"]
    verdicts = []
    for where, res in report["results"].items():
        key = where.split()[-1]
        for impl, r in res.items():
            ref = {"extract_zip": ["zipfile", "uv"], "install_wheel": ["pip"]}.get(impl, [])
            ratios, inner_ratios = [], []
            for other in ref:
                o = res.get(other)
                if o:
                    ratios.append(f"{o['wall'] / r['wall']:.2f}x {other}")
                    if o.get("inner") and r.get("inner"):
                        inner_ratios.append(f"{o['inner'] / r['inner']:.2f}x {other}")
            inner = f"{r['inner']:.3f}" if r.get("inner") else "-"
            lines.append(f"| {where} | {LABELS[impl]} | {r['wall']:.3f} | {inner} | "
                         f"{', '.join(ratios)} | {', '.join(inner_ratios)} | {r['rss_mib']:.0f} | "
                         f"{r['cpu']:.2f} | {r['cpu_ms_per_mb']:.2f} |")
        mine, z = res.get("extract_zip"), res.get("zipfile")
        if mine and z:
            need = 2.5 if key == "torch" else 2.0
            got = z["wall"] / mine["wall"]
            inner = (f" (in-process {z['inner'] / mine['inner']:.2f}x)"
                     if z.get("inner") and mine.get("inner") else "")
            verdicts.append(f"{where}: extract_zip {got:.2f}x zipfile{inner}, target >= {need}x: "
                            f"{'met' if got >= need else 'MISSED'}")
        u = res.get("uv")
        if mine and u and key == "torch":
            got = u["wall"] / mine["wall"]
            verdicts.append(f"{where}: extract_zip {got:.2f}x uv, target >= 1.25x: "
                            f"{'met' if got >= 1.25 else 'MISSED'}")
        iw, p = res.get("install_wheel"), res.get("pip")
        if iw and p:
            got = p["wall"] / iw["wall"]
            verdicts.append(f"{where}: install_wheel {got:.2f}x pip, target >= 2x: "
                            f"{'met' if got >= 2 else 'MISSED'}")
    peaks = {w: r["extract_zip"]["rss_mib"] for w, r in report["results"].items()
             if "extract_zip" in r}
    if peaks:
        verdicts.append("extract_zip peak RSS: " + ", ".join(f"{w} {m:.0f} MiB"
                                                              for w, m in peaks.items()))
    lines += ["", "Inflater alone (one thread, 1 MiB output chunks, no writes; the physical "
              "limit):", "",
              "| wheel | MB inflated | CPU s | CPU ms/MB | largest member | its inflate CPU s |",
              "|---|---|---|---|---|---|"]
    for key, r in report["inflate_only"].items():
        lines.append(f"| {key} | {r['bytes'] / 1e6:.0f} | {r['cpu']:.2f} | "
                     f"{1000 * r['cpu'] / (r['bytes'] / 1e6):.2f} | {r['largest']} "
                     f"({r['largest_bytes'] / 1e6:.0f} MB) | {r['largest_cpu']:.2f} |")
    cpus = report["machine"]["cpus"]
    if report.get("write_only"):
        lines += ["", "Writer alone (the members inflated in memory beforehand, then written into "
                  "a fresh directory with os.open/os.write/os.close; medians of 3) and the limit "
                  f"it implies: an unpack on {cpus} CPUs cannot take less than max(the largest "
                  f"member's inflate, (inflate CPU + write CPU) / {cpus}), plus the interpreter's "
                  "start-up and exit (zipfile's process time minus its in-process time):", "",
                  f"| filesystem, wheel | 1 thread: wall s | CPU s | {cpus} threads: wall s | "
                  "CPU s | limit s (in-process) | best ratio vs zipfile (process) "
                  "| extract_zip now |", "|---|---|---|---|---|---|---|---|"]
        for where, w in report["write_only"].items():
            key = where.split()[-1]
            one, many = w.get(1) or w.get("1"), w.get(cpus) or w.get(str(cpus)) or {}
            inf = report["inflate_only"][key]
            limit = max(inf["largest_cpu"], (inf["cpu"] + one["cpu"]) / cpus)
            res = report["results"].get(where, {})
            z, mine = res.get("zipfile"), res.get("extract_zip")
            best = now = "-"
            if z and z.get("inner"):
                start = z["wall"] - z["inner"]
                best = f"{z['wall'] / (limit + start):.2f}x"
            if z and mine:
                now = f"{z['wall'] / mine['wall']:.2f}x"
            lines.append(f"| {where} | {one['wall']:.3f} | {one['cpu']:.3f} | "
                         f"{many.get('wall', float('nan')):.3f} | {many.get('cpu', float('nan')):.3f}"
                         f" | {limit:.3f} | {best} | {now} |")
    lines += ["", "Trees identical to zipfile's (uv: every file zipfile writes, with the same "
              "bytes): " + ", ".join(f"{k}: {'yes' if v else 'NO'}"
                                     for k, v in report["identical"].items()),
              "", "Targets:"] + [f"- {v}" for v in verdicts]
    return "\n".join(lines)


# --cpu: what each tool costs a fresh process, in CPU time and page faults (both stable on a
# loaded machine, unlike wall time): the calling process's rusage of each child (its threads
# and io-wq workers included).
_CPU_SCRIPTS = {
    "empty interpreter": "pass",
    "zipfile.extractall": "import sys, zipfile\nzipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])",
    "extract_zip": "import sys\nfrom ioring.files import extract_zip\nextract_zip(sys.argv[1], sys.argv[2])",
}


# Spawns one child and prints its CPU ms, minor faults and peak RSS (KiB). A bare interpreter
# (python -S): a child's peak RSS starts at that of the process it was exec'd from.
_CPU_SPAWNER = r"""
import os, sys
pid = os.posix_spawn(sys.argv[1], sys.argv[1:], os.environ)
_, status, ru = os.wait4(pid, 0)
print((ru.ru_utime + ru.ru_stime) * 1e3, ru.ru_minflt, ru.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def cpu_table(args, wheels):
    """Fresh-process CPU ms, minor page faults and peak RSS (medians of ``args.reps``,
    interleaved, after a warm-up) of an empty interpreter, zipfile and extract_zip of this
    checkout, and of each ``--baseline`` checkout (a built tree, e.g. a worktree of main)."""
    trees = [("extract_zip", _checkout.IMPORT_PATH)] + [
        (f"extract_zip ({os.path.basename(os.path.normpath(b))})", os.path.abspath(b))
        for b in args.baseline]
    W.byte_compile_package()        # as installing does (see W.byte_compile_package)
    for _, tree in trees[1:]:
        subprocess.run([sys.executable, "-m", "compileall", "-q", "-l",
                        os.path.join(tree, "ioring")], check=True, stdout=subprocess.DEVNULL)
    tools = [("empty interpreter", "", _CPU_SCRIPTS["empty interpreter"]),
             ("zipfile.extractall", "", _CPU_SCRIPTS["zipfile.extractall"])]
    tools += [(name, tree, _CPU_SCRIPTS["extract_zip"]) for name, tree in trees]
    lines = [f"fresh process per measurement, {args.reps} interleaved rounds after a warm-up, "
             f"medians; {args.fs[0]} ({W.filesystem_of(os.path.abspath(args.fs[0]))}), "
             f"load {os.getloadavg()[0]:.1f} at the start", "",
             "| wheel | tool | CPU ms | minor faults | peak RSS MiB | CPU vs zipfile |",
             "|---|---|---|---|---|---|"]
    base = tempfile.mkdtemp(prefix="ioring-cpu-", dir=args.fs[0])
    try:
        for key, wheel in wheels.items():
            samples = {name: [] for name, _, _ in tools}
            for rnd in range(args.reps + 1):
                shift = rnd % len(tools)
                for name, tree, code in tools[shift:] + tools[:shift]:
                    dest = os.path.join(base, "out")
                    shutil.rmtree(dest, ignore_errors=True)
                    env = dict(os.environ)
                    if tree:
                        env["PYTHONPATH"] = os.pathsep.join(
                            filter(None, [tree, env.get("PYTHONPATH")]))
                    # cwd: a directory without an ioring/ (``-c`` puts the cwd first on
                    # sys.path, before PYTHONPATH)
                    out = subprocess.run([sys.executable, "-S", "-c", _CPU_SPAWNER,
                                          sys.executable, "-c", code, wheel, dest], env=env,
                                         cwd=base, check=True, capture_output=True, text=True)
                    cpu, faults, rss, code_ = out.stdout.split()
                    if int(code_):
                        raise SystemExit(f"{name} failed on {wheel}")
                    if rnd:
                        samples[name].append((float(cpu), int(faults), int(rss) / 1024))
            med = {name: [statistics.median(x[i] for x in v) for i in range(3)]
                   for name, v in samples.items()}
            zcpu = med["zipfile.extractall"][0]
            for name, (cpu, faults, rss) in med.items():
                ratio = f"{zcpu / cpu:.2f}x" if name.startswith("extract_zip") else ""
                lines.append(f"| {key} | {name} | {cpu:.0f} | {faults:.0f} | {rss:.0f} | {ratio} |")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=5, help="measured rounds per tool (default 5)")
    parser.add_argument("--fs", nargs="+", default=["/dev/shm", "/var/tmp"],
                        help="directories whose filesystems are measured (default /dev/shm "
                        "/var/tmp: /tmp's block groups are full of the inodes the sessions' "
                        "test suites create and delete, see --settle)")
    parser.add_argument("--settle", type=float, default=600,
                        help="on a disk file system, wait up to this many seconds for file "
                        "creation to cost what it costs in a quiet directory (ext4 without a "
                        "journal looks at each inode freed in the last minutes before it picks "
                        "one; bench/RESULTS.md); default 600")
    parser.add_argument("--torch", help="the torch CPU wheel (default /opt/wheels/torch-*.whl, "
                        "else pip download torch==2.13.0+cpu)")
    parser.add_argument("--wheels-dir", default=os.path.join(tempfile.gettempdir(),
                                                             "ioring-bench-wheels"),
                        help="where numpy's and pandas' wheels are downloaded (kept)")
    parser.add_argument("--wheels", nargs="+", default=["torch", "numpy", "pandas"],
                        choices=["torch", "numpy", "pandas"], help="which wheels (default all)")
    parser.add_argument("--skip-install", action="store_true",
                        help="only unpacking (no install_wheel vs pip)")
    parser.add_argument("--json", help="also write the raw report as JSON")
    parser.add_argument("--cpu", action="store_true",
                        help="instead: CPU time, page faults and peak RSS per fresh process "
                        "(empty interpreter, zipfile, extract_zip) on the first --fs, which a "
                        "loaded machine does not blur as it does wall time")
    parser.add_argument("--baseline", nargs="*", default=[], metavar="TREE",
                        help="with --cpu: also extract_zip of these built checkouts")
    args = parser.parse_args(argv)
    t0 = time.time()
    if args.cpu:
        print(cpu_table(args, get_wheels(args)))
        print(f"\n({time.time() - t0:.0f} s)")
        return 0
    report = run(args)
    print(table(report))
    print(f"\n({time.time() - t0:.0f} s)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    return 0 if all(report["identical"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
