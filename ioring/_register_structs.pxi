# The kernel structs the io_uring_register_* calls and io_uring_enter2 take, as small Python
# types: io_uring_restriction, io_uring_sync_cancel_reg, io_uring_napi, io_uring_clock_register,
# io_uring_region_desc, io_uring_mem_region_reg, the zcrx structs, io_uring_bpf(_filter), the
# query structs and io_uring_getevents_arg. Included by liburing.pyx.
from libc.string cimport memcpy


IO_URING_BPF_FILTER_DENY_REST = c._c_IO_URING_BPF_FILTER_DENY_REST
IO_URING_BPF_FILTER_SZ_STRICT = c._c_IO_URING_BPF_FILTER_SZ_STRICT
IO_URING_BPF_CMD_FILTER = c._c_IO_URING_BPF_CMD_FILTER


@cython.final
cdef class io_uring_restriction:
    """struct io_uring_restriction: ``opcode`` is IORING_RESTRICTION_*; the second field is a
    C union, named register_op, sqe_op or sqe_flags after what the opcode restricts."""

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


@cython.final
cdef class io_uring_sync_cancel_reg:
    """struct io_uring_sync_cancel_reg: what to cancel (``addr`` = user_data, or ``fd`` with
    IORING_ASYNC_CANCEL_FD, ``opcode`` with IORING_ASYNC_CANCEL_OP...), IORING_ASYNC_CANCEL_*
    ``flags``, and how long to wait (``timeout``; kernel_timespec(-1, -1) = forever)."""
    # The timeout as an object of its own, returned by the getter each time, so that
    # reg.timeout.tv_sec = 200 sticks as it does in C; copied into reg when registering.

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


@cython.final
cdef class io_uring_napi:
    """struct io_uring_napi: busy-poll settings (``busy_poll_to`` microseconds,
    ``prefer_busy_poll``; ``opcode`` IO_URING_NAPI_* with ``op_param``). The kernel writes the
    previous settings back into it."""

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


@cython.final
cdef class io_uring_clock_register:
    """struct io_uring_clock_register: the clock of the ring's waits (``clockid``:
    CLOCK_MONOTONIC or CLOCK_BOOTTIME, as time.CLOCK_*)."""

    def __init__(self, clockid=0):
        memset(&self.reg, 0, sizeof(self.reg))
        self.clockid = clockid

    @property
    def clockid(self): return self.reg.clockid
    @clockid.setter
    def clockid(self, v): self.reg.clockid = <uint32_t>_uint(v, 0xFFFFFFFF, "clockid")

    def __repr__(self):
        return f"io_uring_clock_register(clockid={self.reg.clockid})"


@cython.final
cdef class io_uring_region_desc:
    """struct io_uring_region_desc: a memory region. ``user_addr``: a writable page-aligned
    buffer (e.g. an mmap; with IORING_MEM_REGION_TYPE_USER in ``flags``), pinned by this
    object, or None for kernel-allocated memory, whose mmap offset on the ring fd the kernel
    writes into ``mmap_offset``. ``size`` defaults to the buffer's length."""

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


@cython.final
cdef class io_uring_zcrx_offsets:
    """struct io_uring_zcrx_offsets: where the refill queue's head, tail and entries are in
    the region (filled by the kernel)."""

    def __repr__(self):
        return f"io_uring_zcrx_offsets(head={self.head}, tail={self.tail}, rqes={self.rqes})"


@cython.final
cdef class io_uring_zcrx_area_reg:
    """struct io_uring_zcrx_area_reg: the memory received data lands in. ``addr``: a
    writable buffer (pinned by this object), or with IORING_ZCRX_AREA_DMABUF in ``flags`` an
    offset into ``dmabuf_fd``. The kernel writes ``rq_area_token``."""

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


@cython.final
cdef class zcrx_ctrl:
    """struct zcrx_ctrl: an operation (``op``: ZCRX_CTRL_FLUSH_RQ, ZCRX_CTRL_EXPORT) on
    zero-copy receive queue ``zcrx_id``; EXPORT writes a file descriptor into ``zcrx_fd``
    (zc_export.zcrx_fd)."""

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


@cython.final
cdef class io_uring_bpf_filter:
    """struct io_uring_bpf_filter: a classic BPF program (``filter_ptr``: a sequence of
    (code, jt, jf, k) instructions, or the bytes of a struct sock_filter array, copied) run
    for every SQE of ``opcode``; IO_URING_BPF_FILTER_* ``flags``. ``filter_len`` defaults to
    the number of instructions."""

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
                if b.nbytes % sizeof(c._s_sock_filter):
                    raise ValueError(f"a struct sock_filter array is a multiple of 8 bytes, not {b.nbytes}")
                self.ninsns = <unsigned>(b.nbytes // sizeof(c._s_sock_filter))
                self.insns = <c._s_sock_filter *>calloc(self.ninsns if self.ninsns else 1, sizeof(c._s_sock_filter))
                if self.insns == NULL:
                    raise MemoryError()
                memcpy(self.insns, b.ptr, b.nbytes)
            else:
                prog = list(filter_ptr)
                self.insns = <c._s_sock_filter *>calloc(len(prog) if prog else 1, sizeof(c._s_sock_filter))
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


@cython.final
cdef class io_uring_query_opcode:
    """struct io_uring_query_opcode: what IO_URING_QUERY_OPCODES reports (counts of request,
    register and query opcodes; feature, setup, enter and SQE flag masks)."""

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

    def __init__(self, query_op=0, query_data=None, size=None, io_uring_query_hdr next_entry=None):
        cdef size_t available = 0
        memset(&self.hdr, 0, sizeof(self.hdr))
        self.hdr.query_op = <uint32_t>_uint(query_op, 0xFFFFFFFF, "query_op")
        self._data_obj = query_data
        if isinstance(query_data, io_uring_query_opcode):
            self.hdr.query_data = <size_t>&(<io_uring_query_opcode>query_data).q
            available = sizeof(c._s_query_opcode)
        elif isinstance(query_data, io_uring_query_scq):
            self.hdr.query_data = <size_t>&(<io_uring_query_scq>query_data).q
            available = sizeof(c._s_query_scq)
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


@cython.final
cdef class io_uring_getevents_arg:
    """struct io_uring_getevents_arg, for io_uring_enter2 with IORING_ENTER_EXT_ARG:
    ``sigmask`` (an iterable of signal numbers blocked during the wait, or None),
    ``sigmask_sz`` (default _NSIG/8 with a sigmask), ``min_wait_usec``, ``ts`` (a
    kernel_timespec, kept alive by this object, or None)."""

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
