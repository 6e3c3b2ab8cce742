"""Ring.run_stream: the constant-depth request stream of include/ioring/stream.h.

What the kernel did is checked: bytes on disk after writes, the block stamps of what was read,
the errno of failing requests, the pipe after an interrupted stream (no read left in flight
steals its data), and the ring afterwards (nothing queued, in flight or unreaped)."""
import errno
import os
import signal
import struct
import threading
import time

import pytest

import ioring
from ioring import bench as B
from ioring import liburing as L
from ioring._stream import LatencyHistogram, StreamResult

BS = 4096


@pytest.fixture
def stamped(tmp_path):
    """A 1 MiB file in the benchmark format (block b starts with b), open read-write."""
    path = str(tmp_path / "data.bin")
    nblocks = B.make_file(path, 256 * BS)
    fd = os.open(path, os.O_RDWR)
    yield fd, path, nblocks
    os.close(fd)


RING = ("Ring", 64)             # the conftest ring fixture: an ioring.Ring(64)


def open_direct(path, flags=os.O_RDONLY):
    try:
        return os.open(path, flags | os.O_DIRECT)
    except OSError as exc:
        if exc.errno == errno.EINVAL:
            pytest.skip(f"the filesystem of {path} refuses O_DIRECT: {exc}")
        raise


def assert_ring_idle(ring):
    """Nothing queued, in flight or unreaped, and the ring still works."""
    assert L.io_uring_sq_ready(ring.uring) == 0
    assert L.io_uring_cq_ready(ring.uring) == 0
    assert ring.in_flight == 0
    assert ring.nop().result(timeout=5) == 0


