"""Answers a learner gives back: for exercises whose result is a value the learner reads off a
command's output (a digest, a count, an architecture), not a change to the daemon.

`answer("inspect.arch", "amd64")` in a notebook, or `dockerlearn answer inspect.arch amd64` in a
terminal, keeps the value in the sandbox (answers.json), and the exercise's check compares it with
what the daemon really says. A reset forgets every answer, as it forgets images and containers.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

from .errors import DockerlearnError

MAX_LENGTH = 500  # an answer is a value from one command's output, not a file


def _read(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # none yet, or damaged: no answer worth keeping, the learner gives it again
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)} if isinstance(data, dict) else {}


def given(sandbox, exercise_id: str) -> Optional[str]:
    """The answer last given for exercise_id, or None."""
    return _read(sandbox.paths.answers_file).get(exercise_id)


def give(sandbox, exercise_id: str, value) -> str:
    """Keep value (as text, surrounding blanks and quotes removed) as the answer to exercise_id."""
    text = str(value).strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1].strip()
    if not text:
        raise DockerlearnError("答案是空的", term="empty answer",
                               hint=f'把命令输出里找到的值写在引号里，例如 answer("{exercise_id}", "…")。')
    if len(text) > MAX_LENGTH:
        raise DockerlearnError(f"答案太长了（{len(text)} 个字符）", term="answer too long",
                               hint="只交回要找的那个值，不要交整段输出。")
    path = sandbox.paths.answers_file
    answers = _read(path)
    answers[exercise_id] = text
    part = path.with_name(path.name + ".part")
    try:
        part.write_text(json.dumps(answers, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        os.replace(part, path)
    except OSError as e:
        raise DockerlearnError(f"无法保存答案：{e.strerror or e}", term="cannot save answer",
                               hint="检查沙箱目录所在的磁盘是否已满、是否可写。") from None
    return text

