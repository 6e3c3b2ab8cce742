"""Type stubs for ioring.liburing: liburing 2.15's C API, one-to-one (see DESIGN.md)."""
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Final, Optional, Union, final

from typing_extensions import Buffer, Self, disjoint_base

_Path = Union[str, bytes]
_Signals = Iterable[int]
# What a field the opcode uses as a user address (and io_uring_prep_rw's addr) takes: pinned.
_AddressObject = Union[Buffer, str, "os.PathLike[str]", "os.PathLike[bytes]", Sequence[Buffer],
                       Sequence["futex_waitv"], "kernel_timespec", "statx", "open_how", "sockaddr",
                       "msghdr", "epoll_event", "epoll_event_array", "siginfo"]
_SqeAddress = Union[None, int, _AddressObject]

IO_URING_VERSION_MAJOR: Final[int]
IO_URING_VERSION_MINOR: Final[int]

class IntRangeError(OverflowError, ValueError):
    """An int argument outside the range of its C type; both a ValueError and an OverflowError."""

@final
class kernel_timespec:
    """struct __kernel_timespec."""
    tv_sec: int
    tv_nsec: int
    def __init__(self, tv_sec: int = ..., tv_nsec: int = ...) -> None: ...

@final
class open_how:
    """struct open_how (openat2)."""
    flags: int
    mode: int
    resolve: int
    def __init__(self, flags: int = ..., mode: int = ..., resolve: int = ...) -> None: ...

@final
class statx_timestamp:
    @property
    def tv_sec(self) -> int: ...
    @property
    def tv_nsec(self) -> int: ...

@final
class statx:
    """struct statx, filled in place by io_uring_prep_statx."""
    def __init__(self) -> None: ...
    @property
    def stx_mask(self) -> int: ...
    @property
    def stx_blksize(self) -> int: ...
    @property
    def stx_attributes(self) -> int: ...
    @property
    def stx_nlink(self) -> int: ...
    @property
    def stx_uid(self) -> int: ...
    @property
    def stx_gid(self) -> int: ...
    @property
    def stx_mode(self) -> int: ...
    @property
    def stx_ino(self) -> int: ...
    @property
    def stx_size(self) -> int: ...
    @property
    def stx_blocks(self) -> int: ...
    @property
    def stx_attributes_mask(self) -> int: ...
    @property
    def stx_atime(self) -> statx_timestamp: ...
    @property
    def stx_btime(self) -> statx_timestamp: ...
    @property
    def stx_ctime(self) -> statx_timestamp: ...
    @property
    def stx_mtime(self) -> statx_timestamp: ...
    @property
    def stx_rdev_major(self) -> int: ...
    @property
    def stx_rdev_minor(self) -> int: ...
    @property
    def stx_dev_major(self) -> int: ...
    @property
    def stx_dev_minor(self) -> int: ...
    @property
    def stx_mnt_id(self) -> int: ...
    @property
    def stx_dio_mem_align(self) -> int: ...
    @property
    def stx_dio_offset_align(self) -> int: ...
    @property
    def stx_subvol(self) -> int: ...
    @property
    def stx_atomic_write_unit_min(self) -> int: ...
    @property
    def stx_atomic_write_unit_max(self) -> int: ...
    @property
    def stx_atomic_write_segments_max(self) -> int: ...
    @property
    def stx_dio_read_offset_align(self) -> int: ...
    @property
    def stx_atomic_write_unit_max_opt(self) -> int: ...

@final
class io_sqring_offsets:
    @property
    def head(self) -> int: ...
    @property
    def tail(self) -> int: ...
    @property
    def ring_mask(self) -> int: ...
    @property
    def ring_entries(self) -> int: ...
    @property
    def flags(self) -> int: ...
    @property
    def dropped(self) -> int: ...
    @property
    def array(self) -> int: ...
    @property
    def user_addr(self) -> int: ...

@final
class io_cqring_offsets:
    @property
    def head(self) -> int: ...
    @property
    def tail(self) -> int: ...
    @property
    def ring_mask(self) -> int: ...
    @property
    def ring_entries(self) -> int: ...
    @property
    def overflow(self) -> int: ...
    @property
    def cqes(self) -> int: ...
    @property
    def flags(self) -> int: ...
    @property
    def user_addr(self) -> int: ...

@final
class io_uring_params:
    """struct io_uring_params."""
    sq_entries: int
    cq_entries: int
    flags: int
    sq_thread_cpu: int
    sq_thread_idle: int
    wq_fd: int
    @property
    def features(self) -> int: ...
    @property
    def sq_off(self) -> io_sqring_offsets: ...
    @property
    def cq_off(self) -> io_cqring_offsets: ...
    def __init__(self, flags: int = ..., sq_entries: int = ..., cq_entries: int = ...,
                 sq_thread_cpu: int = ..., sq_thread_idle: int = ..., wq_fd: int = ...) -> None: ...

@final
class io_uring_probe_op:
    @property
    def op(self) -> int: ...
    @property
    def flags(self) -> int: ...

@final
class io_uring_probe:
    """struct io_uring_probe."""
    @property
    def last_op(self) -> int: ...
    @property
    def ops_len(self) -> int: ...
    @property
    def ops(self) -> list[io_uring_probe_op]: ...

@disjoint_base
class io_uring:
    """struct io_uring: create empty, fill with io_uring_queue_init."""
    def __init__(self) -> None: ...
    @property
    def ring_fd(self) -> Optional[int]: ...
    @property
    def enter_ring_fd(self) -> Optional[int]: ...
    @property
    def flags(self) -> Optional[int]: ...
    @property
    def features(self) -> Optional[int]: ...
    @property
    def int_flags(self) -> Optional[int]: ...
    @property
    def sq_entries(self) -> Optional[int]: ...
    @property
    def cq_entries(self) -> Optional[int]: ...
    @property
    def sq(self) -> io_uring_sq: ...
    @property
    def cq(self) -> io_uring_cq: ...

@final
class io_uring_sq:
    """ring->sq; pointer members read as the value they point to (C's *ring->sq.kdropped)."""
    @property
    def khead(self) -> int: ...
    @property
    def ktail(self) -> int: ...
    @property
    def kflags(self) -> int: ...
    @property
    def kdropped(self) -> int: ...
    @property
    def sqe_head(self) -> int: ...
    @property
    def sqe_tail(self) -> int: ...
    @property
    def ring_mask(self) -> int: ...
    @property
    def ring_entries(self) -> int: ...

@final
class io_uring_cq:
    """ring->cq; pointer members read as the value they point to (C's *ring->cq.koverflow)."""
    @property
    def khead(self) -> int: ...
    @property
    def ktail(self) -> int: ...
    @property
    def kflags(self) -> Optional[int]: ...
    @property
    def koverflow(self) -> int: ...
    @property
    def ring_mask(self) -> int: ...
    @property
    def ring_entries(self) -> int: ...

@final
class io_uring_sqe:
    """struct io_uring_sqe: a ring's slot (io_uring_get_sqe, valid until submitted) or, made as
    io_uring_sqe(), a zeroed SQE of its own (never submitted). Every field and union alias by
    its C name; a field the opcode uses as a user address takes an object, pinned."""
    def __init__(self) -> None: ...
    flags: int
    user_data: int
    opcode: int
    ioprio: int
    fd: int
    cmd_op: int
    level: int
    optname: int
    len: int
    rw_flags: int
    fsync_flags: int
    poll_events: int
    poll32_events: int
    sync_range_flags: int
    msg_flags: int
    timeout_flags: int
    accept_flags: int
    cancel_flags: int
    open_flags: int
    statx_flags: int
    fadvise_advice: int
    splice_flags: int
    rename_flags: int
    unlink_flags: int
    hardlink_flags: int
    xattr_flags: int
    msg_ring_flags: int
    uring_cmd_flags: int
    waitid_flags: int
    futex_flags: int
    install_fd_flags: int
    nop_flags: int
    pipe_flags: int
    buf_index: int
    buf_group: int
    personality: int
    splice_fd_in: int
    file_index: int
    zcrx_ifq_idx: int
    optlen: int
    addr_len: int
    write_stream: int
    attr_type_mask: int
    @property
    def off(self) -> int: ...
    @off.setter
    def off(self, value: _SqeAddress) -> None: ...
    @property
    def addr2(self) -> int: ...
    @addr2.setter
    def addr2(self, value: _SqeAddress) -> None: ...
    @property
    def addr(self) -> int: ...
    @addr.setter
    def addr(self, value: _SqeAddress) -> None: ...
    @property
    def splice_off_in(self) -> int: ...
    @splice_off_in.setter
    def splice_off_in(self, value: _SqeAddress) -> None: ...
    @property
    def addr3(self) -> int: ...
    @addr3.setter
    def addr3(self, value: _SqeAddress) -> None: ...
    @property
    def attr_ptr(self) -> int: ...
    @attr_ptr.setter
    def attr_ptr(self, value: _SqeAddress) -> None: ...
    @property
    def optval(self) -> int: ...
    @optval.setter
    def optval(self, value: _SqeAddress) -> None: ...
    @property
    def cmd(self) -> bytes: ...

