"""Port of jlennox/IORing.net, src/IORing.Samples.CPPRing/CPPRing.cpp (itself "mostly a copy" of the
example of Yarden Shafir's "I/O Rings - When One I/O Operation Is Not Enough"): one read through a
version-1 ring of queue sizes 1/1, waited for inside SubmitIoRing, the CQE never popped.

Changed: C:\\Windows\\System32\\notepad.exe becomes a file written in tmp_path; VirtualAlloc is a
bytearray; printing the buffer as pointers becomes a check of its bytes. The original's `goto Exit`
paths (which CloseIoRing an uninitialised handle) are not reproduced: a failing call raises here.
"""
import os
import random

from ioring import winioring as W

NOTEPAD = random.Random(8).randbytes(0x1000)


def test_io_ring_kernel_base(tmp_path):
    path = tmp_path / "notepad.exe"
    path.write_bytes(NOTEPAD)
    sizeToRead = 0x200
    flags = W.IORING_CREATE_FLAGS(W.IORING_CREATE_REQUIRED_FLAGS_NONE, W.IORING_CREATE_ADVISORY_FLAGS_NONE)
    handle = W.CreateIoRing(W.IORING_VERSION_1, flags, 1, 1)
    hFile = os.open(path, os.O_RDONLY)
    buffer = bytearray(sizeToRead)
    try:
        requestDataFile = W.IoRingHandleRefFromHandle(hFile)
        requestDataBuffer = W.IoRingBufferRefFromPointer(buffer)
        W.BuildIoRingReadFile(handle, requestDataFile, requestDataBuffer, sizeToRead, 0, 0, W.IOSQE_FLAGS_NONE)
        submittedEntries = W.SubmitIoRing(handle, 1, 10000)
        assert submittedEntries == 1
        assert buffer == NOTEPAD[:sizeToRead]          # "Data from file:"
        info = W.GetIoRingInfo(handle)
        assert (info.SubmissionQueueSize, info.CompletionQueueSize) == (8, 16)   # 1/1 rounds up to the minimum
    finally:
        W.CloseIoRing(handle)
        os.close(hFile)
    buffer.extend(b"x")                                  # VirtualFree: nothing holds the buffer any more
