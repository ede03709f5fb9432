"""`%load_ext dockerlearn`: attach the notebook to the sandbox, and the %docker / %%docker magics.

The kernel's own environment is pinned to the sandbox too, so `!docker ...`, `%%bash` and
subprocesses never reach the user's Docker. Output streams live; a failing command shows
docker's own error and its exit code, never a Python traceback.
"""
from __future__ import annotations

import os
import shlex
import subprocess
import sys
from typing import Optional

from ..errors import as_error

# Options that make docker wait for a terminal or keyboard. Interactive containers belong
# in the JupyterLab terminal, which has the sandbox environment as well.
INTERACTIVE = {"-i", "-t", "-it", "-ti", "--interactive", "--tty", "-a", "--attach"}
TAKES_STDIN = {"run", "exec", "create", "start", "attach"}

_sandbox = None
DOWN_HOST = "unix:///nonexistent/dockerlearn-sandbox-is-not-running.sock"


def explain_interactive(args: list[str]) -> Optional[str]:
    """A Chinese explanation if this command needs a terminal, else None."""
    if not args:
        return None
    start = 1 if args[0] != "container" or len(args) < 2 else 2
    sub = args[start - 1]
    if sub not in TAKES_STDIN:
        return None
    flags = []
    for a in args[start:]:
        if not a.startswith("-"):
            break  # options stop at the image or container name
        short = a[1:] if a.startswith("-") and not a.startswith("--") else ""
        if a in INTERACTIVE or (short and set(short) <= set("aitdP") and ("i" in short or "t" in short)):
            flags.append(a)
    if sub == "attach":
        flags.append("attach")
    if not flags:
        return None
    return ("这条命令需要一个交互式终端（interactive terminal，" + " ".join(flags) + "），"
            "在 notebook 单元格里它会一直等待输入。\n"
            "请在 JupyterLab 里打开 终端 (File → New → Terminal)，那里的 docker 同样指向沙箱，"
            f"然后输入：\n    docker {' '.join(shlex.quote(a) for a in args)}\n"
            "在 notebook 里可以去掉 -it，直接给出要运行的命令，例如：docker run --rm busybox ls /")


