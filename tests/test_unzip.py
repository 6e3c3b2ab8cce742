"""ioring.files.extract_zip's engine (ioring/_unzip.py, ioring/_inflate.py): trees identical to
zipfile.extractall's on crafted archives and real wheels, with every thread count and both
writers (io_uring chains, plain syscalls); CRC-32 and declared sizes enforced; zip bombs
refused before anything is written; memory bounded whatever the member size (measured in a
child process); Ctrl-C leaves no thread, ring or fd behind; the zlib fallback."""
import errno
import hashlib
import io
import os
import pathlib
import stat
import struct
import subprocess
import sys
import textwrap
import warnings
import zipfile
import zlib

import pytest

import ioring
import ioring.files as F
from ioring import _inflate, _unzip

ROOT = pathlib.Path(ioring.__file__).resolve().parent.parent


def tree(root):
    """relative path -> bytes (files; the SHA-256 of those over 1 MiB) or None (directories)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            out[os.path.relpath(os.path.join(dirpath, d), root)] = None
        for f in filenames:
            p = os.path.join(dirpath, f)
            data = pathlib.Path(p).read_bytes()
            out[os.path.relpath(p, root)] = (data if len(data) <= 1 << 20
                                             else ("sha256", hashlib.sha256(data).digest()))
    return out


def zipfile_tree(archive, where):
    with zipfile.ZipFile(archive) as z:
        z.extractall(where)
    return tree(where)


def umask():
    old = os.umask(0)
    os.umask(old)
    return old


def fds():
    return sorted(os.listdir("/proc/self/fd"))


@pytest.fixture(params=["ring", "chains", "plain"])
def writer(request, monkeypatch):
    """io_uring (one ring per thread; small members through _fileops.write_pipelined), the
    same with chains prepared from Python for every member (builds without _fileops), or the
    plain os.open/os.pwrite writer that systems without io_uring (or without
    IORING_FEAT_LINKED_FILE) get."""
    if request.param == "plain":
        monkeypatch.setattr(F, "_open_ring", lambda entries: None)
    if request.param == "chains":
        monkeypatch.setattr(_unzip, "_fileops", None)
    return request.param


class Unseekable(io.RawIOBase):
    """A write-only stream without seek: zipfile then writes data descriptors (flag bit 3)."""

    def __init__(self):
        self.buf = io.BytesIO()

    def writable(self):
        return True

    def write(self, b):
        return self.buf.write(b)


def crafted(path, *, prefix=b""):
    """Every shape of member: stored and deflated, empty, streamed (over 1 MiB, stored and
    deflated, incompressible and compressible), zip64 extra fields, explicit directories, a
    UTF-8 name, duplicates, bzip2/lzma, modes, a symbolic-link member; optional leading bytes
    (a self-extracting archive's stub)."""
    rnd = __import__("random").Random(5)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("pkg/__init__.py", b"")
        z.writestr("pkg/empty_stored", b"", compress_type=zipfile.ZIP_STORED)
        for i in range(300):
            z.writestr(f"pkg/m{i % 7}/f{i}.txt", (f"line {i}\n" * (i % 50 + 1)).encode())
        z.writestr("pkg/stored.bin", rnd.randbytes(70000), compress_type=zipfile.ZIP_STORED)
        z.writestr("pkg/big_random.bin", rnd.randbytes(3 << 20))          # streamed, ~1:1
        z.writestr("pkg/big_text.txt", b"".join(b"%08d the quick brown fox\n" % i
                                                 for i in range(200000)))   # streamed, compressible
        z.writestr("pkg/big_stored.bin", rnd.randbytes((2 << 20) + 7),
                   compress_type=zipfile.ZIP_STORED)                       # streamed stored
        with z.open("pkg/zip64.bin", "w", force_zip64=True) as f:           # zip64 extra fields
            f.write(b"zip64 " * 5000)
        z.writestr(zipfile.ZipInfo("pkg/empty_dir/"), b"")
        z.writestr("pkg/ünïcode-名前.txt", "utf-8 name".encode())
        z.writestr("pkg/bz2.txt", b"bzip2 " * 3000, compress_type=zipfile.ZIP_BZIP2)
        z.writestr("pkg/lzma.txt", b"lzma " * 3000, compress_type=zipfile.ZIP_LZMA)
        exe = zipfile.ZipInfo("bin/tool")
        exe.external_attr = (stat.S_IFREG | 0o755) << 16
        z.writestr(exe, b"#!/bin/sh\necho tool\n", compress_type=zipfile.ZIP_DEFLATED)
        link = zipfile.ZipInfo("pkg/link")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(link, b"stored/target")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")                  # "Duplicate name"
            z.writestr("pkg/dup.txt", b"first")
            z.writestr("pkg/dup.txt", b"second, and last")
    data = buf.getvalue()
    path.write_bytes(prefix + data)
    return path


_ENTRY_FIELDS = ("filename", "orig_filename", "header_offset", "compress_size", "file_size",
                 "CRC", "compress_type", "flag_bits", "external_attr")


def _fast_directory(path):
    from ioring import _zipdir
    data = path.read_bytes()
    return _zipdir.read(lambda at, n: data[at:at + n], len(data), None)


def test_fast_central_directory_reads_what_zipfile_reads(tmp_path):
    """ioring._zipdir gives the entries zipfile gives (every field extract_zip uses), for the
    crafted archive, one with an archive comment, a timestamp extra field, cp437 names, and
    an empty one; it leaves to zipfile what it cannot read the same way: bytes before the
    archive, a Unicode-path extra field (zipfile >= 3.12 renames the entry from it), a NUL
    in a name, a truncated or foreign file."""
    archives = [crafted(tmp_path / "a.zip")]
    with zipfile.ZipFile(tmp_path / "c.zip", "w") as z:
        z.writestr("x.txt", b"x")
        z.comment = b"a comment PK"
    archives.append(tmp_path / "c.zip")
    with zipfile.ZipFile(tmp_path / "t.zip", "w") as z:
        info = zipfile.ZipInfo("t.txt")
        info.extra = struct.pack("<HHB", 0x5455, 1, 3)
        z.writestr(info, b"t")
        cp = zipfile.ZipInfo("caf\xe9.txt")          # not ASCII, no UTF-8 flag: cp437
        z.writestr(cp, b"c")
    archives.append(tmp_path / "t.zip")
    zipfile.ZipFile(tmp_path / "e.zip", "w").close()
    archives.append(tmp_path / "e.zip")
    for path in archives:
        fast = _fast_directory(path)
        assert fast is not None, path
        with zipfile.ZipFile(path) as z:
            assert fast.start_dir == z.start_dir
            assert [tuple(getattr(i, f) for f in _ENTRY_FIELDS) for i in fast.infolist()] == \
                [tuple(getattr(i, f) for f in _ENTRY_FIELDS) for i in z.infolist()], path
            assert [i.is_dir() for i in fast.infolist()] == [i.is_dir() for i in z.infolist()]
            for name in z.namelist():
                assert fast.getinfo(name).header_offset == z.getinfo(name).header_offset
    # what only zipfile reads
    (tmp_path / "p.zip").write_bytes(b"#!stub\n" + (tmp_path / "t.zip").read_bytes())
    with zipfile.ZipFile(tmp_path / "u.zip", "w") as z:
        info = zipfile.ZipInfo("u.txt")
        name = "other.txt".encode()
        info.extra = struct.pack("<HHBL", 0x7075, 5 + len(name), 1, zlib.crc32(b"u.txt")) + name
        z.writestr(info, b"u")
    with zipfile.ZipFile(tmp_path / "n.zip", "w") as z:
        z.writestr("a#NUL#b.txt", b"n")        # zipfile cuts a name at a NUL: patched in below
    raw = (tmp_path / "n.zip").read_bytes().replace(b"a#NUL#b.txt", b"a\x00\x00\x00\x00\x00b.txt")
    (tmp_path / "n.zip").write_bytes(raw)
    (tmp_path / "cut.zip").write_bytes((tmp_path / "t.zip").read_bytes()[:-30])
    (tmp_path / "no.zip").write_bytes(b"not a zip at all" * 10)
    for name in ("p.zip", "u.zip", "n.zip", "cut.zip", "no.zip"):
        assert _fast_directory(tmp_path / name) is None, name


def test_fast_central_directory_defers_to_zipfile_for_other_methods(tmp_path):
    """The bzip2 and lzma members (open() is zipfile's) and a truncated archive's error."""
    archive = crafted(tmp_path / "a.zip")
    src = _unzip.Archive(archive)
    try:
        from ioring import _zipdir
        assert isinstance(src.zf, _zipdir.Directory)
        with src.zf.open(src.zf.getinfo("pkg/lzma.txt")) as f:
            assert f.read() == b"lzma " * 3000
        assert src.zf.read(src.zf.getinfo("pkg/bz2.txt")) == b"bzip2 " * 3000
        with pytest.raises(KeyError):
            src.zf.getinfo("missing")
    finally:
        src.close()
    (tmp_path / "cut.zip").write_bytes(archive.read_bytes()[:-30])
    with pytest.raises(zipfile.BadZipFile):
        F.extract_zip(tmp_path / "cut.zip", tmp_path / "out")


@pytest.mark.parametrize("threads", [1, 4])
def test_crafted_archive_matches_zipfile(tmp_path, writer, threads):
    archive = crafted(tmp_path / "a.zip")
    before = fds()
    paths = F.extract_zip(archive, tmp_path / "ours", threads=threads)
    assert fds() == before
    assert tree(tmp_path / "ours") == zipfile_tree(archive, tmp_path / "theirs")
    with zipfile.ZipFile(archive) as z:
        names = list(dict.fromkeys(n.rstrip("/") for n in z.namelist()))
    assert paths == [os.path.join(str(tmp_path / "ours"), n) for n in names]
    assert stat.S_IMODE((tmp_path / "ours/bin/tool").stat().st_mode) == 0o755 & ~umask()
    assert (tmp_path / "ours/pkg/link").read_bytes() == b"stored/target"    # as zipfile does


def test_data_descriptors_and_a_leading_stub(tmp_path, writer):
    """Members written to an unseekable stream (sizes and CRC after the data, flag bit 3),
    and an archive with bytes before it (header offsets shifted, as zipfile handles)."""
    raw = Unseekable()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(20):
            z.writestr(f"d/{i}.txt", b"descriptor %d " % i * 400)
        z.writestr("d/big.bin", os.urandom(3 << 20))
    archive = tmp_path / "dd.zip"
    archive.write_bytes(b"#!/bin/sh\nexit 0\n" * 100 + raw.buf.getvalue())
    with zipfile.ZipFile(archive) as z:
        assert all(i.flag_bits & 0x8 for i in z.infolist())
    F.extract_zip(archive, tmp_path / "ours")
    assert tree(tmp_path / "ours") == zipfile_tree(archive, tmp_path / "theirs")


def test_file_objects_and_empty_members(tmp_path):
    archive = crafted(tmp_path / "a.zip")
    expected = zipfile_tree(archive, tmp_path / "theirs")
    with open(archive, "rb") as f:                  # a real file: positional reads of its fd
        F.extract_zip(f, tmp_path / "from_file")
        assert not f.closed
    F.extract_zip(io.BytesIO(archive.read_bytes()), tmp_path / "from_bytesio")

    class Opaque(io.RawIOBase):                     # neither fileno() nor getbuffer()
        def __init__(self, data):
            self.f = io.BytesIO(data)

        def readable(self):
            return True

        def seekable(self):
            return True

        def readinto(self, b):
            return self.f.readinto(b)

        def seek(self, *a):
            return self.f.seek(*a)

        def tell(self):
            return self.f.tell()

    F.extract_zip(io.BufferedReader(Opaque(archive.read_bytes())), tmp_path / "from_opaque")
    for d in ("from_file", "from_bytesio", "from_opaque"):
        assert tree(tmp_path / d) == expected, d


def test_progress_counts_every_byte_from_the_calling_thread(tmp_path):
    import threading
    archive = crafted(tmp_path / "a.zip")
    seen = []
    F.extract_zip(archive, tmp_path / "out", threads=3,
                  progress=lambda d, t: seen.append((d, t, threading.get_ident())))
    with zipfile.ZipFile(archive) as z:
        last = {}
        for i in z.infolist():
            if not i.is_dir():
                last[i.filename] = i.file_size
        total = sum(last.values())
    assert seen[-1][:2] == (total, total)
    assert {s[2] for s in seen} == {threading.get_ident()}
    assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:]))


