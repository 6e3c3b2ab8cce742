"""asyncio file reads: ioring.asyncio.AsyncRing vs loop.run_in_executor(os.pread) vs aiofiles.

Reads every 4 KiB block of a 64 MiB file (in the page cache) with N concurrent tasks, each task
reading its own contiguous part of the file block after block, and reports operations per
second for each method, measured in the same run, and the ratio to ``run_in_executor``:

    (a) ``await ring.read(fd, buf, offset)`` on one ``AsyncRing`` shared by the tasks
    (b) ``await loop.run_in_executor(None, os.pread, fd, 4096, offset)`` (the default executor)
    (c) ``await f.read(4096)`` on an ``aiofiles`` file per task (skipped if not installed)

under the default asyncio loop and, if installed, uvloop. Every read is checked: each block
starts with its block number, so a method that "goes fast" by reading the wrong data fails.

    python bench/bench_asyncio.py                    # N = 1 16 64 256
    python bench/bench_asyncio.py --size-mib 16 --repeat 3 8 128
"""
import argparse
import asyncio
import os
import struct
import sys
import tempfile
import time

BLOCK = 4096


def make_file(size_mib, directory=None):
    """A file of ``size_mib`` MiB whose 4 KiB block i starts with i (8 bytes, little endian),
    read once so it sits in the page cache. Returns its path."""
    fd, path = tempfile.mkstemp(prefix="ioring-bench-asyncio-", dir=directory)
    nblocks = size_mib * (1 << 20) // BLOCK
    filler = os.urandom(BLOCK - 8)
    chunk = 256
    with os.fdopen(fd, "wb") as f:
        for start in range(0, nblocks, chunk):
            f.write(b"".join(struct.pack("<Q", i) + filler
                             for i in range(start, min(start + chunk, nblocks))))
    with open(path, "rb") as f:
        while f.read(1 << 20):
            pass
    return path


def _parts(nblocks, tasks):
    """Split blocks 0..nblocks-1 into ``tasks`` contiguous ranges."""
    per, extra = divmod(nblocks, tasks)
    out, start = [], 0
    for t in range(tasks):
        n = per + (1 if t < extra else 0)
        out.append((start, start + n))
        start += n
    return out


def _check(block, data):
    if len(data) != BLOCK or int.from_bytes(data[:8], "little") != block:
        raise AssertionError(f"block {block}: wrong data")


async def _run_ioring(path, nblocks, tasks, entries):
    from ioring.asyncio import AsyncRing
    fd = os.open(path, os.O_RDONLY)
    try:
        async with AsyncRing(entries) as ring:
            async def worker(lo, hi):
                buf = bytearray(BLOCK)
                for b in range(lo, hi):
                    n = await ring.read(fd, buf, b * BLOCK)
                    if n != BLOCK or int.from_bytes(buf[:8], "little") != b:
                        _check(b, buf[:n])
            t0 = time.perf_counter()
            await asyncio.gather(*(worker(lo, hi) for lo, hi in _parts(nblocks, tasks)))
            return time.perf_counter() - t0
    finally:
        os.close(fd)


async def _run_executor(path, nblocks, tasks):
    loop = asyncio.get_running_loop()
    fd = os.open(path, os.O_RDONLY)
    pread = os.pread
    try:
        async def worker(lo, hi):
            for b in range(lo, hi):
                data = await loop.run_in_executor(None, pread, fd, BLOCK, b * BLOCK)
                if int.from_bytes(data[:8], "little") != b or len(data) != BLOCK:
                    _check(b, data)
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(lo, hi) for lo, hi in _parts(nblocks, tasks)))
        return time.perf_counter() - t0
    finally:
        os.close(fd)


async def _run_aiofiles(path, nblocks, tasks):
    import aiofiles

    async def worker(lo, hi):
        async with aiofiles.open(path, "rb", buffering=0) as f:
            await f.seek(lo * BLOCK)
            for b in range(lo, hi):
                data = await f.read(BLOCK)
                if int.from_bytes(data[:8], "little") != b or len(data) != BLOCK:
                    _check(b, data)
    t0 = time.perf_counter()
    await asyncio.gather(*(worker(lo, hi) for lo, hi in _parts(nblocks, tasks)))
    return time.perf_counter() - t0


def _have(module):
    try:
        __import__(module)
        return True
    except ImportError:
        return False


