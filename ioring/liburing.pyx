# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, binding=False
"""liburing's C API, one-to-one, over ioring's own ring core.

Names, argument order and constants are liburing 2.15's; its man pages are the documentation.
What changes (see DESIGN.md): out-parameters are returned, ``-errno`` raises ``OSError``,
"no completion yet" and "timed out" return ``None``, C arrays are Python sequences, and every
object handed to the kernel stays pinned until its completion has been consumed. Bad arguments
raise TypeError or ValueError; an int out of its C type's range raises a ValueError that is
also an OverflowError: ``IntRangeError`` (see the end of this file).
"""
cimport cython
from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_WRITABLE, PyBUF_ANY_CONTIGUOUS, PyBUF_SIMPLE
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE, PyBytes_FromStringAndSize
from cpython.exc cimport PyErr_CheckSignals, PyErr_Occurred, PyErr_Clear
from cpython.number cimport PyNumber_Index
from cpython.long cimport PyLong_AsLongLongAndOverflow
from libc.errno cimport EINTR, EAGAIN, ETIME, EINVAL, ENOENT, EALREADY, EBADFD
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int32_t, int64_t
from libc.stdlib cimport malloc, calloc, realloc, free
from libc.string cimport memset, strlen, strerror
from posix.signal cimport sigset_t, sigemptyset, sigaddset
from posix.uio cimport iovec
from posix.time cimport clock_gettime, timespec, CLOCK_MONOTONIC

from ioring.includes cimport core as c

import os
import warnings

include "_constants.pxi"

IO_URING_VERSION_MAJOR = 2
IO_URING_VERSION_MINOR = 15

cdef double _QUIESCE_SECONDS = 10.0
# user_data of the cancellations a teardown submits.
cdef uint64_t _QUIESCE_UD = 0xFFFFFFFFFFFFFFFEULL

# Pins of requests the kernel never reported done before a ring was torn down: kept forever,
# because leaking memory is better than letting the kernel write into freed memory.
cdef list _leaked_pins = []


# ---- fork ---------------------------------------------------------------------------------------
# A ring's memory is shared with the kernel; in a fork child the parent's rings are the parent's.
# Every ring remembers the fork generation it was made in and refuses use in another.
cdef unsigned long _fork_generation = 0


def _after_fork_in_child():
    global _fork_generation
    _fork_generation += 1


os.register_at_fork(after_in_child=_after_fork_in_child)

# Rings of this process, so that a MSG_RING aimed at one can announce its CQE, and so that one
# kernel ring is never adopted by two io_uring objects. A ring is recognized by the open file an
# fd refers to (st_dev/st_ino, confirmed with kcmp(2) where it works), never by fd number: a
# dup of a ring's fd, or an fd number reused after a close, must not fool it.
from weakref import WeakSet as _WeakSet
# (a C-level global: a teardown at interpreter shutdown, when module dicts are cleared, still reaches it)
cdef object _live_rings = _WeakSet()

from ioring.includes.register_ring cimport ioring_same_file

# True once two live rings of this process were seen with different inodes: this kernel gives
# each io_uring instance its own anonymous inode (5.x kernels share one among all of them, and
# then st_dev/st_ino match every io_uring fd).
cdef bint _per_ring_inodes = False


cdef object _file_ident(int fd):
    """(st_dev, st_ino) of the open file ``fd`` refers to, or None (not an open fd)."""
    if fd < 0:
        return None
    try:
        st = os.fstat(fd)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


cdef int _is_ring_file(int fd, object ident, io_uring ring):
    """Whether ``fd`` (whose file is ``ident``) refers to ``ring``'s kernel ring: 1 yes, 0 no,
    -1 cannot tell (a shared anonymous inode and no kcmp(2))."""
    cdef int same
    if ident is None or ring._ident != ident:
        return 0
    if _per_ring_inodes:
        return 1        # an io_uring inode is one ring's
    if ring.ring.ring_fd >= 0:
        same = ioring_same_file(fd, ring.ring.ring_fd)
        if same == 1:
            return 1
        # "Different" counts only while the ring's own fd still is its file (os.dup2 over it
        # would make kcmp compare with another file).
        if same == 0 and _file_ident(ring.ring.ring_fd) == ring._ident:
            return 0
    return -1


cdef list _rings_of_fd(int fd, bint maybe):
    """The live io_uring objects of this process whose kernel ring ``fd`` is (any fd: a dup
    too); with ``maybe``, also those it may be when that cannot be told."""
    cdef list found = []
    cdef int verdict
    ident = _file_ident(fd)
    if ident is None:
        return found
    for r in list(_live_rings):
        if not (<io_uring>r).initialized:
            continue
        verdict = _is_ring_file(fd, ident, <io_uring>r)
        if verdict == 1 or (verdict == -1 and maybe):
            found.append(r)
    return found


cdef void _register_live_ring(io_uring ring):
    global _per_ring_inodes
    ring._ident = _file_ident(ring.ring.ring_fd)
    if ring._ident is not None and not _per_ring_inodes:
        for r in list(_live_rings):
            if (<io_uring>r).initialized and (<io_uring>r)._ident is not None \
                    and (<io_uring>r)._ident != ring._ident:
                _per_ring_inodes = True
                break
    _live_rings.add(ring)


cdef int _expect_foreign_cqe(int ring_fd, uint64_t user_data) except -1:
    """A MSG_RING to ``ring_fd`` will post a CQE with ``user_data`` there: if that ring is one of
    ours, it must not take the CQE for the completion of its own request with that user_data.
    Where the ring cannot be told for sure, every candidate is told: a CQE announced to a ring
    that never gets it can only delay a release, never make one early."""
    for ring in _rings_of_fd(ring_fd, True):
        (<io_uring>ring)._expect_foreign(user_data)
    return 0


# ---- errors and argument conversion ------------------------------------------------------------

cdef double _monotonic() noexcept:
    # C clock: teardown can run at interpreter shutdown, when Python modules are gone.
    cdef timespec now
    clock_gettime(CLOCK_MONOTONIC, &now)
    return now.tv_sec + now.tv_nsec * 1e-9


cdef int _raise_errno(int err) except -1:
    raise OSError(err, os.strerror(err))


cdef inline int _check_ret(int ret) except -1:
    if ret < 0:
        _raise_errno(-ret)
    return ret


# ---- pinned objects ----------------------------------------------------------------------------

include "_buffer_export.pxi"


include "_convert.pxi"


@cython.final
@cython.freelist(64)
cdef class _Inflight:
    pass


# ---- C structs as small Python types -----------------------------------------------------------

@cython.final
cdef class kernel_timespec:
    """struct __kernel_timespec { tv_sec, tv_nsec }."""

    def __init__(self, long long tv_sec=0, long long tv_nsec=0):
        self.ts.tv_sec = tv_sec
        self.ts.tv_nsec = tv_nsec

    @property
    def tv_sec(self):
        return self.ts.tv_sec

    @tv_sec.setter
    def tv_sec(self, long long value):
        self.ts.tv_sec = value

    @property
    def tv_nsec(self):
        return self.ts.tv_nsec

    @tv_nsec.setter
    def tv_nsec(self, long long value):
        self.ts.tv_nsec = value

    def __repr__(self):
        return f"kernel_timespec(tv_sec={self.ts.tv_sec}, tv_nsec={self.ts.tv_nsec})"


@cython.final
cdef class open_how:
    """struct open_how { flags, mode, resolve } for openat2."""

    def __init__(self, unsigned long long flags=0, unsigned long long mode=0, unsigned long long resolve=0):
        self.how.flags = flags
        self.how.mode = mode
        self.how.resolve = resolve

    # Assignable as in C (how.flags = O_RDWR): the kernel copies struct open_how when the
    # request is issued, and plain integers carry no address.
    @property
    def flags(self):
        return self.how.flags
    @flags.setter
    def flags(self, unsigned long long v): self.how.flags = v

    @property
    def mode(self):
        return self.how.mode
    @mode.setter
    def mode(self, unsigned long long v): self.how.mode = v

    @property
    def resolve(self):
        return self.how.resolve
    @resolve.setter
    def resolve(self, unsigned long long v): self.how.resolve = v

    def __repr__(self):
        return f"open_how(flags={self.how.flags:#o}, mode={self.how.mode:#o}, resolve={self.how.resolve:#x})"


@cython.final
cdef class statx_timestamp:
    """struct statx_timestamp { tv_sec, tv_nsec }."""

    def __repr__(self):
        return f"statx_timestamp(tv_sec={self.tv_sec}, tv_nsec={self.tv_nsec})"


cdef statx_timestamp _stamp(c.ioring_statx_timestamp t):
    cdef statx_timestamp s = statx_timestamp.__new__(statx_timestamp)
    s.tv_sec = t.tv_sec
    s.tv_nsec = t.tv_nsec
    return s


@cython.final
cdef class statx:
    """struct statx (256 bytes, Linux 6.18's fields), filled by the kernel in place
    (io_uring_prep_statx). A field is meaningful when its STATX_* bit is in stx_mask."""

    def __init__(self):
        memset(&self.st, 0, sizeof(self.st))

    @property
    def stx_mask(self): return self.st.stx_mask
    @property
    def stx_blksize(self): return self.st.stx_blksize
    @property
    def stx_attributes(self): return self.st.stx_attributes
    @property
    def stx_nlink(self): return self.st.stx_nlink
    @property
    def stx_uid(self): return self.st.stx_uid
    @property
    def stx_gid(self): return self.st.stx_gid
    @property
    def stx_mode(self): return self.st.stx_mode
    @property
    def stx_ino(self): return self.st.stx_ino
    @property
    def stx_size(self): return self.st.stx_size
    @property
    def stx_blocks(self): return self.st.stx_blocks
    @property
    def stx_attributes_mask(self): return self.st.stx_attributes_mask
    @property
    def stx_atime(self): return _stamp(self.st.stx_atime)
    @property
    def stx_btime(self): return _stamp(self.st.stx_btime)
    @property
    def stx_ctime(self): return _stamp(self.st.stx_ctime)
    @property
    def stx_mtime(self): return _stamp(self.st.stx_mtime)
    @property
    def stx_rdev_major(self): return self.st.stx_rdev_major
    @property
    def stx_rdev_minor(self): return self.st.stx_rdev_minor
    @property
    def stx_dev_major(self): return self.st.stx_dev_major
    @property
    def stx_dev_minor(self): return self.st.stx_dev_minor
    @property
    def stx_mnt_id(self): return self.st.stx_mnt_id
    @property
    def stx_dio_mem_align(self): return self.st.stx_dio_mem_align
    @property
    def stx_dio_offset_align(self): return self.st.stx_dio_offset_align
    @property
    def stx_subvol(self): return self.st.stx_subvol
    @property
    def stx_atomic_write_unit_min(self): return self.st.stx_atomic_write_unit_min
    @property
    def stx_atomic_write_unit_max(self): return self.st.stx_atomic_write_unit_max
    @property
    def stx_atomic_write_segments_max(self): return self.st.stx_atomic_write_segments_max
    @property
    def stx_dio_read_offset_align(self): return self.st.stx_dio_read_offset_align
    @property
    def stx_atomic_write_unit_max_opt(self): return self.st.stx_atomic_write_unit_max_opt

    def __repr__(self):
        return (f"statx(stx_mask={self.st.stx_mask:#x}, stx_mode={self.st.stx_mode:#o}, "
                f"stx_size={self.st.stx_size}, stx_ino={self.st.stx_ino})")


@cython.final
cdef class io_sqring_offsets:
    """struct io_sqring_offsets, as the kernel filled it."""


@cython.final
cdef class io_cqring_offsets:
    """struct io_cqring_offsets, as the kernel filled it."""


@cython.final
cdef class io_uring_params:
    """struct io_uring_params: set flags (and sq_thread_*, cq_entries, wq_fd) before
    io_uring_queue_init_params; the kernel fills in the rest."""

    def __init__(self, unsigned flags=0, unsigned sq_entries=0, unsigned cq_entries=0,
                 unsigned sq_thread_cpu=0, unsigned sq_thread_idle=0, unsigned wq_fd=0):
        memset(&self.p, 0, sizeof(self.p))
        self.p.flags = flags
        self.p.sq_entries = sq_entries
        self.p.cq_entries = cq_entries
        self.p.sq_thread_cpu = sq_thread_cpu
        self.p.sq_thread_idle = sq_thread_idle
        self.p.wq_fd = wq_fd

    @property
    def sq_entries(self): return self.p.sq_entries
    @sq_entries.setter
    def sq_entries(self, unsigned v): self.p.sq_entries = v
    @property
    def cq_entries(self): return self.p.cq_entries
    @cq_entries.setter
    def cq_entries(self, unsigned v): self.p.cq_entries = v
    @property
    def flags(self): return self.p.flags
    @flags.setter
    def flags(self, unsigned v): self.p.flags = v
    @property
    def sq_thread_cpu(self): return self.p.sq_thread_cpu
    @sq_thread_cpu.setter
    def sq_thread_cpu(self, unsigned v): self.p.sq_thread_cpu = v
    @property
    def sq_thread_idle(self): return self.p.sq_thread_idle
    @sq_thread_idle.setter
    def sq_thread_idle(self, unsigned v): self.p.sq_thread_idle = v
    @property
    def features(self): return self.p.features
    @property
    def wq_fd(self): return self.p.wq_fd
    @wq_fd.setter
    def wq_fd(self, unsigned v): self.p.wq_fd = v

    @property
    def sq_off(self):
        cdef io_sqring_offsets o = io_sqring_offsets.__new__(io_sqring_offsets)
        o.head, o.tail = self.p.sq_off.head, self.p.sq_off.tail
        o.ring_mask, o.ring_entries = self.p.sq_off.ring_mask, self.p.sq_off.ring_entries
        o.flags, o.dropped, o.array = self.p.sq_off.flags, self.p.sq_off.dropped, self.p.sq_off.array
        o.user_addr = self.p.sq_off.user_addr
        return o

    @property
    def cq_off(self):
        cdef io_cqring_offsets o = io_cqring_offsets.__new__(io_cqring_offsets)
        o.head, o.tail = self.p.cq_off.head, self.p.cq_off.tail
        o.ring_mask, o.ring_entries = self.p.cq_off.ring_mask, self.p.cq_off.ring_entries
        o.overflow, o.cqes, o.flags = self.p.cq_off.overflow, self.p.cq_off.cqes, self.p.cq_off.flags
        o.user_addr = self.p.cq_off.user_addr
        return o

    def __repr__(self):
        return (f"io_uring_params(sq_entries={self.p.sq_entries}, cq_entries={self.p.cq_entries}, "
                f"flags={self.p.flags:#x}, features={self.p.features:#x})")


