/* The core as the Python extension sees it: the GIL is released around the only syscall
 * that sleeps (io_uring_enter with GETEVENTS), and held for every access to ring state. */
#ifndef IORING_PYTHON_H
#define IORING_PYTHON_H

#include <Python.h>

#define IORING_BLOCKING_BEGIN Py_BEGIN_ALLOW_THREADS
#define IORING_BLOCKING_END Py_END_ALLOW_THREADS

#include "ioring/ioring.h"
#include "ioring/compat.h"

#endif /* IORING_PYTHON_H */
