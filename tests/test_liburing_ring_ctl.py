"""Ring control and CQ/SQ state of ioring.liburing (liburing: eventfd-disable, defer-taskrun,
resize-rings, min-timeout, ring-reg, no-mmap-inval, sq-poll-*), checked against the kernel."""
import errno
import mmap
import os
import time

import pytest

from ioring import liburing as L
from helpers import make_ring, reap


def nops(ring, n, first_data=0):
    for i in range(n):
        sqe = L.io_uring_get_sqe(ring)
        L.io_uring_prep_nop(sqe)
        L.io_uring_sqe_set_data64(sqe, first_data + i)


def test_cq_has_overflow_until_the_backlog_is_reaped():
    ring = make_ring(4)
    try:
        assert not L.io_uring_cq_has_overflow(ring)
        for round_ in range(4):                        # 16 NOPs into an 8-entry CQ
            nops(ring, 4, round_ * 4)
            L.io_uring_submit(ring)
        assert L.io_uring_cq_has_overflow(ring)
        got = [ud for ud, _, _ in reap(ring, 16)]
        assert sorted(got) == list(range(16))
        assert not L.io_uring_cq_has_overflow(ring)
    finally:
        L.io_uring_queue_exit(ring)


def test_eventfd_toggle(ring):
    efd = os.eventfd(0, os.EFD_NONBLOCK)
    try:
        L.io_uring_register_eventfd(ring, efd)
        assert L.io_uring_cq_eventfd_enabled(ring)
        assert L.io_uring_cq_eventfd_toggle(ring, False) == 0
        assert not L.io_uring_cq_eventfd_enabled(ring)
        nops(ring, 1)
        L.io_uring_submit(ring)
        reap(ring, 1)
        with pytest.raises(BlockingIOError):
            os.eventfd_read(efd)
        L.io_uring_cq_eventfd_toggle(ring, True)
        nops(ring, 1)
        L.io_uring_submit(ring)
        reap(ring, 1)
        assert os.eventfd_read(efd) >= 1
    finally:
        os.close(efd)


def test_get_events_flushes_deferred_completions():
    ring = make_ring(8, L.IORING_SETUP_SINGLE_ISSUER | L.IORING_SETUP_DEFER_TASKRUN)
    try:
        sqe = L.io_uring_get_sqe(ring)
        L.io_uring_prep_timeout(sqe, L.kernel_timespec(0, 1_000_000), 0, 0)
        L.io_uring_sqe_set_data64(sqe, 5)
        assert L.io_uring_submit(ring) == 1
        time.sleep(0.05)
        assert L.io_uring_cq_ready(ring) == 0          # deferred until we enter the kernel
        assert L.io_uring_get_events(ring) >= 0
        assert L.io_uring_cq_ready(ring) == 1
        assert reap(ring, 1) == [(5, -errno.ETIME, 0)]
    finally:
        L.io_uring_queue_exit(ring)


def test_submit_and_get_events(ring):
    nops(ring, 3)
    assert L.io_uring_submit_and_get_events(ring) == 3
    assert L.io_uring_cq_ready(ring) == 3
    L.io_uring_cq_advance(ring, 3)


def test_load_sq_head_follows_the_kernel(ring):
    start = L.io_uring_load_sq_head(ring)
    nops(ring, 5)
    assert L.io_uring_load_sq_head(ring) == start
    L.io_uring_submit(ring)
    assert L.io_uring_load_sq_head(ring) == start + 5
    reap(ring, 5)


