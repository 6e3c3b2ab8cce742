"""ioring.files.copytree against shutil.copytree on the same trees: the same entries, contents,
modes, mtimes, extended attributes and symbolic links, the same shutil.Error list, and no fd left
open; permission errors (as uid 65534), symbolic-link loops, a tree that changes during the copy,
Ctrl-C, a destination inside the source; the TreeCopier engine's own checks; ``cp -r``."""
import errno
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import threading

import pytest

import ioring
import ioring.files as F
from ioring import _copytree, _fileops

from helpers import IS_ROOT, run_cli, run_unprivileged

BUF = _copytree._BUFSIZE


def open_fds():
    return sorted(os.listdir("/proc/self/fd"))


@pytest.fixture(params=["ring", "plain", "shutil"])
def engine(request, monkeypatch):
    """``ring``: the io_uring chains; ``plain``: the same C engine with plain syscalls (what
    a system without io_uring gets); ``shutil``: builds without ioring._fileops."""
    if request.param == "plain":
        monkeypatch.setattr(_copytree, "_USE_RING", False)
    if request.param == "shutil":
        monkeypatch.setattr(_copytree, "_fileops", None)
    return request.param


@pytest.fixture
def fs_dir(request):
    """A fresh directory on tmpfs (/dev/shm) when there is one, else the temp dir."""
    base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    d = tempfile.mkdtemp(prefix="ioring-tree-", dir=base)
    yield d
    for dirpath, dirnames, _ in os.walk(d):
        for name in dirnames:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                os.chmod(path, 0o755)
    shutil.rmtree(d, ignore_errors=True)


