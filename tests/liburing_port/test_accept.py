"""liburing test/accept.c: IORING_OP_ACCEPT: plain, queued before the connect, non-blocking
listeners, into a direct descriptor (accept_direct), multishot (plain and direct, with a CQ
overflow in the middle), on an SQPOLL ring, cancelled (by user_data, before and while it
runs), many accepts cancelled at exit, a wrong file_index for multishot direct (-EINVAL), and
an accept pending when the program exits from a signal handler."""
import errno
import os
import resource
import signal
import socket
import threading
import time

from ioring.liburing import *

from .conftest import (T_EXIT_FAIL, T_EXIT_PASS, T_EXIT_SKIP, T_SETUP_SKIP, exit_status,
                       t_clear_nonblock, t_create_ring_params, t_set_nonblock)

MAX_FDS = 32
NOP_USER_DATA = 1 << 50
INITIAL_USER_DATA = 1000

no_accept = 0
no_accept_multi = 0


class data:
    def __init__(self):
        self.buf = bytearray(128)
        self.iov = self.buf


class accept_test_args:
    def __init__(self, accept_should_error=0, fixed=False, nonblock=False,
                 queue_accept_before_connect=False, multishot=False, extra_loops=0, overflow=False):
        self.accept_should_error = accept_should_error
        self.fixed = fixed
        self.nonblock = nonblock
        self.queue_accept_before_connect = queue_accept_before_connect
        self.multishot = multishot
        self.extra_loops = extra_loops
        self.overflow = overflow


def close_fds(fds, nr):
    for i in range(nr):
        if fds[i] >= 0:
            os.close(fds[i])


def close_sock_fds(s_fd, c_fd, nr, fixed):
    if not fixed:
        close_fds(s_fd, nr)
    close_fds(c_fd, nr)


def queue_send(ring, fd):
    d = data()
    sqe = io_uring_get_sqe(ring)
    io_uring_prep_writev(sqe, fd, [d.iov], 1, 0)
    sqe.user_data = 1
    return d


def queue_recv(ring, fd, fixed):
    d = data()
    sqe = io_uring_get_sqe(ring)
    io_uring_prep_readv(sqe, fd, [d.iov], 1, 0)
    sqe.user_data = 2
    if fixed:
        sqe.flags |= IOSQE_FIXED_FILE
    return d


def queue_accept_multishot(ring, fd, idx, fixed):
    sqe = io_uring_get_sqe(ring)
    if fixed:
        io_uring_prep_multishot_accept_direct(sqe, fd, None, None, 0)
    else:
        io_uring_prep_multishot_accept(sqe, fd, None, None, 0)

    io_uring_sqe_set_data64(sqe, idx)
    io_uring_submit(ring)


def queue_accept_conn(ring, fd, args):
    fixed_idx = 0 if args.fixed else -1
    count = 1 + args.extra_loops

    if args.multishot:
        queue_accept_multishot(ring, fd, INITIAL_USER_DATA, args.fixed)
        return

    while count:
        count -= 1
        sqe = io_uring_get_sqe(ring)
        if fixed_idx < 0:
            io_uring_prep_accept(sqe, fd, None, None, 0)
        else:
            io_uring_prep_accept_direct(sqe, fd, None, None, 0, fixed_idx)
        io_uring_submit(ring)


def accept_conn(ring, fixed_idx, multishot, fd):
    """multishot is a one-item list (C's int *multishot)."""
    while True:
        cqe = io_uring_wait_cqe(ring)       # a copy, as C's cqe = *pcqe
        io_uring_cqe_seen(ring, cqe)
        if cqe.user_data != NOP_USER_DATA:
            break

    if multishot[0]:
        if not (cqe.flags & IORING_CQE_F_MORE):
            multishot[0] += 1
            queue_accept_multishot(ring, fd, multishot[0], fixed_idx == 0)
        else:
            if cqe.user_data != multishot[0]:
                print("received multishot after told done!")
                return -errno.ECANCELED

    ret = cqe.res

    if fixed_idx >= 0:
        if ret > 0:
            if not multishot:               # C tests the pointer, which is never NULL
                os.close(ret)
                return -errno.EINVAL
        elif not ret:
            ret = fixed_idx
    return ret


