"""The Pythonic layer reaches the thin layer only through the door (docs/ARCHITECTURE.md): no
private attribute of ``io_uring`` and no field of its C ring is named in Ring's files; the C
engines (stream, file engines, C reference loops, Windows emulation) name no private attribute."""
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent / "ioring"
# Ring: _ring.pyx and the .pxi it includes (the thin layer's own _ring_sizes/_ring_state.pxi are
# included by liburing.pyx, not by _ring.pyx).
RING_FILES = [ROOT / "_ring.pyx"] + [
    ROOT / name for name in re.findall(r'^include "(\w+\.pxi)"', (ROOT / "_ring.pyx").read_text(), flags=re.M)]
# The C engines drive the struct of a ring they door_claim directly (legitimate), but name no
# private attribute of io_uring.
ENGINE_FILES = [ROOT / name for name in ("_stream.pyx", "_fileops.pyx", "_copy_engine.pxi",
                                         "_bench.pyx", "_winioring_linux.pyx")]
FILES = RING_FILES + ENGINE_FILES
PRIVATE = re.compile(r"uring\._|\.cq\.|\.sq\.|&(ring\.)?uring\.ring\b|uring\.ring\.")
PRIVATE_ATTRIBUTE = re.compile(r"uring\._")
PENDING = ()


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_no_private_access(path):
    offending = [f"{path.name}:{n}: {line.strip()}"
                 for n, line in enumerate(path.read_text().splitlines(), 1)
                 if (PRIVATE if path in RING_FILES else PRIVATE_ATTRIBUTE).search(line)
                 and not any(name in line for name in PENDING)]
    assert offending == []


def test_files_found():
    names = {p.name for p in FILES}
    assert {"_ring.pyx", "_ring_files.pxi", "_ring_sockets.pxi", "_ring_multishot.pxi",
            "_ring_async.pxi"} <= names
