"""The Pythonic layer: ioring.Ring, Operation, BufferPool and the batch entry points."""
import array
import errno
import gc
import os
import signal
import socket
import threading
import time
import warnings

import pytest

import ioring
from ioring import liburing as L


RING = ("Ring", 32)             # the conftest ring fixture: an ioring.Ring(32)


@pytest.fixture
def datafile(tmp_path):
    path = tmp_path / "data"
    payload = bytes(range(256)) * 256          # 64 KiB, every 4 KiB block distinct enough
    path.write_bytes(payload)
    fd = os.open(path, os.O_RDWR)
    yield fd, payload, path
    os.close(fd)


def test_context_manager_closes_the_ring():
    with ioring.Ring(8) as ring:
        fd = ring.fd
        assert not ring.closed
    assert ring.closed
    with pytest.raises(OSError):
        os.fstat(fd)
    ring.close()  # idempotent


def test_a_closed_ring_refuses_waits_and_batches():
    ring = ioring.Ring(8)
    ring.close()
    for call in (lambda: ring.wait(1), lambda: ring.wait(0), lambda: ring.wait(2, timeout=0.1),
                 lambda: ring.nop_many(1), ring.submit, ring.nop):
        with pytest.raises(ValueError):
            call()


def test_read_write_results_and_data(ring, datafile):
    fd, payload, _ = datafile
    buf = bytearray(100)
    op = ring.read(fd, buf, 1000)
    assert not op.done()
    assert op.result() == 100 and op.done()
    assert buf == payload[1000:1100]
    assert ring.write(fd, b"XYZ", 5).result() == 3
    assert os.pread(fd, 3, 5) == b"XYZ"
    assert ring.read(fd, buf, 65536 - 10).result() == 10       # short read, reported as is


def test_read_at_current_position(ring, datafile):
    fd, payload, _ = datafile
    os.lseek(fd, 500, os.SEEK_SET)
    buf = bytearray(10)
    assert ring.read(fd, buf).result() == 10
    assert buf == payload[500:510] and os.lseek(fd, 0, os.SEEK_CUR) == 510


def test_errors_name_the_request(ring, tmp_path):
    missing = str(tmp_path / "missing")
    op = ring.openat(missing)
    with pytest.raises(FileNotFoundError) as info:
        op.result()
    assert info.value.filename == missing and "openat" in str(info.value)
    with pytest.raises(OSError) as info:
        ring.read(9999, bytearray(4), 0).result()
    assert info.value.errno == errno.EBADF and "fd=9999" in str(info.value)
    assert isinstance(ring.read(9999, bytearray(4), 0).exception(), OSError)


def test_openat_statx_close(ring, tmp_path):
    path = tmp_path / "f"
    fd = ring.openat(path, os.O_CREAT | os.O_WRONLY, 0o600).result()
    try:
        ring.write(fd, b"12345").result()
    finally:
        assert ring.close_fd(fd).result() == 0
    with pytest.raises(OSError):
        os.fstat(fd)
    st = ring.statx(path).result()
    assert st.stx_size == 5 and st.stx_mode & 0o777 == 0o600


def test_readv_writev_fsync(ring, datafile):
    fd, payload, _ = datafile
    a, b = bytearray(3), bytearray(5)
    assert ring.readv(fd, [a, b], 10).result() == 8
    assert a + b == payload[10:18]
    assert ring.writev(fd, [b"ab", b"cd"], 0).result() == 4
    assert ring.fsync(fd, datasync=True).result() == 0
    assert os.pread(fd, 4, 0) == b"abcd"


def test_socket_ops(ring):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    client = socket.socket()
    try:
        acc = ring.accept(listener)
        con = ring.connect(client, listener.getsockname())
        assert con.result(timeout=5) == 0
        conn_fd = acc.result(timeout=5)
        try:
            assert ring.send(client, b"ping").result() == 4
            assert ring.recv(conn_fd, 16).result(timeout=5) == b"ping"
            buf = bytearray(8)
            ring.send(conn_fd, b"pong").result()
            assert ring.recv(client, buf).result(timeout=5) == 4 and buf[:4] == b"pong"
        finally:
            os.close(conn_fd)
    finally:
        client.close()
        listener.close()


