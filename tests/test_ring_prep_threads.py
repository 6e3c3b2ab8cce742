"""A request whose arguments run Python code (``__index__``, ``__fspath__``, ``__float__``, a prep
given to ``Ring.queue``) lets another thread run in the middle of ``Ring.read``... If that thread
submits the Ring, it must not publish the request before it is complete: the kernel would run a
zeroed SQE (a NOP nobody waits for) or the request without its user_data and its pin, and the
request itself would never reach the kernel (its Operation would wait forever)."""
import os
import select
import threading

import pytest

from ioring import Ring
from ioring import liburing as L

WAIT = 10.0      # seconds: generous, the threads only hand the GIL over


class _Handover:
    """Calls ``other(ring)`` in another thread while the caller is inside a conversion hook, and
    waits until it is done: the hook ``pause()`` runs where the request is being prepared."""

    def __init__(self, ring, other):
        self.ring = ring
        self.inside = threading.Event()
        self.done = threading.Event()
        self.error = []
        self.thread = threading.Thread(target=self._run, args=(other,))

    def _run(self, other):
        try:
            assert self.inside.wait(WAIT)
            other(self.ring)
        except BaseException as e:          # reported by join()
            self.error.append(e)
        finally:
            self.done.set()

    def __enter__(self):
        self.thread.start()
        return self

    def pause(self):
        self.inside.set()
        assert self.done.wait(WAIT)

    def __exit__(self, *exc):
        self.inside.set()
        self.thread.join(WAIT)
        assert not self.thread.is_alive()
        if self.error:
            raise self.error[0]


@pytest.fixture
def data_file(tmp_path):
    p = tmp_path / "data"
    p.write_bytes(b"0123456789abcdef" * 256)
    fd = os.open(p, os.O_RDONLY)
    yield p, fd
    os.close(fd)


def _submit(ring):
    ring.submit()


def _queue_nop_and_submit(ring):
    ring.nop().result(timeout=WAIT)


def _hook(h, method, value):
    """An object whose ``method`` (``__index__``, ``__float__``, ``__fspath__``) lets the other
    thread of ``h`` run, then returns ``value``."""
    def call(self):
        h.pause()
        return value
    return type("Hook", (), {method: call})()


@pytest.mark.parametrize("other", [_submit, _queue_nop_and_submit])
@pytest.mark.parametrize("hooked", ["offset", "timeout"])
def test_read_whose_argument_runs_python_while_another_thread_submits(data_file, other, hooked):
    """``offset`` is converted before the request is encoded; ``timeout=`` after: a submit then
    published the read without its user_data and its buffer pin, and its link timeout alone."""
    _, fd = data_file
    with Ring(8) as ring:
        buf = bytearray(16)
        with _Handover(ring, other) as h:
            if hooked == "offset":
                op = ring.read(fd, buf, _hook(h, "__index__", 16))
            else:
                op = ring.read(fd, buf, 16, timeout=_hook(h, "__float__", 5.0))
        assert op.result(timeout=WAIT) == 16
        assert buf == b"0123456789abcdef"
        assert ring.in_flight == 0


def test_openat_whose_path_runs_python_while_another_thread_submits(data_file):
    path, _ = data_file
    with Ring(8) as ring:
        with _Handover(ring, _submit) as h:
            op = ring.openat(_hook(h, "__fspath__", str(path)))
        fd = op.result(timeout=WAIT)
        try:
            assert os.pread(fd, 4, 0) == b"0123"
        finally:
            os.close(fd)


def test_queue_with_a_prep_that_runs_python_while_another_thread_submits(data_file):
    _, fd = data_file
    with Ring(8) as ring:
        buf = bytearray(16)
        with _Handover(ring, _submit) as h:
            def prep(sqe, fd, buf):
                h.pause()
                L.io_uring_prep_read(sqe, fd, buf, len(buf), 0)
            op = ring.queue(prep, fd, buf)
        assert op.result(timeout=WAIT) == 16
        assert buf == b"0123456789abcdef"


def test_queue_of_a_fixed_buffer_prep_is_checked_against_this_ring(data_file):
    """Ring.queue runs the caller's prep off the SQ; a prep that checks the ring's registered
    buffers still checks this Ring's."""
    _, fd = data_file
    with Ring(8) as ring:
        buf = bytearray(4096)
        L.io_uring_register_buffers(ring.uring, [buf])
        op = ring.queue(L.io_uring_prep_read_fixed, fd, buf, 16, 0, 0)
        assert op.result(timeout=WAIT) == 16
        assert buf[:16] == b"0123456789abcdef"
        with pytest.raises(ValueError):
            ring.queue(L.io_uring_prep_read_fixed, fd, bytearray(16), 16, 0, 0)
        assert ring.in_flight == 0


def test_multishot_with_a_prep_that_runs_python_while_another_thread_submits():
    r, w = os.pipe()
    try:
        with Ring(8) as ring:
            with _Handover(ring, _submit) as h:
                def prep(sqe, fd, mask):
                    h.pause()
                    L.io_uring_prep_poll_multishot(sqe, fd, mask)
                events = ring.multishot(prep, r, select.POLLIN, fd=r)
            os.write(w, b"x")
            assert next(iter(events)) & select.POLLIN
            events.close()
    finally:
        os.close(r)
        os.close(w)


def test_requests_prepared_off_the_sq_on_a_ring_of_128_byte_sqes(data_file):
    """Ring._queue copies a request into an SQE of IORING_SETUP_SQE128's size (the generated
    methods' 64 bytes into a zeroed slot, a queue() prep's free-standing 128 bytes whole)."""
    _, fd = data_file
    with Ring(4, flags=L.IORING_SETUP_SQE128) as ring:
        a, b = bytearray(16), bytearray(16)
        ops = [ring.read(fd, a, 16), ring.queue(L.io_uring_prep_read, fd, b, 16, 32), ring.nop()]
        assert [op.result(timeout=WAIT) for op in ops] == [16, 16, 0]
        assert a == b"0123456789abcdef" and b == a
        for _ in range(3):          # around the SQ more than once
            ops = [ring.queue(L.io_uring_prep_nop) for _ in range(4)]
            assert [op.result(timeout=WAIT) for op in ops] == [0] * 4
