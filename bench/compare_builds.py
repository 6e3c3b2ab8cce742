"""Two builds of ioring, same run: is the new one slower anywhere? (issue 15: "no regression in
any benchmark, same run, old vs new").

    python bench/compare_builds.py OLD_TREE NEW_TREE [--reps 3] [-- BENCH ARGS...]

Each tree is a checkout with its extensions built in place (``python setup.py build_ext
--inplace``). ``python -m ioring bench BENCH ARGS --json`` runs in each, alternating OLD, NEW,
OLD, NEW... (``--reps`` times each), and the table gives, per point and implementation, the
median ops/s of each build and NEW / OLD. Both builds measure the same C reference (our core,
unchanged by a Python-layer redesign), so its row shows the noise of the run: a ratio of the
layers above it that is lower than the C rows' spread is a regression.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile


def run_bench(tree: str, bench_args: list, out: str) -> dict:
    env = dict(os.environ, PYTHONPATH=os.path.abspath(tree))
    subprocess.run([sys.executable, "-m", "ioring", "bench", *bench_args, "--no-progress",
                    "--json", out], cwd=tree, env=env, check=True, stdout=subprocess.DEVNULL)
    with open(out) as f:
        return json.load(f)


def key_of(result: dict) -> tuple:
    return (result["workload"], f"{result['param']} {result['value']}", result["config"],
            result["label"])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--json", help="also write the table as JSON")
    argv = sys.argv[1:] if argv is None else list(argv)
    cut = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:cut])
    # after --: the arguments of python -m ioring bench
    bench_args = argv[cut + 1:] or ["nop", "read", "write", "small-files", "--seconds", "0.3"]
    rates: dict = {"old": {}, "new": {}}
    order: list = []
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.reps):
            for which in ("old", "new"):
                report = run_bench(getattr(args, which), bench_args,
                                   os.path.join(tmp, f"{which}{rep}.json"))
                for r in report["results"]:
                    if r["status"] != "ok":
                        continue
                    k = key_of(r)
                    if k not in order:
                        order.append(k)
                    rates[which].setdefault(k, []).append(r["ops_per_sec"])
                print(f"repetition {rep + 1}/{args.reps}: {which} done", file=sys.stderr)
    rows = []
    for k in order:
        old, new = rates["old"].get(k), rates["new"].get(k)
        if not old or not new:
            continue
        o, n = statistics.median(old), statistics.median(new)
        rows.append({"workload": k[0], "point": k[1], "config": k[2], "implementation": k[3],
                     "old_ops_per_sec": o, "new_ops_per_sec": n, "new_over_old": n / o})
    print(f"old: {args.old}\nnew: {args.new}\nmedians of {args.reps} alternating runs of "
          f"`python -m ioring bench {' '.join(bench_args)}`\n")
    w = max((len(r["implementation"]) for r in rows), default=10)
    print(f"{'workload':<12}{'point':<12}{'config':<12}{'implementation':<{w + 2}}"
          f"{'old ops/s':>12}{'new ops/s':>12}{'new/old':>9}")
    for r in rows:
        print(f"{r['workload']:<12}{r['point']:<12}{r['config']:<12}{r['implementation']:<{w + 2}}"
              f"{r['old_ops_per_sec']:>12.0f}{r['new_ops_per_sec']:>12.0f}"
              f"{r['new_over_old']:>8.2f}x")
    c_rows = [r["new_over_old"] for r in rows if r["implementation"].startswith("C reference")]
    if c_rows:
        print(f"\nthe C reference (the same core in both builds: the run's noise): new/old "
              f"{min(c_rows):.2f}x .. {max(c_rows):.2f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"old": args.old, "new": args.new, "reps": args.reps,
                       "bench_args": bench_args, "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
