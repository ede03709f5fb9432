"""One engine, a matched pair: every docker that dockerlearn hands out is the CLI of the
sandbox daemon's own package, whatever else is first on PATH."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from dockerlearn.sandbox import engine
from dockerlearn.sandbox.lifecycle import Sandbox

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def newer_docker_first(tmp_path, monkeypatch):
    """A `docker` that claims to be 28.x, first on PATH, as on a machine with Docker's own packages."""
    fake = tmp_path / "newer-bin" / "docker"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'Docker version 28.2.2, build e6534b4'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    engine.cli_path.cache_clear()
    yield fake
    engine.cli_path.cache_clear()


def test_cli_is_the_daemons_own_even_with_another_first_on_path(newer_docker_first):
    assert shutil.which("docker") == str(newer_docker_first)
    cli = engine.cli_path()
    assert cli != str(newer_docker_first)
    assert engine.version_of(cli) == engine.version_of(engine.dockerd_path())
    assert engine.version_of(cli).startswith("20.10.")


def test_kernel_and_terminal_environment_put_the_matched_cli_first(newer_docker_first):
    sb = Sandbox("t-engine", quiet=True)
    env = sb.full_env()
    found = shutil.which("docker", path=env["PATH"])
    assert found == str(sb.paths.bin_dir / "docker")
    assert os.path.realpath(found) == os.path.realpath(engine.cli_path())
    assert str(newer_docker_first.parent) in env["PATH"], "the rest of PATH is kept"
    # `dockerlearn` is on the same PATH, for lesson 01's `dockerlearn reset` in a terminal.
    out = subprocess.run(["dockerlearn", "--help"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "dockerlearn" in out.stdout


def test_env_command_pins_docker_for_a_shell(newer_docker_first):
    from dockerlearn.sandbox.lifecycle import State
    sb = Sandbox("t-engine", quiet=True)
    sb.paths.ensure()
    State().save(sb.paths.state_file)  # a sandbox that exists (env refuses one that does not)
    env = dict(os.environ)
    script = (f'eval "$({sys.executable} -m dockerlearn env --name t-engine 2>/dev/null)"; '
              'command -v docker; docker --version')
    out = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, cwd=REPO, timeout=60)
    assert out.returncode == 0, out.stderr
    path, version = out.stdout.splitlines()[:2]
    assert path.endswith("/sandboxes/t-engine/bin/docker")
    assert "20.10" in version and "28.2.2" not in version


def test_a_mismatched_cli_is_refused_in_chinese(tmp_path, monkeypatch):
    """Only a newer CLI where the daemon's own should be: a clear error, not a silent mixed pair."""
    fake = tmp_path / "usr" / "bin" / "docker"
    fake.parent.mkdir(parents=True)
    fake.write_text("#!/bin/sh\necho 'Docker version 28.2.2, build e6534b4'\n")
    fake.chmod(0o755)
    daemon = tmp_path / "usr" / "sbin" / "dockerd"
    daemon.parent.mkdir(parents=True)
    daemon.write_text("#!/bin/sh\necho 'Docker version 20.10.24+dfsg1, build 5d6db84'\n")
    daemon.chmod(0o755)
    monkeypatch.setattr(engine, "dockerd_path", lambda: str(daemon))
    monkeypatch.setattr(engine, "_CLI_CANDIDATES", ())
    engine.cli_path.cache_clear()
    try:
        with pytest.raises(engine.EnvironmentProblem) as err:
            engine.cli_path()
        text = err.value.render()
        assert "配套" in text and "docker CLI does not match dockerd" in text and "28.2.2" in text
    finally:
        engine.cli_path.cache_clear()
