"""asyncio-native io_uring: ``await ring.read(fd, buf, 0)`` in any asyncio program.

``AsyncRing`` owns an ``ioring.Ring`` and an eventfd registered with it
(``io_uring_register_eventfd``). The event loop watches the eventfd (``loop.add_reader``); when
the kernel posts completions, the eventfd becomes readable, the loop drains it, reaps every
ready completion without waiting and resolves the asyncio Futures of those requests::

    import asyncio, os
    from ioring.asyncio import AsyncRing

    async def main():
        async with AsyncRing() as ring:
            fd = await ring.openat("/etc/hostname")
            buf = bytearray(4096)
            n = await ring.read(fd, buf, 0)
            await ring.close_fd(fd)
            print(bytes(buf[:n]))

    asyncio.run(main())

How it behaves:

- **Batching.** Each method queues its request at once and returns an ``OpFuture`` (an
  ``asyncio.Future``). Requests queued during one iteration of the event loop are submitted
  together by one ``loop.call_soon`` callback: one ``io_uring_enter`` per loop iteration, not
  one per request.
- **Results** are exactly those of ``Operation.result()``: the byte count, the new fd, the
  ``statx``...; a failed request raises ``OSError`` (the errno, and a message naming the
  request, its fd and its path).
- **Nothing blocks the loop.** Reaping never waits in the kernel: it submits what is queued
  and consumes the completions already in the completion queue.
- **Cancellation.** Cancelling the future (or the task awaiting it) submits an async cancel
  (``Operation.cancel()``). The buffer of the request stays pinned (a ``bytearray`` cannot be
  resized, nothing is freed) until the kernel's completion for it has been reaped, whatever
  Python does with the buffer in the meantime. A request that had already finished in the
  kernel when the cancel arrived keeps its effect (data read from a socket is then lost to the
  cancelled caller), as with any cancelled I/O.
- **Closing** (``await ring.aclose()`` or leaving ``async with``) cancels every request in
  flight, waits (without blocking the loop) for the kernel to complete them, then closes the
  ring and the eventfd. The futures of requests cancelled that way fail with
  ``OSError(ECANCELED)``.
- **Ring flags.** Any ``ioring.Ring`` keyword works (``sqpoll=True``, ``flags=...``).
  ``IORING_SETUP_DEFER_TASKRUN`` is not enabled by default: with it, the kernel only posts
  completions when the submitting thread enters the ring, so the eventfd alone would not be
  enough; when the caller asks for it (with ``IORING_SETUP_SINGLE_ISSUER``, and the
  ``AsyncRing`` must then be used from the thread that created it), every wake-up of the
  eventfd (which the kernel signals when deferred work is queued) also enters the ring with
  ``IORING_ENTER_GETEVENTS`` (``io_uring_get_events``) to run that work before reaping.
  ``IORING_SETUP_IOPOLL`` is refused (ValueError): its completions appear only when the ring
  is polled, so the eventfd would never fire.
- **Event loops.** Works with the default asyncio loop and with uvloop (anything with
  ``add_reader``). An ``AsyncRing`` belongs to the loop it is first used in, and must only be
  used from that loop's thread.
"""
import asyncio
import contextlib
import errno
import os

from ioring import liburing as L
from ioring._ring import Operation, Ring

__all__ = ["AsyncRing", "OpFuture"]

_EFD_CLOEXEC = 0o2000000
_EFD_NONBLOCK = 0o4000


def _eventfd():
    """A non-blocking, close-on-exec eventfd (``os.eventfd`` on Python >= 3.10, libc before)."""
    if hasattr(os, "eventfd"):
        return os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.eventfd(0, _EFD_CLOEXEC | _EFD_NONBLOCK)
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return fd


