# The fields of struct io_uring_sqe by their C names (sqe.len, sqe.nop_flags, sqe.file_index,
# sqe.opcode...), readable and assignable as C programs assign them, within the one limit that
# memory safety sets: the kernel is never handed memory that is not pinned Python memory.
# Included by liburing.pyx; one _SqeField descriptor per C name is added to io_uring_sqe at
# import (the table at the end of this file).
#
# The rules (README, "SQE fields"):
# - An int is stored with C's assignment semantics within the field's width: any value that
#   fits the field as signed or as unsigned is stored as its bits (``sqe.len = -errno.EFAULT``
#   stores (__u32)-EFAULT, as C does, and reads back as that unsigned number); a value that fits
#   neither raises IntRangeError. Reads give the C type's value (signed only for fd and
#   splice_fd_in).
# - Every assignment is made on a copy of the SQE, which is then checked against
#   ioring_sqe_refs() (include/ioring/sqe_refs.h): every field the kernel dereferences for that
#   opcode (and flags) must be NULL or point into memory pinned for this SQE, of the kind and
#   size the other fields make the kernel use, writable where the kernel writes. Otherwise the
#   assignment raises and the SQE is unchanged. So a length never outgrows its buffer, and a
#   number stored as an offset never becomes a pointer when opcode (or a flag such as
#   IORING_SEND_VECTORIZED or IORING_TIMEOUT_UPDATE) is assigned afterwards.
# - A field the opcode uses as a user address takes an object, pinned until the completion is
#   consumed (like a prep helper's): a buffer (its address), None or 0 (NULL), a str/bytes path,
#   a sequence of buffers (an iovec array), a sequence of futex_waitv, or one of this module's C
#   struct types (kernel_timespec, statx, open_how, sockaddr, msghdr, epoll_event,
#   epoll_event_array, siginfo). A raw int other than 0 is refused there.
# - Pointers that cannot be checked (accept's address pair, a uring_cmd payload, protection
#   information) stay as the prep helper set them (or NULL); what was announced elsewhere at
#   prep time (a MSG_RING's target ring and user_data, PROVIDE_BUFFERS' buffers, MADVISE's
#   pages) cannot change, and no SQE can be turned into (or out of) those opcodes.

from cpython.bytes cimport PyBytes_Check
from cpython.number cimport PyIndex_Check
from libc.string cimport memcpy, memchr

from ioring.includes.sqe_refs cimport *

# Names of the field ranges the refs name, for messages.
cdef dict _REF_FIELD_NAMES = {0: "opcode", 4: "fd", 8: "off (addr2)", 16: "addr", 24: "len",
                              28: "rw_flags", 40: "buf_index", 48: "addr3", 56: "attr_type_mask"}
cdef dict _OP_NAMES = {}


cdef str _op_name(unsigned op):
    if not _OP_NAMES:
        for name, value in globals().items():
            if name.startswith("IORING_OP_") and name != "IORING_OP_LAST" and isinstance(value, int):
                _OP_NAMES[value] = name
    return _OP_NAMES.get(op, f"opcode {op}")


# ---- raw field access --------------------------------------------------------------------------

cdef inline uint64_t _read_bits(const c.io_uring_sqe *s, unsigned off, unsigned size) noexcept:
    cdef uint64_t v = 0
    memcpy(&v, <const char *>s + off, size)       # little-endian hosts (io_uring's)
    return v


cdef inline void _write_bits(c.io_uring_sqe *s, unsigned off, unsigned size, uint64_t v) noexcept:
    memcpy(<char *>s + off, &v, size)


cdef object _field_value(uint64_t bits, unsigned size, bint signed):
    if signed and bits >> (8 * size - 1):
        return <int64_t>bits - (<int64_t>1 << (8 * size)) if size < 8 else <int64_t>bits
    return bits


