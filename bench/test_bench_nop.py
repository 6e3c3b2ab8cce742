"""NOP round trips: the ring's own cost, per implementation and batch size."""
import pytest

from ioring import bench as B
from conftest import run_runner


@pytest.mark.parametrize("impl", list(B.NOP_IMPLS))
@pytest.mark.parametrize("batch", [1, 32])
def test_nop(benchmark, impl, batch):
    benchmark.group = f"nop batch={batch}"
    benchmark.extra_info["batch"] = batch
    run_runner(benchmark, lambda: B.NOP_IMPLS[impl](batch))
