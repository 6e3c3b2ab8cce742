# cython: language_level=3, boundscheck=False, wraparound=False
"""The Windows IoRing API (ioringapi.h) one-to-one: KernelBase.dll on Windows, emulated on Linux
over the io_uring core.

Names, argument order and constants are those of the Windows SDK (through IORING_VERSION_4);
see /work/shared/reference/windows-ioring.md for the behaviour reproduced here. Backends:

* Windows: the 16 functions are resolved from KernelBase.dll at run time (LoadLibraryW +
  GetProcAddress, include/ioring/winioring_kernelbase.h), so the module imports on every Windows; on
  one without IoRing (Windows 10) QueryIoRingCapabilities / CreateIoRing raise IoRingError(E_NOTIMPL)
  naming the missing function, and a builder newer than the running Windows (BuildIoRingWriteFile on
  21H2...) does the same at its call.
* Linux: an emulation over the thin layer's io_uring (ioring/_winioring_linux.pyx, a Linux-only
  module loaded at the first CreateIoRing).

This module is the API: it converts and checks the arguments, pins the buffers and turns an entry
into a backend-neutral _Entry; the backend (ioring/winioring.pxd: _Backend) queues, submits,
completes and closes. Both backends therefore share the argument checks and the pinning.

Conventions:

* Out-parameters are returned: ``CreateIoRing(...)`` -> HIORING, ``SubmitIoRing(...)`` ->
  submittedEntries, ``PopIoRingCompletion(ring)`` -> IORING_CQE, or None for S_FALSE.
* A failing HRESULT raises :class:`IoRingError` (an OSError) whose ``.hresult`` is the HRESULT
  as an unsigned 32-bit int (0x80460002...). HRESULTs in CQEs are unsigned ints too.
* A HANDLE is, on Linux, a file descriptor (int) or any object with ``fileno()``; on Windows an int
  HANDLE value (msvcrt.get_osfhandle(fd), _winapi.CreateFile...) or an object with ``fileno()``,
  whose msvcrt.get_osfhandle() is used. The object is kept alive while used.
* Buffers are any buffer-protocol objects, used in place (zero-copy) and pinned until the
  completion of the operation that uses them is popped (registered buffers: until the table is
  replaced or the ring closed). On Windows a CQE names its entry only by UserData: the pins of an
  entry are released when the last unpopped entry with the same userData is popped (use distinct
  userData), registered tables stay pinned until CloseIoRing, and since Windows' CloseIoRing
  neither waits nor cancels, the pins of entries still outstanding then are kept forever.
* The emulation keeps a Windows-shaped user-space SQ and CQ (Windows sizes, IORING_CQE entries)
  and translates the queued entries, in SQ order, into io_uring requests inside SubmitIoRing.
  QueryIoRingCapabilities reports IORING_FEATURE_UM_EMULATION | SET_COMPLETION_EVENT.
* Python-level type errors (a str as a buffer, a negative size...) raise TypeError/ValueError
  before anything is queued; a buffer shorter than the requested byte count is ValueError
  (Windows would fault in the kernel: here memory safety comes first).
"""
cimport cython
from libc.stdint cimport int32_t, uint32_t, uint64_t, uintptr_t, intptr_t
from libc.stdlib cimport calloc, free
from libc.string cimport memset
from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_ANY_CONTIGUOUS, PyBUF_WRITABLE

import errno as _errno
from operator import index as _index
import sys as _sys
import threading as _threading

# ---- constants (C names) ---------------------------------------------------------------------
IORING_VERSION_INVALID = 0
IORING_VERSION_1 = 1
IORING_VERSION_2 = 2
IORING_VERSION_3 = 300
IORING_VERSION_4 = 400

IORING_FEATURE_FLAGS_NONE = 0
IORING_FEATURE_UM_EMULATION = 0x1
IORING_FEATURE_SET_COMPLETION_EVENT = 0x2

IORING_OP_NOP = 0
IORING_OP_READ = 1
IORING_OP_REGISTER_FILES = 2
IORING_OP_REGISTER_BUFFERS = 3
IORING_OP_CANCEL = 4
IORING_OP_WRITE = 5
IORING_OP_FLUSH = 6
IORING_OP_READ_SCATTER = 7
IORING_OP_WRITE_GATHER = 8

IOSQE_FLAGS_NONE = 0
IOSQE_FLAGS_DRAIN_PRECEDING_OPS = 0x1
IORING_CREATE_REQUIRED_FLAGS_NONE = 0
IORING_CREATE_ADVISORY_FLAGS_NONE = 0
IORING_CREATE_SKIP_BUILDER_PARAM_CHECKS = 0x1
IORING_REF_RAW = 0
IORING_REF_REGISTERED = 1
IORING_SUBMIT_WAIT_ALL = 0xFFFFFFFF
INFINITE = 0xFFFFFFFF
INVALID_HANDLE_VALUE = -1

FILE_WRITE_FLAGS_NONE = 0
FILE_WRITE_FLAGS_WRITE_THROUGH = 0x1
FILE_FLUSH_DEFAULT = 0
FILE_FLUSH_DATA = 1
FILE_FLUSH_MIN_METADATA = 2
FILE_FLUSH_NO_SYNC = 3

