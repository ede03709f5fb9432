"""course_progress(): the whole course with the learner's own state, from their progress DB."""
from __future__ import annotations

from dockerlearn.notebook.course_view import course_progress
from dockerlearn.learner_progress import ProgressDB


def test_course_progress_shows_each_lesson_and_exercise(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKERLEARN_HOME", str(tmp_path))
    db = ProgressDB.for_sandbox("me")
    db.record("tag.add-tag", True)
    db.record("pull.pull-tag", False)
    page = course_progress("me")
    states = {ex: s for *_, row in page.rows for ex, s in row}
    assert states["tag.add-tag"] == "pass" and states["pull.pull-tag"] == "fail"
    assert sum(s == "todo" for s in states.values()) == len(states) - 2
    done, total = page.totals
    assert done == 1 and total == len(states)
    html = page._repr_html_()
    assert 'href="02-tag.ipynb"' in html and "✅" in html and "❌" in html
    assert f"{done}/{total}" in repr(page) and "02-tag" in repr(page)
    empty = course_progress("nobody")
    assert empty.totals == (0, total)