# ---- real wheels ----------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def real_wheels(tmp_path_factory):
    """Wheels pip downloads (network: PyPI): pip's own (pure Python, ~1000 members, console
    scripts) and numpy's (extension modules, members over 1 MiB)."""
    where = tmp_path_factory.mktemp("wheels")
    result = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                             "--only-binary", ":all:", "-d", str(where), "pip", "numpy"],
                            capture_output=True, text=True, timeout=600)
    wheels = sorted(where.glob("*.whl"))
    if result.returncode != 0 or len(wheels) < 2:
        pytest.skip(f"pip download failed (no network?): {result.stderr.strip()[-300:]}")
    return wheels


def test_real_wheels_match_zipfile(tmp_path, real_wheels):
    for i, wheel in enumerate(real_wheels):
        ours, theirs = tmp_path / f"ours{i}", tmp_path / f"theirs{i}"
        F.extract_zip(wheel, ours)
        assert tree(ours) == zipfile_tree(wheel, theirs), wheel.name


TORCH = sorted(pathlib.Path("/opt/wheels").glob("torch-*.whl"))


@pytest.mark.slow
@pytest.mark.skipif(not TORCH, reason="no torch wheel in /opt/wheels on this machine")
def test_torch_wheel_matches_zipfile(tmp_path):
    """The issue's wheel: 12,248 members, 667 MiB, one member of 414 MiB (streamed)."""
    F.extract_zip(TORCH[0], tmp_path / "ours")
    assert tree(tmp_path / "ours") == zipfile_tree(TORCH[0], tmp_path / "theirs")


