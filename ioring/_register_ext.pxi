# io_uring_register_* beyond the basics: included by liburing.pyx (conventions as in _register.pxi).
#
# Tagged and sparse tables, buffer cloning, personalities, restrictions, io-wq control,
# synchronous cancel/message, NAPI, clock, memory regions, zero-copy receive, BPF filters,
# queries, and the raw io_uring_setup/io_uring_enter/io_uring_register syscalls.
#
# Registered buffers: ring._registered_ranges holds (address, length) or None (empty slot) per
# slot, and ring._registered_buffers the object that pins each slot's memory; READ_FIXED and
# WRITE_FIXED are validated against the ranges (_check_fixed). Every function here that changes
# the kernel's buffer table changes both lists the same way, after the kernel said yes.
# Structs the kernel keeps pointing at after the call (memory regions, zcrx areas) are kept in
# ring._provided until io_uring_queue_exit.
import operator as _operator

from libc.string cimport memcpy

cdef extern from "ioring/register_ext.h" nogil:
    ctypedef struct _s_restriction "struct io_uring_restriction":
        uint16_t opcode
        uint8_t register_op
        uint8_t sqe_op
        uint8_t sqe_flags

    ctypedef struct _s_sync_cancel_reg "struct io_uring_sync_cancel_reg":
        uint64_t addr
        int32_t fd
        uint32_t flags
        c.ioring_kernel_timespec timeout
        uint8_t opcode

    ctypedef struct _s_napi "struct io_uring_napi":
        uint32_t busy_poll_to
        uint8_t prefer_busy_poll
        uint8_t opcode
        uint32_t op_param

    ctypedef struct _s_clock_register "struct io_uring_clock_register":
        uint32_t clockid

    ctypedef struct _s_region_desc "struct io_uring_region_desc":
        uint64_t user_addr
        uint64_t size
        uint32_t flags
        uint32_t id
        uint64_t mmap_offset

    ctypedef struct _s_mem_region_reg "struct io_uring_mem_region_reg":
        uint64_t region_uptr
        uint64_t flags

    ctypedef struct _s_zcrx_offsets "struct io_uring_zcrx_offsets":
        uint32_t head
        uint32_t tail
        uint32_t rqes

    ctypedef struct _s_zcrx_area_reg "struct io_uring_zcrx_area_reg":
        uint64_t addr
        uint64_t len
        uint64_t rq_area_token
        uint32_t flags
        uint32_t dmabuf_fd

    ctypedef struct _s_zcrx_ifq_reg "struct io_uring_zcrx_ifq_reg":
        uint32_t if_idx
        uint32_t if_rxq
        uint32_t rq_entries
        uint32_t flags
        uint64_t area_ptr
        uint64_t region_ptr
        _s_zcrx_offsets offsets
        uint32_t zcrx_id
        uint32_t rx_buf_len

    ctypedef struct _s_zcrx_ctrl_export "struct zcrx_ctrl_export":
        uint32_t zcrx_fd

    ctypedef struct _s_zcrx_ctrl "struct zcrx_ctrl":
        uint32_t zcrx_id
        uint32_t op
        _s_zcrx_ctrl_export zc_export

    ctypedef struct _s_bpf_filter "struct io_uring_bpf_filter":
        uint32_t opcode
        uint32_t flags
        uint32_t filter_len
        uint8_t pdu_size
        uint64_t filter_ptr

    ctypedef struct _s_bpf "struct io_uring_bpf":
        uint16_t cmd_type
        uint16_t cmd_flags
        _s_bpf_filter filter

    ctypedef struct _s_sock_filter "struct ioring_sock_filter":
        uint16_t code
        uint8_t jt
        uint8_t jf
        uint32_t k

    ctypedef struct _s_query_hdr "struct io_uring_query_hdr":
        uint64_t next_entry
        uint64_t query_data
        uint32_t query_op
        uint32_t size
        int32_t result

    ctypedef struct _s_query_opcode "struct io_uring_query_opcode":
        uint32_t nr_request_opcodes
        uint32_t nr_register_opcodes
        uint64_t feature_flags
        uint64_t ring_setup_flags
        uint64_t enter_flags
        uint64_t sqe_flags
        uint32_t nr_query_opcodes

    ctypedef struct _s_query_scq "struct io_uring_query_scq":
        uint64_t hdr_size
        uint64_t hdr_alignment

    ctypedef struct _s_getevents_arg "struct io_uring_getevents_arg":
        uint64_t sigmask
        uint32_t sigmask_sz
        uint32_t min_wait_usec
        uint64_t ts

    ctypedef struct _s_reg_wait "struct io_uring_reg_wait":
        pass

    const int _c_IO_URING_BPF_FILTER_DENY_REST "IO_URING_BPF_FILTER_DENY_REST"
    const int _c_IO_URING_BPF_FILTER_SZ_STRICT "IO_URING_BPF_FILTER_SZ_STRICT"
    const int _c_IO_URING_BPF_CMD_FILTER "IO_URING_BPF_CMD_FILTER"

    int ioring_register_buffers_tags(c.ioring *ring, const iovec *iovecs, const uint64_t *tags, unsigned nr)
    int ioring_register_buffers_sparse(c.ioring *ring, unsigned nr)
    int ioring_register_buffers_update_tag(c.ioring *ring, unsigned off, const iovec *iovecs,
                                           const uint64_t *tags, unsigned nr)
    int ioring_clone_buffers_offset(c.ioring *dst, c.ioring *src, unsigned dst_off, unsigned src_off,
                                    unsigned nr, unsigned flags)
    int ioring_clone_buffers(c.ioring *dst, c.ioring *src)
    int ioring_register_files_tags(c.ioring *ring, const int *files, const uint64_t *tags, unsigned nr)
    int ioring_register_files_update_tag(c.ioring *ring, unsigned off, const int *files,
                                         const uint64_t *tags, unsigned nr_files)
    int ioring_register_file_alloc_range(c.ioring *ring, unsigned off, unsigned len)
    int ioring_register_personality(c.ioring *ring)
    int ioring_unregister_personality(c.ioring *ring, int id)
    int ioring_register_restrictions(c.ioring *ring, _s_restriction *res, unsigned nr_res)
    int ioring_enable_rings(c.ioring *ring)
    int ioring_register_iowq_aff(c.ioring *ring, size_t cpusz, const void *mask)
    int ioring_unregister_iowq_aff(c.ioring *ring)
    int ioring_register_sync_cancel(c.ioring *ring, _s_sync_cancel_reg *reg)
    int ioring_register_sync_msg(c.io_uring_sqe *sqe)
    int ioring_register_napi(c.ioring *ring, _s_napi *napi)
    int ioring_unregister_napi(c.ioring *ring, _s_napi *napi)
    int ioring_register_clock(c.ioring *ring, _s_clock_register *arg)
    int ioring_register_region(c.ioring *ring, _s_mem_region_reg *reg)
    int ioring_register_ifq(c.ioring *ring, _s_zcrx_ifq_reg *reg)
    int ioring_register_zcrx_ctrl(c.ioring *ring, _s_zcrx_ctrl *ctrl)
    int ioring_register_bpf_filter(c.ioring *ring, _s_bpf *bpf)
    int ioring_register_bpf_filter_task(_s_bpf *bpf)
    int ioring_register_query(_s_query_hdr *query)

    int ioring_sys_setup(unsigned entries, c.io_uring_params *p)
    int ioring_sys_enter(int fd, unsigned to_submit, unsigned min_complete, unsigned flags, sigset_t *sig)
    int ioring_sys_enter2(int fd, unsigned to_submit, unsigned min_complete, unsigned flags,
                          void *arg, size_t arg_size)
    int ioring_sys_register(int fd, unsigned opcode, const void *arg, unsigned nr_args)

    long long ioring_raw_register_arg_size(unsigned opcode, unsigned nr_args)
    const long long IORING_RAW_REGISTER_POINTERS
    const long long IORING_RAW_REGISTER_UNKNOWN


IO_URING_BPF_FILTER_DENY_REST = _c_IO_URING_BPF_FILTER_DENY_REST
IO_URING_BPF_FILTER_SZ_STRICT = _c_IO_URING_BPF_FILTER_SZ_STRICT
IO_URING_BPF_CMD_FILTER = _c_IO_URING_BPF_CMD_FILTER


# ---- helpers -----------------------------------------------------------------------------------

cdef inline int _reg_begin(io_uring ring) except -1:
    """Before a registration with the GIL released: the ring must stay open meanwhile."""
    ring._check()
    ring._blocking += 1
    return 0


