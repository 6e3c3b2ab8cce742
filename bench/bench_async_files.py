"""Reading many small files in asyncio: AsyncRing.read_file / read_files against the plain ways,
measured in the same run (issue 19, the asyncio small-files job).

    python bench/bench_async_files.py [--files N] [--size BYTES] [--reps N] [--dir DIR] [--json FILE]
                                      [--c-limit]

A directory of ``--files`` files (default 5,000) of about ``--size`` bytes (default 8 KiB,
41 MB in all; the sizes vary by +-1 KiB so that no two reads are alike) is made in ``--dir``
(default: the temp dir) and read once, so the page cache is warm. Then each method reads every
file, ``--reps`` times (default 5), the methods interleaved within each repetition so that a
noisy neighbour hurts all alike, after an untimed warm-up round of every method that also
checks its result against the files' contents; the median elapsed time is reported with the
ratio to the blocking loop (> 1: faster than it), and so is the median CPU time of the process
(io-wq workers and executor threads included): on a loaded machine the elapsed time is mostly
waiting for a CPU, the CPU time still compares the work each method does.

Methods (each coroutine runs on a fresh event loop; what sets up a ring, an executor or
aiofiles is done before the clock starts):
  blocking loop       [open(p, 'rb').read() for p in paths], on the loop's thread
  gather(read_file)   await asyncio.gather(*(ring.read_file(p) for p in paths))   (AsyncRing)
  read_files          await ring.read_files(paths)                                 (AsyncRing)
  Ring.read_files     ring.read_files(paths), synchronous (ioring.Ring, no event loop)
  run_in_executor     await asyncio.gather(*(loop.run_in_executor(None, read, p) ...)), the
                      default executor
  aiofiles            await asyncio.gather(*(read(p) ...)), read() being
                      ``async with aiofiles.open(p, 'rb') as f: return await f.read()``
                      (skipped if aiofiles is not installed)
The asyncio methods run on the default asyncio loop and, if installed, under uvloop.

``--c-limit`` also compiles bench/c/bench_smallfiles.c (cc, the include/ directory; no Python)
and runs it over as many files of the same sizes in the same directory: the kernel's cost of the
job, a C blocking loop (open/read/close) and the same openat_direct -> read -> close chains as
read_files, inline, with IOSQE_CQE_SKIP_SUCCESS on the open, on io-wq, and half of them on io-wq
of a second ring. Its wall and CPU times
(the process's, io-wq workers included) say how far the Python methods are from the limit.

Done when (issue 19): gather(read_file) >= 1.0x the blocking loop and >= 5x aiofiles;
read_files >= 1.5x the blocking loop. Figures from a shared or loaded machine are preliminary:
compare ratios of one run.
"""
import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if __name__ == "__main__":
    import _checkout      # bench/ is sys.path[0]
    _checkout.use()

import ioring                          # noqa: E402
from ioring.asyncio import AsyncRing   # noqa: E402

try:
    import aiofiles
except ImportError:
    aiofiles = None

try:
    import uvloop
except ImportError:
    uvloop = None


def make_files(directory, count, size, seed=19):
    """``count`` files of size +- 1 KiB in ``directory``, read once (warm page cache).
    Returns {path: contents}."""
    rng = random.Random(seed)
    block = os.urandom(size + 2048)
    files = {}
    for i in range(count):
        n = max(0, size + rng.randint(-1024, 1024))
        start = rng.randint(0, 1024)
        data = bytes([i & 0xFF]) + block[start:start + n - 1] if n else b""
        path = os.path.join(directory, f"f{i:05d}")
        with open(path, "wb") as f:
            f.write(data)
        files[path] = data
    for path in files:
        with open(path, "rb") as f:
            f.read()
    return files


def _read(path):
    with open(path, "rb") as f:
        return f.read()


# ---- the methods: each returns (seconds, contents list, CPU seconds of the process) ----------------------------------------

def blocking_loop(paths):
    t0, c0 = time.perf_counter(), time.process_time()
    out = [_read(p) for p in paths]
    return time.perf_counter() - t0, out, time.process_time() - c0


def ring_read_files_sync(paths):
    with ioring.Ring(256) as ring:
        ring.read_files(paths[:1])                  # the file engine is set up on first use
        t0, c0 = time.perf_counter(), time.process_time()
        out = ring.read_files(paths)
        return time.perf_counter() - t0, out, time.process_time() - c0


