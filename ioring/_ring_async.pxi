# The event-loop side of ioring.asyncio.AsyncRing, in C: the ring fd's reader callback, the
# once-per-iteration flush and its scheduling. They run for every wake-up of the loop and every
# request queued, so each is one C call instead of a chain of Python frames. Included by
# _ring.pyx.

cdef int _STREAMING_PUMPS = 16


@cython.final
cdef class _AsyncDriver:
    """Drives one Ring from an asyncio event loop (``AsyncRing`` holds it):

    * ``on_readable()``: the loop's reader callback for the ring's own fd, which polls
      readable while completions wait in the CQ: a pump.
    * ``flush()``: the callback scheduled once per loop iteration (``schedule_flush()``) that
      submits what was queued during it: a pump.
    * a pump (``Ring._pump``) submits and reaps, never waiting, in at most ``rounds`` rounds; when
      work is left or the reap woke tasks, another flush is scheduled (it then runs after those
      tasks, in the same iteration, and sends what they queued).

    The loop watches the ring fd, not an eventfd: its readiness is the CQ's state (level-
    triggered), so reaping is all it takes to quiet it; an eventfd's count had to be read
    (a system call per wake-up of an echo server) and the kernel signalled it for every
    completion, also those the pump had reaped already. (AsyncRing refuses
    IORING_SETUP_DEFER_TASKRUN rings: see ioring.asyncio.)

    ``aring`` is called back only for what is rare: a pump while a task is inside ``with
    ring.linked():`` (``chain_active``), a transient submit error (retried 1 ms later), and
    ``aclose()`` waiting for the ring to go idle (``idle_watch``)."""
    cdef Ring ring
    cdef object aring
    cdef public object loop             # None until the AsyncRing is attached to its loop
    cdef int rounds
    cdef public object handle           # the scheduled flush (a Handle/TimerHandle) or None
    cdef bint soon                      # handle is a call_soon: it runs in this iteration
    cdef public bint closing
    cdef public bint chain_active
    cdef public bint idle_watch
    # A stream write may send at once (send(2), _SendQueue._write_inline) instead of queueing
    # an io_uring send when that saves the io_uring_enter of the iteration, as in a ping-pong
    # (each message, one reply): set by a pump whose reaps woke at most one waiter, cleared by
    # that send. Not after a reap that woke several (ten connections' messages: their replies
    # go out together in the next pump's io_uring_enter, one system call for all), nor while
    # the data streams in (a reader found completions posted since the pump: pipelined
    # messages; an inline send would then come on top of the enter the next writes need):
    # for the next _STREAMING_PUMPS pumps after that.
    cdef public bint inline_ok
    cdef int streaming
    # Pumps so far: a stream's single-shot recv reaped by the pump that submitted it (the next
    # one after it was armed) found data waiting (see _Stream.single).
    cdef public unsigned long pumps
    cdef object _flush_cb               # self.flush, bound once
    # Readiness receives of StreamReaders (_Stream.ready): the streams whose socket the loop
    # watches now (unwatched by close_streams), the buffer their recv(2) takes into, and the
    # batch of wake-ups of one loop iteration (_ready_woke).
    cdef set ready_streams
    cdef char *rbuf
    cdef public bint ready_open
    cdef int ready_woken
    cdef _Stream ready_first            # the first stream woken in the batch

    def __cinit__(self, Ring ring, aring, int rounds):
        self.ring = ring
        self.aring = aring
        self.rounds = rounds
        self.ready_streams = set()
        self.inline_ok = True           # nothing woken yet: a first write may go at once

    def __dealloc__(self):
        free(self.rbuf)

    cdef char *_recv_buffer(self) except NULL:
        if self.rbuf == NULL:
            self.rbuf = <char *>malloc(_SINGLE_RECV_SIZE)
            if self.rbuf == NULL:
                raise MemoryError()
        return self.rbuf

    cdef int _ready_woke(self, _Stream s) except -1:
        """A readiness receive queued data for its reader (_Stream._on_readable). The first
        wake-up of a batch (the readable sockets of one epoll_wait: their callbacks run before
        any task they wake) may reply with an inline send, as after a pump that woke one task.
        With several, their replies go out together (inline sends off, the flush moved after
        every task woken so far: a call_soon made now runs after them), and the streams of the
        batch take the multishot recv from now on (see _Stream.ready)."""
        if not self.ready_open:
            self.ready_open = True      # closed by the first read that takes data
            self.ready_woken = 0
            self.ready_first = s
        self.ready_woken += 1
        if self.ready_woken == 1:
            self.inline_ok = not self.streaming
            return 0
        self.inline_ok = False
        if self.handle is not None and self.soon:
            self.handle.cancel()
            self.handle = None
        self.schedule_flush()
        if self.ready_first is not None:
            self.ready_first._leave_ready()
            self.ready_first = None
        s._leave_ready()
        return 0

    def close_streams(self):
        """The loop stops watching every StreamReader's socket (the AsyncRing closes): their
        readers see the closed Ring."""
        for s in list(self.ready_streams):
            (<_Stream>s)._unregister()
            (<_Stream>s)._wake()

    def on_readable(self):
        """The ring fd is readable: completions wait in the CQ. Reap them."""
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
            return 0
        self.pumps += 1
        wakes = ring._wakes
        try:
            flags = ring._pump_c(False, self.rounds, -1)
            if self.streaming:
                self.streaming -= 1
            self.inline_ok = ring._wakes - wakes <= 1 and not self.streaming
            if flags & 3:
                self.schedule_flush()
        except OSError as exc:
            if exc.errno in (EAGAIN, EINTR, EBUSY):
                # The kernel is short of resources, or a signal came: again in a moment. What
                # is in the CQ is reaped meanwhile (the ring fd polls readable until it is).
                if self.handle is None and self.loop is not None:
                    if self._flush_cb is None:
                        self._flush_cb = self.flush
                    self.handle = self.loop.call_later(0.001, self._flush_cb)
                if ring.uring.initialized and ring.uring.door_cq_ready() and not ring._reaping:
                    ring._reap(0)
            else:
                raise
        if self.idle_watch:
            self.aring._check_idle()
        return 0

    cdef void _streaming(self) noexcept:
        """A reader reaped completions posted since the last pump: no inline sends for a
        while (see inline_ok)."""
        self.inline_ok = False
        self.streaming = _STREAMING_PUMPS

    def cancel_flush(self):
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None
            self.soon = False
