"""liburing test/cq-overflow.c: CQ ring overflow: O_DIRECT reads submitted faster than they
are reaped on an 8-entry ring (no completion lost with IORING_FEAT_NODROP, *cq.koverflow
counts the drops without it), NOPs overflowing a 4-entry ring, and overflow handling with
fairness (every request resubmitted as it completes; io_uring_cq_has_overflow,
io_uring_get_events, peek_batch, IOPOLL and DEFER_TASKRUN rings)."""
import errno
import os
import random
import time

import pytest

from ioring.liburing import *

from .conftest import (T_EXIT_FAIL, T_EXIT_PASS, T_EXIT_SKIP, raw_address, t_create_buffers, t_create_file,
                       t_probe_defer_taskrun)

FILE_SIZE = 256 * 1024
BS = 4096
BUFFERS = FILE_SIZE // BS

vecs = None

ENTRIES = 8

# C grows its sleep 40 times by 1.2x (about 7 s in all) looking for a drop, which a NODROP
# kernel never gives; 12 rounds keep the shape and the port directory fast.
IO_ITERS = 12


def test_io(file, usecs, drops, fault):
    """drops is a one-item list (C's unsigned *drops)."""
    try:
        fd = os.open(file, os.O_RDONLY | os.O_DIRECT)
    except OSError as exc:
        if exc.errno == errno.EINVAL:
            return T_EXIT_SKIP
        raise

    p = io_uring_params()
    ring = io_uring()
    io_uring_queue_init_params(ENTRIES, ring, p)
    cqe_dropped = False
    try:
        nodrop = 1 if p.features & IORING_FEAT_NODROP else 0

        total = 0
        for i in range(BUFFERS // 2):
            sqe = io_uring_get_sqe(ring)
            assert sqe is not None, "sqe get failed"
            offset = BS * random.randrange(BUFFERS)
            if fault and i == ENTRIES + 4:
                vecs[i] = None              # free(vecs[i].iov_base); vecs[i].iov_base = NULL
            io_uring_prep_readv(sqe, fd, vecs[i:i + 1], 1, offset)

            try:
                ret = io_uring_submit(ring)
            except OSError as exc:
                ret = -exc.errno
            if nodrop and ret == -errno.EBUSY:
                drops[0] = 1
                total = i
                break
            elif ret != 1:
                total = i
                break
            total += 1

        if not drops[0]:
            time.sleep(usecs / 1e6)

            for i in range(total, BUFFERS):
                sqe = io_uring_get_sqe(ring)
                assert sqe is not None, "sqe get failed"
                offset = BS * random.randrange(BUFFERS)
                io_uring_prep_readv(sqe, fd, vecs[i:i + 1], 1, offset)

                try:
                    ret = io_uring_submit(ring)
                except OSError as exc:
                    ret = -exc.errno
                if nodrop and ret == -errno.EBUSY:
                    drops[0] = 1
                    break
                elif ret != 1:
                    break
                total += 1

        # reap_it:
        reaped = 0
        while True:
            if nodrop and not cqe_dropped:
                # nodrop should never lose events unless cqe_dropped
                if reaped == total:
                    break
            else:
                if reaped + ring.cq.koverflow == total:
                    break
            try:
                cqe = io_uring_wait_cqe(ring)
            except OSError as exc:
                if nodrop and exc.errno == errno.EBADR:
                    cqe_dropped = True
                    continue
                raise
            if cqe.res != BS:
                assert fault and cqe.res == -errno.EFAULT, f"cqe res {cqe.res}, wanted {BS}"
            io_uring_cqe_seen(ring, cqe)
            reaped += 1

        assert io_uring_peek_cqe(ring) is None, "found unexpected completion"

        if not nodrop or cqe_dropped:
            drops[0] = ring.cq.koverflow
        else:
            assert not ring.cq.koverflow, f"Found {ring.cq.koverflow} overflows"
    finally:
        io_uring_queue_exit(ring)
        os.close(fd)
    return T_EXIT_PASS


def reap_events(ring, nr_events, do_wait):
    ret = 0
    seq = 0
    start_overflow = ring.cq.koverflow
    dropped = False

    i = 0
    while i < nr_events:
        try:
            cqe = io_uring_wait_cqe(ring) if do_wait else io_uring_peek_cqe(ring)
        except OSError as exc:
            if do_wait and exc.errno == errno.EBADR:
                this_drop = ring.cq.koverflow - start_overflow
                dropped = True
                start_overflow = ring.cq.koverflow
                assert this_drop > 0
                i += this_drop
                continue
            ret = -exc.errno
            break
        if cqe is None:                     # -EAGAIN
            ret = -errno.EAGAIN
            break
        if not dropped and cqe.user_data != seq:
            print(f"cqe sequence out-of-order: got {cqe.user_data}, wanted {seq}")
            return -errno.EINVAL
        seq += 1
        io_uring_cqe_seen(ring, cqe)
        i += 1

    return i if i else ret


def test_overflow():
    """Submit some NOPs and watch if the overflow is correct"""
    p = io_uring_params()
    ring = io_uring()
    io_uring_queue_init_params(4, ring, p)
    try:
        # submit 4x4 SQEs, should overflow the ring by 8
        pending = 0
        for i in range(4):
            for j in range(4):
                sqe = io_uring_get_sqe(ring)
                assert sqe is not None, "get sqe failed"

                io_uring_prep_nop(sqe)
                sqe.user_data = (i * 4) + j

            try:
                ret = io_uring_submit(ring)
            except OSError as exc:
                ret = -exc.errno
            if ret == 4:
                pending += 4
                continue
            if p.features & IORING_FEAT_NODROP and ret == -errno.EBUSY:
                break
            raise AssertionError(f"sqe submit failed: {ret}")

        # we should now have 8 completions ready
        ret = reap_events(ring, pending, 0)
        assert ret >= 0

        if not (p.features & IORING_FEAT_NODROP):
            assert ring.cq.koverflow == 8, f"cq ring overflow {ring.cq.koverflow}, expected 8"
    finally:
        io_uring_queue_exit(ring)
    return 0


def submit_one_nop(ring, ud):
    sqe = io_uring_get_sqe(ring)
    assert sqe is not None
    io_uring_prep_nop(sqe)
    sqe.user_data = ud
    ret = io_uring_submit(ring)
    assert ret == 1


def test_overflow_handling(batch, cqe_multiple, poll, defer):
    """Create an overflow condition and ensure that SQEs are still processed"""
    N = 8
    LOOPS = 128
    QUEUE_LENGTH = 1024
    completions = [0] * N
    queue = [0] * QUEUE_LENGTH
    queued = 0
    outstanding = 0
    cqe_dropped = False

    p = io_uring_params()
    p.cq_entries = 2 * cqe_multiple
    p.flags |= IORING_SETUP_CQSIZE

    if poll:
        p.flags |= IORING_SETUP_IOPOLL

    if defer:
        p.flags |= IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN

    ring = io_uring()
    io_uring_queue_init_params(2, ring, p)
    try:
        assert p.cq_entries < N
        # submit N SQEs, some should overflow
        for i in range(N):
            submit_one_nop(ring, i)
            outstanding += 1

        for i in range(LOOPS):
            if io_uring_cq_has_overflow(ring):
                # Flush any overflowed CQEs and process those. Actively flush these to make
                # sure CQEs arrive in vague order of being sent.
                ret = io_uring_get_events(ring)
                assert ret == 0, f"io_uring_get_events returned {ret}"
            elif not cqe_dropped:
                for j in range(queued):
                    submit_one_nop(ring, queue[j])
                    outstanding += 1
                queued = 0

            # We have lost some random cqes, stop if no remaining.
            if cqe_dropped and outstanding == ring.cq.koverflow:
                break

            try:
                cqes = [io_uring_wait_cqe(ring)]
            except OSError as exc:
                if exc.errno == errno.EBADR:
                    cqe_dropped = True      # CQE dropped
                    continue
                raise
            cqe_count = 1
            if batch:
                cqes = io_uring_peek_batch_cqe(ring, 2)
                cqe_count = len(cqes)
            for j in range(cqe_count):
                assert cqes[j].user_data < N
                ud = cqes[j].user_data
                completions[ud] += 1
                assert queued < QUEUE_LENGTH
                queue[queued] = ud
                queued += 1
            io_uring_cq_advance(ring, cqe_count)
            outstanding -= cqe_count

        # See if there were any drops by flushing the CQ ring *and* overflow
        while True:
            try:
                ret = io_uring_get_events(ring)
            except OSError as exc:
                if exc.errno == errno.EBADR:
                    cqe_dropped = True
                    break
                raise
            if outstanding and not io_uring_cq_ready(ring):
                io_uring_wait_cqe_timeout(ring, None)

            count = io_uring_cq_ready(ring)
            io_uring_cq_advance(ring, count)
            outstanding -= count
            if not count:
                break
    finally:
        io_uring_queue_exit(ring)

    # Make sure that completions come back in the same order they were sent. If they come
    # back unfairly then this will concentrate on a couple of indices.
    for i in range(1, N):
        if cqe_dropped:
            break
        assert abs(completions[i] - completions[i - 1]) <= 1, \
            f"bad completion size {completions[i]} {completions[i - 1]}"
    return 0


def _main_io(fault):
    global vecs
    fname = ".cq-overflow"
    drops = [0]

    t_create_file(fname, FILE_SIZE)
    vecs = t_create_buffers(BUFFERS, BS)

    try:
        iters = 0
        usecs = 1000
        while iters < IO_ITERS:
            drops[0] = 0

            ret = test_io(fname, usecs, drops, 0)
            if ret == T_EXIT_SKIP:
                break
            assert ret == T_EXIT_PASS, "test_io nofault failed"
            if drops[0]:
                break
            usecs = (usecs * 12) // 10
            iters += 1

        assert test_io(fname, usecs, drops, 0) != T_EXIT_FAIL, "test_io nofault failed"

        if fault:
            assert test_io(fname, usecs, drops, 1) != T_EXIT_FAIL, "test_io fault failed"
    finally:
        os.unlink(fname)


def test_main():
    """main() without its last call, test_io with a NULL iovec (test_main_io_fault below)."""
    can_defer = t_probe_defer_taskrun()
    for i in range(16):
        batch = bool(i & 1)
        mult = 1 if (i & 2) else 2
        poll = bool(i & 4)
        defer = bool(i & 8)

        if defer and not can_defer:
            continue

        assert test_overflow_handling(batch, mult, poll, defer) == 0, \
            f"test_overflow_handling(batch={batch}, mult={mult}, poll={poll}, defer={defer}) failed"

    assert test_overflow() == 0, "test_overflow failed"

    _main_io(fault=False)


@raw_address
def test_main_io_fault():
    """test_io(fname, usecs, &drops, 1): one iovec's base is NULL, its read must fail -EFAULT."""
    _main_io(fault=True)
