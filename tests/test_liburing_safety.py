"""The safety promises of DESIGN.md: pinned objects live until their completion is consumed,
teardown waits for the kernel, bad input raises before the kernel sees anything, the GIL is
released while waiting, and Ctrl-C interrupts a wait without losing completions."""
import gc
import os
import signal
import sys
import threading
import time
import warnings

import pytest
from hypothesis import given, settings, strategies as st, HealthCheck

from ioring import liburing as L
from helpers import make_ring, reap, resizable


def queue_read(ring, fd, buf, user_data, nbytes=None, offset=-1):
    sqe = L.io_uring_get_sqe(ring)
    L.io_uring_prep_read(sqe, fd, buf, len(buf) if nbytes is None else nbytes, offset)
    L.io_uring_sqe_set_data64(sqe, user_data)
    return sqe


# ---- pinning --------------------------------------------------------------------------------------

def test_buffer_is_pinned_from_prep_until_cqe_seen(ring, pipe):
    r, w = pipe
    buf = bytearray(16)
    queue_read(ring, r, buf, 1)
    assert not resizable(buf)          # pinned by the prepared SQE
    L.io_uring_submit(ring)
    assert not resizable(buf)          # pinned while in flight
    os.write(w, b"data")
    cqe = L.io_uring_wait_cqe(ring)
    assert not resizable(buf)          # still pinned: the CQE is not consumed yet
    L.io_uring_cqe_seen(ring, cqe)
    assert resizable(buf)
    assert bytes(buf[:4]) == b"data"


def test_buffer_survives_losing_every_python_reference(ring, pipe):
    r, w = pipe
    buf = bytearray(b"x" * 64)
    view_id = id(buf)
    queue_read(ring, r, buf, 9)
    L.io_uring_submit(ring)
    del buf
    gc.collect()
    os.write(w, b"late data")          # the kernel writes into the pinned buffer, not freed memory
    assert reap(ring, 1) == [(9, 9, 0)]


def test_reprepping_an_sqe_releases_the_first_pin(ring):
    buf = bytearray(8)
    sqe = L.io_uring_get_sqe(ring)
    L.io_uring_prep_read(sqe, 0, buf, 8, 0)
    assert not resizable(buf)
    L.io_uring_prep_nop(sqe)
    assert resizable(buf)
    L.io_uring_submit(ring)
    reap(ring, 1)


def test_shared_user_data_keeps_pins_until_the_last_completion(ring, pipe):
    """Requests that share a user_data: a completion cannot be matched to one of them, so all
    their pins live until every one of them has completed (never released early)."""
    r, w = pipe
    a, b = bytearray(4), bytearray(4)
    queue_read(ring, r, a, 0)
    queue_read(ring, r, b, 0)
    L.io_uring_submit(ring)
    os.write(w, b"1111")
    cqe = L.io_uring_wait_cqe(ring)
    L.io_uring_cqe_seen(ring, cqe)
    assert not resizable(a) and not resizable(b)   # one read is still in flight
    os.write(w, b"2222")
    cqe = L.io_uring_wait_cqe(ring)
    L.io_uring_cqe_seen(ring, cqe)
    assert resizable(a) and resizable(b)
    assert {bytes(a), bytes(b)} == {b"1111", b"2222"}


def test_a_nop_with_the_same_user_data_does_not_release_a_read(ring, pipe):
    r, w = pipe
    buf = bytearray(4)
    queue_read(ring, r, buf, 7)
    sqe = L.io_uring_get_sqe(ring)
    L.io_uring_prep_nop(sqe)
    L.io_uring_sqe_set_data64(sqe, 7)
    L.io_uring_submit(ring)
    cqe = L.io_uring_wait_cqe(ring)     # the NOP
    assert cqe.res == 0
    L.io_uring_cqe_seen(ring, cqe)
    assert not resizable(buf)
    os.write(w, b"abcd")
    reap(ring, 1)
    assert resizable(buf) and buf == b"abcd"


