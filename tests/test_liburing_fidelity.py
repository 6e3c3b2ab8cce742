"""Fidelity of ioring.liburing to C programs written against liburing (issue 13): the places a
line-by-line transcription of liburing's own test programs needed something the module lacked.
Each test checks what the kernel did."""
import errno
import traceback

import pytest

from ioring import liburing as L

from helpers import reap


# ---- out-of-range ints raise a public exception type (issue 14) --------------------------------

def test_int_range_error_is_public_and_both_value_and_overflow_error(ring):
    sqe = L.io_uring_get_sqe(ring)
    with pytest.raises(L.IntRangeError) as info:
        L.io_uring_prep_fsync(sqe, 0, -1)               # unsigned fsync_flags
    exc = info.value
    assert isinstance(exc, ValueError) and isinstance(exc, OverflowError)
    assert type(exc) is L.IntRangeError and type(exc).__module__ == "ioring.liburing"
    text = "".join(traceback.format_exception(exc))
    assert "IntRangeError" in text and "_IntRangeError" not in text


# ---- struct statx: the fields of Linux 6.18 ----------------------------------------------------

_NEW_STATX_FIELDS = {            # name: (offset, struct format) in the kernel's struct statx
    "stx_dio_mem_align": (152, "I"),
    "stx_dio_offset_align": (156, "I"),
    "stx_subvol": (160, "Q"),
    "stx_atomic_write_unit_min": (168, "I"),
    "stx_atomic_write_unit_max": (172, "I"),
    "stx_atomic_write_segments_max": (176, "I"),
    "stx_dio_read_offset_align": (180, "I"),
    "stx_atomic_write_unit_max_opt": (184, "I"),
}


def _libc_statx(path, mask):
    import ctypes
    import struct
    libc = ctypes.CDLL(None, use_errno=True)
    raw = ctypes.create_string_buffer(256)
    if libc.statx(L.AT_FDCWD, path.encode(), 0, mask, raw) != 0:
        err = ctypes.get_errno()
        pytest.skip(f"statx(2): {errno.errorcode.get(err, err)}")
    return {name: struct.unpack_from("=" + fmt, raw.raw, off)[0]
            for name, (off, fmt) in _NEW_STATX_FIELDS.items()} | {
        "stx_mask": struct.unpack_from("=I", raw.raw, 0)[0]}


def test_statx_has_the_newer_fields_as_the_kernel_fills_them(ring, tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"x" * 8192)
    mask = (L.STATX_BASIC_STATS | L.STATX_DIOALIGN | L.STATX_SUBVOL | L.STATX_WRITE_ATOMIC
            | L.STATX_DIO_READ_ALIGN)
    st = L.statx()
    sqe = L.io_uring_get_sqe(ring)
    L.io_uring_prep_statx(sqe, L.AT_FDCWD, str(path), 0, mask, st)
    L.io_uring_submit(ring)
    assert reap(ring, 1)[0][1] == 0
    expected = _libc_statx(str(path), mask)
    assert st.stx_mask == expected["stx_mask"]
    for name in _NEW_STATX_FIELDS:
        assert getattr(st, name) == expected[name], name
    if st.stx_mask & L.STATX_DIOALIGN:          # ext4 and xfs answer it for regular files
        assert st.stx_dio_mem_align > 0 and st.stx_dio_offset_align > 0


# ---- *ring->cq.koverflow, *ring->sq.kdropped ---------------------------------------------------

def test_ring_counters_read_the_memory_shared_with_the_kernel():
    import mmap
    import struct
    ring = L.io_uring()
    p = L.io_uring_params()
    L.io_uring_queue_init_params(8, ring, p)
    try:
        assert ring.features & L.IORING_FEAT_SINGLE_MMAP
        assert (ring.cq.koverflow, ring.sq.kdropped) == (0, 0)      # nothing lost yet
        # The kernel's counters live in the rings it mapped: set them through a second mapping
        # of the same pages; C's *ring->cq.koverflow and *ring->sq.kdropped see the new values.
        with mmap.mmap(ring.ring_fd, 4096, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE,
                       offset=L.IORING_OFF_SQ_RING) as shared:
            struct.pack_into("=I", shared, p.cq_off.overflow, 7)
            struct.pack_into("=I", shared, p.sq_off.dropped, 3)
            assert ring.cq.koverflow == 7 and ring.sq.kdropped == 3
            struct.pack_into("=I", shared, p.cq_off.overflow, 0)
            struct.pack_into("=I", shared, p.sq_off.dropped, 0)
        assert ring.sq.ring_entries == ring.sq_entries == 8 and ring.sq.ring_mask == 7
        assert ring.cq.ring_entries == ring.cq_entries == 16
        sqe = L.io_uring_get_sqe(ring)
        L.io_uring_prep_nop(sqe)
        assert (ring.sq.sqe_tail - ring.sq.sqe_head, ring.sq.khead) == (1, 0)
        L.io_uring_submit(ring)
        reap(ring, 1)
        assert ring.sq.khead == ring.sq.ktail == 1 and ring.cq.khead == ring.cq.ktail == 1
        cq, sq = ring.cq, ring.sq
    finally:
        L.io_uring_queue_exit(ring)
    with pytest.raises(ValueError, match="not initialized"):
        cq.koverflow                  # the memory is unmapped: refused, never read
    with pytest.raises(ValueError, match="not initialized"):
        sq.kdropped


