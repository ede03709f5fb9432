"""Parse a lesson source (lessons/NN-slug.md) into parts: prose, runnable cells, exercises.

The format is described in lessons/FORMAT.md. Parsing is pure: no daemon, no notebook.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import yaml

from ..errors import LessonFormatError  # noqa: F401  (raised here; importers find it here too)
from ..paths import course_dir

# The course's root (a checkout, or the copy installed with the package): see paths.course_dir.
REPO_ROOT = course_dir(required=False)
LESSONS_DIR = REPO_ROOT / "lessons"
RUNNABLE = {"docker", "bash", "file", "python"}
ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*\.[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass
class WrongAnswer:
    """A typical wrong answer: its bash script and, optionally, text the check's message must contain."""
    script: str
    says: str = ""


@dataclass
class Exercise:
    id: str
    title: str
    prompt: str
    hints: list[str]
    solution: str
    setup: str = ""
    setup_cell: bool = False  # the setup is a visible cell of the lesson (flagged prepares=ID)
    wrong: str = ""           # the first typical wrong answer's script
    wrongs: list["WrongAnswer"] = field(default_factory=list)   # every wrong answer, in order
    also: list[str] = field(default_factory=list)              # other correct answers: must pass too

    @property
    def lesson_id(self) -> str:
        return self.id.split(".", 1)[0]


@dataclass
class Part:
    """One piece of a lesson, in order: markdown, a runnable cell, or an exercise."""
    kind: str                 # "markdown" | "docker" | "bash" | "file" | "python" | "exercise"
    text: str = ""
    arg: str = ""             # the path of a ```file block
    flags: set[str] = field(default_factory=set)
    exercise: Optional[Exercise] = None


@dataclass
class Lesson:
    id: str
    title: str
    path: Path
    parts: list[Part]
    meta: dict

    @property
    def slug(self) -> str:
        return self.path.stem

    @property
    def exercises(self) -> list[Exercise]:
        return [p.exercise for p in self.parts if p.exercise]

    @property
    def checks_path(self) -> Path:
        return self.path.with_suffix(".py")


FENCE_RE = re.compile(r"^(`{3,})(.*)$")


def parse(path: Path) -> Lesson:
    text = path.read_text(encoding="utf-8")
    meta, body = _front_matter(text, path)
    lesson_id = meta.get("id") or path.stem.split("-", 1)[-1]
    parts: list[Part] = []
    prose: list[str] = []

    def flush():
        chunk = "\n".join(prose).strip("\n")
        if chunk.strip():
            parts.append(Part("markdown", chunk))
        prose.clear()

    lines = body.split("\n")
    i = 0
    while i < len(lines):
        m = FENCE_RE.match(lines[i])
        if not m:
            prose.append(lines[i])
            i += 1
            continue
        fence, info = m.group(1), m.group(2).strip()
        j = i + 1
        while j < len(lines) and not lines[j].startswith(fence):
            j += 1
        if j >= len(lines):
            raise LessonFormatError(f"{path.name}:{i + 1}: code block is never closed")
        content = "\n".join(lines[i + 1:j])
        words = info.split()
        lang = words[0] if words else ""
        if lang == "exercise":
            flush()
            ex = _exercise(content, path, i + 1, lesson_id)
            parts.append(Part("exercise", exercise=ex))
        elif lang in RUNNABLE and "no-run" not in words[1:]:
            flush()
            arg = ""
            rest = words[1:]
            if lang == "file":
                if not rest:
                    raise LessonFormatError(f"{path.name}:{i + 1}: ```file needs a path")
                arg, rest = rest[0], rest[1:]
            parts.append(Part(lang, content, arg=arg, flags=set(rest)))
        else:
            # Shown, not run: keep it in the prose, minus our own flags.
            shown = " ".join(w for w in words if w != "no-run")
            if lang == "docker":
                shown = "bash" + shown[len("docker"):]
            prose.extend([fence + shown, *lines[i + 1:j], fence])
        i = j + 1
    flush()
    _link_preparations(parts, path)
    title = meta.get("title") or lesson_id
    if meta.get("state", "fresh") not in ("fresh", "keep"):
        raise LessonFormatError(f"{path.name}: state must be fresh or keep, not {meta.get('state')!r}")
    return Lesson(lesson_id, title, path, parts, meta)


