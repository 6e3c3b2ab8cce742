/* winioring_kernelbase.h -- the C dispatch layer of ioring.winioring: one function per IoRing API
 * function, with the SDK signature and an `ioring_win_` prefix.
 *
 * - On Windows (_WIN32) each ioring_win_X calls X resolved at run time from KernelBase.dll with
 *   LoadLibraryW + GetProcAddress (never a static import: a static import of
 *   api-ms-win-core-ioring-l1-1-0 makes the module fail to LOAD on Windows 10; reference 1.1).
 *   A function the running Windows lacks returns E_NOTIMPL (IsIoRingOpSupported: FALSE), so the
 *   module imports everywhere and reports IoRing as unavailable at the first call.
 *   WINIORING_KERNELBASE is 1.
 * - Elsewhere (Linux) WINIORING_KERNELBASE is 0 and the .pyx uses its io_uring emulation; the same
 *   table exists but starts empty (every ioring_win_X returns E_NOTIMPL / FALSE), so the Windows code
 *   path of the .pyx is compiled on every build, and tests can fill the table with a fake
 *   KernelBase (winioring_kb_set) to run that path on Linux.
 *
 * WINIORING_KB_FUNCTIONS is the list of the dispatched functions; tests/test_winioring.py parses it
 * and checks that the Python module exposes exactly these names, so the two backends cannot drift.
 * Each entry: X(return type, name, (parameters), (arguments), value when unavailable).
 */
#ifndef IORING_WINIORING_KERNELBASE_H
#define IORING_WINIORING_KERNELBASE_H

#include <string.h>

#include "ioring/winioring.h"

#ifndef WINAPI
#  define WINAPI
#endif
#define WINIORING_E_NOTIMPL ((HRESULT)0x80004001L)
#if defined(_MSC_VER) && !defined(__cplusplus)
#  define WINIORING_INLINE __inline
#else
#  define WINIORING_INLINE inline
#endif

