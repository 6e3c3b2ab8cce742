"""asyncio-streams-like TCP (and Unix) connections over an AsyncRing: ``StreamReader`` /
``StreamWriter`` with the methods of asyncio's, ``start_server`` and ``open_connection``.

An echo server::

    async def echo(reader, writer):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.close()
        await writer.wait_closed()

    async with AsyncRing() as ring:
        server = await ring.start_server(echo, "127.0.0.1", 8888)
        async with server:
            await server.serve_forever()

How the bytes move (no syscall per message, no Future per write):

- **Receiving.** While the peer is idle (a request, its reply), from the reader's first read:
  the event loop watches the socket (``loop.add_reader``) and each readable event takes one
  non-blocking ``recv(2)`` (in C, ``_Stream._on_readable``), queued in the connection's reader,
  as asyncio's transports do: a multishot recv is woken by io_uring's task work, which
  interrupts the loop's ``epoll_wait`` (EINTR, then a second one), so for one connection
  waiting on an answering peer readiness costs less (bench/RESULTS.md, session 18). When
  several connections' sockets are readable in one ``epoll_wait`` (ten clients), their
  readers take one multishot recv each (``Ring.recv_multishot``) into the ring's provided
  buffers (``BufferRing``) from then on: the kernel receives as data arrives, one reap queues
  every connection's bytes, the buffers go straight back to the kernel, a message costs no
  SQE, and the replies leave in one ``io_uring_enter``. ``read()`` takes from the queue and
  waits (one Future) only when it is empty.
  While the peer streams (a read finds the bytes of several receives of the multishot recv,
  or, under readiness, the socket is readable at once after the reader began to wait, twice
  in a row), a multishot recv would run in the thread's task work at every system call once
  data is there (2-3 receives per read cycle, each a ``tcp_recvmsg`` that may make TCP send
  the peer an ACK), and readiness would cost an ``epoll_wait`` and a ``recv(2)`` per read:
  the reader then cancels the one or unwatches the other and takes **single-shot
  receives**, one per ``read()`` that finds nothing queued, into a 64 KiB buffer of the
  connection's (dropped when it goes back to the idle mode), submitted with the loop iteration's sends in one
  ``io_uring_enter`` (where it completes at once: the data is there), as asyncio's
  transport makes one ``recv(2)`` per iteration; nothing is received
  while the reader does not read (TCP flow control holds the peer back). A single-shot
  recv that has to wait for data (the peer paused) brings the idle mode back (readiness or
  the multishot recv). When what ``read(n)`` finds fills less than half of ``n`` while the peer streams, it waits one
  loop iteration for more (``StreamReader._more``): a server's reply to a burst of
  pipelined messages is then one send instead of several (each segment costs the peer a
  receive, an ACK and a wake-up). Measured together, 64-byte pipelined messages echoed:
  1.10x the multishot-only reader (bench/RESULTS.md, session 17). A multishot recv whose
  reader falls behind by more than the BufferRing's capacity is paused (TCP flow control
  holds the peer back) until the reader catches up.
- **Sending.** ``write()`` with nothing in flight sends at once, with a non-blocking
  ``send(2)`` as asyncio's transports do, when that saves the loop iteration's
  ``io_uring_enter`` (a ping-pong: the loop's last wake-up reaped one message; see
  ``_AsyncDriver.inline_ok``); what the socket does not take then goes by io_uring. Otherwise
  it queues a send (MSG_WAITALL) when none is in the kernel, else joins the data to the next
  one (``_SendQueue``): at most one send per connection per reap, all of them submitted by the
  AsyncRing's one ``io_uring_enter`` of the loop iteration, their completions handled in C. ``drain()`` waits only while more than the high-water mark (64 KiB,
  as asyncio) is not yet sent.
- **Closing.** ``close()`` cancels the receive, lets what was written go out, then closes the
  socket (once nothing in the kernel refers to its fd); ``wait_closed()`` waits for that.
"""
import asyncio
import functools
import os
import socket

from ioring._ring import _EMPTY, _END

__all__ = ["Server", "StreamReader", "StreamWriter", "open_connection", "start_server"]

