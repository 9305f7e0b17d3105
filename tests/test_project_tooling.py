"""The tools that check corofy's own tree agree on what they run."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def _test_extra() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = [Requirement(r) for r in project["optional-dependencies"]["test"]]
    return {r.name: r for r in requirements}


def test_the_contributors_pre_commit_hooks_run_the_ruff_the_test_extra_pins():
    # CI (.ci/run) runs the ruff the test extra installs; a contributor's hook that ran another
    # release could pass what CI fails, or the reverse.
    pinned = _test_extra()["ruff"]
    assert str(pinned.specifier).startswith("=="), "ruff's rules change between releases: pin it"
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    ruff_hooks = [hook for hook in hooks if hook["entry"].split()[0] == "ruff"]
    assert {hook["entry"].split()[1] for hook in ruff_hooks} == {"check", "format"}
    for hook in ruff_hooks:
        assert [Requirement(r) for r in hook["additional_dependencies"]] == [pinned], hook["id"]
