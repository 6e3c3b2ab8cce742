#!/usr/bin/env bash
# Build the extensions with AddressSanitizer + UndefinedBehaviorSanitizer in a scratch copy of
# the repository and run the pytest suite under them. Exits non-zero on any sanitizer report
# (or any test failure).
#
#   tools/sanitize.sh                 # the whole suite
#   tools/sanitize.sh tests/test_fuzz_thin.py -x      # extra arguments go to pytest
#
# Environment:
#   SANITIZE_KEEP=1       keep the scratch copy (its path is printed)
#   SANITIZE_DIR=/path    use this scratch directory (default: mktemp -d)
#   SANITIZE_CFLAGS=...   optimisation/debug flags (default "-O1 -g1")
#   SANITIZE_JOBS=N       parallel compile jobs (default: nproc)
#   SANITIZE_XDIST=N      pytest-xdist workers if xdist is installed (default: nproc; 0 = none)
#
# What .ci/run runs (`tools/sanitize.sh`, no arguments): every test file, nothing deselected
# (the thin layer, Ring, asyncio, files, Windows emulation, fuzz, stateful fuzz, fork, threads,
# leaks, bench CLI). What is cut is volume, not code paths: the IORING_* knobs below (fuzz
# examples per function, stateful examples, thread ops, leak-test scale). tests/test_leaks.py
# runs for its code paths (20k-op loops at scale 0.02) more than for its verdicts: under ASan
# its RSS check is off (IORING_SANITIZED=1: freed memory sits in ASan's quarantine) and
# sys.getallocatedblocks() is 0 with PYTHONMALLOC=malloc, so only its tracemalloc check bites;
# leaks are judged by the normal run. Figures: docs/DISTRIBUTION.md.
#
# Notes
# - CPython leaks by design (interned strings, static types, caches freed only at exit or never),
#   so LeakSanitizer is off (detect_leaks=0); leaks of ours are measured by tests/test_leaks.py.
# - PYTHONMALLOC=malloc routes every Python allocation through malloc, so that ASan sees
#   overflows into Python objects (pymalloc's arenas would hide them).
# - allocator_may_return_null=1: an absurd allocation size must come back as MemoryError (what
#   the tests check), not as an ASan abort.
# - The kernel's own writes into user memory are invisible to ASan; what it catches is our C
#   and Cython code touching memory it must not (and undefined behaviour there).
# - Sanitizer reports of every process (forked children and subprocesses included) go to
#   $SCRATCH/sanitizer-logs/; any file there fails the run, even if pytest passed.
set -u -o pipefail

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SCRATCH="${SANITIZE_DIR:-$(mktemp -d /tmp/ioring-sanitize.XXXXXX)}"
PY="${PYTHON:-python3}"
LOGDIR="$SCRATCH/sanitizer-logs"

cleanup() {
    if [ "${SANITIZE_KEEP:-0}" != "1" ] && [ -z "${SANITIZE_DIR:-}" ]; then
        rm -rf "$SCRATCH"
    fi
}
trap cleanup EXIT

echo "sanitize: scratch copy in $SCRATCH"
mkdir -p "$SCRATCH"
# Sources only: no build products (they would be reused instead of rebuilt), no git metadata.
tar -C "$SRC" \
    --exclude=./.git --exclude=./build --exclude='./build-*' --exclude='*.so' \
    --exclude='./ioring/*.c' --exclude=__pycache__ --exclude=.hypothesis --exclude=.pytest_cache \
    -cf - . | tar -C "$SCRATCH" -xf - || { echo "sanitize: copy failed" >&2; exit 2; }

ASAN_LIB="$(gcc -print-file-name=libasan.so)"
if [ ! -e "$ASAN_LIB" ]; then
    echo "sanitize: gcc has no libasan.so ($ASAN_LIB)" >&2
    exit 2
fi

