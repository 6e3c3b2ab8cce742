"""A typed tour of every layer of ioring, checked with ``mypy --strict`` (tools/check_stubs.sh).

It is also a program: ``python tests/typing/usage_example.py`` runs it against the kernel (and
tests/test_wheel.py-style runs may execute it), so the annotations below are the types the
calls really return, not wishes. Layers:

1. ``ioring.liburing``: liburing's C API one-to-one (rings, SQEs, CQEs, probes, structs);
2. ``ioring.Ring`` / ``Operation``: the Pythonic layer, linked chains, batch entry points;
3. ``ioring.BufferPool``: registered buffers (READ_FIXED/WRITE_FIXED);
4. ``ioring.asyncio.AsyncRing``: awaitable requests;
5. ``ioring.files``: whole-file helpers.
"""
from __future__ import annotations

import array
import asyncio
import os
import socket
import tempfile
import zipfile
from typing import Optional

import ioring
from ioring import BufferPool, BufferRing, LatencyHistogram, Multishot, Operation, Ring, StreamResult
from ioring import liburing as L
from ioring.asyncio import AsyncMultishot, AsyncRing, OpFuture, Server, StreamReader, StreamWriter
from ioring.files import copy_file, extract_zip, install_wheel, read_files, write_files


def thin_layer(path: str) -> bytes:
    """Layer 1: liburing's calls, names and argument order; out-parameters returned."""
    ring = L.io_uring()
    L.io_uring_queue_init(8, ring, 0)
    try:
        probe: L.io_uring_probe = L.io_uring_get_probe()
        assert L.io_uring_opcode_supported(probe, L.IORING_OP_READ)

        fd = os.open(path, os.O_RDONLY)
        buf = bytearray(64)
        sqe: Optional[L.io_uring_sqe] = L.io_uring_get_sqe(ring)
        assert sqe is not None
        L.io_uring_prep_read(sqe, fd, buf, len(buf), 0)
        L.io_uring_sqe_set_data64(sqe, 42)

        st = L.statx()
        sqe2 = L.io_uring_get_sqe(ring)
        assert sqe2 is not None
        L.io_uring_prep_statx(sqe2, L.AT_FDCWD, path, 0, L.STATX_BASIC_STATS, st)
        L.io_uring_sqe_set_data64(sqe2, 43)

        submitted: int = L.io_uring_submit(ring)
        assert submitted == 2
        nread = 0
        for _ in range(2):
            cqe: Optional[L.io_uring_cqe] = L.io_uring_wait_cqe_timeout(ring, L.kernel_timespec(5, 0))
            assert cqe is not None
            user_data: int = L.io_uring_cqe_get_data64(cqe)
            res: int = cqe.res
            if user_data == 42:
                nread = res
            L.io_uring_cqe_seen(ring, cqe)
        os.close(fd)
        size: int = st.stx_size
        assert size >= nread
        return bytes(buf[:nread])
    finally:
        L.io_uring_queue_exit(ring)


def pythonic_layer(path: str) -> int:
    """Layer 2: Ring, Operation, linked chains, completions, batch calls."""
    with Ring(64) as ring:
        nop: Operation = ring.nop()
        assert nop.result(timeout=5) == 0

        opened = ring.openat(path, os.O_RDWR)
        fd: int = opened.result(timeout=5)
        data = b"typed ioring\n"
        with ring.linked():
            w = ring.write(fd, data, 0)
            s = ring.fsync(fd, datasync=True)
        ring.submit()
        for op in ring.completions(timeout=5):
            assert op.exception() is None, op.describe()
        assert w.result() == len(data) and s.result() == 0

        st: L.statx = ring.statx(path).result(timeout=5)
        assert st.stx_size >= len(data)

        buffers = [bytearray(4) for _ in range(3)]
        results: array.array[int] = ring.read_many(fd, buffers, [0, 4, 8])
        assert list(results) == [4, 4, 4]
        assert ring.nop_many(10) == 10

        done: list[int] = []
        t = ring.timeout(0.001)
        t.add_done_callback(lambda op: done.append(op.user_data))
        ring.wait(1, timeout=5)

        a, b = socket.socketpair()
        with a, b:
            ring.send(a, b"ping").result(timeout=5)
            got: bytes = ring.recv(b, 4).result(timeout=5)
            assert got == b"ping"

        ring.close_fd(fd).result(timeout=5)
        return int(st.stx_size)


