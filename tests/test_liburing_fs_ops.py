"""ioring.liburing, fs group: files, paths, xattrs, direct descriptors, pipes, splice, advice,
poll/epoll, waitid and futexes, each checked against what the kernel did (the disk, the fd
table, another fd, the futex word...), plus the argument checks that must stop bad input
before the SQE is touched. Opcodes the kernel lacks are skipped with the probe's answer.
"""
import array
import errno
import fcntl
import mmap
import os
import pathlib
import select
import signal
import stat
import struct

import pytest

from ioring import liburing as L
from helpers import address_of, assert_no_completion, sqe_for, submit_and_reap, wait_one  # noqa: E402

U64_MAX = 2**64 - 1
PROBE = L.io_uring_get_probe()
FUTEX_FLAGS = L.FUTEX2_SIZE_U32 | L.FUTEX2_PRIVATE


# ---- helpers -----------------------------------------------------------------------------------

def require_op(name):
    op = getattr(L, name)
    if not L.io_uring_opcode_supported(PROBE, op):
        pytest.skip(f"{name} ({op}) is not supported by this kernel: probe last_op={PROBE.last_op}")


def run(ring, prep, *args, user_data=1, sqe_flags=None):
    """Prepare one SQE with ``prep(sqe, *args)``, submit it and return its cqe.res."""
    sqe = sqe_for(ring, user_data, sqe_flags)
    prep(sqe, *args)
    return submit_and_reap(ring)[user_data]


def read_fixed_file(ring, slot, nbytes=64, offset=0):
    """Read through registered file ``slot``; returns (res, bytes)."""
    buf = bytearray(nbytes)
    res = run(ring, L.io_uring_prep_read, slot, buf, nbytes, offset, sqe_flags=L.IOSQE_FIXED_FILE)
    return res, bytes(buf[:max(res, 0)])


# ---- fixtures ----------------------------------------------------------------------------------

@pytest.fixture
def datafile(tmp_path):
    p = tmp_path / "data.bin"
    p.write_bytes(b"0123456789abcdefghij")
    return p


@pytest.fixture
def rwfile(tmp_path):
    fd = os.open(tmp_path / "rw.bin", os.O_RDWR | os.O_CREAT, 0o644)
    yield fd
    os.close(fd)


@pytest.fixture
def dirfd(tmp_path):
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    yield fd
    os.close(fd)


@pytest.fixture
def umask0():
    old = os.umask(0)
    yield
    os.umask(old)


@pytest.fixture
def sparse_ring(ring):
    """The ring with a registered file table of 4 empty slots."""
    L.io_uring_register_files(ring, [-1] * 4)
    return ring


@pytest.fixture
def xattr_path(tmp_path):
    p = tmp_path / "xattr.bin"
    p.write_bytes(b"x")
    try:
        os.setxattr(p, "user.probe", b"1")
        os.removexattr(p, "user.probe")
    except OSError as exc:
        pytest.skip(f"{tmp_path} has no user xattrs: {exc}")
    return p


# ---- io_uring_prep_rw (generic) ----------------------------------------------------------------

def test_rw_nop_with_null_addr(ring):
    sqe = sqe_for(ring, 7)
    L.io_uring_prep_rw(L.IORING_OP_NOP, sqe, -1, None, 0, 0)
    assert (sqe.opcode, sqe.fd, sqe.addr, sqe.len, sqe.off) == (L.IORING_OP_NOP, -1, 0, 0, 0)
    assert sqe.user_data == 7
    assert submit_and_reap(ring) == {7: 0}


def test_rw_write_and_read_through_buffers(ring, rwfile):
    data = b"generic prep"
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_rw(L.IORING_OP_WRITE, sqe, rwfile, data, len(data), 3)
    assert (sqe.opcode, sqe.fd, sqe.len, sqe.off) == (L.IORING_OP_WRITE, rwfile, len(data), 3)
    assert submit_and_reap(ring) == {1: len(data)}
    assert os.pread(rwfile, 64, 0) == b"\0\0\0" + data

    buf = bytearray(16)
    sqe = sqe_for(ring, 2)
    L.io_uring_prep_rw(L.IORING_OP_READ, sqe, rwfile, buf, 5, 3)
    assert sqe.addr == address_of(buf)
    assert submit_and_reap(ring) == {2: 5}
    assert bytes(buf[:5]) == b"gener" and buf[5:] == bytearray(11)


def test_rw_offset_minus_one_is_u64_max(ring, pipe):
    r, w = pipe
    os.write(w, b"abc")
    buf = bytearray(3)
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_rw(L.IORING_OP_READ, sqe, r, buf, 3, -1)
    assert sqe.off == U64_MAX
    assert submit_and_reap(ring) == {1: 3}
    assert buf == b"abc"


def test_rw_raw_timeout_from_packed_struct(ring):
    ts = struct.pack("qq", 0, 10_000_000)       # struct __kernel_timespec
    assert run(ring, lambda s: L.io_uring_prep_rw(L.IORING_OP_TIMEOUT, s, -1, ts, 1, 0)) == -errno.ETIME


def test_rw_pins_buffer_until_completion_seen(ring, pipe):
    r, w = pipe
    buf = bytearray(8)
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_rw(L.IORING_OP_READ, sqe, r, buf, 8, -1)
    L.io_uring_submit(ring)
    with pytest.raises(BufferError):
        buf.extend(b"x")                        # exported to the kernel: cannot move
    os.write(w, b"12345678")
    assert wait_one(ring)[:2] == (1, 8)
    buf.extend(b"x")                            # released once the CQE is seen
    assert buf == b"12345678x"


@pytest.mark.parametrize("op, addr, length, exc", [
    (L.IORING_OP_READ, b"read-only", 4, TypeError),
    (L.IORING_OP_RECV, b"read-only", 4, TypeError),
    (L.IORING_OP_READ, bytearray(4), 5, ValueError),
    (L.IORING_OP_WRITE, b"abc", 4, ValueError),
    (L.IORING_OP_EPOLL_WAIT, bytearray(12), 2, ValueError),
    (L.IORING_OP_PIPE, bytearray(4), 0, ValueError),
    (L.IORING_OP_FILES_UPDATE, bytearray(4), 2, ValueError),
    (L.IORING_OP_EPOLL_CTL, bytearray(8), 1, ValueError),
    (L.IORING_OP_TIMEOUT, b"short", 1, ValueError),
    (L.IORING_OP_PROVIDE_BUFFERS, bytearray(64), 64, ValueError),
    (256, None, 0, ValueError),
    (-1, None, 0, ValueError),
    (L.IORING_OP_NOP, 12345, 0, TypeError),
    (L.IORING_OP_NOP, "text", 0, TypeError),
])
def test_rw_bad_arguments_leave_fresh_sqe_a_nop(ring, op, addr, length, exc):
    sqe = L.io_uring_get_sqe(ring)
    with pytest.raises(exc):
        L.io_uring_prep_rw(op, sqe, 0, addr, length, 0)
    assert sqe.opcode == L.IORING_OP_NOP and sqe.addr == 0


def test_rw_files_update_alloc_needs_writable_ints(ring):
    sqe = L.io_uring_get_sqe(ring)
    with pytest.raises(TypeError):
        L.io_uring_prep_rw(L.IORING_OP_FILES_UPDATE, sqe, -1, b"\0\0\0\0", 1, L.IORING_FILE_INDEX_ALLOC)
    with pytest.raises(TypeError):
        L.io_uring_prep_rw(L.IORING_OP_FILES_UPDATE, sqe, -1, b"\0\0\0\0", 1, -1)
    assert sqe.opcode == L.IORING_OP_NOP
    L.io_uring_prep_rw(L.IORING_OP_FILES_UPDATE, sqe, -1, b"\xff\xff\xff\xff", 1, 0)   # read only: fine
    assert sqe.opcode == L.IORING_OP_FILES_UPDATE


def test_rw_bad_offset(ring):
    sqe = L.io_uring_get_sqe(ring)
    with pytest.raises(ValueError):
        L.io_uring_prep_rw(L.IORING_OP_NOP, sqe, 0, None, 0, -2)
    with pytest.raises(TypeError):
        L.io_uring_prep_rw(L.IORING_OP_NOP, sqe, 0, None, 0, None)
    assert sqe.opcode == L.IORING_OP_NOP


# ---- splice, tee, pipe -------------------------------------------------------------------------

def test_splice_file_to_pipe_to_file(ring, datafile, pipe, rwfile):
    require_op("IORING_OP_SPLICE")
    r, w = pipe
    fd = os.open(datafile, os.O_RDONLY)
    try:
        sqe = sqe_for(ring, 1)
        L.io_uring_prep_splice(sqe, fd, 4, w, -1, 6, 0)
        assert (sqe.opcode, sqe.fd, sqe.splice_fd_in, sqe.off, sqe.len) == (L.IORING_OP_SPLICE, w, fd, U64_MAX, 6)
        assert sqe.addr == 4                    # splice_off_in shares addr
        assert submit_and_reap(ring) == {1: 6}
    finally:
        os.close(fd)
    # from the pipe into the file at offset 2
    assert run(ring, L.io_uring_prep_splice, r, -1, rwfile, 2, 6, 0) == 6
    assert os.pread(rwfile, 16, 0) == b"\x00\x00456789"


def test_splice_off_in_minus_one_uses_file_position(ring, datafile, pipe):
    require_op("IORING_OP_SPLICE")
    r, w = pipe
    fd = os.open(datafile, os.O_RDONLY)
    try:
        os.lseek(fd, 10, os.SEEK_SET)
        assert run(ring, L.io_uring_prep_splice, fd, -1, w, -1, 3) == 3
        assert os.read(r, 16) == b"abc"
        assert os.lseek(fd, 0, os.SEEK_CUR) == 13
    finally:
        os.close(fd)


