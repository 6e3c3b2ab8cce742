# ioring.winioring's C-level types (the implementation of _Buffer is ioring/_buffer_export.pxi).
from cpython.buffer cimport Py_buffer


cdef class _Buffer:
    cdef Py_buffer view
    cdef bint held
    cdef char *ptr
    cdef Py_ssize_t nbytes

    cdef int _export(self, object obj, bint writable) except -1
