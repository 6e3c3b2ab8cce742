"""Sockets over AsyncRing, under the default asyncio loop and uvloop: sendall, accept_socket, the
streams pair (start_server / open_connection, StreamReader / StreamWriter), peers that reset
the connection, large sends, many connections, and no fd left open after any of it."""
import asyncio
import errno
import gc
import os
import socket
import threading
import time

import pytest

import ioring
from ioring import liburing as L
from ioring.asyncio import AsyncRing, Server, StreamReader, StreamWriter

from helpers import open_fds, reset_socket, until


async def echo(reader, writer):
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()
    await writer.wait_closed()


# ---- sendall, accept_socket --------------------------------------------------------------------

def test_sendall_large_data_arrives_whole(arun):
    """64 MiB through a socket pair whose reader is slow: the kernel's socket buffer fills many
    times, MSG_WAITALL sends the rest as it drains; the result is len(data), the bytes exact."""
    data = os.urandom(1 << 20) * 64

    async def main():
        a, b = socket.socketpair()
        got = bytearray()

        def slow_reader():
            while len(got) < len(data):
                chunk = b.recv(1 << 16)
                if not chunk:
                    break
                got.extend(chunk)
                if len(got) < (1 << 21):
                    time.sleep(0.001)
        t = threading.Thread(target=slow_reader)
        t.start()
        try:
            async with AsyncRing() as ring:
                assert await ring.sendall(a, data) == len(data)
                assert await ring.sendall(a, memoryview(b"xyz")[1:]) == 2
                assert await ring.sendall(a, b"") == 0
        finally:
            a.shutdown(socket.SHUT_WR)
            t.join()
            a.close()
            b.close()
        assert bytes(got[:len(data)]) == data
    arun(main())


def test_sendall_to_a_peer_that_resets(arun):
    """The peer reads a little then resets: sendall fails with ECONNRESET or EPIPE (the error,
    not a partial count), and so does the next one."""
    fds = open_fds()

    async def main():
        srv = socket.create_server(("127.0.0.1", 0))
        async with AsyncRing() as ring:
            c = socket.create_connection(srv.getsockname())
            s, _ = srv.accept()
            s.setblocking(False)
            try:
                fut = ring.sendall(c, b"x" * (64 << 20))
                # the loop submits the send while this waits for its first bytes
                assert await asyncio.get_running_loop().sock_recv(s, 1000)
                assert not fut.done()               # 64 MiB do not fit in the socket buffers
                reset_socket(s)
                with pytest.raises(OSError) as info:
                    await fut
                assert info.value.errno in (errno.ECONNRESET, errno.EPIPE)
                with pytest.raises(OSError) as info:
                    await ring.sendall(c, b"more")
                assert info.value.errno in (errno.ECONNRESET, errno.EPIPE)
                assert ring.in_flight == 0
            finally:
                c.close()
                srv.close()
    arun(main())
    gc.collect()
    assert open_fds() == fds


def test_ring_sendall_to_a_peer_that_resets():
    """The same with the synchronous Ring: the Operation fails with the error."""
    fds = open_fds()
    srv = socket.create_server(("127.0.0.1", 0))
    with ioring.Ring(16) as ring:
        c = socket.create_connection(srv.getsockname())
        s, _ = srv.accept()
        with c, s:
            op = ring.sendall(c, b"x" * (64 << 20))
            ring.submit()
            assert s.recv(1000)
            assert not op.done()
            reset_socket(s)
            with pytest.raises(OSError) as info:
                op.result(10)
            assert info.value.errno in (errno.ECONNRESET, errno.EPIPE)
            with pytest.raises(OSError) as info:
                ring.sendall(c, b"more").result(10)
            assert info.value.errno in (errno.ECONNRESET, errno.EPIPE)
            assert ring.in_flight == 0
    srv.close()
    assert open_fds() == fds


def test_ring_sendall_sync_and_cancel():
    srv = socket.create_server(("127.0.0.1", 0))
    with ioring.Ring(16) as ring:
        c = socket.create_connection(srv.getsockname())
        s, _ = srv.accept()
        with c, s:
            assert ring.sendall(c, b"hello").result() == 5
            assert s.recv(5) == b"hello"
            big = bytearray(64 << 20)
            op = ring.sendall(c, big)               # nobody reads: it waits for room
            ring.submit()
            time.sleep(0.05)
            assert not op.done()
            with pytest.raises(BufferError):
                big.append(0)                       # pinned while sent
            assert op.cancel() is True
            with pytest.raises(OSError) as info:
                op.result(5)
            assert info.value.errno in (errno.ECANCELED, errno.EINTR)
            big.append(0)
            assert ring.in_flight == 0
    srv.close()


