"""Write docs/api.md, the public API reference, from the docstrings and signatures.

Run ``python3 scripts/gen_api_docs.py`` after changing a public name or its docstring;
tests/test_docs.py fails while docs/api.md differs from what this prints.
"""

from __future__ import annotations

import importlib
import inspect
import sys
import typing
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

# Each module and the public names documented for it: its __all__ where it has one.
MODULES: dict[str, list[str] | None] = {
    "corofy": ["coroutine", "wait", "transform_source", "CorofyError"],
    "runtime": None,
    "runtime.net": ["TcpListener", "TcpStream"],
    "runtime.http": ["Http", "Response", "Headers", "ProtocolError"],
    "runtime.reactor": None,
}

INTRO = """\
# API reference

*Generated from the docstrings by `python3 scripts/gen_api_docs.py`; do not edit by hand
(tests/test_docs.py checks it is current and names every public name).* The user's guide is
the [walkthrough](walkthrough.md); writing a future of your own is
[leaf-future.md](leaf-future.md).
"""


def public_names(module_name: str) -> list[str]:
    module = importlib.import_module(module_name)
    names = MODULES[module_name]
    return list(names if names is not None else module.__all__)


def _doc(obj: Any) -> str:
    doc = inspect.getdoc(obj)
    return inspect.cleandoc(doc) if doc else "(undocumented)"


class _Text(str):
    """An annotation that prints as written (``inspect`` shows other strings quoted)."""

    def __repr__(self) -> str:
        return str(self)


def _signature(obj: Any) -> str:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return ""

    def plain(annotation: Any) -> Any:
        return _Text(annotation) if isinstance(annotation, str) else annotation

    params = [p.replace(annotation=plain(p.annotation)) for p in sig.parameters.values()]
    return str(sig.replace(parameters=params, return_annotation=plain(sig.return_annotation)))


def _members(cls: type) -> list[tuple[str, Any]]:
    """Public methods and properties defined by ``cls`` or a runtime base, in source order.

    A base counts when the user never sees it by name: a class of a private runtime module
    (``runtime._readiness.EventsBase``) or a private class (``runtime.net._RegisteredSocket``).
    """
    found: list[tuple[str, Any]] = []
    seen: set[str] = set()
    for owner in [cls, *(b for b in cls.__mro__[1:] if _hidden_runtime_base(b))]:
        for name, value in owner.__dict__.items():
            if name in seen or (name.startswith("_") and name not in ("__init__",)):
                continue
            seen.add(name)
            if isinstance(value, (staticmethod, classmethod)):
                value = value.__func__
            if isinstance(value, property) or inspect.isfunction(value):
                if name == "__init__" and not value.__doc__:
                    continue
                found.append((name, value))
    return found


def _hidden_runtime_base(base: type) -> bool:
    module = base.__module__
    private = base.__name__.startswith("_") or any(p.startswith("_") for p in module.split("."))
    return module.split(".")[0] == "runtime" and private


def _entry(module_name: str, name: str, obj: Any) -> list[str]:
    lines: list[str] = []
    if inspect.isclass(obj):
        bases = [b.__name__ for b in obj.__bases__ if b is not object]
        kind = "exception" if issubclass(obj, BaseException) else "class"
        lines.append(f"### {kind} `{name}`" + (f" ({', '.join(bases)})" if bases else ""))
        lines += ["", _doc(obj), ""]
        for member, value in _members(obj):
            if isinstance(value, property):
                lines.append(f"- **`.{member}`** (property): {_doc(value).splitlines()[0]}")
            else:
                sig = _signature(value).replace("(self, ", "(").replace("(self)", "()")
                sig = sig.replace("(cls, ", "(").replace("(cls)", "()")
                first = _doc(value).splitlines()[0]
                lines.append(f"- **`.{member}{sig}`**: {first}")
        if lines[-1] != "":
            lines.append("")
    elif isinstance(obj, typing.NewType):  # its docstring and signature are typing's own,
        # and they differ between Python versions
        base = getattr(obj.__supertype__, "__name__", repr(obj.__supertype__))
        what = (
            f"`typing.NewType` of `{base}`: a plain `{base}` at run time, a type of its own "
            "for type checkers."
        )
        lines += [f"### `{name}`", "", what, ""]
    elif callable(obj):
        lines += [f"### `{name}{_signature(obj)}`", "", _doc(obj), ""]
    else:
        lines += [f"### `{name}`", "", f"A constant: `{obj!r}`.", ""]
    return lines


def render() -> str:
    out = [INTRO]
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        out += [f"## `{module_name}`", "", _doc(module).split("\n\n")[0], ""]
        for name in public_names(module_name):
            out += _entry(module_name, name, getattr(module, name))
    return "\n".join(out).rstrip() + "\n"


def main() -> None:
    sys.path.insert(0, str(ROOT))
    (ROOT / "docs" / "api.md").write_text(render())


if __name__ == "__main__":
    main()
