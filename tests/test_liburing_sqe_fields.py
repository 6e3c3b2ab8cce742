"""struct io_uring_sqe's fields assigned as C programs assign them (issue 13, item 1), and the
checks that keep every assignment memory-safe: the kernel only ever touches pinned memory,
whatever the order of the assignments. Each case checks what the kernel did."""
import array
import errno
import os
import select
import socket
import time

import pytest

from ioring import liburing as L

from helpers import address_of, reap, sqe_for, submit_and_reap, wait_one

FIELDS = {   # C name: (byte offset, size, signed)
    "opcode": (0, 1, False), "ioprio": (2, 2, False), "fd": (4, 4, True),
    "off": (8, 8, False), "addr2": (8, 8, False), "cmd_op": (8, 4, False),
    "addr": (16, 8, False), "splice_off_in": (16, 8, False), "level": (16, 4, False),
    "optname": (20, 4, False), "len": (24, 4, False),
    "rw_flags": (28, 4, False), "fsync_flags": (28, 4, False), "poll_events": (28, 2, False),
    "poll32_events": (28, 4, False), "sync_range_flags": (28, 4, False), "msg_flags": (28, 4, False),
    "timeout_flags": (28, 4, False), "accept_flags": (28, 4, False), "cancel_flags": (28, 4, False),
    "open_flags": (28, 4, False), "statx_flags": (28, 4, False), "fadvise_advice": (28, 4, False),
    "splice_flags": (28, 4, False), "rename_flags": (28, 4, False), "unlink_flags": (28, 4, False),
    "hardlink_flags": (28, 4, False), "xattr_flags": (28, 4, False), "msg_ring_flags": (28, 4, False),
    "uring_cmd_flags": (28, 4, False), "waitid_flags": (28, 4, False), "futex_flags": (28, 4, False),
    "install_fd_flags": (28, 4, False), "nop_flags": (28, 4, False), "pipe_flags": (28, 4, False),
    "user_data": (32, 8, False), "buf_index": (40, 2, False), "buf_group": (40, 2, False),
    "personality": (42, 2, False), "splice_fd_in": (44, 4, True), "file_index": (44, 4, False),
    "zcrx_ifq_idx": (44, 4, False), "optlen": (44, 4, False), "addr_len": (44, 2, False),
    "write_stream": (44, 1, False), "addr3": (48, 8, False), "attr_ptr": (48, 8, False),
    "optval": (48, 8, False), "attr_type_mask": (56, 8, False), "flags": (1, 1, False),
}


def _raw(sqe):
    """The SQE's 64 bytes, rebuilt from the fields (each byte range read once)."""
    out = bytearray(64)
    for name in ("opcode", "flags", "ioprio", "fd", "off", "addr", "len", "rw_flags", "user_data",
                 "buf_index", "personality", "splice_fd_in", "addr3", "attr_type_mask"):
        off, size, signed = FIELDS[name]
        out[off:off + size] = getattr(sqe, name).to_bytes(size, "little", signed=signed)
    return bytes(out)


# ---- every field and alias, under its C name ---------------------------------------------------

def test_every_field_and_union_alias_reads_and_writes_its_bytes(ring):
    sqe = L.io_uring_get_sqe(ring)                  # a NOP: every field is a plain value
    for name, (off, size, signed) in FIELDS.items():
        if name == "opcode":
            continue
        value = (0x5A5A5A5A5A5A5A5A >> (64 - 8 * size)) | 1
        setattr(sqe, name, value)
        got = getattr(sqe, name)
        expected = value - (1 << 8 * size) if signed and value >> (8 * size - 1) else value
        assert got == expected, name
        assert _raw(sqe)[off:off + size] == value.to_bytes(size, "little"), name
        setattr(sqe, name, 0)
    assert _raw(sqe) == bytes(64)
    sqe.addr = 0x1122334455667788                   # aliases share the bytes, as in C
    assert (sqe.level, sqe.optname, sqe.splice_off_in) == (0x55667788, 0x11223344, 0x1122334455667788)
    sqe.buf_group = 7
    assert sqe.buf_index == 7
    sqe.splice_fd_in = -1
    assert (sqe.file_index, sqe.optlen, sqe.addr_len, sqe.write_stream) == (2**32 - 1, 2**32 - 1, 0xFFFF, 0xFF)
    sqe.poll32_events = 0x12345678
    assert sqe.poll_events == 0x5678 and sqe.nop_flags == sqe.rw_flags == 0x12345678
    assert sqe.cmd == sqe.addr3.to_bytes(8, "little") + sqe.attr_type_mask.to_bytes(8, "little")
    with pytest.raises(AttributeError):
        sqe.cmd = b"x" * 16                         # the command payload is read-only
    with pytest.raises(AttributeError):
        del sqe.len