def test_accept_socket_and_cloexec_default(arun):
    import fcntl

    async def main():
        srv = socket.create_server(("127.0.0.1", 0))
        async with AsyncRing() as ring:
            c = socket.create_connection(srv.getsockname())
            conn, address = await ring.accept_socket(srv)
            with conn, c:
                assert isinstance(conn, socket.socket)
                assert conn.family == srv.family and conn.type == socket.SOCK_STREAM
                assert address == c.getsockname()
                assert fcntl.fcntl(conn.fileno(), fcntl.F_GETFD) & fcntl.FD_CLOEXEC
                assert not conn.get_inheritable()
            c2 = socket.create_connection(srv.getsockname())
            fd = await ring.accept(srv)             # the fd, close-on-exec as well
            assert fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC
            os.close(fd)
            c3 = socket.create_connection(srv.getsockname())
            fd = await ring.accept(srv, 0)          # asked inheritable
            assert not fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC
            os.close(fd)
            c4 = socket.create_connection(srv.getsockname())
            async for fd in ring.accept_multishot(srv):
                assert fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC
                os.close(fd)
                break
            for s in (c2, c3, c4):
                s.close()
        srv.close()
    arun(main())


# ---- the streams pair --------------------------------------------------------------------------

def test_echo_server_in_a_few_lines(arun):
    fds = open_fds()

    async def main():
        async with AsyncRing() as ring:
            server = await ring.start_server(echo, "127.0.0.1", 0)
            assert isinstance(server, Server) and server.is_serving()
            host, port = server.sockets[0].getsockname()[:2]
            reader, writer = await ring.open_connection(host, port)
            assert isinstance(reader, StreamReader) and isinstance(writer, StreamWriter)
            assert writer.get_extra_info("peername") == (host, port)
            writer.write(b"ping")
            assert await reader.readexactly(4) == b"ping"
            # asyncio's own client against it
            r2, w2 = await asyncio.open_connection(host, port)
            w2.write(b"abc" * 10000)
            await w2.drain()
            assert await r2.readexactly(30000) == b"abc" * 10000
            w2.close()
            await w2.wait_closed()
            writer.close()
            await writer.wait_closed()
            assert writer.is_closing()
            async with server:
                pass
            assert not server.is_serving()
            await until(lambda: ring.in_flight == 0)
    arun(main())
    gc.collect()
    assert open_fds() == fds


def test_reader_api_readexactly_readline_readuntil_eof(arun):
    async def main():
        async with AsyncRing() as ring:
            a, b = socket.socketpair()
            reader, writer = await ring.open_connection(sock=a)
            b.sendall(b"line one\nline two\npartial")
            assert await reader.readline() == b"line one\n"
            assert await reader.readuntil(b"two") == b"line two"
            assert await reader.read(1) == b"\n"
            assert await reader.readexactly(3) == b"par"
            assert not reader.at_eof()
            b.shutdown(socket.SHUT_WR)
            with pytest.raises(asyncio.IncompleteReadError) as info:
                await reader.readexactly(10)
            assert info.value.partial == b"tial" and info.value.expected == 10
            assert await reader.read(100) == b""
            assert await reader.readline() == b""
            assert reader.at_eof()
            writer.close()
            await writer.wait_closed()
            b.close()

            a, b = socket.socketpair()
            reader, writer = await ring.open_connection(sock=a, limit=10)
            b.sendall(b"0123456789abcdef\nend\n")
            with pytest.raises(ValueError):
                await reader.readline()                  # longer than limit
            b.sendall(b"x" * 20)
            with pytest.raises(asyncio.LimitOverrunError):
                await reader.readuntil(b"!")
            b.close()
            writer.close()
            await writer.wait_closed()

            a, b = socket.socketpair()
            reader, writer = await ring.open_connection(sock=a)
            b.sendall(b"first\nsecond\n")
            b.shutdown(socket.SHUT_WR)
            assert [line async for line in reader] == [b"first\n", b"second\n"]
            b.close()
            writer.close()
            await writer.wait_closed()

            a, b = socket.socketpair()
            reader, writer = await ring.open_connection(sock=a)
            b.sendall(b"everything")
            b.shutdown(socket.SHUT_WR)
            assert await reader.read() == b"everything"
            assert await reader.read(0) == b""
            writer.close()
            await writer.wait_closed()
            b.close()
            await until(lambda: ring.in_flight == 0)
    arun(main())


