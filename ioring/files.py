"""Whole-file operations over io_uring, many files in flight at once.

``read_files``, ``write_files``, ``copy_file``, ``copytree``, ``extract_zip`` and
``install_wheel`` replace the plain-Python loops that storage tools and package installers are
made of (``open().read()`` per file, ``open(path, "wb").write(data)`` per file,
``shutil.copyfile``, ``shutil.copytree``, ``ZipFile.extractall``, ``pip install --target``), with
the same results and errors. Where io_uring is disabled or too old, they fall back to plain
syscalls.

How they work, which engine runs when and why (with the measurements behind each choice):
docs/FILES.md. ``copytree``'s engine is in ``ioring/_copytree.py`` and
``ioring/_copy_engine.pxi``, the zip and wheel engine in ``ioring/_unzip.py`` (and
``ioring/_wheel.py``).
"""
from __future__ import annotations

import _signal
import errno
import functools
import os
import shutil
import stat
from collections.abc import Mapping

from ioring import _copytree
from ioring import liburing as L
from ioring._ring import BufferPool, Ring

try:
    from ioring import _fileops
except ImportError:             # a build without the C batch module: the Python engine
    _fileops = None

__all__ = ["read_files", "write_files", "copy_file", "copytree", "extract_zip", "install_wheel"]

# ---- tuning (see docs/FILES.md) -----------------------------------------------------------------

_SLOTS = 64                    # chains (files) in flight
_READ_BUFFER = 32 << 10        # per-slot read buffer; larger files are read whole in Python
_COPY_CHUNK = 256 << 10        # copy_file: 4 x 256 KiB registered buffers (1 MiB: stays in L2)
_COPY_DEPTH = 4
_SMALL_READ = 64 << 10          # copy_file of one chunk: pread size (below malloc's mmap threshold)
_MAX_WRITE = 1 << 30           # bytes per write request (the kernel caps one at 2 GiB - 4 KiB)
_MIN_BATCH = 4                 # fewer files than this: the plain loop is cheaper than a ring
_SPLIT_BATCH = 512             # this many files or more: read on two threads (two CPUs)
_C_BATCH = 32                  # write_files in C: files whose writes are queued per io_uring_enter
# write_files in C: io-wq workers for the writes. The calling thread's creates are the
# bottleneck for small files; one worker per other CPU (up to 4) keeps large writes moving.
# 2 CPUs here: 1 worker was fastest (more workers: hand-offs and wake-ups, no gain).
_C_WORKERS = min(4, max(1, (os.cpu_count() or 1) - 1))

# user_data of a _Writer request: job index | slot | final bit | kind
_KIND_BITS = 2
_FINAL = 1 << _KIND_BITS
_SLOT_SHIFT = 3
_SLOT_BITS = 18
_SLOT_MASK = (1 << _SLOT_BITS) - 1
_JOB_SHIFT = _SLOT_SHIFT + _SLOT_BITS
_OPEN, _WRITE, _FSYNC = 0, 1, 2
_KIND_NAMES = ("open", "write", "fsync")

_LINK = L.IOSQE_IO_LINK
_FIXED = L.IOSQE_FIXED_FILE
_AT_FDCWD = L.AT_FDCWD
_ECANCELED = errno.ECANCELED


# ---- rings --------------------------------------------------------------------------------------

# io_uring cannot run the chains here: disabled (ENOSYS, EPERM/EACCES by policy) or a kernel
# without what they need (EINVAL); the caller falls back to another engine or plain Python.
_RING_UNAVAILABLE_ERRNOS = (errno.ENOSYS, errno.EPERM, errno.EACCES, errno.EINVAL)


def _open_ring(entries):
    """A private Ring for one call, or None when io_uring cannot run linked direct-descriptor
    chains here (io_uring disabled, or a kernel without IORING_FEAT_LINKED_FILE)."""
    flags = getattr(L, "IORING_SETUP_COOP_TASKRUN", 0)
    try:
        try:
            ring = Ring(entries, flags=flags)
        except OSError as exc:
            if exc.errno != errno.EINVAL or not flags:
                raise
            ring = Ring(entries)            # before 5.19: no IORING_SETUP_COOP_TASKRUN
    except OSError as exc:
        if exc.errno in _RING_UNAVAILABLE_ERRNOS:
            return None
        raise
    if not (ring.uring.features or 0) & L.IORING_FEAT_LINKED_FILE:
        ring.close()
        return None
    return ring


def _register_slots(ring, n):
    """A sparse registered-file table of n slots (direct descriptors)."""
    if hasattr(L, "io_uring_register_files_sparse"):
        L.io_uring_register_files_sparse(ring.uring, n)
    else:
        L.io_uring_register_files(ring.uring, [-1] * n)


# ---- fds that survive Ctrl-C --------------------------------------------------------------------

def _open_fd(box, path, flags, mode=0o777, dir_fd=None):
    """``os.open(path, flags, mode, dir_fd=dir_fd)``, the fd appended to the list ``box`` by C
    code (``map`` inside ``list.extend``). Python raises a signal handler's exception
    (KeyboardInterrupt) after a call returns and before its result is stored: ``fd =
    os.open(...)`` can lose the fd, this cannot. The caller closes what ``box`` holds
    (``_close_fds``)."""
    opener = os.open if dir_fd is None else functools.partial(os.open, dir_fd=dir_fd)
    box.extend(map(opener, (path,), (flags,), (mode,)))
    return box[-1]


def _close_fds(box):
    while box:
        os.close(box.pop())


# ---- errors -------------------------------------------------------------------------------------

def _oserror(err, path, what=None):
    msg = os.strerror(err) if what is None else f"{os.strerror(err)} ({what})"
    return OSError(err, msg, path)


