"""ioring.liburing: registered buffers (read_fixed/write_fixed), registered files
(IOSQE_FIXED_FILE), files_update, and the opcode probe.
"""
import array
import errno
import mmap
import os

import pytest

from ioring import liburing as L
from helpers import reap_dict, sqe_for, submit_and_reap  # noqa: E402


# ---- helpers -----------------------------------------------------------------------------------

def pattern(n, seed=0):
    return bytes((i * 13 + seed) & 0xFF for i in range(n))


def require_op(op, name):
    probe = L.io_uring_get_probe()
    if not L.io_uring_opcode_supported(probe, op):
        pytest.skip(f"kernel probe: {name} not supported (last_op={probe.last_op})")


# ---- fixtures ----------------------------------------------------------------------------------

RING = ("io_uring", 32)         # the conftest ring fixture: 32 entries


@pytest.fixture
def files(tmp_path):
    """Three files with distinct contents, opened O_RDWR: list of (fd, data)."""
    out = []
    for i in range(3):
        data = pattern(5000, seed=i * 50 + 1)
        p = tmp_path / f"f{i}"
        p.write_bytes(data)
        out.append((os.open(p, os.O_RDWR), data))
    yield out
    for fd, _ in out:
        try:
            os.close(fd)
        except OSError:
            pass


@pytest.fixture
def emptyfile(tmp_path):
    fd = os.open(tmp_path / "empty", os.O_RDWR | os.O_CREAT, 0o600)
    yield fd
    os.close(fd)


# ---- registered buffers ------------------------------------------------------------------------

def test_write_fixed_and_read_fixed_on_slices(ring, emptyfile):
    require_op(L.IORING_OP_READ_FIXED, "IORING_OP_READ_FIXED")
    b0 = bytearray(4096)
    b1 = bytearray(8192)
    assert L.io_uring_register_buffers(ring, [b0, b1]) == 0
    data = pattern(1000, seed=7)
    b0[100:1100] = data
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_write_fixed(sqe, emptyfile, memoryview(b0)[100:1100], 1000, 512, 0)
    assert sqe.opcode == L.IORING_OP_WRITE_FIXED
    assert sqe.buf_index == 0 and sqe.len == 1000 and sqe.off == 512
    assert submit_and_reap(ring, 1) == {1: 1000}
    assert os.pread(emptyfile, 2000, 512) == data
    sqe = sqe_for(ring, 2)
    L.io_uring_prep_read_fixed(sqe, emptyfile, memoryview(b1)[4000:5000], 1000, 512, 1)
    assert sqe.opcode == L.IORING_OP_READ_FIXED and sqe.buf_index == 1
    assert submit_and_reap(ring, 1) == {2: 1000}
    assert bytes(b1[4000:5000]) == data
    assert b1[:4000] == bytearray(4000) and b1[5000:] == bytearray(3192)
    assert L.io_uring_unregister_buffers(ring) == 0


def test_fixed_whole_buffer_and_partial_nbytes(ring, files):
    fd, data = files[0]
    buf = bytearray(b"\xAA" * 4096)
    L.io_uring_register_buffers(ring, [buf])
    L.io_uring_prep_read_fixed(sqe_for(ring, 1), fd, buf, 100, 10, 0)
    assert submit_and_reap(ring, 1) == {1: 100}
    assert bytes(buf[:100]) == data[10:110]
    assert bytes(buf[100:]) == b"\xAA" * 3996
    L.io_uring_prep_read_fixed(sqe_for(ring, 2), fd, buf, 4096, 0, 0)
    assert submit_and_reap(ring, 1) == {2: 4096}
    assert bytes(buf) == data[:4096]


def test_read_fixed_short_at_eof(ring, files):
    fd, data = files[1]
    buf = bytearray(b"\xAA" * 4096)
    L.io_uring_register_buffers(ring, [buf])
    L.io_uring_prep_read_fixed(sqe_for(ring, 1), fd, buf, 4096, 4900, 0)
    assert submit_and_reap(ring, 1) == {1: 100}
    assert bytes(buf[:100]) == data[4900:]
    assert bytes(buf[100:]) == b"\xAA" * 3996


