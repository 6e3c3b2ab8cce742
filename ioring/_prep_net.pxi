# io_uring_prep_* of the net group: included by liburing.pyx (conventions as in _prep.pxi).
#
# Sockets, accept/connect, the send/recv variants, msg_ring, uring_cmd passthrough, and the
# helpers that parse a multishot recvmsg buffer. The C structs the kernel reads or fills
# (struct sockaddr_storage, struct msghdr) are embedded in small Python types, so that pinning
# the Python object pins the memory the kernel uses.
from libc.string cimport memcpy

from ioring.includes.socket cimport *
from ioring.includes.prep_net cimport *
from ioring.includes.abi cimport io_uring_recvmsg_out as c_recvmsg_out

BLOCK_URING_CMD_DISCARD = _c_BLOCK_URING_CMD_DISCARD
BLOCK_URING_CMD_ZONE_RESET_ALL = _c_BLOCK_URING_CMD_ZONE_RESET_ALL

cdef size_t _SS_SIZE = sizeof(c_sockaddr_storage)
cdef size_t _SUN_PATH_OFF = _c_sun_path_off
cdef size_t _RECVMSG_OUT_SIZE = sizeof(c_recvmsg_out)


# ---- struct sockaddr ---------------------------------------------------------------------------

cdef int _in_addr(object host, int family, void *dst) except -1:
    """A numeric host (str or bytes) into an in_addr / in6_addr; '' is the wildcard address."""
    if isinstance(host, str):
        raw = host.encode("ascii", "strict") if host.isascii() else None
    elif isinstance(host, bytes):
        raw = host
    else:
        raise TypeError(f"the host must be str or bytes, not {type(host).__name__}")
    if raw is None or b"\0" in raw:
        raise ValueError(f"invalid {'IPv4' if family == _c_AF_INET else 'IPv6'} address {host!r}")
    if family == _c_AF_INET:
        if raw == b"":
            (<c_in_addr *>dst).s_addr = htonl(_c_INADDR_ANY)
            return 0
        if raw == b"<broadcast>":
            (<c_in_addr *>dst).s_addr = htonl(_c_INADDR_BROADCAST)
            return 0
    elif raw == b"":
        memset(dst, 0, sizeof(c_in6_addr))
        return 0
    if inet_pton(family, raw, dst) != 1:
        raise ValueError(f"{host!r} is not a numeric {'IPv4' if family == _c_AF_INET else 'IPv6'} "
                         "address (ioring does no name resolution)")
    return 0


cdef unsigned _port(object port) except? 0xFFFFFFFF:
    return <unsigned>_ranged(port, 0, 0xFFFF, "port", "must be 0-65535")


