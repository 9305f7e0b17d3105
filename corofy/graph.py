"""`corofy graph`: a machine's states and transitions as Mermaid or Graphviz dot.

Each state is labelled with its number, name, original line and the `wait` it suspends on.
Each edge says what takes it (see corofy.stateflow): **pending** (solid: the poll stops in
that state), **ready at once** (dotted: the poll goes on from that wait), **return** (to
done), **exception escapes** (dashed red, to done), qualified by **loop** (around a loop
back to its head), **exception caught** (through an `except`; orange) or **unwinding**
(through a `finally` an exception passes). Only edges that can happen are drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from corofy.stateflow import DONE, Transition


def _label(state: Any) -> str:
    text = f"{state.id}: {state.name}"
    if state.line:
        text += f" (line {state.line})"
    if state.wait_source:
        text += f"\n{' '.join(state.wait_source.split())}"
    return text


def to_mermaid(machine: Any, transitions: Sequence[Transition]) -> str:
    """A Mermaid `stateDiagram-v2`: one `state` per machine state, `[*]` for start and end."""

    def quote(text: str) -> str:
        # Mermaid has no backslash escapes in labels; it takes HTML-ish entity codes.
        # `<`/`>` too: labels are rendered as HTML, so `wait(f(a <b> c))` would lose text.
        for char, code in (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;")):
            text = text.replace(char, code)
        return text.replace("\n", "<br>")

    lines = ["stateDiagram-v2", f"    %% {machine.qualname}, def at line {machine.line}"]
    for state in machine.states:
        lines.append(f'    state "{quote(_label(state))}" as s{state.id}')
    if machine.states:
        lines.append(f"    [*] --> s{machine.states[0].id}")
    for t in transitions:
        dst = "[*]" if t.dst == DONE else f"s{t.dst}"
        lines.append(f"    s{t.src} --> {dst} : {t.label}")
    return "\n".join(lines) + "\n"


def _dot_style(t: Transition) -> str:
    if t.kind == "raise":
        return "style=dashed, color=red, fontcolor=red"
    style = "style=dotted, " if t.kind == "ready" else ""
    if t.caught or t.unwinding:
        return style + "color=darkorange, fontcolor=darkorange"
    if t.kind == "return":
        return style + "color=darkgreen, fontcolor=darkgreen"
    return style + ("color=gray40, fontcolor=gray40" if t.kind == "ready" else "color=black")


def to_dot(machine: Any, transitions: Sequence[Transition]) -> str:
    """A Graphviz digraph: boxes for states, a double circle for the finished machine."""

    def quote(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\l") + '"'

    lines = [
        f"digraph {quote(machine.qualname)} {{",
        '    node [shape=box, fontname="monospace"];',
        '    edge [fontname="monospace", fontsize=10];',
        "    start [shape=point];",
    ]
    for state in machine.states:
        label = _label(state)
        lines.append(f"    s{state.id} [label={quote(label + chr(10))}];")
    if any(t.dst == DONE for t in transitions):
        lines.append('    done [shape=doublecircle, label="done"];')
    if machine.states:
        lines.append(f"    start -> s{machine.states[0].id};")
    for t in transitions:
        dst = "done" if t.dst == DONE else f"s{t.dst}"
        lines.append(f"    s{t.src} -> {dst} [label={quote(t.label)}, {_dot_style(t)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"
