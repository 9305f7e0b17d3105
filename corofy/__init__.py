"""corofy — rewrite @coroutine functions with wait() into explicit state machines.

The public names are imported lazily, so `import corofy` stays cheap for the generated-code
path (which never imports corofy at all) and for the command line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what the lazy names below are, for type checkers
    from corofy.decorator import coroutine, wait
    from corofy.transform import CorofyError, transform_source

__version__ = "0.2.0"

_LAZY = {
    "coroutine": "corofy.decorator",
    "wait": "corofy.decorator",
    "transform_source": "corofy.transform",
    "CorofyError": "corofy.transform",
}

__all__ = ["CorofyError", "__version__", "coroutine", "transform_source", "wait"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'corofy' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
