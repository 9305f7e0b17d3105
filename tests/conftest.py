"""Shared test configuration: hypothesis profiles.

``ci`` (the default) keeps property tests quick on a shared 2-core machine; ``dev`` digs
deeper: ``HYPOTHESIS_PROFILE=dev python3 -m pytest tests/transform``. No deadline: timing
on a shared machine says nothing about correctness.

Also: ``ast.parse`` runs with the garbage collector paused. Generated programs make
coroutines that ignore GeneratorExit (generators and machines alike); the collector
finalizes them wherever it runs, and each finalizer reports a RuntimeError as unraisable.
pytest's hook formats that traceback at once, and on CPython 3.11.7 formatting
parses source with ``ast`` (for its ``^^^`` carets): inside another ``ast.parse`` that
re-entry fails with "SystemError: AST constructor recursion depth mismatch" (a CPython
bug). Collection then waits for the parse to end.
"""

import ast
import gc
import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "dev",
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


_parse = ast.parse


def _parse_uncollected(*args, **kwargs):
    if not gc.isenabled():
        return _parse(*args, **kwargs)
    gc.disable()
    try:
        return _parse(*args, **kwargs)
    finally:
        gc.enable()


ast.parse = _parse_uncollected