cdef int _reg_end(io_uring ring, int ret) except? -1:
    ring._blocking -= 1
    if ret == -EINTR:
        PyErr_CheckSignals()
    return _check_ret(ret)


cdef int _syscall_end(int ret) except? -1:
    if ret == -EINTR:
        PyErr_CheckSignals()      # Ctrl-C: KeyboardInterrupt; otherwise InterruptedError
    return _check_ret(ret)


cdef unsigned long long _uint(object value, unsigned long long maximum, str name) except? 0xFFFFFFFFFFFFFFFF:
    """An int (or __index__ object) in 0..maximum: TypeError / ValueError otherwise."""
    cdef object v
    try:
        v = _operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an int, not {type(value).__name__}") from None
    if v < 0 or v > maximum:
        raise ValueError(f"{name} must be in 0..{maximum}, not {v}")
    return <unsigned long long>v


cdef unsigned _fd_arg(object fd) except? 0xFFFFFFFF:
    """A C ``unsigned int fd`` of the raw syscalls: -1 is (unsigned)-1, as in C."""
    cdef object v = _operator.index(fd)
    if v == -1:
        return 0xFFFFFFFF
    return <unsigned>_uint(v, 0xFFFFFFFF, "fd")


@cython.final
cdef class _RegIovecs:
    """A C iovec array for buffer registration: None is an empty (sparse) slot, NULL/0."""
    cdef iovec *vecs
    cdef unsigned count
    cdef list pins            # per slot: the _Buffer pinning its memory, or None

    def __cinit__(self, object buffers, object nr, str name):
        cdef list items = list(buffers)
        cdef unsigned n = _length(len(items), nr, name)
        cdef unsigned i
        cdef _Buffer b
        self.vecs = <iovec *>calloc(n if n else 1, sizeof(iovec))
        if self.vecs == NULL:
            raise MemoryError()
        self.count = n
        self.pins = []
        for i in range(n):
            if items[i] is None:
                self.pins.append(None)
                continue
            b = _Buffer(items[i], True)
            self.pins.append(b)
            self.vecs[i].iov_base = b.ptr
            self.vecs[i].iov_len = <size_t>b.nbytes

    def __dealloc__(self):
        free(self.vecs)
        self.vecs = NULL


@cython.final
cdef class _U64Array:
    """A C __u64 array (resource tags) of ``count`` items, or NULL for None."""
    cdef uint64_t *items


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



cdef void _expect_tag_cqes(io_uring ring, _U64Array tags, unsigned count):
    """Each nonzero tag will come back as a CQE with user_data = tag: tell the ring, so that
    such a CQE never passes for the completion of a request with the same user_data."""
    cdef unsigned i
    if tags.items != NULL:
        for i in range(count):
            if tags.items[i]:
                ring._expect_foreign(tags.items[i])

cdef list _buffer_slot_pins(io_uring ring):
    """The pins of the registered buffer table, one per slot of ring._registered_ranges
    (io_uring_register_buffers keeps its _Iovecs: split into the per-slot _Buffers)."""
    cdef list ranges = ring._registered_ranges
    cdef list pins = ring._registered_buffers
    if ranges is None:
        return None
    if (pins is not None and len(pins) == 1 and isinstance(pins[0], _Iovecs)
            and len((<_Iovecs>pins[0]).buffers) == len(ranges)):
        # io_uring_register_buffers' iovec array: the kernel no longer needs the array
        # itself, only each slot's buffer, which its _Buffer pins on its own.
        pins = list((<_Iovecs>pins[0]).buffers)
        ring._registered_buffers = pins
    elif pins is None or len(pins) != len(ranges):
        whole = None if pins is None else tuple(pins)
        pins = [whole] * len(ranges)
        ring._registered_buffers = pins
    return pins


cdef _set_buffer_slots(io_uring ring, unsigned off, list pins, unsigned count):
    """Slots off .. off+count-1 of the registered buffer table now hold pins[:count]."""
    cdef list ranges = ring._registered_ranges
    cdef list slot_pins = _buffer_slot_pins(ring)
    cdef unsigned i
    cdef _Buffer b
    if ranges is None:
        ranges = []
        slot_pins = []
    if <size_t>len(ranges) < <size_t>off + count:
        grow = off + count - len(ranges)
        ranges.extend([None] * grow)
        slot_pins.extend([None] * grow)
    for i in range(count):
        if pins[i] is None:
            ranges[off + i] = None
            slot_pins[off + i] = None
        else:
            b = <_Buffer>pins[i]
            ranges[off + i] = (<size_t>b.ptr, <size_t>b.nbytes)
            slot_pins[off + i] = b
    ring._registered_ranges = ranges
    ring._registered_buffers = slot_pins


# ---- registered buffers: tags, sparse tables, updates, cloning ---------------------------------

def io_uring_register_buffers_tags(io_uring ring not None, iovecs, tags, nr=None):
    """io_uring_register_buffers_tags(3): register ``iovecs`` (writable buffers; None leaves a
    slot empty) with a tag each (``tags``: ints, 0 = untagged, or None). When a tagged buffer
    is later replaced or unregistered and no longer used, the kernel posts a CQE with
    user_data = tag, res = 0. Buffers stay pinned while registered."""
    cdef _RegIovecs v = _RegIovecs(iovecs, nr, "nr")
    cdef _U64Array t = _U64Array(tags, v.count, "tags")
    cdef int ret
    _reg_begin(ring)
    with nogil:
        ret = ioring_register_buffers_tags(&ring.ring, v.vecs, t.items, v.count)
    ret = _reg_end(ring, ret)
    _expect_tag_cqes(ring, t, v.count)
    ring._registered_ranges = None
    ring._registered_buffers = None
    _set_buffer_slots(ring, 0, v.pins, v.count)
    return ret


def io_uring_register_buffers_sparse(io_uring ring not None, unsigned nr):
    """io_uring_register_buffers_sparse(3): a table of ``nr`` empty buffer slots, to be filled
    with io_uring_register_buffers_update_tag (READ_FIXED on an empty slot is a ValueError)."""
    cdef int ret
    _reg_begin(ring)
    with nogil:
        ret = ioring_register_buffers_sparse(&ring.ring, nr)
    ret = _reg_end(ring, ret)
    ring._registered_ranges = [None] * nr
    ring._registered_buffers = [None] * nr
    return ret


def io_uring_register_buffers_update_tag(io_uring ring not None, unsigned off, iovecs, tags, nr=None):
    """io_uring_register_buffers_update_tag(3): replace slots ``off``.. with ``iovecs`` (None
    empties a slot) and their ``tags`` (or None); returns how many slots were updated. The
    replaced buffers' tags are posted as CQEs once the kernel is done with them."""
    cdef _RegIovecs v = _RegIovecs(iovecs, nr, "nr")
    cdef _U64Array t = _U64Array(tags, v.count, "tags")
    cdef int ret
    _reg_begin(ring)
    with nogil:
        ret = ioring_register_buffers_update_tag(&ring.ring, off, v.vecs, t.items, v.count)
    ret = _reg_end(ring, ret)
    _expect_tag_cqes(ring, t, v.count)
    _set_buffer_slots(ring, off, v.pins, <unsigned>ret if <unsigned>ret < v.count else v.count)
    return ret


cdef _clone_tracking(io_uring dst, io_uring src, unsigned dst_off, unsigned src_off, unsigned nr):
    """dst's table after a successful clone: its slots before dst_off, src's slots
    src_off..src_off+nr at dst_off, and (conservatively: kernels differ) its slots after."""
    cdef list src_ranges = src._registered_ranges
    cdef list src_pins = _buffer_slot_pins(src)
    cdef list old_ranges = dst._registered_ranges
    cdef list old_pins = _buffer_slot_pins(dst)
    cdef Py_ssize_t old_len = 0 if old_ranges is None else len(old_ranges)
    cdef Py_ssize_t src_len = 0 if src_ranges is None else len(src_ranges)
    cdef Py_ssize_t n = nr if nr else src_len
    cdef Py_ssize_t i, j
    cdef Py_ssize_t new_len = max(<Py_ssize_t>dst_off + n, old_len)
    cdef list ranges = [None] * new_len
    cdef list pins = [None] * new_len
    for i in range(min(<Py_ssize_t>dst_off, old_len)):
        ranges[i] = old_ranges[i]
        pins[i] = old_pins[i]
    for j in range(n):
        i = <Py_ssize_t>src_off + j
        if i < src_len:
            ranges[dst_off + j] = src_ranges[i]
            pins[dst_off + j] = src_pins[i]
    for i in range(<Py_ssize_t>dst_off + n, old_len):
        ranges[i] = old_ranges[i]
        pins[i] = old_pins[i]
    dst._registered_ranges = ranges
    dst._registered_buffers = pins


