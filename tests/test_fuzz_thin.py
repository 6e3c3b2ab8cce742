"""Fuzzing of every public function of ``ioring.liburing`` with junk arguments.

The promise under test (DESIGN.md): no sequence of Python calls can crash the interpreter or
make the kernel use memory Python has released. With junk arguments (wrong types, negative
and huge integers, closed and uninitialized rings, stale SQEs, read-only buffers,
non-contiguous buffers, out-of-range indices, None...), every call must either raise an
``Exception`` (not SystemError: that is a C-API misuse; not a bare OverflowError: an int out of
range is a bad argument, so a ValueError, per DESIGN.md) or succeed harmlessly:

* a prep that raises leaves its (fresh) SQE untouched: bad arguments raise before the SQE is
  written;
* a prep that succeeds is submitted; until its completion is consumed every bytearray it was
  given stays pinned (cannot be resized), and once the rings are torn down nothing stays pinned
  (nothing leaks) unless the library warned that it kept buffers on purpose;
* nothing blocks: the waits are bounded by a SIGALRM watchdog (which also exercises the
  interrupt paths), and any other function still running after several seconds fails.

The tests are generated from ``dir(ioring.liburing)``: one test per public function (every
``io_uring_*`` name and liburing's ``__io_uring_buf_ring_cq_advance``), the argument list read
from the function's embedded signature, and one strategy per argument chosen from its C type
and name. Each function is fuzzed in a forked child process, so that a crash (SIGSEGV,
SIGABRT, heap corruption) fails that one test with the signal and the exact call that was
running (every call is logged before it is made; faulthandler dumps the Python stack) instead
of killing the whole test session.

Knobs (environment): IORING_FUZZ_EXAMPLES (examples per function, default 40),
IORING_FUZZ_RANDOM=1 (random instead of derandomized exploration), IORING_FUZZ_RAW=1 (also
feed ``T.__new__(T)`` instances of the library's types to every function: they are tested
separately below, see test_uninitialized_instance_is_safe).

The last part holds deterministic reproducers of the crashes and memory-safety bugs the fuzzing
found; they run in a subprocess so that a crash is reported, not fatal to the session.
"""
import array
import gc
import inspect
import mmap
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
import traceback
import warnings

import pytest
from helpers import address_of, resizable
from fuzz_child import (EXAMPLES, BadSeq, Blocked, ExcIndex, Index3, FuzzWorld, Tok, call_watched,
                        fuzz_arguments, logline, run_in_child)
from hypothesis import strategies as st

from ioring import liburing as L

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RAW = os.environ.get("IORING_FUZZ_RAW") == "1"
RANDOM_FIELDS = os.environ.get("IORING_FUZZ_RANDOM") == "1"


# ---- what is fuzzed ---------------------------------------------------------------------------

def _is_public_function(name):
    obj = getattr(L, name)
    return (re.match(r"^(__)?io_uring_", name) is not None and callable(obj)
            and not isinstance(obj, type))


FUNCTIONS = sorted(n for n in dir(L) if _is_public_function(n))
TYPES = sorted(n for n in dir(L) if not n.startswith("_") and isinstance(getattr(L, n), type))

# Functions that may legitimately wait for as long as their arguments say (forever, for some):
# the watchdog interrupts them and that is not a failure.
BLOCKING = {
    "io_uring_wait_cqe", "io_uring_wait_cqe_nr", "io_uring_wait_cqes", "io_uring_wait_cqe_timeout",
    "io_uring_wait_cqes_min_timeout", "io_uring_submit_and_wait", "io_uring_submit_and_wait_timeout",
    "io_uring_submit_and_wait_min_timeout", "io_uring_submit_and_wait_reg", "io_uring_sqring_wait",
    "io_uring_enter", "io_uring_enter2", "io_uring_register", "io_uring_register_sync_cancel",
    "io_uring_get_events", "io_uring_submit_and_get_events", "io_uring_peek_cqe",
}
WATCHDOG_BLOCKING = 0.05   # seconds a wait may run before the watchdog interrupts it
WATCHDOG_OTHER = 15.0      # any other function: a hang (queue_exit may legitimately take ~10 s)


