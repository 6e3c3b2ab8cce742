"""ioring.files against the plain-Python ways it replaces, measured in the same run.

    python bench/bench_files.py [--dir DIR] [--reps N] [--quick] [--json]
    python bench/bench_files.py --targets [--dir DIR] [--reps N]   # the issue's four targets

or ``from bench_files import run; results = run(directory, reps)`` (a dict: per workload,
the median seconds of each method and the ratios baseline / ioring, > 1 meaning ioring is
faster). Methods are interleaved within each repetition so that a noisy neighbour hurts all
of them alike. The directory decides the filesystem measured (default: the temp dir).

Workloads:
  write_4k     2000 new files of 4 KiB: write_files vs a loop of open()/write/close and of
               os.open/os.write/os.close
  write_mixed  500 new files of 64 B .. 1 MiB (log-uniform)
  read_4k      reading the 2000 files back: read_files vs open().read() and os.open/os.read
  read_mixed   reading the mixed files back
  copy_256m    copy_file vs shutil.copyfile (copy_file_range in the kernel) and a Python
               read/write loop, source in the page cache; copy_256m_cold drops the source's
               pages first (posix_fadvise DONTNEED)
  unzip_1000   a wheel-like archive of 1000 small deflated members: extract_zip vs
               ZipFile.extractall
  mkdir_200    200 new directories (2 levels): os.makedirs vs IORING_OP_MKDIRAT chains
  ablation_*   the design choices of ioring.files against their alternatives (reads: a third
               close_direct request per chain, a statx pass before reading; writes: the C
               engine against the Python engine's openat_direct -> write chains, with and
               without a close_direct per file)
"""
import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
if __name__ == "__main__":
    import _checkout      # bench/ is sys.path[0]
    _checkout.use()

import ioring                      # noqa: E402
import ioring.files as F           # noqa: E402
from ioring import liburing as L   # noqa: E402

# The ablations' opens go to io-wq when there is another CPU, as read_files' Python engine did.
_ASYNC_OPEN = L.IOSQE_ASYNC if (os.cpu_count() or 1) > 1 else 0


# ---- plain-Python baselines ---------------------------------------------------------------------

def plain_write_open(files):
    for path, data in files.items():
        with open(path, "wb") as f:
            f.write(data)


def plain_write_os(files):
    for path, data in files.items():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)


def plain_read_open(paths):
    out = []
    for path in paths:
        with open(path, "rb") as f:
            out.append(f.read())
    return out


def plain_read_os(paths):
    out = []
    for path in paths:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            out.append(os.read(fd, os.fstat(fd).st_size + 1))
        finally:
            os.close(fd)
    return out


def plain_copy_loop(src, dst, chunk=1 << 20):
    with open(src, "rb") as f, open(dst, "wb") as g:
        while True:
            b = f.read(chunk)
            if not b:
                break
            g.write(b)
    shutil.copymode(src, dst)


# ---- design alternatives (ablations) ------------------------------------------------------------

def _ring():
    return ioring.Ring(256, flags=L.IORING_SETUP_COOP_TASKRUN)


def write_close_direct(files, slots=64):
    """openat_direct -> write -> close_direct: three requests per file."""
    paths = list(files)
    datas = list(files.values())
    n = len(paths)
    oflags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    with _ring() as r:
        u = r.uring
        L.io_uring_register_files_sparse(u, slots)
        free = list(range(slots))
        i = done = 0
        while done < n:
            while i < n and free and L.io_uring_sq_space_left(u) >= 3:
                k = free.pop()
                sqe = L.io_uring_get_sqe(u)
                L.io_uring_prep_openat_direct(sqe, L.AT_FDCWD, paths[i], oflags, 0o644, k)
                sqe.flags = L.IOSQE_IO_LINK
                sqe.user_data = 0
                sqe = L.io_uring_get_sqe(u)
                L.io_uring_prep_write(sqe, k, datas[i], len(datas[i]), 0)
                sqe.flags = L.IOSQE_FIXED_FILE | L.IOSQE_IO_HARDLINK
                sqe.user_data = 0
                sqe = L.io_uring_get_sqe(u)
                L.io_uring_prep_close_direct(sqe, k)
                sqe.user_data = 1 | (k << 1)
                i += 1
            L.io_uring_submit_and_wait(u, 1)
            cqes = L.io_uring_peek_batch_cqe(u, 4 * slots)
            for c in cqes:
                if c.res < 0:
                    raise OSError(-c.res, os.strerror(-c.res))
                if c.user_data & 1:
                    free.append(c.user_data >> 1)
                    done += 1
            L.io_uring_cq_advance(u, len(cqes))


