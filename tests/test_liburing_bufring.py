"""Provided buffers (buffer rings and PROVIDE_BUFFERS) and set_data/get_data objects.

Scenarios follow liburing's buf-ring, ringbuf-read and recv tests: CQE_F_BUFFER with the bid,
-ENOBUFS when the group is empty, recycling, and the picked buffer as a zero-copy view."""
import errno
import gc
import mmap
import os
import socket
import sys
import weakref

import pytest

from ioring import liburing as L
from helpers import reap

BGID = 7


def recv_select(ring, sock, nbytes, user_data, bgid=BGID):
    sqe = L.io_uring_get_sqe(ring)
    L.io_uring_prep_recv(sqe, sock.fileno(), None, nbytes, 0)
    L.io_uring_sqe_set_flags(sqe, L.IOSQE_BUFFER_SELECT)
    L.io_uring_sqe_set_buf_group(sqe, bgid)
    L.io_uring_sqe_set_data64(sqe, user_data)
    return sqe


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


def test_buf_ring_recv_reports_the_bid_and_the_data_lands_in_that_buffer(ring, pair):
    a, b = pair
    pool = bytearray(4 * 64)
    br = L.io_uring_setup_buf_ring(ring, 4, BGID, 0)
    mask = L.io_uring_buf_ring_mask(4)
    assert mask == 3
    view = memoryview(pool)
    for bid in range(4):
        L.io_uring_buf_ring_add(br, view[bid * 64:(bid + 1) * 64], 64, bid, mask, bid)
    L.io_uring_buf_ring_advance(br, 4)
    assert L.io_uring_buf_ring_available(ring, br, BGID) == 4

    a.send(b"first message")
    recv_select(ring, b, 64, 1)
    L.io_uring_submit(ring)
    (ud, res, flags), = reap(ring, 1)
    assert (ud, res) == (1, len(b"first message"))
    assert flags & L.IORING_CQE_F_BUFFER
    bid = flags >> L.IORING_CQE_BUFFER_SHIFT
    assert bytes(br.buffer(bid, res)) == b"first message"
    assert bytes(pool[bid * 64:bid * 64 + res]) == b"first message"   # zero-copy: the pool itself
    assert L.io_uring_buf_ring_available(ring, br, BGID) == 3
    L.io_uring_free_buf_ring(ring, br, 4, BGID)


def test_send_of_a_provided_buffer_takes_none_as_buf(ring, pair):
    """io_uring_prep_send(sqe, fd, NULL, 0, 0) + IOSQE_BUFFER_SELECT sends the next buffer of
    the group (liburing's test/recvsend_bundle.c); None is C's NULL, as for recv."""
    a, b = pair
    pool = bytearray(b"first---second--")
    br = L.io_uring_setup_buf_ring(ring, 2, BGID, 0)
    mask = L.io_uring_buf_ring_mask(2)
    for bid in range(2):
        L.io_uring_buf_ring_add(br, memoryview(pool)[bid * 8:(bid + 1) * 8], 8, bid, mask, bid)
    L.io_uring_buf_ring_advance(br, 2)
    for ud in (1, 2):
        sqe = L.io_uring_get_sqe(ring)
        L.io_uring_prep_send(sqe, a.fileno(), None, 0, 0)
        L.io_uring_sqe_set_flags(sqe, L.IOSQE_BUFFER_SELECT)
        L.io_uring_sqe_set_buf_group(sqe, BGID)
        L.io_uring_sqe_set_data64(sqe, ud)
        L.io_uring_submit(ring)
        (got_ud, res, flags), = reap(ring, 1)
        assert (got_ud, res) == (ud, 8)
        assert flags >> L.IORING_CQE_BUFFER_SHIFT == ud - 1
    b.settimeout(5)
    got = b""
    while len(got) < 16:
        got += b.recv(16)
    assert got == b"first---second--"
    with pytest.raises(ValueError):                          # the length is still checked
        L.io_uring_prep_send(L.io_uring_get_sqe(ring), a.fileno(), None, -1, 0)
    L.io_uring_free_buf_ring(ring, br, 2, BGID)


