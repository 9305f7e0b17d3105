"""`corofy run FILE [ARGS]`: transform in memory and run, with no build step.

A meta-path finder sits in front of the normal path finder: a module whose source names
corofy is loaded through `CorofyLoader`, which transforms it and compiles the result at the
original file name and lines (corofy.linemap). Other modules import as usual.

Facts: `SourceFileLoader.get_code` would load `__pycache__/*.pyc` compiled from the
*untransformed* source when its timestamp matches, so the loader bypasses the bytecode cache
in both directions: it never reads one and never writes one.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import types
from collections.abc import Sequence
from typing import Any


def compile_source(data: bytes, path: str) -> types.CodeType:
    """Code for a module's source bytes: transformed when it holds coroutines."""
    from corofy.build import decode_source, might_hold_coroutines

    if not might_hold_coroutines(path, data):
        return compile(data, path, "exec", dont_inherit=True)
    try:
        text, _ = decode_source(data, path)
    except ValueError as exc:
        raise SyntaxError(str(exc)) from None
    from corofy.linemap import parse_at_original_lines
    from corofy.transform import transform

    result = transform(text, path)
    if not result.machines:
        return compile(data, path, "exec", dont_inherit=True)
    import linecache

    linecache.checkcache(path)
    original = linecache.getlines(path) or text.splitlines(keepends=True)
    tree, _ = parse_at_original_lines(result.code, path, original)
    try:
        return compile(tree, path, "exec", dont_inherit=True)
    except SyntaxError as exc:  # the generated code, not the user's: say whose bug it is
        raise RuntimeError(
            f"corofy's transform produced code Python rejects for {path} ({exc.msg}); "
            "this is a bug in corofy, please report it"
        ) from exc


class CorofyLoader(importlib.machinery.SourceFileLoader):
    """Loads a corofy-source module transformed, never through the bytecode cache."""

    def get_code(self, fullname: str) -> types.CodeType:
        path = self.get_filename(fullname)
        return compile_source(self.get_data(path), path)

    def set_data(self, path: str, data: bytes, *, _mode: int = 0o666) -> None:
        pass


_OWN_PACKAGES = frozenset({"corofy", "runtime", "libcst"})  # never corofy source themselves


class CorofyFinder(importlib.abc.MetaPathFinder):
    """Finds modules as the path finder does; hands corofy-source ones to `CorofyLoader`."""

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: Any = None) -> Any:
        if fullname.partition(".")[0] in _OWN_PACKAGES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or not isinstance(spec.loader, importlib.machinery.SourceFileLoader):
            return None
        origin = spec.origin or ""
        if not origin.endswith(".py"):
            return None
        try:
            with open(origin, "rb") as f:
                data = f.read()
        except OSError:
            return None
        if b"corofy" not in data:
            return None
        spec.loader = CorofyLoader(fullname, origin)
        return spec


def install() -> CorofyFinder:
    finder = CorofyFinder()
    sys.meta_path.insert(0, finder)
    return finder


def run_file(path: str, args: Sequence[str]) -> None:
    """Run `path` as `__main__` with `sys.argv = [path, *args]`, transformed in memory.

    Exceptions propagate; the caller prints them (runtime.debug's hook).
    """
    import os

    with open(path, "rb") as f:
        data = f.read()
    code = compile_source(data, path)
    install()
    main = types.ModuleType("__main__")
    main.__file__ = path
    main.__builtins__ = __builtins__
    main.__loader__ = CorofyLoader("__main__", path)
    main.__spec__ = None
    sys.modules["__main__"] = main
    sys.argv = [path, *args]
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    exec(code, main.__dict__)
