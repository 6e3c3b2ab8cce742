"""ioring.liburing: file I/O operations checked against what the kernel did.

read/write/readv/readv2/writev/writev2, fsync, openat/openat2, close, statx, links
(IOSQE_IO_LINK / IOSQE_IO_HARDLINK) and the argument checks that must stop bad input
before the kernel sees it. Every test reads back with os.pread / os.fstat / os.stat.
"""
import array
import errno
import gc
import mmap
import os
import pathlib
import stat

import pytest

from ioring import liburing as L
from helpers import address_of, assert_no_completion, reap, sqe_for, submit_and_reap, wait_one  # noqa: E402

U64_MAX = 2**64 - 1


# ---- helpers -----------------------------------------------------------------------------------

def pattern(n, seed=0):
    return bytes((i * 7 + seed) & 0xFF for i in range(n))


# ---- fixtures ----------------------------------------------------------------------------------

RING = ("io_uring", 32)         # the conftest ring fixture: 32 entries


@pytest.fixture
def umask0():
    old = os.umask(0)
    yield
    os.umask(old)


@pytest.fixture
def datafile(tmp_path):
    """A 10000-byte file with a known pattern, opened O_RDWR; yields (fd, data, path)."""
    data = pattern(10000, seed=3)
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDWR)
    yield fd, data, path
    try:
        os.close(fd)
    except OSError:
        pass


@pytest.fixture
def emptyfile(tmp_path):
    path = tmp_path / "empty.bin"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    yield fd, path
    try:
        os.close(fd)
    except OSError:
        pass


# ---- nop, SQE fields, CQ helpers ---------------------------------------------------------------

def test_nop_round_trips_user_data(ring):
    sqe = sqe_for(ring, 0xDEADBEEFCAFEF00D)
    L.io_uring_prep_nop(sqe)
    assert sqe.opcode == L.IORING_OP_NOP
    assert sqe.user_data == 0xDEADBEEFCAFEF00D
    assert L.io_uring_sq_ready(ring) == 1
    assert L.io_uring_submit(ring) == 1
    assert wait_one(ring) == (0xDEADBEEFCAFEF00D, 0, 0)
    assert L.io_uring_peek_cqe(ring) is None


def test_for_each_cqe_and_cq_advance(ring):
    for ud in (1, 2, 3):
        L.io_uring_prep_nop(sqe_for(ring, ud))
    assert L.io_uring_submit_and_wait(ring, 3) == 3
    assert L.io_uring_cq_ready(ring) == 3
    seen = [(c.user_data, c.res) for c in L.io_uring_for_each_cqe(ring)]
    assert sorted(seen) == [(1, 0), (2, 0), (3, 0)]
    assert L.io_uring_cq_ready(ring) == 3          # iterating does not consume
    L.io_uring_cq_advance(ring, 3)
    assert L.io_uring_cq_ready(ring) == 0
    assert L.io_uring_peek_cqe(ring) is None


def test_cqe_res_of_repeated_and_changing_values(ring, datafile):
    """cqe.res (whose int object is shared while the value repeats) is each completion's own,
    however the values alternate, and a CQE kept from before still reads its value."""
    fd, data, _ = datafile
    bufs = [bytearray(4096) for _ in range(6)]
    reads = [(4096, 0), (4096, 4096), (4096, 10000 - 100), (0, None), (4096, -2), (4096, 4096)]
    for ud, (n, off) in enumerate(reads):
        sqe = sqe_for(ring, ud)
        if off is None:
            L.io_uring_prep_nop(sqe)
        elif off == -2:
            L.io_uring_prep_read(sqe, 999_999, bufs[ud], n, 0)          # not an fd: -EBADF
        else:
            L.io_uring_prep_read(sqe, fd, bufs[ud], n, off)
    assert L.io_uring_submit_and_wait(ring, 6) == 6
    expected = {0: 4096, 1: 4096, 2: 100, 3: 0, 4: -errno.EBADF, 5: 4096}
    kept = list(L.io_uring_for_each_cqe(ring))
    assert {c.user_data: c.res for c in kept} == expected
    assert {L.io_uring_peek_batch_cqe(ring, 6)[i].user_data: c.res for i, c in enumerate(kept)} == expected
    L.io_uring_cq_advance(ring, 6)
    assert {c.user_data: c.res for c in kept} == expected     # copies: consumed or not
    assert bytes(bufs[2][:100]) == data[-100:]


def test_for_each_cqe_copies_read_their_own_completion_kept_or_not(ring):
    """io_uring_for_each_cqe refills a copy it made that nothing else holds any more: every CQE
    the loop sees reads its own user_data, res and attached data (a refilled copy carries
    nothing of the CQE it was before), and a copy kept by the loop's code (a variable, a list)
    is never refilled."""
    marks = {ud: object() for ud in (2, 5, 6, 9)}         # io_uring_sqe_set_data objects
    for ud in range(12):
        sqe = L.io_uring_get_sqe(ring)
        if ud % 4 == 3:
            L.io_uring_prep_read(sqe, 999_999, bytearray(8), 8, 0)     # not an fd: -EBADF
        else:
            L.io_uring_prep_nop(sqe)
        if ud in marks:
            L.io_uring_sqe_set_data(sqe, marks[ud])
        else:
            L.io_uring_sqe_set_data64(sqe, ud)
    assert L.io_uring_submit_and_wait(ring, 12) == 12

    def expected(ud):
        return -errno.EBADF if ud % 4 == 3 else 0

    for _ in range(2):                  # not consumed: the second pass sees them again
        kept, prev, seen = [], None, []
        for cqe in L.io_uring_for_each_cqe(ring):
            ud = id(marks[len(seen)]) if len(seen) in marks else len(seen)
            assert (cqe.user_data, cqe.res) == (ud, expected(len(seen)))
            data = L.io_uring_cqe_get_data(cqe)
            if len(seen) in marks:
                assert data is marks[len(seen)]
            else:
                assert data == (len(seen) or None)      # user_data 0 reads as NULL
            if prev is not None:        # the last copy, still held by prev: untouched
                assert prev[0].user_data == prev[1] and prev[0].res == expected(len(seen) - 1)
            prev = (cqe, ud)
            if len(seen) % 3 == 0:
                kept.append((cqe, ud, len(seen)))
            seen.append(ud)
        assert len(seen) == 12
        assert len({id(c) for c, _, _ in kept}) == len(kept)
        for c, ud, i in kept:
            assert (c.user_data, c.res, c.flags) == (ud, expected(i), 0)
            if i in marks:
                assert L.io_uring_cqe_get_data(c) is marks[i]
        del cqe, prev
    L.io_uring_cq_advance(ring, 12)
    assert [(c.user_data, c.res) for c, _, i in kept] == [(ud, expected(i)) for _, ud, i in kept]


def test_prep_read_encodes_the_sqe_zero_copy(ring, datafile):
    fd, _, _ = datafile
    buf = bytearray(512)
    sqe = sqe_for(ring, 9)
    L.io_uring_prep_read(sqe, fd, buf, 100, 4096)
    assert sqe.opcode == L.IORING_OP_READ
    assert sqe.fd == fd
    assert sqe.len == 100
    assert sqe.off == 4096
    assert sqe.addr == address_of(buf)          # the kernel gets the buffer itself, no copy
    assert sqe.user_data == 9
    L.io_uring_prep_read(sqe, fd, buf, 1, -1)
    assert sqe.off == U64_MAX                   # -1 is (__u64)-1
    view = memoryview(buf)[100:]
    L.io_uring_prep_read(sqe, fd, view, 8, 0)
    assert sqe.addr == address_of(buf) + 100
    L.io_uring_prep_nop(sqe)
    assert submit_and_reap(ring, 1) == {9: 0}


# ---- read --------------------------------------------------------------------------------------

def test_read_fills_the_buffer(ring, datafile):
    fd, data, _ = datafile
    buf = bytearray(4096)
    L.io_uring_prep_read(sqe_for(ring, 1), fd, buf, 4096, 0)
    assert submit_and_reap(ring, 1) == {1: 4096}
    assert bytes(buf) == data[:4096]


def test_read_at_offset(ring, datafile):
    fd, data, _ = datafile
    buf = bytearray(300)
    L.io_uring_prep_read(sqe_for(ring, 1), fd, buf, 300, 1234)
    assert submit_and_reap(ring, 1) == {1: 300}
    assert bytes(buf) == data[1234:1534]
    assert os.lseek(fd, 0, os.SEEK_CUR) == 0     # positioned read: file position untouched


