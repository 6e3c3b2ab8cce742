"""Multishot requests through ioring.Ring: Multishot iterators (accept, recv, recvmsg, read, poll,
timeout, any prep), BufferRing, cancellation on close/break/GC, re-arming, flow control,
refusal of what Ring.queue() cannot route, and leak checks over many iterations.

Every test checks what the kernel did: the fds are real connections (getpeername), the bytes
are those sent, a cancelled accept leaves new connections in the listen backlog."""
import errno
import gc
import os
import re
import select
import socket
import struct
import threading
import time

import pytest

import ioring
from ioring import liburing as L

IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)


RING = ("Ring", 32)             # the conftest ring fixture: an ioring.Ring(32)


@pytest.fixture
def listener():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    yield srv
    srv.close()


def _open_fds():
    return len(os.listdir("/proc/self/fd"))


def _settle(ring, cond, timeout=5.0):
    """Reap until ``cond()`` (cancellations complete asynchronously)."""
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition never became true"
        ring.wait(1, timeout=0.001)


def _backlog_has_a_connection(srv):
    """True if a connection waits in the listen backlog (nobody, io_uring included, took it)."""
    ready, _, _ = select.select([srv], [], [], 0.5)
    if not ready:
        return False
    conn, _ = srv.accept()
    conn.close()
    return True


# ---- accept ----------------------------------------------------------------------------------------

def test_accept_multishot_yields_every_connection_as_an_fd(ring, listener):
    conns = ring.accept_multishot(listener)
    assert conns.armed and ring.in_flight == 1
    clients = [socket.create_connection(listener.getsockname()) for _ in range(5)]
    try:
        fds = [next(conns) for _ in range(5)]
        accepted = [socket.socket(fileno=fd) for fd in fds]
        assert sorted(s.getpeername() for s in accepted) == sorted(c.getsockname() for c in clients)
        assert conns.armed and ring.in_flight == 1            # still armed in the kernel
        conns.close()
        _settle(ring, lambda: ring.in_flight == 0)
        assert not conns.armed and conns.ended
        with pytest.raises(StopIteration):
            next(conns)
        late = socket.create_connection(listener.getsockname())
        assert _backlog_has_a_connection(listener)            # the kernel request is gone
        late.close()
        for s in accepted:
            s.close()
    finally:
        for c in clients:
            c.close()


def test_queue_refuses_a_multishot_accept_instead_of_dropping_its_results(ring, listener):
    # Before: the first fd was the result, every later one leaked, and in_flight said 0.
    with pytest.raises(ValueError, match=r"io_uring_prep_multishot_accept makes a multishot request "
                                         r"\(a completion per result\) that Ring.queue\(\) cannot "
                                         r"route: its results would be lost\. Use "
                                         r"ring.accept_multishot\(sock\)"):
        ring.queue(L.io_uring_prep_multishot_accept, listener.fileno(), None, None, 0)
    assert ring.in_flight == 0
    ring.submit()
    c = socket.create_connection(listener.getsockname())
    assert _backlog_has_a_connection(listener)                # nothing was armed
    c.close()
    assert ring.nop().result(5) == 0


def _prep_recv_made_multishot_by_hand(sqe, fd):
    L.io_uring_prep_recv(sqe, fd, None, 0, 0)
    sqe.ioprio = sqe.ioprio | L.IORING_RECV_MULTISHOT


