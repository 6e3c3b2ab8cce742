"""`python -m ioring bench unzip [WHEEL...]`: real wheels unpacked and installed by every tool,
a fresh process per measurement (ioring/bench/wheel.py), and the wheel the run builds."""
import os
import pathlib
import subprocess
import sys
import zipfile

import ioring
from ioring.bench import wheel as W
from ioring import bench as B

PKG_PARENT = str(pathlib.Path(ioring.__file__).resolve().parent.parent)


def test_built_wheel_is_valid_and_installs(tmp_path):
    import ioring.files as F
    wheel = W.make_wheel(tmp_path / "ioringbench-1.0-py3-none-any.whl", 50)
    with zipfile.ZipFile(wheel) as z:
        assert z.testzip() is None
        big = [i for i in z.infolist() if i.file_size > 1 << 20]
        assert len(big) == 2 and all(1.5 < i.file_size / i.compress_size < 4 for i in big)
    assert W.file_members(wheel) == 50 + 7
    F.install_wheel(wheel, tmp_path / "t", verify_record=True)   # its RECORD is right
    assert (tmp_path / "t/bin/ioringbench").is_file()


def test_wheel_points_every_tool_in_one_run(tmp_path):
    report = B.run(["unzip"], seconds=0.01, files=30, directory=str(tmp_path),
                   impls=["extract_zip", "install_wheel", "installer", "pip", "uv"])
    wheel = [r for r in report.results if r.config.startswith("wheel ")]
    assert [r.impl for r in wheel] == list(W.ORDER)
    by = {r.impl: r for r in wheel}
    for impl in ("zipfile", "extract_zip", "install_wheel", "pip"):
        r = by[impl]
        assert r.status == "ok", (impl, r.note)
        assert r.ops % 37 == 0 and r.ratio > 0
        assert "fresh process each; peak RSS" in r.note and "CPU" in r.note
    for impl in ("installer", "uv"):
        assert by[impl].status in ("ok", "not installed"), by[impl]
    assert by["zipfile"].ratio == 1.0
    assert W.NOTE in report.notes
    text = B.format_report(report)
    assert "wheel ioringbench-1.0" in text and "uv pip install" in text


def test_cli_takes_wheel_paths(tmp_path):
    wheel = W.make_wheel(tmp_path / "given-2.0-py3-none-any.whl", 20)
    env = dict(os.environ, PYTHONPATH=PKG_PARENT)
    out = subprocess.run([sys.executable, "-m", "ioring", "bench", str(wheel), "--seconds", "0.01",
                          "--files", "10", "--impl", "extract_zip", "--dir", str(tmp_path)],
                         capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "wheel given-2.0" in out.stdout and "ioringbench" not in out.stdout
    out = subprocess.run([sys.executable, "-m", "ioring", "bench", "unzip",
                          str(tmp_path / "missing.whl")], capture_output=True, text=True, env=env,
                         timeout=60)
    assert out.returncode == 2 and "no such wheel" in out.stderr
