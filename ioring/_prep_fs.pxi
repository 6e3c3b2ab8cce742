# io_uring_prep_* of the fs group: included by liburing.pyx (conventions as in _prep.pxi).
# Files, paths, xattrs, direct descriptors, pipes, splice, advice, poll/epoll, waitid, futexes,
# and the C struct types those ops hand to the kernel (epoll_event, siginfo, futex_waitv).

from cpython.buffer cimport PyObject_CheckBuffer
from posix.signal cimport siginfo_t
from posix.unistd cimport sysconf, _SC_PAGESIZE


import mmap as _mmap


from ioring.includes.prep_fs cimport *
from ioring.includes.prep cimport ioring_prep_timeout_update
from ioring.includes.abi cimport ioring_futex_waitv as _futex_waitv_t
from ioring.includes.libc_extra cimport _epoll_data_t, _epoll_event_t


FUTEX2_SIZE_U8 = _c_FUTEX2_SIZE_U8
FUTEX2_SIZE_U16 = _c_FUTEX2_SIZE_U16
FUTEX2_SIZE_U32 = _c_FUTEX2_SIZE_U32
FUTEX2_SIZE_U64 = _c_FUTEX2_SIZE_U64
FUTEX2_SIZE_MASK = _c_FUTEX2_SIZE_MASK
FUTEX2_NUMA = _c_FUTEX2_NUMA
FUTEX2_PRIVATE = _c_FUTEX2_PRIVATE
FUTEX_BITSET_MATCH_ANY = _c_FUTEX_BITSET_MATCH_ANY
FUTEX_WAITV_MAX = _c_FUTEX_WAITV_MAX
EPOLL_CTL_ADD = _c_EPOLL_CTL_ADD
EPOLL_CTL_DEL = _c_EPOLL_CTL_DEL
EPOLL_CTL_MOD = _c_EPOLL_CTL_MOD
RENAME_NOREPLACE = _c_RENAME_NOREPLACE
RENAME_EXCHANGE = _c_RENAME_EXCHANGE
RENAME_WHITEOUT = _c_RENAME_WHITEOUT
FALLOC_FL_KEEP_SIZE = _c_FALLOC_FL_KEEP_SIZE
FALLOC_FL_PUNCH_HOLE = _c_FALLOC_FL_PUNCH_HOLE
FALLOC_FL_COLLAPSE_RANGE = _c_FALLOC_FL_COLLAPSE_RANGE
FALLOC_FL_ZERO_RANGE = _c_FALLOC_FL_ZERO_RANGE
FALLOC_FL_INSERT_RANGE = _c_FALLOC_FL_INSERT_RANGE
FALLOC_FL_UNSHARE_RANGE = _c_FALLOC_FL_UNSHARE_RANGE
SYNC_FILE_RANGE_WAIT_BEFORE = _c_SYNC_FILE_RANGE_WAIT_BEFORE
SYNC_FILE_RANGE_WRITE = _c_SYNC_FILE_RANGE_WRITE
SYNC_FILE_RANGE_WAIT_AFTER = _c_SYNC_FILE_RANGE_WAIT_AFTER


# ---- C structs as small Python types -----------------------------------------------------------

@cython.final
cdef class epoll_event:
    """struct epoll_event { events, data }, laid out as <sys/epoll.h> lays it out (packed, 12
    bytes, on x86_64). ``data`` is epoll_data_t as its 64-bit member (data.u64); an fd stored
    by C code as data.fd reads back as that fd."""

    def __init__(self, uint32_t events=0, uint64_t data=0):
        memset(&self.ev, 0, sizeof(self.ev))
        self.ev.events = events
        self.ev.data.u64 = data

    @property
    def events(self): return self.ev.events
    @events.setter
    def events(self, uint32_t v): self.ev.events = v

    @property
    def data(self): return self.ev.data.u64
    @data.setter
    def data(self, uint64_t v): self.ev.data.u64 = v

    def __eq__(self, other):
        if not isinstance(other, epoll_event):
            return NotImplemented
        return (self.ev.events == (<epoll_event>other).ev.events and
                self.ev.data.u64 == (<epoll_event>other).ev.data.u64)

    def __repr__(self):
        return f"epoll_event(events={self.ev.events:#x}, data={self.ev.data.u64})"


cdef epoll_event _epoll_event_copy(const _epoll_event_t *src):
    cdef epoll_event e = epoll_event.__new__(epoll_event)
    e.ev = src[0]
    return e


