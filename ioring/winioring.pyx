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
* Linux: the emulation below. Both share the argument checks and the pinning.

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
from libc.stdint cimport uint8_t, int32_t, uint32_t, uint64_t, int64_t, uintptr_t, intptr_t
from libc.stdlib cimport calloc, free
from libc.string cimport memset
from libc.errno cimport ETIME, EINTR, ENOENT, EALREADY, ENXIO
from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_ANY_CONTIGUOUS, PyBUF_WRITABLE
from cpython.exc cimport PyErr_CheckSignals

import errno as _errno
from operator import index as _index
import os as _os
import sys as _sys
import threading as _threading
import time as _time

# Two backends, one code path. Every public function validates and pins its arguments the same way,
# then either calls KernelBase through include/ioring/winioring_kernelbase.h (Windows:
# WINIORING_KERNELBASE == 1, a compile-time constant of that header) or runs the io_uring emulation
# below (Linux). Both branches are compiled on both systems: on Windows the emulation's C needs are
# inert stand-ins (include/ioring/winioring_emu.h), on Linux the ioring_win_* functions are stubs.
# The emulation header comes first: on Linux it brings the io_uring ABI before winioring.h.
cdef extern from "ioring/winioring_emu.h" nogil:
    # The subset of ioring/_core.pxd the emulation uses (include/ioring/ring.h, prep.h, register.h).
    struct iovec:
        void *iov_base
        size_t iov_len
    struct io_uring_sqe:
        uint8_t flags
        uint32_t rw_flags
    struct io_uring_cqe:
        uint64_t user_data
        int32_t res
    struct io_uring_params:
        uint32_t flags
        uint32_t cq_entries
    struct ioring_kernel_timespec:
        int64_t tv_sec
        long long tv_nsec
    struct ioring:
        int ring_fd
    enum:
        IOSQE_FIXED_FILE
        IOSQE_IO_DRAIN
        IORING_FSYNC_DATASYNC
        IORING_ASYNC_CANCEL_ALL
        IORING_ASYNC_CANCEL_ANY
        IORING_ASYNC_CANCEL_FD_FIXED
        IORING_SETUP_CQSIZE
        IORING_OP_SYNC_FILE_RANGE
        EFD_CLOEXEC
    int eventfd(unsigned initval, int flags)
    int ioring_queue_init_params(unsigned entries, ioring *ring, io_uring_params *p)
    int ioring_queue_init(unsigned entries, ioring *ring, unsigned flags)
    void ioring_queue_exit(ioring *ring)
    io_uring_sqe *ioring_get_sqe(ioring *ring)
    int ioring_submit(ioring *ring)
    void ioring_cq_advance(ioring *ring, unsigned nr)
    int ioring_wait_cqes_timeout(ioring *ring, io_uring_cqe **cqe_ptr, unsigned submit, unsigned wait_nr,
                                 ioring_kernel_timespec *ts, void *sigmask)
    unsigned ioring_peek_batch_cqe(ioring *ring, io_uring_cqe **cqes, unsigned count)
    void ioring_sqe_set_data64(io_uring_sqe *sqe, uint64_t data)
    void ioring_prep_rw(int op, io_uring_sqe *sqe, int fd, const void *addr, unsigned len, uint64_t offset)
    void ioring_prep_nop(io_uring_sqe *sqe)
    void ioring_prep_read(io_uring_sqe *sqe, int fd, void *buf, unsigned nbytes, uint64_t offset)
    void ioring_prep_write(io_uring_sqe *sqe, int fd, const void *buf, unsigned nbytes, uint64_t offset)
    void ioring_prep_readv(io_uring_sqe *sqe, int fd, const iovec *iovecs, unsigned nr_vecs, uint64_t offset)
    void ioring_prep_writev(io_uring_sqe *sqe, int fd, const iovec *iovecs, unsigned nr_vecs, uint64_t offset)
    void ioring_prep_read_fixed(io_uring_sqe *sqe, int fd, void *buf, unsigned nbytes, uint64_t offset, int buf_index)
    void ioring_prep_write_fixed(io_uring_sqe *sqe, int fd, const void *buf, unsigned nbytes, uint64_t offset,
                                 int buf_index)
    void ioring_prep_fsync(io_uring_sqe *sqe, int fd, unsigned fsync_flags)
    void ioring_prep_cancel64(io_uring_sqe *sqe, uint64_t user_data, int flags)
    void ioring_prep_cancel_fd(io_uring_sqe *sqe, int fd, unsigned flags)
    int ioring_register_buffers(ioring *ring, const iovec *iovecs, unsigned nr_iovecs)
    int ioring_unregister_buffers(ioring *ring)
    int ioring_register_files(ioring *ring, const int *files, unsigned nr_files)
    int ioring_unregister_files(ioring *ring)
    int ioring_register_eventfd(ioring *ring, int fd)
    int ioring_unregister_eventfd(ioring *ring)

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

# Which backend runs: 1 = KernelBase.dll (the default on Windows), 0 = the io_uring emulation (the
# default elsewhere). Tests may switch it with _set_backend() to run the KernelBase path on Linux,
# where every ioring_win_* behaves as on a Windows without IoRing (E_NOTIMPL / FALSE).
cdef bint _kb = WINIORING_KERNELBASE
winioring_kb_load()

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

cdef enum:
    _MAX_SQ = 0x10000
    _MAX_CQ = 0x20000
    _URING_SQ = 1024
    _URING_CQ = 4096
    _OP_NOP = 0
    _OP_READ = 1
    _OP_REG_FILES = 2
    _OP_REG_BUFS = 3
    _OP_CANCEL = 4
    _OP_WRITE = 5
    _OP_FLUSH = 6
    _OP_SCATTER = 7
    _OP_GATHER = 8

cdef uint32_t _HR_EOF = 0x80070026            # HRESULT_FROM_WIN32(ERROR_HANDLE_EOF)
cdef uint32_t _HR_NOT_FOUND = 0x80070490      # HRESULT_FROM_WIN32(ERROR_NOT_FOUND)
cdef uint32_t _HR_INVALID_FUNCTION = 0x80070001   # STATUS_NOT_IMPLEMENTED (unknown op) [INF]
cdef uint32_t _HR_INDEX_OUT_OF_BOUNDS = 0x800701DA  # STATUS_INDEX_OUT_OF_BOUNDS [INF]
cdef uint32_t _HR_INVALID_USER_BUFFER = 0x800706F8  # STATUS_INVALID_USER_BUFFER [INF]
cdef uint32_t _HR_NOACCESS = 0x800703E6
cdef uint64_t _CLOSE_CANCEL_UD = 0xFFFFFFFFFFFFFFFF

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


cdef inline _fail(uint32_t hr, msg=None):
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
    cdef int fd                       # emulation, raw: the descriptor
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
    r.fd = <int>r.handle
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


cdef _C_HANDLE_REF _c_file(IORING_HANDLE_REF f):
    cdef _C_HANDLE_REF r
    memset(&r, 0, sizeof(r))
    r.Kind = f.Kind
    if f.Kind == 0:
        r.Handle.Handle = <HANDLE>f.handle
    else:
        r.Handle.Index = f.index
    return r


