# cython: language_level=3, boundscheck=False, wraparound=False
"""The io_uring emulation of ioring.winioring (Linux only): the backend whose rings are the thin
layer's ``io_uring`` objects (ioring.liburing), driven through their door (liburing.pxd).

One ring implementation: the io_uring's door pins what each request uses until its completion is
reaped, tracks what is in flight, and tears the ring down as io_uring_queue_exit does (cancel,
wait up to its bound, the pre-5.19 per-request fallback, the fork-child rule, nothing Python-level
at interpreter shutdown). On top of it this module keeps what Windows specifies: a Windows-shaped
user-space SQ (entries translated in SQ order inside SubmitIoRing) and CQ (IORING_CQE entries,
HRESULTs), the version rules, the cancel ordering and the completion event. ioring.winioring
(the API: argument checks, pinning) imports it at the first CreateIoRing.
"""
cimport cython
from libc.stdint cimport int32_t, uint32_t, uint64_t, uintptr_t
from libc.stdlib cimport calloc, free
from libc.string cimport memset
from libc.errno cimport ENOENT, EALREADY, ENOSYS
from posix.uio cimport iovec
from posix.unistd cimport close, write

from ioring.includes cimport core as c
from ioring.liburing cimport io_uring
from ioring.winioring cimport (_Backend, _Buffer, _Segments, _Entry, _Cqe, _Info, _fail, _hr_from_errno,
                               _handle_fd, _OP_READ, _OP_REG_FILES, _OP_REG_BUFS, _OP_CANCEL, _OP_WRITE,
                               _OP_FLUSH, _OP_SCATTER, _OP_GATHER)

import errno as _errno
import os as _os
import sys as _sys
import threading as _threading
import time as _time

from ioring import liburing as _L
from ioring.winioring import (E_HANDLE, E_INVALIDARG, E_NOTIMPL, IORING_E_COMPLETION_QUEUE_TOO_BIG,
                              IORING_E_COMPLETION_QUEUE_TOO_FULL, IORING_E_CORRUPT,
                              IORING_E_REQUIRED_FLAG_NOT_SUPPORTED, IORING_E_SUBMISSION_QUEUE_FULL,
                              IORING_E_SUBMISSION_QUEUE_TOO_BIG, IORING_E_VERSION_NOT_SUPPORTED,
                              IORING_E_WAIT_TIMEOUT, IORING_FEATURE_SET_COMPLETION_EVENT,
                              IORING_FEATURE_UM_EMULATION, IORING_VERSION_4, IoRingError)

__all__ = ["capabilities", "create"]     # for ioring.winioring; not an API of its own

cdef enum:
    _MAX_SQ = 0x10000
    _MAX_CQ = 0x20000
    _URING_SQ = 1024
    _URING_CQ = 4096
    _INFINITE = 0xFFFFFFFF

cdef uint32_t _HR_EOF = 0x80070026            # HRESULT_FROM_WIN32(ERROR_HANDLE_EOF)
cdef uint32_t _HR_NOT_FOUND = 0x80070490      # HRESULT_FROM_WIN32(ERROR_NOT_FOUND)
cdef uint32_t _HR_INVALID_FUNCTION = 0x80070001   # STATUS_NOT_IMPLEMENTED (unknown op) [INF]
cdef uint32_t _HR_INDEX_OUT_OF_BOUNDS = 0x800701DA  # STATUS_INDEX_OUT_OF_BOUNDS [INF]
cdef uint32_t _HR_INVALID_USER_BUFFER = 0x800706F8  # STATUS_INVALID_USER_BUFFER [INF]
cdef uint32_t _HR_NOACCESS = 0x800703E6
# user_data of the cancels CloseIoRing sends to wake a SubmitIoRing waiting in another thread.
cdef uint64_t _WAKE_CANCEL_UD = 0xFFFFFFFFFFFFFFFD

