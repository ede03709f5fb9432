"""Known states: a lesson's first cell brings the sandbox to the state the lesson needs, and an
exercise's 准备 button brings it to the state that exercise needs.

A lesson declares its state in its front matter (lessons/FORMAT.md):

    state: fresh      # default: a fast reset (dockerlearn reset), then `prepare`
    state: keep       # nothing is reset: the lesson works on whatever is there
    prepare: |        # optional bash, run in the sandbox after the reset
      docker pull -q busybox:latest >/dev/null

The reset never touches the learner's work directory or progress (Sandbox.reset keeps both).
"""
from __future__ import annotations

import subprocess
import sys

STATES = ("fresh", "keep")


def lesson_state(lesson) -> str:
    state = str(lesson.meta.get("state") or "fresh")
    return state


def find_lesson(name: str):
    """A lesson by its slug (02-tag) or its id (tag)."""
    from ..errors import DockerlearnError
    from ..course.lessonfile import load_all
    lessons = load_all()
    for lesson in lessons:
        if name in (lesson.slug, lesson.id):
            return lesson
    raise DockerlearnError(f"没有这一课：{name}", term="unknown lesson",
                           hint="写 lessons/ 里的文件名（如 02-tag）或课的 id（如 tag）。")


def run_bash(sandbox, script: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """A preparation script, run like a learner's %%bash: in the sandbox's environment and work dir.
    Stops at the first failing command."""
    return subprocess.run(["bash", "-eo", "pipefail", "-c", script], env=sandbox.full_env(), cwd=sandbox.work_dir,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)


def _script_failed(what: str, proc: subprocess.CompletedProcess):
    from ..errors import CommandFailed
    tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-10:])
    return CommandFailed(f"{what}没有完成（退出码 exit code {proc.returncode}）", term="preparation failed",
                         hint="运行 dockerlearn status 看看沙箱是否正常，然后再试一次。", log=tail)


def reset_line(lesson) -> str:
    return ("沙箱已回到本课的起点（reset）：镜像、容器和登录都清空了，你的工作目录和练习进度都还在；"
            f"想保留之前的镜像，把这一行改成 start_lesson(\"{lesson.slug}\", reset=False) 再运行。")


def start_lesson(name: str, reset: bool = True, sandbox=None) -> None:
    """The lesson's first cell: reset the sandbox (unless the lesson says `state: keep`, or
    reset=False), then run the lesson's `prepare`. Prints one Chinese line; never a traceback."""
    from ..errors import as_error
    try:
        lesson = find_lesson(name)
        state = lesson_state(lesson)
        if sandbox is None:
            from .magics import sandbox as current
            sandbox = current()
        if state == "fresh" and reset:
            sandbox.reset()  # keeps the work directory and progress
            print(reset_line(lesson))
        elif state == "fresh":
            print("沙箱没有重置（reset=False）：之前的镜像和容器都还在，本课的输出可能和课文里的不一样。")
        prepare = str(lesson.meta.get("prepare") or "").strip()
        if prepare:
            proc = run_bash(sandbox, prepare)
            if proc.returncode:
                raise _script_failed(f"第 {lesson.slug} 课的准备（prepare）", proc)
    except Exception as e:
        error = as_error(e, getattr(sandbox, "name", None) or "default")
        if error is None:
            raise
        print(error.render(), file=sys.stderr)


def prepare_exercise(ex, sandbox) -> str:
    """Run one exercise's `setup` (the 准备 button). Returns a Chinese line; raises a
    DockerlearnError when the script fails."""
    if not ex.setup:
        return "这个练习不需要准备。"
    proc = run_bash(sandbox, ex.setup)
    if proc.returncode:
        raise _script_failed(f"练习 {ex.id} 的准备（setup）", proc)
    return "准备好了：这个练习需要的镜像和文件都在沙箱里了，现在在上面的空单元格里作答。"
