"""ioring: Linux io_uring (and Windows IoRing) for Python at C speed.

Layers: ``ioring.liburing`` mirrors liburing's C API one-to-one; the Pythonic layer is built on it.
"""
import importlib.machinery as _machinery
import os as _os
import sys as _sys

__version__ = "0.1.0"


def _find_built_extensions():
    """Run from a source checkout (``python -m ioring`` in the repository root), this directory
    shadows the installed package and holds no compiled extension: look for the extensions
    in the installed copy too, so that ``pip install . && python -m ioring`` works there."""
    here = _os.path.dirname(_os.path.abspath(__file__))
    suffixes = tuple(_machinery.EXTENSION_SUFFIXES)
    if any(name.endswith(suffixes) for name in _os.listdir(here)):
        return
    for entry in _sys.path:
        candidate = _os.path.join(entry or _os.curdir, "ioring")
        if _os.path.isdir(candidate) and _os.path.realpath(candidate) != _os.path.realpath(here):
            __path__.append(candidate)


_find_built_extensions()

if _sys.platform == "win32":
    # Only ioring.winioring is built on Windows (io_uring is Linux's).
    __all__: list = []
else:
    from ioring._info import kernel_probe, liburing_version  # noqa: E402
    from ioring._ring import BufferPool, BufferRing, Multishot, Operation, Ring  # noqa: E402
    from ioring._stream import LatencyHistogram, StreamResult  # noqa: E402

    __all__ = ["Ring", "Operation", "Multishot", "BufferPool", "BufferRing", "StreamResult",
               "LatencyHistogram", "kernel_probe", "liburing_version"]
