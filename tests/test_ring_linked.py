"""Ring.linked() / AsyncRing.linked() chains when the SQ already holds requests, chains that do not
fit, what may not happen inside a chain, and the kernel rule that a short read breaks a chain."""
import asyncio
import errno
import os

import pytest

import ioring
from ioring import liburing as L
from ioring.asyncio import AsyncRing


def _open_fds():
    return len(os.listdir("/proc/self/fd"))


def test_chain_after_a_nearly_full_sq_runs_whole():
    # The report: 7 queued NOPs on an 8-entry Ring, then a 2-request chain, raised "linked()
    # chain longer than the submission queue".
    with ioring.Ring(8) as ring:
        before = [ring.nop() for _ in range(7)]
        with ring.linked():
            bad = ring.read(9999, bytearray(1), 0)
            after = ring.nop()
        assert [op.result(5) for op in before] == [0] * 7
        assert bad.exception(5).errno == errno.EBADF
        assert after.exception(5).errno == errno.ECANCELED    # still linked: not cut in two


@pytest.mark.parametrize("sqpoll", [False, True], ids=["plain", "sqpoll"])
@pytest.mark.parametrize("queued", [1, 5, 8])
def test_chain_that_fits_the_sq_is_never_cut_whatever_is_queued_before(queued, sqpoll):
    # Under SQPOLL the kernel thread consumes the SQ by itself: the chain's SQEs must not even
    # be published before the chain is complete.
    with ioring.Ring(8, sqpoll=sqpoll) as ring:
        before = [ring.nop() for _ in range(queued)]
        with ring.linked():
            bad = ring.read(9999, bytearray(1), 0)
            rest = [ring.nop() for _ in range(7)]           # 8 requests: the whole SQ
        assert [op.result(5) for op in before] == [0] * queued
        assert bad.exception(5).errno == errno.EBADF
        assert [op.exception(5).errno for op in rest] == [errno.ECANCELED] * 7
        assert ring.in_flight == 0


def test_chain_longer_than_the_sq_is_refused_clearly():
    with ioring.Ring(8) as ring:
        ring.nop()
        with pytest.raises(RuntimeError, match=r"a linked\(\) chain must fit in the submission "
                                               r"queue: this Ring has 8 SQ entries and the chain "
                                               r"needs more .*use a larger Ring\(entries\) or "
                                               r"split the chain"):
            with ring.linked():
                for _ in range(9):
                    ring.nop()
        assert ring.nop().result(5) == 0                   # the ring still works


def test_chain_with_timeouts_counts_two_sqes_per_timed_request():
    with ioring.Ring(4) as ring:
        ring.nop()
        with ring.linked():
            a = ring.nop(flags=0)
            b = ring.read(9999, bytearray(1), 0, timeout=5)   # read + link timeout: 2 SQEs
            c = ring.nop()
        assert a.result(5) == 0
        assert b.exception(5).errno == errno.EBADF
        assert c.exception(5).errno == errno.ECANCELED


@pytest.mark.parametrize("sqpoll", [False, True], ids=["plain", "sqpoll"])
def test_request_with_timeout_in_the_last_sq_entry_keeps_its_timeout(sqpoll):
    # The read takes the SQ's last entry; its link timeout needs one more. Before, the full SQ
    # was submitted to make room, the read with it: linked to nothing, it ran without a
    # timeout and waited for data forever. Now what precedes it is submitted, not the read.
    r, w = os.pipe()
    try:
        with ioring.Ring(4, sqpoll=sqpoll) as ring:
            before = [ring.nop() for _ in range(3)]
            read = ring.read(r, bytearray(8), timeout=0.05)
            assert read.exception(5).errno == errno.ECANCELED     # timed out, not hung
            assert [op.result(5) for op in before] == [0] * 3
            assert ring.in_flight == 0
    finally:
        os.close(r)
        os.close(w)


@pytest.mark.parametrize("timeout, error", [(-1, ValueError), (float("nan"), ValueError),
                                            (float("inf"), ValueError), ("soon", ValueError),
                                            (object(), TypeError)])
def test_bad_timeout_queues_nothing_and_links_nothing(timeout, error):
    # Before, the read was queued and linked (IOSQE_IO_LINK) before its timeout was checked:
    # the error left it in the SQ, linked to the next request, which its failure cancelled.
    with ioring.Ring(8) as ring:
        with pytest.raises(error):
            ring.read(9999, bytearray(1), 0, timeout=timeout)
        assert ring.in_flight == 0
        assert ring.nop().result(5) == 0