async def gather_read_file(paths):
    async with AsyncRing() as ring:
        await ring.read_file(paths[0])              # the file engine is set up on first use
        t0, c0 = time.perf_counter(), time.process_time()
        out = await asyncio.gather(*(ring.read_file(p) for p in paths))
        return time.perf_counter() - t0, out, time.process_time() - c0


async def async_read_files(paths):
    async with AsyncRing() as ring:
        await ring.read_file(paths[0])
        t0, c0 = time.perf_counter(), time.process_time()
        out = await ring.read_files(paths)
        return time.perf_counter() - t0, out, time.process_time() - c0


async def run_in_executor(paths):
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, _read, paths[0])     # the executor's threads started
    t0, c0 = time.perf_counter(), time.process_time()
    out = await asyncio.gather(*(loop.run_in_executor(None, _read, p) for p in paths))
    return time.perf_counter() - t0, out, time.process_time() - c0


async def aiofiles_gather(paths):
    async def read(p):
        async with aiofiles.open(p, "rb") as f:
            return await f.read()
    await read(paths[0])
    t0, c0 = time.perf_counter(), time.process_time()
    out = await asyncio.gather(*(read(p) for p in paths))
    return time.perf_counter() - t0, out, time.process_time() - c0


ASYNC_METHODS = {
    "gather(read_file)": gather_read_file,
    "read_files": async_read_files,
    "run_in_executor": run_in_executor,
}
if aiofiles is not None:
    ASYNC_METHODS["aiofiles"] = aiofiles_gather


def _loops():
    loops = {"asyncio": asyncio.new_event_loop}
    if uvloop is not None:
        loops["uvloop"] = uvloop.new_event_loop
    return loops


def _run_async(factory, fn, paths):
    loop = factory()
    try:
        return loop.run_until_complete(fn(paths))
    finally:
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()


def methods():
    """{name: callable(paths) -> (seconds, contents)}, the asyncio ones once per event loop."""
    out = {"blocking loop": blocking_loop, "Ring.read_files": ring_read_files_sync}
    for loop_name, factory in _loops().items():
        for name, fn in ASYNC_METHODS.items():
            out[f"{name} [{loop_name}]"] = (
                lambda paths, factory=factory, fn=fn: _run_async(factory, fn, paths))
    return out


def run_benchmark(directory, count, size, reps):
    load_before = os.getloadavg()
    files = make_files(directory, count, size)
    paths = list(files)
    expected = list(files.values())
    table = methods()
    for name, fn in table.items():          # a warm-up round, untimed, checks every result
        if list(fn(paths)[1]) != expected:
            raise AssertionError(f"{name}: wrong contents")
    times = {name: [] for name in table}
    cpu = {name: [] for name in table}
    for rep in range(reps):
        for name, fn in table.items():
            r = fn(paths)
            times[name].append(r[0])
            cpu[name].append(r[2] if len(r) > 2 else float("nan"))
    med = {name: statistics.median(v) for name, v in times.items()}
    med_cpu = {name: statistics.median(v) for name, v in cpu.items()}
    base = med["blocking loop"]
    return {"files": count, "total_bytes": sum(map(len, expected)), "reps": reps,
            "python": sys.version.split()[0], "dir": directory,
            "loadavg": [load_before, os.getloadavg()],
            "median_ms": {k: v * 1e3 for k, v in med.items()},
            "median_cpu_ms": {k: v * 1e3 for k, v in med_cpu.items()},
            "cpu_ratio_vs_blocking": {k: med_cpu["blocking loop"] / v for k, v in med_cpu.items()},
            "all_ms": {k: [x * 1e3 for x in v] for k, v in times.items()},
            "ratio_vs_blocking": {k: base / v for k, v in med.items()}}


