"""Fixtures only, each defined once (the shared helpers are in helpers.py)."""
import asyncio
import os
import pathlib
import shutil
import tempfile

import pytest

from ioring import liburing as L

from helpers import RING_CONFIGS, make_ring

#: what the ``ring`` fixture makes when the test module does not say: (kind, entries)
DEFAULT_RING = ("io_uring", 64)


@pytest.fixture
def ring(request):
    """The ring a test works on, closed at teardown. The test module chooses its kind and size
    with a module-level ``RING = (kind, entries)`` (default ``DEFAULT_RING``): ``"io_uring"``
    is the thin ``ioring.liburing.io_uring`` (io_uring_queue_init), ``"Ring"`` the Pythonic
    ``ioring.Ring``, ``"winioring"`` a ``winioring.CreateIoRing`` handle (IORING_VERSION_4, no
    flags)."""
    kind, entries = getattr(request.module, "RING", DEFAULT_RING)
    if kind == "io_uring":
        r = make_ring(entries)
        yield r
        if r.ring_fd is not None:
            L.io_uring_queue_exit(r)
    elif kind == "Ring":
        import ioring
        with ioring.Ring(entries) as r:
            yield r
    elif kind == "winioring":
        from ioring import winioring as W
        r = W.CreateIoRing(W.IORING_VERSION_4, W.IORING_CREATE_FLAGS(0, 0), entries, 0)
        yield r
        try:
            W.CloseIoRing(r)
        except W.IoRingError:
            pass
    else:
        raise ValueError(f"{request.module.__name__}.RING: unknown ring kind {kind!r} "
                         "(use 'io_uring', 'Ring' or 'winioring')")


@pytest.fixture(params=list(RING_CONFIGS), ids=list(RING_CONFIGS))
def any_ring(request):
    """A 16-entry thin ring in each configuration of ``RING_CONFIGS`` (a configuration the
    kernel refuses is skipped with its errno)."""
    r = make_ring(16, RING_CONFIGS[request.param])
    yield r
    if r.ring_fd is not None:
        L.io_uring_queue_exit(r)


@pytest.fixture
def pipe():
    r, w = os.pipe()
    yield r, w
    for fd in (r, w):
        try:
            os.close(fd)
        except OSError:
            pass


@pytest.fixture
def shared_tmp():
    """A directory that uid 65534 can traverse (pytest's tmp_path is 0o700 under root)."""
    d = tempfile.mkdtemp(prefix="ioring-perm-")
    os.chmod(d, 0o755)
    yield pathlib.Path(d)
    for dirpath, dirnames, _ in os.walk(d):
        for name in dirnames:
            os.chmod(os.path.join(dirpath, name), 0o755)
    shutil.rmtree(d)


@pytest.fixture(params=["asyncio", "uvloop"])
def arun(request):
    """``arun(coroutine)`` runs it to completion on a fresh loop of the parametrized kind
    (``arun.kind``; ``arun.factory()`` makes another such loop)."""
    if request.param == "uvloop":
        uvloop = pytest.importorskip("uvloop", reason="uvloop is not installed")
        factory = uvloop.new_event_loop
    else:
        factory = asyncio.new_event_loop
    factory().close()       # uvloop opens process-wide fds with its first loop: before fds are counted

    def run(coro, timeout=60):
        loop = factory()
        try:
            return loop.run_until_complete(asyncio.wait_for(coro, timeout))
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
    run.kind = request.param
    run.factory = factory
    return run