cdef uint64_t _field_bits(object value, unsigned size, str name) except? 0xFFFFFFFFFFFFFFFE:
    """C's assignment to a ``size``-byte field: any int that fits as signed or unsigned."""
    cdef object v = PyNumber_Index(value)
    cdef object nbits = 8 * size
    cdef object top = 1 << nbits                  # a Python int: 2**64 does not fit C
    if not -(top >> 1) <= v < top:
        raise IntRangeError(f"sqe.{name} is {8 * size} bits: the value must be in "
                            f"{-(top >> 1)}..{top - 1} (signed or unsigned), not {v}")
    return <uint64_t>(v & (top - 1))


cdef bint _overlaps(unsigned off1, unsigned size1, unsigned off2, unsigned size2) noexcept:
    return off1 < off2 + size2 and off2 < off1 + size1


# ---- what a field assignment may pin -----------------------------------------------------------

cdef tuple _pointer_object(object value):
    """(address, object to pin) for an object assigned to an address field."""
    cdef _Buffer b
    cdef bytes raw
    if value is None:
        return (0, None)
    if isinstance(value, str) or hasattr(value, "__fspath__"):
        raw = _path(value)
        return (<uint64_t><size_t>PyBytes_AS_STRING(raw), raw)
    if PyBytes_Check(value):
        return (<uint64_t><size_t>PyBytes_AS_STRING(value), value)
    if isinstance(value, kernel_timespec):
        return (<uint64_t><size_t>&(<kernel_timespec>value).ts, value)
    if isinstance(value, statx):
        return (<uint64_t><size_t>&(<statx>value).st, value)
    if isinstance(value, open_how):
        return (<uint64_t><size_t>&(<open_how>value).how, value)
    if isinstance(value, sockaddr):
        return (<uint64_t><size_t>&(<sockaddr>value).ss, value)
    if isinstance(value, msghdr):
        return (<uint64_t><size_t>&(<msghdr>value).hdr, value)
    if isinstance(value, epoll_event):
        return (<uint64_t><size_t>&(<epoll_event>value).ev, value)
    if isinstance(value, epoll_event_array):
        return (<uint64_t><size_t>(<epoll_event_array>value).events, value)
    if isinstance(value, siginfo):
        return (<uint64_t><size_t>&(<siginfo>value).si, value)
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(x, futex_waitv) for x in value):
            w = _FutexWaitvArray(value, None)
            return (<uint64_t><size_t>(<_FutexWaitvArray>w).items, w)
        try:
            v = _Iovecs(value, None, True)
        except TypeError:
            v = _Iovecs(value, None, False)
        return (<uint64_t><size_t>(<_Iovecs>v).vecs, v)
    b = _any_buffer(value)[0]
    return (<uint64_t><size_t>b.ptr, b)


# Kinds of pinned memory (an extent): plain bytes, or a structure with pointers inside, which
# the kernel must only be shown as what it is.
cdef enum:
    _EXT_BYTES = 0
    _EXT_IOVEC = 1
    _EXT_MSGHDR = 2
    _EXT_WAITV = 3
    _EXT_STRING = 4        # a bytes object and its terminating NUL (for NUL-terminated strings)


cdef void _extent(list out, const void *start, size_t size, int kind, size_t count, bint writable):
    out.append((<size_t>start, <size_t>start + size, kind, count, writable))