class OpFuture(asyncio.Future):
    """The asyncio Future of one request; ``.operation`` is its ``ioring.Operation``.

    It resolves to ``Operation.result()`` (or fails with its OSError) when the completion is
    reaped. ``cancel()`` (also what cancelling an awaiting task does) submits an async cancel
    for the request; its buffers stay pinned until the kernel has completed it.
    """

    operation = None    # set by AsyncRing right after construction (no Python __init__:
    _aring = None       # this is the per-request hot path)

    def cancel(self, msg=None):
        """Cancel the future and ask the kernel to cancel the request (IORING_OP_ASYNC_CANCEL).
        Returns False if the future was already done."""
        if not super().cancel(msg=msg):
            return False
        op = self.operation
        if not op.done():
            try:
                op.cancel()
            except (ValueError, OSError, RuntimeError):
                pass    # the ring is closing: its close cancels every request anyway
        return True

    def _op_done(self, op):
        # Called from Ring's reap (inside AsyncRing._pump). Must not raise.
        aring = self._aring
        pending = aring._pending
        pending.discard(self)
        if not pending and aring._idle is not None and not aring._idle.done():
            aring._idle.set_result(None)
        if self.done():
            return      # cancelled: the completion only releases the request's pins
        try:
            if op.res < 0:
                self.set_exception(op.exception())
            else:
                self.set_result(op.result())
        except RuntimeError:
            pass        # its event loop is closed: nobody can await it any more


