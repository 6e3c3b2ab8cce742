"""Nothing leaks: a million operations later, memory is where it was.

* 1,000,000 NOPs through the thin layer (get_sqe / prep_nop / set_data64 / submit / wait /
  peek_batch_cqe / cq_advance, and cqe_seen for a part), and 1,000,000 through
  ``Ring.nop_many``;
* 100,000 reads into pinned bytearrays (thin layer, Ring.read and Ring.read_many).

After a warm-up (caches, freelists, the allocator's arenas), the process's RSS (from
/proc/self/statm), the number of blocks the Python allocator holds (sys.getallocatedblocks) and
tracemalloc's traced total must stay flat within a small margin, and the reference count of
every buffer used must be back to its starting value (no pin left behind).

The 1M tests are marked ``slow`` (they still run in CI: each stays well under 20 s on the CI
machine; the measured time is printed). IORING_LEAK_SCALE=0.1 runs a tenth of everything.
"""
import array
import errno
import gc
import os
import sys
import time
import tracemalloc

import pytest

import ioring
from ioring import liburing as L

SCALE = float(os.environ.get("IORING_LEAK_SCALE", "1"))
PAGE = os.sysconf("SC_PAGE_SIZE")

# Margins: RSS may move by allocator noise; Python blocks by a few cached objects.
RSS_MARGIN = 2 * 1024 * 1024          # bytes
BLOCKS_MARGIN = 500                    # Python allocator blocks
TRACED_MARGIN = 256 * 1024             # bytes traced by tracemalloc

slow = pytest.mark.slow


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


class Meter:
    """Baseline after the warm-up; ``check()`` asserts everything is still flat."""

    def __init__(self, what):
        self.what = what

    def start(self):
        gc.collect()
        self.rss = rss()
        self.blocks = sys.getallocatedblocks()
        self.traced = tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else None
        self.t0 = time.perf_counter()

    def check(self, ops):
        elapsed = time.perf_counter() - self.t0
        gc.collect()
        d_rss = rss() - self.rss
        d_blocks = sys.getallocatedblocks() - self.blocks
        d_traced = (tracemalloc.get_traced_memory()[0] - self.traced) if self.traced is not None else 0
        print(f"\n{self.what}: {ops} ops in {elapsed:.2f} s ({ops / elapsed / 1e6:.2f} M ops/s); "
              f"RSS {d_rss / 1024:+.0f} KiB, Python blocks {d_blocks:+d}"
              + (f", traced {d_traced / 1024:+.0f} KiB" if self.traced is not None else ""))
        # Under AddressSanitizer freed memory sits in a quarantine: RSS grows by design.
        if not os.environ.get("IORING_SANITIZED"):
            assert d_rss < RSS_MARGIN, f"{self.what}: RSS grew by {d_rss / 1024:.0f} KiB over {ops} ops"
        assert d_blocks < BLOCKS_MARGIN, f"{self.what}: {d_blocks} more Python blocks after {ops} ops"
        assert d_traced < TRACED_MARGIN, f"{self.what}: tracemalloc total grew by {d_traced} bytes"
        return elapsed


@pytest.fixture
def ring256():
    ring = L.io_uring()
    L.io_uring_queue_init(256, ring)
    yield ring
    L.io_uring_queue_exit(ring)


@pytest.fixture
def datafile(tmp_path):
    path = tmp_path / "data"
    path.write_bytes(bytes(range(256)) * 4096)      # 1 MiB
    fd = os.open(path, os.O_RDONLY)
    yield fd
    os.close(fd)


# ---- thin layer ------------------------------------------------------------------------------

def thin_nops(ring, total, batch=256, seen_every=8):
    """``total`` NOPs in batches: each batch reaped with peek_batch_cqe + cq_advance, every
    ``seen_every``-th batch one CQE at a time with wait_cqe + cqe_seen."""
    get_sqe, prep, setd = L.io_uring_get_sqe, L.io_uring_prep_nop, L.io_uring_sqe_set_data64
    done = 0
    ud = 0
    n_batch = 0
    while done < total:
        n = min(batch, total - done)
        for _ in range(n):
            sqe = get_sqe(ring)
            prep(sqe)
            ud += 1
            setd(sqe, ud)
        assert L.io_uring_submit(ring) == n
        n_batch += 1
        if n_batch % seen_every == 0:
            for _ in range(n):
                cqe = L.io_uring_wait_cqe(ring)
                assert cqe.res == 0
                L.io_uring_cqe_seen(ring, cqe)
        else:
            got = 0
            while got < n:
                L.io_uring_wait_cqe_nr(ring, n - got) if L.io_uring_cq_ready(ring) == 0 else None
                cqes = L.io_uring_peek_batch_cqe(ring, n - got)
                L.io_uring_cq_advance(ring, len(cqes))
                got += len(cqes)
        done += n
    return done


