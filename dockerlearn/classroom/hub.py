"""The classroom's JupyterHub configuration, written once from the class directory.

`dockerlearn classroom` writes <class dir>/jupyterhub_config.py, which only calls configure():
every choice lives here, in one place, and is tested without starting a hub.

- Logins: PAM (each student is a Unix user with the password from the roster run).
- Spawner: JupyterHub's LocalProcessSpawner, which needs no systemd (these machines have none as
  PID 1). Each student's server runs as that student: `dockerlearn singleuser` starts their own
  rootless sandbox first. SystemdSpawner (The Littlest JupyterHub) is the production choice
  where systemd runs: see docs/classroom.md.
- The teachers group may open the dashboard service; students may not (no access:services).
- Everything listens on 127.0.0.1: a classroom puts its own reverse proxy (with TLS) in front.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
SYSTEM_CACHE = Path("/var/cache/dockerlearn")  # seeds built once by root, read by every student
DASHBOARD = "dashboard"


def proxy_command() -> str:
    """configurable-http-proxy from npm: the one scripts/setup --classroom installs, else PATH."""
    local = REPO / ".node" / "node_modules" / ".bin" / "configurable-http-proxy"
    return str(local) if local.exists() else (shutil.which("configurable-http-proxy") or str(local))


def ports(public: int) -> dict[str, int]:
    """The public port, and three internal ones picked free when the hub starts (this config is
    read then): fixed neighbours of the public port may be taken on a shared machine."""
    from ..sandbox.procs import free_port
    chosen = {"public": public}
    for name in ("hub", "proxy_api", "dashboard"):
        while (port := free_port()) in chosen.values():
            pass
        chosen[name] = port
    return chosen


def stop_sandbox(spawner) -> None:
    """After a student's server stops, their sandbox stops too (it keeps its images and data)."""
    user = spawner.user.name
    subprocess.run(["runuser", "-u", user, "--", sys.executable, "-m", "dockerlearn", "down", "--name", "default"],
                   capture_output=True, timeout=120, cwd="/")


def configure(c, class_dir: str | Path) -> None:
    class_dir = Path(class_dir)
    data = json.loads((class_dir / "class.json").read_text())
    students = [s["id"] for s in data["students"]]
    teachers = list(data.get("teachers", []))
    p = ports(int(data.get("port", 8000)))

    c.JupyterHub.bind_url = f"http://127.0.0.1:{p['public']}/"
    c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{p['hub']}"
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{p['proxy_api']}"
    c.ConfigurableHTTPProxy.command = [proxy_command()]
    c.JupyterHub.db_url = f"sqlite:///{class_dir / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(class_dir / "jupyterhub_cookie_secret")
    c.JupyterHub.pid_file = str(class_dir / "jupyterhub.pid")
    c.JupyterHub.cleanup_servers = True

    c.JupyterHub.authenticator_class = "pam"
    c.PAMAuthenticator.open_sessions = False  # no logind session manager on these machines
    c.Authenticator.allowed_users = set(students) | set(teachers)
    c.JupyterHub.load_groups = {"teachers": {"users": teachers}, "students": {"users": students}}

    c.JupyterHub.services = [{
        "name": DASHBOARD,
        "url": f"http://127.0.0.1:{p['dashboard']}",
        "command": [sys.executable, "-m", "dockerlearn.classroom.dashboard", str(class_dir / "class.json")],
        "display": True,
        "oauth_no_confirm": True,
    }]
    c.JupyterHub.load_roles = [
        {"name": "teachers", "description": "看全班的进度 (open the dashboard)",
         "groups": ["teachers"], "scopes": [f"access:services!service={DASHBOARD}"]},
        {"name": "dashboard", "description": "the dashboard reads who is active",
         "services": [DASHBOARD], "scopes": ["list:users", "read:users:name", "read:users:activity"]},
    ]

    c.Spawner.cmd = [sys.executable, "-m", "dockerlearn", "singleuser"]
    c.Spawner.default_url = "/lab/tree/01-sandbox.ipynb"
    c.Spawner.start_timeout = 300  # a first login builds nothing, but seeds a fresh sandbox
    c.Spawner.http_timeout = 120
    env = {"DOCKERLEARN_NAME": "default", "LANG": "C.UTF-8"}
    if (SYSTEM_CACHE / "seeds").is_dir():
        env["DOCKERLEARN_CACHE"] = str(SYSTEM_CACHE)
    c.Spawner.environment = env
    c.Spawner.post_stop_hook = stop_sandbox
