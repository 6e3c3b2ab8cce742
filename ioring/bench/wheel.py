"""The real-wheel points of ``python -m ioring bench unzip``: a whole wheel unpacked or
installed by each tool, in a fresh process per measurement.

For each wheel (the paths given, else one built in the run by ``make_wheel``), in the same run
and interleaved: ``zipfile.extractall`` (the reference), ``ioring.files.extract_zip``,
``ioring.files.install_wheel``, the ``installer`` package (PyPI; what pip's successors use),
``pip install --no-deps --no-compile --target`` and ``uv pip install --no-deps --target`` when
they are installed. Every measurement is one new process (``sys.executable -c ...``, ``python -m
pip``, ``uv``), timed from spawn to exit, so interpreter start-up and imports count as they do for
a user; the first round of each tool is a warm-up (page cache), later rounds run until
``seconds`` have been measured. Each round writes into a new directory, with uv's cache
(``UV_CACHE_DIR``) and the ``TMPDIR`` of uv and pip in it (the target's filesystem), so that uv
unpacks the wheel every time as the others do; what a round wrote is removed after it (not
timed; on a disk file system its files are truncated and the directories removed with the
run's: see ``clear_round``). ioring's modules are byte-compiled first, as an installed
package's are (``byte_compile_package``). One op is one member of the wheel; the note of each
point gives the child's peak RSS and CPU time (user + system, its io-wq workers included) per
round.
"""
from __future__ import annotations

import base64
import hashlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import zipfile

from ioring.bench._runner import BenchError, Skip, _bad, _Runner, filesystem_of

#: implementation key -> label (merged into ioring.bench.IMPLS)
IMPLS = {
    "install_wheel": "ioring.files.install_wheel",
    "installer": "installer (PyPI)",
    "pip": "pip install --no-deps --target",
    "uv": "uv pip install --no-deps --target",
}


ORDER = ("zipfile", "extract_zip", "install_wheel", "installer", "pip", "uv")
_ROUND_LIMIT = 600
_compiled = False           # byte_compile_package() done in this process          # seconds one child may take before the watchdog calls it stalled


def make_wheel(path, members=1000, *, seed=16):
    """A valid pure-Python wheel (``ioringbench-1.0``): ``members`` text modules of 1-16 KiB,
    two binary-like members of 3 and 6 MiB (streamed: over 1 MiB), a console script, and the
    .dist-info files with a correct RECORD. Returns ``path``."""
    rnd = random.Random(seed)
    words = [bytes(rnd.choices(b"abcdefghijklmnopqrstuvwxyz_", k=rnd.randint(2, 10)))
             for _ in range(600)]
    files = {"ioringbench/__init__.py": b"def main():\n    return 0\n"}
    for i in range(members):
        size = rnd.randint(1024, 16384)
        data = bytearray()
        while len(data) < size:
            data += b"    " + b" = ".join(rnd.choices(words, k=2)) + b"(" + \
                b", ".join(rnd.choices(words, k=3)) + b")\n"
        files[f"ioringbench/m{i // 100:03d}/mod{i:05d}.py"] = bytes(data[:size])
    # Binary members with ~3 bits of entropy per byte (half zeros, 16 other values): they
    # deflate about 2.5:1 (over 1 MiB: streamed), as the shared libraries in real wheels do.
    skew = bytes(0 if i < 128 else (i % 16) * 15 + 1 for i in range(256))
    for name, mib in (("_native.so", 3), ("_data.bin", 6)):
        files[f"ioringbench/{name}"] = rnd.randbytes(mib << 20).translate(skew)
    info = "ioringbench-1.0.dist-info"
    files[f"{info}/METADATA"] = b"Metadata-Version: 2.1\nName: ioringbench\nVersion: 1.0\n"
    files[f"{info}/WHEEL"] = (b"Wheel-Version: 1.0\nGenerator: ioring.bench\nRoot-Is-Purelib: "
                              b"true\nTag: py3-none-any\n")
    files[f"{info}/entry_points.txt"] = b"[console_scripts]\nioringbench = ioringbench:main\n"
    record = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return path


def short_name(wheel):
    """'torch-2.13.0+cpu' for torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl."""
    return "-".join(os.path.basename(wheel).split("-")[:2])


def _pkg_parent():
    import ioring
    return os.path.dirname(os.path.dirname(os.path.abspath(ioring.__file__)))


def byte_compile_package():
    """Byte-compile ioring's modules (``__pycache__``), as installing a package does. Each
    measured process imports ioring from the tree the benchmark runs from; without cached
    bytecode (``PYTHONDONTWRITEBYTECODE`` set, as in this project's environment, or a tree not
    imported yet) each would compile ~3,000 lines: ~16 ms of a 150 ms unpack here, a cost no
    installed package pays (zipfile's, pip's and uv's are compiled). Returns False when the
    package directory cannot be written."""
    import compileall
    import ioring
    try:
        return bool(compileall.compile_dir(os.path.dirname(os.path.abspath(ioring.__file__)),
                                           maxlevels=0, quiet=2))
    except OSError:
        return False


