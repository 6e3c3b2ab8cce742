"""How a StreamReader receives (ioring.asyncio streams): the multishot recv while the peer is
idle, single-shot receives while it streams (one per read, nothing received while the reader
does not read), and back; end of stream, a reset, a cancelled read and close() in either mode,
no request, buffer or fd left behind."""
import asyncio
import socket

import pytest

from ioring.asyncio import AsyncRing

from helpers import open_fds, reset_socket, until


async def _streaming(reader, peer):
    """Make ``reader`` see a streaming peer: two receives queued before a read (the multishot
    recv's), which switches it to single-shot receives; returns once the multishot request
    has ended (its cancel reaped)."""
    ms = reader._ms
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


def test_echo_of_pipelined_messages_is_exact(arun):
    """An echo server under a client that streams (every message its own send, many in
    flight): every byte comes back, in order, whatever the receive mode; the connection ends
    cleanly."""
    modes = set()

    async def echo(reader, writer):
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
            assert await loop.run_in_executor(None, client) == expected
            assert True in modes                        # single-shot receives were used
            server.close()
            await server.wait_closed()
            await until(lambda: ring.in_flight == 0)
    arun(main())
