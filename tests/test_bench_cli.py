"""`python -m ioring bench`: the command runs, writes its JSON, every ratio is a positive number;
and the C reference loops (ioring._bench) check what they reap."""
import json
import os
import pathlib
import struct
import subprocess
import sys

import pytest

import ioring
from ioring import _bench
from ioring import bench as B

PKG_PARENT = str(pathlib.Path(ioring.__file__).resolve().parent.parent)


def _env():
    return dict(os.environ, PYTHONPATH=PKG_PARENT)


def _bench_command():
    """`python -m ioring bench` once __main__ knows the sub-command, else the module itself."""
    out = subprocess.run([sys.executable, "-m", "ioring", "--help"], capture_output=True,
                         text=True, timeout=60, env=_env())
    if "bench" in out.stdout:
        return [sys.executable, "-m", "ioring", "bench"]
    return [sys.executable, "-m", "ioring._cli_bench"]


def test_bench_nop_json(tmp_path):
    cmd = _bench_command() + ["nop", "--seconds", "0.05", "--json", "out.json"]
    result = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300,
                            env=_env())
    assert result.returncode == 0, result.stderr + result.stdout
    assert "ops/s" in result.stdout and "targets" in result.stdout
    assert result.stderr == ""                      # no progress bar: stderr is not a TTY
    data = json.loads((tmp_path / "out.json").read_text())
    assert set(data) >= {"machine", "settings", "results", "targets"}
    assert set(data["machine"]) >= {"cpu", "cores", "kernel", "python", "ioring"}
    assert data["machine"]["ioring"] == ioring.__version__
    assert data["settings"]["workloads"] == ["nop"]
    ok = [r for r in data["results"] if r["status"] == "ok"]
    assert {r["impl"] for r in ok} >= {"c", "thin", "batch"}
    assert {r["value"] for r in ok if r["impl"] == "c"} == {1, 8, 32, 128}
    for r in data["results"]:
        assert set(r) >= {"workload", "param", "value", "config", "impl", "status", "ops",
                          "seconds", "ops_per_sec", "us_per_op", "ratio", "reference"}
        if r["status"] == "ok":
            assert r["ops"] > 0 and r["seconds"] > 0
            assert isinstance(r["ratio"], float) and r["ratio"] > 0, r
            assert r["ops_per_sec"] > 0 and r["us_per_op"] > 0
        else:
            assert r["status"] in ("not installed", "n/a", "skipped"), r
            assert r["ratio"] is None
    refs = [r for r in ok if r["impl"] == "c"]
    assert all(r["ratio"] == 1.0 for r in refs)
    by_key = {t["key"]: t for t in data["targets"]}
    for key in ("thin-nop-1", "thin-nop-32", "batch-nop-32"):
        assert by_key[key]["ratio"] > 0 and isinstance(by_key[key]["met"], bool)
    assert by_key["batch-read-32"]["ratio"] is None     # reads were not run


