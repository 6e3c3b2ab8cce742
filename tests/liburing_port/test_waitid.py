"""liburing test/waitid.c: IORING_OP_WAITID reaping forked children: a basic reap, a linked
timeout firing first, a child other than the awaited one exiting, an already exited child,
cancellation of a pending waitid (and races of it against the exit), and an invalid infop
address (-EFAULT)."""
import errno
import os
import time

from ioring.liburing import *

from .conftest import T_EXIT_FAIL, T_EXIT_PASS, T_EXIT_SKIP, exit_status, raw_address

P_ALL, P_PID = os.P_ALL, os.P_PID
WEXITED = os.WEXITED

no_waitid = False

# C repeats test_cancel_race 1000 times (10 forks each); a fork of the Python test process
# costs far more than a C fork, so the port runs it 20 times.
CANCEL_RACE_LOOPS = 20
# C's children sleep 200 ms against a 100 ms linked timeout; the port doubles the child's
# margin so a loaded CI machine cannot let the child win.
NOEXIT_CHILD_USEC = 400000


def fork_child(usleep_time):
    """pid = fork(); if (!pid) { child(usleep_time); exit(0); }"""
    pid = os.fork()
    if not pid:
        try:
            if usleep_time:
                time.sleep(usleep_time / 1e6)
        finally:
            os._exit(0)
    return pid


def test_invalid_infop(ring):
    si = 0x1234                             # siginfo_t *si = (siginfo_t *) 0x1234

    pid = fork_child(200000)
    try:
        sqe = io_uring_get_sqe(ring)
        io_uring_prep_waitid(sqe, P_PID, pid, si, WEXITED, 0)
        sqe.user_data = 1
        io_uring_submit(ring)

        cqe = io_uring_wait_cqe(ring)
        assert cqe.res == -errno.EFAULT, f"Bad return on invalid infop: {cqe.res}"
        io_uring_cqe_seen(ring, cqe)
    finally:
        os.waitpid(pid, 0)
    return T_EXIT_PASS


def test_noexit(ring):
    """Test linked timeout with child not exiting in time"""
    si = siginfo()
    pid = fork_child(NOEXIT_CHILD_USEC)

    sqe = io_uring_get_sqe(ring)
    io_uring_prep_waitid(sqe, P_PID, pid, si, WEXITED, 0)
    sqe.flags |= IOSQE_IO_LINK
    sqe.user_data = 1

    ts = kernel_timespec()
    ts.tv_sec = 0
    ts.tv_nsec = 100 * 1000 * 1000
    sqe = io_uring_get_sqe(ring)
    io_uring_prep_link_timeout(sqe, ts, 0)
    sqe.user_data = 2

    io_uring_submit(ring)

    for i in range(2):
        cqe = io_uring_wait_cqe(ring)
        assert not (cqe.user_data == 2 and cqe.res != 1), f"timeout res: {cqe.res}"
        assert not (cqe.user_data == 1 and cqe.res != -errno.ECANCELED), f"waitid res: {cqe.res}"
        io_uring_cqe_seen(ring, cqe)

    os.wait()
    return T_EXIT_PASS


def test_double(ring):
    """Test one child exiting, but not the one we were looking for"""
    si = siginfo()

    # p1 will exit shortly
    p1 = fork_child(100000)
    # p2 will linger
    p2 = fork_child(200000)

    sqe = io_uring_get_sqe(ring)
    io_uring_prep_waitid(sqe, P_PID, p2, si, WEXITED, 0)

    io_uring_submit(ring)

    cqe = io_uring_wait_cqe(ring)
    assert cqe.res >= 0, f"cqe res: {cqe.res}"
    assert si.si_pid == p2, f"expected pid {p2}, got {si.si_pid}"

    io_uring_cqe_seen(ring, cqe)
    os.wait()
    return T_EXIT_PASS


def test_ready(ring):
    """Test reaping of an already exited task"""
    si = siginfo()
    pid = fork_child(0)

    sqe = io_uring_get_sqe(ring)
    io_uring_prep_waitid(sqe, P_PID, pid, si, WEXITED, 0)

    io_uring_submit(ring)

    cqe = io_uring_wait_cqe(ring)
    assert cqe.res >= 0, f"cqe res: {cqe.res}"
    assert si.si_pid == pid, f"expected pid {pid}, got {si.si_pid}"

    io_uring_cqe_seen(ring, cqe)
    return T_EXIT_PASS