@cython.final
cdef class sockaddr:
    """A socket address (struct sockaddr_storage and its socklen_t), built from a Python socket
    address like the socket module's:

    - ``sockaddr(AF_INET, (host, port))`` and ``sockaddr(AF_INET6, (host, port[, flowinfo[,
      scope_id]]))`` with numeric hosts ('' is the wildcard address);
    - ``sockaddr(AF_UNIX, path)`` (str or bytes; a leading NUL is Linux's abstract namespace);
    - ``sockaddr()``: empty, for the kernel to fill (accept, recvmsg, getsockname).

    ``addrlen`` is the length of the address; prepping an accept or getsockname sets it to the
    capacity, and the kernel writes the actual length there (the object is pinned meanwhile)."""

    def __cinit__(self):
        memset(&self.ss, 0, sizeof(self.ss))
        self._len = <socklen_t>_SS_SIZE

    def __init__(self, family=None, address=None):
        cdef c_sockaddr_storage ss
        cdef socklen_t addrlen
        cdef c_sockaddr_in *sin = <c_sockaddr_in *>&ss
        cdef c_sockaddr_in6 *sin6 = <c_sockaddr_in6 *>&ss
        cdef c_sockaddr_un *sun = <c_sockaddr_un *>&ss
        cdef bytes path
        memset(&ss, 0, sizeof(ss))
        if family is None:
            if address is not None:
                raise TypeError("sockaddr(): an address needs a family")
            addrlen = <socklen_t>_SS_SIZE
        elif not isinstance(family, int):
            raise TypeError(f"the family must be an int (AF_*), not {type(family).__name__}")
        elif family == _c_AF_INET:
            if not isinstance(address, tuple) or len(address) != 2:
                raise TypeError("AF_INET address must be a (host, port) tuple")
            _in_addr(address[0], _c_AF_INET, &sin.sin_addr)
            sin.sin_port = htons(<uint16_t>_port(address[1]))
            sin.sin_family = _c_AF_INET
            addrlen = sizeof(c_sockaddr_in)
        elif family == _c_AF_INET6:
            if not isinstance(address, tuple) or not 2 <= len(address) <= 4:
                raise TypeError("AF_INET6 address must be a (host, port[, flowinfo[, scope_id]]) tuple")
            flowinfo = address[2] if len(address) > 2 else 0
            scope_id = address[3] if len(address) > 3 else 0
            if not isinstance(flowinfo, int) or not 0 <= flowinfo <= 0xFFFFF:
                raise ValueError(f"flowinfo must be 0-1048575, not {flowinfo!r}")
            if not isinstance(scope_id, int) or not 0 <= scope_id <= 0xFFFFFFFF:
                raise ValueError(f"scope_id must be a 32-bit unsigned int, not {scope_id!r}")
            _in_addr(address[0], _c_AF_INET6, &sin6.sin6_addr)
            sin6.sin6_port = htons(<uint16_t>_port(address[1]))
            sin6.sin6_flowinfo = htonl(<uint32_t>flowinfo)
            sin6.sin6_scope_id = <uint32_t>scope_id
            sin6.sin6_family = _c_AF_INET6
            addrlen = sizeof(c_sockaddr_in6)
        elif family == _c_AF_UNIX:
            if isinstance(address, str):
                path = os.fsencode(address)
            elif isinstance(address, (bytes, bytearray, memoryview)):
                path = bytes(address)
            else:
                raise TypeError(f"AF_UNIX address must be str or bytes, not {type(address).__name__}")
            abstract = len(path) > 0 and path[0] == 0
            if <size_t>len(path) > (sizeof(sun.sun_path) if abstract else sizeof(sun.sun_path) - 1):
                raise ValueError(f"AF_UNIX path too long ({len(path)} bytes)")
            if not abstract and b"\0" in path:
                raise ValueError("embedded null byte in AF_UNIX path")
            memcpy(sun.sun_path, PyBytes_AS_STRING(path), len(path))
            sun.sun_family = _c_AF_UNIX
            addrlen = <socklen_t>(_SUN_PATH_OFF + len(path))
        else:
            raise ValueError(f"unsupported address family {family} (AF_INET, AF_INET6, AF_UNIX; "
                             "sockaddr.from_bytes takes any other)")
        self.ss = ss
        self._len = addrlen

    @staticmethod
    def from_bytes(data):
        """A sockaddr holding the raw struct bytes ``data`` (e.g. io_uring_recvmsg_name's)."""
        cdef _Buffer b = _Buffer(data, False)
        cdef sockaddr sa = sockaddr.__new__(sockaddr)
        if b.nbytes < <Py_ssize_t>sizeof(unsigned short) or <size_t>b.nbytes > _SS_SIZE:
            raise ValueError(f"a struct sockaddr is 2..{_SS_SIZE} bytes, not {b.nbytes}")
        memcpy(&sa.ss, b.ptr, b.nbytes)
        sa._len = <socklen_t>b.nbytes
        return sa

    @property
    def family(self):
        """ss_family (AF_UNSPEC while empty)."""
        return self.ss.ss_family

    @property
    def addrlen(self):
        """The address length (the kernel's answer after an accept or getsockname)."""
        return self._len

    def to_python(self):
        """The address as the socket module gives it: (host, port) for AF_INET, (host, port,
        flowinfo, scope_id) for AF_INET6, the path for AF_UNIX (bytes when abstract), None when
        empty, and (family, raw bytes) for any other family."""
        cdef c_sockaddr_in *sin = <c_sockaddr_in *>&self.ss
        cdef c_sockaddr_in6 *sin6 = <c_sockaddr_in6 *>&self.ss
        cdef c_sockaddr_un *sun = <c_sockaddr_un *>&self.ss
        cdef char text[64]
        cdef size_t n = min(<size_t>self._len, _SS_SIZE)
        cdef size_t plen
        family = self.ss.ss_family
        if family == _c_AF_UNSPEC:
            return None
        if family == _c_AF_INET:
            inet_ntop(_c_AF_INET, &sin.sin_addr, text, sizeof(text))
            return ((<char *>text).decode("ascii"), ntohs(sin.sin_port))
        if family == _c_AF_INET6:
            inet_ntop(_c_AF_INET6, &sin6.sin6_addr, text, sizeof(text))
            return ((<char *>text).decode("ascii"), ntohs(sin6.sin6_port), ntohl(sin6.sin6_flowinfo),
                    sin6.sin6_scope_id)
        if family == _c_AF_UNIX:
            plen = n - _SUN_PATH_OFF if n > _SUN_PATH_OFF else 0
            if plen > sizeof(sun.sun_path):
                plen = sizeof(sun.sun_path)
            if plen > 0 and sun.sun_path[0] == 0:
                return PyBytes_FromStringAndSize(sun.sun_path, plen)
            raw = PyBytes_FromStringAndSize(sun.sun_path, plen).split(b"\0", 1)[0]
            return os.fsdecode(raw)
        return (family, PyBytes_FromStringAndSize(<char *>&self.ss, n))

    def __bytes__(self):
        return PyBytes_FromStringAndSize(<char *>&self.ss, min(<size_t>self._len, _SS_SIZE))

    def __repr__(self):
        if self.ss.ss_family == _c_AF_UNSPEC:
            return "sockaddr()"
        return f"sockaddr({self.ss.ss_family}, {self.to_python()!r})"


cdef socklen_t _socklen(sockaddr addr, object addrlen, str name) except? 0xFFFFFFFF:
    """The length handed to the kernel with ``addr``: addr.addrlen by default, at most the
    storage behind it."""
    if addrlen is None:
        return addr._len
    if not isinstance(addrlen, int):
        raise TypeError(f"{name} must be an int or None, not {type(addrlen).__name__}")
    if addrlen < 0 or addrlen > <long long>_SS_SIZE:
        raise ValueError(f"{name}={addrlen} is outside 0..{_SS_SIZE} (sizeof(struct sockaddr_storage))")
    return <socklen_t>addrlen


cdef c_sockaddr *_out_addr(sockaddr addr, object addrlen, socklen_t *cap, str name) except? NULL:
    """For accept/getsockname: the address the kernel fills and the capacity to write into
    addr.addrlen (C's in-out socklen_t) once the SQE is being encoded."""
    if addr is None:
        if addrlen is not None and addrlen != 0:
            raise ValueError(f"{name} needs an address to fill")
        cap[0] = 0
        return NULL
    cap[0] = <socklen_t>_SS_SIZE if addrlen is None else _socklen(addr, addrlen, name)
    return <c_sockaddr *>&addr.ss


cdef sockaddr _as_sockaddr(object obj, str name):
    if obj is None or isinstance(obj, sockaddr):
        return <sockaddr>obj
    raise TypeError(f"{name} must be a sockaddr (or None), not {type(obj).__name__}")


