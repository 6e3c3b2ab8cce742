"""Fidelity of ioring.liburing to C programs written against liburing (issue 13): the places a
line-by-line transcription of liburing's own test programs needed something the module lacked.
Each test checks what the kernel did."""
import errno
import traceback

import pytest

from ioring import liburing as L

from conftest import reap


# ---- out-of-range ints raise a public exception type (issue 14) --------------------------------

def test_int_range_error_is_public_and_both_value_and_overflow_error(ring):
    sqe = L.io_uring_get_sqe(ring)
    with pytest.raises(L.IntRangeError) as info:
        L.io_uring_prep_fsync(sqe, 0, -1)               # unsigned fsync_flags
    exc = info.value
    assert isinstance(exc, ValueError) and isinstance(exc, OverflowError)
    assert type(exc) is L.IntRangeError and type(exc).__module__ == "ioring.liburing"
    text = "".join(traceback.format_exception(exc))
    assert "IntRangeError" in text and "_IntRangeError" not in text