def start_accept_listen(addr, port_off, extra_flags):
    """Returns the listening fd; the bound (host, port) goes into addr[0] when addr is given."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_CLOEXEC | extra_flags,
                         socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    if addr is not None:
        addr[0] = sock.getsockname()
    sock.listen(128)
    return sock.detach()


def set_client_fd(addr):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_CLOEXEC, socket.IPPROTO_TCP)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    fd = sock.detach()

    t_set_nonblock(fd)
    sock = socket.socket(fileno=fd)
    ret = sock.connect_ex(addr)
    sock.detach()
    assert ret != 0                         # C: assert(ret == -1), EINPROGRESS

    t_clear_nonblock(fd)
    return fd


def cause_overflow(ring):
    for i in range(ring.cq.ring_entries):
        sqe = io_uring_get_sqe(ring)
        io_uring_prep_nop(sqe)
        io_uring_sqe_set_data64(sqe, NOP_USER_DATA)
        io_uring_submit(ring)


def clear_overflow(ring):
    while (cqe := io_uring_peek_cqe(ring)) is not None:
        if cqe.user_data != NOP_USER_DATA:
            break
        io_uring_cqe_seen(ring, cqe)


def test_loop(ring, args, recv_s0, addr):
    count = 0
    fixed = args.fixed
    multishot = args.multishot
    multishot_mask = 0
    nr_fds = MAX_FDS if multishot else 1
    multishot_idx = [INITIAL_USER_DATA if multishot else 0]
    s_fd = [-1] * MAX_FDS
    c_fd = [-1] * MAX_FDS

    if args.overflow:
        cause_overflow(ring)

    try:
        for i in range(nr_fds):
            c_fd[i] = set_client_fd(addr)
            if args.overflow and i == nr_fds // 2:
                clear_overflow(ring)

        if not args.queue_accept_before_connect:
            queue_accept_conn(ring, recv_s0, args)

        for i in range(nr_fds):
            s_fd[i] = accept_conn(ring, 0 if fixed else -1, multishot_idx, recv_s0)
            if s_fd[i] == -errno.EINVAL:
                if args.accept_should_error:
                    return T_EXIT_PASS
                global no_accept, no_accept_multi
                if multishot:
                    no_accept_multi = 1
                else:
                    no_accept = 1
                return T_EXIT_SKIP
            elif s_fd[i] < 0:
                if args.accept_should_error and s_fd[i] in (-errno.EBADF, -errno.EINVAL):
                    return T_EXIT_PASS
                raise AssertionError(f"{'Fixed' if fixed else ''} {'Multishot' if multishot else ''} "
                                     f"Accept[{i}] got {s_fd[i]}")
            elif s_fd[i] == 195 and args.overflow:
                raise AssertionError("Broken overflow handling")

            if multishot and fixed:
                assert s_fd[i] < MAX_FDS, f"Fixed Multishot Accept[{i}] got outbound index: {s_fd[i]}"
                # for fixed multishot accept test, the file slots allocated are [0, 32), this
                # means we finally end up with each bit of a u32 being 1.
                multishot_mask |= (1 << s_fd[i])

        if multishot:
            assert not (fixed and (~multishot_mask & 0xFFFFFFFF) != 0), "Fixed Multishot Accept misses events"
            return T_EXIT_PASS

        send_d = queue_send(ring, c_fd[0])
        recv_d = queue_recv(ring, s_fd[0], fixed)

        io_uring_submit_and_wait(ring, 2)

        while count < 2:
            done = 0
            for cqe in io_uring_for_each_cqe(ring):
                if cqe.res < 0:
                    print(f"Got cqe res {cqe.res}, user_data {cqe.user_data}")
                    done = 1
                    break
                assert cqe.res == 128
                count += 1

            assert count <= 2
            io_uring_cq_advance(ring, count)
            assert not done, "a send or recv failed"
        del send_d, recv_d
    finally:
        close_sock_fds(s_fd, c_fd, nr_fds, fixed)
    return T_EXIT_PASS


def test(ring, args):
    addr = [None]
    ret = 0
    recv_s0 = start_accept_listen(addr, 0, socket.SOCK_NONBLOCK if args.nonblock else 0)
    try:
        if args.queue_accept_before_connect:
            queue_accept_conn(ring, recv_s0, args)
        for loop in range(1 + args.extra_loops):
            ret = test_loop(ring, args, recv_s0, addr[0])
            if ret:
                break
    finally:
        os.close(recv_s0)
    return ret


class _Exit(Exception):
    """What C's exit(0) from the SIGALRM handler becomes: the wait is abandoned."""


