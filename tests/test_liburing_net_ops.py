"""ioring.liburing, the net group: sockets, accept/connect/bind/listen/shutdown, the send and
recv variants, msghdr/sockaddr, the multishot recvmsg buffer helpers, msg_ring, and uring_cmd.

Every operation is checked on the other side of the kernel: the peer socket (socket.recv,
accept, getsockname), the target ring's CQE, the fd table, the bytes on a block device. Bad
arguments must raise before the SQE changes (it stays a NOP).
"""
import errno
import os
import select
import shutil
import socket
import struct
import subprocess
import sys
import time

import pytest

from ioring import liburing as L
from helpers import assert_no_completion, sqe_for  # noqa: E402

from helpers import make_ring, reap

IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)
SO_TIMESTAMP = getattr(socket, "SO_TIMESTAMP", 29)
CMSG_HDR = struct.calcsize("@Nii")          # struct cmsghdr: size_t cmsg_len, int level, int type
CMSG_ALIGN = struct.calcsize("@N")


# ---- helpers -----------------------------------------------------------------------------------

_PROBE = None


def require_op(op, name):
    global _PROBE
    if _PROBE is None:
        _PROBE = L.io_uring_get_probe()
    if not L.io_uring_opcode_supported(_PROBE, op):
        pytest.skip(f"{name} unsupported: io_uring_get_probe() last_op={_PROBE.last_op}, "
                    f"io_uring_opcode_supported({op}) is False")


def run(ring, n=1):
    """Submit and reap n completions: {user_data: (res, flags)} (user_data must be unique)."""
    assert L.io_uring_submit(ring) >= 1
    out = {}
    for ud, res, flags in reap(ring, n):
        assert ud not in out, f"two completions for {ud}"
        out[ud] = (res, flags)
    return out


def run_one(ring):
    (res, _flags), = run(ring, 1).values()
    return res


def fresh_nop(ring):
    """A fresh SQE for a bad-input test (it must stay a NOP after the failed prep)."""
    sqe = L.io_uring_get_sqe(ring)
    L.io_uring_prep_nop(sqe)
    return sqe


def tcp_pair():
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen()
    c = socket.create_connection(lst.getsockname(), timeout=5)
    s, _ = lst.accept()
    lst.close()
    s.settimeout(5)
    return c, s


def recv_exactly(sock, n):
    sock.settimeout(5)
    got = b""
    while len(got) < n:
        chunk = sock.recv(n - len(got))
        assert chunk, f"EOF after {len(got)} of {n} bytes"
        got += chunk
    return got


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def listener():
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(16)
    lst.settimeout(5)
    yield lst
    lst.close()


@pytest.fixture
def two_rings():
    a, b = make_ring(32), make_ring(32)
    yield a, b
    for r in (a, b):
        if r.ring_fd is not None:
            L.io_uring_queue_exit(r)


def buf_ring_or_skip(ring, nentries, bgid, size):
    """A registered buffer ring of ``nentries`` bytearrays of ``size`` bytes, bids 0..n-1."""
    if not hasattr(L, "io_uring_setup_buf_ring"):
        pytest.skip("buffer rings not built yet")
    br = L.io_uring_setup_buf_ring(ring, nentries, bgid, 0)
    bufs = [bytearray(size) for _ in range(nentries)]
    mask = L.io_uring_buf_ring_mask(nentries)
    for bid, buf in enumerate(bufs):
        L.io_uring_buf_ring_add(br, buf, size, bid, mask, bid)
    L.io_uring_buf_ring_advance(br, nentries)
    return br, bufs


def select_group(sqe, bgid):
    L.io_uring_sqe_set_flags(sqe, sqe.flags | L.IOSQE_BUFFER_SELECT)
    L.io_uring_sqe_set_buf_group(sqe, bgid)


def cancel(ring, target_ud, ud=0xCA):
    """Cancel ``target_ud``: returns its final (res, flags) and checks the cancel's own CQE."""
    L.io_uring_prep_cancel64(sqe_for(ring, ud), target_ud, 0)
    got = run(ring, 2)
    assert got[ud][0] == 0
    return got[target_ud]


# ---- sockaddr ----------------------------------------------------------------------------------

def test_sockaddr_inet_layout_matches_the_c_struct():
    sa = L.sockaddr(socket.AF_INET, ("127.0.0.1", 8080))
    assert sa.family == socket.AF_INET
    assert sa.addrlen == 16
    assert bytes(sa) == struct.pack("=H", socket.AF_INET) + struct.pack("!H", 8080) + \
        socket.inet_aton("127.0.0.1") + bytes(8)
    assert sa.to_python() == ("127.0.0.1", 8080)
    assert L.sockaddr(socket.AF_INET, ("", 1)).to_python() == ("0.0.0.0", 1)
    assert L.sockaddr(socket.AF_INET, (b"10.1.2.3", 0)).to_python() == ("10.1.2.3", 0)
    assert L.sockaddr(socket.AF_INET, ("<broadcast>", 9)).to_python() == ("255.255.255.255", 9)


def test_sockaddr_inet6_and_unix():
    sa = L.sockaddr(socket.AF_INET6, ("::1", 443, 7, 2))
    assert sa.addrlen == 28
    assert sa.to_python() == ("::1", 443, 7, 2)
    assert L.sockaddr(socket.AF_INET6, ("fe80::1", 1)).to_python() == ("fe80::1", 1, 0, 0)
    path = L.sockaddr(socket.AF_UNIX, "/tmp/some.sock")
    assert path.family == socket.AF_UNIX
    assert path.addrlen == 2 + len("/tmp/some.sock")
    assert path.to_python() == "/tmp/some.sock"
    abstract = L.sockaddr(socket.AF_UNIX, b"\0hidden")
    assert abstract.addrlen == 2 + 7
    assert abstract.to_python() == b"\0hidden"


def test_sockaddr_empty_and_from_bytes():
    empty = L.sockaddr()
    assert empty.family == socket.AF_UNSPEC
    assert empty.addrlen == 128          # sizeof(struct sockaddr_storage): room for any address
    assert empty.to_python() is None
    raw = bytes(L.sockaddr(socket.AF_INET, ("192.0.2.1", 53)))
    again = L.sockaddr.from_bytes(raw)
    assert again.to_python() == ("192.0.2.1", 53) and again.addrlen == 16
    other = L.sockaddr.from_bytes(struct.pack("=H", socket.AF_PACKET) + b"xyz")
    assert other.to_python() == (socket.AF_PACKET, struct.pack("=H", socket.AF_PACKET) + b"xyz")


@pytest.mark.parametrize("args, exc", [
    ((socket.AF_INET, ("localhost", 80)), ValueError),       # no name resolution
    ((socket.AF_INET, ("1.2.3.4", 65536)), ValueError),
    ((socket.AF_INET, ("1.2.3.4", -1)), ValueError),
    ((socket.AF_INET, ("1.2.3.4", "80")), TypeError),
    ((socket.AF_INET, ("1.2.3.4",)), TypeError),
    ((socket.AF_INET, ("::1", 80)), ValueError),
    ((socket.AF_INET, (1234, 80)), TypeError),
    ((socket.AF_INET, ("1.2.3.4\0", 80)), ValueError),
    ((socket.AF_INET6, ("::1", 80, 1 << 20)), ValueError),
    ((socket.AF_INET6, ("::1", 80, 0, 1 << 32)), ValueError),
    ((socket.AF_INET6, ("127.0.0.1", 80)), ValueError),
    ((socket.AF_UNIX, "x" * 108), ValueError),
    ((socket.AF_UNIX, b"\0" + b"x" * 108), ValueError),
    ((socket.AF_UNIX, "a\0b"), ValueError),
    ((socket.AF_UNIX, 3), TypeError),
    ((socket.AF_PACKET, b"raw"), ValueError),
    (("AF_INET", ("1.2.3.4", 1)), TypeError),
    ((None, ("1.2.3.4", 1)), TypeError),
])
def test_sockaddr_bad_input(args, exc):
    with pytest.raises(exc):
        L.sockaddr(*args)


def test_sockaddr_unix_longest_paths():
    assert L.sockaddr(socket.AF_UNIX, "x" * 107).addrlen == 2 + 107
    assert L.sockaddr(socket.AF_UNIX, b"\0" + b"y" * 107).addrlen == 2 + 108
    with pytest.raises(ValueError):
        L.sockaddr.from_bytes(b"\x02")
    with pytest.raises(ValueError):
        L.sockaddr.from_bytes(bytes(129))


# ---- msghdr ------------------------------------------------------------------------------------

def test_msghdr_fields():
    name = L.sockaddr()
    iov = [bytearray(4), b"ro"]
    control = bytearray(32)
    m = L.msghdr(name, iov, control, 0)
    assert m.msg_name is name
    assert m.msg_namelen == 128
    assert m.msg_iov == tuple(iov) and m.msg_iovlen == 2
    assert m.msg_control is control and m.msg_controllen == 32
    assert m.msg_flags == 0
    m.msg_controllen = 16
    m.msg_namelen = 16
    m.msg_flags = socket.MSG_TRUNC
    assert (m.msg_controllen, m.msg_namelen, m.msg_flags) == (16, 16, socket.MSG_TRUNC)
    empty = L.msghdr()
    assert (empty.msg_name, empty.msg_iovlen, empty.msg_control, empty.msg_controllen) == (None, 0, None, 0)


