"""``python -m ioring install WHEEL --target DIR``: ``pip install --no-deps --target`` for one
wheel, through ``ioring.files.install_wheel``.

``add_subcommands(subparsers)`` adds it to an ``argparse`` sub-parser set; it sets ``func``
(the handler, ``func(args) -> exit status``) as a default.
"""
import argparse

from ioring._progress import run_paths_command

__all__ = ["add_subcommands", "cmd_install"]


def cmd_install(args):
    """Install WHEEL into DIR as `pip install --no-deps --target DIR WHEEL` does."""
    from ioring.files import install_wheel
    return run_paths_command(
        "install", args, args.wheel,
        lambda bar: install_wheel(args.wheel, args.target, progress=bar,
                                  compile_bytecode=args.compile, verify_record=args.verify_record,
                                  max_ratio=args.max_ratio or None),
        f"{{n}} files installed in {args.target}")


def add_subcommands(subparsers):
    """Add ``install`` to ``subparsers`` (from ``ArgumentParser.add_subparsers``)."""
    p = subparsers.add_parser("install", help="install a wheel like pip install --no-deps --target",
                              description=cmd_install.__doc__)
    p.add_argument("wheel")
    p.add_argument("--target", "-t", required=True, metavar="DIR", help="directory to install into")
    p.add_argument("--compile", action=argparse.BooleanOptionalAction, default=False,
                   help="byte-compile the .py files as pip does by default (default: no, as "
                   "pip install --no-compile)")
    p.add_argument("--verify-record", action="store_true",
                   help="check every file against the wheel's own RECORD (sha256, size)")
    # 200: ioring._unzip.DEFAULT_MAX_RATIO, not imported here (it would load the engine and the
    # inflater for every command line)
    p.add_argument("--max-ratio", type=float, default=200, metavar="N",
                   help="refuse members inflating more than N:1 above 1 MiB, as zip bombs "
                   "(default 200; 0: no limit)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no summary")
    p.add_argument("-v", "--verbose", action="store_true", help="list the installed paths")
    p.set_defaults(func=cmd_install)
    return subparsers