def read_close_direct(paths, slots=64, size=128 << 10):
    """openat_direct -> read -> close_direct into per-slot buffers: three requests per file."""
    import mmap
    n = len(paths)
    out = [None] * n
    mem = mmap.mmap(-1, slots * size)
    views = [memoryview(mem)[k * size:(k + 1) * size] for k in range(slots)]
    with _ring() as r:
        u = r.uring
        L.io_uring_register_files_sparse(u, slots)
        free = list(range(slots))
        res = [0] * slots
        i = done = 0
        while done < n:
            while i < n and free and L.io_uring_sq_space_left(u) >= 3:
                k = free.pop()
                sqe = L.io_uring_get_sqe(u)
                L.io_uring_prep_openat_direct(sqe, L.AT_FDCWD, paths[i], os.O_RDONLY, 0, k)
                sqe.flags = L.IOSQE_IO_LINK | _ASYNC_OPEN
                sqe.user_data = 0
                sqe = L.io_uring_get_sqe(u)
                L.io_uring_prep_read(sqe, k, views[k], size, 0)
                sqe.flags = L.IOSQE_FIXED_FILE | L.IOSQE_IO_HARDLINK
                sqe.user_data = 2 | (k << 2) | (i << 20)
                sqe = L.io_uring_get_sqe(u)
                L.io_uring_prep_close_direct(sqe, k)
                sqe.user_data = 1 | (k << 2) | (i << 20)
                i += 1
            L.io_uring_submit_and_wait(u, 1)
            cqes = L.io_uring_peek_batch_cqe(u, 4 * slots)
            for c in cqes:
                ud = c.user_data
                k = (ud >> 2) & 0x3FFFF
                if ud & 2:
                    res[k] = c.res
                elif ud & 1:
                    out[ud >> 20] = mem[k * size:k * size + res[k]]
                    free.append(k)
                    done += 1
            L.io_uring_cq_advance(u, len(cqes))
    del views
    return out


def read_statx_first(paths, batch=128):
    """A statx pass (for the sizes), then openat_direct -> read(exact size) -> close_direct."""
    n = len(paths)
    out = [None] * n
    with ioring.Ring(1024, flags=L.IORING_SETUP_COOP_TASKRUN) as r:
        u = r.uring
        L.io_uring_register_files_sparse(u, batch)

        def reap(want, handler):
            got = 0
            while got < want:
                L.io_uring_submit_and_wait(u, 1)
                cqes = L.io_uring_peek_batch_cqe(u, 4096)
                for c in cqes:
                    handler(c)
                got += len(cqes)
                L.io_uring_cq_advance(u, len(cqes))
        for b0 in range(0, n, batch):
            b1 = min(n, b0 + batch)
            sts = [L.statx() for _ in range(b1 - b0)]
            for i in range(b0, b1):
                sqe = L.io_uring_get_sqe(u)
                L.io_uring_prep_statx(sqe, L.AT_FDCWD, paths[i], 0, L.STATX_SIZE, sts[i - b0])
            reap(b1 - b0, lambda c: None)
            bufs = []
            res = [0] * (b1 - b0)
            for k in range(b1 - b0):
                b = bytearray(sts[k].stx_size + 1)
                bufs.append(b)
                sqe = L.io_uring_get_sqe(u)
                L.io_uring_prep_openat_direct(sqe, L.AT_FDCWD, paths[b0 + k], os.O_RDONLY, 0, k)
                sqe.flags = L.IOSQE_IO_LINK
                sqe.user_data = 1 << 32
                sqe = L.io_uring_get_sqe(u)
                L.io_uring_prep_read(sqe, k, b, len(b), 0)
                sqe.flags = L.IOSQE_IO_HARDLINK | L.IOSQE_FIXED_FILE
                sqe.user_data = k
                sqe = L.io_uring_get_sqe(u)
                L.io_uring_prep_close_direct(sqe, k)
                sqe.user_data = 1 << 32

            def keep(c):
                if c.user_data < (1 << 32):
                    res[c.user_data] = c.res
            reap(3 * (b1 - b0), keep)
            for k in range(b1 - b0):
                out[b0 + k] = bytes(bufs[k][:res[k]])
    return out


