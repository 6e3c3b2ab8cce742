"""asyncio-native io_uring: ``await ring.read(fd, buf, 0)`` in any asyncio program.

``AsyncRing`` owns an ``ioring.Ring`` whose fd the event loop watches (``loop.add_reader``):
the ring fd polls readable while completions wait in its completion queue, and then the loop
reaps every ready completion without waiting and resolves the asyncio Futures of those
requests (reaping is what makes the fd quiet again: no eventfd to read)::

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
  ring. The futures of requests cancelled that way fail with
  ``OSError(ECANCELED)``.
- **Ring flags.** Any ``ioring.Ring`` keyword works (``sqpoll=True``, ``flags=...``).
  ``IORING_SETUP_COOP_TASKRUN`` is added (unless ``sqpoll`` is asked for, or the kernel
  predates it): the kernel does not interrupt the loop's thread to post a completion while it
  runs Python code, it posts it at the thread's next system call (every loop iteration makes
  one) and still wakes the thread from the loop's poll. ``IORING_SETUP_DEFER_TASKRUN`` is
  refused (ValueError): its completions run only when the submitting thread enters the ring,
  and nothing wakes a loop asleep in its poll in time (the kernel signals the eventfd for such
  work milliseconds late, 0.4 to 18 ms measured on 6.18, and a poll of the ring fd not at
  all): an echo server answered 60 messages/s instead of 15,000. ``IORING_SETUP_IOPOLL`` is
  refused too: its completions appear only when the ring is polled, so the loop's poll would
  never see them.
- **Event loops.** Works with the default asyncio loop and with uvloop (anything with
  ``add_reader``). An ``AsyncRing`` belongs to the loop that created it (or, created outside
  any loop, the one it is first used in), and must only be used from that loop's thread: a
  call from another loop, or with no loop running, raises RuntimeError and queues nothing.
- **Linked chains.** ``with ring.linked():`` queues a chain; nothing is submitted until the
  block is left, so queue the whole chain and await the results after it (an await inside
  fails the chain's futures with RuntimeError instead of hanging).
- **Multishot requests** (``accept_multishot``, ``recv_multishot``, ``recvmsg_multishot``,
  ``read_multishot``, ``poll_multishot``, ``timeout_multishot``, ``multishot``) are async
  iterators (``AsyncMultishot``) over a queue that the reaping fills, one result per
  completion; ``__anext__`` waits on a Future only when that queue is empty. Cancelling the
  task that waits, breaking out of ``async for``, ``close()`` or ``aclose()`` cancel the
  kernel request. See ``ioring.Multishot`` for when the iteration ends.
"""
import asyncio
import contextlib
import errno
import os
import socket
import weakref

from ioring import liburing as L
from ioring import _asyncio_streams as _streams
from ioring._asyncio_streams import Server, StreamReader, StreamWriter
from ioring._ring import _EMPTY, _END, Multishot, Operation, Ring, _AsyncDriver

__all__ = ["AsyncMultishot", "AsyncRing", "OpFuture", "Server", "StreamReader", "StreamWriter"]

# The running loop, or None (asyncio's C accelerated getter: no exception when there is none).
_get_running_loop = asyncio._get_running_loop

# Submit-and-reap rounds per pump (Ring._pump): a batch of files runs ~85 chains a round (3 SQEs
# each, 256-entry SQ), so a pump lasts a few milliseconds at most before other callbacks run.
_PUMP_ROUNDS = 8

