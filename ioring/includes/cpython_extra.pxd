# Python.h functions declared differently from Cython's cpython/*.pxd (no exception clause: the
# caller tests the result itself), and those Cython's files lack.
from cpython.buffer cimport Py_buffer

cdef extern from "Python.h":
    # A handler's exception is left set, for a C loop to raise once it has cancelled and reaped
    # what is in flight (ioring._fileops).
    int _run_signal_handlers "PyErr_CheckSignals" ()
    # The buffer export's fast path (_buffer_export.pxi) tests the result itself (no try block).
    int _get_buffer_noexc "PyObject_GetBuffer"(object obj, Py_buffer *view, int flags)
    void _clear_error "PyErr_Clear"()
    object PyUnicode_EncodeFSDefault(object unicode)
    # The caller tells an error from 2**64-1 itself (ioring.liburing's integer conversions).
    unsigned long long _as_u64 "PyLong_AsUnsignedLongLong"(object o)
