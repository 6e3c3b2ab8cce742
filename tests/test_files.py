"""ioring.files (read_files, write_files, copy_file, extract_zip), the progress bar and the
``cp``/``unzip`` command-line tools, checked against what is on disk afterwards."""
import array
import errno
import filecmp
import inspect
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
from ioring._progress import Progress, human_bytes

from helpers import IS_ROOT, run_cli, run_unprivileged

SMALL = F._READ_BUFFER


def umask():
    old = os.umask(0)
    os.umask(old)
    return old


@pytest.fixture(params=["c", "ring", "plain"])
def engine(request, monkeypatch):
    """Run a test with io_uring (``c``: the loops in C, ioring._fileops; ``ring``: without
    _fileops, write_files' Python engine over the thin layer (``_Writer``), read_files' plain
    loop), and once more with the plain-Python fallback that kernels without
    IORING_FEAT_LINKED_FILE (or with io_uring disabled) get (docs/FILES.md)."""
    if request.param in ("ring", "plain"):
        monkeypatch.setattr(F, "_fileops", None)
    if request.param == "plain":
        monkeypatch.setattr(F, "_open_ring", lambda entries: None)
    return request.param


def immutable(path):
    """chattr +i ``path`` (fails even for root: EPERM), or skip where that is not possible."""
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed")
    r = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
    if r.returncode:
        pytest.skip(f"chattr +i not possible here: {r.stderr.strip()}")


def mutable(path):
    subprocess.run(["chattr", "-i", str(path)], capture_output=True)