# ---- corruption -----------------------------------------------------------------------------------

def _flip(path, name, at):
    """Flip a byte ``at`` bytes into the data of member ``name``."""
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(name)
    fields = _unzip._LOCAL_HEADER.unpack_from(raw, info.header_offset)
    start = info.header_offset + 30 + fields[9] + fields[10]
    raw[start + at] ^= 0x55
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("member, method, size", [
    ("small.bin", zipfile.ZIP_STORED, 5000),
    ("big.bin", zipfile.ZIP_STORED, 3 << 20),
    ("small_deflated.bin", zipfile.ZIP_DEFLATED, 5000),     # level 0: deflate's stored blocks
    ("big_deflated.bin", zipfile.ZIP_DEFLATED, 3 << 20),
])
def test_crc_mismatch_is_detected(tmp_path, writer, member, method, size):
    """A byte changed in a member's data (with a valid deflate stream still) is caught by the
    CRC-32, whether the member is inflated whole or streamed."""
    archive = tmp_path / "crc.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("ok.txt", b"fine")
        z.writestr(member, os.urandom(size), compress_type=method, compresslevel=0)
    _flip(archive, member, size // 2)
    with pytest.raises(zipfile.BadZipFile, match=f"Bad CRC-32 for file '{member}'"):
        F.extract_zip(archive, tmp_path / "out")
    with zipfile.ZipFile(archive) as z, pytest.raises(zipfile.BadZipFile, match="Bad CRC-32"):
        z.read(member)                            # zipfile agrees


def _patch_sizes(path, name, size):
    """Declare ``size`` as the uncompressed size of ``name`` (local and central headers)."""
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(name)
    struct.pack_into("<L", raw, info.header_offset + 22, size)
    i = raw.find(b"PK\x01\x02")
    while i >= 0:
        nlen = struct.unpack_from("<H", raw, i + 28)[0]
        if raw[i + 46:i + 46 + nlen] == name.encode():
            struct.pack_into("<L", raw, i + 24, size)
        i = raw.find(b"PK\x01\x02", i + 46)
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("actual", [5000, 3 << 20])
def test_member_larger_than_declared_is_refused(tmp_path, actual):
    """The central directory says 1000 bytes, the data inflates to more: refused once the
    declared size is passed (memory stays bounded by it), inflated whole or streamed."""
    archive = tmp_path / "liar.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("liar.bin", os.urandom(actual))
    _patch_sizes(archive, "liar.bin", 1000 if actual < 100000 else (1 << 20) + 5)
    with pytest.raises(zipfile.BadZipFile, match="more than the .* bytes it declares"):
        F.extract_zip(archive, tmp_path / "out")


def test_member_shorter_than_declared_is_refused(tmp_path):
    archive = tmp_path / "short.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("short.bin", b"abc" * 1000)
    _patch_sizes(archive, "short.bin", 3001)
    with pytest.raises(zipfile.BadZipFile, match="ends before the 3001 bytes"):
        F.extract_zip(archive, tmp_path / "out")


@pytest.mark.parametrize("name", [
    "a", "a/b.py", "pkg/", "pkg/sub/mod.py", "a..b/c", "a/.hidden", ".hidden", "a/b/", "x:y",
    "./a", "a/./b", "a//b", "a/.", ".", "./", "", "/", "a\\b", "C:/evil", "c:evil",
    "../evil", "a/../b", "a/..", "..", "/abs", "\\abs", "a\x00b", "é/ü.txt", "a/b/./"])
def test_member_rel_agrees_with_member_parts(name):
    """The quick look of member_rel gives what the general rule gives, errors included."""
    try:
        expected = "/".join(_unzip.member_parts(name))
    except ValueError as exc:
        with pytest.raises(ValueError) as info:
            _unzip.member_rel(name)
        assert str(info.value) == str(exc)
    else:
        assert _unzip.member_rel(name) == expected


def test_local_name_must_match_the_central_directory(tmp_path):
    archive = tmp_path / "names.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("aaaa.txt", b"one")
    raw = bytearray(archive.read_bytes())
    raw[30:34] = b"bbbb"                              # the local header's copy of the name
    archive.write_bytes(bytes(raw))
    with pytest.raises(zipfile.BadZipFile, match="differ"):
        F.extract_zip(archive, tmp_path / "out")


# ---- zip bombs ------------------------------------------------------------------------------------

def _zeros_zip(path, size, name="zeros.bin"):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open(name, "w", force_zip64=True) as f:
            chunk = bytes(1 << 20)
            for _ in range(size >> 20):
                f.write(chunk)
    return path


def test_high_ratio_member_is_refused_before_anything_is_written(tmp_path):
    archive = _zeros_zip(tmp_path / "bomb.zip", 64 << 20)
    with zipfile.ZipFile(archive, "a") as z:
        z.writestr("first.txt", b"harmless")
    dest = tmp_path / "dest"
    with pytest.raises(zipfile.BadZipFile, match=r"zeros.bin.*\d+:1, above max_ratio=200.*"
                                                 r"max_ratio=None"):
        F.extract_zip(archive, dest)
    assert not dest.exists()
    with pytest.raises(zipfile.BadZipFile, match="max_ratio=50"):
        F.extract_zip(_zeros_zip(tmp_path / "b2.zip", 2 << 20), dest, max_ratio=50)
    F.extract_zip(archive, dest, max_ratio=None)            # trusted: lifted
    assert (dest / "zeros.bin").stat().st_size == 64 << 20
    with pytest.raises(ValueError, match="max_ratio"):
        F.extract_zip(archive, dest, max_ratio=0)


def test_many_high_ratio_members_are_refused_as_a_whole(tmp_path):
    """Each member under the 1 MiB grace, the archive as a whole above max_ratio."""
    archive = tmp_path / "many.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(40):
            z.writestr(f"z{i}", bytes(1 << 20))
    with pytest.raises(zipfile.BadZipFile, match="the archive would inflate"):
        F.extract_zip(archive, tmp_path / "out")


def test_impossible_declared_size_is_refused_even_without_ratio_limit(tmp_path):
    archive = tmp_path / "huge.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("huge.bin", b"x" * 1000)
    _patch_sizes(archive, "huge.bin", 2_000_000_000)
    with pytest.raises(zipfile.BadZipFile, match="more than deflate can produce"):
        F.extract_zip(archive, tmp_path / "out", max_ratio=None)
    assert not (tmp_path / "out").exists()


def test_overlapping_members_are_refused(tmp_path):
    """The non-recursive zip bomb: many central-directory entries pointing at one member's
    data (here: a second entry with the first one's header offset)."""
    archive = tmp_path / "overlap.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.bin", b"a" * 100000)
        z.writestr("b.bin", b"b" * 100000)
    raw = bytearray(archive.read_bytes())
    second = raw.find(b"PK\x01\x02", raw.find(b"PK\x01\x02") + 4)
    struct.pack_into("<L", raw, second + 42, 0)       # b.bin's local header offset -> a.bin's
    archive.write_bytes(bytes(raw))
    with pytest.raises(zipfile.BadZipFile, match="Overlapped entries"):
        F.extract_zip(archive, tmp_path / "out", max_ratio=None)
    assert not (tmp_path / "out").exists()


