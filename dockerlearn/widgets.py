"""The notebook side of exercises: a 检查 panel per exercise, a progress bar per lesson.

Widgets carry a fixed plain-text form, so the saved notebook (and nbval) sees the same
text whatever the learner's progress is.
"""
from __future__ import annotations

import html
import sys

from .errors import DockerlearnError, as_error

_bars: dict[str, list] = {}


def _widgets():
    import ipywidgets
    return ipywidgets


def _paragraphs(text: str) -> str:
    return "<br>".join(html.escape(line) for line in text.strip().splitlines())


def _learner() -> str:
    from .magics import sandbox
    return sandbox().name


def _learner_or_default() -> str:
    from . import magics
    return magics._sandbox.name if magics._sandbox is not None else "default"


def _report(e: BaseException) -> None:
    """A known failure as its Chinese message (no traceback in the notebook); a real bug re-raised."""
    error = as_error(e, _learner_or_default())
    if error is None:
        raise e
    print(error.render(), file=sys.stderr)


def panel(exercise_id: str):
    """Show the exercise's panel; bad ids print a Chinese message instead of a traceback."""
    from .checks import get_exercise
    try:
        ex = get_exercise(exercise_id)
    except Exception as e:
        _report(e)
        return None
    w = _widgets()

    class CheckPanel(w.VBox):
        def __repr__(self):
            return f"练习 {ex.id}（{ex.title}）：做完后点击 检查。"

    verdict = w.HTML(value="")
    hint_box = w.HTML(value="")
    answer_box = w.HTML(value="")
    check_btn = w.Button(description="检查", button_style="primary", icon="check")
    hint_btn = w.Button(description=f"提示 (0/{len(ex.hints)})", icon="lightbulb-o")
    answer_btn = w.Button(description="显示答案", icon="eye")
    shown = {"hints": 0}

    def on_check(_):
        from .checks import run_check
        from .magics import sandbox
        check_btn.disabled = True
        verdict.value = "<i>正在检查…</i>"
        try:
            result = run_check(ex.id, sandbox())
            verdict.value = result._repr_html_()
        except Exception as e:
            error = as_error(e, _learner_or_default())
            if error is None:
                raise
            verdict.value = f"<div style='color:#cf222e'>{_paragraphs(error.render())}</div>"
        finally:
            check_btn.disabled = False
        refresh(ex.lesson_id)

    def on_hint(_):
        if shown["hints"] < len(ex.hints):
            shown["hints"] += 1
        hint_btn.description = f"提示 ({shown['hints']}/{len(ex.hints)})"
        items = "".join(f"<li>{_paragraphs(h)}</li>" for h in ex.hints[:shown["hints"]])
        hint_box.value = f"<ol class='dockerlearn-hints'>{items}</ol>"

    def on_answer(_):
        answer_box.value = ("<div><b>参考答案</b>（任何能达到同样状态的做法都算对）：</div>"
                            f"<pre class='dockerlearn-solution'>{html.escape(ex.solution)}</pre>")

    check_btn.on_click(on_check)
    hint_btn.on_click(on_hint)
    answer_btn.on_click(on_answer)
    head = w.HTML(value=f"<div class='dockerlearn-exercise'><b>练习 {html.escape(ex.id)}</b>：{html.escape(ex.title)}"
                        f"<div>{_paragraphs(ex.prompt)}</div></div>")
    box = CheckPanel([head, w.HBox([check_btn, hint_btn, answer_btn]), verdict, hint_box, answer_box])
    box.add_class("dockerlearn-panel")
    return box


def lesson_progress(lesson_id: str):
    """A progress bar for one lesson's exercises, updated when a check passes."""
    from .checks import exercises
    try:
        ids = [e for e, ex in exercises().items() if ex.lesson_id == lesson_id]
    except Exception as e:
        _report(e)
        return None
    w = _widgets()

    class ProgressBar(w.HBox):
        def __repr__(self):
            return f"本课练习进度（{lesson_id}，共 {len(ids)} 题）"

    bar = w.IntProgress(value=0, min=0, max=max(1, len(ids)), bar_style="success")
    label = w.Label(value="")
    box = ProgressBar([w.Label(value="本课进度"), bar, label])
    _bars.setdefault(lesson_id, []).append((bar, label, ids))
    refresh(lesson_id)
    return box


def refresh(lesson_id: str) -> None:
    from .progress_db import ProgressDB
    for bar, label, ids in _bars.get(lesson_id, []):
        try:
            done = ProgressDB.for_sandbox(_learner()).passed(ids)
        except DockerlearnError:
            done = 0
        bar.value = done
        label.value = f"{done}/{len(ids)} 个练习已完成"
