# Call doors: the hot functions of a per-op loop (get_sqe, prep_read/write, set_data64,
# submit_and_wait, for_each_cqe, cq_advance, peek_cqe, cqe_seen...) called the way C programs
# transcribed into Python call them: positional arguments, exact ints, the module's own types.
# Included by liburing.pyx, after the routing of range errors.
#
# A def's Cython wrapper takes a reference to every argument, looks for keywords and converts
# each int through Cython's generic conversion before the body runs: for io_uring_prep_read that
# is more instructions than the body itself (issue 18). A door is a function of the
# METH_FASTCALL | METH_KEYWORDS convention put in the PyMethodDef in place of the wrapper (the
# specializing interpreter calls it directly): when the call has no keyword, the expected number
# of arguments, exact types and ints that fit, it converts them in a few instructions and runs
# the very body the def runs (one cdef shared by both; for the one-line bodies of prep_nop,
# cq_ready and sq_ready, the same line); any other call goes on to the def's
# wrapper, through the range-error shim the door replaced, so every error and every accepted
# spelling is exactly the def's.

cdef extern from *:
    """
    /* Slot k: the function a door replaced in its PyMethodDef (the range-error shim in front of
       the def's wrapper), which the door calls for any call it does not take itself. */
    #define IORING_DOOR_SLOTS 24
    static _PyCFunctionFastWithKeywords ioring_door_slow_fn[IORING_DOOR_SLOTS];

    static PyObject *ioring_door_slow(int k, PyObject *m, PyObject **args, Py_ssize_t nargs,
                                      PyObject *kwnames)
    {
        return ioring_door_slow_fn[k](m, args, nargs, kwnames);
    }

    /* Puts ``door`` (a function of the METH_FASTCALL | METH_KEYWORDS convention) in slot k of
       the builtin ``func``'s PyMethodDef: 1, or 0 when it cannot (then it is left as it is). */
    static int ioring_install_door(PyObject *func, void *door, int k)
    {
        PyMethodDef *ml = ioring_methoddef_of(func);
        if (ml == NULL || ml->ml_flags != (METH_FASTCALL | METH_KEYWORDS) || k < 0
                || k >= IORING_DOOR_SLOTS || ioring_door_slow_fn[k] != NULL)
            return 0;
        ioring_door_slow_fn[k] = (_PyCFunctionFastWithKeywords)(void (*)(void))ml->ml_meth;
        ml->ml_meth = (PyCFunction)door;
        return 1;
    }

    static inline int ioring_is_type(PyObject *o, PyObject *type)
    {
        return (PyObject *)Py_TYPE(o) == type;
    }

    /* An exact int's value when it fits a long long (no exception either way). */
    static inline int ioring_exact_ll(PyObject *o, long long *v)
    {
        int overflow;
        if (!PyLong_CheckExact(o))
            return 0;
    #if PY_VERSION_HEX >= 0x030C0000
        if (PyUnstable_Long_IsCompact((PyLongObject *)o)) {
            *v = (long long)PyUnstable_Long_CompactValue((PyLongObject *)o);
            return 1;
        }
    #else
        switch (Py_SIZE(o)) {
        case 0: *v = 0; return 1;
        case 1: *v = (long long)((PyLongObject *)o)->ob_digit[0]; return 1;
        case -1: *v = -(long long)((PyLongObject *)o)->ob_digit[0]; return 1;
        }
    #endif
        *v = PyLong_AsLongLongAndOverflow(o, &overflow);
        return overflow == 0 && !(*v == -1 && PyErr_Occurred());
    }

    /* An exact int's value when it is in 0..lim. */
    static inline int ioring_exact_uint(PyObject *o, unsigned long long lim, unsigned long long *v)
    {
        long long x;
        unsigned long long u;
        if (ioring_exact_ll(o, &x)) {
            if (x < 0 || (unsigned long long)x > lim)
                return 0;
            *v = (unsigned long long)x;
            return 1;
        }
        if (!PyLong_CheckExact(o) || PyErr_Occurred())
            return 0;
        u = PyLong_AsUnsignedLongLong(o);           /* past 2**63: 2**63..2**64-1 fit */
        if (u == (unsigned long long)-1 && PyErr_Occurred()) {
            PyErr_Clear();
            return 0;
        }
        if (u > lim)
            return 0;
        *v = u;
        return 1;
    }
    """
    PyObject *ioring_door_slow(int k, PyObject *m, PyObject **args, Py_ssize_t nargs, PyObject *kwnames)
    int ioring_install_door(object func, void *door, int k)
    bint ioring_is_type(PyObject *o, object type) noexcept
    bint ioring_exact_ll(PyObject *o, long long *v) noexcept
    bint ioring_exact_uint(PyObject *o, unsigned long long lim, unsigned long long *v) noexcept


