"""The io_uring emulation backend of ``ioring.winioring`` (Linux only): its rings are the thin
layer's io_uring objects. ``ioring.winioring`` calls these; they are not an API of their own."""
from typing import Tuple

__all__ = ["capabilities", "create"]

def capabilities() -> Tuple[int, int, int, int]:
    """QueryIoRingCapabilities of the emulation: (MaxVersion, MaxSubmissionQueueSize,
    MaxCompletionQueueSize, FeatureFlags); IoRingError(E_NOTIMPL) without io_uring."""
    ...

def create(version: int, required: int, advisory: int, sq: int, cq: int) -> object:
    """CreateIoRing of the emulation (arguments already converted): the ring behind an HIORING."""
    ...