# ---- memory, interruption -------------------------------------------------------------------------

def _child(code, timeout=300):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout, env=env)


def test_memory_does_not_grow_with_member_size(tmp_path):
    """A 400 MiB member (zeros) and a 48 MiB incompressible one: the peak RSS of a fresh
    process grows by less than 64 MiB (the old engine held whole members: ~500 MiB)."""
    archive = _zeros_zip(tmp_path / "zeros.zip", 400 << 20)
    with zipfile.ZipFile(archive, "a") as z:
        z.writestr("random.bin", os.urandom(48 << 20))
    # VmHWM: this process's own peak (getrusage's ru_maxrss also counts the peak of the
    # process it was spawned from, pytest here, which could hide a growth below it).
    out = _child(f"""
        import ioring.files as F
        def peak():
            with open("/proc/self/status") as f:
                return next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))
        before = peak()
        F.extract_zip({str(archive)!r}, {str(tmp_path / 'out')!r}, max_ratio=None)
        print((peak() - before) // 1024)
    """)
    assert out.returncode == 0, out.stderr
    growth = int(out.stdout)
    if not os.environ.get("IORING_SANITIZED"):      # ASan's quarantine keeps freed memory
        assert growth < 64, f"peak RSS grew by {growth} MiB"
    assert (tmp_path / "out/zeros.bin").stat().st_size == 400 << 20


