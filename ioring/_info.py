"""Runtime introspection: what this build mirrors and what the running kernel supports.

Imported by ``import ioring``: it imports nothing at module level (``platform`` alone costs
~1.5 ms, a tenth of a small wheel's unpack in a fresh process)."""


def liburing_version() -> "tuple[int, int]":
    """The liburing API level ``ioring.liburing`` mirrors, as (major, minor)."""
    from ioring import liburing as L
    return L.io_uring_major_version(), L.io_uring_minor_version()


def opcode_names() -> "dict[int, str]":
    """IORING_OP_* value -> name, for every opcode this build knows."""
    from ioring import liburing as L
    return {getattr(L, n): n for n in dir(L) if n.startswith("IORING_OP_") and n != "IORING_OP_LAST"}


def kernel_probe() -> "dict[str, bool]":
    """{"IORING_OP_READ": True, ...}: which known opcodes the running kernel supports
    (IORING_REGISTER_PROBE). Raises OSError when io_uring is unavailable."""
    from ioring import liburing as L
    probe = L.io_uring_get_probe()
    return {name: L.io_uring_opcode_supported(probe, op) for op, name in sorted(opcode_names().items())}


def kernel_release() -> str:
    import os
    return os.uname().release
