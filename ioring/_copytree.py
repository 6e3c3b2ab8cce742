"""``ioring.files.copytree``: ``shutil.copytree`` (with ``copy2``) with the files copied in C on
io_uring, many in flight while the next directories are listed.

The walk is ``shutil.copytree``'s, in Python (one ``os.scandir`` per directory, DirEntry types
from getdents, no stat per entry): the ``ignore`` callable, directory creation, symbolic links
(``os.readlink``/``os.symlink``, or followed) and the errors are handled as shutil handles them,
in the same order. Regular files are handed over per directory to ``ioring._fileops.TreeCopier``
(``ioring/_copy_engine.pxi``), which stats each, copies it with two linked chains on direct
descriptors and sets its times, extended attributes and mode as ``shutil.copystat`` does, with no
Python code per file; at most 64 files are in flight while Python lists and creates the next
directories. Directories get their ``copystat`` once everything below them is copied (deepest
first, in C: ``_fileops.copy_stats``). What the engine does not copy itself (a FIFO, a device, a
socket) goes through ``shutil.copy2``, so it gets shutil's own result or error.

Errors are collected as shutil collects them: ``shutil.Error`` with a list of
``(srcname, dstname, str(exception))``, in the order shutil's depth-first walk meets them; the
OSError text names the path shutil's would (the source when it cannot be stat-ed, opened or
read, the destination when it cannot be created, written or given its attributes). A file
that failed is absent from the destination (shutil leaves a partial file after a failed write).
A failure to list or create the top directory is raised as is, as shutil does.

Builds without ``ioring._fileops`` use ``shutil.copytree`` itself.
"""
import os
import shutil
import sys

try:
    from ioring import _fileops
except ImportError:             # a build without the C module: shutil's own copy
    _fileops = None

__all__ = ["copytree"]

_SLOTS = 64                     # files in flight
_BUFSIZE = 64 << 10             # per-slot buffer: smaller files go through the ring chains
_USE_RING = True                # False: plain syscalls in C (the reference of bench/bench_trees.py)
# io-wq workers of the ring: the creates and writes run there. One per CPU (at most 4): more
# only contend for the CPUs (the kernel's default is 4 per CPU); measured in bench/RESULTS.md.
_MAX_WORKERS = min(4, os.cpu_count() or 1)
_ASYNC_CREATE = True            # IOSQE_ASYNC on the O_CREAT opens (they end on io-wq anyway)
_LAST = sys.maxsize             # key of a directory's own copystat: after all its entries

# TreeCopier steps whose OSError names the source (the others name the destination)
_SOURCE_STEPS = frozenset(("stat", "open", "read", "listxattr"))