def test_ctrl_c_leaves_nothing_open(tmp_path):
    """SIGINT in the middle of a long extraction (4 threads, each streaming a 64 MiB member
    while the calling thread's progress callback sleeps 5 ms per chunk), at three delays:
    KeyboardInterrupt, every worker thread gone, every fd (rings, files, archive) closed."""
    archive = tmp_path / "long.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(4):
            with z.open(f"zeros{i}.bin", "w") as f:
                for _ in range(64):
                    f.write(bytes(1 << 20))
        for i in range(500):
            z.writestr(f"f/{i % 30}/{i}.txt", b"%d " % i * 2000)
    out = _child(f"""
        import os, shutil, signal, threading, time, ioring.files as F
        before = sorted(os.listdir("/proc/self/fd"))
        signal.signal(signal.SIGALRM, lambda *a: os.kill(os.getpid(), signal.SIGINT))
        for delay in (0.05, 0.1, 0.2):
            try:
                signal.setitimer(signal.ITIMER_REAL, delay)
                F.extract_zip({str(archive)!r}, {str(tmp_path / 'out')!r}, threads=4,
                              max_ratio=None, progress=lambda d, t: time.sleep(0.005))
            except KeyboardInterrupt:
                print("interrupted", threading.active_count(),
                      sorted(os.listdir("/proc/self/fd")) == before)
            else:
                print("completed")
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            shutil.rmtree({str(tmp_path / 'out')!r}, ignore_errors=True)
    """)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["interrupted 1 True"] * 3, out.stdout


