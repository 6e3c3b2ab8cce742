"""ioring.liburing: send/recv over socketpairs, poll_add/poll_remove, eventfd registration.

Everything is checked on the other side of the kernel: bytes received with socket.recv,
bytes sent with socket.send, poll masks in cqe.res, eventfd counters read with os.read.
"""
import array
import errno
import mmap
import os
import select
import socket
import time

import pytest

from ioring import liburing as L
from helpers import assert_no_completion, reap_dict, sqe_for, submit_and_reap  # noqa: E402


# ---- helpers -----------------------------------------------------------------------------------

def eventfd_count(efd):
    """The eventfd counter (reset to 0), or 0 if it was not signalled (non-blocking fd)."""
    try:
        return int.from_bytes(os.read(efd, 8), "little")
    except BlockingIOError:
        return 0


# ---- fixtures ----------------------------------------------------------------------------------

RING = ("io_uring", 32)         # the conftest ring fixture: 32 entries


@pytest.fixture
def sockpair():
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    yield a, b
    a.close()
    b.close()


@pytest.fixture
def dgrampair():
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    yield a, b
    a.close()
    b.close()


@pytest.fixture
def efd():
    fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
    yield fd
    os.close(fd)


# ---- send / recv -------------------------------------------------------------------------------

def test_send_delivers_bytes(ring, sockpair):
    a, b = sockpair
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_send(sqe, a.fileno(), b"hello, peer", 11)
    assert sqe.opcode == L.IORING_OP_SEND
    assert sqe.fd == a.fileno()
    assert sqe.len == 11
    assert submit_and_reap(ring, 1) == {1: 11}
    b.settimeout(5)
    assert b.recv(100) == b"hello, peer"


def test_send_partial_buffer_and_buffer_kinds(ring, sockpair):
    a, b = sockpair
    backing = bytearray(b"0123456789")
    mm = mmap.mmap(-1, 4096)
    mm[:4] = b"MMAP"
    arr = array.array("B", b"ARR")
    L.io_uring_prep_send(sqe_for(ring, 1, L.IOSQE_IO_LINK), a.fileno(), b"bytes-and-more", 5)
    L.io_uring_prep_send(sqe_for(ring, 2, L.IOSQE_IO_LINK), a.fileno(), memoryview(backing)[3:7], 4)
    L.io_uring_prep_send(sqe_for(ring, 3, L.IOSQE_IO_LINK), a.fileno(), mm, 4)
    L.io_uring_prep_send(sqe_for(ring, 4), a.fileno(), arr, 3)
    assert submit_and_reap(ring, 4) == {1: 5, 2: 4, 3: 4, 4: 3}
    b.settimeout(5)
    got = b""
    while len(got) < 16:
        got += b.recv(100)
    assert got == b"bytes3456MMAPARR"
    mm.close()


def test_recv_receives_bytes(ring, sockpair):
    a, b = sockpair
    b.sendall(b"from the other side")
    buf = bytearray(b"\xAA" * 64)
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_recv(sqe, a.fileno(), buf, 64)
    assert sqe.opcode == L.IORING_OP_RECV and sqe.len == 64
    assert submit_and_reap(ring, 1) == {1: 19}
    assert bytes(buf[:19]) == b"from the other side"
    assert bytes(buf[19:]) == b"\xAA" * 45


def test_recv_waits_for_data(ring, sockpair):
    a, b = sockpair
    buf = bytearray(32)
    L.io_uring_prep_recv(sqe_for(ring, 1), a.fileno(), buf, 32)
    assert L.io_uring_submit(ring) == 1
    assert_no_completion(ring)
    b.send(b"late")
    assert reap_dict(ring, 1) == {1: 4}
    assert bytes(buf[:4]) == b"late"