cdef int _extents(object obj, list out) except -1:
    """The memory ``obj`` (something pinned for an SQE) holds: (start, end, kind, count, writable)."""
    cdef _Buffer b
    cdef _Iovecs v
    if obj is None:
        return 0
    if isinstance(obj, tuple):
        for o in <tuple>obj:
            _extents(o, out)
    elif isinstance(obj, _Buffer):
        b = <_Buffer>obj
        _extent(out, b.ptr, b.nbytes, _EXT_BYTES, 0, not b.view.readonly)
    elif PyBytes_Check(obj):           # and its terminating NUL, which CPython always stores
        _extent(out, PyBytes_AS_STRING(obj), PyBytes_GET_SIZE(obj), _EXT_BYTES, 0, False)
        _extent(out, PyBytes_AS_STRING(obj), PyBytes_GET_SIZE(obj) + 1, _EXT_STRING, 0, False)
    elif isinstance(obj, _Iovecs):
        v = <_Iovecs>obj
        _extent(out, v.vecs, v.count * sizeof(iovec), _EXT_IOVEC, v.count, v.writable)
        _extent(out, v.vecs, v.count * sizeof(iovec), _EXT_BYTES, 0, False)
    elif isinstance(obj, msghdr):
        _extent(out, &(<msghdr>obj).hdr, sizeof((<msghdr>obj).hdr), _EXT_MSGHDR, 1,
                (<msghdr>obj)._iov_writable and ((<msghdr>obj)._control is None
                                                  or (<msghdr>obj)._control_writable))
    elif isinstance(obj, _FutexWaitvArray):
        _extent(out, (<_FutexWaitvArray>obj).items, (<_FutexWaitvArray>obj).count * sizeof(_futex_waitv_t),
                _EXT_WAITV, (<_FutexWaitvArray>obj).count, False)
    elif isinstance(obj, _FdArray):
        b = (<_FdArray>obj).keep if isinstance((<_FdArray>obj).keep, _Buffer) else None
        _extent(out, (<_FdArray>obj).items, (<_FdArray>obj).count * sizeof(int), _EXT_BYTES, 0,
                b is None or not b.view.readonly)
    # Plain C structs of this module (no pointers inside): the kernel may read and write them.
    elif isinstance(obj, kernel_timespec):
        _extent(out, &(<kernel_timespec>obj).ts, sizeof(c.ioring_kernel_timespec), _EXT_BYTES, 0, True)
    elif isinstance(obj, statx):
        _extent(out, &(<statx>obj).st, sizeof(c.ioring_statx), _EXT_BYTES, 0, True)
    elif isinstance(obj, open_how):
        _extent(out, &(<open_how>obj).how, sizeof(c.ioring_open_how), _EXT_BYTES, 0, True)
    elif isinstance(obj, sockaddr):
        _extent(out, &(<sockaddr>obj).ss, sizeof(c_sockaddr_storage), _EXT_BYTES, 0, True)
    elif isinstance(obj, epoll_event):
        _extent(out, &(<epoll_event>obj).ev, sizeof(_epoll_event_t), _EXT_BYTES, 0, True)
    elif isinstance(obj, epoll_event_array):
        _extent(out, (<epoll_event_array>obj).events,
                (<epoll_event_array>obj).count * sizeof(_epoll_event_t), _EXT_BYTES, 0, True)
    elif isinstance(obj, siginfo):
        _extent(out, &(<siginfo>obj).si, sizeof(siginfo_t), _EXT_BYTES, 0, True)
    return 0


# ---- the check ---------------------------------------------------------------------------------

cdef str _ref_where(const ioring_sqe_ref *r, const c.io_uring_sqe *s):
    return f"{_REF_FIELD_NAMES.get(r.off, r.off)} of {_op_name(s.opcode)}"