def sig_alrm(sig, frame):
    raise _Exit()


def test_accept_pending_on_exit():
    m_io_uring = io_uring()
    io_uring_queue_init(32, m_io_uring, 0)

    fd = start_accept_listen(None, 0, 0)
    old = signal.signal(signal.SIGALRM, sig_alrm)
    try:
        sqe = io_uring_get_sqe(m_io_uring)
        io_uring_prep_accept(sqe, fd, None, None, 0)
        io_uring_submit(m_io_uring)

        signal.setitimer(signal.ITIMER_REAL, 0.2)    # C: alarm(1)
        try:
            cqe = io_uring_wait_cqe(m_io_uring)
            io_uring_cqe_seen(m_io_uring, cqe)
            raise AssertionError("the pending accept completed")
        except _Exit:
            return 0                                # C exits 0 from the handler
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        io_uring_queue_exit(m_io_uring)             # the accept still pending is cancelled
        os.close(fd)


def test_accept_many(usecs=0, nonblock=False, single_sock=False, close_fds=False):
    """Test issue many accepts and see if we handle cancelation on exit.

    C lowers RLIMIT_NPROC for its whole process, which is the test program. io-wq reads that
    limit when a thread's first ring work queue is made and keeps it for that thread, so the
    port runs this in a thread of its own: the pytest process's other threads keep theirs."""
    result = []
    thread = threading.Thread(target=lambda: result.append(_test_accept_many(usecs, nonblock, single_sock,
                                                                              close_fds)))
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "test_accept_many never finished"
    assert result, "test_accept_many raised (see the thread's traceback above)"
    return result[0]