def test_recv_len_smaller_than_available(ring, sockpair):
    a, b = sockpair
    b.sendall(b"abcdefghij")
    buf = bytearray(100)
    L.io_uring_prep_recv(sqe_for(ring, 1), a.fileno(), buf, 4)
    assert submit_and_reap(ring, 1) == {1: 4}
    assert bytes(buf[:4]) == b"abcd"
    assert buf[4:] == bytearray(96)
    a.settimeout(5)
    assert a.recv(100) == b"efghij"


def test_recv_into_memoryview_slice(ring, sockpair):
    a, b = sockpair
    b.sendall(b"slice")
    backing = bytearray(b"." * 20)
    L.io_uring_prep_recv(sqe_for(ring, 1), a.fileno(), memoryview(backing)[10:], 10)
    assert submit_and_reap(ring, 1) == {1: 5}
    assert bytes(backing) == b".........." + b"slice" + b"....."


def test_recv_msg_peek_leaves_data(ring, sockpair):
    a, b = sockpair
    b.sendall(b"peekaboo")
    buf = bytearray(8)
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_recv(sqe, a.fileno(), buf, 8, socket.MSG_PEEK)
    assert sqe.rw_flags == socket.MSG_PEEK            # msg_flags shares the union
    assert submit_and_reap(ring, 1) == {1: 8}
    assert bytes(buf) == b"peekaboo"
    a.settimeout(5)
    assert a.recv(100) == b"peekaboo"


def test_recv_dontwait_on_empty_socket(ring, sockpair):
    a, _ = sockpair
    buf = bytearray(8)
    L.io_uring_prep_recv(sqe_for(ring, 1), a.fileno(), buf, 8, socket.MSG_DONTWAIT)
    assert submit_and_reap(ring, 1) == {1: -errno.EAGAIN}


def test_recv_eof_after_peer_closes(ring, sockpair):
    a, b = sockpair
    b.close()
    buf = bytearray(8)
    L.io_uring_prep_recv(sqe_for(ring, 1), a.fileno(), buf, 8)
    assert submit_and_reap(ring, 1) == {1: 0}


def test_send_to_closed_peer_is_epipe(ring, sockpair):
    a, b = sockpair
    b.close()
    L.io_uring_prep_send(sqe_for(ring, 1), a.fileno(), b"x", 1, socket.MSG_NOSIGNAL)
    assert submit_and_reap(ring, 1) == {1: -errno.EPIPE}


def test_send_recv_errors_are_cqe_res(ring, pipe, tmp_path):
    r, w = pipe
    buf = bytearray(8)
    L.io_uring_prep_send(sqe_for(ring, 1), 999999, b"x", 1)
    L.io_uring_prep_recv(sqe_for(ring, 2), 999999, buf, 8)
    L.io_uring_prep_send(sqe_for(ring, 3), w, b"x", 1)          # not a socket
    L.io_uring_prep_recv(sqe_for(ring, 4), r, buf, 8)
    assert submit_and_reap(ring, 4) == {
        1: -errno.EBADF,
        2: -errno.EBADF,
        3: -errno.ENOTSOCK,
        4: -errno.ENOTSOCK,
    }


def test_datagram_send_recv_truncates(ring, dgrampair):
    a, b = dgrampair
    L.io_uring_prep_send(sqe_for(ring, 1), a.fileno(), b"datagram-one", 12)
    assert submit_and_reap(ring, 1) == {1: 12}
    small = bytearray(4)
    L.io_uring_prep_recv(sqe_for(ring, 2), b.fileno(), small, 4)
    assert submit_and_reap(ring, 1) == {2: 4}              # rest of the datagram discarded
    assert bytes(small) == b"data"
    a.send(b"second")
    L.io_uring_prep_recv(sqe_for(ring, 3), b.fileno(), small, 4, socket.MSG_TRUNC)
    assert submit_and_reap(ring, 1) == {3: 6}              # MSG_TRUNC: real length
    assert bytes(small) == b"seco"


