"""Stress test of linked() chains built while other threads queue, submit and wait on the same
Ring (tests/test_threads.py::test_chains_that_fill_the_sq_while_other_threads_queue_and_wait,
under a tiny GIL switch interval, so that thread switches land anywhere in Ring.linked(),
_sqe(), _block...). Usage, from the repository root:
PYTHONPATH=. python tools/stress_linked_chains.py [switch_interval] [rounds]
Prints each failing round and "fails N"; 0 is expected. (Before the SQ gate was made
race-free it failed 6-13 of 30 rounds at 1e-6: a chain cut, or another thread's NOP in it.)"""
import sys, time, threading, errno
sys.setswitchinterval(float(sys.argv[1]) if len(sys.argv) > 1 else 1e-6)
import ioring
fails = 0
for rep in range(int(sys.argv[2]) if len(sys.argv) > 2 else 30):
    errors = []
    with ioring.Ring(8) as ring:
        def worker(k):
            try:
                for i in range(300):
                    if k >= 3:
                        with ring.linked():
                            bad = ring.read(9999, bytearray(1), 0)
                            rest = [ring.nop() for _ in range(3)]
                        assert bad.exception(5).errno == errno.EBADF, bad.exception(5)
                        got = [op.exception(5) for op in rest]
                        assert all(e is not None and e.errno == errno.ECANCELED for e in got), got
                    else:
                        ops = [ring.nop() for _ in range(7)]
                        time.sleep(0)
                        if i % 2:
                            ring.submit()
                        assert [op.result(5) for op in ops] == [0] * 7
            except BaseException as exc:
                errors.append(f"thread {k}: {exc!r}")
        ts = [threading.Thread(target=worker, args=(k,)) for k in range(5)]
        [t.start() for t in ts]; [t.join(60) for t in ts]
    if errors:
        fails += 1
        print(rep, errors[:3])
print("fails", fails)