def test_sqring_wait():
    plain = make_ring(4)
    try:
        with pytest.raises(OSError) as info:
            L.io_uring_sqring_wait(plain)
        assert info.value.errno == errno.EINVAL
    finally:
        L.io_uring_queue_exit(plain)
    ring = make_ring(4, L.IORING_SETUP_SQPOLL)
    try:
        nops(ring, 4)
        assert L.io_uring_get_sqe(ring) is None
        L.io_uring_submit(ring)
        assert L.io_uring_sqring_wait(ring) >= 0      # returns once the poller made room
        deadline = time.monotonic() + 5
        while L.io_uring_sq_space_left(ring) == 0 and time.monotonic() < deadline:
            L.io_uring_sqring_wait(ring)
        assert L.io_uring_sq_space_left(ring) > 0
        reap(ring, 4)
    finally:
        L.io_uring_queue_exit(ring)


def test_set_iowait(ring):
    if not ring.features & L.IORING_FEAT_NO_IOWAIT:
        with pytest.raises(OSError):
            L.io_uring_set_iowait(ring, False)
        return
    assert L.io_uring_set_iowait(ring, False) == 0
    assert ring.int_flags & 0x04
    nops(ring, 1)
    L.io_uring_submit_and_wait(ring, 1)
    reap(ring, 1)
    assert L.io_uring_set_iowait(ring, True) == 0
    assert not ring.int_flags & 0x04


def test_ring_dontfork_keeps_the_rings_out_of_children(ring):
    assert L.io_uring_ring_dontfork(ring) == 0
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    assert os.waitpid(pid, 0)[1] == 0
    nops(ring, 1)
    L.io_uring_submit(ring)
    reap(ring, 1)


def test_registered_ring_fd_and_closing_the_real_fd():
    ring = make_ring(8)
    try:
        fd = ring.ring_fd
        assert L.io_uring_register_ring_fd(ring) == 1
        assert ring.int_flags & 0x01
        nops(ring, 2)
        L.io_uring_submit(ring)
        assert len(reap(ring, 2)) == 2
        with pytest.raises(OSError) as info:
            L.io_uring_register_ring_fd(ring)
        assert info.value.errno == errno.EEXIST
        assert L.io_uring_close_ring_fd(ring) == 1
        assert ring.ring_fd == -1
        with pytest.raises(OSError):
            os.fstat(fd)
        nops(ring, 1, 9)                                # still works through the index
        L.io_uring_submit(ring)
        assert reap(ring, 1) == [(9, 0, 0)]
        assert L.io_uring_register_files(ring, [0]) == 0   # register via the registered ring
        with pytest.raises(OSError) as info:
            L.io_uring_unregister_ring_fd(ring)          # nothing else would reach the ring
        assert info.value.errno == errno.EBADF
    finally:
        L.io_uring_queue_exit(ring)


def test_unregister_ring_fd():
    ring = make_ring(4)
    try:
        with pytest.raises(OSError) as info:
            L.io_uring_unregister_ring_fd(ring)
        assert info.value.errno == errno.EINVAL
        L.io_uring_register_ring_fd(ring)
        assert L.io_uring_unregister_ring_fd(ring) == 1
        assert ring.enter_ring_fd == ring.ring_fd and not ring.int_flags & 0x01
        nops(ring, 1)
        L.io_uring_submit(ring)
        reap(ring, 1)
    finally:
        L.io_uring_queue_exit(ring)


def test_resize_rings_keeps_completions_and_pending_sqes():
    ring = make_ring(8, L.IORING_SETUP_SINGLE_ISSUER | L.IORING_SETUP_DEFER_TASKRUN)
    try:
        nops(ring, 4, 100)
        L.io_uring_submit_and_wait(ring, 4)
        assert L.io_uring_cq_ready(ring) == 4
        nops(ring, 2, 200)                               # prepared, not yet submitted
        stale = L.io_uring_get_sqe(ring)
        try:
            L.io_uring_resize_rings(ring, _resize_params())
        except OSError as exc:
            pytest.skip(f"kernel refused IORING_REGISTER_RESIZE_RINGS: {exc}")
        assert ring.sq_entries == 64 and ring.cq_entries == 256
        with pytest.raises(ValueError):
            L.io_uring_prep_nop(stale)                   # published by the resize
        L.io_uring_submit(ring)
        got = sorted(ud for ud, _, _ in reap(ring, 7))
        assert got == [0, 100, 101, 102, 103, 200, 201]
        nops(ring, 64)
        assert L.io_uring_submit(ring) == 64
        assert len(reap(ring, 64)) == 64
    finally:
        L.io_uring_queue_exit(ring)