@pytest.mark.parametrize("make", [
    lambda: (L.kernel_timespec(10, 0), lambda ring, ts: L.io_uring_prep_timeout(L.io_uring_get_sqe(ring), ts, 0, 0)),
    lambda: (L.statx(), lambda ring, sx: L.io_uring_prep_statx(L.io_uring_get_sqe(ring), L.AT_FDCWD, "/", 0, L.STATX_ALL, sx)),
])
def test_structs_are_pinned_too(ring, make):
    obj, prep = make()
    refs = sys.getrefcount(obj)
    prep(ring, obj)
    assert sys.getrefcount(obj) > refs
    L.io_uring_submit(ring)
    if isinstance(obj, L.kernel_timespec):
        sqe = L.io_uring_get_sqe(ring)
        L.io_uring_prep_timeout_remove(sqe, 0, 0)
        L.io_uring_submit(ring)
        reap(ring, 2)
    else:
        reap(ring, 1)
    assert sys.getrefcount(obj) == refs


def test_path_is_pinned_until_completion(ring, tmp_path):
    path = os.fsencode(tmp_path / "f")
    refs = sys.getrefcount(path)
    L.io_uring_prep_openat(L.io_uring_get_sqe(ring), L.AT_FDCWD, path, os.O_CREAT | os.O_WRONLY, 0o600)
    L.io_uring_submit(ring)
    (_, fd, _), = reap(ring, 1)
    os.close(fd)
    assert sys.getrefcount(path) == refs


def test_registered_buffers_are_pinned_until_unregistered(ring):
    buf = bytearray(4096)
    L.io_uring_register_buffers(ring, [buf])
    assert not resizable(buf)
    L.io_uring_unregister_buffers(ring)
    assert resizable(buf)


def test_refcounts_return_to_their_start_after_many_operations(ring, tmp_path):
    fd = os.open(tmp_path / "f", os.O_RDWR | os.O_CREAT)
    try:
        os.write(fd, b"z" * 4096)
        buf = bytearray(4096)
        before = sys.getrefcount(buf)
        for i in range(2000):
            queue_read(ring, fd, buf, i, offset=0)
            if L.io_uring_sq_space_left(ring) == 0:
                L.io_uring_submit(ring)
                reap(ring, L.io_uring_sq_ready(ring) or ring.sq_entries)
        L.io_uring_submit(ring)
        while L.io_uring_cq_ready(ring) or L.io_uring_peek_cqe(ring):
            L.io_uring_cq_advance(ring, L.io_uring_cq_ready(ring))
        deadline = time.monotonic() + 5
        while sys.getrefcount(buf) != before and time.monotonic() < deadline:
            cqe = L.io_uring_wait_cqe_timeout(ring, L.kernel_timespec(0, 10_000_000))
            if cqe is not None:
                L.io_uring_cqe_seen(ring, cqe)
        assert sys.getrefcount(buf) == before
    finally:
        os.close(fd)


# ---- teardown --------------------------------------------------------------------------------------

def test_queue_exit_with_a_read_in_flight_cancels_and_releases(pipe):
    r, w = pipe
    ring = make_ring(8)
    buf = bytearray(b"\xAA" * 32)
    queue_read(ring, r, buf, 1)
    L.io_uring_submit(ring)
    time.sleep(0.01)
    start = time.monotonic()
    L.io_uring_queue_exit(ring)
    assert time.monotonic() - start < 5
    assert resizable(buf)
    os.write(w, b"after exit")
    time.sleep(0.05)
    assert buf == b"\xAA" * 32        # the cancelled read never wrote into it
    assert os.read(r, 100) == b"after exit"


def test_queue_exit_drops_prepared_but_unsubmitted_sqes(pipe):
    r, _ = pipe
    ring = make_ring(8)
    buf = bytearray(8)
    queue_read(ring, r, buf, 1)
    L.io_uring_queue_exit(ring)
    assert resizable(buf)