def test_read_nbytes_smaller_than_buffer_leaves_the_rest(ring, datafile):
    fd, data, _ = datafile
    buf = bytearray(b"\xAA" * 64)
    L.io_uring_prep_read(sqe_for(ring, 1), fd, buf, 10, 0)
    assert submit_and_reap(ring, 1) == {1: 10}
    assert bytes(buf[:10]) == data[:10]
    assert bytes(buf[10:]) == b"\xAA" * 54


def test_read_into_memoryview_slice(ring, datafile):
    fd, data, _ = datafile
    buf = bytearray(b"\x55" * 64)
    view = memoryview(buf)[16:48]
    L.io_uring_prep_read(sqe_for(ring, 1), fd, view, 32, 100)
    assert submit_and_reap(ring, 1) == {1: 32}
    assert bytes(buf[16:48]) == data[100:132]
    assert bytes(buf[:16]) == b"\x55" * 16 and bytes(buf[48:]) == b"\x55" * 16


def test_read_into_array_and_mmap(ring, datafile):
    fd, data, _ = datafile
    arr = array.array("I", [0] * 64)             # 256 bytes
    mm = mmap.mmap(-1, 4096)
    L.io_uring_prep_read(sqe_for(ring, 1), fd, arr, 256, 0)
    L.io_uring_prep_read(sqe_for(ring, 2), fd, mm, 4096, 5000)
    assert submit_and_reap(ring, 2) == {1: 256, 2: 4096}
    assert arr.tobytes() == data[:256]
    assert mm[:] == data[5000:9096]
    mm.close()


def test_read_offset_minus_one_uses_and_advances_file_position(ring, datafile):
    fd, data, _ = datafile
    os.lseek(fd, 5, os.SEEK_SET)
    buf = bytearray(10)
    L.io_uring_prep_read(sqe_for(ring, 1), fd, buf, 10, -1)
    assert submit_and_reap(ring, 1) == {1: 10}
    assert bytes(buf) == data[5:15]
    assert os.lseek(fd, 0, os.SEEK_CUR) == 15
    L.io_uring_prep_read(sqe_for(ring, 2), fd, buf, 10, -1)
    assert submit_and_reap(ring, 1) == {2: 10}
    assert bytes(buf) == data[15:25]
    assert os.lseek(fd, 0, os.SEEK_CUR) == 25


def test_read_offset_minus_one_on_a_pipe(ring, pipe):
    r, w = pipe
    os.write(w, b"through the pipe")
    buf = bytearray(64)
    L.io_uring_prep_read(sqe_for(ring, 1), r, buf, 64, -1)
    assert submit_and_reap(ring, 1) == {1: 16}
    assert bytes(buf[:16]) == b"through the pipe"


def test_short_read_at_eof_is_reported_not_fixed(ring, datafile):
    fd, data, _ = datafile
    buf = bytearray(b"\xAA" * 4096)
    L.io_uring_prep_read(sqe_for(ring, 1), fd, buf, 4096, 9950)
    assert submit_and_reap(ring, 1) == {1: 50}
    assert bytes(buf[:50]) == data[9950:]
    assert bytes(buf[50:]) == b"\xAA" * (4096 - 50)


def test_read_past_eof_returns_zero(ring, datafile):
    fd, _, _ = datafile
    buf = bytearray(b"\xAA" * 16)
    L.io_uring_prep_read(sqe_for(ring, 1), fd, buf, 16, 2**40)
    assert submit_and_reap(ring, 1) == {1: 0}
    assert bytes(buf) == b"\xAA" * 16


def test_read_zero_bytes(ring, datafile):
    fd, _, _ = datafile
    buf = bytearray(b"\xAA" * 4)
    L.io_uring_prep_read(sqe_for(ring, 1), fd, buf, 0, 0)
    assert submit_and_reap(ring, 1) == {1: 0}
    assert bytes(buf) == b"\xAA" * 4


def test_read_errors_are_cqe_res_not_exceptions(ring, tmp_path, emptyfile):
    wfd = os.open(tmp_path / "w", os.O_WRONLY | os.O_CREAT, 0o600)
    dfd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    closed = os.open(tmp_path / "w", os.O_RDONLY)
    os.close(closed)
    try:
        buf = bytearray(16)
        L.io_uring_prep_read(sqe_for(ring, 1), closed, buf, 16, 0)
        L.io_uring_prep_read(sqe_for(ring, 2), wfd, buf, 16, 0)
        L.io_uring_prep_read(sqe_for(ring, 3), dfd, buf, 16, 0)
        L.io_uring_prep_read(sqe_for(ring, 4), -1, buf, 16, 0)
        assert submit_and_reap(ring, 4) == {
            1: -errno.EBADF,
            2: -errno.EBADF,
            3: -errno.EISDIR,
            4: -errno.EBADF,
        }
    finally:
        os.close(wfd)
        os.close(dfd)


# ---- write -------------------------------------------------------------------------------------

def test_write_puts_bytes_on_disk(ring, emptyfile):
    fd, path = emptyfile
    data = pattern(3000, seed=11)
    L.io_uring_prep_write(sqe_for(ring, 1), fd, data, len(data), 0)
    assert submit_and_reap(ring, 1) == {1: 3000}
    assert os.pread(fd, 4000, 0) == data
    assert os.fstat(fd).st_size == 3000
    assert path.read_bytes() == data


def test_write_at_offset_makes_a_hole(ring, emptyfile):
    fd, _ = emptyfile
    L.io_uring_prep_write(sqe_for(ring, 1), fd, b"tail", 4, 1 << 20)
    assert submit_and_reap(ring, 1) == {1: 4}
    assert os.fstat(fd).st_size == (1 << 20) + 4
    assert os.pread(fd, 8, (1 << 20) - 4) == b"\0\0\0\0tail"


def test_write_only_nbytes_of_the_buffer(ring, emptyfile):
    fd, _ = emptyfile
    L.io_uring_prep_write(sqe_for(ring, 1), fd, b"0123456789", 4, 0)
    assert submit_and_reap(ring, 1) == {1: 4}
    assert os.pread(fd, 100, 0) == b"0123"


def test_write_from_every_buffer_kind(ring, emptyfile):
    fd, _ = emptyfile
    arr = array.array("H", range(8))              # 16 bytes
    mm = mmap.mmap(-1, 4096)
    mm[:5] = b"mmap!"
    big = bytearray(b"abcdefghijklmnop")
    L.io_uring_prep_write(sqe_for(ring, 1), fd, b"bytes", 5, 0)
    L.io_uring_prep_write(sqe_for(ring, 2), fd, big, 4, 5)
    L.io_uring_prep_write(sqe_for(ring, 3), fd, memoryview(big)[10:], 6, 9)
    L.io_uring_prep_write(sqe_for(ring, 4), fd, arr, 16, 15)
    L.io_uring_prep_write(sqe_for(ring, 5), fd, mm, 5, 31)
    assert submit_and_reap(ring, 5) == {1: 5, 2: 4, 3: 6, 4: 16, 5: 5}
    assert os.pread(fd, 100, 0) == b"bytes" + b"abcd" + b"klmnop" + arr.tobytes() + b"mmap!"
    mm.close()


def test_write_offset_minus_one_appends_at_position(ring, emptyfile):
    fd, _ = emptyfile
    os.write(fd, b"head-")
    L.io_uring_prep_write(sqe_for(ring, 1), fd, b"one-", 4, -1)
    assert submit_and_reap(ring, 1) == {1: 4}
    assert os.lseek(fd, 0, os.SEEK_CUR) == 9
    L.io_uring_prep_write(sqe_for(ring, 2), fd, b"two", 3, -1)
    assert submit_and_reap(ring, 1) == {2: 3}
    assert os.lseek(fd, 0, os.SEEK_CUR) == 12
    assert os.pread(fd, 100, 0) == b"head-one-two"


def test_write_errors(ring, tmp_path):
    path = tmp_path / "ro"
    path.write_bytes(b"keep")
    rfd = os.open(path, os.O_RDONLY)
    try:
        L.io_uring_prep_write(sqe_for(ring, 1), rfd, b"xx", 2, 0)
        L.io_uring_prep_write(sqe_for(ring, 2), 987654, b"xx", 2, 0)
        assert submit_and_reap(ring, 2) == {1: -errno.EBADF, 2: -errno.EBADF}
        assert path.read_bytes() == b"keep"
    finally:
        os.close(rfd)


