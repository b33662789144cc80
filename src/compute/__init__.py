"""The compute layer: one way to run independent tasks, in-process or on Dask (SPEC §14)."""

from src.compute.address import parse_address
from src.compute.cluster import Compute, TaskCut, TaskFailure
from src.compute.errors import ComputeError
from src.compute.opening import check_local_workers, open_compute

__all__ = [
    "Compute",
    "ComputeError",
    "TaskCut",
    "TaskFailure",
    "check_local_workers",
    "open_compute",
    "parse_address",
]
