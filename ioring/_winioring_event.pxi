# The completion event of the io_uring emulation of ioring.winioring (included by _winioring_linux.pyx).
#
# Windows: SetIoRingCompletionEvent(ring, hEvent) makes the ring reference the event object, so the
# caller may close its handle right away (Qt does, before CloseIoRing). Here the event is an eventfd:
# the ring keeps its own duplicate (_event_duplicate), never the caller's descriptor number, which a
# later open() may hand to an unrelated file. A helper thread (_EventPump) moves io_uring completions
# into the Windows CQ so the event is signalled with no SubmitIoRing/PopIoRingCompletion call.

import atexit as _atexit
import weakref as _weakref

cdef uint64_t _EVENTFD_ONE = 1
# Kept at C level: halt() may run late in interpreter shutdown, when module dicts are cleared.
cdef object _current_thread = _threading.current_thread
cdef object _is_finalizing = _sys.is_finalizing


cdef bint _is_eventfd(int fd) except -1:
    """Whether ``fd`` (open) is an eventfd: /proc/self/fdinfo names the counter of an eventfd only.
    Without /proc, any anonymous-inode file is accepted (the file type bits of eventfd, timerfd,
    signalfd, epoll are 0): an 8-byte write to the others fails with EINVAL and changes nothing."""
    try:
        with open(f"/proc/self/fdinfo/{fd}", "rb") as info:
            return b"\neventfd-count:" in b"\n" + info.read()
    except FileNotFoundError:
        return (_os.fstat(fd).st_mode & 0o170000) == 0


cdef int _event_duplicate(object hEvent) except -1:
    """The ring's own descriptor for the event ``hEvent`` (an eventfd, or an object with fileno()),
    close-on-exec; IoRingError E_INVALIDARG for INVALID_HANDLE_VALUE, E_HANDLE for anything that is
    not an open eventfd. The check is made on the duplicate: what it accepted is what is written."""
    cdef int fd = -1, dup = -1
    if isinstance(hEvent, int) and not isinstance(hEvent, bool) and hEvent == -1:
        _fail(E_INVALIDARG, "INVALID_HANDLE_VALUE is not an event")
    try:
        fd = _handle_fd(hEvent)
    except ValueError:
        _fail(E_HANDLE, f"invalid event handle {hEvent!r}")
    try:
        dup = _os.dup(fd)
    except OSError as exc:
        _fail(E_HANDLE if exc.errno == _errno.EBADF else _hr_from_errno(exc.errno),
              f"event handle {fd}: {exc.strerror}")
    try:
        if not _is_eventfd(dup):
            _fail(E_HANDLE, f"handle {fd} is not an event (an eventfd)")
    except BaseException:
        _os.close(dup)
        raise
    return dup


@cython.final
cdef class _EventPump:
    """The helper thread of a ring with a completion event. It sleeps on an eventfd registered with the
    io_uring and harvests into the Windows CQ (whose empty -> non-empty edge signals the event).
    - It holds the ring by weak reference only, so an unclosed ring is still garbage-collected.
    - It owns its eventfd: the thread itself closes it when it exits, under ``fd_lock``, which halt()
      holds while it writes the wake-up, so no write ever reaches a reused descriptor number."""
    cdef int efd
    cdef bint stop
    cdef object ring_ref
    cdef object thread
    cdef object fd_lock

    @staticmethod
    cdef _EventPump start(_EmulatedRing ring, int efd):
        cdef _EventPump p = _EventPump.__new__(_EventPump)
        p.efd = efd
        p.ring_ref = _weakref.ref(ring)
        p.fd_lock = _threading.Lock()
        p.thread = _threading.Thread(target=p._run, daemon=True, name="winioring-completion-event")
        p.thread.start()
        _pumping.add(ring)
        return p

    def _run(self):
        while True:
            try:
                _os.read(self.efd, 8)
            except InterruptedError:
                continue
            except OSError:
                break
            if self.stop:
                break
            ring = self.ring_ref()
            if ring is None:
                break
            (<_EmulatedRing>ring)._pump_harvest(self)
            ring = None                   # may be the last reference: the ring is then closed here
        with self.fd_lock:
            fd, self.efd = self.efd, -1
        _os.close(fd)

    cdef void halt(self, bint join):
        """Stops the thread (idempotent). Joins it unless called from it or while the interpreter is
        finalizing (daemon threads may be frozen then)."""
        if not self.stop:
            self.stop = True
            with self.fd_lock:
                if self.efd >= 0:
                    write(self.efd, &_EVENTFD_ONE, 8)
        if join and self.thread is not _current_thread() and not _is_finalizing():
            self.thread.join()

    cdef void forget(self):
        """In a fork child: the thread is the parent's (it does not exist here) and so is the eventfd
        registered with the ring; only this process's copy of its descriptor is closed."""
        self.stop = True
        if self.efd >= 0:
            close(self.efd)
            self.efd = -1


# Rings whose helper thread runs: at interpreter exit the threads are stopped and joined while that
# still works (atexit runs before daemon threads are frozen); the rings stay open and usable.
_pumping = _weakref.WeakSet()


def _stop_event_threads_at_exit():
    for ring in list(_pumping):
        (<_EmulatedRing>ring)._stop_pump()

_atexit.register(_stop_event_threads_at_exit)