def test_write_to_pipe_then_read_back(ring, pipe):
    r, w = pipe
    L.io_uring_prep_write(sqe_for(ring, 1), w, b"ping", 4, -1)
    assert submit_and_reap(ring, 1) == {1: 4}
    assert os.read(r, 10) == b"ping"


# ---- readv / writev ----------------------------------------------------------------------------

def test_readv_scatters_across_buffer_kinds(ring, datafile):
    fd, data, _ = datafile
    a = bytearray(10)
    backing = bytearray(b"\xEE" * 30)
    b = memoryview(backing)[5:25]                 # 20 bytes inside a larger bytearray
    c = array.array("i", [0] * 4)                 # 16 bytes
    d = mmap.mmap(-1, 4096)
    L.io_uring_prep_readv(sqe_for(ring, 1), fd, [a, b, c, d], None, 100)
    assert submit_and_reap(ring, 1) == {1: 10 + 20 + 16 + 4096}
    src = data[100:]
    assert bytes(a) == src[:10]
    assert bytes(backing[5:25]) == src[10:30]
    assert bytes(backing[:5]) == b"\xEE" * 5 and bytes(backing[25:]) == b"\xEE" * 5
    assert c.tobytes() == src[30:46]
    assert d[:] == src[46:46 + 4096]
    d.close()


def test_readv_sqe_fields(ring, datafile):
    fd, _, _ = datafile
    bufs = [bytearray(8), bytearray(8), bytearray(8)]
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_readv(sqe, fd, bufs, 2, 64)
    assert sqe.opcode == L.IORING_OP_READV
    assert sqe.fd == fd
    assert sqe.len == 2                           # nr_vecs, not bytes
    assert sqe.off == 64
    assert sqe.rw_flags == 0
    assert submit_and_reap(ring, 1) == {1: 16}
    assert bufs[2] == bytearray(8)                # beyond nr_vecs: untouched


def test_readv_short_at_eof(ring, datafile):
    fd, data, _ = datafile
    bufs = [bytearray(b"\xAA" * 30), bytearray(b"\xAA" * 30), bytearray(b"\xAA" * 30)]
    L.io_uring_prep_readv(sqe_for(ring, 1), fd, bufs, offset=len(data) - 40)
    assert submit_and_reap(ring, 1) == {1: 40}
    assert bytes(bufs[0]) == data[-40:-10]
    assert bytes(bufs[1][:10]) == data[-10:]
    assert bytes(bufs[1][10:]) == b"\xAA" * 20
    assert bytes(bufs[2]) == b"\xAA" * 30


def test_readv_offset_minus_one_advances_position(ring, datafile):
    fd, data, _ = datafile
    os.lseek(fd, 1000, os.SEEK_SET)
    bufs = [bytearray(3), bytearray(7)]
    L.io_uring_prep_readv(sqe_for(ring, 1), fd, bufs, offset=-1)
    assert submit_and_reap(ring, 1) == {1: 10}
    assert bytes(bufs[0]) + bytes(bufs[1]) == data[1000:1010]
    assert os.lseek(fd, 0, os.SEEK_CUR) == 1010


def test_readv_accepts_a_tuple_and_a_generator(ring, datafile):
    fd, data, _ = datafile
    a, b = bytearray(4), bytearray(4)
    L.io_uring_prep_readv(sqe_for(ring, 1), fd, (a, b), None, 0)
    c, d = bytearray(4), bytearray(4)
    L.io_uring_prep_readv(sqe_for(ring, 2), fd, (x for x in (c, d)), None, 8)
    assert submit_and_reap(ring, 2) == {1: 8, 2: 8}
    assert bytes(a + b + c + d) == data[:16]


def test_readv2_rwf_nowait_on_empty_pipe_is_eagain(ring, pipe):
    r, w = pipe
    buf = bytearray(b"\xAA" * 8)
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_readv2(sqe, r, [buf], None, -1, L.RWF_NOWAIT)
    assert sqe.rw_flags == L.RWF_NOWAIT
    assert submit_and_reap(ring, 1) == {1: -errno.EAGAIN}
    assert bytes(buf) == b"\xAA" * 8
    os.write(w, b"now")
    L.io_uring_prep_readv2(sqe_for(ring, 2), r, [buf], None, -1, L.RWF_NOWAIT)
    assert submit_and_reap(ring, 1) == {2: 3}
    assert bytes(buf[:3]) == b"now"


def test_readv2_flags_zero_reads_like_readv(ring, datafile):
    fd, data, _ = datafile
    a, b = bytearray(5), bytearray(5)
    L.io_uring_prep_readv2(sqe_for(ring, 1), fd, [a, b], 2, 20, 0)
    assert submit_and_reap(ring, 1) == {1: 10}
    assert bytes(a + b) == data[20:30]


def test_writev_gathers_buffer_kinds(ring, emptyfile):
    fd, _ = emptyfile
    backing = bytearray(b"0123456789")
    arr = array.array("B", b"ARRAY")
    mm = mmap.mmap(-1, 4096)
    mm[:4] = b"MMAP"
    bufs = [b"bytes|", memoryview(backing)[2:6], arr, memoryview(mm)[:4], bytearray(b"|end")]
    L.io_uring_prep_writev(sqe_for(ring, 1), fd, bufs, None, 0)
    expect = b"bytes|2345ARRAYMMAP|end"
    assert submit_and_reap(ring, 1) == {1: len(expect)}
    assert os.pread(fd, 100, 0) == expect
    del bufs
    mm.close()


def test_writev_nr_vecs_and_offset(ring, emptyfile):
    fd, _ = emptyfile
    os.pwrite(fd, b"." * 10, 0)
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_writev(sqe, fd, [b"ab", b"cd", b"NOT"], 2, 3)
    assert sqe.opcode == L.IORING_OP_WRITEV and sqe.len == 2 and sqe.off == 3
    assert submit_and_reap(ring, 1) == {1: 4}
    assert os.pread(fd, 100, 0) == b"...abcd..."


def test_writev_offset_minus_one(ring, emptyfile):
    fd, _ = emptyfile
    os.write(fd, b"x")
    L.io_uring_prep_writev(sqe_for(ring, 1), fd, [b"yy", b"zzz"], offset=-1)
    assert submit_and_reap(ring, 1) == {1: 5}
    assert os.lseek(fd, 0, os.SEEK_CUR) == 6
    assert os.pread(fd, 100, 0) == b"xyyzzz"


def test_writev2_rwf_append_ignores_offset(ring, emptyfile):
    fd, _ = emptyfile
    os.pwrite(fd, b"start", 0)
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_writev2(sqe, fd, [b"+app", b"end"], None, 0, L.RWF_APPEND)
    assert sqe.rw_flags == L.RWF_APPEND
    assert submit_and_reap(ring, 1) == {1: 7}
    assert os.pread(fd, 100, 0) == b"start+append"


def test_writev2_rwf_dsync(ring, emptyfile):
    fd, _ = emptyfile
    L.io_uring_prep_writev2(sqe_for(ring, 1), fd, [b"durable"], None, 0, L.RWF_DSYNC)
    assert submit_and_reap(ring, 1) == {1: 7}
    assert os.pread(fd, 100, 0) == b"durable"


def test_readv_writev_errors_are_cqe_res(ring, tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"abc")
    rfd = os.open(path, os.O_RDONLY)
    try:
        L.io_uring_prep_writev(sqe_for(ring, 1), rfd, [b"zz"], offset=0)
        L.io_uring_prep_readv(sqe_for(ring, 2), 999999, [bytearray(2)], offset=0)
        assert submit_and_reap(ring, 2) == {1: -errno.EBADF, 2: -errno.EBADF}
        assert path.read_bytes() == b"abc"
    finally:
        os.close(rfd)


# ---- O_DIRECT ----------------------------------------------------------------------------------