def test_timeout_and_wait(ring):
    start = time.monotonic()
    op = ring.timeout(0.05)
    assert op.result() == 0
    assert 0.04 < time.monotonic() - start < 2
    pending = ring.timeout(10)
    assert ring.wait(1, timeout=0.05) == 0
    with pytest.raises(TimeoutError):
        pending.result(timeout=0.02)
    assert pending.cancel()
    with pytest.raises(OSError) as info:
        pending.result(timeout=5)
    assert info.value.errno == errno.ECANCELED


def test_per_request_timeout_cancels_a_blocked_read(ring):
    r, w = os.pipe()
    try:
        op = ring.read(r, bytearray(4), timeout=0.05)
        with pytest.raises(OSError) as info:
            op.result(timeout=5)
        assert info.value.errno == errno.ECANCELED
        os.write(w, b"abcd")
        assert ring.read(r, bytearray(4), timeout=5).result(timeout=5) == 4   # timer never fires
    finally:
        os.close(r)
        os.close(w)


def test_cancel_a_blocked_read(ring):
    r, w = os.pipe()
    try:
        op = ring.read(r, bytearray(4))
        ring.submit()
        assert op.cancel()
        with pytest.raises(OSError) as info:
            op.result(timeout=5)
        assert info.value.errno == errno.ECANCELED
        assert not op.cancel()           # already done
    finally:
        os.close(r)
        os.close(w)


def test_linked_chain_runs_in_order_and_stops_at_a_failure(ring, datafile):
    fd, payload, _ = datafile
    out = bytearray(2)
    with ring.linked():
        w = ring.write(fd, b"QQ", 0)
        s = ring.fsync(fd)
        r = ring.read(fd, out, 0)
    assert (w.result(), s.result(), r.result()) == (2, 0, 2) and out == b"QQ"
    with ring.linked():
        bad = ring.read(9999, bytearray(1), 0)
        after = ring.nop()
    with pytest.raises(OSError) as info:
        after.result()
    assert info.value.errno == errno.ECANCELED
    assert bad.exception().errno == errno.EBADF
    nxt = ring.nop()                     # not linked to the chain before it
    assert nxt.result() == 0


def test_drain_flag(ring):
    r, w = os.pipe()
    try:
        first = ring.read(r, bytearray(1))
        drained = ring.nop(flags=L.IOSQE_IO_DRAIN)
        ring.submit()
        assert ring.wait(1, timeout=0.05) == 0 and not drained.done()
        os.write(w, b"x")
        assert drained.result(timeout=5) == 0 and first.done()
    finally:
        os.close(r)
        os.close(w)


def test_sq_full_submits_automatically():
    with ioring.Ring(4) as ring:
        ops = [ring.nop() for _ in range(50)]
        assert all(op.result() == 0 for op in ops)
        assert ring.in_flight == 0


def test_completions_iterator(ring):
    ops = {ring.nop() for _ in range(10)}
    seen = set(ring.completions())
    assert seen == ops


def test_done_callbacks(ring):
    calls = []
    op = ring.nop()
    op.add_done_callback(calls.append)
    op.result()
    assert calls == [op]
    op.add_done_callback(calls.append)
    assert calls == [op, op]


def test_generic_queue_with_thin_layer_preps(ring, tmp_path):
    path = tmp_path / "dir"
    assert ring.queue(L.io_uring_prep_mkdirat, L.AT_FDCWD, str(path), 0o755, path=str(path)).result() == 0
    assert path.is_dir()
    op = ring.queue(L.io_uring_prep_mkdirat, L.AT_FDCWD, str(path), 0o755, path=str(path))
    with pytest.raises(FileExistsError):
        op.result()


def test_closing_with_requests_in_flight_cancels_them():
    r, w = os.pipe()
    try:
        ring = ioring.Ring(8)
        buf = bytearray(4)
        op = ring.read(r, buf)
        ring.submit()
        ring.close()
        assert op.done() and op.res == -errno.ECANCELED
        buf.append(0)                    # unpinned
        os.write(w, b"late")
        assert buf[:4] == b"\0\0\0\0"
    finally:
        os.close(r)
        os.close(w)


def test_unclosed_ring_warns():
    ring = ioring.Ring(8)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del ring
        gc.collect()
    assert any(issubclass(w.category, ResourceWarning) for w in caught)