def _open_ring(entries, ring_kwargs):
    """The AsyncRing's Ring, with IORING_SETUP_COOP_TASKRUN (5.19) unless the caller asked for
    sqpoll (which rules it out). Without it the kernel interrupts
    the loop's thread (an IPI) whenever a completion is ready while it runs Python code, e.g.
    for every segment a multishot recv takes: an echo server then spent a third more CPU per
    message than asyncio's. With it the completion is posted at the thread's next system call,
    which an event loop makes every iteration, and a thread asleep in the loop's poll is still
    woken. A kernel without the flag (EINVAL): the Ring is made without it."""
    flags = ring_kwargs.get("flags", 0)
    if flags & L.IORING_SETUP_DEFER_TASKRUN:
        raise ValueError(
            "IORING_SETUP_DEFER_TASKRUN rings run completions only when the submitting thread "
            "enters the ring, and nothing wakes an event loop asleep in its poll in time (a "
            "poll of the ring fd is not woken for that work, an eventfd is signalled "
            "milliseconds late): AsyncRing refuses "
            "the flag and sets IORING_SETUP_COOP_TASKRUN up instead; use ioring.Ring (which "
            "waits in io_uring_enter) for DEFER_TASKRUN")
    if ring_kwargs.get("sqpoll") or flags & L.IORING_SETUP_SQPOLL:
        return Ring(entries, **ring_kwargs)
    try:
        return Ring(entries, **dict(ring_kwargs, flags=flags | L.IORING_SETUP_COOP_TASKRUN))
    except OSError as exc:
        if exc.errno != errno.EINVAL:
            raise
    return Ring(entries, **ring_kwargs)


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
        if not pending and aring._idle is not None:
            aring._check_idle()
        if aring._chain_futs is not None:
            aring._chain_futs.discard(self)
        if self.done():
            return      # cancelled: the completion only releases the request's pins
        try:
            if op.res < 0:
                self.set_exception(op.exception())
            else:
                self.set_result(op.result())
        except RuntimeError:
            pass        # its event loop is closed: nobody can await it any more


