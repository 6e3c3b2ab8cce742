"""``ioring.files.install_wheel``: what ``pip install --no-deps --target DIR WHEEL`` produces,
written by the zip engine (``ioring._unzip``: threads inflating, io_uring writes) with the
SHA-256 of every file computed while it is written.

pip's rules followed here (pip 26's ``operations/install/wheel.py`` and ``_handle_target_dir``):

- files at the root of the wheel go to the target directory (purelib and platlib are both the
  target with ``--target``); ``NAME.data/purelib/*`` and ``NAME.data/platlib/*`` too;
  ``NAME.data/data/*`` goes to the target, ``NAME.data/scripts/*`` to ``bin/``,
  ``NAME.data/headers/*`` to ``include/python/<Name>/`` (``include/site/pythonX.Y/<Name>/``
  when running in a virtual environment, as pip's scheme has it); any other ``.data`` key is
  refused, as pip refuses it;
- directory entries create nothing (no empty directories), a later member with the same
  destination wins;
- a member recorded as executable (any x bit in ``external_attr``) gets ``0o777 & ~umask |
  0o111``, other files ``0o666 & ~umask``;
- scripts from ``.data/scripts`` whose first line starts with ``#!python`` get the
  interpreter's path instead; those named after an entry point (setuptools' wrappers) are not
  installed;
- ``console_scripts``/``gui_scripts`` entry points become launcher scripts in ``bin/`` (pip's
  template and shebang rules, mode ``| 0o555``), with pip's versioned ``pip``/``easy_install``
  names;
- ``.dist-info/INSTALLER`` (``installer`` + newline), ``REQUESTED`` (empty),
  ``direct_url.json`` (PEP 610: the wheel's ``file://`` URL and its SHA-256, as pip writes for a
  wheel given by path), and ``RECORD``: one ``path,sha256=<urlsafe base64>,size`` row per file
  (``RECORD,,`` for itself), sorted, CRLF line ends, as pip writes it.

Where the result differs from pip's, on purpose: RECORD paths are relative to the target
directory (pip's ``--target`` RECORD says ``../../bin/x`` for scripts, headers and data, paths
relative to its temporary ``lib/python`` directory that point outside the target once moved;
``uv pip install --target`` writes ``bin/x`` as here); the hashes of files copied from the wheel
are computed from what was written (pip copies them from the wheel's RECORD); INSTALLER says
``ioring``; byte-compilation is off by default (``compile_bytecode=True`` runs
``compileall.compile_file`` on each installed ``.py`` as pip does by default, and lists the
``.pyc`` files in RECORD without hash, as pip does); existing files are overwritten (pip
``--target`` without ``--upgrade`` skips top-level entries that already exist).
"""
from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import re
import stat
import sys
import threading
import urllib.parse
import urllib.request

from ioring import _unzip

__all__ = ["install_wheel"]

_SCHEME_KEYS = ("data", "headers", "platlib", "purelib", "scripts")
_LAUNCHER = """\
import sys
from {module} import {import_name}
if __name__ == '__main__':
    sys.argv[0] = sys.argv[0].removesuffix('.exe')
    sys.exit({func}())
"""
# distlib's export entry grammar, which pip uses: "name = module:attr.attr [extras]"
_ENTRY = re.compile(r"(?P<name>([^\[]\S*))\s*=\s*(?P<callable>(\w+)([:\.]\w+)*)\s*"
                    r"(\[\s*(?P<flags>[\w-]+(=\w+)?(,\s*\w+(=\w+)?)*)\s*\])?$")


class WheelError(ValueError):
    """The wheel cannot be installed (what pip reports as an unsupported or invalid wheel)."""


def _canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def _record_digest(digest):
    return "sha256=" + base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def shebang(interpreter):
    """The first line(s) of a script run by ``interpreter``, as distlib (pip) writes them: a
    plain ``#!`` line, or a ``/bin/sh`` trampoline when the path holds a space or is too
    long for the kernel (127 bytes)."""
    exe = interpreter
    if " " in exe and not exe.startswith('"'):
        if exe.startswith("/usr/bin/env "):
            env, rest = exe.split(" ", 1)
            if " " in rest and not rest.startswith('"'):
                exe = f'{env} "{rest}"'
        else:
            exe = f'"{exe}"'
    raw = exe.encode("utf-8")
    if b" " not in raw and len(raw) + 3 <= 127:
        return b"#!" + raw + b"\n"
    return b"#!/bin/sh\n'''exec' " + raw + b' "$0" "$@"\n' + b"' '''\n"