@pytest.mark.parametrize("name, value, stored", [
    ("len", -errno.EFAULT, 2**32 - errno.EFAULT),   # C: sqe->len = -EFAULT
    ("ioprio", -1, 0xFFFF), ("fd", 2**32 - 1, -1), ("flags", -1, 0xFF),
    ("user_data", -1, 2**64 - 1), ("off", -1, 2**64 - 1), ("write_stream", 255, 255),
])
def test_ints_are_stored_as_c_stores_them_in_the_field(ring, name, value, stored):
    sqe = L.io_uring_get_sqe(ring)
    setattr(sqe, name, value)
    assert getattr(sqe, name) == stored


@pytest.mark.parametrize("name, value", [
    ("len", 2**32), ("len", -2**31 - 1), ("ioprio", 2**16), ("flags", 256), ("fd", 2**32),
    ("user_data", 2**64), ("off", -2**63 - 1), ("write_stream", -129),
])
def test_ints_that_fit_the_field_neither_way_raise(ring, name, value):
    sqe = L.io_uring_get_sqe(ring)
    with pytest.raises(L.IntRangeError, match="must be in"):
        setattr(sqe, name, value)
    assert _raw(sqe) == bytes(64)
    with pytest.raises(TypeError):
        setattr(sqe, name, 1.0)


# ---- transcriptions of liburing's test programs ------------------------------------------------

def test_nop_inject_result_len_minus_efault(ring):
    """test/nop.c: sqe->nop_flags = IORING_NOP_INJECT_RESULT; sqe->len = -EFAULT."""
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_nop(sqe)
    sqe.nop_flags = L.IORING_NOP_INJECT_RESULT
    sqe.len = -errno.EFAULT
    assert submit_and_reap(ring) == {1: -errno.EFAULT}


def test_poll_add_len_or_multi_makes_it_multishot(ring):
    """test/multicqes_drain.c: sqe->len |= IORING_POLL_ADD_MULTI."""
    r, w = os.pipe()
    try:
        sqe = sqe_for(ring, 5)
        L.io_uring_prep_poll_add(sqe, r, select.POLLIN)
        sqe.len |= L.IORING_POLL_ADD_MULTI
        L.io_uring_submit(ring)
        os.write(w, b"x")
        ud, res, flags = wait_one(ring)
        assert (ud, res & select.POLLIN) == (5, select.POLLIN) and flags & L.IORING_CQE_F_MORE
        sqe = sqe_for(ring, 6)
        L.io_uring_prep_poll_remove(sqe, 5)
        L.io_uring_submit(ring)
        got = dict((ud, res) for ud, res, _ in reap(ring, 2))
        assert got[6] == 0 and got[5] == -errno.ECANCELED
    finally:
        os.close(r)
        os.close(w)


def test_rw_flags_nowait_on_an_empty_pipe(ring):
    """test/eeed8b54e0df.c: sqe->rw_flags = RWF_NOWAIT."""
    r, w = os.pipe()
    try:
        buf = bytearray(8)
        sqe = sqe_for(ring, 1)
        L.io_uring_prep_read(sqe, r, buf, 8, -1)
        sqe.rw_flags = L.RWF_NOWAIT
        assert submit_and_reap(ring) == {1: -errno.EAGAIN}
    finally:
        os.close(r)
        os.close(w)


def test_file_index_opens_into_a_registered_slot(ring, tmp_path):
    """test/accept.c / open-direct style: sqe->file_index = slot + 1."""
    path = tmp_path / "f"
    path.write_bytes(b"direct!")
    L.io_uring_register_files_sparse(ring, 4)
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_openat(sqe, L.AT_FDCWD, str(path), os.O_RDONLY, 0)
    sqe.file_index = 2 + 1                          # slot 2
    assert submit_and_reap(ring) == {1: 0}          # no fd: it went into the table
    buf = bytearray(7)
    sqe = sqe_for(ring, 2, L.IOSQE_FIXED_FILE)
    L.io_uring_prep_read(sqe, 2, buf, 7, 0)
    assert submit_and_reap(ring) == {2: 7} and buf == b"direct!"


