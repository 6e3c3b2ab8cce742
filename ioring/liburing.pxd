# Every cdef class of the thin layer's build unit (liburing.pyx and its .pxi) with its C
# attributes, for `cimport` by the Pythonic layer, the engines and the Windows emulation.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int32_t
from cpython.buffer cimport Py_buffer
from posix.signal cimport sigset_t, siginfo_t
from posix.uio cimport iovec

from ioring.includes cimport core as c
from ioring.includes.udcount cimport *      # the tracking table liburing.pyx uses
from ioring.includes.libc_extra cimport _epoll_event_t
from ioring.includes.socket cimport c_sockaddr_storage, socklen_t, c_msghdr, c_cmsghdr
from ioring.includes cimport wait_reg as wr



cdef class _Buffer:
    """A buffer-protocol export held for as long as the kernel may touch the memory."""
    cdef Py_buffer view
    cdef bint held
    cdef char *ptr
    cdef Py_ssize_t nbytes

    cdef int _export(self, object obj, bint writable) except -1


cdef class _Iovecs:
    """A C iovec array over pinned buffers."""
    cdef iovec *vecs
    cdef Py_ssize_t count
    cdef list buffers
    cdef bint writable            # every buffer is writable: the kernel may fill them


# One slot of a ring's registered buffer table (_RegisteredBuffers).
ctypedef struct _reg_slot:
    size_t addr
    size_t length
    bint filled


cdef class _RegisteredBuffers:
    """A ring's registered buffer table: per slot the (address, length) given to the kernel and
    the _Buffer pinning it (ioring/_register_buffers.pxi)."""
    cdef _reg_slot *slots
    cdef Py_ssize_t count         # slots; -1 while no table is registered
    cdef list pins                # per slot: the _Buffer pinning its memory, or None (empty)

    cdef void clear(self)
    cdef int _grow(self, Py_ssize_t n) except -1
    cdef int set_slots(self, unsigned off, list pins, unsigned count) except -1
    cdef int clone_from(self, _RegisteredBuffers src, unsigned dst_off, unsigned src_off,
                        unsigned nr) except -1
    cdef int get(self, long long index, size_t *addr, size_t *length) except -1
    cdef int check(self, const char *ptr, size_t nbytes, int index) except -1
    cdef int find(self, size_t start, size_t end) noexcept


cdef class _Inflight:
    """What the kernel may still use for the submitted requests sharing one user_data."""
    cdef Py_ssize_t count
    cdef object pins              # kept alive until count drops to 0 (one object, or nested tuples)
    cdef object data              # the io_uring_sqe_set_data object, if any


# The door's reap callback: called for each completion door_reap consumes (see io_uring.door_reap).
ctypedef int (*door_reap_fn)(void *ctx, uint64_t user_data, int32_t res, uint32_t flags) except -1


cdef class io_uring_sqe        # (below)


