"""ioring.files.install_wheel against what `pip install --no-deps --target` and
`uv pip install --no-deps --target` produce for the same real wheels: a wheel `pip wheel` builds
from a tiny project (scripts, headers, data files, console and GUI entry points), and wheels pip
downloads (pip's own, numpy's)."""
import csv
import importlib.metadata
import importlib.util
import io
import os
import pathlib
import shutil
import stat
import subprocess
import sys
import textwrap
import zipfile

import pytest

import ioring
import ioring.files as F
from ioring import _wheel

ROOT = pathlib.Path(ioring.__file__).resolve().parent.parent
PIP_VERSION = tuple(int(p) for p in importlib.metadata.version("pip").split(".")[:2])


def umask():
    old = os.umask(0)
    os.umask(old)
    return old


@pytest.fixture(scope="session")
def tiny_wheel(tmp_path_factory):
    """A wheel built by `pip wheel` from a project with every kind of file a wheel installs."""
    proj = tmp_path_factory.mktemp("tiny")
    (proj / "src/tinypkg/data").mkdir(parents=True)
    (proj / "scripts").mkdir()
    (proj / "share").mkdir()
    (proj / "inc").mkdir()
    (proj / "setup.py").write_text(textwrap.dedent("""
        from setuptools import setup
        setup(name="tiny-pkg", version="1.0", packages=["tinypkg"], package_dir={"": "src"},
              package_data={"tinypkg": ["data/*.bin"]},
              entry_points={"console_scripts": ["tiny-hello = tinypkg.cli:main",
                                                "tiny-sub = tinypkg.cli:Obj.method [extra]"],
                            "gui_scripts": ["tiny-gui = tinypkg.cli:main"]},
              scripts=["scripts/tiny-tool", "scripts/tiny-sh"],
              data_files=[("share/tiny", ["share/readme.txt"])],
              headers=["inc/tiny.h"])
    """))
    (proj / "src/tinypkg/__init__.py").write_text('"""tiny"""\n')
    (proj / "src/tinypkg/cli.py").write_text(textwrap.dedent("""
        import sys
        def main():
            print("hello from tiny", sys.argv[0].rsplit("/", 1)[-1])
            return 0
        class Obj:
            @staticmethod
            def method():
                print("sub")
    """))
    (proj / "src/tinypkg/data/blob.bin").write_bytes(os.urandom(3 << 20))    # streamed
    (proj / "scripts/tiny-tool").write_text('#!python -u\nprint("tool")\n')
    (proj / "scripts/tiny-sh").write_text("#!/bin/sh\necho sh\n")
    for s in ("tiny-tool", "tiny-sh"):
        (proj / "scripts" / s).chmod(0o755)
    (proj / "share/readme.txt").write_text("readme\n")
    (proj / "inc/tiny.h").write_text("int tiny;\n")
    dist = tmp_path_factory.mktemp("dist")
    cmd = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist), str(proj)]
    if importlib.util.find_spec("setuptools") is not None:
        cmd.insert(4, "--no-build-isolation")      # offline when setuptools is at hand
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    wheels = list(dist.glob("*.whl"))
    if result.returncode != 0 or not wheels:
        pytest.skip(f"pip wheel failed (no setuptools, no network?): {result.stderr[-300:]}")
    return wheels[0]


@pytest.fixture(scope="session")
def downloaded(tmp_path_factory):
    where = tmp_path_factory.mktemp("downloaded")
    result = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                             "--only-binary", ":all:", "-d", str(where), "pip", "numpy"],
                            capture_output=True, text=True, timeout=600)
    wheels = {p.name.split("-")[0]: p for p in where.glob("*.whl")}
    if result.returncode != 0 or len(wheels) < 2:
        pytest.skip(f"pip download failed (no network?): {result.stderr.strip()[-300:]}")
    return wheels


def files_of(target):
    """relative path -> (bytes, permission bits) of every file."""
    out = {}
    for dirpath, _, filenames in os.walk(target):
        for f in filenames:
            p = os.path.join(dirpath, f)
            out[os.path.relpath(p, target)] = (pathlib.Path(p).read_bytes(),
                                               stat.S_IMODE(os.stat(p).st_mode))
    return out


def record_of(target, strip=""):
    (info,) = [d for d in os.listdir(target) if d.endswith(".dist-info")]
    raw = (pathlib.Path(target) / info / "RECORD").read_bytes()
    rows = list(csv.reader(io.StringIO(raw.decode())))
    return {r[0][len(strip):] if r[0].startswith(strip) else r[0]: (r[1], r[2]) for r in rows}, raw


