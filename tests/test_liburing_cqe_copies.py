"""CQE copies the ring refills (io_uring._copy_cqe) and what they may not do: be refilled while
anything holds them, keep their ring alive, or pass for a completion of another ring."""
import gc
import os
import weakref
import warnings

import pytest

from ioring import liburing as L


def _nops(ring, user_datas):
    for ud in user_datas:
        sqe = L.io_uring_get_sqe(ring)
        L.io_uring_prep_nop(sqe)
        L.io_uring_sqe_set_data64(sqe, ud)
    assert L.io_uring_submit_and_wait(ring, len(user_datas)) == len(user_datas)


RING = ("io_uring", 8)          # the conftest ``ring`` fixture: a thin ring of 8 entries


def test_peek_cqe_never_refills_a_copy_that_is_held(ring):
    """A copy only the ring holds any more is refilled for the next completion (not visible
    from Python but as the fields of the new one); one held anywhere else never is."""
    _nops(ring, [10, 11, 12, 13])
    first = L.io_uring_peek_cqe(ring)
    assert (first.user_data, first.res) == (10, 0)
    L.io_uring_cqe_seen(ring, first)
    del first                               # only the ring holds it now: refilled
    second = L.io_uring_peek_cqe(ring)
    assert (second.user_data, second.res, second.flags) == (11, 0, 0)
    kept = second                           # held twice: a new copy
    L.io_uring_cqe_seen(ring, second)
    del second
    third = L.io_uring_peek_cqe(ring)
    assert third is not kept
    assert (kept.user_data, third.user_data) == (11, 12)
    L.io_uring_cqe_seen(ring, third)
    fourth = L.io_uring_peek_cqe(ring)      # third still held by its variable
    assert fourth is not third and fourth is not kept
    assert (kept.user_data, third.user_data, fourth.user_data) == (11, 12, 13)
    with pytest.raises(ValueError, match="already seen"):
        L.io_uring_cqe_seen(ring, kept)     # a refilled copy would have passed this check
    L.io_uring_cqe_seen(ring, fourth)


def test_copies_in_a_list_stay_what_they_were(ring):
    _nops(ring, range(6))
    copies = [L.io_uring_peek_cqe(ring)]
    for cqe in L.io_uring_for_each_cqe(ring):
        copies.append(cqe)
    copies += L.io_uring_peek_batch_cqe(ring, 6)
    assert [c.user_data for c in copies] == [0] + list(range(6)) * 2
    assert len({id(c) for c in copies}) == len(copies)
    L.io_uring_cq_advance(ring, 6)


def test_a_copy_with_a_set_data_object_is_not_kept_by_the_ring(ring):
    """The attached object is released with the last copy that carries it (the ring keeps no
    such copy: the object could refer back to the ring)."""
    class Data:
        pass
    data = Data()
    gone = weakref.ref(data)
    sqe = L.io_uring_get_sqe(ring)
    L.io_uring_prep_nop(sqe)
    L.io_uring_sqe_set_data(sqe, data)
    del data
    assert L.io_uring_submit_and_wait(ring, 1) == 1
    cqe = L.io_uring_peek_cqe(ring)
    assert L.io_uring_cqe_get_data(cqe) is gone()
    L.io_uring_cqe_seen(ring, cqe)
    del cqe
    assert gone() is None


def test_a_ring_dropped_while_its_copies_live_closes_at_once():
    """A CQE copy holds no reference to its ring, and the copies the ring keeps none to it:
    no reference cycle delays the close of a ring dropped without io_uring_queue_exit."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        r = L.io_uring()
        L.io_uring_queue_init(4, r)
        fd = r.ring_fd
        _nops(r, [1, 2])
        held = L.io_uring_peek_cqe(r)
        for cqe in L.io_uring_for_each_cqe(r):
            pass
        alive = weakref.ref(r)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            del r, cqe
        assert alive() is None
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except FileNotFoundError:
            target = None                   # closed
        assert target != "anon_inode:[io_uring]"
        assert held.user_data == 1          # the copy itself stays readable
    finally:
        if was_enabled:
            gc.enable()


def test_a_copy_of_a_ring_gone_is_refused_by_a_ring_at_the_same_address():
    """CQE copies compare their ring by address only: a new ring allocated where a dropped one
    was must still refuse its copies (incarnations are unique across rings)."""
    hits = 0
    for _ in range(50):
        a = L.io_uring()
        L.io_uring_queue_init(4, a)
        _nops(a, [7])
        stale = L.io_uring_peek_cqe(a)
        address = id(a)
        L.io_uring_queue_exit(a)
        del a
        b = L.io_uring()
        try:
            L.io_uring_queue_init(4, b)
            _nops(b, [8])               # b's head is at the stale copy's position
            hits += id(b) == address
            with pytest.raises(ValueError):
                L.io_uring_cqe_seen(b, stale)
            assert L.io_uring_cq_ready(b) == 1
            cqe = L.io_uring_peek_cqe(b)
            assert cqe.user_data == 8
            L.io_uring_cqe_seen(b, cqe)
        finally:
            L.io_uring_queue_exit(b)
    if not hits and os.environ.get("IORING_SANITIZED"):
        pytest.skip("AddressSanitizer's quarantine never gives a freed ring's address again")
    assert hits, "no new ring was allocated at a dropped ring's address: nothing was tested"


def test_a_copy_from_before_queue_init_again_is_refused(ring):
    _nops(ring, [3])
    stale = L.io_uring_peek_cqe(ring)
    L.io_uring_queue_exit(ring)
    L.io_uring_queue_init(8, ring)
    _nops(ring, [4])
    with pytest.raises(ValueError, match="already seen"):
        L.io_uring_cqe_seen(ring, stale)
    cqe = L.io_uring_peek_cqe(ring)
    assert cqe.user_data == 4
    L.io_uring_cqe_seen(ring, cqe)


def test_a_buffer_exported_by_a_prep_that_then_fails_is_released(ring):
    """The read's buffer is exported before the offset is converted: when that raises, the
    export is dropped while the exception is pending, and both survive (the buffer can be
    resized again, the ValueError is the one raised)."""
    buf = bytearray(16)
    sqe = L.io_uring_get_sqe(ring)
    with pytest.raises(ValueError, match="offset"):
        L.io_uring_prep_read(sqe, 0, buf, 16, -5)
    buf.extend(b"x")                    # BufferError while an export is held
    assert len(buf) == 17