def test_empty_group_gives_enobufs_and_recycled_buffers_are_used_again(ring, pair):
    a, b = pair
    buf = bytearray(32)
    br = L.io_uring_setup_buf_ring(ring, 1, BGID, 0)
    mask = L.io_uring_buf_ring_mask(1)
    L.io_uring_buf_ring_add(br, buf, 32, 5, mask, 0)
    L.io_uring_buf_ring_advance(br, 1)
    for round_ in range(3):
        a.send(b"round %d" % round_)
        recv_select(ring, b, 32, 10 + round_)
        L.io_uring_submit(ring)
        (ud, res, flags), = reap(ring, 1)
        assert flags >> L.IORING_CQE_BUFFER_SHIFT == 5
        assert bytes(br.buffer(5, res)) == b"round %d" % round_
        # Nothing left in the group until the buffer is recycled.
        a.send(b"x")
        recv_select(ring, b, 32, 99)
        L.io_uring_submit(ring)
        (ud, res, flags), = reap(ring, 1)
        assert res == -errno.ENOBUFS
        b.recv(1)
        L.io_uring_buf_ring_add(br, buf, 32, 5, mask, 0)
        L.io_uring_buf_ring_advance(br, 1)


def test_buf_ring_cq_advance_recycles_and_consumes(ring, pair):
    a, b = pair
    buf = bytearray(16)
    br = L.io_uring_setup_buf_ring(ring, 2, BGID, 0)
    mask = L.io_uring_buf_ring_mask(2)
    L.io_uring_buf_ring_add(br, buf, 16, 0, mask, 0)
    L.io_uring_buf_ring_advance(br, 1)
    a.send(b"hi")
    recv_select(ring, b, 16, 1)
    L.io_uring_submit_and_wait(ring, 1)
    assert L.io_uring_cq_ready(ring) == 1
    L.io_uring_buf_ring_add(br, buf, 16, 0, mask, 0)
    L.io_uring_buf_ring_cq_advance(ring, br, 1)
    assert L.io_uring_cq_ready(ring) == 0
    assert br.tail == 2
    assert L.io_uring_buf_ring_head(ring, BGID) == 1


def test_buffers_in_a_buf_ring_stay_pinned_until_the_ring_is_closed(pair):
    from helpers import make_ring
    ring = make_ring(8)
    buf = bytearray(16)
    br = L.io_uring_setup_buf_ring(ring, 2, BGID, 0)
    L.io_uring_buf_ring_add(br, buf, 16, 0, 1, 0)
    L.io_uring_buf_ring_advance(br, 1)
    with pytest.raises(BufferError):
        buf.append(0)
    L.io_uring_queue_exit(ring)
    buf.append(0)
    with pytest.raises(ValueError):
        L.io_uring_buf_ring_advance(br, 1)     # the ring memory is gone: refused, not touched


def test_buf_ring_in_user_memory(ring, pair):
    a, b = pair
    mem = mmap.mmap(-1, 4096)
    reg = L.io_uring_buf_reg(mem, 8, BGID)
    assert L.io_uring_register_buf_ring(ring, reg, 0) == 0
    br = reg.br
    L.io_uring_buf_ring_init(br)
    data = bytearray(8 * 100)
    for bid in range(8):
        L.io_uring_buf_ring_add(br, memoryview(data)[bid * 100:(bid + 1) * 100], 100, bid,
                                L.io_uring_buf_ring_mask(8), bid)
    L.io_uring_buf_ring_advance(br, 8)
    a.send(b"user memory")
    recv_select(ring, b, 100, 3)
    L.io_uring_submit(ring)
    (ud, res, flags), = reap(ring, 1)
    assert bytes(br.buffer(flags >> L.IORING_CQE_BUFFER_SHIFT, res)) == b"user memory"
    assert L.io_uring_unregister_buf_ring(ring, BGID) == 0


def test_buf_reg_checks_its_memory():
    with pytest.raises(ValueError):
        L.io_uring_buf_reg(mmap.mmap(-1, 4096), 3, 1)          # not a power of two
    with pytest.raises(ValueError):
        L.io_uring_buf_reg(mmap.mmap(-1, 4096), 512, 1)        # too small
    with pytest.raises(TypeError):
        L.io_uring_buf_reg(b"\0" * 4096, 8, 1)                 # read-only
    with pytest.raises(ValueError):
        L.io_uring_buf_reg(memoryview(mmap.mmap(-1, 8192))[16:], 8, 1)   # not page-aligned


def test_buf_ring_add_checks_its_arguments(ring):
    br = L.io_uring_setup_buf_ring(ring, 4, BGID, 0)
    with pytest.raises(ValueError):
        L.io_uring_buf_ring_add(br, bytearray(8), 16, 0, 3, 0)     # len past the buffer
    with pytest.raises(ValueError):
        L.io_uring_buf_ring_add(br, bytearray(8), 8, 0, 7, 0)      # wrong mask
    with pytest.raises(TypeError):
        L.io_uring_buf_ring_add(br, b"12345678", 8, 0, 3, 0)       # read-only
    with pytest.raises(KeyError):
        br.buffer(3)
    with pytest.raises(ValueError):
        L.io_uring_setup_buf_ring(ring, 3, 1, 0)
    with pytest.raises(OSError) as info:
        L.io_uring_setup_buf_ring(ring, 4, BGID, 0)                # group already registered
    assert info.value.errno == errno.EEXIST