@final
class io_uring_cqe:
    """A copy of struct io_uring_cqe."""
    def __init__(self) -> None: ...
    @property
    def user_data(self) -> int: ...
    @property
    def res(self) -> int: ...
    @property
    def flags(self) -> int: ...
    @property
    def big_cqe(self) -> Optional[tuple[int, int]]: ...

# setup / teardown
def io_uring_queue_init(entries: int, ring: io_uring, flags: int = ...) -> int: ...
def io_uring_queue_init_params(entries: int, ring: io_uring, p: io_uring_params) -> int: ...
def io_uring_queue_exit(ring: io_uring) -> None: ...

# SQEs
def io_uring_get_sqe(ring: io_uring) -> Optional[io_uring_sqe]: ...
def io_uring_sqe_set_data64(sqe: io_uring_sqe, data: int) -> None: ...
def io_uring_sqe_set_flags(sqe: io_uring_sqe, flags: int) -> None: ...
def io_uring_sq_ready(ring: io_uring) -> int: ...
def io_uring_sq_space_left(ring: io_uring) -> int: ...

# submit / wait
def io_uring_submit(ring: io_uring) -> int: ...
def io_uring_submit_and_wait(ring: io_uring, wait_nr: int) -> int: ...
def io_uring_submit_and_wait_timeout(ring: io_uring, wait_nr: int, ts: Optional[kernel_timespec] = ...,
                                     sigmask: Optional[_Signals] = ...) -> tuple[int, Optional[io_uring_cqe]]: ...
def io_uring_wait_cqe(ring: io_uring) -> io_uring_cqe: ...
def io_uring_wait_cqe_nr(ring: io_uring, wait_nr: int) -> Optional[io_uring_cqe]: ...
def io_uring_wait_cqes(ring: io_uring, wait_nr: int, ts: Optional[kernel_timespec] = ...,
                       sigmask: Optional[_Signals] = ...) -> Optional[io_uring_cqe]: ...
def io_uring_wait_cqe_timeout(ring: io_uring, ts: Optional[kernel_timespec] = ...) -> Optional[io_uring_cqe]: ...
def io_uring_peek_cqe(ring: io_uring) -> Optional[io_uring_cqe]: ...
def io_uring_peek_batch_cqe(ring: io_uring, count: int) -> list[io_uring_cqe]: ...
def io_uring_for_each_cqe(ring: io_uring) -> Iterator[io_uring_cqe]: ...
def io_uring_cqe_seen(ring: io_uring, cqe: io_uring_cqe) -> None: ...
def io_uring_cq_advance(ring: io_uring, nr: int) -> None: ...
def io_uring_cq_ready(ring: io_uring) -> int: ...
def io_uring_cqe_get_data64(cqe: io_uring_cqe) -> int: ...

# prep
def io_uring_prep_nop(sqe: io_uring_sqe) -> None: ...
def io_uring_prep_read(sqe: io_uring_sqe, fd: int, buf: Optional[Buffer], nbytes: int, offset: int) -> None: ...
def io_uring_prep_write(sqe: io_uring_sqe, fd: int, buf: Buffer, nbytes: int, offset: int) -> None: ...
def io_uring_prep_readv(sqe: io_uring_sqe, fd: int, iovecs: Sequence[Buffer], nr_vecs: Optional[int] = ...,
                        offset: int = ...) -> None: ...
def io_uring_prep_readv2(sqe: io_uring_sqe, fd: int, iovecs: Sequence[Buffer], nr_vecs: Optional[int] = ...,
                         offset: int = ..., flags: int = ...) -> None: ...
def io_uring_prep_writev(sqe: io_uring_sqe, fd: int, iovecs: Sequence[Buffer], nr_vecs: Optional[int] = ...,
                         offset: int = ...) -> None: ...
def io_uring_prep_writev2(sqe: io_uring_sqe, fd: int, iovecs: Sequence[Buffer], nr_vecs: Optional[int] = ...,
                          offset: int = ..., flags: int = ...) -> None: ...
def io_uring_prep_read_fixed(sqe: io_uring_sqe, fd: int, buf: Buffer, nbytes: int, offset: int,
                             buf_index: int) -> None: ...
def io_uring_prep_write_fixed(sqe: io_uring_sqe, fd: int, buf: Buffer, nbytes: int, offset: int,
                              buf_index: int) -> None: ...
def io_uring_prep_fsync(sqe: io_uring_sqe, fd: int, fsync_flags: int = ...) -> None: ...
def io_uring_prep_timeout(sqe: io_uring_sqe, ts: Optional[kernel_timespec], count: int = ..., flags: int = ...) -> None: ...
def io_uring_prep_timeout_remove(sqe: io_uring_sqe, user_data: int, flags: int = ...) -> None: ...
def io_uring_prep_link_timeout(sqe: io_uring_sqe, ts: kernel_timespec, flags: int = ...) -> None: ...
def io_uring_prep_cancel64(sqe: io_uring_sqe, user_data: int, flags: int = ...) -> None: ...
def io_uring_prep_cancel(sqe: io_uring_sqe, user_data: object, flags: int = ...) -> None: ...
def io_uring_prep_cancel_fd(sqe: io_uring_sqe, fd: int, flags: int = ...) -> None: ...
def io_uring_prep_openat(sqe: io_uring_sqe, dfd: int, path: _Path, flags: int, mode: int = ...) -> None: ...
def io_uring_prep_openat2(sqe: io_uring_sqe, dfd: int, path: _Path, how: open_how) -> None: ...
def io_uring_prep_close(sqe: io_uring_sqe, fd: int) -> None: ...
def io_uring_prep_statx(sqe: io_uring_sqe, dfd: int, path: _Path, flags: int, mask: int,
                        statxbuf: statx) -> None: ...
def io_uring_prep_send(sqe: io_uring_sqe, sockfd: int, buf: Union[Buffer, Sequence[Buffer], None], len: int, flags: int = ...) -> None:
    """io_uring_prep_send(3); a sequence of buffers is a vectorized send (IORING_SEND_VECTORIZED), None C's NULL."""
def io_uring_prep_recv(sqe: io_uring_sqe, sockfd: int, buf: Optional[Buffer], len: int, flags: int = ...) -> None: ...
def io_uring_prep_poll_add(sqe: io_uring_sqe, fd: int, poll_mask: int) -> None: ...
def io_uring_prep_poll_remove(sqe: io_uring_sqe, user_data: int) -> None: ...

# registration and probe
def io_uring_register_buffers(ring: io_uring, iovecs: Sequence[Buffer], nr_iovecs: Optional[int] = ...) -> int: ...
def io_uring_unregister_buffers(ring: io_uring) -> int: ...
def io_uring_register_files(ring: io_uring, files: Sequence[int], nr_files: Optional[int] = ...) -> int: ...
def io_uring_unregister_files(ring: io_uring) -> int: ...
def io_uring_register_files_update(ring: io_uring, off: int, files: Sequence[int],
                                   nr_files: Optional[int] = ...) -> int: ...
def io_uring_register_eventfd(ring: io_uring, fd: int) -> int: ...
def io_uring_register_eventfd_async(ring: io_uring, fd: int) -> int: ...
def io_uring_unregister_eventfd(ring: io_uring) -> int: ...
def io_uring_get_probe_ring(ring: io_uring) -> io_uring_probe: ...
def io_uring_get_probe() -> io_uring_probe: ...
def io_uring_free_probe(probe: io_uring_probe) -> None: ...
def io_uring_opcode_supported(probe: io_uring_probe, op: int) -> bool: ...
def io_uring_major_version() -> int: ...
def io_uring_minor_version() -> int: ...
def io_uring_check_version(major: int, minor: int) -> bool: ...

# set_data objects
def io_uring_sqe_set_data(sqe: io_uring_sqe, data: object) -> None: ...
def io_uring_cqe_get_data(cqe: io_uring_cqe) -> object: ...
def io_uring_sqe_set_buf_group(sqe: io_uring_sqe, bgid: int) -> None: ...

# provided buffers
@final
class io_uring_buf_ring:
    """struct io_uring_buf_ring."""
    @property
    def bgid(self) -> int: ...
    @property
    def nentries(self) -> int: ...
    @property
    def tail(self) -> Optional[int]: ...
    def buffer(self, bid: int, nbytes: Optional[int] = ...) -> memoryview: ...

@final
class io_uring_buf_reg:
    """struct io_uring_buf_reg over user memory, or (ring_addr None, IOU_PBUF_RING_MMAP) a
    ring the kernel allocates and io_uring_register_buf_ring maps."""
    def __init__(self, ring_addr: Optional[Buffer], ring_entries: int, bgid: int, flags: int = ...) -> None: ...
    @property
    def br(self) -> Optional[io_uring_buf_ring]: ...
    @property
    def ring_entries(self) -> int: ...
    @property
    def bgid(self) -> int: ...
    @property
    def flags(self) -> int: ...

