/* winioring.h -- our own declarations of the Windows IoRing API (ioringapi.h, ntioring_x.h and the
 * IoRing parts of winbase.h / winerror.h) through IORING_VERSION_4, written from the public
 * documentation (docs: /work/shared/reference/windows-ioring.md, sections 1.2 to 1.5).
 *
 * - On Windows it may be included alone or AFTER <ioringapi.h> / <ntioring_x.h> of an older SDK or
 *   mingw-w64 (v10 has only version 1): whatever that header already declares is not redeclared;
 *   the newer enumerators it lacks (IORING_VERSION_2/3/4, IORING_OP_WRITE...) become macros of the
 *   enum type. Do not include the SDK header after this one.
 *   WINIORING_SDK_HAS_V3 / WINIORING_SDK_HAS_V4 may be predefined (0/1) to override the detection.
 * - On any other system (Linux: the emulation in ioring/_winioring_linux.pyx) the Windows base types
 *   (HANDLE, HRESULT, UINT32, UINT_PTR...) are defined here with their Windows sizes and the
 *   functions are not declared (the Python module is the implementation).
 * - The documented struct sizes and offsets (x64 and x86) are checked with _Static_assert.
 */
#ifndef IORING_WINIORING_H
#define IORING_WINIORING_H

#include <stddef.h>

#ifdef _WIN32
#  include <windows.h>
#  if defined(_APISET_IORING_) || defined(_NTIORINGX_H_) || defined(_NTIORING_X_H_)
#    define WINIORING_SDK_HAS_V1 1
#  else
#    define WINIORING_SDK_HAS_V1 0
#  endif
#  ifndef WINIORING_SDK_HAS_V3
#    if !WINIORING_SDK_HAS_V1
#      define WINIORING_SDK_HAS_V3 0
#    elif defined(__MINGW64_VERSION_MAJOR)
#      define WINIORING_SDK_HAS_V3 (__MINGW64_VERSION_MAJOR >= 12)
#    elif defined(NTDDI_WIN10_NI)
#      define WINIORING_SDK_HAS_V3 (NTDDI_VERSION >= NTDDI_WIN10_NI)
#    else
#      define WINIORING_SDK_HAS_V3 0
#    endif
#  endif
#  ifndef WINIORING_SDK_HAS_V4
#    if !WINIORING_SDK_HAS_V1
#      define WINIORING_SDK_HAS_V4 0
#    elif defined(__MINGW64_VERSION_MAJOR)
#      define WINIORING_SDK_HAS_V4 (__MINGW64_VERSION_MAJOR >= 13)
#    elif defined(NTDDI_WIN11_GE)
#      define WINIORING_SDK_HAS_V4 (NTDDI_VERSION >= NTDDI_WIN11_GE)
#    else
#      define WINIORING_SDK_HAS_V4 0
#    endif
#  endif
#  define WINIORING_API(ret) EXTERN_C ret WINAPI
#else  /* not Windows: the base types with their Windows sizes */
#  include <stdint.h>
#  define WINIORING_SDK_HAS_V1 0
#  define WINIORING_SDK_HAS_V3 0
#  define WINIORING_SDK_HAS_V4 0
typedef void *HANDLE;
typedef int32_t HRESULT;
typedef int BOOL;
typedef uint32_t UINT32;
typedef uint64_t UINT64;
typedef uint64_t ULONGLONG;
typedef uintptr_t UINT_PTR;
typedef uintptr_t ULONG_PTR;
typedef void *PVOID64;
#  ifndef MAXUINT32
#    define MAXUINT32 ((UINT32)~((UINT32)0))
#  endif
#  ifndef INFINITE
#    define INFINITE 0xFFFFFFFF
#  endif
#  ifndef S_OK
#    define S_OK ((HRESULT)0)
#    define S_FALSE ((HRESULT)1)
#  endif
#  ifndef INVALID_HANDLE_VALUE
#    define INVALID_HANDLE_VALUE ((HANDLE)(intptr_t)-1)
#  endif
typedef struct HIORING__ { int unused; } *HIORING;
typedef union _FILE_SEGMENT_ELEMENT {
    PVOID64 Buffer;
    ULONGLONG Alignment;
} FILE_SEGMENT_ELEMENT, *PFILE_SEGMENT_ELEMENT;
#endif