def _link_preparations(parts: list[Part], path: Path) -> None:
    """A code block flagged `prepares=EXERCISE_ID` is that exercise's setup: the 准备 button and
    the tests run the very text the learner sees in that cell, never a copy that can drift."""
    exercises = {p.exercise.id: p.exercise for p in parts if p.exercise}
    for part in parts:
        for flag in [f for f in part.flags if f.startswith("prepares=")]:
            ex_id = flag.split("=", 1)[1]
            ex = exercises.get(ex_id)
            if ex is None:
                raise LessonFormatError(f"{path.name}: a cell prepares {ex_id!r}, which is no exercise of this lesson")
            if ex.setup:
                raise LessonFormatError(f"{path.name}: {ex_id} has a setup: and a cell that prepares it; keep one")
            if part.kind not in ("bash", "docker"):
                raise LessonFormatError(f"{path.name}: only a ```bash or ```docker cell can prepare an exercise")
            lines = part.text.strip().splitlines()
            if part.kind == "docker":  # a %docker cell's lines, as the bash script they stand for
                lines = [l if l.startswith("docker ") or not l.strip() else "docker " + l for l in lines]
            ex.setup = "\n".join(lines)
            ex.setup_cell = True


def _front_matter(text: str, path: Path) -> tuple[dict, str]:
    if not text.startswith("---\n"):
        raise LessonFormatError(f"{path.name}: a lesson starts with front matter (---, id, title, ---)")
    end = text.find("\n---\n", 4)
    if end < 0:
        raise LessonFormatError(f"{path.name}: front matter is never closed")
    return yaml.safe_load(text[4:end]) or {}, text[end + 5:]


def _exercise(content: str, path: Path, line: int, lesson_id: str) -> Exercise:
    try:
        data = yaml.safe_load(content) or {}
    except yaml.YAMLError as e:
        raise LessonFormatError(f"{path.name}:{line}: exercise is not valid YAML: {e}") from None
    where = f"{path.name}:{line}"
    for key in ("id", "prompt", "hints", "solution"):
        if not data.get(key):
            raise LessonFormatError(f"{where}: exercise needs '{key}'")
    ex_id = str(data["id"])
    if not ID_RE.match(ex_id) or not ex_id.startswith(lesson_id + "."):
        raise LessonFormatError(f"{where}: exercise id {ex_id!r} must look like {lesson_id}.verb-noun")
    hints = data["hints"] if isinstance(data["hints"], list) else [data["hints"]]
    wrongs = _wrong_answers(data.get("wrong"), where)
    also = data.get("also") or []
    if not isinstance(also, list) or not all(isinstance(a, str) and a.strip() for a in also):
        raise LessonFormatError(f"{where}: 'also' is a list of bash scripts (other correct answers)")
    return Exercise(
        id=ex_id, title=str(data.get("title") or ex_id), prompt=str(data["prompt"]).strip(),
        hints=[str(h).strip() for h in hints], solution=str(data["solution"]).strip(),
        setup=str(data.get("setup") or "").strip(), wrong=wrongs[0].script if wrongs else "",
        wrongs=wrongs, also=[a.strip() for a in also],
    )


def _wrong_answers(raw, where: str) -> list[WrongAnswer]:
    """`wrong:` is one script, or a list of scripts and {run: SCRIPT, says: TEXT} entries."""
    if raw is None or raw == "":
        return []
    items = raw if isinstance(raw, list) else [raw]
    out = []
    for item in items:
        if isinstance(item, str) and item.strip():
            out.append(WrongAnswer(item.strip()))
        elif isinstance(item, dict) and isinstance(item.get("run"), str) and item["run"].strip():
            out.append(WrongAnswer(item["run"].strip(), str(item.get("says") or "").strip()))
        else:
            raise LessonFormatError(f"{where}: each 'wrong' answer is a bash script or {{run: SCRIPT, says: TEXT}}")
    return out


def lesson_paths(folder: Optional[Path] = None) -> list[Path]:
    folder = folder or course_dir() / "lessons"
    return sorted(p for p in folder.glob("[0-9][0-9]-*.md"))


def load_all(folder: Optional[Path] = None) -> list[Lesson]:
    return [parse(p) for p in lesson_paths(folder)]
