"""The markers `coroutine` and `wait`, and the build-free path of `@coroutine`.

In a plain `python file.py` run nothing has transformed the source, so `@coroutine` does it
when the function is defined: it takes the function's source from its file, transforms it
with the same transform the command line uses (so the errors are the same), compiles the
result at the original file name and line numbers, and builds it in the function's own
globals and closure cells — a write through `nonlocal` reaches the enclosing function.

How the function's source is presented to the transform: blank lines, then three lines of
prelude (four for a method), then the function on its own original line numbers (so state
names, the line table and error positions come out original without any arithmetic):

    (blank lines)
    from corofy import coroutine as __corofy_coroutine__, wait as …; import corofy as …
    def __corofy_cells__(<the function's free variables>):
        def __corofy_factory__():
            class <its class>:                  (only for a method: see below)
                <the function, re-indented, @coroutine spelled __corofy_coroutine__>
            return <name>
        return __corofy_factory__

A function starting on the first lines leaves no room for the prelude; it is shifted down
and the lines corrected afterwards (state names then carry the shifted numbers).

A method (defined directly in a class body) is presented inside a class of the same name, so
the transform treats it as the command line does: private names are mangled with that
class's name, and zero-argument `super()` and `__class__` are lowered to the class the
machine receives. The transform puts the machine class in the class body and reaches it as
`__class__.<machine>`; here the class body is unwrapped into the factory and those
references become plain names, so every `__class__` left in the generated code is the
original method's own `__class__` cell.

Facts: CPython gives a function defined in a class body a free variable `__class__` whenever
it uses zero-argument `super()` or names `__class__`; `type.__new__` fills that cell (passed
as `__classcell__`) only after the class body has run, so when `@coroutine` runs the cell is
still empty. The generated code must therefore share the cell itself, never copy its value.
Name mangling (`self.__x` -> `self._C__x`) is by the innermost enclosing class, which for
generated code would be the machine class: hence the transform must know the real one.

Only the code of `__corofy_factory__` is kept: it is turned into a function whose closure
is the *original* function's cells (matched by name), so the generated code reads and writes
the enclosing variables themselves, not copies. Decorators above `@coroutine` are dropped
from the text (Python applies them to what `coroutine` returns); decorators below it have
already run, so they are refused. Lines inside multi-line strings are never re-indented,
so string values are unchanged.
"""

from __future__ import annotations

import ast
import builtins
import functools
import inspect
import io
import linecache
import sys
import tokenize
import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

if TYPE_CHECKING:
    from runtime import Future

P = ParamSpec("P")
T = TypeVar("T")

_PRELUDE_LINES = 3
_INDENT = " " * 8
_METHOD_INDENT = " " * 12
_WRAPPER_QUALNAME = "__corofy_cells__.<locals>.__corofy_factory__.<locals>."


def wait(future: Future[T]) -> T:
    """Suspend the enclosing coroutine until `future` is ready; its value.

    Only meaningful inside a function transformed from `@coroutine`: corofy replaces each call
    by a suspension point, so reaching this body means the call was not transformed.
    """
    raise RuntimeError(
        "wait() was called outside a transformed coroutine; use it only inside a function "
        "decorated @coroutine (from corofy), which corofy rewrites into a state machine"
    )


def coroutine(fn: Callable[P, T]) -> Callable[P, Future[T]]:
    """Mark `fn` as a coroutine; untransformed, transform it now (see the module docstring).

    Calling the result runs none of the body: it returns a `runtime.Future` of the value.
    """
    if isinstance(fn, (classmethod, staticmethod)):
        raise TypeError(
            f"@coroutine must be applied to the function itself; put @{type(fn).__name__} "
            f"above @coroutine"
        )
    if not inspect.isfunction(fn):
        raise TypeError(
            f"@coroutine applies to a def function, not {type(fn).__name__}; "
            f"put other decorators above @coroutine"
        )
    return _build(fn)  # type: ignore[return-value]