def test_legacy_provide_and_remove_buffers(ring, tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"ABCDEFGH" * 8)
    fd = os.open(path, os.O_RDONLY)
    try:
        pool = bytearray(4 * 16)
        sqe = L.io_uring_get_sqe(ring)
        L.io_uring_prep_provide_buffers(sqe, pool, 16, 4, 3, 100)
        L.io_uring_submit(ring)
        assert reap(ring, 1)[0][1] == 0
        sqe = L.io_uring_get_sqe(ring)
        L.io_uring_prep_read(sqe, fd, None, 16, 8)
        L.io_uring_sqe_set_flags(sqe, L.IOSQE_BUFFER_SELECT)
        L.io_uring_sqe_set_buf_group(sqe, 3)
        L.io_uring_submit(ring)
        (_, res, flags), = reap(ring, 1)
        bid = flags >> L.IORING_CQE_BUFFER_SHIFT
        assert res == 16 and 100 <= bid < 104
        start = (bid - 100) * 16
        assert bytes(pool[start:start + 16]) == b"ABCDEFGH" * 2
        sqe = L.io_uring_get_sqe(ring)
        L.io_uring_prep_remove_buffers(sqe, 10, 3)
        L.io_uring_submit(ring)
        assert reap(ring, 1)[0][1] == 3                            # the three left
    finally:
        os.close(fd)


def test_read_without_buffer_select_and_no_buffer_faults_cleanly(ring, tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"data")
    fd = os.open(path, os.O_RDONLY)
    try:
        L.io_uring_prep_read(L.io_uring_get_sqe(ring), fd, None, 4, 0)
        L.io_uring_submit(ring)
        assert reap(ring, 1)[0][1] == -errno.EFAULT
    finally:
        os.close(fd)


# ---- set_data / get_data ---------------------------------------------------------------------------

class Token:
    pass


def test_set_data_object_round_trips_and_is_kept_alive(ring):
    token = Token()
    ref = weakref.ref(token)
    sqe = L.io_uring_get_sqe(ring)
    L.io_uring_prep_nop(sqe)
    L.io_uring_sqe_set_data(sqe, token)
    assert sqe.user_data == id(token)
    del token
    gc.collect()
    assert ref() is not None                   # kept alive while in flight
    L.io_uring_submit(ring)
    cqe = L.io_uring_wait_cqe(ring)
    assert L.io_uring_cqe_get_data(cqe) is ref()
    L.io_uring_cqe_seen(ring, cqe)
    assert L.io_uring_cqe_get_data(cqe) is ref()   # the copy keeps it
    del cqe
    gc.collect()
    assert ref() is None                       # released once consumed


def test_get_data_is_none_without_set_data(ring):
    L.io_uring_prep_nop(L.io_uring_get_sqe(ring))
    L.io_uring_submit(ring)
    cqe = L.io_uring_wait_cqe(ring)
    assert L.io_uring_cqe_get_data(cqe) is None
    L.io_uring_cqe_seen(ring, cqe)


def test_set_data64_replaces_the_object(ring):
    token = Token()
    sqe = L.io_uring_get_sqe(ring)
    L.io_uring_prep_nop(sqe)
    L.io_uring_sqe_set_data(sqe, token)
    L.io_uring_sqe_set_data64(sqe, 5)
    L.io_uring_submit(ring)
    cqe = L.io_uring_wait_cqe(ring)
    # No object attached any more: get_data reads the user_data as C's pointer would.
    assert cqe.user_data == 5 and L.io_uring_cqe_get_data(cqe) == 5
    L.io_uring_cqe_seen(ring, cqe)


def test_prep_cancel_takes_the_set_data_object(ring):
    r, w = os.pipe()
    try:
        token = Token()
        buf = bytearray(8)
        sqe = L.io_uring_get_sqe(ring)
        L.io_uring_prep_read(sqe, r, buf, 8, -1)
        L.io_uring_sqe_set_data(sqe, token)
        L.io_uring_submit(ring)
        sqe = L.io_uring_get_sqe(ring)
        L.io_uring_prep_cancel(sqe, token, 0)
        L.io_uring_sqe_set_data64(sqe, 1)
        L.io_uring_submit(ring)
        results = {ud: res for ud, res, _ in reap(ring, 2)}
        assert results == {id(token): -errno.ECANCELED, 1: 0}
    finally:
        os.close(r)
        os.close(w)