# io_uring constants, as the thin layer exports them (include/ioring/abi.h via _constants.pxi).
cdef unsigned _IOSQE_FIXED_FILE = _L.IOSQE_FIXED_FILE
cdef unsigned _IOSQE_IO_DRAIN = _L.IOSQE_IO_DRAIN
cdef unsigned _IORING_FSYNC_DATASYNC = _L.IORING_FSYNC_DATASYNC
cdef unsigned _IORING_ASYNC_CANCEL_ALL = _L.IORING_ASYNC_CANCEL_ALL
cdef unsigned _IORING_ASYNC_CANCEL_FD_FIXED = _L.IORING_ASYNC_CANCEL_FD_FIXED
cdef int _IORING_OP_SYNC_FILE_RANGE = _L.IORING_OP_SYNC_FILE_RANGE
cdef uint32_t _RWF_DSYNC = 0x2
cdef uint32_t _SYNC_FILE_RANGE_WRITE_AND_WAIT = 0x2 | 0x4     # SYNC_FILE_RANGE_WRITE | WAIT_AFTER

_OP_NAMES = {_OP_WRITE: "IORING_OP_WRITE", _OP_FLUSH: "IORING_OP_FLUSH", _OP_SCATTER: "IORING_OP_READ_SCATTER",
             _OP_GATHER: "IORING_OP_WRITE_GATHER"}

cdef Py_ssize_t _leaked_rings = 0   # closed rings whose teardown kept pins alive forever


# ---- the backend's module-level entry points (called by ioring.winioring) ----------------------

_probed = None


def capabilities():
    """QueryIoRingCapabilities of the emulation, as a tuple; IoRingError(E_NOTIMPL) without io_uring."""
    global _probed
    if _probed is None:
        probe = io_uring()
        try:
            _L.io_uring_queue_init(1, probe)
        except OSError as exc:
            _probed = -exc.errno
        else:
            _probed = 0
            _L.io_uring_queue_exit(probe)
    if _probed < 0:
        raise IoRingError(E_NOTIMPL, f"io_uring unavailable: {_os.strerror(-_probed)}")
    return (IORING_VERSION_4, _MAX_SQ, _MAX_CQ, IORING_FEATURE_UM_EMULATION | IORING_FEATURE_SET_COMPLETION_EVENT)


cdef uint32_t _pow2(uint32_t v):
    cdef uint32_t p = 1
    while p < v:
        p <<= 1
    return p


def create(uint32_t version, uint32_t required, uint32_t advisory, uint32_t sq, uint32_t cq):
    """CreateIoRing of the emulation (the arguments already converted): Windows' rules for the
    version, the flags and the queue sizes, then an io_uring sized independently."""
    cdef _EmulatedRing h
    if version < 1 or version > 400:
        _fail(IORING_E_VERSION_NOT_SUPPORTED)
    if required != 0:
        _fail(IORING_E_REQUIRED_FLAG_NOT_SUPPORTED)
    if sq > _MAX_SQ:
        _fail(IORING_E_SUBMISSION_QUEUE_TOO_BIG)
    if cq > _MAX_CQ:
        _fail(IORING_E_COMPLETION_QUEUE_TOO_BIG)
    sq = 32 if sq == 0 else (8 if sq < 8 else _pow2(sq))
    cq = 2 * sq if cq <= 2 * sq else _pow2(cq)
    h = _EmulatedRing.__new__(_EmulatedRing)
    h.event_fd = -1
    h.uring = io_uring()
    params = _L.io_uring_params(flags=_L.IORING_SETUP_CQSIZE, cq_entries=cq if cq < _URING_CQ else _URING_CQ)
    try:
        _L.io_uring_queue_init_params(sq if sq < _URING_SQ else _URING_SQ, h.uring, params)
    except OSError as exc:
        raise IoRingError(_hr_from_errno(exc.errno) if exc.errno != ENOSYS else E_NOTIMPL,
                          f"io_uring_setup: {_os.strerror(exc.errno)}") from None
    h.sq = <_Entry *>calloc(sq, sizeof(_Entry))
    h.cq = <_Cqe *>calloc(cq, sizeof(_Cqe))
    if h.sq == NULL or h.cq == NULL:
        h.uring.door_exit()
        raise MemoryError()
    h.version, h.required, h.advisory = version, required, advisory
    h.sq_size, h.cq_size = sq, cq
    h.sq_pins = [None] * sq
    h.cq_pins = [None] * cq
    h.ops = {}
    h.held_cancels = []
    h.reg_bufs = []
    h.lock = _threading.RLock()
    h.open = True
    return h


