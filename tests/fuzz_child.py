"""What the thin-layer fuzzers (tests/test_fuzz_thin.py, tests/test_fuzz_winioring.py) share: their
environment knobs, the junk-argument objects, and the child-process harness that runs a target
in a forked child so that a crash fails one test instead of killing the session, with a per-call
watchdog and a log of the calls made, written before each is made."""
import faulthandler
import io
import mmap
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback

# Knobs (tools/sanitize.sh scales them down).
EXAMPLES = int(os.environ.get("IORING_FUZZ_EXAMPLES", "40"))
RANDOM = os.environ.get("IORING_FUZZ_RANDOM") == "1"        # explore beyond the fixed seed
CHILD_TIMEOUT = float(os.environ.get("IORING_FUZZ_CHILD_TIMEOUT", "120"))


# ---- symbolic and junk arguments ---------------------------------------------------------------

class Tok:
    """A symbolic argument, resolved against a fresh World in each example (so that the
    falsifying example prints as readable names and mutable objects are never shared)."""
    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name

    def __eq__(self, other):
        return isinstance(other, Tok) and other.name == self.name

    def __hash__(self):
        return hash(self.name)


class ExcIndex:
    """__index__ raises: the error must propagate as is."""
    def __index__(self):
        raise RuntimeError("__index__ failed")


class Index3:
    """A non-int integer (numpy-like): accepted wherever an int is."""
    def __index__(self):
        return 3


class BadSeq:
    """A sequence whose iteration fails half-way."""
    def __len__(self):
        return 4

    def __iter__(self):
        yield bytearray(8)
        raise RuntimeError("iteration failed")

    def __getitem__(self, i):
        if i == 0:
            return bytearray(8)
        raise RuntimeError("getitem failed")


# ---- the objects of one example ------------------------------------------------------------------

class FuzzWorld:
    """The objects one example may use, made lazily by name (``_make``, per fuzzer) and torn
    down at its end: rings (closed by ``_close_ring``), fds (closed only if still the file they
    were made for: the example may have closed one and the number been reused), other objects
    with a ``close()``, and every bytearray handed out (``BA_FILL``: their contents)."""
    BA_FILL = 0

    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.cache = {}
        self.rings = []
        self.fds = {}           # fd -> (st_dev, st_ino) at creation
        self.objects = []       # sockets, mmaps... kept alive until teardown
        self.bytearrays = []    # every bytearray handed out (pin checks)

    def _fd(self, fd):
        st_ = os.fstat(fd)
        self.fds[fd] = (st_.st_dev, st_.st_ino)
        return fd

    def _ba(self, n, fill=None):
        b = bytearray([self.BA_FILL if fill is None else fill]) * n
        self.bytearrays.append(b)
        return b

    def _cached(self, name):
        """Whether one object serves every use of ``name`` in an example."""
        return True

    def get(self, name):
        if name in self.cache:
            return self.cache[name]
        value = self._make(name)
        if self._cached(name):
            self.cache[name] = value
        return value

    def resolve(self, value):
        if isinstance(value, Tok):
            return self.get(value.name)
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.resolve(v) for v in value)
        return value

    def _make(self, name):
        raise NotImplementedError

    def _make_buffer(self, name):
        """The buffer tokens every fuzzer has (None: ``name`` is not one of them)."""
        if re.match(r"^BA\d+$", name):
            return self._ba(int(name[2:]), 0x55)
        if name == "BYTES16":
            return b"b" * 16
        if name == "MV_RO":
            return memoryview(b"r" * 64)
        if name == "MV_STRIDED":
            return memoryview(self._ba(64))[::2]
        if name == "MMAP":
            m = mmap.mmap(-1, 8192)
            self.objects.append(m)
            return m
        return None

    def _close_ring(self, ring):
        """Close one ring of the example; returns a problem (str) or None."""
        raise NotImplementedError

    def teardown(self):
        """Close every ring, object and fd of the example; returns the list of problems found."""
        problems = []
        self.cache.clear()
        for r in self.rings:
            problem = self._close_ring(r)
            if problem:
                problems.append(problem)
        self.rings = []
        for o in self.objects:
            try:
                o.close()
            except Exception:
                pass
        self.objects = []
        for fd, ident in self.fds.items():
            try:
                st_ = os.fstat(fd)
            except OSError:
                continue        # closed by the example
            if (st_.st_dev, st_.st_ino) == ident:
                os.close(fd)
        self.fds = {}
        return problems