def test_read_fixed_offset_minus_one(ring, files):
    fd, data = files[0]
    os.lseek(fd, 300, os.SEEK_SET)
    buf = bytearray(64)
    L.io_uring_register_buffers(ring, [buf])
    L.io_uring_prep_read_fixed(sqe_for(ring, 1), fd, buf, 64, -1, 0)
    assert submit_and_reap(ring, 1) == {1: 64}
    assert bytes(buf) == data[300:364]
    assert os.lseek(fd, 0, os.SEEK_CUR) == 364


def test_register_mmap_and_array_buffers(ring, files, emptyfile):
    fd, data = files[2]
    mm = mmap.mmap(-1, 8192)
    arr = array.array("Q", [0] * 64)               # 512 bytes
    L.io_uring_register_buffers(ring, [mm, arr])
    L.io_uring_prep_read_fixed(sqe_for(ring, 1), fd, mm, 4096, 0, 0)
    L.io_uring_prep_read_fixed(sqe_for(ring, 2), fd, memoryview(arr).cast("B")[8:], 504, 1000, 1)
    assert submit_and_reap(ring, 2) == {1: 4096, 2: 504}
    assert mm[:4096] == data[:4096]
    assert arr.tobytes()[8:] == data[1000:1504]
    L.io_uring_prep_write_fixed(sqe_for(ring, 3), emptyfile, memoryview(mm)[4096:], 4096, 0, 0)
    mm[4096:] = pattern(4096, seed=99)
    assert submit_and_reap(ring, 1) == {3: 4096}
    assert os.pread(emptyfile, 8192, 0) == pattern(4096, seed=99)
    L.io_uring_unregister_buffers(ring)
    mm.close()


def test_nr_iovecs_registers_a_prefix(ring, files):
    fd, _ = files[0]
    a, b = bytearray(64), bytearray(64)
    L.io_uring_register_buffers(ring, [a, b], 1)
    sqe = sqe_for(ring, 1)
    with pytest.raises(ValueError):
        L.io_uring_prep_read_fixed(sqe, fd, b, 64, 0, 1)        # only one registered
    b.append(0)                                                # b was never pinned
    with pytest.raises(BufferError):
        a.append(0)
    L.io_uring_prep_nop(sqe)
    assert submit_and_reap(ring, 1) == {1: 0}
    with pytest.raises(ValueError):
        L.io_uring_register_buffers(ring, [a], 2)


def test_fixed_buffer_outside_registered_range_raises(ring, files):
    fd, _ = files[0]
    b0, b1 = bytearray(4096), bytearray(4096)
    other = bytearray(4096)
    L.io_uring_register_buffers(ring, [b0, b1])
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_nop(sqe)
    cases = [
        (other, 16, 0),                           # not registered at all
        (memoryview(b0)[:16], 16, 1),             # registered, but as buffer 0, not 1
        (memoryview(b1)[100:], 16, 0),
        (b0, 16, 2),                              # bad buf_index
        (b0, 16, -1),
        (b0, 16, 65536),
        (bytearray(8192), 8192, 0),               # larger than any registered buffer
    ]
    for buf, nbytes, index in cases:
        with pytest.raises(ValueError):
            L.io_uring_prep_read_fixed(sqe, fd, buf, nbytes, 0, index)
        with pytest.raises(ValueError):
            L.io_uring_prep_write_fixed(sqe, fd, buf, nbytes, 0, index)
        assert sqe.opcode == L.IORING_OP_NOP
    with pytest.raises(ValueError):
        L.io_uring_prep_read_fixed(sqe, fd, b0, 4097, 0, 0)     # nbytes larger than the buffer
    with pytest.raises(TypeError):
        L.io_uring_prep_read_fixed(sqe, fd, bytes(16), 16, 0, 0)
    with pytest.raises(ValueError):
        L.io_uring_prep_read_fixed(sqe, fd, b0, 16, -2, 0)
    assert sqe.opcode == L.IORING_OP_NOP and sqe.addr == 0 and sqe.buf_index == 0
    other.append(0)                                          # no pin leaked
    assert submit_and_reap(ring, 1) == {1: 0}


