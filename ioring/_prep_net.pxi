# io_uring_prep_* of the net group: included by liburing.pyx (conventions as in _prep.pxi).
