# Whole files in one request chain each: ``openat_direct(slot) -> read/write -> close_direct(slot)``
# on direct descriptors of the Ring's own slot table. Included by _ring.pyx.
#
# Ring.read_file/write_file/read_files/write_files (and AsyncRing's) queue a _FileJob. Up to
# _FILE_SLOTS jobs are in the kernel at once, each on its own slot (a direct descriptor); the
# others wait in a queue and start as slots free up, from the reap that freed them. A first read
# goes into the slot's buffer (_FILE_BUFFER bytes), copied once into an exact-size bytes: reading
# into a bytes of that size and cutting it down costs more, in the allocator's fragmentation. Ring._reap hands every CQE of a chain to the engine at
# C level (no Python object per CQE); the job's result (bytes, a byte count or an OSError) is
# made once, from the chain's final CQE, and handed to its sink: an asyncio Future, an Operation
# or a batch.
#
# Why the chain cannot leak: the data requests carry IOSQE_IO_HARDLINK, so a short read (every
# file shorter than the buffer) or a failed read/write does not cut the chain: the close always
# runs. A failed open cancels the rest (nothing was opened). Cancelling a job cancels its open
# and data requests, never its close; the slot is reused only after the close's CQE, the last
# of the chain (the kernel posts a chain's CQEs in order). A file that fills the slot buffer is
# read again whole: statx for its size, then a chain reading into a bytes of that size + 1
# (doubled while it keeps filling it: the file grows), so the result is always one snapshot of
# one open of the file.

from cpython.object cimport PyObject
from cpython.ref cimport Py_INCREF, Py_DECREF
from cpython.bytes cimport PyBytes_AS_STRING, _PyBytes_Resize

from posix.mman cimport mmap, munmap, PROT_READ, PROT_WRITE, MAP_PRIVATE, MAP_ANONYMOUS, MAP_FAILED

from libc.errno cimport EEXIST
from ioring.includes.constants cimport _c_IORING_ASYNC_CANCEL_ALL as IORING_ASYNC_CANCEL_ALL
# C constants, not attributes of the liburing module looked up for every chain
from ioring.includes.constants cimport (_c_IOSQE_ASYNC as _ASYNC, _c_IOSQE_IO_DRAIN as _DRAIN,
                                        _c_IOSQE_IO_LINK as _LINK, _c_IOSQE_IO_HARDLINK as _HARDLINK,
                                        _c_IOSQE_FIXED_FILE as _FIXED, _c_AT_FDCWD as _AT_FDCWD,
                                        _c_STATX_SIZE as _STATX_SIZE)
from posix.fcntl cimport O_RDONLY as _O_RDONLY, O_WRONLY as _O_WRONLY, O_CREAT as _O_CREAT, O_TRUNC as _O_TRUNC
from ioring.includes.cpython_extra cimport PyUnicode_EncodeFSDefault
from ioring.includes.prep_fs cimport ioring_prep_close_direct

# user_data of a chain's requests: _FILE_TAG | seq << 16 | slot << 2 | step (see Ring._reap for
# how the tags are told apart). seq is new for every chain, so a CQE is matched to the job that
# owns its slot now, never to an earlier one.
cdef uint64_t _FILE_TAG = 1ULL << 61
cdef enum:
    _STEP_OPEN = 0
    _STEP_DATA = 1
    _STEP_CLOSE = 2
    _STEP_STAT = 3

cdef enum:
    _FILE_SLOTS = 128               # jobs in the kernel at once (direct descriptors)
    _FILE_BUFFER = 32768            # per slot: what the first read of a file asks for
    _FILE_CHUNK = 1 << 30           # one read/write request moves at most this much
    _RECANCEL_NS = 50000000         # a cancel that found nothing is sent again after 50 ms

_STEP_NAMES = ("open", None, "close", "statx")
cdef unsigned _FILE_SQE_FLAGS = _ASYNC | _DRAIN


cdef inline long long _mono_ns() noexcept:
    cdef timespec t
    clock_gettime(CLOCK_MONOTONIC, &t)
    return <long long>t.tv_sec * 1000000000LL + t.tv_nsec