def clear_round(tmp, keep_inodes):
    """Remove what a round wrote under ``tmp``. ``keep_inodes`` (a disk file system): every
    file is truncated to 0 bytes instead (its pages and blocks are freed, its inode is not) and
    the caller removes the directories at the end of the run. On ext4, creating a file in a block
    group where many inodes were freed in the last 60 s (360 s while their inode-table block is
    dirty) costs a look at each of them (``recently_deleted``; see bench/RESULTS.md): removing a
    round's 12,000 files would charge the next round 5-10x the kernel CPU of its creates."""
    if not keep_inodes:
        shutil.rmtree(tmp)
        return
    for dirpath, _, filenames in os.walk(tmp):
        for name in filenames:
            path = os.path.join(dirpath, name)
            try:
                if not os.path.islink(path):
                    os.truncate(path, 0)
            except OSError:
                pass


# Each script prints the time of its work (imports of the library included, interpreter
# start-up excluded) for run_child to read; pip and uv are timed as whole processes only.
_TIMED = "import time\n_t0 = time.perf_counter()\n{}print('inner', time.perf_counter() - _t0)\n"
_SCRIPTS = {
    "zipfile": _TIMED.format("import sys, zipfile\n"
                             "zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])\n"),
    "extract_zip": _TIMED.format("import sys\nfrom ioring.files import extract_zip\n"
                                 "extract_zip(sys.argv[1], sys.argv[2])\n"),
    "install_wheel": _TIMED.format("import sys\nfrom ioring.files import install_wheel\n"
                                   "install_wheel(sys.argv[1], sys.argv[2])\n"),
    "installer": _TIMED.format(
        "import os, sys\n"
        "from installer import install\n"
        "from installer.destinations import SchemeDictionaryDestination\n"
        "from installer.sources import WheelFile\n"
        "t = sys.argv[2]\n"
        "scheme = {k: os.path.join(t, v) for k, v in {'purelib': '', 'platlib': '', "
        "'scripts': 'bin', 'headers': 'include', 'data': ''}.items()}\n"
        "with WheelFile.open(sys.argv[1]) as source:\n"
        "    install(source, SchemeDictionaryDestination(scheme, interpreter=sys.executable, "
        "script_kind='posix'), additional_metadata={'INSTALLER': b'installer\\n'})\n"),
}


# The spawner between the benchmark and each measured process. A process's peak RSS (what
# wait4 and getrusage report) starts at the peak of the address space it was exec'd from, so a
# child spawned by the benchmark itself (tens of MiB) would report at least that: the spawner
# is a bare interpreter (python -S, a few MiB), whose children start from its small peak.
_SPAWNER = r"""
import os, sys, time
out, cmd = sys.argv[1], sys.argv[2:]
t0 = time.perf_counter()
pid = os.posix_spawnp(cmd[0], cmd, os.environ)
_, status, ru = os.wait4(pid, 0)
wall = time.perf_counter() - t0
with open(out, "w") as f:
    f.write(f"{wall} {ru.ru_utime + ru.ru_stime} {ru.ru_maxrss} {os.waitstatus_to_exitcode(status)}")
"""


def run_child(cmd, env, limit=_ROUND_LIMIT):
    """Run ``cmd`` (through the spawner); returns (wall seconds from spawn to exit, CPU
    seconds, peak RSS in bytes, the time the child printed as ``inner <seconds>`` or None).
    Raises BenchError with the end of stderr when it fails."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r") as result:
        r = subprocess.run([sys.executable, "-S", "-c", _SPAWNER, result.name, *cmd], env=env,
                           stdout=out, stderr=err, timeout=limit)
        fields = result.read().split()
        code = int(fields[3]) if len(fields) == 4 else r.returncode
        if r.returncode != 0 or code != 0:
            err.seek(0)
            tail = err.read().decode(errors="replace").strip().splitlines()[-3:]
            raise BenchError(f"{os.path.basename(cmd[0])} exited {code}: " + " | ".join(tail))
        out.seek(0)
        inner = None
        for line in out.read().decode(errors="replace").splitlines():
            if line.startswith("inner "):
                inner = float(line.split()[1])
    return float(fields[0]), float(fields[1]), int(fields[2]) * 1024, inner


def command(impl, wheel, dest, tmp):
    """(argv, environment) of one measurement of ``impl``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [_pkg_parent(), env.get("PYTHONPATH")]))
    if impl in _SCRIPTS:
        return [sys.executable, "-c", _SCRIPTS[impl], wheel, dest], env
    if impl == "pip":
        env["TMPDIR"] = tmp                 # its staging directory on the target's filesystem
        return [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                "--no-deps", "--no-compile", "--target", dest, wheel], env
    if impl == "uv":
        env["UV_CACHE_DIR"] = os.path.join(tmp, "uv-cache")
        env["TMPDIR"] = tmp
        return [shutil.which("uv") or "uv", "pip", "install", "--quiet", "--no-deps",
                "--target", dest, "--python", sys.executable, wheel], env
    raise ValueError(f"unknown implementation {impl!r}")


