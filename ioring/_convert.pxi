# The one conversion of each kind of Python argument the thin layer hands to C (docs/
# ARCHITECTURE.md, rule 3). Included by liburing.pyx after _buffer_export.pxi (_Buffer).
#
#   integers     _index and _ranged (any int or __index__ object in a range: TypeError for a
#                non-int, ValueError outside), over which _uint, _u64, _s64, _file_index,
#                _offset (-1 = current position); _u32 (a C long long), _length (the optional
#                C count that follows a sequence); a typed Cython argument out of its C range
#                raises IntRangeError (a ValueError; see _route_int_range_errors)
#   fds          _fd_arg (the raw syscalls' unsigned fd: -1 as in C)
#   timespecs    _timespec_ptr (a kernel_timespec or None)
#   paths        _path (str/bytes/PathLike, NUL refused)
#   buffers      _buffer_for (read-only or writable, with the nbytes check), _opt_len (the
#                optional length that follows a buffer)
#   arrays       _Iovecs (buffers to iovecs; sparse=True for registration: None = empty
#                slot), _IntArray (C ints: fds), _U64Array (__u64: resource tags)


# ---- integers ----------------------------------------------------------------------------------
# A Cython-typed argument (``unsigned flags``) is converted by Cython; out of its C range it
# raises IntRangeError (an OverflowError and a ValueError, see _route_int_range_errors). Every
# other integer goes through _index and _ranged: any int or __index__ object (never a truncated
# float), TypeError naming the argument, ValueError with the accepted range.

cdef object _index(object value, str name):
    """``value`` as a Python int: TypeError "{name} must be an int" otherwise."""
    try:
        return PyNumber_Index(value)
    except TypeError:
        raise TypeError(f"{name} must be an int, not {type(value).__name__}") from None


cdef object _ranged(object value, object low, object high, str name, str what=None):
    """``value`` as a Python int in low..high; otherwise ValueError "{name} {what}, not {value}"
    (``what`` defaults to "must be in {low}..{high}")."""
    cdef object v = _index(value, name)
    if not low <= v <= high:
        if what is None:
            what = f"must be in {low}..{high}"
        raise ValueError(f"{name} {what}, not {v}")
    return v


cdef unsigned long long _uint(object value, unsigned long long maximum, str name) except? 0xFFFFFFFFFFFFFFFF:
    """An unsigned C integer in 0..maximum."""
    return <unsigned long long>_ranged(value, 0, maximum, name)


cdef inline uint64_t _u64(object value, str name) except? 0xFFFFFFFFFFFFFFFE:
    return <uint64_t>_ranged(value, 0, 0xFFFFFFFFFFFFFFFF, name, "must be in 0..2**64-1")


cdef inline int64_t _s64(object value, str name) except? -0x7FFFFFFFFFFFFFFE:
    return <int64_t>_ranged(value, -0x8000000000000000, 0x7FFFFFFFFFFFFFFF, name,
                            "must fit in a signed 64-bit integer")


cdef inline uint64_t _offset(object offset) except? 0xFFFFFFFFFFFFFFFE:
    """A file offset: 0..2**64-1, or -1 for "the current position" as (__u64)-1 in C."""
    cdef long long v
    cdef int overflow = 0
    if type(offset) is int:
        v = PyLong_AsLongLongAndOverflow(offset, &overflow)
        if overflow == 0 and v >= -1:
            return <uint64_t>v              # -1 is (__u64)-1
    offset = _index(offset, "offset")
    if offset == -1:
        return <uint64_t>-1
    if offset < 0:
        raise ValueError(f"offset must be >= 0 or -1 (current position), not {offset}")
    return <uint64_t>offset             # past 2**64-1: IntRangeError, as a typed argument


cdef inline unsigned _file_index(object value) except? 0xFFFFFFFE:
    """A direct-descriptor slot, or IORING_FILE_INDEX_ALLOC (2**32-1) to let the kernel pick."""
    return <unsigned>_ranged(value, 0, 0xFFFFFFFF, "file_index",
                             "must be a slot in 0..2**32-2 or IORING_FILE_INDEX_ALLOC")


from ioring.includes.cpython_extra cimport _as_u64   # no exception clause: see there


# C constants: Cython makes a literal past 2**31 a Python int, and a comparison with it a Python one.
cdef long long _U32_MAX = 0xFFFFFFFF


cdef inline unsigned _u32(long long value, str name) except? 0xFFFFFFFF:
    if value < 0 or value > _U32_MAX:
        raise ValueError(f"{name} must be in 0..2**32-1, not {value}")
    return <unsigned>value


cdef unsigned _length(Py_ssize_t available, object nr, str name) except? 0xFFFFFFFF:
    """The optional C length that follows a sequence: defaults to len(sequence)."""
    if nr is None:
        return <unsigned>available
    if nr < 0 or nr > available:
        raise ValueError(f"{name}={nr} does not fit the {available} items given")
    return <unsigned>nr


