"""Stateful fuzzing of the thin layer: random sequences of get_sqe / prep (nop, read from a pipe
or a file, readv, write, read_fixed, timeout) / set_data64 / submit / wait / peek / cqe_seen /
cq_advance / register and unregister buffers and files / queue_exit and re-init, on small rings
(4 or 8 entries), against a model of what must happen.

Invariants checked after every step:
* every submitted request completes exactly once: each request carries a unique user_data
  (requests left at user_data 0 are counted as a group, as the library tracks them), and a
  completion that is unknown, or seen twice, fails;
* no buffer is released early: a bytearray used by a prepared SQE, by a request whose completion
  has not been consumed, or by the buffer registration, cannot be resized (BufferError);
* nothing is kept for nothing: once every request that used a bytearray has been consumed (and it
  is not registered), it can be resized again;
* at the end, after feeding the pipe, every request still in flight completes, and after
  io_uring_queue_exit every bytearray is free.

SQE fields are assigned at random as C programs assign them (any field the kernel may read, any
value: numbers, addresses of live memory including two canaries, buffers): an assignment either
raises and leaves the SQE as it was, or the request becomes whatever its fields now say (its
result is not checked, only that it completes once), with every buffer it took pinned until its
completion; the canaries, never handed to anything, must never change.

Two machines: ``CoreMachine`` waits only when no SQE is prepared-but-unsubmitted, and drops
SQE/CQE objects when the ring is re-initialized; ``FullMachine`` also waits with SQEs pending
(liburing's waits never submit, so those SQEs must stay preparable) and keeps using SQE and CQE
objects of the previous incarnation of the ring after queue_exit + queue_init (they must be
refused, not alias the new ring).
"""
import errno
import os
import tempfile
import time

import pytest
from helpers import address_of, resizable
from hypothesis import HealthCheck, Phase, event, settings, strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant, precondition,
                                 rule)

from ioring import liburing as L

FILE_SIZE = 64 * 1024
EXAMPLES = int(os.environ.get("IORING_STATEFUL_EXAMPLES", "300"))
STEPS = int(os.environ.get("IORING_STATEFUL_STEPS", "60"))
# Shrinking a failure of FullMachine can cost minutes (a failing example may stall 10 s in
# io_uring_queue_exit); it is off unless asked for.
SHRINK = os.environ.get("IORING_STATEFUL_SHRINK") == "1"
RANDOM = os.environ.get("IORING_STATEFUL_RANDOM") == "1"      # explore beyond the fixed seed


class Req:
    __slots__ = ("sqe", "kind", "ud", "bufs", "size", "fixed_file")

    def __init__(self, sqe):
        self.sqe = sqe
        self.kind = None          # None: never prepared (a zeroed SQE: a NOP)
        self.ud = 0
        self.bufs = []
        self.size = 0
        self.fixed_file = False

    def __repr__(self):
        return f"Req({self.kind}, ud={self.ud}, size={self.size})"