# ---- io_uring_sqe_set_data with an int: the int is the user_data (liburing's test/timeout.c) ----

def test_set_data_int_is_the_user_data_timeout_remove_finds_it(ring):
    # test_single_timeout_remove: a timeout with set_data((void *) 1), removed by user_data 1.
    ts = L.kernel_timespec(1, 0)
    sqe = L.io_uring_get_sqe(ring)
    L.io_uring_prep_timeout(sqe, ts, 0, 0)
    L.io_uring_sqe_set_data(sqe, 1)
    assert sqe.user_data == 1
    sqe = L.io_uring_get_sqe(ring)
    L.io_uring_prep_timeout_remove(sqe, 1, 0)
    L.io_uring_sqe_set_data(sqe, 2)
    assert L.io_uring_submit(ring) == 2
    got = {}
    for _ in range(2):
        cqe = L.io_uring_wait_cqe(ring)
        got[L.io_uring_cqe_get_data(cqe)] = cqe.res
        L.io_uring_cqe_seen(ring, cqe)
    assert got == {1: -errno.ECANCELED, 2: 0}


def test_prep_cancel_with_an_int_cancels_that_user_data(ring):
    import os
    r, w = os.pipe()
    try:
        sqe = L.io_uring_get_sqe(ring)
        L.io_uring_prep_poll_add(sqe, r, 1)             # POLLIN: pends, nothing written
        L.io_uring_sqe_set_data(sqe, 77)
        sqe = L.io_uring_get_sqe(ring)
        L.io_uring_prep_cancel(sqe, 77, 0)
        L.io_uring_sqe_set_data(sqe, None)              # NULL
        assert sqe.user_data == 0
        L.io_uring_submit(ring)
        got = {}
        for _ in range(2):
            cqe = L.io_uring_wait_cqe(ring)
            got[L.io_uring_cqe_get_data(cqe)] = cqe.res
            L.io_uring_cqe_seen(ring, cqe)
        assert got == {77: -errno.ECANCELED, None: 0}
    finally:
        os.close(r)
        os.close(w)


def test_set_data_int_out_of_range(ring):
    sqe = L.io_uring_get_sqe(ring)
    with pytest.raises(ValueError):
        L.io_uring_sqe_set_data(sqe, -1)
    with pytest.raises(ValueError):
        L.io_uring_sqe_set_data(sqe, 2**64)


# ---- io_uring_prep_files_update with IORING_FILE_INDEX_ALLOC: the slots come back -------------

def _sparse_ring(entries=8, slots=4):
    ring = L.io_uring()
    L.io_uring_queue_init(entries, ring, 0)
    L.io_uring_register_files_sparse(ring, slots)
    return ring


@pytest.mark.parametrize("offset", [L.IORING_FILE_INDEX_ALLOC, -1])
def test_files_update_alloc_refuses_a_sequence_whose_copy_would_lose_the_slots(offset):
    import array
    import os
    ring = _sparse_ring()
    r, w = os.pipe()
    try:
        sqe = L.io_uring_get_sqe(ring)
        with pytest.raises(TypeError, match="writable buffer of C ints"):
            L.io_uring_prep_files_update(sqe, [r, w], None, offset)
        with pytest.raises(TypeError, match="writable"):
            L.io_uring_prep_files_update(sqe, bytes(array.array("i", [r, w])), None, offset)
        assert sqe.opcode == L.IORING_OP_NOP           # refused before the SQE was touched
        fds = array.array("i", [r, w])
        L.io_uring_prep_files_update(sqe, fds, None, offset)
        L.io_uring_submit(ring)
        assert reap(ring, 1)[0][1] == 2
        assert sorted(fds) == [0, 1]                   # the slots the kernel picked
        os.write(w, b"via slot")
        buf = bytearray(8)
        sqe = L.io_uring_get_sqe(ring)
        L.io_uring_prep_read(sqe, fds[0], buf, 8, -1)  # slot of r
        L.io_uring_sqe_set_flags(sqe, L.IOSQE_FIXED_FILE)
        L.io_uring_submit(ring)
        assert reap(ring, 1)[0][1] == 8 and buf == b"via slot"
    finally:
        L.io_uring_queue_exit(ring)
        os.close(r)
        os.close(w)