@cython.final
cdef class epoll_event_array:
    """A C array of ``n`` struct epoll_event for io_uring_prep_epoll_wait, filled by the kernel
    in place. ``len(a)``; ``a[i]`` returns a copy as an epoll_event; ``a[i] = epoll_event(...)``."""

    def __cinit__(self, Py_ssize_t n):
        if n < 1:
            raise ValueError(f"an epoll_event_array needs at least one entry, not {n}")
        if n > 0x7FFFFFFF // <Py_ssize_t>sizeof(_epoll_event_t):
            raise ValueError(f"{n} entries is too many")
        self.events = <_epoll_event_t *>calloc(n, sizeof(_epoll_event_t))
        if self.events == NULL:
            raise MemoryError()
        self.count = n

    def __dealloc__(self):
        free(self.events)
        self.events = NULL

    def __len__(self):
        return self.count

    cdef Py_ssize_t _index(self, Py_ssize_t i) except -1:
        if i < 0:
            i += self.count
        if i < 0 or i >= self.count:
            raise IndexError("epoll_event_array index out of range")
        return i

    def __getitem__(self, Py_ssize_t i):
        return _epoll_event_copy(&self.events[self._index(i)])

    def __setitem__(self, Py_ssize_t i, epoll_event ev not None):
        self.events[self._index(i)] = ev.ev

    def __iter__(self):
        cdef Py_ssize_t i
        for i in range(self.count):
            yield _epoll_event_copy(&self.events[i])

    def __repr__(self):
        return f"epoll_event_array({self.count})"


@cython.final
cdef class siginfo:
    """siginfo_t, filled in place by the kernel (io_uring_prep_waitid): si_signo, si_errno,
    si_code, si_pid, si_uid, si_status."""

    def __init__(self):
        memset(&self.si, 0, sizeof(self.si))

    @property
    def si_signo(self): return self.si.si_signo
    @property
    def si_errno(self): return self.si.si_errno
    @property
    def si_code(self): return self.si.si_code
    @property
    def si_pid(self): return self.si.si_pid
    @property
    def si_uid(self): return self.si.si_uid
    @property
    def si_status(self): return self.si.si_status

    def __repr__(self):
        return (f"siginfo(si_signo={self.si.si_signo}, si_code={self.si.si_code}, "
                f"si_pid={self.si.si_pid}, si_uid={self.si.si_uid}, si_status={self.si.si_status})")


cdef _Buffer _futex_word(object uaddr, uint32_t futex_flags):
    """The writable buffer holding a futex word of the size FUTEX2_SIZE_* in futex_flags."""
    cdef _Buffer b = _Buffer(uaddr, True)
    cdef Py_ssize_t size = 1 << (futex_flags & <uint32_t>_c_FUTEX2_SIZE_MASK)
    if b.nbytes < size:
        raise ValueError(f"the futex word is {size} bytes, the buffer only {b.nbytes}")
    return b


@cython.final
cdef class futex_waitv:
    """struct futex_waitv { val, uaddr, flags } for io_uring_prep_futex_waitv. ``uaddr`` is a
    writable buffer whose first bytes are the futex word (e.g. a 4-byte slice of an mmap); this
    object keeps it pinned."""

    def __init__(self, uint64_t val, uaddr, uint32_t flags):
        cdef _Buffer b = _futex_word(uaddr, flags)
        memset(&self.fw, 0, sizeof(self.fw))
        self.fw.val = val
        self.fw.uaddr = <uint64_t><size_t>b.ptr
        self.fw.flags = flags
        self._word = b
        self._uaddr = uaddr

    @property
    def val(self): return self.fw.val
    @property
    def uaddr(self): return self._uaddr
    @property
    def flags(self): return self.fw.flags

    def __repr__(self):
        return f"futex_waitv(val={self.fw.val}, uaddr=<{type(self._uaddr).__name__}>, flags={self.fw.flags:#x})"


@cython.final
cdef class _FutexWaitvArray:
    """A contiguous C copy of futex_waitv entries; holds the entries (and so their words)."""

    def __cinit__(self, object futexes, object nr):
        cdef list items = list(futexes)
        cdef unsigned n = _length(len(items), nr, "nr_futex")
        cdef unsigned i
        cdef futex_waitv fw
        if n == 0:
            raise ValueError("at least one futex_waitv is required")
        if n > _c_FUTEX_WAITV_MAX:
            raise ValueError(f"at most FUTEX_WAITV_MAX ({_c_FUTEX_WAITV_MAX}) futexes, not {n}")
        for i in range(n):
            if not isinstance(items[i], futex_waitv):
                raise TypeError(f"futex entries must be futex_waitv, not {type(items[i]).__name__}")
        self.items = <_futex_waitv_t *>calloc(n, sizeof(_futex_waitv_t))
        if self.items == NULL:
            raise MemoryError()
        self.count = n
        self.entries = items[:n]
        for i in range(n):
            fw = <futex_waitv>items[i]
            self.items[i] = fw.fw

    def __dealloc__(self):
        free(self.items)
        self.items = NULL


# ---- the generic prep --------------------------------------------------------------------------