def _parse_entry_points(text):
    """{group: {name: value}} from entry_points.txt (importlib.metadata's reading of it)."""
    groups = {}
    section = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = groups.setdefault(line[1:-1].strip(), {})
            continue
        if section is None or "=" not in line:
            continue
        name, _, value = line.partition("=")
        section[name.strip()] = value.strip()
    return groups


def console_script_specs(console):
    """pip's ``get_console_script_specs``: the (name, value) pairs to generate, with pip and
    easy_install given this interpreter's versioned names."""
    console = dict(console)
    out = []
    xy = f"{sys.version_info[0]}.{sys.version_info[1]}"
    ensurepip = os.environ.get("ENSUREPIP_OPTIONS")
    pip_script = console.pop("pip", None)
    if pip_script:
        if ensurepip is None:
            out.append(("pip", pip_script))
        if ensurepip != "altinstall":
            out.append((f"pip{sys.version_info[0]}", pip_script))
        out.append((f"pip{xy}", pip_script))
        for k in [k for k in console if re.match(r"pip(\d+(\.\d+)?)?$", k)]:
            del console[k]
    easy = console.pop("easy_install", None)
    if easy:
        if ensurepip is None:
            out.append(("easy_install", easy))
        out.append((f"easy_install-{xy}", easy))
        for k in [k for k in console if re.match(r"easy_install(-\d+\.\d+)?$", k)]:
            del console[k]
    out.extend(console.items())
    return out


def launcher(name, value, interpreter):
    """The launcher pip writes for entry point ``name = value``."""
    m = _ENTRY.match(f"{name} = {value}")
    if m is None:
        raise WheelError(f"invalid entry point {name} = {value}")
    target = m.group("callable")
    module, sep, attr = target.partition(":")
    if not sep:
        raise WheelError(f"invalid script entry point {name} = {value}: a callable suffix is "
                         "required (module:function)")
    parts = name.replace("\\", "/").split("/")
    if len(parts) != 1 or name in (".", ".."):
        raise WheelError(f"invalid script entry point name {name!r}: the script would be "
                         "installed outside the scripts directory")
    body = _LAUNCHER.format(module=module, import_name=attr.split(".")[0], func=attr)
    return shebang(interpreter) + body.encode("utf-8")


def _is_wrapper(path, entry_names):
    name = path.rpartition("/")[2]
    low = name.lower()
    if low.endswith(".exe") or low.endswith(".pya"):
        name = name[:-4]
    elif low.endswith("-script.py"):
        name = name[:-10]
    return name in entry_names


def _hash_file(path, out):
    """SHA-256 of a whole file (for direct_url.json), into ``out[0]``."""
    h = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        offset = 0
        while True:
            data = os.pread(fd, 4 << 20, offset)
            if not data:
                break
            h.update(data)
            offset += len(data)
    finally:
        os.close(fd)
    out[0] = h.hexdigest()


