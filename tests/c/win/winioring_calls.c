/* winioring_calls.c -- calls every function of the Windows IoRing API once, through the dispatch
 * layer ioring.winioring uses on Windows (include/ioring/winioring_kernelbase.h: KernelBase.dll
 * resolved with LoadLibraryW/GetProcAddress, so it links against kernel32 alone and starts on
 * Windows 10, where it reports IoRing as unavailable and exits 0).
 *
 * Built by tools/check_winioring_mingw.sh with mingw-w64 for x86_64 and i686 (compiled and linked;
 * it cannot be run there). With -DWINIORING_CALLS_DIRECT the same sequence calls the SDK names
 * directly (a static import: needs an import library that has them, mingw-w64 >= 13).
 *
 * Run on Windows 11: winioring_calls.exe [scratch-file]   (exit status 0 on success)
 */
#ifndef _WIN32
#  define _GNU_SOURCE
#endif
#include <stdio.h>
#include <string.h>

#ifdef _WIN32
#  include <windows.h>
#endif
#include "ioring/winioring_kernelbase.h"

#ifdef WINIORING_CALLS_DIRECT
#  define CALL(name) name
#else
#  define CALL(name) ioring_win_##name
#endif

#define CHECK(expr) do { HRESULT hr_ = (expr); if (FAILED_HR(hr_)) { \
    fprintf(stderr, "%s:%d: %s -> 0x%08lX\n", __FILE__, __LINE__, #expr, (unsigned long)hr_); return 1; } } while (0)
#define FAILED_HR(hr) ((HRESULT)(hr) < 0)

static int pop_all(HIORING ring, unsigned expected)
{
    IORING_CQE cqe;
    unsigned seen = 0;
    HRESULT hr;
    while ((hr = CALL(PopIoRingCompletion)(ring, &cqe)) == S_OK) {
        printf("cqe user_data=%lu result=0x%08lX information=%lu\n", (unsigned long)cqe.UserData,
               (unsigned long)(UINT32)cqe.ResultCode, (unsigned long)cqe.Information);
        seen++;
    }
    if (hr != S_FALSE) {
        fprintf(stderr, "PopIoRingCompletion -> 0x%08lX\n", (unsigned long)hr);
        return 1;
    }
    if (seen != expected) {
        fprintf(stderr, "%u completions, expected %u\n", seen, expected);
        return 1;
    }
    return 0;
}

#ifdef _WIN32
static HANDLE open_scratch(const char *path)
{
    return CreateFileA(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_ALWAYS,
                       FILE_ATTRIBUTE_TEMPORARY | FILE_FLAG_DELETE_ON_CLOSE, NULL);
}
static HANDLE make_event(void) { return CreateEventW(NULL, FALSE, FALSE, NULL); }
static void close_handle(HANDLE h) { CloseHandle(h); }
static void *page_alloc(size_t n) { return VirtualAlloc(NULL, n, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE); }
#else  /* a native build runs against whatever table the harness installed (tests: a fake) */
#  include <fcntl.h>
#  include <stdint.h>
#  include <stdlib.h>
#  include <sys/eventfd.h>
#  include <unistd.h>
static HANDLE open_scratch(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0)
        unlink(path);
    return fd < 0 ? INVALID_HANDLE_VALUE : (HANDLE)(intptr_t)fd;
}
static HANDLE make_event(void) { return (HANDLE)(intptr_t)eventfd(0, 0); }
static void close_handle(HANDLE h) { close((int)(intptr_t)h); }
static void *page_alloc(size_t n) { void *p = NULL; return posix_memalign(&p, 4096, n) ? NULL : p; }
#endif

