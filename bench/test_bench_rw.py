"""4 KiB random reads and writes at a queue depth, page cache, plain or registered."""
import os

import pytest

from ioring import bench as B
from conftest import run_runner


@pytest.fixture(scope="module")
def fds(stamped_file):
    path, _ = stamped_file
    rd = os.open(path, os.O_RDONLY)
    wr = os.open(path, os.O_RDWR)
    yield {False: rd, True: wr}
    os.close(rd)
    os.close(wr)


def _setup(fds, stamped_file, offsets, write, qd, fixed):
    return B.RWSetup(fds[write], stamped_file[1], qd, write, fixed, False, not write, offsets)


@pytest.mark.parametrize("impl", list(B.RW_IMPLS))
@pytest.mark.parametrize("config", ["plain", "registered"])
@pytest.mark.parametrize("qd", [1, 32])
@pytest.mark.parametrize("op", ["read", "write"])
def test_rw(benchmark, fds, stamped_file, offsets, op, qd, config, impl):
    if config == "registered" and impl in B.RW_PLAIN_ONLY:
        pytest.skip(f"{impl} has no registered variant")
    if qd != 1 and impl in B.RW_QD1_ONLY:
        pytest.skip(f"{impl} is QD 1 only")
    write = op == "write"
    benchmark.group = f"{op} qd={qd} {config}"
    benchmark.extra_info.update(qd=qd, config=config)
    run_runner(benchmark, lambda: B.RW_IMPLS[impl](
        _setup(fds, stamped_file, offsets, write, qd, config == "registered")))
