"""How a StreamReader receives (ioring.asyncio streams): while the peer is idle, readiness in
the event loop and recv(2) (one connection) or the multishot recv (after several sockets were
readable at once); single-shot receives while it streams (one per read, nothing received while
the reader does not read), and back; end of stream, a reset, a cancelled read and close() in
every mode, no request, buffer, watched fd or fd left behind."""
import asyncio
import contextlib
import errno
import socket

import pytest

from ioring import _ring
from ioring.asyncio import AsyncRing

from helpers import open_fds, reset_socket, until


async def _streaming(reader, peer):
    """Make ``reader`` see a streaming peer: two receives queued before a read (the multishot
    recv's), which switches it to single-shot receives; returns once the multishot request
    has ended (its cancel reaped)."""
    ms = reader._ms
    if ms._ready:
        ms._idle_multishot()        # the mode several readable sockets at once switch to
    assert not ms._single and ms.armed
    peer.send(b"ab")
    await until(lambda: ms.pending == 1)
    peer.send(b"cd")
    await until(lambda: ms.pending == 2)
    assert await reader.read(4) == b"abcd"      # n: nothing to wait for (see _more)
    assert ms._single
    await until(lambda: not ms.armed)


async def _tcp_pair(ring):
    srv = socket.create_server(("127.0.0.1", 0))
    reader, writer = await ring.open_connection(*srv.getsockname())
    peer, _ = srv.accept()
    srv.close()
    return reader, writer, peer


def test_streaming_peer_one_receive_per_read_then_multishot_again(arun):
    """Single-shot mode: while the reader does not read, nothing is received (the kernel keeps
    the bytes: ms.pending stays 0, no request armed); a read takes all that came in one
    receive. A read that has to wait for data (the peer paused) brings the multishot recv
    back: armed again once that read returns, so the next message is received without an
    SQE."""
    async def main():
        async with AsyncRing() as ring:
            a, b = socket.socketpair()
            reader, writer = await ring.open_connection(sock=a)
            ms = reader._ms
            await _streaming(reader, b)
            for chunk in (b"1", b"22", b"333"):
                b.send(chunk)
            await asyncio.sleep(0.02)
            assert ms.pending == 0 and not ms.armed     # nothing received meanwhile
            assert await reader.read(6) == b"122333"     # one receive, at once
            assert ms._single and not ms.armed
            b.send(b"x" * 70000)                        # more than one receive's buffer
            got = b""
            while len(got) < 70000:
                got += await reader.read(1 << 20)
            assert got == b"x" * 70000 and ms._single

            task = asyncio.ensure_future(reader.read(100))
            await asyncio.sleep(0.02)
            assert not task.done() and ms.armed         # a single-shot recv waits
            b.send(b"late")
            assert await task == b"late"
            assert not ms._single and ms.armed          # the multishot again, armed
            b.send(b"next")
            await until(lambda: ms.pending == 1)       # received before any read
            assert await reader.read(100) == b"next"

            writer.close()
            await writer.wait_closed()
            b.close()
            await until(lambda: ring.in_flight == 0)
    arun(main())


def test_end_of_stream_and_reset_while_single_shot(arun):
    """The peer shuts down (bytes then FIN) or resets while the reader is in single-shot mode:
    the bytes, then b"" / ConnectionResetError, as in multishot mode."""
    async def main():
        async with AsyncRing() as ring:
            a, b = socket.socketpair()
            reader, writer = await ring.open_connection(sock=a)
            await _streaming(reader, b)
            b.send(b"last words")
            b.shutdown(socket.SHUT_WR)
            assert await reader.read(100) == b"last words"
            assert await reader.read(100) == b""
            assert reader.at_eof()
            writer.close()
            await writer.wait_closed()
            b.close()

            reader, writer, peer = await _tcp_pair(ring)
            await _streaming(reader, peer)
            task = asyncio.ensure_future(reader.read(100))      # a recv armed, waiting
            await asyncio.sleep(0.01)
            reset_socket(peer)
            with pytest.raises(ConnectionResetError):
                await task
            with pytest.raises(ConnectionResetError):
                await reader.read(100)
            writer.close()
            await writer.wait_closed()

            reader, writer, peer = await _tcp_pair(ring)
            await _streaming(reader, peer)
            reset_socket(peer)                                        # no recv armed then
            with pytest.raises(ConnectionResetError):
                await reader.read(100)
            writer.close()
            await writer.wait_closed()
            await until(lambda: ring.in_flight == 0)
    arun(main())