def test_send_recv_round_trip_between_two_rings_ends(ring, sockpair):
    a, b = sockpair
    payload = os.urandom(2000)
    out = bytearray(4096)
    L.io_uring_prep_recv(sqe_for(ring, 2), b.fileno(), out, 4096)
    L.io_uring_prep_send(sqe_for(ring, 1), a.fileno(), payload, len(payload))
    got = submit_and_reap(ring, 2)
    assert got[1] == 2000
    n = got[2]
    assert 0 < n <= 2000
    rest = b""
    b.settimeout(5)
    while n + len(rest) < 2000:
        rest += b.recv(4096)
    assert bytes(out[:n]) + rest == payload


def test_recv_waitall_gathers_several_sends(ring, sockpair):
    a, b = sockpair
    buf = bytearray(12)
    L.io_uring_prep_recv(sqe_for(ring, 1), a.fileno(), buf, 12, socket.MSG_WAITALL)
    assert L.io_uring_submit(ring) == 1
    b.send(b"abcd")
    assert_no_completion(ring)
    b.send(b"efgh")
    b.send(b"ijkl")
    assert reap_dict(ring, 1) == {1: 12}
    assert bytes(buf) == b"abcdefghijkl"


def test_send_recv_bad_arguments(ring, sockpair):
    a, _ = sockpair
    sqe = sqe_for(ring, 1)
    buf = bytearray(8)
    with pytest.raises(ValueError):
        L.io_uring_prep_send(sqe, a.fileno(), b"abc", 4)
    with pytest.raises(ValueError):
        L.io_uring_prep_send(sqe, a.fileno(), b"abc", -1)
    with pytest.raises(TypeError):
        L.io_uring_prep_send(sqe, a.fileno(), "str", 3)
    with pytest.raises(TypeError):
        L.io_uring_prep_recv(sqe, a.fileno(), b"readonly", 8)
    with pytest.raises(ValueError):
        L.io_uring_prep_recv(sqe, a.fileno(), buf, 9)
    with pytest.raises(ValueError):                  # None (NULL, a provided buffer) takes no -1
        L.io_uring_prep_send(sqe, a.fileno(), None, -1)
    with pytest.raises(ValueError):
        L.io_uring_prep_recv(sqe, a.fileno(), None, -1)
    with pytest.raises(TypeError):
        L.io_uring_prep_recv(sqe, a.fileno(), buf, 8, "flags")
    assert sqe.opcode == L.IORING_OP_NOP and sqe.addr == 0 and sqe.len == 0
    buf.append(0)                                   # nothing was pinned
    assert submit_and_reap(ring, 1) == {1: 0}


def test_recv_buffer_pinned_while_in_flight(ring, sockpair):
    a, b = sockpair
    buf = bytearray(8)
    L.io_uring_prep_recv(sqe_for(ring, 1), a.fileno(), buf, 8)
    L.io_uring_submit(ring)
    assert_no_completion(ring, 0.05)
    with pytest.raises(BufferError):
        buf.extend(b"grow")
    b.send(b"ok")
    assert reap_dict(ring, 1) == {1: 2}
    buf.extend(b"grow")
    assert bytes(buf[:2]) == b"ok"


# ---- poll --------------------------------------------------------------------------------------

def test_poll_add_pipe_completes_with_pollin_after_write(ring, pipe):
    r, w = pipe
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_poll_add(sqe, r, select.POLLIN)
    assert sqe.opcode == L.IORING_OP_POLL_ADD
    assert sqe.fd == r
    assert sqe.rw_flags == select.POLLIN              # poll32_events shares the union
    assert L.io_uring_submit(ring) == 1
    assert_no_completion(ring)
    os.write(w, b"x")
    got = reap_dict(ring, 1)
    assert got[1] > 0
    assert got[1] & select.POLLIN
    assert os.read(r, 10) == b"x"                      # poll consumed nothing


