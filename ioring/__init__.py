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
    __all__ = ["Ring", "Operation", "Multishot", "BufferPool", "BufferRing", "StreamResult",
               "LatencyHistogram", "kernel_probe", "liburing_version"]

# Imported on first use (PEP 562): a program that only unpacks a wheel or only uses the thin
# layer does not pay for the Pythonic layer's modules at start-up (milliseconds that count
# against a 150 ms job run in a fresh process).
_LAZY_NAMES = {
    "Ring": "ioring._ring", "Operation": "ioring._ring", "Multishot": "ioring._ring",
    "BufferPool": "ioring._ring", "BufferRing": "ioring._ring",
    "StreamResult": "ioring._stream", "LatencyHistogram": "ioring._stream",
    "kernel_probe": "ioring._info", "liburing_version": "ioring._info",
}
_SUBMODULES = ("liburing", "winioring", "asyncio", "files", "bench")

TYPE_CHECKING = False
if TYPE_CHECKING:  # for type checkers (mypy takes the name as true): the names above
    from ioring._info import kernel_probe, liburing_version  # noqa: F401
    from ioring._ring import BufferPool, BufferRing, Multishot, Operation, Ring  # noqa: F401
    from ioring._stream import LatencyHistogram, StreamResult  # noqa: F401


def __getattr__(name):
    if name in _SUBMODULES:
        module = f"{__name__}.{name}"
    else:
        module = _LAZY_NAMES.get(name) if _sys.platform != "win32" else None
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    __import__(module)      # (the import statement's machinery: -X importtime reports it)
    if name in _SUBMODULES:
        return _sys.modules[module]
    value = getattr(_sys.modules[module], name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__) | set(_SUBMODULES))