def c_limit(directory, count, size, reps):
    """Compile and run bench/c/bench_smallfiles.c: {way: {"wall_ms", "cpu_ms",
    "enters_per_file"}}, or None (with the reason printed) without a C compiler."""
    source = os.path.join(HERE, "c", "bench_smallfiles.c")
    include = os.path.join(os.path.dirname(HERE), "include")
    exe = os.path.join(directory, "bench_smallfiles")
    cc = os.environ.get("CC", "cc")
    try:
        subprocess.run([cc, "-O2", "-I", include, "-o", exe, source, "-lpthread"], check=True,
                       capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"# no C limit: {cc} failed: {getattr(exc, 'stderr', None) or exc}", file=sys.stderr)
        return None
    try:
        run = subprocess.run([exe, "--files", str(count), "--size", str(size), "--reps", str(reps),
                              "--dir", directory], check=True, capture_output=True, text=True,
                             timeout=60 + 2 * count * reps / 1000)
    except subprocess.TimeoutExpired:
        print("# no C limit: bench_smallfiles did not finish in time", file=sys.stderr)
        return None
    except subprocess.CalledProcessError as exc:
        print(f"# no C limit: bench_smallfiles failed: {exc.stderr or exc.stdout}", file=sys.stderr)
        return None
    ways = {}
    for line in run.stdout.splitlines():
        if line.startswith("way="):
            kv = dict(item.split("=", 1) for item in line.split())
            ways[kv["way"]] = {k: float(kv[k]) for k in ("wall_ms", "cpu_ms", "enters_per_file")}
    return ways


def format_results(out):
    lines = [f"{out['files']:,} files, {out['total_bytes'] / 1e6:.1f} MB, warm page cache "
             f"({out['dir']}); median of {out['reps']} interleaved repetitions; Python "
             f"{out['python']}; preliminary on a shared machine; load average "
             f"{out['loadavg'][0][0]:.2f} before, {out['loadavg'][1][0]:.2f} after", "",
             f"{'method':34}{'median ms':>12}{'vs blocking':>14}{'CPU ms':>10}{'vs blocking':>14}",
             "-" * 84]
    for name, ms in out["median_ms"].items():
        lines.append(f"{name:34}{ms:12.1f}{out['ratio_vs_blocking'][name]:13.2f}x"
                     f"{out['median_cpu_ms'][name]:10.1f}{out['cpu_ratio_vs_blocking'][name]:13.2f}x")
    med = out["median_ms"]
    lines += ["", "issue 19's targets:"]
    for loop_name in _loops():
        g = med.get(f"gather(read_file) [{loop_name}]")
        rf = med.get(f"read_files [{loop_name}]")
        a = med.get(f"aiofiles [{loop_name}]")
        b = med["blocking loop"]
        parts = [f"gather/blocking {b / g:.2f}x (>= 1.0)", f"read_files/blocking {b / rf:.2f}x (>= 1.5)"]
        if a is not None:
            parts.append(f"gather/aiofiles {a / g:.1f}x (>= 5)")
        lines.append(f"  [{loop_name}] " + ", ".join(parts))
    limit = out.get("c_limit")
    if limit:
        lines += ["", "the C limit (bench/c/bench_smallfiles.c, as many files of the same sizes, no "
                  "Python; CPU = the process's, io-wq included):",
                  f"{'way':34}{'wall ms':>12}{'CPU ms':>10}{'enters/file':>13}", "-" * 69]
        for way, v in limit.items():
            lines.append(f"{way:34}{v['wall_ms']:12.1f}{v['cpu_ms']:10.1f}{v['enters_per_file']:13.3f}")
        chain = limit.get("chain")
        if chain:
            lines.append(f"  Ring.read_files / C chains: {med['Ring.read_files'] / chain['wall_ms']:.2f}x "
                         f"the limit's time; blocking loop / C loop: "
                         f"{med['blocking loop'] / limit['loop']['wall_ms']:.2f}x")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--files", type=int, default=5000)
    p.add_argument("--size", type=int, default=8192, help="mean file size in bytes")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--dir", default=None, help="where the files are made (default: temp dir)")
    p.add_argument("--json", default=None, help="also write the results to this file")
    p.add_argument("--c-limit", action="store_true",
                   help="also compile and run bench/c/bench_smallfiles.c (the kernel's cost)")
    args = p.parse_args(argv)
    if args.reps < 1 or args.files < 1:
        p.error("--reps and --files must be >= 1")
    directory = tempfile.mkdtemp(prefix="ioring-bench-async-files-", dir=args.dir)
    try:
        out = run_benchmark(directory, args.files, args.size, args.reps)
        if args.c_limit:
            out["c_limit"] = c_limit(directory, args.files, args.size, args.reps)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    print(format_results(out))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    return out


if __name__ == "__main__":
    main()