def _continuation_lines(source: str) -> set[int]:
    """1-based numbers of lines that begin inside a multi-line string (never re-indented)."""
    inside: set[int] = set()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.start[0] != tok.end[0] and tok.type in (
                tokenize.STRING,
                getattr(tokenize, "FSTRING_MIDDLE", -1),
            ):
                inside.update(range(tok.start[0] + 1, tok.end[0] + 1))
    except (tokenize.TokenError, SyntaxError):
        pass  # the transform reports the syntax error with its position
    return inside


def _resolve(expr: ast.expr, namespace: dict[str, Any]) -> Any:
    """The value of a dotted name in `namespace` (or builtins); None for anything else."""
    if isinstance(expr, ast.Name):
        return namespace.get(expr.id, getattr(builtins, expr.id, None))
    if isinstance(expr, ast.Attribute):
        base = _resolve(expr.value, namespace)
        return getattr(base, expr.attr, None) if base is not None else None
    return None


def _is_marker(value: Any) -> bool:
    import corofy

    return value is wait or value is coroutine or value is corofy


def _marker_imports(namespace: dict[str, Any]) -> str:
    import corofy

    names = ["coroutine as __corofy_coroutine__"]
    modules: list[str] = []
    for name, value in namespace.items():
        if value is wait and name.isidentifier():
            names.append(f"wait as {name}")
        elif value is coroutine and name.isidentifier():
            names.append(f"coroutine as {name}")
        elif value is corofy and name.isidentifier():
            modules.append(f"import corofy as {name}")
    return "; ".join([f"from corofy import {', '.join(names)}", *modules])


def _fail(filename: str, line: int, message: str) -> Exception:
    from corofy.transform import CorofyError

    return _error_like(CorofyError, filename, line, 1, message)


def _error_like(cls: type, filename: str, line: int, col: int, message: str) -> Exception:
    """A CorofyError at an original position, whatever its constructor looks like: a
    refusal, which Python reports as its error line if nothing catches it."""
    exc = cls.__new__(cls)
    exc.filename, exc.line, exc.col, exc.message = filename, line, col, message
    exc.args = (f"{filename}:{line}:{col}: error: {message}",)
    exc.__corofy_refusal__ = True
    _report_refusals_as_lines()
    return exc


def _report_refusals_as_lines() -> None:
    """Make an uncaught refusal of the build-free path read as the command line prints it,
    ``path:line:col: error: message`` alone on stderr, not as a traceback through corofy's
    own frames (a user error, not a crash); any other exception is reported as before.
    Installed at the first refusal; the refusal can still be caught as a CorofyError."""
    if getattr(sys.excepthook, "__corofy__", False):
        return
    previous = sys.excepthook

    def excepthook(kind: type[BaseException], value: BaseException, tb: Any) -> None:
        if getattr(value, "__corofy_refusal__", False):
            sys.stderr.write(f"{value}\n")
            sys.stderr.flush()
        else:
            previous(kind, value, tb)

    excepthook.__corofy__ = True  # type: ignore[attr-defined]
    sys.excepthook = excepthook


