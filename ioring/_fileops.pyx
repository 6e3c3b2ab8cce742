# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, autotestdict=False, auto_pickle=False
"""C-level batch entry points of ``ioring.files``: one call into C for a whole set of files,
the GIL released for the whole I/O loop.

``read_chains`` is the engine of ``ioring.files.read_files``: one chain ``openat_direct ->
read`` per file, opens and reads of cached files completing inline in io_uring_enter.

``write_pipelined`` is the engine of ``ioring.files.write_files``. It splits the work of a file
between two CPUs: the calling thread opens (creates) the file with a plain ``openat`` and
queues its data write (``IOSQE_ASYNC``, optionally hard-linked to an fsync), which an io-wq
worker runs while the thread creates the next files; the thread closes each fd once its
write's completion arrives. Why not all of it through io_uring: the kernel runs every
``O_CREAT`` open on an io-wq worker whatever is asked (the non-blocking attempt refuses
O_CREAT), and on ext4/tmpfs a buffered write cannot complete inline either, so a chain
``openat -> write -> close`` costs two or three worker hand-offs per file (~1.3 us each here)
for no parallelism the split does not already give (bench/RESULTS.md).

Nothing of the loop touches a Python object: paths are held as ``bytes`` and data as
``Py_buffer`` exports for the whole call, and the call returns only after every request has
completed, so no buffer is released while the kernel may use it.

Signals: the loops run Python's signal handlers between rounds (``write_pipelined`` and
``write_plain`` take the GIL for that at most every 10 ms, or at once when a wait returned
EINTR; waits last at most 50 ms, so a handler run by another thread is seen too). When a
handler raises (KeyboardInterrupt), no new file is started, the requests in flight are
cancelled (IORING_ASYNC_CANCEL_ANY, which also interrupts an open or write blocked on a FIFO)
and reaped, and the exception propagates: nothing is left open or pinned. ``write_pipelined``
removes each file it was writing whose requests did not all succeed, so every file is
complete, absent, or untouched (not reached); ``write_plain`` finishes the file it is writing.
"""
from ioring.includes cimport nogil as _nogil_core  # first: the core without its GIL hooks
from ioring.includes.constants cimport (_c_IOSQE_IO_LINK as IOSQE_IO_LINK,
                                        _c_IOSQE_IO_HARDLINK as IOSQE_IO_HARDLINK,
                                        _c_IOSQE_FIXED_FILE as IOSQE_FIXED_FILE,
                                        _c_IOSQE_ASYNC as IOSQE_ASYNC,
                                        _c_IORING_SETUP_COOP_TASKRUN as IORING_SETUP_COOP_TASKRUN,
                                        _c_IORING_FEAT_LINKED_FILE as IORING_FEAT_LINKED_FILE,
                                        _c_IORING_FEAT_EXT_ARG as IORING_FEAT_EXT_ARG,
                                        _c_IORING_ASYNC_CANCEL_ANY as IORING_ASYNC_CANCEL_ANY)
from ioring.includes.cpython_extra cimport _run_signal_handlers
from libc.errno cimport errno, EINTR, EAGAIN, EBUSY, EINVAL, EIO, ENOMEM, EMFILE, ENFILE, ETIME
from ioring.includes.libc_extra cimport ECANCELED, unlinkat, aligned_alloc, syscall, SYS_openat2
from posix.fcntl cimport openat, O_RDONLY, O_CLOEXEC
from posix.unistd cimport write as c_write, close as c_close, fsync as c_fsync

cimport cython
from libc.stdint cimport uint64_t
from posix.fcntl cimport AT_SYMLINK_NOFOLLOW
from posix.stat cimport struct_stat, fstat, fstatat, S_ISREG
from posix.time cimport clock_gettime, timespec, CLOCK_MONOTONIC
from libc.stdlib cimport calloc, free
from cpython.ref cimport Py_INCREF
from cpython.exc cimport PyErr_Occurred
from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_SIMPLE
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.list cimport PyList_SET_ITEM

from ioring.includes cimport core as c
from ioring.liburing cimport io_uring

from ioring import liburing as _L

cdef enum:
    _OPEN = 0
    _WRITE = 1
    _FSYNC = 2
    _CLOSE = 3
    _FINAL = 4          # user_data: the last request of the file (close its fd)
    _LAST_PIECE = 8     # user_data: the last write of a datum written in pieces
    _JOB_SHIFT = 4      # user_data: job index << 4 | _LAST_PIECE | _FINAL | kind
    _MAX_SLOTS = 4096
    _MAX_LEN = 1 << 30

_KIND_NAMES = ("open", "write", "fsync", "close")