# -O1 -g1 (line tables): ASan's recommended optimisation level, and 3x cheaper to compile than
# setup.py's -O2 with full -g on liburing.c's ~8 MB of generated C; reports still name file:line.
SAN_CFLAGS="${SANITIZE_CFLAGS:--O1 -g1}"
echo "sanitize: building with -fsanitize=address,undefined $SAN_CFLAGS"
build_t0=$SECONDS
(
    cd "$SCRATCH" &&
    IORING_EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer $SAN_CFLAGS" \
    IORING_EXTRA_LDFLAGS="-fsanitize=address,undefined" \
    "$PY" setup.py build_ext --inplace -q -j "${SANITIZE_JOBS:-$(nproc)}"
) || { echo "sanitize: build failed" >&2; exit 2; }
echo "sanitize: build took $((SECONDS - build_t0)) s"

# Every extension must really be instrumented, or the run proves nothing.
for so in "$SCRATCH"/ioring/*.so; do
    # (grep without -q: with pipefail, -q's early exit would fail the pipeline with SIGPIPE)
    if ! nm -D "$so" 2>/dev/null | grep "__asan_" >/dev/null; then
        echo "sanitize: $so is not instrumented" >&2
        exit 2
    fi
done

# Under ASan every Python allocation is ~5x slower: the volume tests run scaled down (the code
# paths are the same; override any of these to run the full counts).
export IORING_FUZZ_EXAMPLES="${IORING_FUZZ_EXAMPLES:-8}"
export IORING_FUZZ_CHILD_TIMEOUT="${IORING_FUZZ_CHILD_TIMEOUT:-300}"
export IORING_STATEFUL_EXAMPLES="${IORING_STATEFUL_EXAMPLES:-40}"
export IORING_THREAD_OPS="${IORING_THREAD_OPS:-5000}"
export IORING_LEAK_SCALE="${IORING_LEAK_SCALE:-0.02}"

# pytest-xdist, when installed: the tests are xdist-safe (temporary files, no fixed ports) and
# most of an ASan run is single-threaded Python, so two workers nearly halve it on 2 cores.
# SANITIZE_XDIST=0 runs in one process; SANITIZE_XDIST=N uses N workers.
XDIST=()
nworkers="${SANITIZE_XDIST:-$(nproc)}"
if [ "$nworkers" != "0" ] && [ "$nworkers" != "1" ]; then
    if "$PY" -c "import xdist" 2>/dev/null; then
        XDIST=(-n "$nworkers")
    else
        echo "sanitize: pytest-xdist is not installed: one process"
    fi
fi

rm -rf "$LOGDIR"
mkdir -p "$LOGDIR"
echo "sanitize: running pytest ${XDIST[*]} ${*:-tests}"
test_t0=$SECONDS
(
    cd "$SCRATCH" &&
    LD_PRELOAD="$ASAN_LIB" \
    PYTHONMALLOC=malloc \
    ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1:abort_on_error=0:halt_on_error=1:log_path=$LOGDIR/asan:log_exe_name=1" \
    UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$LOGDIR/ubsan:log_exe_name=1" \
    IORING_SANITIZED=1 \
    "$PY" -m pytest -q -p no:cacheprovider "${XDIST[@]}" "${@:-tests}"
) 2>&1 | tee "$LOGDIR/../pytest.log"
status=${PIPESTATUS[0]}
echo "sanitize: pytest took $((SECONDS - test_t0)) s"

# Reports land in $LOGDIR, except those of child interpreters whose stderr a test captured
# (they show up in the pytest output, inside the failure report of that test).
reports=$(find "$LOGDIR" -type f -size +0 | sort)
if [ -n "$reports" ]; then
    echo "sanitize: SANITIZER REPORTS:" >&2
    for f in $reports; do
        echo "===== $f" >&2
        cat "$f" >&2
    done
    [ $status -eq 0 ] && status=3
fi
if grep -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error: |SUMMARY: (Address|UndefinedBehavior)Sanitizer" \
        "$LOGDIR/../pytest.log" >/dev/null; then
    echo "sanitize: sanitizer reports in the test output:" >&2
    grep -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error: |SUMMARY: (Address|UndefinedBehavior)Sanitizer" \
        "$LOGDIR/../pytest.log" | sort | uniq -c >&2
    [ $status -eq 0 ] && status=3
fi
if [ $status -eq 0 ]; then
    echo "sanitize: clean (no sanitizer report, tests passed)"
else
    echo "sanitize: FAILED (status $status)" >&2
fi
exit $status