/* ---- ntioring_x.h ------------------------------------------------------------------------ */
#if !WINIORING_SDK_HAS_V1
typedef enum IORING_VERSION {
    IORING_VERSION_INVALID = 0,
    IORING_VERSION_1 = 1,
    IORING_VERSION_2 = 2,
    IORING_VERSION_3 = 300,
    IORING_VERSION_4 = 400
} IORING_VERSION;

typedef enum IORING_FEATURE_FLAGS {
    IORING_FEATURE_FLAGS_NONE = 0,
    IORING_FEATURE_UM_EMULATION = 0x00000001,
    IORING_FEATURE_SET_COMPLETION_EVENT = 0x00000002
} IORING_FEATURE_FLAGS;

/* The Linux io_uring ABI (ioring/abi.h, <linux/io_uring.h>) has its own IORING_OP_NOP, _READ and
 * _WRITE with other values: when it is in the same translation unit the Windows op codes exist only
 * under the WIN_ prefix (always defined). */
typedef enum IORING_OP_CODE {
    WIN_IORING_OP_NOP = 0,
    WIN_IORING_OP_READ = 1,
    WIN_IORING_OP_REGISTER_FILES = 2,
    WIN_IORING_OP_REGISTER_BUFFERS = 3,
    WIN_IORING_OP_CANCEL = 4,
    WIN_IORING_OP_WRITE = 5,
    WIN_IORING_OP_FLUSH = 6,
    WIN_IORING_OP_READ_SCATTER = 7,
    WIN_IORING_OP_WRITE_GATHER = 8
} IORING_OP_CODE;
#if !defined(IORING_ABI_H) && !defined(LINUX_IO_URING_H) && !defined(_UAPI_LINUX_IO_URING_H)
#define IORING_OP_NOP WIN_IORING_OP_NOP
#define IORING_OP_READ WIN_IORING_OP_READ
#define IORING_OP_REGISTER_FILES WIN_IORING_OP_REGISTER_FILES
#define IORING_OP_REGISTER_BUFFERS WIN_IORING_OP_REGISTER_BUFFERS
#define IORING_OP_CANCEL WIN_IORING_OP_CANCEL
#define IORING_OP_WRITE WIN_IORING_OP_WRITE
#define IORING_OP_FLUSH WIN_IORING_OP_FLUSH
#define IORING_OP_READ_SCATTER WIN_IORING_OP_READ_SCATTER
#define IORING_OP_WRITE_GATHER WIN_IORING_OP_WRITE_GATHER
#endif

typedef struct IORING_BUFFER_INFO {
    void *Address;
    UINT32 Length;
} IORING_BUFFER_INFO;

typedef struct IORING_REGISTERED_BUFFER {
    UINT32 BufferIndex;
    UINT32 Offset;
} IORING_REGISTERED_BUFFER;

#ifndef IORING_SUBMIT_WAIT_ALL
#define IORING_SUBMIT_WAIT_ALL MAXUINT32
#endif

/* ---- ioringapi.h ------------------------------------------------------------------------- */
#ifdef _WIN32
DECLARE_HANDLE(HIORING);
#endif

typedef enum IORING_SQE_FLAGS {
    IOSQE_FLAGS_NONE = 0,
    IOSQE_FLAGS_DRAIN_PRECEDING_OPS = 0x00000001
} IORING_SQE_FLAGS;

typedef enum IORING_CREATE_REQUIRED_FLAGS {
    IORING_CREATE_REQUIRED_FLAGS_NONE = 0
} IORING_CREATE_REQUIRED_FLAGS;

