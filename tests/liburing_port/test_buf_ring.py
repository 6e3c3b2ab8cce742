"""liburing test/buf-ring.c: provided-buffer rings: register/unregister, a second register
of the same group (-EEXIST), classic provided buffers and a ring in the same group (both
orders), a bad ring address, a ring filling exactly one page before a PROT_NONE page, and
reads picking every buffer of rings of 1, 32768 and 4096 entries, from user memory
(io_uring_setup_buf_ring) and from kernel memory (IOU_PBUF_RING_MMAP)."""
import ctypes
import errno
import mmap
import os

import pytest

from ioring.liburing import *

from .conftest import (T_EXIT_FAIL, T_EXIT_PASS, T_EXIT_SKIP, T_SETUP_OK, T_SETUP_SKIP, raw_address,
                       t_create_ring)

no_buf_ring = 0
pagesize = mmap.PAGESIZE
SIZEOF_IO_URING_BUF = 16

# C runs test_running 3 loops over each ring size; one loop already reads through every buffer
# of each ring (and checks the -ENOBUFS after them), and keeps the port fast.
RUNNING_LOOPS = 1


def _ring():
    ring = io_uring()
    ret = t_create_ring(1, ring, 0)
    return ret, ring


def _errno_of(call, *args):
    try:
        return call(*args)
    except OSError as exc:
        return -exc.errno


def test_mixed_reg2(bgid):
    """test trying to register classic group when ring group exists"""
    ret, ring = _ring()
    if ret == T_SETUP_SKIP:
        return 0
    assert ret == T_SETUP_OK
    try:
        br = io_uring_setup_buf_ring(ring, 32, bgid, 0)

        # provide classic buffers, group 1
        bufs = bytearray(8 * 1024)
        sqe = io_uring_get_sqe(ring)
        io_uring_prep_provide_buffers(sqe, bufs, 1024, 8, bgid, 0)
        io_uring_submit(ring)
        cqe = io_uring_wait_cqe(ring)
        assert cqe.res in (-errno.EEXIST, -errno.EINVAL), f"cqe res {cqe.res}"
        io_uring_cqe_seen(ring, cqe)

        io_uring_free_buf_ring(ring, br, 32, bgid)
    finally:
        io_uring_queue_exit(ring)
    return 0


def test_mixed_reg(bgid):
    """test trying to register ring group when classic group exists"""
    ret, ring = _ring()
    if ret == T_SETUP_SKIP:
        return 0
    assert ret == T_SETUP_OK
    try:
        # provide classic buffers, group 1
        bufs = bytearray(8 * 1024)
        sqe = io_uring_get_sqe(ring)
        io_uring_prep_provide_buffers(sqe, bufs, 1024, 8, bgid, 0)
        io_uring_submit(ring)
        cqe = io_uring_wait_cqe(ring)
        assert cqe.res == 0, f"cqe res {cqe.res}"
        io_uring_cqe_seen(ring, cqe)

        with pytest.raises(OSError):
            io_uring_setup_buf_ring(ring, 32, bgid, 0)   # Buffer ring setup succeeded unexpectedly
    finally:
        io_uring_queue_exit(ring)
    return 0


def test_double_reg_unreg(bgid):
    ret, ring = _ring()
    if ret == T_SETUP_SKIP:
        return 0
    assert ret == T_SETUP_OK
    try:
        br = io_uring_setup_buf_ring(ring, 32, bgid, 0)

        # check that 2nd register with same bgid fails: C passes the address of the ring
        # just registered (reg.ring_addr = (unsigned long) br).
        reg = io_uring_buf_reg(br, 32, bgid)

        ret = _errno_of(io_uring_register_buf_ring, ring, reg, 0)
        assert ret == -errno.EEXIST, f"Buffer ring register failed {ret}"

        ret = io_uring_free_buf_ring(ring, br, 32, bgid)
        assert ret == 0, f"Buffer ring register failed {ret}"

        ret = _errno_of(io_uring_unregister_buf_ring, ring, bgid)
        assert ret in (-errno.EINVAL, -errno.ENOENT), f"Buffer ring register failed {ret}"
    finally:
        io_uring_queue_exit(ring)
    return 0


def test_reg_unreg(bgid):
    global no_buf_ring
    ret, ring = _ring()
    if ret == T_SETUP_SKIP:
        return 0
    assert ret == T_SETUP_OK
    try:
        try:
            br = io_uring_setup_buf_ring(ring, 32, bgid, 0)
        except OSError as exc:
            if exc.errno == errno.EINVAL:
                no_buf_ring = 1
                return 0
            raise

        ret = io_uring_free_buf_ring(ring, br, 32, bgid)
        assert ret == 0, f"Buffer ring unregister failed {ret}"
    finally:
        io_uring_queue_exit(ring)
    return 0


def test_bad_reg(bgid):
    ret, ring = _ring()
    if ret == T_SETUP_SKIP:
        return 0
    assert ret == T_SETUP_OK
    try:
        reg = io_uring_buf_reg(4096, 32, bgid)          # reg.ring_addr = 4096

        ret = _errno_of(io_uring_register_buf_ring, ring, reg, 0)
        assert ret != 0, "Buffer ring register worked unexpectedly"
    finally:
        io_uring_queue_exit(ring)
    return 0


_libc = ctypes.CDLL(None, use_errno=True)
_libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]


def _mprotect(mem, offset, length, prot):
    """mprotect(ptr + offset, length, prot) on an mmap object's pages."""
    base = ctypes.addressof(ctypes.c_char.from_buffer(mem))
    return _libc.mprotect(base + offset, length, prot)


