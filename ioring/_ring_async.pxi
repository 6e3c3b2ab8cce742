# The event-loop side of ioring.asyncio.AsyncRing, in C: the eventfd's reader callback, the
# once-per-iteration flush and its scheduling. They run for every wake-up of the loop and every
# request queued, so each is one C call instead of a chain of Python frames. Included by
# _ring.pyx.

@cython.final
cdef class _AsyncDriver:
    """Drives one Ring from an asyncio event loop (``AsyncRing`` holds it):

    * ``on_readable()``: the loop's reader callback for the eventfd registered with the ring:
      drain the eventfd, then pump.
    * ``flush()``: the callback scheduled once per loop iteration (``schedule_flush()``) that
      submits what was queued during it: a pump.
    * a pump (``Ring._pump``) submits and reaps, never waiting, in at most ``rounds`` rounds; when
      work is left or the reap woke tasks, another flush is scheduled (it then runs after those
      tasks, in the same iteration, and sends what they queued).

    ``aring`` is called back only for what is rare: a pump while a task is inside ``with
    ring.linked():`` (``chain_active``), a transient submit error (retried 1 ms later), and
    ``aclose()`` waiting for the ring to go idle (``idle_watch``)."""
    cdef Ring ring
    cdef object aring
    cdef public object loop             # None until the AsyncRing is attached to its loop
    cdef int efd
    cdef bint defer
    cdef int rounds
    cdef public object handle           # the scheduled flush (a Handle/TimerHandle) or None
    cdef public bint closing
    cdef public bint chain_active
    cdef public bint idle_watch
    cdef object _flush_cb               # self.flush, bound once

    def __cinit__(self, Ring ring, aring, int efd, bint defer, int rounds):
        self.ring = ring
        self.aring = aring
        self.efd = efd
        self.defer = defer
        self.rounds = rounds

    def on_readable(self):
        """The eventfd is readable: completions were posted. Drain it, then reap."""
        cdef uint64_t counter
        cdef int err
        if _c_read(self.efd, &counter, 8) < 0:
            err = errno_c
            if err != EAGAIN and err != EINTR:
                if self.closing:
                    return
                raise OSError(err, os.strerror(err))
        self._pump()

    def flush(self):
        """The once-per-loop-iteration submit of everything queued in that iteration."""
        self.handle = None
        self._pump()

    def pump(self):
        """Submit what is queued and reap what is ready, without waiting."""
        self._pump()

    cpdef schedule_flush(self):
        """Make sure a flush runs at the end of this loop iteration (or the next one)."""
        if self.handle is None and self.loop is not None and not self.closing:
            if self._flush_cb is None:
                self._flush_cb = self.flush
            self.handle = self.loop.call_soon(self._flush_cb)

    cdef int _pump(self) except -1:
        cdef Ring ring = self.ring
        cdef int flags
        if not ring.uring.initialized:
            return 0
        if self.chain_active:
            self.aring._chain_interrupted()
            return 0
        try:
            flags = ring._pump_c(self.defer, self.rounds, self.efd)
            if flags:
                self.schedule_flush()
        except OSError as exc:
            if exc.errno in (EAGAIN, EINTR, EBUSY):
                # The kernel is short of resources, or a signal came: again in a moment.
                if self.handle is None and self.loop is not None:
                    if self._flush_cb is None:
                        self._flush_cb = self.flush
                    self.handle = self.loop.call_later(0.001, self._flush_cb)
            else:
                raise
        if self.idle_watch:
            self.aring._check_idle()
        return 0

    def cancel_flush(self):
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None
