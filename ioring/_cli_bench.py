"""``python -m ioring bench``: the command line of ioring.bench.

Hooked into ``python -m ioring`` by ``add_subcommands(subparsers)``; also runs on its own:
``python -m ioring._cli_bench [WORKLOAD...] [options]``.
"""
import argparse
import os
import sys

DESCRIPTION = """\
Measure ioring against a C loop over the same ring core, os.pread/os.pwrite, a thread pool and
other Python io_uring packages, all in this run, and print ops/s, µs/op (1/throughput) and the
ratio to the C reference (small-files, unzip: to the plain-Python way), with the performance
targets.

workloads: nop (NOP round trips, batch 1 8 32 128), read / write (4 KiB random, QD 1 8 32 128,
page cache or --direct O_DIRECT, plain and registered buffers/files), small-files (create +
write + close N files), unzip (extract an N-member zip; then whole wheels - the .whl paths given,
else one built in the run - unpacked and installed by zipfile, ioring, installer, pip and uv, a
fresh process per measurement). Default: all of them, a few minutes.

storage workloads, run when named (fio's jobs: IOPS, MB/s and latency p50/p90/p99/p99.9 of the C
reference, Ring.run_stream, the thin layer and fio itself when installed, --reps interleaved
repetitions, medians): randread, randwrite, seqread, seqwrite (fio's read/write), randrw; with
--file (a file or a block device, written only if this run created it or --allow-write),
--direct, --bs, --qd, --seconds, --fixed.

thin (run when named): ioring.liburing's per-operation loop against the same loop written for the
PyPI liburing package (pip install liburing), NOP batch 1 and 32 and page-cache 4 KiB reads at QD
1 and 32 (and the same reads into registered buffers, read_fixed: no target), both ways of reaping (for_each_cqe + cq_advance, peek_cqe + cqe_seen), and the cost of a
bare call; pinned to one CPU, --reps interleaved repetitions, medians, ratios (issue 18's
targets: >= 1.15x, <= 35 ns). Without the PyPI package only ioring.liburing is measured.
"""