# ---- struct msghdr -----------------------------------------------------------------------------

@cython.final
cdef class msghdr:
    """struct msghdr for sendmsg/recvmsg, with everything it points to pinned:

    ``msghdr(msg_name=None, msg_iov=None, msg_control=None, msg_flags=0)``: ``msg_name`` is a
    sockaddr (an empty ``sockaddr()`` for the kernel to fill) or None, ``msg_iov`` a sequence
    of buffers (writable ones for a recvmsg), ``msg_control`` a buffer or None. The kernel
    writes msg_namelen, msg_controllen and msg_flags back after a recvmsg. The buffers are
    fixed at construction (they may be in flight); the lengths can be set, within them."""

    def __cinit__(self):
        memset(&self.hdr, 0, sizeof(self.hdr))
        self._iovecs = NULL
        self._iov_objs = ()
        self._iov_bufs = []
        self._iov_writable = True
        self._control_writable = True

    def __init__(self, msg_name=None, msg_iov=None, msg_control=None, int msg_flags=0):
        cdef sockaddr name = _as_sockaddr(msg_name, "msg_name")
        cdef list objs = [] if msg_iov is None else list(msg_iov)
        cdef list bufs = []
        cdef _Buffer b, control = None
        cdef bint iov_writable = True, control_writable = True
        cdef iovec *vecs = NULL
        cdef Py_ssize_t i
        if self._ready:
            raise TypeError("a msghdr is initialized once (it may be in flight)")
        for obj in objs:
            b, w = _any_buffer(obj)
            bufs.append(b)
            iov_writable = iov_writable and w
        if msg_control is not None:
            control, control_writable = _any_buffer(msg_control)
        if objs:
            vecs = <iovec *>calloc(len(objs), sizeof(iovec))
            if vecs == NULL:
                raise MemoryError()
            for i in range(len(objs)):
                b = bufs[i]
                vecs[i].iov_base = b.ptr
                vecs[i].iov_len = <size_t>b.nbytes
        self._ready = True
        self._iovecs = vecs
        self._name = name
        self._iov_objs = tuple(objs)
        self._iov_bufs = bufs
        self._iov_writable = iov_writable
        self._control_obj = msg_control
        self._control = control
        self._control_writable = control_writable
        self.hdr.msg_name = NULL if name is None else <void *>&name.ss
        self.hdr.msg_namelen = 0 if name is None else name._len
        self.hdr.msg_iov = vecs
        self.hdr.msg_iovlen = len(objs)
        self.hdr.msg_control = NULL if control is None else <void *>control.ptr
        self.hdr.msg_controllen = 0 if control is None else <size_t>control.nbytes
        self.hdr.msg_flags = msg_flags

    def __dealloc__(self):
        free(self._iovecs)
        self._iovecs = NULL

    @property
    def msg_name(self):
        """The sockaddr (its addrlen follows msg_namelen as the kernel wrote it) or None."""
        if self._name is not None and self.hdr.msg_namelen <= _SS_SIZE:
            self._name._len = self.hdr.msg_namelen
        return self._name

    @property
    def msg_namelen(self):
        return self.hdr.msg_namelen

    @msg_namelen.setter
    def msg_namelen(self, value):
        # Without msg_name the kernel never writes a name through it; a multishot recvmsg only
        # uses the length to lay out its buffers.
        self.hdr.msg_namelen = <socklen_t>_ranged(value, 0, _SS_SIZE, "msg_namelen", f"must be 0..{_SS_SIZE}")

    @property
    def msg_iov(self):
        """The buffers, as given."""
        return self._iov_objs

    @property
    def msg_iovlen(self):
        return self.hdr.msg_iovlen

    @property
    def msg_control(self):
        return self._control_obj

    @property
    def msg_controllen(self):
        return self.hdr.msg_controllen

    @msg_controllen.setter
    def msg_controllen(self, value):
        # At most the control buffer; without one, any length (the kernel then lays out the
        # control messages of a multishot recvmsg in its provided buffers, or fails with EFAULT).
        cdef long long limit = self._control.nbytes if self._control is not None else 0x7FFFFFFF
        self.hdr.msg_controllen = <size_t>_ranged(value, 0, limit, "msg_controllen", f"must be 0..{limit}")

    @property
    def msg_flags(self):
        return self.hdr.msg_flags

    @msg_flags.setter
    def msg_flags(self, int value):
        self.hdr.msg_flags = value

    def __repr__(self):
        return (f"msghdr(msg_name={self._name!r}, msg_namelen={self.hdr.msg_namelen}, "
                f"msg_iovlen={self.hdr.msg_iovlen}, msg_controllen={self.hdr.msg_controllen}, "
                f"msg_flags={self.hdr.msg_flags:#x})")


cdef tuple _any_buffer(object obj):
    """(pinned buffer, writable?): writable when the object allows it."""
    try:
        return (_Buffer(obj, True), True)
    except TypeError:
        return (_Buffer(obj, False), False)


cdef int _check_recv_msghdr(msghdr msg) except -1:
    if not msg._iov_writable:
        raise TypeError("recvmsg needs writable msg_iov buffers")
    if msg._control is not None and not msg._control_writable:
        raise TypeError("recvmsg needs a writable msg_control buffer")
    return 0


# ---- sockets -----------------------------------------------------------------------------------

def io_uring_prep_socket(io_uring_sqe sqe not None, int domain, int type, int protocol, unsigned flags=0):
    """io_uring_prep_socket(3): create a socket; cqe.res is the new fd (``flags`` must be 0)."""
    ioring_prep_socket(sqe._begin(), domain, type, protocol, flags)