def test_ctrl_c_while_waiting_for_the_other_threads(tmp_path, monkeypatch):
    """The calling thread, done with its units, waits for the others and reports progress:
    Ctrl-C there (here: raised by the progress callback) stops and joins them, closes every
    fd, then propagates. (It used to escape the wait, leaving a thread writing and an fd.)"""
    import threading
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("big.bin", os.urandom(24 << 20))
        for i in range(200):
            z.writestr(f"s/{i}.txt", b"small %d" % i * 100)
    real = _unzip._work

    def calling_thread_takes_nothing(r, index, progress):
        if index:
            real(r, index, progress)

    monkeypatch.setattr(_unzip, "_work", calling_thread_takes_nothing)

    def progress(done, total):
        raise KeyboardInterrupt

    before, threads = fds(), threading.active_count()
    with pytest.raises(KeyboardInterrupt):
        F.extract_zip(archive, tmp_path / "out", threads=2, progress=progress)
    assert threading.active_count() == threads
    assert fds() == before


def test_ctrl_c_while_a_thread_starts(tmp_path, monkeypatch):
    """SIGINT arriving while the calling thread starts the others (Thread.start waits for the
    new thread): KeyboardInterrupt, and no thread left running, no fd left open. (The handler
    used to raise inside Thread.start, before the thread was recorded: it was never joined.)"""
    import signal
    import threading
    import time
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(4):
            z.writestr(f"big{i}.bin", os.urandom(2 << 20))
    real_start = threading.Thread.start

    def start_then_sigint(self):
        real_start(self)
        if self.name.startswith("ioring-unzip-"):
            # to this thread (with pytest-xdist another thread could take a process-wide one)
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
            time.sleep(0.05)        # Python code: the handler runs here unless SIGINT is blocked

    monkeypatch.setattr(threading.Thread, "start", start_then_sigint)
    before, threads = fds(), threading.active_count()
    with pytest.raises(KeyboardInterrupt):
        F.extract_zip(archive, tmp_path / "out", threads=4)
    assert threading.active_count() == threads
    assert fds() == before


def test_threads_import_nothing(tmp_path):
    """The threads import no module: each used to import hashlib when it began a streamed
    member; after Ctrl-C had interrupted that import in the calling thread (its module lock
    left taken), the next extraction's threads waited for the lock forever, and the calling
    thread for them."""
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(3):
            z.writestr(f"big{i}.bin", os.urandom(2 << 20))
        for i in range(50):
            z.writestr(f"s/{i}.txt", b"small %d" % i * 50)
    for hashing in (False, True):       # install_wheel hashes what it writes
        out = _child(f"""
            import os, sys, threading
            from ioring import _unzip
            seen = []
            sys.addaudithook(lambda event, args: event == "import" and
                             seen.append((threading.current_thread().name, args[0])))
            src = _unzip.Archive({str(archive)!r})
            infos = [i for i in src.zf.infolist()]
            ends = _unzip.check_archive(src.zf, None)
            members = [_unzip.Member(j, i, i.filename, 0o644, ends[i.header_offset])
                       for j, i in enumerate(infos)]
            dest = {str(tmp_path / f"out{hashing}")!r}
            os.makedirs(dest)
            _unzip.make_dirs(dest, _unzip.parent_dirs(m.rel for m in members))
            _unzip.run(src, dest, members, threads=3, hashing={hashing})
            print([s for s in seen if s[0] != "MainThread"])
        """)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "[]"


