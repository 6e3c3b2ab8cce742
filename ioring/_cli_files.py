"""``python -m ioring cp SRC DST`` and ``python -m ioring unzip ARCHIVE DEST``.

``add_subcommands(subparsers)`` adds both to an ``argparse`` sub-parser set; each sets
``func`` (the handler, ``func(args) -> exit status``) as a default.
"""
import os
import sys

from ioring._progress import Progress, human_bytes, run_paths_command

__all__ = ["add_subcommands", "cmd_cp", "cmd_unzip"]


def _fail(prog, exc):
    print(f"python -m ioring {prog}: {exc}", file=sys.stderr)
    return 1


def cmd_cp(args):
    """Copy SRC to DST (into DST when it is a directory); permission bits are preserved. With
    -r, SRC may be a directory: its tree is copied with shutil.copytree's result (modes and
    times preserved, symbolic links copied as links)."""
    src, dst = args.src, args.dst
    if os.path.isdir(dst):
        dst = os.path.join(dst, os.path.basename(os.path.normpath(src)))
    if os.path.isdir(src):
        if not args.recursive:
            return _fail("cp", f"{src!r} is a directory: use -r to copy it")
        return _copy_tree(src, dst, args)
    from ioring.files import copy_file
    try:
        total = os.path.getsize(src)
    except OSError as exc:
        return _fail("cp", exc)
    bar = Progress(total, os.path.basename(src), enabled=False if args.quiet else None)
    try:
        with bar:
            copy_file(src, dst, chunk_size=args.chunk_size, queue_depth=args.queue_depth,
                      progress=bar)
    except (OSError, ValueError) as exc:
        return _fail("cp", exc)
    if args.verbose:
        print(f"{src} -> {dst} ({human_bytes(total)})")
    return 0


def _copy_tree(src, dst, args):
    import shutil
    from ioring.files import copytree
    bar = Progress(0, os.path.basename(os.path.normpath(src)),
                   enabled=False if args.quiet else None)
    try:
        with bar:
            copytree(src, dst, symlinks=True, progress=bar)
    except shutil.Error as exc:
        problems = exc.args[0] if exc.args and isinstance(exc.args[0], list) else None
        if problems is None:                    # e.g. a destination inside the source
            return _fail("cp", exc)
        for srcname, dstname, why in problems:  # what could not be copied; the rest was
            _fail("cp", f"{srcname} -> {dstname}: {why}")
        return 1
    except (OSError, ValueError) as exc:
        return _fail("cp", exc)
    if args.verbose:
        print(f"{src} -> {dst} ({human_bytes(bar.done)})")
    return 0


def cmd_unzip(args):
    """Extract ARCHIVE (zip or wheel) into DEST."""
    from ioring.files import extract_zip
    return run_paths_command(
        "unzip", args, args.archive,
        lambda bar: extract_zip(args.archive, args.dest, progress=bar,
                                max_ratio=args.max_ratio or None, threads=args.threads),
        f"{{n}} entries extracted to {args.dest}")


def _size(text):
    """'1M', '256K', '4096' -> bytes."""
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    text = text.strip().lower().removesuffix("ib").removesuffix("b")
    scale = units.get(text[-1:], 1)
    if text[-1:] in units:
        text = text[:-1]
    return int(text) * scale


def add_subcommands(subparsers):
    """Add ``cp`` and ``unzip`` to ``subparsers`` (from ``ArgumentParser.add_subparsers``)."""
    cp = subparsers.add_parser("cp", help="copy a file (pipelined, registered buffers) or, with -r, "
                                          "a directory tree through io_uring",
                               description=cmd_cp.__doc__)
    cp.add_argument("-r", "-R", "--recursive", action="store_true",
                    help="copy a directory tree (files.copytree)")
    cp.add_argument("src")
    cp.add_argument("dst")
    cp.add_argument("--chunk-size", type=_size, default=1 << 20, help="bytes per request (default 1M)")
    cp.add_argument("--queue-depth", type=int, default=8, help="chunks in flight (default 8)")
    cp.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    cp.add_argument("-v", "--verbose", action="store_true", help="print what was copied")
    cp.set_defaults(func=cmd_cp)
    unzip = subparsers.add_parser("unzip", help="extract a zip or wheel through io_uring",
                                  description=cmd_unzip.__doc__)
    unzip.add_argument("archive")
    unzip.add_argument("dest")
    unzip.add_argument("--max-ratio", type=float, default=200, metavar="N",
                       help="refuse members inflating more than N:1 above 1 MiB, as zip bombs "
                       "(default 200; 0: no limit)")
    unzip.add_argument("--threads", type=int, default=None, metavar="N",
                       help="threads inflating (default: one per CPU, up to 8)")
    unzip.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary")
    unzip.add_argument("-v", "--verbose", action="store_true", help="list the extracted paths")
    unzip.set_defaults(func=cmd_unzip)
    return subparsers
