# The raw syscalls io_uring_setup(2), io_uring_enter(2)/enter2 and io_uring_register(2), for
# programs that drive a ring fd themselves. Included by liburing.pyx.


def io_uring_setup(unsigned entries, io_uring_params p not None):
    """io_uring_setup(2): create a ring (the kernel fills ``p``); returns its file descriptor,
    which the caller owns (os.close it, or hand it to io_uring_queue_mmap)."""
    return _check_ret(c.ioring_sys_setup(entries, &p.p))


def io_uring_enter(fd, unsigned to_submit, unsigned min_complete, unsigned flags, sig=None):
    """io_uring_enter(2): the raw syscall (GIL released); ``sig`` is an iterable of signal
    numbers blocked while waiting, or None. Returns how many SQEs were consumed. It only
    submits what io_uring_submit* published; prefer those on an io_uring object."""
    cdef unsigned ufd = _fd_arg(fd)
    cdef _Sigmask m = None if sig is None else _Sigmask(sig)
    cdef sigset_t *mask = NULL if m is None else &m.mask
    cdef int ret
    with nogil:
        ret = c.ioring_sys_enter(<int>ufd, to_submit, min_complete, flags, mask)
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
        maximum = sizeof(c._s_getevents_arg)
    elif isinstance(arg, int):
        if not (flags & _c_IORING_ENTER_EXT_ARG_REG):
            raise TypeError("an int arg is a registered wait region offset: it needs IORING_ENTER_EXT_ARG_REG")
        p = <void *><size_t>_uint(arg, 0xFFFFFFFF, "arg")
        maximum = sizeof(c._s_reg_wait)
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
        ret = c.ioring_sys_enter2(<int>ufd, to_submit, min_complete, flags, p, size)
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
    cdef long long need = c.ioring_raw_register_arg_size(opcode, nr_args)
    cdef unsigned base = opcode & ~(<unsigned>_c_IORING_REGISTER_USE_REGISTERED_RING)
    if need == c.IORING_RAW_REGISTER_UNKNOWN:
        raise ValueError(f"io_uring_register: unknown opcode {opcode}: what the kernel would do "
                         "with arg cannot be checked")
    if need == c.IORING_RAW_REGISTER_POINTERS:
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
        ret = c.ioring_sys_register(<int>ufd, opcode, p, nr_args)
    return _syscall_end(ret)