@slow
def test_a_million_thin_layer_nops_leak_nothing(ring256):
    total = int(1_000_000 * SCALE)
    thin_nops(ring256, 20_000)                      # warm-up
    meter = Meter("thin layer NOPs")
    meter.start()
    thin_nops(ring256, total)
    elapsed = meter.check(total)
    assert elapsed < 60, f"1M thin-layer NOPs took {elapsed:.1f} s"
    assert L.io_uring_cq_ready(ring256) == 0 and L.io_uring_sq_ready(ring256) == 0


def test_thin_layer_nops_leak_nothing_under_tracemalloc(ring256):
    """The same loop under tracemalloc (slower: a shorter run), which sees every allocation."""
    total = int(100_000 * SCALE)
    thin_nops(ring256, 10_000)
    tracemalloc.start()
    try:
        thin_nops(ring256, 10_000)
        meter = Meter("thin layer NOPs (tracemalloc)")
        meter.start()
        thin_nops(ring256, total)
        meter.check(total)
    finally:
        tracemalloc.stop()


# ---- Ring.nop_many ----------------------------------------------------------------------------

@slow
def test_a_million_nop_many_leak_nothing():
    total = int(1_000_000 * SCALE)
    with ioring.Ring(256) as ring:
        ring.nop_many(20_000)
        meter = Meter("Ring.nop_many")
        meter.start()
        done = 0
        while done < total:
            n = min(100_000, total - done)
            assert ring.nop_many(n) == n
            done += n
        elapsed = meter.check(total)
        assert elapsed < 20
        assert ring.in_flight == 0


def test_ring_nop_operations_leak_nothing():
    """Single Operations: each NOP is an Operation object, reaped and dropped."""
    total = int(100_000 * SCALE)
    with ioring.Ring(256) as ring:
        def run(n):
            for i in range(0, n, 128):
                ops = [ring.nop() for _ in range(min(128, n - i))]
                ring.wait(len(ops))
                for op in ops:
                    assert op.result() == 0
        run(5_000)
        meter = Meter("Ring.nop + wait")
        meter.start()
        run(total)
        meter.check(total)
        assert ring.in_flight == 0


# ---- reads with pinned bytearrays ----------------------------------------------------------

def test_100k_thin_layer_reads_release_every_pin(ring256, datafile):
    total = int(100_000 * SCALE)
    bufs = [bytearray(512) for _ in range(64)]
    start_refs = [sys.getrefcount(b) for b in bufs]

    def run(n):
        done = 0
        while done < n:
            k = min(len(bufs), n - done)
            for i in range(k):
                sqe = L.io_uring_get_sqe(ring256)
                L.io_uring_prep_read(sqe, datafile, bufs[i], 512, ((done + i) * 512) % (1 << 20))
                L.io_uring_sqe_set_data64(sqe, i)
            L.io_uring_submit(ring256)
            for _ in range(k):
                cqe = L.io_uring_wait_cqe(ring256)
                assert cqe.res == 512, cqe
                L.io_uring_cqe_seen(ring256, cqe)
            done += k
        return done

    run(5_000)
    meter = Meter("thin layer reads")
    meter.start()
    run(total)
    meter.check(total)
    assert [sys.getrefcount(b) for b in bufs] == start_refs, "a read left a reference behind"
    for b in bufs:
        b.append(0)                     # no pin left: resizable
    assert bytes(bufs[1][:4]) != b"\0\0\0\0"


def test_100k_ring_reads_release_every_pin(datafile):
    total = int(100_000 * SCALE)
    bufs = [bytearray(512) for _ in range(64)]
    start_refs = [sys.getrefcount(b) for b in bufs]
    with ioring.Ring(128) as ring:
        def run(n):
            done = 0
            while done < n:
                k = min(len(bufs), n - done)
                ops = [ring.read(datafile, bufs[i], ((done + i) * 512) % (1 << 20)) for i in range(k)]
                ring.wait(k)
                for op in ops:
                    assert op.result() == 512
                done += k
            del ops

        run(5_000)
        meter = Meter("Ring.read")
        meter.start()
        run(total)
        meter.check(total)
    assert [sys.getrefcount(b) for b in bufs] == start_refs, "a read left a reference behind"
    for b in bufs:
        b.append(0)