def _signature(fn):
    """[(name, ctype or None, has_default)] from the embedded signature (embedsignature)."""
    params = list(inspect.signature(fn).parameters.values())
    first = (fn.__doc__ or "").split("\n", 1)[0]
    m = re.match(r"^\w+\((.*)\)", first)
    ctypes_ = {}
    if m:
        for part in m.group(1).split(","):
            part = part.split("=")[0].strip()
            words = part.split()
            if len(words) >= 2:
                ctypes_[words[-1]] = " ".join(words[:-1])
    return [(p.name, ctypes_.get(p.name), p.default is not inspect.Parameter.empty) for p in params
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


# ---- symbolic arguments -----------------------------------------------------------------------

class _LyingLen:
    """len() says 1000; it holds 2 buffers."""
    def __len__(self):
        return 1000

    def __iter__(self):
        return iter([bytearray(8), bytearray(8)])

    def __getitem__(self, i):
        return [bytearray(8), bytearray(8)][i]


class World(FuzzWorld):
    """The objects one example may use: rings in every state, SQEs in every state, fds, buffers.
    Created lazily; torn down (and checked for leaks) at the end of the example."""

    # -- helpers
    def _ring(self, entries=8, flags=0):
        r = L.io_uring()
        L.io_uring_queue_init(entries, r, flags)
        self.rings.append(r)
        return r


    @property
    def live(self):
        return self.get("LIVE_RING")

    def _cached(self, name):
        return not (name.startswith(("FRESH_SQE", "FREE_SQE", "LIST_BUFS", "TUPLE_BUFS", "MV_", "GEN_",
                                     "REG_VIEW", "LIST_REG", "ADDR_"))
                    or re.match(r"^BA\d+$", name))

    def _make(self, name):
        # rings
        if name == "LIVE_RING":
            # With registered buffers and files, so that the fixed-buffer/-file paths are reached.
            r = self._ring(8)
            self.cache["LIVE_RING"] = r
            self.registered = [self._ba(4096), self._ba(8192)]
            L.io_uring_register_buffers(r, self.registered)
            L.io_uring_register_files(r, [self.get("FILE_FD"), self.get("PIPE_R")])
            return r
        if name == "REG_VIEW":
            self.get("LIVE_RING")
            return memoryview(self.registered[0])[16:1040]
        if name == "REG_BUF1":
            self.get("LIVE_RING")
            return self.registered[1]
        if name == "LIVE_RING2":
            return self._ring(4)
        if name == "CQE32_RING":
            return self._ring(4, L.IORING_SETUP_CQE32)
        if name == "CLOSED_RING":
            r = self._ring(4)
            L.io_uring_queue_exit(r)
            return r
        if name == "UNINIT_RING":
            r = L.io_uring()
            self.rings.append(r)
            return r
        # SQEs
        if name.startswith("FRESH_SQE"):
            sqe = L.io_uring_get_sqe(self.live)
            if sqe is None:
                L.io_uring_submit(self.live)
                sqe = L.io_uring_get_sqe(self.live)
            return sqe
        if name == "STALE_SQE":
            sqe = L.io_uring_get_sqe(self.live)
            L.io_uring_prep_nop(sqe)
            L.io_uring_sqe_set_data64(sqe, 0xABCD)
            L.io_uring_submit(self.live)
            return sqe
        if name == "CLOSED_SQE":
            r = self._ring(4)
            sqe = L.io_uring_get_sqe(r)
            L.io_uring_queue_exit(r)
            return sqe
        if name == "OTHER_SQE":
            return L.io_uring_get_sqe(self.get("LIVE_RING2"))
        if name == "FREE_SQE":
            return L.io_uring_sqe()             # struct io_uring_sqe sqe = {}: never submitted
        if name == "CANARY":
            return bytearray(b"\xa5") * 4096       # never handed to anything (see CANARY_ADDR)
        if name.startswith("ADDR_"):             # a raw address: ADDR_<token>[+<offset>]
            what, _, delta = name[5:].partition("+")
            return address_of(self.get(what)) + int(delta or 0)
        # CQEs
        if name in ("CQE_HEAD", "CQE_SEEN"):
            sqe = L.io_uring_get_sqe(self.live)
            if sqe is None:
                L.io_uring_submit(self.live)
                sqe = L.io_uring_get_sqe(self.live)
            L.io_uring_prep_nop(sqe)
            L.io_uring_sqe_set_data64(sqe, 0xC0E)
            L.io_uring_submit(self.live)
            cqe = L.io_uring_wait_cqe_timeout(self.live, L.kernel_timespec(1, 0))
            if name == "CQE_SEEN" and cqe is not None:
                L.io_uring_cqe_seen(self.live, cqe)
            return cqe
        if name == "CQE_ITER":
            return L.io_uring_cqe_iter_init(self.live)
        if name == "PROBE":
            return L.io_uring_get_probe_ring(self.live)
        if name == "PARAMS":
            return L.io_uring_params()
        if name == "PARAMS_FILLED":
            p = L.io_uring_params()
            r = L.io_uring()
            L.io_uring_queue_init_params(4, r, p)
            self.rings.append(r)
            return p
        if name == "BUF_RING":
            try:
                return L.io_uring_setup_buf_ring(self.live, 8, 7, 0)
            except OSError:
                return None
        # timespecs
        if name == "TS_SHORT":
            return L.kernel_timespec(0, 2_000_000)
        if name == "TS_ZERO":
            return L.kernel_timespec(0, 0)
        if name == "TS_NEG":
            return L.kernel_timespec(-1, -1)
        if name == "TS_BADNS":
            return L.kernel_timespec(0, 5 * 10**9)
        if name == "TS_HUGE":
            return L.kernel_timespec(2**40, 0)
        # fds
        if name == "PIPE_R" or name == "PIPE_W":
            r, w = os.pipe()
            self._fd(r)
            self._fd(w)
            self.cache["PIPE_R"], self.cache["PIPE_W"] = r, w
            return r if name == "PIPE_R" else w
        if name == "FILE_FD":
            fd = os.open(os.path.join(self.sandbox, "file"), os.O_RDWR | os.O_CREAT, 0o600)
            os.pwrite(fd, b"0123456789abcdef" * 512, 0)
            return self._fd(fd)
        if name == "DIR_FD":
            return self._fd(os.open(self.sandbox, os.O_RDONLY | os.O_DIRECTORY))
        if name in ("SOCK_A", "SOCK_B"):
            a, b = socket.socketpair()
            a.setblocking(False)
            b.setblocking(False)
            self.objects += [a, b]
            self.cache["SOCK_A"], self.cache["SOCK_B"] = a.fileno(), b.fileno()
            self._fd(a.fileno())
            self._fd(b.fileno())
            return self.cache[name]
        if name == "EVENTFD":
            return self._fd(os.eventfd(0, os.EFD_NONBLOCK))
        if name == "RING_FD":
            return self.live.ring_fd
        if name == "BAD_FD":
            return 999_999
        # buffers
        buf = self._make_buffer(name)
        if buf is not None:
            return buf
        if name == "MV_SLICE":
            return memoryview(self._ba(4096))[1:100]
        if name == "ARRAY":
            return array.array("i", range(16))
        if name == "LIST_BUFS":
            return [self._ba(16), self._ba(32)]
        if name == "TUPLE_BUFS":
            return (self._ba(8),)
        if name == "LIST_REG":
            self.get("LIVE_RING")
            return [memoryview(self.registered[0])[:512], memoryview(self.registered[0])[1024:2048]]
        if name == "LIST_RO":
            return [b"read-only"]
        if name == "LIST_EMPTY":
            return []
        if name == "LIST_INTS":
            return [1, 2, 3]
        if name == "LIST_FDS":
            return [self.get("PIPE_R"), -1, self.get("FILE_FD")]
        if name == "LIST_JUNK":
            return [None, "x", 1.5]
        if name == "LIST_HUGE":
            return [2**70]
        if name == "GEN_BUFS":
            return (b for b in [self._ba(8), self._ba(8)])
        if name == "BAD_SEQ":
            return BadSeq()
        if name == "LYING_LEN":
            return _LyingLen()
        if name == "SIGNALS":
            return [signal.SIGUSR1, signal.SIGUSR2]
        if name == "BAD_SIGNALS":
            return [0, 10**6, -3]
        # paths (relative: the child runs in its sandbox directory)
        if name == "PATH_FILE":
            self.get("FILE_FD")
            return "file"
        if name == "PATH_DIR":
            os.makedirs(os.path.join(self.sandbox, "dir"), exist_ok=True)
            return "dir"
        # misc
        if name == "OBJ":
            return object()
        if name == "DICT":
            return {"a": 1}
        if name == "EXC_INDEX":
            return ExcIndex()
        if name == "INDEX3":
            return Index3()
        if name == "FUNC":
            return lambda *a: None
        if name.startswith("INST_"):
            return _instance(getattr(L, name[5:]), self)
        if name.startswith("RAW_"):
            t = getattr(L, name[4:])
            return t.__new__(t)
        raise KeyError(name)

    # -- teardown and its checks
    def _close_ring(self, r):
        if r.ring_fd is None:
            return None
        try:
            L.io_uring_queue_exit(r)
        except RuntimeError as exc:
            if "fork" not in str(exc):
                return f"io_uring_queue_exit failed: {exc!r}"
        except Exception as exc:
            return f"io_uring_queue_exit failed: {exc!r}"
        return None


def _instance(t, world):
    """A default-constructed instance of a library type (valid arguments where needed)."""
    name = t.__name__
    try:
        if name == "epoll_event_array":
            return t(4)
        if name == "futex_waitv":
            return t(0, world._ba(8), 0)
        if name == "io_uring_buf_reg":
            m = mmap.mmap(-1, 4096)
            world.objects.append(m)
            return t(m, 8, 3)
        if name == "io_uring_mem_region_reg":
            return t(L.io_uring_region_desc())
        if name == "io_uring_reg_wait_region":
            return t(1)
        if name == "sockaddr":
            return t(socket.AF_INET, ("127.0.0.1", 0))
        if name == "msghdr":
            return t()
        return t()
    except Exception:
        return None


# ---- strategies -------------------------------------------------------------------------------

INTERESTING_INTS = [0, 1, 2, 3, 7, 8, 16, 64, 255, 256, 4096, 65535, 65536, 2**31 - 1, 2**31,
                    2**32 - 1, 2**32, 2**63 - 1, 2**63, 2**64 - 1, 2**64, -1, -2, -4096, -2**31,
                    -2**31 - 1, -2**63, -2**64]
ints = st.one_of(st.sampled_from(INTERESTING_INTS), st.integers(-2**66, 2**66))
# fds never come from small ints: a junk fd 0..2**20 could be one of the test's own fds.
fd_ints = st.sampled_from([-1, -2, -2**31, 2**31 - 1, 2**32 - 1, 2**32, 2**63, 10**6])

T = Tok
FD_TOKS = [T("PIPE_R"), T("PIPE_W"), T("FILE_FD"), T("DIR_FD"), T("SOCK_A"), T("EVENTFD"),
           T("RING_FD"), T("BAD_FD")]
BUF_TOKS = [T("BA0"), T("BA1"), T("BA16"), T("BA4096"), T("BYTES16"), T("MV_RO"), T("MV_STRIDED"),
            T("MV_SLICE"), T("ARRAY"), T("MMAP"), T("REG_VIEW")]
SEQ_TOKS = [T("LIST_BUFS"), T("TUPLE_BUFS"), T("LIST_RO"), T("LIST_EMPTY"), T("LIST_INTS"),
            T("LIST_FDS"), T("LIST_JUNK"), T("LIST_HUGE"), T("GEN_BUFS"), T("BAD_SEQ"), T("LYING_LEN")]
RING_TOKS = [T("LIVE_RING"), T("LIVE_RING"), T("LIVE_RING2"), T("CQE32_RING"), T("CLOSED_RING"),
             T("UNINIT_RING")]
SQE_TOKS = [T("FRESH_SQE"), T("FRESH_SQE"), T("FRESH_SQE"), T("STALE_SQE"), T("CLOSED_SQE"),
            T("OTHER_SQE"), T("FREE_SQE")]
CQE_TOKS = [T("CQE_HEAD"), T("CQE_SEEN"), T("RAW_io_uring_cqe")]
TS_TOKS = [T("TS_SHORT"), T("TS_ZERO"), T("TS_NEG"), T("TS_BADNS"), T("TS_HUGE")]
PATHS = [T("PATH_FILE"), T("PATH_DIR"), "nofile", b"file", "", "a\0b", "x" * 5000, "/",
         "/nonexistent/x"]
MISC_TOKS = [T("OBJ"), T("DICT"), T("EXC_INDEX"), T("INDEX3"), T("FUNC"), T("SIGNALS"),
             T("BAD_SIGNALS"), T("PROBE"), T("PARAMS"), T("PARAMS_FILLED"), T("CQE_ITER"),
             T("BUF_RING")]
INSTANCE_TOKS = [T("INST_" + n) for n in TYPES if n not in ("io_uring", "io_uring_sqe")]
RAW_TOKS = [T("RAW_" + n) for n in TYPES] if RAW else []

junk = st.one_of(
    st.sampled_from([None, True, False, 1.5, float("nan"), float("inf"), "x", b"x", 2**200]),
    ints,
    st.sampled_from(FD_TOKS + BUF_TOKS + SEQ_TOKS + RING_TOKS + SQE_TOKS + CQE_TOKS + TS_TOKS
                    + MISC_TOKS + INSTANCE_TOKS + RAW_TOKS),
)
junk_fd_safe = st.one_of(
    st.sampled_from([None, True, 1.5, "x", b"x", 2**200]),
    fd_ints,
    st.sampled_from(FD_TOKS + BUF_TOKS + SEQ_TOKS + RING_TOKS + SQE_TOKS + TS_TOKS + MISC_TOKS
                    + INSTANCE_TOKS + RAW_TOKS),
)

FD_NAMES = re.compile(r"^(fd|sockfd|dfd|epfd|olddfd|newdfd|newdirfd|fd_in|fd_out|source_fd|"
                      r"target_fd|id)$")
BUF_NAMES = {"buf", "value", "optval", "addr", "futex", "ring_addr", "sqe_buf"}
SEQ_NAMES = {"iovecs", "files", "fds", "tags", "values", "res", "mask", "sigmask", "sig"}
PATH_NAMES = {"path", "oldpath", "newpath", "name", "target", "linkpath"}


def _tiers(fname, pname, ctype):
    """(valid, plausible) strategies for one argument: values the function most likely accepts,
    and values of the right kind at the edges (closed rings, stale SQEs, huge ints...)."""
    small = st.integers(0, 16)
    if ctype == "io_uring":
        if fname.startswith(("io_uring_queue_init", "io_uring_queue_mmap")):
            return st.just(T("UNINIT_RING")), st.sampled_from(RING_TOKS)
        return st.just(T("LIVE_RING")), st.sampled_from(RING_TOKS)
    if ctype == "io_uring_sqe" or (ctype is None and pname == "sqe"):
        return st.just(T("FRESH_SQE")), st.sampled_from(SQE_TOKS + [T("BA64")])
    if ctype == "io_uring_cqe":
        return st.just(T("CQE_HEAD")), st.sampled_from(CQE_TOKS)
    if ctype == "kernel_timespec" or pname == "ts":
        return st.just(T("TS_SHORT")), st.sampled_from(TS_TOKS + [None])
    if ctype in TYPES:
        return (st.just(T("INST_" + ctype)),
                st.sampled_from([T("INST_" + ctype), None] + ([T("RAW_" + ctype)] if RAW else [])))
    if FD_NAMES.match(pname):
        return (st.sampled_from([T("PIPE_R"), T("PIPE_W"), T("FILE_FD"), T("SOCK_A"), T("EVENTFD"), T("DIR_FD")]),
                st.one_of(st.sampled_from(FD_TOKS), fd_ints))
    if pname in PATH_NAMES:
        return st.sampled_from([T("PATH_FILE"), T("PATH_DIR"), "nofile"]), st.sampled_from(PATHS)
    if pname in BUF_NAMES:
        if "fixed" in fname:
            return (st.sampled_from([T("REG_VIEW"), T("REG_BUF1")]),
                    st.sampled_from(BUF_TOKS + [T("REG_VIEW"), T("REG_BUF1"), None]))
        return st.sampled_from([T("BA16"), T("BA4096"), T("MMAP")]), st.sampled_from(BUF_TOKS + [None])
    if pname in SEQ_NAMES:
        valid = {"iovecs": T("LIST_BUFS"), "files": T("LIST_FDS"), "fds": T("LIST_FDS"),
                 "sigmask": T("SIGNALS"), "sig": T("SIGNALS"), "mask": None}.get(pname, T("LIST_INTS"))
        if "fixed" in fname and pname == "iovecs":
            valid = T("LIST_REG")
        return st.just(valid), st.sampled_from(SEQ_TOKS + [T("LIST_REG"), None])
    if pname in ("buf_index", "file_index", "index", "off", "reg_index"):
        return st.integers(0, 2), ints
    return small, ints


def _strategy_for(fname, pname, ctype, mode):
    """mode 0: a valid value; 1: a plausible edge value; 2: anything, junk included."""
    valid, plausible = _tiers(fname, pname, ctype)
    if mode == 0:
        return valid
    if mode == 1:
        return plausible
    if FD_NAMES.match(pname):
        return st.one_of(valid, plausible, junk_fd_safe)
    return st.one_of(valid, plausible, junk)


# ---- one example ----------------------------------------------------------------------------

SQE_FIELDS = ("opcode", "fd", "off", "addr", "len", "rw_flags", "buf_index", "splice_fd_in",
              "addr3", "flags", "ioprio", "personality", "user_data")


def _snapshot(sqe):
    try:
        return tuple(getattr(sqe, f) for f in SQE_FIELDS)
    except Exception:
        return None


def run_example(fname, sandbox, raw_args):
    """Resolve ``raw_args`` in a fresh World, call ``fname``; assert the promises."""
    fn = getattr(L, fname)
    world = World(sandbox)
    problems = []
    try:
        args = world.resolve(list(raw_args))
        sqe_arg = next((a for a in args if isinstance(a, L.io_uring_sqe)), None)
        fresh = sqe_arg is not None and any(isinstance(t, Tok) and t.name.startswith("FRESH_SQE")
                                            for t in raw_args)
        before = _snapshot(sqe_arg) if fresh else None
        logline(f"{fname}{tuple(raw_args)!r}")
        timeout = WATCHDOG_BLOCKING if fname in BLOCKING else WATCHDOG_OTHER
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result, exc = call_watched(fn, args, timeout)
            if isinstance(exc, Blocked):
                if fname not in BLOCKING:
                    problems.append(f"blocked for more than {timeout} s")
            elif exc is not None:
                if isinstance(exc, SystemError) or not isinstance(exc, Exception):
                    problems.append("raised " + "".join(traceback.format_exception_only(exc)).strip())
                elif isinstance(exc, OverflowError) and not isinstance(exc, ValueError):
                    # DESIGN.md: a bad argument is a TypeError or a ValueError.
                    problems.append("raised an OverflowError that is not a ValueError: "
                                    + "".join(traceback.format_exception_only(exc)).strip())
                elif fname.startswith("io_uring_prep_") and before is not None:
                    after = _snapshot(sqe_arg)
                    if after is not None and after != before:
                        problems.append(f"raised {type(exc).__name__}({exc}) after writing the SQE: "
                                        f"{dict(zip(SQE_FIELDS, before))} -> {dict(zip(SQE_FIELDS, after))}")
            elif fname.startswith("io_uring_prep_") and fresh:
                problems += _submit_and_check_pins(fname, world, raw_args, args, sqe_arg)
            del result, exc
            problems += world.teardown()
            del args, sqe_arg
            gc.collect()
            leaked_on_purpose = any(issubclass(w.category, RuntimeWarning) and "kept alive" in str(w.message)
                                    for w in caught)
        if not leaked_on_purpose:
            stuck = [len(b) for b in world.bytearrays if not resizable(b)]
            if stuck:
                problems.append(f"{len(stuck)} bytearray(s) of sizes {stuck} still pinned after every ring "
                                f"was closed (a leaked pin)")
    finally:
        try:
            world.teardown()
        except Exception:
            pass
    assert not problems, f"{fname}{tuple(raw_args)!r}: " + "; ".join(problems)


BUFFER_PARAMS = {"buf", "value", "optval", "iovecs"}


def _submit_and_check_pins(fname, world, raw_args, args, sqe):
    """A prep succeeded on a fresh SQE of the live ring: submit it and check that the buffers
    it was handed stay pinned until its completion is consumed."""
    problems = []
    ring = world.live
    fn_params = [p for p in raw_args]
    try:
        L.io_uring_sqe_set_data64(sqe, 0x5EED)
    except ValueError:
        return problems          # e.g. the prep was given another ring's SQE
    # Only what the request uses: a list's first ``nr*`` items when a count argument follows.
    sig = _signature(getattr(L, fname))
    names = [n for n, _, _ in sig][:len(args)]
    counts = [a for n, a in zip(names, args) if n.startswith("nr") and isinstance(a, int)]
    watched = []
    for a in args:
        if isinstance(a, bytearray):
            watched.append(a)
        elif isinstance(a, list):
            used = a[:counts[0]] if counts else a
            watched += [x for x in used if isinstance(x, bytearray)]
    try:
        signal.setitimer(signal.ITIMER_REAL, WATCHDOG_OTHER)
        try:
            L.io_uring_submit(ring)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except OSError:
        return problems
    # Pinned now: submitted, completion (if any) not consumed.
    early = [len(b) for b in watched if resizable(b)]
    # Reap what completes quickly; multishot requests may post several CQEs.
    deadline = time.monotonic() + 0.02
    ts = L.kernel_timespec(0, 2_000_000)
    while time.monotonic() < deadline:
        cqe = L.io_uring_wait_cqe_timeout(ring, ts)
        if cqe is None:
            break
        L.io_uring_cqe_seen(ring, cqe)
    if early:
        # Only a problem if the buffer really is one the kernel may use: report what and let the
        # reader judge (the message names the function and the arguments).
        problems.append(f"bytearray(s) of sizes {early} passed to the prep were resizable while the "
                        f"request was in flight (not pinned)")
    del fn_params
    return problems


# ---- running the fuzz of one function in a child process ------------------------------------

def _fuzz_in_this_process(fname, sandbox):
    sig = _signature(getattr(L, fname))
    required = [s for s in sig if not s[2]]

    fuzz_arguments(len(required), len(sig),
                   lambda i, mode: _strategy_for(fname, sig[i][0], sig[i][1], mode),
                   lambda args: run_example(fname, sandbox, args))
    # The process is still healthy: a new ring does a NOP round trip.
    r = L.io_uring()
    L.io_uring_queue_init(4, r)
    sqe = L.io_uring_get_sqe(r)
    L.io_uring_prep_nop(sqe)
    L.io_uring_sqe_set_data64(sqe, 77)
    L.io_uring_submit(r)
    cqe = L.io_uring_wait_cqe_timeout(r, L.kernel_timespec(5, 0))
    assert cqe is not None and cqe.user_data == 77 and cqe.res == 0
    L.io_uring_cqe_seen(r, cqe)
    L.io_uring_queue_exit(r)


def _last_calls(calls, n=3):
    lines = [line for line in calls.splitlines() if line.strip()]
    # faulthandler's dump follows the last call line
    idx = max((i for i, line in enumerate(lines) if re.match(r"^_*io_uring_\w+\(", line)), default=-1)
    head = lines[max(0, idx - n + 1):idx + 1] if idx >= 0 else []
    tail = lines[idx + 1:idx + 40] if idx >= 0 else lines[-40:]
    return "\n".join(head + ["--- then:"] + tail)


@pytest.mark.parametrize("fname", FUNCTIONS)
def test_fuzz_function(fname):
    status, report, calls = run_in_child(_fuzz_in_this_process, fname)
    if status == "ok":
        return
    if status == "failed":
        pytest.fail(f"{fname}: an invariant failed\n{report[-6000:]}", pytrace=False)
    pytest.fail(f"{fname}: the process {status}. Last call(s) before it:\n{_last_calls(calls)}",
                pytrace=False)


def test_every_public_function_is_fuzzed():
    """The list is complete: every public function of the module (at least every io_uring_*)."""
    assert len(FUNCTIONS) >= 200
    missing = [n for n in dir(L) if n.startswith("io_uring_") and callable(getattr(L, n))
               and not isinstance(getattr(L, n), type) and n not in FUNCTIONS]
    assert not missing
    for fname in FUNCTIONS:     # every signature parses
        assert _signature(getattr(L, fname)) is not None


# ---- SQE fields assigned on live SQEs -----------------------------------------------------------
# C programs write sqe->field directly. Random sequences of assignments (every field and alias,
# any value: numbers, addresses of live memory, buffers, paths, C structs, junk) on an SQE a prep
# set up, then the SQE is submitted: each assignment must raise (leaving the SQE as it was) or
# be one the kernel can run without touching memory that is not pinned for the SQE. A canary
# bytearray whose address is among the numbers tried must be intact afterwards; buffers the SQE
# took must stay pinned while it is in flight and be released once the rings are closed.

SQE_FIELD_NAMES = sorted([n for n, v in vars(L.io_uring_sqe).items()
                          if type(v).__name__ == "_SqeField"] + ["flags", "user_data", "cmd"])
# Opcodes an assignment may try: every one but FALLOCATE (a huge random length could fill the
# disk of the machine), plus unknown ones.
FUZZ_OPCODES = sorted({getattr(L, n) for n in dir(L) if n.startswith("IORING_OP_") and n != "IORING_OP_LAST"}
                      - {L.IORING_OP_FALLOCATE}) + [200, 255]
CANARY_ADDRS = [T("ADDR_CANARY"), T("ADDR_CANARY+8"), T("ADDR_CANARY+4000")]

# What a prep leaves on the SQE before the assignments: (prep name, arguments as tokens).
SQE_SETUPS = {
    "nop": ("io_uring_prep_nop", []),
    "read": ("io_uring_prep_read", [T("PIPE_R"), T("BA64"), 64, -1]),
    "write": ("io_uring_prep_write", [T("FILE_FD"), T("BYTES16"), 16, 0]),
    "readv": ("io_uring_prep_readv", [T("FILE_FD"), T("LIST_BUFS"), None, 0]),
    "read_fixed": ("io_uring_prep_read_fixed", [T("FILE_FD"), T("REG_VIEW"), 512, 0, 0]),
    "send": ("io_uring_prep_send", [T("SOCK_A"), T("BA16"), 16, 0]),
    "send_vectorized": ("io_uring_prep_send", [T("SOCK_A"), T("LIST_BUFS"), 2, 0]),
    "recv": ("io_uring_prep_recv", [T("SOCK_B"), T("BA64"), 64, 0]),
    "timeout": ("io_uring_prep_timeout", [T("TS_SHORT"), 0, 0]),
    "timeout_update": ("io_uring_prep_timeout_update", [T("TS_SHORT"), 5, 0]),
    "statx": ("io_uring_prep_statx", [-100, T("PATH_FILE"), 0, 0xFFF, T("INST_statx")]),
    "openat": ("io_uring_prep_openat", [-100, "nofile", 0, 0]),
    "connect": ("io_uring_prep_connect", [T("SOCK_A"), T("INST_sockaddr")]),
    "accept": ("io_uring_prep_accept", [T("SOCK_A"), T("INST_sockaddr"), None, 0]),
    "sendmsg": ("io_uring_prep_sendmsg", [T("SOCK_A"), T("INST_msghdr"), 0]),
    "epoll_wait": ("io_uring_prep_epoll_wait", [T("EVENTFD"), T("INST_epoll_event_array")]),
    "files_update": ("io_uring_prep_files_update", [T("ARRAY"), 2, 0]),
    "futex_wait": ("io_uring_prep_futex_wait", [T("BA16"), 0, 0, L.FUTEX2_SIZE_U32, 0]),
    "provide_buffers": ("io_uring_prep_provide_buffers", [T("BA4096"), 64, 4, 3, 0]),
    "msg_ring": ("io_uring_prep_msg_ring", [T("RING_FD"), 0, 0x77, 0]),
    "cmd_discard": ("io_uring_prep_cmd_discard", [T("FILE_FD"), 0, 4096]),
    "getxattr": ("io_uring_prep_getxattr", ["user.x", T("BA64"), T("PATH_FILE")]),
    "splice": ("io_uring_prep_splice", [T("PIPE_R"), -1, T("PIPE_W"), -1, 8, 0]),
}

_field_values = st.one_of(
    st.sampled_from(INTERESTING_INTS), st.integers(-2**65, 2**65),
    st.sampled_from(CANARY_ADDRS + [T("ADDR_BA64"), T("ADDR_BA64+8"), None, 0, "file", b"file\0",
                                   "nofile", 1.5, "x" * 300]),
    st.sampled_from(BUF_TOKS + [T("BA64"), T("LIST_BUFS"), T("LIST_RO"), T("LIST_EMPTY"), T("LIST_INTS"),
                                T("TS_SHORT"), T("INST_statx"), T("INST_sockaddr"), T("INST_msghdr"),
                                T("INST_epoll_event"), T("INST_epoll_event_array"), T("INST_siginfo"),
                                T("INST_open_how"), T("OBJ"), T("FREE_SQE")]),
)


def _field_value_strategy(field):
    if field == "opcode":
        return st.one_of(st.sampled_from(FUZZ_OPCODES), st.sampled_from([-1, 256, None, T("BA16")]))
    if field in ("fd", "splice_fd_in", "file_index"):
        # never a small int: that could name one of the harness's own fds (see fd_ints)
        return st.one_of(st.sampled_from(FD_TOKS), fd_ints, st.sampled_from([0, None, T("BA16")]))
    if field == "len":
        return st.one_of(_field_values, st.integers(0, 5000), st.sampled_from([-14, 2**32 - 1]))
    return _field_values


@st.composite
def _assignments(draw):
    n = draw(st.integers(1, 8))
    out = []
    for _ in range(n):
        field = draw(st.sampled_from(SQE_FIELD_NAMES))
        out.append((field, draw(_field_value_strategy(field))))
    return out


def _sqe_bytes(sqe):
    """The SQE's 64 bytes as the fields show them (what a refused assignment must not change)."""
    out = []
    for name in ("opcode", "flags", "ioprio", "fd", "off", "addr", "len", "rw_flags", "user_data",
                 "buf_index", "personality", "splice_fd_in", "addr3", "attr_type_mask"):
        out.append(getattr(sqe, name))
    return tuple(out)


def run_field_example(setup, sandbox, free, assignments):
    world = World(sandbox)
    problems = []
    try:
        canary = world.get("CANARY")
        sqe = world.get("FREE_SQE" if free else "FRESH_SQE")
        prep, raw_args = SQE_SETUPS[setup]
        args = world.resolve(list(raw_args))
        logline(f"{prep}(sqe, {raw_args!r}) [{'free' if free else 'ring'} SQE]")
        getattr(L, prep)(sqe, *args)
        taken = [a for a in args if isinstance(a, bytearray)]
        taken += [b for a in args if isinstance(a, list) for b in a if isinstance(b, bytearray)]
        for field, raw in assignments:
            value = world.resolve(raw)
            before = _sqe_bytes(sqe)
            logline(f"io_uring_sqe_field: sqe.{field} = {raw!r}")
            _, exc = call_watched(setattr, (sqe, field, value), WATCHDOG_OTHER)
            if exc is None:
                if isinstance(value, bytearray):
                    taken.append(value)
                elif isinstance(value, list):
                    taken += [b for b in value if isinstance(b, bytearray)]
                continue
            if isinstance(exc, SystemError) or not isinstance(exc, Exception) or isinstance(exc, Blocked):
                problems.append(f"sqe.{field} = {raw!r} raised "
                                + "".join(traceback.format_exception_only(exc)).strip())
            elif isinstance(exc, OverflowError) and not isinstance(exc, ValueError):
                problems.append(f"sqe.{field} = {raw!r}: an OverflowError that is not a ValueError")
            elif _sqe_bytes(sqe) != before:
                problems.append(f"sqe.{field} = {raw!r} raised {type(exc).__name__}({exc}) after "
                                f"changing the SQE")
            exc = None          # its traceback holds the SQE (and a free SQE's pins) alive
        if not free:
            L.io_uring_sqe_set_data64(sqe, 0x5EED)
            logline("io_uring_submit(LIVE_RING) after the assignments")
            _, exc = call_watched(L.io_uring_submit, (world.live,), WATCHDOG_OTHER)
            if exc is None:
                early = [len(b) for b in taken if resizable(b)]
                if early:
                    problems.append(f"bytearray(s) of sizes {early} the SQE took were resizable while "
                                    "it was in flight")
                ts = L.kernel_timespec(0, 2_000_000)
                deadline = time.monotonic() + 0.02
                while time.monotonic() < deadline:
                    cqe = L.io_uring_wait_cqe_timeout(world.live, ts)
                    if cqe is None:
                        break
                    L.io_uring_cqe_seen(world.live, cqe)
            elif not isinstance(exc, OSError):
                problems.append(f"io_uring_submit raised {exc!r}")
            exc = None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            problems += world.teardown()
            del sqe, args, value
            gc.collect()
        if canary != bytearray(b"\xa5") * 4096:
            problems.append("the kernel wrote into the canary, memory no SQE was given")
        leaked_on_purpose = any(issubclass(w.category, RuntimeWarning) and "kept alive" in str(w.message)
                                for w in caught)
        if not leaked_on_purpose:
            stuck = [len(b) for b in world.bytearrays + taken if not resizable(b)]
            if stuck:
                problems.append(f"bytearrays of sizes {stuck} still pinned after every ring was closed")
    finally:
        try:
            world.teardown()
        except Exception:
            pass
    assert not problems, f"{setup} then {assignments!r}: " + "; ".join(problems)


def _fuzz_fields_in_this_process(setup, sandbox):
    from hypothesis import HealthCheck, Phase, given, settings

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=not RANDOM_FIELDS,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate, Phase.shrink],
              report_multiple_bugs=False)
    @given(st.booleans(), _assignments())
    def fuzz(free, assignments):
        run_field_example(setup, sandbox, free and draw_free(setup), assignments)

    fuzz()


