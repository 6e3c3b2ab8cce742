"""Zip and wheel extraction: the engine behind ``ioring.files.extract_zip`` and
``ioring.files.install_wheel``.

How an archive is extracted (choices measured on the torch CPU wheel, numpy's and pandas'
wheels, 2 CPUs; ``bench/bench_wheels.py``, ``bench/RESULTS.md``):

1. The central directory is read by ``ioring._zipdir`` (as zipfile reads it, 2.5x faster: the
   whole of it is read before anything else can start), or by ``zipfile`` for what only zipfile
   reads (zip64 records, prepended data, ...). Before anything is
   written, every member is checked: names that would land outside the destination are refused
   (ValueError), and so are archives that look like zip bombs (``zipfile.BadZipFile``):
   overlapping members (the data of one member running into another's header: the
   "non-recursive" zip bomb, which makes a few MB claim terabytes), a declared size that deflate
   cannot produce from the member's compressed size (more than 1032:1), and members or archives
   whose declared sizes exceed ``max_ratio`` times their compressed size (default 200:1, applied
   above 1 MiB; the largest ratio in the torch, numpy and pandas wheels is 25:1).
   ``max_ratio=None`` lifts that limit; the others always hold. Declared sizes are then
   enforced while inflating: a member never produces more than it declared, nor less.
2. The members to write are cut into *units*: each member over 1 MiB (inflated or compressed)
   is a *stream*, inflated 1 MiB at a time, each chunk written at its offset while the next one
   inflates (memory does not grow with the member: at most 4 chunks in flight); the other
   members are grouped in *batches* of neighbours in the archive (the directory entries between
   them read over), read with one ``pread`` of at most 512 KiB of compressed data into a
   buffer the thread reuses, and inflated whole. Batches shrink towards the end of the archive
   (at most 1/(2 x threads) of what is left), so that the threads finish together.
3. One thread per CPU (up to 8; the calling thread is one of them) takes units in turn (the
   others start before the directories exist: the calling thread makes them while the others
   inflate their first units, which are written once it is done; a stream's file is created
   with its first chunk): streams
   first, largest first, so that the longest member - the critical path, torch's 414 MiB
   libtorch_cpu.so - starts at once on one CPU while the other CPUs take everything else. The
   deflate decoder (``ioring._inflate``: ISA-L, else zlib-ng, else zlib) and ``pread`` release
   the GIL, so the threads inflate in parallel. The threads import nothing (an import lock
   left taken by a Ctrl-C in the calling thread would stop them) and start with signals
   blocked (they go to the calling thread).
4. Writes go through io_uring. A batch's members, 1 MiB of inflated data at a time (more is
   more fresh memory to fault in: 4 MiB cost ~3,500 more page faults for pandas' wheel), go to
   ``_fileops.write_pipelined`` (a C loop, the GIL released: each file created by
   ``openat2(RESOLVE_BENEATH)`` on the thread, its write on one io-wq worker): a third less
   CPU per file than chains ``openat2 -> write`` prepared and reaped from Python, which remain
   for builds without ``_fileops``. A stream's file is opened once on a direct descriptor of
   the thread's ``Ring`` and its chunks are written with ``IOSQE_ASYNC`` (the copy into the
   page cache runs in an io-wq worker, not under the GIL of the inflating thread). Every write
   is at most ``_WRITE_MAX`` bytes (64 KiB on this project's VM, see ``_write_max``: larger
   writes get large page-cache folios on ext4, which cost a fault in the hypervisor here).
   Registered buffers are not used: the decoders return new ``bytes`` objects and cannot
   inflate into a given buffer, so a registered buffer would cost a copy per chunk. Without
   io_uring (disabled, or a kernel without IORING_FEAT_LINKED_FILE) the threads write with
   ``os.open(O_NOFOLLOW)/os.pwrite`` instead.
5. The CRC-32 of every member is computed as it inflates (zipfile checks it too) and a mismatch
   raises ``zipfile.BadZipFile``; ``install_wheel`` also has each member's SHA-256 computed as
   it is written.

Errors: the first ``BadZipFile``/``ValueError`` (or KeyboardInterrupt) stops every thread at its
next chunk or member; the threads close their rings (every request in flight completes or is
cancelled first), and it is raised. A member that cannot be written (EACCES, EXDEV from
RESOLVE_BENEATH...) does not stop the others: once everything completed, an ``OSError`` naming
the first such path (archive order) is raised, with every failure in its ``errors`` attribute.
Files being written when an error or Ctrl-C stops the run may be incomplete, as with zipfile.
"""
from __future__ import annotations

import errno
import gc
import io
import itertools
import os
import stat
import struct
import sys
import threading
import zipfile

# signal's C module: the same pthread_sigmask (sets of ints rather than Signals members), without
# signal.py's enum building (0.5 ms at import, a tenth of what importing this module costs)
import _signal

from ioring import liburing as L
from ioring import _inflate, _zipdir

try:
    from ioring import _fileops
except ImportError:         # a build without the C loops: chains prepared from Python
    _fileops = None

__all__ = ["extract_zip", "DEFAULT_MAX_RATIO"]

# ---- tuning (see the module docstring) ----------------------------------------------------------

_STREAM_MIN = 1 << 20       # members larger than this (inflated or compressed) are streamed
_CHUNK = 1 << 20            # a stream is inflated and written this much at a time
_FEED = 256 << 10           # compressed bytes handed to the decoder per call (streams)
_DEPTH = 4                  # chunk writes in flight per stream
_WINDOW = 512 << 10         # compressed bytes of neighbouring small members read with one pread
_WINDOW_MEMBERS = 128       # members per batch at most (so that threads share the work)
_WINDOW_MIN = 64 << 10      # ... and at least this (the last batches are the smallest)
_WINDOW_MEMBERS_MIN = 16
_GAP = 4096                 # bytes of other entries a batch's pread may read over
_BUDGET = 1 << 20           # inflated bytes waiting for their writes, per thread (more: more
                            # fresh memory to fault in, in a new process: 4 MiB cost ~3,500
                            # more page faults, ~5 ms of CPU, for pandas' wheel)