@pytest.mark.parametrize("make, method", [
    (lambda fd, ts, msg: (L.io_uring_prep_recv_multishot, fd, None, 0, 0), "ring.recv_multishot"),
    (lambda fd, ts, msg: (L.io_uring_prep_recvmsg_multishot, fd, msg, 0), "ring.recvmsg_multishot"),
    (lambda fd, ts, msg: (L.io_uring_prep_read_multishot, fd, 0, 0, 0), "ring.read_multishot"),
    (lambda fd, ts, msg: (L.io_uring_prep_poll_multishot, fd, select.POLLIN), "ring.poll_multishot"),
    (lambda fd, ts, msg: (L.io_uring_prep_timeout, ts, 0, L.IORING_TIMEOUT_MULTISHOT),
     "ring.timeout_multishot"),
    (lambda fd, ts, msg: (L.io_uring_prep_poll_update, 1, 1, select.POLLIN,
                          L.IORING_POLL_ADD_MULTI),
     "ring.poll_multishot(fd, mask) (a poll update cannot make a Ring request multishot)"),
    (lambda fd, ts, msg: (_prep_recv_made_multishot_by_hand, fd), "ring.recv_multishot"),
])
def test_queue_refuses_every_multishot_request(ring, make, method):
    a, b = socket.socketpair()
    try:
        msg = L.msghdr()
        msg.msg_namelen = 16
        prep, *args = make(a.fileno(), L.kernel_timespec(0, 1000), msg)
        with pytest.raises(ValueError, match=rf"makes a multishot request .* Use {re.escape(method)}"):
            ring.queue(prep, *args)
        assert ring.in_flight == 0
        assert ring.nop().result(5) == 0          # the refused SQE went out as a dropped NOP
        b.send(b"x")
        assert ring.recv(a, 1).result(5) == b"x"  # nothing armed took the data
    finally:
        a.close()
        b.close()


def test_queue_refuses_a_msg_ring_to_itself_whose_completion_nobody_owns(ring):
    # The posted CQE carries a user_data no Operation has (or worse, one that some request has).
    dup = os.dup(ring.fd)
    try:
        for target in (ring.fd, dup):
            with pytest.raises(ValueError, match=r"io_uring_prep_msg_ring would post a completion "
                                                 r"into this same Ring that no request owns"):
                ring.queue(L.io_uring_prep_msg_ring, target, 7, 1, 0)
            assert ring.in_flight == 0
        with ioring.Ring(8) as other:       # to another ring: its business
            assert ring.queue(L.io_uring_prep_msg_ring, other.fd, 7, 1, 0).result(5) == 0
            cqe = L.io_uring_wait_cqe(other.uring)
            assert (cqe.user_data, cqe.res) == (1, 7)
            L.io_uring_cqe_seen(other.uring, cqe)
    finally:
        os.close(dup)


def test_breaking_out_of_the_loop_cancels_the_request(ring, listener):
    c1 = socket.create_connection(listener.getsockname())
    for fd in ring.accept_multishot(listener):
        os.close(fd)
        break
    _settle(ring, lambda: ring.in_flight == 0)
    c2 = socket.create_connection(listener.getsockname())
    assert _backlog_has_a_connection(listener)
    c1.close()
    c2.close()


def test_garbage_collection_cancels_the_request(ring, listener):
    conns = ring.accept_multishot(listener)
    ring.submit()
    assert ring.in_flight == 1
    del conns
    gc.collect()
    _settle(ring, lambda: ring.in_flight == 0)
    c = socket.create_connection(listener.getsockname())
    assert _backlog_has_a_connection(listener)
    c.close()


def test_close_closes_accepted_fds_nobody_took(ring, listener):
    conns = ring.accept_multishot(listener)
    clients = [socket.create_connection(listener.getsockname()) for _ in range(3)]
    try:
        _settle(ring, lambda: conns.pending == 3)
        conns.close()
        for c in clients:                   # the server side was closed: the client sees EOF
            c.settimeout(5)
            assert c.recv(1) == b""
        _settle(ring, lambda: ring.in_flight == 0)
    finally:
        for c in clients:
            c.close()


def test_cancel_ends_the_iteration_after_what_already_arrived(ring, listener):
    conns = ring.accept_multishot(listener)
    clients = [socket.create_connection(listener.getsockname()) for _ in range(2)]
    try:
        _settle(ring, lambda: conns.pending == 2)
        assert conns.cancel() is True
        fds = list(conns)                   # both, then the end (no error)
        assert len(fds) == 2
        for fd in fds:
            os.close(fd)
        assert conns.cancel() is False
        assert ring.in_flight == 0
    finally:
        for c in clients:
            c.close()


