"""The table of request types: each single-request method of ``Ring`` and ``AsyncRing`` is
declared once here (docs/ARCHITECTURE.md rule 4, as the Rust io-uring crate's ``opcode!``).

``tools/gen_ops.py`` writes from it ``Ring``'s request methods (``ioring/_ring.pyx``),
``AsyncRing``'s (``ioring/asyncio.py``) and the request sections of both stubs, each between
``# BEGIN ops`` / ``# END ops`` markers; ``tests/test_gen_ops.py`` fails when a generated section
differs from what the table gives. Edit this table, then run ``python tools/gen_ops.py``.

Methods that make more than one request (``sendall``, ``read_file``, the multishot iterators,
the batches) are written by hand next to the generated section.

Each ``Op`` says:
- ``params``: the method's parameters in order (``Param``): name, type in the stubs, default
  (Python source), Cython type in Ring's signature, keyword-only or not. ``flags`` (IOSQE_*)
  and ``timeout`` (a linked timeout, when ``timeout=True``) close every signature.
- ``setup``: the lines that convert arguments before the SQE is taken (fds, values); they
  raise TypeError/ValueError before the kernel sees anything.
- ``prep`` / ``prep_args``: the C-level call that encodes the request in the SQE ``s`` (a
  zeroed one of the method's own, off the SQ: ``Ring._queue`` takes an SQE through the thin
  layer's door and copies the request in once it is complete) and its arguments: one of the
  thin layer's door preps (``door_prep_*`` of ``ioring/liburing.pxd``: the checks and
  conversions of the matching ``io_uring_prep_*``; it returns what must stay pinned, buffers,
  paths, iovecs, timespecs, sockaddrs, which ``Ring._queue`` door_pins until the completion is
  consumed), or, for a prep that converts and pins nothing, the C core's
  (``c.ioring_prep_nop``...).
- ``fixed``: for read/write, the READ_FIXED/WRITE_FIXED prep used when the buffer lies in a
  registered BufferPool (``_registered_index`` finds its index).
- ``kind``, ``fd``, ``path``, ``value``: what the Operation records (``value`` is what
  ``result()`` returns on success instead of ``cqe.res``: None keeps ``cqe.res``).
- ``doc`` / ``async_doc``: the docstrings of ``Ring.<name>`` and ``AsyncRing.<name>``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class Param:
    name: str
    pyi: str                          # its type in the stubs
    default: Optional[str] = None     # Python source of the default; None: required
    cy: str = ""                      # Cython type in Ring's signature ("": object)
    keyword: bool = False             # keyword-only (AsyncRing passes it through **kwargs)
    async_name: Optional[str] = None  # its name in AsyncRing, if another
    async_pyi: Optional[str] = None   # its stub type in AsyncRing, if another
    async_default: Optional[str] = None  # its default in asyncio.py, if spelled otherwise


@dataclass(frozen=True)
class Fixed:
    """The registered-buffer variant of a read/write: used when ``buf`` lies in a BufferPool."""
    buf: str
    prep: str
    prep_args: str
    kind: str


@dataclass(frozen=True)
class Op:
    name: str
    doc: str
    async_doc: str
    params: tuple[Param, ...]
    prep: str
    prep_args: str
    kind: str
    fd: str = "None"
    path: str = "None"
    value: str = "None"
    setup: tuple[str, ...] = ()
    fixed: Optional[Fixed] = None
    timeout: bool = True

    @property
    def door(self) -> bool:
        """``prep`` is a door prep: it may raise, and returns what must stay pinned."""
        return self.prep.startswith("door_prep_")


FD = Param("fd", "_Fd")
OFFSET = Param("offset", "int", "-1")
NBYTES = Param("nbytes", "Optional[int]", "None", keyword=True)
SOCK = Param("sock", "_Sock", async_pyi="Any")
FD_SETUP = ('fd = _fileno(fd, "fd")',)
SOCK_SETUP = ('cdef int fd = _fileno(sock, "sock")',)
DIR_FD = Param("dir_fd", "_Fd", "L.AT_FDCWD", keyword=True)
BUF = Param("buf", "Buffer")
DATA = Param("data", "Buffer")
BUFFERS = Param("buffers", "Sequence[Buffer]")
FIXED_PARAMS = (BUF, Param("offset", "int"), Param("buf_index", "int", cy="int"), NBYTES)


def _fixed_args(buf, index, reading):
    return f"None, self.uring, s, fd, {buf}, _nbytes({buf}, nbytes), offset, {index}, {reading}"


def _fd_op(name, doc, async_doc, params, prep, prep_args, kind=None, **more):
    """A request on the file descriptor ``fd`` (its first parameter, any object with
    ``fileno()``); ``kind`` defaults to the name."""
    return Op(name, doc, async_doc, (FD,) + params, prep, prep_args, kind or name,
              fd="fd", setup=FD_SETUP, **more)
TIMESPEC_SETUP = ("sec = float(seconds)",
                  "ts = L.kernel_timespec(int(sec), int((sec - int(sec)) * 1e9))")


def _rw_op(name, doc, async_doc, buf):
    """read/write: ``buf`` (all of it, or ``nbytes``) at ``offset``; READ_FIXED/WRITE_FIXED when
    it lies in a registered BufferPool."""
    args = f"None, s, fd, {buf.name}, _nbytes({buf.name}, nbytes), offset"
    reading = name == "read"
    return _fd_op(name, doc, async_doc, (buf, OFFSET, NBYTES), f"door_prep_{name}", args,
                  fixed=Fixed(buf.name, "door_prep_rw_fixed", _fixed_args(buf.name, "index", reading),
                              f"{name}_fixed"))

OPS: tuple[Op, ...] = (
    Op("nop",
       "Queue a NOP (io_uring_prep_nop); result 0.",
       "A NOP; result 0.",
       (), "c.ioring_prep_nop", "s", "nop", timeout=False),
    _rw_op("read",
           "Read into the writable ``buf`` (all of it, or ``nbytes``) at ``offset`` (-1: the\n"
           "file position). Result: bytes read. A buffer of a registered BufferPool is read with\n"
           "IORING_OP_READ_FIXED. io_uring_prep_read / io_uring_prep_read_fixed.",
           "Read into the writable ``buf`` at ``offset`` (-1: the file position); result: the\n"
           "number of bytes read. Keywords: ``nbytes``, ``flags`` (IOSQE_*), ``timeout`` (s).",
           BUF),
    _rw_op("write",
           "Write ``data`` (all of it, or ``nbytes``) at ``offset`` (-1: the file position);\n"
           "WRITE_FIXED for a buffer of a registered BufferPool. Result: bytes written.\n"
           "io_uring_prep_write / io_uring_prep_write_fixed.",
           "Write ``data`` at ``offset`` (-1: the file position); result: bytes written.",
           DATA),
    _fd_op("readv",
           "Scatter-read into ``buffers`` (writable buffers) at ``offset`` (-1: the file\n"
           "position); result: total bytes read. io_uring_prep_readv.",
           "Scatter-read into ``buffers``; result: total bytes read.",
           (BUFFERS, OFFSET), "door_prep_rwv", "None, s, fd, buffers, None, offset, 0, True"),
    _fd_op("writev",
           "Gather-write ``buffers`` at ``offset`` (-1: the file position); result: total bytes\n"
           "written. io_uring_prep_writev.",
           "Gather-write ``buffers``; result: total bytes written.",
           (BUFFERS, OFFSET), "door_prep_rwv", "None, s, fd, buffers, None, offset, 0, False"),
    _fd_op("read_fixed",
           "READ_FIXED into registered buffer ``buf_index`` (``buf`` lies inside it; all of it,\n"
           "or ``nbytes``) at ``offset``; result: bytes read. io_uring_prep_read_fixed.",
           "READ_FIXED into registered buffer ``buf_index`` (``buf`` lies inside it).",
           FIXED_PARAMS, "door_prep_rw_fixed", _fixed_args("buf", "buf_index", True)),
    _fd_op("write_fixed",
           "WRITE_FIXED from registered buffer ``buf_index`` (``buf`` lies inside it; all of it,\n"
           "or ``nbytes``) at ``offset``; result: bytes written. io_uring_prep_write_fixed.",
           "WRITE_FIXED from registered buffer ``buf_index`` (``buf`` lies inside it).",
           FIXED_PARAMS, "door_prep_rw_fixed", _fixed_args("buf", "buf_index", False)),
    _fd_op("fsync",
           "fsync(2) ``fd`` (``datasync=True``: fdatasync); result 0. io_uring_prep_fsync.",
           "fsync(2) (``datasync=True``: fdatasync); result 0.",
           (Param("datasync", "bool", "False", cy="bint", keyword=True),),
           "c.ioring_prep_fsync", "s, fd, L.IORING_FSYNC_DATASYNC if datasync else 0"),
    Op("openat",
       "Open ``path`` (relative to ``dir_fd``); result: the new fd. io_uring_prep_openat.",
       "Open ``path`` (``dir_fd=`` for a relative one); result: the new fd.",
       (Param("path", "_Path"), Param("oflags", "int", "os.O_RDONLY", cy="int"),
        Param("mode", "int", "0o666", cy="unsigned"), DIR_FD),
       "door_prep_openat", "None, s, dir_fd, path, oflags, mode", "openat", path="path",
       setup=('dir_fd = _fileno(dir_fd, "dir_fd")',)),
    _fd_op("close_fd",
           "Close ``fd`` (IORING_OP_CLOSE, io_uring_prep_close). (``Ring.close()`` closes the ring\n"
           "itself.)",
           "Close the file descriptor ``fd`` (IORING_OP_CLOSE); result 0.",
           (), "c.ioring_prep_close", "s, fd", kind="close", timeout=False),
    Op("statx",
       "statx(2) of ``path``; result: an ``ioring.liburing.statx``. io_uring_prep_statx.",
       "statx(2) of ``path``; result: an ``ioring.liburing.statx`` (``stx_size``, ...).",
       (Param("path", "_Path"), Param("mask", "int", "L.STATX_BASIC_STATS", cy="unsigned"),
        Param("statx_flags", "int", "0", cy="int"), DIR_FD),
       "door_prep_statx", "None, s, dir_fd, path, statx_flags, mask, st", "statx", path="path", value="st",
       setup=('dir_fd = _fileno(dir_fd, "dir_fd")', "st = L.statx()")),
    Op("send",
       "send(2) ``data`` on ``sock`` (a socket or an fd); result: bytes sent.\n"
       "io_uring_prep_send.",
       "send(2) ``data`` on ``sock`` (a socket or an fd); result: bytes sent.",
       (SOCK, Param("data", "Buffer"), Param("msg_flags", "int", "0", cy="int")),
       "door_prep_send", "None, s, fd, data, _nbytes(data, None), msg_flags", "send", fd="fd",
       setup=SOCK_SETUP),
    Op("recv",
       "Receive into ``buf`` (a writable buffer) or, given an int, into a new bytearray of\n"
       "that size (the result is then the bytes received). io_uring_prep_recv.",
       "recv(2) into a writable buffer (result: bytes received) or, given an int, into a new\n"
       "buffer of that size (result: the bytes received).",
       (SOCK, Param("buf", "Union[Buffer, int]", async_name="buf_or_size"),
        Param("msg_flags", "int", "0", cy="int")),
       "door_prep_recv", "None, s, fd, buf, _nbytes(buf, None), msg_flags", "recv", fd="fd",
       value="value",
       setup=SOCK_SETUP + ("value = None",
                           "if isinstance(buf, int):",
                           "    buf = bytearray(buf)",
                           "    value = _Truncate(buf)")),
    Op("accept",
       "Accept a connection; result: the new socket fd (close-on-exec by default, as the\n"
       "sockets of Python are: ``accept_flags=0`` makes it inheritable). io_uring_prep_accept.",
       "accept4(2) on the listening ``sock``; result: the new connection's fd\n"
       "(close-on-exec unless ``accept_flags`` says otherwise, as Python's sockets).",
       (SOCK, Param("accept_flags", "int", "_SOCK_CLOEXEC", cy="int",
                    async_default="socket.SOCK_CLOEXEC")),
       "ioring_prep_accept", "s, fd, NULL, NULL, accept_flags", "accept", fd="fd", setup=SOCK_SETUP),
    Op("connect",
       "Connect ``sock`` to ``address`` (as the socket module takes it); result 0.\n"
       "io_uring_prep_connect.",
       "connect(2) ``sock`` to ``address`` (as the socket module takes it); result 0.",
       (SOCK, Param("address", "Any")),
       "door_prep_connect", "None, s, fd, addr, None", "connect", fd="fd",
       setup=SOCK_SETUP + ("addr = L.sockaddr(int(sock.family), address)",)),
    Op("splice",
       "splice(2) ``nbytes`` from ``fd_in`` (at ``off_in``, -1: its position) to ``fd_out``\n"
       "(at ``off_out``); result: bytes moved. io_uring_prep_splice.",
       "splice(2) ``nbytes`` from ``fd_in`` to ``fd_out``; result: bytes moved.",
       (Param("fd_in", "_Fd"), Param("off_in", "int"), Param("fd_out", "_Fd"), Param("off_out", "int"),
        Param("nbytes", "int", cy="unsigned"), Param("splice_flags", "int", "0", cy="unsigned")),
       "door_prep_splice", "None, s, fd_in, off_in, fd_out, off_out, nbytes, splice_flags", "splice",
       fd="fd_in", setup=('fd_in = _fileno(fd_in, "fd_in")', 'fd_out = _fileno(fd_out, "fd_out")')),
    Op("timeout",
       "A timer: completes after ``seconds`` (result() returns 0; -ETIME is success here);\n"
       "``count``: or once that many requests completed. io_uring_prep_timeout.",
       "A kernel timer (IORING_OP_TIMEOUT): resolves to 0 after ``seconds``.",
       (Param("seconds", "float"), Param("count", "int", "0", cy="unsigned", keyword=True)),
       "door_prep_timeout", "None, s, ts, count, 0", "timeout", value="0", setup=TIMESPEC_SETUP,
       timeout=False),
)
