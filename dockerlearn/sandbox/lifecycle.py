"""The sandbox: a dedicated dockerd and a local registry, seeded with base images.

    with Sandbox("student01") as sb:      # up; down on exit (destroy with destroy_on_exit=True),
                                          # and the same when up fails half-way
        sb.run(["pull", "busybox"])
        sb.client().images.list()

Every path, socket, port and process belongs to one sandbox name, so several run side
by side and none of them touches the user's own Docker or ~/.docker.
"""
from __future__ import annotations

import json
import os
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import time
from base64 import b64encode
from contextlib import contextmanager
from functools import cached_property
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

from . import procs, registry, rootless, seeds
from ..errors import EnvironmentProblem, MissingPackage, SandboxDown, StartFailed, docker_error_kind
from ..paths import SandboxPaths
from ..terminal_bars import step

# Programs the sandbox runs, and the Debian package that brings each.
REQUIRED = {"dockerd": "docker.io", "containerd": "containerd", "runc": "runc",
            "docker-registry": "docker-registry", "docker": "docker.io"}
DOCKERD_TIMEOUT = 60.0
SERVICE_USER = "dockerlearn-service"


@dataclass
class State:
    """What `up` decided and later calls reuse: ports stay stable across restarts."""
    backend_port: int = 0
    mirror_port: int = 0
    registry_port: int = 0
    public_mirror_port: int = 0  # rootless: inside the namespace, what the host's mirror port leads to
    service_password: str = ""
    student_password: str = ""  # the learner's registry password: one per sandbox, never shared
    bridge: bool = False
    registry_pid: int = 0
    registry_start: int = 0  # with the pid, the process's identity (procs.start_time)
    gateway_pid: int = 0
    gateway_start: int = 0
    dockerd_pid: int = 0  # dockerd writes its own pidfile: these say which pid in it is ours, and since when
    dockerd_start: int = 0
    rootless: bool = False
    userns: str = ""  # a rootless daemon's user namespace ("user:[4026532...]"), to find all its processes
    seeded: dict = field(default_factory=dict)  # "busybox:latest" -> image ID

    @classmethod
    def load(cls, path: Path) -> "State":
        try:
            data = json.loads(path.read_text())
            return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})
        except (OSError, ValueError, TypeError):
            return cls()

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".json.part")
        tmp.write_text(json.dumps(asdict(self), indent=2))
        os.replace(tmp, path)


@dataclass(frozen=True)
class Service:
    """One process of a sandbox, defined once: how it is started (its command line, environment
    and readiness), how it is told from every other process, where it logs, and how long it gets
    to stop. Start, status, down and the sweep all go through it."""
    name: str  # registry, gateway, dockerd: also the State field prefix (<name>_pid, <name>_start)
    what: str  # as messages name it
    marker: str  # its own config file, a whole argument that no other process has
    log: Path
    stop_timeout: float
    argv: Callable[["State", list], list] = lambda st, launcher: []  # writes its config, gives its command line
    env: Callable[["State"], Optional[dict]] = lambda st: None
    ready: Callable[["State"], bool] = lambda st: True
    ready_timeout: float = 15.0
    hint: str = ""  # for a start that fails
    pidfile: Optional[Path] = None  # a daemon that writes its own (dockerd)

    def pid(self, st: "State") -> tuple[Optional[int], int]:
        """(pid, start time) of our process. A daemon's own pidfile names it only when that pid is
        the one we remembered: a stale pidfile's pid may since be any other process's. A state from
        before dockerd's start time was kept has none: then the marker alone tells."""
        remembered = getattr(st, f"{self.name}_pid"), getattr(st, f"{self.name}_start")
        if self.pidfile is None:
            return remembered
        pid = procs.read_pid(self.pidfile)
        if not remembered[1]:
            return pid, 0
        return (pid, remembered[1]) if pid == remembered[0] else (None, 0)

    def remember(self, st: "State", pid: int) -> None:
        setattr(st, f"{self.name}_pid", pid)
        setattr(st, f"{self.name}_start", procs.start_time(pid))

    def orphans(self) -> list[int]:
        """Processes of ours whose pid was never saved (an `up` killed right after spawning)."""
        return [pid for pid in procs.pids_matching(self.marker) if pid != os.getpid()]


LOW_DISK = 2 * 2**30  # below this, a pull of debian or a build may not fit


def recent_line(log: Path, within: float = 600) -> str:
    """The log's last line if it was written in the last `within` seconds (the gateway starts each
    line with its local time), else "": an old refusal is not today's problem."""
    line = procs.tail(log, 1).strip()
    try:
        written = time.mktime(time.strptime(line[:19], "%Y-%m-%d %H:%M:%S"))
    except ValueError:
        return ""
    return line if time.time() - written < within else ""


