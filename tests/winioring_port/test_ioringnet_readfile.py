"""Port of jlennox/IORing.net, src/IORing.Samples.ReadFile/Program.cs: AsyncIORingTest (the sample's
Main) and BlockingIORingTest, over the library's thin wrappers (HIORING.Create = CreateIoRing with
no flags, BuildRegisterBuffers, BuildReadFile(FileStream, ...), SetCompletionEvent, Submit() =
SubmitIoRing(0, 0), Submit(n, timeout), TryPopCompletion = PopIoRingCompletion that throws on a
failed CQE other than end-of-file).

Changed: C:\\Windows\\System32\\notepad.exe becomes a file written in tmp_path; the named
EventWaitHandle("IORing") is an unnamed auto-reset event (winapi.py); Marshal.AllocHGlobal buffers
are bytearrays; Console.WriteLine of the bytes becomes checks of them. `cqe.UserData == -1` (nint)
compares with UINT_PTR -1 = 0xFFFFFFFFFFFFFFFF: CQE fields are unsigned in ioring.winioring.
"""
import os
import random

import pytest

from ioring import winioring as W

from . import winapi

NOTEPAD = random.Random(7).randbytes(4096)
UINT_PTR_MINUS_1 = 0xFFFFFFFFFFFFFFFF


@pytest.fixture
def notepad(tmp_path):
    p = tmp_path / "notepad.exe"
    p.write_bytes(NOTEPAD)
    return p


def try_pop_completion(ring):
    """KernelBase.TryPopIoRingCompletionChecked."""
    cqe = W.PopIoRingCompletion(ring)
    if cqe is None:
        return None
    if cqe.ResultCode != W.HRESULT_FROM_WIN32(winapi.ERROR_HANDLE_EOF):
        assert not W.FAILED(cqe.ResultCode), f"ResultCode 0x{cqe.ResultCode:08X}"
    return cqe


def test_async_ioring_test(notepad):
    bufferSize = 1028
    sizeToRead = 1028
    readsToPerform = 4
    caps = W.QueryIoRingCapabilities()
    assert caps.MaxVersion >= W.IORING_VERSION_1
    ioring = W.CreateIoRing(W.IORING_VERSION_1, W.IORING_CREATE_FLAGS(), 5, 5)
    info = W.GetIoRingInfo(ioring)
    assert (info.IoRingVersion, info.SubmissionQueueSize, info.CompletionQueueSize) == (1, 8, 16)
    buffers = [W.IORING_BUFFER_INFO(bytearray(bufferSize), bufferSize) for _ in range(4)]
    for buffer in buffers:
        buffer.Address[:] = bytes(bufferSize)           # Zero out the buffers to make debugging easier.
    # Queue the registering of these buffers with the userData of -1.
    W.BuildIoRingRegisterBuffers(ioring, len(buffers), buffers, -1)
    file = os.open(notepad, os.O_RDONLY)                # File.OpenRead
    try:
        for i in range(readsToPerform):
            requestDataBuffer = W.IoRingBufferRefFromIndexAndOffset(i, i)
            W.BuildIoRingReadFile(ioring, W.IoRingHandleRefFromHandle(file), requestDataBuffer, sizeToRead - i, i, i,
                                  W.IOSQE_FLAGS_NONE)
        ioringCompletionSignal = winapi.CreateEvent(False, False)
        W.SetIoRingCompletionEvent(ioring, ioringCompletionSignal)
        submittedEntries = W.SubmitIoRing(ioring, 0, 0)
        assert submittedEntries == 5
        entriesRead = 0
        waits = 0
        shown = {}
        while submittedEntries > entriesRead:
            cqe = try_pop_completion(ioring)
            if cqe is None:
                waits += 1                               # "Needed to wait."
                assert winapi.WaitForSingleObject(ioringCompletionSignal, 10_000) == winapi.WAIT_OBJECT_0
                continue
            entriesRead += 1
            if cqe.UserData == UINT_PTR_MINUS_1:         # Skips the BuildIoRingRegisterBuffersChecked result.
                assert cqe.Information == 4              # the number of buffers registered
                continue
            buffer = buffers[cqe.UserData]
            shown[cqe.UserData] = bytes(buffer.Address[:cqe.Information])
        # each read went one byte further into the buffer and into the file
        for i in range(readsToPerform):
            assert shown[i] == bytes(i) + NOTEPAD[i:sizeToRead - i]
            assert buffers[i].Address[i:] == NOTEPAD[i:sizeToRead]
        winapi.CloseHandle(ioringCompletionSignal)       # `using`: disposed before the ring
    finally:
        os.close(file)
        W.CloseIoRing(ioring)


def test_blocking_ioring_test(notepad):
    caps = W.QueryIoRingCapabilities()
    assert caps.FeatureFlags & W.IORING_FEATURE_SET_COMPLETION_EVENT
    handle = W.CreateIoRing(W.IORING_VERSION_1, W.IORING_CREATE_FLAGS(), 5, 5)
    assert W.GetIoRingInfo(handle).SubmissionQueueSize == 8
    file = os.open(notepad, os.O_RDONLY)
    try:
        sizeToRead = 0x8
        buffer = bytearray(sizeToRead)
        requestDataBuffer = W.IoRingBufferRefFromPointer(buffer)
        W.BuildIoRingReadFile(handle, W.IoRingHandleRefFromHandle(file), requestDataBuffer, sizeToRead, 0, 0,
                              W.IOSQE_FLAGS_NONE)
        # This will block until the one operation has passed, or the single second timeout has hit.
        submittedEntries = W.SubmitIoRing(handle, 1, 1000)
        assert submittedEntries == 1
        assert buffer == NOTEPAD[:8]
    finally:
        W.CloseIoRing(handle)                            # the CQE was never popped: CloseIoRing discards it
        os.close(file)