def mkdirat_ring(dirs):
    """IORING_OP_MKDIRAT for every directory, parents before children (one level per batch)."""
    by_depth = {}
    for d in dirs:
        by_depth.setdefault(d.count(os.sep), []).append(d)
    with _ring() as r:
        u = r.uring
        for depth in sorted(by_depth):
            level = by_depth[depth]
            for d in level:
                if not L.io_uring_sq_space_left(u):
                    L.io_uring_submit(u)
                L.io_uring_prep_mkdirat(L.io_uring_get_sqe(u), L.AT_FDCWD, d, 0o777)
            got = 0
            while got < len(level):
                L.io_uring_submit_and_wait(u, 1)
                cqes = L.io_uring_peek_batch_cqe(u, 4096)
                for c in cqes:
                    if c.res < 0:
                        raise OSError(-c.res, os.strerror(-c.res))
                got += len(cqes)
                L.io_uring_cq_advance(u, len(cqes))


def makedirs_plain(dirs):
    for d in dirs:
        os.makedirs(d, exist_ok=True)


# ---- harness ------------------------------------------------------------------------------------

class _Dirs:
    """Fresh directories under the benchmark root (new files are never created where files
    were just deleted: ext4 then scans for recently freed inodes and skews the timing)."""

    def __init__(self, root):
        self.root = root
        self.n = 0

    def new(self):
        self.n += 1
        d = os.path.join(self.root, f"run{self.n}")
        os.makedirs(d)
        return d


def _time(fn, *args):
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def _summary(times, ours, baselines):
    med = {name: statistics.median(v) for name, v in times.items()}
    out = {"median_s": med, "min_s": {name: min(v) for name, v in times.items()}, "ratios": {}}
    for base in baselines:
        out["ratios"][f"{base} / {ours}"] = med[base] / med[ours]
    return out


def _sizes_mixed(n, seed=1):
    import random
    rnd = random.Random(seed)
    return [int(64 * (2 ** (rnd.random() * 14))) for _ in range(n)]     # 64 B .. 1 MiB


def bench_write_read(dirs, reps, n, sizes, tag):
    datas = [os.urandom(s) for s in sizes]
    methods = {
        "ioring.write_files": lambda files: F.write_files(files, makedirs=False),
        "open() loop": plain_write_open,
        "os.open loop": plain_write_os,
    }
    wtimes = {m: [] for m in methods}
    last = None
    for _ in range(reps):
        for name, fn in methods.items():
            d = dirs.new()
            files = {os.path.join(d, f"f{i}"): datas[i] for i in range(n)}
            os.sync()
            wtimes[name].append(_time(fn, files))
            last = files
    paths = list(last)
    rmethods = {
        "ioring.read_files": F.read_files,
        "open() loop": plain_read_open,
        "os.open loop": plain_read_os,
    }
    assert F.read_files(paths) == plain_read_open(paths) == list(last.values())
    os.sync()           # no writeback of the files just written competes with the reads
    for fn in rmethods.values():
        fn(paths)       # warm-up: the first pass over just-written files is slower for all
    rtimes = {m: [] for m in rmethods}
    for _ in range(reps):
        for name, fn in rmethods.items():
            rtimes[name].append(_time(fn, paths))
    return ({f"write_{tag}": _summary(wtimes, "ioring.write_files", ["open() loop", "os.open loop"]),
             f"read_{tag}": _summary(rtimes, "ioring.read_files", ["open() loop", "os.open loop"])},
            last)