@dataclass
class Status:
    name: str
    root: str
    dockerd: bool
    dockerd_pid: Optional[int]
    registry: bool
    gateway: bool
    socket: str
    registry_address: str
    mirror_address: str
    seeded: list[str]
    exists: bool
    disk_free: Optional[int] = None  # bytes free where the sandbox keeps its data
    last_problem: str = ""  # the gateway's last logged line: why a pull or push failed

    @property
    def running(self) -> bool:
        # Services up is not enough: an `up` interrupted while seeding leaves a registry with no seeds.
        return self.dockerd and self.registry and self.gateway and bool(self.seeded)

    def render(self) -> str:
        if not self.exists:
            return f"沙箱 {self.name} 还不存在。运行 dockerlearn up 创建并启动它。"
        mark = lambda ok: "运行中 (running)" if ok else "已停止 (stopped)"
        lines = [
            f"沙箱 (sandbox)：{self.name}    状态目录：{self.root}",
            f"  dockerd：         {mark(self.dockerd)}" + (f"  pid {self.dockerd_pid}" if self.dockerd else ""),
            f"  镜像仓库 registry：{mark(self.registry and self.gateway)}  {self.registry_address}（需登录：用户 student，密码在 $REGISTRY_PASSWORD 里）",
            f"  镜像加速 mirror：  {mark(self.registry and self.gateway)}  {self.mirror_address}（只读，dockerd 的 registry-mirror）",
            f"  套接字 socket：    {self.socket}",
            f"  种子镜像 seeds：   {', '.join(self.seeded) if self.seeded else '（尚未播种）'}",
        ]
        if self.disk_free is not None:
            low = self.disk_free < LOW_DISK
            lines.append(f"  磁盘 disk：        剩余 {self.disk_free / 2**30:.1f} GiB"
                         + ("（快满了 (disk almost full)：拉取、构建和推送会失败；删掉不用的镜像，或者清理磁盘）" if low else ""))
        if self.last_problem:
            lines.append(f"  最近的问题：      {self.last_problem}（网关日志 gateway.log 的最后一行）")
        if not (self.dockerd and self.registry and self.gateway):
            lines.append("  有服务停止了：运行 dockerlearn up 重新启动，镜像和数据都还在。")
        elif not self.seeded:
            lines.append("  种子镜像还没有准备好（上次的 up 可能被中断了）：运行 dockerlearn up 补上。")
        return "\n".join(lines)


def _json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def docker_cli() -> str:
    """The CLI of the sandbox daemon's own package (see engine.py), never just the first on PATH."""
    from .engine import cli_path
    return cli_path()


def service_path(path: Optional[str] = None) -> str:
    """PATH for finding and running the daemons: an ordinary user's PATH lacks the sbin
    directories, where Debian puts dockerd and runc."""
    parts = [d for d in (path if path is not None else os.environ.get("PATH", os.defpath)).split(os.pathsep) if d]
    return os.pathsep.join(parts + [d for d in ("/usr/local/sbin", "/usr/sbin", "/sbin") if d not in parts])


def check_environment() -> None:
    """Fail early, in plain words, when this machine cannot run a sandbox."""
    if rootless.wanted():
        rootless.check()
    for program, package in REQUIRED.items():
        if not shutil.which(program, path=service_path()):
            raise MissingPackage(program, package)
    docker_cli()  # the CLI that matches this dockerd, or a clear error now
    seeds.find_busybox()


def _private_dir(path: Path) -> None:
    """A directory in a shared place (/tmp) that must be this user's alone, not planted by another."""
    path.mkdir(mode=0o700, exist_ok=True)
    info = path.lstat()
    if path.is_symlink() or info.st_uid != os.geteuid() or info.st_mode & 0o077:
        raise EnvironmentProblem(f"{path} 不属于你，或者别的用户也能访问它", term="unsafe runtime directory",
                                 hint=f"删除它（或请管理员删除）后再运行 dockerlearn up：rm -rf {path}")


def unix_http(sock: Path, path: str = "/_ping", timeout: float = 1.0, method: str = "GET") -> Optional[bytes]:
    """A bare HTTP request over the daemon socket: cheaper than importing the docker SDK.
    The body of a 2xx answer, or None."""
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(timeout)
            s.connect(str(sock))
            s.sendall(f"{method} {path} HTTP/1.0\r\nHost: docker\r\nContent-Length: 0\r\n\r\n".encode())
            data = b""
            while chunk := s.recv(65536):
                data += chunk
    except OSError:
        return None
    head, _, body = data.partition(b"\r\n\r\n")
    status = head.split(b"\r\n")[0].split()
    return body if len(status) > 1 and status[0].startswith(b"HTTP/1.") and status[1][:1] == b"2" else None


