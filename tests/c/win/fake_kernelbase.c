/* fake_kernelbase.c -- a small, synchronous stand-in for KernelBase.dll's IoRing functions on Linux
 * (HANDLE = file descriptor), built as a shared library by tests/test_winioring.py and installed in
 * ioring.winioring's dispatch table (winioring_kb_set) so that the module's KernelBase code path --
 * the one Windows runs -- is executed on Linux: argument marshalling, pins, HRESULTs, close.
 *
 * It is NOT a model of Windows timing: every entry completes inside SubmitIoRing, in SQ order. It
 * follows the documented rules the module relies on (reference sections 2.1-2.10): SQ full ->
 * IORING_E_SUBMISSION_QUEUE_FULL, S_FALSE on an empty CQ, registration as queued entries that
 * replace the table, EOF -> 0x80070026, cancel of nothing -> 0x80070490, an op newer than the ring's
 * version refused by its builder (IORING_E_VERSION_NOT_SUPPORTED, the emulation's choice; unverified),
 * and the completion event referenced by the ring itself (a duplicate of the eventfd, so the caller
 * may close its handle, as Microsoft documents; refused with E_HANDLE when it is not an eventfd).
 * One test hook: an entry whose userData has bit 40 set never completes (it stays in flight), so a
 * waiting SubmitIoRing times out with 0x800705B4 and CloseIoRing has outstanding entries.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ioring/winioring.h"

#define HR_EOF ((HRESULT)0x80070026L)
#define HR_NOT_FOUND ((HRESULT)0x80070490L)
#define HR_INVALIDARG ((HRESULT)0x80070057L)
#define HR_HANDLE ((HRESULT)0x80070006L)
#define HR_INDEX ((HRESULT)0x800701DAL)
#define HR_TIMEOUT ((HRESULT)0x800705B4L)
#define STUCK_BIT (1ull << 40)

typedef struct {
    unsigned op;
    IORING_HANDLE_REF file;
    IORING_BUFFER_REF buf;
    UINT32 len, count, xflags;
    UINT64 offset;
    UINT_PTR user_data, target;
    FILE_SEGMENT_ELEMENT *segs;
    const void *array;
} fake_sqe;

typedef struct fake_ring {
    unsigned version, advisory, sq_size, cq_size, sq_head, sq_tail, cq_head, cq_tail, in_flight;
    fake_sqe *sq;
    IORING_CQE *cq;
    IORING_BUFFER_INFO *bufs;
    unsigned nbufs;
    HANDLE *files;
    unsigned nfiles;
    int event;               /* the ring's own duplicate of the event, or -1 */
} fake_ring;

static unsigned pow2(unsigned v) { unsigned p = 1; while (p < v) p <<= 1; return p; }

static HRESULT hr_errno(int e)
{
    return e == EBADF ? HR_HANDLE : e == EINVAL ? HR_INVALIDARG : (HRESULT)(0x80070000u | 0x45Du);
}

HRESULT QueryIoRingCapabilities(IORING_CAPABILITIES *c)
{
    c->MaxVersion = IORING_VERSION_4;
    c->MaxSubmissionQueueSize = 0x10000;
    c->MaxCompletionQueueSize = 0x20000;
    c->FeatureFlags = IORING_FEATURE_SET_COMPLETION_EVENT;
    return S_OK;
}

HRESULT CreateIoRing(IORING_VERSION v, IORING_CREATE_FLAGS f, UINT32 sq, UINT32 cq, HIORING *h)
{
    fake_ring *r;
    if (v < 1 || v > 400)
        return IORING_E_VERSION_NOT_SUPPORTED;
    if (f.Required)
        return IORING_E_REQUIRED_FLAG_NOT_SUPPORTED;
    if (sq > 0x10000)
        return IORING_E_SUBMISSION_QUEUE_TOO_BIG;
    if (cq > 0x20000)
        return IORING_E_COMPLETION_QUEUE_TOO_BIG;
    sq = sq == 0 ? 32 : sq < 8 ? 8 : pow2(sq);
    cq = cq <= 2 * sq ? 2 * sq : pow2(cq);
    r = calloc(1, sizeof *r);
    r->version = v;
    r->advisory = f.Advisory;
    r->sq_size = sq;
    r->cq_size = cq;
    r->sq = calloc(sq, sizeof *r->sq);
    r->cq = calloc(cq, sizeof *r->cq);
    r->event = -1;
    *h = (HIORING)r;
    return S_OK;
}

