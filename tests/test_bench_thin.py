"""The thin-layer comparison (issue 18): ioring.liburing's per-op loops against the PyPI liburing
package's (ioring/bench/thin.py, bench/bench_thin.py, `python -m ioring bench thin`): it runs,
checks every completion, reports ratios and the targets; without the PyPI package it measures
ioring.liburing alone and says why."""
import json
import os
import pathlib
import subprocess
import sys

import pytest

import ioring
from ioring.bench import thin as T
from ioring import bench as B

PKG_PARENT = str(pathlib.Path(ioring.__file__).resolve().parent.parent)


def _pypi():
    try:
        return T.import_pypi_liburing()
    except B.Skip as skip:
        pytest.skip(f"PyPI liburing: {skip.status} ({skip.note})")


def _env():
    return dict(os.environ, PYTHONPATH=PKG_PARENT)


def test_loops_of_both_packages_run_and_compare(tmp_path):
    _pypi()
    report = T.run(seconds=0.02, reps=1, size_mib=4, directory=str(tmp_path),
                   points=(("nop", 1), ("nop", 4), ("read", 1), ("read", 4), ("fixed", 4)))
    loops = [r for r in report.results if r.param != "call"]
    assert len(loops) == 5 * len(T.SHAPES) * 3       # ioring, PyPI, the C loop
    assert all(r.status == "ok" and r.ops > 0 for r in loops), [(r.label, r.status, r.note) for r in loops]
    mine = [r for r in loops if r.impl == "ioring"]
    assert all(r.ratio is not None and r.ratio > 0 for r in mine)
    calls = {r.impl: r for r in report.results if r.param == "call"}
    assert set(calls) == {"ioring", "liburing"}
    assert all(0 < r.us_per_op < 10 for r in calls.values())      # µs per bare call
    keys = {t["key"] for t in report.targets}
    assert {f"thin-{op}-{v}-{s}" for op, v in (("nop", 1), ("read", 4)) for s in T.SHAPES} <= keys
    assert "thin-bare-call" in keys
    assert not [k for k in keys if "fixed" in k]     # read_fixed is measured, with no target
    text = T.format_report(report)
    assert "targets (issue 18)" in text and "bare call" in text and "read QD 4" in text
    assert "read_fixed QD 4" in text
    assert "what 1.15x asks" in text
    assert not list(tmp_path.iterdir())             # the data file is removed


def test_without_the_pypi_package_ioring_is_measured_alone(tmp_path, monkeypatch):
    def missing():
        raise B.Skip("not installed", "pip install liburing")
    monkeypatch.setattr(T, "import_pypi_liburing", missing)
    report = T.run(seconds=0.02, reps=1, directory=str(tmp_path), points=(("nop", 2),),
                   shapes=("advance",))
    statuses = {(r.impl, r.param): r.status for r in report.results}
    assert statuses == {("ioring", "batch"): "ok", ("liburing", "batch"): "not installed",
                        ("c", "batch"): "ok", ("ioring", "call"): "ok"}
    assert [t["key"] for t in report.targets] == ["thin-bare-call"]
    text = T.format_report(report)
    assert "not installed" in text and "pip install liburing" in text


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        T.run(seconds=0, reps=1)
    with pytest.raises(ValueError):
        T.run(seconds=0.1, reps=1, shapes=("sideways",))


def test_call_costs_cover_every_call(tmp_path):
    costs = T.call_costs(reps=1, rounds=2, directory=str(tmp_path))
    assert [row[0] for row in costs["calls"]] == [key for key, _, _ in T.CALLS]
    assert all(row[3] > 0 for row in costs["calls"])
    text = T.format_call_costs(costs)
    assert "io_uring_sq_ready(ring)" in text and "for_each_cqe" in text


def test_bench_thin_cli_and_script(tmp_path):
    _pypi()
    cmd = [sys.executable, "-m", "ioring", "bench", "thin", "--seconds", "0.02", "--reps", "1",
           "--dir", str(tmp_path), "--json", "out.json"]
    result = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300, env=_env())
    assert result.returncode == 0, result.stderr + result.stdout
    assert "ioring.liburing, per-op loop" in result.stdout and "liburing (PyPI)" in result.stdout
    data = json.loads((tmp_path / "out.json").read_text())
    assert {r["impl"] for r in data["results"]} == {"ioring", "liburing", "c"}
    assert any(t["key"] == "thin-bare-call" for t in data["targets"])
    script = pathlib.Path(__file__).resolve().parent.parent / "bench" / "bench_thin.py"
    result = subprocess.run([sys.executable, str(script), "--reps", "1", "--seconds", "0.02",
                             "--shape", "seen", "--calls", "--json", str(tmp_path / "s.json")],
                            capture_output=True, text=True, timeout=300, env=_env())
    assert result.returncode in (0, 1), result.stderr       # 1: a target missed
    assert "ns per loop iteration" in result.stdout and "targets (issue 18)" in result.stdout
    assert "what 1.15x asks" in result.stdout
    data = json.loads((tmp_path / "s.json").read_text())
    assert set(data) == {"loops", "calls"}