def io_uring_prep_rw(int op, io_uring_sqe sqe not None, int fd, addr, unsigned len, offset):
    """io_uring_prep_rw(3): the generic prep under every other one: opcode ``op``, ``fd``,
    ``addr``, ``len`` and ``offset`` (-1: (__u64)-1) go into the SQE as they are.

    ``addr`` cannot be a raw pointer in Python: it is None (NULL) or an object, pinned until
    the completion is consumed, whose address is used: a buffer, a str/bytes path, a sequence of
    buffers (an iovec array), or one of this module's C struct types. The result is checked as
    a field assignment is (see io_uring_sqe): wherever the opcode makes the kernel use memory
    through addr, off or addr3, it must be that object, of the size len (or the opcode) gives,
    writable where the kernel writes; a raw number in a field the opcode dereferences is
    refused. IORING_OP_PROVIDE_BUFFERS and IORING_OP_MADVISE are refused (use their prep
    helpers: the kernel keeps the buffers / advises whole pages)."""
    cdef c.io_uring_sqe *s
    cdef c.io_uring_sqe cand
    cdef uint64_t off = _offset(offset)
    cdef uint64_t address = 0
    cdef object pin = None
    if op < 0 or op > 0xFF:
        raise ValueError(f"op is an 8-bit IORING_OP_* value, not {op}")
    if op == _c_IORING_OP_PROVIDE_BUFFERS:
        raise ValueError("IORING_OP_PROVIDE_BUFFERS keeps the memory after completion: "
                         "use io_uring_prep_provide_buffers")
    if op == _c_IORING_OP_MADVISE:
        raise ValueError("IORING_OP_MADVISE advises whole pages around the buffer: use "
                         "io_uring_prep_madvise, which checks them")
    if addr is not None:
        if isinstance(addr, int):
            raise TypeError("addr cannot be a raw pointer: pass None (NULL) or a buffer object")
        address, pin = _pointer_object(addr)
    s = sqe._ptr()
    cand = s[0]
    c.ioring_prep_rw(op, &cand, fd, <void *><size_t>address, len, off)
    if pin is not None and not _refs_touching(&cand, 16, 8) & (_TOUCH_POINTER | _TOUCH_LOCKED):
        raise TypeError(f"{_op_name(op)} does not use addr as an address: pass None")
    _check_sqe(sqe, s, &cand, pin, True)
    sqe._begin()[0] = cand
    if pin is not None:
        sqe._pin(pin)
    if op == _c_IORING_OP_MSG_RING:
        # The target ring gets a CQE with user_data ``offset``, as with io_uring_prep_msg_ring.
        if sqe._own == NULL:
            _expect_foreign_cqe(fd, off)


# ---- splice, tee, pipe -------------------------------------------------------------------------

def io_uring_prep_splice(io_uring_sqe sqe not None, int fd_in, off_in, int fd_out, off_out,
                         unsigned nbytes, unsigned splice_flags=0):
    """io_uring_prep_splice(3): move ``nbytes`` from ``fd_in`` to ``fd_out``; one of them must
    be a pipe. An offset of -1 means the current position (and must be -1 for a pipe).
    SPLICE_F_FD_IN_FIXED in ``splice_flags`` makes ``fd_in`` a registered file index."""
    door_prep_splice(sqe, NULL, fd_in, off_in, fd_out, off_out, nbytes, splice_flags)


cdef object door_prep_splice(io_uring_sqe sqe, c.io_uring_sqe *s, int fd_in, object off_in, int fd_out,
                             object off_out, unsigned nbytes, unsigned splice_flags):
    """(The door's, _prep.pxi; pins nothing.)"""
    cdef int64_t oin = _s64(off_in, "off_in")
    cdef int64_t oout = _s64(off_out, "off_out")
    ioring_prep_splice(_target(sqe, s), fd_in, oin, fd_out, oout, nbytes, splice_flags)


def io_uring_prep_tee(io_uring_sqe sqe not None, int fd_in, int fd_out, unsigned nbytes,
                      unsigned splice_flags=0):
    """io_uring_prep_tee(3): duplicate up to ``nbytes`` from pipe ``fd_in`` into pipe
    ``fd_out`` without consuming them."""
    ioring_prep_tee(sqe._begin(), fd_in, fd_out, nbytes, splice_flags)


cdef _Buffer _pipe_fds(object fds):
    cdef _Buffer b = _Buffer(fds, True)
    if b.nbytes < 2 * <Py_ssize_t>sizeof(int):
        raise ValueError(f"fds must hold two C ints ({2 * sizeof(int)} bytes), not {b.nbytes} bytes")
    return b


def io_uring_prep_pipe(io_uring_sqe sqe not None, fds, int pipe_flags=0):
    """io_uring_prep_pipe(3): create a pipe; the kernel writes its two fds into ``fds``, a
    writable buffer of at least two C ints, e.g. ``array.array('i', [0, 0])`` (pinned until the
    completion is consumed). ``pipe_flags`` are pipe2(2)'s (O_CLOEXEC, O_NONBLOCK, ...)."""
    cdef _Buffer b = _pipe_fds(fds)
    ioring_prep_pipe(sqe._begin(), <int *>b.ptr, pipe_flags)
    sqe._pin(b)


def io_uring_prep_pipe_direct(io_uring_sqe sqe not None, fds, int pipe_flags, file_index):
    """io_uring_prep_pipe_direct(3): as io_uring_prep_pipe, into the registered file table from
    slot ``file_index`` (or IORING_FILE_INDEX_ALLOC); ``fds`` receives the two slot indexes."""
    cdef _Buffer b = _pipe_fds(fds)
    cdef unsigned idx = _file_index(file_index)
    ioring_prep_pipe_direct(sqe._begin(), <int *>b.ptr, pipe_flags, idx)
    sqe._pin(b)


# ---- space, size, advice, sync -----------------------------------------------------------------

