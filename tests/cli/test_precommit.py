"""Our `.pre-commit-hooks.yaml` under the real pre-commit, in a throw-away git repository.

The hooks are taken from our manifest and declared `repo: local` with `language: system`, so
pre-commit runs the installed `corofy` without building an environment from the network.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cli_helpers import COROUTINE_FILE, tree, write

ROOT = Path(__file__).resolve().parents[2]
PRE_COMMIT = shutil.which("pre-commit") or str(Path(sys.executable).parent / "pre-commit")

RUN_TIMEOUT = 300  # one `pre-commit run --all-files`: black, ruff and corofy's hooks

# The slowest test runs pre-commit twice and git a few times (60 s each): pytest's 120 s default
# (pyproject.toml) is for one ordinary test and would cut a loaded run off before its own bounds.
pytestmark = [
    pytest.mark.skipif(not Path(PRE_COMMIT).exists(), reason="pre-commit is not installed"),
    pytest.mark.timeout(2 * RUN_TIMEOUT + 4 * 60),
]


def _local_config() -> str:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert {hook["id"] for hook in hooks} == {"corofy", "corofy-check"}
    for hook in hooks:
        hook["language"] = "system"
    return yaml.safe_dump({"repos": [{"repo": "local", "hooks": hooks}]}, sort_keys=False)


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    root = tmp_path / "proj"
    write(
        root,
        {
            "pyproject.toml": '[tool.corofy]\nsrc = "src"\nout = "build"\n',
            "src/app.py": "def main():\n    return 1\n",
            "src/data.json": "{}\n",
            "src/job.py": COROUTINE_FILE,
            ".pre-commit-config.yaml": _local_config(),
        },
    )
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "COROFY_CACHE_DIR": str(tmp_path / "cache"),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    git(root, env, "init", "-q")
    return root, env


def git(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=root, env=env, capture_output=True, text=True, timeout=60
    )


def hook(root: Path, env: dict[str, str], hook_id: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PRE_COMMIT, "run", hook_id, "--all-files"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_corofy_check_fails_on_stale_build_and_passes_after_corofy_regenerates(repo):
    root, env = repo
    assert subprocess.run(["corofy"], cwd=root, env=env, timeout=60).returncode == 0
    write(root, {"src/app.py": "def main():\n    return 2\n"})  # build/ is now stale
    git(root, env, "add", "-A")

    stale = hook(root, env, "corofy-check")
    assert stale.returncode == 1, stale.stdout
    assert "would rewrite build/app.py" in stale.stdout

    regenerate = hook(root, env, "corofy")
    assert regenerate.returncode == 1, "the regenerating hook fails when it changed files"
    assert tree(root / "build")["app.py"] == b"def main():\n    return 2\n"
    git(root, env, "add", "-A")

    assert b"class " in tree(root / "build")["job.py"], "the coroutine file was transformed"
    fresh = hook(root, env, "corofy-check")
    assert fresh.returncode == 0, fresh.stdout
    assert hook(root, env, "corofy").returncode == 0


def test_installed_hook_blocks_a_commit_with_stale_generated_code(repo):
    root, env = repo
    installed = subprocess.run(
        [PRE_COMMIT, "install"], cwd=root, env=env, capture_output=True, text=True, timeout=60
    )
    assert installed.returncode == 0, installed.stderr
    git(root, env, "add", "-A")
    blocked = git(root, env, "commit", "-qm", "no build/ yet")
    assert blocked.returncode != 0
    assert "- hook id: corofy\n" in blocked.stderr
    assert (root / "build/app.py").read_text() == "def main():\n    return 1\n"
    git(root, env, "add", "-A")  # the corofy hook has regenerated build/ meanwhile
    committed = git(root, env, "commit", "-qm", "with build/")
    assert committed.returncode == 0, committed.stdout + committed.stderr


BLACK, RUFF = shutil.which("black"), shutil.which("ruff")

FORMATTED_COROUTINE = '''\
"""A job."""

from corofy import coroutine, wait


@coroutine
def double(fut: object) -> int:
    value = wait(fut)  # type: ignore[arg-type]
    return int(value) * 2
'''


@pytest.mark.skipif(BLACK is None or RUFF is None, reason="black and ruff are in the test extra")
def test_a_config_with_corofy_black_and_ruff_converges_in_one_run_and_then_passes(repo):
    root, env = repo
    corofy_hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    for hook in corofy_hooks:
        hook["language"] = "system"
    tools = [
        {"id": "black", "name": "black", "entry": BLACK, "language": "system", "types": ["python"]},
        {
            "id": "ruff-format",
            "name": "ruff format",
            "entry": f"{RUFF} format",
            "language": "system",
            "types": ["python"],
        },
        {
            "id": "ruff",
            "name": "ruff check",
            "entry": f"{RUFF} check --no-cache",
            "language": "system",
            "types": ["python"],
        },
    ]
    config = {"repos": [{"repo": "local", "hooks": [*corofy_hooks, *tools]}]}
    write(
        root,
        {
            ".pre-commit-config.yaml": yaml.safe_dump(config, sort_keys=False),
            "src/job.py": FORMATTED_COROUTINE,
        },
    )
    git(root, env, "add", "-A")

    def run_all() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [PRE_COMMIT, "run", "--all-files"],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )

    first = run_all()
    assert first.returncode == 1, first.stdout  # corofy wrote build/: the hook says so
    assert "- hook id: corofy\n" in first.stdout
    generated = tree(root / "build")
    assert generated["job.py"].startswith(b"# Generated by corofy ")
    git(root, env, "add", "-A")  # as a user stages what the hook wrote

    second = run_all()
    assert second.returncode == 0, second.stdout
    for name in ("corofy (regenerate)", "corofy (check", "black", "ruff format", "ruff check"):
        assert any(
            line.startswith(name) and line.endswith("Passed") for line in second.stdout.splitlines()
        ), (name, second.stdout)
    assert tree(root / "build") == generated, "black or ruff changed a generated file"
    assert git(root, env, "diff", "--name-only").stdout == "", "a hook changed a staged file"
    assert run_all().returncode == 0