def test_no_fd_or_thread_leak_over_many_runs(tmp_path):
    import threading
    archive = crafted(tmp_path / "a.zip")
    before, threads = fds(), threading.active_count()
    for i in range(5):
        F.extract_zip(archive, tmp_path / f"o{i}", threads=3)
    with pytest.raises(zipfile.BadZipFile):
        _flip(archive, "pkg/big_stored.bin", 100)
        F.extract_zip(archive, tmp_path / "bad", threads=3)
    assert fds() == before
    assert threading.active_count() == threads


def test_unwritable_member_does_not_stop_the_others(tmp_path, writer):
    """A directory where a big (streamed) member should go: that member fails (EISDIR), the
    others are written, the error names it."""
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("big.bin", os.urandom(2 << 20))
        for i in range(10):
            z.writestr(f"s{i}.txt", b"small")
    (tmp_path / "out" / "big.bin").mkdir(parents=True)
    with pytest.raises(IsADirectoryError) as info:
        F.extract_zip(archive, tmp_path / "out", threads=2)
    assert info.value.filename == str(tmp_path / "out" / "big.bin")
    assert info.value.errno == errno.EISDIR
    assert (tmp_path / "out" / "s9.txt").read_bytes() == b"small"


# ---- the inflater -------------------------------------------------------------------------------

def test_inflater_is_the_fastest_importable_and_shown_by_info():
    names = [c[0] for c in _inflate.CANDIDATES]
    assert names == ["isal", "zlib-ng", "zlib"]
    if not os.environ.get("IORING_INFLATER"):
        for name, module, _ in _inflate.CANDIDATES:
            try:
                __import__(module)
            except ImportError:
                continue
            assert _inflate.NAME == name
            break
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-m", "ioring", "info"], capture_output=True, text=True,
                         env=env, timeout=60)
    assert f"zip inflater: {_inflate.NAME} {_inflate.VERSION}" in out.stdout


def test_inflater_round_trip():
    data = os.urandom(1000) + bytes(100000)
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    raw = c.compress(data) + c.flush()
    d = _inflate.decompressobj()
    assert d.decompress(raw, len(data) + 1) == data and d.eof
    assert _inflate.crc32(data) == zlib.crc32(data)
    assert _inflate.crc32(data[500:], _inflate.crc32(data[:500])) == zlib.crc32(data)


def test_fallback_to_zlib_when_the_fast_inflaters_cannot_be_imported(tmp_path):
    """isal and zlib_ng blocked from importing (sys.modules[...] = None): zlib is used, the
    result is the same, and `python -m ioring info` says so."""
    archive = crafted(tmp_path / "a.zip")
    out = _child(f"""
        import sys
        sys.modules["isal"] = sys.modules["isal.isal_zlib"] = None
        sys.modules["zlib_ng"] = sys.modules["zlib_ng.zlib_ng"] = None
        from ioring import _inflate
        import ioring.files as F
        print(_inflate.NAME)
        F.extract_zip({str(archive)!r}, {str(tmp_path / 'ours')!r})
        from ioring.__main__ import main
        main(["info"])
    """)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == "zlib"
    assert "zip inflater: zlib " in out.stdout
    assert tree(tmp_path / "ours") == zipfile_tree(archive, tmp_path / "theirs")


def test_inflater_can_be_forced_and_a_bad_name_is_refused(tmp_path):
    out = _child("from ioring import _inflate; print(_inflate.NAME, _inflate.describe())")
    assert out.returncode == 0
    env_zlib = dict(os.environ, PYTHONPATH=str(ROOT), IORING_INFLATER="zlib")
    r = subprocess.run([sys.executable, "-c", "from ioring import _inflate; print(_inflate.NAME)"],
                       capture_output=True, text=True, env=env_zlib, timeout=60)
    assert r.stdout.strip() == "zlib"
    env_bad = dict(env_zlib, IORING_INFLATER="brotli")
    r = subprocess.run([sys.executable, "-c", "from ioring import _inflate"], capture_output=True,
                       text=True, env=env_bad, timeout=60)
    assert r.returncode != 0 and "IORING_INFLATER='brotli': choose one of isal, zlib-ng, zlib" in r.stderr


# ---- command line ---------------------------------------------------------------------------------