cdef int _check_ref(io_uring_sqe sqe, const c.io_uring_sqe *new, const ioring_sqe_ref *r,
                    uint64_t value, list extents) except -1:
    """The memory ``value`` (non-NULL) points to fits what the kernel does there."""
    cdef str where = _ref_where(r, new)
    cdef str access = "writes" if r.write else "reads"
    cdef size_t start, end, room = 0
    cdef bint inside = False, readonly = False
    cdef int kind
    if r.kind == IORING_REF_FIXED:
        sqe.ring._check_fixed(<const char *><size_t>value, <size_t>r.count, new.buf_index)
        return 0
    for start, end, kind, count, writable in extents:
        if r.kind == IORING_REF_BYTES or r.kind == IORING_REF_CSTR:
            if not (kind == _EXT_BYTES or (kind == _EXT_STRING and r.kind == IORING_REF_CSTR)) \
                    or not (start <= value < end):
                continue
            inside = True
            if r.kind == IORING_REF_CSTR:
                if memchr(<const void *><size_t>value, 0, end - value) != NULL:
                    return 0
            elif value + r.count > end:
                room = max(room, end - value)
            elif r.write and not writable:
                readonly = True
            else:
                return 0
        elif r.kind == IORING_REF_IOVEC and kind == _EXT_IOVEC and start == value:
            if r.count > count:
                raise ValueError(f"{where} is an array of {count} iovecs; the SQE asks for {r.count}")
            if r.write and not writable:
                raise TypeError(f"{where}: the kernel writes into the iovec buffers: they must be writable")
            return 0
        elif r.kind == IORING_REF_MSGHDR and kind == _EXT_MSGHDR and start == value:
            if r.write and not writable:
                raise TypeError(f"{where}: recvmsg needs a msghdr with writable buffers")
            return 0
        elif r.kind == IORING_REF_WAITV and kind == _EXT_WAITV and start == value:
            if r.count > count:
                raise ValueError(f"{where} is an array of {count} futex_waitv; the SQE asks for {r.count}")
            return 0
    if readonly:
        raise TypeError(f"{where}: the kernel writes there, so a writable buffer is required")
    if r.kind == IORING_REF_BYTES and inside:
        raise ValueError(f"{where}: the kernel {access} {r.count} bytes there; the memory pinned at "
                         f"that address holds {room}")
    if r.kind == IORING_REF_CSTR and inside:
        raise ValueError(f"{where}: the kernel reads a NUL-terminated string there; the buffer has no NUL")
    what = {IORING_REF_BYTES: f"{r.count} bytes of pinned memory (a buffer)",
            IORING_REF_CSTR: "a NUL-terminated string (a str or bytes path)",
            IORING_REF_IOVEC: "an iovec array (a sequence of buffers)",
            IORING_REF_MSGHDR: "a struct msghdr (a msghdr)",
            IORING_REF_WAITV: "an array of struct futex_waitv (a sequence of futex_waitv)"}[r.kind]
    raise TypeError(f"the kernel {access} {what} at {where}, which holds {value:#x}: no such "
                    "memory is pinned for this SQE (assign that object to the field)")


cdef int _require_sqe128(io_uring_sqe sqe, str what) except -1:
    """A 128-byte opcode only in a 128-byte slot: in a 64-byte one the kernel would take the
    next SQE as its payload (a driver may follow pointers there)."""
    if sqe._own == NULL and not (sqe.ring.ring.flags & _c_IORING_SETUP_SQE128):
        raise ValueError(f"{what} needs a ring set up with IORING_SETUP_SQE128 (128-byte SQEs)")
    return 0


cdef int _check_sqe(io_uring_sqe sqe, const c.io_uring_sqe *old, const c.io_uring_sqe *new,
                    object pins, bint from_prep) except -1:
    """Refuse ``new`` unless every user address in it is NULL or pinned memory fit for what the
    kernel does there. ``old`` is the SQE as it is (for what only a prep helper can set);
    ``from_prep``: ``new`` is a prep's fresh SQE (io_uring_prep_rw): nothing carries over."""
    cdef ioring_sqe_ref nrefs[8]        # IORING_SQE_MAX_REFS
    cdef ioring_sqe_ref orefs[8]
    cdef int nn = ioring_sqe_refs(new, nrefs)
    cdef int on = 0 if from_prep else ioring_sqe_refs(old, orefs)
    cdef int i, j
    cdef uint64_t value
    cdef bint kept
    cdef list extents = None
    if (new.opcode == _c_IORING_OP_NOP128 or new.opcode == _c_IORING_OP_URING_CMD128) and \
            (from_prep or new.opcode != old.opcode):
        _require_sqe128(sqe, _op_name(new.opcode))
    for i in range(on):
        if orefs[i].kind == IORING_REF_FROZEN and \
                _read_bits(old, orefs[i].off, orefs[i].size) != _read_bits(new, orefs[i].off, orefs[i].size):
            raise ValueError(f"{_ref_where(&orefs[i], old)} was fixed by its prep helper (the kernel "
                             "or another ring relies on it): it cannot change; prepare the SQE anew")
    for i in range(nn):
        value = _read_bits(new, nrefs[i].off, nrefs[i].size)
        if nrefs[i].kind == IORING_REF_FROZEN:
            if not from_prep and value != _read_bits(old, nrefs[i].off, nrefs[i].size):
                raise ValueError(f"{_ref_where(&nrefs[i], new)} can only be set by its prep helper")
            continue
        if value == 0:
            continue                                    # NULL: the kernel faults, touching nothing
        if nrefs[i].kind == IORING_REF_LOCKED:
            kept = False
            if not from_prep and new.opcode == old.opcode and value == _read_bits(old, nrefs[i].off, nrefs[i].size):
                for j in range(on):
                    if orefs[j].kind == IORING_REF_LOCKED and orefs[j].off == nrefs[i].off:
                        kept = True
            if not kept:
                raise ValueError(f"{_ref_where(&nrefs[i], new)} is a user address ioring cannot check: "
                                 "only its prep helper sets it (or it is NULL / 0)")
            continue
        if extents is None:
            extents = []
            _extents(pins, extents)
        _check_ref(sqe, new, &nrefs[i], value, extents)
    return 0


