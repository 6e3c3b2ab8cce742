"""The few Win32 calls the ported Windows IoRing programs make besides ioringapi.h, over Linux.

An event HANDLE is an eventfd (what ioring.winioring's SetIoRingCompletionEvent takes on Linux).
Auto-reset: a satisfied wait consumes the signal (the counter is read); manual-reset: it stays
signalled until ResetEvent. Files are plain descriptors (CreateFile -> os.open)."""
import os
import select

WAIT_OBJECT_0 = 0
WAIT_TIMEOUT = 0x102
INFINITE = 0xFFFFFFFF
ERROR_HANDLE_EOF = 38
ERROR_NOT_FOUND = 1168
ERROR_OPERATION_ABORTED = 995
E_ABORT = 0x80004004
STATUS_SUCCESS = 0

_manual = set()


def CreateEvent(manual_reset, initial_state):
    """CreateEventW(NULL, bManualReset, bInitialState, NULL)."""
    h = os.eventfd(1 if initial_state else 0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
    if manual_reset:
        _manual.add(h)
    return h


def SetEvent(h):
    os.eventfd_write(h, 1)
    return True


def ResetEvent(h):
    try:
        os.eventfd_read(h)
    except BlockingIOError:
        pass
    return True


def WaitForSingleObject(h, milliseconds):
    """WAIT_OBJECT_0 when signalled (an auto-reset event is reset by the wait), else WAIT_TIMEOUT."""
    timeout = None if milliseconds == INFINITE else milliseconds / 1000.0
    while True:
        ready, _, _ = select.select([h], [], [], timeout)
        if not ready:
            return WAIT_TIMEOUT
        if h in _manual:
            return WAIT_OBJECT_0
        try:
            os.eventfd_read(h)
            return WAIT_OBJECT_0
        except BlockingIOError:        # another waiter took it
            continue


def CloseHandle(h):
    _manual.discard(h)
    os.close(h)
    return True
