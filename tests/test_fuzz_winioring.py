"""Fuzzing of every public function of ``ioring.winioring`` with junk arguments.

The promise under test (DESIGN.md): nothing may crash, and bad arguments raise ordinary
exceptions. With junk arguments (wrong types, negative and huge ints, None, closed rings,
read-only buffers, out-of-range registered indices, bogus handles...) every call must either
succeed or raise TypeError / ValueError / IoRingError (an OSError) -- or any other ordinary
``Exception`` except SystemError (a C-API misuse) and a bare OverflowError (an int out of range is
a bad argument, so a ValueError; ioring.liburing raises a class that is both, winioring raises
plain ValueErrors). Moreover:

* a Build* that raises queues nothing (the next SubmitIoRing submits 0 entries);
* a Build* that succeeds keeps every bytearray it was given pinned (not resizable) until the
  completion of the entry is popped (registrations: until the table is replaced or the ring is
  closed); once every ring is closed nothing stays pinned (no leaked pin);
* nothing blocks: waits are bounded by a SIGALRM watchdog (which also exercises the interrupt
  path of SubmitIoRing).

The functions come from ioring/winioring.pyi (every top-level ``def``); each is fuzzed in a forked
child process so that a crash (SIGSEGV...) fails that one test with the last call logged instead
of killing pytest. A sequence test runs random Build*/Submit/Pop/Close/register/drop-the-buffer
sequences and checks that the kernel never writes into memory Python has released (canary
buffers allocated after the drop must stay intact).

Knobs (environment): IORING_FUZZ_EXAMPLES (examples per function, default 40; tools/sanitize.sh
sets 8), IORING_FUZZ_RANDOM=1 (random instead of derandomized), IORING_FUZZ_CHILD_TIMEOUT (s).
"""
import gc
import inspect
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
import traceback

import pytest
from helpers import resizable
from fuzz_child import (EXAMPLES, RANDOM, BadSeq, Blocked, ExcIndex, FuzzWorld, Index3, Tok,
                        call_watched, fuzz_arguments, logline, run_in_child)
from hypothesis import HealthCheck, example, given, settings, strategies as st

from ioring import winioring as W

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forks; io_uring emulation")


def _stub_functions():
    # the stub shipped next to the module (an in-place build or an installed wheel)
    text = open(os.path.join(os.path.dirname(W.__file__), "winioring.pyi")).read()
    return sorted(set(re.findall(r"^def (\w+)\(", text, re.M)))


FUNCTIONS = _stub_functions()
BLOCKING = {"SubmitIoRing"}
WATCHDOG_BLOCKING = 0.1
WATCHDOG_OTHER = 15.0         # CloseIoRing may legitimately take ~10 s (io_uring_queue_exit's bound)


# ---- symbolic arguments -----------------------------------------------------------------------

class _BadFileno:
    def fileno(self):
        return "x"


class _RaisingFileno:
    def fileno(self):
        raise RuntimeError("fileno failed")