int winioring_calls_main(int argc, char **argv)
{
    IORING_CAPABILITIES caps;
    IORING_CREATE_FLAGS flags = {IORING_CREATE_REQUIRED_FLAGS_NONE, IORING_CREATE_ADVISORY_FLAGS_NONE};
    IORING_INFO info;
    HIORING ring = NULL;
    HANDLE file, event;
    UINT32 submitted = 0;
    static char text[4096] = "IoRing from C, through winioring_kernelbase.h";
    char *page = page_alloc(2 * 4096);
    static char back[64];
    IORING_BUFFER_INFO bufs[1];
    HANDLE handles[1];
    FILE_SEGMENT_ELEMENT segs[3];
    HRESULT hr;
    unsigned expected = 0;
    int v4;
    const char *path = argc > 1 ? argv[1] : "winioring_calls.tmp";

#ifndef WINIORING_CALLS_DIRECT
    if (!winioring_kb_load()) {
        printf("IoRing unavailable: KernelBase.dll has no CreateIoRing (Windows 10?)\n");
        hr = ioring_win_CreateIoRing(IORING_VERSION_1, flags, 0, 0, &ring);
        return hr == WINIORING_E_NOTIMPL && ring == NULL ? 0 : 1;
    }
#endif
    if (page == NULL)
        return 1;
    CHECK(CALL(QueryIoRingCapabilities)(&caps));
    printf("MaxVersion=%d MaxSQ=%u MaxCQ=%u FeatureFlags=0x%x\n", (int)caps.MaxVersion,
           (unsigned)caps.MaxSubmissionQueueSize, (unsigned)caps.MaxCompletionQueueSize, (unsigned)caps.FeatureFlags);
    if ((int)caps.MaxVersion < (int)IORING_VERSION_3) {
        printf("IoRing version %d: write/flush need version 3\n", (int)caps.MaxVersion);
        return 0;
    }
    CHECK(CALL(CreateIoRing)(caps.MaxVersion, flags, 16, 32, &ring));
    CHECK(CALL(GetIoRingInfo)(ring, &info));
    printf("version=%d sq=%u cq=%u\n", (int)info.IoRingVersion, (unsigned)info.SubmissionQueueSize,
           (unsigned)info.CompletionQueueSize);
    v4 = CALL(IsIoRingOpSupported)(ring, IORING_OP_READ_SCATTER) != 0;
    if (!CALL(IsIoRingOpSupported)(ring, IORING_OP_WRITE))
        return 1;

    event = make_event();
    CHECK(CALL(SetIoRingCompletionEvent)(ring, event));
    /* The ring references the event itself (SetIoRingCompletionEvent docs): the handle may be closed
     * now, as Qt's QIORing does before CloseIoRing. The scratch file opened next may reuse its value. */
    close_handle(event);
    file = open_scratch(path);
    if (file == INVALID_HANDLE_VALUE)
        return 1;

    /* registration is queued like any other entry and completes with its own CQE */
    bufs[0].Address = back;
    bufs[0].Length = sizeof back;
    handles[0] = file;
    CHECK(CALL(BuildIoRingRegisterBuffers)(ring, 1, bufs, 1));
    CHECK(CALL(BuildIoRingRegisterFileHandles)(ring, 1, handles, 2));
    expected += 2;
    {
        IORING_HANDLE_REF raw = IoRingHandleRefFromHandle(file);
        IORING_HANDLE_REF reg = IoRingHandleRefFromIndex(0);
        IORING_BUFFER_REF src = IoRingBufferRefFromPointer(text);
        IORING_BUFFER_REF dst = IoRingBufferRefFromIndexAndOffset(0, 0);
        CHECK(CALL(BuildIoRingWriteFile)(ring, raw, src, 4096, 0, FILE_WRITE_FLAGS_NONE, 3, IOSQE_FLAGS_NONE));
        CHECK(CALL(BuildIoRingFlushFile)(ring, raw, FILE_FLUSH_DEFAULT, 4, IOSQE_FLAGS_DRAIN_PRECEDING_OPS));
        CHECK(CALL(BuildIoRingReadFile)(ring, reg, dst, 16, 0, 5, IOSQE_FLAGS_DRAIN_PRECEDING_OPS));
        expected += 3;
        if (v4) {
            memset(page, 'g', 2 * 4096);
            segs[0].Alignment = 0;
            segs[0].Buffer = page;
            segs[1].Alignment = 0;
            segs[1].Buffer = page + 4096;
            segs[2].Alignment = 0;
            CHECK(CALL(BuildIoRingWriteFileGather)(ring, raw, 2, segs, 2 * 4096, 4096, FILE_WRITE_FLAGS_NONE, 6,
                                                   IOSQE_FLAGS_DRAIN_PRECEDING_OPS));
            CHECK(CALL(BuildIoRingReadFileScatter)(ring, raw, 2, segs, 2 * 4096, 4096, 7,
                                                   IOSQE_FLAGS_DRAIN_PRECEDING_OPS));
            expected += 2;
        }
        /* nothing with userData 99 is in flight: the cancel's own CQE reports "not found" */
        CHECK(CALL(BuildIoRingCancelRequest)(ring, raw, 99, 8));
        expected += 1;
    }
    hr = CALL(SubmitIoRing)(ring, IORING_SUBMIT_WAIT_ALL, 5000, &submitted);
    CHECK(hr);
    printf("submitted=%u\n", (unsigned)submitted);
    if (pop_all(ring, expected))
        return 1;
    if (memcmp(back, text, 16) != 0) {
        fprintf(stderr, "read back %.16s\n", back);
        return 1;
    }
    CHECK(CALL(SetIoRingCompletionEvent)(ring, NULL));
    CHECK(CALL(CloseIoRing)(ring));
    close_handle(file);
    printf("ok\n");
    return 0;
}

#ifndef WINIORING_CALLS_NO_MAIN
int main(int argc, char **argv) { return winioring_calls_main(argc, argv); }
#endif