# ---- fds ---------------------------------------------------------------------------------------

cdef unsigned _fd_arg(object fd) except? 0xFFFFFFFF:
    """A C ``unsigned int fd`` of the raw syscalls: -1 is (unsigned)-1, as in C."""
    cdef object v = _index(fd, "fd")
    if v == -1:
        return 0xFFFFFFFF
    return <unsigned>_uint(v, 0xFFFFFFFF, "fd")


# ---- timespecs ----------------------------------------------------------------------------------

cdef c.ioring_kernel_timespec *_timespec_ptr(kernel_timespec ts):
    """C's ``struct __kernel_timespec *``: NULL for None (wait forever)."""
    return NULL if ts is None else &ts.ts


# ---- paths -------------------------------------------------------------------------------------

cdef bytes _path(object path):
    """A NUL-terminated path (str or bytes), pinned by keeping the bytes object."""
    cdef bytes raw = os.fsencode(path)
    if b"\0" in raw:
        raise ValueError("embedded null byte in path")
    return raw


# ---- buffers and arrays of them -----------------------------------------------------------------

cdef inline int _check_length(long long length, Py_ssize_t available, str name) except -1:
    """``length`` bytes of a buffer of ``available`` bytes, as a C unsigned length."""
    if length < 0 or length > available:
        raise ValueError(f"{name}={length} is larger than the buffer ({available} bytes)")
    if length > _U32_MAX:
        raise ValueError(f"{name}={length} does not fit in 32 bits")
    return 0


cdef _Buffer _buffer_for(object buf, long long nbytes, bint writable):
    """``buf`` exported (writable: the kernel fills it), of which ``nbytes`` are used."""
    cdef _Buffer b = _export_buffer(buf, writable)
    _check_length(nbytes, b.nbytes, "nbytes")
    return b


cdef inline unsigned _opt_len(object length, _Buffer b, str name) except? 0xFFFFFFFE:
    """The C length that follows a buffer: defaults to the buffer's size, never larger."""
    cdef Py_ssize_t avail = 0 if b is None else b.nbytes
    length = avail if length is None else _index(length, name)
    if length < 0 or length > avail:
        raise ValueError(f"{name}={length} is larger than the buffer ({avail} bytes)")
    _check_length(<long long>length, avail, name)
    return <unsigned>length


@cython.final
cdef class _Iovecs:
    """``buffers`` as a C iovec array, each pinned by its _Buffer in ``self.buffers``. With
    ``sparse`` (buffer registration) None is an empty slot (NULL, 0: its entry in ``buffers``
    is None) and an empty sequence is allowed."""

    def __cinit__(self, object buffers, object nr, bint writable, bint sparse=False, str name="nr_vecs"):
        cdef list bufs = list(buffers)
        cdef unsigned n = _length(len(bufs), nr, name)
        cdef _Buffer b
        cdef unsigned i
        if n == 0 and not sparse:
            raise ValueError("at least one iovec is required")
        self.vecs = <iovec *>calloc(n if n else 1, sizeof(iovec))
        if self.vecs == NULL:
            raise MemoryError()
        self.count = n
        self.writable = writable
        self.buffers = []
        for i in range(n):
            if sparse and bufs[i] is None:
                self.buffers.append(None)
                continue
            b = _export_buffer(bufs[i], writable)
            self.buffers.append(b)
            self.vecs[i].iov_base = b.ptr
            self.vecs[i].iov_len = <size_t>b.nbytes

    def __dealloc__(self):
        free(self.vecs)
        self.vecs = NULL


@cython.final
cdef class _U64Array:
    """A C __u64 array (resource tags) of ``count`` items, or NULL for None."""


    def __cinit__(self, object values, unsigned count, str name):
        cdef list vals
        cdef unsigned i
        self.items = NULL
        if values is None:
            return
        vals = list(values)
        if <size_t>len(vals) < count:
            raise ValueError(f"{name} has {len(vals)} items; {count} are needed")
        self.items = <uint64_t *>calloc(count if count else 1, sizeof(uint64_t))
        if self.items == NULL:
            raise MemoryError()
        for i in range(count):
            self.items[i] = _uint(vals[i], 0xFFFFFFFFFFFFFFFF, name)

    def __dealloc__(self):
        free(self.items)


@cython.final
cdef class _IntArray:
    """A C int array copied from a sequence of ints (fds: -1 marks a sparse slot)."""

    def __cinit__(self, object values, object nr, str name):
        cdef list vals = list(values)
        cdef unsigned i
        self.count = _length(len(vals), nr, name)
        self.items = <int *>calloc(self.count if self.count else 1, sizeof(int))
        if self.items == NULL:
            raise MemoryError()
        for i in range(self.count):
            self.items[i] = vals[i]

    def __dealloc__(self):
        free(self.items)