def test_unclosed_ring_warns_and_still_waits_for_the_kernel(pipe):
    r, w = pipe
    ring = make_ring(8)
    buf = bytearray(b"\x55" * 16)
    queue_read(ring, r, buf, 3)
    L.io_uring_submit(ring)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del ring
        gc.collect()
    assert any(issubclass(x.category, ResourceWarning) for x in caught)
    assert resizable(buf)
    os.write(w, b"x")
    time.sleep(0.02)
    assert buf == b"\x55" * 16


def test_ring_in_a_reference_cycle_is_torn_down_safely(pipe):
    r, w = pipe
    ring = make_ring(8)
    buf = bytearray(16)
    holder = [ring, buf]
    holder.append(holder)
    queue_read(ring, r, buf, 3)
    L.io_uring_submit(ring)
    del ring, holder
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
    assert resizable(buf)


# ---- the GIL and signals -------------------------------------------------------------------------

def test_the_gil_is_released_while_waiting(ring, pipe):
    r, w = pipe
    buf = bytearray(8)
    queue_read(ring, r, buf, 5)
    L.io_uring_submit(ring)
    # Only another Python thread can complete the read: it must run while we wait.
    threading.Timer(0.05, os.write, (w, b"go")).start()
    cqe = L.io_uring_wait_cqe(ring)
    assert (cqe.user_data, cqe.res) == (5, 2)
    L.io_uring_cqe_seen(ring, cqe)


def test_queue_exit_from_another_thread_while_waiting_is_refused(ring, pipe):
    r, w = pipe
    buf = bytearray(8)
    queue_read(ring, r, buf, 5)
    L.io_uring_submit(ring)
    errors = []

    def other():
        time.sleep(0.05)
        try:
            L.io_uring_queue_exit(ring)
        except RuntimeError as exc:
            errors.append(exc)
        os.write(w, b"x")

    t = threading.Thread(target=other)
    t.start()
    cqe = L.io_uring_wait_cqe(ring)
    t.join()
    assert errors and cqe.res == 1
    L.io_uring_cqe_seen(ring, cqe)


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals go to the main thread")
def test_ctrl_c_interrupts_wait_cqe_and_keeps_completions(ring):
    ts = L.kernel_timespec(0, 300_000_000)
    sqe = L.io_uring_get_sqe(ring)
    L.io_uring_prep_timeout(sqe, ts, 0, 0)
    L.io_uring_sqe_set_data64(sqe, 77)
    L.io_uring_submit(ring)
    threading.Timer(0.05, signal.pthread_kill, (threading.main_thread().ident, signal.SIGINT)).start()
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        L.io_uring_wait_cqe(ring)
    assert time.monotonic() - start < 0.29
    cqe = L.io_uring_wait_cqe(ring)       # the timeout completion was not lost
    assert (cqe.user_data, cqe.res) == (77, -62)   # -ETIME
    L.io_uring_cqe_seen(ring, cqe)


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals go to the main thread")
def test_ctrl_c_interrupts_a_wait_that_also_submitted(ring, pipe):
    """Regression: when the enter that submits is interrupted, the kernel returns the count
    submitted, not EINTR; the wait went on with the signal consumed and slept forever."""
    r, w = pipe
    queue_read(ring, r, bytearray(4), 1)
    threading.Timer(0.1, signal.pthread_kill, (threading.main_thread().ident, signal.SIGINT)).start()
    rescue = threading.Timer(3, os.write, (w, b"free"))    # unblocks the wait if it regresses
    rescue.start()
    start = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            L.io_uring_submit_and_wait_timeout(ring, 1)
        assert time.monotonic() - start < 2
    finally:
        rescue.cancel()


def test_other_signals_are_handled_and_the_wait_goes_on(ring):
    hits = []
    old = signal.signal(signal.SIGUSR1, lambda *a: hits.append(1))
    try:
        sqe = L.io_uring_get_sqe(ring)
        L.io_uring_prep_timeout(sqe, L.kernel_timespec(0, 200_000_000), 0, 0)
        L.io_uring_submit(ring)
        threading.Timer(0.05, signal.pthread_kill, (threading.main_thread().ident, signal.SIGUSR1)).start()
        cqe = L.io_uring_wait_cqe(ring)
        assert cqe.res == -62 and hits == [1]
        L.io_uring_cqe_seen(ring, cqe)
    finally:
        signal.signal(signal.SIGUSR1, old)