def expected_block(offset, size=BS):
    """What the stream writes at ``offset``: the pattern i & 0xff with the block stamps."""
    data = bytearray(bytes(range(256)) * (size // 256))
    for k in range(0, size, 4096):
        struct.pack_into("<Q", data, k, (offset + k) // 4096)
    return bytes(data)


# ---- constant depth --------------------------------------------------------------------------

@pytest.mark.parametrize("iodepth", [1, 7, 32])
def test_depth_stays_constant_page_cache(ring, stamped, iodepth):
    fd, _, nblocks = stamped
    r = ring.run_stream(fd, iodepth=iodepth, count=20 * iodepth + 5, verify=True)
    assert isinstance(r, StreamResult)
    assert r.stop == "done" and r.errors == 0
    assert r.ios == r.issued == 20 * iodepth + 5
    assert r.min_inflight == r.max_inflight == iodepth
    # One io_uring_enter per round, and every round reaps at least one completion.
    assert 1 <= r.enters <= r.issued
    assert r.bytes_read == r.ios * BS and r.bytes_written == 0
    assert_ring_idle(ring)


def test_depth_stays_constant_o_direct_and_time_stop(tmp_path):
    path = str(tmp_path / "direct.bin")
    B.make_file(path, 512 * BS, sync=True)
    fd = open_direct(path)
    try:
        with ioring.Ring(16) as ring:
            t0 = time.monotonic()
            r = ring.run_stream(fd, iodepth=16, seconds=0.2, verify=True)
            assert time.monotonic() - t0 < 5
            assert r.stop == "done" and r.errors == 0 and r.ios > 16
            assert r.min_inflight == r.max_inflight == 16
            assert 0.15 < r.seconds < 5
            assert_ring_idle(ring)
    finally:
        os.close(fd)


@pytest.mark.parametrize("batch", [0, 1, 4])
def test_submit_batch_bounds_requests_per_enter(ring, stamped, batch):
    """iodepth_batch_submit=N hands the kernel at most N requests per io_uring_enter (the rest in
    enters that do not wait): at least issued/N enters; 0 submits a round in its waiting enter.
    The depth stays constant and every read is verified either way."""
    fd, _, _ = stamped
    r = ring.run_stream(fd, iodepth=32, count=32 * 20, verify=True, iodepth_batch_submit=batch)
    assert r.stop == "done" and r.errors == 0 and r.ios == r.issued == 32 * 20
    assert r.min_inflight == r.max_inflight == 32
    if batch:
        assert r.enters >= r.issued // batch
    else:
        assert r.enters <= r.issued // 2      # the first round alone is 32 requests in one enter
    assert_ring_idle(ring)


def test_submit_batch_default_follows_the_file(stamped, tmp_path):
    """Not given: 8 for an O_DIRECT file or a registered one (requests that go to a device),
    0 for a buffered file (one enter per round costs least in the page cache)."""
    from ioring import _stream
    fd, _, _ = stamped
    assert _stream._default_submit_batch(fd, False) == 0
    assert _stream._default_submit_batch(0, True) == _stream.DEVICE_SUBMIT_BATCH == 8
    path = str(tmp_path / "direct.bin")
    B.make_file(path, 16 * BS, sync=True)
    dfd = open_direct(path)
    try:
        assert _stream._default_submit_batch(dfd, False) == 8
    finally:
        os.close(dfd)


def test_depth_larger_than_the_ring_is_refused(stamped):
    fd, _, _ = stamped
    with ioring.Ring(8) as ring:
        with pytest.raises(ValueError, match="entries >= 16"):
            ring.run_stream(fd, iodepth=16, count=10)
        assert_ring_idle(ring)


# ---- latency record ----------------------------------------------------------------------------

def test_latency_record_and_histogram(ring, stamped):
    fd, _, _ = stamped
    n = 3000
    r = ring.run_stream(fd, rw="randread", iodepth=8, count=n, record=True)
    rec = r.record
    assert len(rec) == n == r.ios == r.lat.count == r.read_lat.count
    assert r.write_lat.count == 0 and r.write_lat.percentile(50) is None
    assert sorted(rec.index) == list(range(n))               # every request once
    lats = sorted(rec.latency_ns)
    assert lats[0] > 0 and lats[-1] < 10e9                   # positive and plausible
    assert r.lat.min_ns == lats[0] and r.lat.max_ns == lats[-1]
    assert r.lat.mean_ns == pytest.approx(sum(lats) / n)
    assert sum(count for _, _, count in r.lat.buckets()) == n
    ps = [r.lat.percentile(p) for p in (1, 50, 90, 99, 99.9, 100)]
    assert ps == sorted(ps) and lats[0] <= ps[0] and ps[-1] == lats[-1]
    for p in (50, 90, 99):
        exact = lats[max(1, -(-p * n // 100)) - 1]
        assert r.lat.percentile(p) == pytest.approx(exact, rel=0.02)   # buckets are <= 1/64 wide
    us = r.lat.percentiles_us()
    assert list(us) == ["p50", "p90", "p99", "p99.9"]
    assert us["p50"] == pytest.approx(r.lat.percentile(50) / 1000)
    assert all(e == 0 for e in rec.error) and all(res == BS for res in rec.res)
    with pytest.raises(ValueError):
        r.lat.percentile(0)
    assert r.iops > 0 and r.mb_per_sec == pytest.approx(r.bandwidth / 1e6)


def test_empty_histogram():
    h = LatencyHistogram()
    assert h.count == 0 and h.min_ns is None and h.mean_ns is None and h.buckets() == []
    assert h.percentiles_us() == {"p50": None, "p90": None, "p99": None, "p99.9": None}


# ---- errors -----------------------------------------------------------------------------------

def test_short_read_at_eof_stops_the_stream(ring, tmp_path):
    path = tmp_path / "short"
    path.write_bytes(b"x" * (BS + 100))
    fd = os.open(path, os.O_RDONLY)
    try:
        r = ring.run_stream(fd, offsets=[0, BS] * 50, iodepth=2, count=100)
        assert r.stop == "error"
        assert r.error_counts == {"errno": 0, "short": 1, "verify": 0} and r.errors == 1
        e = r.first_error
        assert (e.op, e.offset, e.res, e.kind) == ("read", BS, 100, "short")
        assert r.issued < 100                                  # it stopped issuing
        assert_ring_idle(ring)
        # on_error="continue": every short read is counted, the stream goes on.
        r = ring.run_stream(fd, offsets=[0, BS, 2 * BS], iodepth=3, count=30, on_error="continue",
                            record=True)
        assert r.stop == "done" and r.ios == 30
        assert r.error_counts["short"] == 20                   # 10 reads of 100 B, 10 at EOF (0 B)
        assert sorted(set(r.record.res)) == [0, 100, BS]
        assert r.lat.count == 10                               # latencies of the full reads only
    finally:
        os.close(fd)


def test_unaligned_o_direct_offset_fails_with_einval(ring, tmp_path):
    path = str(tmp_path / "direct")
    B.make_file(path, 16 * BS, sync=True)
    fd = open_direct(path)
    try:
        r = ring.run_stream(fd, offsets=[0, 1, 2 * BS], iodepth=1, count=3, on_error="continue",
                            record=True)
        assert list(r.record.res) == [BS, -errno.EINVAL, BS]
        assert r.first_error.res == -errno.EINVAL and r.first_error.kind == "errno"
        assert r.first_error.offset == 1 and r.errors == 1
        assert_ring_idle(ring)
    finally:
        os.close(fd)


def test_closed_fd_fails_with_ebadf(ring, tmp_path):
    fd = os.open(tmp_path / "f", os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    r = ring.run_stream(fd, size=16 * BS, iodepth=4, count=100)
    assert r.stop == "error" and r.first_error.res == -errno.EBADF
    assert r.issued <= 4 + 4
    with pytest.raises(OSError):                # without size=, the fd is looked at first
        ring.run_stream(fd, iodepth=4, count=10)
    # A registered index with no file behind it.
    r = ring.run_stream(0, fixed_file=True, size=16 * BS, iodepth=2, count=10)
    assert r.first_error.res in (-errno.EBADF, -errno.ENXIO)
    assert_ring_idle(ring)


def test_verify_catches_a_wrong_block(ring, stamped):
    fd, _, _ = stamped
    os.pwrite(fd, struct.pack("<Q", 999), 5 * BS)      # block 5 now claims to be block 999
    r = ring.run_stream(fd, offsets=[4 * BS, 5 * BS], iodepth=1, count=2, verify=True,
                        on_error="continue")
    assert r.error_counts["verify"] == 1 and r.first_error.offset == 5 * BS
    assert r.first_error.kind == "verify" and r.first_error.res == BS


def test_bad_arguments(ring, stamped):
    fd, _, _ = stamped
    with pytest.raises(ValueError, match="rw must be"):
        ring.run_stream(fd, rw="sideways", count=1)
    with pytest.raises(ValueError, match="stop"):
        ring.run_stream(fd)
    with pytest.raises(ValueError, match="bs"):
        ring.run_stream(fd, bs=0, count=1)
    with pytest.raises(ValueError, match="iodepth"):
        ring.run_stream(fd, iodepth=0, count=1)
    with pytest.raises(ValueError, match="on_error"):
        ring.run_stream(fd, on_error="ignore", count=1)
    for bad in (-1, 1.5, "8", True, 1 << 20):
        with pytest.raises(ValueError, match="iodepth_batch_submit"):
            ring.run_stream(fd, count=1, iodepth_batch_submit=bad)
    with pytest.raises(ValueError, match="rwmixread"):
        ring.run_stream(fd, rw="randrw", rwmixread=101, count=1)
    with pytest.raises(ValueError, match="offsets"):
        ring.run_stream(fd, offsets=[-1], count=1)
    with pytest.raises(ValueError, match="offsets is empty"):
        ring.run_stream(fd, offsets=[], count=1)
    with pytest.raises(ValueError, match="smaller than one block"):
        ring.run_stream(fd, bs=2 << 20, count=1)
    with pytest.raises(ValueError, match="past the end"):
        ring.run_stream(fd, offset=1 << 30, count=1)
    with pytest.raises(ValueError, match="size= is needed"):
        r, w = os.pipe()
        try:
            ring.run_stream(r, count=1)
        finally:
            os.close(r)
            os.close(w)
    with pytest.raises(ValueError, match="fixed_file"):
        ring.run_stream(0, fixed_file=True, count=1)
    with pytest.raises(TypeError):
        ring.run_stream("not an fd", count=1)
    with pytest.raises(TypeError, match="BufferPool"):
        ring.run_stream(fd, buffers=[bytearray(BS)], count=1)
    assert_ring_idle(ring)


# ---- the ring belongs to the stream -------------------------------------------------------------

def test_closed_ring_is_refused(stamped):
    fd, _, _ = stamped
    ring = ioring.Ring(8)
    ring.close()
    with pytest.raises(ValueError, match="closed"):
        ring.run_stream(fd, iodepth=4, count=1)


def test_ring_must_be_idle(ring, stamped):
    fd, _, _ = stamped
    op = ring.nop()                                       # queued, not submitted
    with pytest.raises(RuntimeError, match="itself"):
        ring.run_stream(fd, count=1)
    ring.submit()
    with pytest.raises(RuntimeError, match="itself"):     # completed, not reaped
        ring.run_stream(fd, count=1)
    assert op.result(timeout=5) == 0
    assert ring.run_stream(fd, count=4).ios == 4


def test_other_threads_are_refused_while_a_stream_runs(ring, tmp_path):
    r, w = os.pipe()
    errors, started = [], threading.Event()

    def stream():
        started.set()
        try:
            ring.run_stream(r, rw="read", bs=1, size=1, iodepth=2, count=3)
        except BaseException as exc:        # pragma: no cover - reported below
            errors.append(exc)

    t = threading.Thread(target=stream)
    t.start()
    started.wait()
    time.sleep(0.2)                         # the stream waits in the kernel for the pipe
    try:
        with pytest.raises(RuntimeError, match="in use by Ring.run_stream"):
            ring.nop()
        with pytest.raises(RuntimeError, match="in use by Ring.run_stream"):
            L.io_uring_get_sqe(ring.uring)
        with pytest.raises(RuntimeError, match="in use by Ring.run_stream"):
            L.io_uring_cq_ready(ring.uring)
        with pytest.raises(RuntimeError):
            ring.close()
        with pytest.raises(RuntimeError):
            ring.run_stream(r, rw="read", bs=1, size=1, count=1)
    finally:
        os.write(w, b"abc")                 # three 1-byte reads complete
        t.join(10)
    assert not t.is_alive() and not errors
    assert_ring_idle(ring)
    os.close(r)
    os.close(w)


# ---- Ctrl-C ---------------------------------------------------------------------------------

class _SigintTimer(threading.Timer):
    """SIGINT to this process after ``seconds``; ``sent`` is when it was sent (monotonic)."""

    def __init__(self, seconds):
        super().__init__(seconds, self._send)
        self.sent = None

    def _send(self):
        self.sent = time.monotonic()
        os.kill(os.getpid(), signal.SIGINT)


def _sigint_after(seconds):
    t = _SigintTimer(seconds)
    t.start()
    return t


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="signals are handled in the main thread")
def test_ctrl_c_on_a_pipe_cancels_and_waits(ring):
    r, w = os.pipe()
    pool = ioring.BufferPool(ring, 4, BS)
    try:
        timer = _sigint_after(0.3)
        with pytest.raises(KeyboardInterrupt):
            ring.run_stream(r, rw="read", bs=16, size=16, iodepth=4, seconds=60, buffers=pool)
        latency = time.monotonic() - timer.sent
        timer.join()
        assert latency < 0.5, latency       # ~0.1 s bound of a wait, plus a loaded machine
        assert_ring_idle(ring)
        # No read is left in flight: the data written now is all the reader's.
        os.write(w, b"0123456789abcdef")
        assert os.read(r, 100) == b"0123456789abcdef"
        # Nothing pinned: once the pool is unregistered, its views have no export left.
        pool.close()
        for i in range(4):
            pool[i].release()
    finally:
        os.close(r)
        os.close(w)


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="signals are handled in the main thread")
def test_ctrl_c_while_completions_keep_coming(ring, stamped):
    fd, _, _ = stamped
    timer = _sigint_after(0.3)
    with pytest.raises(KeyboardInterrupt):
        ring.run_stream(fd, iodepth=8, seconds=60)     # page cache: it never sleeps
    latency = time.monotonic() - timer.sent
    timer.join()
    assert latency < 0.5, latency
    assert_ring_idle(ring)


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="signals are handled in the main thread")
def test_a_signal_handler_that_uses_the_ring_stops_the_stream(ring, stamped):
    fd, _, _ = stamped

    def handler(signum, frame):
        ring.nop()                          # the ring is the stream's: RuntimeError

    old = signal.signal(signal.SIGUSR1, handler)
    try:
        t = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGUSR1))
        t.start()
        with pytest.raises(RuntimeError, match="in use by Ring.run_stream"):
            ring.run_stream(fd, iodepth=4, seconds=30)
        t.join()
    finally:
        signal.signal(signal.SIGUSR1, old)
    assert_ring_idle(ring)


def test_time_stop_on_a_pipe_cancels_what_never_completes(ring):
    r, w = os.pipe()
    try:
        t0 = time.monotonic()
        res = ring.run_stream(r, rw="read", bs=8, size=8, iodepth=2, seconds=0.1)
        assert time.monotonic() - t0 < 5
        assert res.stop == "done" and res.ios == 0 and res.errors == 0
        assert_ring_idle(ring)
        os.write(w, b"still-mine")
        assert os.read(r, 100) == b"still-mine"
    finally:
        os.close(r)
        os.close(w)


# ---- registered buffers and files ---------------------------------------------------------------

def test_registered_buffers_and_file(ring, stamped):
    fd, _, _ = stamped
    r = ring.run_stream(fd, iodepth=8, count=200, fixed_buffers=True, verify=True)
    assert r.errors == 0 and r.ios == 200
    # The stream unregistered its buffers: a pool can be registered now.
    pool = ioring.BufferPool(ring, 8, 2 * BS)
    with pytest.raises(ValueError, match="already has registered buffers"):
        ring.run_stream(fd, iodepth=8, count=10, fixed_buffers=True)
    ring.register_files([fd])
    r = ring.run_stream(0, fixed_file=True, size=256 * BS, iodepth=8, count=200, buffers=pool,
                        bs=2 * BS, verify=True)
    assert r.errors == 0 and r.ios == 200 and r.buffers is None
    with pytest.raises(ValueError, match="fewer than iodepth"):
        ring.run_stream(fd, iodepth=16, count=10, buffers=pool)
    with pytest.raises(ValueError, match="smaller than bs"):
        ring.run_stream(fd, iodepth=8, bs=4 * BS, count=10, buffers=pool)
    with ioring.Ring(8) as other:
        with pytest.raises(TypeError, match="registered with this ring"):
            other.run_stream(fd, iodepth=8, count=10, buffers=pool)
    # The last data of each slot is in the pool's buffer of that slot.
    r = ring.run_stream(0, fixed_file=True, size=256 * BS, iodepth=8, count=64, buffers=pool)
    for slot in range(8):
        assert struct.unpack_from("<Q", pool[slot])[0] == r.slot_offsets[slot] // BS
    ring.unregister_files()
    pool.close()
    assert_ring_idle(ring)


def test_last_buffers_hold_the_last_read_of_each_slot(ring, stamped):
    fd, _, _ = stamped
    r = ring.run_stream(fd, iodepth=4, count=37)
    assert len(r.buffers) == 4 and all(len(b) == BS for b in r.buffers)
    for slot, buf in enumerate(r.buffers):
        assert struct.unpack_from("<Q", buf)[0] == r.slot_offsets[slot] // BS
        assert r.slot_writes[slot] == 0


# ---- writes -------------------------------------------------------------------------------------

@pytest.mark.parametrize("bs", [BS, 4 * BS])
def test_writes_land_on_disk(ring, tmp_path, bs):
    path = str(tmp_path / "w")
    with open(path, "wb") as f:
        f.write(bytes(64 * BS))
    fd = os.open(path, os.O_RDWR)
    try:
        r = ring.run_stream(fd, rw="randwrite", bs=bs, iodepth=4, count=40, record=True)
        assert r.errors == 0 and r.writes == 40 and r.bytes_written == 40 * bs
        assert r.write_lat.count == 40 and r.read_lat.count == 0
    finally:
        os.close(fd)
    data = open(path, "rb").read()
    written = set(r.record.offset)
    assert all(off % bs == 0 and off + bs <= len(data) for off in written)
    for off in written:
        assert data[off:off + bs] == expected_block(off, bs)
    untouched = [b for b in range(0, len(data), bs) if b not in written]
    assert all(data[b:b + bs] == bytes(bs) for b in untouched)


def test_sequential_o_direct_writes_then_verified_reads(tmp_path):
    path = str(tmp_path / "seq")
    with open(path, "wb") as f:
        f.write(bytes(32 * BS))
    fd = open_direct(path, os.O_RDWR)
    try:
        with ioring.Ring(8) as ring:
            r = ring.run_stream(fd, rw="write", iodepth=8, count=32, fixed_buffers=True)
            assert r.errors == 0 and r.writes == 32
            r = ring.run_stream(fd, rw="read", iodepth=8, count=64, verify=True)
            assert r.errors == 0 and r.reads == 64
    finally:
        os.close(fd)
    data = open(path, "rb").read()
    assert data == b"".join(expected_block(b * BS) for b in range(32))


# ---- mixes and patterns ---------------------------------------------------------------------------

@pytest.mark.parametrize("mix", [0, 30, 70, 100])
def test_randrw_mix_ratio(ring, stamped, mix):
    fd, _, _ = stamped
    n = 10000
    r = ring.run_stream(fd, rw="randrw", rwmixread=mix, iodepth=16, count=n, record=True,
                        verify=True)
    assert r.errors == 0 and r.reads + r.writes == n
    assert r.reads / n == pytest.approx(mix / 100, abs=0.02)
    assert sum(r.record.write) == r.writes
    assert r.read_lat.count == r.reads and r.write_lat.count == r.writes


def test_seeded_patterns_are_reproducible(ring, stamped):
    fd, _, nblocks = stamped

    def offsets(**kw):
        r = ring.run_stream(fd, iodepth=8, count=500, record=True, **kw)
        return [off for _, off in sorted(zip(r.record.index, r.record.offset))], r

    a, _ = offsets(seed=7)
    b, _ = offsets(seed=7)
    c, _ = offsets(seed=8)
    assert a == b and a != c
    assert all(off % BS == 0 and 0 <= off < nblocks * BS for off in a)
    assert len(set(a)) > 150                                # spread over the 256 blocks
    ra, _ = offsets(rw="randrw", seed=3, rwmixread=50)
    rb, r = offsets(rw="randrw", seed=3, rwmixread=50)
    assert ra == rb
    # Sequential: the blocks of [offset, offset + size) in order, wrapping.
    seq, _ = offsets(rw="read", offset=10 * BS, size=6 * BS)
    assert seq[:14] == [(10 + i % 6) * BS for i in range(14)]
    # An explicit list: in order, wrapping.
    lst, _ = offsets(offsets=[3 * BS, BS, 7 * BS])
    assert lst[:7] == [3 * BS, BS, 7 * BS, 3 * BS, BS, 7 * BS, 3 * BS]


def test_ramp_is_not_counted(ring, stamped):
    fd, _, _ = stamped
    r = ring.run_stream(fd, iodepth=4, seconds=0.15, ramp_seconds=0.1, record=True)
    assert r.issued > r.ios > 0 and len(r.record) == r.ios
    assert 0.1 < r.seconds < 2


def test_repr_and_types(ring, stamped):
    fd, _, _ = stamped
    r = ring.run_stream(fd, iodepth=2, count=10)
    assert "randread" in repr(r) and "IOPS" in repr(r) and "p50" in repr(r.lat)
    assert r.rw == "randread" and r.bs == BS and r.iodepth == 2 and r.foreign == 0


def test_the_ring_works_between_streams(ring, stamped):
    """Regression: the stream's SQEs were picked up by the thin layer's tracking at the next
    submit (as requests in flight forever), so a second stream found the ring busy."""
    fd, _, _ = stamped
    for _ in range(3):
        assert ring.run_stream(fd, iodepth=4, count=20).ios == 20
        buf = bytearray(8)
        assert ring.read(fd, buf, 3 * BS).result(timeout=5) == 8
        assert struct.unpack("<Q", buf)[0] == 3
        assert ring.in_flight == 0


@pytest.mark.parametrize("config", ["sqpoll", "single_issuer_defer_taskrun", "cqe32", "sqe128"])
def test_ring_configurations(stamped, config):
    """The stream on rings set up as fio's (DEFER_TASKRUN), with a kernel SQ thread, and with
    big CQEs/SQEs: constant depth, checked reads, an interrupt cancelled and waited for."""
    from helpers import RING_CONFIGS
    fd, _, _ = stamped
    flags = RING_CONFIGS.get(config, L.IORING_SETUP_SQE128 if config == "sqe128" else 0)
    try:
        ring = ioring.Ring(16, flags=flags)
    except OSError as exc:
        pytest.skip(f"kernel refused IORING_SETUP flags {flags:#x}: {exc}")
    with ring:
        r = ring.run_stream(fd, iodepth=16, count=2000, verify=True, fixed_buffers=True)
        assert r.errors == 0 and r.ios == 2000 and r.min_inflight == r.max_inflight == 16
        rp, wp = os.pipe()
        try:
            if threading.current_thread() is threading.main_thread():
                timer = _sigint_after(0.2)
                with pytest.raises(KeyboardInterrupt):
                    ring.run_stream(rp, rw="read", bs=8, size=8, iodepth=4, seconds=30)
                timer.join()
                os.write(wp, b"12345678")
                assert os.read(rp, 100) == b"12345678"
        finally:
            os.close(rp)
            os.close(wp)
        assert_ring_idle(ring)