def test_msghdr_bad_input():
    with pytest.raises(TypeError):
        L.msghdr(("127.0.0.1", 80))             # a sockaddr, not a Python address
    with pytest.raises(TypeError):
        L.msghdr(None, [bytearray(2), 42])
    with pytest.raises(TypeError):
        L.msghdr(None, None, "control")
    m = L.msghdr(L.sockaddr(), [bytearray(2)], bytearray(8))
    with pytest.raises(ValueError):
        m.msg_controllen = 9                    # larger than the control buffer
    with pytest.raises(ValueError):
        m.msg_namelen = 129                     # larger than struct sockaddr_storage
    with pytest.raises(ValueError):
        m.msg_namelen = -1
    with pytest.raises(TypeError):
        m.msg_namelen = 16.0
    with pytest.raises(TypeError):
        m.msg_controllen = "8"
    with pytest.raises(TypeError):
        m.__init__(None, [bytearray(100)])      # the buffers are fixed once (they may be in flight)
    assert m.msg_iovlen == 1


# ---- socket / bind / listen / connect / shutdown -----------------------------------------------

def test_socket_creates_a_socket(ring):
    require_op(L.IORING_OP_SOCKET, "IORING_OP_SOCKET")
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_socket(sqe, socket.AF_INET, socket.SOCK_STREAM, 0, 0)
    assert sqe.opcode == L.IORING_OP_SOCKET
    assert (sqe.fd, sqe.len, sqe.off) == (socket.AF_INET, 0, socket.SOCK_STREAM)
    fd = run_one(ring)
    assert fd >= 0
    s = socket.socket(fileno=fd)
    try:
        assert (s.family, s.type) == (socket.AF_INET, socket.SOCK_STREAM)
    finally:
        s.close()
    L.io_uring_prep_socket(sqe_for(ring, 2), socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC, 0)
    fd = run_one(ring)
    s = socket.socket(fileno=fd)
    try:
        assert (s.family, s.type) == (socket.AF_UNIX, socket.SOCK_DGRAM)
        assert not os.get_inheritable(fd)
    finally:
        s.close()
    L.io_uring_prep_socket(sqe_for(ring, 3), 12345, socket.SOCK_STREAM, 0)
    assert run_one(ring) == -errno.EAFNOSUPPORT


def test_socket_direct_bind_listen_into_fixed_slots(ring):
    require_op(L.IORING_OP_BIND, "IORING_OP_BIND")
    L.io_uring_register_files(ring, [-1, -1, -1, -1])
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_socket_direct(sqe, socket.AF_INET, socket.SOCK_STREAM, 0, 2, 0)
    assert sqe.splice_fd_in == 3                 # file_index is slot + 1
    assert run_one(ring) == 0
    port = free_port()
    addr = L.sockaddr(socket.AF_INET, ("127.0.0.1", port))
    L.io_uring_prep_bind(sqe_for(ring, 2, L.IOSQE_FIXED_FILE | L.IOSQE_IO_LINK), 2, addr)
    L.io_uring_prep_listen(sqe_for(ring, 3, L.IOSQE_FIXED_FILE), 2, 8)
    assert run(ring, 2) == {2: (0, 0), 3: (0, 0)}
    # The socket only lives in the ring's table, and it listens on the port.
    c = socket.create_connection(("127.0.0.1", port), timeout=5)
    c.close()
    sqe = sqe_for(ring, 4)
    L.io_uring_prep_socket_direct(sqe, socket.AF_INET, socket.SOCK_DGRAM, 0, L.IORING_FILE_INDEX_ALLOC)
    assert sqe.splice_fd_in == -1                # (IORING_FILE_INDEX_ALLOC - 1) + 1, all ones
    slot = run_one(ring)
    assert slot in (0, 1, 3)
    sqe = sqe_for(ring, 5)
    L.io_uring_prep_socket_direct_alloc(sqe, socket.AF_INET, socket.SOCK_DGRAM, 0)
    assert sqe.splice_fd_in == -1
    slot2 = run_one(ring)
    assert slot2 in (0, 1, 3) and slot2 != slot
    L.io_uring_prep_socket_direct(sqe_for(ring, 6), socket.AF_INET, socket.SOCK_DGRAM, 0, 9)
    assert run_one(ring) == -errno.EINVAL        # no slot 9
    L.io_uring_unregister_files(ring)


def test_connect(ring, listener):
    require_op(L.IORING_OP_CONNECT, "IORING_OP_CONNECT")
    client = socket.socket()
    try:
        addr = L.sockaddr(socket.AF_INET, listener.getsockname())
        sqe = sqe_for(ring, 1)
        L.io_uring_prep_connect(sqe, client.fileno(), addr)
        assert sqe.opcode == L.IORING_OP_CONNECT and sqe.off == 16
        assert run_one(ring) == 0
        peer, peer_addr = listener.accept()
        assert peer_addr == client.getsockname()
        peer.close()
    finally:
        client.close()


def test_connect_refused_and_explicit_addrlen(ring):
    port = free_port()
    client = socket.socket()
    try:
        L.io_uring_prep_connect(sqe_for(ring, 1), client.fileno(),
                                L.sockaddr(socket.AF_INET, ("127.0.0.1", port)), 16)
        assert run_one(ring) == -errno.ECONNREFUSED
    finally:
        client.close()
    client = socket.socket()
    try:
        L.io_uring_prep_connect(sqe_for(ring, 2), client.fileno(),
                                L.sockaddr(socket.AF_INET, ("127.0.0.1", port)), 4)
        assert run_one(ring) == -errno.EINVAL   # too short for a sockaddr_in
    finally:
        client.close()


def test_connect_and_accept_over_ipv6(ring):
    try:
        lst = socket.socket(socket.AF_INET6)
        lst.bind(("::1", 0))
    except OSError as exc:
        pytest.skip(f"no IPv6 loopback: {exc}")
    lst.listen()
    client = socket.socket(socket.AF_INET6)
    try:
        addr = L.sockaddr()
        L.io_uring_prep_accept(sqe_for(ring, 1), lst.fileno(), addr, None, 0)
        L.io_uring_prep_connect(sqe_for(ring, 2), client.fileno(),
                                L.sockaddr(socket.AF_INET6, lst.getsockname()))
        got = run(ring, 2)
        assert got[2][0] == 0 and got[1][0] >= 0
        assert addr.family == socket.AF_INET6 and addr.addrlen == 28
        assert addr.to_python() == client.getsockname()
        os.close(got[1][0])
    finally:
        client.close()
        lst.close()


def test_connect_unix(ring, tmp_path):
    path = str(tmp_path / "srv.sock")
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(path)
    srv.listen()
    srv.settimeout(5)
    client = socket.socket(socket.AF_UNIX)
    try:
        L.io_uring_prep_connect(sqe_for(ring, 1), client.fileno(), L.sockaddr(socket.AF_UNIX, path))
        assert run_one(ring) == 0
        peer, _ = srv.accept()
        client.sendall(b"over unix")
        assert recv_exactly(peer, 9) == b"over unix"
        peer.close()
    finally:
        client.close()
        srv.close()


def test_bind_and_listen(ring):
    require_op(L.IORING_OP_BIND, "IORING_OP_BIND")
    require_op(L.IORING_OP_LISTEN, "IORING_OP_LISTEN")
    s = socket.socket()
    try:
        sqe = sqe_for(ring, 1)
        L.io_uring_prep_bind(sqe, s.fileno(), L.sockaddr(socket.AF_INET, ("127.0.0.1", 0)))
        assert (sqe.opcode, sqe.off) == (L.IORING_OP_BIND, 16)
        assert run_one(ring) == 0
        host, port = s.getsockname()
        assert host == "127.0.0.1" and port != 0
        sqe = sqe_for(ring, 2)
        L.io_uring_prep_listen(sqe, s.fileno(), 4)
        assert (sqe.opcode, sqe.len) == (L.IORING_OP_LISTEN, 4)
        assert run_one(ring) == 0
        assert s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1
        L.io_uring_prep_bind(sqe_for(ring, 3), s.fileno(), L.sockaddr(socket.AF_INET, ("127.0.0.1", 0)))
        assert run_one(ring) == -errno.EINVAL    # already bound
    finally:
        s.close()


