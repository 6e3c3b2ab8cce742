"""The README's examples run, and the type stubs list exactly what the modules export."""
import ast
import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def readme_python_blocks():
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```python\n(.*?)```", text, re.S)


@pytest.mark.parametrize("index", range(len(readme_python_blocks())))
def test_readme_example_runs(index, tmp_path):
    import ioring
    code = readme_python_blocks()[index]
    # Run it against the ioring under test, installed or built in place.
    env = dict(os.environ, PYTHONPATH=str(pathlib.Path(ioring.__file__).parent.parent))
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("module", ["liburing"])
def test_stub_lists_every_public_name(module):
    mod = __import__(f"ioring.{module}", fromlist=["_"])
    # The stub next to the module in use: installed from a wheel, this proves the wheel ships it.
    tree = ast.parse((pathlib.Path(mod.__file__).parent / f"{module}.pyi").read_text())
    stubbed = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            stubbed.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            stubbed.add(node.target.id)
    public = {n for n in dir(mod) if not n.startswith("_") and n not in ("os", "warnings", "cython")}
    assert public - stubbed == set(), "missing from the stub"
    assert {n for n in stubbed if not n.startswith("_")} - public == set(), "stubbed but absent"


def test_every_public_function_names_the_c_function_it_mirrors():
    from ioring import liburing as L
    for name in dir(L):
        obj = getattr(L, name)
        if name.startswith("io_uring_") and callable(obj) and not isinstance(obj, type):
            assert obj.__doc__ and f"{name}(" in obj.__doc__, name


def test_main_command_runs_from_the_source_tree():
    """Regression: `pip install . && python -m ioring demo` in the repository root imported the
    source package, which has no compiled extension."""
    import ioring
    installed_root = pathlib.Path(ioring.__file__).parent.parent
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(installed_root)]))
    result = subprocess.run([sys.executable, "-m", "ioring", "info"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    assert "opcodes supported" in result.stdout