def buffer_pool(path: str) -> bytes:
    """Layer 3: registered buffers; Ring.read picks READ_FIXED for pool buffers."""
    with Ring(16) as ring:
        pool = BufferPool(ring, 2, 4096)
        try:
            fd = os.open(path, os.O_RDONLY)
            try:
                with pool.buffer() as (index, view):
                    assert 0 <= index < len(pool)
                    n: int = ring.read(fd, view, 0).result(timeout=5)
                    return bytes(view[:n])
            finally:
                os.close(fd)
        finally:
            pool.close()


def storage_stream(path: str) -> float:
    """Layer 2b: a constant-depth stream (fio-style), its latency histogram and record."""
    with Ring(8) as ring:
        fd = os.open(path, os.O_RDONLY)
        try:
            result: StreamResult = ring.run_stream(fd, rw="read", bs=16, iodepth=4, count=40,
                                                   record=True)
        finally:
            os.close(fd)
    lat: LatencyHistogram = result.lat
    p99: Optional[float] = lat.percentile(99)
    us: dict[str, Optional[float]] = lat.percentiles_us()
    assert result.errors == 0 and result.ios == 40 and p99 is not None and "p99.9" in us
    assert result.record is not None and len(result.record) == 40
    iops: float = result.iops
    return iops


async def async_layer(path: str) -> bytes:
    """Layer 4: AsyncRing, every request an awaitable OpFuture."""
    async with AsyncRing(32) as ring:
        fut: OpFuture = ring.openat(path)
        fd: int = await fut
        buf = bytearray(64)
        n: int = await ring.read(fd, buf, 0)
        await ring.close_fd(fd)
        await ring.sleep(0.001)
        assert ring.in_flight == 0
        return bytes(buf[:n])


def multishot_layer() -> list[bytes]:
    """Multishot requests: one request, a result per completion, as (async) iterators."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    with srv, Ring(16) as ring:
        conns: Multishot[int] = ring.accept_multishot(srv)
        client = socket.create_connection(srv.getsockname())
        fd: int = next(conns)
        conns.close()
        buffers = BufferRing(ring, 8, 4096)
        data: Multishot[bytes] = ring.recv_multishot(fd, buffers)
        client.sendall(b"multishot")
        client.close()
        got = list(data)
        os.close(fd)
        ticks: list[int] = list(ring.timeout_multishot(0.001, count=2))
        assert ticks == [1, 2] and buffers.available == 8

    async def echo_once() -> bytes:
        async with AsyncRing(16) as aring:
            a, b = socket.socketpair()
            with a, b:
                chunks: AsyncMultishot[bytes] = aring.recv_multishot(a)
                b.sendall(b"async")
                chunk: bytes = await chunks.__anext__()
                chunks.close()
                return chunk
    return got + [asyncio.run(echo_once())]


def files_layer(directory: str) -> list[bytes]:
    """Layer 5: whole-file helpers over io_uring."""
    names = [os.path.join(directory, f"f{i}.bin") for i in range(5)]
    written: int = write_files({name: b"x" * (i + 1) for i, name in enumerate(names)})
    assert written == 15
    copied: str = copy_file(names[-1], os.path.join(directory, "copy.bin"))
    archive = os.path.join(directory, "w-1.0-py3-none-any.whl")
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("w.py", "x = 1\n")
        z.writestr("w-1.0.dist-info/METADATA", "Name: w\nVersion: 1.0\n")
        z.writestr("w-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\n")
    unpacked: list[str] = extract_zip(archive, os.path.join(directory, "x"), max_ratio=None,
                                      threads=2, progress=lambda done, total: None)
    installed: list[str] = install_wheel(archive, os.path.join(directory, "t"),
                                         verify_record=False, compile_bytecode=False)
    assert len(unpacked) == 3 and len(installed) == 7
    return read_files([*names, copied])


def ring_files_and_sendall(directory: str) -> list[bytes]:
    """Ring's whole-file chains and sendall."""
    path = os.path.join(directory, "ring.bin")
    with Ring(32) as ring:
        n: int = ring.write_file(path, b"ring file", 0o600).result(timeout=5)
        data: bytes = ring.read_file(path, timeout=5.0).result(timeout=5)
        assert n == len(data) == 9
        total: int = ring.write_files({path: b"again"})
        contents: list[bytes] = ring.read_files([path])
        assert total == 5
        a, b = socket.socketpair()
        with a, b:
            sent: int = ring.sendall(a, b"all of it").result(timeout=5)
            assert b.recv(100) == b"all of it" and sent == 9
        return [data, *contents]