def content(i, size):
    return (b"%07d;" % i * (size // 8 + 1))[:size]


def write(path, data, mode=None, mtime_ns=None):
    with open(path, "wb") as f:
        f.write(data)
    if mode is not None:
        os.chmod(path, mode)
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns // 3, mtime_ns))


def xattrs_supported(d):
    probe = os.path.join(d, ".xattr-probe")
    write(probe, b"")
    try:
        os.setxattr(probe, "user.probe", b"1")
        return True
    except OSError:
        return False
    finally:
        os.unlink(probe)


def make_tree(root):
    """Every kind of entry copytree meets."""
    os.makedirs(os.path.join(root, "a", "b", "c"))
    os.makedirs(os.path.join(root, "empty_dir"))
    os.makedirs(os.path.join(root, "a", "also_empty"))
    write(os.path.join(root, "empty_file"), b"")
    write(os.path.join(root, "small"), b"hello\n", 0o644, 10**18)
    write(os.path.join(root, "exec.sh"), b"#!/bin/sh\necho hi\n", 0o755, 2 * 10**18 + 123)
    write(os.path.join(root, "private"), b"secret", 0o600)
    write(os.path.join(root, "readonly"), b"ro", 0o444)
    write(os.path.join(root, "group_writable"), b"gw", 0o664)      # the umask strips g+w
    write(os.path.join(root, "all_bits"), b"x", 0o777)
    if IS_ROOT:
        write(os.path.join(root, "setuid"), b"su", 0o4755)
        write(os.path.join(root, "setgid"), b"sg", 0o2750)
    for size in (1, BUF - 2, BUF - 1, BUF, BUF + 1, 3 << 20):       # around the slot buffer
        write(os.path.join(root, "a", f"size_{size}"), content(size, size))
    for i in range(300):                                            # more than the 64 slots
        write(os.path.join(root, "a", "b", f"f{i:03d}.py"), content(i, 50 * i), None,
              10**18 + i * 1000)
    write(os.path.join(root, "a", "b", "c", "deep"), b"deep", 0o640, 10**17)
    os.symlink("small", os.path.join(root, "link_to_file"))
    os.symlink("a/b", os.path.join(root, "link_to_dir"))
    os.symlink(os.path.join(root, "a", "size_1"), os.path.join(root, "a", "absolute_link"))
    os.chmod(os.path.join(root, "a", "b", "c"), 0o750)
    os.chmod(os.path.join(root, "empty_dir"), 0o700)
    os.utime(os.path.join(root, "a", "b"), ns=(10**18, 10**18 + 5))
    os.utime(os.path.join(root, "empty_dir"), ns=(10**17, 10**17 + 7))
    if xattrs_supported(root):
        os.setxattr(os.path.join(root, "small"), "user.note", b"copied too")
        os.setxattr(os.path.join(root, "a"), "user.dir_note", b"dir")


def snapshot(root):
    """Per relative path (the root as "."): type, mode, mtime, contents or link target,
    extended attributes."""
    out = {}

    def xattrs(path):
        try:
            return {n: os.getxattr(path, n, follow_symlinks=False)
                    for n in os.listxattr(path, follow_symlinks=False)}
        except OSError:
            return None

    def one(path, rel):
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            out[rel] = ("link", os.readlink(path))
        elif stat.S_ISDIR(st.st_mode):
            out[rel] = ("dir", st.st_mode, st.st_mtime_ns, xattrs(path))
        else:
            with open(path, "rb") as f:
                out[rel] = ("file", st.st_mode, st.st_mtime_ns, f.read(), xattrs(path))
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            one(path, os.path.relpath(path, root))
    one(root, ".")
    return out


def run_both(src, dst_ref, dst, fn=None, **kw):
    """shutil.copytree and files.copytree with the same arguments: (result snapshot,
    reference snapshot, errors, reference errors) with each destination root replaced by
    "DST" in the error texts."""
    fn = fn or F.copytree

    def go(copy, target):
        try:
            ret = copy(src, target, **kw)
            assert ret == target
            return None
        except shutil.Error as exc:
            return [tuple(str(x).replace(str(target), "DST") for x in e) for e in exc.args[0]]
    ref_err = go(shutil.copytree, dst_ref)
    err = go(fn, dst)
    return snapshot(dst), snapshot(dst_ref), err, ref_err


# ---- the same result as shutil.copytree ---------------------------------------------------------

@pytest.mark.parametrize("symlinks", [False, True])
def test_same_result_as_shutil(fs_dir, engine, symlinks):
    """Contents, modes (exec, setuid, read-only, bits the umask strips), mtimes (ns), xattrs,
    empty files and directories, files around the 64 KiB slot buffer and a 3 MiB one, symbolic
    links to files and directories (kept with symlinks=True, followed without), all identical to
    shutil.copytree's, and no fd left open."""
    src = os.path.join(fs_dir, "src")
    os.mkdir(src)
    make_tree(src)
    fds = open_fds()
    got, ref, err, ref_err = run_both(src, os.path.join(fs_dir, "ref"),
                                      os.path.join(fs_dir, "dst"), symlinks=symlinks)
    assert open_fds() == fds
    assert err == ref_err is None
    assert got == ref
    assert ("link" in {v[0] for v in got.values()}) == symlinks


def test_dangling_symlinks_ignore_and_bytes_paths(fs_dir, engine):
    """A dangling link is an error when followed (the same shutil.Error list) and copied as a
    link with symlinks=True; ``ignore`` gets the same directory and names as shutil's; bytes
    paths give bytes in the errors."""
    src = os.path.join(fs_dir, "src")
    os.makedirs(os.path.join(src, "sub", "skipme"))
    write(os.path.join(src, "keep.py"), b"k")
    write(os.path.join(src, "drop.pyc"), b"d")
    write(os.path.join(src, "sub", "x.pyc"), b"x")
    write(os.path.join(src, "sub", "skipme", "y"), b"y")
    os.symlink("nowhere", os.path.join(src, "dangling"))
    os.symlink("nowhere2", os.path.join(src, "sub", "dangling2"))
    fds = open_fds()
    seen = []

    def recording(directory, names):
        seen.append((os.fspath(directory).replace(fs_dir, ""), sorted(names)))
        return shutil.ignore_patterns("*.pyc", "skipme")(directory, names)
    got, ref, err, ref_err = run_both(src, os.path.join(fs_dir, "ref"),
                                      os.path.join(fs_dir, "dst"), ignore=recording)
    assert open_fds() == fds
    assert got == ref and err == ref_err
    assert len(err) == 2 and all("No such file or directory" in e[2] for e in err)
    half = len(seen) // 2
    assert seen[:half] == seen[half:] and half == 2         # shutil's calls, then ours
    assert "drop.pyc" not in str(got) and "skipme" not in str(got)
    got, ref, err, ref_err = run_both(src, os.path.join(fs_dir, "ref2"),
                                      os.path.join(fs_dir, "dst2"), symlinks=True)
    assert got == ref and err == ref_err is None
    with pytest.raises(shutil.Error) as info:
        F.copytree(os.fsencode(src), os.fsencode(os.path.join(fs_dir, "dst3")))
    assert all(type(x) is bytes for e in info.value.args[0] for x in e[:2])
    assert open_fds() == fds


def test_dirs_exist_ok(fs_dir, engine):
    """Into an existing tree: files overwritten (their mode replaced by the source's), others
    kept, FileExistsError without dirs_exist_ok; a source file that is also the destination
    (a hard link) gives shutil's SameFileError entry and is not truncated."""
    src = os.path.join(fs_dir, "src")
    os.makedirs(os.path.join(src, "d"))
    write(os.path.join(src, "d", "f"), b"new contents", 0o640, 10**18)
    write(os.path.join(src, "g"), b"g", 0o755)
    write(os.path.join(src, "same"), b"do not truncate me")
    for dst in ("ref", "dst"):
        os.makedirs(os.path.join(fs_dir, dst, "d"))
        write(os.path.join(fs_dir, dst, "d", "f"), b"old and longer contents", 0o600)
        write(os.path.join(fs_dir, dst, "other"), b"stays", 0o644, 10**18)
        os.link(os.path.join(src, "same"), os.path.join(fs_dir, dst, "same"))
    fds = open_fds()
    with pytest.raises(FileExistsError):
        F.copytree(src, os.path.join(fs_dir, "dst"))
    got, ref, err, ref_err = run_both(src, os.path.join(fs_dir, "ref"),
                                      os.path.join(fs_dir, "dst"), dirs_exist_ok=True)
    assert open_fds() == fds
    assert got == ref
    # shutil.copytree adds the SameFileError (a shutil.Error) with errors.extend(err.args[0]):
    # one entry per character of its message. Ours is the (srcname, dstname, message) entry.
    shutil_message = "".join(c for (c,) in ref_err).replace(os.path.join(fs_dir, "ref"), "DST")
    assert shutil_message == "<DirEntry 'same'> and 'DST/same' are the same file"
    if engine != "shutil":
        assert err == [(os.path.join(src, "same"), "DST/same", shutil_message)]
    with open(os.path.join(src, "same"), "rb") as f:
        assert f.read() == b"do not truncate me"
    assert got["d/f"][1:4] == (stat.S_IFREG | 0o640, 10**18, b"new contents")


def test_top_level_errors_are_raised_as_shutil_raises_them(fs_dir, engine):
    fds = open_fds()
    with pytest.raises(FileNotFoundError) as info:
        F.copytree(os.path.join(fs_dir, "missing"), os.path.join(fs_dir, "dst"))
    assert info.value.filename == os.path.join(fs_dir, "missing")      # str, as given
    os.mkdir(os.path.join(fs_dir, "exists"))
    with pytest.raises(FileExistsError) as info:
        F.copytree(fs_dir + "/exists", os.path.join(fs_dir, "exists"))
    assert info.value.filename == os.path.join(fs_dir, "exists")
    write(os.path.join(fs_dir, "file"), b"x")
    with pytest.raises(NotADirectoryError):
        F.copytree(os.path.join(fs_dir, "file"), os.path.join(fs_dir, "dst"))
    assert not os.path.exists(os.path.join(fs_dir, "dst"))
    assert open_fds() == fds


def test_destination_inside_the_source_is_refused(fs_dir, engine):
    """cp -r a a/x/y would copy its own output (shutil.copytree recurses until the path is
    too long): refused before anything is created, as shutil.move refuses a move into
    itself. A destination beside it whose name starts alike is not inside."""
    src = os.path.join(fs_dir, "a")
    os.makedirs(os.path.join(src, "x"))
    write(os.path.join(src, "x", "f"), b"f")
    os.symlink(src, os.path.join(fs_dir, "link"))
    fds = open_fds()
    for dst in (os.path.join(src, "x", "y"), os.path.join(src, "new"),
                os.path.join(fs_dir, "link", "y")):
        with pytest.raises(shutil.Error, match="into itself"):
            F.copytree(src, dst)
        assert not os.path.exists(dst)
    F.copytree(src, os.path.join(fs_dir, "ab"))             # a sibling, not inside
    assert open_fds() == fds


# ---- permissions (as uid 65534: root bypasses them) ----------------------------------------------

def test_permission_errors_are_collected_like_shutil(shared_tmp, engine):
    """An unreadable file, an unreadable directory and an untraversable one, copied by a child
    that dropped to uid 65534: the same shutil.Error list and the same copy of everything else
    as shutil.copytree's, and no fd left open in the child."""
    src = shared_tmp / "src"
    os.makedirs(src / "ok" / "deeper")
    write(src / "ok" / "deeper" / "f", b"fine", 0o644)
    write(src / "unreadable", b"no", 0o200)
    os.makedirs(src / "closed")
    write(src / "closed" / "inside", b"i")
    os.chmod(src / "closed", 0o300)                         # no read: cannot be listed
    os.makedirs(src / "untraversable")
    write(src / "untraversable" / "f", b"t")
    os.chmod(src / "untraversable", 0o644)                  # read, no x: listed, not entered
    write(src / "z_last", b"last", 0o644)
    for d in ("ref", "dst"):
        os.mkdir(shared_tmp / d)
        os.chmod(shared_tmp / d, 0o777)
    ref_dst, dst = str(shared_tmp / "ref" / "t"), str(shared_tmp / "dst" / "t")

    def both():
        fds = open_fds()
        out = run_both(str(src), ref_dst, dst)
        return out[2], out[3], out[0] == out[1], open_fds() == fds
    status, value = run_unprivileged(both)[:2]
    assert status == "ok", value
    err, ref_err, same_tree, no_fd_left = value
    assert err == ref_err
    assert same_tree and no_fd_left
    assert {os.path.basename(e[0]) for e in err} >= {"unreadable", "closed"}
    assert any("Permission denied" in e[2] for e in err)


# ---- symbolic-link loops ------------------------------------------------------------------------

def test_symlink_loops(fs_dir, engine):
    """A link to an ancestor followed (symlinks=False) is copied level after level until the
    kernel says ELOOP, as shutil does; a link to itself is an error; with symlinks=True both
    are copied as links. Same trees, same error lists, no fd left open."""
    src = os.path.join(fs_dir, "src")
    os.makedirs(os.path.join(src, "d"))
    write(os.path.join(src, "d", "f"), b"f")
    os.symlink("..", os.path.join(src, "d", "up"))
    os.symlink("self", os.path.join(src, "self"))
    fds = open_fds()
    got, ref, err, ref_err = run_both(src, os.path.join(fs_dir, "ref"),
                                      os.path.join(fs_dir, "dst"))
    assert open_fds() == fds
    assert err == ref_err
    assert got == ref
    assert any("Too many levels of symbolic links" in e[2] for e in err)
    got, ref, err, ref_err = run_both(src, os.path.join(fs_dir, "ref2"),
                                      os.path.join(fs_dir, "dst2"), symlinks=True)
    assert got == ref and err == ref_err is None
    assert open_fds() == fds


# ---- a tree that changes during the copy --------------------------------------------------------

def test_files_removed_and_added_after_listing(fs_dir, engine):
    """``ignore`` runs after a directory is listed and before its entries are copied: a file
    removed there fails as in shutil (No such file or directory), one added there is not
    copied (it was not listed), the rest is copied; same result as shutil, no fd left open."""
    src = os.path.join(fs_dir, "src")
    os.makedirs(os.path.join(src, "sub"))
    for i in range(100):
        write(os.path.join(src, "sub", f"f{i}"), content(i, 100 + i))
    state = {}

    def mutate(directory, names):
        if os.path.basename(directory) == "sub":
            key = directory
            if key not in state:
                state[key] = True
            for i in range(0, 100, 7):
                try:
                    os.unlink(os.path.join(directory, f"f{i}"))
                except FileNotFoundError:
                    pass
            write(os.path.join(directory, "added"), b"late")
            os.utime(directory, ns=(10**18, 10**18))    # the same for both runs
        return ()

    def run(copy, dst):
        for i in range(0, 100, 7):
            write(os.path.join(src, "sub", f"f{i}"), content(i, 100 + i))
        try:
            os.unlink(os.path.join(src, "sub", "added"))
        except FileNotFoundError:
            pass
        try:
            copy(src, dst, ignore=mutate)
            return None
        except shutil.Error as exc:
            return [tuple(x.replace(dst, "DST") for x in e) for e in exc.args[0]]
    fds = open_fds()
    ref_err = run(shutil.copytree, os.path.join(fs_dir, "ref"))
    err = run(F.copytree, os.path.join(fs_dir, "dst"))
    assert open_fds() == fds
    assert err == ref_err and len(err) == 15
    assert snapshot(os.path.join(fs_dir, "dst")) == snapshot(os.path.join(fs_dir, "ref"))


def test_files_whose_size_is_not_their_stat_size(fs_dir, engine):
    """Files that give more or less than their stat size when read, as a file grown or
    truncated between the stat and the read would: procfs reports 0 bytes (the read fills
    size + 1: the "grown" path copies it again to its end), sysfs 4096 (the read comes back
    short: copied to the real end). Reached through symbolic links followed by the copy;
    compared with shutil's copy of the same files."""
    src = os.path.join(fs_dir, "src")
    os.mkdir(src)
    targets = {"version": "/proc/version", "cmdline": "/proc/cmdline",
               "thp": "/sys/kernel/mm/transparent_hugepage/enabled"}
    used = {}
    for name, target in targets.items():
        try:
            with open(target, "rb") as f:
                used[name] = f.read()
        except OSError:
            continue
        os.symlink(target, os.path.join(src, name))
    if not used:
        pytest.skip("neither /proc nor /sys is readable here")
    assert os.stat(os.path.join(src, "version")).st_size == 0
    fds = open_fds()
    F.copytree(src, os.path.join(fs_dir, "dst"))
    assert open_fds() == fds
    for name, data in used.items():
        with open(os.path.join(fs_dir, "dst", name), "rb") as f:
            assert f.read() == data, name


def test_files_growing_while_copied(fs_dir, engine):
    """A thread appends to every file while the tree is copied: each copy is a prefix of the
    final contents at least as long as the file was before the copy began (nothing cut
    short), and no fd is left open."""
    src = os.path.join(fs_dir, "src")
    os.mkdir(src)
    n = 400
    paths = [os.path.join(src, f"f{i}") for i in range(n)]
    for i, p in enumerate(paths):
        write(p, content(i, 1000 + i * 97 % 60000))
    before = {p: os.path.getsize(p) for p in paths}
    stop = threading.Event()

    def grow():
        k = 0
        while not stop.is_set():
            with open(paths[k % n], "ab") as f:
                f.write(b"+" * 3000)
            k += 1
    fds = open_fds()
    t = threading.Thread(target=grow)
    t.start()
    try:
        F.copytree(src, os.path.join(fs_dir, "dst"))
    finally:
        stop.set()
        t.join()
    assert open_fds() == fds
    for p in paths:
        with open(p, "rb") as f:
            final = f.read()
        with open(os.path.join(fs_dir, "dst", os.path.basename(p)), "rb") as f:
            copied = f.read()
        assert len(copied) >= before[p] and final.startswith(copied), p


# ---- Ctrl-C -------------------------------------------------------------------------------------

CHILD = r'''
import json, os, signal, sys, threading, time
import ioring.files as F
from ioring import _copytree
spec = json.loads(sys.argv[1])
_copytree._USE_RING = spec["ring"]
src, dst = spec["src"], spec["dst"]
fds = sorted(os.listdir("/proc/self/fd"))
sent = []

def started():
    try:
        return len(os.listdir(dst)) >= spec["trigger"]
    except OSError:
        return False

def watch():
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if started():
            sent.append(time.monotonic())
            os.kill(os.getpid(), signal.SIGINT)
            return
        time.sleep(0.0005)
threading.Thread(target=watch, daemon=True).start()
out = {"interrupted": False}
try:
    F.copytree(src, dst)
except KeyboardInterrupt:
    out["interrupted"] = True
out["latency"] = time.monotonic() - sent[0] if sent else None
out["fds_before"] = fds
out["fds_after"] = sorted(os.listdir("/proc/self/fd"))
print(json.dumps(out))
'''


@pytest.mark.parametrize("ring", [True, False], ids=["ring", "plain"])
def test_ctrl_c_mid_copy(fs_dir, ring):
    """A real SIGINT while a tree of 40 directories x 100 files (some of 2 MiB) is being
    copied: KeyboardInterrupt within a second, no fd left open, and every file present in the
    destination complete with its mode and mtime (partial ones were removed)."""
    src = os.path.join(fs_dir, "src")
    expected = {}
    for d in range(40):
        os.makedirs(os.path.join(src, f"d{d:02d}"))
        for i in range(100):
            rel = os.path.join(f"d{d:02d}", f"f{i:03d}")
            size = (2 << 20) if i == 50 and d % 4 == 0 else 100 + (d * 100 + i) * 37 % 35000
            expected[rel] = content(d * 100 + i, size)
            write(os.path.join(src, rel), expected[rel], 0o640, 10**18 + i)
    dst = os.path.join(fs_dir, "dst")
    spec = {"src": src, "dst": dst, "ring": ring, "trigger": 5}     # directories created
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(ioring.__file__)))
    result = subprocess.run([sys.executable, "-c", CHILD, json.dumps(spec)], capture_output=True,
                            text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    print("LATENCY", out["latency"])
    assert out["interrupted"], "the copy ended before the signal"
    assert out["latency"] < 1.0
    assert out["fds_after"] == out["fds_before"]
    present = 0
    for rel, data in expected.items():
        path = os.path.join(dst, rel)
        if os.path.exists(path):
            with open(path, "rb") as f:
                assert f.read() == data, f"{rel} is incomplete"
            st = os.stat(path)
            assert stat.S_IMODE(st.st_mode) == 0o640 and st.st_mtime_ns == os.stat(
                os.path.join(src, rel)).st_mtime_ns, rel
            present += 1
    assert 0 < present < len(expected)


def test_exception_from_progress_cancels_and_removes(fs_dir):
    """An exception raised by ``progress`` (as by a signal handler) cancels the chains in
    flight: nothing is left open, every file present is complete."""
    src = os.path.join(fs_dir, "src")
    os.mkdir(src)
    for i in range(3000):
        write(os.path.join(src, f"f{i}"), content(i, 5000))
    calls = []

    def progress(done, found):
        calls.append(done)
        raise RuntimeError("stop")
    fds = open_fds()
    try:
        F.copytree(src, os.path.join(fs_dir, "dst"), progress=progress)
    except RuntimeError:
        pass
    assert open_fds() == fds
    for name in os.listdir(os.path.join(fs_dir, "dst")):
        with open(os.path.join(fs_dir, "dst", name), "rb") as f:
            assert f.read() == content(int(name[1:]), 5000)


def test_progress_reports_bytes(fs_dir):
    src = os.path.join(fs_dir, "src")
    os.mkdir(src)
    write(os.path.join(src, "a"), b"x" * 1000)
    write(os.path.join(src, "b"), b"y" * 200000)
    seen = []
    F.copytree(src, os.path.join(fs_dir, "dst"), progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (201000, 201000)


# ---- the engine ---------------------------------------------------------------------------------

def test_tree_copier_arguments_and_closed(fs_dir):
    write(os.path.join(fs_dir, "s"), b"abc", 0o600, 10**18)
    c = _fileops.TreeCopier(4, 8192, True, -1)
    with pytest.raises(TypeError):
        c.add("abc", ["x"])                                 # one path, not a sequence
    with pytest.raises(TypeError):
        c.add([os.path.join(fs_dir, "s")], [os.path.join(fs_dir, "d")])    # str, not bytes
    with pytest.raises(ValueError):
        c.add([b"a"], [b"b", b"c"])
    with pytest.raises(ValueError):
        c.add([b"a\0"], [b"b"])
    c.add([os.fsencode(os.path.join(fs_dir, "s")), b"/nonexistent/x", b"/dev/null"],
          [os.fsencode(os.path.join(fs_dir, "d")), os.fsencode(os.path.join(fs_dir, "e")),
           os.fsencode(os.path.join(fs_dir, "n"))])
    failures = c.drain()
    assert failures == [(1, errno.ENOENT, "stat"), (2, -1, "special")]
    st = os.stat(os.path.join(fs_dir, "d"))
    assert (stat.S_IMODE(st.st_mode), st.st_mtime_ns) == (0o600, 10**18)
    c.close()
    c.close()
    with pytest.raises(ValueError, match="closed"):
        c.add([b"a"], [b"b"])
    with pytest.raises(ValueError):
        _fileops.TreeCopier(0)
    with pytest.raises(ValueError):
        _fileops.TreeCopier(4, 100)
    assert _fileops.TreeCopier(4, 8192, False).ring_used is False


def test_tree_copier_refuses_reentry(fs_dir):
    """One call at a time (its loop releases the GIL in the kernel): a call from its progress
    callback (or another thread) raises RuntimeError instead of racing on its state."""
    paths = []
    for i in range(300):
        p = os.path.join(fs_dir, f"s{i}")
        write(p, content(i, 20000))
        paths.append(os.fsencode(p))
    c = _fileops.TreeCopier(8, 65536, True, -1)
    c.add(paths, [p + b".copy" for p in paths])
    errors = []

    def progress(done, found):
        for call in (lambda: c.add([b"/x"], [b"/y"]), c.drain, c.close):
            try:
                call()
            except RuntimeError as exc:
                errors.append(str(exc))
    c.drain(progress)
    c.close()
    assert len(errors) >= 3 and all("in use" in e for e in errors)
    for i, p in enumerate(paths):
        with open(p + b".copy", "rb") as f:
            assert f.read() == content(i, 20000)


def test_tree_copier_dropped_with_chains_in_flight(fs_dir):
    """A TreeCopier garbage-collected with chains in flight cancels and reaps them first (the
    kernel writes into its buffers): no crash, nothing open, copies complete or absent."""
    paths = []
    for i in range(200):
        p = os.path.join(fs_dir, f"s{i}")
        write(p, content(i, 30000))
        paths.append(p)
    fds = open_fds()
    c = _fileops.TreeCopier(64, 65536, True, -1)
    c.add([os.fsencode(p) for p in paths], [os.fsencode(p + ".copy") for p in paths])
    del c
    assert open_fds() == fds
    for i, p in enumerate(paths):
        if os.path.exists(p + ".copy"):
            with open(p + ".copy", "rb") as f:
                assert f.read() == content(i, 30000)


def test_copy_stats(fs_dir):
    os.mkdir(os.path.join(fs_dir, "a"))
    os.mkdir(os.path.join(fs_dir, "b"))
    os.chmod(os.path.join(fs_dir, "a"), 0o751)
    os.utime(os.path.join(fs_dir, "a"), ns=(10**17, 10**18))
    failed = _fileops.copy_stats([os.fsencode(os.path.join(fs_dir, "a")), b"/nonexistent"],
                                 [os.fsencode(os.path.join(fs_dir, "b")), b"/nonexistent2"])
    assert failed == [(1, errno.ENOENT, "stat")]
    st = os.stat(os.path.join(fs_dir, "b"))
    assert (stat.S_IMODE(st.st_mode), st.st_mtime_ns) == (0o751, 10**18)


def test_copy_file_of_one_chunk_needs_no_ring(tmp_path, monkeypatch):
    """copy_file of a file that fits one chunk copies with pread/pwrite: setting up a ring,
    registered buffers and files cost ~200 us per call (issue 19: 278 us for 2 KiB against
    58 for shutil.copy)."""
    def no_ring(entries):
        raise AssertionError("a ring was set up for a one-chunk copy")
    monkeypatch.setattr(F, "_open_ring", no_ring)
    src = tmp_path / "src"
    for size in (1, 2048, F._COPY_CHUNK):
        src.write_bytes(content(size, size))
        src.chmod(0o640)
        F.copy_file(src, tmp_path / "dst")
        assert (tmp_path / "dst").read_bytes() == content(size, size)
        assert stat.S_IMODE((tmp_path / "dst").stat().st_mode) == 0o640


# ---- cp -r --------------------------------------------------------------------------------------

def test_cli_cp_recursive(fs_dir, capsys):
    src = os.path.join(fs_dir, "src")
    os.makedirs(os.path.join(src, "sub"))
    write(os.path.join(src, "sub", "f"), b"data", 0o750, 10**18)
    os.symlink("sub/f", os.path.join(src, "link"))
    assert run_cli(["cp", src, os.path.join(fs_dir, "x")]) == 1
    assert "is a directory: use -r" in capsys.readouterr().err
    assert not os.path.exists(os.path.join(fs_dir, "x"))
    assert run_cli(["cp", "-r", src, os.path.join(fs_dir, "x")]) == 0
    assert snapshot(os.path.join(fs_dir, "x")) == snapshot(src)           # links kept as links
    assert run_cli(["cp", "-r", "-v", src, os.path.join(fs_dir, "x")]) == 0   # into x/src
    assert snapshot(os.path.join(fs_dir, "x", "src")) == snapshot(src)
    assert "->" in capsys.readouterr().out
    assert run_cli(["cp", "-r", src, os.path.join(src, "in")]) == 1
    assert "into itself" in capsys.readouterr().err
    assert run_cli(["cp", "-R", src, os.path.join(fs_dir, "x")]) == 1       # x/src exists
    assert "File exists" in capsys.readouterr().err


def test_cli_cp_recursive_lists_each_failure(shared_tmp):
    """The errors of a tree copy, one line each, exit status 1; the rest is copied."""
    src = shared_tmp / "src"
    os.makedirs(src)
    write(src / "ok", b"ok")
    write(src / "unreadable", b"no", 0o200)
    os.chmod(shared_tmp, 0o777)

    def child():            # in the forked child (uid 65534 cannot run the interpreter)
        import io
        stderr, sys.stderr = sys.stderr, io.StringIO()
        try:
            code = run_cli(["cp", "-r", str(src), str(shared_tmp / "dst")])
            return code, sys.stderr.getvalue(), os.path.exists(shared_tmp / "dst" / "ok")
        finally:
            sys.stderr = stderr
    if IS_ROOT:
        status, value = run_unprivileged(child)[:2]
        assert status == "ok", value
    else:
        value = child()
    code, err, copied = value
    assert code == 1 and copied
    assert "unreadable" in err and "Permission denied" in err


def test_destination_under_a_default_acl(fs_dir, engine):
    """New files get the mode a default ACL allows, not the umask's: copytree then sets every
    mode (as shutil does), rather than trusting mode & ~umask."""
    import struct
    parent = os.path.join(fs_dir, "acl")
    os.mkdir(parent)
    acl = struct.pack("<I", 2) + b"".join(struct.pack("<HHI", tag, perm, 0xFFFFFFFF)
                                          for tag, perm in ((0x01, 7), (0x04, 0), (0x20, 0)))
    try:
        os.setxattr(parent, "system.posix_acl_default", acl)
    except OSError as exc:
        pytest.skip(f"no POSIX ACLs here: {exc}")
    src = os.path.join(fs_dir, "src")
    os.mkdir(src)
    write(os.path.join(src, "f"), b"f", 0o644)
    with open(os.path.join(parent, "probe"), "wb"):
        pass
    assert stat.S_IMODE(os.stat(os.path.join(parent, "probe")).st_mode) == 0o600
    F.copytree(src, os.path.join(parent, "dst"))
    assert stat.S_IMODE(os.stat(os.path.join(parent, "dst", "f")).st_mode) == 0o644


def test_bench_trees_checks_every_method(fs_dir):
    """bench/bench_trees.py on a small tree: every checked method's copy equals shutil's (its
    checker raises otherwise), and the report has a ratio per method."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                    "bench"))      # the checkout's, not next to the installed ioring
    try:
        import bench_trees
    finally:
        sys.path.pop(0)
    src = os.path.join(fs_dir, "src")
    os.mkdir(src)
    make_tree(src)
    result = bench_trees.bench_tree(fs_dir, 1, ())
    assert set(result["ratio_vs_shutil"]) == set(bench_trees.METHODS)
    assert result["files"] > 300
    assert bench_trees.fs_type("/proc") == "proc"
