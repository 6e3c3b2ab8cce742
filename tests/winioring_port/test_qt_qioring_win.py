"""Port of Qt's QIORing Windows backend, qtbase src/corelib/io/qioring_win.cpp (Qt 6.10+).

Transcribed: initializeIORing (capabilities check, CreateIoRing(IORING_VERSION_3), a manual-reset
event given to SetIoRingCompletionEvent, GetIoRingInfo), prepareRequest for Open / Close / Read /
Write / VectoredRead / VectoredWrite / Flush / Stat / Cancel (reads and writes split at
MaxReadWriteLen; Close and Flush as a drained flush, since Windows has no NOP builder),
submitRequests (SubmitIoRing(shouldTryWait ? 1 : 0, 1)), completionReady (ResetEvent, then pop
while S_OK and dispatch by operation), handleRead/WriteCompletion (ERROR_HANDLE_EOF ends a read,
E_ABORT is an AbortError), waitForCompletions, and ~QIORing: CloseHandle(eventHandle) *before*
CloseIoRing.
Not available here, so reduced to what the backend needs: the platform-independent half (qioring.cpp,
qioring_p.h: the request list, queueRequest, the callbacks). The request list is a Python list in
queue order; a split request that has more to do is simply prepared again next (Qt splices it in
front of the unqueued ones: the same order). MaxReadWriteLen (a constant of qioring_p.h) is a
parameter, set small so the split path runs on small buffers. QWinEventNotifier is process_events():
a zero-timeout wait on the event, then completionReady(). CreateFile is os.open, HANDLE an fd.
"""
import os
import threading

import pytest

from ioring import winioring as W

from . import winapi

# QFileDevice::FileError
NoError, ReadError, WriteError, OpenError, AbortError, UnspecifiedError = (
    "NoError", "ReadError", "WriteError", "OpenError", "AbortError", "UnspecifiedError")
S_OK, E_ABORT = 0, winapi.E_ABORT
FINISHED, MORE_TO_DO = "Finished", "MoreToDo"
OK, QUEUE_FULL, DEFER, REQUEST_COMPLETED = "Ok", "QueueFull", "Defer", "RequestCompleted"


class Request:
    """QIORingRequest<Op>: the operation, its data, its result (bytes/size, or a FileError)."""

    def __init__(self, operation, **data):
        self.operation = operation
        self.__dict__.update(data)
        self.result = None
        self.queued = False
        self.extra = None            # QtPrivate::ReadWriteExtra {spanIndex, spanOffset, totalProcessed, numSpans}
        self.done = False


class Extra:
    def __init__(self):
        self.spanIndex = self.spanOffset = self.totalProcessed = 0
        self.numSpans = 1