_SLOTS = 32                 # files in flight per thread (direct descriptors)
_SUBMIT_EVERY = 8           # small-member chains queued per io_uring_enter
_MAX_THREADS = 8
_PIPE_ENTRIES = 256         # SQ entries of a thread's ring for write_pipelined: _SLOTS files,
                            # or a datum of up to 254 writes of _WRITE_MAX
# glibc's malloc thresholds during and after a run (see _keep_heap)
_MMAP_THRESHOLD = 2 << 20
_TRIM_THRESHOLD = 8 << 20


def _write_max(path="/sys/module/page_reporting/parameters/page_reporting_order"):
    """The largest write, in bytes. The page cache sizes ext4's (and XFS's) large folios by the
    write; where the kernel reports free memory to its hypervisor (virtio-balloon free page
    reporting) from blocks of 2^page_reporting_order pages, a folio that large comes from
    memory the host may have taken back, and touching it costs a fault in the host: on this
    project's VM (order 5, 128 KiB) writing 700 MB to a new ext4 file took 4.4-5.9 s of CPU in
    writes of 128 KiB to 1 MiB, 0.19 s in writes of 64 KiB (tmpfs: 0.27 s either way). So
    writes stay below that block size; 1 MiB elsewhere."""
    try:
        with open(path) as f:
            order = int(f.read())
    except (OSError, ValueError):
        return _CHUNK
    return max(4096, min(_CHUNK, 4096 << max(order - 1, 0)))


_WRITE_MAX = _write_max()
_PIECES = -(-_CHUNK // _WRITE_MAX)     # writes per chunk of a stream
_ONE_THREAD_BELOW = 1 << 20  # less compressed data than this: no threads (their start-up costs)

#: the default ``max_ratio``: members (and archives) that declare more than this many bytes per
#: compressed byte are refused as possible zip bombs (above ``RATIO_GRACE`` bytes)
DEFAULT_MAX_RATIO = 200
RATIO_GRACE = 1 << 20
_DEFLATE_MAX_RATIO = 1032   # deflate's limit: 258 bytes from a 2-bit length/distance pair

_LOCAL_HEADER = struct.Struct("<4s5H3L2H")
_LOCAL_MAGIC = b"PK\x03\x04"
_LOCAL_MAX = _LOCAL_HEADER.size + 2 * 0xFFFF      # local header with the longest name and extra
_STORED, _DEFLATED = zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED
_UTF8_NAME = 0x800
_ASCII_SUPERSETS = ("utf-8", "cp437")

_FIXED = L.IOSQE_FIXED_FILE
_LINK = L.IOSQE_IO_LINK
_ASYNC = L.IOSQE_ASYNC
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
_ECANCELED = errno.ECANCELED
_FS_ENCODING, _FS_ERRORS = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()


# ---- member names and modes ---------------------------------------------------------------------

def member_parts(name):
    """The path components of an archive member, or ValueError for a name that would land
    outside the destination (absolute, drive-qualified, ``..``) or that holds a NUL."""
    if "\x00" in name:
        raise ValueError(f"archive member name holds a NUL byte: {name!r}")
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":" and name[0].isalpha()):
        raise ValueError(f"absolute path in archive member {name!r}")
    if ".." in name.replace("\\", "/").split("/"):
        raise ValueError(f"path traversal ('..') in archive member {name!r}")
    return [p for p in name.split("/") if p not in ("", ".")]


def member_rel(name):
    """The "/"-separated path of an archive member relative to the destination ("" for the
    destination itself), or ValueError as ``member_parts`` says. Most names need no splitting:
    a quick look first (a tenth of the time of the general case per member)."""
    if (name and "\x00" not in name and "\\" not in name and ".." not in name
            and "//" not in name and "/./" not in name and name[0] != "/"
            and name[:2] != "./" and name[1:2] != ":" and name != "."
            and not name.endswith("/.")):
        return name[:-1] if name[-1] == "/" else name
    return "/".join(member_parts(name))


def member_mode(info):
    """Permission bits for a regular file from ``external_attr`` (Unix archivers), without
    setuid/setgid/sticky; 0o644 when the archive has none (the umask still applies)."""
    attr = info.external_attr >> 16
    perm = attr & 0o777
    if perm and (stat.S_IFMT(attr) in (0, stat.S_IFREG)):
        return perm
    return 0o644


# ---- the archive --------------------------------------------------------------------------------

