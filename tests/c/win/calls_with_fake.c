/* calls_with_fake.c -- runs winioring_calls.c on Linux against fake_kernelbase.c, installed in the
 * dispatch table of winioring_kernelbase.h the way the Windows build fills it from KernelBase.dll.
 * Built and run by tools/check_winioring_mingw.sh (native compiler). */
#define WINIORING_CALLS_NO_MAIN
#include "winioring_calls.c"

#define WINIORING_FAKE_DECL(ret, name, params, args, fallback) ret name params;
WINIORING_KB_FUNCTIONS(WINIORING_FAKE_DECL)

int main(int argc, char **argv)
{
#define WINIORING_FAKE_SET(ret, name, params, args, fallback) \
    if (winioring_kb_set(#name, (void (*)(void))name) != 0) return 2;
    WINIORING_KB_FUNCTIONS(WINIORING_FAKE_SET)
    return winioring_calls_main(argc, argv);
}
