# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""C reference loops for ``python -m ioring bench``: the benchmark workloads written in C over
the ring core (include/ioring/), run with the GIL released. They are the "physical limit" every
Python-level figure is divided by, measured in the same process and the same run.

The timed loop, its warm-up and its clock, and the steps are those of the C reference programs
``bench/c/bench_nop.c`` and ``bench/c/bench_read.c``: one source, include/ioring/step_loop.h
(``ioring_step_timed``: a warm-up of a tenth of the time, at most 0.2 s, CLOCK_MONOTONIC read
every 16 steps; ``ioring_nop_step``, ``ioring_rw_step``). Each loop runs on a ring of the thin
layer (``ioring.liburing.io_uring``) that it holds through the door (``door_claim``) while it
drives it from C, and tears down with ``door_exit``:

* ``nop(batch, seconds)``: each step prepares ``batch`` NOPs (get_sqe, prep_nop, user_data),
  submits them and waits for all of them with one io_uring_enter, then reaps them with
  peek_batch_cqe + cq_advance, checking every user_data and res.
* ``read(fd, qd, seconds)`` / ``write(fd, qd, seconds)``: ``qd`` 4 KiB requests in flight at
  uniformly random 4 KiB blocks of the file (xorshift64*); each step is one
  submit_and_wait(1), then every available CQE is checked (res == 4096; for reads, the block
  number stamped in the first 8 bytes of the block) and its slot gets a new request. Buffers are
  page aligned, so an fd opened with O_DIRECT works. ``fixed_buffers`` registers the ``qd``
  buffers (READ_FIXED / WRITE_FIXED), ``fixed_files`` registers the fd (IOSQE_FIXED_FILE).
  Writes stamp the block number into the buffer first, so a file stays readable with checks.

Every function returns ``(ops, seconds)``: completions checked during the measured time and the
measured wall time. A wrong completion raises RuntimeError (a benchmark that "goes fast" by
losing completions fails instead); a ring the kernel refuses raises OSError.