def test_poll_add_ready_immediately(ring, pipe):
    r, w = pipe
    L.io_uring_prep_poll_add(sqe_for(ring, 1), w, select.POLLOUT)
    os.write(w, b"data")
    L.io_uring_prep_poll_add(sqe_for(ring, 2), r, select.POLLIN | select.POLLPRI)
    got = submit_and_reap(ring, 2)
    assert got[1] & select.POLLOUT and not got[1] & select.POLLIN
    assert got[2] & select.POLLIN and not got[2] & select.POLLOUT


def test_poll_add_reports_hangup(ring, pipe):
    r, w = pipe
    L.io_uring_prep_poll_add(sqe_for(ring, 1), r, select.POLLIN)
    L.io_uring_submit(ring)
    assert_no_completion(ring, 0.05)
    os.close(w)
    got = reap_dict(ring, 1)
    assert got[1] & select.POLLHUP


def test_poll_add_socket(ring, sockpair):
    a, b = sockpair
    L.io_uring_prep_poll_add(sqe_for(ring, 1), a.fileno(), select.POLLIN)
    L.io_uring_submit(ring)
    assert_no_completion(ring, 0.05)
    b.send(b"!")
    got = reap_dict(ring, 1)
    assert got[1] & select.POLLIN


def test_poll_add_bad_fd(ring):
    L.io_uring_prep_poll_add(sqe_for(ring, 1), 999999, select.POLLIN)
    assert submit_and_reap(ring, 1) == {1: -errno.EBADF}


def test_poll_remove_cancels_pending_poll(ring, pipe):
    r, w = pipe
    L.io_uring_prep_poll_add(sqe_for(ring, 10), r, select.POLLIN)
    assert L.io_uring_submit(ring) == 1
    assert_no_completion(ring, 0.05)
    sqe = sqe_for(ring, 11)
    L.io_uring_prep_poll_remove(sqe, 10)
    assert sqe.opcode == L.IORING_OP_POLL_REMOVE
    assert sqe.addr == 10
    assert submit_and_reap(ring, 2) == {10: -errno.ECANCELED, 11: 0}
    os.write(w, b"x")                                  # the poll is gone: nothing more arrives
    assert_no_completion(ring, 0.05)


def test_poll_remove_unknown_is_enoent(ring):
    L.io_uring_prep_poll_remove(sqe_for(ring, 1), 0x123456)
    assert submit_and_reap(ring, 1) == {1: -errno.ENOENT}


def test_poll_remove_after_completion_is_enoent(ring, pipe):
    r, w = pipe
    os.write(w, b"x")
    L.io_uring_prep_poll_add(sqe_for(ring, 1), r, select.POLLIN)
    assert submit_and_reap(ring, 1)[1] & select.POLLIN
    L.io_uring_prep_poll_remove(sqe_for(ring, 2), 1)
    assert submit_and_reap(ring, 1) == {2: -errno.ENOENT}


def test_poll_add_linked_to_read(ring, pipe):
    """poll for POLLIN, then (linked) read: the read runs once the data is there."""
    r, w = pipe
    buf = bytearray(16)
    L.io_uring_prep_poll_add(sqe_for(ring, 1, L.IOSQE_IO_LINK), r, select.POLLIN)
    L.io_uring_prep_read(sqe_for(ring, 2), r, buf, 16, -1)
    L.io_uring_submit(ring)
    assert_no_completion(ring, 0.05)
    os.write(w, b"linked")
    got = reap_dict(ring, 2)
    assert got[1] & select.POLLIN
    assert got[2] == 6
    assert bytes(buf[:6]) == b"linked"


def test_poll_mask_out_of_range(ring, pipe):
    r, _ = pipe
    sqe = sqe_for(ring, 1)
    with pytest.raises(OverflowError):
        L.io_uring_prep_poll_add(sqe, r, -1)
    with pytest.raises(OverflowError):
        L.io_uring_prep_poll_add(sqe, r, 2**32)
    assert sqe.opcode == L.IORING_OP_NOP
    assert submit_and_reap(ring, 1) == {1: 0}


