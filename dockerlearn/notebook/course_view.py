"""`course_progress()`: the whole course on one page, for a learner who wonders where they are.

One row per lesson: a link to its notebook, how many of its exercises passed, and each exercise
as ✅ (passed), ❌ (tried, not yet) or · (not tried). Plain HTML with a text fallback, so it
needs no widget and survives a saved notebook.
"""
from __future__ import annotations

import html
import os

from ..learner_progress import ProgressDB, ProgressUnavailable


def rows_by_lesson(sandbox_name: str) -> list[tuple]:
    """[(lesson id, slug, title, [(exercise id, state)])], state one of "pass", "fail", "todo"."""
    from ..course.lessonfile import load_all
    lessons = [l for l in load_all() if l.exercises]
    ids = [ex.id for l in lessons for ex in l.exercises]
    try:
        found = {r.exercise_id: r for r in ProgressDB.for_sandbox(sandbox_name).rows(ids)}
    except ProgressUnavailable:
        found = {}
    out = []
    for lesson in lessons:
        states = []
        for ex in lesson.exercises:
            r = found.get(ex.id)
            states.append((ex.id, "pass" if r and r.passed else ("fail" if r and r.tries else "todo")))
        out.append((lesson.id, lesson.slug, lesson.title, states))
    return out


class CourseProgress:
    MARK = {"pass": "✅", "fail": "❌", "todo": "·"}

    def __init__(self, sandbox_name: str):
        self.name = sandbox_name
        self.rows = rows_by_lesson(sandbox_name)

    @property
    def totals(self) -> tuple[int, int]:
        states = [s for *_, ex in self.rows for _, s in ex]
        return sum(s == "pass" for s in states), len(states)

    def _repr_html_(self) -> str:
        esc = html.escape
        done, total = self.totals
        rows = []
        for _, slug, title, states in self.rows:
            passed = sum(s == "pass" for _, s in states)
            chips = " ".join(f'<span title="{esc(ex)}">{self.MARK[s]}</span>' for ex, s in states)
            rows.append(f'<tr><td style="text-align:left"><a href="{esc(slug)}.ipynb">{esc(title)}</a></td>'
                        f"<td>{passed}/{len(states)}</td><td style=\"text-align:left\">{chips}</td></tr>")
        return (f'<div class="dockerlearn-course"><b>课程进度 (course progress)：{done}/{total} 个练习已通过</b>'
                "<table><tr><th>课</th><th>通过</th><th>练习（✅ 通过 ❌ 尝试过 · 还没做）</th></tr>"
                + "".join(rows) + "</table></div>")

    def __repr__(self) -> str:
        done, total = self.totals
        lines = [f"课程进度 (course progress)：{done}/{total} 个练习已通过"]
        for _, slug, title, states in self.rows:
            passed = sum(s == "pass" for _, s in states)
            lines.append(f"  {slug:22s} {passed}/{len(states)}  " + " ".join(self.MARK[s] for _, s in states))
        return "\n".join(lines)


def course_progress(sandbox_name: str | None = None) -> CourseProgress:
    return CourseProgress(sandbox_name or os.environ.get("DOCKERLEARN_NAME") or "default")
