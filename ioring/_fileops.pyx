# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, autotestdict=False, auto_pickle=False
"""C-level batch entry points of ``ioring.files``: one call into C for a whole set of files,
the GIL released for the whole I/O loop.

``write_chains`` is the engine of ``ioring.files.write_files``: for every file one linked chain
``openat_direct(slot) -> write(slot) [-> fsync(slot)]`` on a private ring with a sparse table
of ``slots`` direct descriptors (no fd-table operations, the slot is closed by the next open
into it and the table with the ring). Nothing of this loop touches a Python object: paths are held as
``bytes`` and data as ``Py_buffer`` exports for the whole call, and the call returns only after
every request has completed, so no buffer is released while the kernel may use it.
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
        IOSQE_FIXED_FILE
        IOSQE_IO_LINK
        O_CLOEXEC
        IORING_SETUP_COOP_TASKRUN
        IORING_FEAT_LINKED_FILE

cdef extern from "<errno.h>" nogil:
    enum:
        EINTR
        EAGAIN
        EBUSY
        EINVAL
        EIO
        ECANCELED
        ENOMEM

cimport cython
from libc.stdint cimport uint64_t
from libc.stdlib cimport calloc, free
from cpython.ref cimport Py_INCREF
from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_SIMPLE
from cpython.bytes cimport PyBytes_AS_STRING

from ioring cimport _core as c

cdef extern from "ioring/python.h" nogil:
    void ioring_prep_openat_direct(c.io_uring_sqe *sqe, int dfd, const char *path, int flags,
                                   unsigned mode, unsigned file_index)
    void ioring_prep_openat2_direct(c.io_uring_sqe *sqe, int dfd, const char *path,
                                    c.ioring_open_how *how, unsigned file_index)
    int ioring_register_files_sparse(c.ioring *ring, unsigned nr)
    int ioring_register_iowq_max_workers(c.ioring *ring, unsigned *val)

cdef enum:
    _OPEN = 0
    _WRITE = 1
    _FSYNC = 2
    _FINAL = 4
    _SLOT_SHIFT = 3
    _JOB_SHIFT = 32
    _MAX_SLOTS = 1 << 16
    _MAX_LEN = 1 << 30

_KIND_NAMES = ("open", "write", "fsync")


ctypedef struct _Job:
    const char *path
    char *buf
    unsigned len
    int err             # first errno of the chain, 0 if none
    int kind            # the request that failed (_OPEN, _WRITE, _FSYNC)


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
        self.paths = tuple(paths)
        self.datas = tuple(datas)
        self.n = len(self.paths)
        if len(self.datas) != self.n:
            raise ValueError("paths and datas differ in length")
        for p in self.paths:
            if type(p) is not bytes:
                raise TypeError(f"paths must be bytes, not {type(p).__name__}")
            if b"\0" in <bytes>p:
                raise ValueError("embedded null byte in path")
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
        """``(index, errno, request)`` for every file whose chain failed."""
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


cdef int _run(c.ioring *ring, _Job *jobs, Py_ssize_t n, int dir_fd, int oflags, unsigned mode,
              c.ioring_open_how *how, unsigned slots, bint fsync, unsigned batch,
              Py_ssize_t *in_flight) noexcept nogil:
    """The I/O loop. Returns 0, or a negative errno of io_uring_enter that is not transient
    (``in_flight`` then says how many chains may still be running)."""
    cdef unsigned *free_slots = <unsigned *>calloc(slots, sizeof(unsigned))
    cdef c.io_uring_cqe **cqes = <c.io_uring_cqe **>calloc(4 * slots + 8, sizeof(void *))
    cdef unsigned nfree = 0, k, need, got, j, queued = 0
    cdef Py_ssize_t i = 0, done = 0, job
    cdef c.io_uring_sqe *sqe
    cdef c.io_uring_cqe *cqe
    cdef uint64_t ud
    cdef int ret, res, kind
    cdef _Job *jb
    if free_slots == NULL or cqes == NULL:
        free(free_slots)
        free(cqes)
        return -ENOMEM
    for k in range(slots):
        free_slots[nfree] = slots - 1 - k
        nfree += 1
    while done < n:
        while i < n and nfree:
            jb = &jobs[i]
            need = 1 + (1 if jb.len else 0) + (1 if fsync else 0)
            if c.ioring_sq_space_left(ring) < need:
                c.ioring_submit(ring)
                queued = 0
            nfree -= 1
            k = free_slots[nfree]
            ud = (<uint64_t>i << _JOB_SHIFT) | (<uint64_t>k << _SLOT_SHIFT)
            sqe = c.ioring_get_sqe(ring)
            if how != NULL:
                ioring_prep_openat2_direct(sqe, dir_fd, jb.path, how, k)
            else:
                ioring_prep_openat_direct(sqe, dir_fd, jb.path, oflags, mode, k)
            if need == 1:
                sqe.user_data = ud | _FINAL | _OPEN
            else:
                # No IOSQE_CQE_SKIP_SUCCESS: when a request flagged so fails, the kernel also
                # skips the CQEs of the canceled rest of the chain, so the final CQE we count
                # slots by would never come.
                sqe.flags = IOSQE_IO_LINK
                sqe.user_data = ud | _OPEN
                if jb.len:
                    sqe = c.ioring_get_sqe(ring)
                    c.ioring_prep_write(sqe, <int>k, jb.buf, jb.len, 0)
                    if fsync:
                        sqe.flags = IOSQE_FIXED_FILE | IOSQE_IO_LINK
                        sqe.user_data = ud | _WRITE
                    else:
                        sqe.flags = IOSQE_FIXED_FILE
                        sqe.user_data = ud | _FINAL | _WRITE
                if fsync:
                    sqe = c.ioring_get_sqe(ring)
                    c.ioring_prep_fsync(sqe, <int>k, 0)
                    sqe.flags = IOSQE_FIXED_FILE
                    sqe.user_data = ud | _FINAL | _FSYNC
            i += 1
            in_flight[0] += 1
            queued += 1
            if queued >= batch:
                c.ioring_submit(ring)
                queued = 0
        ret = c.ioring_submit_and_wait(ring, 1)
        queued = 0
        if ret < 0 and ret != -EINTR and ret != -EAGAIN and ret != -EBUSY:
            free(free_slots)
            free(cqes)
            return ret
        got = c.ioring_peek_batch_cqe(ring, cqes, 4 * slots + 8)
        for j in range(got):
            cqe = cqes[j]
            ud = cqe.user_data
            res = cqe.res
            job = <Py_ssize_t>(ud >> _JOB_SHIFT)
            jb = &jobs[job]
            kind = <int>(ud & 3)
            if res < 0:
                if jb.err == 0:
                    if res == -ECANCELED:       # a short write broke the chain (fsync)
                        jb.err = EIO
                        jb.kind = _WRITE
                    else:
                        jb.err = -res
                        jb.kind = kind
            elif kind == _WRITE and <unsigned>res != jb.len and jb.err == 0:
                jb.err = EIO
                jb.kind = _WRITE
            if ud & _FINAL:
                free_slots[nfree] = <unsigned>((ud >> _SLOT_SHIFT) & (_MAX_SLOTS - 1))
                nfree += 1
                done += 1
                in_flight[0] -= 1
        c.ioring_cq_advance(ring, got)
    free(free_slots)
    free(cqes)
    return 0


def write_chains(paths, datas, int dir_fd, unsigned mode, int oflags, *, unsigned long long resolve=0,
                 unsigned slots=64, bint fsync=False, unsigned batch=8, unsigned max_workers=0):
    """Create/truncate and write every file: ``paths`` a sequence of ``bytes`` (relative to
    ``dir_fd``, or absolute), ``datas`` a sequence of C-contiguous buffers of at most 1 GiB
    each (an empty one: the file is only opened). ``oflags`` are the open flags (O_WRONLY |
    O_CREAT | O_TRUNC ...), ``mode`` the creation mode, ``resolve`` RESOLVE_* flags for
    openat2 (0: openat). At most ``slots`` chains are in flight; queued chains are submitted
    every ``batch`` chains. ``max_workers`` > 0 caps the ring's io-wq workers (bounded and
    unbounded; 0 keeps the kernel's default, min(SQ entries, 4 x CPUs) bounded).

    Returns a list of ``(index, errno, request)`` for the files that failed, request being
    "open", "write" (a short write is EIO) or "fsync". Raises OSError when the ring cannot be
    set up (ENOSYS/EPERM: io_uring unavailable; EINVAL: a kernel without
    IORING_FEAT_LINKED_FILE, i.e. before 5.17), ValueError for a datum over 1 GiB."""
    cdef _Jobs files = _Jobs(paths, datas)
    cdef Py_ssize_t n = files.n, in_flight = 0
    cdef c.ioring ring
    cdef c.ioring_open_how how
    cdef c.ioring_open_how *howp = NULL
    cdef int ret = 0
    cdef unsigned workers[2]
    if not 1 <= slots <= 4096:
        raise ValueError("slots must be in 1..4096")
    if batch < 1:
        batch = 1
    oflags &= ~O_CLOEXEC        # direct descriptors are no fds (the kernel refuses it: EINVAL)
    if n == 0:
        return []
    if slots > n:
        slots = <unsigned>n
    ret = c.ioring_queue_init(4 * slots + 4, &ring, IORING_SETUP_COOP_TASKRUN)
    if ret == -EINVAL:
        ret = c.ioring_queue_init(4 * slots + 4, &ring, 0)      # before 5.19
    if ret < 0:
        raise OSError(-ret, "io_uring_queue_init failed")
    try:
        if not ring.features & IORING_FEAT_LINKED_FILE:
            raise OSError(EINVAL, "the kernel lacks IORING_FEAT_LINKED_FILE (5.17)")
        ret = ioring_register_files_sparse(&ring, slots)
        if ret < 0:
            raise OSError(-ret, "io_uring_register_files_sparse failed")
        if max_workers:
            workers[0] = workers[1] = max_workers
            ioring_register_iowq_max_workers(&ring, workers)    # best effort (5.15+)
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


cdef extern from "<fcntl.h>" nogil:
    int openat(int dirfd, const char *pathname, int flags, ...)

cdef extern from "<unistd.h>" nogil:
    ssize_t c_write "write"(int fd, const void *buf, size_t count)
    int c_close "close"(int fd)
    int c_fsync "fsync"(int fd)

cdef extern from "<errno.h>" nogil:
    int errno


def write_plain(paths, datas, int dir_fd, unsigned mode, int oflags, *, bint fsync=False):
    """The reference for ``write_chains``: the same files with a C loop of plain
    ``openat``/``write``/``close`` syscalls (GIL released), one file after the other, no
    io_uring. Same arguments (``oflags`` used as given) and the same result: a list of
    ``(index, errno, request)`` for the files that failed. Used by ``bench/bench_files.py``
    to show what the kernel itself costs per file."""
    cdef _Jobs files = _Jobs(paths, datas)
    cdef _Job *jobs = files.jobs
    cdef Py_ssize_t n = files.n, i
    cdef int f
    cdef ssize_t w, off
    with nogil:
        for i in range(n):
            f = openat(dir_fd, jobs[i].path, oflags, mode)
            if f < 0:
                jobs[i].err = errno
                jobs[i].kind = _OPEN
                continue
            off = 0
            while off < jobs[i].len:
                w = c_write(f, jobs[i].buf + off, jobs[i].len - off)
                if w <= 0:
                    jobs[i].err = errno if w < 0 else EIO
                    jobs[i].kind = _WRITE
                    break
                off += w
            if fsync and jobs[i].err == 0 and c_fsync(f) < 0:
                jobs[i].err = errno
                jobs[i].kind = _FSYNC
            c_close(f)
    return files.failures()
