"""The call doors of ioring.liburing (ioring/_call_doors.pxi): a hot function called with
positional arguments of the exact types goes through a door that converts them itself; any
other call goes to the def. Both must behave the same for every argument: the same result, the
same SQE encoding, the same exception with the same message. Each case here is run twice on
twin rings, once through the door (positional) and once through the def (the last argument by
keyword, which the door never takes), and the outcomes compared."""
import inspect
import os

import pytest

from ioring import liburing as L

from helpers import make_ring


class MyInt(int):
    pass


BAD_INTS = (-1, -2, 2**31, -2**31 - 1, 2**32, 2**63, 2**64 - 1, 2**64, -2**64, True, False,
            MyInt(3), 1.5, "3", None)


def outcome(fn, args, by_keyword):
    """What calling ``fn`` does: ("ok", result) or ("raised", type name, message)."""
    if by_keyword:
        name = list(inspect.signature(fn).parameters)[len(args) - 1]
        call = lambda: fn(*args[:-1], **{name: args[-1]})
    else:
        call = lambda: fn(*args)
    try:
        result = call()
    except Exception as exc:    # noqa: BLE001 - every outcome is compared
        return ("raised", type(exc).__name__, str(exc))
    return ("ok", describe(result))


def describe(value):
    if isinstance(value, L.io_uring_sqe):
        return ("sqe", value.opcode, value.user_data)
    if isinstance(value, L.io_uring_cqe):
        return ("cqe", value.user_data, value.res, value.flags)
    if value is None or isinstance(value, int):
        return value
    return type(value).__name__


def sqe_state(sqe):
    try:
        return (sqe.opcode, sqe.fd, sqe.len, sqe.off, sqe.user_data, sqe.flags)
    except ValueError as exc:
        return ("unreadable", str(exc))


@pytest.fixture
def data_fd(tmp_path):
    path = tmp_path / "data"
    path.write_bytes(os.urandom(8192))
    fd = os.open(path, os.O_RDWR)
    yield fd
    os.close(fd)


def assert_same(fn, make_args, check_state=None):
    """``make_args(ring)`` -> the call's arguments on that ring; both ways must agree."""
    results = []
    for by_keyword in (False, True):
        ring = make_ring(8)
        try:
            args = make_args(ring)
            out = outcome(fn, args, by_keyword)
            state = check_state(args) if check_state else None
            results.append((out, state))
        finally:
            try:
                L.io_uring_queue_exit(ring)
            except ValueError:
                pass
    assert results[0] == results[1], (fn.__name__, results)
    return results[0]


def test_every_door_is_installed():
    assert L._CALL_DOORS == 13


def sqe_kinds(ring):
    """The SQEs a prep may be given: a ring's, a free-standing one, a submitted (stale) one."""
    stale = L.io_uring_get_sqe(ring)
    L.io_uring_prep_nop(stale)
    L.io_uring_submit(ring)
    return {"ring": L.io_uring_get_sqe(ring), "own": L.io_uring_sqe(), "stale": stale,
            "none": None, "ring object": ring}


@pytest.mark.parametrize("fn", [L.io_uring_prep_read, L.io_uring_prep_write])
@pytest.mark.parametrize("kind", ["ring", "own", "stale", "none", "ring object"])
def test_prep_rw_sqe_kinds(fn, kind, data_fd):
    assert_same(fn, lambda ring: (sqe_kinds(ring)[kind], data_fd, bytearray(4096), 4096, 0),
                lambda args: sqe_state(args[0]) if isinstance(args[0], L.io_uring_sqe) else None)


@pytest.mark.parametrize("fn", [L.io_uring_prep_read, L.io_uring_prep_write])
@pytest.mark.parametrize("position,values", [
    (1, BAD_INTS + (0, 2**31 - 1, -2**31)),                             # fd
    (3, BAD_INTS + (0, 1, 4096, 4097, 2**32 - 1)),                      # nbytes
    (4, BAD_INTS + (0, 4095, 2**62, 2**63 - 1, -2**63)),                # offset
    (2, (bytearray(16), bytes(4096), memoryview(bytearray(4096)), memoryview(bytes(4096)),
         memoryview(bytearray(8192))[::2], None, "text", 12)),            # buf
])
def test_prep_rw_arguments(fn, position, values, data_fd):
    for value in values:
        def make_args(ring, value=value):
            args = [L.io_uring_get_sqe(ring), data_fd, bytearray(4096), 16, 0]
            args[position] = value
            return tuple(args)
        assert_same(fn, make_args, lambda args: sqe_state(args[0]))


def test_prep_nop_sqe_kinds():
    for kind in ("ring", "own", "stale", "none", "ring object"):
        assert_same(L.io_uring_prep_nop, lambda ring, kind=kind: (sqe_kinds(ring)[kind],))


def test_set_data64_values_and_sqe_kinds():
    for value in BAD_INTS + (0, 7, 2**30, 2**60, 2**63 + 5):
        assert_same(L.io_uring_sqe_set_data64, lambda ring, v=value: (L.io_uring_get_sqe(ring), v),
                    lambda args: sqe_state(args[0]))
    for kind in ("ring", "own", "stale", "none", "ring object"):
        assert_same(L.io_uring_sqe_set_data64, lambda ring, kind=kind: (sqe_kinds(ring)[kind], 9),
                    lambda args: sqe_state(args[0]) if isinstance(args[0], L.io_uring_sqe) else None)


