"""Threads sharing one ring: no corruption, every completion accounted for exactly once, no hang.

* Thin layer: 8 threads share ONE io_uring, each doing get_sqe / prep_nop / set_data64 / submit
  and reaping whatever is at the head of the CQ (a completion of one thread may be reaped by
  another). A shared dict, filled under a lock by whichever thread's io_uring_cqe_seen
  succeeded, must end with every user_data exactly once. A thread whose SQE another thread
  submitted before it was prepared gets ValueError (stale SQE): that SQE went out as a zeroed
  NOP with user_data 0, and the user_data-0 completions must match those errors exactly.
  Run twice: quietly, and with a signal arriving every millisecond (EINTR in the waits).
* Pythonic layer: 8 threads share ONE ioring.Ring, each queueing NOPs and reads of a file into
  its own buffers and waiting for its own results with Operation.result() (no timeout); every
  result and every byte read is checked.
* Batches: Ring.nop_many / read_many from several threads at once, and next to single
  operations.

Each scenario runs in a child interpreter (this file run as a script), with a watchdog: a thread
that stops making progress is reported as hung instead of hanging the test session.
Op counts: 8 x 100,000 per scenario as asked, except where the test says why it uses fewer.
"""
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
THREADS = 8
OPS = int(os.environ.get("IORING_THREAD_OPS", "100000"))


# ---- the harness (parent side) --------------------------------------------------------------

def run_scenario(name, *args, timeout=120):
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    start = time.monotonic()
    try:
        proc = subprocess.run([sys.executable, os.path.abspath(__file__), name] + [str(a) for a in args],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"scenario {name} did not finish in {timeout} s (a hang the watchdog did not "
                    f"catch)\n{(exc.stdout or '')[-2000:]}\n{(exc.stderr or '')[-2000:]}", pytrace=False)
    elapsed = time.monotonic() - start
    if proc.returncode < 0:
        pytest.fail(f"scenario {name}: the interpreter died with {signal.Signals(-proc.returncode).name}\n"
                    f"{proc.stderr[-4000:]}", pytrace=False)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        pytest.fail(f"scenario {name} (exit {proc.returncode}) reported nothing:\n{proc.stderr[-4000:]}",
                    pytrace=False)
    report = json.loads(lines[-1])
    report["elapsed"] = elapsed
    print(f"\n{name}: {elapsed:.1f} s; " + ", ".join(f"{k}={v}" for k, v in report.items()
                                                     if k not in ("problems", "elapsed")))
    assert not report.get("problems"), f"{name}:\n  " + "\n  ".join(report["problems"][:40])
    assert proc.returncode == 0, proc.stderr[-4000:]
    return report


def test_thin_layer_8_threads_share_one_ring():
    report = run_scenario("thin", THREADS, OPS, 0)
    assert report["completed"] == THREADS * OPS