cdef bytes _kernel_path(object path):
    """``path`` (str, bytes, os.PathLike) as the bytes the kernel reads."""
    if type(path) is bytes:
        p = path
    elif type(path) is str:
        p = PyUnicode_EncodeFSDefault(path)
    else:
        try:
            p = os.fspath(path)
        except TypeError:
            raise TypeError(f"a path must be str, bytes or os.PathLike, not {type(path).__name__}") from None
        p = PyUnicode_EncodeFSDefault(p) if isinstance(p, str) else bytes(p)
    if b"\0" in <bytes>p:
        raise ValueError(f"embedded null byte in path {path!r}")
    return p


@cython.final
@cython.no_gc       # one per file: not tracked by the GC (its sink cycle ends when it finishes)
cdef class _FileJob:
    """One file read or written by the engine: its arguments, where the current chain stands,
    and its sink."""
    cdef _FileEngine engine
    cdef _FileMemory memory         # the slot buffers its reads may write into
    cdef bint writing
    cdef bytes cpath                # what the kernel reads (held until the job ends)
    cdef object path                # as given: errors name it
    cdef int dir_fd
    cdef int oflags
    cdef unsigned mode
    cdef unsigned sqe_flags         # IOSQE_ASYNC / IOSQE_IO_DRAIN asked by the caller
    cdef bint has_timeout
    cdef double timeout
    cdef c.ioring_kernel_timespec ts
    cdef Py_buffer view             # write: the data, exported until the job ends
    cdef bint held
    cdef object big                 # read: the bytes a later chain reads into (None: the slot buffer)
    cdef size_t cap                 # read: bytes the current chain asks for
    cdef c.ioring_statx *stx        # read: the size of a file that filled the slot buffer
                                    # (allocated for those only: inline, it would make every
                                    # job too large for Python's small-object allocator)
    cdef int slot                   # -1: waiting for one
    cdef uint32_t seq
    cdef int step                   # what is in the kernel: _STEP_DATA (a chain) or _STEP_STAT
    cdef unsigned nchunks           # data requests in the current chain
    cdef unsigned chunks_seen
    cdef unsigned short_chunk       # index + 1 of the first data request that came back short
    cdef bint gap                   # a data request after a short one returned data
    cdef int64_t total              # bytes moved by the current chain
    cdef int err                    # the first errno of the job, 0 if none
    cdef int err_step
    cdef bint cancelled
    cdef bint done
    cdef long long cancel_ns        # when the last cancel was sent
    cdef object sink                # asyncio Future, Operation or _FileBatch
    cdef Py_ssize_t index           # in its batch

    def __dealloc__(self):
        if self.held:
            PyBuffer_Release(&self.view)
        free(self.stx)              # the kernel is done with it: this job was kept until then

    cdef inline uint64_t _ud(self, int step):
        return _FILE_TAG | (<uint64_t>self.seq << 16) | (<uint64_t>self.slot << 2) | <uint64_t>step

    def cancel(self):
        """Cancel the job: a waiting one never starts; a chain in the kernel gets its open and
        read/write cancelled (its close still runs). Its sink gets ECANCELED unless it is
        already done. Returns False if the job had finished."""
        if self.done:
            return False
        self.cancelled = True
        if self.slot < 0:
            self.engine._finish(self)       # never started: nothing in the kernel
        else:
            self.engine._send_cancel(self)
        return True

    @property
    def finished(self):
        return self.done


@cython.final
cdef class _FileBatch:
    """read_files/write_files: the results of every job, and the one sink told at the end."""
    cdef list results
    cdef dict errors                # index -> OSError
    cdef list paths
    cdef list jobs
    cdef Py_ssize_t remaining
    cdef object total               # write: bytes written
    cdef bint writing
    cdef object sink                # asyncio Future, or None (Ring's loop waits on remaining)

    cdef void _record(self, _FileJob job, object value, object exc) except *:
        if exc is not None:
            self.errors[job.index] = exc
        elif self.writing:
            self.total += value
        else:
            self.results[job.index] = value
        self.remaining -= 1
        if self.remaining == 0:
            self.jobs = None
            if self.sink is not None:
                _resolve_future(self.sink, self._outcome())

    cdef object _outcome(self):
        """The batch's result, or the OSError to raise (the first failure, input order; every
        failure in its ``errors``)."""
        if self.errors:
            from ioring.files import _raise_collected
            try:
                _raise_collected(self.errors, self.paths)
            except OSError as exc:
                return exc
        return self.total if self.writing else self.results

    def cancel(self):
        """Cancel every job of the batch that has not finished."""
        jobs, self.jobs = self.jobs, None
        for job in jobs or ():
            (<_FileJob>job).cancel()


