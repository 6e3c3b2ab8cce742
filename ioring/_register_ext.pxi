# io_uring_register_* beyond the basics: included by liburing.pyx (conventions as in _register.pxi).
