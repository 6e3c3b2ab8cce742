"""Every function of liburing 2.15 (docs/liburing-2.15-functions.txt, 224 names) is mirrored
by ioring.liburing, or listed in the README's "Not mirrored" table with its reason."""
import pathlib
import re

import ioring
from ioring import liburing as L

ROOT = pathlib.Path(__file__).resolve().parent.parent


def liburing_functions():
    text = (ROOT / "docs" / "liburing-2.15-functions.txt").read_text()
    return [line.strip() for line in text.splitlines() if line.strip().startswith("io_uring")]


def not_mirrored_in_readme():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Not mirrored", 1)[1].split("\n#", 1)[0] if "### Not mirrored" in readme else ""
    return set(re.findall(r"^\| `(io_uring\w+)` \|", section, re.M))


def test_the_list_is_liburing_2_15():
    # liburing 2.15's 224 public functions, plus io_uring_prep_cmd_zone_reset_all of 2.16-dev.
    names = liburing_functions()
    assert len(names) == 225 == len(set(names))
    assert sum(n.startswith("io_uring_prep_") for n in names) == 104


def test_every_liburing_function_is_mirrored_or_explained():
    explained = not_mirrored_in_readme()
    missing = [n for n in liburing_functions() if not hasattr(L, n) and n not in explained]
    assert missing == []
    assert not explained & {n for n in liburing_functions() if hasattr(L, n)}, "mirrored but listed as not"


def test_kernel_probe_helper():
    table = ioring.kernel_probe()
    assert table["IORING_OP_NOP"] and table["IORING_OP_READ"]
    assert set(table) >= {"IORING_OP_NOP", "IORING_OP_URING_CMD"}
    assert ioring.liburing_version() == (2, 15)