@cython.final
cdef class io_uring_probe_op:
    """struct io_uring_probe_op { op, flags }."""

    def __repr__(self):
        return f"io_uring_probe_op(op={self.op}, flags={self.flags:#x})"


@cython.final
cdef class io_uring_probe:
    """struct io_uring_probe, as IORING_REGISTER_PROBE fills it (io_uring_get_probe)."""

    def __cinit__(self):
        self.probe = <c.io_uring_probe *>calloc(1, c.ioring_probe_size())
        if self.probe == NULL:
            raise MemoryError()

    def __dealloc__(self):
        free(self.probe)

    @property
    def last_op(self): return self.probe.last_op
    @property
    def ops_len(self): return self.probe.ops_len

    @property
    def ops(self):
        cdef list out = []
        cdef io_uring_probe_op o
        cdef int i
        for i in range(self.probe.ops_len):
            o = io_uring_probe_op.__new__(io_uring_probe_op)
            o.op = self.probe.ops[i].op
            o.flags = self.probe.ops[i].flags
            out.append(o)
        return out

    def __repr__(self):
        return f"io_uring_probe(last_op={self.probe.last_op}, ops_len={self.probe.ops_len})"


# ---- the ring ----------------------------------------------------------------------------------

# cqe.res as a Python int: the int made for the last value is reused while the value repeats
# (every CQE of a loop of 4 KiB reads has res 4096, past CPython's cache of small ints), which
# saves an allocation and a free per CQE. Ints are immutable: sharing one is invisible.
cdef int32_t _last_res = 0
cdef object _last_res_obj = 0


cdef inline object _res_int(int32_t res):
    global _last_res, _last_res_obj
    if res != _last_res:
        _last_res_obj = res
        _last_res = res
    return _last_res_obj


# A ring's incarnation: a new number at every queue_init, never reused by any ring of the process.
# An SQE or a CQE copy carries the incarnation it was made in, so one of another ring, or of an
# earlier queue_init of the same ring, is told stale by that number alone (a CQE copy holds no
# reference to its ring: see _copy_cqe).
cdef unsigned long _last_incarnation = 0


cdef unsigned long _new_incarnation() noexcept:
    global _last_incarnation
    _last_incarnation += 1
    return _last_incarnation


from cpython.object cimport PyObject

cdef extern from *:
    """
    static inline int ioring_sole_reference(PyObject *o) { return Py_REFCNT(o) == 1; }

    /* The int of a CQE's user_data or flags: small values (slots, indices, flags 0) straight
       from a table of CPython's own cached ints, without a call per completion. */
    static PyObject *ioring_small_uints[256];
    static int ioring_fill_small_uints(void)
    {
        for (unsigned i = 0; i < 256; i++)
            if (ioring_small_uints[i] == NULL
                    && (ioring_small_uints[i] = PyLong_FromUnsignedLong(i)) == NULL)
                return -1;
        return 0;
    }
    static inline PyObject *ioring_uint_obj(uint64_t v)
    {
        if (v < 256) {
            Py_INCREF(ioring_small_uints[v]);
            return ioring_small_uints[v];
        }
        return PyLong_FromUnsignedLongLong(v);
    }
    """
    bint ioring_sole_reference(PyObject *o)
    int ioring_fill_small_uints() except -1
    object ioring_uint_obj(uint64_t v)


ioring_fill_small_uints()


cdef inline bint _sole_copy(io_uring ring, bint b) noexcept:
    """The ring's CQE copy _cqe_b (``b``) or _cqe_a is referenced by the ring alone (None never
    is). The attribute is read in place: a local variable would be one more reference."""
    if b:
        return ioring_sole_reference(<PyObject *>ring._cqe_b)
    return ioring_sole_reference(<PyObject *>ring._cqe_a)


cdef inline int _fill_cqe(io_uring ring, io_uring_cqe out, c.io_uring_cqe *cqe, unsigned pos) except -1:
    """Make ``out`` the copy of ``cqe`` (at CQ index ``pos``): a new io_uring_cqe, or one
    that nobody but the ring can reach any more (see _copy_cqe)."""
    cdef _Inflight rec
    # A refilled copy keeps the ints it has when the values repeat (flags mostly 0, the same
    # user_data at QD 1); a new copy has None there.
    if out._user_data_obj is None or out.user_data != cqe.user_data:
        out._user_data_obj = ioring_uint_obj(cqe.user_data)
    if out._flags_obj is None or out.flags != cqe.flags:
        out._flags_obj = ioring_uint_obj(cqe.flags)
    if out._res_obj is None or out.res != cqe.res:
        out._res_obj = _res_int(cqe.res)
    out.user_data = cqe.user_data
    out.res = cqe.res
    out.flags = cqe.flags
    out._ring_addr = <void *>ring
    out._pos = pos
    out._incarnation = ring._incarnation
    if out._data is not None:
        out._data = None
    if ring._has_data and ring._inflight:
        rec = <_Inflight>ring._inflight.get(out.user_data)
        if rec is not None:
            out._data = rec.data
    if (ring.ring.flags & _c_IORING_SETUP_CQE32) or (cqe.flags & _c_IORING_CQE_F_32):
        out._is_big = True
        out._big[0] = cqe.big_cqe[0]
        out._big[1] = cqe.big_cqe[1]
    else:
        out._is_big = False
    return 0


cdef inline int _drop_pin(io_uring ring, uint32_t ref) except -1:
    """io_uring._pin_drop: release what the pin table holds at ``ref`` (inline for the
    completions' loop)."""
    cdef Py_buffer view
    if ioring_view_held(&ring._pin_views[ref - 1]):     # (its store entry is None)
        ring._pin_free[ring._pin_nfree] = ref - 1
        ring._pin_nfree += 1
        if ioring_view_release_is_quiet(&ring._pin_views[ref - 1]):
            ioring_release_bytearray(&ring._pin_views[ref - 1])   # in place: no Python code runs
            return 0
        ioring_view_move(&view, &ring._pin_views[ref - 1])
        ioring_release_view(&view)              # last, once the state is consistent
        return 0
    old = ring._pin_store[ref - 1]              # dropped last, once the state is consistent
    ring._pin_store[ref - 1] = None
    ring._pin_free[ring._pin_nfree] = ref - 1
    ring._pin_nfree += 1
    return 0


cdef inline uint32_t _pin_take_free(io_uring ring) noexcept:
    """A freed ref (index + 1) of the pin table, whose entry is None and holds no export; 0
    when none is free (io_uring._pin_index then grows the table)."""
    if ring._pin_nfree == 0:
        return 0
    ring._pin_nfree -= 1
    return ring._pin_free[ring._pin_nfree] + 1


cdef inline int _settle_counted(io_uring ring, uint64_t ud) except -1:
    """io_uring._settle for a user_data counted in _flight (no record): one request fewer, and
    what they pinned released when it was the last."""
    cdef uint32_t ref
    if ioring_udcount_take(&ring._flight, ud, &ref) and ref:
        _drop_pin(ring, ref)
    return 0


cdef int _track(io_uring ring) except -1:
    """Count every SQE about to be published under its user_data, with what it pinned, so
    that this is released when the last completion of that user_data is seen (a completion
    cannot tell which of several requests with one user_data it belongs to). Requests go
    to _flight (C counts; pins in _pin_store), except those with a set_data object, which
    get an _Inflight record. A user_data is in one of the two at a time (see _settle)."""
    cdef unsigned tail = ring.ring.sq.sqe_tail
    cdef unsigned slot
    cdef uint64_t ud
    cdef uint32_t ref, old
    cdef ioring_udcount_slot *entry
    while ring._tracked != tail:
        slot = ring._tracked & ring.ring.sq.ring_mask
        ud = c.ioring_sqe_at(&ring.ring, ring._tracked).user_data
        ref = ring._slot_ref[slot]
        if ((not ring._has_data or ring._slot_data[slot] is None)
                and not (ring._inflight and ud in ring._inflight)):
            entry = ioring_udcount_add(&ring._flight, ud)
            if entry != NULL:
                ring._slot_ref[slot] = 0
                if ref:
                    if entry.ref == 0:
                        entry.ref = ref             # the slot's pins move to the value
                    else:                           # another request pinned for this value
                        old = entry.ref             # (no C pointer is used past here)
                        ring._pin_set(old, (ring._pin_obj(old), ring._pin_obj(ref)))
                        ring._pin_drop(ref)
                ring._tracked += 1
                continue
            # (out of memory for the count: a record does the same)
        ring._track_record(slot, ud, ref)
        ring._tracked += 1
    return 0


cdef inline int _retire(io_uring ring, unsigned nr) except -1:
    """Advance the CQ head by nr slots, releasing what completed requests pinned."""
    cdef unsigned head = ring.ring.cq.khead[0]
    cdef unsigned i = 0
    cdef c.io_uring_cqe *cqe
    cdef object key
    cdef uint64_t ud
    if ring._flight.used or ring._inflight or ring._foreign:
        while i < nr:
            cqe = c.ioring_cqe_at(&ring.ring, head + i)
            i += c.ioring_cqe_nr(cqe)
            if cqe.flags & (_c_IORING_CQE_F_MORE | _c_IORING_CQE_F_SKIP):
                continue
            ud = cqe.user_data
            if not ring._inflight and not ring._foreign:
                # The common case (no record, nothing foreign), checked again for every
                # CQE, since a release may run Python code.
                _settle_counted(ring, ud)
                continue
            if ring._foreign and ring._foreign.get(ud):
                # Announced as not a request's completion (a tag, a MSG_RING): it releases
                # nothing. Which of two same-valued CQEs is the foreign one is unknowable;
                # counting either way can only delay a release, never make it early.
                key = ud
                n = ring._foreign[key] - 1
                if n:
                    ring._foreign[key] = n
                else:
                    del ring._foreign[key]
                continue
            ring._settle(ud)
    c.ioring_cq_advance(&ring.ring, nr)
    return 0


cdef inline io_uring_cqe _copy_cqe(io_uring ring, c.io_uring_cqe *cqe, unsigned pos):
    """A copy of ``cqe`` (at CQ index ``pos``). The ring keeps the last two copies it
    made: one that only the ring references (no variable, list or other object holds it:
    nothing can read it again) is refilled instead of a new one allocated, GC-tracked and
    freed. In ``for cqe in io_uring_for_each_cqe(ring)`` or ``cqe = io_uring_peek_cqe(ring)``
    in a loop the variable still holds the last copy when the next is made, not the one
    before; a loop that makes one copy per call of a function finds its last one free.
    A copy holds no reference to its ring (no cycle: a dropped ring still closes at once),
    and one carrying an io_uring_sqe_set_data object is never kept (it may refer back)."""
    cdef io_uring_cqe out
    if not _sole_copy(ring, ring._cqe_last_b):
        # The newer copy is held: the older becomes the newer (no reference moves, a flag
        # says which is which), refilled if nobody holds it either, else replaced.
        ring._cqe_last_b = not ring._cqe_last_b
        if not _sole_copy(ring, ring._cqe_last_b):
            if ring._cqe_last_b:
                ring._cqe_b = io_uring_cqe.__new__(io_uring_cqe)
            else:
                ring._cqe_a = io_uring_cqe.__new__(io_uring_cqe)
    out = <io_uring_cqe>(ring._cqe_b if ring._cqe_last_b else ring._cqe_a)
    _fill_cqe(ring, out, cqe, pos)
    if out._data is not None:
        if ring._cqe_last_b:
            ring._cqe_b = None
        else:
            ring._cqe_a = None
    return out