class RingSubclass(L.io_uring):
    pass


def ring_kinds(ring):
    closed = L.io_uring()
    L.io_uring_queue_init(4, closed, 0)
    L.io_uring_queue_exit(closed)
    sub = RingSubclass()
    L.io_uring_queue_init(4, sub, 0)
    return {"ring": ring, "closed": closed, "uninitialized": L.io_uring(), "subclass": sub,
            "none": None, "sqe": L.io_uring_sqe()}


RING_FUNCTIONS = [L.io_uring_get_sqe, L.io_uring_submit, L.io_uring_for_each_cqe,
                  L.io_uring_peek_cqe, L.io_uring_cq_ready, L.io_uring_sq_ready]


@pytest.mark.parametrize("fn", RING_FUNCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("kind", ["ring", "closed", "uninitialized", "subclass", "none", "sqe"])
def test_one_ring_argument(fn, kind):
    def make_args(ring):
        sqe = L.io_uring_get_sqe(ring)          # something to submit, then complete
        L.io_uring_prep_nop(sqe)
        L.io_uring_sqe_set_data64(sqe, 5)
        L.io_uring_submit_and_wait(ring, 1)
        L.io_uring_prep_nop(L.io_uring_get_sqe(ring))
        return (ring_kinds(ring)[kind],)
    out = assert_same(fn, make_args)
    if fn is L.io_uring_for_each_cqe and kind == "ring":
        assert out[0][0] == "ok"


@pytest.mark.parametrize("value", BAD_INTS + (0, 1, 2, 3, 2**32 - 1))
def test_cq_advance_counts(value):
    def make_args(ring):
        for ud in (1, 2):
            sqe = L.io_uring_get_sqe(ring)
            L.io_uring_prep_nop(sqe)
            L.io_uring_sqe_set_data64(sqe, ud)
        L.io_uring_submit_and_wait(ring, 2)
        return (ring, value)
    assert_same(L.io_uring_cq_advance, make_args, lambda args: L.io_uring_cq_ready(args[0]))


@pytest.mark.parametrize("value", [v for v in BAD_INTS if not (isinstance(v, int) and 2 <= v < 2**32)]
                         + [0, 1])                 # (a valid count above 1 would wait forever)
def test_submit_and_wait_counts(value):
    def make_args(ring):
        L.io_uring_prep_nop(L.io_uring_get_sqe(ring))
        return (ring, value)
    assert_same(L.io_uring_submit_and_wait, make_args, lambda args: L.io_uring_cq_ready(args[0]))


def test_cqe_seen_cqe_kinds():
    def kinds(ring):
        other = make_ring(4)
        L.io_uring_prep_nop(L.io_uring_get_sqe(other))
        L.io_uring_submit_and_wait(other, 1)
        foreign = L.io_uring_peek_cqe(other)
        L.io_uring_prep_nop(L.io_uring_get_sqe(ring))
        L.io_uring_prep_nop(L.io_uring_get_sqe(ring))
        L.io_uring_submit_and_wait(ring, 2)
        head = L.io_uring_peek_cqe(ring)
        return {"head": head, "foreign": foreign, "none": None, "ring": ring}
    for kind in ("head", "foreign", "none", "ring"):
        assert_same(L.io_uring_cqe_seen, lambda ring, kind=kind: (ring, kinds(ring)[kind]),
                    lambda args: L.io_uring_cq_ready(args[0]))


def test_wrong_argument_counts_go_to_the_def(data_fd):
    ring = make_ring(4)
    try:
        sqe = L.io_uring_get_sqe(ring)
        for fn, args in [(L.io_uring_get_sqe, ()), (L.io_uring_get_sqe, (ring, ring)),
                         (L.io_uring_prep_read, (sqe, data_fd, bytearray(8), 8)),
                         (L.io_uring_prep_read, (sqe, data_fd, bytearray(8), 8, 0, 0)),
                         (L.io_uring_sqe_set_data64, (sqe,)), (L.io_uring_cq_advance, (ring,))]:
            with pytest.raises(TypeError, match="argument"):
                fn(*args)
    finally:
        L.io_uring_queue_exit(ring)


def test_a_door_read_pins_its_buffer_until_consumed(data_fd):
    """The door's inline path pins as the def does: the buffer cannot be resized until the
    completion is consumed, and its bytes are the file's."""
    ring = make_ring(4)
    try:
        buf = bytearray(4096)
        sqe = L.io_uring_get_sqe(ring)
        L.io_uring_prep_read(sqe, data_fd, buf, 4096, 0)
        L.io_uring_sqe_set_data64(sqe, 1)
        with pytest.raises(BufferError):
            buf.extend(b"x")
        L.io_uring_submit_and_wait(ring, 1)
        with pytest.raises(BufferError):
            buf.extend(b"x")
        n = 0
        for cqe in L.io_uring_for_each_cqe(ring):
            assert (cqe.user_data, cqe.res) == (1, 4096)
            n += 1
        L.io_uring_cq_advance(ring, n)
        buf.extend(b"x")                    # released
        assert bytes(buf[:4096]) == os.pread(data_fd, 4096, 0)
    finally:
        L.io_uring_queue_exit(ring)