def io_uring_register_buf_ring(ring: io_uring, reg: io_uring_buf_reg, flags: int = ...) -> int: ...
def io_uring_unregister_buf_ring(ring: io_uring, bgid: int) -> int: ...
def io_uring_setup_buf_ring(ring: io_uring, nentries: int, bgid: int, flags: int = ...) -> io_uring_buf_ring: ...
def io_uring_free_buf_ring(ring: io_uring, br: io_uring_buf_ring, nentries: int, bgid: int) -> int: ...
def io_uring_buf_ring_init(br: io_uring_buf_ring) -> None: ...
def io_uring_buf_ring_mask(ring_entries: int) -> int: ...
def io_uring_buf_ring_add(br: io_uring_buf_ring, buf: Buffer, len: int, bid: int, mask: int, buf_offset: int) -> None: ...
def io_uring_buf_ring_advance(br: io_uring_buf_ring, count: int) -> None: ...
def __io_uring_buf_ring_cq_advance(ring: io_uring, br: io_uring_buf_ring, cq_count: int, buf_count: int) -> None: ...
def io_uring_buf_ring_cq_advance(ring: io_uring, br: io_uring_buf_ring, count: int) -> None: ...
def io_uring_buf_ring_head(ring: io_uring, buf_group: int) -> int: ...
def io_uring_buf_ring_available(ring: io_uring, br: io_uring_buf_ring, bgid: int) -> int: ...
def io_uring_prep_provide_buffers(sqe: io_uring_sqe, addr: Buffer, len: int, nr: int, bgid: int, bid: int) -> None: ...
def io_uring_prep_remove_buffers(sqe: io_uring_sqe, nr: int, bgid: int) -> None: ...

# ring control and CQ/SQ state
@final
class io_uring_cqe_iter:
    """struct io_uring_cqe_iter."""

def io_uring_cq_has_overflow(ring: io_uring) -> bool: ...
def io_uring_cq_eventfd_enabled(ring: io_uring) -> bool: ...
def io_uring_cq_eventfd_toggle(ring: io_uring, enabled: bool) -> int: ...
def io_uring_get_events(ring: io_uring) -> int: ...
def io_uring_submit_and_get_events(ring: io_uring) -> int: ...
def io_uring_load_sq_head(ring: io_uring) -> int: ...
def io_uring_sqring_wait(ring: io_uring) -> int: ...
def io_uring_set_iowait(ring: io_uring, enable_iowait: bool) -> int: ...
def io_uring_ring_dontfork(ring: io_uring) -> int: ...
def io_uring_register_ring_fd(ring: io_uring) -> int: ...
def io_uring_unregister_ring_fd(ring: io_uring) -> int: ...
def io_uring_close_ring_fd(ring: io_uring) -> int: ...
def io_uring_resize_rings(ring: io_uring, p: io_uring_params) -> int: ...
def io_uring_wait_cqes_min_timeout(ring: io_uring, wait_nr: int, ts: Optional[kernel_timespec],
                                   min_wait_usec: int, sigmask: Optional[_Signals] = ...) -> Optional[io_uring_cqe]: ...
def io_uring_submit_and_wait_min_timeout(ring: io_uring, wait_nr: int, ts: Optional[kernel_timespec],
                                         min_wait: int, sigmask: Optional[_Signals] = ...) -> tuple[int, Optional[io_uring_cqe]]: ...
def io_uring_cqe_nr(cqe: io_uring_cqe) -> int: ...
def io_uring_cqe_shift(ring: io_uring) -> int: ...
def io_uring_cqe_shift_from_flags(flags: int) -> int: ...
def io_uring_sqe_shift(ring: io_uring) -> int: ...
def io_uring_sqe_shift_from_flags(flags: int) -> int: ...
def io_uring_initialize_sqe(sqe: io_uring_sqe) -> None: ...
def io_uring_get_sqe128(ring: io_uring) -> Optional[io_uring_sqe]: ...
def io_uring_cqe_iter_init(ring: io_uring) -> io_uring_cqe_iter: ...
def io_uring_cqe_iter_next(it: io_uring_cqe_iter) -> Optional[io_uring_cqe]: ...
def io_uring_queue_mmap(fd: int, p: io_uring_params, ring: io_uring) -> int:
    """io_uring_queue_mmap(3); ValueError for the ring of a live io_uring (any fd of it)."""
def io_uring_memory_size_params(entries: int, p: io_uring_params) -> int: ...
def io_uring_memory_size(entries: int, flags: int) -> int: ...
def io_uring_queue_init_mem(entries: int, ring: io_uring, p: io_uring_params, buf: Buffer) -> int: ...
def io_uring_mlock_size_params(entries: int, p: io_uring_params) -> int: ...
def io_uring_mlock_size(entries: int, flags: int) -> int: ...

# registered wait regions
@final
class io_uring_reg_wait:
    """One slot of a wait region (struct io_uring_reg_wait)."""
    ts: kernel_timespec
    min_wait_usec: int
    flags: int

@final
class io_uring_reg_wait_region:
    """nentries struct io_uring_reg_wait slots in page-aligned memory."""
    @property
    def nentries(self) -> int: ...
    def __new__(cls, nentries: int) -> Self: ...
    def __len__(self) -> int: ...
    def __getitem__(self, i: int, /) -> io_uring_reg_wait: ...

def io_uring_register_wait_reg(ring: io_uring, reg: io_uring_reg_wait_region, nr: Optional[int] = ...) -> int: ...
def io_uring_submit_and_wait_reg(ring: io_uring, wait_nr: int, reg_index: int) -> tuple[int, Optional[io_uring_cqe]]: ...

# register group (tags, sparse tables, clone, personality, restrictions, io-wq, sync cancel, napi, clock, regions, zcrx, bpf, query)
IO_URING_BPF_FILTER_DENY_REST: Final[int]
IO_URING_BPF_FILTER_SZ_STRICT: Final[int]
IO_URING_BPF_CMD_FILTER: Final[int]

# registered buffers and files: tags, sparse tables, cloning, allocation range
def io_uring_register_buffers_tags(ring: io_uring, iovecs: Sequence[Optional[Buffer]],
                                   tags: Optional[Sequence[int]], nr: Optional[int] = ...) -> int:
    """io_uring_register_buffers_tags(3): None in iovecs is an empty slot; tag CQEs on release."""
def io_uring_register_buffers_sparse(ring: io_uring, nr: int) -> int:
    """io_uring_register_buffers_sparse(3)."""
def io_uring_register_buffers_update_tag(ring: io_uring, off: int, iovecs: Sequence[Optional[Buffer]],
                                         tags: Optional[Sequence[int]], nr: Optional[int] = ...) -> int:
    """io_uring_register_buffers_update_tag(3): returns how many slots were updated."""
def io_uring_clone_buffers(dst: io_uring, src: io_uring) -> int:
    """io_uring_clone_buffers(3)."""
def io_uring_clone_buffers_offset(dst: io_uring, src: io_uring, dst_off: int, src_off: int, nr: int,
                                  flags: int = ...) -> int:
    """io_uring_clone_buffers_offset(3)."""
def io_uring_register_files_tags(ring: io_uring, files: Sequence[int], tags: Optional[Sequence[int]],
                                 nr: Optional[int] = ...) -> int:
    """io_uring_register_files_tags(3)."""
def io_uring_register_files_sparse(ring: io_uring, nr: int) -> int:
    """io_uring_register_files_sparse(3)."""
def io_uring_register_files_update_tag(ring: io_uring, off: int, files: Sequence[int],
                                       tags: Optional[Sequence[int]], nr_files: Optional[int] = ...) -> int:
    """io_uring_register_files_update_tag(3): returns how many slots were updated."""
def io_uring_register_file_alloc_range(ring: io_uring, off: int, len: int) -> int:
    """io_uring_register_file_alloc_range(3)."""

# personalities, restrictions
def io_uring_register_personality(ring: io_uring) -> int:
    """io_uring_register_personality(3): returns the personality id."""
def io_uring_unregister_personality(ring: io_uring, id: int) -> int:
    """io_uring_unregister_personality(3)."""

@final
class io_uring_restriction:
    """struct io_uring_restriction (register_op / sqe_op / sqe_flags are one C union)."""
    opcode: int
    register_op: int
    sqe_op: int
    sqe_flags: int
    def __init__(self, opcode: int = ..., register_op: Optional[int] = ..., sqe_op: Optional[int] = ...,
                 sqe_flags: Optional[int] = ...) -> None: ...

def io_uring_register_restrictions(ring: io_uring, res: Sequence[io_uring_restriction],
                                   nr_res: Optional[int] = ...) -> int:
    """io_uring_register_restrictions(3)."""
def io_uring_enable_rings(ring: io_uring) -> int:
    """io_uring_enable_rings(3)."""

# io-wq
def io_uring_register_iowq_aff(ring: io_uring, cpusz: Union[int, Iterable[int], None],
                               mask: Optional[Iterable[int]] = None) -> int:
    """io_uring_register_iowq_aff(3): (ring, cpusz, mask) or (ring, mask); mask = CPU numbers."""
def io_uring_unregister_iowq_aff(ring: io_uring) -> int:
    """io_uring_unregister_iowq_aff(3)."""
def io_uring_register_iowq_max_workers(ring: io_uring, values: Sequence[int]) -> list[int]:
    """io_uring_register_iowq_max_workers(3): returns the previous [bounded, unbounded]."""

# synchronous cancel and message
@final
class io_uring_sync_cancel_reg:
    """struct io_uring_sync_cancel_reg; timeout None = kernel_timespec(-1, -1), forever."""
    addr: int
    fd: int
    flags: int
    opcode: int
    timeout: kernel_timespec
    def __init__(self, addr: int = ..., fd: int = ..., flags: int = ...,
                 timeout: Optional[kernel_timespec] = ..., opcode: int = ...) -> None: ...