FACILITY_IORING = 70
IORING_E_REQUIRED_FLAG_NOT_SUPPORTED = 0x80460001
IORING_E_SUBMISSION_QUEUE_FULL = 0x80460002
IORING_E_VERSION_NOT_SUPPORTED = 0x80460003
IORING_E_SUBMISSION_QUEUE_TOO_BIG = 0x80460004
IORING_E_COMPLETION_QUEUE_TOO_BIG = 0x80460005
IORING_E_SUBMIT_IN_PROGRESS = 0x80460006
IORING_E_CORRUPT = 0x80460007
IORING_E_COMPLETION_QUEUE_TOO_FULL = 0x80460008
#: Named by the SubmitIoRing docs, defined by no header: HRESULT_FROM_WIN32(ERROR_TIMEOUT) [INF].
IORING_E_WAIT_TIMEOUT = 0x800705B4

S_OK = 0
S_FALSE = 1
E_NOTIMPL = 0x80004001
E_FAIL = 0x80004005
E_HANDLE = 0x80070006
E_INVALIDARG = 0x80070057
E_OUTOFMEMORY = 0x8007000E

#: errno -> HRESULT (reference section 5); anything else is E_FAIL.
ERRNO_TO_HRESULT = {getattr(_errno, _name): _hr for _name, _hr in (
    ("EBADF", 0x80070006), ("EACCES", 0x80070005), ("EPERM", 0x80070005), ("ENOENT", 0x80070002),
    ("EINVAL", 0x80070057), ("ENOMEM", 0x80070008), ("ENOSPC", 0x80070070), ("EFAULT", 0x800703E6),
    ("ECANCELED", 0x800703E3), ("EINTR", 0x800703E3), ("EIO", 0x8007045D), ("EOPNOTSUPP", 0x80004001),
    ("EPIPE", 0x8007006D)) if hasattr(_errno, _name)}


def HRESULT_FROM_WIN32(x):
    """HRESULT_FROM_WIN32(x): the HRESULT of a Win32 error code (unsigned 32-bit)."""
    x = _index(x) & 0xFFFFFFFF     # an int (a float is a TypeError, not an OverflowError)
    return x if (x & 0x80000000 or x == 0) else ((x & 0xFFFF) | (7 << 16) | 0x80000000)


def SUCCEEDED(hr):
    """SUCCEEDED(hr): true for S_OK, S_FALSE and every non-negative HRESULT."""
    return not (_index(hr) & 0x80000000)


def FAILED(hr):
    """FAILED(hr): true when the HRESULT's severity bit is set."""
    return bool(_index(hr) & 0x80000000)


cdef uint32_t _hr_from_errno(int err):
    return ERRNO_TO_HRESULT.get(err, 0x80004005)


class IoRingError(OSError):
    """A failing HRESULT returned by an IoRing function; ``.hresult`` holds it (unsigned).
    ``.submitted_entries`` is set for a SubmitIoRing that timed out (every entry was taken)."""

    def __init__(self, hresult, message=None, submitted_entries=None):
        self.hresult = int(hresult) & 0xFFFFFFFF
        self.submitted_entries = submitted_entries
        name = _HR_NAMES.get(self.hresult, "")
        text = f"HRESULT 0x{self.hresult:08X}" + (f" ({name})" if name else "")
        if message:
            text += f": {message}"
        super().__init__(text)

_HR_NAMES = {v: k for k, v in list(globals().items())
             if isinstance(v, int) and (k.startswith("IORING_E_") or k.startswith("E_"))}


cdef int _fail(uint32_t hr, msg=None) except -1:
    raise IoRingError(hr, msg)


cdef uint32_t _u32(object v, str name) except? 0xFFFFFFFF:
    cdef object i = _index(v)
    if isinstance(v, bool) or not (0 <= i <= 0xFFFFFFFF):
        if isinstance(v, bool):
            raise TypeError(f"{name} must be an int")
        raise ValueError(f"{name}={v!r} does not fit in UINT32")
    return i


cdef uint64_t _u64(object v, str name) except? 0xFFFFFFFFFFFFFFFF:
    v = _index(v)
    if v == -1:
        return 0xFFFFFFFFFFFFFFFF
    if not (0 <= v <= 0xFFFFFFFFFFFFFFFF):
        raise ValueError(f"{name}={v!r} does not fit in 64 bits")
    return v


cdef int _handle_fd(object h, bint allow_invalid=False) except -2:
    """A HANDLE as a file descriptor: an int, or an object with fileno()."""
    if h is None:
        raise TypeError("a HANDLE (file descriptor or object with fileno()) is required, not None")
    if isinstance(h, bool):
        raise TypeError("a HANDLE must be an int or have fileno()")
    if not isinstance(h, int):
        if hasattr(h, "fileno"):
            h = h.fileno()
        else:
            h = _index(h)
    if h == -1 and allow_invalid:
        return -1
    if not (0 <= h <= 0x7FFFFFFF):
        raise ValueError(f"invalid HANDLE {h!r}")
    return h


include "_buffer_export.pxi"


@cython.final
cdef class _Segments:
    def __dealloc__(self):
        free(self.segs)


cdef intptr_t _handle_value(object h, bint allow_invalid=False) except? -2:
    """A HANDLE for the backend in use. Emulation: a file descriptor (see _handle_fd). KernelBase: an
    int is the HANDLE value itself (as returned by msvcrt.get_osfhandle, _winapi.CreateFile...); an
    object with fileno() gives msvcrt.get_osfhandle(obj.fileno())."""
    if not _kb:
        return _handle_fd(h, allow_invalid)
    if h is None:
        raise TypeError("a HANDLE (int or object with fileno()) is required, not None")
    if isinstance(h, bool):
        raise TypeError("a HANDLE must be an int or have fileno()")
    if not isinstance(h, int) and hasattr(h, "fileno"):
        if _sys.platform == "win32":
            import msvcrt
            h = msvcrt.get_osfhandle(h.fileno())
        else:                          # tests of this path on Linux (a fake KernelBase)
            h = h.fileno()
    h = _index(h)
    if h == -1 and not allow_invalid:
        raise ValueError("INVALID_HANDLE_VALUE is not a file handle")
    if not (-(1 << 63) <= h < (1 << 64)):
        raise ValueError(f"invalid HANDLE {h!r}")
    return <intptr_t>(<uint64_t>(h & 0xFFFFFFFFFFFFFFFF))