typedef enum IORING_CREATE_ADVISORY_FLAGS {
    IORING_CREATE_ADVISORY_FLAGS_NONE = 0,
    IORING_CREATE_SKIP_BUILDER_PARAM_CHECKS = 0x00000001
} IORING_CREATE_ADVISORY_FLAGS;

typedef struct IORING_CREATE_FLAGS {
    IORING_CREATE_REQUIRED_FLAGS Required;
    IORING_CREATE_ADVISORY_FLAGS Advisory;
} IORING_CREATE_FLAGS;

typedef struct IORING_INFO {
    IORING_VERSION IoRingVersion;
    IORING_CREATE_FLAGS Flags;
    UINT32 SubmissionQueueSize;
    UINT32 CompletionQueueSize;
} IORING_INFO;

typedef struct IORING_CAPABILITIES {
    IORING_VERSION MaxVersion;
    UINT32 MaxSubmissionQueueSize;
    UINT32 MaxCompletionQueueSize;
    IORING_FEATURE_FLAGS FeatureFlags;
} IORING_CAPABILITIES;

typedef enum IORING_REF_KIND {
    IORING_REF_RAW = 0,
    IORING_REF_REGISTERED = 1
} IORING_REF_KIND;

typedef struct IORING_HANDLE_REF {
    IORING_REF_KIND Kind;
    union HandleUnion {
        HANDLE Handle;      /* Kind == IORING_REF_RAW */
        UINT32 Index;       /* Kind == IORING_REF_REGISTERED */
    } Handle;
} IORING_HANDLE_REF;

typedef struct IORING_BUFFER_REF {
    IORING_REF_KIND Kind;
    union BufferUnion {
        void *Address;                               /* Kind == IORING_REF_RAW */
        IORING_REGISTERED_BUFFER IndexAndOffset;     /* Kind == IORING_REF_REGISTERED */
    } Buffer;
} IORING_BUFFER_REF;

typedef struct IORING_CQE {
    UINT_PTR UserData;
    HRESULT ResultCode;
    ULONG_PTR Information;
} IORING_CQE;

#define IoRingHandleRefFromHandle(h) {IORING_REF_RAW, {.Handle = (h)}}
#define IoRingHandleRefFromIndex(i) {IORING_REF_REGISTERED, {.Index = (i)}}
#define IoRingBufferRefFromPointer(p) {IORING_REF_RAW, {.Address = (p)}}
#define IoRingBufferRefFromIndexAndOffset(i, o) {IORING_REF_REGISTERED, {.IndexAndOffset = {(i), (o)}}}

#else  /* the SDK declared version 1: add the newer enumerators it may lack, as macros */
#  ifndef IORING_VERSION_2
#    define IORING_VERSION_2 ((IORING_VERSION)2)
#  endif
#  if !WINIORING_SDK_HAS_V3
#    define IORING_VERSION_3 ((IORING_VERSION)300)
#    define IORING_OP_WRITE ((IORING_OP_CODE)5)
#    define IORING_OP_FLUSH ((IORING_OP_CODE)6)
#    define IOSQE_FLAGS_DRAIN_PRECEDING_OPS ((IORING_SQE_FLAGS)1)
#  endif
#  if !WINIORING_SDK_HAS_V4
#    define IORING_VERSION_4 ((IORING_VERSION)400)
#    define IORING_OP_READ_SCATTER ((IORING_OP_CODE)7)
#    define IORING_OP_WRITE_GATHER ((IORING_OP_CODE)8)
#  endif
#  ifndef IORING_CREATE_SKIP_BUILDER_PARAM_CHECKS
     /* mingw-w64 v10 lacks this advisory flag (an enumerator, so no #ifdef is possible:
      * a macro of the same value is harmless after the enum) */
#    define IORING_CREATE_SKIP_BUILDER_PARAM_CHECKS ((IORING_CREATE_ADVISORY_FLAGS)1)
#  endif
#endif /* !WINIORING_SDK_HAS_V1 */