cdef int _clone_begin(io_uring dst, io_uring src) except -1:
    dst._check()
    src._check()
    dst._blocking += 1
    src._blocking += 1
    return 0


def io_uring_clone_buffers(io_uring dst not None, io_uring src not None):
    """io_uring_clone_buffers(3): give ``dst`` (which must have no registered buffers) the
    registered buffers of ``src``; dst keeps them pinned too, whatever src does later."""
    cdef int ret
    _clone_begin(dst, src)
    with nogil:
        ret = ioring_clone_buffers(&dst.ring, &src.ring)
    src._blocking -= 1
    ret = _reg_end(dst, ret)
    _clone_tracking(dst, src, 0, 0, 0)
    return ret


def io_uring_clone_buffers_offset(io_uring dst not None, io_uring src not None, unsigned dst_off,
                                  unsigned src_off, unsigned nr, unsigned flags=0):
    """io_uring_clone_buffers_offset(3): clone ``nr`` buffers of ``src`` from ``src_off`` into
    ``dst`` at ``dst_off`` (nr 0: all, offsets 0). ``flags``: IORING_REGISTER_DST_REPLACE to
    replace dst's existing slots in that range."""
    cdef int ret
    _clone_begin(dst, src)
    with nogil:
        ret = ioring_clone_buffers_offset(&dst.ring, &src.ring, dst_off, src_off, nr, flags)
    src._blocking -= 1
    ret = _reg_end(dst, ret)
    _clone_tracking(dst, src, dst_off, src_off, nr)
    return ret


# ---- registered files: tags, sparse tables, allocation range -----------------------------------

def io_uring_register_files_tags(io_uring ring not None, files, tags, nr=None):
    """io_uring_register_files_tags(3): register ``files`` (fds, -1 = empty slot) with a tag
    each (``tags``: ints, 0 = untagged, or None); a tagged slot's tag is posted as a CQE
    (user_data = tag, res 0) when its file is replaced or unregistered. On EMFILE the soft
    RLIMIT_NOFILE is raised once and the call retried, as liburing does."""
    cdef _IntArray fds = _IntArray(files, nr, "nr")
    cdef _U64Array t = _U64Array(tags, fds.count, "tags")
    cdef int ret
    _reg_begin(ring)
    with nogil:
        ret = ioring_register_files_tags(&ring.ring, fds.items, t.items, fds.count)
    ret = _reg_end(ring, ret)
    _expect_tag_cqes(ring, t, fds.count)
    return ret


def io_uring_register_files_sparse(io_uring ring not None, unsigned nr):
    """io_uring_register_files_sparse(3): a table of ``nr`` empty file slots (for direct
    descriptors: openat_direct, accept_direct, files_update...). On EMFILE the soft
    RLIMIT_NOFILE is raised once and the call retried, as liburing does."""
    cdef int ret
    _reg_begin(ring)
    with nogil:
        ret = c.ioring_register_files_sparse(&ring.ring, nr)
    return _reg_end(ring, ret)


def io_uring_register_files_update_tag(io_uring ring not None, unsigned off, files, tags, nr_files=None):
    """io_uring_register_files_update_tag(3): replace slots ``off``.. with ``files`` (-1
    empties a slot, IORING_REGISTER_FILES_SKIP keeps it) and their ``tags`` (or None);
    returns how many slots were updated."""
    cdef _IntArray fds = _IntArray(files, nr_files, "nr_files")
    cdef _U64Array t = _U64Array(tags, fds.count, "tags")
    cdef int ret
    _reg_begin(ring)
    with nogil:
        ret = ioring_register_files_update_tag(&ring.ring, off, fds.items, t.items, fds.count)
    ret = _reg_end(ring, ret)
    _expect_tag_cqes(ring, t, fds.count)
    return ret


def io_uring_register_file_alloc_range(io_uring ring not None, unsigned off, unsigned len):
    """io_uring_register_file_alloc_range(3): direct descriptors allocated by the kernel
    (IORING_FILE_INDEX_ALLOC) are taken from slots [off, off + len)."""
    cdef int ret
    _reg_begin(ring)
    with nogil:
        ret = ioring_register_file_alloc_range(&ring.ring, off, len)
    return _reg_end(ring, ret)


# ---- personalities, restrictions ---------------------------------------------------------------

def io_uring_register_personality(io_uring ring not None):
    """io_uring_register_personality(3): register the caller's current credentials; returns
    the id to put in sqe.personality."""
    cdef int ret
    _reg_begin(ring)
    with nogil:
        ret = ioring_register_personality(&ring.ring)
    return _reg_end(ring, ret)


def io_uring_unregister_personality(io_uring ring not None, int id):
    """io_uring_unregister_personality(3): forget personality ``id``."""
    cdef int ret
    _reg_begin(ring)
    with nogil:
        ret = ioring_unregister_personality(&ring.ring, id)
    return _reg_end(ring, ret)


@cython.final
cdef class io_uring_restriction:
    """struct io_uring_restriction: ``opcode`` is IORING_RESTRICTION_*; the second field is a
    C union, named register_op, sqe_op or sqe_flags after what the opcode restricts."""
    cdef _s_restriction res

    def __init__(self, opcode=0, register_op=None, sqe_op=None, sqe_flags=None):
        given = [v for v in (register_op, sqe_op, sqe_flags) if v is not None]
        if len(given) > 1:
            raise ValueError("register_op, sqe_op and sqe_flags share one byte: give one of them")
        memset(&self.res, 0, sizeof(self.res))
        self.res.opcode = <uint16_t>_uint(opcode, 0xFFFF, "opcode")
        if given:
            self.res.register_op = <uint8_t>_uint(given[0], 0xFF, "the restriction's value")

    @property
    def opcode(self): return self.res.opcode
    @opcode.setter
    def opcode(self, v): self.res.opcode = <uint16_t>_uint(v, 0xFFFF, "opcode")
    @property
    def register_op(self): return self.res.register_op
    @register_op.setter
    def register_op(self, v): self.res.register_op = <uint8_t>_uint(v, 0xFF, "register_op")
    @property
    def sqe_op(self): return self.res.sqe_op
    @sqe_op.setter
    def sqe_op(self, v): self.res.sqe_op = <uint8_t>_uint(v, 0xFF, "sqe_op")
    @property
    def sqe_flags(self): return self.res.sqe_flags
    @sqe_flags.setter
    def sqe_flags(self, v): self.res.sqe_flags = <uint8_t>_uint(v, 0xFF, "sqe_flags")

    def __repr__(self):
        return f"io_uring_restriction(opcode={self.res.opcode}, {self.res.register_op})"


def io_uring_register_restrictions(io_uring ring not None, res, nr_res=None):
    """io_uring_register_restrictions(3): allow-list of register opcodes, SQE opcodes and SQE
    flags (a sequence of io_uring_restriction), on a ring created with IORING_SETUP_R_DISABLED;
    they apply once io_uring_enable_rings is called."""
    cdef list items = list(res)
    cdef unsigned n = _length(len(items), nr_res, "nr_res")
    cdef unsigned i
    cdef _s_restriction *arr
    cdef int ret
    for i in range(n):
        if not isinstance(items[i], io_uring_restriction):
            raise TypeError(f"res[{i}] must be an io_uring_restriction, not {type(items[i]).__name__}")
    arr = <_s_restriction *>calloc(n if n else 1, sizeof(_s_restriction))
    if arr == NULL:
        raise MemoryError()
    try:
        for i in range(n):
            arr[i] = (<io_uring_restriction>items[i]).res
        _reg_begin(ring)
        with nogil:
            ret = ioring_register_restrictions(&ring.ring, arr, n)
        return _reg_end(ring, ret)
    finally:
        free(arr)


def io_uring_enable_rings(io_uring ring not None):
    """io_uring_enable_rings(3): start a ring created with IORING_SETUP_R_DISABLED (its
    restrictions, if any, apply from now on)."""
    cdef int ret
    _reg_begin(ring)
    with nogil:
        ret = ioring_enable_rings(&ring.ring)
    return _reg_end(ring, ret)


# ---- io-wq -------------------------------------------------------------------------------------

_NO_MASK = object()