def _raise_collected(errors, paths):
    """Raise the OSError of the first failed job (in input order). Every failure is listed in
    its ``errors`` attribute (a list of OSError, input order) and summarised in a note."""
    if not errors:
        return
    jobs = sorted(errors)
    excs = []
    for job in jobs:
        err = errors[job]
        if isinstance(err, BaseException):
            excs.append(err)
        else:
            excs.append(_oserror(err[0], paths[job], err[1]))
    first = excs[0]
    first.errors = excs
    if len(excs) > 1:
        more = ", ".join(f"{e.filename!r} ({e.strerror})" for e in excs[1:6])
        tail = ", ..." if len(excs) > 6 else ""
        first.add_note(f"{len(excs) - 1} more path(s) failed: {more}{tail}")
    raise first


# ---- arguments ----------------------------------------------------------------------------------

_ONE_PATH = (str, bytes, os.PathLike)


def _path_list(paths, func):
    """``paths`` (an iterable of paths) as a list of str/bytes; a single path is refused
    (a str would otherwise be read as one path per character)."""
    if isinstance(paths, _ONE_PATH):
        raise TypeError(f"{func}() takes a sequence of paths, not a single "
                        f"{type(paths).__name__} path: pass [{paths!r}]")
    try:
        it = iter(paths)
    except TypeError:
        raise TypeError(f"{func}() takes a sequence of paths (str, bytes or os.PathLike), "
                        f"not {type(paths).__name__}") from None
    out = []
    for i, p in enumerate(it):
        try:
            out.append(os.fspath(p))
        except TypeError:
            raise TypeError(f"{func}(): path {i} is a {type(p).__name__}; expected str, bytes "
                            f"or os.PathLike") from None
    return out


def _file_items(files):
    """``write_files``' argument (a mapping path -> data, or an iterable of (path, data)
    pairs, the last pair of a path winning) as a list of (path, data)."""
    if isinstance(files, Mapping):
        pairs = files.items()
    elif isinstance(files, _ONE_PATH):
        raise TypeError(f"write_files() takes a mapping {{path: data}} or an iterable of "
                        f"(path, data) pairs, not a single {type(files).__name__}")
    else:
        try:
            pairs = iter(files)
        except TypeError:
            raise TypeError(f"write_files() takes a mapping {{path: data}} or an iterable of "
                            f"(path, data) pairs, not {type(files).__name__}") from None
    items = {}
    for i, pair in enumerate(pairs):
        if isinstance(pair, (str, bytes)) or not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(f"write_files(): item {i} is {pair!r:.60}, not a (path, data) pair; "
                            f"pass a mapping {{path: data}} or (path, data) pairs")
        path, data = pair
        try:
            path = os.fspath(path)
        except TypeError:
            raise TypeError(f"write_files(): the path of item {i} is a {type(path).__name__}; "
                            f"expected str, bytes or os.PathLike") from None
        if isinstance(data, str):
            raise TypeError(f"write_files(): the data for {path!r} is a str; pass bytes "
                            f"(e.g. text.encode())")
        items[path] = data
    return list(items.items())


# ---- read_files ---------------------------------------------------------------------------------

def read_files(paths):
    """Read whole files: returns a list of ``bytes``, one per path, in the order given.

    ``paths`` is a sequence (any iterable) of paths, each ``str``, ``bytes`` or path-like; a
    single path is refused with TypeError (``read_files([path])`` reads one file). All files
    are in flight at once (up to 64 chains ``openat -> read`` on direct descriptors). Regular
    files are expected: a read shorter than asked is taken as the end of the file, so a file
    that shrinks or grows while it is read gives what it held then (one that filled the 32 KiB
    first read is read again whole, to its end whatever its size has become); a pseudo-file
    whose reads stop short of its end (procfs, sysfs) may come back cut: read those with
    ``open()``. If any file cannot be read, an ``OSError`` naming the first failing path
    (input order) is raised once every request has completed; its ``errors`` attribute lists
    the OSError of every failed path.

    Ctrl-C (or any exception raised by a signal handler) interrupts the call within tens of
    milliseconds: the reads in flight are cancelled and reaped, every file is closed, and the
    exception propagates.
    """
    paths = _path_list(paths, "read_files")
    if len(paths) < _MIN_BATCH:
        return _read_files_plain(paths)
    return _read_files_in_c(paths)


def _read_files_in_c(paths, dir_fd=None, stop=None):
    """The list ``paths`` read by the C engine, or by the plain loop where it cannot run.
    ``stop``: see ``_read_chains``."""
    out = _read_chains(paths, dir_fd, stop)
    if out is None:
        if stop is not None and stop[0]:
            raise OSError(errno.ECANCELED, "read_files stopped")
        return _read_files_plain(paths, dir_fd)
    return out


def _read_chains(paths, dir_fd=None, stop=None):
    """The files of the list ``paths`` read by the C engine (``_fileops.read_chains``: chains
    ``openat -> read`` on a private ring, 64 in flight, no Python per file), those that filled
    the slot buffer then whole; the collected OSError raised. None where the engine cannot run
    (no ``_fileops``, io_uring unavailable or too old). Also ``Ring.read_files``' and
    ``AsyncRing.read_files``' engine for large batches (it needs ~40% less CPU per file).
    ``stop``: a ``bytearray(1)`` another thread sets to cancel the batch (OSError ECANCELED)."""
    if _fileops is None:
        return None
    encoded = [os.fsencode(p) for p in paths]
    at = _AT_FDCWD if dir_fd is None else dir_fd
    try:
        if len(encoded) >= _SPLIT_BATCH and _cpus() > 1:
            out, failed, big = _read_chains_on_two_threads(encoded, at, stop)
        else:
            out, failed, big = _fileops.read_chains(encoded, at, slots=min(_SLOTS, len(encoded)),
                                                    size=_READ_BUFFER, stop=stop)
    except OSError as exc:
        if exc.errno not in _RING_UNAVAILABLE_ERRNOS:
            raise
        return None
    errors = {job: (err, kind) for job, err, kind in failed}
    for job in big:
        try:
            out[job] = _read_whole(paths[job], dir_fd)
        except OSError as exc:
            errors[job] = exc
    _raise_collected(errors, paths)
    return out


