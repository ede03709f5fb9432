"""`dockerlearn build`: lessons/*.md → notebooks/*.ipynb, executed in a fresh sandbox.

render() is pure and deterministic: the staleness test compares its cells with the committed
notebooks, so a lesson edited without a rebuild fails CI.
What runs (code cells, exercises, the checks file, the lesson's state) has its own hash: an edit
of prose only re-renders a notebook and keeps its recorded outputs; anything else re-executes it.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import time
from pathlib import Path
from typing import Optional

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from ..errors import DockerlearnError
from .lessonfile import REPO_ROOT, Lesson, Part, load_all

NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
OPTIONS_RE = re.compile(r"^\{\{options ([a-z0-9-]+)\}\}$", re.M)
# For the learner: what to do first. Where the notebook comes from is for maintainers, and
# lives in the notebook's metadata ("dockerlearn": {"source": ...}), not on the page.
NOTICE = ("> 先运行下面的第一个单元格（Shift+Enter）：它连接你自己的沙箱，"
          "并把沙箱恢复到本课开始时的状态（你的工作目录和学习进度不受影响）。\n"
          "> 每个 `%docker`、`%%bash` 单元格都是真实的 docker 命令；练习面板里的 **检查** 会读取沙箱的真实状态。")
IGNORE_OUTPUT = "nbval-ignore-output"
# The cells that only show an exercise panel or the progress bar: after a kernel restart the
# dockerlearn-panels lab extension (labextension/) re-runs exactly these, and no other cell.
PANEL_TAG = "dockerlearn-panel"


def notebook_path(lesson: Lesson) -> Path:
    return NOTEBOOKS_DIR / f"{lesson.slug}.ipynb"


CODE_RE = re.compile(r"(```.*?```|`[^`\n]*`)", re.S)


def _markdown(text: str) -> str:
    from .option_tables import load, render_markdown
    text = OPTIONS_RE.sub(lambda m: render_markdown(load(m.group(1))).strip(), text)
    return escape_dollars(text)


# JupyterLab 4 typesets any two dollars in one text run as LaTeX after the markdown is rendered:
# neither \\$ nor &#36; stops it (both become a plain $ in the page, which MathJax then reads).
# MathJax pairs delimiters only within one text node, so a dollar alone in its own element stays a
# dollar. Code spans and blocks are never typeset.
DOLLAR = "<span>&#36;</span>"


def escape_dollars(text: str) -> str:
    """Markdown whose dollars outside code render as dollars, never as LaTeX."""
    parts = CODE_RE.split(text)
    return "".join(p if i % 2 else p.replace("$", DOLLAR) for i, p in enumerate(parts))


# Plain text → markdown that renders exactly as written: markdown's own punctuation escaped,
# < and > (which would start an HTML tag and vanish) and & as entities, $ and \\ alone in a span
# (a backslash would otherwise start \\( math or an escape).
_LITERAL = {"$": DOLLAR, "\\": "<span>&#92;</span>", "&": "&amp;", "<": "&lt;", ">": "&gt;",
            **{c: "\\" + c for c in "`*_[]#|~"}}
_LINE_START_RE = re.compile(r"^([-+=]|\d+(?=[.)]))")  # a list item, a heading underline


def literal_markdown(text: str) -> str:
    """Plain text (an exercise's prompt or title) as markdown that JupyterLab renders as written,
    line for line."""
    lines = []
    for line in text.splitlines():
        line = "".join(_LITERAL.get(c, c) for c in line)
        line = _LINE_START_RE.sub(lambda m: m.group(1) + "\\" if m.group(1)[0].isdigit() else "\\" + m.group(1), line)
        lines.append(line)
    return "  \n".join(lines)  # two spaces: a line break


def _code(source: str, flags: set[str]) -> nbformat.NotebookNode:
    cell = new_code_cell(source)
    if "ignore-output" in flags:
        cell.metadata["tags"] = [IGNORE_OUTPUT]
    return cell


def _panel_cell(source: str) -> nbformat.NotebookNode:
    cell = new_code_cell(source)
    cell.metadata["tags"] = [PANEL_TAG]
    return cell


def _docker_source(text: str) -> str:
    lines = [l for l in text.strip().splitlines() if l.strip()]
    lines = [l[len("docker "):] if l.startswith("docker ") else l for l in lines]
    if len(lines) == 1:
        return f"%docker {lines[0]}"
    return "%%docker\n" + "\n".join(lines)


def _cells_for(part: Part) -> list:
    if part.kind == "markdown":
        return [new_markdown_cell(_markdown(part.text))]
    if part.kind == "docker":
        return [_code(_docker_source(part.text), part.flags)]
    if part.kind == "bash":
        return [_code("%%bash\n" + part.text.strip("\n"), part.flags)]
    if part.kind == "file":
        return [_code(f"%%writefile {part.arg}\n" + part.text.strip("\n"), part.flags)]
    if part.kind == "python":
        return [_code(part.text.strip("\n"), part.flags)]
    if part.kind == "exercise":
        ex = part.exercise
        assert ex
        answer = new_code_cell("")
        answer.metadata["tags"] = ["answer"]
        how = (f'用 `%docker ...` 查出来，再在下面的空单元格里运行 `answer("{ex.id}", "查到的值")` 交回：'
               "交回时立即检查，**检查** 按钮看的也是你最后交回的值。"
               if gives_answer(ex) else "在下面的空单元格里用 `%docker ...`（或 `!docker ...`）完成它，然后点击 **检查**。")
        return [new_markdown_cell(f"### 练习 `{ex.id}`：{literal_markdown(ex.title)}\n\n"
                                  f"{literal_markdown(ex.prompt)}\n\n{how}"),
                answer, _panel_cell(f'check("{ex.id}")')]
    raise ValueError(part.kind)


def gives_answer(ex) -> bool:
    """An exercise whose result is a value the learner gives back (its solution uses dockerlearn answer)."""
    return "dockerlearn answer " in ex.solution


def first_cell(lesson: Lesson) -> str:
    """Load the extension and bring the sandbox to the lesson's starting state (lessonstart.py)."""
    if lesson.meta.get("state", "fresh") == "keep" and not lesson.meta.get("prepare"):
        return "%load_ext dockerlearn"
    return f'%load_ext dockerlearn\nstart_lesson("{lesson.slug}")'


def navigation(lesson: Lesson) -> str:
    """The last cell: links to the previous and the next lesson (notebooks sit side by side)."""
    lessons = load_all()
    ids = [l.id for l in lessons]
    i = ids.index(lesson.id) if lesson.id in ids else -1
    links = []
    if i > 0:
        prev = lessons[i - 1]
        links.append(f"← 上一课：[{prev.title}]({notebook_path(prev).name})")
    if 0 <= i < len(lessons) - 1:
        nxt = lessons[i + 1]
        links.append(f"下一课：[{nxt.title}]({notebook_path(nxt).name}) →")
    else:
        links.append("这是最后一课：运行 `course_progress()`（或在命令行运行 `dockerlearn progress`）看看你完成了哪些练习。")
    return "---\n\n" + "　｜　".join(links)


def render(lesson: Lesson) -> nbformat.NotebookNode:
    src = lesson.path.name
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata["dockerlearn"] = {"source": f"lessons/{src}", "lesson": lesson.id}
    cells = [new_markdown_cell(NOTICE), new_code_cell(first_cell(lesson)),
             _panel_cell(f'from dockerlearn import check, lesson_progress\nlesson_progress("{lesson.id}")')]
    for part in lesson.parts:
        cells += _cells_for(part)
    cells.append(new_markdown_cell(navigation(lesson)))
    for i, cell in enumerate(cells):
        cell["id"] = f"{lesson.id}-{i:03d}"  # stable ids keep diffs of notebooks/ small
    nb.cells = cells
    nb.metadata["dockerlearn"]["code_sha256"] = code_hash(lesson, nb)
    return nb


def code_hash(lesson: Lesson, nb) -> str:
    """What the recorded outputs depend on: every code cell with its tags, every exercise (its
    title shows in the panel's text, its setup runs), the lesson's checks and its starting state.
    Markdown prose is not in it: editing a sentence never calls for re-executing a notebook."""
    checks = lesson.path.with_suffix(".py")
    what = {
        "cells": [(c.source, c.metadata.get("tags", [])) for c in nb.cells if c.cell_type == "code"],
        "exercises": [{k: v for k, v in dataclasses.asdict(p.exercise).items() if k != "setup_cell"}
                      for p in lesson.parts if p.exercise],
        "checks": checks.read_text(encoding="utf-8") if checks.exists() else "",
        "meta": {k: lesson.meta.get(k) for k in ("state", "prepare")},
    }
    return hashlib.sha256(json.dumps(what, ensure_ascii=False, sort_keys=True, default=str).encode()).hexdigest()


def carry_outputs(fresh, committed) -> bool:
    """Give fresh (just rendered) the recorded outputs of committed when nothing that runs has
    changed; False when it has, and fresh must be executed."""
    key = fresh.metadata["dockerlearn"]["code_sha256"]
    if committed.metadata.get("dockerlearn", {}).get("code_sha256") != key or not has_outputs(committed):
        return False
    old = [c for c in committed.cells if c.cell_type == "code"]
    new = [c for c in fresh.cells if c.cell_type == "code"]
    if len(old) != len(new):
        return False
    for before, after in zip(old, new):
        after.outputs = before.get("outputs", [])
        after.execution_count = before.get("execution_count")
    if "language_info" in committed.metadata:  # what the kernel reported when it ran
        fresh.metadata["language_info"] = committed.metadata["language_info"]
    return True


def has_outputs(nb) -> bool:
    code = [c for c in nb.cells if c.cell_type == "code"]
    return bool(code) and bool(code[0].get("outputs"))  # the first cell (%load_ext) always prints


def cell_signature(nb) -> list[tuple]:
    """What must match between a lesson and its notebook: cell kinds, sources and tags."""
    return [(c.cell_type, c.source, tuple(c.get("metadata", {}).get("tags", []))) for c in nb.cells]


def stale(lesson: Lesson) -> Optional[str]:
    """Why the committed notebook is out of date with its lesson, or None."""
    path = notebook_path(lesson)
    if not path.exists():
        return f"{path.name} 不存在"
    committed = nbformat.read(path, as_version=4)
    fresh = render(lesson)
    if committed.metadata.get("dockerlearn", {}).get("code_sha256") != fresh.metadata["dockerlearn"]["code_sha256"]:
        return f"{path.name} 里运行的代码与 {lesson.path.name} 不一致：要重新执行（dockerlearn build --lesson {lesson.slug}）"
    if cell_signature(committed) != cell_signature(fresh) or committed.metadata.get("dockerlearn") != fresh.metadata["dockerlearn"]:
        return f"{path.name} 的文字与 {lesson.path.name} 不一致：要重新生成（dockerlearn build --lesson {lesson.slug}，不必执行）"
    if not has_outputs(committed):
        return f"{path.name} 没有保存执行结果（用 dockerlearn build 生成，不要加 --no-run）"
    return None


def execute(nb, sandbox, timeout: int = 600) -> None:
    """Run every cell in a real kernel attached to the sandbox, so the outputs are true ones."""
    from nbclient import NotebookClient
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=False, store_widget_state=False,
                            resources={"metadata": {"path": str(sandbox.work_dir)}})
    client.execute()
    for cell in nb.cells:
        cell.metadata.pop("execution", None)  # timings would churn the diff on every build
        if cell.cell_type == "code":
            cell.outputs = [scrub_output(o, sandbox) for o in coalesce_streams(cell.outputs)]
    # A notebook opens without its kernel: each panel shows its readable text, not "model not found".
    from ..lab import strip_notebook
    strip_notebook(nb)


ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# The 20.10 CLI's race when a container fails to start: printed or not, run by run.
CLI_WAIT_RACE_RE = re.compile(r'^time="[^"]*" level=error msg="error waiting for container: context canceled"\n', re.M)
# dockerd adds this to every `run` and build step when the host's net.ipv4.ip_forward is 0: it
# depends on the machine, not the lesson (lesson 03 explains it once).
IP_FORWARD_RE = re.compile(r"^(WARNING: | ---> \[Warning\] )IPv4 forwarding is disabled\. Networking will not work\.\n",
                           re.M)
