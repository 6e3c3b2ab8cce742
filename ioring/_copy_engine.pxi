# Included by _fileops.pyx (it shares that module's ring set-up, signal and cancellation helpers).
#
# ---- TreeCopier: the engine of ioring.files.copytree ---------------------------------------------
#
# One regular file is copied by two short linked chains on direct descriptors (slot k for the
# source, slots + k for the destination), the data staying in the slot's buffer in between:
#
#   A: openat_direct(src, k) -> read(k, buf, size + 1)        size: from the stat taken first
#   B: openat_direct(dst, slots + k, O_CREAT|O_TRUNC) -> write(slots + k, buf, n)
#
# A asks one byte more than the stat said, so its read is always short unless the file grew:
# a short read breaks a link, so the read is the last request of A, and its result is the size
# to write (a file that shrank is copied to its new end; one that grew - the read filled size + 1
# bytes - is copied again with plain syscalls, to its end). Nothing follows a request that may
# fail or come back short, so no chain leaves a descriptor open: a slot is closed when the next
# open replaces it, or with the ring. B is queued only once A succeeded, so a source that cannot
# be opened or read never creates its destination (as shutil.copyfile). On B's completion the
# calling thread sets the times (utimensat), the extended attributes and, where the creation
# mode minus the umask differs from the source's mode, the mode (fchmodat), as shutil.copystat.
#
# Files larger than the slot buffer, and every file when no ring can be set up, are copied on
# the calling thread with plain syscalls (copy_file_range, else read/write) while the ring works
# on the chains in flight.

from ioring.includes.libc_extra cimport listxattr, getxattr, setxattr, copy_file_range, ENOTSUP
from posix.unistd cimport read as c_read
from libc.errno cimport ENODATA, EPERM, EXDEV, ENOSYS, EOPNOTSUPP, ERANGE
from posix.fcntl cimport O_WRONLY, O_CREAT, O_TRUNC
from posix.stat cimport utimensat, fchmodat
from libc.stdlib cimport malloc, realloc
from libc.string cimport memset, strlen

# What failed (``TreeCopier`` failures: (index, errno, step)); the path it concerns is the
# source for the first three and the listing of extended attributes, else the destination.
_COPY_STEPS = ("stat", "open", "read", "create", "write", "utime", "listxattr", "xattr",
               "chmod", "close", "same", "special", "interrupted")

cdef enum:
    _ST_STAT = 0
    _ST_OPEN = 1
    _ST_READ = 2
    _ST_CREATE = 3
    _ST_WRITE = 4
    _ST_UTIME = 5
    _ST_LISTXATTR = 6
    _ST_XATTR = 7
    _ST_CHMOD = 8
    _ST_CLOSE = 9
    _ST_SAME = 10           # the destination is the source (shutil.SameFileError)
    _ST_SPECIAL = 11        # not a regular file: left to shutil.copy2 (FIFO, device, socket)
    _ST_INTERRUPTED = 12

    # user_data: job << 3 | request
    _RQ_OPEN_SRC = 0
    _RQ_READ = 1
    _RQ_OPEN_DST = 2
    _RQ_WRITE = 3
    _RQ_SHIFT = 3

    _PLAIN_CHUNK = 1 << 20          # copy_file_range / read-write step of the plain copy

ctypedef struct _CopyJob:
    const char *src
    const char *dst
    long long size          # from the stat; chain A reads size + 1
    unsigned mode           # st_mode of the source
    timespec atime, mtime
    unsigned n              # bytes read by chain A, written by chain B
    unsigned slot
    int err                 # first errno, 0 if none
    int step                # the step that failed (_ST_*)
    bint existing           # its directory existed: the destination may exist (same-file check, chmod)
    bint dst_made           # the destination was created or truncated by this job


cdef inline void _copy_fail(_CopyJob *jb, int err, int step) noexcept nogil:
    if jb.err == 0:
        jb.err = err
        jb.step = step


cdef void _remove_path(const char *path) noexcept nogil:
    """Unlink ``path`` if it is a regular file (a copy cut short; never a device or FIFO)."""
    cdef struct_stat named
    if fstatat(-100, path, &named, AT_SYMLINK_NOFOLLOW) == 0 and S_ISREG(named.st_mode):
        unlinkat(-100, path, 0)


