"""CQEs that complete no request (resource tags, MSG_RING) must never release the pins of a
request in flight that happens to use the same user_data; and rings refuse use after fork()."""
import os
import time

import pytest

from ioring import liburing as L
from helpers import make_ring, reap, resizable


def pending_read(ring, fd, user_data):
    buf = bytearray(8)
    sqe = L.io_uring_get_sqe(ring)
    L.io_uring_prep_read(sqe, fd, buf, 8, -1)
    L.io_uring_sqe_set_data64(sqe, user_data)
    L.io_uring_submit(ring)
    return buf


def test_a_tag_cqe_does_not_release_a_read_with_the_same_user_data(ring):
    r, w = os.pipe()
    try:
        buf = pending_read(ring, r, 77)
        L.io_uring_register_files_tags(ring, [w], [77])
        L.io_uring_register_files_update_tag(ring, 0, [-1], [0])     # the tag CQE (77) follows
        deadline = time.monotonic() + 5
        while L.io_uring_cq_ready(ring) == 0 and time.monotonic() < deadline:
            L.io_uring_get_events(ring)
        (ud, res, _), = reap(ring, 1)
        assert (ud, res) == (77, 0)
        assert not resizable(buf)                        # regression: it was released here
        os.write(w, b"finally!")
        assert reap(ring, 1) == [(77, 8, 0)]
        assert resizable(buf) and buf == b"finally!"
    finally:
        os.close(r)
        os.close(w)


def test_a_ring_refuses_use_in_a_fork_child_and_the_parent_keeps_working(ring):
    r, w = os.pipe()
    try:
        buf = pending_read(ring, r, 1)
        pid = os.fork()
        if pid == 0:
            code = 0
            for call in (lambda: L.io_uring_get_sqe(ring), lambda: L.io_uring_submit(ring),
                         lambda: L.io_uring_peek_cqe(ring), lambda: L.io_uring_queue_exit(ring)):
                try:
                    call()
                    code = 1
                except RuntimeError:
                    pass
            del ring
            import gc
            gc.collect()                          # the child's copy goes away quietly
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        os.write(w, b"parent!!")
        assert reap(ring, 1) == [(1, 8, 0)]       # the request in flight was not disturbed
        assert buf == b"parent!!"
        L.io_uring_prep_nop(L.io_uring_get_sqe(ring))
        L.io_uring_submit(ring)
        reap(ring, 1)
    finally:
        os.close(r)
        os.close(w)


# ---- a MSG_RING CQE with the user_data of a read in flight, by every route to the ring ---------

def _msg_by_fd(source, target, ud):
    sqe = L.io_uring_get_sqe(source)
    L.io_uring_prep_msg_ring(sqe, target.ring_fd, 123, ud, 0)
    L.io_uring_submit(source)
    assert reap(source, 1)[0][1] == 0


def _msg_by_dup(source, target, ud):
    fd = os.dup(target.ring_fd)
    try:
        sqe = L.io_uring_get_sqe(source)
        L.io_uring_prep_msg_ring(sqe, fd, 123, ud, 0)
        L.io_uring_submit(source)
        assert reap(source, 1)[0][1] == 0
    finally:
        os.close(fd)


def _msg_by_prep_rw(source, target, ud):
    sqe = L.io_uring_get_sqe(source)
    L.io_uring_prep_rw(L.IORING_OP_MSG_RING, sqe, target.ring_fd, None, 123, ud)
    L.io_uring_submit(source)
    assert reap(source, 1)[0][1] == 0


def _msg_by_sync_msg(source, target, ud):
    raw = bytearray(64)
    raw[0] = L.IORING_OP_MSG_RING
    raw[4:8] = target.ring_fd.to_bytes(4, "little", signed=True)
    raw[8:16] = ud.to_bytes(8, "little")                         # off: the target's user_data
    raw[24:28] = (123).to_bytes(4, "little")                     # len: the target's res
    L.io_uring_register_sync_msg(bytes(raw))


def _msg_by_raw_register(source, target, ud):
    raw = bytearray(64)
    raw[0] = L.IORING_OP_MSG_RING
    raw[4:8] = target.ring_fd.to_bytes(4, "little", signed=True)
    raw[8:16] = ud.to_bytes(8, "little")
    raw[24:28] = (123).to_bytes(4, "little")
    assert L.io_uring_register(-1, L.IORING_REGISTER_SEND_MSG_RING, raw, 1) == 0


