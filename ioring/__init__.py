"""ioring: Linux io_uring (and Windows IoRing) for Python at C speed.

Layers: ``ioring.liburing`` mirrors liburing's C API one-to-one; the Pythonic layer is built on it.
"""
__version__ = "0.1.0"
