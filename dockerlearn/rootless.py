"""Rootless mode: an ordinary user's sandbox daemon runs in a user namespace made by rootlesskit.

Inside, dockerd is "root" of a namespace that maps the user's own uid to 0 and the user's
subordinate range (/etc/subuid) to the rest, so a container's root can write nothing on the
host that the user could not write anyway. rootlesskit runs with --net=host: the daemon keeps
the host's network namespace (it reaches the sandbox's registry on the host's 127.0.0.1), and
containers still get none (bridge "none" gives each one only its own loopback).
"""
from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path
from typing import Optional, Sequence

from .errors import EnvironmentProblem, MissingPackage

SETUP_HINT = "请管理员运行一次 sudo bash scripts/setup：它会安装 rootlesskit 和 uidmap，并给每个用户分配从属 ID 范围。"


def wanted() -> bool:
    """Rootless unless the caller is root (root mode is the explicit choice: run as root)."""
    return os.geteuid() != 0


def _user() -> str:
    return pwd.getpwuid(os.geteuid()).pw_name


def subid_range(path: str, user: Optional[str] = None, uid: Optional[int] = None) -> Optional[tuple[int, int]]:
    """(start, count) of the user's first range in /etc/subuid or /etc/subgid, or None."""
    user = user or _user()
    uid = os.geteuid() if uid is None else uid
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.strip().split(":")
        if len(parts) == 3 and parts[0] in (user, str(uid)):
            try:
                start, count = int(parts[1]), int(parts[2])
            except ValueError:
                continue
            if count >= 65536:
                return start, count
    return None


def next_free_subid() -> int:
    """The start of the next range after every range already given out in /etc/subuid and
    /etc/subgid: ranges must never overlap, or one user's containers could own another's files."""
    end = 100000
    for path in ("/etc/subuid", "/etc/subgid"):
        try:
            lines = Path(path).read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            parts = line.split(":")
            if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
                end = max(end, int(parts[1]) + int(parts[2]))
    return end


def provision_user(name: str) -> None:
    """A learner's Unix account with its own subordinate id ranges, as scripts/setup leaves one
    (run as root; tests, benchmarks and classroom scripts make accounts with it)."""
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", name], check=True)
    for path, flag in (("/etc/subuid", "--add-subuids"), ("/etc/subgid", "--add-subgids")):
        if subid_range(path, user=name, uid=pwd.getpwnam(name).pw_uid) is None:
            start = next_free_subid()
            subprocess.run(["usermod", flag, f"{start}-{start + 65535}", name], check=True)


def check() -> None:
    """Fail early, in plain words, when this user cannot run a rootless daemon."""
    for program, package in (("rootlesskit", "rootlesskit"), ("newuidmap", "uidmap"), ("newgidmap", "uidmap")):
        if not shutil.which(program):
            raise MissingPackage(program, package)
    for path, what in (("/etc/subuid", "从属用户 ID (subuid)"), ("/etc/subgid", "从属组 ID (subgid)")):
        if subid_range(path) is None:
            raise EnvironmentProblem(
                f"用户 {_user()} 在 {path} 里没有至少 65536 个{what}，无法以普通用户运行沙箱",
                term="no subordinate id range for rootless mode", hint=SETUP_HINT)


def wrap(argv: Sequence[str], state_dir: Path) -> list[str]:
    """argv run as namespace root under rootlesskit, with a private /run (the daemon's fixed paths)."""
    import shlex
    inner = "rm -rf /run/docker /run/containerd /run/xtables.lock; exec " + " ".join(shlex.quote(a) for a in argv)
    return [shutil.which("rootlesskit") or "rootlesskit", "--net=host", "--copy-up=/etc", "--copy-up=/run",
            "--propagation=rslave", f"--state-dir={state_dir}", "sh", "-c", inner]


def userns_of(pid: int) -> Optional[str]:
    try:
        return os.readlink(f"/proc/{pid}/ns/user")
    except OSError:
        return None


def pids_in_userns(ns: str) -> list[int]:
    """Every process of this user in that user namespace: the daemon, its shims and the containers."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid() and userns_of(int(entry)) == ns:
            found.append(int(entry))
    return found


def remove_tree(path: Path) -> None:
    """Delete a data-root: files of a container's users belong to subordinate ids, which only
    the namespace's root may remove."""
    if not path.exists():
        return
    shutil.rmtree(path, ignore_errors=True)
    if path.exists() and shutil.which("rootlesskit"):
        subprocess.run(["rootlesskit", "--net=host", "rm", "-rf", str(path)],
                       capture_output=True, stdin=subprocess.DEVNULL, timeout=300)