def draw_free(setup):
    """Free-standing SQEs take every prep but read_fixed (it needs the ring's registered buffers)."""
    return setup != "read_fixed"


@pytest.mark.parametrize("setup", sorted(SQE_SETUPS))
def test_fuzz_sqe_field_assignments(setup):
    status, report, calls = run_in_child(_fuzz_fields_in_this_process, setup)
    if status == "ok":
        return
    if status == "failed":
        pytest.fail(f"fields after {setup}: an invariant failed\n{report[-6000:]}", pytrace=False)
    pytest.fail(f"fields after {setup}: the process {status}. Last step(s):\n"
                f"{chr(10).join(calls.splitlines()[-12:])}", pytrace=False)


# ---- uninitialized instances of the library's types --------------------------------------------

def _poke_raw_instance(tname, sandbox):
    """T.__new__(T) (what a subclass, copy/pickle or a careless caller produces): every
    attribute, repr, and every function taking a T must raise or work, never crash."""
    t = getattr(L, tname)
    try:
        obj = t.__new__(t)
    except TypeError:
        return      # the type cannot be created without its arguments: nothing to poke
    logline(f"io_uring_raw_instance: {tname}.__new__({tname})")
    for attr in sorted(dir(obj)):
        if attr.startswith("__") and attr not in ("__repr__", "__str__", "__len__", "__iter__",
                                                   "__getitem__", "__bytes__"):
            continue
        logline(f"io_uring_raw_instance: {tname}().{attr}")
        try:
            value = getattr(obj, attr)
            if callable(value) and attr in ("__repr__", "__str__", "__len__", "__iter__", "__bytes__"):
                value()
            elif callable(value) and attr == "__getitem__":
                value(0)
        except Exception:
            pass
    world = World(sandbox)
    try:
        for fname in FUNCTIONS:
            sig = _signature(getattr(L, fname))
            for i, (pname, ctype, _) in enumerate(sig):
                if ctype != tname and not (tname == "io_uring_sqe" and pname == "sqe"):
                    continue
                args = []
                for j, (pn, ct, _) in enumerate(sig):
                    if j == i:
                        args.append(obj)
                    elif ct == "io_uring":
                        args.append(world.live)
                    elif ct == "io_uring_sqe" or pn == "sqe":
                        args.append(world.get("FRESH_SQE"))
                    elif ct in TYPES:
                        args.append(None)     # only the object under test may be broken
                    elif FD_NAMES.match(pn):
                        args.append(world.get("PIPE_R"))
                    elif pn in BUF_NAMES:
                        args.append(world._ba(64))
                    elif pn in PATH_NAMES:
                        args.append("nofile")
                    else:
                        args.append(1)
                logline(f"{fname}(<{tname}.__new__> at {i}, ...)")
                _, exc = call_watched(getattr(L, fname), args, WATCHDOG_BLOCKING)
    finally:
        world.teardown()