# ---- structs ---------------------------------------------------------------------------------
class IORING_CREATE_FLAGS:
    """IORING_CREATE_FLAGS {Required, Advisory}."""
    __slots__ = ("Required", "Advisory")

    def __init__(self, Required=0, Advisory=0):
        self.Required = Required
        self.Advisory = Advisory

    def __repr__(self):
        return f"IORING_CREATE_FLAGS(Required={self.Required:#x}, Advisory={self.Advisory:#x})"


class IORING_INFO:
    """IORING_INFO {IoRingVersion, Flags, SubmissionQueueSize, CompletionQueueSize} (GetIoRingInfo)."""
    __slots__ = ("IoRingVersion", "Flags", "SubmissionQueueSize", "CompletionQueueSize")

    def __init__(self, IoRingVersion, Flags, SubmissionQueueSize, CompletionQueueSize):
        self.IoRingVersion = IoRingVersion
        self.Flags = Flags
        self.SubmissionQueueSize = SubmissionQueueSize
        self.CompletionQueueSize = CompletionQueueSize

    def __repr__(self):
        return (f"IORING_INFO(IoRingVersion={self.IoRingVersion}, Flags={self.Flags!r}, "
                f"SubmissionQueueSize={self.SubmissionQueueSize}, CompletionQueueSize={self.CompletionQueueSize})")


class IORING_CAPABILITIES:
    """IORING_CAPABILITIES {MaxVersion, MaxSubmissionQueueSize, MaxCompletionQueueSize, FeatureFlags}."""
    __slots__ = ("MaxVersion", "MaxSubmissionQueueSize", "MaxCompletionQueueSize", "FeatureFlags")

    def __init__(self, MaxVersion, MaxSubmissionQueueSize, MaxCompletionQueueSize, FeatureFlags):
        self.MaxVersion = MaxVersion
        self.MaxSubmissionQueueSize = MaxSubmissionQueueSize
        self.MaxCompletionQueueSize = MaxCompletionQueueSize
        self.FeatureFlags = FeatureFlags

    def __repr__(self):
        return (f"IORING_CAPABILITIES(MaxVersion={self.MaxVersion}, MaxSubmissionQueueSize={self.MaxSubmissionQueueSize}, "
                f"MaxCompletionQueueSize={self.MaxCompletionQueueSize}, FeatureFlags={self.FeatureFlags:#x})")


class IORING_CQE:
    """IORING_CQE {UserData, ResultCode (HRESULT, unsigned), Information}."""
    __slots__ = ("UserData", "ResultCode", "Information")

    def __init__(self, UserData, ResultCode, Information):
        self.UserData = UserData
        self.ResultCode = ResultCode
        self.Information = Information

    def __repr__(self):
        return f"IORING_CQE(UserData={self.UserData:#x}, ResultCode=0x{self.ResultCode:08X}, Information={self.Information})"


class IORING_REGISTERED_BUFFER:
    """IORING_REGISTERED_BUFFER {BufferIndex, Offset}."""
    __slots__ = ("BufferIndex", "Offset")

    def __init__(self, BufferIndex, Offset):
        self.BufferIndex = BufferIndex
        self.Offset = Offset


class _HandleUnion:
    __slots__ = ("Handle", "Index")

    def __init__(self, Handle=None, Index=None):
        self.Handle = Handle
        self.Index = Index


class _BufferUnion:
    __slots__ = ("Address", "IndexAndOffset")

    def __init__(self, Address=None, IndexAndOffset=None):
        self.Address = Address
        self.IndexAndOffset = IndexAndOffset


@cython.final
cdef class IORING_HANDLE_REF:
    """IORING_HANDLE_REF {Kind, Handle{Handle | Index}}: build with IoRingHandleRefFromHandle or
    IoRingHandleRefFromIndex."""
    cdef readonly int Kind
    cdef readonly object Handle       # _HandleUnion
    cdef intptr_t handle              # raw: the HANDLE value (KernelBase) or the descriptor
    cdef uint32_t index
    cdef object obj                   # the HANDLE object (kept alive while in use)

    def __repr__(self):
        if self.Kind == 0:
            return f"IoRingHandleRefFromHandle({self.handle})"
        return f"IoRingHandleRefFromIndex({self.index})"


def IoRingHandleRefFromHandle(h):
    """IoRingHandleRefFromHandle(h): a raw HANDLE reference. Linux (emulation): a file descriptor or an
    object with fileno(). Windows: an int HANDLE value, or an object with fileno() (its
    msvcrt.get_osfhandle())."""
    cdef IORING_HANDLE_REF r = IORING_HANDLE_REF.__new__(IORING_HANDLE_REF)
    r.handle = _handle_value(h)
    r.Kind = 0
    r.obj = h
    r.Handle = _HandleUnion(Handle=h)
    return r


def IoRingHandleRefFromIndex(i):
    """IoRingHandleRefFromIndex(i): a reference to slot i of the registered file handles."""
    cdef IORING_HANDLE_REF r = IORING_HANDLE_REF.__new__(IORING_HANDLE_REF)
    r.index = _u32(i, "index")
    r.Kind = 1
    r.Handle = _HandleUnion(Index=r.index)
    return r


