"""Package exports loaded on first use (PEP 562), so importing a package for its errors does not
load what its other modules need: the CLIs' error edge (src/cli/exits.py) names the errors of
src.tuning, src.replay and src.inference, and the light scripts (alert.py, commit_message.py)
must not load Optuna, the model libraries or ONNX Runtime through it."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module


def lazy_exports(package: str, modules: dict[str, str]) -> Callable[[str], object]:
    """A module `__getattr__` that imports `package.<modules[name]>` when `name` is first read."""

    def __getattr__(name: str) -> object:  # runs only for names the package does not define
        if name not in modules:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(f"{package}.{modules[name]}"), name)

    return __getattr__