def _read_chains_on_two_threads(encoded, dir_fd, stop):
    """``_fileops.read_chains`` over the two halves of ``encoded`` at once, the second on a
    thread: each holds the GIL only between its rings' waits (most of a small file's cost is
    the kernel's open and read), so the halves run on two CPUs (5,000 files here: ~0.65x the
    time of one call, ~1.1x its CPU). Returns what one call over all of them returns. An
    exception in this thread (Ctrl-C) stops the other through ``stop``; it is joined first."""
    import threading
    half = len(encoded) // 2
    if stop is None:
        stop = bytearray(1)
    second = {}
    # Released by the thread as it ends. (Not Thread.join: a join interrupted by Ctrl-C marks
    # the thread stopped while it runs, bpo-45274's fix in 3.11, and the next join returns.)
    running = threading.Lock()
    running.acquire()

    def read_second_half():
        try:
            second["result"] = _fileops.read_chains(encoded[half:], dir_fd, slots=_SLOTS,
                                                    size=_READ_BUFFER, stop=stop)
        except BaseException as exc:        # handed to the calling thread
            second["error"] = exc
        finally:
            running.release()
    # Signals blocked while it starts (it inherits the mask: they go to this thread), so that
    # Ctrl-C cannot land inside Thread.start() and leave it running unwatched.
    blocked = _block_signals()
    try:
        threading.Thread(target=read_second_half, name="ioring-read-files", daemon=True).start()
    finally:
        if blocked is not None:
            _signal.pthread_sigmask(_signal.SIG_SETMASK, blocked)
    try:
        out, failed, big = _fileops.read_chains(encoded[:half], dir_fd, slots=_SLOTS,
                                                size=_READ_BUFFER, stop=stop)
    except BaseException:
        stop[0] = 1
        _wait_released(running, stop)
        raise
    _wait_released(running, stop)
    if "error" in second:
        raise second["error"]
    out2, failed2, big2 = second["result"]
    return (out + out2, failed + [(job + half, err, kind) for job, err, kind in failed2],
            big + [job + half for job in big2])


def _wait_released(lock, stop):
    """Wait for ``lock`` to be released; an exception meanwhile (a second Ctrl-C) sets
    ``stop`` (the thread holding it then ends within a wait round) and is raised after."""
    pending = None
    while True:
        try:
            lock.acquire()
            break
        except BaseException as exc:
            stop[0] = 1
            pending = exc
    lock.release()
    if pending is not None:
        raise pending


def _block_signals():
    """Block every signal in this thread; returns the previous mask (None: not possible)."""
    try:
        return _signal.pthread_sigmask(_signal.SIG_BLOCK, _signal.valid_signals())
    except (AttributeError, OSError, ValueError):
        return None


def _cpus():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _read_whole(path, dir_fd=None):
    """One file with os.open/fstat/read: a single copy into an exact-size bytes. The size is
    a hint: a file that shrank since is read to its new end, one that grew to its end."""
    box = []
    try:
        fd = _open_fd(box, path, os.O_RDONLY | os.O_CLOEXEC, dir_fd=dir_fd)
        size = os.fstat(fd).st_size
        data = os.read(fd, size + 1 if size else 1 << 16)
        if size and len(data) <= size:
            return data
        parts = [data]
        while data:                 # it grew, or it reports no size (procfs): to EOF
            data = os.read(fd, 1 << 20)
            parts.append(data)
        return b"".join(parts)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, path) from None
    finally:
        _close_fds(box)


def _read_files_plain(paths, dir_fd=None):
    out = []
    errors = {}
    for job, path in enumerate(paths):
        try:
            out.append(_read_whole(path, dir_fd))
        except OSError as exc:
            out.append(None)
            errors[job] = exc
    _raise_collected(errors, paths)
    return out


# ---- the write engine (write_files) -------------------------------------------------------------

