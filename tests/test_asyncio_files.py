"""AsyncRing.read_file / write_file / read_files / write_files under the default asyncio loop and
uvloop: one chain per file, one Future per file (or per batch), cancellation that closes what the
chain opened, the loop kept responsive during a large batch, and nothing left open."""
import asyncio
import concurrent.futures
import errno
import os
import time

import pytest

import ioring
from ioring.asyncio import AsyncRing

from helpers import fifo_has_reader, occupied_slots, open_fds, run_unprivileged


@pytest.fixture
def small_files(tmp_path):
    """600 files of 0..40000 bytes (some over the first read's 32 KiB): {path: contents}."""
    files = {}
    for i in range(600):
        data = os.urandom((i * 997) % 40001)
        p = tmp_path / f"f{i}"
        p.write_bytes(data)
        files[str(p)] = data
    return files


async def _until(pred, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "condition never became true"
        await asyncio.sleep(0.002)


def test_gather_read_file_and_read_files(arun, small_files):
    paths = list(small_files)
    fds = open_fds()

    async def main():
        async with AsyncRing() as ring:
            futs = [ring.read_file(p) for p in paths]
            assert all(isinstance(f, asyncio.Future) for f in futs)   # no Task per file
            assert ring.in_flight == len(paths)
            assert await asyncio.gather(*futs) == [small_files[p] for p in paths]
            assert await ring.read_files(paths[::-1]) == [small_files[p] for p in paths[::-1]]
            assert await ring.read_files([]) == []
            assert ring.in_flight == 0 and occupied_slots(ring.ring) == []
    arun(main())
    assert open_fds() == fds


def test_write_file_and_write_files(arun, tmp_path):
    files = {str(tmp_path / f"w{i}"): os.urandom(i * 131) for i in range(300)}

    async def main():
        async with AsyncRing() as ring:
            data = bytearray(b"abc" * 10000)
            fut = ring.write_file(tmp_path / "one", data, 0o600)
            with pytest.raises(BufferError):
                data.append(0)                  # pinned while the chain runs
            assert await fut == 30000
            data.append(0)
            assert await ring.write_files(files) == sum(map(len, files.values()))
            assert await ring.write_files({}) == 0
            assert occupied_slots(ring.ring) == []
    arun(main())
    assert (tmp_path / "one").read_bytes() == b"abc" * 10000
    assert (tmp_path / "one").stat().st_mode & 0o777 == 0o600
    for p, d in files.items():
        with open(p, "rb") as f:
            assert f.read() == d


def test_errors(arun, tmp_path):
    (tmp_path / "ok").write_bytes(b"ok")

    async def main():
        async with AsyncRing() as ring:
            with pytest.raises(FileNotFoundError, match=r"read_file\(path='.*nope'\): open\]"):
                await ring.read_file(tmp_path / "nope")
            with pytest.raises(IsADirectoryError):
                await ring.read_file(tmp_path)
            with pytest.raises(FileNotFoundError) as info:
                await ring.read_files([tmp_path / "ok", tmp_path / "x", tmp_path / "y"])
            assert [e.filename for e in info.value.errors] == [str(tmp_path / "x"), str(tmp_path / "y")]
            with pytest.raises(TypeError, match="single"):
                ring.read_files(str(tmp_path / "ok"))
            with pytest.raises(TypeError, match="is a str"):
                ring.write_files({tmp_path / "t": "text"})
            assert ring.in_flight == 0 and occupied_slots(ring.ring) == []
    arun(main())


def test_cancel_mid_chain_closes_the_file(arun, tmp_path):
    """The task awaiting a read blocked on a FIFO is cancelled: the read is cancelled in the
    kernel, the close still runs (the FIFO has no reader left), nothing stays pinned."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    writer = os.open(fifo, os.O_RDWR)

    async def main():
        async with AsyncRing() as ring:
            async def read():
                return await ring.read_file(fifo)
            task = asyncio.get_running_loop().create_task(read())
            await _until(lambda: occupied_slots(ring.ring) != [])
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await _until(lambda: ring.in_flight == 0)
            assert occupied_slots(ring.ring) == []
            # a batch (small: the Ring's own engine): its Future cancelled, every chain ends
            (tmp_path / "f").write_bytes(b"f")
            fut = ring.read_files([tmp_path / "f"] * 40 + [fifo])
            await _until(lambda: ring.in_flight == 1)       # the FIFO's read is left
            fut.cancel()
            await _until(lambda: ring.in_flight == 0)
            assert occupied_slots(ring.ring) == []
            # an open blocked on an io-wq worker (a FIFO opened for writing, O_CREAT)
            data = bytearray(b"never")
            fut = ring.write_file(fifo, data)
            os.close(writer)                        # nobody reads or writes it now
            await asyncio.sleep(0.05)
            assert not fut.done()
            fut.cancel()
            await _until(lambda: ring.in_flight == 0)
            data.extend(b"!")                       # no longer pinned
            assert occupied_slots(ring.ring) == []
    try:
        arun(main())
    finally:
        try:
            os.close(writer)
        except OSError:
            pass
    assert not fifo_has_reader(fifo)


def test_cancelling_a_large_batch_stops_the_c_engine_and_closes_its_files(arun, tmp_path):
    """A batch of 64+ files goes to the C engine on an executor thread: cancelling its Future
    cancels the chains there (a read blocked on a FIFO), the thread is freed, nothing stays
    open. Before, nothing could stop it: the thread waited for the FIFO forever."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    (tmp_path / "f").write_bytes(b"f")
    fds = open_fds()
    writer = os.open(fifo, os.O_RDWR)

    async def main():
        loop = asyncio.get_running_loop()
        loop.set_default_executor(concurrent.futures.ThreadPoolExecutor(max_workers=1))
        async with AsyncRing() as ring:
            fut = ring.read_files([tmp_path / "f"] * 200 + [fifo])
            # the executor's only thread is blocked on the FIFO's read
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(loop.run_in_executor(None, lambda: None), 0.3)
            assert ring.in_flight == 0                      # not on the AsyncRing's ring
            fut.cancel()
            with pytest.raises(asyncio.CancelledError):
                await fut
            # the thread is freed (the read cancelled), and a second batch completes
            await asyncio.wait_for(loop.run_in_executor(None, lambda: None), 5)
            assert await ring.read_files([tmp_path / "f"] * 100) == [b"f"] * 100
    try:
        arun(main())
    finally:
        os.close(writer)
    assert not fifo_has_reader(fifo)
    assert open_fds() == fds


def test_large_batch_reads_like_a_small_one(arun, tmp_path, small_files):
    """The C engine (64+ files) and the Ring's engine (fewer) give the same contents, errors
    and dir_fd handling."""
    paths = list(small_files)
    missing = str(tmp_path / "missing")
    dfd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)

    async def main():
        async with AsyncRing() as ring:
            assert await ring.read_files(paths) == [small_files[p] for p in paths]
            assert await ring.read_files(paths[:10]) == [small_files[p] for p in paths[:10]]
            names = [os.path.basename(p) for p in paths[:100]]
            assert await ring.read_files(names, dir_fd=dfd) == [small_files[p] for p in paths[:100]]
            for batch in (paths[:5], paths[:300]):
                with pytest.raises(FileNotFoundError) as info:
                    await ring.read_files(batch[:3] + [missing] + batch[3:])
                assert info.value.filename == missing and len(info.value.errors) == 1
    try:
        arun(main())
    finally:
        os.close(dfd)
    ring = ioring.Ring(64)
    try:
        assert ring.read_files(paths[:300]) == [small_files[p] for p in paths[:300]]
        with pytest.raises(FileNotFoundError):
            ring.read_files(paths[:100] + [missing])
    finally:
        ring.close()