def io_uring_prep_socket_direct(io_uring_sqe sqe not None, int domain, int type, int protocol,
                                unsigned file_index, unsigned flags=0):
    """io_uring_prep_socket_direct(3): create the socket in registered-file slot
    ``file_index`` (IORING_FILE_INDEX_ALLOC: a free slot, given in cqe.res)."""
    ioring_prep_socket_direct(sqe._begin(), domain, type, protocol, file_index, flags)


def io_uring_prep_socket_direct_alloc(io_uring_sqe sqe not None, int domain, int type, int protocol,
                                      unsigned flags=0):
    """io_uring_prep_socket_direct_alloc(3): create the socket in a free registered-file slot;
    cqe.res is the slot."""
    ioring_prep_socket_direct_alloc(sqe._begin(), domain, type, protocol, flags)


def io_uring_prep_connect(io_uring_sqe sqe not None, int fd, sockaddr addr not None, addrlen=None):
    """io_uring_prep_connect(3): connect ``fd`` to ``addr`` (``addrlen`` defaults to
    addr.addrlen)."""
    sqe._pin(door_prep_connect(sqe, NULL, fd, addr, addrlen))


cdef object door_prep_connect(io_uring_sqe sqe, c.io_uring_sqe *s, int fd, sockaddr addr, object addrlen):
    """(The door's, _prep.pxi.)"""
    cdef socklen_t n = _socklen(addr, addrlen, "addrlen")
    ioring_prep_connect(_target(sqe, s), fd, <c_sockaddr *>&addr.ss, n)
    return addr


def io_uring_prep_bind(io_uring_sqe sqe not None, int fd, sockaddr addr not None, addrlen=None):
    """io_uring_prep_bind(3): bind ``fd`` to ``addr`` (``addrlen`` defaults to addr.addrlen)."""
    cdef socklen_t n = _socklen(addr, addrlen, "addrlen")
    ioring_prep_bind(sqe._begin(), fd, <c_sockaddr *>&addr.ss, n)
    sqe._pin(addr)


def io_uring_prep_listen(io_uring_sqe sqe not None, int fd, int backlog):
    """io_uring_prep_listen(3)."""
    ioring_prep_listen(sqe._begin(), fd, backlog)


def io_uring_prep_shutdown(io_uring_sqe sqe not None, int fd, int how):
    """io_uring_prep_shutdown(3): ``how`` is SHUT_RD, SHUT_WR or SHUT_RDWR."""
    ioring_prep_shutdown(sqe._begin(), fd, how)


# ---- accept ------------------------------------------------------------------------------------

def io_uring_prep_accept(io_uring_sqe sqe not None, int fd, addr=None, addrlen=None, int flags=0):
    """io_uring_prep_accept(3): cqe.res is the new fd. ``addr`` is an empty ``sockaddr()`` (or
    None) that the kernel fills with the peer's address; ``addrlen`` is the capacity (default:
    all of it; C's in-out socklen_t is addr.addrlen, the actual length after the completion)."""
    cdef sockaddr sa = _as_sockaddr(addr, "addr")
    cdef socklen_t cap
    cdef c_sockaddr *p = _out_addr(sa, addrlen, &cap, "addrlen")
    cdef c.io_uring_sqe *s = sqe._begin()
    if sa is not None:
        sa._len = cap
    ioring_prep_accept(s, fd, p, NULL if sa is None else &sa._len, flags)
    sqe._pin(sa)


def io_uring_prep_accept_direct(io_uring_sqe sqe not None, int fd, addr, addrlen, int flags,
                                unsigned file_index):
    """io_uring_prep_accept_direct(3): as io_uring_prep_accept, into registered-file slot
    ``file_index`` (IORING_FILE_INDEX_ALLOC: a free slot, given in cqe.res)."""
    cdef sockaddr sa = _as_sockaddr(addr, "addr")
    cdef socklen_t cap
    cdef c_sockaddr *p = _out_addr(sa, addrlen, &cap, "addrlen")
    cdef c.io_uring_sqe *s = sqe._begin()
    if sa is not None:
        sa._len = cap
    ioring_prep_accept_direct(s, fd, p, NULL if sa is None else &sa._len, flags, file_index)
    sqe._pin(sa)


def io_uring_prep_multishot_accept(io_uring_sqe sqe not None, int fd, addr=None, addrlen=None,
                                   int flags=0):
    """io_uring_prep_multishot_accept(3): one CQE per connection (IORING_CQE_F_MORE while the
    request stays armed); ``addr``, if given, is overwritten by each accept."""
    cdef sockaddr sa = _as_sockaddr(addr, "addr")
    cdef socklen_t cap
    cdef c_sockaddr *p = _out_addr(sa, addrlen, &cap, "addrlen")
    cdef c.io_uring_sqe *s = sqe._begin()
    if sa is not None:
        sa._len = cap
    ioring_prep_multishot_accept(s, fd, p, NULL if sa is None else &sa._len, flags)
    sqe._pin(sa)


def io_uring_prep_multishot_accept_direct(io_uring_sqe sqe not None, int fd, addr=None, addrlen=None,
                                          int flags=0):
    """io_uring_prep_multishot_accept_direct(3): multishot accept into free registered-file
    slots; each cqe.res is a slot."""
    cdef sockaddr sa = _as_sockaddr(addr, "addr")
    cdef socklen_t cap
    cdef c_sockaddr *p = _out_addr(sa, addrlen, &cap, "addrlen")
    cdef c.io_uring_sqe *s = sqe._begin()
    if sa is not None:
        sa._len = cap
    ioring_prep_multishot_accept_direct(s, fd, p, NULL if sa is None else &sa._len, flags)
    sqe._pin(sa)


# ---- send --------------------------------------------------------------------------------------