@cython.no_gc_clear
cdef class io_uring:
    """struct io_uring. Create it empty and fill it with io_uring_queue_init, as in C."""

    def __cinit__(self):
        memset(&self.ring, 0, sizeof(self.ring))
        self.ring.ring_fd = -1
        self.ring.enter_ring_fd = -1
        self.initialized = False
        self._inflight = {}
        self._pin_store = []
        self._slot_data = []
        self._buf_rings = {}
        self._provided = []
        self._reg_buffers = _RegisteredBuffers()
        self._foreign = {}

    cdef int _check(self) except -1:
        if self._busy is not None:
            self._refuse_busy()
        if not self.initialized:
            raise ValueError("the ring is not initialized (io_uring_queue_init) or was closed (io_uring_queue_exit)")
        if self._generation != _fork_generation:
            raise RuntimeError("this io_uring belongs to the parent process: a ring cannot be used "
                               "after fork() (create a new one in the child)")
        return 0

    cdef int _refuse_busy(self) except -1:
        raise RuntimeError(f"this ring is in use by {self._busy}: nothing else may use it until "
                           "that returns")

    cdef bint _in_fork_child(self):
        """True in a fork child for a ring of the parent's."""
        return self._generation != _fork_generation

    cdef void _expect_foreign(self, uint64_t user_data):
        key = user_data
        self._foreign[key] = self._foreign.get(key, 0) + 1

    cdef c.io_uring_sqe *_sqe(self, unsigned seq, unsigned long incarnation) except NULL:
        """The SQE handed out at SQ index seq, if it has not been submitted yet (the slow path
        of _slot_sqe: it raises what is wrong)."""
        if self._busy is not None:
            self._refuse_busy()
        if not self.initialized or incarnation != self._incarnation:
            raise ValueError("the SQE's ring was closed (io_uring_queue_exit)")
        if self._generation != _fork_generation:
            self._check()
        if <unsigned>(seq - self._tracked) >= <unsigned>(self.ring.sq.sqe_tail - self._tracked):
            raise ValueError("the SQE was already submitted; get a new one with io_uring_get_sqe")
        return c.ioring_sqe_at(&self.ring, seq)

    cdef int _track_record(self, unsigned slot, uint64_t ud, uint32_t ref) except -1:
        """_track for a request with a set_data object, or whose user_data has a record: its
        count, pins and object go to the value's _Inflight record."""
        cdef uint32_t count
        cdef _Inflight rec
        cdef object pins = None
        cdef object data = self._slot_data[slot] if self._has_data else None
        cdef object key = ud
        if ref:
            pins = self._pin_obj(ref)
            self._slot_ref[slot] = 0
            self._pin_drop(ref)
        rec = <_Inflight>self._inflight.get(key)
        if rec is None:
            rec = _Inflight.__new__(_Inflight)
            rec.count = 0
            rec.pins = None
            rec.data = None
            if self._flight.used and ioring_udcount_remove(&self._flight, ud, &count, &ref):
                rec.count = count               # the value moves to the record
                if ref:
                    rec.pins = self._pin_obj(ref)
                    self._pin_drop(ref)
            self._inflight[key] = rec
        rec.count += 1
        if pins is not None:
            # Only kept alive, never looked into: nest rather than build a list.
            rec.pins = pins if rec.pins is None else (rec.pins, pins)
        if data is not None:
            self._slot_data[slot] = None
            rec.data = data
        return 0

    cdef uint32_t _pin_index(self) except 0:
        """A free ref (index + 1) of _pin_store, whose entry is None and holds no export: a
        freed one, or a new one (the table grown)."""
        cdef uint32_t idx, cap
        cdef uint32_t *grown
        cdef Py_buffer *views
        cdef uint32_t ref = _pin_take_free(self)
        if ref:
            return ref
        idx = <uint32_t>len(self._pin_store)
        if idx >= self._pin_cap:                # room to free every index later
            cap = 64 if self._pin_cap == 0 else 2 * self._pin_cap
            grown = <uint32_t *>realloc(self._pin_free, cap * sizeof(uint32_t))
            if grown == NULL:
                raise MemoryError()
            self._pin_free = grown
            # (a held export may move: its release reads only the exporter and ``internal``)
            views = <Py_buffer *>realloc(self._pin_views, cap * sizeof(Py_buffer))
            if views == NULL:
                raise MemoryError()
            memset(&views[self._pin_cap], 0, (cap - self._pin_cap) * sizeof(Py_buffer))
            self._pin_views = views
            self._pin_cap = cap
        self._pin_store.append(None)
        return idx + 1

    cdef uint32_t _pin_put(self, object pins) except 0:
        """Keep ``pins`` in _pin_store: its ref (index + 1)."""
        cdef uint32_t ref = self._pin_index()
        self._pin_store[ref - 1] = pins
        return ref

    cdef uint32_t _pin_put_view(self, Py_buffer *view) except 0:
        """Keep the export ``view`` (moved in: the ring releases it from now on) in the pin table
        itself: a read's or a write's buffer is pinned without a _Buffer object to make and free."""
        cdef uint32_t ref = self._pin_index()
        ioring_view_move(&self._pin_views[ref - 1], view)
        return ref

    cdef object _pin_obj(self, uint32_t ref):
        """What ``ref`` pins, as an object: an export held in the table moves into a _Buffer
        (for paths that keep pins elsewhere: merged, in a record, leaked)."""
        cdef _Buffer b
        if not ioring_view_held(&self._pin_views[ref - 1]):
            return self._pin_store[ref - 1]
        b = _Buffer.__new__(_Buffer)
        ioring_view_move(&b.view, &self._pin_views[ref - 1])
        b.held = True
        b.ptr = <char *>b.view.buf
        b.nbytes = b.view.len
        self._pin_store[ref - 1] = b
        return b

    cdef int _pin_set(self, uint32_t ref, object obj) except -1:
        """``ref`` pins ``obj`` in place of what it pinned (released once ``obj`` is stored)."""
        cdef Py_buffer view
        ioring_view_move(&view, &self._pin_views[ref - 1])
        self._pin_store[ref - 1] = obj
        if ioring_view_held(&view):
            ioring_release_view(&view)
        return 0

    cdef int _pin_drop(self, uint32_t ref) except -1:
        """Release what _pin_store holds at ``ref``."""
        return _drop_pin(self, ref)

    cdef int _settle(self, uint64_t ud) except -1:
        """One request with user_data ``ud`` is no longer in flight: when it was the last one
        with that value, what they all pinned is released."""
        cdef uint32_t ref, count
        cdef _Inflight rec
        cdef object key
        if self._inflight:
            key = ud
            rec = <_Inflight>self._inflight.get(key)
            if rec is not None:
                # A record made elsewhere (an interrupted batch of the Pythonic layer) while
                # _flight counted the value too: one count, in the record.
                if self._flight.used and ioring_udcount_remove(&self._flight, ud, &count, &ref):
                    rec.count += count
                    if ref:
                        rec.pins = self._pin_obj(ref) if rec.pins is None else (rec.pins, self._pin_obj(ref))
                        self._pin_drop(ref)
                rec.count -= 1
                if rec.count <= 0:
                    del self._inflight[key]
                return 0
        return _settle_counted(self, ud)

    cdef void _forget_flight(self):
        """Drop every count and pin of _flight and of the SQ slots (the ring is gone, or the
        pins are leaked)."""
        ioring_udcount_clear(&self._flight)
        if self._slot_ref != NULL:
            memset(self._slot_ref, 0, self._nslots * sizeof(uint32_t))
        self._release_views()
        self._pin_store = []
        self._pin_nfree = 0

    cdef void _release_views(self):
        """Release every export the pin table holds in place of an object."""
        cdef uint32_t i
        cdef Py_buffer view
        for i in range(self._pin_cap):
            if ioring_view_held(&self._pin_views[i]):
                ioring_view_move(&view, &self._pin_views[i])
                ioring_release_view(&view)

    cdef int _size_slots(self, unsigned n) except -1:
        """Per-slot state for an SQ of ``n`` entries, empty (what slots pinned is dropped)."""
        cdef uint32_t *refs = <uint32_t *>calloc(n if n else 1, sizeof(uint32_t))
        cdef unsigned i
        if refs == NULL:
            raise MemoryError()
        if self._slot_ref != NULL:
            for i in range(self._nslots):
                if self._slot_ref[i]:
                    self._pin_drop(self._slot_ref[i])
            free(self._slot_ref)
        self._slot_ref = refs
        self._nslots = n
        self._slot_data = [None] * n
        return 0

    cdef Py_ssize_t _requests_tracked(self):
        """Distinct user_data values of requests submitted and not completed."""
        return len(self._inflight) + self._flight.used

    cdef int _wait(self, c.io_uring_cqe **cqe_ptr, unsigned submit, unsigned wait_nr,
                   c.ioring_kernel_timespec *ts, void *sigmask) except? -1:
        """Wait with the GIL released in the kernel; EINTR runs Python's signal handlers
        (KeyboardInterrupt propagates, completions stay in the CQ) and waits again."""
        cdef int ret
        cdef bint submitting = submit != 0
        _ready(self)
        self._blocking += 1
        try:
            while True:
                ret = c.ioring_wait_cqes_timeout(&self.ring, cqe_ptr, submit, wait_nr, ts, <sigset_t *>sigmask)
                if ret != -EINTR:
                    return ret
                PyErr_CheckSignals()
                if submitting:
                    # Only a wait that submits publishes SQEs: a pure wait leaves prepared
                    # SQEs unsubmitted (and preparable).
                    _track(self)
                    submit = c.ioring_flush_sq(&self.ring)
        finally:
            self._blocking -= 1

    cdef void _quiesce(self):
        """Before the ring goes away: cancel everything in flight and wait until the kernel
        is done with every pinned object (it may finish cancelled work after the fd closes).
        What cannot be confirmed done is leaked, never released."""
        cdef c.io_uring_sqe *sqe
        cdef c.io_uring_cqe *cqe
        cdef c.ioring_kernel_timespec ts
        cdef int ret, idle_rounds = 0
        cdef unsigned n, i, head
        cdef bint progress, cancel_any = True
        cdef double deadline
        # SQEs handed out but never submitted: the kernel has not seen them.
        self.ring.sq.sqe_tail = self.ring.sq.sqe_head
        self._tracked = self.ring.sq.sqe_tail
        for i in range(self._nslots):
            if self._slot_ref[i]:
                self._pin_drop(self._slot_ref[i])
                self._slot_ref[i] = 0
            self._slot_data[i] = None
        deadline = _monotonic() + _QUIESCE_SECONDS
        while self._inflight or self._flight.used:
            if _monotonic() >= deadline:
                self._leak("requests still in flight after cancellation")
                return
            if cancel_any:
                sqe = c.ioring_get_sqe(&self.ring)
                if sqe != NULL:
                    c.ioring_prep_cancel64(sqe, 0, _c_IORING_ASYNC_CANCEL_ANY)
                    c.ioring_sqe_set_data64(sqe, _QUIESCE_UD)
            else:
                for key in list(self._inflight) + self._flight_keys():
                    sqe = c.ioring_get_sqe(&self.ring)
                    if sqe == NULL:
                        break
                    c.ioring_prep_cancel64(sqe, key, 0)
                    c.ioring_sqe_set_data64(sqe, _QUIESCE_UD)
            self._tracked = self.ring.sq.sqe_tail
            ts.tv_sec = 0
            ts.tv_nsec = 50000000
            ret = c.ioring_wait_cqes_timeout(&self.ring, &cqe, c.ioring_flush_sq(&self.ring), 1, &ts, NULL)
            if ret == -EBADFD:
                # IORING_SETUP_R_DISABLED and never enabled: the kernel refuses to consume
                # anything; what waits in the SQ never ran and never will once the fd closes.
                self._untrack_unconsumed()
                if self._inflight or self._flight.used:
                    self._leak("the ring refuses to run requests (EBADFD) and some were consumed")
                return
            if ret < 0 and ret != -ETIME and ret != -EAGAIN and ret != -EINTR:
                self._leak(f"waiting for cancelled requests failed: {strerror(-ret).decode()}")
                return
            progress = False
            n = c.ioring_cq_ready(&self.ring)
            head = self.ring.cq.khead[0]
            for i in range(n):
                cqe = c.ioring_cqe_at(&self.ring, head + i)
                if cqe.user_data != _QUIESCE_UD:
                    progress = True
                elif cqe.res == -EINVAL and cancel_any:
                    cancel_any = False      # kernel before 5.19: cancel each user_data
                    progress = True
                elif cqe.res > 0 or cqe.res == -EALREADY:
                    progress = True         # something was found and is being cancelled
            _retire(self, n)
            if progress:
                idle_rounds = 0
            else:
                idle_rounds += 1
                # Nothing left to cancel and nothing completing: what remains are requests
                # whose success CQE was skipped (IOSQE_CQE_SKIP_SUCCESS), already done.
                if idle_rounds >= 3 and c.ioring_sq_ready(&self.ring) == 0:
                    self._inflight.clear()
                    self._forget_flight()

    cdef void _untrack_unconsumed(self):
        """The SQEs between the kernel's SQ head and our tail were published but never consumed:
        they are not in flight (their requests release what they pinned)."""
        cdef unsigned idx = c.ioring_load_sq_head(&self.ring)
        cdef unsigned tail = self.ring.sq.sqe_head
        cdef _Inflight rec
        cdef uint64_t ud
        while idx != tail:
            ud = c.ioring_sqe_at(&self.ring, idx).user_data
            idx += 1
            self._settle(ud)

    cdef list _flight_keys(self):
        """The user_data values counted in _flight."""
        cdef list keys = []
        cdef uint32_t i
        cdef const ioring_udcount_slot *slot
        if self._flight.used:
            for i in range(ioring_udcount_span(&self._flight)):
                slot = ioring_udcount_slot_at(&self._flight, i)
                if slot.count:
                    keys.append(slot.key)
        return keys

    cdef void _leak(self, str why):
        cdef uint32_t i
        for i in range(self._pin_cap):
            if ioring_view_held(&self._pin_views[i]):
                self._pin_obj(i + 1)            # its export moves into a _Buffer, kept forever
        _leaked_pins.append(list(self._inflight.values()))
        _leaked_pins.append(self._pin_store)
        self._inflight = {}
        self._forget_flight()
        try:
            warnings.warn(f"io_uring_queue_exit: {why}; their buffers are kept alive forever",
                          RuntimeWarning)
        except Exception:
            pass  # interpreter shutdown

    cdef int _check_fixed(self, const char *ptr, size_t nbytes, int buf_index) except -1:
        """READ_FIXED/WRITE_FIXED memory must lie inside registered buffer ``buf_index`` (the
        thin layer's preps and the Pythonic layer's batches)."""
        return self._reg_buffers.check(ptr, nbytes, buf_index)

    # ---- the door: the cdef API another module drives this ring through ----------------------
    # (docs/ARCHITECTURE.md). Pins, in-flight tracking and teardown stay this class's: a module
    # on the door queues with door_acquire + door_pin, publishes with door_submit/door_enter,
    # consumes with door_reap and tears down with door_exit.

    cdef c.io_uring_sqe *door_try_acquire(self) except? NULL:
        """The next SQE, zeroed (closed/fork/busy checks first), or NULL without an exception
        when the SQ is full: nothing is submitted (a caller queueing a linked chain decides
        what may go to the kernel)."""
        self._check()
        return c.ioring_get_sqe_zeroed(&self.ring)

    cdef c.io_uring_sqe *door_acquire(self) except? NULL:
        """door_try_acquire, but when the SQ is full what is queued is submitted first; NULL
        without an exception when the kernel takes nothing now (EBUSY, EAGAIN): reap
        completions, then call again."""
        cdef c.io_uring_sqe *sqe = self.door_try_acquire()
        if sqe == NULL:
            _track(self)
            c.ioring_submit(&self.ring)
            sqe = c.ioring_get_sqe_zeroed(&self.ring)
        return sqe

    cdef int door_pin(self, c.io_uring_sqe *sqe, object obj) except -1:
        """Keeps ``obj`` alive until the completion of ``sqe`` (door_acquire'd, not yet submitted)
        is reaped, or forever if a teardown cannot confirm the kernel is done with it."""
        cdef size_t slot = <size_t>(sqe - self.ring.sq.sqes) >> c.ioring_sqe_shift(&self.ring)
        cdef uint32_t ref = self._slot_ref[slot]
        if ref:
            self._pin_set(ref, (self._pin_obj(ref), obj))
        else:
            self._slot_ref[slot] = self._pin_put(obj)
        return 0

    cdef int door_submit(self) except? -1:
        """Publishes the SQEs queued (their pins become in flight); returns how many the kernel
        took, or -errno (not raised: the SQEs stay queued for the next submit)."""
        self._check()
        _track(self)
        return c.ioring_submit(&self.ring)

    cdef int door_enter(self, bint submit, unsigned wait_nr, c.ioring_kernel_timespec *ts) except? -1:
        """Waits for ``wait_nr`` completions (``ts``: at most that long, NULL: no limit) with the GIL
        released, first publishing what is queued if ``submit``; EINTR runs Python's signal
        handlers (their exception propagates) and waits again. Returns 0 or -errno (-ETIME: timed
        out). While it waits, door_exit from another thread raises RuntimeError."""
        cdef c.io_uring_cqe *cqe
        self._check()
        if submit:
            _track(self)
        return self._wait(&cqe, c.ioring_flush_sq(&self.ring) if submit else 0, wait_nr, ts, NULL)

    cdef unsigned door_reap(self, door_reap_fn fn, void *ctx, unsigned max_cqes) except? 0xFFFFFFFF:
        """Consumes the completions ready (at most ``max_cqes``; 0: all): ``fn(ctx, user_data, res,
        flags)`` for each, then the CQ head moves past them and what their requests pinned is
        released. Returns how many CQ slots were consumed. If ``fn`` raises, the CQEs up to and
        including that one are consumed and the exception propagates; if it returns 1, the
        reap stops after that CQE (the later ones stay in the CQ)."""
        cdef unsigned ready = c.ioring_cq_ready(&self.ring)
        cdef unsigned head = self.ring.cq.khead[0]
        cdef unsigned i = 0
        cdef c.io_uring_cqe *cqe
        if max_cqes and ready > max_cqes:
            ready = max_cqes
        try:
            while i < ready:
                cqe = c.ioring_cqe_at(&self.ring, head + i)
                i += c.ioring_cqe_nr(cqe)
                if fn(ctx, cqe.user_data, cqe.res, cqe.flags) == 1:
                    break
        finally:
            _retire(self, i)
        return i

    cdef unsigned door_sqe_index(self, c.io_uring_sqe *sqe) noexcept:
        """The SQ index (door_sq_tail when it was acquired) of ``sqe``, one of the last
        sq_entries SQEs handed out."""
        cdef unsigned slot = <unsigned>((<size_t>(sqe - self.ring.sq.sqes)) >> c.ioring_sqe_shift(&self.ring))
        cdef unsigned last = self.ring.sq.sqe_tail - 1
        return last - ((last - slot) & self.ring.sq.ring_mask)

    cdef c.io_uring_sqe *door_queued_sqe(self, unsigned seq) noexcept:
        """The SQE door_acquire handed out at SQ index ``seq`` (door_sq_tail before it) if it is
        still queued, unpublished: its flags may still change (a linked() chain's last request
        unlinked at the chain's end). NULL once it was submitted, or the ring closed."""
        return c.ioring_sqe_at(&self.ring, seq) if _is_queued(self, seq) else NULL

    cdef bint door_exit(self) except -1:
        """io_uring_queue_exit through the door: what is in flight is cancelled and waited for
        (the thin layer's bound and pre-5.19 fallback), then the ring is closed; in a fork child
        only this process's copy is dropped. No Python module is used, so it may run at
        interpreter shutdown. Returns True when some requests could not be confirmed done (what
        they pinned is kept alive forever). RuntimeError while another thread waits in it."""
        cdef Py_ssize_t leaked = len(_leaked_pins)
        if not self.initialized:
            return False
        _queue_exit(self)
        return len(_leaked_pins) != leaked

    # The door, continued: what the Pythonic layer (Ring, its file/send engines and batches)
    # needs. A module that fills SQEs itself brackets them with door_own_begin/door_own_end and
    # keeps what they use alive with door_keep (or until their CQEs are reaped).

    cdef int door_check(self) except -1:
        """Raises unless the ring may be used now: initialized, not the parent's ring in a fork
        child, not held by a stream (the checks door_acquire makes)."""
        return _ready(self)

    cdef bint door_in_fork_child(self) noexcept:
        """True in a fork child for a ring of the parent's (it only drops its copy)."""
        return self._generation != _fork_generation

    cdef unsigned door_cq_ready(self) noexcept:
        """Completions posted and not yet reaped."""
        return c.ioring_cq_ready(&self.ring)

    cdef bint door_cq_needs_flush(self) noexcept:
        """Completions wait in the kernel (CQ overflow, or task work under DEFER_TASKRUN):
        entering the ring (door_submit_events) brings them to the CQ."""
        return c.ioring_cq_needs_flush(&self.ring)

    cdef unsigned door_sq_ready(self) noexcept:
        """SQEs queued and not yet published to the kernel."""
        return c.ioring_sq_ready(&self.ring)

    cdef unsigned door_sq_space(self) noexcept:
        """SQEs that can be acquired before the SQ is full."""
        return c.ioring_sq_space_left(&self.ring)

    cdef unsigned door_sq_tail(self) noexcept:
        """The SQ index the next acquired SQE gets (door_submit_before's ``start``)."""
        return self.ring.sq.sqe_tail

    cdef unsigned door_sq_entries(self) noexcept:
        """The SQ's size (ring->sq.ring_entries)."""
        return self.ring.sq.ring_entries

    cdef c.io_uring_sqe *door_next_sqe(self) noexcept:
        """The next SQE, as the kernel left it (the prep fills every field), or NULL when the
        SQ is full. No checks: only between door_own_begin and door_own_end, after
        door_check and door_sq_space."""
        return c.ioring_get_sqe(&self.ring)

    cdef void door_own_begin(self):
        """Before SQEs whose memory the caller keeps alive itself (door_next_sqe): the SQEs
        queued so far keep their own pins (they become in flight as at a submit)."""
        _track(self)

    cdef c.ioring *door_own_ring(self) noexcept:
        """The C ring, for SQEs taken with the inline c.ioring_get_sqe (door_next_sqe without
        a call per SQE: the batches' loop). Only between door_own_begin and door_own_end, after
        door_check and door_sq_space, with no Python code run in between."""
        return &self.ring

    cdef void door_own_end(self) noexcept:
        """After those SQEs: they pin nothing here (their completions release nothing; a
        door_keep of their user_data makes their memory outlive them)."""
        self._tracked = self.ring.sq.sqe_tail

    cdef int door_keep(self, uint64_t user_data, object pins) except -1:
        """Keeps ``pins`` alive until a completion with ``user_data`` is reaped (one more
        request in flight with that value), or forever if a teardown cannot confirm the kernel
        is done: for SQEs filled between door_own_begin and door_own_end, or the requests an
        interrupted batch leaves in flight."""
        cdef _Inflight rec = <_Inflight>self._inflight.get(user_data)
        if rec is None:
            rec = _Inflight.__new__(_Inflight)     # no count, no pins, no data yet
            self._inflight[user_data] = rec
        rec.count += 1
        rec.pins = pins if rec.pins is None else (rec.pins, pins)
        return 0

    cdef int door_submit_before(self, unsigned start) except? -1:
        """Publishes only the SQEs queued before SQ index ``start`` (door_sq_tail when a linked
        chain began): the chain from ``start`` on stays queued, unseen by the kernel. Returns
        what io_uring_submit returns (-errno not raised). RuntimeError if part of that chain
        was already published (a submit through the thin layer while it was being queued)."""
        cdef unsigned tail = self.ring.sq.sqe_tail
        cdef unsigned to_submit, flags = 0
        cdef bint enter
        self._check()
        if <int>(self.ring.sq.sqe_head - start) > 0 or <int>(self._tracked - start) > 0:
            raise RuntimeError("this linked() chain was partly submitted through the thin layer "
                               "(io_uring_submit on Ring.uring) while it was being queued")
        self.ring.sq.sqe_tail = start
        try:
            _track(self)            # only the SQEs before the chain
            to_submit = c.ioring_flush_sq(&self.ring)      # the kernel's SQ tail: start
        finally:
            self.ring.sq.sqe_tail = tail
        # ioring_submit's enter, made once the SQ is whole again: an enter that also flushes
        # the CQ (GETEVENTS) releases the GIL, and no other thread may see the SQ cut at start.
        enter = c.ioring_sq_needs_enter(&self.ring, to_submit, &flags)
        if c.ioring_cq_needs_enter(&self.ring):
            flags |= _c_IORING_ENTER_GETEVENTS
            enter = True
        if not enter:
            return <int>to_submit
        return c.ioring_enter(&self.ring, to_submit, 0, flags, NULL, c.IORING_SIGSET_BYTES)

    cdef int door_submit_events(self) except? -1:
        """door_submit that also enters the kernel when nothing is queued, so that it runs
        pending completion work (IORING_SETUP_DEFER_TASKRUN): io_uring_submit_and_get_events."""
        self._check()
        _track(self)
        return c.ioring_submit_and_get_events(&self.ring)

    cdef int door_wait_once(self, c.ioring_kernel_timespec *ts) except? -1:
        """Publishes what is queued and waits for one completion, at most ``ts`` (NULL or a
        kernel without IORING_FEAT_EXT_ARG: no limit), once: -EINTR is returned, not retried
        (the caller runs the signal handlers and decides). The ring is held meanwhile
        (door_hold). Returns 0 or -errno."""
        cdef c.io_uring_cqe *cqe
        cdef int ret
        self._check()
        _track(self)
        self._blocking += 1
        try:
            if ts != NULL and self.ring.features & _c_IORING_FEAT_EXT_ARG:
                ret = c.ioring_wait_cqes_timeout(&self.ring, &cqe, c.ioring_flush_sq(&self.ring), 1, ts, NULL)
            else:
                ret = c.ioring_submit_and_wait(&self.ring, 1)
        finally:
            self._blocking -= 1
        return ret

    cdef void door_hold(self) noexcept:
        """A thread is about to wait (the GIL released) on behalf of this ring: until
        door_unhold, io_uring_queue_exit from another thread raises RuntimeError rather than
        tear the ring down under it."""
        self._blocking += 1

    cdef void door_unhold(self) noexcept:
        self._blocking -= 1

    cdef c.ioring *door_claim(self, str name) except NULL:
        """Exclusive use of the ring by ``name`` (a stream, a C engine): it then drives the C
        struct returned, directly and with the GIL released if it likes, until door_release.
        The ring must be idle: nothing queued, in flight or unreaped, no thread waiting in it
        (RuntimeError saying which; closed/fork checks as every call). While it is claimed,
        every other use of the ring (from any thread, or a signal handler) raises RuntimeError
        naming ``name``, and io_uring_queue_exit/door_exit refuse."""
        self._check()               # closed, a fork child's copy, or claimed already
        if self._blocking:
            raise RuntimeError(f"{name} needs the ring to itself: another thread is waiting on it")
        if self._requests_tracked() or self._foreign:
            raise RuntimeError(f"{name} needs the ring to itself: {self._requests_tracked()} "
                               "request(s) are in flight or not reaped yet (wait for them first)")
        if self.ring.sq.sqe_tail != self.ring.sq.sqe_head or c.ioring_sq_ready(&self.ring):
            raise RuntimeError(f"{name} needs the ring to itself: SQEs are queued and not "
                               "submitted (submit and wait for them first)")
        if c.ioring_cq_ready(&self.ring):
            raise RuntimeError(f"{name} needs the ring to itself: completions are waiting in "
                               "the CQ (reap them first)")
        self._busy = name
        self._blocking += 1
        return &self.ring

    cdef void door_release(self) noexcept:
        """Ends a door_claim. The claimant leaves nothing queued, and nothing of its own is
        tracked: its SQEs pinned nothing of this class's (the memory of requests it gave up on
        is its own to keep alive; their completions, if they come, release nothing here)."""
        self._blocking -= 1
        self._busy = None
        self._tracked = self.ring.sq.sqe_tail

    cdef int door_registered(self, unsigned index, size_t *addr, size_t *length) except -1:
        """The address and length of registered buffer ``index`` (what READ_FIXED/WRITE_FIXED
        with that buf_index may touch); ValueError when no table is registered, ``index`` is
        past its end or its slot is empty."""
        return self._reg_buffers.get(index, addr, length)

    cdef int door_registered_find(self, const char *ptr, size_t nbytes) noexcept:
        """The first registered buffer holding [ptr, ptr + nbytes), or -1."""
        return self._reg_buffers.find(<size_t>ptr, <size_t>ptr + nbytes)

    cdef Py_ssize_t door_registered_count(self) noexcept:
        """The slots of the registered buffer table (sparse ones too); -1 when none is registered."""
        return self._reg_buffers.count

    cdef int door_check_fixed(self, const char *ptr, size_t nbytes, int buf_index) except -1:
        """ValueError unless [ptr, ptr + nbytes) lies inside registered buffer ``buf_index``
        (what a READ_FIXED/WRITE_FIXED request may touch; the thin layer's own preps check the
        same way)."""
        return self._reg_buffers.check(ptr, nbytes, buf_index)

    cdef void _release_all(self):
        """After the fd is closed: drop every pin; unmap buffer rings this module mapped."""
        cdef io_uring_buf_ring br
        for br in self._buf_rings.values():
            br._detach()
        self._buf_rings = {}
        self._provided = []
        self._inflight = {}
        self._forget_flight()
        self._slot_data = [None] * self._nslots
        self._has_data = False
        self._foreign = {}
        self._reg_buffers.clear()
        self._cqe_a = self._cqe_b = None

    def __del__(self):
        if self.initialized and self._in_fork_child():
            _queue_exit(self)       # the parent's ring: drop this process's copy, quietly
            return
        if self.initialized:
            try:
                warnings.warn(f"unclosed io_uring (fd {self.ring.ring_fd}): call io_uring_queue_exit",
                              ResourceWarning, source=self)
            except Exception:
                pass  # interpreter shutdown: warnings may be gone; the teardown must still run
            _queue_exit(self)

    def __dealloc__(self):
        # Normally __del__ has run; this is the last resort (e.g. interpreter shutdown).
        if self.initialized:
            self.initialized = False
            c.ioring_queue_exit(&self.ring)
        ioring_udcount_free(&self._flight)
        free(self._pin_free)
        self._pin_free = NULL
        if self._pin_views != NULL:
            self._release_views()
            free(self._pin_views)
            self._pin_views = NULL
            self._pin_cap = 0
        free(self._slot_ref)
        self._slot_ref = NULL

    @property
    def ring_fd(self):
        return self.ring.ring_fd if self.initialized else None

    @property
    def enter_ring_fd(self):
        return self.ring.enter_ring_fd if self.initialized else None

    @property
    def flags(self):
        return self.ring.flags if self.initialized else None

    @property
    def features(self):
        return self.ring.features if self.initialized else None

    @property
    def int_flags(self):
        return self.ring.int_flags if self.initialized else None

    @property
    def sq_entries(self):
        """ring->sq.ring_entries."""
        return self.ring.sq.ring_entries if self.initialized else None

    @property
    def cq_entries(self):
        """ring->cq.ring_entries."""
        return self.ring.cq.ring_entries if self.initialized else None

    @property
    def sq(self):
        """ring->sq: the SQ's counters (``ring.sq.kdropped`` is C's ``*ring->sq.kdropped``)."""
        cdef io_uring_sq v = io_uring_sq.__new__(io_uring_sq)
        v._ring = self
        return v

    @property
    def cq(self):
        """ring->cq: the CQ's counters (``ring.cq.koverflow`` is C's ``*ring->cq.koverflow``)."""
        cdef io_uring_cq v = io_uring_cq.__new__(io_uring_cq)
        v._ring = self
        return v

    def __repr__(self):
        if not self.initialized:
            return "io_uring(uninitialized)"
        return (f"io_uring(fd={self.ring.ring_fd}, sq_entries={self.ring.sq.ring_entries}, "
                f"cq_entries={self.ring.cq.ring_entries}, flags={self.ring.flags:#x})")