# What a learner with the default sandbox sees, instead of the build machine's own state directory.
SHOWN_ROOT = "/home/learner/.local/state/dockerlearn/sandboxes/default"
# The build sandbox's registry password is random; saved notebooks show this one instead.
SHOWN_PASSWORD = "Ex4mple-Passw0rd"


def scrub(text: str, sandbox) -> str:
    """No colour codes, build-host paths or build-sandbox secrets in a saved output."""
    from base64 import b64encode
    text = CLI_WAIT_RACE_RE.sub("", IP_FORWARD_RE.sub("", ANSI_RE.sub("", text)))
    state = getattr(sandbox, "state", None)
    password = getattr(state, "student_password", "")
    if password:
        def basic(pw: str) -> str:
            return b64encode(f"student:{pw}".encode()).decode()
        text = text.replace(basic(password), basic(SHOWN_PASSWORD)).replace(password, SHOWN_PASSWORD)
    return text.replace(str(sandbox.paths.root), SHOWN_ROOT)


def scrub_output(out, sandbox):
    if out.get("output_type") == "stream":
        out["text"] = scrub(out["text"], sandbox)
    for mime, value in (out.get("data") or {}).items():
        if mime.startswith("text/") and isinstance(value, str):
            out["data"][mime] = scrub(value, sandbox)
    return out