# ---- bad input raises before the kernel sees anything ------------------------------------------------

def test_read_into_a_read_only_buffer_is_refused(ring):
    sqe = L.io_uring_get_sqe(ring)
    for ro in (b"abc", memoryview(bytearray(3)).toreadonly()):
        with pytest.raises(TypeError):
            L.io_uring_prep_read(sqe, 0, ro, 3, 0)
    assert sqe.opcode == L.IORING_OP_NOP


def test_nbytes_past_the_end_of_the_buffer_is_refused(ring):
    sqe = L.io_uring_get_sqe(ring)
    with pytest.raises(ValueError):
        L.io_uring_prep_read(sqe, 0, bytearray(10), 11, 0)
    with pytest.raises(ValueError):
        L.io_uring_prep_write(sqe, 1, b"0123456789", 11, 0)
    with pytest.raises(ValueError):
        L.io_uring_prep_read(sqe, 0, bytearray(10), -1, 0)
    assert sqe.opcode == L.IORING_OP_NOP and sqe.addr == 0


def test_non_contiguous_buffers_are_refused(ring):
    sqe = L.io_uring_get_sqe(ring)
    strided = memoryview(bytearray(20))[::2]
    with pytest.raises(ValueError):
        L.io_uring_prep_read(sqe, 0, strided, 5, 0)


def test_offsets_below_minus_one_are_refused(ring):
    sqe = L.io_uring_get_sqe(ring)
    with pytest.raises(ValueError):
        L.io_uring_prep_read(sqe, 0, bytearray(1), 1, -2)


def test_floats_are_never_truncated_into_integers(ring):
    """Regression: Cython's int conversion used __int__, so 4.5 became 4 (now __index__)."""
    import numpy
    sqe = L.io_uring_get_sqe(ring)
    for args in ((0, bytearray(8), 4.5, 0), (0, bytearray(8), 4, 1.5), (0, bytearray(8), 4, -1.0),
                 (3.7, bytearray(8), 4, 0)):
        with pytest.raises(TypeError):
            L.io_uring_prep_read(sqe, *args)
    with pytest.raises(TypeError):
        L.kernel_timespec(0.5)
    with pytest.raises(TypeError):
        L.io_uring_register_files(ring, [0, 1.9])
    L.io_uring_prep_read(sqe, numpy.int32(0), bytearray(8), numpy.int64(4), numpy.uint8(0))
    assert (sqe.len, sqe.off) == (4, 0)


def test_sequence_lengths_are_checked(ring):
    sqe = L.io_uring_get_sqe(ring)
    with pytest.raises(ValueError):
        L.io_uring_prep_readv(sqe, 0, [bytearray(4)], 2, 0)
    with pytest.raises(ValueError):
        L.io_uring_prep_readv(sqe, 0, [], None, 0)
    with pytest.raises(ValueError):
        L.io_uring_register_files(ring, [0, 1], 3)


def test_embedded_nul_in_a_path_is_refused(ring):
    sqe = L.io_uring_get_sqe(ring)
    with pytest.raises(ValueError):
        L.io_uring_prep_openat(sqe, L.AT_FDCWD, "a\0b", os.O_RDONLY, 0)
    assert sqe.opcode == L.IORING_OP_NOP


def test_none_is_refused_where_c_takes_a_pointer(ring):
    with pytest.raises(TypeError):
        L.io_uring_prep_nop(None)
    with pytest.raises(TypeError):
        L.io_uring_submit(None)
    with pytest.raises(TypeError):
        L.io_uring_prep_link_timeout(L.io_uring_get_sqe(ring), None, 0)


_junk = st.one_of(st.none(), st.integers(min_value=-2**70, max_value=2**70), st.text(max_size=5),
                  st.binary(max_size=8), st.floats(allow_nan=True), st.lists(st.integers(), max_size=3),
                  st.builds(bytearray, st.binary(max_size=8)), st.builds(object))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fd=_junk, buf=_junk, nbytes=_junk, offset=_junk)