cdef class io_uring:
    cdef c.ioring ring
    cdef bint initialized
    cdef uint32_t *_slot_ref      # per SQE slot: _pin_store ref of what its prep pinned (0: nothing)
    cdef unsigned _nslots
    cdef list _slot_data          # per SQE slot: the io_uring_sqe_set_data object
    cdef bint _has_data           # some SQE carried a set_data object: CQE copies look it up
    cdef dict _buf_rings          # bgid -> io_uring_buf_ring registered with this ring
    cdef list _provided           # buffers given with PROVIDE_BUFFERS (the kernel keeps them)
    cdef dict _inflight           # user_data -> _Inflight: submitted requests with a set_data object
                                  # (and the batch layer's interrupted batches)
    cdef ioring_udcount _flight   # user_data -> count and pins ref: the other submitted requests
    cdef list _pin_store          # what _flight's requests pinned, at index ref - 1 (None: free)
    cdef uint32_t *_pin_free      # free indices of _pin_store
    cdef uint32_t _pin_nfree
    cdef uint32_t _pin_cap
    cdef Py_buffer *_pin_views    # per _pin_store index (capacity _pin_cap): a buffer export held
                                  # in place of an object (obj NULL: none; the store holds None)
    cdef unsigned _tracked        # SQEs before this SQ index have been tracked (_flight or _inflight)
    cdef _RegisteredBuffers _reg_buffers  # the registered buffer table (never None)
    cdef int _blocking            # blocking calls in progress (the GIL is released in them)
    cdef dict _foreign            # user_data -> CQEs expected that complete no request (tags, msg_ring)
    cdef unsigned long _generation   # the fork generation it was created in
    cdef unsigned long _incarnation  # new at every queue_init, unique across rings (_new_incarnation):
                                     # SQEs and CQE copies of another ring or an earlier one are stale
    cdef object _cqe_a            # the two CQE copies made last (io_uring_cqe, no data): one nobody
    cdef object _cqe_b            # else holds any more is refilled by _copy_cqe
    cdef bint _cqe_last_b         # _cqe_b is the newer of the two
    cdef object _spare_sqe        # io_uring_sqe objects of this ring their holders dropped, parked
    cdef object _spare_sqe2       # for the next get_sqe (they refer to _NO_RING meanwhile: no cycle)
    cdef object _spare_iter       # the same for io_uring_for_each_cqe's iterator
    cdef object _ident            # (st_dev, st_ino) of the ring's file while it is initialized
    cdef str _busy                # what holds the ring for itself (Ring.run_stream), None: free
    cdef object __weakref__

    cdef void _expect_foreign(self, uint64_t user_data)
    cdef bint _in_fork_child(self)

    cdef int _check(self) except -1
    cdef int _refuse_busy(self) except -1
    cdef c.io_uring_sqe *_sqe(self, unsigned seq, unsigned long incarnation) except NULL
    cdef int _track_record(self, unsigned slot, uint64_t ud, uint32_t ref) except -1
    cdef Py_ssize_t _requests_tracked(self)
    cdef uint32_t _pin_index(self) except 0
    cdef uint32_t _pin_put(self, object pins) except 0
    cdef uint32_t _pin_put_view(self, Py_buffer *view) except 0
    cdef object _pin_obj(self, uint32_t ref)
    cdef int _pin_set(self, uint32_t ref, object obj) except -1
    cdef int _pin_drop(self, uint32_t ref) except -1
    cdef int _settle(self, uint64_t ud) except -1
    cdef void _forget_flight(self)
    cdef void _release_views(self)
    cdef int _size_slots(self, unsigned n) except -1
    cdef int _wait(self, c.io_uring_cqe **cqe_ptr, unsigned submit, unsigned wait_nr,
                   c.ioring_kernel_timespec *ts, void *sigmask) except? -1
    cdef void _quiesce(self)
    cdef void _untrack_unconsumed(self)
    cdef list _flight_keys(self)
    cdef void _leak(self, str why)
    cdef void _release_all(self)
    cdef int _check_fixed(self, const char *ptr, size_t nbytes, int buf_index) except -1

    # The door: the cdef API another module drives this ring through (docs/ARCHITECTURE.md).
    # Used by the Windows emulation (ioring/_winioring_linux.pyx); door_claim/door_release by the
    # stream (_stream.pyx), the file engines (_fileops.pyx) and the C reference loops (_bench.pyx).
    cdef c.io_uring_sqe *door_try_acquire(self) except? NULL
    cdef c.io_uring_sqe *door_acquire(self) except? NULL
    cdef int door_pin(self, c.io_uring_sqe *sqe, object obj) except -1
    cdef int door_submit(self) except? -1
    cdef int door_enter(self, bint submit, unsigned wait_nr, c.ioring_kernel_timespec *ts) except? -1
    cdef unsigned door_reap(self, door_reap_fn fn, void *ctx, unsigned max_cqes) except? 0xFFFFFFFF
    cdef bint door_exit(self) except -1
    # The door, continued: what the Pythonic layer (Ring, its file/send engines, its batches)
    # needs beyond acquire/pin/submit/enter/reap (used by ioring/_ring.pyx and its .pxi).
    cdef int door_check(self) except -1
    cdef bint door_in_fork_child(self) noexcept
    cdef unsigned door_cq_ready(self) noexcept
    cdef bint door_cq_needs_flush(self) noexcept
    cdef unsigned door_sq_ready(self) noexcept
    cdef unsigned door_sq_space(self) noexcept
    cdef unsigned door_sq_tail(self) noexcept
    cdef unsigned door_sq_entries(self) noexcept
    cdef c.io_uring_sqe *door_next_sqe(self) noexcept
    cdef void door_own_begin(self)
    cdef c.ioring *door_own_ring(self) noexcept
    cdef void door_own_end(self) noexcept
    cdef int door_keep(self, uint64_t user_data, object pins) except -1
    cdef int door_submit_before(self, unsigned start) except? -1
    cdef int door_submit_events(self) except? -1
    cdef int door_wait_once(self, c.ioring_kernel_timespec *ts) except? -1
    cdef void door_hold(self) noexcept
    cdef void door_unhold(self) noexcept
    cdef c.ioring *door_claim(self, str name) except NULL
    cdef void door_release(self) noexcept
    cdef int door_registered(self, unsigned index, size_t *addr, size_t *length) except -1
    cdef int door_registered_find(self, const char *ptr, size_t nbytes) noexcept
    cdef Py_ssize_t door_registered_count(self) noexcept
    cdef int door_check_fixed(self, const char *ptr, size_t nbytes, int buf_index) except -1
    cdef c.io_uring_sqe *door_queued_sqe(self, unsigned seq) noexcept
    cdef unsigned door_sqe_index(self, c.io_uring_sqe *sqe) noexcept


