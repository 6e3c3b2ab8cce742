"""ioring.liburing: timeouts, link timeouts, timeout removal and cancellation.

Blocking requests are reads of empty pipes; every wait is bounded, and timing assertions
use generous bounds (never tight).
"""
import errno
import gc
import os
import time

import pytest

from ioring import liburing as L
from helpers import assert_no_completion, reap, reap_dict, sqe_for, submit_and_reap  # noqa: E402


# ---- helpers -----------------------------------------------------------------------------------

def ms(n):
    return L.kernel_timespec(n // 1000, (n % 1000) * 1_000_000)


# ---- fixtures ----------------------------------------------------------------------------------

RING = ("io_uring", 32)         # the conftest ring fixture: 32 entries


@pytest.fixture
def pipes():
    """A factory of pipes, all closed at teardown."""
    made = []

    def make():
        r, w = os.pipe()
        made.extend((r, w))
        return r, w

    yield make
    for fd in made:
        try:
            os.close(fd)
        except OSError:
            pass


# ---- kernel_timespec ---------------------------------------------------------------------------

def test_kernel_timespec_fields():
    ts = L.kernel_timespec(3, 500)
    assert (ts.tv_sec, ts.tv_nsec) == (3, 500)
    ts.tv_sec = 7
    ts.tv_nsec = 999_999_999
    assert (ts.tv_sec, ts.tv_nsec) == (7, 999_999_999)
    assert L.kernel_timespec().tv_sec == 0 and L.kernel_timespec().tv_nsec == 0
    with pytest.raises(TypeError):
        L.kernel_timespec("1")
    with pytest.raises(OverflowError):
        L.kernel_timespec(2**63)


def test_kernel_timespec_rejects_float_seconds():
    """kernel_timespec(0.5) must not silently become a zero timeout (tv_sec is an integer,
    as in C; a float is a TypeError like os.pread(fd, 1.5, 0))."""
    with pytest.raises(TypeError):
        L.kernel_timespec(0.5)
    with pytest.raises(TypeError):
        L.kernel_timespec(1, 2.5)
    ts = L.kernel_timespec(1, 0)
    with pytest.raises(TypeError):
        ts.tv_sec = 1.5
    assert ts.tv_sec == 1


def test_wait_cqe_timeout_returns_none_when_nothing_completes(ring):
    t0 = time.monotonic()
    assert L.io_uring_wait_cqe_timeout(ring, ms(50)) is None
    elapsed = time.monotonic() - t0
    assert 0.03 <= elapsed < 5


# ---- timeout -----------------------------------------------------------------------------------

def test_relative_timeout_fires_with_etime(ring):
    ts = ms(100)
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_timeout(sqe, ts)
    assert sqe.opcode == L.IORING_OP_TIMEOUT
    assert sqe.len == 1
    assert sqe.off == 0                                    # count
    t0 = time.monotonic()
    assert L.io_uring_submit(ring) == 1
    assert reap_dict(ring, 1) == {1: -errno.ETIME}
    elapsed = time.monotonic() - t0
    assert 0.08 <= elapsed < 5


def test_timeout_does_not_fire_early(ring):
    L.io_uring_prep_timeout(sqe_for(ring, 1), ms(400))
    L.io_uring_submit(ring)
    assert_no_completion(ring, 0.1)
    assert reap_dict(ring, 1) == {1: -errno.ETIME}


def test_count_timeout_completes_after_n_completions(ring):
    sqe = sqe_for(ring, 100)
    L.io_uring_prep_timeout(sqe, L.kernel_timespec(10, 0), 2)
    assert sqe.off == 2
    assert L.io_uring_submit(ring) == 1
    L.io_uring_prep_nop(sqe_for(ring, 1))
    L.io_uring_submit(ring)
    assert reap_dict(ring, 1) == {1: 0}
    assert_no_completion(ring, 0.05)                       # one completion is not enough
    L.io_uring_prep_nop(sqe_for(ring, 2))
    t0 = time.monotonic()
    L.io_uring_submit(ring)
    got = reap_dict(ring, 2)
    assert got == {2: 0, 100: 0}                           # 0, not -ETIME
    assert time.monotonic() - t0 < 5                       # long before the 10 s


def test_count_timeout_still_fires_on_time(ring):
    L.io_uring_prep_timeout(sqe_for(ring, 1), ms(50), 5)
    L.io_uring_prep_nop(sqe_for(ring, 2))
    got = submit_and_reap(ring, 2)
    assert got == {1: -errno.ETIME, 2: 0}


def test_absolute_timeout_monotonic(ring):
    deadline = time.clock_gettime(time.CLOCK_MONOTONIC) + 0.15
    ts = L.kernel_timespec(int(deadline), int((deadline % 1) * 1e9))
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_timeout(sqe, ts, 0, L.IORING_TIMEOUT_ABS)
    assert sqe.rw_flags == L.IORING_TIMEOUT_ABS            # timeout_flags shares the union
    L.io_uring_submit(ring)
    assert reap_dict(ring, 1) == {1: -errno.ETIME}
    assert time.clock_gettime(time.CLOCK_MONOTONIC) >= deadline - 0.01


def test_absolute_timeout_in_the_past_fires_at_once(ring):
    now = time.clock_gettime(time.CLOCK_MONOTONIC) - 10
    L.io_uring_prep_timeout(sqe_for(ring, 1), L.kernel_timespec(int(now), 0), 0, L.IORING_TIMEOUT_ABS)
    t0 = time.monotonic()
    assert submit_and_reap(ring, 1) == {1: -errno.ETIME}
    assert time.monotonic() - t0 < 2


def test_absolute_timeout_realtime(ring):
    deadline = time.time() + 0.1
    L.io_uring_prep_timeout(sqe_for(ring, 1), L.kernel_timespec(int(deadline), int((deadline % 1) * 1e9)),
                            0, L.IORING_TIMEOUT_ABS | L.IORING_TIMEOUT_REALTIME)
    assert submit_and_reap(ring, 1) == {1: -errno.ETIME}
    assert time.time() >= deadline - 0.01


@pytest.mark.parametrize("ts_args, flags", [
    ((0, -1), 0),
    ((-1, 0), 0),
    ((0, 10_000_000), 0xFFFF0000),                         # unknown flags
    ((0, 10_000_000), L.IORING_TIMEOUT_BOOTTIME | L.IORING_TIMEOUT_REALTIME),   # two clocks
], ids=["nsec<0", "sec<0", "bad-flags", "two-clocks"])
def test_timeout_invalid_is_einval(ring, ts_args, flags):
    L.io_uring_prep_timeout(sqe_for(ring, 1), L.kernel_timespec(*ts_args), 0, flags)
    assert submit_and_reap(ring, 1) == {1: -errno.EINVAL}


def test_submit_stops_at_a_request_failing_at_submission(ring):
    """Without IORING_SETUP_SUBMIT_ALL the kernel stops at the first SQE whose prep fails: the
    binding reports what the kernel consumed, and the rest stays queued for the next submit."""
    L.io_uring_prep_timeout(sqe_for(ring, 1), L.kernel_timespec(0, -1))
    L.io_uring_prep_nop(sqe_for(ring, 2))
    L.io_uring_prep_nop(sqe_for(ring, 3))
    assert L.io_uring_submit(ring) == 1
    assert L.io_uring_sq_ready(ring) == 2
    assert reap_dict(ring, 1) == {1: -errno.EINVAL}
    assert_no_completion(ring)
    assert L.io_uring_submit(ring) == 2
    assert L.io_uring_sq_ready(ring) == 0
    assert reap_dict(ring, 2) == {2: 0, 3: 0}


def test_timeout_requires_a_timespec(ring):
    sqe = sqe_for(ring, 1)
    with pytest.raises(TypeError):
        L.io_uring_prep_timeout(sqe, 0.5)
    with pytest.raises(TypeError):
        L.io_uring_prep_timeout(sqe, (0, 1000))
    with pytest.raises(OverflowError):
        L.io_uring_prep_timeout(sqe, ms(1), -1)
    with pytest.raises(TypeError):
        L.io_uring_prep_link_timeout(sqe, None)
    assert sqe.opcode == L.IORING_OP_NOP and sqe.addr == 0
    assert submit_and_reap(ring, 1) == {1: 0}


def test_timespec_is_pinned_until_submitted(ring):
    def prep():
        L.io_uring_prep_timeout(sqe_for(ring, 1), ms(60))   # our only reference dies here

    prep()
    gc.collect()
    junk = [L.kernel_timespec(-1, -1) for _ in range(200)]  # would reuse freed memory
    t0 = time.monotonic()
    assert submit_and_reap(ring, 1) == {1: -errno.ETIME}     # not -EINVAL from garbage
    assert 0.04 <= time.monotonic() - t0 < 5
    del junk


def test_several_timeouts_fire_in_order(ring):
    for ud, delay in ((3, 150), (1, 30), (2, 80)):
        L.io_uring_prep_timeout(sqe_for(ring, ud), ms(delay))
    L.io_uring_submit(ring)
    got = reap(ring, 3)
    assert [ud for ud, _, _ in got] == [1, 2, 3]
    assert all(res == -errno.ETIME for _, res, _ in got)


# ---- timeout_remove ----------------------------------------------------------------------------

def test_timeout_remove_cancels_pending_timeout(ring):
    L.io_uring_prep_timeout(sqe_for(ring, 1), L.kernel_timespec(30, 0))
    assert L.io_uring_submit(ring) == 1
    assert_no_completion(ring)
    sqe = sqe_for(ring, 2)
    L.io_uring_prep_timeout_remove(sqe, 1)
    assert sqe.opcode == L.IORING_OP_TIMEOUT_REMOVE
    assert sqe.addr == 1
    t0 = time.monotonic()
    assert submit_and_reap(ring, 2) == {1: -errno.ECANCELED, 2: 0}
    assert time.monotonic() - t0 < 5


def test_timeout_remove_in_same_submit(ring):
    L.io_uring_prep_timeout(sqe_for(ring, 0xFFFF_FFFF_0000_0001), L.kernel_timespec(30, 0))
    L.io_uring_prep_timeout_remove(sqe_for(ring, 7), 0xFFFF_FFFF_0000_0001)
    assert submit_and_reap(ring, 2) == {0xFFFF_FFFF_0000_0001: -errno.ECANCELED, 7: 0}


def test_timeout_remove_unknown_is_enoent(ring):
    L.io_uring_prep_timeout_remove(sqe_for(ring, 1), 424242)
    assert submit_and_reap(ring, 1) == {1: -errno.ENOENT}


def test_timeout_remove_after_it_fired_is_enoent(ring):
    L.io_uring_prep_timeout(sqe_for(ring, 1), ms(10))
    assert submit_and_reap(ring, 1) == {1: -errno.ETIME}
    L.io_uring_prep_timeout_remove(sqe_for(ring, 2), 1)
    assert submit_and_reap(ring, 1) == {2: -errno.ENOENT}


def test_timeout_remove_does_not_remove_other_requests(ring, pipes):
    r, w = pipes()
    buf = bytearray(4)
    L.io_uring_prep_read(sqe_for(ring, 1), r, buf, 4, -1)
    L.io_uring_submit(ring)
    L.io_uring_prep_timeout_remove(sqe_for(ring, 2), 1)       # 1 is a read, not a timeout
    assert submit_and_reap(ring, 1) == {2: -errno.ENOENT}
    os.write(w, b"fine")
    assert reap_dict(ring, 1) == {1: 4}
    assert bytes(buf) == b"fine"


# ---- link timeout ------------------------------------------------------------------------------

def test_link_timeout_cancels_blocked_read(ring, pipes):
    r, _ = pipes()
    buf = bytearray(b"\xAA" * 8)
    L.io_uring_prep_read(sqe_for(ring, 1, L.IOSQE_IO_LINK), r, buf, 8, -1)
    sqe = sqe_for(ring, 2)
    L.io_uring_prep_link_timeout(sqe, ms(100))
    assert sqe.opcode == L.IORING_OP_LINK_TIMEOUT and sqe.len == 1
    t0 = time.monotonic()
    assert L.io_uring_submit(ring) == 2
    got = reap_dict(ring, 2)
    assert got == {1: -errno.ECANCELED, 2: -errno.ETIME}
    assert 0.05 <= time.monotonic() - t0 < 5
    assert bytes(buf) == b"\xAA" * 8


def test_link_timeout_that_does_not_fire(ring, pipes):
    r, w = pipes()
    buf = bytearray(8)
    L.io_uring_prep_read(sqe_for(ring, 1, L.IOSQE_IO_LINK), r, buf, 8, -1)
    L.io_uring_prep_link_timeout(sqe_for(ring, 2), L.kernel_timespec(30, 0))
    L.io_uring_submit(ring)
    assert_no_completion(ring)
    os.write(w, b"in time")
    t0 = time.monotonic()
    got = reap_dict(ring, 2)
    assert got == {1: 7, 2: -errno.ECANCELED}
    assert time.monotonic() - t0 < 5
    assert bytes(buf[:7]) == b"in time"


def test_link_timeout_on_immediate_request(ring):
    L.io_uring_prep_nop(sqe_for(ring, 1, L.IOSQE_IO_LINK))
    L.io_uring_prep_link_timeout(sqe_for(ring, 2), L.kernel_timespec(30, 0))
    got = submit_and_reap(ring, 2)
    assert got[1] == 0
    assert got[2] in (-errno.ECANCELED, -errno.ENOENT)   # never ETIME: 30 s did not pass


def test_link_timeout_absolute(ring, pipes):
    r, _ = pipes()
    deadline = time.clock_gettime(time.CLOCK_MONOTONIC) + 0.1
    L.io_uring_prep_read(sqe_for(ring, 1, L.IOSQE_IO_LINK), r, bytearray(4), 4, -1)
    L.io_uring_prep_link_timeout(sqe_for(ring, 2), L.kernel_timespec(int(deadline), int((deadline % 1) * 1e9)),
                                 L.IORING_TIMEOUT_ABS)
    assert submit_and_reap(ring, 2) == {1: -errno.ECANCELED, 2: -errno.ETIME}
    assert time.clock_gettime(time.CLOCK_MONOTONIC) >= deadline - 0.01


def test_link_timeout_without_link_head_is_einval(ring):
    L.io_uring_prep_link_timeout(sqe_for(ring, 1), ms(10))
    assert submit_and_reap(ring, 1) == {1: -errno.EINVAL}


def test_link_timeout_then_chain_continues_cancelled(ring, pipes):
    """read -> link timeout; the chain member after the timed-out read is cancelled."""
    r, _ = pipes()
    L.io_uring_prep_read(sqe_for(ring, 1, L.IOSQE_IO_LINK), r, bytearray(4), 4, -1)
    L.io_uring_prep_link_timeout(sqe_for(ring, 2, L.IOSQE_IO_LINK), ms(50))
    L.io_uring_prep_nop(sqe_for(ring, 3))
    got = submit_and_reap(ring, 3)
    assert got == {1: -errno.ECANCELED, 2: -errno.ETIME, 3: -errno.ECANCELED}


# ---- cancel ------------------------------------------------------------------------------------

def test_cancel64_blocked_read(ring, pipes):
    r, _ = pipes()
    buf = bytearray(b"\xAA" * 8)
    L.io_uring_prep_read(sqe_for(ring, 0xABCDEF0123456789), r, buf, 8, -1)
    L.io_uring_submit(ring)
    assert_no_completion(ring)
    sqe = sqe_for(ring, 2)
    L.io_uring_prep_cancel64(sqe, 0xABCDEF0123456789)
    assert sqe.opcode == L.IORING_OP_ASYNC_CANCEL
    assert sqe.addr == 0xABCDEF0123456789
    assert submit_and_reap(ring, 2) == {0xABCDEF0123456789: -errno.ECANCELED, 2: 0}
    assert bytes(buf) == b"\xAA" * 8
    buf.append(0)                                   # released: the cancelled CQE was seen


def test_cancel_blocked_read_by_data_object(ring, pipes):
    """io_uring_prep_cancel takes what io_uring_sqe_set_data was given (C's pointer)."""
    r, _ = pipes()
    token = object()
    buf = bytearray(8)
    sqe = L.io_uring_get_sqe(ring)
    L.io_uring_prep_read(sqe, r, buf, 8, -1)
    L.io_uring_sqe_set_data(sqe, token)
    L.io_uring_submit(ring)
    assert_no_completion(ring)
    csqe = sqe_for(ring, 6)
    L.io_uring_prep_cancel(csqe, token)
    assert csqe.opcode == L.IORING_OP_ASYNC_CANCEL
    assert csqe.addr == id(token)
    assert L.io_uring_submit(ring) == 1
    got = {}
    for _ in range(2):
        cqe = L.io_uring_wait_cqe_timeout(ring, L.kernel_timespec(5, 0))
        assert cqe is not None
        got[cqe.user_data] = (cqe.res, L.io_uring_cqe_get_data(cqe))
        L.io_uring_cqe_seen(ring, cqe)
    assert got[6][0] == 0
    assert got[id(token)][0] == -errno.ECANCELED
    assert got[id(token)][1] is token
    buf.append(0)


def test_cancel_unknown_is_enoent(ring):
    L.io_uring_prep_cancel64(sqe_for(ring, 1), 987654321)
    L.io_uring_prep_cancel(sqe_for(ring, 2), object(), 0)
    assert submit_and_reap(ring, 2) == {1: -errno.ENOENT, 2: -errno.ENOENT}


def test_cancel_completed_request_is_enoent(ring):
    L.io_uring_prep_nop(sqe_for(ring, 1))
    assert submit_and_reap(ring, 1) == {1: 0}
    L.io_uring_prep_cancel64(sqe_for(ring, 2), 1)
    assert submit_and_reap(ring, 1) == {2: -errno.ENOENT}


def test_cancel_a_timeout(ring):
    L.io_uring_prep_timeout(sqe_for(ring, 1), L.kernel_timespec(30, 0))
    L.io_uring_submit(ring)
    L.io_uring_prep_cancel64(sqe_for(ring, 2), 1)
    assert submit_and_reap(ring, 2) == {1: -errno.ECANCELED, 2: 0}


def test_cancel_poll(ring, pipes):
    import select
    r, _ = pipes()
    L.io_uring_prep_poll_add(sqe_for(ring, 1), r, select.POLLIN)
    L.io_uring_submit(ring)
    L.io_uring_prep_cancel64(sqe_for(ring, 2), 1)
    assert submit_and_reap(ring, 2) == {1: -errno.ECANCELED, 2: 0}


def test_cancel_fd_all_cancels_every_read_on_the_fd(ring, pipes):
    r, w = pipes()
    other_r, other_w = pipes()
    L.io_uring_prep_read(sqe_for(ring, 1), r, bytearray(8), 8, -1)
    L.io_uring_prep_read(sqe_for(ring, 2), r, bytearray(8), 8, -1)
    other = bytearray(8)
    L.io_uring_prep_read(sqe_for(ring, 3), other_r, other, 8, -1)
    L.io_uring_submit(ring)
    assert_no_completion(ring)
    sqe = sqe_for(ring, 9)
    L.io_uring_prep_cancel_fd(sqe, r, L.IORING_ASYNC_CANCEL_ALL)
    assert sqe.opcode == L.IORING_OP_ASYNC_CANCEL
    assert sqe.fd == r
    assert sqe.rw_flags == L.IORING_ASYNC_CANCEL_ALL | L.IORING_ASYNC_CANCEL_FD
    assert submit_and_reap(ring, 3) == {1: -errno.ECANCELED, 2: -errno.ECANCELED, 9: 2}
    assert_no_completion(ring)                      # the read on the other pipe is untouched
    os.write(other_w, b"other")
    assert reap_dict(ring, 1) == {3: 5}
    assert bytes(other[:5]) == b"other"


def test_cancel_fd_without_all_cancels_one(ring, pipes):
    r, w = pipes()
    L.io_uring_prep_read(sqe_for(ring, 1), r, bytearray(8), 8, -1)
    L.io_uring_prep_read(sqe_for(ring, 2), r, bytearray(8), 8, -1)
    L.io_uring_submit(ring)
    L.io_uring_prep_cancel_fd(sqe_for(ring, 9), r)
    got = submit_and_reap(ring, 2)
    assert got[9] == 0
    cancelled = [ud for ud in (1, 2) if got.get(ud) == -errno.ECANCELED]
    assert len(cancelled) == 1
    assert_no_completion(ring)
    os.write(w, b"rest")
    survivor = 3 - cancelled[0]
    assert reap_dict(ring, 1) == {survivor: 4}


def test_cancel_fd_nothing_pending_is_enoent(ring, pipes):
    r, _ = pipes()
    L.io_uring_prep_cancel_fd(sqe_for(ring, 1), r, L.IORING_ASYNC_CANCEL_ALL)
    L.io_uring_prep_cancel_fd(sqe_for(ring, 2), r, 0)
    got = submit_and_reap(ring, 2)
    assert got[2] == -errno.ENOENT
    assert got[1] == 0                               # ALL reports the count found: none


def test_cancel_any_cancels_everything(ring, pipes):
    for ud in (1, 2, 3):
        r, _ = pipes()
        L.io_uring_prep_read(sqe_for(ring, ud), r, bytearray(4), 4, -1)
    L.io_uring_submit(ring)
    assert_no_completion(ring)
    L.io_uring_prep_cancel64(sqe_for(ring, 9), 0, L.IORING_ASYNC_CANCEL_ANY | L.IORING_ASYNC_CANCEL_ALL)
    assert submit_and_reap(ring, 4) == {1: -errno.ECANCELED, 2: -errno.ECANCELED,
                                        3: -errno.ECANCELED, 9: 3}


def test_cancel_any_alone_matches_every_request(ring, pipes):
    """IORING_ASYNC_CANCEL_ANY ignores user_data and (in the kernel) implies ALL: res is the count."""
    r1, _ = pipes()
    r2, _ = pipes()
    L.io_uring_prep_read(sqe_for(ring, 1), r1, bytearray(4), 4, -1)
    L.io_uring_prep_read(sqe_for(ring, 2), r2, bytearray(4), 4, -1)
    L.io_uring_submit(ring)
    sqe = sqe_for(ring, 9)
    L.io_uring_prep_cancel64(sqe, 12345, L.IORING_ASYNC_CANCEL_ANY)     # user_data ignored
    assert sqe.rw_flags == L.IORING_ASYNC_CANCEL_ANY
    assert submit_and_reap(ring, 3) == {1: -errno.ECANCELED, 2: -errno.ECANCELED, 9: 2}


def test_cancel_any_with_nothing_in_flight_counts_zero(ring):
    L.io_uring_prep_cancel64(sqe_for(ring, 9), 0, L.IORING_ASYNC_CANCEL_ANY)
    assert submit_and_reap(ring, 1) == {9: 0}                # a count, like ALL


def test_cancel_userdata_all_with_shared_user_data(ring, pipes):
    bufs = []
    for _ in range(3):
        r, _ = pipes()
        b = bytearray(4)
        bufs.append(b)
        L.io_uring_prep_read(sqe_for(ring, 77), r, b, 4, -1)
    L.io_uring_submit(ring)
    L.io_uring_prep_cancel64(sqe_for(ring, 9), 77, L.IORING_ASYNC_CANCEL_ALL)
    L.io_uring_submit(ring)
    got = reap(ring, 4)
    assert sorted((ud, res) for ud, res, _ in got) == [(9, 3)] + [(77, -errno.ECANCELED)] * 3 \
        or sorted((ud, res) for ud, res, _ in got) == [(77, -errno.ECANCELED)] * 3 + [(9, 3)]
    for b in bufs:                                   # every pin released after the 3 CQEs
        b.append(0)


def test_shared_user_data_pins_released_only_after_last_completion(ring, pipes):
    r1, w1 = pipes()
    r2, w2 = pipes()
    a, b = bytearray(4), bytearray(4)
    L.io_uring_prep_read(sqe_for(ring, 5), r1, a, 4, -1)
    L.io_uring_prep_read(sqe_for(ring, 5), r2, b, 4, -1)
    L.io_uring_submit(ring)
    os.write(w1, b"one!")
    assert reap_dict(ring, 1) == {5: 4}
    with pytest.raises(BufferError):
        b.append(0)                                  # the second read is still in flight
    L.io_uring_prep_cancel64(sqe_for(ring, 6), 5)
    assert submit_and_reap(ring, 2) == {5: -errno.ECANCELED, 6: 0}
    a.append(0)
    b.append(0)
    assert bytes(a[:4]) == b"one!"


def test_cancel_flags_encoding(ring):
    sqe = sqe_for(ring, 1)
    L.io_uring_prep_cancel64(sqe, 42, L.IORING_ASYNC_CANCEL_ALL)
    assert sqe.rw_flags == L.IORING_ASYNC_CANCEL_ALL and sqe.addr == 42 and sqe.fd == -1
    token = object()
    L.io_uring_prep_cancel(sqe, token, L.IORING_ASYNC_CANCEL_ANY)
    assert sqe.rw_flags == L.IORING_ASYNC_CANCEL_ANY and sqe.addr == id(token)
    L.io_uring_prep_cancel64(sqe, 2**64 - 1)
    assert sqe.addr == 2**64 - 1
    with pytest.raises(OverflowError):
        L.io_uring_prep_cancel64(sqe, 2**64)
    with pytest.raises(OverflowError):
        L.io_uring_prep_cancel64(sqe, -1)
    assert sqe.addr == 2**64 - 1
    L.io_uring_prep_nop(sqe)
    assert submit_and_reap(ring, 1) == {1: 0}


def test_queue_exit_with_blocked_read_in_flight(pipes):
    """Closing the ring cancels the read, waits for the kernel, then releases the buffer."""
    r, w = pipes()
    ring = L.io_uring()
    L.io_uring_queue_init(8, ring)
    buf = bytearray(b"\xAA" * 8)
    sqe = L.io_uring_get_sqe(ring)
    L.io_uring_prep_read(sqe, r, buf, 8, -1)
    L.io_uring_submit(ring)
    with pytest.raises(BufferError):
        buf.append(0)
    t0 = time.monotonic()
    L.io_uring_queue_exit(ring)
    assert time.monotonic() - t0 < 8
    buf.append(0)
    os.write(w, b"after")                            # no ghost read consumes this
    assert os.read(r, 10) == b"after"
    assert bytes(buf[:8]) == b"\xAA" * 8


def test_link_timeout_timespec_is_pinned_until_submitted(ring, pipes):
    r, _ = pipes()

    def prep():
        L.io_uring_prep_read(sqe_for(ring, 1, L.IOSQE_IO_LINK), r, bytearray(4), 4, -1)
        L.io_uring_prep_link_timeout(sqe_for(ring, 2), ms(60))     # only reference dies here

    prep()
    gc.collect()
    junk = [L.kernel_timespec(-1, -1) for _ in range(200)]
    assert submit_and_reap(ring, 2) == {1: -errno.ECANCELED, 2: -errno.ETIME}
    del junk


def test_queue_exit_with_pending_timeout_and_poll(pipes):
    import select
    r, _ = pipes()
    ring = L.io_uring()
    L.io_uring_queue_init(8, ring)
    L.io_uring_prep_timeout(sqe_for(ring, 1), L.kernel_timespec(60, 0))
    L.io_uring_prep_poll_add(sqe_for(ring, 2), r, select.POLLIN)
    buf = bytearray(4)
    L.io_uring_prep_read(sqe_for(ring, 3), r, buf, 4, -1)
    L.io_uring_submit(ring)
    t0 = time.monotonic()
    L.io_uring_queue_exit(ring)
    assert time.monotonic() - t0 < 8                 # not the 60 s of the timeout
    buf.append(0)
    assert ring.ring_fd is None


def test_cancel_fd_fixed_cancels_reads_on_a_registered_file(ring, pipes):
    r, w = pipes()
    L.io_uring_register_files(ring, [r])
    for ud in (1, 2):
        L.io_uring_prep_read(sqe_for(ring, ud, L.IOSQE_FIXED_FILE), 0, bytearray(4), 4, -1)
    L.io_uring_submit(ring)
    assert_no_completion(ring)
    sqe = sqe_for(ring, 9)
    L.io_uring_prep_cancel_fd(sqe, 0, L.IORING_ASYNC_CANCEL_FD_FIXED | L.IORING_ASYNC_CANCEL_ALL)
    assert sqe.rw_flags & L.IORING_ASYNC_CANCEL_FD
    assert submit_and_reap(ring, 3) == {1: -errno.ECANCELED, 2: -errno.ECANCELED, 9: 2}
    os.write(w, b"left")                              # nothing consumes it any more
    assert os.read(r, 10) == b"left"


@pytest.mark.parametrize("user_data", [0, 2**64 - 1, 2**64 - 2])
def test_queue_exit_with_extreme_user_data_in_flight(pipes, user_data):
    """Teardown's own cancellations use a reserved-looking user_data internally; a request of
    the user's with any user_data must still be cancelled and waited for."""
    r, w = pipes()
    ring = L.io_uring()
    L.io_uring_queue_init(8, ring)
    bufs = [bytearray(4), bytearray(4)]
    for b in bufs:
        L.io_uring_prep_read(sqe_for(ring, user_data), r, b, 4, -1)
    L.io_uring_submit(ring)
    assert_no_completion(ring)
    t0 = time.monotonic()
    L.io_uring_queue_exit(ring)
    assert time.monotonic() - t0 < 8
    for b in bufs:
        b.append(0)
    os.write(w, b"free")
    assert os.read(r, 10) == b"free"                   # no leftover read consumed it