#define WINIORING_KB_FUNCTIONS(X) \
    X(HRESULT, QueryIoRingCapabilities, (IORING_CAPABILITIES *capabilities), (capabilities), WINIORING_E_NOTIMPL) \
    X(BOOL, IsIoRingOpSupported, (HIORING ioRing, IORING_OP_CODE op), (ioRing, op), 0) \
    X(HRESULT, CreateIoRing, (IORING_VERSION ioringVersion, IORING_CREATE_FLAGS flags, UINT32 submissionQueueSize, \
                              UINT32 completionQueueSize, HIORING *h), \
      (ioringVersion, flags, submissionQueueSize, completionQueueSize, h), WINIORING_E_NOTIMPL) \
    X(HRESULT, GetIoRingInfo, (HIORING ioRing, IORING_INFO *info), (ioRing, info), WINIORING_E_NOTIMPL) \
    X(HRESULT, SubmitIoRing, (HIORING ioRing, UINT32 waitOperations, UINT32 milliseconds, UINT32 *submittedEntries), \
      (ioRing, waitOperations, milliseconds, submittedEntries), WINIORING_E_NOTIMPL) \
    X(HRESULT, CloseIoRing, (HIORING ioRing), (ioRing), WINIORING_E_NOTIMPL) \
    X(HRESULT, PopIoRingCompletion, (HIORING ioRing, IORING_CQE *cqe), (ioRing, cqe), WINIORING_E_NOTIMPL) \
    X(HRESULT, SetIoRingCompletionEvent, (HIORING ioRing, HANDLE hEvent), (ioRing, hEvent), WINIORING_E_NOTIMPL) \
    X(HRESULT, BuildIoRingCancelRequest, (HIORING ioRing, IORING_HANDLE_REF file, UINT_PTR opToCancel, \
                                          UINT_PTR userData), \
      (ioRing, file, opToCancel, userData), WINIORING_E_NOTIMPL) \
    X(HRESULT, BuildIoRingReadFile, (HIORING ioRing, IORING_HANDLE_REF fileRef, IORING_BUFFER_REF dataRef, \
                                     UINT32 numberOfBytesToRead, UINT64 fileOffset, UINT_PTR userData, \
                                     IORING_SQE_FLAGS sqeFlags), \
      (ioRing, fileRef, dataRef, numberOfBytesToRead, fileOffset, userData, sqeFlags), WINIORING_E_NOTIMPL) \
    X(HRESULT, BuildIoRingRegisterFileHandles, (HIORING ioRing, UINT32 count, HANDLE const handles[], \
                                                UINT_PTR userData), \
      (ioRing, count, handles, userData), WINIORING_E_NOTIMPL) \
    X(HRESULT, BuildIoRingRegisterBuffers, (HIORING ioRing, UINT32 count, IORING_BUFFER_INFO const buffers[], \
                                            UINT_PTR userData), \
      (ioRing, count, buffers, userData), WINIORING_E_NOTIMPL) \
    X(HRESULT, BuildIoRingWriteFile, (HIORING ioRing, IORING_HANDLE_REF fileRef, IORING_BUFFER_REF bufferRef, \
                                      UINT32 numberOfBytesToWrite, UINT64 fileOffset, FILE_WRITE_FLAGS writeFlags, \
                                      UINT_PTR userData, IORING_SQE_FLAGS sqeFlags), \
      (ioRing, fileRef, bufferRef, numberOfBytesToWrite, fileOffset, writeFlags, userData, sqeFlags), \
      WINIORING_E_NOTIMPL) \
    X(HRESULT, BuildIoRingFlushFile, (HIORING ioRing, IORING_HANDLE_REF fileRef, FILE_FLUSH_MODE flushMode, \
                                      UINT_PTR userData, IORING_SQE_FLAGS sqeFlags), \
      (ioRing, fileRef, flushMode, userData, sqeFlags), WINIORING_E_NOTIMPL) \
    X(HRESULT, BuildIoRingReadFileScatter, (HIORING ioRing, IORING_HANDLE_REF fileRef, UINT32 segmentCount, \
                                            FILE_SEGMENT_ELEMENT segmentArray[], UINT32 numberOfBytesToRead, \
                                            UINT64 fileOffset, UINT_PTR userData, IORING_SQE_FLAGS sqeFlags), \
      (ioRing, fileRef, segmentCount, segmentArray, numberOfBytesToRead, fileOffset, userData, sqeFlags), \
      WINIORING_E_NOTIMPL) \
    X(HRESULT, BuildIoRingWriteFileGather, (HIORING ioRing, IORING_HANDLE_REF fileRef, UINT32 segmentCount, \
                                            FILE_SEGMENT_ELEMENT segmentArray[], UINT32 numberOfBytesToWrite, \
                                            UINT64 fileOffset, FILE_WRITE_FLAGS writeFlags, UINT_PTR userData, \
                                            IORING_SQE_FLAGS sqeFlags), \
      (ioRing, fileRef, segmentCount, segmentArray, numberOfBytesToWrite, fileOffset, writeFlags, userData, \
       sqeFlags), WINIORING_E_NOTIMPL)

#ifdef _WIN32
#  define WINIORING_KERNELBASE 1
#else
#  define WINIORING_KERNELBASE 0
#endif

#define WINIORING_KB_PFN(ret, name, params, args, fallback) typedef ret (WINAPI *winioring_pfn_##name) params;
WINIORING_KB_FUNCTIONS(WINIORING_KB_PFN)
#undef WINIORING_KB_PFN

/* The entry points (NULL: this Windows lacks the function). One table per translation unit (the
 * module is one); filled once, under the GIL, by winioring_kb_load(). */
#define WINIORING_KB_FIELD(ret, name, params, args, fallback) winioring_pfn_##name name;
static struct winioring_kb_table {
    int loaded;
    WINIORING_KB_FUNCTIONS(WINIORING_KB_FIELD)
} winioring_kb;
#undef WINIORING_KB_FIELD

