"""``python -m ioring bench``: the command line of ioring.bench.

Hooked into ``python -m ioring`` by ``add_subcommands(subparsers)``; also runs on its own:
``python -m ioring._cli_bench [WORKLOAD...] [options]``.
"""
import argparse
import os
import sys

DESCRIPTION = """\
Measure ioring against a C loop over the same ring core, os.pread/os.pwrite, a thread pool and
other Python io_uring packages, all in this run, and print ops/s, µs/op and the ratio to the C
reference (small-files, unzip: to the plain-Python way), with the performance targets.

workloads: nop (NOP round trips, batch 1 8 32 128), read / write (4 KiB random, QD 1 8 32 128,
page cache or --direct O_DIRECT, plain and registered buffers/files), small-files (create +
write + close N files), unzip (extract an N-member zip; then whole wheels - the .whl paths given,
else one built in the run - unpacked and installed by zipfile, ioring, installer, pip and uv, a
fresh process per measurement). Default: all of them, a few minutes.
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
    parser.add_argument("workloads", nargs="*", metavar="WORKLOAD",
                        help=f"any of {', '.join(B.WORKLOADS)} (default: all); .whl paths: "
                        "wheels unzip unpacks and installs with each tool (default: one built "
                        "in the run)")
    parser.add_argument("--seconds", type=_positive_float, default=B.DEFAULT_SECONDS,
                        help=f"measured time per point (default {B.DEFAULT_SECONDS})")
    parser.add_argument("--batch", type=_positive_ints, default=list(B.DEFAULT_BATCHES),
                        metavar="N,N...", help="NOP batch sizes (default 1,8,32,128)")
    parser.add_argument("--qd", type=_positive_ints, default=list(B.DEFAULT_QDS), metavar="N,N...",
                        help="read/write queue depths (default 1,8,32,128)")
    parser.add_argument("--file", help="file for read/write: used as is if it exists (and then "
                        "never written), else created with --size")
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
                        help=f"only these implementations ({', '.join(B.IMPLS)}); "
                        "the references (c, py-loop, zipfile) always run")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--plot", metavar="FILE.png",
                        help="also plot the read/write QD sweeps (needs matplotlib: "
                        "pip install 'ioring[bench]')")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress bar (it is only shown when stderr is a terminal)")
    return parser


def add_subcommands(subparsers):
    """Add the ``bench`` sub-command to ``python -m ioring``'s sub-parsers; the parsed args
    carry ``func`` (call ``args.func(args)`` for the exit status)."""
    parser = subparsers.add_parser("bench", help="benchmarks against C, os.pread and others",
                                   description=DESCRIPTION,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
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
    wheels = [w for w in args.workloads if w.endswith(".whl")]
    args.workloads = [w for w in args.workloads if not w.endswith(".whl")]
    if wheels and "unzip" not in args.workloads:
        args.workloads.append("unzip")
    missing = [w for w in wheels if not os.path.isfile(w)]
    if missing:
        print(f"no such wheel: {', '.join(missing)}", file=sys.stderr)
        return 2
    bad = [w for w in args.workloads if w not in B.WORKLOADS]
    if bad:
        print(f"unknown workload {', '.join(bad)} (choose from {', '.join(B.WORKLOADS)})",
              file=sys.stderr)
        return 2
    if args.impl:
        unknown = [k for k in args.impl if k not in B.IMPLS]
        if unknown:
            print(f"unknown implementation {', '.join(unknown)} (choose from {', '.join(B.IMPLS)})",
                  file=sys.stderr)
            return 2
    if args.plot:
        import importlib.util
        if importlib.util.find_spec("matplotlib") is None:
            print("--plot needs matplotlib: pip install 'ioring[bench]' (or pip install matplotlib)",
                  file=sys.stderr)
            return 2
    show = not args.no_progress and sys.stderr.isatty()
    report = B.run(args.workloads or None, seconds=args.seconds, batches=args.batch, qds=args.qd,
                   file=args.file, size_mib=args.size, directory=args.dir, direct=args.direct,
                   fixed=args.fixed, files=args.files, file_bytes=args.file_bytes,
                   impls=args.impl, progress=_Progress() if show else None, wheels=wheels)
    print(B.format_report(report))
    if args.json:
        B.write_json(report, args.json)
        print(f"\nJSON: {args.json}")
    if args.plot:
        B.plot(report, args.plot)
        print(f"plot: {args.plot}")
    return 1 if any(r.status == "error" for r in report.results) else 0


def main(argv=None):
    """``python -m ioring._cli_bench``: the bench command without the ``python -m ioring``
    dispatcher."""
    parser = argparse.ArgumentParser(prog="python -m ioring bench", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