def test_limit_runs_the_same_loops_over_the_ideal_binding(tmp_path):
    """bench_thin.py --limit compiles the ideal binding (bench/ideal_binding.c: no safety, for
    measuring only) and runs ioring.liburing's very loop functions over it, in the same slices:
    each loop checks every completion (user_data, res == 4096), so a wrong binding fails here;
    its ratio to the PyPI package is reported per point as the limit of the targets."""
    _pypi()
    script = pathlib.Path(__file__).resolve().parent.parent / "bench" / "bench_thin.py"
    result = subprocess.run([sys.executable, str(script), "--limit", "--reps", "1", "--seconds", "0.02",
                             "--calls", "--json", str(tmp_path / "limit.json")],
                            capture_output=True, text=True, timeout=600, env=_env())
    assert result.returncode in (0, 1), result.stderr        # 1: a target missed
    assert "ideal binding (no safety)" in result.stdout and "ideal binding + buffer pin" in result.stdout
    assert "the limit: ideal binding" in result.stdout
    data = json.loads((tmp_path / "limit.json").read_text())
    for impl in ("ideal", "pinned"):        # the ideal binding and its variant that pins
        loops = [r for r in data["loops"]["results"] if r["impl"] == impl]
        assert {(r["param"], r["value"], r["config"]) for r in loops} == {
            ("batch" if op == "nop" else "qd", v, f"{op} {s}") for op, v in T.LIMIT_POINTS for s in T.SHAPES}
        assert all(r["status"] == "ok" and r["ops"] > 0 and r["ratio"] > 0 for r in loops)
        ratios = [t for t in data["loops"]["targets"] if "others" in t]
        assert len(ratios) == len(T.LIMIT_POINTS) * len(T.SHAPES)
        assert all(t["others"][impl] > 0 for t in ratios)
        calls = data["calls"]["others"][impl]
        assert set(calls) == {key for key, _, _ in T.CALLS} - T._SAFE_ONLY
        assert all(ns > 0 for ns in calls.values())


def test_other_bindings_run_only_the_nop_and_read_points():
    with pytest.raises(ValueError, match="nop and read"):
        T.run(seconds=0.01, reps=1, points=(("fixed", 1),), extra={"x": ("x", None)})


def test_the_pinning_ideal_binding_keeps_each_read_buffer_exported_until_consumed(tmp_path):
    """The "+ buffer pin" variant measures a real pin: from io_uring_prep_read until the
    completion is consumed the bytearray is exported (it cannot be resized), then it is not."""
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "bench"))
    try:
        import ideal_binding
    finally:
        sys.path.pop(0)
    path = tmp_path / "data"
    path.write_bytes(bytes(range(256)) * 16)
    fd = os.open(path, os.O_RDONLY)
    try:
        with ideal_binding.load(pinning=True) as P:
            ring = P.io_uring()
            P.io_uring_queue_init(4, ring, 0)
            bufs = [bytearray(4096) for _ in range(2)]
            for ud, buf in enumerate(bufs):
                sqe = P.io_uring_get_sqe(ring)
                P.io_uring_prep_read(sqe, fd, buf, 4096, 0)
                P.io_uring_sqe_set_data64(sqe, ud)
            for buf in bufs:
                with pytest.raises(BufferError):
                    buf.append(0)
            P.io_uring_submit_and_wait(ring, 2)
            assert [(c.user_data, c.res) for c in P.io_uring_for_each_cqe(ring)] == [(0, 4096), (1, 4096)]
            P.io_uring_cqe_seen(ring, P.io_uring_peek_cqe(ring))        # user_data 0
            bufs[0].append(0)
            with pytest.raises(BufferError):
                bufs[1].append(0)
            P.io_uring_cq_advance(ring, 1)
            bufs[1].append(0)
            assert bytes(bufs[1][:4096]) == path.read_bytes()
            P.io_uring_queue_exit(ring)
    finally:
        os.close(fd)
