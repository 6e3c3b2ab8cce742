"""An io_uring_sqe (or an io_uring_for_each_cqe iterator) its holders dropped is parked in its ring
and handed out again by the next io_uring_get_sqe (io_uring_for_each_cqe): no allocation per
request (issue 18). Parking must change nothing anyone can observe except speed: a kept object is
never reused, stale SQEs are still refused, a dropped ring still closes at once (a parked object
holds no reference to it), and no reference is leaked."""
import gc
import os
import sys
import weakref

import pytest

from helpers import reap, sqe_for
from ioring import liburing as L


def _ring(entries=8):
    ring = L.io_uring()
    L.io_uring_queue_init(entries, ring, 0)
    return ring


def test_a_dropped_sqe_is_reused_and_a_kept_one_never(ring):
    first = L.io_uring_get_sqe(ring)
    kept_id = id(first)
    second = L.io_uring_get_sqe(ring)
    assert second is not first
    dropped_id = id(second)
    del second
    third = L.io_uring_get_sqe(ring)
    assert id(third) == dropped_id                  # the parked one
    assert third is not first
    for sqe, ud in ((first, 1), (third, 3)):
        L.io_uring_prep_nop(sqe)
        L.io_uring_sqe_set_data64(sqe, ud)
    assert id(first) == kept_id
    assert L.io_uring_submit(ring) == 3              # the dropped one's slot: a NOP (zeroed)
    assert sorted(ud for ud, _, _ in reap(ring, 3)) == [0, 1, 3]


def test_a_reused_sqe_is_its_new_slot_and_stale_ones_are_refused(ring):
    old = L.io_uring_get_sqe(ring)
    L.io_uring_prep_nop(old)
    L.io_uring_sqe_set_data64(old, 10)
    L.io_uring_submit(ring)
    reap(ring, 1)
    for ud in range(20, 40):                        # more SQEs than the SQ has: slots wrap
        L.io_uring_prep_nop(sqe_for(ring, ud))      # (dropped at once: parked, reused)
        L.io_uring_submit(ring)
        assert reap(ring, 1) == [(ud, 0, 0)]
    with pytest.raises(ValueError, match="already submitted"):
        L.io_uring_prep_nop(old)


def test_parking_leaks_no_reference_to_the_ring():
    ring = _ring()
    base = sys.getrefcount(ring)
    for _ in range(100):
        sqe = L.io_uring_get_sqe(ring)
        L.io_uring_prep_nop(sqe)
        del sqe
        L.io_uring_submit(ring)
        reap(ring, 1)
    assert sys.getrefcount(ring) == base
    L.io_uring_queue_exit(ring)


@pytest.mark.parametrize("drop_sqe_first", [True, False])
def test_a_dropped_ring_closes_at_once_with_its_sqe_dropped_either_way(drop_sqe_first):
    gc.disable()
    try:
        ring = _ring()
        fd = ring.ring_fd
        gone = weakref.ref(ring)
        sqe = L.io_uring_get_sqe(ring)
        L.io_uring_prep_nop(sqe)
        L.io_uring_submit(ring)
        reap(ring, 1)
        sqe = L.io_uring_get_sqe(ring)
        L.io_uring_queue_exit(ring)
        if drop_sqe_first:
            del sqe                                 # parked: the ring has another reference
            del ring
        else:
            del ring                                # the SQE holds the last reference
            del sqe
        assert gone() is None
        with pytest.raises(OSError):
            os.fstat(fd)
    finally:
        gc.enable()


def test_a_parked_sqe_outlives_queue_exit_and_serves_a_new_init():
    ring = _ring()
    sqe = L.io_uring_get_sqe(ring)
    del sqe                                         # parked
    L.io_uring_queue_exit(ring)
    L.io_uring_queue_init(8, ring, 0)
    sqe = sqe_for(ring, 5)
    L.io_uring_prep_nop(sqe)
    L.io_uring_submit(ring)
    assert reap(ring, 1) == [(5, 0, 0)]
    L.io_uring_queue_exit(ring)
    with pytest.raises(ValueError):
        L.io_uring_prep_nop(sqe)                    # of the closed incarnation