def payload(i, size):
    return (i.to_bytes(4, "little") * (size // 4 + 1))[:size]


# ---- read_files ---------------------------------------------------------------------------------

def test_read_files_many_small(tmp_path, engine):
    expected = {}
    for i in range(2000):
        p = tmp_path / f"f{i}"
        expected[str(p)] = payload(i, (i * 37) % 5000)
        p.write_bytes(expected[str(p)])
    out = F.read_files(list(expected))
    assert out == list(expected.values())
    assert all(type(b) is bytes for b in out)


@pytest.mark.parametrize("size", [0, 1, 4095, 4096, SMALL - 1, SMALL, SMALL + 1, 3 << 20])
def test_read_files_sizes_around_the_buffer(tmp_path, size):
    paths = []
    for i in range(6):                      # enough files to take the ring path
        p = tmp_path / f"f{i}"
        p.write_bytes(os.urandom(size))
        paths.append(p)
    out = F.read_files(paths)
    assert [len(b) for b in out] == [size] * 6
    assert out == [p.read_bytes() for p in paths]


def test_read_files_order_duplicates_and_path_types(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"A" * 10)
    b.write_bytes(b"B" * 20)
    paths = [a, str(b), bytes(a), b, a, str(a)]
    assert F.read_files(paths) == [b"A" * 10, b"B" * 20, b"A" * 10, b"B" * 20, b"A" * 10, b"A" * 10]
    assert F.read_files([]) == []
    assert F.read_files([a]) == [b"A" * 10]       # below the batch threshold: plain path


def test_read_files_missing_file_names_the_path(tmp_path, engine):
    good = []
    for i in range(10):
        (tmp_path / f"g{i}").write_bytes(b"x" * i)
        good.append(tmp_path / f"g{i}")
    missing = tmp_path / "missing"
    with pytest.raises(FileNotFoundError) as info:
        F.read_files([*good[:5], missing, *good[5:], tmp_path])
    exc = info.value
    assert exc.errno == errno.ENOENT
    assert exc.filename == str(missing)
    assert str(missing) in str(exc)
    # every failure is listed, in input order: the missing file, then the directory
    assert [e.filename for e in exc.errors] == [str(missing), str(tmp_path)]
    assert exc.errors[1].errno == errno.EISDIR
    assert "1 more path(s) failed" in exc.__notes__[0]


def test_read_files_on_two_threads_keeps_input_order_errors_and_big_files(tmp_path, engine):
    # 1,200 paths: read in two halves at once (files._SPLIT_BATCH); what the second half
    # reports (errors, files that filled the slot buffer) lands at its own index.
    paths, expected = [], []
    for i in range(1200):
        p = tmp_path / f"f{i}"
        data = payload(i, 40000 if i in (7, 900) else i % 3000)
        p.write_bytes(data)
        paths.append(p)
        expected.append(data)
    assert len(paths) >= F._SPLIT_BATCH
    assert F.read_files(paths) == expected
    broken = list(paths)
    broken[1000] = tmp_path / "missing"
    broken[100] = tmp_path                      # a directory: EISDIR, first half
    with pytest.raises(IsADirectoryError) as info:
        F.read_files(broken)
    assert [e.filename for e in info.value.errors] == [str(tmp_path), str(tmp_path / "missing")]


def test_read_files_single_missing_plain_path(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        F.read_files([tmp_path / "nope"])
    assert info.value.filename == str(tmp_path / "nope")


# ---- write_files --------------------------------------------------------------------------------

def test_write_files_2000_files(tmp_path, engine):
    files = {tmp_path / f"d{i % 13}" / f"f{i}": payload(i, 4096) for i in range(2000)}
    assert F.write_files(files) == 2000 * 4096
    for path, data in files.items():
        assert path.read_bytes() == data
    assert F.read_files(list(files)) == list(files.values())


def test_write_files_mixed_sizes_and_buffer_types(tmp_path, engine):
    files = {
        tmp_path / "empty": b"",
        tmp_path / "one": b"1",
        tmp_path / "bytearray": bytearray(b"ba" * 1000),
        tmp_path / "memoryview": memoryview(b"0123456789" * 500)[5:-5],
        tmp_path / "array": array.array("i", range(1000)),
        tmp_path / "big": os.urandom(20 << 20),
    }
    total = F.write_files(files)
    assert total == sum(memoryview(d).nbytes for d in files.values())
    for path, data in files.items():
        assert path.read_bytes() == bytes(memoryview(data).cast("B"))


def test_write_files_modes(tmp_path, engine):
    existing = tmp_path / "existing"
    existing.write_bytes(b"old contents, longer than the new ones")
    existing.chmod(0o600)
    files = {tmp_path / f"new{i}": b"new" for i in range(5)}
    files[existing] = b"new"
    F.write_files(files, mode=0o751)
    for i in range(5):
        assert stat.S_IMODE(os.stat(tmp_path / f"new{i}").st_mode) == 0o751 & ~umask()
    assert existing.read_bytes() == b"new"                      # truncated
    assert stat.S_IMODE(existing.stat().st_mode) == 0o600        # keeps its permissions


def test_write_files_fsync_and_pairs_last_wins(tmp_path, engine):
    pairs = [(tmp_path / f"f{i}", b"first") for i in range(6)] + [(tmp_path / "f3", b"second")]
    F.write_files(pairs, fsync=True)
    assert (tmp_path / "f3").read_bytes() == b"second"
    assert (tmp_path / "f0").read_bytes() == b"first"
    F.write_files({tmp_path / f"e{i}": b"" for i in range(6)}, fsync=True)
    assert (tmp_path / "e5").read_bytes() == b""


def test_write_files_splits_large_writes(tmp_path, monkeypatch):
    """A file larger than one write request is written by several linked writes."""
    monkeypatch.setattr(F, "_MAX_WRITE", 4096)
    files = {tmp_path / f"f{i}": os.urandom(4096 * 5 + i) for i in range(8)}
    for fsync in (False, True):
        F.write_files(files, fsync=fsync)
        for path, data in files.items():
            assert path.read_bytes() == data


def test_write_files_missing_parent_without_makedirs(tmp_path, engine):
    files = {tmp_path / f"ok{i}": b"ok" for i in range(6)}
    bad = tmp_path / "no" / "such" / "dir" / "f"
    files[bad] = b"x"
    with pytest.raises(FileNotFoundError) as info:
        F.write_files(files, makedirs=False)
    assert info.value.filename == str(bad)
    for i in range(6):                          # the others were written
        assert (tmp_path / f"ok{i}").read_bytes() == b"ok"


def test_write_files_unwritable_destinations(tmp_path, engine):
    (tmp_path / "a_file").write_bytes(b"")
    (tmp_path / "a_dir").mkdir()
    files = {tmp_path / f"ok{i}": b"ok" for i in range(6)}
    files[tmp_path / "a_dir"] = b"x"                     # a directory: EISDIR
    files[tmp_path / "a_file" / "child"] = b"x"         # under a regular file: ENOTDIR
    with pytest.raises(OSError) as info:
        F.write_files(files, makedirs=False)
    assert info.value.errno == errno.EISDIR
    assert info.value.filename == str(tmp_path / "a_dir")
    assert [(e.filename, e.errno) for e in info.value.errors] == [
        (str(tmp_path / "a_dir"), errno.EISDIR), (str(tmp_path / "a_file" / "child"), errno.ENOTDIR)]


def test_write_files_permission_denied(shared_tmp, engine):
    """A directory without write permission: EACCES for every file, each error naming its
    path and the request that failed ("open"). As root the check runs in a child that
    dropped to uid 65534."""
    locked = shared_tmp / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    files = {locked / f"f{i}": b"x" for i in range(6)}
    out = run_unprivileged(lambda: F.write_files(files))
    assert out[:4] == ("raised", "PermissionError", errno.EACCES, str(locked / "f0")), out
    if engine != "plain":
        assert "open" in out[4]                     # the request that failed
    assert out[5] == [(str(p), errno.EACCES) for p in files]
    assert not any(locked.iterdir())


def test_write_files_into_immutable_directory(tmp_path, engine):
    """chattr +i: creating a file fails with EPERM even for root."""
    frozen = tmp_path / "frozen"
    frozen.mkdir()
    immutable(frozen)
    try:
        files = {tmp_path / f"ok{i}": b"ok" for i in range(6)}
        files.update({frozen / f"f{i}": b"x" for i in range(3)})
        with pytest.raises(PermissionError) as info:
            F.write_files(files)
        assert info.value.errno == errno.EPERM
        assert info.value.filename == str(frozen / "f0")
        if engine != "plain":
            assert "open" in info.value.strerror
        assert [e.filename for e in info.value.errors] == [str(frozen / f"f{i}") for i in range(3)]
        assert not any(frozen.iterdir())
        assert all((tmp_path / f"ok{i}").read_bytes() == b"ok" for i in range(6))
    finally:
        mutable(frozen)


def test_write_files_over_immutable_file(tmp_path, engine):
    """An existing immutable file cannot be opened for writing (EPERM), even by root."""
    files = {tmp_path / f"f{i}": b"new" for i in range(6)}
    target = tmp_path / "f3"
    target.write_bytes(b"old")
    immutable(target)
    try:
        with pytest.raises(PermissionError) as info:
            F.write_files(files)
        assert (info.value.errno, info.value.filename) == (errno.EPERM, str(target))
        assert target.read_bytes() == b"old"
        assert (tmp_path / "f5").read_bytes() == b"new"
    finally:
        mutable(target)


def test_read_files_permission_denied(shared_tmp, engine):
    """An unreadable file among readable ones: EACCES naming it (uid 65534 when root)."""
    paths = []
    for i in range(6):
        p = shared_tmp / f"f{i}"
        p.write_bytes(payload(i, 100))
        p.chmod(0o644)
        paths.append(p)
    paths[2].chmod(0o000)
    out = run_unprivileged(lambda: F.read_files(paths))
    assert out[:4] == ("raised", "PermissionError", errno.EACCES, str(paths[2])), out
    if engine == "c":               # the plain loop (read_files' only other engine) names no request
        assert "open" in out[4]
    assert out[5] == [(str(paths[2]), errno.EACCES)]


def test_extract_zip_into_unwritable_directory(shared_tmp, engine):
    """extract_zip into a directory tree the user may not write: EACCES naming the member's
    destination path (uid 65534 when root)."""
    archive = shared_tmp / "a.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for i in range(6):
            z.writestr(f"m{i}.txt", b"member %d" % i)
    archive.chmod(0o644)
    dest = shared_tmp / "dest"
    dest.mkdir()
    dest.chmod(0o555)
    out = run_unprivileged(lambda: F.extract_zip(archive, dest))
    assert out[:4] == ("raised", "PermissionError", errno.EACCES, str(dest / "m0.txt")), out
    assert not any(dest.iterdir())


def test_write_files_short_write_is_an_error(tmp_path):
    """RLIMIT_FSIZE makes the kernel write less than asked: reported, not silently lost."""
    code = textwrap.dedent(f"""
        import os, resource, signal, sys
        import ioring.files as F
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))
        files = {{os.path.join({str(tmp_path)!r}, f"f{{i}}"): b"x" * (4096 if i else 20000) for i in range(6)}}
        try:
            F.write_files(files)
        except OSError as exc:
            print(exc.errno, exc.filename, len(exc.errors))
            sys.exit(0)
        sys.exit("no error")
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, env=_env())
    assert result.returncode == 0, result.stderr + result.stdout
    err, name, count = result.stdout.split()
    assert int(err) == errno.EIO and name == str(tmp_path / "f0") and count == "1"
    assert (tmp_path / "f1").read_bytes() == b"x" * 4096


def test_write_files_rejects_non_buffers(tmp_path):
    with pytest.raises(TypeError):
        F.write_files({tmp_path / f"f{i}": "text" for i in range(6)})
    assert not any(tmp_path.iterdir())


# ---- copy_file ----------------------------------------------------------------------------------

CHUNK = F._COPY_CHUNK


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 20 << 20])
def test_copy_file_sizes(tmp_path, size, engine):
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.write_bytes(os.urandom(size))
    src.chmod(0o640)
    assert F.copy_file(src, dst) == str(dst)
    assert dst.stat().st_size == size
    assert filecmp.cmp(src, dst, shallow=False)
    assert stat.S_IMODE(dst.stat().st_mode) == 0o640


def test_copy_file_larger_than_the_pool(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.write_bytes(os.urandom(5 * 4096 * 3 + 123))
    seen = []
    F.copy_file(src, dst, chunk_size=4096, queue_depth=3, progress=lambda d, t: seen.append((d, t)))
    assert filecmp.cmp(src, dst, shallow=False)
    assert seen[-1] == (src.stat().st_size, src.stat().st_size)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_copy_file_preserves_mode_over_an_existing_file(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.write_bytes(b"new")
    src.chmod(0o4755 if IS_ROOT else 0o755)
    dst.write_bytes(b"old and longer")
    dst.chmod(0o600)
    F.copy_file(src, dst)
    assert dst.read_bytes() == b"new"
    assert stat.S_IMODE(dst.stat().st_mode) == stat.S_IMODE(src.stat().st_mode)


def test_copy_file_errors(tmp_path):
    src = tmp_path / "src"
    src.write_bytes(b"data")
    with pytest.raises(FileNotFoundError) as info:
        F.copy_file(tmp_path / "missing", tmp_path / "dst")
    assert info.value.filename == str(tmp_path / "missing")
    with pytest.raises(FileNotFoundError) as info:
        F.copy_file(src, tmp_path / "no" / "dir" / "dst")
    assert info.value.filename == str(tmp_path / "no" / "dir" / "dst")
    with pytest.raises(shutil.SameFileError):
        F.copy_file(src, src)
    assert src.read_bytes() == b"data"
    with pytest.raises(IsADirectoryError):
        F.copy_file(tmp_path, tmp_path / "dst")
    (tmp_path / "a_dir").mkdir()
    with pytest.raises(IsADirectoryError) as info:          # an unwritable destination
        F.copy_file(src, tmp_path / "a_dir")
    assert info.value.filename == str(tmp_path / "a_dir")
    with pytest.raises(ValueError):
        F.copy_file(src, tmp_path / "dst", chunk_size=0)
    with pytest.raises(ValueError):
        F.copy_file(src, tmp_path / "dst", queue_depth=0)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(shutil.SpecialFileError):
        F.copy_file(fifo, tmp_path / "dst")


def test_copy_file_from_a_character_device(tmp_path):
    F.copy_file("/dev/null", tmp_path / "dst")
    assert (tmp_path / "dst").read_bytes() == b""


def test_copy_file_source_shorter_than_announced(tmp_path):
    """A source that shrank after fstat: short reads end the copy at the real end."""
    src, dst = tmp_path / "src", tmp_path / "dst"
    data = os.urandom(10000)
    src.write_bytes(data)
    fi = os.open(src, os.O_RDONLY)
    fo = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        F._copy_ring(fi, fo, 4096 * 10, str(src), str(dst), 4096, 4, None)
    finally:
        os.close(fi)
        os.close(fo)
    assert dst.read_bytes() == data


# ---- extract_zip --------------------------------------------------------------------------------

def build_wheel(path, n_modules=40):
    """A wheel-like archive: packages with subpackages, data, an executable script, stored
    and deflated members, an empty file, explicit directory entries and an empty directory."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("demo/__init__.py", b"VERSION = '1.0'\n")
        for i in range(n_modules):
            z.writestr(f"demo/sub{i % 4}/mod{i}.py", f"X = {i}\n".encode() * (i + 1))
        for i in range(4):
            z.writestr(f"demo/sub{i}/__init__.py", b"")
        z.writestr("demo/data/blob.bin", os.urandom(70000), compress_type=zipfile.ZIP_STORED)
        z.writestr("demo/data/zeros.bin", bytes(300000))
        script = zipfile.ZipInfo("demo-1.0.data/scripts/demo-run")
        script.external_attr = (stat.S_IFREG | 0o755) << 16
        script.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(script, b"#!/bin/sh\necho demo\n")
        private = zipfile.ZipInfo("demo/private.key")
        private.external_attr = (stat.S_IFREG | 0o4600) << 16     # setuid is dropped
        z.writestr(private, b"secret")
        z.writestr(zipfile.ZipInfo("demo/empty_dir/"), b"")
        dos = zipfile.ZipInfo("demo/no_unix_mode.txt")
        dos.create_system = 0
        dos.external_attr = 0x20                  # MS-DOS "archive" bit only: no Unix mode
        z.writestr(dos, b"default mode")
        z.writestr("demo-1.0.dist-info/METADATA", b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n")
        z.writestr("demo-1.0.dist-info/WHEEL", b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\n")
        z.writestr("demo-1.0.dist-info/RECORD", b"")
    return path


def tree(root):
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            out[os.path.relpath(os.path.join(dirpath, d), root)] = None
        for f in filenames:
            p = os.path.join(dirpath, f)
            out[os.path.relpath(p, root)] = pathlib.Path(p).read_bytes()
    return out


def test_extract_wheel_matches_zipfile(tmp_path, engine):
    wheel = build_wheel(tmp_path / "demo-1.0-py3-none-any.whl")
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    paths = F.extract_zip(wheel, ours)
    with zipfile.ZipFile(wheel) as z:
        z.extractall(theirs)
        names = z.namelist()
    assert tree(ours) == tree(theirs)
    assert paths == [os.path.join(str(ours), n.rstrip("/")) for n in names]
    assert (ours / "demo" / "empty_dir").is_dir()
    assert (ours / "demo" / "sub2" / "__init__.py").read_bytes() == b""
    mask = ~umask()
    assert stat.S_IMODE((ours / "demo-1.0.data/scripts/demo-run").stat().st_mode) == 0o755 & mask
    assert stat.S_IMODE((ours / "demo/private.key").stat().st_mode) == 0o600 & mask
    assert stat.S_IMODE((ours / "demo/__init__.py").stat().st_mode) == 0o600 & mask   # writestr's
    assert stat.S_IMODE((ours / "demo/no_unix_mode.txt").stat().st_mode) == 0o644 & mask


def test_extract_1000_members_from_a_file_object(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(1000):
            z.writestr(f"pkg/m{i % 17}/f{i}.txt", payload(i, i % 3000))
    seen = []
    paths = F.extract_zip(buf, str(tmp_path / "out"), progress=lambda d, t: seen.append((d, t)))
    assert len(paths) == 1000
    with zipfile.ZipFile(buf) as z:
        for info in z.infolist():
            assert (tmp_path / "out" / info.filename).read_bytes() == z.read(info)
        total = sum(i.file_size for i in z.infolist())
    assert seen[-1] == (total, total)


def test_extract_other_compressions_and_duplicates(tmp_path):
    path = tmp_path / "mixed.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("bz2.txt", b"bzip2 " * 1000, compress_type=zipfile.ZIP_BZIP2)
        z.writestr("lzma.txt", b"lzma " * 1000, compress_type=zipfile.ZIP_LZMA)
        z.writestr("dup.txt", b"first")
        z.writestr("stored.txt", b"stored", compress_type=zipfile.ZIP_STORED)
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")          # "Duplicate name"
            z.writestr("dup.txt", b"second")
    paths = F.extract_zip(path, tmp_path / "out")
    out = tmp_path / "out"
    assert (out / "bz2.txt").read_bytes() == b"bzip2 " * 1000
    assert (out / "lzma.txt").read_bytes() == b"lzma " * 1000
    assert (out / "dup.txt").read_bytes() == b"second"
    assert sorted(paths) == sorted(str(out / n) for n in ["bz2.txt", "lzma.txt", "dup.txt", "stored.txt"])


@pytest.mark.parametrize("evil", ["../evil.txt", "a/../../evil.txt", "/tmp/evil.txt", "..\\evil.txt",
                                  "C:/evil.txt", "a/b/../../../evil.txt"])
def test_extract_refuses_path_traversal(tmp_path, evil):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("good/first.txt", b"harmless")        # comes first: still nothing is written
        z.writestr(evil, b"pwned")
    dest = tmp_path / "dest" / "inner"
    before = set(os.listdir(tmp_path))
    existed = os.path.exists("/tmp/evil.txt")
    with pytest.raises(ValueError, match="evil"):
        F.extract_zip(archive, dest)
    assert set(os.listdir(tmp_path)) == before            # not even dest was created
    assert os.path.exists("/tmp/evil.txt") == existed


def test_extract_refuses_symlinks_out_of_dest(tmp_path, engine):
    outside = tmp_path / "outside"
    outside.mkdir()
    target = outside / "target.txt"
    target.write_bytes(b"original")
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "linkdir").symlink_to(outside)
    (dest / "linkfile").symlink_to(target)
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("linkdir/x.txt", b"pwned")
    with pytest.raises(ValueError, match="outside"):
        F.extract_zip(archive, dest)
    assert list(outside.iterdir()) == [target]
    with zipfile.ZipFile(archive, "w") as z:
        for i in range(5):
            z.writestr(f"ok{i}.txt", b"fine")
        z.writestr("linkfile", b"pwned")
    with pytest.raises(OSError) as info:
        F.extract_zip(archive, dest)
    assert info.value.errno in (errno.EXDEV, errno.ELOOP)
    assert info.value.filename == str(dest / "linkfile")
    assert target.read_bytes() == b"original"
    assert (dest / "ok4.txt").read_bytes() == b"fine"


def test_extract_through_symlinks_inside_dest_and_blocked_dirs(tmp_path, engine):
    dest = tmp_path / "dest"
    (dest / "real").mkdir(parents=True)
    (dest / "alias").symlink_to("real")                 # relative, stays inside dest
    (dest / "blocker").write_bytes(b"a file where the archive wants a directory")
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for i in range(5):
            z.writestr(f"alias/f{i}.txt", b"through the link")
    F.extract_zip(archive, dest)
    assert (dest / "real" / "f4.txt").read_bytes() == b"through the link"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("blocker/f.txt", b"x")
    with pytest.raises(NotADirectoryError) as info:
        F.extract_zip(archive, str(dest).encode())
    assert info.value.filename == str(dest / "blocker")


def test_extract_detects_corruption(tmp_path):
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.txt", b"hello world " * 100)
    raw = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as z:
        info = z.getinfo("a.txt")
    start = info.header_offset + 30 + len(b"a.txt") + 5
    raw[start] ^= 0xFF
    archive.write_bytes(bytes(raw))
    with pytest.raises(zipfile.BadZipFile):
        F.extract_zip(archive, tmp_path / "out")


def test_extract_into_a_file_fails(tmp_path):
    wheel = build_wheel(tmp_path / "demo.whl")
    (tmp_path / "not_a_dir").write_bytes(b"")
    with pytest.raises(FileExistsError):
        F.extract_zip(wheel, tmp_path / "not_a_dir")


def test_extract_empty_archive(tmp_path):
    archive = tmp_path / "empty.zip"
    zipfile.ZipFile(archive, "w").close()
    assert F.extract_zip(archive, tmp_path / "out") == []
    assert (tmp_path / "out").is_dir()


# ---- progress bar -------------------------------------------------------------------------------

class FakeTTY(io.StringIO):
    def __init__(self, tty):
        super().__init__()
        self.tty = tty

    def isatty(self):
        return self.tty


def test_progress_draws_only_on_a_terminal():
    quiet = FakeTTY(False)
    with Progress(100, "x", stream=quiet, delay=0) as bar:
        bar(50, 100)
    assert quiet.getvalue() == ""
    tty = FakeTTY(True)
    with Progress(100, "copy", stream=tty, delay=0, interval=3600) as bar:
        bar(10)
        bar(20)             # throttled
        bar(30)
    text = tty.getvalue()
    assert text.count("\r") == 2 and text.endswith("\n")     # first draw + final draw
    assert "copy" in text and "30%" in text


def test_progress_waits_for_long_work():
    tty = FakeTTY(True)
    with Progress(100, stream=tty, delay=3600) as bar:
        bar(100)
    assert tty.getvalue() == ""


def test_progress_render_fits_the_terminal():
    bar = Progress(1 << 30, "file.bin", enabled=False)
    bar.done = 1 << 29
    for columns in (20, 40, 80, 200):
        line = bar.render(columns=columns)
        assert len(line) < columns
    assert "50%" in bar.render(columns=80)
    assert human_bytes(1536) == "1.5 KiB" and human_bytes(10) == "10 B"


# ---- command line -------------------------------------------------------------------------------

def test_cli_cp_handler(tmp_path, capsys):
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(3 << 20))
    src.chmod(0o700)
    assert run_cli(["cp", str(src), str(tmp_path / "dst.bin"), "--chunk-size", "256K"]) == 0
    assert filecmp.cmp(src, tmp_path / "dst.bin", shallow=False)
    assert stat.S_IMODE((tmp_path / "dst.bin").stat().st_mode) == 0o700
    (tmp_path / "dir").mkdir()
    assert run_cli(["cp", "-v", str(src), str(tmp_path / "dir")]) == 0
    assert filecmp.cmp(src, tmp_path / "dir" / "src.bin", shallow=False)
    assert "src.bin" in capsys.readouterr().out
    assert run_cli(["cp", str(tmp_path / "missing"), str(tmp_path / "x")]) == 1
    assert "missing" in capsys.readouterr().err


def test_cli_unzip_handler(tmp_path, capsys):
    wheel = build_wheel(tmp_path / "demo.whl")
    assert run_cli(["unzip", "-v", str(wheel), str(tmp_path / "out")]) == 0
    captured = capsys.readouterr()
    assert str(tmp_path / "out" / "demo" / "__init__.py") in captured.out
    assert "entries extracted" in captured.err
    with zipfile.ZipFile(wheel) as z:
        z.extractall(tmp_path / "ref")
    assert tree(tmp_path / "out") == tree(tmp_path / "ref")
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("../evil", b"x")
    assert run_cli(["unzip", "-q", str(evil), str(tmp_path / "out2")]) == 1
    assert "traversal" in capsys.readouterr().err
    assert run_cli(["unzip", str(tmp_path / "nope.zip"), str(tmp_path / "out3")]) == 1


def _env():
    return dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(ioring.__file__)))


def _hooked():
    import ioring.__main__ as main
    return "_cli_files" in inspect.getsource(main)


needs_hook = pytest.mark.skipif(not _hooked(), reason="cp/unzip are not hooked into ioring/__main__.py yet")


@needs_hook
def test_cli_cp_subprocess(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(5 << 20))
    result = subprocess.run([sys.executable, "-m", "ioring", "cp", "src.bin", "dst.bin"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120, env=_env())
    assert result.returncode == 0, result.stderr
    assert filecmp.cmp(src, tmp_path / "dst.bin", shallow=False)
    assert result.stderr == ""                   # no progress bar: stderr is not a terminal
    result = subprocess.run([sys.executable, "-m", "ioring", "cp", "nope", "x"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120, env=_env())
    assert result.returncode == 1 and "nope" in result.stderr


@needs_hook
def test_cli_unzip_subprocess(tmp_path):
    build_wheel(tmp_path / "demo.whl")
    result = subprocess.run([sys.executable, "-m", "ioring", "unzip", "demo.whl", "site"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120, env=_env())
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(tmp_path / "demo.whl") as z:
        z.extractall(tmp_path / "ref")
    assert tree(tmp_path / "site") == tree(tmp_path / "ref")
    result = subprocess.run([sys.executable, "-m", "ioring", "--help"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120, env=_env())
    assert "unzip" in result.stdout and "cp" in result.stdout


# ---- ioring._fileops (write_files' C loop) --------------------------------------------------------

def _open_fds():
    return sorted(os.listdir("/proc/self/fd"))


def test_fileops_write_pipelined(tmp_path):
    from ioring import _fileops
    paths = [os.fsencode(tmp_path / f"f{i}") for i in range(200)]
    datas = [payload(i, i * 13) for i in range(200)]             # f0 is empty
    datas[7] = memoryview(bytearray(datas[7]))
    datas[8] = array.array("i", range(100))
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
    fds = _open_fds()
    for fsync in (False, True):
        for workers in (0, 1, 3):
            assert _fileops.write_pipelined(paths, datas, -100, 0o600, flags, slots=7,
                                            fsync=fsync, batch=3, max_workers=workers) == []
            for p, d in zip(paths, datas):
                assert pathlib.Path(os.fsdecode(p)).read_bytes() == bytes(d)
    assert stat.S_IMODE(os.stat(paths[1]).st_mode) == 0o600 & ~umask()
    assert _open_fds() == fds                                    # every fd closed
    # relative to a directory fd, failures reported as (index, errno, request)
    dfd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        (tmp_path / "d").mkdir()
        out = _fileops.write_pipelined([b"rel", b"d", b"no/such", b"rel2"],
                                       [b"a", b"b", b"c", b""], dfd, 0o644,
                                       os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        # openat2 with RESOLVE_BENEATH: nothing outside the directory
        beneath = _fileops.write_pipelined([b"in", b"../escape", b"/abs"], [b"x", b"y", b"z"],
                                           dfd, 0o644, os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                                           resolve=ioring.liburing.RESOLVE_BENEATH)
    finally:
        os.close(dfd)
    assert out == [(1, errno.EISDIR, "open"), (2, errno.ENOENT, "open")]
    assert (tmp_path / "rel").read_bytes() == b"a" and (tmp_path / "rel2").read_bytes() == b""
    assert beneath == [(1, errno.EXDEV, "open"), (2, errno.EXDEV, "open")]
    assert (tmp_path / "in").read_bytes() == b"x" and not (tmp_path.parent / "escape").exists()
    assert _open_fds() == fds
    assert _fileops.write_pipelined([], [], -100, 0o644, os.O_WRONLY) == []
    for bad in (0, 4097):
        with pytest.raises(ValueError, match="slots"):
            _fileops.write_pipelined([b"a"], [b"x"], -100, 0o644, os.O_WRONLY, slots=bad)
    with pytest.raises(TypeError):
        _fileops.write_pipelined(["str path"], [b"x"], -100, 0o644, os.O_WRONLY | os.O_CREAT)
    with pytest.raises(ValueError):
        _fileops.write_pipelined([b"a\0b"], [b"x"], -100, 0o644, os.O_WRONLY | os.O_CREAT)
    with pytest.raises(ValueError):
        _fileops.write_pipelined([b"a"], [b"x", b"y"], -100, 0o644, os.O_WRONLY | os.O_CREAT)
    with pytest.raises(TypeError):
        _fileops.write_pipelined([os.fsencode(tmp_path / "t")], ["text"], -100, 0o644,
                                 os.O_WRONLY | os.O_CREAT)
    assert not (tmp_path / "t").exists()


def test_fileops_write_pipelined_in_pieces(tmp_path):
    """max_write: each datum written as linked writes of at most that many bytes; the bytes
    are the same, with or without fsync; a datum needing too many pieces is refused."""
    from ioring import _fileops
    sizes = [0, 1, 4095, 4096, 4097, 12288, 12289, 100_000, 1 << 20]
    paths = [os.fsencode(tmp_path / f"p{i}") for i in range(len(sizes))]
    datas = [payload(i, n) for i, n in enumerate(sizes)]
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
    fds = _open_fds()
    for fsync in (False, True):
        for slots in (1, 4):
            assert _fileops.write_pipelined(paths, datas, -100, 0o644, flags, slots=slots,
                                            fsync=fsync, max_write=4096) == []
            for p, d in zip(paths, datas):
                assert pathlib.Path(os.fsdecode(p)).read_bytes() == d
    assert _open_fds() == fds
    with pytest.raises(ValueError, match="max_write"):
        _fileops.write_pipelined(paths[-1:], datas[-1:], -100, 0o644, flags, max_write=32)


def test_fileops_write_pipelined_short_piece(tmp_path):
    """A piece cut short (the file-size limit, RLIMIT_FSIZE) fails the file with EIO
    ("write"), the pieces after it are cancelled: the file ends where the kernel stopped."""
    code = textwrap.dedent(f"""
        import os, resource, signal
        from ioring import _fileops
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (10000, resource.RLIM_INFINITY))
        out = _fileops.write_pipelined([b"{tmp_path}/big", b"{tmp_path}/ok"],
                                       [b"x" * 40000, b"y" * 9000], -100, 0o644,
                                       os.O_WRONLY | os.O_CREAT | os.O_TRUNC, max_write=4096)
        print(out, os.path.getsize("{tmp_path}/big"), os.path.getsize("{tmp_path}/ok"))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=_env(), timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["[(0,", f"{errno.EIO},", "'write')]", "10000", "9000"]


def test_fileops_read_chains(tmp_path):
    from ioring import _fileops
    sizes = [0, 1, 4095, 4096, 8191, 32767, 32768, 100_000]
    paths = []
    for i, n in enumerate(sizes):
        (tmp_path / f"f{i}").write_bytes(payload(i, n))
        paths.append(os.fsencode(tmp_path / f"f{i}"))
    (tmp_path / "dir").mkdir()
    paths += [os.fsencode(tmp_path / "missing"), os.fsencode(tmp_path / "dir")]
    fds = _open_fds()
    for slots in (1, 3, 64):
        contents, failures, big = _fileops.read_chains(paths, slots=slots)
        # 32768 bytes fill the 32 KiB buffer: "big", to be read whole by the caller
        assert big == [6, 7]
        assert failures == [(8, errno.ENOENT, "open"), (9, errno.EISDIR, "read")]
        for i, n in enumerate(sizes):
            assert contents[i] == (None if i in big else payload(i, n)), i
        assert contents[8] is None and contents[9] is None
    contents, failures, big = _fileops.read_chains(paths[:6], slots=2, size=8192)
    assert big == [5] and failures == [] and contents[4] == payload(4, 8191)
    assert _open_fds() == fds
    # relative to a directory fd
    dfd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        contents, failures, big = _fileops.read_chains([b"f1", b"f2", b"nope"], dfd)
    finally:
        os.close(dfd)
    assert contents[:2] == [payload(1, 1), payload(2, 4095)]
    assert failures == [(2, errno.ENOENT, "open")] and big == []
    assert _fileops.read_chains([]) == ([], [], [])
    with pytest.raises(TypeError):
        _fileops.read_chains(["str"])
    with pytest.raises(ValueError, match="null"):
        _fileops.read_chains([b"a\0b"])
    for bad in ({"slots": 0}, {"slots": 4097}, {"size": 1000}, {"size": 0}, {"size": 1 << 25}):
        with pytest.raises(ValueError):
            _fileops.read_chains(paths, **bad)


def test_fileops_waits_for_its_own_fds_when_the_fd_limit_is_low(tmp_path):
    # RLIMIT_NOFILE a few fds above what is open: a one-file-at-a-time loop succeeds, so
    # write_pipelined (64 fds in flight by default) must too: on EMFILE it waits for its own
    # writes to complete, closes their fds and opens again.
    code = textwrap.dedent(f"""
        import os, resource
        from ioring import _fileops
        nfds = len(os.listdir("/proc/self/fd"))
        resource.setrlimit(resource.RLIMIT_NOFILE, (nfds + 6, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
        paths = [os.fsencode(os.path.join({str(tmp_path)!r}, "f%d" % i)) for i in range(300)]
        out = _fileops.write_pipelined(paths, [b"%d" % i for i in range(300)], -100, 0o644,
                                       os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC)
        assert out == [], out[:5]
        assert len(os.listdir("/proc/self/fd")) == nfds
        print("ok")
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, env=_env())
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr
    assert all((tmp_path / f"f{i}").read_bytes() == b"%d" % i for i in range(300))


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("fsync", [False, True])
def test_fileops_write_errors_are_reported_and_every_fd_is_closed(tmp_path, fsync):
    # /dev/full fails every write with ENOSPC: the write runs on io-wq, its error comes back
    # as (index, ENOSPC, "write") and the fd the calling thread opened is closed anyway (with
    # fsync, the hard link runs the fsync after the failed write and the fd closes on its CQE).
    from ioring import _fileops
    fds = _open_fds()
    paths = [os.fsencode(tmp_path / f"ok{i}") for i in range(20)]
    paths[5] = paths[11] = b"/dev/full"
    datas = [b"data %d" % i for i in range(20)]
    for fn in (_fileops.write_pipelined, _fileops.write_plain):
        out = fn(paths, datas, -100, 0o644, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, fsync=fsync)
        assert out == [(5, errno.ENOSPC, "write"), (11, errno.ENOSPC, "write")], fn
        assert (tmp_path / "ok19").read_bytes() == b"data 19"
        assert _open_fds() == fds
