"""AsyncRing and IORING_SETUP_DEFER_TASKRUN (issue 19): an echo server on such a ring answered
60 messages/s instead of 15,000. Under DEFER_TASKRUN the kernel runs completion work only when
the submitting thread enters the ring, and it signals the registered eventfd for that work
milliseconds late (0.4 to 18 ms measured on 6.18; a poll of the ring fd is not woken at all),
so an event loop asleep in its poll waits that long for every message. AsyncRing refuses the
flag before making anything; the synchronous Ring, which waits in io_uring_enter, keeps it."""
import asyncio
import socket
import threading
import time

import pytest

from ioring import Ring
from ioring import liburing as L
from ioring.asyncio import AsyncRing

from helpers import open_fds

DEFER = L.IORING_SETUP_SINGLE_ISSUER | L.IORING_SETUP_DEFER_TASKRUN


@pytest.mark.parametrize("flags", [DEFER, DEFER | L.IORING_SETUP_COOP_TASKRUN,
                                   L.IORING_SETUP_DEFER_TASKRUN])
def test_defer_taskrun_is_refused_before_anything_is_made(arun, flags):
    """ValueError naming the flag and what to use instead, in or out of a loop, and no ring
    or eventfd left open."""
    before = open_fds()
    with pytest.raises(ValueError, match="DEFER_TASKRUN.*COOP_TASKRUN.*ioring.Ring"):
        AsyncRing(16, flags=flags)

    async def main():
        with pytest.raises(ValueError, match="DEFER_TASKRUN"):
            AsyncRing(16, flags=flags)
    arun(main())
    assert open_fds() == before


def test_sync_ring_keeps_defer_taskrun():
    """Only the event-loop driver refuses the flag: a Ring waits in io_uring_enter, which runs
    the deferred work."""
    try:
        ring = Ring(8, flags=DEFER)
    except OSError as exc:
        pytest.skip(f"the kernel refused DEFER_TASKRUN: {exc}")
    a, b = socket.socketpair()
    with ring, a, b:
        op = ring.recv(a, 16)
        threading.Timer(0.01, b.send, (b"later",)).start()
        assert op.result(timeout=5) == b"later"
        assert ring.uring.flags & L.IORING_SETUP_DEFER_TASKRUN


def test_default_async_ring_answers_without_stalls(arun):
    """What the refusal keeps users on: the default AsyncRing (COOP_TASKRUN) echoes 300 round
    trips of 64 B promptly (a DEFER_TASKRUN ring took ~5 s for them: ~16 ms each)."""

    async def echo(reader, writer):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.close()

    async def main():
        async with AsyncRing() as ring:
            assert ring.ring.uring.flags & L.IORING_SETUP_COOP_TASKRUN
            server = await ring.start_server(echo, "127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]
            loop = asyncio.get_running_loop()

            def client():
                with socket.create_connection(("127.0.0.1", port)) as s:
                    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    t0 = time.perf_counter()
                    for i in range(300):
                        msg = i.to_bytes(2, "little") * 32
                        s.sendall(msg)
                        got = b""
                        while len(got) < 64:
                            got += s.recv(64 - len(got))
                        assert got == msg
                    return time.perf_counter() - t0
            elapsed = await loop.run_in_executor(None, client)
            server.close()
            await server.wait_closed()
        # ~30 ms on an idle machine; a loaded one may be ten times slower, never 5 s.
        assert elapsed < 2.5, f"300 round trips took {elapsed:.2f} s"
    arun(main())