async def async_files_and_streams(directory: str) -> list[bytes]:
    """AsyncRing's whole-file chains, sendall, accepted sockets and the streams pair."""
    path = os.path.join(directory, "async.bin")
    async with AsyncRing() as ring:
        written: int = await ring.write_file(path, b"async file")
        data: bytes = await ring.read_file(path)
        many: list[bytes] = await asyncio.gather(*(ring.read_file(p) for p in [path, path]))
        batch: list[bytes] = await ring.read_files([path])
        total: int = await ring.write_files({path: b"x"})
        assert written == 10 and total == 1 and many == batch * 2

        async def echo(reader: StreamReader, writer: StreamWriter) -> None:
            while chunk := await reader.read(1024):
                writer.write(chunk)
                await writer.drain()
            writer.close()
            await writer.wait_closed()

        server: Server = await ring.start_server(echo, "127.0.0.1", 0)
        async with server:
            host, port = server.sockets[0].getsockname()[:2]
            reader, writer = await ring.open_connection(host, port)
            writer.write(b"echo")
            echoed: bytes = await reader.readexactly(4)
            writer.close()
            await writer.wait_closed()

        listener = socket.create_server(("127.0.0.1", 0))
        with listener:
            client = socket.create_connection(listener.getsockname())
            conn, address = await ring.accept_socket(listener)
            with client, conn:
                sent: int = await ring.sendall(conn, b"sent")
                assert client.recv(4) == b"sent" and sent == 4 and address is not None
            client = socket.create_connection(listener.getsockname())
            accepted: AsyncMultishot[tuple[socket.socket, object]] = ring.accept_multishot(
                listener, as_socket=True)
            async for sock, _ in accepted:
                sock.close()
                break
            accepted.close()
            client.close()
        return [data, echoed]


def main() -> None:
    version: tuple[int, int] = ioring.liburing_version()
    supported: dict[str, bool] = ioring.kernel_probe()
    assert supported["IORING_OP_NOP"], version
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "data.txt")
        with open(path, "wb") as f:
            f.write(b"hello, io_uring\n" * 4)
        assert thin_layer(path).startswith(b"hello")
        assert pythonic_layer(path) > 0
        assert buffer_pool(path).startswith(b"typed ioring")
        assert storage_stream(path) > 0
        assert asyncio.run(async_layer(path)).startswith(b"typed ioring")
        assert b"".join(multishot_layer()) == b"multishotasync"
        assert files_layer(tmp)[-1] == b"xxxxx"
        assert ring_files_and_sendall(tmp) == [b"ring file", b"again"]
        assert asyncio.run(async_files_and_streams(tmp)) == [b"async file", b"echo"]
    print("usage example: every layer ran")


if __name__ == "__main__":
    main()
