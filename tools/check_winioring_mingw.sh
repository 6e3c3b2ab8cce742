#!/bin/sh
# Cross-compiles include/ioring/winioring.h with mingw-w64 for x86_64 and i686, alone and after the
# toolchain's own <ioringapi.h>, so its _Static_asserts check the documented x64 and x86 layouts,
# plus the native compiler (the Linux side). Needs: apt-get install gcc-mingw-w64-x86-64 gcc-mingw-w64-i686
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
fail=0
for cc in x86_64-w64-mingw32-gcc i686-w64-mingw32-gcc; do
    if ! command -v "$cc" >/dev/null 2>&1; then
        echo "MISSING $cc" >&2; fail=1; continue
    fi
    for src in alone after_sdk; do
        if "$cc" -std=c11 -Wall -Werror -I"$here/include" -c "$tmp/$src.c" -o "$tmp/$src.o"; then
            echo "ok   $cc $src.c"
        else
            echo "FAIL $cc $src.c" >&2; fail=1
        fi
    done
done
if ${CC:-cc} -std=c11 -Wall -Werror -I"$here/include" -c "$tmp/alone.c" -o "$tmp/native.o"; then
    echo "ok   ${CC:-cc} alone.c (native)"
else
    echo "FAIL ${CC:-cc} alone.c (native)" >&2; fail=1
fi
exit $fail
