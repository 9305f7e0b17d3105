"""The test suite on every supported Python, each in a fresh virtualenv: ``python3 -m nox``.

One version: ``python3 -m nox -s tests-3.12``; pytest arguments after ``--``
(``python3 -m nox -s tests-3.13 -- tests/runtime -x``). Each session installs corofy from
this checkout with its ``test`` extra, as the README's test command does, and runs that
command's pytest. nox finds ``python3.X`` on PATH; ``.ci/run`` puts every pyenv 3.11-3.13
there. A version that is not found is skipped with a warning.
"""

from __future__ import annotations

import nox

PYTHONS = ["3.11", "3.12", "3.13"]

nox.options.sessions = ["tests"]
nox.options.error_on_missing_interpreters = False  # "where present"


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The whole suite on one Python."""
    session.install("-q", "-e", ".[test]")
    session.run("python", "-m", "pytest", "-q", *session.posargs)