# What the refs overlapping a field are: checked pointers, LOCKED ones, FROZEN ones.
cdef enum:
    _TOUCH_POINTER = 1
    _TOUCH_LOCKED = 2
    _TOUCH_FROZEN = 4


cdef int _refs_touching(const c.io_uring_sqe *s, unsigned off, unsigned size) noexcept:
    cdef ioring_sqe_ref refs[8]         # IORING_SQE_MAX_REFS
    cdef int n = ioring_sqe_refs(s, refs)
    cdef int i, mask = 0
    for i in range(n):
        if not _overlaps(refs[i].off, refs[i].size, off, size):
            continue
        if refs[i].kind == IORING_REF_FROZEN:
            mask |= _TOUCH_FROZEN
        elif refs[i].kind == IORING_REF_LOCKED:
            mask |= _TOUCH_LOCKED
        else:
            mask |= _TOUCH_POINTER
    return mask


cdef int _sqe_commit(io_uring_sqe sqe, c.io_uring_sqe *s, const c.io_uring_sqe *cand, object pin) except -1:
    """Check the edited copy ``cand`` of ``s`` (with ``pin`` pinned too), then write it back."""
    _check_sqe(sqe, s, cand, sqe._pins() if pin is None else (sqe._pins(), pin), False)
    memcpy(s, cand, sizeof(c.io_uring_sqe))
    if pin is not None:
        sqe._pin_more(pin)
    return 0


cdef int _assign_field(io_uring_sqe sqe, str name, unsigned off, unsigned size, object value) except -1:
    cdef c.io_uring_sqe *s = sqe._ptr()
    cdef c.io_uring_sqe cand
    cdef uint64_t bits
    cdef object pin = None
    cdef int touch
    cdef bint by_object = not PyIndex_Check(value)     # ints, numpy integers: numbers
    memcpy(&cand, s, sizeof(cand))
    if by_object:
        if size != 8 and value is not None:
            raise TypeError(f"sqe.{name} is a {8 * size}-bit integer, not {type(value).__name__}")
        bits, pin = _pointer_object(value)
    else:
        bits = _field_bits(value, size, name)
    _write_bits(&cand, off, size, bits)
    touch = _refs_touching(&cand, off, size)
    if by_object and not touch & (_TOUCH_POINTER | _TOUCH_LOCKED):
        raise TypeError(f"sqe.{name} is not a user address for {_op_name(cand.opcode)}: assign an int")
    if not by_object and bits != 0:
        if touch & _TOUCH_POINTER:
            raise TypeError(f"sqe.{name} is a user address for {_op_name(cand.opcode)}: assign a "
                            "buffer object (pinned until the completion), None or 0, not an int")
        if touch == _TOUCH_LOCKED:
            raise ValueError(f"sqe.{name} of {_op_name(cand.opcode)} is a user address ioring cannot "
                             "check: only its prep helper sets it (or 0 / None)")
    _sqe_commit(sqe, s, &cand, pin)
    return 0