_next_iteration = asyncio.sleep      # sleep(0): the task resumes in the next loop iteration
_DEFAULT_LIMIT = 2 ** 16            # asyncio's: readline()/readuntil() line length limit
_HIGH_WATER = 2 ** 16               # drain() waits while more than this is not yet sent


def _wake(fut):
    if not fut.done():
        fut.set_result(None)


class StreamReader:
    """The receiving side of a connection, with the methods of ``asyncio.StreamReader``:
    ``read(n)``, ``readexactly(n)``, ``readline()``, ``readuntil(sep)``, ``at_eof()``, and
    ``async for line in reader``. Data comes from one multishot recv (see the module doc)."""

    def __init__(self, aring, multishot, limit=_DEFAULT_LIMIT):
        self._aring = aring
        self._driver = aring._driver
        self._ms = multishot            # ioring.Multishot of the connection's recv
        self._limit = limit
        self._buffer = bytearray()      # received bytes not yet returned (partial reads)
        self._eof = False
        self._exception = None

    def __repr__(self):
        state = ["eof"] if self._eof else []
        if self._buffer:
            state.append(f"{len(self._buffer)} bytes")
        if self._exception is not None:
            state.append(f"exception={self._exception!r}")
        return f"<StreamReader {' '.join(state)}>"

    def exception(self):
        return self._exception

    def at_eof(self):
        """True once the peer shut down and every byte received was read."""
        return self._eof and not self._buffer

    async def _chunk(self, n=_DEFAULT_LIMIT):
        """The next bytes received, every queued receive that fits in ``n`` bytes joined
        (b"" at end of stream); raises the connection's error."""
        if self._exception is not None:
            raise self._exception
        if self._eof:
            return b""
        ms = self._ms
        try:
            data = ms._read(self._driver, n)
            while data.__class__ is not bytes:
                await data                  # a Future a reap resolves once data is there
                data = ms._read(self._driver, n)
        except OSError as exc:
            self._exception = exc
            raise
        if not data:
            self._eof = True
        return data

    async def read(self, n=-1):
        """Up to ``n`` bytes, as soon as some are there (b"" at end of stream); ``n`` = -1:
        everything until end of stream."""
        buf = self._buffer
        if n > 0 and not buf and not self._eof and self._exception is None:
            # The common case, in one C call (and a Future only when nothing is queued).
            ms = self._ms
            try:
                data = ms._read(self._driver, n)
                while data.__class__ is not bytes:
                    await data
                    data = ms._read(self._driver, n)
            except OSError as exc:
                self._exception = exc
                raise
            if not data:
                self._eof = True
            elif len(data) > n:
                buf += memoryview(data)[n:]
                return data[:n]
            elif len(data) < n >> 1 and (ms._parts > 1 or ms._single):
                return await self._more(data, n)
            return data
        if n == 0:
            return b""
        if n < 0:
            parts = [bytes(buf)]
            buf.clear()
            while True:
                data = await self._chunk(1 << 20)
                if not data:
                    return b"".join(parts)
                parts.append(data)
        if buf:
            data = bytes(buf[:n])
            del buf[:n]
            return data
        data = await self._chunk(n)
        if len(data) > n:
            buf += memoryview(data)[n:]
            return data[:n]
        return data

    async def _more(self, data, n):
        """``data`` (fewer than n/2 bytes) came while the peer streams (from several receives
        of the multishot recv, or from a single-shot one: see the module doc). Wait one loop
        iteration and add what came meanwhile, up to ``n`` bytes (in single-shot mode a recv
        submitted then takes it): the reply to a batch of pipelined messages is then one send
        instead of several, which costs the peer as much as this side (each segment is
        received, acknowledged and woken for). A read of an idle peer (a request, its
        reply) never waits."""
        try:
            await _next_iteration(0)
        except BaseException:
            self._buffer[0:0] = data    # cancelled: the bytes stay for the next read
            raise
        try:
            more = self._ms._read(self._driver, n - len(data), False)
        except OSError as exc:
            self._exception = exc       # raised by the next read
            return data
        if more is None:
            return data
        if not more:
            self._eof = True
            return data
        return data + more

    async def readexactly(self, n):
        """Exactly ``n`` bytes; asyncio.IncompleteReadError (with the partial bytes) if the
        stream ends first."""
        if n < 0:
            raise ValueError("readexactly size can not be less than zero")
        buf = self._buffer
        if not buf:
            data = await self._chunk(n)
            if len(data) == n:
                return data
            buf += data
            if not data:
                raise asyncio.IncompleteReadError(b"", n)
        while len(buf) < n:
            data = await self._chunk(n - len(buf))
            if not data:
                partial = bytes(buf)
                buf.clear()
                raise asyncio.IncompleteReadError(partial, n)
            buf += data
        data = bytes(buf[:n])
        del buf[:n]
        return data

    async def readuntil(self, separator=b"\n"):
        """The bytes up to and including ``separator``. asyncio.IncompleteReadError if the
        stream ends first, asyncio.LimitOverrunError if more than ``limit`` bytes come without
        it (they stay in the buffer)."""
        if not separator:
            raise ValueError("Separator should be at least one-byte string")
        buf = self._buffer
        seplen = len(separator)
        start = 0
        while True:
            i = buf.find(separator, start)
            if i >= 0:
                end = i + seplen
                if end > self._limit:
                    raise asyncio.LimitOverrunError(
                        "Separator is found, but chunk is longer than limit", i)
                data = bytes(buf[:end])
                del buf[:end]
                return data
            start = max(0, len(buf) + 1 - seplen)
            if start > self._limit:
                raise asyncio.LimitOverrunError(
                    "Separator is not found, and chunk exceed the limit", start)
            data = await self._chunk()
            if not data:
                partial = bytes(buf)
                buf.clear()
                raise asyncio.IncompleteReadError(partial, None)
            buf += data

    async def readline(self):
        """A line ending in b"\\n" (or what is left at end of stream); ValueError for a line
        longer than ``limit``, as asyncio."""
        try:
            return await self.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            return exc.partial
        except asyncio.LimitOverrunError as exc:
            if self._buffer.startswith(b"\n", exc.consumed):
                del self._buffer[:exc.consumed + 1]
            else:
                self._buffer.clear()
            raise ValueError(exc.args[0])

    def __aiter__(self):
        return self

    async def __anext__(self):
        line = await self.readline()
        if line == b"":
            raise StopAsyncIteration
        return line