# The checks every call makes, inline: a method call only when something is wrong (which then
# raises the precise error).

cdef inline int _ready(io_uring ring) except -1:
    """ring._check(): initialized, not taken by a stream, not the parent's ring in a fork child."""
    if ring._busy is None and ring.initialized and ring._generation == _fork_generation:
        return 0
    return ring._check()


cdef inline bint _is_queued(io_uring ring, unsigned seq) noexcept:
    """SQ index ``seq`` holds an SQE handed out and not yet submitted, on a ring usable here
    (open, not held by a stream, not the parent's in a fork child)."""
    return (ring._busy is None and ring.initialized and ring._generation == _fork_generation
            and <unsigned>(seq - ring._tracked) < <unsigned>(ring.ring.sq.sqe_tail - ring._tracked))


cdef inline bint _is_live(io_uring ring, unsigned seq, unsigned long incarnation) noexcept:
    """The SQE handed out at SQ index ``seq`` in ring incarnation ``incarnation`` is still
    unsubmitted, on a ring usable here."""
    return incarnation == ring._incarnation and _is_queued(ring, seq)


cdef inline c.io_uring_sqe *_slot_sqe(io_uring ring, unsigned seq, unsigned long incarnation) except NULL:
    """ring._sqe(seq, incarnation): the SQE handed out at SQ index seq if it is unsubmitted."""
    if _is_live(ring, seq, incarnation):
        return c.ioring_sqe_at(&ring.ring, seq)
    return ring._sqe(seq, incarnation)


