#!/usr/bin/env bash
# Type-stub check: every compiled module (and every pure-Python module that ships a .pyi) matches
# its stub (mypy's stubtest), and the typed usage example passes `mypy --strict`.
# Exits non-zero on any failure.
#
#   tools/check_stubs.sh
#
# Environment:
#   PYTHON=python3.X          interpreter (default python3); mypy goes into a venv made from it
#   CHECK_STUBS_VENV=/path    reuse this venv (created with mypy if missing; default: a temporary one)
#   CHECK_STUBS_NO_BUILD=1    do not run `setup.py build_ext --inplace` first (use the built modules)
#
# What is checked where:
# - stubtest imports the modules from the repository (built in place) and compares them with
#   ioring/*.pyi. tools/stubtest-allowlist.txt lists ONLY what stubtest cannot understand in
#   Cython modules (each line explained there); an unused allowlist entry is an error too.
# - mypy --strict checks tests/typing/usage_example.py, a typed use of every layer, against the
#   stubs; errors inside ioring's own .py modules are not reported there (follow-imports=silent)
#   but calls from the example into unannotated functions are (disallow-untyped-calls).
set -u -o pipefail

SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python3}"
T0=$SECONDS
fail() { echo "check_stubs: FAIL: $*" >&2; exit 1; }

if [ -n "${CHECK_STUBS_VENV:-}" ]; then
    VENV="$CHECK_STUBS_VENV"
else
    VENV="$(mktemp -d /tmp/ioring-check-stubs.XXXXXX)/venv"
    trap 'rm -rf "$(dirname "$VENV")"' EXIT
fi
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import mypy.stubtest" 2>/dev/null; then
    "$PY" -m venv "$VENV" || fail "cannot create the venv"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check mypy || fail "pip install mypy"
fi
VPY="$VENV/bin/python"
"$VPY" -m mypy --version

cd "$SRC" || fail "cd $SRC"
if [ "${CHECK_STUBS_NO_BUILD:-0}" != "1" ]; then
    "$PY" setup.py build_ext --inplace -q > /tmp/check_stubs_build.$$ 2>&1 ||
        { tail -n 30 /tmp/check_stubs_build.$$; rm -f /tmp/check_stubs_build.$$; fail "build_ext --inplace"; }
    rm -f /tmp/check_stubs_build.$$
fi

# Every compiled module of the package, and every pure-Python module with a stub.
MODULES=()
for so in ioring/*.so ioring/*.pyd; do
    [ -e "$so" ] || continue
    name="$(basename "$so")"
    MODULES+=("ioring.${name%%.*}")
done
for pyi in ioring/*.pyi; do
    name="$(basename "$pyi" .pyi)"
    [ -e "ioring/$name.py" ] && MODULES+=("ioring.$name")
done
[ ${#MODULES[@]} -gt 0 ] || fail "no compiled module in ioring/ (build first)"
mapfile -t MODULES < <(printf '%s\n' "${MODULES[@]}" | sort -u)
rc=0
CHECKED=()
for m in "${MODULES[@]}"; do
    if [ -e "ioring/${m#ioring.}.pyi" ]; then
        CHECKED+=("$m")
    else
        echo "check_stubs: error: $m has no stub ioring/${m#ioring.}.pyi" >&2
        rc=1
    fi
done
MODULES=("${CHECKED[@]}")

echo "=== check_stubs: stubtest ${MODULES[*]}"
PYTHONPATH="$SRC" "$VPY" -m mypy.stubtest --allowlist tools/stubtest-allowlist.txt "${MODULES[@]}" || rc=1
t_stubtest=$((SECONDS - T0))

echo "=== check_stubs: mypy --strict tests/typing/usage_example.py"
# --follow-imports=silent: ioring's own modules are analysed (for their types) but only the
# example's errors are reported; the stubs (*.pyi) are what the example is checked against.
MYPYPATH="$SRC" "$VPY" -m mypy --strict --follow-imports=silent --no-incremental \
    --python-version "$("$PY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')" \
    tests/typing/usage_example.py || rc=1

echo "check_stubs: stubtest ${t_stubtest}s, total $((SECONDS - T0))s"
[ $rc -eq 0 ] || fail "see above"
echo "check_stubs: OK"
