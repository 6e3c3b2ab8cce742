#!/bin/sh
# Cross-compiles the Windows side of ioring.winioring's C with mingw-w64 for x86_64 and i686:
# - include/ioring/winioring.h alone and after the toolchain's own <ioringapi.h>, so its static
#   asserts check the documented x64 and x86 layouts;
# - include/ioring/winioring_kernelbase.h (the KernelBase dispatch the module uses on Windows),
#   -Wextra clean (the io_uring emulation is another module, ioring._winioring_linux, built on Linux only);
# - tests/c/win/winioring_calls.c, which calls every IoRing function through that dispatch, compiled
#   AND linked (kernel32 only), and checks that the .exe imports no IoRing symbol and no
#   api-ms-win-core-ioring DLL (a static import would stop the module loading on Windows 10);
#   the same program calling the SDK names directly is compiled, and linked only when the
#   toolchain's libkernel32.a has the IoRing imports (mingw-w64 >= 13);
# plus the native compiler (the Linux side): the same headers and program against the empty table
# (it must behave as on Windows 10) and against tests/c/win/fake_kernelbase.c (every call runs).
# - the Cython-generated ioring/winioring.c itself (the whole module: the API and the KernelBase backend),
#   compiled for x86_64 and i686 against the host CPython's headers with a hand-written Windows
#   pyconfig.h (tests/c/win/pyconfig_mingw.h), and linked into a .pyd (x86_64) against an import
#   library generated for the Python symbols it uses; its imports must be pythonXY.dll, KERNEL32.dll
#   and the CRT only. A compile-and-link check: not MSVC, not CPython's own Windows headers, not run.
# Needs: apt-get install gcc-mingw-w64-x86-64 gcc-mingw-w64-i686 (and Cython for the module step)
# Exits non-zero on any failure (or when a cross compiler is missing).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/alone.c" <<'C'
#include "ioring/winioring.h"
IORING_HANDLE_REF h = IoRingHandleRefFromIndex(3);
IORING_BUFFER_REF b = IoRingBufferRefFromIndexAndOffset(1, 16);
#ifdef _WIN32
void *fns[] = { (void *)QueryIoRingCapabilities, (void *)CreateIoRing, (void *)SubmitIoRing,
                (void *)BuildIoRingReadFile, (void *)BuildIoRingWriteFile, (void *)BuildIoRingFlushFile,
                (void *)BuildIoRingReadFileScatter, (void *)BuildIoRingWriteFileGather };
#endif
int main(void) { return (int)(h.Kind + b.Kind + IORING_OP_WRITE_GATHER + FILE_FLUSH_NO_SYNC) == 0; }
C
cat > "$tmp/after_sdk.c" <<'C'
#define NTDDI_VERSION 0x0A00000B
#define _WIN32_WINNT 0x0A00
#include <windows.h>
#include <ioringapi.h>
#include "ioring/winioring.h"
int main(void) {
    IORING_HANDLE_REF h = IoRingHandleRefFromIndex(3);
    return (int)(h.Kind + IORING_VERSION_4 + IORING_OP_WRITE_GATHER + FILE_WRITE_FLAGS_WRITE_THROUGH) == 0;
}
C
cat > "$tmp/dispatch.c" <<'C'
#include "ioring/winioring_kernelbase.h"
int use(void) {
    IORING_CAPABILITIES caps;
    HIORING h = NULL;
    IORING_CREATE_FLAGS f = {IORING_CREATE_REQUIRED_FLAGS_NONE, IORING_CREATE_ADVISORY_FLAGS_NONE};
    return winioring_kb_load() + winioring_kb_has("CreateIoRing") + winioring_kb_set("CloseIoRing", 0)
        + (int)ioring_win_QueryIoRingCapabilities(&caps) + (int)ioring_win_CreateIoRing(IORING_VERSION_4, f, 0, 0, &h)
        + WINIORING_KERNELBASE;
}
C
fail=0
run() {   # run LABEL COMMAND...
    label=$1; shift
    if "$@"; then echo "ok   $label"; else echo "FAIL $label" >&2; fail=1; fi
}
calls="$here/tests/c/win/winioring_calls.c"
for cc in x86_64-w64-mingw32-gcc i686-w64-mingw32-gcc; do
    if ! command -v "$cc" >/dev/null 2>&1; then
        echo "MISSING $cc" >&2; fail=1; continue
    fi
    for src in alone after_sdk; do
        run "$cc $src.c" "$cc" -std=c11 -Wall -Werror -I"$here/include" -c "$tmp/$src.c" -o "$tmp/$src.o"
    done
    run "$cc dispatch.c (winioring_kernelbase.h)" \
        "$cc" -std=c11 -Wall -Wextra -Wno-unused-parameter -Werror -I"$here/include" -c "$tmp/dispatch.c" -o "$tmp/dispatch.o"
    run "$cc dispatch.c as C89 (MSVC-like, no _Static_assert)" \
        "$cc" -std=gnu89 -Wall -Werror -D_MSC_VER=1929 -I"$here/include" -c "$tmp/dispatch.c" -o "$tmp/dispatch89.o"
    exe="$tmp/winioring_calls-${cc%%-*}.exe"
    run "$cc winioring_calls.c -> .exe (linked, kernel32 only)" \
        "$cc" -std=c11 -Wall -Wextra -Wno-unused-parameter -Werror -I"$here/include" "$calls" -o "$exe"
    objdump=${cc%-gcc}-objdump
    if [ -f "$exe" ]; then
        imports=$("$objdump" -p "$exe" | sed -n '/Import Tables/,$p')
        if printf '%s\n' "$imports" | grep -qi 'ioring'; then
            echo "FAIL $exe imports IoRing statically:" >&2
            printf '%s\n' "$imports" | grep -i 'ioring' >&2; fail=1
        else
            echo "ok   $(basename "$exe") imports: $(printf '%s\n' "$imports" | sed -n 's/.*DLL Name: //p' | tr '\n' ' ')(no IoRing symbol)"
        fi
    fi
    run "$cc winioring_calls.c -DWINIORING_CALLS_DIRECT (compile)" \
        "$cc" -std=c11 -Wall -Werror -DWINIORING_CALLS_DIRECT -I"$here/include" -c "$calls" -o "$tmp/direct.o"
    libk32=$("$cc" -print-file-name=libkernel32.a)
    if ${cc%-gcc}-nm "$libk32" 2>/dev/null | grep -q 'CreateIoRing'; then
        run "$cc winioring_calls.c -DWINIORING_CALLS_DIRECT (link)" "$cc" "$tmp/direct.o" -o "$tmp/direct.exe"
    else
        echo "skip $cc direct link: $(basename "$libk32") has no IoRing imports (mingw-w64 < 13)"
    fi