class _Writer:
    """Chains ``openat(2)_direct(slot) -> write(slot)... [-> fsync(slot)]``, one per file, at
    most ``slots`` in flight; the slot is closed when the next open replaces it.

    Interrupted (an exception from a signal handler, a ``progress`` callback or the ``items``
    iterable, which can land between any two bytecodes), ``run`` submits nothing more (the
    ring drops what was not submitted when it closes), cancels the chains the kernel has
    (IORING_REGISTER_SYNC_CANCEL, 6.0; before, they are waited for), reaps them, removes each
    file they created or truncated whose requests did not all succeed, and re-raises: each
    file is then complete, absent or untouched. Which chains the kernel has is known from
    ``chains`` (slot -> job, set once a chain's first SQE is handed out, removed at its final
    completion), ``unsubmitted`` (slots whose chains were handed out since the last submit)
    and ``io_uring_sq_ready``: each is updated by one bytecode, in an order that an
    interruption anywhere leaves decidable (see ``_in_kernel``)."""

    def __init__(self, ring, slots, *, dir_fd=_AT_FDCWD, fsync=False, resolve=0, progress=None,
                 total=0):
        self.ring = ring
        self.u = ring.uring
        self.slots = slots
        self.dir_fd = dir_fd
        self.oflags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        self.fsync = fsync
        self.resolve = resolve
        self.hows = {}
        self.free = list(range(slots - 1, -1, -1))
        self.last_len = [0] * slots
        self.nbytes = [0] * slots
        self.chains = {}
        self.unsubmitted = []
        self.paths = [None] * slots      # slot -> path of its chain (to remove it if cut short)
        self.opened = {}                 # slot -> job whose open succeeded
        self.errors = {}
        self.in_flight = 0
        self.progress = progress
        self.total = total
        self.done_bytes = 0
        _register_slots(ring, slots)

    def run(self, items, batch=8):
        """Write every ``(job, path, data, mode)`` of ``items`` (an iterable, consumed as slots
        free up, so that a generator can produce the data while earlier chains are in
        flight); submits every ``batch`` chains; returns when all have completed."""
        try:
            self._run(items, batch)
        except BaseException:
            self._abort()
            raise

    def _run(self, items, batch):
        u = self.u
        free = self.free
        last_len = self.last_len
        sizes = self.nbytes
        chains = self.chains
        get_sqe = L.io_uring_get_sqe
        prep_open = L.io_uring_prep_openat_direct
        prep_open2 = L.io_uring_prep_openat2_direct
        prep_write = L.io_uring_prep_write
        space_left = L.io_uring_sq_space_left
        submit = L.io_uring_submit
        dir_fd = self.dir_fd
        oflags = self.oflags
        resolve = self.resolve
        hows = self.hows
        simple_max = 0 if self.fsync else _MAX_WRITE
        queued = 0
        for job, path, data, mode in items:
            while not free:
                self.reap(True)
                queued = 0
            nbytes = len(data) if type(data) is bytes else memoryview(data).nbytes
            if not 0 < nbytes <= simple_max:
                self.put(job, path, data, mode, nbytes)
            else:
                # The common case: open -> one write, two requests.
                if space_left(u) < 2:
                    submit(u)
                    self.unsubmitted = []
                    queued = 0
                k = free.pop()
                ud = (job << _JOB_SHIFT) | (k << _SLOT_SHIFT)
                self.paths[k] = path
                sqe = get_sqe(u)
                self.unsubmitted.append(k)
                chains[k] = job
                if resolve:
                    how = hows.get(mode)
                    if how is None:
                        how = hows[mode] = L.open_how(flags=oflags, mode=mode, resolve=resolve)
                    prep_open2(sqe, dir_fd, path, how, k)
                else:
                    prep_open(sqe, dir_fd, path, oflags, mode, k)
                sqe.flags = _LINK
                sqe.user_data = ud
                sqe = get_sqe(u)
                prep_write(sqe, k, data, nbytes, 0)
                sqe.flags = _FIXED
                sqe.user_data = ud | _FINAL | _WRITE
                last_len[k] = nbytes
                sizes[k] = nbytes
                self.in_flight += 1
            queued += 1
            if queued >= batch:
                submit(u)
                self.unsubmitted = []
                queued = 0
        self.drain()

    def put(self, job, path, data, mode, nbytes):
        """Queue the chain of any file: ``open -> write x parts [-> fsync]`` (an empty file:
        ``open [-> fsync]``). Writes larger than _MAX_WRITE are split."""
        u = self.u
        parts = (nbytes + _MAX_WRITE - 1) // _MAX_WRITE
        length = 1 + parts + (1 if self.fsync else 0)
        if length > L.io_uring_sq_space_left(u):
            L.io_uring_submit(u)
            self.unsubmitted = []
            if length > L.io_uring_sq_space_left(u):
                raise ValueError(f"{path!r}: {nbytes} bytes is more than one chain can write")
        k = self.free.pop()
        ud = (job << _JOB_SHIFT) | (k << _SLOT_SHIFT)
        self.paths[k] = path
        get_sqe = L.io_uring_get_sqe
        sqe = get_sqe(u)
        self.unsubmitted.append(k)
        self.chains[k] = job
        if self.resolve:
            how = self.hows.get(mode)
            if how is None:
                how = self.hows[mode] = L.open_how(flags=self.oflags, mode=mode, resolve=self.resolve)
            L.io_uring_prep_openat2_direct(sqe, self.dir_fd, path, how, k)
        else:
            L.io_uring_prep_openat_direct(sqe, self.dir_fd, path, self.oflags, mode, k)
        if length == 1:
            sqe.user_data = ud | _FINAL | _OPEN
        else:
            sqe.flags = _LINK
            sqe.user_data = ud | _OPEN
            offset = chunk = 0
            for part in range(parts):
                chunk = min(_MAX_WRITE, nbytes - offset)
                sqe = get_sqe(u)
                if parts == 1:
                    L.io_uring_prep_write(sqe, k, data, chunk, 0)
                else:
                    L.io_uring_prep_write(sqe, k, memoryview(data).cast("B")[offset:offset + chunk],
                                          chunk, offset)
                offset += chunk
                if part == parts - 1 and not self.fsync:
                    sqe.flags = _FIXED
                    sqe.user_data = ud | _FINAL | _WRITE
                else:
                    sqe.flags = _FIXED | _LINK
                    sqe.user_data = ud | _WRITE
            self.last_len[k] = chunk
            if self.fsync:
                sqe = get_sqe(u)
                L.io_uring_prep_fsync(sqe, k, 0)
                sqe.flags = _FIXED
                sqe.user_data = ud | _FINAL | _FSYNC
        self.nbytes[k] = nbytes
        self.in_flight += 1

    def reap(self, wait):
        u = self.u
        if wait:
            L.io_uring_submit_and_wait(u, 1)
            self.unsubmitted = []
        cqes = L.io_uring_peek_batch_cqe(u, 4 * self.slots + 8)
        errors = self.errors
        chains = self.chains
        for cqe in cqes:
            ud = cqe.user_data
            res = cqe.res
            if res >= 0 and ud & 3 == _OPEN:
                self.opened[(ud >> _SLOT_SHIFT) & _SLOT_MASK] = ud >> _JOB_SHIFT
            if res < 0:
                job = ud >> _JOB_SHIFT
                if job not in errors:
                    # -ECANCELED with no earlier failure: a short write broke the chain.
                    errors[job] = ((errno.EIO, "short write") if res == -_ECANCELED
                                   else (-res, _KIND_NAMES[ud & 3]))
            elif ud & _FINAL and ud & 3 == _WRITE:
                k = (ud >> _SLOT_SHIFT) & _SLOT_MASK
                if res != self.last_len[k]:
                    errors.setdefault(ud >> _JOB_SHIFT, (errno.EIO, "short write"))
            if ud & _FINAL:
                k = (ud >> _SLOT_SHIFT) & _SLOT_MASK
                if chains.get(k) == ud >> _JOB_SHIFT:
                    del chains[k]
                self.free.append(k)
                self.in_flight -= 1
                if self.progress is not None:
                    self.done_bytes += self.nbytes[k]
                    self.progress(self.done_bytes, self.total)
        L.io_uring_cq_advance(u, len(cqes))

    def drain(self):
        while self.in_flight:
            self.reap(True)

    def _in_kernel(self):
        """The slots whose chains the kernel has and has not completed. A chain enters
        ``unsubmitted`` and ``chains`` after its first SQE is handed out, and ``unsubmitted``
        is emptied after each submit (which submits every SQE handed out): so when no SQE
        waits (sq_ready 0) every chain in ``chains`` was submitted, and otherwise exactly
        those in ``unsubmitted`` were not. (``chains`` entries of a finished chain are removed
        at its final completion; one re-seen after an interrupted reap is matched by job.)"""
        if L.io_uring_sq_ready(self.u):
            waiting = set(self.unsubmitted)
            return {k for k in self.chains if k not in waiting}
        return set(self.chains)

    def _abort(self):
        """After an interruption: cancel every chain the kernel has, reap them all (submitting
        nothing more), remove the files they did not complete. A further KeyboardInterrupt
        meanwhile does not cut this short (the cancellation bounds the wait)."""
        self.progress = None
        u = self.u
        pending = self._in_kernel()
        if not pending:
            return
        try:
            L.io_uring_register_sync_cancel(u, L.io_uring_sync_cancel_reg(
                flags=L.IORING_ASYNC_CANCEL_ANY, timeout=L.kernel_timespec(1, 0)))
        except (OSError, AttributeError):
            pass            # nothing left to cancel, or before 6.0: wait for the chains
        chains = self.chains
        errors = self.errors
        while pending:
            try:
                L.io_uring_wait_cqe(u)          # a pure wait: unsubmitted SQEs stay unsubmitted
            except KeyboardInterrupt:
                continue
            cqes = L.io_uring_peek_batch_cqe(u, 4 * self.slots + 8)
            for cqe in cqes:
                ud = cqe.user_data
                job = ud >> _JOB_SHIFT
                k = (ud >> _SLOT_SHIFT) & _SLOT_MASK
                if cqe.res >= 0 and ud & 3 == _OPEN:
                    self.opened[k] = job
                if cqe.res < 0 and job not in errors:
                    errors[job] = (-cqe.res, _KIND_NAMES[ud & 3])
                if ud & _FINAL and chains.get(k) == job:
                    del chains[k]
                    pending.discard(k)
                    if job in errors and self.opened.get(k) == job:
                        _remove_regular(self.paths[k], self.dir_fd)
            L.io_uring_cq_advance(u, len(cqes))