# The ring of SQEs and iterators made directly from Python instead of by io_uring_get_sqe:
# never initialized, so every use raises ValueError (a None ring would crash the method call).
cdef io_uring _NO_RING = io_uring()


# struct io_uring_sq / io_uring_cq as C programs read them: a pointer member (khead, kdropped,
# koverflow...) is the value it points to, read from the memory shared with the kernel at each
# access (C's ``*ring->cq.koverflow``); the ring must still be initialized.

@cython.final
cdef class io_uring_sq:
    """ring->sq: khead, ktail, kflags, kdropped (the kernel's counters, read at each access),
    sqe_head, sqe_tail, ring_mask, ring_entries. Read-only."""

    def __cinit__(self):
        self._ring = _NO_RING           # made directly: refuses use, never crashes

    cdef c.ioring_sq *_sq(self) except NULL:
        if self._ring is None:          # io_uring_sq.__new__(io_uring_sq): no ring behind it
            raise ValueError("this io_uring_sq belongs to no ring: use ring.sq")
        _ready(self._ring)
        return &self._ring.ring.sq

    @property
    def khead(self): return c.ioring_load_sq_head(&self._ring.ring) if self._sq() else None
    @property
    def ktail(self): return self._sq().ktail[0]
    @property
    def kflags(self): return self._sq().kflags[0]
    @property
    def kdropped(self):
        """SQEs the kernel dropped as invalid (C: ``*ring->sq.kdropped``)."""
        return self._sq().kdropped[0]
    @property
    def sqe_head(self): return self._sq().sqe_head
    @property
    def sqe_tail(self): return self._sq().sqe_tail
    @property
    def ring_mask(self): return self._sq().ring_mask
    @property
    def ring_entries(self): return self._sq().ring_entries

    def __repr__(self):
        return f"io_uring_sq(of {self._ring!r})"


@cython.final
cdef class io_uring_cq:
    """ring->cq: khead, ktail, kflags, koverflow (the kernel's counters, read at each access),
    ring_mask, ring_entries. Read-only."""

    def __cinit__(self):
        self._ring = _NO_RING           # made directly: refuses use, never crashes

    cdef c.ioring_cq *_cq(self) except NULL:
        if self._ring is None:          # io_uring_cq.__new__(io_uring_cq): no ring behind it
            raise ValueError("this io_uring_cq belongs to no ring: use ring.cq")
        _ready(self._ring)
        return &self._ring.ring.cq

    @property
    def khead(self): return self._cq().khead[0]
    @property
    def ktail(self): return c.ioring_cq_tail(&self._ring.ring) if self._cq() else None
    @property
    def kflags(self):
        """IORING_CQ_* flags; None on kernels without them (before 5.8, C's NULL)."""
        cdef c.ioring_cq *cq = self._cq()
        return None if cq.kflags == NULL else cq.kflags[0]
    @property
    def koverflow(self):
        """CQEs the kernel could not post and lost (C: ``*ring->cq.koverflow``)."""
        return self._cq().koverflow[0]
    @property
    def ring_mask(self): return self._cq().ring_mask
    @property
    def ring_entries(self): return self._cq().ring_entries

    def __repr__(self):
        return f"io_uring_cq(of {self._ring!r})"


@cython.final
cdef class _SqeMemory:
    """The 128 bytes of a free-standing SQE (io_uring_sqe()), freed with it."""

    def __cinit__(self):
        self.sqe = <c.io_uring_sqe *>calloc(1, 2 * sizeof(c.io_uring_sqe))
        if self.sqe == NULL:
            raise MemoryError()

    def __dealloc__(self):
        free(self.sqe)
        self.sqe = NULL


@cython.final
@cython.freelist(64)
cdef class io_uring_sqe:
    """struct io_uring_sqe. From io_uring_get_sqe: a slot of its ring, valid until it is
    submitted. ``io_uring_sqe()``: C's ``struct io_uring_sqe sqe = {}``, a zeroed SQE of its own
    for io_uring_register_sync_msg and the prep helpers; it is no ring's slot, so it can never
    be submitted.

    Every field and union alias of the kernel's struct is an attribute under its C name,
    assignable as in C (``sqe.len = -errno.EFAULT``, ``sqe.nop_flags = ...``, ``sqe.opcode =
    ...``), except that a user address takes a buffer object (pinned) and every assignment is
    checked so that the kernel only ever touches pinned memory (README, "SQE fields"). ``cmd``
    (the command payload) is read-only."""

    def __cinit__(self):
        self.ring = _NO_RING
        self._own = NULL

    def __init__(self):
        cdef _SqeMemory mem
        if self._own == NULL:
            mem = _SqeMemory.__new__(_SqeMemory)
            self._own_mem = mem
            self._own = mem.sqe

    # No __dealloc__: the SQEs of a ring, made and dropped for every request, are freed
    # without one (Cython saves and restores the error state around a __dealloc__).

    cdef c.io_uring_sqe *_ptr(self) except NULL:
        """The SQE's memory: its own, or its ring's slot if it has not been submitted."""
        if self._own != NULL:
            return self._own
        return _slot_sqe(self.ring, self.seq, self.incarnation)

    cdef c.io_uring_sqe *_begin(self) except NULL:
        """Start a prep: the SQE must still be unsubmitted; whatever it pinned is released."""
        cdef c.io_uring_sqe *sqe
        cdef unsigned slot
        cdef uint32_t ref
        if self._own != NULL:
            self._own_pins = None
            return self._own
        sqe = _slot_sqe(self.ring, self.seq, self.incarnation)
        slot = self.seq & self.ring.ring.sq.ring_mask
        ref = self.ring._slot_ref[slot]
        if ref:
            self.ring._slot_ref[slot] = 0
            self.ring._pin_drop(ref)
        return sqe

    cdef int _pin(self, object obj) except -1:
        """What the SQE (validated by the caller: _begin or _ptr) pins from now on: ``obj``."""
        cdef unsigned slot
        cdef uint32_t ref
        if self._own != NULL:
            self._own_pins = obj
            return 0
        if self.ring._slot_ref == NULL:
            raise ValueError("this SQE belongs to no ring")
        slot = self.seq & self.ring.ring.sq.ring_mask
        ref = self.ring._slot_ref[slot]
        if obj is None:
            if ref:
                self.ring._slot_ref[slot] = 0
                self.ring._pin_drop(ref)
        elif ref:
            self.ring._pin_set(ref, obj)
        else:
            self.ring._slot_ref[slot] = self.ring._pin_put(obj)
        return 0

    cdef object _pins(self):
        cdef uint32_t ref
        if self._own != NULL:
            return self._own_pins
        if self.ring._slot_ref == NULL:
            return None
        ref = self.ring._slot_ref[self.seq & self.ring.ring.sq.ring_mask]
        return self.ring._pin_obj(ref) if ref else None

    cdef int _pin_more(self, object obj) except -1:
        """Pin ``obj`` next to what the SQE already pinned."""
        old = self._pins()
        return self._pin(obj if old is None else (old, obj))

    # Every field and union alias of struct io_uring_sqe is added to this class by
    # _sqe_fields.pxi (one _SqeField descriptor per C name), except these two:

    @property
    def flags(self): return self._ptr().flags
    @flags.setter
    def flags(self, v):
        self._ptr().flags = <uint8_t>_field_bits(v, 1, "flags")     # IOSQE_*: no address

    @property
    def user_data(self): return self._ptr().user_data
    @user_data.setter
    def user_data(self, v):
        cdef uint64_t ud
        if type(v) is int:
            ud = _as_u64(v)
            if ud == <uint64_t>-1 and PyErr_Occurred():     # negative or past 64 bits
                PyErr_Clear()
                ud = _field_bits(v, 8, "user_data")
        else:
            ud = _field_bits(v, 8, "user_data")
        _set_data64(self, ud)

    @property
    def cmd(self):
        """The command payload (sqe->cmd: 16 bytes, 80 on IORING_SETUP_SQE128 rings), as bytes.
        Read-only: a driver may follow pointers in it."""
        cdef c.io_uring_sqe *s = self._ptr()
        cdef Py_ssize_t n = 80 if (self._own == NULL and self.ring.ring.flags & _c_IORING_SETUP_SQE128) else 16
        return PyBytes_FromStringAndSize(<char *>s + 48, n)

    def __repr__(self):
        try:
            s = self._ptr()
        except ValueError:
            return "io_uring_sqe(submitted)"
        return f"io_uring_sqe(opcode={s.opcode}, fd={s.fd}, flags={s.flags:#x}, user_data={s.user_data})"