def _positive_ints(text):
    try:
        values = [int(v) for v in text.replace(",", " ").split()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of integers: {text!r}") from None
    if not values or any(v < 1 or v > 4096 for v in values):
        raise argparse.ArgumentTypeError("values must be 1..4096")
    return values


def _positive_float(text):
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < v <= 3600:
        raise argparse.ArgumentTypeError("must be in (0, 3600]")
    return v


def _positive_int(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return v


def add_arguments(parser):
    """The options of ``bench`` on an argparse parser."""
    from ioring import bench as B
    from ioring.bench import storage as S
    from ioring.bench import thin as T
    parser.add_argument("workloads", nargs="*", metavar="WORKLOAD",
                        help=f"any of {', '.join(B.WORKLOADS + S.WORKLOADS + T.WORKLOADS)} (default: "
                        f"{', '.join(B.WORKLOADS)}); .whl paths: wheels unzip unpacks and "
                        "installs with each tool (default: one built in the run)")
    parser.add_argument("--seconds", type=_positive_float, default=B.DEFAULT_SECONDS,
                        help=f"measured time per point (default {B.DEFAULT_SECONDS})")
    parser.add_argument("--batch", type=_positive_ints, default=list(B.DEFAULT_BATCHES),
                        metavar="N,N...", help="NOP batch sizes (default 1,8,32,128)")
    parser.add_argument("--qd", type=_positive_ints, default=list(B.DEFAULT_QDS), metavar="N,N...",
                        help="read/write queue depths (default 1,8,32,128)")
    parser.add_argument("--file", help="file for read/write and the storage workloads (or a "
                        "block device): used as is if it exists (and then never written unless "
                        "--allow-write), else created with --size")
    parser.add_argument("--allow-write", action="store_true",
                        help="storage write workloads may write into an existing --file")
    parser.add_argument("--bs", type=_positive_int, default=S.DEFAULT_BS, metavar="BYTES",
                        help=f"bytes per request of the storage workloads (default {S.DEFAULT_BS})")
    parser.add_argument("--reps", type=_positive_int, default=S.DEFAULT_REPS, metavar="N",
                        help=f"repetitions of each storage and thin point, medians reported (default {S.DEFAULT_REPS})")
    parser.add_argument("--rwmixread", type=int, choices=range(0, 101), default=S.DEFAULT_RWMIXREAD,
                        metavar="PERCENT", help="reads in randrw, percent (default 50)")
    parser.add_argument("--size", type=_positive_int, default=B.DEFAULT_SIZE_MIB, metavar="MiB",
                        help=f"size of the file created for read/write (default {B.DEFAULT_SIZE_MIB})")
    parser.add_argument("--dir", help="where the temporary files go (default: the temp dir, "
                        "/var/tmp if that is tmpfs)")
    parser.add_argument("--direct", action="store_true",
                        help="O_DIRECT reads and writes (the device, not the page cache)")
    parser.add_argument("--fixed", action=argparse.BooleanOptionalAction, default=None,
                        help="only registered buffers/files (--no-fixed: only plain; default both)")
    parser.add_argument("--files", type=_positive_int, default=B.DEFAULT_FILES, metavar="N",
                        help=f"files for small-files and members for unzip (default {B.DEFAULT_FILES})")
    parser.add_argument("--file-bytes", type=_positive_int, default=B.DEFAULT_FILE_BYTES,
                        metavar="BYTES", help="size of each small file (default 4096)")
    parser.add_argument("--impl", type=lambda t: [v for v in t.replace(",", " ").split() if v],
                        metavar="KEY,KEY...",
                        help=f"only these implementations ({', '.join(dict.fromkeys([*B.IMPLS, *S.IMPLS]))}); "
                        "the references (c, py-loop, zipfile) always run")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--plot", metavar="FILE.png",
                        help="also plot the read/write QD sweeps, and the storage workloads' IOPS "
                        "and p99 against QD (FILE-storage.png when both run; needs matplotlib: "
                        "pip install 'ioring[bench]')")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress bar (it is only shown when stderr is a terminal)")
    return parser


HELP = "benchmarks against C, os.pread and others"


def add_subcommands(subparsers, *, with_arguments=True):
    """Add the ``bench`` sub-command to ``python -m ioring``'s sub-parsers; the parsed args
    carry ``func`` (call ``args.func(args)`` for the exit status). ``with_arguments=False``
    registers the name, help and description only, without importing ``ioring.bench`` (for
    a command line that runs another command)."""
    parser = subparsers.add_parser("bench", help=HELP, description=DESCRIPTION,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    if with_arguments:
        add_arguments(parser)
    parser.set_defaults(func=run)
    return parser


class _Progress:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self, stream=None, width=28):
        self.stream = stream or sys.stderr
        self.width = width

    def __call__(self, done, total, label):
        filled = self.width * done // max(total, 1)
        bar = "#" * filled + "." * (self.width - filled)
        text = f"\r[{bar}] {done}/{total} {label}"
        cols = 100
        try:
            cols = os.get_terminal_size(self.stream.fileno()).columns
        except (OSError, ValueError, AttributeError):
            pass
        if cols < 20:           # unknown (a pty without a size): assume a usual terminal
            cols = 100
        self.stream.write(text[:cols - 1].ljust(cols - 1) if done < total else "\r" + " " * (cols - 1) + "\r")
        self.stream.flush()


def run(args):
    """Run the benchmarks the parsed ``args`` ask for; print the table; 0 on success, 1 if a
    point failed with an error (a wrong completion, a lost one)."""
    from ioring import bench as B
    from ioring.bench import storage as S
    from ioring.bench import thin as T
    wheels = [w for w in args.workloads if w.endswith(".whl")]
    args.workloads = [w for w in args.workloads if not w.endswith(".whl")]
    if wheels and "unzip" not in args.workloads:
        args.workloads.append("unzip")
    missing = [w for w in wheels if not os.path.isfile(w)]
    if missing:
        print(f"no such wheel: {', '.join(missing)}", file=sys.stderr)
        return 2
    known = B.WORKLOADS + S.WORKLOADS + T.WORKLOADS
    bad = [w for w in args.workloads if w not in known]
    if bad:
        print(f"unknown workload {', '.join(bad)} (choose from {', '.join(known)})",
              file=sys.stderr)
        return 2
    if args.impl:
        impls = dict.fromkeys([*B.IMPLS, *S.IMPLS])
        unknown = [k for k in args.impl if k not in impls]
        if unknown:
            print(f"unknown implementation {', '.join(unknown)} (choose from {', '.join(impls)})",
                  file=sys.stderr)
            return 2
    if args.plot:
        import importlib.util
        if importlib.util.find_spec("matplotlib") is None:
            print("--plot needs matplotlib: pip install 'ioring[bench]' (or pip install matplotlib)",
                  file=sys.stderr)
            return 2
    show = not args.no_progress and sys.stderr.isatty()
    storage = [w for w in args.workloads if w in S.WORKLOADS]
    thin = [w for w in args.workloads if w in T.WORKLOADS]
    classic = [w for w in args.workloads if w not in S.WORKLOADS and w not in T.WORKLOADS]
    reports = []
    if classic or not (storage or thin):
        report = B.run(classic or None, seconds=args.seconds, batches=args.batch, qds=args.qd,
                       file=args.file, size_mib=args.size, directory=args.dir, direct=args.direct,
                       fixed=args.fixed, files=args.files, file_bytes=args.file_bytes,
                       impls=args.impl, progress=_Progress() if show else None,
                       wheels=wheels)
        print(B.format_report(report))
        reports.append(report)
    if storage:
        sreport = S.run(storage, seconds=args.seconds, qds=args.qd, bs=args.bs, file=args.file,
                        size_mib=args.size, directory=args.dir, direct=args.direct,
                        fixed=args.fixed, reps=args.reps, rwmixread=args.rwmixread,
                        allow_write=args.allow_write, impls=args.impl,
                        progress=_Progress() if show else None)
        print(("\n" if reports else "") + S.format_report(sreport))
        reports.append(sreport)
    if thin:
        treport = T.run(seconds=args.seconds, reps=args.reps, directory=args.dir,
                        progress=_Progress() if show else None)
        print(("\n" if reports else "") + T.format_report(treport))
        reports.append(treport)
    if args.json:
        merged = reports[0]
        for extra in reports[1:]:   # one JSON: the storage and thin points after the others
            key, targets = ("thin", extra.targets) if thin and extra is reports[-1] else ("storage", [])
            merged = B.Report(merged.machine, dict(merged.settings, **{key: extra.settings}),
                              merged.results + extra.results, merged.targets + targets,
                              merged.notes + extra.notes)
        B.write_json(merged, args.json)
        print(f"\nJSON: {args.json}")
    if args.plot:
        if classic or not (storage or thin):
            B.plot(reports[0], args.plot)
            print(f"plot: {args.plot}")
        if storage:
            root, ext = os.path.splitext(args.plot)
            path = f"{root}-storage{ext or '.png'}" if classic else args.plot
            S.plot(sreport, path)
            print(f"plot: {path}")
    return 1 if any(r.status == "error" for rep in reports for r in rep.results) else 0


def main(argv=None):
    """``python -m ioring._cli_bench``: the bench command without the ``python -m ioring``
    dispatcher."""
    parser = argparse.ArgumentParser(prog="python -m ioring bench", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