class QIORingWin:
    def __init__(self, sqEntries=16, cqEntries=32, MaxReadWriteLen=1 << 30):
        self.sqEntries, self.cqEntries, self.MaxReadWriteLen = sqEntries, cqEntries, MaxReadWriteLen
        self.initialized = False
        self.eventHandle = winapi.INFINITE          # INVALID_HANDLE_VALUE stand-in: not an eventfd
        self.pendingRequests = []
        self.inFlightRequests = self.unstagedRequests = self.ongoingSplitOperations = 0
        self.queueWasFull = False

    def close(self):                                # ~QIORing()
        if self.initialized:
            winapi.CloseHandle(self.eventHandle)
            self.on_event_closed()
            W.CloseIoRing(self.ioRingHandle)
            self.initialized = False

    def on_event_closed(self):
        """Test hook: what another thread may do between CloseHandle(eventHandle) and CloseIoRing."""

    def initializeIORing(self):
        if self.initialized:
            return True
        capabilities = W.QueryIoRingCapabilities()
        if capabilities.MaxVersion < W.IORING_VERSION_3:    # 3 adds write, flush and drain
            return False
        if capabilities.FeatureFlags & W.IORING_FEATURE_SET_COMPLETION_EVENT == 0:
            return False
        self.ioRingHandle = W.CreateIoRing(W.IORING_VERSION_3, W.IORING_CREATE_FLAGS(0, 0), self.sqEntries,
                                           self.cqEntries)
        try:
            self.eventHandle = winapi.CreateEvent(True, False)
            W.SetIoRingCompletionEvent(self.ioRingHandle, self.eventHandle)
        except BaseException:                      # earlyExitCleanup
            if self.eventHandle != winapi.INFINITE:
                winapi.CloseHandle(self.eventHandle)
            W.CloseIoRing(self.ioRingHandle)
            raise
        info = W.GetIoRingInfo(self.ioRingHandle)
        self.sqEntries, self.cqEntries = info.SubmissionQueueSize, info.CompletionQueueSize
        self.initialized = True
        return True

    # -- the platform-independent half, reduced --
    def queueRequest(self, request):
        self.pendingRequests.append(request)
        self.prepareRequests()
        if self.unstagedRequests > 0:
            self.submitRequests()
        return request

    def process_events(self):
        """QWinEventNotifier::activated -> completionReady()."""
        if winapi.WaitForSingleObject(self.eventHandle, 0) == winapi.WAIT_OBJECT_0:
            self.completionReady()

    def run_until(self, requests, timeout_ms=5000):
        while not all(r.done for r in requests):
            assert self.waitForCompletions(timeout_ms), "no completion within the deadline"
            self.completionReady()

    def finish(self, request, result):
        request.result = result
        request.done = True

    # -- qioring_win.cpp --
    def handleReadCompletion(self, result, information, request):
        if W.FAILED(result):
            if result == W.HRESULT_FROM_WIN32(winapi.ERROR_HANDLE_EOF):
                return FINISHED
            self.finish(request, AbortError if result == E_ABORT else ReadError)
            return FINISHED
        extra = request.extra
        if extra is not None:
            extra.totalProcessed += information
            extra.spanOffset += information
            request.bytes = extra.totalProcessed
            spans = request.destinations
            while extra.spanOffset == len(spans[extra.spanIndex]):
                extra.spanIndex += 1
                if extra.spanIndex == extra.numSpans:
                    return FINISHED
                extra.spanOffset = 0
            return MORE_TO_DO
        request.bytes = information
        return FINISHED

    def handleWriteCompletion(self, result, information, request):
        if W.FAILED(result):
            self.finish(request, AbortError if result == E_ABORT else WriteError)
            return FINISHED
        extra = request.extra
        if extra is not None:
            extra.totalProcessed += information
            extra.spanOffset += information
            request.bytes = extra.totalProcessed
            spans = request.sources
            while extra.spanOffset == len(spans[extra.spanIndex]):
                extra.spanIndex += 1
                if extra.spanIndex == extra.numSpans:
                    return FINISHED
                extra.spanOffset = 0
            return MORE_TO_DO
        request.bytes = information
        return FINISHED

    def completionReady(self):
        winapi.ResetEvent(self.eventHandle)
        while (entry := W.PopIoRingCompletion(self.ioRingHandle)) is not None:
            request = self.by_id.get(entry.UserData)
            if request is None or request not in self.pendingRequests:
                continue                         # "Likely deleted, ignoring."
            op = request.operation
            if op == "Close":
                try:
                    os.close(request.fd)         # CloseHandle(HANDLE(closeRequest.fd))
                    self.finish(request, "closed")
                except OSError:
                    self.finish(request, OpenError)
            elif op in ("Read", "VectoredRead", "Write", "VectoredWrite"):
                handler = self.handleReadCompletion if "Read" in op else self.handleWriteCompletion
                status = handler(entry.ResultCode, entry.Information, request)
                if request.extra is not None and status == FINISHED:
                    self.ongoingSplitOperations -= 1
                if status == MORE_TO_DO:
                    request.queued = False       # prepared again next (Qt: spliced before the unqueued)
                    self.inFlightRequests -= 1
                    continue
                if not request.done:
                    self.finish(request, request.bytes if hasattr(request, "bytes") else 0)
            elif op == "Flush":
                self.finish(request, WriteError if W.FAILED(entry.ResultCode) else NoError)
            elif op == "Cancel":
                self.finish(request, NoError)
            self.pendingRequests.remove(request)
            self.inFlightRequests -= 1
            self.queueWasFull = False
        self.prepareRequests()
        if self.unstagedRequests > 0:
            self.submitRequests()

    def waitForCompletions(self, timeout_ms):
        return winapi.WaitForSingleObject(self.eventHandle, timeout_ms) == winapi.WAIT_OBJECT_0

    def submitRequests(self):
        if self.unstagedRequests == 0:
            return
        shouldTryWait, self.queueWasFull = self.queueWasFull, False

        def submitToRing():
            try:
                submittedEntries = W.SubmitIoRing(self.ioRingHandle, 1 if shouldTryWait else 0, 1)
            except W.IoRingError as exc:      # "Too noisy, not a real problem"
                submittedEntries = exc.submitted_entries or 0
                self.unstagedRequests -= submittedEntries
                return False
            self.unstagedRequests -= submittedEntries
            return submittedEntries > 0
        if submitToRing() and shouldTryWait:
            self.prepareRequests()
            if self.unstagedRequests > 0:
                submitToRing()

    def prepareRequests(self):
        for request in list(self.pendingRequests):
            if self.queueWasFull:
                return
            if request.queued or request.done:
                continue
            r = self.prepareRequest(request)
            if r == OK:
                self.unstagedRequests += 1
                self.inFlightRequests += 1
            elif r == QUEUE_FULL:
                self.queueWasFull = True
                return
            elif r == DEFER:
                return
            elif r == REQUEST_COMPLETED:
                self.pendingRequests.remove(request)

    @property
    def by_id(self):
        return {id(r): r for r in self.pendingRequests}

    def _rw_span(self, request, spans, vectored):
        span, offset = spans[0], request.offset
        if vectored and len(spans) > 1 or len(span) > self.MaxReadWriteLen:
            if request.extra is None:
                request.extra = Extra()
                self.ongoingSplitOperations += 1
            extra = request.extra
            extra.numSpans = len(spans)
            span = memoryview(spans[extra.spanIndex])
            remaining = len(span) - extra.spanOffset
            span = span[extra.spanOffset:extra.spanOffset + min(remaining, self.MaxReadWriteLen)]
            offset += extra.totalProcessed
        return span, offset

    def prepareRequest(self, request):
        op = request.operation
        if hasattr(request, "fd") and not (request.fd > 0 and request.fd != -1):      # verifyFd
            self.finish(request, OpenError)
            return REQUEST_COMPLETED
        try:
            if op == "Open":
                try:
                    fd = os.open(request.path, request.flags, 0o644)
                    self.finish(request, fd)
                except OSError:
                    self.finish(request, OpenError)
                return REQUEST_COMPLETED
            if op == "Close":
                if self.ongoingSplitOperations > 0:
                    return DEFER
                W.BuildIoRingFlushFile(self.ioRingHandle, W.IoRingHandleRefFromHandle(request.fd),
                                       W.FILE_FLUSH_MIN_METADATA, id(request), W.IOSQE_FLAGS_DRAIN_PRECEDING_OPS)
            elif op in ("Read", "VectoredRead"):
                spans = [request.destination] if op == "Read" else request.destinations
                request.destinations = spans
                span, offset = self._rw_span(request, spans, op == "VectoredRead")
                W.BuildIoRingReadFile(self.ioRingHandle, W.IoRingHandleRefFromHandle(request.fd),
                                      W.IoRingBufferRefFromPointer(span), len(span), offset, id(request),
                                      W.IOSQE_FLAGS_NONE)
            elif op in ("Write", "VectoredWrite"):
                spans = [request.source] if op == "Write" else request.sources
                request.sources = spans
                span, offset = self._rw_span(request, spans, op == "VectoredWrite")
                W.BuildIoRingWriteFile(self.ioRingHandle, W.IoRingHandleRefFromHandle(request.fd),
                                       W.IoRingBufferRefFromPointer(span), len(span), offset,
                                       W.FILE_WRITE_FLAGS_NONE, id(request), W.IOSQE_FLAGS_NONE)
            elif op == "Flush":
                if self.ongoingSplitOperations > 0:
                    return DEFER
                W.BuildIoRingFlushFile(self.ioRingHandle, W.IoRingHandleRefFromHandle(request.fd),
                                       W.FILE_FLUSH_DEFAULT, id(request), W.IOSQE_FLAGS_DRAIN_PRECEDING_OPS)
            elif op == "Stat":
                try:
                    self.finish(request, os.fstat(request.fd).st_size)
                except OSError:
                    self.finish(request, OpenError)
                return REQUEST_COMPLETED
            elif op == "Cancel":
                other = request.other
                if other not in self.pendingRequests:
                    self.finish(request, NoError)      # "Invalid cancel for non-existant operation"
                    return REQUEST_COMPLETED
                if not other.queued:
                    self.finish(other, AbortError)
                    self.pendingRequests.remove(other)
                    self.finish(request, NoError)
                    return REQUEST_COMPLETED
                W.BuildIoRingCancelRequest(self.ioRingHandle, W.IoRingHandleRefFromHandle(other.fd), id(other),
                                           id(request))
        except W.IoRingError as exc:
            if exc.hresult == W.IORING_E_SUBMISSION_QUEUE_FULL:
                return QUEUE_FULL
            self.finish(request, UnspecifiedError)
            return REQUEST_COMPLETED
        request.queued = True
        return OK


