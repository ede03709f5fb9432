"""Where a sandbox keeps its state, and which names are allowed."""
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import BadName

NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")  # used with fullmatch: no trailing newline slips through
# Unix socket paths are limited to 108 bytes (sun_path), including the final NUL.
SOCKET_MAX = 107


def home() -> Path:
    """$DOCKERLEARN_HOME, or the XDG state directory."""
    env = os.environ.get("DOCKERLEARN_HOME")
    if env:
        return Path(env).expanduser().absolute()
    xdg = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(xdg).absolute() / "dockerlearn"


def cache_dir() -> Path:
    """Seed images are built once per machine user and shared by every sandbox.

    $DOCKERLEARN_CACHE lets a throwaway home (tests, a classroom script) share the cache.
    """
    env = os.environ.get("DOCKERLEARN_CACHE")
    return Path(env).expanduser().absolute() if env else home() / "cache"


PACKAGE_DIR = Path(__file__).resolve().parent


def course_dir(required: bool = True) -> Path:
    """The folder that holds the course: lessons/ (sources and checks) and notebooks/.

    $DOCKERLEARN_COURSE if set; else the source checkout this package runs from (a clone, or an
    editable install); else the copy shipped inside the package (`pip install .`, see pyproject.toml).
    """
    env = os.environ.get("DOCKERLEARN_COURSE")
    candidates = [Path(env).expanduser().absolute()] if env else [PACKAGE_DIR.parent, PACKAGE_DIR / "data"]
    for folder in candidates:
        if (folder / "lessons" / "FORMAT.md").is_file():
            return folder
    if not required:
        return candidates[0]
    from .errors import EnvironmentProblem
    where = f"DOCKERLEARN_COURSE={env}" if env else f"{PACKAGE_DIR.parent} 和 {PACKAGE_DIR / 'data'}"
    raise EnvironmentProblem(f"找不到课程文件：{where} 里没有 lessons/FORMAT.md", term="course files not found",
                             hint="把环境变量 DOCKERLEARN_COURSE 设为含有 lessons/ 和 notebooks/ 的目录"
                                  "（例如 dockerlearn 仓库的克隆），或者重新安装：pip install dockerlearn 会带上课程文件。")


def progress_dir() -> Path:
    """Progress outlives `reset` and `destroy`: it is the learner's, not the sandbox's."""
    return home() / "progress"


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise BadName(
            f"沙箱名称 {name!r} 不合法",
            term="invalid sandbox name",
            hint="名称只能包含小写字母、数字、- 和 _，以字母或数字开头，最长 32 个字符，例如 student01。",
        )
    return name


def unusable_home(err: OSError):
    """DOCKERLEARN_HOME (or the default home) cannot hold a sandbox: say which and why."""
    from .errors import EnvironmentProblem
    reasons = {FileExistsError: "路径上有一个同名的文件", NotADirectoryError: "路径上有一个文件而不是目录",
               PermissionError: "没有写入权限（只读或属于别人）"}
    reason = reasons.get(type(err), err.strerror or str(err))
    if getattr(err, "errno", None) == 28:
        reason = "磁盘已满 (no space left on device)"
    return EnvironmentProblem(f"无法在 {home()} 下创建沙箱目录：{reason}", term="dockerlearn home not usable",
                              hint="把环境变量 DOCKERLEARN_HOME 设成一个自己可写的目录，或者清理磁盘后再试。")


@dataclass(frozen=True)
class SandboxPaths:
    name: str
    root: Path

    @classmethod
    def for_name(cls, name: str) -> "SandboxPaths":
        check_name(name)
        return cls(name, home() / "sandboxes" / name)

    # --- daemon ---
    @property
    def data_root(self) -> Path:
        return self.root / "data"

    @property
    def exec_root(self) -> Path:
        # containerd's socket sits deep under the exec-root, so keep it short:
        # /run/dockerlearn/<12 hex> is unique per state directory.
        digest = hashlib.sha1(str(self.root).encode()).hexdigest()[:12]
        if os.geteuid() != 0:  # an ordinary user cannot write /run; /tmp/dockerlearn-<uid> is theirs (0700)
            return Path(f"/tmp/dockerlearn-{os.geteuid()}") / digest
        base = Path("/run/dockerlearn") if os.path.isdir("/run") else Path("/tmp/dockerlearn")
        return base / digest

    @property
    def rootlesskit_dir(self) -> Path:
        """rootlesskit's state (its child's pid, its API socket), for a rootless daemon: beside
        the exec-root, where a socket path stays short."""
        return self.exec_root.parent / (self.exec_root.name + ".rk")

    @property
    def socket(self) -> Path:
        return self.root / "docker.sock"

    @property
    def bin_dir(self) -> Path:
        """Put first on PATH: the sandbox's matched docker CLI and the dockerlearn command."""
        return self.root / "bin"

    @property
    def pidfile(self) -> Path:
        return self.root / "dockerd.pid"

    @property
    def daemon_json(self) -> Path:
        return self.root / "daemon.json"

    @property
    def dockerd_log(self) -> Path:
        return self.root / "dockerd.log"

    @property
    def docker_config(self) -> Path:
        """The learner's DOCKER_CONFIG: `docker login` writes here, never ~/.docker."""
        return self.root / "docker-config"

    # --- registry and gateway ---
    @property
    def registry_dir(self) -> Path:
        return self.root / "registry"

    @property
    def registry_storage(self) -> Path:
        return self.registry_dir / "storage"

    @property
    def state_file(self) -> Path:
        return self.root / "sandbox.json"

    @property
    def answers_file(self) -> Path:
        """Values the learner gave back with answer() (dockerlearn/answers.py)."""
        return self.root / "answers.json"

    @property
    def searches_file(self) -> Path:
        """The searches the gateway answered since the last reset, one JSON line each (dockerlearn/gateway.py)."""
        return self.root / "searches.jsonl"

    @property
    def lock_file(self) -> Path:
        return self.root / ".lock"

    def ensure(self) -> None:
        try:
            for d in (self.root, self.data_root, self.docker_config, self.registry_storage):
                d.mkdir(parents=True, exist_ok=True)
            # The state (passwords), the registry and the socket are this user's alone.
            os.chmod(self.root, 0o700)
            os.chmod(self.root.parent, 0o700)
        except OSError as e:
            raise unusable_home(e) from None
        if len(os.fsencode(str(self.socket))) > SOCKET_MAX:  # the limit is in bytes, not characters
            raise BadName(
                f"沙箱目录太深，套接字路径超过 108 字节：{self.socket}",
                term="unix socket path too long",
                hint="把 DOCKERLEARN_HOME 设到一个更短的目录，例如 /var/tmp/dl。",
            )