def io_uring_register_sync_cancel(ring: io_uring, reg: io_uring_sync_cancel_reg) -> int:
    """io_uring_register_sync_cancel(3)."""
def io_uring_register_sync_msg(sqe: Union[io_uring_sqe, Buffer]) -> int:
    """io_uring_register_sync_msg(3): an unsubmitted SQE or the bytes of one."""

# NAPI, clock
@final
class io_uring_napi:
    """struct io_uring_napi (the kernel writes the previous settings back)."""
    busy_poll_to: int
    prefer_busy_poll: int
    opcode: int
    op_param: int
    def __init__(self, busy_poll_to: int = ..., prefer_busy_poll: int = ..., opcode: int = ...,
                 op_param: int = ...) -> None: ...

def io_uring_register_napi(ring: io_uring, napi: io_uring_napi) -> int:
    """io_uring_register_napi(3)."""
def io_uring_unregister_napi(ring: io_uring, napi: Optional[io_uring_napi] = ...) -> int:
    """io_uring_unregister_napi(3)."""

@final
class io_uring_clock_register:
    """struct io_uring_clock_register."""
    clockid: int
    def __init__(self, clockid: int = ...) -> None: ...

def io_uring_register_clock(ring: io_uring, arg: io_uring_clock_register) -> int:
    """io_uring_register_clock(3)."""

# memory regions
@final
class io_uring_region_desc:
    """struct io_uring_region_desc over user memory (pinned) or kernel memory (mmap_offset)."""
    def __init__(self, user_addr: Optional[Buffer] = ..., size: Optional[int] = ..., flags: int = ...,
                 id: int = ...) -> None: ...
    @property
    def user_addr(self) -> int: ...
    @property
    def size(self) -> int: ...
    @property
    def flags(self) -> int: ...
    @property
    def id(self) -> int: ...
    @property
    def mmap_offset(self) -> int: ...

@final
class io_uring_mem_region_reg:
    """struct io_uring_mem_region_reg."""
    def __init__(self, region_uptr: io_uring_region_desc, flags: int = ...) -> None: ...
    @property
    def region_uptr(self) -> io_uring_region_desc: ...
    @property
    def flags(self) -> int: ...

def io_uring_register_region(ring: io_uring, reg: io_uring_mem_region_reg) -> int:
    """io_uring_register_region(3): user memory stays pinned until io_uring_queue_exit."""

# zero-copy receive
@final
class io_uring_zcrx_offsets:
    """struct io_uring_zcrx_offsets."""
    @property
    def head(self) -> int: ...
    @property
    def tail(self) -> int: ...
    @property
    def rqes(self) -> int: ...

@final
class io_uring_zcrx_area_reg:
    """struct io_uring_zcrx_area_reg (addr: a buffer, or a dmabuf offset with IORING_ZCRX_AREA_DMABUF)."""
    def __init__(self, addr: Union[Buffer, int, None] = ..., len: Optional[int] = ..., flags: int = ...,
                 dmabuf_fd: int = ...) -> None: ...
    @property
    def addr(self) -> int: ...
    @property
    def len(self) -> int: ...
    @property
    def rq_area_token(self) -> int: ...
    @property
    def flags(self) -> int: ...
    @property
    def dmabuf_fd(self) -> int: ...

@final
class io_uring_zcrx_ifq_reg:
    """struct io_uring_zcrx_ifq_reg."""
    def __init__(self, if_idx: int = ..., if_rxq: int = ..., rq_entries: int = ..., flags: int = ...,
                 area_ptr: Optional[io_uring_zcrx_area_reg] = ..., region_ptr: Optional[io_uring_region_desc] = ...,
                 rx_buf_len: int = ...) -> None: ...
    @property
    def if_idx(self) -> int: ...
    @property
    def if_rxq(self) -> int: ...
    @property
    def rq_entries(self) -> int: ...
    @property
    def flags(self) -> int: ...
    @property
    def area_ptr(self) -> Optional[io_uring_zcrx_area_reg]: ...
    @property
    def region_ptr(self) -> Optional[io_uring_region_desc]: ...
    @property
    def offsets(self) -> io_uring_zcrx_offsets: ...
    @property
    def zcrx_id(self) -> int: ...
    @property
    def rx_buf_len(self) -> int: ...

def io_uring_register_ifq(ring: io_uring, reg: io_uring_zcrx_ifq_reg) -> int:
    """io_uring_register_ifq(3)."""

@final
class zcrx_ctrl:
    """struct zcrx_ctrl (zcrx_fd is zc_export.zcrx_fd)."""
    def __init__(self, zcrx_id: int = ..., op: int = ...) -> None: ...
    @property
    def zcrx_id(self) -> int: ...
    @property
    def op(self) -> int: ...
    @property
    def zcrx_fd(self) -> int: ...

def io_uring_register_zcrx_ctrl(ring: io_uring, ctrl: zcrx_ctrl) -> int:
    """io_uring_register_zcrx_ctrl(3)."""

# BPF filters
@final
class io_uring_bpf_filter:
    """struct io_uring_bpf_filter; filter_ptr: (code, jt, jf, k) tuples or struct sock_filter bytes."""
    def __init__(self, opcode: int = ..., flags: int = ...,
                 filter_ptr: Union[Iterable[tuple[int, int, int, int]], Buffer, None] = ...,
                 filter_len: Optional[int] = ..., pdu_size: int = ...) -> None: ...
    @property
    def opcode(self) -> int: ...
    @property
    def flags(self) -> int: ...
    @property
    def filter_len(self) -> int: ...
    @property
    def pdu_size(self) -> int: ...
    @property
    def filter_ptr(self) -> list[tuple[int, int, int, int]]: ...

@final
class io_uring_bpf:
    """struct io_uring_bpf."""
    def __init__(self, cmd_type: int = ..., cmd_flags: int = ..., filter: Optional[io_uring_bpf_filter] = ...) -> None: ...
    @property
    def cmd_type(self) -> int: ...
    @property
    def cmd_flags(self) -> int: ...
    @property
    def filter(self) -> Optional[io_uring_bpf_filter]: ...

def io_uring_register_bpf_filter(ring: io_uring, bpf: io_uring_bpf) -> int:
    """io_uring_register_bpf_filter(3)."""
def io_uring_register_bpf_filter_task(bpf: io_uring_bpf) -> int:
    """io_uring_register_bpf_filter_task(3)."""

# queries, probe
@final
class io_uring_query_opcode:
    """struct io_uring_query_opcode."""
    def __init__(self) -> None: ...
    @property
    def nr_request_opcodes(self) -> int: ...
    @property
    def nr_register_opcodes(self) -> int: ...
    @property
    def feature_flags(self) -> int: ...
    @property
    def ring_setup_flags(self) -> int: ...
    @property
    def enter_flags(self) -> int: ...
    @property
    def sqe_flags(self) -> int: ...
    @property
    def nr_query_opcodes(self) -> int: ...

@final
class io_uring_query_scq:
    """struct io_uring_query_scq."""
    def __init__(self) -> None: ...
    @property
    def hdr_size(self) -> int: ...
    @property
    def hdr_alignment(self) -> int: ...

@final
class io_uring_query_hdr:
    """struct io_uring_query_hdr (a chain through next_entry)."""
    next_entry: Optional[io_uring_query_hdr]
    def __init__(self, query_op: int = ...,
                 query_data: Union[io_uring_query_opcode, io_uring_query_scq, Buffer, None] = ...,
                 size: Optional[int] = ..., next_entry: Optional[io_uring_query_hdr] = ...) -> None: ...
    @property
    def query_op(self) -> int: ...
    @property
    def query_data(self) -> Union[io_uring_query_opcode, io_uring_query_scq, Buffer, None]: ...
    @property
    def size(self) -> int: ...
    @property
    def result(self) -> int: ...

def io_uring_register_query(query: io_uring_query_hdr) -> int:
    """io_uring_register_query(3)."""
def io_uring_register_probe(ring: io_uring, probe: io_uring_probe, nr: int) -> int:
    """io_uring_register_probe(3)."""

# raw syscalls
@final
class io_uring_getevents_arg:
    """struct io_uring_getevents_arg (IORING_ENTER_EXT_ARG)."""
    def __init__(self, sigmask: Optional[_Signals] = ..., sigmask_sz: Optional[int] = ...,
                 min_wait_usec: int = ..., ts: Optional[kernel_timespec] = ...) -> None: ...
    @property
    def sigmask(self) -> Optional[tuple[int, ...]]: ...
    @property
    def sigmask_sz(self) -> int: ...
    @property
    def min_wait_usec(self) -> int: ...
    @property
    def ts(self) -> Optional[kernel_timespec]: ...

def io_uring_setup(entries: int, p: io_uring_params) -> int:
    """io_uring_setup(2): returns the ring fd (owned by the caller)."""
def io_uring_enter(fd: int, to_submit: int, min_complete: int, flags: int, sig: Optional[_Signals] = ...) -> int:
    """io_uring_enter(2)."""
def io_uring_enter2(fd: int, to_submit: int, min_complete: int, flags: int,
                    arg: Union[None, _Signals, io_uring_getevents_arg, int] = ..., sz: Optional[int] = ...) -> int:
    """io_uring_enter2(2)."""
