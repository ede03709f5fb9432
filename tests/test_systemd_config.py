"""The SystemdSpawner configuration of docs/classroom.md (deploy/systemd/jupyterhub_config.py), read
by JupyterHub's own config loader: the values the docs promise, and the same file plus the smoke
test's additions, as scripts/qemu-systemd-smoke writes it into its VM. No hub is started here;
the VM boot itself is a maintainer's script (sudo bash scripts/qemu-systemd-smoke), not CI."""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from jupyterhub.app import JupyterHub

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "deploy" / "systemd" / "jupyterhub_config.py"
SCRIPT = REPO / "scripts" / "qemu-systemd-smoke"
DOCS = REPO / "docs" / "classroom.md"
CMD = ["/opt/dockerlearn/.venv/bin/python", "-m", "dockerlearn", "singleuser"]


@pytest.fixture
def class_dir(tmp_path, monkeypatch):
    (tmp_path / "class.json").write_text(json.dumps(
        {"students": [{"id": "alice", "last_name": "A", "first_name": "A", "email": ""}],
         "teachers": ["tina"], "port": 8000}))
    monkeypatch.setenv("DOCKERLEARN_CLASS_DIR", str(tmp_path))
    return tmp_path


def load(path: Path):
    app = JupyterHub()
    app.load_config_file(str(path))
    return app.config


def test_the_documented_systemd_config(class_dir):
    c = load(CONFIG)
    assert c.JupyterHub.spawner_class == "systemdspawner.SystemdSpawner"
    assert c.Spawner.cmd == CMD
    assert c.SystemdSpawner.isolate_tmp is True
    assert c.SystemdSpawner.isolate_devices is False
    assert c.SystemdSpawner.disable_user_sudo is False
    assert c.Spawner.environment["DOCKERLEARN_CACHE"] == "/var/cache/dockerlearn"
    assert c.Spawner.environment["DOCKERLEARN_NAME"] == "default"
    # The classroom's own choices (hub.py) still hold: the dashboard, the teachers role, loopback.
    assert [s["name"] for s in c.JupyterHub.services] == ["dashboard"]
    teachers = next(r for r in c.JupyterHub.load_roles if r["name"] == "teachers")
    assert teachers["groups"] == ["teachers"] and teachers["scopes"] == ["access:services!service=dashboard"]
    assert c.JupyterHub.bind_url == "http://127.0.0.1:8000/"
    assert c.JupyterHub.db_url == f"sqlite:///{class_dir / 'jupyterhub.sqlite'}"


def test_the_docs_name_this_file_and_its_command():
    docs = DOCS.read_text()
    assert "deploy/systemd/jupyterhub_config.py" in docs
    assert json.dumps(CMD) in docs  # step 3 shows the same c.Spawner.cmd
    assert "scripts/qemu-systemd-smoke" in docs


def test_the_smoke_vm_runs_this_file_plus_its_additions(class_dir, tmp_path):
    script = SCRIPT.read_text()
    assert 'cat "$repo/deploy/systemd/jupyterhub_config.py"' in script
    extra = re.search(r"\n(# ---- Added by scripts/qemu-systemd-smoke.*?)\nEOF\n", script, re.S).group(1)
    extra = extra.replace("$token", "t0ken").replace("$proxy_token", "pr0xy").replace("\\`", "`")
    assert "$" not in extra, "the smoke additions expand only $token"
    combined = tmp_path / "vm_jupyterhub_config.py"
    combined.write_text(CONFIG.read_text() + "\n" + extra + "\n")
    c = load(combined)
    assert c.JupyterHub.spawner_class == "systemdspawner.SystemdSpawner"
    assert c.SystemdSpawner.isolate_tmp is True and c.SystemdSpawner.isolate_devices is False
    assert c.SystemdSpawner.disable_user_sudo is False
    assert [s["name"] for s in c.JupyterHub.services] == ["dashboard", "smoke"]
    assert c.JupyterHub.services[1]["api_token"] == "t0ken"
    # The one documented choice the VM replaces, and says so: the server command.
    assert c.Spawner.cmd == ["/opt/dockerlearn/.venv/bin/python", "-m", "jupyterhub.singleuser"]
    # The proxy runs as its own unit in the VM (see the script), with the token the unit gets.
    assert c.ConfigurableHTTPProxy.should_start is False and c.ConfigurableHTTPProxy.auth_token == "pr0xy"
    assert c.ConfigurableHTTPProxy.should_start is False and c.ConfigurableHTTPProxy.auth_token == "pr0xy"


def test_the_script_parses_and_is_not_in_ci():
    r = subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "qemu-systemd-smoke" not in (REPO / ".ci" / "run").read_text()