def io_uring_prep_sendto(io_uring_sqe sqe not None, int sockfd, buf, long long len, int flags,
                         addr, addrlen=None):
    """io_uring_prep_sendto(3): send ``len`` bytes of ``buf`` to ``addr`` (a sockaddr, or None
    for a connected socket)."""
    cdef _Buffer b = _buffer_for(buf, len, False)
    cdef sockaddr sa = _as_sockaddr(addr, "addr")
    cdef socklen_t n = 0
    if sa is not None:
        n = _socklen(sa, addrlen, "addrlen")
    elif addrlen is not None and addrlen != 0:
        raise ValueError("addrlen needs an addr")
    ioring_prep_sendto(sqe._begin(), sockfd, b.ptr, <size_t>len, flags,
                       NULL if sa is None else <c_sockaddr *>&sa.ss, n)
    sqe._pin((b, sa))


def io_uring_prep_send_set_addr(io_uring_sqe sqe not None, sockaddr dest_addr not None, addr_len=None):
    """io_uring_prep_send_set_addr(3): give a send already prepared on ``sqe`` a destination
    (``addr_len`` defaults to dest_addr.addrlen)."""
    cdef socklen_t n = _socklen(dest_addr, addr_len, "addr_len")
    cdef c.io_uring_sqe *s = sqe._ptr()
    cdef c.io_uring_sqe cand = s[0]
    ioring_prep_send_set_addr(&cand, <c_sockaddr *>&dest_addr.ss, <uint16_t>n)
    _sqe_commit(sqe, s, &cand, dest_addr)       # only where addr2 is a send's destination


def io_uring_prep_send_bundle(io_uring_sqe sqe not None, int sockfd, long long len, int flags=0):
    """io_uring_prep_send_bundle(3): send from several provided buffers at once (set
    IOSQE_BUFFER_SELECT and the group with io_uring_sqe_set_buf_group); ``len`` 0: no limit."""
    cdef unsigned n = _u32(len, "len")
    ioring_prep_send_bundle(sqe._begin(), sockfd, n, flags)


cdef object _send_zc_source(io_uring_sqe sqe, object buf, long long len, unsigned *zc_flags,
                            int buf_index):
    """What a zero-copy send sends: a buffer (``len`` bytes), or with a sequence of buffers the
    iovec array of a vectorized send (IORING_SEND_VECTORIZED added to ``zc_flags``; with
    ``buf_index`` >= 0 each buffer must lie inside that registered buffer)."""
    if zc_flags[0] > 0xFFFF:
        raise ValueError(f"zc_flags are 16 bits (sqe->ioprio), not {zc_flags[0]:#x}")
    if isinstance(buf, (list, tuple)):
        zc_flags[0] |= <unsigned>_c_IORING_SEND_VECTORIZED
        if buf_index >= 0:
            if len < 1:
                raise ValueError(f"a vectorized send needs at least one iovec, not len={len}")
            return _fixed_iovecs(sqe, buf, len, False, buf_index)
        return _send_iovecs(buf, len)
    if zc_flags[0] & <unsigned>_c_IORING_SEND_VECTORIZED:
        raise TypeError("IORING_SEND_VECTORIZED sends an iovec array: buf must be a sequence of "
                        f"buffers, not {type(buf).__name__}")
    cdef _Buffer b = _buffer_for(buf, len, False)
    if buf_index >= 0:
        sqe.ring._check_fixed(b.ptr, len, buf_index)
    return b


cdef inline void *_send_ptr(object src):
    return (<_Iovecs>src).vecs if isinstance(src, _Iovecs) else (<_Buffer>src).ptr


cdef inline size_t _send_len(object src, long long len):
    return <size_t>(<_Iovecs>src).count if isinstance(src, _Iovecs) else <size_t>len


def io_uring_prep_send_zc(io_uring_sqe sqe not None, int sockfd, buf, long long len, int flags=0,
                          unsigned zc_flags=0):
    """io_uring_prep_send_zc(3): zero-copy send. Two CQEs: the result (IORING_CQE_F_MORE),
    then the notification (IORING_CQE_F_NOTIF) once the kernel no longer uses ``buf``, which
    stays pinned until then. ``buf`` a sequence of buffers: a vectorized send of its first
    ``len`` buffers (IORING_SEND_VECTORIZED is added to ``zc_flags``)."""
    src = _send_zc_source(sqe, buf, len, &zc_flags, -1)
    ioring_prep_send_zc(sqe._begin(), sockfd, _send_ptr(src), _send_len(src, len), flags, zc_flags)
    sqe._pin(src)


def io_uring_prep_send_zc_fixed(io_uring_sqe sqe not None, int sockfd, buf, long long len, int flags,
                                unsigned zc_flags, unsigned buf_index):
    """io_uring_prep_send_zc_fixed(3): io_uring_prep_send_zc from inside registered buffer
    ``buf_index`` (``buf`` a memoryview slice of it, for instance, or a sequence of such slices
    for a vectorized send)."""
    if buf_index > 0xFFFF:
        raise ValueError(f"buf_index is 16 bits, not {buf_index}")
    src = _send_zc_source(sqe, buf, len, &zc_flags, <int>buf_index)
    ioring_prep_send_zc_fixed(sqe._begin(), sockfd, _send_ptr(src), _send_len(src, len), flags,
                              zc_flags, buf_index)
    sqe._pin(src)


def io_uring_prep_sendmsg(io_uring_sqe sqe not None, int fd, msghdr msg not None, unsigned flags=0):
    """io_uring_prep_sendmsg(3): ``msg`` is a msghdr (pinned with its buffers)."""
    ioring_prep_sendmsg(sqe._begin(), fd, &msg.hdr, flags)
    sqe._pin(msg)


def io_uring_prep_sendmsg_zc(io_uring_sqe sqe not None, int fd, msghdr msg not None, unsigned flags=0):
    """io_uring_prep_sendmsg_zc(3): zero-copy sendmsg (result CQE, then a notification CQE)."""
    ioring_prep_sendmsg_zc(sqe._begin(), fd, &msg.hdr, flags)
    sqe._pin(msg)


