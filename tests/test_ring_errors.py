"""Errors of the Pythonic layer that teach: ring sizes, a second BufferPool, O_DIRECT alignment,
fd arguments, and AsyncRing used outside its event loop. Every message is asserted, and nothing
may have been queued when the error is raised."""
import asyncio
import errno
import mmap
import os
import socket

import pytest

import ioring
from ioring import liburing as L
from ioring.asyncio import AsyncRing


# ---- Ring sizes (io_uring_setup(2): what this kernel accepts) -------------------------------------

@pytest.mark.parametrize("entries", [0, -1, 32769, 1 << 20])
def test_ring_size_outside_what_the_kernel_takes_says_the_range(entries):
    with pytest.raises(ValueError, match=rf"Ring\(entries={entries}\): the kernel takes 1\.\.32768 "
                                         r"submission queue entries, rounded up to a power of two .*"
                                         r"pass flags=IORING_SETUP_CLAMP to have larger values "
                                         r"clamped to 32768"):
        ioring.Ring(entries)


def test_the_range_is_the_kernels():
    # The bounds of the message are this kernel's: 32768 is accepted, and the raw setup call
    # refuses 0 and 32769 without CLAMP (EINVAL) and clamps with it.
    with ioring.Ring(32768) as ring:
        assert ring.sq_entries == 32768
    with ioring.Ring(3) as ring:
        assert ring.sq_entries == 4 and ring.cq_entries == 8        # rounded up
    for entries in (0, 32769):
        with pytest.raises(OSError) as info:
            L.io_uring_queue_init(entries, L.io_uring(), 0)
        assert info.value.errno == errno.EINVAL
    with ioring.Ring(1 << 20, flags=L.IORING_SETUP_CLAMP) as ring:
        assert (ring.sq_entries, ring.cq_entries) == (32768, 65536)


def test_cq_size_errors_say_the_rule():
    with pytest.raises(ValueError, match=r"Ring\(entries=8, cq_entries=4\): the completion queue "
                                         r"cannot be smaller than the submission queue \(8 entries"):
        ioring.Ring(8, cq_entries=4)
    with pytest.raises(ValueError, match=r"Ring\(cq_entries=131072\): the kernel takes 1\.\.65536 "
                                         r"completion queue entries.*IORING_SETUP_CLAMP"):
        ioring.Ring(8, cq_entries=1 << 17)
    with ioring.Ring(8, cq_entries=1 << 17, flags=L.IORING_SETUP_CLAMP) as ring:
        assert ring.cq_entries == 65536
    with ioring.Ring(5, cq_entries=7) as ring:           # both rounded to 8: accepted
        assert (ring.sq_entries, ring.cq_entries) == (8, 8)
    with pytest.raises(TypeError, match=r"Ring\(entries, cq_entries=\) take ints, not str/int"):
        ioring.Ring("8")


# ---- BufferPool ------------------------------------------------------------------------------------

def test_second_buffer_pool_says_one_table_per_ring_and_how_to_grow(tmp_path):
    with ioring.Ring(8) as ring:
        first = ioring.BufferPool(ring, 2, 4096)
        with pytest.raises(OSError) as info:
            ioring.BufferPool(ring, 4, 4096)
        assert info.value.errno == errno.EBUSY
        message = str(info.value)
        assert "this Ring already has a registered buffer table" in message
        assert "the kernel keeps one per ring" in message
        assert "to grow a pool, close it and create a larger one" in message
        assert "io_uring_register_buffers_sparse" in message
        path = tmp_path / "f"
        path.write_bytes(b"abcd" * 1024)
        fd = os.open(path, os.O_RDONLY)
        try:
            assert ring.read(fd, first[0], 0).result(5) == 4096       # the first still works
            first.close()
            with ioring.BufferPool(ring, 4, 4096) as second:          # and then a new one
                assert ring.read(fd, second[3], 0).result(5) == 4096
                assert bytes(second[3][:8]) == b"abcdabcd"
        finally:
            os.close(fd)


