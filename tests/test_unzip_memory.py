"""What extract_zip does to save set-up and page faults in a fresh process (ioring/_unzip.py,
ioring/_fileops.pyx): write_pipelined on a ring the caller keeps (one per extracting thread
instead of one per batch of files), and malloc keeping its memory (keep_heap) rather than
handing it back to the kernel between chunks."""
import os
import pathlib
import subprocess
import sys
import textwrap
import zipfile

import pytest

import ioring
from ioring import liburing as L
from ioring import _unzip

_fileops = pytest.importorskip("ioring._fileops")

ROOT = pathlib.Path(ioring.__file__).resolve().parent.parent   # the tree ioring is imported from
REPO = pathlib.Path(__file__).resolve().parent.parent          # the checkout: bench/ is not installed
FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC


def _fds():
    return sorted(os.listdir("/proc/self/fd"))


def test_write_pipelined_on_the_callers_ring(tmp_path):
    """Files written through a ring the caller set up: the same bytes as with a ring of the
    call's own, the ring left open and idle (usable again, by the next call or for a NOP),
    no fd left open by the calls."""
    ring = _fileops.engine_ring(64)
    try:
        fds = _fds()
        for rnd in range(3):
            paths = [os.fsencode(tmp_path / f"r{rnd}-{i}") for i in range(40)]
            datas = [bytes([i]) * (i * 1000 + rnd) for i in range(40)]
            assert _fileops.write_pipelined(paths, datas, -100, 0o644, FLAGS, slots=16,
                                            max_write=4096, ring=ring) == []
            for p, d in zip(paths, datas):
                assert pathlib.Path(os.fsdecode(p)).read_bytes() == d
        assert _fds() == fds
        sqe = L.io_uring_get_sqe(ring)          # still the caller's, and idle
        L.io_uring_prep_nop(sqe)
        sqe.user_data = 7
        L.io_uring_submit_and_wait(ring, 1)
        cqe = L.io_uring_peek_cqe(ring)
        assert (cqe.user_data, cqe.res) == (7, 0)
        L.io_uring_cqe_seen(ring, cqe)
        # failures are reported as with a ring of its own
        out = _fileops.write_pipelined([b"no/such/dir/f", os.fsencode(tmp_path / "ok")],
                                       [b"x", b"y"], -100, 0o644, FLAGS, ring=ring)
        assert out == [(0, 2, "open")] and (tmp_path / "ok").read_bytes() == b"y"
    finally:
        L.io_uring_queue_exit(ring)


def test_write_pipelined_ring_too_small_or_busy(tmp_path):
    """A ring with fewer SQ entries than the call needs is refused (ValueError naming
    pipelined_entries), so is a ring with work of its own (RuntimeError); nothing is written
    and the ring stays usable."""
    assert _fileops.pipelined_entries(16, 100, 0) == 34
    assert _fileops.pipelined_entries(1, 1 << 20, 4096) == 258
    assert _fileops.pipelined_entries(4, 0, 4096) == 10
    with pytest.raises(ValueError, match="slots"):
        _fileops.pipelined_entries(0, 1, 0)
    with pytest.raises(ValueError, match="longest"):
        _fileops.pipelined_entries(4, -1, 0)
    small = _fileops.engine_ring(8)
    try:
        paths = [os.fsencode(tmp_path / f"s{i}") for i in range(8)]
        with pytest.raises(ValueError, match="pipelined_entries"):
            _fileops.write_pipelined(paths, [b"x"] * 8, -100, 0o644, FLAGS, slots=8, ring=small)
        assert not any(os.path.exists(p) for p in paths)
        # a datum of more pieces than the ring holds
        with pytest.raises(ValueError, match="SQ entries"):
            _fileops.write_pipelined(paths[:1], [b"x" * 40000], -100, 0o644, FLAGS,
                                     max_write=4096, ring=small)
        sqe = L.io_uring_get_sqe(small)         # queued, not submitted: busy
        L.io_uring_prep_nop(sqe)
        with pytest.raises(RuntimeError, match="SQEs are queued"):
            _fileops.write_pipelined(paths[:1], [b"x"], -100, 0o644, FLAGS, slots=1,
                                     ring=small)
        L.io_uring_submit_and_wait(small, 1)
        L.io_uring_cq_advance(small, 1)
        assert _fileops.write_pipelined(paths[:2], [b"a", b"b"], -100, 0o644, FLAGS, slots=2,
                                        ring=small) == []
        assert pathlib.Path(os.fsdecode(paths[1])).read_bytes() == b"b"
    finally:
        L.io_uring_queue_exit(small)
    with pytest.raises(TypeError):
        _fileops.write_pipelined(paths[:1], [b"x"], -100, 0o644, FLAGS, ring=object())