class _FileFuture(asyncio.Future):
    """The Future of a read_file/write_file (or of a read_files/write_files batch): resolved
    from the last completion of its chain. ``cancel()`` also cancels the chain in the kernel
    (its open and read/write; the close still runs)."""

    __slots__ = ("_job", "_aring")

    def cancel(self, msg=None):
        if not super().cancel(msg=msg):
            return False
        job = self._job
        if job is not None:
            self._job = None
            try:
                job.cancel()
            except (ValueError, OSError, RuntimeError):
                pass        # the ring is closing: its close ends every chain anyway
            self._aring._watch_cancels()
        return True


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
        self._ring = _open_ring(entries, ring_kwargs)
        self._uring = self._ring.uring
        if self._uring.flags & L.IORING_SETUP_IOPOLL:
            self._ring.close()
            raise ValueError("IORING_SETUP_IOPOLL rings post completions only when the ring is "
                             "polled; an event loop cannot wait for them without blocking")
        self._loop = None
        self._live_loop = None          # the loop while open and attached (hot-path check)
        self._pending = set()           # OpFutures whose completion has not been reaped
        self._driver = None             # the event-loop callbacks, in C (_AsyncDriver)
        self._idle = None               # future: set when nothing is in flight (aclose waits)
        self._streams = weakref.WeakSet()   # the Multishots of AsyncMultishot iterators
        self._chain_task = None         # the task inside `with ring.linked():`, if any
        self._chain_futs = None         # the OpFutures queued in that chain
        self._reader_paused = False     # that task awaited inside the block: ring fd unwatched
        self._cancel_timer = None       # re-sends file-chain cancels that found nothing yet
        self._closing = False
        self._closed = False
        try:
            driver = self._driver = _AsyncDriver(self._ring, self, _PUMP_ROUNDS)
            # The hot callbacks are the driver's C methods (no Python frame per call):
            self._on_readable = driver.on_readable      # the ring fd's reader callback
            self._flush = driver.flush                  # submit what this iteration queued
            self._pump = driver.pump                    # submit and reap, never waiting
            self._schedule_flush = driver.schedule_flush
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
    def fd(self):
        """The ring fd, which the loop watches (readable while completions wait)."""
        return self._ring.fd

    @property
    def closed(self):
        """True once ``aclose()``/``close()`` has started."""
        return self._closing

    @property
    def in_flight(self):
        """Requests whose completion has not been reaped yet (cancelled ones included), armed
        multishot requests and file jobs (read_file... from the call until their result is
        made) included."""
        return len(self._pending) + sum(1 for ms in self._streams if ms.armed) + \
            self._ring._file_active()

    def __repr__(self):
        if self._closing:
            return "<AsyncRing closed>"
        return f"<AsyncRing fd={self._ring.fd} in_flight={len(self._pending)}>"

    # ---- loop plumbing -------------------------------------------------------------------------

    def _attach(self, loop):
        loop.add_reader(self._ring.fd, self._driver.on_readable)
        self._driver.loop = loop
        self._loop = self._live_loop = loop

    def _check(self):
        """The loop to use for a new request: the running one, which must be this ring's.
        Raises (before anything is queued) if the ring is closed, no loop runs, the running
        loop is another one, or another task's linked() chain is open."""
        loop = self._live_loop
        if loop is not None and _get_running_loop() is loop:
            if self._chain_task is not None:
                self._check_chain()
            return loop
        running = _get_running_loop()
        if self._closing:
            raise RuntimeError("the AsyncRing is closed")
        if running is None:
            raise RuntimeError("AsyncRing methods need a running event loop: call them from a "
                               "coroutine or callback of the loop this ring belongs to (nothing "
                               "was queued)")
        if self._loop is None:
            self._attach(running)
            return running
        raise RuntimeError(f"this AsyncRing belongs to the event loop that created it (or first "
                           f"used it), {self._loop!r}, not to the running one, {running!r}: "
                           f"create one AsyncRing per event loop, e.g. inside the coroutine "
                           f"given to asyncio.run() (nothing was queued)")

    def _check_chain(self):
        if asyncio.current_task() is not self._chain_task:
            raise RuntimeError("another task's linked() chain is open on this AsyncRing (it awaited "
                               "inside `with ring.linked():`): queue a chain's requests without "
                               "awaiting in between, and await them after the block")

    def _busy(self):
        return bool(self._pending) or any(ms.armed for ms in self._streams) or \
            bool(self._ring._file_active())

    def _check_idle(self):
        idle = self._idle
        if idle is not None and not idle.done() and not self._busy():
            idle.set_result(None)

    def _track(self, op, loop):
        fut = OpFuture(loop=loop)
        fut.operation = op
        fut._aring = self
        self._pending.add(fut)
        if self._chain_futs is not None:
            self._chain_futs.add(fut)
        op.add_done_callback(fut._op_done)
        self._schedule_flush()
        return fut

    # _on_readable, _flush, _pump and _schedule_flush are the _AsyncDriver's (set in __init__):
    # a pump submits and reaps in rounds (Ring._pump), at most _PUMP_ROUNDS per call, and
    # schedules another flush when work is left or when the reap woke tasks: those run next,
    # and what they queue (a reply written on a socket...) goes out with that flush, in the same
    # loop iteration.

    def _chain_interrupted(self):
        """The loop runs while a task is inside `with ring.linked():` (it awaited there).
        Submitting now would send half of the chain, and its requests are not submitted before
        the block is left: fail their futures, so that the task does not wait for them
        forever. The chain is submitted, whole, once the task has left the block. Until then
        the loop stops watching the ring fd (it would poll readable, and be called back, at
        every iteration while completions wait)."""
        if not self._reader_paused and self._loop is not None:
            self._loop.remove_reader(self._ring.fd)
            self._reader_paused = True
        futs, self._chain_futs = self._chain_futs or (), set()
        for fut in futs:
            if not fut.done():
                fut.set_exception(RuntimeError(
                    f"{fut.operation.describe()} is in a chain whose task awaited inside `with "
                    f"ring.linked():`, where nothing can be submitted (half a chain would run): "
                    f"queue the whole chain, leave the block, then await (the request still "
                    f"runs, with its chain)"))

    def _watch_cancels(self):
        """A file chain was cancelled: submit the cancel now, and re-send it (each reap does)
        until the chain has ended, in case it reached a request between two steps."""
        self._schedule_flush()
        if self._cancel_timer is None and self._loop is not None and not self._closing:
            self._cancel_timer = self._loop.call_later(0.06, self._cancel_tick)

    def _cancel_tick(self):
        self._cancel_timer = None
        self._flush()
        if not self._closing and self._ring._file_cancelling():
            self._cancel_timer = self._loop.call_later(0.06, self._cancel_tick)

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
        loop = self._check()
        made = op_factory(self._ring)
        if isinstance(made, Operation):
            return self._track(made, loop)
        futs = [self._track(op, loop) for op in made]
        return loop.create_task(_all_results(futs))

    def queue(self, prep, *args, **kwargs):
        """Queue any thin-layer prep: ``await ring.queue(L.io_uring_prep_fallocate, fd, 0, 0,
        4096)``; keywords as ``Ring.queue`` (kind, fd, path, value, flags, timeout)."""
        loop = self._check()
        return self._track(self._ring.queue(prep, *args, **kwargs), loop)

    @contextlib.contextmanager
    def linked(self):
        """``with ring.linked(): a = ring.write(...); b = ring.fsync(...)``: the requests queued
        inside run in order, each only if the previous one succeeded (IOSQE_IO_LINK). Queue
        them without awaiting inside the block (nothing is submitted until it is left; an
        await there fails with RuntimeError), then await the results. As Ring.linked(): a
        short read or write breaks the chain too."""
        self._check()
        with self._ring.linked():
            self._chain_task = asyncio.current_task()
            self._driver.chain_active = True
            self._chain_futs = set()
            try:
                yield self
            finally:
                self._chain_task = None
                self._driver.chain_active = False
                self._chain_futs = None
                if self._reader_paused:
                    self._reader_paused = False
                    if self._loop is not None and not self._closing:
                        self._loop.add_reader(self._ring.fd, self._driver.on_readable)
                self._schedule_flush()

    # BEGIN ops (generated by tools/gen_ops.py from ioring/_ops_table.py: edit the table)
    def nop(self, **kwargs):
        """A NOP; result 0."""
        loop = self._check()
        return self._track(self._ring.nop(**kwargs), loop)

    def read(self, fd, buf, offset=-1, **kwargs):
        """Read into the writable ``buf`` at ``offset`` (-1: the file position); result: the
        number of bytes read. Keywords: ``nbytes``, ``flags`` (IOSQE_*), ``timeout`` (s)."""
        loop = self._check()
        return self._track(self._ring.read(fd, buf, offset, **kwargs), loop)

    def write(self, fd, data, offset=-1, **kwargs):
        """Write ``data`` at ``offset`` (-1: the file position); result: bytes written."""
        loop = self._check()
        return self._track(self._ring.write(fd, data, offset, **kwargs), loop)

    def readv(self, fd, buffers, offset=-1, **kwargs):
        """Scatter-read into ``buffers``; result: total bytes read."""
        loop = self._check()
        return self._track(self._ring.readv(fd, buffers, offset, **kwargs), loop)

    def writev(self, fd, buffers, offset=-1, **kwargs):
        """Gather-write ``buffers``; result: total bytes written."""
        loop = self._check()
        return self._track(self._ring.writev(fd, buffers, offset, **kwargs), loop)

    def read_fixed(self, fd, buf, offset, buf_index, **kwargs):
        """READ_FIXED into registered buffer ``buf_index`` (``buf`` lies inside it)."""
        loop = self._check()
        return self._track(self._ring.read_fixed(fd, buf, offset, buf_index, **kwargs), loop)

    def write_fixed(self, fd, buf, offset, buf_index, **kwargs):
        """WRITE_FIXED from registered buffer ``buf_index`` (``buf`` lies inside it)."""
        loop = self._check()
        return self._track(self._ring.write_fixed(fd, buf, offset, buf_index, **kwargs), loop)

    def fsync(self, fd, **kwargs):
        """fsync(2) (``datasync=True``: fdatasync); result 0."""
        loop = self._check()
        return self._track(self._ring.fsync(fd, **kwargs), loop)

    def openat(self, path, oflags=os.O_RDONLY, mode=0o666, **kwargs):
        """Open ``path`` (``dir_fd=`` for a relative one); result: the new fd."""
        loop = self._check()
        return self._track(self._ring.openat(path, oflags, mode, **kwargs), loop)

    def close_fd(self, fd, **kwargs):
        """Close the file descriptor ``fd`` (IORING_OP_CLOSE); result 0."""
        loop = self._check()
        return self._track(self._ring.close_fd(fd, **kwargs), loop)

    def statx(self, path, mask=L.STATX_BASIC_STATS, statx_flags=0, **kwargs):
        """statx(2) of ``path``; result: an ``ioring.liburing.statx`` (``stx_size``, ...)."""
        loop = self._check()
        return self._track(self._ring.statx(path, mask, statx_flags, **kwargs), loop)

    def send(self, sock, data, msg_flags=0, **kwargs):
        """send(2) ``data`` on ``sock`` (a socket or an fd); result: bytes sent."""
        loop = self._check()
        return self._track(self._ring.send(sock, data, msg_flags, **kwargs), loop)

    def recv(self, sock, buf_or_size, msg_flags=0, **kwargs):
        """recv(2) into a writable buffer (result: bytes received) or, given an int, into a new
        buffer of that size (result: the bytes received)."""
        loop = self._check()
        return self._track(self._ring.recv(sock, buf_or_size, msg_flags, **kwargs), loop)

    def accept(self, sock, accept_flags=socket.SOCK_CLOEXEC, **kwargs):
        """accept4(2) on the listening ``sock``; result: the new connection's fd
        (close-on-exec unless ``accept_flags`` says otherwise, as Python's sockets)."""
        loop = self._check()
        return self._track(self._ring.accept(sock, accept_flags, **kwargs), loop)

    def connect(self, sock, address, **kwargs):
        """connect(2) ``sock`` to ``address`` (as the socket module takes it); result 0."""
        loop = self._check()
        return self._track(self._ring.connect(sock, address, **kwargs), loop)

    def splice(self, fd_in, off_in, fd_out, off_out, nbytes, splice_flags=0, **kwargs):
        """splice(2) ``nbytes`` from ``fd_in`` to ``fd_out``; result: bytes moved."""
        loop = self._check()
        return self._track(self._ring.splice(fd_in, off_in, fd_out, off_out, nbytes, splice_flags,
                                             **kwargs), loop)

    def timeout(self, seconds, **kwargs):
        """A kernel timer (IORING_OP_TIMEOUT): resolves to 0 after ``seconds``."""
        loop = self._check()
        return self._track(self._ring.timeout(seconds, **kwargs), loop)

    # END ops

    def sendall(self, sock, data, msg_flags=0, **kwargs):
        """Send all of ``data`` on the stream socket ``sock`` (``Ring.sendall``: MSG_WAITALL,
        the rest of a partial send sent again); result: ``len(data)``. A peer that reset the
        connection raises ConnectionResetError / BrokenPipeError."""
        loop = self._check()
        return self._track(self._ring.sendall(sock, data, msg_flags, **kwargs), loop)

    async def accept_socket(self, sock, **kwargs):
        """``conn, address = await ring.accept_socket(listener)``: as ``socket.accept()`` (and
        ``loop.sock_accept``): a ``socket.socket`` of the listener's family and type
        (close-on-exec), and the peer's address (None if the peer is already gone). Its fd
        only: ``await ring.accept(listener)``."""
        conn = _streams._accepted_socket(sock, await self.accept(sock, socket.SOCK_CLOEXEC, **kwargs))
        return conn, _streams._peer_address(conn)

    async def start_server(self, client_connected_cb, host=None, port=None, **kwargs):
        """``server = await ring.start_server(cb, host, port)``, as ``asyncio.start_server``:
        ``cb(reader, writer)`` for every connection, with a StreamReader/StreamWriter over this
        ring (multishot recv into provided buffers, sends batched per loop iteration; see
        ``ioring._asyncio_streams``). Keywords: ``sock``, ``backlog``, ``reuse_port``,
        ``limit``, ``buffers`` (a BufferRing), ``start_serving``."""
        return await _streams.start_server(self, client_connected_cb, host, port, **kwargs)

    async def open_connection(self, host=None, port=None, **kwargs):
        """``reader, writer = await ring.open_connection(host, port)``, as
        ``asyncio.open_connection`` (``sock=`` wraps a connected socket; ``limit``,
        ``buffers``)."""
        return await _streams.open_connection(self, host, port, **kwargs)

    # ---- whole files: one request chain per file ----------------------------------------------

    def read_file(self, path, *, dir_fd=None, flags=0, timeout=None):
        """``data = await ring.read_file(path)``: the file's contents (``bytes``), read by one
        chain of requests in the kernel (openat into a direct descriptor, read, close; see
        ``Ring.read_file``). Returns a Future (not a coroutine: ``asyncio.gather`` over many of
        them makes no Task per file), resolved from the chain's last completion; cancelling it
        cancels the chain's open and read in the kernel (the close still runs). Up to 128
        files are in the kernel at once; the others wait in a queue. ``dir_fd``, ``flags``
        (IOSQE_ASYNC, IOSQE_IO_DRAIN) and ``timeout`` (seconds per request) as Ring.read_file."""
        loop = self._check()
        fut = _FileFuture(loop=loop)
        fut._aring = self
        fut._job = self._ring._file_job(fut, path, None, False, 0, dir_fd, flags, timeout)
        self._schedule_flush()
        return fut

    def write_file(self, path, data, mode=0o644, *, dir_fd=None, flags=0, timeout=None):
        """``n = await ring.write_file(path, data)``: create or truncate ``path`` (a new file
        gets ``mode`` minus the umask), write ``data`` (pinned until the chain ends), close it:
        one chain in the kernel (see ``Ring.write_file``); the result is the number of bytes
        written. A Future, cancelled as read_file's."""
        loop = self._check()
        fut = _FileFuture(loop=loop)
        fut._aring = self
        fut._job = self._ring._file_job(fut, path, data, True, mode, dir_fd, flags, timeout)
        self._schedule_flush()
        return fut

    def read_files(self, paths, *, dir_fd=None, flags=0, timeout=None):
        """``contents = await ring.read_files(paths)``: every file read by its own chain, no
        Future or Task per file: one Future for the whole batch, resolved with the list of
        ``bytes`` (input order) or the OSError of the first failing path (``errors`` lists
        them all; see ``Ring.read_files``). Cancelling it cancels every chain.

        A batch of at least 64 files without ``flags`` or ``timeout`` goes to ioring.files' C
        engine (the same chains on a private ring, no Python per file: ~40% less CPU per file)
        on a thread of the loop's default executor, the GIL released while the kernel works;
        cancelling the Future cancels the chains in flight there too (every file closed)."""
        loop = self._check()
        paths, c_dir_fd, in_c = self._ring._read_files_route(paths, dir_fd, flags, timeout)
        if in_c:
            from ioring import files as _files_mod
            stop = bytearray(1)
            fut = loop.run_in_executor(None, _files_mod._read_files_in_c, paths, c_dir_fd, stop)
            fut.add_done_callback(lambda f: f.cancelled() and stop.__setitem__(0, 1))
            return fut
        fut = _FileFuture(loop=loop)
        fut._aring = self
        fut._job = self._ring._file_batch(fut, paths, False, 0, dir_fd, flags, timeout)
        self._schedule_flush()
        return fut

    def write_files(self, files, mode=0o644, *, dir_fd=None, flags=0, timeout=None):
        """``n = await ring.write_files({path: data, ...})``: every file written by its own
        chain, one Future for the batch, resolved with the bytes written (see
        ``Ring.write_files``)."""
        loop = self._check()
        fut = _FileFuture(loop=loop)
        fut._aring = self
        fut._job = self._ring._file_batch(fut, files, True, mode, dir_fd, flags, timeout)
        self._schedule_flush()
        return fut

    # ---- multishot: async iterators ---------------------------------------------------------

    def accept_multishot(self, sock, accept_flags=socket.SOCK_CLOEXEC, *, as_socket=False,
                         **kwargs):
        """``async for fd in ring.accept_multishot(sock):`` each new connection's fd, from one
        multishot accept (see ``Ring.accept_multishot``); with ``as_socket=True``, ``async for
        conn, address in ...``: a ``socket.socket`` and the peer's address, as
        ``accept_socket``."""
        loop = self._check()
        ms = self._ring.accept_multishot(sock, accept_flags, **kwargs)
        if as_socket:
            return self._stream(ms, loop, _AcceptedSockets, sock)
        return self._stream(ms, loop)

    def recv_multishot(self, sock, buffers=None, msg_flags=0, **kwargs):
        """``async for data in ring.recv_multishot(sock):`` the bytes of each receive, until the
        peer shuts down (see ``Ring.recv_multishot``)."""
        loop = self._check()
        return self._stream(self._ring.recv_multishot(sock, buffers, msg_flags, **kwargs), loop)

    def recvmsg_multishot(self, sock, buffers=None, ancbufsize=0, msg_flags=0, **kwargs):
        """``async for data, ancdata, msg_flags, address in ring.recvmsg_multishot(sock):`` (see
        ``Ring.recvmsg_multishot``)."""
        loop = self._check()
        return self._stream(self._ring.recvmsg_multishot(sock, buffers, ancbufsize, msg_flags,
                                                         **kwargs), loop)

    def read_multishot(self, fd, buffers=None, **kwargs):
        """``async for data in ring.read_multishot(fd):`` of a pollable fd, until end of file
        (see ``Ring.read_multishot``)."""
        loop = self._check()
        return self._stream(self._ring.read_multishot(fd, buffers, **kwargs), loop)

    def poll_multishot(self, fd, poll_mask, **kwargs):
        """``async for events in ring.poll_multishot(fd, select.POLLIN):`` (see
        ``Ring.poll_multishot``)."""
        loop = self._check()
        return self._stream(self._ring.poll_multishot(fd, poll_mask, **kwargs), loop)

    def timeout_multishot(self, seconds, **kwargs):
        """``async for n in ring.timeout_multishot(0.5):`` a periodic kernel timer (``count=``
        expirations, 0: endless; see ``Ring.timeout_multishot``)."""
        loop = self._check()
        return self._stream(self._ring.timeout_multishot(seconds, **kwargs), loop)

    def multishot(self, prep, *args, **kwargs):
        """Any multishot prep of the thin layer, as ``Ring.multishot``."""
        loop = self._check()
        return self._stream(self._ring.multishot(prep, *args, **kwargs), loop)

    def _stream(self, ms, loop, cls=None, *args):
        self._streams.add(ms)
        self._schedule_flush()
        return (cls or AsyncMultishot)(self, ms, *args)

    async def sleep(self, seconds):
        """``await ring.sleep(s)``: like ``asyncio.sleep`` but timed by the kernel's ring."""
        await self.timeout(seconds)

    # ---- closing -------------------------------------------------------------------------------

    async def aclose(self, timeout=5.0):
        """Cancel every request in flight, wait (at most ``timeout`` seconds, without blocking
        the loop) for the kernel to complete them, then close the ring.
        Futures of requests cancelled here fail with OSError(ECANCELED). Idempotent."""
        if self._closing:
            return
        self._closing = True
        self._live_loop = None
        if self._driver is not None:
            self._driver.closing = True
        try:
            for ms in list(self._streams):
                ms.close()
            if not self._ring.closed:
                self._ring._file_cancel_all()
            if self._busy() and self._loop is not None and not self._ring.closed:
                self._idle = self._loop.create_future()
                self._driver.idle_watch = True
                for fut in list(self._pending):
                    op = fut.operation
                    if not op.done():
                        try:
                            op.cancel()
                        except (ValueError, OSError, RuntimeError):
                            break
                self._pump()
                if self._busy():
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
        if self._driver is not None:
            self._driver.closing = True
            self._driver.cancel_flush()
            self._driver.close_streams()
            self._driver.loop = None
        if self._cancel_timer is not None:
            self._cancel_timer.cancel()
            self._cancel_timer = None
        loop, self._loop = self._loop, None
        if loop is not None and not loop.is_closed() and not self._ring.closed:
            loop.remove_reader(self._ring.fd)
        self._reader_paused = False
        try:
            for ms in list(self._streams):
                with contextlib.suppress(OSError, ValueError, RuntimeError):
                    ms.close()          # their iterators end (instead of raising ECANCELED)
            if not self._ring.closed:
                # Completions already posted resolve their futures with the real result.
                with contextlib.suppress(OSError, ValueError):
                    self._ring.wait(0)
        finally:
            # Ring.close() completes what remains with -ECANCELED (OSError for its future).
            self._ring.close()

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