def test_cancelled_read_and_close_while_single_shot(arun):
    """A read cancelled while its single-shot recv waits: the bytes that recv takes go to the
    next read, none lost. close() while one waits: the recv is cancelled, the socket closed
    once it ended; no request and no fd left."""
    async def main():
        fds = open_fds()
        async with AsyncRing() as ring:
            a, b = socket.socketpair()
            reader, writer = await ring.open_connection(sock=a)
            ms = reader._ms
            await _streaming(reader, b)
            task = asyncio.ensure_future(reader.read(100))
            await asyncio.sleep(0.01)
            assert ms.armed
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            b.send(b"kept")
            await until(lambda: ms.pending == 1)       # the recv took it
            assert await reader.read(100) == b"kept"

            # back in single-shot mode, close() while a recv waits
            b.send(b"ef")
            await until(lambda: ms.pending == 1)
            b.send(b"gh")
            await until(lambda: ms.pending == 2)
            assert await reader.read(4) == b"efgh"
            await until(lambda: not ms.armed)
            task = asyncio.ensure_future(reader.read(100))
            await asyncio.sleep(0.01)
            assert ms.armed
            writer.close()
            await writer.wait_closed()
            assert await task == b""                    # the read sees the end
            assert a.fileno() == -1
            b.close()
            await until(lambda: ring.in_flight == 0)
        assert open_fds() == fds
    arun(main())


@contextlib.contextmanager
def _at_once(seconds):
    old = _ring._set_at_once(seconds)
    try:
        yield
    finally:
        _ring._set_at_once(old)