done
# The module's generated C, for Windows.
PY=${PYTHON:-python3}
if "$PY" -c "import Cython" 2>/dev/null; then
    "$PY" -m cython -3 -X embedsignature=True -I "$here" "$here/ioring/winioring.pyx" -o "$tmp/winioring.c"
    mkdir -p "$tmp/pyinc"
    cp -r "$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')/." "$tmp/pyinc/"
    cp "$here/tests/c/win/pyconfig_mingw.h" "$tmp/pyinc/pyconfig.h"
    pydll=python$("$PY" -c 'import sys; print("%d%d" % sys.version_info[:2])')
    for cc in x86_64-w64-mingw32-gcc i686-w64-mingw32-gcc; do
        command -v "$cc" >/dev/null 2>&1 || continue
        obj="$tmp/winioring-${cc%%-*}.o"
        run "$cc ioring/winioring.c (Cython output, $pydll headers)" \
            "$cc" -std=gnu11 -O1 -Wall -Wno-maybe-uninitialized -Werror -I"$here/include" -I"$tmp/pyinc" \
            -c "$tmp/winioring.c" -o "$obj"
    done
    obj="$tmp/winioring-x86_64.o"
    if [ -f "$obj" ]; then
        { echo "LIBRARY $pydll.dll"; echo "EXPORTS"
          x86_64-w64-mingw32-nm "$obj" | sed -n 's/^ *U __imp_\(_\{0,1\}Py.*\)$/\1/p; s/^ *U \(_\{0,1\}Py.*\)$/\1/p' | sort -u
        } > "$tmp/py.def"
        pyd="$tmp/winioring.pyd"
        if x86_64-w64-mingw32-dlltool -d "$tmp/py.def" -l "$tmp/lib$pydll.a" -D "$pydll.dll" &&
           x86_64-w64-mingw32-gcc -shared "$obj" -L"$tmp" -l"$pydll" -o "$pyd"; then
            dlls=$(x86_64-w64-mingw32-objdump -p "$pyd" | sed -n 's/.*DLL Name: //p' | tr '\n' ' ')
            if x86_64-w64-mingw32-objdump -p "$pyd" | grep -q 'PyInit_winioring' &&
               ! printf '%s' "$dlls" | grep -qiv "^\($pydll.dll\|KERNEL32.dll\|msvcrt.dll\| \)*$"; then
                echo "ok   winioring.pyd (x86_64) linked; imports: $dlls"
            else
                echo "FAIL winioring.pyd imports: $dlls" >&2; fail=1
            fi
        else
            echo "FAIL winioring.pyd link" >&2; fail=1
        fi
    fi
else
    echo "skip the module's generated C: no Cython for $PY"
fi
native=${CC:-cc}
run "$native alone.c (native)" "$native" -std=c11 -Wall -Werror -I"$here/include" -c "$tmp/alone.c" -o "$tmp/native.o"
run "$native winioring_calls.c (native, empty table: exits 0 as on Windows 10)" \
    sh -c "'$native' -std=c11 -Wall -Werror -I'$here/include' '$calls' -o '$tmp/calls-native' && '$tmp/calls-native' >/dev/null"
run "$native winioring_calls.c + fake_kernelbase.c (native, runs every call)" \
    sh -c "'$native' -std=c11 -Wall -Werror -I'$here/include' '$here/tests/c/win/calls_with_fake.c' \
           '$here/tests/c/win/fake_kernelbase.c' -o '$tmp/calls-fake' && '$tmp/calls-fake' '$tmp/scratch' >'$tmp/calls-fake.out'"
exit $fail