cdef class io_uring_sqe:
    cdef io_uring ring
    cdef unsigned seq             # SQ index the SQE was handed out at
    cdef unsigned long incarnation   # the ring's incarnation when it was handed out
    cdef c.io_uring_sqe *_own     # a free-standing SQE's own 128 bytes (io_uring_sqe()), else NULL
    cdef object _own_pins         # what preps and assignments pinned for a free-standing SQE
    cdef object _own_mem          # the _SqeMemory _own points into

    cdef c.io_uring_sqe *_ptr(self) except NULL
    cdef c.io_uring_sqe *_begin(self) except NULL
    cdef int _pin(self, object obj) except -1
    cdef int _pin_more(self, object obj) except -1
    cdef object _pins(self)


cdef class io_uring_cqe:
    cdef readonly uint64_t user_data  # the C values (this module's code reads these) ...
    cdef readonly int32_t res
    cdef readonly uint32_t flags
    cdef object _user_data_obj        # ... and the ints Python's cqe.user_data/res/flags read
    cdef object _res_obj              # (object slots: see _fast_cqe_fields)
    cdef object _flags_obj
    cdef uint64_t _big[2]
    cdef bint _is_big
    cdef const void *_ring_addr     # the ring's address, only compared (no reference: see _copy_cqe)
    cdef unsigned _pos
    cdef unsigned long _incarnation
    cdef object _data


cdef class io_uring_buf_ring:
    cdef c.io_uring_buf_ring *br
    cdef unsigned nentries
    cdef int bgid
    cdef bint mapped              # mmap'd by io_uring_setup_buf_ring: unmapped when freed
    cdef _Buffer memory           # user memory given with io_uring_buf_reg
    cdef dict _pins               # (address, length) -> _Buffer handed to the kernel
    cdef dict _by_bid             # bid -> (_Buffer, length) last added under that bid
    cdef unsigned long _generation   # the fork generation it was set up in

    cdef void _detach(self)


# ---- the other classes of the build unit (so that another module can cimport any of them) ----

# liburing.pyx

cdef class kernel_timespec:
    cdef c.ioring_kernel_timespec ts

cdef class open_how:
    cdef c.ioring_open_how how

cdef class statx_timestamp:
    cdef readonly long long tv_sec
    cdef readonly unsigned tv_nsec

cdef class statx:
    cdef c.ioring_statx st

