"""The ``small-files`` workload: create + write + close of many small files
(``ioring.files.write_files`` against a plain Python loop)."""
from __future__ import annotations

import os
import random
from typing import List

from ioring.bench._runner import Skip, _bad, _Rounds


def _files_module():
    try:
        from ioring import files
    except ImportError as exc:
        if getattr(exc, "name", None) in ("ioring.files", None) and "files" in str(exc):
            raise Skip("skipped", "ioring.files is not available in this build") from None
        raise
    return files


def _small_payloads(count: int, size: int) -> List[bytes]:
    rnd = random.Random(7)
    return [rnd.randbytes(size) for _ in range(min(count, 16))]


class _PyLoopFiles(_Rounds):
    """The plain way: os.open(O_CREAT|O_WRONLY|O_TRUNC), os.write, os.close per file."""

    def __init__(self, base, count, size):
        super().__init__(base, count)
        self.payloads = _small_payloads(count, size)

    def one(self, dest):
        payloads, n = self.payloads, len(self.payloads)
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
        for i in range(self.count):
            fd = os.open(os.path.join(dest, f"f{i:06d}"), flags, 0o644)
            try:
                data = payloads[i % n]
                if os.write(fd, data) != len(data):
                    raise _bad("short write")
            finally:
                os.close(fd)


class _IoringFiles(_Rounds):
    """ioring.files.write_files: the same files through io_uring (openat, write, close)."""

    def __init__(self, base, count, size):
        super().__init__(base, count)
        self.files = _files_module()
        if not hasattr(self.files, "write_files"):
            raise Skip("skipped", "ioring.files has no write_files")
        self.payloads = _small_payloads(count, size)

    def one(self, dest):
        payloads, n = self.payloads, len(self.payloads)
        items = {os.path.join(dest, f"f{i:06d}"): payloads[i % n] for i in range(self.count)}
        self.files.write_files(items)