def test_shutdown(ring):
    require_op(L.IORING_OP_SHUTDOWN, "IORING_OP_SHUTDOWN")
    a, b = socket.socketpair()
    try:
        sqe = sqe_for(ring, 1)
        L.io_uring_prep_shutdown(sqe, a.fileno(), socket.SHUT_WR)
        assert (sqe.opcode, sqe.len) == (L.IORING_OP_SHUTDOWN, socket.SHUT_WR)
        assert run_one(ring) == 0
        b.settimeout(5)
        assert b.recv(10) == b""                # EOF: the write side is shut
        b.sendall(b"still open")                # the other direction still works
        assert recv_exactly(a, 10) == b"still open"
        r, w = os.pipe()
        L.io_uring_prep_shutdown(sqe_for(ring, 2), r, socket.SHUT_RDWR)
        assert run_one(ring) == -errno.ENOTSOCK
        os.close(r)
        os.close(w)
    finally:
        a.close()
        b.close()


# ---- accept ------------------------------------------------------------------------------------

def test_accept_fills_the_peer_address(ring, listener):
    addr = L.sockaddr()
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_accept(sqe, listener.fileno(), addr, None, socket.SOCK_CLOEXEC)
    assert sqe.opcode == L.IORING_OP_ACCEPT and sqe.rw_flags == socket.SOCK_CLOEXEC
    assert L.io_uring_submit(ring) == 1
    client = socket.create_connection(listener.getsockname(), timeout=5)
    try:
        (ud, fd, flags), = reap(ring, 1)
        assert fd >= 0 and not flags & L.IORING_CQE_F_MORE
        assert addr.addrlen == 16
        assert addr.to_python() == client.getsockname()
        assert not os.get_inheritable(fd)
        peer = socket.socket(fileno=fd)
        client.sendall(b"accepted")
        assert recv_exactly(peer, 8) == b"accepted"
        peer.close()
    finally:
        client.close()


def test_accept_without_address_and_with_a_short_capacity(ring, listener):
    L.io_uring_prep_accept(sqe_for(ring, 1), listener.fileno(), None, None, 0)
    addr = L.sockaddr()
    L.io_uring_prep_accept(sqe_for(ring, 2), listener.fileno(), addr, 4, 0)
    assert L.io_uring_submit(ring) == 2
    clients = [socket.create_connection(listener.getsockname(), timeout=5) for _ in range(2)]
    try:
        got = dict((ud, res) for ud, res, _ in reap(ring, 2))
        assert got[1] >= 0 and got[2] >= 0
        # Capacity 4: the kernel wrote family and port only, and the full length it had.
        assert addr.addrlen == 16
        assert addr.family == socket.AF_INET
        ports = {c.getsockname()[1] for c in clients}
        assert addr.to_python()[1] in ports and addr.to_python()[0] == "0.0.0.0"
        for fd in got.values():
            os.close(fd)
    finally:
        for c in clients:
            c.close()


def test_accept_on_a_non_listening_socket(ring):
    s = socket.socket()
    try:
        L.io_uring_prep_accept(sqe_for(ring, 1), s.fileno(), L.sockaddr(), None, 0)
        assert run_one(ring) == -errno.EINVAL
    finally:
        s.close()


def test_accept_direct(ring, listener):
    L.io_uring_register_files(ring, [-1, -1, -1])
    addr = L.sockaddr()
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_accept_direct(sqe, listener.fileno(), addr, None, 0, 1)
    assert sqe.splice_fd_in == 2
    assert L.io_uring_submit(ring) == 1
    client = socket.create_connection(listener.getsockname(), timeout=5)
    try:
        assert reap(ring, 1)[0][1] == 0
        assert addr.to_python() == client.getsockname()
        # The connection lives in slot 1 only: receive through it as a fixed file.
        client.sendall(b"fixed!")
        buf = bytearray(16)
        L.io_uring_prep_recv(sqe_for(ring, 2, L.IOSQE_FIXED_FILE), 1, buf, 16, 0)
        assert run_one(ring) == 6
        assert buf[:6] == b"fixed!"
        L.io_uring_prep_accept_direct(sqe_for(ring, 3), listener.fileno(), None, None, 0,
                                      L.IORING_FILE_INDEX_ALLOC)
        assert L.io_uring_submit(ring) == 1
        client2 = socket.create_connection(listener.getsockname(), timeout=5)
        slot = reap(ring, 1)[0][1]
        assert slot in (0, 2)
        client2.close()
    finally:
        client.close()
        L.io_uring_unregister_files(ring)


def test_multishot_accept_posts_one_cqe_per_connection_until_cancelled(ring, listener):
    addr = L.sockaddr()
    sqe = sqe_for(ring, 7)
    L.io_uring_prep_multishot_accept(sqe, listener.fileno(), addr, None, 0)
    assert sqe.ioprio & L.IORING_ACCEPT_MULTISHOT
    assert L.io_uring_submit(ring) == 1
    clients = []
    fds = []
    try:
        for _ in range(3):
            clients.append(socket.create_connection(listener.getsockname(), timeout=5))
            (ud, fd, flags), = reap(ring, 1)
            assert ud == 7 and fd >= 0
            assert flags & L.IORING_CQE_F_MORE
            assert addr.to_python() == clients[-1].getsockname()
            fds.append(fd)
        assert len(set(fds)) == 3
        res, flags = cancel(ring, 7)
        assert res == -errno.ECANCELED and not flags & L.IORING_CQE_F_MORE
        clients.append(socket.create_connection(listener.getsockname(), timeout=5))
        assert_no_completion(ring)
    finally:
        for fd in fds:
            os.close(fd)
        for c in clients:
            c.close()


def test_multishot_accept_direct(ring, listener):
    L.io_uring_register_files(ring, [-1] * 4)
    sqe = sqe_for(ring, 8)
    L.io_uring_prep_multishot_accept_direct(sqe, listener.fileno(), None, None, 0)
    assert sqe.ioprio & L.IORING_ACCEPT_MULTISHOT and sqe.splice_fd_in == -1
    assert L.io_uring_submit(ring) == 1
    clients = []
    slots = []
    try:
        for _ in range(2):
            clients.append(socket.create_connection(listener.getsockname(), timeout=5))
            (ud, slot, flags), = reap(ring, 1)
            assert flags & L.IORING_CQE_F_MORE
            slots.append(slot)
        assert sorted(slots) == sorted(set(slots)) and all(0 <= s < 4 for s in slots)
        res, flags = cancel(ring, 8)
        assert res == -errno.ECANCELED and not flags & L.IORING_CQE_F_MORE
    finally:
        for c in clients:
            c.close()
        L.io_uring_unregister_files(ring)


# ---- send variants -----------------------------------------------------------------------------

@pytest.fixture
def udp_pair():
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(5)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx.bind(("127.0.0.1", 0))
    tx.settimeout(5)
    yield tx, rx
    tx.close()
    rx.close()


def test_sendto(ring, udp_pair):
    tx, rx = udp_pair
    dest = L.sockaddr(socket.AF_INET, rx.getsockname())
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_sendto(sqe, tx.fileno(), b"datagram!", 9, 0, dest, None)
    assert sqe.opcode == L.IORING_OP_SEND
    assert sqe.splice_fd_in & 0xFFFF == 16       # addr_len
    assert run_one(ring) == 9
    data, src = rx.recvfrom(100)
    assert (data, src) == (b"datagram!", tx.getsockname())
    # addr None: a plain send on a connected socket.
    tx.connect(rx.getsockname())
    L.io_uring_prep_sendto(sqe_for(ring, 2), tx.fileno(), b"connected", 9, 0, None)
    assert run_one(ring) == 9
    assert rx.recvfrom(100) == (b"connected", tx.getsockname())


def test_send_set_addr(ring, udp_pair):
    tx, rx = udp_pair
    payload = bytearray(b"set-addr")
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_send(sqe, tx.fileno(), payload, len(payload), 0)
    dest = L.sockaddr(socket.AF_INET, rx.getsockname())
    L.io_uring_prep_send_set_addr(sqe, dest, 16)
    assert sqe.opcode == L.IORING_OP_SEND and sqe.len == 8
    # Both the payload and the address stay pinned until the completion is seen.
    with pytest.raises(BufferError):
        payload.extend(b"x")
    assert run_one(ring) == 8
    payload.extend(b"x")
    assert rx.recvfrom(100) == (b"set-addr", tx.getsockname())


def test_send_bundle(ring):
    a, b = tcp_pair()
    try:
        br, bufs = buf_ring_or_skip(ring, 4, 0, 8)
        for i, buf in enumerate(bufs):
            buf[:] = bytes([ord("a") + i]) * 8
        sqe = sqe_for(ring, 1)
        L.io_uring_prep_send_bundle(sqe, a.fileno(), 0, 0)
        assert sqe.ioprio & L.IORING_RECVSEND_BUNDLE and sqe.addr == 0
        select_group(sqe, 0)
        assert L.io_uring_submit(ring) == 1
        (ud, res, flags), = reap(ring, 1)
        if res == -errno.EINVAL and not ring.features & L.IORING_FEAT_RECVSEND_BUNDLE:
            pytest.skip("kernel lacks IORING_FEAT_RECVSEND_BUNDLE")
        assert res > 8                                    # more than one buffer in one send
        assert flags & L.IORING_CQE_F_BUFFER
        assert recv_exactly(b, res) == b"".join(bytes(x) for x in bufs)[:res]
    finally:
        a.close()
        b.close()