cdef tuple _checked_paths(paths):
    """``paths`` as a tuple of ``bytes`` without NUL (what the kernel reads as C strings)."""
    if isinstance(paths, (str, bytes, bytearray)):
        raise TypeError(f"paths must be a sequence of bytes paths, not a single "
                        f"{type(paths).__name__}: pass [path]")
    cdef tuple ps = tuple(paths)
    for p in ps:
        if type(p) is not bytes:
            raise TypeError(f"paths must be bytes, not {type(p).__name__}")
        if b"\0" in <bytes>p:
            raise ValueError("embedded null byte in path")
    return ps


# ---- signals: run Python's handlers between rounds of the C loops ---------------------------------

cdef enum:
    _INTERRUPTED = 1                    # _run's result: a signal handler raised (exception set)
    _SIGNAL_EVERY_NS = 10000000         # write_pipelined takes the GIL for handlers every 10 ms
    _WAIT_NS = 50000000                 # longest wait in io_uring_enter between two checks

# user_data of the IORING_ASYNC_CANCEL_ANY request an interrupted loop submits
cdef uint64_t _CANCEL_UD = <uint64_t>-1


cdef inline long long _now_ns() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return <long long>ts.tv_sec * 1000000000LL + ts.tv_nsec


cdef bint _signal_raised(long long *next_check, bint now) noexcept nogil:
    """From a loop without the GIL: run Python's signal handlers when ``now`` (a wait returned
    EINTR) or when ``*next_check`` has passed. True when a handler raised: its exception is
    left set for the caller to raise (_raise_pending) once nothing is in flight."""
    cdef long long t = _now_ns()
    cdef int r
    if not now and t < next_check[0]:
        return False
    next_check[0] = t + _SIGNAL_EVERY_NS
    with gil:
        r = _run_signal_handlers()
    return r < 0


cdef int _raise_pending() except -1:
    """Propagate the exception a signal handler left set (see _signal_raised)."""
    return -1


cdef int _wait_round(c.ioring *ring) noexcept nogil:
    """Submit what is queued and wait for a completion, at most _WAIT_NS (so that signal
    handlers run in time even when the signal interrupted another thread). Returns the core's
    result: >= 0, or -ETIME/-EINTR/-EAGAIN/-EBUSY (transient), or another -errno."""
    cdef c.ioring_kernel_timespec ts
    cdef c.io_uring_cqe *cqe
    if not ring.features & IORING_FEAT_EXT_ARG:     # before 5.11: no timed wait
        return c.ioring_submit_and_wait(ring, 1)
    ts.tv_sec = 0
    ts.tv_nsec = _WAIT_NS
    return c.ioring_wait_cqes_timeout(ring, &cqe, c.ioring_flush_sq(ring), 1, &ts, NULL)


cdef inline bint _transient(int ret) noexcept nogil:
    return ret >= 0 or ret == -EINTR or ret == -ETIME or ret == -EAGAIN or ret == -EBUSY


cdef int _queue_cancel_all(c.ioring *ring) noexcept nogil:
    """Queue an IORING_ASYNC_CANCEL_ANY request (5.19; before, it fails with EINVAL and the
    caller simply waits for what is in flight)."""
    cdef c.io_uring_sqe *sqe
    if c.ioring_sq_space_left(ring) < 1:
        c.ioring_submit(ring)
    sqe = c.ioring_get_sqe(ring)
    if sqe == NULL:
        return -EBUSY
    c.ioring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY)
    sqe.user_data = _CANCEL_UD
    return 0


ctypedef struct _Job:
    const char *path
    char *buf
    unsigned len
    int fd              # while its requests are in flight
    int err             # first errno of the file, 0 if none
    int kind            # the step that failed (_OPEN, _WRITE, _FSYNC, _CLOSE)


@cython.final
cdef class _Jobs:
    """The files of one call as C jobs: paths held as ``bytes``, data as ``Py_buffer`` exports
    (released when this object goes, unless ``leak()`` was called because the kernel may still
    use them)."""
    cdef tuple paths
    cdef tuple datas
    cdef _Job *jobs
    cdef Py_buffer *views
    cdef Py_ssize_t n, exported
    cdef bint leaked

    def __cinit__(self, paths, datas):
        cdef Py_ssize_t i
        self.paths = _checked_paths(paths)
        if isinstance(datas, (str, bytes, bytearray, memoryview)):
            raise TypeError(f"datas must be a sequence of buffers (one per path), not a single "
                            f"{type(datas).__name__}")
        self.datas = tuple(datas)
        self.n = len(self.paths)
        if len(self.datas) != self.n:
            raise ValueError("paths and datas differ in length")
        self.jobs = <_Job *>calloc(self.n + 1, sizeof(_Job))
        self.views = <Py_buffer *>calloc(self.n + 1, sizeof(Py_buffer))
        if self.jobs == NULL or self.views == NULL:
            raise MemoryError()
        for i in range(self.n):
            PyObject_GetBuffer(self.datas[i], &self.views[i], PyBUF_SIMPLE)
            self.exported = i + 1
            if self.views[i].len > _MAX_LEN:
                raise ValueError(f"datum {i} is larger than 1 GiB")
            self.jobs[i].path = PyBytes_AS_STRING(self.paths[i])
            self.jobs[i].buf = <char *>self.views[i].buf
            self.jobs[i].len = <unsigned>self.views[i].len

    cdef void leak(self) noexcept:
        """Keep everything forever: the kernel may still read the paths and buffers."""
        self.leaked = True
        Py_INCREF(self)

    cdef list failures(self):
        """``(index, errno, request)`` for every file that failed."""
        return [(i, self.jobs[i].err, _KIND_NAMES[self.jobs[i].kind])
                for i in range(self.n) if self.jobs[i].err]

    def __dealloc__(self):
        cdef Py_ssize_t i
        if self.leaked:
            return
        for i in range(self.exported):
            PyBuffer_Release(&self.views[i])
        free(self.views)
        free(self.jobs)


