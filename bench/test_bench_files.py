"""Many small files (create + write + close) and zip extraction: ioring.files against the
plain-Python ways."""
import itertools
import os

import pytest

from ioring import bench as B

COUNT = 200


def _rounds(benchmark, make, base):
    try:
        runner = make()
    except B.Skip as skip:
        pytest.skip(f"{skip.status}: {skip.note}")
    seq = itertools.count()
    dests = []

    def fresh():
        d = os.path.join(base, f"round-{next(seq)}")
        os.mkdir(d)
        dests.append(d)
        return (d,), {}

    benchmark.pedantic(runner.one, setup=fresh, rounds=3, iterations=1)
    for d in dests:
        runner.check(d)
    benchmark.extra_info["ops_per_call"] = COUNT


@pytest.mark.parametrize("impl", ["py-loop", "files"])
def test_small_files(benchmark, tmp_path, impl):
    benchmark.group = f"small-files {COUNT} x 4 KiB"
    cls = {"py-loop": B._PyLoopFiles, "files": B._IoringFiles}[impl]
    _rounds(benchmark, lambda: cls(str(tmp_path), COUNT, 4096), str(tmp_path))


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("zip") / "archive.zip")
    B.make_zip(path, COUNT)
    return path


@pytest.mark.parametrize("impl", ["zipfile", "extract_zip"])
def test_unzip(benchmark, tmp_path, archive, impl):
    benchmark.group = f"unzip {COUNT} members"
    cls = {"zipfile": B._ZipfileUnzip, "extract_zip": B._IoringUnzip}[impl]
    _rounds(benchmark, lambda: cls(str(tmp_path), COUNT, archive), str(tmp_path))