cdef int _copy_xattrs(const char *src, const char *dst, int *error) noexcept nogil:
    """shutil._copyxattr: 0, or the step that failed with its errno in ``*error``. Names the source cannot list (ENOTSUP,
    ENODATA, EINVAL) mean none; a value that cannot be read or set for EPERM, ENOTSUP, ENODATA
    or EINVAL is skipped."""
    cdef char small[1024]
    cdef char *names = small
    cdef char *value = NULL
    cdef ssize_t size = listxattr(src, small, sizeof(small)), vsize
    cdef ssize_t pos = 0
    cdef int err = 0, step = 0
    if size < 0 and errno == ERANGE:
        size = listxattr(src, NULL, 0)
        if size > 0:
            names = <char *>malloc(size)
            if names == NULL:
                error[0] = ENOMEM
                return _ST_LISTXATTR
            size = listxattr(src, names, size)
    if size < 0:
        err = errno
        if names != small:
            free(names)
        if err == ENOTSUP or err == ENODATA or err == EINVAL:
            return 0
        error[0] = err
        return _ST_LISTXATTR
    while pos < size and step == 0:
        vsize = getxattr(src, names + pos, NULL, 0)
        if vsize >= 0:
            value = <char *>malloc(vsize + 1)
            if value == NULL:
                err = ENOMEM
                step = _ST_XATTR
                break
            vsize = getxattr(src, names + pos, value, vsize)
            if vsize >= 0 and setxattr(dst, names + pos, value, vsize, 0) == 0:
                vsize = 0
            free(value)
        if vsize < 0:
            err = errno
            if not (err == EPERM or err == ENOTSUP or err == ENODATA or err == EINVAL):
                step = _ST_XATTR
        pos += strlen(names + pos) + 1
    if names != small:
        free(names)
    error[0] = err
    return step