def launcher_semantics(content):
    """(shebang, import line, call line) of a launcher, whatever pip's template version."""
    lines = content.decode().splitlines()
    imports = [ln for ln in lines if ln.startswith("from ")]
    calls = [ln.strip() for ln in lines if "sys.exit(" in ln]
    return lines[0], imports, calls


def pip_install(wheel, target, *extra):
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "--no-deps", "--target", str(target), *extra, str(wheel)], check=True,
                   capture_output=True, timeout=600)


def compare_with_pip(ours, theirs, launchers):
    mine, pips = files_of(ours), files_of(theirs)
    assert set(mine) == set(pips)
    for rel, (data, mode) in mine.items():
        their_data, their_mode = pips[rel]
        assert mode == their_mode, rel
        if rel.endswith(".dist-info/INSTALLER"):
            assert (data, their_data) == (b"ioring\n", b"pip\n")
        elif rel.endswith(".dist-info/RECORD"):
            continue
        elif rel in launchers and PIP_VERSION < (26, 0):
            assert launcher_semantics(data) == launcher_semantics(their_data), rel
        else:
            assert data == their_data, rel
    # RECORD: the same rows, pip's "../../" (relative to its temporary lib/python) aside.
    rec, raw = record_of(ours)
    pip_rec, pip_raw = record_of(theirs, strip="../../")
    assert set(rec) == set(pip_rec)
    for path, row in rec.items():
        if path.endswith(".dist-info/INSTALLER") or (path in launchers and PIP_VERSION < (26, 0)):
            continue
        assert row == pip_rec[path], path
    assert raw.count(b"\r\n") == pip_raw.count(b"\r\n") == len(rec)     # CRLF, as pip writes
    lines = raw.split(b"\r\n")[:-1]
    assert [r.split(b",")[0] for r in lines] == sorted(r.split(b",")[0] for r in lines)


@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_tiny_wheel_matches_pip(tmp_path, tiny_wheel, mask):
    old = os.umask(mask)
    try:
        paths = F.install_wheel(tiny_wheel, tmp_path / "ours")
        pip_install(tiny_wheel, tmp_path / "pip", "--no-compile")
    finally:
        os.umask(old)
    launchers = {"bin/tiny-hello", "bin/tiny-sub", "bin/tiny-gui"}
    compare_with_pip(tmp_path / "ours", tmp_path / "pip", launchers)
    assert sorted(paths) == paths and str(tmp_path / "ours/bin/tiny-tool") in paths
    ours = tmp_path / "ours"
    assert (ours / "bin/tiny-tool").read_bytes() == \
        b"#!" + sys.executable.encode() + b"\nprint(\"tool\")\n"      # pip drops " -u"
    env = dict(os.environ, PYTHONPATH=str(ours))
    out = subprocess.run([str(ours / "bin/tiny-hello")], capture_output=True, text=True, env=env,
                         timeout=60)
    assert out.stdout == "hello from tiny tiny-hello\n", out.stderr
    out = subprocess.run([str(ours / "bin/tiny-sub")], capture_output=True, text=True, env=env,
                         timeout=60)
    assert out.stdout == "sub\n"


def test_tiny_wheel_compiled_like_pip(tmp_path, tiny_wheel):
    F.install_wheel(tiny_wheel, tmp_path / "ours", compile_bytecode=True)
    pip_install(tiny_wheel, tmp_path / "pip")
    assert set(files_of(tmp_path / "ours")) == set(files_of(tmp_path / "pip"))
    rec, _ = record_of(tmp_path / "ours")
    pip_rec, _ = record_of(tmp_path / "pip", strip="../../")
    pycs = {p for p in rec if p.endswith(".pyc")}
    assert pycs and pycs == {p for p in pip_rec if p.endswith(".pyc")}
    assert all(rec[p] == ("", "") == pip_rec[p] for p in pycs)


def test_downloaded_wheels_match_pip(tmp_path, downloaded):
    for name, wheel in sorted(downloaded.items()):
        ours, theirs = tmp_path / f"ours-{name}", tmp_path / f"pip-{name}"
        F.install_wheel(wheel, ours, verify_record=True)
        pip_install(wheel, theirs, "--no-compile")
        with zipfile.ZipFile(wheel) as z:
            (eps,) = [n for n in z.namelist() if n.endswith(".dist-info/entry_points.txt")] or [None]
            groups = _wheel._parse_entry_points(z.read(eps).decode()) if eps else {}
        names = [n for n, _ in _wheel.console_script_specs(groups.get("console_scripts", {}))]
        names += list(groups.get("gui_scripts", {}))
        compare_with_pip(ours, theirs, {f"bin/{n}" for n in names})


UV = shutil.which("uv")


