"""`python -m ioring` as a Unix tool: killed quietly by SIGPIPE when the reader of its output
has gone (`... | head`), by SIGINT on Ctrl-C (a shell reports 141 and 130), never a traceback
nor "Exception ignored" at exit; and each command imports only what it needs."""
import os
import signal
import subprocess
import sys
import tempfile
import time
import zipfile

import pytest

import ioring

ROOT = os.path.dirname(os.path.dirname(ioring.__file__))


def _env():
    return dict(os.environ, PYTHONPATH=ROOT)


def _wheel(path, members=300):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(members):
            z.writestr(f"pkg/m{i}.py", f"X = {i}\n" * 20)
    return path


def _run_into_closed_pipe(args, cwd):
    """Run ``python -m ioring ARGS`` with stdout a pipe whose read end is already closed."""
    r, w = os.pipe()
    os.close(r)
    try:
        proc = subprocess.run([sys.executable, "-m", "ioring", *args], cwd=cwd, stdout=w,
                              stderr=subprocess.PIPE, text=True, timeout=120, env=_env())
    finally:
        os.close(w)
    return proc


@pytest.mark.parametrize("args", [["info"], ["unzip", "-v", "demo.whl", "out"],
                                  ["cp", "-v", "demo.whl", "copy.whl"],
                                  ["bench", "nop", "--seconds", "0.01", "--batch", "1",
                                   "--impl", "thin"]])
def test_closed_output_pipe_ends_by_sigpipe_without_a_traceback(tmp_path, args):
    _wheel(tmp_path / "demo.whl")
    proc = _run_into_closed_pipe(args, tmp_path)
    assert proc.returncode == -signal.SIGPIPE, proc.stderr      # a shell shows 141
    assert proc.stderr == ""                # no traceback, no "Exception ignored ... BrokenPipe"
    if args[0] == "unzip":                  # the listing comes after the work: it was done
        assert (tmp_path / "out" / "pkg" / "m299.py").read_bytes() == b"X = 299\n" * 20
    if args[0] == "cp":
        assert (tmp_path / "copy.whl").read_bytes() == (tmp_path / "demo.whl").read_bytes()


def test_help_into_a_closed_pipe_is_quiet(tmp_path):
    # argparse ignores a failed write of its help text and exits 0: quiet too.
    proc = _run_into_closed_pipe(["--help"], tmp_path)
    assert proc.returncode == 0 and proc.stderr == ""


def test_closed_stderr_pipe_too(tmp_path):
    # `python -m ioring unzip ... 2>&1 | head`: both streams on the closed pipe; the error
    # message about the missing archive cannot be written either.
    r, w = os.pipe()
    os.close(r)
    try:
        proc = subprocess.run([sys.executable, "-m", "ioring", "unzip", "missing.zip", "out"],
                              cwd=tmp_path, stdout=w, stderr=w, timeout=120, env=_env())
    finally:
        os.close(w)
    assert proc.returncode == -signal.SIGPIPE


def _interrupt_when(proc, ready, timeout=60):
    deadline = time.monotonic() + timeout
    while not ready():
        assert proc.poll() is None, "the command ended before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    proc.send_signal(signal.SIGINT)
    return time.monotonic()


def test_ctrl_c_in_cp_ends_by_sigint_and_removes_the_partial_copy():
    base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    with tempfile.TemporaryDirectory(dir=base) as d:
        src, dst = os.path.join(d, "src"), os.path.join(d, "dst")
        with open(src, "wb") as f:
            for i in range(512):
                f.write(bytes([i % 251]) * (1 << 20))
        proc = subprocess.Popen([sys.executable, "-m", "ioring", "cp", "--chunk-size", "256K",
                                 src, dst], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=_env())
        sent = _interrupt_when(proc, lambda: os.path.exists(dst) and os.path.getsize(dst) > 8 << 20)
        out, err = proc.communicate(timeout=60)
        latency = time.monotonic() - sent
        assert proc.returncode == -signal.SIGINT, err                # a shell shows 130
        assert err == "" and out == ""                              # no traceback
        assert not os.path.exists(dst)                              # complete or absent
        assert latency < 5, latency


def test_ctrl_c_in_bench_ends_by_sigint():
    proc = subprocess.Popen([sys.executable, "-m", "ioring", "bench", "nop", "--seconds", "5",
                             "--impl", "thin"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=_env())
    time.sleep(1.0)
    assert proc.poll() is None
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGINT, err
    assert "Traceback" not in err and err == ""


def _imported(args, cwd):
    """The ioring modules `python -m ioring ARGS` imports (-X importtime), and its result."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "ioring", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120, env=_env())
    mods = {line.split("|")[-1].strip() for line in proc.stderr.splitlines()
            if line.startswith("import time:")}
    return {m for m in mods if m.startswith("ioring")}, proc


@pytest.mark.parametrize("args", [["unzip", "--help"], ["cp", "--help"], ["--help"], ["info"],
                                  ["unzip", "demo.whl", "out"], ["cp", "demo.whl", "c.whl"]])
def test_commands_other_than_bench_do_not_import_the_bench_module(tmp_path, args):
    _wheel(tmp_path / "demo.whl", members=5)
    mods, proc = _imported(args, tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "ioring._cli_files" in mods
    assert "ioring.bench" not in mods and "ioring._bench" not in mods, sorted(mods)
    if args[-1] == "--help":
        assert "ioring.files" not in mods          # nothing of the file tools for --help


def test_bench_help_still_lists_its_options(tmp_path):
    mods, proc = _imported(["bench", "--help"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "ioring.bench" in mods
    assert "--seconds" in proc.stdout and "WORKLOAD" in proc.stdout
    top = subprocess.run([sys.executable, "-m", "ioring", "--help"], capture_output=True,
                         text=True, timeout=60, env=_env())
    assert "bench" in top.stdout and "benchmarks against C" in top.stdout