# ---- one function fuzzed with argument lists ----------------------------------------------------

def fuzz_arguments(nreq, nmax, strategy_for, call):
    """Hypothesis over calls of one function with ``nreq``..``nmax`` positional arguments:
    ``strategy_for(i, mode)`` gives the strategy of argument i (mode 0: valid, 1: valid type,
    wrong value, 2: junk); ``call(args)`` runs one example."""
    from hypothesis import HealthCheck, Phase, given, settings, strategies as st

    @st.composite
    def arglists(draw):
        n = draw(st.integers(nreq, nmax)) if nmax > nreq else nmax
        # Most examples: valid arguments, or valid but one (so each argument's checks are
        # reached); the rest: anything.
        kind = draw(st.sampled_from(["valid", "valid", "one_off", "one_off", "one_junk", "any"]))
        odd = draw(st.integers(0, max(0, n - 1))) if n else -1
        args = []
        for i in range(n):
            if kind == "valid" or (kind in ("one_off", "one_junk") and i != odd):
                mode = 0
            elif kind == "one_off":
                mode = 1
            else:
                mode = 2
            args.append(draw(strategy_for(i, mode)))
        if draw(st.integers(0, 30)) == 0:        # sometimes: too many / too few arguments
            args = args + [0] if draw(st.booleans()) else args[:-1]
        return args

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=not RANDOM,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate, Phase.shrink],
              report_multiple_bugs=False)
    @given(arglists())
    def fuzz(raw_args):
        call(raw_args)

    fuzz()


# ---- the child-process harness -----------------------------------------------------------------


class Blocked(BaseException):
    """Raised by the watchdog's SIGALRM handler."""


def _on_alarm(signum, frame):
    raise Blocked()


_log = None     # in the child: the file each call is logged to, before it is made


def logline(text):
    if _log is not None:
        _log.write(text + "\n")
        _log.flush()


def call_watched(fn, args, timeout):
    """fn(*args) under a SIGALRM watchdog of ``timeout`` seconds: (result, None) or
    (None, the exception, Blocked if the watchdog fired)."""
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        try:
            return fn(*args), None
        except BaseException as exc:   # noqa: B902 - classified by the caller
            return None, exc
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except Blocked as exc:
        # The watchdog fired as the call returned, inside the finally that disarms it (a
        # starved machine: the sanitizer's CI step): the call took the whole timeout.
        signal.setitimer(signal.ITIMER_REAL, 0)
        return None, exc


def run_in_child(target, *args, timeout=CHILD_TIMEOUT, prefix="ioring-fuzz-"):
    """Run target(*args, sandbox) in a forked child, in a fresh sandbox directory. Returns
    (status, report, calllog): status is "ok", "failed" (an exception: report is its traceback),
    "crashed: <signal>" or "timeout"."""
    global _log
    tmp = tempfile.mkdtemp(prefix=prefix)
    sandbox = os.path.join(tmp, "sandbox")
    os.mkdir(sandbox)
    report_path = os.path.join(tmp, "report")
    log_path = os.path.join(tmp, "calls")
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:        # child
        code = 1
        try:
            os.chdir(sandbox)
            log = open(log_path, "w", buffering=1)
            # Keep the log's fd far from the small numbers junk arguments might name.
            high = os.dup2(log.fileno(), 1000)
            _log = io.TextIOWrapper(os.fdopen(high, "wb", buffering=0), write_through=True)
            log.close()
            faulthandler.enable(file=_log, all_threads=True)
            signal.signal(signal.SIGALRM, _on_alarm)
            try:
                target(*args, sandbox)
                text, code = "ok", 0
            except BaseException:
                text = traceback.format_exc()
            with open(report_path, "w") as f:
                f.write(text)
        finally:
            os._exit(code)
    deadline = time.monotonic() + timeout
    status = None
    while True:
        done, wstatus = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            status = "timeout"
            break
        time.sleep(0.01)
    report = open(report_path).read() if os.path.exists(report_path) else ""
    calls = open(log_path, errors="replace").read() if os.path.exists(log_path) else ""
    if status is None:
        if os.WIFSIGNALED(wstatus):
            status = f"crashed: {signal.Signals(os.WTERMSIG(wstatus)).name}"
        else:
            status = "ok" if os.WEXITSTATUS(wstatus) == 0 else "failed"
    shutil.rmtree(tmp, ignore_errors=True)
    return status, report, calls
