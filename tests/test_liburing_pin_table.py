"""A read's or a write's buffer is pinned in the ring's pin table itself (io_uring._pin_put_view:
the export held in a C array beside _pin_store, no _Buffer object per request, issue 18). These
tests follow such an export through every path: consumed, refused, merged with another
request's pins (re-preparing an SQE: test_liburing_tracking.py), moved into a set_data record, the table grown under it, the ring closed
or dropped with it in flight. A bytearray that is still exported cannot be resized, and a
memoryview cannot be released: that is what they check."""
import gc
import os
import warnings
import weakref

import pytest

from helpers import reap, resizable
from ioring import liburing as L


def _pending_read(ring, fd, buf, user_data, nbytes=1):
    sqe = L.io_uring_get_sqe(ring)
    if sqe is None:
        L.io_uring_submit(ring)
        sqe = L.io_uring_get_sqe(ring)
    L.io_uring_prep_read(sqe, fd, buf, nbytes, -1)
    L.io_uring_sqe_set_data64(sqe, user_data)
    return sqe


def test_a_read_pins_its_buffer_until_its_completion_is_consumed(ring, pipe):
    r, w = pipe
    buf = bytearray(4)
    _pending_read(ring, r, buf, 1, 4)
    assert not resizable(buf)
    L.io_uring_submit(ring)
    assert not resizable(buf)
    os.write(w, b"abcd")
    ts = L.kernel_timespec(5, 0)
    cqe = L.io_uring_wait_cqe_timeout(ring, ts)
    assert (cqe.user_data, cqe.res) == (1, 4)
    assert not resizable(buf)                       # completed, not consumed yet
    L.io_uring_cqe_seen(ring, cqe)
    assert resizable(buf) and bytes(buf) == b"abcd"


def test_a_write_pins_its_buffer_and_a_read_only_one_is_fine(ring, pipe):
    r, w = pipe
    data = bytearray(b"xyz")
    sqe = L.io_uring_get_sqe(ring)
    L.io_uring_prep_write(sqe, w, data, 3, -1)
    assert not resizable(data)
    L.io_uring_submit(ring)
    assert reap(ring, 1)[0][1] == 3
    assert resizable(data)
    sqe = L.io_uring_get_sqe(ring)
    L.io_uring_prep_write(sqe, w, b"12", 2, -1)     # bytes: exported read-only
    L.io_uring_submit(ring)
    assert reap(ring, 1)[0][1] == 2
    assert os.read(r, 16) == b"xyz12"


@pytest.mark.parametrize("bad", ["offset", "nbytes", "readonly", "not a buffer"])
def test_a_refused_prep_releases_the_export_and_leaves_the_sqe(ring, bad):
    buf = bytearray(8)
    sqe = L.io_uring_get_sqe(ring)
    L.io_uring_prep_nop(sqe)
    L.io_uring_sqe_set_data64(sqe, 7)
    args = {"offset": (buf, 8, -2), "nbytes": (buf, 9, 0), "readonly": (b"12345678", 8, 0),
            "not a buffer": (12345, 8, 0)}[bad]
    with pytest.raises((ValueError, TypeError)):
        L.io_uring_prep_read(sqe, 0, *args)
    assert resizable(buf)
    assert (sqe.opcode, sqe.user_data) == (L.IORING_OP_NOP, 7)
    L.io_uring_submit(ring)
    assert reap(ring, 1) == [(7, 0, 0)]


def test_a_memoryview_cannot_be_released_while_pinned(ring, pipe):
    r, w = pipe
    mv = memoryview(bytearray(16))[4:8]
    _pending_read(ring, r, mv, 3, 4)
    L.io_uring_submit(ring)
    with pytest.raises(BufferError):
        mv.release()
    os.write(w, b"1234")
    assert reap(ring, 1) == [(3, 4, 0)]
    assert bytes(mv) == b"1234"
    mv.release()


def test_two_reads_with_one_user_data_keep_both_exports(ring, pipe):
    """Their pins merge (_track): each export moves into a _Buffer, both held until the last
    completion of that user_data is consumed."""
    r, w = pipe
    a, b = bytearray(1), memoryview(bytearray(1))
    _pending_read(ring, r, a, 9)
    _pending_read(ring, r, b, 9)
    L.io_uring_submit(ring)
    os.write(w, b"x")
    assert reap(ring, 1) == [(9, 1, 0)]
    assert not resizable(a)
    with pytest.raises(BufferError):
        b.release()
    os.write(w, b"y")
    assert reap(ring, 1) == [(9, 1, 0)]
    assert resizable(a)
    b.release()


def test_a_set_data_object_takes_the_export_into_its_record(ring, pipe):
    r, w = pipe
    buf = bytearray(2)
    token = object()
    sqe = _pending_read(ring, r, buf, 0, 2)
    L.io_uring_sqe_set_data(sqe, token)
    L.io_uring_submit(ring)
    assert not resizable(buf)
    os.write(w, b"ok")
    cqe = L.io_uring_wait_cqe(ring)
    assert L.io_uring_cqe_get_data(cqe) is token and cqe.res == 2
    assert not resizable(buf)
    L.io_uring_cqe_seen(ring, cqe)
    assert resizable(buf) and buf == b"ok"