def io_uring_prep_sendmsg_zc_fixed(io_uring_sqe sqe not None, int fd, msghdr msg not None,
                                   unsigned flags, unsigned buf_index):
    """io_uring_prep_sendmsg_zc_fixed(3): io_uring_prep_sendmsg_zc whose msg_iov buffers all
    lie inside registered buffer ``buf_index``."""
    cdef _Buffer b
    if buf_index > 0xFFFF:
        raise ValueError(f"buf_index is 16 bits, not {buf_index}")
    for b in msg._iov_bufs:
        sqe.ring._check_fixed(b.ptr, <size_t>b.nbytes, <int>buf_index)
    ioring_prep_sendmsg_zc_fixed(sqe._begin(), fd, &msg.hdr, flags, buf_index)
    sqe._pin(msg)


# ---- receive -----------------------------------------------------------------------------------

def io_uring_prep_recv_multishot(io_uring_sqe sqe not None, int sockfd, buf, long long len, int flags=0):
    """io_uring_prep_recv_multishot(3): receive into provided buffers (IOSQE_BUFFER_SELECT and
    io_uring_sqe_set_buf_group), one CQE per receive while IORING_CQE_F_MORE is set. ``buf`` is
    normally None (``len``: a per-receive limit, 0 for none)."""
    cdef _Buffer b = None
    if buf is None:
        _u32(len, "len")
    else:
        b = _buffer_for(buf, len, True)
    ioring_prep_recv_multishot(sqe._begin(), sockfd, NULL if b is None else <void *>b.ptr,
                               <size_t>len, flags)
    sqe._pin(b)


def io_uring_prep_recvmsg(io_uring_sqe sqe not None, int fd, msghdr msg not None, unsigned flags=0):
    """io_uring_prep_recvmsg(3): ``msg`` is a msghdr over writable buffers; the kernel fills
    them, the name and the control buffer, and writes the lengths and flags back into it."""
    _check_recv_msghdr(msg)
    ioring_prep_recvmsg(sqe._begin(), fd, &msg.hdr, flags)
    sqe._pin(msg)


def io_uring_prep_recvmsg_multishot(io_uring_sqe sqe not None, int fd, msghdr msg not None,
                                    unsigned flags=0):
    """io_uring_prep_recvmsg_multishot(3): each CQE's provided buffer holds an
    io_uring_recvmsg_out header, msg.msg_namelen bytes of name, msg.msg_controllen bytes of
    control messages and the payload: parse it with io_uring_recvmsg_validate and friends."""
    _check_recv_msghdr(msg)
    ioring_prep_recvmsg_multishot(sqe._begin(), fd, &msg.hdr, flags)
    sqe._pin(msg)


# ---- the buffer of a multishot recvmsg ---------------------------------------------------------
# Offsets into a memoryview rather than C pointers: the header's lengths come from the buffer,
# so every step is checked against the buffer's end before anything is read there (liburing's
# C nexthdr reads the next cmsghdr before checking it against the real end).

@cython.final
cdef class io_uring_recvmsg_out:
    """struct io_uring_recvmsg_out at the start of a multishot recvmsg buffer (see
    io_uring_recvmsg_validate); fields read from the buffer."""

    cdef c_recvmsg_out *_out(self) except NULL:
        # Made directly from Python (not by io_uring_recvmsg_validate): there is no buffer.
        if self._buf is None:
            raise ValueError("this io_uring_recvmsg_out was not made by io_uring_recvmsg_validate: "
                             "it has no buffer")
        return <c_recvmsg_out *>self._buf.ptr

    @property
    def namelen(self): return self._out().namelen
    @property
    def controllen(self): return self._out().controllen
    @property
    def payloadlen(self): return self._out().payloadlen
    @property
    def flags(self): return self._out().flags

    def __repr__(self):
        o = self._out()
        return (f"io_uring_recvmsg_out(namelen={o.namelen}, controllen={o.controllen}, "
                f"payloadlen={o.payloadlen}, flags={o.flags:#x})")


@cython.final
cdef class cmsghdr:
    """A control message inside a multishot recvmsg buffer: cmsg_len, cmsg_level, cmsg_type
    and cmsg_data (a zero-copy memoryview of CMSG_DATA, cut to the buffer)."""

    cdef c_cmsghdr *_hdr(self) except NULL:
        # Made directly from Python (not by io_uring_recvmsg_cmsg_firsthdr/nexthdr): no buffer.
        if self._o is None or self._o._buf is None:
            raise ValueError("this cmsghdr was not made by io_uring_recvmsg_cmsg_firsthdr/nexthdr: "
                             "it has no buffer")
        return <c_cmsghdr *>(self._o._buf.ptr + self._off)

    @property
    def cmsg_len(self): return self._hdr().cmsg_len
    @property
    def cmsg_level(self): return self._hdr().cmsg_level
    @property
    def cmsg_type(self): return self._hdr().cmsg_type

    @property
    def cmsg_data(self):
        cdef size_t hdr = IORING_CMSG_ALIGN(sizeof(c_cmsghdr))
        cdef size_t length = self._hdr().cmsg_len
        cdef size_t start = <size_t>self._off + hdr
        if length < hdr:
            return self._o._view[0:0]
        # Slicing cuts it to the buffer.
        return self._o._view[start:start + (length - hdr)]

    def __repr__(self):
        h = self._hdr()
        return f"cmsghdr(cmsg_len={h.cmsg_len}, cmsg_level={h.cmsg_level}, cmsg_type={h.cmsg_type})"