def _build(fn: types.FunctionType) -> types.FunctionType:
    filename = fn.__code__.co_filename
    try:
        lines, start = _source_lines(fn)
    except (OSError, TypeError):
        raise RuntimeError(
            f"@coroutine cannot find the source of {fn.__qualname__} (defined in {filename}); "
            f"the untransformed decorator needs a source file — transform this code with the "
            f"corofy command instead"
        ) from None
    if start == 0:  # a module's whole source, e.g. from a frozen module
        start = 1
    first = lines[0]
    indent = first[: len(first) - len(first.lstrip())]
    cont = _continuation_lines("".join(lines))
    tree = ast.parse(_reindent(lines, cont, indent, ""), filename)
    funcdef = tree.body[0]
    assert isinstance(funcdef, ast.FunctionDef | ast.AsyncFunctionDef)
    mine = [
        i for i, d in enumerate(funcdef.decorator_list) if _resolve(d, fn.__globals__) is coroutine
    ]
    if not mine and len(funcdef.decorator_list) == 1:
        mine = [0]
    if len(mine) != 1:
        raise _fail(
            filename,
            start,
            f"cannot tell which decorator of {fn.__name__} is @coroutine; "
            "import it with `from corofy import coroutine` and write @coroutine",
        )
    k = mine[0]
    if k != len(funcdef.decorator_list) - 1:
        below = funcdef.decorator_list[k + 1]
        raise _fail(
            filename,
            start + below.lineno - 1,
            "decorators below @coroutine are not supported by the untransformed "
            "@coroutine; put other decorators above @coroutine",
        )
    # Blank the decorators above ours and respell ours, keeping every line in its place.
    first_dec_line = funcdef.decorator_list[0].lineno
    ours = funcdef.decorator_list[k]
    edited = list(lines)
    for number in range(first_dec_line, ours.lineno):
        edited[number - 1] = "\n"
    for number in range(ours.lineno, (ours.end_lineno or ours.lineno) + 1):
        edited[number - 1] = "\n"
    edited[ours.lineno - 1] = indent + "@__corofy_coroutine__\n"
    owner = _owner_class(fn)
    body_indent = _METHOD_INDENT if owner else _INDENT
    body = _reindent(edited, cont, indent, body_indent)
    # Markers bound in an enclosing function (`from corofy import wait` inside it) are
    # imported like global ones; the other free variables become the cells' parameters.
    markers = dict(fn.__globals__)
    freevars = []
    for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or ()):
        try:
            value = cell.cell_contents
        except ValueError:  # not bound yet (e.g. __class__ while the class body runs)
            value = None
        if _is_marker(value):
            markers[name] = value
        else:
            freevars.append(name)
    # Blank lines first, so the function sits on its own line numbers and everything the
    # transform derives from them (state names, line table, errors) is already original.
    # A function on the first lines leaves no room: it is shifted, `offset` corrects lines.
    prelude = _PRELUDE_LINES + (1 if owner else 0)
    padding = max(0, start - (prelude + 1))
    snippet = (
        "\n" * padding
        + _marker_imports(markers)
        + "\n"
        + f"def __corofy_cells__({', '.join(freevars)}):\n"
        + "    def __corofy_factory__():\n"
        + (f"{_INDENT}class {owner}:\n" if owner else "")
        + body
        + f"{_INDENT}return {fn.__name__}\n"
        + "    return __corofy_factory__\n"
    )
    offset = start - (padding + prelude + 1)  # snippet line + offset = original line
    code = _transform(snippet, filename, offset, len(indent), len(body_indent), start)
    return _instantiate(fn, code, snippet, filename, start, offset, owner)


def _source_lines(fn: types.FunctionType) -> tuple[list[str], int]:
    """The lines of `fn`'s def, from its first decorator, and the number of the first.

    Taken from the file's tree, laid out with spaces (`readable.spaced`: the same program on
    the same lines), since inspect's block finder ends a function at a line holding only a
    backslash, and a tab after spaces counts to the next multiple of 8 only where it stands:
    re-indented, it would make other blocks.
    """
    code = fn.__code__
    text = "".join(linecache.getlines(code.co_filename, fn.__globals__))
    found = _defs(text).get((code.co_name, code.co_firstlineno)) if text else None
    if found is None:
        return inspect.getsourcelines(fn)
    first, last, lines = found
    return lines[first - 1 : last], first