class StreamWriter:
    """The sending side of a connection, with the methods of ``asyncio.StreamWriter``:
    ``write``, ``writelines``, ``drain``, ``write_eof``, ``close``, ``wait_closed``,
    ``is_closing``, ``get_extra_info``. ``write()`` never blocks and never waits: see the
    module doc. A write after the connection failed raises its error (ConnectionResetError,
    BrokenPipeError), as ``drain()`` does."""

    def __init__(self, aring, sock, reader):
        self._aring = aring
        self._loop = aring.loop         # kept: close() works after the AsyncRing is closed
        self._sock = sock
        self._reader = reader
        self._queue = q = aring.ring._send_queue(sock, aring._driver, _HIGH_WATER)
        # The hot methods are the send queue's, in C (no Python frame per call): write()
        # queues or joins, schedules the flush, and raises ValueError once closed or the
        # connection's error; drain() returns a done Future, or one the reap resolves.
        self.write = q.write
        self.drain = q.drain
        self._closing = False
        self._eof_pending = False
        self._closed = None             # Future: set when the socket is closed

    def __repr__(self):
        return f"<StreamWriter fd={self._queue.fd} {self._queue!r}{' closing' if self._closing else ''}>"

    @property
    def transport(self):
        return None

    def get_extra_info(self, name, default=None):
        """'socket', 'peername', 'sockname' (as asyncio's transports)."""
        sock = self._sock
        if name == "socket":
            return sock
        try:
            if name == "peername":
                return sock.getpeername()
            if name == "sockname":
                return sock.getsockname()
        except OSError:
            return default
        return default

    def _error(self):
        err = self._queue.error
        return OSError(err, f"{os.strerror(err)} [send(fd={self._queue.fd})]")

    def write(self, data):
        """Queue ``data`` for sending (a copy is kept unless it is ``bytes``); raises the
        connection's error (ConnectionResetError, BrokenPipeError) once it failed, ValueError
        once closed. (Replaced per instance by the send queue's C method.)"""
        self._queue.write(data)

    def writelines(self, data):
        self.write(b"".join(data))

    def can_write_eof(self):
        return True

    def write_eof(self):
        """Shut the sending side down (SHUT_WR) once what was written is sent."""
        if self._queue.idle:
            self._shutdown()
        else:
            self._eof_pending = True
            self._watch()

    def _shutdown(self):
        self._eof_pending = False
        try:
            self._sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def drain(self):
        """``await writer.drain()``: wait until what is not yet sent is at most the high-water
        mark (64 KiB); raises the connection's error, if it failed. (Replaced per instance by
        the send queue's C method: it returns a done Future when there is nothing to wait
        for.)"""
        return self._queue.drain()

    def is_closing(self):
        return self._closing

    def close(self):
        """Close the connection: the receive is cancelled, what was written still goes out,
        then the socket is closed (``wait_closed()`` waits for that)."""
        if self._closing:
            return
        self._closing = True
        self._closed = self._loop.create_future()
        self._queue.close()
        self._reader._ms.close()
        self._aring._schedule_flush()
        self._maybe_closed()

    def _watch(self):
        """Be called back after the next reap that changes the send queue."""
        q = self._queue
        if q.waker is None:
            q.waker = self._on_queue_change

    def _on_queue_change(self):
        if self._eof_pending and (self._queue.idle or self._queue.error):
            self._shutdown()
        if self._closing:
            self._maybe_closed()
        elif self._eof_pending:
            self._watch()

    def _maybe_closed(self):
        """Close the socket once nothing in the kernel (nor in the SQ) names its fd: the send
        queue idle (or failed) and the recv request ended."""
        if self._closed is None or self._closed.done():
            return
        q = self._queue
        if not (q.idle or q.error):
            self._watch()
            return
        if self._reader._ms.armed and not self._aring.closed:
            self._loop.call_soon(self._maybe_closed)            # its cancel is on its way
            return
        self._aring.ring._drop_send_queue(q)
        self._sock.close()
        self._closed.set_result(None)

    async def wait_closed(self):
        if self._closed is not None:
            await asyncio.shield(self._closed)


