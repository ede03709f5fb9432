"""An exercise's preparation belongs to that exercise: its `setup` (the panel's 准备 button, and
the visible cell the lesson runs before it) must never satisfy another exercise's check.
Issue 10: the setup of push.all-tags logged in, so push.login passed before the learner did anything."""
from __future__ import annotations

import pytest

from dockerlearn.checks import exercises, run_check
from tests.exercise_scripts import run_script

ALL = list(exercises().values())
WITH_SETUP = [ex for ex in ALL if ex.setup]
# The capstone's steps build on each other: the preparation of step N is steps 1..N-1 done, so it
# may satisfy those earlier steps (and only those).
CHAINED = {"capstone"}


def _may_satisfy(ex, other) -> bool:
    return ex.lesson_id in CHAINED and other.lesson_id == ex.lesson_id and ALL.index(other) < ALL.index(ex)


@pytest.mark.daemon
@pytest.mark.parametrize("ex", WITH_SETUP, ids=[ex.id for ex in WITH_SETUP])
def test_setup_satisfies_no_other_exercise(ex, sandbox):
    sandbox.reset(clear_work=True)
    run_script(sandbox, ex.setup)
    solved = []
    for other in ALL:
        if other.id == ex.id or _may_satisfy(ex, other):
            continue
        verdict = run_check(other.id, sandbox, record=False)
        if verdict.ok:
            solved.append(f"{other.id}: {verdict.message}")
    assert not solved, f"the setup of {ex.id} already solves:\n" + "\n".join(solved)
    own = run_check(ex.id, sandbox, record=False)
    assert not own.ok, f"the setup of {ex.id} solves the exercise itself: {own}"
