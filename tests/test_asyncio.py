"""ioring.asyncio.AsyncRing against the real kernel, under the default asyncio loop and uvloop.

Every awaitable method is checked for what the kernel did (bytes on disk, bytes received, the
fd opened or closed), plus exceptions, cancellation (a real async cancel, buffers pinned until
the kernel's completion is reaped), concurrency and submission batching, that the event loop
never blocks, closing with requests in flight, and the ring flags that change how completions
are posted (SQPOLL, COOP_TASKRUN, DEFER_TASKRUN).
"""
import asyncio
import errno
import os
import select
import socket
import threading
import time

import pytest

import ioring
from ioring import liburing as L
from ioring.asyncio import AsyncRing, OpFuture


@pytest.fixture
def datafile(tmp_path):
    """A 1 MiB file of a known pattern; (path, content)."""
    data = os.urandom(1 << 20)
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    return path, data


async def _wait_until(pred, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "condition never became true"
        await asyncio.sleep(0.001)


# ---- every awaitable method, checked against what the kernel did ---------------------------------

def test_read_returns_bytes_from_disk(arun, datafile):
    path, data = datafile

    async def main():
        fd = os.open(path, os.O_RDONLY)
        try:
            async with AsyncRing() as ring:
                buf = bytearray(4096)
                n = await ring.read(fd, buf, 8192)
                assert n == 4096 and bytes(buf) == data[8192:12288]
                # nbytes and a memoryview slice
                mv = memoryview(buf)[100:200]
                assert await ring.read(fd, mv, 0, nbytes=50) == 50
                assert bytes(buf[100:150]) == data[:50]
                # offset -1: the file position, which the read advances
                os.lseek(fd, 10, os.SEEK_SET)
                assert await ring.read(fd, buf, -1) == 4096
                assert bytes(buf) == data[10:4106]
                assert os.lseek(fd, 0, os.SEEK_CUR) == 4106
                # at EOF
                assert await ring.read(fd, buf, len(data)) == 0
        finally:
            os.close(fd)
    arun(main())


def test_write_puts_bytes_on_disk_and_fsync(arun, tmp_path):
    path = tmp_path / "out.bin"

    async def main():
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            async with AsyncRing() as ring:
                assert await ring.write(fd, b"hello world", 0) == 11
                assert await ring.write(fd, bytearray(b"XY"), 6) == 2
                assert await ring.fsync(fd) == 0
                assert await ring.fsync(fd, datasync=True) == 0
        finally:
            os.close(fd)
    arun(main())
    assert path.read_bytes() == b"hello XYrld"


def test_readv_writev(arun, tmp_path):
    path = tmp_path / "vec.bin"

    async def main():
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            async with AsyncRing() as ring:
                assert await ring.writev(fd, [b"abc", b"defg", bytearray(b"hi")], 0) == 9
                a, b = bytearray(4), bytearray(5)
                assert await ring.readv(fd, [a, b], 0) == 9
                assert (bytes(a), bytes(b)) == (b"abcd", b"efghi")
        finally:
            os.close(fd)
    arun(main())
    assert path.read_bytes() == b"abcdefghi"


def test_openat_close_fd(arun, tmp_path):
    path = tmp_path / "new.txt"

    async def main():
        async with AsyncRing() as ring:
            fd = await ring.openat(str(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            assert isinstance(fd, int) and fd >= 0
            os.write(fd, b"via openat")
            assert await ring.close_fd(fd) == 0
            with pytest.raises(OSError) as ei:
                os.fstat(fd)
            assert ei.value.errno == errno.EBADF
            # relative to a directory fd, bytes path
            dfd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
            try:
                fd = await ring.openat(b"new.txt", dir_fd=dfd)
                assert os.read(fd, 100) == b"via openat"
                await ring.close_fd(fd)
            finally:
                os.close(dfd)
    arun(main())
    assert path.read_bytes() == b"via openat"
    assert (path.stat().st_mode & 0o777) == 0o600


def test_statx(arun, datafile):
    path, data = datafile

    async def main():
        async with AsyncRing() as ring:
            st = await ring.statx(str(path))
            assert isinstance(st, L.statx)
            assert st.stx_size == len(data)
            assert st.stx_ino == os.stat(path).st_ino
    arun(main())


def test_send_recv_socketpair(arun):
    async def main():
        a, b = socket.socketpair()
        with a, b:
            async with AsyncRing() as ring:
                assert await ring.send(a, b"ping") == 4
                assert b.recv(100) == b"ping"
                b.send(b"pong!")
                buf = bytearray(16)
                assert await ring.recv(a, buf) == 5 and bytes(buf[:5]) == b"pong!"
                # int size: the result is the bytes; an fd works as well as a socket
                b.send(b"xyz")
                assert await ring.recv(a.fileno(), 10) == b"xyz"
                # a recv that waits in the kernel until the peer sends
                fut = ring.recv(a, 10)
                await asyncio.sleep(0.02)
                assert not fut.done()
                b.send(b"late")
                assert await fut == b"late"
                # peer closed: recv returns empty
                b.shutdown(socket.SHUT_WR)
                assert await ring.recv(a, 10) == b""
    arun(main())


def test_accept_connect_tcp(arun):
    async def main():
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)
        cli = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        with srv, cli:
            async with AsyncRing() as ring:
                accepted = ring.accept(srv)
                await asyncio.sleep(0.01)
                assert not accepted.done()      # waiting in the kernel, loop still running
                res_connect = await ring.connect(cli, srv.getsockname())
                assert res_connect == 0
                conn_fd = await accepted
                conn = socket.socket(fileno=conn_fd)
                with conn:
                    assert conn.getpeername() == cli.getsockname()
                    assert await ring.send(cli, b"over tcp") == 8
                    assert await ring.recv(conn, 100) == b"over tcp"
        # connect to a closed port: ECONNREFUSED
        srv2 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv2.bind(("127.0.0.1", 0))
        closed_addr = srv2.getsockname()
        srv2.close()
        c2 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        with c2:
            async with AsyncRing() as ring:
                with pytest.raises(ConnectionRefusedError):
                    await ring.connect(c2, closed_addr)
    arun(main())


def test_timeout_and_sleep(arun):
    async def main():
        async with AsyncRing() as ring:
            t0 = time.monotonic()
            assert await ring.timeout(0.05) == 0
            t1 = time.monotonic()
            assert await ring.sleep(0.03) is None
            t2 = time.monotonic()
            assert t1 - t0 >= 0.045 and t2 - t1 >= 0.025
            # several timers complete in deadline order
            order = []
            fs = [ring.timeout(d) for d in (0.06, 0.02, 0.04)]
            for d, f in zip((0.06, 0.02, 0.04), fs):
                f.add_done_callback(lambda _f, d=d: order.append(d))
            await asyncio.gather(*fs)
            assert order == [0.02, 0.04, 0.06]
    arun(main())


def test_nop_queue_run_splice(arun, tmp_path):
    path = tmp_path / "f.bin"

    async def main():
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        r, w = os.pipe()
        try:
            async with AsyncRing() as ring:
                assert await ring.nop() == 0
                # any thin-layer prep through queue(): fallocate grows the file
                assert await ring.queue(L.io_uring_prep_fallocate, fd, 0, 0, 8192, fd=fd) == 0
                assert os.fstat(fd).st_size == 8192
                # run(factory) with one Operation
                buf = bytearray(b"spliced!")
                assert await ring.run(lambda rg: rg.write(w, buf)) == 8
                assert await ring.splice(r, -1, fd, 0, 8) == 8
                assert os.pread(fd, 8, 0) == b"spliced!"
                # run(factory) with a linked chain: write then fsync, in order
                def chain(rg):
                    with rg.linked():
                        a = rg.write(fd, b"chained", 100)
                        b = rg.fsync(fd)
                    return [a, b]
                assert await ring.run(chain) == [7, 0]
                assert os.pread(fd, 7, 100) == b"chained"
                # a linked chain whose first request fails: the first failure is raised
                def bad_chain(rg):
                    with rg.linked():
                        return [rg.read(-1, bytearray(4), 0), rg.nop()]
                with pytest.raises(OSError) as ei:
                    await ring.run(bad_chain)
                assert ei.value.errno == errno.EBADF
                # AsyncRing.linked() and submit() of an Operation queued on ring.ring
                with ring.linked():
                    f1 = ring.write(fd, b"L1", 200)
                    f2 = ring.submit(ring.ring.nop())
                assert await asyncio.gather(f1, f2) == [2, 0]
                assert isinstance(f1, OpFuture) and f1.operation.kind == "write"
        finally:
            os.close(fd)
            os.close(r)
            os.close(w)
    arun(main())


def test_read_fixed_with_buffer_pool(arun, datafile):
    path, data = datafile

    async def main():
        fd = os.open(path, os.O_RDONLY)
        try:
            async with AsyncRing() as ring:
                pool = ioring.BufferPool(ring.ring, 2, 4096)
                try:
                    fut = ring.read(fd, pool[1], 4096)
                    assert fut.operation.kind == "read_fixed"
                    assert await fut == 4096
                    assert bytes(pool[1]) == data[4096:8192]
                    assert await ring.read_fixed(fd, pool[0], 0, 0) == 4096
                    assert bytes(pool[0]) == data[:4096]
                finally:
                    pool.close()
        finally:
            os.close(fd)
    arun(main())


# ---- exceptions ----------------------------------------------------------------------------------

def test_errors_raise_oserror_naming_the_request(arun, tmp_path):
    async def main():
        async with AsyncRing() as ring:
            with pytest.raises(OSError) as ei:
                await ring.read(12345, bytearray(10), 0)
            assert ei.value.errno == errno.EBADF and "read(fd=12345)" in str(ei.value)
            with pytest.raises(FileNotFoundError) as ei:
                await ring.openat(str(tmp_path / "missing"))
            assert "missing" in str(ei.value)
            with pytest.raises(FileNotFoundError):
                await ring.statx(str(tmp_path / "missing"))
            with pytest.raises(OSError) as ei:
                await ring.close_fd(12345)
            assert ei.value.errno == errno.EBADF
            # bad arguments fail before anything reaches the kernel, and leave nothing queued
            with pytest.raises((TypeError, BufferError, ValueError)):
                ring.read(0, b"read-only bytes", 0)
            assert ring.in_flight == 0
            # the ring keeps working after errors
            assert await ring.nop() == 0
    arun(main())


def test_closed_ring_refuses_requests(arun):
    async def main():
        ring = AsyncRing()
        await ring.aclose()
        assert ring.closed
        with pytest.raises(RuntimeError):
            ring.nop()
        await ring.aclose()         # idempotent
    arun(main())


def test_no_running_loop():
    ring = AsyncRing()              # created outside any loop: attaches on first use
    try:
        assert ring.loop is None
        with pytest.raises(RuntimeError):
            ring.nop()
        assert ring.in_flight == 0

        async def main():
            assert await ring.nop() == 0
            assert ring.loop is asyncio.get_running_loop()
            await ring.aclose()
        asyncio.run(main())
    finally:
        ring.close()


# ---- cancellation --------------------------------------------------------------------------------

def test_cancel_task_really_cancels_in_kernel(arun):
    async def main():
        a, b = socket.socketpair()
        with a, b:
            async with AsyncRing() as ring:
                ops = []

                async def reader():
                    fut = ring.recv(a, 100)
                    ops.append(fut.operation)
                    return await fut
                task = asyncio.ensure_future(reader())
                await asyncio.sleep(0.02)
                assert ops and not ops[0].done()
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                await _wait_until(ops[0].done)
                # the kernel completed the recv with -ECANCELED: nothing was consumed
                assert ops[0].res == -errno.ECANCELED
                assert ring.in_flight == 0
                b.send(b"still here")
                assert await ring.recv(a, 100) == b"still here"
                # asyncio.wait_for's timeout cancels the same way
                fut = ring.recv(a, 100)
                with pytest.raises(asyncio.TimeoutError):
                    await asyncio.wait_for(fut, 0.02)
                assert fut.cancelled()
                await _wait_until(fut.operation.done)
                assert fut.operation.res == -errno.ECANCELED
                # a long kernel timer, cancelled
                t = ring.timeout(3600)
                await asyncio.sleep(0.01)
                assert t.cancel()
                await _wait_until(t.operation.done)
                assert t.operation.res == -errno.ECANCELED
                assert not t.cancel()           # already done
    arun(main())


def test_cancelled_buffer_stays_pinned_until_cqe_reaped(arun):
    """The cancelled task has returned and the kernel's CQE is already in the CQ but not
    reaped yet: the bytearray cannot be resized. Once reaped, it can."""
    async def main():
        loop = asyncio.get_running_loop()
        a, b = socket.socketpair()
        with a, b:
            async with AsyncRing() as ring:
                buf = bytearray(64)
                ops = []
                in_handler = []

                async def reader():
                    fut = ring.recv(a, buf)
                    ops.append(fut.operation)
                    try:
                        await fut
                    except asyncio.CancelledError:
                        # right after the awaited request raised CancelledError
                        if not ops[0].done():
                            with pytest.raises(BufferError):
                                buf.extend(b"x")
                            in_handler.append(True)
                        raise
                task = asyncio.ensure_future(reader())
                await asyncio.sleep(0.02)           # submitted: the recv waits in the kernel
                op = ops[0]
                assert not op.done()
                # Stop reaping for a moment, so that "CQE posted but not reaped" is certain.
                loop.remove_reader(ring.fd)
                try:
                    task.cancel()
                    with pytest.raises(asyncio.CancelledError):
                        await task
                    # the async cancel was submitted: the kernel posts the recv's CQE...
                    deadline = time.monotonic() + 5
                    while L.io_uring_cq_ready(ring.ring.uring) < 1:
                        assert time.monotonic() < deadline
                        await asyncio.sleep(0.001)
                    await asyncio.sleep(0.01)
                    # ...but it is not reaped: the buffer is still pinned
                    assert not op.done()
                    with pytest.raises(BufferError):
                        buf.extend(b"x")
                    with pytest.raises(BufferError):
                        del buf[10:]
                    assert len(buf) == 64
                finally:
                    loop.add_reader(ring.fd, ring._on_readable)
                await _wait_until(op.done)
                assert op.res == -errno.ECANCELED
                buf.extend(b"x")            # reaped: the pin is released
                assert len(buf) == 65
                assert in_handler == [True]

                # The same without pausing anything: pinned while not reaped, free after.
                buf2 = bytearray(32)
                fut = ring.recv(a, buf2)
                await asyncio.sleep(0.01)
                fut.cancel()
                if not fut.operation.done():
                    with pytest.raises(BufferError):
                        buf2.extend(b"y")
                await _wait_until(fut.operation.done)
                buf2.extend(b"y")
                assert len(buf2) == 33
    arun(main())


def test_loop_watches_the_ring_fd_and_reaping_quiets_it(arun):
    """The loop watches the ring fd itself (no eventfd is registered, none is read): it polls
    readable while completions wait in the CQ, and reaping them is what makes it quiet; a
    wake-up that finds the CQ empty (a flush reaped first) costs nothing, and completions
    posted later still wake the loop."""
    def readable(fd):
        return bool(select.select([fd], [], [], 0)[0])

    def eventfds():
        count = 0
        for fd in os.listdir("/proc/self/fd"):
            try:
                count += os.readlink(f"/proc/self/fd/{fd}") == "anon_inode:[eventfd]"
            except OSError:
                pass            # the directory's own fd, closed since
        return count

    async def main():
        loop = asyncio.get_running_loop()
        before = eventfds()
        async with AsyncRing(16) as ring:
            assert ring.fd == ring.ring.fd
            assert eventfds() == before
            assert await ring.nop() == 0
            assert not readable(ring.fd)            # reaped
            loop.remove_reader(ring.fd)             # the calls below are the test's own
            try:
                fut = ring.nop()
                ring.ring.submit()                  # submitted (completes at once): not reaped
                assert readable(ring.fd) and not fut.done()
                ring._on_readable()
                assert fut.done() and await fut == 0
                assert not readable(ring.fd)
                ring._on_readable()                 # nothing waits: a no-op
            finally:
                loop.add_reader(ring.fd, ring._on_readable)
            assert await asyncio.wait_for(ring.nop(), 5) == 0
            a, b = socket.socketpair()
            with a, b:
                fut = ring.recv(a, 16)
                await asyncio.sleep(0.02)
                threading.Timer(0.01, b.send, (b"later",)).start()
                assert await asyncio.wait_for(fut, 5) == b"later"
    arun(main())


def test_open_chain_does_not_spin_the_loop_on_the_ring_fd(arun):
    """While a task awaits inside ``with ring.linked():`` nothing is reaped (half a chain would
    be submitted), so the ring fd, readable while a completion waits, is not watched until the
    block is left: the loop sleeps meanwhile instead of calling back at every iteration."""
    async def main():
        async with AsyncRing(16) as ring:
            a, b = socket.socketpair()
            with a, b:
                fut = ring.recv(a, 16)
                await asyncio.sleep(0.01)
                with ring.linked():
                    chained = ring.nop()
                    b.send(b"x")                    # the recv completes: its CQE waits
                    t0 = time.thread_time()
                    await asyncio.sleep(0.3)
                    spent = time.thread_time() - t0
                assert spent < 0.03, f"the loop spun: {spent:.3f} s of CPU in 0.3 s"
                assert await asyncio.wait_for(fut, 5) == b"x"
                with pytest.raises(RuntimeError, match="is in a chain whose task awaited"):
                    await chained
                assert await asyncio.wait_for(ring.nop(), 5) == 0
    arun(main())


def test_cancel_before_submission(arun):
    """Cancelled in the same loop iteration it was queued: never runs, pins released."""
    async def main():
        a, b = socket.socketpair()
        with a, b:
            async with AsyncRing() as ring:
                buf = bytearray(8)
                fut = ring.recv(a, buf)
                assert fut.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await fut
                await _wait_until(fut.operation.done)
                assert fut.operation.res == -errno.ECANCELED
                buf.extend(b"ok")
                b.send(b"data")
                assert await ring.recv(a, 10) == b"data"
    arun(main())


# ---- concurrency and batching --------------------------------------------------------------------

def test_gather_100_reads(arun, datafile):
    path, data = datafile

    async def main():
        fd = os.open(path, os.O_RDONLY)
        try:
            async with AsyncRing(64) as ring:       # 100 > SQ size: the SQ refills on its own
                bufs = [bytearray(4096) for _ in range(100)]
                offsets = [(i * 7919 % 256) * 4096 for i in range(100)]

                async def one(i):
                    return await ring.read(fd, bufs[i], offsets[i])
                results = await asyncio.gather(*(one(i) for i in range(100)))
                assert results == [4096] * 100
                for buf, off in zip(bufs, offsets):
                    assert bytes(buf) == data[off:off + 4096]
                assert ring.in_flight == 0
        finally:
            os.close(fd)
    arun(main())


def test_requests_of_one_iteration_are_submitted_together(arun, datafile):
    path, data = datafile

    async def main():
        fd = os.open(path, os.O_RDONLY)
        try:
            async with AsyncRing(256) as ring:
                bufs = [bytearray(512) for _ in range(100)]
                futs = [ring.read(fd, b, i * 512) for i, b in enumerate(bufs)]
                # all 100 queued, none submitted yet
                assert L.io_uring_sq_ready(ring.ring.uring) == 100
                await asyncio.sleep(0)      # the end of this iteration: one flush sends them all
                assert L.io_uring_sq_ready(ring.ring.uring) == 0
                assert await asyncio.gather(*futs) == [512] * 100
                assert L.io_uring_sq_ready(ring.ring.uring) == 0
                assert b"".join(bufs) == data[:51200]
        finally:
            os.close(fd)
    arun(main())


# ---- the loop never blocks -----------------------------------------------------------------------

async def _ticker(stop, stamps):
    while not stop.is_set():
        stamps.append(time.monotonic())
        await asyncio.sleep(0.001)


def _max_gap(stamps):
    return max((b - a for a, b in zip(stamps, stamps[1:])), default=0.0)


def test_loop_keeps_ticking_during_1000_reads(arun, datafile):
    path, data = datafile

    async def main():
        fd = os.open(path, os.O_RDONLY)
        r, w = os.pipe()
        try:
            async with AsyncRing(256) as ring:
                stop, stamps = asyncio.Event(), []
                ticker = asyncio.ensure_future(_ticker(stop, stamps))
                await asyncio.sleep(0.005)
                # 1000 file reads in flight at once
                bufs = [bytearray(4096) for _ in range(1000)]
                res = await asyncio.gather(*(ring.read(fd, b, (i % 256) * 4096)
                                             for i, b in enumerate(bufs)))
                assert res == [4096] * 1000
                assert bytes(bufs[999]) == data[(999 % 256) * 4096:(999 % 256 + 1) * 4096]
                # 1000 pipe reads waiting in the kernel for 0.3 s: the loop keeps running
                pbufs = [bytearray(1) for _ in range(1000)]
                futs = [ring.read(r, b) for b in pbufs]
                n0 = len(stamps)
                await asyncio.sleep(0.3)
                assert not any(f.done() for f in futs)
                ticks = len(stamps) - n0
                os.write(w, bytes(range(256)) * 3 + bytes(232))
                got = await asyncio.gather(*futs)
                assert got == [1] * 1000 and ring.in_flight == 0
                stop.set()
                await ticker
                assert ticks >= 50, ticks
                assert _max_gap(stamps) < 0.2, _max_gap(stamps)
        finally:
            os.close(fd)
            os.close(r)
            os.close(w)
    arun(main())


def test_loop_keeps_ticking_during_long_timeout(arun):
    async def main():
        async with AsyncRing() as ring:
            stop, stamps = asyncio.Event(), []
            ticker = asyncio.ensure_future(_ticker(stop, stamps))
            t0 = time.monotonic()
            await ring.timeout(0.5)
            elapsed = time.monotonic() - t0
            stop.set()
            await ticker
            assert 0.45 <= elapsed < 2
            assert len(stamps) >= 100, len(stamps)   # ~450 at 1 ms; a blocked loop gives ~1
            assert _max_gap(stamps) < 0.2, _max_gap(stamps)
    arun(main())


def test_pump_never_waits():
    """Reaping with a long timer pending returns at once (no wait in the kernel)."""
    async def main():
        async with AsyncRing() as ring:
            fut = ring.timeout(10)
            await asyncio.sleep(0)
            t0 = time.monotonic()
            for _ in range(100):
                ring._pump()
            assert time.monotonic() - t0 < 0.5
            assert not fut.done()
        with pytest.raises(OSError) as ei:     # cancelled by the close
            await fut
        assert ei.value.errno == errno.ECANCELED
    asyncio.run(main())


# ---- closing ---------------------------------------------------------------------------------------

def test_aclose_cancels_in_flight(arun):
    async def main():
        a, b = socket.socketpair()
        with a, b:
            ring = AsyncRing()
            buf = bytearray(16)
            fut = ring.recv(a, buf)
            timer = ring.timeout(3600)
            done = ring.nop()
            await asyncio.sleep(0.01)
            fd = ring.fd
            t0 = time.monotonic()
            await ring.aclose()
            assert time.monotonic() - t0 < 2
            assert await done == 0
            for f in (fut, timer):
                with pytest.raises(OSError) as ei:
                    await f
                assert ei.value.errno == errno.ECANCELED
            assert ring.ring.closed and ring.in_flight == 0
            assert not asyncio.get_running_loop().remove_reader(fd)    # not watched any more
            buf.extend(b"free")             # nothing pinned any more
            b.send(b"unread")
            assert a.recv(10) == b"unread"
    arun(main())


def test_async_with_exit_cancels_in_flight(arun):
    async def main():
        a, b = socket.socketpair()
        with a, b:
            async with AsyncRing() as ring:
                fut = ring.recv(a, 16)
                await asyncio.sleep(0.01)
            with pytest.raises(OSError) as ei:
                await fut
            assert ei.value.errno == errno.ECANCELED
            assert ring.closed
    arun(main())


def test_sync_close():
    async def main():
        a, b = socket.socketpair()
        with a, b:
            ring = AsyncRing()
            fut = ring.recv(a, 16)
            await asyncio.sleep(0.01)
            ring.close()
            with pytest.raises(OSError) as ei:
                await fut
            assert ei.value.errno == errno.ECANCELED
    asyncio.run(main())


# ---- ring configurations -------------------------------------------------------------------------

CONFIGS = {
    "sqpoll": dict(sqpoll=True),
    "coop_taskrun": dict(flags=L.IORING_SETUP_COOP_TASKRUN | L.IORING_SETUP_TASKRUN_FLAG),
}   # DEFER_TASKRUN is refused: tests/test_asyncio_defer_taskrun.py


@pytest.mark.parametrize("config", list(CONFIGS))
def test_ring_configurations(arun, config, datafile):
    """Completions posted later (socket data, timers) reach the loop in every configuration."""
    path, data = datafile

    async def main():
        try:
            ring = AsyncRing(64, **CONFIGS[config])
        except OSError as exc:
            pytest.skip(f"kernel refused {config}: {exc}")
        a, b = socket.socketpair()
        fd = os.open(path, os.O_RDONLY)
        try:
            async with ring:
                fut = ring.recv(a, 16)
                await asyncio.sleep(0.02)
                b.send(b"later")
                assert await asyncio.wait_for(fut, 5) == b"later"
                assert await asyncio.wait_for(ring.timeout(0.02), 5) == 0
                bufs = [bytearray(4096) for _ in range(100)]
                res = await asyncio.wait_for(
                    asyncio.gather(*(ring.read(fd, x, i * 4096) for i, x in enumerate(bufs))), 5)
                assert res == [4096] * 100 and b"".join(bufs) == data[:409600]
                fut = ring.recv(a, 16)
                await asyncio.sleep(0.01)
                fut.cancel()
                await _wait_until(fut.operation.done)
                assert fut.operation.res == -errno.ECANCELED
        finally:
            os.close(fd)
            a.close()
            b.close()
    arun(main())


def test_coop_taskrun_by_default(arun):
    """AsyncRing sets IORING_SETUP_COOP_TASKRUN up (the kernel posts completions at the loop
    thread's next system call instead of interrupting it), not with sqpoll (which rules it
    out); a completion that arrives while the loop sleeps in its
    poll still wakes it."""
    coop = L.IORING_SETUP_COOP_TASKRUN

    async def main():
        async with AsyncRing(16) as ring:
            assert ring.ring.uring.flags & coop
            a, b = socket.socketpair()
            with a, b:
                fut = ring.recv(a, 16)
                await asyncio.sleep(0.02)        # the loop sleeps in its poll meanwhile
                threading.Timer(0.02, b.send, (b"woken",)).start()
                assert await asyncio.wait_for(fut, 5) == b"woken"
        async with AsyncRing(16, sqpoll=True) as ring:
            assert not ring.ring.uring.flags & coop
    arun(main())


def test_iopoll_is_refused():
    with pytest.raises(ValueError, match="IOPOLL"):
        AsyncRing(flags=L.IORING_SETUP_IOPOLL)


def test_run_sequence_is_a_task_and_cancels_its_requests(arun):
    async def main():
        a, b = socket.socketpair()
        with a, b:
            async with AsyncRing() as ring:
                ops = []

                def two_recvs(rg):
                    ops.extend([rg.recv(a, 4), rg.recv(a, 4)])
                    return ops
                waiter = ring.run(two_recvs)
                assert isinstance(waiter, asyncio.Future)
                await asyncio.sleep(0.01)
                assert ring.in_flight == 2 and repr(ring).endswith("in_flight=2>")
                waiter.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await waiter
                await _wait_until(lambda: all(op.done() for op in ops))
                assert [op.res for op in ops] == [-errno.ECANCELED] * 2
                assert ring.in_flight == 0
            assert repr(ring) == "<AsyncRing closed>"
    arun(main())