def test_files_update_list_without_alloc_still_works():
    import os
    ring = _sparse_ring()
    r, w = os.pipe()
    try:
        sqe = L.io_uring_get_sqe(ring)
        L.io_uring_prep_files_update(sqe, [r, w], None, 2)
        L.io_uring_submit(ring)
        assert reap(ring, 1)[0][1] == 2
    finally:
        L.io_uring_queue_exit(ring)
        os.close(r)
        os.close(w)


# ---- IORING_SETUP_R_DISABLED: SQEs the kernel refused are not in flight ------------------------

def test_sqes_refused_by_a_disabled_ring_are_released_at_exit():
    import os
    import warnings
    ring = L.io_uring()
    L.io_uring_queue_init(8, ring, L.IORING_SETUP_R_DISABLED)
    r, w = os.pipe()
    buf = bytearray(16)
    try:
        sqe = L.io_uring_get_sqe(ring)
        L.io_uring_prep_read(sqe, r, buf, 16, -1)
        with pytest.raises(OSError) as info:
            L.io_uring_submit(ring)
        assert info.value.errno == errno.EBADFD
        with pytest.raises(BufferError):
            buf.extend(b"x")                   # still pinned: the SQE waits in the SQ
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            L.io_uring_queue_exit(ring)
        assert not [x for x in caught if issubclass(x.category, RuntimeWarning)]   # no leak
        buf.extend(b"x")                        # released: the kernel never consumed it
    finally:
        os.close(r)
        os.close(w)


def test_sqes_refused_by_a_disabled_ring_run_once_it_is_enabled():
    import os
    ring = L.io_uring()
    L.io_uring_queue_init(8, ring, L.IORING_SETUP_R_DISABLED)
    r, w = os.pipe()
    buf = bytearray(5)
    try:
        sqe = L.io_uring_get_sqe(ring)
        L.io_uring_prep_read(sqe, r, buf, 5, -1)
        L.io_uring_sqe_set_data64(sqe, 9)
        with pytest.raises(OSError):
            L.io_uring_submit(ring)
        assert L.io_uring_sq_ready(ring) == 1       # published, not consumed (as in C)
        L.io_uring_enable_rings(ring)
        os.write(w, b"later")
        assert L.io_uring_submit(ring) == 1         # the kernel takes the waiting SQE now
        assert reap(ring, 1) == [(9, 5, 0)] and buf == b"later"
    finally:
        L.io_uring_queue_exit(ring)
        os.close(r)
        os.close(w)


# ---- vectorized send: IORING_SEND_VECTORIZED with a sequence of buffers -----------------------

def _socketpair():
    import socket
    return socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)


def _skip_unless_supported(res, what, since="6.17"):
    if res == -errno.EINVAL:
        pytest.skip(f"{what} with IORING_SEND_VECTORIZED: the kernel answered EINVAL (needs {since})")


@pytest.mark.parametrize("set_flag_again", [False, True])
def test_send_vectorized_sends_the_buffers_in_order(ring, set_flag_again):
    a, b = _socketpair()
    with a, b:
        parts = [b"hello ", bytearray(b"vectorized "), memoryview(b"world!")[:5], b"unsent"]
        sqe = L.io_uring_get_sqe(ring)
        L.io_uring_prep_send(sqe, a.fileno(), parts, 3, 0)        # C: iov, nr_iov
        if set_flag_again:
            sqe.ioprio |= L.IORING_SEND_VECTORIZED                 # as C programs do
        assert sqe.ioprio & L.IORING_SEND_VECTORIZED and sqe.len == 3
        with pytest.raises(BufferError):
            parts[1].extend(b"x")                                  # pinned until the completion
        L.io_uring_sqe_set_data64(sqe, 1)
        L.io_uring_submit(ring)
        (ud, res, _), = reap(ring, 1)
        _skip_unless_supported(res, "IORING_OP_SEND")
        assert (ud, res) == (1, 22)
        assert b.recv(64) == b"hello vectorized world"
        parts[1].extend(b"x")