class World(FuzzWorld):
    """The objects one example may use; torn down (and checked for leaked pins) at the end."""
    BA_FILL = 0x55

    def _ring(self, version=W.IORING_VERSION_4, sq=8, cq=16, advisory=0):
        r = W.CreateIoRing(version, W.IORING_CREATE_FLAGS(0, advisory), sq, cq)
        self.rings.append(r)
        return r

    def _make(self, name):
        g = self.get
        # rings
        if name == "LIVE_RING":
            # registered buffers (slot 1 sparse) and files, so the registered paths are reached
            r = self._ring()
            self.registered = [self._ba(4096), None, self._ba(8192)]
            W.BuildIoRingRegisterBuffers(r, None, self.registered, 0xB0F)
            W.BuildIoRingRegisterFileHandles(r, None, [g("FILE_FD"), g("PIPE_R"), -1], 0xF11)
            W.SubmitIoRing(r, W.IORING_SUBMIT_WAIT_ALL, 5000)
            while W.PopIoRingCompletion(r) is not None:
                pass
            return r
        if name == "V1_RING":
            return self._ring(W.IORING_VERSION_1)
        if name == "SKIP_RING":
            return self._ring(advisory=W.IORING_CREATE_SKIP_BUILDER_PARAM_CHECKS)
        if name == "CLOSED_RING":
            r = self._ring()
            W.CloseIoRing(r)
            return r
        if name == "FULL_RING":
            r = self._ring(sq=8)
            for i in range(8):
                W.BuildIoRingFlushFile(r, g("FILE_FD"), 0, i)
            return r
        if name == "EVENT_RING":
            r = self._ring()
            W.SetIoRingCompletionEvent(r, g("EVENTFD"))
            return r
        if name == "RAW_RING":
            try:
                return W.HIORING.__new__(W.HIORING)
            except TypeError:
                return None
        # handles
        if name in ("PIPE_R", "PIPE_W"):
            r, w = os.pipe()
            self._fd(r)
            self._fd(w)
            self.cache["PIPE_R"], self.cache["PIPE_W"] = r, w
            return self.cache[name]
        if name == "FILE_FD":
            fd = self._fd(os.open(os.path.join(self.sandbox, "file"), os.O_RDWR | os.O_CREAT, 0o600))
            os.pwrite(fd, b"0123456789abcdef" * 512, 0)
            return fd
        if name == "RDONLY_FD":
            g("FILE_FD")
            return self._fd(os.open(os.path.join(self.sandbox, "file"), os.O_RDONLY))
        if name == "FILE_OBJ":
            f = open(os.path.join(self.sandbox, "file2"), "w+b")
            self.objects.append(f)
            return f
        if name == "EVENTFD":
            return self._fd(os.eventfd(0, os.EFD_NONBLOCK))
        if name == "BAD_FD":
            return 999_999
        if name == "BAD_FILENO":
            return _BadFileno()
        if name == "RAISING_FILENO":
            return _RaisingFileno()
        if name.startswith("HREF_"):
            what = name[5:]
            if what == "FILE":
                return W.IoRingHandleRefFromHandle(g("FILE_FD"))
            if what == "PIPE_R":
                return W.IoRingHandleRefFromHandle(g("PIPE_R"))
            if what == "RDONLY":
                return W.IoRingHandleRefFromHandle(g("RDONLY_FD"))
            if what == "BAD":
                return W.IoRingHandleRefFromHandle(999_999)
            if what == "OBJ":
                return W.IoRingHandleRefFromHandle(g("FILE_OBJ"))
            return W.IoRingHandleRefFromIndex(int(what[3:]))      # IDX0, IDX1, IDX2 (sparse), IDX99
        # buffers
        buf = self._make_buffer(name)
        if buf is not None:
            return buf
        if name.startswith("BREF_"):
            what = name[5:]
            if what == "BA":
                return W.IoRingBufferRefFromPointer(self._ba(64))
            if what == "BIG":
                return W.IoRingBufferRefFromPointer(self._ba(8192))
            if what == "RO":
                return W.IoRingBufferRefFromPointer(b"read-only" * 8)
            if what == "MMAP":
                return W.IoRingBufferRefFromPointer(g("MMAP"))
            if what == "EMPTY":
                return W.IoRingBufferRefFromPointer(self._ba(0))
            i, o = (int(x) for x in what[3:].split("_"))             # REG<i>_<offset>
            return W.IoRingBufferRefFromIndexAndOffset(i, o)
        # sequences
        if name == "SEGS":
            return [self._ba(16), W.FILE_SEGMENT_ELEMENT(self._ba(32))]
        if name == "SEGS_RO":
            return [b"ro", memoryview(b"ro2")]
        if name == "SEG_JUNK":
            return [W.FILE_SEGMENT_ELEMENT(None), 3]
        if name == "INFOS":
            return [W.IORING_BUFFER_INFO(self._ba(64)), None, self._ba(32),
                    W.IORING_BUFFER_INFO(self._ba(64), 16)]
        if name == "INFO_BAD":
            return [W.IORING_BUFFER_INFO(self._ba(16), 64)]
        if name == "INFO_NULL_LEN":
            i = W.IORING_BUFFER_INFO(None)
            i.Length = 5
            return [i]
        if name == "INFO_JUNK_LEN":
            i = W.IORING_BUFFER_INFO(self._ba(16))
            i.Length = "x"
            return [i]
        if name == "HANDLES":
            return [g("FILE_FD"), -1, g("PIPE_W")]
        if name == "HANDLES_BAD":
            return [999_999, -5, 2**40]
        if name == "LIST_RO":
            return [b"read-only"]
        if name == "LIST_EMPTY":
            return []
        if name == "LIST_JUNK":
            return [None, "x", 1.5]
        if name == "BAD_SEQ":
            return BadSeq()
        if name == "GEN":
            return (b for b in [self._ba(8), self._ba(8)])
        # misc
        if name == "FLAGS":
            return W.IORING_CREATE_FLAGS()
        if name == "FLAGS_REQ":
            return W.IORING_CREATE_FLAGS(1, 0)
        if name == "FLAGS_JUNK":
            return W.IORING_CREATE_FLAGS("x", None)
        if name == "OBJ":
            return object()
        if name == "EXC_INDEX":
            return ExcIndex()
        if name == "INDEX3":
            return Index3()
        raise KeyError(name)

    def _close_ring(self, r):
        try:
            W.CloseIoRing(r)
        except W.IoRingError:
            pass                   # already closed
        except Exception as exc:
            return f"CloseIoRing failed: {exc!r}"
        return None


