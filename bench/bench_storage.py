"""The storage table of bench/RESULTS.md: 4 KiB random reads of a 1 GiB file, O_DIRECT at QD 1
and 32 and from the page cache at QD 1 and 32, through the C reference, Ring.run_stream, the thin
layer and fio (when installed), interleaved repetitions, medians; then the issue's targets:

- O_DIRECT, QD 32: stream IOPS >= 0.97x fio's, and stream p99 <= 1.1x fio's;
- O_DIRECT, QD 1: stream p50 within 10% of fio's;
- page cache, QD 32: stream IOPS >= 0.95x the C reference's.

    python bench/bench_storage.py [--size-mib 1024] [--seconds 2] [--reps 5] [--dir DIR]
                                  [--no-fixed] [--json out.json] [--plot out.png]

The file is created (and fsync'ed) in DIR (default: the temp dir, /var/tmp if that is tmpfs) and
removed at the end. Registered buffers and file by default (fio: --fixedbufs --registerfiles).
Run it from the repository root (or with PYTHONPATH pointing at the package).
"""
import argparse
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _checkout  # noqa: E402
_checkout.use()

from ioring.bench import storage as S  # noqa: E402
from ioring import bench as B  # noqa: E402

# (key, description, direct, qd, impl, reference impl, metric, comparison, bound)
TARGETS = (
    ("direct-qd32-iops", "O_DIRECT QD 32: stream IOPS / fio IOPS", True, 32, "stream", "fio",
     "iops", ">=", 0.97),
    ("direct-qd32-p99", "O_DIRECT QD 32: stream p99 / fio p99", True, 32, "stream", "fio",
     "p99", "<=", 1.10),
    ("direct-qd1-p50", "O_DIRECT QD 1: stream p50 / fio p50", True, 1, "stream", "fio",
     "p50", "within", 0.10),
    ("cache-qd32-iops", "page cache QD 32: stream IOPS / C reference IOPS", False, 32, "stream",
     "c", "iops", ">=", 0.95),
)


def _metric(r, metric):
    if r is None or r.status != "ok":
        return None
    if metric == "iops":
        return r.ops_per_sec
    return (r.lat_us or {}).get(metric)


def evaluate(reports):
    """Each target against the two runs' results."""
    out = []
    for key, desc, direct, qd, impl, ref, metric, cmp, bound in TARGETS:
        results = reports[direct].results

        def find(k):
            return next((r for r in results if r.value == qd and r.impl == k), None)
        mine, base = _metric(find(impl), metric), _metric(find(ref), metric)
        entry = {"key": key, "description": desc, "comparison": cmp, "bound": bound,
                 "ratio": None, "met": None, "mine": mine, "reference": base}
        if mine is not None and base:
            ratio = mine / base
            entry["ratio"] = ratio
            entry["met"] = (ratio >= bound if cmp == ">=" else ratio <= bound if cmp == "<="
                            else abs(ratio - 1) <= bound)
        out.append(entry)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--seconds", type=float, default=2.0, help="per repetition (default 2)")
    ap.add_argument("--reps", type=int, default=5, help="interleaved repetitions (default 5)")
    ap.add_argument("--qd", default="1,32", help="queue depths (default 1,32)")
    ap.add_argument("--dir", help="where the file goes")
    ap.add_argument("--no-fixed", action="store_true", help="plain buffers and fd")
    ap.add_argument("--impl", default="c,stream,thin,fio")
    ap.add_argument("--json", help="write both runs and the targets as JSON")
    ap.add_argument("--plot", help="PNG: IOPS and p99 against QD (O_DIRECT; FILE-cache.png for the page cache)")
    args = ap.parse_args(argv)
    qds = [int(q) for q in args.qd.split(",")]
    impls = [k for k in args.impl.split(",") if k]
    tmp = tempfile.mkdtemp(prefix="ioring-bench-storage-", dir=args.dir or B._default_dir())
    path = os.path.join(tmp, "data.bin")
    try:
        print(f"creating {args.size_mib} MiB in {tmp} ...", file=sys.stderr)
        B.make_file(path, args.size_mib << 20, sync=True)
        reports = {}
        for direct in (True, False):
            reports[direct] = S.run(["randread"], seconds=args.seconds, qds=qds, file=path,
                                    direct=direct, fixed=not args.no_fixed, reps=args.reps,
                                    impls=impls)
            print(("O_DIRECT" if direct else "page cache").center(40, "-"))
            print(S.format_report(reports[direct]))
            print()
    finally:
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)
    targets = evaluate(reports)
    load = os.getloadavg()      # the figures mean little on a loaded machine: say what it was
    print(f"targets (load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f})")
    for t in targets:
        got = "-" if t["ratio"] is None else f"{t['ratio']:.3f}"
        want = (f"{t['comparison']} {t['bound']:.2f}" if t["comparison"] != "within"
                else f"within {t['bound']:.0%} of 1")
        verdict = "not measured" if t["met"] is None else ("met" if t["met"] else "MISSED")
        print(f"  {t['description']:<52} {want:<16} {got:>7}  {verdict}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"direct": reports[True].as_dict(), "page_cache": reports[False].as_dict(),
                       "targets": targets}, f, indent=2)
            f.write("\n")
        print(f"JSON: {args.json}")
    if args.plot:
        S.plot(reports[True], args.plot)
        root, ext = os.path.splitext(args.plot)
        S.plot(reports[False], f"{root}-cache{ext or '.png'}")
        print(f"plot: {args.plot}, {root}-cache{ext or '.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