cdef int _check_slots(unsigned slots) except -1:
    if not 1 <= slots <= _MAX_SLOTS:
        raise ValueError(f"slots must be in 1..{_MAX_SLOTS}")
    return 0


# ---- the engines' rings: the thin layer's, held through its door -------------------------------

# Rings of engines that gave up on requests still in flight: kept claimed and open forever (the
# kernel may still use their paths and buffers, which the engines keep too).
cdef list _leaked_rings = []


cdef io_uring _engine_ring(unsigned entries, str name, c.ioring **ring):
    """A ring of the thin layer for one engine, claimed by ``name`` through the door: the engine
    drives its C struct (``*ring``) directly, with the GIL released, until _engine_done. COOP_TASKRUN
    (no IPI for task work) where the kernel has it (5.19). OSError when the kernel refuses a
    ring (ENOSYS/EPERM: io_uring unavailable)."""
    cdef io_uring uring = _L.io_uring()
    try:
        try:
            _L.io_uring_queue_init(entries, uring, IORING_SETUP_COOP_TASKRUN)
        except OSError as exc:
            if exc.errno != EINVAL:
                raise
            _L.io_uring_queue_init(entries, uring, 0)
    except OSError as exc:
        raise OSError(exc.errno, "io_uring_queue_init failed") from None
    ring[0] = uring.door_claim(name)
    return uring


cdef int _engine_done(io_uring uring, bint in_flight) except -1:
    """The end of an engine's ring: released and torn down through the door; or, when requests
    may still be in flight (the engine could not wait for them), kept claimed and open forever."""
    if in_flight:
        _leaked_rings.append(uring)
        return 0
    uring.door_release()
    uring.door_exit()
    return 0


cdef inline int _open_now(int dir_fd, const char *path, int oflags, unsigned mode,
                          c.ioring_open_how *how) noexcept nogil:
    """openat(2), or openat2(2) when ``how`` is given, on the calling thread: an fd or -errno."""
    cdef int f
    if how != NULL:
        f = <int>syscall(SYS_openat2, dir_fd, path, how, sizeof(c.ioring_open_how))
    else:
        f = openat(dir_fd, path, oflags, mode)
    return f if f >= 0 else -errno


cdef inline void _fail(_Job *jb, int err, int kind) noexcept nogil:
    if jb.err == 0:
        jb.err = err
        jb.kind = kind


cdef void _remove_own(int dir_fd, const char *path, int fd) noexcept nogil:
    """Unlink ``path`` if it still names the regular file open as ``fd`` (the file this call
    created or truncated; never a device or a FIFO, nor a file put in its place meanwhile)."""
    cdef struct_stat mine, named
    if fstat(fd, &mine) == 0 and S_ISREG(mine.st_mode) and \
            fstatat(dir_fd, path, &named, AT_SYMLINK_NOFOLLOW) == 0 and \
            mine.st_dev == named.st_dev and mine.st_ino == named.st_ino:
        unlinkat(dir_fd, path, 0)


cdef inline unsigned _pieces(unsigned length, unsigned max_write) noexcept nogil:
    """How many write requests a datum of ``length`` bytes takes (max_write 0: one)."""
    if max_write == 0 or length <= max_write:
        return 1
    return (length + max_write - 1) // max_write