def _accepted_socket(listener, fd):
    """A ``socket.socket`` over the accepted connection ``fd``: of the listener's family, type
    and protocol when ``listener`` is a socket object (else the kernel is asked); ``fd`` is
    closed if that fails."""
    try:
        if isinstance(listener, socket.socket):
            return socket.socket(listener.family, listener.type, listener.proto, fileno=fd)
        return socket.socket(fileno=fd)
    except BaseException:
        os.close(fd)
        raise


def _peer_address(conn):
    try:
        return conn.getpeername()
    except OSError:
        return None         # the peer is gone already: reads report it


def _close_when_done(op, sock):
    """Close ``sock`` once the request ``op`` (an ioring.Operation on its fd) has completed
    (at once if it has)."""
    op.add_done_callback(lambda _: sock.close())


def _connection(aring, sock, limit, buffers):
    """The (reader, writer) pair of the connected stream socket ``sock``."""
    if sock.type == socket.SOCK_STREAM and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)      # as asyncio does
    reader = StreamReader(aring, aring.ring._stream_recv(sock, buffers, aring._driver), limit)
    return reader, StreamWriter(aring, sock, reader)


class Server:
    """What ``start_server`` returns, as ``asyncio.Server``: ``sockets``, ``close()``,
    ``wait_closed()``, ``serve_forever()``, ``is_serving()``, ``async with``. One multishot
    accept per listening socket; each connection's callback runs in a Task of its own."""

    def __init__(self, aring, sockets, client_connected_cb, limit, buffers):
        self._aring = aring
        self._sockets = sockets
        self._cb = client_connected_cb
        self._limit = limit
        self._buffers = buffers
        self._accepts = []              # the accept loops' Tasks
        self._handlers = set()          # the callbacks' Tasks
        self._serving = False
        self._closed = False
        self._serve_forever = None

    @property
    def sockets(self):
        return tuple(self._sockets)

    def is_serving(self):
        return self._serving

    async def start_serving(self):
        if self._serving or self._closed:
            return
        self._serving = True
        loop = self._aring._check()
        for sock in self._sockets:
            self._accepts.append(loop.create_task(self._accept_loop(sock)))

    async def _accept_loop(self, listener):
        loop = asyncio.get_running_loop()
        async for fd in self._aring.accept_multishot(listener):
            try:
                sock = _accepted_socket(listener, fd)
            except OSError:
                continue
            reader, writer = _connection(self._aring, sock, self._limit, self._buffers)
            result = self._cb(reader, writer)
            if asyncio.iscoroutine(result):
                task = loop.create_task(result)
                self._handlers.add(task)
                task.add_done_callback(functools.partial(self._handler_done, writer))

    def _handler_done(self, writer, task):
        """As asyncio (3.12): a callback that failed is reported to the loop's exception
        handler at once (not when its Task is garbage), and its connection closed, as is the
        connection of a cancelled one."""
        self._handlers.discard(task)
        if task.cancelled():
            writer.close()
            return
        exc = task.exception()
        if exc is not None:
            task.get_loop().call_exception_handler({
                "message": "Unhandled exception in client_connected_cb",
                "exception": exc,
                "writer": writer,
            })
            writer.close()

    def close(self):
        """Stop accepting (the listening sockets are closed); connections go on."""
        if self._closed:
            return
        self._closed = True
        self._serving = False
        for task in self._accepts:
            task.cancel()
        if self._serve_forever is not None and not self._serve_forever.done():
            self._serve_forever.cancel()

    async def wait_closed(self):
        """Wait until the accept requests are cancelled and the listening sockets closed."""
        if self._accepts:
            await asyncio.gather(*self._accepts, return_exceptions=True)
        for sock in self._sockets:
            sock.close()

    async def serve_forever(self):
        if self._serve_forever is not None:
            raise RuntimeError("serve_forever() is already running")
        if self._closed:
            raise RuntimeError("the server is closed")
        await self.start_serving()
        self._serve_forever = asyncio.get_running_loop().create_future()
        try:
            await self._serve_forever
        except asyncio.CancelledError:
            try:
                self.close()
                await self.wait_closed()
            finally:
                raise
        finally:
            self._serve_forever = None

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        self.close()
        await self.wait_closed()