@pytest.mark.parametrize("offsets_as", [list, lambda v: array.array("q", v)])
def test_100k_read_many_release_every_pin(datafile, offsets_as):
    total = int(100_000 * SCALE)
    bufs = [bytearray(512) for _ in range(256)]
    offsets = offsets_as([(i * 512) % (1 << 20) for i in range(256)])
    start_refs = [sys.getrefcount(b) for b in bufs]
    offsets_refs = sys.getrefcount(offsets)
    with ioring.Ring(128) as ring:
        def run(n):
            for _ in range(n // len(bufs)):
                res = ring.read_many(datafile, bufs, offsets)
                assert min(res) == 512 and max(res) == 512

        run(5_000)
        meter = Meter("Ring.read_many")
        meter.start()
        run(total)
        meter.check(total)
    assert [sys.getrefcount(b) for b in bufs] == start_refs, "read_many left a reference behind"
    assert sys.getrefcount(offsets) == offsets_refs
    for b in bufs:
        b.append(0)
    if isinstance(offsets, array.array):
        offsets.append(0)           # no buffer export of the offsets left behind


def _flat_over_rounds(what, run, files_per_round, rounds=50):
    """``run(k)`` k rounds: 5 to warm up, then ``rounds`` (scaled) with memory and the fd table
    checked flat."""
    run(5)
    fds_before = sorted(os.listdir("/proc/self/fd"))
    meter = Meter(what)
    meter.start()
    rounds = max(5, int(rounds * SCALE))
    run(rounds)
    meter.check(rounds * files_per_round)
    assert sorted(os.listdir("/proc/self/fd")) == fds_before, f"{what}: an fd leaked"


def test_write_files_engine_leaks_nothing(tmp_path):
    """ioring._fileops.write_pipelined (write_files' C loop), 50 rounds of 200 files, with
    failures mixed in: memory flat, no fd left open, every datum's buffer export released."""
    from ioring import _fileops
    paths = [os.fsencode(tmp_path / f"f{i}") for i in range(200)]
    paths[17] = os.fsencode(tmp_path / "no" / "such")               # open fails
    datas = [bytearray(b"x" * (i % 50)) for i in range(200)]
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
    start_refs = [sys.getrefcount(d) for d in datas]

    def run(rounds):
        for r in range(rounds):
            out = _fileops.write_pipelined(paths, datas, -100, 0o644, flags, fsync=r % 10 == 0)
            assert out == [(17, errno.ENOENT, "open")]

    _flat_over_rounds("write_pipelined", run, len(paths))
    assert [sys.getrefcount(d) for d in datas] == start_refs
    for d in datas:
        d.append(0)                 # raises BufferError if an export was left


def test_read_files_engine_leaks_nothing(tmp_path):
    """ioring._fileops.read_chains (read_files' C loop), 50 rounds of 200 files, failures and
    files larger than the buffer mixed in: memory flat, no fd left open."""
    from ioring import _fileops
    paths = []
    for i in range(200):
        (tmp_path / f"f{i}").write_bytes(b"y" * (i * 37))
        paths.append(os.fsencode(tmp_path / f"f{i}"))
    paths[17] = os.fsencode(tmp_path / "no" / "such")
    (tmp_path / "f33").write_bytes(b"z" * 40000)                      # fills 32 KiB

    def run(rounds):
        for _ in range(rounds):
            contents, failures, big = _fileops.read_chains(paths)
            assert failures == [(17, errno.ENOENT, "open")] and big == [33]
            assert contents[199] == b"y" * (199 * 37)

    _flat_over_rounds("read_chains", run, len(paths))


def test_rings_created_and_closed_leak_nothing():
    """Ring setup/teardown (mmap, fd, Python state) 2,000 times."""
    def run(n):
        for _ in range(n):
            ring = L.io_uring()
            L.io_uring_queue_init(8, ring)
            sqe = L.io_uring_get_sqe(ring)
            L.io_uring_prep_nop(sqe)
            L.io_uring_submit(ring)
            L.io_uring_queue_exit(ring)
    run(200)
    fds_before = len(os.listdir("/proc/self/fd"))
    meter = Meter("ring setup/teardown")
    meter.start()
    run(int(2_000 * SCALE))
    meter.check(int(2_000 * SCALE))
    assert len(os.listdir("/proc/self/fd")) == fds_before, "a ring fd leaked"
