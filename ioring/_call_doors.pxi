# Call doors: the hot functions of a per-op loop (get_sqe, prep_read/write, set_data64,
# submit_and_wait, for_each_cqe, cq_advance, peek_cqe, cqe_seen...) called the way C programs
# transcribed into Python call them: positional arguments, exact ints, the module's own types.
# Included by liburing.pyx, after the routing of range errors.
#
# A def's Cython wrapper takes a reference to every argument, looks for keywords and converts
# each int through Cython's generic conversion before the body runs: for io_uring_prep_read that
# is more instructions than the body itself (issue 18). A door is a C function put in the
# PyMethodDef in place of the wrapper (which the specializing interpreter calls directly): when
# the call has no keyword, the expected number of arguments, exact types and ints that fit, its
# fast function converts them in a few instructions and runs the very body the def runs (one
# cdef shared by both); any other call goes on to the def's wrapper, through the range-error
# shim it replaced, so every error and every accepted spelling is exactly the def's.

cdef extern from *:
    """
    /* A fast function: *handled set to 1 before it does anything (then its result or NULL with
       the exception is the call's); left 0, the call goes on to the def (its result, a new
       reference to None, is dropped). */
    typedef PyObject *(*ioring_fast_fn)(PyObject **args, Py_ssize_t nargs, int *handled);

    #define IORING_DOOR_SLOTS 24
    static ioring_fast_fn ioring_door_fast[IORING_DOOR_SLOTS];
    static _PyCFunctionFastWithKeywords ioring_door_slow[IORING_DOOR_SLOTS];
    static int ioring_door_count = 0;

    #define IORING_DOOR(k) \\
        static PyObject *ioring_door_##k(PyObject *m, PyObject *const *args, Py_ssize_t nargs, \\
                                         PyObject *kwnames) \\
        { \\
            if (kwnames == NULL) { \\
                int handled = 0; \\
                PyObject *r = ioring_door_fast[k]((PyObject **)args, nargs, &handled); \\
                if (handled) \\
                    return r; \\
                Py_XDECREF(r); \\
            } \\
            return ioring_door_slow[k](m, args, nargs, kwnames); \\
        }
    IORING_DOOR(0) IORING_DOOR(1) IORING_DOOR(2) IORING_DOOR(3) IORING_DOOR(4) IORING_DOOR(5)
    IORING_DOOR(6) IORING_DOOR(7) IORING_DOOR(8) IORING_DOOR(9) IORING_DOOR(10) IORING_DOOR(11)
    IORING_DOOR(12) IORING_DOOR(13) IORING_DOOR(14) IORING_DOOR(15) IORING_DOOR(16)
    IORING_DOOR(17) IORING_DOOR(18) IORING_DOOR(19) IORING_DOOR(20) IORING_DOOR(21)
    IORING_DOOR(22) IORING_DOOR(23)
    static const _PyCFunctionFastWithKeywords ioring_doors[IORING_DOOR_SLOTS] = {
        ioring_door_0, ioring_door_1, ioring_door_2, ioring_door_3, ioring_door_4, ioring_door_5,
        ioring_door_6, ioring_door_7, ioring_door_8, ioring_door_9, ioring_door_10,
        ioring_door_11, ioring_door_12, ioring_door_13, ioring_door_14, ioring_door_15,
        ioring_door_16, ioring_door_17, ioring_door_18, ioring_door_19, ioring_door_20,
        ioring_door_21, ioring_door_22, ioring_door_23,
    };

    /* Puts a door in front of the builtin ``func`` (a METH_FASTCALL | METH_KEYWORDS one): 1, or
       0 when it cannot (then it is left as it is). */
    static int ioring_install_door(PyObject *func, void *fast)
    {
        PyMethodDef *ml = ioring_methoddef_of(func);
        int k;
        if (ml == NULL || ml->ml_flags != (METH_FASTCALL | METH_KEYWORDS))
            return 0;
        for (k = 0; k < ioring_door_count; k++)
            if (ml->ml_meth == (PyCFunction)(void (*)(void))ioring_doors[k])
                return 0;                                   /* already */
        if (ioring_door_count == IORING_DOOR_SLOTS)
            return 0;
        k = ioring_door_count++;
        ioring_door_fast[k] = (ioring_fast_fn)fast;
        ioring_door_slow[k] = (_PyCFunctionFastWithKeywords)(void (*)(void))ml->ml_meth;
        ml->ml_meth = (PyCFunction)(void (*)(void))ioring_doors[k];
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
    int ioring_install_door(object func, void *fast)
    bint ioring_is_type(PyObject *o, object type) noexcept
    bint ioring_exact_ll(PyObject *o, long long *v) noexcept
    bint ioring_exact_uint(PyObject *o, unsigned long long lim, unsigned long long *v) noexcept


# ---- the fast functions: the def's common call, then its body ------------------------------------

cdef inline bint _ring_arg(PyObject **args, Py_ssize_t nargs, Py_ssize_t expected) noexcept:
    return nargs == expected and ioring_is_type(args[0], io_uring)


cdef inline bint _sqe_arg(PyObject **args, Py_ssize_t nargs, Py_ssize_t expected) noexcept:
    return nargs == expected and ioring_is_type(args[0], io_uring_sqe)


cdef object _fast_get_sqe(PyObject **args, Py_ssize_t nargs, int *handled):
    if not _ring_arg(args, nargs, 1):
        return None
    handled[0] = 1
    return _get_sqe(<io_uring>args[0])


cdef object _fast_prep_rw(PyObject **args, Py_ssize_t nargs, int *handled, bint writing):
    cdef long long fd, nbytes, off
    if not (_sqe_arg(args, nargs, 5) and (<io_uring_sqe>args[0])._own == NULL
            and <object>args[2] is not None
            and ioring_exact_ll(args[1], &fd) and -0x80000000 <= fd <= 0x7FFFFFFF
            and ioring_exact_ll(args[3], &nbytes) and ioring_exact_ll(args[4], &off) and off >= -1):
        return None
    handled[0] = 1
    _prep_rw_pinned(<io_uring_sqe>args[0], writing, <int>fd, <object>args[2], nbytes, <uint64_t>off)
    return None


cdef object _fast_prep_read(PyObject **args, Py_ssize_t nargs, int *handled):
    return _fast_prep_rw(args, nargs, handled, False)


cdef object _fast_prep_write(PyObject **args, Py_ssize_t nargs, int *handled):
    return _fast_prep_rw(args, nargs, handled, True)


cdef object _fast_prep_nop(PyObject **args, Py_ssize_t nargs, int *handled):
    if not _sqe_arg(args, nargs, 1):
        return None
    handled[0] = 1
    c.ioring_prep_nop((<io_uring_sqe>args[0])._begin())
    return None


cdef object _fast_set_data64(PyObject **args, Py_ssize_t nargs, int *handled):
    cdef unsigned long long data
    if not (_sqe_arg(args, nargs, 2) and ioring_exact_uint(args[1], 0xFFFFFFFFFFFFFFFF, &data)):
        return None
    handled[0] = 1
    _set_data64(<io_uring_sqe>args[0], data)
    return None


cdef object _fast_submit(PyObject **args, Py_ssize_t nargs, int *handled):
    if not _ring_arg(args, nargs, 1):
        return None
    handled[0] = 1
    return _submit(<io_uring>args[0])


cdef object _fast_submit_and_wait(PyObject **args, Py_ssize_t nargs, int *handled):
    cdef unsigned long long wait_nr
    if not (_ring_arg(args, nargs, 2) and ioring_exact_uint(args[1], 0xFFFFFFFF, &wait_nr)):
        return None
    handled[0] = 1
    return _submit_and_wait(<io_uring>args[0], <unsigned>wait_nr)


cdef object _fast_for_each_cqe(PyObject **args, Py_ssize_t nargs, int *handled):
    if not _ring_arg(args, nargs, 1):
        return None
    handled[0] = 1
    return _for_each_cqe(<io_uring>args[0])


cdef object _fast_peek_cqe(PyObject **args, Py_ssize_t nargs, int *handled):
    if not _ring_arg(args, nargs, 1):
        return None
    handled[0] = 1
    return _peek_cqe(<io_uring>args[0])


cdef object _fast_cqe_seen(PyObject **args, Py_ssize_t nargs, int *handled):
    if not (_ring_arg(args, nargs, 2) and ioring_is_type(args[1], io_uring_cqe)):
        return None
    handled[0] = 1
    _cqe_seen(<io_uring>args[0], <io_uring_cqe>args[1])
    return None


cdef object _fast_cq_advance(PyObject **args, Py_ssize_t nargs, int *handled):
    cdef unsigned long long nr
    if not (_ring_arg(args, nargs, 2) and ioring_exact_uint(args[1], 0xFFFFFFFF, &nr)):
        return None
    handled[0] = 1
    _cq_advance(<io_uring>args[0], <unsigned>nr)
    return None


cdef object _fast_cq_ready(PyObject **args, Py_ssize_t nargs, int *handled):
    if not _ring_arg(args, nargs, 1):
        return None
    handled[0] = 1
    _ready(<io_uring>args[0])
    return c.ioring_cq_ready(&(<io_uring>args[0]).ring)


cdef object _fast_sq_ready(PyObject **args, Py_ssize_t nargs, int *handled):
    if not _ring_arg(args, nargs, 1):
        return None
    handled[0] = 1
    _ready(<io_uring>args[0])
    return c.ioring_sq_ready(&(<io_uring>args[0]).ring)


cdef int _install_call_doors() except -1:
    cdef int n = 0
    n += ioring_install_door(io_uring_get_sqe, <void *>_fast_get_sqe)
    n += ioring_install_door(io_uring_prep_read, <void *>_fast_prep_read)
    n += ioring_install_door(io_uring_prep_write, <void *>_fast_prep_write)
    n += ioring_install_door(io_uring_prep_nop, <void *>_fast_prep_nop)
    n += ioring_install_door(io_uring_sqe_set_data64, <void *>_fast_set_data64)
    n += ioring_install_door(io_uring_submit, <void *>_fast_submit)
    n += ioring_install_door(io_uring_submit_and_wait, <void *>_fast_submit_and_wait)
    n += ioring_install_door(io_uring_for_each_cqe, <void *>_fast_for_each_cqe)
    n += ioring_install_door(io_uring_peek_cqe, <void *>_fast_peek_cqe)
    n += ioring_install_door(io_uring_cqe_seen, <void *>_fast_cqe_seen)
    n += ioring_install_door(io_uring_cq_advance, <void *>_fast_cq_advance)
    n += ioring_install_door(io_uring_cq_ready, <void *>_fast_cq_ready)
    n += ioring_install_door(io_uring_sq_ready, <void *>_fast_sq_ready)
    return n


_CALL_DOORS = _install_call_doors()