@cython.final
@cython.freelist(128)
cdef class io_uring_cqe:
    """A completion (a copy of struct io_uring_cqe): user_data, res, flags, and big_cqe on
    IORING_SETUP_CQE32 rings. res is data: a negative res is -errno, never raised."""

    def __init__(self):
        # io_uring_cqe() made from Python: an empty completion (no ring accepts it)
        self._user_data_obj = 0
        self._res_obj = 0
        self._flags_obj = 0

    @property
    def big_cqe(self):
        return (self._big[0], self._big[1]) if self._is_big else None

    def __repr__(self):
        return f"io_uring_cqe(user_data={self.user_data}, res={self.res}, flags={self.flags:#x})"


# cqe.user_data, cqe.res and cqe.flags are read once or twice per completion by every per-op loop.
# Cython makes them getset properties (a generic attribute lookup, a call, an int made at each
# read), which CPython 3.11+ cannot specialize; a member descriptor of an object slot it can
# (LOAD_ATTR_SLOT: a load and an incref). So _copy_cqe stores the three ints once in object
# slots, and the class's properties are replaced at import by read-only member descriptors of
# those slots (the C fields stay what this module reads).

cdef extern from *:
    """
    #include <structmember.h>
    static int ioring_readonly_member(PyObject *type, const char *name, Py_ssize_t offset)
    {
        PyTypeObject *tp = (PyTypeObject *)type;
        PyMemberDef *def = (PyMemberDef *)PyMem_RawCalloc(2, sizeof(PyMemberDef)); /* for good */
        PyObject *descr;
        int ret;
        if (def == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        def->name = name;
        def->type = T_OBJECT_EX;
        def->offset = offset;
        def->flags = READONLY;
        descr = PyDescr_NewMember(tp, def);
        if (descr == NULL)
            return -1;
        ret = PyDict_SetItemString(tp->tp_dict, name, descr);
        Py_DECREF(descr);
        PyType_Modified(tp);
        return ret;
    }
    """
    int ioring_readonly_member(object type, const char *name, Py_ssize_t offset) except -1


cdef Py_ssize_t _slot_offset(object obj, object value) except -1:
    """The offset in ``obj`` of the object slot that holds ``value`` (a unique object)."""
    cdef char *base = <char *><void *>obj
    cdef Py_ssize_t off, found = -1
    for off in range(sizeof(void *), type(obj).__basicsize__ - sizeof(void *) + 1, sizeof(void *)):
        if (<void **>(base + off))[0] == <void *>value:
            if found != -1:
                raise RuntimeError(f"{type(obj).__name__}: ambiguous slot offset")
            found = off
    if found == -1:
        raise RuntimeError(f"{type(obj).__name__}: slot not found")
    return found


cdef int _fast_cqe_fields() except -1:
    cdef io_uring_cqe probe = io_uring_cqe.__new__(io_uring_cqe)
    marks = (object(), object(), object())
    probe._user_data_obj, probe._res_obj, probe._flags_obj = marks
    for name, mark in zip((b"user_data", b"res", b"flags"), marks):
        ioring_readonly_member(io_uring_cqe, name, _slot_offset(probe, mark))
    return 0


_fast_cqe_fields()


# ---- setup and teardown ------------------------------------------------------------------------

cdef int _init(io_uring ring, unsigned entries, c.io_uring_params *p) except -1:
    if ring.initialized:
        raise ValueError("the ring is already initialized; io_uring_queue_exit it first")
    _check_ret(c.ioring_queue_init_params(entries, &ring.ring, p))
    _adopt(ring)
    return 0


def io_uring_queue_init(unsigned entries, io_uring ring not None, unsigned flags=0):
    """io_uring_queue_init(3): set up ``ring`` with ``entries`` SQEs and IORING_SETUP_* flags."""
    cdef c.io_uring_params p
    memset(&p, 0, sizeof(p))
    p.flags = flags
    return _init(ring, entries, &p)


def io_uring_queue_init_params(unsigned entries, io_uring ring not None, io_uring_params p not None):
    """io_uring_queue_init_params(3): as io_uring_queue_init; the kernel fills ``p``."""
    return _init(ring, entries, &p.p)


cdef _queue_exit(io_uring ring):
    if ring._generation != _fork_generation:
        # A fork child's copy (garbage-collected there): the ring is the parent's. Touch
        # nothing the kernel shares; just drop this process's fd and mappings.
        ring.initialized = False
        c.ioring_queue_exit_in_child(&ring.ring)
        ring._release_all()
        return
    if ring._blocking:
        raise RuntimeError("io_uring_queue_exit: another thread is waiting on this ring")
    ring._quiesce()
    ring.initialized = False
    _live_rings.discard(ring)
    c.ioring_queue_exit(&ring.ring)
    ring._release_all()


def io_uring_queue_exit(io_uring ring not None):
    """io_uring_queue_exit(3): tear the ring down. Requests still in flight are cancelled and
    waited for before the buffers they pinned are released."""
    _ready(ring)
    _queue_exit(ring)


# ---- SQEs --------------------------------------------------------------------------------------

def io_uring_get_sqe(io_uring ring not None):
    """io_uring_get_sqe(3): the next SQE, or None when the submission queue is full."""
    return _get_sqe(ring)


cdef inline object _get_sqe(io_uring ring):
    _ready(ring)
    if c.ioring_get_sqe_zeroed(&ring.ring) == NULL:   # unprepared, it is a NOP
        return None
    return _last_sqe(ring)


# ---- objects parked in their ring ------------------------------------------------------------------
# Every io_uring_get_sqe hands out an io_uring_sqe (the stale-SQE detection lives in it), every
# io_uring_for_each_cqe an iterator. When the last holder of one drops it, its tp_dealloc parks it
# in its ring instead (two spare SQEs per ring, one iterator): the ring takes the reference, the
# object's own reference to the ring is dropped (it refers to _NO_RING while parked, so ring and
# spare form no cycle and a dropped ring still closes at once), and the next call reuses it: no
# allocation, no GC tracking, no field reset per request (issue 18). Only an object whose ring
# stays alive without it is parked (and no free-standing SQE); anything else is freed as before.
# Two SQEs: a loop that rebinds ``sqe = io_uring_get_sqe(ring)`` still holds the last one when it
# asks for the next, and the one its function held at its return is parked too (with one spare,
# that made one new SQE object per batch).

cdef extern from *:
    """
    typedef struct {
        PyTypeObject *type;
        destructor base_dealloc;                /* Cython's (its freelist) */
        Py_ssize_t ring_off, spare_off, own_off;    /* own_off < 0: no free-standing kind */
        Py_ssize_t spare2_off;                      /* < 0: one spare only */
    } ioring_parking;

    static PyTypeObject *ioring_ring_type;
    static PyObject *ioring_no_ring;
    static ioring_parking ioring_sqe_parking, ioring_iter_parking;

    /* Parks ``o`` (its reference count just dropped to 0) in its ring; 0 when it cannot be.
       (Inline in each tp_dealloc: it runs once per request.) */
    #if defined(__GNUC__)
    __attribute__((always_inline))
    #endif
    static inline int ioring_park(const ioring_parking *p, PyObject *o)
    {
        PyObject **ring_field = (PyObject **)((char *)o + p->ring_off);
        PyObject *ring = *ring_field;
        PyObject **spare;
        if (Py_TYPE(o) != p->type || ring == NULL || ring == ioring_no_ring
                || Py_TYPE(ring) != ioring_ring_type || Py_REFCNT(ring) < 2
                || (p->own_off >= 0 && *(void **)((char *)o + p->own_off) != NULL))
            return 0;
        spare = (PyObject **)((char *)ring + p->spare_off);
        if (*spare != Py_None) {
            if (p->spare2_off < 0)
                return 0;
            spare = (PyObject **)((char *)ring + p->spare2_off);
            if (*spare != Py_None)
                return 0;
        }
        /* Resurrected (still GC-tracked, as a live object must be) and owned by the ring; its
           ring reference moves to _NO_RING. The ring outlives the decref: it had another. */
        Py_SET_REFCNT(o, 1);
        *spare = o;
        Py_DECREF(Py_None);
        Py_INCREF(ioring_no_ring);
        *ring_field = ioring_no_ring;
        Py_DECREF(ring);
        return 1;
    }

    static void ioring_sqe_dealloc(PyObject *o)
    {
        if (!ioring_park(&ioring_sqe_parking, o))
            ioring_sqe_parking.base_dealloc(o);
    }

    static void ioring_iter_dealloc(PyObject *o)
    {
        if (!ioring_park(&ioring_iter_parking, o))
            ioring_iter_parking.base_dealloc(o);
    }

    static void ioring_install_parking(PyObject *ring_type, PyObject *no_ring, PyObject *type,
                                       Py_ssize_t ring_off, Py_ssize_t spare_off,
                                       Py_ssize_t spare2_off, Py_ssize_t own_off)
    {
        PyTypeObject *tp = (PyTypeObject *)type;
        int sqe = own_off >= 0;
        ioring_parking *p = sqe ? &ioring_sqe_parking : &ioring_iter_parking;
        destructor dealloc = sqe ? ioring_sqe_dealloc : ioring_iter_dealloc;
        if (ioring_no_ring == NULL) {
            Py_INCREF(no_ring);                             /* for the module's life */
            ioring_no_ring = no_ring;
        }
        ioring_ring_type = (PyTypeObject *)ring_type;
        p->type = tp;
        p->ring_off = ring_off;
        p->spare_off = spare_off;
        p->spare2_off = spare2_off;
        p->own_off = own_off;
        if (tp->tp_dealloc != dealloc) {
            p->base_dealloc = tp->tp_dealloc;
            tp->tp_dealloc = dealloc;
        }
    }
    """
    void ioring_install_parking(object ring_type, object no_ring, object type,
                                Py_ssize_t ring_off, Py_ssize_t spare_off,
                                Py_ssize_t spare2_off, Py_ssize_t own_off)


cdef int _install_parking() except -1:
    cdef io_uring_sqe sqe = io_uring_sqe.__new__(io_uring_sqe)
    cdef _CqeIterator it = _CqeIterator.__new__(_CqeIterator)
    cdef io_uring ring = io_uring.__new__(io_uring)
    cdef io_uring mark = io_uring.__new__(io_uring)
    cdef object spare_mark = object(), spare2_mark = object()
    sqe.ring = mark
    it.ring = mark
    ring._spare_sqe = spare_mark
    ring._spare_sqe2 = spare2_mark
    ioring_install_parking(io_uring, _NO_RING, io_uring_sqe, _slot_offset(sqe, mark),
                           _slot_offset(ring, spare_mark), _slot_offset(ring, spare2_mark),
                           <char *>&sqe._own - <char *><void *>sqe)
    ring._spare_sqe = ring._spare_sqe2 = None
    ring._spare_iter = spare_mark
    ioring_install_parking(io_uring, _NO_RING, _CqeIterator, _slot_offset(it, mark),
                           _slot_offset(ring, spare_mark), -1, -1)
    ring._spare_iter = None
    return 0


_install_parking()


cdef inline io_uring_sqe _last_sqe(io_uring ring):
    """The io_uring_sqe of the SQE handed out last (at SQ index sqe_tail - 1): one the ring
    has parked if it has one (see ioring_sqe_dealloc), else a new one."""
    cdef io_uring_sqe sqe
    if ring._spare_sqe is not None:
        sqe = <io_uring_sqe>ring._spare_sqe
        ring._spare_sqe = None
    elif ring._spare_sqe2 is not None:
        sqe = <io_uring_sqe>ring._spare_sqe2
        ring._spare_sqe2 = None
    else:
        sqe = io_uring_sqe.__new__(io_uring_sqe)
    sqe.ring = ring
    sqe.seq = ring.ring.sq.sqe_tail - 1
    sqe.incarnation = ring._incarnation
    return sqe


cdef inline int _set_data64(io_uring_sqe sqe, uint64_t data) except -1:
    # (sqe.ring read in place, no local: the SQE holds it, and no Python code runs before the
    # last use; clearing a set_data object, which may run some, comes last)
    if sqe._own != NULL:                # free-standing: never submitted, no slot object
        sqe._own.user_data = data
        return 0
    _slot_sqe(sqe.ring, sqe.seq, sqe.incarnation).user_data = data    # (sqe._ptr, inline)
    if sqe.ring._has_data:              # (no slot holds an object otherwise)
        sqe.ring._slot_data[sqe.seq & sqe.ring.ring.sq.ring_mask] = None
    return 0