/* IsIoRingOpSupported is a KernelBase export per the SDK header and mingw-w64's kernel32.def; some
 * SDK documentation shows it as a header inline. Should an IoRing-capable KernelBase lack the
 * export, this answers by the ring's version as the reference's table does (section 2.2). */
static WINIORING_INLINE BOOL WINAPI winioring_kb_op_supported_by_version(HIORING ioRing, IORING_OP_CODE op)
{
    IORING_INFO info;
    unsigned v;
    if (ioRing == NULL || winioring_kb.GetIoRingInfo == NULL || winioring_kb.GetIoRingInfo(ioRing, &info) < 0)
        return 0;
    v = (unsigned)info.IoRingVersion;
    return (unsigned)op <= 4 || ((unsigned)op <= 6 && v >= 300) || ((unsigned)op <= 8 && v >= 400);
}

static WINIORING_INLINE void winioring_kb_fixup(void)
{
    if (winioring_kb.IsIoRingOpSupported == NULL ||
        winioring_kb.IsIoRingOpSupported == winioring_kb_op_supported_by_version)
        winioring_kb.IsIoRingOpSupported = winioring_kb.CreateIoRing ? winioring_kb_op_supported_by_version : NULL;
}

/* Windows: resolves every function from KernelBase.dll. Returns 1 when the version-1 core
 * (QueryIoRingCapabilities, CreateIoRing) is present. Never fails: a missing function stays NULL;
 * the module handle is never freed. Elsewhere: nothing to resolve, returns 0. */
static WINIORING_INLINE int winioring_kb_load(void)
{
    if (!winioring_kb.loaded) {
#ifdef _WIN32
        HMODULE m = LoadLibraryW(L"KernelBase.dll");
#  define WINIORING_KB_RESOLVE(ret, name, params, args, fallback) \
        winioring_kb.name = m ? (winioring_pfn_##name)(void (*)(void))GetProcAddress(m, #name) : NULL;
        WINIORING_KB_FUNCTIONS(WINIORING_KB_RESOLVE)
#  undef WINIORING_KB_RESOLVE
        winioring_kb_fixup();
#endif
        winioring_kb.loaded = 1;
    }
    return winioring_kb.CreateIoRing != NULL && winioring_kb.QueryIoRingCapabilities != NULL;
}

/* 1 when the table has `name` (one of the dispatched functions). */
static WINIORING_INLINE int winioring_kb_has(const char *name)
{
    winioring_kb_load();
#define WINIORING_KB_HAS(ret, fn, params, args, fallback) if (strcmp(name, #fn) == 0) return winioring_kb.fn != NULL;
    WINIORING_KB_FUNCTIONS(WINIORING_KB_HAS)
#undef WINIORING_KB_HAS
    return 0;
}

/* Replaces one entry (NULL removes it); returns 0, or -1 for an unknown name. For tests: on Linux
 * they fill the table with a fake KernelBase (tests/c/win/fake_kernelbase.c) to run the module's
 * KernelBase path. */
static WINIORING_INLINE int winioring_kb_set(const char *name, void (*fn)(void))
{
    winioring_kb_load();
#define WINIORING_KB_SET(ret, f, params, args, fallback) \
    if (strcmp(name, #f) == 0) { winioring_kb.f = (winioring_pfn_##f)fn; winioring_kb_fixup(); return 0; }
    WINIORING_KB_FUNCTIONS(WINIORING_KB_SET)
#undef WINIORING_KB_SET
    return -1;
}

/* ioring_win_X: X through the table, or its "unavailable" value (E_NOTIMPL; FALSE for
 * IsIoRingOpSupported) when the table lacks it. */
#define WINIORING_KB_CALL(ret, name, params, args, fallback) \
static WINIORING_INLINE ret ioring_win_##name params \
{ \
    if (!winioring_kb.loaded) \
        winioring_kb_load(); \
    return winioring_kb.name ? winioring_kb.name args : (fallback); \
}
WINIORING_KB_FUNCTIONS(WINIORING_KB_CALL)
#undef WINIORING_KB_CALL

#endif /* IORING_WINIORING_KERNELBASE_H */
