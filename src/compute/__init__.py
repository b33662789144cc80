"""The compute layer: one way to run independent tasks, in-process or on Dask (SPEC §14)."""

from src.compute.cluster import (
    SCHEDULER_ENV,
    Compute,
    ComputeError,
    TaskFailure,
    open_compute,
)

__all__ = ["SCHEDULER_ENV", "Compute", "ComputeError", "TaskFailure", "open_compute"]
