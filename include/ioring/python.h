/* The core as the Python extension sees it: the GIL is released around the only syscall
 * that sleeps (io_uring_enter with GETEVENTS), and held for every access to ring state. */
#ifndef IORING_PYTHON_H
#define IORING_PYTHON_H

#include <Python.h>

/* Cython converts arguments to C integers through the nb_int slot, so 4.5 would silently
 * become 4 (and a float fd, offset or timeout would reach the kernel truncated). CPython's
 * own C API uses __index__ only since 3.10; make the generated conversions do the same:
 * floats and Decimals raise TypeError, ints and numpy integers pass. */
#define nb_int nb_index

#define IORING_BLOCKING_BEGIN Py_BEGIN_ALLOW_THREADS
#define IORING_BLOCKING_END Py_END_ALLOW_THREADS

#include "ioring/ioring.h"
#include "ioring/compat.h"

#endif /* IORING_PYTHON_H */
