"""Background services: start detached, tell whether a pid is still ours, stop cleanly."""
from __future__ import annotations

import fcntl
import os
import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Optional, Sequence

from ..errors import StartFailed


def tail(path: Path, lines: int = 15) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 16384))
            text = f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def has_arg(pid: int, marker: str) -> bool:
    """Whether marker is one whole argument of pid (or the value of --opt=marker, or one word of a
    `sh -c` script): a log's path given to `tail -f`, or a longer path ending the same way, is not."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes().decode("utf-8", "replace")
    except OSError:
        return False
    for arg in raw.split("\0"):
        for word in arg.split():
            if word == marker or word.endswith("=" + marker):
                return True
    return False


def start_time(pid: int) -> int:
    """When pid started, in clock ticks since boot: with the pid, an identity no later process
    can take over (pids are reused; a pid and its start time are not). 0 when it is gone."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return 0


def alive(pid: Optional[int], marker: str = "", start: int = 0) -> bool:
    """True when pid runs, has marker as a whole argument, and (given start) started then:
    a stale pid may have been reused by any other process meanwhile."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        if fields[0] == "Z":
            return False
        if start and int(fields[19]) != start:
            return False
    except (OSError, IndexError, ValueError):
        return False
    return has_arg(pid, marker) if marker else True


def read_pid(path: Path) -> Optional[int]:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def spawn(argv: Sequence[str], log: Path, env: Optional[dict] = None) -> subprocess.Popen:
    """Start a service in its own session, so it outlives this Python process."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        return subprocess.Popen(
            list(argv), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            env=env, start_new_session=True, close_fds=True,
        )


def wait_until(ready: Callable[[], bool], *, what: str, timeout: float, log: Path,
               proc: Optional[subprocess.Popen] = None, hint: str = "", interval: float = 0.01) -> None:
    """Poll ready() until it holds; on timeout or early exit, raise with the log tail."""
    deadline = time.monotonic() + timeout
    while True:
        if ready():
            return
        if proc is not None and proc.poll() is not None:
            raise StartFailed(f"{what} 启动后立即退出了（退出码 {proc.returncode}）",
                              term="service exited", hint=hint, log=tail(log))
        if time.monotonic() > deadline:
            raise StartFailed(f"{what} 在 {timeout:.0f} 秒内没有就绪", term="readiness timeout",
                              hint=hint, log=tail(log))
        time.sleep(interval)
        interval = min(interval * 1.5, 0.1)


def stop(pid: Optional[int], marker: str, *, timeout: float = 10.0, start: int = 0) -> None:
    """SIGTERM, then SIGKILL after timeout. Quiet when the process is already gone."""
    if not alive(pid, marker, start):
        return
    assert pid is not None
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid, marker):
            _reap(pid)
            return
        time.sleep(0.02)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    while alive(pid, marker):
        time.sleep(0.02)
    _reap(pid)


def _reap(pid: int) -> None:
    # Children we spawned in this process become zombies until waited for.
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def pids_matching(marker: str) -> list[int]:
    """Every process that has marker (one of a sandbox's own paths) as a whole argument."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and has_arg(int(entry), marker):
            found.append(int(entry))
    return found


def pids_mentioning(text: str) -> list[int]:
    """Every process whose command line contains text anywhere (for tests and diagnostics)."""
    return [int(e) for e in os.listdir("/proc") if e.isdigit() and text in cmdline(int(e))]


def pids_in_cgroups(names: set[str]) -> list[int]:
    """Every process whose cgroup path holds one of names (Docker names a container's cgroup by its ID).

    A container's processes do not mention the sandbox on their command line; after a daemon crash
    they outlive their shim, so they are found by cgroup instead.
    """
    if not names:
        return []
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            text = Path(f"/proc/{entry}/cgroup").read_text()
        except OSError:
            continue
        if any(name in text for name in names):
            found.append(int(entry))
    return found


def kill_now(pids: list[int]) -> None:
    """SIGKILL, no grace: for what a crashed daemon left running."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 5
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.01)


def port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_ready(port: int) -> bool:
    """Whether an HTTP server answers on 127.0.0.1:port. A bare TCP connect is not enough: through
    rootlesskit's port driver it succeeds before anything listens inside the namespace."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.settimeout(0.5)
            s.sendall(b"GET /v2/ HTTP/1.0\r\nHost: localhost\r\n\r\n")
            return s.recv(5) == b"HTTP/"
    except OSError:
        return False


def url_ready(url: str) -> bool:
    """Whether a GET of url succeeds (2xx/3xx). An error status is not ready: a proxy answers 404
    for a path until the server behind it has registered its route (JupyterHub's /hub/api)."""
    import urllib.request
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status < 400
    except OSError:  # urllib.error.HTTPError (4xx/5xx) included
        return False


@contextmanager
def exclusive(f):
    """Hold an exclusive lock (flock) on the open file f for the with-block; others wait."""
    fcntl.flock(f, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(f, fcntl.LOCK_UN)
