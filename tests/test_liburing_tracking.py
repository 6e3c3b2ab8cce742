"""How the thin layer keeps what requests pinned while they are in flight (issue 18): requests
are counted per user_data in a C table with their pins in a list (``_flight``), requests with
an io_uring_sqe_set_data object get a record (``_inflight``), and the last completion of a
user_data value releases what every request with that value pinned, whichever structure holds
it and in whatever order the requests were submitted and completed. Also: io_uring_submit_and_wait
submits first and waits (GIL released) only when the completions are not there yet."""
import gc
import os
import sys
import threading

import pytest

from ioring import liburing as L
from helpers import make_ring, reap, resizable, wait_one


def _read(ring, fd, buf, user_data):
    sqe = L.io_uring_get_sqe(ring)
    L.io_uring_prep_read(sqe, fd, buf, len(buf), -1)
    L.io_uring_sqe_set_data64(sqe, user_data)
    return sqe


def _nop(ring, user_data):
    sqe = L.io_uring_get_sqe(ring)
    L.io_uring_prep_nop(sqe)
    L.io_uring_sqe_set_data64(sqe, user_data)
    return sqe


def test_a_nop_submitted_before_a_read_with_its_user_data_does_not_release_it(ring, pipe):
    """The NOP is counted first (it pins nothing); the read joins its count: the NOP's
    completion leaves the read's buffer pinned."""
    r, w = pipe
    buf = bytearray(4)
    _nop(ring, 7)
    L.io_uring_submit(ring)
    _read(ring, r, buf, 7)
    L.io_uring_submit(ring)
    assert wait_one(ring) == (7, 0, 0)          # the NOP
    assert not resizable(buf)
    os.write(w, b"abcd")
    assert wait_one(ring) == (7, 4, 0)
    assert resizable(buf) and buf == b"abcd"


def test_two_reads_with_one_user_data_in_separate_submits_keep_both_pins(ring, pipe):
    r, w = pipe
    a, b = bytearray(2), bytearray(2)
    _read(ring, r, a, 3)
    L.io_uring_submit(ring)
    _read(ring, r, b, 3)
    L.io_uring_submit(ring)
    os.write(w, b"xy")
    wait_one(ring)
    assert not resizable(a) and not resizable(b)
    os.write(w, b"zw")
    wait_one(ring)
    assert resizable(a) and resizable(b)


@pytest.mark.parametrize("data_first", [False, True], ids=["counted-first", "record-first"])
def test_a_set_data_object_and_a_read_sharing_its_user_data(ring, pipe, data_first):
    """io_uring_sqe_set_data(sqe, obj) stores id(obj) as the user_data, as C stores the
    pointer; a read given that value with set_data64 shares it. Whichever came first, the
    object comes back with its completion and the read's buffer outlives both completions."""
    r, w = pipe
    obj = object()
    buf = bytearray(4)

    def data_nop():
        sqe = L.io_uring_get_sqe(ring)
        L.io_uring_prep_nop(sqe)
        L.io_uring_sqe_set_data(sqe, obj)

    if data_first:
        data_nop()
        L.io_uring_submit(ring)
        _read(ring, r, buf, id(obj))
        L.io_uring_submit(ring)
    else:
        _read(ring, r, buf, id(obj))
        L.io_uring_submit(ring)
        data_nop()
        L.io_uring_submit(ring)
    cqe = L.io_uring_wait_cqe(ring)                 # the NOP
    assert cqe.res == 0 and L.io_uring_cqe_get_data(cqe) is obj
    L.io_uring_cqe_seen(ring, cqe)
    assert not resizable(buf)
    os.write(w, b"done")
    assert reap(ring, 1) == [(id(obj), 4, 0)]
    assert resizable(buf) and buf == b"done"