def test_fixed_buffer_straddling_two_registered_buffers_raises(ring, files):
    """A slice that starts in one registered buffer and runs past its end is refused."""
    fd, _ = files[0]
    big = bytearray(8192)
    view = memoryview(big)
    L.io_uring_register_buffers(ring, [view[:4096], view[4096:]])
    sqe = sqe_for(ring, 1)
    with pytest.raises(ValueError):
        L.io_uring_prep_read_fixed(sqe, fd, view[4000:4200], 200, 0, 0)
    with pytest.raises(ValueError):
        L.io_uring_prep_read_fixed(sqe, fd, view[4000:4200], 200, 0, 1)
    L.io_uring_prep_read_fixed(sqe, fd, view[4096:4296], 200, 0, 1)
    assert sqe.buf_index == 1
    assert submit_and_reap(ring, 1) == {1: 200}


def test_fixed_without_registration_raises(ring, files):
    fd, _ = files[0]
    sqe = sqe_for(ring, 1)
    buf = bytearray(16)
    with pytest.raises(ValueError):
        L.io_uring_prep_read_fixed(sqe, fd, buf, 16, 0, 0)
    with pytest.raises(ValueError):
        L.io_uring_prep_write_fixed(sqe, fd, buf, 16, 0, 0)
    assert sqe.opcode == L.IORING_OP_NOP
    buf.append(0)
    assert submit_and_reap(ring, 1) == {1: 0}


def test_registered_bytearray_cannot_be_resized_until_unregistered(ring):
    buf = bytearray(4096)
    L.io_uring_register_buffers(ring, [buf])
    with pytest.raises(BufferError):
        buf.extend(b"x")
    with pytest.raises(BufferError):
        del buf[0:10]
    buf[0:3] = b"abc"                              # same-size writes are fine
    assert L.io_uring_unregister_buffers(ring) == 0
    buf.extend(b"x")
    assert len(buf) == 4097


def test_fixed_prep_after_unregister_raises(ring, files):
    fd, _ = files[0]
    buf = bytearray(64)
    L.io_uring_register_buffers(ring, [buf])
    L.io_uring_unregister_buffers(ring)
    sqe = sqe_for(ring, 1)
    with pytest.raises(ValueError):
        L.io_uring_prep_read_fixed(sqe, fd, buf, 64, 0, 0)
    L.io_uring_prep_nop(sqe)
    assert submit_and_reap(ring, 1) == {1: 0}


def test_unregister_between_prep_and_submit(ring, files):
    """The kernel looks the buffer up at issue time: after unregistering it says -EFAULT,
    and the buffer stays pinned by the prepared SQE until its completion is seen."""
    fd, _ = files[0]
    buf = bytearray(b"\xAA" * 64)
    L.io_uring_register_buffers(ring, [buf])
    L.io_uring_prep_read_fixed(sqe_for(ring, 1), fd, buf, 64, 0, 0)
    L.io_uring_unregister_buffers(ring)
    with pytest.raises(BufferError):
        buf.append(0)
    res = submit_and_reap(ring, 1)[1]
    assert res == -errno.EFAULT
    assert bytes(buf) == b"\xAA" * 64
    buf.append(0)


def test_register_buffers_errors(ring):
    a = bytearray(64)
    with pytest.raises(TypeError):
        L.io_uring_register_buffers(ring, [bytes(64)])           # read-only
    with pytest.raises(TypeError):
        L.io_uring_register_buffers(ring, [a, "str"])
    a.append(0)                                                 # nothing left pinned
    with pytest.raises(ValueError):
        L.io_uring_register_buffers(ring, [])
    with pytest.raises(OSError) as exc:
        L.io_uring_unregister_buffers(ring)                     # none registered
    assert exc.value.errno == errno.ENXIO
    L.io_uring_register_buffers(ring, [a])
    b = bytearray(64)
    with pytest.raises(OSError) as exc:
        L.io_uring_register_buffers(ring, [b])                  # already registered
    assert exc.value.errno == errno.EBUSY
    b.append(0)                                                 # the failed call released b
    with pytest.raises(BufferError):
        a.append(0)                                             # the first registration holds
    L.io_uring_unregister_buffers(ring)
    a.append(0)