def available(impl):
    """None, or why ``impl`` cannot run here (a Skip)."""
    if impl == "installer":
        import importlib.util
        if importlib.util.find_spec("installer") is None:
            return Skip("not installed", "pip install installer")
    if impl == "uv" and shutil.which("uv") is None:
        return Skip("not installed", "pip install uv")
    if impl == "pip":
        r = subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True)
        if r.returncode != 0:
            return Skip("not installed", "no pip for this interpreter")
    return None


class WheelRounds(_Runner):
    """One implementation on one wheel: a fresh process per round."""

    def __init__(self, impl, wheel, base, members):
        skip = available(impl)
        if skip is not None:
            raise skip
        self.impl, self.wheel, self.base, self.members = impl, wheel, base, members
        self.keep_inodes = filesystem_of(base) not in ("tmpfs", "ramfs")
        global _compiled
        if not _compiled:
            _compiled = True
            byte_compile_package()
        self.round = 0
        self.note = ""

    def _arm_watchdog(self):
        # The run's watchdog covers a whole point; a round of pip on a large wheel can take
        # longer than that, so each round gets its own limit (a stalled child still fails).
        import signal
        if hasattr(signal, "setitimer") and signal.getitimer(signal.ITIMER_REAL)[0] > 0:
            signal.setitimer(signal.ITIMER_REAL, _ROUND_LIMIT)

    def measure(self, seconds):
        total = cpu = inside = 0.0
        rounds, peak = 0, 0
        while True:
            tmp = tempfile.mkdtemp(prefix=f"{self.impl}-{self.round}-", dir=self.base)
            dest = os.path.join(tmp, "dest")
            self.round += 1
            cmd, env = command(self.impl, self.wheel, dest, tmp)
            self._arm_watchdog()
            wall, used, rss, inner = run_child(cmd, env)
            self.check(dest)
            clear_round(tmp, self.keep_inodes)
            if self.round == 1:             # warm-up: the wheel and the tool in the page cache
                continue
            rounds += 1
            total += wall
            cpu += used
            inside += inner or 0.0
            peak = max(peak, rss)
            if total >= seconds:
                self.note = (f"{rounds} round(s), fresh process each; peak RSS {peak >> 20} MiB, "
                             f"CPU {cpu / rounds:.2f} s/round"
                             + (f", in-process {inside / rounds:.3f} s" if inner is not None
                                else ""))
                return rounds * self.members, total

    def check(self, dest):
        n = sum(len(f) for _, _, f in os.walk(dest))
        if n < self.members:
            raise _bad("files written", n, "expected at least", self.members)


def file_members(wheel):
    with zipfile.ZipFile(wheel) as z:
        return len({i.filename for i in z.infolist() if not i.is_dir()})


def points(tmp, wheels, members):
    """(workload, param, value, config, impl, make) of every real-wheel point; ``wheels``: paths
    (None: a wheel of ``members`` modules built in ``tmp`` when first measured)."""
    out = []
    if wheels:
        given = []
        for w in wheels:
            if not os.path.isfile(w):
                raise ValueError(f"no such wheel: {w}")
            given.append((os.path.abspath(w), file_members(w), False))
    else:
        # + __init__.py, the 2 big members and the 4 .dist-info files
        given = [(os.path.join(tmp, "ioringbench-1.0-py3-none-any.whl"), members + 7, True)]
    for wheel, count, build in given:
        def make_for(impl, wheel=wheel, count=count, build=build):
            def make():
                if build and not os.path.exists(wheel):
                    make_wheel(wheel, members)
                base = os.path.join(tmp, "wheel-rounds")
                os.makedirs(base, exist_ok=True)
                return WheelRounds(impl, wheel, base, count)
            return make
        config = f"wheel {short_name(wheel)}"
        for impl in ORDER:
            out.append(("unzip", "members", count, config, impl, make_for(impl)))
    return out


#: shown under the table when wheels were measured
NOTE = ("unzip, wheel points: one fresh process per round (start-up and imports included), "
        "the first round a warm-up; each round in a new directory holding uv's cache and the "
        "TMPDIR of uv and pip (the target's filesystem); pip with --no-compile. Each note gives "
        "peak RSS and CPU per round.")