cdef _C_BUFFER_REF _c_buffer(IORING_BUFFER_REF b, _Buffer pin):
    cdef _C_BUFFER_REF r
    memset(&r, 0, sizeof(r))
    r.Kind = b.Kind
    if b.Kind == 0:
        r.Buffer.Address = pin.ptr
    else:
        r.Buffer.IndexAndOffset.BufferIndex = b.index
        r.Buffer.IndexAndOffset.Offset = b.offset
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


cdef uintptr_t _uptr(uint64_t v, str name) except? 0:
    """UINT_PTR: 32 bits on x86 Windows."""
    if sizeof(uintptr_t) < 8 and v > 0xFFFFFFFF:
        raise ValueError(f"{name}={v} does not fit in UINT_PTR")
    return <uintptr_t>v


cdef _kb_fail(HRESULT hr, str function):
    cdef uint32_t u = <uint32_t>hr
    if u == E_NOTIMPL and not winioring_kb_has(function.encode()):
        raise IoRingError(u, f"IoRing is unavailable: KernelBase.dll has no {function} (IoRing needs "
                             "Windows 11 / Server 2022, build 22000, or later; write/flush need 22H2, "
                             "scatter/gather 24H2)")
    raise IoRingError(u, function)


# ---- the ring --------------------------------------------------------------------------------
ctypedef struct _WSqe:
    uint32_t op
    uint32_t flags
    uint64_t user_data
    uint32_t file_kind
    int fd                      # raw fd or registered index
    uint32_t buf_kind
    char *addr                  # raw address
    uint32_t buf_index
    uint32_t buf_offset
    uint64_t offset
    uint32_t length
    uint32_t xflags             # FILE_WRITE_FLAGS / FILE_FLUSH_MODE
    uint64_t target             # cancel: opToCancel


@cython.final
cdef class _Iov:
    """The C iovec array of a scatter/gather entry, over pinned buffers."""
    cdef iovec *vecs
    cdef unsigned count
    cdef list pins

    def __dealloc__(self):
        free(self.vecs)


@cython.final
cdef class _Op:
    """An entry translated into io_uring requests, until its CQE reaches the Windows CQ."""
    cdef uint64_t key            # the io_uring user_data
    cdef uint64_t user_data
    cdef uint32_t op
    cdef uint32_t length
    cdef int fd
    cdef uint32_t file_kind
    cdef object pins
    cdef int remaining          # io_uring CQEs still expected
    cdef int found              # cancel: a target was found
    cdef uint32_t err           # cancel: first error other than not found
    cdef list targets           # cancel: keys of the requests it names, in flight when it was submitted
    cdef uint32_t result        # cancel: its HRESULT, while its CQE is held back for its targets'


cdef list _leaked = []          # pins of requests a closed ring could not reap

cdef class _EventPump           # the completion-event helper thread (_winioring_event.pxi)