cdef void _reap_writes(c.ioring *ring, _Job *jobs, c.io_uring_cqe **cqes, unsigned cap,
                       int dir_fd, bint interrupted, Py_ssize_t *done,
                       Py_ssize_t *in_flight, unsigned max_write) noexcept nogil:
    """Record the completions in the CQ; close each file's fd on its last one. After an
    interrupt, a file whose requests did not all succeed is first removed."""
    cdef unsigned got = c.ioring_peek_batch_cqe(ring, cqes, cap)
    cdef unsigned j, expected
    cdef c.io_uring_cqe *cqe
    cdef uint64_t ud
    cdef _Job *jb
    for j in range(got):
        cqe = cqes[j]
        ud = cqe.user_data
        if ud == _CANCEL_UD:
            continue
        jb = &jobs[<Py_ssize_t>(ud >> _JOB_SHIFT)]
        expected = jb.len
        if ud & 3 == _WRITE and _pieces(jb.len, max_write) > 1:
            # every piece is max_write bytes but the last (the file's final request, unless
            # an fsync follows it: then the one whose user_data says _LAST_PIECE)
            expected = max_write
            if ud & _LAST_PIECE:
                expected = jb.len - (_pieces(jb.len, max_write) - 1) * max_write
        if cqe.res < 0:
            if not (cqe.res == -ECANCELED and jb.err):  # the rest of a broken link
                _fail(jb, -cqe.res, <int>(ud & 3))
        elif ud & 3 == _WRITE and <unsigned>cqe.res != expected:
            _fail(jb, EIO, _WRITE)          # short write (e.g. ENOSPC after a part)
        if ud & _FINAL:
            if interrupted and jb.err:
                _remove_own(dir_fd, jb.path, jb.fd)
            if c_close(jb.fd) < 0:
                _fail(jb, errno, _CLOSE)
            done[0] += 1
            in_flight[0] -= 1
    c.ioring_cq_advance(ring, got)


cdef int _run(c.ioring *ring, _Job *jobs, Py_ssize_t n, int dir_fd, int oflags, unsigned mode,
              c.ioring_open_how *how, unsigned slots, bint fsync, unsigned batch,
              unsigned max_write, Py_ssize_t *in_flight) noexcept nogil:
    """The loop of ``write_pipelined``. Returns 0; _INTERRUPTED when a signal handler raised
    (its exception is set; what was in flight was cancelled and reaped); or a negative errno
    of io_uring_enter that is not transient. ``in_flight`` then says how many files still
    have requests running (their fds and buffers must be kept)."""
    cdef unsigned cap = 2 * slots + 8
    cdef c.io_uring_cqe **cqes = <c.io_uring_cqe **>calloc(cap, sizeof(void *))
    cdef unsigned queued = 0
    cdef Py_ssize_t i = 0, done = 0
    cdef c.io_uring_sqe *sqe
    cdef uint64_t ud
    cdef int ret = 0, f
    cdef unsigned k, pieces, off, piece_len
    cdef _Job *jb
    cdef bint interrupted = False
    cdef long long next_check = _now_ns() + _SIGNAL_EVERY_NS
    if cqes == NULL:
        return -ENOMEM
    while done < n and not interrupted:
        # Create files until ``slots`` have requests in flight; the worker writes meanwhile.
        while i < n and in_flight[0] < slots:
            if _signal_raised(&next_check, False):
                interrupted = True
                break
            jb = &jobs[i]
            ud = <uint64_t>i << _JOB_SHIFT
            i += 1
            f = _open_now(dir_fd, jb.path, oflags, mode, how)
            if (f == -EMFILE or f == -ENFILE) and in_flight[0]:
                # Out of fds (a low RLIMIT_NOFILE) while our own are in flight: wait for
                # completions to close some and open again, as a one-fd-at-a-time loop would
                # have succeeded.
                i -= 1
                break
            if f == -EINTR:
                # A signal cut a blocking open short (a FIFO without a reader): the
                # handlers run now; if they do not raise, the file is opened again.
                i -= 1
                if _signal_raised(&next_check, True):
                    interrupted = True
                    break
                continue
            if f < 0:
                _fail(jb, -f, _OPEN)
                done += 1
                continue
            if jb.len == 0 and not fsync:
                if c_close(f) < 0:
                    _fail(jb, errno, _CLOSE)
                done += 1
                continue
            jb.fd = f
            pieces = _pieces(jb.len, max_write) if jb.len else 0
            if c.ioring_sq_space_left(ring) < pieces + 1:
                c.ioring_submit(ring)
                queued = 0
            off = 0
            for k in range(pieces):
                # IOSQE_ASYNC: straight to io-wq. On ext4 the inline attempt fails anyway;
                # where it succeeds (tmpfs) it would run on this thread, overlapping nothing.
                # Pieces (max_write) are linked: written in order; a short one cancels the rest.
                piece_len = jb.len - off if k == pieces - 1 else max_write
                sqe = c.ioring_get_sqe(ring)
                c.ioring_prep_write(sqe, f, jb.buf + off, piece_len, off)
                off += piece_len
                if k < pieces - 1:
                    sqe.flags = IOSQE_ASYNC | IOSQE_IO_LINK
                    sqe.user_data = ud | _WRITE
                elif fsync:
                    sqe.flags = IOSQE_ASYNC | IOSQE_IO_HARDLINK
                    sqe.user_data = ud | _LAST_PIECE | _WRITE
                else:
                    sqe.flags = IOSQE_ASYNC
                    sqe.user_data = ud | _LAST_PIECE | _FINAL | _WRITE
            if fsync:
                # hard link: the fsync runs even after a failed write, so its CQE (the one the
                # fd is closed on) always comes
                sqe = c.ioring_get_sqe(ring)
                c.ioring_prep_fsync(sqe, f, 0)
                sqe.flags = IOSQE_ASYNC
                sqe.user_data = ud | _FINAL | _FSYNC
            in_flight[0] += 1
            queued += 1
            if queued >= batch:
                c.ioring_submit(ring)
                queued = 0
        if interrupted or in_flight[0] == 0:
            continue
        ret = _wait_round(ring)
        queued = 0
        if not _transient(ret):
            free(cqes)
            return ret
        _reap_writes(ring, jobs, cqes, cap, dir_fd, False, &done, in_flight, max_write)
        interrupted = _signal_raised(&next_check, ret == -EINTR)
    if interrupted:
        # No new file; cancel what is in flight (also a write blocked on a FIFO), reap it all,
        # remove the files it did not complete. A second signal now is left for Python.
        if in_flight[0]:
            _queue_cancel_all(ring)
        while in_flight[0]:
            ret = _wait_round(ring)
            if not _transient(ret):
                break                   # in_flight > 0: the caller keeps fds and buffers
            _reap_writes(ring, jobs, cqes, cap, dir_fd, True, &done, in_flight, max_write)
        free(cqes)
        return _INTERRUPTED
    free(cqes)
    return 0