def _remove_regular(path, dir_fd=_AT_FDCWD):
    """Unlink ``path`` (relative to ``dir_fd``) if it is a regular file (never a device or a
    FIFO)."""
    dir_fd = None if dir_fd == _AT_FDCWD else dir_fd
    try:
        if stat.S_ISREG(os.lstat(path, dir_fd=dir_fd).st_mode):
            os.unlink(path, dir_fd=dir_fd)
    except OSError:
        pass


def _nbytes(data):
    return len(data) if type(data) is bytes else memoryview(data).nbytes


def _mkdirs(dirs):
    """Create the parent directories (os.makedirs, one stat per distinct directory)."""
    seen = set()
    for d in dirs:
        if d and d not in seen:
            seen.add(d)
            if not os.path.isdir(d):
                os.makedirs(d, exist_ok=True)


# ---- write_files --------------------------------------------------------------------------------

def write_files(files, *, mode=0o644, fsync=False, makedirs=True):
    """Write whole files: ``files`` maps path -> data (any bytes-like object), or is an
    iterable of ``(path, data)`` pairs (a path given twice: the last data wins). A single
    path, a str as data or an item that is not a pair is refused with TypeError.

    Each file is created or truncated (``O_WRONLY|O_CREAT|O_TRUNC``, new files get ``mode``
    minus the umask, as ``open()`` does; an existing file keeps its permissions), written and,
    with ``fsync=True``, fsynced: opened on the calling thread while the ring writes the files
    opened before (see docs/FILES.md), up to 64 files in flight. Missing
    parent directories are created first when ``makedirs`` is true. Returns the number of bytes
    written. If any file fails, an ``OSError`` naming the first failing path (input order) is
    raised once every request has completed (the files that succeeded are written); its
    ``errors`` attribute lists the OSError of every failed path.

    Ctrl-C (or any exception raised by a signal handler) stops the call within tens of
    milliseconds: no further file is started, the requests in flight are cancelled and
    reaped, and each file that was being written and is not complete is removed (it had been
    created or truncated; only regular files are removed), then the exception propagates.
    Each file is then complete (and fsynced, if asked), absent, or untouched (not reached:
    not created, or with its old contents). Nothing is left open.
    """
    items = _file_items(files)
    paths = [p for p, _ in items]
    datas = [d for _, d in items]
    sizes = [_nbytes(d) for d in datas]
    total = sum(sizes)
    if makedirs:
        _mkdirs(os.path.dirname(p) for p in paths)
    n = len(paths)
    if n < _MIN_BATCH:
        return _write_files_plain(paths, datas, sizes, mode, fsync, total)
    slots = min(_SLOTS, n)
    if _fileops is not None and max(sizes) <= _MAX_WRITE:
        # The whole loop in C, the GIL released (ioring/_fileops.pyx): no Python work per file.
        try:
            failed = _fileops.write_pipelined(
                [os.fsencode(p) for p in paths], datas, _AT_FDCWD, mode, _WRITE_FLAGS,
                slots=slots, fsync=fsync, batch=_C_BATCH, max_workers=_C_WORKERS)
        except OSError as exc:
            if exc.errno not in _RING_UNAVAILABLE_ERRNOS:
                raise
            return _write_files_plain(paths, datas, sizes, mode, fsync, total)
        _raise_collected({job: (err, kind) for job, err, kind in failed}, paths)
        return total
    ring = _open_ring(4 * slots)
    if ring is None:
        return _write_files_plain(paths, datas, sizes, mode, fsync, total)
    try:
        w = _Writer(ring, slots, fsync=fsync)
        w.run(zip(range(n), paths, datas, [mode] * n))
    finally:
        ring.close()
    _raise_collected(w.errors, paths)
    return total