def _wake(fut):
    if not fut.done():
        fut.set_result(None)


class AsyncMultishot:
    """The results of one multishot request as an async iterator: ``async for fd in
    aring.accept_multishot(sock): ...``; made by AsyncRing's ``*_multishot`` methods.

    Results are queued as their completions are reaped (no Future per result); ``__anext__``
    waits only when the queue is empty. The iteration ends as ``ioring.Multishot``'s does (end
    of stream, ``cancel()``, a failure raised as OSError). Breaking out of ``async for``,
    ``close()``, ``await aclose()``, leaving ``async with``, garbage collection or cancelling
    the task that awaits the next result cancel the kernel request; results nobody took are
    discarded (accepted fds are closed). ``.multishot`` is the underlying ``ioring.Multishot``.
    """

    __slots__ = ("multishot", "_aring", "__weakref__")

    def __init__(self, aring, multishot):
        if not isinstance(multishot, Multishot):
            raise TypeError("expected an ioring.Multishot")
        self.multishot = multishot
        self._aring = aring

    def __aiter__(self):
        return self

    async def __anext__(self):
        ms = self.multishot
        result = ms._take()
        while result is _EMPTY:
            aring = self._aring
            loop = aring._check()
            aring._schedule_flush()         # a re-armed request is queued: submit it
            fut = ms._wait(loop)
            try:
                await fut
            except BaseException:
                ms.close()                  # the task was cancelled: so is the request
                aring._schedule_flush()
                raise
            finally:
                ms._set_waker(None)
            result = ms._take()
        if result is _END:
            raise StopAsyncIteration
        return result

    def cancel(self):
        """Ask the kernel to stop; results already received are still yielded, then the
        iteration ends. Returns False if it had already ended."""
        done = self.multishot.cancel()
        self._aring._schedule_flush()
        return done

    def close(self):
        """Cancel the kernel request and discard what nobody took (fds closed). Idempotent."""
        self.multishot.close()
        self._aring._schedule_flush()

    async def aclose(self):
        self.close()

    @property
    def armed(self):
        return self.multishot.armed

    @property
    def pending(self):
        return self.multishot.pending

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        self.close()
        return False

    def __repr__(self):
        return f"<AsyncMultishot {self.multishot!r}>"


class _AcceptedSockets(AsyncMultishot):
    """``accept_multishot(sock, as_socket=True)``: each accepted fd as a ``(socket.socket,
    address)`` pair, made when it is taken (so fds nobody took are closed by the Multishot)."""

    __slots__ = ("_listener",)

    def __init__(self, aring, multishot, listener):
        AsyncMultishot.__init__(self, aring, multishot)
        self._listener = listener

    async def __anext__(self):
        conn = _streams._accepted_socket(self._listener, await AsyncMultishot.__anext__(self))
        return conn, _streams._peer_address(conn)


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