/* ---- winbase.h (22H2 names) -------------------------------------------------------------- */
/* The Windows SDK's winbase.h (22621 and later) declares these itself, without ioringapi.h, when
 * NTDDI_VERSION >= NTDDI_WIN10_NI. WINIORING_SDK_HAS_FILE_FLAGS (0/1) may be predefined. */
#ifndef WINIORING_SDK_HAS_FILE_FLAGS
#  if defined(_WIN32) && !defined(__MINGW64_VERSION_MAJOR) && defined(NTDDI_WIN10_NI) && \
      defined(NTDDI_VERSION) && NTDDI_VERSION >= NTDDI_WIN10_NI
#    define WINIORING_SDK_HAS_FILE_FLAGS 1
#  else
#    define WINIORING_SDK_HAS_FILE_FLAGS WINIORING_SDK_HAS_V3
#  endif
#endif
#if !WINIORING_SDK_HAS_FILE_FLAGS
typedef enum FILE_WRITE_FLAGS {
    FILE_WRITE_FLAGS_NONE = 0,
    FILE_WRITE_FLAGS_WRITE_THROUGH = 0x000000001
} FILE_WRITE_FLAGS;

typedef enum FILE_FLUSH_MODE {
    FILE_FLUSH_DEFAULT = 0,
    FILE_FLUSH_DATA,
    FILE_FLUSH_MIN_METADATA,
    FILE_FLUSH_NO_SYNC
} FILE_FLUSH_MODE;
#endif

/* ---- winerror.h (FACILITY_IORING = 0x46) ------------------------------------------------- */
#ifndef FACILITY_IORING
#define FACILITY_IORING 70
#endif
#ifndef IORING_E_REQUIRED_FLAG_NOT_SUPPORTED
#define IORING_E_REQUIRED_FLAG_NOT_SUPPORTED ((HRESULT)0x80460001L)
#endif
#ifndef IORING_E_SUBMISSION_QUEUE_FULL
#define IORING_E_SUBMISSION_QUEUE_FULL ((HRESULT)0x80460002L)
#endif
#ifndef IORING_E_VERSION_NOT_SUPPORTED
#define IORING_E_VERSION_NOT_SUPPORTED ((HRESULT)0x80460003L)
#endif
#ifndef IORING_E_SUBMISSION_QUEUE_TOO_BIG
#define IORING_E_SUBMISSION_QUEUE_TOO_BIG ((HRESULT)0x80460004L)
#endif
#ifndef IORING_E_COMPLETION_QUEUE_TOO_BIG
#define IORING_E_COMPLETION_QUEUE_TOO_BIG ((HRESULT)0x80460005L)
#endif
#ifndef IORING_E_SUBMIT_IN_PROGRESS
#define IORING_E_SUBMIT_IN_PROGRESS ((HRESULT)0x80460006L)
#endif
#ifndef IORING_E_CORRUPT
#define IORING_E_CORRUPT ((HRESULT)0x80460007L)
#endif
#ifndef IORING_E_COMPLETION_QUEUE_TOO_FULL
#define IORING_E_COMPLETION_QUEUE_TOO_FULL ((HRESULT)0x80460008L)
#endif
/* Named in the SubmitIoRing documentation but defined by no header: HRESULT_FROM_WIN32(ERROR_TIMEOUT),
 * unverified on Windows (reference section 2.4). */
#ifndef IORING_E_WAIT_TIMEOUT
#define IORING_E_WAIT_TIMEOUT ((HRESULT)0x800705B4L)
#endif

/* ---- functions (kernel32 / api-ms-win-core-ioring-l1-1-*) -------------------------------- */
#ifdef _WIN32
#if !WINIORING_SDK_HAS_V1
WINIORING_API(HRESULT) QueryIoRingCapabilities(IORING_CAPABILITIES *capabilities);
WINIORING_API(BOOL) IsIoRingOpSupported(HIORING ioRing, IORING_OP_CODE op);
WINIORING_API(HRESULT) CreateIoRing(IORING_VERSION ioringVersion, IORING_CREATE_FLAGS flags,
                                    UINT32 submissionQueueSize, UINT32 completionQueueSize, HIORING *h);