# ---- O_DIRECT ----------------------------------------------------------------------------------

def test_o_direct_einval_states_the_alignment_rule(tmp_path):
    path = tmp_path / "direct"
    path.write_bytes(os.urandom(1 << 16))
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
    except OSError as exc:
        pytest.skip(f"this file system refuses O_DIRECT: {exc}")
    try:
        with ioring.Ring(8) as ring:
            op = ring.read(fd, bytearray(100), 3)           # nothing aligned
            with pytest.raises(OSError) as info:
                op.result(5)
            if info.value.errno != errno.EINVAL:
                pytest.skip(f"the kernel did not refuse misaligned O_DIRECT here: {info.value}")
            assert str(info.value).startswith("[Errno 22] Invalid argument [read(fd=")
            assert ("the fd is open with O_DIRECT, which needs the file offset, the length and "
                    "the buffer address aligned to the device's logical block size") in str(info.value)
            assert "BufferPool buffers are page-aligned" in str(info.value)
            with ioring.BufferPool(ring, 1, 4096) as pool:   # what the message recommends
                assert ring.read(fd, pool[0], 4096).result(5) == 4096
                assert bytes(pool[0]) == path.read_bytes()[4096:8192]
            # an EINVAL on an fd without O_DIRECT (an eventfd read of < 8 bytes) has no hint
            efd = os.eventfd(1)
            try:
                err = ring.read(efd, bytearray(4)).exception(5)
                assert err is not None and err.errno == errno.EINVAL
                assert "O_DIRECT" not in str(err)
            finally:
                os.close(efd)
    finally:
        os.close(fd)


# ---- fd arguments --------------------------------------------------------------------------------

def _fd_calls(fd, buf):
    """(name of the fd argument, call) for every Ring request that takes an fd."""
    pipe_r = fd
    return [
        ("fd", lambda r, x: r.read(x, buf, 0)),
        ("fd", lambda r, x: r.write(x, b"x", 0)),
        ("fd", lambda r, x: r.readv(x, [buf], 0)),
        ("fd", lambda r, x: r.writev(x, [b"x"], 0)),
        ("fd", lambda r, x: r.read_fixed(x, buf, 0, 0)),
        ("fd", lambda r, x: r.write_fixed(x, buf, 0, 0)),
        ("fd", lambda r, x: r.fsync(x)),
        ("fd", lambda r, x: r.close_fd(x)),
        ("fd_in", lambda r, x: r.splice(x, -1, pipe_r, -1, 1)),
        ("fd_out", lambda r, x: r.splice(pipe_r, -1, x, -1, 1)),
        ("dir_fd", lambda r, x: r.openat("f", dir_fd=x)),
        ("dir_fd", lambda r, x: r.statx("f", dir_fd=x)),
        ("sock", lambda r, x: r.send(x, b"x")),
        ("sock", lambda r, x: r.recv(x, 1)),
        ("sock", lambda r, x: r.accept(x)),
        ("fd", lambda r, x: r.read_many(x, [buf], [0])),
        ("fd", lambda r, x: r.write_many(x, [buf], [0])),
        ("fd", lambda r, x: r.read_fixed_many(x, [buf], [0], [0])),
        ("fd", lambda r, x: r.write_fixed_many(x, [buf], [0], [0])),
        ("sock", lambda r, x: r.accept_multishot(x)),
        ("sock", lambda r, x: r.recv_multishot(x)),
        ("sock", lambda r, x: r.recvmsg_multishot(x)),
        ("fd", lambda r, x: r.read_multishot(x)),
        ("fd", lambda r, x: r.poll_multishot(x, 1)),
    ]


def test_an_fd_given_as_a_str_names_the_argument_and_queues_nothing():
    # Before: "an integer is required", with no argument named.
    r, w = os.pipe()
    try:
        with ioring.Ring(8) as ring:
            for name, call in _fd_calls(r, bytearray(4)):
                with pytest.raises(TypeError, match=rf"^{name} must be a file descriptor \(an int\) "
                                                    r"or an object with fileno\(\), not str$"):
                    call(ring, "3")
                assert ring.in_flight == 0 and L.io_uring_sq_ready(ring.uring) == 0, name
            with pytest.raises(ValueError, match=r"fd=4294967296 is not a file descriptor"):
                ring.read(1 << 32, bytearray(1))
    finally:
        os.close(r)
        os.close(w)


