# ioring.liburing._Buffer and ioring.winioring._Buffer: one implementation included by both modules
# (winioring cannot cimport ioring.liburing, which does not exist on Windows). Each module's .pxd
# declares the attributes: Py_buffer view, bint held, char *ptr, Py_ssize_t nbytes.

@cython.final
cdef class _Buffer:
    """A buffer-protocol export held for as long as the kernel may touch the memory."""

    def __cinit__(self, object obj, bint writable):
        cdef int flags = PyBUF_ANY_CONTIGUOUS | (PyBUF_WRITABLE if writable else 0)
        try:
            PyObject_GetBuffer(obj, &self.view, flags)
        except BufferError as exc:
            if writable and "writ" in str(exc).lower():
                raise TypeError(f"a writable buffer is required, not read-only {type(obj).__name__}") from None
            raise ValueError(f"a contiguous buffer is required: {exc}") from None
        except TypeError:
            raise TypeError(f"a bytes-like object is required, not {type(obj).__name__}") from None
        self.held = True
        self.ptr = <char *>self.view.buf
        self.nbytes = self.view.len

    def __dealloc__(self):
        if self.held:
            PyBuffer_Release(&self.view)
            self.held = False
