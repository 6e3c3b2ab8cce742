"""Ring.read_file / write_file / read_files / write_files: one open -> read/write -> close chain
per file on the Ring's direct descriptors, checked against what the kernel did: the bytes, the
files on disk, the errno, the direct-descriptor slots left occupied (the ring's fdinfo lists
them), the fds of the process and the readers of a FIFO.
"""
import array
import errno
import os
import signal
import stat
import sys
import threading
import time

import pytest

import ioring
from ioring import liburing as L

from helpers import fifo_has_reader, occupied_slots, open_fds, run_unprivileged


RING = ("Ring", 64)             # the conftest ring fixture: an ioring.Ring(64)


SIZES = [0, 1, 4095, 32767, 32768, 32769, 100_000, 1 << 20]


@pytest.mark.parametrize("size", SIZES)
def test_read_file_returns_the_whole_file(ring, tmp_path, size):
    data = os.urandom(size)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    fds = open_fds()
    op = ring.read_file(path)
    assert isinstance(op, ioring.Operation) and op.kind == "read_file"
    assert op.result() == data
    assert ring.in_flight == 0 and occupied_slots(ring) == [] and open_fds() == fds


def test_read_file_paths_str_bytes_pathlike_and_dir_fd(ring, tmp_path):
    (tmp_path / "a").write_bytes(b"alpha")
    assert ring.read_file(str(tmp_path / "a")).result() == b"alpha"
    assert ring.read_file(os.fsencode(tmp_path / "a")).result() == b"alpha"
    dfd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert ring.read_file("a", dir_fd=dfd).result() == b"alpha"
        assert ring.write_file("b", b"beta", dir_fd=dfd).result() == 4
    finally:
        os.close(dfd)
    assert (tmp_path / "b").read_bytes() == b"beta"


def test_write_file_creates_truncates_and_applies_mode(ring, tmp_path):
    path = tmp_path / "w.bin"
    old = os.umask(0o022)
    try:
        assert ring.write_file(path, b"x" * 5000, 0o640).result() == 5000
        assert ring.write_file(path, bytearray(b"short")).result() == 5       # truncated
        assert ring.write_file(tmp_path / "m", memoryview(b"0123456789")[2:6]).result() == 4
        assert ring.write_file(tmp_path / "a", array.array("i", [1, 2])).result() == 8
        assert ring.write_file(tmp_path / "e", b"").result() == 0
        assert ring.write_file(tmp_path / "open", b"x", 0o777).result() == 1
    finally:
        os.umask(old)
    assert path.read_bytes() == b"short"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "open").stat().st_mode) == 0o755      # mode minus umask
    assert (tmp_path / "m").read_bytes() == b"2345"
    assert (tmp_path / "a").read_bytes() == array.array("i", [1, 2]).tobytes()
    assert (tmp_path / "e").read_bytes() == b""
    assert occupied_slots(ring) == []


def test_write_file_keeps_its_buffer_pinned_until_the_chain_ends(ring, tmp_path):
    data = bytearray(b"pinned" * 1000)
    op = ring.write_file(tmp_path / "p", data)
    with pytest.raises(BufferError):
        data.extend(b"more")                    # the kernel may still read it
    assert op.result() == 6000
    data.extend(b"more")                        # released with the chain's last completion
    assert (tmp_path / "p").read_bytes() == b"pinned" * 1000


def test_many_files_more_than_slots_in_any_order(ring, tmp_path):
    files = {str(tmp_path / f"f{i}"): os.urandom(i * 37 % 5000) for i in range(700)}
    fds = open_fds()
    assert ring.write_files(files) == sum(map(len, files.values()))
    for p, d in files.items():
        with open(p, "rb") as f:
            assert f.read() == d
    paths = list(files)[::-1]
    assert ring.read_files(paths) == [files[p] for p in paths]
    ops = [ring.read_file(p) for p in paths[:300]]
    assert ring.in_flight == 300
    assert [op.result() for op in reversed(ops)] == [files[p] for p in paths[:300]][::-1]
    assert ring.in_flight == 0 and occupied_slots(ring) == [] and open_fds() == fds