def test_writer_api_write_eof_writelines_drain(arun):
    async def main():
        async with AsyncRing() as ring:
            a, b = socket.socketpair()
            reader, writer = await ring.open_connection(sock=a)
            assert writer.can_write_eof()
            writer.writelines([b"a", bytearray(b"b"), memoryview(b"cd")])
            buf = bytearray(b"reused")
            writer.write(buf)
            buf[:] = b"XXXXXX"                  # write() keeps its own copy
            await writer.drain()
            writer.write_eof()                  # once what was written is sent
            b.setblocking(False)
            got = b""
            while True:
                chunk = await asyncio.get_running_loop().sock_recv(b, 100)
                if not chunk:
                    break
                got += chunk
            assert got == b"abcdreused"
            writer.close()
            await writer.wait_closed()
            b.close()

            # drain() waits while more than the high-water mark is unsent
            big = b"y" * (8 << 20)
            a, b = socket.socketpair()
            reader, writer = await ring.open_connection(sock=a)
            writer.write(big)
            drained = asyncio.ensure_future(writer.drain())
            await asyncio.sleep(0.05)
            assert not drained.done()               # nobody reads: over the high-water mark
            received = bytearray()

            def read_all():
                while len(received) < len(big):
                    received.extend(b.recv(1 << 20))
            t = threading.Thread(target=read_all)
            t.start()
            await drained
            await asyncio.get_running_loop().run_in_executor(None, t.join)
            assert bytes(received) == big
            writer.close()
            with pytest.raises(ValueError):
                writer.write(b"after close")
            await writer.wait_closed()
            b.close()
    arun(main())


def test_peer_reset_on_recv_and_on_send(arun):
    async def main():
        async with AsyncRing() as ring:
            srv = socket.create_server(("127.0.0.1", 0))
            reader, writer = await ring.open_connection(*srv.getsockname())
            peer, _ = srv.accept()
            peer.sendall(b"some")
            assert await reader.read(100) == b"some"
            reset_socket(peer)
            with pytest.raises(ConnectionResetError):
                await reader.read(100)
            with pytest.raises(ConnectionResetError):
                await reader.read(100)              # again: the same error, as asyncio
            # writing to the reset connection: the first send fails in the kernel
            writer.write(b"x" * 1000)
            with pytest.raises(OSError) as info:
                for _ in range(100):
                    await writer.drain()
                    writer.write(b"x")
                    await asyncio.sleep(0.01)
            assert info.value.errno in (errno.ECONNRESET, errno.EPIPE)
            with pytest.raises(OSError):
                writer.write(b"more")
            writer.close()
            await writer.wait_closed()
            srv.close()

            # EPIPE: the peer shut its reading side down and went away
            a, b = socket.socketpair()
            reader, writer = await ring.open_connection(sock=a)
            b.close()
            assert await reader.read(10) == b""
            writer.write(b"x")
            with pytest.raises(BrokenPipeError):
                for _ in range(100):
                    await writer.drain()
                    await asyncio.sleep(0.01)
                    writer.write(b"x")
            writer.close()
            await writer.wait_closed()
            await until(lambda: ring.in_flight == 0)
    arun(main())


def test_many_concurrent_connections_and_no_fd_left(arun):
    fds = open_fds()

    async def main():
        async with AsyncRing() as ring:
            server = await ring.start_server(echo, "127.0.0.1", 0, backlog=300)
            port = server.sockets[0].getsockname()[1]

            async def client(i):
                reader, writer = await ring.open_connection("127.0.0.1", port)
                for k in range(10):
                    message = b"%d:%d;" % (i, k) * (k * 50 + 1)
                    writer.write(message)
                    await writer.drain()
                    assert await reader.readexactly(len(message)) == message
                writer.close()
                await writer.wait_closed()
            await asyncio.gather(*(client(i) for i in range(200)))
            server.close()
            await server.wait_closed()
            await until(lambda: ring.in_flight == 0)
    arun(main())
    gc.collect()
    assert open_fds() == fds


