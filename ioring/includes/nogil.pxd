# The ring core compiled without its GIL hooks, for a module whose C loops run without the GIL
# from start to end (ioring._fileops): ioring/python.h defines the hooks as
# Py_BEGIN/END_ALLOW_THREADS for the other extensions, so such a module cimports this FIRST,
# before anything that includes the core; python.h, included later through ring.pxd, then finds
# the core compiled. Declares nothing.
cdef extern from *:
    """
    #define IORING_BLOCKING_BEGIN
    #define IORING_BLOCKING_END
    #include "ioring/ioring.h"
    #undef IORING_BLOCKING_BEGIN
    #undef IORING_BLOCKING_END
    """
