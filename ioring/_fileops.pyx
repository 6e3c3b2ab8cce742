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
"""
cdef extern from *:
    """
    /* The loop runs without the GIL from start to end, so the core must not drop and retake
     * it around io_uring_enter (ioring/python.h defines these hooks as Py_BEGIN/END_ALLOW_THREADS
     * for the other extensions): include the core first with the hooks empty, as _bench.pyx. */
    #define IORING_BLOCKING_BEGIN
    #define IORING_BLOCKING_END
    #include "ioring/ioring.h"
    #include "ioring/register_ext.h"
    #undef IORING_BLOCKING_BEGIN
    #undef IORING_BLOCKING_END
    """
    enum:
        IOSQE_IO_LINK
        IOSQE_IO_HARDLINK
        IOSQE_FIXED_FILE
        IOSQE_ASYNC
        IORING_SETUP_COOP_TASKRUN
        IORING_FEAT_LINKED_FILE

cdef extern from "<errno.h>" nogil:
    int errno
    enum:
        EINTR
        EAGAIN
        EBUSY
        EINVAL
        EIO
        ENOMEM
        ECANCELED
        EMFILE
        ENFILE

cdef extern from "<fcntl.h>" nogil:
    int openat(int dirfd, const char *pathname, int flags, ...)
    enum:
        O_RDONLY
        O_CLOEXEC

cdef extern from "<unistd.h>" nogil:
    ssize_t c_write "write"(int fd, const void *buf, size_t count)
    int c_close "close"(int fd)
    int c_fsync "fsync"(int fd)

cdef extern from "<stdlib.h>" nogil:
    void *aligned_alloc(size_t alignment, size_t size)

cdef extern from "<sys/syscall.h>" nogil:
    long syscall(long number, ...)
    enum:
        SYS_openat2

cimport cython
from libc.stdint cimport uint64_t
from libc.stdlib cimport calloc, free
from cpython.ref cimport Py_INCREF
from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_SIMPLE
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.list cimport PyList_SET_ITEM

from ioring cimport _core as c

cdef enum:
    _OPEN = 0
    _WRITE = 1
    _FSYNC = 2
    _CLOSE = 3
    _FINAL = 4          # user_data: the last request of the file (close its fd)
    _JOB_SHIFT = 3      # user_data: job index << 3 | _FINAL | kind
    _MAX_SLOTS = 4096
    _MAX_LEN = 1 << 30

_KIND_NAMES = ("open", "write", "fsync", "close")


cdef tuple _checked_paths(paths):
    """``paths`` as a tuple of ``bytes`` without NUL (what the kernel reads as C strings)."""
    cdef tuple ps = tuple(paths)
    for p in ps:
        if type(p) is not bytes:
            raise TypeError(f"paths must be bytes, not {type(p).__name__}")
        if b"\0" in <bytes>p:
            raise ValueError("embedded null byte in path")
    return ps


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


cdef int _queue_init(c.ioring *ring, unsigned entries) except -1:
    """A private ring: COOP_TASKRUN (no IPI for task work) where the kernel has it (5.19)."""
    cdef int ret = c.ioring_queue_init(entries, ring, IORING_SETUP_COOP_TASKRUN)
    if ret == -EINVAL:
        ret = c.ioring_queue_init(entries, ring, 0)
    if ret < 0:
        raise OSError(-ret, "io_uring_queue_init failed")
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


cdef int _run(c.ioring *ring, _Job *jobs, Py_ssize_t n, int dir_fd, int oflags, unsigned mode,
              c.ioring_open_how *how, unsigned slots, bint fsync, unsigned batch,
              Py_ssize_t *in_flight) noexcept nogil:
    """The loop of ``write_pipelined``. Returns 0, or a negative errno of io_uring_enter that is
    not transient (``in_flight`` then says how many files still have requests running; their
    fds stay open)."""
    cdef unsigned cap = 2 * slots + 8
    cdef c.io_uring_cqe **cqes = <c.io_uring_cqe **>calloc(cap, sizeof(void *))
    cdef unsigned got, j, queued = 0
    cdef Py_ssize_t i = 0, done = 0
    cdef c.io_uring_sqe *sqe
    cdef c.io_uring_cqe *cqe
    cdef uint64_t ud
    cdef int ret, f
    cdef _Job *jb
    if cqes == NULL:
        return -ENOMEM
    while done < n:
        # Create files until ``slots`` have requests in flight; the worker writes meanwhile.
        while i < n and in_flight[0] < slots:
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
            if c.ioring_sq_space_left(ring) < 2:
                c.ioring_submit(ring)
                queued = 0
            if jb.len:
                # IOSQE_ASYNC: straight to io-wq. On ext4 the inline attempt fails anyway;
                # where it succeeds (tmpfs) it would run on this thread, overlapping nothing.
                sqe = c.ioring_get_sqe(ring)
                c.ioring_prep_write(sqe, f, jb.buf, jb.len, 0)
                if fsync:
                    sqe.flags = IOSQE_ASYNC | IOSQE_IO_HARDLINK
                    sqe.user_data = ud | _WRITE
                else:
                    sqe.flags = IOSQE_ASYNC
                    sqe.user_data = ud | _FINAL | _WRITE
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
        if in_flight[0] == 0:
            continue
        ret = c.ioring_submit_and_wait(ring, 1)
        queued = 0
        if ret < 0 and ret != -EINTR and ret != -EAGAIN and ret != -EBUSY:
            free(cqes)
            return ret
        got = c.ioring_peek_batch_cqe(ring, cqes, cap)
        for j in range(got):
            cqe = cqes[j]
            ud = cqe.user_data
            jb = &jobs[<Py_ssize_t>(ud >> _JOB_SHIFT)]
            if cqe.res < 0:
                _fail(jb, -cqe.res, <int>(ud & 3))
            elif ud & 3 == _WRITE and <unsigned>cqe.res != jb.len:
                _fail(jb, EIO, _WRITE)          # short write (e.g. ENOSPC after a part)
            if ud & _FINAL:
                if c_close(jb.fd) < 0:
                    _fail(jb, errno, _CLOSE)
                done += 1
                in_flight[0] -= 1
        c.ioring_cq_advance(ring, got)
    free(cqes)
    return 0


def write_pipelined(paths, datas, int dir_fd, unsigned mode, int oflags, *,
                    unsigned long long resolve=0, unsigned slots=64, bint fsync=False,
                    unsigned batch=32, unsigned max_workers=1):
    """Create/truncate and write every file: ``paths`` a sequence of ``bytes`` (relative to
    ``dir_fd``, or absolute), ``datas`` a sequence of C-contiguous buffers of at most 1 GiB
    each (an empty one: the file is only opened). ``oflags`` are the open flags (O_WRONLY |
    O_CREAT | O_TRUNC | O_CLOEXEC ...), ``mode`` the creation mode, ``resolve`` RESOLVE_* flags
    for openat2 (0: openat). The calling thread opens each file; its write (then fsync, hard-
    linked) runs on an io-wq worker; the fd is closed when the last completion arrives. At
    most ``slots`` files (fds) are in flight; writes are submitted every ``batch`` files.
    ``max_workers`` caps the ring's io-wq workers (0: the kernel's default, min(SQ entries,
    4 x CPUs)); one worker overlaps the writes with the opens, more help big writes.

    Returns a list of ``(index, errno, request)`` for the files that failed, request being
    "open", "write" (a short write is EIO), "fsync" or "close". Raises OSError when the ring
    cannot be set up (ENOSYS/EPERM: io_uring unavailable), ValueError for a datum over 1 GiB
    or ``slots`` outside 1..4096."""
    cdef _Jobs files = _Jobs(paths, datas)
    cdef Py_ssize_t n = files.n, in_flight = 0
    cdef c.ioring ring
    cdef c.ioring_open_how how
    cdef c.ioring_open_how *howp = NULL
    cdef int ret = 0
    cdef unsigned workers[2]
    _check_slots(slots)
    if batch < 1:
        batch = 1
    if n == 0:
        return []
    if slots > n:
        slots = <unsigned>n
    _queue_init(&ring, 2 * slots + 2)
    try:
        if max_workers:
            workers[0] = workers[1] = max_workers
            c.ioring_register_iowq_max_workers(&ring, workers)  # best effort (5.15+)
        if resolve:
            how.flags = <unsigned>oflags
            how.mode = mode
            how.resolve = resolve
            howp = &how
        with nogil:
            ret = _run(&ring, files.jobs, n, dir_fd, oflags, mode, howp, slots, fsync, batch,
                       &in_flight)
        if ret < 0:
            if in_flight:
                files.leak()
            raise OSError(-ret, "io_uring_enter failed")
    finally:
        if in_flight == 0:
            c.ioring_queue_exit(&ring)
    return files.failures()


def write_plain(paths, datas, int dir_fd, unsigned mode, int oflags, *, bint fsync=False):
    """The reference for ``write_pipelined``: the same files with a C loop of plain
    ``openat``/``write``/``close`` syscalls (GIL released), one file after the other, no
    io_uring. Same arguments and the same result: a list of ``(index, errno, request)`` for
    the files that failed. Used by ``bench/bench_files.py`` to show what the kernel itself
    costs per file."""
    cdef _Jobs files = _Jobs(paths, datas)
    cdef _Job *jb
    cdef Py_ssize_t i
    cdef int f
    cdef ssize_t w, off
    with nogil:
        for i in range(files.n):
            jb = &files.jobs[i]
            f = _open_now(dir_fd, jb.path, oflags, mode, NULL)
            if f < 0:
                _fail(jb, -f, _OPEN)
                continue
            off = 0
            while off < jb.len:
                w = c_write(f, jb.buf + off, jb.len - off)
                if w <= 0:
                    _fail(jb, errno if w < 0 else EIO, _WRITE)
                    break
                off += w
            if fsync and jb.err == 0 and c_fsync(f) < 0:
                _fail(jb, errno, _FSYNC)
            if c_close(f) < 0:
                _fail(jb, errno, _CLOSE)
    return files.failures()



# ---- read_chains: read_files' C loop -------------------------------------------------------------

cdef enum:
    _READ = 1               # kind of a read (the data request, as _WRITE)
    _READ_BIG = 4           # kinds[]: the read filled its buffer (the file may be longer)
    _READ_SHIFT = 32        # user_data: job << 32 | slot << 3 | _FINAL | kind
    _READ_SLOT_MASK = 0x1FFFFFFF


def read_chains(paths, int dir_fd=-100, *, unsigned slots=64, unsigned size=32768):
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
    (ENOSYS/EPERM: io_uring unavailable; EINVAL: no IORING_FEAT_LINKED_FILE, before 5.17)."""
    cdef tuple ps = _checked_paths(paths)
    cdef Py_ssize_t n = len(ps), i = 0, done = 0, job
    cdef c.ioring ring
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
    cdef bint in_flight_left = False, out_of_memory = False
    cdef list contents = [None] * n
    _check_slots(slots)
    if size % 4096 or not 4096 <= size <= (1 << 24):
        raise ValueError("size must be a multiple of 4096 in 4096..16 MiB")
    if n == 0:
        return contents, [], []
    if slots > n:
        slots = <unsigned>n
    cap = 2 * slots + 8
    _queue_init(&ring, 2 * slots + 2)
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
        ret = c.ioring_register_files_sparse(&ring, slots)
        if ret < 0:
            raise OSError(-ret, "io_uring_register_files_sparse failed")
        for k in range(slots):
            free_slots[nfree] = slots - 1 - k
            nfree += 1
        # From here until every chain has completed nothing may raise: the kernel writes into
        # ``mem`` (a MemoryError of a bytes is recorded and raised after the loop).
        in_flight_left = True
        while done < n:
            while i < n and nfree:
                nfree -= 1
                k = free_slots[nfree]
                ud = (<uint64_t>i << _READ_SHIFT) | (<uint64_t>k << 3)
                sqe = c.ioring_get_sqe(&ring)
                c.ioring_prep_openat_direct(sqe, dir_fd, PyBytes_AS_STRING(ps[i]), O_RDONLY, 0, k)
                sqe.flags = IOSQE_IO_LINK
                sqe.user_data = ud | _OPEN
                sqe = c.ioring_get_sqe(&ring)
                c.ioring_prep_read(sqe, <int>k, mem + <size_t>k * size, size, 0)
                sqe.flags = IOSQE_FIXED_FILE
                sqe.user_data = ud | _FINAL | _READ
                i += 1
            with nogil:
                ret = c.ioring_submit_and_wait(&ring, 1)
            if ret < 0 and ret != -EINTR and ret != -EAGAIN and ret != -EBUSY:
                break           # chains may be in flight: ``mem`` and the ring are kept
            got = c.ioring_peek_batch_cqe(&ring, cqes, cap)
            for j in range(got):
                cqe = cqes[j]
                ud = cqe.user_data
                res = cqe.res
                job = <Py_ssize_t>(ud >> _READ_SHIFT)
                if res < 0:
                    if errs[job] == 0:          # the open's error, not the cancelled read's
                        errs[job] = -res
                        kinds[job] = <char>(ud & 3)
                if ud & _FINAL:
                    k = <unsigned>((ud >> 3) & _READ_SLOT_MASK)
                    if res >= 0 and errs[job] == 0:
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
            c.ioring_cq_advance(&ring, got)
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
        if not in_flight_left:          # else: leaked, the kernel may still write into mem
            c.ioring_queue_exit(&ring)
            free(mem)
        free(free_slots)
        free(cqes)
        free(errs)
        free(kinds)
