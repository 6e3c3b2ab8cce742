"""liburing test/msg-ring.c: IORING_OP_MSG_RING to the ring itself and to a ring waited on
by another thread, the same through io_uring_register_sync_msg() (a free-standing SQE), an fd
that is no ring (-EBADFD, plain and fixed), a DEFER_TASKRUN target, an IOPOLL source, and a
disabled (IORING_SETUP_R_DISABLED) target."""
import errno
import threading

from ioring.liburing import *

from .conftest import T_EXIT_FAIL, T_EXIT_PASS, T_EXIT_SKIP, exit_status, t_probe_defer_taskrun

no_msg = 0
no_sync_msg = 0


def _register_sync_msg(sqe):
    try:
        return io_uring_register_sync_msg(sqe)
    except OSError as exc:
        return -exc.errno


def test_own_sync(ring):
    global no_sync_msg
    if no_sync_msg:
        return 0

    sqe = io_uring_sqe()                    # struct io_uring_sqe sqe = { }
    io_uring_prep_msg_ring(sqe, ring.ring_fd, 0x10, 0x1234, 0)
    sqe.user_data = 1

    ret = _register_sync_msg(sqe)
    if ret == -errno.EINVAL:
        no_sync_msg = 1
        return 0
    assert ret == 0, f"register_sync_msg: {ret}"

    cqe = io_uring_wait_cqe(ring)
    assert cqe.user_data == 0x1234, "Invalid user_data"
    assert cqe.res == 0x10, f"invalid len {cqe.res:x}"

    io_uring_cqe_seen(ring, cqe)
    return 0


def test_own(ring, do_sync):
    global no_msg
    if do_sync:
        return test_own_sync(ring)

    sqe = io_uring_get_sqe(ring)
    assert sqe is not None, "get sqe failed"

    io_uring_prep_msg_ring(sqe, ring.ring_fd, 0x10, 0x1234, 0)
    sqe.user_data = 1

    ret = io_uring_submit(ring)
    assert ret > 0, f"sqe submit failed: {ret}"

    for i in range(2):
        cqe = io_uring_wait_cqe(ring)
        if cqe.user_data == 1:
            if cqe.res in (-errno.EINVAL, -errno.EOPNOTSUPP):
                no_msg = 1
                return 0
            assert cqe.res == 0, f"cqe res {cqe.res}"
        elif cqe.user_data == 0x1234:
            assert cqe.res == 0x10, f"invalid len {cqe.res:x}"
        else:
            raise AssertionError("Invalid user_data")
        io_uring_cqe_seen(ring, cqe)
    return 0


class data:
    def __init__(self, flags):
        self.ring = None
        self.flags = flags
        self.startup = threading.Barrier(2, timeout=30)
        self.barrier = threading.Barrier(2, timeout=30)
        self.ret = None


def wait_cqe_fn(d):
    ring = io_uring()
    io_uring_queue_init(4, ring, d.flags)
    d.ring = ring
    d.startup.wait()

    d.barrier.wait()

    cqe = io_uring_wait_cqe(ring)
    try:
        assert cqe.user_data == 0x5aa5, f"user_data {cqe.user_data:x}"
        assert cqe.res == 0x20, f"len {cqe.res:x}"
        d.ret = 0
    finally:
        io_uring_cqe_seen(ring, cqe)
        io_uring_queue_exit(ring)


def _start(target, *args):
    errors = []

    def run():
        try:
            target(*args)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, errors


def _join(thread, errors):
    thread.join(30)
    assert not thread.is_alive(), "the thread never finished"
    if errors:
        raise errors[0]


def test_remote_sync(ring_flags):
    global no_sync_msg
    if no_sync_msg:
        return 0

    sqe = io_uring_sqe()                    # struct io_uring_sqe sqe = { }
    d = data(ring_flags)
    thread, errors = _start(wait_cqe_fn, d)

    d.startup.wait()
    target = d.ring

    io_uring_prep_msg_ring(sqe, target.ring_fd, 0x20, 0x5aa5, 0)
    sqe.user_data = 1

    d.barrier.wait()

    ret = _register_sync_msg(sqe)
    if ret == -errno.EINVAL:
        no_sync_msg = 1
        return 0
    assert ret == 0, f"sync_msg: {ret}"
    _join(thread, errors)
    return 0


def test_remote(ring, ring_flags, do_sync):
    if do_sync:
        return test_remote_sync(ring_flags)

    d = data(ring_flags)
    thread, errors = _start(wait_cqe_fn, d)

    d.startup.wait()
    target = d.ring

    sqe = io_uring_get_sqe(ring)
    assert sqe is not None, "get sqe failed"

    io_uring_prep_msg_ring(sqe, target.ring_fd, 0x20, 0x5aa5, 0)
    sqe.user_data = 1

    ret = io_uring_submit(ring)
    assert ret > 0, f"sqe submit failed: {ret}"

    d.barrier.wait()

    cqe = io_uring_wait_cqe(ring)
    res, user_data = cqe.res, cqe.user_data
    io_uring_cqe_seen(ring, cqe)
    assert res == 0, f"cqe res {res}"
    assert user_data == 1, f"user_data {user_data:x}"

    _join(thread, errors)
    return 0