def io_uring_sqe_set_data64(io_uring_sqe sqe not None, uint64_t data):
    """io_uring_sqe_set_data64(3): the user_data the completion will carry."""
    _set_data64(sqe, data)


cdef uint64_t _data_key(object data) except? 0xFFFFFFFFFFFFFFFE:
    """The user_data C would store for io_uring_sqe_set_data's ``void *data``: an int is its own
    value (C's ``(void *)(uintptr_t)n``), None is NULL (0), any other object its id()."""
    if data is None:
        return 0
    if isinstance(data, int):
        return <uint64_t>_ranged(data, 0, 0xFFFFFFFFFFFFFFFF, "an int user_data", "must be in 0..2**64-1")
    return <uint64_t><size_t><void *>data


def io_uring_sqe_set_data(io_uring_sqe sqe not None, object data):
    """io_uring_sqe_set_data(3): the completion will carry ``data``. An int is stored as the
    user_data itself, as C's ``(void *)(uintptr_t)n`` is (so io_uring_prep_timeout_remove(sqe,
    n) or io_uring_prep_cancel64(sqe, n) find the request), and None as NULL (0); any other
    object is attached: the user_data is its id() (C stores the pointer), and it is kept alive
    until the completion is consumed. io_uring_cqe_get_data gives either back."""
    cdef io_uring ring = sqe.ring
    cdef uint64_t key = _data_key(data)
    cdef c.io_uring_sqe *s = sqe._ptr()
    s.user_data = key
    if sqe._own != NULL:
        return                      # never submitted: no completion will look the object up
    if data is None or isinstance(data, int):
        ring._slot_data[sqe.seq & ring.ring.sq.ring_mask] = None
    else:
        ring._slot_data[sqe.seq & ring.ring.sq.ring_mask] = data
        ring._has_data = True


def io_uring_cqe_get_data(io_uring_cqe cqe not None):
    """io_uring_cqe_get_data(3): the object attached with io_uring_sqe_set_data; without one,
    the user_data as C's pointer would read: an int, or None for 0 (NULL)."""
    if cqe._data is not None:
        return cqe._data
    return cqe.user_data if cqe.user_data else None


def io_uring_sqe_set_flags(io_uring_sqe sqe not None, unsigned flags):
    """io_uring_sqe_set_flags(3): IOSQE_* flags."""
    if flags > 0xFF:
        raise ValueError(f"SQE flags are 8 bits, not {flags:#x}")
    c.ioring_sqe_set_flags(sqe._ptr(), flags)


def io_uring_sq_ready(io_uring ring not None):
    """io_uring_sq_ready(3): SQEs prepared but not yet consumed by the kernel."""
    _ready(ring)
    return c.ioring_sq_ready(&ring.ring)


def io_uring_sq_space_left(io_uring ring not None):
    """io_uring_sq_space_left(3): free SQEs."""
    _ready(ring)
    return c.ioring_sq_space_left(&ring.ring)


# ---- submit and wait ---------------------------------------------------------------------------

def io_uring_submit(io_uring ring not None):
    """io_uring_submit(3): submit the prepared SQEs; returns how many were submitted."""
    return _submit(ring)


cdef object _submit(io_uring ring):
    _ready(ring)
    _track(ring)
    return _check_ret(c.ioring_submit(&ring.ring))


def io_uring_submit_and_wait(io_uring ring not None, unsigned wait_nr):
    """io_uring_submit_and_wait(3): submit, then wait for ``wait_nr`` completions."""
    return _submit_and_wait(ring, wait_nr)


cdef object _submit_and_wait(io_uring ring, unsigned wait_nr):
    cdef int ret
    cdef unsigned submitted, total = 0
    _ready(ring)
    ring._blocking += 1
    try:
        while True:
            _track(ring)        # again after a signal handler, which may have queued SQEs
            # Submitted first with the GIL held (that enter never sleeps); the GIL is released
            # only for a wait that is needed (ioring_submit_and_wait_split, ring.h).
            ret = c.ioring_submit_and_wait_split(&ring.ring, wait_nr, &submitted)
            total += submitted
            if ret != -EINTR:
                _check_ret(ret)
                return total
            PyErr_CheckSignals()
    finally:
        ring._blocking -= 1


cdef class _Sigmask:
    def __cinit__(self, object signals):
        sigemptyset(&self.mask)
        for s in signals:
            if sigaddset(&self.mask, int(s)) != 0:
                raise ValueError(f"invalid signal number {s!r}")


cdef void *_sigmask_ptr(_Sigmask m):
    return NULL if m is None else &m.mask


def io_uring_submit_and_wait_timeout(io_uring ring not None, unsigned wait_nr,
                                     kernel_timespec ts=None, sigmask=None):
    """io_uring_submit_and_wait_timeout(3): submit and wait for ``wait_nr`` completions or the
    timeout. Returns (submitted, cqe); cqe is None when it timed out. ``sigmask`` is an
    iterable of signal numbers blocked during the wait."""
    cdef c.io_uring_cqe *cqe = NULL
    cdef _Sigmask m = None if sigmask is None else _Sigmask(sigmask)
    cdef int ret
    _ready(ring)
    _track(ring)
    cdef unsigned to_submit = c.ioring_flush_sq(&ring.ring)
    cdef unsigned before = to_submit
    ret = ring._wait(&cqe, to_submit, wait_nr, _timespec_ptr(ts), _sigmask_ptr(m))
    submitted = before - c.ioring_sq_ready(&ring.ring) if not (ring.ring.flags & _c_IORING_SETUP_SQPOLL) else before
    if ret == -ETIME or (ret == -EAGAIN and cqe == NULL):
        return (submitted, None)
    _check_ret(ret)
    return (submitted, None if cqe == NULL else _copy_cqe(ring, cqe, ring.ring.cq.khead[0]))


def io_uring_wait_cqe(io_uring ring not None):
    """io_uring_wait_cqe(3): wait for a completion and return it (it stays in the CQ until
    io_uring_cqe_seen). Ctrl-C raises KeyboardInterrupt; completions are kept."""
    cdef c.io_uring_cqe *cqe = NULL
    _ready(ring)
    c.ioring_peek_cqe_nowait(&ring.ring, &cqe, NULL)
    if cqe == NULL:
        _check_ret(ring._wait(&cqe, 0, 1, NULL, NULL))
    return _copy_cqe(ring, cqe, ring.ring.cq.khead[0])


def io_uring_wait_cqe_nr(io_uring ring not None, unsigned wait_nr):
    """io_uring_wait_cqe_nr(3): wait until ``wait_nr`` completions are ready; returns the first."""
    cdef c.io_uring_cqe *cqe = NULL
    _check_ret(ring._wait(&cqe, 0, wait_nr, NULL, NULL))
    return None if cqe == NULL else _copy_cqe(ring, cqe, ring.ring.cq.khead[0])


def io_uring_wait_cqes(io_uring ring not None, unsigned wait_nr, kernel_timespec ts=None, sigmask=None):
    """io_uring_wait_cqes(3): wait for ``wait_nr`` completions, the timeout or a signal;
    returns the first completion, or None when it timed out."""
    cdef c.io_uring_cqe *cqe = NULL
    cdef _Sigmask m = None if sigmask is None else _Sigmask(sigmask)
    cdef int ret = ring._wait(&cqe, 0, wait_nr, _timespec_ptr(ts), _sigmask_ptr(m))
    if ret == -ETIME:
        return None
    _check_ret(ret)
    return None if cqe == NULL else _copy_cqe(ring, cqe, ring.ring.cq.khead[0])


def io_uring_wait_cqe_timeout(io_uring ring not None, kernel_timespec ts=None):
    """io_uring_wait_cqe_timeout(3): wait for one completion or the timeout (None)."""
    return io_uring_wait_cqes(ring, 1, ts)


def io_uring_peek_cqe(io_uring ring not None):
    """io_uring_peek_cqe(3): the completion at the head, or None if there is none yet."""
    return _peek_cqe(ring)


cdef object _peek_cqe(io_uring ring):
    cdef c.io_uring_cqe *cqe = NULL
    cdef int ret
    _ready(ring)
    ret = c.ioring_peek_cqe(&ring.ring, &cqe)
    if ret == -EAGAIN or cqe == NULL:
        return None
    _check_ret(ret)
    return _copy_cqe(ring, cqe, ring.ring.cq.khead[0])


def io_uring_cqe_seen(io_uring ring not None, io_uring_cqe cqe not None):
    """io_uring_cqe_seen(3): mark ``cqe`` consumed (advance the CQ past it)."""
    _cqe_seen(ring, cqe)


cdef int _cqe_seen(io_uring ring, io_uring_cqe cqe) except -1:
    _ready(ring)
    if cqe._ring_addr != <void *>ring:
        raise ValueError("the CQE belongs to another ring")
    if cqe._pos != ring.ring.cq.khead[0] or cqe._incarnation != ring._incarnation:
        raise ValueError("the CQE is not at the head of the CQ (already seen?)")
    _retire(ring, 2 if cqe.flags & _c_IORING_CQE_F_32 else 1)
    return 0


def io_uring_cq_advance(io_uring ring not None, unsigned nr):
    """io_uring_cq_advance(3): mark ``nr`` completions consumed."""
    _cq_advance(ring, nr)


cdef inline int _cq_advance(io_uring ring, unsigned nr) except -1:
    _ready(ring)
    if nr > c.ioring_cq_ready(&ring.ring):
        raise ValueError(f"cannot advance by {nr}: only {c.ioring_cq_ready(&ring.ring)} completions are ready")
    _retire(ring, nr)
    return 0


def io_uring_cq_ready(io_uring ring not None):
    """io_uring_cq_ready(3): completions ready to be consumed."""
    _ready(ring)
    return c.ioring_cq_ready(&ring.ring)


def io_uring_cqe_get_data64(io_uring_cqe cqe not None):
    """io_uring_cqe_get_data64(3): the completion's user_data."""
    return cqe.user_data


include "_prep.pxi"
include "_prep_fs.pxi"
include "_prep_net.pxi"
include "_register.pxi"
include "_register_buffers.pxi"
include "_register_files.pxi"
include "_register_ring.pxi"
include "_register_regions.pxi"
include "_register_structs.pxi"
include "_raw_syscalls.pxi"
include "_buf_ring.pxi"
include "_ring_state.pxi"
include "_ring_sizes.pxi"
include "_cq_iter.pxi"
include "_wait_reg.pxi"
include "_sqe_fields.pxi"


# ---- out-of-range integer arguments are ValueErrors ------------------------------------------------
# DESIGN.md: bad arguments raise TypeError/ValueError. An int that does not fit the C type of a
# parameter (negative for an unsigned, beyond 2**64...) makes Cython's and CPython's conversions
# raise OverflowError, which is an ArithmeticError, not a ValueError. Every callable of this
# module (functions, methods, constructors, property setters) is therefore routed, once at
# import, through a C shim on its call path that turns an OverflowError leaving it into
# IntRangeError (public, since it appears in tracebacks): an OverflowError *and* a ValueError,
# with the same message and traceback (so ``except ValueError`` and ``except OverflowError``
# both catch it). The shim replaces the
# function pointer of its PyMethodDef, the vectorcall of its type or the setter of its getset: no
# cost unless an exception is raised, and the objects keep their names, signatures and docs.
#
# The module is compiled with ``binding=False``: its functions are builtins (PyCFunction), which
# CPython's specializing interpreter calls directly (a Cython function is called through the
# generic path: ~7 ns more per call, issue 18). A builtin's signature comes from a text signature
# at the start of its C docstring (``name(a, b=0)\n--\n\n``); Cython embeds the C-typed one
# (``io_uring_prep_read(io_uring_sqe sqe, int fd, ...)``), which stays the doc's first line and
# from which the routing writes the text signature, so ``inspect.signature`` works as before.