@cython.final
cdef class HIORING:
    """An IoRing handle (CreateIoRing); close it with CloseIoRing."""
    cdef ioring ring
    cdef bint open
    cdef uint32_t version, required, advisory
    cdef uint32_t sq_size, cq_size
    cdef _WSqe *sq
    cdef uint32_t sq_head, sq_tail
    cdef list sq_pins
    cdef _C_CQE *cq
    cdef uint32_t cq_head, cq_tail
    cdef list cq_pins
    cdef dict inflight           # io_uring user_data -> _Op
    cdef uint64_t next_id
    cdef bint in_submit
    cdef list reg_bufs           # (address, length) per registered buffer slot
    cdef object reg_buf_pins
    cdef uint32_t reg_files
    cdef object reg_file_pins
    cdef object event            # KernelBase: the completion event HANDLE object given
    cdef int event_fd            # emulation: the ring's own duplicate of the event (eventfd), or -1
    cdef _EventPump pump         # emulation: the helper thread while an event is set
    cdef list held_cancels       # cancels whose CQE waits for their targets' CQEs
    cdef object lock
    cdef object __weakref__
    # KernelBase backend
    cdef bint kb                 # created by KernelBase (else: the emulation)
    cdef _C_HIORING native
    cdef dict pending            # userData -> [entries not yet popped, [their pins]]
    cdef list kept               # registration tables (pinned until CloseIoRing)

    def __repr__(self):
        if not self.open:
            return "<HIORING closed>"
        return f"<HIORING version={self.version} sq={self.sq_size} cq={self.cq_size} fd={self.ring.ring_fd}>"

    def __dealloc__(self):
        if self.open:
            if self.kb:
                self._kb_close()
            else:
                self._close()
        free(self.sq)
        free(self.cq)

    cdef int _check(self) except -1:
        if not self.open:
            raise IoRingError(E_HANDLE, "the HIORING is closed")
        return 0

    # -- KernelBase: pins. Windows matches a CQE with its entry only by UserData, so the objects an
    # entry pinned are released when the last unpopped entry with the same userData is popped. --
    cdef int _kb_built(self, HRESULT hr, uint64_t ud, object pins, str function) except -1:
        if hr < 0:
            _kb_fail(hr, function)
        group = self.pending.get(ud)
        if group is None:
            self.pending[ud] = [1, [pins]]
        else:
            group[0] += 1
            group[1].append(pins)
        return 0

    cdef void _kb_popped(self, uint64_t ud):
        group = self.pending.get(ud)
        if group is not None:
            group[0] -= 1
            if group[0] <= 0:
                del self.pending[ud]

    cdef void _kb_close(self):
        """Windows' CloseIoRing neither waits nor cancels: the completions already posted are popped
        (releasing their pins); the pins of entries still outstanding, and the registration tables
        then, are kept alive forever (like the emulation's unreapable requests)."""
        cdef _C_CQE e
        if self.native != NULL:
            while ioring_win_PopIoRingCompletion(self.native, &e) == 0:
                self._kb_popped(e.UserData)
            ioring_win_CloseIoRing(self.native)
        self.native = NULL
        self.open = False
        if self.pending:
            _leaked.append((list(self.pending.values()), self.kept))
        self.pending = {}
        self.kept = None
        self.event = None

    # -- the Windows CQ --
    cdef void _post(self, uint64_t user_data, uint32_t hr, uint64_t info, object pins):
        cdef uint32_t n = self.cq_tail - self.cq_head
        cdef _C_CQE *e
        if n >= self.cq_size:
            return                    # Windows drops a CQE silently when the CQ is full
        e = &self.cq[self.cq_tail & (self.cq_size - 1)]
        e.UserData = <uintptr_t>user_data
        e.ResultCode = <int>hr
        e.Information = <uintptr_t>info
        self.cq_pins[self.cq_tail & (self.cq_size - 1)] = pins
        self.cq_tail += 1
        if n == 0 and self.event_fd >= 0:
            try:
                _os.write(self.event_fd, _EVENTFD_ONE)
            except OSError:
                pass

    cdef void _complete(self, _Op o, int res):
        cdef uint32_t hr = 0
        cdef uint64_t info = 0
        if o.op == _OP_CANCEL:
            if res >= 0 or res == -EALREADY:
                o.found = 1
            elif res != -ENOENT and o.err == 0:
                o.err = _hr_from_errno(-res)
            o.remaining -= 1
            if o.remaining > 0:
                return
            hr = 0 if o.found else (o.err if o.err else _HR_NOT_FOUND)
            if self._targets_in_flight(o):
                # IORING_OP_CODE: the cancel's completion comes after its target's; io_uring may post it
                # first, so it waits (still outstanding) until the targets' CQEs are in the CQ.
                o.result = hr
                self.held_cancels.append(o)
                return
        elif res < 0:
            hr = _hr_from_errno(-res)
        elif o.op in (_OP_READ, _OP_SCATTER) and res == 0 and o.length > 0:
            hr = _HR_EOF
        elif o.op in (_OP_READ, _OP_WRITE, _OP_SCATTER, _OP_GATHER):
            info = <uint64_t>res
        del self.inflight[o.key]
        self._post(o.user_data, hr, info, o.pins)
        if self.held_cancels and o.op != _OP_CANCEL:
            self._post_held_cancels()

    cdef bint _targets_in_flight(self, _Op cancel):
        for k in cancel.targets:
            if k in self.inflight:
                return True
        return False

    cdef void _post_held_cancels(self):
        cdef _Op c
        for c in list(self.held_cancels):
            if not self._targets_in_flight(c):
                self.held_cancels.remove(c)
                del self.inflight[c.key]
                self._post(c.user_data, c.result, 0, c.pins)

    cdef void _harvest(self):
        """Move the io_uring CQEs into the Windows CQ."""
        cdef io_uring_cqe *cqes[64]
        cdef unsigned got, i
        cdef uint64_t ud
        cdef int res
        cdef _Op o
        while self.open:
            got = ioring_peek_batch_cqe(&self.ring, cqes, 64)
            if got == 0:
                return
            for i in range(got):
                ud = cqes[i].user_data
                res = cqes[i].res
                o = self.inflight.get(ud)
                if o is not None:
                    self._complete(o, res)
            ioring_cq_advance(&self.ring, got)

    cdef io_uring_sqe *_uring_sqe(self) except NULL:
        cdef io_uring_sqe *s = ioring_get_sqe(&self.ring)
        cdef int ret
        while s == NULL:
            ret = ioring_submit(&self.ring)
            if ret < 0 and ret != -EINTR:
                self._harvest()
            s = ioring_get_sqe(&self.ring)
        return s

    cdef _Op _new_op(self, _WSqe *w, object pins):
        cdef _Op o = _Op.__new__(_Op)
        self.next_id += 1
        o.key = self.next_id
        o.user_data = w.user_data
        o.op = w.op
        o.length = w.length
        o.fd = w.fd
        o.file_kind = w.file_kind
        o.pins = pins
        o.remaining = 1
        self.inflight[self.next_id] = o
        return o

    cdef uint32_t _supported(self, uint32_t op):
        if op <= _OP_CANCEL:
            return 1
        if op <= _OP_FLUSH:
            return self.version >= 300
        if op <= _OP_GATHER:
            return self.version >= 400
        return 0

    cdef int _translate(self, _WSqe *w, object pins) except -1:
        """One Windows SQE, in SQ order: io_uring requests, or a CQE posted right away."""
        cdef io_uring_sqe *s
        cdef _Op o
        cdef uint32_t hr
        cdef char *addr = NULL
        cdef int fd = w.fd
        cdef unsigned sflags = 0
        cdef _Iov iov
        cdef list targets
        cdef uint64_t key
        if not self._supported(w.op):
            self._post(w.user_data, _HR_INVALID_FUNCTION, 0, pins)
            return 0
        if w.op in (_OP_REG_FILES, _OP_REG_BUFS):
            self._register(w, pins)
            return 0
        if w.flags & ~1u:
            self._post(w.user_data, IORING_E_REQUIRED_FLAG_NOT_SUPPORTED, 0, pins)
            return 0
        if w.file_kind == 1:
            if <uint32_t>w.fd >= self.reg_files:
                self._post(w.user_data, _HR_INDEX_OUT_OF_BOUNDS, 0, pins)
                return 0
            sflags |= IOSQE_FIXED_FILE
        if w.flags & 1:
            sflags |= IOSQE_IO_DRAIN
        if w.op in (_OP_READ, _OP_WRITE):
            if w.buf_kind == 1:
                hr = self._registered_address(w, &addr)
                if hr:
                    self._post(w.user_data, hr, 0, pins)
                    return 0
                # The request uses the registered table of now: it keeps that table's buffers pinned
                # until its CQE is popped, even if a later REGISTER_BUFFERS replaces the table (the
                # kernel goes on writing into the old pages).
                pins = (pins, self.reg_buf_pins)
            else:
                addr = w.addr
        if w.op == _OP_CANCEL:
            o = self._new_op(w, pins)
            key = self.next_id
            targets = [k for k, t in self.inflight.items()
                       if (<_Op>t).op != _OP_CANCEL and (w.target == 0 or (<_Op>t).user_data == w.target)
                       and (<_Op>t).fd == fd and (<_Op>t).file_kind == w.file_kind]
            o.targets = targets
            if w.target == 0:
                s = self._uring_sqe()
                ioring_prep_cancel_fd(s, fd, IORING_ASYNC_CANCEL_ALL |
                                        (IORING_ASYNC_CANCEL_FD_FIXED if w.file_kind == 1 else 0))
                ioring_sqe_set_data64(s, key)
                return 0
            if not targets:
                del self.inflight[key]
                self._post(w.user_data, _HR_NOT_FOUND, 0, pins)
                return 0
            o.remaining = len(targets)
            for k in targets:
                s = self._uring_sqe()
                ioring_prep_cancel64(s, k, 0)
                ioring_sqe_set_data64(s, key)
            return 0
        o = self._new_op(w, pins)
        s = self._uring_sqe()
        if w.op == _OP_READ:
            if w.buf_kind == 1:
                ioring_prep_read_fixed(s, fd, addr, w.length, w.offset, w.buf_index)
            else:
                ioring_prep_read(s, fd, addr, w.length, w.offset)
        elif w.op == _OP_WRITE:
            if w.buf_kind == 1:
                ioring_prep_write_fixed(s, fd, addr, w.length, w.offset, w.buf_index)
            else:
                ioring_prep_write(s, fd, addr, w.length, w.offset)
            if w.xflags & 1:
                s.rw_flags = 0x2          # RWF_DSYNC
        elif w.op == _OP_FLUSH:
            if w.xflags == 0:
                ioring_prep_fsync(s, fd, 0)
            elif w.xflags == 2:
                ioring_prep_fsync(s, fd, IORING_FSYNC_DATASYNC)
            else:                         # DATA / NO_SYNC: write back, no device flush
                ioring_prep_rw(IORING_OP_SYNC_FILE_RANGE, s, fd, NULL, 0, 0)
                s.rw_flags = 0x2 | 0x4    # SYNC_FILE_RANGE_WRITE | WAIT_AFTER
        elif w.op in (_OP_SCATTER, _OP_GATHER):
            iov = <_Iov>pins[1]
            if w.op == _OP_SCATTER:
                ioring_prep_readv(s, fd, iov.vecs, iov.count, w.offset)
            else:
                ioring_prep_writev(s, fd, iov.vecs, iov.count, w.offset)
                if w.xflags & 1:
                    s.rw_flags = 0x2
        else:
            ioring_prep_nop(s)
        s.flags = sflags
        ioring_sqe_set_data64(s, self.next_id)
        return 0

    cdef uint32_t _registered_address(self, _WSqe *w, char **addr):
        cdef object slot
        if w.buf_index >= len(self.reg_bufs):
            return _HR_INDEX_OUT_OF_BOUNDS
        slot = self.reg_bufs[w.buf_index]
        if slot is None:
            return _HR_INVALID_USER_BUFFER
        base, blen = slot
        if <uint64_t>w.buf_offset + w.length > blen:
            return _HR_NOACCESS           # [INF] §6.4: the bounds check is unverified on Windows
        addr[0] = <char *><uintptr_t>base + w.buf_offset
        return 0

    cdef void _register(self, _WSqe *w, object pins):
        """REGISTER_FILES / REGISTER_BUFFERS at their SQ position: earlier entries are submitted
        first, then the whole table is replaced (count 0 unregisters), and the CQE is posted."""
        cdef int ret
        cdef uint32_t i, n
        cdef iovec *vecs
        cdef int *fds
        cdef _Buffer b
        ioring_submit(&self.ring)
        if w.op == _OP_REG_FILES:
            handles = pins
            n = len(handles)
            ioring_unregister_files(&self.ring)
            self.reg_files = 0
            self.reg_file_pins = None
            ret = 0
            if n:
                fds = <int *>calloc(n, sizeof(int))
                for i in range(n):
                    fds[i] = handles[i][0]
                ret = ioring_register_files(&self.ring, fds, n)
                free(fds)
                if ret >= 0:
                    self.reg_files = n
                    self.reg_file_pins = handles
            self._post(w.user_data, 0 if ret >= 0 else _hr_from_errno(-ret), n if ret >= 0 else 0, None)
            return
        bufs = pins
        n = len(bufs)
        ioring_unregister_buffers(&self.ring)
        self.reg_bufs = []
        self.reg_buf_pins = None
        ret = 0
        if n:
            vecs = <iovec *>calloc(n, sizeof(iovec))
            for i in range(n):
                if bufs[i] is not None:
                    b = <_Buffer>bufs[i][0]
                    vecs[i].iov_base = b.ptr
                    vecs[i].iov_len = bufs[i][1]
            ret = ioring_register_buffers(&self.ring, vecs, n)
            if ret >= 0:
                self.reg_bufs = [None if bufs[i] is None or vecs[i].iov_base == NULL
                                 else (<uintptr_t>vecs[i].iov_base, vecs[i].iov_len) for i in range(n)]
                self.reg_buf_pins = bufs
            free(vecs)
        self._post(w.user_data, 0 if ret >= 0 else _hr_from_errno(-ret), n if ret >= 0 else 0, None)

    cdef _WSqe *_build(self, object pins) except NULL:
        """The next Windows SQE slot (IORING_E_SUBMISSION_QUEUE_FULL when there is none)."""
        cdef _WSqe *w
        self._check()
        if self.sq_tail - self.sq_head >= self.sq_size:
            raise IoRingError(IORING_E_SUBMISSION_QUEUE_FULL)
        w = &self.sq[self.sq_tail & (self.sq_size - 1)]
        memset(w, 0, sizeof(_WSqe))
        self.sq_pins[self.sq_tail & (self.sq_size - 1)] = pins
        return w

    cdef void _close(self):
        cdef io_uring_sqe *s
        cdef double deadline
        cdef ioring_kernel_timespec ts
        cdef io_uring_cqe *cqe
        self._stop_pump()
        self.sq_pins = [None] * self.sq_size     # unsubmitted entries are discarded
        self.sq_head = self.sq_tail
        if self.inflight:
            # Windows neither waits nor cancels; the emulation cancels and reaps (bounded) so no
            # memory is written after CloseIoRing returns.
            s = ioring_get_sqe(&self.ring)
            if s == NULL:
                ioring_submit(&self.ring)
                s = ioring_get_sqe(&self.ring)
            if s != NULL:
                ioring_prep_cancel64(s, 0, IORING_ASYNC_CANCEL_ANY)
                ioring_sqe_set_data64(s, _CLOSE_CANCEL_UD)
            ioring_submit(&self.ring)
            deadline = _time.monotonic() + 2.0
            while self.inflight and _time.monotonic() < deadline:
                ts.tv_sec = 0
                ts.tv_nsec = 50000000
                ioring_wait_cqes_timeout(&self.ring, &cqe, 0, 1, &ts, NULL)
                self._harvest()
            if self.inflight:
                _leaked.append([(<_Op>o).pins for o in self.inflight.values()])
        self.inflight = {}
        self.held_cancels = []
        self.open = False
        ioring_queue_exit(&self.ring)
        self.cq_pins = None
        self.reg_buf_pins = None
        self.reg_file_pins = None
        if self.event_fd >= 0:
            _os.close(self.event_fd)
        self.event_fd = -1

    # -- the completion event (see _winioring_event.pxi) --
    cdef void _stop_pump(self):
        """Stops the helper thread. Joins it outside self.lock (it may be waiting for the lock)."""
        cdef _EventPump p
        if self.pump is None:         # (also: no lock yet when CreateIoRing fails early)
            return
        with self.lock:
            p = self.pump
            self.pump = None
        if p is None:
            return
        p.halt(True)
        if self.open:
            ioring_unregister_eventfd(&self.ring)

    cdef void _pump_harvest(self, _EventPump p):
        with self.lock:
            if self.pump is p and self.open:
                self._harvest()

    cdef int _set_event(self, int dup) except -1:
        """Makes ``dup`` (the ring's own eventfd, or -1 to clear) the completion event; takes ``dup``
        over (closed on failure). The previous duplicate is closed once nothing can write to it."""
        cdef int old, efd, ret
        with self.lock:
            if not self.open:
                if dup >= 0:
                    _os.close(dup)
                _fail(E_HANDLE, "the HIORING is closed")
            if dup >= 0 and self.pump is None:
                efd = eventfd(0, EFD_CLOEXEC)
                ret = ioring_register_eventfd(&self.ring, efd) if efd >= 0 else -_errno.ENOMEM
                if ret < 0:
                    if efd >= 0:
                        _os.close(efd)
                    _os.close(dup)
                    _fail(_hr_from_errno(-ret), "io_uring_register_eventfd")
                try:
                    self.pump = _EventPump.start(self, efd)
                except BaseException:
                    ioring_unregister_eventfd(&self.ring)
                    _os.close(efd)
                    _os.close(dup)
                    raise
            old = self.event_fd
            self.event_fd = dup       # _post writes the event under the lock
        if dup < 0:
            self._stop_pump()
        if old >= 0:
            _os.close(old)
        return 0


