"""The engine the course runs on: the sandbox's dockerd and the docker CLI that ships with it.

A learner's machine may have another docker CLI first on PATH (a newer one from Docker's own
packages, or Docker Desktop's). Talking to the sandbox's 20.10 daemon, such a CLI prints
other help texts, other columns and errors that exist only for that mixed pair. So every
`docker` that dockerlearn hands out is the one from the daemon's own package, found here.
"""
from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from pathlib import Path

from ..errors import EnvironmentProblem, MissingPackage

# Debian's docker.io puts dockerd in /usr/sbin and docker in /usr/bin.
_CLI_CANDIDATES = ("/usr/bin/docker",)


def dockerd_path() -> str:
    found = shutil.which("dockerd") or ("/usr/sbin/dockerd" if os.access("/usr/sbin/dockerd", os.X_OK) else None)
    if not found:
        raise MissingPackage("dockerd", "docker.io")
    return found


def version_of(program: str) -> str:
    """"20.10.24+dfsg1" from "Docker version 20.10.24+dfsg1, build 297e128"; "" when unreadable."""
    try:
        out = subprocess.run([program, "--version"], capture_output=True, text=True, timeout=30,
                             stdin=subprocess.DEVNULL, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")}).stdout
    except OSError:
        return ""
    m = re.search(r"version ([^\s,]+)", out)
    return m.group(1) if m else ""


@functools.lru_cache(maxsize=None)
def cli_path() -> str:
    """The docker CLI of the daemon's own package: same version as dockerd, whatever PATH says."""
    daemon = dockerd_path()
    want = version_of(daemon)
    near = str(Path(daemon).resolve().parent.parent / "bin" / "docker")  # /usr/sbin/dockerd → /usr/bin/docker
    seen = []
    for candidate in dict.fromkeys((near, *_CLI_CANDIDATES)):
        if os.access(candidate, os.X_OK):
            got = version_of(candidate)
            seen.append(f"{candidate} {got or '?'}")
            if got and got == want:
                return candidate
    if not seen:
        raise MissingPackage("docker", "docker.io")
    raise EnvironmentProblem(
        f"找不到与沙箱守护进程 dockerd {want} 配套的 docker 客户端（只找到 {'；'.join(seen)}）",
        term="docker CLI does not match dockerd",
        hint="重新安装 Debian 软件包 docker.io：sudo apt-get install --reinstall docker.io",
    )