cdef extern from *:
    """
    static PyObject *ioring_range_error_type = NULL;

    static void ioring_overflow_to_range_error(void)
    {
        PyObject *type, *value, *tb, *msg, *exc;
        if (ioring_range_error_type == NULL || !PyErr_ExceptionMatches(PyExc_OverflowError)
                || PyErr_ExceptionMatches(ioring_range_error_type))
            return;
        PyErr_Fetch(&type, &value, &tb);
        PyErr_NormalizeException(&type, &value, &tb);
        msg = value != NULL ? PyObject_Str(value) : NULL;
        exc = msg != NULL ? PyObject_CallOneArg(ioring_range_error_type, msg) : NULL;
        Py_XDECREF(msg);
        if (exc == NULL) {              /* keep the original error */
            PyErr_Clear();
            PyErr_Restore(type, value, tb);
            return;
        }
        if (value != NULL) {
            Py_INCREF(value);
            PyException_SetCause(exc, value);
            ((PyBaseExceptionObject *)exc)->suppress_context = 1;
        }
        if (tb != NULL)
            PyException_SetTraceback(exc, tb);
        Py_XDECREF(type);
        Py_XDECREF(value);
        PyErr_Restore((PyObject *)Py_TYPE(exc), exc, tb);
        Py_INCREF((PyObject *)Py_TYPE(exc));
    }

    /* Builtins and method descriptors (binding=False): the specializing interpreter calls the
     * function pointer of their PyMethodDef directly, so the shim takes its place there. Each
     * PyMethodDef gets a slot: the shim of slot k calls the original kept in slot k. */
    #define IORING_ML_SLOTS 512
    static PyCFunction ioring_ml_orig[IORING_ML_SLOTS];
    static int ioring_ml_count = 0;
    #define IORING_ML_K(a, b, c) ((a) * 64 + (b) * 8 + (c))
    #define IORING_ML_SHIM(a, b, c) \\
        static PyObject *ioring_ml_fk_##a##b##c(PyObject *s, PyObject *const *v, Py_ssize_t n, PyObject *kw) \\
        { \\
            PyObject *r = ((_PyCFunctionFastWithKeywords)(void (*)(void))ioring_ml_orig[IORING_ML_K(a, b, c)])(s, v, n, kw); \\
            if (r == NULL) \\
                ioring_overflow_to_range_error(); \\
            return r; \\
        } \\
        static PyObject *ioring_ml_o_##a##b##c(PyObject *s, PyObject *v) \\
        { \\
            PyObject *r = ioring_ml_orig[IORING_ML_K(a, b, c)](s, v); \\
            if (r == NULL) \\
                ioring_overflow_to_range_error(); \\
            return r; \\
        } \\
        static PyObject *ioring_ml_va_##a##b##c(PyObject *s, PyObject *v, PyObject *kw) \\
        { \\
            PyObject *r = ((PyCFunctionWithKeywords)(void (*)(void))ioring_ml_orig[IORING_ML_K(a, b, c)])(s, v, kw); \\
            if (r == NULL) \\
                ioring_overflow_to_range_error(); \\
            return r; \\
        }
    #define IORING_ML_SHIM8(a, b) IORING_ML_SHIM(a, b, 0) IORING_ML_SHIM(a, b, 1) IORING_ML_SHIM(a, b, 2) \\
        IORING_ML_SHIM(a, b, 3) IORING_ML_SHIM(a, b, 4) IORING_ML_SHIM(a, b, 5) IORING_ML_SHIM(a, b, 6) \\
        IORING_ML_SHIM(a, b, 7)
    #define IORING_ML_SHIM64(a) IORING_ML_SHIM8(a, 0) IORING_ML_SHIM8(a, 1) IORING_ML_SHIM8(a, 2) \\
        IORING_ML_SHIM8(a, 3) IORING_ML_SHIM8(a, 4) IORING_ML_SHIM8(a, 5) IORING_ML_SHIM8(a, 6) \\
        IORING_ML_SHIM8(a, 7)
    IORING_ML_SHIM64(0) IORING_ML_SHIM64(1) IORING_ML_SHIM64(2) IORING_ML_SHIM64(3)
    IORING_ML_SHIM64(4) IORING_ML_SHIM64(5) IORING_ML_SHIM64(6) IORING_ML_SHIM64(7)

    typedef struct { PyCFunction fk, o, va; } ioring_ml_shim_set;    /* by calling convention */
    #define IORING_ML_ROW(a, b, c) { \\
        (PyCFunction)(void (*)(void))ioring_ml_fk_##a##b##c, ioring_ml_o_##a##b##c, \\
        (PyCFunction)(void (*)(void))ioring_ml_va_##a##b##c },
    #define IORING_ML_ROW8(a, b) IORING_ML_ROW(a, b, 0) IORING_ML_ROW(a, b, 1) IORING_ML_ROW(a, b, 2) \\
        IORING_ML_ROW(a, b, 3) IORING_ML_ROW(a, b, 4) IORING_ML_ROW(a, b, 5) IORING_ML_ROW(a, b, 6) \\
        IORING_ML_ROW(a, b, 7)
    #define IORING_ML_ROW64(a) IORING_ML_ROW8(a, 0) IORING_ML_ROW8(a, 1) IORING_ML_ROW8(a, 2) \\
        IORING_ML_ROW8(a, 3) IORING_ML_ROW8(a, 4) IORING_ML_ROW8(a, 5) IORING_ML_ROW8(a, 6) \\
        IORING_ML_ROW8(a, 7)
    static const ioring_ml_shim_set ioring_ml_shims[IORING_ML_SLOTS] = {
        IORING_ML_ROW64(0) IORING_ML_ROW64(1) IORING_ML_ROW64(2) IORING_ML_ROW64(3)
        IORING_ML_ROW64(4) IORING_ML_ROW64(5) IORING_ML_ROW64(6) IORING_ML_ROW64(7)
    };

    static PyMethodDef *ioring_methoddef_of(PyObject *obj)
    {
        if (PyCFunction_Check(obj))
            return ((PyCFunctionObject *)obj)->m_ml;
        if (Py_IS_TYPE(obj, &PyMethodDescr_Type))
            return ((PyMethodDescrObject *)obj)->d_method;
        return NULL;
    }

    static int ioring_shim_builtin(PyObject *obj)
    {
        PyMethodDef *ml = ioring_methoddef_of(obj);
        PyCFunction shim;
        int k, flags;
        if (ml == NULL)
            return 0;
        for (k = 0; k < ioring_ml_count; k++)
            if (ml->ml_meth == ioring_ml_shims[k].fk || ml->ml_meth == ioring_ml_shims[k].o
                    || ml->ml_meth == ioring_ml_shims[k].va)
                return 0;                                   /* already */
        if (ioring_ml_count == IORING_ML_SLOTS)
            return 0;                                       /* table full: left as it is */
        k = ioring_ml_count;
        flags = ml->ml_flags & (METH_VARARGS | METH_KEYWORDS | METH_NOARGS | METH_O | METH_FASTCALL | METH_METHOD);
        if (flags == (METH_FASTCALL | METH_KEYWORDS))
            shim = ioring_ml_shims[k].fk;
        else if (flags == METH_NOARGS || flags == METH_O || flags == METH_VARARGS)
            shim = ioring_ml_shims[k].o;
        else if (flags == (METH_VARARGS | METH_KEYWORDS))
            shim = ioring_ml_shims[k].va;
        else
            return 0;                                       /* a convention Cython does not use here */
        ioring_ml_orig[k] = ml->ml_meth;
        ioring_ml_count++;
        ml->ml_meth = shim;
        return 1;
    }

    /* The doc CPython reads a builtin's __text_signature__ and __doc__ from (kept for the
     * module's life, as Cython's own static docstrings are). */
    static int ioring_set_builtin_doc(PyObject *obj, const char *doc)
    {
        PyMethodDef *ml = ioring_methoddef_of(obj);
        size_t n = strlen(doc) + 1;
        char *copy;
        if (ml == NULL)
            return 0;
        copy = (char *)PyMem_RawMalloc(n);
        if (copy == NULL)
            return 0;
        memcpy(copy, doc, n);
        ml->ml_doc = copy;
        return 1;
    }

    /* Types: Cython gives each its own vectorcall (or none: then type.__call__ does tp_new and
     * tp_init); the original is kept per type. */
    #define IORING_TYPE_SLOTS 256
    static PyObject *ioring_type_obj[IORING_TYPE_SLOTS];
    static vectorcallfunc ioring_type_orig[IORING_TYPE_SLOTS];
    static int ioring_type_count = 0;

    static PyObject *ioring_vc_type_shim(PyObject *callable, PyObject *const *args, size_t nargsf,
                                         PyObject *kwnames)
    {
        Py_ssize_t nargs = PyVectorcall_NARGS(nargsf), i;
        Py_ssize_t nkw = kwnames != NULL ? PyTuple_GET_SIZE(kwnames) : 0;
        PyObject *tuple = NULL, *dict = NULL, *r = NULL;
        vectorcallfunc orig = NULL;
        int k;
        for (k = 0; k < ioring_type_count; k++)
            if (ioring_type_obj[k] == callable) {
                orig = ioring_type_orig[k];
                break;
            }
        if (orig != NULL) {
            r = orig(callable, args, nargsf, kwnames);
            goto done;
        }
        tuple = PyTuple_New(nargs);
        if (tuple == NULL)
            goto done;
        for (i = 0; i < nargs; i++) {
            Py_INCREF(args[i]);
            PyTuple_SET_ITEM(tuple, i, args[i]);
        }
        if (nkw) {
            dict = PyDict_New();
            if (dict == NULL)
                goto done;
            for (i = 0; i < nkw; i++)
                if (PyDict_SetItem(dict, PyTuple_GET_ITEM(kwnames, i), args[nargs + i]) < 0)
                    goto done;
        }
        r = Py_TYPE(callable)->tp_call(callable, tuple, dict);
    done:
        Py_XDECREF(tuple);
        Py_XDECREF(dict);
        if (r == NULL)
            ioring_overflow_to_range_error();
        return r;
    }

    static int ioring_shim_type(PyObject *obj)
    {
        PyTypeObject *tp = (PyTypeObject *)obj;
        if (!PyType_Check(obj) || Py_TYPE(obj) != &PyType_Type
                || tp->tp_vectorcall == ioring_vc_type_shim || ioring_type_count == IORING_TYPE_SLOTS)
            return 0;
        Py_INCREF(obj);                                     /* for the module's life */
        ioring_type_obj[ioring_type_count] = obj;
        ioring_type_orig[ioring_type_count] = tp->tp_vectorcall;
        ioring_type_count++;
        tp->tp_vectorcall = ioring_vc_type_shim;
        return 1;
    }

    /* Property setters: the original setter and closure move into a small record that the
     * shim gets as its closure (Cython's getters and setters ignore theirs). */
    typedef struct { setter set; void *closure; } ioring_setter_rec;

    static int ioring_setter_shim(PyObject *o, PyObject *v, void *closure)
    {
        ioring_setter_rec *rec = (ioring_setter_rec *)closure;
        int r = rec->set(o, v, rec->closure);
        if (r < 0)
            ioring_overflow_to_range_error();
        return r;
    }

    static int ioring_shim_setter(PyObject *descr)
    {
        PyGetSetDef *d;
        ioring_setter_rec *rec;
        if (!PyObject_TypeCheck(descr, &PyGetSetDescr_Type))
            return 0;
        d = ((PyGetSetDescrObject *)descr)->d_getset;
        if (d->set == NULL || d->set == ioring_setter_shim)
            return 0;
        rec = (ioring_setter_rec *)PyMem_RawMalloc(sizeof(*rec));     /* for the module's life */
        if (rec == NULL)
            return 0;
        rec->set = d->set;
        rec->closure = d->closure;
        d->closure = rec;
        d->set = ioring_setter_shim;
        return 1;
    }

    static void ioring_set_range_error_type(PyObject *cls)
    {
        Py_INCREF(cls);
        ioring_range_error_type = cls;
    }
    """
    int ioring_shim_builtin(object obj)
    int ioring_set_builtin_doc(object obj, const char *doc)
    int ioring_shim_type(object obj)
    int ioring_shim_setter(object descr)
    void ioring_set_range_error_type(object cls)


class IntRangeError(OverflowError, ValueError):
    """An int argument outside the range of its C type (``io_uring_prep_read(sqe, -1, ...)``
    with a negative unsigned, a value past 64 bits...). DESIGN.md makes a bad argument a
    ValueError; it is also an OverflowError, as Python's own int conversions raise, so either
    ``except`` catches it."""


def _split_params(text):
    """A signature's parameter list split at its top-level commas."""
    params, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            params.append(text[start:i].strip())
            start = i + 1
    if text[start:].strip():
        params.append(text[start:].strip())
    return params


def _text_signature(name, doc, method):
    """The text signature CPython reads from the start of a builtin's C doc
    (``name($self, a, b=0)``), made from the C-typed first line Cython embeds
    (``Type.name(self, int a, unsigned int b=0)``): the types dropped, names and defaults kept.
    None when the first line is not a signature of ``name``."""
    head = doc.split("\n", 1)[0]
    qualified, paren, rest = head.partition("(")
    if not paren or not rest.endswith(")") or qualified.rpartition(".")[2] != name:
        return None
    params = []
    for param in _split_params(rest[:len(rest) - 1]):       # (this module has wraparound=False)
        declared, eq, default = param.partition("=")
        ctype, space, pname = declared.strip().rpartition(" ")
        if space:
            pname = pname.lstrip("*")                           # "char *p"; "*args" keeps its star
        params.append(pname + (eq + default.strip() if eq else ""))
    if method and params and params[0] == "self":
        params[0] = "$self"
    return f"{name}({', '.join(params)})"


def _route_builtin(obj, method):
    """Routes one builtin or method descriptor and gives it its text signature."""
    doc = obj.__doc__
    sig = _text_signature(obj.__name__, doc, method) if doc else None
    # (3.13+ gives a builtin without one a signature of its own, "($self, /)" for a METH_NOARGS
    # function: a parameter the function does not have; ours replaces any other)
    if sig is not None and getattr(obj, "__text_signature__", None) != sig[len(obj.__name__):]:
        ioring_set_builtin_doc(obj, f"{sig}\n--\n\n{doc}".encode())
    return ioring_shim_builtin(obj)


def _route_int_range_errors():
    ioring_set_range_error_type(IntRangeError)
    builtin = type(len)
    n = 0
    for obj in list(globals().values()):
        if type(obj) is builtin and getattr(obj, "__module__", None) == __name__:
            n += _route_builtin(obj, False)
        elif (isinstance(obj, type) and obj.__module__ == __name__
              and not issubclass(obj, BaseException)):
            n += ioring_shim_type(obj)
            for attr in vars(obj).values():
                if type(attr) is _MethodDescriptor and attr.__objclass__ is obj:
                    n += _route_builtin(attr, True)
                elif isinstance(attr, (staticmethod, classmethod)) and type(attr.__func__) is builtin:
                    n += _route_builtin(attr.__func__, False)
                else:
                    n += ioring_shim_setter(attr)
    return n


_MethodDescriptor = type(str.join)
_route_int_range_errors()


include "_call_doors.pxi"
