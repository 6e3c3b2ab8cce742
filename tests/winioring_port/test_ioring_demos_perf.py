"""Port of yardenshafir/IoRing_Demos, IoRingPerf/IoRingPerf/Source.cpp: its IoRingKernelBase() (the
Win32 IoRing path) with the file lists it reads (CreateListForSingleFile, CreateListOfFilesFromDir),
and LegacyNtReadFile() as the reference sum.

Kept: the ring (IORING_VERSION_1, SQ 0x10000, CQ 0x20000: the largest Windows allows), one
BuildIoRingReadFile per entry (sizeToRead bytes at file offset 0, userData NULL), one
SubmitIoRing(handle, 0, 0, &submittedEntries), then submittedEntries pops that sum the bytes of the
i-th buffer when the i-th CQE succeeded; CloseIoRing. Both values of ReadMultipleFiles.
Changed: C:\\Windows\\System32\\combase.dll and System32\\* become files written in tmp_path; 5000
entries of 1 MiB (5 GB of buffers) become 32; the printed timings (__rdtsc) are dropped and the
printed sums are asserted equal to the synchronous read's (LegacyNtReadFile: pread here).
Left out: IoRingNt() builds NT_IORING_SQEs by hand in the section NtCreateIoRing maps and calls
NtSubmitIoRing: undocumented NT internals with no ioringapi.h counterpart. LegacyReadFile() /
LegacyReadFileEx() are overlapped ReadFile/ReadFileEx, not IoRing (their sums equal LegacyNtReadFile's).
The original ignores PopIoRingCompletion's result: on S_FALSE it would sum a stale CQE. It relies on
reads of a cached file completing inside SubmitIoRing (Windows: almost always); so does the
emulation (page-cache reads complete inline in io_uring_enter). The port counts an S_FALSE, waits
for that entry and goes on, so the sum is checked either way.
"""
import os
import random

import pytest

from ioring import winioring as W

STATUS_SUCCESS = 0
SIZE_TO_READ = 0x100000
NUMBER_OF_ENTRIES = 32


class FILE_DATA:
    __slots__ = ("FileHandle", "Size", "Buffer", "SumOfBytes", "Offset")

    def __init__(self):
        self.FileHandle = None
        self.Size = 0
        self.Buffer = None
        self.SumOfBytes = 0
        self.Offset = 0


def CreateListForSingleFile(path, SizeToRead, NumberOfEntries):
    if NumberOfEntries == 0:
        raise ValueError("ERROR_INVALID_INDEX")
    fileData = [FILE_DATA() for _ in range(NumberOfEntries)]
    hFile = os.open(path, os.O_RDONLY)
    fileSize = os.fstat(hFile).st_size
    for fd in fileData:
        fd.FileHandle = hFile
        fd.Size = fileSize
        fd.Offset = random.randrange(fileSize - SizeToRead)
        fd.Buffer = bytearray(SizeToRead)          # VirtualAlloc(MEM_COMMIT): zeroed
    return fileData


def CreateListOfFilesFromDir(directory, SizeToRead):
    fileData = []
    for name in sorted(os.listdir(directory)):
        try:
            hFile = os.open(os.path.join(directory, name), os.O_RDONLY)
        except OSError:
            continue
        fd = FILE_DATA()
        fd.FileHandle = hFile
        fd.Size = os.fstat(hFile).st_size
        fd.Buffer = bytearray(SizeToRead)
        fileData.append(fd)
    return fileData


def close_list(fileData, ReadMultipleFiles):
    if not ReadMultipleFiles and fileData and fileData[0].FileHandle:
        os.close(fileData[0].FileHandle)           # Only close the handle once
    for fd in fileData:
        if ReadMultipleFiles and fd.FileHandle:
            os.close(fd.FileHandle)
        fd.Buffer = None


def LegacyNtReadFile(fileData, sizeToRead):
    """The synchronous reference: NtReadFile of each entry (at offset 0, as the ring reads)."""
    total = 0
    for fd in fileData:
        buf = bytearray(sizeToRead)
        data = os.pread(fd.FileHandle, sizeToRead, 0)
        buf[:len(data)] = data
        total += sum(buf)
    return total


def IoRingKernelBase(fileData):
    """Returns (sum, submittedEntries, number of S_FALSE pops)."""
    flags = W.IORING_CREATE_FLAGS(W.IORING_CREATE_REQUIRED_FLAGS_NONE, W.IORING_CREATE_ADVISORY_FLAGS_NONE)
    handle = W.CreateIoRing(W.IORING_VERSION_1, flags, 0x10000, 0x20000)
    empty_pops = 0
    try:
        for fd in fileData:
            requestDataFile = W.IoRingHandleRefFromHandle(fd.FileHandle)
            requestDataBuffer = W.IoRingBufferRefFromPointer(fd.Buffer)
            W.BuildIoRingReadFile(handle, requestDataFile, requestDataBuffer, SIZE_TO_READ, 0, 0,
                                  W.IOSQE_FLAGS_NONE)       # a failure raises: the original prints and goes on
        submittedEntries = W.SubmitIoRing(handle, 0, 0)
        total = 0
        for i in range(submittedEntries):
            cqe = W.PopIoRingCompletion(handle)
            if cqe is None:                                   # S_FALSE, ignored by the original
                empty_pops += 1
                W.SubmitIoRing(handle, 1, 5000)
                cqe = W.PopIoRingCompletion(handle)
            if cqe.ResultCode == STATUS_SUCCESS:
                b = fileData[i].Buffer
                fileData[i].SumOfBytes += sum(b)
                total += fileData[i].SumOfBytes
        return total, submittedEntries, empty_pops
    finally:
        W.CloseIoRing(handle)


@pytest.mark.parametrize("ReadMultipleFiles", [False, True])
def test_ioringperf_main(tmp_path, ReadMultipleFiles):
    rng = random.Random(1234)
    if ReadMultipleFiles:
        directory = tmp_path / "System32"
        directory.mkdir()
        for i in range(NUMBER_OF_ENTRIES):                 # files smaller and larger than sizeToRead
            size = rng.choice([1, 4096, 300_000, SIZE_TO_READ, 3 * SIZE_TO_READ // 2])
            (directory / f"f{i:03d}.dll").write_bytes(rng.randbytes(size))
        fileData = CreateListOfFilesFromDir(directory, SIZE_TO_READ)
    else:
        combase = tmp_path / "combase.dll"
        combase.write_bytes(rng.randbytes(3 * SIZE_TO_READ))
        fileData = CreateListForSingleFile(combase, SIZE_TO_READ, NUMBER_OF_ENTRIES)
    try:
        expected = LegacyNtReadFile(fileData, SIZE_TO_READ)
        total, submitted, empty_pops = IoRingKernelBase(fileData)
        assert submitted == len(fileData) == NUMBER_OF_ENTRIES
        assert total == expected
        # empty_pops counts the reads that had not completed when SubmitIoRing(0, 0) returned (where the
        # original would sum a stale CQE); page-cache reads complete inline, so it is 0 unless the
        # kernel punts a read to its workers, which Windows also does now and then.
    finally:
        close_list(fileData, ReadMultipleFiles)
