"""The compute layer: one way to run independent tasks, in-process or on Dask (SPEC §14)."""

from src.compute.address import parse_address
from src.compute.cluster import (
    Compute,
    TaskCut,
    TaskFailure,
    check_local_workers,
    open_compute,
)
from src.compute.errors import ComputeError

__all__ = [
    "Compute",
    "ComputeError",
    "TaskCut",
    "TaskFailure",
    "check_local_workers",
    "open_compute",
    "parse_address",
]