def coalesce_streams(outputs: list) -> list:
    """Streamed output arrives line by line; store each run of one stream as one output."""
    merged: list = []
    for out in outputs:
        if (out.get("output_type") == "stream" and merged and merged[-1].get("output_type") == "stream"
                and merged[-1].get("name") == out.get("name")):
            merged[-1]["text"] += out["text"]
        else:
            merged.append(out)
    return merged


def build(sandbox, slugs: Optional[list[str]] = None, run: bool = True, log=print,
          rerun: bool = False) -> list[Path]:
    """Render the lessons (all, or those named); execute the ones whose code changed, or all of them
    with rerun (after a change to the sandbox itself). Prose-only edits keep the recorded outputs."""
    import os
    written = []
    lessons = load_all()
    if slugs:
        unknown = set(slugs) - {l.slug for l in lessons} - {l.id for l in lessons}
        if unknown:
            raise DockerlearnError(f"没有这些课：{', '.join(sorted(unknown))}", term="unknown lesson",
                                   hint="写 lessons/ 里的文件名（如 02-tag）或课的 id（如 tag）。")
        lessons = [l for l in lessons if l.slug in slugs or l.id in slugs]
    NOTEBOOKS_DIR.mkdir(exist_ok=True)
    started = False
    for lesson in lessons:
        t0 = time.monotonic()
        nb = render(lesson)
        path = notebook_path(lesson)
        kept = not rerun and path.exists() and carry_outputs(nb, nbformat.read(path, as_version=4))
        if run and not kept:
            if not started:
                sandbox.up()
                os.environ.update(sandbox.full_env())  # the kernels inherit it
                started = True
            sandbox.reset(clear_work=True)  # every lesson starts from a freshly seeded sandbox
            execute(nb, sandbox)
        nbformat.write(nb, path)
        written.append(path)
        how = "只重新生成文字，保留原有输出" if kept else ("已执行" if run else "未执行")
        log(f"{path.relative_to(REPO_ROOT)}  {how}（{time.monotonic() - t0:.1f} 秒）")
    return written
