"""Fixtures of the pytest-benchmark suites (``pytest bench/ --benchmark-only``).

The suites measure the same implementations as ``python -m ioring bench`` (they are the
runners of ioring.bench, not copies), on small sizes so that a plain ``pytest bench/`` also
passes quickly. Each benchmark records in ``extra_info`` how many operations one timed call
did (``ops_per_call``), so per-operation times are ``mean / ops_per_call``; the C reference,
which times itself, records its own ``ops_per_sec``. Ratios belong to ``python -m ioring bench``,
which measures every reference in the same run: here there are no timing assertions.

IORING_BENCH_MAX_TIME (seconds, default 0.2) bounds the time pytest-benchmark spends on each
benchmark; IORING_BENCH_DIR chooses where the files go (default: pytest's tmp_path).
"""
import os

import pytest

from ioring import bench as B

MAX_TIME = float(os.environ.get("IORING_BENCH_MAX_TIME", "0.2"))
FILE_MIB = 16
C_SECONDS = 0.05


def pytest_collection_modifyitems(items):
    marker = pytest.mark.benchmark(max_time=MAX_TIME, min_rounds=3, warmup=False)
    for item in items:
        item.add_marker(marker)


@pytest.fixture(scope="session")
def bench_dir(tmp_path_factory):
    base = os.environ.get("IORING_BENCH_DIR")
    if base:
        import tempfile
        d = tempfile.mkdtemp(prefix="ioring-pytest-bench-", dir=base)
        yield d
        import shutil
        shutil.rmtree(d, ignore_errors=True)
    else:
        yield str(tmp_path_factory.mktemp("ioring-bench"))


@pytest.fixture(scope="session")
def stamped_file(bench_dir):
    """A FILE_MIB MiB file in the benchmark format (block b starts with b), in the page cache:
    (path, nblocks)."""
    path = os.path.join(bench_dir, "data.bin")
    nblocks = B.make_file(path, FILE_MIB << 20)
    return path, nblocks


@pytest.fixture(scope="session")
def offsets(stamped_file):
    return B._offsets(stamped_file[1])


def _count_ops(step):
    """``step`` wrapped to count calls and operations."""
    count = {"calls": 0, "ops": 0}

    def counted():
        n = step()
        count["calls"] += 1
        count["ops"] += n
        return n
    return counted, count


def run_runner(benchmark, make):
    """Benchmark one runner of ioring.bench: its ``step`` under the benchmark fixture, or,
    for the C reference (which times itself with the GIL released), ``measure`` once per
    round. A runner that cannot run here (not installed, n/a) skips the test."""
    try:
        runner = make()
    except B.Skip as skip:
        pytest.skip(f"{skip.status}: {skip.note}")
    try:
        with B._Watchdog(20):       # a lost completion fails the test instead of hanging it
            _run(benchmark, runner)
    finally:
        runner.close()


def _run(benchmark, runner):
    if "step" not in vars(runner):
        # The C reference: it times itself (GIL released), so each round is one measure().
        results = []

        def measure():
            results.append(runner.measure(C_SECONDS))
        benchmark.pedantic(measure, rounds=3, iterations=1)
        ops = sum(r[0] for r in results)
        secs = sum(r[1] for r in results)
        assert ops > 0
        benchmark.extra_info["ops_per_sec"] = ops / secs
        benchmark.extra_info["ops_per_call"] = ops / len(results)
    else:
        counted, count = _count_ops(runner.step)
        benchmark(counted)
        assert count["ops"] > 0
        benchmark.extra_info["ops_per_call"] = count["ops"] / count["calls"]