File format expected by ``read(..., verify=True)``: block ``b`` (4096 bytes at offset
``b * 4096``) starts with ``b`` as a little-endian uint64 (``ioring.bench.make_file`` writes it).
"""
cdef extern from *:
    """
    /* The reference loops run without the GIL from start to end, so the core must not drop
     * and retake it around io_uring_enter as it does for the other extensions (ioring/python.h
     * defines these hooks as Py_BEGIN/END_ALLOW_THREADS). step_loop.h includes the core
     * first, with the hooks empty; ioring/python.h, included after this block through
     * ioring/includes/ring.pxd, then finds the core already compiled. */
    #define IORING_BLOCKING_BEGIN
    #define IORING_BLOCKING_END
    #include "ioring/step_loop.h"
    #undef IORING_BLOCKING_BEGIN
    #undef IORING_BLOCKING_END
    """

from libc.stdint cimport uint64_t
from ioring.includes cimport core as c

from ioring.includes.step_loop cimport (
    ioring_step_result, ioring_step_fn, ioring_nop_loop, ioring_rw_loop, ioring_step_timed,
    ioring_nop_step, ioring_rw_queue, ioring_rw_step, ioring_rw_drain, IORING_STEP_BS)

from ioring.includes.constants cimport _c_IOSQE_FIXED_FILE as IOSQE_FIXED_FILE
from ioring.includes.libc_extra cimport htole64, le64toh
from posix.stdlib cimport posix_memalign

from libc.stdlib cimport calloc, free
from libc.string cimport memset, strerror
from libc.stdio cimport snprintf
from posix.stat cimport struct_stat, fstat
from posix.uio cimport iovec
from libc.errno cimport errno

from ioring.liburing cimport io_uring

from ioring import liburing as _L

#: Size of one read or write of the read/write loops.
BLOCK_SIZE = 4096
cdef enum:
    _BS = IORING_STEP_BS
    _MAX = 4096         # largest batch / queue depth (as the C programs)
    _ERRLEN = 256


cdef io_uring _new_ring(unsigned entries, unsigned flags, str what):
    """A ring of the thin layer, for a loop to claim through its door (door_claim); OSError
    saying ``what`` when the kernel refuses it."""
    uring = _L.io_uring()
    try:
        _L.io_uring_queue_init(entries, uring, flags)
    except OSError as exc:
        raise OSError(exc.errno, f"{what}: {strerror(exc.errno).decode()}") from None
    return uring


# ---- NOP round trips --------------------------------------------------------------------------

def nop(unsigned batch, double seconds, *, unsigned setup_flags=0):
    """NOP round trips in batches of ``batch`` for ``seconds`` (after a warm-up); returns
    ``(ops, seconds)``. ``setup_flags`` are IORING_SETUP_* flags for the ring (e.g.
    SINGLE_ISSUER | DEFER_TASKRUN). The ring has ``batch`` SQ entries, as in bench_nop.c; the
    step is ioring_nop_step (include/ioring/step_loop.h)."""
    cdef ioring_nop_loop *x
    cdef ioring_step_result r
    cdef io_uring uring
    cdef int status = 0
    memset(&r, 0, sizeof(r))
    _check_args(batch, seconds, "batch")
    x = <ioring_nop_loop *>calloc(1, sizeof(ioring_nop_loop))
    if x == NULL:
        raise MemoryError()
    try:
        x.cqes = <c.io_uring_cqe **>calloc(batch, sizeof(c.io_uring_cqe *))
        if x.cqes == NULL:
            raise MemoryError()
        x.batch = batch
        uring = _new_ring(batch, setup_flags,
                          f"io_uring_queue_init_params({batch}, flags={setup_flags:#x})")
        try:
            x.ring = uring.door_claim("ioring._bench.nop")
            try:
                with nogil:
                    status = ioring_step_timed(seconds, ioring_nop_step, x, &r)
            finally:
                uring.door_release()
        finally:
            uring.door_exit()
        if status < 0:
            raise RuntimeError(f"nop batch={batch}: {x.err.decode(errors='replace')}")
        return r.ops, r.seconds
    finally:
        free(x.cqes)
        free(x)


# ---- 4 KiB random reads and writes, QD in flight ----------------------------------------------

cdef int _run_rw(ioring_rw_loop *x, double seconds, ioring_step_result *r,
                 int *setup_err) noexcept nogil:
    """On the claimed ring: registrations, the first qd requests, the timed loop, the drain.
    Returns 0, or -1 with x.err set; *setup_err gets the -errno of a failed register. When
    the drain fails (the ring cannot wait), x.bufs becomes NULL: the kernel may still use them."""
    cdef unsigned s, queued = 0
    cdef int ret, status = 0
    cdef iovec *iov
    if x.fixed_buffers:
        iov = <iovec *>calloc(x.qd, sizeof(iovec))
        if iov == NULL:
            snprintf(x.err, _ERRLEN, "out of memory")
            return -1
        for s in range(x.qd):
            iov[s].iov_base = x.bufs + <size_t>s * _BS
            iov[s].iov_len = _BS
        ret = c.ioring_register_buffers(x.ring, iov, x.qd)
        free(iov)
        if ret < 0:
            setup_err[0] = ret
            snprintf(x.err, _ERRLEN, "io_uring_register_buffers: %s", strerror(-ret))
            return -1
    if x.sqe_flags:
        ret = c.ioring_register_files(x.ring, &x.fd, 1)
        if ret < 0:
            setup_err[0] = ret
            snprintf(x.err, _ERRLEN, "io_uring_register_files: %s", strerror(-ret))
            return -1
        x.fd = 0
    for s in range(x.qd):
        if ioring_rw_queue(x, s) < 0:
            status = -1
            break
        queued += 1
    if status == 0 and ioring_step_timed(seconds, ioring_rw_step, x, r) < 0:
        status = -1
    # Whatever happened, nothing may be in flight when the buffers are freed.
    if queued and ioring_rw_drain(x, queued) < 0:
        x.bufs = NULL           # the ring is broken: leave the buffers to the kernel
    return status


cdef object _rw(bint write, int fd, unsigned qd, double seconds, bint fixed_buffers,
                bint fixed_files, bint verify, unsigned long long nblocks):
    cdef ioring_rw_loop *x
    cdef ioring_step_result r
    cdef struct_stat st
    cdef io_uring uring
    cdef void *mem = NULL
    cdef int status = 0, setup_err = 0
    memset(&r, 0, sizeof(r))
    _check_args(qd, seconds, "qd")
    if fd < 0:
        raise ValueError("fd must be >= 0")
    if nblocks == 0:
        if fstat(fd, &st) < 0:
            raise OSError(errno, strerror(errno).decode())
        nblocks = <unsigned long long>st.st_size // _BS
        if nblocks == 0:
            raise ValueError("the file is smaller than one 4 KiB block")
    op = "write" if write else "read"
    x = <ioring_rw_loop *>calloc(1, sizeof(ioring_rw_loop))
    if x == NULL:
        raise MemoryError()
    try:
        x.block = <uint64_t *>calloc(qd, sizeof(uint64_t))
        x.cqes = <c.io_uring_cqe **>calloc(qd, sizeof(c.io_uring_cqe *))
        if x.block == NULL or x.cqes == NULL or posix_memalign(&mem, _BS, <size_t>qd * _BS) != 0:
            raise MemoryError()
        x.bufs = <unsigned char *>mem
        memset(x.bufs, 0, <size_t>qd * _BS)
        x.fd = fd
        x.qd = qd
        x.write = write
        x.fixed_buffers = fixed_buffers
        x.verify = verify
        x.sqe_flags = IOSQE_FIXED_FILE if fixed_files else 0
        x.nblocks = nblocks
        x.rng = 0x9e3779b97f4a7c15ULL ^ qd
        uring = _new_ring(qd, 0, f"{op} qd={qd}: io_uring_queue_init({qd})")
        try:
            x.ring = uring.door_claim(f"ioring._bench.{op}")
            try:
                with nogil:
                    status = _run_rw(x, seconds, &r, &setup_err)
            finally:
                uring.door_release()
        finally:
            uring.door_exit()
        if x.bufs == NULL:
            mem = NULL          # still owned by requests the ring could not wait for
        if status < 0:
            what = f"{op} qd={qd}: {x.err.decode(errors='replace')}"
            if setup_err:
                raise OSError(-setup_err, what)
            raise RuntimeError(what)
        return r.ops, r.seconds
    finally:
        free(mem)
        free(x.block)
        free(x.cqes)
        free(x)


def read(int fd, unsigned qd, double seconds, *, bint fixed_buffers=False, bint fixed_files=False,
         bint verify=True, unsigned long long nblocks=0):
    """4 KiB reads at random 4 KiB blocks of ``fd`` (the first ``nblocks`` blocks, default the
    whole file), ``qd`` in flight, for ``seconds`` after a warm-up; returns ``(ops, seconds)``.

    ``fixed_buffers``: registered buffers (READ_FIXED). ``fixed_files``: the fd is registered
    and used by index (IOSQE_FIXED_FILE). ``verify``: check the block number stamped at the
    start of each block (a file written by ``ioring.bench.make_file``). The buffers are page
    aligned, so ``fd`` may be opened with O_DIRECT."""
    return _rw(False, fd, qd, seconds, fixed_buffers, fixed_files, verify, nblocks)


def write(int fd, unsigned qd, double seconds, *, bint fixed_buffers=False, bint fixed_files=False,
          unsigned long long nblocks=0):
    """4 KiB writes at random 4 KiB blocks of ``fd``, ``qd`` in flight, for ``seconds`` after a
    warm-up; returns ``(ops, seconds)``. Each block written starts with its block number (the
    ``make_file`` format), so the file stays valid for ``read(..., verify=True)``. Options as
    ``read``; ``fd`` must be open for writing (O_DIRECT works)."""
    return _rw(True, fd, qd, seconds, fixed_buffers, fixed_files, False, nblocks)


cdef int _check_args(unsigned n, double seconds, str what) except -1:
    if n < 1 or n > _MAX:
        raise ValueError(f"{what} must be 1..{_MAX}, not {n}")
    if not (seconds > 0 and seconds <= 3600):
        raise ValueError(f"seconds must be in (0, 3600], not {seconds}")
    return 0


# ---- storage workloads: the constant-depth stream, in C ----------------------------------------

from ioring.includes cimport stream as st


def storage(int fd, str rw, unsigned bs, unsigned qd, double seconds, *, size=None,
            unsigned long long offset=0, unsigned rwmixread=50, bint fixed=False,
            unsigned setup_flags=0, double ramp_seconds=0.0, seed=0, bint verify=False,
            unsigned submit_batch=8):
    """The C reference of the storage workloads (``python -m ioring bench randread`` ...): the
    loop of ``Ring.run_stream`` (include/ioring/stream.h) on a ring of ``qd`` entries created
    with ``setup_flags`` (the thin layer's, claimed through its door), the GIL released from
    the registrations to the end of the stream, no signal polling and unbounded waits. ``rw``
    as run_stream's (``rwmixread`` for the mixes), ``qd`` requests of ``bs`` bytes in flight over ``size`` bytes of ``fd`` from ``offset``
    (default: to the end of the file), for ``seconds`` after ``ramp_seconds``; ``fixed``:
    registered buffers and the fd registered. The buffers are page aligned (O_DIRECT works).
    ``submit_batch``: at most that many requests per io_uring_enter (run_stream's
    ``iodepth_batch_submit``; 0: a round's refills in one enter).

    Returns a dict: ``ops`` (requests completed after the ramp), ``seconds``, ``bytes``,
    ``errors``, ``first_error`` (``(index, offset, res)`` or None), ``enters`` and ``lat_ns``
    ({percentile: ns} for 50, 90, 99, 99.9). Raises OSError when the ring or a registration is
    refused."""
    from ioring._stream import DEFAULT_PERCENTILES, file_size, rw_mode
    cdef st.ioring_stream_config cfg
    cdef st.ioring_stream *s = NULL
    cdef st.ioring_lat_hist *h = NULL
    cdef c.ioring *ring
    cdef io_uring uring
    cdef void *mem = NULL
    cdef size_t stride
    cdef int ret = 0, setup_err = 0, what = 0
    cdef bint leaked = False
    pattern, read_percent = rw_mode(rw, rwmixread)
    _check_args(qd, seconds, "qd")
    if bs == 0 or bs > (1 << 30):
        raise ValueError(f"bs must be 1..2**30, not {bs}")
    if size is None:
        size = file_size(fd) - offset
    if size < bs:
        raise ValueError(f"the range ({size} bytes) is smaller than one block of bs={bs}")
    stride = (bs + 4095) & ~(<size_t>4095)
    memset(&cfg, 0, sizeof(cfg))
    cfg.fd = fd
    cfg.depth = qd
    cfg.submit_batch = submit_batch
    cfg.bs = bs
    cfg.read_percent = read_percent
    cfg.pattern = pattern
    cfg.offset = offset
    cfg.nblocks = size // bs
    cfg.seed = <uint64_t>(seed & 0xFFFFFFFFFFFFFFFF)
    cfg.ramp_ns = <long long>(ramp_seconds * 1e9)
    cfg.run_ns = <long long>(seconds * 1e9)
    cfg.buf_stride = stride
    cfg.flags = ((st.IORING_STREAM_FIXED_FILE | st.IORING_STREAM_FIXED_BUFFERS if fixed else 0)
                 | (st.IORING_STREAM_VERIFY if verify else 0))
    s = <st.ioring_stream *>calloc(1, sizeof(st.ioring_stream))
    h = <st.ioring_lat_hist *>calloc(1, sizeof(st.ioring_lat_hist))
    if s == NULL or h == NULL or posix_memalign(&mem, 4096, stride * qd) != 0:
        free(s)
        free(h)
        raise MemoryError()
    memset(mem, 0, stride * qd)
    cfg.bufs = <unsigned char *>mem
    try:
        uring = _new_ring(qd, setup_flags, f"io_uring_queue_init_params({qd}, flags={setup_flags:#x})")
        try:
            ring = uring.door_claim("ioring._bench.storage")
            try:
                with nogil:
                    if fixed:
                        ret = st.ioring_stream_register_buffers(ring, <unsigned char *>mem, stride, qd, bs)
                        if ret < 0:
                            setup_err, what = ret, 2
                        else:
                            ret = c.ioring_register_files(ring, &cfg.fd, 1)
                            if ret < 0:
                                setup_err, what = ret, 3
                            cfg.fd = 0
                    if setup_err == 0:
                        ret = st.ioring_stream_init(s, ring, &cfg)
                        if ret < 0:
                            setup_err, what = ret, 4
                        else:
                            ret = st.ioring_stream_run(s)
                            leaked = s.leaked
                            st.ioring_lat_hist_merge(h, &s.totals.lat[0])
                            st.ioring_lat_hist_merge(h, &s.totals.lat[1])
            finally:
                uring.door_release()
        finally:
            uring.door_exit()
        if setup_err:
            step = {2: "io_uring_register_buffers", 3: "io_uring_register_files",
                    4: "the stream's setup"}[what]
            raise OSError(-setup_err, f"{step}: {strerror(-setup_err).decode()}")
        if ret < 0:
            raise OSError(-ret, f"io_uring_enter: {strerror(-ret).decode()}")
        e = s.first_error
        return {"ops": s.totals.ios, "seconds": st.ioring_stream_elapsed_ns(s) / 1e9,
                "bytes": s.totals.bytes[0] + s.totals.bytes[1],
                "errors": s.errors[1] + s.errors[2] + s.errors[3],
                "first_error": (e.index, e.offset, e.res) if s.has_error else None,
                "enters": s.enters,
                "lat_ns": {float(q): (st.ioring_lat_hist_percentile(h, q) if h.count else None)
                           for q in DEFAULT_PERCENTILES}}
    finally:
        st.ioring_stream_free(s)
        free(s)
        free(h)
        if not leaked:
            free(mem)