cdef extern from *:
    """
    /* The bodies the doors of a per-op loop's calls run (and the CQE copy of
       io_uring_for_each_cqe's iterator, a def's __next__) are always inlined into them: a call
       is then one C function, without the prologues, argument moves and reference-count pairs
       of a call between its layers (issue 18). Only these bodies: their own slow paths stay
       calls. The names are Cython's for the cdef functions below (forward declarations of
       its structs suffice); ioring_inlined_bodies refers to each, so that a name Cython no
       longer defines fails the import (undefined symbol) instead of silently compiling
       without the attribute. */
    #if defined(__GNUC__)
    #define IORING_PYX_OBJ(name) struct __pyx_obj_6ioring_8liburing_##name
    #define IORING_INLINED(ret, name, args) \
        static CYTHON_INLINE ret __pyx_f_6ioring_8liburing__##name args __attribute__((always_inline));
    IORING_PYX_OBJ(io_uring);
    IORING_PYX_OBJ(io_uring_sqe);
    IORING_PYX_OBJ(io_uring_cqe);
    IORING_INLINED(PyObject *, get_sqe, (IORING_PYX_OBJ(io_uring) *))
    IORING_INLINED(int, prep_rw_pinned, (IORING_PYX_OBJ(io_uring_sqe) *, int, int, PyObject *,
                                         PY_LONG_LONG, uint64_t))
    IORING_INLINED(int, set_data64, (IORING_PYX_OBJ(io_uring_sqe) *, uint64_t))
    IORING_INLINED(int, cq_advance, (IORING_PYX_OBJ(io_uring) *, unsigned int))
    IORING_INLINED(int, retire, (IORING_PYX_OBJ(io_uring) *, unsigned int))
    IORING_INLINED(IORING_PYX_OBJ(io_uring_cqe) *, copy_cqe, (IORING_PYX_OBJ(io_uring) *,
                                                              struct io_uring_cqe *, unsigned int))
    IORING_INLINED(int, fill_cqe, (IORING_PYX_OBJ(io_uring) *, IORING_PYX_OBJ(io_uring_cqe) *,
                                   struct io_uring_cqe *, unsigned int))
    __attribute__((used)) static void *const ioring_inlined_bodies[] = {
        (void *)__pyx_f_6ioring_8liburing__get_sqe, (void *)__pyx_f_6ioring_8liburing__prep_rw_pinned,
        (void *)__pyx_f_6ioring_8liburing__set_data64, (void *)__pyx_f_6ioring_8liburing__cq_advance,
        (void *)__pyx_f_6ioring_8liburing__retire, (void *)__pyx_f_6ioring_8liburing__copy_cqe,
        (void *)__pyx_f_6ioring_8liburing__fill_cqe,
    };
    #endif
    """

from cpython.ref cimport Py_INCREF


cdef enum:      # the doors' slots
    _DOOR_GET_SQE, _DOOR_PREP_READ, _DOOR_PREP_WRITE, _DOOR_PREP_NOP, _DOOR_SET_DATA64,
    _DOOR_SUBMIT, _DOOR_SUBMIT_AND_WAIT, _DOOR_FOR_EACH_CQE, _DOOR_PEEK_CQE, _DOOR_CQE_SEEN,
    _DOOR_CQ_ADVANCE, _DOOR_CQ_READY, _DOOR_SQ_READY


cdef inline PyObject *_result(object value) noexcept:
    """A door's result: a new reference to ``value``."""
    Py_INCREF(value)
    return <PyObject *>value


# ---- the doors: the def's common call, then its body; anything else, the def ---------------------

cdef inline bint _ring_call(PyObject **args, Py_ssize_t nargs, PyObject *kw, Py_ssize_t expected) noexcept:
    return kw == NULL and nargs == expected and ioring_is_type(args[0], io_uring)


