"""C reference loops for ``python -m ioring bench`` (the workloads in C over the ring core,
the GIL released). Each returns ``(ops, seconds)``."""
from typing import Tuple

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