@cython.final
cdef class IORING_BUFFER_REF:
    """IORING_BUFFER_REF {Kind, Buffer{Address | IndexAndOffset}}: build with
    IoRingBufferRefFromPointer (any buffer object, zero-copy) or IoRingBufferRefFromIndexAndOffset."""
    cdef readonly int Kind
    cdef readonly object Buffer       # _BufferUnion
    cdef object obj                   # the buffer object
    cdef uint32_t index, offset

    def __repr__(self):
        if self.Kind == 0:
            return f"IoRingBufferRefFromPointer(<{type(self.obj).__name__}>)"
        return f"IoRingBufferRefFromIndexAndOffset({self.index}, {self.offset})"


def IoRingBufferRefFromPointer(p):
    """IoRingBufferRefFromPointer(p): a raw buffer reference. ``p`` is any buffer-protocol object
    (writable for reads); it is used in place and pinned from Build* until the completion is popped."""
    memoryview(p)          # TypeError now for a non-buffer
    cdef IORING_BUFFER_REF r = IORING_BUFFER_REF.__new__(IORING_BUFFER_REF)
    r.Kind = 0
    r.obj = p
    r.Buffer = _BufferUnion(Address=p)
    return r


def IoRingBufferRefFromIndexAndOffset(i, o):
    """IoRingBufferRefFromIndexAndOffset(i, o): ``offset`` bytes into registered buffer ``i``."""
    cdef IORING_BUFFER_REF r = IORING_BUFFER_REF.__new__(IORING_BUFFER_REF)
    r.Kind = 1
    r.index = _u32(i, "index")
    r.offset = _u32(o, "offset")
    r.Buffer = _BufferUnion(IndexAndOffset=IORING_REGISTERED_BUFFER(r.index, r.offset))
    return r


class IORING_BUFFER_INFO:
    """IORING_BUFFER_INFO {Address, Length}: one registered buffer. Address is a buffer object or
    None (a sparse {NULL, 0} slot); Length defaults to the whole buffer."""
    __slots__ = ("Address", "Length")

    def __init__(self, Address, Length=None):
        if Address is None:
            Length = 0 if Length is None else Length
        elif Length is None:
            Length = memoryview(Address).nbytes
        self.Address = Address
        self.Length = Length

    def __repr__(self):
        return f"IORING_BUFFER_INFO(<{type(self.Address).__name__}>, Length={self.Length})"


class FILE_SEGMENT_ELEMENT:
    """FILE_SEGMENT_ELEMENT {Buffer}: one segment of a scatter/gather operation (a buffer object)."""
    __slots__ = ("Buffer",)

    def __init__(self, Buffer):
        self.Buffer = Buffer


# ---- the ring: a handle over one backend ring -------------------------------------------------

cdef class _Backend:
    """The backend interface (declared in ioring/winioring.pxd). A bare _Backend is a closed ring."""

    # Each backend closes an unclosed ring in its __del__ (garbage collection, interpreter exit),
    # never in __dealloc__: close needs the ring's attributes and runs Python code.

    def __repr__(self):
        return "<HIORING closed>"

    cdef bint usable(self):
        return self.open

    cdef int check(self) except -1:
        if not self.open:
            _fail(E_HANDLE, "the HIORING is closed")
        return 0

    cdef int refuse_op(self, uint32_t op) except -1:
        return self.check()

    cdef bint supports(self, uint32_t op):
        return False

    cdef int info(self, _Info *out) except -1:
        return self.check()

    cdef int build(self, _Entry *e, object pins) except -1:
        return self.check()

    cdef uint32_t submit(self, uint32_t wait, uint32_t ms) except? 0xFFFFFFFF:
        self.check()
        return 0

    cdef int pop(self, _Cqe *out) except -1:
        return self.check()

    cdef int set_event(self, object hEvent) except -1:
        return self.check()

    cdef int close(self) except -1:
        self.open = False
        return 0


@cython.final
cdef class HIORING:
    """An IoRing handle (CreateIoRing); close it with CloseIoRing."""

    def __repr__(self):
        return "<HIORING closed>" if self.backend is None else repr(self.backend)


cdef HIORING _handle(_Backend ring):
    cdef HIORING h = HIORING.__new__(HIORING)
    h.backend = ring
    return h


cdef inline _Backend _ring(HIORING h):
    """The backend ring of ``h``, checked usable (IoRingError E_HANDLE otherwise)."""
    cdef _Backend r = h.backend
    if r is None:
        _fail(E_HANDLE, "the HIORING is closed")
    r.check()
    return r


# ---- the backends -----------------------------------------------------------------------------
# KernelBase.dll (Windows; on Linux a dispatch table tests may fill with a fake): in this module.
include "_winioring_kernelbase.pxi"

# Which backend CreateIoRing and QueryIoRingCapabilities use: 1 = KernelBase.dll (the default on
# Windows), 0 = the io_uring emulation (the default elsewhere). Tests switch it with _set_backend().
cdef bint _kb = WINIORING_KERNELBASE

# The io_uring emulation: ioring._winioring_linux, a Linux-only module (it builds on the thin
# layer, ioring.liburing, which Windows does not have), imported when first needed.
cdef object _linux = None


cdef object _emulation():
    global _linux
    if _linux is None:
        from ioring import _winioring_linux
        _linux = _winioring_linux
    return _linux


# ---- the API ----------------------------------------------------------------------------------

def QueryIoRingCapabilities():
    """QueryIoRingCapabilities(): IORING_CAPABILITIES. Emulation: MaxVersion 400, the Windows queue
    limits (65536 / 131072) and FeatureFlags UM_EMULATION | SET_COMPLETION_EVENT; IoRingError(E_NOTIMPL)
    when the kernel has no io_uring. KernelBase: what Windows reports."""
    caps = _kb_capabilities() if _kb else _emulation().capabilities()
    return IORING_CAPABILITIES(*caps)