# ---- batches ----------------------------------------------------------------------------------

def test_nop_many(ring):
    assert ring.nop_many(1000) == 1000
    assert ring.nop_many(0) == 0


def test_read_many_and_write_many(ring, datafile):
    fd, payload, _ = datafile
    bufs = [bytearray(4096) for _ in range(16)]
    offsets = [i * 4096 for i in range(16)][::-1]
    res = ring.read_many(fd, bufs, offsets)
    assert isinstance(res, array.array) and list(res) == [4096] * 16
    for buf, off in zip(bufs, offsets):
        assert buf == payload[off:off + 4096]
    res = ring.write_many(fd, [b"A" * 10, b"B" * 10], [0, 100])
    assert list(res) == [10, 10]
    assert os.pread(fd, 10, 100) == b"B" * 10


@pytest.mark.parametrize("make", [
    lambda v: array.array("q", v), lambda v: array.array("Q", v), lambda v: array.array("l", v),
    lambda v: memoryview(array.array("q", v)), lambda v: memoryview(array.array("q", v)).cast("B").cast("Q"),
    # not 8-byte native ints or not contiguous: converted item by item, same result
    lambda v: array.array("i", v), lambda v: memoryview(array.array("q", [x for x in v for _ in "ab"]))[::2],
    list, tuple, lambda v: range(v[0], v[-1] + 1, 4096)])
def test_batch_offsets_may_be_any_sequence_or_a_buffer_of_int64(ring, datafile, make):
    fd, payload, _ = datafile
    offsets = make([i * 4096 for i in range(8)])
    bufs = [bytearray(4096) for _ in range(8)]
    assert list(ring.read_many(fd, bufs, offsets)) == [4096] * 8
    assert [bytes(b) for b in bufs] == [payload[i * 4096:(i + 1) * 4096] for i in range(8)]


def test_batch_int64_offsets_keep_the_checks(ring, datafile, tmp_path):
    fd, payload, _ = datafile
    bufs = [bytearray(4) for _ in range(3)]
    for bad in (array.array("q", [0, -2, 0]), [0, -2, 0], [0, 2 ** 64, 0]):
        with pytest.raises(ValueError, match="offset 1 is outside 0..2"):
            ring.read_many(fd, bufs, bad)
    with pytest.raises(ValueError, match="3 buffers but 2 offsets"):
        ring.read_many(fd, bufs, array.array("q", [0, 0]))
    # -1: the file position, as for a list (a fresh fd, read from 0 then on)
    with open(tmp_path / "pos", "wb") as f:
        f.write(b"0123456789ab")
    pfd = os.open(tmp_path / "pos", os.O_RDONLY)
    try:
        one = [bytearray(4)]
        assert list(ring.read_many(pfd, one, array.array("q", [-1]))) == [4]
        assert list(ring.read_many(pfd, one + [], array.array("Q", [2 ** 64 - 1]))) == [4]
        assert one[0] == b"4567"
    finally:
        os.close(pfd)
    # unsigned offsets past 2**63: the kernel's EINVAL per request, as for a list
    assert list(ring.read_many(fd, bufs[:1], array.array("Q", [2 ** 63]))) == \
        list(ring.read_many(fd, bufs[:1], [2 ** 63]))


def test_batch_larger_than_the_sq(datafile):
    fd, payload, _ = datafile
    with ioring.Ring(4) as ring:
        bufs = [bytearray(16) for _ in range(100)]
        res = ring.read_many(fd, bufs, [i * 16 for i in range(100)])
        assert list(res) == [16] * 100
        assert b"".join(bufs) == payload[:1600]


def test_batch_reports_errors_per_request(ring, datafile):
    fd, _, _ = datafile
    res = ring.read_many(9999, [bytearray(4)], [0])
    assert list(res) == [-errno.EBADF]
    res = ring.read_many(fd, [bytearray(4), bytearray(4)], [0, 10**9])
    assert list(res) == [4, 0]


def test_batch_bad_arguments(ring, datafile):
    fd, _, _ = datafile
    with pytest.raises(ValueError):
        ring.read_many(fd, [bytearray(4)], [0, 4])
    with pytest.raises(TypeError):
        ring.read_many(fd, [b"read-only"], [0])
    with pytest.raises(TypeError):
        ring.read_many(fd, [bytearray(4)], [1.5])