@pytest.fixture
def qioring():
    ring = QIORingWin(sqEntries=8, cqEntries=16, MaxReadWriteLen=4096)
    assert ring.initializeIORing()
    yield ring
    ring.close()


def test_initialize_reads_back_the_queue_sizes(qioring):
    assert (qioring.sqEntries, qioring.cqEntries) == (8, 16)


def test_open_write_flush_read_stat_close(qioring, tmp_path):
    path = str(tmp_path / "qt.bin")
    opened = qioring.queueRequest(Request("Open", path=path, flags=os.O_RDWR | os.O_CREAT))
    fd = opened.result
    assert isinstance(fd, int) and fd > 0
    payload = bytes(range(256)) * 40                      # 10240 bytes: three pieces of MaxReadWriteLen
    write = qioring.queueRequest(Request("Write", fd=fd, source=payload, offset=0))
    flush = qioring.queueRequest(Request("Flush", fd=fd))
    qioring.run_until([write, flush])
    assert write.result == len(payload) and flush.result == NoError
    assert open(path, "rb").read() == payload
    dest = bytearray(len(payload))
    read = qioring.queueRequest(Request("Read", fd=fd, destination=dest, offset=0))
    qioring.run_until([read])
    assert read.result == len(payload) and dest == payload
    stat = qioring.queueRequest(Request("Stat", fd=fd))
    assert stat.result == len(payload)
    close = qioring.queueRequest(Request("Close", fd=fd))
    qioring.run_until([close])
    assert close.result == "closed"
    with pytest.raises(OSError):
        os.fstat(fd)


