/* The "ideal binding" of issue 18's limit measurement (bench/bench_thin.py --limit): the
 * cheapest Python-callable functions that can run ioring.liburing's per-op loops, over the same
 * ring core (include/ioring/), with NO safety at all. FOR MEASURING ONLY: a wrong argument, a
 * closed ring, a bytearray freed while the kernel writes into it: any of them crashes the
 * process or corrupts memory. It is compiled at run time into a temporary directory by
 * bench/ideal_binding.py and is neither part of the package nor of the wheel.
 *
 * What makes it the floor of a binding with this loop shape (get_sqe -> prep_* -> set_data64 ->
 * submit_and_wait -> for_each_cqe / peek_cqe reading res and user_data -> cq_advance / cqe_seen):
 *   - builtin functions (METH_O / METH_FASTCALL), which CPython 3.11 calls through its
 *     specialized CALL paths, no argument parsing, no argument count or type check;
 *   - get_sqe returns one of the SQE objects preallocated per SQ slot (an incref, no allocation);
 *   - prep_read takes the bytearray's data pointer as it is (no buffer export, no pin);
 *   - nothing is tracked per request;
 *   - one preallocated CQE view per ring, its user_data/res/flags in object slots read through
 *     member descriptors (CPython's LOAD_ATTR_SLOT, the cheapest attribute read), the int of res
 *     kept while the value repeats; for_each_cqe returns the ring itself as the iterator;
 *   - submit_and_wait is the core's ioring_submit_and_wait_split, which ioring.liburing uses
 *     (same enters, so the same kernel work), without releasing the GIL.
 * Names and signatures are ioring.liburing's, so that the bench runs the very same loop
 * functions (ioring/bench/thin.py) over it.
 *
 * Compiled with -DIDEAL_PIN (module ideal_pinning) it adds the one guarantee that costs memory
 * work per read, at its cheapest: the buffer stays exported (PyObject_GetBuffer: a bytearray
 * cannot be resized or freed) from io_uring_prep_read until the completion is consumed, kept
 * in C arrays (a Py_buffer per SQ slot until io_uring_sqe_set_data64 moves it to the entry of
 * its user_data, released by io_uring_cq_advance / io_uring_cqe_seen). Only what the bench's
 * loops need: user_data < PIN_SLOTS, one request in flight per user_data. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <errno.h>

#include "ioring/ioring.h"

#ifdef IDEAL_PIN
#define MODULE_NAME "ideal_pinning"
#define MODULE_INIT PyInit_ideal_pinning
#define PIN_SLOTS 1024u         /* user_data values that can hold a pin */
#else
#define MODULE_NAME "ideal_binding"
#define MODULE_INIT PyInit_ideal_binding
#endif

/* An int that fits one 30-bit digit (all of this bench's), else the generic conversion. */
static inline long long small_int(PyObject *o)
{
#if PY_VERSION_HEX >= 0x030C0000          /* 3.12+: ints keep their size elsewhere */
    if (PyUnstable_Long_IsCompact((PyLongObject *)o))
        return (long long)PyUnstable_Long_CompactValue((PyLongObject *)o);
    return PyLong_AsLongLong(o);
#else
    Py_ssize_t size = Py_SIZE(o);
    if (size == 0)
        return 0;
    if (size == 1)
        return (long long)((PyLongObject *)o)->ob_digit[0];
    if (size == -1)
        return -(long long)((PyLongObject *)o)->ob_digit[0];
    return PyLong_AsLongLong(o);
#endif
}

static inline unsigned long long small_uint(PyObject *o)
{
#if PY_VERSION_HEX >= 0x030C0000
    if (PyUnstable_Long_IsCompact((PyLongObject *)o))
        return (unsigned long long)PyUnstable_Long_CompactValue((PyLongObject *)o);
    return PyLong_AsUnsignedLongLong(o);
#else
    Py_ssize_t size = Py_SIZE(o);
    if (size == 0)
        return 0;
    if (size == 1)
        return (unsigned long long)((PyLongObject *)o)->ob_digit[0];
    return PyLong_AsUnsignedLongLong(o);
#endif
}

/* ---- SQE: a pointer into the ring's SQE array ------------------------------------------------ */

struct RingObject;

typedef struct {
    PyObject_HEAD
    struct io_uring_sqe *sqe;
    struct RingObject *ring;  /* borrowed: the ring owns its SQE objects */
    unsigned slot;
} SqeObject;

static PyTypeObject Sqe_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ideal_binding.io_uring_sqe",
    .tp_basicsize = sizeof(SqeObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
};

#define SQE(o) (((SqeObject *)(o))->sqe)