class Archive:
    """An open zip archive: its ``ZipFile`` (central directory) and positional reads of its
    bytes (``os.pread`` on its file, or slices of an in-memory buffer), safe from any thread."""

    def __init__(self, archive):
        self.path = None
        self._owned = None
        self._fd = -1
        self._view = None
        if isinstance(archive, (str, bytes, os.PathLike)):
            self.path = os.fsdecode(os.fspath(archive))
            f = self._owned = open(self.path, "rb")
        else:
            f = archive
        try:
            # The central directory: ioring._zipdir where it reads it as zipfile would (most
            # archives, 4x faster), else zipfile.
            self._fd = self._regular_fd(f)
            if self._fd >= 0:
                fd = self._fd
                self.zf = (_zipdir.read(lambda at, n: os.pread(fd, n, at),
                                        os.fstat(fd).st_size, f)
                           or zipfile.ZipFile(f))
            elif hasattr(f, "getbuffer"):
                view = self._view = f.getbuffer()
                self.zf = (_zipdir.read(lambda at, n: view[at:at + n], len(view), f)
                           or zipfile.ZipFile(f))
            else:
                self.zf = zipfile.ZipFile(f)
                f.seek(0)
                self._view = memoryview(f.read())
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _regular_fd(f):
        """The fd of a plain file object over a regular file (positional reads do not move
        its offset), else -1: other objects are read through their own methods."""
        if not isinstance(f, (io.BufferedReader, io.BufferedRandom, io.FileIO)):
            return -1
        try:
            fd = f.fileno()
            return fd if stat.S_ISREG(os.fstat(fd).st_mode) else -1
        except (OSError, ValueError):
            return -1

    def read(self, offset, n, what):
        """``n`` bytes at ``offset`` (bytes or a memoryview), or BadZipFile naming ``what``."""
        if self._view is not None:
            data = self._view[offset:offset + n]
        else:
            data = os.pread(self._fd, n, offset)
            if len(data) < n and data:
                parts = [data]
                got = len(data)
                while got < n:
                    more = os.pread(self._fd, n - got, offset + got)
                    if not more:
                        break
                    parts.append(more)
                    got += len(more)
                data = b"".join(parts)
        if len(data) != n:
            raise zipfile.BadZipFile(f"truncated archive: {what} lies past its end")
        return data

    def read_into(self, scratch, offset, n, what):
        """Like ``read``, but a file's bytes are read into ``scratch`` (a ``_Scratch``): no new
        memory per call (fresh memory costs a page fault per 4 KiB on first touch). The
        memoryview returned is valid until the next use of ``scratch``."""
        if self._view is not None:
            return self.read(offset, n, what)
        view = scratch.view(n)
        got = 0
        while got < n:
            k = os.preadv(self._fd, [view[got:]], offset + got)
            if not k:
                break
            got += k
        if got != n:
            raise zipfile.BadZipFile(f"truncated archive: {what} lies past its end")
        return view

    def close(self):
        zf = getattr(self, "zf", None)
        if zf is not None:
            zf.close()
        if self._view is not None:
            try:
                self._view.release()
            except BufferError:
                pass
            self._view = None
        if self._owned is not None:
            self._owned.close()
            self._owned = None


class _Scratch:
    """A thread's reusable read buffer (grown when a larger one is asked for)."""

    __slots__ = ("buf",)

    def __init__(self):
        self.buf = bytearray()

    def view(self, n):
        if len(self.buf) < n:
            self.buf = bytearray(max(n, 2 * len(self.buf)))   # views of the old one stay valid
        return memoryview(self.buf)[:n]


class Member:
    """One file to write: its entry in the archive and where it goes."""

    __slots__ = ("job", "info", "rel", "mode", "start", "end", "size", "csize", "crc", "method",
                 "rewrite", "sha256", "orig_sha256", "written")

    def __init__(self, job, info, rel, mode, end, rewrite=None):
        self.job = job
        self.info = info
        self.rel = rel                  # path relative to the destination, "/"-separated
        self.mode = mode
        self.start = info.header_offset
        self.end = end                  # where the next entry (or the central directory) starts
        self.size = info.file_size
        self.csize = info.compress_size
        self.crc = info.CRC
        self.method = info.compress_type if not info.flag_bits & 0x1 else -1   # -1: encrypted
        self.rewrite = rewrite          # callable(first bytes) -> replaced bytes, or None
        self.sha256 = None              # digest of what was written (when hashing)
        self.orig_sha256 = None         # digest of the member as stored, when rewritten
        self.written = 0                # bytes written (the size, unless rewritten)


def check_archive(zf, max_ratio):
    """Refuse zip bombs before anything is written (BadZipFile, with what to do if the
    archive is trusted): overlapping members, impossible declared sizes, and sizes beyond
    ``max_ratio``:1 (None: no ratio limit). Returns {header_offset: end offset}."""
    infos = zf.infolist()
    ends = {}
    order = sorted(infos, key=lambda i: i.header_offset)
    end = zf.start_dir
    for info in reversed(order):
        if info.header_offset + _LOCAL_HEADER.size + info.compress_size > end:
            raise zipfile.BadZipFile(
                f"Overlapped entries: {info.filename!r} runs into the next member (a zip bomb "
                "re-uses member data this way): refusing the archive")
        ends.setdefault(info.header_offset, end)
        end = info.header_offset
    total = ctotal = 0
    for info in infos:
        size, csize = info.file_size, info.compress_size
        total += size
        ctotal += csize
        if info.compress_type == _STORED and not info.flag_bits & 0x1 and size != csize:
            raise zipfile.BadZipFile(f"stored member {info.filename!r} declares {size} bytes "
                                     f"but holds {csize}: corrupt archive")
        if info.compress_type == _DEFLATED and size > csize * _DEFLATE_MAX_RATIO + 1024:
            raise zipfile.BadZipFile(
                f"member {info.filename!r} declares {size} bytes from {csize} compressed bytes, "
                f"more than deflate can produce (at most {_DEFLATE_MAX_RATIO}:1): corrupt "
                "archive or zip bomb, refused")
        if max_ratio is not None and size > RATIO_GRACE and size > max_ratio * max(csize, 1):
            raise zipfile.BadZipFile(
                f"member {info.filename!r} would inflate {csize} bytes to {size} "
                f"({size / max(csize, 1):.0f}:1, above max_ratio={max_ratio}): refused as a "
                "possible zip bomb; if the archive is trusted, pass max_ratio=None "
                "(--max-ratio 0 on the command line)")
    if max_ratio is not None and total > RATIO_GRACE and total > max_ratio * max(ctotal, 1):
        raise zipfile.BadZipFile(
            f"the archive would inflate {ctotal} bytes to {total} ({total / max(ctotal, 1):.0f}:1, "
            f"above max_ratio={max_ratio}): refused as a possible zip bomb; if it is trusted, "
            "pass max_ratio=None (--max-ratio 0 on the command line)")
    return ends


def make_dirs(dest, dirs):
    """Create the directories ``dirs`` (relative, "/"-separated) under ``dest``, parents first.
    A directory created here is safe; an existing one is accepted unless it is a symbolic link
    that resolves outside dest (ValueError) or not a directory (NotADirectoryError)."""
    real_dest = os.path.realpath(dest)
    for d in sorted(dirs, key=lambda s: s.count("/")):
        full = os.path.join(dest, d)
        try:
            os.mkdir(full)
        except FileExistsError:
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                resolved = os.path.realpath(full)
                if resolved != real_dest and not resolved.startswith(real_dest + os.sep):
                    raise ValueError(f"archive directory {d!r} resolves outside {dest!r} "
                                     f"(symbolic link to {resolved!r})") from None
                st = os.stat(full)
            if not stat.S_ISDIR(st.st_mode):
                raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), full) from None