def test_batch_alongside_single_requests(ring, datafile):
    fd, payload, _ = datafile
    single = ring.read(fd, bytearray(8), 0)
    ring.submit()
    res = ring.read_many(fd, [bytearray(8)], [8])
    assert list(res) == [8]
    assert single.result() == 8


def test_buffer_pool_reads_use_registered_buffers(ring, datafile):
    fd, payload, _ = datafile
    with ioring.BufferPool(ring, 4, 1000) as pool:
        assert pool.size == 4096 and len(pool) == 4
        index, view = pool.acquire()
        assert (view.nbytes, memoryview(view).obj is not None) == (4096, True)
        op = ring.read(fd, view, 4096)
        assert op.kind == "read_fixed" and op.result() == 4096
        assert bytes(view) == payload[4096:8192]
        pool.release(index)
        with pool.buffer() as (i, v):
            assert ring.write(fd, v[:4], 0).kind == "write_fixed"
        res = ring.read_fixed_many(fd, [pool[1], pool[2]], [0, 8192], [1, 2])
        assert list(res) == [4096, 4096] and bytes(pool[2]) == payload[8192:12288]
        with pytest.raises(ValueError):
            ring.read_fixed_many(fd, [bytearray(10)], [0], [0])
        for _ in range(4):
            pool.acquire()
        with pytest.raises(IndexError):
            pool.acquire()
    assert ring.read(fd, bytearray(4), 0).kind == "read"


def test_buffer_pool_memory_is_page_aligned(ring):
    import ctypes
    with ioring.BufferPool(ring, 2, 4096) as pool:
        addr = ctypes.addressof(ctypes.c_char.from_buffer(pool[1]))
        assert addr % 4096 == 0


def test_interrupted_batch_keeps_buffers_pinned_until_the_kernel_is_done():
    r, w = os.pipe()
    try:
        ring = ioring.Ring(8)
        bufs = [bytearray(4) for _ in range(2)]
        threading.Timer(0.1, signal.pthread_kill, (threading.main_thread().ident, signal.SIGINT)).start()
        with pytest.raises(KeyboardInterrupt):
            ring.read_many(r, bufs, [-1, -1])        # blocks: nothing to read
        for b in bufs:
            with pytest.raises(BufferError):
                b.append(0)                         # still pinned: the reads are in flight
        os.write(w, b"12345678")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            ring.wait(1, timeout=0.1)
            try:
                bufs[0].append(0)
                bufs[1].append(0)
                break
            except BufferError:
                continue
        assert b"".join(b[:4] for b in bufs) in (b"12345678", b"56781234")
        ring.close()
    finally:
        os.close(r)
        os.close(w)


def test_batch_writes_never_lose_a_completion(tmp_path):
    """Regression: the batch loop handed its CQE count to _reap, which re-read the CQ and also
    consumed batch CQEs that arrived meanwhile, so the batch waited forever for them (seen
    every few thousand write_many calls, whose writes complete in kernel workers)."""
    import faulthandler
    fd = os.open(tmp_path / "w", os.O_RDWR | os.O_CREAT)
    faulthandler.dump_traceback_later(120, exit=True)     # a hang fails the run, loudly
    try:
        with ioring.Ring(32) as ring:
            bufs = [bytes([i]) * 512 for i in range(32)]
            offsets = [i * 512 for i in range(32)]
            for _ in range(3000):
                assert list(ring.write_many(fd, bufs, offsets)) == [512] * 32
    finally:
        faulthandler.cancel_dump_traceback_later()
        os.close(fd)


def test_unclosed_ring_at_interpreter_exit_is_quiet(tmp_path):
    """Regression: Ring.__del__ imported warnings at interpreter exit ("sys.meta_path is None")."""
    import subprocess
    import sys
    code = "import ioring\nring = ioring.Ring(8)\nring.nop()\n"
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(ioring.__file__)))
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            text=True, timeout=30, env=env)
    assert result.returncode == 0
    assert "Exception ignored" not in result.stderr and "Error" not in result.stderr, result.stderr


# ---- threads sharing one Ring (the 8-thread stress scenarios are in test_threads.py) ----------

