"""`corofy graph`: a machine's states and transitions as Mermaid or Graphviz dot.

Each state is labelled with its number, name, original line and the `wait` it suspends on;
normal edges are solid, exception edges (a raise routed to an `except`/`finally` state)
dashed. The target -1 is the finished machine.
"""

from __future__ import annotations

from typing import Any

DONE = -1


def _label(state: Any) -> str:
    text = f"{state.id}: {state.name}"
    if state.line:
        text += f" (line {state.line})"
    if state.wait_source:
        text += f"\n{' '.join(state.wait_source.split())}"
    return text


def to_mermaid(machine: Any) -> str:
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
    for edge in machine.edges:
        dst = "[*]" if edge.dst == DONE else f"s{edge.dst}"
        suffix = " : exception" if edge.kind == "exception" else ""
        lines.append(f"    s{edge.src} --> {dst}{suffix}")
    return "\n".join(lines) + "\n"


def to_dot(machine: Any) -> str:
    """A Graphviz digraph: boxes for states, a double circle for the finished machine."""

    def quote(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\l") + '"'

    lines = [
        f"digraph {quote(machine.qualname)} {{",
        '    node [shape=box, fontname="monospace"];',
        "    start [shape=point];",
    ]
    for state in machine.states:
        label = _label(state)
        lines.append(f"    s{state.id} [label={quote(label + chr(10))}];")
    if any(edge.dst == DONE for edge in machine.edges):
        lines.append('    done [shape=doublecircle, label="done"];')
    if machine.states:
        lines.append(f"    start -> s{machine.states[0].id};")
    for edge in machine.edges:
        dst = "done" if edge.dst == DONE else f"s{edge.dst}"
        style = ' [style=dashed, color=red, label="exception"]' if edge.kind == "exception" else ""
        lines.append(f"    s{edge.src} -> {dst}{style};")
    lines.append("}")
    return "\n".join(lines) + "\n"