@pytest.mark.parametrize("tname", TYPES)
def test_uninitialized_instance_is_safe(tname):
    status, report, calls = run_in_child(_poke_raw_instance, tname, timeout=60)
    if status == "ok":
        return
    if status == "failed":
        pytest.fail(f"{tname}: {report[-4000:]}", pytrace=False)
    pytest.fail(f"{tname}.__new__({tname}) made the process {status}. Last step(s):\n"
                f"{_last_calls(calls) if calls else '(none logged)'}", pytrace=False)


# ---- deterministic reproducers of what the fuzzing found ----------------------------------------

def run_py(code, timeout=60):
    """Run ``code`` in a fresh interpreter (cwd: the repository); returns the CompletedProcess."""
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONFAULTHANDLER"] = "1"
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _assert_clean(proc, what):
    if proc.returncode < 0:
        pytest.fail(f"{what}: the interpreter died with {signal.Signals(-proc.returncode).name}\n"
                    f"{proc.stderr[-3000:]}", pytrace=False)
    assert proc.returncode == 0, f"{what}:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"


@pytest.mark.parametrize("expr", [
    "L.io_uring_prep_nop(L.io_uring_sqe())",
    "L.io_uring_sqe().opcode",
    "repr(L.io_uring_sqe())",
    "L.io_uring_sqe_set_data64(L.io_uring_sqe(), 1)",
    "L.io_uring_register_sync_msg(L.io_uring_sqe())",
    "L.io_uring_cqe_iter_next(L.io_uring_cqe_iter())",
    "repr(L.cmsghdr())",
    "repr(L.io_uring_recvmsg_out())",
    "L.io_uring_recvmsg_name(L.io_uring_recvmsg_out())",
    "L.io_uring_reg_wait.__new__(L.io_uring_reg_wait).flags",
])
def test_public_constructors_cannot_make_crashing_objects(expr):
    """Calling a type of the module directly must give an object that raises (or works) when
    used, never a NULL dereference. (Found by the fuzzing: the SQE has no ring, the iterator
    no ring, the cmsghdr/recvmsg_out no memory.)"""
    proc = run_py(f"""
        from ioring import liburing as L
        try:
            {expr}
        except Exception as exc:
            print("raised", type(exc).__name__, exc)
    """)
    _assert_clean(proc, expr)