def test_timeout_flags_abs_completes_at_once_for_a_past_deadline(ring):
    """test/timeout.c: sqe->timeout_flags = IORING_TIMEOUT_ABS (CLOCK_MONOTONIC)."""
    now = time.clock_gettime(time.CLOCK_MONOTONIC)
    ts = L.kernel_timespec(int(now), 0)             # already past; relative it would be ages
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_timeout(sqe, ts, 0, 0)
    sqe.timeout_flags = L.IORING_TIMEOUT_ABS
    assert submit_and_reap(ring, timeout=2) == {1: -errno.ETIME}


def test_timeout_with_null_ts_is_efault(ring):
    """C passes NULL: io_uring_prep_timeout(sqe, NULL, count, flags)."""
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_timeout(sqe, None, 1, 0)
    assert sqe.addr == 0
    assert submit_and_reap(ring) == {1: -errno.EFAULT}


def test_buf_group_picks_from_provided_buffers(ring):
    """sqe->buf_group = BGID with IOSQE_BUFFER_SELECT (ringbuf-loop.c and many others)."""
    r, w = os.pipe()
    try:
        pool = bytearray(64)
        sqe = sqe_for(ring, 1)
        L.io_uring_prep_provide_buffers(sqe, pool, 32, 2, 3, 0)
        assert submit_and_reap(ring) == {1: 0}
        os.write(w, b"selected")
        sqe = sqe_for(ring, 2, L.IOSQE_BUFFER_SELECT)
        L.io_uring_prep_read(sqe, r, None, 32, -1)
        sqe.buf_group = 3
        L.io_uring_submit(ring)
        ud, res, flags = wait_one(ring)
        bid = flags >> L.IORING_CQE_BUFFER_SHIFT
        assert (ud, res) == (2, 8) and flags & L.IORING_CQE_F_BUFFER
        assert pool[bid * 32:bid * 32 + 8] == b"selected"
    finally:
        os.close(r)
        os.close(w)


def test_personality_runs_the_request_with_those_credentials(ring):
    """sqe->personality = id (test/personality.c): a registered id works, another is EINVAL."""
    pid = L.io_uring_register_personality(ring)
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_nop(sqe)
    sqe.personality = pid
    sqe = sqe_for(ring, 2)
    L.io_uring_prep_nop(sqe)
    sqe.personality = pid + 1
    assert submit_and_reap(ring, 2) == {1: 0, 2: -errno.EINVAL}


def test_splice_fd_in_and_fd_redirect_a_prepared_request(ring):
    """sqe->splice_fd_in = fd and sqe->fd = fd after the prep (splice.c, poll-cancel-all.c)."""
    a_r, a_w = os.pipe()
    b_r, b_w = os.pipe()
    c_r, c_w = os.pipe()
    try:
        os.write(b_w, b"from b")
        sqe = sqe_for(ring, 1)
        L.io_uring_prep_splice(sqe, a_r, -1, a_w, -1, 6, 0)
        sqe.splice_fd_in = b_r                      # take from pipe b instead
        sqe.fd = c_w                                # and put into pipe c
        assert submit_and_reap(ring) == {1: 6}
        assert os.read(c_r, 16) == b"from b"
    finally:
        for fd in (a_r, a_w, b_r, b_w, c_r, c_w):
            os.close(fd)


def test_opcode_swap_between_splice_and_tee(ring):
    """test/splice.c: sqe->opcode = opcode (SPLICE or TEE, the same fields)."""
    a_r, a_w = os.pipe()
    b_r, b_w = os.pipe()
    try:
        os.write(a_w, b"dup")
        sqe = sqe_for(ring, 1)
        L.io_uring_prep_splice(sqe, a_r, 0, b_w, 0, 3, 0)     # splice.c's do_tee: offsets 0
        sqe.opcode = L.IORING_OP_TEE
        assert submit_and_reap(ring) == {1: 3}
        assert os.read(b_r, 8) == b"dup" and os.read(a_r, 8) == b"dup"   # tee left it in a
    finally:
        for fd in (a_r, a_w, b_r, b_w):
            os.close(fd)