def test_read_files_and_write_files_arguments(ring, tmp_path):
    (tmp_path / "a").write_bytes(b"A")
    with pytest.raises(TypeError, match="single str path"):
        ring.read_files(str(tmp_path / "a"))
    with pytest.raises(TypeError, match="path 1 is a int"):
        ring.read_files([tmp_path / "a", 3])
    with pytest.raises(ValueError, match="null byte"):
        ring.read_files([tmp_path / "a", "x\0y"])
    with pytest.raises(TypeError, match="is a str; pass bytes"):
        ring.write_files({tmp_path / "b": "text"})
    with pytest.raises(TypeError):
        ring.write_file(tmp_path / "b", "text")
    with pytest.raises(TypeError, match="must be str, bytes or os.PathLike"):
        ring.read_file(42)
    with pytest.raises(ValueError, match="IOSQE_ASYNC"):
        ring.read_file(tmp_path / "a", flags=L.IOSQE_IO_LINK)
    with pytest.raises(ValueError, match="timeout must be >= 0"):
        ring.read_file(tmp_path / "a", timeout=-1)
    assert not (tmp_path / "b").exists()        # nothing was queued by a refused call
    assert ring.in_flight == 0
    assert ring.read_files([]) == [] and ring.write_files({}) == 0
    assert ring.read_file(tmp_path / "a", flags=L.IOSQE_ASYNC).result() == b"A"
    assert ring.read_file(tmp_path / "a", flags=L.IOSQE_IO_DRAIN).result() == b"A"


def test_errors_name_the_path_and_the_step(ring, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"\[read_file\(path='.*nope'\): open\]") as info:
        ring.read_file(tmp_path / "nope").result()
    assert info.value.filename == tmp_path / "nope"
    with pytest.raises(IsADirectoryError, match=r": read\]"):
        ring.read_file(tmp_path).result()       # the open succeeds, the read fails, the close runs
    with pytest.raises(FileNotFoundError, match=r"\[write_file\(.*\): open\]"):
        ring.write_file(tmp_path / "no" / "dir", b"x").result()
    assert occupied_slots(ring) == []
    (tmp_path / "ok").write_bytes(b"fine")
    paths = [tmp_path / "ok", tmp_path / "x1", tmp_path / "ok", tmp_path / "x2"]
    with pytest.raises(FileNotFoundError) as info:
        ring.read_files(paths)
    assert info.value.filename == str(tmp_path / "x1")
    assert [e.filename for e in info.value.errors] == [str(tmp_path / "x1"), str(tmp_path / "x2")]
    with pytest.raises(OSError) as info:
        ring.write_files({tmp_path / "y": b"1", tmp_path / "no" / "z": b"2"})
    assert (tmp_path / "y").read_bytes() == b"1"        # the others are written
    assert ring.in_flight == 0 and occupied_slots(ring) == []


def test_permission_errors_as_an_unprivileged_user(shared_tmp):
    tmp_path = shared_tmp
    secret = tmp_path / "secret"
    secret.write_bytes(b"root only")
    secret.chmod(0o600)
    public = tmp_path / "public"
    public.write_bytes(b"everyone")
    public.chmod(0o644)
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o755)

    def child():
        with ioring.Ring(16) as r:
            out = []
            for op in (r.read_file(secret), r.read_file(public), r.write_file(locked / "new", b"x"),
                       r.write_file(secret, b"overwrite")):
                try:
                    out.append(op.result())
                except OSError as exc:
                    out.append((exc.errno, str(exc)))
            return out, occupied_slots(r)
    status, (out, slots) = run_unprivileged(child)
    assert status == "ok"
    assert out[0][0] == errno.EACCES and ": open]" in out[0][1]
    assert out[1] == b"everyone"
    assert out[2][0] == errno.EACCES and out[3][0] == errno.EACCES
    assert slots == []
    assert secret.read_bytes() == b"root only" and not (locked / "new").exists()


