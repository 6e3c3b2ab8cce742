"""C-level batch entry points of ``ioring.files`` (the whole loop in C, the GIL released)."""
from typing import Callable, List, Optional, Sequence, Tuple, final

from typing_extensions import Buffer, Self

from ioring.liburing import io_uring

def write_pipelined(paths: Sequence[bytes], datas: Sequence[Buffer], dir_fd: int, mode: int,
                    oflags: int, *, resolve: int = ..., slots: int = ..., fsync: bool = ...,
                    batch: int = ..., max_workers: int = ..., max_write: int = ...,
                    ring: Optional[io_uring] = ...) -> List[Tuple[int, int, str]]:
    """Create/truncate every file on the calling thread and write it (then fsync it) on an
    io-wq worker; returns ``(index, errno, request)`` for the files that failed. A signal
    handler's exception (Ctrl-C) cancels what is in flight, removes the files it cut short and
    propagates. ``ring``: an idle ring of the caller (``engine_ring``) used instead of one set
    up for the call."""
    ...

def pipelined_entries(slots: int, longest: int, max_write: int = ...) -> int:
    """The SQ entries a ring given to write_pipelined needs (``slots`` files in flight, the
    largest datum ``longest`` bytes, writes of at most ``max_write``)."""
    ...

def engine_ring(entries: int) -> io_uring:
    """A new ring set up as write_pipelined sets up its own, for its ``ring`` argument (the
    caller closes it with io_uring_queue_exit)."""
    ...

def keep_heap(mmap_threshold: int, trim_threshold: int) -> bool:
    """glibc's mallopt(M_MMAP_THRESHOLD) and mallopt(M_TRIM_THRESHOLD), for the rest of the
    process; False where the C library has no mallopt."""
    ...

def write_plain(paths: Sequence[bytes], datas: Sequence[Buffer], dir_fd: int, mode: int,
                oflags: int, *, fsync: bool = ...) -> List[Tuple[int, int, str]]:
    """The same files with a C loop of openat/write/close syscalls (write_files without
    io_uring or for a few files; the benchmarks' reference). A signal handler's exception
    propagates once the regular file being written is complete."""
    ...

def read_chains(paths: Sequence[bytes], dir_fd: int = ..., *, slots: int = ...,
                size: int = ..., stop: Optional[bytearray] = ...
                ) -> Tuple[List[Optional[bytes]], List[Tuple[int, int, str]], List[int]]:
    """Read small files with one ``openat_direct -> read`` chain each; returns (contents,
    failures, indexes of the files that filled their buffer). A signal handler's exception
    cancels the reads in flight and propagates; ``stop[0] = 1`` (from another thread) cancels
    them and raises OSError(ECANCELED)."""
    ...

@final
class TreeCopier:
    """Copies regular files as shutil.copy2 does (contents, then times, xattrs and mode), up to
    ``slots`` in flight as openat->read / openat->write chains on direct descriptors (plain
    syscalls when ``use_ring`` is false or io_uring is unavailable). The engine of
    ioring.files.copytree."""
    bytes_done: int
    bytes_found: int
    def __new__(cls, slots: int = ..., bufsize: int = ..., use_ring: bool = ..., umask: int = ...,
                max_workers: int = ..., async_create: bool = ...) -> Self: ...
    @property
    def ring_used(self) -> bool: ...
    def add(self, srcs: Sequence[bytes], dsts: Sequence[bytes], existing: bool = ...) -> int: ...
    def drain(self, progress: Optional[Callable[[int, int], object]] = ...) -> List[Tuple[int, int, str]]: ...
    def close(self) -> None: ...

def copy_stats(srcs: Sequence[bytes], dsts: Sequence[bytes]) -> List[Tuple[int, int, str]]:
    """shutil.copystat (times, xattrs, mode) for each pair of directories; returns the failures."""
    ...