def test_o_direct_write_and_read_with_aligned_buffers(ring, tmp_path):
    try:
        fd = os.open(tmp_path / "direct", os.O_RDWR | os.O_CREAT | os.O_DIRECT, 0o600)
    except OSError as exc:
        if exc.errno == errno.EINVAL:
            pytest.skip(f"filesystem refuses O_DIRECT: {exc}")
        raise
    try:
        out = mmap.mmap(-1, 8192)                 # page aligned
        out[:] = pattern(8192, seed=5)
        L.io_uring_prep_write(sqe_for(ring, 1), fd, out, 8192, 0)
        res = submit_and_reap(ring, 1)[1]
        if res == -errno.EINVAL:
            pytest.skip("O_DIRECT write refused with EINVAL by this filesystem")
        assert res == 8192
        back = mmap.mmap(-1, 4096)
        L.io_uring_prep_read(sqe_for(ring, 2), fd, back, 4096, 4096)
        assert submit_and_reap(ring, 1) == {2: 4096}
        assert back[:] == pattern(8192, seed=5)[4096:]
        out.close()
        back.close()
    finally:
        os.close(fd)
    with open(tmp_path / "direct", "rb") as f:
        assert f.read() == pattern(8192, seed=5)


# ---- fsync -------------------------------------------------------------------------------------

def test_fsync_and_fdatasync(ring, emptyfile):
    fd, _ = emptyfile
    os.write(fd, b"data")
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_fsync(sqe, fd)
    assert sqe.opcode == L.IORING_OP_FSYNC and sqe.fd == fd and sqe.rw_flags == 0
    sqe2 = sqe_for(ring, 2)
    L.io_uring_prep_fsync(sqe2, fd, L.IORING_FSYNC_DATASYNC)
    assert sqe2.rw_flags == L.IORING_FSYNC_DATASYNC          # fsync_flags shares the union
    assert submit_and_reap(ring, 2) == {1: 0, 2: 0}
    assert os.pread(fd, 10, 0) == b"data"


def test_fsync_bad_fd(ring):
    L.io_uring_prep_fsync(sqe_for(ring, 1), 876543)
    assert submit_and_reap(ring, 1) == {1: -errno.EBADF}


def test_fsync_invalid_flags_rejected_by_kernel(ring, emptyfile):
    fd, _ = emptyfile
    L.io_uring_prep_fsync(sqe_for(ring, 1), fd, 0x80)
    assert submit_and_reap(ring, 1) == {1: -errno.EINVAL}


# ---- links -------------------------------------------------------------------------------------

def test_link_chain_write_fsync_read_runs_in_order(ring, emptyfile):
    fd, _ = emptyfile
    data = pattern(2048, seed=9)
    buf = bytearray(2048)
    L.io_uring_prep_write(sqe_for(ring, 1, L.IOSQE_IO_LINK), fd, data, 2048, 0)
    L.io_uring_prep_fsync(sqe_for(ring, 2, L.IOSQE_IO_LINK), fd)
    L.io_uring_prep_read(sqe_for(ring, 3), fd, buf, 2048, 0)
    assert L.io_uring_submit(ring) == 3
    got = reap(ring, 3)
    assert [(ud, res) for ud, res, _ in got] == [(1, 2048), (2, 0), (3, 2048)]
    assert bytes(buf) == data
    assert os.pread(fd, 4096, 0) == data


def test_failed_link_head_cancels_the_rest(ring, emptyfile):
    fd, _ = emptyfile
    buf = bytearray(8)
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_read(sqe, 999999, buf, 8, 0)
    L.io_uring_sqe_set_flags(sqe, L.IOSQE_IO_LINK)
    assert sqe.flags == L.IOSQE_IO_LINK
    L.io_uring_prep_write(sqe_for(ring, 2, L.IOSQE_IO_LINK), fd, b"never", 5, 0)
    L.io_uring_prep_nop(sqe_for(ring, 3))
    assert submit_and_reap(ring, 3) == {1: -errno.EBADF, 2: -errno.ECANCELED, 3: -errno.ECANCELED}
    assert os.pread(fd, 100, 0) == b""
    assert os.fstat(fd).st_size == 0


def test_short_read_breaks_a_link(ring, datafile):
    fd, data, _ = datafile
    buf = bytearray(100)
    L.io_uring_prep_read(sqe_for(ring, 1, L.IOSQE_IO_LINK), fd, buf, 100, len(data) - 10)
    L.io_uring_prep_nop(sqe_for(ring, 2))
    assert submit_and_reap(ring, 2) == {1: 10, 2: -errno.ECANCELED}
    assert bytes(buf[:10]) == data[-10:]


def test_hardlink_continues_after_failure(ring, emptyfile):
    fd, _ = emptyfile
    L.io_uring_prep_read(sqe_for(ring, 1, L.IOSQE_IO_HARDLINK), 999999, bytearray(8), 8, 0)
    L.io_uring_prep_write(sqe_for(ring, 2, L.IOSQE_IO_HARDLINK), fd, b"still", 5, 0)
    L.io_uring_prep_fsync(sqe_for(ring, 3), fd)
    got = submit_and_reap(ring, 3)
    assert got == {1: -errno.EBADF, 2: 5, 3: 0}
    assert os.pread(fd, 100, 0) == b"still"


def test_sqe_flags_attribute_setter(ring):
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_nop(sqe)
    sqe.flags = L.IOSQE_IO_LINK | L.IOSQE_ASYNC
    assert sqe.flags == L.IOSQE_IO_LINK | L.IOSQE_ASYNC
    with pytest.raises(ValueError):
        sqe.flags = 0x100
    with pytest.raises(ValueError):
        L.io_uring_sqe_set_flags(sqe, 0x1FF)
    assert sqe.flags == L.IOSQE_IO_LINK | L.IOSQE_ASYNC
    sqe.flags = 0
    assert submit_and_reap(ring, 1) == {1: 0}


# ---- openat / openat2 / close ------------------------------------------------------------------

def _fd_is_open(fd):
    try:
        os.fstat(fd)
    except OSError as exc:
        assert exc.errno == errno.EBADF
        return False
    return True


def test_openat_creates_with_mode(ring, tmp_path, umask0):
    path = tmp_path / "created"
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_openat(sqe, L.AT_FDCWD, str(path), os.O_CREAT | os.O_WRONLY, 0o640)
    assert sqe.opcode == L.IORING_OP_OPENAT
    assert sqe.fd == L.AT_FDCWD
    assert sqe.len == 0o640
    fd = submit_and_reap(ring, 1)[1]
    assert fd >= 0
    try:
        st = os.fstat(fd)
        assert stat.S_ISREG(st.st_mode)
        assert st.st_mode & 0o777 == 0o640
        assert os.path.samestat(st, os.stat(path))
        assert os.write(fd, b"hello") == 5
        with pytest.raises(OSError) as exc:
            os.read(fd, 1)                        # O_WRONLY
        assert exc.value.errno == errno.EBADF
    finally:
        os.close(fd)
    assert path.read_bytes() == b"hello"


def test_openat_path_kinds(ring, datafile):
    _, data, path = datafile
    L.io_uring_prep_openat(sqe_for(ring, 1), L.AT_FDCWD, str(path), os.O_RDONLY)
    L.io_uring_prep_openat(sqe_for(ring, 2), L.AT_FDCWD, os.fsencode(path), os.O_RDONLY)
    L.io_uring_prep_openat(sqe_for(ring, 3), L.AT_FDCWD, pathlib.Path(path), os.O_RDONLY)
    got = submit_and_reap(ring, 3)
    fds = [got[1], got[2], got[3]]
    try:
        for fd in fds:
            assert fd >= 0
            assert os.pread(fd, 20, 0) == data[:20]
        assert len(set(fds)) == 3
    finally:
        for fd in fds:
            if fd >= 0:
                os.close(fd)


def test_openat_relative_to_dirfd(ring, tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "f").write_bytes(b"in sub")
    dfd = os.open(tmp_path / "sub", os.O_RDONLY | os.O_DIRECTORY)
    try:
        L.io_uring_prep_openat(sqe_for(ring, 1), dfd, "f", os.O_RDONLY)
        fd = submit_and_reap(ring, 1)[1]
        assert fd >= 0
        assert os.read(fd, 100) == b"in sub"
        os.close(fd)
    finally:
        os.close(dfd)