def test_raw_register_cannot_write_past_its_buffer():
    """io_uring_register(2) with a buffer smaller than what ``nr_args`` tells the kernel: the
    kernel writes sizeof(struct io_uring_probe) + nr_args * 8 bytes. Given 16 bytes (a slice of
    a larger bytearray here, so the overflow lands in a canary instead of the heap), nothing
    past the 16 bytes may change: the call must be refused (ValueError) or limited."""
    ring = L.io_uring()
    L.io_uring_queue_init(4, ring)
    try:
        # (Zeroes, not a pattern: the kernel refuses a probe that is not all zero, and it checks
        # the whole 16 + 64 * 8 bytes it was told about.)
        big = bytearray(4096)
        try:
            L.io_uring_register(ring.ring_fd, L.IORING_REGISTER_PROBE, memoryview(big)[:16], 64)
        except (ValueError, TypeError, OSError):
            pass
        assert big[16:] == bytes(4096 - 16), \
            "the kernel wrote past the 16-byte buffer given to io_uring_register (heap overflow)"
    finally:
        L.io_uring_queue_exit(ring)


def test_stale_cqe_from_a_previous_incarnation_cannot_release_pins():
    """A CQE copy taken before io_uring_queue_exit + io_uring_queue_init of the same io_uring
    object must not be accepted by io_uring_cqe_seen afterwards: its position matches the new
    ring's head, so it would advance an empty CQ (head past tail) and release the pins of the
    request whose user_data is in the (zeroed) slot, here a read still in flight."""
    proc = run_py("""
        import os
        from ioring import liburing as L
        ring = L.io_uring()
        L.io_uring_queue_init(8, ring)
        sqe = L.io_uring_get_sqe(ring)
        L.io_uring_prep_nop(sqe)
        L.io_uring_sqe_set_data64(sqe, 5)
        L.io_uring_submit(ring)
        old = L.io_uring_wait_cqe(ring)              # position 0, not consumed
        L.io_uring_queue_exit(ring)
        L.io_uring_queue_init(8, ring)               # same object, new ring: head 0 again
        r, w = os.pipe()
        buf = bytearray(64)
        sqe = L.io_uring_get_sqe(ring)
        L.io_uring_prep_read(sqe, r, buf, 64, -1)
        L.io_uring_sqe_set_data64(sqe, 0)            # the zeroed CQ slot holds user_data 0
        L.io_uring_submit(ring)
        try:
            L.io_uring_cqe_seen(ring, old)
            accepted = True
        except ValueError:
            accepted = False
        try:
            buf.append(1)
            released = True
        except BufferError:
            released = False
        ready = L.io_uring_cq_ready(ring)
        print("accepted", accepted, "released", released, "cq_ready", ready)
        assert not accepted, f"a CQE of the previous ring was accepted (cq_ready now {ready})"
        assert not released, "the read's buffer was released while the read is in flight"
    """)
    _assert_clean(proc, "stale CQE after re-init")


