"""ioring.liburing's per-operation loops against the PyPI ``liburing`` package's (issue 18).

The same loop (get_sqe -> prep_* -> set_data64 -> submit_and_wait -> for_each_cqe or peek_cqe ->
cq_advance or cqe_seen) written against both packages: NOP batch 1 and 32, page-cache 4 KiB
reads at QD 1 and 32 (a 64 MiB file, read once first), and the cost of a bare call
(io_uring_sq_ready) next to ``len(())``. Pinned to one CPU, the packages interleaved, ``--reps``
repetitions, medians; the issue's targets (loops >= 1.15x the PyPI package, a bare call <= 35 ns)
are printed met or missed, next to the C loop over ioring's core doing the same work (what is
left of a loop without Python). ``--calls`` adds the cost of each single call of both packages.

``--limit`` measures the physical limit of the targets: the same loop functions also run over
the "ideal binding" (bench/ideal_binding.c, compiled at run time into a temporary directory):
the cheapest Python-callable functions over the same ring core, with no safety at all (no pin,
no tracking, no checks). Its ratio to the PyPI package on a point is the most any binding with
this loop shape can reach there. Its variant "+ buffer pin" (the same, compiled with the pin
at its cheapest: each read's buffer exported from the prep until its completion is consumed,
in C arrays) tells what is left once that guarantee is kept. Points: NOP batch 1 and 32, reads
QD 1 and 32 (with --calls, their single calls are timed too).

    pip install liburing                     # the PyPI package to compare with
    python bench/bench_thin.py [--reps 5] [--seconds 0.3] [--cpu 1] [--calls] [--json FILE]
    python bench/bench_thin.py --limit [--reps 5] [--calls]

The loops themselves are in ioring/bench/thin.py (also ``python -m ioring bench thin``).
"""
import argparse
import contextlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import _checkout  # noqa: E402
_checkout.use()

from ioring.bench import thin as T  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=T.DEFAULT_REPS, help="interleaved repetitions (>= 3)")
    ap.add_argument("--seconds", type=float, default=T.DEFAULT_SECONDS, help="measured time per loop")
    ap.add_argument("--cpu", type=int, default=None, help="CPU to pin to (default: the last one allowed)")
    ap.add_argument("--shape", choices=T.SHAPES, action="append",
                    help="only this way of reaping (repeatable; default both)")
    ap.add_argument("--calls", action="store_true", help="also time every single call of both packages")
    ap.add_argument("--calls-only", action="store_true", help="only the single calls")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    ap.add_argument("--limit", action="store_true",
                    help="also run the ideal binding (no safety, bench only): the limit of the targets")
    args = ap.parse_args(argv)
    with contextlib.ExitStack() as stack:
        extra = {}
        if args.limit:
            try:
                T.import_pypi_liburing()
            except T.Skip as skip:
                print(f"--limit compares with the PyPI liburing package: {skip.status} ({skip.note})",
                      file=sys.stderr)
                return 2
            import ideal_binding
            extra["ideal"] = (IDEAL_LABEL, stack.enter_context(ideal_binding.load()))
            extra["pinned"] = (PINNED_LABEL, stack.enter_context(ideal_binding.load(pinning=True)))
        return _measure(args, extra)


IDEAL_LABEL = "ideal binding (no safety)"
PINNED_LABEL = "ideal binding + buffer pin"


def _measure(args, extra):
    out = {}
    status = 0
    points = T.LIMIT_POINTS if extra else T.POINTS
    if not args.calls_only:
        report = T.run(seconds=args.seconds, reps=args.reps, cpu=args.cpu,
                       shapes=args.shape or T.SHAPES, points=points, extra=extra)
        print(T.format_report(report))
        out["loops"] = report.as_dict()
        status = 0 if all(t["met"] for t in report.targets) else 1
    if args.calls or args.calls_only:
        costs = T.call_costs(reps=args.reps, cpu=args.cpu, extra=extra)
        print("\n" + T.format_call_costs(costs))
        out["calls"] = costs

    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
            f.write("\n")
    return status


if __name__ == "__main__":
    sys.exit(main())