def test_openat_errors(ring, tmp_path):
    (tmp_path / "exists").write_bytes(b"")
    L.io_uring_prep_openat(sqe_for(ring, 1), L.AT_FDCWD, str(tmp_path / "missing"), os.O_RDONLY)
    L.io_uring_prep_openat(sqe_for(ring, 2), L.AT_FDCWD, str(tmp_path / "exists"),
                           os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    L.io_uring_prep_openat(sqe_for(ring, 3), L.AT_FDCWD, str(tmp_path / "exists" / "x"), os.O_RDONLY)
    L.io_uring_prep_openat(sqe_for(ring, 4), 999999, "relative", os.O_RDONLY)
    L.io_uring_prep_openat(sqe_for(ring, 5), L.AT_FDCWD, str(tmp_path), os.O_WRONLY)
    assert submit_and_reap(ring, 5) == {
        1: -errno.ENOENT,
        2: -errno.EEXIST,
        3: -errno.ENOTDIR,
        4: -errno.EBADF,
        5: -errno.EISDIR,
    }
    assert not (tmp_path / "missing").exists()


def test_openat_embedded_nul_raises_before_submit(ring, tmp_path):
    sqe = sqe_for(ring, 1)
    with pytest.raises(ValueError):
        L.io_uring_prep_openat(sqe, L.AT_FDCWD, str(tmp_path / "a\0b"), os.O_CREAT | os.O_WRONLY, 0o600)
    with pytest.raises(ValueError):
        L.io_uring_prep_openat(sqe, L.AT_FDCWD, b"x\0y", os.O_RDONLY)
    with pytest.raises(ValueError):
        L.io_uring_prep_openat2(sqe, L.AT_FDCWD, "x\0y", L.open_how(os.O_RDONLY))
    with pytest.raises(ValueError):
        L.io_uring_prep_statx(sqe, L.AT_FDCWD, b"x\0", 0, L.STATX_BASIC_STATS, L.statx())
    assert sqe.opcode == L.IORING_OP_NOP
    assert sqe.addr == 0 and sqe.len == 0
    assert submit_and_reap(ring, 1) == {1: 0}
    assert os.listdir(tmp_path) == []


def test_openat_bad_path_type(ring):
    sqe = sqe_for(ring, 1)
    for bad in (123, None, 4.5, [b"x"]):
        with pytest.raises(TypeError):
            L.io_uring_prep_openat(sqe, L.AT_FDCWD, bad, os.O_RDONLY)
    assert sqe.opcode == L.IORING_OP_NOP
    assert submit_and_reap(ring, 1) == {1: 0}


def test_openat_path_is_pinned_until_submitted(ring, tmp_path):
    (tmp_path / "pinned-path-file").write_bytes(b"pp")
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_openat(sqe, L.AT_FDCWD, "".join([str(tmp_path), "/pinned-path-file"]), os.O_RDONLY)
    gc.collect()
    junk = [str(tmp_path) + "/garbage-%d" % i for i in range(1000)]   # reuse freed memory
    fd = submit_and_reap(ring, 1)[1]
    del junk
    assert fd >= 0
    assert os.read(fd, 10) == b"pp"
    os.close(fd)


def test_openat2_creates_with_mode_and_how_fields(ring, tmp_path, umask0):
    how = L.open_how(os.O_CREAT | os.O_RDWR, 0o604, 0)
    assert (how.flags, how.mode, how.resolve) == (os.O_CREAT | os.O_RDWR, 0o604, 0)
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_openat2(sqe, L.AT_FDCWD, str(tmp_path / "o2"), how)
    assert sqe.opcode == L.IORING_OP_OPENAT2
    assert sqe.len == 24                          # sizeof(struct open_how)
    del how
    gc.collect()
    fd = submit_and_reap(ring, 1)[1]
    assert fd >= 0
    try:
        assert os.fstat(fd).st_mode & 0o777 == 0o604
        os.write(fd, b"rw")
        assert os.pread(fd, 2, 0) == b"rw"
    finally:
        os.close(fd)


def test_openat2_resolve_beneath(ring, tmp_path):
    (tmp_path / "x").write_bytes(b"outside")
    (tmp_path / "inner").mkdir()
    (tmp_path / "inner" / "ok").write_bytes(b"inside")
    dfd = os.open(tmp_path / "inner", os.O_RDONLY | os.O_DIRECTORY)
    try:
        how = L.open_how(os.O_RDONLY, 0, L.RESOLVE_BENEATH)
        L.io_uring_prep_openat2(sqe_for(ring, 1), dfd, "../x", how)
        L.io_uring_prep_openat2(sqe_for(ring, 2), dfd, str(tmp_path / "x"), how)
        L.io_uring_prep_openat2(sqe_for(ring, 3), dfd, b"ok", how)
        L.io_uring_prep_openat2(sqe_for(ring, 4), dfd, "../x", L.open_how(os.O_RDONLY))
        got = submit_and_reap(ring, 4)
        assert got[1] == -errno.EXDEV
        assert got[2] == -errno.EXDEV
        assert got[3] >= 0 and got[4] >= 0
        assert os.read(got[3], 100) == b"inside"
        assert os.read(got[4], 100) == b"outside"
        os.close(got[3])
        os.close(got[4])
    finally:
        os.close(dfd)


def test_openat2_invalid_how_is_einval(ring, tmp_path):
    # mode without O_CREAT is rejected by openat2 (unlike openat).
    L.io_uring_prep_openat2(sqe_for(ring, 1), L.AT_FDCWD, str(tmp_path / "nope"), L.open_how(os.O_RDONLY, 0o600))
    L.io_uring_prep_openat2(sqe_for(ring, 2), L.AT_FDCWD, str(tmp_path), L.open_how(os.O_RDONLY, 0, 1 << 40))
    assert submit_and_reap(ring, 2) == {1: -errno.EINVAL, 2: -errno.EINVAL}


def test_close_closes_the_fd(ring, datafile):
    _, _, path = datafile
    fd = os.open(path, os.O_RDONLY)
    assert _fd_is_open(fd)
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_close(sqe, fd)
    assert sqe.opcode == L.IORING_OP_CLOSE and sqe.fd == fd
    assert submit_and_reap(ring, 1) == {1: 0}
    assert not _fd_is_open(fd)


def test_close_bad_fd(ring):
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    L.io_uring_prep_close(sqe_for(ring, 1), r)
    assert submit_and_reap(ring, 1) == {1: -errno.EBADF}


def test_open_write_close_chain(ring, tmp_path, umask0):
    """openat then (after the fd is known) a linked write -> fsync -> close."""
    path = tmp_path / "chain"
    L.io_uring_prep_openat(sqe_for(ring, 1), L.AT_FDCWD, str(path), os.O_CREAT | os.O_RDWR | os.O_TRUNC, 0o600)
    fd = submit_and_reap(ring, 1)[1]
    assert fd >= 0
    L.io_uring_prep_write(sqe_for(ring, 2, L.IOSQE_IO_LINK), fd, b"chained", 7, 0)
    L.io_uring_prep_fsync(sqe_for(ring, 3, L.IOSQE_IO_LINK), fd)
    L.io_uring_prep_close(sqe_for(ring, 4), fd)
    assert submit_and_reap(ring, 3) == {2: 7, 3: 0, 4: 0}
    assert not _fd_is_open(fd)
    assert path.read_bytes() == b"chained"


# ---- statx -------------------------------------------------------------------------------------

def _assert_statx_matches(stx, st):
    assert stx.stx_mask & L.STATX_BASIC_STATS == L.STATX_BASIC_STATS
    assert stx.stx_mode == st.st_mode
    assert stx.stx_ino == st.st_ino
    assert stx.stx_size == st.st_size
    assert stx.stx_nlink == st.st_nlink
    assert stx.stx_uid == st.st_uid
    assert stx.stx_gid == st.st_gid
    assert stx.stx_blocks == st.st_blocks
    assert stx.stx_blksize == st.st_blksize
    assert os.makedev(stx.stx_dev_major, stx.stx_dev_minor) == st.st_dev
    assert stx.stx_mtime.tv_sec * 10**9 + stx.stx_mtime.tv_nsec == st.st_mtime_ns
    assert stx.stx_ctime.tv_sec * 10**9 + stx.stx_ctime.tv_nsec == st.st_ctime_ns
    assert stx.stx_atime.tv_sec * 10**9 + stx.stx_atime.tv_nsec == st.st_atime_ns


def test_statx_matches_os_stat(ring, datafile):
    _, _, path = datafile
    os.utime(path, ns=(1_600_000_000_123_456_789, 1_700_000_000_987_654_321))
    stx = L.statx()
    assert stx.stx_size == 0 and stx.stx_mask == 0
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_statx(sqe, L.AT_FDCWD, str(path), 0, L.STATX_BASIC_STATS, stx)
    assert sqe.opcode == L.IORING_OP_STATX and sqe.len == L.STATX_BASIC_STATS
    assert submit_and_reap(ring, 1) == {1: 0}
    st = os.stat(path)
    _assert_statx_matches(stx, st)
    assert stx.stx_size == 10000
    assert stx.stx_mtime.tv_sec == 1_700_000_000 and stx.stx_mtime.tv_nsec == 987_654_321


def test_statx_directory_and_bytes_path(ring, tmp_path):
    stx = L.statx()
    L.io_uring_prep_statx(sqe_for(ring, 1), L.AT_FDCWD, os.fsencode(tmp_path), 0, L.STATX_BASIC_STATS, stx)
    assert submit_and_reap(ring, 1) == {1: 0}
    assert stat.S_ISDIR(stx.stx_mode)
    _assert_statx_matches(stx, os.stat(tmp_path))


def test_statx_empty_path_on_fd(ring, datafile):
    fd, _, _ = datafile
    os.pwrite(fd, b"more", 10000)
    stx = L.statx()
    L.io_uring_prep_statx(sqe_for(ring, 1), fd, "", L.AT_EMPTY_PATH, L.STATX_BASIC_STATS, stx)
    assert submit_and_reap(ring, 1) == {1: 0}
    _assert_statx_matches(stx, os.fstat(fd))
    assert stx.stx_size == 10004


def test_statx_symlink_nofollow(ring, datafile, tmp_path):
    _, _, path = datafile
    link = tmp_path / "link"
    os.symlink(path, link)
    follow, nofollow = L.statx(), L.statx()
    L.io_uring_prep_statx(sqe_for(ring, 1), L.AT_FDCWD, str(link), 0, L.STATX_BASIC_STATS, follow)
    L.io_uring_prep_statx(sqe_for(ring, 2), L.AT_FDCWD, str(link), L.AT_SYMLINK_NOFOLLOW,
                          L.STATX_BASIC_STATS, nofollow)
    assert submit_and_reap(ring, 2) == {1: 0, 2: 0}
    assert stat.S_ISREG(follow.stx_mode)
    assert stat.S_ISLNK(nofollow.stx_mode)
    _assert_statx_matches(nofollow, os.lstat(link))
    _assert_statx_matches(follow, os.stat(link))


def test_statx_missing_leaves_struct_untouched(ring, tmp_path):
    stx = L.statx()
    L.io_uring_prep_statx(sqe_for(ring, 1), L.AT_FDCWD, str(tmp_path / "nope"), 0, L.STATX_BASIC_STATS, stx)
    L.io_uring_prep_statx(sqe_for(ring, 2), L.AT_FDCWD, "", 0, L.STATX_BASIC_STATS, L.statx())
    assert submit_and_reap(ring, 2) == {1: -errno.ENOENT, 2: -errno.ENOENT}
    assert stx.stx_mask == 0 and stx.stx_ino == 0 and stx.stx_size == 0


def test_statx_buffer_is_pinned_until_completion(ring, datafile):
    _, _, path = datafile
    holder = []

    def prep():
        stx = L.statx()
        holder.append(id(stx))
        L.io_uring_prep_statx(sqe_for(ring, 1), L.AT_FDCWD, str(path), 0, L.STATX_BASIC_STATS, stx)
        return None                                 # drop our only reference

    prep()
    gc.collect()
    junk = [L.statx() for _ in range(100)]          # would reuse freed statx memory
    assert submit_and_reap(ring, 1) == {1: 0}
    assert all(j.stx_mask == 0 for j in junk)       # the kernel wrote the pinned one, not these


def test_statx_requires_statx_object(ring, datafile):
    _, _, path = datafile
    sqe = sqe_for(ring, 1)
    with pytest.raises(TypeError):
        L.io_uring_prep_statx(sqe, L.AT_FDCWD, str(path), 0, L.STATX_BASIC_STATS, bytearray(256))
    with pytest.raises(TypeError):
        L.io_uring_prep_statx(sqe, L.AT_FDCWD, str(path), 0, L.STATX_BASIC_STATS, None)
    assert sqe.opcode == L.IORING_OP_NOP
    assert submit_and_reap(ring, 1) == {1: 0}


# ---- pinning -----------------------------------------------------------------------------------

def test_read_buffer_pinned_until_cqe_seen(ring, pipe):
    r, w = pipe
    buf = bytearray(16)
    L.io_uring_prep_read(sqe_for(ring, 1), r, buf, 16, -1)
    with pytest.raises(BufferError):
        buf.extend(b"x")                         # pinned by the prepared SQE
    assert L.io_uring_submit(ring) == 1
    assert_no_completion(ring)
    with pytest.raises(BufferError):
        buf.extend(b"x")                         # pinned while in flight
    os.write(w, b"abc")
    cqe = L.io_uring_wait_cqe_timeout(ring, L.kernel_timespec(5, 0))
    assert cqe is not None and cqe.res == 3
    with pytest.raises(BufferError):
        buf.extend(b"x")                         # still pinned: the CQE is not consumed yet
    L.io_uring_cqe_seen(ring, cqe)
    buf.extend(b"x")                             # released
    assert bytes(buf[:3]) == b"abc" and len(buf) == 17


def test_reprep_releases_previous_pin(ring):
    buf = bytearray(8)
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_write(sqe, 1, buf, 8, 0)
    with pytest.raises(BufferError):
        buf.append(0)
    L.io_uring_prep_nop(sqe)
    buf.append(0)
    assert submit_and_reap(ring, 1) == {1: 0}


def test_iovec_buffers_pinned_until_cqe_seen(ring, datafile):
    fd, data, _ = datafile
    a, b = bytearray(4), bytearray(4)
    L.io_uring_prep_readv(sqe_for(ring, 1), fd, [a, b], None, 0)
    L.io_uring_submit(ring)
    cqe = L.io_uring_wait_cqe_timeout(ring, L.kernel_timespec(5, 0))
    assert cqe is not None and cqe.res == 8
    for x in (a, b):
        with pytest.raises(BufferError):
            x.append(0)
    L.io_uring_cqe_seen(ring, cqe)
    a.append(0)
    b.append(0)
    assert bytes(a[:4] + b[:4]) == data[:8]


# ---- bad input: rejected before the kernel sees anything ----------------------------------------

def _check_untouched(sqe, opcode=L.IORING_OP_NOP, fd=0, addr=0, length=0, off=0):
    assert sqe.opcode == opcode
    assert sqe.fd == fd
    assert sqe.addr == addr
    assert sqe.len == length
    assert sqe.off == off


def test_bad_read_arguments_leave_fresh_sqe_a_nop(ring, datafile):
    fd, _, _ = datafile
    sqe = sqe_for(ring, 1)
    buf = bytearray(16)
    cases = [
        (TypeError, (fd, b"read-only", 4, 0)),            # bytes cannot be written into
        (TypeError, (fd, memoryview(b"ro"), 2, 0)),
        (TypeError, (fd, "a str", 4, 0)),                  # not a buffer
        (TypeError, (fd, 12345, 4, 0)),
        (TypeError, (fd, [0] * 16, 4, 0)),
        (ValueError, (fd, None, -1, 0)),                   # None (buffer select): nbytes checked
        (ValueError, (fd, buf, 17, 0)),                    # nbytes larger than the buffer
        (ValueError, (fd, buf, -1, 0)),                    # negative nbytes
        (ValueError, (fd, buf, 4, -2)),                    # offset below -1
        (OverflowError, (fd, buf, 4, 2**64)),
        (OverflowError, (fd, buf, 2**63, 0)),
        (TypeError, (fd, buf, "4", 0)),
        (TypeError, (fd, buf, 4, "0")),
        (TypeError, (fd, buf, 4, None)),
        (TypeError, ("fd", buf, 4, 0)),
        (OverflowError, (2**31, buf, 4, 0)),
    ]
    for exc, args in cases:
        with pytest.raises(exc):
            L.io_uring_prep_read(sqe, *args)
        assert sqe.opcode == L.IORING_OP_NOP, args
    # A fresh SQE is zeroed: it stays so.
    assert sqe.opcode == L.IORING_OP_NOP and sqe.addr == 0 and sqe.len == 0 and sqe.off == 0
    buf.extend(b"resizable: no pin leaked by the failures")
    assert submit_and_reap(ring, 1) == {1: 0}


@pytest.mark.parametrize("args", [
    pytest.param(("fd", 4.5, 0), id="nbytes=4.5"),
    pytest.param(("fd", 4, 1.5), id="offset=1.5"),
    pytest.param(("fd", 4, -1.0), id="offset=-1.0"),
    pytest.param((3.7, 4, 0), id="fd=3.7"),
])
def test_float_integer_arguments_are_rejected(ring, datafile, args):
    """A float where C takes an integer is a TypeError (as os.pread says), never truncated."""
    fd, _, _ = datafile
    fd_arg, nbytes, offset = args
    if fd_arg == "fd":
        fd_arg = fd
    sqe = sqe_for(ring, 1)
    buf = bytearray(16)
    with pytest.raises(TypeError):
        L.io_uring_prep_read(sqe, fd_arg, buf, nbytes, offset)
    with pytest.raises(TypeError):
        L.io_uring_prep_write(sqe, fd_arg, b"x" * 16, nbytes, offset)
    _check_untouched(sqe)
    buf.append(0)
    assert submit_and_reap(ring, 1) == {1: 0}


def test_bad_prep_keeps_previous_prep(ring, datafile):
    fd, data, _ = datafile
    good = bytearray(8)
    sqe = sqe_for(ring, 7)
    L.io_uring_prep_read(sqe, fd, good, 8, 16)
    before = (sqe.opcode, sqe.fd, sqe.addr, sqe.len, sqe.off)
    small = bytearray(4)
    with pytest.raises(ValueError):
        L.io_uring_prep_read(sqe, fd, small, 8, 0)
    with pytest.raises(TypeError):
        L.io_uring_prep_read(sqe, fd, b"ro", 2, 0)
    with pytest.raises(ValueError):
        L.io_uring_prep_write(sqe, fd, small, 4, -5)
    with pytest.raises(ValueError):
        L.io_uring_prep_readv(sqe, fd, [small], 2, 0)
    with pytest.raises(TypeError):
        L.io_uring_prep_readv(sqe, fd, [small, b"ro"], None, 0)
    with pytest.raises(ValueError):
        L.io_uring_prep_openat(sqe, L.AT_FDCWD, "a\0", os.O_RDONLY)
    assert (sqe.opcode, sqe.fd, sqe.addr, sqe.len, sqe.off) == before
    small.append(1)                               # the failed preps pinned nothing
    with pytest.raises(BufferError):
        good.append(1)                            # ... and kept the good prep's pin
    assert submit_and_reap(ring, 1) == {7: 8}
    assert bytes(good) == data[16:24]


def test_read_none_buffer_without_buffer_select_is_efault(ring, datafile):
    """buf None is C's NULL (for IOSQE_BUFFER_SELECT); without a provided-buffer group the
    kernel refuses it with -EFAULT and writes nowhere."""
    fd, _, _ = datafile
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_read(sqe, fd, None, 16, 0)
    assert sqe.addr == 0 and sqe.len == 16
    assert submit_and_reap(ring, 1) == {1: -errno.EFAULT}


def test_bad_write_arguments(ring, emptyfile):
    fd, _ = emptyfile
    sqe = sqe_for(ring, 1)
    for exc, args in [
        (ValueError, (fd, b"abc", 4, 0)),
        (ValueError, (fd, b"abc", -1, 0)),
        (ValueError, (fd, b"abc", 3, -7)),
        (TypeError, (fd, "text", 4, 0)),
        (TypeError, (fd, object(), 1, 0)),
        (TypeError, (fd, None, 1, 0)),                     # write has no buffer select
        (OverflowError, (fd, b"abc", 3, 2**64)),
    ]:
        with pytest.raises(exc):
            L.io_uring_prep_write(sqe, *args)
    _check_untouched(sqe)
    assert submit_and_reap(ring, 1) == {1: 0}
    assert os.fstat(fd).st_size == 0


def test_write_accepts_offset_max(ring, emptyfile):
    """2**64-2 is a valid u64 offset (beyond what the fs allows: the kernel says so)."""
    fd, _ = emptyfile
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_write(sqe, fd, b"x", 1, 2**64 - 2)
    assert sqe.off == 2**64 - 2
    res = submit_and_reap(ring, 1)[1]
    assert res in (-errno.EINVAL, -errno.EFBIG)
    assert os.fstat(fd).st_size == 0


def test_bad_iovec_arguments(ring, datafile):
    fd, _, _ = datafile
    sqe = sqe_for(ring, 1)
    a = bytearray(4)
    noncontig = memoryview(bytearray(8))[::2]
    cases = [
        (L.io_uring_prep_readv, ValueError, (fd, [], None, 0)),              # no iovec
        (L.io_uring_prep_readv, ValueError, (fd, [a], 2, 0)),                # nr_vecs > len
        (L.io_uring_prep_readv, ValueError, (fd, [a], -1, 0)),
        (L.io_uring_prep_readv, TypeError, (fd, [a, b"ro"], None, 0)),       # read-only in readv
        (L.io_uring_prep_readv, TypeError, (fd, [a, 5], None, 0)),
        (L.io_uring_prep_readv, TypeError, (fd, 5, None, 0)),                # not a sequence
        (L.io_uring_prep_readv, ValueError, (fd, [a], None, -3)),
        (L.io_uring_prep_readv, ValueError, (fd, [noncontig], None, 0)),     # not contiguous
        (L.io_uring_prep_writev, ValueError, (fd, [], None, 0)),
        (L.io_uring_prep_writev, TypeError, (fd, ["str"], None, 0)),
        (L.io_uring_prep_writev, ValueError, (fd, [b"x"], 5, 0)),
    ]
    for fn, exc, args in cases:
        with pytest.raises(exc):
            fn(sqe, *args)
        _check_untouched(sqe)
    with pytest.raises(ValueError):
        L.io_uring_prep_readv2(sqe, fd, [a], 3, 0, 0)
    with pytest.raises(TypeError):
        L.io_uring_prep_writev2(sqe, fd, [a], None, 0, "flags")
    _check_untouched(sqe)
    a.append(0)
    assert submit_and_reap(ring, 1) == {1: 0}


def test_noncontiguous_buffer_rejected(ring, datafile):
    fd, _, _ = datafile
    sqe = sqe_for(ring, 1)
    backing = bytearray(16)
    with pytest.raises((ValueError, TypeError)):
        L.io_uring_prep_read(sqe, fd, memoryview(backing)[::2], 8, 0)
    with pytest.raises((ValueError, TypeError)):
        L.io_uring_prep_write(sqe, fd, memoryview(bytes(16))[::2], 8, 0)
    _check_untouched(sqe)
    backing.append(0)
    assert submit_and_reap(ring, 1) == {1: 0}


def test_multidimensional_and_typed_buffers_use_byte_length(ring, datafile):
    fd, data, _ = datafile
    arr = array.array("d", [0.0] * 4)             # 32 bytes, 4 items
    with pytest.raises(ValueError):
        L.io_uring_prep_read(sqe_for(ring, 1), fd, arr, 33, 0)
    L.io_uring_prep_read(L.io_uring_get_sqe(ring), fd, arr, 32, 0)
    # first SQE (failed prep) is a NOP with user_data 1, the second has user_data 0
    got = submit_and_reap(ring, 2)
    assert got == {1: 0, 0: 32}
    assert arr.tobytes() == data[:32]


def test_stale_sqe_raises(ring, datafile):
    fd, _, _ = datafile
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_nop(sqe)
    assert submit_and_reap(ring, 1) == {1: 0}
    buf = bytearray(8)
    with pytest.raises(ValueError):
        L.io_uring_prep_read(sqe, fd, buf, 8, 0)
    with pytest.raises(ValueError):
        sqe.opcode
    with pytest.raises(ValueError):
        L.io_uring_sqe_set_data64(sqe, 5)
    with pytest.raises(ValueError):
        L.io_uring_sqe_set_flags(sqe, L.IOSQE_IO_LINK)
    with pytest.raises(ValueError):
        L.io_uring_prep_nop(sqe)
    buf.append(0)                                 # nothing pinned by the failed prep
    assert L.io_uring_sq_ready(ring) == 0


def test_sqe_of_closed_ring_raises(datafile):
    fd, _, _ = datafile
    r = L.io_uring()
    L.io_uring_queue_init(4, r)
    sqe = L.io_uring_get_sqe(r)
    L.io_uring_queue_exit(r)
    buf = bytearray(8)
    with pytest.raises(ValueError):
        L.io_uring_prep_read(sqe, fd, buf, 8, 0)
    with pytest.raises(ValueError):
        L.io_uring_get_sqe(r)
    buf.append(0)


def test_many_reads_in_one_submit(ring, datafile):
    fd, data, _ = datafile
    bufs = [bytearray(100) for _ in range(30)]
    for i, b in enumerate(bufs):
        L.io_uring_prep_read(sqe_for(ring, i), fd, b, 100, i * 300)
    assert L.io_uring_sq_ready(ring) == 30
    got = submit_and_reap(ring, 30)
    assert got == {i: 100 for i in range(30)}
    for i, b in enumerate(bufs):
        assert bytes(b) == data[i * 300:i * 300 + 100]


def test_cq_advance_releases_pins(ring, datafile):
    fd, data, _ = datafile
    a, b = bytearray(8), bytearray(8)
    L.io_uring_prep_read(sqe_for(ring, 1), fd, a, 8, 0)
    L.io_uring_prep_read(sqe_for(ring, 2), fd, b, 8, 8)
    assert L.io_uring_submit_and_wait(ring, 2) == 2
    got = {c.user_data: c.res for c in L.io_uring_for_each_cqe(ring)}
    assert got == {1: 8, 2: 8}
    for x in (a, b):
        with pytest.raises(BufferError):
            x.append(0)
    L.io_uring_cq_advance(ring, 2)
    a.append(0)
    b.append(0)
    assert bytes(a[:8] + b[:8]) == data[:16]


def test_wait_cqe_returns_ready_completion(ring, datafile):
    fd, data, _ = datafile
    buf = bytearray(4)
    L.io_uring_prep_read(sqe_for(ring, 3), fd, buf, 4, 0)
    assert L.io_uring_submit_and_wait(ring, 1) == 1
    cqe = L.io_uring_wait_cqe(ring)                 # a completion is ready: cannot block
    assert (cqe.user_data, cqe.res) == (3, 4)
    assert L.io_uring_peek_cqe(ring).user_data == 3   # still at the head until seen
    L.io_uring_cqe_seen(ring, cqe)
    with pytest.raises(ValueError):
        L.io_uring_cqe_seen(ring, cqe)              # already seen
    assert bytes(buf) == data[:4]


def test_mmap_cannot_be_closed_while_pinned(ring, pipe):
    r, w = pipe
    mm = mmap.mmap(-1, 4096)
    L.io_uring_prep_read(sqe_for(ring, 1), r, mm, 4096, -1)
    L.io_uring_submit(ring)
    assert_no_completion(ring)
    with pytest.raises(BufferError):
        mm.close()                                   # the kernel may still write into it
    os.write(w, b"into the mapping")
    assert wait_one(ring)[:2] == (1, 16)
    assert mm[:16] == b"into the mapping"
    mm.close()


def test_array_cannot_grow_while_pinned(ring, pipe):
    r, w = pipe
    arr = array.array("b", [0] * 8)
    L.io_uring_prep_readv(sqe_for(ring, 1), r, [arr], None, -1)
    L.io_uring_submit(ring)
    assert_no_completion(ring)
    with pytest.raises(BufferError):
        arr.extend([1] * 1000)
    os.write(w, b"12345678")
    assert wait_one(ring)[:2] == (1, 8)
    assert arr.tobytes() == b"12345678"
    arr.extend([1] * 1000)


def test_statx_mnt_id_matches_proc(ring, datafile):
    """A field past the timestamps: checks the struct statx layout against /proc."""
    fd, _, _ = datafile
    with open(f"/proc/self/fdinfo/{fd}") as f:
        fields = dict(line.split(":", 1) for line in f if ":" in line)
    mnt_id = int(fields["mnt_id"])
    stx = L.statx()
    L.io_uring_prep_statx(sqe_for(ring, 1), fd, "", L.AT_EMPTY_PATH, L.STATX_BASIC_STATS | L.STATX_MNT_ID, stx)
    assert submit_and_reap(ring, 1) == {1: 0}
    assert stx.stx_mask & L.STATX_MNT_ID
    assert stx.stx_mnt_id == mnt_id
    _assert_statx_matches(stx, os.fstat(fd))


def test_read_into_read_only_mmap_raises(ring, datafile):
    fd, _, _ = datafile
    ro = mmap.mmap(-1, 4096, access=mmap.ACCESS_READ)
    sqe = sqe_for(ring, 1)
    with pytest.raises(TypeError):
        L.io_uring_prep_read(sqe, fd, ro, 16, 0)
    with pytest.raises(TypeError):
        L.io_uring_prep_readv(sqe, fd, [bytearray(4), ro], None, 0)
    _check_untouched(sqe)
    ro.close()                                    # not pinned
    L.io_uring_prep_write(sqe, fd, mmap.mmap(-1, 16), 16, 20000)   # a read-only use is fine
    assert submit_and_reap(ring, 1) == {1: 16}


def test_writev_list_mutated_after_prep(ring, emptyfile):
    """The iovec array and its buffers belong to the SQE once prepared: mutating or dropping
    the Python list changes nothing the kernel sees."""
    fd, _ = emptyfile
    bufs = [bytearray(b"first-"), bytearray(b"second-"), bytearray(b"third")]
    L.io_uring_prep_writev(sqe_for(ring, 1), fd, bufs, None, 0)
    bufs.clear()
    del bufs
    gc.collect()
    junk = [bytearray(b"X" * 7) for _ in range(1000)]
    assert submit_and_reap(ring, 1) == {1: 18}
    assert os.pread(fd, 100, 0) == b"first-second-third"
    del junk


def test_write_buffer_dropped_after_prep(ring, emptyfile):
    fd, _ = emptyfile

    def prep():
        data = bytearray(b"kept alive by the SQE")
        L.io_uring_prep_write(sqe_for(ring, 1), fd, data, len(data), 0)

    prep()
    gc.collect()
    junk = [bytearray(b"Z" * 21) for _ in range(1000)]
    assert submit_and_reap(ring, 1) == {1: 21}
    assert os.pread(fd, 100, 0) == b"kept alive by the SQE"
    del junk


def test_readv_more_than_iov_max_is_kernel_einval(ring, datafile):
    fd, _, _ = datafile
    bufs = [bytearray(1) for _ in range(1025)]      # IOV_MAX is 1024
    L.io_uring_prep_readv(sqe_for(ring, 1), fd, bufs, None, 0)
    assert submit_and_reap(ring, 1) == {1: -errno.EINVAL}
    assert all(b == bytearray(1) for b in bufs)
    L.io_uring_prep_readv(sqe_for(ring, 2), fd, bufs, 1024, 0)
    assert submit_and_reap(ring, 1) == {2: 1024}


def test_get_sqe_returns_none_when_sq_is_full(datafile):
    fd, data, _ = datafile
    r = L.io_uring()
    L.io_uring_queue_init(4, r)
    try:
        bufs = [bytearray(4) for _ in range(4)]
        for i, b in enumerate(bufs):
            sqe = L.io_uring_get_sqe(r)
            assert sqe is not None
            L.io_uring_prep_read(sqe, fd, b, 4, i * 4)
            L.io_uring_sqe_set_data64(sqe, i)
        assert L.io_uring_get_sqe(r) is None
        assert L.io_uring_sq_space_left(r) == 0
        assert L.io_uring_submit(r) == 4
        extra = L.io_uring_get_sqe(r)                  # room again
        assert extra is not None
        assert extra.opcode == L.IORING_OP_NOP and extra.user_data == 0   # handed out zeroed
        L.io_uring_prep_nop(extra)
        L.io_uring_sqe_set_data64(extra, 100)
        got = submit_and_reap(r, 5)
        assert got == {0: 4, 1: 4, 2: 4, 3: 4, 100: 0}
        assert b"".join(bytes(b) for b in bufs) == data[:16]
    finally:
        L.io_uring_queue_exit(r)