cdef class io_sqring_offsets:
    cdef readonly uint32_t head, tail, ring_mask, ring_entries, flags, dropped, array
    cdef readonly uint64_t user_addr

cdef class io_cqring_offsets:
    cdef readonly uint32_t head, tail, ring_mask, ring_entries, overflow, cqes, flags
    cdef readonly uint64_t user_addr

cdef class io_uring_params:
    cdef c.io_uring_params p

cdef class io_uring_probe_op:
    cdef readonly uint8_t op
    cdef readonly uint16_t flags

cdef class io_uring_probe:
    cdef c.io_uring_probe *probe

cdef class io_uring_sq:
    cdef io_uring _ring
    cdef c.ioring_sq *_sq(self) except NULL

cdef class io_uring_cq:
    cdef io_uring _ring
    cdef c.ioring_cq *_cq(self) except NULL

cdef class _SqeMemory:
    cdef c.io_uring_sqe *sqe

cdef class _Sigmask:
    cdef sigset_t mask

cdef class _CqeIterator:
    cdef io_uring ring
    cdef unsigned head

cdef class io_uring_cqe_iter:
    cdef io_uring ring
    cdef unsigned head
    cdef unsigned tail

# _prep_fs.pxi

cdef class epoll_event:
    cdef _epoll_event_t ev

cdef class epoll_event_array:
    cdef _epoll_event_t *events
    cdef Py_ssize_t count
    cdef Py_ssize_t _index(self, Py_ssize_t i) except -1

cdef class siginfo:
    cdef siginfo_t si

cdef class futex_waitv:
    cdef c.ioring_futex_waitv fw
    cdef _Buffer _word
    cdef object _uaddr

cdef class _FutexWaitvArray:
    cdef c.ioring_futex_waitv *items
    cdef unsigned count
    cdef list entries

cdef class _FdArray:
    cdef int *items
    cdef unsigned count
    cdef object keep

# _prep_net.pxi

cdef class sockaddr:
    cdef c_sockaddr_storage ss
    cdef socklen_t _len

cdef class msghdr:
    cdef c_msghdr hdr
    cdef sockaddr _name
    cdef tuple _iov_objs
    cdef list _iov_bufs
    cdef iovec *_iovecs
    cdef object _control_obj
    cdef _Buffer _control
    cdef bint _iov_writable
    cdef bint _control_writable
    cdef bint _ready

cdef class io_uring_recvmsg_out:
    cdef _Buffer _buf
    cdef object _view
    cdef Py_ssize_t _len
    cdef size_t _namecap          # msg_namelen of the msghdr it was validated against
    cdef c.io_uring_recvmsg_out *_out(self) except NULL

cdef class cmsghdr:
    cdef io_uring_recvmsg_out _o
    cdef Py_ssize_t _off
    cdef c_cmsghdr *_hdr(self) except NULL

# _sqe_fields.pxi

cdef class _SqeField:
    cdef str name
    cdef unsigned off
    cdef unsigned size
    cdef bint signed


# ---- the int arrays of _convert.pxi, the structs of _register_structs.pxi, _buf_ring.pxi and
# _wait_reg.pxi (their methods are there) ---------------------------------------------------------

cdef class _U64Array:
    cdef uint64_t *items

cdef class _IntArray:
    cdef int *items
    cdef unsigned count

cdef class io_uring_restriction:
    cdef c._s_restriction res

cdef class io_uring_sync_cancel_reg:
    cdef c._s_sync_cancel_reg reg
    cdef kernel_timespec _timeout

cdef class io_uring_napi:
    cdef c._s_napi napi

cdef class io_uring_clock_register:
    cdef c._s_clock_register reg

cdef class io_uring_region_desc:
    cdef c._s_region_desc rd
    cdef _Buffer _mem

cdef class io_uring_mem_region_reg:
    cdef c._s_mem_region_reg reg
    cdef io_uring_region_desc _desc

cdef class io_uring_zcrx_offsets:
    cdef readonly uint32_t head, tail, rqes

