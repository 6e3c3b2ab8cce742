"""liburing test/sq-full.c: an 8-entry ring hands out exactly 8 SQEs, then NULL (None)."""
from ioring.liburing import *


def main():
    ring = io_uring()
    io_uring_queue_init(8, ring, 0)

    i = 0
    while (sqe := io_uring_get_sqe(ring)) is not None:
        i += 1

    try:
        assert i == 8, f"Got {i} SQEs, wanted 8"
    finally:
        io_uring_queue_exit(ring)
    return 0


def test_main():
    assert main() == 0
