"""The fuzzers' child-process harness (tests/fuzz_child.py)."""
import signal

import fuzz_child
from fuzz_child import Blocked, call_watched


def test_watchdog_firing_as_the_call_returns_is_reported_not_raised(monkeypatch):
    """The SIGALRM watchdog can fire between the call's return and the finally that disarms
    it (seen under the sanitizer on a starved machine): call_watched reports Blocked, as for
    a call that blocked, instead of raising it into the fuzzer."""
    real = signal.setitimer
    fired = []

    def setitimer(which, seconds, *rest):
        if seconds == 0 and not fired:
            fired.append(True)
            real(which, 0)
            raise Blocked()         # the alarm, delivered at the disarm
        return real(which, seconds, *rest)

    monkeypatch.setattr(fuzz_child.signal, "setitimer", setitimer)
    old = signal.signal(signal.SIGALRM, fuzz_child._on_alarm)
    try:
        result, exc = call_watched(lambda: 5, (), 1.0)
    finally:
        signal.signal(signal.SIGALRM, old)
    assert result is None and isinstance(exc, Blocked)
    assert real(signal.ITIMER_REAL, 0) == (0.0, 0.0)     # disarmed
    assert call_watched(lambda: 5, (), 1.0) == (5, None)