def write_pipelined(paths, datas, int dir_fd, unsigned mode, int oflags, *,
                    unsigned long long resolve=0, unsigned slots=64, bint fsync=False,
                    unsigned batch=32, unsigned max_workers=1, unsigned max_write=0,
                    io_uring ring=None):
    """Create/truncate and write every file: ``paths`` a sequence of ``bytes`` (relative to
    ``dir_fd``, or absolute), ``datas`` a sequence of C-contiguous buffers of at most 1 GiB
    each (an empty one: the file is only opened). ``oflags`` are the open flags (O_WRONLY |
    O_CREAT | O_TRUNC | O_CLOEXEC ...), ``mode`` the creation mode, ``resolve`` RESOLVE_* flags
    for openat2 (0: openat). The calling thread opens each file; its write (then fsync, hard-
    linked) runs on an io-wq worker; the fd is closed when the last completion arrives. At
    most ``slots`` files (fds) are in flight; writes are submitted every ``batch`` files.
    ``max_workers`` caps the ring's io-wq workers (0: the kernel's default, min(SQ entries,
    4 x CPUs)); one worker overlaps the writes with the opens, more help big writes.
    ``max_write`` (0: no limit) cuts a datum into linked writes of at most that many bytes
    (in order; a short one cancels the rest): the page cache then allocates folios no larger
    than a write (ext4 sizes its large folios by the write), see ioring._unzip.
    ``ring``: an idle ``ioring.liburing.io_uring`` of the caller, with at least
    ``pipelined_entries(slots, longest datum, max_write)`` SQ entries, used (claimed for the
    call) instead of a ring set up and torn down for this call: a caller making many calls
    saves ~45 us each (ValueError when it is too small, RuntimeError when it is busy).

    Interrupted (a signal handler raises, e.g. KeyboardInterrupt at Ctrl-C; handlers run at
    least every 10 ms): no further file is opened, the requests in flight are cancelled and
    reaped, each file they were writing whose requests did not all succeed is removed (a
    regular file only, and only if its path still names the file opened), every fd is closed,
    then the exception propagates. So each file is complete, absent, or untouched (not reached).

    Returns a list of ``(index, errno, request)`` for the files that failed, request being
    "open", "write" (a short write is EIO), "fsync" or "close". Raises OSError when the ring
    cannot be set up (ENOSYS/EPERM: io_uring unavailable), ValueError for a datum over 1 GiB
    or ``slots`` outside 1..4096, or a datum needing more than 16384 pieces of ``max_write``."""
    cdef _Jobs files = _Jobs(paths, datas)
    cdef Py_ssize_t n = files.n, in_flight = 0, i
    cdef c.ioring *cring
    cdef io_uring uring
    cdef c.ioring_open_how how
    cdef c.ioring_open_how *howp = NULL
    cdef int ret = 0
    cdef unsigned workers[2]
    cdef unsigned entries, most = 1
    _check_slots(slots)
    if batch < 1:
        batch = 1
    if n == 0:
        return []
    if slots > n:
        slots = <unsigned>n
    for i in range(n):
        most = max(most, _pieces(files.jobs[i].len, max_write))
    if most > 16384:
        raise ValueError(f"max_write={max_write} cuts a datum into {most} writes (16384 at most)")
    entries = max(2 * slots + 2, most + 2)     # a file's pieces (and its fsync) fit the SQ
    if ring is None:
        uring = _engine_ring(entries, "ioring.files.write_files", &cring)
    else:
        cring = ring.door_claim("ioring.files.write_pipelined")
        if cring.sq.ring_entries < entries:
            ring.door_release()
            raise ValueError(f"the ring has {cring.sq.ring_entries} SQ entries, this call needs "
                             f"{entries}: pass a larger ring (pipelined_entries) or none")
        uring = ring
    try:
        if max_workers:
            workers[0] = workers[1] = max_workers
            c.ioring_register_iowq_max_workers(cring, workers)  # best effort (5.15+)
        if resolve:
            how.flags = <unsigned>oflags
            how.mode = mode
            how.resolve = resolve
            howp = &how
        with nogil:
            ret = _run(cring, files.jobs, n, dir_fd, oflags, mode, howp, slots, fsync, batch,
                       max_write, &in_flight)
        if in_flight:
            files.leak()            # the kernel may still read the paths and buffers
        if ret == _INTERRUPTED:
            _raise_pending()
        if ret < 0:
            raise OSError(-ret, "io_uring_enter failed")
    finally:
        if ring is None:
            _engine_done(uring, in_flight != 0)
        elif in_flight:
            _leaked_rings.append(uring)     # stays claimed: its owner can no longer use it
        else:
            uring.door_release()
    return files.failures()