def test_accept_error_raises_after_the_results_before_it(ring):
    s = socket.socket()                     # not listening: the kernel says EINVAL
    try:
        conns = ring.accept_multishot(s)
        with pytest.raises(OSError) as info:
            next(conns)
        assert info.value.errno == errno.EINVAL
        assert f"[accept_multishot(fd={s.fileno()})]" in str(info.value)
        with pytest.raises(StopIteration):
            next(conns)
        assert ring.in_flight == 0
    finally:
        s.close()


def test_kernel_cancellation_when_the_submitting_thread_exited_is_re_armed(ring, listener):
    # The kernel cancels a request (ECANCELED) when it would complete after the thread that
    # submitted it has exited. A Ring is shared: any thread's submit sends every queued SQE.
    conns = ring.accept_multishot(listener)
    t = threading.Thread(target=ring.submit)
    t.start()
    t.join()
    c = socket.create_connection(listener.getsockname())
    try:
        fd = next(conns)                    # before: OSError(ECANCELED)
        assert socket.socket(fileno=fd).getpeername() == c.getsockname()
        conns.close()
    finally:
        c.close()


def test_closing_the_ring_ends_iterators_with_ecanceled(listener):
    ring = ioring.Ring(8)
    conns = ring.accept_multishot(listener)
    ring.submit()
    ring.close()
    assert not conns.armed
    with pytest.raises(OSError) as info:
        next(conns)
    assert info.value.errno == errno.ECANCELED


def test_a_multishot_request_cannot_join_a_chain(ring, listener):
    with ring.linked():
        with pytest.raises(RuntimeError, match=r"a multishot request cannot be part of a "
                                               r"linked\(\) chain"):
            ring.accept_multishot(listener)
    assert ring.in_flight == 0


def test_completions_does_not_wait_for_an_armed_multishot(ring, listener):
    conns = ring.accept_multishot(listener)
    nop = ring.nop()
    start = time.monotonic()
    assert list(ring.completions(timeout=5)) == [nop]
    assert time.monotonic() - start < 2
    conns.close()


# ---- recv, read, recvmsg: provided buffers ---------------------------------------------------------

def test_recv_multishot_yields_the_bytes_sent_and_ends_at_shutdown(ring):
    a, b = socket.socketpair()
    try:
        payload = os.urandom(1 << 20)
        data = ring.recv_multishot(a)
        sender = threading.Thread(target=lambda: (b.sendall(payload), b.shutdown(socket.SHUT_WR)))
        sender.start()
        got = b"".join(data)
        sender.join(10)
        assert got == payload
        assert data.ended and not data.armed and ring.in_flight == 0
    finally:
        a.close()
        b.close()


def test_buffer_ring_buffers_go_back_to_the_kernel(ring):
    a, b = socket.socketpair()
    try:
        with ioring.BufferRing(ring, 8, 4096) as buffers:
            assert buffers.available == 8 and buffers.bgid >= 0
            data = ring.recv_multishot(a, buffers)
            for i in range(50):
                b.send(b"%04d" % i)
                assert next(data) == b"%04d" % i
            assert buffers.available == 8
            data.close()
            _settle(ring, lambda: ring.in_flight == 0)
        assert buffers.closed and buffers.available == 0
    finally:
        a.close()
        b.close()


def test_two_buffer_rings_get_their_own_groups_and_an_explicit_taken_one_is_refused(ring):
    one = ioring.BufferRing(ring, 2, 64)
    two = ioring.BufferRing(ring, 2, 64)
    assert one.bgid != two.bgid
    with pytest.raises(FileExistsError, match=rf"buffer group {one.bgid} is already registered"):
        ioring.BufferRing(ring, 2, 64, bgid=one.bgid)
    with pytest.raises(ValueError, match="count must be a power of two in 1..32768, not 3"):
        ioring.BufferRing(ring, 3, 64)


def test_running_out_of_buffers_re_arms_without_losing_data(ring):
    # One 16-byte buffer: a 64 KiB burst ends the request with ENOBUFS over and over; each time
    # the iterator re-arms it, and every byte arrives once, in order.
    a, b = socket.socketpair()
    try:
        buffers = ioring.BufferRing(ring, 1, 16)
        payload = os.urandom(1 << 16)
        b.sendall(payload)
        b.shutdown(socket.SHUT_WR)
        got = b"".join(ring.recv_multishot(a, buffers))
        assert got == payload
    finally:
        a.close()
        b.close()


