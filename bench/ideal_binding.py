"""Compile and import the ideal binding of issue 18's limit measurement (bench/ideal_binding.c).

The ideal binding is the cheapest set of Python-callable functions that runs ioring.liburing's
per-op loops over the same ring core, with no safety at all (it is for measuring only: see the C
file). It is built at run time with the C compiler into a temporary directory, never installed.

    from ideal_binding import load
    with load() as ideal:      # a module with ioring.liburing's names for the loops' functions
        ...
    with load(pinning=True) as pinned:     # the same, each read's buffer exported until consumed
        ...
"""
import contextlib
import importlib.util
import os
import shutil
import subprocess
import sysconfig
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "ideal_binding.c")
INCLUDE = os.path.join(os.path.dirname(HERE), "include")


def build(directory: str, pinning: bool = False) -> str:
    """Compile bench/ideal_binding.c into ``directory`` (as setup.py compiles the package's
    extensions: -O2 -D_GNU_SOURCE); returns the path of the extension module. ``pinning``:
    the variant that keeps each read's buffer exported until its completion is consumed
    (module ``ideal_pinning``)."""
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC").split()[0] or "cc"
    name = "ideal_pinning" if pinning else "ideal_binding"
    out = os.path.join(directory, name + sysconfig.get_config_var("EXT_SUFFIX"))
    cmd = [cc, "-O2", "-D_GNU_SOURCE", "-Wall", "-Wno-unused-function", "-fPIC", "-shared",
           "-I" + sysconfig.get_paths()["include"], "-I" + INCLUDE, SOURCE, "-o", out]
    if pinning:
        cmd.insert(1, "-DIDEAL_PIN")
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"compiling the ideal binding failed: {' '.join(cmd)}\n{done.stderr}")
    return out


@contextlib.contextmanager
def load(pinning: bool = False):
    """The ideal binding (``pinning``: its variant that pins each read's buffer), compiled into
    a temporary directory removed on exit."""
    tmp = tempfile.mkdtemp(prefix="ioring-ideal-binding-")
    try:
        path = build(tmp, pinning)
        spec = importlib.util.spec_from_file_location("ideal_pinning" if pinning else "ideal_binding", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