/* ---- CQE view: three object slots --------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    PyObject *user_data;
    PyObject *res;
    PyObject *flags;
} CqeObject;

static PyMemberDef Cqe_members[] = {
    {"user_data", T_OBJECT_EX, offsetof(CqeObject, user_data), READONLY, NULL},
    {"res", T_OBJECT_EX, offsetof(CqeObject, res), READONLY, NULL},
    {"flags", T_OBJECT_EX, offsetof(CqeObject, flags), READONLY, NULL},
    {NULL},
};

static void Cqe_dealloc(CqeObject *self)
{
    Py_XDECREF(self->user_data);
    Py_XDECREF(self->res);
    Py_XDECREF(self->flags);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyTypeObject Cqe_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ideal_binding.io_uring_cqe",
    .tp_basicsize = sizeof(CqeObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_members = Cqe_members,
    .tp_dealloc = (destructor)Cqe_dealloc,
};

/* ---- the ring: also the CQE iterator of io_uring_for_each_cqe --------------------------------- */

typedef struct RingObject {
    PyObject_HEAD
    struct ioring ring;
    Py_buffer *staged;        /* IDEAL_PIN: per SQ slot, the export of the read prepared there */
    Py_buffer *held;          /* IDEAL_PIN: per user_data, the export of the read in flight */
    int live;
    unsigned nslots;
    PyObject **sqes;          /* one SqeObject per SQ slot */
    CqeObject *view;          /* the one CQE view */
    int last_res;             /* the value of view->res's int */
    unsigned iter_head;       /* io_uring_for_each_cqe's position */
} RingObject;

#define RING(o) ((RingObject *)(o))

static void release_all(Py_buffer *views, unsigned n)
{
    if (views) {
        for (unsigned i = 0; i < n; i++)
            if (views[i].obj)
                PyBuffer_Release(&views[i]);
        PyMem_Free(views);
    }
}

static void ring_release(RingObject *self)
{
    if (self->live) {
        ioring_queue_exit(&self->ring);     /* the kernel is done with every buffer */
        self->live = 0;
    }
    release_all(self->staged, self->nslots);
    self->staged = NULL;
#ifdef IDEAL_PIN
    release_all(self->held, PIN_SLOTS);
#endif
    self->held = NULL;
    if (self->sqes) {
        for (unsigned i = 0; i < self->nslots; i++)
            Py_XDECREF(self->sqes[i]);
        PyMem_Free(self->sqes);
        self->sqes = NULL;
    }
    Py_CLEAR(self->view);
}