def install_wheel(wheel, target, *, interpreter=None, installer="ioring", requested=True,
                  direct_url=True, compile_bytecode=False, verify_record=False, progress=None,
                  max_ratio=_unzip.DEFAULT_MAX_RATIO, threads=None):
    """``ioring.files.install_wheel`` (documented there)."""
    target = os.path.abspath(os.fsdecode(os.fspath(target)))
    interpreter = sys.executable if interpreter is None else os.fspath(interpreter)
    if not interpreter:
        raise ValueError("no interpreter for the scripts' #! line: pass interpreter=")
    if "\n" in installer:
        raise ValueError("installer must be one line")
    src = _unzip.Archive(wheel)
    hasher = None
    try:
        zf = src.zf
        infos = zf.infolist()
        tops = {i.filename.split("/", 1)[0] for i in infos}
        info_dirs = sorted(t for t in tops if t.endswith(".dist-info"))
        if not info_dirs:
            raise WheelError(f"{wheel!r} is not a wheel: .dist-info directory not found")
        if len(info_dirs) > 1:
            raise WheelError(f"multiple .dist-info directories found: {', '.join(info_dirs)}")
        info_dir = info_dirs[0]
        if src.path is not None:
            project = os.path.basename(src.path).split("-", 1)[0]
            if not _canonical(info_dir).startswith(_canonical(project)):
                raise WheelError(f".dist-info directory {info_dir!r} does not start with "
                                 f"{_canonical(project)!r}")

        def meta(name, required=True):
            try:
                info = zf.getinfo(f"{info_dir}/{name}")
            except KeyError:
                if required:
                    raise WheelError(f"{wheel!r}: {info_dir}/{name} is missing") from None
                return None
            return zf.read(info).decode("utf-8")

        from email.parser import Parser
        wheel_meta = Parser().parsestr(meta("WHEEL"), headersonly=True)
        version = (wheel_meta.get("Wheel-Version") or "").strip()
        try:
            major = int(version.split(".")[0])
        except ValueError:
            raise WheelError(f"{wheel!r}: invalid Wheel-Version {version!r}") from None
        if major != 1:
            raise WheelError(f"{wheel!r} has Wheel-Version {version}, which is not supported "
                             "(1.x is)")
        dist_name = (Parser().parsestr(meta("METADATA"), headersonly=True).get("Name")
                     or "UNKNOWN").strip()
        groups = _parse_entry_points(meta("entry_points.txt", False) or "")
        console = groups.get("console_scripts", {})
        gui = groups.get("gui_scripts", {})
        entry_names = set(console) | set(gui)
        record_rows = list(csv.reader(io.StringIO(meta("RECORD", False) or "")))

        # Where each member goes (pip's scheme for --target), checked like extract_zip's names.
        if sys.prefix != getattr(sys, "base_prefix", sys.prefix):
            headers = f"include/site/python{sys.version_info[0]}.{sys.version_info[1]}/{dist_name}"
        else:
            headers = f"include/python/{dist_name}"
        scheme = {"purelib": "", "platlib": "", "data": "", "scripts": "bin", "headers": headers}
        record_name = f"{info_dir}/RECORD"
        umask = _umask()
        root, data, scripts = [], [], []
        for info in infos:
            name = info.filename
            if name.endswith("/") or name == record_name:
                continue
            parts = _unzip.member_parts(name)
            if not parts:
                continue
            if parts[0].endswith(".data"):
                if len(parts) < 3:
                    raise WheelError(f"unexpected file in {wheel!r}: {name!r}. .data directory "
                                     "contents should be named like: '<scheme key>/<path>'.")
                key = parts[1]
                if key not in scheme:
                    raise WheelError(f"unknown scheme key used in {wheel!r}: {key} (for file "
                                     f"{name!r}). .data directory contents should be in "
                                     "subdirectories named with a valid scheme key "
                                     f"({', '.join(_SCHEME_KEYS)})")
                base = scheme[key]
                # checked again as a whole: the headers directory holds the project's name
                rel = "/".join(_unzip.member_parts("/".join(([base] if base else []) + parts[2:])))
                if key == "scripts":
                    if _is_wrapper(rel, entry_names):
                        continue
                    scripts.append((info, rel))
                else:
                    data.append((info, rel))
            else:
                root.append((info, "/".join(parts)))
        ordered = root + data + scripts
        last = {rel: i for i, (_, rel) in enumerate(ordered)}
        chosen = [(info, rel) for i, (info, rel) in enumerate(ordered) if last[rel] == i]
        ends = _unzip.check_archive(zf, max_ratio)
        script_infos = {id(info) for info, _ in scripts}
        rewrite = _ShebangFix(interpreter)
        members = []
        executable = []
        for job, (info, rel) in enumerate(chosen):
            attr = info.external_attr >> 16
            is_exec = bool(attr and stat.S_ISREG(attr) and attr & 0o111)
            if is_exec:
                executable.append(rel)
            members.append(_unzip.Member(job, info, rel, 0o777 if is_exec else 0o666,
                                         ends[info.header_offset],
                                         rewrite if id(info) in script_infos else None))

        # Generated files: launchers, then the .dist-info files (RECORD last).
        generated = {}
        for name, value in console_script_specs(console):
            generated[f"bin/{name}"] = launcher(name, value, interpreter)
        for name, value in gui.items():
            generated[f"bin/{name}"] = launcher(name, value, interpreter)
        launchers = list(generated)
        generated[f"{info_dir}/INSTALLER"] = installer.encode("utf-8") + b"\n"

        os.makedirs(target, exist_ok=True)
        dirs = _unzip.parent_dirs([m.rel for m in members] + list(generated) + [record_name])
        digest = [None]
        if direct_url and src.path is not None:
            hasher = threading.Thread(target=_hash_file, args=(src.path, digest),
                                      name="ioring-wheel-hash", daemon=True)
            hasher.start()
        _unzip.run(src, target, members, progress=progress, threads=threads, hashing=True,
                   dirs=dirs)
        if verify_record:
            _verify(wheel, members, record_rows, record_name)
        if hasher is not None:
            hasher.join()
            hasher = None
            url = urllib.parse.urljoin("file:", urllib.request.pathname2url(
                os.path.normpath(os.path.abspath(src.path))))
            generated[f"{info_dir}/direct_url.json"] = json.dumps(
                {"archive_info": {"hash": f"sha256={digest[0]}",
                                  "hashes": {"sha256": digest[0]}},
                 "url": url}, sort_keys=True).encode("utf-8")
        if requested:
            generated[f"{info_dir}/REQUESTED"] = b""
    finally:
        if hasher is not None:
            hasher.join()
        src.close()

    # pip's modes: x for everybody on executables even through the umask; launchers | 0o555.
    if umask & 0o111:
        for rel in executable:
            path = os.path.join(target, rel)
            os.chmod(path, stat.S_IMODE(os.stat(path).st_mode) | 0o111)
    rows = [(m.rel, _record_digest(m.sha256), str(m.written)) for m in members]
    for rel, content in generated.items():
        _write_generated(os.path.join(target, rel), content,
                         0o555 if rel in launchers else 0)
        rows.append((rel, _record_digest(hashlib.sha256(content).digest()), str(len(content))))
    if compile_bytecode:
        rows += _compile(target, [m.rel for m in members])
    rows.append((record_name, "", ""))
    out = io.StringIO(newline="")
    csv.writer(out).writerows(sorted(rows))
    _write_generated(os.path.join(target, record_name), out.getvalue().encode("utf-8"), 0)
    return [os.path.join(target, rel) for rel, _, _ in sorted(rows)]


