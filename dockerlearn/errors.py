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