def _in_thread(fn):
    out = {}

    def run():
        try:
            out["value"] = fn()
        except BaseException as exc:   # noqa: B902
            out["error"] = exc
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, out


@pytest.fixture
def two_pipes():
    fds = os.pipe() + os.pipe()
    yield fds
    for fd in fds:
        os.close(fd)


def test_second_waiter_returns_as_soon_as_its_request_completes(ring, two_pipes):
    """Thread A waits (in the kernel) for a read that does not complete; the main thread waits
    for another read, which completes 0.1 s later. It returns then, whichever thread reaps that
    completion (a thread whose wait found its request reaped by the other used to go back to
    sleep in the kernel), well before the 1 s bound of a wait in the kernel."""
    r1, w1, r2, w2 = two_pipes
    op1 = ring.read(r1, bytearray(4))
    t, out = _in_thread(op1.result)
    time.sleep(0.1)
    op2 = ring.read(r2, bytearray(4))
    timer = threading.Timer(0.1, os.write, (w2, b"abcd"))
    timer.start()
    start = time.monotonic()
    assert op2.result(timeout=5) == 4
    assert time.monotonic() - start < 0.9
    assert t.is_alive() and not op1.done()
    os.write(w1, b"wxyz")
    t.join(5)
    assert out == {"value": 4}
    timer.join()


def test_result_timeout_while_another_thread_waits_in_the_kernel(ring, two_pipes):
    r1, w1, r2, w2 = two_pipes
    op1 = ring.read(r1, bytearray(4))
    t, out = _in_thread(op1.result)
    time.sleep(0.1)
    op2 = ring.read(r2, bytearray(4))
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        op2.result(timeout=0.3)
    assert 0.25 <= time.monotonic() - start < 2.0
    os.write(w2, b"efgh")
    assert op2.result(timeout=5) == 4
    os.write(w1, b"wxyz")
    t.join(5)
    assert out == {"value": 4}


def test_close_while_another_thread_waits_refuses(ring, two_pipes):
    r1, w1, _, _ = two_pipes
    op1 = ring.read(r1, bytearray(4))
    t, out = _in_thread(op1.result)
    time.sleep(0.1)
    with pytest.raises(RuntimeError, match="another thread"):
        ring.close()
    assert not ring.closed
    os.write(w1, b"wxyz")
    t.join(5)
    assert out == {"value": 4}
    ring.close()
    assert ring.closed


def test_batches_in_two_threads_and_a_waiter_in_a_third(ring, two_pipes):
    """read_many in one thread (its read waits for data), nop_many in another, result() of a
    single read in a third: each gets exactly its own completions."""
    r1, w1, r2, w2 = two_pipes
    buf = bytearray(4)
    reader, rout = _in_thread(lambda: list(ring.read_many(r1, [buf], [-1])))
    single_op = ring.read(r2, bytearray(4))
    single, sout = _in_thread(single_op.result)
    time.sleep(0.1)
    for _ in range(50):
        assert ring.nop_many(10) == 10
    assert reader.is_alive() and single.is_alive()
    with pytest.raises(BufferError):        # the batch's read is in flight: its buffer pinned
        buf.append(0)
    os.write(w1, b"1234")
    reader.join(5)
    assert rout == {"value": [4]} and buf == b"1234"
    os.write(w2, b"5678")
    single.join(5)
    assert sout == {"value": 4}


def test_single_issuer_ring_refuses_other_threads_clearly():
    try:
        r = ioring.Ring(8, flags=L.IORING_SETUP_SINGLE_ISSUER)
    except OSError as exc:
        pytest.skip(f"IORING_SETUP_SINGLE_ISSUER: {exc}")
    with r:
        assert r.nop().result() == 0
        errors = []

        def other():
            for call in (r.nop, r.submit, lambda: r.wait(0), lambda: r.nop_many(1)):
                try:
                    call()
                    errors.append("accepted")
                except RuntimeError as exc:
                    errors.append("SINGLE_ISSUER" in str(exc))
                except BaseException as exc:   # noqa: B902
                    errors.append(repr(exc))
        t = threading.Thread(target=other)
        t.start()
        t.join(5)
        assert errors == [True] * 4
        assert r.in_flight == 0
        assert r.nop_many(3) == 3
