# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Constant-depth request streams: the engine of ``Ring.run_stream``.

``run(uring, fd, ...)`` keeps ``iodepth`` reads and/or writes of ``bs`` bytes in flight on one
file until a count or a time is reached, each slot refilled as soon as its completion is reaped,
one io_uring_enter per round that submits the refills and waits; the loop is C
(include/ioring/stream.h) and runs with the GIL released from start to end. Every request is
timed from its submission to its reaping, in a log-bucketed histogram like fio's
(``LatencyHistogram``), and checked: errors are per request and counted (``StreamResult``).

The ring belongs to the stream while it runs: it must be idle when the stream starts (nothing
queued, in flight or unreaped, no other thread waiting on it), and every other use of it (the
thin layer, the Ring's methods, from any thread or from a signal handler) raises RuntimeError
until the stream returns. Ctrl-C (any exception raised by a signal handler) stops it within
~0.1 s: what is in flight is cancelled and waited for, then the exception propagates.
"""
from ioring.includes.stream cimport *      # first: see includes/stream.pxd
cimport cython
from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_WRITABLE, PyBUF_ANY_CONTIGUOUS, Py_buffer
from cpython.exc cimport PyErr_CheckSignals
from libc.stdint cimport uint8_t, uint64_t, int64_t
from libc.stdlib cimport calloc, free
from libc.string cimport memcpy, memset

from ioring.includes cimport core as c
from ioring.liburing cimport io_uring

import array
import collections
import errno as _errno
import fcntl as _fcntl
import mmap
import os
import stat

#: ``rw`` values (fio's names): (pattern, reads only / writes only / mixed)
RW_MODES = ("read", "write", "rw", "randread", "randwrite", "randrw")
_RW = {"read": (IORING_STREAM_SEQUENTIAL, 100), "write": (IORING_STREAM_SEQUENTIAL, 0),
       "rw": (IORING_STREAM_SEQUENTIAL, -1), "readwrite": (IORING_STREAM_SEQUENTIAL, -1),
       "randread": (IORING_STREAM_RANDOM, 100), "randwrite": (IORING_STREAM_RANDOM, 0),
       "randrw": (IORING_STREAM_RANDOM, -1)}
_STOP = {IORING_STREAM_STOP_DONE: "done", IORING_STREAM_STOP_ERROR: "error",
         IORING_STREAM_STOP_INTERRUPTED: "interrupted", IORING_STREAM_STOP_FAILED: "failed"}
_KIND = {IORING_STREAM_ERR_ERRNO: "errno", IORING_STREAM_ERR_SHORT: "short",
         IORING_STREAM_ERR_VERIFY: "verify"}
#: the percentiles of ``LatencyHistogram.percentiles_us`` (fio's p50/p90/p99/p99.9)
DEFAULT_PERCENTILES = (50.0, 90.0, 99.0, 99.9)

# A signal is noticed within this (the wait is bounded so that a signal delivered to another
# thread, which interrupts no syscall here, is still seen), and checked at least this often
# while completions keep coming.
cdef int64_t _WAIT_BOUND_NS = 100_000_000
cdef int64_t _POLL_NS = 20_000_000
# Once the stop is reached, requests still in flight this long are cancelled (a read from a pipe
# that nothing writes to would otherwise keep the stream forever), and given up on (their buffers
# then stay allocated forever) this long after the cancel.
cdef int64_t _CANCEL_AFTER_NS = 1_000_000_000
cdef int64_t _GIVE_UP_NS = 10_000_000_000

# Buffers of streams whose requests could not be waited for: the kernel may still write into them.
cdef list _leaked = []

RequestError = collections.namedtuple("RequestError", "request op offset res kind latency_ns")
RequestError.__doc__ = (
    "The first request of a stream that failed: its issue number (request), op ('read'/'write'), byte "
    "offset, cqe.res (-errno, or the short byte count), kind ('errno', 'short': fewer than bs "
    "bytes, 'verify': a read whose block stamps are wrong) and latency.")


@cython.final
cdef class LatencyHistogram:
    """Latencies of the requests of a stream (submission to completion, in ns), log-bucketed as
    fio's: a bucket is at most 1/64 of its value wide, and a percentile is the middle of its
    bucket, clamped to the exact minimum and maximum."""
    cdef ioring_lat_hist *h

    def __cinit__(self):
        self.h = <ioring_lat_hist *>calloc(1, sizeof(ioring_lat_hist))
        if self.h == NULL:
            raise MemoryError()

    def __dealloc__(self):
        free(self.h)

    @property
    def count(self):
        """Requests in the histogram."""
        return self.h.count

    @property
    def min_ns(self):
        return self.h.min_ns if self.h.count else None

    @property
    def max_ns(self):
        return self.h.max_ns if self.h.count else None

    @property
    def mean_ns(self):
        return <double>self.h.sum_ns / self.h.count if self.h.count else None

    def percentile(self, double p):
        """The ``p``-th percentile (0 < p <= 100) in ns; None when empty."""
        if not 0 < p <= 100:
            raise ValueError(f"a percentile is in (0, 100], not {p}")
        if not self.h.count:
            return None
        return ioring_lat_hist_percentile(self.h, p)

    def percentiles(self, ps=DEFAULT_PERCENTILES):
        """{p: ns} for each of ``ps``."""
        return {float(p): self.percentile(p) for p in ps}

    def percentiles_us(self, ps=DEFAULT_PERCENTILES):
        """{"p50": µs, "p90": µs, "p99": µs, "p99.9": µs} (fio's names), None values when empty."""
        out = {}
        for p in ps:
            v = self.percentile(p)
            out[f"p{float(p):g}"] = None if v is None else v / 1000.0
        return out

    def buckets(self):
        """The non-empty buckets: a list of (low_ns, high_ns, count), high inclusive."""
        cdef uint64_t width, low
        cdef unsigned i
        out = []
        for i in range(IORING_LAT_BUCKETS):
            if self.h.buckets[i]:
                low = ioring_lat_bucket_low(i, &width)
                out.append((low, low + width - 1, self.h.buckets[i]))
        return out

    def __repr__(self):
        if not self.h.count:
            return "<LatencyHistogram empty>"
        p = self.percentiles_us()
        return (f"<LatencyHistogram n={self.h.count} min={self.h.min_ns / 1e3:.1f}us "
                f"p50={p['p50']:.1f}us p99={p['p99']:.1f}us max={self.h.max_ns / 1e3:.1f}us>")


cdef LatencyHistogram _histogram(const ioring_lat_hist *a, const ioring_lat_hist *b):
    cdef LatencyHistogram h = LatencyHistogram.__new__(LatencyHistogram)
    ioring_lat_hist_merge(h.h, a)
    if b != NULL:
        ioring_lat_hist_merge(h.h, b)
    return h


@cython.final
cdef class StreamRecord:
    """One entry per measured request, in completion order (``record=True``): its issue number,
    byte offset, latency (ns), cqe.res, whether it was a write and its error kind (0: none,
    1: errno, 2: short, 3: verify)."""
    cdef readonly object index
    cdef readonly object offset
    cdef readonly object latency_ns
    cdef readonly object res
    cdef readonly object write
    cdef readonly object error
    cdef readonly bint truncated

    def __len__(self):
        return len(self.index)

    def __repr__(self):
        return f"<StreamRecord {len(self.index)} requests{' (truncated)' if self.truncated else ''}>"


cdef StreamRecord _record(ioring_stream *s):
    cdef StreamRecord r = StreamRecord.__new__(StreamRecord)
    cdef uint64_t i, n = s.nrec
    cdef ioring_stream_record *e
    r.index = array.array("Q", bytes(8 * n))
    r.offset = array.array("Q", bytes(8 * n))
    r.latency_ns = array.array("q", bytes(8 * n))
    r.res = array.array("q", bytes(8 * n))
    r.write = array.array("B", bytes(n))
    r.error = array.array("B", bytes(n))
    cdef uint64_t[::1] index = r.index, offset = r.offset
    cdef int64_t[::1] lat = r.latency_ns, res = r.res
    cdef uint8_t[::1] write = r.write, error = r.error
    for i in range(n):
        e = &s.rec[i]
        index[i] = e.index
        offset[i] = e.offset
        lat[i] = e.lat_ns
        res[i] = e.res
        write[i] = e.op
        error[i] = e.error
    r.truncated = s.rec_truncated
    return r


@cython.final
cdef class StreamResult:
    """What ``Ring.run_stream`` returns. Counts and bytes cover the requests completed after
    the ramp (errors included); ``lat``/``read_lat``/``write_lat`` the latencies of those that
    transferred ``bs`` bytes."""
    cdef readonly str rw
    cdef readonly unsigned bs
    cdef readonly unsigned iodepth
    cdef readonly object ios            # requests completed (after the ramp)
    cdef readonly object reads
    cdef readonly object writes
    cdef readonly object bytes_read
    cdef readonly object bytes_written
    cdef readonly double seconds        # from the end of the ramp to the last completion
    cdef readonly object issued         # requests submitted, ramp included
    cdef readonly str stop              # "done", "error", "interrupted"
    cdef readonly object errors         # failed requests (ramp included)
    cdef readonly dict error_counts     # {"errno": n, "short": n, "verify": n}
    cdef readonly object first_error    # RequestError or None
    cdef readonly LatencyHistogram lat
    cdef readonly LatencyHistogram read_lat
    cdef readonly LatencyHistogram write_lat
    cdef readonly object min_inflight   # test hook: requests in flight at each enter while
    cdef readonly object max_inflight   # the stream was issuing (None: it never was)
    cdef readonly object enters         # io_uring_enter calls (one per round)
    cdef readonly object foreign        # CQEs of the ring that were none of the stream's
    cdef readonly object record         # StreamRecord with record=True, else None
    cdef readonly object buffers        # the stream's own buffers after the run (None: a pool's)
    cdef readonly object slot_offsets   # array('Q'): offset of the last request of each slot
    cdef readonly object slot_writes    # array('B'): whether it was a write

    @property
    def iops(self):
        """Completed requests per second of the measured time."""
        return self.ios / self.seconds if self.seconds > 0 else 0.0

    @property
    def bandwidth(self):
        """Bytes transferred per second of the measured time."""
        return (self.bytes_read + self.bytes_written) / self.seconds if self.seconds > 0 else 0.0

    @property
    def mb_per_sec(self):
        """``bandwidth`` in MB/s (10**6 bytes)."""
        return self.bandwidth / 1e6

    def __repr__(self):
        lat = self.lat.percentiles_us()
        p50 = "-" if lat["p50"] is None else f"{lat['p50']:.1f}"
        p99 = "-" if lat["p99"] is None else f"{lat['p99']:.1f}"
        return (f"<StreamResult {self.rw} bs={self.bs} iodepth={self.iodepth}: {self.ios} ios in "
                f"{self.seconds:.3f} s, {self.iops:.0f} IOPS, {self.mb_per_sec:.1f} MB/s, "
                f"p50={p50}us p99={p99}us, {self.errors} errors, stop={self.stop}>")


@cython.final
cdef class _Poll:
    """The context of the stream's poll callback: the exception a signal handler raised."""
    cdef object exc


cdef int _poll(void *ctx) noexcept nogil:
    with gil:
        return _poll_signals(<_Poll>ctx)


cdef int _poll_signals(_Poll p) noexcept:
    try:
        PyErr_CheckSignals()
    except BaseException as exc:
        p.exc = exc
        return 1
    return 0


cdef class _Pins:
    """Py_buffer exports held while the kernel may use the memory."""
    cdef Py_buffer *views
    cdef Py_ssize_t n, held

    def __cinit__(self, Py_ssize_t n):
        self.views = <Py_buffer *>calloc(n if n > 0 else 1, sizeof(Py_buffer))
        if self.views == NULL:
            raise MemoryError()
        self.n = n

    cdef char *pin(self, object obj) except NULL:
        if self.held == self.n:
            raise IndexError("no room for another pin")
        PyObject_GetBuffer(obj, &self.views[self.held], PyBUF_WRITABLE | PyBUF_ANY_CONTIGUOUS)
        self.held += 1
        return <char *>self.views[self.held - 1].buf

    cdef void release(self):
        cdef Py_ssize_t i
        for i in range(self.held):
            PyBuffer_Release(&self.views[i])
        self.held = 0

    def __dealloc__(self):
        self.release()
        free(self.views)


def rw_mode(str rw, unsigned rwmixread=50):
    """(pattern, read percent) of an ``rw`` mode: the pattern is IORING_STREAM_RANDOM (0) or
    _SEQUENTIAL (1); the percent is 100 for reads only, 0 for writes only, ``rwmixread`` for
    the mixes."""
    if rw not in _RW:
        raise ValueError(f"rw must be one of {', '.join(RW_MODES)}, not {rw!r}")
    pattern, read_percent = _RW[rw]
    if read_percent < 0:
        if rwmixread > 100:
            raise ValueError(f"rwmixread is a percentage (0..100), not {rwmixread}")
        read_percent = rwmixread
    return pattern, read_percent


def file_size(int fd):
    """Bytes of a regular file or a block device (its position is kept); 0 for anything else."""
    st = os.fstat(fd)
    if stat.S_ISREG(st.st_mode):
        return st.st_size
    if stat.S_ISBLK(st.st_mode):
        pos = os.lseek(fd, 0, os.SEEK_CUR)
        try:
            return os.lseek(fd, 0, os.SEEK_END)
        finally:
            os.lseek(fd, pos, os.SEEK_SET)
    return 0


cdef int _fileno(object f) except -1:
    if isinstance(f, int):
        return f
    if hasattr(f, "fileno"):
        return f.fileno()
    raise TypeError(f"fd must be an int or have fileno(), not {type(f).__name__}")


#: iodepth_batch_submit for requests that go to a device. Measured on this machine's virtio disk
#: (O_DIRECT 4 KiB random reads, QD 32, bench/RESULTS.md): 4 and 8 gave fio's IOPS, a whole
#: round per enter 0.85-0.9x. For page-cache reads it costs one enter per 8 requests (~8%).
DEVICE_SUBMIT_BATCH = 8


def _default_submit_batch(fd, bint fixed_file):
    """iodepth_batch_submit when not given: DEVICE_SUBMIT_BATCH for an O_DIRECT file or a block
    device (and for a registered file, which cannot be asked), else 0 (a round per enter)."""
    if fixed_file:
        return DEVICE_SUBMIT_BATCH
    cfd = _fileno(fd)
    try:
        direct = (_fcntl.fcntl(cfd, _fcntl.F_GETFL) & os.O_DIRECT
                  or stat.S_ISBLK(os.fstat(cfd).st_mode))
    except OSError:
        return DEVICE_SUBMIT_BATCH      # the run itself reports a bad fd
    return DEVICE_SUBMIT_BATCH if direct else 0


def run(io_uring uring not None, fd, *, str rw="randread", unsigned bs=4096, unsigned iodepth=32,
        offset=0, size=None, offsets=None, seed=0, count=None, seconds=None, ramp_seconds=0.0,
        unsigned rwmixread=50, buffers=None, fixed_buffers=None, bint fixed_file=False,
        bint verify=False, str on_error="stop", bint record=False, iodepth_batch_submit=None):
    """Run a constant-depth stream on ``uring`` (the engine of ``Ring.run_stream``, which
    documents the arguments) and return its StreamResult."""
    cdef ioring_stream_config cfg
    cdef c.ioring *ring
    cdef uint64_t span
    cdef object offs = None
    memset(&cfg, 0, sizeof(cfg))

    # ---- arguments, before anything reaches the kernel ----
    pattern, read_percent = rw_mode(rw, rwmixread)
    if on_error not in ("stop", "continue"):
        raise ValueError(f"on_error must be 'stop' or 'continue', not {on_error!r}")
    if iodepth_batch_submit is None:
        iodepth_batch_submit = _default_submit_batch(fd, fixed_file)
    if (type(iodepth_batch_submit) is not int or iodepth_batch_submit < 0
            or iodepth_batch_submit > IORING_STREAM_MAX_DEPTH):
        raise ValueError(f"iodepth_batch_submit must be an int 0..{IORING_STREAM_MAX_DEPTH} "
                         f"(0: every refill of a round in one enter), not {iodepth_batch_submit!r}")
    if bs == 0 or bs > (1 << 30):
        raise ValueError(f"bs must be 1..2**30 bytes, not {bs}")
    if iodepth == 0 or iodepth > IORING_STREAM_MAX_DEPTH:
        raise ValueError(f"iodepth must be 1..{IORING_STREAM_MAX_DEPTH}, not {iodepth}")
    cdef int cfd = _fileno(fd)
    if cfd < 0:
        raise ValueError(f"fd must be >= 0, not {cfd}")
    if count is not None and count < 1:
        raise ValueError(f"count must be >= 1, not {count}")
    if seconds is not None and not 0 < seconds <= 1e6:
        raise ValueError(f"seconds must be > 0, not {seconds}")
    if ramp_seconds is None or not 0 <= ramp_seconds <= 1e6:
        raise ValueError(f"ramp_seconds must be >= 0, not {ramp_seconds}")
    if offsets is not None:
        try:
            offs = array.array("Q", offsets)
        except OverflowError:
            raise ValueError("offsets are byte offsets, 0..2**64-1") from None
        except TypeError as exc:
            raise TypeError(f"offsets must be a sequence of ints: {exc}") from None
        if len(offs) == 0:
            raise ValueError("offsets is empty")
        pattern = IORING_STREAM_LIST
        if count is None and seconds is None:
            count = len(offs)
    elif count is None and seconds is None:
        raise ValueError("give a stop: count= (requests) and/or seconds=")
    if offset < 0:
        raise ValueError(f"offset must be >= 0, not {offset}")
    if pattern != IORING_STREAM_LIST:
        if size is None:
            if fixed_file:
                raise ValueError("with fixed_file=True give size= (the fd is a registered index)")
            total = file_size(cfd)
            if total == 0:
                raise ValueError("size= is needed: the fd is not a regular file or a block device "
                                 "with a size")
            if offset >= total:
                raise ValueError(f"offset {offset} is past the end of the file ({total} bytes)")
            span = total - offset
        else:
            if size < 1:
                raise ValueError(f"size must be >= 1, not {size}")
            span = size
        if span < bs:
            raise ValueError(f"the range ({span} bytes) is smaller than one block of bs={bs}")
        cfg.offset = offset
        cfg.nblocks = span // bs
    # The ring is the stream's alone from here to its last completion (door_claim refuses a
    # ring that is closed, a fork child's copy, busy, or not idle).
    ring = uring.door_claim("Ring.run_stream")
    try:
        return _run_claimed(uring, ring, buffers, fixed_buffers, &cfg, offs, cfd, rw, iodepth, bs,
                            read_percent, pattern, seed, count, seconds, ramp_seconds, fixed_file,
                            verify, on_error, record, iodepth_batch_submit)
    finally:
        uring.door_release()


cdef object _run_claimed(io_uring uring, c.ioring *ring, buffers, fixed_buffers,
                         ioring_stream_config *cfg, offs, int cfd, str rw, unsigned iodepth,
                         unsigned bs, unsigned read_percent, int pattern, seed, count,
                         seconds, ramp_seconds, bint fixed_file, bint verify, str on_error,
                         bint record, iodepth_batch_submit):
    cdef ioring_stream *s = NULL
    cdef _Pins pins = None
    cdef _Poll poll = _Poll()
    cdef int ret = 0
    cdef unsigned i, stride
    cdef bint own_registered = False, leaked = False
    cdef char *base
    if iodepth > ring.sq.ring_entries or iodepth > ring.cq.ring_entries:
        raise ValueError(f"iodepth {iodepth} is larger than the ring ({ring.sq.ring_entries} SQ, "
                         f"{ring.cq.ring_entries} CQ entries): create the Ring with "
                         f"entries >= {iodepth}")

    # ---- buffers ----
    mem = None
    if buffers is not None:
        if fixed_buffers is None:
            fixed_buffers = True
        pool_ring = getattr(buffers, "ring", None)
        if not hasattr(buffers, "size") or pool_ring is None or getattr(pool_ring, "uring", None) is not uring:
            raise TypeError("buffers must be a BufferPool registered with this ring")
        if len(buffers) < iodepth:
            raise ValueError(f"the BufferPool has {len(buffers)} buffers, fewer than iodepth {iodepth}")
        if buffers.size < bs:
            raise ValueError(f"the BufferPool's buffers ({buffers.size} bytes) are smaller than bs={bs}")
        stride = buffers.size
        pins = _Pins(iodepth)
        base = pins.pin(buffers[0])
        for i in range(1, iodepth):
            if pins.pin(buffers[i]) != base + <size_t>i * stride:
                raise ValueError("the BufferPool's buffers are not one contiguous array")
        if fixed_buffers:
            for i in range(iodepth):
                uring.door_check_fixed(base + <size_t>i * stride, bs, i)
    else:
        if fixed_buffers is None:
            fixed_buffers = False
        if fixed_buffers and uring.door_registered_count() >= 0:
            raise ValueError("the ring already has registered buffers: pass the BufferPool "
                             "(buffers=pool), or fixed_buffers=False")
        stride = (bs + 4095) & ~4095u              # page aligned: O_DIRECT-ready
        mem = mmap.mmap(-1, <size_t>stride * iodepth)
        pins = _Pins(1)
        base = pins.pin(mem)
        if fixed_buffers:
            # Registered for the stream's run only (unregistered before door_release).
            ret = ioring_stream_register_buffers(ring, <unsigned char *>base, stride, iodepth, bs)
            if ret < 0:
                pins.release()
                raise OSError(-ret, f"io_uring_register_buffers: {os.strerror(-ret)}")
            own_registered = True

    # ---- the stream ----
    cfg.fd = cfd
    cfg.depth = iodepth
    cfg.bs = bs
    cfg.read_percent = read_percent
    cfg.pattern = pattern
    if offs is not None:
        cfg.offsets = <const uint64_t *><size_t>offs.buffer_info()[0]
        cfg.noffsets = len(offs)
    cfg.seed = <uint64_t>(seed & 0xFFFFFFFFFFFFFFFF)
    cfg.max_ios = count if count is not None else 0
    cfg.ramp_ns = <int64_t>(<double>ramp_seconds * 1e9)
    cfg.run_ns = <int64_t>(<double>seconds * 1e9) if seconds is not None else 0
    if seconds is not None and cfg.run_ns < 1:
        cfg.run_ns = 1
    cfg.bufs = <unsigned char *>base
    cfg.buf_stride = stride
    cfg.buf_index = 0
    cfg.flags = ((IORING_STREAM_FIXED_FILE if fixed_file else 0) |
                 (IORING_STREAM_FIXED_BUFFERS if fixed_buffers else 0) |
                 (IORING_STREAM_VERIFY if verify else 0) |
                 (IORING_STREAM_CONTINUE_ON_ERROR if on_error == "continue" else 0) |
                 (IORING_STREAM_RECORD if record else 0))
    cfg.poll = _poll
    cfg.poll_ctx = <void *>poll
    cfg.poll_ns = _POLL_NS
    cfg.wait_timeout_ns = _WAIT_BOUND_NS
    cfg.cancel_after_ns = _CANCEL_AFTER_NS
    cfg.give_up_ns = _GIVE_UP_NS
    cfg.submit_batch = iodepth_batch_submit
    s = <ioring_stream *>calloc(1, sizeof(ioring_stream))
    if s == NULL:
        if own_registered:
            c.ioring_unregister_buffers(ring)
        raise MemoryError()
    try:
        ret = ioring_stream_init(s, ring, cfg)
        if ret < 0:
            raise MemoryError() if ret == -_errno.ENOMEM else ValueError("invalid stream configuration")
        with nogil:
            ret = ioring_stream_run(s)
        leaked = s.leaked
        if leaked:
            # The kernel may still write into these buffers: they are never released.
            _leaked.append((pins, mem, buffers))
            pins = None
        elif own_registered:
            c.ioring_unregister_buffers(ring)
            own_registered = False
        if poll.exc is not None:
            raise poll.exc
        if ret < 0:
            raise OSError(-ret, f"io_uring_enter: {os.strerror(-ret)}"
                          + (" (requests still in flight: their buffers are kept alive)" if leaked else ""))
        if leaked:
            raise RuntimeError("requests were still in flight 10 s after they were cancelled: their "
                               "buffers are kept alive")
        return _result(s, rw, mem)
    finally:
        if own_registered and not leaked:
            c.ioring_unregister_buffers(ring)
        if pins is not None:
            pins.release()
        ioring_stream_free(s)
        free(s)


cdef StreamResult _result(ioring_stream *s, str rw, object mem):
    cdef StreamResult r = StreamResult.__new__(StreamResult)
    cdef ioring_stream_record *e = &s.first_error
    cdef unsigned i, depth = s.cfg.depth
    r.rw = rw
    r.bs = s.cfg.bs
    r.iodepth = depth
    r.ios = s.totals.ios
    r.reads = s.totals.ops[IORING_STREAM_OP_READ]
    r.writes = s.totals.ops[IORING_STREAM_OP_WRITE]
    r.bytes_read = s.totals.bytes[IORING_STREAM_OP_READ]
    r.bytes_written = s.totals.bytes[IORING_STREAM_OP_WRITE]
    r.seconds = ioring_stream_elapsed_ns(s) / 1e9
    r.issued = s.issued
    r.stop = _STOP.get(s.stop_reason, "done")
    r.error_counts = {_KIND[k]: s.errors[k] for k in (IORING_STREAM_ERR_ERRNO, IORING_STREAM_ERR_SHORT,
                                                        IORING_STREAM_ERR_VERIFY)}
    r.errors = sum(r.error_counts.values())
    r.first_error = None
    if s.has_error:
        r.first_error = RequestError(e.index, "write" if e.op == IORING_STREAM_OP_WRITE else "read",
                                     e.offset, e.res, _KIND.get(e.error, "errno"), e.lat_ns)
    r.lat = _histogram(&s.totals.lat[0], &s.totals.lat[1])
    r.read_lat = _histogram(&s.totals.lat[IORING_STREAM_OP_READ], NULL)
    r.write_lat = _histogram(&s.totals.lat[IORING_STREAM_OP_WRITE], NULL)
    r.min_inflight = s.min_inflight if s.steady_rounds else None
    r.max_inflight = s.max_inflight if s.steady_rounds else None
    r.enters = s.enters
    r.foreign = s.foreign
    r.record = _record(s) if s.cfg.flags & IORING_STREAM_RECORD else None
    r.slot_offsets = array.array("Q", [s.slots[i].offset for i in range(depth)])
    r.slot_writes = array.array("B", [s.slots[i].op for i in range(depth)])
    if mem is not None:
        view = memoryview(mem)
        stride = s.cfg.buf_stride
        r.buffers = [view[i * stride:i * stride + s.cfg.bs] for i in range(depth)]
    else:
        r.buffers = None
    return r