@pytest.mark.parametrize("idle", ["ready", "multishot"])
def test_echo_of_pipelined_messages_is_exact(arun, idle):
    """An echo server under a client that streams (every message its own send, many in
    flight): every byte comes back, in order, whatever the receive mode; the connection ends
    cleanly. From either idle mode the streaming peer is detected (readiness: two readable
    events at once, made certain here by a long "at once")."""
    modes = set()

    async def echo(reader, writer):
        if idle == "multishot":
            reader._ms._idle_multishot()
        while data := await reader.read(65536):
            modes.add(reader._ms._single)
            writer.write(data)
            await writer.drain()
        writer.close()
        await writer.wait_closed()

    async def main():
        async with AsyncRing() as ring:
            server = await ring.start_server(echo, "127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]
            loop = asyncio.get_running_loop()
            messages = [i.to_bytes(4, "little") * 16 for i in range(20000)]
            expected = b"".join(messages)

            def client():
                with socket.create_connection(("127.0.0.1", port)) as c:
                    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    got = bytearray()
                    for i, m in enumerate(messages):
                        c.sendall(m)
                        if i % 64 == 63:
                            while len(got) < (i - 32) * 64:
                                got += c.recv(1 << 16)
                    c.shutdown(socket.SHUT_WR)
                    while chunk := c.recv(1 << 16):
                        got += chunk
                    return bytes(got)
            with _at_once(1.0 if idle == "ready" else 0.0):
                assert await loop.run_in_executor(None, client) == expected
            assert True in modes                        # single-shot receives were used
            server.close()
            await server.wait_closed()
            await until(lambda: ring.in_flight == 0)
    arun(main())


# ---- readiness: one connection's idle receives (loop.add_reader + recv(2)) ----------------------

def _watched_by_loop(loop, fd):
    """Whether the loop's selector watches ``fd`` for reading (asyncio's loop; uvloop keeps no
    map to look at: None)."""
    selector = getattr(loop, "_selector", None)
    if selector is None:
        return None
    key = selector.get_map().get(fd)
    return key is not None and key.data[0] is not None


def test_idle_peer_is_received_by_readiness_without_a_request(arun):
    """A request, its reply, again: the reader's socket is watched by the loop (from its first
    read on) and each message taken with recv(2); no io_uring request is ever armed for it,
    and an inline send(2) answers. Data the peer sends while nobody reads is received once
    (the loop still watches) and returned whole."""
    async def main():
        loop = asyncio.get_running_loop()
        async with AsyncRing() as ring:
            a, b = socket.socketpair()
            reader, writer = await ring.open_connection(sock=a)
            ms = reader._ms
            assert ms._ready and not ms._watched and not ms.armed   # nothing before a read
            with _at_once(0.0):         # (a fast machine could see this peer as streaming)
                await _ping_pong(ring, reader, writer, a, b, loop)
            assert ms._ready and not ms._single and ring.in_flight == 0
            b.send(b"while ")
            await asyncio.sleep(0.01)
            b.send(b"busy")
            await until(lambda: ms.pending == 2)       # two readable events, two receives
            assert await reader.read(100) == b"while busy"
            fd = a.fileno()
            writer.close()
            await writer.wait_closed()
            assert _watched_by_loop(loop, fd) in (False, None)
            b.close()
    arun(main())


def test_end_of_stream_and_reset_while_ready(arun):
    """The peer shuts down or resets while the reader waits by readiness, or before it reads:
    the bytes, then b"" / ConnectionResetError (again at the next read); the loop stops
    watching the socket; no fd left."""
    async def main():
        fds = open_fds()
        loop = asyncio.get_running_loop()
        async with AsyncRing() as ring:
            a, b = socket.socketpair()
            reader, writer = await ring.open_connection(sock=a)
            task = asyncio.ensure_future(reader.read(100))
            await asyncio.sleep(0)
            assert reader._ms._watched
            b.send(b"last words")
            b.shutdown(socket.SHUT_WR)
            assert await task == b"last words"
            assert await reader.read(100) == b""
            assert reader.at_eof() and not reader._ms._watched
            assert _watched_by_loop(loop, a.fileno()) in (False, None)
            writer.close()
            await writer.wait_closed()
            b.close()

            for waiting in (True, False):
                reader, writer, peer = await _tcp_pair(ring)
                assert await asyncio.wait_for(_ping(reader, peer), 5) == b"ping"
                task = asyncio.ensure_future(reader.read(100))
                await asyncio.sleep(0)
                if not waiting:
                    task.cancel()
                    with pytest.raises(asyncio.CancelledError):
                        await task
                reset_socket(peer)
                if waiting:
                    with pytest.raises(ConnectionResetError):
                        await task
                else:
                    await asyncio.sleep(0.01)           # the loop sees the reset meanwhile
                with pytest.raises(ConnectionResetError):
                    await reader.read(100)
                assert not reader._ms._watched
                writer.close()
                await writer.wait_closed()
            assert ring.in_flight == 0
        assert open_fds() == fds
    arun(main())


async def _ping_pong(ring, reader, writer, a, b, loop):
    ms = reader._ms
    for i in range(50):
        message = b"%d" % i * 7
        task = asyncio.ensure_future(reader.read(100))
        await asyncio.sleep(0)
        assert ms._watched and not ms.armed
        assert _watched_by_loop(loop, a.fileno()) in (True, None)
        b.send(message)
        assert await task == message
        writer.write(message[::-1])
        assert b.recv(100, socket.MSG_DONTWAIT) == message[::-1]   # sent inline


async def _recv(sock, n):
    """What ``sock`` (blocking) has received, up to n bytes, without blocking the loop."""
    while True:
        try:
            return sock.recv(n, socket.MSG_DONTWAIT)
        except BlockingIOError:
            await asyncio.sleep(0.001)


async def _ping(reader, peer):
    peer.send(b"ping")
    return await reader.read(100)


def test_cancelled_read_close_and_ring_close_while_ready(arun):
    """A read cancelled while it waits by readiness: what comes next goes to the next read.
    close() while a read waits: the loop stops watching, the read sees the end, the socket is
    closed. The AsyncRing closed while a read waits: the read fails with ECANCELED, nothing is
    watched any more, no fd left."""
    async def main():
        fds = open_fds()
        loop = asyncio.get_running_loop()
        async with AsyncRing() as ring:
            a, b = socket.socketpair()
            reader, writer = await ring.open_connection(sock=a)
            ms = reader._ms
            task = asyncio.ensure_future(reader.read(100))
            await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            b.send(b"kept")
            await until(lambda: ms.pending == 1)       # still watched: received
            assert await reader.read(100) == b"kept"

            task = asyncio.ensure_future(reader.read(100))
            await asyncio.sleep(0)
            assert ms._watched
            writer.close()
            await writer.wait_closed()
            assert await task == b""
            assert a.fileno() == -1 and not ms._watched
            b.close()

        ring = AsyncRing()
        a, b = socket.socketpair()
        reader, writer = await ring.open_connection(sock=a)
        task = asyncio.ensure_future(reader.read(100))
        await asyncio.sleep(0)
        assert reader._ms._watched
        fd = a.fileno()
        await ring.aclose()
        with pytest.raises(OSError) as info:
            await asyncio.wait_for(task, 5)
        assert info.value.errno == errno.ECANCELED
        assert not reader._ms._watched
        assert _watched_by_loop(loop, fd) in (False, None)
        a.close()
        b.close()
        assert open_fds() == fds
    arun(main())


def test_sockets_readable_together_take_the_multishot_recv(arun):
    """Several connections whose messages arrive together (readable in one epoll_wait): their
    replies go out together, and their readers leave readiness for the multishot recv (one
    reap for all of them from then on); every byte still arrives, in order."""
    async def main():
        async with AsyncRing() as ring:
            pairs = [socket.socketpair() for _ in range(4)]
            streams = [await ring.open_connection(sock=a) for a, _ in pairs]
            for round_ in range(20):
                tasks = [asyncio.ensure_future(reader.read(100)) for reader, _ in streams]
                await asyncio.sleep(0)                  # every read waits
                for i, (_, b) in enumerate(pairs):
                    b.send(b"%d:%d" % (round_, i))      # all readable before the loop polls
                got = await asyncio.gather(*tasks)
                assert got == [b"%d:%d" % (round_, i) for i in range(4)]
                for (_, writer), data in zip(streams, got):
                    writer.write(data)
                for (_, b), data in zip(pairs, got):
                    assert await asyncio.wait_for(_recv(b, 100), 5) == data
            assert not any(reader._ms._ready or reader._ms._watched for reader, _ in streams)
            for reader, writer in streams:
                writer.close()
                await writer.wait_closed()
            for a, b in pairs:
                b.close()
            await until(lambda: ring.in_flight == 0)
    arun(main())


def test_streaming_peer_from_readiness_then_readiness_again(arun):
    """Readable at once after the reader began to wait, twice in a row (a long "at once" here
    makes it certain): single-shot receives (nothing received while the reader does not
    read); a single-shot recv that waits brings readiness back, not the multishot recv."""
    async def main():
        async with AsyncRing() as ring:
            a, b = socket.socketpair()
            reader, writer = await ring.open_connection(sock=a)
            ms = reader._ms
            with _at_once(1.0):
                for chunk in (b"one", b"two"):
                    task = asyncio.ensure_future(reader.read(3))    # n: no wait for more
                    await asyncio.sleep(0)
                    b.send(chunk)
                    assert await task == chunk
            assert ms._single and not ms._watched
            b.send(b"333")
            await asyncio.sleep(0.02)
            assert ms.pending == 0                      # nothing received while nobody reads
            assert await reader.read(100) == b"333"
            task = asyncio.ensure_future(reader.read(100))
            await asyncio.sleep(0.02)
            assert not task.done() and ms.armed         # a single-shot recv waits
            b.send(b"late")
            assert await task == b"late"
            assert not ms._single and ms._ready
            task = asyncio.ensure_future(reader.read(100))
            await asyncio.sleep(0)
            assert ms._watched                          # readiness again
            b.send(b"x")
            assert await task == b"x"
            writer.close()
            await writer.wait_closed()
            b.close()
            await until(lambda: ring.in_flight == 0)
    arun(main())