def bench_ablations(dirs, reps, files):
    paths = list(files)
    datas = list(files.values())
    out = {}
    rt = {"read_files (slot replaced by next open)": [], "+ close_direct per file": [],
          "statx pass first": []}
    assert read_close_direct(paths) == datas and read_statx_first(paths) == datas
    os.sync()
    for _ in range(reps):
        rt["read_files (slot replaced by next open)"].append(_time(F.read_files, paths))
        rt["+ close_direct per file"].append(_time(read_close_direct, paths))
        rt["statx pass first"].append(_time(read_statx_first, paths))
    out["ablation_read"] = _summary(rt, "read_files (slot replaced by next open)",
                                    ["+ close_direct per file", "statx pass first"])
    ours = "write_files (C: open on the caller, write on io-wq)"
    chains = "Python engine: openat_direct -> write chains"
    wt = {ours: [], chains: [], "chains + close_direct per file": []}

    def python_engine(fs):
        saved, F._fileops = F._fileops, None
        try:
            F.write_files(fs, makedirs=False)
        finally:
            F._fileops = saved
    for _ in range(reps):
        for name, fn in ((ours, lambda fs: F.write_files(fs, makedirs=False)),
                         (chains, python_engine),
                         ("chains + close_direct per file", write_close_direct)):
            d = dirs.new()
            fs = {os.path.join(d, f"f{i}"): data for i, data in enumerate(datas)}
            os.sync()
            wt[name].append(_time(fn, fs))
    out["ablation_write"] = _summary(wt, ours, [chains, "chains + close_direct per file"])
    return out


def bench_copy(dirs, reps, size):
    d = dirs.new()
    src = os.path.join(d, "src.bin")
    with open(src, "wb") as f:
        for _ in range(size >> 20):
            f.write(os.urandom(1 << 20))
    os.chmod(src, 0o640)
    dst = os.path.join(d, "dst.bin")
    methods = {
        "ioring.copy_file": F.copy_file,
        "shutil.copyfile": shutil.copyfile,
        "python read/write loop": plain_copy_loop,
    }
    out = {}
    for cold in (False, True):
        times = {m: [] for m in methods}
        for _ in range(reps):
            for name, fn in methods.items():
                if os.path.exists(dst):
                    os.unlink(dst)
                os.sync()
                if cold:
                    fd = os.open(src, os.O_RDONLY)
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                    os.close(fd)
                times[name].append(_time(fn, src, dst))
                if os.path.getsize(dst) != size:
                    raise AssertionError(f"{name}: wrong size")
        key = f"copy_{size >> 20}m" + ("_cold" if cold else "")
        out[key] = _summary(times, "ioring.copy_file", ["shutil.copyfile", "python read/write loop"])
    import filecmp
    F.copy_file(src, dst)
    assert filecmp.cmp(src, dst, shallow=False)
    os.unlink(dst)
    os.unlink(src)
    return out