@cython.final
cdef class _SqeField:
    """A field (or union alias) of struct io_uring_sqe, by its C name: reads the SQE's value,
    assigns with C's semantics under the checks of _sqe_fields.pxi."""

    def __init__(self, str name, unsigned off, unsigned size, bint signed=False):
        self.name = name
        self.off = off
        self.size = size
        self.signed = signed

    def __get__(self, obj, objtype):
        if obj is None:
            return self
        return _field_value(_read_bits((<io_uring_sqe>obj)._ptr(), self.off, self.size), self.size,
                            self.signed)

    def __set__(self, obj, value):
        _assign_field(<io_uring_sqe>obj, self.name, self.off, self.size, value)

    def __delete__(self, obj):
        raise AttributeError(f"sqe.{self.name} cannot be deleted")

    def __repr__(self):
        return f"<io_uring_sqe field {self.name}: {8 * self.size} bits at byte {self.off}>"


# Every field and union alias of struct io_uring_sqe (include/ioring/abi.h): (C name, byte
# offset, size, signed). flags and user_data are io_uring_sqe properties (no address there).
cdef tuple _SQE_FIELDS = (
    ("opcode", 0, 1, False), ("ioprio", 2, 2, False), ("fd", 4, 4, True),
    ("off", 8, 8, False), ("addr2", 8, 8, False), ("cmd_op", 8, 4, False),
    ("addr", 16, 8, False), ("splice_off_in", 16, 8, False), ("level", 16, 4, False),
    ("optname", 20, 4, False),
    ("len", 24, 4, False),
    ("rw_flags", 28, 4, False), ("fsync_flags", 28, 4, False), ("poll_events", 28, 2, False),
    ("poll32_events", 28, 4, False), ("sync_range_flags", 28, 4, False),
    ("msg_flags", 28, 4, False), ("timeout_flags", 28, 4, False), ("accept_flags", 28, 4, False),
    ("cancel_flags", 28, 4, False), ("open_flags", 28, 4, False), ("statx_flags", 28, 4, False),
    ("fadvise_advice", 28, 4, False), ("splice_flags", 28, 4, False),
    ("rename_flags", 28, 4, False), ("unlink_flags", 28, 4, False),
    ("hardlink_flags", 28, 4, False), ("xattr_flags", 28, 4, False),
    ("msg_ring_flags", 28, 4, False), ("uring_cmd_flags", 28, 4, False),
    ("waitid_flags", 28, 4, False), ("futex_flags", 28, 4, False),
    ("install_fd_flags", 28, 4, False), ("nop_flags", 28, 4, False), ("pipe_flags", 28, 4, False),
    ("buf_index", 40, 2, False), ("buf_group", 40, 2, False), ("personality", 42, 2, False),
    ("splice_fd_in", 44, 4, True), ("file_index", 44, 4, False), ("zcrx_ifq_idx", 44, 4, False),
    ("optlen", 44, 4, False), ("addr_len", 44, 2, False), ("write_stream", 44, 1, False),
    ("addr3", 48, 8, False), ("attr_ptr", 48, 8, False), ("optval", 48, 8, False),
    ("attr_type_mask", 56, 8, False),
)

cdef extern from *:
    """
    /* A descriptor added to an extension type after it is made (its tp_dict; the type's
     * attribute cache is invalidated). */
    static int ioring_type_add_attr(PyObject *type, PyObject *name, PyObject *value)
    {
        int r = PyDict_SetItem(((PyTypeObject *)type)->tp_dict, name, value);
        PyType_Modified((PyTypeObject *)type);
        return r;
    }
    """
    int ioring_type_add_attr(object type, object name, object value) except -1


for _name, _off, _size, _signed in _SQE_FIELDS:
    ioring_type_add_attr(io_uring_sqe, _name, _SqeField(_name, _off, _size, _signed))
del _name, _off, _size, _signed