cdef cmsghdr _cmsg_at(io_uring_recvmsg_out o, size_t off):
    """The cmsghdr at ``off``, or None when its header would not fit in the buffer."""
    cdef cmsghdr m
    if off + sizeof(c_cmsghdr) > <size_t>o._len:
        return None
    m = cmsghdr.__new__(cmsghdr)
    m._o = o
    m._off = <Py_ssize_t>off
    return m


def io_uring_recvmsg_validate(buf, int buf_len, msghdr msgh not None):
    """io_uring_recvmsg_validate(3): the io_uring_recvmsg_out at the start of ``buf`` (the
    provided buffer of a multishot recvmsg CQE, ``buf_len`` = cqe.res), or None when
    ``buf_len`` cannot hold the header, msgh.msg_namelen and msgh.msg_controllen."""
    cdef _Buffer b = _Buffer(buf, False)
    cdef io_uring_recvmsg_out o
    if buf_len > b.nbytes:
        raise ValueError(f"buf_len={buf_len} is larger than the buffer ({b.nbytes} bytes)")
    if ioring_recvmsg_validate(b.ptr, buf_len, &msgh.hdr) == NULL:
        return None
    o = io_uring_recvmsg_out.__new__(io_uring_recvmsg_out)
    o._buf = b
    view = memoryview(buf)
    if view.ndim != 1 or view.format != "B":
        view = view.cast("B")
    o._view = view[:buf_len]
    o._len = buf_len
    o._namecap = msgh.hdr.msg_namelen
    return o


def io_uring_recvmsg_name(io_uring_recvmsg_out o not None):
    """io_uring_recvmsg_name(3): the source address the kernel wrote (o.namelen bytes, cut to
    the msg_namelen it was validated with), as a memoryview; sockaddr.from_bytes() turns it
    into a sockaddr."""
    cdef size_t start = _RECVMSG_OUT_SIZE
    return o._view[start:start + min(<size_t>o._out().namelen, o._namecap)]


def io_uring_recvmsg_payload(io_uring_recvmsg_out o not None, msghdr msgh not None):
    """io_uring_recvmsg_payload(3): the payload, a memoryview from after the name and control
    areas to the end of the buffer (buf_len)."""
    cdef size_t start = _RECVMSG_OUT_SIZE + msgh.hdr.msg_namelen + msgh.hdr.msg_controllen
    o._out()        # raises for one made directly from Python
    return o._view[start:]


def io_uring_recvmsg_payload_length(io_uring_recvmsg_out o not None, int buf_len, msghdr msgh not None):
    """io_uring_recvmsg_payload_length(3): bytes of payload in a ``buf_len``-byte buffer."""
    cdef long long start = (_RECVMSG_OUT_SIZE + <long long>msgh.hdr.msg_namelen
                            + <long long>msgh.hdr.msg_controllen)
    if buf_len < 0 or start >= buf_len:
        return 0
    return buf_len - start


def io_uring_recvmsg_cmsg_firsthdr(io_uring_recvmsg_out o not None, msghdr msgh not None):
    """io_uring_recvmsg_cmsg_firsthdr(3): the first control message (a cmsghdr), or None."""
    if o._out().controllen < sizeof(c_cmsghdr):
        return None
    return _cmsg_at(o, _RECVMSG_OUT_SIZE + msgh.hdr.msg_namelen)


def io_uring_recvmsg_cmsg_nexthdr(io_uring_recvmsg_out o not None, msghdr msgh not None,
                                  cmsghdr cmsg not None):
    """io_uring_recvmsg_cmsg_nexthdr(3): the control message after ``cmsg``, or None."""
    cdef size_t first, end, off, clen
    if cmsg._o is not o:
        raise ValueError("cmsg does not belong to this io_uring_recvmsg_out")
    clen = cmsg._hdr().cmsg_len
    if clen < sizeof(c_cmsghdr):
        return None
    first = _RECVMSG_OUT_SIZE + msgh.hdr.msg_namelen
    end = first + o._out().controllen
    off = <size_t>cmsg._off + IORING_CMSG_ALIGN(clen)
    if off < <size_t>cmsg._off or off + sizeof(c_cmsghdr) > end:
        return None
    m = _cmsg_at(o, off)
    if m is None or off + IORING_CMSG_ALIGN((<cmsghdr>m)._hdr().cmsg_len) > end:
        return None
    return m


# ---- msg_ring ----------------------------------------------------------------------------------

cdef int _msg_ring_announce(io_uring_sqe sqe, int fd, uint64_t data) except -1:
    """A ring SQE will post a CQE with ``data`` to the ring ``fd`` is: tell that ring. A
    free-standing SQE is never submitted; io_uring_register_sync_msg announces what it sends."""
    if sqe._own == NULL:
        _expect_foreign_cqe(fd, data)
    return 0


def io_uring_prep_msg_ring(io_uring_sqe sqe not None, int fd, unsigned len, uint64_t data,
                           unsigned flags=0):
    """io_uring_prep_msg_ring(3): post a CQE (user_data ``data``, res ``len``) to the ring
    whose fd is ``fd``."""
    ioring_prep_msg_ring(sqe._begin(), fd, len, data, flags)
    _msg_ring_announce(sqe, fd, data)


def io_uring_prep_msg_ring_cqe_flags(io_uring_sqe sqe not None, int fd, unsigned len, uint64_t data,
                                     unsigned flags, unsigned cqe_flags):
    """io_uring_prep_msg_ring_cqe_flags(3): as io_uring_prep_msg_ring, the target CQE's flags
    being ``cqe_flags``."""
    ioring_prep_msg_ring_cqe_flags(sqe._begin(), fd, len, data, flags, cqe_flags)
    _msg_ring_announce(sqe, fd, data)


