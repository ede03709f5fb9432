"""One tree of errors, each carrying a Chinese message, the English term and a hint.

The command line and the notebook print these without a traceback: they are
the learner's feedback, not a bug report.
"""
from __future__ import annotations


class DockerlearnError(Exception):
    """Base of every error dockerlearn raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, term: str = "", hint: str = "", log: str = ""):
        super().__init__(message)
        self.message = message
        self.term = term
        self.hint = hint
        self.log = log

    def render(self) -> str:
        head = f"错误：{self.message}"
        if self.term:
            head += f"（{self.term}）"
        parts = [head]
        if self.hint:
            parts.append(f"提示：{self.hint}")
        if self.log:
            parts.append("最近的日志：\n" + self.log.rstrip())
        return "\n".join(parts)

    def __str__(self) -> str:
        return self.render()


class BadName(DockerlearnError):
    """A sandbox name that could escape its directory or break a path."""


class EnvironmentProblem(DockerlearnError):
    """The machine lacks something: root, a package, a kernel feature."""

    exit_code = 3


class MissingPackage(EnvironmentProblem):
    def __init__(self, program: str, package: str):
        super().__init__(
            f"找不到程序 {program}",
            term="missing program",
            hint=f"请先安装 Debian 软件包 {package}：sudo apt-get install {package}"
                 "（或运行 bash scripts/setup，它会装好所有依赖）",
        )
        self.program = program
        self.package = package


class NotRoot(EnvironmentProblem):
    pass


class StartFailed(DockerlearnError):
    """A service did not become ready; carries the tail of its log."""

    exit_code = 4


class SandboxDown(DockerlearnError):
    """An action needs the sandbox daemon, and it is not running."""

    exit_code = 5

    def __init__(self, name: str, detail: str = ""):
        cmd = "dockerlearn up" + ("" if name == "default" else f" --name {name}")
        super().__init__(
            f"沙箱 {name} 没有在运行" + (f"：{detail}" if detail else ""),
            term="sandbox is down",
            hint=f"先运行 {cmd} 启动沙箱（在 notebook 里运行 %reload_ext dockerlearn 也可以）。",
        )


class SeedFailed(DockerlearnError):
    pass


class UnknownExercise(DockerlearnError):
    exit_code = 2


class RegistryError(DockerlearnError):
    """The local registry answered with an error."""


class DockerError(DockerlearnError):
    """The sandbox's daemon refused a request that dockerlearn made (not the learner's command)."""


class CommandFailed(DockerlearnError):
    """A program dockerlearn ran (docker, mmdebstrap, …) exited with an error."""


class LessonFormatError(DockerlearnError, ValueError):
    """A lesson source (lessons/NN-slug.md) does not follow lessons/FORMAT.md: a course bug."""

    def __init__(self, detail: str):
        super().__init__(f"课程源文件格式有误：{detail}", term="lesson format error",
                         hint="这是课程的缺陷：对照 lessons/FORMAT.md 修改这一处，或者告诉老师、维护者。")
        self.detail = detail


# ---------------------------------------------------------------- the one error boundary
# Every exception from docker-py, requests, subprocess or the OS is classified here, and
# only here: the CLI, the notebook and the checks all render what `as_error` returns.

def docker_error_kind(e: BaseException) -> str:
    """What a docker-py/requests error means to us:

    "missing"     no such image or container, or a reference docker cannot parse
                  (404, 400, or the 500 "unrecognized image" of an image removed meanwhile);
    "conflict"    the object is in use (409, e.g. an image a container still needs);
    "unreachable" the daemon does not answer (its socket is gone or refuses connections);
    ""            anything else.
    """
    import docker.errors
    import requests.exceptions
    if isinstance(e, requests.exceptions.ConnectionError):
        return "unreachable"
    if isinstance(e, docker.errors.APIError):
        text = str(e)
        if e.status_code in (400, 404) or "unrecognized image" in text or "No such image" in text:
            return "missing"
        if e.status_code == 409:
            return "conflict"
        return ""
    if isinstance(e, docker.errors.DockerException) and "Connection" in str(e):
        return "unreachable"  # docker.from_env()/version="auto" wrap the refused connection
    return ""


def as_error(e: BaseException, sandbox: str = "default") -> "DockerlearnError | None":
    """The DockerlearnError that tells the user what went wrong, or None for a real bug.

    `sandbox` names the sandbox the failed action was for, so a dead daemon says how to start it."""
    import subprocess
    if isinstance(e, DockerlearnError):
        return e
    if isinstance(e, SystemExit) and isinstance(e.code, str):
        return DockerlearnError(e.code, term="error")
    if isinstance(e, subprocess.CalledProcessError):
        cmd = e.cmd if isinstance(e.cmd, str) else " ".join(str(a) for a in e.cmd)
        out = e.stderr or e.output or ""
        if isinstance(out, bytes):
            out = out.decode("utf-8", "replace")
        tail = "\n".join(out.strip().splitlines()[-10:])
        return CommandFailed(f"命令执行失败（退出码 {e.returncode}）：{cmd[:200]}", term="command failed",
                             hint="下面是它最后的输出；运行 dockerlearn status 看看沙箱是否正常。" if tail
                             else "运行 dockerlearn status 看看沙箱是否正常。", log=tail)
    if isinstance(e, subprocess.TimeoutExpired):
        return CommandFailed(f"命令超时（{e.timeout:g} 秒）：{e.cmd if isinstance(e.cmd, str) else ' '.join(map(str, e.cmd))}",
                             term="command timed out", hint="机器可能太忙了；稍后再试。")
    if (type(e).__module__ or "").split(".")[0] in ("docker", "requests", "urllib3"):
        kind = docker_error_kind(e)
        if kind == "unreachable":
            return SandboxDown(sandbox, "守护进程没有响应")
        explanation = getattr(e, "explanation", None) or str(e)
        if isinstance(explanation, bytes):
            explanation = explanation.decode("utf-8", "replace")
        status = getattr(e, "status_code", None)
        return DockerError(f"沙箱的 Docker 守护进程拒绝了请求：{str(explanation)[:300]}",
                           term=f"docker API error {status}" if status else "docker error",
                           hint="运行 dockerlearn status 看看沙箱是否正常；还不行就 dockerlearn reset。")
    if isinstance(e, OSError):
        # A system error (full disk, a file where a folder should be) in plain words.
        what = "磁盘已满" if e.errno == 28 else (e.strerror or str(e))
        # A copy that ran out of space names its source first and the file it was writing second.
        target = e.filename2 if e.errno == 28 and getattr(e, "filename2", None) else e.filename
        where = f"：{target}" if target else ""
        return DockerlearnError(f"{what}{where}", term=f"OS error: {e.strerror or e}",
                                hint="检查磁盘空间和目录权限后再试；沙箱的镜像和学习进度都还在。")
    return None