def test_send_zc_result_then_notification(ring):
    require_op(L.IORING_OP_SEND_ZC, "IORING_OP_SEND_ZC")
    a, b = tcp_pair()
    try:
        payload = bytearray(b"zero-copy " * 100)
        sqe = sqe_for(ring, 1)
        L.io_uring_prep_send_zc(sqe, a.fileno(), payload, len(payload), 0, L.IORING_SEND_ZC_REPORT_USAGE)
        assert sqe.opcode == L.IORING_OP_SEND_ZC and sqe.ioprio == L.IORING_SEND_ZC_REPORT_USAGE
        assert L.io_uring_submit(ring) == 1
        (ud, res, flags), = reap(ring, 1)
        assert (ud, res) == (1, len(payload)) and flags & L.IORING_CQE_F_MORE
        with pytest.raises(BufferError):
            payload.extend(b"!")                          # still pinned: the notification is due
        (ud, res, flags), = reap(ring, 1)
        assert ud == 1 and flags & L.IORING_CQE_F_NOTIF and not flags & L.IORING_CQE_F_MORE
        assert res & L.IORING_NOTIF_USAGE_ZC_COPIED       # loopback copies
        payload.extend(b"!")                              # released after the notification
        assert recv_exactly(b, 1000) == b"zero-copy " * 100
    finally:
        a.close()
        b.close()


def test_send_zc_fixed(ring):
    require_op(L.IORING_OP_SEND_ZC, "IORING_OP_SEND_ZC")
    a, b = tcp_pair()
    region = bytearray(4096)
    region[100:110] = b"registered"
    L.io_uring_register_buffers(ring, [region])
    try:
        sqe = sqe_for(ring, 1)
        L.io_uring_prep_send_zc_fixed(sqe, a.fileno(), memoryview(region)[100:110], 10, 0, 0, 0)
        assert sqe.ioprio & L.IORING_RECVSEND_FIXED_BUF and sqe.buf_index == 0
        assert L.io_uring_submit(ring) == 1
        got = reap(ring, 2)
        assert got[0][1] == 10 and got[0][2] & L.IORING_CQE_F_MORE
        assert got[1][2] & L.IORING_CQE_F_NOTIF
        assert recv_exactly(b, 10) == b"registered"
    finally:
        L.io_uring_unregister_buffers(ring)
        a.close()
        b.close()


def test_sendmsg_gathers_iovecs(ring):
    a, b = socket.socketpair()
    try:
        parts = [b"one ", bytearray(b"two "), memoryview(b"three")]
        msg = L.msghdr(None, parts)
        sqe = sqe_for(ring, 1)
        L.io_uring_prep_sendmsg(sqe, a.fileno(), msg, 0)
        assert (sqe.opcode, sqe.len) == (L.IORING_OP_SENDMSG, 1)
        assert run_one(ring) == 13
        assert recv_exactly(b, 13) == b"one two three"
    finally:
        a.close()
        b.close()


def test_sendmsg_with_a_destination(ring, udp_pair):
    tx, rx = udp_pair
    msg = L.msghdr(L.sockaddr(socket.AF_INET, rx.getsockname()), [b"to ", b"you"])
    assert msg.msg_namelen == 16
    L.io_uring_prep_sendmsg(sqe_for(ring, 1), tx.fileno(), msg, 0)
    assert run_one(ring) == 6
    assert rx.recvfrom(100) == (b"to you", tx.getsockname())


def test_sendmsg_passes_a_file_descriptor(ring, tmp_path):
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    path = tmp_path / "passed"
    path.write_bytes(b"contents of the passed file")
    fd = os.open(path, os.O_RDONLY)
    try:
        cmsg = struct.pack("@Nii", CMSG_HDR + 4, socket.SOL_SOCKET, socket.SCM_RIGHTS) + \
            struct.pack("@i", fd)
        cmsg += bytes(-len(cmsg) % CMSG_ALIGN)
        msg = L.msghdr(None, [b"fd"], cmsg)
        L.io_uring_prep_sendmsg(sqe_for(ring, 1), a.fileno(), msg, 0)
        assert run_one(ring) == 2
        b.settimeout(5)
        data, fds, flags, _ = socket.recv_fds(b, 10, 1)
        assert data == b"fd" and len(fds) == 1
        assert os.read(fds[0], 100) == b"contents of the passed file"
        os.close(fds[0])
    finally:
        os.close(fd)
        a.close()
        b.close()


def test_sendmsg_zc_and_fixed(ring):
    require_op(L.IORING_OP_SENDMSG_ZC, "IORING_OP_SENDMSG_ZC")
    a, b = tcp_pair()
    region = bytearray(4096)
    region[:6] = b"alpha "
    region[2000:2004] = b"beta"
    L.io_uring_register_buffers(ring, [region])
    try:
        msg = L.msghdr(None, [b"zc ", bytearray(b"msg")])
        sqe = sqe_for(ring, 1)
        L.io_uring_prep_sendmsg_zc(sqe, a.fileno(), msg, 0)
        assert sqe.opcode == L.IORING_OP_SENDMSG_ZC
        assert L.io_uring_submit(ring) == 1
        got = reap(ring, 2)
        assert got[0][1] == 6 and got[0][2] & L.IORING_CQE_F_MORE
        assert got[1][2] & L.IORING_CQE_F_NOTIF
        assert recv_exactly(b, 6) == b"zc msg"

        view = memoryview(region)
        fixed = L.msghdr(None, [view[:6], view[2000:2004]])
        sqe = sqe_for(ring, 2)
        L.io_uring_prep_sendmsg_zc_fixed(sqe, a.fileno(), fixed, 0, 0)
        assert sqe.ioprio & L.IORING_RECVSEND_FIXED_BUF and sqe.buf_index == 0
        assert L.io_uring_submit(ring) == 1
        (ud, res, flags), = reap(ring, 1)
        if res == -errno.EINVAL:
            pytest.skip("kernel refuses IORING_RECVSEND_FIXED_BUF with SENDMSG_ZC (before 6.15)")
        assert res == 10 and flags & L.IORING_CQE_F_MORE
        assert reap(ring, 1)[0][2] & L.IORING_CQE_F_NOTIF
        assert recv_exactly(b, 10) == b"alpha beta"
    finally:
        L.io_uring_unregister_buffers(ring)
        a.close()
        b.close()


# ---- recvmsg -----------------------------------------------------------------------------------

def test_recvmsg_scatters_and_reports_the_source(ring, udp_pair):
    tx, rx = udp_pair
    name = L.sockaddr()
    first, second = bytearray(4), bytearray(16)
    msg = L.msghdr(name, [first, second])
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_recvmsg(sqe, rx.fileno(), msg, 0)
    assert (sqe.opcode, sqe.len) == (L.IORING_OP_RECVMSG, 1)
    assert L.io_uring_submit(ring) == 1
    tx.sendto(b"scattered data", rx.getsockname())
    (ud, res, flags), = reap(ring, 1)
    assert res == 14
    assert first == b"scat" and second[:10] == b"tered data"
    assert msg.msg_namelen == 16                        # written back by the kernel
    assert msg.msg_name.to_python() == tx.getsockname()


def test_recvmsg_receives_control_messages(ring):
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    r, w = os.pipe()
    try:
        control = bytearray(64)
        data = bytearray(16)
        msg = L.msghdr(None, [data], control)
        L.io_uring_prep_recvmsg(sqe_for(ring, 1), b.fileno(), msg, 0)
        assert L.io_uring_submit(ring) == 1
        socket.send_fds(a, [b"with fd"], [w])
        (ud, res, flags), = reap(ring, 1)
        assert res == 7 and data[:7] == b"with fd"
        assert msg.msg_controllen == CMSG_HDR + 4 + (-(CMSG_HDR + 4) % CMSG_ALIGN) or \
            msg.msg_controllen == CMSG_HDR + 4
        clen, level, ctype = struct.unpack_from("@Nii", control, 0)
        assert (level, ctype, clen) == (socket.SOL_SOCKET, socket.SCM_RIGHTS, CMSG_HDR + 4)
        newfd, = struct.unpack_from("@i", control, CMSG_HDR)
        os.write(newfd, b"via passed fd")
        assert os.read(r, 100) == b"via passed fd"
        os.close(newfd)
    finally:
        for fd in (r, w):
            os.close(fd)
        a.close()
        b.close()


def test_recvmsg_control_length_without_a_control_buffer(ring):
    """msg_controllen may be set without msg_control (multishot recvmsg only uses the length):
    a plain recvmsg then has nowhere to put control messages and reports MSG_CTRUNC."""
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    r, w = os.pipe()
    try:
        data = bytearray(8)
        msg = L.msghdr(None, [data])
        msg.msg_controllen = 64
        L.io_uring_prep_recvmsg(sqe_for(ring, 1), b.fileno(), msg, 0)
        assert L.io_uring_submit(ring) == 1
        socket.send_fds(a, [b"no room"], [w])
        (ud, res, flags), = reap(ring, 1)
        assert res == 7 or res == -errno.EFAULT
        if res == 7:
            assert data[:7] == b"no room" and msg.msg_flags & socket.MSG_CTRUNC
    finally:
        os.close(r)
        os.close(w)
        a.close()
        b.close()