def remote_submit_fn(target):
    ring = io_uring()
    io_uring_queue_init(8, ring, 0)
    try:
        sqe = io_uring_get_sqe(ring)
        assert sqe is not None, "get sqe failed"

        io_uring_prep_msg_ring(sqe, target.ring_fd, 0x20, 0x5aa5, 0)
        sqe.user_data = 1

        ret = io_uring_submit(ring)
        assert ret > 0, f"sqe submit failed: {ret}"

        cqe = io_uring_wait_cqe(ring)
        assert cqe.res == 0 and cqe.user_data == 1, "invalid cqe"
        io_uring_cqe_seen(ring, cqe)
    finally:
        io_uring_queue_exit(ring)


def test_remote_submit(target):
    thread, errors = _start(remote_submit_fn, target)

    cqe = io_uring_wait_cqe(target)
    assert cqe.res == 0x20, f"cqe res {cqe.res}"
    assert cqe.user_data == 0x5aa5, f"user_data {cqe.user_data:x}"
    io_uring_cqe_seen(target, cqe)
    _join(thread, errors)
    return 0


def test_invalid(ring, fixed):
    fd = 1

    sqe = io_uring_get_sqe(ring)
    assert sqe is not None, "get sqe failed"

    try:
        if fixed:
            io_uring_register_files(ring, [fd], 1)
            io_uring_prep_msg_ring(sqe, 0, 0, 0x8989, 0)
            sqe.flags |= IOSQE_FIXED_FILE
        else:
            io_uring_prep_msg_ring(sqe, 1, 0, 0x8989, 0)

        sqe.user_data = 1

        ret = io_uring_submit(ring)
        assert ret > 0, f"sqe submit failed: {ret}"

        cqe = io_uring_wait_cqe(ring)
        assert cqe.res == -errno.EBADFD, f"cqe res {cqe.res}"

        io_uring_cqe_seen(ring, cqe)
    finally:
        if fixed:
            io_uring_unregister_files(ring)
    return 0


def test_disabled_ring(ring, flags):
    flags |= IORING_SETUP_R_DISABLED
    disabled_ring = io_uring()
    try:
        io_uring_queue_init(8, disabled_ring, flags)
    except OSError as exc:
        if exc.errno == errno.EINVAL:
            return T_EXIT_SKIP
        raise

    try:
        sqe = io_uring_get_sqe(ring)
        io_uring_prep_msg_ring(sqe, disabled_ring.ring_fd, 0x10, 0x1234, 0)
        sqe.user_data = 1

        ret = io_uring_submit(ring)
        assert ret == 1, f"sqe submit failed: {ret}"

        cqe = io_uring_wait_cqe(ring)
        assert cqe.res in (0, -errno.EBADFD), f"cqe res {cqe.res}"
        assert cqe.user_data == 1, f"user_data {cqe.user_data:x}"

        io_uring_cqe_seen(ring, cqe)
    finally:
        io_uring_queue_exit(disabled_ring)
    return 0


def test(ring_flags):
    ring, ring2, pring = io_uring(), io_uring(), io_uring()
    try:
        io_uring_queue_init(8, ring, ring_flags)
    except OSError as exc:
        if exc.errno == errno.EINVAL:
            return T_EXIT_SKIP
        raise
    io_uring_queue_init(8, ring2, ring_flags)
    io_uring_queue_init(8, pring, ring_flags | IORING_SETUP_IOPOLL)

    try:
        assert test_own(ring, 0) == 0, "test_own sync failed"
        if no_msg:
            return T_EXIT_SKIP

        assert test_own(ring, 1) == 0, "test_own async failed"
        assert test_own(pring, 0) == 0, "test_own async iopoll failed"
        assert test_own(pring, 1) == 0, "test_own sync iopoll failed"
        assert test_invalid(ring, 0) == 0, "test_invalid failed"

        for i in range(2):
            assert test_invalid(ring, 1) == 0, "test_invalid fixed failed"

        assert test_remote(ring, ring_flags, 0) == 0, "test_remote failed"
        assert test_remote(ring, ring_flags, 1) == 0, "test_remote sync failed"

        io_uring_queue_exit(ring)
        io_uring_queue_exit(pring)

        if t_probe_defer_taskrun():
            ring = io_uring()
            io_uring_queue_init(8, ring, IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN)

            assert test_own(ring, 0) == 0, "test_own async deferred failed"
            assert test_own(ring, 1) == 0, "test_own sync deferred failed"

            for i in range(2):
                assert test_invalid(ring, i) == 0, "test_invalid(0) deferred failed"

            assert test_remote_submit(ring) == 0, "test_remote_submit failed"
            io_uring_queue_exit(ring)

            assert test_disabled_ring(ring2, 0) in (0, T_EXIT_SKIP), "test_disabled_ring failed"
            assert test_disabled_ring(ring2, IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN) \
                in (0, T_EXIT_SKIP), "test_disabled_ring defer failed"
    finally:
        for r in (ring, ring2, pring):
            if r.ring_fd is not None:
                io_uring_queue_exit(r)
    return T_EXIT_PASS


def main():
    ret = test(0)
    if ret in (T_EXIT_FAIL, T_EXIT_SKIP):
        return ret

    ret = test(IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN)
    return ret


def test_main():
    exit_status(main())