@cython.final
@cython.no_gc_clear
cdef class TreeCopier:
    """``TreeCopier(slots=64, bufsize=65536, use_ring=True, umask=-1)``: copies regular files
    (contents, then times, extended attributes and mode, as ``shutil.copy2``) with up to
    ``slots`` files in flight on a private ring (see the comment at the top of this file).
    ``add(srcs, dsts)`` starts a batch and returns once every file of it is started (up to
    ``slots`` stay in flight, so the caller can list the next directory meanwhile); ``drain()``
    waits for all and returns the failures; ``close()`` cancels and reaps what is in flight
    (removing each destination it did not complete). ``umask``: the process umask, or -1 when
    unknown (then every copy is chmod-ed). ``use_ring=False``, or a ring that cannot be set up:
    every file is copied with plain syscalls (``ring_used`` says which).

    Interrupted (a signal handler raises, e.g. KeyboardInterrupt): nothing new is started, the
    chains in flight are cancelled and reaped, each destination they created and did not
    complete is removed, then the exception propagates; every destination is complete (with
    its attributes), absent, or untouched. The GIL is held except inside io_uring_enter."""
    cdef io_uring uring             # the thin layer's ring, claimed through its door while open
    cdef c.ioring *ring             # its C struct (door_claim), which the loop drives
    cdef bint has_ring, closed, leaked, async_create, busy
    cdef unsigned slots, bufsize, nfree, in_flight
    cdef int umask
    cdef char *mem
    cdef unsigned *free_slots
    cdef c.io_uring_cqe **cqes
    cdef _CopyJob *jobs
    cdef Py_ssize_t njobs, cap, started
    cdef list keep                  # the bytes objects the jobs' paths point into
    cdef public long long bytes_done
    cdef public long long bytes_found

    def __cinit__(self, unsigned slots=64, unsigned bufsize=65536, bint use_ring=True,
                  int umask=-1, unsigned max_workers=0, bint async_create=True):
        cdef int ret
        cdef unsigned k
        cdef unsigned workers[2]
        _check_slots(slots)
        if not 4096 <= bufsize <= (1 << 24):
            raise ValueError("bufsize must be in 4096..16 MiB")
        self.slots = slots
        self.bufsize = bufsize
        self.umask = umask
        self.async_create = async_create
        self.keep = []
        self.free_slots = <unsigned *>calloc(slots, sizeof(unsigned))
        self.cqes = <c.io_uring_cqe **>calloc(4 * slots + 8, sizeof(void *))
        if self.free_slots == NULL or self.cqes == NULL:
            raise MemoryError()
        for k in range(slots):
            self.free_slots[k] = slots - 1 - k
        self.nfree = slots
        if not use_ring:
            return
        try:
            self.uring = _engine_ring(4 * slots, "ioring.files.copytree", &self.ring)
        except OSError:
            return                      # io_uring unavailable: plain syscalls
        self.has_ring = True
        if not self.ring.features & IORING_FEAT_LINKED_FILE or \
                c.ioring_register_files_sparse(self.ring, 2 * slots) < 0:
            self._drop_ring()
            return
        if max_workers:
            workers[0] = workers[1] = max_workers
            c.ioring_register_iowq_max_workers(self.ring, workers)  # best effort (5.15+)
        # the slots' buffers (faulted in as used)
        self.mem = <char *>aligned_alloc(4096, (<size_t>slots * bufsize + 4095) & ~(<size_t>4095))
        if self.mem == NULL:
            self._drop_ring()
            raise MemoryError()

    @property
    def ring_used(self):
        """True when the files are copied through io_uring chains."""
        return self.has_ring

    def add(self, srcs, dsts, bint existing=False):
        """Start copying ``srcs[i]`` to ``dsts[i]`` (``bytes`` paths): each source is stat-ed
        (following symbolic links) and, if it is a regular file, copied; other files fail with
        step "special". ``existing``: the destinations' directory existed before, so a
        destination may exist (checked not to be its source, and always chmod-ed). Jobs are
        numbered in the order added, from 0. Returns once every file is started."""
        cdef tuple s = _checked_paths(srcs), d = _checked_paths(dsts)
        cdef Py_ssize_t n = len(s), i
        cdef _CopyJob *jb
        cdef void *grown
        cdef Py_ssize_t cap
        if len(d) != n:
            raise ValueError("srcs and dsts differ in length")
        self._enter()
        try:
            if self.njobs + n > self.cap:
                cap = max(2 * self.cap, self.njobs + n, 256)
                grown = realloc(self.jobs, cap * sizeof(_CopyJob))
                if grown == NULL:
                    raise MemoryError()
                self.cap = cap
                self.jobs = <_CopyJob *>grown
            self.keep.append(s)
            self.keep.append(d)
            for i in range(n):
                jb = &self.jobs[self.njobs + i]
                memset(jb, 0, sizeof(_CopyJob))
                jb.src = PyBytes_AS_STRING(s[i])
                jb.dst = PyBytes_AS_STRING(d[i])
                jb.existing = existing
            self.njobs += n
            self._pump(False, None)
        finally:
            self.busy = False
        return self.njobs

    def drain(self, progress=None):
        """Wait until every file added has been copied; returns ``(index, errno, step)`` for
        each that failed (``step`` one of ``_COPY_STEPS``). ``progress(bytes_done,
        bytes_found)`` is called about every 100 ms meanwhile."""
        self._enter()
        try:
            self._pump(True, progress)
        finally:
            self.busy = False
        return [(i, self.jobs[i].err, _COPY_STEPS[self.jobs[i].step])
                for i in range(self.njobs) if self.jobs[i].err]

    def close(self):
        """Cancel and reap what is in flight (removing the destinations it did not complete),
        then release the ring and the buffers. Safe to call twice."""
        if self.busy:
            raise RuntimeError("TreeCopier is in use (by another thread, or from its progress "
                               "callback)")
        self._shutdown()

    cdef int _enter(self) except -1:
        """One call at a time: the loop releases the GIL while it waits in the kernel."""
        if self.closed:
            raise ValueError("TreeCopier is closed")
        if self.busy:
            raise RuntimeError("TreeCopier is in use (by another thread, or from its progress "
                               "callback)")
        self.busy = True
        return 0

    def __dealloc__(self):
        self._shutdown()
        if not self.leaked:
            free(self.mem)
            free(self.jobs)
        free(self.free_slots)
        free(self.cqes)

    cdef void _shutdown(self) noexcept:
        cdef int ret
        if self.closed:
            return
        self.closed = True
        if self.has_ring:
            if self.in_flight:
                _queue_cancel_all(self.ring)
            while self.in_flight:
                with nogil:
                    ret = _wait_round(self.ring)
                if not _transient(ret):
                    # The kernel may still use the buffers and paths: keep them forever.
                    self._leak()
                    return
                self._reap(True)
            self._drop_ring()

    cdef void _drop_ring(self) noexcept:
        """Release the ring through the door and tear it down (nothing is in flight)."""
        self.has_ring = False
        _engine_done(self.uring, False)
        self.uring = None
        self.ring = NULL

    cdef void _leak(self) noexcept:
        """Requests may still be in flight: the buffers, the paths and the ring (claimed, open)
        are kept forever."""
        self.leaked = True
        Py_INCREF(self.keep)
        _engine_done(self.uring, True)

    # ---- the loop -----------------------------------------------------------------------------

    cdef int _pump(self, bint wait_all, progress) except -1:
        """Start the added jobs (waiting for free slots as needed); with ``wait_all``, then wait
        until none is in flight. A signal handler's exception: cancel, reap, raise."""
        cdef int ret
        cdef bint interrupted = False
        cdef long long next_report = 0          # the first round reports, then every 100 ms
        while True:
            while self.started < self.njobs and self.nfree and not interrupted:
                ret = self._start(self.started)
                self.started += 1
                if ret == 0 and _run_signal_handlers() < 0:    # a flag test unless signalled
                    ret = -1
                if ret < 0:
                    interrupted = True          # a signal handler raised
                    if self.in_flight:
                        _queue_cancel_all(self.ring)
            if not interrupted and self.started == self.njobs and \
                    (not wait_all or self.in_flight == 0):
                break
            if not self.has_ring or (self.in_flight == 0 and interrupted):
                break
            with nogil:
                ret = _wait_round(self.ring)
            if not _transient(ret):
                self._leak()
                self.closed = True              # the kernel may still use buffers and paths
                raise OSError(-ret, "io_uring_enter failed")
            ret = self._reap(interrupted)
            if interrupted:
                continue
            if ret < 0 or _run_signal_handlers() < 0:
                interrupted = True
                if self.in_flight:
                    _queue_cancel_all(self.ring)
                continue
            if progress is not None and _now_ns() >= next_report:
                next_report = _now_ns() + 100000000
                progress(self.bytes_done, self.bytes_found)
        if self.has_ring and c.ioring_sq_ready(self.ring):
            c.ioring_submit(self.ring)         # the kernel works while the caller walks on
        if interrupted:
            _raise_pending()
        return 0

    cdef bint _needs_chmod(self, _CopyJob *jb) noexcept:
        """The mode a new file got (creation mode 0o777 bits minus the umask) is not the
        source's: set it."""
        return jb.existing or self.umask < 0 or \
            (jb.mode & 0o7777) != ((jb.mode & 0o777) & ~<unsigned>self.umask)

    cdef int _start(self, Py_ssize_t j) noexcept:
        """Stat job ``j``'s source and queue its chain A (or copy it now with plain syscalls).
        -1: a signal handler raised during a plain copy (its exception is left set)."""
        cdef _CopyJob *jb = &self.jobs[j]
        cdef struct_stat st, dst_st
        cdef c.io_uring_sqe *sqe
        cdef uint64_t ud = <uint64_t>j << _RQ_SHIFT
        cdef unsigned k
        if fstatat(-100, jb.src, &st, 0) < 0:
            _copy_fail(jb, errno, _ST_STAT)
            return 0
        if not S_ISREG(st.st_mode):
            _copy_fail(jb, -1, _ST_SPECIAL)
            return 0
        if jb.existing and fstatat(-100, jb.dst, &dst_st, 0) == 0 and \
                dst_st.st_dev == st.st_dev and dst_st.st_ino == st.st_ino:
            _copy_fail(jb, -1, _ST_SAME)
            return 0
        jb.size = st.st_size
        jb.mode = st.st_mode
        jb.atime = st.st_atim
        jb.mtime = st.st_mtim
        self.bytes_found += st.st_size
        if not self.has_ring or st.st_size >= self.bufsize:
            return self._copy_plain(jb)
        if c.ioring_sq_space_left(self.ring) < 2:
            c.ioring_submit(self.ring)
        self.nfree -= 1
        k = self.free_slots[self.nfree]
        jb.slot = k
        sqe = c.ioring_get_sqe(self.ring)
        c.ioring_prep_openat_direct(sqe, -100, jb.src, O_RDONLY, 0, k)
        sqe.flags = IOSQE_IO_LINK
        sqe.user_data = ud | _RQ_OPEN_SRC
        sqe = c.ioring_get_sqe(self.ring)
        c.ioring_prep_read(sqe, <int>k, self.mem + <size_t>k * self.bufsize, <unsigned>jb.size + 1, 0)
        sqe.flags = IOSQE_FIXED_FILE
        sqe.user_data = ud | _RQ_READ
        self.in_flight += 1
        return 0

    cdef void _queue_write(self, Py_ssize_t j) noexcept:
        """Chain B of job ``j``: create the destination in slot slots + k, write what A read."""
        cdef _CopyJob *jb = &self.jobs[j]
        cdef c.io_uring_sqe *sqe
        cdef uint64_t ud = <uint64_t>j << _RQ_SHIFT
        cdef unsigned k = jb.slot
        if c.ioring_sq_space_left(self.ring) < 2:
            c.ioring_submit(self.ring)
        sqe = c.ioring_get_sqe(self.ring)
        c.ioring_prep_openat_direct(sqe, -100, jb.dst, O_WRONLY | O_CREAT | O_TRUNC,
                                    jb.mode & 0o777, self.slots + k)
        sqe.user_data = ud | _RQ_OPEN_DST
        if self.async_create:
            # An O_CREAT open always ends on io-wq (the non-blocking attempt refuses it):
            # skip the attempt.
            sqe.flags = IOSQE_ASYNC
        if jb.n:
            sqe.flags |= IOSQE_IO_LINK
            sqe = c.ioring_get_sqe(self.ring)
            c.ioring_prep_write(sqe, <int>(self.slots + k), self.mem + <size_t>k * self.bufsize,
                                jb.n, 0)
            sqe.flags = IOSQE_FIXED_FILE

            sqe.user_data = ud | _RQ_WRITE

    cdef void _release(self, _CopyJob *jb) noexcept:
        self.free_slots[self.nfree] = jb.slot
        self.nfree += 1
        self.in_flight -= 1

    cdef int _reap(self, bint interrupted) noexcept:
        """Handle the completions in the CQ (see the comment at the top of this file). -1: a
        signal handler raised during a plain copy (its exception is left set)."""
        cdef unsigned got = c.ioring_peek_batch_cqe(self.ring, self.cqes, 4 * self.slots + 8)
        cdef unsigned i
        cdef int res, rq
        cdef uint64_t ud
        cdef Py_ssize_t j
        cdef _CopyJob *jb
        cdef int ret = 0
        for i in range(got):
            ud = self.cqes[i].user_data
            res = self.cqes[i].res
            if ud == _CANCEL_UD:
                continue
            j = <Py_ssize_t>(ud >> _RQ_SHIFT)
            rq = <int>(ud & 7)
            jb = &self.jobs[j]
            if rq == _RQ_OPEN_SRC:
                if res < 0:
                    _copy_fail(jb, -res, _ST_OPEN)
            elif rq == _RQ_READ:
                if res < 0:
                    _copy_fail(jb, -res, _ST_READ)      # after a failed open: kept
                if jb.err or interrupted:
                    _copy_fail(jb, EINTR, _ST_INTERRUPTED)
                    self._release(jb)
                elif res > jb.size:
                    # It grew since the stat: copy it whole, to its end, with plain syscalls.
                    self._release(jb)
                    if self._copy_plain(jb) < 0:
                        ret = -1
                else:
                    jb.n = <unsigned>res
                    self._queue_write(j)
            elif rq == _RQ_OPEN_DST:
                if res < 0:
                    _copy_fail(jb, -res, _ST_CREATE)
                else:
                    jb.dst_made = True
                if jb.n == 0:
                    if jb.err == 0:
                        self._finish(jb)
                    self._release(jb)
            else:                                       # _RQ_WRITE, the last of chain B
                if res >= 0 and <unsigned>res != jb.n:
                    _copy_fail(jb, EIO, _ST_WRITE)      # short write (e.g. ENOSPC after a part)
                elif res < 0:
                    _copy_fail(jb, -res, _ST_WRITE)
                if jb.err:
                    if jb.dst_made:
                        _remove_path(jb.dst)
                else:
                    self.bytes_done += jb.n
                    self._finish(jb)
                self._release(jb)
        c.ioring_cq_advance(self.ring, got)
        return ret

    cdef void _finish(self, _CopyJob *jb) noexcept:
        """shutil.copystat for a copied file: times, extended attributes, mode."""
        cdef timespec ts[2]
        cdef int step, err = 0
        ts[0] = jb.atime
        ts[1] = jb.mtime
        if utimensat(-100, jb.dst, ts, 0) < 0:
            _copy_fail(jb, errno, _ST_UTIME)
            return
        step = _copy_xattrs(jb.src, jb.dst, &err)
        if step:
            _copy_fail(jb, err, step)
            return
        if self._needs_chmod(jb) and fchmodat(-100, jb.dst, jb.mode & 0o7777, 0) < 0:
            _copy_fail(jb, errno, _ST_CHMOD)

    cdef int _copy_plain(self, _CopyJob *jb) noexcept:
        """Copy one file with plain syscalls on this thread: open both, copy_file_range (or
        read/write, across file systems) to the end, close, copystat. Returns -1 when a signal
        handler raised between chunks (its exception is left set; the destination is removed)."""
        cdef int fi, fo, interrupted = 0
        cdef struct_stat st
        cdef long long off = 0
        cdef ssize_t got, put, w
        cdef bint use_cfr = True
        cdef char *buf = NULL
        fi = openat(-100, jb.src, O_RDONLY | O_CLOEXEC)
        if fi < 0:
            _copy_fail(jb, errno, _ST_OPEN)
            return 0
        if fstat(fi, &st) == 0:
            jb.mode = st.st_mode                # its state now (it may have changed since)
            jb.atime = st.st_atim
            jb.mtime = st.st_mtim
        fo = openat(-100, jb.dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, jb.mode & 0o777)
        if fo < 0:
            _copy_fail(jb, errno, _ST_CREATE)
            c_close(fi)
            return 0
        jb.dst_made = True
        while True:
            if use_cfr:
                with nogil:
                    got = copy_file_range(fi, NULL, fo, NULL, _PLAIN_CHUNK, 0)
                if got < 0 and off == 0 and (errno == EXDEV or errno == EINVAL or errno == ENOSYS
                                             or errno == EOPNOTSUPP or errno == EPERM):
                    use_cfr = False             # another file system, or no in-kernel copy
                    continue
                if got < 0:
                    _copy_fail(jb, errno, _ST_WRITE)
                    break
            else:
                if buf == NULL:
                    buf = <char *>malloc(_PLAIN_CHUNK)
                    if buf == NULL:
                        _copy_fail(jb, ENOMEM, _ST_READ)
                        break
                with nogil:
                    got = c_read(fi, buf, _PLAIN_CHUNK)
                if got < 0:
                    _copy_fail(jb, errno, _ST_READ)
                    break
                put = 0
                while put < got:
                    with nogil:
                        w = c_write(fo, buf + put, got - put)
                    if w <= 0:
                        _copy_fail(jb, errno if w < 0 else EIO, _ST_WRITE)
                        break
                    put += w
                if jb.err:
                    break
            if got == 0:
                break
            off += got
            self.bytes_done += got
            if off >= _PLAIN_CHUNK and _run_signal_handlers() < 0:
                _copy_fail(jb, EINTR, _ST_INTERRUPTED)
                interrupted = 1
                break
        free(buf)
        c_close(fi)
        if jb.err:
            _remove_own(-100, jb.dst, fo)
            c_close(fo)
            return -interrupted
        if c_close(fo) < 0:
            _copy_fail(jb, errno, _ST_CLOSE)
            return 0
        self._finish(jb)
        return 0


