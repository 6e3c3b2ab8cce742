"""Multishot requests through ioring.asyncio.AsyncRing: async iterators over a queue of results,
under the default asyncio loop and uvloop. An echo server in a few lines, cancellation by task
cancellation / break / close / aclose, waking a waiter, and a leak check."""
import asyncio
import gc
import os
import select
import socket
import time

import pytest

import ioring
from helpers import until
from ioring import liburing as L
from ioring.asyncio import AsyncMultishot, AsyncRing


@pytest.fixture
def listener():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(128)
    yield srv
    srv.close()


def _backlog_has_a_connection(srv):
    ready, _, _ = select.select([srv], [], [], 0.5)
    if not ready:
        return False
    conn, _ = srv.accept()
    conn.close()
    return True


def test_echo_server_in_a_few_lines(arun, listener):
    async def main():
        async with AsyncRing(64) as ring:
            async def echo(fd):
                async for data in ring.recv_multishot(fd):
                    await ring.send(fd, data)
                await ring.close_fd(fd)

            async def serve():
                async for fd in ring.accept_multishot(listener):
                    asyncio.get_running_loop().create_task(echo(fd))

            server = asyncio.get_running_loop().create_task(serve())

            async def client(i):
                reader, writer = await asyncio.open_connection(*listener.getsockname())
                for k in range(20):
                    message = b"%d:%d;" % (i, k) * (k + 1)
                    writer.write(message)
                    await writer.drain()
                    assert await reader.readexactly(len(message)) == message
                writer.close()
                await writer.wait_closed()

            await asyncio.gather(*(client(i) for i in range(30)))
            await until(lambda: ring.in_flight == 1)      # the echo loops ended at EOF
            server.cancel()
            with pytest.raises(asyncio.CancelledError):
                await server
            await until(lambda: ring.in_flight == 0)      # the accept was cancelled in the kernel
            assert _backlog_has_a_connection_after_connect(listener)
    arun(main())


def _backlog_has_a_connection_after_connect(srv):
    c = socket.create_connection(srv.getsockname())
    try:
        return _backlog_has_a_connection(srv)
    finally:
        c.close()


def test_results_are_queued_without_a_future_each(arun, listener):
    async def main():
        async with AsyncRing(32) as ring:
            conns = ring.accept_multishot(listener)
            assert isinstance(conns, AsyncMultishot) and isinstance(conns.multishot, ioring.Multishot)
            clients = [socket.create_connection(listener.getsockname()) for _ in range(4)]
            await until(lambda: conns.pending == 4)
            fds = [await conns.__anext__() for _ in range(4)]
            assert sorted(socket.socket(fileno=fd).getpeername() for fd in fds) == \
                sorted(c.getsockname() for c in clients)
            await conns.aclose()
            for c in clients:
                c.close()
    arun(main())


def test_cancelling_the_waiting_task_cancels_the_kernel_request(arun, listener):
    async def main():
        async with AsyncRing(32) as ring:
            async def next_connection():
                async for fd in ring.accept_multishot(listener):
                    return fd
            task = asyncio.get_running_loop().create_task(next_connection())
            await until(lambda: ring.in_flight == 1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await until(lambda: ring.in_flight == 0)
            assert _backlog_has_a_connection_after_connect(listener)
    arun(main())


def test_break_and_garbage_collection_cancel(arun, listener):
    async def main():
        async with AsyncRing(32) as ring:
            c = socket.create_connection(listener.getsockname())
            async for fd in ring.accept_multishot(listener):
                os.close(fd)
                break
            gc.collect()
            await until(lambda: ring.in_flight == 0)
            assert _backlog_has_a_connection_after_connect(listener)
            c.close()
            async with ring.accept_multishot(listener) as conns:
                await until(lambda: conns.armed)
            await until(lambda: ring.in_flight == 0)
    arun(main())


def test_closing_from_another_task_ends_a_waiting_iteration(arun, listener):
    async def main():
        async with AsyncRing(32) as ring:
            conns = ring.accept_multishot(listener)

            async def consume():
                return [fd async for fd in conns]
            task = asyncio.get_running_loop().create_task(consume())
            await until(lambda: conns.armed)
            await asyncio.sleep(0.01)
            conns.close()
            assert await task == []
            await until(lambda: ring.in_flight == 0)
    arun(main())


def test_aclose_cancels_armed_multishots_and_their_iterators_end(arun, listener):
    async def main():
        ring = AsyncRing(32)
        conns = ring.accept_multishot(listener)
        ticks = ring.timeout_multishot(0.001)
        assert await ticks.__anext__() == 1
        assert ring.in_flight == 2
        start = time.monotonic()
        await ring.aclose()
        assert time.monotonic() - start < 1
        assert ring.in_flight == 0
        assert [fd async for fd in conns] == []
        assert [n async for n in ticks] == []
    arun(main())


def test_async_recvmsg_read_poll_timeout(arun):
    async def main():
        async with AsyncRing(32) as ring:
            rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            rx.bind(("127.0.0.1", 0))
            tx.bind(("127.0.0.1", 0))
            msgs = ring.recvmsg_multishot(rx)
            tx.sendto(b"datagram", rx.getsockname())
            assert await msgs.__anext__() == (b"datagram", [], 0, tx.getsockname())
            msgs.close()
            r, w = os.pipe()
            data = ring.read_multishot(r)
            os.write(w, b"piped")
            assert await data.__anext__() == b"piped"
            os.close(w)
            assert [d async for d in data] == []
            events = ring.poll_multishot(r, select.POLLIN)   # EOF: readable (POLLHUP)
            assert await events.__anext__() & (select.POLLIN | select.POLLHUP)
            events.close()
            assert [n async for n in ring.timeout_multishot(0.001, count=4)] == [1, 2, 3, 4]
            r2, w2 = os.pipe()
            generic = ring.multishot(L.io_uring_prep_poll_multishot, r2, select.POLLIN)
            os.write(w2, b"x")
            assert await generic.__anext__() & select.POLLIN
            generic.close()
            await until(lambda: ring.in_flight == 0)
            for fd in (r, r2, w2):
                os.close(fd)
            rx.close()
            tx.close()
    arun(main())


def test_async_errors_raise_oserror(arun):
    async def main():
        async with AsyncRing(32) as ring:
            r, w = os.pipe()
            try:
                with pytest.raises(OSError, match=r"\[recv_multishot\(fd=\d+\)\]") as info:
                    async for _ in ring.recv_multishot(r):
                        pass
                assert info.value.errno == 88        # ENOTSOCK
            finally:
                os.close(r)
                os.close(w)
    arun(main())


def test_no_fd_or_buffer_leaks_over_many_async_iterators(arun, listener):
    fds_before = len(os.listdir("/proc/self/fd"))

    async def main():
        async with AsyncRing(64) as ring:
            buffers = ioring.BufferRing(ring.ring, 16, 512)
            for i in range(200):
                conns = ring.accept_multishot(listener)
                clients = [socket.create_connection(listener.getsockname()) for _ in range(2)]
                fd = await conns.__anext__()
                await until(lambda: conns.pending == 1)
                conns.close()                       # closes the untaken connection
                a, b = socket.socketpair()
                data = ring.recv_multishot(a, buffers)
                b.send(b"ping")
                assert await data.__anext__() == b"ping"
                b.send(b"left behind")
                await until(lambda: data.pending == 1)
                del data
                await until(lambda: ring.in_flight == 0)
                os.close(fd)
                for s in clients + [a, b]:
                    s.close()
            assert buffers.available == 16
    arun(main())
    gc.collect()
    assert len(os.listdir("/proc/self/fd")) == fds_before