def test_extract_zip_sets_up_one_pipelined_ring_per_thread(tmp_path, monkeypatch):
    """An archive whose small members take many write_pipelined calls (1 MiB of inflated data
    per call): one ring per extracting thread, not one per call; the tree is zipfile's."""
    archive = tmp_path / "many.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(120):
            z.writestr(f"pkg/m{i:03d}.bin", os.urandom(200) * 500)      # 100 KB each
    made, calls = [], []
    engine_ring, write_pipelined = _fileops.engine_ring, _fileops.write_pipelined

    def counting_ring(entries):
        made.append(entries)
        return engine_ring(entries)

    def counting_write(*args, **kwargs):
        calls.append(kwargs.get("ring"))
        return write_pipelined(*args, **kwargs)

    monkeypatch.setattr(_fileops, "engine_ring", counting_ring)
    monkeypatch.setattr(_fileops, "write_pipelined", counting_write)
    fds = _fds()
    ioring.files.extract_zip(archive, tmp_path / "out", threads=1)
    assert len(calls) >= 10 and len(made) == 1
    assert all(ring is not None for ring in calls)
    assert _fds() == fds                        # the ring was closed
    with zipfile.ZipFile(archive) as z:
        for info in z.infolist():
            assert (tmp_path / "out" / info.filename).read_bytes() == z.read(info)


_FAULTS = textwrap.dedent("""
    import resource, sys
    def faults(rounds):
        # 6 blocks of 1 MiB, all freed together: 6 MiB free at the heap's top each round
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(rounds):
            blocks = [bytearray(1 << 20) for _ in range(6)]
            del blocks
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    faults(2)
    if sys.argv[1] == "keep":
        from ioring import _fileops
        if not _fileops.keep_heap(2 << 20, 8 << 20):
            print("refused")        # not glibc's malloc (AddressSanitizer's answers 0)
            sys.exit(0)
        faults(1)
    print(faults(20))
""")


@pytest.mark.skipif(not hasattr(os, "confstr") or "glibc" not in
                    (os.confstr("CS_GNU_LIBC_VERSION") or ""), reason="mallopt is glibc's")
def test_keep_heap_stops_freed_memory_faulting_in_again():
    """keep_heap(2 MiB, 8 MiB): 6 MiB freed at once stay in the heap, so allocating them again
    takes (almost) no page fault; by default glibc trims them (~1,500 faults a round). Run in
    a child: the thresholds stay set for the rest of a process."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    counts = {}
    for how in ("default", "keep"):
        out = subprocess.run([sys.executable, "-c", _FAULTS, how], env=env, check=True,
                             capture_output=True, text=True).stdout
        if out.strip() == "refused":
            pytest.skip("this process's malloc refuses mallopt (not glibc's: AddressSanitizer's "
                        "interceptor returns 0), so keep_heap returns False")
        counts[how] = int(out)
    assert counts["default"] > 20 * 1000, counts
    assert counts["keep"] < 20 * 50, counts
    with pytest.raises(ValueError, match=">= 0"):
        _fileops.keep_heap(-1, 0)


def test_extract_zip_keeps_the_heap_once(monkeypatch, tmp_path):
    """extract_zip calls keep_heap once per process, with _unzip's thresholds."""
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a", b"x" * 1000)
    seen = []
    monkeypatch.setattr(_unzip, "_heap_kept", False)
    monkeypatch.setattr(_fileops, "keep_heap", lambda *a: seen.append(a) or True)
    for n in range(2):
        ioring.files.extract_zip(archive, tmp_path / f"out{n}")
    assert seen == [(_unzip._MMAP_THRESHOLD, _unzip._TRIM_THRESHOLD)]


def test_bench_wheels_cpu_table(tmp_path):
    """bench/bench_wheels.py --cpu: one row per tool with CPU ms, page faults and a peak RSS
    of the child itself (the bare spawner's, not the benchmark's: an empty interpreter stays
    well under the benchmark process's own peak), extract_zip's CPU ratio to zipfile's; the
    children run from a directory without an ioring/ (each --baseline tree is what it
    imports)."""
    import argparse
    import importlib.util
    archive = tmp_path / "w.whl"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(50):
            z.writestr(f"pkg/m{i}.py", f"X = {i}\n" * 200)
    spec = importlib.util.spec_from_file_location("bench_wheels_t",
                                                  REPO / "bench" / "bench_wheels.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    ballast = bytearray(200 << 20)              # this process's peak: 200 MiB more
    args = argparse.Namespace(reps=1, fs=[str(tmp_path)], baseline=[str(ROOT)])
    out = bench.cpu_table(args, {"synthetic": str(archive)})
    del ballast
    rows = [line.split("|")[1:-1] for line in out.splitlines() if line.startswith("| synthetic")]
    tools = [r[1].strip() for r in rows]
    assert tools == ["empty interpreter", "zipfile.extractall", "extract_zip",
                     f"extract_zip ({ROOT.name})"]
    for r in rows:
        cpu, faults, rss = float(r[2]), int(r[3]), float(r[4])
        assert cpu > 0 and faults > 100 and 0 < rss < 150, r
    assert rows[2][5].strip().endswith("x") and not rows[1][5].strip()