# ---- eventfd -----------------------------------------------------------------------------------

def test_eventfd_signalled_on_completion(ring, efd):
    assert L.io_uring_register_eventfd(ring, efd) == 0
    assert eventfd_count(efd) == 0
    L.io_uring_prep_nop(sqe_for(ring, 1))
    assert submit_and_reap(ring, 1) == {1: 0}
    assert eventfd_count(efd) >= 1
    assert eventfd_count(efd) == 0                     # reading reset it
    for ud in (2, 3, 4):
        L.io_uring_prep_nop(sqe_for(ring, ud))
    assert submit_and_reap(ring, 3) == {2: 0, 3: 0, 4: 0}
    assert eventfd_count(efd) >= 1


def test_eventfd_wakes_select_on_async_completion(ring, efd, pipe):
    r, w = pipe
    L.io_uring_register_eventfd(ring, efd)
    buf = bytearray(8)
    L.io_uring_prep_read(sqe_for(ring, 1), r, buf, 8, -1)
    L.io_uring_submit(ring)
    rl, _, _ = select.select([efd], [], [], 0.05)
    assert rl == []                                    # nothing completed yet
    os.write(w, b"wake")
    rl, _, _ = select.select([efd], [], [], 5)
    assert rl == [efd]
    assert eventfd_count(efd) >= 1
    assert reap_dict(ring, 1) == {1: 4}
    assert bytes(buf[:4]) == b"wake"


def test_unregister_eventfd_stops_signalling(ring, efd):
    L.io_uring_register_eventfd(ring, efd)
    assert L.io_uring_unregister_eventfd(ring) == 0
    L.io_uring_prep_nop(sqe_for(ring, 1))
    assert submit_and_reap(ring, 1) == {1: 0}
    assert eventfd_count(efd) == 0


def test_eventfd_register_errors(ring, efd, pipe):
    with pytest.raises(OSError) as exc:
        L.io_uring_unregister_eventfd(ring)            # none registered
    assert exc.value.errno == errno.ENXIO
    L.io_uring_register_eventfd(ring, efd)
    with pytest.raises(OSError) as exc:
        L.io_uring_register_eventfd(ring, efd)         # already registered
    assert exc.value.errno == errno.EBUSY
    L.io_uring_unregister_eventfd(ring)
    with pytest.raises(OSError) as exc:
        L.io_uring_register_eventfd(ring, pipe[0])     # not an eventfd
    assert exc.value.errno in (errno.EINVAL, errno.EBADF)
    with pytest.raises(OSError) as exc:
        L.io_uring_register_eventfd(ring, 999999)
    assert exc.value.errno == errno.EBADF


def test_eventfd_async_only_for_async_completions(ring, efd):
    assert L.io_uring_register_eventfd_async(ring, efd) == 0
    L.io_uring_prep_nop(sqe_for(ring, 1))              # completes inline
    assert submit_and_reap(ring, 1) == {1: 0}
    assert eventfd_count(efd) == 0
    L.io_uring_prep_nop(sqe_for(ring, 2, L.IOSQE_ASYNC))   # completes in an io-wq worker
    assert submit_and_reap(ring, 1) == {2: 0}
    deadline = time.monotonic() + 5
    count = 0
    while count == 0 and time.monotonic() < deadline:
        count = eventfd_count(efd)
        if not count:
            time.sleep(0.01)
    assert count >= 1
    assert L.io_uring_unregister_eventfd(ring) == 0


def test_eventfd_register_on_closed_ring(efd):
    r = L.io_uring()
    L.io_uring_queue_init(4, r)
    L.io_uring_queue_exit(r)
    with pytest.raises(ValueError):
        L.io_uring_register_eventfd(r, efd)
    with pytest.raises(ValueError):
        L.io_uring_unregister_eventfd(r)
