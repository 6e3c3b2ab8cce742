# The event-loop side of ioring.asyncio.AsyncRing, in C: the eventfd's reader callback, the
# once-per-iteration flush and its scheduling. They run for every wake-up of the loop and every
# request queued, so each is one C call instead of a chain of Python frames. Included by
# _ring.pyx.

@cython.final
cdef class _AsyncDriver:
    """Drives one Ring from an asyncio event loop (``AsyncRing`` holds it):

    * ``on_readable()``: the loop's reader callback for the eventfd registered with the ring:
      a pump.
    * ``flush()``: the callback scheduled once per loop iteration (``schedule_flush()``) that
      submits what was queued during it: a pump.
    * a pump (``Ring._pump``) submits and reaps, never waiting, in at most ``rounds`` rounds; when
      work is left or the reap woke tasks, another flush is scheduled (it then runs after those
      tasks, in the same iteration, and sends what they queued).

    The eventfd is drained once per loop iteration, after the reaps: by the last pump of the
    iteration (a pump that leaves a flush scheduled leaves the drain to it), then the CQ is
    checked once more. Every completion reaped signalled it; one posted after the drain
    signals it again (the kernel posts the CQE, then signals under the eventfd's lock, which
    the drain takes): no wake-up is lost, and none is spent on completions already reaped.
    (AsyncRing refuses IORING_SETUP_DEFER_TASKRUN rings: see ioring.asyncio.)

    ``aring`` is called back only for what is rare: a pump while a task is inside ``with
    ring.linked():`` (``chain_active``), a transient submit error (retried 1 ms later), and
    ``aclose()`` waiting for the ring to go idle (``idle_watch``)."""
    cdef Ring ring
    cdef object aring
    cdef public object loop             # None until the AsyncRing is attached to its loop
    cdef int efd
    cdef int rounds
    cdef public object handle           # the scheduled flush (a Handle/TimerHandle) or None
    cdef bint soon                      # handle is a call_soon: it runs in this iteration
    cdef bint must_drain                # the eventfd may hold signals of reaped completions
    cdef public bint closing
    cdef public bint chain_active
    cdef public bint idle_watch
    # A stream write may send at once (send(2), _SendQueue._write_inline) instead of queueing
    # an io_uring send: set by a pump whose reaps woke at most one waiter (a ping-pong: the
    # reply is the only send to come), cleared by that send. After a reap that woke several
    # (ten connections' messages) their replies go out together in the next pump's
    # io_uring_enter, one system call for all.
    cdef public bint inline_ok
    cdef object _flush_cb               # self.flush, bound once
    cdef uint64_t drained_gen           # ring._reap_gen at the last drain
    cdef bint stale_seen                # on_readable found nothing to drain since that drain

    def __cinit__(self, Ring ring, aring, int efd, int rounds):
        self.ring = ring
        self.aring = aring
        self.efd = efd
        self.rounds = rounds

    def on_readable(self):
        """The eventfd is readable: completions were posted. Reap them (and drain it)."""
        cdef Ring ring = self.ring
        if (self.must_drain or self.stale_seen or ring._reap_gen != self.drained_gen or not ring.uring.initialized or ring.uring.door_cq_ready()
              or ring.uring.door_cq_needs_flush()):
            self.must_drain = True
        else:
            # Nothing was reaped since the last drain and nothing is posted: the loop's poll
            # saw the eventfd readable before a drain later in the same iteration (after a
            # flush's reap) emptied it. Reading it would only find it empty (one system call
            # per message in an echo server). Once only: a signal the kernel sent late is
            # drained at the next wake-up.
            self.stale_seen = True
        self._pump()

    def flush(self):
        """The once-per-loop-iteration submit of everything queued in that iteration."""
        self.handle = None
        self.soon = False
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
            self.soon = True

    cdef int _pump(self) except -1:
        cdef Ring ring = self.ring
        cdef int flags
        cdef uint64_t wakes
        if not ring.uring.initialized:
            return 0
        if self.chain_active:
            self.aring._chain_interrupted()
            if self.must_drain:
                self.must_drain = False
                self._drain()
            return 0
        wakes = ring._wakes
        try:
            flags = ring._pump_c(False, self.rounds, -1)
            self.inline_ok = ring._wakes - wakes <= 1
            if flags & 4:
                self.must_drain = True
            if flags & 3:
                self.schedule_flush()
            while self.must_drain and not self.soon:
                # The last pump of this iteration: drain, then look once more.
                self.must_drain = False
                self._drain()
                if ring.uring.door_cq_ready() or ring.uring.door_cq_needs_flush():
                    flags = ring._pump_c(False, self.rounds, -1)
                    if flags & 4:
                        self.must_drain = True
                    if flags & 3:
                        self.schedule_flush()
        except OSError as exc:
            if exc.errno in (EAGAIN, EINTR, EBUSY):
                # The kernel is short of resources, or a signal came: again in a moment.
                if self.handle is None and self.loop is not None:
                    if self._flush_cb is None:
                        self._flush_cb = self.flush
                    self.handle = self.loop.call_later(0.001, self._flush_cb)
                if self.must_drain and not self.soon:
                    self.must_drain = False
                    self._drain()
            else:
                raise
        if self.idle_watch:
            self.aring._check_idle()
        return 0

    cdef void _drain(self) noexcept:
        """Read the eventfd's count (non-blocking: EAGAIN if nothing is left)."""
        cdef uint64_t counter
        _c_read(self.efd, &counter, 8)
        self.drained_gen = self.ring._reap_gen
        self.stale_seen = False

    def cancel_flush(self):
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None
            self.soon = False