include "_winioring_event.pxi"


def QueryIoRingCapabilities():
    """QueryIoRingCapabilities(): IORING_CAPABILITIES of the emulation: MaxVersion 400, the Windows
    queue limits (65536 / 131072) and FeatureFlags UM_EMULATION | SET_COMPLETION_EVENT. Raises
    IoRingError(E_NOTIMPL) when the kernel has no io_uring."""
    global _probed
    cdef ioring r
    cdef int ret
    cdef _C_CAPS caps
    cdef HRESULT hr
    if _kb:
        memset(&caps, 0, sizeof(caps))
        hr = ioring_win_QueryIoRingCapabilities(&caps)
        if hr < 0:
            _kb_fail(hr, "QueryIoRingCapabilities")
        return IORING_CAPABILITIES(<uint32_t>caps.MaxVersion, caps.MaxSubmissionQueueSize,
                                   caps.MaxCompletionQueueSize, <uint32_t>caps.FeatureFlags)
    if _probed is None:
        ret = ioring_queue_init(1, &r, 0)
        _probed = ret
        if ret >= 0:
            ioring_queue_exit(&r)
    if _probed < 0:
        raise IoRingError(E_NOTIMPL, f"io_uring unavailable: {_os.strerror(-_probed)}")
    return IORING_CAPABILITIES(IORING_VERSION_4, _MAX_SQ, _MAX_CQ,
                               IORING_FEATURE_UM_EMULATION | IORING_FEATURE_SET_COMPLETION_EVENT)