def _umask():
    """The process umask without changing it (os.umask would, for every thread): -1 if
    unknown, and then every copied file is chmod-ed."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return -1


def _refuse_into_itself(src, dst):
    """``cp -r a a/b`` would copy its own output (shutil.copytree recurses until the path is
    too long): refused, as ``shutil.move`` refuses to move a directory into itself."""
    real_src = os.path.realpath(os.fsencode(src))
    real_dst = os.path.realpath(os.fsencode(dst))
    if real_dst.startswith(real_src.rstrip(b"/") + b"/"):
        raise shutil.Error(f"Cannot copy a directory {os.fspath(src)!r} into itself "
                           f"{os.fspath(dst)!r}")


def copytree(src, dst, *, symlinks=False, dirs_exist_ok=False, ignore=None, progress=None):
    """See ``ioring.files.copytree``."""
    _refuse_into_itself(src, dst)
    if _fileops is None:
        return shutil.copytree(src, dst, symlinks=symlinks, ignore=ignore,
                               dirs_exist_ok=dirs_exist_ok)
    sys.audit("shutil.copytree", src, dst)
    return _Tree(src, dst, symlinks, dirs_exist_ok, ignore).run(progress)


class _Tree:
    def __init__(self, src, dst, symlinks, dirs_exist_ok, ignore):
        self.src = src
        self.dst = dst
        src_f = os.fspath(src)
        dst_f = os.fspath(dst)
        # Reported paths take the type shutil's would have: str unless that side is bytes.
        self.src_name = os.fsdecode if isinstance(src_f, str) else os.fsencode
        self.dst_name = os.fsdecode if isinstance(dst_f, str) else os.fsencode
        self.src_b = os.fsencode(src_f)
        self.dst_b = os.fsencode(dst_f)
        self.text_names = isinstance(src_f, str)     # what ignore() is given
        self.symlinks = symlinks
        self.dirs_exist_ok = dirs_exist_ok
        self.ignore = ignore
        self.errors = []            # (key, (srcname, dstname, message))
        self.dirs = []              # (key, src, dst) in pre-order, for copystat
        self.job_keys = []          # engine job index -> key
        self.job_src = []
        self.job_dst = []

    def run(self, progress):
        try:                                    # errors at the top are raised, as shutil's
            with os.scandir(self.src_b) as it:
                entries = list(it)
            existed = self.dirs_exist_ok and os.path.isdir(self.dst_b)
            os.makedirs(self.dst_b, exist_ok=self.dirs_exist_ok)
        except OSError as exc:
            raise self._as_given(exc) from None
        umask = _umask()
        try:
            if "system.posix_acl_default" in os.listxattr(self.dst_b):
                umask = -1          # files get the default ACL's mode, not the umask's: chmod all
        except OSError:
            pass
        copier = _fileops.TreeCopier(_SLOTS, _BUFSIZE, _USE_RING, umask, _MAX_WORKERS,
                                     _ASYNC_CREATE)
        try:
            stack = [((), self.src_b, self.dst_b, entries, existed, self.src)]
            while stack:
                self._copy_dir(copier, stack)
            failures = copier.drain(progress)
        finally:
            copier.close()
        for job, err, step in failures:
            self._file_failed(job, err, step)
        self._copy_dir_stats()
        if progress is not None:
            progress(copier.bytes_done, copier.bytes_found)
        if self.errors:
            self.errors.sort(key=lambda e: e[0])
            raise shutil.Error([e for _, e in self.errors])
        return self.dst

    def _error(self, key, srcname, dstname, why):
        self.errors.append((key, (self.src_name(srcname), self.dst_name(dstname),
                                  str(self._as_given(why)))))

    def _as_given(self, why):
        """An OSError raised by a call on the bytes paths of the walk, with its file names in
        the type the caller gave (what shutil's message would show)."""
        if not isinstance(why, OSError) or not isinstance(why.filename, bytes) \
                or self.src_name is os.fsencode:
            return why
        name2 = why.filename2
        return type(why)(why.errno, why.strerror, os.fsdecode(why.filename), None,
                         None if name2 is None else os.fsdecode(name2))

    def _copy_dir(self, copier, stack):
        """List (unless the caller did), create and copy one directory: its files go to the
        engine, its subdirectories onto ``stack``."""
        key, src, dst, entries, existed, src_given = stack.pop()
        if entries is None:                     # a subdirectory: shutil's nested copytree
            try:
                with os.scandir(src) as it:
                    entries = list(it)
                try:
                    os.mkdir(dst)
                except FileExistsError:
                    if not self.dirs_exist_ok or not os.path.isdir(dst):
                        raise
                    existed = True
            except OSError as why:
                self._error(key, src, dst, why)
                return
        self.dirs.append((key, src, dst))
        ignored = ()
        if self.ignore is not None:
            if self.text_names:
                names = [os.fsdecode(e.name) for e in entries]
                ignored = {os.fsencode(n) for n in self.ignore(os.fsdecode(src_given), names)}
            else:
                names = [e.name for e in entries]
                ignored = set(self.ignore(src_given, names))
        prefix = dst if dst.endswith(b"/") else dst + b"/"
        srcs = []
        dsts = []
        keys = []
        subdirs = []
        symlinks = self.symlinks
        for idx, entry in enumerate(entries):
            name = entry.name
            if name in ignored:
                continue
            srcname = entry.path
            dstname = prefix + name
            try:
                if entry.is_symlink():
                    linkto = os.readlink(srcname)
                    if symlinks:
                        os.symlink(linkto, dstname)
                        shutil.copystat(srcname, dstname, follow_symlinks=False)
                        continue
                    is_dir = entry.is_dir()     # follows the link (a stat)
                else:
                    is_dir = entry.is_dir()
            except OSError as why:
                self._error((*key, idx), srcname, dstname, why)
                continue
            if is_dir:
                subdirs.append(((*key, idx), srcname, dstname, None, False,
                                os.path.join(src_given, self.src_name(name))))
            else:
                srcs.append(srcname)
                dsts.append(dstname)
                keys.append((key, idx))
        if srcs:
            self.job_keys += keys
            self.job_src += srcs
            self.job_dst += dsts
            copier.add(srcs, dsts, existed)
        subdirs.reverse()                       # popped in listing order
        stack += subdirs

    def _file_failed(self, job, err, step):
        parent, idx = self.job_keys[job]
        key = (*parent, idx)
        src = self.job_src[job]
        dst = self.job_dst[job]
        if step == "special":
            # Not a regular file: shutil.copy2 does what shutil does with it.
            try:
                shutil.copy2(self.src_name(src), self.dst_name(dst))
            except shutil.Error as exc:
                self.errors.extend((key, e) for e in exc.args[0])
            except OSError as why:
                self._error(key, src, dst, why)
            return
        if step == "same":
            # shutil.copyfile's message (it is given the DirEntry of the source)
            name = self.src_name(os.path.basename(src))
            why = f"<DirEntry {name!r}> and {self.dst_name(dst)!r} are the same file"
        else:
            path = src if step in _SOURCE_STEPS else dst
            why = OSError(err, os.strerror(err), self.src_name(path) if path is src
                          else self.dst_name(path))
        self._error(key, src, dst, why)

    def _copy_dir_stats(self):
        """copystat of every directory, deepest first (after everything in it is written)."""
        dirs = self.dirs[::-1]
        failures = _fileops.copy_stats([s for _, s, _ in dirs], [d for _, _, d in dirs])
        for i, err, step in failures:
            key, src, dst = dirs[i]
            path = src if step in _SOURCE_STEPS else dst
            why = OSError(err, os.strerror(err), self.src_name(path) if path is src
                          else self.dst_name(path))
            self._error((*key, _LAST), src, dst, why)