BOOL IsIoRingOpSupported(HIORING h, IORING_OP_CODE op)
{
    fake_ring *r = (fake_ring *)h;
    if (r == NULL)
        return 0;
    return op <= 4 || (op <= 6 && r->version >= 300) || (op <= 8 && r->version >= 400);
}

HRESULT GetIoRingInfo(HIORING h, IORING_INFO *info)
{
    fake_ring *r = (fake_ring *)h;
    info->IoRingVersion = (IORING_VERSION)r->version;
    info->Flags.Required = IORING_CREATE_REQUIRED_FLAGS_NONE;
    info->Flags.Advisory = IORING_CREATE_ADVISORY_FLAGS_NONE;
    info->SubmissionQueueSize = r->sq_size;
    info->CompletionQueueSize = r->cq_size;
    return S_OK;
}

static fake_sqe *next(fake_ring *r, unsigned op, UINT_PTR ud)
{
    fake_sqe *e;
    if (r->sq_tail - r->sq_head >= r->sq_size)
        return NULL;
    e = &r->sq[r->sq_tail++ & (r->sq_size - 1)];
    memset(e, 0, sizeof *e);
    e->op = op;
    e->user_data = ud;
    return e;
}

/* The builder refuses an op the ring's version lacks, unless SKIP_BUILDER_PARAM_CHECKS moves the check
 * to the CQE (run() posts 0x80070001 then). */
#define NEXT(op, ud) \
    if (!(r->advisory & IORING_CREATE_SKIP_BUILDER_PARAM_CHECKS) && !IsIoRingOpSupported(h, (IORING_OP_CODE)(op))) \
        return IORING_E_VERSION_NOT_SUPPORTED; \
    fake_sqe *e = next(r, op, ud); if (!e) return IORING_E_SUBMISSION_QUEUE_FULL

HRESULT BuildIoRingReadFile(HIORING h, IORING_HANDLE_REF f, IORING_BUFFER_REF b, UINT32 n, UINT64 off, UINT_PTR ud,
                            IORING_SQE_FLAGS fl)
{
    fake_ring *r = (fake_ring *)h;
    NEXT(1, ud);
    e->file = f; e->buf = b; e->len = n; e->offset = off; (void)fl;
    return S_OK;
}

HRESULT BuildIoRingWriteFile(HIORING h, IORING_HANDLE_REF f, IORING_BUFFER_REF b, UINT32 n, UINT64 off,
                             FILE_WRITE_FLAGS wf, UINT_PTR ud, IORING_SQE_FLAGS fl)
{
    fake_ring *r = (fake_ring *)h;
    NEXT(5, ud);
    e->file = f; e->buf = b; e->len = n; e->offset = off; e->xflags = wf; (void)fl;
    return S_OK;
}

HRESULT BuildIoRingFlushFile(HIORING h, IORING_HANDLE_REF f, FILE_FLUSH_MODE m, UINT_PTR ud, IORING_SQE_FLAGS fl)
{
    fake_ring *r = (fake_ring *)h;
    NEXT(6, ud);
    e->file = f; e->xflags = m; (void)fl;
    return S_OK;
}

HRESULT BuildIoRingReadFileScatter(HIORING h, IORING_HANDLE_REF f, UINT32 count, FILE_SEGMENT_ELEMENT segs[], UINT32 n,
                                   UINT64 off, UINT_PTR ud, IORING_SQE_FLAGS fl)
{
    fake_ring *r = (fake_ring *)h;
    NEXT(7, ud);
    e->file = f; e->count = count; e->segs = segs; e->len = n; e->offset = off; (void)fl;
    return S_OK;
}

HRESULT BuildIoRingWriteFileGather(HIORING h, IORING_HANDLE_REF f, UINT32 count, FILE_SEGMENT_ELEMENT segs[], UINT32 n,
                                   UINT64 off, FILE_WRITE_FLAGS wf, UINT_PTR ud, IORING_SQE_FLAGS fl)
{
    fake_ring *r = (fake_ring *)h;
    NEXT(8, ud);
    e->file = f; e->count = count; e->segs = segs; e->len = n; e->offset = off; e->xflags = wf; (void)fl;
    return S_OK;
}