_probed = None


cdef uint32_t _pow2(uint32_t v):
    cdef uint32_t p = 1
    while p < v:
        p <<= 1
    return p


def CreateIoRing(ioringVersion, flags, submissionQueueSize, completionQueueSize):
    """CreateIoRing(ioringVersion, flags, submissionQueueSize, completionQueueSize) -> HIORING.

    ``flags`` is an IORING_CREATE_FLAGS or a (Required, Advisory) pair. Version 1..400 (else
    IORING_E_VERSION_NOT_SUPPORTED), Required must be 0 (else IORING_E_REQUIRED_FLAG_NOT_SUPPORTED);
    unknown advisory flags are ignored. SQ: 0 -> 32, 1-7 -> 8, > 0x10000 ->
    IORING_E_SUBMISSION_QUEUE_TOO_BIG, else the next power of two. CQ: > 0x20000 ->
    IORING_E_COMPLETION_QUEUE_TOO_BIG, <= 2*SQ -> 2*SQ, else the next power of two. The io_uring
    underneath is sized independently (at most 1024 SQ / 4096 CQ entries, overflow kept by the
    kernel); GetIoRingInfo reports the Windows sizes."""
    cdef HIORING h
    cdef io_uring_params p
    cdef uint32_t version, required, advisory, sq, cq, csq
    cdef int ret
    cdef HRESULT hr
    cdef _C_CREATE_FLAGS cf
    cdef _C_HIORING native = NULL
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
        cf.Required = required
        cf.Advisory = advisory
        with nogil:
            hr = ioring_win_CreateIoRing(version, cf, sq, cq, &native)
        if hr < 0:
            _kb_fail(hr, "CreateIoRing")
        h = HIORING.__new__(HIORING)
        h.kb = True
        h.native = native
        h.open = True
        h.event_fd = -1
        h.version, h.required, h.advisory = version, required, advisory
        h.pending = {}
        h.kept = []
        h.lock = _threading.RLock()
        return h
    if version < 1 or version > 400:
        _fail(IORING_E_VERSION_NOT_SUPPORTED)
    if required != 0:
        _fail(IORING_E_REQUIRED_FLAG_NOT_SUPPORTED)
    if sq > _MAX_SQ:
        _fail(IORING_E_SUBMISSION_QUEUE_TOO_BIG)
    if cq > _MAX_CQ:
        _fail(IORING_E_COMPLETION_QUEUE_TOO_BIG)
    sq = 32 if sq == 0 else (8 if sq < 8 else _pow2(sq))
    cq = 2 * sq if cq <= 2 * sq else _pow2(cq)
    h = HIORING.__new__(HIORING)
    h.event_fd = -1
    memset(&p, 0, sizeof(p))
    csq = sq if sq < _URING_SQ else _URING_SQ
    p.flags = IORING_SETUP_CQSIZE
    p.cq_entries = cq if cq < _URING_CQ else _URING_CQ
    ret = ioring_queue_init_params(csq, &h.ring, &p)
    if ret < 0:
        raise IoRingError(_hr_from_errno(-ret) if -ret != _errno.ENOSYS else E_NOTIMPL,
                          f"io_uring_setup: {_os.strerror(-ret)}")
    h.open = True
    h.version, h.required, h.advisory = version, required, advisory
    h.sq_size, h.cq_size = sq, cq
    h.sq = <_WSqe *>calloc(sq, sizeof(_WSqe))
    h.cq = <_C_CQE *>calloc(cq, sizeof(_C_CQE))
    if h.sq == NULL or h.cq == NULL:
        h._close()
        raise MemoryError()
    h.sq_pins = [None] * sq
    h.cq_pins = [None] * cq
    h.inflight = {}
    h.held_cancels = []
    h.reg_bufs = []
    h.lock = _threading.RLock()
    return h


def GetIoRingInfo(HIORING ioRing not None):
    """GetIoRingInfo(ioRing) -> IORING_INFO: the version and flags given to CreateIoRing and the
    Windows-rule queue sizes."""
    cdef _C_INFO info
    cdef HRESULT hr
    ioRing._check()
    if ioRing.kb:
        memset(&info, 0, sizeof(info))
        hr = ioring_win_GetIoRingInfo(ioRing.native, &info)
        if hr < 0:
            _kb_fail(hr, "GetIoRingInfo")
        return IORING_INFO(<uint32_t>info.IoRingVersion,
                           IORING_CREATE_FLAGS(<uint32_t>info.Flags.Required, <uint32_t>info.Flags.Advisory),
                           info.SubmissionQueueSize, info.CompletionQueueSize)
    return IORING_INFO(ioRing.version, IORING_CREATE_FLAGS(ioRing.required, ioRing.advisory),
                       ioRing.sq_size, ioRing.cq_size)