def test_cli_unzip_max_ratio_and_threads(tmp_path):
    archive = _zeros_zip(tmp_path / "z.zip", 8 << 20)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    run = lambda *a: subprocess.run([sys.executable, "-m", "ioring", "unzip", *a],  # noqa: E731
                                    capture_output=True, text=True, env=env, timeout=60)
    r = run(str(archive), str(tmp_path / "o1"), "-q")
    assert r.returncode == 1 and "max_ratio" in r.stderr and "--max-ratio 0" in r.stderr
    r = run(str(archive), str(tmp_path / "o2"), "-q", "--max-ratio", "0", "--threads", "2")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "o2/zeros.bin").stat().st_size == 8 << 20


def test_threads_argument_is_checked(tmp_path):
    archive = crafted(tmp_path / "a.zip")
    with pytest.raises(ValueError, match="threads must be >= 1"):
        F.extract_zip(archive, tmp_path / "out", threads=0)


def test_default_max_ratio_is_the_engines():
    """files and the command line repeat the engine's default (so that importing them does not
    load the engine): they must agree."""
    import argparse
    import inspect
    from ioring import _cli_files, _cli_install
    assert inspect.signature(F.extract_zip).parameters["max_ratio"].default == \
        _unzip.DEFAULT_MAX_RATIO
    assert inspect.signature(F.install_wheel).parameters["max_ratio"].default == \
        _unzip.DEFAULT_MAX_RATIO
    sub = argparse.ArgumentParser().add_subparsers()
    _cli_files.add_subcommands(sub)
    _cli_install.add_subcommands(sub)
    assert sub.choices["unzip"].parse_args(["a", "b"]).max_ratio == _unzip.DEFAULT_MAX_RATIO
    assert sub.choices["install"].parse_args(["w", "-t", "d"]).max_ratio == \
        _unzip.DEFAULT_MAX_RATIO


def _threaded_archive(path, under):
    """Streams (over 1 MiB) and batches of small members, all below ``under``/: with threads=2
    the other thread inflates while the calling thread makes the directories."""
    rnd = __import__("random").Random(16)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(f"{under}/big0.bin", rnd.randbytes(3 << 20))
        z.writestr(f"{under}/big1.txt", b"".join(b"%08d line\n" % i for i in range(300000)))
        for i in range(400):
            z.writestr(f"{under}/d{i % 9}/f{i}.txt", rnd.randbytes(2000 + i))
    return path


@pytest.mark.parametrize("blocked", ["symlink", "file"])
def test_threads_write_nothing_when_the_directories_are_refused(tmp_path, writer, blocked):
    """run() starts its threads before it makes the directories (they inflate meanwhile): when
    a directory is refused, no file may have been written, inside dest or outside it."""
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "dest"
    dest.mkdir()
    if blocked == "symlink":
        (dest / "pkg").symlink_to(outside)
    else:
        (dest / "pkg").write_bytes(b"a file where the archive wants a directory")
    archive = _threaded_archive(tmp_path / "a.zip", "pkg")
    with pytest.raises(ValueError if blocked == "symlink" else NotADirectoryError):
        F.extract_zip(archive, dest, threads=2)
    assert list(outside.iterdir()) == []
    assert sorted(os.listdir(dest)) == ["pkg"]
    if blocked == "file":
        assert (dest / "pkg").read_bytes() == b"a file where the archive wants a directory"


def test_threads_wait_for_the_directories(tmp_path, writer, monkeypatch):
    """make_dirs slowed down: the threads inflate, then write once every directory exists;
    the tree is zipfile's."""
    import time
    archive = _threaded_archive(tmp_path / "a.zip", "pkg")
    made = _unzip.make_dirs

    def slow(dest, dirs):
        time.sleep(0.3)
        made(dest, dirs)
    monkeypatch.setattr(_unzip, "make_dirs", slow)
    F.extract_zip(archive, tmp_path / "ours", threads=2)
    assert tree(tmp_path / "ours") == zipfile_tree(archive, tmp_path / "theirs")


def test_gc_is_paused_during_the_call_and_restored(tmp_path):
    import gc
    archive = crafted(tmp_path / "a.zip")
    seen = []
    assert gc.isenabled()
    try:
        F.extract_zip(archive, tmp_path / "a", progress=lambda done, total: seen.append(
            gc.isenabled()))
        assert seen and not any(seen)
        assert gc.isenabled()
        with pytest.raises(zipfile.BadZipFile):       # restored when it raises too
            F.extract_zip(archive, tmp_path / "b", max_ratio=0.5)
        assert gc.isenabled()
        gc.disable()                                    # the caller's choice is kept
        F.extract_zip(archive, tmp_path / "c")
        assert not gc.isenabled()
    finally:
        gc.enable()