# ---- strategies -------------------------------------------------------------------------------

T = Tok
INTERESTING_INTS = [0, 1, 2, 3, 7, 8, 16, 64, 255, 4096, 65535, 65536, 2**31 - 1, 2**31, 2**32 - 1, 2**32,
                    2**63 - 1, 2**63, 2**64 - 1, 2**64, -1, -2, -2**31, -2**63, -2**64, 2**200]
ints = st.one_of(st.sampled_from(INTERESTING_INTS), st.integers(-2**66, 2**66))
small = st.integers(0, 16)
RING_TOKS = [T("LIVE_RING"), T("LIVE_RING"), T("V1_RING"), T("SKIP_RING"), T("CLOSED_RING"), T("FULL_RING"),
             T("EVENT_RING"), T("RAW_RING")]
HREF_TOKS = [T("HREF_FILE"), T("HREF_PIPE_R"), T("HREF_RDONLY"), T("HREF_BAD"), T("HREF_OBJ"), T("HREF_IDX0"),
             T("HREF_IDX1"), T("HREF_IDX2"), T("HREF_IDX99")]
HANDLE_TOKS = [T("FILE_FD"), T("PIPE_R"), T("EVENTFD"), T("BAD_FD"), T("FILE_OBJ"), T("BAD_FILENO"),
               T("RAISING_FILENO"), -1, -2, 2**31, 2**64]
BREF_TOKS = [T("BREF_BA"), T("BREF_BIG"), T("BREF_RO"), T("BREF_MMAP"), T("BREF_EMPTY"), T("BREF_REG0_0"),
             T("BREF_REG0_4000"), T("BREF_REG1_0"), T("BREF_REG2_100"), T("BREF_REG99_0"),
             T("BREF_REG0_4294967295")]
BUF_TOKS = [T("BA0"), T("BA16"), T("BA4096"), T("BYTES16"), T("MV_RO"), T("MV_STRIDED"), T("MMAP")]
SEQ_TOKS = [T("SEGS"), T("SEGS_RO"), T("SEG_JUNK"), T("INFOS"), T("INFO_BAD"), T("INFO_NULL_LEN"),
            T("INFO_JUNK_LEN"), T("HANDLES"), T("HANDLES_BAD"), T("LIST_RO"), T("LIST_EMPTY"), T("LIST_JUNK"),
            T("BAD_SEQ"), T("GEN")]
MISC_TOKS = [T("OBJ"), T("EXC_INDEX"), T("INDEX3"), T("FLAGS"), T("FLAGS_REQ"), T("FLAGS_JUNK")]

junk = st.one_of(
    st.sampled_from([None, True, False, 1.5, float("nan"), float("inf"), "x", b"x", (), (0, 0, 0)]),
    ints,
    st.sampled_from(RING_TOKS + HREF_TOKS + HANDLE_TOKS + BREF_TOKS + BUF_TOKS + SEQ_TOKS + MISC_TOKS),
)


