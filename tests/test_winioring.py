"""ioring.winioring: the Windows IoRing API emulated over io_uring, against the real kernel."""
import os
import select
import threading
import time

import pytest

from ioring import winioring as W

FLAGS = W.IORING_CREATE_FLAGS(0, 0)


RING = ("winioring", 16)        # the conftest ring fixture: CreateIoRing(IORING_VERSION_4, FLAGS, 16, 0)


@pytest.fixture
def tmpfile(tmp_path):
    p = tmp_path / "data"
    p.write_bytes(bytes(range(256)) * 16)      # 4096 bytes
    fd = os.open(p, os.O_RDWR)
    yield p, fd
    os.close(fd)


def pop_all(ring, n, timeout=5.0):
    out = []
    end = time.monotonic() + timeout
    while len(out) < n:
        cqe = W.PopIoRingCompletion(ring)
        if cqe is None:
            assert time.monotonic() < end, f"only {len(out)} of {n} completions"
            time.sleep(0.001)
            continue
        out.append(cqe)
    return out


def hr_of(excinfo):
    return excinfo.value.hresult


def test_capabilities():
    caps = W.QueryIoRingCapabilities()
    assert caps.MaxVersion == 400
    assert caps.MaxSubmissionQueueSize == 65536 and caps.MaxCompletionQueueSize == 131072
    assert caps.FeatureFlags == W.IORING_FEATURE_UM_EMULATION | W.IORING_FEATURE_SET_COMPLETION_EVENT == 3


@pytest.mark.parametrize("sq,cq,esq,ecq", [(0, 0, 32, 64), (1, 0, 8, 16), (7, 3, 8, 16), (20, 20, 32, 64),
                                           (8, 100, 8, 128), (0x10000, 0x20000, 0x10000, 0x20000),
                                           (33, 0, 64, 128)])
def test_create_sizes(sq, cq, esq, ecq):
    r = W.CreateIoRing(W.IORING_VERSION_3, W.IORING_CREATE_FLAGS(0, 0x80), sq, cq)
    info = W.GetIoRingInfo(r)
    assert (info.SubmissionQueueSize, info.CompletionQueueSize) == (esq, ecq)
    assert info.IoRingVersion == 300 and info.Flags.Required == 0 and info.Flags.Advisory == 0x80
    W.CloseIoRing(r)


@pytest.mark.parametrize("args,hr", [
    ((0, FLAGS, 8, 0), W.IORING_E_VERSION_NOT_SUPPORTED),
    ((401, FLAGS, 8, 0), W.IORING_E_VERSION_NOT_SUPPORTED),
    ((1, W.IORING_CREATE_FLAGS(1, 0), 8, 0), W.IORING_E_REQUIRED_FLAG_NOT_SUPPORTED),
    ((1, FLAGS, 0x10001, 0), W.IORING_E_SUBMISSION_QUEUE_TOO_BIG),
    ((1, FLAGS, 8, 0x20001), W.IORING_E_COMPLETION_QUEUE_TOO_BIG),
])
def test_create_errors(args, hr):
    with pytest.raises(W.IoRingError) as ei:
        W.CreateIoRing(*args)
    assert hr_of(ei) == hr and isinstance(ei.value, OSError)


def test_create_bad_input():
    with pytest.raises(TypeError):
        W.CreateIoRing(1, 0, 8, 0)
    with pytest.raises(ValueError):
        W.CreateIoRing(1, FLAGS, -1, 0)
    with pytest.raises(TypeError):
        W.CreateIoRing(1.0, FLAGS, 8, 0)


def test_op_supported_by_version():
    r1 = W.CreateIoRing(W.IORING_VERSION_1, FLAGS, 8, 0)
    r3 = W.CreateIoRing(W.IORING_VERSION_3, FLAGS, 8, 0)
    r4 = W.CreateIoRing(W.IORING_VERSION_4, FLAGS, 8, 0)
    for op in range(5):
        assert W.IsIoRingOpSupported(r1, op) is True
    assert not W.IsIoRingOpSupported(r1, W.IORING_OP_WRITE)
    assert W.IsIoRingOpSupported(r3, W.IORING_OP_FLUSH) and not W.IsIoRingOpSupported(r3, W.IORING_OP_READ_SCATTER)
    assert W.IsIoRingOpSupported(r4, W.IORING_OP_WRITE_GATHER)
    assert not W.IsIoRingOpSupported(r4, 9) and not W.IsIoRingOpSupported(r4, -1)
    assert not W.IsIoRingOpSupported(None, 1) and not W.IsIoRingOpSupported("x", 1)
    for r in (r1, r3, r4):
        W.CloseIoRing(r)
    assert not W.IsIoRingOpSupported(r1, 1)


def test_read_file(ring, tmpfile):
    path, fd = tmpfile
    buf = bytearray(100)
    W.BuildIoRingReadFile(ring, W.IoRingHandleRefFromHandle(fd), W.IoRingBufferRefFromPointer(buf), 100, 10,
                          0x1234, W.IOSQE_FLAGS_NONE)
    assert W.PopIoRingCompletion(ring) is None       # not submitted yet
    assert W.SubmitIoRing(ring, 1, W.INFINITE) == 1
    cqe = W.PopIoRingCompletion(ring)
    assert (cqe.UserData, cqe.ResultCode, cqe.Information) == (0x1234, W.S_OK, 100)
    assert bytes(buf) == path.read_bytes()[10:110]
    assert W.PopIoRingCompletion(ring) is None


def test_read_eof_and_short(ring, tmpfile):
    path, fd = tmpfile
    b1, b2, b3 = bytearray(200), bytearray(10), bytearray(0)
    f = W.IoRingHandleRefFromHandle(fd)
    W.BuildIoRingReadFile(ring, f, W.IoRingBufferRefFromPointer(b1), 200, 4000, 1)
    W.BuildIoRingReadFile(ring, f, W.IoRingBufferRefFromPointer(b2), 10, 5000, 2)
    W.BuildIoRingReadFile(ring, f, W.IoRingBufferRefFromPointer(b3), 0, 5000, 3)
    assert W.SubmitIoRing(ring, W.IORING_SUBMIT_WAIT_ALL, 5000) == 3
    res = {c.UserData: (c.ResultCode, c.Information) for c in pop_all(ring, 3)}
    assert res[1] == (0, 96) and bytes(b1[:96]) == path.read_bytes()[4000:]
    assert res[2] == (0x80070026, 0)
    assert res[3] == (0, 0)


