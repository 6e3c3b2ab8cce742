"""`import ioring` costs what the program uses: the Pythonic layer's modules (and socket,
selectors) load on first use of their names, not at start-up. An unpack of a wheel in a fresh
process takes ~150 ms, of which the imports were ~9 ms."""
import os
import subprocess
import sys

import pytest

import ioring

ROOT = os.path.dirname(os.path.dirname(ioring.__file__))


def _modules_after(code):
    proc = subprocess.run([sys.executable, "-c", code + "\nimport sys\nprint(sorted(sys.modules))"],
                          capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, PYTHONPATH=ROOT))
    assert proc.returncode == 0, proc.stderr
    return set(eval(proc.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("code", ["import ioring", "import ioring.liburing"])
def test_start_up_imports_neither_the_pythonic_layer_nor_socket(code):
    mods = _modules_after(code)
    assert not {"ioring._ring", "ioring._stream", "socket", "selectors"} & mods, code


def test_the_file_tools_import_the_ring_but_not_socket():
    mods = _modules_after("from ioring.files import extract_zip")
    assert "ioring._ring" in mods       # their engines run Rings
    assert not {"ioring._stream", "socket", "selectors"} & mods


def test_every_public_name_resolves_on_first_use():
    for name in ioring.__all__:
        assert getattr(ioring, name).__name__ == name
    assert {"Ring", "liburing", "files", "asyncio"} <= set(dir(ioring))
    with pytest.raises(AttributeError, match="has no attribute 'Rnig'"):
        ioring.Rnig


def test_submodules_resolve_as_attributes_of_the_package():
    code = ("import ioring\nassert ioring.liburing.io_uring_get_sqe\n"
            "assert ioring.files.extract_zip and ioring.Ring and ioring.asyncio.AsyncRing\n"
            "from ioring import *\nassert Ring is ioring.Ring and StreamResult")
    assert "ioring._ring" in _modules_after(code)