def test_opcode_write_becomes_read_on_a_writable_buffer(ring, tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"file data")
    fd = os.open(path, os.O_RDONLY)
    try:
        buf = bytearray(9)
        sqe = sqe_for(ring, 1)
        L.io_uring_prep_write(sqe, fd, buf, 9, 0)
        sqe.opcode = L.IORING_OP_READ               # same fields; the buffer is writable
        assert submit_and_reap(ring) == {1: 9} and buf == b"file data"
    finally:
        os.close(fd)


def test_a_zeroed_sqe_built_field_by_field(ring, tmp_path):
    """io_uring_register.c: memset(sqe, 0); sqe->opcode = ...; sqe->fd = ...; sqe->addr = ..."""
    path = tmp_path / "f"
    path.write_bytes(b"0123456789")
    fd = os.open(path, os.O_RDONLY)
    try:
        buf = bytearray(4)
        sqe = sqe_for(ring, 9)
        sqe.opcode = L.IORING_OP_READ
        sqe.fd = fd
        sqe.addr = buf                              # pinned, like a prep helper pins it
        sqe.len = 4
        sqe.off = 3
        with pytest.raises(BufferError):
            buf.extend(b"x")
        assert submit_and_reap(ring) == {9: 4} and buf == b"3456"
        buf.extend(b"x")                            # released with the completion
    finally:
        os.close(fd)


def test_addr_takes_a_path_and_a_statx(ring, tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"x" * 1234)
    st = L.statx()
    sqe = sqe_for(ring, 1)
    sqe.opcode = L.IORING_OP_STATX
    sqe.fd = L.AT_FDCWD
    sqe.addr = str(path)
    sqe.off = st                                    # addr2: the struct statx the kernel fills
    sqe.len = L.STATX_SIZE
    assert submit_and_reap(ring) == {1: 0} and st.stx_size == 1234


def test_addr_takes_a_sequence_of_buffers_as_an_iovec_array(ring, tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"abcdefgh")
    fd = os.open(path, os.O_RDONLY)
    try:
        a, b = bytearray(3), bytearray(5)
        sqe = sqe_for(ring, 1)
        L.io_uring_prep_rw(L.IORING_OP_READV, sqe, fd, [a, b], 2, 0)
        assert submit_and_reap(ring) == {1: 8} and (a, b) == (b"abc", b"defgh")
    finally:
        os.close(fd)


def test_cancel_fd_userdata_raw_addr_is_the_user_data(ring):
    """test/cancel-fd-userdata.c: sqe->fd = fd; sqe->addr = target_ud (a value for cancel)."""
    r, w = os.pipe()
    try:
        for ud in (10, 11):
            sqe = sqe_for(ring, ud)
            L.io_uring_prep_poll_add(sqe, r, select.POLLIN)
        sqe = sqe_for(ring, 20)
        L.io_uring_prep_cancel_fd(sqe, r, L.IORING_ASYNC_CANCEL_FD)
        sqe.cancel_flags = L.IORING_ASYNC_CANCEL_FD | L.IORING_ASYNC_CANCEL_USERDATA
        sqe.addr = 11                               # only the poll whose user_data is 11
        L.io_uring_submit(ring)
        got = dict((ud, res) for ud, res, _ in reap(ring, 2))
        assert got == {11: -errno.ECANCELED, 20: 0}
        os.write(w, b"x")
        assert wait_one(ring)[:2] == (10, select.POLLIN)
    finally:
        os.close(r)
        os.close(w)


# ---- what is refused, and why ------------------------------------------------------------------

def _unchanged(sqe, before):
    assert _raw(sqe) == before, "a refused assignment changed the SQE"


def test_a_raw_int_is_never_a_user_address(ring):
    buf = bytearray(16)
    sqe = L.io_uring_get_sqe(ring)
    L.io_uring_prep_read(sqe, 0, buf, 16, 0)
    before = _raw(sqe)
    with pytest.raises(TypeError, match="user address for IORING_OP_READ"):
        sqe.addr = address_of(bytearray(64))
    with pytest.raises(TypeError, match="user address"):
        sqe.level = 1                               # the low half of addr
    _unchanged(sqe, before)
    sqe.addr = 0                                    # NULL is fine (the kernel faults: EFAULT)
    sqe.addr = None
    assert sqe.addr == 0