HRESULT BuildIoRingCancelRequest(HIORING h, IORING_HANDLE_REF f, UINT_PTR target, UINT_PTR ud)
{
    fake_ring *r = (fake_ring *)h;
    NEXT(4, ud);
    e->file = f; e->target = target;
    return S_OK;
}

HRESULT BuildIoRingRegisterBuffers(HIORING h, UINT32 count, IORING_BUFFER_INFO const bufs[], UINT_PTR ud)
{
    fake_ring *r = (fake_ring *)h;
    NEXT(3, ud);
    e->count = count; e->array = bufs;    /* read when the entry runs (reference 2.7) */
    return S_OK;
}

HRESULT BuildIoRingRegisterFileHandles(HIORING h, UINT32 count, HANDLE const handles[], UINT_PTR ud)
{
    fake_ring *r = (fake_ring *)h;
    NEXT(2, ud);
    e->count = count;
    e->array = handles;
    return S_OK;
}

static int is_eventfd(int fd)
{
    char path[64], text[512];
    size_t n;
    FILE *f;
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
    if ((f = fopen(path, "r")) == NULL)
        return 0;
    n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    return strstr(text, "eventfd-count:") != NULL;
}

HRESULT SetIoRingCompletionEvent(HIORING h, HANDLE ev)
{
    fake_ring *r = (fake_ring *)h;
    int dup = -1;
    if (ev == INVALID_HANDLE_VALUE)
        return HR_INVALIDARG;
    if (ev) {               /* the kernel references the event object: the caller may close its handle */
        if ((intptr_t)ev < 0 || (intptr_t)ev > 0x7FFFFFFF ||
            (dup = fcntl((int)(intptr_t)ev, F_DUPFD_CLOEXEC, 0)) < 0)
            return HR_HANDLE;
        if (!is_eventfd(dup)) {
            close(dup);
            return HR_HANDLE;
        }
    }
    if (r->event >= 0)
        close(r->event);
    r->event = dup;
    return S_OK;
}

static void post(fake_ring *r, UINT_PTR ud, HRESULT hr, ULONG_PTR info)
{
    IORING_CQE *c;
    if (r->cq_tail - r->cq_head >= r->cq_size)
        return;
    c = &r->cq[r->cq_tail++ & (r->cq_size - 1)];
    c->UserData = ud;
    c->ResultCode = hr;
    c->Information = info;
    if (r->cq_tail - r->cq_head == 1 && r->event >= 0) {
        uint64_t one = 1;
        if (write(r->event, &one, 8) < 0) { /* the test sees the missing signal */ }
    }
}

static int file_of(fake_ring *r, IORING_HANDLE_REF f, HRESULT *hr)
{
    if (f.Kind == IORING_REF_REGISTERED) {
        if (f.Handle.Index >= r->nfiles) { *hr = HR_INDEX; return -1; }
        return (int)(intptr_t)r->files[f.Handle.Index];
    }
    return (int)(intptr_t)f.Handle.Handle;
}

static char *buf_of(fake_ring *r, IORING_BUFFER_REF b, UINT32 len, HRESULT *hr)
{
    IORING_BUFFER_INFO *bi;
    if (b.Kind == IORING_REF_RAW)
        return b.Buffer.Address;
    if (b.Buffer.IndexAndOffset.BufferIndex >= r->nbufs) { *hr = HR_INDEX; return NULL; }
    bi = &r->bufs[b.Buffer.IndexAndOffset.BufferIndex];
    if (bi->Address == NULL || (UINT64)b.Buffer.IndexAndOffset.Offset + len > bi->Length) {
        *hr = (HRESULT)0x800703E6L;
        return NULL;
    }
    return (char *)bi->Address + b.Buffer.IndexAndOffset.Offset;
}

