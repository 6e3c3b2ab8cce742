"""TCP echo servers: ioring.asyncio streams (AsyncRing.start_server) vs asyncio streams
(asyncio.start_server), each on the default asyncio loop and under uvloop, same run.

Every server runs in its own process, with the same echo handler::

    async def echo(reader, writer):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()

and the same client drives them all: ``bench/c/echo_client.c`` (plain sockets, in C, built
here with ``cc`` on first use), which checks every byte echoed. Cases (one operation = one
message echoed):

    pingpong-1     1 connection, a 64 B message, wait for its echo, again
    pingpong-10    10 connections, a 64 B message on each, wait for the 10 echoes, again
    pipelined-64   1 connection, up to 64 messages of 64 B in flight, each its own send()
    pipelined-4k   1 connection, up to 64 messages of 4 KiB in flight

Each (case, server) is measured ``--repeat`` times, interleaved (case by case, every server in
turn, then again), and the median is reported with the ratio to asyncio streams on the same
loop; so is the server's CPU time per message (user + system, from /proc/PID/stat), which a
loaded machine disturbs much less than the throughput: in the pipelined cases the client (a
send() per message) is the bottleneck, and the throughput also depends on how the server
batches its replies. Figures from a shared or loaded machine are preliminary: compare ratios
of one run.

    python bench/bench_echo.py                       # 1 s per measurement, 3 repetitions
    python bench/bench_echo.py --seconds 2 --repeat 5 pingpong-1 pipelined-4k
    python bench/bench_echo.py --json out.json
    python bench/bench_echo.py --realtime            # servers and client at SCHED_FIFO 1 (root)
    python bench/bench_echo.py --old ../old-tree --servers ioring-asyncio old-ioring-asyncio

``--old TREE`` adds the servers ``old-ioring-asyncio`` and ``old-ioring-uvloop``: the same
servers run from another checkout with its extensions built in place (the build before a
change), measured in the same run, interleaved, with the ratio new / old.

On a machine shared with other work the figures swing from run to run (the scheduler decides
how many messages each wake-up of a server finds), and a loaded machine batches far more
messages per wake-up than a quiet one. ``--realtime`` runs the servers and the client at
real-time priority (SCHED_FIFO 1; the kernel still leaves 5% of each CPU to the rest), which
gives them the CPUs at once as on a quiet machine: runs then repeat within a few percent.
"""
import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

import _checkout    # bench/ is on sys.path (a script's own directory)

HERE = os.path.dirname(os.path.abspath(__file__))
INCLUDE = os.path.join(os.path.dirname(HERE), "include", "ioring")
if __name__ == "__main__":
    _checkout.use()

CASES = {
    "pingpong-1": ("pingpong", 1, 64, None),
    "pingpong-10": ("pingpong", 10, 64, None),
    "pipelined-64": ("pipelined", 1, 64, 64),
    "pipelined-4k": ("pipelined", 1, 4096, 64),
}
SERVERS = ["ioring-asyncio", "asyncio", "ioring-uvloop", "uvloop"]
OLD_SERVERS = ["old-ioring-asyncio", "old-ioring-uvloop"]     # --old TREE: another build's
BASELINE = {"ioring-asyncio": "asyncio", "ioring-uvloop": "uvloop"}
OLD_BASELINE = {"ioring-asyncio": "old-ioring-asyncio", "ioring-uvloop": "old-ioring-uvloop"}
# --limit: the same echo server in C, receiving three ways (bench/c/echo_server_limit.c)
LIMIT_SERVERS = ["c-epoll", "c-uring", "c-uring-wait"]
LIMIT_BASELINE = {"c-uring": "c-epoll", "c-uring-wait": "c-epoll"}


# ---- servers (run in a child process: python bench/bench_echo.py --serve KIND) -----------------

async def echo(reader, writer):
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()