_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC


def _write_files_plain(paths, datas, sizes, mode, fsync, total):
    """One file after the other with open/write/close syscalls: in C (``_fileops.write_plain``,
    the GIL released) when it is built, else in Python."""
    if _fileops is not None and (not sizes or max(sizes) <= _MAX_WRITE):
        failed = _fileops.write_plain([os.fsencode(p) for p in paths], datas, _AT_FDCWD, mode,
                                      _WRITE_FLAGS, fsync=fsync)
        _raise_collected({job: (err, kind) for job, err, kind in failed}, paths)
        return total
    errors = {}
    for job, (path, data) in enumerate(zip(paths, datas)):
        try:
            _write_one(path, data, mode, fsync)
        except OSError as exc:
            errors[job] = OSError(exc.errno, exc.strerror, path)
    _raise_collected(errors, paths)
    return total


def _write_one(path, data, mode, fsync):
    """Create/truncate and write one file. Once it is open, an exception from a signal
    handler (Ctrl-C) is held until the file is complete (pwrite at explicit offsets: a write
    repeated after an interruption rewrites the same bytes; the fd is kept by _open_fd); a
    second one gives up."""
    view = memoryview(data).cast("B")
    box = []
    held = None
    done = 0
    synced = not fsync
    try:
        while True:
            try:
                fd = box[0] if box else _open_fd(box, path, _WRITE_FLAGS, mode)
                while done < len(view):
                    done += os.pwrite(fd, view[done:], done)
                if not synced:
                    os.fsync(fd)
                    synced = True
                break
            except OSError:
                raise
            except BaseException as exc:
                if not box or held is not None:
                    raise               # not created yet (or a second interruption)
                held = exc
    finally:
        _close_fds(box)
    if held is not None:
        raise held


# ---- copy_file ----------------------------------------------------------------------------------

def copy_file(src, dst, *, chunk_size=_COPY_CHUNK, queue_depth=_COPY_DEPTH, progress=None):
    """Copy the contents and the permission bits of file ``src`` to ``dst`` (created or
    truncated), like ``shutil.copy`` without the directory handling. Returns ``dst``.

    The copy is a pipeline of linked ``READ_FIXED -> WRITE_FIXED`` pairs on registered
    buffers (a BufferPool of ``queue_depth`` buffers of ``chunk_size`` bytes) and registered
    files: chunk i+1 is read while chunk i is written. A file of at most ``chunk_size`` bytes
    is copied with pread/pwrite instead (nothing to pipeline; no ring to set up). The source is copied to its end as it
    is when the copy ends: a source that shrinks meanwhile is copied to its new end, what is
    appended meanwhile is copied too (as ``cp`` does), and a file that reports no size
    (procfs) is read to its end. ``progress(done, total)``, if given, is called as chunks
    land. Raises ``shutil.SameFileError`` when ``src`` and ``dst`` are the same file,
    ``OSError`` naming the file that failed.

    ``dst`` is complete or absent: if the copy fails or is interrupted once ``dst`` has been
    opened (an I/O error, Ctrl-C or any exception from a signal handler or from
    ``progress``), the requests in flight are cancelled and reaped and ``dst`` is removed
    (when it is a regular file: a device is left alone), then the exception propagates.
    """
    src = os.fspath(src)
    dst = os.fspath(dst)
    if not 0 < chunk_size <= _MAX_WRITE:
        raise ValueError(f"chunk_size must be in 1..{_MAX_WRITE}")
    if queue_depth < 1:
        raise ValueError("queue_depth must be >= 1")
    if stat.S_ISFIFO(os.stat(src).st_mode):        # before open(), which would block
        raise shutil.SpecialFileError(f"`{src}` is a named pipe")
    fds = []
    try:
        fi = _open_fd(fds, src, os.O_RDONLY | os.O_CLOEXEC)
        st = os.fstat(fi)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), src)
        try:
            if os.path.samestat(st, os.stat(dst)):
                raise shutil.SameFileError(f"{src!r} and {dst!r} are the same file")
        except FileNotFoundError:
            pass
        last = None                 # the last (done, total) given to progress

        def report(done, total):
            nonlocal last
            last = (done, total)
            progress(done, total)
        try:
            fo = _open_fd(fds, dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
            end = 0
            step = chunk_size
            if stat.S_ISREG(st.st_mode) and st.st_size > chunk_size:
                end = _copy_ring(fi, fo, st.st_size, src, dst, chunk_size, queue_depth,
                                 None if progress is None else report)
            elif st.st_size:
                # One chunk: nothing to pipeline, and setting up a ring with registered
                # buffers and files (~200 us) costs more than the copy: pread/pwrite. Reads
                # of at most 64 KiB past the size (a bytes that small is not mmap-ed).
                step = min(chunk_size, max(st.st_size + 1, _SMALL_READ))
            # What lies past the size taken at the start: appended meanwhile, or all of a
            # file that reports no size (procfs, sysfs) or that is not regular.
            end = _copy_rest(fi, fo, end, step, src, dst)
            os.fchmod(fo, stat.S_IMODE(st.st_mode))
            if progress is not None and last != (end, end):
                progress(end, end)
        except BaseException:
            if len(fds) == 2:
                _remove_partial(dst, fds[1])
            raise
    finally:
        _close_fds(fds)
    return dst


def _remove_partial(path, fd):
    """Unlink ``path`` if it still names the regular file open as ``fd`` (never a device, nor
    a file put in its place meanwhile)."""
    try:
        mine = os.fstat(fd)
        if stat.S_ISREG(mine.st_mode) and os.path.samestat(mine, os.lstat(path)):
            os.unlink(path)
    except OSError:
        pass


def _copy_rest(fi, fo, offset, chunk_size, src, dst):
    """Copy from ``offset`` to the end of the source with pread/pwrite; returns the end."""
    while True:
        try:
            data = os.pread(fi, chunk_size, offset)
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, src) from None
        if not data:
            return offset
        view = memoryview(data)
        while view:
            try:
                n = os.pwrite(fo, view, offset)
            except OSError as exc:
                raise OSError(exc.errno, exc.strerror, dst) from None
            view = view[n:]
            offset += n