def io_uring_prep_fallocate(io_uring_sqe sqe not None, int fd, int mode, offset, len):
    """io_uring_prep_fallocate(3): fallocate(2) ``mode`` (0 or FALLOC_FL_*) over
    [offset, offset+len)."""
    cdef uint64_t off = _u64(offset, "offset")
    cdef uint64_t n = _u64(len, "len")
    ioring_prep_fallocate(sqe._begin(), fd, mode, off, n)


def io_uring_prep_ftruncate(io_uring_sqe sqe not None, int fd, len):
    """io_uring_prep_ftruncate(3): set the file's size to ``len``."""
    cdef int64_t n = _s64(len, "len")
    ioring_prep_ftruncate(sqe._begin(), fd, n)


def io_uring_prep_fadvise(io_uring_sqe sqe not None, int fd, offset, len, int advice):
    """io_uring_prep_fadvise(3): posix_fadvise(2) ``advice`` (os.POSIX_FADV_*) for a 32-bit
    ``len`` from ``offset``."""
    cdef uint64_t off = _u64(offset, "offset")
    cdef unsigned n = _u32(len, "len")
    ioring_prep_fadvise(sqe._begin(), fd, off, n, advice)


def io_uring_prep_fadvise64(io_uring_sqe sqe not None, int fd, offset, len, int advice):
    """io_uring_prep_fadvise64(3): as io_uring_prep_fadvise with a 64-bit ``len``."""
    cdef uint64_t off = _u64(offset, "offset")
    cdef int64_t n = _s64(len, "len")
    ioring_prep_fadvise64(sqe._begin(), fd, off, n, advice)


cdef _Buffer _advice_range(object addr, long long length, int advice):
    """madvise() acts on whole pages: the page-rounded range must lie inside the buffer (or,
    for an mmap, inside its mapping, which the kernel rounds up to whole pages), and advice
    that can discard contents needs a writable buffer."""
    cdef _Buffer b = _Buffer(addr, False)
    cdef _Buffer whole
    cdef size_t page = <size_t>sysconf(_SC_PAGESIZE)
    cdef size_t start, end, limit
    # MADV_NORMAL, RANDOM, SEQUENTIAL, WILLNEED, COLD, PAGEOUT never change what memory reads.
    cdef bint harmless = advice in (0, 1, 2, 3, 20, 21)
    if length < 0:
        raise ValueError(f"length must be >= 0, not {length}")
    if b.view.readonly and not harmless:
        raise TypeError(f"advice {advice} may discard the memory's contents: a writable buffer is required")
    start = <size_t>b.ptr
    end = start + (<size_t>length + page - 1) // page * page
    limit = start + <size_t>b.nbytes
    base = addr.obj if isinstance(addr, memoryview) else addr
    if isinstance(base, _mmap.mmap):
        whole = _Buffer(base, False)
        limit = <size_t>whole.ptr + (<size_t>whole.nbytes + page - 1) // page * page
        if start + <size_t>length > <size_t>whole.ptr + <size_t>whole.nbytes:
            limit = 0                           # the bytes themselves must be in the buffer
    if end > limit:
        raise ValueError(f"length={length} covers whole pages past the end of the buffer ({b.nbytes} bytes)")
    return b


def io_uring_prep_madvise(io_uring_sqe sqe not None, addr, length, int advice):
    """io_uring_prep_madvise(3): madvise(2) ``advice`` (mmap.MADV_*) for the first ``length``
    (32-bit) bytes of the buffer ``addr``, which must be page-aligned (an mmap). The advice
    covers whole pages, so those must lie inside the buffer; the buffer is pinned."""
    cdef unsigned n = _u32(length, "length")
    cdef _Buffer b = _advice_range(addr, n, advice)
    ioring_prep_madvise(sqe._begin(), b.ptr, n, advice)
    sqe._pin(b)


def io_uring_prep_madvise64(io_uring_sqe sqe not None, addr, length, int advice):
    """io_uring_prep_madvise64(3): as io_uring_prep_madvise with a 64-bit ``length``."""
    cdef int64_t n = _s64(length, "length")
    cdef _Buffer b = _advice_range(addr, n, advice)
    ioring_prep_madvise64(sqe._begin(), b.ptr, n, advice)
    sqe._pin(b)


def io_uring_prep_sync_file_range(io_uring_sqe sqe not None, int fd, len, offset, int flags=0):
    """io_uring_prep_sync_file_range(3): sync_file_range(2) of ``len`` (32-bit; 0 = to the end)
    bytes from ``offset`` with SYNC_FILE_RANGE_* ``flags``."""
    cdef unsigned n = _u32(len, "len")
    cdef uint64_t off = _u64(offset, "offset")
    ioring_prep_sync_file_range(sqe._begin(), fd, n, off, flags)


# ---- paths -------------------------------------------------------------------------------------

def io_uring_prep_unlinkat(io_uring_sqe sqe not None, int dfd, path, int flags=0):
    """io_uring_prep_unlinkat(3): unlinkat(2); AT_REMOVEDIR in ``flags`` removes a directory."""
    cdef bytes raw = _path(path)
    ioring_prep_unlinkat(sqe._begin(), dfd, PyBytes_AS_STRING(raw), flags)
    sqe._pin(raw)