def test_thin_layer_8_threads_share_one_ring_under_signals():
    """A signal every millisecond interrupts the threads' waits (EINTR) while other threads
    hold SQEs they have not prepared yet. 8 x 25,000 ops: the signal handling makes each op
    slower, and the point is the interleaving, not the count."""
    report = run_scenario("thin", THREADS, OPS // 4, 1)
    assert report["completed"] == THREADS * (OPS // 4)


def test_ring_8_threads_nops_and_reads():
    report = run_scenario("ring", THREADS, OPS)
    assert report["completed"] == THREADS * OPS


def test_ring_8_threads_with_result_timeouts():
    """As above with Operation.result(timeout=...): a thread whose completion another thread
    reaped finds it done after its timed wait returns."""
    report = run_scenario("ring_timeout", THREADS, OPS // 4)
    assert report["completed"] == THREADS * (OPS // 4)


def test_nop_many_from_several_threads_and_single_ops_next_to_it():
    """4 threads run Ring.nop_many batches while 4 threads run single NOPs on the same Ring.
    The batches identify their completions by a user_data tag that every batch shares, and
    reap (consume) every CQE they see: neither may steal the other's completions."""
    report = run_scenario("batches", 4, 4, 200)
    assert report["completed_batches"] == 4 * 200


def test_read_many_from_two_threads_keeps_each_batchs_buffers_pinned():
    """Two threads: one read_many on a pipe (its read stays in flight until data is written),
    one nop_many. The read_many must not return (and release its buffer) before its own read
    completed: a completion of the other thread's batch carries the same user_data."""
    report = run_scenario("read_many_vs_nop_many")
    assert report["ok"]


def test_read_many_ignores_completions_it_did_not_submit():
    """Single thread, deterministic: a NOP submitted through ring.uring with user_data
    1 << 63 (the batch tag, index 0) is pending when read_many starts; read_many must not take
    it for the completion of its read (and return, releasing the buffer, with the read still
    in flight)."""
    report = run_scenario("read_many_foreign_cqe")
    assert report["ok"]


def test_wait_cqe_nr_returns_a_current_cqe_after_sleeping():
    """io_uring_wait_cqe_nr(ring, 2) with one CQE ready sleeps in the kernel (GIL released);
    meanwhile another thread consumes that CQE and more arrive. The CQE it returns must be the
    one at the head when it returns, not a copy of the slot it looked at before sleeping
    (already consumed by the other thread: a duplicate, whose cqe_seen then silently consumes
    somebody else's completion, which is lost)."""
    report = run_scenario("wait_nr_stale_pointer")
    assert report["ok"]


def test_request_queued_by_a_signal_handler_during_nop_many_stays_pinned():
    """Ring.nop_many releases the GIL in the kernel and runs Python signal handlers between
    its rounds. A handler that queues a read on the same ring (thin layer) must see that read
    tracked like any other: after the batch, with the read still in flight and its SQ slot
    reused by later requests, its buffer must still be pinned."""
    report = run_scenario("signal_handler_during_batch")
    assert report["ok"]


# ---- linked() chains and other threads (in process: each step is bounded by a timeout) -------

def _run_threads(target, n, timeout, hung):
    """``target(k)`` in n threads; fail with ``hung`` if one is still running after timeout."""
    threads = [threading.Thread(target=target, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not any(t.is_alive() for t in threads), hung


def _chain_with_another_thread_in_the_middle(other):
    """Thread A opens ``with ring.linked()``, queues a read of a bad fd (fails: EBADF), lets
    thread B run ``other(ring)`` while the chain is open, then queues a NOP and closes the
    chain. Returns (A's two results, what B got). The NOP must be cancelled by the failed read
    (it is linked to it) and B's request must be in no chain."""
    import ioring
    ring = ioring.Ring(16)
    inside, b_done = threading.Event(), threading.Event()
    got = {}

    def b():
        inside.wait(5)
        try:
            got["b"] = other(ring)
        except BaseException as exc:        # reported to the main thread
            got["b"] = exc
        b_done.set()

    t = threading.Thread(target=b)
    t.start()
    try:
        with ring.linked():
            bad = ring.read(9999, bytearray(8), 0)
            inside.set()
            # B runs now (it blocks until the chain is closed, or, before the fix, it cut into
            # the chain); give it time to do so.
            b_done.wait(0.3)
            nop = ring.nop()
        results = []
        for op in (bad, nop):
            try:
                results.append(op.result(5))
            except OSError as exc:
                results.append(-exc.errno)
        t.join(5)
        assert not t.is_alive(), "thread B hung"
        return results, got["b"]
    finally:
        ring.close()


def test_another_threads_request_never_joins_an_open_linked_chain():
    import errno
    results, b = _chain_with_another_thread_in_the_middle(lambda ring: ring.nop().result(5))
    assert results == [-errno.EBADF, -errno.ECANCELED]
    assert b == 0           # before the fix: ECANCELED (linked between the read and the NOP)


def test_another_threads_submit_never_cuts_an_open_linked_chain():
    import errno
    results, b = _chain_with_another_thread_in_the_middle(lambda ring: ring.submit())
    # before the fix the submit sent the chain's first half alone: the NOP then ran unlinked (0)
    assert results == [-errno.EBADF, -errno.ECANCELED]
    assert isinstance(b, int), b


def test_two_threads_build_linked_chains_at_once():
    import errno
    import ioring
    errors = []
    with ioring.Ring(64) as ring:
        def builder(k):
            try:
                for _ in range(200):
                    with ring.linked():
                        a = ring.read(9999, bytearray(1), 0)
                        time.sleep(0)               # let the other thread try to interleave
                        b = ring.nop()
                    ra = a.exception(5)
                    rb = b.exception(5)
                    assert isinstance(ra, OSError) and ra.errno == errno.EBADF, ra
                    assert isinstance(rb, OSError) and rb.errno == errno.ECANCELED, rb
            except BaseException as exc:
                errors.append(f"thread {k}: {exc!r}")

        _run_threads(builder, 3, 30, "a chain builder hung")
    assert not errors, errors


def test_chains_that_fill_the_sq_while_other_threads_queue_and_wait():
    """An 8-entry Ring: each 4-request chain finds the SQ holding other threads' requests and
    must have them submitted first (Ring._submit_before_chain), while those threads wait on
    the chain gate; no request of another thread may land inside a chain, and no chain may be
    cut (before: 'linked() chain longer than the submission queue')."""
    import errno
    import ioring
    errors = []
    with ioring.Ring(8) as ring:
        def worker(k):
            try:
                for i in range(300):
                    if k >= 3:                  # started last: the SQ is busy by then
                        with ring.linked():
                            bad = ring.read(9999, bytearray(1), 0)
                            rest = [ring.nop() for _ in range(3)]
                        assert bad.exception(5).errno == errno.EBADF
                        got = [op.exception(5) for op in rest]
                        assert all(e is not None and e.errno == errno.ECANCELED for e in got), got
                    else:
                        ops = [ring.nop() for _ in range(7)]    # the SQ is nearly full
                        time.sleep(0)                           # ... when a chain begins
                        if i % 2:
                            ring.submit()
                        assert [op.result(5) for op in ops] == [0] * 7
            except BaseException as exc:
                errors.append(f"thread {k}: {exc!r}")

        _run_threads(worker, 5, 60, "a thread hung")
        assert ring.in_flight == 0
    assert not errors, errors[:4]


def _errnos(ops):
    """The errno each Operation failed with, None for a success."""
    return [None if e is None else e.errno for e in (op.exception(5) for op in ops)]


@pytest.mark.parametrize("b_queues", ["a request", "a chain"])
def test_a_thread_woken_at_the_chain_gate_checks_it_again_after_leaving_the_condition(b_queues):
    """Thread B waits at the SQ gate while A's chain is open. A closes it and B wakes up; the
    moment B leaves the gate's Condition (its __exit__ is Python code, where another thread
    may run) thread C opens a chain and queues its first request. B must wait for C's chain
    too (before: it had checked before leaving the Condition, and its NOP, or its own chain,
    went into the middle of C's: ECANCELED, and the two chains interleaved). The switch is
    forced at that exact point with a trace function in B."""
    import errno
    import ioring
    results = {}
    a_open, a_close, c_go, c_queued = (threading.Event() for _ in range(4))

    def a(ring):
        with ring.linked():
            results["a"] = ring.read(9999, bytearray(1), 0)
            a_open.set()
            a_close.wait(5)

    def c(ring):
        c_go.wait(5)
        with ring.linked():
            bad = ring.read(9999, bytearray(1), 0)
            c_queued.set()
            time.sleep(0.3)     # B runs now: it must not queue into this chain
            nop = ring.nop()
        results["c"] = _errnos([bad, nop])

    def tracer(frame, event, arg):
        if (event == "call" and frame.f_code.co_name == "__exit__"
                and isinstance(frame.f_locals.get("self"), threading.Condition)
                and not c_go.is_set()):
            c_go.set()                  # B is leaving the gate's Condition: C opens its chain
            c_queued.wait(5)
        return None

    def b(ring):
        a_open.wait(5)
        threading.Timer(0.2, a_close.set).start()   # A closes its chain while B waits
        sys.settrace(tracer)
        try:
            if b_queues == "a request":
                ops = [ring.nop()]
            else:
                with ring.linked():
                    ops = [ring.read(9999, bytearray(1), 0), ring.nop()]
        finally:
            sys.settrace(None)
        results["b"] = _errnos(ops)

    with ioring.Ring(16) as ring:
        _run_threads(lambda k: (a, b, c)[k](ring), 3, 30, "a thread hung")
        assert c_go.is_set(), "B never waited at the gate"
        assert _errnos([results["a"]]) == [errno.EBADF]
        assert results["c"] == [errno.EBADF, errno.ECANCELED]
        assert results["b"] == ([None] if b_queues == "a request" else [errno.EBADF, errno.ECANCELED])
        assert ring.in_flight == 0


def test_a_pump_whose_reap_let_a_chain_open_does_not_submit_half_of_it():
    """Ring._pump (ioring.asyncio's submit-and-reap, round after round while requests complete):
    a done-callback run by its first reap lets thread A open a linked() chain and queue its
    first request. The pump's next round must wait at the gate, not submit that half (before:
    the failing read went to the kernel alone, and the NOP queued after it ran unlinked: 0
    instead of ECANCELED)."""
    import errno
    import ioring
    opened = threading.Event()
    results = {}

    def a(ring):
        with ring.linked():
            bad = ring.read(9999, bytearray(1), 0)
            opened.set()
            time.sleep(0.3)     # the pump goes on meanwhile
            nop = ring.nop()
        results["a"] = _errnos([bad, nop])

    with ioring.Ring(16) as ring:
        t = threading.Thread(target=a, args=(ring,))

        def let_a_open_a_chain(op):
            t.start()
            opened.wait(5)

        first = ring.nop()
        first.add_done_callback(let_a_open_a_chain)
        ring._pump(False, 4, -1)
        t.join(10)
        assert not t.is_alive(), "thread A hung"
        assert first.result(5) == 0
        assert results["a"] == [errno.EBADF, errno.ECANCELED]
        assert ring.in_flight == 0


def test_multishot_results_reach_their_iterator_whoever_reaps_them():
    """One thread iterates a multishot recv and another a multishot accept while three threads
    run NOPs on the same Ring: whichever thread reaps a multishot completion queues it in its
    iterator, and every byte and every connection arrives once, in order."""
    import socket
    import ioring
    errors = []
    payload = os.urandom(1 << 20)
    got = []
    with ioring.Ring(16) as ring:
        a, b = socket.socketpair()
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(64)
        clients = []

        def worker(k):
            try:
                if k == 0:
                    got.append(b"".join(ring.recv_multishot(a)))
                elif k == 1:
                    b.sendall(payload)
                    b.shutdown(socket.SHUT_WR)
                elif k == 2:
                    conns = ring.accept_multishot(srv)
                    for _ in range(50):
                        clients.append(socket.create_connection(srv.getsockname()))
                        os.close(next(conns))
                    conns.close()
                else:
                    for _ in range(3000):
                        assert ring.nop().result(5) == 0
            except BaseException as exc:
                errors.append(f"thread {k}: {exc!r}")

        try:
            _run_threads(worker, 6, 60, "a thread hung")
        finally:
            for s in [a, b, srv] + clients:
                s.close()
        deadline = time.monotonic() + 5
        while ring.in_flight and time.monotonic() < deadline:
            ring.wait(1, timeout=0.01)
        assert ring.in_flight == 0
    assert not errors, errors[:4]
    assert got == [payload]


def test_linked_chains_still_refuse_nesting_in_one_thread_and_batches_inside():
    import ioring
    with ioring.Ring(8) as ring:
        with ring.linked():
            with pytest.raises(RuntimeError, match="do not nest"):
                with ring.linked():
                    pass
            first = ring.nop()
            with pytest.raises(RuntimeError, match="batch cannot run inside a linked"):
                ring.nop_many(4)
            with pytest.raises(RuntimeError, match="batch cannot run inside a linked"):
                ring.read_many(0, [bytearray(1)], [0])
        assert first.result(5) == 0
        assert ring.nop_many(4) == 4            # after the chain: fine


def test_completions_yields_the_requests_of_the_iterating_thread_only():
    # Two threads share a Ring, each queueing its own requests and iterating completions():
    # each must get exactly its own (before: one Ring-wide list, so either thread got the
    # other's, and the first to finish cleared the other's pending ones).
    import ioring
    errors = []
    with ioring.Ring(256) as ring:
        start = threading.Barrier(2)

        def worker(k):
            try:
                for _ in range(50):
                    start.wait(5)
                    mine = {ring.timeout(0.001 * (i % 3)) for i in range(20)}
                    mine |= {ring.nop() for _ in range(20)}
                    seen = list(ring.completions(timeout=5))
                    if set(seen) != mine or len(seen) != len(mine):
                        errors.append(f"thread {k}: {len(set(seen) - mine)} foreign, "
                                      f"{len(mine - set(seen))} missing")
                        return
            except BaseException as exc:
                errors.append(f"thread {k}: {exc!r}")
            finally:
                start.abort()

        _run_threads(worker, 2, 60, "completions() hung")
        with pytest.raises(RuntimeError, match="already iterating"):
            ring.nop()
            outer = ring.completions()
            next(outer)
            ring.nop()
            next(ring.completions())
    assert not errors, errors[:4]


def test_result_returns_when_another_thread_reaped_the_completion():
    """Thread A waits in Operation.result() (no timeout) for a 50 ms timer; the main thread
    keeps reaping with ring.wait(0). When the main thread reaps A's completion first, A wakes
    up, finds nothing to reap, and must notice that its operation is done, instead of going
    back to sleep in the kernel for a completion that already came (forever, here: nothing
    else is in flight)."""
    report = run_scenario("result_after_other_thread_reaped")
    assert report["ok"]


@pytest.mark.parametrize("wait", ["io_uring_wait_cqe", "io_uring_submit_and_wait",
                                  "io_uring_wait_cqe_timeout"])
def test_sqe_prepared_by_a_signal_handler_during_a_wait_stays_tracked(wait):
    """A wait interrupted by a signal (EINTR) runs the Python handler, then waits again; the
    handler prepares a read. A wait that submits (io_uring_submit_and_wait) publishes it: it is
    then tracked as submitted (a re-prep refused, its buffer pinned until its completion). A
    pure wait (io_uring_wait_cqe, io_uring_wait_cqe_timeout) submits nothing, as in liburing:
    the read stays prepared, its buffer pinned, and the next io_uring_submit sends it. In
    neither case may the buffer be released while the read can still reach the kernel."""
    report = run_scenario("signal_handler_prep", wait)
    assert report["ok"]


# ---- the scenarios (child side) ---------------------------------------------------------------

class Watchdog:
    """Reports (and exits) when the shared progress counter stops moving for ``idle`` s."""

    def __init__(self, progress, describe, idle=15.0, rescue=None):
        self.progress = progress
        self.describe = describe
        self.idle = idle
        self.rescue = rescue
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        last, since = None, time.monotonic()
        rescued = False
        while not self.stop.wait(0.5):
            now = self.progress()
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since > self.idle:
                state = self.describe()
                if self.rescue is not None and not rescued:
                    rescued = True
                    state["rescue"] = self.rescue()
                    since = time.monotonic()
                    state["problems"] = [f"no progress for {self.idle:.0f} s: hung "
                                         f"(state: {json.dumps(state.get('threads', ''))[:1500]})"]
                    self.hung_state = state
                    continue
                state.setdefault("problems", []).append(f"no progress for {self.idle:.0f} s: hung")
                print(json.dumps(state), flush=True)
                os._exit(3)


def deadline(seconds, describe):
    """Give up after ``seconds``: report the state as hung and end the process."""
    def fire():
        state = describe()
        state.setdefault("problems", []).append(f"still running after {seconds} s: hung")
        print(json.dumps(state), flush=True)
        os._exit(3)
    t = threading.Timer(seconds, fire)
    t.daemon = True
    t.start()
    return t


def scenario_thin(threads, ops, with_signals):
    from ioring import liburing as L
    threads, ops, with_signals = int(threads), int(ops), bool(int(with_signals))
    ring = L.io_uring()
    L.io_uring_queue_init(256, ring)
    lock = threading.Lock()
    seen = {}                    # user_data -> times consumed
    stale = [0] * threads        # SQEs another thread published before we prepared them
    submitted = [0] * threads
    consumed = [0]
    problems = []
    finished = threading.Event()
    done_submitting = [0]
    ts = L.kernel_timespec(0, 2_000_000)

    def record(cqe):
        with lock:
            seen[cqe.user_data] = seen.get(cqe.user_data, 0) + 1
            consumed[0] += 1

    def reap_some(block):
        cqe = L.io_uring_wait_cqe_timeout(ring, ts) if block else L.io_uring_peek_cqe(ring)
        while cqe is not None:
            try:
                L.io_uring_cqe_seen(ring, cqe)
            except ValueError:
                pass                # another thread consumed it first
            else:
                record(cqe)
            cqe = L.io_uring_peek_cqe(ring)

    def worker(t):
        try:
            for i in range(ops):
                ud = ((t + 1) << 32) | i
                while True:
                    sqe = L.io_uring_get_sqe(ring)
                    if sqe is None:
                        L.io_uring_submit(ring)
                        reap_some(False)
                        continue
                    try:
                        L.io_uring_prep_nop(sqe)
                        L.io_uring_sqe_set_data64(sqe, ud)
                    except ValueError:
                        stale[t] += 1   # went out as a NOP with user_data 0
                        continue
                    break
                submitted[t] += 1
                if i % 16 == 15:
                    L.io_uring_submit(ring)
                    reap_some(i % 64 == 63)
            L.io_uring_submit(ring)
            with lock:
                done_submitting[0] += 1
            while not finished.is_set():
                reap_some(True)
        except BaseException as exc:   # noqa: B902
            problems.append(f"thread {t}: {type(exc).__name__}: {exc}")
            with lock:
                done_submitting[0] += 1

    if with_signals:
        signal.signal(signal.SIGALRM, lambda *a: None)
        signal.setitimer(signal.ITIMER_REAL, 0.001, 0.001)

    def describe():
        return {"consumed": consumed[0], "submitted": sum(submitted), "stale": sum(stale),
                "done_submitting": done_submitting[0], "threads": {"ready": L.io_uring_cq_ready(ring)}}

    dog = Watchdog(lambda: consumed[0], describe)
    workers = [threading.Thread(target=worker, args=(t,), daemon=True) for t in range(threads)]
    start = time.monotonic()
    for w in workers:
        w.start()
    expected = None
    while True:
        time.sleep(0.01)
        with lock:
            if done_submitting[0] == threads:
                expected = sum(submitted) + sum(stale)
                if consumed[0] >= expected:
                    break
    finished.set()
    for w in workers:
        w.join()
    if with_signals:
        signal.setitimer(signal.ITIMER_REAL, 0)
    elapsed = time.monotonic() - start
    dog.stop.set()
    # Exactly once, every one of them.
    for t in range(threads):
        for i in range(ops):
            n = seen.pop(((t + 1) << 32) | i, 0)
            if n != 1:
                problems.append(f"user_data thread {t} op {i}: consumed {n} times")
                if len(problems) > 30:
                    break
    zero = seen.pop(0, 0)
    if zero != sum(stale):
        problems.append(f"{zero} completions with user_data 0, but {sum(stale)} SQEs went out unprepared")
    if seen:
        problems.append(f"completions nobody submitted: {dict(list(seen.items())[:10])}")
    L.io_uring_queue_exit(ring)
    print(json.dumps({"completed": sum(submitted), "stale_sqes": sum(stale), "ops_per_s": int(sum(submitted) / elapsed),
                      "problems": problems}))


def _ring_worker_body(ring, fd, t, ops, results, problems, progress, timeout):
    import ioring  # noqa: F401
    bufs = [bytearray(256) for _ in range(16)]
    i = 0
    while i < ops:
        batch = []
        for k in range(16):
            if i + k >= ops:
                break
            if k % 2:
                off = ((t * 7919 + i + k) * 256) % (1 << 20)
                batch.append(("read", off, bufs[k], ring.read(fd, bufs[k], off)))
            else:
                batch.append(("nop", None, None, ring.nop()))
        for kind, off, buf, op in batch:
            res = op.result() if timeout is None else op.result(timeout=timeout)
            if kind == "nop":
                if res != 0:
                    problems.append(f"thread {t}: nop -> {res}")
            else:
                expect = bytes((off + j) & 0xFF for j in range(256))
                if res != 256 or bytes(buf) != expect:
                    problems.append(f"thread {t}: read at {off} -> {res}, data {'ok' if bytes(buf) == expect else 'CORRUPT'}")
            results[t] += 1
            progress[0] += 1
        i += len(batch)


def scenario_ring(threads, ops, timeout=None):
    import tempfile
    import ioring
    threads, ops = int(threads), int(ops)
    tmp = tempfile.mkdtemp()
    path = os.path.join(tmp, "data")
    with open(path, "wb") as f:
        f.write(bytes(range(256)) * 4096)
    fd = os.open(path, os.O_RDONLY)
    ring = ioring.Ring(256)
    results = [0] * threads
    problems = []
    progress = [0]

    def body(t):
        try:
            _ring_worker_body(ring, fd, t, ops, results, problems, progress, timeout)
        except BaseException as exc:   # noqa: B902
            problems.append(f"thread {t}: {type(exc).__name__}: {exc}")

    def rescue():
        # Wake threads sleeping in the kernel for a completion another thread already reaped.
        for _ in range(64):
            ring.nop()
        ring.submit()
        return "submitted 64 NOPs to wake waiters"

    def describe():
        return {"completed": sum(results), "threads": results}

    dog = Watchdog(lambda: progress[0], describe, idle=10.0, rescue=rescue)
    workers = [threading.Thread(target=body, args=(t,), daemon=True) for t in range(threads)]
    start = time.monotonic()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.monotonic() - start
    dog.stop.set()
    hung = getattr(dog, "hung_state", None)
    if hung:
        problems += hung["problems"] + ["(the stuck threads finished only after the watchdog "
                                        "submitted NOPs: Operation.result() slept in the kernel "
                                        "for a completion another thread had reaped)"]
    if ring.in_flight:
        problems.append(f"{ring.in_flight} operations still in flight at the end")
    ring.close()
    os.close(fd)
    print(json.dumps({"completed": sum(results), "ops_per_s": int(sum(results) / elapsed), "problems": problems}))


def scenario_ring_timeout(threads, ops):
    scenario_ring(threads, ops, timeout=30.0)


def scenario_batches(batch_threads, single_threads, rounds):
    import ioring
    batch_threads, single_threads, rounds = int(batch_threads), int(single_threads), int(rounds)
    ring = ioring.Ring(128)
    problems = []
    batches = [0] * batch_threads
    singles = [0] * single_threads
    progress = [0]
    stop = threading.Event()

    def batcher(t):
        try:
            for _ in range(rounds):
                n = ring.nop_many(500)
                if n != 500:
                    problems.append(f"batch thread {t}: nop_many returned {n}")
                batches[t] += 1
                progress[0] += 1
        except BaseException as exc:   # noqa: B902
            problems.append(f"batch thread {t}: {type(exc).__name__}: {exc}")

    def single(t):
        try:
            while not stop.is_set():
                op = ring.nop()
                if op.result(timeout=20) != 0:
                    problems.append(f"single thread {t}: bad result")
                singles[t] += 1
                progress[0] += 1
        except BaseException as exc:   # noqa: B902
            problems.append(f"single thread {t}: {type(exc).__name__}: {exc}")

    def describe():
        return {"completed_batches": sum(batches), "threads": {"batches": batches, "singles": singles}}

    dog = Watchdog(lambda: sum(batches), describe, idle=10.0)
    bt = [threading.Thread(target=batcher, args=(t,), daemon=True) for t in range(batch_threads)]
    st = [threading.Thread(target=single, args=(t,), daemon=True) for t in range(single_threads)]
    for w in bt + st:
        w.start()
    for w in bt:
        w.join()
    stop.set()
    for w in st:
        w.join()
    dog.stop.set()
    ring.close()
    print(json.dumps({"completed_batches": sum(batches), "singles": sum(singles), "problems": problems}))


def scenario_read_many_vs_nop_many():
    import ioring
    ring = ioring.Ring(16)
    r, w = os.pipe()
    buf = bytearray(8)
    out = {}
    problems = []

    def reader():
        try:
            out["res"] = list(ring.read_many(r, [buf], [-1]))
        except BaseException as exc:   # noqa: B902
            problems.append(f"reader: {type(exc).__name__}: {exc}")

    def describe():
        return {"ok": False, "problems": [
            "read_many returned early: " + str(out.get("res")) if "res" in out else "reader still waiting",
            "the main thread's nop_many(1) never returned: its completion was reaped by the other "
            "thread's read_many batch (same user_data tag)"]}

    deadline(10, describe)
    t = threading.Thread(target=reader, daemon=True)
    t.start()
    time.sleep(0.2)                      # the read is in flight, the reader waits in the kernel
    for _ in range(20):
        try:
            ring.nop_many(1)             # user_data: the batch tag | 0, like the reader's read
        except BaseException as exc:   # noqa: B902
            problems.append(f"nop_many: {type(exc).__name__}: {exc}")
            break
        if "res" in out:
            break
        time.sleep(0.01)
    returned_early = "res" in out
    try:
        buf.append(0)
        released = True
        buf.pop()
    except BufferError:
        released = False
    os.write(w, b"12345678")
    t.join(5)
    if returned_early:
        problems.append(f"read_many returned {out['res']} while its read was still in flight "
                        f"(it took another thread's batch completion for its own)")
    if released and returned_early:
        problems.append("its buffer was released (resizable) while the kernel could still write into it")
    if t.is_alive():
        problems.append("read_many never returned after its data arrived (its completion was reaped "
                        "by the other batch)")
    print(json.dumps({"ok": not problems, "problems": problems}))
    os._exit(0)


def scenario_read_many_foreign_cqe():
    import ioring
    from ioring import liburing as L
    ring = ioring.Ring(16)
    r, w = os.pipe()
    sqe = L.io_uring_get_sqe(ring.uring)
    L.io_uring_prep_nop(sqe)
    L.io_uring_sqe_set_data64(sqe, 1 << 63)
    L.io_uring_submit(ring.uring)
    time.sleep(0.01)
    buf = bytearray(8)
    problems = []
    done = {}

    def run():
        done["res"] = list(ring.read_many(r, [buf], [-1]))

    deadline(10, lambda: {"ok": False, "problems": [f"hung (read_many returned: {done.get('res')})"]})
    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(1.0)
    if "res" in done:
        problems.append(f"read_many returned {done['res']} with its read still in flight (the NOP "
                        f"completion with user_data 1 << 63 was taken for it)")
        try:
            buf.append(0)
            problems.append("and its buffer was released while the kernel may still write into it")
        except BufferError:
            pass
    os.write(w, b"abcdefgh")
    t.join(5)
    print(json.dumps({"ok": not problems, "problems": problems}))
    os._exit(0)


def scenario_signal_handler_prep(wait):
    from ioring import liburing as L
    ring = L.io_uring()
    L.io_uring_queue_init(8, ring)
    r, w = os.pipe()
    buf = bytearray(8)
    stash = {}
    problems = []

    def handler(signum, frame):
        if "sqe" in stash:
            return
        sqe = L.io_uring_get_sqe(ring)
        L.io_uring_prep_read(sqe, r, buf, 8, -1)
        L.io_uring_sqe_set_data64(sqe, 7)
        stash["sqe"] = sqe

    deadline(10, lambda: {"ok": False, "problems": ["hung"]})
    # Something to wait for: a timeout that fires after the signal.
    sqe = L.io_uring_get_sqe(ring)
    L.io_uring_prep_timeout(sqe, L.kernel_timespec(0, 300_000_000), 0, 0)
    L.io_uring_sqe_set_data64(sqe, 1)
    L.io_uring_submit(ring)
    signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, 0.05)
    if wait == "io_uring_wait_cqe":
        cqe = L.io_uring_wait_cqe(ring)
    elif wait == "io_uring_submit_and_wait":
        L.io_uring_submit_and_wait(ring, 1)
        cqe = L.io_uring_peek_cqe(ring)
    else:
        cqe = L.io_uring_wait_cqe_timeout(ring, L.kernel_timespec(2, 0))
    assert cqe is not None and cqe.user_data == 1, cqe
    L.io_uring_cqe_seen(ring, cqe)
    assert "sqe" in stash, "the handler did not run"
    # A wait that submits published the handler's SQE; a pure wait did not (liburing's rule).
    submitting = wait == "io_uring_submit_and_wait"
    published = L.io_uring_sq_ready(ring) == 0
    if published != submitting:
        problems.append(f"{wait} {'published' if published else 'did not publish'} the SQE the "
                        f"handler prepared during the wait")
    if published:
        try:
            L.io_uring_prep_nop(stash["sqe"])
            problems.append("the handler's SQE was published to the kernel by the wait, yet it "
                            "could be prepared again: it was never marked submitted")
        except ValueError:
            pass
    # Published or not, the read can reach the kernel: its buffer must stay pinned.
    try:
        buf.append(0)
        buf.pop()
        problems.append("the buffer of the handler's read is resizable (released early) while "
                        + ("the read is in flight" if published else "the read is still queued"))
    except BufferError:
        pass
    if not published:
        n = L.io_uring_submit(ring)
        if n != 1:
            problems.append(f"the next io_uring_submit submitted {n} SQEs, not the handler's read")
    os.write(w, b"12345678")
    L.io_uring_submit(ring)
    got = []
    while True:
        cqe = L.io_uring_wait_cqe_timeout(ring, L.kernel_timespec(1, 0))
        if cqe is None:
            break
        got.append((cqe.user_data, cqe.res))
        L.io_uring_cqe_seen(ring, cqe)
    if (7, 8) not in got:
        problems.append(f"the handler's read completed as {got}, not (7, 8)")
    if buf != b"12345678":
        problems.append(f"the handler's read filled the buffer with {bytes(buf)!r}")
    L.io_uring_queue_exit(ring)
    print(json.dumps({"ok": not problems, "published": published, "problems": problems}))


def scenario_wait_nr_stale_pointer():
    from ioring import liburing as L
    ring = L.io_uring()
    L.io_uring_queue_init(8, ring)
    lock = threading.Lock()
    seen = []

    def sub(prep, ud, *args):
        s = L.io_uring_get_sqe(ring)
        prep(s, *args)
        L.io_uring_sqe_set_data64(s, ud)
        L.io_uring_submit(ring)

    deadline(10, lambda: {"ok": False, "problems": ["hung"]})
    sub(L.io_uring_prep_nop, 1)
    sub(L.io_uring_prep_timeout, 2, L.kernel_timespec(0, 200_000_000), 0, 0)
    out = {}

    def a():
        c = L.io_uring_wait_cqe_nr(ring, 2)
        out["returned"] = c.user_data
        try:
            L.io_uring_cqe_seen(ring, c)
            with lock:
                seen.append(("A", c.user_data))
        except ValueError:
            pass

    t = threading.Thread(target=a, daemon=True)
    t.start()
    time.sleep(0.05)                      # A sleeps in the kernel: 1 of 2 ready
    c = L.io_uring_peek_cqe(ring)
    L.io_uring_cqe_seen(ring, c)
    with lock:
        seen.append(("main", c.user_data))
    sub(L.io_uring_prep_nop, 3)
    t.join(3)
    while True:
        c = L.io_uring_wait_cqe_timeout(ring, L.kernel_timespec(0, 300_000_000))
        if c is None:
            break
        L.io_uring_cqe_seen(ring, c)
        seen.append(("main", c.user_data))
    problems = []
    uds = sorted(ud for _, ud in seen)
    if uds != [1, 2, 3]:
        problems.append(f"completions consumed {seen} (A's io_uring_wait_cqe_nr returned user_data "
                        f"{out.get('returned')}): expected 1, 2 and 3 exactly once")
    L.io_uring_queue_exit(ring)
    print(json.dumps({"ok": not problems, "problems": problems}))
    os._exit(0)


def scenario_signal_handler_during_batch():
    import ioring
    from ioring import liburing as L
    ring = ioring.Ring(8)
    r, w = os.pipe()
    buf = bytearray(8)
    stash = {}

    def handler(signum, frame):
        if "sqe" in stash:
            return
        sqe = L.io_uring_get_sqe(ring.uring)
        if sqe is None:
            signal.setitimer(signal.ITIMER_REAL, 0.001)    # SQ full right now: try again
            return
        L.io_uring_prep_read(sqe, r, buf, 8, -1)
        L.io_uring_sqe_set_data64(sqe, 99)
        stash["sqe"] = sqe

    deadline(20, lambda: {"ok": False, "problems": ["hung"]})
    signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, 0.02)
    n = 0
    while "sqe" not in stash and n < 200:
        ring.nop_many(100_000)
        n += 1
    problems = []
    if "sqe" not in stash:
        problems.append("the handler never ran during nop_many")
    else:
        for _ in range(32):                  # reuse every SQ slot a few times
            ring.nop().result(timeout=5)
        try:
            buf.append(0)
            buf.pop()
            problems.append("the read queued by the handler is in flight but its buffer is "
                            "resizable (its pin was dropped when its SQ slot was reused)")
        except BufferError:
            pass
        os.write(w, b"abcdefgh")
        L.io_uring_submit(ring.uring)
    print(json.dumps({"ok": not problems, "problems": problems}))
    os._exit(0)


def scenario_result_after_other_thread_reaped():
    import ioring
    sys.setswitchinterval(0.02)          # A needs the GIL for longer: the main thread reaps first
    ring = ioring.Ring(8)
    out = {}

    def a():
        op = ring.timeout(0.05)
        ring.submit()
        out["a"] = op.result()

    t = threading.Thread(target=a, daemon=True)
    t.start()
    end = time.monotonic() + 0.3
    while time.monotonic() < end:
        ring.wait(0)
    t.join(3)
    problems = []
    if t.is_alive():
        problems.append("Operation.result() is still sleeping in the kernel 3 s after its operation "
                        "completed (reaped by another thread's ring.wait): it only returns when it "
                        "reaps a completion itself")
    print(json.dumps({"ok": not problems, "problems": problems}))
    os._exit(0)


if __name__ == "__main__":
    name, args = sys.argv[1], sys.argv[2:]
    globals()["scenario_" + name](*args)