def test_prep_read_write_with_junk_raise_cleanly(ring, fd, buf, nbytes, offset):
    for prep in (L.io_uring_prep_read, L.io_uring_prep_write):
        sqe = L.io_uring_get_sqe(ring)
        if sqe is None:
            L.io_uring_submit(ring)
            L.io_uring_cq_advance(ring, L.io_uring_cq_ready(ring))
            continue
        try:
            prep(sqe, fd, buf, nbytes, offset)
        except (TypeError, ValueError, OverflowError):
            assert sqe.opcode == L.IORING_OP_NOP
        else:
            # A valid combination: a real buffer no larger than its length, or (reads only)
            # None, the NULL of IOSQE_BUFFER_SELECT.
            assert (buf is None and prep is L.io_uring_prep_read) or (
                isinstance(buf, (bytes, bytearray)) and 0 <= nbytes <= len(buf))
            L.io_uring_prep_nop(sqe)
    L.io_uring_submit(ring)
    deadline = time.monotonic() + 5
    while L.io_uring_sq_ready(ring) and time.monotonic() < deadline:
        L.io_uring_submit(ring)
    L.io_uring_cq_advance(ring, L.io_uring_cq_ready(ring))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(args=st.lists(_junk, min_size=0, max_size=4))
def test_ring_functions_with_junk_raise_cleanly(ring, args):
    # (Only calls that cannot block: a junk wait count would rightly wait forever.)
    for fn in (L.io_uring_cq_advance, L.io_uring_register_files, L.io_uring_register_buffers,
               L.io_uring_peek_batch_cqe, L.io_uring_register_files_update, L.io_uring_queue_init,
               L.io_uring_register_eventfd, L.io_uring_sqe_set_flags, L.io_uring_sqe_set_data64):
        try:
            fn(ring, *args)
        except (TypeError, ValueError, OverflowError, OSError):
            pass
        # A call that succeeded with junk must have done something harmless; reset.
        if L.io_uring_cq_ready(ring):
            L.io_uring_cq_advance(ring, L.io_uring_cq_ready(ring))
        try:
            L.io_uring_unregister_files(ring)
        except OSError:
            pass
        try:
            L.io_uring_unregister_buffers(ring)
        except OSError:
            pass


def test_unclosed_ring_at_interpreter_exit_is_torn_down_quietly(tmp_path):
    """Regression: teardown at shutdown used the time module after it was cleared."""
    import subprocess
    import ioring
    code = (
        "import os\n"
        "from ioring import liburing as L\n"
        "ring = L.io_uring(); L.io_uring_queue_init(8, ring, 0)\n"
        "r, w = os.pipe(); buf = bytearray(8)\n"
        "sqe = L.io_uring_get_sqe(ring); L.io_uring_prep_read(sqe, r, buf, 8, -1)\n"
        "L.io_uring_submit(ring)\n"
    )
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(ioring.__file__)))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=30, env=env, cwd=tmp_path)   # not the source tree
    assert result.returncode == 0, result.stderr
    assert "Error" not in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_a_pure_wait_leaves_prepared_sqes_unsubmitted(ring):
    """Regression (found by the stateful fuzzer): a wait that submits nothing marked the SQEs
    handed out so far as submitted, so preparing one afterwards raised."""
    sqe = L.io_uring_get_sqe(ring)
    assert L.io_uring_wait_cqe_timeout(ring, L.kernel_timespec(0, 1000)) is None
    assert L.io_uring_wait_cqes(ring, 1, L.kernel_timespec(0, 1000)) is None
    L.io_uring_prep_nop(sqe)                 # still ours to prepare
    L.io_uring_sqe_set_data64(sqe, 31)
    assert L.io_uring_submit(ring) == 1
    assert reap(ring, 1) == [(31, 0, 0)]