class AsyncRing:
    """An io_uring driven by the asyncio event loop.

    ``AsyncRing(entries=256, *, loop=None, **ring_kwargs)``: ``ring_kwargs`` go to
    ``ioring.Ring`` (``sqpoll``, ``flags``, ``cq_entries``, ``sq_thread_idle``). Use it as
    ``async with AsyncRing() as ring:``, or call ``await ring.aclose()``.

    Every request method queues the request and returns an ``OpFuture`` to await; the result
    is what ``Operation.result()`` returns. Requests queued in one loop iteration are
    submitted together at the end of it.
    """

    def __init__(self, entries=256, *, loop=None, **ring_kwargs):
        self._ring = Ring(entries, **ring_kwargs)
        self._uring = self._ring.uring
        if self._uring.flags & L.IORING_SETUP_IOPOLL:
            self._ring.close()
            raise ValueError("IORING_SETUP_IOPOLL rings post completions only when the ring is "
                             "polled; an event loop cannot wait for them without blocking")
        self._defer = bool(self._uring.flags & L.IORING_SETUP_DEFER_TASKRUN)
        self._efd = -1
        self._loop = None
        self._live_loop = None          # the loop while open and attached (hot-path check)
        self._pending = set()           # OpFutures whose completion has not been reaped
        self._flush_handle = None
        self._idle = None               # future: set when _pending empties (aclose waits)
        self._closing = False
        self._closed = False
        try:
            self._efd = _eventfd()
            L.io_uring_register_eventfd(self._uring, self._efd)
            if loop is None:
                try:
                    loop = asyncio.get_running_loop()
                except RuntimeError:
                    loop = None         # attached to the running loop on first use
            if loop is not None:
                self._attach(loop)
        except BaseException:
            self._teardown()
            raise

    # ---- properties ----------------------------------------------------------------------------

    @property
    def ring(self):
        """The underlying ``ioring.Ring`` (e.g. for ``ioring.BufferPool(aring.ring, ...)``)."""
        return self._ring

    @property
    def loop(self):
        """The event loop this ring is attached to (None until first used)."""
        return self._loop

    @property
    def eventfd(self):
        """The eventfd registered with the ring and watched by the loop."""
        return self._efd

    @property
    def closed(self):
        """True once ``aclose()``/``close()`` has started."""
        return self._closing

    @property
    def in_flight(self):
        """Requests whose completion has not been reaped yet (cancelled ones included)."""
        return len(self._pending)

    def __repr__(self):
        if self._closing:
            return "<AsyncRing closed>"
        return f"<AsyncRing fd={self._ring.fd} in_flight={len(self._pending)}>"

    # ---- loop plumbing -------------------------------------------------------------------------

    def _attach(self, loop):
        loop.add_reader(self._efd, self._on_readable)
        self._loop = self._live_loop = loop

    def _check(self):
        """The loop to use for a new request; raises if the ring is closed."""
        if self._closing:
            raise RuntimeError("the AsyncRing is closed")
        loop = self._loop
        if loop is None:
            loop = asyncio.get_running_loop()
            self._attach(loop)
        return loop

    def _track(self, op, loop):
        fut = OpFuture(loop=loop)
        fut.operation = op
        fut._aring = self
        self._pending.add(fut)
        op.add_done_callback(fut._op_done)
        if self._flush_handle is None:
            self._flush_handle = loop.call_soon(self._flush)
        return fut

    def _flush(self):
        """The once-per-loop-iteration submit of everything queued in that iteration."""
        self._flush_handle = None
        self._pump()

    def _on_readable(self):
        """The eventfd is readable: completions were posted. Drain it, then reap."""
        try:
            os.read(self._efd, 8)
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            if self._closing:
                return
            raise
        self._pump()

    def _pump(self):
        """Submit what is queued and reap every completion already posted. Never waits:
        ``Ring.wait(0)`` submits (entering the kernel only when something is queued or the
        kernel holds completions back) and consumes the ready CQEs."""
        ring = self._ring
        if ring.closed:
            return
        try:
            while True:
                if self._defer:
                    # Deferred task work runs only when this thread enters the ring.
                    L.io_uring_submit_and_get_events(self._uring)
                if not ring.wait(0):
                    break
        except (BlockingIOError, InterruptedError) as exc:
            # EAGAIN (kernel short of resources) / EINTR: try again shortly.
            self._retry_later(exc)
        except OSError as exc:
            if exc.errno == errno.EBUSY:
                self._retry_later(exc)
            else:
                raise

    def _retry_later(self, exc):
        if self._flush_handle is None and self._loop is not None:
            self._flush_handle = self._loop.call_later(0.001, self._flush)

    # ---- requests ------------------------------------------------------------------------------

    def submit(self, op):
        """Await an ``Operation`` queued directly on ``self.ring``: returns its OpFuture (it is
        submitted with the others at the end of this loop iteration)."""
        if not isinstance(op, Operation) or op.ring is not self._ring:
            raise TypeError("expected an Operation of this AsyncRing's ring")
        return self._track(op, self._check())

    def run(self, op_factory):
        """``await ring.run(lambda r: r.splice(...))``: ``op_factory(self.ring)`` queues
        requests on the underlying Ring and returns an Operation (awaited: its result) or a
        sequence of them, e.g. a ``with r.linked():`` chain (awaited: the list of results;
        the first failure is raised once all of them completed)."""
        loop = self._live_loop
        if loop is None:
            loop = self._check()
        made = op_factory(self._ring)
        if isinstance(made, Operation):
            return self._track(made, loop)
        futs = [self._track(op, loop) for op in made]
        return loop.create_task(_all_results(futs))

    def queue(self, prep, *args, **kwargs):
        """Queue any thin-layer prep: ``await ring.queue(L.io_uring_prep_fallocate, fd, 0, 0,
        4096)``; keywords as ``Ring.queue`` (kind, fd, path, value, flags, timeout)."""
        loop = self._live_loop
        if loop is None:
            loop = self._check()
        return self._track(self._ring.queue(prep, *args, **kwargs), loop)

    @contextlib.contextmanager
    def linked(self):
        """``with ring.linked(): a = ring.write(...); b = ring.fsync(...)``: the requests queued
        inside run in order, each only if the previous one succeeded (IOSQE_IO_LINK)."""
        with self._ring.linked():
            yield self

    def nop(self, **kwargs):
        """A NOP; result 0."""
        loop = self._live_loop
        if loop is None:
            loop = self._check()
        return self._track(self._ring.nop(**kwargs), loop)

    def read(self, fd, buf, offset=-1, **kwargs):
        """Read into the writable ``buf`` at ``offset`` (-1: the file position); result: the
        number of bytes read. Keywords: ``nbytes``, ``flags`` (IOSQE_*), ``timeout`` (s)."""
        loop = self._live_loop
        if loop is None:
            loop = self._check()
        return self._track(self._ring.read(fd, buf, offset, **kwargs), loop)

    def write(self, fd, data, offset=-1, **kwargs):
        """Write ``data`` at ``offset`` (-1: the file position); result: bytes written."""
        loop = self._live_loop
        if loop is None:
            loop = self._check()
        return self._track(self._ring.write(fd, data, offset, **kwargs), loop)

    def readv(self, fd, buffers, offset=-1, **kwargs):
        """Scatter-read into ``buffers``; result: total bytes read."""
        loop = self._live_loop
        if loop is None:
            loop = self._check()
        return self._track(self._ring.readv(fd, buffers, offset, **kwargs), loop)

    def writev(self, fd, buffers, offset=-1, **kwargs):
        """Gather-write ``buffers``; result: total bytes written."""
        loop = self._live_loop
        if loop is None:
            loop = self._check()
        return self._track(self._ring.writev(fd, buffers, offset, **kwargs), loop)

    def read_fixed(self, fd, buf, offset, buf_index, **kwargs):
        """READ_FIXED into registered buffer ``buf_index`` (``buf`` lies inside it)."""
        loop = self._live_loop
        if loop is None:
            loop = self._check()
        return self._track(self._ring.read_fixed(fd, buf, offset, buf_index, **kwargs), loop)

    def write_fixed(self, fd, buf, offset, buf_index, **kwargs):
        """WRITE_FIXED from registered buffer ``buf_index`` (``buf`` lies inside it)."""
        loop = self._live_loop
        if loop is None:
            loop = self._check()
        return self._track(self._ring.write_fixed(fd, buf, offset, buf_index, **kwargs), loop)

    def fsync(self, fd, **kwargs):
        """fsync(2) (``datasync=True``: fdatasync); result 0."""
        loop = self._live_loop
        if loop is None:
            loop = self._check()
        return self._track(self._ring.fsync(fd, **kwargs), loop)

    def openat(self, path, oflags=os.O_RDONLY, mode=0o666, **kwargs):
        """Open ``path`` (``dir_fd=`` for a relative one); result: the new fd."""
        loop = self._live_loop
        if loop is None:
            loop = self._check()
        return self._track(self._ring.openat(path, oflags, mode, **kwargs), loop)

    def close_fd(self, fd, **kwargs):
        """Close the file descriptor ``fd`` (IORING_OP_CLOSE); result 0."""
        loop = self._live_loop
        if loop is None:
            loop = self._check()
        return self._track(self._ring.close_fd(fd, **kwargs), loop)

    def statx(self, path, mask=L.STATX_BASIC_STATS, statx_flags=0, **kwargs):
        """statx(2) of ``path``; result: an ``ioring.liburing.statx`` (``stx_size``, ...)."""
        loop = self._live_loop
        if loop is None:
            loop = self._check()
        return self._track(self._ring.statx(path, mask, statx_flags, **kwargs), loop)

    def send(self, sock, data, msg_flags=0, **kwargs):
        """send(2) ``data`` on ``sock`` (a socket or an fd); result: bytes sent."""
        loop = self._live_loop
        if loop is None:
            loop = self._check()
        return self._track(self._ring.send(sock, data, msg_flags, **kwargs), loop)

    def recv(self, sock, buf_or_size, msg_flags=0, **kwargs):
        """recv(2) into a writable buffer (result: bytes received) or, given an int, into a new
        buffer of that size (result: the bytes received)."""
        loop = self._live_loop
        if loop is None:
            loop = self._check()
        return self._track(self._ring.recv(sock, buf_or_size, msg_flags, **kwargs), loop)

    def accept(self, sock, accept_flags=0, **kwargs):
        """accept4(2) on the listening ``sock``; result: the new connection's fd."""
        loop = self._live_loop
        if loop is None:
            loop = self._check()
        return self._track(self._ring.accept(sock, accept_flags, **kwargs), loop)

    def connect(self, sock, address, **kwargs):
        """connect(2) ``sock`` to ``address`` (as the socket module takes it); result 0."""
        loop = self._live_loop
        if loop is None:
            loop = self._check()
        return self._track(self._ring.connect(sock, address, **kwargs), loop)

    def splice(self, fd_in, off_in, fd_out, off_out, nbytes, splice_flags=0, **kwargs):
        """splice(2) ``nbytes`` from ``fd_in`` to ``fd_out``; result: bytes moved."""
        loop = self._live_loop
        if loop is None:
            loop = self._check()
        return self._track(self._ring.splice(fd_in, off_in, fd_out, off_out, nbytes,
                                             splice_flags, **kwargs), loop)

    def timeout(self, seconds, **kwargs):
        """A kernel timer (IORING_OP_TIMEOUT): resolves to 0 after ``seconds``."""
        loop = self._live_loop
        if loop is None:
            loop = self._check()
        return self._track(self._ring.timeout(seconds, **kwargs), loop)

    async def sleep(self, seconds):
        """``await ring.sleep(s)``: like ``asyncio.sleep`` but timed by the kernel's ring."""
        await self.timeout(seconds)

    # ---- closing -------------------------------------------------------------------------------

    async def aclose(self, timeout=5.0):
        """Cancel every request in flight, wait (at most ``timeout`` seconds, without blocking
        the loop) for the kernel to complete them, then close the ring and the eventfd.
        Futures of requests cancelled here fail with OSError(ECANCELED). Idempotent."""
        if self._closing:
            return
        self._closing = True
        self._live_loop = None
        try:
            if self._pending and self._loop is not None and not self._ring.closed:
                self._idle = self._loop.create_future()
                for fut in list(self._pending):
                    op = fut.operation
                    if not op.done():
                        try:
                            op.cancel()
                        except (ValueError, OSError, RuntimeError):
                            break
                self._pump()
                if self._pending:
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(asyncio.shield(self._idle), timeout)
        finally:
            self._teardown()

    def close(self):
        """Close at once, without awaiting: the ring's own close cancels what is in flight and
        waits (blocking, bounded) for the kernel. Prefer ``await aclose()`` in a coroutine."""
        self._closing = True
        self._teardown()

    def _teardown(self):
        if self._closed:
            return
        self._closed = True
        self._closing = True
        self._live_loop = None
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        loop, self._loop = self._loop, None
        if loop is not None and self._efd >= 0 and not loop.is_closed():
            loop.remove_reader(self._efd)
        try:
            if not self._ring.closed:
                # Completions already posted resolve their futures with the real result.
                with contextlib.suppress(OSError, ValueError):
                    if self._defer:
                        L.io_uring_submit_and_get_events(self._uring)
                    self._ring.wait(0)
                with contextlib.suppress(OSError, ValueError):
                    L.io_uring_unregister_eventfd(self._uring)
        finally:
            # Ring.close() completes what remains with -ECANCELED (OSError for its future).
            self._ring.close()
            if self._efd >= 0:
                os.close(self._efd)
                self._efd = -1

    async def __aenter__(self):
        self._check()
        return self

    async def __aexit__(self, *exc):
        await self.aclose()
        return False

    def __del__(self):
        if not getattr(self, "_closed", True):
            import warnings
            try:
                warnings.warn(f"unclosed {self!r}", ResourceWarning, source=self)
            except Exception:
                pass
            try:
                self._loop = None if self._loop is None or self._loop.is_closed() else self._loop
                self._teardown()
            except Exception:
                pass


async def _all_results(futs):
    """Wait for every future, then return their results (raising the first failure)."""
    try:
        await asyncio.wait(futs)
    except asyncio.CancelledError:
        for f in futs:
            f.cancel()
        raise
    first = None
    for f in futs:
        exc = f.exception()         # retrieve every failure (no "never retrieved" warnings)
        if exc is not None and first is None:
            first = exc
    if first is not None:
        raise first
    return [f.result() for f in futs]