def IsIoRingOpSupported(ioRing, op):
    """IsIoRingOpSupported(ioRing, op) -> bool (BOOL, as the header; the doc's HRESULT is wrong).
    Answered by the ring's version: v1/v2 NOP, READ, REGISTER_FILES, REGISTER_BUFFERS, CANCEL; v3
    adds WRITE, FLUSH; v4 adds READ_SCATTER, WRITE_GATHER. NOP is reported supported although no
    builder exists ([INF] §6.7). A bad handle or unknown op is False, never an error."""
    if not isinstance(ioRing, HIORING) or not (<HIORING>ioRing).open:
        return False
    if isinstance(op, bool) or not isinstance(op, int) or op < 0 or op > 0xFFFFFFFF:
        return False
    if (<HIORING>ioRing).kb:
        return ioring_win_IsIoRingOpSupported((<HIORING>ioRing).native, <int><uint32_t>op) != 0
    return bool((<HIORING>ioRing)._supported(op))


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
    cdef uint32_t new, outstanding, n, idx, need
    cdef ioring_kernel_timespec ts
    cdef io_uring_cqe *cqe
    cdef double deadline = 0, left
    cdef int ret
    cdef bint done
    cdef HRESULT hr
    cdef uint32_t submitted = 0
    ioRing._check()
    if ioRing.in_submit:
        _fail(IORING_E_SUBMIT_IN_PROGRESS)
    if ioRing.kb:
        ioRing.in_submit = True
        try:
            with ioRing.lock:          # Build* and Submit are not thread-safe on Windows
                with nogil:
                    hr = ioring_win_SubmitIoRing(ioRing.native, wait, ms, &submitted)
        finally:
            ioRing.in_submit = False
        # The timeout's HRESULT is unverified (reference 2.4, 6.1): accept the documented derivation
        # and the two plausible raw forms of WAIT_TIMEOUT / STATUS_TIMEOUT [INF].
        if <uint32_t>hr in (0x800705B4u, 0x80070102u, 0x102u):
            raise IoRingError(IORING_E_WAIT_TIMEOUT if hr >= 0 else <uint32_t>hr,
                              "the wait timed out (all entries were submitted)", submitted_entries=submitted)
        if hr < 0:
            _kb_fail(hr, "SubmitIoRing")
        return submitted
    with ioRing.lock:
        ioRing._harvest()
        new = ioRing.sq_tail - ioRing.sq_head
        if new > ioRing.sq_size:
            _fail(IORING_E_CORRUPT)
        if wait != 0xFFFFFFFF and wait > ioRing.cq_size:
            _fail(E_INVALIDARG, "waitOperations is larger than the completion queue")
        outstanding = new + len(ioRing.inflight) + (ioRing.cq_tail - ioRing.cq_head)
        if outstanding > ioRing.cq_size:
            _fail(IORING_E_COMPLETION_QUEUE_TOO_FULL)
        if wait != 0xFFFFFFFF and wait > outstanding:
            _fail(E_INVALIDARG, "waitOperations is larger than the operations outstanding")
        ioRing.in_submit = True
        try:
            for n in range(new):
                idx = ioRing.sq_head & (ioRing.sq_size - 1)
                pins = ioRing.sq_pins[idx]
                ioRing.sq_pins[idx] = None
                ioRing.sq_head += 1
                ioRing._translate(&ioRing.sq[idx], pins)
            ioring_submit(&ioRing.ring)
        except BaseException:
            ioRing.in_submit = False
            raise
    try:
        if wait == 0:
            return new
        if ms != 0xFFFFFFFF:
            deadline = _time.monotonic() + ms / 1000.0
        while True:
            with ioRing.lock:
                if not ioRing.open:
                    return new
                ioRing._harvest()
                if wait == 0xFFFFFFFF:
                    done = len(ioRing.inflight) == 0
                    need = len(ioRing.inflight) - len(ioRing.held_cancels)   # held: no io_uring CQE to come
                else:
                    done = ioRing.cq_tail - ioRing.cq_head >= wait
                    need = wait - (ioRing.cq_tail - ioRing.cq_head) if not done else 0
            if done:
                return new
            if ioRing.pump is not None or need == 0:
                need = 1
            if ms != 0xFFFFFFFF or ioRing.pump is not None:
                left = deadline - _time.monotonic() if ms != 0xFFFFFFFF else 0.05
                if left <= 0:
                    raise IoRingError(IORING_E_WAIT_TIMEOUT, "the wait timed out (all entries were submitted)",
                                      submitted_entries=new)
                if ioRing.pump is not None and left > 0.05:
                    left = 0.05           # the event thread may take the CQEs: poll the Windows CQ
                ts.tv_sec = <long long>left
                ts.tv_nsec = <long long>((left - <long long>left) * 1e9)
                ret = ioring_wait_cqes_timeout(&ioRing.ring, &cqe, 0, need, &ts, NULL)
            else:
                ret = ioring_wait_cqes_timeout(&ioRing.ring, &cqe, 0, need, NULL, NULL)
            if ret == -EINTR:
                PyErr_CheckSignals()
    finally:
        ioRing.in_submit = False


def PopIoRingCompletion(HIORING ioRing not None):
    """PopIoRingCompletion(ioRing) -> IORING_CQE, or None when the CQ is empty (S_FALSE). Never
    blocks. Popping releases the buffers pinned by the operation. EOF on a read of more than 0
    bytes is ResultCode 0x80070026 (HRESULT_FROM_WIN32(ERROR_HANDLE_EOF)); errno values map per
    ERRNO_TO_HRESULT; Information is the byte count for reads/writes, the entry count for
    registrations, 0 otherwise."""
    cdef _C_CQE *e
    cdef _C_CQE ce
    cdef uint32_t idx
    cdef HRESULT hr
    ioRing._check()
    if ioRing.kb:
        memset(&ce, 0, sizeof(ce))
        hr = ioring_win_PopIoRingCompletion(ioRing.native, &ce)
        if hr == 1:                    # S_FALSE: empty
            return None
        if hr < 0:
            _kb_fail(hr, "PopIoRingCompletion")
        ioRing._kb_popped(ce.UserData)
        return IORING_CQE(ce.UserData, <uint32_t>ce.ResultCode, ce.Information)
    with ioRing.lock:
        ioRing._harvest()
        if ioRing.cq_tail == ioRing.cq_head:
            return None
        idx = ioRing.cq_head & (ioRing.cq_size - 1)
        e = &ioRing.cq[idx]
        out = IORING_CQE(e.UserData, (<uint32_t>e.ResultCode), e.Information)
        ioRing.cq_pins[idx] = None
        ioRing.cq_head += 1
        return out


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
    cdef int dup
    cdef HRESULT hr
    cdef intptr_t hv = 0
    ioRing._check()
    if ioRing.kb:
        if hEvent is not None:
            if isinstance(hEvent, int) and not isinstance(hEvent, bool) and hEvent == -1:
                _fail(E_INVALIDARG, "INVALID_HANDLE_VALUE is not an event")
            try:
                hv = _handle_value(hEvent)
            except ValueError:
                _fail(E_HANDLE, f"invalid event handle {hEvent!r}")
        hr = ioring_win_SetIoRingCompletionEvent(ioRing.native, <HANDLE>hv)
        if hr < 0:
            _kb_fail(hr, "SetIoRingCompletionEvent")
        ioRing.event = hEvent
        return None
    ioRing._set_event(-1 if hEvent is None else _event_duplicate(hEvent))
    return None