def _test_accept_many(usecs, nonblock, single_sock, close_fds):
    nr = 128
    nr_socks = 1 if single_sock else nr

    cur_lim, hard = resource.getrlimit(resource.RLIMIT_NPROC)
    resource.setrlimit(resource.RLIMIT_NPROC, (nr // 4, hard))

    m_io_uring = io_uring()
    fds = []
    try:
        io_uring_queue_init(2 * nr, m_io_uring, 0)

        fds = [start_accept_listen(None, i, socket.SOCK_NONBLOCK if nonblock else 0)
               for i in range(nr_socks)]

        for i in range(nr):
            sock_idx = 0 if single_sock else i
            sqe = io_uring_get_sqe(m_io_uring)
            io_uring_prep_accept(sqe, fds[sock_idx], None, None, 0)
            sqe.user_data = 1 + i
            ret = io_uring_submit(m_io_uring)
            assert ret == 1

        if usecs:
            time.sleep(usecs / 1e6)

        if close_fds:
            for i in range(nr_socks):
                os.close(fds[i])
            fds = []

        for i in range(nr):
            cqe = io_uring_peek_cqe(m_io_uring)
            if cqe is None:
                break
            assert cqe.res == -errno.ECANCELED, f"Expected cqe to be canceled {cqe.res}"
            io_uring_cqe_seen(m_io_uring, cqe)
    finally:
        resource.setrlimit(resource.RLIMIT_NPROC, (cur_lim, hard))
        if m_io_uring.ring_fd is not None:
            io_uring_queue_exit(m_io_uring)
        for fd in fds:
            os.close(fd)
    return 0


def test_accept_cancel(usecs, nr, multishot):
    if multishot and no_accept_multi:
        return T_EXIT_SKIP

    m_io_uring = io_uring()
    io_uring_queue_init(32, m_io_uring, 0)

    fd = start_accept_listen(None, 0, 0)
    try:
        for i in range(1, nr + 1):
            sqe = io_uring_get_sqe(m_io_uring)
            if not multishot:
                io_uring_prep_accept(sqe, fd, None, None, 0)
            else:
                io_uring_prep_multishot_accept(sqe, fd, None, None, 0)
            sqe.user_data = i
            ret = io_uring_submit(m_io_uring)
            assert ret == 1

        if usecs:
            time.sleep(usecs / 1e6)

        for i in range(1, nr + 1):
            sqe = io_uring_get_sqe(m_io_uring)
            io_uring_prep_cancel64(sqe, i, 0)
            sqe.user_data = nr + i
            ret = io_uring_submit(m_io_uring)
            assert ret == 1
        for i in range(nr * 2):
            cqe = io_uring_wait_cqe(m_io_uring)
            # Two cases here:
            # 1) We cancel the accept4() before it got started, we should get '0' for the
            #    cancel request and '-ECANCELED' for the accept request.
            # 2) We cancel the accept4() after it's already running, we should get '-EALREADY'
            #    for the cancel request and '-EINTR' for the accept request.
            assert cqe.user_data != 0, "unexpected 0 user data"
            if cqe.user_data <= nr:
                # no multishot
                if cqe.res == -errno.EINVAL:
                    return T_EXIT_SKIP
                assert cqe.res in (-errno.EINTR, -errno.ECANCELED), f"Cancelled accept got {cqe.res}"
            elif cqe.user_data <= nr * 2:
                assert cqe.res in (-errno.EALREADY, 0), f"Cancel got {cqe.res}"
            io_uring_cqe_seen(m_io_uring, cqe)
    finally:
        io_uring_queue_exit(m_io_uring)
        os.close(fd)
    return 0


def _with_ring(entries, args, files=None):
    m_io_uring = io_uring()
    io_uring_queue_init(entries, m_io_uring, 0)
    try:
        if files is not None:
            try:
                io_uring_register_files(m_io_uring, files, len(files))
            except OSError as exc:
                # kernel doesn't support sparse registered files, skip
                return T_EXIT_SKIP if exc.errno in (errno.EBADF, errno.EINVAL) else T_EXIT_FAIL
        return test(m_io_uring, args)
    finally:
        io_uring_queue_exit(m_io_uring)


def test_accept(count, before):
    return _with_ring(32, accept_test_args(queue_accept_before_connect=before, extra_loops=count - 1))


def test_multishot_accept(count, before, overflow):
    if no_accept_multi:
        return T_EXIT_SKIP
    return _with_ring(MAX_FDS + 10, accept_test_args(queue_accept_before_connect=before, multishot=True,
                                                     extra_loops=count - 1, overflow=overflow))


def test_accept_multishot_wrong_arg():
    m_io_uring = io_uring()
    io_uring_queue_init(4, m_io_uring, 0)

    fd = start_accept_listen(None, 0, 0)
    try:
        sqe = io_uring_get_sqe(m_io_uring)
        io_uring_prep_multishot_accept_direct(sqe, fd, None, None, 0)
        sqe.file_index = 1
        ret = io_uring_submit(m_io_uring)
        assert ret == 1

        cqe = io_uring_wait_cqe(m_io_uring)
        assert cqe.res == -errno.EINVAL, \
            "file index should be IORING_FILE_INDEX_ALLOC if its accept in multishot direct mode"
        io_uring_cqe_seen(m_io_uring, cqe)
    finally:
        io_uring_queue_exit(m_io_uring)
        os.close(fd)
    return 0


def test_accept_nonblock(queue_before_connect, count):
    return _with_ring(32, accept_test_args(nonblock=True, queue_accept_before_connect=queue_before_connect,
                                           extra_loops=count - 1))


def test_accept_fixed():
    fd = -1
    return _with_ring(32, accept_test_args(fixed=True), files=[fd])


def test_multishot_fixed_accept():
    if no_accept_multi:
        return T_EXIT_SKIP
    fd = [-1] * MAX_FDS
    return _with_ring(MAX_FDS + 10, accept_test_args(fixed=True, multishot=True), files=fd)


def test_accept_sqpoll():
    p = io_uring_params()
    p.flags = IORING_SETUP_SQPOLL
    m_io_uring = io_uring()
    ret = t_create_ring_params(32, m_io_uring, p)
    if ret == T_SETUP_SKIP:
        return 0
    elif ret < 0:
        return ret

    args = accept_test_args()
    args.accept_should_error = 1
    if p.features & IORING_FEAT_SQPOLL_NONFIXED:
        args.accept_should_error = 0

    try:
        return test(m_io_uring, args)
    finally:
        io_uring_queue_exit(m_io_uring)


def main():
    ret = test_accept(1, False)
    assert ret != T_EXIT_FAIL, "test_accept failed"
    if no_accept:
        return T_EXIT_SKIP

    checks = [
        (lambda: test_accept(2, False), "test_accept(2) failed"),
        (lambda: test_accept(2, True), "test_accept(2, true) failed"),
        (lambda: test_accept_nonblock(False, 1), "test_accept_nonblock failed"),
        (lambda: test_accept_nonblock(True, 1), "test_accept_nonblock(before, 1) failed"),
        (lambda: test_accept_nonblock(True, 3), "test_accept_nonblock(before,3) failed"),
        (test_accept_fixed, "test_accept_fixed failed"),
        (test_multishot_fixed_accept, "test_multishot_fixed_accept failed"),
        (test_accept_multishot_wrong_arg, "test_accept_multishot_wrong_arg failed"),
        (test_accept_sqpoll, "test_accept_sqpoll failed"),
        (lambda: test_accept_cancel(0, 1, False), "test_accept_cancel nodelay failed"),
        (lambda: test_accept_cancel(10000, 1, False), "test_accept_cancel delay failed"),
        (lambda: test_accept_cancel(0, 4, False), "test_accept_cancel nodelay failed"),
        (lambda: test_accept_cancel(10000, 4, False), "test_accept_cancel delay failed"),
        (lambda: test_accept_cancel(0, 1, True), "test_accept_cancel multishot nodelay failed"),
        (lambda: test_accept_cancel(10000, 1, True), "test_accept_cancel multishot delay failed"),
        (lambda: test_accept_cancel(0, 4, True), "test_accept_cancel multishot nodelay failed"),
        (lambda: test_accept_cancel(10000, 4, True), "test_accept_cancel multishot delay failed"),
        (lambda: test_multishot_accept(1, True, True), "test_multishot_accept(1, false, true) failed"),
        (lambda: test_multishot_accept(1, False, False), "test_multishot_accept(1, false, false) failed"),
        (lambda: test_multishot_accept(1, True, False), "test_multishot_accept(1, true, false) failed"),
        (lambda: test_accept_many(), "test_accept_many failed"),
        (lambda: test_accept_many(usecs=100000), "test_accept_many(sleep) failed"),
        (lambda: test_accept_many(nonblock=True), "test_accept_many(nonblock) failed"),
        (lambda: test_accept_many(nonblock=True, single_sock=True, close_fds=True),
         "test_accept_many(nonblock,close) failed"),
        (test_accept_pending_on_exit, "test_accept_pending_on_exit failed"),
    ]
    for check, message in checks:
        assert check() != T_EXIT_FAIL, message
    return T_EXIT_PASS


def test_main():
    exit_status(main())