def copy_stats(srcs, dsts):
    """``shutil.copystat(src, dst)`` for each pair of ``bytes`` paths (directories, once
    their contents are copied): times, extended attributes, mode, following symbolic links.
    Returns ``(index, errno, step)`` for each that failed (steps as ``TreeCopier``)."""
    cdef tuple s = _checked_paths(srcs), d = _checked_paths(dsts)
    cdef Py_ssize_t i
    cdef _CopyJob jb
    cdef struct_stat st
    cdef timespec ts[2]
    cdef int step, err = 0
    cdef list failed = []
    if len(s) != len(d):
        raise ValueError("srcs and dsts differ in length")
    for i in range(len(s)):
        memset(&jb, 0, sizeof(jb))
        jb.src = PyBytes_AS_STRING(s[i])
        jb.dst = PyBytes_AS_STRING(d[i])
        if fstatat(-100, jb.src, &st, 0) < 0:
            _copy_fail(&jb, errno, _ST_STAT)
        else:
            ts[0] = st.st_atim
            ts[1] = st.st_mtim
            if utimensat(-100, jb.dst, ts, 0) < 0:
                _copy_fail(&jb, errno, _ST_UTIME)
            else:
                step = _copy_xattrs(jb.src, jb.dst, &err)
                if step:
                    _copy_fail(&jb, err, step)
                elif fchmodat(-100, jb.dst, st.st_mode & 0o7777, 0) < 0:
                    _copy_fail(&jb, errno, _ST_CHMOD)
        if jb.err:
            failed.append((i, jb.err, _COPY_STEPS[jb.step]))
    return failed