def make_wheel(path, members=1000, seed=2):
    import random
    rnd = random.Random(seed)
    words = [b"import", b"def", b"return", b"class", b"self", b"value", b"None", b"for", b"in",
             b"if", b"else", b"(", b")", b":", b"\n", b"    "]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(members - 3):
            size = int(200 * 2 ** (rnd.random() * 6))           # 200 B .. 12.8 KiB
            text = b" ".join(rnd.choice(words) for _ in range(size // 4))[:size]
            z.writestr(f"pkg/sub{i % 25}/mod{i}.py", text)
        z.writestr("pkg-1.0.dist-info/METADATA", b"Metadata-Version: 2.1\nName: pkg\n")
        z.writestr("pkg-1.0.dist-info/WHEEL", b"Wheel-Version: 1.0\n")
        z.writestr("pkg-1.0.dist-info/RECORD", b"")
    return path


def bench_unzip(dirs, reps, members):
    d = dirs.new()
    wheel = make_wheel(os.path.join(d, "pkg-1.0-py3-none-any.whl"), members)

    def extractall(archive, dest):
        with zipfile.ZipFile(archive) as z:
            z.extractall(dest)
    methods = {"ioring.extract_zip": F.extract_zip, "ZipFile.extractall": extractall}
    times = {m: [] for m in methods}
    for _ in range(reps):
        for name, fn in methods.items():
            dest = os.path.join(dirs.new(), "site")
            os.sync()
            times[name].append(_time(fn, wheel, dest))
    return {f"unzip_{members}": _summary(times, "ioring.extract_zip", ["ZipFile.extractall"])}


def bench_mkdir(dirs, reps, count=200):
    methods = {"os.makedirs": makedirs_plain, "ring mkdirat": mkdirat_ring}
    times = {m: [] for m in methods}
    for _ in range(reps):
        for name, fn in methods.items():
            d = dirs.new()
            tree = [os.path.join(d, f"a{i // 10}", f"b{i}") for i in range(count)]
            parents = sorted({os.path.dirname(t) for t in tree})
            times[name].append(_time(fn, parents + tree))
    return {f"mkdir_{count}": _summary(times, "os.makedirs", ["ring mkdirat"])}


# ---- the targets, in one run --------------------------------------------------------------

def _files_tree(d, n, data, ndirs):
    """n paths in one directory (ndirs == 1) or spread over ndirs pre-created directories."""
    if ndirs <= 1:
        return {os.path.join(d, f"f{i:06d}"): data[i % len(data)] for i in range(n)}
    for k in range(ndirs):
        os.mkdir(os.path.join(d, f"d{k:03d}"))
    return {os.path.join(d, f"d{i % ndirs:03d}", f"f{i:06d}"): data[i % len(data)]
            for i in range(n)}


def bench_targets(dirs, reps, seconds=0.4, files=10000, members=1000, tree_dirs=100,
                  size_mib=256):
    """The four "done when" figures, interleaved in every repetition (ratio > 1: ours faster):
    nop_many(32) / C NOP loop, read_many QD 32 / C read loop (4 KiB random reads of a
    page-cached file), os.open/os.write/os.close loop / write_files (``files`` new 4 KiB files,
    one directory and a tree of ``tree_dirs`` pre-created directories), ZipFile.extractall /
    extract_zip (a ``members``-member wheel). Each ratio is taken within one repetition; the
    medians over the repetitions are reported."""
    from ioring import bench as B
    from ioring.bench.nop import _BatchNop, _CNop
    from ioring.bench.rw import _CRW, _BatchRW
    d = dirs.new()
    big = os.path.join(d, "read.bin")
    nblocks = B.make_file(big, size_mib << 20)
    wheel = make_wheel(os.path.join(d, "pkg-1.0-py3-none-any.whl"), members)
    fd = os.open(big, os.O_RDONLY)
    setup = B.RWSetup(fd, nblocks, 32, False, False, False, True, B._offsets(nblocks))
    data = [os.urandom(4096) for _ in range(16)]
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC

    def os_loop(fs):
        for path, b in fs.items():
            f = os.open(path, flags, 0o644)
            try:
                os.write(f, b)
            finally:
                os.close(f)

    def c_loop(fs):
        # The kernel's own cost: the same files by a C loop of openat/write/close (no Python
        # per file, no io_uring), ioring._fileops.write_plain.
        from ioring import _fileops
        assert not _fileops.write_plain([os.fsencode(p) for p in fs], list(fs.values()),
                                        -100, 0o644, flags)

    def extractall(archive, dest):
        with zipfile.ZipFile(archive) as z:
            z.extractall(dest)

    def rate(runner):
        try:
            ops, secs = runner.measure(seconds)
        finally:
            runner.close()
        return ops / secs

    keys = ["nop_many batch 32 / C", "read_many QD 32 / C",
            f"write_files {files} x 4 KiB, 1 directory", f"write_files {files} x 4 KiB, "
            f"{tree_dirs} directories", f"extract_zip {members} members"]
    ratios = {k: [] for k in keys}
    detail = {k: [] for k in keys}
    cpu = {k: {"os loop": [], "ours": [], "C syscall loop": []} for k in keys[2:4]}
    wall = {k: {"C syscall loop": []} for k in keys[2:4]}
    try:
        for _ in range(reps):
            c, b = rate(_CNop(32)), rate(_BatchNop(32))
            ratios[keys[0]].append(b / c)
            detail[keys[0]].append((1e9 / c, 1e9 / b))
            c, b = rate(_CRW(setup)), rate(_BatchRW(setup))
            ratios[keys[1]].append(b / c)
            detail[keys[1]].append((1e9 / c, 1e9 / b))
            for key, ndirs in ((keys[2], 1), (keys[3], tree_dirs)):
                t = {}
                for name, fn in (("os loop", os_loop),
                                 ("ours", lambda fs: F.write_files(fs, makedirs=False)),
                                 ("C syscall loop", c_loop)):
                    fs = _files_tree(dirs.new(), files, data, ndirs)
                    os.sync()
                    r0 = resource.getrusage(resource.RUSAGE_SELF)
                    t[name] = _time(fn, fs)
                    r1 = resource.getrusage(resource.RUSAGE_SELF)
                    # CPU time of the process, io-wq workers included (they are its threads)
                    cpu[key][name].append((r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)
                                          / files * 1e6)
                ratios[key].append(t["os loop"] / t["ours"])
                detail[key].append((t["os loop"] / files * 1e6, t["ours"] / files * 1e6))
                wall[key]["C syscall loop"].append(t["C syscall loop"] / files * 1e6)
            t = {}
            for name, fn in (("zipfile", extractall), ("ours", F.extract_zip)):
                dest = os.path.join(dirs.new(), "site")
                os.sync()
                t[name] = _time(fn, wheel, dest)
            ratios[keys[4]].append(t["zipfile"] / t["ours"])
            detail[keys[4]].append((t["zipfile"] * 1e3, t["ours"] * 1e3))
    finally:
        os.close(fd)
    units = ["ns/op", "ns/op", "us/file", "us/file", "ms"]
    refs = ["C", "C", "os loop", "os loop", "zipfile"]
    goals = [0.8, 0.9, 1.5, 1.5, 1.5]
    out = {}
    for key, unit, ref, goal in zip(keys, units, refs, goals):
        med = statistics.median(ratios[key])
        out[key] = {"ratio_median": med, "ratios": ratios[key], "goal": goal,
                    "met": med >= goal, "unit": unit,
                    "reference_median": statistics.median(x for x, _ in detail[key]),
                    "ours_median": statistics.median(y for _, y in detail[key]),
                    "reference": ref}
        if key in cpu:
            out[key]["cpu_us_per_file_median"] = {m: statistics.median(v)
                                                  for m, v in cpu[key].items()}
            out[key]["c_syscall_loop_us_per_file_median"] = statistics.median(
                wall[key]["C syscall loop"])
    return out


def report_targets(results, reps):
    lines = [f"targets (ratio = reference time / ours, taken within each repetition; median of "
             f"{reps}; min-max in brackets)"]
    for key, r in results.items():
        lines.append(f"  {key:44s} {r['reference']:8s} {r['reference_median']:9.2f} "
                     f"{r['unit']:7s} ours {r['ours_median']:9.2f}  ratio {r['ratio_median']:5.2f}x "
                     f"[{min(r['ratios']):.2f}-{max(r['ratios']):.2f}]  goal >= {r['goal']}x  "
                     f"{'met' if r['met'] else 'MISSED'}")
        if "cpu_us_per_file_median" in r:
            c = r["cpu_us_per_file_median"]
            lines.append(f"  {'':44s} C openat/write/close loop {r['c_syscall_loop_us_per_file_median']:.2f} "
                         f"us/file; CPU time per file (io-wq workers included): os loop "
                         f"{c['os loop']:.2f}, ours {c['ours']:.2f}, C loop {c['C syscall loop']:.2f} us")
    return "\n".join(lines)


def run_targets(directory=None, reps=7, seconds=0.4):
    root = tempfile.mkdtemp(prefix="bench_files_", dir=directory)
    try:
        return bench_targets(_Dirs(root), reps, seconds)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run(directory=None, reps=7, quick=False):
    """Run every workload under ``directory`` (a temporary subdirectory, removed afterwards)
    and return {workload: {"median_s": ..., "min_s": ..., "ratios": ...}} plus "_meta"."""
    root = tempfile.mkdtemp(prefix="bench_files_", dir=directory)
    dirs = _Dirs(root)
    results = {}
    try:
        n = 500 if quick else 2000
        r, files4k = bench_write_read(dirs, reps, n, [4096] * n, "4k")
        results.update(r)
        r, _ = bench_write_read(dirs, reps, n // 4, _sizes_mixed(n // 4), "mixed")
        results.update(r)
        results.update(bench_ablations(dirs, reps, files4k))
        results.update(bench_copy(dirs, max(3, reps - 2), (32 if quick else 256) << 20))
        results.update(bench_unzip(dirs, reps, 250 if quick else 1000))
        results.update(bench_mkdir(dirs, reps))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    import platform
    fs = "?"
    try:
        with open("/proc/mounts") as f:
            best = ""
            real = os.path.realpath(directory or tempfile.gettempdir())
            for line in f:
                dev, mnt, typ = line.split()[:3]
                if (real == mnt or real.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best):
                    best, fs = mnt, typ
    except OSError:
        pass
    results["_meta"] = {"kernel": platform.release(), "python": platform.python_version(),
                        "cpus": os.cpu_count(), "directory": directory or tempfile.gettempdir(),
                        "filesystem": fs, "reps": reps}
    return results


def report(results):
    meta = results.get("_meta", {})
    lines = [f"ioring.files benchmark: kernel {meta.get('kernel')}, Python {meta.get('python')}, "
             f"{meta.get('cpus')} CPUs, {meta.get('filesystem')} at {meta.get('directory')}, "
             f"median of {meta.get('reps')}"]
    for name, r in results.items():
        if name.startswith("_"):
            continue
        lines.append(f"{name}:")
        for method, t in r["median_s"].items():
            lines.append(f"    {method:42s} {t * 1e3:9.2f} ms")
        for ratio, v in r["ratios"].items():
            lines.append(f"    ratio {ratio:54s} {v:5.2f}x")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", default=None, help="where to create the files (default: temp dir)")
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="smaller workloads")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--targets", action="store_true",
                        help="only the issue's targets (nop_many, read_many QD 32 vs C; "
                             "write_files of 10,000 files, extract_zip of 1,000 members vs "
                             "plain Python), interleaved in each repetition")
    args = parser.parse_args(argv)
    if args.targets:
        results = run_targets(args.dir, args.reps)
        print(json.dumps(results, indent=2) if args.json else report_targets(results, args.reps))
        return
    results = run(args.dir, args.reps, args.quick)
    print(json.dumps(results, indent=2) if args.json else report(results))


if __name__ == "__main__":
    main()
