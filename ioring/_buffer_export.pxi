# ioring.liburing._Buffer and ioring.winioring._Buffer: one implementation included by both modules
# (winioring cannot cimport ioring.liburing, which does not exist on Windows). Each module's .pxd
# declares the attributes: Py_buffer view, bint held, char *ptr, Py_ssize_t nbytes, and _export.

from ioring.includes.cpython_extra cimport _get_buffer_noexc, _clear_error


cdef int _raise_buffer_error(object obj, int flags, bint writable) except -1:
    """The export of ``obj`` failed: export it again to raise its error with a message that
    says what to do."""
    cdef Py_buffer view
    try:
        PyObject_GetBuffer(obj, &view, flags)
    except BufferError as exc:
        if writable and "writ" in str(exc).lower():
            raise TypeError(f"a writable buffer is required, not read-only {type(obj).__name__}") from None
        raise ValueError(f"a contiguous buffer is required: {exc}") from None
    except TypeError:
        raise TypeError(f"a bytes-like object is required, not {type(obj).__name__}") from None
    PyBuffer_Release(&view)             # it worked this time: the object changed meanwhile
    raise ValueError(f"the buffer of {type(obj).__name__} could not be exported; try again")


cdef extern from *:
    """
    /* An exact bytearray's export, inline: what its bf_getbuffer (bytearray_getbuffer) and
       bf_releasebuffer do, without PyObject_GetBuffer's dispatch and PyBuffer_FillInfo's
       generic filling (a read's buffer is exported and released once per request). The
       export counter is the one bytearray_getbuffer raises: while it is held the bytearray
       refuses to resize, as with any export. shape, strides and format stay NULL: nothing
       reads them here, and they would point into a Py_buffer that the pin table moves.
       CPython versions whose bytearray layout is known only; elsewhere, the generic path. */
    #if PY_VERSION_HEX < 0x030E0000 && !defined(Py_GIL_DISABLED) && !defined(Py_LIMITED_API)
    #define IORING_INLINE_BYTEARRAY 1
    #else
    #define IORING_INLINE_BYTEARRAY 0
    #endif

    static inline int ioring_export_bytearray(PyObject *obj, Py_buffer *view)
    {
    #if IORING_INLINE_BYTEARRAY
        if (!PyByteArray_CheckExact(obj))
            return 0;
        Py_INCREF(obj);
        view->obj = obj;
        view->buf = PyByteArray_AS_STRING(obj);
        view->len = Py_SIZE(obj);
        view->readonly = 0;
        view->itemsize = 1;
        view->format = NULL;
        view->ndim = 1;
        view->shape = NULL;
        view->strides = NULL;
        view->suboffsets = NULL;
        view->internal = NULL;
        ((PyByteArrayObject *)obj)->ob_exports++;
        return 1;
    #else
        (void)obj; (void)view;
        return 0;
    #endif
    }

    /* ``obj`` is an exact bytearray that ioring_export_bytearray exports, of at least
       ``nbytes`` bytes. */
    static inline int ioring_bytearray_holds(PyObject *obj, long long nbytes)
    {
    #if IORING_INLINE_BYTEARRAY
        return PyByteArray_CheckExact(obj) && 0 <= nbytes && nbytes <= Py_SIZE(obj);
    #else
        (void)obj; (void)nbytes;
        return 0;
    #endif
    }

    /* Releases an export that ioring_view_release_is_quiet accepted (an exact bytearray's). */
    static inline void ioring_release_bytearray(Py_buffer *view)
    {
    #if IORING_INLINE_BYTEARRAY
        PyObject *obj = view->obj;
        ((PyByteArrayObject *)obj)->ob_exports--;
        view->obj = NULL;
        Py_DECREF(obj);         /* may free it: a bytearray has no finalizer */
    #else
        PyBuffer_Release(view);
    #endif
    }
    """
    bint ioring_export_bytearray(object obj, Py_buffer *view)
    bint ioring_bytearray_holds(object obj, long long nbytes)
    void ioring_release_bytearray(Py_buffer *view)


cdef inline int _export_view(object obj, Py_buffer *view, bint writable) except -1:
    """``obj``'s memory exported into ``view`` as the kernel needs it (contiguous; writable when
    the kernel writes there); a failure raises an error that says what to pass instead."""
    cdef int flags = PyBUF_ANY_CONTIGUOUS | (PyBUF_WRITABLE if writable else 0)
    if ioring_export_bytearray(obj, view):
        return 0
    if _get_buffer_noexc(obj, view, flags) < 0:
        _clear_error()
        return _raise_buffer_error(obj, flags, writable)
    return 0


