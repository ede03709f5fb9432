"""Answers a learner gives back (dockerlearn/answers.py): kept per sandbox, cleaned of the quotes and
blanks a learner types, refused in Chinese when empty or too long, and forgotten by a reset."""
from __future__ import annotations

import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

from dockerlearn import answers
from dockerlearn.errors import DockerlearnError


def fake_sandbox(tmp_path):
    """Only the answers file's place: give() and given() touch nothing else of a sandbox."""
    return SimpleNamespace(paths=SimpleNamespace(answers_file=tmp_path / "answers.json"))


def test_an_answer_is_kept_cleaned_and_replaced(tmp_path):
    sb = fake_sandbox(tmp_path)
    assert answers.given(sb, "inspect.arch") is None
    assert answers.give(sb, "inspect.arch", '  "amd64"\n') == "amd64"
    answers.give(sb, "images.count-ids", 3)
    assert answers.given(sb, "inspect.arch") == "amd64" and answers.given(sb, "images.count-ids") == "3"
    answers.give(sb, "inspect.arch", "arm64")
    assert answers.given(sb, "inspect.arch") == "arm64"


@pytest.mark.parametrize("value, term", [("", "empty answer"), ("  ''  ", "empty answer"), ("x" * 501, "answer too long")])
def test_a_bad_answer_is_refused_in_chinese(tmp_path, value, term):
    sb = fake_sandbox(tmp_path)
    with pytest.raises(DockerlearnError) as e:
        answers.give(sb, "inspect.arch", value)
    assert e.value.term == term and "答案" in e.value.message
    assert answers.given(sb, "inspect.arch") is None


def test_a_damaged_answers_file_holds_no_answer(tmp_path):
    sb = fake_sandbox(tmp_path)
    sb.paths.answers_file.write_text("{not json")
    assert answers.given(sb, "inspect.arch") is None
    answers.give(sb, "inspect.arch", "amd64")  # and giving again repairs it
    assert answers.given(sb, "inspect.arch") == "amd64"


def test_answer_for_an_unknown_exercise_is_a_chinese_message(tmp_path):
    env = {**os.environ, "DOCKERLEARN_HOME": str(tmp_path)}
    r = subprocess.run([sys.executable, "-m", "dockerlearn", "answer", "inspect.archh", "amd64"],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 2 and "没有编号为" in r.stderr and "inspect.arch" in r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    from dockerlearn import answer
    verdict = answer("inspect.archh", "amd64")
    assert not verdict.ok and "没有编号为" in verdict.message


@pytest.mark.daemon
def test_a_reset_forgets_the_answers(sandbox):
    from dockerlearn.checks import run_check
    sandbox.reset(clear_work=True)
    answers.give(sandbox, "inspect.arch", "amd64")
    assert answers.given(sandbox, "inspect.arch") == "amd64"
    sandbox.reset()
    assert answers.given(sandbox, "inspect.arch") is None
    v = run_check("inspect.arch", sandbox, record=False)
    assert not v.ok and 'answer("inspect.arch"' in v.message