def _tiers(pname):
    """(valid, plausible edge values) strategies for one parameter, by its ioringapi.h name."""
    S = st.sampled_from
    if pname == "ioRing":
        return st.just(T("LIVE_RING")), S(RING_TOKS)
    if pname in ("fileRef", "file"):
        return (S([T("HREF_FILE"), T("HREF_IDX0"), T("FILE_FD")]),
                S(HREF_TOKS + HANDLE_TOKS + [None]))
    if pname in ("dataRef", "bufferRef"):
        return S([T("BREF_BA"), T("BREF_REG0_0"), T("BREF_MMAP")]), S(BREF_TOKS + BUF_TOKS + [None])
    if pname in ("numberOfBytesToRead", "numberOfBytesToWrite"):
        return st.sampled_from([0, 1, 16, 64]), ints
    if pname == "fileOffset":
        return S([0, 16, -1]), ints
    if pname in ("userData", "opToCancel"):
        return st.integers(0, 8), ints
    if pname in ("sqeFlags", "writeFlags"):
        return S([0, 1]), ints
    if pname == "flushMode":
        return st.integers(0, 3), ints
    if pname in ("segmentCount", "count"):
        return S([None, 1, 2]), st.one_of(S([None, 0]), ints)
    if pname == "segmentArray":
        return S([T("SEGS")]), S(SEQ_TOKS + BUF_TOKS + [None])
    if pname == "buffers":
        return S([T("INFOS"), T("LIST_EMPTY")]), S(SEQ_TOKS + BUF_TOKS + [None])
    if pname == "handles":
        return S([T("HANDLES"), T("LIST_EMPTY")]), S(SEQ_TOKS + HANDLE_TOKS + [None])
    if pname == "waitOperations":
        return S([0, 1, W.IORING_SUBMIT_WAIT_ALL]), ints
    if pname == "milliseconds":
        return S([0, 10, W.INFINITE]), ints
    if pname == "hEvent":
        return S([T("EVENTFD"), None]), S(HANDLE_TOKS + [None])
    if pname == "h":
        return S([T("FILE_FD"), T("FILE_OBJ")]), S(HANDLE_TOKS + [None])
    if pname == "p":
        return S([T("BA16"), T("MMAP"), T("BYTES16")]), S(BUF_TOKS + [None])
    if pname == "op":
        return st.integers(0, 9), ints
    if pname == "ioringVersion":
        return S([1, 2, 300, 400]), ints
    if pname == "flags":
        return S([T("FLAGS"), (0, 0)]), S([T("FLAGS_REQ"), T("FLAGS_JUNK"), (0, 1), (1, 0), (0, 2**40), (0,), None])
    if pname in ("submissionQueueSize", "completionQueueSize"):
        return S([0, 1, 8, 64]), st.one_of(S([0x10000, 0x10001, 0x20000, 0x20001]), ints)
    return small, ints                     # i, o, x, hr


def _strategy_for(pname, mode):
    valid, plausible = _tiers(pname)
    if mode == 0:
        return valid
    if mode == 1:
        return plausible
    return st.one_of(valid, plausible, junk)


# ---- one example ------------------------------------------------------------------------------



def _watched(fname, args):
    """The bytearrays a successful Build* was handed (and must pin): of a sequence, only the first
    ``count`` / ``segmentCount`` items (the rest is not used)."""
    out = []
    count = None
    if fname in ("BuildIoRingReadFileScatter", "BuildIoRingWriteFileGather", "BuildIoRingRegisterBuffers",
                 "BuildIoRingRegisterFileHandles"):
        count = args[1] if fname.startswith("BuildIoRingRegister") else args[2]

    def add(x):
        if isinstance(x, bytearray):
            out.append(x)
        elif isinstance(x, W.IORING_BUFFER_REF) and x.Kind == W.IORING_REF_RAW:
            add(x.Buffer.Address)
        elif isinstance(x, W.FILE_SEGMENT_ELEMENT):
            add(x.Buffer)
        elif isinstance(x, W.IORING_BUFFER_INFO):
            add(x.Address)
    for a in args:
        if isinstance(a, (list, tuple)):
            for x in (a[:count] if isinstance(count, int) else a):
                add(x)
        else:
            add(a)
    return out


def _bad_exception(exc):
    if isinstance(exc, SystemError) or not isinstance(exc, Exception):
        return "raised " + "".join(traceback.format_exception_only(exc)).strip()
    if isinstance(exc, OverflowError) and not isinstance(exc, ValueError):
        return "raised an OverflowError that is not a ValueError: " + str(exc)
    return None