@pytest.mark.skipif(UV is None, reason="uv is not installed (pip install uv)")
def test_tiny_and_downloaded_wheels_match_uv(tmp_path, tiny_wheel, downloaded):
    """uv's tree: the same files with the same bytes and the same RECORD rows (uv writes RECORD
    paths relative to the target too), except what each installer writes its own way:
    INSTALLER, launchers, direct_url.json, uv's uv_cache.json and .lock, and the headers
    directory (uv: include/<name>)."""
    env = dict(os.environ, UV_CACHE_DIR=str(tmp_path / "uv-cache"), TMPDIR=str(tmp_path))
    for i, wheel in enumerate([tiny_wheel, *sorted(downloaded.values())]):
        ours, theirs = tmp_path / f"ours{i}", tmp_path / f"uv{i}"
        F.install_wheel(wheel, ours)
        subprocess.run([UV, "pip", "install", "--quiet", "--no-deps", "--target", str(theirs),
                        "--python", sys.executable, str(wheel)], check=True, env=env,
                       capture_output=True, timeout=600)

        def own(rel):
            return (rel.endswith(("/INSTALLER", "/direct_url.json", "/uv_cache.json", "/RECORD"))
                    or rel.startswith(("bin/", "include/")) or rel == ".lock")
        mine = files_of(ours)
        uvs = files_of(theirs)
        assert {r for r in mine if not own(r)} == {r for r in uvs if not own(r)}, wheel.name
        for rel in mine:
            if not own(rel):
                assert mine[rel] == uvs[rel], rel
        assert {r for r in mine if r.startswith("bin/")} == {r for r in uvs if r.startswith("bin/")}
        rec, _ = record_of(ours)
        uv_rec, _ = record_of(theirs)
        for path, row in rec.items():
            if not own(path):
                assert uv_rec.get(path) == row, path