def CreateIoRing(ioringVersion, flags, submissionQueueSize, completionQueueSize):
    """CreateIoRing(ioringVersion, flags, submissionQueueSize, completionQueueSize) -> HIORING.

    ``flags`` is an IORING_CREATE_FLAGS or a (Required, Advisory) pair. Version 1..400 (else
    IORING_E_VERSION_NOT_SUPPORTED), Required must be 0 (else IORING_E_REQUIRED_FLAG_NOT_SUPPORTED);
    unknown advisory flags are ignored. SQ: 0 -> 32, 1-7 -> 8, > 0x10000 ->
    IORING_E_SUBMISSION_QUEUE_TOO_BIG, else the next power of two. CQ: > 0x20000 ->
    IORING_E_COMPLETION_QUEUE_TOO_BIG, <= 2*SQ -> 2*SQ, else the next power of two. The io_uring
    underneath is sized independently (at most 1024 SQ / 4096 CQ entries, overflow kept by the
    kernel); GetIoRingInfo reports the Windows sizes."""
    cdef uint32_t version, required, advisory, sq, cq
    if isinstance(flags, IORING_CREATE_FLAGS):
        required, advisory = _u32(flags.Required, "Required"), _u32(flags.Advisory, "Advisory")
    elif isinstance(flags, tuple) and len(flags) == 2:
        required, advisory = _u32(flags[0], "Required"), _u32(flags[1], "Advisory")
    else:
        raise TypeError("flags must be an IORING_CREATE_FLAGS or a (Required, Advisory) pair")
    version = _u32(ioringVersion, "ioringVersion")
    sq = _u32(submissionQueueSize, "submissionQueueSize")
    cq = _u32(completionQueueSize, "completionQueueSize")
    if _kb:
        return _handle(_kb_create(version, required, advisory, sq, cq))
    return _handle(_emulation().create(version, required, advisory, sq, cq))


def GetIoRingInfo(HIORING ioRing not None):
    """GetIoRingInfo(ioRing) -> IORING_INFO: the version and flags given to CreateIoRing and the
    Windows-rule queue sizes."""
    cdef _Info i
    memset(&i, 0, sizeof(i))
    _ring(ioRing).info(&i)
    return IORING_INFO(i.version, IORING_CREATE_FLAGS(i.required, i.advisory), i.sq_size, i.cq_size)


def IsIoRingOpSupported(ioRing, op):
    """IsIoRingOpSupported(ioRing, op) -> bool (BOOL, as the header; the doc's HRESULT is wrong).
    Answered by the ring's version: v1/v2 NOP, READ, REGISTER_FILES, REGISTER_BUFFERS, CANCEL; v3
    adds WRITE, FLUSH; v4 adds READ_SCATTER, WRITE_GATHER. NOP is reported supported although no
    builder exists ([INF] §6.7). A bad handle or unknown op is False, never an error."""
    cdef _Backend r
    if not isinstance(ioRing, HIORING) or (<HIORING>ioRing).backend is None:
        return False
    r = (<HIORING>ioRing).backend
    if not r.usable():
        return False
    if isinstance(op, bool) or not isinstance(op, int) or op < 0 or op > 0xFFFFFFFF:
        return False
    return r.supports(op)


def SubmitIoRing(HIORING ioRing not None, waitOperations, milliseconds):
    """SubmitIoRing(ioRing, waitOperations, milliseconds) -> submittedEntries.

    Pre-checks, none of which consumes an entry: another SubmitIoRing in progress ->
    IORING_E_SUBMIT_IN_PROGRESS; a finite waitOperations > CQ size -> E_INVALIDARG;
    new entries + in flight + unpopped CQEs > CQ size -> IORING_E_COMPLETION_QUEUE_TOO_FULL; a finite
    waitOperations larger than that outstanding count -> E_INVALIDARG. Then every queued entry is
    translated in SQ order (per-entry errors become CQEs). waitOperations 0 does not wait;
    IORING_SUBMIT_WAIT_ALL waits until every submitted operation has completed; N waits until at least
    N CQEs sit in the CQ. milliseconds INFINITE waits forever; a timeout raises IoRingError
    (IORING_E_WAIT_TIMEOUT = 0x800705B4, unverified on Windows [INF]) whose ``submitted_entries``
    tells that everything was submitted. The GIL is released while waiting."""
    cdef uint32_t wait = _u32(waitOperations, "waitOperations")
    cdef uint32_t ms = _u32(milliseconds, "milliseconds")
    cdef _Backend r = _ring(ioRing)
    if r.in_submit:
        _fail(IORING_E_SUBMIT_IN_PROGRESS)
    return r.submit(wait, ms)


def PopIoRingCompletion(HIORING ioRing not None):
    """PopIoRingCompletion(ioRing) -> IORING_CQE, or None when the CQ is empty (S_FALSE). Never
    blocks. Popping releases the buffers pinned by the operation. EOF on a read of more than 0
    bytes is ResultCode 0x80070026 (HRESULT_FROM_WIN32(ERROR_HANDLE_EOF)); errno values map per
    ERRNO_TO_HRESULT; Information is the byte count for reads/writes, the entry count for
    registrations, 0 otherwise."""
    cdef _Cqe e
    if not _ring(ioRing).pop(&e):
        return None
    return IORING_CQE(e.user_data, e.result, e.information)