def test_an_sqe_of_an_earlier_incarnation_of_the_ring_is_stale():
    """Regression (found by the stateful fuzzer): after queue_exit and a new queue_init on the
    same io_uring object, an SQE handed out before could prepare a slot of the new ring."""
    ring = make_ring(8)
    old = L.io_uring_get_sqe(ring)
    L.io_uring_queue_exit(ring)
    L.io_uring_queue_init(8, ring, 0)
    try:
        L.io_uring_get_sqe(ring)               # the same SQ index in the new ring
        with pytest.raises(ValueError):
            L.io_uring_prep_nop(old)
        with pytest.raises(ValueError):
            old.user_data = 1
        # Likewise a CQE of the earlier incarnation, at the same CQ position.
        L.io_uring_queue_exit(ring)
        L.io_uring_queue_init(8, ring, 0)
        L.io_uring_prep_nop(L.io_uring_get_sqe(ring))
        L.io_uring_submit(ring)
        old_cqe = L.io_uring_wait_cqe(ring)
        L.io_uring_queue_exit(ring)
        L.io_uring_queue_init(8, ring, 0)
        L.io_uring_prep_nop(L.io_uring_get_sqe(ring))
        L.io_uring_submit(ring)
        L.io_uring_wait_cqe(ring)
        with pytest.raises(ValueError):
            L.io_uring_cqe_seen(ring, old_cqe)
        assert L.io_uring_cq_ready(ring) == 1
    finally:
        L.io_uring_queue_exit(ring)


def test_sqe_queued_by_a_signal_handler_during_submit_and_wait_keeps_its_pin(ring, pipe):
    """Regression (found by the threads/signals tests): a Python signal handler runs inside the
    wait's EINTR retry; an SQE it queued was then published by the retry without being
    tracked, so its buffer's pin was lost while the read was in flight."""
    r, w = pipe
    buf = bytearray(8)
    queued = []

    def handler(signum, frame):
        if not queued:
            sqe = L.io_uring_get_sqe(ring)
            L.io_uring_prep_read(sqe, r, buf, 8, -1)
            L.io_uring_sqe_set_data64(sqe, 7)
            queued.append(sqe)

    old = signal.signal(signal.SIGALRM, handler)
    try:
        sqe = L.io_uring_get_sqe(ring)
        L.io_uring_prep_timeout(sqe, L.kernel_timespec(0, 300_000_000), 0, 0)
        L.io_uring_sqe_set_data64(sqe, 1)
        L.io_uring_submit(ring)
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        L.io_uring_submit_and_wait(ring, 1)
        assert queued, "the handler did not run"
        assert not resizable(buf)                 # the handler's read is in flight, pinned
        os.write(w, b"12345678")
        got = dict((ud, res) for ud, res, _ in reap(ring, 2))
        assert got == {1: -62, 7: 8}
        assert resizable(buf) and buf == b"12345678"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def test_objects_made_directly_instead_of_by_the_ring_raise_not_crash():
    """Regression (segfault found by the thin-layer fuzzer): an io_uring_sqe or CQE iterator
    built directly had no ring, and calling a method of that None crashed the process. (An
    io_uring_sqe() is now a free-standing SQE with memory of its own; io_uring_sqe.__new__
    gives one with neither a ring nor memory.)"""
    from ioring import _ring
    for call in (lambda: L.io_uring_prep_nop(L.io_uring_sqe.__new__(L.io_uring_sqe)),
                 lambda: L.io_uring_sqe.__new__(L.io_uring_sqe).user_data,
                 lambda: L.io_uring_cqe_iter_next(L.io_uring_cqe_iter()),
                 lambda: _ring.Operation().result(),
                 lambda: _ring.Operation().cancel()):
        with pytest.raises(ValueError):
            call()