class Sandbox:
    def __init__(self, name: str = "default", *, bridge: bool = False, debian: bool = True,
                 quiet: bool = False, destroy_on_exit: bool = False):
        self.paths = SandboxPaths.for_name(name)
        self.name = name
        self.bridge = bridge
        self.debian = debian
        self.quiet = quiet
        self.destroy_on_exit = destroy_on_exit
        self._client = None

    # ------------------------------------------------------------ context manager
    def __enter__(self) -> "Sandbox":
        try:
            self.up()
        except BaseException:
            # Python calls __exit__ only once __enter__ has returned: a start that fails half-way
            # (dockerd up, seeding interrupted) must not leave its processes behind.
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self.destroy_on_exit:
            self.destroy()
        else:
            self.down()

    def __repr__(self) -> str:
        return f"Sandbox({self.name!r}, root={str(self.paths.root)!r})"

    # ------------------------------------------------------------ state
    @property
    def state(self) -> State:
        return State.load(self.paths.state_file)

    @property
    def registry_marker(self) -> str:
        """The registry's own config file: the argument that tells our docker-registry from any other."""
        return str(self.paths.registry_dir / "config.yml")

    @property
    def gateway_marker(self) -> str:
        """The gateway's config file, its one argument."""
        return str(self.paths.root / "gateway.json")

    @property
    def dockerd_marker(self) -> str:
        return str(self.paths.daemon_json)

    @cached_property  # built once: the warm path asks for it several times per call
    def services(self) -> dict[str, Service]:
        p = self.paths
        return {
            "registry": Service("registry", "本地镜像仓库 docker-registry", self.registry_marker,
                                p.registry_dir / "registry.log", 5.0, argv=self._registry_argv,
                                ready=lambda st: procs.http_ready(st.backend_port),
                                hint="查看日志；端口被占用时再运行一次 dockerlearn up 会换一个端口。"),
            "gateway": Service("gateway", "仓库网关 gateway", self.gateway_marker, p.root / "gateway.log", 5.0,
                               argv=self._gateway_argv, env=lambda st: self._gateway_env(),
                               ready=lambda st: procs.http_ready(st.mirror_port) and procs.http_ready(st.registry_port)),
            "dockerd": Service("dockerd", "dockerd", self.dockerd_marker, p.dockerd_log, 15.0,
                               argv=self._dockerd_argv, env=self._dockerd_env, ready=lambda st: self.dockerd_ready(),
                               ready_timeout=DOCKERD_TIMEOUT, pidfile=p.pidfile,
                               hint="dockerd 需要 overlay 文件系统；普通用户还需要 rootlesskit 和从属 ID 范围。"
                                    "日志里通常写明了原因。"),
        }

    def _alive(self, name: str, st: Optional[State] = None) -> bool:
        svc = self.services[name]
        pid, start = svc.pid(st or self.state)
        return procs.alive(pid, svc.marker, start)

    def _stop(self, name: str, st: Optional[State] = None) -> None:
        svc = self.services[name]
        pid, start = svc.pid(st or self.state)
        procs.stop(pid, svc.marker, timeout=svc.stop_timeout, start=start)

    def _spawn(self, name: str, st: State, started: list, launcher: Sequence[str] = ()) -> subprocess.Popen:
        """Start one service: its command line (its config written), remembered in the state at
        once (a kill from here on leaves a state that knows its pid), and in `started` for the
        clean-up of a failed `up`."""
        svc = self.services[name]
        proc = procs.spawn(svc.argv(st, list(launcher)), svc.log, env=svc.env(st))
        svc.remember(st, proc.pid)  # rootless dockerd: its rootlesskit, until the daemon is ready
        st.save(self.paths.state_file)
        started.append((proc.pid, svc.marker))
        return proc

    def _wait_ready(self, name: str, st: State, proc: Optional[subprocess.Popen]) -> None:
        """Until the service answers; proc, when we just spawned it, must not exit meanwhile."""
        svc = self.services[name]
        procs.wait_until(lambda: svc.ready(st), what=svc.what, timeout=svc.ready_timeout, log=svc.log,
                         proc=proc, hint=svc.hint)
        if proc is not None and svc.pidfile is not None:
            # The daemon's own word, now that it is up: under rootlesskit, the pid we spawned is not it.
            pid = procs.read_pid(svc.pidfile)
            if pid is not None and pid != getattr(st, f"{name}_pid"):
                svc.remember(st, pid)
                st.save(self.paths.state_file)

    def dockerd_pid(self) -> Optional[int]:
        pid, start = self.services["dockerd"].pid(self.state)
        return pid if procs.alive(pid, self.dockerd_marker, start) else None

    def dockerd_ready(self) -> bool:
        return unix_http(self.paths.socket) == b"OK"

    @property
    def registry_address(self) -> str:
        return f"127.0.0.1:{self.state.registry_port}"

    @property
    def mirror_address(self) -> str:
        return f"127.0.0.1:{self.state.mirror_port}"

    def _say(self, text: str) -> None:
        if not self.quiet:
            step(text)

    @contextmanager
    def _locked(self):
        """One lifecycle change at a time per sandbox (two notebooks may call up at once)."""
        from ..paths import unusable_home
        try:
            self.paths.root.mkdir(parents=True, exist_ok=True)
            f = open(self.paths.lock_file, "w")
        except OSError as e:
            raise unusable_home(e) from None
        with f, procs.exclusive(f):
            yield

    # ------------------------------------------------------------ up
    def is_running(self) -> bool:
        st = self.state
        return (bool(st.student_password) and self._seeds_in_place(st) and self._alive("registry", st)
                and self._alive("gateway", st) and self._alive("dockerd", st) and self.dockerd_ready())

    def _seeds_in_place(self, st: "State") -> bool:
        """Every seeded tag still in the registry's storage (a stat each): a `reset` killed after it
        wiped the repositories leaves seeds in the state and none in the registry."""
        if not st.seeded:
            return False
        repos = self.paths.registry_storage / "docker" / "registry" / "v2" / "repositories"
        for ref in st.seeded:
            name, tag = ref.rsplit(":", 1)
            if not (repos / "library" / name / "_manifests" / "tags" / tag / "current" / "link").is_file():
                return False
        return True

    def up(self) -> "Sandbox":
        """Start what is not running; reuse what is. Idempotent, and cleans up after a failed start."""
        if self.is_running():  # warm path: no lock, no imports, a few syscalls
            return self
        check_environment()
        with self._locked():
            if self.is_running():
                return self
            started: list[tuple[int, str]] = []
            try:
                self._start(started)
            except BaseException:
                for pid, marker in reversed(started):
                    procs.stop(pid, marker, timeout=5)
                self._sweep()
                raise
        return self

    def _start(self, started: list) -> None:
        t0 = time.monotonic()
        p = self.paths
        p.ensure()
        st = self.state
        fresh = not st.service_password
        if fresh:
            st.service_password = secrets.token_urlsafe(18)
        if not st.student_password:  # a new sandbox, or one made before passwords were per sandbox
            st.student_password = secrets.token_urlsafe(12)
            self._stop("registry", st)  # it restarts below with the new password
        st.bridge = self.bridge
        st.rootless = rootless.wanted()
        config_file = p.docker_config / "config.json"
        if not config_file.exists():
            config_file.write_text("{}\n")

        reg_proc = gw_proc = dockerd_proc = None
        gw_config = p.root / "gateway.json"
        if st.rootless:
            # The daemon's namespace first: the registry and the gateway live in its network.
            dockerd_proc = self._start_namespace(st, started)
        launcher = self._launcher(st)

        # Registry first: seeding needs it, and dockerd's mirror points at its gateway.
        if not self._alive("registry", st):
            # An `up` killed right after spawning may have left one whose pid was never saved:
            # stop it, or a second registry starts beside it on another port.
            patience = 2.0 if self._stop_orphans("registry") else 0.0
            if not st.rootless:  # rootless: the ports are the ones the namespace publishes
                st.backend_port = self._pick_port(st.backend_port, patience=patience)
            reg_proc = self._spawn("registry", st, started, launcher)
        if self._alive("gateway", st) and _json(gw_config).get("backend_port") != st.backend_port:
            self._stop("gateway", st)  # the registry came back on another port
        if not self._alive("gateway", st):
            patience = 2.0 if self._stop_orphans("gateway") else 0.0
            if not st.rootless:
                st.mirror_port = self._pick_port(st.mirror_port, avoid={st.backend_port}, patience=patience)
                st.registry_port = self._pick_port(st.registry_port, avoid={st.backend_port, st.mirror_port},
                                                   patience=patience)
            gw_proc = self._spawn("gateway", st, started, launcher)
        if not st.rootless:
            if self.dockerd_pid() is not None and not self._daemon_follows(st):
                # The gateway came back on other ports: the daemon's mirror and proxy must follow it.
                self._stop("dockerd", st)
            if self.dockerd_pid() is None or not self.dockerd_ready():
                dockerd_proc = self._spawn("dockerd", st, started)
        st.save(p.state_file)

        # While dockerd boots, the registry gets its seeds.
        if reg_proc:
            self._wait_ready("registry", st, reg_proc)
        if gw_proc:
            self._wait_ready("gateway", st, gw_proc)
        if reg_proc or not self._seeds_in_place(st):
            st.seeded = self._seed()
            st.save(p.state_file)
        self._wait_ready("dockerd", st, dockerd_proc)
        if dockerd_proc and st.rootless:
            st.userns = rootless.userns_of(self.dockerd_pid() or 0) or ""
            st.save(p.state_file)
        self._say(f"沙箱 {self.name} 已就绪（{time.monotonic() - t0:.1f} 秒）：DOCKER_HOST=unix://{p.socket}")

    def _start_namespace(self, st: State, started: list) -> Optional[subprocess.Popen]:
        """Rootless: (re)start the daemon under rootlesskit when its namespace is gone, and with it
        the registry and the gateway, which lived in the old network. None when all is up."""
        p = self.paths
        pid = self.dockerd_pid()
        if (pid is not None and st.public_mirror_port and rootless.child_pid(p.rootlesskit_dir)
                and self._daemon_follows(st)):
            return None
        for name in ("dockerd", "gateway", "registry"):
            self._stop(name, st)
            self._stop_orphans(name)
        st.backend_port = self._pick_port(st.backend_port, patience=2.0)
        st.mirror_port = self._pick_port(st.mirror_port, avoid={st.backend_port}, patience=2.0)
        st.registry_port = self._pick_port(st.registry_port, avoid={st.backend_port, st.mirror_port}, patience=2.0)
        st.public_mirror_port = self._pick_port(st.public_mirror_port, patience=0,
                                                avoid={st.backend_port, st.mirror_port, st.registry_port})
        proc = self._spawn("dockerd", st, started)
        procs.wait_until(lambda: rootless.child_pid(p.rootlesskit_dir) is not None, what="rootlesskit",
                         timeout=15, log=p.dockerd_log, proc=proc,
                         hint="rootlesskit 需要从属 ID 范围和可用的 /dev/net/tun：请管理员运行 sudo bash scripts/setup。")
        return proc

    def _launcher(self, st: State) -> list[str]:
        """How the registry and the gateway are started: directly in root mode; rootless, inside
        the daemon's network namespace, where 127.0.0.1 is the sandbox's own."""
        if not st.rootless:
            return []
        pid = rootless.child_pid(self.paths.rootlesskit_dir)
        if pid is None:
            raise SandboxDown(self.name)
        return rootless.enter(pid)

    def _registry_argv(self, st: State, launcher: list) -> list[str]:
        cfg = registry.write_config(self.paths.registry_dir, self.paths.registry_storage, st.backend_port,
                                    st.service_password, st.student_password)
        return [*launcher, "docker-registry", "serve", str(cfg)]

    def _gateway_argv(self, st: State, launcher: list) -> list[str]:
        self._write_gateway_config(st)
        return [*launcher, sys.executable, "-m", "dockerlearn.sandbox.gateway", self.gateway_marker]

    def _write_gateway_config(self, st: State) -> None:
        p = self.paths
        (p.root / "gateway.json").write_text(json.dumps({
            "backend_port": st.backend_port, "mirror_port": st.mirror_port, "registry_port": st.registry_port,
            "service_auth": "Basic " + b64encode(f"{SERVICE_USER}:{st.service_password}".encode()).decode(),
            "search_meta": str(p.root / "search.json"),
            "search_log": str(p.searches_file),
            "public_mirror_port": st.public_mirror_port if st.rootless else 0,
            # Root mode's mirror is on the machine's loopback: only this dockerd sees all of it.
            "daemon_pidfile": "" if st.rootless else str(p.pidfile),
            "state_file": str(p.state_file),
        }))
        (p.root / "search.json").write_text(json.dumps(seeds.SEARCH_META, ensure_ascii=False, indent=2))

    def beside(self, argv: Sequence[str], publish: Sequence[int] = ()) -> list[str]:
        """The command line that runs argv where the daemon's 127.0.0.1 is (its network namespace,
        rootless), with ports it listens on published on the host's 127.0.0.1."""
        st = self.state
        if not st.rootless:
            return list(argv)
        prefix = self._launcher(st)
        for port in publish:
            rootless.publish(self.paths.rootlesskit_dir, port)
        return [*prefix, *argv]

    def _stop_orphans(self, name: str) -> bool:
        svc = self.services[name]
        orphans = svc.orphans()
        for pid in orphans:
            procs.stop(pid, svc.marker, timeout=svc.stop_timeout)
        return bool(orphans)

    def _daemon_follows(self, st: State) -> bool:
        """Whether the running dockerd was started with today's mirror and registry ports."""
        cfg, want = _json(self.paths.daemon_json), self.daemon_config(st)
        return all(cfg.get(k) == want[k] for k in ("registry-mirrors", "insecure-registries"))

    def _gateway_env(self) -> dict:
        env = dict(os.environ)
        # The gateway must import this very package, wherever it was installed from.
        pkg_parent = str(Path(__file__).resolve().parents[2])  # dockerlearn/sandbox/lifecycle.py → the folder holding dockerlearn
        env["PYTHONPATH"] = pkg_parent + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        return env

    @staticmethod
    def _pick_port(previous: int, avoid: set = frozenset(), patience: float = 0.0) -> int:
        """Keep last time's port (tags like 127.0.0.1:PORT/app depend on it) unless it is taken.

        patience: how long to wait for it to come free (a process of ours was just stopped)."""
        deadline = time.monotonic() + patience
        while previous and previous not in avoid:
            if procs.port_free(previous):
                return previous
            if time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        while True:
            port = procs.free_port()
            if port not in avoid:
                return port

    def daemon_config(self, st: State) -> dict:
        p = self.paths
        ns = "dockerlearn-" + p.exec_root.name
        cfg = {
            "data-root": str(p.data_root),
            "exec-root": str(p.exec_root),
            "pidfile": str(p.pidfile),
            # dockerd 20.10 derives its ID from this key, by default /etc/docker/key.json (created there
            # if absent): the user's own Docker's file. Keep one of our own.
            "deprecated-key-path": str(p.root / "key.json"),
            "hosts": [f"unix://{p.socket}"],
            "registry-mirrors": [f"http://127.0.0.1:{st.mirror_port}"],
            "insecure-registries": [f"127.0.0.1:{st.mirror_port}", f"127.0.0.1:{st.registry_port}"],
            # If the host runs a system containerd, dockerd would share it: keep our own namespaces.
            "containerd-namespace": ns,
            "containerd-plugins-namespace": ns + "-plugins",
            "shutdown-timeout": 3,
            # info, not warn: a failed pull or push (a full disk, say) is logged with its real cause.
            "log-level": "info",
        }
        if st.bridge:
            cfg["bridge"] = self._bridge_name()
        else:
            cfg.update({"bridge": "none", "iptables": False, "ip-masq": False, "ip-forward": False})
        return cfg

    def _bridge_name(self) -> str:
        return "dl" + self.paths.exec_root.name[:10]

    def _ensure_bridge(self) -> None:
        """For networking demos only (never in tests): a bridge of this sandbox's own, not docker0."""
        name = self._bridge_name()
        if subprocess.run(["ip", "link", "show", name], capture_output=True).returncode == 0:
            return
        octet = 16 + int(self.paths.exec_root.name[:4], 16) % 200
        for cmd in (["ip", "link", "add", name, "type", "bridge"],
                    ["ip", "addr", "add", f"10.213.{octet}.1/24", "dev", name],
                    ["ip", "link", "set", name, "up"]):
            subprocess.run(cmd, check=True, capture_output=True)

    def _dockerd_argv(self, st: State, launcher: list) -> list[str]:
        """dockerd's command line, its config written. It makes its own launcher: rootless, it is
        the namespace (rootlesskit) the registry and the gateway are then started in."""
        p = self.paths
        # After a crash or kill -9: a stale pidfile or socket, a hung dockerd, an orphaned shim with
        # its container, or containerd's pidfile naming a zombie must not stop (or slow) the new daemon.
        self._sweep(daemon_only=True)
        if st.bridge:
            self._ensure_bridge()
        if os.geteuid() != 0:
            _private_dir(p.exec_root.parent)
        p.exec_root.mkdir(parents=True, exist_ok=True)
        p.daemon_json.write_text(json.dumps(self.daemon_config(st), indent=2))
        argv = ["dockerd", "--config-file", str(p.daemon_json)]
        if st.rootless:
            p.rootlesskit_dir.parent.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(p.rootlesskit_dir, ignore_errors=True)
            (p.root / "xdg-runtime").mkdir(mode=0o700, exist_ok=True)  # see _dockerd_env
            # The host's mirror port leads to the gateway's public view: seeds only.
            ports = [(st.backend_port, st.backend_port), (st.mirror_port, st.public_mirror_port),
                     (st.registry_port, st.registry_port)]
            argv = rootless.wrap(argv, p.rootlesskit_dir, ports,
                                 rootless.slirp_wrapper(self.ensure_bin()))
        return argv

    def _dockerd_env(self, st: State) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
        env["PATH"] = service_path(env.get("PATH"))  # dockerd finds containerd and runc on it
        # The daemon's only way out is our gateway, which refuses it: no traffic to Docker Hub,
        # and a pull of an image that is not seeded fails at once with a clear reason.
        proxy = f"http://127.0.0.1:{st.mirror_port}"
        env.update({"HTTP_PROXY": proxy, "HTTPS_PROXY": proxy, "http_proxy": proxy, "https_proxy": proxy,
                    "NO_PROXY": "127.0.0.1,localhost,::1", "no_proxy": "127.0.0.1,localhost,::1"})
        if st.rootless:
            env["XDG_RUNTIME_DIR"] = str(self.paths.root / "xdg-runtime")  # the rootless daemon wants one, private to the user
        return env

    def registry_client(self, user: str = SERVICE_USER, password: Optional[str] = None) -> registry.RegistryClient:
        """Straight to the backend registry (the service account sees everything)."""
        st = self.state
        return registry.RegistryClient(f"127.0.0.1:{st.backend_port}", user,
                                       st.service_password if password is None else password)

    def _seed(self) -> dict:
        """Write the seeds into the registry's storage, then ask the registry to serve one back."""
        images = seeds.all_images(with_debian=self.debian, progress=not self.quiet)
        for img in images:
            registry.write_storage(self.paths.registry_storage, img)
        client = self.registry_client()
        for img in images:
            found = client.manifest(img.repository, img.tags[0])
            if not found or found[0] != img.manifest_digest:
                raise StartFailed(f"本地镜像仓库没有正确提供种子镜像 {img.repository}:{img.tags[0]}",
                                  term="seed not served", log=procs.tail(self.paths.registry_dir / "registry.log"))
        return seeds.seed_refs(images)

    # ------------------------------------------------------------ down, destroy
    def down(self) -> None:
        """Stop every process of this sandbox and keep its data. Quiet when already stopped."""
        if not self.paths.root.exists():
            return
        with self._locked():
            st = self.state
            self._kill_containers()
            for name in ("dockerd", "gateway", "registry"):
                self._stop(name, st)
            self._sweep()
        self._client = None

    def _kill_containers(self) -> None:
        """SIGKILL every running container first: dockerd would give each its shutdown timeout,
        and `down` is a stop of the whole sandbox, not of one service in it."""
        listing = unix_http(self.paths.socket, "/containers/json")
        if not listing:
            return
        from concurrent.futures import ThreadPoolExecutor
        ids = [c["Id"] for c in json.loads(listing)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda cid: unix_http(self.paths.socket, f"/containers/{cid}/kill", 10, "POST"), ids))

    def _sweep(self, daemon_only: bool = False) -> None:
        """Whatever a crash left behind: containers, containerd and shims, mounts, sockets, the exec-root.

        daemon_only: before restarting dockerd, leave the registry and gateway running.
        """
        p = self.paths
        # Containers first: their processes outlive a killed shim, and name neither path.
        try:
            ids = {d.name for d in (p.data_root / "containers").iterdir() if len(d.name) == 64}
        except OSError:
            ids = set()
        procs.kill_now([pid for pid in procs.pids_in_cgroups(ids) if pid != os.getpid()])
        st = self.state
        if st.rootless and st.userns:
            # A rootless daemon's containers have no cgroup of their own: find them by namespace.
            procs.kill_now(rootless.pids_in_userns(st.userns))
        # Our own services by their own paths: a JupyterLab serving <root>/notebooks is not one of them.
        # containerd by its config, its shims by its socket: whole arguments, so that a `tail -f`
        # of a log, or another home's sandbox of the same name, is never taken for one of ours.
        services = self.services
        markers = [str(p.exec_root / "containerd" / "containerd.toml"),
                   str(p.exec_root / "containerd" / "containerd.sock"), services["dockerd"].marker]
        if not daemon_only:
            markers += [services["registry"].marker, services["gateway"].marker]
        for marker in markers:
            for pid in procs.pids_matching(marker):
                if pid != os.getpid():
                    procs.stop(pid, marker, timeout=3)
        for mount in self.mounts():
            subprocess.run(["umount", "-l", mount], capture_output=True)
        p.socket.unlink(missing_ok=True)
        p.pidfile.unlink(missing_ok=True)
        if p.exec_root.exists():
            shutil.rmtree(p.exec_root, ignore_errors=True)
        if self.state.bridge and not daemon_only:
            subprocess.run(["ip", "link", "delete", self._bridge_name()], capture_output=True)

    def mounts(self) -> list[str]:
        roots = (str(self.paths.root) + "/", str(self.paths.exec_root) + "/")
        found = []
        with open("/proc/self/mounts") as f:
            for line in f:
                target = line.split()[1].replace("\\040", " ")
                if target.startswith(roots) or target + "/" in roots:
                    found.append(target)
        return sorted(found, key=len, reverse=True)  # innermost first

    def lab_pids(self) -> list[int]:
        """JupyterLab servers serving this sandbox's notebooks: `dockerlearn lab` names the folder
        with --notebook-dir, the classroom's singleuser (and the k8s pod) with --ServerApp.root_dir."""
        folder = str(self.paths.root / "notebooks")
        return sorted({pid for flag in ("--notebook-dir=", "--ServerApp.root_dir=")
                       for pid in procs.pids_matching(flag + folder) if pid != os.getpid()})

    def destroy(self) -> None:
        """Remove everything of this sandbox, under its lock (an `up` in between waits). The
        learner's progress is kept elsewhere. Refused while JupyterLab serves its notebooks."""
        labs = self.lab_pids()
        if labs:
            raise EnvironmentProblem(
                f"JupyterLab 正在使用沙箱 {self.name} 的 notebook（pid {', '.join(map(str, labs))}），不能删除它",
                term="sandbox in use",
                hint="先在 JupyterLab 里保存并关闭（File → Shut Down），或结束这个进程，再运行 dockerlearn destroy。")
        if not self.paths.root.exists():
            return
        self.down()
        with self._locked():
            self._sweep()  # again under the lock: an `up` may have slipped in since `down` let go
            if self.state.rootless:
                rootless.remove_tree(self.paths.data_root)
            shutil.rmtree(self.paths.root, ignore_errors=True)

    # ------------------------------------------------------------ reset
    def reset(self, clear_work: bool = False) -> None:
        """Back to the freshly seeded state: no containers, no local images, only the seeds in the registry."""
        self.up()
        with self._locked():
            self._reset_daemon()
            self._reset_registry()
            (self.paths.docker_config / "config.json").write_text("{}\n")
            self.paths.answers_file.unlink(missing_ok=True)  # answers describe the state just wiped
            self.paths.searches_file.unlink(missing_ok=True)  # and so do the searches seen so far
            if clear_work:  # for builds and tests; a learner's `reset` keeps their files
                shutil.rmtree(self.work_dir, ignore_errors=True)

    def _reset_daemon(self) -> None:
        import docker.errors  # noqa: F401  (imported for the exception types below)
        client = self.client()
        api = client.api
        for c in api.containers(all=True, quiet=True):
            api.remove_container(c["Id"], force=True, v=True)
        # BuildKit's cache (DOCKER_BUILDKIT=1, lesson 14) holds on to base-image layers: without
        # this, the next `docker pull busybox` says "Already exists" instead of "Pull complete".
        api.prune_builds(all=True)
        # A fresh sandbox's daemon holds no image at all (the seeds wait in the registry):
        # reset gives exactly that, so a lesson's `docker pull` prints the same every time.
        # In parallel: deleting a layer is mostly the filesystem unlinking files, and the daemon
        # does several at once. A parent waits for its children (409) until the next round.
        from concurrent.futures import ThreadPoolExecutor

        def remove(image_id: str) -> bool:
            try:
                api.remove_image(image_id, force=True)
            except docker.errors.NotFound:
                pass  # went with a parent removed just before
            except docker.errors.APIError as e:
                if e.status_code == 409:
                    return False
                if docker_error_kind(e) == "missing":  # removed meanwhile, as another's parent
                    return True
                raise
            return True

        for _ in range(10):
            left = [img["Id"] for img in api.images(all=True)]
            if not left:
                break
            with ThreadPoolExecutor(max_workers=8) as pool:
                list(pool.map(remove, left))
        api.prune_images()  # dangling layers left by the removals
        api.prune_volumes()
        api.prune_networks()

    def _reset_registry(self) -> None:
        # Blobs are content-addressed and never rewritten, so only the repositories (what the
        # learner pushed, tagged or deleted) and unfinished uploads need wiping.
        v2 = self.paths.registry_storage / "docker" / "registry" / "v2"
        st = self.state
        st.seeded = {}  # first: a reset killed from here on leaves a sandbox that `up` re-seeds
        st.save(self.paths.state_file)
        shutil.rmtree(v2 / "repositories", ignore_errors=True)
        st.seeded = self._seed()
        st.save(self.paths.state_file)

    # ------------------------------------------------------------ status and use
    def status(self) -> Status:
        st = self.state
        exists = self.paths.state_file.exists()
        pid = self.dockerd_pid()
        return Status(
            name=self.name, root=str(self.paths.root), exists=exists,
            dockerd=pid is not None and self.dockerd_ready(), dockerd_pid=pid,
            registry=self._alive("registry", st), gateway=self._alive("gateway", st),
            socket=str(self.paths.socket),
            registry_address=f"127.0.0.1:{st.registry_port}", mirror_address=f"127.0.0.1:{st.mirror_port}",
            seeded=sorted(st.seeded) if self._seeds_in_place(st) else [],
            disk_free=shutil.disk_usage(self.paths.root).free if exists else None,
            last_problem=recent_line(self.services["gateway"].log) if exists else "",
        )

    def env(self) -> dict[str, str]:
        """The environment that pins the docker CLI to this sandbox."""
        st = self.state
        return {
            "DOCKER_HOST": f"unix://{self.paths.socket}",
            "DOCKER_CONFIG": str(self.paths.docker_config),
            "DOCKER_CLI_HINTS": "false",
            "DOCKERLEARN_NAME": self.name,
            "DOCKERLEARN_HOME": str(self.paths.root.parent.parent),
            "REGISTRY": f"127.0.0.1:{st.registry_port}",
            "REGISTRY_USER": registry.STUDENT_USER,
            "REGISTRY_PASSWORD": st.student_password,
            "MIRROR": f"127.0.0.1:{st.mirror_port}",
            "DOCKERLEARN_WORK": str(self.paths.root / "work"),
        }

    @property
    def work_dir(self) -> Path:
        """Where lesson cells and exercise scripts run and write their files."""
        path = self.paths.root / "work"
        path.mkdir(parents=True, exist_ok=True)
        return path

    # Variables that would send the CLI elsewhere, whatever DOCKER_HOST says.
    UNPINNED = ("DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_TLS")

    def full_env(self, base: Optional[dict] = None) -> dict[str, str]:
        env = {k: v for k, v in (os.environ if base is None else base).items() if k not in self.UNPINNED}
        env.update(self.env())
        # `docker` in a kernel, a terminal or `!docker` is the sandbox's own CLI, whatever else is on PATH.
        bin_dir = str(self.ensure_bin())
        rest = [d for d in env.get("PATH", os.defpath).split(os.pathsep) if d and d != bin_dir]
        env["PATH"] = os.pathsep.join([bin_dir, *rest])
        return env

    def ensure_bin(self) -> Path:
        """<root>/bin: `docker` (the matched CLI) and `dockerlearn` (this very installation)."""
        bin_dir = self.paths.bin_dir
        bin_dir.mkdir(parents=True, exist_ok=True)
        link = bin_dir / "docker"
        target = docker_cli()
        if not link.is_symlink() or os.readlink(link) != target:
            tmp = bin_dir / ".docker.part"
            tmp.unlink(missing_ok=True)
            tmp.symlink_to(target)
            os.replace(tmp, link)
        wrapper = bin_dir / "dockerlearn"
        script = f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m dockerlearn "$@"\n'
        if not wrapper.exists() or wrapper.read_text() != script:
            tmp = bin_dir / ".dockerlearn.part"
            tmp.write_text(script)
            tmp.chmod(0o755)
            os.replace(tmp, wrapper)
        return bin_dir

    def run(self, args: Sequence[str] | str, *, input: Optional[bytes | str] = None, check: bool = False,
            timeout: Optional[float] = 600, cwd: Optional[str] = None) -> subprocess.CompletedProcess:
        """Run the real docker CLI against this sandbox and capture its output (text)."""
        if isinstance(args, str):
            args = shlex.split(args)
        args = list(args)
        if args and args[0] == "docker":
            args = args[1:]
        return subprocess.run([docker_cli(), *args], input=input, capture_output=True,
                              text=not isinstance(input, bytes), env=self.full_env(),
                              check=check, timeout=timeout, cwd=cwd)

    def client(self):
        """A docker.DockerClient bound to this sandbox (API version negotiated)."""
        if not self.dockerd_ready():
            raise SandboxDown(self.name)
        if self._client is None:
            import docker
            # The user agent names dockerlearn to the daemon, which passes it on to the registry: the
            # gateway tells the checks' own searches from the learner's (CheckContext.searches).
            self._client = docker.DockerClient(base_url=f"unix://{self.paths.socket}", version="auto", timeout=120,
                                               user_agent=CLIENT_AGENT)
        return self._client


CLIENT_AGENT = "dockerlearn"


def current(name: Optional[str] = None) -> Sandbox:
    """The sandbox this process works with: --name, $DOCKERLEARN_NAME, or "default"."""
    return Sandbox(name or os.environ.get("DOCKERLEARN_NAME") or "default")


__all__ = ["Sandbox", "Status", "State", "current", "check_environment", "EnvironmentProblem", "StartFailed"]