def test_register_buffers_on_closed_ring():
    r = L.io_uring()
    L.io_uring_queue_init(4, r)
    L.io_uring_queue_exit(r)
    buf = bytearray(64)
    with pytest.raises(ValueError):
        L.io_uring_register_buffers(r, [buf])
    buf.append(0)


def test_queue_exit_releases_registered_buffers():
    r = L.io_uring()
    L.io_uring_queue_init(4, r)
    buf = bytearray(64)
    L.io_uring_register_buffers(r, [buf])
    with pytest.raises(BufferError):
        buf.append(0)
    L.io_uring_queue_exit(r)
    buf.append(0)


def test_read_fixed_in_flight_keeps_pin_after_unregister(ring, files):
    r, w = os.pipe()
    try:
        buf = bytearray(16)
        L.io_uring_register_buffers(ring, [buf])
        L.io_uring_prep_read_fixed(sqe_for(ring, 1), r, buf, 16, -1, 0)
        L.io_uring_submit(ring)
        assert L.io_uring_wait_cqe_timeout(ring, L.kernel_timespec(0, 50_000_000)) is None
        L.io_uring_unregister_buffers(ring)
        with pytest.raises(BufferError):
            buf.append(0)                             # the in-flight read keeps its own pin
        os.write(w, b"fixed pipe")
        assert reap_dict(ring, 1) == {1: 10}
        assert bytes(buf[:10]) == b"fixed pipe"
        buf.append(0)
    finally:
        os.close(r)
        os.close(w)


# ---- registered files --------------------------------------------------------------------------

def test_register_files_and_read_by_index(ring, files):
    fds = [fd for fd, _ in files]
    assert L.io_uring_register_files(ring, fds) == 0
    bufs = [bytearray(100) for _ in files]
    for i, buf in enumerate(bufs):
        sqe = sqe_for(ring, i, L.IOSQE_FIXED_FILE)
        L.io_uring_prep_read(sqe, 2 - i, buf, 100, 20)          # index, not fd
        assert sqe.fd == 2 - i and sqe.flags == L.IOSQE_FIXED_FILE
    assert submit_and_reap(ring, 3) == {0: 100, 1: 100, 2: 100}
    for i, buf in enumerate(bufs):
        assert bytes(buf) == files[2 - i][1][20:120]
    assert L.io_uring_unregister_files(ring) == 0


def test_registered_file_survives_closing_the_fd(ring, tmp_path):
    p = tmp_path / "kept"
    p.write_bytes(b"still reachable")
    fd = os.open(p, os.O_RDONLY)
    L.io_uring_register_files(ring, [fd])
    os.close(fd)
    buf = bytearray(32)
    L.io_uring_prep_read(sqe_for(ring, 1, L.IOSQE_FIXED_FILE), 0, buf, 32, 0)
    assert submit_and_reap(ring, 1) == {1: 15}
    assert bytes(buf[:15]) == b"still reachable"


def test_write_through_fixed_file(ring, emptyfile):
    L.io_uring_register_files(ring, [-1, emptyfile])
    L.io_uring_prep_write(sqe_for(ring, 1, L.IOSQE_FIXED_FILE), 1, b"fixed write", 11, 0)
    L.io_uring_prep_fsync(sqe_for(ring, 2, L.IOSQE_FIXED_FILE), 1)
    assert submit_and_reap(ring, 2) == {1: 11, 2: 0}
    assert os.pread(emptyfile, 100, 0) == b"fixed write"