def test_lengths_are_checked_against_the_pinned_buffer(ring):
    buf = bytearray(16)
    sqe = L.io_uring_get_sqe(ring)
    L.io_uring_prep_read(sqe, 0, buf, 16, 0)
    before = _raw(sqe)
    with pytest.raises(ValueError, match="16"):
        sqe.len = 17
    with pytest.raises(ValueError):
        sqe.len = -1                                # (u32)-1 bytes
    _unchanged(sqe, before)
    sqe.len = 8
    with pytest.raises(ValueError):
        sqe.addr = bytearray(4)                     # len 8 does not fit the new buffer
    sqe.addr = memoryview(buf)[8:]                  # 8 bytes: fits
    with pytest.raises(TypeError, match="writable"):
        sqe.addr = b"read-only bytes"


@pytest.mark.parametrize("setup, assign, exc", [
    # opcode changes: the other fields are read anew
    (lambda s: (L.io_uring_prep_nop(s), setattr(s, "off", 0xDEAD)), ("opcode", L.IORING_OP_STATX), TypeError),
    (lambda s: L.io_uring_prep_write(s, 0, b"bytes!", 6, 0), ("opcode", L.IORING_OP_READ), TypeError),
    (lambda s: L.io_uring_prep_read(s, 0, bytearray(32), 32, 0), ("opcode", L.IORING_OP_READV), TypeError),
    (lambda s: L.io_uring_prep_read(s, 0, bytearray(8), 8, 0), ("opcode", L.IORING_OP_EPOLL_WAIT), ValueError),
    (lambda s: (L.io_uring_prep_nop(s), setattr(s, "addr", 0x1000)), ("opcode", L.IORING_OP_TIMEOUT), TypeError),
    (lambda s: L.io_uring_prep_nop(s), ("opcode", L.IORING_OP_MSG_RING), ValueError),
    (lambda s: L.io_uring_prep_nop(s), ("opcode", L.IORING_OP_PROVIDE_BUFFERS), ValueError),
    (lambda s: L.io_uring_prep_nop(s), ("opcode", L.IORING_OP_MADVISE), ValueError),
    # flags that change how the kernel reads the other fields
    (lambda s: L.io_uring_prep_send(s, 0, b"0123456789abcdef", 16, 0), ("ioprio", L.IORING_SEND_VECTORIZED), TypeError),
    (lambda s: (L.io_uring_prep_timeout_remove(s, 5, 0), setattr(s, "off", 0x1000)),
     ("timeout_flags", L.IORING_TIMEOUT_UPDATE), TypeError),
    (lambda s: (L.io_uring_prep_timeout(s, None, 0, L.IORING_TIMEOUT_IMMEDIATE_ARG), setattr(s, "addr", 10**9)),
     ("timeout_flags", 0), TypeError),
    (lambda s: L.io_uring_prep_files_update(s, b"\xff\xff\xff\xff", None, 0), ("off", L.IORING_FILE_INDEX_ALLOC), TypeError),
    (lambda s: L.io_uring_prep_connect(s, 0, L.sockaddr(socket.AF_INET, ("127.0.0.1", 1))), ("off", 200), ValueError),
    (lambda s: L.io_uring_prep_epoll_wait(s, 0, L.epoll_event_array(2)), ("len", 3), ValueError),
    (lambda s: L.io_uring_prep_futex_wait(s, bytearray(4), 0, 0, L.FUTEX2_SIZE_U32, 0), ("fd", L.FUTEX2_SIZE_U64), ValueError),
    (lambda s: L.io_uring_prep_cmd_discard(s, 0, 4096, 8192), ("cmd_op", L.SOCKET_URING_OP_GETSOCKOPT), TypeError),
    # what only a prep helper may set
    (lambda s: L.io_uring_prep_accept(s, 0, L.sockaddr(), None, 0), ("addr", bytearray(128)), ValueError),
    (lambda s: L.io_uring_prep_accept(s, 0, None, None, 0), ("off", 0x1000), ValueError),
    (lambda s: L.io_uring_prep_msg_ring(s, 0, 0, 7, 0), ("off", 8), ValueError),
    (lambda s: L.io_uring_prep_msg_ring(s, 0, 0, 7, 0), ("fd", 1), ValueError),
    (lambda s: L.io_uring_prep_msg_ring(s, 0, 0, 7, 0), ("opcode", L.IORING_OP_NOP), ValueError),
    (lambda s: L.io_uring_prep_provide_buffers(s, bytearray(64), 32, 2, 1, 0), ("len", 64), ValueError),
    (lambda s: L.io_uring_prep_read(s, 0, bytearray(8), 8, 0), ("attr_ptr", 0x1000), ValueError),
    (lambda s: L.io_uring_prep_uring_cmd(s, 0x1234, 0), ("addr", 0x1000), ValueError),
    (lambda s: L.io_uring_prep_nop(s), ("opcode", 200), None),            # unknown: allowed, nothing set
    (lambda s: (L.io_uring_prep_nop(s), setattr(s, "addr", 5)), ("opcode", 200), ValueError),
    # objects where the opcode takes a number
    (lambda s: L.io_uring_prep_nop(s), ("off", bytearray(8)), TypeError),
    (lambda s: L.io_uring_prep_read(s, 0, bytearray(8), 8, 0), ("len", bytearray(8)), TypeError),
])
def test_assignments_that_would_let_the_kernel_touch_unpinned_memory_are_refused(ring, setup, assign, exc):
    sqe = L.io_uring_get_sqe(ring)
    setup(sqe)
    before = _raw(sqe)
    name, value = assign
    if exc is None:
        setattr(sqe, name, value)
        assert getattr(sqe, name) == value
        return
    with pytest.raises(exc):
        setattr(sqe, name, value)
    _unchanged(sqe, before)