cdef class io_uring_zcrx_area_reg:
    cdef c._s_zcrx_area_reg area
    cdef _Buffer _mem

cdef class io_uring_zcrx_ifq_reg:
    cdef c._s_zcrx_ifq_reg reg
    cdef io_uring_zcrx_area_reg _area
    cdef io_uring_region_desc _region

cdef class zcrx_ctrl:
    cdef c._s_zcrx_ctrl ctrl

cdef class io_uring_bpf_filter:
    cdef c._s_bpf_filter f
    cdef c._s_sock_filter *insns
    cdef unsigned ninsns

cdef class io_uring_bpf:
    cdef c._s_bpf bpf
    cdef io_uring_bpf_filter _filter

cdef class io_uring_query_opcode:
    cdef c._s_query_opcode q

cdef class io_uring_query_scq:
    cdef c._s_query_scq q

cdef class io_uring_query_hdr:
    cdef c._s_query_hdr hdr
    cdef object _data_obj
    cdef _Buffer _data_buf
    cdef io_uring_query_hdr _next

cdef class io_uring_getevents_arg:
    cdef c._s_getevents_arg arg
    cdef _Sigmask _sigmask
    cdef kernel_timespec _ts
    cdef object _signals

cdef class io_uring_buf_reg:
    cdef c.io_uring_buf_reg reg
    cdef io_uring_buf_ring _ring_view

cdef class io_uring_reg_wait_region:
    cdef wr.c_reg_wait *slots
    cdef size_t size
    cdef readonly unsigned nentries

cdef class io_uring_reg_wait:
    cdef io_uring_reg_wait_region region
    cdef wr.c_reg_wait *slot


# ---- the door's preps (ioring/_prep*.pxi) ---------------------------------------------------------
# The encoding of the thin layer's preps that convert or pin an argument, for an SQE the caller took
# with door_acquire (``sqe`` None, ``s`` that SQE; or an io_uring_sqe, as the def preps call them):
# arguments checked as io_uring_prep_* checks them, the SQE encoded, and the return value is what
# must stay pinned until the completion (door_pin it). The Pythonic layer's request methods
# (Ring.read, ...) prepare through these; preps that convert nothing are the C core's own
# (c.ioring_prep_nop, ...).
cdef object door_prep_read(io_uring_sqe sqe, c.io_uring_sqe *s, int fd, object buf, long long nbytes,
                           object offset)
cdef object door_prep_write(io_uring_sqe sqe, c.io_uring_sqe *s, int fd, object buf, long long nbytes,
                            object offset)
cdef object door_prep_rwv(io_uring_sqe sqe, c.io_uring_sqe *s, int fd, object iovecs, object nr_vecs,
                          object offset, int flags, bint reading)
cdef object door_prep_rw_fixed(io_uring_sqe sqe, io_uring ring, c.io_uring_sqe *s, int fd, object buf,
                               long long nbytes, object offset, int buf_index, bint reading)
cdef object door_prep_timeout(io_uring_sqe sqe, c.io_uring_sqe *s, kernel_timespec ts, unsigned count,
                              unsigned flags)
cdef object door_prep_openat(io_uring_sqe sqe, c.io_uring_sqe *s, int dfd, object path, int flags,
                             unsigned mode)
cdef object door_prep_statx(io_uring_sqe sqe, c.io_uring_sqe *s, int dfd, object path, int flags,
                            unsigned mask, statx statxbuf)
cdef object door_prep_send(io_uring_sqe sqe, c.io_uring_sqe *s, int sockfd, object buf, long long len,
                           int flags)
cdef object door_prep_recv(io_uring_sqe sqe, c.io_uring_sqe *s, int sockfd, object buf, long long len,
                           int flags)
cdef object door_prep_splice(io_uring_sqe sqe, c.io_uring_sqe *s, int fd_in, object off_in, int fd_out,
                             object off_out, unsigned nbytes, unsigned splice_flags)
cdef object door_prep_connect(io_uring_sqe sqe, c.io_uring_sqe *s, int fd, sockaddr addr, object addrlen)