def io_uring_register_iowq_aff(io_uring ring not None, cpusz, mask=_NO_MASK):
    """io_uring_register_iowq_aff(3): run this thread's io-wq workers of the ring on the CPUs
    in ``mask``, an iterable of CPU numbers (as os.sched_setaffinity). ``cpusz`` is C's
    byte size of the mask; io_uring_register_iowq_aff(ring, mask) picks it (at least
    sizeof(cpu_set_t), 128). Workers started afterwards get the mask."""
    cdef list cpus = []
    cdef unsigned long long size, need, words, cpu
    cdef unsigned long *bits
    cdef int ret
    cdef size_t bits_per_word = 8 * sizeof(unsigned long)
    if mask is _NO_MASK:
        mask, cpusz = cpusz, None
    if isinstance(mask, (str, bytes)):
        raise TypeError("mask must be an iterable of CPU numbers")
    for v in mask:
        cpus.append(_uint(v, 0xFFFFFFFF, "CPU number"))
    need = ((max(cpus) // bits_per_word) + 1) * sizeof(unsigned long) if cpus else sizeof(unsigned long)
    if cpusz is None:
        size = max(need, <unsigned long long>128)
    else:
        size = _uint(cpusz, 0xFFFFFFFFFFFFFFFF, "cpusz")
        if size >= 0x80000000:
            _raise_errno(EINVAL)      # liburing refuses it before the syscall
        if cpus and (max(cpus) // 8) >= size:
            raise ValueError(f"CPU {max(cpus)} does not fit a {size}-byte mask")
    words = (size + sizeof(unsigned long) - 1) // sizeof(unsigned long)
    bits = <unsigned long *>calloc(words if words else 1, sizeof(unsigned long))
    if bits == NULL:
        raise MemoryError()
    try:
        for cpu in cpus:
            bits[cpu // bits_per_word] |= (<unsigned long>1) << (cpu % bits_per_word)
        _reg_begin(ring)
        with nogil:
            ret = ioring_register_iowq_aff(&ring.ring, <size_t>size, bits)
        return _reg_end(ring, ret)
    finally:
        free(bits)


def io_uring_unregister_iowq_aff(io_uring ring not None):
    """io_uring_unregister_iowq_aff(3): io-wq workers started afterwards may run on any CPU
    this thread may run on."""
    cdef int ret
    _reg_begin(ring)
    with nogil:
        ret = ioring_unregister_iowq_aff(&ring.ring)
    return _reg_end(ring, ret)


def io_uring_register_iowq_max_workers(io_uring ring not None, values):
    """io_uring_register_iowq_max_workers(3): ``values`` = [bounded, unbounded] worker limits
    (0 leaves one unchanged). Returns the previous limits as a list (C writes them back into
    the array); [0, 0] just reads them."""
    cdef list vals = list(values)
    cdef unsigned arr[2]
    cdef int ret
    if len(vals) != 2:
        raise ValueError(f"values must hold 2 counts [bounded, unbounded], not {len(vals)}")
    arr[0] = <unsigned>_uint(vals[0], 0xFFFFFFFF, "values[0]")
    arr[1] = <unsigned>_uint(vals[1], 0xFFFFFFFF, "values[1]")
    _reg_begin(ring)
    with nogil:
        ret = c.ioring_register_iowq_max_workers(&ring.ring, arr)
    _reg_end(ring, ret)
    return [arr[0], arr[1]]


# ---- synchronous cancel and message ------------------------------------------------------------

@cython.final
cdef class io_uring_sync_cancel_reg:
    """struct io_uring_sync_cancel_reg: what to cancel (``addr`` = user_data, or ``fd`` with
    IORING_ASYNC_CANCEL_FD, ``opcode`` with IORING_ASYNC_CANCEL_OP...), IORING_ASYNC_CANCEL_*
    ``flags``, and how long to wait (``timeout``; kernel_timespec(-1, -1) = forever)."""
    cdef _s_sync_cancel_reg reg
    # The timeout as an object of its own, returned by the getter each time, so that
    # reg.timeout.tv_sec = 200 sticks as it does in C; copied into reg when registering.
    cdef kernel_timespec _timeout

    def __init__(self, addr=0, fd=-1, flags=0, kernel_timespec timeout=None, opcode=0):
        memset(&self.reg, 0, sizeof(self.reg))
        self.addr = addr
        self.fd = fd
        self.flags = flags
        self.timeout = timeout
        self.opcode = opcode

    @property
    def addr(self): return self.reg.addr
    @addr.setter
    def addr(self, v): self.reg.addr = _uint(v, 0xFFFFFFFFFFFFFFFF, "addr")
    @property
    def fd(self): return self.reg.fd
    @fd.setter
    def fd(self, int v): self.reg.fd = v
    @property
    def flags(self): return self.reg.flags
    @flags.setter
    def flags(self, v): self.reg.flags = <uint32_t>_uint(v, 0xFFFFFFFF, "flags")
    @property
    def opcode(self): return self.reg.opcode
    @opcode.setter
    def opcode(self, v): self.reg.opcode = <uint8_t>_uint(v, 0xFF, "opcode")

    @property
    def timeout(self):
        return self._timeout

    @timeout.setter
    def timeout(self, kernel_timespec ts):
        # A copy, as C's struct assignment: later changes to ``ts`` do not reach the reg.
        if ts is None:
            self._timeout = kernel_timespec(-1, -1)
        else:
            self._timeout = kernel_timespec(ts.ts.tv_sec, ts.ts.tv_nsec)

    def __repr__(self):
        return (f"io_uring_sync_cancel_reg(addr={self.reg.addr}, fd={self.reg.fd}, flags={self.reg.flags:#x}, "
                f"timeout=({self._timeout.ts.tv_sec}, {self._timeout.ts.tv_nsec}), opcode={self.reg.opcode})")


def io_uring_register_sync_cancel(io_uring ring not None, io_uring_sync_cancel_reg reg not None):
    """io_uring_register_sync_cancel(3): cancel matching requests and wait (GIL released)
    until they are done or reg.timeout expires. Returns 0 when one was found and cancelled
    (with IORING_ASYNC_CANCEL_ALL/ANY: how many); OSError ENOENT when nothing matched, ETIME
    on timeout. The cancelled requests still post their CQEs."""
    cdef _s_sync_cancel_reg copy = reg.reg
    cdef int ret
    copy.timeout = reg._timeout.ts
    _reg_begin(ring)
    with nogil:
        ret = ioring_register_sync_cancel(&ring.ring, &copy)
    return _reg_end(ring, ret)


def io_uring_register_sync_msg(sqe):
    """io_uring_register_sync_msg(3): send a MSG_RING data message without a source ring:
    ``sqe`` is an SQE prepared with io_uring_prep_msg_ring (or _cqe_flags): a free-standing
    ``io_uring_sqe()`` (C's ``struct io_uring_sqe sqe = {}``), an unsubmitted ring SQE (its 64
    bytes are copied; it stays in its ring's SQ, so turn it into a NOP or submit it knowingly)
    or a bytes-like struct io_uring_sqe. The target ring gets the CQE; the result comes back
    here."""
    cdef c.io_uring_sqe copy
    cdef _Buffer b
    cdef int ret
    if isinstance(sqe, io_uring_sqe):
        memcpy(&copy, (<io_uring_sqe>sqe)._ptr(), sizeof(copy))
    else:
        b = _Buffer(sqe, False)
        if b.nbytes < <Py_ssize_t>sizeof(copy):
            raise ValueError(f"a struct io_uring_sqe is {sizeof(copy)} bytes, not {b.nbytes}")
        memcpy(&copy, b.ptr, sizeof(copy))
    _announce_sync_msg(&copy)
    with nogil:
        ret = ioring_register_sync_msg(&copy)
    return _syscall_end(ret)


cdef int _announce_sync_msg(const c.io_uring_sqe *sqe) except -1:
    """IORING_REGISTER_SEND_MSG_RING posts a CQE (user_data sqe->off) into the ring sqe->fd is:
    if that is a ring of ours, announce it as not the completion of a request (whatever the
    SQE says, the kernel decides: announcing a CQE that never comes only delays a release)."""
    if sqe.opcode == _c_IORING_OP_MSG_RING:
        _expect_foreign_cqe(sqe.fd, sqe.off)
    return 0


# ---- NAPI, clock -------------------------------------------------------------------------------

@cython.final
cdef class io_uring_napi:
    """struct io_uring_napi: busy-poll settings (``busy_poll_to`` microseconds,
    ``prefer_busy_poll``; ``opcode`` IO_URING_NAPI_* with ``op_param``). The kernel writes the
    previous settings back into it."""
    cdef _s_napi napi

    def __init__(self, busy_poll_to=0, prefer_busy_poll=0, opcode=0, op_param=0):
        memset(&self.napi, 0, sizeof(self.napi))
        self.busy_poll_to = busy_poll_to
        self.prefer_busy_poll = prefer_busy_poll
        self.opcode = opcode
        self.op_param = op_param

    @property
    def busy_poll_to(self): return self.napi.busy_poll_to
    @busy_poll_to.setter
    def busy_poll_to(self, v): self.napi.busy_poll_to = <uint32_t>_uint(v, 0xFFFFFFFF, "busy_poll_to")
    @property
    def prefer_busy_poll(self): return self.napi.prefer_busy_poll
    @prefer_busy_poll.setter
    def prefer_busy_poll(self, v): self.napi.prefer_busy_poll = <uint8_t>_uint(v, 0xFF, "prefer_busy_poll")
    @property
    def opcode(self): return self.napi.opcode
    @opcode.setter
    def opcode(self, v): self.napi.opcode = <uint8_t>_uint(v, 0xFF, "opcode")
    @property
    def op_param(self): return self.napi.op_param
    @op_param.setter
    def op_param(self, v): self.napi.op_param = <uint32_t>_uint(v, 0xFFFFFFFF, "op_param")

    def __repr__(self):
        return (f"io_uring_napi(busy_poll_to={self.napi.busy_poll_to}, prefer_busy_poll={self.napi.prefer_busy_poll}, "
                f"opcode={self.napi.opcode}, op_param={self.napi.op_param})")


def io_uring_register_napi(io_uring ring not None, io_uring_napi napi not None):
    """io_uring_register_napi(3): enable NAPI busy polling with ``napi``'s settings; the kernel
    writes the previous settings back into ``napi``."""
    cdef int ret
    _reg_begin(ring)
    with nogil:
        ret = ioring_register_napi(&ring.ring, &napi.napi)
    return _reg_end(ring, ret)


def io_uring_unregister_napi(io_uring ring not None, io_uring_napi napi=None):
    """io_uring_unregister_napi(3): disable NAPI busy polling; the settings in force are
    written into ``napi`` if one is given (C's NULL otherwise)."""
    cdef _s_napi *p = NULL if napi is None else &napi.napi
    cdef int ret
    _reg_begin(ring)
    with nogil:
        ret = ioring_unregister_napi(&ring.ring, p)
    return _reg_end(ring, ret)


@cython.final
cdef class io_uring_clock_register:
    """struct io_uring_clock_register: the clock of the ring's waits (``clockid``:
    CLOCK_MONOTONIC or CLOCK_BOOTTIME, as time.CLOCK_*)."""
    cdef _s_clock_register reg

    def __init__(self, clockid=0):
        memset(&self.reg, 0, sizeof(self.reg))
        self.clockid = clockid

    @property
    def clockid(self): return self.reg.clockid
    @clockid.setter
    def clockid(self, v): self.reg.clockid = <uint32_t>_uint(v, 0xFFFFFFFF, "clockid")

    def __repr__(self):
        return f"io_uring_clock_register(clockid={self.reg.clockid})"


def io_uring_register_clock(io_uring ring not None, io_uring_clock_register arg not None):
    """io_uring_register_clock(3): wait timeouts of this ring (including absolute ones,
    IORING_ENTER_ABS_TIMER) are measured on arg.clockid."""
    cdef int ret
    _reg_begin(ring)
    with nogil:
        ret = ioring_register_clock(&ring.ring, &arg.reg)
    return _reg_end(ring, ret)


# ---- memory regions ----------------------------------------------------------------------------

@cython.final
cdef class io_uring_region_desc:
    """struct io_uring_region_desc: a memory region. ``user_addr``: a writable page-aligned
    buffer (e.g. an mmap; with IORING_MEM_REGION_TYPE_USER in ``flags``), pinned by this
    object, or None for kernel-allocated memory, whose mmap offset on the ring fd the kernel
    writes into ``mmap_offset``. ``size`` defaults to the buffer's length."""
    cdef _s_region_desc rd
    cdef _Buffer _mem

    def __init__(self, user_addr=None, size=None, flags=0, id=0):
        memset(&self.rd, 0, sizeof(self.rd))
        if user_addr is not None:
            self._mem = _Buffer(user_addr, True)
            self.rd.user_addr = <size_t>self._mem.ptr
        if size is None:
            self.rd.size = 0 if self._mem is None else <uint64_t>self._mem.nbytes
        else:
            self.rd.size = _uint(size, 0xFFFFFFFFFFFFFFFF, "size")
            if self._mem is not None and self.rd.size > <uint64_t>self._mem.nbytes:
                raise ValueError(f"size={size} is larger than user_addr ({self._mem.nbytes} bytes)")
        self.rd.flags = <uint32_t>_uint(flags, 0xFFFFFFFF, "flags")
        self.rd.id = <uint32_t>_uint(id, 0xFFFFFFFF, "id")

    @property
    def user_addr(self):
        """The address of the user memory (0 for none); the buffer itself is kept alive."""
        return self.rd.user_addr
    @property
    def size(self): return self.rd.size
    @property
    def flags(self): return self.rd.flags
    @property
    def id(self): return self.rd.id
    @property
    def mmap_offset(self): return self.rd.mmap_offset

    def __repr__(self):
        return (f"io_uring_region_desc(user_addr={self.rd.user_addr:#x}, size={self.rd.size}, "
                f"flags={self.rd.flags:#x}, mmap_offset={self.rd.mmap_offset:#x})")


@cython.final
cdef class io_uring_mem_region_reg:
    """struct io_uring_mem_region_reg: ``region_uptr`` (an io_uring_region_desc) and
    IORING_MEM_REGION_REG_* ``flags`` (WAIT_ARG: the registered wait-argument region, only
    while the ring is disabled)."""
    cdef _s_mem_region_reg reg
    cdef io_uring_region_desc _desc

    def __init__(self, io_uring_region_desc region_uptr not None, flags=0):
        memset(&self.reg, 0, sizeof(self.reg))
        self._desc = region_uptr
        self.reg.region_uptr = <size_t>&region_uptr.rd
        self.reg.flags = _uint(flags, 0xFFFFFFFFFFFFFFFF, "flags")

    @property
    def region_uptr(self): return self._desc
    @property
    def flags(self): return self.reg.flags

    def __repr__(self):
        return f"io_uring_mem_region_reg(region_uptr={self._desc!r}, flags={self.reg.flags:#x})"


def io_uring_register_region(io_uring ring not None, io_uring_mem_region_reg reg not None):
    """io_uring_register_region(3): register a memory region (one per ring). User memory
    stays pinned until io_uring_queue_exit; a kernel-allocated region's mmap offset is written
    into reg.region_uptr.mmap_offset."""
    cdef int ret
    _reg_begin(ring)
    with nogil:
        ret = ioring_register_region(&ring.ring, &reg.reg)
    ret = _reg_end(ring, ret)
    ring._provided.append(reg)
    return ret


# ---- zero-copy receive -------------------------------------------------------------------------

@cython.final
cdef class io_uring_zcrx_offsets:
    """struct io_uring_zcrx_offsets: where the refill queue's head, tail and entries are in
    the region (filled by the kernel)."""
    cdef readonly uint32_t head, tail, rqes

    def __repr__(self):
        return f"io_uring_zcrx_offsets(head={self.head}, tail={self.tail}, rqes={self.rqes})"


@cython.final
cdef class io_uring_zcrx_area_reg:
    """struct io_uring_zcrx_area_reg: the memory received data lands in. ``addr``: a
    writable buffer (pinned by this object), or with IORING_ZCRX_AREA_DMABUF in ``flags`` an
    offset into ``dmabuf_fd``. The kernel writes ``rq_area_token``."""
    cdef _s_zcrx_area_reg area
    cdef _Buffer _mem

    def __init__(self, addr=None, len=None, flags=0, dmabuf_fd=0):
        memset(&self.area, 0, sizeof(self.area))
        self.area.flags = <uint32_t>_uint(flags, 0xFFFFFFFF, "flags")
        self.area.dmabuf_fd = <uint32_t>_uint(dmabuf_fd, 0xFFFFFFFF, "dmabuf_fd")
        if self.area.flags & _c_IORING_ZCRX_AREA_DMABUF:
            self.area.addr = _uint(0 if addr is None else addr, 0xFFFFFFFFFFFFFFFF, "addr")
            self.area.len = _uint(0 if len is None else len, 0xFFFFFFFFFFFFFFFF, "len")
            return
        if addr is not None:
            self._mem = _Buffer(addr, True)
            self.area.addr = <size_t>self._mem.ptr
        if len is None:
            self.area.len = 0 if self._mem is None else <uint64_t>self._mem.nbytes
        else:
            self.area.len = _uint(len, 0xFFFFFFFFFFFFFFFF, "len")
            if self.area.len > (0 if self._mem is None else <uint64_t>self._mem.nbytes):
                raise ValueError(f"len={len} is larger than the area's buffer")

    @property
    def addr(self): return self.area.addr
    @property
    def len(self): return self.area.len
    @property
    def rq_area_token(self): return self.area.rq_area_token
    @property
    def flags(self): return self.area.flags
    @property
    def dmabuf_fd(self): return self.area.dmabuf_fd


@cython.final
cdef class io_uring_zcrx_ifq_reg:
    """struct io_uring_zcrx_ifq_reg: a zero-copy receive queue on NIC ``if_idx`` rx queue
    ``if_rxq`` with ``rq_entries`` refill entries, its ``area_ptr`` (io_uring_zcrx_area_reg)
    and refill ring ``region_ptr`` (io_uring_region_desc). The kernel fills ``offsets`` and
    ``zcrx_id``."""
    cdef _s_zcrx_ifq_reg reg
    cdef io_uring_zcrx_area_reg _area
    cdef io_uring_region_desc _region

    def __init__(self, if_idx=0, if_rxq=0, rq_entries=0, flags=0,
                 io_uring_zcrx_area_reg area_ptr=None, io_uring_region_desc region_ptr=None, rx_buf_len=0):
        memset(&self.reg, 0, sizeof(self.reg))
        self.reg.if_idx = <uint32_t>_uint(if_idx, 0xFFFFFFFF, "if_idx")
        self.reg.if_rxq = <uint32_t>_uint(if_rxq, 0xFFFFFFFF, "if_rxq")
        self.reg.rq_entries = <uint32_t>_uint(rq_entries, 0xFFFFFFFF, "rq_entries")
        self.reg.flags = <uint32_t>_uint(flags, 0xFFFFFFFF, "flags")
        self.reg.rx_buf_len = <uint32_t>_uint(rx_buf_len, 0xFFFFFFFF, "rx_buf_len")
        self._area = area_ptr
        self._region = region_ptr
        if area_ptr is not None:
            self.reg.area_ptr = <size_t>&area_ptr.area
        if region_ptr is not None:
            self.reg.region_ptr = <size_t>&region_ptr.rd

    @property
    def if_idx(self): return self.reg.if_idx
    @property
    def if_rxq(self): return self.reg.if_rxq
    @property
    def rq_entries(self): return self.reg.rq_entries
    @property
    def flags(self): return self.reg.flags
    @property
    def area_ptr(self): return self._area
    @property
    def region_ptr(self): return self._region
    @property
    def zcrx_id(self): return self.reg.zcrx_id
    @property
    def rx_buf_len(self): return self.reg.rx_buf_len

    @property
    def offsets(self):
        cdef io_uring_zcrx_offsets o = io_uring_zcrx_offsets.__new__(io_uring_zcrx_offsets)
        o.head, o.tail, o.rqes = self.reg.offsets.head, self.reg.offsets.tail, self.reg.offsets.rqes
        return o


def io_uring_register_ifq(io_uring ring not None, io_uring_zcrx_ifq_reg reg not None):
    """io_uring_register_ifq(3): register a zero-copy receive interface queue (needs a NIC
    that supports it, CAP_NET_ADMIN, and an IORING_SETUP_DEFER_TASKRUN ring with 32-byte
    CQEs). The area and region memory stay pinned until io_uring_queue_exit."""
    cdef int ret
    _reg_begin(ring)
    with nogil:
        ret = ioring_register_ifq(&ring.ring, &reg.reg)
    ret = _reg_end(ring, ret)
    ring._provided.append(reg)
    return ret


@cython.final
cdef class zcrx_ctrl:
    """struct zcrx_ctrl: an operation (``op``: ZCRX_CTRL_FLUSH_RQ, ZCRX_CTRL_EXPORT) on
    zero-copy receive queue ``zcrx_id``; EXPORT writes a file descriptor into ``zcrx_fd``
    (zc_export.zcrx_fd)."""
    cdef _s_zcrx_ctrl ctrl

    def __init__(self, zcrx_id=0, op=0):
        memset(&self.ctrl, 0, sizeof(self.ctrl))
        self.ctrl.zcrx_id = <uint32_t>_uint(zcrx_id, 0xFFFFFFFF, "zcrx_id")
        self.ctrl.op = <uint32_t>_uint(op, 0xFFFFFFFF, "op")

    @property
    def zcrx_id(self): return self.ctrl.zcrx_id
    @property
    def op(self): return self.ctrl.op
    @property
    def zcrx_fd(self): return self.ctrl.zc_export.zcrx_fd


def io_uring_register_zcrx_ctrl(io_uring ring not None, zcrx_ctrl ctrl not None):
    """io_uring_register_zcrx_ctrl(3): run ``ctrl.op`` on a registered zero-copy receive
    queue (IORING_REGISTER_ZCRX_CTRL)."""
    cdef int ret
    _reg_begin(ring)
    with nogil:
        ret = ioring_register_zcrx_ctrl(&ring.ring, &ctrl.ctrl)
    return _reg_end(ring, ret)


# ---- BPF filters -------------------------------------------------------------------------------

@cython.final
cdef class io_uring_bpf_filter:
    """struct io_uring_bpf_filter: a classic BPF program (``filter_ptr``: a sequence of
    (code, jt, jf, k) instructions, or the bytes of a struct sock_filter array, copied) run
    for every SQE of ``opcode``; IO_URING_BPF_FILTER_* ``flags``. ``filter_len`` defaults to
    the number of instructions."""
    cdef _s_bpf_filter f
    cdef _s_sock_filter *insns
    cdef unsigned ninsns

    def __init__(self, opcode=0, flags=0, filter_ptr=None, filter_len=None, pdu_size=0):
        cdef _Buffer b
        cdef list prog
        cdef unsigned i
        memset(&self.f, 0, sizeof(self.f))
        free(self.insns)
        self.insns = NULL
        self.ninsns = 0
        self.f.opcode = <uint32_t>_uint(opcode, 0xFFFFFFFF, "opcode")
        self.f.flags = <uint32_t>_uint(flags, 0xFFFFFFFF, "flags")
        self.f.pdu_size = <uint8_t>_uint(pdu_size, 0xFF, "pdu_size")
        if filter_ptr is not None:
            try:
                b = _Buffer(filter_ptr, False)
            except TypeError:
                b = None
            if b is not None:
                if b.nbytes % sizeof(_s_sock_filter):
                    raise ValueError(f"a struct sock_filter array is a multiple of 8 bytes, not {b.nbytes}")
                self.ninsns = <unsigned>(b.nbytes // sizeof(_s_sock_filter))
                self.insns = <_s_sock_filter *>calloc(self.ninsns if self.ninsns else 1, sizeof(_s_sock_filter))
                if self.insns == NULL:
                    raise MemoryError()
                memcpy(self.insns, b.ptr, b.nbytes)
            else:
                prog = list(filter_ptr)
                self.insns = <_s_sock_filter *>calloc(len(prog) if prog else 1, sizeof(_s_sock_filter))
                if self.insns == NULL:
                    raise MemoryError()
                for i in range(len(prog)):
                    try:
                        code, jt, jf, k = prog[i]
                    except (TypeError, ValueError):
                        raise TypeError(f"instruction {i} must be a (code, jt, jf, k) tuple") from None
                    self.insns[i].code = <uint16_t>_uint(code, 0xFFFF, "code")
                    self.insns[i].jt = <uint8_t>_uint(jt, 0xFF, "jt")
                    self.insns[i].jf = <uint8_t>_uint(jf, 0xFF, "jf")
                    self.insns[i].k = <uint32_t>_uint(k, 0xFFFFFFFF, "k")
                self.ninsns = len(prog)
        self.f.filter_len = _length(self.ninsns, filter_len, "filter_len")
        self.f.filter_ptr = <size_t>self.insns

    def __dealloc__(self):
        free(self.insns)

    @property
    def opcode(self): return self.f.opcode
    @property
    def flags(self): return self.f.flags
    @property
    def filter_len(self): return self.f.filter_len
    @property
    def pdu_size(self): return self.f.pdu_size

    @property
    def filter_ptr(self):
        """The instructions, as (code, jt, jf, k) tuples."""
        return [(self.insns[i].code, self.insns[i].jt, self.insns[i].jf, self.insns[i].k)
                for i in range(self.ninsns)]


@cython.final
cdef class io_uring_bpf:
    """struct io_uring_bpf: a BPF command (``cmd_type`` IO_URING_BPF_CMD_FILTER with its
    ``filter``, an io_uring_bpf_filter)."""
    cdef _s_bpf bpf
    cdef io_uring_bpf_filter _filter

    def __init__(self, cmd_type=IO_URING_BPF_CMD_FILTER, cmd_flags=0, io_uring_bpf_filter filter=None):
        memset(&self.bpf, 0, sizeof(self.bpf))
        self.bpf.cmd_type = <uint16_t>_uint(cmd_type, 0xFFFF, "cmd_type")
        self.bpf.cmd_flags = <uint16_t>_uint(cmd_flags, 0xFFFF, "cmd_flags")
        self._filter = filter
        if filter is not None:
            self.bpf.filter = filter.f

    @property
    def cmd_type(self): return self.bpf.cmd_type
    @property
    def cmd_flags(self): return self.bpf.cmd_flags
    @property
    def filter(self): return self._filter


def io_uring_register_bpf_filter(io_uring ring not None, io_uring_bpf bpf not None):
    """io_uring_register_bpf_filter(3): attach a classic BPF filter to this ring's SQEs of
    bpf.filter.opcode (denied ones complete with -EACCES). Linux 7.0; EINVAL before."""
    cdef int ret
    _reg_begin(ring)
    with nogil:
        ret = ioring_register_bpf_filter(&ring.ring, &bpf.bpf)
    return _reg_end(ring, ret)


def io_uring_register_bpf_filter_task(io_uring_bpf bpf not None):
    """io_uring_register_bpf_filter_task(3): attach a classic BPF filter to the rings this
    task (and its children) create from now on; it cannot be removed. Needs CAP_SYS_ADMIN or
    no_new_privs. Linux 7.0; EINVAL before."""
    cdef int ret
    with nogil:
        ret = ioring_register_bpf_filter_task(&bpf.bpf)
    return _syscall_end(ret)


# ---- queries -----------------------------------------------------------------------------------

@cython.final
cdef class io_uring_query_opcode:
    """struct io_uring_query_opcode: what IO_URING_QUERY_OPCODES reports (counts of request,
    register and query opcodes; feature, setup, enter and SQE flag masks)."""
    cdef _s_query_opcode q

    def __init__(self):
        memset(&self.q, 0, sizeof(self.q))

    @property
    def nr_request_opcodes(self): return self.q.nr_request_opcodes
    @property
    def nr_register_opcodes(self): return self.q.nr_register_opcodes
    @property
    def feature_flags(self): return self.q.feature_flags
    @property
    def ring_setup_flags(self): return self.q.ring_setup_flags
    @property
    def enter_flags(self): return self.q.enter_flags
    @property
    def sqe_flags(self): return self.q.sqe_flags
    @property
    def nr_query_opcodes(self): return self.q.nr_query_opcodes

    def __repr__(self):
        return (f"io_uring_query_opcode(nr_request_opcodes={self.q.nr_request_opcodes}, "
                f"nr_register_opcodes={self.q.nr_register_opcodes}, feature_flags={self.q.feature_flags:#x})")


@cython.final
cdef class io_uring_query_scq:
    """struct io_uring_query_scq: what IO_URING_QUERY_SCQ reports (SQ/CQ ring header size and
    alignment)."""
    cdef _s_query_scq q

    def __init__(self):
        memset(&self.q, 0, sizeof(self.q))

    @property
    def hdr_size(self): return self.q.hdr_size
    @property
    def hdr_alignment(self): return self.q.hdr_alignment


@cython.final
cdef class io_uring_query_hdr:
    """struct io_uring_query_hdr: one query (``query_op`` IO_URING_QUERY_*) whose answer goes
    to ``query_data`` (io_uring_query_opcode, io_uring_query_scq, or any writable buffer),
    ``size`` bytes of it (default: all). ``next_entry`` chains another io_uring_query_hdr.
    The kernel writes ``result`` (0 or -errno for this entry) and the ``size`` it filled;
    like C, a header must have result 0 to be sent again."""
    cdef _s_query_hdr hdr
    cdef object _data_obj
    cdef _Buffer _data_buf
    cdef io_uring_query_hdr _next

    def __init__(self, query_op=0, query_data=None, size=None, io_uring_query_hdr next_entry=None):
        cdef size_t available = 0
        memset(&self.hdr, 0, sizeof(self.hdr))
        self.hdr.query_op = <uint32_t>_uint(query_op, 0xFFFFFFFF, "query_op")
        self._data_obj = query_data
        if isinstance(query_data, io_uring_query_opcode):
            self.hdr.query_data = <size_t>&(<io_uring_query_opcode>query_data).q
            available = sizeof(_s_query_opcode)
        elif isinstance(query_data, io_uring_query_scq):
            self.hdr.query_data = <size_t>&(<io_uring_query_scq>query_data).q
            available = sizeof(_s_query_scq)
        elif query_data is not None:
            self._data_buf = _Buffer(query_data, True)
            self.hdr.query_data = <size_t>self._data_buf.ptr
            available = <size_t>self._data_buf.nbytes
        if size is None:
            self.hdr.size = <uint32_t>available
        else:
            self.hdr.size = <uint32_t>_uint(size, 0xFFFFFFFF, "size")
            if self.hdr.size > available:
                raise ValueError(f"size={size} is larger than query_data ({available} bytes)")
        self.next_entry = next_entry

    @property
    def query_op(self): return self.hdr.query_op
    @property
    def query_data(self): return self._data_obj
    @property
    def size(self): return self.hdr.size
    @property
    def result(self): return self.hdr.result

    @property
    def next_entry(self): return self._next

    @next_entry.setter
    def next_entry(self, io_uring_query_hdr value):
        self._next = value
        self.hdr.next_entry = 0 if value is None else <size_t>&value.hdr

    def __repr__(self):
        return f"io_uring_query_hdr(query_op={self.hdr.query_op}, size={self.hdr.size}, result={self.hdr.result})"


def io_uring_register_query(io_uring_query_hdr query not None):
    """io_uring_register_query(3): ask the kernel (no ring needed) what it supports: every
    header of the ``query`` chain gets its ``result`` and its data filled. Returns 0; a query
    the kernel does not know shows in that header's result (-EOPNOTSUPP)."""
    cdef int ret
    with nogil:
        ret = ioring_register_query(&query.hdr)
    return _syscall_end(ret)


# ---- the probe ---------------------------------------------------------------------------------

def io_uring_register_probe(io_uring ring not None, io_uring_probe probe not None, unsigned nr):
    """io_uring_register_probe(3): fill ``probe`` (a fresh, zeroed io_uring_probe: the kernel
    refuses one already filled, EINVAL) with up to ``nr`` opcodes. Returns 0."""
    cdef int ret
    if nr > <unsigned>c.IORING_PROBE_OPS:
        raise ValueError(f"nr={nr}: an io_uring_probe holds {c.IORING_PROBE_OPS} ops")
    _reg_begin(ring)
    with nogil:
        ret = c.ioring_register_probe(&ring.ring, probe.probe, nr)
    return _reg_end(ring, ret)


# ---- the raw syscalls --------------------------------------------------------------------------

@cython.final
cdef class io_uring_getevents_arg:
    """struct io_uring_getevents_arg, for io_uring_enter2 with IORING_ENTER_EXT_ARG:
    ``sigmask`` (an iterable of signal numbers blocked during the wait, or None),
    ``sigmask_sz`` (default _NSIG/8 with a sigmask), ``min_wait_usec``, ``ts`` (a
    kernel_timespec, kept alive by this object, or None)."""
    cdef _s_getevents_arg arg
    cdef _Sigmask _sigmask
    cdef kernel_timespec _ts
    cdef object _signals

    def __init__(self, sigmask=None, sigmask_sz=None, min_wait_usec=0, kernel_timespec ts=None):
        memset(&self.arg, 0, sizeof(self.arg))
        if sigmask is not None:
            self._signals = tuple(sigmask)
            self._sigmask = _Sigmask(self._signals)
            self.arg.sigmask = <size_t>&self._sigmask.mask
            self.arg.sigmask_sz = c.IORING_SIGSET_BYTES
        if sigmask_sz is not None:
            self.arg.sigmask_sz = <uint32_t>_uint(sigmask_sz, c.IORING_SIGSET_BYTES, "sigmask_sz")
        self.arg.min_wait_usec = <uint32_t>_uint(min_wait_usec, 0xFFFFFFFF, "min_wait_usec")
        self._ts = ts
        if ts is not None:
            self.arg.ts = <size_t>&ts.ts

    @property
    def sigmask(self): return self._signals
    @property
    def sigmask_sz(self): return self.arg.sigmask_sz
    @property
    def min_wait_usec(self): return self.arg.min_wait_usec
    @property
    def ts(self): return self._ts

    def __repr__(self):
        return (f"io_uring_getevents_arg(sigmask={self._signals}, min_wait_usec={self.arg.min_wait_usec}, "
                f"ts={self._ts!r})")


def io_uring_setup(unsigned entries, io_uring_params p not None):
    """io_uring_setup(2): create a ring (the kernel fills ``p``); returns its file descriptor,
    which the caller owns (os.close it, or hand it to io_uring_queue_mmap)."""
    return _check_ret(ioring_sys_setup(entries, &p.p))


def io_uring_enter(fd, unsigned to_submit, unsigned min_complete, unsigned flags, sig=None):
    """io_uring_enter(2): the raw syscall (GIL released); ``sig`` is an iterable of signal
    numbers blocked while waiting, or None. Returns how many SQEs were consumed. It only
    submits what io_uring_submit* published; prefer those on an io_uring object."""
    cdef unsigned ufd = _fd_arg(fd)
    cdef _Sigmask m = None if sig is None else _Sigmask(sig)
    cdef sigset_t *mask = NULL if m is None else &m.mask
    cdef int ret
    with nogil:
        ret = ioring_sys_enter(<int>ufd, to_submit, min_complete, flags, mask)
    return _syscall_end(ret)


def io_uring_enter2(fd, unsigned to_submit, unsigned min_complete, unsigned flags, arg=None, sz=None):
    """io_uring_enter2(2): io_uring_enter with an argument of ``sz`` bytes. ``arg``: None; an
    iterable of signal numbers (a sigset, without IORING_ENTER_EXT_ARG); an
    io_uring_getevents_arg (with IORING_ENTER_EXT_ARG); or, with IORING_ENTER_EXT_ARG_REG,
    an int: the byte offset of a struct io_uring_reg_wait in the registered wait region.
    ``sz`` None means the size of what ``arg`` is (0, _NSIG/8, 24 or 64)."""
    cdef unsigned ufd = _fd_arg(fd)
    cdef void *p = NULL
    cdef size_t size = 0, maximum = 0
    cdef _Sigmask m = None
    cdef io_uring_getevents_arg ga
    cdef int ret
    if arg is None:
        pass
    elif isinstance(arg, io_uring_getevents_arg):
        if not (flags & _c_IORING_ENTER_EXT_ARG) or (flags & _c_IORING_ENTER_EXT_ARG_REG):
            raise ValueError("an io_uring_getevents_arg needs IORING_ENTER_EXT_ARG (without _REG) in flags")
        ga = <io_uring_getevents_arg>arg
        p = &ga.arg
        maximum = sizeof(_s_getevents_arg)
    elif isinstance(arg, int):
        if not (flags & _c_IORING_ENTER_EXT_ARG_REG):
            raise TypeError("an int arg is a registered wait region offset: it needs IORING_ENTER_EXT_ARG_REG")
        p = <void *><size_t>_uint(arg, 0xFFFFFFFF, "arg")
        maximum = sizeof(_s_reg_wait)
    else:
        if flags & _c_IORING_ENTER_EXT_ARG:
            raise TypeError("with IORING_ENTER_EXT_ARG, arg must be an io_uring_getevents_arg "
                            "(or an int with IORING_ENTER_EXT_ARG_REG)")
        m = _Sigmask(arg)
        p = &m.mask
        maximum = c.IORING_SIGSET_BYTES
    if sz is None:
        size = maximum
    else:
        size = <size_t>_uint(sz, 0xFFFFFFFFFFFFFFFF, "sz")
        if arg is not None and not isinstance(arg, int) and size > maximum:
            raise ValueError(f"sz={sz} is larger than arg ({maximum} bytes)")
    with nogil:
        ret = ioring_sys_enter2(<int>ufd, to_submit, min_complete, flags, p, size)
    return _syscall_end(ret)


# The typed function to use for the opcodes the raw io_uring_register refuses.
_RAW_REGISTER_USE = {
    _c_IORING_REGISTER_BUFFERS: "io_uring_register_buffers",
    _c_IORING_REGISTER_FILES_UPDATE: "io_uring_register_files_update",
    _c_IORING_REGISTER_FILES2: "io_uring_register_files_tags / io_uring_register_files_sparse",
    _c_IORING_REGISTER_FILES_UPDATE2: "io_uring_register_files_update_tag",
    _c_IORING_REGISTER_BUFFERS2: "io_uring_register_buffers_tags / io_uring_register_buffers_sparse",
    _c_IORING_REGISTER_BUFFERS_UPDATE: "io_uring_register_buffers_update_tag",
    _c_IORING_REGISTER_PBUF_RING: "io_uring_register_buf_ring / io_uring_setup_buf_ring",
    _c_IORING_UNREGISTER_PBUF_RING: "io_uring_unregister_buf_ring / io_uring_free_buf_ring",
    _c_IORING_REGISTER_CLONE_BUFFERS: "io_uring_clone_buffers / io_uring_clone_buffers_offset",
    _c_IORING_REGISTER_ZCRX_IFQ: "io_uring_register_ifq",
    _c_IORING_REGISTER_RESIZE_RINGS: "io_uring_resize_rings",
    _c_IORING_REGISTER_MEM_REGION: "io_uring_register_region",
    _c_IORING_REGISTER_QUERY: "io_uring_register_query",
    _c_IORING_REGISTER_BPF_FILTER: "io_uring_register_bpf_filter / io_uring_register_bpf_filter_task",
}


def io_uring_register(fd, unsigned opcode, arg, unsigned nr_args):
    """io_uring_register(2): the raw syscall (GIL released) on ring ``fd`` (-1 for the
    opcodes that need no ring). ``arg`` is None (NULL) or a writable buffer whose bytes are
    passed, and which the kernel may write into; it is held only for the call.

    The buffer must hold what the kernel reads or writes for ``opcode`` and ``nr_args``
    (sizeof(struct io_uring_probe) + nr_args * 8 for IORING_REGISTER_PROBE, nr_args ints for
    IORING_REGISTER_FILES, ...): ValueError otherwise. Opcodes whose argument carries pointers
    the kernel follows or keeps (iovecs, fd arrays, buffer rings, regions, query chains, BPF
    programs), or that change what an io_uring object tracks (cloned buffers, buffer rings,
    resized rings), are refused with ValueError naming the typed function that pins the memory;
    so are opcodes this module does not know. IORING_REGISTER_SEND_MSG_RING is announced to
    the target ring like io_uring_register_sync_msg. An io_uring object does not learn what was
    registered behind its back (read_fixed validation keeps using what the io_uring_register_*
    functions recorded)."""
    cdef unsigned ufd = _fd_arg(fd)
    cdef long long need = ioring_raw_register_arg_size(opcode, nr_args)
    cdef unsigned base = opcode & ~(<unsigned>_c_IORING_REGISTER_USE_REGISTERED_RING)
    if need == IORING_RAW_REGISTER_UNKNOWN:
        raise ValueError(f"io_uring_register: unknown opcode {opcode}: what the kernel would do "
                         "with arg cannot be checked")
    if need == IORING_RAW_REGISTER_POINTERS:
        raise ValueError(f"io_uring_register: opcode {base} passes pointers the kernel follows or "
                         f"keeps (or changes what an io_uring tracks): use "
                         f"{_RAW_REGISTER_USE.get(base, 'the typed io_uring_register_* function')}")
    cdef _Buffer b = None if arg is None else _Buffer(arg, True)
    cdef void *p = NULL if b is None else <void *>b.ptr
    cdef int ret
    if b is not None and b.nbytes < need:
        raise ValueError(f"io_uring_register: opcode {base} with nr_args={nr_args} uses {need} "
                         f"bytes of arg; the buffer has {b.nbytes}")
    if base == _c_IORING_REGISTER_SEND_MSG_RING and b is not None:
        _announce_sync_msg(<const c.io_uring_sqe *>p)
    with nogil:
        ret = ioring_sys_register(<int>ufd, opcode, p, nr_args)
    return _syscall_end(ret)