def test_flag_first_then_the_number_is_the_safe_order(ring):
    """timeout.c sets sqe->addr = ns before IORING_TIMEOUT_IMMEDIATE_ARG; checked one at a time,
    the flag comes first (and the flag cannot be cleared while addr holds a number)."""
    sqe = L.io_uring_get_sqe(ring)
    L.io_uring_prep_timeout(sqe, None, 0, 0)
    with pytest.raises(TypeError):
        sqe.addr = 10**9
    sqe.timeout_flags = L.IORING_TIMEOUT_IMMEDIATE_ARG
    sqe.addr = 10**9
    with pytest.raises(TypeError):
        L.io_uring_initialize_sqe(sqe)              # would clear the flag: addr a pointer again
    assert sqe.timeout_flags == L.IORING_TIMEOUT_IMMEDIATE_ARG


def test_send_set_addr_cannot_put_a_sockaddr_where_statx_writes(ring):
    """Regression: io_uring_prep_send_set_addr on a non-send SQE stored a 128-byte sockaddr in
    addr2, which STATX fills with 256 bytes."""
    st = L.statx()
    sqe = L.io_uring_get_sqe(ring)
    L.io_uring_prep_statx(sqe, L.AT_FDCWD, "/", 0, L.STATX_BASIC_STATS, st)
    before = _raw(sqe)
    with pytest.raises(ValueError):
        L.io_uring_prep_send_set_addr(sqe, L.sockaddr(socket.AF_INET, ("127.0.0.1", 9)))
    _unchanged(sqe, before)


def test_prep_rw_refuses_raw_buffers_where_the_kernel_follows_pointers(ring):
    """Regression: io_uring_prep_rw accepted any buffer for any opcode, so READV read iovecs
    (pointers) from the bytes of a bytearray and STATX wrote through a raw offset."""
    sqe = L.io_uring_get_sqe(ring)
    with pytest.raises(TypeError, match="iovec"):
        L.io_uring_prep_rw(L.IORING_OP_READV, sqe, 0, bytearray(32), 2, 0)
    with pytest.raises(TypeError):
        L.io_uring_prep_rw(L.IORING_OP_STATX, sqe, L.AT_FDCWD, b"/\0", 0, 0x7F0000001000)
    with pytest.raises(ValueError):
        L.io_uring_prep_rw(L.IORING_OP_ACCEPT, sqe, 0, bytearray(128), 0, 0)
    with pytest.raises(ValueError):
        L.io_uring_prep_rw(L.IORING_OP_MADVISE, sqe, 0, bytearray(4096), 4096, 0)
    assert sqe.opcode == L.IORING_OP_NOP and sqe.addr == 0


