"""liburing test/cq-full.c: 12 NOPs on a 4-entry ring (8 CQ entries): at least 8 completions
are reaped, and without IORING_FEAT_NODROP the kernel counts 4 overflows (*cq.koverflow)."""
from ioring.liburing import *

from .conftest import T_EXIT_PASS, exit_status


def queue_n_nops(ring, n):
    for i in range(n):
        sqe = io_uring_get_sqe(ring)
        assert sqe is not None, "get sqe failed"

        io_uring_prep_nop(sqe)

    ret = io_uring_submit(ring)
    assert ret >= n, f"Submitted only {ret}"
    return 0


def main():
    p = io_uring_params()
    ring = io_uring()
    io_uring_queue_init_params(4, ring, p)

    try:
        queue_n_nops(ring, 4)
        queue_n_nops(ring, 4)
        queue_n_nops(ring, 4)

        i = 0
        while True:
            cqe = io_uring_peek_cqe(ring)       # -EAGAIN is None
            if cqe is None:
                break
            io_uring_cqe_seen(ring, cqe)
            i += 1

        assert not (i < 8 or ((ring.cq.koverflow != 4) and not (p.features & IORING_FEAT_NODROP))), \
            f"CQ overflow fail: {i} completions, {ring.cq.koverflow} overflow"
    finally:
        io_uring_queue_exit(ring)
    return T_EXIT_PASS


def test_main():
    exit_status(main())