def pipelined_entries(unsigned slots, Py_ssize_t longest, unsigned max_write=0):
    """The SQ entries a ring given to ``write_pipelined`` needs for ``slots`` files in flight
    whose largest datum is ``longest`` bytes, cut in writes of ``max_write`` (0: no limit)."""
    _check_slots(slots)
    if longest < 0 or longest > _MAX_LEN:
        raise ValueError(f"longest must be 0..{_MAX_LEN} bytes")
    return max(2 * slots + 2, _pieces(<unsigned>longest, max_write) + 2)


def engine_ring(unsigned entries):
    """A new ``ioring.liburing.io_uring`` set up as ``write_pipelined`` sets up its own
    (IORING_SETUP_COOP_TASKRUN where the kernel has it), for the ``ring`` argument; the caller
    closes it (``io_uring_queue_exit``). OSError when the kernel refuses a ring."""
    cdef c.ioring *unused
    uring = _engine_ring(entries, "ioring._fileops.engine_ring", &unused)
    uring.door_release()
    return uring


def write_plain(paths, datas, int dir_fd, unsigned mode, int oflags, *, bint fsync=False):
    """The same files as ``write_pipelined`` with a C loop of plain ``openat``/``write``/
    ``close`` syscalls (GIL released), one file after the other, no io_uring: the engine of
    ``ioring.files.write_files`` where io_uring is unavailable or for a few files, and the
    reference of ``bench/bench_files.py`` (what the kernel itself costs per file). Same
    arguments and the same result: a list of ``(index, errno, request)`` for the files that
    failed. Signal handlers run between files (at least every 10 ms) and when a blocking open
    or write (a FIFO) is interrupted; when one raises, no other file is started and the
    exception propagates (a regular file being written is finished first: its writes are not
    interrupted by signals)."""
    cdef _Jobs files = _Jobs(paths, datas)
    cdef _Job *jb
    cdef Py_ssize_t i
    cdef int f
    cdef ssize_t w, off
    cdef bint interrupted = False
    cdef long long next_check = _now_ns() + _SIGNAL_EVERY_NS
    with nogil:
        for i in range(files.n):
            if _signal_raised(&next_check, False):
                interrupted = True
                break
            jb = &files.jobs[i]
            f = _open_now(dir_fd, jb.path, oflags, mode, NULL)
            while f == -EINTR:                  # a blocking open (FIFO) cut short by a signal
                if _signal_raised(&next_check, True):
                    interrupted = True
                    break
                f = _open_now(dir_fd, jb.path, oflags, mode, NULL)
            if interrupted:
                break
            if f < 0:
                _fail(jb, -f, _OPEN)
                continue
            off = 0
            while off < jb.len:
                w = c_write(f, jb.buf + off, jb.len - off)
                if w < 0 and errno == EINTR:
                    # Only a FIFO or a device is interrupted (a regular file's write is not):
                    # give it up if a handler raises.
                    if _signal_raised(&next_check, True):
                        interrupted = True
                        _fail(jb, EINTR, _WRITE)
                        break
                    continue
                if w <= 0:
                    _fail(jb, errno if w < 0 else EIO, _WRITE)
                    break
                off += w
            if fsync and jb.err == 0 and c_fsync(f) < 0:
                _fail(jb, errno, _FSYNC)
            if c_close(f) < 0:
                _fail(jb, errno, _CLOSE)
            if interrupted:
                break
    if interrupted:
        _raise_pending()
    return files.failures()