def SetIoRingCompletionEvent(HIORING ioRing not None, hEvent):
    """SetIoRingCompletionEvent(ioRing, hEvent): the event signalled when the CQ goes from empty to
    non-empty -- edge-triggered: pop until None before waiting again. One event per ring: a new one
    replaces the old, None clears it. INVALID_HANDLE_VALUE is E_INVALIDARG; a handle that is not an
    open event is E_HANDLE.

    Linux (emulation): hEvent is an eventfd (int, or an object with fileno()); anything else (a closed
    descriptor, a regular file, a pipe...) is E_HANDLE. As on Windows, where the ring references the
    event object, the ring keeps its own duplicate of the descriptor: the caller may close hEvent at
    once, and the duplicate is closed when the event is cleared or replaced, at CloseIoRing, or when
    the ring is garbage-collected. Each edge adds 1 to the eventfd counter. While an event is set, a
    helper thread moves completions into the CQ. Windows: hEvent is an event HANDLE (int, e.g. from
    CreateEvent; auto-reset, one waiter), passed to KernelBase as is (the kernel references it)."""
    _ring(ioRing).set_event(hEvent)


def CloseIoRing(HIORING ioRing not None):
    """CloseIoRing(ioRing): discards built-but-unsubmitted entries and closes the ring. Unlike
    Windows (which neither waits nor cancels), in-flight operations are cancelled and reaped (as
    io_uring_queue_exit does: for up to 10 s; buffers of any left are kept alive forever) so no
    memory is touched afterwards; a SubmitIoRing waiting in another thread returns, and the ring is
    torn down when it has. Any later call with this handle raises E_HANDLE (Windows would fault). On
    Windows, KernelBase's CloseIoRing is called after popping the completions already posted; it
    neither waits nor cancels, so the buffers of entries still outstanding are kept alive forever:
    drain (SubmitIoRing with IORING_SUBMIT_WAIT_ALL, then pop) or cancel before closing."""
    _ring(ioRing).close()


# ---- the builders: arguments checked and pinned, then one _Entry to the backend -----------------

cdef uint32_t _sqe_flags(_Backend r, object sqeFlags) except? 0xFFFFFFFF:
    cdef uint32_t f = _u32(sqeFlags, "sqeFlags")
    if f & ~1u and not (r.advisory & 1):
        _fail(IORING_E_REQUIRED_FLAG_NOT_SUPPORTED, f"unknown sqeFlags {f:#x}")
    return f


cdef uint32_t _write_flags(HIORING ioRing, object writeFlags) except? 0xFFFFFFFF:
    cdef uint32_t wf = _u32(writeFlags, "writeFlags")
    if wf & ~1u and (ioRing.backend is None or not (ioRing.backend.advisory & 1)):
        _fail(IORING_E_REQUIRED_FLAG_NOT_SUPPORTED, f"unknown writeFlags {wf:#x}")
    return wf


cdef IORING_HANDLE_REF _file_ref(object fileRef):
    if not isinstance(fileRef, IORING_HANDLE_REF):
        if fileRef is not None and (isinstance(fileRef, int) or hasattr(fileRef, "fileno")):
            return IoRingHandleRefFromHandle(fileRef)
        raise TypeError(f"an IORING_HANDLE_REF is required, not {type(fileRef).__name__}")
    return fileRef


cdef void _entry(_Entry *e, uint32_t op, IORING_HANDLE_REF f, uint64_t user_data):
    memset(e, 0, sizeof(_Entry))
    e.op = op
    e.user_data = user_data
    if f is not None:
        e.file_kind = f.Kind
        e.handle = f.handle
        e.file_index = f.index


cdef object _rw_build(HIORING ioRing, uint32_t op, object fileRef, object bufferRef, object nbytes,
                      object fileOffset, uint32_t xflags, object userData, object sqeFlags):
    cdef IORING_HANDLE_REF f = _file_ref(fileRef)
    cdef IORING_BUFFER_REF b
    cdef uint32_t length = _u32(nbytes, "numberOfBytes")
    cdef uint64_t offset = _u64(fileOffset, "fileOffset")
    cdef uint64_t ud = _u64(userData, "userData")
    cdef _Buffer pin = None
    cdef _Backend r
    cdef _Entry e
    if not isinstance(bufferRef, IORING_BUFFER_REF):
        raise TypeError(f"an IORING_BUFFER_REF is required, not {type(bufferRef).__name__}")
    b = bufferRef
    r = _ring(ioRing)
    r.refuse_op(op)
    _entry(&e, op, f, ud)
    e.flags = _sqe_flags(r, sqeFlags)
    if b.Kind == 0:
        pin = _Buffer(b.obj, op == _OP_READ)
        if length > pin.nbytes:
            raise ValueError(f"numberOfBytes={length} is larger than the buffer ({pin.nbytes} bytes)")
        e.addr = pin.ptr
    e.buf_kind = b.Kind
    e.buf_index = b.index
    e.buf_offset = b.offset
    e.offset = offset
    e.length = length
    e.xflags = xflags
    r.build(&e, (f, b, pin))


def BuildIoRingReadFile(HIORING ioRing not None, fileRef, dataRef, numberOfBytesToRead, fileOffset, userData,
                        sqeFlags=IOSQE_FLAGS_NONE):
    """BuildIoRingReadFile(ioRing, fileRef, dataRef, numberOfBytesToRead, fileOffset, userData, sqeFlags):
    queues a READ (io_uring READ, or READ_FIXED for a registered buffer; IOSQE_FIXED_FILE for a
    registered handle). Queue full -> IORING_E_SUBMISSION_QUEUE_FULL. A read at/after EOF completes
    with 0x80070026. fileOffset -1 is io_uring's "current position" (Linux only)."""
    _rw_build(ioRing, _OP_READ, fileRef, dataRef, numberOfBytesToRead, fileOffset, 0, userData, sqeFlags)