def _msg_after_close_ring_fd(source, target, ud):
    fd = os.dup(target.ring_fd)
    try:
        L.io_uring_register_ring_fd(target)
        L.io_uring_close_ring_fd(target)          # the ring is reachable only through the dup
        sqe = L.io_uring_get_sqe(source)
        L.io_uring_prep_msg_ring(sqe, fd, 123, ud, 0)
        L.io_uring_submit(source)
        assert reap(source, 1)[0][1] == 0
    finally:
        os.close(fd)


@pytest.mark.parametrize("send", [_msg_by_fd, _msg_by_dup, _msg_by_prep_rw, _msg_by_sync_msg, _msg_by_raw_register,
                                  _msg_after_close_ring_fd],
                         ids=["ring_fd", "dup_fd", "prep_rw", "sync_msg", "raw_register", "after_close_ring_fd"])
def test_a_msg_ring_reaching_the_ring_another_way_is_announced(send):
    """The target is recognized by the file its fd refers to, not by the fd number: a dup,
    the generic prep, the ring-less synchronous message (typed and raw), and a ring whose own fd
    was closed all announce the CQE, so it cannot release the read's pins."""
    target, source = make_ring(8), make_ring(8)
    r, w = os.pipe()
    try:
        buf = pending_read(target, r, 5)
        try:
            send(source, target, 5)
        except OSError as exc:
            pytest.skip(f"this kernel refuses it: {exc}")
        assert reap(target, 1) == [(5, 123, 0)]   # the message, not the read
        assert not resizable(buf)
        os.write(w, b"12345678")
        assert reap(target, 1) == [(5, 8, 0)]
        assert resizable(buf)
    finally:
        L.io_uring_queue_exit(source)
        L.io_uring_queue_exit(target)
        os.close(r)
        os.close(w)


def test_a_msg_ring_to_a_foreign_fd_announces_nothing():
    """A target that is not one of our rings (a pipe; a ring fd that io_uring_setup made and no
    io_uring owns) leaves our rings alone, even when its fd number is reused."""
    a = make_ring(4)
    try:
        p = L.io_uring_params()
        fd = L.io_uring_setup(4, p)
        try:
            sqe = L.io_uring_get_sqe(a)
            L.io_uring_prep_msg_ring(sqe, fd, 0, 9, 0)
            L.io_uring_prep_nop(sqe)
            L.io_uring_submit(a)
            assert reap(a, 1) == [(0, 0, 0)]
        finally:
            os.close(fd)
        r, w = os.pipe()
        try:
            buf = pending_read(a, r, 9)
            os.write(w, b"87654321")
            assert reap(a, 1) == [(9, 8, 0)]      # the read's own completion releases it
            assert resizable(buf)
        finally:
            os.close(r)
            os.close(w)
    finally:
        L.io_uring_queue_exit(a)


# ---- one kernel ring, one io_uring object --------------------------------------------------------

@pytest.mark.parametrize("how", ["same_fd", "dup_fd"])
def test_queue_mmap_refuses_a_ring_another_io_uring_owns(how):
    p = L.io_uring_params()
    a = L.io_uring()
    L.io_uring_queue_init_params(8, a, p)
    fd = a.ring_fd if how == "same_fd" else os.dup(a.ring_fd)
    try:
        b = L.io_uring()
        with pytest.raises(ValueError, match="adopted twice"):
            L.io_uring_queue_mmap(fd, p, b)
        assert b.ring_fd is None
        sqe = L.io_uring_get_sqe(a)                # a is untouched
        L.io_uring_prep_nop(sqe)
        L.io_uring_sqe_set_data64(sqe, 3)
        L.io_uring_submit(a)
        assert reap(a, 1) == [(3, 0, 0)]
    finally:
        if fd != a.ring_fd:
            os.close(fd)
        L.io_uring_queue_exit(a)


def test_queue_mmap_adopts_a_ring_once_then_again_after_exit():
    p = L.io_uring_params()
    fd = L.io_uring_setup(8, p)
    a, b = L.io_uring(), L.io_uring()
    L.io_uring_queue_mmap(fd, p, a)               # a owns fd now
    dup = os.dup(fd)
    try:
        with pytest.raises(ValueError):
            L.io_uring_queue_mmap(dup, p, b)
        L.io_uring_queue_exit(a)                  # closes fd; the dup keeps the ring alive
        L.io_uring_queue_mmap(dup, p, b)          # nobody owns it now
        dup = -1
        sqe = L.io_uring_get_sqe(b)
        L.io_uring_prep_nop(sqe)
        L.io_uring_sqe_set_data64(sqe, 4)
        L.io_uring_submit(b)
        assert reap(b, 1) == [(4, 0, 0)]
        L.io_uring_queue_exit(b)
    finally:
        if dup >= 0:
            os.close(dup)
