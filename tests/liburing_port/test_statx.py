"""liburing test/statx.c: io_uring statx by path and by fd (AT_EMPTY_PATH) must fill struct
statx exactly as the statx(2) syscall does (C: memcmp of the whole struct); a bad statx buffer
or path address completes with -EFAULT."""
import ctypes
import errno
import os
import struct

import pytest

from ioring.liburing import *

from .conftest import raw_address, t_create_file

_libc = ctypes.CDLL(None, use_errno=True)
_NR_statx = {"x86_64": 332, "aarch64": 291}.get(os.uname().machine)   # __NR_statx

# struct statx of the kernel's uapi (256 bytes): field name -> (offset, struct format).
STATX_LAYOUT = {
    "stx_mask": (0, "I"), "stx_blksize": (4, "I"), "stx_attributes": (8, "Q"),
    "stx_nlink": (16, "I"), "stx_uid": (20, "I"), "stx_gid": (24, "I"), "stx_mode": (28, "H"),
    "stx_ino": (32, "Q"), "stx_size": (40, "Q"), "stx_blocks": (48, "Q"),
    "stx_attributes_mask": (56, "Q"),
    "stx_atime": (64, "qI"), "stx_btime": (80, "qI"), "stx_ctime": (96, "qI"), "stx_mtime": (112, "qI"),
    "stx_rdev_major": (128, "I"), "stx_rdev_minor": (132, "I"),
    "stx_dev_major": (136, "I"), "stx_dev_minor": (140, "I"),
    "stx_mnt_id": (144, "Q"), "stx_dio_mem_align": (152, "I"), "stx_dio_offset_align": (156, "I"),
    "stx_subvol": (160, "Q"), "stx_atomic_write_unit_min": (168, "I"),
    "stx_atomic_write_unit_max": (172, "I"), "stx_atomic_write_segments_max": (176, "I"),
    "stx_dio_read_offset_align": (180, "I"), "stx_atomic_write_unit_max_opt": (184, "I"),
}


def do_statx(dfd, path, flags, mask):
    """The statx(2) syscall: (0, {field: value}) or (-1, None) with errno set."""
    if _NR_statx is None:
        pytest.skip(f"no statx(2) syscall number known for {os.uname().machine}")
    buf = ctypes.create_string_buffer(256)
    ret = _libc.syscall(_NR_statx, dfd, os.fsencode(path), flags, mask, buf)
    if ret < 0:
        return -1, None
    raw = buf.raw
    return 0, {name: struct.unpack_from("<" + fmt, raw, off) for name, (off, fmt) in STATX_LAYOUT.items()}


def statx_fields(x):
    """An io_uring statx's fields, decoded like do_statx's (every field of struct statx)."""
    out = {}
    for name, (_off, fmt) in STATX_LAYOUT.items():
        v = getattr(x, name)
        out[name] = (v.tv_sec, v.tv_nsec) if fmt == "qI" else (v,)
    return out


def statx_syscall_supported():
    return 0 if ctypes.get_errno() == errno.ENOSYS else -1


def test_statx_invalid_buf(ring, path):
    x = 0x1234                                  # struct statx *x = (struct statx *) 0x1234

    sqe = io_uring_get_sqe(ring)
    assert sqe is not None, "get sqe failed"
    io_uring_prep_statx(sqe, -1, path, 0, STATX_ALL, x)

    ret = io_uring_submit(ring)
    assert ret > 0, f"sqe submit failed: {ret}"

    cqe = io_uring_wait_cqe(ring)
    ret = cqe.res
    io_uring_cqe_seen(ring, cqe)
    assert ret == -errno.EFAULT, "Invalid address didn't fail"
    return 0


def test_statx_invalid_path(ring):
    path = 0x1234                               # const char *path = (const char *) 0x1234
    x1 = statx()

    sqe = io_uring_get_sqe(ring)
    assert sqe is not None, "get sqe failed"
    io_uring_prep_statx(sqe, -1, path, 0, STATX_ALL, x1)

    ret = io_uring_submit(ring)
    assert ret > 0, f"sqe submit failed: {ret}"

    cqe = io_uring_wait_cqe(ring)
    ret = cqe.res
    io_uring_cqe_seen(ring, cqe)
    assert ret == -errno.EFAULT, "Invalid address didn't fail"
    return 0


def test_statx(ring, path):
    x1 = statx()

    sqe = io_uring_get_sqe(ring)
    assert sqe is not None, "get sqe failed"
    io_uring_prep_statx(sqe, -1, path, 0, STATX_ALL, x1)

    ret = io_uring_submit(ring)
    assert ret > 0, f"sqe submit failed: {ret}"

    cqe = io_uring_wait_cqe(ring)
    ret = cqe.res
    io_uring_cqe_seen(ring, cqe)
    if ret:
        return ret
    ret, x2 = do_statx(-1, path, 0, STATX_ALL)
    if ret < 0:
        return statx_syscall_supported()
    assert statx_fields(x1) == x2, "Miscompare between io_uring and statx"
    return 0


def test_statx_fd(ring, path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except (PermissionError,):
        return 0

    try:
        x1 = statx()

        sqe = io_uring_get_sqe(ring)
        assert sqe is not None, "get sqe failed"
        io_uring_prep_statx(sqe, fd, "", AT_EMPTY_PATH, STATX_ALL, x1)

        ret = io_uring_submit(ring)
        assert ret > 0, f"sqe submit failed: {ret}"

        cqe = io_uring_wait_cqe(ring)
        ret = cqe.res
        io_uring_cqe_seen(ring, cqe)
        if ret:
            return ret
        ret, x2 = do_statx(fd, "", AT_EMPTY_PATH, STATX_ALL)
        if ret < 0:
            return statx_syscall_supported()
        assert statx_fields(x1) == x2, "Miscompare between io_uring and statx"
        return 0
    finally:
        os.close(fd)


RING = ("io_uring", 8)          # the conftest ring fixture: io_uring_queue_init(8, &ring, 0)


@pytest.fixture
def fname():
    # C uses /tmp/.statx; the port's own temporary directory keeps parallel runs apart.
    fname = os.path.abspath(".statx")
    t_create_file(fname, 4096)
    return fname


def test_main(ring, fname):
    """main() without the two raw-address sub-tests (test_main_invalid_* below)."""
    ret = test_statx(ring, fname)
    if ret == -errno.EINVAL:
        pytest.skip("statx not supported, skipping")
    assert ret == 0, f"test_statx failed: {ret}"

    ret = test_statx_fd(ring, fname)
    assert ret == 0, f"test_statx_fd failed: {ret}"


@raw_address
def test_main_invalid_path(ring):
    assert test_statx_invalid_path(ring) == 0


@raw_address
def test_main_invalid_buf(ring, fname):
    assert test_statx_invalid_buf(ring, fname) == 0