def test_a_file_that_grows_or_shrinks_between_the_chains(ring, tmp_path):
    """A file that fills the first 32 KiB read is read again whole (statx, then a chain of
    its size + 1): the result is one open's contents, whatever happened in between."""
    path = tmp_path / "moving"
    # grows between the first chain and the statx
    path.write_bytes(b"a" * 40000)
    op = ring.read_file(path)
    ring.wait(0)                    # the first chain ran (inline: the page cache), statx queued
    assert not op.done()
    path.write_bytes(b"b" * 50000)
    assert op.result() == b"b" * 50000
    # shrinks between the statx and the read
    path.write_bytes(b"c" * 40000)
    op = ring.read_file(path)
    ring.wait(0)                    # first chain: statx queued
    ring.wait(0)                    # statx done: the chain of 40001 bytes queued
    assert not op.done()
    with open(path, "r+b") as f:
        f.truncate(100)
    assert op.result() == b"c" * 100
    # grows between the statx and the read: read again, larger
    path.write_bytes(b"d" * 40000)
    op = ring.read_file(path)
    ring.wait(0)
    ring.wait(0)
    with open(path, "ab") as f:
        f.write(b"e" * 100000)
    assert op.result() == b"d" * 40000 + b"e" * 100000
    # shrinks below the first read's size between the first chain and the statx
    path.write_bytes(b"f" * 40000)
    op = ring.read_file(path)
    ring.wait(0)
    path.write_bytes(b"g" * 10)
    assert op.result() == b"g" * 10
    assert occupied_slots(ring) == []


def test_cancel_mid_chain_closes_the_file(ring, tmp_path):
    """A read blocked on a FIFO (its open done): cancel() cancels the read, the close still
    runs: the FIFO has no reader any more, no slot stays occupied."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    writer = os.open(fifo, os.O_RDWR)           # a writer that never writes: the read blocks
    try:
        op = ring.read_file(fifo)
        ring.submit()
        deadline = time.monotonic() + 5
        while not occupied_slots(ring):
            assert time.monotonic() < deadline
            time.sleep(0.001)
        assert op.cancel() is True
        with pytest.raises(OSError, match="cancelled") as info:
            op.result(5)
        assert info.value.errno == errno.ECANCELED
        assert op.cancel() is False
        assert ring.in_flight == 0 and occupied_slots(ring) == []
        os.close(writer)
        writer = -1
        assert not fifo_has_reader(fifo)
    finally:
        if writer >= 0:
            os.close(writer)


def test_cancel_an_open_blocked_on_an_io_wq_worker(ring, tmp_path):
    """write_file to a FIFO nobody reads: its open (O_CREAT: on an io-wq worker) blocks until
    cancelled; the rest of the chain is then cancelled, nothing was installed."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    data = bytearray(b"never written")
    op = ring.write_file(fifo, data)
    ring.submit()
    time.sleep(0.05)
    assert not op.done()
    op.cancel()
    with pytest.raises(OSError) as info:
        op.result(5)
    assert info.value.errno == errno.ECANCELED
    data.extend(b"!")                           # no longer pinned
    assert ring.in_flight == 0 and occupied_slots(ring) == []


