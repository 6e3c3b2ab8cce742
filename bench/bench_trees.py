"""files.copytree and copy_file against shutil, measured in the same run (issue 19, the tree part).

    python bench/bench_trees.py [--targets DIR ...] [--reps N] [--packages a,b,...] [--settle S] [--json]

For each target directory (default: /dev/shm, tmpfs, and /var/tmp, ext4 here) a source
tree is made there first: a copy of packages of this interpreter's site-packages (default:
pip, setuptools, pygments: 2,235 files in 208 directories with Python 3.11.7's), then copied
``--reps`` times by each method, the methods interleaved within each repetition so that a noisy
neighbour hurts all alike; the page cache is warm (the source was just written, and each
method reads it every repetition). Each copy is checked against shutil.copytree's: the same
entries, contents, modes, mtimes (ns) and symbolic-link targets.

Methods (medians of the elapsed time; ratios are shutil.copytree / method, > 1 meaning faster
than shutil; CPU: user + system time of the process, io-wq workers included):
  shutil           shutil.copytree(src, dst) (copy2: copyfile with sendfile, then copystat)
  files.copytree   ioring.files.copytree: openat->read / openat->write chains on io_uring
  C plain          the same engine with plain syscalls on the calling thread (stat, openat x2,
                   copy_file_range, close x2, utimensat, listxattr): the limit of a C loop of
                   the same work without io_uring
  shutil+copy_file shutil.copytree(copy_function=files.copy_file), as the issue measured it

copy_file of a 2 KiB file (per call, median of batches of 200, interleaved): copy_file,
shutil.copyfile, shutil.copy (copyfile + copymode: what copy_file does).
"""
import argparse
import json
import os
import resource
import shutil
import stat
import statistics
import sys
import sysconfig
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if __name__ == "__main__":
    import _checkout      # bench/ is sys.path[0]
    _checkout.use()

import ioring.files as F              # noqa: E402
from ioring import _copytree          # noqa: E402
from ioring.bench._runner import filesystem_of as fs_type   # noqa: E402

DEFAULT_PACKAGES = ("pip", "setuptools", "pygments")


def make_source(base, packages):
    """Copy ``packages`` of site-packages to ``base``/src (once); returns (path, files, dirs)."""
    src = os.path.join(base, "src")
    if not os.path.isdir(src):
        site = sysconfig.get_paths()["purelib"]
        os.makedirs(src)
        for name in packages:
            shutil.copytree(os.path.join(site, name), os.path.join(src, name), symlinks=True)
    files = dirs = 0
    for _, dirnames, filenames in os.walk(src):
        files += len(filenames)
        dirs += len(dirnames)
    return src, files, dirs


def snapshot(root):
    """Everything copytree must reproduce: per relative path, type, mode, mtime, contents or
    link target (the root directory included)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            rel = os.path.relpath(path, root)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", st.st_mode, st.st_mtime_ns)
            else:
                with open(path, "rb") as f:
                    out[rel] = ("file", st.st_mode, st.st_mtime_ns, f.read())
    st = os.stat(root)
    out["."] = ("dir", st.st_mode, st.st_mtime_ns)
    return out


def _files_copytree_ring(src, dst):
    _copytree._USE_RING = True
    F.copytree(src, dst)


def _files_copytree_plain(src, dst):
    _copytree._USE_RING = False
    try:
        F.copytree(src, dst)
    finally:
        _copytree._USE_RING = True


METHODS = {
    "shutil": shutil.copytree,
    "files.copytree": _files_copytree_ring,
    "C plain": _files_copytree_plain,
    "shutil+copy_file": lambda s, d: shutil.copytree(s, d, copy_function=F.copy_file),
}


# copy_file copies contents and mode only (no times): shutil+copy_file is not checked
CHECKED = ("shutil", "files.copytree", "C plain")


def sync_before_copy():
    """sync(2) before each timed copy, so that the write-back of the previous copy is not
    charged to the next method. (The copies are removed only at the end: on ext4 a file
    created within 30 s of deletions in its block group costs a scan of the recently deleted
    inodes, ~200 us here instead of ~14, so removing each copy before the next would charge
    the next method for it; see bench/RESULTS.md.)"""
    os.sync()


def bench_tree(base, reps, packages, methods=None):
    src, nfiles, ndirs = make_source(base, packages)
    times = {m: [] for m in METHODS if not methods or m in methods}
    cpu = {m: [] for m in times}
    reference = None
    for rep in range(reps):
        for name, fn in METHODS.items():
            if methods and name not in methods:
                continue
            dst = os.path.join(base, f"dst-{rep}-{name.replace(' ', '_').replace('+', '_')}")
            shutil.rmtree(dst, ignore_errors=True)
            sync_before_copy()
            c0 = _cpu()
            t0 = time.perf_counter()
            fn(src, dst)
            times[name].append(time.perf_counter() - t0)
            cpu[name].append(_cpu() - c0)
            if rep == 0 and name in CHECKED:    # check each result once
                snap = snapshot(dst)
                if reference is None:
                    reference = snap
                elif snap != reference:
                    bad = sorted(k for k in set(snap) | set(reference)
                                 if snap.get(k) != reference.get(k))
                    raise AssertionError(f"{name}: result differs from shutil's at {bad[:5]}")
    med = {m: statistics.median(v) for m, v in times.items()}
    return {"dir": base, "files": nfiles, "dirs": ndirs, "median_s": med, "all_s": times,
            "cpu_median_s": {m: statistics.median(v) for m, v in cpu.items()},
            "ratio_vs_shutil": {m: med["shutil"] / med[m] for m in med}}


def _cpu():
    """CPU time of this process, user + system, its io-wq workers included (they are threads
    of the process)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def bench_copy_file(base, reps, size=2048, batch=200):
    """Each call creates a new file (as in a tree copy): overwriting one destination again and
    again measures the disk instead on ext4 (a truncated file's pages are written back when
    it is closed, and the next truncate waits for that write)."""
    src = os.path.join(base, "small-src")
    with open(src, "wb") as f:
        f.write(os.urandom(size))
    methods = {"copy_file": F.copy_file, "shutil.copyfile": shutil.copyfile,
               "shutil.copy": shutil.copy}
    times = {m: [] for m in methods}
    for rep in range(reps):
        for name, fn in methods.items():
            d = os.path.join(base, f"small-{rep}-{name}")
            os.mkdir(d)
            dsts = [os.path.join(d, str(i)) for i in range(batch)]
            sync_before_copy()
            t0 = time.perf_counter()
            for dst in dsts:
                fn(src, dst)
            times[name].append((time.perf_counter() - t0) / batch)
    med = {m: statistics.median(v) for m, v in times.items()}
    return {"size": size, "median_us": {m: v * 1e6 for m, v in med.items()},
            "ratio_vs_copyfile": {m: med["shutil.copyfile"] / v for m, v in med.items()}}