def _leaked_count():
    """Tests only: how many closed rings kept pins alive forever."""
    return _leaked_rings


# ---- a translated entry ------------------------------------------------------------------------

@cython.final
cdef class _Op:
    """An entry translated into io_uring requests, until its CQE reaches the Windows CQ."""
    cdef uint64_t key            # the io_uring user_data
    cdef uint64_t user_data
    cdef uint32_t op
    cdef uint32_t length
    cdef int fd
    cdef uint32_t file_kind
    cdef object pins
    cdef int remaining          # io_uring CQEs still expected
    cdef int found              # cancel: a target was found
    cdef uint32_t err           # cancel: first error other than not found
    cdef list targets           # cancel: keys of the requests it names, in flight when it was submitted
    cdef uint32_t result        # cancel: its HRESULT, while its CQE is held back for its targets'


@cython.final
cdef class _SegmentIovecs:
    """The iovec array of a READV/WRITEV, over the segments of a scatter/gather entry."""
    cdef iovec *vecs
    cdef uint32_t count

    def __dealloc__(self):
        free(self.vecs)


cdef _SegmentIovecs _iovecs(_Segments segs):
    cdef _SegmentIovecs v = _SegmentIovecs.__new__(_SegmentIovecs)
    cdef uint32_t i
    v.vecs = <iovec *>calloc(segs.count, sizeof(iovec))
    if v.vecs == NULL:
        raise MemoryError()
    v.count = segs.count
    for i in range(segs.count):
        v.vecs[i].iov_base = segs.segs[i].base
        v.vecs[i].iov_len = segs.segs[i].length
    return v


cdef int _on_cqe(void *ctx, uint64_t user_data, int32_t res, uint32_t flags) except -1:
    """door_reap's callback: an io_uring completion, to its translated entry."""
    cdef _EmulatedRing ring = <_EmulatedRing>ctx
    o = ring.ops.get(user_data)
    if o is not None:
        ring._complete(<_Op>o, res)
    return 0


cdef class _EventPump           # the completion-event helper thread (_winioring_event.pxi)


# ---- the ring ----------------------------------------------------------------------------------

