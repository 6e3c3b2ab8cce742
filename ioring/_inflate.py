"""The deflate decoder used for zip and wheel members: the fastest one importable here.

Measured on this project's machine (AMD EPYC, 2 vCPUs, CPU time of one thread) on the torch
CPU wheel (12,248 members, 667 MiB inflated; torch/lib/libtorch_cpu.so alone is 414 MiB):

================ ===================== ========================= =====================
decoder          libtorch_cpu.so,      libtorch_cpu.so, 1 MiB    the other 12,247
                 one call              chunks (how _unzip works) members, one call each
================ ===================== ========================= =====================
isal (ISA-L)     0.64 s                0.43 s                    0.35 s
zlib-ng          0.72 s                -                         0.38 s
zlib (CPython)   1.04 s                -                         0.71 s
================ ===================== ========================= =====================

so ``isal`` comes first (a dependency of the package where PyPI has wheels of it), then
``zlib_ng`` if installed, then the standard library's ``zlib``. All three release the GIL while
they inflate (checked here: a Python thread keeps running during a 300-500 ms decompress call),
which is what lets ``ioring._unzip`` inflate on every CPU from Python threads. The CRC-32 comes
from the same module (ISA-L's and zlib-ng's run at ~20 GB/s here, zlib's at ~4 GB/s).

``IORING_INFLATER=isal|zlib-ng|zlib`` in the environment forces one (for measurements and
tests); an unknown or unimportable name raises ImportError when this module is imported.
"""
import importlib
import os

__all__ = ["NAME", "VERSION", "decompressobj", "crc32", "describe", "CANDIDATES"]

#: (name shown to users, module to import, attribute holding the version), fastest first
CANDIDATES = (
    ("isal", "isal.isal_zlib", "isal"),
    ("zlib-ng", "zlib_ng.zlib_ng", "ZLIBNG_VERSION"),
    ("zlib", "zlib", "ZLIB_RUNTIME_VERSION"),
)


def _version(name, module, attr):
    if name == "isal":
        return getattr(importlib.import_module("isal"), "__version__", "?")
    return getattr(module, attr, "?")


def _load():
    forced = os.environ.get("IORING_INFLATER", "").strip()
    names = [c[0] for c in CANDIDATES]
    if forced and forced not in names:
        raise ImportError(f"IORING_INFLATER={forced!r}: choose one of {', '.join(names)}")
    for name, path, attr in CANDIDATES:
        if forced and name != forced:
            continue
        try:
            module = importlib.import_module(path)
        except ImportError:
            if forced:
                raise
            continue
        return name, module, _version(name, module, attr)
    raise ImportError("no deflate decoder: even the standard library's zlib is missing")


NAME, _module, VERSION = _load()

#: ``decompressobj()`` -> a raw-deflate decoder with zlib's interface (``decompress(data,
#: max_length)``, ``unconsumed_tail``, ``eof``)
_decompressobj = _module.decompressobj


def decompressobj():
    """A decoder of one raw deflate stream (zip's method 8), zlib's ``decompressobj(-15)``."""
    return _decompressobj(-15)


#: ``crc32(data, value=0)``: zlib's CRC-32 (the checksum zip records for each member)
crc32 = _module.crc32

#: the decoder's errors (``zlib.error`` or the module's own)
error = _module.error


def describe():
    """One line for ``python -m ioring info``: the decoder in use and the order of preference."""
    order = " > ".join(c[0] for c in CANDIDATES)
    forced = " (forced by IORING_INFLATER)" if os.environ.get("IORING_INFLATER") else ""
    return f"zip inflater: {NAME} {VERSION}{forced} (preference: {order})"