def test_sparse_file_table(ring, files):
    fd, data = files[0]
    assert L.io_uring_register_files(ring, [-1, -1, fd]) == 0
    b0, b2 = bytearray(8), bytearray(8)
    L.io_uring_prep_read(sqe_for(ring, 1, L.IOSQE_FIXED_FILE), 0, b0, 8, 0)
    L.io_uring_prep_read(sqe_for(ring, 2, L.IOSQE_FIXED_FILE), 2, b2, 8, 0)
    L.io_uring_prep_read(sqe_for(ring, 3, L.IOSQE_FIXED_FILE), 3, bytearray(8), 8, 0)   # past the end
    got = submit_and_reap(ring, 3)
    assert got == {1: -errno.EBADF, 2: 8, 3: -errno.EBADF}
    assert b0 == bytearray(8)
    assert bytes(b2) == data[:8]


def test_files_update_replaces_a_slot(ring, files):
    (fd0, data0), (fd1, data1), (fd2, data2) = files
    L.io_uring_register_files(ring, [fd0, -1])
    assert L.io_uring_register_files_update(ring, 0, [fd1]) == 1
    assert L.io_uring_register_files_update(ring, 1, [fd2]) == 1
    b0, b1 = bytearray(16), bytearray(16)
    L.io_uring_prep_read(sqe_for(ring, 1, L.IOSQE_FIXED_FILE), 0, b0, 16, 0)
    L.io_uring_prep_read(sqe_for(ring, 2, L.IOSQE_FIXED_FILE), 1, b1, 16, 0)
    assert submit_and_reap(ring, 2) == {1: 16, 2: 16}
    assert bytes(b0) == data1[:16]
    assert bytes(b1) == data2[:16]


def test_files_update_several_skip_and_clear(ring, files):
    (fd0, data0), (fd1, data1), (fd2, data2) = files
    L.io_uring_register_files(ring, [fd0, fd1, fd2])
    n = L.io_uring_register_files_update(ring, 0, [-1, L.IORING_REGISTER_FILES_SKIP, fd0])
    assert n == 3
    bufs = [bytearray(4) for _ in range(3)]
    for i in range(3):
        L.io_uring_prep_read(sqe_for(ring, i, L.IOSQE_FIXED_FILE), i, bufs[i], 4, 0)
    assert submit_and_reap(ring, 3) == {0: -errno.EBADF, 1: 4, 2: 4}
    assert bytes(bufs[1]) == data1[:4]                 # skipped: unchanged
    assert bytes(bufs[2]) == data0[:4]                 # replaced


def test_files_update_nr_files_prefix(ring, files):
    (fd0, data0), (fd1, data1), _ = files
    L.io_uring_register_files(ring, [fd0, fd0])
    assert L.io_uring_register_files_update(ring, 0, [fd1, fd1], 1) == 1
    a, b = bytearray(4), bytearray(4)
    L.io_uring_prep_read(sqe_for(ring, 1, L.IOSQE_FIXED_FILE), 0, a, 4, 0)
    L.io_uring_prep_read(sqe_for(ring, 2, L.IOSQE_FIXED_FILE), 1, b, 4, 0)
    assert submit_and_reap(ring, 2) == {1: 4, 2: 4}
    assert bytes(a) == data1[:4] and bytes(b) == data0[:4]
    with pytest.raises(ValueError):
        L.io_uring_register_files_update(ring, 0, [fd1], 2)


def test_files_update_errors(ring, files):
    fd0, _ = files[0]
    with pytest.raises(OSError) as exc:
        L.io_uring_register_files_update(ring, 0, [fd0])       # no table
    assert exc.value.errno == errno.ENXIO
    L.io_uring_register_files(ring, [fd0, fd0])
    with pytest.raises(OSError) as exc:
        L.io_uring_register_files_update(ring, 1, [fd0, fd0])  # runs past the table
    assert exc.value.errno == errno.EINVAL
    with pytest.raises(OSError) as exc:
        L.io_uring_register_files_update(ring, 0, [999999])    # not an open fd
    assert exc.value.errno == errno.EBADF
    with pytest.raises(OverflowError):
        L.io_uring_register_files_update(ring, -1, [fd0])
    with pytest.raises(TypeError):
        L.io_uring_register_files_update(ring, 0, ["x"])


