"""liburing test/probe.c: IORING_REGISTER_PROBE with no op slots (last_op only) and with 256,
and io_uring_get_probe_ring: NOP, READV and WRITE are supported."""
import errno

from ioring.liburing import *

from .conftest import exit_status

no_probe = 0


def verify_probe(p, full):
    assert full or not p.ops_len, f"Got ops_len={p.ops_len}"
    assert p.last_op, f"Got last_op={p.last_op}"
    if not full:
        return 0
    # check a few ops that must be supported
    assert p.ops[IORING_OP_NOP].flags & IO_URING_OP_SUPPORTED, "NOP not supported!?"
    assert p.ops[IORING_OP_READV].flags & IO_URING_OP_SUPPORTED, "READV not supported!?"
    assert p.ops[IORING_OP_WRITE].flags & IO_URING_OP_SUPPORTED, "WRITE not supported!?"
    return 0


def test_probe_helper(ring):
    p = io_uring_get_probe_ring(ring)
    assert p is not None, "Failed getting probe data"

    ret = verify_probe(p, 1)
    io_uring_free_probe(p)
    return ret


def test_probe(ring):
    global no_probe
    p = io_uring_probe()                    # t_calloc(1, sizeof(*p) + 256 ops)
    try:
        io_uring_register_probe(ring, p, 0)
    except OSError as exc:
        if exc.errno == errno.EINVAL:
            no_probe = 1                    # Probe not supported, skipping
            return 0
        raise

    assert verify_probe(p, 0) == 0

    # now grab for all entries
    p = io_uring_probe()                    # memset(p, 0, len)
    io_uring_register_probe(ring, p, 256)

    assert verify_probe(p, 1) == 0
    return 0


def main():
    ring = io_uring()
    io_uring_queue_init(8, ring, 0)
    try:
        assert test_probe(ring) == 0, "test_probe failed"
        if no_probe:
            return 0
        assert test_probe_helper(ring) == 0, "test_probe failed"
    finally:
        io_uring_queue_exit(ring)
    return 0


def test_main():
    exit_status(main())