def test_the_table_grows_under_held_exports(ring, pipe):
    """More reads in flight than the table's first size (64): it is reallocated while exports
    are held in it, and each is released exactly once, at its own completion."""
    r, w = pipe
    bufs = [bytearray(1) for _ in range(300)]
    for i, buf in enumerate(bufs):
        _pending_read(ring, r, buf, 100 + i)
    L.io_uring_submit(ring)
    assert not any(resizable(b) for b in bufs)
    os.write(w, bytes(150))
    done = reap(ring, 150)
    assert all(res == 1 for _, res, _ in done)
    released = {ud - 100 for ud, _, _ in done}
    assert [resizable(b) for b in bufs] == [i in released for i in range(300)]
    os.write(w, bytes(150))
    reap(ring, 150)
    assert all(resizable(b) for b in bufs)


def _ring_with_reads_in_flight(fd, n):
    """A new ring with ``n`` one-byte reads of ``fd`` submitted (they wait), and their buffers."""
    ring = L.io_uring()
    L.io_uring_queue_init(8, ring, 0)
    bufs = [bytearray(1) for _ in range(n)]
    for i, buf in enumerate(bufs):
        _pending_read(ring, fd, buf, i)
    L.io_uring_submit(ring)
    return ring, bufs


def test_queue_exit_releases_exports_of_cancelled_reads(pipe):
    ring, bufs = _ring_with_reads_in_flight(pipe[0], 5)
    _pending_read(ring, pipe[0], bytearray(1), 99)  # queued, never submitted
    L.io_uring_queue_exit(ring)
    assert all(resizable(b) for b in bufs)


def test_a_dropped_ring_releases_exports_of_its_reads(pipe):
    ring, bufs = _ring_with_reads_in_flight(pipe[0], 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        del ring
        gc.collect()
    assert all(resizable(b) for b in bufs)


class _Bytearray(bytearray):
    """Not an exact bytearray: its export is released from a copy, as any exporter's."""


@pytest.mark.parametrize("kind", [bytearray, _Bytearray])
def test_the_last_reference_to_a_buffer_can_be_the_pin(ring, pipe, kind):
    """An exact bytearray's export is released where it lies in the table (its release runs no
    Python code); another exporter's from a copy. Either way a buffer whose only reference is
    the pin stays alive until the completion is consumed, and is freed then (the sanitizer run
    watches the exact bytearray's memory; the subclass is watched with a weak reference)."""
    r, w = pipe
    buf = kind(4)
    gone = weakref.ref(buf) if kind is _Bytearray else None
    _pending_read(ring, r, buf, 1, 4)
    del buf
    L.io_uring_submit(ring)
    os.write(w, b"wxyz")
    ts = L.kernel_timespec(5, 0)
    cqe = L.io_uring_wait_cqe_timeout(ring, ts)
    assert (cqe.user_data, cqe.res) == (1, 4)
    if gone is not None:
        assert gone() is not None and bytes(gone()) == b"wxyz"     # pinned: alive
    L.io_uring_cqe_seen(ring, cqe)
    if gone is not None:
        assert gone() is None                       # released and freed at the consumption
    for _ in range(3):                              # the freed entry is reused
        buf = kind(2)
        _pending_read(ring, r, buf, 2, 2)
        L.io_uring_submit(ring)
        os.write(w, b"ab")
        assert reap(ring, 1) == [(2, 2, 0)]
        assert resizable(buf) and bytes(buf) == b"ab"


def test_an_exact_bytearray_export_counts_with_cpythons_own(ring, pipe):
    # An exact bytearray is exported inline (what bytearray_getbuffer does, without the
    # dispatch): its export must count with memoryview's, taken before and after it.
    r, w = pipe
    buf = bytearray(4)
    view = memoryview(buf)
    _pending_read(ring, r, buf, 1, 4)
    view.release()
    assert not resizable(buf)                       # the read's export alone
    view = memoryview(buf)
    L.io_uring_submit(ring)
    os.write(w, b"abcd")
    assert reap(ring, 1) == [(1, 4, 0)]
    assert buf == b"abcd"
    assert not resizable(buf)                       # memoryview's alone
    view.release()
    assert resizable(buf)


def test_an_exact_bytearray_export_moved_into_a_record_is_released_once(ring, pipe):
    r, w = pipe
    buf = bytearray(4)
    sqe = L.io_uring_get_sqe(ring)
    L.io_uring_prep_read(sqe, r, buf, 4, -1)
    L.io_uring_sqe_set_data(sqe, object())          # a record: the export leaves the table
    L.io_uring_submit(ring)
    os.write(w, b"wxyz")
    assert len(reap(ring, 1)) == 1
    assert buf == b"wxyz"
    assert resizable(buf)
    before = len(buf)
    buf.extend(b"more")                             # nothing still counts an export
    assert len(buf) == before + 4
