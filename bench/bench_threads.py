"""Uncontended cost of the Ring's thread serialisation (one thread, one Ring).

Ring serialises threads sharing it (ioring/_ring.pyx, Ring._block: one thread waits in the
kernel, the others on a condition; batch CQEs routed by a per-batch id). This measures what
that costs a program that never shares its Ring, against a build of the package without it, in
the same run: each figure alternates between the two builds, in child interpreters, and the
median of the rounds is reported.

    python bench/bench_threads.py --before /path/to/old/checkout [--rounds 7] [--seconds 0.5]

``--before`` is a checkout of the package built in place (``python setup.py build_ext
--inplace``) before the change (e.g. ``git archive c6ff8ad | tar -x -C /tmp/before``).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

WORKLOADS = {
    # Ring.nop_many(128) on a 128-entry ring: one io_uring_enter per 128 NOPs, the batch path.
    "nop_many(128)": "ring = ioring.Ring(128)\ndef step():\n    ring.nop_many(128)\n    return 128\n",
    # 4096 NOPs per call on a 256-entry ring: 16 rounds per call, the per-CQE cost.
    "nop_many(4096)": "ring = ioring.Ring(256)\ndef step():\n    ring.nop_many(4096)\n    return 4096\n",
    # One NOP, Operation.result(): one request per io_uring_enter, the per-request path.
    "nop().result()": "ring = ioring.Ring(128)\ndef step():\n    ring.nop().result()\n    return 1\n",
    # 16 NOPs queued, then result() of each: the first waits, the others are already reaped.
    "16 x nop(), result()": ("ring = ioring.Ring(128)\ndef step():\n"
                             "    ops = [ring.nop() for _ in range(16)]\n"
                             "    for op in ops:\n        op.result()\n    return 16\n"),
    # Ring.wait(1) after each NOP (submit + wait + reap).
    "nop(), wait(1)": "ring = ioring.Ring(128)\ndef step():\n    ring.nop()\n    ring.wait(1)\n    return 1\n",
}

CHILD = """
import sys, time, json
import ioring
{setup}
seconds = {seconds}
for _ in range(200):
    step()
n = 0
start = time.perf_counter()
end = start + seconds
while True:
    for _ in range(32):
        n += step()
    now = time.perf_counter()
    if now >= end:
        break
print(json.dumps({{"ops_per_s": n / (now - start), "file": ioring.__file__}}))
"""


def measure(path, setup, seconds):
    env = dict(os.environ, PYTHONPATH=path)
    out = subprocess.run([sys.executable, "-c", CHILD.format(setup=setup, seconds=seconds)],
                         env=env, cwd=path, capture_output=True, text=True, check=True)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["file"].startswith(path), (res["file"], path)
    return res["ops_per_s"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", required=True, help="checkout built without the serialisation")
    ap.add_argument("--after", default=REPO, help="checkout built with it (default: this one)")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--seconds", type=float, default=0.5)
    args = ap.parse_args()
    before, after = os.path.abspath(args.before), os.path.abspath(args.after)
    print(f"{'workload':24} {'before ops/s':>14} {'after ops/s':>14} {'after/before':>13}")
    for name, setup in WORKLOADS.items():
        b, a = [], []
        for r in range(args.rounds):
            # Alternate which build goes first: drift on a noisy machine hits both alike.
            pair = [(before, b), (after, a)] if r % 2 == 0 else [(after, a), (before, b)]
            for path, acc in pair:
                acc.append(measure(path, setup, args.seconds))
        mb, ma = statistics.median(b), statistics.median(a)
        print(f"{name:24} {mb:14,.0f} {ma:14,.0f} {ma / mb:13.2f}", flush=True)


if __name__ == "__main__":
    main()