def test_stale_sqe_from_a_previous_incarnation_is_refused():
    """An SQE object handed out before io_uring_queue_exit + io_uring_queue_init of the same
    io_uring object must stay stale: it must not alias the SQEs of the new ring."""
    ring = L.io_uring()
    L.io_uring_queue_init(8, ring)
    old = L.io_uring_get_sqe(ring)
    L.io_uring_queue_exit(ring)
    L.io_uring_queue_init(8, ring)
    try:
        new = L.io_uring_get_sqe(ring)
        L.io_uring_prep_nop(new)
        L.io_uring_sqe_set_data64(new, 1)
        with pytest.raises((ValueError, RuntimeError)):
            L.io_uring_sqe_set_data64(old, 2)        # would rewrite the new ring's SQE 0
        assert new.user_data == 1
    finally:
        L.io_uring_queue_exit(ring)


def test_two_io_uring_objects_over_one_kernel_ring_are_refused():
    """io_uring_queue_mmap of a ring fd that another io_uring object already owns makes two
    objects share one SQ/CQ with separate pin tracking (and both close the fd). It must be
    refused."""
    proc = run_py("""
        from ioring import liburing as L
        p = L.io_uring_params()
        a = L.io_uring()
        L.io_uring_queue_init_params(8, a, p)
        b = L.io_uring()
        try:
            L.io_uring_queue_mmap(a.ring_fd, p, b)
        except (ValueError, OSError) as exc:
            print("refused", exc)
        else:
            raise SystemExit("io_uring_queue_mmap accepted the fd of a ring another io_uring owns")
    """)
    _assert_clean(proc, "queue_mmap of an owned fd")


