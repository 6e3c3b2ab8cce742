"""Does where a read's buffer starts in its page change a 4 KiB page-cache read's cost?

A QD 1 loop of ioring.liburing reads (get_sqe -> prep_read -> submit_and_wait -> cq_advance) of a
warm 64 MiB file into a 4 KiB window of an anonymous mmap that starts ``offset`` bytes into a
page, for several offsets interleaved, pinned to one CPU; medians of ``--reps``, ns of CPU time per
read. The kernel's copy to the user buffer is where the offsets differ (the Python side is the
same for each). On the machine of bench/RESULTS.md, session 21: offsets 0, 16, 24, 32, 40, 48, 64
took 1.74-1.88 us per read, offsets 1, 4, 8 took 2.78-3.04 us; malloc'd bytearrays are 16-byte
aligned, so the thin-layer bench (bench/bench_thin.py) never meets the slow case.

    python bench/bench_read_offset.py [--reps 7] [--reads 20000] [--offsets 0,1,4,8,16,24,40,64]
"""
import argparse
import itertools
import mmap
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import _checkout  # noqa: E402
_checkout.use()

from ioring import liburing as L  # noqa: E402
from ioring.bench import thin as T  # noqa: E402

BLOCK = 4096


def _loop(ring, fd, view, next_off, reads: int) -> float:
    """ns of CPU time per read of ``reads`` QD 1 reads into ``view``."""
    get_sqe, prep_read = L.io_uring_get_sqe, L.io_uring_prep_read
    submit_and_wait, cq_advance = L.io_uring_submit_and_wait, L.io_uring_cq_advance
    t0 = time.thread_time()
    for _ in range(reads):
        sqe = get_sqe(ring)
        prep_read(sqe, fd, view, BLOCK, next_off())
        submit_and_wait(ring, 1)
        cq_advance(ring, 1)
    return (time.thread_time() - t0) / reads * 1e9


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=7, help="interleaved repetitions")
    ap.add_argument("--reads", type=int, default=20000, help="reads per offset and repetition")
    ap.add_argument("--offsets", default="0,1,4,8,16,24,40,64",
                    help="comma-separated offsets into the page (0..4095)")
    ap.add_argument("--cpu", type=int, default=None, help="CPU to pin to (default: the last one allowed)")
    args = ap.parse_args(argv)
    offsets = [int(x) for x in args.offsets.split(",")]
    if any(not 0 <= k < mmap.PAGESIZE for k in offsets) or args.reps < 1 or args.reads < 1:
        ap.error("offsets must be in 0..page size - 1, --reps and --reads >= 1")
    T._pinned(args.cpu)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "data.bin")
        with open(path, "wb") as f:
            f.write(os.urandom(64 << 20))
        nblocks = T._warm_file(path)
        fd = os.open(path, os.O_RDONLY)
        ring = L.io_uring()
        L.io_uring_queue_init(8, ring, 0)
        area = mmap.mmap(-1, 3 * mmap.PAGESIZE)
        views = {}
        try:
            next_off = itertools.cycle([i * BLOCK for i in range(nblocks)]).__next__
            views = {k: memoryview(area)[mmap.PAGESIZE + k:mmap.PAGESIZE + k + BLOCK] for k in offsets}
            for view in views.values():                     # warm-up
                _loop(ring, fd, view, next_off, min(args.reads, 1000))
            samples = {k: [] for k in offsets}
            for _ in range(args.reps):
                for k, view in views.items():
                    samples[k].append(_loop(ring, fd, view, next_off, args.reads))
            for k in offsets:
                print(f"buffer at offset {k:4d} of its page: {statistics.median(samples[k]):8.1f} ns per read")
        finally:
            L.io_uring_queue_exit(ring)         # (every read was consumed: nothing pinned)
            for view in views.values():
                view.release()
            os.close(fd)
            area.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
