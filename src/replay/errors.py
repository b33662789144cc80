"""The replay's task error, apart from the training code so the CLIs' error edge stays light."""


class ReplayTaskError(RuntimeError):
    """A week's training failed on every attempt (it cannot train on that window, or its worker
    kept dying)."""