def _pending(ring):
    """Entries queued and not submitted: SubmitIoRing(ring, 0, 0) submits exactly those."""
    try:
        return W.SubmitIoRing(ring, 0, 0)
    except W.IoRingError as exc:
        return exc


def run_example(fname, sandbox, raw_args):
    fn = getattr(W, fname)
    world = World(sandbox)
    problems = []
    leaked_before = W._leaked_count()
    try:
        args = world.resolve(list(raw_args))
        ring = args[0] if args and isinstance(args[0], W.HIORING) else None
        clean = ring is not None and any(ring is world.cache.get(n) for n in ("LIVE_RING", "V1_RING", "SKIP_RING"))
        logline(f"{fname}{tuple(raw_args)!r}")
        timeout = WATCHDOG_BLOCKING if fname in BLOCKING else WATCHDOG_OTHER
        result, exc = call_watched(fn, args, timeout)
        if isinstance(exc, Blocked):
            if fname not in BLOCKING:
                problems.append(f"blocked for more than {timeout} s")
        elif exc is not None:
            bad = _bad_exception(exc)
            if bad:
                problems.append(bad)
            elif fname.startswith("BuildIoRing") and clean:
                n = _pending(ring)
                if n != 0:
                    problems.append(f"raised {type(exc).__name__}({exc}) but queued an entry (submit: {n!r})")
        elif fname.startswith("BuildIoRing") and clean:
            problems += _check_pins(fname, ring, args)
        del result, exc, ring
        problems += world.teardown()
        del args
        gc.collect()
        if W._leaked_count() == leaked_before:
            stuck = [len(b) for b in world.bytearrays if not resizable(b)]
            if stuck:
                problems.append(f"bytearray(s) of sizes {stuck} still pinned after every ring was closed")
    finally:
        try:
            world.teardown()
        except Exception:
            pass
    assert not problems, f"{fname}{tuple(raw_args)!r}: " + "; ".join(problems)


def _check_pins(fname, ring, args):
    problems = []
    watched = _watched(fname, args)
    register = fname in ("BuildIoRingRegisterBuffers", "BuildIoRingRegisterFileHandles")
    early = [len(b) for b in watched if resizable(b)]
    if early:
        problems.append(f"bytearray(s) {early} resizable after a successful {fname} (not pinned)")
    n = _pending(ring)
    if n != 1:
        problems.append(f"a successful {fname} queued {n!r} entries, not 1")
        return problems
    deadline = time.monotonic() + 0.05
    popped = 0
    while time.monotonic() < deadline and not popped:
        cqe = W.PopIoRingCompletion(ring)
        if cqe is None:
            time.sleep(0.002)
            continue
        popped += 1
    if not popped:
        # still in flight (a read of an empty pipe): the buffers must still be pinned
        early = [len(b) for b in watched if resizable(b)]
        if early:
            problems.append(f"bytearray(s) {early} released while the {fname} is in flight")
    elif register:
        early = [len(b) for b in watched if resizable(b)]
        if early and fname == "BuildIoRingRegisterBuffers" and cqe.ResultCode == 0:
            problems.append(f"registered bytearray(s) {early} released while registered")
    return problems


