"""Which ioring a benchmark script measures: the checkout's when its extensions are built in
place (``python setup.py build_ext --inplace``), otherwise the installed package (``pip install
.``). Putting an unbuilt checkout first on sys.path would hide the installed package behind a
source tree whose extensions cannot be imported."""
import glob
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILT = bool(glob.glob(os.path.join(ROOT, "ioring", "liburing*.so")) or
             glob.glob(os.path.join(ROOT, "ioring", "liburing*.pyd")))
# What a child interpreter must have first on its path to measure the same ioring.
IMPORT_PATH = ROOT if BUILT else ""


def use():
    """Make ``import ioring`` in this process find the ioring this checkout measures."""
    if BUILT and ROOT not in sys.path:
        sys.path.insert(0, ROOT)


def child_env(**extra):
    """os.environ for a child interpreter that must import the same ioring as this process."""
    env = dict(os.environ, **extra)
    if IMPORT_PATH:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [IMPORT_PATH, env.get("PYTHONPATH")]))
    return env
