"""CQEs that complete no request (resource tags, MSG_RING) must never release the pins of a
request in flight that happens to use the same user_data; and rings refuse use after fork()."""
import os
import time

import pytest

from ioring import liburing as L
from conftest import make_ring, reap


def pending_read(ring, fd, user_data):
    buf = bytearray(8)
    sqe = L.io_uring_get_sqe(ring)
    L.io_uring_prep_read(sqe, fd, buf, 8, -1)
    L.io_uring_sqe_set_data64(sqe, user_data)
    L.io_uring_submit(ring)
    return buf


def pinned(buf):
    try:
        buf.append(0)
    except BufferError:
        return True
    buf.pop()
    return False


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
        assert pinned(buf)                        # regression: it was released here
        os.write(w, b"finally!")
        assert reap(ring, 1) == [(77, 8, 0)]
        assert not pinned(buf) and buf == b"finally!"
    finally:
        os.close(r)
        os.close(w)


def test_a_msg_ring_cqe_does_not_release_a_read_with_the_same_user_data():
    target, source = make_ring(8), make_ring(8)
    r, w = os.pipe()
    try:
        buf = pending_read(target, r, 5)
        sqe = L.io_uring_get_sqe(source)
        L.io_uring_prep_msg_ring(sqe, target.ring_fd, 123, 5, 0)
        L.io_uring_submit(source)
        assert reap(source, 1)[0][1] == 0
        assert reap(target, 1) == [(5, 123, 0)]   # the message, not the read
        assert pinned(buf)
        os.write(w, b"12345678")
        assert reap(target, 1) == [(5, 8, 0)]
        assert not pinned(buf)
    finally:
        L.io_uring_queue_exit(source)
        L.io_uring_queue_exit(target)
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