def _fuzz_in_this_process(fname, sandbox):
    params = [p for p in inspect.signature(getattr(W, fname)).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    nreq = sum(1 for p in params if p.default is p.empty)

    fuzz_arguments(nreq, len(params), lambda i, mode: _strategy_for(params[i].name, mode),
                   lambda args: run_example(fname, sandbox, args))
    _healthy(sandbox)


def _healthy(sandbox):
    """The process still works: a read through a new ring returns the file's bytes."""
    path = os.path.join(sandbox, "healthy")
    with open(path, "wb") as f:
        f.write(b"healthy!")
    fd = os.open(path, os.O_RDONLY)
    try:
        r = W.CreateIoRing(W.IORING_VERSION_4, W.IORING_CREATE_FLAGS(), 4, 8)
        buf = bytearray(8)
        W.BuildIoRingReadFile(r, fd, W.IoRingBufferRefFromPointer(buf), 8, 0, 77)
        W.SubmitIoRing(r, 1, 5000)
        cqe = W.PopIoRingCompletion(r)
        assert cqe is not None and cqe.UserData == 77 and cqe.ResultCode == 0 and buf == b"healthy!"
        W.CloseIoRing(r)
    finally:
        os.close(fd)


# ---- running in a forked child -----------------------------------------------------------------

def _check_child(what, status, report, calls):
    if status == "ok":
        return
    if status == "failed":
        pytest.fail(f"{what}: an invariant failed\n{report[-6000:]}", pytrace=False)
    tail = "\n".join(calls.splitlines()[-40:])
    pytest.fail(f"{what}: the process {status}. Last calls:\n{tail}", pytrace=False)


@pytest.mark.parametrize("fname", FUNCTIONS)
def test_fuzz_function(fname):
    _check_child(fname, *run_in_child(_fuzz_in_this_process, fname, prefix="winioring-fuzz-"))


def test_every_public_function_is_fuzzed():
    """The fuzz list is the stub's list, and the stub's list is the module's: a new public function
    (in the .pyx or the .pyi) cannot escape the fuzzing."""
    assert len(FUNCTIONS) >= 23
    for helper in ("IoRingHandleRefFromHandle", "IoRingHandleRefFromIndex", "IoRingBufferRefFromPointer",
                   "IoRingBufferRefFromIndexAndOffset", "CreateIoRing", "CloseIoRing", "BuildIoRingReadFile"):
        assert helper in FUNCTIONS
    module = sorted(n for n in dir(W) if not n.startswith("_") and callable(getattr(W, n))
                    and not isinstance(getattr(W, n), type))
    assert module == FUNCTIONS, (set(module) ^ set(FUNCTIONS))
    for fname in FUNCTIONS:
        sig = inspect.signature(getattr(W, fname))
        for p in sig.parameters.values():           # every parameter has its own strategy or is an int
            _tiers(p.name)


# ---- random sequences: pins of queued/in-flight entries are never released early ---------------

FILE_DATA = bytes(range(256)) * 64          # 16 KiB, no 0xEE-only run


def _sequence_in_this_process(sandbox):
    step = st.one_of(
        st.tuples(st.just("read"), st.integers(1, 4096), st.integers(0, 16384), st.booleans()),
        st.tuples(st.just("read_pipe"), st.integers(1, 512), st.booleans()),
        st.tuples(st.just("write"), st.integers(1, 2048), st.integers(0, 8192), st.booleans()),
        st.tuples(st.just("scatter"), st.lists(st.integers(1, 600), min_size=1, max_size=4), st.booleans()),
        st.tuples(st.just("gather"), st.lists(st.integers(1, 600), min_size=1, max_size=4), st.booleans()),
        st.tuples(st.just("cancel"), st.integers(0, 40)),
    )
    # registrations, fixed reads and submits more often: their interleavings are the risky ones
    register = st.tuples(st.just("register"), st.lists(st.integers(1, 4096), max_size=3), st.booleans())
    read_fixed = st.tuples(st.just("read_fixed_pipe"), st.integers(0, 2), st.integers(1, 512))
    submit = st.tuples(st.just("submit"), st.sampled_from([0, 0, 1, 2, W.IORING_SUBMIT_WAIT_ALL]),
                       st.sampled_from([0, 20]))
    pop = st.tuples(st.just("pop"))
    step = st.one_of(step, register, read_fixed, submit, pop, register, read_fixed, submit, pop, st.one_of(
        st.tuples(st.just("feed_pipe"), st.integers(1, 1024)),
        st.tuples(st.just("close")),
        st.tuples(st.just("gc")),
    ))

    @example([("register", [100], False), ("submit", 0, 0), ("read_fixed_pipe", 0, 50), ("submit", 0, 0),
              ("register", [100], True), ("submit", 0, 0), ("gc",), ("feed_pipe", 600), ("submit", 1, 20),
              ("pop",), ("pop",), ("pop",)])
    @settings(max_examples=max(10, EXAMPLES * 2), deadline=None, database=None, derandomize=not RANDOM,
              suppress_health_check=list(HealthCheck), report_multiple_bugs=False)
    @given(st.lists(step, min_size=8, max_size=30))
    def seq(steps):
        _run_sequence(sandbox, steps)

    seq()
    _healthy(sandbox)


def _run_sequence(sandbox, steps):
    path = os.path.join(sandbox, "seqfile")
    with open(path, "wb") as f:
        f.write(FILE_DATA)
    fd = os.open(path, os.O_RDWR)
    pr, pw = os.pipe()
    os.set_blocking(pw, False)
    ring = W.CreateIoRing(W.IORING_VERSION_4, W.IORING_CREATE_FLAGS(), 8, 64)
    # userData -> (kept bytearrays: pinned until popped, then released; check after pop or None;
    # held bytearrays: pinned at least until popped); entries not yet popped
    outstanding = {}
    registered = []             # bytearrays of the registered table in effect (or queued)
    canaries = []
    ud = 0
    closed = False
    leaked_before = W._leaked_count()
    try:
        for s in steps:
            logline(f"sequence step {s!r}")
            kind = s[0]
            ud += 1
            try:
                if closed and kind not in ("gc", "feed_pipe"):
                    with pytest.raises(W.IoRingError):
                        W.PopIoRingCompletion(ring)
                    continue
                if kind == "read":
                    _, n, off, drop = s
                    b = bytearray(b"\xEE") * n
                    W.BuildIoRingReadFile(ring, fd, W.IoRingBufferRefFromPointer(b), n, off, ud)
                    expect = FILE_DATA[off:off + n]
                    outstanding[ud] = ([] if drop else [b], None if drop else (b, expect), [])
                    del b
                elif kind == "read_pipe":
                    _, n, drop = s
                    b = bytearray(b"\xEE") * n
                    W.BuildIoRingReadFile(ring, pr, W.IoRingBufferRefFromPointer(b), n, 0, ud)
                    outstanding[ud] = ([] if drop else [b], None, [])
                    del b
                elif kind == "write":
                    _, n, off, drop = s
                    b = bytearray(b"w") * n
                    W.BuildIoRingWriteFile(ring, fd, W.IoRingBufferRefFromPointer(b), n, 16384 + off, 0, ud)
                    outstanding[ud] = ([] if drop else [b], None, [])
                    del b
                elif kind in ("scatter", "gather"):
                    _, sizes, drop = s
                    segs = [bytearray(b"\xEE") * n for n in sizes]
                    total = sum(sizes)
                    if kind == "scatter":
                        W.BuildIoRingReadFileScatter(ring, fd, None, segs, total, 0, ud)
                    else:
                        W.BuildIoRingWriteFileGather(ring, fd, None, segs, total, 20000, 0, ud)
                    outstanding[ud] = ([] if drop else segs, None, [])
                    del segs
                elif kind == "register":
                    _, sizes, drop = s
                    bufs = [bytearray(b"\xEE") * n for n in sizes]
                    W.BuildIoRingRegisterBuffers(ring, None, bufs, ud)
                    outstanding[ud] = ([], None, [])
                    registered = [] if drop else bufs
                    del bufs
                elif kind == "read_fixed_pipe":
                    _, idx, n = s
                    W.BuildIoRingReadFile(ring, pr, W.IoRingBufferRefFromIndexAndOffset(idx, 0), n, 0, ud)
                    # the table in effect at its SQ position must outlive it, even if replaced
                    uses = idx < len(registered) and n <= len(registered[idx])
                    outstanding[ud] = ([], None, list(registered) if uses else [])
                elif kind == "cancel":
                    W.BuildIoRingCancelRequest(ring, pr, s[1], ud)
                    outstanding[ud] = ([], None, [])
                elif kind == "submit":
                    # (Blocked is caught around the finally too: a submit that returns just as
                    # the timer fires, on a starved CPU, gets it in the finally's first lines)
                    try:
                        signal.setitimer(signal.ITIMER_REAL, 0.5)
                        try:
                            W.SubmitIoRing(ring, s[1], s[2])
                        finally:
                            signal.setitimer(signal.ITIMER_REAL, 0)
                    except Blocked:
                        pass
                elif kind == "pop":
                    cqe = W.PopIoRingCompletion(ring)
                    if cqe is not None:
                        kept, check, _ = outstanding.pop(cqe.UserData, ([], None, []))
                        if check is not None and cqe.ResultCode == 0:
                            b, expect = check
                            assert bytes(b[:cqe.Information]) == expect[:cqe.Information], "read data wrong"
                            assert cqe.Information == len(expect)
                        for b in kept:
                            assert resizable(b), "a popped entry's buffer is still pinned"
                elif kind == "feed_pipe":
                    try:
                        os.write(pw, b"P" * s[1])
                    except BlockingIOError:
                        pass
                elif kind == "close":
                    W.CloseIoRing(ring)
                    closed = True
                    outstanding.clear()
                    registered = []
                elif kind == "gc":
                    gc.collect()
                    canaries += [bytearray(b"\xEE") * n for n in (16, 64, 512, 600, 1024, 2048, 4096)
                                 for _ in range(4)]
            except W.IoRingError:
                pass                    # queue full, CQ too full, timeout...: ordinary outcomes
            # invariant: every kept buffer of an unpopped entry (queued, in flight or completed but
            # not popped) is pinned; so is the registered table in effect
            for u, (kept, _, held) in outstanding.items():
                for b in kept + held:
                    assert not resizable(b), f"buffer of unpopped entry {u} is not pinned (step {s!r})"
        if not closed:
            W.CloseIoRing(ring)
        gc.collect()
        for c in canaries:
            assert c == bytearray(b"\xEE") * len(c), "the kernel wrote into memory Python had released"
        if W._leaked_count() == leaked_before:
            for u, (kept, _, held) in outstanding.items():
                for b in kept + held:
                    assert resizable(b), f"buffer of entry {u} still pinned after CloseIoRing"
    finally:
        try:
            W.CloseIoRing(ring)
        except W.IoRingError:
            pass
        os.close(fd)
        os.close(pr)
        os.close(pw)


def test_random_sequences_keep_pins():
    _check_child("Build*/Submit/Pop/Close sequences",
                 *run_in_child(_sequence_in_this_process, prefix="winioring-fuzz-"))


# ---- regressions -------------------------------------------------------------------------------

def _run_py(code):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=REPO, capture_output=True,
                          text=True, timeout=60)