def _tcp_pair():
    import socket
    with socket.create_server(("127.0.0.1", 0)) as srv:
        a = socket.create_connection(srv.getsockname())
        b, _ = srv.accept()
    return a, b


def test_send_zc_vectorized_sends_the_buffers(ring):
    a, b = _tcp_pair()                  # zero-copy send needs a protocol with it (TCP, UDP)
    with a, b:
        parts = [bytearray(b"zero-"), bytearray(b"copy")]
        sqe = L.io_uring_get_sqe(ring)
        L.io_uring_prep_send_zc(sqe, a.fileno(), parts, 2, 0, 0)
        assert sqe.ioprio & L.IORING_SEND_VECTORIZED
        L.io_uring_sqe_set_data64(sqe, 2)
        L.io_uring_submit(ring)
        ud, res, flags = reap(ring, 1)[0]
        _skip_unless_supported(res, "IORING_OP_SEND_ZC")
        assert (ud, res) == (2, 9)
        if flags & L.IORING_CQE_F_MORE:
            ud, _, flags = reap(ring, 1)[0]                        # the notification
            assert ud == 2 and flags & L.IORING_CQE_F_NOTIF
        assert b.recv(64) == b"zero-copy"


def test_send_vectorized_arguments_are_checked(ring):
    sqe = L.io_uring_get_sqe(ring)
    with pytest.raises(ValueError):
        L.io_uring_prep_send(sqe, 0, [b"a", b"b"], 3, 0)          # more iovecs than buffers
    with pytest.raises(ValueError):
        L.io_uring_prep_send(sqe, 0, [b"a"], 0, 0)
    with pytest.raises(TypeError):
        L.io_uring_prep_send_zc(sqe, 0, bytearray(32), 2, 0, L.IORING_SEND_VECTORIZED)
    assert sqe.opcode == L.IORING_OP_NOP


def test_send_zc_fixed_vectorized_sends_slices_of_a_registered_buffer(ring):
    reg = bytearray(b"registered-buffer-data")
    L.io_uring_register_buffers(ring, [reg])
    view = memoryview(reg)
    a, b = _tcp_pair()
    with a, b:
        sqe = L.io_uring_get_sqe(ring)
        L.io_uring_prep_send_zc_fixed(sqe, a.fileno(), [view[11:17], view[:11]], 2, 0, 0, 0)
        assert sqe.ioprio & L.IORING_SEND_VECTORIZED and sqe.ioprio & L.IORING_RECVSEND_FIXED_BUF
        with pytest.raises(ValueError):                    # not inside registered buffer 0
            L.io_uring_prep_send_zc_fixed(L.io_uring_sqe(), a.fileno(), [bytearray(4)], 1, 0, 0, 0)
        L.io_uring_sqe_set_data64(sqe, 3)
        L.io_uring_submit(ring)
        ud, res, flags = reap(ring, 1)[0]
        # 6.18 refuses registered buffers with IORING_SEND_VECTORIZED; a later kernel takes them.
        _skip_unless_supported(res, "IORING_OP_SEND_ZC + IORING_RECVSEND_FIXED_BUF", "a kernel after 6.18")
        assert (ud, res) == (3, 17)
        if flags & L.IORING_CQE_F_MORE:
            assert reap(ring, 1)[0][2] & L.IORING_CQE_F_NOTIF
        assert b.recv(64) == b"buffer-registered"


# ---- kernel-allocated buffer rings (IOU_PBUF_RING_MMAP) -----------------------------------------

def _recv_select(ring, sock, nbytes, user_data, bgid):
    sqe = L.io_uring_get_sqe(ring)
    L.io_uring_prep_recv(sqe, sock.fileno(), None, nbytes, 0)
    L.io_uring_sqe_set_flags(sqe, L.IOSQE_BUFFER_SELECT)
    sqe.buf_group = bgid
    L.io_uring_sqe_set_data64(sqe, user_data)


