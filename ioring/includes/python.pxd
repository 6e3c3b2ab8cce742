# include/ioring/python.h: the ring core as a Python extension compiles it. It defines the
# core's blocking hooks as Py_BEGIN/END_ALLOW_THREADS (io_uring_enter drops the GIL) and includes
# the core; it declares nothing of its own. ring.pxd cimports this first, so that ring.h is
# compiled with those hooks, unless a module compiled the core earlier with its own (stream.pxd,
# nogil.pxd).
cdef extern from "ioring/python.h":
    pass