def parent_dirs(rels):
    """Every directory that holds one of the relative paths ``rels``."""
    dirs = set()
    for rel in rels:
        d = rel.rpartition("/")[0]
        while d and d not in dirs:
            dirs.add(d)
            d = d.rpartition("/")[0]
    return dirs


# ---- extract_zip --------------------------------------------------------------------------------

def extract_zip(archive, dest, *, progress=None, max_ratio=DEFAULT_MAX_RATIO, threads=None):
    """``ioring.files.extract_zip`` (documented there)."""
    if max_ratio is not None and not max_ratio > 0:
        raise ValueError("max_ratio must be > 0, or None for no limit")
    dest = os.fsdecode(os.fspath(dest))
    gc_was_on = gc.isenabled()
    try:
        gc.disable()                # see the note after this function
        src = Archive(archive)
        try:
            zf = src.zf
            # 1. Every name, then the archive as a whole, before touching the filesystem.
            entries = {}                # relative path -> (info, is_dir): the last entry wins
            for info in zf.infolist():
                rel = member_rel(info.filename)
                if rel:
                    entries.pop(rel, None)          # keeps archive order of the last ones
                    entries[rel] = (info, info.filename[-1] == "/")
            ends = check_archive(zf, max_ratio)
            # 2. The files, their directories (inside dest once resolved: made by run() while
            # its threads start inflating).
            os.makedirs(dest, exist_ok=True)
            files = [(rel, info) for rel, (info, is_dir) in entries.items() if not is_dir]
            dirs = parent_dirs(rel for rel, _ in files)
            dirs.update(rel for rel, (_, is_dir) in entries.items() if is_dir)
            members = [Member(job, info, rel, member_mode(info), ends[info.header_offset])
                       for job, (rel, info) in enumerate(files)]
            run(src, dest, members, progress=progress, threads=threads, dirs=dirs)
            prefix = os.path.join(dest, "")
            return [prefix + rel for rel in entries]
        finally:
            src.close()
    finally:
        if gc_was_on:
            gc.enable()


# The cyclic garbage collector is off during extract_zip (then on again if it was): reading the
# directory allocates a few objects per member (entries, members, tuples) that live until the
# end, and every 700 allocations a collection traverses all of them with the GIL held -
# pandas' wheel: 13 young and 1 older collection, ~2 ms of the calling thread's time, most of
# it before the other threads start. extract_zip makes no reference cycles.


# ---- the run: units shared by threads ---------------------------------------------------------

_STREAM, _BATCH, _ZIPFILE = 0, 1, 2