def io_uring_register(fd: int, opcode: int, arg: Optional[Buffer], nr_args: int) -> int:
    """io_uring_register(2): arg's bytes are passed (the kernel may write into them); arg must
    hold what the opcode uses for nr_args (ValueError). Opcodes whose argument carries
    pointers, that change what an io_uring tracks, or that are unknown raise ValueError: use
    the typed io_uring_register_* functions."""
# END REGISTER STUBS

# fs group (io_uring_prep_* for files, paths, xattrs, pipes, epoll, futex, waitid)
@final
class epoll_event:
    """struct epoll_event { events, data } (data = epoll_data_t as u64), libc layout."""
    events: int
    data: int
    def __init__(self, events: int = ..., data: int = ...) -> None: ...

@final
class epoll_event_array:
    """A C array of struct epoll_event for io_uring_prep_epoll_wait."""
    def __new__(cls, n: int) -> Self: ...
    def __len__(self) -> int: ...
    def __getitem__(self, i: int, /) -> epoll_event: ...
    def __setitem__(self, i: int, ev: epoll_event, /) -> None: ...
    def __iter__(self) -> Iterator[epoll_event]: ...

@final
class siginfo:
    """siginfo_t, filled in place by io_uring_prep_waitid."""
    def __init__(self) -> None: ...
    @property
    def si_signo(self) -> int: ...
    @property
    def si_errno(self) -> int: ...
    @property
    def si_code(self) -> int: ...
    @property
    def si_pid(self) -> int: ...
    @property
    def si_uid(self) -> int: ...
    @property
    def si_status(self) -> int: ...

@final
class futex_waitv:
    """struct futex_waitv { val, uaddr, flags }; uaddr is a writable buffer holding the word."""
    def __init__(self, val: int, uaddr: Buffer, flags: int) -> None: ...
    @property
    def val(self) -> int: ...
    @property
    def uaddr(self) -> Buffer: ...
    @property
    def flags(self) -> int: ...

def io_uring_prep_rw(op: int, sqe: io_uring_sqe, fd: int, addr: Optional[_AddressObject], len: int,
                     offset: int) -> None: ...
def io_uring_prep_splice(sqe: io_uring_sqe, fd_in: int, off_in: int, fd_out: int, off_out: int,
                         nbytes: int, splice_flags: int = ...) -> None: ...
def io_uring_prep_tee(sqe: io_uring_sqe, fd_in: int, fd_out: int, nbytes: int,
                      splice_flags: int = ...) -> None: ...
def io_uring_prep_pipe(sqe: io_uring_sqe, fds: Buffer, pipe_flags: int = ...) -> None: ...
def io_uring_prep_pipe_direct(sqe: io_uring_sqe, fds: Buffer, pipe_flags: int, file_index: int) -> None: ...
def io_uring_prep_fallocate(sqe: io_uring_sqe, fd: int, mode: int, offset: int, len: int) -> None: ...
def io_uring_prep_ftruncate(sqe: io_uring_sqe, fd: int, len: int) -> None: ...
def io_uring_prep_fadvise(sqe: io_uring_sqe, fd: int, offset: int, len: int, advice: int) -> None: ...
def io_uring_prep_fadvise64(sqe: io_uring_sqe, fd: int, offset: int, len: int, advice: int) -> None: ...
def io_uring_prep_madvise(sqe: io_uring_sqe, addr: Buffer, length: int, advice: int) -> None: ...
def io_uring_prep_madvise64(sqe: io_uring_sqe, addr: Buffer, length: int, advice: int) -> None: ...
def io_uring_prep_sync_file_range(sqe: io_uring_sqe, fd: int, len: int, offset: int, flags: int = ...) -> None: ...
def io_uring_prep_unlinkat(sqe: io_uring_sqe, dfd: int, path: _Path, flags: int = ...) -> None: ...
def io_uring_prep_unlink(sqe: io_uring_sqe, path: _Path, flags: int = ...) -> None: ...
def io_uring_prep_renameat(sqe: io_uring_sqe, olddfd: int, oldpath: _Path, newdfd: int, newpath: _Path,
                           flags: int = ...) -> None: ...
def io_uring_prep_rename(sqe: io_uring_sqe, oldpath: _Path, newpath: _Path) -> None: ...
def io_uring_prep_mkdirat(sqe: io_uring_sqe, dfd: int, path: _Path, mode: int) -> None: ...
def io_uring_prep_mkdir(sqe: io_uring_sqe, path: _Path, mode: int) -> None: ...
def io_uring_prep_symlinkat(sqe: io_uring_sqe, target: _Path, newdirfd: int, linkpath: _Path) -> None: ...
def io_uring_prep_symlink(sqe: io_uring_sqe, target: _Path, linkpath: _Path) -> None: ...
def io_uring_prep_linkat(sqe: io_uring_sqe, olddfd: int, oldpath: _Path, newdfd: int, newpath: _Path,
                         flags: int = ...) -> None: ...
def io_uring_prep_link(sqe: io_uring_sqe, oldpath: _Path, newpath: _Path, flags: int = ...) -> None: ...
def io_uring_prep_getxattr(sqe: io_uring_sqe, name: _Path, value: Optional[Buffer], path: _Path,
                           len: Optional[int] = ...) -> None: ...
def io_uring_prep_setxattr(sqe: io_uring_sqe, name: _Path, value: Optional[Buffer], path: _Path,
                           flags: int = ..., len: Optional[int] = ...) -> None: ...
def io_uring_prep_fgetxattr(sqe: io_uring_sqe, fd: int, name: _Path, value: Optional[Buffer],
                            len: Optional[int] = ...) -> None: ...
def io_uring_prep_fsetxattr(sqe: io_uring_sqe, fd: int, name: _Path, value: Optional[Buffer],
                            flags: int = ..., len: Optional[int] = ...) -> None: ...
def io_uring_prep_openat_direct(sqe: io_uring_sqe, dfd: int, path: _Path, flags: int, mode: int,
                                file_index: int) -> None: ...
def io_uring_prep_open(sqe: io_uring_sqe, path: _Path, flags: int, mode: int = ...) -> None: ...
def io_uring_prep_open_direct(sqe: io_uring_sqe, path: _Path, flags: int, mode: int, file_index: int) -> None: ...
def io_uring_prep_openat2_direct(sqe: io_uring_sqe, dfd: int, path: _Path, how: open_how,
                                 file_index: int) -> None: ...
def io_uring_prep_close_direct(sqe: io_uring_sqe, file_index: int) -> None: ...
def io_uring_prep_files_update(sqe: io_uring_sqe, fds: Union[Sequence[int], Buffer], nr_fds: Optional[int] = ...,
                               offset: int = ...) -> None: ...
def io_uring_prep_fixed_fd_install(sqe: io_uring_sqe, fd: int, flags: int = ...) -> None: ...
def io_uring_prep_readv_fixed(sqe: io_uring_sqe, fd: int, iovecs: Sequence[Buffer], nr_vecs: Optional[int] = ...,
                              offset: int = ..., flags: int = ..., buf_index: int = ...) -> None: ...
def io_uring_prep_writev_fixed(sqe: io_uring_sqe, fd: int, iovecs: Sequence[Buffer], nr_vecs: Optional[int] = ...,
                               offset: int = ..., flags: int = ..., buf_index: int = ...) -> None: ...
def io_uring_prep_read_multishot(sqe: io_uring_sqe, fd: int, nbytes: int, offset: int, buf_group: int) -> None: ...
def io_uring_prep_timeout_update(sqe: io_uring_sqe, ts: kernel_timespec, user_data: int, flags: int = ...) -> None: ...
def io_uring_prep_poll_multishot(sqe: io_uring_sqe, fd: int, poll_mask: int) -> None: ...
def io_uring_prep_poll_update(sqe: io_uring_sqe, old_user_data: int, new_user_data: int, poll_mask: int,
                              flags: int) -> None: ...
def io_uring_prep_epoll_ctl(sqe: io_uring_sqe, epfd: int, fd: int, op: int, ev: Optional[epoll_event]) -> None: ...
def io_uring_prep_epoll_wait(sqe: io_uring_sqe, fd: int, events: epoll_event_array, maxevents: Optional[int] = ...,
                             flags: int = ...) -> None: ...
def io_uring_prep_waitid(sqe: io_uring_sqe, idtype: int, id: int, infop: Optional[siginfo], options: int,
                         flags: int = ...) -> None: ...
def io_uring_prep_futex_wait(sqe: io_uring_sqe, futex: Buffer, val: int, mask: int, futex_flags: int,
                             flags: int = ...) -> None: ...
def io_uring_prep_futex_wake(sqe: io_uring_sqe, futex: Buffer, val: int, mask: int, futex_flags: int,
                             flags: int = ...) -> None: ...
def io_uring_prep_futex_waitv(sqe: io_uring_sqe, futex: Sequence[futex_waitv], nr_futex: Optional[int] = ...,
                              flags: int = ...) -> None: ...
def io_uring_prep_nop128(sqe: io_uring_sqe) -> None: ...

