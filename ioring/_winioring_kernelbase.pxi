# The KernelBase backend of ioring.winioring (included by winioring.pyx): each IoRing function of
# KernelBase.dll, resolved at run time through include/ioring/winioring_kernelbase.h (Windows:
# WINIORING_KERNELBASE == 1). On Linux the dispatch table starts empty (every call is E_NOTIMPL, as on
# a Windows 10), and tests fill it with a fake KernelBase (tests/c/win/fake_kernelbase.c).
#
# Windows matches a CQE with its entry only by UserData: the objects an entry pinned are released
# when the last unpopped entry with the same userData is popped. Windows' CloseIoRing neither waits
# nor cancels: the pins of entries still outstanding then, and the registration tables, are kept
# alive forever (_kb_leaked).

ctypedef void (*_C_FN)()

cdef extern from "ioring/winioring_kernelbase.h" nogil:
    enum: WINIORING_KERNELBASE
    ctypedef int32_t HRESULT
    ctypedef void *HANDLE
    ctypedef void *_C_HIORING "HIORING"
    ctypedef struct _C_CQE "IORING_CQE":
        uintptr_t UserData
        int ResultCode
        uintptr_t Information
    ctypedef struct _C_CAPS "IORING_CAPABILITIES":
        int MaxVersion
        uint32_t MaxSubmissionQueueSize
        uint32_t MaxCompletionQueueSize
        int FeatureFlags
    ctypedef struct _C_CREATE_FLAGS "IORING_CREATE_FLAGS":
        int Required
        int Advisory
    ctypedef struct _C_INFO "IORING_INFO":
        int IoRingVersion
        _C_CREATE_FLAGS Flags
        uint32_t SubmissionQueueSize
        uint32_t CompletionQueueSize
    union _C_HandleUnion "HandleUnion":
        HANDLE Handle
        uint32_t Index
    ctypedef struct _C_HANDLE_REF "IORING_HANDLE_REF":
        int Kind
        _C_HandleUnion Handle
    ctypedef struct _C_REGISTERED_BUFFER "IORING_REGISTERED_BUFFER":
        uint32_t BufferIndex
        uint32_t Offset
    union _C_BufferUnion "BufferUnion":
        void *Address
        _C_REGISTERED_BUFFER IndexAndOffset
    ctypedef struct _C_BUFFER_REF "IORING_BUFFER_REF":
        int Kind
        _C_BufferUnion Buffer
    ctypedef struct _C_BUFFER_INFO "IORING_BUFFER_INFO":
        void *Address
        uint32_t Length
    ctypedef union _C_SEGMENT "FILE_SEGMENT_ELEMENT":
        void *Buffer
        uint64_t Alignment
    int winioring_kb_load()
    int winioring_kb_has(const char *name)
    int winioring_kb_set(const char *name, _C_FN fn)
    HRESULT ioring_win_QueryIoRingCapabilities(_C_CAPS *capabilities)
    int ioring_win_IsIoRingOpSupported(_C_HIORING ioRing, int op)
    HRESULT ioring_win_CreateIoRing(int ioringVersion, _C_CREATE_FLAGS flags, uint32_t submissionQueueSize,
                                    uint32_t completionQueueSize, _C_HIORING *h)
    HRESULT ioring_win_GetIoRingInfo(_C_HIORING ioRing, _C_INFO *info)
    HRESULT ioring_win_SubmitIoRing(_C_HIORING ioRing, uint32_t waitOperations, uint32_t milliseconds,
                                    uint32_t *submittedEntries)
    HRESULT ioring_win_CloseIoRing(_C_HIORING ioRing)
    HRESULT ioring_win_PopIoRingCompletion(_C_HIORING ioRing, _C_CQE *cqe)
    HRESULT ioring_win_SetIoRingCompletionEvent(_C_HIORING ioRing, HANDLE hEvent)
    HRESULT ioring_win_BuildIoRingCancelRequest(_C_HIORING ioRing, _C_HANDLE_REF file, uintptr_t opToCancel,
                                                uintptr_t userData)
    HRESULT ioring_win_BuildIoRingReadFile(_C_HIORING ioRing, _C_HANDLE_REF fileRef, _C_BUFFER_REF dataRef,
                                           uint32_t numberOfBytesToRead, uint64_t fileOffset, uintptr_t userData,
                                           int sqeFlags)
    HRESULT ioring_win_BuildIoRingRegisterFileHandles(_C_HIORING ioRing, uint32_t count, HANDLE *handles,
                                                      uintptr_t userData)
    HRESULT ioring_win_BuildIoRingRegisterBuffers(_C_HIORING ioRing, uint32_t count, _C_BUFFER_INFO *buffers,
                                                  uintptr_t userData)
    HRESULT ioring_win_BuildIoRingWriteFile(_C_HIORING ioRing, _C_HANDLE_REF fileRef, _C_BUFFER_REF bufferRef,
                                            uint32_t numberOfBytesToWrite, uint64_t fileOffset, int writeFlags,
                                            uintptr_t userData, int sqeFlags)
    HRESULT ioring_win_BuildIoRingFlushFile(_C_HIORING ioRing, _C_HANDLE_REF fileRef, int flushMode,
                                            uintptr_t userData, int sqeFlags)
    HRESULT ioring_win_BuildIoRingReadFileScatter(_C_HIORING ioRing, _C_HANDLE_REF fileRef, uint32_t segmentCount,
                                                  _C_SEGMENT *segmentArray, uint32_t numberOfBytesToRead,
                                                  uint64_t fileOffset, uintptr_t userData, int sqeFlags)
    HRESULT ioring_win_BuildIoRingWriteFileGather(_C_HIORING ioRing, _C_HANDLE_REF fileRef, uint32_t segmentCount,
                                                  _C_SEGMENT *segmentArray, uint32_t numberOfBytesToWrite,
                                                  uint64_t fileOffset, int writeFlags, uintptr_t userData,
                                                  int sqeFlags)


