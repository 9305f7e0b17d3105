"""corofy installs as a user installs it: pip, a fresh venv, the network's PyPI for dependencies.

Each test copies the checkout (without the in-place ``runtime/_epoll*.so``) to a temporary
folder and builds or installs from there, so the checkout is never written to. They take tens
of seconds each (pip builds in an isolated environment); ``COROFY_SKIP_INSTALL_TESTS=1`` skips
them on a machine without PyPI.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PIP_TIMEOUT = 300  # one step: a venv, an isolated pip build or install, a corofy run
# A test takes up to four such steps. pytest's 120 s default (pyproject.toml) is for an ordinary
# test: with the machine loaded, the first test here took longer than that in its last step and
# was cut off there, though no step came near its own bound.
TEST_TIMEOUT = 4 * PIP_TIMEOUT

pytestmark = [
    pytest.mark.skipif(
        bool(os.environ.get("COROFY_SKIP_INSTALL_TESTS")),
        reason="COROFY_SKIP_INSTALL_TESTS is set",
    ),
    pytest.mark.timeout(TEST_TIMEOUT),
]


def _copy_checkout(dest: Path) -> Path:
    ignore = shutil.ignore_patterns(
        ".git", "*.so", "__pycache__", "build", "dist", "*.egg-info", ".corofy_cache"
    )
    shutil.copytree(ROOT, dest, ignore=ignore)
    return dest


def _no_compiler_env(venv_bin: Path) -> dict[str, str]:
    """An environment where no C compiler can be reached: only the venv on PATH, CC failing."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_", "CC"))}
    env.update(PATH=str(venv_bin), CC="/bin/false", CXX="/bin/false", LDSHARED="/bin/false")
    return env


def _run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        cmd, check=False, capture_output=True, text=True, timeout=PIP_TIMEOUT, **kw
    )  # type: ignore[call-overload]
    assert done.returncode == 0, f"{cmd} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


def _venv(path: Path, python: str = sys.executable) -> Path:
    _run([python, "-m", "venv", str(path)])
    return path / "bin"


def test_a_fresh_venv_without_a_c_compiler_installs_and_runs_a_sample_on_selectors(tmp_path):
    project = _copy_checkout(tmp_path / "project")
    venv_bin = _venv(tmp_path / "venv")
    env = _no_compiler_env(venv_bin)
    assert (
        shutil.which("cc", path=env["PATH"]) is None
        and shutil.which("gcc", path=env["PATH"]) is None
    )
    _run([str(venv_bin / "python"), "-m", "pip", "install", "-q", str(project)], env=env)

    # Away from the copy's own packages: what runs is what pip installed.
    work = tmp_path / "work"
    shutil.copytree(project / "samples", work / "samples")
    probe = _run(
        [
            str(venv_bin / "python"),
            "-c",
            (
                "import runtime, runtime.reactor, importlib.util;"
                "print(runtime.__file__); print(runtime.reactor.POLLER);"
                "print(importlib.util.find_spec('runtime._epoll'))"
            ),
        ],
        env=env,
        cwd=work,
    )
    where, poller, extension = probe.stdout.splitlines()
    assert where.startswith(str(tmp_path / "venv")), where
    assert (poller, extension) == ("selectors", "None")

    sample = _run(
        [str(venv_bin / "corofy"), "run", "samples/b_async_await.py"],
        env={**env, "RUNTIME_POLLER": "selectors"},
        cwd=work,
    )
    assert sample.stdout.splitlines()[:3] == [
        "Program starting",
        "HelloAsyncAwait",
        "HelloAsyncAwait",
    ], sample.stdout
    built = _run([str(venv_bin / "corofy"), "samples", "-o", "build", "-q"], env=env, cwd=work)
    assert built.returncode == 0 and (work / "build" / "b_async_await.py").exists()


def _wheel(project: Path, out: Path, env: dict[str, str]) -> Path:
    _run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(project)],
        env=env,
    )
    (wheel,) = out.glob("*.whl")
    return wheel


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the extension is Linux-only")
@pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler")
def test_the_wheel_with_the_extension_is_abi3_and_installs_on_a_later_python(tmp_path):
    project = _copy_checkout(tmp_path / "project")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    wheel = _wheel(project, tmp_path / "dist", env)
    assert wheel.name.endswith(f"-cp311-abi3-linux_{platform.machine()}.whl"), wheel.name
    names = zipfile.ZipFile(wheel).namelist()
    assert "runtime/_epoll.abi3.so" in names
    assert {"corofy/py.typed", "runtime/py.typed"} <= set(names)

    later = _pyenv_python("3.13")
    if later is None:
        pytest.skip("no Python 3.13 to install the abi3 wheel on")
    venv_bin = _venv(tmp_path / "venv313", later)
    _run([str(venv_bin / "python"), "-m", "pip", "install", "-q", str(wheel)], env=env)
    probe = _run(
        [
            str(venv_bin / "python"),
            "-c",
            (
                "import runtime, runtime.reactor; print(runtime.reactor.POLLER, "
                "runtime.run(runtime.sleep(0.001)))"
            ),
        ],
        env=env,
        cwd=tmp_path,
    )
    assert probe.stdout == "epoll None\n"


def test_the_wheel_built_without_a_compiler_is_pure_and_says_so(tmp_path):
    project = _copy_checkout(tmp_path / "project")
    venv_bin = _venv(tmp_path / "venv")  # only for a PATH without cc
    wheel = _wheel(project, tmp_path / "dist", _no_compiler_env(venv_bin))
    assert wheel.name.endswith("-py3-none-any.whl"), wheel.name
    assert not [n for n in zipfile.ZipFile(wheel).namelist() if n.endswith(".so")]


def _pyenv_python(version: str) -> str | None:
    """A real interpreter of that version (pyenv's shims refuse versions not selected)."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found = sorted(root.glob(f"{version}*/bin/python"))
    if found:
        return str(found[-1])
    return shutil.which(f"python{version}")


def test_each_install_test_is_allowed_the_time_its_steps_are_allowed(request):
    here = [item for item in request.session.items if item.module is request.module]
    assert request.node in here
    for item in here:
        marker = item.get_closest_marker("timeout")
        assert marker is not None and marker.args[0] >= 4 * PIP_TIMEOUT, item.nodeid