def test_cancelled_reader_task_and_server_close_with_live_connections(arun):
    async def main():
        async with AsyncRing() as ring:
            handler_done = asyncio.Event()

            async def handler(reader, writer):
                try:
                    await reader.read(10)           # the client never sends: cancelled below
                finally:
                    writer.close()
                    await writer.wait_closed()
                    handler_done.set()
            server = await ring.start_server(handler, "127.0.0.1", 0)
            c = socket.create_connection(server.sockets[0].getsockname())
            await until(lambda: len(server._handlers) == 1)
            task = next(iter(server._handlers))
            task.cancel()
            await handler_done.wait()
            assert c.recv(10) == b""                # the server side was closed
            c.close()
            # a reader whose read() is cancelled can read again afterwards
            a, b = socket.socketpair()
            reader, writer = await ring.open_connection(sock=a)
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(reader.read(10), 0.05)
            b.sendall(b"later")
            assert await reader.read(10) == b"later"
            writer.close()
            await writer.wait_closed()
            b.close()
            server.close()
            await server.wait_closed()
            await until(lambda: ring.in_flight == 0)
    arun(main())


def test_serve_forever_and_aclose_with_connections(arun):
    """Closing the AsyncRing under live connections: their reads and drains fail, the server's
    handler that failed with it is reported to the loop's exception handler when it ends (as
    asyncio 3.12 does) and its connection closed, and no fd is left."""
    fds = open_fds()

    async def main():
        reported = []
        asyncio.get_running_loop().set_exception_handler(lambda loop, ctx: reported.append(ctx))
        ring = AsyncRing()
        server = await ring.start_server(echo, "127.0.0.1", 0)
        serving = asyncio.ensure_future(server.serve_forever())
        reader, writer = await ring.open_connection(*server.sockets[0].getsockname())
        writer.write(b"hi")
        assert await reader.readexactly(2) == b"hi"
        serving.cancel()
        with pytest.raises(asyncio.CancelledError):
            await serving
        assert not server.is_serving()
        await ring.aclose()                         # ends the connections' requests too
        with pytest.raises(OSError):
            await reader.read(10)
        with pytest.raises(OSError):
            await writer.drain()
        writer.close()                              # works on a closed ring
        await writer.wait_closed()
        await until(lambda: reported)
        assert reported[0]["message"] == "Unhandled exception in client_connected_cb"
        assert isinstance(reported[0]["exception"], OSError)
        assert reported[0]["writer"].is_closing()
    arun(main())
    gc.collect()
    assert open_fds() == fds


# ---- accepted connections as sockets or fds; cancellation; short receives -----------------------

def test_accept_multishot_as_sockets_or_fds(arun):
    """accept_multishot yields fds by default and (socket, address) pairs with as_socket=True;
    accept_socket takes a bare listening fd too; breaking out closes what nobody took."""
    import fcntl
    fds = open_fds()

    async def main():
        srv = socket.create_server(("127.0.0.1", 0))
        clients = [socket.create_connection(srv.getsockname()) for _ in range(3)]
        async with AsyncRing() as ring:
            got = []
            async for conn, address in ring.accept_multishot(srv, as_socket=True):
                assert isinstance(conn, socket.socket)
                assert (conn.family, conn.type) == (socket.AF_INET, socket.SOCK_STREAM)
                assert fcntl.fcntl(conn.fileno(), fcntl.F_GETFD) & fcntl.FD_CLOEXEC
                got.append((conn, address))
                if len(got) == 2:
                    break
            addresses = {a for _, a in got}
            assert len(addresses) == 2 and addresses <= {c.getsockname() for c in clients}
            # the peer of an accepted socket: bytes go both ways
            for conn, address in got:
                peer = next(c for c in clients if c.getsockname() == address)
                conn.sendall(b"to " + str(address[1]).encode())
                assert peer.recv(100) == b"to " + str(address[1]).encode()
                conn.close()
            # the multishot accept took the third connection too: leaving the loop closed it
            third = next(c for c in clients if c.getsockname() not in addresses)
            assert third.recv(10) == b""
            # from a bare listening fd
            clients.append(socket.create_connection(srv.getsockname()))
            conn, address = await ring.accept_socket(srv.fileno())
            assert conn.family == socket.AF_INET and address == clients[-1].getsockname()
            conn.close()
            # fds, and one more connection left waiting when the iteration is closed
            clients.append(socket.create_connection(srv.getsockname()))
            clients.append(socket.create_connection(srv.getsockname()))
            async for fd in ring.accept_multishot(srv):     # garbage after the loop
                assert isinstance(fd, int) and fd >= 0
                os.close(fd)
                break
            await until(lambda: ring.in_flight == 0)
        for c in clients:
            c.close()
        srv.close()
    arun(main())
    gc.collect()
    assert open_fds() == fds