def test_fd_arguments_take_objects_with_fileno(tmp_path):
    path = tmp_path / "f"
    with ioring.Ring(8) as ring, open(path, "w+b") as f:
        assert ring.write(f, b"hello", 0).result(5) == 5
        assert ring.fsync(f).result(5) == 0
        buf = bytearray(5)
        assert ring.read(f, buf, 0).result(5) == 5 and buf == b"hello"
        assert list(ring.read_many(f, [bytearray(2)], [3])) == [2]
        assert ring.read(f, bytearray(2), 0).fd == f.fileno()      # the Operation names the int
        d = os.open(tmp_path, os.O_RDONLY)
        try:
            class Dir:
                def fileno(self):
                    return d
            assert ring.statx("f", dir_fd=Dir()).result(5).stx_size == 5
        finally:
            os.close(d)

        class Liar:
            def fileno(self):
                return "3"
        with pytest.raises(TypeError, match=r"fd.fileno\(\) returned str, not an int"):
            ring.read(Liar(), buf)


def test_async_ring_fd_arguments_too(tmp_path):
    path = tmp_path / "f"

    async def main():
        async with AsyncRing(8) as ring:
            with open(path, "w+b") as f:
                assert await ring.write(f, b"abc", 0) == 3
                with pytest.raises(TypeError, match=r"^fd must be a file descriptor"):
                    ring.read("3", bytearray(1))
                assert ring.in_flight == 0
    asyncio.run(main())


# ---- AsyncRing and event loops -------------------------------------------------------------------

def _nothing_queued(aring):
    return (aring.in_flight == 0 and aring.ring.in_flight == 0
            and L.io_uring_sq_ready(aring.ring.uring) == 0)


def test_async_ring_in_a_second_event_loop_says_whose_it_is():
    async def make():
        return AsyncRing(8)
    loop_a = asyncio.new_event_loop()
    aring = loop_a.run_until_complete(make())
    try:
        async def use():
            with pytest.raises(RuntimeError, match=r"this AsyncRing belongs to the event loop that "
                                                   r"created it \(or first used it\), .*not to the "
                                                   r"running one, .*create one AsyncRing per event "
                                                   r"loop.*\(nothing was queued\)"):
                aring.read(0, bytearray(1))
            with pytest.raises(RuntimeError, match="belongs to the event loop that created it"):
                aring.accept_multishot(socket.socket())
            with pytest.raises(RuntimeError, match="belongs to the event loop that created it"):
                with aring.linked():
                    pass
            assert _nothing_queued(aring)
        asyncio.run(use())
        async def nop():
            return await aring.nop()
        assert loop_a.run_until_complete(nop()) == 0            # its own loop still works
    finally:
        loop_a.run_until_complete(aring.aclose())
        loop_a.close()


def test_async_ring_method_without_a_running_loop_queues_nothing():
    async def make():
        return AsyncRing(8)
    loop = asyncio.new_event_loop()
    aring = loop.run_until_complete(make())
    try:
        # Before: an attached ring queued the request (and returned an unawaitable future).
        with pytest.raises(RuntimeError, match=r"AsyncRing methods need a running event loop: "
                                               r"call them from a coroutine or callback of the "
                                               r"loop this ring belongs to \(nothing was queued\)"):
            aring.nop()
        assert _nothing_queued(aring)
        r, w = os.pipe()
        try:
            with pytest.raises(RuntimeError, match="need a running event loop"):
                aring.read_multishot(r)
            assert _nothing_queued(aring)
        finally:
            os.close(r)
            os.close(w)
    finally:
        loop.run_until_complete(aring.aclose())
        loop.close()