def test_a_consumer_that_falls_behind_pauses_the_request(ring):
    # The iterator holds at most about the BufferRing's capacity (here 4 KiB): past it, the
    # request is cancelled and the rest waits in the socket, until the consumer catches up.
    a, b = socket.socketpair()
    try:
        buffers = ioring.BufferRing(ring, 4, 1024)
        data = ring.recv_multishot(a, buffers)
        payload = os.urandom(256 << 10)
        sender = threading.Thread(target=b.sendall, args=(payload,))
        sender.start()
        first = next(data)
        _settle(ring, lambda: not data.armed)     # paused
        # 4 KiB (5 results) past the threshold, plus what the kernel received before the
        # cancel: at most the 4 buffers it held
        assert data.pending <= 5 + 4
        got = [first]
        while sum(map(len, got)) < len(payload):
            got.append(next(data))
        sender.join(10)
        assert b"".join(got) == payload
    finally:
        a.close()
        b.close()


def test_recv_multishot_on_a_non_socket_raises(ring):
    r, w = os.pipe()
    try:
        data = ring.recv_multishot(r)
        with pytest.raises(OSError) as info:
            next(data)
        assert info.value.errno == errno.ENOTSOCK
        assert f"[recv_multishot(fd={r})]" in str(info.value)
    finally:
        os.close(r)
        os.close(w)


def test_read_multishot_of_a_pipe_until_eof(ring):
    r, w = os.pipe()
    try:
        data = ring.read_multishot(r)
        os.write(w, b"first")
        assert next(data) == b"first"
        os.write(w, b"second")
        assert next(data) == b"second"
        os.close(w)
        w = -1
        assert list(data) == []
        assert ring.in_flight == 0
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)


def test_recvmsg_multishot_yields_what_socket_recvmsg_returns(ring):
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        rx.bind(("127.0.0.1", 0))
        tx.bind(("127.0.0.1", 0))
        rx.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
        msgs = ring.recvmsg_multishot(rx, ancbufsize=64)
        for payload in (b"one", b"two datagrams", b""):
            tx.sendto(payload, rx.getsockname())
            data, ancdata, flags, address = next(msgs)
            assert (data, flags, address) == (payload, 0, tx.getsockname())
            (level, kind, raw), = ancdata
            assert (level, kind) == (socket.IPPROTO_IP, IP_PKTINFO)
            assert socket.inet_ntoa(struct.unpack("@i4s4s", raw)[2]) == "127.0.0.1"
        msgs.close()
        _settle(ring, lambda: ring.in_flight == 0)
    finally:
        rx.close()
        tx.close()


# ---- poll, timeout, any prep -----------------------------------------------------------------------

def test_poll_multishot_reports_each_readiness(ring):
    r, w = os.pipe()
    try:
        events = ring.poll_multishot(r, select.POLLIN)
        for _ in range(3):
            os.write(w, b"x")
            assert next(events) & select.POLLIN
            os.read(r, 1)
        events.close()
        _settle(ring, lambda: ring.in_flight == 0)
    finally:
        os.close(r)
        os.close(w)


def test_timeout_multishot_counts_expirations(ring):
    start = time.monotonic()
    assert list(ring.timeout_multishot(0.01, count=3)) == [1, 2, 3]
    assert time.monotonic() - start >= 0.025
    ticks = ring.timeout_multishot(0.001)               # endless until closed
    assert [next(ticks) for _ in range(5)] == [1, 2, 3, 4, 5]
    ticks.close()
    _settle(ring, lambda: ring.in_flight == 0)
    with pytest.raises(ValueError, match="seconds must be >= 0"):
        ring.timeout_multishot(-1)


