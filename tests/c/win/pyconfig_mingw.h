/* pyconfig_mingw.h -- a hand-written Windows pyconfig.h, only so that tools/check_winioring_mingw.sh
 * can compile the Cython-generated ioring/winioring.c for Windows with mingw-w64 on Linux (the host
 * CPython's public headers + this file in place of its Linux pyconfig.h). It follows what CPython's
 * PC/pyconfig.h (3.11) defines for the public headers; it is NOT CPython's file, it is not used by a
 * real build (MSVC uses the installed Python's own headers), and a .pyd built with it is never run. */
#ifndef Py_CONFIG_H
#define Py_CONFIG_H
#define MS_WIN32
#define MS_WINDOWS
#ifdef _WIN64
#  define MS_WIN64
#endif
#define NT_THREADS
#define WITH_THREAD
#define Py_ENABLE_SHARED 1
#define HAVE_DECLSPEC_DLL
#include <io.h>
#include <basetsd.h>
#define HAVE_SSIZE_T 1
#define SIZEOF_INT 4
#define SIZEOF_LONG 4
#define SIZEOF_LONG_LONG 8
#define SIZEOF_SHORT 2
#define SIZEOF_DOUBLE 8
#define SIZEOF_FLOAT 4
#define SIZEOF_WCHAR_T 2
#define SIZEOF__BOOL 1
#define SIZEOF_TIME_T 8
#define SIZEOF_OFF_T 4
#define SIZEOF_FPOS_T 8
#ifdef _WIN64
#  define SIZEOF_VOID_P 8
#  define SIZEOF_SIZE_T 8
#else
#  define SIZEOF_VOID_P 4
#  define SIZEOF_SIZE_T 4
#endif
#define SIZEOF_HKEY SIZEOF_VOID_P
#define HAVE_WCHAR_H 1
#define HAVE_STDARG_PROTOTYPES
#define HAVE_UINTPTR_T 1
#define HAVE_INTPTR_T 1
#define HAVE_CLOCK 1
#define HAVE_STRFTIME 1
#define DONT_HAVE_SIG_ALARM
#define DONT_HAVE_SIG_PAUSE
#define LONG_BIT 32
#define WORD_BIT 32
#define PY_LONG_LONG long long
#define PLATFORM "win32"
#define Py_WINVER 0x0A00
#define Py_NTDDI 0x0A000000
#define PY_SUPPORT_TIER 1
#define HAVE_LARGEFILE_SUPPORT
#define HAVE_PUTENV
#define HAVE_PROCESS_H 1
#define HAVE_ERRNO_H 1
#define HAVE_SYS_STAT_H 1
#define HAVE_SYS_TYPES_H 1
#define HAVE_FCNTL_H 1
#define HAVE_DIRECT_H 1
#define HAVE_SIGNAL_H 1
#define HAVE_STDDEF_H 1
#define HAVE_COPYSIGN 1
#define HAVE_ROUND 1
#define HAVE_HYPOT 1
#endif