def io_uring_prep_unlink(io_uring_sqe sqe not None, path, int flags=0):
    """io_uring_prep_unlink(3): io_uring_prep_unlinkat relative to AT_FDCWD."""
    cdef bytes raw = _path(path)
    ioring_prep_unlink(sqe._begin(), PyBytes_AS_STRING(raw), flags)
    sqe._pin(raw)


def io_uring_prep_renameat(io_uring_sqe sqe not None, int olddfd, oldpath, int newdfd, newpath,
                           unsigned flags=0):
    """io_uring_prep_renameat(3): renameat2(2) with RENAME_* ``flags``."""
    cdef bytes old = _path(oldpath)
    cdef bytes new = _path(newpath)
    ioring_prep_renameat(sqe._begin(), olddfd, PyBytes_AS_STRING(old), newdfd,
                         PyBytes_AS_STRING(new), flags)
    sqe._pin((old, new))


def io_uring_prep_rename(io_uring_sqe sqe not None, oldpath, newpath):
    """io_uring_prep_rename(3): rename(2) relative to AT_FDCWD."""
    cdef bytes old = _path(oldpath)
    cdef bytes new = _path(newpath)
    ioring_prep_rename(sqe._begin(), PyBytes_AS_STRING(old), PyBytes_AS_STRING(new))
    sqe._pin((old, new))


def io_uring_prep_mkdirat(io_uring_sqe sqe not None, int dfd, path, unsigned mode):
    """io_uring_prep_mkdirat(3): mkdirat(2) with ``mode`` (the umask applies)."""
    cdef bytes raw = _path(path)
    ioring_prep_mkdirat(sqe._begin(), dfd, PyBytes_AS_STRING(raw), mode)
    sqe._pin(raw)


def io_uring_prep_mkdir(io_uring_sqe sqe not None, path, unsigned mode):
    """io_uring_prep_mkdir(3): io_uring_prep_mkdirat relative to AT_FDCWD."""
    cdef bytes raw = _path(path)
    ioring_prep_mkdir(sqe._begin(), PyBytes_AS_STRING(raw), mode)
    sqe._pin(raw)


def io_uring_prep_symlinkat(io_uring_sqe sqe not None, target, int newdirfd, linkpath):
    """io_uring_prep_symlinkat(3): symlinkat(2): ``linkpath`` (relative to ``newdirfd``) points
    to ``target``."""
    cdef bytes tgt = _path(target)
    cdef bytes link = _path(linkpath)
    ioring_prep_symlinkat(sqe._begin(), PyBytes_AS_STRING(tgt), newdirfd, PyBytes_AS_STRING(link))
    sqe._pin((tgt, link))


def io_uring_prep_symlink(io_uring_sqe sqe not None, target, linkpath):
    """io_uring_prep_symlink(3): io_uring_prep_symlinkat relative to AT_FDCWD."""
    cdef bytes tgt = _path(target)
    cdef bytes link = _path(linkpath)
    ioring_prep_symlink(sqe._begin(), PyBytes_AS_STRING(tgt), PyBytes_AS_STRING(link))
    sqe._pin((tgt, link))


def io_uring_prep_linkat(io_uring_sqe sqe not None, int olddfd, oldpath, int newdfd, newpath,
                         int flags=0):
    """io_uring_prep_linkat(3): linkat(2) hard link; AT_SYMLINK_FOLLOW / AT_EMPTY_PATH in
    ``flags``."""
    cdef bytes old = _path(oldpath)
    cdef bytes new = _path(newpath)
    ioring_prep_linkat(sqe._begin(), olddfd, PyBytes_AS_STRING(old), newdfd,
                       PyBytes_AS_STRING(new), flags)
    sqe._pin((old, new))


def io_uring_prep_link(io_uring_sqe sqe not None, oldpath, newpath, int flags=0):
    """io_uring_prep_link(3): io_uring_prep_linkat relative to AT_FDCWD."""
    cdef bytes old = _path(oldpath)
    cdef bytes new = _path(newpath)
    ioring_prep_link(sqe._begin(), PyBytes_AS_STRING(old), PyBytes_AS_STRING(new), flags)
    sqe._pin((old, new))


# ---- extended attributes -----------------------------------------------------------------------

cdef _Buffer _xattr_value(object value, bint writable):
    return None if value is None else _Buffer(value, writable)


def io_uring_prep_getxattr(io_uring_sqe sqe not None, name, value, path, len=None):
    """io_uring_prep_getxattr(3): read attribute ``name`` of ``path`` into the writable buffer
    ``value`` (``len`` defaults to its size; value None with len 0 asks for the size).
    cqe.res is the value's length or -errno; the buffer is pinned."""
    cdef bytes n = _path(name)
    cdef bytes p = _path(path)
    cdef _Buffer b = _xattr_value(value, True)
    cdef unsigned size = _opt_len(len, b, "len")
    ioring_prep_getxattr(sqe._begin(), PyBytes_AS_STRING(n), <char *>_ptr(b), PyBytes_AS_STRING(p), size)
    sqe._pin((n, p, b))