cdef inline bint _sqe_call(PyObject **args, Py_ssize_t nargs, PyObject *kw, Py_ssize_t expected) noexcept:
    return kw == NULL and nargs == expected and ioring_is_type(args[0], io_uring_sqe)


cdef PyObject *_door_get_sqe(PyObject *m, PyObject **args, Py_ssize_t nargs, PyObject *kw) except NULL:
    if not _ring_call(args, nargs, kw, 1):
        return ioring_door_slow(_DOOR_GET_SQE, m, args, nargs, kw)
    return _result(_get_sqe(<io_uring>args[0]))


cdef inline bint _rw_call(PyObject **args, Py_ssize_t nargs, PyObject *kw, long long *fd,
                          long long *nbytes, long long *off) noexcept:
    """A prep_read/prep_write call the door takes: a ring's SQE, a buffer, exact ints in range."""
    return (_sqe_call(args, nargs, kw, 5) and (<io_uring_sqe>args[0])._own == NULL
            and <object>args[2] is not None
            and ioring_exact_ll(args[1], fd) and -0x80000000 <= fd[0] <= 0x7FFFFFFF
            and ioring_exact_ll(args[3], nbytes) and ioring_exact_ll(args[4], off) and off[0] >= -1)


cdef PyObject *_door_prep_read(PyObject *m, PyObject **args, Py_ssize_t nargs, PyObject *kw) except NULL:
    cdef long long fd, nbytes, off
    if not _rw_call(args, nargs, kw, &fd, &nbytes, &off):
        return ioring_door_slow(_DOOR_PREP_READ, m, args, nargs, kw)
    _prep_rw_pinned(<io_uring_sqe>args[0], False, <int>fd, <object>args[2], nbytes, <uint64_t>off)
    return _result(None)


cdef PyObject *_door_prep_write(PyObject *m, PyObject **args, Py_ssize_t nargs, PyObject *kw) except NULL:
    cdef long long fd, nbytes, off
    if not _rw_call(args, nargs, kw, &fd, &nbytes, &off):
        return ioring_door_slow(_DOOR_PREP_WRITE, m, args, nargs, kw)
    _prep_rw_pinned(<io_uring_sqe>args[0], True, <int>fd, <object>args[2], nbytes, <uint64_t>off)
    return _result(None)


cdef PyObject *_door_prep_nop(PyObject *m, PyObject **args, Py_ssize_t nargs, PyObject *kw) except NULL:
    if not _sqe_call(args, nargs, kw, 1):
        return ioring_door_slow(_DOOR_PREP_NOP, m, args, nargs, kw)
    c.ioring_prep_nop((<io_uring_sqe>args[0])._begin())
    return _result(None)


cdef PyObject *_door_set_data64(PyObject *m, PyObject **args, Py_ssize_t nargs, PyObject *kw) except NULL:
    cdef unsigned long long data
    if not (_sqe_call(args, nargs, kw, 2) and ioring_exact_uint(args[1], 0xFFFFFFFFFFFFFFFF, &data)):
        return ioring_door_slow(_DOOR_SET_DATA64, m, args, nargs, kw)
    _set_data64(<io_uring_sqe>args[0], data)
    return _result(None)


cdef PyObject *_door_submit(PyObject *m, PyObject **args, Py_ssize_t nargs, PyObject *kw) except NULL:
    if not _ring_call(args, nargs, kw, 1):
        return ioring_door_slow(_DOOR_SUBMIT, m, args, nargs, kw)
    return _result(_submit(<io_uring>args[0]))


cdef PyObject *_door_submit_and_wait(PyObject *m, PyObject **args, Py_ssize_t nargs, PyObject *kw) except NULL:
    cdef unsigned long long wait_nr
    if not (_ring_call(args, nargs, kw, 2) and ioring_exact_uint(args[1], 0xFFFFFFFF, &wait_nr)):
        return ioring_door_slow(_DOOR_SUBMIT_AND_WAIT, m, args, nargs, kw)
    return _result(_submit_and_wait(<io_uring>args[0], <unsigned>wait_nr))


