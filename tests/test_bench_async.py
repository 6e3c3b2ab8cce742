"""bench/bench_async_files.py and bench/bench_echo.py on tiny inputs: every method runs, its
result is checked by the benchmark itself (a wrong one raises), and the report has the ratios
issue 19 asks for."""
import os
import shutil
import sys

import pytest


# The checkout's bench/ (ioring itself may be imported from site-packages).
BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench")


def _import(name):
    sys.path.insert(0, BENCH)
    try:
        return __import__(name)
    finally:
        sys.path.remove(BENCH)


def test_bench_async_files_runs_and_checks_every_method(tmp_path):
    bench = _import("bench_async_files")
    out = bench.run_benchmark(str(tmp_path), 40, 3000, 1)
    names = set(out["median_ms"])
    assert {"blocking loop", "Ring.read_files", "gather(read_file) [asyncio]",
            "read_files [asyncio]", "run_in_executor [asyncio]"} <= names
    assert out["files"] == 40 and 40 * 2000 < out["total_bytes"] < 40 * 4000
    assert all(r > 0 for r in out["ratio_vs_blocking"].values())
    text = bench.format_results(out)
    assert "gather/blocking" in text and "read_files/blocking" in text
    assert "CPU ms" in text and all(v >= 0 for v in out["median_cpu_ms"].values())
    assert out["loadavg"][0][0] >= 0


@pytest.mark.skipif(not shutil.which(os.environ.get("CC", "cc")), reason="no C compiler")
def test_bench_async_files_c_limit_runs_every_way(tmp_path):
    # bench/c/bench_smallfiles.c checks the length and first byte of every file it reads and
    # exits 1 on a wrong one (c_limit then returns None).
    bench = _import("bench_async_files")
    ways = bench.c_limit(str(tmp_path), 300, 3000, 1)
    assert set(ways) == {"loop", "loop-2threads", "chain", "chain-skip", "chain-async/2",
                         "chain-async", "2rings"}
    assert all(w["wall_ms"] > 0 and w["cpu_ms"] >= 0 for w in ways.values())
    assert ways["loop"]["enters_per_file"] == 0 and ways["chain"]["enters_per_file"] > 0
    assert os.listdir(tmp_path) == ["bench_smallfiles"]    # its files are removed
    (tmp_path / "py").mkdir()
    out = bench.run_benchmark(str(tmp_path / "py"), 20, 3000, 1)
    out["c_limit"] = ways
    text = bench.format_results(out)
    assert "the C limit" in text and "Ring.read_files / C chains" in text


def test_bench_async_files_catches_a_wrong_result(tmp_path, monkeypatch):
    bench = _import("bench_async_files")
    monkeypatch.setattr(bench, "methods", lambda: {
        "blocking loop": bench.blocking_loop,
        "wrong": lambda paths: (0.001, [b""] * len(paths))})
    with pytest.raises(AssertionError, match="wrong: wrong contents"):
        bench.run_benchmark(str(tmp_path), 5, 100, 1)


def test_bench_echo_every_server_and_case():
    bench = _import("bench_echo")
    out = bench.run_benchmark(seconds=0.1, repeat=1)
    assert set(out["results"]) == {"pingpong-1", "pingpong-10", "pipelined-64", "pipelined-4k"}
    for case, row in out["results"].items():
        assert {"ioring-asyncio", "asyncio"} <= set(row)
        assert all(r["median"] > 0 for r in row.values()), case
        assert "ioring-asyncio/asyncio" in out["ratios"][case]
    assert "pingpong-10" in bench.format_results(out)


def test_bench_echo_limit_servers_echo_every_case():
    """--limit's C servers (bench/c/echo_server_limit.c: epoll + recv, a multishot recv under
    epoll, a multishot recv waited for in io_uring_enter) pass the client's byte check in every
    case, and the report has their ratios to the epoll server."""
    bench = _import("bench_echo")
    out = bench.run_benchmark(servers=list(bench.LIMIT_SERVERS), seconds=0.1, repeat=1)
    for case, row in out["results"].items():
        assert all(r["median"] > 0 for r in row.values()), case
        assert set(out["ratios"][case]) == {"c-uring/c-epoll", "c-uring-wait/c-epoll"}
    assert "c-uring-wait" in bench.format_results(out)


@pytest.mark.skipif(os.geteuid() != 0, reason="SCHED_FIFO needs root")
def test_bench_echo_realtime_runs_servers_at_fifo_and_restores_this_process():
    bench = _import("bench_echo")
    before = os.sched_getscheduler(0)
    out = bench.run_benchmark(cases=("pingpong-1",), servers=["ioring-asyncio", "asyncio"],
                              seconds=0.1, repeat=1, realtime=True)
    assert out["realtime"] is True
    assert os.sched_getscheduler(0) == before
    assert all(r["median"] > 0 for r in out["results"]["pingpong-1"].values())
    assert "SCHED_FIFO" in bench.format_results(out) and "load average" in bench.format_results(out)


def _echo_server(mangle_at=None):
    """A blocking echo server on a thread (one connection); with ``mangle_at``, the byte at that
    stream offset is echoed changed. Returns (port, thread)."""
    import socket
    import threading
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(1)

    def serve():
        conn, _ = lst.accept()
        lst.close()
        offset = 0
        with conn:
            try:
                while data := conn.recv(1 << 16):
                    if mangle_at is not None and offset <= mangle_at < offset + len(data):
                        data = bytearray(data)
                        data[mangle_at - offset] ^= 0x40
                    offset += len(data)
                    conn.sendall(data)
            except ConnectionError:
                pass            # the client stopped at the wrong byte

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return lst.getsockname()[1], t


@pytest.mark.parametrize("mode, size", [("pingpong", 4096), ("pipelined", 4096), ("pipelined", 64),
                                        ("pipelined", 5), ("pingpong", 8)])
@pytest.mark.parametrize("mangle_at", [None, 3, 4095 * 7 + 2, 4096 * 9 + 1000])
def test_echo_client_checks_every_byte(tmp_path, mode, size, mangle_at):
    """The C client of bench_echo verifies every byte echoed (the index bytes of each message and
    its pattern): a server that changes one byte fails it, an exact one passes."""
    import subprocess
    exe = _import("bench_echo").build_client(str(tmp_path))
    port, t = _echo_server(mangle_at)
    args = [exe, "127.0.0.1", str(port), mode, "1", str(size), "0.3"] + (["8"] if mode == "pipelined" else [])
    proc = subprocess.run(args, capture_output=True, text=True, timeout=60)
    t.join(10)
    if mangle_at is None:
        assert proc.returncode == 0, proc.stderr
        assert int(proc.stdout.split()[0]) > 0
    else:
        assert proc.returncode == 1 and "wrong data" in proc.stderr, (proc.returncode, proc.stderr)
