"""The exercise panel's hints and the readable text a saved notebook keeps (no daemon needed)."""
from __future__ import annotations

import pytest

from dockerlearn.checks import exercises
from dockerlearn.lab import WIDGET_VIEW, strip_notebook, strip_widget_views
from dockerlearn.notebook.widgets import PANEL_FALLBACK, _commands, lesson_progress, panel, teaching_hints

ALL = list(exercises().values())


@pytest.mark.parametrize("ex", ALL, ids=[e.id for e in ALL])
def test_hints_teach_before_the_answer(ex):
    hints = teaching_hints(ex)
    assert hints, "every exercise keeps at least one hint"
    solution = _commands(ex.solution)
    for h in hints:
        assert not all(c in " ".join(h.split()) for c in solution), f"this hint is the answer: {h}"


def test_a_hint_that_is_the_answer_is_left_to_the_answer_button():
    ex = exercises()["tag.add-tag"]
    assert ex.hints[-1].strip() == ex.solution.strip()  # as the lesson is written
    assert teaching_hints(ex) == ex.hints[:-1]


def test_hint_button_ends_with_a_visible_note():
    box = panel("tag.add-tag")
    hint_btn, hint_box = box.children[1].children[1], box.children[3]
    n = len(teaching_hints(exercises()["tag.add-tag"]))
    for i in range(1, n + 1):
        hint_btn.click()
        assert hint_btn.description == f"提示 ({i}/{n})" and "没有更多提示了" not in hint_box.value
    hint_btn.click()
    assert "没有更多提示了" in hint_box.value and hint_box.value.count("<li>") == n
    assert exercises()["tag.add-tag"].solution not in hint_box.value


def test_panel_and_progress_carry_a_readable_fallback():
    data = panel("tag.add-tag")._repr_mimebundle_()
    assert WIDGET_VIEW in data
    assert data["text/plain"] == PANEL_FALLBACK.format(id="tag.add-tag", title=exercises()["tag.add-tag"].title)
    assert "Shift+Enter" in data["text/html"] and "tag.add-tag" in data["text/html"]
    bar = lesson_progress("tag")._repr_mimebundle_()
    assert WIDGET_VIEW in bar and "Shift+Enter" in bar["text/html"] and "dockerlearn progress" in bar["text/plain"]


def test_saving_keeps_the_text_and_drops_the_widget_reference():
    view = {"model_id": "abc", "version_major": 2, "version_minor": 0}
    nb = {"metadata": {"widgets": {"state": {}}}, "cells": [
        {"cell_type": "code", "outputs": [
            {"output_type": "execute_result", "data": {WIDGET_VIEW: view, "text/plain": "面板", "text/html": "<b>面板</b>"}},
            {"output_type": "display_data", "data": {WIDGET_VIEW: view}},  # nothing else to show: kept
            {"output_type": "stream", "name": "stdout", "text": "x"}]},
        {"cell_type": "markdown", "source": "a"}]}
    strip_widget_views(model={"type": "notebook", "content": nb}, path="x.ipynb", contents_manager=None)
    outs = nb["cells"][0]["outputs"]
    assert outs[0]["data"] == {"text/plain": "面板", "text/html": "<b>面板</b>"}
    assert outs[1]["data"] == {WIDGET_VIEW: view} and "widgets" not in nb["metadata"]
    strip_widget_views(model={"type": "file", "content": "x"}, path="x.txt", contents_manager=None)  # ignored
    strip_notebook({"cells": []})


def test_a_fail_after_an_earlier_pass_says_why_the_bar_stays_full(tmp_path, monkeypatch):
    """After a reset, a passed exercise checks ❌ while its lesson's bar stays full: the panel says why."""
    from dockerlearn.notebook import magics
    from dockerlearn.learner_progress import ProgressDB
    from dockerlearn.notebook.widgets import passed_before
    monkeypatch.setenv("DOCKERLEARN_HOME", str(tmp_path))
    monkeypatch.setenv("DOCKERLEARN_NAME", "default")
    monkeypatch.setattr(magics, "_sandbox", None)
    assert not passed_before("tag.add-tag")
    ProgressDB.for_sandbox("default").record("tag.add-tag", True)
    ProgressDB.for_sandbox("default").record("tag.add-tag", False)
    assert passed_before("tag.add-tag") and not passed_before("tag.registry-name")