cdef int _target_slot(object target_fd) except? -2:
    """A target slot: 0..2**32-2, or IORING_FILE_INDEX_ALLOC (C's (unsigned)-1, so -1 too)."""
    target_fd = _index(target_fd, "target_fd")
    if target_fd == -1 or target_fd == _c_IORING_FILE_INDEX_ALLOC:
        return -1
    return <int><unsigned>_ranged(target_fd, 0, 0xFFFFFFFF, "target_fd",
                                  "must be a slot index or IORING_FILE_INDEX_ALLOC")


def io_uring_prep_msg_ring_fd(io_uring_sqe sqe not None, int fd, int source_fd, target_fd,
                              uint64_t data, unsigned flags=0):
    """io_uring_prep_msg_ring_fd(3): install this ring's registered file ``source_fd`` into
    slot ``target_fd`` (IORING_FILE_INDEX_ALLOC: a free one) of the ring whose fd is ``fd``."""
    cdef int slot = _target_slot(target_fd)
    ioring_prep_msg_ring_fd(sqe._begin(), fd, source_fd, slot, data, flags)
    _msg_ring_announce(sqe, fd, data)


def io_uring_prep_msg_ring_fd_alloc(io_uring_sqe sqe not None, int fd, int source_fd, uint64_t data,
                                    unsigned flags=0):
    """io_uring_prep_msg_ring_fd_alloc(3): io_uring_prep_msg_ring_fd into a free slot."""
    ioring_prep_msg_ring_fd_alloc(sqe._begin(), fd, source_fd, data, flags)
    _msg_ring_announce(sqe, fd, data)


# ---- uring_cmd ---------------------------------------------------------------------------------

cdef int _cmd_op(object cmd_op) except? -1:
    """C's int cmd_op, which the SQE stores as __u32: -2**31..2**32-1."""
    cmd_op = _ranged(cmd_op, -0x80000000, 0xFFFFFFFF, "cmd_op", "must fit in 32 bits")
    return <int><uint32_t>(cmd_op & 0xFFFFFFFF)


def io_uring_prep_uring_cmd(io_uring_sqe sqe not None, cmd_op, int fd):
    """io_uring_prep_uring_cmd(3): a passthrough command ``cmd_op`` to ``fd``'s driver."""
    cdef int op = _cmd_op(cmd_op)
    ioring_prep_uring_cmd(sqe._begin(), op, fd)


def io_uring_prep_uring_cmd128(io_uring_sqe sqe not None, cmd_op, int fd):
    """io_uring_prep_uring_cmd128(3): io_uring_prep_uring_cmd with a 128-byte SQE
    (IORING_OP_URING_CMD128; the ring must be IORING_SETUP_SQE128: SQE_MIXED's two-slot
    SQEs are not implemented, and in a 64-byte slot the kernel would read the next SQE as
    payload)."""
    cdef int op = _cmd_op(cmd_op)
    _require_sqe128(sqe, "io_uring_prep_uring_cmd128")
    ioring_prep_uring_cmd128(sqe._begin(), op, fd)


def io_uring_prep_cmd_sock(io_uring_sqe sqe not None, int cmd_op, int fd, int level, int optname,
                           optval, int optlen):
    """io_uring_prep_cmd_sock(3): SOCKET_URING_OP_SIOCINQ/SIOCOUTQ (``optval`` None, cqe.res is
    the byte count), GETSOCKOPT (the kernel writes ``optval``, cqe.res is the length) or
    SETSOCKOPT (reads ``optlen`` bytes of ``optval``)."""
    cdef _Buffer b = None
    if optval is None:
        if optlen != 0:
            raise ValueError("optlen needs an optval buffer")
    else:
        b = _buffer_for(optval, optlen, cmd_op != _c_SOCKET_URING_OP_SETSOCKOPT)
    ioring_prep_cmd_sock(sqe._begin(), cmd_op, fd, level, optname,
                         NULL if b is None else <void *>b.ptr, optlen)
    sqe._pin(b)


cdef _prep_getsockname(io_uring_sqe sqe, int fd, object addr, object addr_len, int peer):
    cdef sockaddr sa = _as_sockaddr(addr, "sockaddr")
    cdef socklen_t cap
    if sa is None:
        raise TypeError("sockaddr must be a sockaddr to fill, not None")
    _out_addr(sa, addr_len, &cap, "sockaddr_len")
    cdef c.io_uring_sqe *s = sqe._begin()
    sa._len = cap
    ioring_prep_cmd_getsockname(s, fd, <c_sockaddr *>&sa.ss, &sa._len, peer)
    sqe._pin(sa)


def io_uring_prep_cmd_getsockname(io_uring_sqe sqe not None, int fd, sockaddr, sockaddr_len=None,
                                  int peer=0):
    """io_uring_prep_cmd_getsockname(3): the kernel fills the empty ``sockaddr`` with ``fd``'s
    local address (its peer's when ``peer`` is 1); sockaddr.addrlen is then the length."""
    _prep_getsockname(sqe, fd, sockaddr, sockaddr_len, peer)


def io_uring_prep_cmd_discard(io_uring_sqe sqe not None, int fd, uint64_t offset, uint64_t nbytes):
    """io_uring_prep_cmd_discard(3): discard ``nbytes`` at ``offset`` of block device ``fd``
    (BLOCK_URING_CMD_DISCARD, Linux 6.12)."""
    ioring_prep_cmd_discard(sqe._begin(), fd, offset, nbytes)


def io_uring_prep_cmd_zone_reset_all(io_uring_sqe sqe not None, int fd):
    """io_uring_prep_cmd_zone_reset_all(3): reset every sequential-write-required zone of the
    zoned block device ``fd`` (BLOCK_URING_CMD_ZONE_RESET_ALL; liburing 2.16-dev, Linux 7.x)."""
    ioring_prep_cmd_zone_reset_all(sqe._begin(), fd)
