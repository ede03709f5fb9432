"""Rootless mode: an ordinary user's sandbox daemon runs in a user namespace made by rootlesskit.

Inside, dockerd is "root" of a namespace that maps the user's own uid to 0 and the user's
subordinate range (/etc/subuid) to the rest, so a container's root can write nothing on the
host that the user could not write anyway.

The daemon also gets a network namespace of its own (slirp4netns), and the sandbox's registry
and gateway run in it too (entered with nsenter): there, 127.0.0.1 is the sandbox's alone, so
no other sandbox's daemon can use its mirror, and it cannot reach anyone else's. rootlesskit's
port driver publishes the registry, mirror and backend ports on the host's 127.0.0.1 for the
learner's curl and the checks. Why not --net=host: a rootless dockerd cannot setns back into a
network namespace it does not own, so some of its threads are left in a container's namespace
and its pulls fail now and then ("connection refused"); upstream rejects it (moby/moby#51379).
"""
from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path
from typing import Optional, Sequence

from ..errors import EnvironmentProblem, MissingPackage

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
    for program, package in (("rootlesskit", "rootlesskit"), ("newuidmap", "uidmap"), ("newgidmap", "uidmap"),
                             ("slirp4netns", "slirp4netns"), ("nsenter", "util-linux")):
        if not shutil.which(program, path=os.environ.get("PATH", os.defpath) + ":/usr/sbin:/sbin"):
            raise MissingPackage(program, package)
    try:
        os.close(os.open("/dev/net/tun", os.O_RDWR))
    except OSError as e:
        raise EnvironmentProblem(f"普通用户打不开 /dev/net/tun（{e.strerror}），沙箱的网络无法建立",
                                 term="/dev/net/tun not usable", hint=SETUP_HINT) from None
    for path, what in (("/etc/subuid", "从属用户 ID (subuid)"), ("/etc/subgid", "从属组 ID (subgid)")):
        if subid_range(path) is None:
            raise EnvironmentProblem(
                f"用户 {_user()} 在 {path} 里没有至少 65536 个{what}，无法以普通用户运行沙箱",
                term="no subordinate id range for rootless mode", hint=SETUP_HINT)


def slirp_wrapper(bin_dir: Path) -> Path:
    """slirp4netns whose outbound connections leave from 127.0.0.1: the namespace has no way out
    to other machines, even for `docker run --network host`."""
    path = bin_dir / "slirp4netns-loopback"
    script = '#!/bin/sh\nexec slirp4netns --outbound-addr=127.0.0.1 "$@"\n'
    if not path.exists() or path.read_text() != script:
        tmp = path.with_suffix(".part")
        tmp.write_text(script)
        tmp.chmod(0o755)
        os.replace(tmp, path)
    return path


def wrap(argv: Sequence[str], state_dir: Path, ports: Sequence[tuple[int, int]], slirp: Path) -> list[str]:
    """argv run as namespace root under rootlesskit, in a network namespace of its own with
    ports published on the host's loopback, and a private /run (the daemon's fixed paths)."""
    import shlex
    inner = "rm -rf /run/docker /run/containerd /run/xtables.lock; exec " + " ".join(shlex.quote(a) for a in argv)
    published = [arg for host, inner in ports for arg in ("--publish", f"127.0.0.1:{host}:{inner}/tcp")]
    return [shutil.which("rootlesskit") or "rootlesskit", "--net=slirp4netns", f"--slirp4netns-binary={slirp}",
            "--disable-host-loopback", "--port-driver=builtin", *published,
            "--copy-up=/etc", "--copy-up=/run", "--propagation=rslave", f"--state-dir={state_dir}",
            "sh", "-c", inner]


def child_pid(state_dir: Path) -> Optional[int]:
    """The first process inside rootlesskit's namespaces (their anchor), once it is up."""
    try:
        pid = int((state_dir / "child_pid").read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if os.path.exists(f"/proc/{pid}") else None


def enter(pid: int) -> list[str]:
    """A prefix that runs a command inside the daemon's user and network namespaces."""
    return [shutil.which("nsenter", path=os.environ.get("PATH", os.defpath) + ":/usr/bin:/usr/sbin") or "nsenter",
            "-U", "--preserve-credentials", "-n", "-t", str(pid), "--"]


def publish(state_dir: Path, port: int) -> None:
    """Publish one more port of the namespace on the host's 127.0.0.1 (if it is not already)."""
    sock = str(state_dir / "api.sock")
    listed = subprocess.run(["rootlessctl", "--socket", sock, "list-ports"], capture_output=True, text=True,
                            timeout=10)
    if f"127.0.0.1:{port}:{port}" in listed.stdout.replace(" ", "").replace("\t", ""):
        return
    added = subprocess.run(["rootlessctl", "--socket", sock, "add-ports", f"127.0.0.1:{port}:{port}/tcp"],
                           capture_output=True, text=True, timeout=10)
    if added.returncode != 0:
        raise EnvironmentProblem(f"无法把端口 {port} 开放到本机的 127.0.0.1", term="rootlessctl add-ports failed",
                                 hint=(added.stderr.strip() or added.stdout.strip())[-300:]
                                 + "\n端口可能已被占用：换一个端口再试。")


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
        # (--net=host is fine here: rm opens no sockets.)
        subprocess.run(["rootlesskit", "--net=host", "rm", "-rf", str(path)],
                       capture_output=True, stdin=subprocess.DEVNULL, timeout=300)