MSG_RING_SPOOF = """
    import os
    from ioring import liburing as L
    a = L.io_uring()
    L.io_uring_queue_init(8, a)
    b = L.io_uring()
    L.io_uring_queue_init(8, b)
    r, w = os.pipe()
    buf = bytearray(16)
    sqe = L.io_uring_get_sqe(a)
    L.io_uring_prep_read(sqe, r, buf, 16, -1)      # in flight on ring a: buf pinned
    L.io_uring_sqe_set_data64(sqe, 0x77)
    L.io_uring_submit(a)
    {send}
    cqe = L.io_uring_wait_cqe_timeout(a, L.kernel_timespec(5, 0))
    assert cqe is not None and cqe.user_data == 0x77 and cqe.res == 0, cqe   # the message
    L.io_uring_cqe_seen(a, cqe)
    try:
        buf.append(0)
        released = True
    except BufferError:
        released = False
    L.io_uring_queue_exit(a)     # cancels the read before anything is written to the pipe
    L.io_uring_queue_exit(b)
    assert not released, "the read's buffer was released by a MSG_RING completion with its user_data"
"""


@pytest.mark.parametrize("how", ["dup_fd", "sync_msg_bytes"])
def test_msg_ring_with_a_requests_user_data_cannot_release_its_pins(how):
    """A MSG_RING posts a CQE with any user_data into another ring. io_uring_prep_msg_ring
    announces it to the target io_uring when it knows the target by its fd; here the target is
    reached another way (a dup of its fd; io_uring_register_sync_msg with a hand-made SQE), and
    the CQE must still not count as the completion of the target's read with that user_data
    (which would release the read's buffer while it is in flight). (A registered ring fd as
    the IOSQE_FIXED_FILE target is impossible: the kernel refuses to register io_uring fds.)"""
    send = {
        "dup_fd": """
    s = L.io_uring_get_sqe(b)
    L.io_uring_prep_msg_ring(s, os.dup(a.ring_fd), 0, 0x77, 0)
    L.io_uring_sqe_set_data64(s, 1)
    L.io_uring_submit(b)
""",
        "sync_msg_bytes": """
    import struct
    raw = bytearray(64)
    raw[0] = L.IORING_OP_MSG_RING
    struct.pack_into("i", raw, 4, a.ring_fd)           # fd
    struct.pack_into("Q", raw, 8, 0x77)                # off: the target's user_data
    L.io_uring_register_sync_msg(bytes(raw))
""",
    }[how]
    code = textwrap.dedent(MSG_RING_SPOOF).replace("{send}", textwrap.dedent(send).strip().replace("\n", "\n"))
    proc = run_py(code)
    _assert_clean(proc, f"MSG_RING spoof via {how}")