def test_multishot_with_any_prep(ring):
    r, w = os.pipe()
    try:
        events = ring.multishot(L.io_uring_prep_poll_multishot, r, select.POLLIN, fd=r)
        assert events.kind == "poll_multishot" and events.fd == r
        os.write(w, b"x")
        assert next(events) & select.POLLIN
        events.close()
        _settle(ring, lambda: ring.in_flight == 0)
        # a single-shot prep: its one completion, then the end
        assert list(ring.multishot(L.io_uring_prep_nop)) == [0]
        with pytest.raises(OSError) as info:
            list(ring.multishot(L.io_uring_prep_read, 9999, bytearray(1), 1, 0, kind="bad_read"))
        assert info.value.errno == errno.EBADF and "[bad_read()]" in str(info.value)
    finally:
        os.close(r)
        os.close(w)


def test_objects_built_from_python_raise_instead_of_crashing():
    fake = ioring.Multishot()
    for use in (lambda: next(fake), fake.cancel, lambda: fake.kind, lambda: fake.fd,
                lambda: fake.armed, lambda: fake.pending, lambda: fake.ended, fake._take,
                lambda: fake._set_waker(None)):
        with pytest.raises(ValueError, match="Multishot objects come from Ring methods"):
            use()
    fake.close()
    assert repr(fake) == "<Multishot (not made by a Ring)>"
    bare = ioring.BufferRing.__new__(ioring.BufferRing)
    assert bare.available == 0 and not bare.closed
    bare.close()
    with ioring.Ring(8) as ring:
        with pytest.raises(ValueError, match="the BufferRing belongs to another Ring"):
            ring.recv_multishot(0, bare)


def test_a_prep_that_raises_leaves_nothing_queued(ring):
    for call in (lambda: ring.multishot(L.io_uring_prep_poll_multishot, "not an fd", 1),
                 lambda: ring.queue(L.io_uring_prep_read, "not an fd", bytearray(1), 1, 0)):
        with pytest.raises(TypeError):
            call()
        assert ring.in_flight == 0
    with ring.linked():                     # the voided SQEs did not end up in a chain
        bad = ring.read(9999, bytearray(1), 0)
        after = ring.nop()
    assert bad.exception(5).errno == errno.EBADF
    assert after.exception(5).errno == errno.ECANCELED


def test_zero_copy_send_result_is_the_byte_count_not_the_notification(ring, listener):
    a = socket.create_connection(listener.getsockname())      # TCP: AF_UNIX has no SEND_ZC
    b, _ = listener.accept()
    try:
        op = ring.queue(L.io_uring_prep_send_zc, a.fileno(), b"zero-copy", 9, 0, 0)
        _settle(ring, lambda: ring.in_flight == 0)           # both CQEs reaped
        if op.res == -errno.EOPNOTSUPP or op.res == -errno.EINVAL:
            pytest.skip(f"the kernel refused SEND_ZC: {os.strerror(-op.res)}")
        assert op.result() == 9                               # before: 0, the notification's
        assert b.recv(100) == b"zero-copy"
    finally:
        a.close()
        b.close()


# ---- leak checks -----------------------------------------------------------------------------------

def test_no_fd_or_buffer_leaks_over_many_iterators(listener):
    """1000 accept iterators, each closed with connections taken and untaken; 1000 recv
    iterators on one shared BufferRing, each closed with data taken and untaken: every fd is
    closed, every buffer back with the kernel, nothing in flight."""
    with ioring.Ring(64) as ring:
        buffers = ioring.BufferRing(ring, 16, 256)
        ring.nop().result(5)
        fds_before = _open_fds()
        for i in range(1000):
            conns = ring.accept_multishot(listener)
            clients = [socket.create_connection(listener.getsockname()) for _ in range(2)]
            taken = next(conns)
            _settle(ring, lambda: conns.pending == 1)
            conns.close()                   # closes the untaken one
            os.close(taken)
            for c in clients:
                c.close()
        for i in range(1000):
            a, b = socket.socketpair()
            data = ring.recv_multishot(a, buffers)
            b.send(b"taken")
            assert next(data) == b"taken"
            b.send(b"left")
            _settle(ring, lambda: data.pending == 1)
            if i % 2:
                data.close()
            else:
                del data                    # garbage: its __del__ closes it
            _settle(ring, lambda: ring.in_flight == 0)
            a.close()
            b.close()
        _settle(ring, lambda: ring.in_flight == 0)
        assert buffers.available == 16
        assert _open_fds() == fds_before
