"""The request methods of Ring and AsyncRing and their stubs are generated from the table of
operations (ioring/_ops_table.py, tools/gen_ops.py): the checked-in files are what the table
gives, and the built classes have every operation of the table."""
import inspect
import pathlib
import shutil
import subprocess
import sys

import pytest

from ioring import Ring
from ioring.asyncio import AsyncRing

ROOT = pathlib.Path(__file__).resolve().parent.parent
GENERATOR = ROOT / "tools" / "gen_ops.py"
TARGETS = ("ioring/_ring.pyx", "ioring/asyncio.py", "ioring/_ring.pyi", "ioring/asyncio.pyi")


def _copy_tree(tmp_path):
    for rel in TARGETS + ("ioring/_ops_table.py",):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, tmp_path / rel)
    return tmp_path


def _generate(root, *extra):
    return subprocess.run([sys.executable, str(GENERATOR), "--root", str(root), *extra],
                          capture_output=True, text=True)


def test_generated_sections_are_up_to_date(tmp_path):
    root = _copy_tree(tmp_path)
    done = _generate(root)
    assert done.returncode == 0, done.stderr
    for rel in TARGETS:
        assert (root / rel).read_text() == (ROOT / rel).read_text(), \
            f"{rel} is not what ioring/_ops_table.py gives: run python tools/gen_ops.py"


def test_check_reports_a_stale_section(tmp_path):
    root = _copy_tree(tmp_path)
    table = root / "ioring" / "_ops_table.py"
    table.write_text(table.read_text().replace('"A NOP; result 0."', '"A NOP (changed)."'))
    done = _generate(root, "--check")
    assert done.returncode == 1
    assert "ioring/asyncio.py" in done.stdout and "ioring/_ring.pyx" not in done.stdout
    assert "A NOP (changed)." not in (root / "ioring" / "asyncio.py").read_text()   # --check writes nothing
    assert _generate(root).returncode == 0
    assert '"""A NOP (changed)."""' in (root / "ioring" / "asyncio.py").read_text()


def test_missing_marker_is_refused(tmp_path):
    root = _copy_tree(tmp_path)
    pyi = root / "ioring" / "_ring.pyi"
    pyi.write_text(pyi.read_text().replace("    # END ops\n", ""))
    done = _generate(root)
    assert done.returncode != 0 and "expected one" in done.stderr


def _table():
    sys.path.insert(0, str(ROOT))
    try:
        from ioring import _ops_table
    finally:
        sys.path.pop(0)
    return _ops_table.OPS


@pytest.mark.parametrize("op", _table(), ids=lambda op: op.name)
def test_built_methods_follow_the_table(op):
    ring_sig = inspect.signature(getattr(Ring, op.name))
    names = [p.name for p in op.params] + ["flags"] + (["timeout"] if op.timeout else [])
    assert list(ring_sig.parameters)[1:] == names
    for p in op.params:
        kind = ring_sig.parameters[p.name].kind
        assert (kind is inspect.Parameter.KEYWORD_ONLY) == p.keyword
    async_sig = inspect.signature(getattr(AsyncRing, op.name))
    positional = [p.async_name or p.name for p in op.params if not p.keyword]
    assert list(async_sig.parameters) == ["self"] + positional + ["kwargs"]
    # (Cython's embedsignature puts the signature first in Ring's docstrings)
    assert op.doc.split("\n")[0] in getattr(Ring, op.name).__doc__
    assert getattr(AsyncRing, op.name).__doc__.startswith(op.async_doc.split("\n")[0])
