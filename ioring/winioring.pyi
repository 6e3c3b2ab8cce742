"""Stubs for ioring.winioring: the Windows IoRing API (ioringapi.h): KernelBase.dll on Windows, emulated
over io_uring on Linux."""
from typing import Any, Iterable, Optional, Sequence, Union, final
from typing_extensions import Buffer as _BufferLike

# Linux: a file descriptor or an object with fileno(); Windows: an int HANDLE value or an object with
# fileno() (its msvcrt.get_osfhandle()).
_Handle = Union[int, Any]

E_FAIL: int
E_HANDLE: int
E_INVALIDARG: int
E_NOTIMPL: int
E_OUTOFMEMORY: int
FACILITY_IORING: int
FILE_FLUSH_DATA: int
FILE_FLUSH_DEFAULT: int
FILE_FLUSH_MIN_METADATA: int
FILE_FLUSH_NO_SYNC: int
FILE_WRITE_FLAGS_NONE: int
FILE_WRITE_FLAGS_WRITE_THROUGH: int
INFINITE: int
INVALID_HANDLE_VALUE: int
IORING_CREATE_ADVISORY_FLAGS_NONE: int
IORING_CREATE_REQUIRED_FLAGS_NONE: int
IORING_CREATE_SKIP_BUILDER_PARAM_CHECKS: int
IORING_E_COMPLETION_QUEUE_TOO_BIG: int
IORING_E_COMPLETION_QUEUE_TOO_FULL: int
IORING_E_CORRUPT: int
IORING_E_REQUIRED_FLAG_NOT_SUPPORTED: int
IORING_E_SUBMISSION_QUEUE_FULL: int
IORING_E_SUBMISSION_QUEUE_TOO_BIG: int
IORING_E_SUBMIT_IN_PROGRESS: int
IORING_E_VERSION_NOT_SUPPORTED: int
IORING_E_WAIT_TIMEOUT: int
IORING_FEATURE_FLAGS_NONE: int
IORING_FEATURE_SET_COMPLETION_EVENT: int
IORING_FEATURE_UM_EMULATION: int
IORING_OP_CANCEL: int
IORING_OP_FLUSH: int
IORING_OP_NOP: int
IORING_OP_READ: int
IORING_OP_READ_SCATTER: int
IORING_OP_REGISTER_BUFFERS: int
IORING_OP_REGISTER_FILES: int
IORING_OP_WRITE: int
IORING_OP_WRITE_GATHER: int
IORING_REF_RAW: int
IORING_REF_REGISTERED: int
IORING_SUBMIT_WAIT_ALL: int
IORING_VERSION_1: int
IORING_VERSION_2: int
IORING_VERSION_3: int
IORING_VERSION_4: int
IORING_VERSION_INVALID: int
IOSQE_FLAGS_DRAIN_PRECEDING_OPS: int
IOSQE_FLAGS_NONE: int
S_FALSE: int
S_OK: int
ERRNO_TO_HRESULT: dict[int, int]


class IoRingError(OSError):
    hresult: int
    submitted_entries: Optional[int]
    def __init__(self, hresult: int, message: Optional[str] = ..., submitted_entries: Optional[int] = ...) -> None: ...

def HRESULT_FROM_WIN32(x: int) -> int: ...
def SUCCEEDED(hr: int) -> bool: ...
def FAILED(hr: int) -> bool: ...

class IORING_CREATE_FLAGS:
    Required: int
    Advisory: int
    def __init__(self, Required: int = ..., Advisory: int = ...) -> None: ...

class IORING_INFO:
    IoRingVersion: int
    Flags: IORING_CREATE_FLAGS
    SubmissionQueueSize: int
    CompletionQueueSize: int
    def __init__(self, IoRingVersion: int, Flags: IORING_CREATE_FLAGS, SubmissionQueueSize: int,
                 CompletionQueueSize: int) -> None: ...

class IORING_CAPABILITIES:
    MaxVersion: int
    MaxSubmissionQueueSize: int
    MaxCompletionQueueSize: int
    FeatureFlags: int
    def __init__(self, MaxVersion: int, MaxSubmissionQueueSize: int, MaxCompletionQueueSize: int,
                 FeatureFlags: int) -> None: ...

class IORING_CQE:
    UserData: int
    ResultCode: int
    Information: int
    def __init__(self, UserData: int, ResultCode: int, Information: int) -> None: ...