def test_wait_for_timeout_and_kernel_timeout(arun, tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    writer = os.open(fifo, os.O_RDWR)

    async def main():
        async with AsyncRing() as ring:
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(ring.read_file(fifo), 0.05)
            await _until(lambda: ring.in_flight == 0)
            with pytest.raises(TimeoutError, match="took more than 0.05 s"):
                await ring.read_file(fifo, timeout=0.05)
            assert occupied_slots(ring.ring) == []
    try:
        arun(main())
    finally:
        os.close(writer)
    assert not fifo_has_reader(fifo)


def test_aclose_ends_file_jobs_in_flight(arun, tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    writer = os.open(fifo, os.O_RDWR)

    async def main():
        ring = AsyncRing()
        blocked = [ring.read_file(fifo) for _ in range(300)]    # more than the slots
        await _until(lambda: len(occupied_slots(ring.ring)) == 128)
        start = time.monotonic()
        await ring.aclose()
        assert time.monotonic() - start < 2
        for fut in blocked:
            with pytest.raises(OSError) as info:
                await fut
            assert info.value.errno == errno.ECANCELED
        assert ring.in_flight == 0
    try:
        arun(main())
    finally:
        os.close(writer)
    assert not fifo_has_reader(fifo)


def test_the_loop_keeps_running_during_a_large_batch(arun, small_files):
    """A batch runs in rounds of submit-and-reap; other callbacks run between them."""
    paths = list(small_files) * 5

    async def main():
        async with AsyncRing() as ring:
            ticks = []

            async def ticker():
                while True:
                    ticks.append(time.monotonic())
                    await asyncio.sleep(0)
            t = asyncio.get_running_loop().create_task(ticker())
            await asyncio.sleep(0)
            before = len(ticks)
            contents = await ring.read_files(paths)
            during = len(ticks) - before
            t.cancel()
            assert contents == [small_files[p] for p in paths]
            assert during >= 3, "the batch ran without letting the loop run other callbacks"
    arun(main())


def test_permission_errors_as_an_unprivileged_user(arun, shared_tmp):
    secret = shared_tmp / "secret"
    secret.write_bytes(b"root only")
    secret.chmod(0o600)
    public = shared_tmp / "public"
    public.write_bytes(b"everyone")
    public.chmod(0o644)

    async def main():
        async with AsyncRing(16) as ring:
            out = await asyncio.gather(ring.read_file(secret), ring.read_file(public),
                                       ring.write_file(secret, b"x"), return_exceptions=True)
            return [(o.errno, str(o)) if isinstance(o, OSError) else o for o in out], \
                occupied_slots(ring.ring)

    def child():
        loop = arun.factory()
        try:
            return loop.run_until_complete(main())
        finally:
            loop.close()
    status, (out, slots) = run_unprivileged(child)
    assert status == "ok"
    assert out[0][0] == errno.EACCES and ": open]" in out[0][1]
    assert out[1] == b"everyone"
    assert out[2][0] == errno.EACCES
    assert slots == []
    assert secret.read_bytes() == b"root only"


def test_refused_inside_another_tasks_chain_and_closed_ring(arun, tmp_path):
    (tmp_path / "f").write_bytes(b"f")

    async def main():
        ring = AsyncRing()
        with ring.linked():
            ring.nop()
            with pytest.raises(RuntimeError, match="cannot be part of a linked"):
                ring.read_file(tmp_path / "f")
        assert await ring.read_file(tmp_path / "f") == b"f"
        await ring.aclose()
        with pytest.raises(RuntimeError, match="closed"):
            ring.read_file(tmp_path / "f")
    arun(main())


def test_sync_and_async_share_nothing_but_the_kernel(tmp_path):
    """Two rings, each with its own slot table: a Ring and an AsyncRing in the same process."""
    (tmp_path / "f").write_bytes(b"shared")
    with ioring.Ring(8) as r:
        assert r.read_file(tmp_path / "f").result() == b"shared"

        async def main():
            async with AsyncRing(8) as ring:
                return await ring.read_file(tmp_path / "f")
        assert asyncio.run(main()) == b"shared"
        assert occupied_slots(r) == []