static void run(fake_ring *r, fake_sqe *e)
{
    HRESULT hr = S_OK;
    ULONG_PTR info = 0;
    int fd;
    char *p;
    ssize_t n;
    unsigned i;
    if (e->user_data & STUCK_BIT) {
        r->in_flight++;
        return;
    }
    if (!IsIoRingOpSupported((HIORING)r, (IORING_OP_CODE)e->op)) {
        post(r, e->user_data, (HRESULT)0x80070001L, 0);
        return;
    }
    switch (e->op) {
    case 2:
        free(r->files);
        r->files = e->count ? malloc(e->count * sizeof(HANDLE)) : NULL;
        if (e->count)
            memcpy(r->files, e->array, e->count * sizeof(HANDLE));
        r->nfiles = e->count;
        info = e->count;
        break;
    case 3:
        free(r->bufs);
        r->bufs = e->count ? malloc(e->count * sizeof(IORING_BUFFER_INFO)) : NULL;
        if (e->count)
            memcpy(r->bufs, e->array, e->count * sizeof(IORING_BUFFER_INFO));
        r->nbufs = e->count;
        info = e->count;
        break;
    case 4:
        hr = HR_NOT_FOUND;        /* everything earlier has completed already */
        break;
    case 1: case 5:
        fd = file_of(r, e->file, &hr);
        p = hr ? NULL : buf_of(r, e->buf, e->len, &hr);
        if (hr)
            break;
        n = e->op == 1 ? pread(fd, p, e->len, (off_t)e->offset) : pwrite(fd, p, e->len, (off_t)e->offset);
        if (n < 0)
            hr = hr_errno(errno);
        else if (n == 0 && e->len > 0 && e->op == 1)
            hr = HR_EOF;
        else
            info = (ULONG_PTR)n;
        break;
    case 6:
        fd = file_of(r, e->file, &hr);
        if (!hr && fsync(fd) < 0)
            hr = hr_errno(errno);
        break;
    case 7: case 8: {
        struct iovec iov[64];
        UINT32 left = e->len;
        fd = file_of(r, e->file, &hr);
        if (hr)
            break;
        for (i = 0; i < e->count && i < 64 && left; i++) {   /* one page per segment (reference 2.9) */
            iov[i].iov_base = (void *)(uintptr_t)e->segs[i].Alignment;
            iov[i].iov_len = left < 4096 ? left : 4096;
            left -= (UINT32)iov[i].iov_len;
        }
        n = e->op == 7 ? preadv(fd, iov, (int)i, (off_t)e->offset) : pwritev(fd, iov, (int)i, (off_t)e->offset);
        if (n < 0)
            hr = hr_errno(errno);
        else if (n == 0 && e->len > 0 && e->op == 7)
            hr = HR_EOF;
        else
            info = (ULONG_PTR)n;
        break;
    }
    }
    post(r, e->user_data, hr, info);
}

HRESULT SubmitIoRing(HIORING h, UINT32 wait, UINT32 ms, UINT32 *submitted)
{
    fake_ring *r = (fake_ring *)h;
    unsigned n = r->sq_tail - r->sq_head, present;
    (void)ms;
    if (wait != IORING_SUBMIT_WAIT_ALL && wait > r->cq_size)
        return HR_INVALIDARG;
    if (n + r->in_flight + (r->cq_tail - r->cq_head) > r->cq_size)
        return IORING_E_COMPLETION_QUEUE_TOO_FULL;
    while (r->sq_head != r->sq_tail)
        run(r, &r->sq[r->sq_head++ & (r->sq_size - 1)]);
    if (submitted)
        *submitted = n;
    present = r->cq_tail - r->cq_head;
    if (wait != 0 && ((wait == IORING_SUBMIT_WAIT_ALL && r->in_flight) ||
                      (wait != IORING_SUBMIT_WAIT_ALL && present < wait)))
        return HR_TIMEOUT;
    return S_OK;
}

HRESULT PopIoRingCompletion(HIORING h, IORING_CQE *cqe)
{
    fake_ring *r = (fake_ring *)h;
    if (r->cq_head == r->cq_tail)
        return S_FALSE;
    *cqe = r->cq[r->cq_head++ & (r->cq_size - 1)];
    return S_OK;
}

HRESULT CloseIoRing(HIORING h)
{
    fake_ring *r = (fake_ring *)h;
    if (r->event >= 0)
        close(r->event);
    free(r->sq);
    free(r->cq);
    free(r->bufs);
    free(r->files);
    memset(r, 0xAB, sizeof *r);   /* a stale HIORING is garbage, as on Windows */
    free(r);
    return S_OK;
}