def test_fixed_buffer_fields_stay_inside_the_registered_buffer(ring, tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"registered")
    fd = os.open(path, os.O_RDONLY)
    try:
        reg = [bytearray(4096), bytearray(4096)]
        L.io_uring_register_buffers(ring, reg)
        view0, view1 = memoryview(reg[0]), memoryview(reg[1])
        sqe = sqe_for(ring, 1)
        L.io_uring_prep_read_fixed(sqe, fd, view0[4090:], 6, 0, 0)
        before = _raw(sqe)
        with pytest.raises(ValueError, match="inside registered buffer"):
            sqe.len = 7                             # past the end of registered buffer 0
        with pytest.raises(ValueError):
            sqe.buf_index = 1                       # the memory is not in buffer 1
        with pytest.raises(TypeError):
            sqe.addr = address_of(reg[0])           # an address only as a buffer object
        with pytest.raises(ValueError):
            sqe.addr = view1[:6]                    # buf_index still says buffer 0
        _unchanged(sqe, before)
        sqe.addr = view0[:6]
        sqe.len = 10                                # the kernel checks against buffer 0 too
        assert submit_and_reap(ring) == {1: 10} and bytes(view0[:10]) == b"registered"
    finally:
        os.close(fd)


# ---- the free-standing SQE: struct io_uring_sqe sqe = {} ---------------------------------------

def test_free_standing_sqe_for_register_sync_msg():
    """test/msg-ring.c style: a local struct io_uring_sqe, prepared and sent synchronously."""
    target = L.io_uring()
    L.io_uring_queue_init(4, target, 0)
    try:
        sqe = L.io_uring_sqe()
        assert _raw(sqe) == bytes(64) and sqe.cmd == bytes(16)
        L.io_uring_prep_msg_ring(sqe, target.ring_fd, 42, 0x77, 0)
        sqe.len = 43                                 # fields work as on a ring's SQE
        try:
            L.io_uring_register_sync_msg(sqe)
        except OSError as exc:
            pytest.skip(f"IORING_REGISTER_SEND_MSG_RING: {exc}")
        assert wait_one(target) == (0x77, 43, 0)
    finally:
        L.io_uring_queue_exit(target)


def test_free_standing_sqe_takes_preps_and_pins_but_is_no_ring_slot(ring):
    sqe = L.io_uring_sqe()
    buf = bytearray(8)
    L.io_uring_prep_read(sqe, 0, buf, 8, 0)
    assert (sqe.opcode, sqe.len, sqe.addr) == (L.IORING_OP_READ, 8, address_of(buf))
    with pytest.raises(BufferError):
        buf.extend(b"x")                            # pinned while the SQE holds its address
    with pytest.raises(ValueError):
        sqe.len = 9
    L.io_uring_prep_nop(sqe)                        # a new prep releases it
    buf.extend(b"x")
    L.io_uring_sqe_set_data(sqe, object())
    sqe.user_data = 5
    assert L.io_uring_sq_ready(ring) == 0           # nothing reached any ring
    assert L.io_uring_submit(ring) == 0


def test_128_byte_opcodes_need_128_byte_slots(ring):
    """Regression: io_uring_prep_uring_cmd128 (and an opcode assignment) in a 64-byte slot would
    make the kernel read the next SQE as the command's payload."""
    sqe = L.io_uring_get_sqe(ring)
    with pytest.raises(ValueError, match="SQE128"):
        L.io_uring_prep_uring_cmd128(sqe, 0, 3)
    with pytest.raises(ValueError, match="SQE128"):
        sqe.opcode = L.IORING_OP_URING_CMD128
    with pytest.raises(ValueError, match="SQE128"):
        sqe.opcode = L.IORING_OP_NOP128
    with pytest.raises(ValueError, match="SQE128"):
        L.io_uring_prep_rw(L.IORING_OP_NOP128, sqe, -1, None, 0, 0)
    assert sqe.opcode == L.IORING_OP_NOP
    big = L.io_uring()
    L.io_uring_queue_init(4, big, L.IORING_SETUP_SQE128)
    try:
        sqe = L.io_uring_get_sqe(big)
        sqe.opcode = L.IORING_OP_NOP128             # a 128-byte slot: fine
        assert len(sqe.cmd) == 80
    finally:
        L.io_uring_queue_exit(big)


def test_integers_that_are_not_int_are_numbers(ring):
    """numpy-like integers (__index__) are numbers for every field, never buffers."""
    class Int:
        def __init__(self, v):
            self.v = v

        def __index__(self):
            return self.v

    sqe = L.io_uring_get_sqe(ring)
    sqe.len = Int(7)
    sqe.off = Int(-1)
    sqe.user_data = Int(9)
    sqe.flags = Int(L.IOSQE_ASYNC)
    assert (sqe.len, sqe.off, sqe.user_data, sqe.flags) == (7, 2**64 - 1, 9, L.IOSQE_ASYNC)
