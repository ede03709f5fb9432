"""Helpers for the sandbox tests and the benchmark (not a test module itself).

- `make_sandbox`: a fixture handing out private sandboxes (busybox only), always destroyed;
- `BareDockerd`: a plain dockerd standing in for "the user's own Docker";
- `cli`: the dockerlearn command in a subprocess, as a learner runs it;
- `leftovers`: everything of a sandbox that should be gone after `down` or `destroy`.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

import pytest

from dockerlearn import procs
from dockerlearn.sandbox import Sandbox, unix_http

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


# ---------------------------------------------------------------- "the user's own Docker"
class BareDockerd:
    """A plain dockerd with every path of its own, as a user's system Docker would have.

    --bridge=none --iptables=false: it must not touch the host network either.
    """

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="dlu-", dir="/tmp"))
        # containerd's socket lives deep under the exec-root: keep it short.
        self.exec_root = Path(tempfile.mkdtemp(prefix="dlu-", dir="/run" if os.path.isdir("/run") else "/tmp"))
        self.socket = self.base / "docker.sock"
        self.pidfile = self.base / "docker.pid"
        self.config = self.base / "daemon.json"
        self.config.write_text("{}\n")
        self.log = self.base / "dockerd.log"
        self.proc: Optional[subprocess.Popen] = None

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    def argv(self) -> list[str]:
        return ["dockerd", "--config-file", str(self.config), "--data-root", str(self.base / "data"),
                "--exec-root", str(self.exec_root), "--pidfile", str(self.pidfile), "-H", self.host,
                "--bridge=none", "--iptables=false", "--ip-forward=false", "--ip-masq=false"]

    def start(self, timeout: float = 60) -> float:
        """Start and wait for /_ping; returns the seconds it took."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
        t0 = time.monotonic()
        self.proc = procs.spawn(self.argv(), self.log, env=env)
        procs.wait_until(lambda: unix_http(self.socket) == b"OK", what="bare dockerd", timeout=timeout,
                         log=self.log, proc=self.proc, interval=0.005)
        return time.monotonic() - t0

    def docker(self, *args: str, input: Optional[str] = None, check: bool = True) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
        env["DOCKER_HOST"] = self.host
        env["DOCKER_CONFIG"] = str(self.base / "cli-config")
        return subprocess.run(["docker", *args], capture_output=True, text=True, input=input, env=env,
                              check=check, timeout=120)

    def pids(self) -> list[int]:
        return [pid for m in (str(self.base), str(self.exec_root)) for pid in procs.pids_mentioning(m)
                if pid != os.getpid()]

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for pid in self.pids():
            procs.stop(pid, str(self.exec_root) if str(self.exec_root) in procs.cmdline(pid) else str(self.base),
                       timeout=3)
        mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()
                  if str(self.base) in line.split()[1] or str(self.exec_root) in line.split()[1]]
        for m in sorted(mounts, key=len, reverse=True):
            subprocess.run(["umount", "-l", m], capture_output=True)
        shutil.rmtree(self.base, ignore_errors=True)
        shutil.rmtree(self.exec_root, ignore_errors=True)

    def __enter__(self) -> "BareDockerd":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


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
