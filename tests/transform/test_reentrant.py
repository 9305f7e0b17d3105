"""The transform keeps no state between calls: the decorator runs it on import threads, so
one transform may start while another is half done (SPEC §5, build-free `@coroutine`)."""

from __future__ import annotations

import textwrap

import pytest

from corofy.transform import lower, transform_source

METHOD = textwrap.dedent("""
    from corofy import coroutine, wait

    class Base:
        def hello(self):
            return "base"

    class C(Base):
        @coroutine
        def run(self, f):
            x = wait(f)
            return super().hello() + x
""")

PLAIN = textwrap.dedent("""
    from corofy import coroutine, wait

    @coroutine
    def g(f):
        return wait(f) + 1
""")


def test_a_transform_run_in_the_middle_of_another_leaves_its_output_unchanged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alone = transform_source(METHOD, "m.py")
    real_lower = lower.lower

    def lower_after_another_transform(ctx):  # as another import thread would, midway
        monkeypatch.setattr(lower, "lower", real_lower)
        transform_source(PLAIN, "p.py")
        return real_lower(ctx)

    monkeypatch.setattr(lower, "lower", lower_after_another_transform)
    assert transform_source(METHOD, "m.py") == alone