async def _serve(kind):
    done = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_reader(sys.stdin.fileno(), lambda: done.done() or done.set_result(None))
    if kind.startswith("ioring"):
        from ioring.asyncio import AsyncRing
        flags = int(os.environ.get("IORING_BENCH_ECHO_FLAGS", "0"), 0)     # experiments
        async with AsyncRing(flags=flags) as ring:
            buffers = None
            if os.environ.get("IORING_BENCH_ECHO_BUFFERS"):                # experiments
                from ioring import BufferRing
                count, size = map(int, os.environ["IORING_BENCH_ECHO_BUFFERS"].split(","))
                buffers = BufferRing(ring.ring, count, size)
            server = await ring.start_server(echo, "127.0.0.1", 0, buffers=buffers)
            print(server.sockets[0].getsockname()[1], flush=True)
            await done
            server.close()
            await server.wait_closed()
    else:
        server = await asyncio.start_server(echo, "127.0.0.1", 0)
        print(server.sockets[0].getsockname()[1], flush=True)
        await done
        server.close()


def serve(kind):
    """Serve until stdin is closed (the parent exits or closes the pipe)."""
    if kind.endswith("uvloop"):
        import uvloop
        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(_serve(kind))
    finally:
        loop.close()


# ---- client -------------------------------------------------------------------------------------

def _build(name, directory, headers=False):
    """bench/c/NAME.c compiled into ``directory`` (default: a cache directory under $TMPDIR)
    unless it is there and newer than its source (and, with ``headers``, than the ring core's
    headers it is compiled over). Returns its path."""
    source = os.path.join(HERE, "c", name + ".c")
    directory = directory or os.path.join(tempfile.gettempdir(), "ioring-bench-echo")
    os.makedirs(directory, exist_ok=True)
    exe = os.path.join(directory, name)
    inputs = [source] + ([os.path.join(INCLUDE, h) for h in os.listdir(INCLUDE)] if headers else [])
    if os.path.exists(exe) and os.path.getmtime(exe) >= max(map(os.path.getmtime, inputs)):
        return exe
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise SystemExit(f"bench_echo.py needs a C compiler (cc) for {name}")
    subprocess.run([cc, "-O2"] + (["-I", os.path.dirname(INCLUDE)] if headers else []) +
                   ["-o", exe, source], check=True)
    return exe


def build_client(directory=None):
    """The echo client, compiled from bench/c/echo_client.c (see _build). Returns its path."""
    return _build("echo_client", directory)


def build_limit_server(directory=None):
    """--limit's servers, bench/c/echo_server_limit.c compiled over the ring core's headers."""
    return _build("echo_server_limit", directory, headers=True)


