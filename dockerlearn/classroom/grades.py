"""Every student's progress in one table: what the dashboard shows and grades.csv holds.

A student's progress database is theirs (mode 0600 in their home). The dashboard runs as root
and must never leave a root-owned file beside it (SQLite's -wal/-shm files would lock the
student out of their own progress), so it reads a private copy, taken with the journal.
"""
from __future__ import annotations

import csv
import io
import json
import pwd
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ..errors import DockerlearnError
from ..learner_progress import ProgressDB, Row, export_rows
from .roster import Student

SANDBOX = "default"  # the name every student's single-user server uses


@dataclass
class StudentProgress:
    student: Student
    rows: list[Row]
    last_activity: Optional[float]  # the last check, seconds since the epoch
    error: str = ""  # why the progress could not be read (shown, never raised)

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.rows)


@dataclass
class ClassTable:
    lessons: list[tuple[str, str, list[str]]]  # (lesson id, title, exercise ids)
    students: list[StudentProgress] = field(default_factory=list)

    @property
    def exercise_ids(self) -> list[str]:
        return [ex for _, _, ids in self.lessons for ex in ids]

    def lesson_completion(self, progress: StudentProgress) -> dict[str, tuple[int, int]]:
        passed = {r.exercise_id for r in progress.rows if r.passed}
        return {lesson: (len(passed & set(ids)), len(ids)) for lesson, _, ids in self.lessons}

    def grades_csv(self) -> str:
        """One row per student: identity, exercises passed, and each exercise as 1/0."""
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["id", "last_name", "first_name", "email", "passed", "total", *self.exercise_ids])
        for p in self.students:
            done = {r.exercise_id for r in p.rows if r.passed}
            w.writerow([p.student.id, p.student.last_name, p.student.first_name, p.student.email,
                        p.passed, len(self.exercise_ids), *(int(ex in done) for ex in self.exercise_ids)])
        return buf.getvalue()

    def student(self, student_id: str) -> Optional[StudentProgress]:
        return next((p for p in self.students if p.student.id == student_id), None)


def course_lessons() -> list[tuple[str, str, list[str]]]:
    from ..course.lessonfile import load_all
    return [(lesson.id, lesson.title, [ex.id for ex in lesson.exercises]) for lesson in load_all()
            if lesson.exercises]


def progress_path(student_id: str) -> Optional[Path]:
    """Where the student's progress lives: the default dockerlearn home in their own home."""
    try:
        home = Path(pwd.getpwnam(student_id).pw_dir)
    except KeyError:
        return None
    return home / ".local" / "state" / "dockerlearn" / "progress" / f"{SANDBOX}.sqlite"


def read_student(student: Student, exercise_ids: list[str], source: Optional[Path] = None) -> StudentProgress:
    source = source or progress_path(student.id)
    if source is None:
        return StudentProgress(student, [], None, error="没有这个 Unix 用户 (no such user)")
    if not source.exists():
        return StudentProgress(student, [Row(ex, 0, False, None, None) for ex in exercise_ids], None)
    with tempfile.TemporaryDirectory(prefix="dl-grades-") as tmp:
        copy = Path(tmp) / "progress.sqlite"
        try:
            for suffix in ("", "-wal"):  # the journal holds the latest checks until a checkpoint
                src = Path(str(source) + suffix)
                if src.exists():
                    shutil.copyfile(src, Path(str(copy) + suffix))
            db = ProgressDB(copy, student.id)
            rows, last = db.rows(exercise_ids), db.last_activity()
        except (OSError, DockerlearnError) as e:  # one unreadable student must not hide the class
            return StudentProgress(student, [], None, error=f"进度无法读取 (unreadable progress)：{e}")
        if any(Path(tmp).glob("*.bak")):  # ProgressDB set a damaged copy aside: say so, show no zeros
            return StudentProgress(student, [], None,
                                   error="进度数据库已损坏，进度无法读取 (unreadable progress: corrupt database)")
    return StudentProgress(student, rows, last)


def class_table(students: list[Student]) -> ClassTable:
    table = ClassTable(course_lessons())
    ids = table.exercise_ids
    table.students = [read_student(s, ids) for s in students]
    return table


def load_class(path: Path) -> tuple[list[Student], list[str]]:
    """The class file `dockerlearn classroom` writes: students and teachers."""
    data = json.loads(Path(path).read_text())
    return [Student(**s) for s in data["students"]], list(data.get("teachers", []))


def student_export(progress: StudentProgress, fmt: str) -> str:
    """The same CSV/JSON as `dockerlearn progress --format`."""
    return export_rows(progress.student.id, progress.rows, fmt)


def idle_minutes(progress: StudentProgress, now: Optional[float] = None) -> Optional[int]:
    if progress.last_activity is None:
        return None
    return int(((now or time.time()) - progress.last_activity) // 60)