def test_vectored_read_write_and_read_past_eof(qioring, tmp_path):
    path = tmp_path / "vec.bin"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        sources = [b"a" * 5000, b"", b"b" * 100, b"c" * 4096]
        w = qioring.queueRequest(Request("VectoredWrite", fd=fd, sources=sources, offset=10))
        qioring.run_until([w])
        assert w.result == 9196 and path.read_bytes() == bytes(10) + b"".join(sources)
        dests = [bytearray(3), bytearray(9000), bytearray(500)]
        r = qioring.queueRequest(Request("VectoredRead", fd=fd, destinations=dests, offset=0))
        qioring.run_until([r])
        # the file has 9206 bytes: the third span is read short (203 of 500), the next piece is at end-of-file
        # (ERROR_HANDLE_EOF finishes the request, no error)
        assert r.result == 9206
        assert b"".join(dests)[:9206] == path.read_bytes()
        eof = qioring.queueRequest(Request("Read", fd=fd, destination=bytearray(10), offset=1 << 20))
        qioring.run_until([eof])
        assert eof.result == 0                            # ERROR_HANDLE_EOF: Finished, nothing read
    finally:
        os.close(fd)


def test_queue_full_is_retried(qioring, tmp_path):
    path = tmp_path / "many"
    path.write_bytes(bytes(range(256)) * 16)
    fd = os.open(path, os.O_RDONLY)
    try:
        # 16 complete unpopped (CQ 16), then SubmitIoRing fails with IORING_E_COMPLETION_QUEUE_TOO_FULL
        # and the entries stay queued until the 8-entry SQ is full: the rest wait for completionReady().
        reads = [qioring.queueRequest(Request("Read", fd=fd, destination=bytearray(16), offset=16 * (i % 256)))
                 for i in range(30)]
        assert sum(not r.queued for r in reads) == 30 - 16 - 8  # (submitRequests resets queueWasFull)
        qioring.run_until(reads)
        for i, r in enumerate(reads):
            assert r.result == 16 and r.destination == (bytes(range(256)) * 16)[16 * i:16 * i + 16]
    finally:
        os.close(fd)


