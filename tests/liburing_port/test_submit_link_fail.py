"""liburing test/submit-link-fail.c: a linked request failing at submission (a read with an
invalid ioprio, sqe->ioprio = (short) -1) in chains of links or hard links, with and without a
drain clogged in front, with and without the last request linked: the failing request errors,
the rest of the chain is cancelled."""
import errno
import os

from ioring.liburing import *

from .conftest import exit_status

DRAIN_USER_DATA = 42


def test_underprep_fail(hardlink, drain, link_last, link_size, fail_idx):
    invalid_fd = 42
    link_flags = IOSQE_IO_LINK
    total_submit = link_size
    buffer = bytearray(1)

    if drain:
        link_flags |= IOSQE_IO_DRAIN
    if hardlink:
        link_flags |= IOSQE_IO_HARDLINK

    assert fail_idx < link_size
    assert link_size < 40

    # create a new ring as it leaves it dirty
    ring = io_uring()
    io_uring_queue_init(8, ring, 0)
    fds = os.pipe()
    try:
        if drain:
            # clog drain, so following reqs sent to draining
            sqe = io_uring_get_sqe(ring)
            io_uring_prep_read(sqe, fds[0], buffer, len(buffer), 0)
            sqe.user_data = DRAIN_USER_DATA
            sqe.flags |= IOSQE_IO_DRAIN
            total_submit += 1

        for i in range(link_size):
            sqe = io_uring_get_sqe(ring)
            if i == fail_idx:
                io_uring_prep_read(sqe, invalid_fd, buffer, 1, 0)
                sqe.ioprio = -1             # (short) -1
            else:
                io_uring_prep_nop(sqe)

            if i != link_size - 1 or not link_last:
                sqe.flags |= link_flags
            sqe.user_data = i

        ret = io_uring_submit(ring)
        if ret != total_submit:
            # Old behaviour, failed early and under-submitted
            assert ret == fail_idx + 1 + drain, f"submit failed: {ret}"
            return 0

        if drain:
            # unclog drain
            os.write(fds[1], buffer)

        for i in range(total_submit):
            cqe = io_uring_wait_cqe(ring)

            ret = cqe.res
            if cqe.user_data == DRAIN_USER_DATA:
                assert ret == 1, f"drain failed {ret}"
            elif cqe.user_data == fail_idx:
                assert ret not in (0, -errno.ECANCELED), f"half-prep req unexpected return {ret}"
            else:
                assert ret == -errno.ECANCELED, f"cancel failed {ret}, ud {cqe.user_data}"
            io_uring_cqe_seen(ring, cqe)
    finally:
        os.close(fds[0])
        os.close(fds[1])
        io_uring_queue_exit(ring)
    return 0


def main():
    # hardlink, size=3, fail_idx=1, drain=false -- kernel fault
    # link, size=3, fail_idx=0, drain=true -- kernel fault
    # link, size=3, fail_idx=1, drain=true -- invalid cqe->res
    for link_size in range(3):
        for fail_idx in range(link_size):
            for i in range(8):
                hardlink = (i & 1) != 0
                drain = (i & 2) != 0
                link_last = (i & 4) != 0

                ret = test_underprep_fail(hardlink, drain, link_last, link_size, fail_idx)
                assert not ret, (f"failed {ret}, hard {hardlink}, drain {drain}, link_last {link_last}, "
                                 f"size {link_size}, idx {fail_idx}")
    return 0


def test_main():
    exit_status(main())