def create_cost_us(directory, n=100):
    """Median microseconds of creating an empty file in ``directory`` (the files are kept:
    deleting them would slow the next creates, see wait_for_fast_creates)."""
    os.makedirs(directory, exist_ok=True)
    costs = []
    for i in range(n):
        t0 = time.perf_counter()
        fd = os.open(os.path.join(directory, str(i)), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        costs.append(time.perf_counter() - t0)
        os.close(fd)
    return statistics.median(costs) * 1e6


def wait_for_fast_creates(base, limit_s, fast_us=40):
    """On ext4 a file created in a block group where many inodes were freed within the last
    minutes (a previous run's copies, removed at its end) costs 150-250 us instead of ~14:
    ext4 looks at each recently freed inode before picking one (``recently_deleted``). Wait up
    to ``limit_s`` seconds for the cost to come down; returns the last probe (us)."""
    deadline = time.monotonic() + limit_s
    probe = 0
    while True:
        cost = create_cost_us(os.path.join(base, f"probe-{probe}"))
        probe += 1
        if cost <= fast_us or time.monotonic() >= deadline:
            return cost
        print(f"{base}: creating a file costs {cost:.0f} us (recently freed inodes nearby): "
              f"waiting", file=sys.stderr)
        os.sync()
        time.sleep(30)


def default_targets():
    out = []
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        out.append("/dev/shm")
    out.append("/var/tmp" if os.path.isdir("/var/tmp") else tempfile.gettempdir())
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", nargs="*", default=None,
                        help="directories whose file systems are measured (default: /dev/shm "
                             "and the temp dir)")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--packages", default=",".join(DEFAULT_PACKAGES),
                        help="site-packages directories copied into the source tree")
    parser.add_argument("--methods", default=None,
                        help="comma-separated subset of the tree methods (shutil always runs)")
    parser.add_argument("--no-copy-file", action="store_true", help="skip the copy_file timing")
    parser.add_argument("--settle", type=float, default=600,
                        help="on a disk file system, wait up to this many seconds for file "
                             "creation to cost what it costs in a quiet directory (ext4 looks at "
                             "each inode freed in the last minutes before it picks one: after "
                             "a large deletion, creates cost 10-20x more for minutes; see "
                             "bench/RESULTS.md); default 600")
    parser.add_argument("--keep", action="store_true", help="keep the source trees")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    packages = [p for p in args.packages.split(",") if p]
    methods = None
    if args.methods:
        methods = ["shutil"] + [m for m in args.methods.split(",") if m != "shutil"]
        unknown = set(methods) - set(METHODS)
        if unknown:
            parser.error(f"unknown methods {sorted(unknown)}; choose among {list(METHODS)}")
    results = {"load": os.getloadavg(), "trees": [], "copy_file": []}
    for target in args.targets or default_targets():
        base = tempfile.mkdtemp(prefix="ioring-bench-trees-", dir=target)
        try:
            make_source(base, packages)
            if fs_type(base) != "tmpfs":
                results.setdefault("create_probe_us", {})[target] = \
                    wait_for_fast_creates(base, args.settle)
            results["trees"].append(bench_tree(base, args.reps, packages, methods))
            if not args.no_copy_file:
                results["copy_file"].append(dict(bench_copy_file(base, args.reps), dir=target))
        finally:
            if not args.keep:
                shutil.rmtree(base, ignore_errors=True)
    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    print(f"load average at start: {results['load'][0]:.1f}; reps {args.reps}, medians")
    for target, cost in results.get("create_probe_us", {}).items():
        print(f"creating a file under {target} before the copies: {cost:.0f} us (median of 100)")
    for r in results["trees"]:
        print(f"\ntree of {r['files']} files in {r['dirs']} directories under {r['dir']} "
              f"({fs_type(r['dir'])})")
        for m, t in r["median_s"].items():
            print(f"  {m:18s} {t * 1e3:8.1f} ms   {r['ratio_vs_shutil'][m]:5.2f}x shutil   "
                  f"CPU {r['cpu_median_s'][m] * 1e3:7.1f} ms")
    for r in results["copy_file"]:
        print(f"\ncopy of a {r['size']} B file under {r['dir']}")
        for m, t in r["median_us"].items():
            print(f"  {m:18s} {t:8.1f} us   {r['ratio_vs_copyfile'][m]:5.2f}x shutil.copyfile")
    return 0


if __name__ == "__main__":
    sys.exit(main())
