"""The dashboard's data and page, without a hub: progress read from a private copy (nothing is
left beside the student's database), grades.csv, and escaping of what students typed."""
from __future__ import annotations

import csv
import io

from dockerlearn.classroom.dashboard import render
from dockerlearn.classroom.grades import ClassTable, course_lessons, read_student
from dockerlearn.learner_progress import ProgressDB
from dockerlearn.classroom.roster import Student


def test_progress_is_read_from_a_copy_and_graded(tmp_path):
    db_dir = tmp_path / "progress"
    db = ProgressDB(db_dir / "default.sqlite", "s1")
    db.record("tag.add-tag", False, "no")
    db.record("tag.add-tag", True, "yes")
    db.record("pull.pull-tag", False, "no")
    before = sorted(p.name for p in db_dir.iterdir())
    table = ClassTable(course_lessons())
    ids = table.exercise_ids
    s1 = read_student(Student("s1", "王", "<script>"), ids, db_dir / "default.sqlite")
    s2 = read_student(Student("s2"), ids, db_dir / "missing.sqlite")
    assert sorted(p.name for p in db_dir.iterdir()) == before, "the reader left files beside the student's DB"
    table.students = [s1, s2]
    rows = {r.exercise_id: r for r in s1.rows}
    assert rows["tag.add-tag"].passed and rows["tag.add-tag"].tries == 2
    assert not rows["pull.pull-tag"].passed and rows["pull.pull-tag"].tries == 1
    assert s1.passed == 1 and s2.passed == 0 and s1.last_activity and s2.last_activity is None
    grades = list(csv.DictReader(io.StringIO(table.grades_csv())))
    assert [g["id"] for g in grades] == ["s1", "s2"]
    assert grades[0]["tag.add-tag"] == "1" and grades[0]["pull.pull-tag"] == "0" and grades[0]["passed"] == "1"
    assert grades[0]["total"] == str(len(ids))
    tag_lesson = next(lesson for lesson, _, lesson_ids in table.lessons if "tag.add-tag" in lesson_ids)
    assert table.lesson_completion(s1)[tag_lesson][0] == 1
    page = render(table, {}, "/services/dashboard/")
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "✅ 2" in page and "❌ 1" in page and 'id="summary"' in page and "grades.csv" in page


def test_an_unreadable_database_is_shown_not_raised(tmp_path):
    bad = tmp_path / "default.sqlite"
    bad.write_bytes(b"this is not sqlite" * 100)
    table = ClassTable(course_lessons())
    p = read_student(Student("s3"), table.exercise_ids, bad)
    table.students = [p]
    assert p.error and "unreadable progress" in p.error
    assert bad.read_bytes() == b"this is not sqlite" * 100, "the student's file is never touched"
    assert "unreadable progress" in render(table, {}, "/")