FUTEX2_SIZE_U8: Final[int]
FUTEX2_SIZE_U16: Final[int]
FUTEX2_SIZE_U32: Final[int]
FUTEX2_SIZE_U64: Final[int]
FUTEX2_SIZE_MASK: Final[int]
FUTEX2_NUMA: Final[int]
FUTEX2_PRIVATE: Final[int]
FUTEX_BITSET_MATCH_ANY: Final[int]
FUTEX_WAITV_MAX: Final[int]
EPOLL_CTL_ADD: Final[int]
EPOLL_CTL_DEL: Final[int]
EPOLL_CTL_MOD: Final[int]
RENAME_NOREPLACE: Final[int]
RENAME_EXCHANGE: Final[int]
RENAME_WHITEOUT: Final[int]
FALLOC_FL_KEEP_SIZE: Final[int]
FALLOC_FL_PUNCH_HOLE: Final[int]
FALLOC_FL_COLLAPSE_RANGE: Final[int]
FALLOC_FL_ZERO_RANGE: Final[int]
FALLOC_FL_INSERT_RANGE: Final[int]
FALLOC_FL_UNSHARE_RANGE: Final[int]
SYNC_FILE_RANGE_WAIT_BEFORE: Final[int]
SYNC_FILE_RANGE_WRITE: Final[int]
SYNC_FILE_RANGE_WAIT_AFTER: Final[int]
# END FS STUBS

# net group (sockets, msg_ring, uring_cmd)
BLOCK_URING_CMD_DISCARD: Final[int]
BLOCK_URING_CMD_ZONE_RESET_ALL: Final[int]

@final
class sockaddr:
    """struct sockaddr_storage and its socklen_t: sockaddr(AF_INET, (host, port)),
    sockaddr(AF_INET6, (host, port[, flowinfo[, scope_id]])), sockaddr(AF_UNIX, path), or
    sockaddr() for the kernel to fill."""
    def __init__(self, family: Optional[int] = ..., address: object = ...) -> None: ...
    @staticmethod
    def from_bytes(data: Buffer) -> sockaddr: ...
    @property
    def family(self) -> int: ...
    @property
    def addrlen(self) -> int: ...
    def to_python(self) -> object: ...
    def __bytes__(self) -> bytes: ...

@final
class msghdr:
    """struct msghdr, with its name, iovec buffers and control buffer pinned."""
    def __init__(self, msg_name: Optional[sockaddr] = ..., msg_iov: Optional[Iterable[Buffer]] = ...,
                 msg_control: Optional[Buffer] = ..., msg_flags: int = ...) -> None: ...
    @property
    def msg_name(self) -> Optional[sockaddr]: ...
    msg_namelen: int
    @property
    def msg_iov(self) -> tuple[Buffer, ...]: ...
    @property
    def msg_iovlen(self) -> int: ...
    @property
    def msg_control(self) -> Optional[Buffer]: ...
    msg_controllen: int
    msg_flags: int

@final
class io_uring_recvmsg_out:
    """struct io_uring_recvmsg_out at the start of a multishot recvmsg buffer."""
    @property
    def namelen(self) -> int: ...
    @property
    def controllen(self) -> int: ...
    @property
    def payloadlen(self) -> int: ...
    @property
    def flags(self) -> int: ...

@final
class cmsghdr:
    """A control message inside a multishot recvmsg buffer."""
    @property
    def cmsg_len(self) -> int: ...
    @property
    def cmsg_level(self) -> int: ...
    @property
    def cmsg_type(self) -> int: ...
    @property
    def cmsg_data(self) -> memoryview: ...

def io_uring_prep_socket(sqe: io_uring_sqe, domain: int, type: int, protocol: int, flags: int = ...) -> None: ...
def io_uring_prep_socket_direct(sqe: io_uring_sqe, domain: int, type: int, protocol: int, file_index: int,
                                flags: int = ...) -> None: ...
def io_uring_prep_socket_direct_alloc(sqe: io_uring_sqe, domain: int, type: int, protocol: int,
                                      flags: int = ...) -> None: ...
def io_uring_prep_connect(sqe: io_uring_sqe, fd: int, addr: sockaddr, addrlen: Optional[int] = ...) -> None: ...
def io_uring_prep_bind(sqe: io_uring_sqe, fd: int, addr: sockaddr, addrlen: Optional[int] = ...) -> None: ...
def io_uring_prep_listen(sqe: io_uring_sqe, fd: int, backlog: int) -> None: ...
def io_uring_prep_shutdown(sqe: io_uring_sqe, fd: int, how: int) -> None: ...
def io_uring_prep_accept(sqe: io_uring_sqe, fd: int, addr: Optional[sockaddr] = ..., addrlen: Optional[int] = ...,
                         flags: int = ...) -> None: ...
def io_uring_prep_accept_direct(sqe: io_uring_sqe, fd: int, addr: Optional[sockaddr], addrlen: Optional[int],
                                flags: int, file_index: int) -> None: ...
def io_uring_prep_multishot_accept(sqe: io_uring_sqe, fd: int, addr: Optional[sockaddr] = ...,
                                   addrlen: Optional[int] = ..., flags: int = ...) -> None: ...
def io_uring_prep_multishot_accept_direct(sqe: io_uring_sqe, fd: int, addr: Optional[sockaddr] = ...,
                                          addrlen: Optional[int] = ..., flags: int = ...) -> None: ...
def io_uring_prep_sendto(sqe: io_uring_sqe, sockfd: int, buf: Buffer, len: int, flags: int,
                         addr: Optional[sockaddr], addrlen: Optional[int] = ...) -> None: ...
def io_uring_prep_send_set_addr(sqe: io_uring_sqe, dest_addr: sockaddr, addr_len: Optional[int] = ...) -> None: ...
def io_uring_prep_send_bundle(sqe: io_uring_sqe, sockfd: int, len: int, flags: int = ...) -> None: ...
def io_uring_prep_send_zc(sqe: io_uring_sqe, sockfd: int, buf: Union[Buffer, Sequence[Buffer]], len: int, flags: int = ...,
                          zc_flags: int = ...) -> None: ...
def io_uring_prep_send_zc_fixed(sqe: io_uring_sqe, sockfd: int, buf: Union[Buffer, Sequence[Buffer]], len: int, flags: int, zc_flags: int,
                                buf_index: int) -> None: ...
def io_uring_prep_sendmsg(sqe: io_uring_sqe, fd: int, msg: msghdr, flags: int = ...) -> None: ...
def io_uring_prep_sendmsg_zc(sqe: io_uring_sqe, fd: int, msg: msghdr, flags: int = ...) -> None: ...
def io_uring_prep_sendmsg_zc_fixed(sqe: io_uring_sqe, fd: int, msg: msghdr, flags: int, buf_index: int) -> None: ...
def io_uring_prep_recv_multishot(sqe: io_uring_sqe, sockfd: int, buf: Optional[Buffer], len: int,
                                 flags: int = ...) -> None: ...
def io_uring_prep_recvmsg(sqe: io_uring_sqe, fd: int, msg: msghdr, flags: int = ...) -> None: ...
def io_uring_prep_recvmsg_multishot(sqe: io_uring_sqe, fd: int, msg: msghdr, flags: int = ...) -> None: ...
def io_uring_recvmsg_validate(buf: Buffer, buf_len: int, msgh: msghdr) -> Optional[io_uring_recvmsg_out]: ...
def io_uring_recvmsg_name(o: io_uring_recvmsg_out) -> memoryview: ...
def io_uring_recvmsg_payload(o: io_uring_recvmsg_out, msgh: msghdr) -> memoryview: ...
def io_uring_recvmsg_payload_length(o: io_uring_recvmsg_out, buf_len: int, msgh: msghdr) -> int: ...
def io_uring_recvmsg_cmsg_firsthdr(o: io_uring_recvmsg_out, msgh: msghdr) -> Optional[cmsghdr]: ...
def io_uring_recvmsg_cmsg_nexthdr(o: io_uring_recvmsg_out, msgh: msghdr, cmsg: cmsghdr) -> Optional[cmsghdr]: ...
def io_uring_prep_msg_ring(sqe: io_uring_sqe, fd: int, len: int, data: int, flags: int = ...) -> None: ...
def io_uring_prep_msg_ring_cqe_flags(sqe: io_uring_sqe, fd: int, len: int, data: int, flags: int,
                                     cqe_flags: int) -> None: ...
def io_uring_prep_msg_ring_fd(sqe: io_uring_sqe, fd: int, source_fd: int, target_fd: int, data: int,
                              flags: int = ...) -> None: ...
def io_uring_prep_msg_ring_fd_alloc(sqe: io_uring_sqe, fd: int, source_fd: int, data: int,
                                    flags: int = ...) -> None: ...
def io_uring_prep_uring_cmd(sqe: io_uring_sqe, cmd_op: int, fd: int) -> None: ...
def io_uring_prep_uring_cmd128(sqe: io_uring_sqe, cmd_op: int, fd: int) -> None: ...
def io_uring_prep_cmd_sock(sqe: io_uring_sqe, cmd_op: int, fd: int, level: int, optname: int,
                           optval: Optional[Buffer], optlen: int) -> None: ...
def io_uring_prep_cmd_getsockname(sqe: io_uring_sqe, fd: int, sockaddr: sockaddr, sockaddr_len: Optional[int] = ...,
                                  peer: int = ...) -> None: ...
