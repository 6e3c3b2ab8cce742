"""The Pythonic layer reaches the thin layer only through the door (docs/ARCHITECTURE.md): no
private attribute of ``io_uring`` and no field of its C ring is named in ``ioring/_ring*``."""
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent / "ioring"
# Ring and its .pxi; _ring_ctl.pxi belongs to the thin layer (it is included by liburing.pyx).
FILES = sorted(p for p in ROOT.glob("_ring*.p*") if p.name not in ("_ring_ctl.pxi", "_ring.pyi"))
PRIVATE = re.compile(r"uring\._|\.cq\.|\.sq\.|&(ring\.)?uring\.ring\b|uring\.ring\.")
# Registered buffers go through door_registered, which another slice of issue 15 adds.
PENDING = ("_registered_ranges", "_check_fixed")


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_no_private_access(path):
    offending = [f"{path.name}:{n}: {line.strip()}"
                 for n, line in enumerate(path.read_text().splitlines(), 1)
                 if PRIVATE.search(line) and not any(name in line for name in PENDING)]
    assert offending == []


def test_files_found():
    names = {p.name for p in FILES}
    assert {"_ring.pyx", "_ring_files.pxi", "_ring_sockets.pxi", "_ring_multishot.pxi",
            "_ring_async.pxi"} <= names