def test_fixed_file_after_unregister_is_ebadf(ring, files):
    fd, _ = files[0]
    L.io_uring_register_files(ring, [fd])
    assert L.io_uring_unregister_files(ring) == 0
    L.io_uring_prep_read(sqe_for(ring, 1, L.IOSQE_FIXED_FILE), 0, bytearray(8), 8, 0)
    assert submit_and_reap(ring, 1) == {1: -errno.EBADF}
    assert os.pread(fd, 4, 0) == files[0][1][:4]           # the real fd is unaffected


def test_register_files_errors(ring, files):
    fd0, _ = files[0]
    with pytest.raises(OSError) as exc:
        L.io_uring_unregister_files(ring)                      # none registered
    assert exc.value.errno == errno.ENXIO
    with pytest.raises(OSError) as exc:
        L.io_uring_register_files(ring, [fd0, 999999])
    assert exc.value.errno == errno.EBADF
    with pytest.raises(OSError) as exc:
        L.io_uring_register_files(ring, [])
    assert exc.value.errno == errno.EINVAL
    with pytest.raises(ValueError):
        L.io_uring_register_files(ring, [fd0], 2)
    with pytest.raises(ValueError):
        L.io_uring_register_files(ring, [fd0], -1)
    with pytest.raises(TypeError):
        L.io_uring_register_files(ring, [fd0, "x"])
    with pytest.raises(OverflowError):
        L.io_uring_register_files(ring, [2**40])
    with pytest.raises(TypeError):
        L.io_uring_register_files(ring, 5)
    assert L.io_uring_register_files(ring, [fd0]) == 0
    with pytest.raises(OSError) as exc:
        L.io_uring_register_files(ring, [fd0])                 # already registered
    assert exc.value.errno == errno.EBUSY


def test_register_files_float_fd_is_rejected(ring, files):
    """A float is not an fd: TypeError (as os.fstat(1.5) says), never truncated to fd 1."""
    fd0, _ = files[0]
    with pytest.raises(TypeError):
        L.io_uring_register_files(ring, [fd0, 1.5])
    L.io_uring_register_files(ring, [fd0, -1])
    with pytest.raises(TypeError):
        L.io_uring_register_files_update(ring, 1, [2.5])


def test_register_files_nr_prefix(ring, files):
    (fd0, data0), (fd1, _), _ = files
    L.io_uring_register_files(ring, [fd0, fd1], 1)
    L.io_uring_prep_read(sqe_for(ring, 1, L.IOSQE_FIXED_FILE), 1, bytearray(4), 4, 0)
    buf = bytearray(4)
    L.io_uring_prep_read(sqe_for(ring, 2, L.IOSQE_FIXED_FILE), 0, buf, 4, 0)
    assert submit_and_reap(ring, 2) == {1: -errno.EBADF, 2: 4}
    assert bytes(buf) == data0[:4]


def test_fixed_file_with_openat_and_close_unaffected(ring, files):
    """A plain close on the registered fd number does not touch the registered slot."""
    fd, data = files[0]
    L.io_uring_register_files(ring, [fd])
    L.io_uring_prep_close(sqe_for(ring, 1), fd)
    assert submit_and_reap(ring, 1) == {1: 0}
    with pytest.raises(OSError):
        os.fstat(fd)
    buf = bytearray(8)
    L.io_uring_prep_read(sqe_for(ring, 2, L.IOSQE_FIXED_FILE), 0, buf, 8, 0)
    assert submit_and_reap(ring, 1) == {2: 8}
    assert bytes(buf) == data[:8]


def test_fixed_file_with_fixed_buffer(ring, files, emptyfile):
    fd, data = files[1]
    L.io_uring_register_files(ring, [emptyfile, fd])
    buf = bytearray(256)
    L.io_uring_register_buffers(ring, [buf])
    L.io_uring_prep_read_fixed(sqe_for(ring, 1, L.IOSQE_FIXED_FILE | L.IOSQE_IO_LINK), 1, buf, 256, 64, 0)
    L.io_uring_prep_write_fixed(sqe_for(ring, 2, L.IOSQE_FIXED_FILE), 0, buf, 256, 0, 0)
    assert submit_and_reap(ring, 2) == {1: 256, 2: 256}
    assert os.pread(emptyfile, 1000, 0) == data[64:320]


