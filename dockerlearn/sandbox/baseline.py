"""A bare dockerd: the baseline the sandbox is measured against (bench/) and tested beside (tests/).

It stands in for "the user's own Docker": every path of its own, no network of its own.
Not used by the course itself; it lives in the package so that the benchmarks and the tests
share one copy without importing each other.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Optional

from . import procs
from .lifecycle import unix_http


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
