"""bench/bench_async_files.py and bench/bench_echo.py on tiny inputs: every method runs, its
result is checked by the benchmark itself (a wrong one raises), and the report has the ratios
issue 19 asks for."""
import os
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
