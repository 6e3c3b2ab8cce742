# io_uring_prep_* of the fs group: included by liburing.pyx (conventions as in _prep.pxi).