WINIORING_API(HRESULT) GetIoRingInfo(HIORING ioRing, IORING_INFO *info);
WINIORING_API(HRESULT) SubmitIoRing(HIORING ioRing, UINT32 waitOperations, UINT32 milliseconds,
                                    UINT32 *submittedEntries);
WINIORING_API(HRESULT) CloseIoRing(HIORING ioRing);
WINIORING_API(HRESULT) PopIoRingCompletion(HIORING ioRing, IORING_CQE *cqe);
WINIORING_API(HRESULT) SetIoRingCompletionEvent(HIORING ioRing, HANDLE hEvent);
WINIORING_API(HRESULT) BuildIoRingCancelRequest(HIORING ioRing, IORING_HANDLE_REF file, UINT_PTR opToCancel,
                                                UINT_PTR userData);
WINIORING_API(HRESULT) BuildIoRingReadFile(HIORING ioRing, IORING_HANDLE_REF fileRef, IORING_BUFFER_REF dataRef,
                                           UINT32 numberOfBytesToRead, UINT64 fileOffset, UINT_PTR userData,
                                           IORING_SQE_FLAGS sqeFlags);
WINIORING_API(HRESULT) BuildIoRingRegisterFileHandles(HIORING ioRing, UINT32 count, HANDLE const handles[],
                                                      UINT_PTR userData);
WINIORING_API(HRESULT) BuildIoRingRegisterBuffers(HIORING ioRing, UINT32 count, IORING_BUFFER_INFO const buffers[],
                                                  UINT_PTR userData);
#endif
#if !WINIORING_SDK_HAS_V3
WINIORING_API(HRESULT) BuildIoRingWriteFile(HIORING ioRing, IORING_HANDLE_REF fileRef, IORING_BUFFER_REF bufferRef,
                                            UINT32 numberOfBytesToWrite, UINT64 fileOffset,
                                            FILE_WRITE_FLAGS writeFlags, UINT_PTR userData,
                                            IORING_SQE_FLAGS sqeFlags);
WINIORING_API(HRESULT) BuildIoRingFlushFile(HIORING ioRing, IORING_HANDLE_REF fileRef, FILE_FLUSH_MODE flushMode,
                                            UINT_PTR userData, IORING_SQE_FLAGS sqeFlags);
#endif
#if !WINIORING_SDK_HAS_V4
WINIORING_API(HRESULT) BuildIoRingReadFileScatter(HIORING ioRing, IORING_HANDLE_REF fileRef, UINT32 segmentCount,
                                                  FILE_SEGMENT_ELEMENT segmentArray[], UINT32 numberOfBytesToRead,
                                                  UINT64 fileOffset, UINT_PTR userData, IORING_SQE_FLAGS sqeFlags);
WINIORING_API(HRESULT) BuildIoRingWriteFileGather(HIORING ioRing, IORING_HANDLE_REF fileRef, UINT32 segmentCount,
                                                  FILE_SEGMENT_ELEMENT segmentArray[], UINT32 numberOfBytesToWrite,
                                                  UINT64 fileOffset, FILE_WRITE_FLAGS writeFlags, UINT_PTR userData,
                                                  IORING_SQE_FLAGS sqeFlags);
#endif
#endif /* _WIN32 */

/* ---- documented layout (reference section 1.4) ------------------------------------------- */
#if defined(_WIN64) || (!defined(_WIN32) && defined(__SIZEOF_POINTER__) && __SIZEOF_POINTER__ == 8)
#  define WINIORING_SZ(x64, x86) (x64)
#else
#  define WINIORING_SZ(x64, x86) (x86)
#endif
/* MSVC compiles C as C89 + extensions unless /std:c11 is given: no _Static_assert there. */
#if defined(_MSC_VER) && !defined(__clang__) && !defined(__cplusplus) && \
    !(defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L)
