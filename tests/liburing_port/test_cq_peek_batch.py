"""liburing test/cq-peek-batch.c: io_uring_peek_batch_cqe on an empty CQ, on 4 ready CQEs,
and after io_uring_cq_advance; the CQEs come in submission order."""
import pytest

from ioring.liburing import *

from .conftest import T_EXIT_FAIL, T_EXIT_PASS, exit_status


def queue_n_nops(ring, n, offset):
    for i in range(n):
        sqe = io_uring_get_sqe(ring)
        assert sqe is not None, "get sqe failed"

        io_uring_prep_nop(sqe)
        sqe.user_data = i + offset

    ret = io_uring_submit(ring)
    assert ret >= n, f"Submitted only {ret}"
    return 0


def CHECK_BATCH(ring, count, expected):
    """got = io_uring_peek_batch_cqe(ring, cqes, count), checked against expected; the cqes."""
    cqes = io_uring_peek_batch_cqe(ring, count)
    got = len(cqes)
    assert got == expected, f"Got {got} CQs, expected {expected}"
    return cqes


def main(advance_past_tail=True):
    ring = io_uring()
    io_uring_queue_init(4, ring, 0)

    try:
        CHECK_BATCH(ring, 4, 0)
        queue_n_nops(ring, 4, 0)

        cqes = CHECK_BATCH(ring, 4, 4)
        for i in range(4):
            assert i == cqes[i].user_data, f"Got user_data {cqes[i].user_data}, expected {i}"

        queue_n_nops(ring, 4, 4)

        io_uring_cq_advance(ring, 4)
        cqes = CHECK_BATCH(ring, 4, 4)
        for i in range(4):
            assert i + 4 == cqes[i].user_data, f"Got user_data {cqes[i].user_data}, expected {i + 4}"

        if advance_past_tail:
            io_uring_cq_advance(ring, 8)    # 4 are ready: see test_main_advance_past_tail
    finally:
        io_uring_queue_exit(ring)
    return T_EXIT_PASS


def test_main():
    """main() up to its last line, io_uring_cq_advance(&ring, 8) with 4 CQEs ready."""
    exit_status(main(advance_past_tail=False))


@pytest.mark.xfail(strict=True, raises=ValueError,
                   reason="advances the CQ head by 8 with 4 CQEs ready: ioring refuses to move the "
                          "head past the tail, which would consume completions not posted yet and "
                          "release what their requests pinned (memory safety)")
def test_main_advance_past_tail():
    exit_status(main())