@functools.lru_cache(maxsize=8)
def _defs(text: str) -> dict[tuple[str, int], tuple[int, int, list[str]]]:
    """Every def of a module's `text`, by its name and first line: its first and last line,
    and the module's lines laid out with spaces."""
    from corofy.transform import spaced

    laid_out = spaced(text)
    try:
        tree = ast.parse(laid_out)
    except (SyntaxError, ValueError):
        return {}
    # linecache's lines end in "\n" alone; str.splitlines would also break at "\f" and such.
    lines = [line + "\n" for line in laid_out.split("\n")]
    found: dict[tuple[str, int], tuple[int, int, list[str]]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno:
            first = node.decorator_list[0].lineno if node.decorator_list else node.lineno
            found[(node.name, first)] = (first, node.end_lineno, lines)
    return found


def _owner_class(fn: types.FunctionType) -> str | None:
    """The name of the class whose body defines `fn`, or None for a plain function.

    The code object's qualname is the one the compiler gave (`C.m`, `f.<locals>.C.m`);
    `fn.__qualname__` may have been reassigned.
    """
    parts = fn.__code__.co_qualname.split(".")
    if len(parts) >= 2 and parts[-2] != "<locals>":
        return parts[-2]
    return None


def _reindent(lines: list[str], cont: set[int], indent: str, new_indent: str) -> str:
    """The lines with `indent` replaced by `new_indent`, leaving string continuations alone."""
    out = []
    for number, line in enumerate(lines, 1):
        if number in cont:
            out.append(line)
        elif not line.strip():
            out.append("\n")
        elif line.startswith(indent):
            out.append(new_indent + line[len(indent) :])
        else:  # a continuation line indented less than the def: its indentation is free
            out.append(new_indent + line.lstrip())
    text = "".join(out)
    return text if text.endswith("\n") else text + "\n"


def _transform(
    snippet: str, filename: str, offset: int, indent: int, new_indent: int, first_line: int
) -> str:
    from corofy.transform import CorofyError, transform
    from corofy.transform.splice import GENERATED_BUILTINS

    try:
        # The module may bind a builtin the generated code calls (`set = ...`), before or
        # after this def: the snippet does not show it, so they all get names of their own.
        result = transform(snippet, filename, bound=GENERATED_BUILTINS)
    except CorofyError as exc:
        line = exc.line + offset
        in_function = exc.line + offset >= first_line
        col = max(1, exc.col - new_indent + indent) if in_function else exc.col
        raise _error_like(type(exc), filename, line, col, exc.message) from None
    return result.code


def _find_code(code: types.CodeType, name: str) -> types.CodeType:
    for const in code.co_consts:
        if isinstance(const, types.CodeType) and const.co_name == name:
            return const
    raise LookupError(name)


def _unwrap_class(factory: ast.FunctionDef, owner: str) -> None:
    """Splice the stand-in class's body into the factory; `__class__.X` becomes `X`.

    The names the class body defines (the method, its machine class) become the factory's
    locals, so the `__class__` the generated code still names is a free variable, bound to
    the original method's cell, as is every name it closes over.
    """
    k, stand_in = next(
        (k, s)
        for k, s in enumerate(factory.body)
        if isinstance(s, ast.ClassDef) and s.name == owner
    )
    factory.body[k : k + 1] = stand_in.body
    defined = {s.name for s in stand_in.body if isinstance(s, ast.ClassDef | ast.FunctionDef)}

    class Reach(ast.NodeTransformer):
        def visit_Attribute(self, node: ast.Attribute) -> ast.expr:
            self.generic_visit(node)
            if (
                isinstance(node.value, ast.Name)
                and node.value.id == "__class__"
                and node.attr in defined
                and isinstance(node.ctx, ast.Load)
            ):
                return ast.copy_location(ast.Name(node.attr, ast.Load()), node)
            return node

    for stmt in stand_in.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            stmt.body = [Reach().visit(s) for s in stmt.body]


def _drop_def_time_expressions(factory: ast.FunctionDef, name: str) -> None:
    """Blank the generated function's defaults and annotations; the original's are copied.

    Facts: Python evaluates defaults (and, without `from __future__ import annotations`,
    annotations) once, when the `def` runs, in the scope around it — for a method, the class
    body. The original `def` has already done so; evaluating the copies again in the factory
    would repeat their side effects and fail on names of the class body (`x=LIMIT`) or on the
    class itself, not yet bound (`other: C`).
    """
    wrapper = next(s for s in factory.body if isinstance(s, ast.FunctionDef) and s.name == name)
    args = wrapper.args
    args.defaults = [ast.copy_location(ast.Constant(None), d) for d in args.defaults]
    args.kw_defaults = [
        None if d is None else ast.copy_location(ast.Constant(None), d) for d in args.kw_defaults
    ]
    for arg in (*args.posonlyargs, *args.args, args.vararg, *args.kwonlyargs, args.kwarg):
        if arg is not None:
            arg.annotation = None
    wrapper.returns = None


def _instantiate(
    fn: types.FunctionType,
    generated: str,
    snippet: str,
    filename: str,
    start: int,
    offset: int,
    owner: str | None,
) -> types.FunctionType:
    from corofy.linemap import move_to_original_lines, pop_line_table
    from runtime._qualnames import rename_inside

    tree = ast.parse(generated, filename)
    table = pop_line_table(tree)
    # Module-level statements the transform adds (imports of runtime, helpers) run inside the
    # factory, so they stay out of the user's globals.
    cells = next(
        s for s in tree.body if isinstance(s, ast.FunctionDef) and s.name == "__corofy_cells__"
    )
    factory = next(
        s for s in cells.body if isinstance(s, ast.FunctionDef) and s.name == "__corofy_factory__"
    )
    if owner:
        _unwrap_class(factory, owner)
    _drop_def_time_expressions(factory, fn.__name__)
    factory.body[:0] = [s for s in tree.body if s is not cells]
    tree.body = [cells]
    original = linecache.getlines(filename) or snippet.splitlines()
    move_to_original_lines(
        tree, table, generated.splitlines(), original, fallback=start, offset=offset
    )
    try:
        module_code = compile(tree, filename, "exec", dont_inherit=True)
    except SyntaxError as exc:  # the generated code, not the user's: say whose bug it is
        raise RuntimeError(
            f"corofy's transform produced code Python rejects for {fn.__qualname__} "
            f"({exc.msg}); this is a bug in corofy, please report it"
        ) from exc
    factory_code = _find_code(_find_code(module_code, "__corofy_cells__"), "__corofy_factory__")
    # What the factory defines is named as the source names it, the machine class too (its
    # qualname strings spell the class the transform saw around a method; compiled, the
    # wrapper alone).
    prefix = fn.__qualname__.rpartition(".")[0]
    new = f"{prefix}." if prefix else ""
    seen = _WRAPPER_QUALNAME + (f"{owner}." if owner else "")  # the qualname prefix it saw
    for old in dict.fromkeys((seen, _WRAPPER_QUALNAME)):
        factory_code = rename_inside(factory_code, old, new)
    cells_by_name = dict(zip(fn.__code__.co_freevars, fn.__closure__ or ()))
    closure = tuple(cells_by_name[name] for name in factory_code.co_freevars)
    built = types.FunctionType(factory_code, fn.__globals__, "__corofy_factory__", None, closure)()
    built.__defaults__ = fn.__defaults__
    built.__kwdefaults__ = fn.__kwdefaults__
    built.__annotations__ = dict(fn.__annotations__)
    _adopt(built, fn, offset, seen, new)
    return built


def _shift_line_numbers(name: str, offset: int) -> str:
    """`s1_line6` -> `s1_line4` for offset -2: state names quote their wait's line."""
    import re

    return re.sub(r"(line_?)(\d+)", lambda m: f"{m.group(1)}{int(m.group(2)) + offset}", name)


def _adopt(
    built: types.FunctionType, fn: types.FunctionType, offset: int, seen: str, new: str
) -> None:
    """Give the built function and its machine class (named already: ``_instantiate``'s
    rename) the names and lines of the original; ``seen`` is the qualname prefix the
    transform saw, ``new`` the original's."""
    built.__qualname__ = fn.__qualname__
    built.__module__ = fn.__module__
    for cell in built.__closure__ or ():
        try:
            value = cell.cell_contents
        except ValueError:
            continue
        if isinstance(value, type) and hasattr(value, "_corofy_states_"):
            if value.__doc__:  # the transform names the coroutine by the qualname it saw
                value.__doc__ = value.__doc__.replace(seen, new)
            value.__module__ = fn.__module__
            if offset:  # the function was shifted down: lines, and names made of them
                value._corofy_states_ = {
                    state: (_shift_line_numbers(name, offset), line + offset)
                    for state, (name, line) in value._corofy_states_.items()
                }