def test_splice_errors_are_cqe_res(ring, rwfile, datafile):
    require_op("IORING_OP_SPLICE")
    fd = os.open(datafile, os.O_RDONLY)
    try:
        # neither end is a pipe
        assert run(ring, L.io_uring_prep_splice, fd, 0, rwfile, 0, 4) == -errno.EINVAL
    finally:
        os.close(fd)
    assert run(ring, L.io_uring_prep_splice, 1_000_000, 0, rwfile, 0, 4) == -errno.EBADF


def test_tee_duplicates_without_consuming(ring):
    require_op("IORING_OP_TEE")
    r1, w1 = os.pipe()
    r2, w2 = os.pipe()
    try:
        os.write(w1, b"teed data")
        sqe = sqe_for(ring, 1)
        L.io_uring_prep_tee(sqe, r1, w2, 64, 0)
        assert (sqe.opcode, sqe.fd, sqe.splice_fd_in, sqe.len) == (L.IORING_OP_TEE, w2, r1, 64)
        assert submit_and_reap(ring) == {1: 9}
        assert os.read(r2, 64) == b"teed data"
        assert os.read(r1, 64) == b"teed data"  # still there
    finally:
        for fd in (r1, w1, r2, w2):
            os.close(fd)


def test_tee_needs_pipes(ring, rwfile, pipe):
    require_op("IORING_OP_TEE")
    assert run(ring, L.io_uring_prep_tee, rwfile, pipe[1], 4) == -errno.EINVAL


def test_pipe_into_int_array(ring):
    require_op("IORING_OP_PIPE")
    fds = array.array("i", [-1, -1])
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_pipe(sqe, fds, os.O_CLOEXEC)
    assert (sqe.opcode, sqe.addr, sqe.rw_flags) == (L.IORING_OP_PIPE, address_of(fds), os.O_CLOEXEC)
    assert submit_and_reap(ring) == {1: 0}
    r, w = fds
    try:
        assert stat.S_ISFIFO(os.fstat(r).st_mode)
        assert fcntl.fcntl(r, fcntl.F_GETFD) & fcntl.FD_CLOEXEC
        os.write(w, b"through the pipe")
        assert os.read(r, 64) == b"through the pipe"
    finally:
        os.close(r)
        os.close(w)


def test_pipe_into_bytearray_nonblocking(ring):
    require_op("IORING_OP_PIPE")
    raw = bytearray(8)
    assert run(ring, L.io_uring_prep_pipe, raw, os.O_NONBLOCK) == 0
    r, w = struct.unpack("ii", raw)
    try:
        with pytest.raises(BlockingIOError):
            os.read(r, 1)
    finally:
        os.close(r)
        os.close(w)


def test_pipe_direct_into_registered_slots(sparse_ring):
    require_op("IORING_OP_PIPE")
    ring = sparse_ring
    fds = array.array("i", [-1, -1])
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_pipe_direct(sqe, fds, 0, L.IORING_FILE_INDEX_ALLOC)
    assert sqe.splice_fd_in == -1               # file_index ALLOC stays ~0U
    assert submit_and_reap(ring) == {1: 0}
    assert sorted(fds) == [0, 1]
    r, w = fds
    assert run(ring, L.io_uring_prep_write, w, b"direct", 6, 0, sqe_flags=L.IOSQE_FIXED_FILE) == 6
    assert read_fixed_file(ring, r, 64, 0) == (6, b"direct")

    fds2 = array.array("i", [-1, -1])
    sqe = sqe_for(ring, 2)
    L.io_uring_prep_pipe_direct(sqe, fds2, 0, 2)
    assert sqe.splice_fd_in == 3                # slot + 1
    assert submit_and_reap(ring) == {2: 0}
    assert list(fds2) == [2, 3]


@pytest.mark.parametrize("fds, exc", [
    (array.array("i", [0]), ValueError),
    (bytearray(7), ValueError),
    (b"12345678", TypeError),
    ([0, 0], TypeError),
    (None, TypeError),
])
def test_pipe_bad_fds(ring, fds, exc):
    sqe = L.io_uring_get_sqe(ring)
    with pytest.raises(exc):
        L.io_uring_prep_pipe(sqe, fds, 0)
    with pytest.raises(exc):
        L.io_uring_prep_pipe_direct(sqe, fds, 0, 0)
    assert sqe.opcode == L.IORING_OP_NOP


# ---- space, size, advice, sync -----------------------------------------------------------------

def test_fallocate_extends_and_keep_size(ring, rwfile):
    require_op("IORING_OP_FALLOCATE")
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_fallocate(sqe, rwfile, 0, 0, 8192)
    assert (sqe.opcode, sqe.fd, sqe.len, sqe.off, sqe.addr) == (L.IORING_OP_FALLOCATE, rwfile, 0, 0, 8192)
    assert submit_and_reap(ring) == {1: 0}
    assert os.fstat(rwfile).st_size == 8192
    blocks = os.fstat(rwfile).st_blocks
    assert run(ring, L.io_uring_prep_fallocate, rwfile, L.FALLOC_FL_KEEP_SIZE, 8192, 65536) == 0
    st = os.fstat(rwfile)
    assert st.st_size == 8192 and st.st_blocks > blocks


def test_fallocate_punch_hole(ring, rwfile):
    require_op("IORING_OP_FALLOCATE")
    os.pwrite(rwfile, b"\xff" * 12288, 0)
    res = run(ring, L.io_uring_prep_fallocate, rwfile, L.FALLOC_FL_PUNCH_HOLE | L.FALLOC_FL_KEEP_SIZE, 4096, 4096)
    if res == -errno.EOPNOTSUPP:
        pytest.skip("the filesystem cannot punch holes")
    assert res == 0
    data = os.pread(rwfile, 12288, 0)
    assert data == b"\xff" * 4096 + b"\0" * 4096 + b"\xff" * 4096


def test_fallocate_errors(ring, pipe):
    require_op("IORING_OP_FALLOCATE")
    assert run(ring, L.io_uring_prep_fallocate, pipe[1], 0, 0, 4096) == -errno.ESPIPE
    assert run(ring, L.io_uring_prep_fallocate, 1_000_000, 0, 0, 4096) == -errno.EBADF


def test_ftruncate_shrinks_and_grows(ring, rwfile):
    require_op("IORING_OP_FTRUNCATE")
    os.pwrite(rwfile, b"x" * 100, 0)
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_ftruncate(sqe, rwfile, 10)
    assert (sqe.opcode, sqe.fd, sqe.off) == (L.IORING_OP_FTRUNCATE, rwfile, 10)
    assert submit_and_reap(ring) == {1: 0}
    assert os.fstat(rwfile).st_size == 10
    assert run(ring, L.io_uring_prep_ftruncate, rwfile, 5000) == 0
    assert os.fstat(rwfile).st_size == 5000
    assert os.pread(rwfile, 20, 0) == b"x" * 10 + b"\0" * 10
    assert run(ring, L.io_uring_prep_ftruncate, rwfile, -1) == -errno.EINVAL


def test_ftruncate_read_only_fd(ring, datafile):
    require_op("IORING_OP_FTRUNCATE")
    fd = os.open(datafile, os.O_RDONLY)
    try:
        assert run(ring, L.io_uring_prep_ftruncate, fd, 0) in (-errno.EINVAL, -errno.EBADF)
        assert datafile.stat().st_size == 20
    finally:
        os.close(fd)


def test_fadvise_reaches_the_kernel(ring, datafile, pipe):
    require_op("IORING_OP_FADVISE")
    fd = os.open(datafile, os.O_RDONLY)
    try:
        sqe = sqe_for(ring, 1)
        L.io_uring_prep_fadvise(sqe, fd, 4, 16, os.POSIX_FADV_WILLNEED)
        assert (sqe.opcode, sqe.fd, sqe.off, sqe.len, sqe.addr, sqe.rw_flags) == (
            L.IORING_OP_FADVISE, fd, 4, 16, 0, os.POSIX_FADV_WILLNEED)
        assert submit_and_reap(ring) == {1: 0}
        assert run(ring, L.io_uring_prep_fadvise, fd, 0, 0, os.POSIX_FADV_DONTNEED) == 0
        assert run(ring, L.io_uring_prep_fadvise, fd, 0, 0, 99) == -errno.EINVAL
    finally:
        os.close(fd)
    assert run(ring, L.io_uring_prep_fadvise, pipe[0], 0, 0, os.POSIX_FADV_NORMAL) == -errno.ESPIPE


def test_fadvise64_puts_len_in_addr(ring, datafile):
    require_op("IORING_OP_FADVISE")
    fd = os.open(datafile, os.O_RDONLY)
    try:
        sqe = sqe_for(ring, 1)
        L.io_uring_prep_fadvise64(sqe, fd, 0, 2**33, os.POSIX_FADV_SEQUENTIAL)
        assert (sqe.len, sqe.addr, sqe.rw_flags) == (0, 2**33, os.POSIX_FADV_SEQUENTIAL)
        assert submit_and_reap(ring) == {1: 0}
        assert run(ring, L.io_uring_prep_fadvise64, fd, 0, 100, 99) == -errno.EINVAL
    finally:
        os.close(fd)


