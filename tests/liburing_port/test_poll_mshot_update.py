"""liburing test/poll-mshot-update.c: many pipes polled with multishot polls, a thread
triggering a random batch of them while the main thread updates the polls' events
(IORING_POLL_UPDATE_EVENTS) and re-arms the ones that terminated, on CQ rings of 1024 and 8192
entries."""
import errno
import os
import random
import resource
import select
import threading

from ioring.liburing import *

from .conftest import T_EXIT_SKIP, exit_status

# C: 5000 files, batches of 500, 1000 loops per run (1 M events, a few seconds of C). A Python
# port pays ~10 us per event, so the sizes are scaled down; the shape is the same (more files
# armed than SQ entries, a batch spread over them at random, updates racing the wake-ups).
NFILES = 2000
BATCH = 200
NLOOPS = 40

nfiles = NFILES

RING_SIZE = 512


class P:
    def __init__(self):
        self.fd = [-1, -1]
        self.triggered = 0


p = [P() for _ in range(NFILES)]


def has_poll_update():
    ring = io_uring()
    io_uring_queue_init(8, ring, 0)
    has_update = False

    sqe = io_uring_get_sqe(ring)
    io_uring_prep_poll_update(sqe, 0, 0, select.POLLIN, IORING_TIMEOUT_UPDATE)

    ret = io_uring_submit(ring)
    if ret != 1:
        return -1

    cqe = io_uring_wait_cqe(ring)
    if cqe.res == -errno.ENOENT:
        has_update = True
    elif cqe.res != -errno.EINVAL:
        return -1
    io_uring_cqe_seen(ring, cqe)
    io_uring_queue_exit(ring)
    return has_update


def arm_poll(ring, off):
    sqe = io_uring_get_sqe(ring)
    assert sqe is not None, "failed getting sqe"

    io_uring_prep_poll_multishot(sqe, p[off].fd[0], select.POLLIN)
    sqe.user_data = off
    return 0


def submit_arm_poll(ring, off):
    ret = arm_poll(ring, off)
    if ret:
        return ret

    ret = io_uring_submit(ring)
    return 0 if ret == 1 else -1


def reap_polls(ring):
    for i in range(BATCH):
        sqe = io_uring_get_sqe(ring)
        # update event
        io_uring_prep_poll_update(sqe, i, 0, select.POLLIN, IORING_POLL_UPDATE_EVENTS)
        sqe.user_data = 0x12345678

    ret = io_uring_submit(ring)
    assert ret == BATCH, f"submitted {ret}, {BATCH}"

    i = 0
    while i < 2 * BATCH:
        cqe = io_uring_wait_cqe(ring)
        off = cqe.user_data
        if off != 0x12345678:
            if not (cqe.flags & IORING_CQE_F_MORE):
                # need to re-arm poll
                ret = submit_arm_poll(ring, off)
                if ret:
                    break
                if cqe.res <= 0:
                    # retry this one (C: i--; goto seen)
                    io_uring_cqe_seen(ring, cqe)
                    continue

            try:
                os.read(p[off].fd[0], 1)
            except BlockingIOError:
                pass
        io_uring_cqe_seen(ring, cqe)
        i += 1

    assert i == 2 * BATCH, f"gave up at {i}"
    return 0


def trigger_polls():
    c = bytes([89])

    for i in range(BATCH):
        while True:
            off = random.randrange(nfiles)
            if not p[off].triggered:
                break

        p[off].triggered = 1
        ret = os.write(p[off].fd[1], c)
        assert ret == 1, f"write got {ret}"
    return 0


def run(cqe):
    params = io_uring_params()
    ring = io_uring()

    for i in range(nfiles):
        p[i].fd = list(os.pipe())
        os.set_blocking(p[i].fd[0], False)

    try:
        params.flags = IORING_SETUP_CQSIZE
        params.cq_entries = cqe
        try:
            io_uring_queue_init_params(RING_SIZE, ring, params)
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
            # No CQSIZE, trying without
            io_uring_queue_init(RING_SIZE, ring, 0)

        try:
            assert arm_polls(ring) == 0

            for i in range(NLOOPS):
                thread = threading.Thread(target=trigger_polls)
                thread.start()
                try:
                    ret = reap_polls(ring)
                finally:
                    thread.join()
                assert ret == 0

                for j in range(nfiles):
                    p[j].triggered = 0
        finally:
            io_uring_queue_exit(ring)
    finally:
        for i in range(nfiles):
            os.close(p[i].fd[0])
            os.close(p[i].fd[1])
    return 0


def arm_polls(ring):
    to_arm = nfiles
    off = 0
    while to_arm:
        this_arm = min(to_arm, RING_SIZE)

        for i in range(this_arm):
            assert arm_poll(ring, off) == 0, f"arm failed at {off}"
            off += 1

        ret = io_uring_submit(ring)
        assert ret == this_arm, f"submitted {ret}, {this_arm}"
        to_arm -= this_arm
    return 0


def main():
    global nfiles
    ret = has_poll_update()
    assert ret >= 0, f"poll update check failed {ret}"
    if not ret:
        return 0                            # no poll update, skip

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < (2 * NFILES + 5):
        nfiles = min((hard // 2) - 5, NFILES)
        if nfiles <= 0:
            return T_EXIT_SKIP
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except PermissionError:
            return T_EXIT_SKIP

    assert run(1024) == 0, "run(1024) failed"
    assert run(8192) == 0, "run(8192) failed"
    return 0


def test_main():
    exit_status(main())
