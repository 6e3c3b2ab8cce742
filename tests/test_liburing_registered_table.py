"""The registered-buffer table (_RegisteredBuffers) as the thin layer's fixed checks and the
Pythonic layer's door (door_registered_find / door_registered_count) see it, and the one
conversion of ranged integers (_convert.pxi)."""
import os

import pytest

import ioring
from ioring import liburing as L


@pytest.fixture
def datafile(tmp_path):
    payload = os.urandom(8192)
    path = tmp_path / "data"
    path.write_bytes(payload)
    fd = os.open(path, os.O_RDWR)
    yield fd, payload
    os.close(fd)


def test_ring_read_finds_a_buffer_in_a_filled_slot_of_a_sparse_table(datafile):
    # Ring.read asks the door which registered buffer holds its memory: empty slots are skipped,
    # and the slot it finds is the one the kernel reads into (READ_FIXED with that buf_index).
    fd, payload = datafile
    buf = bytearray(4096)
    with ioring.Ring(8) as ring:
        L.io_uring_register_buffers_sparse(ring.uring, 3)
        assert ring.read(fd, bytearray(16), 0).kind == "read"      # no slot holds it
        assert L.io_uring_register_buffers_update_tag(ring.uring, 2, [buf], None) == 1
        op = ring.read(fd, memoryview(buf)[100:600], 4096)
        assert op.kind == "read_fixed" and op.result() == 500
        assert bytes(buf[100:600]) == payload[4096:4596]
        L.io_uring_unregister_buffers(ring.uring)
        assert ring.read(fd, buf, 0).kind == "read"


def test_fixed_checks_follow_updates_and_clones(datafile):
    fd, payload = datafile
    a, b = bytearray(1024), bytearray(2048)
    src, dst = L.io_uring(), L.io_uring()
    L.io_uring_queue_init(8, src, 0)
    L.io_uring_queue_init(8, dst, 0)
    try:
        L.io_uring_register_buffers(src, [a, b])
        L.io_uring_register_buffers_sparse(dst, 4)
        L.io_uring_clone_buffers_offset(dst, src, 2, 1, 1, L.IORING_REGISTER_DST_REPLACE)
        sqe = L.io_uring_get_sqe(dst)
        with pytest.raises(ValueError, match="slot 1 is empty"):
            L.io_uring_prep_read_fixed(sqe, fd, a, 16, 0, 1)
        with pytest.raises(ValueError, match="not inside registered buffer 2"):
            L.io_uring_prep_read_fixed(sqe, fd, a, 16, 0, 2)
        with pytest.raises(ValueError, match="out of range: 4 buffers"):
            L.io_uring_prep_read_fixed(sqe, fd, b, 16, 0, 4)
        L.io_uring_prep_read_fixed(sqe, fd, b, 2048, 0, 2)      # dst's slot 2 is src's b
        L.io_uring_submit(dst)
        cqe = L.io_uring_wait_cqe(dst)
        assert cqe.res == 2048 and bytes(b) == payload[:2048]
        L.io_uring_cqe_seen(dst, cqe)
        # src's table is its own: unregistering there leaves dst's clone (and its pin) intact
        L.io_uring_unregister_buffers(src)
        with pytest.raises(BufferError):
            b.extend(b"x")                                       # still pinned by dst
        L.io_uring_unregister_buffers(dst)
        b.extend(b"x")
    finally:
        L.io_uring_queue_exit(src)
        L.io_uring_queue_exit(dst)


@pytest.mark.parametrize("prep, args, name", [
    (L.io_uring_prep_fallocate, (0, 0, 1.5, 10), "offset"),
    (L.io_uring_prep_fallocate, (0, 0, 0, "10"), "len"),
    (L.io_uring_prep_fadvise, (0, 2.0, 10, 0), "offset"),
    (L.io_uring_prep_splice, (0, 1.0, 1, -1, 10), "off_in"),
])
def test_integer_arguments_name_themselves_when_not_ints(ring, prep, args, name):
    # One conversion of ranged integers: a non-int is a TypeError that names the argument.
    sqe = L.io_uring_get_sqe(ring)
    with pytest.raises(TypeError, match=f"^{name} must be an int, not "):
        prep(sqe, *args)


def test_integer_arguments_out_of_range_say_the_range(ring):
    sqe = L.io_uring_get_sqe(ring)
    with pytest.raises(ValueError, match=r"^offset must be in 0..2\*\*64-1, not -5$"):
        L.io_uring_prep_fallocate(sqe, 0, 0, -5, 10)
    with pytest.raises(ValueError, match="^len must fit in a signed 64-bit integer"):
        L.io_uring_prep_ftruncate(sqe, 0, 2**63)
    with pytest.raises(ValueError, match="^id must fit in 32 bits"):
        L.io_uring_prep_waitid(sqe, os.P_PID, 2**32, None, os.WEXITED)
    with pytest.raises(TypeError, match="^fd must be an int"):
        L.io_uring_enter("3", 0, 0, 0)