def BuildIoRingWriteFile(HIORING ioRing not None, fileRef, bufferRef, numberOfBytesToWrite, fileOffset, writeFlags,
                         userData, sqeFlags=IOSQE_FLAGS_NONE):
    """BuildIoRingWriteFile(ioRing, fileRef, bufferRef, numberOfBytesToWrite, fileOffset, writeFlags, userData,
    sqeFlags): queues a WRITE (version 3+; on an older ring the builder raises
    IORING_E_VERSION_NOT_SUPPORTED [INF]). FILE_WRITE_FLAGS_WRITE_THROUGH -> RWF_DSYNC (Linux accepts it
    on cached files; Windows fails those with 0x800701FD). Unknown writeFlags ->
    IORING_E_REQUIRED_FLAG_NOT_SUPPORTED [INF]."""
    cdef uint32_t wf = _write_flags(ioRing, writeFlags)
    _rw_build(ioRing, _OP_WRITE, fileRef, bufferRef, numberOfBytesToWrite, fileOffset, wf, userData, sqeFlags)


def BuildIoRingFlushFile(HIORING ioRing not None, fileRef, flushMode, userData, sqeFlags=IOSQE_FLAGS_NONE):
    """BuildIoRingFlushFile(ioRing, fileRef, flushMode, userData, sqeFlags): queues a FLUSH (version 3+;
    on an older ring the builder raises IORING_E_VERSION_NOT_SUPPORTED [INF]).
    FILE_FLUSH_DEFAULT -> fsync; MIN_METADATA -> fdatasync; DATA / NO_SYNC -> sync_file_range(WRITE |
    WAIT_AFTER) (no device flush: an approximation). An unknown mode is E_INVALIDARG [INF]. Without
    IOSQE_FLAGS_DRAIN_PRECEDING_OPS a flush does not cover earlier writes."""
    cdef IORING_HANDLE_REF f = _file_ref(fileRef)
    cdef uint32_t mode = _u32(flushMode, "flushMode")
    cdef uint64_t ud = _u64(userData, "userData")
    cdef _Backend r = _ring(ioRing)
    cdef _Entry e
    r.refuse_op(_OP_FLUSH)
    _entry(&e, _OP_FLUSH, f, ud)
    e.flags = _sqe_flags(r, sqeFlags)
    if mode > 3:
        _fail(E_INVALIDARG, f"unknown flushMode {mode}")
    e.xflags = mode
    r.build(&e, (f,))


cdef object _sg_build(HIORING ioRing, uint32_t op, object fileRef, object segmentCount, object segmentArray,
                      object nbytes, object fileOffset, uint32_t xflags, object userData, object sqeFlags):
    cdef IORING_HANDLE_REF f = _file_ref(fileRef)
    cdef list items = list(segmentArray)
    cdef uint32_t n = len(items) if segmentCount is None else _u32(segmentCount, "segmentCount")
    cdef uint32_t length = _u32(nbytes, "numberOfBytes")
    cdef uint64_t offset = _u64(fileOffset, "fileOffset")
    cdef uint64_t ud = _u64(userData, "userData")
    cdef uint32_t i
    cdef uint64_t left = length
    cdef _Segments segs
    cdef _Buffer b
    cdef _Backend r
    cdef _Entry e
    if n > len(items):
        raise ValueError(f"segmentCount={n} is larger than the segment array ({len(items)})")
    if n == 0:
        raise ValueError("at least one segment is required")
    r = _ring(ioRing)
    r.refuse_op(op)
    _entry(&e, op, f, ud)
    e.flags = _sqe_flags(r, sqeFlags)
    segs = _Segments.__new__(_Segments)
    segs.segs = <_Segment *>calloc(n, sizeof(_Segment))
    if segs.segs == NULL:
        raise MemoryError()
    segs.pins = []
    for i in range(n):
        seg = items[i]
        if isinstance(seg, FILE_SEGMENT_ELEMENT):
            seg = seg.Buffer
        b = _Buffer(seg, op == _OP_SCATTER)
        segs.pins.append(b)
        segs.segs[i].base = b.ptr
        segs.segs[i].length = b.nbytes if <uint64_t>b.nbytes < left else left
        left -= segs.segs[i].length
    if left:
        raise ValueError(f"numberOfBytes={length} is larger than the segments hold")
    segs.count = n
    e.offset = offset
    e.length = length
    e.xflags = xflags
    r.build(&e, (f, segs))


def BuildIoRingReadFileScatter(HIORING ioRing not None, fileRef, segmentCount, segmentArray, numberOfBytesToRead,
                               fileOffset, userData, sqeFlags=IOSQE_FLAGS_NONE):
    """BuildIoRingReadFileScatter(ioRing, fileRef, segmentCount, segmentArray, numberOfBytesToRead, fileOffset,
    userData, sqeFlags): queues a READ_SCATTER (version 4; on an older ring the builder raises
    IORING_E_VERSION_NOT_SUPPORTED [INF]) as io_uring READV. Segments are
    FILE_SEGMENT_ELEMENTs or writable buffers (segmentCount None = all); the bytes fill them in order,
    so segments of any size work -- Windows' page-size/alignment rule ([INF] §6.5) is not enforced."""
    _sg_build(ioRing, _OP_SCATTER, fileRef, segmentCount, segmentArray, numberOfBytesToRead, fileOffset, 0,
              userData, sqeFlags)