def plan(members, workers=1):
    """The units of work, in the order threads take them: streams (largest first), batches
    of neighbouring small members (archive order), members only zipfile can decode. Batches
    shrink towards the end (each at most 1 / (2 x ``workers``) of what is left, down to
    _WINDOW_MIN), so that the threads finish together: the last unit is short."""
    streams, others, small = [], [], []
    for m in members:
        if m.method not in (_STORED, _DEFLATED):
            others.append(m)
        elif m.size > _STREAM_MIN or m.csize > _STREAM_MIN:
            streams.append(m)
        else:
            small.append(m)
    streams.sort(key=lambda m: m.size, reverse=True)
    units = [(_STREAM, m) for m in streams]
    small.sort(key=lambda m: m.start)
    left = sum(m.csize for m in small)
    left_members = len(small)
    share = 2 * max(workers, 1)
    batch = []
    base = window_end = 0
    window = members_max = 0
    for m in small:
        m_end = min(m.end, m.start + _LOCAL_MAX + m.csize)
        # a gap: entries not written here (directories, duplicates, streams) lie between
        # the two; a short one is read over rather than cutting the batch (in wheels each
        # directory entry sits between two files)
        if batch and (not 0 <= m.start - window_end <= _GAP or m_end - base > window
                      or len(batch) >= members_max):
            units.append((_BATCH, batch))
            batch = []
        if not batch:
            base = m.start
            window = min(_WINDOW, max(_WINDOW_MIN, left // share))
            members_max = min(_WINDOW_MEMBERS, max(_WINDOW_MEMBERS_MIN, left_members // share))
        batch.append(m)
        window_end = m.end
        left -= m.csize
        left_members -= 1
    if batch:
        units.append((_BATCH, batch))
    units += [(_ZIPFILE, m) for m in others]
    return units


class _Run:
    """What the threads of one extraction share."""

    def __init__(self, src, dfd, units, total, nthreads, hashing):
        self.src = src
        self.dfd = dfd
        self.units = units
        self.take = itertools.count().__next__       # atomic: each unit goes to one thread
        self.total = total
        self.done = [0] * nthreads                  # bytes written, per thread
        # hashlib.sha256 when hashing: imported here, by the calling thread (an import inside
        # the threads could deadlock on the import locks after Ctrl-C interrupted one)
        self.sha256 = None
        if hashing:
            import hashlib
            self.sha256 = hashlib.sha256
        self.hashing = hashing
        self.stop = False
        self.failure = None
        self.errors = {}                            # job -> (errno, what) of a failed write
        self.lock = threading.Lock()
        self.left = threading.Condition(self.lock)  # notified when a thread leaves _work
        self.running = 0                            # threads inside _work
        self.dirs_made = threading.Event()          # set: nothing stops a thread writing
        self.closed = False                         # set: a thread entering _work returns

    def fail(self, exc):
        with self.lock:
            if self.failure is None:
                self.failure = exc
        self.stop = True


def run(src, dest, members, *, progress=None, threads=None, hashing=False, dirs=None):
    """Write ``members`` (``Member`` objects of the open Archive ``src``) under ``dest``, an
    existing directory. ``dirs``: the directories (relative, "/"-separated) to create first with
    ``make_dirs``; the calling thread makes them once the other threads have started, which
    inflate their first units meanwhile but write nothing before they exist (None: they exist).
    ``hashing``: set each member's ``sha256`` (and ``orig_sha256`` when it is rewritten). Raises
    as the module docstring says."""
    from ioring import files as F            # not at import time: files imports this module
    if threads is not None and threads < 1:
        raise ValueError("threads must be >= 1 (or None: one per CPU)")
    total = sum(m.size for m in members)
    if not members:
        if dirs:
            make_dirs(dest, dirs)
        if progress is not None:
            progress(0, 0)
        return
    compressed = sum(m.csize for m in members)
    _keep_heap()
    if threads is None:
        threads = 1 if compressed < _ONE_THREAD_BELOW else min(F._cpus(), _MAX_THREADS)
    units = plan(members, threads)
    threads = max(1, min(threads, len(units)))
    dfd = os.open(dest, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    r = _Run(src, dfd, units, total, threads, hashing)
    workers = []
    try:
        # Signals blocked while the threads start (they inherit the mask, so signals go to the
        # calling thread): a handler raising (Ctrl-C) inside Thread.start(), which waits for
        # the new thread, would otherwise leave a thread out of ``workers``. (Where another
        # thread of the program takes the signal, the handler may still run there: such a
        # thread finds the run closed when it enters _work, and does nothing.)
        blocked = F._block_signals()
        try:
            for i in range(1, threads):
                t = threading.Thread(target=_work, args=(r, i, None), name=f"ioring-unzip-{i}",
                                     daemon=True)
                t.start()
                workers.append(t)
        finally:
            if blocked is not None:
                _signal.pthread_sigmask(_signal.SIG_SETMASK, blocked)
        if dirs:
            make_dirs(dest, dirs)
        r.dirs_made.set()
        _work(r, 0, progress)
    except BaseException as exc:        # KeyboardInterrupt between units: stop the others
        r.fail(exc)
    finally:
        r.dirs_made.set()           # (after r.fail: a waiting thread then sees r.stop)
        with r.lock:
            r.closed = True         # a thread not yet in _work will not start anything
        while True:
            try:
                with r.lock:
                    if not r.running:
                        break
                    r.left.wait(0.05)
                if progress is not None and not r.stop:
                    progress(sum(r.done), total)
            except BaseException as exc:    # Ctrl-C (or progress failing) while waiting:
                r.fail(exc)                 # stop them, but wait: nothing may be left running
        for t in workers:                   # leaving _work: their rings are closed
            while t.is_alive():
                try:
                    t.join()
                except BaseException as exc:
                    r.fail(exc)
        os.close(dfd)
    if r.failure is not None:
        raise r.failure
    if r.errors:
        F._raise_collected(r.errors, [os.path.join(dest, m.rel) for m in members])
    if progress is not None:
        progress(total, total)


_heap_kept = False


def _keep_heap():
    """Once per process: malloc keeps blocks of up to 2 MiB (a chunk, a batch's members) on
    its heap and up to 8 MiB free at its top. By default glibc gives each freed block of 128 KiB
    and more back to the kernel (or trims the heap past 128 KiB free, thresholds it raises to
    ~1 and ~2 MiB once such a block is freed), so the next chunk faults its pages in again:
    numpy's wheel took ~8,500 page faults in a fresh process, ~4,800 so (~2.8 us each here,
    free page reporting). What it costs a program afterwards: up to 8 MiB of freed memory per
    malloc arena kept rather than returned, blocks of 128 KiB-2 MiB from the heap rather than
    mmap (what glibc's own adjustment does after the first such block is freed anyway), and
    thresholds no longer adjusted past these by glibc."""
    global _heap_kept
    if not _heap_kept and _fileops is not None:
        _heap_kept = True
        _fileops.keep_heap(_MMAP_THRESHOLD, _TRIM_THRESHOLD)


def _work(r, index, progress):
    """One thread: take units until none is left (or the run stops)."""
    from ioring import files as F
    if index:               # another thread (the calling one, index 0, is waited for as a call)
        with r.lock:
            if r.closed:
                return
            r.running += 1
    w = None
    try:
        ring = F._open_ring(4 * _SLOTS)
        try:
            w = _PlainWriter(r) if ring is None else _RingWriter(r, ring)
        except BaseException:
            if ring is not None:
                ring.close()
            raise
        units = r.units
        n = len(units)
        while not r.stop:
            i = r.take()
            if i >= n:
                break
            kind, what = units[i]
            if kind == _STREAM:
                _stream(r, w, index, what, progress)
            elif kind == _BATCH:
                _batch(r, w, index, what)
            else:
                _stream(r, w, index, what, progress, via_zipfile=True)
            if progress is not None:
                progress(sum(r.done), r.total)
        w.drain()
    except BaseException as exc:
        r.fail(exc)
    finally:
        if w is not None:
            try:
                w.close()
            except BaseException as exc:
                r.fail(exc)
        if index:           # no signal handler runs in this thread: this always happens
            with r.lock:
                r.running -= 1
                r.left.notify_all()


def _data_start(r, m, header, where):
    """Check the local header of ``m`` (read into ``header`` at ``where``) and return the
    offset of its data in ``header``."""
    name = m.info.filename
    if len(header) < where + _LOCAL_HEADER.size:
        raise zipfile.BadZipFile(f"truncated archive: the header of {name!r} lies past its end")
    fields = _LOCAL_HEADER.unpack_from(header, where)
    if fields[0] != _LOCAL_MAGIC:
        raise zipfile.BadZipFile(f"Bad magic number for file header of {name!r}")
    nlen, xlen = fields[9], fields[10]
    start = where + _LOCAL_HEADER.size + nlen + xlen
    if m.start + start - where + m.csize > m.end:
        raise zipfile.BadZipFile(f"Overlapped entries: {name!r} runs into the next member "
                                 "(a zip bomb re-uses member data this way)")
    raw_name = bytes(header[where + _LOCAL_HEADER.size:where + _LOCAL_HEADER.size + nlen])
    if len(raw_name) == nlen:
        encoding = "utf-8" if fields[2] & _UTF8_NAME else (r.src.zf.metadata_encoding
                                                           or "cp437")
        try:
            # ASCII: what cp437 and UTF-8 make of it, without the Python-level cp437 codec
            local = raw_name.decode("ascii" if encoding in _ASCII_SUPERSETS else encoding)
        except UnicodeDecodeError:
            try:
                local = raw_name.decode(encoding)
            except UnicodeDecodeError:
                local = None
        if local != m.info.orig_filename:
            raise zipfile.BadZipFile(f"File name in directory {m.info.orig_filename!r} and "
                                     f"header {raw_name!r} differ.")
    return start


def _checked(m, d, out, produced, final):
    """Size checks of an inflated piece (``out``, after ``produced`` bytes) of ``m``."""
    if produced + len(out) > m.size:
        raise zipfile.BadZipFile(f"{m.info.filename!r} inflates to more than the {m.size} "
                                 "bytes it declares: corrupt archive or zip bomb")
    if final and (not d.eof or produced + len(out) != m.size):
        raise zipfile.BadZipFile(f"{m.info.filename!r}: its data ends before the {m.size} "
                                 "bytes it declares: truncated or corrupt archive")


def _crc_error(m):
    return zipfile.BadZipFile(f"Bad CRC-32 for file {m.info.filename!r}")


def _batch(r, w, index, members):
    """Neighbouring small members: one pread, each inflated whole; written together (at most
    _BUDGET inflated bytes at a time) by ``w.put_many``."""
    first, last = members[0], members[-1]
    base = first.start
    end = min(last.end, last.start + _LOCAL_MAX + last.csize)
    what = f"member {first.info.filename!r}"
    if w.writes_now:        # nothing refers to the window once put_many returns: reuse it
        window = r.src.read_into(w.scratch, base, end - base, what)
    else:
        window = memoryview(r.src.read(base, end - base, what))
    crc32 = _inflate.crc32
    decoder = _inflate.decompressobj
    derror = _inflate.error
    done = r.done
    ready, datas = [], []
    pending = 0
    for m in members:
        if r.stop:
            return
        at = _data_start(r, m, window, m.start - base)
        raw = window[at:at + m.csize]
        if len(raw) != m.csize:
            raise zipfile.BadZipFile(f"truncated archive: the data of {m.info.filename!r} "
                                     "lies past its end")
        if m.method == _STORED:
            data = raw
        else:
            d = decoder()
            try:
                data = d.decompress(raw, m.size + 1)
            except derror as exc:
                raise zipfile.BadZipFile(f"{m.info.filename!r}: {exc}") from None
            _checked(m, d, data, 0, True)
        if crc32(data) != m.crc:
            raise _crc_error(m)
        if m.rewrite is not None or r.hashing:
            data = _hash_and_rewrite(m, data, r.sha256)
        m.written = len(data) if type(data) is bytes else data.nbytes
        ready.append(m)
        datas.append(data)
        pending += m.written
        if pending > _BUDGET:
            if not _dirs_ready(r):
                return
            w.put_many(ready, datas)
            done[index] += sum(m.size for m in ready)
            ready, datas = [], []
            pending = 0
    if ready and _dirs_ready(r):
        w.put_many(ready, datas)
        done[index] += sum(m.size for m in ready)
    w.flush()


def _dirs_ready(r):
    """Wait until the directories exist (``run``'s calling thread makes them while the others
    inflate their first units); False when the run stopped instead."""
    if not r.dirs_made.is_set():
        r.dirs_made.wait()
    return not r.stop


def _hash_and_rewrite(m, data, sha256):
    """Rewrite ``data`` if ``m`` says so; with ``sha256`` (hashlib's), record the digests."""
    if sha256 is not None:
        h = sha256(data)
    if m.rewrite is not None:
        new = m.rewrite(bytes(data))
        if new is not None:
            if sha256 is not None:
                m.orig_sha256 = h.digest()
                h = sha256(new)
            data = new
    if sha256 is not None:
        m.sha256 = h.digest()
    return data


def _stream(r, w, index, m, progress, via_zipfile=False):
    """A large member (or one only zipfile decodes): inflated and written chunk by chunk."""
    name = m.info.filename
    source = None
    if via_zipfile:
        source = r.src.zf.open(m.info)      # zipfile checks CRC-32 and sizes itself
    else:
        head = r.src.read(m.start, min(_LOCAL_MAX, m.end - m.start), f"member {name!r}")
        pos = m.start + _data_start(r, m, head, 0)
        data_end = pos + m.csize
        d = _inflate.decompressobj() if m.method == _DEFLATED else None
    opened = []         # the stream, once open: its file is created when the first chunk is
    try:                # ready (the directories may still be in the making until then)
        _stream_data(r, w, index, m, progress, opened, source,
                     None if source is not None else (pos, data_end, d))
    finally:
        try:
            if opened:
                w.close_stream(opened[0])
        finally:
            if source is not None:
                source.close()


def _open_stream(r, w, m, opened):
    """The file of a stream, created (None: the run stopped, or the open failed: recorded)."""
    if not _dirs_ready(r):
        return None
    st = w.open_stream(m)
    if st is not None:
        opened.append(st)
    return st


def _stream_data(r, w, index, m, progress, opened, source, raw):
    name = m.info.filename
    st = None
    if raw is not None:
        pos, data_end, d = raw
    crc32 = _inflate.crc32
    derror = _inflate.error
    sha256 = r.sha256
    hashing = sha256 is not None
    h = sha256() if hashing else None
    orig = None
    crc = produced = written = 0
    tail = b""
    first = True
    done = r.done
    while not r.stop and (st is None or not st.failed):
        if source is not None:
            chunk = source.read(_CHUNK)
            if not chunk:
                break
        elif d is None:                     # stored
            if pos >= data_end:
                break
            chunk = r.src.read(pos, min(_CHUNK, data_end - pos), f"member {name!r}")
            pos += len(chunk)
        else:
            if not tail and pos < data_end:
                tail = r.src.read(pos, min(_FEED, data_end - pos), f"member {name!r}")
                pos += len(tail)
            try:
                chunk = d.decompress(tail, _CHUNK)
            except derror as exc:
                raise zipfile.BadZipFile(f"{name!r}: {exc}") from None
            tail = d.unconsumed_tail
            if not chunk:
                if d.eof or (pos >= data_end and not tail):
                    break
                continue
            _checked(m, d, chunk, produced, False)
        if source is None:
            crc = crc32(chunk, crc)
        produced += len(chunk)
        if first and m.rewrite is not None:
            new = m.rewrite(bytes(chunk))
            if new is not None:
                if hashing:
                    orig = sha256(chunk)
                chunk = new
        elif orig is not None:
            orig.update(chunk)
        first = False
        if h is not None:
            h.update(chunk)
        if st is None:
            st = _open_stream(r, w, m, opened)
            if st is None:
                return
        w.write(st, chunk, written)
        written += len(chunk)
        done[index] += len(chunk)
        if progress is not None:
            progress(sum(done), r.total)
    if st is None and not r.stop:           # no data: an empty file
        st = _open_stream(r, w, m, opened)
        if st is None:
            return
    if r.stop or st.failed:
        return
    if source is None:
        if d is not None:
            _checked(m, d, b"", produced, True)
        elif produced != m.size:
            raise zipfile.BadZipFile(f"{name!r}: its data ends before the {m.size} bytes "
                                     "it declares")
        if crc != m.crc:
            raise _crc_error(m)
    m.written = written
    if h is not None:
        m.sha256 = h.digest()
        if orig is not None:
            m.orig_sha256 = orig.digest()
    done[index] += m.size - produced        # progress counts declared sizes


# ---- writers: io_uring chains, or plain syscalls ----------------------------------------------

class _Stream:
    __slots__ = ("job", "slot", "fd", "outstanding", "closed", "failed", "opened")

    def __init__(self, job, slot):
        self.job = job
        self.slot = slot
        self.fd = -1
        self.outstanding = 0
        self.closed = False
        self.failed = False
        self.opened = None


_OPEN, _LONE_OPEN, _WRITE, _STREAM_OPEN, _CHUNK_WRITE = range(5)
_WHAT = ("open", "open", "write", "open", "write")


class _RingWriter:
    """One thread's ring: ``openat2_direct(slot) -> write`` chains for small members, an open
    then IOSQE_ASYNC chunk writes for streams; at most _SLOTS files and _BUDGET bytes in flight."""

    def __init__(self, r, ring):
        from ioring import files as F
        self.r = r
        self.ring = ring
        self.u = ring.uring
        F._register_slots(ring, _SLOTS)
        self.free = list(range(_SLOTS - 1, -1, -1))
        self.pending = {}           # user_data -> [kind, job, expected length, data, stream]
        self.next_tag = itertools.count(1).__next__
        self.hows = {}
        self.in_flight = 0          # bytes of data waiting for their writes
        self.queued = 0
        self.scratch = _Scratch()
        self.writes_now = _fileops is not None  # put_many returns once the data is written
        self.pipe = None            # write_pipelined's ring, set up at the first put_many

    def _how(self, mode):
        how = self.hows.get(mode)
        if how is None:
            how = self.hows[mode] = L.open_how(flags=os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                                                mode=mode, resolve=L.RESOLVE_BENEATH)
        return how

    def _sqe(self, room):
        u = self.u
        if L.io_uring_sq_space_left(u) < room:
            L.io_uring_submit(u)
            self.queued = 0
        return L.io_uring_get_sqe(u)

    def put(self, m, data):
        n = len(data) if type(data) is bytes else memoryview(data).nbytes
        while not self.free or self.in_flight > _BUDGET:
            self.reap(True)
        k = self.free.pop()
        sqe = self._sqe(2)
        L.io_uring_prep_openat2_direct(sqe, self.r.dfd, m.rel, self._how(m.mode), k)
        tag = self.next_tag()
        if n == 0:
            sqe.user_data = tag
            self.pending[tag] = [_LONE_OPEN, m.job, 0, None, k]
        else:
            sqe.flags = _LINK
            sqe.user_data = tag
            self.pending[tag] = [_OPEN, m.job, 0, None, k]
            sqe = L.io_uring_get_sqe(self.u)
            L.io_uring_prep_write(sqe, k, data, n, 0)
            sqe.flags = _FIXED
            tag = self.next_tag()
            sqe.user_data = tag
            self.pending[tag] = [_WRITE, m.job, n, data, k]
            self.in_flight += n
        self.queued += 1
        if self.queued >= _SUBMIT_EVERY:
            self.flush()
            if L.io_uring_cq_ready(self.u):
                self.reap(False)

    def put_many(self, members, datas):
        """Small members whose data is ready, written by ``_fileops.write_pipelined`` (a C
        loop, the GIL released: each file created on this thread, its write on one io-wq
        worker): a third less CPU per file than a chain prepared and reaped from Python, which
        goes to io-wq for the create too (O_CREAT is never tried inline)."""
        if _fileops is None:
            for m, data in zip(members, datas):
                self.put(m, data)
            return
        mode = members[0].mode
        if all(m.mode == mode for m in members):       # the usual case: one call
            groups = ((mode, members, datas),)
        else:
            by_mode = {}
            for m, data in zip(members, datas):
                group = by_mode.get(m.mode)
                if group is None:
                    group = by_mode[m.mode] = ([], [])
                group[0].append(m)
                group[1].append(data)
            groups = [(mode, ms, ds) for mode, (ms, ds) in by_mode.items()]
        errors = self.r.errors
        encoding, how = _FS_ENCODING, _FS_ERRORS                # os.fsencode's
        if self.pipe is None:       # one ring for all the calls (~45 us each set up anew)
            self.pipe = _fileops.engine_ring(_PIPE_ENTRIES)
        for mode, ms, ds in groups:
            slots = min(len(ms), _SLOTS)
            longest = max(map(len, ds))
            pipe = (self.pipe if max(2 * slots, -(-longest // _WRITE_MAX)) + 2 <= _PIPE_ENTRIES
                    else None)      # a datum of more pieces (rewritten): a ring of its own
            failed = _fileops.write_pipelined(
                [m.rel.encode(encoding, how) for m in ms], ds, self.r.dfd, mode, _FILE_FLAGS,
                resolve=L.RESOLVE_BENEATH, slots=slots, max_workers=1,
                max_write=_WRITE_MAX, ring=pipe)
            for j, err, what in failed:
                errors.setdefault(ms[j].job, (err, what))

    def flush(self):
        if self.queued:
            L.io_uring_submit(self.u)
            self.queued = 0

    def open_stream(self, m):
        while not self.free:
            self.reap(True)
        k = self.free.pop()
        st = _Stream(m.job, k)
        sqe = self._sqe(1)
        L.io_uring_prep_openat2_direct(sqe, self.r.dfd, m.rel, self._how(m.mode), k)
        tag = self.next_tag()
        sqe.user_data = tag
        self.pending[tag] = [_STREAM_OPEN, m.job, 0, None, st]
        self.queued = 0
        while st.opened is None:
            self.reap(True)
        return None if st.failed else st

    def write(self, st, chunk, offset):
        n = len(chunk)
        while st.outstanding >= _DEPTH * _PIECES or self.in_flight > _BUDGET:
            self.reap(True)
        if st.failed:
            return
        # in pieces of _WRITE_MAX (see _write_max): io-wq runs the writes of one file one
        # after the other, in order
        view = memoryview(chunk) if n > _WRITE_MAX else None
        for at in range(0, n, _WRITE_MAX):
            piece = chunk if view is None else view[at:at + _WRITE_MAX]
            size = n - at if n - at < _WRITE_MAX else _WRITE_MAX
            sqe = self._sqe(1)
            L.io_uring_prep_write(sqe, st.slot, piece, size, offset + at)
            sqe.flags = _FIXED | _ASYNC
            tag = self.next_tag()
            sqe.user_data = tag
            self.pending[tag] = [_CHUNK_WRITE, st.job, size, piece, st]
            st.outstanding += 1
        self.in_flight += n
        L.io_uring_submit(self.u)
        self.queued = 0

    def close_stream(self, st):
        st.closed = True
        if not st.outstanding:
            self.free.append(st.slot)

    def reap(self, wait):
        u = self.u
        if wait:
            L.io_uring_submit_and_wait(u, 1)
            self.queued = 0
        cqes = L.io_uring_peek_batch_cqe(u, 4 * _SLOTS)
        pending = self.pending
        errors = self.r.errors
        for cqe in cqes:
            rec = pending.pop(cqe.user_data)
            kind, job, expected, _, extra = rec
            res = cqe.res
            if res < 0:
                if not (res == -_ECANCELED and job in errors):
                    errors.setdefault(job, (errno.EIO, "short write") if res == -_ECANCELED
                                      else (-res, _WHAT[kind]))
            elif expected and res != expected:
                errors.setdefault(job, (errno.EIO, "short write"))
            if kind == _OPEN:
                continue
            if kind in (_WRITE, _CHUNK_WRITE):
                self.in_flight -= expected
            if kind in (_LONE_OPEN, _WRITE):
                self.free.append(extra)
            elif kind == _STREAM_OPEN:
                extra.opened = res >= 0
                if res < 0:
                    extra.failed = True
                    self.free.append(extra.slot)
            else:                                   # a chunk of a stream
                if res != expected:
                    extra.failed = True
                extra.outstanding -= 1
                if extra.closed and not extra.outstanding:
                    self.free.append(extra.slot)
        L.io_uring_cq_advance(u, len(cqes))

    def drain(self):
        self.flush()
        while self.pending:
            self.reap(True)

    def close(self):
        try:
            self.ring.close()       # cancels what is still in flight and waits for it
        finally:
            pipe, self.pipe = self.pipe, None
            if pipe is not None:
                try:
                    L.io_uring_queue_exit(pipe)
                except RuntimeError:    # still claimed: write_pipelined gave up on requests
                    pass                # in flight (Ctrl-C) and keeps it open for the kernel


class _PlainWriter:
    """Without io_uring: ``os.open(O_NOFOLLOW)`` relative to dest (whose directories were
    checked to resolve inside it) and ``os.pwrite``."""

    _FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC | os.O_NOFOLLOW
    writes_now = True

    def __init__(self, r):
        self.r = r
        self.scratch = _Scratch()

    def _open(self, m):
        try:
            return os.open(m.rel, self._FLAGS, m.mode, dir_fd=self.r.dfd)
        except OSError as exc:
            self.r.errors.setdefault(m.job, (exc.errno, "open"))
            return -1

    def _write(self, job, fd, data, offset):
        view = memoryview(data).cast("B")
        try:
            while view:
                n = os.pwrite(fd, view[:_WRITE_MAX], offset)    # see _write_max
                view = view[n:]
                offset += n
        except OSError as exc:
            self.r.errors.setdefault(job, (exc.errno, "write"))
            return False
        return True

    def put(self, m, data):
        fd = self._open(m)
        if fd >= 0:
            try:
                self._write(m.job, fd, data, 0)
            finally:
                os.close(fd)

    def put_many(self, members, datas):
        for m, data in zip(members, datas):
            self.put(m, data)

    def flush(self):
        pass

    def open_stream(self, m):
        fd = self._open(m)
        if fd < 0:
            return None
        st = _Stream(m.job, -1)
        st.fd = fd
        return st

    def write(self, st, chunk, offset):
        if not self._write(st.job, st.fd, chunk, offset):
            st.failed = True

    def close_stream(self, st):
        if st.fd >= 0:
            os.close(st.fd)
            st.fd = -1

    def drain(self):
        pass

    def close(self):
        pass