def test_full_page_reg(bgid):
    entries = pagesize // SIZEOF_IO_URING_BUF

    ring = io_uring()
    io_uring_queue_init(1, ring, 0)

    ptr = mmap.mmap(-1, pagesize * 2)               # posix_memalign(&ptr, pagesize, pagesize * 2)
    try:
        ret = _mprotect(ptr, pagesize, pagesize, 0)    # PROT_NONE
        assert ret == 0, f"mprotect failed {ctypes.get_errno()}"

        reg = io_uring_buf_reg(memoryview(ptr)[:pagesize], entries, bgid)

        ret = _errno_of(io_uring_register_buf_ring, ring, reg, 0)

        assert _mprotect(ptr, pagesize, pagesize, mmap.PROT_READ | mmap.PROT_WRITE) == 0, \
            "reverting mprotect failed"
    finally:
        io_uring_queue_exit(ring)
    return T_EXIT_FAIL if ret else T_EXIT_PASS


def test_one_read(fd, bgid, ring):
    sqe = io_uring_get_sqe(ring)
    assert sqe is not None, "get sqe failed"

    io_uring_prep_read(sqe, fd, None, 1, 0)
    sqe.flags |= IOSQE_BUFFER_SELECT
    sqe.buf_group = bgid
    ret = io_uring_submit(ring)
    assert ret > 0, f"sqe submit failed: {ret}"

    cqe = io_uring_wait_cqe(ring)
    ret = cqe.res
    io_uring_cqe_seen(ring, cqe)

    if ret == -errno.ENOBUFS:
        return ret

    assert ret == 1, f"read result {ret}"
    return cqe.flags >> 16


def test_running(bgid, entries, loops, use_mmap):
    ring_mask = io_uring_buf_ring_mask(entries)
    buffer = bytearray(8)

    ret, ring = _ring()
    if ret == T_SETUP_SKIP:
        return T_EXIT_SKIP
    assert ret == T_SETUP_OK

    read_fd = os.open("/dev/zero", os.O_RDONLY)
    try:
        if not use_mmap:
            br = io_uring_setup_buf_ring(ring, entries, bgid, 0)
        else:
            reg = io_uring_buf_reg(None, entries, bgid, IOU_PBUF_RING_MMAP)
            try:
                io_uring_register_buf_ring(ring, reg, 0)
            except OSError as exc:
                if exc.errno == errno.EINVAL:
                    return T_EXIT_SKIP
                raise
            # C mmaps IORING_OFF_PBUF_RING | bgid << IORING_OFF_PBUF_SHIFT of the ring fd;
            # ioring maps the kernel's ring at registration and hands it out as reg.br.
            br = reg.br

        for loop in range(loops):
            buffers = [False] * entries
            for idx in range(entries):
                io_uring_buf_ring_add(br, buffer, len(buffer), idx, ring_mask, idx)
            io_uring_buf_ring_advance(br, entries)

            for idx in range(entries):
                buffer[:] = b"\1" * len(buffer)
                ret = test_one_read(read_fd, bgid, ring)
                assert ret >= 0, f"bad run {loop}/{idx} = {ret}"
                assert not buffers[ret], f"reused buffer {loop}/{idx} = {ret}!"
                assert buffer[0] == 0, f"unexpected read {buffer[0]} {loop}/{idx} = {ret}!"
                assert buffer[1] == 1, f"unexpected spilled read {buffer[1]} {loop}/{idx} = {ret}!"
                buffers[ret] = True
            ret = test_one_read(read_fd, bgid, ring)
            assert ret == -errno.ENOBUFS, f"expected enobufs run {loop} = {ret}"

        ret = io_uring_unregister_buf_ring(ring, bgid)
        assert ret == 0, f"Buffer ring register failed {ret}"
    finally:
        os.close(read_fd)
        io_uring_queue_exit(ring)
    return T_EXIT_PASS


bgids = [1, 127]
entries_list = [1, 32768, 4096]


def test_main():
    """main() without test_bad_reg and test_double_reg_unreg (the raw-address cases below) and
    without its last loop, over kernel-allocated rings (test_main_mmap)."""
    for bgid in bgids:
        assert test_reg_unreg(bgid) == 0, "test_reg_unreg failed"
        if no_buf_ring:
            break
        assert test_mixed_reg(bgid) == 0, "test_mixed_reg failed"
        assert test_mixed_reg2(bgid) == 0, "test_mixed_reg2 failed"
        assert test_full_page_reg(bgid) != T_EXIT_FAIL, "test_full_page_reg failed"

    for entries in entries_list:
        if no_buf_ring:
            break
        assert test_running(2, entries, RUNNING_LOOPS, 0) == 0, f"test_running({entries}) failed"


def test_main_mmap():
    for entries in entries_list:
        ret = test_running(2, entries, RUNNING_LOOPS, 1)
        if ret == T_EXIT_SKIP:
            break
        assert ret == T_EXIT_PASS, f"test_running({entries}) mmap failed"


@raw_address
@pytest.mark.parametrize("bgid", bgids)
def test_main_bad_reg(bgid):
    assert test_bad_reg(bgid) == 0, "test_bad_reg failed"


@pytest.mark.xfail(strict=True, raises=(TypeError, ValueError),
                   reason="registers the address of a buffer ring already registered (reg.ring_addr "
                          "= br): ioring does not hand out the address or a buffer of a ring's "
                          "kernel-shared memory (memory safety)")
@pytest.mark.parametrize("bgid", bgids)
def test_main_double_reg_unreg(bgid):
    assert test_double_reg_unreg(bgid) == 0, "test_double_reg_unreg failed"
