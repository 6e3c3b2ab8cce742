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


# The request path: SQEs are taken with door_acquire and encoded by the door's preps, never by the
# thin layer's Python-level get_sqe/prep functions (Ring.queue and the multishot requests, which
# run a prep the caller gives, get the thin layer's SQE object through the door too).
THIN_REQUEST_CALL = re.compile(r"L\.io_uring_(get_sqe|prep_\w+|submit)\(")


@pytest.mark.parametrize("path", RING_FILES, ids=lambda p: p.name)
def test_requests_go_through_the_door(path):
    offending = [f"{path.name}:{n}: {line.strip()}"
                 for n, line in enumerate(path.read_text().splitlines(), 1)
                 if THIN_REQUEST_CALL.search(line) and not line.lstrip().startswith("#")
                 # Ring.submit()/wait(n=0) are io_uring_submit itself (its errors as it raises them)
                 and "return L.io_uring_submit(self.uring)" not in line
                 and line.strip() != "L.io_uring_submit(self.uring)"
                 # the multishot requests run the thin layer's prep of their kind on its SQE
                 # object, as Ring.queue runs the caller's
                 and not line.lstrip().startswith("L.io_uring_prep_read_multishot(sqe,")]
    assert offending == []


def test_every_cdef_class_of_the_thin_layer_is_declared_in_its_pxd():
    """docs/ARCHITECTURE.md: liburing.pxd declares every cdef class of the build unit, so any
    module can cimport it."""
    unit = [ROOT / "liburing.pyx"] + [
        ROOT / name for name in re.findall(r'^include "(\w+\.pxi)"', (ROOT / "liburing.pyx").read_text(),
                                           flags=re.M)]
    cdef_class = re.compile(r"^cdef class (\w+)", flags=re.M)
    defined = {name for path in unit for name in cdef_class.findall(path.read_text())}
    declared = set(cdef_class.findall((ROOT / "liburing.pxd").read_text()))
    assert len(defined) >= 55
    assert defined - declared == set()


def test_no_c_declaration_is_written_twice():
    """docs/ARCHITECTURE.md rule 2: each header of include/ioring/ is declared by one .pxd of
    ioring/includes/, and no C function, struct or constant is declared in two of them (the
    Windows-only subset, which compiles without the Linux core, aside)."""
    declared = {}
    # A C name is the quoted one when given (`ctypedef struct _s_x "struct io_uring_x"`), else
    # the declared identifier: structs/unions/enums with a name, functions, variables, constants.
    tagged = re.compile(r'^\s+(?:ctypedef\s+)?(?:struct|union|enum)\s+(\w+)\s*(?:"([^"]+)")?\s*:')
    pointer = re.compile(r'^\s+ctypedef\s[^(]*\(\*(\w+)\)()')       # a function pointer type
    plain = re.compile(r'^\s+(?!\s|ctypedef\b)(?:const\s+)?[\w\s\*]*?[\s\*](\w+)\s*(?:"([^"]+)")?\s*(?:\(|$)')
    for pxd in sorted((ROOT / "includes").glob("*.pxd")):
        inside = False
        for line in pxd.read_text().splitlines():
            if line.startswith("cdef extern from"):
                inside = '"ioring/' in line
                continue
            if line and not line[0].isspace():
                inside = False
            if not inside or line.startswith(" " * 8) or line.strip().startswith(("#", '"""', "pass")):
                continue
            m = tagged.match(line) or pointer.match(line) or plain.match(line)
            if m:
                declared.setdefault(m.group(2) or m.group(1), []).append(pxd.name)
    twice = {name: files for name, files in declared.items() if len(files) > 1}
    assert len(declared) > 300
    assert twice == {}