def test_cancel_sendall_mid_way(arun):
    """Cancelling an AsyncRing.sendall stuck on a full socket: the future is cancelled, the
    kernel's send is cancelled (nothing left in flight), the buffer is unpinned, no fd left."""
    fds = open_fds()

    async def main():
        a, b = socket.socketpair()
        async with AsyncRing() as ring:
            big = bytearray(64 << 20)
            fut = ring.sendall(a, big)
            await asyncio.sleep(0.05)
            assert not fut.done()                       # nobody reads: the send waits
            with pytest.raises(BufferError):
                big.append(0)
            fut.cancel()
            with pytest.raises(asyncio.CancelledError):
                await fut
            await until(lambda: ring.in_flight == 0)
            op = fut.operation
            assert op.done() and op.res < 0 and op.exception().errno == errno.ECANCELED
            big.append(0)                               # released
            # the same from a task that is cancelled while it awaits
            task = asyncio.ensure_future(ring.sendall(a, bytes(64 << 20)))
            await asyncio.sleep(0.05)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await until(lambda: ring.in_flight == 0)
        a.close()
        b.close()
    arun(main())
    gc.collect()
    assert open_fds() == fds


def test_cancel_open_connection_while_connecting(arun):
    """A connect that cannot complete (the listener's accept queue is full, so its SYNs are
    dropped) is cancelled with its task: the connect is cancelled in the kernel, and the socket
    is closed once it has completed, not left to the garbage collector."""
    import warnings
    fds = open_fds()

    async def main():
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(0)
        fillers = []
        for _ in range(3):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(srv.getsockname())
            fillers.append(s)
        await asyncio.sleep(0.1)
        async with AsyncRing() as ring:
            await asyncio.get_running_loop().getaddrinfo("127.0.0.1", 0)   # executor started
            before = open_fds()
            task = asyncio.ensure_future(ring.open_connection(*srv.getsockname()))
            await asyncio.sleep(0.2)
            if task.done():
                task.result().__class__             # surface an unexpected error
                pytest.skip("the kernel completed a connect to a full accept queue")
            assert len(open_fds()) == len(before) + 1   # the socket being connected
            task.cancel()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                with pytest.raises(asyncio.CancelledError) as info:
                    await task
                await until(lambda: ring.in_flight == 0)
                # closed by the cancellation, while its traceback still holds the frames
                assert open_fds() == before
                del task, info
                gc.collect()
            assert not [w for w in caught if issubclass(w.category, ResourceWarning)]
        for s in fillers:
            s.close()
        srv.close()
    arun(main())
    gc.collect()
    assert open_fds() == fds


def test_reads_across_short_receives(arun):
    """The peer sends a message a few bytes at a time: readexactly, readline and readuntil
    assemble it from many short receives, and read(n) returns what is there (short)."""
    message = b"".join(b"line %d of the message\n" % i for i in range(20))

    async def main():
        a, b = socket.socketpair()
        async with AsyncRing() as ring:
            reader, writer = await ring.open_connection(sock=a)

            def trickle():
                for i in range(0, len(message), 7):
                    b.sendall(message[i:i + 7])
                    time.sleep(0.002)
            t = threading.Thread(target=trickle)
            t.start()
            first = await reader.readexactly(100)
            line = await reader.readline()
            until = await reader.readuntil(b"of the")
            rest = b""
            while len(first) + len(line) + len(until) + len(rest) < len(message):
                chunk = await reader.read(1000)
                assert 0 < len(chunk) <= 1000
                rest += chunk
            await asyncio.get_running_loop().run_in_executor(None, t.join)
            assert first + line + until + rest == message
            assert line.endswith(b"\n") and line.count(b"\n") == 1
            writer.close()
            await writer.wait_closed()
            b.close()
    arun(main())