def test_recvmsg_truncation_flag(ring, udp_pair):
    tx, rx = udp_pair
    msg = L.msghdr(None, [bytearray(3)])
    L.io_uring_prep_recvmsg(sqe_for(ring, 1), rx.fileno(), msg, 0)
    assert L.io_uring_submit(ring) == 1
    tx.sendto(b"too long", rx.getsockname())
    assert reap(ring, 1)[0][1] == 3
    assert msg.msg_flags & socket.MSG_TRUNC


def test_recv_multishot(ring):
    a, b = tcp_pair()
    try:
        br, bufs = buf_ring_or_skip(ring, 8, 0, 32)
        sqe = sqe_for(ring, 5)
        L.io_uring_prep_recv_multishot(sqe, b.fileno(), None, 0, 0)
        assert sqe.opcode == L.IORING_OP_RECV and sqe.ioprio & L.IORING_RECV_MULTISHOT
        select_group(sqe, 0)
        assert L.io_uring_submit(ring) == 1
        seen = []
        for word in (b"first", b"second", b"third"):
            a.sendall(word)
            (ud, res, flags), = reap(ring, 1)
            assert ud == 5 and res == len(word)
            assert flags & L.IORING_CQE_F_MORE and flags & L.IORING_CQE_F_BUFFER
            bid = flags >> L.IORING_CQE_BUFFER_SHIFT
            seen.append(bytes(bufs[bid][:res]))
        assert seen == [b"first", b"second", b"third"]
        a.shutdown(socket.SHUT_WR)
        (ud, res, flags), = reap(ring, 1)
        assert (ud, res) == (5, 0) and not flags & L.IORING_CQE_F_MORE   # EOF ends it
    finally:
        a.close()
        b.close()


def test_recvmsg_multishot_and_the_buffer_helpers(ring, udp_pair):
    tx, rx = udp_pair
    rx.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
    rx.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMP, 1)
    br, bufs = buf_ring_or_skip(ring, 8, 0, 512)
    msg = L.msghdr()
    msg.msg_namelen = 16                 # as in C: lengths only, the kernel lays them out
    msg.msg_controllen = 128
    sqe = sqe_for(ring, 9)
    L.io_uring_prep_recvmsg_multishot(sqe, rx.fileno(), msg, 0)
    assert sqe.opcode == L.IORING_OP_RECVMSG and sqe.ioprio & L.IORING_RECV_MULTISHOT
    select_group(sqe, 0)
    assert L.io_uring_submit(ring) == 1
    for payload in (b"hello multishot", b"second datagram!"):
        tx.sendto(payload, rx.getsockname())
        (ud, res, flags), = reap(ring, 1)
        assert ud == 9 and flags & L.IORING_CQE_F_MORE and flags & L.IORING_CQE_F_BUFFER
        buf = bufs[flags >> L.IORING_CQE_BUFFER_SHIFT]
        o = L.io_uring_recvmsg_validate(buf, res, msg)
        assert o is not None
        assert o.namelen == 16 and o.payloadlen == len(payload)
        assert o.flags & socket.MSG_TRUNC == 0
        name = L.io_uring_recvmsg_name(o)
        assert L.sockaddr.from_bytes(name).to_python() == tx.getsockname()
        assert bytes(L.io_uring_recvmsg_payload(o, msg)) == payload
        assert L.io_uring_recvmsg_payload_length(o, res, msg) == len(payload)
        kinds = {}
        cmsg = L.io_uring_recvmsg_cmsg_firsthdr(o, msg)
        while cmsg is not None:
            kinds[(cmsg.cmsg_level, cmsg.cmsg_type)] = bytes(cmsg.cmsg_data)
            cmsg = L.io_uring_recvmsg_cmsg_nexthdr(o, msg, cmsg)
        assert set(kinds) == {(socket.IPPROTO_IP, IP_PKTINFO), (socket.SOL_SOCKET, SO_TIMESTAMP)}
        ifindex, spec_dst, addr = struct.unpack("@i4s4s", kinds[(socket.IPPROTO_IP, IP_PKTINFO)])
        assert socket.inet_ntoa(addr) == "127.0.0.1"
        sec, usec = struct.unpack("@qq", kinds[(socket.SOL_SOCKET, SO_TIMESTAMP)])
        assert abs(sec + usec / 1e6 - time.time()) < 60
    res, flags = cancel(ring, 9)
    assert res == -errno.ECANCELED and not flags & L.IORING_CQE_F_MORE


def _recvmsg_out(namelen, controllen, payloadlen, flags=0):
    return struct.pack("=IIII", namelen, controllen, payloadlen, flags)


def _cmsg(level, ctype, data):
    raw = struct.pack("@Nii", CMSG_HDR + len(data), level, ctype) + data
    return raw + bytes(-len(raw) % CMSG_ALIGN)


def test_recvmsg_helpers_on_a_hand_built_buffer():
    msg = L.msghdr()
    msg.msg_namelen = 16
    msg.msg_controllen = 64
    name = bytes(L.sockaddr(socket.AF_INET, ("10.0.0.7", 4242)))
    control = _cmsg(1, 2, b"abcd") + _cmsg(3, 4, b"12345678")
    control += bytes(64 - len(control))
    payload = b"the payload"
    buf = bytearray(_recvmsg_out(16, 64 - 0, len(payload)) + name + control + payload)
    o = L.io_uring_recvmsg_validate(buf, len(buf), msg)
    assert (o.namelen, o.controllen, o.payloadlen) == (16, 64, len(payload))
    assert L.sockaddr.from_bytes(L.io_uring_recvmsg_name(o)).to_python() == ("10.0.0.7", 4242)
    view = L.io_uring_recvmsg_payload(o, msg)
    assert bytes(view) == payload
    view[0:3] = b"THE"                                  # zero-copy: a view of buf
    assert buf.endswith(b"THE payload")
    del view
    first = L.io_uring_recvmsg_cmsg_firsthdr(o, msg)
    assert (first.cmsg_level, first.cmsg_type, bytes(first.cmsg_data)) == (1, 2, b"abcd")
    second = L.io_uring_recvmsg_cmsg_nexthdr(o, msg, first)
    assert (second.cmsg_level, second.cmsg_type, bytes(second.cmsg_data)) == (3, 4, b"12345678")
    # The rest of the control area is zero: a cmsg_len of 0 ends the walk.
    third = L.io_uring_recvmsg_cmsg_nexthdr(o, msg, second)
    assert third is None or L.io_uring_recvmsg_cmsg_nexthdr(o, msg, third) is None
    # Too small for the header, name and control areas.
    assert L.io_uring_recvmsg_validate(buf, 16 + 16 + 63, msg) is None
    assert L.io_uring_recvmsg_validate(buf, -1, msg) is None
    assert L.io_uring_recvmsg_payload_length(o, -1, msg) == 0
    assert L.io_uring_recvmsg_payload_length(o, 16 + 16 + 64, msg) == 0
    with pytest.raises(ValueError):
        L.io_uring_recvmsg_validate(buf, len(buf) + 1, msg)
    with pytest.raises(TypeError):
        L.io_uring_recvmsg_validate("not a buffer", 1, msg)
    with pytest.raises(ValueError):
        L.io_uring_recvmsg_cmsg_nexthdr(L.io_uring_recvmsg_validate(buf, len(buf), msg), msg, first)
    # A name longer than the area reserved for it (MSG_TRUNC-like) is cut to msg_namelen.
    struct.pack_into("=I", buf, 0, 40)
    assert len(L.io_uring_recvmsg_name(L.io_uring_recvmsg_validate(buf, len(buf), msg))) == 16


def test_recvmsg_helpers_never_read_past_the_buffer():
    msg = L.msghdr()
    msg.msg_namelen = 0
    msg.msg_controllen = 0
    # A header that claims a huge control area: the walk must stop at the buffer's end.
    evil = bytearray(_recvmsg_out(0, 0xFFFFFFF0, 0) + struct.pack("@Nii", 0xFFFFFF00, 1, 1))
    o = L.io_uring_recvmsg_validate(evil, len(evil), msg)
    first = L.io_uring_recvmsg_cmsg_firsthdr(o, msg)
    assert first is not None and first.cmsg_len == 0xFFFFFF00
    assert len(first.cmsg_data) <= len(evil)
    assert L.io_uring_recvmsg_cmsg_nexthdr(o, msg, first) is None
    no_cmsg = L.io_uring_recvmsg_validate(bytearray(_recvmsg_out(0, 0, 0)), 16, msg)
    assert L.io_uring_recvmsg_cmsg_firsthdr(no_cmsg, msg) is None
    assert bytes(L.io_uring_recvmsg_payload(no_cmsg, msg)) == b""


# ---- socket commands ---------------------------------------------------------------------------