def test_timeout_cancels_a_blocked_read(ring, tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    writer = os.open(fifo, os.O_RDWR)
    try:
        start = time.monotonic()
        with pytest.raises(TimeoutError, match=r"took more than 0.05 s \[read_file.*: read\]"):
            ring.read_file(fifo, timeout=0.05).result(5)
        assert time.monotonic() - start < 2
        assert occupied_slots(ring) == []
        os.write(writer, b"data")
        assert ring.read_file(fifo, timeout=5).result() == b"data"
    finally:
        os.close(writer)
    (tmp_path / "f").write_bytes(b"in time")
    assert ring.read_file(tmp_path / "f", timeout=1).result() == b"in time"
    assert ring.write_file(tmp_path / "g", b"in time", timeout=1).result() == 7
    assert occupied_slots(ring) == []


def test_interrupted_read_files_cancels_its_chains(ring, tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    writer = os.open(fifo, os.O_RDWR)
    paths = []
    for i in range(300):
        p = tmp_path / f"f{i}"
        p.write_bytes(b"%d" % i)
        paths.append(p)
    paths.insert(5, fifo)

    def interrupt(signum, frame):
        raise KeyboardInterrupt
    old = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        with pytest.raises(KeyboardInterrupt):
            ring.read_files(paths)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    deadline = time.monotonic() + 5
    while ring.in_flight:
        assert time.monotonic() < deadline
        ring.wait(1, timeout=0.1)
    os.close(writer)
    assert occupied_slots(ring) == [] and not fifo_has_reader(fifo)
    assert ring.read_files(paths[6:9]) == [b"5", b"6", b"7"]


def test_closing_the_ring_ends_what_is_in_flight(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    writer = os.open(fifo, os.O_RDWR)
    data = bytearray(b"x" * 100)
    try:
        ring = ioring.Ring(16)
        blocked = ring.read_file(fifo)
        written = ring.write_file(tmp_path / "w", data)
        waiting = [ring.read_file(fifo) for _ in range(200)]     # more than the slots
        ring.submit()
        time.sleep(0.02)
        ring.close()
        for op in [blocked] + waiting:
            with pytest.raises(OSError) as info:
                op.result()
            assert info.value.errno == errno.ECANCELED
        assert written.done()
        data.extend(b"free")                    # the kernel is done with it
    finally:
        os.close(writer)
    assert not fifo_has_reader(fifo)
    with pytest.raises(ValueError):
        ring.read_file(tmp_path / "w")


def test_ring_sizes_and_file_table_conflicts(tmp_path):
    (tmp_path / "f").write_bytes(b"f")
    with ioring.Ring(2) as tiny:
        with pytest.raises(ValueError, match="needs 3 SQEs"):
            tiny.read_file(tmp_path / "f")
        with pytest.raises(ValueError, match="needs 5 SQEs"):
            ioring.Ring(4).read_file(tmp_path / "f", timeout=1)
    with ioring.Ring(4) as small:                  # room for one chain at a time
        assert small.read_files([tmp_path / "f"] * 50) == [b"f"] * 50
    with ioring.Ring(8) as r:
        r.register_files([0])
        with pytest.raises(RuntimeError, match="already has a registered file table"):
            r.read_file(tmp_path / "f")
    with ioring.Ring(8) as r:
        assert r.read_file(tmp_path / "f").result() == b"f"
        with pytest.raises(RuntimeError, match="register files on another Ring"):
            r.register_files([0])


def test_not_inside_a_linked_chain_and_completions(ring, tmp_path):
    (tmp_path / "f").write_bytes(b"f")
    with ring.linked():
        nop = ring.nop()
        with pytest.raises(RuntimeError, match="cannot be part of a linked"):
            ring.read_file(tmp_path / "f")
    assert nop.result() == 0
    ops = [ring.read_file(tmp_path / "f"), ring.nop(), ring.write_file(tmp_path / "g", b"gg")]
    done = list(ring.completions(timeout=5))
    assert sorted(map(id, done)) == sorted(map(id, ops))
    assert ops[0].result() == b"f" and ops[2].result() == 2


def test_threads_share_the_file_engine(ring, tmp_path):
    for i in range(50):
        (tmp_path / f"f{i}").write_bytes(b"%d" % i)
    errors = []

    def worker(k):
        try:
            for _ in range(10):
                got = ring.read_files([tmp_path / f"f{i}" for i in range(50)])
                assert got == [b"%d" % i for i in range(50)]
                assert ring.read_file(tmp_path / f"f{k}").result() == b"%d" % k
        except BaseException as exc:
            errors.append(exc)
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert ring.in_flight == 0 and occupied_slots(ring) == []


def test_threads_that_first_use_read_file_together_make_one_engine(tmp_path):
    # The engine registers the ring's file table on first use, outside the GIL; threads
    # arriving together each saw no engine yet, and all but one got EBUSY ("already has a
    # registered file table"). Spinning threads (not a Barrier) meet inside that window.
    (tmp_path / "f").write_bytes(b"f")
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        failed = [round_errors for round_errors in map(first_use_together, [tmp_path] * 200)
                  if round_errors]
    finally:
        sys.setswitchinterval(interval)
    assert failed == []


def first_use_together(tmp_path):
    go = threading.Event()
    errors = []
    with ioring.Ring(8) as ring:
        def worker():
            while not go.is_set():
                pass
            try:
                assert ring.read_file(tmp_path / "f").result() == b"f"
            except BaseException as exc:
                errors.append(exc)
        threads = [threading.Thread(target=worker) for _ in range(3)]
        for t in threads:
            t.start()
        go.set()
        for t in threads:
            t.join()
    return errors