# ---- read_chains: read_files' C loop -------------------------------------------------------------

cdef enum:
    _READ = 1               # kind of a read (the data request, as _WRITE)
    _READ_BIG = 4           # kinds[]: the read filled its buffer (the file may be longer)
    _READ_SHIFT = 32        # user_data: job << 32 | slot << 3 | _FINAL | kind
    _READ_SLOT_MASK = 0x1FFFFFFF


def read_chains(paths, int dir_fd=-100, *, unsigned slots=64, unsigned size=32768,
                bytearray stop=None):
    """Read small files whole: ``paths`` a sequence of ``bytes`` (relative to ``dir_fd``, or
    absolute). For every file one chain ``openat_direct(slot) -> read(slot, size bytes into the
    slot's buffer)`` on a private ring with ``slots`` direct descriptors (a slot is closed by
    the next open into it); up to ``slots`` files in flight. Opens and reads of cached files
    complete inline, in the submitting io_uring_enter (no worker hand-off). Each completed read
    becomes a ``bytes`` (one copy); the GIL is held except inside io_uring_enter.

    Returns ``(contents, failures, big)``: ``contents[i]`` the bytes of file i, or None when it
    failed or filled its buffer (``size`` bytes read: it may be longer); ``failures`` a list of
    ``(index, errno, request)``, request "open" or "read"; ``big`` the indexes of the files
    that filled their buffer, for the caller to read whole. ``size``: a multiple of 4096 in
    4096..16 MiB; ``slots``: 1..4096. Raises OSError when the ring cannot be set up
    (ENOSYS/EPERM: io_uring unavailable; EINVAL: no IORING_FEAT_LINKED_FILE, before 5.17).
    Python's signal handlers run after every round; when one raises (KeyboardInterrupt), the
    chains in flight are cancelled and reaped and the exception propagates. ``stop``: a
    ``bytearray`` another thread may set (``stop[0] = 1``; read in C, no Python call in the
    loop): then too no more files start, those in flight are cancelled and reaped, and
    OSError(ECANCELED) is raised. Whatever the end, the slots' files are closed before it
    returns (the table is unregistered, not left to the ring's deferred teardown)."""
    cdef tuple ps = _checked_paths(paths)
    cdef Py_ssize_t n = len(ps), i = 0, done = 0, job
    cdef c.ioring *ring
    cdef io_uring uring
    cdef int ret, res
    cdef unsigned k, nfree = 0, got, j, cap
    cdef unsigned *free_slots = NULL
    cdef int *errs = NULL
    cdef char *kinds = NULL
    cdef char *mem = NULL
    cdef c.io_uring_sqe *sqe
    cdef c.io_uring_cqe *cqe
    cdef c.io_uring_cqe **cqes = NULL
    cdef uint64_t ud
    cdef bint in_flight_left = False, out_of_memory = False, interrupted = False, stopped = False
    cdef list contents = [None] * n
    _check_slots(slots)
    if size % 4096 or not 4096 <= size <= (1 << 24):
        raise ValueError("size must be a multiple of 4096 in 4096..16 MiB")
    if stop is not None and len(stop) != 1:
        raise ValueError("stop must be a bytearray of one byte")
    if n == 0:
        return contents, [], []
    if slots > n:
        slots = <unsigned>n
    cap = 2 * slots + 8
    uring = _engine_ring(2 * slots + 2, "ioring.files.read_files", &ring)
    try:
        if not ring.features & IORING_FEAT_LINKED_FILE:
            raise OSError(EINVAL, "the kernel lacks IORING_FEAT_LINKED_FILE (5.17)")
        free_slots = <unsigned *>calloc(slots, sizeof(unsigned))
        cqes = <c.io_uring_cqe **>calloc(cap, sizeof(void *))
        errs = <int *>calloc(n, sizeof(int))
        kinds = <char *>calloc(n, 1)
        mem = <char *>aligned_alloc(4096, <size_t>slots * size)
        if free_slots == NULL or cqes == NULL or errs == NULL or kinds == NULL or mem == NULL:
            raise MemoryError()
        ret = c.ioring_register_files_sparse(ring, slots)
        if ret < 0:
            raise OSError(-ret, "io_uring_register_files_sparse failed")
        for k in range(slots):
            free_slots[nfree] = slots - 1 - k
            nfree += 1
        # From here until every chain has completed nothing may raise: the kernel writes into
        # ``mem`` (a MemoryError of a bytes is recorded and raised after the loop; a signal
        # handler's exception stays set until what is in flight has been cancelled and reaped).
        in_flight_left = True
        while done < n:
            while i < n and nfree and not interrupted:
                nfree -= 1
                k = free_slots[nfree]
                ud = (<uint64_t>i << _READ_SHIFT) | (<uint64_t>k << 3)
                sqe = c.ioring_get_sqe(ring)
                c.ioring_prep_openat_direct(sqe, dir_fd, PyBytes_AS_STRING(ps[i]), O_RDONLY, 0, k)
                sqe.flags = IOSQE_IO_LINK
                sqe.user_data = ud | _OPEN
                sqe = c.ioring_get_sqe(ring)
                c.ioring_prep_read(sqe, <int>k, mem + <size_t>k * size, size, 0)
                sqe.flags = IOSQE_FIXED_FILE
                sqe.user_data = ud | _FINAL | _READ
                i += 1
            with nogil:
                ret = _wait_round(ring)
            if not _transient(ret):
                break           # chains may be in flight: ``mem`` and the ring are kept
            got = c.ioring_peek_batch_cqe(ring, cqes, cap)
            for j in range(got):
                cqe = cqes[j]
                ud = cqe.user_data
                if ud == _CANCEL_UD:
                    continue
                res = cqe.res
                job = <Py_ssize_t>(ud >> _READ_SHIFT)
                if res < 0:
                    if errs[job] == 0:          # the open's error, not the cancelled read's
                        errs[job] = -res
                        kinds[job] = <char>(ud & 3)
                if ud & _FINAL:
                    k = <unsigned>((ud >> 3) & _READ_SLOT_MASK)
                    if res >= 0 and errs[job] == 0 and not interrupted:
                        if <unsigned>res == size:
                            kinds[job] = _READ_BIG
                        else:
                            try:
                                contents[job] = PyBytes_FromStringAndSize(mem + <size_t>k * size, res)
                            except MemoryError:
                                out_of_memory = True
                    free_slots[nfree] = k
                    nfree += 1
                    done += 1
            c.ioring_cq_advance(ring, got)
            if interrupted:
                if done == i:
                    break
            elif _run_signal_handlers() < 0 or (stop is not None and stop[0]):
                # A handler raised (KeyboardInterrupt), or stop was set: start no more files,
                # cancel those in flight and reap them, then raise.
                interrupted = True
                stopped = not PyErr_Occurred()
                if done == i:
                    break
                with nogil:
                    _queue_cancel_all(ring)
        if interrupted:
            in_flight_left = done < i
            if stopped:
                raise OSError(ECANCELED, "read_chains stopped (stop was set)")
            _raise_pending()
        if done < n:
            raise OSError(-ret, "io_uring_enter failed")
        in_flight_left = False
        if out_of_memory:
            raise MemoryError()
        failures = [(x, errs[x], "open" if kinds[x] == _OPEN else "read")
                    for x in range(n) if errs[x]]
        big = [x for x in range(n) if errs[x] == 0 and kinds[x] == _READ_BIG]
        return contents, failures, big
    finally:
        if not in_flight_left:
            c.ioring_unregister_files(ring)     # the slots' files closed now (fails harmlessly
                                                # when the table was never registered)
        _engine_done(uring, in_flight_left)
        if not in_flight_left:          # else: leaked, the kernel may still write into mem
            free(mem)
        free(free_slots)
        free(cqes)
        free(errs)
        free(kinds)