cdef PyObject *_door_for_each_cqe(PyObject *m, PyObject **args, Py_ssize_t nargs, PyObject *kw) except NULL:
    if not _ring_call(args, nargs, kw, 1):
        return ioring_door_slow(_DOOR_FOR_EACH_CQE, m, args, nargs, kw)
    return _result(_for_each_cqe(<io_uring>args[0]))


cdef PyObject *_door_peek_cqe(PyObject *m, PyObject **args, Py_ssize_t nargs, PyObject *kw) except NULL:
    if not _ring_call(args, nargs, kw, 1):
        return ioring_door_slow(_DOOR_PEEK_CQE, m, args, nargs, kw)
    return _result(_peek_cqe(<io_uring>args[0]))


cdef PyObject *_door_cqe_seen(PyObject *m, PyObject **args, Py_ssize_t nargs, PyObject *kw) except NULL:
    if not (_ring_call(args, nargs, kw, 2) and ioring_is_type(args[1], io_uring_cqe)):
        return ioring_door_slow(_DOOR_CQE_SEEN, m, args, nargs, kw)
    _cqe_seen(<io_uring>args[0], <io_uring_cqe>args[1])
    return _result(None)


cdef PyObject *_door_cq_advance(PyObject *m, PyObject **args, Py_ssize_t nargs, PyObject *kw) except NULL:
    cdef unsigned long long nr
    if not (_ring_call(args, nargs, kw, 2) and ioring_exact_uint(args[1], 0xFFFFFFFF, &nr)):
        return ioring_door_slow(_DOOR_CQ_ADVANCE, m, args, nargs, kw)
    _cq_advance(<io_uring>args[0], <unsigned>nr)
    return _result(None)


cdef PyObject *_door_cq_ready(PyObject *m, PyObject **args, Py_ssize_t nargs, PyObject *kw) except NULL:
    if not _ring_call(args, nargs, kw, 1):
        return ioring_door_slow(_DOOR_CQ_READY, m, args, nargs, kw)
    _ready(<io_uring>args[0])
    return _result(c.ioring_cq_ready(&(<io_uring>args[0]).ring))


cdef PyObject *_door_sq_ready(PyObject *m, PyObject **args, Py_ssize_t nargs, PyObject *kw) except NULL:
    if not _ring_call(args, nargs, kw, 1):
        return ioring_door_slow(_DOOR_SQ_READY, m, args, nargs, kw)
    _ready(<io_uring>args[0])
    return _result(c.ioring_sq_ready(&(<io_uring>args[0]).ring))


cdef int _install_call_doors() except -1:
    cdef int n = 0
    n += ioring_install_door(io_uring_get_sqe, <void *>_door_get_sqe, _DOOR_GET_SQE)
    n += ioring_install_door(io_uring_prep_read, <void *>_door_prep_read, _DOOR_PREP_READ)
    n += ioring_install_door(io_uring_prep_write, <void *>_door_prep_write, _DOOR_PREP_WRITE)
    n += ioring_install_door(io_uring_prep_nop, <void *>_door_prep_nop, _DOOR_PREP_NOP)
    n += ioring_install_door(io_uring_sqe_set_data64, <void *>_door_set_data64, _DOOR_SET_DATA64)
    n += ioring_install_door(io_uring_submit, <void *>_door_submit, _DOOR_SUBMIT)
    n += ioring_install_door(io_uring_submit_and_wait, <void *>_door_submit_and_wait,
                             _DOOR_SUBMIT_AND_WAIT)
    n += ioring_install_door(io_uring_for_each_cqe, <void *>_door_for_each_cqe, _DOOR_FOR_EACH_CQE)
    n += ioring_install_door(io_uring_peek_cqe, <void *>_door_peek_cqe, _DOOR_PEEK_CQE)
    n += ioring_install_door(io_uring_cqe_seen, <void *>_door_cqe_seen, _DOOR_CQE_SEEN)
    n += ioring_install_door(io_uring_cq_advance, <void *>_door_cq_advance, _DOOR_CQ_ADVANCE)
    n += ioring_install_door(io_uring_cq_ready, <void *>_door_cq_ready, _DOOR_CQ_READY)
    n += ioring_install_door(io_uring_sq_ready, <void *>_door_sq_ready, _DOOR_SQ_READY)
    return n


#: the functions that have a call door (13 when every one was installed)
_CALL_DOORS = _install_call_doors()