def test_recvmsg_out_and_cmsghdr_made_directly_raise_not_crash():
    """Regression (segfault found by the thin-layer fuzzer): io_uring_recvmsg_out() and
    cmsghdr() made directly (or by __new__) have no buffer; reading them dereferenced NULL.
    Run in a child interpreter, so that a crash fails this test, not the session."""
    import subprocess
    import textwrap
    code = textwrap.dedent("""
        from ioring import liburing as L
        msg = L.msghdr()
        calls = []
        for o in (L.io_uring_recvmsg_out(), L.io_uring_recvmsg_out.__new__(L.io_uring_recvmsg_out)):
            calls += [lambda o=o: repr(o), lambda o=o: o.namelen, lambda o=o: o.controllen,
                      lambda o=o: o.payloadlen, lambda o=o: o.flags,
                      lambda o=o: L.io_uring_recvmsg_name(o),
                      lambda o=o: L.io_uring_recvmsg_payload(o, msg),
                      lambda o=o: L.io_uring_recvmsg_cmsg_firsthdr(o, msg)]
        for m in (L.cmsghdr(), L.cmsghdr.__new__(L.cmsghdr)):
            calls += [lambda m=m: repr(m), lambda m=m: m.cmsg_len, lambda m=m: m.cmsg_level,
                      lambda m=m: m.cmsg_type, lambda m=m: m.cmsg_data,
                      lambda m=m: L.io_uring_recvmsg_cmsg_nexthdr(L.io_uring_recvmsg_out(), msg, m)]
        for i, call in enumerate(calls):
            try:
                call()
            except ValueError:
                continue
            raise SystemExit(f"call {i} did not raise ValueError")
        print("ok")
    """)
    env = dict(os.environ)
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = repo + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-X", "faulthandler", "-c", code], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", \
        f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr[-3000:]}"


# ---- out-of-range integers are bad arguments: ValueError (DESIGN.md) ---------------------------

def _int_range_cases(ring, sqe):
    ts = L.kernel_timespec(0, 0)
    return [
        ("unsigned negative", lambda: L.io_uring_sqe_set_flags(sqe, -1)),
        ("unsigned > 2**32", lambda: L.io_uring_sqe_set_flags(sqe, 2**32)),
        ("uint64 negative", lambda: L.io_uring_sqe_set_data64(sqe, -1)),
        ("uint64 2**64", lambda: L.io_uring_sqe_set_data64(sqe, 2**64)),
        ("uint64 2**200", lambda: L.io_uring_sqe_set_data64(sqe, 2**200)),
        ("int > 2**31", lambda: L.io_uring_prep_read(sqe, 2**31, bytearray(4), 4, 0)),
        ("long long 2**70", lambda: L.io_uring_prep_read(sqe, 0, bytearray(4), 2**70, 0)),
        ("keyword argument", lambda: L.io_uring_prep_read(sqe, 0, bytearray(4), nbytes=2**70, offset=0)),
        ("unsigned count", lambda: L.io_uring_prep_timeout(sqe, ts, -1)),
        ("ring argument", lambda: L.io_uring_cq_advance(ring, -1)),
        ("constructor", lambda: L.kernel_timespec(2**70, 0)),
        ("constructor keyword", lambda: L.io_uring_params(flags=2**40)),
        ("constructor __cinit__", lambda: L.io_uring_reg_wait_region(-1)),
        ("property setter", lambda: setattr(sqe, "ioprio", 2**16)),
        ("struct setter", lambda: setattr(ts, "tv_sec", 2**70)),
        ("params setter", lambda: setattr(L.io_uring_params(), "sq_entries", -1)),
    ]


def test_out_of_range_ints_raise_value_error(ring):
    """DESIGN.md: bad arguments raise TypeError/ValueError. Integers that do not fit their C type
    raised OverflowError (an ArithmeticError) from Cython's conversions; they raise a ValueError
    that is still an OverflowError, with the conversion's message, before the kernel sees
    anything (the SQE is untouched)."""
    sqe = L.io_uring_get_sqe(ring)
    L.io_uring_prep_nop(sqe)
    L.io_uring_sqe_set_data64(sqe, 7)
    for what, call in _int_range_cases(ring, sqe):
        try:
            call()
        except ValueError as exc:
            assert isinstance(exc, OverflowError), what
            assert "convert" in str(exc) or "range" in str(exc) or "must be" in str(exc), (what, str(exc))
        else:
            pytest.fail(f"{what}: no error")
    assert (sqe.opcode, sqe.user_data, sqe.flags, sqe.ioprio) == (L.IORING_OP_NOP, 7, 0, 0)
    assert L.io_uring_submit(ring) == 1
    assert reap(ring, 1) == [(7, 0, 0)]