def _rewrite(src, dst, change):
    """A copy of wheel ``src`` with ``change(name, data) -> data`` applied to each member."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info, change(info.filename, zin.read(info)))
    return dst


def test_verify_record_catches_a_tampered_member(tmp_path, tiny_wheel):
    bad = _rewrite(tiny_wheel, tmp_path / tiny_wheel.name,
                   lambda n, d: d + b"# tampered\n" if n == "tinypkg/cli.py" else d)
    with pytest.raises(ValueError, match=r"does not match its RECORD: tinypkg/cli.py: sha256"):
        F.install_wheel(bad, tmp_path / "v", verify_record=True)
    F.install_wheel(bad, tmp_path / "nv")                # not asked: installed, RECORD rehashed
    rec, _ = record_of(tmp_path / "nv")
    assert rec["tinypkg/cli.py"][1] == str((tmp_path / "nv/tinypkg/cli.py").stat().st_size)


@pytest.mark.parametrize("change, message", [
    (lambda n, d: d.replace(b"Wheel-Version: 1.0", b"Wheel-Version: 2.0")
     if n.endswith("/WHEEL") else d, "Wheel-Version 2.0, which is not supported"),
    (lambda n, d: d.replace(b"tinypkg.cli:main", b"tinypkg.cli")
     if n.endswith("entry_points.txt") else d, "a callable suffix is required"),
    (lambda n, d: d.replace(b"tiny-hello =", b"../evil =")
     if n.endswith("entry_points.txt") else d, "outside the scripts directory"),
])
def test_invalid_wheels_are_refused(tmp_path, tiny_wheel, change, message):
    bad = _rewrite(tiny_wheel, tmp_path / tiny_wheel.name, change)
    with pytest.raises(ValueError, match=message):
        F.install_wheel(bad, tmp_path / "t")


def test_wheel_layout_errors(tmp_path):
    def wheel(name, members):
        path = tmp_path / name
        with zipfile.ZipFile(path, "w") as z:
            for n, d in members.items():
                z.writestr(n, d)
        return path
    meta = {"w-1.0.dist-info/METADATA": "Name: w\nVersion: 1.0\n",
            "w-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\n", "w-1.0.dist-info/RECORD": ""}
    with pytest.raises(ValueError, match="not a wheel: .dist-info directory not found"):
        F.install_wheel(wheel("w-1.0-py3-none-any.whl", {"w.py": ""}), tmp_path / "t")
    with pytest.raises(ValueError, match="unknown scheme key used in .*: lib"):
        F.install_wheel(wheel("w-1.0-py3-none-any.whl", {**meta, "w-1.0.data/lib/x.py": ""}),
                        tmp_path / "t")
    with pytest.raises(ValueError, match="multiple .dist-info directories"):
        F.install_wheel(wheel("w-1.0-py3-none-any.whl", {**meta, "v-1.dist-info/METADATA": ""}),
                        tmp_path / "t")
    with pytest.raises(ValueError, match="does not start with 'other'"):
        F.install_wheel(wheel("other-1.0-py3-none-any.whl", meta), tmp_path / "t")
    with pytest.raises(ValueError, match="path traversal"):
        F.install_wheel(wheel("w-1.0-py3-none-any.whl", {**meta, "w-1.0.data/data/../../x": ""}),
                        tmp_path / "t")
    evil_name = {**meta, "w-1.0.dist-info/METADATA": "Name: ../../../evil\nVersion: 1.0\n",
                 "w-1.0.data/headers/w.h": "int w;"}          # the headers directory's name
    with pytest.raises(ValueError, match="path traversal"):
        F.install_wheel(wheel("w-1.0-py3-none-any.whl", evil_name), tmp_path / "t2")
    assert not (tmp_path / "t2").exists() and not (tmp_path / "evil").exists()
    # A file object (no path: no direct_url.json) and the .data keys pip knows.
    path = wheel("w-1.0-py3-none-any.whl", {**meta, "w.py": "x = 1\n",
                                             "w-1.0.data/purelib/p.py": "", "w-1.0.data/platlib/q.py": "",
                                             "w-1.0.data/data/etc/w.conf": "conf"})
    with open(path, "rb") as f:
        F.install_wheel(f, tmp_path / "t", installer="tests", requested=False)
    assert sorted(files_of(tmp_path / "t")) == sorted(
        ["w.py", "p.py", "q.py", "etc/w.conf", "w-1.0.dist-info/METADATA",
         "w-1.0.dist-info/WHEEL", "w-1.0.dist-info/INSTALLER", "w-1.0.dist-info/RECORD"])
    assert (tmp_path / "t/w-1.0.dist-info/INSTALLER").read_bytes() == b"tests\n"


def test_large_script_is_streamed_and_rewritten(tmp_path):
    """A .data/scripts member over 1 MiB (streamed in chunks): its #!python line is replaced in
    the first chunk, RECORD has the hash and size of what was written, and verify_record checks
    the member as stored in the wheel."""
    import base64
    import hashlib
    body = b"#!python\r\n" + b"".join(b"print(%r)\n" % os.urandom(24).hex()
                                       for _ in range(40000))          # ~2 MiB, ~2:1
    files = {"big-1.0.data/scripts/big-tool": body, "big.py": b"",
             "big-1.0.dist-info/METADATA": b"Name: big\nVersion: 1.0\n",
             "big-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\n"}
    def b64(d):
        return base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b"=").decode()
    rows = [f"{n},sha256={b64(d)},{len(d)}" for n, d in files.items()]
    rows.append("big-1.0.dist-info/RECORD,,")
    files["big-1.0.dist-info/RECORD"] = ("\n".join(rows) + "\n").encode()
    wheel = tmp_path / "big-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as z:
        for n, d in files.items():
            z.writestr(n, d)
    F.install_wheel(wheel, tmp_path / "t", verify_record=True, interpreter="/opt/py/bin/python3")
    written = (tmp_path / "t/bin/big-tool").read_bytes()
    assert written == b"#!/opt/py/bin/python3" + os.linesep.encode() + body[len(b"#!python\r\n"):]
    rec, _ = record_of(tmp_path / "t")
    assert rec["bin/big-tool"] == (f"sha256={b64(written)}", str(len(written)))


def test_shebang_rules():
    assert _wheel.shebang("/usr/bin/python3") == b"#!/usr/bin/python3\n"
    assert _wheel.shebang("/opt/my python/bin/python") == \
        b"#!/bin/sh\n'''exec' \"/opt/my python/bin/python\" \"$0\" \"$@\"\n' '''\n"
    long = "/" + "x" * 130 + "/python"
    assert _wheel.shebang(long).startswith(b"#!/bin/sh\n'''exec' " + long.encode())


def test_pip_and_easy_install_get_versioned_names(monkeypatch):
    monkeypatch.delenv("ENSUREPIP_OPTIONS", raising=False)
    xy = f"{sys.version_info[0]}.{sys.version_info[1]}"
    specs = _wheel.console_script_specs({"pip": "pip._internal.cli.main:main",
                                         "pip3.8": "pip._internal.cli.main:main", "other": "m:f"})
    assert [n for n, _ in specs] == ["pip", f"pip{sys.version_info[0]}", f"pip{xy}", "other"]


def test_cli_install(tmp_path, tiny_wheel):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, "-m", "ioring", "install", str(tiny_wheel), "--target",
                        str(tmp_path / "t"), "-q", "--verify-record"], capture_output=True,
                       text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "t/tinypkg/cli.py").is_file()
    r = subprocess.run([sys.executable, "-m", "ioring", "install", str(tmp_path / "none.whl"),
                        "--target", str(tmp_path / "t")], capture_output=True, text=True, env=env,
                       timeout=120)
    assert r.returncode == 1 and "python -m ioring install:" in r.stderr
