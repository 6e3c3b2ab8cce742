"""A zip archive's central directory read quickly, for ``ioring._unzip``.

``zipfile.ZipFile`` spends ~4 us per entry building its table of contents (a ``ZipInfo``
made in Python, the extra field decoded in Python, names through the Python-level cp437
codec): 7 ms of the ~80 ms pandas' wheel (1,720 entries) takes to unpack here, all of it
before the first member can start, and ~50 ms for the torch wheel (12,248 entries). ``read``
reads the same table at ~1 us per entry, for the archives it can read exactly as zipfile
does: one disk, no zip64 record, nothing prepended to the archive, no entry with a zip64 or
Unicode-path extra field or a NUL in its name. For anything else it returns None and the
caller uses ``zipfile.ZipFile``, whose answers (and errors) are then the rule.
"""
from __future__ import annotations

import struct
import threading
import zipfile

__all__ = ["read", "Directory", "Entry"]

_EOCD = struct.Struct("<4s4H2LH")            # end of central directory record (22 bytes)
_EOCD_MAGIC = b"PK\x05\x06"
_ZIP64_LOCATOR_MAGIC = b"PK\x06\x07"
_ZIP64_LOCATOR_SIZE = 20
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")   # central directory header (46 bytes)
_CENTRAL_MAGIC = b"PK\x01\x02"
_EXTRA = struct.Struct("<HH")
_UTF8_NAME = 0x800
_MAX_EXTRACT_VERSION = 63                    # zipfile refuses later versions
_FALLBACK_EXTRAS = (0x0001, 0x7075)          # zip64 sizes, Info-ZIP Unicode path
_ASCII_SUPERSETS = ("utf-8", "cp437")


class Entry:
    """One central directory entry: the ``ZipInfo`` attributes ``ioring._unzip`` uses."""

    __slots__ = ("filename", "orig_filename", "header_offset", "compress_size", "file_size",
                 "CRC", "compress_type", "flag_bits", "external_attr", "index")

    def is_dir(self):
        return self.filename.endswith("/")

    def __repr__(self):
        return f"<Entry {self.filename!r} {self.compress_size}/{self.file_size} bytes>"


class Directory:
    """What ``ioring._unzip`` asks of a ``zipfile.ZipFile``: ``infolist()``, ``getinfo()``,
    ``start_dir``, ``metadata_encoding``; ``open()`` and ``read()`` are zipfile's, on a
    ``ZipFile`` opened over the same file when first needed."""

    metadata_encoding = None

    def __init__(self, entries, start_dir, fileobj):
        self._entries = entries
        self._by_name = {e.filename: e for e in entries}       # the last one wins, as in zipfile
        self.start_dir = start_dir
        self._fileobj = fileobj
        self._zipfile = None
        self._lock = threading.Lock()

    def infolist(self):
        return self._entries

    def getinfo(self, name):
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"There is no item named {name!r} in the archive") from None

    def _real(self, entry):
        with self._lock:
            if self._zipfile is None:
                self._zipfile = zipfile.ZipFile(self._fileobj)
        return self._zipfile.infolist()[entry.index]

    def open(self, entry):
        real = self._real(entry)
        return self._zipfile.open(real)

    def read(self, entry):
        real = self._real(entry)
        return self._zipfile.read(real)

    def close(self):
        if self._zipfile is not None:
            self._zipfile.close()
            self._zipfile = None


def read(read_at, size, fileobj):
    """The central directory of the archive whose ``size`` bytes ``read_at(offset, n)``
    returns (bytes or a memoryview), as a ``Directory``; None when only zipfile should read
    it (see the module docstring). ``fileobj`` is what ``zipfile.ZipFile`` would be given."""
    if size < _EOCD.size:
        return None
    tail_len = min(size, _EOCD.size + 0xFFFF)
    tail = bytes(read_at(size - tail_len, tail_len))
    at = tail_len - _EOCD.size
    if tail[at:at + 4] != _EOCD_MAGIC or tail[-2:] != b"\0\0":
        at = tail.rfind(_EOCD_MAGIC)        # an archive comment follows the record
        if at < 0:
            return None
    (_, disk, cd_disk, disk_entries, entries, cd_size, cd_offset,
     comment_len) = _EOCD.unpack_from(tail, at)
    if (at + _EOCD.size + comment_len != tail_len or disk or cd_disk
            or disk_entries != entries):
        return None
    eocd_offset = size - tail_len + at
    if eocd_offset >= _ZIP64_LOCATOR_SIZE:
        locator = bytes(read_at(eocd_offset - _ZIP64_LOCATOR_SIZE, 4))
        if locator == _ZIP64_LOCATOR_MAGIC:
            return None
    if eocd_offset - cd_size - cd_offset != 0:  # data before the archive (zipfile's "concat")
        return None
    cd = bytes(read_at(cd_offset, cd_size))
    if len(cd) != cd_size:
        return None
    out = []
    append = out.append
    unpack = _CENTRAL.unpack_from
    head = _CENTRAL.size
    pos = 0
    while pos < cd_size:
        if pos + head > cd_size:
            return None
        (magic, _, _, extract_version, _, flags, method, _, _, crc, csize, fsize, nlen, xlen,
         clen, _, _, attr, offset) = unpack(cd, pos)
        if (magic != _CENTRAL_MAGIC or extract_version > _MAX_EXTRACT_VERSION
                or 0xFFFFFFFF in (csize, fsize, offset)):
            return None
        start = pos + head
        raw = cd[start:start + nlen]
        if xlen and not _plain_extra(cd[start + nlen:start + nlen + xlen]):
            return None
        pos = start + nlen + xlen + clen
        if pos > cd_size:
            return None
        encoding = "utf-8" if flags & _UTF8_NAME else "cp437"
        try:
            name = raw.decode("ascii")
        except UnicodeDecodeError:
            try:
                name = raw.decode(encoding)
            except UnicodeDecodeError:
                return None                 # zipfile raises: let it
        if "\x00" in name:
            return None
        e = Entry()
        e.filename = e.orig_filename = name
        e.header_offset = offset
        e.compress_size = csize
        e.file_size = fsize
        e.CRC = crc
        e.compress_type = method
        e.flag_bits = flags
        e.external_attr = attr
        e.index = len(out)
        append(e)
    if pos != cd_size or len(out) != entries:
        return None
    return Directory(out, cd_offset, fileobj)


def _plain_extra(extra):
    """True if the extra field is well formed and holds nothing zipfile would act on."""
    pos, n = 0, len(extra)
    while n - pos >= 4:
        kind, length = _EXTRA.unpack_from(extra, pos)
        if kind in _FALLBACK_EXTRAS or pos + 4 + length > n:
            return False
        pos += 4 + length
    return True
