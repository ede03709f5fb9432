"""Learners' Unix accounts for tests run as root: create one as scripts/setup leaves it, and run
dockerlearn as that user, with nothing of root's environment."""
from __future__ import annotations

import os
import pwd
import subprocess
import sys
from pathlib import Path

import pytest

from dockerlearn.sandbox import rootless

REPO = Path(__file__).resolve().parent.parent


def ensure_user(name: str) -> pwd.struct_passwd:
    """A learner's account with its own subordinate id range, as scripts/setup leaves it."""
    if os.geteuid() != 0:
        pytest.skip("creating Unix users needs root")
    rootless.provision_user(name)
    return pwd.getpwnam(name)


def as_user(user: pwd.struct_passwd, script: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """bash -c script as that user, with dockerlearn (this checkout) and nothing of root's environment."""
    return subprocess.run(as_user_argv(user, script), capture_output=True, text=True, timeout=timeout, cwd="/")


def as_user_argv(user: pwd.struct_passwd, script: str, **env_vars: str) -> list[str]:
    """The command line of as_user, for a process the test keeps running (a JupyterLab)."""
    python = sys.executable
    probe = subprocess.run(["runuser", "-u", user.pw_name, "--", "env", f"PYTHONPATH={REPO}", python, "-c",
                            "import dockerlearn.cli"], capture_output=True, cwd="/")
    if probe.returncode:
        pytest.skip(f"{python} or {REPO} is not readable by other users here (e.g. a checkout in /root)")
    bin_dir = Path(user.pw_dir) / ".dl-test-bin"
    env = ["env", "-i", f"HOME={user.pw_dir}", f"USER={user.pw_name}", "LANG=C.UTF-8",
           f"PATH={bin_dir}:/usr/local/bin:/usr/bin:/bin", f"DLPY={python}",
           f"PYTHONPATH={REPO}"]  # this checkout, not the one the venv has installed (a worktree's tests)
    setup = (f'mkdir -p {bin_dir} && printf "#!/bin/sh\\nexec $DLPY -m dockerlearn \\"\\$@\\"\\n" > {bin_dir}/dockerlearn'
             f' && chmod +x {bin_dir}/dockerlearn; cd ~; ')
    env += [f"{k}={v}" for k, v in env_vars.items()]
    return ["runuser", "-u", user.pw_name, "--", *env, "bash", "-c", setup + script]


def user_processes(user: pwd.struct_passwd) -> list[str]:
    out = subprocess.run(["ps", "-u", str(user.pw_uid), "-o", "stat=,args="], capture_output=True, text=True).stdout
    return [l for l in out.splitlines() if l.strip() and not l.strip().startswith("Z")]