def test_a_cycle_through_set_data_is_still_collected():
    ring = _ring()
    gone = weakref.ref(ring)
    sqe = L.io_uring_get_sqe(ring)
    L.io_uring_prep_nop(sqe)
    L.io_uring_sqe_set_data(sqe, [sqe, ring])       # ring -> its slot data -> sqe -> ring
    with pytest.warns(ResourceWarning):
        del sqe, ring
        gc.collect()
    assert gone() is None


def test_free_standing_sqes_are_not_parked(ring):
    own = L.io_uring_sqe()
    L.io_uring_prep_nop(own)
    del own                                         # no ring to park in: freed
    sqe = L.io_uring_get_sqe(ring)
    L.io_uring_prep_nop(sqe)
    L.io_uring_submit(ring)
    reap(ring, 1)


def _nops(ring, *uds):
    for ud in uds:
        L.io_uring_prep_nop(sqe_for(ring, ud))
    L.io_uring_submit_and_wait(ring, len(uds))


def test_a_dropped_iterator_is_reused_and_a_kept_one_never(ring):
    _nops(ring, 1, 2, 3)
    it = L.io_uring_for_each_cqe(ring)
    assert next(it).user_data == 1
    other = L.io_uring_for_each_cqe(ring)           # the first is kept: a new one
    assert other is not it
    other_id = id(other)
    assert [c.user_data for c in other] == [1, 2, 3]
    del other
    again = L.io_uring_for_each_cqe(ring)
    assert id(again) == other_id                    # the parked one, from the head again
    assert [c.user_data for c in again] == [1, 2, 3]
    assert [c.user_data for c in it] == [2, 3]      # the kept one went on where it was
    L.io_uring_cq_advance(ring, 3)
    assert list(L.io_uring_for_each_cqe(ring)) == []


@pytest.mark.parametrize("drop_iter_first", [True, False])
def test_a_dropped_ring_closes_at_once_with_its_iterator_dropped_either_way(drop_iter_first):
    gc.disable()
    try:
        ring = _ring()
        gone = weakref.ref(ring)
        _nops(ring, 1)
        for _ in L.io_uring_for_each_cqe(ring):     # parked after the loop
            pass
        it = L.io_uring_for_each_cqe(ring)
        L.io_uring_queue_exit(ring)
        if drop_iter_first:
            del it
            del ring
        else:
            del ring
            del it
        assert gone() is None
    finally:
        gc.enable()


def test_parked_iterators_leak_no_reference_to_the_ring(ring):
    base = sys.getrefcount(ring)
    for i in range(50):
        _nops(ring, i)
        assert [c.user_data for c in L.io_uring_for_each_cqe(ring)] == [i]
        L.io_uring_cq_advance(ring, 1)
    assert sys.getrefcount(ring) == base


def test_both_sqes_of_a_rebinding_loop_are_parked(ring):
    # A loop that rebinds ``sqe = get_sqe(ring)`` holds the last SQE when it asks for the next,
    # and its function returns holding one: the ring parks two, so the next batch makes none.
    # (A free-standing SQE made in between takes the memory of one that was freed instead.)
    first = L.io_uring_get_sqe(ring)
    second = L.io_uring_get_sqe(ring)
    ids = {id(first), id(second)}
    del first, second
    decoy = L.io_uring_sqe()
    again = L.io_uring_get_sqe(ring), L.io_uring_get_sqe(ring)
    assert {id(s) for s in again} == ids
    assert id(decoy) not in ids
    L.io_uring_submit(ring)
    assert sorted(ud for ud, _, _ in reap(ring, 4)) == [0, 0, 0, 0]