winioring_kb_load()

cdef list _kb_leaked = []       # (pins of entries outstanding, registration tables) of closed rings


cdef _kb_fail(HRESULT hr, str function):
    cdef uint32_t u = <uint32_t>hr
    if u == E_NOTIMPL and not winioring_kb_has(function.encode()):
        raise IoRingError(u, f"IoRing is unavailable: KernelBase.dll has no {function} (IoRing needs "
                             "Windows 11 / Server 2022, build 22000, or later; write/flush need 22H2, "
                             "scatter/gather 24H2)")
    raise IoRingError(u, function)


cdef uintptr_t _uptr(uint64_t v, str name) except? 0:
    """UINT_PTR: 32 bits on x86 Windows."""
    if sizeof(uintptr_t) < 8 and v > 0xFFFFFFFF:
        raise ValueError(f"{name}={v} does not fit in UINT_PTR")
    return <uintptr_t>v


cdef _C_HANDLE_REF _c_file(_Entry *e):
    cdef _C_HANDLE_REF r
    memset(&r, 0, sizeof(r))
    r.Kind = e.file_kind
    if e.file_kind == 0:
        r.Handle.Handle = <HANDLE>e.handle
    else:
        r.Handle.Index = e.file_index
    return r


cdef _C_BUFFER_REF _c_buffer(_Entry *e):
    cdef _C_BUFFER_REF r
    memset(&r, 0, sizeof(r))
    r.Kind = e.buf_kind
    if e.buf_kind == 0:
        r.Buffer.Address = e.addr
    else:
        r.Buffer.IndexAndOffset.BufferIndex = e.buf_index
        r.Buffer.IndexAndOffset.Offset = e.buf_offset
    return r


@cython.final
cdef class _CArray:
    """A C array handed to KernelBase (buffer infos, handles, segments), alive until the CQE."""
    cdef void *p

    def __dealloc__(self):
        free(self.p)


cdef _CArray _c_array(size_t n, size_t size):
    cdef _CArray a = _CArray.__new__(_CArray)
    a.p = calloc(n if n else 1, size)
    if a.p == NULL:
        raise MemoryError()
    return a


cdef tuple _kb_capabilities():
    cdef _C_CAPS caps
    cdef HRESULT hr
    memset(&caps, 0, sizeof(caps))
    hr = ioring_win_QueryIoRingCapabilities(&caps)
    if hr < 0:
        _kb_fail(hr, "QueryIoRingCapabilities")
    return (<uint32_t>caps.MaxVersion, caps.MaxSubmissionQueueSize, caps.MaxCompletionQueueSize,
            <uint32_t>caps.FeatureFlags)


cdef _KernelBaseRing _kb_create(uint32_t version, uint32_t required, uint32_t advisory, uint32_t sq, uint32_t cq):
    cdef _C_CREATE_FLAGS cf
    cdef _C_HIORING native = NULL
    cdef HRESULT hr
    cdef _KernelBaseRing r
    cf.Required = required
    cf.Advisory = advisory
    with nogil:
        hr = ioring_win_CreateIoRing(version, cf, sq, cq, &native)
    if hr < 0:
        _kb_fail(hr, "CreateIoRing")
    r = _KernelBaseRing.__new__(_KernelBaseRing)
    r.native = native
    r.open = True
    r.version, r.required, r.advisory = version, required, advisory
    r.pending = {}
    r.kept = []
    r.lock = _threading.RLock()
    return r