class _ShebangFix:
    """pip's fix_script: a first line starting with ``#!python`` becomes ``#!<interpreter>``
    (the rest of that line is dropped, as pip drops it)."""

    def __init__(self, interpreter):
        self.line = b"#!" + interpreter.encode(sys.getfilesystemencoding()) + \
            os.linesep.encode("ascii")

    def __call__(self, head):
        if not head.startswith(b"#!python"):
            return None
        end = head.find(b"\n")
        if end < 0:
            if len(head) >= _unzip._CHUNK:
                raise WheelError("a #!python script's first line is longer than 1 MiB")
            return self.line
        return self.line + head[end + 1:]


def _write_generated(path, content, extra_mode):
    """A file written whole (0o666 minus the umask, then ``| extra_mode``), replacing any."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC | os.O_NOFOLLOW,
                 0o666)
    try:
        view = memoryview(content)
        while view:
            view = view[os.write(fd, view):]
        if extra_mode:
            os.fchmod(fd, stat.S_IMODE(os.fstat(fd).st_mode) | extra_mode)
    finally:
        os.close(fd)


def _verify(wheel, members, record_rows, record_name):
    """Each installed member against the wheel's own RECORD (sha256 and size)."""
    expected = {}
    for row in record_rows:
        if row:
            expected[row[0]] = (row[1] if len(row) > 1 else "", row[2] if len(row) > 2 else "")
    bad = []
    for m in members:
        name = m.info.filename
        want = expected.get(name)
        digest = m.orig_sha256 if m.orig_sha256 is not None else m.sha256
        if want is None:
            if not name.endswith((".dist-info/RECORD.jws", ".dist-info/RECORD.p7s")):
                bad.append(f"{name} is not in the wheel's RECORD")   # signatures never are
            continue
        algo, _, value = want[0].partition("=")
        if algo != "sha256":
            bad.append(f"{name}: RECORD gives no sha256 ({want[0]!r})")
        elif value != _record_digest(digest)[7:]:
            bad.append(f"{name}: sha256 differs from the wheel's RECORD")
        elif want[1] and want[1] != str(m.size):
            bad.append(f"{name}: size {m.size} differs from the wheel's RECORD ({want[1]})")
    if bad:
        more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
        raise WheelError(f"{wheel!r} does not match its RECORD: {'; '.join(bad[:5])}{more}; "
                         "the files were written, RECORD was not")


def _compile(target, rels):
    """compileall.compile_file on each installed .py, as pip does; RECORD rows without hash."""
    import compileall
    import contextlib
    import importlib.util
    import warnings
    rows = []
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.filterwarnings("ignore")
        for rel in sorted(set(rels)):
            if not rel.endswith(".py"):
                continue
            path = os.path.join(target, rel)
            if compileall.compile_file(path, force=True, quiet=True):
                pyc = importlib.util.cache_from_source(path)
                rows.append((os.path.relpath(pyc, target).replace(os.sep, "/"), "", ""))
    return rows
