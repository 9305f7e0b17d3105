"""The test suite on every supported Python, each in a fresh virtualenv: ``python3 -m nox``.

One version: ``python3 -m nox -s tests-3.12``; pytest arguments after ``--``
(``python3 -m nox -s tests-3.13 -- tests/runtime -x``). Each session installs corofy from
this checkout with its ``test`` extra, as the README's test command does, and runs that
command's pytest. nox finds ``python3.X`` on PATH; ``.ci/run`` puts every pyenv 3.11-3.13
there. A version that is not found is skipped with a warning. ``python3 -m nox -s lint`` runs
ruff as CI does.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import nox
from packaging.requirements import Requirement

PYTHONS = ["3.11", "3.12", "3.13"]

nox.options.sessions = ["lint", "tests", "runtime_selectors"]
nox.options.error_on_missing_interpreters = False  # "where present"


def _test_extra_requirement(name: str) -> str:
    """The requirement the ``test`` extra pins for ``name``, so the pin lives in one place."""
    project = tomllib.loads(Path("pyproject.toml").read_text())["project"]
    for requirement in project["optional-dependencies"]["test"]:
        if Requirement(requirement).name == name:
            return requirement
    raise LookupError(f"{name} is not in the test extra of pyproject.toml")


@nox.session(python=PYTHONS[0])
def lint(session: nox.Session) -> None:
    """ruff's checks and its formatter's check, with the ruff the test extra pins."""
    session.install("-q", _test_extra_requirement("ruff"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The whole suite on one Python."""
    session.install("-q", "-e", ".[test]")
    # tests/packaging/test_install.py builds wheels and fresh venvs (and installs the abi3
    # wheel on 3.13 itself): once, on the first Python, is enough.
    env = {} if session.python == PYTHONS[0] else {"COROFY_SKIP_INSTALL_TESTS": "1"}
    session.run("python", "-m", "pytest", "-q", *session.posargs, env=env)


@nox.session(python=PYTHONS[0])
def runtime_selectors(session: nox.Session) -> None:
    """The runtime's whole suite again on the second poller (SPEC §3: RUNTIME_POLLER)."""
    session.install("-q", "-e", ".[test]")
    session.run(
        "python",
        "-m",
        "pytest",
        "-q",
        "tests/runtime",
        *session.posargs,
        env={"RUNTIME_POLLER": "selectors"},
    )