# ---- probe -------------------------------------------------------------------------------------

def test_get_probe_reports_supported_ops():
    probe = L.io_uring_get_probe()
    assert probe.last_op >= L.IORING_OP_RECV
    assert probe.ops_len == probe.last_op + 1
    ops = probe.ops
    assert len(ops) == probe.ops_len
    for i, op in enumerate(ops):
        assert op.op == i
    for op in (L.IORING_OP_NOP, L.IORING_OP_READV, L.IORING_OP_WRITEV, L.IORING_OP_FSYNC,
               L.IORING_OP_READ_FIXED, L.IORING_OP_WRITE_FIXED, L.IORING_OP_POLL_ADD,
               L.IORING_OP_POLL_REMOVE, L.IORING_OP_TIMEOUT, L.IORING_OP_TIMEOUT_REMOVE,
               L.IORING_OP_ASYNC_CANCEL, L.IORING_OP_LINK_TIMEOUT, L.IORING_OP_OPENAT,
               L.IORING_OP_CLOSE, L.IORING_OP_STATX, L.IORING_OP_READ, L.IORING_OP_WRITE,
               L.IORING_OP_SEND, L.IORING_OP_RECV, L.IORING_OP_OPENAT2):
        assert L.io_uring_opcode_supported(probe, op) is True, op
        assert ops[op].flags & 1                          # IO_URING_OP_SUPPORTED
    assert L.io_uring_opcode_supported(probe, probe.last_op + 1) is False
    assert L.io_uring_opcode_supported(probe, 255) is False
    assert L.io_uring_opcode_supported(probe, -1) is False
    assert L.io_uring_opcode_supported(probe, 10**6) is False
    assert L.io_uring_free_probe(probe) is None


def test_get_probe_ring_matches_get_probe(ring):
    p1 = L.io_uring_get_probe()
    p2 = L.io_uring_get_probe_ring(ring)
    assert (p1.last_op, p1.ops_len) == (p2.last_op, p2.ops_len)
    assert [(o.op, o.flags) for o in p1.ops] == [(o.op, o.flags) for o in p2.ops]


def test_probe_on_closed_ring():
    r = L.io_uring()
    L.io_uring_queue_init(4, r)
    L.io_uring_queue_exit(r)
    with pytest.raises(ValueError):
        L.io_uring_get_probe_ring(r)
    with pytest.raises(ValueError):
        L.io_uring_get_probe_ring(L.io_uring())
    with pytest.raises(TypeError):
        L.io_uring_opcode_supported(None, 0)


def test_registered_mmap_and_array_are_pinned(ring):
    mm = mmap.mmap(-1, 4096)
    arr = array.array("i", [0] * 16)
    L.io_uring_register_buffers(ring, [mm, arr])
    with pytest.raises(BufferError):
        mm.close()
    with pytest.raises(BufferError):
        arr.append(1)
    L.io_uring_unregister_buffers(ring)
    arr.append(1)
    mm.close()


def test_register_buffers_with_memoryview_slices_of_one_bytearray(ring, files):
    fd, data = files[0]
    big = bytearray(1024)
    L.io_uring_register_buffers(ring, [memoryview(big)[:512], memoryview(big)[512:]])
    L.io_uring_prep_read_fixed(sqe_for(ring, 1), fd, memoryview(big)[512:612], 100, 0, 1)
    L.io_uring_prep_read_fixed(sqe_for(ring, 2), fd, memoryview(big)[0:100], 100, 100, 0)
    assert submit_and_reap(ring, 2) == {1: 100, 2: 100}
    assert bytes(big[512:612]) == data[:100]
    assert bytes(big[:100]) == data[100:200]
    with pytest.raises(BufferError):
        big.append(0)
    L.io_uring_unregister_buffers(ring)
    import gc
    gc.collect()
    big.append(0)