def test_fadvise_bad_arguments(ring):
    sqe = L.io_uring_get_sqe(ring)
    with pytest.raises(ValueError):
        L.io_uring_prep_fadvise(sqe, 0, 0, 2**32, 0)        # len is 32-bit
    with pytest.raises(ValueError):
        L.io_uring_prep_fadvise(sqe, 0, -1, 0, 0)
    with pytest.raises(ValueError):
        L.io_uring_prep_fadvise64(sqe, 0, 0, 2**63, 0)
    with pytest.raises(TypeError):
        L.io_uring_prep_fadvise64(sqe, 0, 0, 1.5, 0)
    assert sqe.opcode == L.IORING_OP_NOP


@pytest.fixture
def anon_map():
    # private: MADV_DONTNEED zeroes private anonymous pages (shared ones keep their contents)
    m = mmap.mmap(-1, 2 * mmap.PAGESIZE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    yield m
    m.close()


@pytest.mark.parametrize("prep", [L.io_uring_prep_madvise, L.io_uring_prep_madvise64])
def test_madvise_dontneed_zeroes_anonymous_pages(ring, anon_map, prep):
    require_op("IORING_OP_MADVISE")
    anon_map[:] = b"\xab" * len(anon_map)
    sqe = sqe_for(ring, 1)
    prep(sqe, anon_map, mmap.PAGESIZE, mmap.MADV_DONTNEED)
    assert sqe.opcode == L.IORING_OP_MADVISE and sqe.addr == address_of(anon_map)
    if prep is L.io_uring_prep_madvise:
        assert (sqe.len, sqe.off) == (mmap.PAGESIZE, 0)
    else:
        assert (sqe.len, sqe.off) == (0, mmap.PAGESIZE)
    assert sqe.rw_flags == mmap.MADV_DONTNEED
    assert submit_and_reap(ring) == {1: 0}
    assert anon_map[:mmap.PAGESIZE] == b"\0" * mmap.PAGESIZE
    assert anon_map[mmap.PAGESIZE:] == b"\xab" * mmap.PAGESIZE


def test_madvise_on_a_memoryview_slice_of_an_mmap(ring, anon_map):
    require_op("IORING_OP_MADVISE")
    anon_map[:] = b"\xcd" * len(anon_map)
    second = memoryview(anon_map)[mmap.PAGESIZE:]
    try:
        assert run(ring, L.io_uring_prep_madvise, second, 100, mmap.MADV_DONTNEED) == 0   # whole page
    finally:
        second.release()
    assert anon_map[:mmap.PAGESIZE] == b"\xcd" * mmap.PAGESIZE
    assert anon_map[mmap.PAGESIZE:] == b"\0" * mmap.PAGESIZE


def test_madvise_pins_the_mapping(ring, anon_map):
    require_op("IORING_OP_MADVISE")
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_madvise(sqe, anon_map, len(anon_map), mmap.MADV_WILLNEED)
    with pytest.raises(BufferError):
        anon_map.close()                        # exported to the SQE
    assert submit_and_reap(ring) == {1: 0}


def test_madvise_kernel_errors(ring, anon_map):
    require_op("IORING_OP_MADVISE")
    view = memoryview(anon_map)[1:]             # not page-aligned
    try:
        assert run(ring, L.io_uring_prep_madvise, view, 0, mmap.MADV_NORMAL) == -errno.EINVAL
    finally:
        view.release()
    assert run(ring, L.io_uring_prep_madvise, anon_map, 4096, 12345) == -errno.EINVAL


def test_madvise_read_only_mapping_accepts_only_harmless_advice(ring, datafile):
    require_op("IORING_OP_MADVISE")
    with open(datafile, "rb") as f:
        m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    try:
        assert run(ring, L.io_uring_prep_madvise, m, 20, mmap.MADV_WILLNEED) == 0
        sqe = L.io_uring_get_sqe(ring)
        with pytest.raises(TypeError):
            L.io_uring_prep_madvise(sqe, m, 20, mmap.MADV_DONTNEED)
        assert sqe.opcode == L.IORING_OP_NOP
        L.io_uring_prep_nop(sqe)
        submit_and_reap(ring)
    finally:
        m.close()


def test_madvise_range_must_stay_inside_the_buffer(ring, anon_map):
    sqe = L.io_uring_get_sqe(ring)
    with pytest.raises(ValueError):
        L.io_uring_prep_madvise(sqe, anon_map, 3 * mmap.PAGESIZE, mmap.MADV_DONTNEED)
    small = bytearray(100)                      # whole pages would reach past it
    with pytest.raises(ValueError):
        L.io_uring_prep_madvise(sqe, small, 100, mmap.MADV_DONTNEED)
    with pytest.raises(ValueError):
        L.io_uring_prep_madvise64(sqe, anon_map, -1, mmap.MADV_NORMAL)
    with pytest.raises(TypeError):
        L.io_uring_prep_madvise(sqe, None, 0, mmap.MADV_NORMAL)
    assert sqe.opcode == L.IORING_OP_NOP


def test_sync_file_range(ring, rwfile, pipe):
    require_op("IORING_OP_SYNC_FILE_RANGE")
    os.pwrite(rwfile, b"s" * 8192, 0)
    flags = L.SYNC_FILE_RANGE_WAIT_BEFORE | L.SYNC_FILE_RANGE_WRITE | L.SYNC_FILE_RANGE_WAIT_AFTER
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_sync_file_range(sqe, rwfile, 4096, 4096, flags)
    assert (sqe.opcode, sqe.fd, sqe.len, sqe.off, sqe.rw_flags) == (
        L.IORING_OP_SYNC_FILE_RANGE, rwfile, 4096, 4096, flags)
    assert submit_and_reap(ring) == {1: 0}
    assert run(ring, L.io_uring_prep_sync_file_range, rwfile, 0, 0, 0x80) == -errno.EINVAL
    assert run(ring, L.io_uring_prep_sync_file_range, pipe[1], 0, 0, L.SYNC_FILE_RANGE_WRITE) == -errno.ESPIPE


# ---- paths -------------------------------------------------------------------------------------

def test_unlinkat_file_and_directory(ring, tmp_path, dirfd):
    require_op("IORING_OP_UNLINKAT")
    (tmp_path / "f").write_bytes(b"")
    (tmp_path / "d").mkdir()
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_unlinkat(sqe, dirfd, "f", 0)
    assert (sqe.opcode, sqe.fd, sqe.rw_flags) == (L.IORING_OP_UNLINKAT, dirfd, 0)
    assert submit_and_reap(ring) == {1: 0}
    assert not (tmp_path / "f").exists()
    assert run(ring, L.io_uring_prep_unlinkat, dirfd, b"d", 0) == -errno.EISDIR
    assert run(ring, L.io_uring_prep_unlinkat, dirfd, b"d", L.AT_REMOVEDIR) == 0
    assert not (tmp_path / "d").exists()
    assert run(ring, L.io_uring_prep_unlinkat, dirfd, "f", 0) == -errno.ENOENT


def test_unlink_relative_to_cwd(ring, tmp_path, monkeypatch):
    require_op("IORING_OP_UNLINKAT")
    (tmp_path / "a").write_bytes(b"")
    (tmp_path / "b").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_unlink(sqe, "a", 0)
    assert sqe.fd == L.AT_FDCWD
    assert submit_and_reap(ring) == {1: 0}
    assert run(ring, L.io_uring_prep_unlink, pathlib.Path(tmp_path / "b")) == 0
    assert sorted(os.listdir(tmp_path)) == []


def test_renameat_and_flags(ring, tmp_path, dirfd):
    require_op("IORING_OP_RENAMEAT")
    (tmp_path / "a").write_bytes(b"A")
    (tmp_path / "b").write_bytes(b"B")
    sub = tmp_path / "sub"
    sub.mkdir()
    subfd = os.open(sub, os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert run(ring, L.io_uring_prep_renameat, dirfd, "a", dirfd, "b", L.RENAME_NOREPLACE) == -errno.EEXIST
        assert run(ring, L.io_uring_prep_renameat, dirfd, "a", dirfd, "b", L.RENAME_EXCHANGE) == 0
        assert (tmp_path / "a").read_bytes() == b"B" and (tmp_path / "b").read_bytes() == b"A"
        sqe = sqe_for(ring, 9)
        L.io_uring_prep_renameat(sqe, dirfd, "a", subfd, "moved")
        assert (sqe.opcode, sqe.fd, sqe.len, sqe.rw_flags) == (L.IORING_OP_RENAMEAT, dirfd, subfd, 0)
        assert submit_and_reap(ring) == {9: 0}
        assert (sub / "moved").read_bytes() == b"B" and not (tmp_path / "a").exists()
    finally:
        os.close(subfd)


def test_rename_relative_to_cwd(ring, tmp_path, monkeypatch):
    require_op("IORING_OP_RENAMEAT")
    (tmp_path / "old").write_bytes(b"payload")
    monkeypatch.chdir(tmp_path)
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_rename(sqe, "old", b"new")
    assert (sqe.fd, sqe.len) == (L.AT_FDCWD, L.AT_FDCWD & 0xFFFFFFFF)
    assert submit_and_reap(ring) == {1: 0}
    assert (tmp_path / "new").read_bytes() == b"payload"
    assert run(ring, L.io_uring_prep_rename, "old", "other") == -errno.ENOENT


def test_mkdirat_mode_and_errors(ring, tmp_path, dirfd, umask0):
    require_op("IORING_OP_MKDIRAT")
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_mkdirat(sqe, dirfd, "d", 0o751)
    assert (sqe.opcode, sqe.fd, sqe.len) == (L.IORING_OP_MKDIRAT, dirfd, 0o751)
    assert submit_and_reap(ring) == {1: 0}
    st = os.stat(tmp_path / "d")
    assert stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o751
    assert run(ring, L.io_uring_prep_mkdirat, dirfd, "d", 0o700) == -errno.EEXIST
    assert run(ring, L.io_uring_prep_mkdirat, dirfd, "missing/d", 0o700) == -errno.ENOENT


def test_mkdir_absolute_path(ring, tmp_path, umask0):
    require_op("IORING_OP_MKDIRAT")
    target = tmp_path / "made"
    assert run(ring, L.io_uring_prep_mkdir, target, 0o700) == 0
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o700


def test_symlinkat_and_symlink(ring, tmp_path, dirfd):
    require_op("IORING_OP_SYMLINKAT")
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_symlinkat(sqe, "target/that/need/not/exist", dirfd, "lnk")
    assert (sqe.opcode, sqe.fd) == (L.IORING_OP_SYMLINKAT, dirfd)
    assert submit_and_reap(ring) == {1: 0}
    assert os.readlink(tmp_path / "lnk") == "target/that/need/not/exist"
    assert run(ring, L.io_uring_prep_symlink, str(tmp_path / "lnk"), tmp_path / "lnk2") == 0
    assert os.readlink(tmp_path / "lnk2") == str(tmp_path / "lnk")
    assert run(ring, L.io_uring_prep_symlink, "x", tmp_path / "lnk") == -errno.EEXIST


def test_linkat_and_link(ring, tmp_path, dirfd):
    require_op("IORING_OP_LINKAT")
    (tmp_path / "orig").write_bytes(b"linked")
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_linkat(sqe, dirfd, "orig", dirfd, "hard")
    assert (sqe.opcode, sqe.fd, sqe.len, sqe.rw_flags) == (L.IORING_OP_LINKAT, dirfd, dirfd, 0)
    assert submit_and_reap(ring) == {1: 0}
    assert os.stat(tmp_path / "hard").st_ino == os.stat(tmp_path / "orig").st_ino
    assert run(ring, L.io_uring_prep_link, tmp_path / "orig", tmp_path / "hard2", 0) == 0
    assert os.stat(tmp_path / "orig").st_nlink == 3
    # AT_SYMLINK_FOLLOW links the target, not the symlink
    os.symlink(tmp_path / "orig", tmp_path / "sym")
    assert run(ring, L.io_uring_prep_linkat, dirfd, "sym", dirfd, "viafollow", L.AT_SYMLINK_FOLLOW) == 0
    assert os.lstat(tmp_path / "viafollow").st_ino == os.stat(tmp_path / "orig").st_ino
    assert run(ring, L.io_uring_prep_link, tmp_path / "nope", tmp_path / "x") == -errno.ENOENT


@pytest.mark.parametrize("call", [
    lambda s: L.io_uring_prep_unlinkat(s, L.AT_FDCWD, "a\0b"),
    lambda s: L.io_uring_prep_unlink(s, b"a\0b"),
    lambda s: L.io_uring_prep_renameat(s, L.AT_FDCWD, "a", L.AT_FDCWD, "b\0"),
    lambda s: L.io_uring_prep_rename(s, "a\0", "b"),
    lambda s: L.io_uring_prep_mkdirat(s, L.AT_FDCWD, "a\0", 0o700),
    lambda s: L.io_uring_prep_mkdir(s, "a\0", 0o700),
    lambda s: L.io_uring_prep_symlinkat(s, "t\0", L.AT_FDCWD, "l"),
    lambda s: L.io_uring_prep_symlink(s, "t", "l\0"),
    lambda s: L.io_uring_prep_linkat(s, L.AT_FDCWD, "a", L.AT_FDCWD, "b\0"),
    lambda s: L.io_uring_prep_link(s, "a\0", "b"),
    lambda s: L.io_uring_prep_open(s, "a\0", os.O_RDONLY),
    lambda s: L.io_uring_prep_getxattr(s, "user.a\0", bytearray(4), "p"),
    lambda s: L.io_uring_prep_setxattr(s, "user.a", b"v", "p\0"),
])
def test_embedded_nul_in_path_raises_value_error(ring, call):
    sqe = L.io_uring_get_sqe(ring)
    with pytest.raises(ValueError):
        call(sqe)
    assert sqe.opcode == L.IORING_OP_NOP


@pytest.mark.parametrize("call", [
    lambda s: L.io_uring_prep_unlink(s, 123),
    lambda s: L.io_uring_prep_rename(s, None, "b"),
    lambda s: L.io_uring_prep_mkdir(s, ["a"], 0o700),
    lambda s: L.io_uring_prep_mkdir(s, "a", "0o700"),
    lambda s: L.io_uring_prep_symlink(s, "t", 1.5),
    lambda s: L.io_uring_prep_link(s, "a", "b", "flags"),
    lambda s: L.io_uring_prep_renameat(s, "dfd", "a", L.AT_FDCWD, "b"),
])
def test_bad_path_argument_types(ring, call):
    sqe = L.io_uring_get_sqe(ring)
    with pytest.raises(TypeError):
        call(sqe)
    assert sqe.opcode == L.IORING_OP_NOP


# ---- extended attributes -----------------------------------------------------------------------

def test_setxattr_and_getxattr(ring, xattr_path):
    require_op("IORING_OP_SETXATTR")
    require_op("IORING_OP_GETXATTR")
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_setxattr(sqe, "user.color", b"blue", xattr_path, 0, 4)
    assert (sqe.opcode, sqe.len) == (L.IORING_OP_SETXATTR, 4)
    assert submit_and_reap(ring) == {1: 0}
    assert os.getxattr(xattr_path, "user.color") == b"blue"

    buf = bytearray(16)
    sqe = sqe_for(ring, 2)
    L.io_uring_prep_getxattr(sqe, b"user.color", buf, str(xattr_path))
    assert sqe.len == 16 and sqe.off == address_of(buf)
    assert submit_and_reap(ring) == {2: 4}
    assert bytes(buf[:4]) == b"blue"
    # value None with len 0 asks for the size
    assert run(ring, L.io_uring_prep_getxattr, "user.color", None, xattr_path) == 4
    # a buffer too small is ERANGE
    assert run(ring, L.io_uring_prep_getxattr, "user.color", bytearray(2), xattr_path) == -errno.ERANGE
    assert run(ring, L.io_uring_prep_getxattr, "user.none", bytearray(2), xattr_path) == -errno.ENODATA


def test_setxattr_flags_and_len(ring, xattr_path):
    require_op("IORING_OP_SETXATTR")
    assert run(ring, L.io_uring_prep_setxattr, "user.k", memoryview(b"abcdef"), xattr_path, os.XATTR_CREATE, 3) == 0
    assert os.getxattr(xattr_path, "user.k") == b"abc"
    assert run(ring, L.io_uring_prep_setxattr, "user.k", b"zz", xattr_path, os.XATTR_CREATE) == -errno.EEXIST
    assert run(ring, L.io_uring_prep_setxattr, "user.new", b"zz", xattr_path, os.XATTR_REPLACE) == -errno.ENODATA
    assert run(ring, L.io_uring_prep_setxattr, "user.k", b"", xattr_path, os.XATTR_REPLACE) == 0
    assert os.getxattr(xattr_path, "user.k") == b""


def test_fsetxattr_and_fgetxattr(ring, xattr_path):
    require_op("IORING_OP_FSETXATTR")
    require_op("IORING_OP_FGETXATTR")
    fd = os.open(xattr_path, os.O_RDWR)
    try:
        sqe = sqe_for(ring, 1)
        L.io_uring_prep_fsetxattr(sqe, fd, "user.f", bytearray(b"on fd"), 0)
        assert (sqe.opcode, sqe.fd, sqe.len) == (L.IORING_OP_FSETXATTR, fd, 5)
        assert submit_and_reap(ring) == {1: 0}
        assert os.getxattr(xattr_path, "user.f") == b"on fd"
        buf = array.array("B", bytes(8))
        assert run(ring, L.io_uring_prep_fgetxattr, fd, "user.f", buf, 8) == 5
        assert buf.tobytes()[:5] == b"on fd"
        assert run(ring, L.io_uring_prep_fgetxattr, fd, "user.f", None) == 5
        assert run(ring, L.io_uring_prep_fsetxattr, fd, "user.f", b"x", os.XATTR_CREATE) == -errno.EEXIST
    finally:
        os.close(fd)


def test_xattr_value_pinned_until_completion(ring, xattr_path):
    require_op("IORING_OP_GETXATTR")
    os.setxattr(xattr_path, "user.p", b"pinned")
    buf = bytearray(8)
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_getxattr(sqe, "user.p", buf, xattr_path)
    with pytest.raises(BufferError):
        buf.append(0)
    assert submit_and_reap(ring) == {1: 6}
    buf.append(0)


@pytest.mark.parametrize("call, exc", [
    (lambda s, p: L.io_uring_prep_getxattr(s, "user.a", b"ro", p), TypeError),
    (lambda s, p: L.io_uring_prep_getxattr(s, "user.a", bytearray(2), p, 3), ValueError),
    (lambda s, p: L.io_uring_prep_getxattr(s, "user.a", None, p, 1), ValueError),
    (lambda s, p: L.io_uring_prep_getxattr(s, "user.a", bytearray(2), p, -1), ValueError),
    (lambda s, p: L.io_uring_prep_setxattr(s, "user.a", b"ab", p, 0, 3), ValueError),
    (lambda s, p: L.io_uring_prep_setxattr(s, "user.a", "text", p), TypeError),
    (lambda s, p: L.io_uring_prep_fgetxattr(s, 0, "user.a", b"ro"), TypeError),
    (lambda s, p: L.io_uring_prep_fgetxattr(s, 0, "user.a", bytearray(1), 2), ValueError),
    (lambda s, p: L.io_uring_prep_fsetxattr(s, 0, "user.a", 42), TypeError),
    (lambda s, p: L.io_uring_prep_fsetxattr(s, 0, None, b"v"), TypeError),
])
def test_xattr_bad_arguments(ring, tmp_path, call, exc):
    sqe = L.io_uring_get_sqe(ring)
    with pytest.raises(exc):
        call(sqe, tmp_path)
    assert sqe.opcode == L.IORING_OP_NOP


# ---- direct descriptors ------------------------------------------------------------------------

def test_openat_direct_into_a_slot(sparse_ring, datafile):
    require_op("IORING_OP_OPENAT")
    ring = sparse_ring
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_openat_direct(sqe, L.AT_FDCWD, datafile, os.O_RDONLY, 0, 1)
    assert (sqe.opcode, sqe.splice_fd_in) == (L.IORING_OP_OPENAT, 2)     # slot 1 encoded as 2
    assert submit_and_reap(ring) == {1: 0}
    assert read_fixed_file(ring, 1, 10) == (10, b"0123456789")
    assert read_fixed_file(ring, 0, 10)[0] == -errno.EBADF            # slot 0 still empty


def test_open_direct_alloc_returns_the_slot(sparse_ring, datafile, tmp_path, umask0):
    require_op("IORING_OP_OPENAT")
    ring = sparse_ring
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_open_direct(sqe, datafile, os.O_RDONLY, 0, L.IORING_FILE_INDEX_ALLOC)
    assert (sqe.fd, sqe.splice_fd_in) == (L.AT_FDCWD, -1)
    slot = submit_and_reap(ring)[1]
    assert 0 <= slot < 4
    assert read_fixed_file(ring, slot, 4, 10) == (4, b"abcd")
    # O_CREAT through a direct open creates the file on disk
    created = tmp_path / "created"
    slot2 = run(ring, L.io_uring_prep_open_direct, created, os.O_CREAT | os.O_WRONLY, 0o640, L.IORING_FILE_INDEX_ALLOC)
    assert slot2 >= 0 and slot2 != slot
    assert stat.S_IMODE(os.stat(created).st_mode) == 0o640


def test_open_direct_without_file_table_fails(ring, datafile):
    require_op("IORING_OP_OPENAT")
    assert run(ring, L.io_uring_prep_open_direct, datafile, os.O_RDONLY, 0, 0) == -errno.ENXIO


def test_openat2_direct(sparse_ring, datafile, tmp_path):
    require_op("IORING_OP_OPENAT2")
    ring = sparse_ring
    dfd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        sqe = sqe_for(ring, 1)
        L.io_uring_prep_openat2_direct(sqe, dfd, "data.bin", L.open_how(os.O_RDONLY, 0, L.RESOLVE_BENEATH), 3)
        assert (sqe.opcode, sqe.fd, sqe.len, sqe.splice_fd_in) == (L.IORING_OP_OPENAT2, dfd, 24, 4)
        assert submit_and_reap(ring) == {1: 0}
        assert read_fixed_file(ring, 3, 3) == (3, b"012")
        how = L.open_how(os.O_RDONLY, 0, L.RESOLVE_BENEATH)
        assert run(ring, L.io_uring_prep_openat2_direct, dfd, "../x", how, L.IORING_FILE_INDEX_ALLOC) == -errno.EXDEV
    finally:
        os.close(dfd)


def test_open_plain_returns_an_fd(ring, datafile, monkeypatch):
    require_op("IORING_OP_OPENAT")
    monkeypatch.chdir(datafile.parent)
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_open(sqe, "data.bin", os.O_RDONLY)
    assert (sqe.opcode, sqe.fd, sqe.splice_fd_in) == (L.IORING_OP_OPENAT, L.AT_FDCWD, 0)
    fd = submit_and_reap(ring)[1]
    assert fd >= 0
    try:
        assert os.read(fd, 4) == b"0123"
    finally:
        os.close(fd)
    assert run(ring, L.io_uring_prep_open, "missing", os.O_RDONLY) == -errno.ENOENT


def test_close_direct_empties_the_slot(sparse_ring, datafile):
    require_op("IORING_OP_CLOSE")
    ring = sparse_ring
    assert run(ring, L.io_uring_prep_openat_direct, L.AT_FDCWD, datafile, os.O_RDONLY, 0, 2) == 0
    assert read_fixed_file(ring, 2, 1)[0] == 1
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_close_direct(sqe, 2)
    assert (sqe.opcode, sqe.fd, sqe.splice_fd_in) == (L.IORING_OP_CLOSE, 0, 3)
    assert submit_and_reap(ring) == {1: 0}
    assert read_fixed_file(ring, 2, 1)[0] == -errno.EBADF
    assert run(ring, L.io_uring_prep_close_direct, 2) == -errno.EBADF


@pytest.mark.parametrize("file_index, exc", [(-1, ValueError), (2**32, ValueError), ("1", TypeError), (1.0, TypeError)])
def test_direct_bad_file_index(ring, datafile, file_index, exc):
    sqe = L.io_uring_get_sqe(ring)
    for call in (
        lambda: L.io_uring_prep_openat_direct(sqe, L.AT_FDCWD, datafile, 0, 0, file_index),
        lambda: L.io_uring_prep_open_direct(sqe, datafile, 0, 0, file_index),
        lambda: L.io_uring_prep_openat2_direct(sqe, L.AT_FDCWD, datafile, L.open_how(), file_index),
        lambda: L.io_uring_prep_close_direct(sqe, file_index),
        lambda: L.io_uring_prep_pipe_direct(sqe, array.array("i", [0, 0]), 0, file_index),
    ):
        with pytest.raises(exc):
            call()
    assert sqe.opcode == L.IORING_OP_NOP
    with pytest.raises(TypeError):
        L.io_uring_prep_openat2_direct(sqe, L.AT_FDCWD, datafile, None, 0)


def test_files_update_from_a_list(sparse_ring, datafile):
    require_op("IORING_OP_FILES_UPDATE")
    ring = sparse_ring
    fd = os.open(datafile, os.O_RDONLY)
    try:
        sqe = sqe_for(ring, 1)
        L.io_uring_prep_files_update(sqe, [fd, fd], None, 2)
        assert (sqe.opcode, sqe.fd, sqe.len, sqe.off) == (L.IORING_OP_FILES_UPDATE, -1, 2, 2)
        assert submit_and_reap(ring) == {1: 2}
    finally:
        os.close(fd)                            # the table holds its own reference
    assert read_fixed_file(ring, 3, 2) == (2, b"01")
    # -1 empties a slot; IORING_REGISTER_FILES_SKIP keeps one; nr_fds limits the update
    assert run(ring, L.io_uring_prep_files_update, [-1, L.IORING_REGISTER_FILES_SKIP, 99], 2, 2) == 2
    assert read_fixed_file(ring, 2, 1)[0] == -errno.EBADF
    assert read_fixed_file(ring, 3, 1) == (1, b"0")


def test_files_update_alloc_writes_slots_back(sparse_ring, datafile):
    require_op("IORING_OP_FILES_UPDATE")
    ring = sparse_ring
    fd = os.open(datafile, os.O_RDONLY)
    try:
        fds = array.array("i", [fd, fd])
        assert run(ring, L.io_uring_prep_files_update, fds, None, L.IORING_FILE_INDEX_ALLOC) == 2
        assert sorted(fds) == [0, 1]
        fds2 = array.array("i", [fd])
        assert run(ring, L.io_uring_prep_files_update, fds2, 1, -1) == 1          # C's int -1
        assert list(fds2) == [2]
    finally:
        os.close(fd)
    for slot in (0, 1, 2):
        assert read_fixed_file(ring, slot, 1) == (1, b"0")


def test_files_update_array_pinned(sparse_ring, datafile):
    require_op("IORING_OP_FILES_UPDATE")
    ring = sparse_ring
    fd = os.open(datafile, os.O_RDONLY)
    try:
        fds = bytearray(struct.pack("i", fd))
        sqe = sqe_for(ring, 1)
        L.io_uring_prep_files_update(sqe, fds, None, 0)
        with pytest.raises(BufferError):
            fds.extend(b"\0\0\0\0")
        assert submit_and_reap(ring) == {1: 1}
    finally:
        os.close(fd)


@pytest.mark.parametrize("fds, nr, offset, exc", [
    ([0, 1], 3, 0, ValueError),
    (array.array("q", [0]), None, 0, ValueError),
    (bytearray(6), None, 0, ValueError),
    (b"\0\0\0\0", None, L.IORING_FILE_INDEX_ALLOC, TypeError),
    (["x"], None, 0, TypeError),
    (5, None, 0, TypeError),
    ([0], None, 2**32, ValueError),
    ([0], -1, 0, ValueError),
])
def test_files_update_bad_arguments(ring, fds, nr, offset, exc):
    sqe = L.io_uring_get_sqe(ring)
    with pytest.raises(exc):
        L.io_uring_prep_files_update(sqe, fds, nr, offset)
    assert sqe.opcode == L.IORING_OP_NOP


def test_fixed_fd_install(ring, datafile):
    require_op("IORING_OP_FIXED_FD_INSTALL")
    fd = os.open(datafile, os.O_RDONLY)
    try:
        L.io_uring_register_files(ring, [fd, -1])
    finally:
        os.close(fd)
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_fixed_fd_install(sqe, 0, 0)
    assert (sqe.opcode, sqe.fd, sqe.flags, sqe.rw_flags) == (L.IORING_OP_FIXED_FD_INSTALL, 0, L.IOSQE_FIXED_FILE, 0)
    newfd = submit_and_reap(ring)[1]
    assert newfd >= 0
    try:
        assert os.pread(newfd, 4, 0) == b"0123"
        assert fcntl.fcntl(newfd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC
    finally:
        os.close(newfd)
    newfd = run(ring, L.io_uring_prep_fixed_fd_install, 0, L.IORING_FIXED_FD_NO_CLOEXEC)
    try:
        assert not fcntl.fcntl(newfd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC
    finally:
        os.close(newfd)
    assert run(ring, L.io_uring_prep_fixed_fd_install, 1, 0) == -errno.EBADF


# ---- vectored I/O on registered buffers, multishot read ----------------------------------------

@pytest.fixture
def registered(ring):
    buf = bytearray(8192)
    L.io_uring_register_buffers(ring, [buf])
    return ring, buf


def test_writev_fixed_and_readv_fixed(registered, rwfile):
    require_op("IORING_OP_WRITEV_FIXED")
    require_op("IORING_OP_READV_FIXED")
    ring, buf = registered
    mv = memoryview(buf)
    buf[0:5] = b"hello"
    buf[100:106] = b" world"
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_writev_fixed(sqe, rwfile, [mv[0:5], mv[100:106]], None, 4, 0, 0)
    assert (sqe.opcode, sqe.fd, sqe.len, sqe.off, sqe.buf_index) == (L.IORING_OP_WRITEV_FIXED, rwfile, 2, 4, 0)
    assert submit_and_reap(ring) == {1: 11}
    assert os.pread(rwfile, 32, 0) == b"\0" * 4 + b"hello world"

    sqe = sqe_for(ring, 2)
    L.io_uring_prep_readv_fixed(sqe, rwfile, [mv[1000:1006], mv[4000:4005]], 2, 4, 0, 0)
    assert sqe.opcode == L.IORING_OP_READV_FIXED
    assert submit_and_reap(ring) == {2: 11}
    assert bytes(buf[1000:1006]) == b"hello " and bytes(buf[4000:4005]) == b"world"
    mv.release()


def test_readv_fixed_rwf_flags(registered, pipe):
    require_op("IORING_OP_READV_FIXED")
    ring, buf = registered
    mv = memoryview(buf)
    try:
        res = run(ring, L.io_uring_prep_readv_fixed, pipe[0], [mv[0:16]], None, -1, os.RWF_NOWAIT, 0)
        assert res == -errno.EAGAIN
    finally:
        mv.release()


def test_vectored_fixed_buffers_must_be_registered(ring, registered, rwfile):
    ring, buf = registered
    sqe = L.io_uring_get_sqe(ring)
    outside = bytearray(16)
    with pytest.raises(ValueError):
        L.io_uring_prep_readv_fixed(sqe, rwfile, [outside], None, 0, 0, 0)
    with pytest.raises(ValueError):
        L.io_uring_prep_writev_fixed(sqe, rwfile, [memoryview(buf)[0:4]], None, 0, 0, 1)   # no buffer 1
    with pytest.raises(TypeError):
        L.io_uring_prep_readv_fixed(sqe, rwfile, [b"read-only"], None, 0, 0, 0)
    with pytest.raises(ValueError):
        L.io_uring_prep_writev_fixed(sqe, rwfile, [], None, 0, 0, 0)
    with pytest.raises(ValueError):
        L.io_uring_prep_writev_fixed(sqe, rwfile, [memoryview(buf)[0:4]], 2, 0, 0, 0)
    assert sqe.opcode == L.IORING_OP_NOP


def test_vectored_fixed_without_registration(ring, rwfile):
    sqe = L.io_uring_get_sqe(ring)
    with pytest.raises(ValueError):
        L.io_uring_prep_writev_fixed(sqe, rwfile, [b"abc"], None, 0, 0, 0)
    assert sqe.opcode == L.IORING_OP_NOP


def test_read_multishot_from_a_pipe(ring, pipe):
    require_op("IORING_OP_READ_MULTISHOT")
    provide = getattr(L, "io_uring_prep_provide_buffers", None)
    if provide is None:
        pytest.skip("io_uring_prep_provide_buffers is not in this build")
    r, w = pipe
    pool = bytearray(4 * 64)
    provide(sqe_for(ring, 100), pool, 64, 4, 7, 0)
    assert submit_and_reap(ring) == {100: 0}

    sqe = sqe_for(ring, 1)
    L.io_uring_prep_read_multishot(sqe, r, 0, 0, 7)
    assert (sqe.opcode, sqe.fd, sqe.len, sqe.buf_index) == (L.IORING_OP_READ_MULTISHOT, r, 0, 7)
    assert sqe.flags == L.IOSQE_BUFFER_SELECT
    L.io_uring_submit(ring)
    assert_no_completion(ring)
    got = []
    for chunk in (b"first", b"second"):
        os.write(w, chunk)
        ud, res, flags = wait_one(ring)
        assert ud == 1 and res == len(chunk)
        assert flags & L.IORING_CQE_F_BUFFER and flags & L.IORING_CQE_F_MORE
        bid = flags >> L.IORING_CQE_BUFFER_SHIFT
        got.append(bytes(pool[bid * 64: bid * 64 + res]))
    assert got == [b"first", b"second"]
    os.close(w)
    ud, res, flags = wait_one(ring)
    assert ud == 1 and res == 0 and not flags & L.IORING_CQE_F_MORE


def test_read_multishot_bad_arguments(ring):
    sqe = L.io_uring_get_sqe(ring)
    with pytest.raises(ValueError):
        L.io_uring_prep_read_multishot(sqe, 0, 0, 0, 0x10000)
    with pytest.raises(ValueError):
        L.io_uring_prep_read_multishot(sqe, 0, -1, 0, 0)
    with pytest.raises(ValueError):
        L.io_uring_prep_read_multishot(sqe, 0, 0, -5, 0)
    assert sqe.opcode == L.IORING_OP_NOP and sqe.flags == 0


# ---- timeouts, poll and epoll ------------------------------------------------------------------

def test_timeout_update_shortens_a_timeout(ring):
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_timeout(sqe, L.kernel_timespec(30, 0), 0, 0)
    L.io_uring_submit(ring)
    ts = L.kernel_timespec(0, 10_000_000)
    sqe = sqe_for(ring, 2)
    L.io_uring_prep_timeout_update(sqe, ts, 1, 0)
    assert (sqe.opcode, sqe.addr) == (L.IORING_OP_TIMEOUT_REMOVE, 1)
    assert sqe.off != 0                         # the address of ts (kernel_timespec has no buffer)
    assert sqe.rw_flags == L.IORING_TIMEOUT_UPDATE
    assert submit_and_reap(ring, 2, timeout=5.0) == {2: 0, 1: -errno.ETIME}
    assert run(ring, L.io_uring_prep_timeout_update, L.kernel_timespec(1, 0), 12345, 0) == -errno.ENOENT


def test_timeout_update_bad_arguments(ring):
    sqe = L.io_uring_get_sqe(ring)
    with pytest.raises(TypeError):
        L.io_uring_prep_timeout_update(sqe, None, 1, 0)
    with pytest.raises(TypeError):
        L.io_uring_prep_timeout_update(sqe, (1, 0), 1, 0)
    assert sqe.opcode == L.IORING_OP_NOP


def test_poll_multishot_fires_repeatedly(ring):
    efd = os.eventfd(0, os.EFD_NONBLOCK)
    try:
        sqe = sqe_for(ring, 1)
        L.io_uring_prep_poll_multishot(sqe, efd, select.POLLIN)
        assert (sqe.opcode, sqe.fd, sqe.len) == (L.IORING_OP_POLL_ADD, efd, L.IORING_POLL_ADD_MULTI)
        L.io_uring_submit(ring)
        assert_no_completion(ring)
        for _ in range(3):
            os.eventfd_write(efd, 1)
            ud, res, flags = wait_one(ring)
            assert ud == 1 and res & select.POLLIN and flags & L.IORING_CQE_F_MORE
            os.eventfd_read(efd)
        L.io_uring_prep_poll_remove(sqe_for(ring, 2), 1)
        out = {}
        L.io_uring_submit(ring)
        for _ in range(2):
            ud, res, flags = wait_one(ring)
            out[ud] = (res, bool(flags & L.IORING_CQE_F_MORE))
        assert out == {1: (-errno.ECANCELED, False), 2: (0, False)}
    finally:
        os.close(efd)


def test_poll_update_changes_mask_and_user_data(ring):
    efd = os.eventfd(0)
    try:
        L.io_uring_prep_poll_add(sqe_for(ring, 10), efd, select.POLLIN)
        L.io_uring_submit(ring)
        assert_no_completion(ring)
        flags = L.IORING_POLL_UPDATE_EVENTS | L.IORING_POLL_UPDATE_USER_DATA
        sqe = sqe_for(ring, 20)
        L.io_uring_prep_poll_update(sqe, 10, 11, select.POLLOUT, flags)
        assert (sqe.opcode, sqe.addr, sqe.off, sqe.len) == (L.IORING_OP_POLL_REMOVE, 10, 11, flags)
        assert sqe.rw_flags == select.POLLOUT
        L.io_uring_submit(ring)
        out = {}
        for _ in range(2):
            ud, res, _ = wait_one(ring)
            out[ud] = res
        assert out[20] == 0
        assert out[11] & select.POLLOUT
        assert run(ring, L.io_uring_prep_poll_update, 999, 0, select.POLLIN, L.IORING_POLL_UPDATE_EVENTS) == -errno.ENOENT
    finally:
        os.close(efd)


def test_poll_bad_arguments(ring):
    sqe = L.io_uring_get_sqe(ring)
    with pytest.raises(OverflowError):
        L.io_uring_prep_poll_update(sqe, -1, 0, 0, 0)
    with pytest.raises(TypeError):
        L.io_uring_prep_poll_multishot(sqe, "fd", select.POLLIN)
    assert sqe.opcode == L.IORING_OP_NOP


def test_epoll_event_type():
    ev = L.epoll_event(select.EPOLLIN | select.EPOLLET, 2**63 + 5)
    assert (ev.events, ev.data) == (select.EPOLLIN | select.EPOLLET, 2**63 + 5)
    ev.events, ev.data = 4, 9
    assert ev == L.epoll_event(4, 9) and ev != L.epoll_event(4, 8)
    assert L.epoll_event() == L.epoll_event(0, 0)
    with pytest.raises(OverflowError):
        L.epoll_event(-1, 0)
    arr = L.epoll_event_array(3)
    assert len(arr) == 3 and list(arr) == [L.epoll_event()] * 3
    arr[1] = L.epoll_event(1, 2)
    assert arr[-2] == L.epoll_event(1, 2)
    with pytest.raises(IndexError):
        arr[3]
    with pytest.raises(TypeError):
        arr[0] = (1, 2)
    with pytest.raises(ValueError):
        L.epoll_event_array(0)


def test_epoll_ctl_add_mod_del(ring, pipe):
    require_op("IORING_OP_EPOLL_CTL")
    r, w = pipe
    ep = select.epoll()
    try:
        ev = L.epoll_event(select.EPOLLIN, 1234)
        sqe = sqe_for(ring, 1)
        L.io_uring_prep_epoll_ctl(sqe, ep.fileno(), r, L.EPOLL_CTL_ADD, ev)
        assert (sqe.opcode, sqe.fd, sqe.off, sqe.len) == (L.IORING_OP_EPOLL_CTL, ep.fileno(), r, L.EPOLL_CTL_ADD)
        assert sqe.addr != 0
        assert submit_and_reap(ring) == {1: 0}
        os.write(w, b"x")
        assert ep.poll(0) == [(1234, select.EPOLLIN)]          # Python reports data.fd
        assert run(ring, L.io_uring_prep_epoll_ctl, ep.fileno(), r, L.EPOLL_CTL_ADD, ev) == -errno.EEXIST
        assert run(ring, L.io_uring_prep_epoll_ctl, ep.fileno(), r, L.EPOLL_CTL_MOD,
                   L.epoll_event(select.EPOLLIN, 77)) == 0
        assert ep.poll(0) == [(77, select.EPOLLIN)]
        assert run(ring, L.io_uring_prep_epoll_ctl, ep.fileno(), r, L.EPOLL_CTL_DEL, None) == 0
        assert ep.poll(0) == []
        assert run(ring, L.io_uring_prep_epoll_ctl, ep.fileno(), r, L.EPOLL_CTL_DEL, None) == -errno.ENOENT
    finally:
        ep.close()


def test_epoll_wait_fills_the_array_with_packed_events(ring):
    require_op("IORING_OP_EPOLL_WAIT")
    require_op("IORING_OP_EPOLL_CTL")
    ep = select.epoll()
    pipes = [os.pipe() for _ in range(3)]
    datas = [111, 2**40 + 222, U64_MAX]
    try:
        for (r, _), data in zip(pipes, datas):
            assert run(ring, L.io_uring_prep_epoll_ctl, ep.fileno(), r, L.EPOLL_CTL_ADD,
                       L.epoll_event(select.EPOLLIN, data)) == 0
        events = L.epoll_event_array(8)
        sqe = sqe_for(ring, 1)
        L.io_uring_prep_epoll_wait(sqe, ep.fileno(), events)
        assert (sqe.opcode, sqe.fd, sqe.len) == (L.IORING_OP_EPOLL_WAIT, ep.fileno(), 8)
        L.io_uring_submit(ring)
        assert_no_completion(ring)               # nothing ready: the request waits
        for _, w in pipes:
            os.write(w, b"!")
        ud, res, _ = wait_one(ring)
        assert ud == 1 and 1 <= res <= 3
        seen = {events[i].data for i in range(res)}
        # another wait picks up whatever the first one did not report
        if res < 3:
            more = L.epoll_event_array(8)
            n = run(ring, L.io_uring_prep_epoll_wait, ep.fileno(), more, 8, 0)
            seen |= {more[i].data for i in range(n)}
        assert seen == set(datas)                # every 64-bit data intact: the layout is right
        assert all(events[i].events == select.EPOLLIN for i in range(res))
    finally:
        ep.close()
        for r, w in pipes:
            os.close(r)
            os.close(w)


def test_epoll_wait_maxevents(ring, pipe):
    require_op("IORING_OP_EPOLL_WAIT")
    ep = select.epoll()
    try:
        ep.register(pipe[0], select.EPOLLIN)
        os.write(pipe[1], b"x")
        events = L.epoll_event_array(4)
        assert run(ring, L.io_uring_prep_epoll_wait, ep.fileno(), events, 1) == 1
        assert events[0].events == select.EPOLLIN and events[0].data & 0xFFFFFFFF == pipe[0]
        sqe = L.io_uring_get_sqe(ring)
        with pytest.raises(ValueError):
            L.io_uring_prep_epoll_wait(sqe, ep.fileno(), events, 5)
        with pytest.raises(TypeError):
            L.io_uring_prep_epoll_wait(sqe, ep.fileno(), bytearray(48), 4)
        with pytest.raises(TypeError):
            L.io_uring_prep_epoll_wait(sqe, ep.fileno(), None)
        assert sqe.opcode == L.IORING_OP_NOP
        L.io_uring_prep_epoll_wait(sqe, pipe[0], events)          # not an epoll fd
        L.io_uring_sqe_set_data64(sqe, 9)
        assert submit_and_reap(ring) == {9: -errno.EINVAL}
    finally:
        ep.close()


def test_epoll_ctl_bad_arguments(ring):
    sqe = L.io_uring_get_sqe(ring)
    with pytest.raises(TypeError):
        L.io_uring_prep_epoll_ctl(sqe, 0, 0, L.EPOLL_CTL_ADD, (select.EPOLLIN, 0))
    with pytest.raises(TypeError):
        L.io_uring_prep_epoll_ctl(sqe, 0, 0, L.EPOLL_CTL_ADD, bytearray(12))
    assert sqe.opcode == L.IORING_OP_NOP


# ---- processes and futexes ---------------------------------------------------------------------

def spawn(path, *argv):
    return os.posix_spawn(path, list(argv), os.environ)


def test_waitid_reports_exit_status(ring):
    require_op("IORING_OP_WAITID")
    pid = spawn("/bin/sh", "sh", "-c", "exit 7")
    info = L.siginfo()
    assert (info.si_pid, info.si_status, info.si_signo) == (0, 0, 0)
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_waitid(sqe, os.P_PID, pid, info, os.WEXITED)
    assert (sqe.opcode, sqe.fd, sqe.len, sqe.splice_fd_in) == (L.IORING_OP_WAITID, pid, os.P_PID, os.WEXITED)
    assert submit_and_reap(ring) == {1: 0}
    assert (info.si_pid, info.si_status, info.si_code, info.si_signo) == (pid, 7, os.CLD_EXITED, signal.SIGCHLD)
    assert info.si_uid == os.getuid()
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, 0)                      # already reaped by the ring


def test_waitid_waits_for_a_kill(ring):
    require_op("IORING_OP_WAITID")
    pid = spawn("/bin/sleep", "sleep", "30")
    info = L.siginfo()
    try:
        L.io_uring_prep_waitid(sqe_for(ring, 1), os.P_PID, pid, info, os.WEXITED, 0)
        L.io_uring_submit(ring)
        assert_no_completion(ring, 0.1)
    finally:
        os.kill(pid, signal.SIGKILL)
    assert wait_one(ring)[:2] == (1, 0)
    assert (info.si_pid, info.si_code, info.si_status) == (pid, os.CLD_KILLED, signal.SIGKILL)


def test_waitid_without_infop_and_errors(ring):
    require_op("IORING_OP_WAITID")
    pid = spawn("/bin/true", "true")
    assert run(ring, L.io_uring_prep_waitid, os.P_PID, pid, None, os.WEXITED) == 0
    assert run(ring, L.io_uring_prep_waitid, os.P_PID, pid, L.siginfo(), os.WEXITED) == -errno.ECHILD
    assert run(ring, L.io_uring_prep_waitid, os.P_PID, pid, None, 0) == -errno.EINVAL
    sqe = L.io_uring_get_sqe(ring)
    with pytest.raises(ValueError):
        L.io_uring_prep_waitid(sqe, os.P_PID, 2**40, None, os.WEXITED)
    with pytest.raises(TypeError):
        L.io_uring_prep_waitid(sqe, os.P_PID, 1, bytearray(128), os.WEXITED)
    assert sqe.opcode == L.IORING_OP_NOP


@pytest.fixture
def futex_page():
    m = mmap.mmap(-1, mmap.PAGESIZE)
    views = []

    def word(offset, size=4):
        v = memoryview(m)[offset:offset + size]
        views.append(v)
        return v

    yield m, word
    for v in views:
        v.release()
    m.close()


def test_futex_wait_then_wake(ring, futex_page):
    require_op("IORING_OP_FUTEX_WAIT")
    require_op("IORING_OP_FUTEX_WAKE")
    m, word = futex_page
    w = word(8)
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_futex_wait(sqe, w, 0, L.FUTEX_BITSET_MATCH_ANY, FUTEX_FLAGS, 0)
    assert (sqe.opcode, sqe.fd, sqe.addr, sqe.off, sqe.addr3) == (
        L.IORING_OP_FUTEX_WAIT, FUTEX_FLAGS, address_of(m) + 8, 0, L.FUTEX_BITSET_MATCH_ANY)
    L.io_uring_submit(ring)
    assert_no_completion(ring)
    sqe = sqe_for(ring, 2)
    L.io_uring_prep_futex_wake(sqe, w, 1, L.FUTEX_BITSET_MATCH_ANY, FUTEX_FLAGS, 0)
    assert (sqe.opcode, sqe.off) == (L.IORING_OP_FUTEX_WAKE, 1)
    assert submit_and_reap(ring, 2) == {1: 0, 2: 1}


def test_futex_wait_value_mismatch_is_eagain(ring, futex_page):
    require_op("IORING_OP_FUTEX_WAIT")
    m, word = futex_page
    m[0:4] = struct.pack("I", 5)
    assert run(ring, L.io_uring_prep_futex_wait, word(0), 0, L.FUTEX_BITSET_MATCH_ANY, FUTEX_FLAGS) == -errno.EAGAIN
    # nobody waits: a wake wakes nobody
    assert run(ring, L.io_uring_prep_futex_wake, word(0), 10, L.FUTEX_BITSET_MATCH_ANY, FUTEX_FLAGS) == 0


def test_futex_wake_respects_the_bitset(ring):
    require_op("IORING_OP_FUTEX_WAIT")
    word = bytearray(4)                         # a bytearray word works as well as an mmap
    L.io_uring_prep_futex_wait(sqe_for(ring, 1), word, 0, 0b01, FUTEX_FLAGS)
    L.io_uring_submit(ring)
    assert_no_completion(ring)
    assert run(ring, L.io_uring_prep_futex_wake, word, 1, 0b10, FUTEX_FLAGS, user_data=2) == 0
    assert_no_completion(ring)
    assert run(ring, L.io_uring_prep_futex_wake, word, 1, 0b11, FUTEX_FLAGS, user_data=3) == 1
    assert wait_one(ring)[:2] == (1, 0)


def test_futex_word_pinned_while_waiting(ring):
    require_op("IORING_OP_FUTEX_WAIT")
    word = bytearray(4)
    L.io_uring_prep_futex_wait(sqe_for(ring, 1), word, 0, L.FUTEX_BITSET_MATCH_ANY, FUTEX_FLAGS)
    L.io_uring_submit(ring)
    with pytest.raises(BufferError):
        word.extend(b"1234")                    # the kernel watches this address
    L.io_uring_prep_futex_wake(sqe_for(ring, 2), word, 1, L.FUTEX_BITSET_MATCH_ANY, FUTEX_FLAGS)
    assert submit_and_reap(ring, 2) == {1: 0, 2: 1}
    word.extend(b"1234")


def test_futex_waitv_reports_the_woken_index(ring, futex_page):
    require_op("IORING_OP_FUTEX_WAITV")
    m, word = futex_page
    entries = [L.futex_waitv(0, word(0), FUTEX_FLAGS), L.futex_waitv(0, word(64), FUTEX_FLAGS)]
    assert (entries[1].val, entries[1].flags) == (0, FUTEX_FLAGS)
    assert isinstance(entries[1].uaddr, memoryview)
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_futex_waitv(sqe, entries)
    assert (sqe.opcode, sqe.len) == (L.IORING_OP_FUTEX_WAITV, 2) and sqe.addr != 0
    L.io_uring_submit(ring)
    assert_no_completion(ring)
    del entries                                 # the SQE keeps them (and their words) alive
    L.io_uring_prep_futex_wake(sqe_for(ring, 2), word(64), 1, L.FUTEX_BITSET_MATCH_ANY, FUTEX_FLAGS)
    assert submit_and_reap(ring, 2) == {1: 1, 2: 1}


def test_futex_waitv_value_mismatch(ring, futex_page):
    require_op("IORING_OP_FUTEX_WAITV")
    m, word = futex_page
    m[4:8] = struct.pack("I", 3)
    entries = [L.futex_waitv(0, word(0), FUTEX_FLAGS), L.futex_waitv(0, word(4), FUTEX_FLAGS)]
    assert run(ring, L.io_uring_prep_futex_waitv, entries, 2, 0) == -errno.EAGAIN
    # nr_futex limits what is used: only the first entry, whose value matches, waits
    L.io_uring_prep_futex_waitv(sqe_for(ring, 5), entries, 1)
    L.io_uring_submit(ring)
    assert_no_completion(ring)
    assert run(ring, L.io_uring_prep_futex_wake, word(0), 1, L.FUTEX_BITSET_MATCH_ANY, FUTEX_FLAGS, user_data=6) == 1
    assert wait_one(ring)[:2] == (5, 0)


def test_futex_bad_arguments(ring):
    sqe = L.io_uring_get_sqe(ring)
    for prep in (L.io_uring_prep_futex_wait, L.io_uring_prep_futex_wake):
        with pytest.raises(ValueError):
            prep(sqe, bytearray(2), 0, 0, FUTEX_FLAGS)          # smaller than a u32 word
        with pytest.raises(ValueError):
            prep(sqe, bytearray(4), 0, 0, L.FUTEX2_SIZE_U64)
        with pytest.raises(TypeError):
            prep(sqe, b"\0\0\0\0", 0, 0, FUTEX_FLAGS)          # read-only
        with pytest.raises(TypeError):
            prep(sqe, None, 0, 0, FUTEX_FLAGS)
        with pytest.raises(OverflowError):
            prep(sqe, bytearray(4), -1, 0, FUTEX_FLAGS)
    with pytest.raises(ValueError):
        L.futex_waitv(0, bytearray(3), FUTEX_FLAGS)
    with pytest.raises(TypeError):
        L.futex_waitv(0, b"abcd", FUTEX_FLAGS)
    good = L.futex_waitv(0, bytearray(4), FUTEX_FLAGS)
    with pytest.raises(ValueError):
        L.io_uring_prep_futex_waitv(sqe, [])
    with pytest.raises(ValueError):
        L.io_uring_prep_futex_waitv(sqe, [good], 2)
    with pytest.raises(TypeError):
        L.io_uring_prep_futex_waitv(sqe, [good, (0, bytearray(4), 0)])
    with pytest.raises(ValueError):
        L.io_uring_prep_futex_waitv(sqe, [good] * (L.FUTEX_WAITV_MAX + 1))
    assert sqe.opcode == L.IORING_OP_NOP


def test_futex_constants():
    assert (L.FUTEX2_SIZE_U8, L.FUTEX2_SIZE_U16, L.FUTEX2_SIZE_U32, L.FUTEX2_SIZE_U64) == (0, 1, 2, 3)
    assert L.FUTEX2_PRIVATE == 128 and L.FUTEX_BITSET_MATCH_ANY == 0xFFFFFFFF


# ---- 128-byte SQEs -----------------------------------------------------------------------------

def test_nop128_needs_an_sqe128_ring(ring):
    sqe = L.io_uring_get_sqe(ring)
    with pytest.raises(ValueError):
        L.io_uring_prep_nop128(sqe)
    assert sqe.opcode == L.IORING_OP_NOP


def test_nop128_on_sqe128_ring():
    from helpers import make_ring
    r = make_ring(8, L.IORING_SETUP_SQE128)
    try:
        if not L.io_uring_opcode_supported(L.io_uring_get_probe_ring(r), L.IORING_OP_NOP128):
            pytest.skip(f"IORING_OP_NOP128 ({L.IORING_OP_NOP128}) is not supported by this kernel: "
                        f"probe last_op={PROBE.last_op}")
        sqe = sqe_for(r, 3)
        L.io_uring_prep_nop128(sqe)
        assert sqe.opcode == L.IORING_OP_NOP128
        assert submit_and_reap(r) == {3: 0}
    finally:
        L.io_uring_queue_exit(r)


# ---- the group as a whole ----------------------------------------------------------------------

FS_FUNCTIONS = """
rw splice tee fallocate ftruncate fadvise fadvise64 madvise madvise64 sync_file_range
unlinkat unlink renameat rename mkdirat mkdir symlinkat symlink linkat link
getxattr setxattr fgetxattr fsetxattr openat_direct open open_direct openat2_direct close_direct
files_update fixed_fd_install pipe pipe_direct readv_fixed writev_fixed read_multishot
timeout_update poll_multishot poll_update epoll_ctl epoll_wait waitid
futex_wait futex_wake futex_waitv nop128
""".split()


@pytest.mark.parametrize("name", FS_FUNCTIONS)
def test_every_fs_prep_exists_and_rejects_a_non_sqe(name):
    fn = getattr(L, f"io_uring_prep_{name}")
    assert f"io_uring_prep_{name}(" in fn.__doc__
    args = (L.IORING_OP_NOP, None) if name == "rw" else (None,)
    with pytest.raises(TypeError):
        fn(*args, *([0] * 8))


def test_stale_sqe_is_refused(ring, tmp_path):
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_nop(sqe)
    submit_and_reap(ring)
    with pytest.raises(ValueError):
        L.io_uring_prep_mkdir(sqe, tmp_path / "never", 0o700)
    with pytest.raises(ValueError):
        L.io_uring_prep_futex_wake(sqe, bytearray(4), 1, 0, FUTEX_FLAGS)
    assert not (tmp_path / "never").exists()


def test_reprep_drops_the_previous_pin(ring):
    word = bytearray(4)
    sqe = L.io_uring_get_sqe(ring)
    L.io_uring_prep_futex_wake(sqe, word, 1, L.FUTEX_BITSET_MATCH_ANY, FUTEX_FLAGS)
    with pytest.raises(BufferError):
        word.append(0)
    L.io_uring_prep_nop(sqe)                    # the SQE no longer points at the word
    word.append(0)