@cython.final
cdef class _EmulatedRing(_Backend):
    """An IoRing emulated over one io_uring of the thin layer."""
    cdef io_uring uring
    cdef uint32_t sq_size, cq_size
    cdef _Entry *sq
    cdef uint32_t sq_head, sq_tail
    cdef list sq_pins
    cdef _Cqe *cq
    cdef uint32_t cq_head, cq_tail
    cdef list cq_pins
    cdef dict ops                # io_uring user_data -> _Op, until its CQE is in the Windows CQ
    cdef uint64_t next_id
    cdef list reg_bufs           # (address, length) per registered buffer slot
    cdef object reg_buf_pins
    cdef uint32_t reg_files
    cdef object reg_file_pins
    cdef int event_fd            # the ring's own duplicate of the event (eventfd), or -1
    cdef _EventPump pump         # the helper thread while an event is set
    cdef list held_cancels       # cancels whose CQE waits for their targets' CQEs
    cdef int waiters             # SubmitIoRing calls that may wait in the kernel (door_enter)

    def __del__(self):
        if self.open:
            self.close()

    def __dealloc__(self):
        free(self.sq)
        free(self.cq)

    def __repr__(self):
        if not self.open:
            return "<HIORING closed>"
        return f"<HIORING version={self.version} sq={self.sq_size} cq={self.cq_size} fd={self.uring.ring_fd}>"

    # -- the backend interface --

    cdef bint usable(self):
        return self.open and not self.uring.door_in_fork_child()

    cdef int check(self) except -1:
        if not self.open:
            _fail(E_HANDLE, "the HIORING is closed")
        if self.uring.door_in_fork_child():
            _fail(E_HANDLE, "the HIORING belongs to the parent process: a ring cannot be used after fork() "
                            "(create one in the child)")
        return 0

    cdef bint supports(self, uint32_t op):
        if op <= _OP_CANCEL:
            return 1
        if op <= _OP_FLUSH:
            return self.version >= 300
        if op <= _OP_GATHER:
            return self.version >= 400
        return 0

    cdef int refuse_op(self, uint32_t op) except -1:
        """An op newer than the ring's version (IsIoRingOpSupported FALSE: WRITE/FLUSH before
        IORING_VERSION_3, scatter/gather before IORING_VERSION_4) is refused by its builder with
        IORING_E_VERSION_NOT_SUPPORTED [INF: Windows' exact HRESULT is unverified], before anything is
        queued or pinned. With IORING_CREATE_SKIP_BUILDER_PARAM_CHECKS the entry is queued and completes
        with 0x80070001, like every other builder check moved to the CQE."""
        if not (self.advisory & 1) and not self.supports(op):
            _fail(IORING_E_VERSION_NOT_SUPPORTED,
                  f"{_OP_NAMES[op]} needs IORING_VERSION_{3 if op <= _OP_FLUSH else 4} "
                  f"({300 if op <= _OP_FLUSH else 400}); this ring is version {self.version}")
        return 0

    cdef int info(self, _Info *out) except -1:
        out.version, out.required, out.advisory = self.version, self.required, self.advisory
        out.sq_size, out.cq_size = self.sq_size, self.cq_size
        return 0

    cdef int build(self, _Entry *e, object pins) except -1:
        """Queues the entry in the Windows SQ (IORING_E_SUBMISSION_QUEUE_FULL when there is no room)."""
        cdef uint32_t idx
        self.check()
        if self.sq_tail - self.sq_head >= self.sq_size:
            raise IoRingError(IORING_E_SUBMISSION_QUEUE_FULL)
        idx = self.sq_tail & (self.sq_size - 1)
        self.sq[idx] = e[0]
        self.sq_pins[idx] = pins
        self.sq_tail += 1
        return 0

    cdef uint32_t submit(self, uint32_t wait, uint32_t ms) except? 0xFFFFFFFF:
        cdef uint32_t new = 0, outstanding, n, idx, need = 0
        cdef c.ioring_kernel_timespec ts
        cdef double deadline = 0, left
        cdef bint done, waiting = False
        with self.lock:
            self.check()
            self._harvest()
            new = self.sq_tail - self.sq_head
            if new > self.sq_size:
                _fail(IORING_E_CORRUPT)
            if wait != _INFINITE and wait > self.cq_size:
                _fail(E_INVALIDARG, "waitOperations is larger than the completion queue")
            outstanding = new + len(self.ops) + (self.cq_tail - self.cq_head)
            if outstanding > self.cq_size:
                _fail(IORING_E_COMPLETION_QUEUE_TOO_FULL)
            if wait != _INFINITE and wait > outstanding:
                _fail(E_INVALIDARG, "waitOperations is larger than the operations outstanding")
            self.in_submit = True
            try:
                for n in range(new):
                    idx = self.sq_head & (self.sq_size - 1)
                    pins = self.sq_pins[idx]
                    self.sq_pins[idx] = None
                    self.sq_head += 1
                    self._translate(&self.sq[idx], pins)
                self.uring.door_submit()
            except BaseException:
                self.in_submit = False
                raise
            if wait != 0:
                self.waiters += 1     # from now on a CloseIoRing defers the teardown to us
                waiting = True
        try:
            if wait == 0:
                return new
            if ms != _INFINITE:
                deadline = _time.monotonic() + ms / 1000.0
            while True:
                with self.lock:
                    if not self.open:
                        return new
                    self._harvest()
                    if wait == _INFINITE:
                        done = len(self.ops) == 0
                        need = len(self.ops) - len(self.held_cancels)   # held: no io_uring CQE to come
                    else:
                        done = self.cq_tail - self.cq_head >= wait
                        need = wait - (self.cq_tail - self.cq_head) if not done else 0
                if done:
                    return new
                if self.pump is not None or need == 0:
                    need = 1
                if ms != _INFINITE or self.pump is not None:
                    left = deadline - _time.monotonic() if ms != _INFINITE else 0.05
                    if left <= 0:
                        raise IoRingError(IORING_E_WAIT_TIMEOUT, "the wait timed out (all entries were submitted)",
                                          submitted_entries=new)
                    if self.pump is not None and left > 0.05:
                        left = 0.05           # the event thread may take the CQEs: poll the Windows CQ
                    ts.tv_sec = <long long>left
                    ts.tv_nsec = <long long>((left - <long long>left) * 1e9)
                    self.uring.door_enter(False, need, &ts)     # (what is queued was submitted above)
                else:
                    self.uring.door_enter(False, need, NULL)
        finally:
            self.in_submit = False
            if waiting:
                with self.lock:
                    self.waiters -= 1
                    if not self.open and self.waiters == 0:
                        self._teardown()      # CloseIoRing ran while we waited

    cdef int pop(self, _Cqe *out) except -1:
        cdef uint32_t idx
        with self.lock:
            self._harvest()
            if self.cq_tail == self.cq_head:
                return 0
            idx = self.cq_head & (self.cq_size - 1)
            out[0] = self.cq[idx]
            self.cq_pins[idx] = None
            self.cq_head += 1
            return 1

    cdef int set_event(self, object hEvent) except -1:
        return self._set_event(-1 if hEvent is None else _event_duplicate(hEvent))

    cdef int close(self) except -1:
        """Built-but-unsubmitted entries are discarded, then the io_uring is torn down (_teardown); if
        a SubmitIoRing waits in another thread, its operations are cancelled so that it returns, and
        the teardown is left to it (the kernel must not be waited on while the ring goes away)."""
        self._stop_pump()
        with self.lock:
            if not self.open:
                return 0
            self.open = False
            self.sq_pins = [None] * self.sq_size
            self.sq_head = self.sq_tail
            if self.waiters and not self.uring.door_in_fork_child():
                self._wake_waiters()
            else:
                self._teardown()
        return 0

    # -- teardown --

    cdef int _teardown(self) except -1:
        """Closes the io_uring through the thin layer's teardown: what is in flight is cancelled and
        reaped as io_uring_queue_exit does (bounded; what cannot be confirmed done stays pinned
        forever), in a fork child only this process's copy is dropped. Uses no Python module: it may
        run at interpreter shutdown (__del__ of a ring still alive then)."""
        global _leaked_rings
        self.ops = {}
        self.held_cancels = []
        if self.uring.door_exit():
            _leaked_rings += 1
        self.cq_pins = None
        self.reg_buf_pins = None
        self.reg_file_pins = None
        if self.event_fd >= 0:
            close(self.event_fd)
        self.event_fd = -1
        return 0

    cdef int _wake_waiters(self) except -1:
        """Cancels every operation in flight (their CQEs end the wait of a SubmitIoRing)."""
        cdef c.io_uring_sqe *s
        for key in list(self.ops):
            s = self.uring.door_acquire()
            if s == NULL:
                break
            c.ioring_prep_cancel64(s, key, 0)
            c.ioring_sqe_set_data64(s, _WAKE_CANCEL_UD)
        self.uring.door_submit()
        return 0

    # -- the Windows CQ --

    cdef int _post(self, uint64_t user_data, uint32_t hr, uint64_t info, object pins) except -1:
        cdef uint32_t n = self.cq_tail - self.cq_head
        cdef _Cqe *e
        if n >= self.cq_size:
            return 0                  # Windows drops a CQE silently when the CQ is full
        e = &self.cq[self.cq_tail & (self.cq_size - 1)]
        e.user_data = user_data
        e.result = hr
        e.information = info
        self.cq_pins[self.cq_tail & (self.cq_size - 1)] = pins
        self.cq_tail += 1
        if n == 0 and self.event_fd >= 0:
            write(self.event_fd, &_EVENTFD_ONE, 8)
        return 0

    cdef int _complete(self, _Op o, int res) except -1:
        cdef uint32_t hr = 0
        cdef uint64_t info = 0
        if o.op == _OP_CANCEL:
            if res >= 0 or res == -EALREADY:
                o.found = 1
            elif res != -ENOENT and o.err == 0:
                o.err = _hr_from_errno(-res)
            o.remaining -= 1
            if o.remaining > 0:
                return 0
            hr = 0 if o.found else (o.err if o.err else _HR_NOT_FOUND)
            if self._targets_in_flight(o):
                # IORING_OP_CODE: the cancel's completion comes after its target's; io_uring may post it
                # first, so it waits (still outstanding) until the targets' CQEs are in the CQ.
                o.result = hr
                self.held_cancels.append(o)
                return 0
        elif res < 0:
            hr = _hr_from_errno(-res)
        elif o.op in (_OP_READ, _OP_SCATTER) and res == 0 and o.length > 0:
            hr = _HR_EOF
        elif o.op in (_OP_READ, _OP_WRITE, _OP_SCATTER, _OP_GATHER):
            info = <uint64_t>res
        del self.ops[o.key]
        self._post(o.user_data, hr, info, o.pins)
        if self.held_cancels and o.op != _OP_CANCEL:
            self._post_held_cancels()
        return 0

    cdef bint _targets_in_flight(self, _Op cancel):
        for k in cancel.targets:
            if k in self.ops:
                return True
        return False

    cdef int _post_held_cancels(self) except -1:
        cdef _Op c
        for c in list(self.held_cancels):
            if not self._targets_in_flight(c):
                self.held_cancels.remove(c)
                del self.ops[c.key]
                self._post(c.user_data, c.result, 0, c.pins)
        return 0

    cdef int _harvest(self) except -1:
        """Moves the io_uring CQEs into the Windows CQ."""
        while self.open and self.uring.door_reap(_on_cqe, <void *>self, 64):
            pass
        return 0

    # -- translation: one Windows SQE, in SQ order, into io_uring requests --

    cdef c.io_uring_sqe *_sqe(self, object pins) except NULL:
        """An io_uring SQE; ``pins`` stay alive until its completion is reaped."""
        cdef c.io_uring_sqe *s = self.uring.door_acquire()
        while s == NULL:              # the kernel takes no more SQEs until completions are reaped
            self._harvest()
            s = self.uring.door_acquire()
        self.uring.door_pin(s, pins)
        return s

    cdef _Op _new_op(self, _Entry *w, int fd, object pins):
        cdef _Op o = _Op.__new__(_Op)
        self.next_id += 1
        o.key = self.next_id
        o.user_data = w.user_data
        o.op = w.op
        o.length = w.length
        o.fd = fd
        o.file_kind = w.file_kind
        o.pins = pins
        o.remaining = 1
        self.ops[self.next_id] = o
        return o

    cdef int _translate(self, _Entry *w, object pins) except -1:
        """One Windows SQE, in SQ order: io_uring requests, or a CQE posted right away."""
        cdef c.io_uring_sqe *s
        cdef _Op o
        cdef uint32_t hr
        cdef char *addr = NULL
        cdef int fd = <int>w.handle if w.file_kind == 0 else <int>w.file_index
        cdef unsigned sflags = 0
        cdef _SegmentIovecs iov
        cdef list targets
        cdef uint64_t key
        if not self.supports(w.op):
            self._post(w.user_data, _HR_INVALID_FUNCTION, 0, pins)
            return 0
        if w.op in (_OP_REG_FILES, _OP_REG_BUFS):
            self._register(w, pins)
            return 0
        if w.flags & ~1u:
            self._post(w.user_data, IORING_E_REQUIRED_FLAG_NOT_SUPPORTED, 0, pins)
            return 0
        if w.file_kind == 1:
            if w.file_index >= self.reg_files:
                self._post(w.user_data, _HR_INDEX_OUT_OF_BOUNDS, 0, pins)
                return 0
            sflags |= _IOSQE_FIXED_FILE
        if w.flags & 1:
            sflags |= _IOSQE_IO_DRAIN
        if w.op in (_OP_READ, _OP_WRITE):
            if w.buf_kind == 1:
                hr = self._registered_address(w, &addr)
                if hr:
                    self._post(w.user_data, hr, 0, pins)
                    return 0
                # The request uses the registered table of now: it keeps that table's buffers pinned
                # until its CQE is popped, even if a later REGISTER_BUFFERS replaces the table (the
                # kernel goes on writing into the old pages).
                pins = (pins, self.reg_buf_pins)
            else:
                addr = w.addr
        if w.op == _OP_CANCEL:
            o = self._new_op(w, fd, pins)
            key = self.next_id
            targets = [k for k, t in self.ops.items()
                       if (<_Op>t).op != _OP_CANCEL and (w.target == 0 or (<_Op>t).user_data == w.target)
                       and (<_Op>t).fd == fd and (<_Op>t).file_kind == w.file_kind]
            o.targets = targets
            if w.target == 0:
                s = self._sqe(pins)
                c.ioring_prep_cancel_fd(s, fd, _IORING_ASYNC_CANCEL_ALL |
                                        (_IORING_ASYNC_CANCEL_FD_FIXED if w.file_kind == 1 else 0))
                c.ioring_sqe_set_data64(s, key)
                return 0
            if not targets:
                del self.ops[key]
                self._post(w.user_data, _HR_NOT_FOUND, 0, pins)
                return 0
            o.remaining = len(targets)
            for k in targets:
                s = self._sqe(pins)
                c.ioring_prep_cancel64(s, k, 0)
                c.ioring_sqe_set_data64(s, key)
            return 0
        if w.op in (_OP_SCATTER, _OP_GATHER):
            iov = _iovecs(<_Segments>pins[1])
            pins = (pins, iov)
        o = self._new_op(w, fd, pins)
        s = self._sqe(pins)
        if w.op == _OP_READ:
            if w.buf_kind == 1:
                c.ioring_prep_read_fixed(s, fd, addr, w.length, w.offset, w.buf_index)
            else:
                c.ioring_prep_read(s, fd, addr, w.length, w.offset)
        elif w.op == _OP_WRITE:
            if w.buf_kind == 1:
                c.ioring_prep_write_fixed(s, fd, addr, w.length, w.offset, w.buf_index)
            else:
                c.ioring_prep_write(s, fd, addr, w.length, w.offset)
            if w.xflags & 1:
                s.rw_flags = _RWF_DSYNC
        elif w.op == _OP_FLUSH:
            if w.xflags == 0:
                c.ioring_prep_fsync(s, fd, 0)
            elif w.xflags == 2:
                c.ioring_prep_fsync(s, fd, _IORING_FSYNC_DATASYNC)
            else:                         # DATA / NO_SYNC: write back, no device flush
                c.ioring_prep_rw(_IORING_OP_SYNC_FILE_RANGE, s, fd, NULL, 0, 0)
                s.rw_flags = _SYNC_FILE_RANGE_WRITE_AND_WAIT
        elif w.op in (_OP_SCATTER, _OP_GATHER):
            if w.op == _OP_SCATTER:
                c.ioring_prep_readv(s, fd, iov.vecs, iov.count, w.offset)
            else:
                c.ioring_prep_writev(s, fd, iov.vecs, iov.count, w.offset)
                if w.xflags & 1:
                    s.rw_flags = _RWF_DSYNC
        else:
            c.ioring_prep_nop(s)
        s.flags = sflags
        c.ioring_sqe_set_data64(s, self.next_id)
        return 0

    cdef uint32_t _registered_address(self, _Entry *w, char **addr):
        cdef object slot
        if w.buf_index >= len(self.reg_bufs):
            return _HR_INDEX_OUT_OF_BOUNDS
        slot = self.reg_bufs[w.buf_index]
        if slot is None:
            return _HR_INVALID_USER_BUFFER
        base, blen = slot
        if <uint64_t>w.buf_offset + w.length > blen:
            return _HR_NOACCESS           # [INF] §6.4: the bounds check is unverified on Windows
        addr[0] = <char *><uintptr_t>base + w.buf_offset
        return 0

    cdef int _register(self, _Entry *w, object pins) except -1:
        """REGISTER_FILES / REGISTER_BUFFERS at their SQ position: earlier entries are submitted
        first, then the whole table is replaced (count 0 unregisters), and the CQE is posted."""
        cdef int ret
        cdef uint32_t i, n
        cdef iovec *vecs
        cdef int *fds
        cdef _Buffer b
        cdef c.ioring *ring = &self.uring.ring
        self.uring.door_submit()
        if w.op == _OP_REG_FILES:
            handles = pins
            n = len(handles)
            c.ioring_unregister_files(ring)
            self.reg_files = 0
            self.reg_file_pins = None
            ret = 0
            if n:
                fds = <int *>calloc(n, sizeof(int))
                if fds == NULL:
                    raise MemoryError()
                for i in range(n):
                    fds[i] = handles[i][0]
                ret = c.ioring_register_files(ring, fds, n)
                free(fds)
                if ret >= 0:
                    self.reg_files = n
                    self.reg_file_pins = handles
            self._post(w.user_data, 0 if ret >= 0 else _hr_from_errno(-ret), n if ret >= 0 else 0, None)
            return 0
        bufs = pins
        n = len(bufs)
        c.ioring_unregister_buffers(ring)
        self.reg_bufs = []
        self.reg_buf_pins = None
        ret = 0
        if n:
            vecs = <iovec *>calloc(n, sizeof(iovec))
            if vecs == NULL:
                raise MemoryError()
            for i in range(n):
                if bufs[i] is not None:
                    b = <_Buffer>bufs[i][0]
                    vecs[i].iov_base = b.ptr
                    vecs[i].iov_len = bufs[i][1]
            ret = c.ioring_register_buffers(ring, vecs, n)
            if ret >= 0:
                self.reg_bufs = [None if bufs[i] is None or vecs[i].iov_base == NULL
                                 else (<uintptr_t>vecs[i].iov_base, vecs[i].iov_len) for i in range(n)]
                self.reg_buf_pins = bufs
            free(vecs)
        self._post(w.user_data, 0 if ret >= 0 else _hr_from_errno(-ret), n if ret >= 0 else 0, None)
        return 0

    # -- the completion event (see _winioring_event.pxi) --

    cdef int _stop_pump(self) except -1:
        """Stops the helper thread. Joins it outside self.lock (it may be waiting for the lock)."""
        cdef _EventPump p
        if self.pump is None:         # (also: no lock yet when CreateIoRing fails early)
            return 0
        with self.lock:
            p = self.pump
            self.pump = None
        if p is None:
            return 0
        if self.uring.door_in_fork_child():
            p.forget()                # the parent's: its eventfd stays registered with the parent's ring
            return 0
        p.halt(True)
        if self.open:
            c.ioring_unregister_eventfd(&self.uring.ring)
        return 0

    cdef void _pump_harvest(self, _EventPump p):
        with self.lock:
            if self.pump is p and self.open:
                self._harvest()

    cdef int _set_event(self, int dup) except -1:
        """Makes ``dup`` (the ring's own eventfd, or -1 to clear) the completion event; takes ``dup``
        over (closed on failure). The previous duplicate is closed once nothing can write to it."""
        cdef int old = -1, efd = -1, ret
        with self.lock:
            if not self.open:
                if dup >= 0:
                    close(dup)
                _fail(E_HANDLE, "the HIORING is closed")
            if dup >= 0 and self.pump is None:
                try:
                    efd = _os.eventfd(0, _os.EFD_CLOEXEC)
                except OSError as exc:
                    close(dup)
                    _fail(_hr_from_errno(exc.errno), "eventfd")
                ret = c.ioring_register_eventfd(&self.uring.ring, efd)
                if ret < 0:
                    close(efd)
                    close(dup)
                    _fail(_hr_from_errno(-ret), "io_uring_register_eventfd")
                try:
                    self.pump = _EventPump.start(self, efd)
                except BaseException:
                    c.ioring_unregister_eventfd(&self.uring.ring)
                    close(efd)
                    close(dup)
                    raise
            old = self.event_fd
            self.event_fd = dup       # _post writes the event under the lock
        if dup < 0:
            self._stop_pump()
        if old >= 0:
            close(old)
        return 0


include "_winioring_event.pxi"
