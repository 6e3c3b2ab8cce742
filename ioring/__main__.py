"""python -m ioring: command-line entry points.

  demo   write and read back a file through ioring.liburing, then time NOP round trips
  info   kernel, io_uring availability, and the opcodes this kernel supports
  bench  benchmarks against C over the same core, os.pread and other io_uring packages
  cp     copy a file (pipelined reads and writes with registered buffers), -r a tree
  unzip  extract a zip or wheel (threads inflating, open-write chains in flight)
  install  install a wheel as pip install --no-deps --target does
"""
# Each command imports what it needs when it runs: `python -m ioring unzip` must not pay for
# the benchmark module (tests/test_cli.py checks which modules each command imports).
import argparse
import os
import signal
import sys


def cmd_info(args):
    import platform
    from ioring import liburing as L
    print(f"ioring {__import__('ioring').__version__}, mirrors liburing "
          f"{L.io_uring_major_version()}.{L.io_uring_minor_version()}")
    print(f"kernel {platform.release()} ({platform.machine()}), Python {platform.python_version()}")
    try:
        with open("/proc/sys/kernel/io_uring_disabled") as f:
            print(f"kernel.io_uring_disabled = {f.read().strip()}")
    except OSError:
        pass
    from ioring._inflate import describe
    print(describe())
    from ioring._info import kernel_probe
    try:
        table = kernel_probe()
    except OSError as exc:
        print(f"io_uring is not available here: {exc}")
        return 1
    supported = [name for name, ok in table.items() if ok]
    missing = [name for name, ok in table.items() if not ok]
    print(f"opcodes supported: {len(supported)} of {len(table)} known")
    for name in supported:
        print(f"  + {name}")
    for name in missing:
        print(f"  - {name} (not supported by this kernel)")
    return 0


def cmd_demo(args):
    import tempfile
    import time
    from ioring import liburing as L
    ring = L.io_uring()
    L.io_uring_queue_init(64, ring, 0)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "demo.bin")
            payload = os.urandom(1 << 16)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                sqe = L.io_uring_get_sqe(ring)
                L.io_uring_prep_write(sqe, fd, payload, len(payload), 0)
                L.io_uring_sqe_set_flags(sqe, L.IOSQE_IO_LINK)
                L.io_uring_prep_fsync(L.io_uring_get_sqe(ring), fd, 0)
                L.io_uring_submit_and_wait(ring, 2)
                results = []
                for _ in range(2):
                    cqe = L.io_uring_wait_cqe(ring)
                    results.append(cqe.res)
                    L.io_uring_cqe_seen(ring, cqe)
                back = bytearray(len(payload))
                sqe = L.io_uring_get_sqe(ring)
                L.io_uring_prep_read(sqe, fd, back, len(back), 0)
                L.io_uring_submit(ring)
                cqe = L.io_uring_wait_cqe(ring)
                L.io_uring_cqe_seen(ring, cqe)
            finally:
                os.close(fd)
        ok = results[0] == len(payload) and results[1] == 0 and cqe.res == len(payload) and back == payload
        print(f"write {results[0]} B + fsync {results[1]} (linked), read back {cqe.res} B: "
              f"{'identical' if ok else 'MISMATCH'}")
        for batch in (1, 32):
            n, start = 0, time.perf_counter()
            while time.perf_counter() - start < args.seconds:
                for _ in range(batch):
                    L.io_uring_prep_nop(L.io_uring_get_sqe(ring))
                L.io_uring_submit_and_wait(ring, batch)
                L.io_uring_cq_advance(ring, L.io_uring_cq_ready(ring))
                n += batch
            elapsed = time.perf_counter() - start
            print(f"thin-layer NOP round trips, batch {batch:3d}: {n / elapsed / 1e6:6.2f} M ops/s "
                  f"({elapsed / n * 1e9:6.0f} ns/op)")
        return 0 if ok else 1
    finally:
        L.io_uring_queue_exit(ring)


def _command(argv):
    """The sub-command named in ``argv`` (the first argument that is not an option), if any."""
    return next((a for a in argv if not a.startswith("-")), None)


def main(argv=None):
    """Parse ``argv`` (default: the command line) and run the command; returns the exit
    status. Ctrl-C raises KeyboardInterrupt and a closed output pipe BrokenPipeError, as in
    any Python function: ``run`` turns them into the ending Unix tools have."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(prog="python -m ioring", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    demo = sub.add_parser("demo", help="write, fsync and read a file; time NOP round trips")
    demo.add_argument("--seconds", type=float, default=1.0, help="time per NOP measurement")
    sub.add_parser("info", help="kernel and io_uring opcode support")
    from ioring._cli_bench import add_subcommands as add_bench
    # bench's options take their defaults from ioring.bench: only imported to run bench
    add_bench(sub, with_arguments=_command(argv) == "bench")
    from ioring._cli_files import add_subcommands as add_files
    add_files(sub)
    from ioring._cli_install import add_subcommands as add_install
    add_install(sub)
    args = parser.parse_args(argv)
    if args.command == "info":
        return cmd_info(args)
    if args.command == "demo":
        return cmd_demo(args)
    if args.command in ("bench", "cp", "unzip", "install"):
        return args.func(args)
    parser.print_help()
    return 2


def _end_by_signal(signum):
    """End the way a C tool does: silently, killed by ``signum`` (a shell then reports
    128 + signum: 130 after Ctrl-C, 141 when the reader of our output has gone), once the
    output buffers are dealt with. Returns 128 + signum when the signal is blocked."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            # Its reader has gone: point the fd at /dev/null, so that nothing writes to the
            # pipe again (the interpreter's last flush would print "Exception ignored ...").
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, stream.fileno())
                os.close(devnull)
            except (OSError, ValueError):
                pass
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
    return 128 + signum             # reached only if the signal is blocked


def run(argv=None):
    """The process entry point: ``main``, except that Ctrl-C ends the process by SIGINT and a
    closed output pipe (``python -m ioring unzip -v ... | head``) by SIGPIPE, without a
    traceback, as Unix tools do. What was being done is cleaned up first (rings closed,
    partial copies removed: see ioring.files)."""
    try:
        return main(argv)
    except KeyboardInterrupt:
        return _end_by_signal(signal.SIGINT)
    except BrokenPipeError:
        return _end_by_signal(signal.SIGPIPE)


if __name__ == "__main__":
    sys.exit(run())