def CloseIoRing(HIORING ioRing not None):
    """CloseIoRing(ioRing): discards built-but-unsubmitted entries and closes the ring. Unlike
    Windows (which neither waits nor cancels), in-flight operations are cancelled and reaped (for
    up to 2 s; buffers of any left are kept alive forever) so no memory is touched afterwards.
    Any later call with this handle raises E_HANDLE (Windows would fault). On Windows, KernelBase's
    CloseIoRing is called after popping the completions already posted; it neither waits nor cancels,
    so the buffers of entries still outstanding are kept alive forever: drain (SubmitIoRing with
    IORING_SUBMIT_WAIT_ALL, then pop) or cancel before closing."""
    ioRing._check()
    if ioRing.kb:
        with ioRing.lock:
            ioRing._kb_close()
        return None
    ioRing._stop_pump()
    with ioRing.lock:
        ioRing._close()


cdef uint32_t _sqe_flags(HIORING r, object sqeFlags) except? 0xFFFFFFFF:
    cdef uint32_t f = _u32(sqeFlags, "sqeFlags")
    if f & ~1u and not (r.advisory & 1):
        _fail(IORING_E_REQUIRED_FLAG_NOT_SUPPORTED, f"unknown sqeFlags {f:#x}")
    return f


cdef int _check_op_version(HIORING r, uint32_t op) except -1:
    """Emulation: an op newer than the ring's version (IsIoRingOpSupported FALSE: WRITE/FLUSH before
    IORING_VERSION_3, scatter/gather before IORING_VERSION_4) is refused by its builder with
    IORING_E_VERSION_NOT_SUPPORTED [INF: Windows' exact HRESULT is unverified], before anything is
    queued or pinned. With IORING_CREATE_SKIP_BUILDER_PARAM_CHECKS the entry is queued and completes
    with 0x80070001, like every other builder check moved to the CQE. KernelBase decides on Windows."""
    if not r.kb and not (r.advisory & 1) and not r._supported(op):
        _fail(IORING_E_VERSION_NOT_SUPPORTED,
              f"{_OP_NAMES[op]} needs IORING_VERSION_{3 if op <= _OP_FLUSH else 4} "
              f"({300 if op <= _OP_FLUSH else 400}); this ring is version {r.version}")
    return 0

_OP_NAMES = {_OP_WRITE: "IORING_OP_WRITE", _OP_FLUSH: "IORING_OP_FLUSH", _OP_SCATTER: "IORING_OP_READ_SCATTER",
             _OP_GATHER: "IORING_OP_WRITE_GATHER"}


cdef IORING_HANDLE_REF _file_ref(object fileRef):
    if not isinstance(fileRef, IORING_HANDLE_REF):
        if fileRef is not None and (isinstance(fileRef, int) or hasattr(fileRef, "fileno")):
            return IoRingHandleRefFromHandle(fileRef)
        raise TypeError(f"an IORING_HANDLE_REF is required, not {type(fileRef).__name__}")
    return fileRef


cdef object _rw_build(HIORING r, uint32_t op, object fileRef, object bufferRef, object nbytes, object fileOffset,
                      uint32_t xflags, object userData, object sqeFlags):
    cdef IORING_HANDLE_REF f = _file_ref(fileRef)
    cdef IORING_BUFFER_REF b
    cdef uint32_t length = _u32(nbytes, "numberOfBytes")
    cdef uint64_t offset = _u64(fileOffset, "fileOffset")
    cdef uint64_t ud = _u64(userData, "userData")
    cdef uint32_t flags
    cdef _Buffer pin = None
    cdef _WSqe *w
    cdef HRESULT hr
    if not isinstance(bufferRef, IORING_BUFFER_REF):
        raise TypeError(f"an IORING_BUFFER_REF is required, not {type(bufferRef).__name__}")
    b = bufferRef
    r._check()
    _check_op_version(r, op)
    flags = _sqe_flags(r, sqeFlags)
    if b.Kind == 0:
        pin = _Buffer(b.obj, op == _OP_READ)
        if length > pin.nbytes:
            raise ValueError(f"numberOfBytes={length} is larger than the buffer ({pin.nbytes} bytes)")
    if r.kb:
        with r.lock:
            r._check()
            if op == _OP_READ:
                hr = ioring_win_BuildIoRingReadFile(r.native, _c_file(f), _c_buffer(b, pin), length, offset,
                                                    _uptr(ud, "userData"), flags)
            else:
                hr = ioring_win_BuildIoRingWriteFile(r.native, _c_file(f), _c_buffer(b, pin), length, offset,
                                                     xflags, _uptr(ud, "userData"), flags)
            r._kb_built(hr, ud, (f, b, pin), "BuildIoRingReadFile" if op == _OP_READ else "BuildIoRingWriteFile")
        return None
    w = r._build((f, b, pin))
    w.op = op
    w.flags = flags
    w.user_data = ud
    w.file_kind = f.Kind
    w.fd = f.fd if f.Kind == 0 else <int>f.index
    w.buf_kind = b.Kind
    w.addr = pin.ptr if pin is not None else NULL
    w.buf_index = b.index
    w.buf_offset = b.offset
    w.offset = offset
    w.length = length
    w.xflags = xflags
    r.sq_tail += 1
    return None


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
    cdef uint32_t wf = _u32(writeFlags, "writeFlags")
    if wf & ~1u and not (ioRing.advisory & 1):
        _fail(IORING_E_REQUIRED_FLAG_NOT_SUPPORTED, f"unknown writeFlags {wf:#x}")
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
    cdef uint32_t flags
    cdef _WSqe *w
    cdef HRESULT hr
    ioRing._check()
    _check_op_version(ioRing, _OP_FLUSH)
    flags = _sqe_flags(ioRing, sqeFlags)
    if mode > 3:
        _fail(E_INVALIDARG, f"unknown flushMode {mode}")
    if ioRing.kb:
        with ioRing.lock:
            ioRing._check()
            hr = ioring_win_BuildIoRingFlushFile(ioRing.native, _c_file(f), mode, _uptr(ud, "userData"), flags)
            ioRing._kb_built(hr, ud, (f,), "BuildIoRingFlushFile")
        return None
    w = ioRing._build((f,))
    w.op = _OP_FLUSH
    w.flags = flags
    w.user_data = ud
    w.file_kind = f.Kind
    w.fd = f.fd if f.Kind == 0 else <int>f.index
    w.xflags = mode
    ioRing.sq_tail += 1


