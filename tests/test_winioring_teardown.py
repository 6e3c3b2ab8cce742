"""Teardown of the io_uring emulation of ioring.winioring: it is the thin layer's (ioring.liburing's
io_uring teardown, through its door), so it holds in the places a teardown of its own got wrong:
late in interpreter shutdown, in a fork child, and while another thread waits in SubmitIoRing."""
import gc
import json
import os
import subprocess
import sys
import textwrap

import pytest

from ioring import winioring as W

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the io_uring emulation")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLAGS = W.IORING_CREATE_FLAGS()


def run_program(code, timeout=60):
    """Runs ``code`` in a fresh interpreter (this tree's ioring); returns the CompletedProcess."""
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.parametrize("state", ["read in flight", "completion event set"])
def test_unclosed_ring_torn_down_after_the_module_globals_are_gone(state):
    """A ring kept in the sys module is collected at the very end of interpreter shutdown, after
    every module's globals were cleared: its teardown must still run, quietly (it used time.monotonic
    and os.close, which are None by then: AttributeError, 'Exception ignored', teardown abandoned)."""
    setup = {
        "read in flight": """
            rfd, wfd = os.pipe()
            sys._kept_pipe = (rfd, wfd)
            buf = bytearray(4)
            W.BuildIoRingReadFile(r, rfd, W.IoRingBufferRefFromPointer(buf), 4, 0, 1)
            assert W.SubmitIoRing(r, 0, 0) == 1
        """,
        "completion event set": """
            efd = os.eventfd(0)
            W.SetIoRingCompletionEvent(r, efd)
            os.close(efd)
        """,
    }[state]
    out = run_program(f"""
        import os, sys
        from ioring import winioring as W
        r = W.CreateIoRing(W.IORING_VERSION_3, W.IORING_CREATE_FLAGS(), 8, 0)
        {textwrap.indent(textwrap.dedent(setup), " " * 8).strip()}
        sys._kept_ring = r          # the sys module's dict is cleared after every other module's
        print("exiting")
    """)
    assert out.returncode == 0 and out.stdout == "exiting\n", out.stderr
    assert out.stderr == "", out.stderr


def test_close_while_another_thread_waits_in_submit():
    """CloseIoRing while SubmitIoRing(WAIT_ALL, INFINITE) waits in another thread: the waiter returns,
    the buffers are released, and the ring memory is unmapped only once nothing waits on it (the
    emulation's own teardown unmapped it under the waiter: a segmentation fault)."""
    out = run_program("""
        import os, threading, time
        from ioring import winioring as W
        for i in range(20):
            r = W.CreateIoRing(W.IORING_VERSION_3, W.IORING_CREATE_FLAGS(), 8, 0)
            rfd, wfd = os.pipe()
            buf = bytearray(4)
            W.BuildIoRingReadFile(r, rfd, W.IoRingBufferRefFromPointer(buf), 4, 0, 1)
            got = []
            t = threading.Thread(target=lambda: got.append(W.SubmitIoRing(r, W.IORING_SUBMIT_WAIT_ALL, W.INFINITE)))
            t.start()
            time.sleep(0.02)
            W.CloseIoRing(r)
            t.join(10)
            assert not t.is_alive(), "SubmitIoRing still waits after CloseIoRing"
            assert got == [1], got
            buf.extend(b"x")                    # released: not pinned any more
            try:
                W.PopIoRingCompletion(r)
                raise AssertionError("a closed ring was used")
            except W.IoRingError as exc:
                assert exc.hresult == W.E_HANDLE
            os.close(rfd)
            os.close(wfd)
        print("ok")
    """)
    assert out.returncode == 0 and out.stdout == "ok\n", (out.returncode, out.stderr)


def test_fork_child_neither_uses_nor_tears_down_the_parents_ring():
    """A fork child inherits the parent's rings, whose io_uring it shares with the parent: every call
    on them is refused (E_HANDLE; IsIoRingOpSupported False), and dropping them in the child touches
    nothing of the parent's. The emulation's own teardown cancelled the parent's requests and took
    their completions from the shared CQ, so the parent's read never completed."""
    rfd, wfd = os.pipe()
    report_r, report_w = os.pipe()
    ring = W.CreateIoRing(W.IORING_VERSION_4, FLAGS, 8, 0)
    try:
        buf = bytearray(8)
        W.BuildIoRingReadFile(ring, rfd, W.IoRingBufferRefFromPointer(buf), 8, 0, 5)
        assert W.SubmitIoRing(ring, 0, 0) == 1
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                mine = bytearray(8)
                calls = {
                    "GetIoRingInfo": lambda: W.GetIoRingInfo(ring),
                    "SubmitIoRing": lambda: W.SubmitIoRing(ring, 0, 0),
                    "PopIoRingCompletion": lambda: W.PopIoRingCompletion(ring),
                    "BuildIoRingReadFile": lambda: W.BuildIoRingReadFile(ring, rfd, W.IoRingBufferRefFromPointer(mine),
                                                                         8, 0, 6),
                    "BuildIoRingCancelRequest": lambda: W.BuildIoRingCancelRequest(ring, rfd, 5, 7),
                    "SetIoRingCompletionEvent": lambda: W.SetIoRingCompletionEvent(ring, None),
                    "CloseIoRing": lambda: W.CloseIoRing(ring),
                }
                outcomes = {}
                for name, call in calls.items():
                    try:
                        call()
                        outcomes[name] = "accepted"
                    except W.IoRingError as exc:
                        outcomes[name] = "E_HANDLE" if exc.hresult == W.E_HANDLE else hex(exc.hresult)
                    except BaseException as exc:
                        outcomes[name] = repr(exc)
                outcomes["IsIoRingOpSupported"] = W.IsIoRingOpSupported(ring, W.IORING_OP_READ)
                # ... and the child drops the inherited ring (its __del__ runs here).
                calls.clear()
                del ring
                gc.collect()
                os.write(report_w, json.dumps(outcomes).encode())
                code = 0
            finally:
                os._exit(code)
        os.close(report_w)
        report_w = -1
        with os.fdopen(report_r, "rb") as f:
            report_r = -1
            raw = f.read()
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"child status {status:#x}"
        outcomes = json.loads(raw)
        assert outcomes.pop("IsIoRingOpSupported") is False
        assert all(v == "E_HANDLE" for v in outcomes.values()), outcomes
        # The parent's ring is untouched: its read completes with the parent's data.
        os.write(wfd, b"parent!!")
        assert W.SubmitIoRing(ring, W.IORING_SUBMIT_WAIT_ALL, 5000) == 0
        cqe = W.PopIoRingCompletion(ring)
        assert (cqe.UserData, cqe.ResultCode, cqe.Information) == (5, 0, 8) and buf == b"parent!!"
        assert W.PopIoRingCompletion(ring) is None
    finally:
        W.CloseIoRing(ring)
        for fd in (rfd, wfd, report_r, report_w):
            if fd >= 0:
                os.close(fd)
