"""liburing test/fixed-reuse.c: link <open file><read from file><close file> with an existing
file present in the opened slot, verifying that we get the new file rather than the old one."""
import os

from ioring.liburing import *

from .conftest import T_EXIT_PASS, T_EXIT_SKIP, exit_status, t_create_file_pattern

MAX_FILES = 8
FNAME1 = ".slot.reuse.1"
FNAME2 = ".slot.reuse.2"
PAT1 = 0xaa
PAT2 = 0x55
BSIZE = 4096


def test(ring):
    buf = bytearray(BSIZE)

    # open FNAME1 in slot 0
    sqe = io_uring_get_sqe(ring)
    io_uring_prep_openat_direct(sqe, AT_FDCWD, FNAME1, os.O_RDONLY, 0, 0)
    sqe.user_data = 1

    ret = io_uring_submit(ring)
    assert ret == 1, f"sqe submit failed: {ret}"

    cqe = io_uring_wait_cqe(ring)
    assert cqe.res == 0, f"open res {cqe.res}"
    io_uring_cqe_seen(ring, cqe)

    # Now open FNAME2 in that same slot, verifying we get data from FNAME2 and not FNAME1.
    sqe = io_uring_get_sqe(ring)
    io_uring_prep_openat_direct(sqe, AT_FDCWD, FNAME2, os.O_RDONLY, 0, 0)
    sqe.flags |= IOSQE_IO_LINK
    sqe.user_data = 2

    sqe = io_uring_get_sqe(ring)
    io_uring_prep_read(sqe, 0, buf, len(buf), 0)
    sqe.flags |= IOSQE_FIXED_FILE
    sqe.flags |= IOSQE_IO_LINK
    sqe.user_data = 3

    sqe = io_uring_get_sqe(ring)
    io_uring_prep_close_direct(sqe, 0)
    sqe.user_data = 4

    ret = io_uring_submit(ring)
    assert ret == 3, f"sqe submit failed: {ret}"

    for i in range(3):
        cqe = io_uring_wait_cqe(ring)
        if cqe.user_data == 2:
            assert cqe.res == 0, f"bad open {cqe.res}"
        elif cqe.user_data == 3:
            assert cqe.res == len(buf), f"bad read {cqe.res}"
        elif cqe.user_data == 4:
            assert cqe.res == 0, f"bad close {cqe.res}"
        io_uring_cqe_seen(ring, cqe)

    for i in range(len(buf)):
        assert buf[i] == PAT2, f"Bad pattern {buf[i]:x} at {i}"
    return 0


def main():
    p = io_uring_params()
    ring = io_uring()
    io_uring_queue_init_params(8, ring, p)
    try:
        if not (p.features & IORING_FEAT_CQE_SKIP):
            return T_EXIT_SKIP

        files = [-1] * MAX_FILES
        io_uring_register_files(ring, files, len(files))

        t_create_file_pattern(FNAME1, 4096, PAT1)
        t_create_file_pattern(FNAME2, 4096, PAT2)

        assert test(ring) == 0, "test failed"
    finally:
        io_uring_queue_exit(ring)
        for name in (FNAME1, FNAME2):
            if os.path.exists(name):
                os.unlink(name)
    return T_EXIT_PASS


def test_main():
    exit_status(main())