cdef object _sg_build(HIORING r, uint32_t op, object fileRef, object segmentCount, object segmentArray,
                      object nbytes, object fileOffset, uint32_t xflags, object userData, object sqeFlags):
    cdef IORING_HANDLE_REF f = _file_ref(fileRef)
    cdef list segs = list(segmentArray)
    cdef uint32_t n = len(segs) if segmentCount is None else _u32(segmentCount, "segmentCount")
    cdef uint32_t length = _u32(nbytes, "numberOfBytes")
    cdef uint64_t offset = _u64(fileOffset, "fileOffset")
    cdef uint64_t ud = _u64(userData, "userData")
    cdef uint32_t flags, i
    cdef uint64_t left = length
    cdef _Iov iov
    cdef _Buffer b
    cdef _WSqe *w
    cdef _CArray segs_c
    cdef HRESULT hr
    if n > len(segs):
        raise ValueError(f"segmentCount={n} is larger than the segment array ({len(segs)})")
    if n == 0:
        raise ValueError("at least one segment is required")
    r._check()
    _check_op_version(r, op)
    flags = _sqe_flags(r, sqeFlags)
    iov = _Iov.__new__(_Iov)
    iov.vecs = <iovec *>calloc(n, sizeof(iovec))
    if iov.vecs == NULL:
        raise MemoryError()
    iov.pins = []
    for i in range(n):
        seg = segs[i]
        if isinstance(seg, FILE_SEGMENT_ELEMENT):
            seg = seg.Buffer
        b = _Buffer(seg, op == _OP_SCATTER)
        iov.pins.append(b)
        iov.vecs[i].iov_base = b.ptr
        iov.vecs[i].iov_len = b.nbytes if <uint64_t>b.nbytes < left else left
        left -= iov.vecs[i].iov_len
    if left:
        raise ValueError(f"numberOfBytes={length} is larger than the segments hold")
    iov.count = n
    if r.kb:
        segs_c = _c_array(n, sizeof(_C_SEGMENT))
        for i in range(n):
            (<_C_SEGMENT *>segs_c.p)[i].Buffer = iov.vecs[i].iov_base
        with r.lock:
            r._check()
            if op == _OP_SCATTER:
                hr = ioring_win_BuildIoRingReadFileScatter(r.native, _c_file(f), n, <_C_SEGMENT *>segs_c.p, length,
                                                           offset, _uptr(ud, "userData"), flags)
            else:
                hr = ioring_win_BuildIoRingWriteFileGather(r.native, _c_file(f), n, <_C_SEGMENT *>segs_c.p, length,
                                                           offset, xflags, _uptr(ud, "userData"), flags)
            r._kb_built(hr, ud, (f, iov, segs_c), "BuildIoRingReadFileScatter" if op == _OP_SCATTER
                        else "BuildIoRingWriteFileGather")
        return None
    w = r._build((f, iov))
    w.op = op
    w.flags = flags
    w.user_data = ud
    w.file_kind = f.Kind
    w.fd = f.fd if f.Kind == 0 else <int>f.index
    w.offset = offset
    w.length = length
    w.xflags = xflags
    r.sq_tail += 1
    return None


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
    cdef uint32_t wf = _u32(writeFlags, "writeFlags")
    if wf & ~1u and not (ioRing.advisory & 1):
        _fail(IORING_E_REQUIRED_FLAG_NOT_SUPPORTED, f"unknown writeFlags {wf:#x}")
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
    cdef _WSqe *w
    cdef HRESULT hr
    ioRing._check()
    if ioRing.kb:
        with ioRing.lock:
            ioRing._check()
            hr = ioring_win_BuildIoRingCancelRequest(ioRing.native, _c_file(f), _uptr(target, "opToCancel"),
                                                     _uptr(ud, "userData"))
            ioRing._kb_built(hr, ud, (f,), "BuildIoRingCancelRequest")
        return None
    w = ioRing._build((f,))
    w.op = _OP_CANCEL
    w.user_data = ud
    w.file_kind = f.Kind
    w.fd = f.fd if f.Kind == 0 else <int>f.index
    w.target = target
    ioRing.sq_tail += 1


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
    cdef _WSqe *w
    cdef _CArray arr
    cdef HRESULT hr
    if n > len(items):
        raise ValueError(f"count={n} is larger than the buffer array ({len(items)})")
    ioRing._check()
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
    if ioRing.kb:
        arr = _c_array(n, sizeof(_C_BUFFER_INFO))
        for i in range(n):
            if table[i] is not None:
                (<_C_BUFFER_INFO *>arr.p)[i].Address = (<_Buffer>table[i][0]).ptr
                (<_C_BUFFER_INFO *>arr.p)[i].Length = table[i][1]
        with ioRing.lock:
            ioRing._check()
            hr = ioring_win_BuildIoRingRegisterBuffers(ioRing.native, n, <_C_BUFFER_INFO *>arr.p if n else NULL,
                                                       _uptr(ud, "userData"))
            ioRing._kb_built(hr, ud, (arr, table), "BuildIoRingRegisterBuffers")
            ioRing.kept.append(table)
        return None
    w = ioRing._build(table)
    w.op = _OP_REG_BUFS
    w.user_data = ud
    w.length = n
    ioRing.sq_tail += 1


def BuildIoRingRegisterFileHandles(HIORING ioRing not None, count, handles, userData):
    """BuildIoRingRegisterFileHandles(ioRing, count, handles, userData): queues a REGISTER_FILES. At its SQ
    position the whole table is replaced by ``handles`` (fds or objects with fileno(); INVALID_HANDLE_VALUE
    (-1) is a sparse slot; count None = all; 0 unregisters); it completes with its own CQE (Information =
    count). The handles are not duplicated: keep them open while registered."""
    cdef list items = list(handles) if handles is not None else []
    cdef uint32_t n = len(items) if count is None else _u32(count, "count")
    cdef uint64_t ud = _u64(userData, "userData")
    cdef _WSqe *w
    cdef _CArray arr
    cdef HRESULT hr
    cdef uint32_t i
    if n > len(items):
        raise ValueError(f"count={n} is larger than the handle array ({len(items)})")
    table = [(_handle_value(items[i], True), items[i]) for i in range(n)]
    ioRing._check()
    if ioRing.kb:
        arr = _c_array(n, sizeof(HANDLE))
        for i in range(n):
            (<HANDLE *>arr.p)[i] = <HANDLE><intptr_t>table[i][0]
        with ioRing.lock:
            ioRing._check()
            hr = ioring_win_BuildIoRingRegisterFileHandles(ioRing.native, n, <HANDLE *>arr.p if n else NULL,
                                                           _uptr(ud, "userData"))
            ioRing._kb_built(hr, ud, (arr, table), "BuildIoRingRegisterFileHandles")
            ioRing.kept.append(table)
        return None
    w = ioRing._build(table)
    w.op = _OP_REG_FILES
    w.user_data = ud
    w.length = n
    ioRing.sq_tail += 1


def _set_backend(kernelbase, functions=None):
    """Tests only: run the KernelBase path (True) or the io_uring emulation (False) for the calls and
    rings created from now on. ``functions`` maps API names to C function addresses (int; 0 or None
    removes one) to install in the dispatch table: on Linux it starts empty, so the KernelBase path
    behaves as a Windows without IoRing (E_NOTIMPL) until a fake (tests/c/win/fake_kernelbase.c) is
    installed."""
    global _kb
    if functions:
        for name, address in functions.items():
            if winioring_kb_set(name.encode(), <_C_FN><uintptr_t>(address or 0)) < 0:
                raise ValueError(f"{name!r} is not an IoRing function of the dispatch table")
    _kb = bool(kernelbase)


def _leaked_count():
    """Tests only: how many groups of pins closed rings kept alive forever (unreapable requests)."""
    return len(_leaked)


def _backend():
    """"KernelBase.dll" or "io_uring emulation": the backend CreateIoRing uses now."""
    return "KernelBase.dll" if _kb else "io_uring emulation"