cdef void _resolve_future(object fut, object outcome) except *:
    """Resolve an asyncio Future with a result or an exception, unless it is done (cancelled)."""
    if fut.done():
        return
    try:
        if isinstance(outcome, BaseException):
            fut.set_exception(outcome)
        else:
            fut.set_result(outcome)
    except RuntimeError:
        pass        # its event loop is closed: nobody can await it any more


cdef class _FileMemory:
    """The slots' read buffers: one anonymous mapping, unmapped when the last chain that may
    write into it is over (the engine and every job hold it; the _Inflight record of every
    chain holds its job)."""
    cdef char *base
    cdef size_t size

    def __dealloc__(self):
        if self.base != NULL:
            munmap(self.base, self.size)


@cython.final
cdef class _FileEngine:
    cdef Ring ring
    cdef _FileMemory memory
    cdef unsigned nslots
    cdef size_t bufsize
    cdef list slots                 # slot -> the _FileJob whose chain holds it, or None
    cdef list free                  # free slots (a stack)
    cdef object waiting             # deque of jobs waiting for a slot
    cdef list continuing            # jobs that hold a slot and need their next chain / statx
    cdef list finished              # jobs whose last CQE was reaped, not yet delivered
    cdef list cancelling            # jobs in the kernel whose cancel may have missed
    cdef uint32_t next_seq
    cdef Py_ssize_t active          # jobs queued and not finished (waiting included)

    cdef int _setup(self, Ring ring) except -1:
        cdef int ret
        cdef void *mem
        self.ring = ring
        self.nslots = _FILE_SLOTS
        self.bufsize = _FILE_BUFFER
        if not (ring.uring.features or 0) & L.IORING_FEAT_LINKED_FILE:
            raise OSError(errno.EOPNOTSUPP, "read_file/write_file need IORING_FEAT_LINKED_FILE "
                          "(kernel 5.17): a chain's read names the direct descriptor its open "
                          "installs")
        try:
            ret = L.io_uring_register_files_sparse(ring.uring, self.nslots)
        except InterruptedError:
            raise
        except OSError as exc:
            ret = -exc.errno
        if ret == -EBUSY or ret == -EEXIST:
            raise RuntimeError("this Ring already has a registered file table (register_files or "
                               "io_uring_register_files), and the kernel keeps one per ring: "
                               "read_file/write_file need it for their direct descriptors. Use "
                               "another Ring for them, or unregister_files() first")
        if ret < 0:
            raise OSError(-ret, f"{os.strerror(-ret)} (io_uring_register_files_sparse for "
                                f"read_file/write_file)")
        mem = mmap(NULL, <size_t>self.nslots * self.bufsize, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        if mem == MAP_FAILED:
            try:
                L.io_uring_unregister_files(ring.uring)
            except OSError:
                pass
            raise MemoryError()
        self.memory = _FileMemory.__new__(_FileMemory)
        self.memory.base = <char *>mem
        self.memory.size = <size_t>self.nslots * self.bufsize
        self.slots = [None] * self.nslots
        self.free = list(range(self.nslots - 1, -1, -1))
        self.waiting = collections.deque()
        self.continuing = []
        self.finished = []
        self.cancelling = []
        self.next_seq = 1
        return 0

    # ---- queueing ---------------------------------------------------------------------------

    cdef _FileJob _new_job(self, object sink, object path, object data, bint writing,
                           unsigned mode, object dir_fd, unsigned flags, object timeout):
        cdef _FileJob job = _FileJob.__new__(_FileJob)
        cdef double sec
        if flags & ~_FILE_SQE_FLAGS:
            raise ValueError(f"flags={flags:#x}: a file chain takes IOSQE_ASYNC (every request "
                             f"goes to io-wq) and IOSQE_IO_DRAIN (its open waits for what was "
                             f"queued before); the chain's links and fixed-file flags are its own")
        job.engine = self
        job.memory = self.memory
        job.writing = writing
        job.cpath = _kernel_path(path)
        job.path = path
        job.dir_fd = _AT_FDCWD if dir_fd is None else _fileno(dir_fd, "dir_fd")
        job.mode = mode
        job.sqe_flags = flags
        job.slot = -1
        if timeout is not None:
            sec = float(timeout)
            if not sec >= 0:
                raise ValueError(f"timeout must be >= 0 seconds, not {timeout!r}")
            job.has_timeout = True
            job.timeout = sec
            job.ts.tv_sec = <long long>sec
            job.ts.tv_nsec = <long long>((sec - <long long>sec) * 1e9)
        if writing:
            job.oflags = _O_WRONLY | _O_CREAT | _O_TRUNC     # (O_CLOEXEC: EINVAL for a slot)
            PyObject_GetBuffer(data, &job.view, PyBUF_ANY_CONTIGUOUS)
            job.held = True
            job.nchunks = 1 if job.view.len == 0 else <unsigned>((job.view.len + _FILE_CHUNK - 1) // _FILE_CHUNK)
        else:
            job.oflags = _O_RDONLY
            job.cap = self.bufsize
            job.nchunks = 1
        if self._chain_sqes(job) > self.ring.uring.door_sq_entries():
            raise ValueError(f"a chain for {path!r} needs {self._chain_sqes(job)} SQEs (open, a "
                             f"request per GiB, close, a timeout per request) and this Ring has "
                             f"{self.ring.uring.door_sq_entries()}: use a larger Ring(entries)")
        job.sink = sink
        return job

    cdef inline unsigned _chain_sqes(self, _FileJob job):
        return (2 + job.nchunks) * (2 if job.has_timeout else 1) - (1 if job.has_timeout else 0)

    cdef int _add(self, _FileJob job) except -1:
        """A new job: started now if a slot and SQ room are free, else queued."""
        self.active += 1
        if self.waiting or not self.free or not self._may_queue() or not self._start(job):
            self.waiting.append(job)
        return 0

    cdef bint _may_queue(self):
        """SQEs may be queued now: not inside this thread's linked() chain (they would join it),
        nor while another thread queues one, nor from another thread of a SINGLE_ISSUER ring."""
        cdef Ring ring = self.ring
        if ring._chain_owner != 0 or ring._reaping:
            return False
        if ring._issuer and PyThread_get_thread_ident() != ring._issuer:
            return False
        return ring.uring.initialized

    cdef bint _start(self, _FileJob job) except -1:
        """Queue the job's next chain (or statx) if the SQ has room for all of it; False if not.
        Takes a free slot for a job that has none."""
        cdef Ring ring = self.ring
        cdef io_uring uring = ring.uring
        cdef unsigned need = 1 if job.step == _STEP_STAT else self._chain_sqes(job)
        cdef c.io_uring_sqe *sqe
        cdef unsigned k, link_flags, extra
        cdef size_t off, n, length
        cdef char *ptr
        cdef uint64_t final_ud
        if uring.door_sq_space() < need or not self._may_queue():
            return False        # (_refill's loops run Python code: re-checked per chain)
        if job.step == _STEP_STAT and job.stx == NULL:
            job.stx = <c.ioring_statx *>calloc(1, sizeof(c.ioring_statx))
            if job.stx == NULL:
                raise MemoryError()
        if job.slot < 0:
            job.slot = self.free.pop()
            self.slots[job.slot] = job
        job.seq = self.next_seq
        self.next_seq = self.next_seq + 1 if self.next_seq != 0xFFFFFFFF else 1
        job.chunks_seen = 0
        job.short_chunk = 0
        job.gap = False
        job.total = 0
        # Requests queued before ours keep their own tracking; ours pin their own memory.
        uring.door_own_begin()
        if job.step == _STEP_STAT:
            sqe = uring.door_next_sqe()
            c.ioring_prep_statx(sqe, job.dir_fd, PyBytes_AS_STRING(job.cpath), 0,
                                _STATX_SIZE, job.stx)
            sqe.flags = 0
            sqe.user_data = job._ud(_STEP_STAT)
            final_ud = job._ud(_STEP_STAT)
        else:
            job.step = _STEP_DATA
            extra = job.sqe_flags & _ASYNC
            sqe = uring.door_next_sqe()
            c.ioring_prep_openat_direct(sqe, job.dir_fd, PyBytes_AS_STRING(job.cpath), job.oflags,
                                        job.mode, <unsigned>job.slot)
            sqe.flags = _LINK | extra | (job.sqe_flags & _DRAIN)
            sqe.user_data = job._ud(_STEP_OPEN)
            self._link_timeout(job)
            if job.writing:
                ptr = <char *>job.view.buf
                length = <size_t>job.view.len
            elif job.big is None:
                ptr = self.memory.base + <size_t>job.slot * self.bufsize
                length = job.cap
            else:
                ptr = PyBytes_AS_STRING(job.big)
                length = job.cap
            off = 0
            for k in range(job.nchunks):
                n = length - off if length - off < _FILE_CHUNK else _FILE_CHUNK
                sqe = uring.door_next_sqe()
                if job.writing:
                    c.ioring_prep_write(sqe, job.slot, ptr + off, <unsigned>n, off)
                else:
                    c.ioring_prep_read(sqe, job.slot, ptr + off, <unsigned>n, off)
                # HARDLINK: a short or failed read/write does not cancel the close
                sqe.flags = _FIXED | _HARDLINK | extra
                sqe.user_data = job._ud(_STEP_DATA)
                self._link_timeout(job)
                off += n
            sqe = uring.door_next_sqe()
            ioring_prep_close_direct(sqe, <unsigned>job.slot)
            sqe.flags = 0
            sqe.user_data = job._ud(_STEP_CLOSE)
            final_ud = job._ud(_STEP_CLOSE)
        uring.door_own_end()
        # What the chain uses stays alive until its last CQE is consumed, whatever happens to
        # the Ring (a teardown that cannot confirm the kernel is done keeps it forever).
        # (the job holds the slot memory; it is not tracked by the GC, so the record adds nothing
        # for the GC to track, and nothing it may clear)
        uring.door_keep(final_ud, job)
        return True

    cdef void _link_timeout(self, _FileJob job) noexcept:
        cdef c.io_uring_sqe *sqe
        cdef Ring ring = self.ring
        if not job.has_timeout:
            return
        sqe = ring.uring.door_next_sqe()
        c.ioring_prep_link_timeout(sqe, &job.ts, 0)
        sqe.flags = _LINK
        sqe.user_data = _CANCEL_TAG | ring._next_ud        # its CQE is dropped by _reap
        ring._next_ud += 1

    # ---- completions (from Ring._reap: C only, nothing that can fail) -------------------------

    cdef void _on_cqe(self, uint64_t ud, int res) noexcept:
        cdef unsigned slot = <unsigned>((ud >> 2) & 0x3FFF)
        cdef int step = <int>(ud & 3)
        cdef _FileJob job
        if slot >= self.nslots:
            return
        if -516 <= res <= -512:
            res = -EINTR            # ERESTARTSYS...: an io-wq request interrupted by a cancel
        obj = self.slots[slot]
        if obj is None:
            return
        job = <_FileJob>obj
        if job.seq != <uint32_t>(ud >> 16) or job.done:
            return                  # not ours (a thin-layer request with a look-alike user_data)
        if step == _STEP_DATA:
            job.chunks_seen += 1
            if res < 0:
                if job.err == 0:
                    job.err = -res
                    job.err_step = _STEP_DATA
            else:
                if job.short_chunk and res > 0:
                    job.gap = True
                job.total += res
                if not job.short_chunk and <size_t>res < self._chunk_len(job, job.chunks_seen - 1):
                    job.short_chunk = job.chunks_seen
            return
        if step == _STEP_OPEN:
            # A failed open cancels the rest of the chain, whose CQEs may come first when a
            # linked timeout or a cancel ended it: the open's error is the one to report.
            if res < 0 and (job.err == 0 or job.err == ECANCELED):
                job.err = -res
                job.err_step = _STEP_OPEN
            return
        # the chain's last CQE (close), or the statx's
        if res < 0 and job.err == 0 and not (res == -ECANCELED and step == _STEP_CLOSE):
            job.err = -res
            job.err_step = step
        self.finished.append(job)

    cdef inline size_t _chunk_len(self, _FileJob job, unsigned k) noexcept:
        cdef size_t length = <size_t>job.view.len if job.writing else job.cap
        cdef size_t off = <size_t>k * _FILE_CHUNK
        return length - off if length - off < _FILE_CHUNK else _FILE_CHUNK

    # ---- after the reap: results, next chains -------------------------------------------------

    cdef int _deliver(self) except -1:
        """Make the result of every job whose chain ended (or give it its next step), then
        start waiting jobs in the freed slots."""
        cdef _FileJob job
        cdef Py_ssize_t i = 0
        cdef list finished
        while self.finished:
            finished, self.finished = self.finished, []
            for i in range(len(finished)):
                job = <_FileJob>finished[i]
                if job.cancelled:
                    self._finish(job)
                elif job.step == _STEP_STAT:
                    if job.err:
                        self._finish(job)
                    else:
                        # read it again whole: its size + 1, so that a full read means it grew
                        self._grow(job, <size_t>job.stx[0].stx_size + 1)
                elif job.err:
                    self._finish(job)
                elif job.writing:
                    if job.total != job.view.len:
                        job.err = errno.EIO     # a short write: out of space, quota, file size limit
                        job.err_step = _STEP_DATA
                    self._finish(job)
                elif <size_t>job.total < job.cap and not job.gap:
                    self._finish(job)
                elif job.big is None:
                    job.step = _STEP_STAT       # filled the slot buffer: how large is it?
                    self.continuing.append(job)
                else:
                    self._grow(job, job.cap * 2)    # it grew while read: again, larger
        self._refill()
        return 0

    cdef int _grow(self, _FileJob job, size_t cap) except -1:
        cdef unsigned chunks
        if cap < 2 * self.bufsize:
            cap = 2 * self.bufsize
        chunks = <unsigned>((cap + _FILE_CHUNK - 1) // _FILE_CHUNK)
        if self._chain_sqes(job) - job.nchunks + chunks > self.ring.uring.door_sq_entries():
            job.err = errno.EFBIG
            job.err_step = _STEP_DATA
            self._finish(job)
            return 0
        job.big = None
        job.big = PyBytes_FromStringAndSize(NULL, <Py_ssize_t>cap)
        job.cap = cap
        job.nchunks = chunks
        job.step = _STEP_DATA
        self.continuing.append(job)
        return 0

    cdef int _finish(self, _FileJob job, bint kernel_done=True) except -1:
        """The job is over: make its result, free its slot, hand the result to its sink.
        ``kernel_done`` False (the Ring was closed): what the chain used stays referenced by
        the job, which a teardown that could not confirm the kernel is done keeps forever."""
        cdef object value = None, exc = None
        cdef PyObject *raw
        if job.done:
            return 0
        job.done = True
        self.active -= 1
        self.ring._ncompleted += 1
        try:
            if job.cancelled or not kernel_done:
                exc = OSError(ECANCELED, f"{os.strerror(ECANCELED)} [{self._describe(job)}]: "
                              f"{'cancelled' if kernel_done else 'the Ring was closed'}", job.path)
            elif job.err:
                step = _STEP_NAMES[job.err_step] or ("write" if job.writing else "read")
                if job.has_timeout and (job.err == ECANCELED or job.err == EINTR):
                    # Nobody cancelled it: its linked timeout did (the kernel says ECANCELED,
                    # or EINTR for a request interrupted on an io-wq worker).
                    exc = OSError(errno.ETIMEDOUT, f"timed out: the {step} took more than "
                                  f"{job.timeout:g} s [{self._describe(job)}: {step}]", job.path)
                else:
                    exc = OSError(job.err, f"{os.strerror(job.err)} [{self._describe(job)}: {step}]",
                                  job.path)
            elif job.writing:
                value = job.view.len
            elif job.big is None:
                value = PyBytes_FromStringAndSize(self.memory.base + <size_t>job.slot * self.bufsize,
                                                  <Py_ssize_t>job.total)
            else:
                # The bytes the kernel read into, cut to what it read (in place: nobody else
                # holds it).
                raw = <PyObject *>job.big
                Py_INCREF(job.big)
                job.big = None
                _PyBytes_Resize(&raw, <Py_ssize_t>job.total)    # on failure: freed, raises
                value = <object>raw
                Py_DECREF(value)
        finally:
            if kernel_done:
                job.big = None
                if job.held:
                    job.held = False
                    PyBuffer_Release(&job.view)
            if job.slot >= 0:
                self.slots[job.slot] = None
                self.free.append(job.slot)
                job.slot = -1
        return self._complete(job, value, exc)

    cdef int _complete(self, _FileJob job, object value, object exc) except -1:
        sink, job.sink = job.sink, None
        if sink is None:
            return 0
        self.ring._wakes += 1
        if type(sink) is _FileBatch:
            (<_FileBatch>sink)._record(job, value, exc)
        elif type(sink) is Operation:
            (<Operation>sink)._value = exc if exc is not None else value
            (<Operation>sink)._job = None
            (<Operation>sink)._complete(-(<OSError>exc).errno if exc is not None else 0, 0)
            if self.ring._collectors:
                collected = self.ring._collectors.get((<Operation>sink)._thread)
                if collected is not None:
                    collected.append(sink)
        else:
            _resolve_future(sink, exc if exc is not None else value)
        return 0

    cdef str _describe(self, _FileJob job):
        return f"{'write_file' if job.writing else 'read_file'}(path={os.fspath(job.path)!r})"

    cdef int _refill(self) except -1:
        """Start the next chains of continuing jobs, then waiting jobs, while slots and SQ room
        allow; resend cancels that may have missed."""
        cdef _FileJob job
        if not self._may_queue():
            return 0
        while self.continuing:
            job = <_FileJob>self.continuing[len(self.continuing) - 1]
            if job.done:
                self.continuing.pop()
            elif job.cancelled:
                self.continuing.pop()
                self._finish(job)
            elif self._start(job):
                self.continuing.pop()
            else:
                return 0
        while self.waiting and self.free:
            job = <_FileJob>self.waiting[0]
            if job.done:
                self.waiting.popleft()
            elif self._start(job):
                self.waiting.popleft()
            else:
                break
        if self.cancelling:
            self._recancel()
        return 0

    # ---- cancellation -------------------------------------------------------------------------

    cdef int _send_cancel(self, _FileJob job) except -1:
        """Cancel the open and the read/write of the job's chain (or its statx), never its
        close. A cancel can miss a request that is between two steps; it is sent again after
        _RECANCEL_NS while the chain lasts (_recancel)."""
        cdef Ring ring = self.ring
        if job.done or job.slot < 0:
            return 0
        if job not in self.cancelling:
            self.cancelling.append(job)
        if not self._may_queue():
            job.cancel_ns = 0           # sent by the next refill
            return 0
        if ring.uring.door_sq_space() < 2:
            job.cancel_ns = 0
            return 0
        ring.uring.door_own_begin()
        if job.step == _STEP_STAT:
            self._cancel_sqe(job, _STEP_STAT)
        else:
            self._cancel_sqe(job, _STEP_OPEN)
            self._cancel_sqe(job, _STEP_DATA)
        ring.uring.door_own_end()
        job.cancel_ns = _mono_ns()
        return 0

    cdef void _cancel_sqe(self, _FileJob job, int step) noexcept:
        cdef Ring ring = self.ring
        cdef c.io_uring_sqe *sqe = ring.uring.door_next_sqe()
        c.ioring_prep_cancel64(sqe, job._ud(step), IORING_ASYNC_CANCEL_ALL)
        sqe.user_data = _CANCEL_TAG | ring._next_ud       # its CQE is dropped by _reap
        ring._next_ud += 1

    cdef int _recancel(self) except -1:
        cdef _FileJob job
        cdef long long now = _mono_ns()
        keep = []
        for job in self.cancelling:
            if job.done or job.slot < 0:
                continue
            keep.append(job)
            if now - job.cancel_ns >= _RECANCEL_NS:
                self._send_cancel(job)
        self.cancelling = keep
        return 0

    cdef int _cancel_all(self) except -1:
        """Cancel every job (AsyncRing.aclose)."""
        for job in list(self.waiting) + [j for j in self.slots if j is not None]:
            (<_FileJob>job).cancel()
        return 0

    @property
    def in_kernel(self):
        return self.nslots - len(self.free)

    cdef int _ring_closed(self) except -1:
        """Ring.close(): the kernel is done with every chain (or they were leaked): every job
        that has not finished fails with ECANCELED."""
        cdef _FileJob job
        jobs = list(self.waiting) + self.continuing + [j for j in self.slots if j is not None]
        self.waiting.clear()
        self.continuing = []
        self.finished = []
        self.cancelling = []
        for job in jobs:
            if not job.done:
                self._finish(job, False)
        return 0