def _resize_params():
    p = L.io_uring_params(flags=L.IORING_SETUP_CQSIZE, cq_entries=256)
    p.sq_entries = 64
    return p


def test_wait_cqes_min_timeout_returns_early_with_fewer(ring):
    if not ring.features & L.IORING_FEAT_MIN_TIMEOUT:
        pytest.skip("kernel lacks IORING_FEAT_MIN_TIMEOUT")
    nops(ring, 1, 3)
    L.io_uring_submit(ring)
    start = time.monotonic()
    cqe = L.io_uring_wait_cqes_min_timeout(ring, 4, L.kernel_timespec(5, 0), 10_000)
    assert time.monotonic() - start < 2.5
    assert cqe.user_data == 3
    L.io_uring_cqe_seen(ring, cqe)
    assert L.io_uring_wait_cqes_min_timeout(ring, 1, L.kernel_timespec(0, 5_000_000), 1000) is None


def test_submit_and_wait_min_timeout(ring):
    if not ring.features & L.IORING_FEAT_MIN_TIMEOUT:
        pytest.skip("kernel lacks IORING_FEAT_MIN_TIMEOUT")
    nops(ring, 2, 7)
    submitted, cqe = L.io_uring_submit_and_wait_min_timeout(ring, 8, L.kernel_timespec(5, 0), 10_000)
    assert submitted == 2 and cqe.user_data == 7
    L.io_uring_cq_advance(ring, L.io_uring_cq_ready(ring))


def test_shifts_and_cqe_nr():
    assert L.io_uring_cqe_shift_from_flags(L.IORING_SETUP_CQE32) == 1
    assert L.io_uring_cqe_shift_from_flags(0) == 0
    assert L.io_uring_sqe_shift_from_flags(L.IORING_SETUP_SQE128) == 1
    assert L.io_uring_sqe_shift_from_flags(L.IORING_SETUP_CQE32) == 0
    ring = make_ring(4, L.IORING_SETUP_CQE32 | L.IORING_SETUP_SQE128)
    try:
        assert L.io_uring_cqe_shift(ring) == 1 and L.io_uring_sqe_shift(ring) == 1
        sqe = L.io_uring_get_sqe128(ring)
        assert sqe is not None
        L.io_uring_prep_nop(sqe)
        L.io_uring_submit(ring)
        cqe = L.io_uring_wait_cqe(ring)
        assert L.io_uring_cqe_nr(cqe) == 1
        L.io_uring_cqe_seen(ring, cqe)
    finally:
        L.io_uring_queue_exit(ring)


def test_get_sqe128_is_none_on_64_byte_rings(ring):
    assert L.io_uring_get_sqe128(ring) is None
    assert L.io_uring_sq_ready(ring) == 0


def test_cqe_mixed_ring_runs_normal_requests():
    ring = make_ring(8, L.IORING_SETUP_CQE_MIXED)
    try:
        for round_ in range(5):                         # several wraps of the 16-slot CQ
            nops(ring, 8, round_ * 8)
            L.io_uring_submit(ring)
            assert sorted(ud for ud, _, _ in reap(ring, 8)) == list(range(round_ * 8, round_ * 8 + 8))
    finally:
        L.io_uring_queue_exit(ring)


def test_initialize_sqe(ring):
    sqe = L.io_uring_get_sqe(ring)
    L.io_uring_prep_nop(sqe)
    L.io_uring_sqe_set_flags(sqe, L.IOSQE_ASYNC)
    sqe.personality = 3
    L.io_uring_initialize_sqe(sqe)
    assert (sqe.flags, sqe.personality, sqe.rw_flags, sqe.buf_index, sqe.addr3) == (0, 0, 0, 0, 0)