static void Ring_dealloc(RingObject *self)
{
    ring_release(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Fill the view from the CQE at index. */
static inline PyObject *fill_view(RingObject *r, unsigned index)
{
    struct io_uring_cqe *cqe = ioring_cqe_at(&r->ring, index);
    CqeObject *v = r->view;
    PyObject *old;

    old = v->user_data;
    v->user_data = PyLong_FromUnsignedLongLong(cqe->user_data);
    Py_XDECREF(old);
    if (cqe->res != r->last_res || v->res == NULL) {
        old = v->res;
        v->res = PyLong_FromLong(cqe->res);
        r->last_res = cqe->res;
        Py_XDECREF(old);
    }
    old = v->flags;
    v->flags = PyLong_FromUnsignedLong(cqe->flags);
    Py_XDECREF(old);
    Py_INCREF(v);
    return (PyObject *)v;
}

static PyObject *Ring_iternext(PyObject *o)
{
    RingObject *r = RING(o);
    unsigned head = r->iter_head;
    if (head == ioring_load_acquire(r->ring.cq.ktail))
        return NULL;
    r->iter_head = head + 1;
    return fill_view(r, head);
}

static PyTypeObject Ring_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ideal_binding.io_uring",
    .tp_basicsize = sizeof(RingObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_dealloc = (destructor)Ring_dealloc,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = Ring_iternext,
};

static PyObject *errno_error(int neg)
{
    errno = -neg;
    return PyErr_SetFromErrno(PyExc_OSError);
}

/* ---- the functions ------------------------------------------------------------------------------ */

static PyObject *queue_init(PyObject *m, PyObject *const *args, Py_ssize_t nargs)
{
    RingObject *r;
    int ret;
    if (nargs != 3 || !PyObject_TypeCheck(args[1], &Ring_Type)) {
        PyErr_SetString(PyExc_TypeError, "io_uring_queue_init(entries, ring, flags)");
        return NULL;
    }
    r = RING(args[1]);
    if (r->live) {
        PyErr_SetString(PyExc_ValueError, "ring already initialized");
        return NULL;
    }
    ret = ioring_queue_init((unsigned)PyLong_AsUnsignedLong(args[0]), &r->ring,
                            (unsigned)PyLong_AsUnsignedLong(args[2]));
    if (PyErr_Occurred())
        return NULL;
    if (ret < 0)
        return errno_error(ret);
    r->live = 1;
    r->nslots = r->ring.sq.ring_entries;
    r->sqes = PyMem_Calloc(r->nslots, sizeof(PyObject *));
    r->view = PyObject_New(CqeObject, &Cqe_Type);
#ifdef IDEAL_PIN
    r->staged = PyMem_Calloc(r->nslots, sizeof(Py_buffer));
    r->held = PyMem_Calloc(PIN_SLOTS, sizeof(Py_buffer));
    if (!r->staged || !r->held) {
        ring_release(r);
        return PyErr_NoMemory();
    }
#endif
    if (!r->sqes || !r->view) {
        ring_release(r);
        return PyErr_NoMemory();
    }
    r->view->user_data = r->view->res = r->view->flags = NULL;
    for (unsigned i = 0; i < r->nslots; i++) {
        SqeObject *s = PyObject_New(SqeObject, &Sqe_Type);
        if (!s) {
            ring_release(r);
            return NULL;
        }
        s->sqe = ioring_sqe_at(&r->ring, i);
        s->ring = r;
        s->slot = i;
        r->sqes[i] = (PyObject *)s;
    }
    return PyLong_FromLong(0);
}

static PyObject *queue_exit(PyObject *m, PyObject *o)
{
    ring_release(RING(o));
    Py_RETURN_NONE;
}

static PyObject *get_sqe(PyObject *m, PyObject *o)
{
    RingObject *r = RING(o);
    unsigned slot = r->ring.sq.sqe_tail & r->ring.sq.ring_mask;
    PyObject *sqe;
    if (!ioring_get_sqe(&r->ring))
        Py_RETURN_NONE;
    sqe = r->sqes[slot];
    Py_INCREF(sqe);
    return sqe;
}

static PyObject *prep_nop(PyObject *m, PyObject *o)
{
    ioring_prep_nop(SQE(o));
    Py_RETURN_NONE;
}

/* io_uring_prep_read(sqe, fd, buf, nbytes, offset): buf is a bytearray, its pointer taken as is. */
#ifndef IDEAL_PIN
static PyObject *prep_read(PyObject *m, PyObject *const *args, Py_ssize_t nargs)
{
    ioring_prep_read(SQE(args[0]), (int)small_int(args[1]), PyByteArray_AS_STRING(args[2]),
                     (unsigned)small_uint(args[3]), (uint64_t)small_uint(args[4]));
    Py_RETURN_NONE;
}

static PyObject *set_data64(PyObject *m, PyObject *const *args, Py_ssize_t nargs)
{
    ioring_sqe_set_data64(SQE(args[0]), (uint64_t)small_uint(args[1]));
    Py_RETURN_NONE;
}

#define RELEASE_CONSUMED(r, head, nr)
#else
static PyObject *prep_read(PyObject *m, PyObject *const *args, Py_ssize_t nargs)
{
    SqeObject *s = (SqeObject *)args[0];
    Py_buffer *view = &s->ring->staged[s->slot];
    if (view->obj)                      /* the SQE prepared again before its submission */
        PyBuffer_Release(view);
    if (PyObject_GetBuffer(args[2], view, PyBUF_WRITABLE) < 0)
        return NULL;
    ioring_prep_read(s->sqe, (int)small_int(args[1]), view->buf,
                     (unsigned)small_uint(args[3]), (uint64_t)small_uint(args[4]));
    Py_RETURN_NONE;
}

static PyObject *set_data64(PyObject *m, PyObject *const *args, Py_ssize_t nargs)
{
    SqeObject *s = (SqeObject *)args[0];
    uint64_t data = (uint64_t)small_uint(args[1]);
    Py_buffer *view = &s->ring->staged[s->slot];
    s->sqe->user_data = data;
    if (view->obj && data < PIN_SLOTS) {    /* the pin follows the request's user_data */
        Py_buffer *held = &s->ring->held[data];
        if (held->obj)
            PyBuffer_Release(held);
        *held = *view;
        view->obj = NULL;
    }
    Py_RETURN_NONE;
}

/* The completions of CQ indexes head..head+nr-1 are consumed: their reads' buffers go. */
static inline void release_consumed(RingObject *r, unsigned head, unsigned nr)
{
    for (unsigned i = 0; i < nr; i++) {
        uint64_t data = ioring_cqe_at(&r->ring, head + i)->user_data;
        if (data < PIN_SLOTS && r->held[data].obj)
            PyBuffer_Release(&r->held[data]);
    }
}

#define RELEASE_CONSUMED(r, head, nr) release_consumed((r), (head), (nr))
#endif

static PyObject *submit_and_wait(PyObject *m, PyObject *const *args, Py_ssize_t nargs)
{
    unsigned submitted;
    int ret = ioring_submit_and_wait_split(&RING(args[0])->ring, (unsigned)small_uint(args[1]),
                                           &submitted);
    if (ret < 0)
        return errno_error(ret);
    return PyLong_FromLong(ret);
}

static PyObject *submit(PyObject *m, PyObject *o)
{
    int ret = ioring_submit(&RING(o)->ring);
    if (ret < 0)
        return errno_error(ret);
    return PyLong_FromLong(ret);
}

static PyObject *sq_ready(PyObject *m, PyObject *o)
{
    return PyLong_FromUnsignedLong(ioring_sq_ready(&RING(o)->ring));
}

static PyObject *cq_ready(PyObject *m, PyObject *o)
{
    return PyLong_FromUnsignedLong(ioring_cq_ready(&RING(o)->ring));
}

static PyObject *cq_advance(PyObject *m, PyObject *const *args, Py_ssize_t nargs)
{
    unsigned nr = (unsigned)small_uint(args[1]);
    RELEASE_CONSUMED(RING(args[0]), *RING(args[0])->ring.cq.khead, nr);
    ioring_cq_advance(&RING(args[0])->ring, nr);
    Py_RETURN_NONE;
}

static PyObject *for_each_cqe(PyObject *m, PyObject *o)
{
    RING(o)->iter_head = *RING(o)->ring.cq.khead;
    Py_INCREF(o);
    return o;
}

static PyObject *peek_cqe(PyObject *m, PyObject *o)
{
    RingObject *r = RING(o);
    unsigned head = *r->ring.cq.khead;
    if (head == ioring_load_acquire(r->ring.cq.ktail))
        Py_RETURN_NONE;
    return fill_view(r, head);
}

static PyObject *cqe_seen(PyObject *m, PyObject *const *args, Py_ssize_t nargs)
{
    RELEASE_CONSUMED(RING(args[0]), *RING(args[0])->ring.cq.khead, 1);
    ioring_cq_advance(&RING(args[0])->ring, 1);
    Py_RETURN_NONE;
}

static PyMethodDef functions[] = {
    {"io_uring_queue_init", (PyCFunction)(void (*)(void))queue_init, METH_FASTCALL, NULL},
    {"io_uring_queue_exit", queue_exit, METH_O, NULL},
    {"io_uring_get_sqe", get_sqe, METH_O, NULL},
    {"io_uring_prep_nop", prep_nop, METH_O, NULL},
    {"io_uring_prep_read", (PyCFunction)(void (*)(void))prep_read, METH_FASTCALL, NULL},
    {"io_uring_sqe_set_data64", (PyCFunction)(void (*)(void))set_data64, METH_FASTCALL, NULL},
    {"io_uring_submit_and_wait", (PyCFunction)(void (*)(void))submit_and_wait, METH_FASTCALL, NULL},
    {"io_uring_submit", submit, METH_O, NULL},
    {"io_uring_sq_ready", sq_ready, METH_O, NULL},
    {"io_uring_cq_ready", cq_ready, METH_O, NULL},
    {"io_uring_cq_advance", (PyCFunction)(void (*)(void))cq_advance, METH_FASTCALL, NULL},
    {"io_uring_for_each_cqe", for_each_cqe, METH_O, NULL},
    {"io_uring_peek_cqe", peek_cqe, METH_O, NULL},
    {"io_uring_cqe_seen", (PyCFunction)(void (*)(void))cqe_seen, METH_FASTCALL, NULL},
    {NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, MODULE_NAME,
    "issue 18's ideal binding: the cheapest functions for ioring.liburing's loops, no safety "
    "(bench only)", -1, functions,
};

PyMODINIT_FUNC MODULE_INIT(void)
{
    PyObject *m;
    if (PyType_Ready(&Sqe_Type) < 0 || PyType_Ready(&Cqe_Type) < 0 || PyType_Ready(&Ring_Type) < 0)
        return NULL;
    m = PyModule_Create(&module);
    if (!m)
        return NULL;
    Py_INCREF(&Ring_Type);
    if (PyModule_AddObject(m, "io_uring", (PyObject *)&Ring_Type) < 0) {
        Py_DECREF(&Ring_Type);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