@cython.final
@cython.freelist(64)
cdef class _Buffer:
    """A buffer-protocol export held for as long as the kernel may touch the memory.
    ``_Buffer(obj, writable)``; the hot paths make it with ``_export_buffer`` (no type call)."""

    def __init__(self, object obj, bint writable):
        self._export(obj, writable)

    cdef int _export(self, object obj, bint writable) except -1:
        if self.held:
            raise ValueError("this _Buffer already holds an export")
        _export_view(obj, &self.view, writable)
        self.held = True
        self.ptr = <char *>self.view.buf
        self.nbytes = self.view.len
        return 0

    # No __dealloc__: the export is released by ioring_buffer_dealloc (below), the type's
    # tp_dealloc, which a read's release at its completion runs once per request: Cython's
    # __dealloc__ saves and restores the error state and takes a reference around the call
    # every time; the C function does so only while an exception is pending.


cdef extern from *:
    """
    /* _Buffer's tp_dealloc: releases the export (at the offsets of its fields view and held,
       found at import), then runs the tp_dealloc Cython made (its freelist). */
    static destructor ioring_buffer_base_dealloc;
    static Py_ssize_t ioring_buffer_view_offset, ioring_buffer_held_offset;

    /* Releases an export; an exception pending (a failed call releasing what it pinned) is kept,
       since releasing may run Python code. */
    static void ioring_release_view(Py_buffer *view)
    {
        if (PyErr_Occurred()) {
            PyObject *type, *value, *tb;
            PyErr_Fetch(&type, &value, &tb);
            PyBuffer_Release(view);
            PyErr_Restore(type, value, tb);
        } else {
            PyBuffer_Release(view);
        }
    }

    /* A Py_buffer's export moved (the struct copied, the source no longer holding it), and
       whether one holds an export: in C, since Cython types a Py_buffer's obj as an object. */
    static inline void ioring_view_move(Py_buffer *dst, Py_buffer *src)
    {
        *dst = *src;
        src->obj = NULL;
    }

    static inline int ioring_view_held(const Py_buffer *view)
    {
        return view->obj != NULL;
    }

    /* An export whose release runs no Python code: an exact bytearray's (a counter decremented,
       then the bytearray freed if that was its last reference, which has no finalizer). Such an
       export can be released where it lies, with no copy to keep the releasing code off a
       table that Python code could change meanwhile. */
    static inline int ioring_view_release_is_quiet(const Py_buffer *view)
    {
        return Py_IS_TYPE(view->obj, &PyByteArray_Type);
    }

    static void ioring_buffer_dealloc(PyObject *o)
    {
        int *held = (int *)((char *)o + ioring_buffer_held_offset);
        if (*held) {
            *held = 0;
            ioring_release_view((Py_buffer *)((char *)o + ioring_buffer_view_offset));
        }
        ioring_buffer_base_dealloc(o);
    }

    static void ioring_buffer_install_dealloc(PyObject *type, Py_ssize_t view_offset,
                                              Py_ssize_t held_offset)
    {
        PyTypeObject *tp = (PyTypeObject *)type;
        ioring_buffer_view_offset = view_offset;
        ioring_buffer_held_offset = held_offset;
        if (tp->tp_dealloc != ioring_buffer_dealloc) {
            ioring_buffer_base_dealloc = tp->tp_dealloc;
            tp->tp_dealloc = ioring_buffer_dealloc;
        }
    }
    """
    void ioring_buffer_install_dealloc(object type, Py_ssize_t view_offset, Py_ssize_t held_offset)
    void ioring_release_view(Py_buffer *view)
    void ioring_view_move(Py_buffer *dst, Py_buffer *src)
    bint ioring_view_held(const Py_buffer *view)
    bint ioring_view_release_is_quiet(const Py_buffer *view)


cdef int _install_buffer_dealloc() except -1:
    cdef _Buffer probe = _Buffer.__new__(_Buffer)
    if sizeof(probe.held) != sizeof(int):
        raise RuntimeError("_Buffer.held is not a C int")
    ioring_buffer_install_dealloc(_Buffer, <char *>&probe.view - <char *><void *>probe,
                                  <char *>&probe.held - <char *><void *>probe)
    return 0


_install_buffer_dealloc()


cdef inline _Buffer _export_buffer(object obj, bint writable):
    """``_Buffer(obj, writable)`` without a call through the type (tp_new directly)."""
    cdef _Buffer b = _Buffer.__new__(_Buffer)
    b._export(obj, writable)
    return b