def test_out_of_range_int_in_a_method_raises_value_error(ring):
    """Methods of the module's types are routed too (their PyMethodDef, as the functions')."""
    br = L.io_uring_setup_buf_ring(ring, 4, 3, 0)
    try:
        with pytest.raises(ValueError) as info:
            br.buffer(2**32)
        assert isinstance(info.value, OverflowError)
        with pytest.raises(ValueError):
            L.io_uring_buf_ring.buffer(br, -1)
    finally:
        L.io_uring_free_buf_ring(ring, br, 4, 3)


def test_int_range_routing_keeps_functions_as_they_were():
    """The routing changes no name, signature or docstring, and normal calls work. The functions
    are builtins (the module is compiled with binding=False: CPython's specializing interpreter
    calls a builtin directly, a Cython function through its generic path, issue 18)."""
    import inspect
    assert type(L.io_uring_prep_read) is type(len)
    assert L.io_uring_prep_read.__name__ == "io_uring_prep_read"
    assert list(inspect.signature(L.io_uring_prep_read).parameters) == ["sqe", "fd", "buf", "nbytes", "offset"]
    assert L.io_uring_prep_read.__doc__.startswith("io_uring_prep_read(")
    assert L.kernel_timespec(tv_nsec=5).tv_nsec == 5
    assert L.io_uring_params(flags=2).flags == 2
    with pytest.raises(TypeError):
        L.kernel_timespec("x")
    with pytest.raises(TypeError):
        L.io_uring_prep_read(1, 2)


def _callables_of_the_module():
    import types
    for name, obj in sorted(vars(L).items()):
        if isinstance(obj, types.BuiltinFunctionType) and obj.__module__ == L.__name__:
            yield name, obj, False
        elif isinstance(obj, type) and obj.__module__ == L.__name__:
            for attr, member in sorted(vars(obj).items()):
                if isinstance(member, types.MethodDescriptorType) and member.__objclass__ is obj:
                    yield f"{name}.{attr}", member, True
                elif isinstance(member, staticmethod):
                    yield f"{name}.{attr}", member.__func__, False


def test_every_function_and_method_has_the_signature_of_its_doc():
    """A builtin's signature comes from a text signature the import writes from the C-typed first
    line Cython embeds: every function and method of the module has one, with the names and
    defaults of that line, and the line stays the first of ``__doc__``."""
    import inspect
    import re
    checked = 0
    for name, fn, method in _callables_of_the_module():
        if name.startswith("__pyx_unpickle") or (fn.__name__ == "__next__" and fn.__doc__ is None):
            continue                        # Cython's pickling helpers and a slot's copy: no doc
        doc = fn.__doc__
        assert doc, name
        first = doc.split("\n", 1)[0]
        assert re.match(rf"^(\w+\.)?{re.escape(fn.__name__)}\(.*\)$", first), (name, first)
        params = list(inspect.signature(fn).parameters.values())
        doc_params = [p.strip() for p in first[first.index("(") + 1:-1].split(",") if p.strip()]
        assert len(params) == len(doc_params), (name, first, params)
        for param, text in zip(params, doc_params):
            declared, eq, default = text.partition("=")
            assert declared.split()[-1].lstrip("*") == param.name, (name, text)
            if eq:
                assert repr(param.default) == default.strip(), (name, text, param.default)
            else:
                assert param.default is inspect.Parameter.empty, (name, text)
        if method:
            assert params[0].name == "self" and params[0].kind is inspect.Parameter.POSITIONAL_ONLY
        checked += 1
    assert checked > 250


def test_bound_methods_drop_self_from_their_signature():
    import inspect
    addr = L.sockaddr.from_bytes(b"\x02\x00\x00\x50\x7f\x00\x00\x01" + bytes(8))
    assert str(inspect.signature(addr.to_python)) == "()"
    assert addr.to_python() == ("127.0.0.1", 80)