async def start_server(aring, client_connected_cb, host=None, port=None, *, sock=None,
                       backlog=100, reuse_port=False, limit=_DEFAULT_LIMIT, buffers=None,
                       start_serving=True):
    """``server = await ring.start_server(cb, host, port)``: listen on ``(host, port)`` (or on
    the listening socket ``sock``) and call ``cb(reader, writer)`` for every connection (a
    coroutine function runs in a Task of its own), as ``asyncio.start_server``. ``buffers``:
    the BufferRing the connections receive into (None: the ring's default one)."""
    if sock is not None:
        if host is not None or port is not None:
            raise ValueError("host/port and sock can not be specified at the same time")
        sockets = [sock]
    else:
        address = (host or "", port or 0)
        family = socket.AF_INET6 if host and ":" in host else socket.AF_INET
        sockets = [socket.create_server(address, family=family, backlog=backlog,
                                        reuse_port=reuse_port)]
    server = Server(aring, sockets, client_connected_cb, limit, buffers)
    if start_serving:
        await server.start_serving()
    return server


async def open_connection(aring, host=None, port=None, *, sock=None, limit=_DEFAULT_LIMIT,
                          buffers=None):
    """``reader, writer = await ring.open_connection(host, port)``: connect (IORING_OP_CONNECT)
    and return the stream pair, as ``asyncio.open_connection``; or wrap the connected socket
    ``sock``."""
    if sock is None:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        if not infos:
            raise OSError(f"getaddrinfo({host!r}, {port!r}) returned nothing")
        error = None
        for family, type_, proto, _, address in infos:
            candidate = socket.socket(family, type_, proto)
            try:
                connecting = aring.connect(candidate, address)
            except BaseException:
                candidate.close()
                raise
            try:
                await connecting
            except OSError as exc:
                candidate.close()
                error = exc
                continue
            except BaseException:
                # Cancelled: the socket is closed once the kernel is done with the connect
                # (closed now, its fd number could be reused before the request reaches
                # the kernel).
                _close_when_done(connecting.operation, candidate)
                raise
            sock = candidate
            break
        if sock is None:
            raise error
    return _connection(aring, sock, limit, buffers)