def _cpu_seconds(pid):
    """User + system CPU time of process ``pid`` so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_client(exe, port, case, seconds, server_pid=None):
    """(messages echoed per second, server CPU seconds per message or None)."""
    mode, conns, size, window = CASES[case]
    args = [exe, "127.0.0.1", str(port), mode, str(conns), str(size), str(seconds)]
    if window is not None:
        args.append(str(window))
    cpu0 = _cpu_seconds(server_pid) if server_pid else None
    out = subprocess.run(args, check=True, capture_output=True, text=True, timeout=seconds + 60)
    cpu = _cpu_seconds(server_pid) - cpu0 if server_pid else None
    ops, secs = out.stdout.split()
    # The CPU time covers the warm-up too (a tenth of the time, at most 0.2 s): scale it.
    total = float(secs) + min(0.2, float(secs) / 10)
    return int(ops) / float(secs), (cpu / (int(ops) * total / float(secs)) if cpu is not None else None)


def _have(module):
    try:
        __import__(module)
        return True
    except ImportError:
        return False


def start_server(kind, old_tree=None):
    """The server process ``kind`` and its port; an old-* kind runs from ``old_tree`` (its own
    bench_echo.py and its own ioring)."""
    if kind in LIMIT_SERVERS:
        proc = subprocess.Popen([build_limit_server(), kind[len("c-"):]], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
        return proc, int(proc.stdout.readline())
    if kind.startswith("old-"):
        if old_tree is None:
            raise ValueError(f"server {kind} needs --old TREE")
        tree = os.path.abspath(old_tree)
        script = os.path.join(tree, "bench", "bench_echo.py")
        env = dict(os.environ, PYTHONPATH=tree)
        kind = kind[len("old-"):]
    else:
        script, env = os.path.abspath(__file__), _checkout.child_env()
    proc = subprocess.Popen([sys.executable, script, "--serve", kind],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    line = proc.stdout.readline()
    if not line:
        proc.wait()
        raise RuntimeError(f"the {kind} server did not start (exit {proc.returncode})")
    return proc, int(line)


def _realtime():
    """Put this process at SCHED_FIFO priority 1 (its children inherit it); returns how to
    undo that."""
    policy, param = os.sched_getscheduler(0), os.sched_getparam(0)
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
    except PermissionError:
        raise SystemExit("--realtime needs root (or CAP_SYS_NICE)") from None
    return lambda: os.sched_setscheduler(0, policy, param)


def default_servers(old_tree=None):
    """The servers run when none are named: each Python server whose loop is installed (and the
    old-* ones with an old tree)."""
    servers = [s for s in SERVERS if not s.endswith("uvloop") or _have("uvloop")]
    if old_tree is not None:
        servers += [s for s in OLD_SERVERS if not s.endswith("uvloop") or _have("uvloop")]
    return servers


def run_benchmark(cases=tuple(CASES), servers=None, seconds=1.0, repeat=3, realtime=False,
                  old_tree=None):
    """{"results": {case: {server: {"median": ops/s, "runs": [...]}}}, "ratios": {case:
    {"ioring-asyncio/asyncio": r, ...}}, "paired": {case: {"ioring-asyncio/old-ioring-asyncio":
    median of the per-repetition ratios, ...}}, "realtime": bool, "loadavg": (1, 5, 15 min)}.
    ``realtime``: servers and client at SCHED_FIFO 1 (see the module doc); ``old_tree``: a
    checkout the old-* servers run from."""
    if servers is None:
        servers = default_servers(old_tree)
    exe = build_client()
    procs = {}
    loadavg = os.getloadavg()
    undo = _realtime() if realtime else None
    try:
        for kind in servers:
            procs[kind] = start_server(kind, old_tree)
        runs = {case: {kind: [] for kind in servers} for case in cases}
        cpus = {case: {kind: [] for kind in servers} for case in cases}
        for _ in range(repeat):
            for case in cases:
                for kind in servers:
                    rate, cpu = run_client(exe, procs[kind][1], case, seconds, procs[kind][0].pid)
                    runs[case][kind].append(rate)
                    cpus[case][kind].append(cpu)
        policies = {kind: os.sched_getscheduler(proc.pid) for kind, (proc, _) in procs.items()}
    finally:
        if undo is not None:
            undo()
        for kind, (proc, _) in procs.items():
            proc.stdin.close()
            if kind in LIMIT_SERVERS:
                proc.terminate()        # (serves until killed)
        for proc, _ in procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    out = {"seconds": seconds, "repeat": repeat, "python": sys.version.split()[0],
           "realtime": all(p == os.SCHED_FIFO for p in policies.values()) and bool(policies),
           "loadavg": loadavg, "results": {}, "ratios": {}}
    for case in cases:
        out["results"][case] = {k: {"median": statistics.median(v), "runs": v,
                                    "cpu_us_per_msg": 1e6 * statistics.median(cpus[case][k])}
                                for k, v in runs[case].items()}
        out["ratios"][case] = {
            f"{k}/{base}": out["results"][case][k]["median"] / out["results"][case][base]["median"]
            for k, base in list(BASELINE.items()) + list(OLD_BASELINE.items()) + list(LIMIT_BASELINE.items())
            if k in servers and base in servers}
        # Same-repetition ratios (each pair measured one after the other), median: less noisy
        # than the ratio of medians on a shared machine.
        out.setdefault("paired", {})[case] = {
            f"{k}/{base}": statistics.median(a / b for a, b in zip(runs[case][k], runs[case][base]))
            for k, base in list(BASELINE.items()) + list(OLD_BASELINE.items()) + list(LIMIT_BASELINE.items())
            if k in servers and base in servers}
    return out


def format_results(out):
    servers = list(next(iter(out["results"].values())))
    where = ("servers and client at SCHED_FIFO 1" if out.get("realtime") else
             "preliminary on a shared machine")
    load = out.get("loadavg")
    lines = [f"echo servers, messages echoed per second (median of {out['repeat']} interleaved "
             f"runs of {out['seconds']:g} s; Python {out['python']}); {where}"
             + (f"; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} before the run" if load else ""),
             ""]
    w = max([16] + [len(s) + 2 for s in servers])
    ratios = list(next(iter(out["ratios"].values())))
    rw = max([24] + [len(r) + 2 for r in ratios])
    head = f"{'case':14}" + "".join(f"{s:>{w}}" for s in servers) + "".join(f"{r:>{rw}}" for r in ratios)
    lines += [head, "-" * len(head)]
    for case, row in out["results"].items():
        lines.append(f"{case:14}" + "".join(f"{row[s]['median']:{w},.0f}" for s in servers) +
                     "".join(f"{r:{rw - 1}.2f}x" for r in out["ratios"][case].values()))
    lines += ["", "server CPU time per message echoed (us, median):",
              f"{'case':14}" + "".join(f"{s:>{w}}" for s in servers)]
    for case, row in out["results"].items():
        lines.append(f"{case:14}" + "".join(f"{row[s]['cpu_us_per_msg']:{w}.2f}" for s in servers))
    if out.get("paired") and out["repeat"] > 1:
        lines += ["", "paired ratios (median of the ratios of each repetition, min-max):",
                  f"{'case':14}" + "".join(f"{r:>{rw + 12}}" for r in ratios)]
        for case, row in out["paired"].items():
            cells = []
            for r, v in row.items():
                a, b = r.split("/")
                each = [x / y for x, y in zip(out["results"][case][a]["runs"],
                                              out["results"][case][b]["runs"])]
                cells.append(f"{v:.3f}x ({min(each):.2f}-{max(each):.2f})")
            lines.append(f"{case:14}" + "".join(f"{c:>{rw + 12}}" for c in cells))
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("cases", nargs="*", help=f"cases to run (default: all): {', '.join(CASES)}")
    p.add_argument("--seconds", type=float, default=1.0)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--servers", nargs="+", choices=SERVERS + OLD_SERVERS + LIMIT_SERVERS, default=None)
    p.add_argument("--json", default=None, help="also write the results to this file")
    p.add_argument("--realtime", action="store_true",
                   help="run the servers and the client at SCHED_FIFO priority 1 (root)")
    p.add_argument("--old", default=None, metavar="TREE",
                   help="also run the ioring servers of this checkout (built in place): old-*")
    p.add_argument("--limit", action="store_true",
                   help="also run the same echo server in C, receiving with epoll+recv, with a "
                        "multishot recv under epoll, and with a multishot recv waited for in "
                        "io_uring_enter (bench/c/echo_server_limit.c): what each way of "
                        "receiving costs without Python")
    p.add_argument("--serve", choices=SERVERS, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.serve:
        serve(args.serve)
        return None
    unknown = [c for c in args.cases if c not in CASES]
    if unknown:
        p.error(f"unknown case(s) {unknown}: choose from {', '.join(CASES)}")
    if args.servers and any(s.startswith("old-") for s in args.servers) and not args.old:
        p.error("old-* servers need --old TREE")
    servers = args.servers
    if args.limit:
        servers = (servers or default_servers(args.old)) + [s for s in LIMIT_SERVERS if s not in (servers or ())]
    out = run_benchmark(args.cases or list(CASES), servers, args.seconds, args.repeat,
                        args.realtime, args.old)
    print(format_results(out))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    return out


if __name__ == "__main__":
    main()
