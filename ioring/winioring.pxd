# The C-level interface of ioring.winioring: what its API layer (ioring/winioring.pyx) shares with
# its backends, the KernelBase one (ioring/_winioring_kernelbase.pxi, in the same module) and the
# io_uring emulation (ioring/_winioring_linux.pyx, a Linux-only module). Windows builds the first
# two only: nothing here may need a POSIX or io_uring header.
from libc.stdint cimport uint32_t, uint64_t, intptr_t
from cpython.buffer cimport Py_buffer


cdef class _Buffer:
    """A buffer-protocol export held for as long as the kernel may touch the memory (the
    implementation is ioring/_buffer_export.pxi)."""
    cdef Py_buffer view
    cdef bint held
    cdef char *ptr
    cdef Py_ssize_t nbytes

    cdef int _export(self, object obj, bint writable) except -1

# IORING_OP_CODE, as entries carry it.
cdef enum:
    _OP_NOP = 0
    _OP_READ = 1
    _OP_REG_FILES = 2
    _OP_REG_BUFS = 3
    _OP_CANCEL = 4
    _OP_WRITE = 5
    _OP_FLUSH = 6
    _OP_SCATTER = 7
    _OP_GATHER = 8


ctypedef struct _Segment:
    void *base
    size_t length                 # the bytes this segment takes (numberOfBytes spread in order)


cdef class _Segments:
    """The segments of a scatter/gather entry, over pinned buffers (``pins``)."""
    cdef _Segment *segs
    cdef uint32_t count
    cdef list pins


# One entry as a Build* function checked it, in backend-neutral form. What it pinned travels
# with it (``pins`` of HIORING.build), by op:
#   READ, WRITE: (IORING_HANDLE_REF, IORING_BUFFER_REF, _Buffer or None for a registered buffer)
#   FLUSH, CANCEL: (IORING_HANDLE_REF,)
#   READ_SCATTER, WRITE_GATHER: (IORING_HANDLE_REF, _Segments)
#   REGISTER_BUFFERS: a list, per slot: (_Buffer, Length), or None for a sparse slot
#   REGISTER_FILES: a list, per slot: (handle value, the object given)
ctypedef struct _Entry:
    uint32_t op
    uint32_t flags                # IORING_SQE_FLAGS
    uint64_t user_data
    uint32_t file_kind            # IORING_REF_RAW (0) or IORING_REF_REGISTERED (1)
    intptr_t handle               # raw: the HANDLE value (KernelBase) or the file descriptor (emulation)
    uint32_t file_index           # registered
    uint32_t buf_kind
    char *addr                    # raw buffer: its address
    uint32_t buf_index
    uint32_t buf_offset
    uint64_t offset               # fileOffset
    uint32_t length               # bytes; registrations: the number of slots
    uint32_t xflags               # FILE_WRITE_FLAGS, or FILE_FLUSH_MODE
    uint64_t target               # cancel: opToCancel

ctypedef struct _Cqe:
    uint64_t user_data
    uint32_t result               # HRESULT
    uint64_t information

ctypedef struct _Info:
    uint32_t version, required, advisory, sq_size, cq_size


cdef class _Backend:
    """One ring of a backend. The API layer checks and pins, then calls these methods; each
    backend is a subclass. ``open`` is False once closed (every method but close then refused)."""
    cdef bint open
    cdef uint32_t version, required, advisory
    cdef bint in_submit           # a SubmitIoRing runs (IORING_E_SUBMIT_IN_PROGRESS for another)
    cdef object lock              # threading.RLock over the backend's state
    cdef object __weakref__

    cdef bint usable(self)                      # open (and, emulated, not the parent's after fork)
    cdef int check(self) except -1              # IoRingError(E_HANDLE) unless usable
    cdef int refuse_op(self, uint32_t op) except -1    # a builder's op-vs-version check
    cdef bint supports(self, uint32_t op)       # IsIoRingOpSupported
    cdef int info(self, _Info *out) except -1
    cdef int build(self, _Entry *e, object pins) except -1
    cdef uint32_t submit(self, uint32_t wait, uint32_t ms) except? 0xFFFFFFFF
    cdef int pop(self, _Cqe *out) except -1     # 1: a CQE, 0: the CQ is empty
    cdef int set_event(self, object hEvent) except -1
    cdef int close(self) except -1


cdef class HIORING:
    cdef _Backend backend         # None: never created (a closed handle)


cdef int _fail(uint32_t hr, msg=*) except -1
cdef uint32_t _hr_from_errno(int err)
cdef int _handle_fd(object h, bint allow_invalid=*) except -2