def test_register_buf_ring_mmap_kernel_allocates_the_ring(ring):
    a, b = _socketpair()
    with a, b:
        reg = L.io_uring_buf_reg(None, 8, 5, L.IOU_PBUF_RING_MMAP)
        assert reg.br is None                     # nothing mapped before the kernel has a ring
        assert L.io_uring_register_buf_ring(ring, reg, 0) == 0
        br = reg.br
        assert (br.bgid, br.nentries, br.tail) == (5, 8, 0)
        data = bytearray(8 * 32)
        for bid in range(8):
            L.io_uring_buf_ring_add(br, memoryview(data)[bid * 32:(bid + 1) * 32], 32, bid,
                                    L.io_uring_buf_ring_mask(8), bid)
        L.io_uring_buf_ring_advance(br, 8)        # the kernel reads the tail from this mapping
        assert L.io_uring_buf_ring_available(ring, br, 5) == 8
        a.send(b"kernel ring")
        _recv_select(ring, b, 32, 1, 5)
        L.io_uring_submit(ring)
        (ud, res, flags), = reap(ring, 1)
        assert (ud, res) == (1, 11) and flags & L.IORING_CQE_F_BUFFER
        bid = flags >> L.IORING_CQE_BUFFER_SHIFT
        assert bytes(br.buffer(bid, res)) == b"kernel ring" == data[bid * 32:bid * 32 + 11]
        assert L.io_uring_buf_ring_head(ring, 5) == 1
        assert L.io_uring_unregister_buf_ring(ring, 5) == 0
        with pytest.raises(ValueError):
            L.io_uring_buf_ring_advance(br, 1)    # unmapped: refused, never touched
        with pytest.raises(BufferError):
            data.append(0)                        # its buffers stay pinned until the ring exits


def test_setup_buf_ring_with_iou_pbuf_ring_mmap(ring):
    a, b = _socketpair()
    with a, b:
        br = L.io_uring_setup_buf_ring(ring, 4, 6, L.IOU_PBUF_RING_MMAP)
        bufs = [bytearray(16) for _ in range(4)]
        for bid, buf in enumerate(bufs):
            L.io_uring_buf_ring_add(br, buf, 16, bid, L.io_uring_buf_ring_mask(4), bid)
        L.io_uring_buf_ring_advance(br, 4)
        a.send(b"setup mmap")
        _recv_select(ring, b, 16, 2, 6)
        L.io_uring_submit(ring)
        (ud, res, flags), = reap(ring, 1)
        assert (ud, res) == (2, 10)
        assert bufs[flags >> L.IORING_CQE_BUFFER_SHIFT][:10] == b"setup mmap"
        assert L.io_uring_free_buf_ring(ring, br, 4, 6) == 0
        with pytest.raises(ValueError):
            L.io_uring_buf_ring_add(br, bufs[0], 16, 0, 3, 0)


def test_a_pending_request_keeps_the_kernel_rings_buffers_pinned():
    import os
    ring = L.io_uring()
    L.io_uring_queue_init(8, ring, 0)
    a, b = _socketpair()
    try:
        reg = L.io_uring_buf_reg(None, 2, 9, L.IOU_PBUF_RING_MMAP)
        L.io_uring_register_buf_ring(ring, reg, 0)
        buf = bytearray(16)
        L.io_uring_buf_ring_add(reg.br, buf, 16, 0, 1, 0)
        L.io_uring_buf_ring_advance(reg.br, 1)
        _recv_select(ring, b, 16, 3, 9)           # waits for data
        L.io_uring_submit(ring)
        L.io_uring_unregister_buf_ring(ring, 9)
        a.send(b"late")
        reap(ring, 1)                             # ENOBUFS or the data: either way consumed
        with pytest.raises(BufferError):
            buf.append(0)
    finally:
        L.io_uring_queue_exit(ring)
        a.close()
        b.close()
    buf.append(0)                                 # released with the ring


def test_buf_reg_memory_and_iou_pbuf_ring_mmap_are_exclusive():
    import mmap
    with pytest.raises(ValueError, match="IOU_PBUF_RING_MMAP"):
        L.io_uring_buf_reg(None, 8, 1)
    with pytest.raises(ValueError, match="ring_addr must be None"):
        L.io_uring_buf_reg(mmap.mmap(-1, 4096), 8, 1, L.IOU_PBUF_RING_MMAP)
    ring = L.io_uring()
    L.io_uring_queue_init(4, ring, 0)
    try:
        reg = L.io_uring_buf_reg(mmap.mmap(-1, 4096), 8, 1)
        with pytest.raises(ValueError, match="ring_addr None"):
            L.io_uring_register_buf_ring(ring, reg, L.IOU_PBUF_RING_MMAP)
    finally:
        L.io_uring_queue_exit(ring)