def run_docker(args: list[str], env: dict, cwd: str, stream=None) -> int:
    """Run the real docker CLI, stream its merged output as it comes, return the exit code."""
    stream = stream or sys.stdout
    from ..sandbox.lifecycle import docker_cli
    try:
        proc = subprocess.Popen([docker_cli(), *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, env=env, cwd=cwd)
    except OSError as e:
        stream.write(f"无法运行 docker：{e}\n")
        return 127
    assert proc.stdout
    gateway_down = False
    try:
        # Lines as they come, so pull and build progress appear live.
        for raw in iter(proc.stdout.readline, b""):
            line = raw.decode("utf-8", "replace")
            stream.write(line)
            stream.flush()
            gateway_down = gateway_down or ("proxyconnect tcp" in line and "connection refused" in line)
    except KeyboardInterrupt:
        proc.terminate()
        stream.write("\n已中断 (interrupted)。\n")
    code = proc.wait()
    if code:
        stream.write(f"（命令失败，退出码 exit code {code}）\n")
    if gateway_down:  # dockerd's own words for a stopped gateway (its proxy and mirror)
        stream.write("沙箱的网关停止了 (gateway stopped)：守护进程连不上它的加速器。"
                     "在终端里运行 dockerlearn up（或重新运行本课第一个单元格）重新启动它，镜像和数据都还在。\n")
    return code


def split_command(line: str) -> list[str]:
    args = shlex.split(line, comments=True)
    if args and args[0] == "docker":
        args = args[1:]
    return args


def attach(name: Optional[str] = None):
    """Start or reuse the sandbox and pin this process (the kernel) to it."""
    global _sandbox
    from ..sandbox.lifecycle import Sandbox
    sb = Sandbox(name or os.environ.get("DOCKERLEARN_NAME") or "default", quiet=True)
    sb.up()
    os.environ.update(sb.full_env())
    for var in sb.UNPINNED:
        os.environ.pop(var, None)
    os.chdir(sb.work_dir)
    _sandbox = sb
    return sb


def sandbox():
    return _sandbox if _sandbox is not None else attach()


def _wrap_bash(ipython) -> None:
    """%%bash as IPython has it (live output, stderr apart), but a failing script ends like a
    failing %docker: its own error, then the exit code in Chinese, no Python traceback."""
    from subprocess import CalledProcessError
    original = ipython.find_cell_magic("bash")  # IPython registers its script magics lazily
    magics = ipython.magics_manager.magics["cell"]
    if original is None or getattr(original, "dockerlearn", False):
        return

    def bash(line, cell):
        try:
            return original(line, cell)
        except CalledProcessError as e:
            code = e.returncode
            why = "，被信号终止 (killed by signal)" if code < 0 else ""
            print(f"（命令失败，退出码 exit code {code}{why}）")
    bash.dockerlearn = True
    bash.__doc__ = original.__doc__
    magics["bash"] = bash


def load(ipython, quiet: bool = False) -> None:
    """The magics, check(), answer(), lesson_progress() and show_layers(), and the sandbox. quiet: the kernel's own startup
    (see lab.py), where nothing is shown; the notebook's `%load_ext dockerlearn` runs this again
    and prints the usual line."""
    from IPython.core.magic import no_var_expand, register_cell_magic, register_line_magic

    from .. import answer, check, course_progress, lesson_progress, show_layers, start_lesson
    ipython.push({"check": check, "answer": answer, "lesson_progress": lesson_progress, "start_lesson": start_lesson,
                  "course_progress": course_progress, "show_layers": show_layers})

    def _connect(loud: bool = True) -> bool:
        try:
            sb = attach()
        except Exception as e:
            error = as_error(e, os.environ.get("DOCKERLEARN_NAME") or "default")
            if error is None:
                raise
            # Never fall back to the user's own daemon: until the sandbox runs, docker finds nothing.
            os.environ["DOCKER_HOST"] = DOWN_HOST
            if loud:
                print(error.render(), file=sys.stderr)
            return False
        ipython.push({"REGISTRY": sb.env()["REGISTRY"], "MIRROR": sb.env()["MIRROR"]})
        return True

    if _connect(loud=not quiet) and not quiet:
        # Only stable facts here: nbval compares this output on every run.
        print("已连接 dockerlearn 沙箱：docker 命令都在这个独立的守护进程里执行，不会碰到你自己的 Docker。")

    def _run_lines(lines: list[str]) -> None:
        if _sandbox is None and not _connect():
            return
        env = dict(os.environ)
        for line in lines:
            try:
                args = split_command(line)
            except ValueError as e:
                print(f"命令格式有误 (syntax error)：{e}")
                return
            if not args:
                continue
            reason = explain_interactive(args)
            if reason:
                print(reason)
                return
            if len(lines) > 1:
                print(f"$ docker {' '.join(shlex.quote(a) for a in args)}")
            if run_docker(args, env, os.getcwd()) != 0:
                if _sandbox is not None and not _sandbox.dockerd_ready():
                    # docker's own "Cannot connect to the Docker daemon" says nothing about what helps.
                    from ..errors import SandboxDown
                    print(SandboxDown(_sandbox.name).render())
                return  # like `set -e`: later lines usually depend on this one

    _wrap_bash(ipython)

    # IPython's own expansion would eat the braces of Go templates ({{.ID}}): expand $VAR only.
    @register_line_magic("docker")
    @no_var_expand
    def docker_line(line):
        """%docker ARGS: run one docker command in the sandbox."""
        _run_lines([os.path.expandvars(line)])

    @register_cell_magic("docker")
    @no_var_expand
    def docker_cell(line, cell):
        """%%docker: one docker command per line; stops at the first failure."""
        lines = [os.path.expandvars(l) for l in ([line] if line.strip() else []) + cell.splitlines()]
        _run_lines(lines)
