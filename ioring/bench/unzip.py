"""The ``unzip`` workload: the members of a zip archive extracted (``ioring.files.extract_zip``
against zipfile); the real-wheel points are in ``ioring.bench.wheel``."""
from __future__ import annotations

import os
import random
import zipfile

from ioring.bench._runner import Skip, _bad, _Rounds
from ioring.bench.small_files import _files_module


def make_zip(path: str, members: int, *, seed: int = 11) -> int:
    """A deflated zip of ``members`` text-like files of 1-16 KiB (compressible, as source trees
    and documents are); returns the total uncompressed size."""
    rnd = random.Random(seed)
    words = [bytes(rnd.choices(b"abcdefghijklmnopqrstuvwxyz", k=rnd.randint(2, 9)))
             for _ in range(512)]
    total = 0
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(members):
            size = rnd.randint(1024, 16384)
            data = bytearray()
            while len(data) < size:
                data += b" ".join(rnd.choices(words, k=12)) + b"\n"
            z.writestr(f"pkg/mod{i // 100:03d}/file{i:05d}.txt", bytes(data[:size]))
            total += size
    return total


class _ZipRounds(_Rounds):
    def __init__(self, base, count, archive):
        super().__init__(base, count)
        self.archive = archive

    def check(self, dest):
        n = sum(len(f) for _, _, f in os.walk(dest))
        if n != self.count:
            raise _bad("members extracted", n, "expected", self.count)


class _ZipfileUnzip(_ZipRounds):
    """zipfile.ZipFile(archive).extractall(dest)."""

    def one(self, dest):
        with zipfile.ZipFile(self.archive) as z:
            z.extractall(dest)


class _IoringUnzip(_ZipRounds):
    """ioring.files.extract_zip(archive, dest)."""

    def __init__(self, base, count, archive):
        super().__init__(base, count, archive)
        self.files = _files_module()
        if not hasattr(self.files, "extract_zip"):
            raise Skip("skipped", "ioring.files has no extract_zip")

    def one(self, dest):
        self.files.extract_zip(self.archive, dest)