# ---- malloc thresholds for extract_zip ----------------------------------------------------------

cdef extern from *:
    """
    #if defined(__GLIBC__)
    #include <malloc.h>
    static int ioring_keep_heap(int mmap_threshold, int trim_threshold) {
        return mallopt(M_MMAP_THRESHOLD, mmap_threshold) == 1
               && mallopt(M_TRIM_THRESHOLD, trim_threshold) == 1;
    }
    #else
    static int ioring_keep_heap(int mmap_threshold, int trim_threshold) {
        (void)mmap_threshold; (void)trim_threshold;
        return 0;
    }
    #endif
    """
    int ioring_keep_heap(int mmap_threshold, int trim_threshold) nogil


def keep_heap(int mmap_threshold, int trim_threshold):
    """glibc's ``mallopt(M_MMAP_THRESHOLD, mmap_threshold)`` and ``mallopt(M_TRIM_THRESHOLD,
    trim_threshold)``: blocks below ``mmap_threshold`` come from the heap, and the heap keeps
    up to ``trim_threshold`` free bytes at its top instead of returning them to the kernel
    (every page given back and taken again is a page fault). Fixes both thresholds for the rest
    of the process (glibc then stops adjusting them itself). True when set; False where the C
    library has no mallopt (not glibc)."""
    if mmap_threshold < 0 or trim_threshold < 0:
        raise ValueError("thresholds must be >= 0 bytes")
    return ioring_keep_heap(mmap_threshold, trim_threshold) != 0


include "_copy_engine.pxi"