def test_cancel_before_and_after_queueing(qioring):
    rfd, wfd = os.pipe()
    try:
        pending = qioring.queueRequest(Request("Read", fd=rfd, destination=bytearray(8), offset=0))
        assert pending.queued and not pending.done
        cancel = qioring.queueRequest(Request("Cancel", other=pending))
        qioring.run_until([pending, cancel])
        assert cancel.result == NoError
        assert pending.result in (AbortError, ReadError)  # see the next test for which
    finally:
        os.close(rfd)
        os.close(wfd)


@pytest.mark.xfail(strict=True, reason="Qt maps only E_ABORT (0x80004004) to AbortError; the emulation completes a "
                                       "cancelled read with 0x800703E3 (HRESULT_FROM_WIN32(ERROR_OPERATION_ABORTED), "
                                       "the conversion of STATUS_CANCELLED that also gives the observed EOF code), so "
                                       "Qt reports a ReadError. Which one Windows gives is unverified (README table)")
def test_cancelled_read_is_an_abort_error(qioring):
    rfd, wfd = os.pipe()
    try:
        pending = qioring.queueRequest(Request("Read", fd=rfd, destination=bytearray(8), offset=0))
        cancel = qioring.queueRequest(Request("Cancel", other=pending))
        qioring.run_until([pending, cancel])
        assert pending.result == AbortError
    finally:
        os.close(rfd)
        os.close(wfd)


def test_destructor_closes_the_event_before_the_ring(tmp_path):
    """~QIORing: CloseHandle(eventHandle), then CloseIoRing, with a read still in flight. Between the two,
    another thread of the program may open a file that gets the event's number: CloseIoRing (which
    here cancels the read and posts its CQE) must not signal into that file."""
    victim = tmp_path / "victim"
    victim.write_bytes(b"")
    opened = []
    ring = QIORingWin()
    assert ring.initializeIORing()
    event = ring.eventHandle

    def open_in_between():                       # as another thread of the program could
        fd = os.open(victim, os.O_RDWR)
        if fd != event:
            os.dup2(fd, event)
            os.close(fd)
        opened.append(event)
    ring.on_event_closed = open_in_between
    rfd, wfd = os.pipe()
    try:
        pending = ring.queueRequest(Request("Read", fd=rfd, destination=bytearray(8), offset=0))
        assert pending.queued
        ring.close()
        assert victim.read_bytes() == b""
    finally:
        for fd in opened + [rfd, wfd]:
            os.close(fd)


def test_completion_wakes_a_waiting_thread(qioring, tmp_path):
    """waitForCompletions() in one thread, the data arriving from another (the notifier disabled)."""
    rfd, wfd = os.pipe()
    try:
        read = qioring.queueRequest(Request("Read", fd=rfd, destination=bytearray(4), offset=0))
        threading.Timer(0.1, os.write, (wfd, b"ping")).start()
        assert qioring.waitForCompletions(5000)
        qioring.completionReady()
        assert read.result == 4 and read.destination == b"ping"
        assert not qioring.waitForCompletions(0)          # manual-reset: reset by completionReady
    finally:
        os.close(rfd)
        os.close(wfd)