def test_timeout_on_a_ring_of_one_sq_entry_is_refused_clearly():
    with ioring.Ring(1) as ring:
        with pytest.raises(ValueError, match=r"timeout= takes two submission queue entries.*"
                                             r"Ring\(entries >= 2\)"):
            ring.read(9999, bytearray(1), 0, timeout=1)
        assert ring.in_flight == 0
        assert ring.nop().result(5) == 0


@pytest.mark.parametrize("call, what", [
    (lambda ring, op: ring.submit(), "submit()"),
    (lambda ring, op: ring.wait(1), "wait()"),
    (lambda ring, op: op.result(), "waiting for a completion"),
    (lambda ring, op: op.cancel(), "cancel()"),
])
def test_submitting_inside_ones_own_chain_is_refused(call, what):
    # Before, these sent the first part of the chain to the kernel alone.
    with ioring.Ring(8) as ring:
        with ring.linked():
            bad = ring.read(9999, bytearray(1), 0)
            with pytest.raises(RuntimeError, match=rf"{what.replace('(', r'[(]').replace(')', r'[)]')} "
                                                   r"inside this thread's open linked\(\) chain "
                                                   r"would submit the first part of the chain alone"):
                call(ring, bad)
            after = ring.nop()
        assert bad.exception(5).errno == errno.EBADF
        assert after.exception(5).errno == errno.ECANCELED


def test_short_read_breaks_a_chain_and_a_hardlink_does_not(tmp_path):
    """The kernel rule the README and linked() document: a read (or write) that moves fewer
    bytes than asked fails the link, so a linked close is cancelled and the fd stays open;
    IOSQE_IO_HARDLINK on the read keeps the chain going."""
    path = tmp_path / "short"
    path.write_bytes(b"12345")
    with ioring.Ring(8) as ring:
        fd = os.open(path, os.O_RDONLY)
        with ring.linked():
            r = ring.read(fd, bytearray(100), 0)            # 5 of 100 bytes: short
            c = ring.close_fd(fd)
        assert r.result(5) == 5
        assert c.exception(5).errno == errno.ECANCELED
        os.fstat(fd)                                        # still open: the close never ran
        os.close(fd)

        fd = os.open(path, os.O_RDONLY)
        with ring.linked():
            r = ring.read(fd, bytearray(100), 0, flags=L.IOSQE_IO_HARDLINK)
            c = ring.close_fd(fd)
        assert (r.result(5), c.result(5)) == (5, 0)
        with pytest.raises(OSError) as info:
            os.fstat(fd)
        assert info.value.errno == errno.EBADF


def test_async_chains_under_load_all_run_and_leak_no_fd(tmp_path):
    # The report: with AsyncRing(256), 128 tasks succeeded and every later chain raised, each
    # after opening an fd it never closed.
    path = tmp_path / "f"
    path.write_bytes(b"x" * 100)
    fds_before = _open_fds()

    async def main():
        async with AsyncRing(256) as ring:
            async def one():
                fd = await ring.openat(str(path))
                buf = bytearray(100)
                with ring.linked():
                    r = ring.read(fd, buf, 0)
                    c = ring.close_fd(fd)
                return await r, await c, bytes(buf)
            return await asyncio.gather(*(one() for _ in range(600)))

    results = asyncio.run(main())
    assert results == [(100, 0, b"x" * 100)] * 600
    assert _open_fds() == fds_before


def test_async_await_inside_a_chain_fails_instead_of_cutting_or_hanging(tmp_path):
    async def main():
        async with AsyncRing(16) as ring:
            with pytest.raises(RuntimeError, match=r"read\(fd=9999\) is in a chain whose task "
                                                   r"awaited inside `with ring.linked\(\):`, where "
                                                   r"nothing can be submitted"):
                with ring.linked():
                    a = ring.read(9999, bytearray(1), 0)
                    await a
            # the chain was submitted whole once the block was left
            b = ring.nop()
            assert await b == 0
            with pytest.raises(RuntimeError):
                await a
    asyncio.run(asyncio.wait_for(main(), 10))


def test_async_other_tasks_cannot_join_an_open_chain():
    async def main():
        async with AsyncRing(16) as ring:
            errors = []

            async def other():
                try:
                    ring.nop()
                except RuntimeError as exc:
                    errors.append(str(exc))

            with ring.linked():
                mine = ring.nop()
                await asyncio.gather(other(), asyncio.sleep(0))
            assert len(errors) == 1 and "another task's linked() chain is open" in errors[0]
            with pytest.raises(RuntimeError, match="is in a chain whose task awaited inside"):
                await mine          # it was in the chain while the loop ran
            assert await ring.nop() == 0
    asyncio.run(asyncio.wait_for(main(), 10))
