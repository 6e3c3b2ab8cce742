"""The ``nop`` workload: one IORING_OP_NOP round trip (prep, submit, reap), in batches: the ring's
own cost."""
from __future__ import annotations

from typing import Callable

from ioring.bench._runner import _Runner, _bad
from ioring.bench.peers import _LiburingNop, _PyuringNop


class _CNop(_Runner):
    def __init__(self, batch: int):
        from ioring import _bench
        self._bench, self.batch = _bench, batch

    def measure(self, seconds):
        return self._bench.nop(self.batch, seconds)


def _thin_nop_step(ring, batch: int) -> Callable[[], int]:
    """The thin layer's NOP loop, a transcription of bench_nop.c's step: batch x (get_sqe,
    prep_nop, user_data), submit_and_wait(batch), then wait_cqe/check/cqe_seen per NOP."""
    from ioring import liburing as L
    get_sqe, prep_nop = L.io_uring_get_sqe, L.io_uring_prep_nop
    submit_and_wait, wait_cqe, cqe_seen = L.io_uring_submit_and_wait, L.io_uring_wait_cqe, L.io_uring_cqe_seen
    seq = 0
    rng = range(batch)

    def step():
        nonlocal seq
        for i in rng:
            sqe = get_sqe(ring)
            prep_nop(sqe)
            sqe.user_data = seq + i
        submit_and_wait(ring, batch)
        for _ in rng:
            cqe = wait_cqe(ring)
            if cqe.user_data != seq or cqe.res != 0:
                raise _bad("bad NOP completion", cqe.user_data, cqe.res, "expected", seq)
            seq += 1
            cqe_seen(ring, cqe)
        return batch
    return step


class _ThinNop(_Runner):
    def __init__(self, batch: int):
        from ioring import liburing as L
        self.L = L
        self.ring = L.io_uring()
        L.io_uring_queue_init(batch, self.ring, 0)
        self.step = _thin_nop_step(self.ring, batch)

    def close(self):
        self.L.io_uring_queue_exit(self.ring)


class _BatchNop(_Runner):
    def __init__(self, batch: int):
        import ioring
        self.ring = ioring.Ring(batch)
        nop_many = self.ring.nop_many

        def step():
            return nop_many(batch)
        self.step = step

    def close(self):
        self.ring.close()


NOP_IMPLS = {"c": _CNop, "thin": _ThinNop, "batch": _BatchNop, "liburing": _LiburingNop,
             "pyuring": _PyuringNop}