def _new_loop(kind):
    if kind == "uvloop":
        import uvloop
        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def _reference_read_many(path, nblocks):
    """Context: the synchronous batch path (Ring.read_many, one call into C per batch of
    256 reads), no event loop involved."""
    import ioring
    fd = os.open(path, os.O_RDONLY)
    try:
        with ioring.Ring(256) as ring:
            bufs = [bytearray(BLOCK) for _ in range(256)]
            t0 = time.perf_counter()
            for start in range(0, nblocks, 256):
                n = min(256, nblocks - start)
                res = ring.read_many(fd, bufs[:n], [(start + i) * BLOCK for i in range(n)])
                if any(r != BLOCK for r in res):
                    raise AssertionError("short read")
            return nblocks / (time.perf_counter() - t0)
    finally:
        os.close(fd)


def run_benchmark(size_mib=64, concurrency=(1, 16, 64, 256), repeat=3, loops=None,
                  entries=256, directory=None, path=None):
    """Run every method for every N and loop kind; returns a dict::

        {"size_mib", "block", "nblocks", "repeat", "read_many_ops_per_s",
         "results": {loop_kind: {N: {"ioring": ops/s, "executor": ops/s,
                                     "aiofiles": ops/s or None,
                                     "ioring_vs_executor": ratio, "aiofiles_vs_executor": ratio}}}}

    ops/s is the best of ``repeat`` passes over the whole file (one op = one 4 KiB read)."""
    if loops is None:
        loops = ["asyncio"] + (["uvloop"] if _have("uvloop") else [])
    own_file = path is None
    if own_file:
        path = make_file(size_mib, directory)
    nblocks = os.path.getsize(path) // BLOCK
    have_aiofiles = _have("aiofiles")
    out = {"size_mib": size_mib, "block": BLOCK, "nblocks": nblocks, "repeat": repeat,
           "python": sys.version.split()[0], "results": {}}
    try:
        out["read_many_ops_per_s"] = _reference_read_many(path, nblocks)
        for kind in loops:
            per_loop = out["results"][kind] = {}
            for n in concurrency:
                methods = {
                    "ioring": lambda: _run_ioring(path, nblocks, n, entries),
                    "executor": lambda: _run_executor(path, nblocks, n),
                }
                if have_aiofiles:
                    methods["aiofiles"] = lambda: _run_aiofiles(path, nblocks, n)
                best = {name: float("inf") for name in methods}
                loop = _new_loop(kind)
                try:
                    # Interleave the methods so that machine noise hits all of them alike.
                    for _ in range(repeat):
                        for name, make in methods.items():
                            best[name] = min(best[name], loop.run_until_complete(make()))
                finally:
                    loop.run_until_complete(loop.shutdown_default_executor())
                    loop.close()
                row = {name: nblocks / t for name, t in best.items()}
                row.setdefault("aiofiles", None)
                row["ioring_vs_executor"] = row["ioring"] / row["executor"]
                row["aiofiles_vs_executor"] = (row["aiofiles"] / row["executor"]
                                               if row["aiofiles"] else None)
                per_loop[n] = row
    finally:
        if own_file:
            os.unlink(path)
    return out


def format_results(out):
    """The results dict as a table."""
    lines = [f"{out['nblocks']} reads of {out['block']} B ({out['size_mib']} MiB, page cache), "
             f"best of {out['repeat']}; Python {out['python']}",
             f"reference, no event loop: Ring.read_many (sync batches of 256): "
             f"{out['read_many_ops_per_s']:,.0f} ops/s", ""]
    head = f"{'loop':8} {'N':>5} {'AsyncRing':>12} {'executor':>12} {'aiofiles':>12} " \
           f"{'ring/exec':>10} {'aiof/exec':>10}"
    lines += [head, "-" * len(head)]
    for kind, rows in out["results"].items():
        for n, r in rows.items():
            aio = f"{r['aiofiles']:12,.0f}" if r["aiofiles"] else f"{'n/a':>12}"
            aior = f"{r['aiofiles_vs_executor']:9.2f}x" if r["aiofiles"] else f"{'n/a':>10}"
            lines.append(f"{kind:8} {n:5d} {r['ioring']:12,.0f} {r['executor']:12,.0f} {aio} "
                         f"{r['ioring_vs_executor']:9.2f}x {aior}")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("concurrency", nargs="*", type=int, default=[1, 16, 64, 256],
                   help="numbers of concurrent tasks (default: 1 16 64 256)")
    p.add_argument("--size-mib", type=int, default=64)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--entries", type=int, default=256, help="AsyncRing SQ size")
    p.add_argument("--loop", choices=["asyncio", "uvloop", "both"], default="both")
    p.add_argument("--dir", default=None, help="where to create the file (default: $TMPDIR)")
    args = p.parse_args(argv)
    loops = None if args.loop == "both" else [args.loop]
    out = run_benchmark(args.size_mib, args.concurrency, args.repeat, loops, args.entries,
                        args.dir)
    print(format_results(out))
    return out


if __name__ == "__main__":
    main()
