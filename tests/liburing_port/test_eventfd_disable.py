"""liburing test/eventfd-disable.c: IORING_CQ_EVENTFD_DISABLED: with the eventfd toggled off,
63 NOP completions do not signal it (a readv on it stays pending); toggled on, one more does
(the readv completes with the counter at 1). Plain and DEFER_TASKRUN rings."""
import os

from ioring.liburing import *

from .conftest import T_EXIT_FAIL, T_EXIT_PASS, T_EXIT_SKIP, exit_status, t_probe_defer_taskrun


def test(defer):
    p = io_uring_params()
    ptr = memoryview(bytearray(8)).cast("Q")      # uint64_t ptr; struct iovec vec = { &ptr, 8 }
    vec = [ptr]

    if defer:
        p.flags |= IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN

    ring = io_uring()
    io_uring_queue_init_params(64, ring, p)

    evfd = os.eventfd(0, os.EFD_CLOEXEC)
    try:
        io_uring_register_eventfd(ring, evfd)

        assert io_uring_cq_eventfd_enabled(ring), "eventfd disabled"

        ret = io_uring_cq_eventfd_toggle(ring, False)
        if ret:
            return T_EXIT_SKIP              # Skipping, CQ flags not available!

        sqe = io_uring_get_sqe(ring)
        io_uring_prep_readv(sqe, evfd, vec, 1, 0)
        sqe.user_data = 1

        ret = io_uring_submit(ring)
        assert ret == 1, f"submit: {ret}"

        for i in range(63):
            sqe = io_uring_get_sqe(ring)
            io_uring_prep_nop(sqe)
            sqe.user_data = 2

        ret = io_uring_submit(ring)
        assert ret == 63, f"submit: {ret}"

        for i in range(63):
            cqe = io_uring_wait_cqe(ring)
            if cqe.user_data == 1:          # eventfd
                raise AssertionError(f"eventfd unexpected: {ptr[0]}")
            elif cqe.user_data == 2:
                assert cqe.res == 0, f"nop: {cqe.res}"
            io_uring_cqe_seen(ring, cqe)

        ret = io_uring_cq_eventfd_toggle(ring, True)
        assert ret == 0, f"io_uring_cq_eventfd_toggle: {ret}"

        sqe = io_uring_get_sqe(ring)
        io_uring_prep_nop(sqe)
        sqe.user_data = 2

        ret = io_uring_submit(ring)
        assert ret == 1, f"submit: {ret}"

        for i in range(2):
            cqe = io_uring_wait_cqe(ring)
            if cqe.user_data == 1:          # eventfd
                assert cqe.res == 8, f"read res: {cqe.res}"
                assert ptr[0] == 1, f"eventfd: {ptr[0]}"
            elif cqe.user_data == 2:
                assert cqe.res == 0, f"nop: {cqe.res}"
            io_uring_cqe_seen(ring, cqe)
    finally:
        io_uring_queue_exit(ring)
        os.close(evfd)
    return T_EXIT_PASS


def main():
    ret = test(False)
    if ret != T_EXIT_PASS:
        return ret

    if t_probe_defer_taskrun():
        ret = test(True)
    return ret


def test_main():
    exit_status(main())
