"""Every exercise's check must be able to fail: on a fresh sandbox and after a typical wrong
answer. And it must pass after the reference solution. New lessons are covered automatically."""
from __future__ import annotations

import pytest

from dockerlearn.checks import exercises, load_checks, run_check
from tests.exercise_scripts import run_script

ALL = list(exercises().values())


def test_every_exercise_has_a_check_and_a_wrong_answer():
    checks = load_checks()
    missing = [ex.id for ex in ALL if ex.id not in checks]
    assert not missing, f"exercises without a check function: {missing}"
    no_wrong = [ex.id for ex in ALL if not ex.wrong.strip()]
    assert not no_wrong, f"exercises without a typical wrong answer: {no_wrong}"
    assert len({ex.id for ex in ALL}) == len(ALL)


@pytest.mark.daemon
def test_every_check_fails_on_a_fresh_sandbox(sandbox):
    """One reset for all: a check only reads the daemon, so every check sees the same fresh sandbox."""
    sandbox.reset(clear_work=True)
    passing = {}
    for ex in ALL:
        fresh = run_check(ex.id, sandbox, record=False)
        if fresh.ok or not fresh.message:
            passing[ex.id] = fresh.message
    assert not passing, f"checks that pass (or say nothing) on a fresh sandbox: {passing}"


@pytest.mark.daemon
@pytest.mark.parametrize("ex", ALL, ids=[ex.id for ex in ALL])
def test_fails_wrong_passes_solution(ex, sandbox):
    sandbox.reset(clear_work=True)
    if ex.setup:
        run_script(sandbox, ex.setup)
    run_script(sandbox, ex.wrong, must_succeed=False)
    wrong = run_check(ex.id, sandbox, record=False)
    assert not wrong.ok, f"check passes on the typical wrong answer:\n{ex.wrong}\n{wrong}"
    assert ex.wrongs[0].says in wrong.message, f"the message does not describe what was found:\n{ex.wrong}\n{wrong}"

    sandbox.reset(clear_work=True)
    if ex.setup:
        run_script(sandbox, ex.setup)
    run_script(sandbox, ex.solution)
    right = run_check(ex.id, sandbox, record=False)
    assert right.ok, f"check fails on the reference solution:\n{ex.solution}\n{right}"


# Every further wrong answer must fail (with the message it names); every `also:` answer must pass.
MORE = [(ex, "wrong", i) for ex in ALL for i in range(1, len(ex.wrongs))] + \
       [(ex, "also", i) for ex in ALL for i in range(len(ex.also))]


@pytest.mark.daemon
@pytest.mark.parametrize("ex,kind,i", MORE, ids=[f"{ex.id}-{kind}{i}" for ex, kind, i in MORE])
def test_more_answers(ex, kind, i, sandbox):
    sandbox.reset(clear_work=True)
    if ex.setup:
        run_script(sandbox, ex.setup)
    if kind == "wrong":
        answer = ex.wrongs[i]
        run_script(sandbox, answer.script, must_succeed=False)
        verdict = run_check(ex.id, sandbox, record=False)
        assert not verdict.ok, f"check passes on a wrong answer:\n{answer.script}\n{verdict}"
        assert answer.says in verdict.message, f"the message does not describe what was found:\n{answer.script}\n{verdict}"
    else:
        run_script(sandbox, ex.also[i])
        verdict = run_check(ex.id, sandbox, record=False)
        assert verdict.ok, f"check fails on a correct answer:\n{ex.also[i]}\n{verdict}"
