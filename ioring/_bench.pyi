"""C reference loops for ``python -m ioring bench`` (the workloads in C over the ring core,
the GIL released). Each returns ``(ops, seconds)``."""
from typing import Any, Optional, Tuple

#: Size of one read or write of the read/write loops.
BLOCK_SIZE: int

def nop(batch: int, seconds: float, *, setup_flags: int = ...) -> Tuple[int, float]:
    """NOP round trips in batches of ``batch`` (1..4096) for ``seconds`` after a warm-up."""
    ...

def read(fd: int, qd: int, seconds: float, *, fixed_buffers: bool = ..., fixed_files: bool = ...,
         verify: bool = ..., nblocks: int = ...) -> Tuple[int, float]:
    """4 KiB reads at random 4 KiB blocks of ``fd``, ``qd`` (1..4096) in flight."""
    ...

def write(fd: int, qd: int, seconds: float, *, fixed_buffers: bool = ..., fixed_files: bool = ...,
          nblocks: int = ...) -> Tuple[int, float]:
    """4 KiB writes at random 4 KiB blocks of ``fd``, ``qd`` in flight, each block stamped."""
    ...

def storage(fd: int, rw: str, bs: int, qd: int, seconds: float, *, size: Optional[int] = ...,
            offset: int = ..., rwmixread: int = ..., fixed: bool = ..., setup_flags: int = ...,
            ramp_seconds: float = ..., seed: int = ..., verify: bool = ...) -> dict[str, Any]:
    """The C reference of the storage workloads: include/ioring/stream.h's loop on a private
    ring, the GIL released. Returns ops, seconds, bytes, errors, first_error, enters, lat_ns."""
    ...