#  define WINIORING_CAT2(a, b) a##b
#  define WINIORING_CAT(a, b) WINIORING_CAT2(a, b)
#  define WINIORING_STATIC_ASSERT(cond, msg) typedef char WINIORING_CAT(winioring_static_assert_, __LINE__)[(cond) ? 1 : -1]
#else
#  define WINIORING_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif
WINIORING_STATIC_ASSERT(sizeof(IORING_CREATE_FLAGS) == 8, "IORING_CREATE_FLAGS size");
WINIORING_STATIC_ASSERT(offsetof(IORING_CREATE_FLAGS, Advisory) == 4, "IORING_CREATE_FLAGS.Advisory");
WINIORING_STATIC_ASSERT(sizeof(IORING_INFO) == 20, "IORING_INFO size");
WINIORING_STATIC_ASSERT(offsetof(IORING_INFO, Flags) == 4, "IORING_INFO.Flags");
WINIORING_STATIC_ASSERT(offsetof(IORING_INFO, SubmissionQueueSize) == 12, "IORING_INFO.SubmissionQueueSize");
WINIORING_STATIC_ASSERT(offsetof(IORING_INFO, CompletionQueueSize) == 16, "IORING_INFO.CompletionQueueSize");
WINIORING_STATIC_ASSERT(sizeof(IORING_CAPABILITIES) == 16, "IORING_CAPABILITIES size");
WINIORING_STATIC_ASSERT(sizeof(IORING_HANDLE_REF) == WINIORING_SZ(16, 8), "IORING_HANDLE_REF size");
WINIORING_STATIC_ASSERT(offsetof(IORING_HANDLE_REF, Handle) == WINIORING_SZ(8, 4), "IORING_HANDLE_REF.Handle");
WINIORING_STATIC_ASSERT(sizeof(IORING_REGISTERED_BUFFER) == 8, "IORING_REGISTERED_BUFFER size");
WINIORING_STATIC_ASSERT(offsetof(IORING_REGISTERED_BUFFER, Offset) == 4, "IORING_REGISTERED_BUFFER.Offset");
WINIORING_STATIC_ASSERT(sizeof(IORING_BUFFER_REF) == WINIORING_SZ(16, 12), "IORING_BUFFER_REF size");
WINIORING_STATIC_ASSERT(offsetof(IORING_BUFFER_REF, Buffer) == WINIORING_SZ(8, 4), "IORING_BUFFER_REF.Buffer");
WINIORING_STATIC_ASSERT(sizeof(IORING_BUFFER_INFO) == WINIORING_SZ(16, 8), "IORING_BUFFER_INFO size");
WINIORING_STATIC_ASSERT(offsetof(IORING_BUFFER_INFO, Length) == WINIORING_SZ(8, 4), "IORING_BUFFER_INFO.Length");
WINIORING_STATIC_ASSERT(sizeof(IORING_CQE) == WINIORING_SZ(24, 12), "IORING_CQE size");
WINIORING_STATIC_ASSERT(offsetof(IORING_CQE, ResultCode) == WINIORING_SZ(8, 4), "IORING_CQE.ResultCode");
WINIORING_STATIC_ASSERT(offsetof(IORING_CQE, Information) == WINIORING_SZ(16, 8), "IORING_CQE.Information");
WINIORING_STATIC_ASSERT(sizeof(FILE_SEGMENT_ELEMENT) == 8, "FILE_SEGMENT_ELEMENT size");
WINIORING_STATIC_ASSERT(sizeof(IORING_SUBMIT_WAIT_ALL) >= 4 && (UINT32)IORING_SUBMIT_WAIT_ALL == 0xFFFFFFFFu, "WAIT_ALL");
WINIORING_STATIC_ASSERT((HRESULT)IORING_E_COMPLETION_QUEUE_TOO_FULL == (HRESULT)0x80460008L, "IORING_E_*");
WINIORING_STATIC_ASSERT(IORING_VERSION_3 == 300 && IORING_VERSION_4 == 400, "IORING_VERSION");

#endif /* IORING_WINIORING_H */