def io_uring_prep_setxattr(io_uring_sqe sqe not None, name, value, path, int flags=0, len=None):
    """io_uring_prep_setxattr(3): set attribute ``name`` of ``path`` to the buffer ``value``
    (``len`` defaults to its size); XATTR_CREATE / XATTR_REPLACE in ``flags``."""
    cdef bytes n = _path(name)
    cdef bytes p = _path(path)
    cdef _Buffer b = _xattr_value(value, False)
    cdef unsigned size = _opt_len(len, b, "len")
    ioring_prep_setxattr(sqe._begin(), PyBytes_AS_STRING(n), <char *>_ptr(b), PyBytes_AS_STRING(p), flags, size)
    sqe._pin((n, p, b))


def io_uring_prep_fgetxattr(io_uring_sqe sqe not None, int fd, name, value, len=None):
    """io_uring_prep_fgetxattr(3): as io_uring_prep_getxattr on an open ``fd``."""
    cdef bytes n = _path(name)
    cdef _Buffer b = _xattr_value(value, True)
    cdef unsigned size = _opt_len(len, b, "len")
    ioring_prep_fgetxattr(sqe._begin(), fd, PyBytes_AS_STRING(n), <char *>_ptr(b), size)
    sqe._pin((n, b))


def io_uring_prep_fsetxattr(io_uring_sqe sqe not None, int fd, name, value, int flags=0, len=None):
    """io_uring_prep_fsetxattr(3): as io_uring_prep_setxattr on an open ``fd``."""
    cdef bytes n = _path(name)
    cdef _Buffer b = _xattr_value(value, False)
    cdef unsigned size = _opt_len(len, b, "len")
    ioring_prep_fsetxattr(sqe._begin(), fd, PyBytes_AS_STRING(n), <char *>_ptr(b), flags, size)
    sqe._pin((n, b))


# ---- direct descriptors ------------------------------------------------------------------------

def io_uring_prep_openat_direct(io_uring_sqe sqe not None, int dfd, path, int flags, unsigned mode,
                                file_index):
    """io_uring_prep_openat_direct(3): open into registered file slot ``file_index`` (or
    IORING_FILE_INDEX_ALLOC: cqe.res is the slot picked); no regular fd is created."""
    cdef bytes raw = _path(path)
    cdef unsigned idx = _file_index(file_index)
    c.ioring_prep_openat_direct(sqe._begin(), dfd, PyBytes_AS_STRING(raw), flags, mode, idx)
    sqe._pin(raw)


def io_uring_prep_open(io_uring_sqe sqe not None, path, int flags, unsigned mode=0):
    """io_uring_prep_open(3): io_uring_prep_openat relative to AT_FDCWD."""
    cdef bytes raw = _path(path)
    ioring_prep_open(sqe._begin(), PyBytes_AS_STRING(raw), flags, mode)
    sqe._pin(raw)


def io_uring_prep_open_direct(io_uring_sqe sqe not None, path, int flags, unsigned mode, file_index):
    """io_uring_prep_open_direct(3): io_uring_prep_openat_direct relative to AT_FDCWD."""
    cdef bytes raw = _path(path)
    cdef unsigned idx = _file_index(file_index)
    ioring_prep_open_direct(sqe._begin(), PyBytes_AS_STRING(raw), flags, mode, idx)
    sqe._pin(raw)


def io_uring_prep_openat2_direct(io_uring_sqe sqe not None, int dfd, path, open_how how not None,
                                 file_index):
    """io_uring_prep_openat2_direct(3): io_uring_prep_openat2 into registered slot
    ``file_index`` (or IORING_FILE_INDEX_ALLOC)."""
    cdef bytes raw = _path(path)
    cdef unsigned idx = _file_index(file_index)
    ioring_prep_openat2_direct(sqe._begin(), dfd, PyBytes_AS_STRING(raw), &how.how, idx)
    sqe._pin((raw, how))


def io_uring_prep_close_direct(io_uring_sqe sqe not None, file_index):
    """io_uring_prep_close_direct(3): empty registered file slot ``file_index``."""
    cdef unsigned idx = _file_index(file_index)
    ioring_prep_close_direct(sqe._begin(), idx)