class CoreMachine(RuleBasedStateMachine):
    WAIT_WITH_PENDING = False
    STALE_ACROSS_REINIT = False

    def __init__(self):
        super().__init__()
        self.tmp = tempfile.mkdtemp(prefix="ioring-stateful-")
        path = os.path.join(self.tmp, "data")
        self.file_fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        os.pwrite(self.file_fd, bytes(range(256)) * (FILE_SIZE // 256), 0)
        self.r, self.w = os.pipe()
        self.ring = None
        self.next_ud = 1
        self.pending = []          # Req: handed out, not submitted
        self.inflight = {}         # ud -> Req: submitted, completion not consumed
        self.anon = []             # submitted requests with user_data 0 (tracked as a group)
        self.done = set()          # user_data of consumed completions
        self.head_cqe = None       # a CQE copy at the head of the CQ, not consumed
        self.uses = {}             # id(bytearray) -> number of users (requests, registration)
        self.objs = {}             # id -> bytearray (every one ever used)
        self.free_check = []       # bytearrays whose last user just went away
        self.registered = None     # bytearrays registered with io_uring_register_buffers
        self.files_registered = False
        self.old_sqes = []         # SQE objects already submitted
        self.old_cqes = []         # CQE copies already consumed
        self.mangled_waiting = False   # a refused mangled SQE left SQEs in the SQ
        # Memory no request is ever given; their addresses are among the numbers fields get.
        self.canaries = [bytearray(b"\xa5") * 512 for _ in range(2)]
        self.canary_addrs = [address_of(c) + k for c in self.canaries for k in (0, 8, 500)]

    # ---- buffer bookkeeping ---------------------------------------------------------------------

    def _use(self, b):
        self.objs[id(b)] = b
        self.uses[id(b)] = self.uses.get(id(b), 0) + 1

    def _unuse(self, b):
        n = self.uses[id(b)] - 1
        self.uses[id(b)] = n
        if n == 0:
            self.free_check.append(b)

    def _new_buf(self, size):
        b = bytearray(size)
        self.objs[id(b)] = b
        return b

    # ---- lifetime -------------------------------------------------------------------------------

    def _init_ring(self, entries):
        self.ring = L.io_uring()
        L.io_uring_queue_init(entries, self.ring)
        self.entries = entries

    @initialize(entries=st.sampled_from([4, 8]))
    def init(self, entries):
        self._init_ring(entries)

    def teardown(self):
        try:
            if self.ring is not None and self.ring.ring_fd is not None:
                self._drain()
                L.io_uring_queue_exit(self.ring)
                stuck = [len(b) for b in self.objs.values() if not resizable(b)]
                assert not stuck, f"bytearrays still pinned after io_uring_queue_exit: sizes {stuck}"
        finally:
            for fd in (self.file_fd, self.r, self.w):
                try:
                    os.close(fd)
                except OSError:
                    pass
            import shutil
            shutil.rmtree(self.tmp, ignore_errors=True)

    def _drain(self):
        """Submit what is pending, feed the pipe, and reap until nothing is in flight: every
        request must complete (exactly once: _consume checks)."""
        for req in list(self.pending):
            if req.kind is None:
                L.io_uring_prep_nop(req.sqe)
                req.kind = "nop"
        if self.pending:
            self._submit()
        self.head_cqe = None
        ts = L.kernel_timespec(0, 20_000_000)
        deadline = time.monotonic() + 3
        while (self.inflight or self.anon) and time.monotonic() < deadline:
            # (Which anonymous request a user_data-0 completion was is a guess: feed the pipe
            # as long as any anonymous request is left.)
            pipe_reads = sum(1 for q in self.inflight.values() if q.kind in ("read_pipe", "mangled")) \
                + len(self.anon)
            if any(q.kind == "mangled" for q in list(self.inflight.values()) + self.anon):
                self._empty_pipe()       # a mangled write into the pipe may wait for room
            if pipe_reads:
                os.write(self.w, b"z" * pipe_reads)
            if L.io_uring_sq_ready(self.ring):
                L.io_uring_submit(self.ring)     # what a refused SQE left in the SQ
            cqe = L.io_uring_wait_cqe_timeout(self.ring, ts)
            if cqe is not None:
                self._consume(cqe)
                L.io_uring_cqe_seen(self.ring, cqe)
        missing = sorted(self.inflight) + (["%d anonymous" % len(self.anon)] if self.anon else [])
        assert not missing, f"requests never completed: {missing}"

    def _empty_pipe(self):
        os.set_blocking(self.r, False)
        try:
            while os.read(self.r, 65536):
                pass
        except BlockingIOError:
            pass
        finally:
            os.set_blocking(self.r, True)

    # ---- SQEs -----------------------------------------------------------------------------------

    @precondition(lambda self: self.ring is not None)
    @rule()
    def get_sqe(self):
        sqe = L.io_uring_get_sqe(self.ring)
        if sqe is None:
            assert len(self.pending) + L.io_uring_sq_ready(self.ring) - len(self.pending) >= 0
            assert L.io_uring_sq_space_left(self.ring) == 0, "get_sqe returned None with space left"
            return
        assert sqe.opcode == L.IORING_OP_NOP and sqe.user_data == 0
        self.pending.append(Req(sqe))

    # Draws never depend on state that timing decides (which completions have arrived):
    # hypothesis replays a failing example and needs the same draws. Indexes are drawn from a
    # fixed range and reduced modulo the current length.
    @staticmethod
    def _index(data, n):
        i = data.draw(st.integers(0, 63))
        return i % n if n else None

    def _pick(self, data):
        return self.pending[self._index(data, len(self.pending))]

    def _reprep(self, req, kind, bufs, size=0):
        for b in req.bufs:
            self._unuse(b)
        req.kind, req.bufs, req.size = kind, bufs, size
        req.fixed_file = False
        # flags and personality survive a prep (as in liburing); a personality assign_field left
        # would make the kernel refuse the new request (EINVAL: no such personality).
        L.io_uring_sqe_set_flags(req.sqe, 0)
        req.sqe.personality = 0
        for b in bufs:
            self._use(b)

    def _reusable_or_new(self, data, size):
        """Sometimes reuse a bytearray that is free now (its earlier request was consumed)."""
        free = [b for i, b in self.objs.items() if self.uses.get(i, 0) == 0 and len(b) >= size]
        reuse = data.draw(st.booleans())
        k = self._index(data, len(free))
        if free and reuse:
            return free[k]
        return self._new_buf(size)

    @precondition(lambda self: self.pending)
    @rule(data=st.data())
    def prep_nop(self, data):
        req = self._pick(data)
        L.io_uring_prep_nop(req.sqe)
        self._reprep(req, "nop", [])

    @precondition(lambda self: self.pending)
    @rule(data=st.data(), size=st.integers(1, 512))
    def prep_read_pipe(self, data, size):
        req = self._pick(data)
        buf = self._reusable_or_new(data, size)
        L.io_uring_prep_read(req.sqe, self.r, buf, size, -1)
        self._reprep(req, "read_pipe", [buf], size)

    @precondition(lambda self: self.pending)
    @rule(data=st.data(), size=st.integers(1, 8192), offset=st.integers(0, FILE_SIZE))
    def prep_read_file(self, data, size, offset):
        req = self._pick(data)
        buf = self._reusable_or_new(data, size)
        L.io_uring_prep_read(req.sqe, self.file_fd, buf, size, offset)
        self._reprep(req, "read_file", [buf], min(size, FILE_SIZE - offset))

    @precondition(lambda self: self.pending)
    @rule(data=st.data(), sizes=st.lists(st.integers(1, 1024), min_size=1, max_size=4))
    def prep_readv_file(self, data, sizes):
        req = self._pick(data)
        bufs = [self._new_buf(s) for s in sizes]
        L.io_uring_prep_readv(req.sqe, self.file_fd, bufs, None, 0)
        self._reprep(req, "read_file", bufs, sum(sizes))

    @precondition(lambda self: self.pending)
    @rule(data=st.data(), size=st.integers(1, 1024), offset=st.integers(0, FILE_SIZE - 1024))
    def prep_write_file(self, data, size, offset):
        # Rewrites the file with the bytes it already holds: reads stay predictable.
        req = self._pick(data)
        buf = self._reusable_or_new(data, size)
        buf[:size] = os.pread(self.file_fd, size, offset)
        L.io_uring_prep_write(req.sqe, self.file_fd, buf, size, offset)
        self._reprep(req, "write_file", [buf], size)

    @precondition(lambda self: self.pending)
    @rule(data=st.data(), ns=st.integers(10_000, 3_000_000))
    def prep_timeout(self, data, ns):
        req = self._pick(data)
        L.io_uring_prep_timeout(req.sqe, L.kernel_timespec(0, ns), 0, 0)
        self._reprep(req, "timeout", [])

    @precondition(lambda self: self.pending and self.registered)
    @rule(data=st.data())
    def prep_read_fixed(self, data):
        req = self._pick(data)
        k = self._index(data, len(self.registered))
        reg = self.registered[k]
        start = data.draw(st.integers(0, 2**20)) % len(reg)
        n = 1 + data.draw(st.integers(0, 2**20)) % (len(reg) - start)
        view = memoryview(reg)[start:start + n]
        L.io_uring_prep_read_fixed(req.sqe, self.file_fd, view, n, 0, k)
        self._reprep(req, "read_fixed", [reg], n)  # the view pins the registered bytearray

    @precondition(lambda self: self.pending and self.files_registered)
    @rule(data=st.data(), size=st.integers(1, 4096))
    def prep_read_fixed_file(self, data, size):
        req = self._pick(data)
        buf = self._new_buf(size)
        L.io_uring_prep_read(req.sqe, 0, buf, size, 0)      # index 0 of the registered files
        self._reprep(req, "read_file", [buf], size)
        L.io_uring_sqe_set_flags(req.sqe, L.IOSQE_FIXED_FILE)
        req.fixed_file = True

    @precondition(lambda self: self.pending)
    @rule(data=st.data())
    def set_data64(self, data):
        req = self._pick(data)
        req.ud = self.next_ud
        self.next_ud += 1
        L.io_uring_sqe_set_data64(req.sqe, req.ud)
        assert req.sqe.user_data == req.ud

    @precondition(lambda self: self.pending)
    @rule(data=st.data())
    def bad_prep_leaves_sqe_alone(self, data):
        """A prep with a bad argument raises before the SQE changes (and keeps its pins)."""
        req = self._pick(data)
        before = (req.sqe.opcode, req.sqe.fd, req.sqe.addr, req.sqe.len, req.sqe.off)
        with pytest.raises((TypeError, ValueError)):
            L.io_uring_prep_read(req.sqe, self.r, b"read-only", 4, 0)
        with pytest.raises((TypeError, ValueError)):
            L.io_uring_prep_read(req.sqe, self.r, bytearray(4), 5, 0)
        assert (req.sqe.opcode, req.sqe.fd, req.sqe.addr, req.sqe.len, req.sqe.off) == before

    # Fields a C program may assign, opcodes a mangled request may become (each completes on
    # its own with this machine's fds: no multishot, no waiting on a peer) and fd values.
    FIELDS = ("opcode", "fd", "off", "addr2", "addr", "splice_off_in", "level", "len", "rw_flags",
              "nop_flags", "msg_flags", "ioprio", "buf_index", "personality", "splice_fd_in",
              "file_index", "addr3", "optval", "attr_ptr", "attr_type_mask", "cmd_op")
    OPCODES = (L.IORING_OP_NOP, L.IORING_OP_READ, L.IORING_OP_WRITE, L.IORING_OP_READV,
               L.IORING_OP_WRITEV, L.IORING_OP_FSYNC, L.IORING_OP_FADVISE, L.IORING_OP_READ_FIXED,
               L.IORING_OP_WRITE_FIXED, L.IORING_OP_SEND, L.IORING_OP_RECV, L.IORING_OP_STATX,
               L.IORING_OP_SYNC_FILE_RANGE, L.IORING_OP_EPOLL_CTL, L.IORING_OP_SENDMSG,
               L.IORING_OP_SHUTDOWN, 200)

    def _field_value(self, data, field, req):
        kind = data.draw(st.integers(0, 9))
        if field == "opcode":
            return data.draw(st.sampled_from(self.OPCODES))
        if field in ("fd", "splice_fd_in"):
            return data.draw(st.sampled_from([self.file_fd, self.r, self.w, -1, 12345]))
        if kind <= 2:
            return data.draw(st.sampled_from([0, 1, 7, 16, 512, 4096, 2**31, 2**32 - 1, 2**63, -1, -14]))
        if kind <= 4:                              # an address: a canary's or a live buffer's
            live = [b for b in req.bufs if isinstance(b, bytearray) and len(b)]
            addrs = self.canary_addrs + [address_of(b) for b in live]
            return addrs[self._index(data, len(addrs))]
        if kind == 5:
            return None
        if kind == 6:
            return b"data\0"
        if kind == 7:
            return [self._new_buf(data.draw(st.integers(1, 64))) for _ in range(data.draw(st.integers(1, 3)))]
        return self._new_buf(data.draw(st.integers(1, 1024)))

    @precondition(lambda self: self.pending)
    @rule(data=st.data())
    def assign_field(self, data):
        req = self._pick(data)
        field = data.draw(st.sampled_from(self.FIELDS))
        value = self._field_value(data, field, req)
        before = [getattr(req.sqe, f) for f in ("opcode", "fd", "off", "addr", "len", "rw_flags",
                                                 "ioprio", "buf_index", "splice_fd_in", "addr3")]
        try:
            setattr(req.sqe, field, value)
        except (TypeError, ValueError):
            after = [getattr(req.sqe, f) for f in ("opcode", "fd", "off", "addr", "len", "rw_flags",
                                                    "ioprio", "buf_index", "splice_fd_in", "addr3")]
            assert after == before, f"a refused sqe.{field} = {value!r} changed the SQE"
            event("field assignment refused")
            return
        event("field assignment accepted")
        # The request is whatever its fields say now; what it took stays pinned until it completes.
        req.kind = "mangled"
        for b in value if isinstance(value, list) else [value]:
            if isinstance(b, bytearray):
                self._use(b)
                req.bufs.append(b)

    # ---- submit ---------------------------------------------------------------------------------

    def _submit(self):
        waiting = L.io_uring_sq_ready(self.ring)    # prepared now + left in the SQ by a submit
        mangled = self.mangled_waiting or any(q.kind == "mangled" for q in self.pending)
        n = L.io_uring_submit(self.ring)
        # The kernel stops at an SQE it refuses outright (an unknown opcode...), as in C: the
        # rest stays in the SQ for the next submit. Only SQEs assign_field mangled are refused.
        assert n == waiting or (mangled and n < waiting), \
            f"io_uring_submit returned {n}, {waiting} were prepared"
        self.mangled_waiting = mangled and L.io_uring_sq_ready(self.ring) > 0
        for req in self.pending:
            if req.kind is None:
                req.kind = "nop"
            if req.ud == 0:
                self.anon.append(req)
            else:
                self.inflight[req.ud] = req
            self.old_sqes.append(req.sqe)
            req.sqe = None
        self.pending = []

    @precondition(lambda self: self.ring is not None)
    @rule()
    def submit(self):
        self._submit()

    @precondition(lambda self: self.old_sqes)
    @rule(data=st.data())
    def stale_sqe_is_refused(self, data):
        sqe = self.old_sqes[self._index(data, len(self.old_sqes))]
        with pytest.raises((ValueError, RuntimeError)):
            L.io_uring_prep_nop(sqe)
        with pytest.raises((ValueError, RuntimeError)):
            L.io_uring_sqe_set_data64(sqe, 1)

    # ---- completions ----------------------------------------------------------------------------

    def _consume(self, cqe):
        ud, res = cqe.user_data, cqe.res
        if ud == 0:
            assert self.anon, f"a completion with user_data 0 that nothing submitted (res {res})"
            # Their buffers stay pinned until the last of them is consumed.
            # Which of the anonymous requests it was is unknowable: take one whose kind fits.
            fits = [i for i, q in enumerate(self.anon)
                    if (q.kind in ("read_pipe", "read_file", "read_fixed", "write_file")) == (res > 0)]
            req = self.anon.pop(fits[0] if fits else 0)
            self._hold_anon(req)
        else:
            assert ud not in self.done, f"completion of user_data {ud} consumed twice"
            assert ud in self.inflight, f"completion with unknown user_data {ud} (res {res})"
            req = self.inflight.pop(ud)
            self.done.add(ud)
            self._check_res(req, res)
            for b in req.bufs:
                self._unuse(b)
        self.old_cqes.append(cqe)

    def _hold_anon(self, req):
        # Anonymous requests share one record: buffers are released when the last one goes.
        self._anon_done = getattr(self, "_anon_done", [])
        self._anon_done.append(req)
        if not self.anon:
            for r in self._anon_done:
                for b in r.bufs:
                    self._unuse(b)
            self._anon_done = []

    def _check_res(self, req, res):
        if req.kind == "nop":
            assert res == 0, f"nop completed with {res}"
        elif req.kind == "timeout":
            assert res in (-errno.ETIME, 0), f"timeout completed with {res}"
        elif req.kind == "read_file":
            assert res == req.size, f"file read of {req.size} returned {res}"
        elif req.kind == "read_fixed":
            # -EFAULT: the buffers were unregistered (or replaced) before it was submitted.
            assert res in (req.size, -errno.EFAULT), f"fixed read of {req.size} returned {res}"
        elif req.kind == "write_file":
            assert res == req.size, f"file write of {req.size} returned {res}"
        elif req.kind == "read_pipe":
            assert 0 < res <= req.size, f"pipe read of {req.size} returned {res}"
        # "mangled": assigned fields made it something else; that it completes once is the check

    def _can_wait(self):
        return self.ring is not None and (self.WAIT_WITH_PENDING or not self.pending)

    @precondition(lambda self: self._can_wait())
    @rule(ns=st.sampled_from([0, 100_000, 1_000_000]))
    def wait_cqe_timeout(self, ns):
        cqe = L.io_uring_wait_cqe_timeout(self.ring, L.kernel_timespec(0, ns))
        if cqe is not None:
            self.head_cqe = cqe

    @precondition(lambda self: self._can_wait())
    @rule()
    def peek_cqe(self):
        cqe = L.io_uring_peek_cqe(self.ring)
        if cqe is not None:
            self.head_cqe = cqe

    @precondition(lambda self: self.ring is not None)
    @rule()
    def cqe_seen(self):
        if self.head_cqe is None:       # (not a precondition: whether one came is timing)
            return
        cqe, self.head_cqe = self.head_cqe, None
        self._consume(cqe)
        L.io_uring_cqe_seen(self.ring, cqe)

    @precondition(lambda self: self.ring is not None)
    @rule(n=st.integers(1, 8))
    def cq_advance(self, n):
        ready = L.io_uring_cq_ready(self.ring)
        if n > ready:
            with pytest.raises(ValueError):
                L.io_uring_cq_advance(self.ring, n)
            return
        batch = L.io_uring_peek_batch_cqe(self.ring, n)
        assert len(batch) == n, f"peek_batch_cqe gave {len(batch)} of {n} ready"
        for cqe in batch:
            self._consume(cqe)
        L.io_uring_cq_advance(self.ring, n)
        self.head_cqe = None

    @precondition(lambda self: self.ring is not None)
    @rule(data=st.data())
    def consumed_cqe_is_refused(self, data):
        k = self._index(data, len(self.old_cqes))
        if k is None:
            return
        cqe = self.old_cqes[k]
        with pytest.raises((ValueError, RuntimeError)):
            L.io_uring_cqe_seen(self.ring, cqe)

    @precondition(lambda self: self.ring is not None)
    @rule(n=st.integers(1, 64))
    def feed_pipe(self, n):
        os.write(self.w, b"p" * n)

    # ---- registration ---------------------------------------------------------------------------

    @precondition(lambda self: self.ring is not None and self.registered is None)
    @rule(sizes=st.lists(st.integers(1, 8192), min_size=1, max_size=3))
    def register_buffers(self, sizes):
        bufs = [self._new_buf(s) for s in sizes]
        L.io_uring_register_buffers(self.ring, bufs)
        self.registered = bufs
        for b in bufs:
            self._use(b)

    @precondition(lambda self: self.registered is not None)
    @rule()
    def unregister_buffers(self):
        L.io_uring_unregister_buffers(self.ring)
        for b in self.registered:
            self._unuse(b)
        self.registered = None

    @precondition(lambda self: self.ring is not None and not self.files_registered)
    @rule()
    def register_files(self):
        L.io_uring_register_files(self.ring, [self.file_fd, self.r])
        self.files_registered = True

    @precondition(lambda self: self.files_registered and not any(
        q.fixed_file for q in self.pending))
    @rule()
    def unregister_files(self):
        L.io_uring_unregister_files(self.ring)
        self.files_registered = False

    # ---- teardown and re-init -------------------------------------------------------------------

    @precondition(lambda self: self.ring is not None)
    @rule(entries=st.sampled_from([4, 8]))
    def exit_and_reinit(self, entries):
        """queue_exit cancels what is in flight and drops what is pending: nothing completes
        after it, and every buffer is free again."""
        L.io_uring_queue_exit(self.ring)
        for req in self.pending:
            for b in req.bufs:
                self._unuse(b)
        for req in list(self.inflight.values()) + self.anon + getattr(self, "_anon_done", []):
            for b in req.bufs:
                self._unuse(b)
        if self.registered is not None:
            for b in self.registered:
                self._unuse(b)
        stuck = [len(b) for i, b in self.objs.items() if self.uses.get(i, 0) == 0 and not resizable(b)]
        assert not stuck, f"bytearrays still pinned after io_uring_queue_exit: sizes {stuck}"
        if not self.STALE_ACROSS_REINIT:
            self.old_sqes = []
            self.old_cqes = []
        else:
            self.old_sqes += [q.sqe for q in self.pending]
        self.pending, self.inflight, self.anon, self._anon_done = [], {}, [], []
        self.registered, self.files_registered, self.head_cqe = None, False, None
        self.mangled_waiting = False
        self.free_check = []
        # The same io_uring object, initialized again (a reused ring).
        L.io_uring_queue_init(entries, self.ring)
        self.entries = entries

    # ---- invariants -----------------------------------------------------------------------------

    @invariant()
    def pinned_buffers_cannot_be_resized(self):
        users = list(self.pending) + list(self.inflight.values()) + self.anon + getattr(self, "_anon_done", [])
        for req in users:
            for b in req.bufs:
                if req.kind is not None:
                    assert not resizable(b), f"{req}: its buffer was released early (resizable)"
        for b in self.registered or []:
            assert not resizable(b), "a registered buffer is resizable (not pinned)"

    @invariant()
    def canaries_are_untouched(self):
        for c in self.canaries:
            assert c == bytearray(b"\xa5") * 512, "the kernel wrote into memory no SQE was given"

    @invariant()
    def released_buffers_can_be_resized(self):
        check, self.free_check = self.free_check, []
        for b in check:
            if self.uses.get(id(b), 0) == 0:
                assert resizable(b), "a bytearray no request uses any more is still pinned (leak)"


class FullMachine(CoreMachine):
    WAIT_WITH_PENDING = True
    STALE_ACROSS_REINIT = True


_settings = settings(max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None,
                     suppress_health_check=list(HealthCheck), database=None, derandomize=not RANDOM,
                     report_multiple_bugs=False)

TestCoreMachine = CoreMachine.TestCase
TestCoreMachine.settings = _settings
TestFullMachine = FullMachine.TestCase
TestFullMachine.settings = settings(
    _settings, phases=[Phase.explicit, Phase.reuse, Phase.generate] + ([Phase.shrink] if SHRINK else []))


# ---- deterministic reproducers of what the machines found -------------------------------------

def test_a_wait_does_not_take_unsubmitted_sqes():
    """liburing's waits never submit. Here a wait between io_uring_get_sqe and the prep marked
    the SQE as submitted (it was moved to the in-flight table without being published): the
    prep then raised "already submitted", and io_uring_queue_exit stalled 10 s waiting for a
    completion that could never come, then leaked the pins with a RuntimeWarning."""
    import warnings
    ring = L.io_uring()
    L.io_uring_queue_init(4, ring)
    try:
        sqe = L.io_uring_get_sqe(ring)
        assert L.io_uring_wait_cqe_timeout(ring, L.kernel_timespec(0, 1000)) is None
        L.io_uring_prep_nop(sqe)                 # must still be preparable
        L.io_uring_sqe_set_data64(sqe, 42)
        assert L.io_uring_submit(ring) == 1
        cqe = L.io_uring_wait_cqe_timeout(ring, L.kernel_timespec(5, 0))
        assert cqe is not None and cqe.user_data == 42
        L.io_uring_cqe_seen(ring, cqe)
    finally:
        start = time.monotonic()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            L.io_uring_queue_exit(ring)
        assert time.monotonic() - start < 2, "io_uring_queue_exit stalled"
        assert not [w for w in caught if issubclass(w.category, RuntimeWarning)], [str(w.message) for w in caught]


def test_unsubmitted_sqe_left_behind_by_a_wait_does_not_stall_queue_exit():
    """The same bug seen from queue_exit alone: get_sqe, a wait, queue_exit."""
    import warnings
    ring = L.io_uring()
    L.io_uring_queue_init(4, ring)
    L.io_uring_get_sqe(ring)
    L.io_uring_wait_cqe_timeout(ring, L.kernel_timespec(0, 1000))
    start = time.monotonic()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        L.io_uring_queue_exit(ring)
    elapsed = time.monotonic() - start
    leaked = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert elapsed < 2 and not leaked, f"queue_exit took {elapsed:.1f} s; warnings: {leaked}"