def test_reregistering_buffers_keeps_the_old_table_pinned_for_inflight_fixed_reads():
    """A READ with a registered buffer in flight keeps the table it was submitted with pinned even if
    a later REGISTER_BUFFERS replaces the table: the kernel still writes into the old pages (it was
    released, and the read landed in a new bytearray that reused the memory)."""
    proc = _run_py("""
        import gc, os
        import ioring.winioring as W
        r = W.CreateIoRing(W.IORING_VERSION_4, W.IORING_CREATE_FLAGS(), 8, 16)
        pr, pw = os.pipe()
        old = bytearray(b"\\x11") * 4096
        W.BuildIoRingRegisterBuffers(r, None, [old], 1)
        W.SubmitIoRing(r, 1, 2000); W.PopIoRingCompletion(r)
        W.BuildIoRingReadFile(r, pr, W.IoRingBufferRefFromIndexAndOffset(0, 0), 4096, 0, 2)
        W.SubmitIoRing(r, 0, 0)
        W.BuildIoRingRegisterBuffers(r, None, [bytearray(4096)], 3)
        W.SubmitIoRing(r, 1, 2000)
        assert W.PopIoRingCompletion(r).UserData == 3
        try:
            old.append(0)
            raise SystemExit("the old table was released while a READ_FIXED used it")
        except BufferError:
            pass
        del old; gc.collect()
        canaries = [bytearray(b"\\xEE") * 4096 for _ in range(200)]
        os.write(pw, b"X" * 4096)
        W.SubmitIoRing(r, 1, 2000)
        cqe = W.PopIoRingCompletion(r)
        assert cqe.UserData == 2 and cqe.Information == 4096, cqe
        assert not any(c.count(b"X") for c in canaries), "the kernel wrote into a freed buffer"
        W.CloseIoRing(r)
        print("OK")
    """)
    assert proc.returncode == 0 and "OK" in proc.stdout, proc.stdout + proc.stderr


@pytest.mark.parametrize("fn", ["HRESULT_FROM_WIN32", "SUCCEEDED", "FAILED"])
def test_hresult_macros_reject_non_ints_without_overflowerror(fn):
    """int(float('inf')) raised a bare OverflowError; the macros take an int (HRESULT / DWORD)."""
    for bad in (float("inf"), float("nan"), 1.5, "5", None):
        with pytest.raises(TypeError):
            getattr(W, fn)(bad)
    assert W.HRESULT_FROM_WIN32(38) == 0x80070026 and W.FAILED(2**40 | 0x80000000)
    assert W.SUCCEEDED(Index3())
