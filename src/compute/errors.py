"""Errors of the compute layer; each names the cluster or setting involved and what to do."""


class ComputeError(RuntimeError):
    """The cluster cannot be reached, started or kept working; the message says which and what
    to do."""
