"""Port of yardenshafir/IoRing_Demos, IoRingPerf/IoRingUserCompletionEvent/Source.cpp: a waiter thread
that sleeps on the ring's completion event and pops completions as they arrive.

Kept: CreateIoRing(IORING_VERSION_3, 0x10000, 0x20000); one BuildIoRingReadFile per file of a
directory (1 MiB at offset 0, userData NULL); an auto-reset event (CreateEvent(NULL, FALSE, FALSE,
NULL)) set with SetIoRingCompletionEvent before SubmitIoRing(handle, 0, 0); the waiter's loop as
written (wait once; pop; S_OK and STATUS_SUCCESS -> sum the first Information bytes of buffer i; on
S_FALSE wait for the event and ResetEvent; i += 1 every turn); CloseIoRing, then CloseHandle.
Changed: C:\\Windows\\System32\\* becomes files written in tmp_path (one of them empty, so one read
fails with ERROR_HANDLE_EOF as on Windows); getchar() (the original waits for a key while the waiter
loops forever) becomes: wait until the waiter has popped one CQE per file, and the waiter stops then
instead of looping forever. printf of the sums becomes checks.
Not checked: the printed per-index sums. The original attributes the i-th pop to file i, and i also
advances on S_FALSE, so its sums are only right when completions arrive in file order with no empty
pop in between: a bug of the demo on Windows too. The port checks what does not depend on it.
"""
import os
import random
import threading

from ioring import winioring as W

from . import winapi

SIZE_TO_READ = 0x100000
STATUS_SUCCESS = 0


class FILE_DATA:
    __slots__ = ("FileHandle", "Size", "Buffer", "SumOfBytes")

    def __init__(self, handle, size, buffer):
        self.FileHandle, self.Size, self.Buffer, self.SumOfBytes = handle, size, buffer, 0


def CreateListOfFiles(directory, SizeToRead):
    fileData = []
    for name in sorted(os.listdir(directory)):
        try:
            hFile = os.open(os.path.join(directory, name), os.O_RDONLY)
        except OSError:
            continue
        fileData.append(FILE_DATA(hFile, os.fstat(hFile).st_size, bytearray(SizeToRead)))
    return fileData


class Waiter:
    """WaitOnEvent(lpThreadParameter = the HIORING), with the port's stop condition."""

    def __init__(self, handle, event, fileData, stop_after):
        self.handle, self.event, self.fileData, self.stop_after = handle, event, fileData, stop_after
        self.popped = []
        self.sum = 0
        self.empty_pops = 0
        self.first_wake = threading.Event()
        self.error = None

    def run(self):
        try:
            i = 0
            assert winapi.WaitForSingleObject(self.event, winapi.INFINITE) == winapi.WAIT_OBJECT_0
            self.first_wake.set()
            while len(self.popped) < self.stop_after:          # the original: while (TRUE)
                cqe = W.PopIoRingCompletion(self.handle)
                if cqe is not None:                              # S_OK
                    self.popped.append(cqe)
                    if cqe.ResultCode == STATUS_SUCCESS and i < len(self.fileData):
                        self.sum += sum(memoryview(self.fileData[i].Buffer)[:cqe.Information])
                else:                                            # S_FALSE
                    self.empty_pops += 1
                    winapi.WaitForSingleObject(self.event, winapi.INFINITE)
                    winapi.ResetEvent(self.event)
                i += 1
        except BaseException as exc:                             # reported by the main thread
            self.error = exc
            self.first_wake.set()


def test_ioring_user_event_demo(tmp_path):
    rng = random.Random(22000)
    directory = tmp_path / "System32"
    directory.mkdir()
    sizes = [rng.choice([1, 512, 4096, 70_000, SIZE_TO_READ, SIZE_TO_READ + 4096]) for _ in range(23)] + [0]
    for n, size in enumerate(sizes):
        (directory / f"file{n:02d}.bin").write_bytes(rng.randbytes(size))

    flags = W.IORING_CREATE_FLAGS(W.IORING_CREATE_REQUIRED_FLAGS_NONE, W.IORING_CREATE_ADVISORY_FLAGS_NONE)
    handle = W.CreateIoRing(W.IORING_VERSION_3, flags, 0x10000, 0x20000)
    fileData = CreateListOfFiles(directory, SIZE_TO_READ)
    numberOfEntries = len(fileData)
    for fd in fileData:
        W.BuildIoRingReadFile(handle, W.IoRingHandleRefFromHandle(fd.FileHandle),
                              W.IoRingBufferRefFromPointer(fd.Buffer), SIZE_TO_READ, 0, 0, W.IOSQE_FLAGS_NONE)
    g_event = winapi.CreateEvent(False, False)
    W.SetIoRingCompletionEvent(handle, g_event)
    waiter = Waiter(handle, g_event, fileData, numberOfEntries)
    thread = threading.Thread(target=waiter.run, daemon=True)
    thread.start()
    submittedEntries = W.SubmitIoRing(handle, 0, 0)
    # getchar(): here, until the waiter has seen every completion
    thread.join(30)
    try:
        assert not thread.is_alive(), f"the waiter is stuck after {len(waiter.popped)} of {numberOfEntries} CQEs"
        if waiter.error is not None:
            raise waiter.error
    finally:
        W.CloseIoRing(handle)
        winapi.CloseHandle(g_event)
        for fd in fileData:
            os.close(fd.FileHandle)

    assert submittedEntries == numberOfEntries == len(sizes)
    assert waiter.first_wake.is_set()
    results = [(c.UserData, c.ResultCode) for c in waiter.popped]
    assert results.count((0, STATUS_SUCCESS)) == numberOfEntries - 1
    assert results.count((0, W.HRESULT_FROM_WIN32(winapi.ERROR_HANDLE_EOF))) == 1      # the empty file
    assert sorted(c.Information for c in waiter.popped) == sorted(min(s, SIZE_TO_READ) for s in sizes)
    files = sorted(os.listdir(directory))
    for fd, name in zip(fileData, files):
        data = (directory / name).read_bytes()[:SIZE_TO_READ]
        assert fd.Buffer[:len(data)] == data and not any(fd.Buffer[len(data):])
    if waiter.empty_pops == 0 and [c.Information for c in waiter.popped] == [min(s, SIZE_TO_READ) for s in sizes]:
        # completions in file order and no empty pop: the demo's own sum is right
        assert waiter.sum == sum(sum(fd.Buffer) for fd in fileData)