cdef int _kb_install(object functions) except -1:
    for name, address in functions.items():
        if winioring_kb_set(name.encode(), <_C_FN><uintptr_t>(address or 0)) < 0:
            raise ValueError(f"{name!r} is not an IoRing function of the dispatch table")
    return 0


cdef Py_ssize_t _kb_leaked_count():
    return len(_kb_leaked)


@cython.final
cdef class _KernelBaseRing(_Backend):
    """A ring created by KernelBase's CreateIoRing."""
    cdef _C_HIORING native
    cdef object event            # the completion event HANDLE object given
    cdef dict pending            # userData -> [entries not yet popped, [their pins]]
    cdef list kept               # registration tables (pinned until CloseIoRing)

    def __del__(self):
        if self.open:
            self.close()

    def __repr__(self):
        if not self.open:
            return "<HIORING closed>"
        return f"<HIORING version={self.version} KernelBase>"

    cdef int refuse_op(self, uint32_t op) except -1:
        return 0                 # Windows' builders decide

    cdef bint supports(self, uint32_t op):
        return ioring_win_IsIoRingOpSupported(self.native, <int>op) != 0

    cdef int info(self, _Info *out) except -1:
        cdef _C_INFO info
        cdef HRESULT hr
        memset(&info, 0, sizeof(info))
        hr = ioring_win_GetIoRingInfo(self.native, &info)
        if hr < 0:
            _kb_fail(hr, "GetIoRingInfo")
        out.version = <uint32_t>info.IoRingVersion
        out.required = <uint32_t>info.Flags.Required
        out.advisory = <uint32_t>info.Flags.Advisory
        out.sq_size = info.SubmissionQueueSize
        out.cq_size = info.CompletionQueueSize
        return 0

    cdef int build(self, _Entry *e, object pins) except -1:
        cdef HRESULT hr
        cdef uintptr_t ud, target = 0
        cdef uint32_t i, n = e.length
        cdef _CArray arr = None
        cdef _Segments segs
        cdef str function
        if e.op == _OP_CANCEL:
            target = _uptr(e.target, "opToCancel")
        ud = _uptr(e.user_data, "userData")
        if e.op in (_OP_SCATTER, _OP_GATHER):
            segs = <_Segments>pins[1]
            arr = _c_array(segs.count, sizeof(_C_SEGMENT))
            for i in range(segs.count):
                (<_C_SEGMENT *>arr.p)[i].Buffer = segs.segs[i].base
        elif e.op == _OP_REG_BUFS:
            arr = _c_array(n, sizeof(_C_BUFFER_INFO))
            for i in range(n):
                if pins[i] is not None:
                    (<_C_BUFFER_INFO *>arr.p)[i].Address = (<_Buffer>pins[i][0]).ptr
                    (<_C_BUFFER_INFO *>arr.p)[i].Length = pins[i][1]
        elif e.op == _OP_REG_FILES:
            arr = _c_array(n, sizeof(HANDLE))
            for i in range(n):
                (<HANDLE *>arr.p)[i] = <HANDLE><intptr_t>pins[i][0]
        with self.lock:
            self.check()
            if e.op == _OP_READ:
                function = "BuildIoRingReadFile"
                hr = ioring_win_BuildIoRingReadFile(self.native, _c_file(e), _c_buffer(e), e.length, e.offset, ud,
                                                    e.flags)
            elif e.op == _OP_WRITE:
                function = "BuildIoRingWriteFile"
                hr = ioring_win_BuildIoRingWriteFile(self.native, _c_file(e), _c_buffer(e), e.length, e.offset,
                                                     e.xflags, ud, e.flags)
            elif e.op == _OP_FLUSH:
                function = "BuildIoRingFlushFile"
                hr = ioring_win_BuildIoRingFlushFile(self.native, _c_file(e), e.xflags, ud, e.flags)
            elif e.op == _OP_SCATTER:
                function = "BuildIoRingReadFileScatter"
                hr = ioring_win_BuildIoRingReadFileScatter(self.native, _c_file(e), segs.count,
                                                           <_C_SEGMENT *>arr.p, e.length, e.offset, ud, e.flags)
            elif e.op == _OP_GATHER:
                function = "BuildIoRingWriteFileGather"
                hr = ioring_win_BuildIoRingWriteFileGather(self.native, _c_file(e), segs.count,
                                                           <_C_SEGMENT *>arr.p, e.length, e.offset, e.xflags,
                                                           ud, e.flags)
            elif e.op == _OP_CANCEL:
                function = "BuildIoRingCancelRequest"
                hr = ioring_win_BuildIoRingCancelRequest(self.native, _c_file(e), target, ud)
            elif e.op == _OP_REG_BUFS:
                function = "BuildIoRingRegisterBuffers"
                hr = ioring_win_BuildIoRingRegisterBuffers(self.native, n, <_C_BUFFER_INFO *>arr.p if n else NULL,
                                                           ud)
            else:
                function = "BuildIoRingRegisterFileHandles"
                hr = ioring_win_BuildIoRingRegisterFileHandles(self.native, n, <HANDLE *>arr.p if n else NULL, ud)
            self._built(hr, e.user_data, pins if arr is None else (pins, arr), function)
            if e.op in (_OP_REG_BUFS, _OP_REG_FILES):
                self.kept.append(pins)
        return 0

    cdef int _built(self, HRESULT hr, uint64_t ud, object pins, str function) except -1:
        if hr < 0:
            _kb_fail(hr, function)
        group = self.pending.get(ud)
        if group is None:
            self.pending[ud] = [1, [pins]]
        else:
            group[0] += 1
            group[1].append(pins)
        return 0

    cdef void _popped(self, uint64_t ud):
        group = self.pending.get(ud)
        if group is not None:
            group[0] -= 1
            if group[0] <= 0:
                del self.pending[ud]

    cdef uint32_t submit(self, uint32_t wait, uint32_t ms) except? 0xFFFFFFFF:
        cdef HRESULT hr
        cdef uint32_t submitted = 0
        self.in_submit = True
        try:
            with self.lock:          # Build* and Submit are not thread-safe on Windows
                with nogil:
                    hr = ioring_win_SubmitIoRing(self.native, wait, ms, &submitted)
        finally:
            self.in_submit = False
        # The timeout's HRESULT is unverified (reference 2.4, 6.1): accept the documented derivation
        # and the two plausible raw forms of WAIT_TIMEOUT / STATUS_TIMEOUT [INF].
        if <uint32_t>hr in (0x800705B4u, 0x80070102u, 0x102u):
            raise IoRingError(IORING_E_WAIT_TIMEOUT if hr >= 0 else <uint32_t>hr,
                              "the wait timed out (all entries were submitted)", submitted_entries=submitted)
        if hr < 0:
            _kb_fail(hr, "SubmitIoRing")
        return submitted

    cdef int pop(self, _Cqe *out) except -1:
        cdef _C_CQE ce
        cdef HRESULT hr
        memset(&ce, 0, sizeof(ce))
        hr = ioring_win_PopIoRingCompletion(self.native, &ce)
        if hr == 1:                    # S_FALSE: empty
            return 0
        if hr < 0:
            _kb_fail(hr, "PopIoRingCompletion")
        self._popped(ce.UserData)
        out.user_data = ce.UserData
        out.result = <uint32_t>ce.ResultCode
        out.information = ce.Information
        return 1

    cdef int set_event(self, object hEvent) except -1:
        cdef HRESULT hr
        cdef intptr_t hv = 0
        if hEvent is not None:
            if isinstance(hEvent, int) and not isinstance(hEvent, bool) and hEvent == -1:
                _fail(E_INVALIDARG, "INVALID_HANDLE_VALUE is not an event")
            try:
                hv = _handle_value(hEvent)
            except ValueError:
                _fail(E_HANDLE, f"invalid event handle {hEvent!r}")
        hr = ioring_win_SetIoRingCompletionEvent(self.native, <HANDLE>hv)
        if hr < 0:
            _kb_fail(hr, "SetIoRingCompletionEvent")
        self.event = hEvent
        return 0

    cdef int close(self) except -1:
        """The completions already posted are popped (releasing their pins), then KernelBase's
        CloseIoRing; what is still outstanding keeps its pins forever."""
        cdef _C_CQE e
        with self.lock:
            if self.native != NULL:
                while ioring_win_PopIoRingCompletion(self.native, &e) == 0:
                    self._popped(e.UserData)
                ioring_win_CloseIoRing(self.native)
            self.native = NULL
            self.open = False
            if self.pending:
                _kb_leaked.append((list(self.pending.values()), self.kept))
            self.pending = {}
            self.kept = None
            self.event = None
        return 0