class IORING_REGISTERED_BUFFER:
    BufferIndex: int
    Offset: int
    def __init__(self, BufferIndex: int, Offset: int) -> None: ...

@final
class IORING_HANDLE_REF:
    @property
    def Kind(self) -> int: ...
    @property
    def Handle(self) -> Any: ...   # .Handle (raw) / .Index (registered)

@final
class IORING_BUFFER_REF:
    @property
    def Kind(self) -> int: ...
    @property
    def Buffer(self) -> Any: ...   # .Address (raw) / .IndexAndOffset (registered)

class IORING_BUFFER_INFO:
    Address: Optional[_BufferLike]
    Length: int
    def __init__(self, Address: Optional[_BufferLike], Length: Optional[int] = ...) -> None: ...

class FILE_SEGMENT_ELEMENT:
    Buffer: _BufferLike
    def __init__(self, Buffer: _BufferLike) -> None: ...

@final
class HIORING: ...

def IoRingHandleRefFromHandle(h: _Handle) -> IORING_HANDLE_REF: ...
def IoRingHandleRefFromIndex(i: int) -> IORING_HANDLE_REF: ...
def IoRingBufferRefFromPointer(p: _BufferLike) -> IORING_BUFFER_REF: ...
def IoRingBufferRefFromIndexAndOffset(i: int, o: int) -> IORING_BUFFER_REF: ...

def QueryIoRingCapabilities() -> IORING_CAPABILITIES: ...
def CreateIoRing(ioringVersion: int, flags: Union[IORING_CREATE_FLAGS, tuple[int, int]], submissionQueueSize: int,
                 completionQueueSize: int) -> HIORING: ...
def GetIoRingInfo(ioRing: HIORING) -> IORING_INFO: ...
def IsIoRingOpSupported(ioRing: Any, op: int) -> bool: ...
def SubmitIoRing(ioRing: HIORING, waitOperations: int, milliseconds: int) -> int: ...
def PopIoRingCompletion(ioRing: HIORING) -> Optional[IORING_CQE]: ...
def SetIoRingCompletionEvent(ioRing: HIORING, hEvent: Optional[_Handle]) -> None: ...
def CloseIoRing(ioRing: HIORING) -> None: ...
def BuildIoRingReadFile(ioRing: HIORING, fileRef: Union[IORING_HANDLE_REF, _Handle], dataRef: IORING_BUFFER_REF,
                        numberOfBytesToRead: int, fileOffset: int, userData: int, sqeFlags: int = ...) -> None: ...
def BuildIoRingWriteFile(ioRing: HIORING, fileRef: Union[IORING_HANDLE_REF, _Handle], bufferRef: IORING_BUFFER_REF,
                         numberOfBytesToWrite: int, fileOffset: int, writeFlags: int, userData: int,
                         sqeFlags: int = ...) -> None: ...
def BuildIoRingFlushFile(ioRing: HIORING, fileRef: Union[IORING_HANDLE_REF, _Handle], flushMode: int, userData: int,
                         sqeFlags: int = ...) -> None: ...
def BuildIoRingReadFileScatter(ioRing: HIORING, fileRef: Union[IORING_HANDLE_REF, _Handle],
                               segmentCount: Optional[int], segmentArray: Iterable[Union[FILE_SEGMENT_ELEMENT, _BufferLike]],
                               numberOfBytesToRead: int, fileOffset: int, userData: int,
                               sqeFlags: int = ...) -> None: ...
def BuildIoRingWriteFileGather(ioRing: HIORING, fileRef: Union[IORING_HANDLE_REF, _Handle],
                               segmentCount: Optional[int], segmentArray: Iterable[Union[FILE_SEGMENT_ELEMENT, _BufferLike]],
                               numberOfBytesToWrite: int, fileOffset: int, writeFlags: int, userData: int,
                               sqeFlags: int = ...) -> None: ...
def BuildIoRingCancelRequest(ioRing: HIORING, file: Union[IORING_HANDLE_REF, _Handle], opToCancel: int,
                             userData: int) -> None: ...
def BuildIoRingRegisterBuffers(ioRing: HIORING, count: Optional[int],
                               buffers: Iterable[Union[IORING_BUFFER_INFO, _BufferLike, None]], userData: int) -> None: ...
def BuildIoRingRegisterFileHandles(ioRing: HIORING, count: Optional[int], handles: Iterable[_Handle],
                                   userData: int) -> None: ...