def test_cmd_sock_siocinq_and_siocoutq(ring):
    require_op(L.IORING_OP_URING_CMD, "IORING_OP_URING_CMD")
    a, b = tcp_pair()
    try:
        a.sendall(b"12345")
        assert select.select([b], [], [], 5)[0]
        sqe = sqe_for(ring, 1)
        L.io_uring_prep_cmd_sock(sqe, L.SOCKET_URING_OP_SIOCINQ, b.fileno(), 0, 0, None, 0)
        assert sqe.opcode == L.IORING_OP_URING_CMD and sqe.off == L.SOCKET_URING_OP_SIOCINQ
        assert run_one(ring) == 5
        L.io_uring_prep_cmd_sock(sqe_for(ring, 2), L.SOCKET_URING_OP_SIOCOUTQ, a.fileno(), 0, 0, None, 0)
        assert run_one(ring) >= 0
    finally:
        a.close()
        b.close()


def test_cmd_sock_getsockopt_and_setsockopt(ring):
    require_op(L.IORING_OP_URING_CMD, "IORING_OP_URING_CMD")
    s = socket.socket()
    try:
        val = bytearray(4)
        sqe = sqe_for(ring, 1)
        L.io_uring_prep_cmd_sock(sqe, L.SOCKET_URING_OP_GETSOCKOPT, s.fileno(), socket.SOL_SOCKET,
                                 socket.SO_TYPE, val, 4)
        assert sqe.addr == socket.SOL_SOCKET | (socket.SO_TYPE << 32)      # level, optname
        assert sqe.splice_fd_in == 4                                      # optlen
        assert run_one(ring) == 4
        assert struct.unpack("@i", val)[0] == socket.SOCK_STREAM
        assert not s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
        L.io_uring_prep_cmd_sock(sqe_for(ring, 2), L.SOCKET_URING_OP_SETSOCKOPT, s.fileno(),
                                 socket.SOL_SOCKET, socket.SO_KEEPALIVE, struct.pack("@i", 1), 4)
        assert run_one(ring) == 0
        assert s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        L.io_uring_prep_cmd_sock(sqe_for(ring, 3), L.SOCKET_URING_OP_SETSOCKOPT, s.fileno(),
                                 socket.IPPROTO_TCP, socket.TCP_NODELAY, struct.pack("@i", 1), 4)
        assert run_one(ring) == 0
        assert s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    finally:
        s.close()


def test_cmd_sock_on_a_non_socket(ring, tmp_path):
    require_op(L.IORING_OP_URING_CMD, "IORING_OP_URING_CMD")
    with open(tmp_path / "f", "wb") as f:
        L.io_uring_prep_cmd_sock(sqe_for(ring, 1), L.SOCKET_URING_OP_SIOCINQ, f.fileno(), 0, 0, None, 0)
        assert run_one(ring) == -errno.EOPNOTSUPP


def test_cmd_getsockname(ring, listener):
    require_op(L.IORING_OP_URING_CMD, "IORING_OP_URING_CMD")
    addr = L.sockaddr()
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_cmd_getsockname(sqe, listener.fileno(), addr, None, 0)
    assert sqe.off == L.SOCKET_URING_OP_GETSOCKNAME and sqe.splice_fd_in == 0
    res = run_one(ring)
    if res in (-errno.EOPNOTSUPP, -errno.EINVAL):
        pytest.skip(f"kernel lacks SOCKET_URING_OP_GETSOCKNAME ({os.strerror(-res)}; Linux 6.19)")
    assert res == 0
    assert addr.to_python() == listener.getsockname() and addr.addrlen == 16
    client = socket.create_connection(listener.getsockname(), timeout=5)
    try:
        peer = L.sockaddr()
        L.io_uring_prep_cmd_getsockname(sqe_for(ring, 2), client.fileno(), peer, None, 1)
        assert run_one(ring) == 0
        assert peer.to_python() == listener.getsockname()
    finally:
        client.close()


# ---- msg_ring ----------------------------------------------------------------------------------

def test_msg_ring_posts_a_cqe_to_the_target_ring(two_rings):
    require_op(L.IORING_OP_MSG_RING, "IORING_OP_MSG_RING")
    src, dst = two_rings
    sqe = sqe_for(src, 1)
    L.io_uring_prep_msg_ring(sqe, dst.ring_fd, 42, 0xDEADBEEF, 0)
    assert (sqe.opcode, sqe.fd, sqe.len, sqe.off) == (L.IORING_OP_MSG_RING, dst.ring_fd, 42, 0xDEADBEEF)
    assert run_one(src) == 0
    assert reap(dst, 1) == [(0xDEADBEEF, 42, 0)]


def test_msg_ring_cqe_flags(two_rings):
    require_op(L.IORING_OP_MSG_RING, "IORING_OP_MSG_RING")
    src, dst = two_rings
    sqe = sqe_for(src, 1)
    L.io_uring_prep_msg_ring_cqe_flags(sqe, dst.ring_fd, 7, 99, 0, 0x12340000)
    assert sqe.rw_flags == L.IORING_MSG_RING_FLAGS_PASS and sqe.splice_fd_in == 0x12340000
    assert run_one(src) == 0
    assert reap(dst, 1) == [(99, 7, 0x12340000)]


def test_msg_ring_cqe_skip_and_bad_target(two_rings, tmp_path):
    require_op(L.IORING_OP_MSG_RING, "IORING_OP_MSG_RING")
    src, dst = two_rings
    # CQE_SKIP only applies to IORING_MSG_SEND_FD (see test_msg_ring_fd_moves_a_registered_file).
    L.io_uring_prep_msg_ring(sqe_for(src, 1), dst.ring_fd, 1, 2, L.IORING_MSG_RING_CQE_SKIP)
    assert run_one(src) == -errno.EINVAL
    assert_no_completion(dst)
    with open(tmp_path / "f", "wb") as f:
        L.io_uring_prep_msg_ring(sqe_for(src, 2), f.fileno(), 1, 2, 0)
        assert run_one(src) == -errno.EBADFD


def test_msg_ring_fd_moves_a_registered_file(two_rings):
    require_op(L.IORING_OP_MSG_RING, "IORING_OP_MSG_RING")
    src, dst = two_rings
    r, w = os.pipe()
    try:
        L.io_uring_register_files(src, [w])
        L.io_uring_register_files(dst, [-1, -1, -1])
        sqe = sqe_for(src, 1)
        L.io_uring_prep_msg_ring_fd(sqe, dst.ring_fd, 0, 1, 0x77, 0)
        assert sqe.addr == L.IORING_MSG_SEND_FD and sqe.addr3 == 0 and sqe.splice_fd_in == 2
        assert run_one(src) == 0
        assert reap(dst, 1) == [(0x77, 0, 0)]
        # The target ring writes to the pipe through its slot 1.
        L.io_uring_prep_write(sqe_for(dst, 2, L.IOSQE_FIXED_FILE), 1, b"through slot 1", 14, -1)
        assert run_one(dst) == 14
        assert os.read(r, 100) == b"through slot 1"

        sqe = sqe_for(src, 3)
        L.io_uring_prep_msg_ring_fd_alloc(sqe, dst.ring_fd, 0, 0x78, 0)
        assert sqe.splice_fd_in == -1
        slot = run_one(src)                      # both CQEs carry the slot picked
        assert slot in (0, 2)
        assert reap(dst, 1) == [(0x78, slot, 0)]
        L.io_uring_prep_msg_ring_fd(sqe_for(src, 4), dst.ring_fd, 0, L.IORING_FILE_INDEX_ALLOC, 0x79, 0)
        slot2 = run_one(src)
        assert slot2 in (0, 2) and slot2 != slot
        assert reap(dst, 1) == [(0x79, slot2, 0)]
        L.io_uring_prep_msg_ring_fd(sqe_for(src, 5), dst.ring_fd, 0, L.IORING_FILE_INDEX_ALLOC, 0x7A, 0)
        assert run_one(src) == -errno.ENFILE     # the target table is full
        # Replace slot 1 without telling the target ring.
        L.io_uring_prep_msg_ring_fd(sqe_for(src, 7), dst.ring_fd, 0, 1, 0x7C, L.IORING_MSG_RING_CQE_SKIP)
        assert run_one(src) == 0
        assert_no_completion(dst)
        L.io_uring_prep_msg_ring_fd(sqe_for(src, 6), dst.ring_fd, 5, 0, 0x7B, 0)
        assert run_one(src) == -errno.EBADF      # no source slot 5
    finally:
        os.close(r)
        os.close(w)


# ---- uring_cmd passthrough ---------------------------------------------------------------------

def test_uring_cmd_encoding_and_a_file_without_passthrough(ring, tmp_path):
    require_op(L.IORING_OP_URING_CMD, "IORING_OP_URING_CMD")
    with open(tmp_path / "plain", "wb") as f:
        sqe = sqe_for(ring, 1)
        L.io_uring_prep_uring_cmd(sqe, 0xC0485661, f.fileno())     # an NVMe-style ioctl number
        assert sqe.opcode == L.IORING_OP_URING_CMD and sqe.fd == f.fileno()
        assert sqe.off == 0xC0485661                                # cmd_op, __pad1 = 0
        assert (sqe.addr, sqe.len, sqe.addr3) == (0, 0, 0)
        assert run_one(ring) == -errno.EOPNOTSUPP
        sqe = sqe_for(ring, 2)
        L.io_uring_prep_uring_cmd(sqe, -1, f.fileno())              # C's int: stored as __u32
        assert sqe.off == 0xFFFFFFFF
        assert run_one(ring) == -errno.EOPNOTSUPP