@cython.final
cdef class _FdArray:
    """The int array of io_uring_prep_files_update: a writable int buffer used in place (so
    the slots IORING_FILE_INDEX_ALLOC picks are seen), or a C copy of a sequence of ints."""

    def __cinit__(self, object fds, object nr, bint alloc):
        cdef _Buffer b
        cdef _IntArray arr
        if PyObject_CheckBuffer(fds):
            b = _Buffer(fds, True) if alloc else _Buffer(fds, False)
            if b.view.itemsize != sizeof(int) and b.view.itemsize != 1:
                raise ValueError(f"fds must be a buffer of C ints (itemsize {sizeof(int)}), not itemsize {b.view.itemsize}")
            if b.nbytes % sizeof(int):
                raise ValueError(f"fds is {b.nbytes} bytes, not a whole number of C ints")
            if <size_t>b.ptr % sizeof(int):
                raise ValueError("fds is not aligned for C ints")
            self.count = _length(b.nbytes // sizeof(int), nr, "nr_fds")
            self.items = <int *>b.ptr
            self.keep = b
        elif alloc:
            raise TypeError("with IORING_FILE_INDEX_ALLOC the kernel writes the slots it picks "
                            f"back into fds: pass a writable buffer of C ints such as "
                            f"array.array('i', fds), not a {type(fds).__name__} (its copy would "
                            "lose them)")
        else:
            arr = _IntArray(fds, nr, "nr_fds")
            self.count = arr.count
            self.items = arr.items
            self.keep = arr


def io_uring_prep_files_update(io_uring_sqe sqe not None, fds, nr_fds=None, long long offset=0):
    """io_uring_prep_files_update(3): update registered file slots from ``offset`` with ``fds``
    (-1 empties a slot, IORING_REGISTER_FILES_SKIP keeps it); cqe.res is how many were updated.
    ``fds`` is a sequence of ints (copied to a C array) or a buffer of C ints such as
    ``array.array('i', ...)`` used in place: with ``offset`` IORING_FILE_INDEX_ALLOC (or -1 as in
    C) the kernel picks the slots and writes them back into that buffer, which must be writable
    (a list or a read-only buffer is then refused with TypeError: the slots would be lost)."""
    cdef _FdArray arr
    cdef bint alloc
    if offset < -0x80000000 or offset > 0xFFFFFFFF:
        raise ValueError(f"offset must fit in 32 bits, not {offset}")
    alloc = <unsigned>offset == <unsigned>_c_IORING_FILE_INDEX_ALLOC
    arr = _FdArray(fds, nr_fds, alloc)
    ioring_prep_files_update(sqe._begin(), arr.items, arr.count, <int>offset)
    sqe._pin(arr)


def io_uring_prep_fixed_fd_install(io_uring_sqe sqe not None, int fd, unsigned flags=0):
    """io_uring_prep_fixed_fd_install(3): make registered file slot ``fd`` a regular fd
    (cqe.res); O_CLOEXEC unless IORING_FIXED_FD_NO_CLOEXEC. Sets IOSQE_FIXED_FILE, as C does."""
    ioring_prep_fixed_fd_install(sqe._begin(), fd, flags)


# ---- vectored I/O on registered buffers, multishot read ----------------------------------------

cdef _Iovecs _fixed_iovecs(io_uring_sqe sqe, object iovecs, object nr_vecs, bint writable, int buf_index):
    cdef _Iovecs v = _Iovecs(iovecs, nr_vecs, writable)
    cdef Py_ssize_t i
    for i in range(v.count):
        sqe.ring._check_fixed((<_Buffer>v.buffers[i]).ptr, v.vecs[i].iov_len, buf_index)
    return v


def io_uring_prep_readv_fixed(io_uring_sqe sqe not None, int fd, iovecs, nr_vecs=None, offset=0,
                              int flags=0, int buf_index=0):
    """io_uring_prep_readv_fixed(3): readv into writable buffers that all lie inside registered
    buffer ``buf_index`` (memoryview slices of it, for instance)."""
    cdef _Iovecs v = _fixed_iovecs(sqe, iovecs, nr_vecs, True, buf_index)
    cdef uint64_t off = _offset(offset)
    ioring_prep_readv_fixed(sqe._begin(), fd, v.vecs, <unsigned>v.count, off, flags, buf_index)
    sqe._pin(v)


def io_uring_prep_writev_fixed(io_uring_sqe sqe not None, int fd, iovecs, nr_vecs=None, offset=0,
                               int flags=0, int buf_index=0):
    """io_uring_prep_writev_fixed(3): writev from buffers inside registered buffer ``buf_index``."""
    cdef _Iovecs v = _fixed_iovecs(sqe, iovecs, nr_vecs, False, buf_index)
    cdef uint64_t off = _offset(offset)
    ioring_prep_writev_fixed(sqe._begin(), fd, v.vecs, <unsigned>v.count, off, flags, buf_index)
    sqe._pin(v)


def io_uring_prep_read_multishot(io_uring_sqe sqe not None, int fd, nbytes, offset, int buf_group):
    """io_uring_prep_read_multishot(3): read repeatedly from a pollable ``fd`` into buffers
    provided to group ``buf_group`` (0 ``nbytes`` = the whole buffer); every completion carries
    IORING_CQE_F_BUFFER and, while it continues, IORING_CQE_F_MORE. Sets IOSQE_BUFFER_SELECT."""
    cdef unsigned n = _u32(nbytes, "nbytes")
    cdef uint64_t off = _offset(offset)
    if buf_group < 0 or buf_group > 0xFFFF:
        raise ValueError(f"buf_group is 16 bits, not {buf_group}")
    ioring_prep_read_multishot(sqe._begin(), fd, n, off, buf_group)


# ---- timeouts, poll and epoll ------------------------------------------------------------------

def io_uring_prep_timeout_update(io_uring_sqe sqe not None, kernel_timespec ts not None,
                                 uint64_t user_data, unsigned flags=0):
    """io_uring_prep_timeout_update(3): give the timeout whose user_data is ``user_data`` the
    new expiry ``ts`` (IORING_TIMEOUT_ABS etc. in ``flags``; IORING_TIMEOUT_UPDATE is added)."""
    ioring_prep_timeout_update(sqe._begin(), &ts.ts, user_data, flags)
    sqe._pin(ts)


def io_uring_prep_poll_multishot(io_uring_sqe sqe not None, int fd, unsigned poll_mask):
    """io_uring_prep_poll_multishot(3): a poll that posts a completion (with
    IORING_CQE_F_MORE) every time ``fd`` becomes ready, until removed or failed."""
    ioring_prep_poll_multishot(sqe._begin(), fd, poll_mask)


def io_uring_prep_poll_update(io_uring_sqe sqe not None, uint64_t old_user_data,
                              uint64_t new_user_data, unsigned poll_mask, unsigned flags):
    """io_uring_prep_poll_update(3): change the poll request ``old_user_data``:
    IORING_POLL_UPDATE_EVENTS takes ``poll_mask``, IORING_POLL_UPDATE_USER_DATA takes
    ``new_user_data``; IORING_POLL_ADD_MULTI makes it multishot."""
    ioring_prep_poll_update(sqe._begin(), old_user_data, new_user_data, poll_mask, flags)


def io_uring_prep_epoll_ctl(io_uring_sqe sqe not None, int epfd, int fd, int op, epoll_event ev):
    """io_uring_prep_epoll_ctl(3): epoll_ctl(2) ``op`` (EPOLL_CTL_ADD/MOD/DEL) of ``fd`` on
    ``epfd`` with the epoll_event ``ev`` (None for EPOLL_CTL_DEL), pinned until completion."""
    ioring_prep_epoll_ctl(sqe._begin(), epfd, fd, op, NULL if ev is None else &ev.ev)
    if ev is not None:
        sqe._pin(ev)


def io_uring_prep_epoll_wait(io_uring_sqe sqe not None, int fd, epoll_event_array events not None,
                             maxevents=None, unsigned flags=0):
    """io_uring_prep_epoll_wait(3): wait on epoll ``fd``; the kernel fills the first cqe.res
    entries of ``events`` (an epoll_event_array, pinned). ``maxevents`` defaults to its length."""
    cdef unsigned n = _length(events.count, maxevents, "maxevents")
    ioring_prep_epoll_wait(sqe._begin(), fd, events.events, <int>n, flags)
    sqe._pin(events)


# ---- processes and futexes ---------------------------------------------------------------------

def io_uring_prep_waitid(io_uring_sqe sqe not None, int idtype, id, siginfo infop, int options,
                         unsigned flags=0):
    """io_uring_prep_waitid(3): waitid(2) for ``idtype`` (os.P_PID, P_PGID, P_ALL, P_PIDFD) and
    ``id`` with ``options`` (os.WEXITED, ...); the kernel fills ``infop`` (a siginfo, or None)."""
    id = _ranged(id, -0x80000000, 0xFFFFFFFF, "id", "must fit in 32 bits")
    cdef _id_t ident = <_id_t>(<long long>id)
    ioring_prep_waitid(sqe._begin(), <_idtype_t>idtype, ident, NULL if infop is None else &infop.si,
                       options, flags)
    if infop is not None:
        sqe._pin(infop)


def io_uring_prep_futex_wait(io_uring_sqe sqe not None, futex, uint64_t val, uint64_t mask,
                             uint32_t futex_flags, unsigned flags=0):
    """io_uring_prep_futex_wait(3): wait while the futex word still holds ``val`` until a wake
    whose ``mask`` (FUTEX_BITSET_MATCH_ANY for any) intersects. ``futex`` is a writable buffer
    starting with the word (FUTEX2_SIZE_U32 | FUTEX2_PRIVATE ... in ``futex_flags``), pinned."""
    cdef _Buffer b = _futex_word(futex, futex_flags)
    ioring_prep_futex_wait(sqe._begin(), <uint32_t *>b.ptr, val, mask, futex_flags, flags)
    sqe._pin(b)


def io_uring_prep_futex_wake(io_uring_sqe sqe not None, futex, uint64_t val, uint64_t mask,
                             uint32_t futex_flags, unsigned flags=0):
    """io_uring_prep_futex_wake(3): wake up to ``val`` waiters of the futex word at the start
    of the writable buffer ``futex`` whose mask intersects ``mask``; cqe.res is how many woke."""
    cdef _Buffer b = _futex_word(futex, futex_flags)
    ioring_prep_futex_wake(sqe._begin(), <uint32_t *>b.ptr, val, mask, futex_flags, flags)
    sqe._pin(b)


def io_uring_prep_futex_waitv(io_uring_sqe sqe not None, futex, nr_futex=None, unsigned flags=0):
    """io_uring_prep_futex_waitv(3): wait on several futexes, a sequence of futex_waitv(val,
    uaddr, flags); cqe.res is the index of the one woken. Everything is pinned."""
    cdef _FutexWaitvArray arr = _FutexWaitvArray(futex, nr_futex)
    ioring_prep_futex_waitv(sqe._begin(), arr.items, arr.count, flags)
    sqe._pin(arr)


# ---- 128-byte SQEs -----------------------------------------------------------------------------

def io_uring_prep_nop128(io_uring_sqe sqe not None):
    """io_uring_prep_nop128(3): a nop in a 128-byte SQE; the ring must have been set up with
    IORING_SETUP_SQE128 (kernel 6.19+ for the opcode)."""
    _require_sqe128(sqe, "io_uring_prep_nop128")
    ioring_prep_nop128(sqe._begin())