def test_write_file_and_flush(ring, tmp_path):
    fd = os.open(tmp_path / "w", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        f = W.IoRingHandleRefFromHandle(fd)
        W.BuildIoRingWriteFile(ring, f, W.IoRingBufferRefFromPointer(b"hello world"), 11, 0,
                               W.FILE_WRITE_FLAGS_NONE, 7)
        W.BuildIoRingWriteFile(ring, f, W.IoRingBufferRefFromPointer(memoryview(b"XYZ")), 3, 20,
                               W.FILE_WRITE_FLAGS_WRITE_THROUGH, 8)
        for mode, ud in ((W.FILE_FLUSH_DEFAULT, 9), (W.FILE_FLUSH_DATA, 10), (W.FILE_FLUSH_MIN_METADATA, 11),
                         (W.FILE_FLUSH_NO_SYNC, 12)):
            W.BuildIoRingFlushFile(ring, f, mode, ud, W.IOSQE_FLAGS_DRAIN_PRECEDING_OPS)
        assert W.SubmitIoRing(ring, W.IORING_SUBMIT_WAIT_ALL, W.INFINITE) == 6
        res = {c.UserData: (c.ResultCode, c.Information) for c in pop_all(ring, 6)}
        assert res[7] == (0, 11) and res[8] == (0, 3)
        assert all(res[u] == (0, 0) for u in (9, 10, 11, 12))
        assert (tmp_path / "w").read_bytes() == b"hello world" + b"\0" * 9 + b"XYZ"
    finally:
        os.close(fd)


@pytest.mark.parametrize("version,build", [
    (W.IORING_VERSION_1, "write"), (W.IORING_VERSION_2, "flush"), (W.IORING_VERSION_3, "scatter"),
    (W.IORING_VERSION_3, "gather"), (W.IORING_VERSION_2, "gather")])
def test_op_newer_than_ring_refused_by_builder(tmpfile, version, build):
    """An op the ring's version lacks (IsIoRingOpSupported is FALSE) is refused by its Build* call with
    IORING_E_VERSION_NOT_SUPPORTED: nothing queued, nothing pinned."""
    _, fd = tmpfile
    r = W.CreateIoRing(version, FLAGS, 8, 0)
    f = W.IoRingHandleRefFromHandle(fd)
    buf = bytearray(4096)
    calls = {
        "write": lambda: W.BuildIoRingWriteFile(r, f, W.IoRingBufferRefFromPointer(buf), 1, 0, 0, 5),
        "flush": lambda: W.BuildIoRingFlushFile(r, f, W.FILE_FLUSH_DEFAULT, 5),
        "scatter": lambda: W.BuildIoRingReadFileScatter(r, f, 1, [buf], 4096, 0, 5),
        "gather": lambda: W.BuildIoRingWriteFileGather(r, f, 1, [buf], 4096, 0, 0, 5),
    }
    try:
        with pytest.raises(W.IoRingError) as ei:
            calls[build]()
        assert hr_of(ei) == W.IORING_E_VERSION_NOT_SUPPORTED == 0x80460003
        buf.extend(b"x")                                             # not pinned
        assert W.SubmitIoRing(r, 0, 0) == 0                          # nothing queued
        assert W.PopIoRingCompletion(r) is None
    finally:
        W.CloseIoRing(r)


def test_op_newer_than_ring_with_skip_builder_checks_completes_with_error(tmpfile):
    """IORING_CREATE_SKIP_BUILDER_PARAM_CHECKS moves the check to the entry's CQE, like the other
    builder checks."""
    _, fd = tmpfile
    r = W.CreateIoRing(W.IORING_VERSION_1, W.IORING_CREATE_FLAGS(0, W.IORING_CREATE_SKIP_BUILDER_PARAM_CHECKS),
                       8, 0)
    W.BuildIoRingWriteFile(r, W.IoRingHandleRefFromHandle(fd), W.IoRingBufferRefFromPointer(b"x"), 1, 0, 0, 5)
    W.SubmitIoRing(r, 1, 1000)
    cqe = W.PopIoRingCompletion(r)
    assert cqe.UserData == 5 and cqe.ResultCode == 0x80070001
    W.CloseIoRing(r)


def test_scatter_gather(ring, tmp_path):
    fd = os.open(tmp_path / "sg", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        f = W.IoRingHandleRefFromHandle(fd)
        segs = [W.FILE_SEGMENT_ELEMENT(b"a" * 4096), W.FILE_SEGMENT_ELEMENT(b"b" * 4096)]
        W.BuildIoRingWriteFileGather(ring, f, 2, segs, 8192, 0, W.FILE_WRITE_FLAGS_NONE, 1)
        W.SubmitIoRing(ring, W.IORING_SUBMIT_WAIT_ALL, 5000)
        c = W.PopIoRingCompletion(ring)
        assert (c.ResultCode, c.Information) == (0, 8192)
        assert (tmp_path / "sg").read_bytes() == b"a" * 4096 + b"b" * 4096
        out = [bytearray(4096), bytearray(4096)]
        W.BuildIoRingReadFileScatter(ring, f, 2, out, 8192, 0, 2)
        W.SubmitIoRing(ring, 1, 5000)
        c = W.PopIoRingCompletion(ring)
        assert (c.UserData, c.ResultCode, c.Information) == (2, 0, 8192)
        assert out[0] == b"a" * 4096 and out[1] == b"b" * 4096
        with pytest.raises(ValueError):
            W.BuildIoRingReadFileScatter(ring, f, 3, out, 8192, 0, 2)
        with pytest.raises(ValueError):
            W.BuildIoRingReadFileScatter(ring, f, 2, out, 8193, 0, 2)
        with pytest.raises(TypeError):
            W.BuildIoRingReadFileScatter(ring, f, 1, [b"readonly"], 8, 0, 2)
    finally:
        os.close(fd)


def test_queue_full_and_submit_drains(tmpfile):
    _, fd = tmpfile
    r = W.CreateIoRing(W.IORING_VERSION_3, FLAGS, 8, 0)
    f = W.IoRingHandleRefFromHandle(fd)
    for i in range(8):
        W.BuildIoRingFlushFile(r, f, W.FILE_FLUSH_DEFAULT, i + 1)
    with pytest.raises(W.IoRingError) as ei:
        W.BuildIoRingFlushFile(r, f, W.FILE_FLUSH_DEFAULT, 99)
    assert hr_of(ei) == W.IORING_E_SUBMISSION_QUEUE_FULL == 0x80460002
    assert W.SubmitIoRing(r, W.IORING_SUBMIT_WAIT_ALL, 5000) == 8
    W.BuildIoRingFlushFile(r, f, W.FILE_FLUSH_DEFAULT, 99)      # room again
    assert sorted(c.UserData for c in pop_all(r, 8)) == list(range(1, 9))
    W.CloseIoRing(r)


def test_cq_too_full_consumes_nothing(tmpfile):
    _, fd = tmpfile
    r = W.CreateIoRing(W.IORING_VERSION_3, FLAGS, 8, 0)          # CQ 16
    f = W.IoRingHandleRefFromHandle(fd)
    for i in range(8):
        W.BuildIoRingFlushFile(r, f, 0, i + 1)
    assert W.SubmitIoRing(r, W.IORING_SUBMIT_WAIT_ALL, 5000) == 8
    for i in range(8):
        W.BuildIoRingFlushFile(r, f, 0, i + 11)
    assert W.SubmitIoRing(r, W.IORING_SUBMIT_WAIT_ALL, 5000) == 8   # 16 unpopped: CQ full
    W.BuildIoRingFlushFile(r, f, 0, 50)
    with pytest.raises(W.IoRingError) as ei:
        W.SubmitIoRing(r, 0, 0)
    assert hr_of(ei) == W.IORING_E_COMPLETION_QUEUE_TOO_FULL
    assert W.PopIoRingCompletion(r) is not None                  # one slot free
    assert W.SubmitIoRing(r, 0, 0) == 1                          # the entry was still queued
    W.CloseIoRing(r)


def test_submit_wait_checks(ring):
    with pytest.raises(W.IoRingError) as ei:
        W.SubmitIoRing(ring, 33, 0)                              # > CQ size (32)
    assert hr_of(ei) == W.E_INVALIDARG
    with pytest.raises(W.IoRingError) as ei:
        W.SubmitIoRing(ring, 1, 0)                               # more than outstanding
    assert hr_of(ei) == W.E_INVALIDARG
    assert W.SubmitIoRing(ring, W.IORING_SUBMIT_WAIT_ALL, W.INFINITE) == 0   # nothing outstanding
    with pytest.raises(ValueError):
        W.SubmitIoRing(ring, -1, 0)


def test_submit_timeout_and_wait_count(ring):
    rfd, wfd = os.pipe()
    try:
        buf = bytearray(8)
        W.BuildIoRingReadFile(ring, W.IoRingHandleRefFromHandle(rfd), W.IoRingBufferRefFromPointer(buf), 8, 0, 77)
        t = time.monotonic()
        with pytest.raises(W.IoRingError) as ei:
            W.SubmitIoRing(ring, 1, 100)
        assert hr_of(ei) == W.IORING_E_WAIT_TIMEOUT == 0x800705B4
        assert ei.value.submitted_entries == 1
        assert 0.08 < time.monotonic() - t < 2
        assert W.PopIoRingCompletion(ring) is None
        os.write(wfd, b"pipedata")
        assert W.SubmitIoRing(ring, 1, 5000) == 0                # waits for the earlier op
        c = W.PopIoRingCompletion(ring)
        assert (c.UserData, c.ResultCode, c.Information) == (77, 0, 8) and buf == b"pipedata"
    finally:
        os.close(rfd)
        os.close(wfd)


def test_wait_releases_gil(ring):
    rfd, wfd = os.pipe()
    try:
        W.BuildIoRingReadFile(ring, W.IoRingHandleRefFromHandle(rfd), W.IoRingBufferRefFromPointer(bytearray(4)),
                              4, 0, 1)
        threading.Timer(0.2, os.write, (wfd, b"abcd")).start()
        assert W.SubmitIoRing(ring, W.IORING_SUBMIT_WAIT_ALL, 5000) == 1
        assert W.PopIoRingCompletion(ring).Information == 4
    finally:
        os.close(rfd)
        os.close(wfd)


def test_submit_in_progress(ring):
    rfd, wfd = os.pipe()
    try:
        W.BuildIoRingReadFile(ring, W.IoRingHandleRefFromHandle(rfd), W.IoRingBufferRefFromPointer(bytearray(4)),
                              4, 0, 1)
        th = threading.Thread(target=W.SubmitIoRing, args=(ring, 1, 3000))
        th.start()
        time.sleep(0.2)
        with pytest.raises(W.IoRingError) as ei:
            W.SubmitIoRing(ring, 0, 0)
        assert hr_of(ei) == W.IORING_E_SUBMIT_IN_PROGRESS
        os.write(wfd, b"abcd")
        th.join()
    finally:
        os.close(rfd)
        os.close(wfd)


def test_register_buffers_and_fixed_io(ring, tmpfile):
    path, fd = tmpfile
    arena = bytearray(8192)
    W.BuildIoRingRegisterBuffers(ring, 2, [W.IORING_BUFFER_INFO(arena, 4096), W.IORING_BUFFER_INFO(None, 0)], 100)
    W.BuildIoRingReadFile(ring, W.IoRingHandleRefFromHandle(fd), W.IoRingBufferRefFromIndexAndOffset(0, 16), 32, 64, 101)
    W.BuildIoRingReadFile(ring, W.IoRingHandleRefFromHandle(fd), W.IoRingBufferRefFromIndexAndOffset(5, 0), 8, 0, 102)
    W.BuildIoRingReadFile(ring, W.IoRingHandleRefFromHandle(fd), W.IoRingBufferRefFromIndexAndOffset(1, 0), 8, 0, 103)
    assert W.SubmitIoRing(ring, W.IORING_SUBMIT_WAIT_ALL, 5000) == 4
    res = {c.UserData: (c.ResultCode, c.Information) for c in pop_all(ring, 4)}
    assert res[100] == (0, 2)                                    # registration CQE, Information = count
    assert res[101] == (0, 32) and arena[16:48] == path.read_bytes()[64:96]
    assert res[102] == (0x800701DA, 0)                           # index out of bounds
    assert res[103] == (0x800706F8, 0)                           # sparse slot
    # replace the table: index 0 now is another buffer; count 0 unregisters
    other = bytearray(16)
    W.BuildIoRingRegisterBuffers(ring, None, [other], 200)
    W.BuildIoRingWriteFile(ring, W.IoRingHandleRefFromHandle(fd), W.IoRingBufferRefFromIndexAndOffset(0, 0), 16, 0,
                           0, 201)
    W.BuildIoRingRegisterBuffers(ring, 0, [], 202)
    W.BuildIoRingReadFile(ring, W.IoRingHandleRefFromHandle(fd), W.IoRingBufferRefFromIndexAndOffset(0, 0), 4, 0, 203)
    W.SubmitIoRing(ring, W.IORING_SUBMIT_WAIT_ALL, 5000)
    res = {c.UserData: (c.ResultCode, c.Information) for c in pop_all(ring, 4)}
    assert res[200] == (0, 1) and res[201] == (0, 16) and res[202] == (0, 0) and res[203][0] == 0x800701DA
    assert path.read_bytes()[:16] == bytes(16)


def test_register_files(ring, tmpfile):
    path, fd = tmpfile
    buf = bytearray(5)
    W.BuildIoRingRegisterFileHandles(ring, 2, [W.INVALID_HANDLE_VALUE, fd], 1)
    W.BuildIoRingReadFile(ring, W.IoRingHandleRefFromIndex(1), W.IoRingBufferRefFromPointer(buf), 5, 1, 2)
    W.BuildIoRingReadFile(ring, W.IoRingHandleRefFromIndex(0), W.IoRingBufferRefFromPointer(bytearray(5)), 5, 1, 3)
    W.BuildIoRingReadFile(ring, W.IoRingHandleRefFromIndex(9), W.IoRingBufferRefFromPointer(bytearray(5)), 5, 1, 4)
    W.SubmitIoRing(ring, W.IORING_SUBMIT_WAIT_ALL, 5000)
    res = {c.UserData: (c.ResultCode, c.Information) for c in pop_all(ring, 4)}
    assert res[1] == (0, 2) and res[2] == (0, 5) and bytes(buf) == path.read_bytes()[1:6]
    assert res[3] == (0x80070006, 0)                             # sparse slot: EBADF
    assert res[4] == (0x800701DA, 0)


def test_cancel(ring):
    rfd, wfd = os.pipe()
    try:
        f = W.IoRingHandleRefFromHandle(rfd)
        W.BuildIoRingReadFile(ring, f, W.IoRingBufferRefFromPointer(bytearray(4)), 4, 0, 10)
        W.BuildIoRingReadFile(ring, f, W.IoRingBufferRefFromPointer(bytearray(4)), 4, 0, 11)
        W.BuildIoRingReadFile(ring, f, W.IoRingBufferRefFromPointer(bytearray(4)), 4, 0, 12)
        W.SubmitIoRing(ring, 0, 0)
        W.BuildIoRingCancelRequest(ring, f, 10, 20)                   # one op
        W.BuildIoRingCancelRequest(ring, f, 999, 21)                  # no such op
        W.BuildIoRingCancelRequest(ring, W.IoRingHandleRefFromHandle(wfd), 11, 22)   # wrong file
        W.SubmitIoRing(ring, 4, 5000)
        res = {c.UserData: c.ResultCode for c in pop_all(ring, 4)}
        assert res[20] == 0 and res[10] == 0x800703E3
        assert res[21] == 0x80070490 and res[22] == 0x80070490
        W.BuildIoRingCancelRequest(ring, f, 0, 30)                    # everything on the file
        W.SubmitIoRing(ring, W.IORING_SUBMIT_WAIT_ALL, 5000)
        res = {c.UserData: c.ResultCode for c in pop_all(ring, 3)}
        assert res == {30: 0, 11: 0x800703E3, 12: 0x800703E3}
    finally:
        os.close(rfd)
        os.close(wfd)


def test_completion_event_edge(ring, tmpfile):
    _, fd = tmpfile
    efd = os.eventfd(0, os.EFD_NONBLOCK)
    try:
        W.SetIoRingCompletionEvent(ring, efd)
        f = W.IoRingHandleRefFromHandle(fd)
        for i in range(3):
            W.BuildIoRingReadFile(ring, f, W.IoRingBufferRefFromPointer(bytearray(8)), 8, 0, i + 1)
        W.SubmitIoRing(ring, 0, 0)                                   # no wait: the event thread harvests
        assert select.select([efd], [], [], 5)[0] == [efd]
        time.sleep(0.2)
        assert os.eventfd_read(efd) == 1                             # one edge for 3 CQEs
        assert len(pop_all(ring, 3)) == 3
        assert W.PopIoRingCompletion(ring) is None
        W.BuildIoRingReadFile(ring, f, W.IoRingBufferRefFromPointer(bytearray(8)), 8, 0, 9)
        W.SubmitIoRing(ring, 1, 5000)
        assert os.eventfd_read(efd) == 1                             # the next empty -> non-empty edge
        W.SetIoRingCompletionEvent(ring, None)
        W.PopIoRingCompletion(ring)
        W.BuildIoRingReadFile(ring, f, W.IoRingBufferRefFromPointer(bytearray(8)), 8, 0, 10)
        W.SubmitIoRing(ring, 1, 5000)
        with pytest.raises(BlockingIOError):
            os.eventfd_read(efd)                                     # cleared: no signal
        with pytest.raises(W.IoRingError) as ei:
            W.SetIoRingCompletionEvent(ring, W.INVALID_HANDLE_VALUE)
        assert hr_of(ei) == W.E_INVALIDARG
    finally:
        os.close(efd)


def test_cancel_completion_popped_after_its_target(ring):
    """IORING_OP_CODE: the cancel request's completion comes after the completion of the operation it
    cancelled (io_uring posts the cancel's CQE first; the emulation reorders its own CQ)."""
    for _ in range(3):
        rfd, wfd = os.pipe()
        try:
            f = W.IoRingHandleRefFromHandle(rfd)
            for ud in (10, 11, 12):
                W.BuildIoRingReadFile(ring, f, W.IoRingBufferRefFromPointer(bytearray(4)), 4, 0, ud)
            W.SubmitIoRing(ring, 0, 0)
            W.BuildIoRingCancelRequest(ring, f, 10, 20)
            W.SubmitIoRing(ring, 2, 5000)
            assert [(c.UserData, c.ResultCode) for c in pop_all(ring, 2)] == [(10, 0x800703E3), (20, 0)]
            W.BuildIoRingCancelRequest(ring, f, 0, 30)                # everything on the file
            W.SubmitIoRing(ring, W.IORING_SUBMIT_WAIT_ALL, 5000)
            order = [c.UserData for c in pop_all(ring, 3)]
            assert sorted(order[:2]) == [11, 12] and order[2] == 30
            assert W.PopIoRingCompletion(ring) is None
        finally:
            os.close(rfd)
            os.close(wfd)


def test_cancel_that_finds_nothing_is_not_held_back(ring, tmpfile):
    """A cancel whose target already completed, or names another file, completes at once (0x80070490)."""
    _, fd = tmpfile
    rfd, wfd = os.pipe()
    try:
        W.BuildIoRingReadFile(ring, W.IoRingHandleRefFromHandle(rfd), W.IoRingBufferRefFromPointer(bytearray(4)),
                              4, 0, 1)
        W.SubmitIoRing(ring, 0, 0)
        W.BuildIoRingCancelRequest(ring, W.IoRingHandleRefFromHandle(fd), 1, 2)     # wrong file
        W.SubmitIoRing(ring, 1, 5000)
        c = W.PopIoRingCompletion(ring)
        assert (c.UserData, c.ResultCode) == (2, 0x80070490)
        os.write(wfd, b"data")
        W.SubmitIoRing(ring, 1, 5000)
        c = W.PopIoRingCompletion(ring)
        assert (c.UserData, c.ResultCode, c.Information) == (1, 0, 4)
    finally:
        os.close(rfd)
        os.close(wfd)


def open_fds():
    return set(os.listdir("/proc/self/fd"))


def event_threads():
    return [t for t in threading.enumerate() if t.name == "winioring-completion-event"]


def test_completion_event_handle_is_duplicated(tmp_path):
    """Microsoft: the ring holds its own reference to the event, so the caller may close its handle
    (Qt closes its event before CloseIoRing). The emulation must not write the eventfd counter into
    whatever file later reuses the closed descriptor number."""
    src = tmp_path / "src"
    src.write_bytes(b"source bytes")
    victim = tmp_path / "victim"
    victim.write_bytes(b"")
    sfd = os.open(src, os.O_RDONLY)
    r = W.CreateIoRing(W.IORING_VERSION_3, FLAGS, 8, 0)
    try:
        efd = os.eventfd(0, os.EFD_NONBLOCK)
        W.SetIoRingCompletionEvent(r, efd)
        os.close(efd)                                    # the caller's handle: the ring has its own
        vfd = os.open(victim, os.O_RDWR)
        if vfd != efd:                                   # make the victim reuse the very number
            os.dup2(vfd, efd)
            os.close(vfd)
            vfd = efd
        try:
            for i in range(3):
                buf = bytearray(12)
                W.BuildIoRingReadFile(r, W.IoRingHandleRefFromHandle(sfd), W.IoRingBufferRefFromPointer(buf),
                                      12, 0, i + 1)
                W.SubmitIoRing(r, 1, 5000)
                c = W.PopIoRingCompletion(r)
                assert (c.UserData, c.ResultCode, c.Information) == (i + 1, 0, 12) and buf == b"source bytes"
            assert victim.read_bytes() == b"" and os.lseek(vfd, 0, os.SEEK_CUR) == 0
        finally:
            os.close(vfd)
    finally:
        W.CloseIoRing(r)
        os.close(sfd)


def test_completion_event_duplicate_signals_and_is_closed(tmpfile):
    """The duplicate is signalled like the original (one file description), and closed again on clear,
    on replace and at CloseIoRing: no descriptor leaks."""
    _, fd = tmpfile
    f = W.IoRingHandleRefFromHandle(fd)
    e1 = os.eventfd(0, os.EFD_NONBLOCK)
    e2 = os.eventfd(0, os.EFD_NONBLOCK)
    try:
        before_ring = open_fds()
        ring = W.CreateIoRing(W.IORING_VERSION_3, FLAGS, 8, 0)
        base = open_fds()
        W.SetIoRingCompletionEvent(ring, e1)
        with_event = open_fds()
        assert len(with_event - base) == 2               # the duplicate + the io_uring's own eventfd
        W.SetIoRingCompletionEvent(ring, e2)             # replace: the duplicate of e1 is closed
        assert len(open_fds() - base) == 2
        W.BuildIoRingReadFile(ring, f, W.IoRingBufferRefFromPointer(bytearray(8)), 8, 0, 1)
        W.SubmitIoRing(ring, 1, 5000)
        assert os.eventfd_read(e2) == 1
        with pytest.raises(BlockingIOError):
            os.eventfd_read(e1)                          # replaced: no longer signalled
        W.PopIoRingCompletion(ring)
        W.SetIoRingCompletionEvent(ring, None)           # clear
        assert open_fds() == base and not event_threads()
        W.SetIoRingCompletionEvent(ring, e1)
        W.CloseIoRing(ring)                              # close
        assert open_fds() == before_ring and not event_threads()
    finally:
        os.close(e1)
        os.close(e2)


def test_completion_event_ring_garbage_collected(tmpfile):
    """An unclosed ring with an event set is garbage-collected (the helper thread does not keep it
    alive), and its descriptors (duplicate, io_uring, helper eventfd) are closed with it."""
    import gc
    _, fd = tmpfile
    efd = os.eventfd(0, os.EFD_NONBLOCK)
    try:
        base = open_fds()
        r = W.CreateIoRing(W.IORING_VERSION_3, FLAGS, 8, 0)
        W.SetIoRingCompletionEvent(r, efd)
        W.BuildIoRingReadFile(r, W.IoRingHandleRefFromHandle(fd), W.IoRingBufferRefFromPointer(bytearray(8)),
                              8, 0, 1)
        W.SubmitIoRing(r, 1, 5000)
        threads = event_threads()
        assert len(threads) == 1
        del r
        gc.collect()
        threads[0].join(5)
        assert not threads[0].is_alive()
        assert open_fds() == base
    finally:
        os.close(efd)


def test_completion_event_unclosed_ring_at_interpreter_exit(tmp_path):
    """A program that exits without CloseIoRing, with the event set, its handle closed and its number
    reused by a file, and a read still in flight: the process exits cleanly and the file is untouched."""
    import subprocess
    import sys
    victim = tmp_path / "victim"
    victim.write_bytes(b"")
    code = f"""
import os
from ioring import winioring as W
r = W.CreateIoRing(W.IORING_VERSION_3, W.IORING_CREATE_FLAGS(), 8, 0)
efd = os.eventfd(0)
W.SetIoRingCompletionEvent(r, efd)
os.close(efd)
vfd = os.open({str(victim)!r}, os.O_RDWR)
if vfd != efd:
    os.dup2(vfd, efd)
rfd, wfd = os.pipe()
buf = bytearray(4)
W.BuildIoRingReadFile(r, W.IoRingHandleRefFromHandle(rfd), W.IoRingBufferRefFromPointer(buf), 4, 0, 1)
W.SubmitIoRing(r, 0, 0)
os.write(wfd, b"late")
print("exiting")
"""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and out.stdout == "exiting\n", out.stderr
    assert "Traceback" not in out.stderr and "Exception" not in out.stderr, out.stderr
    assert victim.read_bytes() == b""


@pytest.mark.parametrize("what", ["closed", "regular file", "pipe", "negative", "big"])
def test_set_completion_event_refuses_what_is_not_an_event(ring, tmp_path, what):
    """A handle that is not an open event (on Linux: not an eventfd) is refused at the call with
    E_HANDLE, and nothing is ever written to it."""
    victim = tmp_path / "victim"
    victim.write_bytes(b"")
    keep = []
    if what == "closed":
        h = os.eventfd(0)
        os.close(h)
    elif what == "regular file":
        h = os.open(victim, os.O_RDWR)
        keep.append(h)
    elif what == "pipe":
        h, w = os.pipe()
        keep += [h, w]
    elif what == "negative":
        h = -2
    else:
        h = 2**40
    try:
        with pytest.raises(W.IoRingError) as ei:
            W.SetIoRingCompletionEvent(ring, h)
        assert hr_of(ei) == W.E_HANDLE
        assert not event_threads()
        W.BuildIoRingFlushFile(ring, W.IoRingHandleRefFromHandle(keep[0]) if keep else 0, 0, 1)
        W.SubmitIoRing(ring, 1, 5000)
        assert W.PopIoRingCompletion(ring) is not None
        assert victim.read_bytes() == b""
    finally:
        for k in keep:
            os.close(k)


def test_set_completion_event_invalid_handle_value_is_invalidarg(ring):
    with pytest.raises(W.IoRingError) as ei:
        W.SetIoRingCompletionEvent(ring, W.INVALID_HANDLE_VALUE)
    assert hr_of(ei) == W.E_INVALIDARG == 0x80070057
    with pytest.raises(TypeError):
        W.SetIoRingCompletionEvent(ring, "event")
    assert not event_threads()


def test_close_discards_and_invalidates(tmpfile):
    _, fd = tmpfile
    r = W.CreateIoRing(W.IORING_VERSION_4, FLAGS, 8, 0)
    rfd, wfd = os.pipe()
    try:
        buf = bytearray(4)
        W.BuildIoRingReadFile(r, W.IoRingHandleRefFromHandle(rfd), W.IoRingBufferRefFromPointer(buf), 4, 0, 1)
        W.SubmitIoRing(r, 0, 0)                                      # in flight
        W.BuildIoRingReadFile(r, W.IoRingHandleRefFromHandle(fd), W.IoRingBufferRefFromPointer(bytearray(4)), 4, 0, 2)
        W.CloseIoRing(r)                                             # cancels, reaps, discards
        os.write(wfd, b"late")
        assert buf == bytes(4)
        for call in (lambda: W.GetIoRingInfo(r), lambda: W.PopIoRingCompletion(r),
                     lambda: W.SubmitIoRing(r, 0, 0), lambda: W.CloseIoRing(r),
                     lambda: W.BuildIoRingFlushFile(r, W.IoRingHandleRefFromHandle(fd), 0, 1)):
            with pytest.raises(W.IoRingError) as ei:
                call()
            assert hr_of(ei) == W.E_HANDLE
    finally:
        os.close(rfd)
        os.close(wfd)


def test_builder_checks(ring, tmpfile):
    _, fd = tmpfile
    f = W.IoRingHandleRefFromHandle(fd)
    b = W.IoRingBufferRefFromPointer(bytearray(8))
    with pytest.raises(W.IoRingError) as ei:
        W.BuildIoRingReadFile(ring, f, b, 8, 0, 1, 0x2)
    assert hr_of(ei) == W.IORING_E_REQUIRED_FLAG_NOT_SUPPORTED
    with pytest.raises(W.IoRingError) as ei:
        W.BuildIoRingWriteFile(ring, f, b, 8, 0, 0x4, 1)
    assert hr_of(ei) == W.IORING_E_REQUIRED_FLAG_NOT_SUPPORTED
    with pytest.raises(W.IoRingError) as ei:
        W.BuildIoRingFlushFile(ring, f, 4, 1)
    assert hr_of(ei) == W.E_INVALIDARG
    with pytest.raises(ValueError):
        W.BuildIoRingReadFile(ring, f, b, 9, 0, 1)                   # longer than the buffer
    with pytest.raises(TypeError):
        W.BuildIoRingReadFile(ring, f, W.IoRingBufferRefFromPointer(b"ro"), 2, 0, 1)   # read into bytes
    with pytest.raises(TypeError):
        W.BuildIoRingReadFile(ring, f, bytearray(8), 8, 0, 1)
    with pytest.raises(TypeError):
        W.IoRingBufferRefFromPointer("text")
    with pytest.raises(TypeError):
        W.BuildIoRingReadFile(ring, "f", b, 8, 0, 1)
    with pytest.raises(ValueError):
        W.IoRingHandleRefFromHandle(-5)
    with pytest.raises(TypeError):
        W.BuildIoRingReadFile(None, f, b, 8, 0, 1)
    with pytest.raises(ValueError):
        W.BuildIoRingRegisterFileHandles(ring, 3, [fd], 1)
    assert W.SubmitIoRing(ring, 0, 0) == 0                           # nothing was queued


def test_skip_builder_checks_moves_error_to_cqe(tmpfile):
    _, fd = tmpfile
    r = W.CreateIoRing(W.IORING_VERSION_4, W.IORING_CREATE_FLAGS(0, W.IORING_CREATE_SKIP_BUILDER_PARAM_CHECKS), 8, 0)
    W.BuildIoRingReadFile(r, W.IoRingHandleRefFromHandle(fd), W.IoRingBufferRefFromPointer(bytearray(8)), 8, 0, 5, 0x2)
    W.SubmitIoRing(r, 1, 5000)
    c = W.PopIoRingCompletion(r)
    assert (c.UserData, c.ResultCode) == (5, W.IORING_E_REQUIRED_FLAG_NOT_SUPPORTED)
    W.CloseIoRing(r)


def test_errno_mapping(ring, tmp_path):
    fd = os.open(tmp_path / "ro", os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        W.BuildIoRingWriteFile(ring, W.IoRingHandleRefFromHandle(fd), W.IoRingBufferRefFromPointer(b"x"), 1, 0, 0, 1)
        W.BuildIoRingReadFile(ring, W.IoRingHandleRefFromHandle(1000), W.IoRingBufferRefFromPointer(bytearray(1)),
                              1, 0, 2)
        W.SubmitIoRing(ring, W.IORING_SUBMIT_WAIT_ALL, 5000)
        res = {c.UserData: c.ResultCode for c in pop_all(ring, 2)}
        assert res == {1: 0x80070006, 2: 0x80070006}                 # EBADF (write on O_RDONLY, bad fd)
    finally:
        os.close(fd)
    assert W.HRESULT_FROM_WIN32(38) == 0x80070026 and W.SUCCEEDED(W.S_FALSE) and W.FAILED(0x80460002)


def test_handle_objects_and_pinning(ring, tmp_path):
    p = tmp_path / "obj"
    p.write_bytes(b"0123456789")
    with open(p, "rb") as fobj:
        buf = bytearray(4)
        W.BuildIoRingReadFile(ring, W.IoRingHandleRefFromHandle(fobj), W.IoRingBufferRefFromPointer(buf), 4, 3, 1)
        with pytest.raises(BufferError):
            buf.extend(b"x")                                         # pinned while queued
        W.SubmitIoRing(ring, 1, 5000)
        with pytest.raises(BufferError):
            buf.extend(b"x")                                         # pinned until popped
        c = W.PopIoRingCompletion(ring)
        assert c.Information == 4 and buf == b"3456"
        buf.extend(b"x")                                             # released


def test_struct_layout_header_constants():
    assert W.IORING_VERSION_3 == 300 and W.IORING_VERSION_4 == 400
    assert W.IORING_SUBMIT_WAIT_ALL == 0xFFFFFFFF
    assert [getattr(W, n) for n in ("IORING_E_REQUIRED_FLAG_NOT_SUPPORTED", "IORING_E_SUBMISSION_QUEUE_FULL",
                                    "IORING_E_VERSION_NOT_SUPPORTED", "IORING_E_SUBMISSION_QUEUE_TOO_BIG",
                                    "IORING_E_COMPLETION_QUEUE_TOO_BIG", "IORING_E_SUBMIT_IN_PROGRESS",
                                    "IORING_E_CORRUPT", "IORING_E_COMPLETION_QUEUE_TOO_FULL")] == \
        list(range(0x80460001, 0x80460009))
    r = W.IoRingBufferRefFromIndexAndOffset(2, 5)
    assert r.Kind == W.IORING_REF_REGISTERED and r.Buffer.IndexAndOffset.BufferIndex == 2
    h = W.IoRingHandleRefFromIndex(3)
    assert h.Kind == W.IORING_REF_REGISTERED and h.Handle.Index == 3


# ---- the Windows backend (KernelBase.dll through include/ioring/winioring_kernelbase.h) ---------
import ctypes
import re
import shutil
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KB_HEADER = os.path.join(ROOT, "include", "ioring", "winioring_kernelbase.h")
API_PREFIXES = ("QueryIoRing", "CreateIoRing", "GetIoRing", "IsIoRing", "SubmitIoRing", "PopIoRing",
                "SetIoRing", "CloseIoRing", "BuildIoRing")


def kb_functions():
    """The function list of the dispatch table (WINIORING_KB_FUNCTIONS)."""
    text = open(KB_HEADER).read()
    body = text[text.index("#define WINIORING_KB_FUNCTIONS(X)"):]
    body = body[:body.index("\n\n")]
    return re.findall(r"X\(\w+, (\w+),", body)


def test_dispatch_table_matches_module():
    """The Windows dispatch table and the module's API are the same 16 functions, and the KernelBase
    backend (ioring/_winioring_kernelbase.pxi) declares and calls every one of them: the two backends
    cannot drift apart."""
    names = kb_functions()
    assert len(names) == len(set(names)) == 16
    public = {n for n in dir(W) if n.startswith(API_PREFIXES) and callable(getattr(W, n))}
    assert public == set(names)
    src = open(os.path.join(ROOT, "ioring", "_winioring_kernelbase.pxi")).read()
    declarations, code = src.split("cdef extern from \"ioring/winioring_kernelbase.h\"")[1].split("\n\n\n", 1)
    for n in names:
        assert re.search(rf"HRESULT ioring_win_{n}\(|int ioring_win_{n}\(", declarations), n
        assert f"ioring_win_{n}(" in code, n


@pytest.fixture
def no_ioring_windows():
    """The KernelBase path with an empty table: a Windows 10 (KernelBase.dll without IoRing)."""
    W._set_backend(True)
    yield
    W._set_backend(False)


def test_kernelbase_without_ioring_is_a_clear_error(no_ioring_windows):
    assert W._backend() == "KernelBase.dll"
    for call in (W.QueryIoRingCapabilities, lambda: W.CreateIoRing(W.IORING_VERSION_3, FLAGS, 0, 0)):
        with pytest.raises(W.IoRingError) as e:
            call()
        assert hr_of(e) == W.E_NOTIMPL and "IoRing is unavailable" in str(e.value)
        assert "Windows 11" in str(e.value)
    assert W.IsIoRingOpSupported(None, W.IORING_OP_READ) is False


_FAKE = {}


def fake_kernelbase(tmp_path_factory):
    if "lib" not in _FAKE:
        cc = shutil.which(os.environ.get("CC", "cc"))
        if cc is None:
            pytest.skip("no C compiler for tests/c/win/fake_kernelbase.c")
        out = str(tmp_path_factory.mktemp("fakekb") / "fake_kernelbase.so")
        subprocess.run([cc, "-shared", "-fPIC", "-O1", "-I", os.path.join(ROOT, "include"),
                        os.path.join(ROOT, "tests", "c", "win", "fake_kernelbase.c"), "-o", out], check=True)
        _FAKE["lib"] = ctypes.CDLL(out)
    lib = _FAKE["lib"]
    return {n: ctypes.cast(getattr(lib, n), ctypes.c_void_p).value for n in kb_functions()}


@pytest.fixture
def kb(tmp_path_factory):
    """The module's KernelBase path over tests/c/win/fake_kernelbase.c (HANDLE = fd)."""
    table = fake_kernelbase(tmp_path_factory)
    W._set_backend(True, table)
    yield table
    W._set_backend(False, {n: None for n in table})


@pytest.fixture
def kring(kb):
    r = W.CreateIoRing(W.IORING_VERSION_4, FLAGS, 8, 0)
    yield r
    try:
        W.CloseIoRing(r)
    except W.IoRingError:
        pass


def test_kernelbase_create_info_ops(kring):
    caps = W.QueryIoRingCapabilities()
    assert caps.MaxVersion == 400 and caps.FeatureFlags == W.IORING_FEATURE_SET_COMPLETION_EVENT
    info = W.GetIoRingInfo(kring)
    assert (info.IoRingVersion, info.SubmissionQueueSize, info.CompletionQueueSize) == (400, 8, 16)
    assert W.IsIoRingOpSupported(kring, W.IORING_OP_WRITE_GATHER)
    v1 = W.CreateIoRing(W.IORING_VERSION_1, FLAGS, 0, 0)
    assert not W.IsIoRingOpSupported(v1, W.IORING_OP_WRITE)
    W.CloseIoRing(v1)
    with pytest.raises(W.IoRingError) as e:
        W.CreateIoRing(500, FLAGS, 0, 0)                            # the fake's HRESULT is raised
    assert hr_of(e) == W.IORING_E_VERSION_NOT_SUPPORTED
    assert W._backend() == "KernelBase.dll"


def test_kernelbase_write_read_and_pins(kring, tmpfile):
    path, fd = tmpfile
    out = bytearray(b"KernelBase path!")
    back = bytearray(16)
    f = W.IoRingHandleRefFromHandle(fd)
    W.BuildIoRingWriteFile(kring, f, W.IoRingBufferRefFromPointer(out), 16, 100, W.FILE_WRITE_FLAGS_NONE, 1)
    W.BuildIoRingFlushFile(kring, f, W.FILE_FLUSH_DEFAULT, 2, W.IOSQE_FLAGS_DRAIN_PRECEDING_OPS)
    W.BuildIoRingReadFile(kring, f, W.IoRingBufferRefFromPointer(back), 16, 100, 3,
                          W.IOSQE_FLAGS_DRAIN_PRECEDING_OPS)
    with pytest.raises(BufferError):
        back.extend(b"x")                                            # pinned from Build*
    assert W.SubmitIoRing(kring, W.IORING_SUBMIT_WAIT_ALL, W.INFINITE) == 3
    with pytest.raises(BufferError):
        out.extend(b"x")                                             # pinned until popped
    cqes = pop_all(kring, 3)
    assert [(c.UserData, c.ResultCode, c.Information) for c in cqes] == [(1, 0, 16), (2, 0, 0), (3, 0, 16)]
    assert back == out and path.read_bytes()[100:116] == out
    out.extend(b"x")
    back.extend(b"x")                                                # released
    W.BuildIoRingReadFile(kring, f, W.IoRingBufferRefFromPointer(back), 4, 1 << 20, 4)
    W.SubmitIoRing(kring, 1, 1000)
    assert W.PopIoRingCompletion(kring).ResultCode == 0x80070026      # EOF, from the fake
    assert W.PopIoRingCompletion(kring) is None                       # S_FALSE


def test_kernelbase_same_userdata_pins_until_last(kring, tmpfile):
    """Windows matches CQEs with entries by UserData only: entries sharing one keep their pins until
    the last of them is popped."""
    _, fd = tmpfile
    a, b = bytearray(8), bytearray(8)
    f = W.IoRingHandleRefFromHandle(fd)
    W.BuildIoRingReadFile(kring, f, W.IoRingBufferRefFromPointer(a), 8, 0, 7)
    W.BuildIoRingReadFile(kring, f, W.IoRingBufferRefFromPointer(b), 8, 8, 7)
    W.SubmitIoRing(kring, 2, 1000)
    assert W.PopIoRingCompletion(kring).UserData == 7
    with pytest.raises(BufferError):
        a.extend(b"x")
    assert W.PopIoRingCompletion(kring).UserData == 7
    a.extend(b"x")
    b.extend(b"x")
    assert bytes(a[:8]) == bytes(range(8)) and bytes(b[:8]) == bytes(range(8, 16))


def test_kernelbase_sq_full_pins_nothing(kring, tmpfile):
    _, fd = tmpfile
    bufs = [bytearray(4) for _ in range(9)]
    f = W.IoRingHandleRefFromHandle(fd)
    for i in range(8):
        W.BuildIoRingReadFile(kring, f, W.IoRingBufferRefFromPointer(bufs[i]), 4, 0, i + 1)
    with pytest.raises(W.IoRingError) as e:
        W.BuildIoRingReadFile(kring, f, W.IoRingBufferRefFromPointer(bufs[8]), 4, 0, 9)
    assert hr_of(e) == W.IORING_E_SUBMISSION_QUEUE_FULL
    bufs[8].extend(b"x")                                             # the refused entry pinned nothing
    with pytest.raises(ValueError):
        W.BuildIoRingReadFile(kring, f, W.IoRingBufferRefFromPointer(bytearray(2)), 4, 0, 10)
    assert W.SubmitIoRing(kring, W.IORING_SUBMIT_WAIT_ALL, 1000) == 8
    assert len(pop_all(kring, 8)) == 8


def test_kernelbase_registered_scatter_gather_cancel(kring, tmpfile):
    path, fd = tmpfile
    arena = bytearray(64)
    pages = [bytearray(b"a" * 4096), bytearray(b"b" * 4096)]
    into = [bytearray(4096), bytearray(4096)]
    W.BuildIoRingRegisterBuffers(kring, 1, [W.IORING_BUFFER_INFO(arena)], 1)
    W.BuildIoRingRegisterFileHandles(kring, None, [fd], 2)
    W.BuildIoRingReadFile(kring, W.IoRingHandleRefFromIndex(0), W.IoRingBufferRefFromIndexAndOffset(0, 8), 16, 32, 3)
    W.BuildIoRingWriteFileGather(kring, W.IoRingHandleRefFromHandle(fd), None, pages, 8192, 4096,
                                 W.FILE_WRITE_FLAGS_NONE, 4)
    W.BuildIoRingReadFileScatter(kring, W.IoRingHandleRefFromHandle(fd), 2,
                                 [W.FILE_SEGMENT_ELEMENT(b) for b in into], 8192, 4096, 5,
                                 W.IOSQE_FLAGS_DRAIN_PRECEDING_OPS)
    W.BuildIoRingCancelRequest(kring, W.IoRingHandleRefFromHandle(fd), 12345, 6)
    assert W.SubmitIoRing(kring, W.IORING_SUBMIT_WAIT_ALL, 1000) == 6
    got = {c.UserData: (c.ResultCode, c.Information) for c in pop_all(kring, 6)}
    assert got == {1: (0, 1), 2: (0, 1), 3: (0, 16), 4: (0, 8192), 5: (0, 8192), 6: (0x80070490, 0)}
    assert arena[8:24] == bytes(range(32, 48))
    assert into == pages and path.read_bytes()[4096:] == b"a" * 4096 + b"b" * 4096
    with pytest.raises(BufferError):
        arena.extend(b"x")                                           # registered: pinned until close
    W.CloseIoRing(kring)
    arena.extend(b"x")


def test_kernelbase_completion_event(kring, tmpfile):
    _, fd = tmpfile
    efd = os.eventfd(0) if hasattr(os, "eventfd") else pytest.skip("os.eventfd")
    try:
        W.SetIoRingCompletionEvent(kring, efd)
        W.BuildIoRingReadFile(kring, W.IoRingHandleRefFromHandle(fd), W.IoRingBufferRefFromPointer(bytearray(4)),
                              4, 0, 1)
        W.SubmitIoRing(kring, 0, 0)
        assert select.select([efd], [], [], 1)[0] == [efd]
        W.SetIoRingCompletionEvent(kring, None)
        with pytest.raises(W.IoRingError) as e:
            W.SetIoRingCompletionEvent(kring, W.INVALID_HANDLE_VALUE)
        assert hr_of(e) == W.E_INVALIDARG
        with pytest.raises(W.IoRingError) as e:
            W.SetIoRingCompletionEvent(kring, fd)                    # a file: KernelBase refuses it
        assert hr_of(e) == W.E_HANDLE
    finally:
        os.close(efd)


def test_kernelbase_completion_event_handle_passed_as_is(kring, tmp_path):
    """On Windows the kernel references the event itself: the module hands KernelBase the caller's
    HANDLE, neither duplicates nor closes it, so the caller may close it at once (the fake references
    it the way Windows does: a duplicate, closed at clear/CloseIoRing)."""
    src = tmp_path / "src"
    src.write_bytes(b"0123")
    victim = tmp_path / "victim"
    victim.write_bytes(b"")
    sfd = os.open(src, os.O_RDONLY)
    try:
        base = open_fds()
        efd = os.eventfd(0)
        W.SetIoRingCompletionEvent(kring, efd)
        assert len(open_fds() - base) == 2                           # the caller's + the fake's reference
        os.close(efd)
        vfd = os.open(victim, os.O_RDWR)
        if vfd != efd:
            os.dup2(vfd, efd)
            os.close(vfd)
        try:
            W.BuildIoRingReadFile(kring, sfd, W.IoRingBufferRefFromPointer(bytearray(4)), 4, 0, 1)
            W.SubmitIoRing(kring, 1, 1000)
            assert W.PopIoRingCompletion(kring).Information == 4
            assert victim.read_bytes() == b""
        finally:
            os.close(efd)
        W.CloseIoRing(kring)
        assert open_fds() == base
    finally:
        os.close(sfd)


def test_kernelbase_builder_refuses_op_newer_than_ring(kb, tmpfile):
    """The KernelBase path reports the builder's own refusal (the fake's, as the emulation's) and pins
    nothing."""
    _, fd = tmpfile
    r = W.CreateIoRing(W.IORING_VERSION_1, FLAGS, 0, 0)
    try:
        buf = bytearray(4)
        with pytest.raises(W.IoRingError) as e:
            W.BuildIoRingWriteFile(r, fd, W.IoRingBufferRefFromPointer(buf), 4, 0, 0, 1)
        assert hr_of(e) == W.IORING_E_VERSION_NOT_SUPPORTED
        buf.extend(b"x")
        assert W.SubmitIoRing(r, 0, 0) == 0
    finally:
        W.CloseIoRing(r)


def test_kernelbase_timeout_and_close_keep_inflight_pins(kring, tmpfile):
    _, fd = tmpfile
    stuck = bytearray(4)                # the fake never completes a userData with bit 40 set
    W.BuildIoRingReadFile(kring, W.IoRingHandleRefFromHandle(fd), W.IoRingBufferRefFromPointer(stuck), 4, 0,
                          1 << 40)
    with pytest.raises(W.IoRingError) as e:
        W.SubmitIoRing(kring, W.IORING_SUBMIT_WAIT_ALL, 10)
    assert hr_of(e) == W.IORING_E_WAIT_TIMEOUT and e.value.submitted_entries == 1
    W.CloseIoRing(kring)                # Windows neither waits nor cancels: the buffer stays pinned
    with pytest.raises(BufferError):
        stuck.extend(b"x")
    with pytest.raises(W.IoRingError) as e:
        W.PopIoRingCompletion(kring)
    assert hr_of(e) == W.E_HANDLE
    assert W.IsIoRingOpSupported(kring, W.IORING_OP_READ) is False


def test_kernelbase_function_missing_from_this_windows(kb, tmpfile):
    """A Windows 11 21H2 KernelBase (version 1: no BuildIoRingWriteFile): a clear error at the call."""
    _, fd = tmpfile
    W._set_backend(True, {"BuildIoRingWriteFile": None})
    r = W.CreateIoRing(W.IORING_VERSION_1, FLAGS, 0, 0)
    try:
        buf = bytearray(4)
        with pytest.raises(W.IoRingError) as e:
            W.BuildIoRingWriteFile(r, W.IoRingHandleRefFromHandle(fd), W.IoRingBufferRefFromPointer(buf), 4, 0,
                                   0, 1)
        assert hr_of(e) == W.E_NOTIMPL and "no BuildIoRingWriteFile" in str(e.value)
        buf.extend(b"x")
    finally:
        W.CloseIoRing(r)


def test_kernelbase_without_isioringopsupported_export(kb):
    """Should KernelBase lack the IsIoRingOpSupported export (an inline in some SDK docs), the dispatch
    answers by the ring's version (reference 2.2)."""
    W._set_backend(True, {"IsIoRingOpSupported": None})
    v3 = W.CreateIoRing(W.IORING_VERSION_3, FLAGS, 0, 0)
    try:
        assert W.IsIoRingOpSupported(v3, W.IORING_OP_FLUSH)
        assert not W.IsIoRingOpSupported(v3, W.IORING_OP_READ_SCATTER)
        assert not W.IsIoRingOpSupported(v3, 9)
    finally:
        W.CloseIoRing(v3)


def test_package_imports_where_only_winioring_is_built():
    """On Windows only ioring.winioring is built: `import ioring` must not pull in the Linux
    extensions (simulated here: sys.platform says win32 and the Linux modules are unimportable)."""
    import subprocess
    import sys
    code = (
        "import sys\n"
        "sys.platform = 'win32'\n"
        "for name in ('ioring._ring', 'ioring.liburing', 'ioring._info'):\n"
        "    sys.modules[name] = None  # any import of them raises ImportError\n"
        "import ioring, ioring.winioring\n"
        "assert ioring.__all__ == [], ioring.__all__\n"
        "print(ioring.winioring.IORING_VERSION_3)\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "300"