def _copy_ring(fi, fo, size, src, dst, chunk_size, queue_depth, progress):
    """Copy the first ``size`` bytes (fewer if the source shrank: then to its end) with
    linked read -> write pairs; returns the end offset copied. A short read (the source
    shrank) breaks its pair's link: the write is cancelled and the copy goes on from there
    with pread/pwrite. An exception (Ctrl-C in the wait, ``progress``) cancels what is in
    flight when the ring closes."""
    nbuf = min(queue_depth, -(-size // chunk_size))
    bufsize = min(chunk_size, size)
    ring = _open_ring(2 * nbuf + 2)
    if ring is None:
        return 0                # the caller copies everything with pread/pwrite
    u = ring.uring
    error = None
    changed = None              # lowest offset of a chunk the source no longer fully had
    try:
        pool = BufferPool(ring, nbuf, bufsize)
        L.io_uring_register_files(u, [fi, fo])
        bufs = [pool[k] for k in range(nbuf)]
        boff = [0] * nbuf
        blen = [0] * nbuf
        short = [False] * nbuf
        free = list(range(nbuf - 1, -1, -1))
        get_sqe = L.io_uring_get_sqe
        prep_read = L.io_uring_prep_read_fixed
        prep_write = L.io_uring_prep_write_fixed
        offset = done = 0
        in_flight = 0
        while True:
            while offset < size and free and error is None and changed is None:
                k = free.pop()
                nb = min(chunk_size, size - offset)
                boff[k] = offset
                blen[k] = nb
                short[k] = False
                sqe = get_sqe(u)
                prep_read(sqe, 0, bufs[k], nb, offset, k)
                sqe.flags = _FIXED | _LINK
                sqe.user_data = k << 1
                sqe = get_sqe(u)
                prep_write(sqe, 1, bufs[k], nb, offset, k)
                sqe.flags = _FIXED
                sqe.user_data = (k << 1) | 1
                offset += nb
                in_flight += 1
            if not in_flight:
                break
            L.io_uring_submit_and_wait(u, 1)
            cqes = L.io_uring_peek_batch_cqe(u, 2 * nbuf + 2)
            for cqe in cqes:
                ud = cqe.user_data
                res = cqe.res
                k = ud >> 1
                if not ud & 1:                          # the read of chunk k
                    if res < 0:
                        error = error or _oserror(-res, src, "read")
                    elif res < blen[k]:
                        short[k] = True                 # the source shrank: redo from here
                        changed = boff[k] if changed is None else min(changed, boff[k])
                    continue
                if res < 0:                             # the write of chunk k
                    if not (short[k] and res == -_ECANCELED):
                        error = error or _oserror(-res, dst, "write")
                elif res < blen[k]:
                    error = error or _oserror(errno.EIO, dst, "short write")
                else:
                    done += res
                    if progress is not None:
                        progress(done, size)
                free.append(k)
                in_flight -= 1
            L.io_uring_cq_advance(u, len(cqes))
        pool.close()
    finally:
        ring.close()
    if error is not None:
        raise error
    if changed is not None:
        end = _copy_rest(fi, fo, changed, chunk_size, src, dst)
        os.ftruncate(fo, end)
        return end
    return size


# ---- copytree -----------------------------------------------------------------------------------

def copytree(src, dst, *, symlinks=False, dirs_exist_ok=False, ignore=None, progress=None):
    """Copy the directory tree ``src`` to ``dst`` with the result of ``shutil.copytree(src, dst,
    symlinks=symlinks, ignore=ignore, dirs_exist_ok=dirs_exist_ok)`` (its ``copy_function``
    being ``shutil.copy2``): files with their contents, modes, times and extended attributes,
    directories (empty ones too) with theirs, symbolic links copied as links when
    ``symlinks`` is true, else followed (a dangling one is an error). ``ignore(dir, names)``
    returns the names of ``dir`` to skip, as for shutil. Returns ``dst``.

    Directories are listed (getdents, through ``os.scandir``) and created in Python while the
    regular files are copied in C, up to 64 in flight: each is stat-ed, then copied by two
    linked chains on direct descriptors (``openat -> read`` then ``openat(O_CREAT) -> write``,
    the data in a 64 KiB slot buffer; larger files with ``copy_file_range``), and given its
    times, extended attributes and mode as ``shutil.copystat`` does; directories get theirs
    once everything below them is copied. A file that changes size meanwhile is copied to its
    end as it is when it is read: one that shrank to its new end, one that grew (the read
    asks one byte more than the stat said) again with plain syscalls, to its new end.
    ``progress(bytes_done, bytes_found)``, if given, is called about every 100 ms.

    Errors are those of shutil.copytree: listing or creating ``dst`` itself raises as is
    (``FileExistsError`` when it exists and ``dirs_exist_ok`` is false); every other failure
    (a file or directory that cannot be read, created or given its attributes, a symbolic-link
    loop, a source that is also the destination) is collected as ``(srcname, dstname,
    str(exception))`` and raised as ``shutil.Error`` at the end, in shutil's order, after
    everything else was copied. Unlike shutil, a file whose copy failed is not left half
    written: it is absent. A ``dst`` inside ``src`` is refused with ``shutil.Error`` before
    anything is created (shutil.copytree would copy its own output until the path is too
    long).

    Ctrl-C (or any exception raised by a signal handler or by ``progress``) stops the copy
    within tens of milliseconds: no file is started, the chains in flight are cancelled and
    reaped, each file they had created and not completed is removed, and the exception
    propagates with nothing left open: every file is complete (with its attributes) or
    absent; the directories created so far stay.
    """
    return _copytree.copytree(src, dst, symlinks=symlinks, dirs_exist_ok=dirs_exist_ok,
                              ignore=ignore, progress=progress)


# ---- zip archives and wheels: the engine is ioring/_unzip.py (and ioring/_wheel.py) ------------

def extract_zip(archive, dest, *, progress=None, max_ratio=200, threads=None):
    """Extract a zip archive or wheel (path or binary file object) into directory ``dest``
    (created if needed); returns the list of extracted paths (``dest`` joined with each
    member name, archive order, each path once). The result is ``zipfile.extractall``'s: the
    same paths and bytes, directories and empty files, stored, deflated (and bzip2/lzma)
    members, zip64.

    Every member name is checked before anything is written: an absolute name, a drive
    letter or a ``..`` component raises ValueError. Files are then opened with
    ``openat2(RESOLVE_BENEATH)`` relative to ``dest``, so a symbolic link already in
    ``dest`` cannot lead a write outside it either (that member fails with EXDEV), and
    directories are created only when their resolved path lies inside ``dest``.

    Zip bombs are refused with ``zipfile.BadZipFile`` before anything is written: members
    whose data overlap, declared sizes deflate cannot produce, and members (or the whole
    archive) declaring more than ``max_ratio`` bytes per compressed byte above 1 MiB (default
    200:1; real wheels stay under 30:1). ``max_ratio=None`` lifts that limit (for trusted
    archives of very compressible data); a member still never inflates past its declared size.

    Members are inflated on ``threads`` threads (default: one per CPU, up to 8) with the
    fastest deflate decoder installed (``python -m ioring info`` names it: ISA-L, zlib-ng or
    zlib), the largest first; members over 1 MiB are inflated and written 1 MiB at a time, so
    memory does not grow with member size (a few MiB per thread). Each thread writes through
    its own ring (``openat2 -> write`` chains on direct descriptors). The CRC-32 of every
    member is checked. Regular files get the permission bits recorded by Unix archivers
    (``external_attr``, without setuid/setgid, minus the umask), others 0o644 minus the
    umask; an existing file is truncated and keeps its permissions; a later member with the
    same name wins. Symbolic-link members are written as regular files holding the link
    target, as ``zipfile`` does. ``progress(done, total)`` is called (from the calling thread)
    with uncompressed bytes.

    Errors: ValueError (unsafe names), ``zipfile.BadZipFile`` (corrupt data, CRC mismatch,
    zip bombs), ``OSError`` naming the first path that could not be written (archive order,
    after everything in flight completed; every failure in its ``errors`` attribute).
    Ctrl-C stops every thread; nothing is left open, the files being written may be incomplete.
    """
    from ioring import _unzip
    return _unzip.extract_zip(archive, dest, progress=progress, max_ratio=max_ratio,
                              threads=threads)


def install_wheel(wheel, target, *, interpreter=None, installer="ioring", requested=True,
                  direct_url=True, compile_bytecode=False, verify_record=False, progress=None,
                  max_ratio=200, threads=None):
    """Install a wheel (path or binary file object) into directory ``target`` as
    ``pip install --no-deps --target TARGET WHEEL`` does, and return the installed paths
    (RECORD's order). The files are written by ``extract_zip``'s engine (threads inflating,
    io_uring writes, the same checks of names and zip bombs, ``progress``, ``max_ratio``,
    ``threads``), with the SHA-256 of each computed while it is written, for RECORD.

    As pip: files at the root of the wheel and ``.data/purelib``, ``.data/platlib`` and
    ``.data/data`` go to ``target``, ``.data/scripts`` to ``target/bin`` (``#!python`` replaced
    by ``interpreter``, default ``sys.executable``), ``.data/headers`` to
    ``target/include/python/<Name>`` (``include/site/pythonX.Y/<Name>`` in a virtual
    environment); console and GUI entry points become launcher scripts in ``target/bin``
    (pip's template); executables get ``0o777 & ~umask | 0o111``, other files ``0o666 &
    ~umask``; the ``.dist-info`` gets ``INSTALLER`` (``installer``), ``REQUESTED`` (if
    ``requested``), ``direct_url.json`` (if ``direct_url`` and the wheel is a path: its
    ``file://`` URL and SHA-256) and a RECORD of every file with its sha256 and size.
    ``compile_bytecode=True`` byte-compiles the ``.py`` files as pip does by default (the
    default here is ``pip install --no-compile``'s result). ``verify_record=True`` checks every
    member against the wheel's own RECORD (sha256 and size) and raises ValueError listing the
    mismatches (the files are then written, RECORD is not).

    Differences from pip, on purpose: RECORD paths are relative to ``target`` (pip writes
    ``../../bin/...`` for scripts, headers and data with ``--target``), INSTALLER says
    ``ioring`` by default, and files already in ``target`` are overwritten. Errors: ValueError
    (not a wheel, Wheel-Version 2+, unknown ``.data`` key, unsafe names, bad entry points),
    ``zipfile.BadZipFile``, ``OSError`` as ``extract_zip``.
    """
    from ioring import _wheel
    return _wheel.install_wheel(wheel, target, interpreter=interpreter, installer=installer,
                                requested=requested, direct_url=direct_url,
                                compile_bytecode=compile_bytecode, verify_record=verify_record,
                                progress=progress, max_ratio=max_ratio, threads=threads)