def test_uring_cmd128(tmp_path):
    ring = make_ring(8, L.IORING_SETUP_SQE128)
    try:
        sqe = sqe_for(ring, 1)
        L.io_uring_prep_uring_cmd128(sqe, 5, 3)
        assert (sqe.opcode, sqe.off, sqe.fd) == (L.IORING_OP_URING_CMD128, 5, 3)
        L.io_uring_prep_nop(sqe)
        assert run_one(ring) == 0
        require_op(L.IORING_OP_URING_CMD128, "IORING_OP_URING_CMD128")
        with open(tmp_path / "plain", "wb") as f:
            L.io_uring_prep_uring_cmd128(sqe_for(ring, 2), 5, f.fileno())
            assert run_one(ring) == -errno.EOPNOTSUPP
    finally:
        L.io_uring_queue_exit(ring)


@pytest.fixture
def loop_device(tmp_path):
    """A 1 MiB loop block device over a file in tmp_path (skipped where losetup cannot)."""
    if os.geteuid() != 0 or shutil.which("losetup") is None:
        pytest.skip("needs root and losetup")
    backing = tmp_path / "disk.img"
    with open(backing, "wb") as f:
        f.write(b"\xAB" * (1 << 20))
    proc = subprocess.run(["losetup", "-f", "--show", str(backing)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"losetup failed: {proc.stderr.strip()}")
    dev = proc.stdout.strip()
    try:
        yield dev
    finally:
        subprocess.run(["losetup", "-d", dev], capture_output=True)


def test_cmd_discard_encoding_and_regular_file(ring, tmp_path):
    require_op(L.IORING_OP_URING_CMD, "IORING_OP_URING_CMD")
    with open(tmp_path / "plain", "wb") as f:
        sqe = sqe_for(ring, 1)
        L.io_uring_prep_cmd_discard(sqe, f.fileno(), 4096, 8192)
        assert sqe.opcode == L.IORING_OP_URING_CMD
        assert sqe.off == L.BLOCK_URING_CMD_DISCARD == 0x1200
        assert (sqe.addr, sqe.addr3, sqe.len) == (4096, 8192, 0)
        assert run_one(ring) == -errno.EOPNOTSUPP


def test_cmd_discard_on_a_block_device(ring, loop_device):
    require_op(L.IORING_OP_URING_CMD, "IORING_OP_URING_CMD")
    fd = os.open(loop_device, os.O_RDWR)
    try:
        L.io_uring_prep_cmd_discard(sqe_for(ring, 1), fd, 65536, 65536)
        res = run_one(ring)
        if res in (-errno.EOPNOTSUPP, -errno.EINVAL) and res != 0:
            pytest.skip(f"the block layer refused BLOCK_URING_CMD_DISCARD: {os.strerror(-res)}")
        assert res == 0
        with open(loop_device, "rb", buffering=0) as dev:
            dev.seek(0)
            data = dev.read(3 * 65536)
        assert data[:65536] == b"\xAB" * 65536
        assert data[65536:131072] == bytes(65536)            # discarded (loop punches a hole)
        assert data[131072:] == b"\xAB" * 65536
        L.io_uring_prep_cmd_discard(sqe_for(ring, 2), fd, 1000, 4096)
        assert run_one(ring) == -errno.EINVAL                 # not sector aligned
    finally:
        os.close(fd)


def test_cmd_zone_reset_all(ring, tmp_path):
    require_op(L.IORING_OP_URING_CMD, "IORING_OP_URING_CMD")
    with open(tmp_path / "plain", "wb") as f:
        sqe = sqe_for(ring, 1)
        L.io_uring_prep_cmd_zone_reset_all(sqe, f.fileno())
        assert sqe.opcode == L.IORING_OP_URING_CMD
        assert sqe.off == L.BLOCK_URING_CMD_ZONE_RESET_ALL == 0x1201
        assert (sqe.addr, sqe.addr3, sqe.len) == (0, 0, 0)
        assert run_one(ring) == -errno.EOPNOTSUPP


def test_cmd_zone_reset_all_on_a_conventional_block_device(ring, loop_device):
    fd = os.open(loop_device, os.O_RDWR)
    try:
        L.io_uring_prep_cmd_zone_reset_all(sqe_for(ring, 1), fd)
        res = run_one(ring)
        assert res < 0                 # not zoned (and unknown to kernels before 7.x)
        assert res in (-errno.EINVAL, -errno.EOPNOTSUPP)
    finally:
        os.close(fd)


# ---- pins --------------------------------------------------------------------------------------

def test_accept_pins_its_sockaddr_until_the_completion_is_seen(ring, listener):
    addr = L.sockaddr()
    before = sys.getrefcount(addr)
    L.io_uring_prep_accept(sqe_for(ring, 1), listener.fileno(), addr, None, 0)
    assert sys.getrefcount(addr) == before + 1
    assert L.io_uring_submit(ring) == 1
    client = socket.create_connection(listener.getsockname(), timeout=5)
    cqe = L.io_uring_wait_cqe_timeout(ring, L.kernel_timespec(5, 0))
    assert cqe is not None
    assert sys.getrefcount(addr) == before + 1
    os.close(cqe.res)
    L.io_uring_cqe_seen(ring, cqe)
    assert sys.getrefcount(addr) == before
    client.close()


def test_msghdr_pins_its_buffers(ring, udp_pair):
    tx, rx = udp_pair
    data = bytearray(8)
    msg = L.msghdr(L.sockaddr(), [data])
    with pytest.raises(BufferError):
        data.extend(b"x")                 # held by the msghdr's iovec array
    L.io_uring_prep_recvmsg(sqe_for(ring, 1), rx.fileno(), msg, 0)
    assert L.io_uring_submit(ring) == 1
    del msg                               # the in-flight SQE keeps it (and its buffers) alive
    tx.sendto(b"pinned", rx.getsockname())
    assert reap(ring, 1)[0][1] == 6
    assert data[:6] == b"pinned"
    data.extend(b"x")                     # released with the completion


def test_multishot_recvmsg_pins_the_msghdr_until_the_final_cqe(ring, udp_pair):
    tx, rx = udp_pair
    br, bufs = buf_ring_or_skip(ring, 4, 0, 256)
    msg = L.msghdr(L.sockaddr())
    before = sys.getrefcount(msg)
    sqe = sqe_for(ring, 3)
    L.io_uring_prep_recvmsg_multishot(sqe, rx.fileno(), msg, 0)
    select_group(sqe, 0)
    assert L.io_uring_submit(ring) == 1
    tx.sendto(b"one", rx.getsockname())
    (ud, res, flags), = reap(ring, 1)
    assert flags & L.IORING_CQE_F_MORE
    assert sys.getrefcount(msg) == before + 1        # still armed: still pinned
    res, flags = cancel(ring, 3)
    assert not flags & L.IORING_CQE_F_MORE
    assert sys.getrefcount(msg) == before


# ---- bad input: TypeError/ValueError before the SQE changes ------------------------------------

SA = L.sockaddr(socket.AF_INET, ("127.0.0.1", 9))

BAD_PREPS = [
    ("connect without addr", lambda s: L.io_uring_prep_connect(s, 3, None), TypeError),
    ("connect python tuple", lambda s: L.io_uring_prep_connect(s, 3, ("127.0.0.1", 9)), TypeError),
    ("connect addrlen > storage", lambda s: L.io_uring_prep_connect(s, 3, SA, 129), ValueError),
    ("connect negative addrlen", lambda s: L.io_uring_prep_connect(s, 3, SA, -1), ValueError),
    ("connect str addrlen", lambda s: L.io_uring_prep_connect(s, 3, SA, "16"), TypeError),
    ("bind addrlen > storage", lambda s: L.io_uring_prep_bind(s, 3, SA, 1000), ValueError),
    ("accept tuple addr", lambda s: L.io_uring_prep_accept(s, 3, ("0.0.0.0", 0), None, 0), TypeError),
    ("accept addrlen without addr", lambda s: L.io_uring_prep_accept(s, 3, None, 16, 0), ValueError),
    ("accept capacity too big", lambda s: L.io_uring_prep_accept(s, 3, L.sockaddr(), 200, 0), ValueError),
    ("accept_direct bad addr", lambda s: L.io_uring_prep_accept_direct(s, 3, b"x", None, 0, 0), TypeError),
    ("multishot_accept bad addrlen", lambda s: L.io_uring_prep_multishot_accept(s, 3, L.sockaddr(), -5),
     ValueError),
    ("multishot_accept_direct addrlen alone",
     lambda s: L.io_uring_prep_multishot_accept_direct(s, 3, None, 8), ValueError),
    ("sendto len > buffer", lambda s: L.io_uring_prep_sendto(s, 3, b"abc", 4, 0, SA), ValueError),
    ("sendto not a buffer", lambda s: L.io_uring_prep_sendto(s, 3, "abc", 3, 0, SA), TypeError),
    ("sendto addrlen without addr", lambda s: L.io_uring_prep_sendto(s, 3, b"abc", 3, 0, None, 16),
     ValueError),
    ("sendto tuple addr", lambda s: L.io_uring_prep_sendto(s, 3, b"abc", 3, 0, ("127.0.0.1", 9)),
     TypeError),
    ("send_bundle negative len", lambda s: L.io_uring_prep_send_bundle(s, 3, -1, 0), ValueError),
    ("send_bundle len > 32 bits", lambda s: L.io_uring_prep_send_bundle(s, 3, 1 << 32, 0), ValueError),
    ("send_zc len > buffer", lambda s: L.io_uring_prep_send_zc(s, 3, b"ab", 3, 0, 0), ValueError),
    ("send_zc zc_flags > 16 bits", lambda s: L.io_uring_prep_send_zc(s, 3, b"ab", 2, 0, 1 << 16), ValueError),
    ("send_zc_fixed unregistered", lambda s: L.io_uring_prep_send_zc_fixed(s, 3, b"ab", 2, 0, 0, 0),
     ValueError),
    ("sendmsg not a msghdr", lambda s: L.io_uring_prep_sendmsg(s, 3, [b"x"], 0), TypeError),
    ("sendmsg None", lambda s: L.io_uring_prep_sendmsg(s, 3, None, 0), TypeError),
    ("sendmsg_zc not a msghdr", lambda s: L.io_uring_prep_sendmsg_zc(s, 3, object(), 0), TypeError),
    ("sendmsg_zc_fixed unregistered",
     lambda s: L.io_uring_prep_sendmsg_zc_fixed(s, 3, L.msghdr(None, [b"x"]), 0, 0), ValueError),
    ("recvmsg read-only iov", lambda s: L.io_uring_prep_recvmsg(s, 3, L.msghdr(None, [b"ro"]), 0), TypeError),
    ("recvmsg read-only control",
     lambda s: L.io_uring_prep_recvmsg(s, 3, L.msghdr(None, [bytearray(2)], b"ctl"), 0), TypeError),
    ("recvmsg_multishot read-only iov",
     lambda s: L.io_uring_prep_recvmsg_multishot(s, 3, L.msghdr(None, [b"ro"]), 0), TypeError),
    ("recv_multishot read-only buf", lambda s: L.io_uring_prep_recv_multishot(s, 3, b"ro", 2, 0), TypeError),
    ("recv_multishot len > buf", lambda s: L.io_uring_prep_recv_multishot(s, 3, bytearray(2), 3, 0),
     ValueError),
    ("recv_multishot negative len", lambda s: L.io_uring_prep_recv_multishot(s, 3, None, -1, 0), ValueError),
    ("cmd_sock getsockopt read-only",
     lambda s: L.io_uring_prep_cmd_sock(s, L.SOCKET_URING_OP_GETSOCKOPT, 3, 1, 3, b"1234", 4), TypeError),
    ("cmd_sock optlen > optval",
     lambda s: L.io_uring_prep_cmd_sock(s, L.SOCKET_URING_OP_SETSOCKOPT, 3, 1, 9, b"12", 4), ValueError),
    ("cmd_sock optlen without optval",
     lambda s: L.io_uring_prep_cmd_sock(s, L.SOCKET_URING_OP_SETSOCKOPT, 3, 1, 9, None, 4), ValueError),
    ("cmd_sock negative optlen",
     lambda s: L.io_uring_prep_cmd_sock(s, L.SOCKET_URING_OP_SETSOCKOPT, 3, 1, 9, b"12", -1), ValueError),
    ("cmd_getsockname None", lambda s: L.io_uring_prep_cmd_getsockname(s, 3, None, None, 0), TypeError),
    ("cmd_getsockname bytes", lambda s: L.io_uring_prep_cmd_getsockname(s, 3, bytearray(16), None, 0),
     TypeError),
    ("cmd_getsockname capacity", lambda s: L.io_uring_prep_cmd_getsockname(s, 3, L.sockaddr(), 129, 0),
     ValueError),
    ("msg_ring_fd bad slot", lambda s: L.io_uring_prep_msg_ring_fd(s, 3, 0, -2, 0, 0), ValueError),
    ("msg_ring_fd slot > 32 bits", lambda s: L.io_uring_prep_msg_ring_fd(s, 3, 0, 1 << 32, 0, 0), ValueError),
    ("msg_ring_fd str slot", lambda s: L.io_uring_prep_msg_ring_fd(s, 3, 0, "1", 0, 0), TypeError),
    ("uring_cmd cmd_op > 32 bits", lambda s: L.io_uring_prep_uring_cmd(s, 1 << 32, 3), ValueError),
    ("uring_cmd cmd_op str", lambda s: L.io_uring_prep_uring_cmd(s, "0", 3), TypeError),
    ("uring_cmd128 cmd_op too negative", lambda s: L.io_uring_prep_uring_cmd128(s, -(1 << 31) - 1, 3),
     ValueError),
    ("send_set_addr tuple", lambda s: L.io_uring_prep_send_set_addr(s, ("127.0.0.1", 9)), TypeError),
    ("send_set_addr addr_len", lambda s: L.io_uring_prep_send_set_addr(s, SA, 129), ValueError),
    ("socket str domain", lambda s: L.io_uring_prep_socket(s, "inet", 1, 0, 0), TypeError),
    # A float where C takes an integer is a TypeError, never truncated.
    ("connect float fd", lambda s: L.io_uring_prep_connect(s, 3.5, SA), TypeError),
    ("connect float addrlen", lambda s: L.io_uring_prep_connect(s, 3, SA, 16.0), TypeError),
    ("accept float addrlen", lambda s: L.io_uring_prep_accept(s, 3, L.sockaddr(), 16.0, 0), TypeError),
    ("send_bundle float len", lambda s: L.io_uring_prep_send_bundle(s, 3, 4.5, 0), TypeError),
    ("sendto float len", lambda s: L.io_uring_prep_sendto(s, 3, b"abc", 2.0, 0, SA), TypeError),
    ("msg_ring float len", lambda s: L.io_uring_prep_msg_ring(s, 3, 1.5, 0, 0), TypeError),
    ("msg_ring_fd float slot", lambda s: L.io_uring_prep_msg_ring_fd(s, 3, 0, 1.0, 0, 0), TypeError),
    ("uring_cmd float cmd_op", lambda s: L.io_uring_prep_uring_cmd(s, 1.0, 3), TypeError),
    ("cmd_discard float offset", lambda s: L.io_uring_prep_cmd_discard(s, 3, 4096.0, 4096), TypeError),
]


@pytest.mark.parametrize("prep, exc", [(p, e) for _, p, e in BAD_PREPS], ids=[n for n, _, _ in BAD_PREPS])
def test_bad_input_leaves_the_sqe_untouched(ring, prep, exc):
    sqe = fresh_nop(ring)
    L.io_uring_sqe_set_data64(sqe, 1234)
    with pytest.raises(exc):
        prep(sqe)
    assert sqe.opcode == L.IORING_OP_NOP and sqe.user_data == 1234
    assert run_one(ring) == 0


def test_fixed_variants_check_the_registered_range(ring):
    region = bytearray(4096)
    L.io_uring_register_buffers(ring, [region])
    try:
        outside = bytearray(16)
        sqe = fresh_nop(ring)
        with pytest.raises(ValueError):
            L.io_uring_prep_send_zc_fixed(sqe, 3, outside, 16, 0, 0, 0)
        with pytest.raises(ValueError):
            L.io_uring_prep_send_zc_fixed(sqe, 3, memoryview(region)[:16], 16, 0, 0, 1)
        with pytest.raises(ValueError):
            L.io_uring_prep_sendmsg_zc_fixed(sqe, 3, L.msghdr(None, [memoryview(region)[:8], outside]), 0, 0)
        assert sqe.opcode == L.IORING_OP_NOP
        L.io_uring_prep_sendmsg_zc_fixed(sqe, 3, L.msghdr(None, [memoryview(region)[8:16]]), 0, 0)
        assert sqe.opcode == L.IORING_OP_SENDMSG_ZC
        L.io_uring_prep_nop(sqe)
        assert run_one(ring) == 0
    finally:
        L.io_uring_unregister_buffers(ring)


def test_stale_sqe_is_refused(ring):
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_nop(sqe)
    assert run_one(ring) == 0
    with pytest.raises(ValueError):
        L.io_uring_prep_connect(sqe, 3, SA)
    with pytest.raises(ValueError):
        L.io_uring_prep_send_set_addr(sqe, SA)
    with pytest.raises(ValueError):
        L.io_uring_prep_msg_ring(sqe, 3, 0, 0, 0)