def test_many_requests_in_flight_each_keep_their_pins(ring):
    """More distinct user_data values than the table's first size (it grows), and one value
    shared by many requests (their pins nest): each timespec is referenced by the ring until
    the last completion of its value, then released."""
    n_distinct, n_shared = 200, 40
    spans = [L.kernel_timespec(30, 0) for _ in range(n_distinct + n_shared)]
    def refs(lo=0, hi=n_distinct + n_shared):      # (a slice of spans would add a reference)
        return [sys.getrefcount(spans[i]) for i in range(lo, hi)]

    base = refs()
    for i, ts in enumerate(spans):
        sqe = L.io_uring_get_sqe(ring)
        if sqe is None:
            L.io_uring_submit(ring)
            sqe = L.io_uring_get_sqe(ring)
        L.io_uring_prep_timeout(sqe, ts, 0, 0)
        L.io_uring_sqe_set_data64(sqe, 1000 + i if i < n_distinct else 5)
    del ts
    L.io_uring_submit(ring)
    assert refs() == [b + 1 for b in base]
    # Cancel the shared ones but one, then the distinct ones: the shared pins stay.
    for k in range(n_shared - 1):
        sqe = L.io_uring_get_sqe(ring) or (L.io_uring_submit(ring), L.io_uring_get_sqe(ring))[1]
        L.io_uring_prep_timeout_remove(sqe, 5, 0)
        L.io_uring_sqe_set_data64(sqe, 1 << 40)
    L.io_uring_submit(ring)
    got = reap(ring, 2 * (n_shared - 1))
    assert sorted(ud for ud, _, _ in got).count(5) == n_shared - 1
    assert refs(n_distinct) == [b + 1 for b in base[n_distinct:]]
    for i in range(n_distinct):
        sqe = L.io_uring_get_sqe(ring) or (L.io_uring_submit(ring), L.io_uring_get_sqe(ring))[1]
        L.io_uring_prep_timeout_remove(sqe, 1000 + i, 0)
        L.io_uring_sqe_set_data64(sqe, 1 << 40)
        if i % 16 == 15:
            L.io_uring_submit(ring)
            reap(ring, 32)
    L.io_uring_submit(ring)
    reap(ring, 2 * (n_distinct % 16))
    assert refs(0, n_distinct) == base[:n_distinct]
    assert refs(n_distinct) == [b + 1 for b in base[n_distinct:]]   # the last shared timeout
    sqe = L.io_uring_get_sqe(ring)
    L.io_uring_prep_timeout_remove(sqe, 5, 0)
    L.io_uring_submit(ring)
    reap(ring, 2)
    gc.collect()
    assert refs() == base


def test_queue_exit_waits_for_counted_and_recorded_requests(pipe):
    r, w = pipe
    ring = make_ring(8)
    plain, shared = bytearray(4), bytearray(4)
    _read(ring, r, plain, 1)
    sqe = L.io_uring_get_sqe(ring)
    L.io_uring_prep_read(sqe, r, shared, 4, -1)
    L.io_uring_sqe_set_data(sqe, shared)            # a record
    _nop(ring, 2)
    L.io_uring_submit(ring)
    L.io_uring_queue_exit(ring)                     # cancels the reads, waits for them
    assert resizable(plain) and resizable(shared)


def test_reprepping_and_field_assignment_keep_the_slot_pins_right(ring):
    a, b = bytearray(8), bytearray(8)
    sqe = L.io_uring_get_sqe(ring)
    L.io_uring_prep_read(sqe, 0, a, 8, 0)
    assert not resizable(a)
    L.io_uring_prep_read(sqe, 0, b, 8, 0)           # the new prep replaces the first pin
    assert resizable(a) and not resizable(b)
    sqe.addr = a                                    # an assignment pins next to it
    assert not resizable(a)
    L.io_uring_prep_nop(sqe)
    assert resizable(a) and resizable(b)
    L.io_uring_submit(ring)
    reap(ring, 1)


def test_submit_and_wait_waits_with_the_gil_released_when_nothing_completed_inline(ring, pipe):
    r, w = pipe
    buf = bytearray(2)
    _read(ring, r, buf, 11)
    threading.Timer(0.05, os.write, (w, b"ok")).start()    # needs the GIL to run
    assert L.io_uring_submit_and_wait(ring, 1) == 1
    assert L.io_uring_cq_ready(ring) == 1
    assert reap(ring, 1) == [(11, 2, 0)]


def test_submit_and_wait_returns_at_once_when_completions_are_inline(any_ring):
    for i in range(4):
        _nop(any_ring, i)
    assert L.io_uring_submit_and_wait(any_ring, 4) == 4
    assert L.io_uring_cq_ready(any_ring) >= 4
    assert sorted(ud for ud, _, _ in reap(any_ring, 4)) == [0, 1, 2, 3]
    assert L.io_uring_submit_and_wait(any_ring, 0) == 0


def test_submit_and_wait_counts_what_was_queued_before_and_during(ring):
    _nop(ring, 1)
    L.io_uring_submit(ring)
    _nop(ring, 2)
    _nop(ring, 3)
    assert L.io_uring_submit_and_wait(ring, 3) == 2     # two new ones submitted
    assert sorted(ud for ud, _, _ in reap(ring, 3)) == [1, 2, 3]