def test_cqe_iter_is_a_snapshot(ring):
    nops(ring, 3, 1)
    L.io_uring_submit_and_wait(ring, 3)
    it = L.io_uring_cqe_iter_init(ring)
    nops(ring, 2, 50)
    L.io_uring_submit_and_wait(ring, 2)      # arrives after the snapshot
    seen = []
    while (cqe := L.io_uring_cqe_iter_next(it)) is not None:
        seen.append(cqe.user_data)
    assert seen == [1, 2, 3]
    L.io_uring_cq_advance(ring, 5)


def test_queue_init_mem_runs_in_caller_memory():
    need = L.io_uring_memory_size(8, 0)
    assert need > 0 and need % 4096 == 0
    assert L.io_uring_memory_size_params(8, L.io_uring_params()) == need
    mem = mmap.mmap(-1, need)
    ring = L.io_uring()
    used = L.io_uring_queue_init_mem(8, ring, L.io_uring_params(), mem)
    assert 0 < used <= need
    assert ring.flags & L.IORING_SETUP_NO_MMAP
    try:
        with pytest.raises(BufferError):
            mem.close()                                  # pinned while the ring lives
        buf = bytearray(16)
        r, w = os.pipe()
        os.write(w, b"in caller memory")
        sqe = L.io_uring_get_sqe(ring)
        L.io_uring_prep_read(sqe, r, buf, 16, -1)
        L.io_uring_submit(ring)
        assert reap(ring, 1)[0][1] == 16 and buf == b"in caller memory"
        os.close(r)
        os.close(w)
    finally:
        L.io_uring_queue_exit(ring)
    mem.close()


def test_queue_init_mem_refuses_small_or_unaligned_memory():
    ring = L.io_uring()
    with pytest.raises(OSError) as info:
        L.io_uring_queue_init_mem(8, ring, L.io_uring_params(), mmap.mmap(-1, 4096))
    assert info.value.errno == errno.ENOMEM
    with pytest.raises(ValueError):
        L.io_uring_queue_init_mem(8, ring, L.io_uring_params(), memoryview(mmap.mmap(-1, 65536))[64:])
    assert ring.ring_fd is None


def test_mlock_size_is_zero_on_native_worker_kernels():
    assert L.io_uring_mlock_size(8, 0) == 0
    assert L.io_uring_mlock_size_params(8, L.io_uring_params()) == 0


def test_registered_wait_region():
    ring = make_ring(8, L.IORING_SETUP_R_DISABLED | L.IORING_SETUP_SINGLE_ISSUER | L.IORING_SETUP_DEFER_TASKRUN)
    try:
        region = L.io_uring_reg_wait_region(2)
        region[0].ts = L.kernel_timespec(0, 20_000_000)
        region[0].flags = L.IORING_REG_WAIT_TS
        region[1].ts = L.kernel_timespec(5, 0)
        region[1].flags = L.IORING_REG_WAIT_TS
        assert region[0].ts.tv_nsec == 20_000_000
        try:
            L.io_uring_register_wait_reg(ring, region, 2)
        except OSError as exc:
            pytest.skip(f"kernel refused a registered wait region: {exc}")
        L.io_uring_enable_rings(ring)
        start = time.monotonic()
        assert L.io_uring_submit_and_wait_reg(ring, 1, 0) == (0, None)   # slot 0: 20 ms timeout
        assert 0.01 < time.monotonic() - start < 2
        nops(ring, 1, 4)
        submitted, cqe = L.io_uring_submit_and_wait_reg(ring, 1, 1)
        assert submitted == 1 and cqe.user_data == 4
        L.io_uring_cqe_seen(ring, cqe)
        with pytest.raises(IndexError):
            region[2]
    finally:
        L.io_uring_queue_exit(ring)
