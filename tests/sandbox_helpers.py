"""Helpers for the sandbox tests and the benchmark (not a test module itself).

- `make_sandbox`: a fixture handing out private sandboxes (busybox only), always destroyed;
- `BareDockerd` (from dockerlearn.sandbox.baseline): a plain dockerd standing in for "the user's own Docker";
- `cli`: the dockerlearn command in a subprocess, as a learner runs it;
- `leftovers`: everything of a sandbox that should be gone after `down` or `destroy`.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

import pytest

from dockerlearn.sandbox import procs
from dockerlearn.sandbox.baseline import BareDockerd  # noqa: F401  (the tests' "user's own Docker")
from dockerlearn.sandbox.lifecycle import Sandbox

REPO = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------- private sandboxes
def new_sandbox(tag: str) -> Sandbox:
    """A sandbox of the test's own: busybox only (faster), not started yet."""
    return Sandbox(f"t-{tag}", quiet=True, debian=False)


@pytest.fixture
def make_sandbox():
    made: list[Sandbox] = []

    def make(tag: str) -> Sandbox:
        sb = new_sandbox(tag)
        made.append(sb)
        return sb

    try:
        yield make
    finally:
        for sb in made:
            sb.destroy()


# ---------------------------------------------------------------- the CLI, as a learner runs it
def cli(*args: str, env: Optional[dict] = None, prefix: tuple = (), python: Optional[str] = None,
        timeout: float = 120) -> subprocess.CompletedProcess:
    argv = [*prefix, python or sys.executable, "-m", "dockerlearn", *args]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout, cwd=str(REPO))


def assert_clean_error(proc: subprocess.CompletedProcess, *texts: str, code: Optional[int] = None) -> None:
    """Failed, in Chinese, without a traceback."""
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    if code is not None:
        assert proc.returncode == code, out
    assert "Traceback" not in out, out
    assert "错误：" in proc.stderr, out
    for text in texts:
        assert text in proc.stderr, out


# ---------------------------------------------------------------- what must be gone
def cgroup_members(names: set[str]) -> list[int]:
    """Processes in a cgroup named after one of the container IDs (they mention no sandbox path)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                text = Path(f"/proc/{entry}/cgroup").read_text()
            except OSError:
                continue
            if any(n in text for n in names) and procs.alive(int(entry)):
                found.append(int(entry))
    return found


def leftovers(sb: Sandbox, container_ids: set[str] = frozenset()) -> dict:
    """Every trace of a running sandbox outside its data: an empty dict when all is clean."""
    p = sb.paths
    markers = (str(p.root), str(p.exec_root))
    me = os.getpid()
    found = {}
    pids = {pid: procs.cmdline(pid) for m in markers for pid in procs.pids_mentioning(m) if pid != me}
    if pids:
        found["processes"] = pids
    containers = cgroup_members(set(container_ids))
    if containers:
        found["container processes"] = {pid: procs.cmdline(pid) for pid in containers}
    if sb.mounts():
        found["sb.mounts()"] = sb.mounts()
    # Whole lines: an overlay mounted elsewhere would still name our data-root in its options.
    lines = [line for line in Path("/proc/self/mounts").read_text().splitlines() if any(m in line for m in markers)]
    if lines:
        found["/proc/self/mounts"] = lines
    for f in (p.socket, p.pidfile, p.exec_root / "containerd" / "containerd.sock"):
        if f.exists() or f.is_symlink():
            found.setdefault("files", []).append(str(f))
    return found


def wait_dead(pid: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while procs.alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not procs.alive(pid), f"pid {pid} still alive"


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under folder (relative path -> bytes); symlinks by target. Missing folder: {}."""
    out: dict[str, bytes] = {}
    if not folder.exists():
        return out
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        if path.is_symlink():
            out[rel] = b"-> " + os.readlink(path).encode()
        elif path.is_file():
            out[rel] = path.read_bytes()
        elif path.is_dir():
            out[rel + "/"] = b""
        else:
            out[rel] = b"<special>"
    return out


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())