def io_uring_prep_cmd_discard(sqe: io_uring_sqe, fd: int, offset: int, nbytes: int) -> None: ...
def io_uring_prep_cmd_zone_reset_all(sqe: io_uring_sqe, fd: int) -> None: ...
# END NET STUBS

# BEGIN CONSTANTS (generated by tools/gen_constants.py)
IORING_OP_NOP: Final[int]
IORING_OP_READV: Final[int]
IORING_OP_WRITEV: Final[int]
IORING_OP_FSYNC: Final[int]
IORING_OP_READ_FIXED: Final[int]
IORING_OP_WRITE_FIXED: Final[int]
IORING_OP_POLL_ADD: Final[int]
IORING_OP_POLL_REMOVE: Final[int]
IORING_OP_SYNC_FILE_RANGE: Final[int]
IORING_OP_SENDMSG: Final[int]
IORING_OP_RECVMSG: Final[int]
IORING_OP_TIMEOUT: Final[int]
IORING_OP_TIMEOUT_REMOVE: Final[int]
IORING_OP_ACCEPT: Final[int]
IORING_OP_ASYNC_CANCEL: Final[int]
IORING_OP_LINK_TIMEOUT: Final[int]
IORING_OP_CONNECT: Final[int]
IORING_OP_FALLOCATE: Final[int]
IORING_OP_OPENAT: Final[int]
IORING_OP_CLOSE: Final[int]
IORING_OP_FILES_UPDATE: Final[int]
IORING_OP_STATX: Final[int]
IORING_OP_READ: Final[int]
IORING_OP_WRITE: Final[int]
IORING_OP_FADVISE: Final[int]
IORING_OP_MADVISE: Final[int]
IORING_OP_SEND: Final[int]
IORING_OP_RECV: Final[int]
IORING_OP_OPENAT2: Final[int]
IORING_OP_EPOLL_CTL: Final[int]
IORING_OP_SPLICE: Final[int]
IORING_OP_PROVIDE_BUFFERS: Final[int]
IORING_OP_REMOVE_BUFFERS: Final[int]
IORING_OP_TEE: Final[int]
IORING_OP_SHUTDOWN: Final[int]
IORING_OP_RENAMEAT: Final[int]
IORING_OP_UNLINKAT: Final[int]
IORING_OP_MKDIRAT: Final[int]
IORING_OP_SYMLINKAT: Final[int]
IORING_OP_LINKAT: Final[int]
IORING_OP_MSG_RING: Final[int]
IORING_OP_FSETXATTR: Final[int]
IORING_OP_SETXATTR: Final[int]
IORING_OP_FGETXATTR: Final[int]
IORING_OP_GETXATTR: Final[int]
IORING_OP_SOCKET: Final[int]
IORING_OP_URING_CMD: Final[int]
IORING_OP_SEND_ZC: Final[int]
IORING_OP_SENDMSG_ZC: Final[int]
IORING_OP_READ_MULTISHOT: Final[int]
IORING_OP_WAITID: Final[int]
IORING_OP_FUTEX_WAIT: Final[int]
IORING_OP_FUTEX_WAKE: Final[int]
IORING_OP_FUTEX_WAITV: Final[int]
IORING_OP_FIXED_FD_INSTALL: Final[int]
IORING_OP_FTRUNCATE: Final[int]
IORING_OP_BIND: Final[int]
IORING_OP_LISTEN: Final[int]
IORING_OP_RECV_ZC: Final[int]
IORING_OP_EPOLL_WAIT: Final[int]
IORING_OP_READV_FIXED: Final[int]
IORING_OP_WRITEV_FIXED: Final[int]
IORING_OP_PIPE: Final[int]
IORING_OP_NOP128: Final[int]
IORING_OP_URING_CMD128: Final[int]
IORING_OP_LAST: Final[int]
IORING_SETUP_IOPOLL: Final[int]
IORING_SETUP_SQPOLL: Final[int]
IORING_SETUP_SQ_AFF: Final[int]
IORING_SETUP_CQSIZE: Final[int]
IORING_SETUP_CLAMP: Final[int]
IORING_SETUP_ATTACH_WQ: Final[int]
IORING_SETUP_R_DISABLED: Final[int]
IORING_SETUP_SUBMIT_ALL: Final[int]
IORING_SETUP_COOP_TASKRUN: Final[int]
IORING_SETUP_TASKRUN_FLAG: Final[int]
IORING_SETUP_SQE128: Final[int]
IORING_SETUP_CQE32: Final[int]
IORING_SETUP_SINGLE_ISSUER: Final[int]
IORING_SETUP_DEFER_TASKRUN: Final[int]
IORING_SETUP_NO_MMAP: Final[int]
IORING_SETUP_REGISTERED_FD_ONLY: Final[int]
IORING_SETUP_NO_SQARRAY: Final[int]
IORING_SETUP_HYBRID_IOPOLL: Final[int]
IORING_SETUP_CQE_MIXED: Final[int]
IORING_SETUP_SQE_MIXED: Final[int]
IORING_SETUP_SQ_REWIND: Final[int]
IORING_FEAT_SINGLE_MMAP: Final[int]
IORING_FEAT_NODROP: Final[int]
IORING_FEAT_SUBMIT_STABLE: Final[int]
IORING_FEAT_RW_CUR_POS: Final[int]
IORING_FEAT_CUR_PERSONALITY: Final[int]
IORING_FEAT_FAST_POLL: Final[int]
IORING_FEAT_POLL_32BITS: Final[int]
IORING_FEAT_SQPOLL_NONFIXED: Final[int]
IORING_FEAT_EXT_ARG: Final[int]
IORING_FEAT_NATIVE_WORKERS: Final[int]
IORING_FEAT_RSRC_TAGS: Final[int]
IORING_FEAT_CQE_SKIP: Final[int]
IORING_FEAT_LINKED_FILE: Final[int]
IORING_FEAT_REG_REG_RING: Final[int]
IORING_FEAT_RECVSEND_BUNDLE: Final[int]
IORING_FEAT_MIN_TIMEOUT: Final[int]
IORING_FEAT_RW_ATTR: Final[int]
IORING_FEAT_NO_IOWAIT: Final[int]
IOSQE_FIXED_FILE_BIT: Final[int]
IOSQE_IO_DRAIN_BIT: Final[int]
IOSQE_IO_LINK_BIT: Final[int]
IOSQE_IO_HARDLINK_BIT: Final[int]
IOSQE_ASYNC_BIT: Final[int]
IOSQE_BUFFER_SELECT_BIT: Final[int]
IOSQE_CQE_SKIP_SUCCESS_BIT: Final[int]
IOSQE_FIXED_FILE: Final[int]
IOSQE_IO_DRAIN: Final[int]
IOSQE_IO_LINK: Final[int]
IOSQE_IO_HARDLINK: Final[int]
IOSQE_ASYNC: Final[int]
IOSQE_BUFFER_SELECT: Final[int]
IOSQE_CQE_SKIP_SUCCESS: Final[int]
IORING_FILE_INDEX_ALLOC: Final[int]
IORING_CQE_F_BUFFER: Final[int]
IORING_CQE_F_MORE: Final[int]
IORING_CQE_F_SOCK_NONEMPTY: Final[int]
IORING_CQE_F_NOTIF: Final[int]
IORING_CQE_F_BUF_MORE: Final[int]
IORING_CQE_F_SKIP: Final[int]
IORING_CQE_F_32: Final[int]
IORING_CQE_BUFFER_SHIFT: Final[int]
IORING_TIMESTAMP_HW_SHIFT: Final[int]
IORING_TIMESTAMP_TYPE_SHIFT: Final[int]
IORING_CQE_F_TSTAMP_HW: Final[int]
IORING_SQ_NEED_WAKEUP: Final[int]
IORING_SQ_CQ_OVERFLOW: Final[int]
IORING_SQ_TASKRUN: Final[int]
IORING_CQ_EVENTFD_DISABLED: Final[int]
IORING_OFF_SQ_RING: Final[int]
IORING_OFF_CQ_RING: Final[int]
IORING_OFF_SQES: Final[int]
IORING_OFF_PBUF_RING: Final[int]
IORING_OFF_PBUF_SHIFT: Final[int]
IORING_OFF_MMAP_MASK: Final[int]
IORING_ENTER_GETEVENTS: Final[int]
IORING_ENTER_SQ_WAKEUP: Final[int]
IORING_ENTER_SQ_WAIT: Final[int]
IORING_ENTER_EXT_ARG: Final[int]
IORING_ENTER_REGISTERED_RING: Final[int]
IORING_ENTER_ABS_TIMER: Final[int]
IORING_ENTER_EXT_ARG_REG: Final[int]
IORING_ENTER_NO_IOWAIT: Final[int]
IORING_REGISTER_BUFFERS: Final[int]
IORING_UNREGISTER_BUFFERS: Final[int]
IORING_REGISTER_FILES: Final[int]
IORING_UNREGISTER_FILES: Final[int]
IORING_REGISTER_EVENTFD: Final[int]
IORING_UNREGISTER_EVENTFD: Final[int]
IORING_REGISTER_FILES_UPDATE: Final[int]
IORING_REGISTER_EVENTFD_ASYNC: Final[int]
IORING_REGISTER_PROBE: Final[int]
IORING_REGISTER_PERSONALITY: Final[int]
IORING_UNREGISTER_PERSONALITY: Final[int]
IORING_REGISTER_RESTRICTIONS: Final[int]
IORING_REGISTER_ENABLE_RINGS: Final[int]
IORING_REGISTER_FILES2: Final[int]
IORING_REGISTER_FILES_UPDATE2: Final[int]
IORING_REGISTER_BUFFERS2: Final[int]
IORING_REGISTER_BUFFERS_UPDATE: Final[int]
IORING_REGISTER_IOWQ_AFF: Final[int]
IORING_UNREGISTER_IOWQ_AFF: Final[int]
IORING_REGISTER_IOWQ_MAX_WORKERS: Final[int]
IORING_REGISTER_RING_FDS: Final[int]
IORING_UNREGISTER_RING_FDS: Final[int]
IORING_REGISTER_PBUF_RING: Final[int]
IORING_UNREGISTER_PBUF_RING: Final[int]
IORING_REGISTER_SYNC_CANCEL: Final[int]
IORING_REGISTER_FILE_ALLOC_RANGE: Final[int]
IORING_REGISTER_PBUF_STATUS: Final[int]
IORING_REGISTER_NAPI: Final[int]
IORING_UNREGISTER_NAPI: Final[int]
IORING_REGISTER_CLOCK: Final[int]
IORING_REGISTER_CLONE_BUFFERS: Final[int]
IORING_REGISTER_SEND_MSG_RING: Final[int]
IORING_REGISTER_ZCRX_IFQ: Final[int]
IORING_REGISTER_RESIZE_RINGS: Final[int]
IORING_REGISTER_MEM_REGION: Final[int]
IORING_REGISTER_QUERY: Final[int]
IORING_REGISTER_ZCRX_CTRL: Final[int]
IORING_REGISTER_BPF_FILTER: Final[int]
IORING_REGISTER_LAST: Final[int]
IORING_REGISTER_USE_REGISTERED_RING: Final[int]
IO_WQ_BOUND: Final[int]
IO_WQ_UNBOUND: Final[int]
IORING_REGISTER_FILES_SKIP: Final[int]
IORING_RSRC_REGISTER_SPARSE: Final[int]
IO_URING_OP_SUPPORTED: Final[int]
IORING_RESTRICTION_REGISTER_OP: Final[int]
IORING_RESTRICTION_SQE_OP: Final[int]
IORING_RESTRICTION_SQE_FLAGS_ALLOWED: Final[int]
IORING_RESTRICTION_SQE_FLAGS_REQUIRED: Final[int]
IORING_RESTRICTION_LAST: Final[int]
IOU_PBUF_RING_MMAP: Final[int]
IOU_PBUF_RING_INC: Final[int]
IORING_REGISTER_SRC_REGISTERED: Final[int]
IORING_REGISTER_DST_REPLACE: Final[int]
IORING_MEM_REGION_TYPE_USER: Final[int]
IORING_MEM_REGION_REG_WAIT_ARG: Final[int]
IORING_REG_WAIT_TS: Final[int]
IO_URING_NAPI_REGISTER_OP: Final[int]
IO_URING_NAPI_STATIC_ADD_ID: Final[int]
IO_URING_NAPI_STATIC_DEL_ID: Final[int]
IO_URING_NAPI_TRACKING_DYNAMIC: Final[int]
IO_URING_NAPI_TRACKING_STATIC: Final[int]
IO_URING_NAPI_TRACKING_INACTIVE: Final[int]
IO_URING_QUERY_OPCODES: Final[int]
IO_URING_QUERY_ZCRX: Final[int]
IO_URING_QUERY_SCQ: Final[int]
IORING_ZCRX_AREA_SHIFT: Final[int]
IORING_ZCRX_AREA_MASK: Final[int]
IORING_ZCRX_AREA_DMABUF: Final[int]
ZCRX_REG_IMPORT: Final[int]
ZCRX_FEATURE_RX_PAGE_SIZE: Final[int]
ZCRX_CTRL_FLUSH_RQ: Final[int]
ZCRX_CTRL_EXPORT: Final[int]
IORING_FSYNC_DATASYNC: Final[int]
IORING_TIMEOUT_ABS: Final[int]
IORING_TIMEOUT_UPDATE: Final[int]
IORING_TIMEOUT_BOOTTIME: Final[int]
IORING_TIMEOUT_REALTIME: Final[int]
IORING_LINK_TIMEOUT_UPDATE: Final[int]
IORING_TIMEOUT_ETIME_SUCCESS: Final[int]
IORING_TIMEOUT_MULTISHOT: Final[int]
IORING_TIMEOUT_IMMEDIATE_ARG: Final[int]
IORING_TIMEOUT_CLOCK_MASK: Final[int]
IORING_TIMEOUT_UPDATE_MASK: Final[int]
SPLICE_F_FD_IN_FIXED: Final[int]
IORING_POLL_ADD_MULTI: Final[int]
IORING_POLL_UPDATE_EVENTS: Final[int]
IORING_POLL_UPDATE_USER_DATA: Final[int]
IORING_POLL_ADD_LEVEL: Final[int]
IORING_ASYNC_CANCEL_ALL: Final[int]
IORING_ASYNC_CANCEL_FD: Final[int]
IORING_ASYNC_CANCEL_ANY: Final[int]
IORING_ASYNC_CANCEL_FD_FIXED: Final[int]
IORING_ASYNC_CANCEL_USERDATA: Final[int]
IORING_ASYNC_CANCEL_OP: Final[int]
IORING_RECVSEND_POLL_FIRST: Final[int]
IORING_RECV_MULTISHOT: Final[int]
IORING_RECVSEND_FIXED_BUF: Final[int]
IORING_SEND_ZC_REPORT_USAGE: Final[int]
IORING_RECVSEND_BUNDLE: Final[int]
IORING_SEND_VECTORIZED: Final[int]
IORING_NOTIF_USAGE_ZC_COPIED: Final[int]
IORING_ACCEPT_MULTISHOT: Final[int]
IORING_ACCEPT_DONTWAIT: Final[int]
IORING_ACCEPT_POLL_FIRST: Final[int]
IORING_MSG_DATA: Final[int]
IORING_MSG_SEND_FD: Final[int]
IORING_MSG_RING_CQE_SKIP: Final[int]
IORING_MSG_RING_FLAGS_PASS: Final[int]
IORING_FIXED_FD_NO_CLOEXEC: Final[int]
IORING_NOP_INJECT_RESULT: Final[int]
IORING_NOP_FILE: Final[int]
IORING_NOP_FIXED_FILE: Final[int]
IORING_NOP_FIXED_BUFFER: Final[int]
IORING_NOP_TW: Final[int]
IORING_NOP_CQE32: Final[int]
IORING_URING_CMD_FIXED: Final[int]
IORING_URING_CMD_MULTISHOT: Final[int]
IORING_URING_CMD_MASK: Final[int]
IORING_RW_ATTR_FLAG_PI: Final[int]
SOCKET_URING_OP_SIOCINQ: Final[int]
SOCKET_URING_OP_SIOCOUTQ: Final[int]
SOCKET_URING_OP_GETSOCKOPT: Final[int]
SOCKET_URING_OP_SETSOCKOPT: Final[int]
SOCKET_URING_OP_TX_TIMESTAMP: Final[int]
SOCKET_URING_OP_GETSOCKNAME: Final[int]
AT_FDCWD: Final[int]
AT_SYMLINK_NOFOLLOW: Final[int]
AT_REMOVEDIR: Final[int]
AT_SYMLINK_FOLLOW: Final[int]
AT_NO_AUTOMOUNT: Final[int]
AT_EMPTY_PATH: Final[int]
AT_STATX_SYNC_AS_STAT: Final[int]
AT_STATX_FORCE_SYNC: Final[int]
AT_STATX_DONT_SYNC: Final[int]
AT_STATX_SYNC_TYPE: Final[int]
STATX_TYPE: Final[int]
STATX_MODE: Final[int]
STATX_NLINK: Final[int]
STATX_UID: Final[int]
STATX_GID: Final[int]
STATX_ATIME: Final[int]
STATX_MTIME: Final[int]
STATX_CTIME: Final[int]
STATX_INO: Final[int]
STATX_SIZE: Final[int]
STATX_BLOCKS: Final[int]
STATX_BASIC_STATS: Final[int]
STATX_BTIME: Final[int]
STATX_ALL: Final[int]
STATX_MNT_ID: Final[int]
STATX_DIOALIGN: Final[int]
STATX_MNT_ID_UNIQUE: Final[int]
STATX_SUBVOL: Final[int]
STATX_WRITE_ATOMIC: Final[int]
STATX_DIO_READ_ALIGN: Final[int]
RWF_HIPRI: Final[int]
RWF_DSYNC: Final[int]
RWF_SYNC: Final[int]
RWF_NOWAIT: Final[int]
RWF_APPEND: Final[int]
RESOLVE_NO_XDEV: Final[int]
RESOLVE_NO_MAGICLINKS: Final[int]
RESOLVE_NO_SYMLINKS: Final[int]
RESOLVE_BENEATH: Final[int]
RESOLVE_IN_ROOT: Final[int]
RESOLVE_CACHED: Final[int]
# END CONSTANTS