def test_write_on_an_idle_stream_sends_at_once_then_batches(arun):
    """A write with nothing in flight goes out inside write() (a non-blocking send(2), as
    asyncio's transports; in a ping-pong it replaces an io_uring send, its CQE and its eventfd
    signal), at most one per pump of the ring: the writes that follow before the loop runs are
    joined into one io_uring send. What the socket does not take at once goes by io_uring, in
    order; a failed inline send is reported by the next drain()/write()."""
    async def main():
        async with AsyncRing() as ring:
            a, b = socket.socketpair()
            reader, writer = await ring.open_connection(sock=a)
            await asyncio.sleep(0.01)               # a pump ran since
            writer.write(b"now")
            assert b.recv(100, socket.MSG_DONTWAIT) == b"now"      # no loop iteration needed
            assert L.io_uring_sq_ready(ring.ring.uring) == 0
            writer.write(b"second ")
            writer.write(b"third")
            with pytest.raises(BlockingIOError):
                b.recv(100, socket.MSG_DONTWAIT)    # queued, submitted by the loop's flush
            assert L.io_uring_sq_ready(ring.ring.uring) == 1
            await writer.drain()
            await asyncio.sleep(0.01)
            assert b.recv(100, socket.MSG_DONTWAIT) == b"second third"

            # more than the socket takes: the rest by io_uring, in order, before what follows
            big = os.urandom(1 << 16) * 64
            await asyncio.sleep(0.01)
            writer.write(big)
            writer.write(b"tail")
            received = bytearray()

            def read_all():
                while len(received) < len(big) + 4:
                    received.extend(b.recv(1 << 20))
            t = threading.Thread(target=read_all)
            t.start()
            await writer.drain()
            await asyncio.get_running_loop().run_in_executor(None, t.join)
            assert bytes(received) == big + b"tail"

            writer.close()
            await writer.wait_closed()

            # the peer is gone: the inline send fails (EPIPE), drain() and write() report it
            a, b = socket.socketpair()
            reader, writer = await ring.open_connection(sock=a)
            b.close()
            await asyncio.sleep(0.01)               # the end of stream is reaped by a pump
            writer.write(b"x")
            assert L.io_uring_sq_ready(ring.ring.uring) == 0     # it was not queued
            with pytest.raises(BrokenPipeError):
                await writer.drain()
            with pytest.raises(BrokenPipeError):
                writer.write(b"y")
            assert await reader.read(10) == b""
            writer.close()
            await writer.wait_closed()
            await until(lambda: ring.in_flight == 0)
    arun(main())


def test_read_of_a_streaming_peer_waits_one_iteration_for_more(arun):
    """read(n) that finds the bytes of several receives (the peer streams) filling less than
    half of n waits one loop iteration and adds what came meanwhile (a reply to pipelined
    messages then goes out in one send); bytes of one receive (a request) come at once. A read
    cancelled while it waits keeps its bytes for the next read."""
    async def main():
        loop = asyncio.get_running_loop()
        async with AsyncRing() as ring:
            a, b = socket.socketpair()
            reader, writer = await ring.open_connection(sock=a)
            ms = reader._ms
            ms._idle_multishot()        # receives queue up before a read (one connection
                                        # reads by readiness: one recv(2) takes them all)

            async def queued(*chunks):
                for i, chunk in enumerate(chunks):
                    b.send(chunk)
                    await until(lambda: ms.pending == i + 1)   # one receive each

            await queued(b"one")
            loop.call_soon(b.send, b"late")
            assert await reader.read(100) == b"one"             # no wait: "late" not there
            assert await reader.read(100) == b"late"

            async def multishot_again():
                # Several receives in one read switched the reader to single-shot receives
                # (see test_asyncio_streams_recv.py); a read that waits brings the multishot
                # recv back.
                assert ms._single
                loop.call_later(0.02, b.send, b"!")
                assert await reader.read(100) == b"!"
                assert not ms._single and ms.armed

            await queued(b"ab", b"cd")
            loop.call_soon(b.send, b"ef")                       # runs before the read resumes
            assert await reader.read(100) == b"abcdef"
            await multishot_again()

            await queued(b"gh", b"ij")
            assert await reader.read(8) == b"ghij"              # half of n or more: at once
            await multishot_again()

            await queued(b"kl", b"mn")
            task = asyncio.ensure_future(reader.read(100))
            await asyncio.sleep(0)                              # the read waits for more
            assert not task.done()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert await asyncio.wait_for(reader.read(100), 5) == b"klmn"

            b.close()
            assert await reader.read(100) == b""
            writer.close()
            await writer.wait_closed()
            await until(lambda: ring.in_flight == 0)
    arun(main())