def test_bench_rejects_unknown_workload(tmp_path):
    result = subprocess.run(_bench_command() + ["nope"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120, env=_env())
    assert result.returncode == 2
    assert "unknown workload" in result.stderr


def test_run_read_and_files_small(tmp_path):
    """The read workload end to end on a small file (both configurations), and small-files."""
    report = B.run(["read", "small-files"], seconds=0.02, qds=[1, 4], size_mib=1,
                   directory=str(tmp_path), files=20, impls=["thin", "batch", "sync", "py-loop", "files"])
    ok = {(r.workload, r.value, r.config, r.impl): r for r in report.results if r.status == "ok"}
    for config in ("plain", "registered"):
        for impl in ("c", "thin", "batch"):
            assert ok[("read", 4, config, impl)].ratio > 0
    assert ok[("read", 1, "plain", "sync")].ratio > 0
    assert ok[("small-files", 20, "", "py-loop")].ratio == 1.0
    assert report.settings["verify"] is True
    assert not [r for r in report.results if r.status == "error"]
    assert os.listdir(tmp_path) == []                   # the run cleans up after itself
    text = B.format_report(report)
    assert "batch-layer reads (read_many), QD 32" in text and "not measured" in text


def test_make_file_format(tmp_path):
    path = str(tmp_path / "f")
    assert B.make_file(path, 3 * 4096 + 100) == 3
    data = open(path, "rb").read()
    assert len(data) == 3 * 4096
    assert [struct.unpack_from("<Q", data, b * 4096)[0] for b in range(3)] == [0, 1, 2]


def test_c_reference_nop_and_bad_arguments():
    ops, secs = _bench.nop(4, 0.01)
    assert ops > 0 and ops % 4 == 0 and secs >= 0.01
    with pytest.raises(ValueError):
        _bench.nop(0, 0.01)
    with pytest.raises(ValueError):
        _bench.nop(8, 0)


def test_c_reference_read_write_and_checks(tmp_path):
    path = str(tmp_path / "f")
    nblocks = B.make_file(path, 256 * 4096)
    fd = os.open(path, os.O_RDWR)
    try:
        for fixed in (False, True):
            ops, secs = _bench.read(fd, 8, 0.01, fixed_buffers=fixed, fixed_files=fixed)
            assert ops > 0 and secs > 0
            ops, _ = _bench.write(fd, 8, 0.01, fixed_buffers=fixed, fixed_files=fixed)
            assert ops > 0
        # Writes stamp each block: the file still verifies.
        assert B.is_stamped(fd, nblocks)
        _bench.read(fd, 4, 0.01, verify=True)
        # A block with the wrong stamp is a wrong completion, not a fast one.
        os.pwrite(fd, b"\xff" * 4096 * nblocks, 0)
        with pytest.raises(RuntimeError, match="read block"):
            _bench.read(fd, 4, 0.05)
        _bench.read(fd, 4, 0.01, verify=False)
    finally:
        os.close(fd)
    ro = os.open(path, os.O_RDONLY)
    try:
        with pytest.raises(RuntimeError, match="Bad file descriptor"):
            _bench.write(ro, 2, 0.01)
    finally:
        os.close(ro)
    with pytest.raises(OSError):
        _bench.read(-1 & 0x7FFFFFFF, 2, 0.01)


def test_bench_files_script_runs(tmp_path):
    # bench/bench_files.py (the targets and the file workloads) must keep working: one
    # quick repetition of every workload, its JSON checked (figures are not judged here).
    script = pathlib.Path(__file__).resolve().parent.parent / "bench" / "bench_files.py"
    result = subprocess.run([sys.executable, str(script), "--quick", "--reps", "1", "--json",
                             "--dir", str(tmp_path)], capture_output=True, text=True,
                            timeout=600, env=_env())
    assert result.returncode == 0, result.stderr[-4000:]
    data = json.loads(result.stdout[result.stdout.index("{"):])
    assert {"write_4k", "read_4k", "ablation_write", "unzip_250",
            "copy_32m", "mkdir_200"} <= set(data), sorted(data)
    assert list(tmp_path.iterdir()) == []           # its scratch directory was removed


def test_compare_builds_script_runs(tmp_path):
    # bench/compare_builds.py (old build vs new, same run): the same build twice, one short
    # repetition; its JSON has a row per point and implementation, with both rates.
    script = pathlib.Path(__file__).resolve().parent.parent / "bench" / "compare_builds.py"
    out = tmp_path / "cmp.json"
    result = subprocess.run([sys.executable, str(script), PKG_PARENT, PKG_PARENT, "--reps", "1",
                             "--json", str(out), "--", "nop", "--batch", "1,8", "--seconds",
                             "0.02", "--impl", "c,thin"],
                            capture_output=True, text=True, timeout=300, env=_env())
    assert result.returncode == 0, result.stderr[-4000:]
    rows = json.loads(out.read_text())["rows"]
    assert {(r["point"], r["implementation"].split(" ")[0]) for r in rows} >= {
        ("batch 1", "C"), ("batch 8", "C"), ("batch 1", "thin"), ("batch 8", "thin")}
    assert all(r["old_ops_per_sec"] > 0 and r["new_ops_per_sec"] > 0 for r in rows)
    assert "new/old" in result.stdout
