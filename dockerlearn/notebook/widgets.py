"""The notebook side of exercises: a 检查 panel per exercise, a progress bar per lesson.

Widgets carry a fixed plain-text form, so the saved notebook (and nbval) sees the same
text whatever the learner's progress is.
"""
from __future__ import annotations

import html
import re
import sys

from ..errors import DockerlearnError, as_error

_bars: dict[str, list] = {}


def _widgets():
    import ipywidgets
    return ipywidgets


def _paragraphs(text: str) -> str:
    return "<br>".join(html.escape(line) for line in text.strip().splitlines())


def _commands(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def teaching_hints(ex) -> list[str]:
    """The hints that teach: a hint that already holds every command of the reference answer is
    the answer itself, and 显示答案 is the button for that."""
    solution = _commands(ex.solution)
    return [h for h in ex.hints if not (solution and all(c in " ".join(h.split()) for c in solution))]


RERUN = "按 Shift+Enter 运行本单元"
NEEDS_PREPARE = "这个练习要从准备好的状态开始：点 准备（setup）准备好镜像和文件，再在上面的空单元格里作答。"
PASSED_BEFORE = ("你以前已经通过过这个练习，进度里记着它（进度条不会倒退）。"
                 "沙箱重置以后，做过的镜像和容器都没了：想再看到 ✅，就在沙箱里重新做一遍。")
PANEL_FALLBACK = ("练习 {id}（{title}）：这里是它的练习面板（检查、提示、显示答案）。"
                  f"看不到按钮（比如重新打开了 notebook），或者按钮没有反应？{RERUN}。")
# After a kernel restart, `dockerlearn lab`'s extension (labextension/) re-runs the panel cells.
AFTER_RESTART = ("重启内核之后，dockerlearn lab 会自动重新运行练习面板和进度条所在的单元格（只运行这些），换上新的面板。"
                 f"按钮还是没有反应（比如不是在 dockerlearn lab 里打开的 notebook）？{RERUN}。")
PROGRESS_FALLBACK = (f"本课练习进度（{{lesson}}，共 {{n}} 题）：看不到进度条？{RERUN}。"
                     "全部课程的进度：在终端里运行 dockerlearn progress。")


def guess_images(ex) -> str:
    """Up to two name:tag references from the prompt (not $REGISTRY ones): what 看看层 draws first."""
    found: list[str] = []
    for ref in re.findall(r"(?<![\w$/.:<-])[a-z0-9][a-z0-9._/-]*:[A-Za-z0-9_][\w.-]*(?![\w/>-])", ex.prompt):
        ref = ref.rstrip(".")
        if ref not in found and not re.match(r"\d+(\.\d+)*:", ref):  # an address like 127.0.0.1:5000
            found.append(ref)
    return " ".join(found[:2])


def _layers_row(w, ex):
    """看看层 (layers): a button that opens an image field and draws show_layers in the panel."""
    from .layerview import layers_html
    names = w.Text(value=guess_images(ex), placeholder="镜像名字，几个用空格分开，如 busybox:latest test:0.1")
    names.add_class("dockerlearn-layers-images")
    draw_btn = w.Button(description="画出来", icon="bars")
    picture = w.HTML(value="")
    row = w.VBox([w.HBox([names, draw_btn]), picture], layout=w.Layout(display="none"))
    button = w.Button(description="看看层 (layers)", icon="bars", tooltip="把镜像的层画出来 (show_layers)")

    def on_open(_):
        row.layout.display = None if row.layout.display == "none" else "none"
        if row.layout.display is None and names.value.strip():
            on_draw(None)

    def on_draw(_):
        from .magics import sandbox
        draw_btn.disabled = True
        try:
            try:
                sb = sandbox()
            except Exception:
                sb = None  # layers_html reports why
            picture.value = layers_html(names.value.split(), sb) if sb is not None else layers_html([], None)
        finally:
            draw_btn.disabled = False

    button.on_click(on_open)
    draw_btn.on_click(on_draw)
    return button, row


def _fallback(widget, text: str, kwargs) -> dict:
    """The widget's view plus a readable text: a saved notebook keeps only the text (see lab.py),
    so a notebook opened without its kernel shows it instead of "model not found"."""
    data = super(type(widget), widget)._repr_mimebundle_(**kwargs)
    data["text/plain"] = text
    data["text/html"] = f"<div class='dockerlearn-fallback' style='color:#57606a'>{html.escape(text)}</div>"
    return data


def _learner_or_default() -> str:
    """The learner's sandbox name, without starting anything (a progress bar only reads the DB)."""
    import os
    from . import magics
    if magics._sandbox is not None:
        return magics._sandbox.name
    return os.environ.get("DOCKERLEARN_NAME") or "default"


def _report(e: BaseException) -> None:
    """A known failure as its Chinese message (no traceback in the notebook); a real bug re-raised."""
    error = as_error(e, _learner_or_default())
    if error is None:
        raise e
    print(error.render(), file=sys.stderr)


def passed_before(exercise_id: str) -> bool:
    """Whether the learner's progress holds a pass of this exercise (a ❌ now, after a reset, sits
    beside a full progress bar: say why)."""
    from ..learner_progress import ProgressDB, ProgressUnavailable
    try:
        return ProgressDB.for_sandbox(_learner_or_default()).passed([exercise_id]) > 0
    except ProgressUnavailable:
        return False


def panel(exercise_id: str):
    """Show the exercise's panel; bad ids print a Chinese message instead of a traceback."""
    from ..checks import get_exercise
    try:
        ex = get_exercise(exercise_id)
    except Exception as e:
        _report(e)
        return None
    w = _widgets()

    hints = teaching_hints(ex)
    fallback = PANEL_FALLBACK.format(id=ex.id, title=ex.title)

    class CheckPanel(w.VBox):
        def __repr__(self):
            return fallback

        def _repr_mimebundle_(self, **kwargs):
            return _fallback(self, fallback, kwargs)

    verdict = w.HTML(value="")
    hint_box = w.HTML(value="")
    answer_box = w.HTML(value="")
    check_btn = w.Button(description="检查", button_style="primary", icon="check")
    hint_btn = w.Button(description=f"提示 (0/{len(hints)})", icon="lightbulb-o")
    answer_btn = w.Button(description="显示答案", icon="eye")
    shown = {"hints": 0, "prepared": False}
    # An exercise's preparation is its own: the 准备 button, never a cell that Run All runs.
    prepare_btn = w.Button(description="准备", icon="wrench", tooltip="准备这个练习需要的镜像和文件 (setup)")

    def show_error(e: Exception) -> None:
        """A known failure in the verdict area, in Chinese; a real bug re-raised."""
        error = as_error(e, _learner_or_default())
        if error is None:
            raise e
        verdict.value = f"<div style='color:#cf222e'>{_paragraphs(error.render())}</div>"

    def on_prepare(_):
        from .lessonstart import prepare_exercise
        from .magics import sandbox
        prepare_btn.disabled = True
        verdict.value = "<i>正在准备…</i>"
        try:
            verdict.value = f"<div class='dockerlearn-prepared'>{_paragraphs(prepare_exercise(ex, sandbox()))}</div>"
            shown["prepared"] = True
        except Exception as e:
            show_error(e)
        finally:
            prepare_btn.disabled = False

    def on_check(_):
        from ..checks import run_check
        from .magics import sandbox
        check_btn.disabled = True
        verdict.value = "<i>正在检查…</i>"
        try:
            result = run_check(ex.id, sandbox())
            verdict.value = result._repr_html_()
            if not result.ok and ex.setup and not shown["prepared"]:
                verdict.value += (f"<div class='dockerlearn-prepare-first' style='color:#57606a'>{NEEDS_PREPARE}</div>")
            if not result.ok and passed_before(ex.id):
                verdict.value += f"<div class='dockerlearn-passed-before' style='color:#57606a'>{PASSED_BEFORE}</div>"
        except Exception as e:
            show_error(e)
        finally:
            check_btn.disabled = False
        refresh(ex.lesson_id)

    def on_hint(_):
        more = shown["hints"] < len(hints)
        if more:
            shown["hints"] += 1
        hint_btn.description = f"提示 ({shown['hints']}/{len(hints)})"
        items = "".join(f"<li>{_paragraphs(h)}</li>" for h in hints[:shown["hints"]])
        end = "" if more else ("<div class='dockerlearn-no-more-hints' style='color:#57606a'>"
                               "没有更多提示了。还是做不出来？点 显示答案 看参考答案。</div>")
        hint_box.value = f"<ol class='dockerlearn-hints'>{items}</ol>{end}"

    def on_answer(_):
        answer_box.value = ("<div><b>参考答案</b>（任何能达到同样状态的做法都算对）：</div>"
                            f"<pre class='dockerlearn-solution'>{html.escape(ex.solution)}</pre>")

    prepare_btn.on_click(on_prepare)
    check_btn.on_click(on_check)
    hint_btn.on_click(on_hint)
    answer_btn.on_click(on_answer)
    head = w.HTML(value=f"<div class='dockerlearn-exercise'><b>练习 {html.escape(ex.id)}</b>：{html.escape(ex.title)}"
                        f"<div>{_paragraphs(ex.prompt)}</div></div>")
    foot = w.HTML(value="<div class='dockerlearn-rerun' style='color:#57606a;font-size:85%'>"
                        f"{AFTER_RESTART}</div>")
    layers_btn, layers_row = _layers_row(w, ex)
    buttons = [check_btn, hint_btn, answer_btn, layers_btn] + ([prepare_btn] if ex.setup else [])
    box = CheckPanel([head, w.HBox(buttons), verdict, hint_box, answer_box, layers_row, foot])
    box.add_class("dockerlearn-panel")
    return box


def lesson_progress(lesson_id: str):
    """A progress bar for one lesson's exercises, updated when a check passes."""
    from ..checks import exercises
    try:
        ids = [e for e, ex in exercises().items() if ex.lesson_id == lesson_id]
    except Exception as e:
        _report(e)
        return None
    w = _widgets()

    fallback = PROGRESS_FALLBACK.format(lesson=lesson_id, n=len(ids))

    class ProgressBar(w.HBox):
        def __repr__(self):
            return fallback

        def _repr_mimebundle_(self, **kwargs):
            return _fallback(self, fallback, kwargs)

    bar = w.IntProgress(value=0, min=0, max=max(1, len(ids)), bar_style="success")
    label = w.Label(value="")
    box = ProgressBar([w.Label(value="本课进度"), bar, label])
    _bars.setdefault(lesson_id, []).append((bar, label, ids))
    refresh(lesson_id)
    return box


def refresh(lesson_id: str) -> None:
    from ..learner_progress import ProgressDB
    for bar, label, ids in _bars.get(lesson_id, []):
        try:
            done = ProgressDB.for_sandbox(_learner_or_default()).passed(ids)
        except DockerlearnError:
            done = 0
        bar.value = done
        label.value = f"{done}/{len(ids)} 个练习已完成"