def BuildIoRingWriteFileGather(HIORING ioRing not None, fileRef, segmentCount, segmentArray, numberOfBytesToWrite,
                               fileOffset, writeFlags, userData, sqeFlags=IOSQE_FLAGS_NONE):
    """BuildIoRingWriteFileGather(ioRing, fileRef, segmentCount, segmentArray, numberOfBytesToWrite, fileOffset,
    writeFlags, userData, sqeFlags): queues a WRITE_GATHER (version 4; older rings: see the scatter
    variant) as io_uring WRITEV
    (WRITE_THROUGH -> RWF_DSYNC). Page-size segments are not required (see the scatter variant)."""
    cdef uint32_t wf = _write_flags(ioRing, writeFlags)
    _sg_build(ioRing, _OP_GATHER, fileRef, segmentCount, segmentArray, numberOfBytesToWrite, fileOffset, wf,
              userData, sqeFlags)


def BuildIoRingCancelRequest(HIORING ioRing not None, file, opToCancel, userData):
    """BuildIoRingCancelRequest(ioRing, file, opToCancel, userData): queues a CANCEL of the operations on
    ``file`` (an IORING_HANDLE_REF) whose userData is opToCancel; opToCancel 0 cancels everything
    on that file (io_uring ASYNC_CANCEL_FD | ALL -- in this ring only, Windows also hits other I/O).
    The cancel's CQE: S_OK when a target was found (it may still complete normally), 0x80070490
    (ERROR_NOT_FOUND) otherwise [INF]; a cancelled target completes with 0x800703E3 [INF §6.2]. As
    IORING_OP_CODE documents, the cancel's CQE is popped after the CQEs of the operations it named."""
    cdef IORING_HANDLE_REF f = _file_ref(file)
    cdef uint64_t target = _u64(opToCancel, "opToCancel")
    cdef uint64_t ud = _u64(userData, "userData")
    cdef _Backend r = _ring(ioRing)
    cdef _Entry e
    _entry(&e, _OP_CANCEL, f, ud)
    e.target = target
    r.build(&e, (f,))


def BuildIoRingRegisterBuffers(HIORING ioRing not None, count, buffers, userData):
    """BuildIoRingRegisterBuffers(ioRing, count, buffers, userData): queues a REGISTER_BUFFERS. At its SQ
    position (inside SubmitIoRing) the whole table is replaced by ``buffers`` (IORING_BUFFER_INFO, buffer
    objects, or None for a sparse {NULL, 0} slot; count None = all; count 0 unregisters); the entry
    completes with its own CQE (Information = count). Buffers stay pinned until replaced or the ring is
    closed. Every buffer must be writable (Windows probes them for write [INF §6.6])."""
    cdef list items = list(buffers) if buffers is not None else []
    cdef uint32_t n = len(items) if count is None else _u32(count, "count")
    cdef uint64_t ud = _u64(userData, "userData")
    cdef list table = []
    cdef _Buffer b
    cdef _Backend r
    cdef _Entry e
    if n > len(items):
        raise ValueError(f"count={n} is larger than the buffer array ({len(items)})")
    r = _ring(ioRing)
    for i in range(n):
        item = items[i]
        if not isinstance(item, IORING_BUFFER_INFO):
            item = IORING_BUFFER_INFO(item)
        if item.Address is None:
            if item.Length:
                raise ValueError("a NULL buffer must have Length 0")
            table.append(None)
            continue
        b = _Buffer(item.Address, True)
        length = _u32(item.Length, "Length")
        if length > b.nbytes:
            raise ValueError(f"Length={length} is larger than the buffer ({b.nbytes} bytes)")
        table.append((b, length))
    _entry(&e, _OP_REG_BUFS, None, ud)
    e.length = n
    r.build(&e, table)


def BuildIoRingRegisterFileHandles(HIORING ioRing not None, count, handles, userData):
    """BuildIoRingRegisterFileHandles(ioRing, count, handles, userData): queues a REGISTER_FILES. At its SQ
    position the whole table is replaced by ``handles`` (fds or objects with fileno(); INVALID_HANDLE_VALUE
    (-1) is a sparse slot; count None = all; 0 unregisters); it completes with its own CQE (Information =
    count). The handles are not duplicated: keep them open while registered."""
    cdef list items = list(handles) if handles is not None else []
    cdef uint32_t n = len(items) if count is None else _u32(count, "count")
    cdef uint64_t ud = _u64(userData, "userData")
    cdef uint32_t i
    cdef _Entry e
    if n > len(items):
        raise ValueError(f"count={n} is larger than the handle array ({len(items)})")
    table = [(_handle_value(items[i], True), items[i]) for i in range(n)]
    _entry(&e, _OP_REG_FILES, None, ud)
    e.length = n
    _ring(ioRing).build(&e, table)


# ---- for tests --------------------------------------------------------------------------------

def _set_backend(kernelbase, functions=None):
    """Tests only: run the KernelBase path (True) or the io_uring emulation (False) for the calls and
    rings created from now on. ``functions`` maps API names to C function addresses (int; 0 or None
    removes one) to install in the dispatch table: on Linux it starts empty, so the KernelBase path
    behaves as a Windows without IoRing (E_NOTIMPL) until a fake (tests/c/win/fake_kernelbase.c) is
    installed."""
    global _kb
    if functions:
        _kb_install(functions)
    _kb = bool(kernelbase)


def _leaked_count():
    """Tests only: how many closed rings kept pins alive forever (requests the kernel or Windows may
    still complete)."""
    return _kb_leaked_count() + (_linux._leaked_count() if _linux is not None else 0)


def _backend():
    """"KernelBase.dll" or "io_uring emulation": the backend CreateIoRing uses now."""
    return "KernelBase.dll" if _kb else "io_uring emulation"