def test_cancel(ring):
    """Test cancelation of pending waitid"""
    pid = fork_child(20000)

    sqe = io_uring_get_sqe(ring)
    io_uring_prep_waitid(sqe, P_PID, pid, None, WEXITED, 0)
    sqe.user_data = 1

    io_uring_submit(ring)

    sqe = io_uring_get_sqe(ring)
    io_uring_prep_cancel64(sqe, 1, 0)
    sqe.user_data = 2

    io_uring_submit(ring)

    for i in range(2):
        cqe = io_uring_wait_cqe(ring)
        assert not (cqe.user_data == 1 and cqe.res != -errno.ECANCELED), f"cqe res: {cqe.res}"
        assert not (cqe.user_data == 2 and cqe.res != 1), f"cqe res: {cqe.res}"
        io_uring_cqe_seen(ring, cqe)

    os.wait()
    return T_EXIT_PASS


def test_cancel_race(ring, is_async):
    """Test cancelation of pending waitid, with expected races that either waitid trigger or
    cancelation will win."""
    total_forks = 0
    for i in range(10):
        total_forks += 1
        pid = os.fork()
        if not pid:
            try:
                time.sleep((os.getpid() & 1) / 1e6)
            finally:
                os._exit(0)

    sqe = io_uring_get_sqe(ring)
    io_uring_prep_waitid(sqe, P_ALL, -1, None, WEXITED, 0)
    if is_async:
        sqe.flags |= IOSQE_ASYNC
    sqe.user_data = 1

    io_uring_submit(ring)

    sqe = io_uring_get_sqe(ring)
    io_uring_prep_cancel64(sqe, 1, 0)
    sqe.user_data = 2

    time.sleep(1e-6)

    io_uring_submit(ring)

    to_wait = total_forks
    try:
        for i in range(2):
            cqe = io_uring_wait_cqe(ring)
            if cqe.user_data == 1:
                if not cqe.res:
                    to_wait -= 1
                assert cqe.res in (-errno.ECANCELED, 0), f"cqe1 res: {cqe.res}"
            if cqe.user_data == 2:
                assert cqe.res in (1, 0, -errno.ENOENT, -errno.EALREADY), f"cqe2 res: {cqe.res}"
            io_uring_cqe_seen(ring, cqe)
    finally:
        for i in range(to_wait):
            os.wait()
    return T_EXIT_PASS


def test(ring):
    """Test basic reap of child exit"""
    global no_waitid
    si = siginfo()
    pid = fork_child(100)

    sqe = io_uring_get_sqe(ring)
    io_uring_prep_waitid(sqe, P_PID, pid, si, WEXITED, 0)

    io_uring_submit(ring)

    cqe = io_uring_wait_cqe(ring)

    # no waitid support
    if cqe.res == -errno.EINVAL:
        no_waitid = True
        io_uring_cqe_seen(ring, cqe)
        os.waitpid(pid, 0)
        return T_EXIT_SKIP
    assert cqe.res >= 0, f"cqe res: {cqe.res}"
    assert si.si_pid == pid, f"expected pid {pid}, got {si.si_pid}"

    io_uring_cqe_seen(ring, cqe)
    return T_EXIT_PASS


def main(ring):
    ret = test(ring)
    assert ret != T_EXIT_FAIL, "test failed"
    if no_waitid:
        return T_EXIT_SKIP

    assert test_noexit(ring) != T_EXIT_FAIL, "test_noexit failed"
    assert test_noexit(ring) != T_EXIT_FAIL, "test_noexit failed"
    assert test_double(ring) != T_EXIT_FAIL, "test_double failed"
    assert test_ready(ring) != T_EXIT_FAIL, "test_ready failed"
    assert test_cancel(ring) != T_EXIT_FAIL, "test_cancel failed"
    # test_invalid_infop comes here in C: test_main_invalid_infop below.

    for i in range(CANCEL_RACE_LOOPS):
        assert test_cancel_race(ring, i & 1) != T_EXIT_FAIL, "test_cancel_race failed"
    return T_EXIT_PASS


def _ring():
    ring = io_uring()
    io_uring_queue_init(8, ring, 0)
    return ring


def test_main():
    ring = _ring()
    try:
        exit_status(main(ring))
    finally:
        io_uring_queue_exit(ring)


@raw_address
def test_main_invalid_infop():
    ring = _ring()
    try:
        assert test_invalid_infop(ring) != T_EXIT_FAIL, "test_invalid_infop failed"
    finally:
        io_uring_queue_exit(ring)
